/// A change worth one progress line on stderr. The state machine reports a change of state
/// once, when it happens; an attempt and its failure on every try, which `RepeatedAttempts`
/// thins out for the log.
public enum Progress: Hashable, Sendable {
    case unreachable(HostAddress, MongoError)
    case classified(HostAddress, NodeStatus)
    case initiating(HostAddress, ReplicaSetConfig)
    case initiated(HostAddress)
    /// Another run (or a person) initiated it first: observe again.
    case alreadyInitialized(HostAddress)
    case initiateFailed(HostAddress, MongoError, retryIn: Duration)
    case steppingUp(HostAddress)
    case stepUpFailed(HostAddress, MongoError, retryIn: Duration)
    case primaryWritable(HostAddress)
    /// A given name (`--nodes`) the set records under another name: that member.
    case recordedAs(HostAddress, HostAddress)
    case reconfiguring(HostAddress, change: String, version: Int)
    case reconfigured(HostAddress, version: Int)
    /// The config is installed; mongod waits for a majority of voters to have it.
    case awaitingCommitment(HostAddress, version: Int)
    case reconfigFailed(HostAddress, MongoError, retryIn: Duration)
    case steppingDown(HostAddress, reason: String)
    case stepDownFailed(HostAddress, MongoError, retryIn: Duration)
    case forcingReconfig(HostAddress, dropped: [HostAddress], ReplicaSetConfig)
    case waiting(String)
}

/// What a node turned out to be.
public enum NodeStatus: Hashable, Sendable, CustomStringConvertible {
    /// Running with --replSet, no config yet (replSetGetStatus: NotYetInitialized 94).
    case fresh
    /// Holds a config that does not list it (replSetGetStatus: InvalidReplicaSetConfig 93).
    case removed
    case member(setName: String, version: Int?, state: MemberState)
    case standalone
    case mongos
    /// No config, and it rejects the credentials the set's members accept: a new mongod whose
    /// users arrive with its initial sync.
    case newWithoutUsers

    public var description: String {
        switch self {
        case .fresh: return "fresh (no replica set config yet)"
        case .removed: return "REMOVED (holds a config that does not list it)"
        case .member(let setName, let version, let state):
            return "\(state.rawValue) of '\(setName)'" + (version.map { ", config version \($0)" } ?? "")
        case .standalone: return "standalone (not started with --replSet)"
        case .mongos: return "mongos"
        case .newWithoutUsers: return "new (no config), and it does not know the user yet: the set's users arrive with its initial sync"
        }
    }
}
