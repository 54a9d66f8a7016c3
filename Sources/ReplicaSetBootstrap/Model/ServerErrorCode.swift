/// mongod's error codes that replica-set commands answer with (`error_codes.yml`).
public enum ServerErrorCode: Int, Sendable, CaseIterable {
    case unauthorized = 13
    case authenticationFailed = 18
    case alreadyInitialized = 23
    case maxTimeMSExpired = 50
    case commandNotFound = 59
    case nodeNotFound = 74
    case noReplicationEnabled = 76
    case shutdownInProgress = 91
    case invalidReplicaSetConfig = 93
    case notYetInitialized = 94
    case newReplicaSetConfigurationIncompatible = 103
    case nodeNotElectable = 104
    case configurationInProgress = 109
    case commandFailed = 125
    case primarySteppedDown = 189
    case currentConfigNotCommittedYet = 308
    case notWritablePrimary = 10107
    case interruptedAtShutdown = 11600
    case interruptedDueToReplStateChange = 11602
    case notPrimaryNoSecondaryOk = 13435
    case notPrimaryOrSecondary = 13436

    public var name: String {
        switch self {
        case .unauthorized: return "Unauthorized"
        case .authenticationFailed: return "AuthenticationFailed"
        case .alreadyInitialized: return "AlreadyInitialized"
        case .maxTimeMSExpired: return "MaxTimeMSExpired"
        case .commandNotFound: return "CommandNotFound"
        case .nodeNotFound: return "NodeNotFound"
        case .noReplicationEnabled: return "NoReplicationEnabled"
        case .shutdownInProgress: return "ShutdownInProgress"
        case .invalidReplicaSetConfig: return "InvalidReplicaSetConfig"
        case .notYetInitialized: return "NotYetInitialized"
        case .newReplicaSetConfigurationIncompatible: return "NewReplicaSetConfigurationIncompatible"
        case .nodeNotElectable: return "NodeNotElectable"
        case .configurationInProgress: return "ConfigurationInProgress"
        case .commandFailed: return "CommandFailed"
        case .primarySteppedDown: return "PrimarySteppedDown"
        case .currentConfigNotCommittedYet: return "CurrentConfigNotCommittedYet"
        case .notWritablePrimary: return "NotWritablePrimary"
        case .interruptedAtShutdown: return "InterruptedAtShutdown"
        case .interruptedDueToReplStateChange: return "InterruptedDueToReplStateChange"
        case .notPrimaryNoSecondaryOk: return "NotPrimaryNoSecondaryOk"
        case .notPrimaryOrSecondary: return "NotPrimaryOrSecondary"
        }
    }

    var isRetriable: Bool {
        switch self {
        case .unauthorized, .authenticationFailed, .noReplicationEnabled, .commandNotFound, .nodeNotElectable:
            return false
        case .alreadyInitialized, .invalidReplicaSetConfig, .newReplicaSetConfigurationIncompatible:
            // Not errors to retry blindly: the state machine reads them.
            return false
        default:
            return true
        }
    }
}
