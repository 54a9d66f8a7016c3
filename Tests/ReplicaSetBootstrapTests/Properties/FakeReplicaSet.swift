import MongoBSON
@testable import ReplicaSetBootstrap

/// A small model of mongod nodes on virtual time, answering the state machine's commands the way
/// mongod does (fresh nodes answer 94, initiate needs every member, an election needs a majority,
/// awaitable hello answers on a change), with faults a scenario injects. It records what the
/// machine was told, so the safety invariants can be checked against it.
struct FakeReplicaSet {
    enum Start: CaseIterable, Sendable {
        case fresh, healthy, noPrimary, foreignNode, removedNode
    }

    struct Scenario: Sendable, CustomStringConvertible {
        var nodeCount: Int
        var start: Start
        /// Per node: milliseconds before it listens.
        var lateMilliseconds: [Int]
        /// Chance that any reply is lost to a network error.
        var failurePercent: Int
        /// Another run initiates the same set at this time (ms), if still uninitialized.
        var concurrentInitiateAt: Int?
        /// The node initiated by us restarts with an empty dbpath this long (ms) after accepting.
        var initiatorLosesConfigAfter: Int?
        /// The first n elections (step-ups) fail.
        var failedElections: Int
        /// The primary steps down at this time (ms).
        var stepDownAt: Int?
        var seed: UInt64

        var description: String {
            "\(nodeCount) nodes, \(start), late \(lateMilliseconds), \(failurePercent)% failures, concurrent initiate \(concurrentInitiateAt.map(String.init) ?? "-"), loses config \(initiatorLosesConfigAfter.map(String.init) ?? "-"), failed elections \(failedElections), step down \(stepDownAt.map(String.init) ?? "-"), seed \(seed)"
        }
    }

    struct Node {
        let host: HostAddress
        var listeningAt: Duration
        var config: ReplicaSetConfig?
        var removed = false
        var secondaryAt: Duration?
        var isPrimary = false
        var writableAt: Duration = .zero
        var processId = ObjectId.generate()
        var counter: Int64 = 0
    }

    struct Waiter {
        let node: Int
        let version: TopologyVersion
        let requestSeq: Int
    }

    enum Event {
        case reply(node: Int, command: NodeCommand, requestSeq: Int)
        case awaitTimeout(waiter: Int)
        case timer
        case deadline
        case nodeSecondary(Int)
        case configArrives(Int, ReplicaSetConfig)
        case drainComplete(Int)
        case concurrentInitiate
        case restartEmpty(Int)
        case stepDown
        case electionTimeout
    }

    // Ground truth and schedule.
    let scenario: Scenario
    let spec: ReplicaSetSpec
    var nodes: [Node]
    var now: Duration = .zero
    var queue: [(time: Duration, order: Int, event: Event)] = []
    var order = 0
    var waiters: [Int: Waiter] = [:]
    var nextWaiter = 0
    var random: SplitMix64
    var electionsToFail: Int
    var initiatedByUs: Int?

    // What the machine was told, by event sequence number (`seq`, counting deliveries).
    var seq = 0
    var requestSeqOfAction = 0
    var lastFreshDelivered: [Int: Int] = [:]
    var initiateSendSeqs: [Int] = []
    var writeSends: [NodeCommand] = []
    var lastWriteReplySeq = -1
    var writableHellos: [(node: Int, requestSeq: Int, setVersion: Int?)] = []
    var configsDelivered: [(node: Int, requestSeq: Int, config: ReplicaSetConfig)] = []
    var violations: [String] = []
    var replicaSetIds: Set<String> = []
    var outcome: Outcome?
    var events = 0
    /// What happened, for the failure message of a property check.
    var trace: [String] = []

    static let deadline = Duration.seconds(60)
    static let electionTimeout = Duration.seconds(10)

