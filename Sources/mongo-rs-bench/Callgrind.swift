import Foundation
import MongoSimulator

/// CPU by instruction count: a program run under valgrind's callgrind against a fresh simulated
/// set, its instructions split into phases at the entry of given functions (`--dump-before`:
/// each dump holds every thread's instructions since the previous one). Instruction counts repeat
/// from run to run where CPU time on a shared machine does not. Valgrind cannot read the Swift
/// binary's DWARF 5 debug information, so the tool is profiled as a copy made with
/// `strip --strip-debug` (its symbol table, which is all `--dump-before` needs, stays).
struct CallgrindProfile: Sendable {
    struct Phase: Sendable {
        var name: String
        var instructions: Int
    }

    var phases: [Phase]
    var total: Int { phases.reduce(0) { $0 + $1.instructions } }
    /// The run under valgrind, with what the members recorded.
    var run: Run
}

enum Callgrind {
    static let valgrind = "/usr/bin/valgrind"

    /// A phase boundary: the phase before it ends when the function matching `symbol` (a
    /// regular expression over `nm`'s names) is first entered. Aliases of one function may all
    /// match (valgrind knows Swift's `main` as `<module>_main`); only one of them fires.
    struct Boundary {
        var endsPhase: String
        var symbol: String
    }

    static let toolBoundaries = [
        Boundary(endsPhase: "start-up: loading, relocations, static initializers (until `main`)", symbol: "^(main|mongo_rs_bootstrap_main)$"),
        Boundary(endsPhase: "arguments: ArgumentParser, environment (until `MongoRSBootstrap.run`)",
                 symbol: #"^\$s18mongo_rs_bootstrap16MongoRSBootstrapV3runyyYaKF$"#),
        Boundary(endsPhase: "validation: the plan from the arguments (until `Bootstrap.run`)",
                 symbol: #"^\$s18mongo_rs_bootstrap9BootstrapV3run.*YaF$"#),
        Boundary(endsPhase: "the bootstrap: connections, commands, waiting (until `MongocNodes.close`)",
                 symbol: #"^\$s19ReplicaSetBootstrap11MongocNodesC5close6within"#),
    ]
    static let toolLastPhase = "exit: closing connections, libmongoc cleanup, `exit`"

    static let minimalBoundaries = [
        Boundary(endsPhase: "start-up: loading, relocations, static initializers (until `main`)", symbol: "^main$"),
    ]
    static let minimalLastPhase = "everything after `main`"

    /// The symbols of `executable` that match each boundary, from `nm`; boundaries with no
    /// match are left out, so their phase joins the next.
    static func resolve(_ boundaries: [Boundary], in executable: String) async throws -> [(Boundary, [String])] {
        // "ADDRESS TYPE NAME" a line.
        let listing = await (try ChildProcess("/usr/bin/nm", ["--defined-only", executable])).finished().stdout
        let names = listing.split(separator: "\n").compactMap { $0.split(separator: " ", maxSplits: 2).last.map(String.init) }
        return boundaries.compactMap { boundary in
            guard let expression = try? NSRegularExpression(pattern: boundary.symbol) else { return nil }
            let matches = names.filter { expression.firstMatch(in: $0, range: NSRange($0.startIndex..., in: $0)) != nil }
            return matches.isEmpty ? nil : (boundary, matches)
        }
    }

    /// Runs `program arguments` under callgrind with dumps at `boundaries`; the instructions of
    /// each phase, in order, the last one named `lastPhase`.
    static func profile(_ program: String, _ arguments: [String], boundaries: [(Boundary, [String])], lastPhase: String,
                        simulator: ReplicaSetSimulator, scenarios: Scenarios) async throws -> CallgrindProfile {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mongo-rs-bench-callgrind-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("callgrind.out").path
        let options = ["--tool=callgrind", "--callgrind-out-file=\(output)", "--dump-instr=no"]
            + boundaries.flatMap { $0.1.map { "--dump-before=\($0)" } }
        let child = try ChildProcess(valgrind, options + [program] + arguments)
        let run = try await scenarios.finish(child, simulator)
        // One file a dump, numbered by its part ("part: N"), the last written at exit.
        var parts: [(part: Int, instructions: Int)] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
            guard let text = try? String(contentsOfFile: folder.appendingPathComponent(name).path, encoding: .utf8) else { continue }
            func number(after key: String) -> Int? {
                text.split(separator: "\n").first { $0.hasPrefix(key) }.flatMap { Int($0.dropFirst(key.count).trimmingCharacters(in: .whitespaces)) }
            }
            if let part = number(after: "part:"), let instructions = number(after: "summary:") ?? number(after: "totals:") {
                parts.append((part, instructions))
            }
        }
        parts.sort { $0.part < $1.part }
        let names = boundaries.map(\.0.endsPhase) + [lastPhase]
        guard parts.count == names.count else {
            throw BenchError(description: "callgrind wrote \(parts.count) parts, expected \(names.count) (was every boundary function entered?)\n\(run.result.stderr.suffix(2000))")
        }
        return CallgrindProfile(phases: zip(names, parts).map { CallgrindProfile.Phase(name: $0, instructions: $1.instructions) }, run: run)
    }
}

extension Scenarios {
    /// `contender` (the tool or the minimal client) under callgrind against a fresh set of `size`.
    func callgrind(_ contender: Contender, size: Int, executable: String) async throws -> CallgrindProfile {
        let boundaries = contender == .tool ? Callgrind.toolBoundaries : Callgrind.minimalBoundaries
        let last = contender == .tool ? Callgrind.toolLastPhase : Callgrind.minimalLastPhase
        let resolved = try await Callgrind.resolve(boundaries, in: executable)
        return try await ReplicaSetSimulator.run(members(size), options: SimulatorOptions(timings: .mongod)) { simulator in
            let (_, arguments) = command(contender, simulator.hosts)
            return try await Callgrind.profile(executable, arguments, boundaries: resolved, lastPhase: last, simulator: simulator, scenarios: self)
        }
    }
}
