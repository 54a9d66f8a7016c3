import Foundation
import MongoBSON
import MongoSimulator
import ReplicaSetBootstrap
import TestSupport
import Testing

/// The real `mongo-rs-bootstrap` binary against simulated mongod members, with mongod's own
/// timings unless a scenario says otherwise. Each asserts the exit code, the output and the
/// commands the members received.
@Suite("Bootstrap scenarios", .serialized)
struct BootstrapScenarioTests {
    @Test("a fresh set of 1, 3, 5 or 7 members: one initiate, a primary, exit 0", arguments: [1, 3, 5, 7])
    func freshSet(size: Int) async throws {
        try await withSimulator(members: size) { simulator in
            let result = try await bootstrap(simulator.hosts, ["--output", "json"])
            #expect(result.exitCode == 0, "\(result.stderr)")
            let writes = await simulator.writeCommandNames()
            // A single voter elects itself at once; larger sets are stepped up.
            #expect(writes == (size == 1 ? ["replSetInitiate"] : ["replSetInitiate", "replSetStepUp"]))
            let set = await simulator.snapshot
            #expect(set.primary?.host == simulator.hosts.sorted().first)
            let json = result.json
            #expect(json["outcome"] as? String == "converged")
            #expect(json["primary"] as? String == simulator.hosts.sorted().first)
            #expect((json["members"] as? [[String: Any]])?.count == size)
            // The step-up did it, not mongod's own election timeout: the primary won its
            // election after it received replSetStepUp.
            if size > 1 {
                let stepUp = try #require(await simulator.writeCommands.first { $0.name == "replSetStepUp" })
                let won = await simulator.events.first { event in
                    if case .electionWon = event.kind { event.member == stepUp.member } else { false }
                }
                #expect(stepUp.host == set.primary?.host)
                #expect(won.map { $0.time > stepUp.time } == true, "won at \(String(describing: won?.time)), step-up at \(stepUp.time)")
            }
        }
    }

    @Test("nothing is left behind: libmongoc's counter file in /dev/shm is gone after exit 0, 69 and 143")
    func noFileLeftBehind() async throws {
        try await withSimulator(members: 1) { simulator in
            let closed = "127.0.0.1:\(try SilentListener.closedPort())"
            // 0; 69 with a connection blocked in an awaitable hello; 143 by SIGTERM mid-run.
            for (nodes, timeout, signal) in [([simulator.hosts[0]], "30s", Int32?.none), ([simulator.hosts[0], closed], "2s", nil),
                                             ([simulator.hosts[0], closed], "30s", SIGTERM)] {
                let started = Date()
                let run = try await ToolProcess.start(["--nodes", nodes.joined(separator: ","), "--timeout", timeout])
                let counters = "/dev/shm/mongoc-\(run.processIdentifier)"
                if let signal {
                    #expect(try await run.waitUntilCatching(signal))
                    try await Task.sleep(for: .milliseconds(300))
                    run.signal(signal)
                }
                let result = await run.finished()
                #expect(result.exitCode == (signal.map { 128 + $0 } ?? (nodes.count == 1 ? 0 : 69)), "\(result.stderr)")
                // A file of an earlier process that had this PID (libmongoc then uses memory
                // instead, and says so) is not this run's.
                let modified = (try? FileManager.default.attributesOfItem(atPath: counters))?[.modificationDate] as? Date
                #expect(modified.map { $0 < started.addingTimeInterval(-1) } ?? true, "\(counters) left behind after exit \(result.exitCode)")
            }
        }
    }

    @Test("re-run on a healthy set: exit 0 and not a single write")
    func rerunOnHealthySet() async throws {
        try await withSimulator(members: 3) { simulator in
            let first = try await bootstrap(simulator.hosts)
            #expect(first.exitCode == 0, "\(first.stderr)")
            let writesBefore = await simulator.writeCommands.count
            let second = try await bootstrap(simulator.hosts.reversed())
            #expect(second.exitCode == 0, "\(second.stderr)")
            #expect(second.stdout.contains("nothing to change: the set already matched"))
            #expect(await simulator.writeCommands.count == writesBefore)
        }
    }

    @Test("members that start listening seconds late, one by one: initiate only after the last")
    func lateMembers() async throws {
        try await withSimulator(members: 3, start: false) { simulator in
            try await simulator.start(0)
            let run = try await ToolProcess.start(["--nodes", simulator.hosts.joined(separator: ","), "--timeout", "30s"])
            try await Task.sleep(for: .seconds(1))
            try await simulator.start(1)
            try await Task.sleep(for: .seconds(1))
            #expect(await simulator.writeCommands.isEmpty, "initiated before every member was up")
            try await simulator.start(2)
            let result = await run.finished()
            #expect(result.exitCode == 0, "\(result.stderr)")
            #expect(result.stderr.contains("\(simulator.hosts[2]) unreachable: connection refused"))
            #expect(await simulator.writeCommandNames() == ["replSetInitiate", "replSetStepUp"])
        }
    }

