/// One dependency that `/readyz` asks before it says a service is ready.
public struct ReadinessCheck: Sendable {
    /// The dependency's name in the `/readyz` answer, such as `postgres`.
    public let name: String
    /// Returns when the dependency answers; throws (with a message for operators) when it does not.
    public let check: @Sendable () async throws -> Void

    /// A check named `name`.
    public init(_ name: String, check: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.check = check
    }
}
