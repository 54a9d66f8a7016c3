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

    init(_ from: Resolver) throws(InvalidInput) {
        let mechanism = try from.value(Inputs.authMechanism)
        tls = try Self.tls(from)
        if tls?.allowInvalidCertificates == true {
            warnings.append("--tls-allow-invalid-certificates: the nodes' certificates are not verified, so anyone on the network path can pose as a node and read the credentials")
        } else if tls?.allowInvalidHostnames == true {
            warnings.append("--tls-allow-invalid-hostnames: a node's certificate is accepted even if it names another host")
        }
        let username = try from.value(Inputs.username)
        let password = try Self.passwordSource(from).map { source throws(InvalidInput) in
            (secret: try source.input.parse(source.given.text, source.given.origin), origin: source.given.origin)
        }
        if password?.origin == Inputs.password.flag {
            warnings.append("--password puts the password in the process list, where anyone on the machine can read it; use --password-file (a mounted Secret) or \(Inputs.password.env)")
        }
        let database = try from.value(Inputs.authenticationDatabase)
        let databaseOrigin = from.origin(Inputs.authenticationDatabase)
        let addUser = "add --username (or \(Inputs.username.env))"

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
            if mechanism != nil { throw InvalidInput("--auth-mechanism needs a user: \(addUser) and a password") }
            if database != nil { throw InvalidInput("\(databaseOrigin) needs a user: \(addUser) and a password") }
            credentials = nil
        case (nil, let password?):
            throw InvalidInput("\(password.origin) gives a password but no user is named: \(addUser)")
        case (let username?, nil):
            throw InvalidInput("no password for user '\(username)': give --password-file PATH (a mounted Secret), set \(Inputs.password.env), or use --password")
        case (let username?, let password?):
            if username.isEmpty || username.utf8.contains(0) { throw InvalidInput("\(from.origin(Inputs.username)): the name is empty or contains a NUL byte") }
            if database == "$external" {
                throw InvalidInput("\(databaseOrigin) '$external' holds x.509 and LDAP users; a password user lives in admin or another database")
            }
            credentials = Credentials(username: username, password: password.secret, source: database ?? "admin", mechanism: mechanism)
        }
    }

    /// Where the password comes from: the command line's --password-file or --password, else
    /// the environment's; two from the same place contradict each other.
    static func passwordSource(_ from: Resolver) throws(InvalidInput) -> (input: Input<Secret>, given: (text: String, origin: String))? {
        let given = [Inputs.passwordFile, Inputs.password].compactMap { input in from.given(input).first.map { (input: input, given: $0) } }
        let onCommandLine = given.filter { $0.given.origin == $0.input.flag }
        let chosen = onCommandLine.isEmpty ? given : onCommandLine
        if chosen.count > 1 {
            let origins = chosen.map(\.given.origin).joined(separator: " and ")
            throw InvalidInput(onCommandLine.isEmpty ? "\(origins) are both set: set one" : "\(origins) both give the password: give one (--password-file is safer)")
        }
        return chosen.first
    }

    private static func tls(_ from: Resolver) throws(InvalidInput) -> TLSOptions? {
        // libmongoc would only fail the connections, with "connection error": the files are checked as they are read.
        let caFile = try from.value(Inputs.tlsCAFile)
        let keyFile = try from.value(Inputs.tlsCertificateKeyFile)
        let keyPasswordFile = from.given(Inputs.tlsCertificateKeyFilePasswordFile).first
        let allowInvalidHostnames = try from.value(Inputs.tlsAllowInvalidHostnames) ?? false
        let allowInvalidCertificates = try from.value(Inputs.tlsAllowInvalidCertificates) ?? false
        let enabled = try from.value(Inputs.tls) ?? false
        guard enabled || caFile != nil || keyFile != nil || keyPasswordFile != nil || allowInvalidHostnames || allowInvalidCertificates else {
            return nil
        }
        var passphrase: Secret?
        if let keyPasswordFile {
            guard keyFile != nil else {
                throw InvalidInput("\(keyPasswordFile.origin) is the passphrase of --tls-certificate-key-file, which is not given")
            }
            passphrase = try from.value(Inputs.tlsCertificateKeyFilePasswordFile)
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

    static func checked(_ secret: Secret, origin: String) throws(InvalidInput) -> Secret {
        if secret.isEmpty { throw InvalidInput("\(origin): the password is empty") }
        return secret
    }

    /// The path of a file that can be read and has a PEM block of each kind ("PRIVATE KEY" also
    /// matches "EC PRIVATE KEY" and "ENCRYPTED PRIVATE KEY"). Its content is never shown.
    static func checkPEM(_ path: String, option: String, holds kinds: [String], what: String) throws(InvalidInput) -> String {
        let text: String
        // libmongoc opens the file again by its path: standard input cannot stand in for it.
        switch FileContents.read(path, allowStandardInput: false) {
        case .success(let bytes): text = String(decoding: bytes, as: UTF8.self)
        case .failure(let failure): throw InvalidInput("\(option) \(path): cannot read it: \(failure.reason); give \(what)")
        }
        for kind in kinds where !(text.contains("-----BEGIN ") && text.contains(" \(kind)-----")) {
            throw InvalidInput("\(option) \(path): no PEM '\(kind)' block in it; give \(what)")
        }
        return path
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
