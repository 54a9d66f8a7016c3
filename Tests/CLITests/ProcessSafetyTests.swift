import Foundation
import TestSupport
import Testing

/// What the process guarantees whatever happens inside it: no core dump to hold the password,
/// enough file descriptors or a clear refusal, and an end by --timeout + 1 s (or 1 s after a
/// signal) even when the run is stuck.
@Suite("Process safety: core dumps, open-file limit, backstop timer")
struct ProcessSafetyTests {
    /// The soft and hard "Max core file size" of a running process.
    static func coreLimits(pid: Int32) -> (soft: String, hard: String)? {
        guard let line = ProcFile.text("limits", pid: pid)?.split(separator: "\n").first(where: { $0.hasPrefix("Max core file size") }) else { return nil }
        let words = line.dropFirst("Max core file size".count).split(separator: " ")
        guard words.count >= 2 else { return nil }
        return (String(words[0]), String(words[1]))
    }

    @Test("no core dumps: core size limit 0, and the process is not dumpable (its /proc files are root's)")
    func coreDumpsDisabled() async throws {
        let listener = try SilentListener()
        // As an unprivileged user, so that the owner of /proc/PID/status shows the dumpable flag:
        // the files of a non-dumpable process belong to root.
        let unprivileged = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")
        let tool = ToolProcess.binary.path
        let arguments = ["--nodes", listener.address, "--timeout", "30s"]
        let run = unprivileged
            ? try await BoundedRun(["--reuid=65534", "--regid=65534", "--clear-groups", tool] + arguments,
                             executable: URL(fileURLWithPath: "/usr/bin/setpriv"))
            : try await BoundedRun(arguments)
        // The handlers are installed after the core settings, first thing in main.
        #expect(await run.waitUntilCatching(SIGTERM))
        let limits = Self.coreLimits(pid: run.pid)
        #expect(limits?.soft == "0" && limits?.hard == "0", "Max core file size: \(String(describing: limits))")
        if unprivileged || getuid() != 0 {
            var status = stat()
            #expect(stat("/proc/\(run.pid)/status", &status) == 0)
            let processUID = ProcFile.text("status", pid: run.pid)?.split(separator: "\n")
                .first { $0.hasPrefix("Uid:") }?.split(separator: "\t").dropFirst().first.map(String.init)
            #expect(processUID != "0", "the tool should run unprivileged here")
            #expect(status.st_uid == 0, "/proc/\(run.pid)/status belongs to uid \(status.st_uid): the process is still dumpable")
        }
        run.signal(SIGTERM)
        let result = await run.finish(within: .seconds(5))
        #expect(result.exitCode == 143, "stderr: \(result.stderr)")
    }

    /// Through /bin/sh, which lowers a limit first: `ulimit ARGS; exec tool arguments`.
    func runLimited(_ ulimit: String, _ arguments: [String]) async throws -> BoundedRun {
        try await BoundedRun(["-c", "ulimit \(ulimit) || exit 99; exec \"$0\" \"$@\"", ToolProcess.binary.path] + arguments,
                       executable: URL(fileURLWithPath: "/bin/sh"))
    }

    /// 50 members on loopback addresses whose port refuses connections.
    func fiftyNodes() throws -> String {
        let port = try SilentListener.closedPort()
        return (1...50).map { "127.0.0.\($0):\(port)" }.joined(separator: ",")
    }

    @Test("a hard open-file limit too low for 50 members: exit 70 at once, naming the limit, the need and ulimit -n")
    func hardLimitTooLow() async throws {
        let run = try await runLimited("-n 40", ["--nodes", try fiftyNodes(), "--timeout", "5s"])
        let result = await run.finish(within: .seconds(20))
        #expect(result.exitCode == 70, "killed: \(result.exitCode == nil), by signal: \(result.killedBySignal), stderr: \(result.stderr.suffix(800))")
        #expect(result.stderr.contains("open-file limit (RLIMIT_NOFILE) is 40, hard limit 40"), "\(result.stderr.suffix(800))")
        #expect(result.stderr.contains("may need 230 open files"))
        #expect(result.stderr.contains("2 × (50 + 50) + 30"))
        #expect(result.stderr.contains("ulimit -n 230"))
        #expect(!result.stderr.contains("connection error"))
    }

    @Test("a soft open-file limit too low: raised towards the hard limit, and the run goes on normally")
    func softLimitRaised() async throws {
        let run = try await runLimited("-S -n 40", ["--nodes", try fiftyNodes(), "--timeout", "3s"])
        let pid = run.pid
        let softLimit: @Sendable () -> Int? = { ProcFile.text("limits", pid: pid)?.split(separator: "\n").first { $0.hasPrefix("Max open files") }
            .flatMap { $0.dropFirst("Max open files".count).split(separator: " ").first.flatMap { Int($0) } } }
        let raised = await poll(.seconds(5)) { (softLimit() ?? 0) >= 230 }
        let soft = softLimit()
        let result = await run.finish(within: .seconds(20))
        #expect(raised, "soft limit while running: \(String(describing: soft))")
        #expect(result.exitCode == 69, "killed: \(result.exitCode == nil), by signal: \(result.killedBySignal), stderr: \(result.stderr.suffix(800))")
        #expect(!result.stderr.contains("connection error"))
        #expect(result.stderr.contains("connection refused"))
    }

