import Testing
import MongoBSON
@testable import ReplicaSetBootstrap

typealias Machine = ReplicaSetStateMachine
typealias Action = ReplicaSetStateMachine.Action

let a = HostAddress(host: "db-0.mongo")
let b = HostAddress(host: "db-1.mongo")
let c = HostAddress(host: "db-2.mongo")
let processId = ObjectId(hex: "65a1b2c3d4e5f60718293a4b")!
let otherProcessId = ObjectId(hex: "65a1b2c3d4e5f60718293a4c")!
let replicaSetId = ObjectId(hex: "65a1b2c3d4e5f60718293aff")!
let maxAwait = Duration.seconds(10)

/// Backoffs without jitter, so tests can name exact delays.
let testReconnect = Backoff(initial: .milliseconds(5), maximum: .milliseconds(100), jitter: 0)
let testReconnectAfterRefusal = Backoff(initial: .milliseconds(2), maximum: .milliseconds(5), jitter: 0)
let testRetry = Backoff(initial: .milliseconds(10), maximum: .seconds(1), jitter: 0)

func spec(_ hosts: [HostAddress], name: String = "rs0") -> ReplicaSetSpec {
    try! ReplicaSetSpec.plain(name: name, nodes: hosts).spec
}

func configuration(_ hosts: [HostAddress], dryRun: Bool = false, waitFor: Machine.WaitFor = .primary, maxConnectionAttempts: Int? = nil) -> Machine.Configuration {
    Machine.Configuration(spec: spec(hosts), dryRun: dryRun, waitFor: waitFor, reconnect: testReconnect, reconnectAfterRefusal: testReconnectAfterRefusal, retry: testRetry,
                          maxAwaitTime: maxAwait, maxConnectionAttempts: maxConnectionAttempts)
}

func tv(_ counter: Int64, _ pid: ObjectId = processId) -> TopologyVersion {
    TopologyVersion(processId: pid, counter: counter)
}

func awaitHello(_ version: TopologyVersion?) -> NodeCommand {
    .awaitHello(version, maxAwait: maxAwait)
}

extension HelloResponse {
    /// An uninitialized or removed node (`isreplicaset: true`, no set name).
    static func noConfig(_ counter: Int64 = 0) -> HelloResponse {
        HelloResponse(isReplicaSet: true, topologyVersion: tv(counter))
    }

    static func member(_ host: HostAddress, _ state: MemberState, setName: String = "rs0", version: Int = 1,
                       primary: HostAddress? = nil, counter: Int64 = 1) -> HelloResponse {
        HelloResponse(
            isWritablePrimary: state == .primary, secondary: state == .secondary || state == .primaryDraining,
            arbiterOnly: state == .arbiter, setName: setName, setVersion: version,
            primary: state == .primary || state == .primaryDraining ? host : primary, me: host,
            topologyVersion: tv(counter))
    }
}

extension MongoError {
    static func refused(_ host: HostAddress) -> MongoError {
        MongoError(.connectionRefused, host: host, message: "connection refused")
    }

    static func code(_ code: ServerErrorCode, _ host: HostAddress, _ message: String = "") -> MongoError {
        .server(code, host: host, message: message)
    }
}

/// The config a plain spec of `hosts` initiates, as mongod returns it afterwards.
func storedConfig(_ hosts: [HostAddress], version: Int = 1, term: Int = 1, id: ObjectId = replicaSetId) -> ReplicaSetConfig {
    var config = spec(hosts).initiateConfig
    config.version = version
    config.term = term
    config.replicaSetId = id
    return config
}

// MARK: - Factories: machines started mid-run by replaying events
//
// Like postgres-nio's `ConnectionStateMachine` test factories (`makeAuthenticatedIdle`), every
// factory checks the actions of each event it replays: a change in the machine shows up where a
// premise of the tests broke, not as a puzzling failure further on.

/// The commands among `actions` are `expected`, in that order.
func expectSends(_ actions: [Action], _ expected: [Action], _ step: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actions.sends == expected, "\(step): \(actions)", sourceLocation: sourceLocation)
}

/// A node's first hello: the next awaitable hello waits on its topology version, and the
/// command connection asks what the hello does not tell (94 or 93; the config).
func expectFirstHello(_ actions: [Action], from host: HostAddress, counter: Int64, asks read: NodeCommand, sourceLocation: SourceLocation = #_sourceLocation) {
    expectSends(actions, [.send(awaitHello(tv(counter)), to: host), .send(read, to: host)], "first hello from \(host)", sourceLocation: sourceLocation)
}

