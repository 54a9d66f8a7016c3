import Foundation
import MongoBSON

/// What one connection has authenticated as, and the SASL conversation under way on it
/// (`AuthenticationSession` and `AuthorizationSession` in `src/mongo/db/auth/`).
struct ConnectionAuthentication: Sendable {
    var user: SimulatorUser?
    var conversation: SCRAMConversation?
}

extension ErrorCode {
    static let authenticationFailed = ErrorCode(18, "AuthenticationFailed")
    static let protocolError = ErrorCode(17, "ProtocolError")
    static let mechanismUnavailable = ErrorCode(334, "MechanismUnavailable")
}

/// `--auth`: saslStart/saslContinue (`src/mongo/db/auth/sasl_commands.cpp`), x.509's
/// `authenticate` (`src/mongo/db/commands/authentication_commands.cpp`), hello's
/// `saslSupportedMechs` and `speculativeAuthenticate`, and the checks every other command passes
/// first (`src/mongo/db/commands.cpp` `checkAuthorizationImplPreParse`, with the roles of
/// `src/mongo/db/auth/builtin_roles.cpp`).
extension ReplicaSetSimulator {
    /// Commands that run without authentication (`requiresAuth()` false).
    static let commandsWithoutAuthentication: Set<String> = [
        "hello", "isMaster", "ismaster", "saslStart", "saslContinue", "authenticate", "logout", "ping",
        "buildInfo", "buildinfo", "endSessions",
    ]

    /// The built-in roles (and the roles that contain them) granting the action each command needs.
    static func rolesAllowed(toRun command: String) -> Set<String>? {
        switch command {
        case "replSetGetStatus", "replSetGetConfig", "getDefaultRWConcern", "serverStatus":
            // replSetGetStatus / replSetGetConfig actions: clusterMonitor and clusterManager both.
            return ["clusterMonitor", "clusterManager", "clusterAdmin", "root", "__system"]
        case "replSetInitiate", "replSetReconfig", "replSetStepUp", "replSetStepDown", "replSetFreeze", "setDefaultRWConcern":
            // replSetConfigure / replSetStateChange / setDefaultRWConcern: clusterManager only.
            return ["clusterManager", "clusterAdmin", "root", "__system"]
        default:
            return nil
        }
    }

    /// Throws Unauthorized the way mongod does when the connection may not run `name`.
    func checkAuthorization(_ name: String, _ request: WireRequest, member: Int, connection: Int32) throws(CommandError) {
        guard let security = options.security, !security.users.isEmpty else { return }
        if Self.commandsWithoutAuthentication.contains(name) { return }
        guard let user = nodes[member].authentication[connection]?.user else {
            throw CommandError(.unauthorized, "Command \(name) requires authentication")
        }
        let allowed = Self.rolesAllowed(toRun: name) ?? []
        if user.roles.contains(where: allowed.contains) { return }
        var shown = request.command
        shown.append("$db", .string(request.database))
        throw CommandError(.unauthorized, "not authorized on \(request.database) to execute command \(BSONText.render(shown))")
    }

    func saslStart(_ request: WireRequest, member: Int, connection: Int32) throws(CommandError) -> BSONDocument {
        let command = request.command
        guard let mechanismName = command["mechanism"]?.stringValue else {
            throw CommandError(.idlMissingField, "BSON field 'saslStart.mechanism' is missing but a required field")
        }
        guard let mechanism = AuthMechanism(rawValue: mechanismName), mechanism != .x509 else {
            throw CommandError(.mechanismUnavailable, "Received authentication for mechanism \(mechanismName) which is unknown or not enabled")
        }
        let (payload, asText) = try Self.payload(command, field: "saslStart.payload")
        let skipEmptyExchange = command["options"]?.documentValue?["skipEmptyExchange"]?.boolValue ?? false
        let users = usersKnown(on: member)
        do {
            let (conversation, reply) = try SCRAMConversation.start(
                mechanism: mechanism, payload: payload, database: request.database, skipEmptyExchange: skipEmptyExchange
            ) { name, database in users.first { $0.name == name && $0.database == database } }
            nodes[member].authentication[connection, default: ConnectionAuthentication()].conversation = conversation
            return Self.saslReply(reply, done: false, asText: asText)
        } catch {
            nodes[member].authentication[connection]?.conversation = nil
            throw Self.authenticationFailed
        }
    }

    func saslContinue(_ request: WireRequest, member: Int, connection: Int32) throws(CommandError) -> BSONDocument {
        let command = request.command
        guard command["conversationId"]?.intValue == 1 else {
            throw CommandError(.protocolError, "sasl: Mismatched conversation id")
        }
        let (payload, asText) = try Self.payload(command, field: "saslContinue.payload")
        guard var conversation = nodes[member].authentication[connection]?.conversation else {
            throw CommandError(.protocolError, "No SASL session state found")
        }
        do {
            let (reply, done) = try conversation.next(payload)
            nodes[member].authentication[connection]?.conversation = done ? nil : conversation
            if done { nodes[member].authentication[connection]?.user = conversation.user }
            return Self.saslReply(reply, done: done, asText: asText)
        } catch {
            nodes[member].authentication[connection]?.conversation = nil
            throw Self.authenticationFailed
        }
    }