    @Test("a name that never resolves: exit 69 naming it, nothing written")
    func unresolvableName() async throws {
        try await withSimulator(members: 2) { simulator in
            // mongod counts every host starting with "127." as localhost, so this name may join them.
            let missing = "127.0.0.1.bootstrap-test.invalid"
            let result = try await bootstrap(simulator.hosts + [missing], timeout: "2s")
            #expect(result.exitCode == 69, "\(result.stderr)")
            #expect(result.stderr.contains("\(missing):27017 unreachable: name does not resolve"))
            #expect(await simulator.writeCommands.isEmpty)
        }
        let alone = try await bootstrap(["db-9.bootstrap-test.invalid"], timeout: "1s")
        #expect(alone.exitCode == 69)
        #expect(alone.stderr.contains("db-9.bootstrap-test.invalid:27017 unreachable: name does not resolve"))
    }

    @Test("two runs started at the same moment: both exit 0, one set, one initiate accepted")
    func concurrentRuns() async throws {
        try await withSimulator(members: 3) { simulator in
            let arguments = ["--nodes", simulator.hosts.joined(separator: ","), "--timeout", "30s"]
            let one = try await ToolProcess.start(arguments)
            let two = try await ToolProcess.start(["--nodes", simulator.hosts.reversed().joined(separator: ","), "--timeout", "30s"])
            let (first, second) = await (one.finished(), two.finished())
            #expect(first.exitCode == 0, "\(first.stderr)")
            #expect(second.exitCode == 0, "\(second.stderr)")
            let initiates = await simulator.writeCommands.filter { $0.name == "replSetInitiate" }
            // Both chose the same initiator; mongod accepted one and answered the other 23.
            #expect(Set(initiates.map(\.host)) == [simulator.hosts.sorted()[0]])
            // One config was initiated (term 0); all members hold that set's replicaSetId.
            let initiated = await simulator.events.filter { $0.kind == .configInstalled(version: 1, term: 0) && $0.host == simulator.hosts.sorted()[0] }
            #expect(initiated.count == 1)
            #expect(try await replicaSetIds(simulator.hosts).count == 1)
            #expect(await simulator.isHealthy(members: 3))
        }
    }

    @Test("a member of another set: exit 65 naming it and the set, nothing written")
    func foreignSet() async throws {
        try await withSimulator(specs: [.init(), .init(), .init(role: .otherSet("other"))]) { simulator in
            let result = try await bootstrap(simulator.hosts, ["--output", "json"])
            #expect(result.exitCode == 65)
            #expect(result.stderr.contains("\(simulator.hosts[2]) belongs to replica set 'other', not 'rs0'"))
            #expect(result.json["outcome"] as? String == "refused")
            #expect(await simulator.writeCommands.isEmpty)
        }
    }

    @Test("a standalone mongod: exit 65, nothing written")
    func standalone() async throws {
        try await withSimulator(specs: [.init(), .init(role: .standalone)]) { simulator in
            let result = try await bootstrap(simulator.hosts)
            #expect(result.exitCode == 65, "\(result.stderr)")
            #expect(result.stderr.contains("\(simulator.hosts[1]) is not running with --replSet"))
            #expect(await simulator.writeCommands.isEmpty)
        }
    }

    @Test("a member removed from the set: exit 65 saying so, nothing written")
    func removedMember() async throws {
        try await withSimulator(members: 3, timings: .fast) { simulator in
            #expect(try await bootstrap(simulator.hosts).exitCode == 0)
            // Remove the third member with a reconfig, as an operator would.
            let primary = try #require(await simulator.snapshot.primary?.host)
            let nodes = MongocNodes(hosts: [try HostAddress(parsing: primary)], options: ScenarioCredentials.connectionOptions, maxAwaitTime: .seconds(1))
            guard case .config(let config) = try await nodes.run(.getConfig, on: try HostAddress(parsing: primary)) else {
                Issue.record("no config")
                return
            }
            var smaller = config
            smaller.members.removeLast()
            smaller.version += 1
            _ = try await nodes.run(.reconfig(smaller, force: false, maxTime: .seconds(10)), on: try HostAddress(parsing: primary))
            try await simulator.waitUntil(timeout: .seconds(5), "member 2 REMOVED") { $0[2].state == .removed }
            let writesBefore = await simulator.writeCommands.count

            let result = try await bootstrap(simulator.hosts)
            #expect(result.exitCode == 65, "\(result.stderr)")
            #expect(result.stderr.contains("\(simulator.hosts[2]) was removed from its replica set"))
            #expect(await simulator.writeCommands.count == writesBefore)
        }
    }

