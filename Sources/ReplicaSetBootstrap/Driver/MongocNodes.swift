import Dispatch
import MongoBSON
import NIOConcurrencyHelpers

/// The nodes: per node a monitor connection (awaitable hello) and a command connection, each made
/// on first use and dropped after a network error. Without TLS the monitor is a plain socket of
/// `PlainConnections`, all served by one thread, and so is the command connection when no
/// credentials are given; otherwise a connection is a libmongoc client. libmongoc blocks, so
/// each client's calls run on a serial dispatch queue of its own, never on the Swift concurrency
/// pool; libdispatch adds threads as calls block, so members found in a config mid-run are
/// served like the listed ones. A cancelled caller returns at once; a blocked call ends on its own.
public final class MongocNodes: ReplicaSetNodes {
    private let options: ConnectionOptions
    private let maxAwaitTime: Duration
    private let connections = NIOLockedValueBox<[HostAddress: NodeConnections]>([:])
    /// Shared by all nodes: they answer with the same config.
    private let configs = ValidatedConfigs()
    /// nil with TLS, whose handshake stays libmongoc's.
    private let plain: PlainConnections?

    public init(hosts: [HostAddress], options: ConnectionOptions, maxAwaitTime: Duration) {
        self.options = options
        self.maxAwaitTime = maxAwaitTime
        plain = options.tls == nil ? PlainConnections(connectTimeout: options.connectTimeout) : nil
        for host in hosts { _ = connections(to: host) }
    }

    deinit {
        // Stops the polling thread of a run that did not close (a test's).
        _ = plain?.close(within: .zero)
    }

    public func run(_ command: NodeCommand, on host: HostAddress) async throws(MongoError) -> CommandReply {
        let node = connections(to: host)
        // Built and read here, not on the blocked call's thread: what that allocates and frees
        // stays with the few threads of the Swift pool instead of being cached by each blocking
        // thread, and their stacks hold only libmongoc's part.
        let request = node.request(for: command)
        if let plain = plain(for: command) {
            return try node.read(await node.call(request, through: plain), answering: command)
        }
        let queue = command.usesMonitorConnection ? node.monitorQueue : node.commandQueue
        let cancelled = Result<UnreadReply, MongoError>.failure(MongoError(.client, host: host, message: "cancelled"))
        let answer = await queue.blockingCall(cancelled: cancelled) {
            Result { () throws(MongoError) in try node.send(request) }
        }
        return try node.read(answer.get(), answering: command)
    }

    public func start(_ command: NodeCommand, on host: HostAddress,
                      completion: @escaping @Sendable (Result<CommandReply, MongoError>) -> Void) -> Bool {
        guard let plain = plain(for: command) else { return false }
        let node = connections(to: host)
        node.start(node.request(for: command), through: plain) { answer in
            completion(Result { () throws(MongoError) -> CommandReply in try node.read(answer.get(), answering: command) })
        }
        return true
    }

    /// Messages a new connection costs before its first command (`ConnectionOptions.messagesPerConnection`).
    public func messagesPerConnection(monitor: Bool) -> Int {
        options.messagesPerConnection(monitor: monitor)
    }

    /// The plain connections when they serve `command`: authentication stays libmongoc's, and
    /// the monitor's hellos go without it.
    private func plain(for command: NodeCommand) -> PlainConnections? {
        options.usesPlainConnection(monitor: command.usesMonitorConnection) ? plain : nil
    }

    /// Refuses new clients, calls `interrupt` (which may shut the sockets of blocked calls
    /// down), and destroys every client once the call it serves has returned. `interrupt` is
    /// called again every 50 ms: a call that was opening its connection at the first one gets
    /// its socket only after it. True when all are gone within `limit`; false when a call is
    /// still blocked in libmongoc (then the process must end without libmongoc's cleanup, which
    /// would free what that call uses).
    public func close(within limit: Duration, interrupting interrupt: () -> Void = {}) -> Bool {
        let nodes = connections.withLockedValue { Array($0.values) }
        for node in nodes { node.refuseNewClients() }
        let deadline = ContinuousClock.now + limit
        guard plain?.close(within: limit) ?? true else { return false }
        let group = DispatchGroup()
        for node in nodes { node.close(in: group) }
        repeat {
            interrupt()
            if group.wait(timeout: .now() + .milliseconds(50)) == .success { return true }
        } while ContinuousClock.now < deadline
        return false
    }

    private func connections(to host: HostAddress) -> NodeConnections {
        connections.withLockedValue { connections in
            if let existing = connections[host] { return existing }
            let created = NodeConnections(host: host, options: options, maxAwaitTime: maxAwaitTime, configs: configs)
            connections[host] = created
            return created
        }
    }
}

