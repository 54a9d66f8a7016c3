import MongoBSON
import Testing

/// `hello` replies with a field the tool reads in a BSON type mongod never sends
/// (`hello_response.cpp`): a valid `ok: 1` reply the tool must refuse (exit 65), naming the node
/// and the field, without writing anything.
@Suite("hostile nodes: hello fields of the wrong type")
struct HelloFieldTests {
    /// A case whose tool-facing hello has `change` applied (libmongoc's handshake stays sane).
    static func hello(_ name: String, mentioning words: [String], start: MockMember.Start = .primary,
                      _ change: @escaping MockMember.Tweak) -> ScriptedCase {
        ScriptedCase(name, .refused(mentioning: words), start: start, tweaks: .init(hello: change))
    }

    static let cases: [ScriptedCase] = [
        hello("isWritablePrimary as a string", mentioning: ["isWritablePrimary"]) { hello, _ in hello["isWritablePrimary"] = "true" },
        hello("ismaster (no isWritablePrimary) as an int", mentioning: ["ismaster"]) { hello, _ in
            hello["isWritablePrimary"] = nil
            hello["ismaster"] = .int32(1)
        },
        hello("secondary as a string", mentioning: ["secondary"]) { hello, _ in hello["secondary"] = "false" },
        hello("arbiterOnly as a string", mentioning: ["arbiterOnly"]) { hello, _ in hello["arbiterOnly"] = "no" },
        hello("hidden as a double", mentioning: ["hidden"]) { hello, _ in hello["hidden"] = .double(0) },
        hello("isreplicaset as a string (no config)", mentioning: ["isreplicaset"], start: .fresh) { hello, _ in
            hello["isreplicaset"] = "true"
        },
        hello("setName as an int", mentioning: ["setName"]) { hello, _ in hello["setName"] = .int32(0) },
        // mongod reports setVersion whenever it reports setName (`HelloResponse::setReplSetVersion`).
        hello("setName without setVersion", mentioning: ["setVersion"]) { hello, _ in hello["setVersion"] = nil },
        hello("setVersion as a string", mentioning: ["setVersion"]) { hello, _ in hello["setVersion"] = "1" },
        hello("primary as an int", mentioning: ["primary"]) { hello, _ in hello["primary"] = .int32(1) },
        hello("me as an array", mentioning: ["me"]) { hello, host in hello["me"] = [.string(host)] },
        hello("topologyVersion as a string", mentioning: ["topologyVersion"]) { hello, _ in hello["topologyVersion"] = "1" },
        hello("topologyVersion.processId as a string", mentioning: ["processId"]) { hello, _ in
            hello["topologyVersion"] = ["processId": .string(ObjectId.generate().hex), "counter": .int64(0)]
        },
        hello("topologyVersion.counter as a string", mentioning: ["counter"]) { hello, _ in
            hello["topologyVersion"] = ["processId": .objectId(ObjectId.generate()), "counter": "0"]
        },
        hello("maxWireVersion as a string", mentioning: ["maxWireVersion"]) { hello, _ in hello["maxWireVersion"] = "21" },
        hello("msg as an int", mentioning: ["msg"]) { hello, _ in hello["msg"] = .int32(1) },
        hello("lastWrite.opTime as a string", mentioning: ["opTime", "lastWrite"]) { hello, _ in
            hello["lastWrite"] = ["opTime": "Timestamp(1, 1)", "lastWriteDate": .datetime(0)]
        },
        hello("lastWrite.opTime.ts as a long", mentioning: ["opTime", "lastWrite", "ts"]) { hello, _ in
            hello["lastWrite"] = ["opTime": ["ts": .int64(1), "t": .int64(1)], "lastWriteDate": .datetime(0)]
        },
        // Hosts the node reports for itself and its primary must be plain host[:port] too.
        hello("me is a connection string", mentioning: ["mongodb://127.9.7.1"]) { hello, _ in hello["me"] = "mongodb://127.9.7.1:27017" },
        hello("primary carries credentials", mentioning: ["127.9.7.2/?authSource=admin"]) { hello, _ in
            hello["primary"] = "x@127.9.7.2/?authSource=admin"
        },
    ]

    @Test("a hello field of the wrong type is refused", arguments: cases)
    func wrongType(_ scripted: ScriptedCase) async throws {
        try await scripted.run()
    }
}
