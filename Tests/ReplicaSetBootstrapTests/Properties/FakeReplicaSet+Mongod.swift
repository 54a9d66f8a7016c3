import MongoBSON
@testable import ReplicaSetBootstrap

/// The answers, as mongod gives them (`reference/mongod-replset-semantics.md`, sections cited).
extension FakeReplicaSet {
    mutating func deliver(_ command: NodeCommand, from index: Int, requestSeq: Int, machine: inout Machine) -> [Action] {
        let host = nodes[index].host
        let lost = chance(scenario.failurePercent)
        if !isListening(index) || (lost && !command.isWrite) {
            let error = scenario.lost.contains(index) ? MongoError(.networkFailure, host: host, message: "connection timed out")
                : scenario.lateUnresolved && !isListening(index) ? MongoError(.nameNotResolved, host: host, message: "Name or service not known")
                : MongoError(.connectionRefused, host: host, message: "connection refused")
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
            // §4: 94 before initiation, 93 for a REMOVED member.
            seq += 1
            if nodes[index].config == nil {
                lastFreshDelivered[index] = seq
                return machine.commandFailed(.server(.notYetInitialized, host: host, message: "no replset config has been received"), from: host, at: now)
            }
            if nodes[index].removed {
                return machine.commandFailed(.server(.invalidReplicaSetConfig, host: host, message: "Our replica set config is invalid or we are not a member of it"), from: host, at: now)
            }
            return machine.commandSucceeded(.status(health(seenBy: index)), from: host, at: now)
        case .getConfig, .getCommittedConfig:
            seq += 1
            guard let config = nodes[index].config, !nodes[index].removed else {
                return machine.commandFailed(.server(.notYetInitialized, host: host, message: "no replset config has been received"), from: host, at: now)
            }
            guard command == .getCommittedConfig else {
                configsDelivered.append((index, requestSeq, config))
                return machine.commandSucceeded(.config(config), from: host, at: now)
            }
            // §4: commitmentStatus only on the primary, 10107 elsewhere.
            guard nodes[index].isPrimary else {
                return machine.commandFailed(.server(.notWritablePrimary, host: host, message: "commitmentStatus is only supported on primary."), from: host, at: now)
            }
            configsDelivered.append((index, requestSeq, config))
            let committed = isCommitted(config)
            if committed { committedTold.append((index, requestSeq, config.version)) }
            return machine.commandSucceeded(.committedConfig(config, committed: committed), from: host, at: now)
        case .initiate(let config):
            return answerWrite(command, initiate(config, on: index), lost: lost, from: index, machine: &machine)
        case .stepUp:
            let answer: Result<CommandReply, MongoError> = stepUp(index) ? .success(.steppedUp)
                : .failure(.server(.commandFailed, host: host, message: "Election failed."))
            return answerWrite(command, answer, lost: lost, from: index, machine: &machine)
        case .stepDown:
            return answerWrite(command, stepDown(index), lost: lost, from: index, machine: &machine)
        case .reconfig(let config, let force, let maxTime):
            let (answer, after) = reconfig(config, force: force, maxTime: maxTime, on: index)
            if lost {
                // The reply is lost; whether it was applied is the node's business.
                return answerWrite(command, answer, lost: true, from: index, machine: &machine)
            }
            guard after > .zero else { return answerWrite(command, answer, lost: false, from: index, machine: &machine) }
            // mongod answers once the config is committed, or at maxTimeMS (`awaitConfigCommitment`).
            schedule(.writeReply(node: index, command: command, answer: answer), at: now + after)
            return []
        }
    }

    /// Delivers a write's answer now; a lost one as a network error.
    private mutating func answerWrite(_ command: NodeCommand, _ answer: Result<CommandReply, MongoError>, lost: Bool,
                                      from index: Int, machine: inout Machine) -> [Action] {
        let host = nodes[index].host
        seq += 1
        lastWriteReplySeq = seq
        if lost { return machine.commandFailed(MongoError(.networkFailure, host: host, message: "socket error"), from: host, at: now) }
        switch answer {
        case .success(let reply): return machine.commandSucceeded(reply, from: host, at: now)
        case .failure(let error): return machine.commandFailed(error, from: host, at: now)
        }
    }

