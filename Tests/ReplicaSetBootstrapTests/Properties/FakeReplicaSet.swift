import MongoBSON
@testable import ReplicaSetBootstrap

/// A small model of mongod nodes on virtual time, answering the state machine's commands the way
/// mongod does (`reference/mongod-replset-semantics.md`; mongod paths cited where each rule is
/// modelled in `+Mongod`), with faults a scenario injects. It records what the machine was told
/// and sent, so the six safety invariants of DESIGN.md are checked against it (`+Invariants`).
///
/// Modelled: initiate and its quorum check; heartbeats carrying each new config to the members
/// (late for partitioned nodes); replSetReconfig with mongod's checks in mongod's order (94, 109,
/// 10107, 308, 93, 103, 104, 74), `newlyAdded` and the primary's own reconfig removing it,
/// commitment by a config-majority of voters, maxTimeMS (50), a primary stepping down while it
/// waits (189); force reconfigs; replSetStepDown with election handoff; elections (timeout,
/// step-up, priority, arbiters, hidden members, a majority of voters needed).
/// Not modelled: data and oplogs (the commit point is a random 308), the implicit default write
/// concern check (as if a cluster-wide one were set), the PSA reconfig rule, catch-up takeover.
struct FakeReplicaSet {
    /// One simulated mongod process: what it holds and when it does what, on virtual time.
    struct Mongod {
        let host: HostAddress
        var listeningAt: Duration
        var config: ReplicaSetConfig?
        /// Holds a config that does not list it (REMOVED).
        var removed = false
        var secondaryAt: Duration?
        var isPrimary = false
        var writableAt: Duration = .zero
        /// replSetStepDown: not electable again before this (`replSetStepDown: 60`).
        var unelectableUntil: Duration = .zero
        /// Installing a config (`kConfigReconfiguring`): a replSetReconfig now gets 109.
        var installingUntil: Duration = .zero
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
        /// A write's answer, decided when it was handled and given later (a reconfig waiting for
        /// its commitment).
        case writeReply(node: Int, command: NodeCommand, answer: Result<CommandReply, MongoError>)
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
        /// The primary's own reconfig removing `newlyAdded` from the member with this `_id`.
        case removeNewlyAdded(Int)
    }

    // Ground truth and schedule.
    let scenario: Scenario
    var spec: ReplicaSetSpec { scenario.spec }
    var nodes: [Mongod]
    var now: Duration = .zero
    var queue = EventQueue()
    var waiters: [Int: Waiter] = [:]
    var nextWaiter = 0
    var random: SplitMix64
    var electionsToFail: Int
    var initiatedByUs: Int?
    /// Members (by `_id`) that joined by a non-force reconfig and do not vote yet.
    var newlyAdded: Set<Int> = []

    // What the machine was told and sent, by event sequence number (`seq`, counting deliveries).
    var seq = 0
    var lastFreshDelivered: [Int: Int] = [:]
    var initiateSendSeqs: [Int] = []
    var writeSends: [NodeCommand] = []
    var lastWriteReplySeq = -1
    var writableHellos: [(node: Int, requestSeq: Int, setVersion: Int?)] = []
    var configsDelivered: [(node: Int, requestSeq: Int, config: ReplicaSetConfig)] = []
    /// Configs the machine was told are committed (replSetGetConfig with commitmentStatus).
    var committedTold: [(node: Int, requestSeq: Int, version: Int)] = []
    /// The last config a reconfig of this run installed.
    var installedByRun: ReplicaSetConfig?
    var violations: [String] = []
    var replicaSetIds: Set<String> = []
    var outcome: Outcome?
    var events = 0
    /// What happened, for the failure message of a property check: recorded only when asked
    /// (describing every event costs more than the run itself).
    var tracing = false
    var trace: [String] = []

    static let deadline = Duration.seconds(60)
    static let traceLimit = 3000
    static let connectTimeout = Duration.seconds(2)
    static let electionTimeout = Duration.seconds(10)

    init(_ scenario: Scenario) {
        self.scenario = scenario
        random = SplitMix64(seed: scenario.seed ^ 0x5EED)
        electionsToFail = scenario.failedElections
        nodes = scenario.hosts.enumerated().map { index, host in
            Mongod(host: host, listeningAt: scenario.lost.contains(index) ? .seconds(1_000_000) : .milliseconds(scenario.lateMilliseconds[index]))
        }
        if let existing = scenario.existing {
            switch scenario.shape {
            case .foreignNode:
                var foreign = existing
                foreign.name = "other"
                nodes[nodes.count - 1].config = foreign
                nodes[nodes.count - 1].secondaryAt = .zero
            case .removedNode:
                nodes[nodes.count - 1].config = existing
                nodes[nodes.count - 1].removed = true
            default:
                for index in nodes.indices where existing.member(nodes[index].host) != nil {
                    nodes[index].config = existing
                    nodes[index].secondaryAt = .zero
                    nodes[index].isPrimary = nodes[index].host == scenario.primaryAtStart
                }
                replicaSetIds.insert(existing.replicaSetId!.hex)
                if scenario.primaryAtStart == nil { schedule(.electionTimeout, at: Self.electionTimeout) }
            }
        }
        if let at = scenario.concurrentInitiateAt { schedule(.concurrentInitiate, at: .milliseconds(at)) }
        if let at = scenario.stepDownAt { schedule(.stepDown, at: .milliseconds(at)) }
        schedule(.deadline, at: Self.deadline)
    }

