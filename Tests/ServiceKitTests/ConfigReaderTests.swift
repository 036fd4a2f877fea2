import ArgumentParser
import DTPServiceKit
import Foundation
import Logging
import Testing

@Suite("Configuration from the environment")
struct ConfigReaderTests {
    @Test("defaults run locally when nothing is set")
    func defaults() throws {
        var reader = ConfigReader([:])
        let settings = ServiceSettings(name: "registry", defaultPort: 8081, reader: &reader)
        try reader.finish()
        #expect(settings.port == 8081)
        #expect(settings.host == "127.0.0.1")
        #expect(settings.logLevel == .info)
        #expect(settings.deployment == .local)
    }

    @Test("one error names every missing or unparsable variable")
    func everyBadVariableNamed() throws {
        var reader = ConfigReader([
            "DTP_HTTP_PORT": "eighty", "LOG_LEVEL": "loud", "DTP_ENV": "staging", "RATE": "x",
            "FLAG": "maybe", "DTP_JWT_SECRET": "short-secret-value",
        ])
        _ = ServiceSettings(name: "gateway", defaultPort: 8083, reader: &reader)
        _ = reader.double("RATE", default: 0.25)
        _ = reader.bool("FLAG", default: false)
        _ = reader.string("DTP_REGISTRY_TOKEN")
        let secret = reader.secret("DTP_JWT_SECRET", minimumLength: 32)
        let error = try #require(throws: ConfigurationError.self) { try reader.finish() }
        #expect(
            error.keys == ["DTP_HTTP_PORT", "LOG_LEVEL", "DTP_ENV", "RATE", "FLAG", "DTP_REGISTRY_TOKEN", "DTP_JWT_SECRET"])
        #expect(error.description.contains("\"eighty\" is not a whole number"))
        #expect(error.description.contains("DTP_REGISTRY_TOKEN is required but not set"))
        // A secret's value is never repeated, neither in the error nor when the secret is printed.
        #expect(!error.description.contains("short-secret-value"))
        #expect("\(secret)" == "<redacted>")
        #expect(secret.value == "short-secret-value")
    }

    @Test("typed values parse, ranges and schemes are enforced, aliases are read")
    func typedValues() throws {
        var reader = ConfigReader([
            "A_INT": "42", "A_DOUBLE": "0.5", "A_BOOL": "YES", "A_SECONDS": "1.5", "A_LIST": "a, b,,c",
            "OLD_NAME": "from-alias", "A_URL": "http://127.0.0.1:8081/x", "BAD_URL": "not a url",
            "FTP_URL": "ftp://example.org", "OUT_OF_RANGE": "70000",
        ])
        let int = reader.int("A_INT", default: 1)
        let double = reader.double("A_DOUBLE")
        let flag = reader.bool("A_BOOL", default: false)
        let seconds = reader.seconds("A_SECONDS", default: .seconds(9))
        let list = reader.list("A_LIST", default: [])
        let aliased = reader.string("NEW_NAME", aliases: ["OLD_NAME"])
        let url = reader.url("A_URL", schemes: ["http", "https"])
        #expect(int == 42)
        #expect(double == 0.5)
        #expect(flag)
        #expect(seconds == .milliseconds(1500))
        #expect(list == ["a", "b", "c"])
        #expect(aliased == "from-alias")
        #expect(url.port == 8081)
        try reader.finish()
        _ = reader.url("BAD_URL")
        _ = reader.url("FTP_URL", schemes: ["http", "https"])
        _ = reader.int("OUT_OF_RANGE", default: 1, in: 1...65535)
        let error = try #require(throws: ConfigurationError.self) { try reader.finish() }
        #expect(error.keys == ["BAD_URL", "FTP_URL", "OUT_OF_RANGE"])
    }

    @Test("command-line options override the environment")
    func optionsOverride() throws {
        let options = try ServiceOptions.parse(["--port", "9999", "--log-level", "debug"])
        var reader = ConfigReader(options.applied(to: ["DTP_HTTP_PORT": "1234", "DTP_HTTP_HOST": "0.0.0.0"]))
        let settings = ServiceSettings(name: "x", defaultPort: 1, reader: &reader)
        try reader.finish()
        #expect(settings.port == 9999)
        #expect(settings.host == "0.0.0.0")
        #expect(settings.logLevel == .debug)
    }
}
