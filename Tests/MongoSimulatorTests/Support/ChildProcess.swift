import Foundation
import Subprocess
#if canImport(System)
import System
#else
import SystemPackage
#endif
import TestSupport
import Testing

/// A program the tests run the way a user would: `python3` with pymongo, or the `mongo-sim`
/// binary built next to the test bundle. Run through swift-subprocess (TestSupport's
/// SpawnedProcess); stdout's lines can be read as they come.
final class ChildProcess: Sendable {
    struct Output: Sendable {
        var exitCode: Int32
        var stdout: String
        var stderr: String
    }

    private let process: SpawnedProcess<Output>
    /// stdout's lines as they come, for `lines(until:)`.
    private let stdoutLines: AsyncStream<String>

    init(_ executable: URL, _ arguments: [String]) async throws {
        let (lines, continuation) = AsyncStream<String>.makeStream()
        stdoutLines = lines
        process = try await SpawnedProcess { started in
            let run = try await Subprocess.run(.path(FilePath(executable.path)), arguments: Arguments(arguments), input: .none,
                                               output: .sequence, error: .bytes(limit: .max)) { execution in
                started(execution.processIdentifier)
                defer { continuation.finish() }
                var all = ""
                for try await line in execution.standardOutput.strings() {
                    continuation.yield(line)
                    all += line + "\n"
                }
                return all
            }
            let code: Int32 = switch run.terminationStatus {
            case .exited(let code), .signaled(let code): code
            }
            return Output(exitCode: code, stdout: run.closureResult, stderr: String(decoding: run.standardError, as: UTF8.self))
        }
    }

    /// Reads stdout until a line equal to `marker` (or its end) and returns the lines before it.
    func lines(until marker: String) async -> [String] {
        var lines: [String] = []
        for await line in stdoutLines {
            if line == marker { break }
            lines.append(line)
        }
        return lines
    }

    func signal(_ number: Int32) {
        kill(process.processIdentifier, number)
    }

    /// Waits for the exit; all of stdout (each line ended by a newline), and stderr.
    func finish() async -> Output {
        do {
            return try await process.outcome.value
        } catch {
            Issue.record("running the program failed: \(error)")
            return Output(exitCode: -1, stdout: "", stderr: "")
        }
    }

    /// The `mongo-sim` binary (`swift build` puts it next to the test bundle).
    static var mongoSim: URL {
        let folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return folder.appendingPathComponent("mongo-sim")
    }

    /// Debian's python, where `apt-get install python3-pymongo` puts pymongo.
    static let python = URL(fileURLWithPath: "/usr/bin/python3")

    /// Runs a Python script with pymongo; records an issue (failing the test) when pymongo is missing.
    static func runPython(_ script: String, _ arguments: [String]) async throws -> Output? {
        let probe = try await ChildProcess(python, ["-c", "import pymongo"])
        guard await probe.finish().exitCode == 0 else {
            Issue.record("pymongo is not installed for /usr/bin/python3; install it with: apt-get install -y python3-pymongo")
            return nil
        }
        return try await ChildProcess(python, ["-c", script] + arguments).finish()
    }
}
