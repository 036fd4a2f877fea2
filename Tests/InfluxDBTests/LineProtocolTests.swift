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

    @Test("every kind of line break is refused where line protocol cannot carry it", arguments: [
        "\n", "\r", "\r\n", "\u{0B}", "\u{0C}", "\u{85}", "\u{2028}", "\u{2029}",
    ])
    func lineBreaksAreRefused(_ lineBreak: String) throws {
        let cases: [InfluxPoint] = [
            InfluxPoint(measurement: "m\(lineBreak)x", fields: [("v", .int(1))]),
            InfluxPoint(measurement: "m", tags: ["t\(lineBreak)": "a"], fields: [("v", .int(1))]),
            InfluxPoint(measurement: "m", tags: ["t": "a\(lineBreak)b"], fields: [("v", .int(1))]),
            InfluxPoint(measurement: "m", fields: [("v\(lineBreak)", .int(1))]),
        ]
        for point in cases {
            #expect(throws: InfluxDBError.invalidPoint) { try LineProtocol.encode(point) }
        }
        // A string field value may hold it.
        let text = InfluxPoint(measurement: "m", fields: [("s", .string("a\(lineBreak)b"))])
        #expect(try LineProtocol.encode(text) == "m s=\"a\(lineBreak)b\"")
    }

    @Test func multibyteTextNextToLineBreakBytesIsKept() throws {
        // U+2027 and U+20AC share lead bytes with U+2028/U+2029 and must pass; so must integers at the edges.
        let point = InfluxPoint(
            measurement: "m\u{2027}€", tags: ["ä": "\u{C285}x"],
            fields: [("a", .int(.min)), ("b", .int(.max)), ("c", .uint(.max)), ("d", .int(0))], timestamp: -1)
        #expect(
            try LineProtocol.encode(point)
                == "m\u{2027}€,ä=\u{C285}x a=-9223372036854775808i,b=9223372036854775807i,c=18446744073709551615u,d=0i -1")
    }
}
