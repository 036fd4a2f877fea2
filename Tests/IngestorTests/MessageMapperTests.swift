import DTPInfluxDB
import DTPModel
import Foundation
import Testing

@testable import MQTTIngestor

/// The mapping rules on their own, and message keys.
@Suite("Message mapping rules", .timeLimit(.minutes(3)))
struct MessageMapperTests {
    let mapper = MessageMapper()
    let now: Int64 = 1_795_949_651_000_000

    func map(_ payload: String, topic: String = "dtp/lift/alerts", twin: DeclaredTwin? = nil) -> MappedMessage {
        let record = JournalRecord(topic: topic, payload: Array(payload.utf8), receivedAt: now, qos: 1)
        var catalog = TopicCatalog(staticFilters: ["dtp/#"])
        if let twin { catalog.twins[twin.id] = twin }
        return mapper.map(record, resolution: catalog.resolve(topic))
    }

    func twin(_ id: String, _ filters: [String], units: [String: String] = [:]) -> DeclaredTwin {
        var twin = DeclaredTwin(
            Twin(
                id: id, metadata: ["status": "active"],
                interfaces: TwinInterfaces(dataStreams: filters.map { DataStream.short($0) }),
                createdAt: .now(), updatedAt: .now()))!
        twin.units = units
        return twin
    }

    @Test("a twin's stream gives signals <twin>/<field> with its units, and an event for an alert")
    func twinPayload() throws {
        let message = map(
            #"{"type": "vibration_alert", "rms": 2.5, "threshold": 2, "lift_id": "lift-001"}"#,
            twin: twin("dt:Lift_001", ["dtp/lift/+"], units: ["rms": "mm/s"]))
        guard case .stored(let stored) = message.content else { Issue.record("rejected"); return }
        #expect(stored.observations.map(\.signalID).sorted() == ["dt:Lift_001/rms", "dt:Lift_001/threshold"])
        #expect(stored.signals.first { $0.name == "rms" }?.unit == "mm/s")
        #expect(stored.event?.severity == 1)
        #expect(stored.event?.ts == now)
        #expect(stored.point?.measurement == "vibration_alert")
        #expect(stored.point?.tags == ["twin": "dt:Lift_001"])
        #expect(stored.twins.map(\.stream) == ["dtp/lift/+"])
    }

    @Test("keys: a payload id wins; with ts the payload is the key; without, the time of receipt joins it")
    func keys() {
        #expect(map(#"{"id": 7, "v": 1}"#).key == map(#"{"v": 2, "id": 7}"#).key)
        #expect(map(#"{"v": 1, "ts": 1795949650}"#).key == map(#"{"v": 1, "ts": 1795949650}"#).key)
        let record = JournalRecord(topic: "dtp/x", payload: Array(#"{"v": 1}"#.utf8), receivedAt: now + 1, qos: 1)
        let other = mapper.map(record, resolution: TopicCatalog(staticFilters: ["dtp/#"]).resolve("dtp/x"))
        #expect(map(#"{"v": 1}"#, topic: "dtp/x").key != other.key)
    }

    @Test("timestamps: ISO with or without an offset, epoch seconds, milliseconds and microseconds")
    func timestamps() {
        for ts in [
            #""2026-11-29T10:54:11Z""#, #""2026-11-29T10:54:11""#, "1795949651", "1795949651000", "1795949651000000",
        ] {
            guard case .stored(let stored) = map("{\"v\": 1, \"ts\": \(ts)}").content else {
                Issue.record("rejected \(ts)")
                continue
            }
            #expect(stored.observations.first?.ts == 1_795_949_651_000_000, "\(ts)")
        }
    }

    @Test("the ts parser reads what Timestamp reads (a time without a zone as UTC), and refuses what it refuses")
    func isoTimestamps() {
        let texts = [
            "2026-11-29T10:54:11Z", "2026-11-29T10:54:11", "2026-11-29 10:54:11.5z", "2026-11-29t10:54:11",
            "2026-11-29T10:54:11.123456789+02:00", "2026-11-29T10:54:11,9999995-0130", "2026-11-29T10:54:11+05",
            "2026-11-29T10:54:11.000001Z", "1999-12-31T23:59:60Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-23",
            "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-29T24:00:00Z", "2026-11-29T10:60:00Z",
            "2026-11-29T10:54:11.Z", "2026-11-29T10:54:11+0", "2026-11-29T10:54:11+010", "2026-11-29T10:54:11+01:0",
            "2026-11-29T10:54:11Zx", "2026-11-29T10:54", "2026-11-29", "", "2026-11-29T10:54:11 Z",
            "2026-11-29T10:54:11+01:00Z", "+2026-11-29T10:54:11Z", "2026-1-29T10:54:11Z",
        ]
        for text in texts {
            let expected = (Timestamp(iso8601: text) ?? Timestamp(iso8601: text + "Z"))?.microsecondsSinceEpoch
            #expect(Timestamp.microseconds(iso8601: text, zoneRequired: false) == expected, "\(text)")
        }
    }

    @Test("payload members: found by name in small and large objects; a repeated name leaves the fast path")
    func payloadMembers() {
        let small = FlatJSON.object(Array(#"{"a": 1, "b": "x", "c": null}"#.utf8))
        #expect(small?["b"] == .string("x"))
        #expect(small?["c"] == .null)
        #expect(small?["d"] == nil)
        func object(_ names: [String]) -> PayloadMembers? {
            FlatJSON.object(Array(("{" + names.map { "\"\($0)\": 1" }.joined(separator: ",") + "}").utf8))
        }
        let names = (0..<40).map { "f\($0)" }
        #expect(object(names)?["f39"] == .int(1))
        #expect(object(names)?["f40"] == nil)
        #expect(FlatJSON.object(Array(#"{"a": 1, "a": 2}"#.utf8)) == nil)
        #expect(object(names + ["f3"]) == nil)
        #expect(object(["f1", "f2", "f1"]) == nil)
    }

    @Test("MQTT topic filters match as the broker does")
    func matching() {
        #expect(TopicCatalog.matches(filter: "dtp/#", topic: "dtp"))
        #expect(TopicCatalog.matches(filter: "dtp/+/telemetry", topic: "dtp/lift/telemetry"))
        #expect(!TopicCatalog.matches(filter: "dtp/+/telemetry", topic: "dtp/lift/a/telemetry"))
        #expect(!TopicCatalog.matches(filter: "#", topic: "$SYS/broker"))
        #expect(!TopicCatalog.matches(filter: "dtp/lift", topic: "dtp/lift/alerts"))
    }
}
