/// Every failure of a command sent to a node: network, server or reply shape. The one error type
/// the driver throws and the state machine reads.
public struct MongoError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// DNS has no address for the host (yet): common while a pod starts.
        case nameNotResolved
        case connectionRefused
        /// Connect timeout, reset, closed connection, socket timeout.
        case networkFailure
        /// The server answered `ok: 0` with this code.
        case server(code: Int, codeName: String)
        /// The node rejected the credentials (libmongoc's authentication error, or AuthenticationFailed).
        case authentication
        /// The TLS handshake failed because the node's certificate is not trusted or does not name
        /// the host: a matter of configuration, not of waiting.
        case certificateRejected
        /// libmongoc could not read the reply as a MongoDB message (a protocol error); a broken
        /// connection can cause it, so it is retried like one.
        case unexpectedReply
        /// A well-formed reply that says what no mongod says: a field of the wrong type, a value
        /// outside mongod's limits, a host that is not `host:port`, nesting deeper than mongod
        /// allows. The node is not trusted with anything (exit 65), and it is never retried.
        case invalidReply
        /// libmongoc refused to do the call (bad option, internal limit).
        case client
    }

    public var kind: Kind
    public var host: HostAddress
    /// The server's or libmongoc's own words, never containing credentials.
    public var message: String
    /// The command that failed (its first key), when the driver knows it.
    public var command: String?

    public init(_ kind: Kind, host: HostAddress, message: String, command: String? = nil) {
        self.kind = kind
        self.host = host
        self.message = message
        self.command = command
    }

    public static func server(_ code: ServerErrorCode, host: HostAddress, message: String) -> MongoError {
        MongoError(.server(code: code.rawValue, codeName: code.name), host: host, message: message)
    }

    public var serverCode: Int? {
        if case .server(let code, _) = kind { return code }
        return nil
    }

    public func hasCode(_ code: ServerErrorCode) -> Bool { serverCode == code.rawValue }

    public var isNetworkError: Bool {
        switch kind {
        case .nameNotResolved, .connectionRefused, .networkFailure: return true
        default: return false
        }
    }

    /// Whether the driver starts a new connection after this error (a handshake again).
    public var dropsConnection: Bool {
        isNetworkError || kind == .unexpectedReply || isAuthenticationFailure
    }

    /// The node rejected the credentials (not: the user lacks a role).
    public var isAuthenticationFailure: Bool {
        kind == .authentication || hasCode(.authenticationFailed)
    }

    /// A connection the node closed before answering, as a mongod requiring TLS does with a
    /// plain-text client (libmongoc: "Server closed connection.").
    public var suggestsTLS: Bool {
        kind == .networkFailure && message.contains("closed connection")
    }

    /// Whether the attempt may have reached the node at all: a refused connection or a name
    /// that does not resolve sent nothing.
    public var reachedNode: Bool {
        kind != .connectionRefused && kind != .nameNotResolved
    }

    /// Whether trying again later can succeed without anyone changing anything.
    public var isRetriable: Bool {
        switch kind {
        case .nameNotResolved, .connectionRefused, .networkFailure: return true
        case .authentication, .certificateRejected, .client, .invalidReply: return false
        case .unexpectedReply: return true
        case .server(let code, _):
            guard let known = ServerErrorCode(rawValue: code) else { return true }
            return known.isRetriable
        }
    }

    /// Access denied: credentials rejected, a role missing, or the node's certificate not
    /// trusted. None of them passes by waiting, so the run ends at once (exit 77).
    public var isAccessDenied: Bool {
        kind == .authentication || kind == .certificateRejected || hasCode(.authenticationFailed) || hasCode(.unauthorized)
    }

    /// Unauthorized because the connection has not authenticated at all ("Command … requires
    /// authentication"), rather than because the user lacks a role.
    public var isMissingAuthentication: Bool {
        hasCode(.unauthorized) && message.contains("requires authentication")
    }

    public var description: String {
        switch kind {
        case .server(let code, let codeName): return "\(host): \(message) (\(codeName) \(code))"
        default: return "\(host): \(message)"
        }
    }
}

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
