import Foundation
import TestSupport
import Testing

/// libmongoc logs its start-up warnings before main (its constructor calls mongoc_init): they
/// must reach stderr as progress lines like any other, in the format asked for.
@Suite("libmongoc's own log goes through the progress log")
struct LibmongocLogTests {
    static var canUnshare: Bool {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare")
    }

    /// The tool in a mount namespace of its own where /dev/shm is a read-only tmpfs, so
    /// libmongoc cannot make its counter file there and warns, at start-up.
    func runWithReadOnlyShm(_ arguments: [String]) async throws -> BoundedRun.Result {
        let script = "mount -t tmpfs -o ro tmpfs /dev/shm || exit 99; exec \"$0\" \"$@\""
        let run = try await BoundedRun(["-m", "/bin/sh", "-c", script, ToolProcess.binary.path] + arguments,
                                 executable: URL(fileURLWithPath: "/usr/bin/unshare"))
        return await run.finish(within: .seconds(20))
    }

    @Test("/dev/shm not writable, --log-format json: every stderr line is JSON, the counters warning among them",
          .enabled(if: canUnshare, "needs root and unshare"))
    func readOnlyShmJSON() async throws {
        let port = try SilentListener.closedPort()
        let result = try await runWithReadOnlyShm(["--nodes", "127.0.0.1:\(port)", "--timeout", "200ms", "--log-format", "json"])
        #expect(result.exitCode == 69, "stderr: \(result.stderr)")
        let lines = jsonLines(result.stderr)
        let warning = lines.first { $0["event"] as? String == "libmongoc" }
        #expect((warning?["message"] as? String)?.contains("Falling back to malloc for counters") == true, "\(result.stderr)")
        #expect(warning?["level"] as? String == "warning")
        #expect(lines.last?["level"] as? String == "error")
    }

    @Test("/dev/shm not writable, text: the warning is a progress line, not libmongoc's raw one",
          .enabled(if: canUnshare, "needs root and unshare"))
    func readOnlyShmText() async throws {
        let port = try SilentListener.closedPort()
        let result = try await runWithReadOnlyShm(["--nodes", "127.0.0.1:\(port)", "--timeout", "200ms"])
        #expect(result.exitCode == 69, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("] warning: libmongoc mongoc: Falling back to malloc for counters."), "\(result.stderr)")
        #expect(!result.stderr.contains("WARNING:"), "\(result.stderr)")
        // --quiet keeps errors only.
        let quiet = try await runWithReadOnlyShm(["--nodes", "127.0.0.1:\(port)", "--timeout", "200ms", "--quiet"])
        #expect(!quiet.stderr.contains("Falling back"), "\(quiet.stderr)")
    }

    @Test("bad input with /dev/shm not writable, --output json --log-format json: still JSON only",
          .enabled(if: canUnshare, "needs root and unshare"))
    func readOnlyShmBadInput() async throws {
        let result = try await runWithReadOnlyShm(["--nodes", "127.0.0.1:1", "--timeout", "soon", "--output", "json", "--log-format", "json"])
        #expect(result.exitCode == 64, "stderr: \(result.stderr)")
        let lines = jsonLines(result.stderr)
        #expect(lines.count == 2, "\(result.stderr)")
        #expect(resultDocument(result.stdout)["exitCode"] as? Int == 64)
    }

    @Test("libmongoc's start-up warning to a stderr nobody reads: still ended by the backstop",
          .enabled(if: canUnshare, "needs root and unshare"))
    func readOnlyShmBlockedStderr() async throws {
        let script = "mount -t tmpfs -o ro tmpfs /dev/shm || exit 99; exec \"$0\" \"$@\""
        let (code, stdout) = try await runWithBlockedStderr(
            ["-m", "/bin/sh", "-c", script, ToolProcess.binary.path, "--nodes", "127.0.0.1:1", "--timeout", "300ms", "--output", "json"],
            executable: URL(fileURLWithPath: "/usr/bin/unshare"), environment: [:])
        // 70, internalError: the backstop's timer, 1 s after --timeout by the tool's own clock.
        #expect(code == 70)
        #expect(resultDocument(stdout)["outcome"] as? String == "internalError")
    }
}
