import Foundation
import MongoBSON
import MongoSimulator
import ReplicaSetBootstrap
import TestSupport
import Testing

/// The other scenarios run with `--auth` and credentials, so their command connections are
/// libmongoc's. Here the members run without it and the tool gets no credentials: every
/// connection is the tool's own (`PlainConnections`), writes and the reads that wait for a
/// config's commitment included, in every server dialect.
@Suite("Without credentials: the tool's own connections", .serialized)
struct PlainConnectionScenarioTests {
    func withOpenMembers<T>(_ count: Int, _ version: ServerVersion,
                            _ body: (ReplicaSetSimulator) async throws -> T) async throws -> T {
        let options = SimulatorOptions(timings: .fast, serverVersion: version)
        return try await ToolProcess.$context.withValue(ToolProcess.Context()) {
            try await ReplicaSetSimulator.run(Array(repeating: MongoSimulator.MemberSpec(), count: count), options: options, body)
        }
    }

    @Test("a fresh set, then a member added by a re-run: initiate, step-up, one reconfig, exit 0 each time",
          arguments: ServerVersion.allCases)
    func freshThenAdd(version: ServerVersion) async throws {
        try await withOpenMembers(4, version) { simulator in
            let first = try await bootstrap(Array(simulator.hosts.prefix(3)), ["--output", "json"])
            #expect(first.exitCode == 0, "\(version.rawValue): \(first.stderr)")
            #expect(await simulator.writeCommandNames() == ["replSetInitiate", "replSetStepUp"])
            #expect(first.json["outcome"] as? String == "converged")

            let second = try await bootstrap(simulator.hosts, ["--output", "json"])
            #expect(second.exitCode == 0, "\(version.rawValue): \(second.stderr)")
            #expect(await simulator.writeCommandNames() == ["replSetInitiate", "replSetStepUp", "replSetReconfig"])
            #expect(second.json["configVersion"] as? Int == 2)
            #expect((second.json["members"] as? [[String: Any]])?.count == 4)
            #expect(await simulator.isHealthy(members: 4, version: 2))
            // Nobody authenticated: no SASL conversation reached any member.
            #expect(await simulator.commands.allSatisfy { !$0.name.lowercased().hasPrefix("sasl") })
        }
    }
}
