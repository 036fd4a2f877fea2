import DTPServiceKit
import DTPTwinStack
import Hummingbird
import Logging

/// The Energy & HVAC application for `configuration`: the same one the executable runs and the tests drive.
func buildApplication(configuration: HVACConfiguration) throws -> some ApplicationProtocol {
    let logger = ServiceLogging.bootstrap(service: "hvac", level: configuration.service.logLevel)
    return buildApplication(stack: try HVACStack(configuration: configuration, logger: logger))
}

/// The application around an existing `stack`, so tests can look inside it.
func buildApplication(stack: HVACStack) -> some ApplicationProtocol {
    TwinStackApplication.make(
        settings: stack.configuration.service, publisher: stack.publisher, services: stack.services,
        logger: stack.logger
    ) { router in
        HVACController(stack: stack).addRoutes(to: router)
    }
}
