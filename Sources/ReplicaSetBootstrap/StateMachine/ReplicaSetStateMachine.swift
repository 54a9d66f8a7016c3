/// The whole decision logic of a run, as a value: events in (replies, failures, timers), actions
/// out (commands to send, progress to report, the outcome). It performs no I/O and reads no clock;
/// times are durations since the run started, given with each event.
///
/// Each node has two connections: a monitoring one that waits in `hello` for the node's next
/// state change (awaitable hello, MongoDB 4.4+; polling for older servers), and a command one for
/// everything else. At most one command is in flight per connection.
///
/// The decisions live in extensions by phase (`+Phase`; `README.md` has the diagram):
/// `+Initiate` (a set that does not exist yet), `+Reconcile` (an existing set: step-up,
/// reconfiguration, forced reconfig), `+Verify` (when to exit 0, and what to report otherwise).
public struct ReplicaSetStateMachine: Sendable {
    public struct Configuration: Hashable, Sendable {
        public var spec: ReplicaSetSpec
        /// Notes from building the spec, repeated in the summary.
        public var notes: [String]
        public var dryRun: Bool
        public var waitFor: WaitFor
        /// Remove members the spec does not list (`--remove-members`).
        public var removeMembers: Bool
        /// Rewrite the names the set records members under to the names given, one member per
        /// committed reconfig (`--rename-members`); otherwise recorded names are kept.
        public var renameMembers: Bool
        /// Force a config when a majority of voters is lost (`--force-reconfig`).
        public var forceReconfig: Bool
        public var initiateStrategy: InitiateStrategy
        /// Between attempts to reach a node that did not answer.
        public var reconnect: Backoff
        /// Between attempts to reach a node that refused the connection: the host is up and its
        /// mongod is starting (or restarting), so look again within milliseconds. A refusal costs
        /// a SYN and a RST, no command; DNS failures and timeouts back off further (`reconnect`).
        public var reconnectAfterRefusal: Backoff
        public static let defaultReconnect = Backoff(initial: .milliseconds(5), maximum: .milliseconds(100))
        public static let defaultReconnectAfterRefusal = Backoff(initial: .milliseconds(2), maximum: .milliseconds(5))
        /// Between retries of a command that failed, and polls of a config's commitment.
        public var retry: Backoff
        /// How long one awaitable `hello` waits for a change.
        public var maxAwaitTime: Duration
        /// How often servers without awaitable hello (before 4.4) are polled.
        public var pollInterval: Duration
        /// `maxTimeMS` of each replSetReconfig: how long mongod waits for commitment.
        public var reconfigMaxTime: Duration
        /// Give up (exit 69) after this many failed attempts to reach one node (Spica's
        /// `--max-retry-connection`); nil: keep trying until the deadline.
        public var maxConnectionAttempts: Int?
        /// Whether the connections use TLS: a node that closes every plain connection at once
        /// probably requires it, worth a hint.
        public var usesTLS: Bool
        /// How often each node may be asked what it already said (see `CommandPacing`): answers
        /// that tell something new are free, so a bootstrap or a long series of reconfigs never
        /// waits; a node that answers at once with the same thing gets 2 commands a second.
        public var pacing: CommandPacing
        public static let defaultPacing = CommandPacing(burst: 8, interval: .milliseconds(500))
        /// Messages a new command connection costs before its first command: libmongoc's
        /// handshake `hello`, plus the authentication conversation when credentials are used;
        /// none on the tool's own plain connections (`ConnectionOptions.messagesPerConnection`).
        public var messagesPerConnection: Int
        /// The same for a new monitor connection (which never authenticates).
        public var monitorMessagesPerConnection: Int
        public var seed: UInt64

        public init(
            spec: ReplicaSetSpec, notes: [String] = [], dryRun: Bool = false, waitFor: WaitFor = .primary,
            removeMembers: Bool = false, renameMembers: Bool = false, forceReconfig: Bool = false, initiateStrategy: InitiateStrategy = .full,
            reconnect: Backoff = Configuration.defaultReconnect,
            reconnectAfterRefusal: Backoff = Configuration.defaultReconnectAfterRefusal,
            retry: Backoff = Backoff(initial: .milliseconds(10), maximum: .seconds(1)),
            maxAwaitTime: Duration = .seconds(10), pollInterval: Duration = .milliseconds(200),
            reconfigMaxTime: Duration = .seconds(10), maxConnectionAttempts: Int? = nil,
            pacing: CommandPacing = Configuration.defaultPacing, messagesPerConnection: Int = 1, monitorMessagesPerConnection: Int = 1,
            usesTLS: Bool = false, seed: UInt64 = 0
        ) {
            self.spec = spec
            self.notes = notes
            self.dryRun = dryRun
            self.waitFor = waitFor
            self.removeMembers = removeMembers
            self.renameMembers = renameMembers
            self.forceReconfig = forceReconfig
            self.initiateStrategy = initiateStrategy
            self.reconnect = reconnect
            self.reconnectAfterRefusal = reconnectAfterRefusal
            self.retry = retry
            self.maxAwaitTime = maxAwaitTime
            self.pollInterval = pollInterval
            self.reconfigMaxTime = reconfigMaxTime
            self.maxConnectionAttempts = maxConnectionAttempts
            self.pacing = pacing
            self.messagesPerConnection = messagesPerConnection
            self.monitorMessagesPerConnection = monitorMessagesPerConnection
            self.usesTLS = usesTLS
            self.seed = seed
        }
    }

