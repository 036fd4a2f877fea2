/// The MQTT 5 packets the ingestor's own subscriber connection (``StreamSubscriber``) sends and reads.
enum MQTTWire {
    // Packet types, in the high nibble of the first byte.
    static let connect: UInt8 = 0x10
    static let connack: UInt8 = 0x20
    static let publish: UInt8 = 0x30
    static let puback: UInt8 = 0x40
    static let pubrel: UInt8 = 0x60
    static let subscribe: UInt8 = 0x82
    static let suback: UInt8 = 0x90
    static let unsubscribe: UInt8 = 0xA2
    static let unsuback: UInt8 = 0xB0
    static let pingreq: UInt8 = 0xC0
    static let pingresp: UInt8 = 0xD0
    static let disconnect: UInt8 = 0xE0

    /// How many unacknowledged QoS 1 messages the broker may send at once (CONNECT's Receive Maximum):
    /// enough that the broker never waits for a PUBACK while the stream flows.
    static let receiveMaximum: UInt16 = 1000

    /// CONNECT: MQTT 5, the session, keepalive, Receive Maximum, and the credentials when given.
    static func connectPacket(
        clientID: String, cleanStart: Bool, sessionExpiry: UInt32?, keepalive: UInt16, username: String?,
        password: String?
    ) -> [UInt8] {
        var body: [UInt8] = []
        string("MQTT", into: &body)
        body.append(5)
        var flags: UInt8 = cleanStart ? 0x02 : 0
        if username != nil { flags |= 0x80 }
        if password != nil { flags |= 0x40 }
        body.append(flags)
        uint16(keepalive, into: &body)
        var properties: [UInt8] = []
        if let sessionExpiry {
            properties.append(0x11)
            uint32(sessionExpiry, into: &properties)
        }
        properties.append(0x21)
        uint16(receiveMaximum, into: &properties)
        varint(properties.count, into: &body)
        body += properties
        string(clientID, into: &body)
        if let username { string(username, into: &body) }
        if let password { string(password, into: &body) }
        return packet(connect, body)
    }

    /// SUBSCRIBE of one filter at `qos`.
    static func subscribePacket(id: UInt16, filter: String, qos: UInt8) -> [UInt8] {
        var body: [UInt8] = []
        uint16(id, into: &body)
        body.append(0)  // no properties
        string(filter, into: &body)
        body.append(qos & 0x03)
        return packet(subscribe, body)
    }

    /// UNSUBSCRIBE of one filter.
    static func unsubscribePacket(id: UInt16, filter: String) -> [UInt8] {
        var body: [UInt8] = []
        uint16(id, into: &body)
        body.append(0)
        string(filter, into: &body)
        return packet(unsubscribe, body)
    }

    /// PUBACK with reason Success (which MQTT 5 lets a sender leave out).
    static func appendPuback(id: UInt16, to bytes: inout [UInt8]) {
        bytes.append(puback)
        bytes.append(2)
        uint16(id, into: &bytes)
    }

    static let pingPacket: [UInt8] = [pingreq, 0]
    static let disconnectPacket: [UInt8] = [disconnect, 0]

    /// A packet: its fixed header (type and remaining length) and `body`.
    static func packet(_ type: UInt8, _ body: [UInt8]) -> [UInt8] {
        var bytes = [type]
        varint(body.count, into: &bytes)
        return bytes + body
    }

    static func varint(_ value: Int, into bytes: inout [UInt8]) {
        var rest = value
        repeat {
            var byte = UInt8(rest & 0x7F)
            rest >>= 7
            if rest > 0 { byte |= 0x80 }
            bytes.append(byte)
        } while rest > 0
    }

    static func uint16(_ value: UInt16, into bytes: inout [UInt8]) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(value & 0xFF))
    }

    static func uint32(_ value: UInt32, into bytes: inout [UInt8]) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8((value >> UInt32(shift)) & 0xFF)) }
    }

    static func string(_ text: String, into bytes: inout [UInt8]) {
        let utf8 = Array(text.utf8.prefix(Int(UInt16.max)))
        uint16(UInt16(utf8.count), into: &bytes)
        bytes += utf8
    }

    /// The fixed header at the start of `bytes`: type byte, remaining length and header size; nil while
    /// incomplete, and `.malformed` for a length over four bytes.
    static func header(_ bytes: UnsafeRawBufferPointer) -> Header? {
        guard bytes.count >= 2 else { return nil }
        var length = 0
        var shift = 0
        var index = 1
        while true {
            guard index < bytes.count else { return nil }
            let byte = bytes[index]
            length |= Int(byte & 0x7F) << shift
            index += 1
            if byte & 0x80 == 0 { break }
            shift += 7
            if shift > 21 { return Header(type: bytes[0], length: 0, size: 0, malformed: true) }
        }
        return Header(type: bytes[0], length: length, size: index, malformed: false)
    }

    struct Header {
        var type: UInt8
        /// The remaining length: the bytes after the fixed header.
        var length: Int
        /// The fixed header's size.
        var size: Int
        var malformed: Bool
    }

    /// Reads a variable byte integer at `index`, advancing it; nil when malformed or cut.
    static func readVarint(_ bytes: UnsafeRawBufferPointer, _ index: inout Int) -> Int? {
        var value = 0
        var shift = 0
        while index < bytes.count, shift <= 21 {
            let byte = bytes[index]
            index += 1
            value |= Int(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        return nil
    }
}
