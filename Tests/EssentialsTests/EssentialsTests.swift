import Testing

@testable import DTPEssentials

@Suite("What FoundationEssentials lacks, done without Foundation")
struct EssentialsTests {
    @Test func httpDatesInAllThreeFormsReadTheSame() {
        // RFC 9110 §5.6.7's own example: 784111777 seconds after the epoch.
        #expect(HTTPDate.secondsSince1970("Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777)
        #expect(HTTPDate.secondsSince1970("Sunday, 06-Nov-94 08:49:37 GMT") == 784_111_777)
        #expect(HTTPDate.secondsSince1970("Sun Nov  6 08:49:37 1994") == 784_111_777)
        #expect(HTTPDate.secondsSince1970("Thu, 01 Jan 1970 00:00:00 GMT") == 0)
        #expect(HTTPDate.secondsSince1970("Tue, 29 Feb 2028 12:00:00 GMT") == 1_835_438_400)
    }

    @Test(arguments: ["", "soon", "Sun, 06 Nov 1994 08:49:37 CET", "Sun, 32 Nov 1994 08:49:37 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT", "Sun Nov 6 08:49 1994"])
    func malformedHTTPDatesAreRefused(text: String) {
        #expect(HTTPDate.secondsSince1970(text) == nil)
    }

    @Test func civilDatesCountDaysAcrossLeapYearsAndBeforeTheEpoch() {
        #expect(CivilDate.days(year: 1970, month: 1, day: 1) == 0)
        #expect(CivilDate.days(year: 2000, month: 3, day: 1) == 11_017)
        #expect(CivilDate.days(year: 1969, month: 12, day: 31) == -1)
        #expect(CivilDate.days(year: 2026, month: 11, day: 29) == 20_786)
        #expect(CivilDate.date(days: 20_786) == (2026, 11, 29))
        #expect(CivilDate.date(days: -1) == (1969, 12, 31))
        #expect(CivilDate.date(days: 11_016) == (2000, 2, 29))
        // Every day of four centuries, either side of the epoch, round-trips.
        for days in Int64(-73_000)...73_000 {
            let (year, month, day) = CivilDate.date(days: days)
            #expect(CivilDate.days(year: year, month: month, day: day) == days)
        }
    }

    @Test func percentEncodingKeepsOnlyUnreservedBytes() {
        #expect("a-b_c.d~e".percentEncoded() == "a-b_c.d~e")
        #expect("SELECT * FROM \"m\" WHERE a='b'".percentEncoded()
            == "SELECT%20%2A%20FROM%20%22m%22%20WHERE%20a%3D%27b%27")
        #expect("é/x".percentEncoded() == "%C3%A9%2Fx")
        #expect("a:b@c/d".percentEncoded(alsoAllowed: [UInt8(ascii: ":"), UInt8(ascii: "@")]) == "a:b@c%2Fd")
    }

    @Test func trimmingAndPadding() {
        #expect("  \t 42 \t".trimmingWhitespace() == "42")
        #expect(" \n a b \r\n".trimmingWhitespaceAndNewlines() == "a b")
        #expect(" \n x \n".trimmingWhitespace() == "\n x \n")
        #expect("   ".trimmingWhitespace() == "")
        #expect(7.zeroPadded(to: 4) == "0007")
        #expect(12345.zeroPadded(to: 4) == "12345")
        #expect((-5).zeroPadded(to: 3) == "-005")
    }

    @Test func aDetachedThreadRunsItsWork() async {
        let value = await withCheckedContinuation { continuation in
            DetachedThread.start { continuation.resume(returning: 42) }
        }
        #expect(value == 42)
    }
}