    public enum WaitFor: String, Hashable, Sendable, CaseIterable {
        /// A writable primary with the desired config.
        case primary
        /// And every member PRIMARY, SECONDARY or ARBITER.
        case all
    }

    public enum InitiateStrategy: String, Hashable, Sendable, CaseIterable {
        /// Initiate the whole set once every node is reachable and fresh.
        case full
        /// Initiate the initiator alone as soon as it is reachable, add the others as they come.
        case incremental
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

    /// One node as the run tracks it: what it last answered, its two connections, its pacing.
    struct TrackedNode: Sendable {
        let host: HostAddress
        /// Requested by the user (`--nodes`, the spec); false for members found in a config,
        /// watched because the primary, or a majority, may be among them.
        var listed = true
        var status: NodeStatusTracking = .unknown
        var hello: Observed<HelloResponse>?
        var config: Observed<ReplicaSetConfig>?
        /// Whether `config` is majority committed, when it was read with commitmentStatus.
        var configCommitted: Bool?
        /// Polls of a config not yet committed, for their backoff.
        var commitmentPolls = 0
        /// requestSeq of the last `replSetGetStatus` that answered NotYetInitialized (94).
        var freshConfirmedSeq: Int?
        /// The hello (by requestSeq) for which a status was already asked.
        var statusAskedForHello: Int?
        /// How this node sees the set (`replSetGetStatus`), for a forced reconfig.
        var health: Observed<SetHealth>?
        /// The last classification reported, so a polled node is not reported again and again.
        var reported: NodeStatus?
        /// Commands to this node, paced whatever it answers.
        var pacing: CommandPacing
        /// The connection that waits in `hello` for the node's next change.
        var monitor = MonitorConnection()
        /// The connection for everything else.
        var commands = CommandConnection()
        var credentials = CredentialsSeen()

        init(host: HostAddress, listed: Bool = true, pacing: CommandPacing) {
            self.host = host
            self.listed = listed
            self.pacing = pacing
        }

        var isFresh: Bool { status == .known(.fresh) }
    }

    /// The monitoring connection: one awaitable `hello` at a time, and a reconnect backoff.
    struct MonitorConnection: Sendable {
        /// The event sequence number of the hello in flight.
        var requestSeq: Int?
        /// Open, as far as the replies tell: its next request costs no handshake. A network
        /// error makes the driver start a new one.
        var isOpen = false
        /// What the last request was charged, to refund an attempt that never reached the node.
        var charge = 0
        /// Attempts in a row that did not reach the node, for the reconnect backoff.
        var failures = 0
    }

    /// The command connection: at most one command in flight, and a backoff after failures.
    struct CommandConnection: Sendable {
        var pending: (command: NodeCommand, requestSeq: Int)?
        /// The write in flight, as an index into `records`.
        var pendingRecord: Int?
        /// Open, as far as the replies tell (see `MonitorConnection.isOpen`).
        var isOpen = false
        /// What the last read was charged (writes are not), to refund one that never reached the node.
        var charge = 0
        /// Reads that failed in a row, for the retry backoff.
        var failures = 0
        /// No read before this (the backoff after a failure, or between commitment polls).
        var notBefore: Duration = .zero
        /// The last failure, for the final report.
        var lastError: MongoError?
    }

    /// How the node answered the credentials, for telling a wrong password from a new member
    /// that has no users yet (`credentialsVerdict`).
    struct CredentialsSeen: Sendable {
        /// A command on this node was answered as an authenticated one.
        var accepted = false
        /// The credentials this new node rejected (see `credentialsRejected`).
        var rejected: MongoError?
        /// Found to be waiting for the set's users while other members accept them.
        var awaitingUsers = false
    }

