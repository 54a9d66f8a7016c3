/// The whole decision logic of a run, as a value: events in (replies, failures, timers), actions
/// out (commands to send, progress to report, the outcome). It performs no I/O and reads no clock;
/// times are durations since the run started, given with each event.
///
/// Each node has two connections: a monitoring one that waits in `hello` for the node's next
/// state change (awaitable hello, MongoDB 4.4+; polling for older servers), and a command one for
/// everything else. At most one command is in flight per connection.
public struct BootstrapStateMachine: Sendable {
    public struct Configuration: Hashable, Sendable {
        public var spec: ReplicaSetSpec
        /// Notes from building the spec, repeated in the summary.
        public var notes: [String]
        public var dryRun: Bool
        public var waitFor: WaitFor
        /// Between attempts to reach a node that did not answer.
        public var reconnect: Backoff
        /// Between retries of a command that failed.
        public var retry: Backoff
        /// How long one awaitable `hello` waits for a change.
        public var maxAwaitTime: Duration
        /// How often servers without awaitable hello (before 4.4) are polled.
        public var pollInterval: Duration
        /// Give up (exit 69) after this many failed attempts to reach one node (Spica's
        /// `--max-retry-connection`); nil: keep trying until the deadline.
        public var maxConnectionAttempts: Int?
        public var seed: UInt64

        public init(
            spec: ReplicaSetSpec, notes: [String] = [], dryRun: Bool = false, waitFor: WaitFor = .primary,
            reconnect: Backoff = Backoff(initial: .milliseconds(5), maximum: .milliseconds(100)),
            retry: Backoff = Backoff(initial: .milliseconds(10), maximum: .seconds(1)),
            maxAwaitTime: Duration = .seconds(10), pollInterval: Duration = .milliseconds(200),
            maxConnectionAttempts: Int? = nil, seed: UInt64 = 0
        ) {
            self.spec = spec
            self.notes = notes
            self.dryRun = dryRun
            self.waitFor = waitFor
            self.reconnect = reconnect
            self.retry = retry
            self.maxAwaitTime = maxAwaitTime
            self.pollInterval = pollInterval
            self.maxConnectionAttempts = maxConnectionAttempts
            self.seed = seed
        }
    }

    public enum WaitFor: String, Hashable, Sendable, CaseIterable {
        /// A writable primary with the desired config.
        case primary
        /// And every member PRIMARY, SECONDARY or ARBITER.
        case all
    }

    public enum NodeCommand: Hashable, Sendable {
        /// `hello` on the monitoring connection; with a topology version it waits up to
        /// `maxAwait` for the next change.
        case awaitHello(TopologyVersion?, maxAwait: Duration)
        /// A plain `hello` on the command connection, to confirm state after a write.
        case hello
        case getStatus
        case getConfig
        case initiate(ReplicaSetConfig)
        case stepUp
        /// `replSetReconfig` with `maxTimeMS`; `force` only when the user asked for it.
        case reconfig(ReplicaSetConfig, force: Bool, maxTime: Duration)

        public var usesMonitorConnection: Bool {
            if case .awaitHello = self { return true }
            return false
        }

        public var isWrite: Bool {
            switch self {
            case .initiate, .stepUp, .reconfig: return true
            case .awaitHello, .hello, .getStatus, .getConfig: return false
            }
        }
    }

    public enum Action: Hashable, Sendable {
        case send(NodeCommand, to: HostAddress)
        /// A read to send after a delay (reconnect backoff, polling).
        case sendLater(NodeCommand, to: HostAddress, after: Duration)
        /// Call `timerFired` after this long: a retry of a write is due.
        case wakeUp(after: Duration)
        case report(Progress)
        case finish(Outcome)
    }

    /// A successful reply on the command connection.
    public enum CommandReply: Hashable, Sendable {
        case hello(HelloResponse)
        /// `replSetGetStatus` answered ok: the node has a config.
        case statusOK
        case config(ReplicaSetConfig)
        case initiated
        case steppedUp
        case reconfigured
    }

