@testable import ReplicaSetBootstrap

/// DESIGN.md's safety invariants, checked against the fake's ground truth and against what the
/// machine was told, as the machine sends each write and when it finishes.
extension FakeReplicaSet {
    mutating func checkWriteAllowed(_ command: NodeCommand, on index: Int) {
        switch command {
        case .initiate: checkInitiateAllowed()
        case .reconfig(let config, let force, _): checkReconfigAllowed(config, force: force, on: index)
        case .stepUp, .stepDown, .awaitHello, .hello, .getStatus, .getConfig, .getCommittedConfig: break
        }
    }

    /// Invariant 1: every node reported no config (94) to the machine since the last initiate.
    private mutating func checkInitiateAllowed() {
        let previous = initiateSendSeqs.last ?? -1
        for index in nodes.indices where (lastFreshDelivered[index] ?? -1) <= previous {
            violations.append("invariant 1: replSetInitiate sent at \(now) without \(nodes[index].host) confirming 94 since the previous attempt")
        }
        initiateSendSeqs.append(seq)
    }

    /// Invariants 2 and 3, for one replSetReconfig.
    private mutating func checkReconfigAllowed(_ config: ReplicaSetConfig, force: Bool, on index: Int) {
        let host = nodes[index].host
        if force {
            // Invariant 3: force only with --force-reconfig, and only while no primary exists.
            if !scenario.forceReconfig { violations.append("invariant 3: force reconfig to \(host) at \(now) without --force-reconfig") }
            if let primary = nodes.first(where: \.isPrimary) { violations.append("invariant 3: force reconfig to \(host) at \(now) while \(primary.host) is primary") }
            return
        }
        guard let installed = nodes[index].config else {
            violations.append("replSetReconfig sent at \(now) to \(host), which has no config")
            return
        }
        // Invariant 2: one voter added or removed, counted by `_id` as mongod does.
        let before = Set(installed.members.filter(\.options.isVoter).map(\.id))
        let after = Set(config.members.filter(\.options.isVoter).map(\.id))
        if before.symmetricDifference(after).count > 1 {
            violations.append("invariant 2: reconfig to version \(config.version) at \(now) changes voters \(before.sorted()) → \(after.sorted())")
        }
        // Invariant 2: the previous reconfig of this run is committed, in truth and as the machine was told.
        if let previous = installedByRun, !isCommitted(previous) {
            violations.append("invariant 2: reconfig to version \(config.version) at \(now) before version \(previous.version) is committed")
        }
        if !committedTold.contains(where: { $0.node == index && $0.version == config.version - 1 && $0.requestSeq >= lastWriteReplySeq }) {
            violations.append("invariant 2: reconfig to version \(config.version) at \(now) without reading version \(config.version - 1) committed after the last write")
        }
        // Invariant 3: a member the spec omits is removed only with --remove-members (members of
        // the spec may leave to come back with another arbiterOnly or buildIndexes).
        let removed = installed.members.map(\.host).filter { config.member($0) == nil && spec.member($0) == nil }
        if !removed.isEmpty && !scenario.removeMembers {
            violations.append("invariant 3: reconfig to version \(config.version) at \(now) removes \(removed) without --remove-members")
        }
    }

    /// Invariant 4: converged only with a writable primary and its desired config, both asked for
    /// after the last write; a config this run changed committed. (Invariant 6 needs no check
    /// here: the machine is never handed a secret, `SafetyPropertyTests.noSecretInput`.)
    mutating func checkOutcome(_ outcome: Outcome) {
        guard case .converged(let summary) = outcome else { return }
        guard let primary = nodes.firstIndex(where: { $0.host == summary.primary }) else {
            violations.append("invariant 4: converged on unknown primary \(summary.primary)")
            return
        }
        let hello = writableHellos.last { $0.node == primary && $0.requestSeq >= lastWriteReplySeq }
        let config = configsDelivered.last { $0.node == primary && $0.requestSeq >= lastWriteReplySeq }
        if hello == nil { violations.append("invariant 4: converged without a writable hello from \(summary.primary) asked after the last write") }
        guard let config else {
            violations.append("invariant 4: converged without a config from \(summary.primary) asked after the last write")
            return
        }
        let difference = spec.difference(from: config.config)
        if !difference.satisfiesSpec { violations.append("invariant 4: converged on a config that is not the desired one: \(difference)") }
        if scenario.removeMembers && !difference.extra.isEmpty { violations.append("invariant 4: converged keeping \(difference.extra) with --remove-members") }
        if let hello, hello.setVersion != config.config.version { violations.append("invariant 4: converged with hello version \(hello.setVersion ?? -1) and config version \(config.config.version)") }
        if installedByRun != nil && !isCommitted(config.config) {
            violations.append("invariant 4: converged on version \(config.config.version), which a majority of voters does not hold")
        }
    }
}
