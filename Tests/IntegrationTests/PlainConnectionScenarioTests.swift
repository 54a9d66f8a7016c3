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
            // One reconfig, or more when the machine is slow (a commitment wait that ran out is
            // followed by another write): reconfigs only, each through the tool's own connection.
            let writes = await simulator.writeCommandNames()
            #expect(writes.starts(with: ["replSetInitiate", "replSetStepUp", "replSetReconfig"])
                    && writes.dropFirst(2).allSatisfy { $0 == "replSetReconfig" }, "\(writes): \(second.stderr)")
            let configVersion = try #require(second.json["configVersion"] as? Int)
            #expect((second.json["members"] as? [[String: Any]])?.count == 4)
            // The writable primary holds the config the run reports, or a later one: from 5.0,
            // mongod itself reconfigures once the new member (added `newlyAdded`) has caught up,
            // which may happen after the run ended.
            let primaryVersion = try #require(await simulator.snapshot.primary?.configVersion)
            #expect(primaryVersion >= Int64(configVersion), "primary at \(primaryVersion), the run reported \(configVersion)")
            // Nobody authenticated: no SASL conversation reached any member.
            #expect(await simulator.commands.allSatisfy { !$0.name.lowercased().hasPrefix("sasl") })
        }
    }
}

extension PlainConnectionScenarioTests {
    /// Only a hello stands for libmongoc's handshake: a node that is slow to answer a read, on
    /// a connection the read opened, gets the command timeout, as behind libmongoc's handshake.
    @Test("a node slower than connectTimeout: its hello on a new connection times out, its replSetGetConfig is answered")
    func slowNode() async throws {
        try await withOpenMembers(1, .v7_0) { simulator in
            try await simulator.inject(.slowReplies(.milliseconds(600)), into: 0)
            let host = try HostAddress(parsing: simulator.hosts[0])
            let options = ConnectionOptions(connectTimeout: .milliseconds(200), commandTimeout: .seconds(30))
            let hello = await #expect(throws: MongoError.self) {
                try await MongocNodes(hosts: [host], options: options, maxAwaitTime: .seconds(1)).run(.hello, on: host)
            }
            #expect(hello?.message == "socket timeout")
            // A fresh node answers NotYetInitialized: an answer, not a timeout.
            let read = await #expect(throws: MongoError.self) {
                try await MongocNodes(hosts: [host], options: options, maxAwaitTime: .seconds(1)).run(.getConfig, on: host)
            }
            #expect(read?.hasCode(.notYetInitialized) == true, "\(String(describing: read))")
        }
    }
}