    struct Observed<Value: Hashable & Sendable>: Hashable, Sendable {
        var value: Value
        /// The event sequence number when the request was sent: a reply counts as "seen after a
        /// write" only if it was asked for after the write completed.
        var requestSeq: Int
    }

    enum NodeStatusTracking: Hashable, Sendable {
        case unknown
        case unreachable(MongoError)
        /// `hello` says no config; `replSetGetStatus` will tell fresh from removed.
        case awaitingStatus
        case known(NodeStatus)
    }

    struct Node: Sendable {
        let host: HostAddress
        var status: NodeStatusTracking = .unknown
        var hello: Observed<HelloResponse>?
        var config: Observed<ReplicaSetConfig>?
        /// requestSeq of the last `replSetGetStatus` that answered NotYetInitialized (94).
        var freshConfirmedSeq = -1
        /// The hello (by requestSeq) for which a status was already asked.
        var statusAskedForHello = -1
        var monitorRequestSeq: Int?
        var command: (command: NodeCommand, requestSeq: Int)?
        var commandNotBefore: Duration = .zero
        var commandFailures = 0
        /// The last failure on the command connection, for the final report.
        var lastCommandError: MongoError?
        var connectFailures = 0

        var isMonitorBusy: Bool { monitorRequestSeq != nil }

        var memberStatus: (setName: String, state: MemberState)? {
            if case .known(.member(let setName, _, let state)) = status { return (setName, state) }
            return nil
        }
    }

    public let configuration: Configuration
    private var nodes: [Node]
    private var sequence = 0
    /// Sequence number of the event that completed (or failed) the last write.
    private var lastWriteSeq = -1
    private var lastInitiateSeq = -1
    private var lastInitiateFailed = false
    private var initiatedOn: HostAddress?
    private var initiateFailures = 0
    private var initiateNotBefore: Duration = .zero
    private var lastInitiateError: MongoError?
    private var stepUpFailures = 0
    private var lastStepUpSucceededSeq = -1
    private var stepUpNotBefore: Duration = .zero
    private var wakeUpAt: Duration?
    private var records: [ActionRecord] = []
    private var reportedPrimary: HostAddress?
    private var finished = false
    private var random: SplitMix64

    public init(_ configuration: Configuration) {
        self.configuration = configuration
        self.nodes = configuration.spec.hosts.map { Node(host: $0) }
        self.random = SplitMix64(seed: configuration.seed)
    }

    public var isFinished: Bool { finished }

    /// The write commands sent so far, with their results.
    public var actionsTaken: [ActionRecord] { records }

    private var spec: ReplicaSetSpec { configuration.spec }

    // MARK: - Events

    public mutating func start(at now: Duration) -> [Action] {
        sequence += 1
        var actions: [Action] = []
        for index in nodes.indices {
            actions.append(sendHello(index, topologyVersion: nil))
        }
        return actions
    }

    public mutating func helloReceived(_ hello: HelloResponse, from host: HostAddress, at now: Duration) -> [Action] {
        guard !finished, let index = index(of: host), let requestSeq = nodes[index].monitorRequestSeq else { return [] }
        sequence += 1
        nodes[index].monitorRequestSeq = nil
        nodes[index].connectFailures = 0
        var actions = record(hello, requestSeq: requestSeq, at: index)
        if let version = hello.topologyVersion {
            actions.append(sendHello(index, topologyVersion: version))
        } else {
            actions.append(sendHello(index, topologyVersion: nil, after: configuration.pollInterval))
        }
        return actions + evaluate(now)
    }

