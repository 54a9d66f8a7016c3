import Foundation
import Subprocess
#if canImport(System)
import System
#else
import SystemPackage
#endif
import Testing

/// Runs the built `mongo-rs-bootstrap` binary as a user would, with a clean environment.
public struct ToolProcess {
    public struct Result: Sendable {
        public var exitCode: Int32
        /// The signal that ended it, when it did not catch it (`exitCode` is then that number).
        public var signal: Int32?
        public var stdout: String
        public var stderr: String
        /// When the run was seen to end (its exit and both outputs closed).
        public var exitedAt: ContinuousClock.Instant = .now
    }

    /// The binary next to the test bundle (`swift build` puts both in the same folder), or the
    /// one `MONGO_RS_BOOTSTRAP_BINARY` names (scripts/test's AddressSanitizer build).
    public static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["MONGO_RS_BOOTSTRAP_BINARY"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        let bundleFolder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for folder in [bundleFolder, URL(fileURLWithPath: ".build/debug")] {
            let candidate = folder.appendingPathComponent("mongo-rs-bootstrap")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return bundleFolder.appendingPathComponent("mongo-rs-bootstrap")
    }

    /// What every run started inside `withValue` gets: environment variables (the scenario's
    /// credentials) and the secrets that must never appear in its output.
    public struct Context: Sendable {
        public var environment: [String: String]
        public var secrets: [String]
        /// A command that runs the binary (`DNSServer.launcher`); empty: run it directly.
        public var launcher: [String]

        public init(environment: [String: String] = [:], secrets: [String] = [], launcher: [String] = []) {
            self.environment = environment
            self.secrets = secrets
            self.launcher = launcher
        }
    }

    @TaskLocal public static var context = Context()

    /// Starts the binary (through swift-subprocess) and returns once it runs; `finished()`
    /// collects the result. Its output is read and its exit awaited without holding a thread.
    public static func start(_ arguments: [String], environment: [String: String] = [:]) async throws -> Running {
        let command = context.launcher + [binary.path] + arguments
        // The sanitizers' own settings pass through the clean environment.
        let sanitizerOptions = ProcessInfo.processInfo.environment.filter { $0.key.hasSuffix("SAN_OPTIONS") }
        let variables = ["PATH": "/usr/bin:/bin"].merging(sanitizerOptions) { $1 }
            .merging(context.environment) { $1 }.merging(environment) { $1 }
        let secrets = context.secrets
        let process = try await SpawnedProcess { started in
            let run = try await Subprocess.run(
                .path(FilePath(command[0])), arguments: Arguments(Array(command.dropFirst())),
                environment: .custom(Dictionary(uniqueKeysWithValues: variables.map { (Environment.Key(stringLiteral: $0.key), $0.value) })),
                input: .none, output: .bytes(limit: .max), error: .bytes(limit: .max)
            ) { execution in
                started(execution.processIdentifier)
            }
            let exitCode: Int32, signal: Int32?
            switch run.terminationStatus {
            case .exited(let code): (exitCode, signal) = (code, nil)
            case .signaled(let number): (exitCode, signal) = (number, number)
            }
            return Result(exitCode: exitCode, signal: signal, stdout: String(decoding: run.standardOutput, as: UTF8.self),
                          stderr: String(decoding: run.standardError, as: UTF8.self))
        }
        return Running(processIdentifier: process.processIdentifier, arguments: arguments, outcome: process.outcome, secrets: secrets)
    }

    public struct Running: Sendable {
        public let processIdentifier: pid_t
        let arguments: [String]
        let outcome: Task<Result, any Error>
        let secrets: [String]

        public func signal(_ number: Int32) {
            kill(processIdentifier, number)
        }

        /// Whether the process has not exited yet (/proc/PID/stat is there and not a zombie's),
        /// whatever the task that waits for it has seen so far.
        public var isRunning: Bool {
            guard let stat = try? String(contentsOfFile: "/proc/\(processIdentifier)/stat", encoding: .utf8),
                  let name = stat.lastIndex(of: ")") else { return false }
            return stat[name...].dropFirst().drop { $0 == " " }.first != "Z"
        }

        /// Waits until the process has a handler for `number` (Linux: the SigCgt mask in
        /// /proc/PID/status), so a signal sent next is caught rather than fatal.
        public func waitUntilCatching(_ number: Int32, timeout: Duration = .seconds(10)) async throws -> Bool {
            let deadline = ContinuousClock.now + timeout
            let bit = UInt64(1) << UInt64(number - 1)
            while ContinuousClock.now < deadline {
                let status = (try? String(contentsOfFile: "/proc/\(processIdentifier)/status", encoding: .utf8)) ?? ""
                if let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigCgt:") }),
                   let mask = UInt64(line.dropFirst("SigCgt:".count).trimmingCharacters(in: .whitespaces), radix: 16),
                   mask & bit != 0 {
                    return true
                }
                try await Task.sleep(for: .milliseconds(10))
            }
            return false
        }

        /// Waits for the exit and the end of both outputs, then checks them: no sanitizer
        /// report, no secret.
        public func finished() async -> Result {
            let result: Result
            do {
                result = try await outcome.value
            } catch {
                Issue.record("running the tool failed: \(error)")
                return Result(exitCode: -1, signal: nil, stdout: "", stderr: "")
            }
            // A binary built with -sanitize=address reports memory errors and leaks on stderr.
            for report in ["ERROR: AddressSanitizer", "ERROR: LeakSanitizer"] where result.stderr.contains(report) {
                Issue.record("\(report) in a run of the tool:\n\(result.stderr.suffix(4000))")
            }
            // Safety invariant 6, checked on every run of every scenario.
            for leak in SecretScan.leaks(of: secrets, in: ["stdout": result.stdout, "stderr": result.stderr]) {
                Issue.record("a secret leaked: \(leak) (arguments: \(arguments.count))")
            }
            return result
        }
    }

    public static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> Result {
        try await start(arguments, environment: environment).finished()
    }
}

/// Runs blocking work on its own thread, so that a blocking call (a C driver call, waiting for
/// a child) never holds one of the few threads the simulator's actor and the other tests need.
public func offload<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: work()) }
    }
}
