import Foundation
import TestSupport
import Testing

/// SIGTERM (Kubernetes stopping the Job) and SIGINT (Ctrl-C) end a run promptly and cleanly.
@Suite("Signals")
struct SignalTests {
    @Test("SIGTERM mid-run: exit 143 within a second, saying so", arguments: [(SIGTERM, Int32(143), "SIGTERM"), (SIGINT, Int32(130), "SIGINT")])
    func interrupted(signal: Int32, expectedCode: Int32, name: String) throws {
        // A node that accepts connections and never answers keeps the run waiting in libmongoc.
        let listener = try SilentListener()
        let running = try ToolProcess.start(["--nodes", listener.address, "--timeout", "1m", "--output", "json"])
        Thread.sleep(forTimeInterval: 0.5)
        let sent = Date()
        running.signal(signal)
        let result = running.finish()
        let took = Date().timeIntervalSince(sent)
        #expect(result.exitCode == expectedCode, "stderr: \(result.stderr)")
        #expect(took < 1.0, "took \(took) s to stop")
        #expect(result.stderr.contains("interrupted by \(name)"))
        #expect(result.stderr.contains("nothing was written"))
        #expect(result.stdout.contains("\"outcome\" : \"interrupted\""))
        #expect(result.stdout.contains("\"exitCode\" : \(expectedCode)"))
    }
}
