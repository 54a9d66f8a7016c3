import Foundation
import TestSupport
import Testing

/// The tool as a child process with a chosen stdin and stdout, waited for at most a given time:
/// a tool that blocks (the failures these tests look for) is killed with SIGKILL and reported,
/// instead of hanging the test run.
final class BoundedRun: @unchecked Sendable {
    struct Result: Sendable {
        /// nil: still running at the limit, killed.
        var exitCode: Int32?
        /// True when it ended by a signal it did not catch (exitCode is then the signal).
        var killedBySignal: Bool
        var stdout: String
        var stderr: String
        var exitedAt: ContinuousClock.Instant
    }

    let process = Process()
    private let stdout: Pipe?
    private let stderr = Pipe()
    private let secrets: [String]

    /// `executable`: the tool unless given (e.g. /bin/sh to lower a limit first). `stdin`: a
    /// FileHandle or Pipe; /dev/null unless given. `stdout`: a FileHandle or Pipe the test keeps
    /// (not read here); a pipe read here unless given.
    init(_ arguments: [String], environment: [String: String] = [:], executable: URL = ToolProcess.binary,
         stdin: Any? = nil, stdout: Any? = nil, secrets: [String] = []) throws {
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ["PATH": "/usr/bin:/bin"].merging(environment) { $1 }
        process.standardInput = stdin ?? FileHandle.nullDevice
        if let stdout {
            process.standardOutput = stdout
            self.stdout = nil
        } else {
            let pipe = Pipe()
            process.standardOutput = pipe
            self.stdout = pipe
        }
        process.standardError = stderr
        self.secrets = secrets
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    func signal(_ number: Int32) {
        kill(pid, number)
    }

    /// Waits for the exit, at most `limit`; a process still running then is killed and its
    /// exitCode is nil. Every output is scanned for `secrets`.
    func finish(within limit: Duration) async -> Result {
        let watchdog = Task { [process] in
            try await Task.sleep(for: limit)
            guard process.isRunning else { return false }
            kill(process.processIdentifier, SIGKILL)
            return true
        }
        let (out, err, exitedAt) = await offload { [process, stdout, stderr] in
            let (out, err): (Data, Data) = if let stdout {
                readBoth(stdout, stderr)
            } else {
                (Data(), stderr.fileHandleForReading.readDataToEndOfFile())
            }
            process.waitUntilExit()
            return (out, err, ContinuousClock.now)
        }
        watchdog.cancel()
        let killed = (try? await watchdog.value) ?? false
        let result = Result(exitCode: killed ? nil : process.terminationStatus,
                            killedBySignal: process.terminationReason == .uncaughtSignal,
                            stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self),
                            exitedAt: exitedAt)
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
    let stdout = Pipe()
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.environment = ["PATH": "/usr/bin:/bin"].merging(environment) { $1 }
    process.standardOutput = stdout
    process.standardError = stderr
    process.standardInput = FileHandle.nullDevice
    try process.run()
    try await whileRunning(process.processIdentifier)
    let output = await offload { stdout.fileHandleForReading.readDataToEndOfFile() }
    process.waitUntilExit()
    withExtendedLifetime(stderr) {}
    return (process.terminationStatus, String(decoding: output, as: UTF8.self))
}
