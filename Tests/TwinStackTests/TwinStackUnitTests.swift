import DTPServiceKit
import DTPTwinStack
import Foundation
import Testing

@Suite struct TwinStackUnitTests {
    @Test func seededRandomRepeatsAndItsGaussianHasTheAskedMoments() {
        var a = SeededRandom(seed: 1)
        var b = SeededRandom(seed: 1)
        #expect((0..<100).map { _ in a.next() } == (0..<100).map { _ in b.next() })
        var random = SeededRandom(seed: 2)
        let values = (0..<20_000).map { _ in random.gaussian(mean: 3, standardDeviation: 0.5) }
        let mean = values.reduce(0, +) / Double(values.count)
        let sd = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
        #expect(abs(mean - 3) < 0.02)
        #expect(abs(sd - 0.5) < 0.02)
    }

    @Test func timestampsHaveMicrosecondsAndAnOffsetAndReadBack() throws {
        let date = Date(timeIntervalSince1970: 1_795_949_650.145007)
        let text = TwinTimestamp.string(date)
        #expect(text == "2026-11-29T10:54:10.145007+00:00")
        let back = try #require(TwinTimestamp.date(text))
        #expect(abs(back.timeIntervalSince1970 - date.timeIntervalSince1970) < 0.000002)
    }

    @Test func timestampsReadOffsetsZuluAndWholeSecondsAndRefuseTheRest() throws {
        let base = 1_795_949_650.0  // 2026-11-29T10:54:10Z
        #expect(TwinTimestamp.date("2026-11-29T10:54:10Z")?.timeIntervalSince1970 == base)
        #expect(TwinTimestamp.date("2026-11-29T11:54:10.5+01:00")?.timeIntervalSince1970 == base + 0.5)
        #expect(TwinTimestamp.date("2026-11-29T05:24:10-05:30")?.timeIntervalSince1970 == base)
        for bad in ["", "2026-11-29", "2026-11-29T10:54:10", "2026-13-29T10:54:10Z", "2026-11-29T10:54:10.Z",
            "2026-11-29T10:54:10+0100", "2026-11-29T10:54:10Z trailing"]
        {
            #expect(TwinTimestamp.date(bad) == nil, "\(bad)")
        }
    }

    @Test func theWindowKeepsTheLastHourInOrder() {
        let window = TimeWindow<Int>(retention: 60, capacity: 1_000)
        let start = Date(timeIntervalSince1970: 1_000)
        for second in 0..<200 { window.append(second, at: start.addingTimeInterval(Double(second))) }
        #expect(window.count == 61)
        #expect(window.elements(since: start.addingTimeInterval(190)).map(\.element) == Array(190..<200))
        let bounded = TimeWindow<Int>(retention: 3600, capacity: 10)
        for n in 0..<25 { bounded.append(n, at: start.addingTimeInterval(Double(n))) }
        #expect(bounded.elements(since: .distantPast).map(\.element) == Array(15..<25))
    }

    @Test func theStateFileIsWrittenAtomicallyAndReadBack() throws {
        struct State: Codable, Equatable { var threshold: Double }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dtp-state-\(UUID().uuidString)")
        let file = StateFile<State>(directory: folder)
        #expect(try file.load() == nil)
        try file.save(State(threshold: 2.5))
        try file.save(State(threshold: 3.5))
        #expect(try file.load() == State(threshold: 3.5))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        #expect(leftovers == ["state.json"])
        try? FileManager.default.removeItem(at: folder)
    }

    @Test func tlsURLsForWhatTheGeneratorCallsAreAConfigurationErrorNamingEachVariable() throws {
        var reader = ConfigReader([
            "LOCAL_INFLUX_URL": "https://influx.example:8086", "CENTRAL_INFLUX_URL": "http://central:8086",
            "DTP_REGISTRY_URL": "https://registry.example", "DTP_SERVICE_TOKEN_LIFT": "token",
            "DTP_LIFT_URL": "https://lift.example",
        ])
        let settings = TwinStackSettings(service: "lift", port: 3001, reader: &reader)
        let error = try #require(throws: ConfigurationError.self) { try reader.finish() }
        #expect(Set(error.problems.map(\.key)) == ["LOCAL_INFLUX_URL", "DTP_REGISTRY_URL"])
        #expect(error.problems.allSatisfy { $0.message.contains("plain HTTP") })
        // Where the generator is reached is only advertised, so it may well be https.
        #expect(settings.publicURL == "https://lift.example")
        #expect(settings.centralInflux != nil)
    }

    @Test func ratesParse() {
        #expect(FleetRunner.parseRate("20000/s") == 20_000)
        #expect(FleetRunner.parseRate("1200/min") == 20)
        #expect(FleetRunner.parseRate("500") == 500)
        #expect(FleetRunner.parseRate("fast") == nil)
        #expect(FleetRunner.parseRate("-3/s") == nil)
    }
}
