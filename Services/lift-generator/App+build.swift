import DTPMQTT
import DTPServiceKit
import DTPTwinStack
import Foundation
import Hummingbird
import Logging

/// The Lift application for `configuration`: the same one the executable runs and the tests drive.
func buildApplication(configuration: LiftConfiguration) throws -> some ApplicationProtocol {
    let logger = ServiceLogging.bootstrap(service: "lift", level: configuration.service.logLevel)
    return buildApplication(stack: try LiftStack(configuration: configuration, logger: logger))
}

/// The application around an existing `stack`, so tests can look inside it.
func buildApplication(stack: LiftStack) -> some ApplicationProtocol {
    let settings = stack.configuration.service
    let publisher = stack.publisher
    let readiness = [
        ReadinessCheck("mqtt") {
            guard publisher.client.isConnected else { throw NotConnected() }
        }
    ]
    let router = ServiceApplication.router(settings: settings, readiness: readiness)
    LiftController(stack: stack).addRoutes(to: router)
    return ServiceApplication.application(
        settings: settings, router: router, services: stack.services, logger: stack.logger)
}

/// `/readyz`'s answer while the broker is away.
struct NotConnected: Error, CustomStringConvertible {
    var description: String { "not connected to the MQTT broker" }
}
