import Foundation
import TestSupport
import Testing

/// A program the tests run the way a user would: `python3` with pymongo, or the `mongo-sim`
/// binary built next to the test bundle.
final class ChildProcess: @unchecked Sendable {
    struct Output: Sendable {
        var exitCode: Int32
        var stdout: String
        var stderr: String
    }

    let process = Process()
    private let stdout = Pipe()
    private let stderr = Pipe()

    init(_ executable: URL, _ arguments: [String]) throws {
        process.executableURL = executable
        process.arguments = arguments
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
    }

    /// Reads stdout until a line equal to `marker` (or EOF) and returns the lines before it.
    func lines(until marker: String) async -> [String] {
        await offload {
            var text = ""
            while !text.split(separator: "\n", omittingEmptySubsequences: false).contains(Substring(marker)) {
                let chunk = self.stdout.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                text += String(decoding: chunk, as: UTF8.self)
            }
            return Array(text.split(separator: "\n").map(String.init).prefix { $0 != marker })
        }
    }

    func signal(_ number: Int32) {
        kill(process.processIdentifier, number)
    }

    /// Waits for the exit and collects what is left of the output.
    func finish() async -> Output {
        await offload {
            let (out, err) = readBoth(self.stdout, self.stderr)
            self.process.waitUntilExit()
            return Output(exitCode: self.process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
                          stderr: String(decoding: err, as: UTF8.self))
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
        let probe = try ChildProcess(python, ["-c", "import pymongo"])
        guard await probe.finish().exitCode == 0 else {
            Issue.record("pymongo is not installed for /usr/bin/python3; install it with: apt-get install -y python3-pymongo")
            return nil
        }
        return try await ChildProcess(python, ["-c", script] + arguments).finish()
    }
}