    public mutating func helloFailed(_ error: MongoError, from host: HostAddress, at now: Duration) -> [Action] {
        guard !finished, let index = index(of: host), nodes[index].monitorRequestSeq != nil else { return [] }
        sequence += 1
        nodes[index].monitorRequestSeq = nil
        if error.isAuthorizationFailure { return finish(.notAuthorized(error)) }
        nodes[index].connectFailures += 1
        nodes[index].hello = nil
        var actions: [Action] = []
        if case .unreachable(let previous) = nodes[index].status, previous.kind == error.kind {
            // Same trouble as before: no new progress line.
        } else {
            actions.append(.report(.unreachable(host, error)))
        }
        nodes[index].status = .unreachable(error)
        if let limit = configuration.maxConnectionAttempts, nodes[index].connectFailures >= limit {
            return actions + finish(.timedOut(blockers()))
        }
        let delay = configuration.reconnect.delay(afterFailures: nodes[index].connectFailures, random: &random)
        actions.append(sendHello(index, topologyVersion: nil, after: delay))
        return actions + evaluate(now)
    }

    public mutating func commandSucceeded(_ reply: CommandReply, from host: HostAddress, at now: Duration) -> [Action] {
        guard !finished, let index = index(of: host), let pending = nodes[index].command else { return [] }
        sequence += 1
        nodes[index].command = nil
        nodes[index].commandFailures = 0
        nodes[index].lastCommandError = nil
        var actions: [Action] = []
        switch (pending.command, reply) {
        case (.hello, .hello(let hello)):
            actions += record(hello, requestSeq: pending.requestSeq, at: index)
        case (.getStatus, .statusOK):
            // The node got a config since its last hello: wait for the monitor to report it.
            nodes[index].status = .awaitingStatus
            if let hello = nodes[index].hello { nodes[index].statusAskedForHello = hello.requestSeq }
        case (.getConfig, .config(let config)):
            nodes[index].config = Observed(value: config, requestSeq: pending.requestSeq)
        case (.initiate(let config), .initiated):
            lastWriteSeq = sequence
            initiatedOn = host
            records.append(ActionRecord(command: .initiate(config), host: host))
            actions.append(.report(.initiated(host)))
        case (.stepUp, .steppedUp):
            lastWriteSeq = sequence
            lastStepUpSucceededSeq = sequence
            stepUpFailures = 0
            records.append(ActionRecord(command: .stepUp, host: host))
        default:
            // A reply that does not fit the command: the runner's bug, not the server's.
            preconditionFailure("reply \(reply) does not answer \(pending.command)")
        }
        return actions + evaluate(now)
    }

    public mutating func commandFailed(_ error: MongoError, from host: HostAddress, at now: Duration) -> [Action] {
        guard !finished, let index = index(of: host), let pending = nodes[index].command else { return [] }
        sequence += 1
        nodes[index].command = nil
        if error.isAuthorizationFailure { return finish(.notAuthorized(error)) }
        var actions: [Action] = []
        switch pending.command {
        case .getStatus where error.hasCode(.notYetInitialized):
            nodes[index].freshConfirmedSeq = pending.requestSeq
            if host == initiatedOn, pending.requestSeq > lastInitiateSeq, !lastInitiateFailed {
                // The node we initiated has no config again (restarted with an empty dbpath):
                // the initiate is lost, so everything must be confirmed afresh.
                lastInitiateFailed = true
            }
            actions += setStatus(.known(.fresh), at: index)
        case .getStatus where error.hasCode(.invalidReplicaSetConfig):
            actions += setStatus(.known(.removed), at: index)
        case .getStatus where error.hasCode(.noReplicationEnabled):
            actions += setStatus(.known(.standalone), at: index)
        case .awaitHello, .hello, .getStatus, .getConfig:
            // Ask again after the backoff, even for the same hello.
            if pending.command == .getStatus { nodes[index].statusAskedForHello = -1 }
            nodes[index].lastCommandError = error
            nodes[index].commandFailures += 1
            nodes[index].commandNotBefore = now + configuration.retry.delay(afterFailures: nodes[index].commandFailures, random: &random)
        case .initiate(let config):
            records.append(ActionRecord(command: .initiate(config), host: host, error: error))
            lastWriteSeq = sequence
            lastInitiateFailed = true
            lastInitiateError = error
            if let refusal = initiateRefusal(error, host: host) { return actions + finish(.refused(refusal)) }
            initiateFailures += 1
            let delay = configuration.retry.delay(afterFailures: initiateFailures, random: &random)
            initiateNotBefore = now + delay
            actions.append(.report(error.hasCode(.alreadyInitialized) ? .alreadyInitialized(host) : .initiateFailed(host, error, retryIn: delay)))
        case .reconfig:
            preconditionFailure("this version never sends replSetReconfig")
        case .stepUp:
            records.append(ActionRecord(command: .stepUp, host: host, error: error))
            lastWriteSeq = sequence
            stepUpFailures += 1
            let delay = configuration.retry.delay(afterFailures: stepUpFailures, random: &random)
            stepUpNotBefore = now + delay
            actions.append(.report(.stepUpFailed(host, error, retryIn: delay)))
        }
        return actions + evaluate(now)
    }

