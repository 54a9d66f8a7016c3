import Foundation
import MongoSimulator
import TestSupport
import Testing

/// The result as a machine reads it (`--output json`) and as a person does, against simulated
/// members.
@Suite("Output scenarios", .serialized)
struct OutputScenarioTests {
    @Test("--dry-run --output json: observed nodes and requested members are fields, not prose")
    func dryRunStructured() async throws {
        try await withSimulator(members: 2) { simulator in
            let hosts = simulator.hosts
            let result = try await bootstrap(hosts, ["--dry-run", "--output", "json", "--hidden", hosts[1], "--tag", "\(hosts[0])=zone:a"])
            #expect(result.exitCode == 0, "\(result.stderr)")
            let json = result.json
            #expect(json["outcome"] as? String == "planned")
            #expect(json["exitCode"] as? Int == 0)
            let observed = json["observed"] as? [[String: Any]] ?? []
            #expect(observed.count == 2, "\(result.stdout)")
            for node in observed {
                #expect(hosts.contains(node["host"] as? String ?? ""))
                #expect(node["status"] as? String == "fresh", "\(node)")
                #expect(node["setName"] is NSNull && node["state"] is NSNull && node["configVersion"] is NSNull && node["error"] is NSNull)
            }
            let requested = json["requested"] as? [[String: Any]] ?? []
            let first = try #require(requested.first { $0["host"] as? String == hosts[0] })
            #expect(first["votes"] as? Int == 1)
            #expect(first["priority"] as? Double == 1)
            #expect(first["hidden"] as? Bool == false)
            #expect(first["arbiterOnly"] as? Bool == false)
            #expect(first["secondaryDelaySecs"] as? Int == 0)
            #expect(first["buildIndexes"] as? Bool == true)
            #expect(first["tags"] as? [String: String] == ["zone": "a"])
            let second = try #require(requested.first { $0["host"] as? String == hosts[1] })
            #expect(second["hidden"] as? Bool == true)
            #expect(second["priority"] as? Double == 0)
        }
    }

    @Test("--dry-run on a running set: each node's status, set name, state and config version")
    func dryRunObservedMembers() async throws {
        try await withSimulator(members: 2) { simulator in
            #expect(try await bootstrap(simulator.hosts).exitCode == 0)
            let result = try await bootstrap(simulator.hosts, ["--dry-run", "--output", "json"])
            #expect(result.exitCode == 0, "\(result.stderr)")
            let observed = result.json["observed"] as? [[String: Any]] ?? []
            #expect(observed.count == 2, "\(result.stdout)")
            let primary = try #require(observed.first { $0["state"] as? String == "PRIMARY" }, "\(result.stdout)")
            #expect(primary["status"] as? String == "member")
            #expect(primary["setName"] as? String == "rs0")
            #expect(primary["configVersion"] as? Int == 1)
            #expect(primary["error"] is NSNull)
            #expect((primary["description"] as? String)?.contains("PRIMARY of 'rs0'") == true)
            // The other is SECONDARY, or still STARTUP2/RECOVERING this soon after the initiate.
            let other = try #require(observed.first { $0["host"] as? String != primary["host"] as? String })
            #expect(other["status"] as? String == "member" && other["setName"] as? String == "rs0", "\(result.stdout)")
            #expect((other["state"] as? String).map { ["SECONDARY", "STARTUP2/RECOVERING"].contains($0) } == true, "\(result.stdout)")
        }
    }

    /// A fresh 3-member set whose initiator loses its first nine elections, bootstrapped with
    /// `arguments`; the result and the initiator.
    func nineLostElections(_ arguments: [String]) async throws -> (ToolProcess.Result, String) {
        try await withSimulator(members: 3) { simulator in
            let initiator = simulator.hosts.firstIndex(of: simulator.hosts.sorted()[0])!
            try await simulator.inject(.failElections(count: 9), into: initiator)
            return (try await bootstrap(simulator.hosts, arguments), simulator.hosts[initiator])
        }
    }

    @Test("an election lost nine times: the summary folds the ten step-ups into one entry, in text and JSON")
    func foldedSummary() async throws {
        let (text, initiator) = try await nineLostElections([])
        #expect(text.exitCode == 0, "\(text.stderr)")
        let done = text.stdout.split(separator: "\n").first { $0.hasPrefix("done: ") }.map(String.init) ?? ""
        #expect(done.contains("replSetStepUp on \(initiator) ×10 (9 refused: Election failed."), "\(text.stdout)")
        #expect(done.contains("; 1 ok)"), "\(text.stdout)")
        #expect(done.components(separatedBy: "replSetStepUp").count == 2, "one entry for the step-ups: \(done)")

        let (result, _) = try await nineLostElections(["--output", "json"])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let actions = result.json["actions"] as? [[String: Any]] ?? []
        #expect(actions.map { $0["command"] as? String } == ["replSetInitiate", "replSetStepUp"], "\(result.stdout)")
        let stepUp = actions.last ?? [:]
        #expect(stepUp["count"] as? Int == 10)
        #expect(stepUp["ok"] as? Bool == true)
        let results = stepUp["results"] as? [[String: Any]] ?? []
        #expect(results.map { $0["count"] as? Int } == [9, 1], "\(stepUp)")
        #expect((results.first?["error"] as? String)?.hasPrefix("Election failed.") == true, "\(stepUp)")
        #expect(results.last?["ok"] as? Bool == true)
    }
}
