import MongoBSON
import MongoSimulator
import Testing

/// Injected faults, as a client and the other members see them.
@Suite("faults")
struct FaultTests {
    @Test("a member that is not listening yet refuses connections; started later, it answers")
    func lateMember() async throws {
        try await withSimulator(members: 2, start: false) { simulator in
            let failure = await simulator.client(1).failure(["ping": 1])
            #expect(failure?.domain == 15)
            #expect(failure?.message.contains("connection refused") == true, "\(String(describing: failure))")
            try await simulator.start(1)
            #expect(try await simulator.client(1).run(["ping": 1])["ok"] == 1.0)
            let listening = await simulator.events.filter { $0.kind == .startedListening }
            #expect(listening.map(\.member) == [1])
        }
    }

    @Test("refusing connections: clients and members are refused, state is kept; cleared, it listens again")
    func refuse() async throws {
        try await withSimulator(members: 3) { simulator in
            try await simulator.initiateSet()
            try await simulator.inject(.refuseConnections, into: 2)
            #expect(await simulator.client(2).failure(["ping": 1])?.message.contains("connection refused") == true)
            try await waitForStatus(simulator, from: 0, member: 2) { $0["stateStr"] == "(not reachable/healthy)" }
            let status = try await simulator.client(0).run(["replSetGetStatus": 1])
            let down = status["members"]?.arrayValue?.last?.documentValue
            #expect(down?["lastHeartbeatMessage"] == .string("Error connecting to \(simulator.hosts[2]) :: caused by :: Connection refused"))
            #expect(down?["state"] == .int32(8))
            #expect(await simulator.snapshot[2].state == .secondary)
            try await simulator.clearFaults(of: 2)
            #expect(try await simulator.client(2).run(["hello": 1])["secondary"] == true)
        }
    }

    @Test("accepting then closing: the connection is closed before any reply")
    func acceptThenClose() async throws {
        try await withSimulator(members: 1) { simulator in
            try await simulator.inject(.closeConnectionsOnAccept, into: 0)
            let connection = try #require(WireClient(simulator.hosts[0]))
            #expect(await connection.isClosedByPeer())
            #expect(await simulator.client(0).failure(["ping": 1]) != nil)
            try await simulator.clearFaults(of: 0)
            #expect(try await simulator.client(0).run(["ping": 1])["ok"] == 1.0)
        }
    }

    @Test("slow replies arrive after the delay")
    func slowReplies() async throws {
        try await withSimulator(members: 1) { simulator in
            let client = simulator.client(0)
            _ = try await client.run(["ping": 1])
            try await simulator.inject(.slowReplies(.milliseconds(300)), into: 0)
            let start = ContinuousClock.now
            _ = try await client.run(["ping": 1])
            #expect(start.duration(to: .now) >= .milliseconds(300))
        }
    }

    @Test("a restart that keeps the data comes back with its config; a fresh one syncs it again")
    func restart() async throws {
        try await withSimulator(members: 3) { simulator in
            try await simulator.initiateSet()
            let before = try await simulator.client(1).run(["hello": 1])["topologyVersion"]?.documentValue?["processId"]
            try await simulator.restart(1)
            try await simulator.waitUntil(timeout: .seconds(5), "member 1 SECONDARY again") { $0[1].state == .secondary && $0[1].configVersion == 1 }
            let after = try await simulator.client(1).run(["hello": 1])
            #expect(after["topologyVersion"]?.documentValue?["processId"] != before)
            #expect(after["setName"] == "rs0")
            let events = await simulator.events.filter { $0.member == 1 }.map(\.kind).suffix(6)
            #expect(Array(events) == [.processStarted, .configInstalled(version: 1, term: 1), .state(.startup2), .state(.recovering), .startedListening, .state(.secondary)]
                || Array(events) == [.processStarted, .configInstalled(version: 1, term: 1), .state(.startup2), .state(.recovering), .state(.secondary), .startedListening])

            try await simulator.restart(2, keepingData: false)
            try await simulator.waitUntil(timeout: .seconds(5), "member 2 back through initial sync") { $0[2].state == .secondary }
            // Empty, it learned the config from the others' heartbeats and synced for `initialSync`.
            let fresh = await simulator.events.filter { $0.member == 2 }.reversed().prefix { $0.kind != .processStarted }.reversed()
                .filter { $0.kind != .startedListening }
            #expect(fresh.map(\.kind) == [.configInstalled(version: 1, term: 1), .state(.startup2), .state(.recovering), .state(.secondary)])
            #expect(fresh[fresh.startIndex + 1].time.duration(to: fresh[fresh.startIndex + 2].time) >= .milliseconds(50))
        }
    }

    @Test("step down when a command arrives: before it runs, the primary is no longer writable")
    func stepDownOnCommand() async throws {
        try await withSimulator(members: 3) { simulator in
            try await simulator.initiateSet()
            try await simulator.inject(.stepDownOnCommand("hello", period: .seconds(10)), into: 0)
            let hello = try await simulator.client(0).run(["hello": 1])
            #expect(hello["isWritablePrimary"] == false)
            try await simulator.waitUntil(timeout: .seconds(5), "another primary") { $0.primary.map { $0.index != 0 } ?? false }
            // The fault fires once.
            #expect(try await simulator.client(0).run(["hello": 1])["ok"] == 1.0)
        }
    }

    @Test("a member of another set is the primary of its own one-member set")
    func otherSet() async throws {
        try await withSimulator([MemberSpec(role: .otherSet("other"))]) { simulator in
            try await simulator.waitUntil(timeout: .seconds(5), "its primary") { $0.primary != nil }
            let hello = try await simulator.client(0).run(["hello": 1])
            #expect(hello["setName"] == "other")
            #expect(hello["isWritablePrimary"] == true)
        }
    }
}

/// Polls the member's replSetGetStatus until its entry for `member` satisfies the condition.
func waitForStatus(_ simulator: ReplicaSetSimulator, from index: Int, member: Int, timeout: Duration = .seconds(5),
                   _ condition: (BSONDocument) -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while true {
        let status = try await simulator.client(index).run(["replSetGetStatus": 1])
        let entry = status["members"]?.arrayValue?.compactMap(\.documentValue).first { $0["name"] == .string(simulator.hosts[member]) }
        if let entry, condition(entry) { return }
        guard ContinuousClock.now < deadline else { throw SimulatorError.timedOut("member \(member)'s status") }
        try await Task.sleep(for: .milliseconds(20))
    }
}
