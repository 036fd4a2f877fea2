import DTPModel
import Foundation
import Testing

/// Twin, service and event JSON in the earlier API's shapes.
@Suite struct TwinJSONTests {
    static let created = Timestamp(iso8601: "2026-11-29T10:54:10.145007Z")!

    static func lift() -> Twin {
        Twin(
            id: "dt:Lift_001", tenant: "demo",
            metadata: [
                "name": "Lift Maintenance", "domain": ["Lift"], "status": "instantiated", "floors": 12,
                "gain": 1.5,
            ],
            interfaces: TwinInterfaces(
                api: "http://localhost:3001",
                dataStreams: [
                    .short("dtp/lift/alerts"), DataStream(topic: "dtp/lift/+/telemetry", kind: .telemetry, qos: 1),
                ]),
            dependencies: TwinDependencies(static: ["dt:Building_1"]),
            createdAt: created, updatedAt: Timestamp(microsecondsSinceEpoch: created.microsecondsSinceEpoch + 1),
            version: 3)
    }

    @Test func twinJSONHasTheEarlierShape() throws {
        let data = try JSONEncoder().encode(Self.lift())
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(
            Set(object.keys) == [
                "@id", "twin_id", "tenant", "metadata", "interfaces", "dependencies", "created_at", "updated_at",
                "version", "etag",
            ])
        #expect(object["@id"] as? String == "dt:Lift_001")
        #expect(object["twin_id"] as? String == "dt:Lift_001")
        #expect(object["created_at"] as? String == "2026-11-29T10:54:10.145007Z")
        #expect(object["updated_at"] as? String == "2026-11-29T10:54:10.145008Z")
        #expect(object["etag"] as? String == "\"3\"")
        let interfaces = try #require(object["interfaces"] as? [String: Any])
        let streams = try #require(interfaces["data_streams"] as? [Any])
        #expect(streams.first as? String == "MQTT:dtp/lift/alerts")
        let structured = try #require(streams.last as? [String: Any])
        #expect(structured["protocol"] as? String == "MQTT")
        #expect(structured["kind"] as? String == "telemetry")
        let dependencies = try #require(object["dependencies"] as? [String: Any])
        #expect(dependencies["static"] as? [String] == ["dt:Building_1"])
        #expect(dependencies["dynamic"] as? [String] == [])
        #expect(try JSONDecoder().decode(Twin.self, from: data) == Self.lift())
    }

