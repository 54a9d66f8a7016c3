/// An existing set: get a primary (step-up, or a forced config when a majority is lost), then
/// take it to the desired config one safe reconfig at a time, each committed before the next.
extension ReplicaSetStateMachine {
    /// Takes the set one step towards the spec through its writable primary.
    mutating func reconfigure(_ now: Duration, primary: Int) -> [Action] {
        reconfiguration.majorityLostSince = nil
        // Like every write, only once each node was seen, so the refusal checks had their say.
        guard observationComplete, !writeInFlight, nodes[primary].commands.pending == nil,
              let config = committedConfig(of: primary) else { return [] }
        // mongod checks that the primary finds itself in each new config under its recorded name.
        let host = memberName(primary)
        if let (next, change) = nextRename(of: config) {
            if configuration.dryRun { return finish(.planned(plan(steps: [.reconfig(host, next, change: change)]))) }
            let renamed = Set(zip(config.members, next.members).filter { !$0.host.isSpelledLike($1.host) }.map(\.0.id))
            let primaryInNext = config.member(host).flatMap { old in next.members.first { $0.id == old.id }?.host }
            if let violation = ReconfigRules.violation(from: config, to: next, primary: primaryInNext, force: false, renaming: renamed) {
                return finish(.refused(.noSafePlan(setName: spec.name, version: config.version, reason: "\(change) is refused: \(violation)")))
            }
            guard now >= reconfiguration.retry.notBefore else { return wakeUp(at: reconfiguration.retry.notBefore, now: now) }
            // A renamed member stays: nothing is removed.
            return sendReconfig(next, change: change, removing: [], to: primary)
        }
        let planner = reconciliationPlanner(from: config)
        guard !planner.isSatisfied(by: config) else { return [] }
        if configuration.dryRun {
            let steps = fullPlanner(from: config).steps(from: config, primary: host)
            return finish(.planned(plan(steps: steps.map { $0.planStep(on: host) })))
        }
        if let obstacle = planner.obstacle(from: config, primary: host) {
            return finish(.refused(.noSafePlan(setName: spec.name, version: config.version, reason: obstacle)))
        }
        guard let step = planner.nextStep(from: config, primary: host) else { return [] }
        guard now >= reconfiguration.retry.notBefore else { return wakeUp(at: reconfiguration.retry.notBefore, now: now) }
        switch step {
        case .reconfig(let next, let change):
            return sendReconfig(next, change: change, removing: Set(config.members.map(\.host)).subtracting(next.members.map(\.host)), to: primary)
        case .stepDown(let target, let reason):
            guard let index = nodeIndex(forMember: target) else { return [] }
            return [.report(.steppingDown(target, reason: reason)), send(.stepDown, to: index)]
        }
    }

    /// A non-force replSetReconfig to `next` on the primary; `removing` are the members it drops.
    private mutating func sendReconfig(_ next: ReplicaSetConfig, change: String, removing: Set<HostAddress>, to primary: Int) -> [Action] {
        reconfiguration.sending(removing: removing)
        let command = NodeCommand.reconfig(next, force: false, maxTime: configuration.reconfigMaxTime)
        return [.report(.reconfiguring(nodes[primary].host, change: change, version: next.version)), send(command, to: primary, change: change)]
    }

    /// The primary's config when it was read after the last write and a majority has it.
    private func committedConfig(of primary: Int) -> ReplicaSetConfig? {
        guard let config = nodes[primary].config, isAfterLastWrite(config.requestSeq),
              config.value.version == nodes[primary].hello?.value.setVersion,
              nodes[primary].configCommitted == true || commitmentStatusUnsupported
        else { return nil }
        return config.value
    }

    /// The planner for what can be done now: the spec without members that are neither in the
    /// config nor reachable and fresh (adding one would fail mongod's quorum check), with the
    /// options of members being added pinned the first time.
    mutating func reconciliationPlanner(from config: ReplicaSetConfig) -> ReconfigPlanner {
        var reachable = spec
        reachable.members = spec.members.filter { member in
            config.member(member.host) != nil || reconfiguration.pinnedMembers[member.host] != nil
                || nodeIndex(forMember: member.host).map { nodes[$0].isFresh || nodes[$0].status == .known(.newWithoutUsers) } ?? false
        }
        let planner = pinned(reachable, from: config)
        for member in planner.spec.members where reconfiguration.pinnedMembers[member.host] == nil && reachable.member(member.host) != member {
            reconfiguration.pinnedMembers[member.host] = member
        }
        return planner
    }

    /// The planner for the whole spec (dry run, and the final check).
    func fullPlanner(from config: ReplicaSetConfig) -> ReconfigPlanner {
        pinned(spec, from: config)
    }

