import Foundation
import MongoBSON
import MongoSimulator
@testable import ReplicaSetBootstrap
import TestSupport
import Testing

/// Every scenario's members run with `--auth`, and the tool logs in with a password made of
/// every character that breaks URI-building tools, from MONGO_PASSWORD. Each run's output is
/// checked for it (`ToolProcess`), so all scenarios also prove that no secret leaks.
enum ScenarioCredentials {
    static let username = "bootstrap"
    static let password = "-x@y:z/%41?#[]&=+ \"ünï✓'"
    static var user: SimulatorUser { SimulatorUser(name: username, password: password, roles: ["clusterManager"]) }
    /// The same user, for the tests' own reads through the tool's driver.
    static var credentials: Credentials { Credentials(username: username, password: Secret(password), source: "admin", mechanism: nil) }
    /// A connect timeout for a busy machine: SCRAM (thousands of PBKDF2 rounds on the simulator
    /// side) happens within it, beside other tests.
    static var connectionOptions: ConnectionOptions { ConnectionOptions(connectTimeout: .seconds(10), credentials: credentials) }
    static var context: ToolProcess.Context {
        ToolProcess.Context(environment: ["MONGO_USERNAME": username, "MONGO_PASSWORD": password], secrets: [password])
    }
}

/// Runs `body` with a simulated set (listening unless `start` is false), shut down afterwards.
func withSimulator<T>(
    members: Int, timings: SimulatorTimings = .mongod, start: Bool = true,
    _ body: (ReplicaSetSimulator) async throws -> T
) async throws -> T {
    try await withSimulator(specs: Array(repeating: MongoSimulator.MemberSpec(), count: members), timings: timings, start: start, body)
}

func withSimulator<T>(
    specs: [MongoSimulator.MemberSpec], timings: SimulatorTimings = .mongod, start: Bool = true,
    _ body: (ReplicaSetSimulator) async throws -> T
) async throws -> T {
    let options = SimulatorOptions(timings: timings, security: SimulatorSecurity(users: [ScenarioCredentials.user]))
    return try await ToolProcess.$context.withValue(ScenarioCredentials.context) {
        try await ReplicaSetSimulator.run(specs, options: options, start: start, body)
    }
}

/// `mongo-rs-bootstrap --nodes <hosts> <arguments>`.
func bootstrap(_ hosts: [String], _ arguments: [String] = [], timeout: String = "30s",
               environment: [String: String] = [:]) async throws -> ToolProcess.Result {
    try await ToolProcess.run(["--nodes", hosts.joined(separator: ","), "--timeout", timeout] + arguments, environment: environment)
}

extension ToolProcess.Result {
    /// The `--output json` summary.
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any] ?? [:]
    }
}

extension ReplicaSetSimulator {
    /// The write commands (replSetInitiate, replSetReconfig, replSetStepUp, replSetStepDown) received, by name.
    func writeCommandNames() -> [String] {
        writeCommands.map(\.name)
    }

    /// Every member holds the same config, of this version, and one of them is a writable primary.
    func isHealthy(members: Int, version: Int64 = 1) -> Bool {
        let set = snapshot
        return set.primary != nil && set.members.prefix(members).allSatisfy { $0.configVersion == version }
    }
}

/// The replicaSetIds the members' configs hold, read with the tool's own driver.
func replicaSetIds(_ hosts: [String]) async throws -> Set<String> {
    let addresses = try hosts.map { try HostAddress(parsing: $0) }
    let nodes = MongocNodes(hosts: addresses, options: ScenarioCredentials.connectionOptions, maxAwaitTime: .seconds(1))
    var ids: Set<String> = []
    for host in addresses {
        if case .config(let config) = try await nodes.run(.getConfig, on: host), let id = config.replicaSetId {
            ids.insert(id.hex)
        }
    }
    return ids
}

/// The config the primary (or, without one, the first member that has one) holds now, read with
/// the tool's own driver.
func committedConfig(_ simulator: ReplicaSetSimulator) async throws -> ReplicaSetConfig {
    let set = await simulator.snapshot
    let host = set.primary?.host ?? set.members.first { $0.configVersion != nil }?.host ?? simulator.hosts[0]
    let address = try HostAddress(parsing: host)
    let nodes = MongocNodes(hosts: [address], options: ScenarioCredentials.connectionOptions, maxAwaitTime: .seconds(1))
    guard case .config(let config) = try await nodes.run(.getConfig, on: address) else {
        throw SimulatorError.timedOut("no config on \(host)")
    }
    return config
}

extension ReplicaSetSimulator {
    /// The configs of every replSetReconfig received, in order.
    func reconfigsSent() -> [BSONDocument] {
        writeCommands.filter { $0.name == "replSetReconfig" }.compactMap { $0.document["replSetReconfig"]?.documentValue }
    }
}

/// The voting members' `_id`s of a config document as sent.
func voterIds(_ config: BSONDocument) -> Set<Int> {
    Set((config["members"]?.arrayValue ?? []).compactMap { member -> Int? in
        guard let member = member.documentValue, (member["votes"]?.intValue ?? 1) > 0 else { return nil }
        return member["_id"]?.intValue
    })
}

/// Writes `text` to a temporary spec file and returns its path.
func specFile(_ text: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("spec-\(UUID().uuidString).yaml").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// What an operator does before adding an arbiter to a running set (mongod 5.0+).
func setClusterWideWriteConcern(_ simulator: ReplicaSetSimulator) async throws {
    let primary = try #require(await simulator.snapshot.primary?.host)
    _ = try await command(primary, ["setDefaultRWConcern": 1, "defaultWriteConcern": ["w": "majority"]])
}

/// One command, authenticated as the scenario user, on `host` (what an operator would type). On
/// a thread of its own: libmongoc's call blocks, and the simulator that answers it runs on the
/// concurrency pool, whose two threads other tests' blocking calls would otherwise hold.
func command(_ host: String, _ document: BSONDocument) async throws -> BSONDocument {
    try await offload {
        Result {
            let client = try MongoClient(host: try HostAddress(parsing: host), connectTimeout: .seconds(10), socketTimeout: .seconds(10),
                                         credentials: ScenarioCredentials.credentials)
            return try client.runCommand(document)
        }
    }.get()
}
