import Foundation
import Synchronization
import Testing

/// Runs the built `mongo-rs-bootstrap` binary as a user would, with a clean environment.
public struct ToolProcess {
    public struct Result: Sendable {
        public var exitCode: Int32
        public var stdout: String
        public var stderr: String
        /// When the process was seen to exit, by the thread waiting for it.
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

    /// Starts the binary and returns at once; `finish()` collects the result.
    public static func start(_ arguments: [String], environment: [String: String] = [:]) throws -> Running {
        let process = Process()
        if let launcher = context.launcher.first {
            process.executableURL = URL(fileURLWithPath: launcher)
            process.arguments = context.launcher.dropFirst() + [binary.path] + arguments
        } else {
            process.executableURL = binary
            process.arguments = arguments
        }
        // The sanitizers' own settings pass through the clean environment.
        let sanitizerOptions = ProcessInfo.processInfo.environment.filter { $0.key.hasSuffix("SAN_OPTIONS") }
        process.environment = ["PATH": "/usr/bin:/bin"].merging(sanitizerOptions) { $1 }
            .merging(context.environment) { $1 }.merging(environment) { $1 }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        return Running(process: process, stdout: out, stderr: err, secrets: context.secrets)
    }

    public struct Running: @unchecked Sendable {
        public let process: Process
        let stdout: Pipe
        let stderr: Pipe
        let secrets: [String]

        public func signal(_ number: Int32) {
            kill(process.processIdentifier, number)
        }

        /// Waits until the process has a handler for `number` (Linux: the SigCgt mask in
        /// /proc/PID/status), so a signal sent next is caught rather than fatal.
        public func waitUntilCatching(_ number: Int32, timeout: Duration = .seconds(10)) async throws -> Bool {
            let deadline = ContinuousClock.now + timeout
            let bit = UInt64(1) << UInt64(number - 1)
            while ContinuousClock.now < deadline {
                let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
                if let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigCgt:") }),
                   let mask = UInt64(line.dropFirst("SigCgt:".count).trimmingCharacters(in: .whitespaces), radix: 16),
                   mask & bit != 0 {
                    return true
                }
                try await Task.sleep(for: .milliseconds(10))
            }
            return false
        }

        public func finished() async -> Result {
            await offload(finish)
        }

        public func finish() -> Result {
            let (stdoutData, stderrData) = readBoth(stdout, stderr)
            process.waitUntilExit()
            let exitedAt = ContinuousClock.now
            let result = Result(exitCode: process.terminationStatus,
                                stdout: String(decoding: stdoutData, as: UTF8.self),
                                stderr: String(decoding: stderrData, as: UTF8.self), exitedAt: exitedAt)
            // A binary built with -sanitize=address reports memory errors and leaks on stderr.
            for report in ["ERROR: AddressSanitizer", "ERROR: LeakSanitizer"] where result.stderr.contains(report) {
                Issue.record("\(report) in a run of the tool:\n\(result.stderr.suffix(4000))")
            }
            // Safety invariant 6, checked on every run of every scenario.
            for leak in SecretScan.leaks(of: secrets, in: ["stdout": result.stdout, "stderr": result.stderr]) {
                Issue.record("a secret leaked: \(leak) (arguments: \(process.arguments?.count ?? 0))")
            }
            return result
        }
    }

    public static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        try start(arguments, environment: environment).finish()
    }

    /// Runs the binary on a thread of its own: waiting for it must not block the Swift
    /// concurrency pool, where a simulator in the same process answers it.
    public static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> Result {
        let running = try start(arguments, environment: environment)
        return await running.finished()
    }
}

/// Drains both pipes at once: reading one to its end first deadlocks once the child has
/// filled the other's 64 KiB buffer and blocks writing to it.
public func readBoth(_ first: Pipe, _ second: Pipe) -> (Data, Data) {
    let secondData = Mutex(Data())
    let done = DispatchSemaphore(value: 0)
    DispatchQueue.global().async {
        let data = second.fileHandleForReading.readDataToEndOfFile()
        secondData.withLock { $0 = data }
        done.signal()
    }
    let firstData = first.fileHandleForReading.readDataToEndOfFile()
    done.wait()
    return (firstData, secondData.withLock { $0 })
}

/// Runs blocking work on its own thread, so that a blocking call (a C driver call, waiting for
/// a child) never holds one of the few threads the simulator's actor and the other tests need.
public func offload<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: work()) }
    }
}
