import Foundation
import TestSupport
import Testing

/// Parses every stderr line as a JSON object; records an issue for each line that is not one.
func jsonLines(_ stderr: String, sourceLocation: SourceLocation = #_sourceLocation) -> [[String: Any]] {
    stderr.split(separator: "\n").compactMap { line in
        let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        if object == nil { Issue.record("a stderr line that is not a JSON object: \(line)", sourceLocation: sourceLocation) }
        return object
    }
}

/// The one JSON document on stdout; records an issue when stdout is not exactly one.
func resultDocument(_ stdout: String, sourceLocation: SourceLocation = #_sourceLocation) -> [String: Any] {
    let lines = stdout.split(separator: "\n")
    #expect(lines.count == 1, "expected one line on stdout: \(stdout)", sourceLocation: sourceLocation)
    let object = (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any]
    #expect(object != nil, "stdout is not a JSON document: \(stdout)", sourceLocation: sourceLocation)
    return object ?? [:]
}

/// `--output json`: exactly one JSON document on stdout whatever ends the process, with the exit
/// code in it; `--log-format json`: every stderr line a JSON object.
@Suite("Output for machines: one document on every exit, JSON on every stderr line")
struct OutputFormatTests {
    struct BadInput: CustomTestStringConvertible, Sendable {
        var arguments: [String]
        var environment: [String: String] = [:]
        /// What the reason must name.
        var mentions: String
        var testDescription: String { (environment.map { "\($0.key)=\($0.value)" } + arguments).joined(separator: " ") }
    }

    /// Bad input found by the tool and by ArgumentParser, the formats given every way.
    static let badInputs: [BadInput] = [
        BadInput(arguments: ["--nodes", "127.0.0.1:1", "--timeout", "soon", "--output", "json", "--log-format", "json"], mentions: "--timeout"),
        BadInput(arguments: ["--output=json", "--log-format=json", "--nodes", "127.0.0.1:1", "--timeout", "soon"], mentions: "--timeout"),
        BadInput(arguments: ["--nodes", "127.0.0.1:1"], environment: ["MONGO_RS_OUTPUT": "json", "MONGO_RS_LOG_FORMAT": "JSON", "MONGO_RS_TIMEOUT": "soon"],
                 mentions: "MONGO_RS_TIMEOUT"),
        BadInput(arguments: ["--nodes", "127.0.0.1:1", "--nodez", "x", "--output", "json", "--log-format", "json"], mentions: "--nodez"),
        BadInput(arguments: ["--output", "json", "--log-format", "json"], mentions: "no nodes given"),
        BadInput(arguments: ["--nodes", "127.0.0.1:1", "--password", "--output", "--output", "json", "--log-format", "json"], mentions: "--password"),
        BadInput(arguments: ["--nodes", "127.0.0.1:1", "--dry-run=yes", "--output", "json", "--log-format", "json"], mentions: "--dry-run"),
    ]

    @Test("bad input: exit 64, one document naming the input, every stderr line JSON", arguments: badInputs)
    func badInput(_ input: BadInput) async throws {
        let result = try await ToolProcess.run(input.arguments, environment: input.environment)
        #expect(result.exitCode == 64, "stderr: \(result.stderr)")
        let document = resultDocument(result.stdout)
        #expect(document["outcome"] as? String == "badInput")
        #expect(document["exitCode"] as? Int == 64)
        #expect((document["reason"] as? String)?.contains(input.mentions) == true, "\(document)")
        #expect((document["actions"] as? [Any])?.isEmpty == true)
        #expect(document["elapsedMs"] is Int)
        // libmongoc may warn at start-up (a stale counter file in /dev/shm with this PID): a JSON
        // line too, but not an error.
        let errors = jsonLines(result.stderr).filter { $0["level"] as? String == "error" }
        #expect(errors.count == 1, "\(result.stderr)")
        #expect((errors.first?["message"] as? String)?.contains(input.mentions) == true, "\(result.stderr)")
    }

    @Test("bad input in text: the error as before, nothing on stdout")
    func badInputText() async throws {
        let result = try await ToolProcess.run(["--nodes", "127.0.0.1:1", "--timeout", "soon"])
        #expect(result.exitCode == 64)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("mongo-rs-bootstrap: --timeout: 'soon' is not a duration"), "\(result.stderr)")
    }