    public let configuration: Configuration
    /// Only ever appended to, through `appendNode`, which keeps `nodeIndices`.
    var nodes: [TrackedNode]
    /// Where each host is in `nodes`: looked up for every reply and every config member.
    private var nodeIndices: [HostAddress: Int] = [:]
    /// The node whose config is `currentConfig`, and the nodes `watchedIndices` lists: asked
    /// for several times at every event, they change only when a config is read or dropped, a
    /// node is added or a recorded name is learnt, so they are kept up to date then (a run has
    /// events in proportion to the members: a pass over every node at each one is quadratic).
    private var newestConfigIndex: Int?
    private(set) var watchedIndices: [Int] = []
    var sequence = 0
    /// Sequence number of the event that completed (or failed) the last write; nil before.
    var lastWriteSeq: Int?
    var finished = false
    var random: SplitMix64
    var records: [ActionRecord] = []
    var reportedPrimary: HostAddress?
    /// Given names (`--nodes`) the set records under another name, and the spec in the set's
    /// names (see `+Identity`).
    var recordedNames: [HostAddress: HostAddress] = [:]
    var mappedSpec: ReplicaSetSpec {
        didSet { preferredPrimary = mappedSpec.preferredPrimary }
    }
    /// The spec's preferred primary, asked for at every event until one is elected: kept, not
    /// searched for among up to 50 members each time.
    private(set) var preferredPrimary: HostAddress
    var wakeUpAt: Duration?
    /// The time of the event being handled.
    var now: Duration = .zero

    var initiate = InitiateAttempts()
    var stepUp = StepUpAttempts()
    var reconfiguration = ReconfigurationProgress()
    var tlsHintGiven = false
    /// Servers before 4.4 do not know commitmentStatus.
    var commitmentStatusUnsupported = false

    public init(_ configuration: Configuration) {
        self.configuration = configuration
        self.nodes = []
        self.mappedSpec = configuration.spec
        self.preferredPrimary = configuration.spec.preferredPrimary
        self.random = SplitMix64(seed: configuration.seed)
        for host in configuration.spec.hosts { appendNode(TrackedNode(host: host, pacing: configuration.pacing)) }
        refreshWatched()
    }

    public var isFinished: Bool { finished }

    /// The write commands sent so far, with their results.
    public var actionsTaken: [ActionRecord] { records }

    /// The desired set, in the names the set records its members under.
    var spec: ReplicaSetSpec { mappedSpec }

    // MARK: - Events

    public mutating func start(at now: Duration) -> [Action] {
        sequence += 1
        self.now = now
        return nodes.indices.map { sendHello($0, topologyVersion: nil) }
    }

    public mutating func helloReceived(_ hello: HelloResponse, from host: HostAddress, at now: Duration) -> [Action] {
        guard !finished, let index = index(of: host), let requestSeq = nodes[index].monitor.requestSeq else { return [] }
        sequence += 1
        self.now = now
        nodes[index].monitor.requestSeq = nil
        nodes[index].monitor.isOpen = true
        nodes[index].monitor.failures = 0
        // Only a hello that says the same as the last one counts against the node's pacing: a
        // mongod answers an awaitable hello early only when its state changed.
        if nodes[index].hello.map({ !$0.value.saysTheSame(as: hello) }) ?? true {
            nodes[index].pacing.refund(cost: nodes[index].monitor.charge)
        }
        var actions = record(hello, requestSeq: requestSeq, at: index)
        if let version = hello.topologyVersion {
            actions.append(sendHello(index, topologyVersion: version))
        } else {
            actions.append(sendHello(index, topologyVersion: nil, after: configuration.pollInterval))
        }
        return actions + evaluate(now)
    }

    public mutating func helloFailed(_ error: MongoError, from host: HostAddress, at now: Duration) -> [Action] {
        guard !finished, let index = index(of: host), nodes[index].monitor.requestSeq != nil else { return [] }
        sequence += 1
        self.now = now
        nodes[index].monitor.requestSeq = nil
        if error.isAccessDenied { return finish(.notAuthorized(error)) }
        if error.kind == .invalidReply { return finish(.refused(.invalidReply(error))) }
        if error.dropsConnection { nodes[index].monitor.isOpen = false }
        if !error.reachedNode { nodes[index].pacing.refund(cost: nodes[index].monitor.charge) }
        nodes[index].monitor.failures += 1
        nodes[index].hello = nil
        var actions: [Action] = []
        if case .unreachable(let previous) = nodes[index].status, previous.kind == error.kind {
            // Same trouble as before: no new progress line.
        } else if isShadowed(index) {
            // Watched through the listed node it is.
        } else {
            actions.append(.report(.unreachable(host, error)))
        }
        nodes[index].status = .unreachable(error)
        if error.suggestsTLS && !configuration.usesTLS && nodes[index].monitor.failures >= 3 && !tlsHintGiven {
            tlsHintGiven = true
            actions.append(.report(.waiting("hint: \(Blocker.tlsHint(host))")))
        }
        // Spica's limit is about the nodes the user listed, not members found in a config.
        if let limit = configuration.maxConnectionAttempts, nodes[index].listed, nodes[index].monitor.failures >= limit {
            return actions + finish(.timedOut(blockers()))
        }
        let backoff = error.kind == .connectionRefused ? configuration.reconnectAfterRefusal : configuration.reconnect
        let delay = backoff.delay(afterFailures: nodes[index].monitor.failures, random: &random)
        actions.append(sendHello(index, topologyVersion: nil, after: delay))
        return actions + evaluate(now)
    }

