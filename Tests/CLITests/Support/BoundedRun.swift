import Foundation
import Subprocess
#if canImport(System)
import System
#else
import SystemPackage
#endif
import TestSupport
import Testing

/// The tool as a child process with a chosen stdin and stdout, waited for at most a given time:
/// a tool that blocks (the failures these tests look for) is killed with SIGKILL and reported,
/// instead of hanging the test run.
final class BoundedRun: Sendable {
    struct Result: Sendable {
        /// nil: still running at the limit, killed.
        var exitCode: Int32?
        /// True when it ended by a signal it did not catch (exitCode is then the signal).
        var killedBySignal: Bool
        var stdout: String
        var stderr: String
        var exitedAt: ContinuousClock.Instant
    }

    private let process: SpawnedProcess<Result>
    private let secrets: [String]

    /// `executable`: the tool unless given (e.g. /bin/sh to lower a limit first). `stdin`: a
    /// FileHandle or Pipe; /dev/null unless given. `stdout`: a FileHandle or Pipe the test keeps
    /// (not read here); a pipe read here unless given.
    init(_ arguments: [String], environment: [String: String] = [:], executable: URL = ToolProcess.binary,
         stdin: Any? = nil, stdout: Any? = nil, secrets: [String] = []) async throws {
        let input: FileDescriptor = switch stdin {
        case let pipe as Pipe: FileDescriptor(rawValue: pipe.fileHandleForReading.fileDescriptor)
        case let file as FileHandle: FileDescriptor(rawValue: file.fileDescriptor)
        default: try FileDescriptor.open("/dev/null", .readOnly)
        }
        let output: FileDescriptor? = switch stdout {
        case let pipe as Pipe: FileDescriptor(rawValue: pipe.fileHandleForWriting.fileDescriptor)
        case let file as FileHandle: FileDescriptor(rawValue: file.fileDescriptor)
        default: nil
        }
        let configuration = Configuration(executable: .path(FilePath(executable.path)), arguments: Arguments(arguments),
                                          environment: .custom(cleanEnvironment(environment)))
        let closeInput = stdin == nil
        process = if let output {
            try await Self.spawn(configuration, .fileDescriptor(input, closeAfterSpawningProcess: closeInput),
                                 .fileDescriptor(output, closeAfterSpawningProcess: false)) { _ in "" }
        } else {
            try await Self.spawn(configuration, .fileDescriptor(input, closeAfterSpawningProcess: closeInput), .bytes(limit: .max)) {
                String(decoding: $0, as: UTF8.self)
            }
        }
        self.secrets = secrets
    }

    private static func spawn<Output: OutputProtocol>(
        _ configuration: Configuration, _ input: FileDescriptorInput, _ output: Output,
        _ text: @escaping @Sendable (Output.OutputType) -> String
    ) async throws -> SpawnedProcess<Result> {
        try await SpawnedProcess { started in
            let run = try await Subprocess.run(configuration, input: input, output: output, error: .bytes(limit: .max)) { execution in
                started(execution.processIdentifier)
            }
            let (code, signaled): (Int32, Bool) = switch run.terminationStatus {
            case .exited(let code): (code, false)
            case .signaled(let number): (number, true)
            }
            return Result(exitCode: code, killedBySignal: signaled, stdout: text(run.standardOutput),
                          stderr: String(decoding: run.standardError, as: UTF8.self), exitedAt: .now)
        }
    }

    var pid: Int32 { process.processIdentifier }

    func signal(_ number: Int32) {
        kill(pid, number)
    }

    /// Waits for the exit, at most `limit`; a process still running then is killed and its
    /// exitCode is nil. Every output is scanned for `secrets`.
    func finish(within limit: Duration) async -> Result {
        let watchdog = Task { [pid] in
            try await Task.sleep(for: limit)
            kill(pid, SIGKILL)
        }
        var result: Result
        do {
            result = try await process.outcome.value
        } catch {
            Issue.record("running the tool failed: \(error)")
            result = Result(exitCode: nil, killedBySignal: false, stdout: "", stderr: "", exitedAt: .now)
        }
        watchdog.cancel()
        // Ended by the watchdog's SIGKILL: a sleep that was not cancelled.
        if (try? await watchdog.value) != nil { result.exitCode = nil }
        for leak in SecretScan.leaks(of: secrets, in: ["stdout": result.stdout, "stderr": result.stderr]) {
            Issue.record("a secret leaked: \(leak)")
        }
        return result
    }

