import MongoBSON

/// mongod's rules for one replica-set config in itself, as `ReplSetConfig::parse` and
/// `ReplSetConfig::validate` apply them (`src/mongo/db/repl/repl_set_config.cpp` `_validate`,
/// `member_config.cpp`, `member_config.idl`, `repl_set_config.idl`, `split_horizon.cpp`,
/// `repl_set_write_concern_mode_definitions.cpp`, `repl_set_config_checks.cpp`
/// `validateArbiterPriorities`). Shared by the spec validation (before any contact) and the
/// reconfig rules (for every config the planner sends). Messages name the member and the rule.
enum ConfigRules {
    typealias Limits = ConfigLimits

    struct Member {
        /// Nil for a spec member the spec does not number.
        var id: Int?
        var host: HostAddress
        var options: MemberOptions
    }

    /// The first rule the set breaks, or nil.
    static func problem(members: [Member], settings: ReplicaSetSettings, configsvr: Bool) -> String? {
        guard (1...ReplicaSetSpec.maxMembers).contains(members.count) else {
            return "\(members.count) members, but a replica set has at least 1 and at most \(ReplicaSetSpec.maxMembers) (mongod's limit)"
        }
        for member in members {
            if let problem = memberProblem(member) { return "member \(member.host): \(problem)" }
        }
        var hosts: [HostAddress: Member] = [:]
        var ids: [Int: Member] = [:]
        for member in members {
            if let other = hosts.updateValue(member, forKey: member.host) {
                return "member \(other.host) is listed twice (host and host:27017 are the same member)"
            }
            if let id = member.id, let other = ids.updateValue(member, forKey: id) {
                return "members \(other.host) and \(member.host) have the same _id \(id): each member needs its own _id"
            }
        }
        if let problem = horizonProblem(members) { return problem }
        let localhost = members.filter(\.host.isLocalhost)
        if let local = localhost.first, let other = members.first(where: { !$0.host.isLocalhost }) {
            return "\(local.host) is a localhost address but \(other.host) is not: mongod needs either all members on localhost or none"
        }
        let voters = members.filter(\.options.isVoter).count
        guard (1...ReplicaSetSpec.maxVotingMembers).contains(voters) else {
            return "\(voters) voting members, but mongod needs at least 1 and at most \(ReplicaSetSpec.maxVotingMembers); give the others votes 0 and priority 0"
        }
        // mongod counts non-arbiters with priority > 0; the member rules make those voting, visible and undelayed.
        guard members.contains(where: { !$0.options.arbiterOnly && $0.options.priority > 0 }) else {
            return "no electable member: at least one non-arbiter member needs priority > 0 (and so votes 1, not hidden, no delay)"
        }
        if configsvr {
            for member in members {
                if member.options.arbiterOnly { return "member \(member.host): arbiters are not allowed in a config server replica set (configsvr)" }
                if !member.options.buildIndexes { return "member \(member.host): members of a config server replica set (configsvr) must build indexes" }
                if member.options.secondaryDelaySecs != 0 { return "member \(member.host): members of a config server replica set (configsvr) cannot have a non-zero secondaryDelaySecs" }
            }
        }
        return settingsProblem(settings, members: members)
    }