    public mutating func commandSucceeded(_ reply: CommandReply, from host: HostAddress, at now: Duration) -> [Action] {
        guard let (index, pending) = takePendingCommand(on: host, at: now) else { return [] }
        nodes[index].commands.isOpen = true
        nodes[index].credentials.accepted = true
        nodes[index].credentials.rejected = nil
        nodes[index].credentials.awaitingUsers = false
        nodes[index].commands.failures = 0
        if tellsSomethingNew(reply, at: index) { nodes[index].pacing.refund(cost: nodes[index].commands.charge) }
        nodes[index].commands.lastError = nil
        var actions: [Action] = []
        // A reply that does not answer the command is the runner's bug, not the server's.
        let mismatch = { preconditionFailure("reply \(reply) does not answer \(pending.command)") as Never }
        switch reply {
        case .hello(let hello):
            guard pending.command == .hello else { mismatch() }
            actions += record(hello, requestSeq: pending.requestSeq, at: index)
        case .status(let health):
            guard pending.command == .getStatus else { mismatch() }
            nodes[index].health = Observed(value: health, requestSeq: pending.requestSeq)
            // The node got a config since the hello that asked: unless a newer hello already shows
            // it, wait for the monitor to report it.
            if !(nodes[index].hello?.value.hasConfig ?? false), nodes[index].status == .awaitingStatus || nodes[index].isFresh {
                nodes[index].status = .awaitingStatus
                if let hello = nodes[index].hello { nodes[index].statusAskedForHello = hello.requestSeq }
            }
        case .config(let config):
            guard pending.command == .getConfig else { mismatch() }
            if let contradiction = contradiction(config, at: index) { return finish(.refused(.invalidReply(contradiction))) }
            setConfig(Observed(value: config, requestSeq: pending.requestSeq), at: index)
            nodes[index].configCommitted = nil
            actions += watchMembers(of: config, from: index)
        case .committedConfig(let config, let committed):
            guard pending.command == .getCommittedConfig else { mismatch() }
            if let contradiction = contradiction(config, at: index) { return finish(.refused(.invalidReply(contradiction))) }
            setConfig(Observed(value: config, requestSeq: pending.requestSeq), at: index)
            nodes[index].configCommitted = committed
            actions += watchMembers(of: config, from: index)
            if committed == nil {
                // A server before 4.4 ignores commitmentStatus: plain reads from now on.
                commitmentStatusUnsupported = true
            } else if committed == false {
                // Ask again, less and less often: mongod is propagating it to a majority of voters.
                nodes[index].commitmentPolls += 1
                nodes[index].commands.notBefore = now + configuration.retry.delay(afterFailures: nodes[index].commitmentPolls, random: &random)
            } else {
                nodes[index].commitmentPolls = 0
            }
        case .initiated:
            guard case .initiate = pending.command else { mismatch() }
            completeWrite(on: index, error: nil)
            initiate.acknowledged(by: host)
            actions.append(.report(.initiated(host)))
        case .steppedUp:
            guard pending.command == .stepUp else { mismatch() }
            completeWrite(on: index, error: nil)
            stepUp.won(at: sequence)
        case .reconfigured:
            guard case .reconfig(let config, _, _) = pending.command else { mismatch() }
            actions += reconfigSucceeded(config, on: index)
        case .steppedDown:
            guard pending.command == .stepDown else { mismatch() }
            completeWrite(on: index, error: nil)
        }
        return actions + evaluate(now)
    }

