import MongoBSON
import Testing

/// Replies that crash libmongoc 1.23.1 itself, inside `mongoc_client_command_simple` (fixed by
/// 1.28.1): an OP_MSG section whose length runs past the message (`_mongoc_rpc_scatter_msg`
/// reads beyond the buffer), an OP_COMPRESSED nobody asked for with a wrong uncompressedSize
/// (`_mongoc_rpc_decompress` asserts and aborts), an OP_REPLY in answer to an OP_MSG (a NULL
/// dereference). Without TLS or credentials no reply reaches libmongoc's reader: the tool's own
/// connections (`PlainConnections`) read them as the protocol garbage they are (exit 69). With
/// TLS or credentials a command connection is libmongoc's, and 1.23.1 still crashes on them.
@Suite("hostile nodes: replies that crash libmongoc 1.23.1")
struct LibmongocCrasherTests {
    enum Target: String, Sendable {
        case hello = "hello"
        case config = "replSetGetConfig"

        func answers(_ request: Request, _ member: MockMember) -> BSONDocument? {
            switch self {
            case .hello: request.isToolHello ? member.hello(for: request) : nil
            case .config: request.name == "replSetGetConfig" ? member.configReply(commitmentStatus: request.command["commitmentStatus"] != nil) : nil
            }
        }
    }

    static func crasher(_ target: Target, _ what: String, _ message: @escaping @Sendable (Request, BSONDocument) -> [UInt8]) -> ScriptedCase {
        ScriptedCase("\(target.rawValue): \(what)", .deadline) { request, member in
            target.answers(request, member).map { .message(message(request, $0)) }
        }
    }

    /// The body's section claims 2 GB.
    static func sectionPastTheEnd(_ request: Request, _ reply: BSONDocument) -> [UInt8] {
        let payload = Wire.littleEndian(Int32(0)) + [0] + Wire.littleEndian(Int32(0x7FFF_FFF0)) + reply.bytes.dropFirst(4)
        return Wire.message(opcode: Wire.opMsg, requestID: 9, responseTo: request.requestID, payload: payload)
    }

    /// "Compressed" with noop (id 0), its uncompressedSize 64 bytes more than it carries.
    static func wrongCompressedSize(_ request: Request, _ reply: BSONDocument) -> [UInt8] {
        let inner = Wire.littleEndian(Int32(0)) + [0] + reply.bytes
        let payload = Wire.littleEndian(Wire.opMsg) + Wire.littleEndian(Int32(inner.count + 64)) + [0] + inner
        return Wire.message(opcode: Wire.opCompressed, requestID: 9, responseTo: request.requestID, payload: payload)
    }

    static func opReply(_ request: Request, _ reply: BSONDocument) -> [UInt8] {
        Wire.reply(body: reply.bytes, to: request.requestID, kind: .query, replyID: 9)
    }

    static let cases: [ScriptedCase] = [Target.hello, .config].flatMap { target in
        [
            crasher(target, "an OP_MSG section longer than the message", sectionPastTheEnd),
            crasher(target, "an unrequested OP_COMPRESSED with a wrong uncompressedSize", wrongCompressedSize),
            crasher(target, "an OP_REPLY in answer to an OP_MSG", opReply),
        ]
    }

    @Test("a reply that crashes libmongoc 1.23.1 is protocol garbage to the tool", arguments: cases)
    func crasher(_ scripted: ScriptedCase) async throws {
        try await scripted.run()
    }
}
