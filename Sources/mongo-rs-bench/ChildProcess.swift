import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The tool as a user runs it: a child process started with `posix_spawn`, its output going to
/// files (nothing to drain while it runs), reaped by `wait4` on a thread of its own that reads
/// the clock the moment the child is gone. The simulator in this process uses the same
/// `ContinuousClock`, so its event and command times compare with `spawnedAt` and `exitedAt`.
///
/// Peak memory needs a detour. Linux starts a new process's `ru_maxrss` at the peak of the
/// address space it replaced at `execve`: after `posix_spawn` (vfork) that is this process's, with
/// the simulated members and their logs in it, so `wait4` would report the larger of the two. So
/// `.throughLauncher` runs start the tool from a small launcher process, GNU time (`/usr/bin/time`,
/// about 1.5 MiB, which forks, waits with `wait4` and reports the child's `ru_maxrss`). Those runs
/// are for memory only: their exit is seen one process later.
final class ChildProcess: Sendable {
    enum Mode: Sendable {
        case direct
        case throughLauncher
    }

    struct Result: Sendable {
        /// The exit code, or 128 + the signal that ended it.
        var exitCode: Int32
        var spawnedAt: ContinuousClock.Instant
        var exitedAt: ContinuousClock.Instant
        /// `ru_maxrss` of the tool, in KiB, from the launcher's `wait4`; nil for direct runs.
        var maxRSSKiB: Int?
        /// What `wait4` gave this process as the child's `ru_maxrss` (inflated for direct runs; see above).
        var waitMaxRSSKiB: Int
        /// CPU time the tool used, user and system (`ru_utime` + `ru_stime`); direct runs only.
        var cpuTime: Duration
        var stdout: String
        var stderr: String

        var wallTime: Duration { spawnedAt.duration(to: exitedAt) }
    }

    struct SpawnError: Error, CustomStringConvertible {
        var description: String
    }

    let pid: pid_t
    /// The program's file name, for messages.
    let program: String
    let spawnedAt: ContinuousClock.Instant
    let mode: Mode
    private let outputFolder: URL
    private let state = Shared()

    private struct State {
        var reaped: (status: Int32, at: ContinuousClock.Instant, cpu: Duration, maxRSS: Int)?
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    /// The state the reaping thread and the waiters share.
    private final class Shared: Sendable {
        let mutex = Mutex(State())

        func withLock<T>(_ body: (inout State) -> T) -> T {
            mutex.withLock { body(&$0) }
        }
    }

    /// Starts `executable` with `arguments` and an environment of only `PATH`.
    init(_ executable: String, _ arguments: [String], mode: Mode = .direct) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mongo-rs-bench-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        outputFolder = folder
        self.mode = mode
        self.program = URL(fileURLWithPath: executable).lastPathComponent

        let program: String, programArguments: [String]
        switch mode {
        case .direct:
            (program, programArguments) = (executable, arguments)
        case .throughLauncher:
            (program, programArguments) = (Self.launcher, ["-f", "%M", "-o", folder.appendingPathComponent("usage").path, executable] + arguments)
        }
        var child: pid_t = 0
        let started = ContinuousClock.now
        let status = Self.spawn(program, programArguments, pid: &child) { actions in
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, folder.appendingPathComponent("stdout").path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            posix_spawn_file_actions_addopen(&actions, 2, folder.appendingPathComponent("stderr").path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        }
        guard status == 0 else { throw SpawnError(description: "cannot start \(program): \(String(cString: strerror(status)))") }
        pid = child
        spawnedAt = started

        let pid = child
        let thread = Thread { [state] in
            let (status, usage) = Self.reap(pid)
            let exitedAt = ContinuousClock.now
            let waiters = state.withLock { state in
                state.reaped = (status, exitedAt, Self.cpuTime(usage), Int(usage.ru_maxrss))
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
        thread.name = "wait4 \(pid)"
        thread.qualityOfService = .userInteractive
        thread.start()
    }

    /// `posix_spawn` with an environment of only `PATH` and no descriptor above 2 inherited.
    static func spawn(_ program: String, _ arguments: [String], pid: inout pid_t,
                      files: (inout posix_spawn_file_actions_t) -> Void = { _ in }) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        files(&actions)
        // The simulator's sockets stay with the simulator (glibc 2.34+; Swift does not import it).
        if let closeFrom = addCloseFrom { _ = closeFrom(&actions, 3) }
        let argv: [UnsafeMutablePointer<CChar>?] = ([program] + arguments).map { strdup($0) } + [nil]
        let environment: [String] = ["PATH=/usr/bin:/bin"]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        return posix_spawn(&pid, program, &actions, nil, argv, envp)
    }

    static func reap(_ pid: pid_t) -> (status: Int32, usage: rusage) {
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        return (status, usage)
    }

    static func cpuTime(_ usage: rusage) -> Duration {
        func duration(_ time: timeval) -> Duration { .seconds(Int64(time.tv_sec)) + .microseconds(Int64(time.tv_usec)) }
        return duration(usage.ru_utime) + duration(usage.ru_stime)
    }

    /// The exit code of a `wait4` status (WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does
    /// not import as functions), or 128 + the signal.
    static func exitCode(_ status: Int32) -> Int32 {
        status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let addCloseFrom: AddCloseFrom? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
        .map { unsafeBitCast($0, to: AddCloseFrom.self) }

    /// GNU time (Debian package `time`).
    static let launcher = "/usr/bin/time"

    var isRunning: Bool { state.withLock { $0.reaped == nil } }

    /// Waits for the child to exit and collects its output.
    func finished() async -> Result {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state in
                if state.reaped != nil { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
        let reaped = state.withLock { $0.reaped! }
        func read(_ name: String) -> String {
            (try? String(contentsOf: outputFolder.appendingPathComponent(name), encoding: .utf8)) ?? ""
        }
        var result = Result(exitCode: Self.exitCode(reaped.status), spawnedAt: spawnedAt, exitedAt: reaped.at, waitMaxRSSKiB: reaped.maxRSS, cpuTime: reaped.cpu,
                            stdout: read("stdout"), stderr: read("stderr"))
        if mode == .throughLauncher {
            // GNU time's "%M" is the last line (after "Command exited with non-zero status N").
            result.maxRSSKiB = read("usage").split(separator: "\n").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            result.cpuTime = .zero
        }
        try? FileManager.default.removeItem(at: outputFolder)
        return result
    }

    func kill(_ signal: Int32 = SIGKILL) {
        if isRunning { _ = Glibc.kill(pid, signal) }
    }
}
