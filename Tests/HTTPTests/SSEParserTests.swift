import DTPTestSupport
import DTPHTTP
import Testing

@Suite("SSEParser")
struct SSEParserTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var input: String
        var events: [SSEEvent]
        var retry: Duration? = nil
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "single data line", input: "data: hello\n\n", events: [SSEEvent(data: "hello")]),
        Case(
            name: "multi-line data joined with LF", input: "data: YHOO\ndata: +2\ndata: 10\n\n",
            events: [SSEEvent(data: "YHOO\n+2\n10")]),
        Case(
            name: "spec example: comment, ids carry over", input: ": test stream\n\ndata: first event\nid: 1\n\n"
                + "data:second event\nid\n\ndata:  third event\n\n",
            events: [
                SSEEvent(data: "first event", id: "1"), SSEEvent(data: "second event", id: ""),
                SSEEvent(data: " third event", id: ""),
            ]),
        Case(
            name: "spec example: empty data fields", input: "data\n\ndata\ndata\n\ndata:",
            events: [SSEEvent(data: ""), SSEEvent(data: "\n")]),
        Case(
            name: "spec example: one leading space only", input: "data:test\n\ndata: test\n\n",
            events: [SSEEvent(data: "test"), SSEEvent(data: "test")]),
        Case(
            name: "event name, reset after dispatch", input: "event: add\ndata: 1\n\ndata: 2\n\n",
            events: [SSEEvent(event: "add", data: "1"), SSEEvent(data: "2")]),
        Case(
            name: "CRLF line endings", input: "id: 7\r\ndata: a\r\ndata: b\r\n\r\n",
            events: [SSEEvent(data: "a\nb", id: "7")]),
        Case(name: "CR line endings", input: "data: a\rdata: b\r\r", events: [SSEEvent(data: "a\nb")]),
        Case(
            name: "mixed line endings", input: "data: a\r\ndata: b\rdata: c\n\r\n",
            events: [SSEEvent(data: "a\nb\nc")]),
        Case(name: "blank line without data dispatches nothing", input: "event: x\n\n\n\n", events: []),
        Case(
            name: "id with NUL is ignored", input: "id: 3\n\nid: a\u{0}b\ndata: x\n\n",
            events: [SSEEvent(data: "x", id: "3")]),
        Case(
            name: "retry in digits", input: "retry: 1500\ndata: x\n\n", events: [SSEEvent(data: "x")],
            retry: .milliseconds(1500)),
        Case(name: "retry not digits is ignored", input: "retry: 15s\nretry: -1\n", events: [], retry: nil),
        Case(name: "unknown fields ignored", input: "foo: bar\ndata: x\nbaz\n\n", events: [SSEEvent(data: "x")]),
        Case(name: "field without colon means empty value", input: "data\nevent\n\n", events: [SSEEvent(data: "")]),
        Case(
            name: "incomplete event at end is dropped", input: "data: done\n\ndata: partial\n",
            events: [SSEEvent(data: "done")]),
        Case(name: "leading BOM ignored", input: "\u{FEFF}data: x\n\n", events: [SSEEvent(data: "x")]),
        Case(name: "colon in value kept", input: "data: a: b:c\n\n", events: [SSEEvent(data: "a: b:c")]),
        Case(name: "non-ASCII data", input: "data: grüße 🌡\n\n", events: [SSEEvent(data: "grüße 🌡")]),
        Case(name: "field names are case-sensitive", input: "Data: x\nDATA: y\n\n", events: []),
    ]

    @Test(arguments: cases)
    func specCase(_ testCase: Case) {
        var parser = SSEParser()
        let events = parser.feed(Array(testCase.input.utf8))
        #expect(events == testCase.events)
        #expect(parser.retry == testCase.retry)
    }

    static let sample =
        "\u{FEFF}: hello\r\nretry: 250\r\nevent: temp\r\nid: 1\r\ndata: {\"t\": 21.5,\r\ndata:  \"u\": \"C\"}\r\n\r\n"
        + "data: second\rid: 2\r\rdata\n:comment\nevent: weird name\nid: 3\u{0}\ndata: x:y\n\n"
        + "data: 😀 multi-byte\r\nid: 4\n\n"
        + "data: trailing incomplete"

    static let sampleEvents = [
        SSEEvent(event: "temp", data: "{\"t\": 21.5,\n \"u\": \"C\"}", id: "1"),
        SSEEvent(data: "second", id: "2"),
        SSEEvent(event: "weird name", data: "\nx:y", id: "2"),
        SSEEvent(data: "😀 multi-byte", id: "4"),
    ]

    @Test func sampleInOneChunk() {
        var parser = SSEParser()
        #expect(parser.feed(Array(Self.sample.utf8)) == Self.sampleEvents)
        #expect(parser.retry == .milliseconds(250))
        #expect(parser.lastEventID == "4")
    }

    @Test func sampleSplitAtEveryBytePosition() {
        let bytes = Array(Self.sample.utf8)
        for split in 0...bytes.count {
            var parser = SSEParser()
            let events = parser.feed(bytes[..<split]) + parser.feed(bytes[split...])
            #expect(events == Self.sampleEvents, "split at byte \(split)")
        }
        for first in stride(from: 0, through: bytes.count, by: 3) {
            for second in stride(from: first, through: bytes.count, by: 5) {
                var parser = SSEParser()
                let events =
                    parser.feed(bytes[..<first]) + parser.feed(bytes[first..<second]) + parser.feed(bytes[second...])
                #expect(events == Self.sampleEvents, "split at bytes \(first) and \(second)")
            }
        }
    }

    @Test func sampleOneByteAtATime() {
        var parser = SSEParser()
        var events: [SSEEvent] = []
        for byte in Self.sample.utf8 { events += parser.feed([byte]) }
        #expect(events == Self.sampleEvents)
    }

    @Test func resetDropsPartialEventButKeepsIDAndRetry() {
        var parser = SSEParser()
        _ = parser.feed(Array("retry: 10\nid: 9\n\ndata: half".utf8))
        parser.reset()
        #expect(parser.feed(Array("data: whole\n\n".utf8)) == [SSEEvent(data: "whole", id: "9")])
        #expect(parser.retry == .milliseconds(10))
    }
}

extension SSEParserTests {
    @Test func idCountsOnlyOnceItsEventIsDispatched() {
        var parser = SSEParser()
        _ = parser.feed(Array("id: 1\ndata: a\n\nid: 2\ndata: cut".utf8))
        #expect(parser.lastEventID == "1")
        parser.reset()
        #expect(parser.feed(Array("data: b\n\n".utf8)) == [SSEEvent(data: "b", id: "1")])
        _ = parser.feed(Array("id: 3\n\n".utf8))  // a blank line commits the ID even without data
        #expect(parser.lastEventID == "3")
    }
}
