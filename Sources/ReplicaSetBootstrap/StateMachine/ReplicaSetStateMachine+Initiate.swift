/// A set that does not exist yet: when and what to initiate, and what mongod's answers mean.
extension ReplicaSetStateMachine {
    mutating func considerInitiate(_ now: Duration) -> [Action] {
        guard !writeInFlight else { return [] }
        let confirmedFresh = { [initiate] (node: TrackedNode) in
            node.isFresh && node.isConfirmedFresh(since: initiate) && !(node.hello?.value.hasConfig ?? true)
        }
        let listed = nodes.lazy.filter(\.listed)
        // Worked out only once something may be initiated: it sorts the members.
        var initiator: HostAddress { spec.initiator }
        let config: ReplicaSetConfig
        if listed.allSatisfy(confirmedFresh) {
            // Invariant 1: every listed node reached and reported no config since the last attempt.
            config = spec.initiateConfig
        } else if configuration.initiateStrategy == .incremental,
                  let initiatorNode = nodeIndex(forMember: initiator), confirmedFresh(nodes[initiatorNode]),
                  listed.allSatisfy({ confirmedFresh($0) || $0.isUnreachable }) {
            // Incremental: the initiator alone while others are still down; they are added later.
            // The same initiator as a full initiate, so concurrent runs cannot start two sets
            // from the nodes each happens to reach.
            config = spec.initiateConfig(only: initiator)
        } else {
            return []
        }
        if configuration.dryRun {
            return finish(.planned(plan(steps: [.initiate(initiator, config)])))
        }
        guard now >= initiate.retry.notBefore else { return wakeUp(at: initiate.retry.notBefore, now: now) }
        guard let index = nodeIndex(forMember: initiator), nodes[index].commands.pending == nil else { return [] }
        initiate.sent(at: sequence)
        return [.report(.initiating(initiator, config)), send(.initiate(config), to: index)]
    }

    mutating func initiateFailed(_ error: MongoError, on index: Int, at now: Duration) -> [Action] {
        let host = nodes[index].host
        completeWrite(on: index, error: error)
        if let refusal = initiateRefusal(error, host: host) { return finish(.refused(refusal)) }
        let (delay, namesHint) = initiate.failed(error, at: now, backoff: configuration.retry, random: &random)
        var actions: [Action] = [.report(error.hasCode(.alreadyInitialized) ? .alreadyInitialized(host) : .initiateFailed(host, error, retryIn: delay))]
        if namesHint { actions.append(.report(.waiting("hint: \(Blocker.namesHint(host))"))) }
        return actions
    }

    /// 93 is how mongod re-codes every validation failure of an initiate. Only "maps to this node"
    /// can heal by itself (the initiator's own name does not resolve to it yet).
    private func initiateRefusal(_ error: MongoError, host: HostAddress) -> Refusal? {
        error.isServerRefusal && !error.isNotFindingItself ? .configRejected(host, error) : nil
    }
}

extension MongoError {
    /// mongod's InvalidReplicaSetConfig for a config in which the node does not find itself
    /// (`ReplSetConfig::findSelf` via `validateConfigForInitiate`/`ForReconfig`).
    var isNotFindingItself: Bool {
        hasCode(.invalidReplicaSetConfig) && message.contains("maps to this node")
    }
}

extension ReplicaSetStateMachine.TrackedNode {
    /// Confirmed fresh (NotYetInitialized) by a status asked for after the last initiate attempt.
    func isConfirmedFresh(since attempts: InitiateAttempts) -> Bool {
        freshConfirmedSeq.map(attempts.isAfterLastAttempt) ?? false
    }

    /// Tried and not reached (a node never tried yet is not counted).
    var isUnreachable: Bool {
        if case .unreachable = status { return true }
        return false
    }
}

extension ReplicaSetSpec {
    /// The version-1 config of a set with only `host` (incremental initiate).
    func initiateConfig(only host: HostAddress) -> ReplicaSetConfig {
        var single = self
        single.members = members.filter { $0.host == host }
        return single.initiateConfig
    }
}