    public mutating func timerFired(at now: Duration) -> [Action] {
        guard !finished else { return [] }
        sequence += 1
        wakeUpAt = nil
        return evaluate(now)
    }

    /// The overall deadline (`--timeout`) passed.
    public mutating func deadlineReached(at now: Duration) -> [Action] {
        guard !finished else { return [] }
        return finish(.timedOut(blockers()))
    }

    // MARK: - Recording observations

    private mutating func record(_ hello: HelloResponse, requestSeq: Int, at index: Int) -> [Action] {
        if let existing = nodes[index].hello, existing.requestSeq > requestSeq { return [] }
        let previous = nodes[index].hello?.value
        nodes[index].hello = Observed(value: hello, requestSeq: requestSeq)
        if !hello.hasConfig {
            // A config read before is gone (restarted with an empty dbpath, or removed).
            nodes[index].config = nil
        }
        let status: NodeStatusTracking
        if hello.isMongos {
            status = .known(.mongos)
        } else if let setName = hello.setName {
            status = .known(.member(setName: setName, version: hello.setVersion, state: hello.memberState))
        } else if hello.isReplicaSet {
            // Fresh and removed nodes answer alike; keep what replSetGetStatus said only while the
            // node's topology has not changed since.
            let unchanged = previous.map { !$0.hasConfig && $0.topologyVersion != nil && $0.topologyVersion == hello.topologyVersion } ?? false
            switch nodes[index].status {
            case .known(.fresh) where unchanged, .known(.removed) where unchanged:
                status = nodes[index].status
            default:
                status = .awaitingStatus
            }
        } else {
            status = .known(.standalone)
        }
        var actions = setStatus(status, at: index)
        if hello.isWritablePrimary, reportedPrimary != nodes[index].host, hello.setName == spec.name {
            reportedPrimary = nodes[index].host
            actions.append(.report(.primaryWritable(nodes[index].host)))
        }
        return actions
    }

    private mutating func setStatus(_ status: NodeStatusTracking, at index: Int) -> [Action] {
        let previous = nodes[index].status
        nodes[index].status = status
        guard case .known(let known) = status, previous != status else { return [] }
        return [.report(.classified(nodes[index].host, known))]
    }

    // MARK: - Deciding

    private mutating func evaluate(_ now: Duration) -> [Action] {
        guard !finished else { return [] }
        if let refusal = refusal() { return finish(.refused(refusal)) }
        var actions: [Action] = []
        if let current = currentConfig {
            let difference = spec.difference(from: current.value)
            if !difference.satisfiesSpec, observationComplete {
                return finish(.refused(.needsReconfiguration(setName: spec.name, version: current.value.version, difference)))
            }
            if let outcome = verifiedOutcome(current.value) { return finish(outcome) }
            actions += considerStepUp(now, config: current.value)
        } else {
            actions += considerInitiate(now)
        }
        if finished { return actions }
        actions += scheduleReads(now)
        return actions
    }

