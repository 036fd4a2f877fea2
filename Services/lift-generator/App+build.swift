import DTPServiceKit
import DTPTwinStack
import Hummingbird
import Logging

/// The Lift application for `configuration`: the same one the executable runs and the tests drive.
func buildApplication(configuration: LiftConfiguration) throws -> some ApplicationProtocol {
    let logger = ServiceLogging.bootstrap(service: "lift", level: configuration.service.logLevel)
    return buildApplication(stack: try LiftStack(configuration: configuration, logger: logger))
}

/// The application around an existing `stack`, so tests can look inside it.
func buildApplication(stack: LiftStack) -> some ApplicationProtocol {
    TwinStackApplication.make(
        settings: stack.configuration.service, publisher: stack.publisher, services: stack.services,
        logger: stack.logger
    ) { router in
        LiftController(stack: stack).addRoutes(to: router)
    }
}
