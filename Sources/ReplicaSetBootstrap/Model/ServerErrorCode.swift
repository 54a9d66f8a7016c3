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

    /// Whether a write that failed with this code is tried again (after a backoff) rather than
    /// refused: the one list the state machine reads. Access denied ends a run (exit 77); a
    /// config mongod's validation rejects fails the same way again (exit 65), but for an
    /// initiate's "… maps to this node", which heals once the name resolves. The machine reads
    /// some retried codes further: 23 (observe again), 50 (wait for the commitment), 103 (plan
    /// again; the third rejection of a version is final).
    var isRetriable: Bool {
        switch self {
        case .unauthorized, .authenticationFailed, .invalidReplicaSetConfig, .nodeNotElectable:
            return false
        case .alreadyInitialized, .maxTimeMSExpired, .commandNotFound, .nodeNotFound, .noReplicationEnabled,
             .shutdownInProgress, .notYetInitialized, .newReplicaSetConfigurationIncompatible, .configurationInProgress,
             .commandFailed, .primarySteppedDown, .currentConfigNotCommittedYet, .notWritablePrimary,
             .interruptedAtShutdown, .interruptedDueToReplStateChange, .notPrimaryNoSecondaryOk, .notPrimaryOrSecondary:
            return true
        }
    }

    /// mongod answers a replSetReconfig with this code only before it installs the new config;
    /// after the others (189, or a lost reply) the config may well be in place.
    var rejectsReconfigBeforeInstalling: Bool {
        switch self {
        case .invalidReplicaSetConfig, .newReplicaSetConfigurationIncompatible, .nodeNotElectable, .configurationInProgress,
             .currentConfigNotCommittedYet, .notWritablePrimary, .nodeNotFound:
            return true
        case .unauthorized, .authenticationFailed, .alreadyInitialized, .maxTimeMSExpired, .commandNotFound,
             .noReplicationEnabled, .shutdownInProgress, .notYetInitialized, .commandFailed, .primarySteppedDown,
             .interruptedAtShutdown, .interruptedDueToReplStateChange, .notPrimaryNoSecondaryOk, .notPrimaryOrSecondary:
            return false
        }
    }
}
