import CMosquitto

/// An MQTT failure, carrying libmosquitto's own message for it.
///
/// A struct with a private code rather than an enum, so that new kinds of failure break no caller's
/// exhaustive `switch`. Compare with the static members (`error == .notConnected`) to branch on a kind.
public struct MQTTError: Error, CustomStringConvertible, Equatable, Sendable {
    private enum Code: Equatable, Sendable {
        case library(Int32)
        case connectionRefused(Int32)
        case publishRejected(Int32)
        case subscriptionRejected(Int32)
        case invalidConfiguration
        case alreadyConnected
        case shutDown
    }

    private let code: Code

    /// What went wrong, in libmosquitto's words where it has any.
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Equal when the kind of failure is the same; the message is not compared.
    public static func == (lhs: MQTTError, rhs: MQTTError) -> Bool {
        switch (lhs.code, rhs.code) {
        case (.library(let a), .library(let b)): a == b
        case (.connectionRefused, .connectionRefused), (.publishRejected, .publishRejected),
            (.subscriptionRejected, .subscriptionRejected), (.invalidConfiguration, .invalidConfiguration),
            (.alreadyConnected, .alreadyConnected), (.shutDown, .shutDown):
            true
        default: false
        }
    }

    /// The `MOSQ_ERR_*` status of a failed libmosquitto call, or nil for failures reported by the broker.
    public var libraryStatus: Int32? {
        if case .library(let status) = code { return status }
        return nil
    }

    /// The MQTT reason code the broker answered with (CONNACK, PUBACK/PUBREC or SUBACK), if any.
    public var reasonCode: Int32? {
        switch code {
        case .connectionRefused(let reason), .publishRejected(let reason), .subscriptionRejected(let reason):
            reason
        default: nil
        }
    }

    /// A libmosquitto call returned `status` (a `MOSQ_ERR_*` value); the message is `mosquitto_strerror`'s.
    public static func library(_ status: Int32, _ operation: String) -> MQTTError {
        MQTTError(.library(status), "\(operation): \(String(cString: mosquitto_strerror(status)))")
    }

    /// The client is not connected to the broker.
    public static let notConnected = library(Int32(MOSQ_ERR_NO_CONN.rawValue), "not connected")

    /// The payload is larger than MQTT allows (256 MiB). A broker limit below that shows as
    /// `MOSQ_ERR_OVERSIZE_PACKET` or as the broker's refusal (reason 0x95, "Packet too large").
    public static let payloadTooLarge = library(Int32(MOSQ_ERR_PAYLOAD_SIZE.rawValue), "payload too large")

    /// The broker refused the connection with `reason` (CONNACK reason code).
    public static func connectionRefused(_ reason: Int32) -> MQTTError {
        MQTTError(.connectionRefused(reason), "broker refused the connection: \(reasonString(reason))")
    }

    /// The broker refused a publication with `reason` (PUBACK or PUBREC reason code).
    public static func publishRejected(_ reason: Int32, topic: String) -> MQTTError {
        MQTTError(.publishRejected(reason), "broker rejected a publication to '\(topic)': \(reasonString(reason))")
    }

    /// The broker refused a subscription with `reason` (SUBACK reason code).
    public static func subscriptionRejected(_ reason: Int32, filter: String) -> MQTTError {
        MQTTError(
            .subscriptionRejected(reason), "broker rejected the subscription '\(filter)': \(reasonString(reason))")
    }

    /// A setting cannot be used; `message` says which and why.
    public static func invalidConfiguration(_ message: String) -> MQTTError {
        MQTTError(.invalidConfiguration, message)
    }

    /// `connect()` was called while a connection was up or being made.
    public static let alreadyConnected = MQTTError(.alreadyConnected, "the client is already connected or connecting")

    /// The client was disconnected or released while the operation waited.
    public static let shutDown = MQTTError(.shutDown, "the client was disconnected before the operation completed")

    /// What went wrong.
    public var description: String { "MQTTError: \(message)" }

    static func reasonString(_ reason: Int32) -> String {
        "\(String(cString: mosquitto_reason_string(reason))) (0x\(String(reason, radix: 16)))"
    }
}

/// The one gate every libmosquitto status passes: anything but `MOSQ_ERR_SUCCESS` becomes an ``MQTTError``
/// carrying `mosquitto_strerror`'s text (which, for `MOSQ_ERR_ERRNO`, is the system's message for `errno`,
/// so the status is turned into text at once, before other code can overwrite `errno`).
@discardableResult
func check(_ operation: @autoclosure () -> String, _ status: Int32) throws(MQTTError) -> Int32 {
    guard status != MOSQ_ERR_SUCCESS.rawValue else { return status }
    throw MQTTError.library(status, operation())
}
