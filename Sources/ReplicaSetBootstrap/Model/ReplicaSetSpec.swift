import MongoBSON

/// The replica set the user wants: its name and members. Validated with mongod's own rules before
/// any node is contacted.
public struct ReplicaSetSpec: Hashable, Sendable {
    /// mongod's `kMaxMembers` and `kMaxVotingMembers` (`repl_set_config.h`).
    public static let maxMembers = 50
    public static let maxVotingMembers = 7

    public var name: String
    public var members: [MemberSpec]
    /// Only the settings given are part of the desire; others stay as mongod has them.
    public var settings: ReplicaSetSettings
    /// A config server replica set (`configsvr: true`).
    public var configsvr: Bool?

    public init(name: String, members: [MemberSpec], settings: ReplicaSetSettings = ReplicaSetSettings(), configsvr: Bool? = nil) {
        self.name = name
        self.members = members
        self.settings = settings
        self.configsvr = configsvr
    }

    /// The spec for a plain list of nodes (`--nodes`): every member with mongod's defaults, except
    /// that members 8 and up join without a vote (see `limitingVoters()`).
    public static func plain(name: String, nodes: [HostAddress]) throws(InvalidInput) -> (spec: ReplicaSetSpec, notes: [String]) {
        let (spec, notes) = ReplicaSetSpec(name: name, members: nodes.map { MemberSpec(host: $0) }).limitingVoters()
        try spec.validate()
        return (spec, notes)
    }

    /// mongod allows at most 7 voters: members beyond the 7th voter (in the order given) whose
    /// votes the user left open get votes 0 and priority 0. The notes say which.
    public func limitingVoters() -> (spec: ReplicaSetSpec, notes: [String]) {
        var spec = self
        var voters = 0
        var nonVoting: [HostAddress] = []
        for index in spec.members.indices where spec.members[index].resolvedOptions.isVoter {
            voters += 1
            guard voters > Self.maxVotingMembers, spec.members[index].votes == nil else { continue }
            spec.members[index].votes = 0
            if spec.members[index].priority == nil { spec.members[index].priority = 0 }
            nonVoting.append(spec.members[index].host)
        }
        let notes = nonVoting.isEmpty ? [] : [
            "mongod allows at most \(Self.maxVotingMembers) voting members: \(nonVoting.map(\.description).joined(separator: ", ")) join with votes 0 and priority 0",
        ]
        return (spec, notes)
    }

    /// mongod's rules for a config (`ConfigRules`), applied to the members as they would be
    /// initiated: options the spec leaves out count with mongod's defaults.
    public func validate() throws(InvalidInput) {
        try Self.validateName(name)
        guard !members.isEmpty else { throw InvalidInput("no members: give at least one node with --nodes host[:port]") }
        let resolved = members.map { ConfigRules.Member(id: $0.id, host: $0.host, options: $0.resolvedOptions) }
        if let problem = ConfigRules.problem(members: resolved, settings: settings, configsvr: configsvr ?? false) {
            throw InvalidInput(problem)
        }
    }

    /// mongod only needs a non-empty name; this also keeps it usable in `--replSet name/seeds` and
    /// in connection strings (`replicaSet=`).
    public static func validateName(_ name: String) throws(InvalidInput) {
        guard !name.isEmpty else { throw InvalidInput("empty replica set name: give --replica-set NAME, for example rs0") }
        guard name.utf8.count <= 128 else { throw InvalidInput("replica set name '\(name.prefix(20))…' is longer than 128 characters") }
        if let bad = name.first(where: { !($0.isASCIILetter || $0.isASCIIDigit || $0 == "-" || $0 == "_" || $0 == ".") }) {
            throw InvalidInput("replica set name '\(name)': character '\(bad)' is not allowed (letters, digits, '-', '_' and '.')")
        }
    }

    /// The member that initiates the set: the first electable member in sorted host order, so that
    /// concurrent runs given the same members in any order pick the same node.
    public var initiator: HostAddress {
        members.filter(\.resolvedOptions.isElectable).map(\.host).min()!
    }

    /// The member that should become primary: highest priority, then sorted host order.
    public var preferredPrimary: HostAddress {
        members.filter(\.resolvedOptions.isElectable)
            .min { ($1.resolvedOptions.priority, $0.host) < ($0.resolvedOptions.priority, $1.host) }!.host
    }

    public var hosts: [HostAddress] { members.map(\.host) }

    public func member(_ host: HostAddress) -> MemberSpec? {
        members.first { $0.host == host }
    }

    /// The version-1 config that `replSetInitiate` gets: members numbered in the order given
    /// (or as the spec numbers them), with the settings given.
    public var initiateConfig: ReplicaSetConfig {
        var nextId = 0
        let used = Set(members.compactMap(\.id))
        var configMembers: [ReplicaSetConfig.Member] = []
        for member in members {
            var id = member.id
            if id == nil {
                while used.contains(nextId) { nextId += 1 }
                id = nextId
                nextId += 1
            }
            configMembers.append(ReplicaSetConfig.Member(id: id!, host: member.host, options: member.resolvedOptions))
        }
        var otherFields: BSONDocument = [:]
        if configsvr == true { otherFields["configsvr"] = true }
        return ReplicaSetConfig(name: name, version: 1, term: nil, members: configMembers,
                                settings: settings.applied(to: [:]), otherFields: otherFields)
    }

    /// How `config` differs from this spec.
    public func difference(from config: ReplicaSetConfig) -> ConfigDifference {
        var difference = ConfigDifference()
        difference.settings = settings.mismatches(config.settings)
        for member in members {
            guard let current = config.member(member.host) else {
                difference.missing.append(member)
                continue
            }
            let names = member.mismatches(current.options)
            if !names.isEmpty { difference.changed.append(.init(host: member.host, options: names)) }
        }
        difference.extra = config.members.filter { self.member($0.host) == nil }.map(\.host)
        return difference
    }
}

extension MemberSpec {
    /// mongod's member rules (`member_config.cpp`), checked before contact.
    func validate() throws(InvalidInput) {
        if let problem = ConfigRules.memberProblem(.init(id: id, host: host, options: resolvedOptions)) {
            throw InvalidInput("member \(host): \(problem)")
        }
    }
}

/// What separates a current config from the desired spec.
public struct ConfigDifference: Hashable, Sendable {
    public struct Change: Hashable, Sendable {
        public var host: HostAddress
        public var options: [String]
    }

    /// Desired members the config does not have.
    public var missing: [MemberSpec] = []
    /// Members whose specified options differ.
    public var changed: [Change] = []
    /// Members of the config that the spec does not list; kept unless removal is asked for.
    public var extra: [HostAddress] = []

    /// Settings given in the spec that the config does not have, by name.
    public var settings: [String] = []

    /// True when the config has every desired member with every specified option and setting.
    public var satisfiesSpec: Bool { missing.isEmpty && changed.isEmpty && settings.isEmpty }
}
