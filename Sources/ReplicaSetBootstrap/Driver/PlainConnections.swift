import Dispatch
import Glibc
import MongoBSON
import NIOConcurrencyHelpers

/// The connections of nodes reached without TLS, as plain TCP sockets all served by one thread
/// that polls them: every node's monitor (its awaitable `hello`), and, when no credentials are
/// given, its command connection too.
///
/// libmongoc serves a call on a thread blocked until the reply, and an awaitable hello waits up
/// to maxAwaitTimeMS: a thread, its stack and a libmongoc client per connection, most of what
/// each member added to the tool's memory. What needs neither TLS nor authentication needs no
/// handshake either, so these connections speak OP_MSG themselves (`OpMsg`), and each reply is
/// checked like one libmongoc hands over. With TLS or credentials, libmongoc keeps the
/// connections that need them (`NodeConnections`).
final class PlainConnections: Sendable {
    /// Which of a node's two connections.
    enum Role: Hashable, Sendable {
        case monitor
        case command
    }

    fileprivate struct Key: Hashable {
        let host: HostAddress
        let role: Role
    }

    private let connectTimeout: Duration
    private let state = NIOLockedValueBox(State())
    /// A pipe that wakes the polling thread for a new call, a cancellation or the close.
    private let wakeUp: Int32
    private let wakeUpWriter: Int32
    private let finished = DispatchSemaphore(value: 0)

