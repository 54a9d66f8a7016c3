import MongoBSON
import Testing

/// `replSetGetStatus` member fields and the fields of every reply's envelope (`ok`, `code`,
/// `codeName`, `errmsg`) in types mongod never sends: refused (exit 65). A bare `{ok: 0}` (no
/// code, no message) is an error answer, not content: retried until --timeout (exit 69).
@Suite("hostile nodes: replSetGetStatus and reply envelopes")
struct StatusAndErrorTests {
    /// A node whose hello shows no config and whose replSetGetStatus then answers `ok: 1` (as
    /// when a config arrives between the two), with `change` applied: the tool reads the members.
    static func status(_ name: String, mentioning words: [String], _ change: @escaping MockMember.Tweak) -> ScriptedCase {
        ScriptedCase(name, .refused(mentioning: words), start: .fresh, tweaks: .init(status: change)) { request, member in
            request.name == "replSetGetStatus" ? .document(member.statusReply) : nil
        }
    }

    /// A fresh node whose NotYetInitialized answer to replSetGetStatus has `change` applied.
    static func statusError(_ name: String, mentioning words: [String], _ change: @escaping @Sendable (inout BSONDocument) -> Void) -> ScriptedCase {
        ScriptedCase(name, .refused(mentioning: words), start: .fresh) { request, _ in
            guard request.name == "replSetGetStatus" else { return nil }
            var reply = MockMember.error(94, "NotYetInitialized", "no replset config has been received")
            change(&reply)
            return .document(reply)
        }
    }

    static let cases: [ScriptedCase] = [
        status("status member name as an int", mentioning: ["name"]) { reply, _ in
            reply.updateMember(0) { $0["name"] = .int32(27017) }
        },
        status("status member health as a string", mentioning: ["health"]) { reply, _ in
            reply.updateMember(0) { $0["health"] = "1" }
        },
        status("status member state as a string", mentioning: ["state"]) { reply, _ in
            reply.updateMember(0) { $0["state"] = "PRIMARY" }
        },
        status("status members as a document", mentioning: ["members"]) { reply, host in
            reply["members"] = ["0": ["name": .string(host), "health": .double(1), "state": .int32(1)]]
        },
        statusError("error code as a string", mentioning: ["code"]) { $0["code"] = "94" },
        statusError("error codeName as an int", mentioning: ["codeName"]) { $0["codeName"] = .int32(94) },
        statusError("errmsg as an int", mentioning: ["errmsg"]) { $0["errmsg"] = .int32(94) },
        ScriptedCase("hello without ok", .refused(mentioning: ["ok"]), tweaks: .init(hello: { hello, _ in hello["ok"] = nil })),
        ScriptedCase("hello with ok as a string", .refused(mentioning: ["ok"]), tweaks: .init(hello: { hello, _ in hello["ok"] = "1" })),
        ScriptedCase("replSetGetConfig without ok", .refused(mentioning: ["ok"]),
                     tweaks: .init(configReply: { reply, _ in reply["ok"] = nil })),
        ScriptedCase("replSetGetConfig with ok as a document", .refused(mentioning: ["ok"]),
                     tweaks: .init(configReply: { reply, _ in reply["ok"] = ["value": .double(1)] })),
        // mongod's error replies always carry a code and an errmsg: a bare one is a reply no
        // mongod sends, refused rather than read as "not a replica set" or retried blindly.
        ScriptedCase("a bare {ok: 0} to every command of the tool", .refused(mentioning: ["ok", "code"])) { request, _ in
            request.isHandshake ? nil : .document(["ok": .double(0)])
        },
    ]

    @Test("a status or envelope field of the wrong type is refused", arguments: cases)
    func envelope(_ scripted: ScriptedCase) async throws {
        try await scripted.run()
    }
}