    @Test func twinInputAcceptsTwinIDAndDefaults() throws {
        let body =
            #"{"twin_id": "dt:X", "created_at": "2026-01-02T03:04:05+00:00", "updated_at": "2026-01-02T03:04:05.5Z"}"#
        let twin = try JSONDecoder().decode(Twin.self, from: Data(body.utf8))
        #expect(twin.id == "dt:X")
        #expect(twin.tenant == "demo")
        #expect(twin.version == 1)
        #expect(twin.createdAt.iso8601 == "2026-01-02T03:04:05.000000Z")
        #expect(twin.updatedAt.iso8601 == "2026-01-02T03:04:05.500000Z")
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(Twin.self, from: Data(#"{"tenant": "demo"}"#.utf8))
        }
    }

    @Test func twinValidation() throws {
        var twin = Self.lift()
        try twin.validate()
        twin.status = .retired
        #expect(twin.status == .retired)
        twin.metadata["status"] = "gone"
        #expect(twin.status == nil)
        let error = try #require(throws: TwinValidationError.self) { try twin.validate() }
        #expect(error.field == "metadata.status")
        #expect(error.line == nil)
    }

    @Test func lifecycleRetiredIsFinal() {
        for status in LifecycleStatus.allCases {
            #expect(LifecycleStatus.retired.canTransition(to: status) == (status == .retired))
            #expect(status.canTransition(to: .retired))
            #expect(LifecycleStatus.designed.canTransition(to: status))
        }
    }

    @Test func timestampsFormatAndParse() throws {
        #expect(Timestamp(microsecondsSinceEpoch: 0).iso8601 == "1970-01-01T00:00:00.000000Z")
        #expect(Timestamp(microsecondsSinceEpoch: -1).iso8601 == "1969-12-31T23:59:59.999999Z")
        let leap = try #require(Timestamp(iso8601: "2024-02-29T23:59:59.123456789Z"))
        #expect(leap.iso8601 == "2024-02-29T23:59:59.123457Z")
        let offset = try #require(Timestamp(iso8601: "2026-11-29T12:54:10.145007+02:00"))
        #expect(offset == Self.created)
        #expect(Timestamp(iso8601: "2026-11-29") == nil)
        #expect(Timestamp(iso8601: "2026-13-01T00:00:00Z") == nil)
        #expect(Timestamp(iso8601: "2026-11-29T10:54:10.145007") == nil)
        let now = Timestamp.now()
        #expect(Timestamp(iso8601: now.iso8601) == now)
        #expect(abs(now.date.timeIntervalSinceNow) < 60)
    }

    @Test func jsonValueKeepsIntegersApartFromDoubles() throws {
        let value = try JSONValue(jsonText: #"{"a": 1, "b": 1.0, "c": -2e3, "d": [true, null, "\u00e9\ud83d\ude80"]}"#)
        #expect(value["a"] == .int(1))
        #expect(value["b"] == .double(1.0))
        #expect(value["c"] == .double(-2000))
        #expect(value["d"]?[2] == .string("é🚀"))
        #expect(try JSONValue(jsonText: value.jsonText()) == value)
        #expect(try value.jsonText() == #"{"a":1,"b":1.0,"c":-2000.0,"d":[true,null,"é🚀"]}"#)
        #expect(throws: JSONValue.ParseError.self) { try JSONValue(jsonText: "[1,]") }
        #expect(throws: EncodingError.self) { try JSONValue.double(.infinity).jsonText() }
    }

    @Test func dataStreamForms() throws {
        let short = try DataStream(json: "mqtt:dtp/a/#")
        #expect(short.form == .short)
        #expect(short.jsonValue == "MQTT:dtp/a/#")
        #expect(short.validationProblems(field: "s").isEmpty)
        var upgraded = short
        upgraded.kind = .alerts
        #expect(upgraded.jsonValue == ["protocol": "MQTT", "topic": "dtp/a/#", "kind": "alerts"])
        let structured = try DataStream(json: ["topic": "dtp/b", "qos": 2, "retain": true])
        #expect(structured.form == .structured)
        #expect(structured.extra == ["retain": true])
        #expect(structured.jsonValue == ["protocol": "MQTT", "topic": "dtp/b", "qos": 2, "retain": true])
        #expect(MQTTTopic.problem(inName: "dtp/+/x") != nil)
        #expect(MQTTTopic.problem(inFilter: "+/+/#") == nil)
        #expect(MQTTTopic.problem(inFilter: "a/b#") != nil)
    }

    @Test func serviceJSON() throws {
        let body = """
            {"name": "Lift UI", "category": "UI", "interfaces": {"url": "http://localhost:3001", "public": true},
             "twin_ref": "dt:Lift_001"}
            """
        let service = try JSONDecoder().decode(Service.self, from: Data(body.utf8))
        #expect(service.category == .ui)
        #expect(service.isPublic)
        #expect(service.tenant == "demo")
        #expect(service.twinRef == "dt:Lift_001")
        #expect(try JSONDecoder().decode(Service.self, from: JSONEncoder().encode(service)) == service)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(Service.self, from: Data(#"{"category": "XX", "interfaces": {}}"#.utf8))
        }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(Service.self, from: Data(#"{"category": "DO"}"#.utf8))
        }
    }

    @Test func registryEventJSON() throws {
        let event = RegistryEvent(
            id: 42, tenant: "demo", type: .twinDelete, payload: RegistryEvent.twinDeletePayload(id: "dt:Lift_001"),
            ts: Self.created)
        let data = try JSONEncoder().encode(event)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["type"] as? String == "twin.delete")
        #expect(object["ts"] as? String == "2026-11-29T10:54:10.145007Z")
        #expect((object["payload"] as? [String: Any])?["twin_id"] as? String == "dt:Lift_001")
        #expect(try JSONDecoder().decode(RegistryEvent.self, from: data) == event)
        let update = RegistryEvent.twinUpdatePayload(Self.lift())
        #expect(update["twin_id"] == "dt:Lift_001")
        #expect(update["metadata"]?["status"] == "instantiated")
    }
}