    @Test("an existing set and a listed node outside it: the node is added by one reconfig")
    func memberAdded() async throws {
        try await withSimulator(members: 3) { simulator in
            #expect(try await bootstrap(Array(simulator.hosts.prefix(2))).exitCode == 0)
            let result = try await bootstrap(simulator.hosts)
            #expect(result.exitCode == 0, "\(result.stderr)")
            #expect(result.stderr.contains("add \(simulator.hosts[2])"))
            #expect(await simulator.writeCommandNames().filter { $0 == "replSetReconfig" }.count == 1)
        }
    }

    @Test("the first elections fail: step-up is retried until one is won")
    func failedFirstElection() async throws {
        try await withSimulator(members: 3) { simulator in
            let initiator = simulator.hosts.firstIndex(of: simulator.hosts.sorted()[0])!
            try await simulator.inject(.failElections(count: 2), into: initiator)
            let result = try await bootstrap(simulator.hosts)
            #expect(result.exitCode == 0, "\(result.stderr)")
            #expect(result.stderr.contains("replSetStepUp on \(simulator.hosts[initiator]): Election failed."))
            #expect(await simulator.writeCommandNames() == ["replSetInitiate", "replSetStepUp", "replSetStepUp", "replSetStepUp"])
        }
    }

    @Test("an election lost nine times in a row: four lines on stderr, with counts, not nine")
    func repeatedFailuresThinned() async throws {
        try await withSimulator(members: 3) { simulator in
            let initiator = simulator.hosts.firstIndex(of: simulator.hosts.sorted()[0])!
            try await simulator.inject(.failElections(count: 9), into: initiator)
            let result = try await bootstrap(simulator.hosts)
            #expect(result.exitCode == 0, "\(result.stderr)")
            #expect(await simulator.writeCommandNames().filter { $0 == "replSetStepUp" }.count == 10)
            let failures = result.stderr.split(separator: "\n").filter { $0.contains("replSetStepUp on \(simulator.hosts[initiator]): Election failed.") }
            #expect(failures.count == 4, "\(result.stderr)")
            #expect(failures.last?.contains("(8 times so far; shown again at 16)") == true, "\(result.stderr)")
        }
    }

    @Test("the initiator restarts right after the initiate: the run still ends with a primary")
    func initiatorRestarts() async throws {
        try await withSimulator(members: 3) { simulator in
            let initiator = simulator.hosts.firstIndex(of: simulator.hosts.sorted()[0])!
            let run = try await ToolProcess.start(["--nodes", simulator.hosts.joined(separator: ","), "--timeout", "60s"])
            try await simulator.waitUntil(timeout: .seconds(10), "the initiate") { $0[initiator].configVersion == 1 }
            try await simulator.restart(initiator, keepingData: true)
            let result = await run.finished()
            #expect(result.exitCode == 0, "\(result.stderr)")
            #expect(await simulator.writeCommands.filter { $0.name == "replSetInitiate" }.count == 1)
            #expect(await simulator.isHealthy(members: 3))
        }
    }

    @Test("the primary steps down during verification: the run waits for the next primary")
    func stepDownDuringVerification() async throws {
        try await withSimulator(members: 3, timings: .fast) { simulator in
            let initiator = simulator.hosts.firstIndex(of: simulator.hosts.sorted()[0])!
            // The first replSetGetConfig after the election is the verification read.
            try await simulator.inject(.stepDownOnCommand("replSetGetConfig", after: .zero, period: .seconds(60)), into: initiator)
            let result = try await bootstrap(simulator.hosts, ["--output", "json"])
            #expect(result.exitCode == 0, "\(result.stderr)")
            let primary = try #require(result.json["primary"] as? String)
            #expect(await simulator.snapshot.primary?.host == primary)
        }
    }