    init(_ scenario: Scenario) {
        self.scenario = scenario
        let hosts = (0..<scenario.nodeCount).map { HostAddress(host: "db-\($0).fake") }
        spec = try! ReplicaSetSpec.plain(name: "rs0", nodes: hosts).spec
        random = SplitMix64(seed: scenario.seed)
        electionsToFail = scenario.failedElections
        nodes = hosts.enumerated().map { index, host in
            Node(host: host, listeningAt: .milliseconds(scenario.lateMilliseconds[index]))
        }
        var existing = spec.initiateConfig
        existing.term = 1
        existing.replicaSetId = ObjectId(hex: "65a1b2c3d4e5f60718293aff")
        switch scenario.start {
        case .fresh:
            break
        case .healthy, .noPrimary:
            for index in nodes.indices {
                nodes[index].config = existing
                nodes[index].secondaryAt = .zero
            }
            replicaSetIds.insert(existing.replicaSetId!.hex)
            if scenario.start == .healthy { nodes[0].isPrimary = true }
            if scenario.start == .noPrimary { schedule(.electionTimeout, at: Self.electionTimeout) }
        case .foreignNode:
            var foreign = existing
            foreign.name = "other"
            nodes[nodes.count - 1].config = foreign
            nodes[nodes.count - 1].secondaryAt = .zero
        case .removedNode:
            nodes[nodes.count - 1].config = existing
            nodes[nodes.count - 1].removed = true
        }
        if let at = scenario.concurrentInitiateAt { schedule(.concurrentInitiate, at: .milliseconds(at)) }
        if let at = scenario.stepDownAt { schedule(.stepDown, at: .milliseconds(at)) }
        schedule(.deadline, at: Self.deadline)
    }

    // MARK: - Running

    mutating func run() {
        var machine = Machine(Machine.Configuration(spec: spec, maxAwaitTime: .seconds(10), seed: scenario.seed))
        perform(machine.start(at: .zero))
        while outcome == nil, let next = popNext() {
            events += 1
            if events > 200_000 {
                violations.append("no end after 200000 events at \(now): livelock")
                return
            }
            now = next.time
            if trace.count < 400 { trace.append("\(now) \(next.event)") }
            perform(handle(next.event, machine: &machine))
            if outcome == nil { perform(wakeWaiters(machine: &machine)) }
        }
        if outcome == nil { violations.append("the machine never finished") }
    }

    private mutating func handle(_ event: Event, machine: inout Machine) -> [Action] {
        switch event {
        case .reply(let index, let command, let requestSeq):
            return deliver(command, from: index, requestSeq: requestSeq, machine: &machine)
        case .awaitTimeout(let id):
            guard let waiter = waiters.removeValue(forKey: id) else { return [] }
            return deliverHello(waiter.node, requestSeq: waiter.requestSeq, machine: &machine)
        case .timer:
            return machine.timerFired(at: now)
        case .deadline:
            return machine.deadlineReached(at: now)
        case .nodeSecondary(let index):
            guard nodes[index].config != nil, nodes[index].secondaryAt == nil else { return [] }
            nodes[index].secondaryAt = now
            bump(index)
            if spec.members.filter(\.resolvedOptions.isVoter).count == 1 {
                elect(index)  // a single voter elects itself at once
            } else {
                schedule(.electionTimeout, at: now + Self.electionTimeout)
            }
            return []
        case .configArrives(let index, let config):
            guard nodes[index].config == nil, nodes.contains(where: { $0.config?.replicaSetId == config.replicaSetId }) else { return [] }
            guard isListening(index) else {
                // The next heartbeat (every 2 s) tries again.
                schedule(.configArrives(index, config), at: now + .seconds(2))
                return []
            }
            nodes[index].config = config
            bump(index)
            schedule(.nodeSecondary(index), at: now + .milliseconds(Int64(10 + random.next() % 200)))
            return []
        case .drainComplete(let index):
            bump(index)
            return []
        case .concurrentInitiate:
            guard nodes.allSatisfy({ $0.config == nil }), nodes.indices.allSatisfy(isListening) else { return [] }
            install(spec.initiateConfig, on: nodes.firstIndex { $0.host == spec.initiator }!)
            return []
        case .restartEmpty(let index):
            nodes[index] = Node(host: nodes[index].host, listeningAt: now + .milliseconds(50))
            dropWaiters(on: index)
            replicaSetIds = Set(nodes.compactMap { $0.config?.replicaSetId?.hex })
            if let surviving = nodes.first(where: { $0.config != nil })?.config {
                schedule(.configArrives(index, surviving), at: now + .milliseconds(100))
            }
            return []
        case .stepDown:
            guard let primary = nodes.firstIndex(where: \.isPrimary) else { return [] }
            nodes[primary].isPrimary = false
            bump(primary)
            schedule(.electionTimeout, at: now + Self.electionTimeout)
            return []
        case .electionTimeout:
            guard !nodes.contains(where: \.isPrimary), let candidate = nodes.indices.first(where: canWinElection) else { return [] }
            elect(candidate)
            return []
        }
    }