    private func pinned(_ spec: ReplicaSetSpec, from config: ReplicaSetConfig) -> ReconfigPlanner {
        var spec = spec
        for index in spec.members.indices {
            if let pinned = reconfiguration.pinnedMembers[spec.members[index].host] { spec.members[index] = pinned }
        }
        return ReconfigPlanner(spec: spec, removeMembers: configuration.removeMembers).pinningNewMembers(from: config)
    }

    mutating func reconfigSucceeded(_ config: ReplicaSetConfig, on index: Int) -> [Action] {
        completeWrite(on: index, error: nil)
        reconfiguration.succeeded()
        return [.report(.reconfigured(nodes[index].host, version: config.version))]
    }

    mutating func reconfigFailed(_ config: ReplicaSetConfig, _ error: MongoError, on index: Int, at now: Duration) -> [Action] {
        let host = nodes[index].host
        completeWrite(on: index, error: error)
        // Installed, or possibly (189, a lost reply): members it dropped may now be REMOVED.
        reconfiguration.failed(error, mayBeInstalled: !(error.knownCode?.rejectsReconfigBeforeInstalling ?? false))
        if error.hasCode(.maxTimeMSExpired) {
            // Installed, not yet committed: the next read waits for the commitment.
            return [.report(.awaitingCommitment(host, version: config.version))]
        }
        if error.isServerRefusal {
            return finish(.refused(.configRejected(host, error)))
        }
        if error.hasCode(.newReplicaSetConfigurationIncompatible) && error.message.contains("implicit default write concern") {
            // Retrying cannot help: it depends on a cluster-wide setting only the operator should change.
            return finish(.refused(.needsClusterWideWriteConcern(host, error)))
        }
        if error.hasCode(.newReplicaSetConfigurationIncompatible) {
            // Often a race (mongod's own reconfig removing newlyAdded raised the version): plan
            // again from the config read next; the same rejection three times is final.
            if reconfiguration.rejectionIsFinal(version: config.version) { return finish(.refused(.configRejected(host, error))) }
        }
        // 109, 308, 74, 10107, 189, network errors: the config is read again after the backoff,
        // from whichever member is primary by then.
        let delay = reconfiguration.retry.failed(at: now, backoff: configuration.retry, random: &random)
        return [.report(.reconfigFailed(host, error, retryIn: delay))]
    }

    mutating func stepDownFailed(_ error: MongoError, on index: Int, at now: Duration) -> [Action] {
        completeWrite(on: index, error: error)
        // A network error is how some servers answer a step-down; the next hello tells.
        let delay = reconfiguration.retry.failed(at: now, backoff: configuration.retry, random: &random)
        return [.report(.stepDownFailed(nodes[index].host, error, retryIn: delay))]
    }

    // MARK: - Step-up

    mutating func considerStepUp(_ now: Duration, config: ReplicaSetConfig) -> [Action] {
        // A single voter elects itself as soon as it is SECONDARY.
        guard config.members.lazy.filter(\.options.isVoter).count > 1 else { return [] }
        let target = preferredPrimary
        // After a won election only a hello asked for since counts; after a lost one the node
        // itself just said it is not primary.
        guard let index = nodeIndex(forMember: target), let observed = nodes[index].hello, stepUp.isAfterLastWin(observed.requestSeq),
              observed.value.memberState == .secondary, config.member(target)?.options.isElectable ?? false
        else { return [] }
        // Any sign of a primary (or one being elected and draining) means: let it be.
        let primaryKnown = nodes.contains { node in
            guard let hello = node.hello?.value else { return false }
            return hello.isWritablePrimary || hello.primary != nil
        }
        // Like every write, only once each node was seen, so the refusal checks had their say.
        guard !primaryKnown, nodes[index].commands.pending == nil, !writeInFlight, observationComplete else { return [] }
        // Members vote only once they hold the config: before a majority of voters show it, a
        // step-up can only fail (and bump the term).
        let voters = config.members.filter(\.options.isVoter).map(\.host)
        let votersWithConfig = voters.filter { host in
            guard let hello = nodeIndex(forMember: host).flatMap({ nodes[$0].hello?.value }) else { return false }
            return hello.setName == config.name && (hello.setVersion ?? 0) >= config.version
        }
        guard votersWithConfig.count * 2 > voters.count else { return [] }
        if configuration.dryRun { return finish(.planned(plan(steps: [.stepUp(target)]))) }
        guard now >= stepUp.retry.notBefore else { return wakeUp(at: stepUp.retry.notBefore, now: now) }
        return [.report(.steppingUp(target)), send(.stepUp, to: index)]
    }

    // MARK: - Forced reconfig