    public mutating func commandFailed(_ error: MongoError, from host: HostAddress, at now: Duration) -> [Action] {
        guard let (index, pending) = takePendingCommand(on: host, at: now) else { return [] }
        if error.isAccessDenied {
            if error.isAuthenticationFailure, !pending.command.isWrite, isNew(index) {
                return credentialsRejected(error, at: index) + evaluate(now)
            }
            return finish(.notAuthorized(explained(error)))
        }
        if case .server = error.kind { nodes[index].credentials.accepted = true }
        if error.kind == .invalidReply {
            if pending.command.isWrite { completeWrite(on: index, error: error) }
            return finish(.refused(.invalidReply(error)))
        }
        nodes[index].commands.isOpen = !error.dropsConnection
        if !error.reachedNode { nodes[index].pacing.refund(cost: nodes[index].commands.charge) }
        var actions: [Action] = []
        // A status answer older than a hello that already shows a config says nothing new.
        let staleStatus = pending.command == .getStatus && (nodes[index].hello?.value.hasConfig ?? false)
        switch pending.command {
        case .getStatus where staleStatus && !error.isNetworkError:
            break
        case .getStatus where error.hasCode(.notYetInitialized):
            nodes[index].freshConfirmedSeq = pending.requestSeq
            // The node we initiated may have no config again: then everything must be confirmed afresh.
            initiate.reportedNoConfig(host, askedAt: pending.requestSeq)
            actions += setStatus(.known(.fresh), at: index)
        case .getStatus where error.hasCode(.invalidReplicaSetConfig):
            actions += setStatus(.known(.removed), at: index)
        case .getStatus where error.hasCode(.noReplicationEnabled):
            actions += setStatus(.known(.standalone), at: index)
        case .awaitHello, .hello, .getStatus, .getConfig, .getCommittedConfig:
            // Ask again after the backoff, even for the same hello.
            if pending.command == .getStatus { nodes[index].statusAskedForHello = nil }
            nodes[index].commands.lastError = error
            nodes[index].commands.failures += 1
            nodes[index].commands.notBefore = now + configuration.retry.delay(afterFailures: nodes[index].commands.failures, random: &random)
        case .initiate:
            actions += initiateFailed(error, on: index, at: now)
        case .stepUp:
            completeWrite(on: index, error: error)
            let delay = stepUp.failed(at: now, backoff: configuration.retry, random: &random)
            actions.append(.report(.stepUpFailed(host, error, retryIn: delay)))
        case .reconfig(let config, _, _):
            actions += reconfigFailed(config, error, on: index, at: now)
        case .stepDown:
            actions += stepDownFailed(error, on: index, at: now)
        }
        return actions + evaluate(now)
    }

    /// The command in flight on the node's command connection, which the event at `now`
    /// answers: counted as an event, and the connection free again. Nil when the event answers
    /// nothing (the run finished, an unknown host, nothing in flight).
    private mutating func takePendingCommand(on host: HostAddress, at now: Duration) -> (index: Int, pending: (command: NodeCommand, requestSeq: Int))? {
        guard !finished, let index = index(of: host), let pending = nodes[index].commands.pending else { return nil }
        sequence += 1
        self.now = now
        nodes[index].commands.pending = nil
        return (index, pending)
    }

    public mutating func timerFired(at now: Duration) -> [Action] {
        guard !finished else { return [] }
        sequence += 1
        self.now = now
        wakeUpAt = nil
        return evaluate(now)
    }

    /// The overall deadline (`--timeout`) passed.
    public mutating func deadlineReached(at now: Duration) -> [Action] {
        guard !finished else { return [] }
        self.now = now
        return finish(.timedOut(blockers()))
    }

    // MARK: - Recording observations

    private mutating func record(_ hello: HelloResponse, requestSeq: Int, at index: Int) -> [Action] {
        // A reply asked for earlier is kept only when it shows a newer state of the same process
        // (a monitor's awaitable hello that returned on a change after a command hello was asked).
        if let existing = nodes[index].hello, existing.requestSeq > requestSeq,
           !hello.isNewerTopology(than: existing.value) { return [] }
        let previous = nodes[index].hello?.value
        nodes[index].hello = Observed(value: hello, requestSeq: requestSeq)
        if !hello.hasConfig {
            // A config read before is gone (restarted with an empty dbpath, or removed).
            setConfig(nil, at: index)
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
            case .known(.fresh) where unchanged, .known(.removed) where unchanged, .known(.newWithoutUsers) where unchanged:
                status = nodes[index].status
            case .unknown, .unreachable, .awaitingStatus, .known:
                status = .awaitingStatus
            }
        } else {
            status = .known(.standalone)
        }
        var actions = noteRecordedName(at: index)
        if finished { return actions }
        actions += setStatus(status, at: index)
        let member = memberName(index)
        if hello.isWritablePrimary, reportedPrimary != member, hello.setName == spec.name, !isShadowed(index) {
            reportedPrimary = member
            actions.append(.report(.primaryWritable(nodes[index].host)))
        }
        return actions
    }

    /// Starts watching the members of the wanted set's config that were not listed. A config
    /// holds at most 50 members (mongod's limit, checked when it is read), and all the configs
    /// read may together add at most that many hosts the user did not list: nodes cannot make
    /// the tool contact hosts without end.
    private mutating func watchMembers(of config: ReplicaSetConfig, from index: Int) -> [Action] {
        guard config.name == spec.name else { return [] }
        let new = config.members.map(\.host).filter { nodeIndex(forMember: $0) == nil }
        let found = nodes.indices.count { !nodes[$0].listed }
        guard found + new.count <= ReplicaSetSpec.maxMembers else {
            let error = MongoError(.invalidReply, host: nodes[index].host,
                                   message: "replSetGetConfig reply: its members and those of the configs read before name \(found + new.count) hosts not in --nodes, more than a replica set can have (\(ReplicaSetSpec.maxMembers))",
                                   command: "replSetGetConfig")
            return finish(.refused(.invalidReply(error)))
        }
        var actions: [Action] = []
        for host in new {
            appendNode(TrackedNode(host: host, listed: false, pacing: configuration.pacing))
            actions.append(sendHello(nodes.count - 1, topologyVersion: nil))
        }
        if !new.isEmpty { refreshWatched() }
        return actions
    }