    /// `{authenticate: 1, mechanism: "MONGODB-X509"[, user]}` on `$external`: the user is the
    /// subject of the certificate the client presented in the TLS handshake.
    func authenticate(_ request: WireRequest, member: Int, connection: Int32) throws(CommandError) -> BSONDocument {
        let command = request.command
        guard command["mechanism"]?.stringValue == AuthMechanism.x509.rawValue else {
            throw CommandError(.badValue, "Unsupported mechanism: \(command["mechanism"].map(BSONText.render) ?? "none")")
        }
        guard request.database == "$external" else {
            throw CommandError(.badValue, "X.509 authentication must always use the $external database.")
        }
        guard let subject = request.clientCertificateSubject else {
            throw CommandError(.authenticationFailed, "No verified subject name available from client")
        }
        if let claimed = command["user"]?.stringValue, claimed != subject {
            throw CommandError(.authenticationFailed, "There is no x.509 client certificate matching the user.")
        }
        guard let user = usersKnown(on: member).first(where: { $0.name == subject && $0.database == "$external" }) else {
            throw Self.authenticationFailed
        }
        nodes[member].authentication[connection, default: ConnectionAuthentication()].user = user
        return ["dbname": "$external", "user": .string(subject), "ok": 1.0]
    }

    func logout(member: Int, connection: Int32) -> BSONDocument {
        nodes[member].authentication[connection] = nil
        return ["ok": 1.0]
    }

    /// hello's authentication fields: the mechanisms of the user named in `saslSupportedMechs`
    /// (`src/mongo/db/auth/sasl_mechanism_registry.cpp` `advertiseMechanismNamesForUser`), and the
    /// reply to a first SASL step or an x.509 authenticate piggybacked on the handshake
    /// (`doSpeculativeSaslStart`, `doSpeculativeAuthenticate`); a failed one is simply left out.
    func authenticationFields(_ command: BSONDocument, member: Int, connection: Int32, certificateSubject: String?) -> BSONDocument {
        guard let security = options.security else { return [:] }
        var fields = BSONDocument()
        if let qualified = command["saslSupportedMechs"]?.stringValue, let dot = qualified.firstIndex(of: ".") {
            let database = String(qualified[..<dot]), name = String(qualified[qualified.index(after: dot)...])
            if let user = usersKnown(on: member).first(where: { $0.name == name && $0.database == database }) {
                fields.append("saslSupportedMechs", .array(user.mechanisms.map { .string($0.rawValue) }))
            }
        }
        if var speculative = command["speculativeAuthenticate"]?.documentValue, let database = speculative["db"]?.stringValue {
            speculative["db"] = nil
            let request = WireRequest(opcode: .message, requestID: 0, database: database, command: speculative,
                                      clientCertificateSubject: certificateSubject)
            let reply: BSONDocument? = if speculative["saslStart"] != nil {
                try? saslStart(request, member: member, connection: connection)
            } else if speculative["authenticate"] != nil {
                try? authenticate(request, member: member, connection: connection)
            } else {
                nil
            }
            if var reply {
                reply["ok"] = nil
                fields.append("speculativeAuthenticate", .document(reply))
            }
        }
        return fields
    }

    private static let authenticationFailed = CommandError(.authenticationFailed, "Authentication failed.")

    /// The users this member can authenticate: the set's, once it has them (users are data in
    /// `admin.system.users`, replicated like any other).
    func usersKnown(on member: Int) -> [SimulatorUser] {
        if nodes[member].usersArriveWithInitialSync && nodes[member].lastApplied.isNull { return [] }
        return options.security?.users ?? []
    }

    /// A SASL payload comes as BinData or as a base64 string; the reply uses the same form.
    private static func payload(_ command: BSONDocument, field: String) throws(CommandError) -> ([UInt8], asText: Bool) {
        switch command["payload"] {
        case .binary(_, let bytes)?: return (bytes, false)
        case .string(let text)?:
            guard let data = Data(base64Encoded: text) else { throw CommandError(.badValue, "Invalid base64 in \(field)") }
            return (Array(data), true)
        case nil: throw CommandError(.idlMissingField, "BSON field '\(field)' is missing but a required field")
        default: throw CommandError(.typeMismatch, "BSON field '\(field)' is the wrong type")
        }
    }

    private static func saslReply(_ payload: [UInt8], done: Bool, asText: Bool) -> BSONDocument {
        ["conversationId": .int32(1), "done": .bool(done),
         "payload": asText ? .string(Data(payload).base64EncodedString()) : .binary(subtype: 0, bytes: payload), "ok": 1.0]
    }
}
