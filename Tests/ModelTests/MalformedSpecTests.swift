import DTPModel
import Foundation
import Testing

/// Broken twin specs: each gives an error that says what and where, and none crashes.
@Suite struct MalformedSpecTests {
    /// One broken document and what its error must say.
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var text: String
        var path = "twins/x/twin.yaml"
        /// `TwinSpecError` kind, when the document itself is unreadable.
        var specKind: TwinSpecError.Kind?
        /// `TwinValidationError` field, when a field is wrong.
        var field: String?
        var line: Int?
        var message: String
        var description: String { name }
    }

    static let valid = """
        "@id": dt:Ok_1
        tenant: demo
        metadata: {status: active}
        interfaces:
          api: http://localhost:3001
          data_streams:
            - MQTT:dtp/ok/telemetry
        """

    static let cases: [Case] = [
        Case(
            name: "bad indentation", text: "@id: dt:A\nmetadata:\n  status: active\n    domain: x\n",
            specKind: .syntax, line: 4, message: "YAML syntax error"),
        Case(
            name: "tab indentation", text: "@id: dt:A\nmetadata:\n\tstatus: active\n",
            specKind: .syntax, line: 3, message: "YAML syntax error"),
        Case(
            name: "unterminated quote", text: "@id: dt:A\nname: \"Lift\nmetadata: {}\n",
            specKind: .syntax, message: "YAML syntax error"),
        Case(
            name: "list at the top level", text: "- \"@id\": dt:A\n- name: x\n",
            specKind: .notAMapping, line: 1, message: "not a list"),
        Case(name: "empty file", text: "", specKind: .empty, message: "empty"),
        Case(name: "only a comment", text: "# nothing here\n", specKind: .empty, message: "empty"),
        Case(name: "scalar document", text: "just words\n", specKind: .notAMapping, message: "not a string"),
        Case(
            name: "id too long", text: "@id: \(String(repeating: "a", count: 201))\n",
            field: "@id", line: 1, message: "at most 200"),
        Case(
            name: "bad id characters", text: "name: x\n@id: dt/Lift 1\n",
            field: "@id", line: 2, message: "only letters, digits"),
        Case(
            name: "missing id without a folder", text: "name: x\n", path: "twin.yaml",
            field: "@id", message: "@id required"),
        Case(
            name: "bad status", text: "@id: dt:A\nmetadata:\n  status: running\n",
            field: "metadata.status", line: 3, message: "'running' is not one of designed"),
        Case(
            name: "status not a string", text: "@id: dt:A\nmetadata:\n  status: [active]\n",
            field: "metadata.status", line: 3, message: "must be a string"),
        Case(
            name: "api not http", text: "@id: dt:A\ninterfaces:\n  api: ftp://host/x\n",
            field: "interfaces.api", line: 3, message: "http(s)"),
        Case(
            name: "api not a URL", text: "@id: dt:A\ninterfaces:\n  api: not a url\n",
            field: "interfaces.api", line: 3, message: "is not a URL"),
        Case(
            name: "api a number", text: "@id: dt:A\ninterfaces:\n  api: 3001\n",
            field: "interfaces.api", line: 3, message: "must be a string, not a number"),
        Case(
            name: "data_streams not a list", text: "@id: dt:A\ninterfaces:\n  data_streams: MQTT:a/b\n",
            field: "interfaces.data_streams", line: 3, message: "must be a list"),
        Case(
            name: "stream item a number",
            text: "@id: dt:A\ninterfaces:\n  data_streams:\n    - MQTT:a/b\n    - 42\n",
            field: "interfaces.data_streams[1]", line: 5, message: "not a number"),
        Case(
            name: "structured stream without topic",
            text: "@id: dt:A\ninterfaces:\n  data_streams:\n    - {protocol: MQTT, kind: telemetry}\n",
            field: "interfaces.data_streams[0].topic", line: 4, message: "needs a topic"),
        Case(
            name: "unknown protocol structured",
            text: "@id: dt:A\ninterfaces:\n  data_streams:\n    - protocol: AMQP\n      topic: a/b\n",
            field: "interfaces.data_streams[0].protocol", line: 4, message: "unknown protocol 'AMQP'"),
        Case(
            name: "unknown protocol short", text: "@id: dt:A\ninterfaces:\n  data_streams: [KAFKA:a/b]\n",
            field: "interfaces.data_streams[0]", line: 3, message: "unknown protocol 'KAFKA'"),
        Case(
            name: "short form without protocol", text: "@id: dt:A\ninterfaces:\n  data_streams: [a/b]\n",
            field: "interfaces.data_streams[0]", line: 3, message: "expected 'MQTT:<topic>'"),
        Case(
            name: "hash wildcard not last",
            text: "@id: dt:A\ninterfaces:\n  data_streams:\n    - MQTT:a/b\n    - MQTT:dtp/#/alerts\n",
            field: "interfaces.data_streams[1]", line: 5, message: "'#' must be the last topic level"),
        Case(
            name: "plus wildcard inside a level",
            text: "@id: dt:A\ninterfaces:\n  data_streams:\n    - {topic: dtp/site+/x, qos: 1}\n",
            field: "interfaces.data_streams[0].topic", line: 4, message: "'+' must be a whole topic level"),
        Case(
            name: "empty topic", text: "@id: dt:A\ninterfaces:\n  data_streams: [\"MQTT:\"]\n",
            field: "interfaces.data_streams[0]", line: 3, message: "topic is empty"),
        Case(
            name: "qos out of range",
            text: "@id: dt:A\ninterfaces:\n  data_streams:\n    - {topic: a/b, qos: 3}\n",
            field: "interfaces.data_streams[0].qos", line: 4, message: "0, 1 or 2"),
        Case(
            name: "metadata a list", text: "@id: dt:A\nmetadata: [1, 2]\n",
            field: "metadata", line: 2, message: "must be a map, not a list"),
        Case(
            name: "tenant a map", text: "@id: dt:A\ntenant: {a: 1}\n",
            field: "tenant", line: 2, message: "must be a string, not a map"),
        Case(
            name: "dependencies.static a string", text: "@id: dt:A\ndependencies:\n  static: \"x\"\n",
            field: "dependencies.static", line: 3, message: "must be a list of strings"),
        Case(
            name: "dependency id invalid", text: "@id: dt:A\ndependencies:\n  static: [ok, \"no way\"]\n",
            field: "dependencies.static[1]", line: 3, message: "only letters"),
        Case(
            name: "unknown dependencies key", text: "@id: dt:A\ndependencies:\n  later: []\n",
            field: "dependencies.later", line: 3, message: "unknown key"),
        Case(
            name: "duplicate keys", text: "@id: dt:A\ntenant: a\ntenant: b\n",
            specKind: .duplicateKey, message: "duplicate key 'tenant'"),
        Case(
            name: "id and twin_id disagree", text: "@id: dt:A\ntwin_id: dt:B\n",
            field: "twin_id", line: 2, message: "disagrees"),
        Case(
            name: "non-finite number in metadata", text: "@id: dt:A\nmetadata:\n  gain: .nan\n",
            field: "metadata.gain", line: 3, message: "finite"),
        Case(
            name: "JSON syntax error", text: "{\"@id\": \"dt:A\",\n \"tenant\": demo}\n", path: "x/twin.json",
            specKind: .syntax, line: 2, message: "JSON syntax error"),
        Case(
            name: "JSON trailing comma", text: "{\"@id\": \"dt:A\",}\n", path: "x/twin.json",
            specKind: .syntax, line: 1, message: "expected a string key"),
        Case(
            name: "JSON duplicate keys", text: "{\"@id\": \"dt:A\", \"@id\": \"dt:B\"}", path: "x/twin.json",
            specKind: .duplicateKey, line: 1, message: "duplicate key"),
        Case(
            name: "JSON wrong types", text: "{\"@id\": \"dt:A\",\n \"metadata\": {\"status\": 5}}",
            path: "x/twin.json", field: "metadata.status", line: 2, message: "must be a string"),
        Case(
            name: "JSON deps wrong type", text: "{\"@id\": \"dt:A\",\n \"dependencies\": {\"dynamic\": [1]}}",
            path: "x/twin.json", field: "dependencies.dynamic[0]", line: 2, message: "not a number"),
        Case(
            name: "JSON top-level array", text: "[1]", path: "x/twin.json",
            specKind: .notAMapping, line: 1, message: "not a list"),
        Case(
            name: "unsupported extension", text: "@id: dt:A\n", path: "x/twin.toml",
            specKind: .unsupportedFormat, message: ".yaml, .yml or .json"),
        Case(name: "alias bomb", text: billionLaughs, specKind: .aliasNotAllowed, line: 3, message: "aliases"),
        Case(
            name: "alias as a key", text: "a: &k {x: 1}\n? *k\n: v\n", specKind: .aliasNotAllowed, line: 2,
            message: "aliases"),
        Case(
            name: "deep flow nesting", text: "@id: dt:A\nmetadata: {x: \(deepFlow)}\n",
            specKind: .tooDeep, message: "deeper than 64"),
        Case(
            name: "nesting over libyaml's limit", text: "x: " + String(repeating: "[", count: 5_000),
            specKind: .syntax, message: "nesting"),
        Case(name: "deep block nesting", text: deepBlock, specKind: .tooDeep, message: "deeper than 64"),
        Case(
            name: "deep JSON nesting", text: "{\"x\": \(deepFlow)}", path: "x/twin.json",
            specKind: .tooDeep, line: 1, message: "deeper than 64"),
        Case(
            name: "multiple documents", text: "@id: dt:A\n---\n@id: dt:B\n", specKind: .syntax,
            message: "single document"),
        Case(name: "complex key", text: "? [a, b]\n: 1\n", specKind: .syntax, line: 1, message: "map keys"),
    ]

    static let billionLaughs = """
        a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
        b: &b [a, a]
        c: &c [*a, *a, *a, *a, *a, *a, *a, *a, *a]
        d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
        e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
        f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
        g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
        h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
        i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
        """

    static let deepFlow = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)

    static let deepBlock: String = {
        var text = "\"@id\": dt:A\nmetadata:\n"
        for level in 0..<80 { text += String(repeating: " ", count: 2 + level) + "k\(level):\n" }
        return text + String(repeating: " ", count: 82) + "leaf\n"
    }()

    @Test(arguments: cases)
    func malformedDocumentGivesAClearError(_ testCase: Case) throws {
        let codec = TwinSpecCodec()
        do {
            let spec = try codec.decode(testCase.text, path: testCase.path)
            Issue.record("expected an error, got \(spec)")
        } catch let error as TwinSpecError {
            #expect(testCase.specKind == error.kind, "\(error)")
            #expect(error.file == testCase.path)
            if let line = testCase.line { #expect(error.line == line, "\(error)") }
            #expect(error.message.contains(testCase.message), "\(error)")
            #expect(error.description.count < 2_000, "messages stay readable")
        } catch let error as TwinValidationError {
            #expect(testCase.field == error.field, "\(error)")
            #expect(error.file == testCase.path)
            if let line = testCase.line { #expect(error.line == line, "\(error)") }
            #expect(error.message.contains(testCase.message), "\(error)")
            #expect(error.description.hasPrefix("\(testCase.path):"))
        }
    }

    @Test func validDocumentPasses() throws {
        let spec = try TwinSpecCodec().decode(Self.valid, path: "twins/ok/twin.yaml")
        #expect(spec.id == "dt:Ok_1")
        #expect(spec.status == .active)
    }

    @Test func binaryGarbageIsNotText() throws {
        var generator = SplitMix64(seed: 7)
        var bytes = (0..<4096).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        bytes[0] = 0xFF
        let error = try #require(throws: TwinSpecError.self) {
            try TwinSpecCodec().decode(Data(bytes), path: "x/twin.yaml")
        }
        #expect(error.kind == .notText)
        #expect(error.message.contains("UTF-8"))
    }

    @Test func controlCharactersAreRejected() throws {
        let error = try #require(throws: TwinSpecError.self) {
            try TwinSpecCodec().decode(Data("@id: dt:A\nname: \u{1}\u{2}\n".utf8), path: "x/twin.yaml")
        }
        #expect(error.kind == .notText)
        #expect(error.line == 2)
    }

    @Test func hugeDocumentIsRejectedBeforeParsing() throws {
        let filler = "# " + String(repeating: "x", count: 1_000) + "\n"
        let text = "@id: dt:A\n" + String(repeating: filler, count: 1_100)
        let error = try #require(throws: TwinSpecError.self) {
            try TwinSpecCodec().decode(Data(text.utf8), path: "x/twin.yaml")
        }
        #expect(error.kind == .tooLarge)
        #expect(error.message.contains("at most 1048576"))
    }

    @Test func hugeFileIsRejectedFromDisk() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dtp-model-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("twin.yaml")
        try Data(repeating: UInt8(ascii: "#"), count: (1 << 20) + 1).write(to: url)
        let error = try #require(throws: TwinSpecError.self) { try TwinSpecCodec().read(contentsOf: url) }
        #expect(error.kind == .tooLarge)
        let missing = try #require(throws: TwinSpecError.self) {
            try TwinSpecCodec().read(contentsOf: folder.appendingPathComponent("twin.json"))
        }
        #expect(missing.kind == .unreadable)
    }

    @Test func manyValuesAreRejected() throws {
        let text = "@id: dt:A\nmetadata:\n  big: [" + Array(repeating: "1", count: 2_000).joined(separator: ",") + "]\n"
        let error = try #require(throws: TwinSpecError.self) {
            try TwinSpecCodec(maxNodes: 1_000).decode(text, path: "x/twin.yaml")
        }
        #expect(error.kind == .tooManyNodes)
    }

    @Test func starsInsideStringsAreNotAliases() throws {
        let text = """
            @id: dt:Star_1
            name: "*quoted*"
            metadata:
              note: see *this* and 'that*' # a *comment
              pattern: '*'
              expr: a * b
              text: |
                *literal block*
            """
        let spec = try TwinSpecCodec().decode(text, path: "x/twin.yaml")
        #expect(spec.topLevelName == "*quoted*")
        #expect(spec.metadata["note"] == "see *this* and 'that*'")
        #expect(spec.metadata["pattern"] == "*")
        #expect(spec.metadata["expr"] == "a * b")
        #expect(spec.metadata["text"] == "*literal block*")
    }

    @Test func fuzzedMutationsNeverCrash() throws {
        var generator = SplitMix64(seed: 0xD7_2026)
        let alphabet = Array(":-[]{}\"'#&*!|>@ \n\t,?%".utf8)
        let codec = TwinSpecCodec()
        for _ in 0..<500 {
            var bytes = Array(Self.valid.utf8)
            for _ in 0..<Int(generator.next() % 6 + 1) {
                let index = Int(generator.next() % UInt64(bytes.count))
                bytes[index] = alphabet[Int(generator.next() % UInt64(alphabet.count))]
            }
            do {
                _ = try codec.decode(Data(bytes), path: "x/twin.yaml")
            } catch is TwinSpecError {
            } catch is TwinValidationError {
            }
        }
    }
}
