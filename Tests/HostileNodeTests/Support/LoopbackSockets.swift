import Foundation
import Synchronization

/// Blocking TCP on loopback for the hostile nodes: each connection gets a thread of its own, so
/// a node can trickle, stall or hang up exactly when a case says. Reads poll with a short timeout
/// and give up once the node is stopped, so nothing outlives a test.
enum LoopbackSockets {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// A random loopback address for one hostile node, away from 127.0.0.1 (`SilentListener`, a
    /// real mongod) and from the attacker addresses (127.9.x.x). The simulator picks random
    /// 127.a.b blocks too, but on port 27017: nodes here listen on an ephemeral port, so the two
    /// cannot collide.
    static func randomAddress() -> String {
        "127.\(Int.random(in: 100...199)).\(Int.random(in: 0...255)).\(Int.random(in: 1...254))"
    }

    /// A listening socket on `address:port` (an ephemeral port when 0); returns it and its port.
    static func listen(address: String, port: UInt16) throws -> (Int32, UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket(): errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var socketAddress = try inetAddress(address, port: port)
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 128) == 0 else {
            let code = errno
            close(fd)
            throw Failure(description: "cannot listen on \(address):\(port): errno \(code)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, UInt16(bigEndian: socketAddress.sin_port))
    }

    static func connect(address: String, port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket(): errno \(errno)") }
        var socketAddress = try inetAddress(address, port: port)
        let connected = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let code = errno
            close(fd)
            throw Failure(description: "cannot connect to \(address):\(port): errno \(code)")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return fd
    }

    private static func inetAddress(_ address: String, port: UInt16) throws -> sockaddr_in {
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = port.bigEndian
        guard inet_pton(AF_INET, address, &socketAddress.sin_addr) == 1 else { throw Failure(description: "not an IPv4 address: \(address)") }
        return socketAddress
    }

    /// Waits until `fd` is readable (true), or `stopped` is set or the peer is gone (false).
    static func waitReadable(_ fd: Int32, stopped: borrowing Atomic<Bool>) -> Bool {
        while !stopped.load(ordering: .relaxed) {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 50)
            if ready > 0 { return true }
            if ready < 0 && errno != EINTR { return false }
        }
        return false
    }

    /// Exactly `count` bytes, or nil at end of stream, on error or once stopped.
    static func read(_ fd: Int32, count: Int, stopped: borrowing Atomic<Bool>) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            guard waitReadable(fd, stopped: stopped) else { return nil }
            let received = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + filled, count - filled, 0) }
            if received == 0 { return nil }
            if received < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return nil
            }
            filled += received
        }
        return buffer
    }

    /// One whole message (header included); nil when the stream ends or the length is one no
    /// mongod peer would send.
    static func readMessage(_ fd: Int32, stopped: borrowing Atomic<Bool>) -> [UInt8]? {
        guard let prefix = read(fd, count: 4, stopped: stopped), let length = Wire.int32(prefix, at: 0),
              length >= Int32(Wire.headerSize), length <= Int32(Wire.maxMessageSize),
              let rest = read(fd, count: Int(length) - 4, stopped: stopped) else { return nil }
        return prefix + rest
    }

    /// Writes every byte (MSG_NOSIGNAL: a peer that hung up must not kill the test process).
    @discardableResult
    static func send(_ fd: Int32, _ bytes: some Collection<UInt8>) -> Bool {
        let array = Array(bytes)
        var sent = 0
        while sent < array.count {
            let written = array.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, array.count - sent, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return false
            }
            sent += written
        }
        return true
    }

    /// Sleeps up to `duration`, in short steps; false when `stopped` was set meanwhile.
    static func sleep(_ duration: Duration, stopped: borrowing Atomic<Bool>) -> Bool {
        let deadline = ContinuousClock.now + duration
        while ContinuousClock.now < deadline {
            if stopped.load(ordering: .relaxed) { return false }
            let left = ContinuousClock.now.duration(to: deadline)
            let step = min(left, .milliseconds(5))
            usleep(UInt32(max(step.components.attoseconds / 1_000_000_000_000, 1)))
        }
        return !stopped.load(ordering: .relaxed)
    }
}

/// The sockets of one server: the listener and every accepted connection, so `stop()` can wake
/// and end every thread.
final class SocketRegistry: Sendable {
    let stopped = Atomic<Bool>(false)
    private let open = Mutex<Set<Int32>>([])
    private let threads = DispatchGroup()

    func add(_ fd: Int32) { open.withLock { _ = $0.insert(fd) } }

    /// Closes `fd` (once) and forgets it.
    func close(_ fd: Int32) {
        let wasOpen = open.withLock { $0.remove(fd) != nil }
        if wasOpen { Glibc.close(fd) }
    }

    /// Runs `body` on a thread of its own, counted so `stop()` can wait for it.
    func spawn(_ body: @escaping @Sendable () -> Void) {
        threads.enter()
        let thread = Thread { [threads] in
            body()
            threads.leave()
        }
        thread.start()
    }

    /// Stops accepting and reading, wakes every blocked call, and waits (up to 5 s) for the
    /// threads to end.
    func stop() {
        stopped.store(true, ordering: .relaxed)
        for fd in open.withLock({ Array($0) }) { shutdown(fd, Int32(SHUT_RDWR)) }
        _ = threads.wait(timeout: .now() + 5)
        for fd in open.withLock({ Array($0) }) { close(fd) }
    }
}
