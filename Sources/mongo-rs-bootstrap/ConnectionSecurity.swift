import ReplicaSetBootstrap

#if canImport(Glibc)
import Glibc
#endif

/// Credentials and TLS from the command line and the environment, validated before any node is
/// contacted. Passwords are read from files or the environment into `Secret`s and go nowhere
/// else; every message names where a value came from, never the value.
struct ConnectionSecurity {
    var credentials: Credentials?
    var tls: TLSOptions?
    var warnings: [String] = []

    /// The secret values, to hide wherever a message the tool did not write could quote them
    /// (libmongoc's log).
    var secrets: [String] {
        [credentials?.password, tls?.certificateKeyPassword].compactMap { $0 }.map { $0.withCString { String(cString: $0) } }
    }

    init(_ options: MongoRSBootstrap, from: Resolver) throws(InvalidInput) {
        let mechanism: AuthMechanism? = try from.string(options.authMechanism, env: "MONGO_RS_AUTH_MECHANISM").map { text throws(InvalidInput) in
            let origin = options.authMechanism != nil ? "--auth-mechanism" : "MONGO_RS_AUTH_MECHANISM"
            guard let mechanism = AuthMechanism.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else {
                throw InvalidInput("\(origin): '\(text)' is not valid; give \(AuthMechanism.allCases.map(\.rawValue).joined(separator: ", ")) (PLAIN, GSSAPI and MONGODB-AWS are not supported)")
            }
            return mechanism
        }
        tls = try Self.tls(options, from: from)
        if tls?.allowInvalidCertificates == true {
            warnings.append("--tls-allow-invalid-certificates: the nodes' certificates are not verified, so anyone on the network path can pose as a node and read the credentials")
        } else if tls?.allowInvalidHostnames == true {
            warnings.append("--tls-allow-invalid-hostnames: a node's certificate is accepted even if it names another host")
        }
        let username = from.string(options.username, env: "MONGO_USERNAME")
        let password = try Self.password(options, from: from)
        if options.password != nil {
            warnings.append("--password puts the password in the process list, where anyone on the machine can read it; use --password-file (a mounted Secret) or MONGO_PASSWORD")
        }
        let database = from.string(options.authenticationDatabase, env: "MONGO_RS_AUTHENTICATION_DATABASE")
        let databaseOrigin = options.authenticationDatabase != nil ? "--authentication-database" : "MONGO_RS_AUTHENTICATION_DATABASE"

        if mechanism == .x509 {
            guard tls?.certificateKeyFile != nil else {
                throw InvalidInput("--auth-mechanism MONGODB-X509 authenticates with a client certificate: give it with --tls-certificate-key-file (PEM with certificate and key)")
            }
            if let password {
                throw InvalidInput("--auth-mechanism MONGODB-X509 takes no password, but \(password.origin) gives one: remove it")
            }
            if let database, database != "$external" {
                throw InvalidInput("\(databaseOrigin) '\(database)': MONGODB-X509 users live in the $external database; leave the option out")
            }
            credentials = Credentials(username: username, password: nil, source: "$external", mechanism: .x509)
            return
        }
        switch (username, password) {
        case (nil, nil):
            if mechanism != nil { throw InvalidInput("--auth-mechanism needs a user: add --username (or MONGO_USERNAME) and a password") }
            if database != nil { throw InvalidInput("\(databaseOrigin) needs a user: add --username (or MONGO_USERNAME) and a password") }
            credentials = nil
        case (nil, let password?):
            throw InvalidInput("\(password.origin) gives a password but no user is named: add --username (or MONGO_USERNAME)")
        case (let username?, nil):
            throw InvalidInput("no password for user '\(username)': give --password-file PATH (a mounted Secret), set MONGO_PASSWORD, or use --password")
        case (let username?, let password?):
            if username.isEmpty || username.utf8.contains(0) { throw InvalidInput("--username: the name is empty or contains a NUL byte") }
            if database == "$external" {
                throw InvalidInput("\(databaseOrigin) '$external' holds x.509 and LDAP users; a password user lives in admin or another database")
            }
            credentials = Credentials(username: username, password: password.secret, source: database ?? "admin", mechanism: mechanism)
        }
    }

    /// The one password source: --password-file, --password, or the environment
    /// (MONGO_RS_PASSWORD_FILE, MONGO_PASSWORD); the command line wins over the environment.
    private static func password(_ options: MongoRSBootstrap, from: Resolver) throws(InvalidInput) -> (secret: Secret, origin: String)? {
        if options.passwordFile != nil && options.password != nil {
            throw InvalidInput("--password-file and --password both give the password: give one (--password-file is safer)")
        }
        if let path = options.passwordFile { return (try readSecret(path, option: "--password-file"), "--password-file") }
        if let text = options.password { return (try checked(Secret(text), origin: "--password"), "--password") }
        let file = from.environment["MONGO_RS_PASSWORD_FILE"], value = from.environment["MONGO_PASSWORD"]
        if file != nil && value != nil {
            throw InvalidInput("MONGO_RS_PASSWORD_FILE and MONGO_PASSWORD are both set: set one")
        }
        if let file { return (try readSecret(file, option: "MONGO_RS_PASSWORD_FILE"), "MONGO_RS_PASSWORD_FILE") }
        if let value { return (try checked(Secret(value), origin: "MONGO_PASSWORD"), "MONGO_PASSWORD") }
        return nil
    }

