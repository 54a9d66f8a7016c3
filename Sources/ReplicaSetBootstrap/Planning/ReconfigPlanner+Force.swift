extension ReconfigPlanner {
    /// --force-reconfig: the config to force when a majority of voters is lost: the members in
    /// `reachable` only, votes and priorities kept where valid (when none of them could be elected,
    /// the first data-bearing member that may be, voters first, gets votes 1 and priority 1), and
    /// the members it drops, in sorted order. Nil if no valid config can be made from them.
    /// mongod raises the version of a forced config itself and leaves it without a term.
    public static func forcedConfig(from current: ReplicaSetConfig, reachable: Set<HostAddress>) -> (ReplicaSetConfig, dropped: [HostAddress])? {
        var config = current
        config.version += 1
        config.term = nil
        config.members = current.members.filter { reachable.contains($0.host) }
        let hasElectable = config.members.contains { $0.options.isElectable }
        let candidate = config.members.indices
            .filter { config.members[$0].options.canBeElectable }
            .min { (1 - config.members[$0].options.votes, config.members[$0].host) < (1 - config.members[$1].options.votes, config.members[$1].host) }
        if !hasElectable, let candidate {
            config.members[candidate].options.votes = 1
            config.members[candidate].options.priority = 1
        }
        guard ReconfigRules.violation(from: current, to: config, primary: nil, force: true) == nil else { return nil }
        return (config, current.members.map(\.host).filter { !reachable.contains($0) }.sorted())
    }
}

extension MemberOptions {
    /// Whether votes 1 and a priority would make it electable (member_config.cpp's rules for priority > 0).
    var canBeElectable: Bool { !arbiterOnly && !hidden && secondaryDelaySecs == 0 && buildIndexes }
}
