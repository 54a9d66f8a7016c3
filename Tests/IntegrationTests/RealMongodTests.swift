import Foundation
import MongoBSON
@testable import ReplicaSetBootstrap
import TestSupport
import Testing

/// The scenarios that need no injected fault, against real mongod processes: `scripts/test-real`
/// (or `MONGOD=/path/to/mongod swift test --filter RealMongodTests`). Real mongod keeps no
/// command log, so "nothing written" is checked by the config version and term not moving.
@Suite("Real mongod", .serialized,
       .enabled(if: MongodCluster.binary != nil, "set MONGOD=/path/to/mongod (MongoDB 4.4+) or run scripts/test-real to run these against real mongod"))
struct RealMongodTests {
    /// The config and term a member reports now.
    func state(_ host: String) async throws -> (config: ReplicaSetConfig?, hello: HelloResponse) {
        let address = try HostAddress(parsing: host)
        let nodes = MongocNodes(hosts: [address], options: ConnectionOptions(), maxAwaitTime: .seconds(1))
        guard case .hello(let hello) = try await nodes.run(.hello, on: address) else { throw CancellationError() }
        guard hello.hasConfig, case .config(let config) = try await nodes.run(.getConfig, on: address) else { return (nil, hello) }
        return (config, hello)
    }

    @Test("a fresh set of 1 or 3 members: exit 0 with a writable primary, within seconds", arguments: [1, 3])
    func freshSet(size: Int) async throws {
        try await withMongod(members: size) { cluster in
            let result = try await bootstrap(cluster.hosts, ["--output", "json"], timeout: "2m")
            #expect(result.exitCode == 0, "\(result.stderr)")
            let primary = try #require(result.json["primary"] as? String)
            #expect(try await state(primary).hello.isWritablePrimary)
            #expect((result.json["elapsedMs"] as? Int ?? .max) < 10_000, "no faster than mongod's own election timeout")
        }
    }

