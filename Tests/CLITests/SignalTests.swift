import Foundation
import TestSupport
import Testing

/// SIGTERM (Kubernetes stopping the Job) and SIGINT (Ctrl-C) end a run promptly and cleanly.
@Suite("Signals")
struct SignalTests {
    @Test("SIGTERM mid-run: exit 143 at once, not after the blocked call, saying so",
          arguments: [(SIGTERM, Int32(143), "SIGTERM"), (SIGINT, Int32(130), "SIGINT")])
    func interrupted(signal: Int32, expectedCode: Int32, name: String) async throws {
        let (result, took) = try await interruptRun(signal)
        #expect(result.exitCode == expectedCode, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("interrupted by \(name)"))
        #expect(result.stderr.contains("nothing was written"))
        #expect(result.stdout.contains("\"outcome\" : \"interrupted\""))
        #expect(result.stdout.contains("\"exitCode\" : \(expectedCode)"))
        // Alone it stops in milliseconds; waiting out the blocked call would take the command
        // timeout (60 s) or --timeout (1 m). 10 s tells them apart on however busy a machine.
        #expect(took < .seconds(10), "took \(took) to stop")
    }

    /// A run against a node that accepts connections and never answers (so the run waits in
    /// libmongoc), interrupted after half a second.
    private func interruptRun(_ signal: Int32) async throws -> (ToolProcess.Result, Duration) {
        let listener = try SilentListener()
        let running = try await ToolProcess.start(["--nodes", listener.address, "--timeout", "1m", "--output", "json"])
        // Waiting for the exit starts now, so the exit is seen when it happens.
        let finished = Task { await running.finished() }
        #expect(try await running.waitUntilCatching(signal), "the tool never installed a handler for signal \(signal)")
        // A signal before the run ends the tool at once, without a report: wait for the run to
        // connect to the node, then let it get into its wait for the silent node.
        #expect(await RunStarted.wait(forConnectionTo: listener.port), "the run never connected")
        try await Task.sleep(for: .milliseconds(100))
        let sent = ContinuousClock.now
        running.signal(signal)
        let result = await finished.value
        return (result, result.exitedAt - sent)
    }
}