    /// A pipe whose buffer is full and that nobody reads: a write to it blocks for ever, as to a
    /// log collector that stopped reading.
    static func blockedPipe() throws -> Pipe {
        let pipe = Pipe()
        let descriptor = pipe.fileHandleForWriting.fileDescriptor
        // F_SETPIPE_SZ, F_GETPIPE_SZ: the smallest buffer, then fill it exactly.
        _ = fcntl(descriptor, 1031, 4096)
        let size = Int(fcntl(descriptor, 1032))
        pipe.fileHandleForWriting.write(Data(repeating: UInt8(ascii: "."), count: size))
        return pipe
    }

    @Test("a run that cannot finish (its stdout blocked): ended by the backstop 1 s after --timeout, exit 70")
    func backstopEndsAStalledRun() async throws {
        let stdout = try Self.blockedPipe()
        let started = ContinuousClock.now
        let run = try await BoundedRun(["--nodes", "127.0.0.1:\(try SilentListener.closedPort())", "--timeout", "500ms", "--output", "json"], stdout: stdout)
        let result = await run.finish(within: .seconds(15))
        withExtendedLifetime(stdout) {}
        #expect(result.exitCode == 70, "killed after 15 s: \(result.exitCode == nil), stderr: \(result.stderr)")
        #expect(result.stderr.contains("internal error: the run was still going 1 s after --timeout"), "\(result.stderr)")
        // The message says the backstop's own timer ended it (a hang is killed at 15 s); a
        // busy machine only makes it later, so the lower bound is the one that holds.
        #expect(result.exitedAt - started >= .milliseconds(1400), "ended before its time: \(result.exitedAt - started)")
    }

    @Test("standard input left open: the backstop ends the wait 1 s after --timeout, exit 70")
    func backstopEndsAnEndlessInput() async throws {
        let input = Pipe()
        let listener = try SilentListener()
        let started = ContinuousClock.now
        let run = try await BoundedRun(["--nodes", listener.address, "--config", "/dev/stdin", "--timeout", "500ms"], stdin: input)
        let result = await run.finish(within: .seconds(15))
        withExtendedLifetime(input) {}
        #expect(result.exitCode == 70, "killed after 15 s: \(result.exitCode == nil), stderr: \(result.stderr)")
        #expect(result.stderr.contains("internal error: the input was still being read 1 s after --timeout"), "\(result.stderr)")
        #expect(result.exitedAt - started >= .milliseconds(1400), "ended before its time: \(result.exitedAt - started)")
        #expect(!listener.wasContacted)
    }

    @Test("a normal --timeout still ends with the state machine's 69, not the backstop", arguments: [false, true])
    func timeoutIsStillSixtyNine(silentNode: Bool) async throws {
        // A node that refuses, or one that accepts and never answers (a libmongoc call blocked).
        let listener = try SilentListener()
        let node = silentNode ? listener.address : "127.0.0.1:\(try SilentListener.closedPort())"
        let started = ContinuousClock.now
        let run = try await BoundedRun(["--nodes", node, "--timeout", "1s"])
        let result = await run.finish(within: .seconds(15))
        #expect(result.exitCode == 69, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("gave up at the --timeout of 1s"), "\(result.stderr)")
        // Not the backstop: the tool's own clock saw it end within 1 s after --timeout.
        #expect(!result.stderr.contains("backstop"))
        #expect(result.exitedAt - started >= .seconds(1), "gave up before --timeout: \(result.exitedAt - started)")
    }

    /// A small address space starves the runtime of threads or memory; on this machine about
    /// 100 MB stalls the run (it once hung past --timeout), more lets it end normally. Which
    /// limit does what depends on the build, so the test asks only that every one ends in time.
    @Test("under an address-space limit (ulimit -v) the run ends by --timeout + 1 s: 69, or 70 when stalled",
          arguments: [100_000, 150_000, 200_000, 300_000])
    func addressSpaceLimit(kilobytes: Int) async throws {
        let run = try await runLimited("-v \(kilobytes)", ["--nodes", "127.0.0.1:\(try SilentListener.closedPort())", "--timeout", "1s"])
        let result = await run.finish(within: .seconds(15))
        #expect(result.exitCode != nil, "still running after 15 s, stderr: \(result.stderr.suffix(500))")
        #expect(!result.killedBySignal, "ended by signal \(result.exitCode ?? 0), stderr: \(result.stderr.suffix(500))")
        // 127: too little to load the program at all.
        // 69 or 70: ended by --timeout or by the backstop 1 s later, by the tool's own clock.
        #expect([69, 70, 127].contains(result.exitCode ?? -1), "exit \(String(describing: result.exitCode)), stderr: \(result.stderr.suffix(500))")
    }

    @Test("SIGTERM to a run that cannot stop (its stdout blocked): exit 143 within 1 s anyway")
    func signalEndsAStalledRun() async throws {
        let stdout = try Self.blockedPipe()
        let listener = try SilentListener()
        let run = try await BoundedRun(["--nodes", listener.address, "--timeout", "1m", "--output", "json"], stdout: stdout)
        // In the run, not before it (a signal then ends the tool at once anyway).
        #expect(await RunStarted.wait(forConnectionTo: listener.port))
        try await Task.sleep(for: .milliseconds(100))
        let sent = ContinuousClock.now
        run.signal(SIGTERM)
        let result = await run.finish(within: .seconds(10))
        withExtendedLifetime(stdout) {}
        #expect(result.exitCode == 143, "killed after 10 s: \(result.exitCode == nil), stderr: \(result.stderr)")
        #expect(result.stderr.contains("interrupted by SIGTERM; the run did not stop in time and was ended at once"), "\(result.stderr)")
        // The message says the backstop ended it at once; --timeout (1 m) is what a hang would take.
        #expect(result.exitedAt - sent < .seconds(10), "took \(result.exitedAt - sent)")
    }
}
