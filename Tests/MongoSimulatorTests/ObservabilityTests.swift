import MongoBSON
import MongoSimulator
import Testing

/// What a test can ask the simulator: commands received, events, snapshots.
@Suite("observability")
struct ObservabilityTests {
    @Test("every command is recorded with its member, database, document and connection; writes are easy to find")
    func commandLog() async throws {
        try await withSimulator(members: 2) { simulator in
            let client = simulator.client(0)
            _ = try await client.run(["ping": 1])
            _ = await client.failure(["replSetGetStatus": 1])
            _ = try await client.run(["replSetInitiate": .document(configDocument(simulator.hosts))])
            let commands = await simulator.commands
            // libmongoc's handshake comes first, over OP_QUERY.
            #expect(commands.first?.name == "isMaster")
            let ping = try #require(commands.first { $0.name == "ping" })
            #expect(ping.database == "admin")
            #expect(ping.host == simulator.hosts[0])
            #expect(ping.document["$readPreference"] != nil)
            #expect(ping.connection == commands[0].connection)
            let writes = await simulator.writeCommands
            #expect(writes.map(\.name) == ["replSetInitiate"])
            #expect(writes[0].document["replSetInitiate"]?.documentValue?["_id"] == "rs0")
            // Internal heartbeats between members are not commands a client sent.
            #expect(commands.allSatisfy { $0.member == 0 })
        }
    }

    @Test("events carry monotonic times comparable with the commands'")
    func eventTimes() async throws {
        try await withSimulator(members: 1) { simulator in
            _ = try await simulator.client(0).run(["replSetInitiate": 1])
            try await simulator.waitUntil(timeout: .seconds(5), "a writable primary") { $0.primary != nil }
            let events = await simulator.events
            #expect(zip(events, events.dropFirst()).allSatisfy { $0.time <= $1.time })
            let writable = try #require(events.first { $0.kind == .becameWritablePrimary })
            let initiate = try #require(await simulator.writeCommands.first)
            #expect(initiate.time < writable.time)
            let kinds = events.map(\.kind)
            #expect(kinds.starts(with: [.processStarted, .startedListening, .configInstalled(version: 1, term: 0), .state(.startup2), .state(.recovering), .state(.secondary)]))
            #expect(kinds.contains(.electionWon(term: 1)))
        }
    }

    @Test("snapshots name the writable primary and each member's config")
    func snapshots() async throws {
        try await withSimulator(members: 3) { simulator in
            #expect(await simulator.snapshot.primary == nil)
            try await simulator.initiateSet()
            let set = await simulator.snapshot
            #expect(set.primary?.index == 0)
            #expect(set.members.map(\.configVersion) == [1, 1, 1])
            #expect(set.members.map(\.configTerm) == [1, 1, 1])
            #expect(set[1].primary == simulator.hosts[0])
            try await simulator.stop(2)
            let stopped = await simulator.snapshot[2]
            #expect(!stopped.isRunning && !stopped.isListening)
            #expect(stopped.state == .down)
        }
    }
}
