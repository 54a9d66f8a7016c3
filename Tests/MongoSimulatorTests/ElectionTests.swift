import MongoBSON
import MongoSimulator
import Testing

/// Elections and step-downs (`replication_coordinator_impl_elect_v1.cpp`, `vote_requester.cpp`,
/// `TopologyCoordinator::becomeCandidateIfElectable`).
@Suite("elections")
struct ElectionTests {
    @Test("a fresh 3-member set elects after the election timeout plus up to 15%, in term 1")
    func electionTimeout() async throws {
        try await withSimulator(members: 3) { simulator in
            _ = try await simulator.client(0).run(["replSetInitiate": .document(configDocument(simulator.hosts))])
            try await simulator.waitUntil(timeout: .seconds(5), "a primary") { $0.primary != nil }
            let set = await simulator.snapshot
            let winner = try #require(set.primary)
            #expect(winner.term == 1)
            let events = await simulator.events.filter { $0.member == winner.index }
            let secondary = try #require(events.first { $0.kind == .state(.secondary) })
            let won = try #require(events.first { $0.kind == .electionWon(term: 1) })
            let waited = secondary.time.duration(to: won.time)
            // SimulatorTimings.fast: 200 ms, plus up to 30 ms of jitter. A busy machine only
            // delays the win; the default timeout (10 s) would show above 5 s.
            #expect(waited >= .milliseconds(200) && waited < .seconds(5), "\(waited)")
            let writable = try #require(events.first { $0.kind == .becameWritablePrimary })
            #expect(won.time < writable.time)
        }
    }

    @Test("a single-member set elects itself at once, without waiting for the 10 s election timeout")
    func singleMember() async throws {
        try await withSimulator(members: 1, options: SimulatorOptions()) { simulator in
            let start = ContinuousClock.now
            _ = try await simulator.client(0).run(["replSetInitiate": 1])
            // Well before the 10 s timeout, with room for a busy machine.
            try await simulator.waitUntil(timeout: .seconds(8), "a writable primary") { $0.primary != nil }
            #expect(start.duration(to: .now) < .seconds(8))
        }
    }

    @Test("replSetStepUp: ok on an electable secondary; CommandFailed 125 on others; 94 before initiate")
    func stepUpCommand() async throws {
        try await withSimulator(members: 4) { simulator in
            let fresh = await simulator.client(0).failure(["replSetStepUp": 1])
            #expect(fresh?.code == 94)
            let config = configDocument(Array(simulator.hosts.prefix(3))) { index, member in if index == 2 { member["priority"] = 0 } }
            _ = try await simulator.client(0).run(["replSetInitiate": .document(config)])
            try await stepUp(simulator, 0)
            try await simulator.waitUntil(timeout: .seconds(5), "secondaries") { $0[2].state == .secondary }
            let passive = await simulator.client(2).failure(["replSetStepUp": 1])
            #expect(passive?.code == 125)
            #expect(passive?.codeName == "CommandFailed")
            #expect(passive?.message == "Election failed.")
            // Already primary: the election is not needed, and the command succeeds.
            #expect(try await simulator.client(0).run(["replSetStepUp": 1])["ok"] == 1.0)
            // Member 1 takes over in a new term.
            try await stepUp(simulator, 1)
            #expect(await simulator.snapshot[1].term == 2)
            try await simulator.waitUntil(timeout: .seconds(5), "the old primary to step down") { $0[0].state == .secondary }
        }
    }

    @Test("failed elections: stepUp fails while the fault lasts, and every attempt takes a new term")
    func failedElections() async throws {
        try await withSimulator(members: 3, options: SimulatorOptions(timings: SimulatorTimings(electionTimeout: .seconds(30), heartbeatInterval: .milliseconds(50), initialSync: .milliseconds(50)))) { simulator in
            _ = try await simulator.client(0).run(["replSetInitiate": .document(configDocument(simulator.hosts))])
            try await simulator.waitUntil(timeout: .seconds(5), "member 0 SECONDARY") { $0[0].state == .secondary }
            try await simulator.inject(.failElections(count: 2), into: 0)
            for term in [Int64(1), 2] {
                let failure = await simulator.client(0).failure(["replSetStepUp": 1])
                #expect(failure?.code == 125)
                #expect(await simulator.snapshot[0].term == term)
            }
            #expect(try await simulator.client(0).run(["replSetStepUp": 1])["ok"] == 1.0)
            #expect(await simulator.snapshot[0].term == 3)
            let lost = await simulator.events.filter { if case .electionLost = $0.kind { true } else { false } }
            #expect(lost.count == 2)
        }
    }