    init(connectTimeout: Duration) {
        self.connectTimeout = connectTimeout
        var ends: [Int32] = [-1, -1]
        precondition(pipe(&ends) == 0, "pipe: \(errno)")
        for end in ends {
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        (wakeUp, wakeUpWriter) = (ends[0], ends[1])
    }

    deinit {
        Glibc.close(wakeUp)
        Glibc.close(wakeUpWriter)
    }

    /// What a call ends with: the reply (`ok: 1`), or an error, the node's error reply included.
    /// Called once, on the polling thread (or the caller's, for a call refused at once).
    typealias Completion = @Sendable (Result<UnreadReply, MongoError>) -> Void

    /// Identifies a call, for `cancel`.
    struct Call: Hashable, Sendable {
        fileprivate let key: Key
        fileprivate let token: UInt64
    }

    /// Whether the node's socket for `role` is connected: a call then needs no addresses.
    func isConnected(_ host: HostAddress, on role: Role) -> Bool {
        let key = Key(host: host, role: role)
        return state.withLockedValue { state in state.indices[key].map { state.sockets[$0].descriptor >= 0 } ?? false }
    }

    /// Sends `document` (a command on the admin database, without `$db`) on the node's socket for
    /// `role`; `completion` gets the reply. No task waits for it: the polling thread calls back.
    /// A socket that is not connected is connected first, to `addresses`; a network error or an
    /// unreadable reply closes it. `firstReplyTimeout`: the reply on a connection this call opened
    /// waits at most this (libmongoc's handshake waits connectTimeoutMS for its hello).
    @discardableResult
    func start(_ document: BSONDocument, to host: HostAddress, on role: Role, socketTimeout: Duration,
               firstReplyTimeout: Duration? = nil, addresses: [SocketAddress], completion: @escaping Completion) -> Call {
        let command = document.firstKey
        var body = document
        body["$db"] = "admin"
        let bytes = body.bytes
        let key = Key(host: host, role: role)
        let done: @Sendable (Result<[UInt8], MongoError>) -> Void = { [self] answer in
            completion(Result { () throws(MongoError) -> UnreadReply in
                do throws(MongoError) {
                    return try read(answer.get(), from: host, command: command)
                } catch where error.kind != .client {
                    var error = error
                    error.command = command
                    throw error
                }
            })
        }
        let (call, refused, abandoned) = state.withLockedValue { state -> (Call, MongoError?, Exchange?) in
            state.nextToken += 1
            let call = Call(key: key, token: state.nextToken)
            guard !state.closing else { return (call, MongoError(.client, host: host, message: "closed"), nil) }
            let index = state.index(of: key)
            // One exchange per connection: an earlier one still under way was given up by its
            // caller (a cancelled wait), and what it left on the socket is unknown.
            let abandoned = state.sockets[index].call
            if abandoned != nil {
                state.sockets[index].call = nil
                Self.closeDescriptor(&state.sockets[index])
            }
            state.nextRequestID &+= 1
            state.sockets[index].call = Exchange(token: call.token, completion: done, message: OpMsg.request(bytes, requestID: state.nextRequestID),
                                                 requestID: state.nextRequestID, socketTimeout: socketTimeout,
                                                 firstReplyTimeout: firstReplyTimeout, addresses: addresses)
            if !state.started {
                state.started = true
                DispatchQueue(label: "mongo-rs-bootstrap.plain-connections").async { self.run() }
            }
            return (call, nil, abandoned)
        }
        abandoned?.completion(.failure(MongoError(.client, host: host, message: "cancelled")))
        if let refused { completion(.failure(refused)) } else { signal() }
        return call
    }

    /// Ends `call` with "cancelled" if it is still under way, and drops its connection (what was
    /// under way on it leaves it unusable).
    func cancel(_ call: Call) {
        let cancelled = state.withLockedValue { state -> Exchange? in
            guard let index = state.indices[call.key], let exchange = state.sockets[index].call, exchange.token == call.token else { return nil }
            state.sockets[index].call = nil
            Self.closeDescriptor(&state.sockets[index])
            return exchange
        }
        if let cancelled {
            cancelled.completion(.failure(MongoError(.client, host: call.key.host, message: "cancelled")))
            signal()
        }
    }

    /// Ends every call with an error, closes every socket and stops the thread. True when the
    /// thread is gone within `limit` (it never blocks but in `poll`, which the close wakes).
    func close(within limit: Duration) -> Bool {
        let running = state.withLockedValue { state -> Bool in
            state.closing = true
            return state.started
        }
        guard running else { return true }
        signal()
        return finished.wait(timeout: .now() + .milliseconds(Int(limit.wholeMilliseconds))) == .success
    }

    // MARK: - The reply

    /// The reply's document, checked by libbson; a node's error reply (`ok: 0`) becomes its error.
    private func read(_ body: [UInt8], from host: HostAddress, command: String?) throws(MongoError) -> UnreadReply {
        let buffer: BSONBuffer
        do {
            buffer = try BSONBuffer(copyingReply: body)
        } catch {
            throw MongoError(.invalidReply, host: host, message: "the reply is not usable: \(error.description.printable())", command: command)
        }
        let reply = UnreadReply(buffer: buffer, host: host, command: command)
        if let error = try reply.serverError() { throw error }
        return reply
    }

    // MARK: - The polling thread

    private struct State {
        /// One per node ever asked, by index: the polling thread's passes touch no hash table.
        var sockets: [NodeSocket] = []
        var indices: [Key: Int] = [:]
        var started = false
        var closing = false
        var nextToken: UInt64 = 0
        var nextRequestID: Int32 = 0

        mutating func index(of key: Key) -> Int {
            if let index = indices[key] { return index }
            sockets.append(NodeSocket(host: key.host))
            indices[key] = sockets.count - 1
            return sockets.count - 1
        }
    }

    private struct NodeSocket {
        let host: HostAddress
        var descriptor: Int32 = -1
        var call: Exchange?
    }

    /// One request and its reply, under way on a socket.
    private struct Exchange {
        enum Phase {
            /// Not yet begun by the polling thread.
            case queued
            case connecting
            case sending
            case receiving
        }

        let token: UInt64
        let completion: @Sendable (Result<[UInt8], MongoError>) -> Void
        let message: [UInt8]
        let requestID: Int32
        let socketTimeout: Duration
        /// See `start`; applies once this exchange has connected the socket itself.
        let firstReplyTimeout: Duration?
        /// Left to try, in getaddrinfo's order, as libmongoc tries them.
        var addresses: [SocketAddress]
        var phase = Phase.queued
        var deadline = ContinuousClock.now
        var written = 0
        var received: [UInt8] = []
        /// Why the last address failed, for when none is left.
        var lastConnectError: Int32 = 0
        var connectedHere = false

        /// How long the reply may take once the socket is connected.
        var replyTimeout: Duration {
            guard connectedHere, let firstReplyTimeout else { return socketTimeout }
            return min(firstReplyTimeout, socketTimeout)
        }
    }

    private typealias Ended = (@Sendable (Result<[UInt8], MongoError>) -> Void, Result<[UInt8], MongoError>)

    private func signal() {
        var one: UInt8 = 1
        _ = Glibc.write(wakeUpWriter, &one, 1)
    }

    private func run() {
        var polled: [pollfd] = []
        var polledSockets: [Int] = []
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 16 * 1024, alignment: 8)
        defer { scratch.deallocate() }
        while true {
            let (completions, timeout, closed) = state.withLockedValue { state in
                step(&state, polled: polled, sockets: polledSockets, scratch: scratch)
            }
            for (completion, result) in completions { completion(result) }
            if closed { break }
            state.withLockedValue { state in
                // The wake-up pipe first, then every open socket. An idle socket is polled for
                // input too: a node that closes it, or sends what was not asked for, loses it.
                polled.removeAll(keepingCapacity: true)
                polledSockets.removeAll(keepingCapacity: true)
                polled.append(pollfd(fd: wakeUp, events: Int16(POLLIN), revents: 0))
                for index in state.sockets.indices where state.sockets[index].descriptor >= 0 {
                    let socket = state.sockets[index]
                    let events = socket.call?.phase == .connecting || socket.call?.phase == .sending ? POLLOUT : POLLIN
                    polled.append(pollfd(fd: socket.descriptor, events: Int16(events), revents: 0))
                    polledSockets.append(index)
                }
            }
            _ = poll(&polled, nfds_t(polled.count), timeout)
        }
        finished.signal()
    }

