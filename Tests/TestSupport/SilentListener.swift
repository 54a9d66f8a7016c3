import Foundation

/// A TCP listener on loopback that never accepts: after a run, its backlog tells whether the
/// tool connected at all.
public final class SilentListener: @unchecked Sendable {
    public let port: UInt16
    private let socketDescriptor: Int32
    /// The connection that fills an unresponsive listener's backlog.
    private var filler: Int32 = -1

    /// Listens on `port` of 127.0.0.1, or on a free port when 0.
    public convenience init(port requested: UInt16 = 0) throws {
        try self.init(port: requested, backlog: 16)
    }

    /// A listener that neither accepts nor refuses, as a host that does not answer: its backlog
    /// (0) is full with one connection it never accepts, so the kernel drops every further SYN
    /// and a connect to it runs into its timeout.
    public static func unresponsive() throws -> SilentListener {
        let listener = try SilentListener(port: 0, backlog: 0)
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = listener.port.bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { close(client); throw POSIXError(.ECONNREFUSED) }
        listener.filler = client
        return listener
    }

    private init(port requested: UInt16, backlog: Int32) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var reuse: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = requested.bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, backlog) == 0 else { close(fd); throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = UInt16(bigEndian: address.sin_port)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        socketDescriptor = fd
    }

    public var address: String { "127.0.0.1:\(port)" }

    /// Whether any connection reached the backlog.
    public var wasContacted: Bool {
        let connection = accept(socketDescriptor, nil, nil)
        if connection >= 0 {
            close(connection)
            return true
        }
        return false
    }

    deinit {
        if filler >= 0 { close(filler) }
        close(socketDescriptor)
    }

    /// A port on 127.0.0.1 that nothing listens on (bound, then released), so connecting to it is
    /// refused.
    public static func closedPort() throws -> UInt16 {
        try SilentListener().port
    }
}