    /// Turns the machine's actions into scheduled replies.
    private mutating func perform(_ actions: [Action]) {
        for action in actions {
            if trace.count < 400 { trace.append("  → \(action)") }
            switch action {
            case .send(let command, let host):
                send(command, to: host, after: .zero)
            case .sendLater(let command, let host, let delay):
                send(command, to: host, after: delay)
            case .wakeUp(let delay):
                schedule(.timer, at: now + delay)
            case .report:
                break
            case .finish(let result):
                outcome = result
                checkOutcome(result)
            }
        }
    }

    private mutating func send(_ command: NodeCommand, to host: HostAddress, after delay: Duration) {
        let index = nodes.firstIndex { $0.host == host }!
        requestSeqOfAction = seq
        if command.isWrite {
            writeSends.append(command)
            if case .initiate = command { checkInitiateAllowed() }
        }
        let latency = Duration.microseconds(Int64(100 + random.next() % 3000))
        if case .awaitHello(let version?, let maxAwait) = command, isListening(index, at: now + delay),
           version.processId == nodes[index].processId, version.counter == nodes[index].counter {
            let id = nextWaiter
            nextWaiter += 1
            waiters[id] = Waiter(node: index, version: version, requestSeq: seq)
            schedule(.awaitTimeout(waiter: id), at: now + delay + maxAwait)
            return
        }
        schedule(.reply(node: index, command: command, requestSeq: seq), at: now + delay + latency)
    }

    // MARK: - Answers, as mongod gives them

    private mutating func deliver(_ command: NodeCommand, from index: Int, requestSeq: Int, machine: inout Machine) -> [Action] {
        let host = nodes[index].host
        let lost = Int(random.next() % 100) < scenario.failurePercent
        if !isListening(index) || (lost && !command.isWrite) {
            let error = MongoError(.connectionRefused, host: host, message: "connection refused")
            seq += 1
            return command.usesMonitorConnection ? machine.helloFailed(error, from: host, at: now) : machine.commandFailed(error, from: host, at: now)
        }
        switch command {
        case .awaitHello:
            return deliverHello(index, requestSeq: requestSeq, machine: &machine)
        case .hello:
            let hello = helloResponse(index)
            seq += 1
            if hello.isWritablePrimary { writableHellos.append((index, requestSeq, hello.setVersion)) }
            return machine.commandSucceeded(.hello(hello), from: host, at: now)
        case .getStatus:
            seq += 1
            if nodes[index].config == nil {
                lastFreshDelivered[index] = seq
                return machine.commandFailed(.server(.notYetInitialized, host: host, message: "no replset config has been received"), from: host, at: now)
            }
            if nodes[index].removed {
                return machine.commandFailed(.server(.invalidReplicaSetConfig, host: host, message: "Our replica set config is invalid or we are not a member of it"), from: host, at: now)
            }
            return machine.commandSucceeded(.statusOK, from: host, at: now)
        case .getConfig, .getCommittedConfig:
            seq += 1
            guard let config = nodes[index].config, !nodes[index].removed else {
                return machine.commandFailed(.server(.notYetInitialized, host: host, message: "no replset config has been received"), from: host, at: now)
            }
            guard command == .getCommittedConfig else {
                configsDelivered.append((index, requestSeq, config))
                return machine.commandSucceeded(.config(config), from: host, at: now)
            }
            guard nodes[index].isPrimary else {
                return machine.commandFailed(.server(.notWritablePrimary, host: host, message: "commitmentStatus is only supported on primary."), from: host, at: now)
            }
            configsDelivered.append((index, requestSeq, config))
            // Committed once a majority of voters hold this config.
            let holders = nodes.filter { $0.config?.replicaSetId == config.replicaSetId && $0.config?.version == config.version }.count
            return machine.commandSucceeded(.committedConfig(config, committed: holders * 2 > nodes.count), from: host, at: now)
        case .initiate(let config):
            let result = initiate(config, on: index)
            seq += 1
            lastWriteReplySeq = seq
            if lost {
                // The reply is lost; whether it was applied is the node's business.
                return machine.commandFailed(MongoError(.networkFailure, host: host, message: "socket error"), from: host, at: now)
            }
            switch result {
            case .success: return machine.commandSucceeded(.initiated, from: host, at: now)
            case .failure(let error): return machine.commandFailed(error, from: host, at: now)
            }
        case .stepUp:
            let won = stepUp(index)
            seq += 1
            lastWriteReplySeq = seq
            if lost { return machine.commandFailed(MongoError(.networkFailure, host: host, message: "socket error"), from: host, at: now) }
            return won ? machine.commandSucceeded(.steppedUp, from: host, at: now)
                : machine.commandFailed(.server(.commandFailed, host: host, message: "Election failed."), from: host, at: now)
        case .reconfig, .stepDown:
            // Every scenario's set matches the spec once it exists: nothing to reconfigure.
            violations.append("\(command) sent to a set that already matches the spec")
            seq += 1
            return machine.commandFailed(.server(.commandNotFound, host: host, message: "not modelled"), from: host, at: now)
        }
    }

