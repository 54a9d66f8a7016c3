import Foundation
import MongoBSON
import MongoSimulator
@testable import ReplicaSetBootstrap
import TestSupport
import Testing

/// The real `mongo-rs-bootstrap` binary against simulated members of each release the simulator
/// speaks: 4.4 (as 4.4.0: isMaster only, `slaveDelay`, no implicit majority write concern), 5.0,
/// 6.0, 7.0 and 8.0. The tool must read and write each server's own dialect (DESIGN.md,
/// "Dialects"), keeping the field names the set already uses.
@Suite("Bootstrap scenarios in every dialect", .serialized)
struct DialectScenarioTests {
    /// A set of `count` members of `version`, with `--auth` and the scenario user, as the other
    /// scenarios run; shut down afterwards.
    func withMembers<T>(_ count: Int, _ version: ServerVersion, start: Bool = true,
                        _ body: (ReplicaSetSimulator) async throws -> T) async throws -> T {
        let options = SimulatorOptions(timings: .fast, serverVersion: version,
                                       security: SimulatorSecurity(users: [ScenarioCredentials.user]))
        return try await ToolProcess.$context.withValue(ScenarioCredentials.context) {
            try await ReplicaSetSimulator.run(Array(repeating: MongoSimulator.MemberSpec(), count: count), options: options,
                                              start: start, body)
        }
    }

    /// The members of the config the primary holds, as the server writes them.
    func serverConfigMembers(_ simulator: ReplicaSetSimulator) async throws -> [BSONDocument] {
        let primary = try #require(await simulator.snapshot.primary?.host)
        let config = try await command(primary, ["replSetGetConfig": 1])["config"]?.documentValue
        return (config?["members"]?.arrayValue ?? []).compactMap(\.documentValue)
    }

    func delayField(_ version: ServerVersion) -> String { version == .v4_4 ? "slaveDelay" : "secondaryDelaySecs" }

    @Test("a fresh 3-member set: one initiate, a step-up, exit 0", arguments: ServerVersion.allCases)
    func freshSet(version: ServerVersion) async throws {
        try await withMembers(3, version) { simulator in
            let result = try await bootstrap(simulator.hosts, ["--output", "json"])
            #expect(result.exitCode == 0, "\(version.rawValue): \(result.stderr)")
            #expect(await simulator.writeCommandNames() == ["replSetInitiate", "replSetStepUp"])
            #expect(await simulator.snapshot.primary?.host == simulator.hosts.sorted().first)
            #expect(result.json["outcome"] as? String == "converged")
        }
    }

    @Test("a re-run on the healthy set it made: exit 0 and no write", arguments: ServerVersion.allCases)
    func rerun(version: ServerVersion) async throws {
        try await withMembers(3, version) { simulator in
            let first = try await bootstrap(simulator.hosts)
            #expect(first.exitCode == 0, "\(version.rawValue): \(first.stderr)")
            let writes = await simulator.writeCommands.count
            let second = try await bootstrap(simulator.hosts.reversed())
            #expect(second.exitCode == 0, "\(version.rawValue): \(second.stderr)")
            #expect(second.stdout.contains("nothing to change: the set already matched"), "\(second.stdout)")
            #expect(await simulator.writeCommands.count == writes)
        }
    }

    @Test("grow with a delayed member from a spec file: it joins hidden, priority 0, delayed, in the server's own field",
          arguments: ServerVersion.allCases)
    func growWithDelayedMember(version: ServerVersion) async throws {
        try await withMembers(3, version) { simulator in
            let h = simulator.hosts
            #expect(try await bootstrap(Array(h.prefix(2))).exitCode == 0)
            let spec = try specFile("""
                name: rs0
                members:
                  - host: \(h[0])
                  - host: \(h[1])
                  - {host: \(h[2]), hidden: true, priority: 0, secondaryDelaySecs: 3600}
                """)
            let result = try await ToolProcess.run(["--config", spec, "--timeout", "30s"])
            #expect(result.exitCode == 0, "\(version.rawValue): \(result.stderr)")
            let delayed = try await serverConfigMembers(simulator).first { $0["host"] == .string(h[2]) }
            #expect(delayed?[delayField(version)]?.intValue == 3600, "\(version.rawValue): \(String(describing: delayed))")
            #expect(delayed?["hidden"] == true)
            #expect(delayed?["priority"]?.doubleValue == 0)
        }
    }