    /// The voters of `config` this run cannot reach, and the members it can; nil when a majority
    /// of voters is reachable, or when the config has voters this run does not watch (it cannot
    /// tell whether they are lost).
    func lostMajority(_ config: ReplicaSetConfig) -> (reachable: [HostAddress], lost: [HostAddress])? {
        // Asked at every event while no primary is elected: decided on the voters alone (at most
        // seven of up to 50 members); the members are listed only for a set that lost its majority.
        var voters = 0, lostVoters = 0
        for member in config.members where member.options.isVoter {
            voters += 1
            guard let index = nodeIndex(forMember: member.host) else { return nil }
            if nodes[index].hello?.value.setName != config.name { lostVoters += 1 }
        }
        guard (voters - lostVoters) * 2 <= voters else { return nil }
        var reachable: [HostAddress] = [], lost: [HostAddress] = []
        for member in config.members {
            if let index = nodeIndex(forMember: member.host), nodes[index].hello?.value.setName == config.name {
                reachable.append(member.host)
            } else if member.options.isVoter {
                lost.append(member.host)
            }
        }
        return (reachable, lost)
    }

    /// `--force-reconfig`: only when no primary exists or is known to anyone reachable, a majority
    /// of voters has been unreachable for longer than the set's election timeout, every node was
    /// observed, and the member to force on itself reports the lost voters down. The config goes
    /// to the reachable member with the newest write; it is forced again only after a read shows
    /// the last attempt did not take, and after the backoff.
    mutating func considerForce(_ now: Duration, config: ReplicaSetConfig) -> [Action]? {
        guard let (reachable, lost) = lostMajority(config), !reachable.isEmpty else {
            reconfiguration.majorityLostSince = nil
            return nil
        }
        let since = reconfiguration.majorityLostSince ?? now
        reconfiguration.majorityLostSince = since
        guard configuration.forceReconfig else { return nil }
        // A reachable member that knows of a primary: the set is alive where this run cannot see.
        let primaryKnown = nodes.contains { $0.hello?.value.isWritablePrimary == true || $0.hello?.value.primary != nil }
        guard !primaryKnown, observationComplete, !writeInFlight else { return [] }
        // mongod accepts any positive int64 here; a day is far beyond any --timeout, and a
        // duration the clock can sleep for.
        let grace = Duration.milliseconds(min(config.settings["electionTimeoutMillis"]?.intValue ?? 10_000, 86_400_000))
        guard now >= since + grace else { return wakeUp(at: since + grace, now: now) }
        guard now >= reconfiguration.retry.notBefore else { return wakeUp(at: reconfiguration.retry.notBefore, now: now) }
        guard let (forced, dropped) = ReconfigPlanner.forcedConfig(from: config, reachable: Set(reachable)) else {
            return finish(.refused(.noSafePlan(setName: spec.name, version: config.version,
                                               reason: "no valid config can be made from the reachable members \(reachable.map(\.description).joined(separator: ", "))")))
        }
        // The newest data wins; among equals, sorted host order.
        let dataBearing = reachable.filter { !(config.member($0)?.options.arbiterOnly ?? true) }.compactMap(nodeIndex(forMember:))
        guard let target = dataBearing.min(by: { hasNewerWrite(nodes[$0], than: nodes[$1]) }) else { return nil }
        guard nodes[target].commands.pending == nil else { return [] }
        // After a write (a force among them) the target's config must be read again first: a
        // force that took leaves nothing to force.
        guard let targetConfig = nodes[target].config, isAfterLastWrite(targetConfig.requestSeq) else { return [] }
        // The target's own view, asked for after the last write: every lost voter down, no primary.
        guard let health = nodes[target].health, isAfterLastWrite(health.requestSeq) else {
            return [send(.getStatus, to: target)]
        }
        guard health.value.primary == nil, Set(lost).isSubset(of: health.value.unhealthy) else { return [] }
        if configuration.dryRun { return finish(.planned(plan(steps: [.forceReconfig(nodes[target].host, forced, dropped: dropped)]))) }
        reconfiguration.sending(removing: Set(dropped))
        let change = "forced: keeping \(reachable.map(\.description).joined(separator: ", ")), dropping \(dropped.map(\.description).joined(separator: ", "))"
        return [.report(.forcingReconfig(nodes[target].host, dropped: dropped, forced)),
                send(.reconfig(forced, force: true, maxTime: configuration.reconfigMaxTime), to: target, change: change)]
    }
}

extension ReconfigStep {
    func planStep(on primary: HostAddress) -> Plan.Step {
        switch self {
        case .reconfig(let config, let change): return .reconfig(primary, config, change: change)
        case .stepDown(let host, let reason): return .stepDown(host, reason: reason)
        }
    }
}

private func hasNewerWrite(_ a: ReplicaSetStateMachine.TrackedNode, than b: ReplicaSetStateMachine.TrackedNode) -> Bool {
    switch (a.hello?.value.lastWrite, b.hello?.value.lastWrite) {
    case (.some(let x), .some(let y)) where x != y: return x > y
    case (.some, nil): return true
    case (nil, .some): return false
    case (.some, .some), (nil, nil): return a.host < b.host
    }
}
