import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Hands out TCP ports for servers that tests start.
///
/// Ports in the ephemeral range (32768–60999) collide with the outgoing connections of a busy test
/// run, so test servers take ports from 20000–24999 instead: each process starts at an offset derived
/// from its PID, and a port is handed out only after a bind to it on loopback succeeded.
public enum TestPorts {
    private static let next = Mutex<Int>(20000 + Int(getpid() % 50) * 100)

    /// A port on 127.0.0.1 that nothing listened on a moment ago.
    public static func free() -> Int {
        while true {
            let port = next.withLock { value -> Int in
                let port = value
                value = port >= 24999 ? 20000 : port + 1
                return port
            }
            if canBind(port) { return port }
        }
    }

    /// A port whose next one is free too, both handed out to the caller alone: for servers that take two
    /// (a scratch InfluxDB listens on `port` and its RPC service on `port + 1`).
    public static func freePair() -> Int {
        while true {
            let port = next.withLock { value -> Int in
                let port = value >= 24998 ? 20000 : value
                value = port + 2
                return port
            }
            if canBind(port), canBind(port + 1) { return port }
        }
    }

    private static func canBind(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return bindLoopback(fd, port: port)
    }

    /// Binds socket `fd` to 127.0.0.1:`port` with `SO_REUSEADDR`; false when the port is taken.
    public static func bindLoopback(_ fd: Int32, port: Int) -> Bool {
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return rc == 0
    }
}
