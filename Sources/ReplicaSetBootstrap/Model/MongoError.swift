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

    /// The server's code, when it is one this tool knows.
    var knownCode: ServerErrorCode? { serverCode.flatMap(ServerErrorCode.init(rawValue:)) }

    /// The server refused the command for good (`ServerErrorCode.isRetriable`).
    var isServerRefusal: Bool { !(knownCode?.isRetriable ?? true) }

    public var isNetworkError: Bool {
        switch kind {
        case .nameNotResolved, .connectionRefused, .networkFailure: return true
        case .server, .authentication, .certificateRejected, .unexpectedReply, .invalidReply, .client: return false
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
        case .server: return !isServerRefusal
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
