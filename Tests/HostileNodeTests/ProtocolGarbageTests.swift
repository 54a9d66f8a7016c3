import MongoBSON
import Testing

/// Garbage at the wire-protocol level, which a network fault (a reset, a proxy gone wrong, a
/// half-written buffer) could also produce: not proof of a lying node, so retried with backoff
/// until --timeout (exit 69), the final message naming the node. No death, no flood, no write.
@Suite("hostile nodes: protocol garbage")
struct ProtocolGarbageTests {
    enum Target: String, Sendable {
        case hello = "hello"
        case config = "replSetGetConfig"

        func matches(_ request: Request) -> Bool {
            switch self {
            case .hello: request.isToolHello
            case .config: request.name == "replSetGetConfig"
            }
        }

        /// The sane reply this garbage replaces.
        func saneReply(_ request: Request, _ member: MockMember) -> BSONDocument {
            switch self {
            case .hello: member.hello(for: request)
            case .config: member.configReply(commitmentStatus: request.command["commitmentStatus"] != nil)
            }
        }
    }

    static func garbage(_ target: Target, _ what: String,
                        _ answer: @escaping @Sendable (Request, BSONDocument) -> Answer) -> ScriptedCase {
        ScriptedCase("\(target.rawValue): \(what)", .deadline) { request, member in
            target.matches(request) ? answer(request, target.saneReply(request, member)) : nil
        }
    }

    /// The reply's BSON with an element of type 0x77, which BSON does not have, before `ok`.
    static func unknownElementType(_ reply: BSONDocument) -> [UInt8] {
        var writer = RawBSON()
        writer.begin()
        writer.elements(of: BSONDocument(reply.elements.filter { $0.key != "ok" }.map { ($0.key, $0.value) }))
        writer.raw([0x77])
        writer.cString("x")
        writer.raw([1, 2, 3, 4])
        writer.element("ok", .double(1))
        writer.end()
        return writer.finished
    }

    /// A string element whose length runs 1,000 bytes past the end of its document.
    static func stringPastTheEnd(_ reply: BSONDocument) -> [UInt8] {
        var writer = RawBSON()
        writer.begin()
        writer.element("ok", .double(1))
        writer.raw([0x02])
        writer.cString("setName")
        writer.raw(Wire.littleEndian(Int32(1000)) + Array("rs0".utf8) + [0])
        writer.end()
        return writer.finished
    }

    /// The document's own length is right, but it does not end with the NUL every document ends with.
    static func missingTerminator(_ reply: BSONDocument) -> [UInt8] {
        var bytes = reply.bytes
        bytes[bytes.count - 1] = 0x01
        return bytes
    }

    static let helloCases: [ScriptedCase] = [
        garbage(.hello, "the connection closed instead of a reply") { _, _ in .close },
        garbage(.hello, "the connection closed mid-reply") { _, reply in .closeMidReply(.document(reply), afterBytes: 30) },
        garbage(.hello, "an unknown opcode") { request, reply in
            .message(Wire.message(opcode: 2099, requestID: 9, responseTo: request.requestID, payload: Wire.littleEndian(Int32(0)) + [0] + reply.bytes))
        },
        garbage(.hello, "a message length under the header's 16 bytes") { request, reply in
            let whole = Wire.reply(body: reply.bytes, to: request.requestID, kind: request.kind, replyID: 9)
            return .message(Wire.littleEndian(Int32(10)) + whole.dropFirst(4))
        },
        garbage(.hello, "a message length of 64 MB, past maxMessageSizeBytes") { request, reply in
            let whole = Wire.reply(body: reply.bytes, to: request.requestID, kind: request.kind, replyID: 9)
            return .message(Wire.littleEndian(Int32(64 << 20)) + whole.dropFirst(4))
        },
        garbage(.hello, "the reply trickled a byte every 100 ms") { _, reply in .trickle(.document(reply), every: .milliseconds(100)) },
        garbage(.hello, "never answered") { _, _ in .never },
    ]

    /// Without TLS or credentials no handshake is made (the tool's own connections,
    /// `PlainConnections`); libmongoc's handshake meets hostile nodes in CredentialTheftTests.
    static let otherCases: [ScriptedCase] = [
        garbage(.config, "the connection closed mid-reply") { _, reply in .closeMidReply(.document(reply), afterBytes: 40) },
        garbage(.config, "the reply trickled a byte every 100 ms") { _, reply in .trickle(.document(reply), every: .milliseconds(100)) },
        garbage(.config, "never answered") { _, _ in .never },
    ]

    /// A whole, well-framed message whose document is not valid BSON: libmongoc hands it to the
    /// tool as the reply. No network fault makes a complete message with a corrupt document, so
    /// it is refused like any other reply no mongod sends (exit 65), naming the node.
    static func corrupt(_ target: Target, _ what: String, _ body: @escaping @Sendable (BSONDocument) -> [UInt8]) -> ScriptedCase {
        ScriptedCase("\(target.rawValue): \(what)", .refused(mentioning: ["BSON"])) { request, member in
            target.matches(request) ? .body(body(target.saneReply(request, member))) : nil
        }
    }

    static let corruptDocuments: [ScriptedCase] = [
        corrupt(.hello, "an element of an unknown BSON type", unknownElementType),
        corrupt(.hello, "a string running past its document", stringPastTheEnd),
        corrupt(.hello, "a document without its final NUL", missingTerminator),
        corrupt(.config, "an element of an unknown BSON type", unknownElementType),
        corrupt(.config, "a string running past its document", stringPastTheEnd),
    ]

    /// A reply whose responseTo names another request answers nothing this connection asked:
    /// garbage like any other, however sane its document (libmongoc 1.23 would take it as the
    /// answer; the tool's own connections compare the ids).
    static let responseToCases: [ScriptedCase] = [
        ScriptedCase("hello: a reply to another requestId", .deadline) { request, member in
            guard request.isToolHello else { return nil }
            return .message(Wire.reply(body: member.hello(for: request).bytes, to: request.requestID &+ 7, kind: request.kind, replyID: 9))
        },
        ScriptedCase("replSetGetConfig: a reply to another requestId", .deadline) { request, member in
            guard request.name == "replSetGetConfig" else { return nil }
            let reply = member.configReply(commitmentStatus: request.command["commitmentStatus"] != nil)
            return .message(Wire.reply(body: reply.bytes, to: request.requestID &- 1, kind: request.kind, replyID: 9))
        },
    ]

    @Test("garbage in place of a hello reply is retried until --timeout", arguments: helloCases)
    func helloGarbage(_ scripted: ScriptedCase) async throws {
        try await scripted.run()
    }

    @Test("garbage in place of the config is retried until --timeout", arguments: otherCases)
    func otherGarbage(_ scripted: ScriptedCase) async throws {
        try await scripted.run()
    }

    @Test("a well-framed reply whose document is corrupt BSON is refused", arguments: corruptDocuments)
    func corruptDocument(_ scripted: ScriptedCase) async throws {
        try await scripted.run()
    }

    @Test("a reply to another request is retried until --timeout, never a crash, flood or write",
          arguments: responseToCases)
    func replyToAnotherRequest(_ scripted: ScriptedCase) async throws {
        try await scripted.run()
    }
}