/// The two clients of one node. Each slot is used by one call at a time (the state machine keeps
/// at most one command in flight per connection); the locks make that safe regardless.
final class NodeConnections: Sendable {
    /// One serial queue per client: a single-threaded client serves one call at a time.
    let monitorQueue: DispatchQueue
    let commandQueue: DispatchQueue
    private let host: HostAddress
    private let options: ConnectionOptions
    private let maxAwaitTime: Duration
    private let configs: ValidatedConfigs
    private let monitor = NIOLockedValueBox<MongoClient?>(nil)
    private let command = NIOLockedValueBox<MongoClient?>(nil)
    /// Servers before 4.4.2 do not know `hello`; they get `isMaster` once they answered 59.
    private let legacyHello = NIOLockedValueBox(false)
    /// Set by `close`: no client is created any more.
    private let closed = NIOLockedValueBox(false)
    /// The last connection attempt was refused: the next waits for a listener first.
    private let refused = NIOLockedValueBox(false)
    /// The host's addresses when it is an IP address (nil for a name): made once, as they never change.
    private let numericAddresses: [SocketAddress]?

    init(host: HostAddress, options: ConnectionOptions, maxAwaitTime: Duration, configs: ValidatedConfigs) {
        monitorQueue = DispatchQueue(label: "mongo-rs-bootstrap.\(host).monitor")
        commandQueue = DispatchQueue(label: "mongo-rs-bootstrap.\(host).command")
        self.host = host
        self.options = options
        self.maxAwaitTime = maxAwaitTime
        self.configs = configs
        numericAddresses = host.isPlain ? SocketAddress.numeric(host) : nil
    }

    /// From now on no client is created: a call that would need one fails at once.
    func refuseNewClients() {
        closed.withLockedValue { $0 = true }
    }

    /// Each queue destroys its client after the call it runs now, if any.
    /// Only a queue with a client gets the work: libdispatch gives every serial queue with work
    /// a thread of its own, and plain connections leave most queues without a client.
    func close(in group: DispatchGroup) {
        for (queue, slot) in [(monitorQueue, monitor), (commandQueue, command)] where slot.withLockedValue({ $0 != nil }) {
            queue.async(group: group) { slot.withLockedValue { $0 = nil } }
        }
    }

    /// A command as sent: the document, and which client sends it with what socket timeout.
    struct Request: Sendable {
        var document: BSONDocument
        let onMonitor: Bool
        let socketTimeout: Duration
        /// A hello that does not wait: on a plain connection it opens, it is what libmongoc's
        /// handshake would be, and its reply waits connectTimeout as that does, so a node that
        /// accepts and says nothing is found out as soon. (Other reads keep the command timeout:
        /// behind a handshake that succeeded, libmongoc gives them that.)
        var standsForHandshake = false
    }

    func request(for command: NodeCommand) -> Request {
        switch command {
        case .awaitHello(let topologyVersion, let maxAwait):
            var document = helloCommand
            if let topologyVersion {
                document["topologyVersion"] = .document(topologyVersion.document)
                document["maxAwaitTimeMS"] = .int64(maxAwait.wholeMilliseconds)
            }
            return Request(document: document, onMonitor: true, socketTimeout: maxAwait + options.connectTimeout + .seconds(5),
                           standsForHandshake: topologyVersion == nil)
        case .hello:
            return Request(document: helloCommand, onMonitor: false, socketTimeout: options.commandTimeout, standsForHandshake: true)
        case .getStatus:
            return Request(document: ["replSetGetStatus": 1], onMonitor: false, socketTimeout: options.commandTimeout)
        case .getConfig:
            return Request(document: ["replSetGetConfig": 1], onMonitor: false, socketTimeout: options.commandTimeout)
        case .getCommittedConfig:
            return Request(document: ["replSetGetConfig": 1, "commitmentStatus": true], onMonitor: false, socketTimeout: options.commandTimeout)
        case .initiate(let config):
            return Request(document: ["replSetInitiate": .document(config.document)], onMonitor: false, socketTimeout: options.commandTimeout)
        case .stepUp:
            return Request(document: ["replSetStepUp": 1], onMonitor: false, socketTimeout: options.commandTimeout)
        case .reconfig(let config, let force, let maxTime):
            var document: BSONDocument = ["replSetReconfig": .document(config.document)]
            if force { document["force"] = true }
            document["maxTimeMS"] = .int64(maxTime.wholeMilliseconds)
            // The command client's socket timeout (ConnectionOptions.commandTimeout) must exceed maxTime.
            return Request(document: document, onMonitor: false, socketTimeout: options.commandTimeout)
        case .stepDown:
            // 60 s without standing again; up to 10 s for a secondary to catch up (mongod's defaults).
            return Request(document: ["replSetStepDown": 60, "secondaryCatchUpPeriodSecs": 10], onMonitor: false,
                           socketTimeout: options.commandTimeout)
        }
    }

