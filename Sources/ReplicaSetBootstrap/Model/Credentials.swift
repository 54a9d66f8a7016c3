/// A password or key passphrase. It prints, interpolates, dumps and reflects as a placeholder,
/// so no log line, error message or summary can show it by accident (safety invariant 6); the
/// value is reached only to hand it to libmongoc.
public struct Secret: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let value: String

    public init(_ value: String) {
        self.value = value
    }

    public static let placeholder = "‹redacted›"
    public var description: String { Self.placeholder }
    public var debugDescription: String { Self.placeholder }
    public var customMirror: Mirror { Mirror(self, children: [:]) }

    public var isEmpty: Bool { value.isEmpty }

    /// The value as a C string, for libmongoc, which copies it.
    public func withCString<Result>(_ body: (UnsafePointer<CChar>) throws -> Result) rethrows -> Result {
        try value.withCString(body)
    }
}

/// How the tool authenticates to every node (libmongoc's authMechanism values).
public enum AuthMechanism: String, Hashable, Sendable, CaseIterable {
    case scramSHA256 = "SCRAM-SHA-256"
    case scramSHA1 = "SCRAM-SHA-1"
    case x509 = "MONGODB-X509"
}

public struct Credentials: Hashable, Sendable {
    /// nil only with MONGODB-X509, where the certificate's subject names the user.
    public var username: String?
    public var password: Secret?
    /// The database the user was created in (authSource): admin, or $external for x.509.
    public var source: String
    /// nil: negotiated, SCRAM-SHA-256 when the server lists it for the user, else SCRAM-SHA-1.
    public var mechanism: AuthMechanism?

    public init(username: String?, password: Secret?, source: String, mechanism: AuthMechanism?) {
        self.username = username
        self.password = password
        self.source = source
        self.mechanism = mechanism
    }

    /// "user 'admin' (database admin, SCRAM-SHA-256)": who, for messages; never the password.
    public var description: String {
        let who = username.map { "user '\($0)'" } ?? "the certificate's subject"
        let how = mechanism?.rawValue ?? "SCRAM-SHA-256 or SCRAM-SHA-1 as negotiated"
        return "\(who) (database \(source), \(how))"
    }
}

/// TLS to every node (libmongoc's tls* URI options).
public struct TLSOptions: Hashable, Sendable {
    public var caFile: String?
    public var certificateKeyFile: String?
    public var certificateKeyPassword: Secret?
    public var allowInvalidHostnames: Bool
    public var allowInvalidCertificates: Bool

    public init(caFile: String? = nil, certificateKeyFile: String? = nil, certificateKeyPassword: Secret? = nil,
                allowInvalidHostnames: Bool = false, allowInvalidCertificates: Bool = false) {
        self.caFile = caFile
        self.certificateKeyFile = certificateKeyFile
        self.certificateKeyPassword = certificateKeyPassword
        self.allowInvalidHostnames = allowInvalidHostnames
        self.allowInvalidCertificates = allowInvalidCertificates
    }
}

extension Credentials {
    /// What libmongoc sends on a new connection before the first command: the handshake
    /// `hello` (carrying the first authentication step, `speculativeAuthenticate`), then for
    /// SCRAM one `saslContinue` (`skipEmptyExchange` saves the last); x.509 is done in the hello.
    public var messagesPerConnection: Int {
        mechanism == .x509 ? 1 : 2
    }
}
