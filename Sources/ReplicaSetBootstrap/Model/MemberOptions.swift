/// The options of one member as mongod stores them (`member_config.idl`), with mongod's defaults.
public struct MemberOptions: Hashable, Sendable {
    public var priority: Double
    public var votes: Int
    public var arbiterOnly: Bool
    public var hidden: Bool
    public var secondaryDelaySecs: Int
    public var buildIndexes: Bool
    public var tags: [String: String]
    /// Split-horizon names to `host:port` strings.
    public var horizons: [String: String]

    public init(
        priority: Double = 1, votes: Int = 1, arbiterOnly: Bool = false, hidden: Bool = false,
        secondaryDelaySecs: Int = 0, buildIndexes: Bool = true, tags: [String: String] = [:],
        horizons: [String: String] = [:]
    ) {
        self.priority = priority
        self.votes = votes
        self.arbiterOnly = arbiterOnly
        self.hidden = hidden
        self.secondaryDelaySecs = secondaryDelaySecs
        self.buildIndexes = buildIndexes
        self.tags = tags
        self.horizons = horizons
    }

    /// Can stand for election: mongod's `isElectable` without the runtime state.
    public var isElectable: Bool {
        priority > 0 && votes > 0 && !arbiterOnly && !hidden && secondaryDelaySecs == 0
    }

    public var isVoter: Bool { votes > 0 }

    /// A priority as people write it: 1, not 1.0; 0.5 stays 0.5.
    public static func text(priority: Double) -> String {
        Int(exactly: priority).map(String.init) ?? String(priority)
    }
}

/// One member of the desired set. Options left nil are not part of the desire: a new member gets
/// mongod's default, an existing member keeps what it has.
public struct MemberSpec: Hashable, Sendable {
    public var host: HostAddress
    /// The member's `_id`, when the spec fixes it; else existing members keep theirs and new
    /// ones get the next free number.
    public var id: Int?
    public var priority: Double?
    public var votes: Int?
    public var arbiterOnly: Bool?
    public var hidden: Bool?
    public var secondaryDelaySecs: Int?
    public var buildIndexes: Bool?
    public var tags: [String: String]?
    public var horizons: [String: String]?

    public init(host: HostAddress, id: Int? = nil, priority: Double? = nil, votes: Int? = nil, arbiterOnly: Bool? = nil,
                hidden: Bool? = nil, secondaryDelaySecs: Int? = nil, buildIndexes: Bool? = nil,
                tags: [String: String]? = nil, horizons: [String: String]? = nil) {
        self.host = host
        self.id = id
        self.priority = priority
        self.votes = votes
        self.arbiterOnly = arbiterOnly
        self.hidden = hidden
        self.secondaryDelaySecs = secondaryDelaySecs
        self.buildIndexes = buildIndexes
        self.tags = tags
        self.horizons = horizons
    }

    /// The options a new member gets: what is specified, else mongod's defaults (an arbiter's
    /// priority defaults to 0, as mongod silently makes it).
    public var resolvedOptions: MemberOptions {
        let arbiter = arbiterOnly ?? false
        return MemberOptions(
            priority: priority ?? (arbiter ? 0 : 1), votes: votes ?? 1, arbiterOnly: arbiter,
            hidden: hidden ?? false, secondaryDelaySecs: secondaryDelaySecs ?? 0,
            buildIndexes: buildIndexes ?? true, tags: tags ?? [:], horizons: horizons ?? [:])
    }

    /// The specified options that `current` does not have, by name; empty when it matches.
    public func mismatches(_ current: MemberOptions) -> [String] {
        var names: [String] = []
        if let priority, priority != current.priority { names.append("priority") }
        if let votes, votes != current.votes { names.append("votes") }
        if let arbiterOnly, arbiterOnly != current.arbiterOnly { names.append("arbiterOnly") }
        if let hidden, hidden != current.hidden { names.append("hidden") }
        if let secondaryDelaySecs, secondaryDelaySecs != current.secondaryDelaySecs { names.append("secondaryDelaySecs") }
        if let buildIndexes, buildIndexes != current.buildIndexes { names.append("buildIndexes") }
        if let tags, tags != current.tags { names.append("tags") }
        if let horizons, horizons != current.horizons { names.append("horizons") }
        return names
    }
}