    /// `start`, awaited. A cancelled caller gets "cancelled" at once, and the call is dropped.
    func call(_ request: Request, through plain: PlainConnections) async throws(MongoError) -> UnreadReply {
        let waiting = NIOLockedValueBox<(continuation: CheckedContinuation<Result<UnreadReply, MongoError>, Never>?, call: PlainConnections.Call?)>((nil, nil))
        let resume = { @Sendable (answer: Result<UnreadReply, MongoError>) -> Void in
            waiting.withLockedValue { $0.continuation.take() }?.resume(returning: answer)
        }
        let cancelled = MongoError(.client, host: host, message: "cancelled")
        return try await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                waiting.withLockedValue { $0.continuation = continuation }
                guard !Task.isCancelled else {
                    resume(.failure(cancelled))
                    return
                }
                let call = start(request, through: plain, completion: resume)
                waiting.withLockedValue { $0.call = call }
            }
        } onCancel: {
            resume(.failure(cancelled))
            if let call = waiting.withLockedValue({ $0.call }) { plain.cancel(call) }
        }.get()
    }

    /// Starts `request` on its plain socket (`PlainConnections`); `completion` gets the answer,
    /// and `isMaster` is sent once the node answered 59, as `send` does. The call, for `cancel`,
    /// when it started at once (nil while a name is looked up or a refusing node waited for).
    @discardableResult
    func start(_ request: Request, through plain: PlainConnections, completion: @escaping PlainConnections.Completion) -> PlainConnections.Call? {
        let role: PlainConnections.Role = request.onMonitor ? .monitor : .command
        let finish: PlainConnections.Completion = { [self] answer in
            if case .failure(let error) = answer, let legacy = legacyRequest(replacing: request, after: error) {
                start(legacy, through: plain, completion: completion)
                return
            }
            switch answer {
            case .failure(let error) where error.kind != .client:
                refused.withLockedValue { $0 = error.kind == .connectionRefused }
            case .failure:
                break
            case .success:
                refused.withLockedValue { $0 = false }
            }
            completion(answer)
        }
        let send = { @Sendable (addresses: [SocketAddress]) in
            plain.start(request.document, to: self.host, on: role, socketTimeout: request.socketTimeout,
                        firstReplyTimeout: request.standsForHandshake ? self.options.connectTimeout : nil,
                        addresses: addresses, completion: finish)
        }
        do throws(MongoError) { try MongoClient.refuseUnlessPlain(host) } catch {
            completion(.failure(error))
            return nil
        }
        // An IP address is used at once (and given also to a connected socket, which the node
        // may close before the call starts); a name is looked up, and a node that refused the
        // last attempt waited for (`waitForListenerAfterRefusal`), on the connection's queue, as
        // both block.
        if plain.isConnected(host, on: role) { return send(numericAddresses ?? []) }
        if !refused.withLockedValue({ $0 }), let numericAddresses { return send(numericAddresses) }
        (role == .monitor ? monitorQueue : commandQueue).async { [self] in
            do throws(MongoError) {
                // Looked up once, for the wait and the connection both.
                let addresses = if let numericAddresses { numericAddresses } else { try SocketAddress.resolve(host).get() }
                try waitForListenerAfterRefusal(at: addresses)
                _ = send(addresses)
            } catch {
                finish(.failure(error))
            }
        }
        return nil
    }

    /// Sends `request` on its connection and waits for the answer. Blocks the calling thread.
    /// The monitor's hellos go without credentials: mongod answers hello before authentication,
    /// so a node's state is seen even when it does not (yet) know the user (a new mongod before
    /// its initial sync).
    func send(_ request: Request) throws(MongoError) -> UnreadReply {
        let slot = request.onMonitor ? monitor : command
        do throws(MongoError) {
            return try run(request.document, on: slot, socketTimeout: request.socketTimeout, authenticated: !request.onMonitor)
        } catch {
            guard let legacy = legacyRequest(replacing: request, after: error) else { throw error }
            return try run(legacy.document, on: slot, socketTimeout: request.socketTimeout, authenticated: !request.onMonitor)
        }
    }

    /// Servers before 4.4.2 answer `hello` with 59 (CommandNotFound): from then on the node gets
    /// `isMaster`, and this request is sent again as one. Nil for any other failure.
    private func legacyRequest(replacing request: Request, after error: MongoError) -> Request? {
        guard error.hasCode(.commandNotFound), request.document.firstKey == "hello" else { return nil }
        legacyHello.withLockedValue { $0 = true }
        var legacy = request
        legacy.document.elements[0] = .init(key: "isMaster", value: 1)
        return legacy
    }

    /// The answer to `request` (from `send`) in the model.
    func read(_ answer: UnreadReply, answering request: NodeCommand) throws(MongoError) -> CommandReply {
        switch request {
        case .awaitHello, .hello:
            return .hello(try read(answer.read(), of: "hello", as: HelloResponse.init(document:)))
        case .getStatus:
            return .status(try read(answer.read(), of: "replSetGetStatus", as: SetHealth.init(statusReply:)))
        case .getConfig:
            let (reply, known) = try configs.read(answer)
            return .config(try read(reply, of: "replSetGetConfig") { reply throws(ReplyError) in
                try configs.config(in: reply, known: known, of: answer)
            })
        case .getCommittedConfig:
            // Servers before 4.4 ignore the field and answer without it.
            let (reply, known) = try configs.read(answer)
            let (config, committed) = try read(reply, of: "replSetGetConfig") { reply throws(ReplyError) in
                (try configs.config(in: reply, known: known, of: answer), try ReplyFields(reply).bool("commitmentStatus"))
            }
            return .committedConfig(config, committed: committed)
        case .initiate: _ = try answer.read(); return .initiated
        case .stepUp: _ = try answer.read(); return .steppedUp
        case .reconfig: _ = try answer.read(); return .reconfigured
        case .stepDown: _ = try answer.read(); return .steppedDown
        }
    }

    /// Reads a reply into the model; a reply no mongod would send ends as `invalidReply`.
    private func read<T>(_ reply: BSONDocument, of command: String, as reader: (BSONDocument) throws(ReplyError) -> T) throws(MongoError) -> T {
        do {
            return try reader(reply)
        } catch {
            throw MongoError(.invalidReply, host: host, message: "\(command) reply: \(error.message)", command: command)
        }
    }

    private var helloCommand: BSONDocument {
        legacyHello.withLockedValue { $0 } ? ["isMaster": 1] : ["hello": 1]
    }

    /// A node that refused the last attempt is probed until it listens (at `addresses`, or
    /// those its name resolves to now), for up to `listenerWait`, instead of being asked hundreds
    /// of times a second; one refusal is reported when it keeps refusing. Only a plain host is probed (MongoClient
    /// refuses the others).
    private func waitForListenerAfterRefusal(at addresses: [SocketAddress]? = nil) throws(MongoError) {
        guard options.listenerWait > .zero, host.isPlain, refused.withLockedValue({ $0 }) else { return }
        let wait = ListenerWait(interval: ListenerWait.defaultInterval, budget: options.listenerWait)
        let stop = { self.closed.withLockedValue { $0 } }
        if (addresses.map { wait.wait(for: $0, stop: stop) } ?? wait.wait(for: host, stop: stop)) == .refused {
            throw MongoError(.connectionRefused, host: host, message: "connection refused")
        }
    }

    private func run(_ document: BSONDocument, on slot: NIOLockedValueBox<MongoClient?>, socketTimeout: Duration,
                     authenticated: Bool) throws(MongoError) -> UnreadReply {
        let result = slot.withLockedValue { (client: inout MongoClient?) -> Result<UnreadReply, MongoError> in
            do throws(MongoError) {
                if client == nil {
                    guard !closed.withLockedValue({ $0 }) else { throw MongoError(.client, host: host, message: "closed") }
                    try waitForListenerAfterRefusal()
                    client = try MongoClient(host: host, connectTimeout: options.connectTimeout, socketTimeout: socketTimeout,
                                             credentials: authenticated ? options.credentials : nil, tls: options.tls)
                }
                let reply = try client!.send(document)
                refused.withLockedValue { $0 = false }
                return .success(reply)
            } catch {
                refused.withLockedValue { $0 = error.kind == .connectionRefused }
                // A fresh client next time: this one would sit out libmongoc's 5 s cooldown, and
                // its DNS answer may be stale.
                if error.dropsConnection { client = nil }
                var error = error
                error.command = document.firstKey
                return .failure(error)
            }
        }
        return try result.get()
    }
}