    /// Waits until the process catches `number` (the SigCgt mask of /proc/PID/status), so that a
    /// signal sent next reaches the tool's handler rather than the default action.
    func waitUntilCatching(_ number: Int32, timeout: Duration = .seconds(10)) async -> Bool {
        let pid = pid
        return await poll(timeout) {
            ProcFile.hexField("SigCgt", pid: pid).map { $0 & (UInt64(1) << UInt64(number - 1)) != 0 } ?? false
        }
    }
}

/// Checks `condition` every 5 ms until it holds or `timeout` passes, on a thread of its own:
/// the two threads of the concurrency pool can be held for seconds by other tests (a static
/// that runs openssl, say), which would make a poll on the pool miss its moment.
func poll(_ timeout: Duration, _ condition: @escaping @Sendable () -> Bool) async -> Bool {
    await offload {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.005)
        }
        return condition()
    }
}

/// Reading a process's /proc files.
enum ProcFile {
    static func text(_ name: String, pid: Int32) -> String? {
        read("/proc/\(pid)/\(name)")
    }

    /// A whole /proc file. Foundation reads a file that reports size 0 with one read(2), which
    /// returns one page of a longer table such as /proc/net/tcp.
    static func read(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { return count == 0 ? String(decoding: bytes, as: UTF8.self) : nil }
            bytes += chunk[..<count]
        }
    }

    /// A hexadecimal field of /proc/PID/status, e.g. SigCgt.
    static func hexField(_ field: String, pid: Int32) -> UInt64? {
        guard let line = text("status", pid: pid)?.split(separator: "\n").first(where: { $0.hasPrefix("\(field):") }) else { return nil }
        return UInt64(line.dropFirst(field.count + 1).trimmingCharacters(in: .whitespaces), radix: 16)
    }
}

/// Whether a run has begun: the tool contacts nodes only once it runs, so a TCP connection to
/// a test listener's port (in /proc/net/tcp, readable whatever the tool's dumpable flag) shows
/// that parsing and input reading are over.
enum RunStarted {
    static func connection(toPort port: UInt16) -> Bool {
        let hexPort = String(port, radix: 16, uppercase: true)
        let suffix = ":" + String(repeating: "0", count: 4 - hexPort.count) + hexPort
        let table = ProcFile.read("/proc/net/tcp") ?? ""
        return table.split(separator: "\n").dropFirst().contains { line in
            let fields = line.split(separator: " ")
            return fields.count > 2 && fields[2].hasSuffix(suffix)
        }
    }

    /// Waits until something connects to `port`.
    static func wait(forConnectionTo port: UInt16, timeout: Duration = .seconds(10)) async -> Bool {
        await poll(timeout) { connection(toPort: port) }
    }
}

/// Temporary files for one test, removed with the value.
final class TemporaryFolder: @unchecked Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// A file with `text`; its path.
    @discardableResult
    func file(_ name: String, _ text: String) throws -> String {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
        return path(name)
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }
}

/// The tool (or `executable` with `arguments`) with its stderr blocked (a full pipe nobody
/// reads), its stdout read to the end; `whileRunning` gets the pid. The exit status and stdout.
/// MONGOC_DISABLE_SHM unless `environment` says otherwise: libmongoc warns at start-up when a
/// stale /dev/shm/mongoc-PID has this process's PID, and that first line would block.
func runWithBlockedStderr(_ arguments: [String], executable: URL = ToolProcess.binary, environment: [String: String] = ["MONGOC_DISABLE_SHM": "1"],
                          whileRunning: (Int32) async throws -> Void = { _ in }) async throws -> (Int32, String) {
    let stderr = try ProcessSafetyTests.blockedPipe()
    let configuration = Configuration(executable: .path(FilePath(executable.path)), arguments: Arguments(arguments),
                                      environment: .custom(cleanEnvironment(environment)))
    let blocked = FileDescriptor(rawValue: stderr.fileHandleForWriting.fileDescriptor)
    let process = try await SpawnedProcess { started in
        try await Subprocess.run(configuration, input: .none, output: .bytes(limit: .max),
                                 error: .fileDescriptor(blocked, closeAfterSpawningProcess: false)) { execution in
            started(execution.processIdentifier)
        }
    }
    try await whileRunning(process.processIdentifier)
    let run = try await process.outcome.value
    withExtendedLifetime(stderr) {}
    let code: Int32 = switch run.terminationStatus {
    case .exited(let code), .signaled(let code): code
    }
    return (code, String(decoding: run.standardOutput, as: UTF8.self))
}

/// PATH and `environment`, nothing else of the test process's.
func cleanEnvironment(_ environment: [String: String]) -> [Environment.Key: String] {
    Dictionary(uniqueKeysWithValues: ["PATH": "/usr/bin:/bin"].merging(environment) { $1 }.map { (Environment.Key(stringLiteral: $0.key), $0.value) })
}