    /// A reconfig's late answer: a primary that stepped down while waiting answers 189 (§3).
    mutating func deliverWrite(_ command: NodeCommand, _ answer: Result<CommandReply, MongoError>, from index: Int,
                               machine: inout Machine) -> [Action] {
        var answer = answer
        if case .reconfig(_, false, _) = command, !nodes[index].isPrimary {
            answer = .failure(.server(.primarySteppedDown, host: nodes[index].host,
                                      message: "replSetReconfig should only be run on a writable PRIMARY. Current state SECONDARY;"))
        }
        return answerWrite(command, answer, lost: !isListening(index), from: index, machine: &machine)
    }

    mutating func deliverHello(_ index: Int, requestSeq: Int, machine: inout Machine) -> [Action] {
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

    /// §1: no config (or REMOVED): `isreplicaset: true` only; members say their state, arbiters
    /// `arbiterOnly`, hidden members `hidden`; a primary draining reports secondary.
    func helloResponse(_ index: Int) -> HelloResponse {
        let node = nodes[index]
        let version = TopologyVersion(processId: node.processId, counter: node.counter)
        guard let config = node.config, !node.removed else { return HelloResponse(isReplicaSet: true, topologyVersion: version) }
        let options = config.member(node.host)?.options ?? MemberOptions()
        let arbiter = options.arbiterOnly && node.secondaryAt != nil
        let primary = nodes.first { $0.isPrimary && $0.config?.name == config.name && !$0.removed }
        let draining = node.isPrimary && now < node.writableAt
        return HelloResponse(
            isWritablePrimary: node.isPrimary && !draining, secondary: !arbiter && ((node.secondaryAt != nil && !node.isPrimary) || draining),
            arbiterOnly: arbiter, hidden: options.hidden,
            setName: config.name, setVersion: config.version, primary: primary?.host, me: node.host, topologyVersion: version)
    }

    /// §4 `prepareStatusResponse`: the members it has no heartbeat from, and the primary it knows.
    private func health(seenBy index: Int) -> SetHealth {
        let members = nodes[index].config?.members.map(\.host) ?? []
        let down = members.filter { host in nodes.firstIndex { $0.host == host }.map { !isListening($0) } ?? true }
        return SetHealth(unhealthy: Set(down), primary: nodes.first { $0.isPrimary && members.contains($0.host) }?.host)
    }

    // MARK: - Events of the set itself

    mutating func happen(_ event: Event) {
        switch event {
        case .nodeSecondary(let index):
            guard let config = nodes[index].config, !nodes[index].removed, nodes[index].secondaryAt == nil else { return }
            nodes[index].secondaryAt = now
            bump(index)
            if let id = config.member(nodes[index].host)?.id, newlyAdded.contains(id) {
                // `_reconfigToRemoveNewlyAddedField`: the primary drops the field once it is SECONDARY.
                schedule(.removeNewlyAdded(id), at: now + milliseconds(5...50))
            }
            if voters(of: config).count == 1 && canWinElection(index) {
                elect(index)  // a single voter elects itself at once (§2)
            } else {
                schedule(.electionTimeout, at: now + Self.electionTimeout)
            }
        case .configArrives(let index, let config):
            receive(config, on: index)
        case .drainComplete(let index):
            bump(index)
        case .concurrentInitiate:
            guard nodes.allSatisfy({ $0.config == nil }), nodes.indices.allSatisfy(isListening) else { return }
            install(spec.initiateConfig, on: nodes.firstIndex { $0.host == spec.initiator }!)
        case .restartEmpty(let index):
            nodes[index] = Mongod(host: nodes[index].host, listeningAt: now + .milliseconds(50))
            dropWaiters(on: index)
            replicaSetIds = Set(nodes.compactMap { $0.config?.replicaSetId?.hex })
            if let surviving = nodes.first(where: { $0.config != nil })?.config {
                schedule(.configArrives(index, surviving), at: now + .milliseconds(100))
            }
        case .stepDown:
            guard let primary = nodes.firstIndex(where: \.isPrimary) else { return }
            nodes[primary].isPrimary = false
            bump(primary)
            schedule(.electionTimeout, at: now + Self.electionTimeout)
        case .electionTimeout:
            guard !nodes.contains(where: \.isPrimary) else { return }
            if let candidate = bestCandidate() { elect(candidate) }
        case .removeNewlyAdded(let id):
            removeNewlyAdded(id)
        case .reply, .writeReply, .awaitTimeout, .timer, .deadline:
            preconditionFailure("\(event) is the machine's")
        }
    }

    /// A heartbeat brings a config (`processHeartbeatV1`): a fresh node joins (STARTUP2, then
    /// SECONDARY), a member takes a newer config, a member it no longer lists is REMOVED.
    private mutating func receive(_ config: ReplicaSetConfig, on index: Int) {
        guard nodes.contains(where: { $0.config?.replicaSetId == config.replicaSetId && !$0.removed }) else { return }
        guard isListening(index) else {
            // The next heartbeat (every 2 s) tries again.
            schedule(.configArrives(index, config), at: now + .seconds(2))
            return
        }
        if let current = nodes[index].config {
            guard current.replicaSetId == config.replicaSetId, config.isNewer(than: current) else { return }
        }
        let wasMember = nodes[index].config != nil && !nodes[index].removed
        nodes[index].config = config
        bump(index)
        if config.member(nodes[index].host) == nil {
            nodes[index].removed = true
            nodes[index].isPrimary = false
            nodes[index].secondaryAt = nil
        } else if !wasMember {
            nodes[index].removed = false
            nodes[index].secondaryAt = nil
            schedule(.nodeSecondary(index), at: now + milliseconds(10...200))
        }
    }

    // MARK: - replSetInitiate (§2)

    mutating func initiate(_ config: ReplicaSetConfig, on index: Int) -> Result<CommandReply, MongoError> {
        let host = nodes[index].host
        if nodes[index].config != nil { return .failure(.server(.alreadyInitialized, host: host, message: "already initialized")) }
        if let unreachable = nodes.indices.first(where: { config.member(nodes[$0].host) != nil && !isListening($0) }) {
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
        return .success(.initiated)
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
            schedule(.configArrives(other, stored), at: now + milliseconds(1...50))
        }
    }

    // MARK: - replSetReconfig (§3)

    /// mongod's checks in its order (`processReplSetReconfig`, `_doReplSetReconfig`,
    /// `validateConfigForReconfig` in `repl_set_config_checks.cpp`), then the install and the
    /// wait for commitment: the answer, and how long after now it comes.
    mutating func reconfig(_ new: ReplicaSetConfig, force: Bool, maxTime: Duration, on index: Int) -> (Result<CommandReply, MongoError>, Duration) {
        let host = nodes[index].host
        func fail(_ code: ServerErrorCode, _ message: String) -> (Result<CommandReply, MongoError>, Duration) {
            (.failure(.server(code, host: host, message: message)), .zero)
        }
        guard let current = nodes[index].config, !nodes[index].removed else {
            return fail(.notYetInitialized, "Node not yet initialized; use the replSetInitiate command")
        }
        if now < nodes[index].installingUntil || chance(scenario.inProgressPercent) {
            return fail(.configurationInProgress, "Cannot run replSetReconfig because the node is currently updating its configuration")
        }
        if !force {
            guard nodes[index].isPrimary && now >= nodes[index].writableAt else {
                return fail(.notWritablePrimary, "Safe reconfig is only allowed on a writable PRIMARY. Current state is SECONDARY")
            }
            if !isCommitted(current) {
                return fail(.currentConfigNotCommittedYet, "Cannot run replSetReconfig because the current config: \(current.versionAndTerm) is not majority committed.")
            }
            if current.version != 1 && chance(scenario.commitPointPercent) {
                return fail(.currentConfigNotCommittedYet, "Last committed optime from previous config ({ ts: Timestamp(1, 1), t: 1 }) is not committed in the current config.")
            }
        }
        if new.name != current.name {
            return fail(.invalidReplicaSetConfig, "Rejecting reconfig where new config set name differs from command line set name")
        }
        var next = new
        next.term = force ? nil : current.term
        if let problem = incompatibility(from: current, to: next, force: force) {
            return fail(.newReplicaSetConfigurationIncompatible, problem)
        }
        if !force, !(next.member(host)?.options.isElectable ?? false) {
            return fail(.nodeNotElectable, "This node, \(host), is not electable under the new configuration \(next.versionAndTerm) for replica set \(next.name)")
        }
        // `checkQuorumForReconfig`: every member must answer the heartbeat.
        if !force, let silent = next.members.first(where: { member in nodes.firstIndex { $0.host == member.host }.map { !isListening($0) } ?? true }) {
            return fail(.nodeNotFound, "Quorum check failed because not all proposed set members responded affirmatively: \(silent.host) failed with Connection refused")
        }
        if force {
            next.version = max(current.version, new.version) + 10_000 + Int(random.next() % 100_000)
        } else {
            // New voting data-bearing members join `newlyAdded` (they neither vote nor count).
            let oldIds = Set(current.members.map(\.id))
            newlyAdded.formUnion(next.members.filter { !oldIds.contains($0.id) && $0.options.isVoter && !$0.options.arbiterOnly }.map(\.id))
        }
        installedByRun = next
        let arrivals = propagate(next, from: index)
        if force { return (.success(.reconfigured), .zero) }
        // `awaitConfigCommitment`: answered when a config-majority of voters has it, else 50 at maxTimeMS.
        let voters = voters(of: next)
        let times = voters.compactMap { member -> Duration? in
            member.host == host ? now : nodes.firstIndex { $0.host == member.host }.flatMap { arrivals[$0] }
        }.sorted()
        let majority = voters.count / 2 + 1
        if times.count >= majority, times[majority - 1] - now <= maxTime {
            return (.success(.reconfigured), times[majority - 1] - now + .microseconds(200))
        }
        return (.failure(.server(.maxTimeMSExpired, host: host,
                                 message: "Current config with \(next.versionAndTerm) has not yet propagated to a majority of nodes")), maxTime)
    }

    /// `validateOldAndNewConfigsCompatible` and `validateSingleNodeChange`, all delivered as 103.
    private func incompatibility(from old: ReplicaSetConfig, to new: ReplicaSetConfig, force: Bool) -> String? {
        if !force && !new.isNewer(than: old) {
            return "New replica set configuration version and term must be greater than old, but \(new.versionAndTerm) is not greater than \(old.versionAndTerm) for replica set \(new.name)"
        }
        if new.replicaSetId != old.replicaSetId { return "New and old configurations differ in replica set ID" }
        for member in new.members {
            guard let previous = old.members.first(where: { $0.host == member.host }) else { continue }
            if previous.id != member.id { return "New and old configurations both have members with host of \(member.host) but different _id" }
            if previous.options.arbiterOnly != member.options.arbiterOnly || previous.options.buildIndexes != member.options.buildIndexes {
                return "New and old configurations differ in the setting of the arbiterOnly or buildIndexes field for member \(member.host)"
            }
        }
        let oldVoters = Set(old.members.filter(\.options.isVoter).map(\.id))
        let newVoters = Set(new.members.filter(\.options.isVoter).map(\.id))
        if !force && oldVoters.symmetricDifference(newVoters).count > 1 {
            return "Non force replica set reconfig can only add or remove at most 1 voting member."
        }
        return nil
    }

    /// Installs `config` on `index` and sends it by heartbeat to every other node it or the
    /// previous config names: when each gets it (nil: never).
    private mutating func propagate(_ config: ReplicaSetConfig, from index: Int) -> [Int: Duration] {
        let previous = nodes[index].config
        nodes[index].config = config
        nodes[index].installingUntil = now + milliseconds(1...10)
        bump(index)
        var arrivals: [Int: Duration] = [:]
        for other in nodes.indices where other != index {
            let host = nodes[other].host
            guard config.member(host) != nil || previous?.member(host) != nil, !scenario.lost.contains(other) else { continue }
            var at = max(now + milliseconds(1...50), nodes[other].listeningAt)
            if scenario.partitioned.contains(other) { at = max(at, .milliseconds(scenario.partitionedUntil)) }
            arrivals[other] = at
            schedule(.configArrives(other, config), at: at)
        }
        return arrivals
    }

    /// The primary's own reconfig removing `newlyAdded` once the member is SECONDARY
    /// (`_reconfigToRemoveNewlyAddedField`): version + 1, only from a committed config.
    private mutating func removeNewlyAdded(_ id: Int) {
        guard newlyAdded.contains(id) else { return }
        guard let primary = nodes.firstIndex(where: \.isPrimary), var config = nodes[primary].config, config.members.contains(where: { $0.id == id }) else {
            schedule(.removeNewlyAdded(id), at: now + .milliseconds(500))
            return
        }
        guard isCommitted(config), now >= nodes[primary].installingUntil else {
            schedule(.removeNewlyAdded(id), at: now + .milliseconds(100))
            return
        }
        newlyAdded.remove(id)
        config.version += 1
        _ = propagate(config, from: primary)
    }

    // MARK: - Commitment and elections

    /// The voting members of `config`; `newlyAdded` ones do not count yet.
    func voters(of config: ReplicaSetConfig) -> [ReplicaSetConfig.Member] {
        config.members.filter { $0.options.isVoter && !newlyAdded.contains($0.id) }
    }

    /// Committed: a majority of its voters hold it, or a newer config of the same set (§3).
    func isCommitted(_ config: ReplicaSetConfig) -> Bool {
        let voters = voters(of: config)
        let holders = voters.filter { member in
            guard let held = nodes.first(where: { $0.host == member.host })?.config else { return false }
            return held.replicaSetId == config.replicaSetId && !config.isNewer(than: held)
        }
        return holders.count * 2 > voters.count
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

    /// `replSetStepDown: 60`: not electable for 60 s; election handoff to the best candidate
    /// (`_performElectionHandoff`), else an election after the timeout.
    private mutating func stepDown(_ index: Int) -> Result<CommandReply, MongoError> {
        guard nodes[index].isPrimary else {
            return .failure(.server(.notWritablePrimary, host: nodes[index].host, message: "not primary so can't step down"))
        }
        nodes[index].isPrimary = false
        nodes[index].unelectableUntil = now + .seconds(60)
        bump(index)
        if let candidate = bestCandidate() {
            elect(candidate)
        } else {
            schedule(.electionTimeout, at: now + Self.electionTimeout)
        }
        return .success(.steppedDown)
    }

    /// The electable member a majority would elect: the highest priority, then sorted host order.
    private func bestCandidate() -> Int? {
        nodes.indices.filter(canWinElection).min { first, second in
            let p1 = nodes[first].config?.member(nodes[first].host)?.options.priority ?? 0
            let p2 = nodes[second].config?.member(nodes[second].host)?.options.priority ?? 0
            return (-p1, nodes[first].host) < (-p2, nodes[second].host)
        }
    }

    /// Electable (priority > 0, not hidden, not an arbiter, not newlyAdded), SECONDARY, and a
    /// majority of the config's voters up and holding the set's config.
    func canWinElection(_ index: Int) -> Bool {
        guard nodes[index].secondaryAt != nil, isListening(index), !nodes[index].removed, now >= nodes[index].unelectableUntil,
              let config = nodes[index].config, let me = config.member(nodes[index].host),
              me.options.isElectable, !newlyAdded.contains(me.id) else { return false }
        let voters = voters(of: config)
        let up = voters.filter { member in
            nodes.firstIndex { $0.host == member.host }.map { isListening($0) && nodes[$0].config?.replicaSetId == config.replicaSetId } ?? false
        }
        return up.count * 2 > voters.count
    }

    mutating func elect(_ index: Int) {
        for other in nodes.indices where nodes[other].isPrimary {
            nodes[other].isPrimary = false
            bump(other)
        }
        nodes[index].isPrimary = true
        nodes[index].writableAt = now + .milliseconds(3)
        bump(index)
        schedule(.drainComplete(index), at: nodes[index].writableAt)
    }
}