    @Test("deadline passed: exit 69, one document with exitCode, every stderr line JSON")
    func timedOut() async throws {
        let port = try SilentListener.closedPort()
        let result = try await ToolProcess.run(["--nodes", "127.0.0.1:\(port)", "--timeout", "300ms", "--output", "json", "--log-format", "json",
                                                "--bypass-quorum-check"])
        #expect(result.exitCode == 69)
        let document = resultDocument(result.stdout)
        #expect(document["outcome"] as? String == "timedOut")
        #expect(document["exitCode"] as? Int == 69)
        let lines = jsonLines(result.stderr)
        #expect(lines.contains { $0["level"] as? String == "warning" && ($0["message"] as? String)?.contains("--bypass-quorum-check") == true })
        #expect(lines.last?["level"] as? String == "error")
        #expect((lines.last?["message"] as? String)?.contains("gave up at the --timeout of 300ms") == true, "\(result.stderr)")
    }

    @Test("a signal before the run (reading /dev/stdin): exit 143/130 with one document and a JSON line",
          arguments: [(SIGTERM, Int32(143), "SIGTERM"), (SIGINT, Int32(130), "SIGINT")])
    func signalBeforeRun(signal: Int32, code: Int32, name: String) async throws {
        let input = Pipe()
        let listener = try SilentListener()
        let run = try await BoundedRun(["--nodes", listener.address, "--config", "/dev/stdin"], environment: ["MONGO_RS_OUTPUT": "json", "MONGO_RS_LOG_FORMAT": "json"],
                                 stdin: input)
        #expect(await run.waitUntilCatching(signal))
        try await Task.sleep(for: .milliseconds(300))
        run.signal(signal)
        let result = await run.finish(within: .seconds(5))
        withExtendedLifetime(input) {}
        #expect(result.exitCode == code, "stderr: \(result.stderr)")
        let document = resultDocument(result.stdout)
        #expect(document["outcome"] as? String == "interrupted")
        #expect(document["signal"] as? String == name)
        #expect(document["exitCode"] as? Int == Int(code))
        #expect((document["actions"] as? [Any])?.isEmpty == true)
        #expect((document["elapsedMs"] as? Int ?? -1) >= 300, "\(document)")
        let lines = jsonLines(result.stderr).filter { $0["level"] as? String == "error" }
        #expect(lines.count == 1, "\(result.stderr)")
        #expect((lines.first?["message"] as? String)?.contains("interrupted by \(name) before the run started") == true)
        #expect((lines.first?["time"] as? String)?.count == "2026-01-01T00:00:00.000Z".count, "\(result.stderr)")
    }

    @Test("the backstop ends a stalled input: exit 70 with one document and a JSON line")
    func backstopInput() async throws {
        let input = Pipe()
        let listener = try SilentListener()
        let run = try await BoundedRun(["--nodes", listener.address, "--config", "/dev/stdin", "--timeout", "300ms", "--output", "json", "--log-format", "json"],
                                 stdin: input)
        let result = await run.finish(within: .seconds(15))
        withExtendedLifetime(input) {}
        #expect(result.exitCode == 70, "stderr: \(result.stderr)")
        let document = resultDocument(result.stdout)
        #expect(document["outcome"] as? String == "internalError")
        #expect(document["exitCode"] as? Int == 70)
        #expect((document["reason"] as? String)?.contains("the input was still being read 1 s after --timeout") == true)
        #expect((document["elapsedMs"] as? Int ?? 0) >= 1300, "\(document)")
        let lines = jsonLines(result.stderr).filter { $0["level"] as? String == "error" }
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(lines.first?["event"] as? String == "internalError")
    }