    // MARK: - Running

    mutating func run() {
        var configuration = Machine.Configuration(spec: spec, maxAwaitTime: .seconds(10), seed: scenario.seed)
        configuration.removeMembers = scenario.removeMembers
        configuration.forceReconfig = scenario.forceReconfig
        var machine = Machine(configuration)
        perform(machine.start(at: .zero))
        while outcome == nil, let next = queue.pop() {
            events += 1
            if events > 200_000 {
                violations.append("no end after 200000 events at \(now): livelock")
                return
            }
            now = next.time
            if tracing && trace.count < Self.traceLimit { trace.append("\(now) \(next.event)") }
            perform(handle(next.event, machine: &machine))
            if outcome == nil { perform(wakeWaiters(machine: &machine)) }
        }
        if outcome == nil { violations.append("the machine never finished") }
    }

    private mutating func handle(_ event: Event, machine: inout Machine) -> [Action] {
        switch event {
        case .reply(let index, let command, let requestSeq):
            return deliver(command, from: index, requestSeq: requestSeq, machine: &machine)
        case .writeReply(let index, let command, let answer):
            return deliverWrite(command, answer, from: index, machine: &machine)
        case .awaitTimeout(let id):
            guard let waiter = waiters.removeValue(forKey: id) else { return [] }
            return deliverHello(waiter.node, requestSeq: waiter.requestSeq, machine: &machine)
        case .timer:
            return machine.timerFired(at: now)
        case .deadline:
            return machine.deadlineReached(at: now)
        default:
            happen(event)
            return []
        }
    }

    /// Turns the machine's actions into scheduled replies.
    private mutating func perform(_ actions: [Action]) {
        for action in actions {
            if tracing && trace.count < Self.traceLimit { trace.append("  → \(action)") }
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
        guard let index = nodes.firstIndex(where: { $0.host == host }) else {
            violations.append("\(command) sent to \(host), a host no config or spec names")
            return
        }
        if command.isWrite {
            writeSends.append(command)
            checkWriteAllowed(command, on: index)
        }
        // A host that is down sends no RST: the connection attempt times out.
        let latency = scenario.lost.contains(index) ? Self.connectTimeout : Duration.microseconds(Int64(100 + random.next() % 3000))
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

    // MARK: - Helpers

    func isListening(_ index: Int) -> Bool { isListening(index, at: now) }

    func isListening(_ index: Int, at time: Duration) -> Bool { time >= nodes[index].listeningAt }

    mutating func bump(_ index: Int) {
        nodes[index].counter += 1
    }

    mutating func chance(_ percent: Int) -> Bool {
        Int(random.next() % 100) < percent
    }

    mutating func milliseconds(_ range: ClosedRange<Int64>) -> Duration {
        .milliseconds(range.lowerBound + Int64(random.next() % UInt64(range.upperBound - range.lowerBound + 1)))
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

    mutating func dropWaiters(on index: Int) {
        for (id, waiter) in waiters where waiter.node == index {
            waiters[id] = nil
            schedule(.reply(node: index, command: .awaitHello(nil, maxAwait: .zero), requestSeq: waiter.requestSeq), at: now)
        }
    }

    mutating func schedule(_ event: Event, at time: Duration) {
        queue.push(event, at: time)
    }
}

/// Events by time, then in the order scheduled: a binary heap, so that a thousand schedules of
/// thousands of events each stay fast.
struct EventQueue {
    private var heap: [(time: Duration, order: Int, event: FakeReplicaSet.Event)] = []
    private var order = 0

    mutating func push(_ event: FakeReplicaSet.Event, at time: Duration) {
        order += 1
        heap.append((time, order, event))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard precedes(child, parent) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (time: Duration, event: FakeReplicaSet.Event)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let first = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count && precedes(left, smallest) { smallest = left }
            if right < heap.count && precedes(right, smallest) { smallest = right }
            guard smallest != parent else { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return (first.time, first.event)
    }

    private func precedes(_ i: Int, _ j: Int) -> Bool {
        (heap[i].time, heap[i].order) < (heap[j].time, heap[j].order)
    }
}