    private static func tls(_ options: MongoRSBootstrap, from: Resolver) throws(InvalidInput) -> TLSOptions? {
        let caFile = from.string(options.tlsCAFile, env: "MONGO_RS_TLS_CA_FILE")
        let keyFile = from.string(options.tlsCertificateKeyFile, env: "MONGO_RS_TLS_CERTIFICATE_KEY_FILE")
        let keyPasswordFile = from.string(options.tlsCertificateKeyFilePasswordFile, env: "MONGO_RS_TLS_CERTIFICATE_KEY_FILE_PASSWORD_FILE")
        // Flags: set on the command line, or true in the environment.
        func flag(_ given: Bool, env: String, option: String) throws(InvalidInput) -> Bool {
            let fromEnvironment = try from.bool(nil, env: env, option: option) ?? false
            return given || fromEnvironment
        }
        let allowInvalidHostnames = try flag(options.tlsAllowInvalidHostnames, env: "MONGO_RS_TLS_ALLOW_INVALID_HOSTNAMES", option: "--tls-allow-invalid-hostnames")
        let allowInvalidCertificates = try flag(options.tlsAllowInvalidCertificates, env: "MONGO_RS_TLS_ALLOW_INVALID_CERTIFICATES", option: "--tls-allow-invalid-certificates")
        let enabled = try flag(options.tls, env: "MONGO_RS_TLS", option: "--tls")
        guard enabled || caFile != nil || keyFile != nil || keyPasswordFile != nil || allowInvalidHostnames || allowInvalidCertificates else {
            return nil
        }
        // libmongoc would only fail the connections, with "connection error": check the files now.
        if let caFile {
            try checkPEM(caFile, option: "--tls-ca-file", holds: ["CERTIFICATE"], what: "a PEM file of CA certificates")
        }
        if let keyFile {
            try checkPEM(keyFile, option: "--tls-certificate-key-file", holds: ["CERTIFICATE", "PRIVATE KEY"],
                         what: "a PEM file with the client certificate and its private key")
        }
        var passphrase: Secret?
        if let keyPasswordFile {
            guard keyFile != nil else {
                throw InvalidInput("--tls-certificate-key-file-password-file is the passphrase of --tls-certificate-key-file, which is not given")
            }
            passphrase = try readSecret(keyPasswordFile, option: "--tls-certificate-key-file-password-file")
        }
        return TLSOptions(caFile: caFile, certificateKeyFile: keyFile, certificateKeyPassword: passphrase,
                          allowInvalidHostnames: allowInvalidHostnames, allowInvalidCertificates: allowInvalidCertificates)
    }

    /// Reads a whole secret file; one trailing newline (as `echo` and most editors leave) is not
    /// part of the secret.
    static func readSecret(_ path: String, option: String) throws(InvalidInput) -> Secret {
        var bytes = try readFile(path, option: option)
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        if bytes.contains(0) { throw InvalidInput("\(option) \(path): the content has a NUL byte, which libmongoc cannot pass on; is it the right file?") }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw InvalidInput("\(option) \(path): the content is not UTF-8 text")
        }
        return try checked(Secret(text), origin: "\(option) \(path)")
    }

    /// A whole regular file (or /dev/stdin) of at most 1 MiB.
    private static func readFile(_ path: String, option: String) throws(InvalidInput) -> [UInt8] {
        switch FileContents.read(path) {
        case .success(let bytes): return bytes
        case .failure(let failure): throw InvalidInput("\(option) \(path): cannot read it: \(failure.reason)")
        }
    }

    private static func checked(_ secret: Secret, origin: String) throws(InvalidInput) -> Secret {
        if secret.isEmpty { throw InvalidInput("\(origin): the password is empty") }
        return secret
    }

    /// The file can be read and has a PEM block of each kind ("PRIVATE KEY" also matches "EC
    /// PRIVATE KEY" and "ENCRYPTED PRIVATE KEY"). Its content is never shown.
    private static func checkPEM(_ path: String, option: String, holds kinds: [String], what: String) throws(InvalidInput) {
        let text: String
        // libmongoc opens the file again by its path: standard input cannot stand in for it.
        switch FileContents.read(path, allowStandardInput: false) {
        case .success(let bytes): text = String(decoding: bytes, as: UTF8.self)
        case .failure(let failure): throw InvalidInput("\(option) \(path): cannot read it: \(failure.reason); give \(what)")
        }
        for kind in kinds where !(text.contains("-----BEGIN ") && text.contains(" \(kind)-----")) {
            throw InvalidInput("\(option) \(path): no PEM '\(kind)' block in it; give \(what)")
        }
    }

    /// "as user 'admin' (database admin, SCRAM-SHA-256), over TLS": for the first progress line.
    var summary: String? {
        var parts: [String] = []
        if let credentials { parts.append("authenticating as \(credentials.description)") }
        if let tls {
            parts.append(tls.allowInvalidCertificates ? "over TLS without verifying certificates" : "over TLS")
        }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }
}
