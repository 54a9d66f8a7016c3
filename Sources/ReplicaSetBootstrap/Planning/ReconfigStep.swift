/// One step of a plan from the current config toward the desired spec.
public enum ReconfigStep: Hashable, Sendable, CustomStringConvertible {
    /// A replSetReconfig to this config (version = current.version + 1), with a short human
    /// description of what it changes, e.g. "add db-3.mongo:27017 (votes 1, priority 1)".
    case reconfig(ReplicaSetConfig, change: String)
    /// The primary must step down first (it is to be removed or become unelectable).
    case stepDown(HostAddress, reason: String)

    public var description: String {
        switch self {
        case .reconfig(let config, let change): "reconfig to version \(config.version): \(change)"
        case .stepDown(let host, let reason): "step down \(host): \(reason)"
        }
    }
}
