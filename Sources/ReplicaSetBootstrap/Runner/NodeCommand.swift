// The commands the state machine sends to a node, and their successful replies: the API the
// runner needs of the driver (`ReplicaSetNodes`). Failures are `MongoError`s.

public enum NodeCommand: Hashable, Sendable {
    /// `hello` on the monitoring connection; with a topology version it waits up to
    /// `maxAwait` for the next change.
    case awaitHello(TopologyVersion?, maxAwait: Duration)
    /// A plain `hello` on the command connection, to confirm state after a write.
    case hello
    case getStatus
    case getConfig
    /// `replSetGetConfig` with `commitmentStatus: true`, on the primary.
    case getCommittedConfig
    case initiate(ReplicaSetConfig)
    case stepUp
    /// `replSetReconfig` with `maxTimeMS`; `force` only when the user asked for it.
    case reconfig(ReplicaSetConfig, force: Bool, maxTime: Duration)
    /// `replSetStepDown`, before a reconfig that removes the primary or makes it unelectable.
    case stepDown

    public var usesMonitorConnection: Bool {
        if case .awaitHello = self { return true }
        return false
    }

    public var isWrite: Bool {
        switch self {
        case .initiate, .stepUp, .reconfig, .stepDown: return true
        case .awaitHello, .hello, .getStatus, .getConfig, .getCommittedConfig: return false
        }
    }
}

/// A successful reply on the command connection.
public enum CommandReply: Hashable, Sendable {
    case hello(HelloResponse)
    /// `replSetGetStatus` answered ok: the node has a config, and sees the set like this.
    case status(SetHealth)
    case config(ReplicaSetConfig)
    /// The primary's config and whether a majority of voters has it (nil: a server before
    /// 4.4, which ignores commitmentStatus).
    case committedConfig(ReplicaSetConfig, committed: Bool?)

    /// A status reply that says nothing of the other members.
    public static var statusOK: CommandReply { .status(SetHealth()) }
    case initiated
    case steppedUp
    case reconfigured
    case steppedDown
}