    /// A config that contradicts the node's own hello: a mongod's config always bears the name
    /// its hello reports (`ReplicationCoordinatorImpl::fillIsMasterForReplSet`).
    private func contradiction(_ config: ReplicaSetConfig, at index: Int) -> MongoError? {
        guard let setName = nodes[index].hello?.value.setName, setName != config.name else { return nil }
        return MongoError(.invalidReply, host: nodes[index].host,
                          message: "replSetGetConfig reply: the config is named '\(config.name.printable(limit: 80))' but the node's hello reports set '\(setName.printable(limit: 80))'",
                          command: "replSetGetConfig")
    }

    mutating func setStatus(_ status: NodeStatusTracking, at index: Int) -> [Action] {
        nodes[index].status = status
        guard case .known(let known) = status, nodes[index].reported != known, !isShadowed(index) else { return [] }
        nodes[index].reported = known
        return [.report(.classified(nodes[index].host, known))]
    }

    // MARK: - Deciding

    mutating func evaluate(_ now: Duration) -> [Action] {
        guard !finished else { return [] }
        if let refusal = refusal() { return finish(.refused(refusal)) }
        var actions = credentialsVerdict() ?? []
        if finished { return actions }
        switch phase {
        case .initiating:
            actions += considerInitiate(now)
        case .electing(let config):
            if let outcome = verifiedOutcome() { return finish(outcome) }
            actions += considerForce(now, config: config) ?? considerStepUp(now, config: config)
        case .reconfiguring(let primary, _):
            if let outcome = verifiedOutcome() { return finish(outcome) }
            actions += reconfigure(now, primary: primary)
        }
        if finished { return actions }
        actions += scheduleReads(now)
        return actions
    }

    /// The newest config of the wanted set among those read.
    var currentConfig: Observed<ReplicaSetConfig>? {
        newestConfigIndex.flatMap { nodes[$0].config }
    }

    /// The nodes that matter now: the listed ones, and the members of the set's config.
    var watchedNodes: [TrackedNode] {
        watchedIndices.map { nodes[$0] }
    }

    /// The node's config, read (or gone); the facts derived from the configs follow it.
    mutating func setConfig(_ config: Observed<ReplicaSetConfig>?, at index: Int) {
        let watchedMembers = currentConfig?.value.members
        nodes[index].config = config
        var newest: Int?
        for candidate in nodes.indices {
            guard let config = nodes[candidate].config, config.value.name == spec.name else { continue }
            if let newest, !config.value.isNewer(than: nodes[newest].config!.value) { continue }
            newest = candidate
        }
        newestConfigIndex = newest
        if currentConfig?.value.members != watchedMembers { refreshWatched() }
    }

    /// After a change to what `watchedIndices` derives from.
    mutating func refreshWatched() {
        let members = Set(currentConfig?.value.members.map(\.host) ?? [])
        watchedIndices = nodes.indices.filter { nodes[$0].listed || (members.contains(nodes[$0].host) && !isShadowed($0)) }
    }

    /// Every node has answered at least once (or is unreachable), and every member's config is read.
    var observationComplete: Bool {
        watchedIndices.allSatisfy { index in
            switch nodes[index].status {
            case .unknown, .awaitingStatus: return false
            case .unreachable: return true
            // A new member without the set's users yet cannot show its config; the primary's counts.
            case .known(.member): return nodes[index].config != nil || nodes[index].credentials.awaitingUsers
            case .known: return true
            }
        }
    }

    var allNodesReached: Bool {
        watchedIndices.allSatisfy { if case .known = nodes[$0].status { return true } else { return false } }
    }

    /// The node that says it is the writable primary of the wanted set.
    var writablePrimary: Int? {
        nodes.indices.first { nodes[$0].hello?.value.isWritablePrimary == true && nodes[$0].hello?.value.setName == spec.name }
    }

    private func refusal() -> Refusal? {
        for index in watchedIndices {
            switch nodes[index].status {
            case .known(.member(let setName, _, _)) where setName != spec.name:
                return .foreignSet(nodes[index].host, setName: setName, wanted: spec.name)
            case .known(.standalone): return .standalone(nodes[index].host)
            case .known(.mongos): return .mongos(nodes[index].host)
            case .unknown, .unreachable, .awaitingStatus, .known: continue
            }
        }
        if let ids = replicaSetIds(), Set(ids.values).count > 1 { return .splitBrain(setName: spec.name, ids) }
        // A removed node is refused only when nothing reachable could still list it; while a
        // config lists it, it is a member that cannot find itself yet (DNS not ready). A member
        // found in a config and removed since (by this run, say) is no longer watched.
        for index in nodes.indices where nodes[index].listed && nodes[index].status == .known(.removed) && !reconfiguration.removes(nodes[index].host) {
            if let current = currentConfig?.value, current.member(nodes[index].host) != nil { continue }
            if allNodesReached && observationComplete { return .removedMember(nodes[index].host) }
        }
        return nil
    }