    @Test("--keyFile: initiated through the localhost exception; then the password, a wrong one, and none")
    func keyFileAndUsers() async throws {
        try await withMongod(members: 3, keyFile: true) { cluster in
            // No user yet: mongod lets loopback connections do anything, as the simulator does.
            let initiated = try await bootstrap(cluster.hosts, ["--output", "json"], timeout: "2m")
            #expect(initiated.exitCode == 0, "\(initiated.stderr)")
            let primary = try HostAddress(parsing: try #require(initiated.json["primary"] as? String))
            let password = ScenarioCredentials.password
            let client = try MongoClient(host: primary, connectTimeout: .seconds(2), socketTimeout: .seconds(30))
            _ = try client.runCommand(["createUser": .string(ScenarioCredentials.username), "pwd": .string(password),
                                       "roles": [.document(["role": "clusterManager", "db": "admin"])]])
            try await ToolProcess.$context.withValue(ScenarioCredentials.context) {
                let again = try await bootstrap(cluster.hosts, timeout: "2m")
                #expect(again.exitCode == 0, "\(again.stderr)")
                #expect(again.stdout.contains("nothing to change"))
                let wrong = try await bootstrap(cluster.hosts, timeout: "2m", environment: ["MONGO_PASSWORD": password + "x"])
                #expect(wrong.exitCode == 77, "\(wrong.stderr)")
                #expect(wrong.stderr.contains("rejected user '\(ScenarioCredentials.username)'"))
            }
            // The first user ends the localhost exception.
            let anonymous = try await bootstrap(cluster.hosts, timeout: "2m")
            #expect(anonymous.exitCode == 77, "\(anonymous.stderr)")
            #expect(anonymous.stderr.contains("requires authentication"))
        }
    }

    @Test("re-run on a healthy set: exit 0, and the config version and term do not move")
    func rerun() async throws {
        try await withMongod(members: 3) { cluster in
            #expect(try await bootstrap(cluster.hosts, timeout: "2m").exitCode == 0)
            let before = try await state(cluster.hosts[0])
            let again = try await bootstrap(cluster.hosts.reversed(), timeout: "2m")
            #expect(again.exitCode == 0)
            #expect(again.stdout.contains("nothing to change"))
            let after = try await state(cluster.hosts[0])
            #expect(after.config?.version == before.config?.version)
            #expect(after.config?.term == before.config?.term)
        }
    }

    @Test("a member that starts late is waited for; one that never starts ends the run with 69 naming it")
    func lateAndMissing() async throws {
        try await withMongod(members: 3, start: false) { cluster in
            try await cluster.start(0)
            try await cluster.start(1)
            let missing = try await bootstrap(cluster.hosts, timeout: "3s")
            #expect(missing.exitCode == 69)
            #expect(missing.stderr.contains("\(cluster.hosts[2]) unreachable"))
            #expect(try await state(cluster.hosts[0]).config == nil, "initiated without every member")
            let run = try await ToolProcess.start(["--nodes", cluster.hosts.joined(separator: ","), "--timeout", "2m"])
            try await Task.sleep(for: .seconds(2))
            try await cluster.start(2)
            let result = await run.finished()
            #expect(result.exitCode == 0, "\(result.stderr)")
        }
    }

    @Test("a member of another set, and a standalone mongod: exit 65, nothing initiated")
    func refusals() async throws {
        try await withMongod(members: 3, start: false) { cluster in
            try await cluster.start(0)
            try await cluster.start(1, replSet: "other")
            #expect(try await bootstrap([cluster.hosts[1]], ["--replica-set", "other"], timeout: "2m").exitCode == 0)
            let foreign = try await bootstrap(Array(cluster.hosts.prefix(2)), timeout: "30s")
            #expect(foreign.exitCode == 65)
            #expect(foreign.stderr.contains("belongs to replica set 'other'"))
            try await cluster.start(2, replSet: nil)
            let standalone = try await bootstrap([cluster.hosts[0], cluster.hosts[2]], timeout: "30s")
            #expect(standalone.exitCode == 65)
            #expect(try await state(cluster.hosts[0]).config == nil)
        }
    }

    @Test("--dry-run prints the initiate and writes nothing; SIGTERM mid-run exits 143")
    func dryRunAndSignal() async throws {
        try await withMongod(members: 2, start: false) { cluster in
            try await cluster.start(0)
            try await cluster.start(1)
            let plan = try await bootstrap(cluster.hosts, ["--dry-run"], timeout: "1m")
            #expect(plan.exitCode == 0)
            #expect(plan.stdout.contains("1. replSetInitiate on"))
            #expect(try await state(cluster.hosts[0]).config == nil)
            await cluster.stop(1)
            let run = try await ToolProcess.start(["--nodes", cluster.hosts.joined(separator: ","), "--timeout", "2m"])
            let finished = Task { await run.finished() }
            #expect(try await run.waitUntilCatching(SIGTERM))
            try await Task.sleep(for: .milliseconds(300))
            run.signal(SIGTERM)
            #expect(await finished.value.exitCode == 143)
        }
    }

    @Test("scale 1 → 3, then back to 1 with --remove-members, waiting for every member")
    func scale() async throws {
        try await withMongod(members: 3) { cluster in
            #expect(try await bootstrap([cluster.hosts[0]], timeout: "2m").exitCode == 0)
            let grown = try await bootstrap(cluster.hosts, ["--wait-for", "all"], timeout: "3m")
            #expect(grown.exitCode == 0, "\(grown.stderr)")
            #expect(try await state(cluster.hosts[0]).config?.members.count == 3)
            let shrunk = try await bootstrap([cluster.hosts[0]], ["--remove-members"], timeout: "3m")
            #expect(shrunk.exitCode == 0, "\(shrunk.stderr)")
            #expect(try await state(cluster.hosts[0]).config?.members.count == 1)
        }
    }
}