    @Test("the backstop ends a stalled run (stderr blocked): exit 70 with one document")
    func backstopRun() async throws {
        let (code, stdout) = try await runWithBlockedStderr(["--nodes", "127.0.0.1:\(try SilentListener.closedPort())", "--timeout", "500ms",
                                                            "--output", "json", "--replica-set", "rsX"])
        #expect(code == 70)
        let document = resultDocument(stdout)
        #expect(document["outcome"] as? String == "internalError")
        #expect(document["replicaSet"] as? String == "rsX")
        #expect(document["exitCode"] as? Int == 70)
        #expect((document["reason"] as? String)?.contains("the run was still going 1 s after --timeout") == true)
    }

    @Test("SIGTERM to a run that cannot stop (stderr blocked, --quiet): one document, exit 143")
    func signalToStalledRun() async throws {
        let listener = try SilentListener()
        // Quiet, so that the run gets going; its final error line then blocks, and the backstop
        // ends it.
        let (code, stdout) = try await runWithBlockedStderr(["--nodes", listener.address, "--timeout", "1m", "--output", "json", "--quiet"]) { pid in
            #expect(await RunStarted.wait(forConnectionTo: listener.port))
            try await Task.sleep(for: .milliseconds(100))
            kill(pid, SIGTERM)
        }
        #expect(code == 143)
        let document = resultDocument(stdout)
        #expect(document["outcome"] as? String == "interrupted")
        #expect(document["exitCode"] as? Int == 143)
        #expect((document["reason"] as? String)?.contains("the run did not stop in time") == true, "\(document)")
        #expect(document["actions"] == nil, "a signal handler cannot know what was sent")
    }

    @Test("an open-file limit too low: exit 70 with one document naming it")
    func openFileLimit() async throws {
        let port = try SilentListener.closedPort()
        let nodes = (1...50).map { "127.0.0.\($0):\(port)" }.joined(separator: ",")
        let run = try await BoundedRun(["-c", "ulimit -n 40 || exit 99; exec \"$0\" \"$@\"", ToolProcess.binary.path, "--nodes", nodes, "--timeout", "5s",
                                  "--output", "json", "--log-format", "json"], executable: URL(fileURLWithPath: "/bin/sh"))
        let result = await run.finish(within: .seconds(20))
        #expect(result.exitCode == 70, "stderr: \(result.stderr.suffix(800))")
        let document = resultDocument(result.stdout)
        #expect(document["outcome"] as? String == "internalError")
        #expect(document["replicaSet"] as? String == "rs0")
        #expect((document["reason"] as? String)?.contains("ulimit -n 230") == true)
        #expect(jsonLines(result.stderr).last?["level"] as? String == "error")
    }

    @Test("an interrupted run's message gives the time in the unit that fits: 1.2s, not 1234ms (or 0h)")
    func interruptedDuration() async throws {
        let listener = try SilentListener()
        let running = try await ToolProcess.start(["--nodes", listener.address, "--timeout", "1m"])
        let finished = Task { await running.finished() }
        #expect(await RunStarted.wait(forConnectionTo: listener.port))
        try await Task.sleep(for: .milliseconds(1200))
        running.signal(SIGINT)
        let result = await finished.value
        #expect(result.exitCode == 130)
        let message = result.stderr.split(separator: "\n").first { $0.contains("interrupted by SIGINT after") }.map(String.init) ?? ""
        #expect(message.range(of: #"after [1-9](\.[0-9]{1,3})?s; nothing was written"#, options: .regularExpression) != nil, "\(result.stderr)")
    }

    @Test("--debug against a node that refuses for 3 s: a bounded number of lines, with counts")
    func debugRate() async throws {
        let port = try SilentListener.closedPort()
        let result = try await ToolProcess.run(["--nodes", "127.0.0.1:\(port)", "--timeout", "3s", "--debug"])
        #expect(result.exitCode == 69)
        let debugLines = result.stderr.split(separator: "\n").filter { $0.contains("] debug ") }
        // Hundreds of reconnects a second: shown 1, 2, 4, 8, … times, each direction.
        #expect(debugLines.count <= 40, "\(debugLines.count) debug lines:\n\(result.stderr.prefix(3000))")
        #expect(debugLines.contains { $0.contains("← 127.0.0.1:\(port) error:") && $0.contains("times so far; shown again at") }, "\(result.stderr.prefix(3000))")
        #expect(debugLines.contains { $0.contains("→ 127.0.0.1:\(port) hello") })
    }
}
