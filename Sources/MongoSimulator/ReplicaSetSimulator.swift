import Foundation
import MongoBSON
import NIOPosix
import NIOSSL

public enum SimulatorError: Error, Equatable, CustomStringConvertible {
    case noSuchMember(Int)
    case bindFailed(host: String, reason: String)
    case timedOut(String)
    case shutDown

    public var description: String {
        switch self {
        case .noSuchMember(let index): return "no simulated member \(index)"
        case .bindFailed(let host, let reason): return "cannot listen on \(host): \(reason)"
        case .timedOut(let what): return "timed out waiting for \(what)"
        case .shutDown: return "the simulator was shut down"
        }
    }
}

/// A set of simulated mongod members, each listening on its own loopback address and speaking
/// the wire protocol, with mongod's replica-set behaviour.
///
/// All replica-set state lives in this actor (one serial executor): the networking only hands
/// it decoded commands. Timers are tasks that call back into the actor; work that mongod does
/// "at once, on another thread" (a heartbeat triggered by a heartbeat) is queued and run at the
/// end of the current actor turn by `settle()`.
///
/// ```swift
/// try await ReplicaSetSimulator.run(Array(repeating: MemberSpec(), count: 3),
///                                   options: SimulatorOptions(timings: .fast)) { simulator in
///     // simulator.hosts: ["127.a.b.1:27017", "127.a.b.2:27017", "127.a.b.3:27017"]
///     // … run the tool against them, then:
///     try await simulator.waitUntil(timeout: .seconds(5)) { $0.primary != nil }
///     let writes = await simulator.writeCommands   // replSetInitiate/Reconfig/StepUp received
/// }
/// ```
public actor ReplicaSetSimulator {
    public nonisolated let hosts: [String]
    public nonisolated let options: SimulatorOptions

    var nodes: [SimulatedMongod]
    let servers: [MemberServer]
    let eventLoopGroup: MultiThreadedEventLoopGroup
    var partitions: Set<Set<Int>> = []
    /// The cluster-wide default write concern (`setDefaultRWConcern`), replicated set-wide.
    var clusterWideWriteConcern: BSONDocument?
    var clusterWideWriteConcernDate: Date?
    var commandLog: [CommandRecord] = []
    var eventLog: [SimulatorEvent] = []
    var timestamps = TimestampSource()
    var isShutDown = false
    /// Awaitable hellos waiting for a topology change, by id.
    var helloWaiters: [Int: HelloWaiter] = [:]
    var nextHelloWaiterId = 0
    /// Queued work items run so far (heartbeats set off by heartbeats, elections, ...): a test can
    /// tell a quiet set from one that keeps itself busy.
    public private(set) var deferredWorkDone = 0

    private var timers: [TimerKey: (generation: Int, task: Task<Void, Never>)] = [:]
    private var generation = 0
    private var waiters: [Int: Waiter] = [:]
    private var deferred: [Deferred] = []
    private var settling = false

    // MARK: - Construction

    /// Members that are not started yet: their host strings are known (`hosts`), so a test can
    /// write them into a config before any member listens.
    public init(members: [MemberSpec], options: SimulatorOptions = SimulatorOptions()) throws {
        let addresses = try LoopbackAddresses.choose(count: members.count, block: options.addressBlock, port: options.port)
        self.options = options
        hosts = addresses
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        eventLoopGroup = group
        var nodes: [SimulatedMongod] = []
        for (index, spec) in members.enumerated() {
            var node = SimulatedMongod(index: index, host: addresses[index], aliases: spec.aliases, replSetName: nil)
            node.usersArriveWithInitialSync = spec.usersArriveWithInitialSync
            switch spec.role {
            case .member: node.replSetName = options.setName
            case .standalone: node.replSetName = nil
            case .otherSet(let name):
                node.replSetName = name
                node.storage = Self.initiatedStorage(setName: name, host: addresses[index])
            }
            nodes.append(node)
        }
        self.nodes = nodes
        let tls = try options.security?.tls.map(Self.tlsContext)
        servers = addresses.map { MemberServer(host: $0, group: group, tls: tls) }
    }

    public init(memberCount: Int, options: SimulatorOptions = SimulatorOptions()) throws {
        try self.init(members: Array(repeating: MemberSpec(), count: memberCount), options: options)
    }

    /// Runs `body` with a new simulator (its members listening unless `start` is false) and shuts
    /// it down afterwards, also when the body throws.
    public static func run<T>(_ members: [MemberSpec], options: SimulatorOptions = SimulatorOptions(), start: Bool = true,
                              _ body: (ReplicaSetSimulator) async throws -> T) async throws -> T {
        let simulator = try ReplicaSetSimulator(members: members, options: options)
        do {
            if start { try await simulator.start() }
            let result = try await body(simulator)
            await simulator.shutdown()
            return result
        } catch {
            await simulator.shutdown()
            throw error
        }
    }

    /// `--tlsCertificateKeyFile` and `--tlsCAFile` as mongod applies them: a CA file makes the
    /// member ask for client certificates and verify those presented.
    private static func tlsContext(_ tls: SimulatorTLS) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(tls.certificateKeyFile).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: tls.certificateKeyFile, format: .pem)))
        if let caFile = tls.caFile {
            configuration.trustRoots = .file(caFile)
            configuration.certificateVerification = tls.allowConnectionsWithoutCertificates ? .optionalVerification : .noHostnameVerification
        } else {
            configuration.certificateVerification = .none
        }
        return try NIOSSLContext(configuration: configuration)
    }

    /// The disk of a member that initiated a one-member set long ago.
    private static func initiatedStorage(setName: String, host: String) -> NodeStorage {
        var source = TimestampSource()
        var storage = NodeStorage()
        storage.config = ReplicaSetConfig(name: setName, version: 1, term: 1, members: [MemberConfig(id: 0, host: host)],
                                          replicaSetId: ObjectId.generate())
        storage.lastApplied = source.next(term: 1)
        storage.lastAppliedWallMillis = Int64(Date().timeIntervalSince1970 * 1000)
        storage.lastVoteTerm = 1
        storage.lastVoteCandidate = 0
        return storage
    }

    // MARK: - Members' processes and ports

    /// Starts every member that is not running and makes it listen.
    public func start() async throws {
        for index in nodes.indices where !nodes[index].isRunning || !nodes[index].isListening {
            try await start(index)
        }
    }

    /// Starts the member's mongod process (with what its disk holds) and makes it listen.
    public func start(_ member: Int) async throws {
        try check(member)
        if !nodes[member].isRunning {
            bootProcess(member)
            settle()
        }
        try await listen(member)
    }

    /// Stops the member's process: it stops listening, drops its connections and forgets all but
    /// its disk.
    public func stop(_ member: Int) async throws {
        try check(member)
        await servers[member].stopListening()
        if nodes[member].isListening { emit(member, .stoppedListening) }
        nodes[member].isListening = false
        dropHelloWaiters(of: member)
        guard nodes[member].isRunning else { return }
        cancelTimers(of: member)
        nodes[member].isRunning = false
        emit(member, .processStopped)
        settle()
    }

    /// Stops and starts the member, keeping its data (config, term, oplog) or starting it empty.
    public func restart(_ member: Int, keepingData: Bool = true) async throws {
        try await stop(member)
        if !keepingData { nodes[member].storage = NodeStorage() }
        try await start(member)
    }

    func listen(_ member: Int) async throws {
        guard nodes[member].isRunning, !nodes[member].isListening, !nodes[member].faults.refuseConnections else { return }
        let simulator = self
        servers[member].setCloseOnAccept(nodes[member].faults.closeConnectionsOnAccept)
        try await servers[member].startListening(port: options.port) { request, connection in
            await simulator.handle(request, member: member, connection: connection)
        } onClose: { connection in
            await simulator.connectionClosed(member: member, connection: connection)
        }
        nodes[member].isListening = true
        emit(member, .startedListening)
    }

    func connectionClosed(member: Int, connection: Int32) {
        nodes[member].connectionsWithMetadata.remove(connection)
        nodes[member].authentication[connection] = nil
    }

    // MARK: - Faults

    public func inject(_ fault: Fault, into member: Int) async throws {
        try check(member)
        switch fault {
        case .refuseConnections:
            nodes[member].faults.refuseConnections = true
            await servers[member].stopListening()
            if nodes[member].isListening { emit(member, .stoppedListening) }
            nodes[member].isListening = false
        case .closeConnectionsOnAccept:
            nodes[member].faults.closeConnectionsOnAccept = true
            servers[member].setCloseOnAccept(true)
        case .slowReplies(let delay):
            nodes[member].faults.replyDelay = delay
        case .failElections(let count):
            nodes[member].faults.electionsToFail = count
        case .stepDownOnCommand(let name, let after, let period):
            nodes[member].faults.stepDownOnCommand = (name, after, period)
        case .failCommand(let name, let code, let count):
            nodes[member].faults.failCommand = (name, code, count)
        }
        settle()
    }

    /// Removes every fault of the member; a running member that refused connections listens again.
    public func clearFaults(of member: Int) async throws {
        try check(member)
        nodes[member].faults = Faults()
        servers[member].setCloseOnAccept(false)
        try await listen(member)
        settle()
    }

    /// Heartbeats, votes and quorum checks between the two members fail (clients still reach both).
    public func partition(_ a: Int, _ b: Int) throws {
        try check(a)
        try check(b)
        partitions.insert([a, b])
    }

    public func heal(_ a: Int, _ b: Int) {
        partitions.remove([a, b])
    }

    public func healAllPartitions() {
        partitions.removeAll()
    }

    /// The primary steps down as on `replSetStepDown` with `stepDownSecs`: it cannot be elected
    /// again for that long, and it hands the election off to an electable secondary.
    public func stepDown(_ member: Int, for period: Duration = .seconds(60)) throws {
        try check(member)
        stepDownByRequest(member, period: period)
        settle()
    }

    /// Brings the set where a finished bootstrap leaves it: every member started, member 0
    /// initiated with all the fresh members of `options.setName`, elected at once (as
    /// replSetStepUp does), and every other member SECONDARY. These commands are not recorded.
    public func initiateSet(timeout: Duration = .seconds(30)) async throws {
        try await start()
        let deadline = ContinuousClock.now + timeout
        let members = nodes.filter { $0.replSetName == options.setName && $0.storage.config == nil }
        let configDocument: BSONDocument = [
            "_id": .string(options.setName), "version": 1,
            "members": .array(members.enumerated().map { ["_id": .int32(Int32($0.offset)), "host": .string($0.element.host)] }),
        ]
        _ = try await replSetInitiate(0, ["replSetInitiate": .document(configDocument)])
        settle()
        while !nodes[0].isWritablePrimary {
            guard ContinuousClock.now < deadline else { throw SimulatorError.timedOut("member 0 to become primary") }
            if nodes[0].memberState == .secondary { startElection(0, reason: .stepUp(skipDryRun: false)) }
            settle()
            _ = await wait(until: min(deadline, .now + .milliseconds(20))) { [self] in nodes[0].isWritablePrimary }
        }
        let names = Set(members.map(\.host))
        try await waitUntil(timeout: ContinuousClock.now.duration(to: deadline), "every member to be SECONDARY") { set in
            set.members.allSatisfy { !names.contains($0.host) || $0.state == .primary || $0.state == .secondary }
        }
    }

    // MARK: - Observability

    public var snapshot: SetSnapshot {
        SetSnapshot(members: nodes.map { node in
            MemberSnapshot(index: node.index, host: node.host, isRunning: node.isRunning, isListening: node.isListening,
                           state: node.isRunning ? node.memberState : .down,
                           isWritablePrimary: node.isRunning && node.isWritablePrimary,
                           configVersion: node.isRunning ? node.config?.version : nil,
                           configTerm: node.isRunning ? node.config?.term : nil,
                           term: node.term, primary: node.isRunning ? node.primaryHost : nil)
        })
    }

    /// Every command the members received from clients, oldest first.
    public var commands: [CommandRecord] { commandLog }

    /// The replSetInitiate, replSetReconfig and replSetStepUp commands any member received.
    public var writeCommands: [CommandRecord] { commandLog.filter(\.isWrite) }

    public var events: [SimulatorEvent] { eventLog }

    /// Waits until the condition holds for the set (checked after every change), or throws
    /// `SimulatorError.timedOut`.
    public func waitUntil(timeout: Duration, _ what: String = "a condition",
                          _ condition: @escaping @Sendable (SetSnapshot) -> Bool) async throws {
        let met = await wait(until: .now + timeout) { [self] in condition(self.snapshot) }
        guard met else { throw isShutDown ? SimulatorError.shutDown : SimulatorError.timedOut(what) }
    }

    /// Stops every member and timer. The simulator cannot be used afterwards.
    public func shutdown() async {
        guard !isShutDown else { return }
        isShutDown = true
        for member in nodes.indices {
            await servers[member].stopListening()
            nodes[member].isListening = false
            nodes[member].isRunning = false
        }
        for (_, timer) in timers { timer.task.cancel() }
        timers.removeAll()
        for (_, waiter) in waiters { waiter.continuation.resume(returning: false) }
        waiters.removeAll()
        for (_, waiter) in helloWaiters { waiter.continuation.resume(returning: .dropped) }
        helloWaiters.removeAll()
        for server in servers { await server.drain() }
        try? await eventLoopGroup.shutdownGracefully()
    }

    func check(_ member: Int) throws {
        guard nodes.indices.contains(member) else { throw SimulatorError.noSuchMember(member) }
        guard !isShutDown else { throw SimulatorError.shutDown }
    }

    func emit(_ member: Int, _ kind: SimulatorEvent.Kind) {
        eventLog.append(SimulatorEvent(member: member, host: nodes[member].host, kind: kind, time: .now, date: Date()))
    }

    // MARK: - Timers, deferred work and waiters

    enum TimerKey: Hashable {
        case heartbeats(Int)
        case electionTimeout(Int)
        case initialSync(Int)
        case recovered(Int)
        case drained(Int)
        case stepDownExpired(Int)
        case stepDown(Int)
        case waiterDeadline(Int)
        case helloDeadline(Int)
        case priorityTakeover(Int)
        case deferredWork

        var member: Int? {
            switch self {
            case .heartbeats(let m), .electionTimeout(let m), .initialSync(let m), .recovered(let m),
                 .drained(let m), .stepDownExpired(let m), .stepDown(let m), .priorityTakeover(let m):
                return m
            case .waiterDeadline, .helloDeadline, .deferredWork:
                return nil
            }
        }
    }

    /// Work mongod schedules on its executor "now".
    enum Deferred {
        case heartbeat(from: Int, to: String)
        case heartbeatRound(Int)
        case election(Int, ElectionReason)
        case removeNewlyAdded(Int, memberId: Int, configVersionAndTerm: ConfigVersionAndTerm)
        case replicate(primary: Int)
    }

    func schedule(_ key: TimerKey, after delay: Duration) {
        guard !isShutDown else { return }
        timers[key]?.task.cancel()
        generation += 1
        let current = generation
        let task = Task { [weak self] in
            try? await Task.sleep(for: delay)
            guard !Task.isCancelled else { return }
            await self?.fire(key, generation: current)
        }
        timers[key] = (current, task)
    }

    func cancelTimer(_ key: TimerKey) {
        timers.removeValue(forKey: key)?.task.cancel()
    }

    func isScheduled(_ key: TimerKey) -> Bool { timers[key] != nil }

    private func cancelTimers(of member: Int) {
        for key in timers.keys where key.member == member { cancelTimer(key) }
    }

    private func fire(_ key: TimerKey, generation current: Int) {
        guard timers[key]?.generation == current else { return }
        timers[key] = nil
        switch key {
        case .heartbeats(let member): heartbeatRound(member)
        case .electionTimeout(let member): startElection(member, reason: .electionTimeout)
        case .initialSync(let member): finishInitialSync(member)
        case .recovered(let member): finishRecovering(member)
        case .drained(let member): finishDraining(member)
        case .stepDownExpired(let member): startElection(member, reason: .singleNodePrompt)
        case .stepDown(let member): stepDownByRequest(member, period: nodes[member].faults.pendingStepDownPeriod)
        case .waiterDeadline(let id): waiters.removeValue(forKey: id)?.continuation.resume(returning: false)
        case .helloDeadline(let id): finishHelloWait(id, .timedOut)
        case .priorityTakeover(let member): startElection(member, reason: .priorityTakeover)
        case .deferredWork: break
        }
        settle()
    }

    func enqueue(_ work: Deferred) {
        deferred.append(work)
    }

    /// Runs queued work, then resumes the waiters whose condition now holds. Every entry point
    /// that changes state ends with it.
    func settle() {
        guard !settling else { return }
        settling = true
        // Never hang: work that keeps queueing more work (a heartbeat answered by a heartbeat,
        // for ever) would hold the actor, and no member would answer even a ping. mongod does
        // this work on executor threads between network round trips; here a long burst yields
        // to other actor turns (client commands) and carries on a moment later.
        let started = ContinuousClock.now
        var done = 0
        while !deferred.isEmpty {
            done += 1
            if done % 256 == 0, started.duration(to: .now) > .milliseconds(20) {
                schedule(.deferredWork, after: .milliseconds(1))
                break
            }
            let work = deferred.removeFirst()
            deferredWorkDone += 1
            switch work {
            case .heartbeat(let from, let to): heartbeat(from: from, to: to)
            case .heartbeatRound(let member): heartbeatRound(member)
            case .election(let member, let reason): startElection(member, reason: reason)
            case .removeNewlyAdded(let member, let memberId, let versionAndTerm):
                removeNewlyAdded(member, memberId: memberId, versionAndTerm: versionAndTerm)
            case .replicate(let primary): replicateFrom(primary)
            }
        }
        settling = false
        for (id, waiter) in waiters where waiter.condition() {
            waiters[id] = nil
            cancelTimer(.waiterDeadline(id))
            waiter.continuation.resume(returning: true)
        }
    }

    private struct Waiter {
        let condition: () -> Bool
        let continuation: CheckedContinuation<Bool, Never>
    }

    /// Suspends until the condition holds (true) or the deadline passes (false).
    func wait(until deadline: ContinuousClock.Instant?, for condition: @escaping () -> Bool) async -> Bool {
        settle()
        if condition() { return true }
        if isShutDown { return false }
        generation += 1
        let id = generation
        return await withCheckedContinuation { continuation in
            waiters[id] = Waiter(condition: condition, continuation: continuation)
            if let deadline { schedule(.waiterDeadline(id), after: ContinuousClock.now.duration(to: deadline)) }
        }
    }
}