    /// One pass after a poll: begins new calls, moves the others on as far as their sockets
    /// allow without blocking, ends what is done or past its deadline. Returns the calls ended,
    /// the poll timeout until the next deadline, and whether the thread stops.
    private func step(_ state: inout State, polled: [pollfd], sockets polledSockets: [Int],
                      scratch: UnsafeMutableRawBufferPointer) -> ([Ended], Int32, Bool) {
        var drained: UInt64 = 0
        while Glibc.read(wakeUp, &drained, 8) > 0 {}
        var completions: [Ended] = []
        if state.closing {
            for index in state.sockets.indices {
                if let call = state.sockets[index].call {
                    completions.append((call.completion, .failure(MongoError(.client, host: state.sockets[index].host, message: "closed"))))
                }
                state.sockets[index].call = nil
                Self.closeDescriptor(&state.sockets[index])
            }
            return (completions, 0, true)
        }
        var events = [Int16](repeating: 0, count: state.sockets.count)
        // Only for the socket polled: one closed since (a cancelled call) may have a successor.
        for (position, index) in polledSockets.enumerated() where polled[position + 1].fd == state.sockets[index].descriptor {
            events[index] = polled[position + 1].revents
        }
        let now = ContinuousClock.now
        var nextDeadline: ContinuousClock.Instant?
        for index in state.sockets.indices {
            guard state.sockets[index].call != nil else {
                if events[index] != 0 { Self.closeDescriptor(&state.sockets[index]) }
                continue
            }
            if let outcome = advance(&state.sockets[index], events: events[index], now: now, scratch: scratch) {
                completions.append((state.sockets[index].call!.completion, outcome))
                state.sockets[index].call = nil
                if case .failure = outcome { Self.closeDescriptor(&state.sockets[index]) }
            } else if let deadline = state.sockets[index].call?.deadline {
                nextDeadline = min(nextDeadline ?? deadline, deadline)
            }
        }
        let timeout = nextDeadline.map { Int32(clamping: max(0, now.duration(to: $0).wholeMilliseconds + 1)) } ?? -1
        return (completions, timeout, false)
    }

