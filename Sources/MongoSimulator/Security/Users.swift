import Foundation

/// A SASL mechanism mongod offers (`authenticationMechanisms`, default SCRAM-SHA-1,SCRAM-SHA-256
/// and MONGODB-X509).
public enum AuthMechanism: String, Sendable, CaseIterable {
    case scramSHA1 = "SCRAM-SHA-1"
    case scramSHA256 = "SCRAM-SHA-256"
    case x509 = "MONGODB-X509"
}

/// A user as `createUser` would have stored it in `admin.system.users` before the test starts (the
/// way the mongo image's MONGO_INITDB_ROOT_USERNAME creates one).
public struct SimulatorUser: Sendable {
    public var name: String
    /// The authentication database; x.509 users live in `$external` and are named by the
    /// certificate subject in RFC 2253 form.
    public var database: String
    /// Built-in role names on the admin database (`clusterManager`, `clusterMonitor`, `root`, …).
    public var roles: [String]
    /// The SCRAM mechanisms the user has credentials for (createUser's `mechanisms`).
    public var mechanisms: [AuthMechanism]
    let credentials: [AuthMechanism: SCRAMCredentials]

    /// A SCRAM user. The credentials are derived once here, as `createUser` does, with mongod's
    /// iteration counts (`scramIterationCount` 10000, `scramSHA256IterationCount` 15000).
    public init(name: String, database: String = "admin", password: String, roles: [String],
                mechanisms: [AuthMechanism] = [.scramSHA1, .scramSHA256]) {
        self.name = name
        self.database = database
        self.roles = roles
        self.mechanisms = mechanisms.filter { $0 != .x509 }
        var credentials: [AuthMechanism: SCRAMCredentials] = [:]
        for mechanism in self.mechanisms {
            credentials[mechanism] = SCRAMCredentials(mechanism: mechanism, user: name, password: password)
        }
        self.credentials = credentials
    }

    /// An x.509 user: `subject` is the client certificate's subject, e.g. "CN=bootstrap,O=Example".
    public init(x509Subject subject: String, roles: [String]) {
        name = subject
        database = "$external"
        self.roles = roles
        mechanisms = []
        credentials = [:]
    }
}

/// How a simulated mongod was secured: `--auth` (with `--keyFile`, whose internal authentication
/// between members is taken as given) with these users, and `--tlsMode requireTLS`.
public struct SimulatorSecurity: Sendable {
    /// Users that exist on every member. Empty: the localhost exception applies
    /// (`authz_session_external_state_server_common.cpp`): with no user at all, a connection from
    /// loopback, as every simulated one is, may run anything.
    public var users: [SimulatorUser]
    public var tls: SimulatorTLS?

    public init(users: [SimulatorUser], tls: SimulatorTLS? = nil) {
        self.users = users
        self.tls = tls
    }

    func user(_ name: String, database: String) -> SimulatorUser? {
        users.first { $0.name == name && $0.database == database }
    }
}

/// `--tlsMode requireTLS --tlsCertificateKeyFile … [--tlsCAFile …]`.
public struct SimulatorTLS: Sendable {
    /// PEM: the member's certificate (chain, leaf first) and its private key, in one file as
    /// mongod takes it.
    public var certificateKeyFile: String
    /// PEM: the CA that client certificates must chain to. With it, a client certificate is asked
    /// for and verified when presented; without it, client certificates are not asked for.
    public var caFile: String?
    /// `--tlsAllowConnectionsWithoutCertificates`: without it, a CA file makes a client
    /// certificate mandatory, as in mongod.
    public var allowConnectionsWithoutCertificates: Bool

    public init(certificateKeyFile: String, caFile: String? = nil, allowConnectionsWithoutCertificates: Bool = true) {
        self.certificateKeyFile = certificateKeyFile
        self.caFile = caFile
        self.allowConnectionsWithoutCertificates = allowConnectionsWithoutCertificates
    }
}

/// Stored SCRAM credentials (`ScramCredentials` in `src/mongo/db/auth/user.h`): never the password.
struct SCRAMCredentials: Sendable {
    var salt: [UInt8]
    var iterations: Int
    var storedKey: [UInt8]
    var serverKey: [UInt8]

    init(mechanism: AuthMechanism, user: String, password: String) {
        let hash: HashFunction = mechanism == .scramSHA1 ? .sha1 : .sha256
        // SCRAM-SHA-1 hashes mongod's legacy digest of the password; SCRAM-SHA-256 the SASLprep'd
        // password itself (`src/mongo/db/auth/sasl_scram_server_conversation.cpp`).
        let secret = mechanism == .scramSHA1 ? Crypto.md5Hex("\(user):mongo:\(password)") : SASLPrep.prepare(password)
        salt = Crypto.randomBytes(mechanism == .scramSHA1 ? 16 : 28)
        iterations = mechanism == .scramSHA1 ? 10_000 : 15_000
        let salted = hash.pbkdf2(password: Array(secret.utf8), salt: salt, iterations: iterations)
        storedKey = hash.hash(hash.hmac(key: salted, Array("Client Key".utf8)))
        serverKey = hash.hmac(key: salted, Array("Server Key".utf8))
    }
}

/// RFC 4013 SASLprep as far as passwords need it: non-ASCII spaces become spaces, characters
/// "commonly mapped to nothing" go, then NFKC. (Prohibited characters are not checked.)
enum SASLPrep {
    static func prepare(_ text: String) -> String {
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return text }
        var mapped = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if mappedToNothing.contains(scalar.value) { continue }
            if scalar.value != 0x20 && scalar.properties.generalCategory == .spaceSeparator {
                mapped.append(" ")
            } else {
                mapped.append(scalar)
            }
        }
        return String(mapped).precomposedStringWithCompatibilityMapping
    }

    /// RFC 3454 table B.1.
    private static let mappedToNothing: Set<UInt32> = [
        0x00AD, 0x034F, 0x1806, 0x180B, 0x180C, 0x180D, 0x200B, 0x200C, 0x200D, 0x2060,
        0xFE00, 0xFE01, 0xFE02, 0xFE03, 0xFE04, 0xFE05, 0xFE06, 0xFE07, 0xFE08, 0xFE09,
        0xFE0A, 0xFE0B, 0xFE0C, 0xFE0D, 0xFE0E, 0xFE0F, 0xFEFF,
    ]
}