    /// The replica set id each watched node's config of the wanted set bears, when they are
    /// not all the same one; nil when they are (the usual case, told without writing any out).
    private func replicaSetIds() -> [HostAddress: ObjectIdText]? {
        var first: Int?
        var differ = false
        for index in watchedIndices {
            guard let config = nodes[index].config, config.value.name == spec.name, let id = config.value.replicaSetId else { continue }
            guard let first else { first = index; continue }
            if nodes[first].config?.value.replicaSetId != id { differ = true }
        }
        guard differ else { return nil }
        var ids: [HostAddress: ObjectIdText] = [:]
        for index in watchedIndices {
            if let config = nodes[index].config?.value, config.name == spec.name, let id = config.replicaSetId {
                ids[nodes[index].host] = id.hex
            }
        }
        return ids
    }

    /// Reads each node needs now, on its command connection.
    private mutating func scheduleReads(_ now: Duration) -> [Action] {
        var actions: [Action] = []
        var earliestRetry: Duration?
        let setExists = currentConfig != nil
        for index in nodes.indices {
            guard nodes[index].commands.pending == nil, let read = neededRead(index, setExists: setExists) else { continue }
            let cost = commandCost(index)
            let allowed = max(nodes[index].commands.notBefore, nodes[index].pacing.earliest(cost: cost, at: now))
            if now < allowed {
                earliestRetry = min(earliestRetry ?? allowed, allowed)
                continue
            }
            nodes[index].pacing.charge(cost: cost, at: now)
            nodes[index].commands.charge = cost
            if read == .getStatus, let hello = nodes[index].hello { nodes[index].statusAskedForHello = hello.requestSeq }
            nodes[index].commands.pending = (read, sequence)
            actions.append(.send(read, to: nodes[index].host))
        }
        if let earliestRetry { actions += wakeUp(at: earliestRetry, now: now) }
        return actions
    }

    private func neededRead(_ index: Int, setExists: Bool) -> NodeCommand? {
        // Fields read in place: copying the node, at every event for every node, was most of the cost.
        guard let hello = nodes[index].hello else { return nil }
        switch nodes[index].status {
        case .awaitingStatus where nodes[index].statusAskedForHello != hello.requestSeq:
            return .getStatus
        case .known(.fresh) where !setExists && initiate.lastFailed && !nodes[index].isConfirmedFresh(since: initiate):
            // Confirm again before another attempt (invariant 1).
            return .getStatus
        case .known(.member(let setName, _, _)) where setName == spec.name:
            // The primary's config is read with its commitment: reconfigs wait for it.
            let read: NodeCommand = hello.value.isWritablePrimary && !commitmentStatusUnsupported ? .getCommittedConfig : .getConfig
            guard let config = nodes[index].config else { return read }
            if let version = hello.value.setVersion, config.value.version > version {
                // The hello is older than the config read: ask for a fresh one, not the config again.
                return !isAfterLastWrite(hello.requestSeq) || hello.requestSeq < config.requestSeq ? .hello : nil
            }
            guard config.value.version == hello.value.setVersion else { return read }
            if hello.value.isWritablePrimary {
                if !isAfterLastWrite(config.requestSeq) { return read }
                if needsCommitment(config.value) && read == .getCommittedConfig && nodes[index].configCommitted != true { return read }
                if !isAfterLastWrite(hello.requestSeq) { return .hello }
            }
            return nil
        case .unknown, .unreachable, .awaitingStatus, .known:
            return nil
        }
    }

    /// Whether the primary's config must be committed before going on: before each reconfig,
    /// and before exit 0 after this run reconfigured. A set only initiated or left as it was
    /// need not wait: after an election mongod's own config term bump commits only once a
    /// majority finished its initial sync.
    func needsCommitment(_ config: ReplicaSetConfig) -> Bool {
        reconfiguredThisRun || !fullPlanner(from: config).isSatisfied(by: config)
    }

    /// A reconfig of this run may have been installed: every one but those mongod definitely
    /// rejected before installing (after 189 or a lost reply, it may well be in place).
    var reconfiguredThisRun: Bool {
        records.contains { record in
            guard case .reconfig = record.command else { return false }
            guard let error = record.error else { return true }
            return !(error.knownCode?.rejectsReconfigBeforeInstalling ?? false)
        }
    }

    /// Some node has a write in flight.
    var writeInFlight: Bool {
        nodes.contains { $0.commands.pending?.command.isWrite ?? false }
    }

    // MARK: - Helpers