    private mutating func deliverHello(_ index: Int, requestSeq: Int, machine: inout Machine) -> [Action] {
        let host = nodes[index].host
        guard isListening(index) else {
            seq += 1
            return machine.helloFailed(MongoError(.connectionRefused, host: host, message: "connection refused"), from: host, at: now)
        }
        let hello = helloResponse(index)
        seq += 1
        if hello.isWritablePrimary { writableHellos.append((index, requestSeq, hello.setVersion)) }
        return machine.helloReceived(hello, from: host, at: now)
    }

    private func helloResponse(_ index: Int) -> HelloResponse {
        let node = nodes[index]
        let version = TopologyVersion(processId: node.processId, counter: node.counter)
        guard let config = node.config, !node.removed else { return HelloResponse(isReplicaSet: true, topologyVersion: version) }
        let primary = nodes.first { $0.isPrimary && $0.config?.name == config.name }
        let draining = node.isPrimary && now < node.writableAt
        return HelloResponse(
            isWritablePrimary: node.isPrimary && !draining, secondary: (node.secondaryAt != nil && !node.isPrimary) || draining,
            setName: config.name, setVersion: config.version, primary: primary?.host, me: node.host, topologyVersion: version)
    }

    private mutating func initiate(_ config: ReplicaSetConfig, on index: Int) -> Result<Void, MongoError> {
        let host = nodes[index].host
        if nodes[index].config != nil { return .failure(.server(.alreadyInitialized, host: host, message: "already initialized")) }
        if let unreachable = nodes.indices.first(where: { !isListening($0) }) {
            return .failure(.server(.nodeNotFound, host: host, message: "replSetInitiate quorum check failed because not all proposed set members responded affirmatively: \(nodes[unreachable].host) failed with Connection refused"))
        }
        if let member = nodes.indices.first(where: { nodes[$0].config != nil }) {
            return .failure(.server(.newReplicaSetConfigurationIncompatible, host: host, message: "Our set name did not match that of the request target, requestTarget:\(nodes[member].host)"))
        }
        install(config, on: index)
        if let after = scenario.initiatorLosesConfigAfter, initiatedByUs == nil {
            schedule(.restartEmpty(index), at: now + .milliseconds(Int64(after)))
        }
        initiatedByUs = index
        return .success(())
    }

    private mutating func install(_ config: ReplicaSetConfig, on index: Int) {
        var stored = config
        stored.term = 0
        stored.replicaSetId = ObjectId.generate()
        nodes[index].config = stored
        bump(index)
        replicaSetIds = Set(nodes.compactMap { $0.config?.name == "rs0" ? $0.config?.replicaSetId?.hex : nil })
        if replicaSetIds.count > 1 { violations.append("two replica sets exist at \(now): \(replicaSetIds.sorted())") }
        schedule(.nodeSecondary(index), at: now + .milliseconds(5))
        for other in nodes.indices where other != index {
            schedule(.configArrives(other, stored), at: now + .milliseconds(Int64(1 + random.next() % 50)))
        }
    }

