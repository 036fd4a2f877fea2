// swift-tools-version:6.1
import PackageDescription

// Upcoming features keep the code honest about existentials and about which module a member comes from.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let logging = Target.Dependency.product(name: "Logging", package: "swift-log")

let package = Package(
    name: "DTP",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "dtp-registry", targets: ["Registry"]),
        .executable(name: "dtp-discovery", targets: ["Discovery"]),
        .executable(name: "dtp-gateway", targets: ["PortalGateway"]),
        .executable(name: "dtp-ingestor", targets: ["MQTTIngestor"]),
        .executable(name: "dtp-lift", targets: ["LiftGenerator"]),
        .executable(name: "dtp-hvac", targets: ["HVACGenerator"]),
        .executable(name: "dtpctl", targets: ["DTPCtl"]),
        .executable(name: "dtp-bench", targets: ["DTPBench"]),
        .library(name: "DTPPostgres", targets: ["DTPPostgres"]),
        .library(name: "DTPMQTT", targets: ["DTPMQTT"]),
        .library(name: "DTPHTTP", targets: ["DTPHTTP"]),
        .library(name: "DTPInfluxDB", targets: ["DTPInfluxDB"]),
        .library(name: "DTPS3", targets: ["DTPS3"]),
        .library(name: "DTPNeo4j", targets: ["DTPNeo4j"]),
        .library(name: "DTPModel", targets: ["DTPModel"]),
        .library(name: "DTPServiceKit", targets: ["DTPServiceKit"]),
        .library(name: "DTPAuth", targets: ["DTPAuth"]),
        .library(name: "DTPRegistryClient", targets: ["DTPRegistryClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // Without its default traits: swift-configuration support (we read the environment ourselves) and
        // "FullFoundation" would link full Foundation and its ICU data into every service, twin generators
        // included, whose idle footprint is a goal.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // C libraries, found through pkg-config.
        .systemLibrary(
            name: "CLibPQ", path: "Shared/CLibPQ", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]),
        .systemLibrary(
            name: "CMosquitto", path: "Shared/CMosquitto", pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev"])]),
        .systemLibrary(
            name: "CCurl", path: "Shared/CCurl", pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(
            name: "CZlib", path: "Shared/CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CCrypt", path: "Shared/CCrypt", providers: [.apt(["libcrypt-dev"])]),
        .target(name: "CCurlShim", dependencies: ["CCurl"], path: "Shared/CCurlShim"),

        // Swift wrappers over the C libraries.
        .target(
            name: "DTPPostgres", dependencies: ["CLibPQ", "DTPEssentials", logging],
            path: "Shared/Postgres", swiftSettings: swiftSettings),
        .target(
            name: "DTPMQTT", dependencies: ["CMosquitto", "DTPEssentials", logging],
            path: "Shared/MQTT", swiftSettings: swiftSettings),
        // The HTTP vocabulary (request, response, headers, the transport protocol) without a transport, so
        // clients that need only plain calls do not pull in libcurl.
        .target(name: "DTPHTTPCore", path: "Shared/HTTPCore", swiftSettings: swiftSettings),
        // A plain-HTTP/1.1 transport over SwiftNIO for the twin generators, which link no libcurl.
        .target(
            name: "DTPHTTPNIO",
            dependencies: [
                "DTPHTTPCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Shared/HTTPNIO", swiftSettings: swiftSettings),
        // What FoundationEssentials lacks and the generators' modules need (trimming, percent-encoding, HTTP
        // dates), so that those modules stay clear of full Foundation and its ICU data.
        .target(name: "DTPEssentials", path: "Shared/Essentials", swiftSettings: swiftSettings),
        .target(
            name: "DTPHTTP", dependencies: ["DTPHTTPCore", "CCurl", "CCurlShim", logging],
            path: "Shared/HTTP", swiftSettings: swiftSettings),

        // Store clients over the HTTP client.
        .target(
            name: "DTPInfluxDB", dependencies: ["DTPHTTPCore", "DTPEssentials", "CZlib", logging],
            path: "Shared/InfluxDB", swiftSettings: swiftSettings),
        .target(
            name: "DTPS3",
            dependencies: ["DTPHTTP", logging, .product(name: "Crypto", package: "swift-crypto")],
            path: "Shared/S3", swiftSettings: swiftSettings),
        .target(
            name: "DTPNeo4j", dependencies: ["DTPHTTP", logging],
            path: "Shared/Neo4j", swiftSettings: swiftSettings),

        // Access tokens (HS256 JWTs) and service tokens, shared by the gateway (issuing) and the services.
        .target(
            name: "DTPAuth", dependencies: ["CCrypt", .product(name: "Crypto", package: "swift-crypto")],
            path: "Shared/Auth", swiftSettings: swiftSettings),

        // A service's registration in the service registry, over any HTTP transport (the generators use it).
        .target(
            name: "DTPServiceRegistration",
            dependencies: [
                "DTPHTTPCore", "DTPServiceKit", logging,
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/ServiceRegistration", swiftSettings: swiftSettings),
        // The typed client of the registry's API and change stream, for the services that follow it.
        .target(
            name: "DTPRegistryClient",
            dependencies: [
                "DTPHTTP", "DTPModel", "DTPServiceKit", "DTPServiceRegistration", logging,
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/RegistryClient", swiftSettings: swiftSettings),

        // Domain model, twin spec codec and the common service bootstrap.
        .target(
            name: "DTPModel", dependencies: ["DTPEssentials", .product(name: "Yams", package: "Yams")],
            path: "Shared/Model", swiftSettings: swiftSettings),
        .target(
            name: "DTPServiceKit",
            dependencies: [
                "DTPEssentials", logging,
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/ServiceKit", swiftSettings: swiftSettings),

        // What both twin generators share: MQTT publishing with a bounded QoS 1 queue, the in-memory
        // window, the InfluxDB sinks, registry self-registration and the UI assets.
        .target(
            name: "DTPTwinStack",
            dependencies: [
                "DTPServiceKit", "DTPMQTT", "DTPInfluxDB", "DTPHTTPNIO", "DTPServiceRegistration", "DTPEssentials",
                logging,
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/TwinStack", swiftSettings: swiftSettings),

        // Services: one executable each.
        .executableTarget(
            name: "Registry",
            dependencies: serviceDependencies + [
                "DTPPostgres", "DTPModel", "DTPS3", "DTPNeo4j", "DTPHTTP", "DTPAuth", "DTPRegistryClient", logging,
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Services/registry", swiftSettings: swiftSettings),
        .executableTarget(
            name: "Discovery",
            dependencies: serviceDependencies + [
                "DTPModel", "DTPHTTP", "DTPAuth", "DTPRegistryClient", logging,
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/discovery", swiftSettings: swiftSettings),
        .executableTarget(
            name: "PortalGateway",
            dependencies: serviceDependencies + [
                "DTPPostgres", "DTPModel", "DTPHTTP", "DTPAuth", logging,
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Services/portal-gateway", exclude: ["Public"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "MQTTIngestor",
            dependencies: serviceDependencies + [
                "DTPPostgres", "DTPMQTT", "DTPInfluxDB", "DTPHTTP", "DTPAuth", "DTPModel", "DTPRegistryClient",
                "DTPEssentials", logging,
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/mqtt-ingestor", swiftSettings: swiftSettings),
        .executableTarget(
            name: "LiftGenerator", dependencies: serviceDependencies + twinStackDependencies,
            path: "Services/lift-generator", swiftSettings: swiftSettings),
        .executableTarget(
            name: "HVACGenerator", dependencies: serviceDependencies + twinStackDependencies,
            path: "Services/hvac-generator", swiftSettings: swiftSettings),

        // Tools: the wiring check and the benchmarks.
        .executableTarget(
            name: "DTPCtl",
            dependencies: [
                "DTPPostgres", "DTPMQTT", "DTPHTTP", "DTPInfluxDB", "DTPS3", "DTPNeo4j", logging,
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Tools/dtpctl", swiftSettings: swiftSettings),
        .executableTarget(
            name: "DTPBench",
            dependencies: [
                "DTPPostgres", "DTPMQTT", "DTPHTTP", "DTPInfluxDB", "DTPS3", "DTPModel", "DTPTestSupport", logging,
            ],
            path: "Benchmarks", exclude: ["c"], swiftSettings: swiftSettings),

        // Tests, against the real servers that scripts/dev-services starts.
        .target(name: "DTPTestSupport", dependencies: ["DTPPostgres"], path: "Tests/Support", swiftSettings: swiftSettings),
        .testTarget(
            name: "DTPPostgresTests", dependencies: ["DTPPostgres", "DTPTestSupport"],
            path: "Tests/PostgresTests", swiftSettings: swiftSettings),
        .testTarget(
            name: "DTPMQTTTests", dependencies: ["DTPMQTT", "DTPTestSupport"],
            path: "Tests/MQTTTests", swiftSettings: swiftSettings),
        .testTarget(
            name: "DTPEssentialsTests", dependencies: ["DTPEssentials"], path: "Tests/EssentialsTests",
            swiftSettings: swiftSettings),
        .testTarget(
            name: "DTPHTTPTests", dependencies: ["DTPHTTP", "DTPHTTPNIO", "DTPTestSupport"],
            path: "Tests/HTTPTests", swiftSettings: swiftSettings),
        .testTarget(
            name: "DTPInfluxDBTests", dependencies: ["DTPInfluxDB", "DTPHTTP", "DTPTestSupport"],
            path: "Tests/InfluxDBTests", swiftSettings: swiftSettings),
        .testTarget(
            name: "DTPS3Tests", dependencies: ["DTPS3", "DTPTestSupport"],
            path: "Tests/S3Tests", swiftSettings: swiftSettings),
        .testTarget(
            name: "DTPNeo4jTests", dependencies: ["DTPNeo4j", "DTPTestSupport"],
            path: "Tests/Neo4jTests", swiftSettings: swiftSettings),
        .testTarget(
            name: "DTPModelTests", dependencies: ["DTPModel"],
            path: "Tests/ModelTests", resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
        .testTarget(
            name: "DTPServiceKitTests",
            dependencies: [
                "DTPServiceKit", "DTPHTTP", "DTPTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            path: "Tests/ServiceKitTests", swiftSettings: swiftSettings),
        .testTarget(
            name: "DTPRegistryTests",
            dependencies: [
                "Registry", "DTPAuth", "DTPHTTP", "DTPModel", "DTPNeo4j", "DTPPostgres", "DTPRegistryClient", "DTPS3",
                "DTPTestSupport",
                logging, .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/RegistryTests", swiftSettings: swiftSettings),
        .testTarget(
            name: "DTPGatewayTests",
            dependencies: [
                "PortalGateway", "Registry", "DTPAuth", "DTPHTTP", "DTPModel", "DTPPostgres", "DTPServiceKit",
                "DTPTestSupport", logging,
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/GatewayTests", swiftSettings: swiftSettings),
        .target(
            name: "DTPTwinStackTestSupport",
            dependencies: ["DTPMQTT", "DTPInfluxDB", "DTPHTTP", "DTPTestSupport"],
            path: "Tests/TwinStackSupport", swiftSettings: swiftSettings),
        .testTarget(
            name: "DTPTwinStackTests",
            dependencies: [
                "DTPTwinStack", "DTPMQTT", "DTPHTTP", "DTPHTTPNIO", "DTPRegistryClient", "DTPServiceKit", "DTPTestSupport",
                logging,
            ],
            path: "Tests/TwinStackTests", swiftSettings: swiftSettings),
        .testTarget(
            name: "DTPLiftGeneratorTests",
            dependencies: ["LiftGenerator", "DTPModel"] + generatorTestDependencies,
            path: "Tests/LiftGeneratorTests", swiftSettings: swiftSettings),
        .testTarget(
            name: "DTPHVACGeneratorTests",
            dependencies: ["HVACGenerator", "DTPModel"] + generatorTestDependencies,
            path: "Tests/HVACGeneratorTests", swiftSettings: swiftSettings),
        .testTarget(
            name: "DTPDiscoveryTests",
            dependencies: [
                "Discovery", "DTPModel", "DTPHTTP", "DTPPostgres", "DTPServiceKit", "DTPTestSupport", logging,
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/DiscoveryTests", resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
        .testTarget(
            name: "DTPIngestorTests",
            dependencies: [
                "MQTTIngestor", "DTPAuth", "DTPHTTP", "DTPInfluxDB", "DTPModel", "DTPMQTT", "DTPPostgres",
                "DTPTestSupport", logging,
            ],
            path: "Tests/IngestorTests", swiftSettings: swiftSettings),
        .testTarget(
            name: "DTPCtlTests", dependencies: ["DTPTestSupport"],
            path: "Tests/DTPCtlTests", swiftSettings: swiftSettings),
    ]
)

/// What every service executable links; each service issue adds the shared libraries it uses.
var serviceDependencies: [Target.Dependency] {
    ["DTPServiceKit", .product(name: "ArgumentParser", package: "swift-argument-parser")]
}

/// What the two twin generators link on top of the service dependencies.
var twinStackDependencies: [Target.Dependency] {
    [
        "DTPTwinStack", "DTPMQTT", "DTPInfluxDB", "DTPHTTPNIO", "DTPEssentials", logging,
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HTTPTypes", package: "swift-http-types"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
    ]
}

/// What the generators' tests use: the real broker, HTTP calls to the app, and the shared stack.
var generatorTestDependencies: [Target.Dependency] {
    [
        "DTPTwinStack", "DTPMQTT", "DTPHTTP", "DTPInfluxDB", "DTPServiceKit", "DTPTestSupport",
        "DTPTwinStackTestSupport", logging,
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
    ]
}
