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

    public init(document doc: BSONDocument) {
        // `ismaster` is the legacy name of `isWritablePrimary` (isMaster command, pre-5.0 servers).
        isWritablePrimary = (doc["isWritablePrimary"] ?? doc["ismaster"])?.boolValue ?? false
        secondary = doc["secondary"]?.boolValue ?? false
        arbiterOnly = doc["arbiterOnly"]?.boolValue ?? false
        hidden = doc["hidden"]?.boolValue ?? false
        setName = doc["setName"]?.stringValue
        setVersion = doc["setVersion"]?.intValue
        primary = doc["primary"]?.stringValue.map(HostAddress.init(configHost:))
        me = doc["me"]?.stringValue.map(HostAddress.init(configHost:))
        isReplicaSet = doc["isreplicaset"]?.boolValue ?? false
        isMongos = doc["msg"]?.stringValue == "isdbgrid"
        if let tv = doc["topologyVersion"]?.documentValue, let pid = tv["processId"]?.objectIdValue, let counter = tv["counter"]?.intValue {
            topologyVersion = TopologyVersion(processId: pid, counter: Int64(counter))
        } else {
            topologyVersion = nil
        }
        maxWireVersion = doc["maxWireVersion"]?.intValue ?? 0
        if let opTime = doc["lastWrite"]?.documentValue?["opTime"]?.documentValue,
           case .timestamp(let seconds, let increment)? = opTime["ts"] {
            lastWrite = OpTime(term: Int64(opTime["t"]?.intValue ?? -1), seconds: seconds, increment: increment)
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