    /// One member's rules (`MemberConfig` constructor, `member_config.idl` validators, `MemberId`,
    /// `split_horizon.cpp`, `validateArbiterPriorities`), in mongod's words where it has them.
    static func memberProblem(_ member: Member) -> String? {
        let o = member.options
        if let id = member.id, !Limits.memberId.contains(id) { return "_id field value of \(id) is out of range." }
        guard Limits.votes.contains(o.votes) else { return "votes must be 0 or 1, not \(o.votes)" }
        guard Limits.priority.contains(o.priority) else { return "priority must be from 0 to 1000, not \(o.priority)" }
        guard Limits.secondaryDelaySecs.contains(o.secondaryDelaySecs) else { return "secondaryDelaySecs must be from 0 to 31622400, not \(o.secondaryDelaySecs)" }
        if o.arbiterOnly {
            guard o.votes == 1 else { return "Arbiter must vote (cannot have 0 votes)" }
            guard o.tags.isEmpty else { return "Cannot set tags on arbiters." }
            guard o.priority == 0 else { return "an arbiter's priority must be 0, not \(o.priority)" }
        }
        if o.priority != 0 {
            guard o.votes == 1 else { return "priority must be 0 when non-voting (votes:0)" }
            guard o.secondaryDelaySecs == 0 else { return "priority must be 0 when secondaryDelaySecs is used" }
            guard !o.hidden else { return "priority must be 0 when hidden=true" }
            guard o.buildIndexes else { return "priority must be 0 when buildIndexes=false" }
        }
        // Within a member, horizon hosts (without ports) differ from each other and from its own host.
        var horizonHosts: Set<String> = [member.host.canonicalHost]
        for (name, value) in o.horizons.sorted(by: { $0.key < $1.key }) {
            if name == "__default" { return "Horizon name \"__default\" is reserved for internal mongodb usage" }
            if name.isEmpty { return "Horizons cannot have empty names" }
            guard let address = try? HostAddress(parsing: value) else { return "horizons.\(name): '\(value)' is not host[:port]" }
            if address.isIPAddress {
                return "Found split horizon configuration using IP address, which is disallowed: horizons contains entry {\"\(name)\": \"\(value)\"}"
            }
            if !horizonHosts.insert(address.canonicalHost).inserted { return "Duplicate horizon member found \"\(address.host)\"." }
        }
        return nil
    }

    /// Every member has the same horizon names; every address (member hosts and horizon
    /// addresses) appears once in the set.
    private static func horizonProblem(_ members: [Member]) -> String? {
        guard let first = members.first else { return nil }
        let names = Set(first.options.horizons.keys)
        if let other = members.first(where: { Set($0.options.horizons.keys) != names }) {
            let missing = names.symmetricDifference(other.options.horizons.keys).sorted().joined(separator: ", ")
            return "members \(first.host) and \(other.host) have different horizon names (\(missing)): every member needs the same horizons"
        }
        var seen: Set<HostAddress> = []
        for member in members {
            let addresses = [member.host] + member.options.horizons.values.compactMap { try? HostAddress(parsing: $0) }
            for address in addresses where !seen.insert(address).inserted {
                return "member \(member.host): \(address) is not unique across all horizons and host specifications in the replica set"
            }
        }
        return nil
    }

    /// `repl_set_config.idl` validators and `getLastErrorModes` (counts positive, tag keys present:
    /// `ReplSetTagConfig::addTagCountConstraintToPattern`).
    private static func settingsProblem(_ settings: ReplicaSetSettings, members: [Member]) -> String? {
        let positive: [(String, Int?)] = [("heartbeatIntervalMillis", settings.heartbeatIntervalMillis),
                                          ("heartbeatTimeoutSecs", settings.heartbeatTimeoutSecs),
                                          ("electionTimeoutMillis", settings.electionTimeoutMillis)]
        for case let (name, value?) in positive where !Limits.positiveSetting.contains(value) { return "settings.\(name) must be > 0, not \(value)" }
        let atLeastMinusOne: [(String, Int?)] = [("catchUpTimeoutMillis", settings.catchUpTimeoutMillis),
                                                 ("catchUpTakeoverDelayMillis", settings.catchUpTakeoverDelayMillis)]
        for case let (name, value?) in atLeastMinusOne where !Limits.catchUpSetting.contains(value) { return "settings.\(name) must be >= -1, not \(value)" }
        let keys = tagKeys(members)
        for (mode, constraints) in (settings.getLastErrorModes ?? [:]).sorted(by: { $0.key < $1.key }) {
            for (tag, count) in constraints.sorted(by: { $0.key < $1.key }) {
                if count <= 0 { return "Value of getLastErrorModes.\(mode).\(tag) must be positive, but found \(count)" }
                if count > Limits.writeConcernCount.upperBound { return "settings.getLastErrorModes.\(mode).\(tag) must be at most \(Limits.writeConcernCount.upperBound) (mongod reads it as a 32-bit integer), not \(count)" }
                if !keys.contains(tag) { return "settings.getLastErrorModes.\(mode): No replica set tag key \(tag) in config (give a member the tag \(tag))" }
            }
        }
        return nil
    }

