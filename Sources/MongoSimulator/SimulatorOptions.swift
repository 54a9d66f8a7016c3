/// Every duration the simulated members wait. Defaults are mongod's; tests shrink them.
public struct SimulatorTimings: Sendable {
    /// Overrides the config's `settings.electionTimeoutMillis` (mongod's default 10 s) when set,
    /// so a test can shrink it without writing settings into the config under test.
    public var electionTimeout: Duration?
    /// Overrides the config's `settings.heartbeatIntervalMillis` (default 2 s) when set.
    public var heartbeatInterval: Duration?
    /// `replElectionTimeoutOffsetLimitFraction`: the election timeout gets up to this much extra.
    public var electionTimeoutJitter: Double
    /// How long a member spends in STARTUP2 doing initial sync after it learns the config.
    public var initialSync: Duration
    /// How long a member with data stays RECOVERING before it becomes SECONDARY.
    public var recovering: Duration
    /// How long a newly elected primary drains before it accepts writes (isWritablePrimary).
    public var drain: Duration

    public init(electionTimeout: Duration? = nil, heartbeatInterval: Duration? = nil, electionTimeoutJitter: Double = 0.15,
                initialSync: Duration = .seconds(1), recovering: Duration = .milliseconds(10), drain: Duration = .milliseconds(5)) {
        self.electionTimeout = electionTimeout
        self.heartbeatInterval = heartbeatInterval
        self.electionTimeoutJitter = electionTimeoutJitter
        self.initialSync = initialSync
        self.recovering = recovering
        self.drain = drain
    }

    /// mongod's own timings.
    public static let mongod = SimulatorTimings()

    /// Timings for tests: a 3-member set elects within about 300 ms of being initiated.
    public static let fast = SimulatorTimings(electionTimeout: .milliseconds(200), heartbeatInterval: .milliseconds(50),
                                              initialSync: .milliseconds(50), recovering: .milliseconds(5), drain: .milliseconds(2))
}

public struct SimulatorOptions: Sendable {
    /// The `--replSet` name of the members.
    public var setName: String
    /// The port every member listens on (each on its own loopback address). When it cannot be
    /// bound on the chosen addresses, another port is used for the whole set.
    public var port: Int
    /// The first three octets of the members' addresses ("127.a.b"); by default a random block,
    /// so two test processes (or a real mongod on 127.0.0.1) do not collide.
    public var addressBlock: String?
    public var timings: SimulatorTimings
    public var serverVersion: ServerVersion
    /// `--auth` with users, and TLS; nil: neither, as `mongod --replSet` alone.
    public var security: SimulatorSecurity?

    public init(setName: String = "rs0", port: Int = 27017, addressBlock: String? = nil,
                timings: SimulatorTimings = .mongod, serverVersion: ServerVersion = .v7_0,
                security: SimulatorSecurity? = nil) {
        self.setName = setName
        self.port = port
        self.addressBlock = addressBlock
        self.timings = timings
        self.serverVersion = serverVersion
        self.security = security
    }
}

/// How a simulated mongod was started.
public enum MemberRole: Sendable, Equatable {
    /// `mongod --replSet <setName>`, fresh.
    case member
    /// `mongod` without `--replSet`.
    case standalone
    /// `mongod --replSet <name>` that already initiated a one-member set of its own.
    case otherSet(String)
}

public struct MemberSpec: Sendable {
    public var role: MemberRole
    /// Other names that map to this member ("isSelf"), as a hostname would next to an IP.
    public var aliases: [String]
    /// With `--auth`: the member has none of the set's users until its initial sync copies
    /// `admin.system.users` from the set, as a new mongod does unless its image created them.
    public var usersArriveWithInitialSync: Bool

    public init(role: MemberRole = .member, aliases: [String] = [], usersArriveWithInitialSync: Bool = false) {
        self.role = role
        self.aliases = aliases
        self.usersArriveWithInitialSync = usersArriveWithInitialSync
    }
}