/// Every node answered hello; all but `pending` also confirmed NotYetInitialized (94).
func machineWithFreshNodes(_ hosts: [HostAddress], confirmedExceptLast: Bool = false, dryRun: Bool = false) -> Machine {
    var machine = Machine(configuration(hosts, dryRun: dryRun))
    expectSends(machine.start(at: .zero), hosts.map { .send(awaitHello(nil), to: $0) }, "start")
    for host in hosts {
        expectFirstHello(machine.helloReceived(.noConfig(), from: host, at: .milliseconds(1)), from: host, counter: 0, asks: .getStatus)
    }
    let confirmed = confirmedExceptLast ? Array(hosts.dropLast()) : hosts
    for (index, host) in confirmed.enumerated() {
        let actions = machine.commandFailed(.code(.notYetInitialized, host), from: host, at: .milliseconds(2))
        #expect(actions.contains(.report(.classified(host, .fresh))), "\(host) is fresh: \(actions)")
        let everyNode = index == hosts.count - 1
        if everyNode && dryRun {
            #expect(actions.outcome.map { if case .planned = $0 { true } else { false } } == true, "a dry run plans the initiate: \(actions)")
        } else {
            // Invariant 1: the initiate goes out with the last confirmation, not before.
            let spec = spec(hosts)
            expectSends(actions, everyNode ? [.send(.initiate(spec.initiateConfig), to: spec.initiator)] : [], "94 from \(host)")
        }
    }
    return machine
}

/// `replSetInitiate` was sent to the initiator and acknowledged.
func machineAfterInitiate(_ hosts: [HostAddress]) -> Machine {
    var machine = machineWithFreshNodes(hosts)
    let initiator = spec(hosts).initiator
    let actions = machine.commandSucceeded(.initiated, from: initiator, at: .milliseconds(3))
    #expect(actions.contains(.report(.initiated(initiator))), "\(actions)")
    expectSends(actions, [], "initiate acknowledged: the monitors wait for the members' next state")
    return machine
}

/// After initiate: the other members got the config (STARTUP2), and the initiator reports
/// SECONDARY with its config read.
func machineWithSecondaryInitiator(_ hosts: [HostAddress]) -> (Machine, [Action]) {
    var machine = machineAfterInitiate(hosts)
    let initiator = spec(hosts).initiator
    for host in hosts.filter({ $0 != initiator }) + [initiator] {
        expectFirstHello(machine.helloReceived(.member(host, .other, counter: 1), from: host, at: .milliseconds(4)), from: host, counter: 1, asks: .getConfig)
        expectSends(machine.commandSucceeded(.config(storedConfig(hosts)), from: host, at: .milliseconds(host == initiator ? 5 : 4)), [],
                    "config of \(host): no primary, no SECONDARY yet")
    }
    let actions = machine.helloReceived(.member(initiator, .secondary, counter: 2), from: initiator, at: .milliseconds(6))
    return (machine, actions)
}

/// An existing healthy set: every node answered hello as a member, configs not read yet.
func machineObservingHealthySet(_ hosts: [HostAddress], dryRun: Bool = false, waitFor: Machine.WaitFor = .primary) -> Machine {
    var machine = Machine(configuration(hosts, dryRun: dryRun, waitFor: waitFor))
    expectSends(machine.start(at: .zero), hosts.map { .send(awaitHello(nil), to: $0) }, "start")
    for (index, host) in hosts.enumerated() {
        let hello: HelloResponse = index == 0 ? .member(host, .primary, counter: 5) : .member(host, .secondary, primary: hosts[0], counter: 5)
        // The primary's config is read with its commitment.
        expectFirstHello(machine.helloReceived(hello, from: host, at: .milliseconds(1)), from: host, counter: 5, asks: index == 0 ? .getCommittedConfig : .getConfig)
    }
    return machine
}

extension Array where Element == Action {
    /// The commands among the actions, for tests that do not care about progress lines.
    var sends: [Action] {
        filter { if case .send = $0 { return true } else if case .sendLater = $0 { return true } else { return false } }
    }

    var outcome: Outcome? {
        for action in self { if case .finish(let outcome) = action { return outcome } }
        return nil
    }
}