    /// Moves one socket's call on, each phase as soon as the previous one ends; the result once
    /// the call is done (the caller closes the socket after a failure).
    private func advance(_ socket: inout NodeSocket, events: Int16, now: ContinuousClock.Instant,
                         scratch: UnsafeMutableRawBufferPointer) -> Result<[UInt8], MongoError>? {
        let host = socket.host
        var call = socket.call!
        defer { socket.call = call }
        var ready = events != 0
        if call.phase == .queued {
            ready = true
            if socket.descriptor >= 0 {
                call.phase = .sending
                call.deadline = now + call.socketTimeout
            } else if let failure = connectNext(&socket, &call, now: now) {
                return .failure(failure)
            }
        } else if call.phase == .connecting, ready {
            var failure: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(socket.descriptor, SOL_SOCKET, SO_ERROR, &failure, &length)
            if failure == 0 {
                call.phase = .sending
                call.deadline = now + call.replyTimeout
            } else {
                call.lastConnectError = failure
                Self.closeDescriptor(&socket)
                if let failure = connectNext(&socket, &call, now: now) { return .failure(failure) }
            }
        }
        if call.phase == .sending, ready {
            while call.written < call.message.count {
                let sent = call.message[call.written...].withUnsafeBytes {
                    Glibc.send(socket.descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                }
                if sent > 0 { call.written += sent; continue }
                if sent < 0 && (errno == EAGAIN || errno == EINTR) { ready = false; break }
                return .failure(Self.networkError(errno, host: host, while: "sending"))
            }
            if call.written == call.message.count { call.phase = .receiving }
        }
        if call.phase == .receiving, ready, let result = receive(&socket, &call, scratch: scratch) {
            return result
        }
        if now >= call.deadline {
            guard call.phase == .connecting else { return .failure(MongoError(.networkFailure, host: host, message: "socket timeout")) }
            // As libmongoc: the next address, if any.
            call.lastConnectError = ETIMEDOUT
            Self.closeDescriptor(&socket)
            if let failure = connectNext(&socket, &call, now: now) { return .failure(failure) }
        }
        return nil
    }

    /// Starts connecting to the next address left; an error once none is left.
    private func connectNext(_ socket: inout NodeSocket, _ call: inout Exchange, now: ContinuousClock.Instant) -> MongoError? {
        if call.addresses.isEmpty && call.lastConnectError == 0 {
            // Connected when the call was made (a name, not looked up again), closed by the node
            // before it was sent.
            return MongoError(.networkFailure, host: socket.host, message: "Server closed connection.")
        }
        while !call.addresses.isEmpty {
            let address = call.addresses.removeFirst()
            let descriptor = Glibc.socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard descriptor >= 0 else {
                // An address family this host lacks (IPv6 disabled): the next address, as libmongoc.
                call.lastConnectError = errno
                continue
            }
            // As libmongoc: no Nagle delay on a request-reply protocol.
            var on: Int32 = 1
            setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
            socket.descriptor = descriptor
            let started = address.withSockaddr { connect(descriptor, $0, $1) } == 0 ? 0 : errno
            if started == 0 || started == EINPROGRESS {
                call.connectedHere = true
                call.phase = started == 0 ? .sending : .connecting
                call.deadline = now + (started == 0 ? call.replyTimeout : connectTimeout)
                return nil
            }
            call.lastConnectError = started
            Self.closeDescriptor(&socket)
        }
        return Self.networkError(call.lastConnectError, host: socket.host, while: "connecting")
    }

    /// Reads what has arrived; the body once the whole reply is in.
    private func receive(_ socket: inout NodeSocket, _ call: inout Exchange, scratch: UnsafeMutableRawBufferPointer) -> Result<[UInt8], MongoError>? {
        let host = socket.host
        while true {
            // The length first, then never past the announced end: what follows is not this reply's.
            var wanted = 4 - call.received.count
            do throws(OpMsg.ReadError) {
                if call.received.count >= 4 {
                    wanted = min(scratch.count, try OpMsg.announcedLength(call.received[...]) - call.received.count)
                }
                if wanted == 0 { return .success(try OpMsg.replyBody(call.received, answering: call.requestID)) }
            } catch {
                return .failure(MongoError(.unexpectedReply, host: host, message: "not a MongoDB reply: \(error)"))
            }
            let count = recv(socket.descriptor, scratch.baseAddress, wanted, 0)
            if count > 0 {
                call.received.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[..<count]))
            } else if count == 0 {
                // libmongoc's words, which a mongod requiring TLS makes a plain client see.
                return .failure(MongoError(.networkFailure, host: host, message: "Server closed connection."))
            } else if errno == EAGAIN || errno == EINTR {
                return nil
            } else {
                return .failure(Self.networkError(errno, host: host, while: "receiving"))
            }
        }
    }

    private static func closeDescriptor(_ socket: inout NodeSocket) {
        if socket.descriptor >= 0 { Glibc.close(socket.descriptor) }
        socket.descriptor = -1
    }

    private static func networkError(_ code: Int32, host: HostAddress, while doing: String) -> MongoError {
        switch code {
        case ECONNREFUSED: return MongoError(.connectionRefused, host: host, message: "connection refused")
        case ETIMEDOUT: return MongoError(.networkFailure, host: host, message: "connection timeout")
        default: return MongoError(.networkFailure, host: host, message: "\(doing): \(String(cString: strerror(code)))")
        }
    }
}

/// One address a node's name resolved to, as `connect` takes it.
struct SocketAddress: @unchecked Sendable {
    let family: Int32
    private let storage: sockaddr_storage
    private let length: socklen_t

    /// The addresses of `host`, in getaddrinfo's order; a name is looked up, which blocks.
    static func resolve(_ host: HostAddress) -> Result<[SocketAddress], MongoError> {
        guard let addresses = addresses(of: host, flags: 0) else {
            // As libmongoc's failure reads (MongoError's `networkCause`).
            return .failure(MongoError(.nameNotResolved, host: host, message: "name does not resolve (DNS has no address for \(host.host) yet)"))
        }
        return .success(addresses)
    }

    /// The addresses of `host` when it is an IP address, nil for a name: nothing is looked up,
    /// and the call never blocks.
    static func numeric(_ host: HostAddress) -> [SocketAddress]? {
        addresses(of: host, flags: AI_NUMERICHOST)
    }

    private static func addresses(of host: HostAddress, flags: Int32) -> [SocketAddress]? {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = flags
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host.host, String(host.port), &hints, &found) == 0, let first = found else { return nil }
        defer { freeaddrinfo(first) }
        var addresses: [SocketAddress] = []
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry?.pointee {
            var storage = sockaddr_storage()
            let length = min(Int(current.ai_addrlen), MemoryLayout<sockaddr_storage>.size)
            withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: current.ai_addr, count: length)) }
            addresses.append(SocketAddress(family: current.ai_family, storage: storage, length: socklen_t(length)))
            entry = current.ai_next
        }
        return addresses
    }

    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafeBytes(of: storage) { body($0.baseAddress!.assumingMemoryBound(to: sockaddr.self), length) }
    }
}
