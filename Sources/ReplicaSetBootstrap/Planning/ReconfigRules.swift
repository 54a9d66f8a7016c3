/// mongod's rules for `replSetReconfig` from one config to the next, as a pure function: what
/// `processReplSetReconfig`/`_doReplSetReconfig` (`replication_coordinator_impl.cpp`) and
/// `validateConfigForReconfig` (`repl_set_config_checks.cpp`) check of the two configs.
public enum ReconfigRules {
    /// The first rule a `replSetReconfig` from `old` to `new`, sent to `primary` (for a force
    /// reconfig: the node it is sent to, if known), would break, in mongod's words; nil if none.
    ///
    /// The voter count is taken from the configs as sent. mongod 4.4+ marks new voters
    /// `newlyAdded` and does not count them, so it accepts somewhat more; this stays with the
    /// tool's invariant of one voter change per reconfig.
    ///
    /// `renaming`: `_id`s whose host this reconfig rewrites on purpose (`--rename-members`: the
    /// same node under its given name), which mongod allows.
    public static func violation(from old: ReplicaSetConfig, to new: ReplicaSetConfig, primary: HostAddress?, force: Bool,
                                 renaming: Set<Int> = []) -> String? {
        if let problem = new.problem { return problem }
        // `repl_set_config.idl`: version `lt: 2147483648`. A set at the last version can never
        // be reconfigured without force (which lets mongod pick the version).
        if !force && !ReplicaSetConfig.versionRange.contains(new.version) {
            return "version field value of \(new.version) is out of range: mongod allows config versions up to \(Int32.max), and the set is at \(old.version)"
        }
        // A force reconfig gets a version mongod raises itself (by 10000 and more).
        if !force && !new.isNewer(than: old) {
            return "New replica set configuration version and term must be greater than old, but \(new.versionAndTerm) is not greater than \(old.versionAndTerm) for replica set \(new.name)"
        }
        if old.name != new.name {
            return "New and old configurations differ in replica set name; old was \(old.name), and new is \(new.name)"
        }
        if old.replicaSetId != new.replicaSetId {
            return "New and old configurations differ in replica set ID; old was \(old.replicaSetId?.hex ?? "none"), and new is \(new.replicaSetId?.hex ?? "none")"
        }
        if old.isConfigServer && !new.isConfigServer {
            return "Cannot remove \"configsvr\" from replica set configuration on reconfig"
        }
        if let problem = memberIdentityProblem(old, new, renaming: renaming) { return problem }
        if let problem = psaProblem(old, new) { return problem }
        if !force {
            let oldVoters = Set(old.members.filter(\.options.isVoter).map(\.id))
            let newVoters = Set(new.members.filter(\.options.isVoter).map(\.id))
            if oldVoters.symmetricDifference(newVoters).count > 1 {
                return "Non force replica set reconfig can only add or remove at most 1 voting member."
            }
        }
        if let primary {
            guard let me = new.member(primary) else {
                return "No host described in new configuration with \(new.versionAndTerm) for replica set \(new.name) maps to this node (\(primary))"
            }
            // `checkElectable`: only a non-force reconfig needs its receiver electable.
            if !force && !me.options.isElectable {
                return "This node, \(me.host), with _id \(me.id) is not electable under the new configuration with \(new.versionAndTerm) for replica set \(new.name)"
            }
        }
        return nil
    }

    /// mongod 5.0+ refuses any reconfig, force included, that flips whether the implicit default
    /// write concern is majority (`_doReplSetReconfig`, `ReplSetConfig::isImplicitDefaultWriteConcernMajority`),
    /// unless a cluster-wide write concern was set with `setDefaultRWConcern`. The configs cannot
    /// say whether one was, so this is apart from `violation`: its message when the step flips it.
    /// New data-bearing voters do not count yet in a non-force reconfig (they are `newlyAdded`).
    public static func implicitDefaultWriteConcernChange(from old: ReplicaSetConfig, to new: ReplicaSetConfig, force: Bool) -> String? {
        let oldIds = Set(old.members.map(\.id))
        let counted = new.members.filter { force || $0.options.arbiterOnly || oldIds.contains($0.id) }
        let before = isImplicitDefaultWriteConcernMajority(old.members)
        guard before != isImplicitDefaultWriteConcernMajority(counted) else { return nil }
        return "Reconfig attempted to install a config that would change the implicit default write concern. Use the setDefaultRWConcern command to set a cluster-wide write concern and try the reconfig again."
    }

    /// w:majority unless arbiters could keep a primary elected while no majority write can be
    /// acknowledged (`isImplicitDefaultWriteConcernMajority`).
    private static func isImplicitDefaultWriteConcernMajority(_ members: [ReplicaSetConfig.Member]) -> Bool {
        let voters = members.filter(\.options.isVoter)
        let writableVoters = voters.filter { !$0.options.arbiterOnly }.count
        return writableVoters == voters.count || writableVoters > voters.count / 2 + 1
    }

    /// A host keeps its `_id`; `arbiterOnly` and `buildIndexes` never change for a member
    /// (`validateOldAndNewConfigsCompatible`). Stricter than mongod: an `_id` is not given to
    /// another host in one reconfig, since the single-voter rule counts voters by `_id` and a
    /// reused one would hide a voter change.
    private static func memberIdentityProblem(_ old: ReplicaSetConfig, _ new: ReplicaSetConfig, renaming: Set<Int>) -> String? {
        for member in new.members {
            for previous in old.members where previous.id == member.id || previous.host == member.host {
                if previous.host == member.host && previous.id != member.id {
                    return "New and old configurations both have members with host of \(member.host) but in the new configuration the _id field is \(member.id) and in the old configuration it is \(previous.id) for replica set \(new.name)"
                }
                if previous.host != member.host && !renaming.contains(member.id) {
                    return "_id \(member.id) belongs to \(previous.host) in the old configuration and to \(member.host) in the new one: give the new member a new _id"
                }
                if previous.options.buildIndexes != member.options.buildIndexes {
                    return "New and old configurations differ in the setting of the buildIndexes field for member \(member.host); to make this change, remove then re-add the member"
                }
                if previous.options.arbiterOnly != member.options.arbiterOnly {
                    return "New and old configurations differ in the setting of the arbiterOnly field for member \(member.host); to make this change, remove then re-add the member"
                }
            }
        }
        return nil
    }

    /// A PSA config may not make its secondary electable while a majority of the old config's
    /// voters cannot be reached without the arbiter (`validateOldAndNewConfigsCompatible`).
    private static func psaProblem(_ old: ReplicaSetConfig, _ new: ReplicaSetConfig) -> String? {
        let oldVoters = old.members.filter(\.options.isVoter)
        let overlap = oldVoters.count / 2 + 1 <= oldVoters.filter { !$0.options.arbiterOnly }.count
        let isPSA = new.members.count == 3 && new.members.filter { !$0.options.arbiterOnly }.count == 2
        guard !overlap && isPSA && new.members.filter({ $0.options.priority > 0 }).count > 1 else { return nil }
        return "Rejecting reconfig where the new config has a PSA topology and the secondary is electable, but the old config contains only one writable node. Refer to https://docs.mongodb.com/manual/reference/method/rs.reconfigForPSASet/ for next steps on reconfiguring a PSA set."
    }
}

extension ReplicaSetConfig {
    /// `ConfigVersionAndTerm::toString`; a config without a term shows mongod's -1.
    var versionAndTerm: String { "{version: \(version), term: \(term ?? -1)}" }
}
