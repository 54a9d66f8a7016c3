import Foundation
import MongoBSON
import MongoSimulator
@testable import ReplicaSetBootstrap
import TestSupport
import Testing

/// A member is a node, not a string: sets that record their members under other names than the
/// ones given in --nodes (cluster FQDNs for short names, the way Kubernetes users most often
/// meet it; `localhost:port` for an address). The simulated members answer to their recorded
/// names as aliases that the tool cannot reach, as a pod name outside the cluster's DNS.
@Suite("Identity scenarios", .serialized)
struct IdentityScenarioTests {
    /// Recorded names in a cluster's DNS, and on localhost (mongod wants all members on
    /// localhost or none, so a set the simulator's 127.x members join is recorded that way).
    enum Names { case clusterDNS, localhost }

    static func recorded(_ index: Int, _ names: Names = .clusterDNS) -> String {
        switch names {
        case .clusterDNS: return "DB-\(index).mongo.ns.svc.cluster.local:27017"
        case .localhost: return "localhost:\(28_100 + index)"
        }
    }

    /// `members` simulated members; the first `initiated` of them form a set initiated by hand
    /// under their recorded names, as an operator (or another tool) did it.
    func withRecordedSet(members: Int, initiated: Int, names: Names = .clusterDNS, _ body: (ReplicaSetSimulator) async throws -> Void) async throws {
        let specs = (0..<members).map { MongoSimulator.MemberSpec(aliases: [Self.recorded($0, names)]) }
        try await withSimulator(specs: specs, timings: .fast) { simulator in
            let config: BSONDocument = ["_id": "rs0", "members": .array((0..<initiated).map { .document(["_id": .int32(Int32($0)), "host": .string(Self.recorded($0, names))]) })]
            _ = try await command(simulator.hosts[0], ["replSetInitiate": .document(config)])
            try await simulator.waitUntil(timeout: .seconds(30), "a primary and secondaries") { set in
                set.primary != nil && set.members.prefix(initiated).allSatisfy { $0.state == .primary || $0.state == .secondary }
            }
            try await body(simulator)
        }
    }

    @Test("a set that matches except for names: exit 0, nothing written, each given name reported with the recorded one")
    func matchesButForNames() async throws {
        try await withRecordedSet(members: 3, initiated: 3) { simulator in
            let writesBefore = await simulator.writeCommands.count
            let result = try await bootstrap(simulator.hosts, ["--output", "json"], timeout: "20s")
            #expect(result.exitCode == 0, "\(result.stderr)")
            #expect(await simulator.writeCommands.count == writesBefore)
            let recordedAs = result.json["recordedAs"] as? [String: String] ?? [:]
            for (index, host) in simulator.hosts.enumerated() {
                #expect(recordedAs[host] == Self.recorded(index), "\(recordedAs)")
                #expect(result.stderr.contains("\(host) is the member the set records as \(Self.recorded(index))"))
            }
            #expect(!result.stderr.contains("is to be added"))
            // One line per change: the primary is reported once, not again and again.
            #expect(result.stderr.components(separatedBy: "is PRIMARY and writable").count == 2, "\(result.stderr)")
        }
    }

    @Test("a new member joins a set recorded under other names: one reconfig, the recorded names kept as written")
    func growKeepsRecordedNames() async throws {
        try await withRecordedSet(members: 4, initiated: 3, names: .localhost) { simulator in
            let result = try await bootstrap(simulator.hosts, timeout: "20s")
            #expect(result.exitCode == 0, "\(result.stderr)")
            #expect(await simulator.writeCommandNames().filter { $0 == "replSetReconfig" }.count == 1)
            let hosts = await simulator.reconfigsSent().last?["members"]?.arrayValue?.compactMap { $0.documentValue?["host"]?.stringValue }
            #expect(hosts == (0..<3).map { Self.recorded($0, .localhost) } + [simulator.hosts[3]])
        }
    }

    @Test("--rename-members: each member recorded under another name gets its given name, one per reconfig, _ids kept")
    func renameMembers() async throws {
        try await withRecordedSet(members: 3, initiated: 3, names: .localhost) { simulator in
            let result = try await bootstrap(simulator.hosts, ["--rename-members"], timeout: "20s")
            #expect(result.exitCode == 0, "\(result.stderr)")
            let reconfigs = await simulator.reconfigsSent()
            #expect(reconfigs.count == 3)
            var previous = (0..<3).map { Self.recorded($0, .localhost) }
            for sent in reconfigs {
                let hosts = sent["members"]?.arrayValue?.compactMap { $0.documentValue?["host"]?.stringValue } ?? []
                let ids = sent["members"]?.arrayValue?.compactMap { $0.documentValue?["_id"]?.intValue } ?? []
                #expect(ids == [0, 1, 2])
                #expect(zip(previous, hosts).filter { $0 != $1 }.count == 1, "one member renamed per reconfig: \(previous) → \(hosts)")
                previous = hosts
            }
            #expect(try await committedConfig(simulator).members.map(\.host.description) == simulator.hosts)
            // Run again: nothing to rename, nothing written.
            let again = try await bootstrap(simulator.hosts, ["--rename-members"], timeout: "20s")
            #expect(again.exitCode == 0, "\(again.stderr)")
            #expect(await simulator.reconfigsSent().count == 3)
        }
    }
}
