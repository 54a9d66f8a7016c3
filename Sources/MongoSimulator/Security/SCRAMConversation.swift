import Foundation

/// The server side of one SCRAM conversation (RFC 5802/7677), as mongod runs it
/// (`src/mongo/db/auth/sasl_scram_server_conversation.cpp`): client-first, client-final, and
/// the empty last step unless the client asked to skip it. Every failure is reported to the
/// client as the same AuthenticationFailed (`sasl_commands.cpp` `doSaslStep`).
struct SCRAMConversation: Sendable {
    struct Failure: Error {
        /// For the simulator's own diagnostics; the client only ever sees "Authentication failed.".
        var reason: String
    }

    enum Step: Sendable { case awaitingClientFinal, awaitingEmptyStep, done }

    let mechanism: AuthMechanism
    let user: SimulatorUser
    private let credentials: SCRAMCredentials
    private let hash: HashFunction
    private let clientFirstBare: String
    private let serverFirst: String
    private let nonce: String
    private let skipEmptyExchange: Bool
    private(set) var step: Step = .awaitingClientFinal

    /// Reads the client-first message and answers the server-first message.
    static func start(mechanism: AuthMechanism, payload: [UInt8], database: String, skipEmptyExchange: Bool,
                      users: (String, String) -> SimulatorUser?) throws(Failure) -> (SCRAMConversation, reply: [UInt8]) {
        let message = String(decoding: payload, as: UTF8.self)
        // gs2 header: no channel binding ("n,,"); "y,," means the client could have but thinks we can't.
        guard message.hasPrefix("n,,") || message.hasPrefix("y,,") else { throw Failure(reason: "unsupported gs2 header") }
        let bare = String(message.dropFirst(3))
        let fields = Self.fields(bare)
        guard let escapedName = fields["n"], let clientNonce = fields["r"], !clientNonce.isEmpty else {
            throw Failure(reason: "malformed client-first message")
        }
        let name = escapedName.replacingOccurrences(of: "=2C", with: ",").replacingOccurrences(of: "=3D", with: "=")
        guard let user = users(name, database) else { throw Failure(reason: "UserNotFound: \(name)@\(database)") }
        guard let credentials = user.credentials[mechanism] else {
            throw Failure(reason: "user \(name)@\(database) has no \(mechanism.rawValue) credentials")
        }
        let nonce = clientNonce + Data(Crypto.randomBytes(24)).base64EncodedString()
        let serverFirst = "r=\(nonce),s=\(Data(credentials.salt).base64EncodedString()),i=\(credentials.iterations)"
        let conversation = SCRAMConversation(mechanism: mechanism, user: user, credentials: credentials,
                                             hash: mechanism == .scramSHA1 ? .sha1 : .sha256, clientFirstBare: bare,
                                             serverFirst: serverFirst, nonce: nonce, skipEmptyExchange: skipEmptyExchange)
        return (conversation, Array(serverFirst.utf8))
    }

    /// The next client message. Returns the server's answer and whether the conversation is done.
    mutating func next(_ payload: [UInt8]) throws(Failure) -> (reply: [UInt8], done: Bool) {
        switch step {
        case .awaitingClientFinal:
            let message = String(decoding: payload, as: UTF8.self)
            guard let proofRange = message.range(of: ",p=") else { throw Failure(reason: "client-final message without proof") }
            let withoutProof = String(message[..<proofRange.lowerBound])
            let fields = Self.fields(message)
            guard fields["r"] == nonce else { throw Failure(reason: "nonce mismatch") }
            guard fields["c"] == "biws" || fields["c"] == "eSws" else { throw Failure(reason: "channel binding mismatch") }
            guard let proofText = fields["p"], let proof = Data(base64Encoded: proofText).map(Array.init) else {
                throw Failure(reason: "malformed proof")
            }
            let authMessage = Array("\(clientFirstBare),\(serverFirst),\(withoutProof)".utf8)
            let clientSignature = hash.hmac(key: credentials.storedKey, authMessage)
            guard proof.count == clientSignature.count else { throw Failure(reason: "proof of the wrong length") }
            let clientKey = zip(proof, clientSignature).map { $0 ^ $1 }
            guard hash.hash(clientKey) == credentials.storedKey else { throw Failure(reason: "wrong password") }
            let serverSignature = hash.hmac(key: credentials.serverKey, authMessage)
            step = skipEmptyExchange ? .done : .awaitingEmptyStep
            return (Array("v=\(Data(serverSignature).base64EncodedString())".utf8), skipEmptyExchange)
        case .awaitingEmptyStep:
            guard payload.isEmpty else { throw Failure(reason: "unexpected payload in the last step") }
            step = .done
            return ([], true)
        case .done:
            throw Failure(reason: "the conversation is over")
        }
    }

    /// "a=1,b=2" as a dictionary; values may contain "=" (base64).
    private static func fields(_ message: String) -> [String: String] {
        var fields: [String: String] = [:]
        for part in message.split(separator: ",") {
            guard let equals = part.firstIndex(of: "="), part.distance(from: part.startIndex, to: equals) == 1 else { continue }
            fields[String(part[..<equals])] = String(part[part.index(after: equals)...])
        }
        return fields
    }
}