    /// The newest config of the wanted set among those read.
    private var currentConfig: Observed<ReplicaSetConfig>? {
        var newest: Observed<ReplicaSetConfig>?
        for node in nodes {
            guard let config = node.config, config.value.name == spec.name else { continue }
            if newest == nil || config.value.isNewer(than: newest!.value) { newest = config }
        }
        return newest
    }

    /// Every node has answered at least once (or is unreachable), and every member's config is read.
    private var observationComplete: Bool {
        nodes.allSatisfy { node in
            switch node.status {
            case .unknown, .awaitingStatus: return false
            case .unreachable: return true
            case .known(.member): return node.config != nil
            case .known: return true
            }
        }
    }

    private var allNodesReached: Bool {
        nodes.allSatisfy { if case .known = $0.status { return true } else { return false } }
    }

    private func refusal() -> Refusal? {
        for node in nodes {
            switch node.status {
            case .known(.member(let setName, _, _)) where setName != spec.name:
                return .foreignSet(node.host, setName: setName, wanted: spec.name)
            case .known(.standalone): return .standalone(node.host)
            case .known(.mongos): return .mongos(node.host)
            default: continue
            }
        }
        var ids: [HostAddress: ObjectIdText] = [:]
        for node in nodes {
            if let config = node.config?.value, config.name == spec.name, let id = config.replicaSetId {
                ids[node.host] = id.hex
            }
        }
        if Set(ids.values).count > 1 { return .splitBrain(setName: spec.name, ids) }
        // A removed node is refused only when nothing reachable could still list it; while a
        // config lists it, it is a member that cannot find itself yet (DNS not ready).
        for node in nodes where node.status == .known(.removed) {
            if let current = currentConfig?.value, current.member(node.host) != nil { continue }
            if allNodesReached && observationComplete { return .removedMember(node.host) }
        }
        return nil
    }

    private mutating func considerInitiate(_ now: Duration) -> [Action] {
        guard !nodes.contains(where: { $0.command?.command.isWrite ?? false }) else { return [] }
        // Invariant 1: every listed node reached and reported no config since the last attempt.
        let allFresh = nodes.allSatisfy { node in
            node.status == .known(.fresh) && node.freshConfirmedSeq > lastInitiateSeq && !(node.hello?.value.hasConfig ?? true)
        }
        guard allFresh else { return [] }
        let initiator = spec.initiator
        let config = spec.initiateConfig
        if configuration.dryRun {
            return finish(.planned(plan(steps: [.initiate(initiator, config)])))
        }
        guard now >= initiateNotBefore else { return wakeUp(at: initiateNotBefore, now: now) }
        guard let index = index(of: initiator), nodes[index].command == nil else { return [] }
        lastInitiateSeq = sequence
        lastInitiateFailed = false
        nodes[index].command = (.initiate(config), sequence)
        return [.report(.initiating(initiator, config)), .send(.initiate(config), to: initiator)]
    }

    /// 93 is how mongod re-codes every validation failure of an initiate. Only "maps to this node"
    /// can heal by itself (the initiator's own name does not resolve to it yet).
    private func initiateRefusal(_ error: MongoError, host: HostAddress) -> Refusal? {
        if error.hasCode(.invalidReplicaSetConfig) && !error.message.contains("maps to this node") {
            return .configRejected(host, error)
        }
        if error.hasCode(.nodeNotElectable) { return .configRejected(host, error) }
        return nil
    }

