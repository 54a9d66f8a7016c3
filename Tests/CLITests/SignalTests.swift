import Foundation
import TestSupport
import Testing

/// SIGTERM (Kubernetes stopping the Job) and SIGINT (Ctrl-C) end a run promptly and cleanly.
@Suite("Signals")
struct SignalTests {
    @Test("SIGTERM mid-run: exit 143 within a second, saying so", arguments: [(SIGTERM, Int32(143), "SIGTERM"), (SIGINT, Int32(130), "SIGINT")])
    func interrupted(signal: Int32, expectedCode: Int32, name: String) async throws {
        // A node that accepts connections and never answers keeps the run waiting in libmongoc.
        let listener = try SilentListener()
        let running = try ToolProcess.start(["--nodes", listener.address, "--timeout", "1m", "--output", "json"])
        // Waiting for the exit starts now, so the exit is seen when it happens.
        let finished = Task { await running.finished() }
        try await Task.sleep(for: .milliseconds(500))
        let sent = ContinuousClock.now
        running.signal(signal)
        let result = await finished.value
        let took = result.exitedAt - sent
        #expect(result.exitCode == expectedCode, "stderr: \(result.stderr)")
        #expect(took < .seconds(1), "took \(took) to stop")
        #expect(result.stderr.contains("interrupted by \(name)"))
        #expect(result.stderr.contains("nothing was written"))
        #expect(result.stdout.contains("\"outcome\" : \"interrupted\""))
        #expect(result.stdout.contains("\"exitCode\" : \(expectedCode)"))
    }
}
