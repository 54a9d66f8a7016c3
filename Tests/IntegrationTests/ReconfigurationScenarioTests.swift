import Foundation
import MongoBSON
import MongoSimulator
import ReplicaSetBootstrap
import TestSupport
import Testing

/// An existing set brought to the requested config by the real binary, one safe reconfig at a
/// time, against simulated members.
@Suite("Reconfiguration scenarios", .serialized)
struct ReconfigurationScenarioTests {
    @Test("scale 1 → 3 → 5 → 7 → 3 (with --remove-members): one voter per reconfig, each run exit 0")
    func scale() async throws {
        try await withSimulator(members: 7, timings: .fast) { simulator in
            let hosts = simulator.hosts
            var previous: BSONDocument?
            for (size, extra) in [(1, [String]()), (3, []), (5, []), (7, []), (3, ["--remove-members"])] {
                let before = await simulator.reconfigsSent().count
                let result = try await bootstrap(Array(hosts.prefix(size)), extra + ["--output", "json"])
                #expect(result.exitCode == 0, "\(size) members: \(result.stderr)")
                let config = try await committedConfig(simulator)
                #expect(config.members.map(\.host.description) == Array(hosts.prefix(size)), "\(size) members")
                // Each reconfig adds or removes at most one voter (mongod's safe-reconfig rule).
                for sent in await simulator.reconfigsSent().dropFirst(before) {
                    if let previous { #expect(voterIds(previous).symmetricDifference(voterIds(sent)).count <= 1) }
                    previous = sent
                }
                // What the tool verified; the primary may since have bumped the version itself to
                // drop `newlyAdded` from the members it added (mongod's automatic reconfig).
                let json = result.json
                #expect((json["configVersion"] as? Int ?? .max) <= config.version)
            }
            #expect(await simulator.writeCommands.filter { $0.name == "replSetInitiate" }.count == 1)
        }
    }

    @Test("add an arbiter, hide a member, change a priority, add tags: one run, exit 0, the config says so")
    func memberOptions() async throws {
        try await withSimulator(members: 4, timings: .fast) { simulator in
            let h = simulator.hosts
            #expect(try await bootstrap(Array(h.prefix(3))).exitCode == 0)
            let options = ["--arbiter", h[3], "--hidden", h[2], "--priority", "\(h[1])=2", "--tag", "\(h[0])=zone:a"]
            // mongod 5.0+: an arbiter would change the implicit default write concern; the run says
            // what to do instead of retrying.
            let refused = try await bootstrap(Array(h.prefix(3)), options)
            #expect(refused.exitCode == 65)
            #expect(refused.stderr.contains("setDefaultRWConcern: 1, defaultWriteConcern: {w: \"majority\"}"))
            try await setClusterWideWriteConcern(simulator)
            let result = try await bootstrap(Array(h.prefix(3)), options)
            #expect(result.exitCode == 0, "\(result.stderr)")
            let config = try await committedConfig(simulator)
            let member = { (host: String) in config.member(try! HostAddress(parsing: host))?.options }
            #expect(member(h[3])?.arbiterOnly == true)
            #expect(member(h[2])?.hidden == true && member(h[2])?.priority == 0)
            #expect(member(h[1])?.priority == 2)
            #expect(member(h[0])?.tags == ["zone": "a"])
            #expect(result.stdout.contains("done: replSetReconfig"))
        }
    }

    @Test("a spec file with settings, tags and horizons")
    func specFileSettings() async throws {
        try await withSimulator(members: 3, timings: .fast) { simulator in
            let h = simulator.hosts
            #expect(try await bootstrap(h).exitCode == 0)
            let path = try specFile("""
            name: rs0
            settings: {chainingAllowed: false, electionTimeoutMillis: 4000}
            members:
            \(h.enumerated().map { "  - {host: \"\($0.element)\", tags: {rack: r\($0.offset)}, horizons: {external: \"db-\($0.offset).example.com:3000\($0.offset)\"}}" }.joined(separator: "\n"))
            """)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let result = try await ToolProcess.run(["--config", path, "--timeout", "30s"])
            #expect(result.exitCode == 0, "\(result.stderr)")
            let config = try await committedConfig(simulator)
            #expect(config.settings["chainingAllowed"] == false)
            #expect(config.settings["electionTimeoutMillis"]?.intValue == 4000)
            #expect(config.members[1].options.tags == ["rack": "r1"])
            #expect(config.members[2].options.horizons == ["external": "db-2.example.com:30002"])
            // Run again: nothing to change.
            let again = try await ToolProcess.run(["--config", path, "--timeout", "30s"])
            #expect(again.stdout.contains("nothing to change"))
        }
    }

    @Test("a member becomes an arbiter: removed by one reconfig, added back as arbiter by the next")
    func convertToArbiter() async throws {
        try await withSimulator(members: 4, timings: .fast) { simulator in
            let h = simulator.hosts
            #expect(try await bootstrap(h).exitCode == 0)
            try await setClusterWideWriteConcern(simulator)
            let before = await simulator.reconfigsSent().count
            let result = try await bootstrap(Array(h.prefix(3)), ["--arbiter", h[3]])
            #expect(result.exitCode == 0, "\(result.stderr)")
            #expect(try await committedConfig(simulator).member(try HostAddress(parsing: h[3]))?.options.arbiterOnly == true)
            // mongod never changes arbiterOnly in place: a config without it, then one with it.
            let sent = await simulator.reconfigsSent().dropFirst(before)
            let hosts = sent.map { config in (config["members"]?.arrayValue ?? []).compactMap { $0.documentValue?["host"]?.stringValue } }
            #expect(hosts.contains { !$0.contains(h[3]) })
            #expect(hosts.last?.contains(h[3]) == true)
        }
    }

    @Test("the primary steps down in the middle of the plan: the run finds the new primary and finishes")
    func stepDownMidPlan() async throws {
        try await withSimulator(members: 5, timings: .fast) { simulator in
            let h = simulator.hosts
            #expect(try await bootstrap(Array(h.prefix(3))).exitCode == 0)
            let primary = try #require(await simulator.snapshot.primary?.index)
            try await simulator.inject(.stepDownOnCommand("replSetReconfig", after: .milliseconds(1), period: .seconds(2)), into: primary)
            let result = try await bootstrap(h, timeout: "60s")
            #expect(result.exitCode == 0, "\(result.stderr)")
            #expect(try await committedConfig(simulator).members.count == 5)
        }
    }

    @Test("steps that hit MaxTimeMSExpired (50), ConfigurationInProgress (109) and CurrentConfigNotCommittedYet (308) still converge",
          arguments: [Int32(50), 109, 308])
    func racingReconfig(code: Int32) async throws {
        try await withSimulator(members: 4, timings: .fast) { simulator in
            let h = simulator.hosts
            #expect(try await bootstrap(Array(h.prefix(3))).exitCode == 0)
            let primary = try #require(await simulator.snapshot.primary?.index)
            try await simulator.inject(.failCommand("replSetReconfig", code: code, count: 2), into: primary)
            let result = try await bootstrap(h)
            #expect(result.exitCode == 0, "\(result.stderr)")
            #expect(try await committedConfig(simulator).members.count == 4)
            #expect(result.stderr.contains(code == 50 ? "but a majority has not committed it yet" : "reading the config again"))
        }
    }

    @Test("--force-reconfig after losing a majority: the survivor gets a forced config naming the lost members")
    func forceReconfig() async throws {
        try await withSimulator(members: 3, timings: SimulatorTimings(heartbeatInterval: .milliseconds(50), initialSync: .milliseconds(50),
                                                                    recovering: .milliseconds(5), drain: .milliseconds(2))) { simulator in
            let h = simulator.hosts
            let path = try specFile("settings: {electionTimeoutMillis: 500}\nmembers: [\(h.map { "\"\($0)\"" }.joined(separator: ", "))]\n")
            defer { try? FileManager.default.removeItem(atPath: path) }
            #expect(try await ToolProcess.run(["--config", path, "--timeout", "30s"]).exitCode == 0)
            let primary = try #require(await simulator.snapshot.primary?.index)
            let lost = (0..<3).filter { $0 != primary }
            for member in lost { try await simulator.stop(member) }
            try await simulator.waitUntil(timeout: .seconds(5), "no primary") { $0.primary == nil }

            let withoutForce = try await ToolProcess.run(["--config", path, "--timeout", "2s"])
            #expect(withoutForce.exitCode == 69)
            #expect(withoutForce.stderr.contains("a majority of voters is unreachable"))
            #expect(withoutForce.stderr.contains("--force-reconfig would keep \(h[primary])"))
            #expect(await simulator.writeCommands.filter { $0.document["force"]?.isTruthy == true }.isEmpty)

            let forced = try await ToolProcess.run(["--config", path, "--timeout", "5s", "--force-reconfig"])
            // The lost members are still listed and unreachable: the run says so (69), after forcing.
            #expect(forced.exitCode == 69, "\(forced.stderr)")
            #expect(forced.stderr.contains("forcing config version"))
            #expect(forced.stderr.contains("dropping \(lost.map { h[$0] }.joined(separator: ", "))"))
            try await simulator.waitUntil(timeout: .seconds(5), "the survivor primary") { $0.primary?.index == primary }
            // Listing only the survivor now converges.
            #expect(try await bootstrap([h[primary]]).exitCode == 0)
        }
    }

    @Test("the primary's own entry is removed: it steps down first, then a new primary removes it")
    func removePrimary() async throws {
        try await withSimulator(members: 4, timings: .fast) { simulator in
            let h = simulator.hosts
            #expect(try await bootstrap(Array(h.prefix(3))).exitCode == 0)
            let primary = try #require(await simulator.snapshot.primary?.index)
            let others = (0..<4).filter { $0 != primary }.map { h[$0] }
            let plan = try await bootstrap(others, ["--remove-members", "--dry-run"])
            #expect(plan.stdout.contains("replSetStepDown on \(h[primary])"), "\(plan.stdout)")
            #expect(plan.stdout.contains("requested (options not given"))
            #expect(plan.stdout.contains("\n  \(others[0]): votes 1, priority 1\n"), "\(plan.stdout)")
            let result = try await bootstrap(others, ["--remove-members"], timeout: "60s")
            #expect(result.exitCode == 0, "\(result.stderr)")
            #expect(await simulator.writeCommandNames().contains("replSetStepDown"))
            let config = try await committedConfig(simulator)
            #expect(config.member(try HostAddress(parsing: h[primary])) == nil)
            #expect(Set(config.members.map(\.host.description)) == Set(others))
        }
    }

    @Test("--initiate-strategy incremental: members arriving over 10 seconds join one by one")
    func incremental() async throws {
        try await withSimulator(members: 3, timings: .fast, start: false) { simulator in
            try await simulator.start(0)
            let run = try await ToolProcess.start(["--nodes", simulator.hosts.joined(separator: ","), "--initiate-strategy", "incremental", "--timeout", "60s"])
            try await simulator.waitUntil(timeout: .seconds(10), "member 0 initiated alone") { $0[0].configVersion != nil }
            try await Task.sleep(for: .seconds(5))
            try await simulator.start(1)
            try await Task.sleep(for: .seconds(5))
            try await simulator.start(2)
            let result = await run.finished()
            #expect(result.exitCode == 0, "\(result.stderr)")
            let initiate = try #require(await simulator.writeCommands.first { $0.name == "replSetInitiate" })
            #expect(initiate.document["replSetInitiate"]?.documentValue?["members"]?.arrayValue?.count == 1)
            #expect(try await committedConfig(simulator).members.count == 3)
            #expect(await simulator.reconfigsSent().count >= 2)
        }
    }
}