    @Test("SIGTERM mid-run: exit 143 at once, nothing written")
    func sigterm() async throws {
        try await withSimulator(members: 3, start: false) { simulator in
            try await simulator.start(0)
            let run = try await ToolProcess.start(["--nodes", simulator.hosts.joined(separator: ","), "--timeout", "60s"])
            let finished = Task { await run.finished() }
            #expect(try await run.waitUntilCatching(SIGTERM))
            try await Task.sleep(for: .milliseconds(300))
            let sent = ContinuousClock.now
            run.signal(SIGTERM)
            let result = await finished.value
            #expect(result.exitCode == 143)
            // Milliseconds alone; --timeout (60 s) is what ignoring it would take.
            #expect(result.exitedAt - sent < .seconds(10), "took \(result.exitedAt - sent)")
            #expect(result.stderr.contains("interrupted by SIGTERM"))
            #expect(await simulator.writeCommands.isEmpty)
        }
    }

    @Test("deadline reached: exit 69 naming the member that never came")
    func deadline() async throws {
        try await withSimulator(members: 3, start: false) { simulator in
            try await simulator.start(0)
            try await simulator.start(1)
            let result = try await bootstrap(simulator.hosts, ["--output", "json"], timeout: "1500ms")
            #expect(result.exitCode == 69)
            #expect(result.stderr.contains("gave up at the --timeout of 1.5s: \(simulator.hosts[2]) unreachable: connection refused"))
            #expect((result.json["missing"] as? [String])?.contains("\(simulator.hosts[2]) unreachable: connection refused") == true)
            #expect(await simulator.writeCommands.isEmpty)
        }
    }

    @Test("--dry-run on a fresh set prints the initiate it would send and writes nothing")
    func dryRunFresh() async throws {
        try await withSimulator(members: 3) { simulator in
            let result = try await bootstrap(simulator.hosts, ["--dry-run"])
            #expect(result.exitCode == 0)
            #expect(result.stdout.contains("dry run for 'rs0': nothing was written"))
            #expect(result.stdout.contains("1. replSetInitiate on \(simulator.hosts.sorted()[0])"))
            #expect(await simulator.writeCommands.isEmpty)
            #expect(await simulator.snapshot.members.allSatisfy { $0.configVersion == nil })
        }
    }

    @Test("--wait-for all exits only once every member is PRIMARY or SECONDARY")
    func waitForAll() async throws {
        try await withSimulator(members: 3) { simulator in
            let result = try await bootstrap(simulator.hosts, ["--wait-for", "all"])
            #expect(result.exitCode == 0, "\(result.stderr)")
            let set = await simulator.snapshot
            #expect(set.members.allSatisfy { $0.state == .primary || $0.state == .secondary })
        }
    }

    @Test("nine members: the last two join with votes 0 and priority 0, and the output says so")
    func nineMembers() async throws {
        try await withSimulator(members: 9) { simulator in
            let result = try await bootstrap(simulator.hosts)
            #expect(result.exitCode == 0, "\(result.stderr)")
            #expect(result.stdout.contains("note: mongod allows at most 7 voting members: \(simulator.hosts[7]), \(simulator.hosts[8]) join with votes 0 and priority 0"))
            let initiate = try #require(await simulator.writeCommands.first { $0.name == "replSetInitiate" })
            let members = initiate.document["replSetInitiate"]?.documentValue?["members"]?.arrayValue ?? []
            #expect(members.suffix(2).allSatisfy { $0.documentValue?["votes"] == 0 && $0.documentValue?["priority"] == 0 })
        }
    }

    @Test("a member answering slowly still converges")
    func slowMember() async throws {
        try await withSimulator(members: 3) { simulator in
            try await simulator.inject(.slowReplies(.milliseconds(300)), into: 2)
            let result = try await bootstrap(simulator.hosts)
            #expect(result.exitCode == 0, "\(result.stderr)")
        }
    }

    @Test("a member that accepts and closes connections is waited for until it heals")
    func flakyMember() async throws {
        try await withSimulator(members: 3) { simulator in
            try await simulator.inject(.closeConnectionsOnAccept, into: 1)
            let run = try await ToolProcess.start(["--nodes", simulator.hosts.joined(separator: ","), "--timeout", "30s"])
            try await Task.sleep(for: .seconds(1))
            #expect(await simulator.writeCommands.isEmpty)
            try await simulator.clearFaults(of: 1)
            let result = await run.finished()
            #expect(result.exitCode == 0, "\(result.stderr)")
        }
    }

    @Test("--log-format json: every progress line is one JSON object")
    func jsonLog() async throws {
        try await withSimulator(members: 3) { simulator in
            let result = try await bootstrap(simulator.hosts, ["--log-format", "json"])
            #expect(result.exitCode == 0)
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count >= 5)
            for line in lines {
                let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
                #expect(object?["event"] is String, "not a JSON log line: \(line)")
                #expect(object?["time"] is String)
            }
            #expect(lines.contains { $0.contains("\"event\" : \"initiated\"") })
        }
    }
}
