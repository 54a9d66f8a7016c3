import Foundation
import MongoBSON
import MongoSimulator
import ReplicaSetBootstrap
import TestSupport
import Testing

/// Runs `body` with a simulated set whose members listen, and shuts it down afterwards.
func withSimulator<T>(
    members: Int, timings: SimulatorTimings = .mongod, start: Bool = true,
    _ body: (ReplicaSetSimulator) async throws -> T
) async throws -> T {
    let simulator = try ReplicaSetSimulator(memberCount: members, options: SimulatorOptions(timings: timings))
    return try await run(simulator, start: start, body)
}

func withSimulator<T>(
    specs: [MongoSimulator.MemberSpec], timings: SimulatorTimings = .mongod, start: Bool = true,
    _ body: (ReplicaSetSimulator) async throws -> T
) async throws -> T {
    let simulator = try ReplicaSetSimulator(members: specs, options: SimulatorOptions(timings: timings))
    return try await run(simulator, start: start, body)
}

private func run<T>(_ simulator: ReplicaSetSimulator, start: Bool, _ body: (ReplicaSetSimulator) async throws -> T) async throws -> T {
    do {
        if start { try await simulator.start() }
        let result = try await body(simulator)
        await simulator.shutdown()
        return result
    } catch {
        await simulator.shutdown()
        throw error
    }
}

/// `mongo-rs-bootstrap --nodes <hosts> <arguments>`.
func bootstrap(_ hosts: [String], _ arguments: [String] = [], timeout: String = "30s") async throws -> ToolProcess.Result {
    try await ToolProcess.run(["--nodes", hosts.joined(separator: ","), "--timeout", timeout] + arguments)
}

extension ToolProcess.Result {
    /// The `--output json` summary.
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any] ?? [:]
    }
}

extension ReplicaSetSimulator {
    /// The write commands (replSetInitiate, replSetReconfig, replSetStepUp) received, by name.
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
    let nodes = MongocNodes(hosts: addresses, options: ConnectionOptions(), maxAwaitTime: .seconds(1))
    var ids: Set<String> = []
    for host in addresses {
        if case .config(let config) = try await nodes.run(.getConfig, on: host), let id = config.replicaSetId {
            ids.insert(id.hex)
        }
    }
    return ids
}