    func index(of host: HostAddress) -> Int? {
        nodeIndices[host]
    }

    /// A host keeps the index it was first seen at.
    mutating func appendNode(_ node: TrackedNode) {
        if nodeIndices[node.host] == nil { nodeIndices[node.host] = nodes.count }
        nodes.append(node)
    }

    /// The next monitor hello, no sooner than `delay` from now and than the node's pacing allows.
    private mutating func sendHello(_ index: Int, topologyVersion: TopologyVersion?, after delay: Duration = .zero) -> Action {
        nodes[index].monitor.requestSeq = sequence
        let cost = 1 + (nodes[index].monitor.isOpen ? 0 : configuration.monitorMessagesPerConnection)
        let delay = nodes[index].pacing.schedule(cost: cost, at: now + delay) - now
        nodes[index].monitor.charge = cost
        let command = NodeCommand.awaitHello(topologyVersion, maxAwait: configuration.maxAwaitTime)
        return delay > .zero ? .sendLater(command, to: nodes[index].host, after: delay) : .send(command, to: nodes[index].host)
    }

    /// Whether a read's answer differs from what was known (a config being committed, a state
    /// reached): such answers do not count against the node's pacing. Writes were not charged.
    private func tellsSomethingNew(_ reply: CommandReply, at index: Int) -> Bool {
        let node = nodes[index]
        switch reply {
        case .hello(let hello): return node.hello.map { !$0.value.saysTheSame(as: hello) } ?? true
        case .status(let health): return node.health?.value != health
        case .config(let config): return node.config?.value != config
        case .committedConfig(let config, let committed): return node.config?.value != config || node.configCommitted != committed
        case .initiated, .steppedUp, .reconfigured, .steppedDown: return false
        }
    }

    /// A config as the receiving server reads it: mongod before 5.0 (wire version 13) knows a
    /// member's delay only as `slaveDelay` (SERVER-54962).
    private func inServerDialect(_ command: NodeCommand, for index: Int) -> NodeCommand {
        guard let wire = nodes[index].hello?.value.maxWireVersion, (1..<13).contains(wire) else { return command }
        switch command {
        case .initiate(var config):
            config.delayField = .slaveDelay
            return .initiate(config)
        case .reconfig(var config, let force, let maxTime):
            config.delayField = .slaveDelay
            return .reconfig(config, force: force, maxTime: maxTime)
        case .awaitHello, .hello, .getStatus, .getConfig, .getCommittedConfig, .stepUp, .stepDown:
            return command
        }
    }

    /// What the next command on the node's command connection costs, its handshake included.
    private func commandCost(_ index: Int) -> Int {
        1 + (nodes[index].commands.isOpen ? 0 : configuration.messagesPerConnection)
    }

    /// Sends a command on the node's command connection; a write is recorded at once, pending.
    mutating func send(_ command: NodeCommand, to index: Int, change: String = "") -> Action {
        let command = inServerDialect(command, for: index)
        nodes[index].commands.pending = (command, sequence)
        // Writes are not paced: their own backoffs and the safe-reconfig rules space them.
        nodes[index].commands.charge = 0
        let recorded: ActionRecord.Command?
        switch command {
        case .initiate(let config): recorded = .initiate(config)
        case .stepUp: recorded = .stepUp
        case .reconfig(let config, let force, _): recorded = .reconfig(config, change: change, force: force)
        case .stepDown: recorded = .stepDown
        case .awaitHello, .hello, .getStatus, .getConfig, .getCommittedConfig: recorded = nil
        }
        if let recorded {
            records.append(ActionRecord(command: recorded, host: nodes[index].host, pending: true))
            nodes[index].commands.pendingRecord = records.count - 1
        }
        return .send(command, to: nodes[index].host)
    }

    /// The write on this node is answered (error nil) or failed.
    mutating func completeWrite(on index: Int, error: MongoError?) {
        if let record = nodes[index].commands.pendingRecord {
            records[record].pending = false
            records[record].error = error
            nodes[index].commands.pendingRecord = nil
        }
        writeCompleted()
    }

    /// Marks the end of a write (acknowledged or not): reads sent from here on, even in this same
    /// event, count as asked for after it.
    /// Whether what was asked for at event `seq` was asked for after the last write completed.
    func isAfterLastWrite(_ seq: Int) -> Bool {
        lastWriteSeq.map { seq > $0 } ?? true
    }

    mutating func writeCompleted() {
        lastWriteSeq = sequence
        sequence += 1
    }

    mutating func wakeUp(at time: Duration, now: Duration) -> [Action] {
        if let pending = wakeUpAt, pending <= time, pending > now { return [] }
        wakeUpAt = time
        return [.wakeUp(after: time - now)]
    }

    mutating func finish(_ outcome: Outcome) -> [Action] {
        finished = true
        return [.finish(outcome)]
    }
}