    /// Tag keys of the members, with the internal ones mongod adds (`MemberConfig::addTagInfo`).
    private static func tagKeys(_ members: [Member]) -> Set<String> {
        var keys: Set<String> = ["$configAll"]
        for member in members {
            let o = member.options
            keys.formUnion(o.tags.keys)
            if o.isVoter { keys.insert("$configVoter") }
            if !o.arbiterOnly { keys.insert("$all") }
            if o.isVoter && !o.arbiterOnly { keys.insert("$voter") }
            if o.isElectable { keys.insert("$electable") }
        }
        return keys
    }
}

/// mongod's ranges for the numbers in a config (`member_config.idl`, `MemberId`,
/// `repl_set_config.idl`, `repl_set_write_concern_mode_definitions.cpp`): what input may give
/// before any node is contacted, and what `ConfigRules` enforces on every config sent.
public enum ConfigLimits {
    /// A member's `_id` (`MemberId`: a non-negative int32).
    public static let memberId = 0...Int(Int32.max)
    public static let votes = 0...1
    /// Finite: NaN and infinities are outside.
    public static let priority: ClosedRange<Double> = 0...1000
    /// 366 days.
    public static let secondaryDelaySecs = 0...31_622_400
    /// heartbeatIntervalMillis, heartbeatTimeoutSecs, electionTimeoutMillis: `safeInt64` > 0.
    public static let positiveSetting = 1...Int(Int64.max)
    /// catchUpTimeoutMillis, catchUpTakeoverDelayMillis: `safeInt64` >= -1 (-1: no limit).
    public static let catchUpSetting = -1...Int(Int64.max)
    /// A getLastErrorModes count: positive, and mongod reads it as an int32 (`numberInt`).
    public static let writeConcernCount = 1...Int(Int32.max)
}

extension ReplicaSetConfig {
    /// The first rule of mongod's this config breaks in itself, or nil.
    var problem: String? {
        ConfigRules.problem(members: members.map { .init(id: $0.id, host: $0.host, options: $0.options) },
                            settings: ReplicaSetSettings(document: settings), configsvr: isConfigServer)
    }

    var isConfigServer: Bool { otherFields["configsvr"]?.isTruthy ?? false }
}

extension ReplicaSetSettings {
    /// The settings this model types, read from a config's `settings` document.
    init(document: BSONDocument) {
        var modes: [String: [String: Int]]?
        if let doc = document["getLastErrorModes"]?.documentValue {
            modes = [:]
            for mode in doc {
                var constraints: [String: Int] = [:]
                for tag in mode.value.documentValue ?? [:] { constraints[tag.key] = tag.value.intValue }
                modes?[mode.key] = constraints
            }
        }
        self.init(chainingAllowed: document["chainingAllowed"]?.boolValue,
                  heartbeatIntervalMillis: document["heartbeatIntervalMillis"]?.intValue,
                  heartbeatTimeoutSecs: document["heartbeatTimeoutSecs"]?.intValue,
                  electionTimeoutMillis: document["electionTimeoutMillis"]?.intValue,
                  catchUpTimeoutMillis: document["catchUpTimeoutMillis"]?.intValue,
                  catchUpTakeoverDelayMillis: document["catchUpTakeoverDelayMillis"]?.intValue,
                  getLastErrorModes: modes)
    }
}

extension HostAddress {
    /// mongod refuses horizon addresses that parse as an IP address or CIDR range
    /// (`isValidCIDRRange` in `repl_set_config.cpp`).
    var isIPAddress: Bool {
        if host.contains(":") { return true }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        return labels.count == 4 && labels.allSatisfy { UInt8($0) != nil }
    }
}