extension CommandReply {
    /// A primary's answer to replSetGetConfig with commitmentStatus, the config committed.
    static func committed(_ config: ReplicaSetConfig) -> Self {
        .committedConfig(config, committed: true)
    }
}

// MARK: - Existing sets

/// `hosts` are listed; the set's config has `members`, `a` is its primary (config read and
/// committed), the others SECONDARY; listed hosts outside the config are fresh.
func machineWithExistingSet(listed hosts: [HostAddress], members: [HostAddress], removeMembers: Bool = false, dryRun: Bool = false,
                            forceReconfig: Bool = false, config: ReplicaSetConfig? = nil) -> (Machine, [Action]) {
    var configuration = configuration(hosts, dryRun: dryRun)
    configuration.removeMembers = removeMembers
    configuration.forceReconfig = forceReconfig
    var machine = Machine(configuration)
    expectSends(machine.start(at: .zero), hosts.map { .send(awaitHello(nil), to: $0) }, "start")
    let stored = config ?? storedConfig(members)
    var last: [Action] = []
    for (index, host) in hosts.enumerated() {
        if stored.member(host) != nil {
            let hello: HelloResponse = host == a ? .member(a, .primary, version: stored.version, counter: 5)
                : .member(host, .secondary, version: stored.version, primary: a, counter: 5)
            expectFirstHello(machine.helloReceived(hello, from: host, at: .milliseconds(1)), from: host, counter: 5, asks: host == a ? .getCommittedConfig : .getConfig)
            last = machine.commandSucceeded(host == a ? .committed(stored) : .config(stored), from: host, at: .milliseconds(2))
        } else {
            expectFirstHello(machine.helloReceived(.noConfig(), from: host, at: .milliseconds(1)), from: host, counter: 0, asks: .getStatus)
            last = machine.commandFailed(.code(.notYetInitialized, host), from: host, at: .milliseconds(2))
        }
        // Nothing is written before every node was seen; what the last answer brings is the test's.
        if index < hosts.count - 1 {
            // Members the config names and --nodes does not are watched from here.
            let newlyWatched = stored.members.map(\.host).filter { !hosts.contains($0) }.map { Action.send(awaitHello(nil), to: $0) }
            #expect(last.sends.allSatisfy(newlyWatched.contains), "answer of \(host), before every node was seen: \(last)")
        }
    }
    return (machine, last)
}

/// `config` with `host` added under the next `_id`, one version up.
func added(_ config: ReplicaSetConfig, _ host: HostAddress) -> ReplicaSetConfig {
    var next = config
    next.members.append(.init(id: (config.members.map(\.id).max() ?? -1) + 1, host: host))
    next.version += 1
    return next
}

// MARK: - Forced reconfig

func isForce(_ action: Action) -> Bool {
    if case .send(.reconfig(_, true, _), _) = action { return true } else { return false }
}

/// a reachable (SECONDARY), b and c unreachable; --force-reconfig; returns after the first force.
func forcedMachine(aHello: HelloResponse = .member(a, .secondary)) -> (Machine, [Action]) {
    var configuration = configuration([a, b, c])
    configuration.forceReconfig = true
    var machine = Machine(configuration)
    expectSends(machine.start(at: .zero), [a, b, c].map { .send(awaitHello(nil), to: $0) }, "start")
    expectFirstHello(machine.helloReceived(aHello, from: a, at: .milliseconds(1)), from: a, counter: 1, asks: .getConfig)
    expectSends(machine.commandSucceeded(.config(storedConfig([a, b, c])), from: a, at: .milliseconds(2)), [], "a's config, b and c not seen")
    for host in [b, c] {
        // Refused: looked at again within milliseconds (`reconnectAfterRefusal`); nothing forced yet.
        expectSends(machine.helloFailed(.refused(host), from: host, at: .milliseconds(3)),
                    [.sendLater(awaitHello(nil), to: host, after: testReconnectAfterRefusal.initial)], "\(host) refused")
    }
    var forced = machine.timerFired(at: .seconds(11))
    if forced == [.send(.getStatus, to: a)] {
        // a's own view: b and c are down for it too.
        forced = machine.commandSucceeded(.status(SetHealth(unhealthy: [b, c])), from: a, at: .seconds(11) + .milliseconds(1))
    }
    return (machine, forced)
}