    private mutating func stepUp(_ index: Int) -> Bool {
        guard nodes[index].secondaryAt != nil, !nodes[index].isPrimary, canWinElection(index) else { return false }
        if electionsToFail > 0 {
            electionsToFail -= 1
            return false
        }
        elect(index)
        return true
    }

    private func canWinElection(_ index: Int) -> Bool {
        guard nodes[index].secondaryAt != nil, isListening(index), !nodes[index].removed else { return false }
        let voters = nodes.indices.filter { isListening($0) && nodes[$0].config?.replicaSetId == nodes[index].config?.replicaSetId }
        return voters.count * 2 > spec.members.filter(\.resolvedOptions.isVoter).count
    }

    private mutating func elect(_ index: Int) {
        for other in nodes.indices where nodes[other].isPrimary {
            nodes[other].isPrimary = false
            bump(other)
        }
        nodes[index].isPrimary = true
        nodes[index].writableAt = now + .milliseconds(3)
        bump(index)
        schedule(.drainComplete(index), at: nodes[index].writableAt)
    }

    // MARK: - Helpers

    private func isListening(_ index: Int) -> Bool { isListening(index, at: now) }

    private func isListening(_ index: Int, at time: Duration) -> Bool { time >= nodes[index].listeningAt }

    private mutating func bump(_ index: Int) {
        nodes[index].counter += 1
    }

    /// Awaitable hellos return when the node's topology version changed.
    private mutating func wakeWaiters(machine: inout Machine) -> [Action] {
        var actions: [Action] = []
        for (id, waiter) in waiters.sorted(by: { $0.key < $1.key }) {
            let node = nodes[waiter.node]
            guard node.processId != waiter.version.processId || node.counter != waiter.version.counter else { continue }
            waiters[id] = nil
            actions += deliverHello(waiter.node, requestSeq: waiter.requestSeq, machine: &machine)
        }
        return actions
    }

    private mutating func dropWaiters(on index: Int) {
        for (id, waiter) in waiters where waiter.node == index {
            waiters[id] = nil
            schedule(.reply(node: index, command: .awaitHello(nil, maxAwait: .zero), requestSeq: waiter.requestSeq), at: now)
        }
    }

    private mutating func schedule(_ event: Event, at time: Duration) {
        order += 1
        queue.append((time, order, event))
    }

    private mutating func popNext() -> (time: Duration, order: Int, event: Event)? {
        guard let index = queue.indices.min(by: { (queue[$0].time, queue[$0].order) < (queue[$1].time, queue[$1].order) }) else { return nil }
        return queue.remove(at: index)
    }

    // MARK: - Invariants

    /// Invariant 1: every node reported no config (94) to the machine since the last initiate.
    private mutating func checkInitiateAllowed() {
        let previous = initiateSendSeqs.last ?? -1
        for index in nodes.indices where (lastFreshDelivered[index] ?? -1) <= previous {
            violations.append("replSetInitiate sent at \(now) without \(nodes[index].host) confirming 94 since the previous attempt")
        }
        initiateSendSeqs.append(seq)
    }

    /// Invariant 4: converged only with a writable primary and its desired config, both asked for
    /// after the last write's reply.
    private mutating func checkOutcome(_ outcome: Outcome) {
        guard case .converged(let summary) = outcome else { return }
        guard let primary = nodes.firstIndex(where: { $0.host == summary.primary }) else {
            violations.append("converged on unknown primary \(summary.primary)")
            return
        }
        let hello = writableHellos.last { $0.node == primary && $0.requestSeq > lastWriteReplySeq }
        let config = configsDelivered.last { $0.node == primary && $0.requestSeq > lastWriteReplySeq }
        if hello == nil { violations.append("converged without a writable hello from \(summary.primary) asked after the last write") }
        guard let config else {
            violations.append("converged without a config from \(summary.primary) asked after the last write")
            return
        }
        if !spec.difference(from: config.config).satisfiesSpec { violations.append("converged on a config that is not the desired one") }
        if let hello, hello.setVersion != config.config.version { violations.append("converged with hello version \(hello.setVersion ?? -1) and config version \(config.config.version)") }
    }
}
