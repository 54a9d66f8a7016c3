/// A set that does not exist yet: when and what to initiate, and what mongod's answers mean.
extension ReplicaSetStateMachine {
    mutating func considerInitiate(_ now: Duration) -> [Action] {
        guard !writeInFlight else { return [] }
        let since = lastInitiateSeq
        let confirmedFresh = { (node: TrackedNode) in
            node.isFresh && node.freshConfirmedSeq > since && !(node.hello?.value.hasConfig ?? true)
        }
        let initiator = spec.initiator
        let listed = nodes.lazy.filter(\.listed)
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
        guard now >= initiateNotBefore else { return wakeUp(at: initiateNotBefore, now: now) }
        guard let index = nodeIndex(forMember: initiator), nodes[index].command == nil else { return [] }
        lastInitiateSeq = sequence
        lastInitiateFailed = false
        return [.report(.initiating(initiator, config)), send(.initiate(config), to: index)]
    }

    mutating func initiateFailed(_ error: MongoError, on index: Int, at now: Duration) -> [Action] {
        let host = nodes[index].host
        completeWrite(on: index, error: error)
        lastInitiateFailed = true
        lastInitiateError = error
        if let refusal = initiateRefusal(error, host: host) { return finish(.refused(refusal)) }
        initiateFailures += 1
        let delay = configuration.retry.delay(afterFailures: initiateFailures, random: &random)
        initiateNotBefore = now + delay
        var actions: [Action] = [.report(error.hasCode(.alreadyInitialized) ? .alreadyInitialized(host) : .initiateFailed(host, error, retryIn: delay))]
        if error.isNotFindingItself {
            // A name that resolves late heals within seconds; one that never will is a mistake
            // in --nodes, worth saying once what to check.
            let since = notFindingItselfSince ?? now
            notFindingItselfSince = since
            if now - since >= Self.namesHintAfter, !namesHintGiven {
                namesHintGiven = true
                actions.append(.report(.waiting("hint: \(Blocker.namesHint(host))")))
            }
        } else {
            notFindingItselfSince = nil
        }
        return actions
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
}

extension ReplicaSetStateMachine {
    /// How long "… maps to this node" may go on before the hint about names.
    static let namesHintAfter = Duration.seconds(5)
}

extension MongoError {
    /// mongod's InvalidReplicaSetConfig for a config in which the node does not find itself
    /// (`ReplSetConfig::findSelf` via `validateConfigForInitiate`/`ForReconfig`).
    var isNotFindingItself: Bool {
        hasCode(.invalidReplicaSetConfig) && message.contains("maps to this node")
    }
}

extension ReplicaSetStateMachine.TrackedNode {
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
