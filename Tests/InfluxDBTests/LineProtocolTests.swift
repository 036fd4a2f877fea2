import DTPTestSupport
import DTPInfluxDB
import Testing

@Suite("Line protocol encoding")
struct LineProtocolTests {
    @Test func everyFieldTypeIsWrittenWithItsSuffix() throws {
        let point = InfluxPoint(
            measurement: "m",
            fields: [
                ("i", .int(-42)), ("u", .uint(UInt64.max)), ("f", .float(0.1)), ("g", .float(1e21)),
                ("t", .bool(true)), ("b", .bool(false)), ("s", .string("text")),
            ],
            timestamp: 1_700_000_000_123_456_789)
        #expect(
            try LineProtocol.encode(point)
                == #"m i=-42i,u=18446744073709551615u,f=0.1,g=1e+21,t=true,b=false,s="text" 1700000000123456789"#)
    }

    @Test func measurementEscapesCommasAndSpacesOnly() throws {
        let point = InfluxPoint(measurement: "my, m=x", fields: [("v", .int(1))])
        #expect(try LineProtocol.encode(point) == #"my\,\ m=x v=1i"#)
    }

    @Test func tagsAndFieldKeysEscapeCommasEqualsAndSpaces() throws {
        let point = InfluxPoint(
            measurement: "m", tags: ["k ey,=": "v al,=ue"], fields: [("f ie,=ld", .float(1.5))])
        #expect(try LineProtocol.encode(point) == #"m,k\ ey\,\==v\ al\,\=ue f\ ie\,\=ld=1.5"#)
    }

    @Test func stringFieldsEscapeQuotesAndBackslashesAndKeepLineBreaks() throws {
        let point = InfluxPoint(measurement: "m", fields: [("s", .string(#"say "hi" \ C:\path"# + "\nnext"))])
        #expect(try LineProtocol.encode(point) == #"m s="say \"hi\" \\ C:\\path"# + "\nnext\"")
    }

    @Test func tagsAreSortedByKeyBytesAndEmptyValuesDropped() throws {
        let point = InfluxPoint(
            measurement: "m", tags: ["b": "2", "a": "1", "B": "0", "empty": "", "ä": "u"], fields: [("v", .int(1))])
        #expect(try LineProtocol.encode(point) == "m,B=0,a=1,b=2,ä=u v=1i")
    }

    @Test(arguments: [
        (InfluxPrecision.nanoseconds, "1700000000123456789"), (.microseconds, "1700000000123456"),
        (.milliseconds, "1700000000123"), (.seconds, "1700000000"),
    ])
    func timestampsAreDividedToThePrecision(precision: InfluxPrecision, expected: String) throws {
        let point = InfluxPoint(measurement: "m", fields: [("v", .int(1))], timestamp: 1_700_000_000_123_456_789)
        #expect(try LineProtocol.encode(point, precision: precision) == "m v=1i \(expected)")
    }

    @Test func timesBefore1970RoundDown() throws {
        let point = InfluxPoint(measurement: "m", fields: [("v", .int(1))], timestamp: -1_500_000_000)
        #expect(try LineProtocol.encode(point, precision: .seconds) == "m v=1i -2")
    }

    @Test func batchesAreNewlineTerminated() throws {
        let points = (0..<3).map { InfluxPoint(measurement: "m", fields: [("v", .int(Int64($0)))], timestamp: 5) }
        #expect(try LineProtocol.encode(points) == "m v=0i 5\nm v=1i 5\nm v=2i 5\n")
    }

    @Test func unwritablePointsAreRefused() {
        let cases: [InfluxPoint] = [
            InfluxPoint(measurement: "", fields: [("v", .int(1))]),
            InfluxPoint(measurement: "m", fields: []),
            InfluxPoint(measurement: "m", fields: [("v", .float(.nan))]),
            InfluxPoint(measurement: "m", fields: [("v", .float(.infinity))]),
            InfluxPoint(measurement: "m", tags: ["t": "a\nb"], fields: [("v", .int(1))]),
            InfluxPoint(measurement: "m\n", fields: [("v", .int(1))]),
            InfluxPoint(measurement: "m", fields: [("", .int(1))]),
        ]
        for point in cases {
            #expect(throws: InfluxDBError.invalidPoint) { try LineProtocol.encode(point) }
        }
    }
}