    @Test("a stopped primary is replaced by the others after the election timeout")
    func deadPrimary() async throws {
        try await withSimulator(members: 3) { simulator in
            try await simulator.initiateSet()
            let stopped = ContinuousClock.now
            try await simulator.stop(0)
            try await simulator.waitUntil(timeout: .seconds(5), "a new primary") { $0.primary.map { $0.index != 0 } ?? false }
            // The survivors' timers started at the last heartbeat from it, up to one interval earlier.
            #expect(stopped.duration(to: .now) >= .milliseconds(150))
            let primary = try #require(await simulator.snapshot.primary)
            #expect(primary.term == 2)
            let status = try await simulator.client(primary.index).run(["replSetGetStatus": 1])
            let down = status["members"]?.arrayValue?.first?.documentValue
            #expect(down?["stateStr"] == "(not reachable/healthy)")
            #expect(down?["health"] == 0.0)
        }
    }

    @Test("a primary cut off from the majority steps down, and the majority elects another")
    func partitionedPrimary() async throws {
        try await withSimulator(members: 3) { simulator in
            try await simulator.initiateSet()
            try await simulator.partition(0, 1)
            try await simulator.partition(0, 2)
            try await simulator.waitUntil(timeout: .seconds(5), "a primary on the majority side") { set in
                set.primary.map { $0.index != 0 } == true && set[0].state == .secondary
            }
            // Without a majority, member 0 cannot win.
            let failure = await simulator.client(0).failure(["replSetStepUp": 1])
            #expect(failure?.code == 125)
        }
    }

    @Test("stepping down hands the election to a secondary at once")
    func stepDownHandoff() async throws {
        try await withSimulator(members: 3, options: SimulatorOptions(timings: SimulatorTimings(electionTimeout: .seconds(30), heartbeatInterval: .milliseconds(50), initialSync: .milliseconds(50)))) { simulator in
            try await simulator.initiateSet()
            let before = try await simulator.client(0).run(["hello": 1])
            try await simulator.stepDown(0)
            try await simulator.waitUntil(timeout: .seconds(2), "another primary, well before the 30 s timeout") { $0.primary.map { $0.index != 0 } ?? false }
            let after = try await simulator.client(0).run(["hello": 1])
            #expect(after["isWritablePrimary"] == false)
            let counter = { (reply: BSONDocument) in reply["topologyVersion"]?.documentValue?["counter"]?.intValue ?? 0 }
            #expect(counter(after) > counter(before))
            #expect(await simulator.client(0).failure(["replSetStepUp": 1])?.code == 125)
        }
    }

    @Test("replSetStepDown: mongod's argument checks, 10107 off the primary, 262 without a caught-up secondary, else a handoff")
    func stepDownCommand() async throws {
        try await withSimulator(members: 3) { simulator in
            try await simulator.initiateSet()
            let primary = try #require(await simulator.snapshot.primary?.index)
            let secondary = (primary + 1) % 3
            let off = await simulator.client(secondary).failure(["replSetStepDown": 60])
            #expect(off?.code == 10107)
            #expect(off?.message == "not primary so can't step down")
            let negative = await simulator.client(primary).failure(["replSetStepDown": -1])
            #expect(negative?.code == 2)
            #expect(negative?.message == "stepdown period must be a positive integer")
            let short = await simulator.client(primary).failure(["replSetStepDown": 5, "secondaryCatchUpPeriodSecs": 10])
            #expect(short?.message == "stepdown period must be longer than secondaryCatchUpPeriodSecs")
            let reply = try await simulator.client(primary).run(["replSetStepDown": 60, "secondaryCatchUpPeriodSecs": 10])
            #expect(reply["ok"] == 1.0)
            try await simulator.waitUntil(timeout: .seconds(5), "another primary") { $0.primary != nil && $0.primary?.index != primary }
        }
        try await withSimulator(members: 1) { simulator in
            try await simulator.initiateSet()
            let alone = await simulator.client(0).failure(["replSetStepDown": 60, "secondaryCatchUpPeriodSecs": 1])
            #expect(alone?.code == 262)
            #expect(alone?.codeName == "ExceededTimeLimit")
            #expect(alone?.message.hasPrefix("No electable secondaries caught up as of ") == true)
        }
    }
}
