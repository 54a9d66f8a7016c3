import MongoBSON

/// The server's `topologyVersion`; sending it back with `maxAwaitTimeMS` makes `hello` wait for
/// the next change (MongoDB 4.4+).
public struct TopologyVersion: Hashable, Sendable {
    public var processId: ObjectId
    public var counter: Int64

    public init(processId: ObjectId, counter: Int64) {
        self.processId = processId
        self.counter = counter
    }

    var document: BSONDocument { ["processId": .objectId(processId), "counter": .int64(counter)] }
}

/// What one node says of itself in `hello` (`hello_response.cpp`, `replication_info.cpp`).
public struct HelloResponse: Hashable, Sendable {
    public var isWritablePrimary: Bool
    public var secondary: Bool
    public var arbiterOnly: Bool
    public var hidden: Bool
    /// Present only when the node has a valid config it is a member of.
    public var setName: String?
    public var setVersion: Int?
    /// The primary this node knows of, if any.
    public var primary: HostAddress?
    public var me: HostAddress?
    /// Uninitialized and removed nodes answer `isreplicaset: true` without a set name.
    public var isReplicaSet: Bool
    /// mongos answers `msg: "isdbgrid"`.
    public var isMongos: Bool
    public var topologyVersion: TopologyVersion?
    public var maxWireVersion: Int
    /// The node's last applied write (`lastWrite.opTime`), to force a config on the member that
    /// has the newest data.
    public var lastWrite: OpTime?

    public init(isWritablePrimary: Bool = false, secondary: Bool = false, arbiterOnly: Bool = false, hidden: Bool = false,
                setName: String? = nil, setVersion: Int? = nil, primary: HostAddress? = nil, me: HostAddress? = nil,
                isReplicaSet: Bool = false, isMongos: Bool = false, topologyVersion: TopologyVersion? = nil, maxWireVersion: Int = 17,
                lastWrite: OpTime? = nil) {
        self.isWritablePrimary = isWritablePrimary
        self.secondary = secondary
        self.arbiterOnly = arbiterOnly
        self.hidden = hidden
        self.setName = setName
        self.setVersion = setVersion
        self.primary = primary
        self.me = me
        self.isReplicaSet = isReplicaSet
        self.isMongos = isMongos
        self.topologyVersion = topologyVersion
        self.maxWireVersion = maxWireVersion
        self.lastWrite = lastWrite
    }

    /// Reads a `hello`/`isMaster` reply, strictly: a field the tool reads must have the type
    /// mongod gives it (`hello_response.cpp`), and numbers must be in mongod's ranges.
    public init(document doc: BSONDocument) throws(ReplyError) {
        let fields = ReplyFields(doc)
        // `ismaster` is the legacy name of `isWritablePrimary` (isMaster command, pre-5.0 servers).
        let writable = try fields.bool("isWritablePrimary")
        let legacyWritable = try fields.bool("ismaster")
        isWritablePrimary = writable ?? legacyWritable ?? false
        secondary = try fields.bool("secondary") ?? false
        arbiterOnly = try fields.bool("arbiterOnly") ?? false
        hidden = try fields.bool("hidden") ?? false
        setName = try fields.string("setName")
        setVersion = try fields.int("setVersion", in: ReplicaSetConfig.versionRange)
        if setName != nil && setVersion == nil {
            // mongod reports both or neither (`HelloResponse::setReplSetVersion` with the name).
            throw fields.failure("setVersion", "is missing although setName is given")
        }
        primary = try fields.host("primary")
        me = try fields.host("me")
        isReplicaSet = try fields.bool("isreplicaset") ?? false
        isMongos = try fields.string("msg") == "isdbgrid"
        if let tv = try fields.fields("topologyVersion") {
            guard let processId = try tv.objectId("processId") else { throw tv.failure("processId", "is missing") }
            guard let counter = try tv.int("counter", in: 0...Int(Int64.max)) else { throw tv.failure("counter", "is missing") }
            topologyVersion = TopologyVersion(processId: processId, counter: Int64(counter))
        } else {
            topologyVersion = nil
        }
        maxWireVersion = try fields.int("maxWireVersion", in: 0...Int(Int32.max)) ?? 0
        if let opTime = try fields.fields("lastWrite")?.fields("opTime"), let ts = try opTime.timestamp("ts") {
            let term = try opTime.int("t", in: -1...Int(Int64.max)) ?? -1
            lastWrite = OpTime(term: Int64(term), seconds: ts.seconds, increment: ts.increment)
        } else {
            lastWrite = nil
        }
    }

    /// The member state this reply shows, as far as `hello` tells it.
    public var memberState: MemberState {
        if isWritablePrimary { return .primary }
        if arbiterOnly { return .arbiter }
        // A primary still draining its oplog reports secondary: true and names itself primary.
        if secondary, let me, primary == me { return .primaryDraining }
        if secondary { return .secondary }
        return .other
    }

    /// Whether the node has a config it is a member of.
    public var hasConfig: Bool { setName != nil }

    /// Whether `other` reports the same state: everything but `topologyVersion` (which a hostile
    /// node may change at will) and `lastWrite` (which moves with every write) equal.
    public func saysTheSame(as other: HelloResponse) -> Bool {
        var mine = self
        var theirs = other
        (mine.topologyVersion, theirs.topologyVersion) = (nil, nil)
        (mine.lastWrite, theirs.lastWrite) = (nil, nil)
        return mine == theirs
    }

    /// Whether this reply shows a later state of the same process than `other`.
    public func isNewerTopology(than other: HelloResponse) -> Bool {
        guard let mine = topologyVersion, let theirs = other.topologyVersion, mine.processId == theirs.processId else { return false }
        return mine.counter > theirs.counter
    }
}

/// A member's state as the tool distinguishes it.
public enum MemberState: String, Hashable, Sendable {
    case primary = "PRIMARY"
    case primaryDraining = "PRIMARY (draining)"
    case secondary = "SECONDARY"
    case arbiter = "ARBITER"
    /// STARTUP2, RECOVERING, ROLLBACK: `hello` does not say which.
    case other = "STARTUP2/RECOVERING"

    /// Healthy for `--wait-for all`.
    var isHealthy: Bool { self == .primary || self == .secondary || self == .arbiter }
}

/// A replication position: newer terms first, then timestamps (`op_time.h`).
public struct OpTime: Hashable, Comparable, Sendable {
    public var term: Int64
    public var seconds: UInt32
    public var increment: UInt32

    public init(term: Int64, seconds: UInt32, increment: UInt32) {
        self.term = term
        self.seconds = seconds
        self.increment = increment
    }

    public static func < (lhs: OpTime, rhs: OpTime) -> Bool {
        (lhs.term, lhs.seconds, lhs.increment) < (rhs.term, rhs.seconds, rhs.increment)
    }
}