    private mutating func considerStepUp(_ now: Duration, config: ReplicaSetConfig) -> [Action] {
        // A single voter elects itself as soon as it is SECONDARY.
        guard config.members.filter(\.options.isVoter).count > 1 else { return [] }
        let target = spec.preferredPrimary
        // After a won election only a hello asked for since counts; after a lost one the node
        // itself just said it is not primary.
        guard let index = index(of: target), let observed = nodes[index].hello, observed.requestSeq > lastStepUpSucceededSeq,
              observed.value.memberState == .secondary, config.member(target)?.options.isElectable ?? false
        else { return [] }
        // Any sign of a primary (or one being elected and draining) means: let it be.
        let primaryKnown = nodes.contains { node in
            guard let hello = node.hello?.value else { return false }
            return hello.isWritablePrimary || hello.primary != nil
        }
        // Like every write, only once each node was seen, so the refusal checks had their say.
        guard !primaryKnown, nodes[index].command == nil, observationComplete else { return [] }
        // Members vote only once they hold the config: before a majority of voters show it, a
        // step-up can only fail (and bump the term).
        let voters = config.members.filter(\.options.isVoter).map(\.host)
        let votersWithConfig = voters.filter { host in
            guard let hello = nodes.first(where: { $0.host == host })?.hello?.value else { return false }
            return hello.setName == config.name && (hello.setVersion ?? 0) >= config.version
        }
        guard votersWithConfig.count * 2 > voters.count else { return [] }
        if configuration.dryRun { return finish(.planned(plan(steps: [.stepUp(target)]))) }
        guard now >= stepUpNotBefore else { return wakeUp(at: stepUpNotBefore, now: now) }
        nodes[index].command = (.stepUp, sequence)
        return [.report(.steppingUp(target)), .send(.stepUp, to: target)]
    }

    /// Invariant 4: exit 0 only with a writable primary whose hello and config were both asked for
    /// after the last write, the config being the desired one.
    private func verifiedOutcome(_ current: ReplicaSetConfig) -> Outcome? {
        guard observationComplete else { return nil }
        for node in nodes {
            guard let hello = node.hello, hello.value.isWritablePrimary, hello.requestSeq > lastWriteSeq,
                  let config = node.config, config.requestSeq > lastWriteSeq,
                  config.value.name == spec.name, config.value.version == hello.value.setVersion,
                  spec.difference(from: config.value).satisfiesSpec
            else { continue }
            if configuration.waitFor == .all {
                let healthy = nodes.allSatisfy { $0.hello?.value.memberState.isHealthy ?? false }
                guard healthy else { return nil }
            }
            if configuration.dryRun { return .planned(plan(steps: [])) }
            return .converged(summary(primary: node.host, config: config.value))
        }
        return nil
    }

    /// Reads each node needs now, on its command connection.
    private mutating func scheduleReads(_ now: Duration) -> [Action] {
        var actions: [Action] = []
        var earliestRetry: Duration?
        let setExists = currentConfig != nil
        for index in nodes.indices {
            guard nodes[index].command == nil, let read = neededRead(index, setExists: setExists) else { continue }
            if now < nodes[index].commandNotBefore {
                earliestRetry = min(earliestRetry ?? nodes[index].commandNotBefore, nodes[index].commandNotBefore)
                continue
            }
            if read == .getStatus, let hello = nodes[index].hello { nodes[index].statusAskedForHello = hello.requestSeq }
            nodes[index].command = (read, sequence)
            actions.append(.send(read, to: nodes[index].host))
        }
        if let earliestRetry { actions += wakeUp(at: earliestRetry, now: now) }
        return actions
    }

    private func neededRead(_ index: Int, setExists: Bool) -> NodeCommand? {
        let node = nodes[index]
        guard let hello = node.hello else { return nil }
        switch node.status {
        case .awaitingStatus where node.statusAskedForHello != hello.requestSeq:
            return .getStatus
        case .known(.fresh) where !setExists && lastInitiateFailed && node.freshConfirmedSeq <= lastInitiateSeq:
            // Confirm again before another attempt (invariant 1).
            return .getStatus
        case .known(.member(let setName, _, _)) where setName == spec.name:
            let config = node.config
            let stale = config == nil || config!.value.version != hello.value.setVersion
            if stale { return .getConfig }
            if hello.value.isWritablePrimary {
                if config!.requestSeq <= lastWriteSeq { return .getConfig }
                if hello.requestSeq <= lastWriteSeq { return .hello }
            }
            return nil
        default:
            return nil
        }
    }

