import MongoBSON
import Testing

/// Replies that crash libmongoc 1.23.1 itself, inside `mongoc_client_command_simple`, where
/// the tool cannot catch anything: run only against a libmongoc at least
/// `LibmongocFixes.firstSafeVersion`, where they are protocol garbage like any other (exit 69).
/// Skipped otherwise, saying why (Swift Testing prints the condition's comment, and so does
/// `skipNotice`).
@Suite("hostile nodes: replies that crash libmongoc 1.23.1")
struct LibmongocCrasherTests {
    static let cases: [ScriptedCase] = [
        // `_mongoc_rpc_scatter_msg` adds the section's length to its cursor unchecked: the next
        // section is read 2 GB past the buffer.
        ScriptedCase("hello: an OP_MSG section longer than the message", .deadline) { request, member in
            guard request.isToolHello else { return nil }
            let payload = Wire.littleEndian(Int32(0)) + [0] + Wire.littleEndian(Int32(0x7FFF_FFF0)) + member.hello(for: request).bytes.dropFirst(4)
            return .message(Wire.message(opcode: Wire.opMsg, requestID: 9, responseTo: request.requestID, payload: payload))
        },
        // An OP_COMPRESSED nobody negotiated, "compressed" with noop (id 0), whose
        // uncompressedSize is 64 bytes more than the message it carries:
        // `_mongoc_rpc_decompress` asserts they are equal and aborts.
        ScriptedCase("hello: an unrequested OP_COMPRESSED with a wrong uncompressedSize", .deadline) { request, member in
            guard request.isToolHello else { return nil }
            let inner = Wire.littleEndian(Int32(0)) + [0] + member.hello(for: request).bytes
            let payload = Wire.littleEndian(Wire.opMsg) + Wire.littleEndian(Int32(inner.count + 64)) + [0] + inner
            return .message(Wire.message(opcode: Wire.opCompressed, requestID: 9, responseTo: request.requestID, payload: payload))
        },
        // Found by this suite: an OP_REPLY where an OP_MSG reply is due makes libmongoc 1.23.1
        // dereference NULL (SIGSEGV inside mongoc_client_command_simple).
        ScriptedCase("hello: an OP_REPLY in answer to an OP_MSG", .deadline) { request, member in
            guard request.isToolHello else { return nil }
            return .message(Wire.reply(body: member.hello(for: request).bytes, to: request.requestID, kind: .query, replyID: 9))
        },
    ]

    /// Says, where the runner's output shows it, why the cases below did not run.
    @Test("the libmongoc crasher cases say why they are skipped")
    func skipNotice() {
        if LibmongocFixes.crashersAreSafe {
            print("HostileNodeTests: the libmongoc crasher cases run (linked libmongoc \(LibmongocFixes.linked))")
        } else {
            print("HostileNodeTests: skipping the libmongoc crasher cases: \(LibmongocFixes.skipReason)")
        }
    }

    @Test("a reply that crashes libmongoc 1.23.1 is protocol garbage to a fixed libmongoc",
          .enabled(if: LibmongocFixes.crashersAreSafe, Comment(rawValue: LibmongocFixes.skipReason)),
          arguments: cases)
    func crasher(_ scripted: ScriptedCase) async throws {
        try await scripted.run()
    }
}