    @Test("grow a set that already has a delayed member: a plain member is added, the delay is kept in the set's own field",
          arguments: ServerVersion.allCases)
    func growKeepingDelayedMember(version: ServerVersion) async throws {
        try await withMembers(3, version) { simulator in
            let h = simulator.hosts
            let members: [BSON] = [["_id": 0, "host": .string(h[0])],
                                   ["_id": 1, "host": .string(h[1]), "priority": 0, "hidden": true, .init(delayField(version)): 600]]
            _ = try await command(h[0], ["replSetInitiate": ["_id": "rs0", "version": 1, "members": .array(members)]])
            try await simulator.waitUntil(timeout: .seconds(10), "member 0 primary") { $0.primary?.index == 0 }
            let result = try await bootstrap(h)
            #expect(result.exitCode == 0, "\(version.rawValue): \(result.stderr)")
            let config = try await serverConfigMembers(simulator)
            #expect(config.count == 3, "\(version.rawValue): \(config)")
            let delayed = config.first { $0["host"] == .string(h[1]) }
            #expect(delayed?[delayField(version)]?.intValue == 600, "\(version.rawValue): \(String(describing: delayed))")
        }
    }

    @Test("a fresh set with an arbiter (PSA): exit 0, the arbiter is ARBITER", arguments: ServerVersion.allCases)
    func freshSetWithArbiter(version: ServerVersion) async throws {
        try await withMembers(3, version) { simulator in
            let h = simulator.hosts
            let result = try await bootstrap(Array(h.prefix(2)), ["--arbiter", h[2]])
            #expect(result.exitCode == 0, "\(version.rawValue): \(result.stderr)")
            try await simulator.waitUntil(timeout: .seconds(5), "the arbiter") { $0[2].state == .arbiter }
        }
    }

    /// 5.0+ refuses a reconfig that changes the implicit default write concern until a cluster-wide
    /// one is set; 4.4 has no implicit majority default and takes the arbiter at once.
    @Test("an arbiter added to a running set: 4.4 takes it; 5.0+ needs a cluster-wide write concern first (exit 65 naming it)",
          arguments: ServerVersion.allCases)
    func arbiterAddedToRunningSet(version: ServerVersion) async throws {
        try await withMembers(3, version) { simulator in
            let h = simulator.hosts
            #expect(try await bootstrap(Array(h.prefix(2))).exitCode == 0)
            if version != .v4_4 {
                let refused = try await bootstrap(Array(h.prefix(2)), ["--arbiter", h[2]])
                #expect(refused.exitCode == 65, "\(version.rawValue): \(refused.stderr)")
                #expect(refused.stderr.contains("setDefaultRWConcern"), "\(refused.stderr)")
                try await setClusterWideWriteConcern(simulator)
            }
            let result = try await bootstrap(Array(h.prefix(2)), ["--arbiter", h[2]])
            #expect(result.exitCode == 0, "\(version.rawValue): \(result.stderr)")
            try await simulator.waitUntil(timeout: .seconds(5), "the arbiter") { $0[2].state == .arbiter }
        }
    }

    @Test("50 members: one initiate, 7 voters, exit 0", arguments: ServerVersion.allCases)
    func fiftyMembers(version: ServerVersion) async throws {
        try await withMembers(50, version) { simulator in
            let result = try await bootstrap(simulator.hosts, timeout: "60s")
            #expect(result.exitCode == 0, "\(version.rawValue): \(result.stderr.suffix(2000))")
            let members = try await serverConfigMembers(simulator)
            #expect(members.count == 50)
            #expect(members.filter { ($0["votes"]?.intValue ?? 0) > 0 }.count == 7)
            #expect(await simulator.writeCommandNames().filter { $0 == "replSetInitiate" }.count == 1)
        }
    }
}
