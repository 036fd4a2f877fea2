import CZlib

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// gzip compression of write bodies through zlib.
enum Gzip {
    /// `data` as one gzip member (RFC 1952), at zlib's fast level: line protocol compresses well even then,
    /// and the writer should not spend more CPU than the network it saves.
    static func compress(_ data: Data, level: Int32 = 1) throws(InfluxDBError) -> Data {
        var stream = z_stream()
        // windowBits 15 + 16 asks deflate for a gzip header and trailer instead of a zlib one.
        try check(
            deflateInit2_(
                &stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                Int32(MemoryLayout<z_stream>.size)), &stream, "deflateInit2")
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(data.count))) + 32
        var output = Data(count: bound)
        let status: Int32 = data.withUnsafeBytes { input in
            output.withUnsafeMutableBytes { out in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(input.count)
                stream.next_out = out.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(out.count)
                // deflateBound guarantees room for everything in one call.
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else {
            try check(status == Z_OK ? Z_BUF_ERROR : status, &stream, "deflate")
            return Data()
        }
        let written = Int(stream.total_out)
        output.count = written
        return output
    }

    /// The one gate for zlib calls: a status other than Z_OK becomes an error with zlib's message.
    private static func check(_ status: Int32, _ stream: inout z_stream, _ what: String) throws(InfluxDBError) {
        guard status != Z_OK else { return }
        let text = stream.msg.map { String(cString: $0) } ?? String(cString: zError(status))
        throw InfluxDBError.compression.with(message: "gzip \(what) failed: \(text) (zlib \(status))")
    }
}
