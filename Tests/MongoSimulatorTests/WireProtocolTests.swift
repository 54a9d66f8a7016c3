import MongoBSON
import MongoSimulator
import Testing

/// The wire protocol at the byte level, with what libmongoc's single-threaded client never sends.
@Suite("wire protocol")
struct WireProtocolTests {
    @Test("OP_QUERY isMaster gets an OP_REPLY answering that request")
    func opQueryHandshake() async throws {
        try await withSimulator(members: 1) { simulator in
            let connection = try #require(WireClient(simulator.hosts[0]))
            let reply = try #require(await connection.query(["isMaster": 1, "helloOk": true]))
            #expect(reply.opcode == 1)
            #expect(reply.responseTo == 1)
            #expect(reply.flags == 0)
            #expect(reply.document["helloOk"] == true)
            let buildInfo = try #require(await connection.query(["buildinfo": 1]))
            #expect(buildInfo.document["ok"] == 1.0)
        }
    }

    @Test("OP_QUERY for anything but the handshake commands: UnsupportedOpQueryCommand (352)")
    func opQueryRefused() async throws {
        try await withSimulator(members: 1) { simulator in
            let connection = try #require(WireClient(simulator.hosts[0]))
            let reply = try #require(await connection.query(["ping": 1]))
            #expect(reply.opcode == 1)
            #expect(reply.document["code"] == .int32(352))
            #expect(reply.document["codeName"] == "UnsupportedOpQueryCommand")
            #expect(reply.document["errmsg"] == "Unsupported OP_QUERY command: ping. The client driver may require an upgrade. For more details see https://dochub.mongodb.org/core/legacy-opcode-removal")
        }
    }

    @Test("OP_MSG with a document sequence and a checksum gets one kind-0 OP_MSG reply")
    func opMsgSequenceAndChecksum() async throws {
        try await withSimulator(members: 1) { simulator in
            let connection = try #require(WireClient(simulator.hosts[0]))
            let reply = try #require(await connection.message(["ping": 1, "$db": "admin"], sequences: [("documents", [["a": 1], ["b": 2]])], checksum: true))
            #expect(reply.opcode == 2013)
            #expect(reply.flags == 0)
            #expect(reply.responseTo == 1)
            #expect(reply.document == ["ok": 1.0])
            let records = await simulator.commands
            #expect(records.last?.document["documents"] == [["a": 1], ["b": 2]])
        }
    }

    @Test("OP_MSG without $db, and unknown commands, get mongod's errors")
    func opMsgErrors() async throws {
        try await withSimulator(members: 1) { simulator in
            let connection = try #require(WireClient(simulator.hosts[0]))
            let noDatabase = try #require(await connection.message(["ping": 1]))
            #expect(noDatabase.document["code"] == .int32(40571))
            #expect(noDatabase.document["errmsg"] == "OP_MSG requests require a $db argument")
            let unknown = try #require(await connection.message(["insert": "c", "$db": "test"]))
            #expect(unknown.document == ["ok": 0.0, "errmsg": "no such command: 'insert'", "code": .int32(59), "codeName": "CommandNotFound"])
        }
    }

    @Test("moreToCome requests get no reply; the next request is answered")
    func moreToCome() async throws {
        try await withSimulator(members: 1) { simulator in
            let connection = try #require(WireClient(simulator.hosts[0]))
            let silent = WireClient.opMsg(["ping": 1, "$db": "admin"], requestID: 50, flags: 2)
            let next = WireClient.opMsg(["ping": 1, "$db": "admin"], requestID: 51)
            let reply = try #require(await connection.exchange(silent + next))
            #expect(reply.responseTo == 51)
        }
    }

    @Test("malformed messages close the connection", arguments: [
        [10, 0, 0, 0, 1, 0, 0, 0],
        WireClient.frame([0, 0, 0, 0, 0, 9, 0, 0, 0, 1, 2, 3, 4, 5], requestID: 1, opcode: 2013),
        WireClient.frame([0, 0, 0, 0, 0] + (["ping": 1, "$db": "admin"] as BSONDocument).bytes + [0] + (["ping": 1] as BSONDocument).bytes, requestID: 1, opcode: 2013),
        WireClient.frame([1, 2, 3], requestID: 1, opcode: 2012),
        WireClient.opMsg(["ping": 1, "$db": "admin"], requestID: 1, flags: 1 << 4),
    ] as [[UInt8]])
    func malformed(bytes: [UInt8]) async throws {
        try await withSimulator(members: 1) { simulator in
            let connection = try #require(WireClient(simulator.hosts[0]))
            #expect(await connection.sendExpectingClose(bytes))
            // The member is unharmed.
            #expect(try await simulator.client(0).run(["ping": 1])["ok"] == 1.0)
        }
    }
}
