/// When a run may exit 0, and what it reports: the summary, a dry run's plan, and what was still
/// missing when it gives up.
extension ReplicaSetStateMachine {
    /// Invariant 4: exit 0 only with a writable primary whose hello and config were both asked for
    /// after the last write, the config being the desired one and (when mongod can tell)
    /// committed.
    func verifiedOutcome() -> Outcome? {
        // A write still in flight may yet change what was verified (a step-up, say).
        guard observationComplete, !writeInFlight else { return nil }
        // By index: a node is a large value, and this is asked at every event.
        for index in nodes.indices where nodes[index].hello?.value.isWritablePrimary == true {
            guard let hello = nodes[index].hello, isAfterLastWrite(hello.requestSeq),
                  let config = nodes[index].config, isAfterLastWrite(config.requestSeq),
                  nodes[index].configCommitted == true || !needsCommitment(config.value) || commitmentStatusUnsupported,
                  config.value.name == spec.name, config.value.version == hello.value.setVersion,
                  fullPlanner(from: config.value).isSatisfied(by: config.value), nextRename(of: config.value) == nil
            else { continue }
            if configuration.waitFor == .all {
                let healthy = watchedIndices.allSatisfy { nodes[$0].hello?.value.memberState.isHealthy ?? false }
                guard healthy else { return nil }
            }
            if configuration.dryRun { return .planned(plan(steps: [])) }
            return .converged(summary(primary: nodes[index].host, config: config.value))
        }
        return nil
    }

    func summary(primary: HostAddress, config: ReplicaSetConfig) -> Summary {
        let members = config.members.map { member in
            MemberReport(
                host: member.host, id: member.id,
                state: nodeIndex(forMember: member.host).flatMap { nodes[$0].hello?.value.memberState },
                votes: member.options.votes, priority: member.options.priority, arbiterOnly: member.options.arbiterOnly)
        }
        return Summary(setName: config.name, primary: primary, configVersion: config.version, members: members,
                       actions: records, notes: configuration.notes, keptMembers: keptMembers(of: config), recordedNames: recordedNames)
    }

    /// Members of `config` not requested that stay: without `--remove-members` none is removed.
    func keptMembers(of config: ReplicaSetConfig?) -> [HostAddress] {
        guard let config, !configuration.removeMembers else { return [] }
        return spec.difference(from: config).extra
    }

    /// What was last seen of a node.
    func observation(of node: TrackedNode) -> NodeReport.Observation {
        switch node.status {
        case .unknown: .notReached
        case .unreachable(let error): .unreachable(error)
        case .awaitingStatus: .noConfig
        case .known(let status): .known(status)
        }
    }

    func plan(steps: [Plan.Step]) -> Plan {
        Plan(setName: spec.name, observed: watchedNodes.map { NodeReport(host: $0.host, observation: observation(of: $0)) },
             requested: spec.members.map { RequestedMember(host: $0.host, options: $0.resolvedOptions) },
             steps: steps, notes: configuration.notes, keptMembers: keptMembers(of: currentConfig?.value))
    }

    /// What is still missing, for a run that ends without converging: what holds the run up,
    /// and each node whose last command failed, with its error; never nothing.
    func blockers() -> [Blocker] {
        var blockers = obstacles()
        for node in watchedNodes where !blockers.contains(where: { $0.host == node.host }) {
            if let error = node.commands.lastError {
                blockers.append(.unanswered(node.host, error.command ?? "a command", error))
            }
        }
        if blockers.isEmpty {
            // Nothing identified as in the way: then say what each node was last seen as.
            blockers = watchedNodes.map { .observed($0.host, observation(of: $0)) }
        }
        if !configuration.usesTLS, let closing = watchedNodes.first(where: { if case .unreachable(let error) = $0.status { return error.suggestsTLS } else { return false } }) {
            blockers.append(.hint(Blocker.tlsHint(closing.host)))
        }
        return blockers
    }

    private func obstacles() -> [Blocker] {
        var blockers: [Blocker] = []
        let newest = currentConfig?.value
        for node in watchedNodes {
            switch node.status {
            case .unknown: blockers.append(.unreachable(node.host, nil))
            case .unreachable(let error): blockers.append(.unreachable(node.host, error))
            case .awaitingStatus: blockers.append(.unanswered(node.host, "replSetGetStatus", node.commands.lastError))
            case .known(.removed) where newest?.member(node.host) != nil: blockers.append(.notFindingItself(node.host))
            case .known: break
            }
        }
        let primary: Int, current: ReplicaSetConfig
        switch phase {
        case .initiating:
            if let error = initiate.lastError {
                blockers.append(.initiateFailing(error.host, error))
            } else if let host = initiate.acknowledgedBy {
                blockers.append(.initiateWithoutEffect(host))
            }
            return blockers
        case .electing(let current):
            if let (reachable, lost) = lostMajority(current) {
                let drop = ReconfigPlanner.forcedConfig(from: current, reachable: Set(reachable))?.dropped
                blockers.append(.majorityLost(reachable: reachable, lost: lost, forceWouldDrop: configuration.forceReconfig ? nil : drop))
            } else {
                var states: [HostAddress: String] = [:]
                for node in nodes where current.member(node.host) != nil {
                    states[node.host] = node.hello?.value.memberState.rawValue ?? "unreachable"
                }
                blockers.append(.noPrimary(states: states))
            }
            return blockers
        case .reconfiguring(let index, let config):
            (primary, current) = (index, config)
        }
        let primaryConfig = nodes[primary].config?.value ?? current
        if !fullPlanner(from: primaryConfig).isSatisfied(by: primaryConfig) {
            for member in spec.members where primaryConfig.member(member.host) == nil {
                if let index = nodeIndex(forMember: member.host), !nodes[index].isFresh, !blockers.contains(where: { $0.host == member.host }) {
                    blockers.append(.cannotAddYet(member.host))
                }
            }
            if let error = reconfiguration.lastError {
                blockers.append(.reconfiguring("the last replSetReconfig on \(error.host) failed: \(error.message)"))
            } else if nodes[primary].configCommitted == false {
                blockers.append(.reconfiguring("config version \(primaryConfig.version) is not yet committed by a majority of voters"))
            }
        }
        if configuration.waitFor == .all {
            for node in watchedNodes {
                guard let state = node.hello?.value.memberState, !state.isHealthy else { continue }
                blockers.append(.notHealthy(node.host, state.rawValue))
            }
        }
        if blockers.isEmpty { blockers.append(.waitingForConfig(nodes[primary].host)) }
        return blockers
    }
}

extension Blocker {
    var host: HostAddress? {
        switch self {
        case .unreachable(let host, _), .notFindingItself(let host), .initiateFailing(let host, _), .notHealthy(let host, _),
             .waitingForConfig(let host), .unanswered(let host, _, _), .cannotAddYet(let host), .initiateWithoutEffect(let host),
             .observed(let host, _):
            return host
        case .noPrimary, .majorityLost, .reconfiguring, .hint, .undiscovered:
            return nil
        }
    }
}
