import MongoBSON
import MongoSimulator
import Testing

/// hello/isMaster as libmongoc sees them (`replication_info.cpp`, `hello_response.cpp`).
@Suite("hello")
struct HelloTests {
    let tail = ["maxBsonObjectSize", "maxMessageSizeBytes", "maxWriteBatchSize", "localTime",
                "logicalSessionTimeoutMinutes", "connectionId", "minWireVersion", "maxWireVersion", "readOnly", "ok"]

    @Test("a fresh member answers the handshake as a replica-set member without a config")
    func uninitialized() async throws {
        try await withSimulator(members: 1) { simulator in
            let hello = try await simulator.client(0).run(["hello": 1])
            #expect(hello.keys == ["topologyVersion", "isWritablePrimary", "secondary", "info", "isreplicaset"] + tail)
            #expect(hello["isWritablePrimary"] == false)
            #expect(hello["info"] == "Does not have a valid replica set config")
            #expect(hello["isreplicaset"] == true)
            #expect(hello["maxWireVersion"] == .int32(21))
            #expect(hello["maxBsonObjectSize"] == .int32(16_777_216))
            #expect(hello["connectionId"]?.intValue != nil)
            guard case .document(let version) = hello["topologyVersion"] else { Issue.record("no topologyVersion"); return }
            #expect(version["processId"]?.objectIdValue != nil)
            #expect(version["counter"] == .int64(0))
        }
    }

    @Test("isMaster uses the legacy field names; helloOk is echoed")
    func legacyNames() async throws {
        try await withSimulator(members: 1) { simulator in
            let reply = try await simulator.client(0).run(["isMaster": 1, "helloOk": true])
            #expect(reply.firstKey == "helloOk")
            #expect(reply["ismaster"] == false)
            #expect(reply["isWritablePrimary"] == nil)
        }
    }

    @Test("a standalone answers as a writable standalone, without setName")
    func standalone() async throws {
        try await withSimulator([MemberSpec(role: .standalone)]) { simulator in
            let hello = try await simulator.client(0).run(["hello": 1])
            #expect(hello["isWritablePrimary"] == true)
            #expect(hello["setName"] == nil)
            #expect(hello["isreplicaset"] == nil)
        }
    }

    @Test("members of an initiated set report hosts, passives, arbiters and their own role")
    func roles() async throws {
        try await withSimulator(members: 5) { simulator in
            let hosts = simulator.hosts
            let config = configDocument(hosts) { index, member in
                switch index {
                case 2: member["priority"] = 0
                case 3: member["priority"] = 0; member["hidden"] = true; member["tags"] = ["dc": "east"]
                case 4: member["arbiterOnly"] = true
                default: break
                }
            }
            _ = try await simulator.client(0).run(["replSetInitiate": .document(config)])
            _ = try await stepUp(simulator, 0)
            try await simulator.waitUntil(timeout: .seconds(5)) { set in
                set.members.allSatisfy { [.primary, .secondary, .arbiter].contains($0.state) }
            }
            let primary = try await simulator.client(0).run(["hello": 1])
            #expect(primary["hosts"] == .array([.string(hosts[0]), .string(hosts[1])]))
            #expect(primary["passives"] == .array([.string(hosts[2])]))
            #expect(primary["arbiters"] == .array([.string(hosts[4])]))
            #expect(primary["isWritablePrimary"] == true)
            #expect(primary["primary"] == .string(hosts[0]))
            #expect(primary["me"] == .string(hosts[0]))
            #expect(primary["setVersion"] == .int32(1))
            #expect(primary["electionId"] == .objectId(ObjectId(hex: "7fffffff0000000000000001")!))
            guard case .document(let lastWrite) = primary["lastWrite"] else { Issue.record("no lastWrite"); return }
            #expect(lastWrite["lastWriteDate"].map { if case .datetime = $0 { true } else { false } } == true)

            let passive = try await simulator.client(2).run(["hello": 1])
            #expect(passive["passive"] == true)
            #expect(passive["secondary"] == true)
            let hidden = try await simulator.client(3).run(["isMaster": 1])
            #expect(hidden["hidden"] == true)
            #expect(hidden["tags"] == ["dc": "east"])
            #expect(hidden["ismaster"] == false)
            let arbiter = try await simulator.client(4).run(["hello": 1])
            #expect(arbiter["arbiterOnly"] == true)
            #expect(arbiter["secondary"] == false)
        }
    }
}

/// replSetStepUp until the member wins (it must first be SECONDARY and see a majority).
@discardableResult
func stepUp(_ simulator: ReplicaSetSimulator, _ member: Int, timeout: Duration = .seconds(5)) async throws -> BSONDocument {
    let client = simulator.client(member)
    let deadline = ContinuousClock.now + timeout
    while true {
        switch await client.command(["replSetStepUp": 1]) {
        case .success(let reply):
            try await simulator.waitUntil(timeout: timeout, "a writable primary") { $0[member].isWritablePrimary }
            return reply
        case .failure(let failure):
            guard ContinuousClock.now < deadline else { throw failure }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
