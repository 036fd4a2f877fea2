/// One received message as the spool keeps it: what arrived, and when.
///
/// On disk: `u32 length, u32 crc32, body` (little-endian), the body being `i64 receivedAt (µs since the
/// epoch), u8 qos, u16 topic length, topic, payload`. The checksum finds a record torn by a crash in the
/// middle of its write; such a record was never acknowledged, so the broker sends it again.
struct JournalRecord: Sendable, Equatable {
    /// The topic it was published to.
    var topic: String
    /// The payload as received.
    var payload: [UInt8]
    /// When the ingestor received it, in microseconds since the epoch: the stored time of a payload
    /// without `ts`, and part of its key, so a replay stores the same rows.
    var receivedAt: Int64
    /// The QoS it was delivered with.
    var qos: UInt8

    /// The bytes of the header (length and checksum).
    static let headerSize = 8
    /// The fixed part of the body (time, QoS, topic length).
    static let fixedBodySize = 11

    /// How many bytes ``encode(into:)`` appends.
    var encodedSize: Int { Self.headerSize + Self.fixedBodySize + topicLength + payload.count }

    /// The topic's length in bytes as kept (at most 65,535).
    private var topicLength: Int { min(topic.utf8.count, Int(UInt16.max)) }

    /// The record's bytes, header included, appended to `bytes` (which grows as an array does: callers
    /// appending many records reserve their ``encodedSize`` once, up front).
    func encode(into bytes: inout [UInt8]) {
        let topicLength = self.topicLength
        let bodyLength = Self.fixedBodySize + topicLength + payload.count
        let start = bytes.count
        Self.append(UInt32(bodyLength), to: &bytes)
        Self.append(UInt32(0), to: &bytes)
        Self.append(UInt64(bitPattern: receivedAt), to: &bytes)
        bytes.append(qos)
        Self.append(UInt16(topicLength), to: &bytes)
        bytes.append(contentsOf: topic.utf8.prefix(topicLength))
        bytes.append(contentsOf: payload)
        let crc = bytes.withUnsafeBufferPointer { buffer in
            CRC32.checksum(UnsafeBufferPointer(rebasing: buffer[(start + Self.headerSize)...]))
        }
        for index in 0..<4 { bytes[start + 4 + index] = UInt8(truncatingIfNeeded: crc >> (8 * index)) }
    }

    /// Decodes the record at the start of `bytes`: the record and its total size, nil when `bytes` holds
    /// less than a whole record, or `.corrupt` when the bytes are not a valid record.
    static func decode(_ bytes: UnsafeRawBufferPointer) -> DecodeResult {
        guard bytes.count >= headerSize else { return .incomplete }
        let length = Int(readUInt32(bytes, at: 0))
        guard length >= fixedBodySize, length <= 64 << 20 else { return .corrupt }
        guard bytes.count >= headerSize + length else { return .incomplete }
        let body = UnsafeRawBufferPointer(rebasing: bytes[headerSize..<(headerSize + length)])
        guard CRC32.checksum(body.bindMemory(to: UInt8.self)) == readUInt32(bytes, at: 4) else { return .corrupt }
        let receivedAt = Int64(bitPattern: UInt64(readUInt32(body, at: 0)) | UInt64(readUInt32(body, at: 4)) << 32)
        let qos = body[8]
        let topicLength = Int(body[9]) | Int(body[10]) << 8
        guard fixedBodySize + topicLength <= length else { return .corrupt }
        let topic = String(decoding: body[fixedBodySize..<(fixedBodySize + topicLength)], as: UTF8.self)
        let payload = Array(body[(fixedBodySize + topicLength)...])
        return .record(
            JournalRecord(topic: topic, payload: payload, receivedAt: receivedAt, qos: qos), size: headerSize + length)
    }

    /// What ``decode(_:)`` found.
    enum DecodeResult: Equatable {
        case record(JournalRecord, size: Int)
        case incomplete
        case corrupt
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    private static func readUInt32(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
            | UInt32(bytes[offset + 3]) << 24
    }
}

/// CRC-32 (IEEE 802.3, as zlib computes it), slicing by 8: eight table lookups per 8 bytes instead of one
/// per byte, since every message is checksummed twice (appended, read back).
enum CRC32 {
    /// `tables[k][b]`: the CRC of byte `b` followed by `k` zero bytes.
    private static let tables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 8 * 256)
        for index in 0..<256 {
            var value = UInt32(index)
            for _ in 0..<8 { value = value & 1 != 0 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
            tables[index] = value
        }
        for index in 0..<256 {
            for slice in 1..<8 {
                let previous = tables[(slice - 1) * 256 + index]
                tables[slice * 256 + index] = (previous >> 8) ^ tables[Int(previous & 0xFF)]
            }
        }
        return tables
    }()

    /// The checksum of `bytes`.
    static func checksum(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        tables.withUnsafeBufferPointer { table in
            var index = 0
            let count = bytes.count
            while index + 8 <= count {
                let low =
                    crc ^ (UInt32(bytes[index]) | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2]) << 16
                        | UInt32(bytes[index + 3]) << 24)
                let high =
                    UInt32(bytes[index + 4]) | UInt32(bytes[index + 5]) << 8 | UInt32(bytes[index + 6]) << 16
                    | UInt32(bytes[index + 7]) << 24
                crc =
                    table[7 * 256 + Int(low & 0xFF)] ^ table[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ table[5 * 256 + Int((low >> 16) & 0xFF)] ^ table[4 * 256 + Int(low >> 24)]
                    ^ table[3 * 256 + Int(high & 0xFF)] ^ table[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ table[256 + Int((high >> 16) & 0xFF)] ^ table[Int(high >> 24)]
                index += 8
            }
            while index < count {
                crc = table[Int((crc ^ UInt32(bytes[index])) & 0xFF)] ^ (crc >> 8)
                index += 1
            }
        }
        return crc ^ 0xFFFF_FFFF
    }
}