    // MARK: - Helpers

    private func index(of host: HostAddress) -> Int? {
        nodes.firstIndex { $0.host == host }
    }

    private mutating func sendHello(_ index: Int, topologyVersion: TopologyVersion?, after delay: Duration = .zero) -> Action {
        nodes[index].monitorRequestSeq = sequence
        let command = NodeCommand.awaitHello(topologyVersion, maxAwait: configuration.maxAwaitTime)
        return delay > .zero ? .sendLater(command, to: nodes[index].host, after: delay) : .send(command, to: nodes[index].host)
    }

    private mutating func wakeUp(at time: Duration, now: Duration) -> [Action] {
        if let pending = wakeUpAt, pending <= time, pending > now { return [] }
        wakeUpAt = time
        return [.wakeUp(after: time - now)]
    }

    private mutating func finish(_ outcome: Outcome) -> [Action] {
        finished = true
        return [.finish(outcome)]
    }

    private func summary(primary: HostAddress, config: ReplicaSetConfig) -> Summary {
        let members = config.members.map { member in
            MemberReport(
                host: member.host, id: member.id,
                state: nodes.first { $0.host == member.host }?.hello?.value.memberState,
                votes: member.options.votes, priority: member.options.priority, arbiterOnly: member.options.arbiterOnly)
        }
        return Summary(setName: config.name, primary: primary, configVersion: config.version, members: members,
                       actions: records, notes: notes(for: config))
    }

    private func notes(for config: ReplicaSetConfig?) -> [String] {
        var notes = configuration.notes
        if let config {
            let extra = spec.difference(from: config).extra
            if !extra.isEmpty {
                notes.append("kept \(extra.map(\.description).joined(separator: ", ")): in the set's config but not in --nodes")
            }
        }
        return notes
    }

    private func plan(steps: [Plan.Step]) -> Plan {
        let observed = nodes.map { node -> NodeReport in
            switch node.status {
            case .unknown: return NodeReport(host: node.host, status: "not reached")
            case .unreachable(let error): return NodeReport(host: node.host, status: "unreachable: \(error.message)")
            case .awaitingStatus: return NodeReport(host: node.host, status: "no config (status unknown)")
            case .known(let status): return NodeReport(host: node.host, status: status.description)
            }
        }
        return Plan(setName: spec.name, observed: observed, steps: steps, notes: notes(for: currentConfig?.value))
    }

    /// What is still missing, for a run that ends without converging.
    private func blockers() -> [Blocker] {
        var blockers: [Blocker] = []
        let current = currentConfig?.value
        for node in nodes {
            switch node.status {
            case .unknown: blockers.append(.unreachable(node.host, nil))
            case .unreachable(let error): blockers.append(.unreachable(node.host, error))
            case .awaitingStatus: blockers.append(.unanswered(node.host, "replSetGetStatus", node.lastCommandError))
            case .known(.removed) where current?.member(node.host) != nil: blockers.append(.notFindingItself(node.host))
            default: break
            }
        }
        guard let current else {
            if let lastInitiateError { blockers.append(.initiateFailing(lastInitiateError.host, lastInitiateError)) }
            return blockers
        }
        let primary = nodes.first { $0.hello?.value.isWritablePrimary ?? false }
        if let primary {
            if configuration.waitFor == .all {
                for node in nodes {
                    guard let state = node.hello?.value.memberState, !state.isHealthy else { continue }
                    blockers.append(.notHealthy(node.host, state.rawValue))
                }
            }
            if blockers.isEmpty { blockers.append(.waitingForConfig(primary.host)) }
        } else {
            var states: [HostAddress: String] = [:]
            for node in nodes where current.member(node.host) != nil {
                states[node.host] = node.hello?.value.memberState.rawValue ?? "unreachable"
            }
            blockers.append(.noPrimary(states: states))
        }
        return blockers
    }
}
