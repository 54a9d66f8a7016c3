/// A replica-set member state, with mongod's numbers and names (`src/mongo/db/repl/member_state.h`).
public enum MemberState: Int32, Sendable, CustomStringConvertible {
    case startup = 0
    case primary = 1
    case secondary = 2
    case recovering = 3
    case startup2 = 5
    case unknown = 6
    case arbiter = 7
    case down = 8
    case rollback = 9
    case removed = 10

    /// `MemberState::toString`, the `stateStr` of replSetGetStatus.
    public var description: String {
        switch self {
        case .startup: return "STARTUP"
        case .primary: return "PRIMARY"
        case .secondary: return "SECONDARY"
        case .recovering: return "RECOVERING"
        case .startup2: return "STARTUP2"
        case .unknown: return "UNKNOWN"
        case .arbiter: return "ARBITER"
        case .down: return "DOWN"
        case .rollback: return "ROLLBACK"
        case .removed: return "REMOVED"
        }
    }
}
