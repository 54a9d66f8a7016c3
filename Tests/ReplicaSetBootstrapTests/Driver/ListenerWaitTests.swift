import Foundation
@testable import ReplicaSetBootstrap
import TestSupport
import Testing

/// The wait for a member that refuses connections (mongod still starting): probes until it
/// listens, reports one refusal when it never does, and stops when the run closes.
@Suite("Listener wait")
struct ListenerWaitTests {
    @Test("a port that starts listening during the wait is seen: accepts, before the budget")
    func listenerAppears() async throws {
        let port = try SilentListener.closedPort()
        let wait = ListenerWait(interval: .milliseconds(5), budget: .seconds(60))
        let late = Task.detached { () -> SilentListener? in
            try? await Task.sleep(for: .milliseconds(100))
            return try? SilentListener(port: port)
        }
        let verdict = await Task.detached { wait.wait(for: HostAddress(host: "127.0.0.1", port: Int(port)), stop: { false }) }.value
        let listener = await late.value
        #expect(listener != nil, "port \(port) was taken meanwhile")
        #expect(verdict == .accepts)
    }

    @Test("a port that keeps refusing: refused once the budget is spent, one probe per interval")
    func keepsRefusing() throws {
        let port = try SilentListener.closedPort()
        let probes = ProbeCount()
        let wait = ListenerWait(interval: .milliseconds(5), budget: .milliseconds(100))
        let verdict = wait.wait(for: HostAddress(host: "127.0.0.1", port: Int(port)), stop: { probes.counting(stop: false) })
        #expect(verdict == .refused)
        // A pause between probes, not a busy loop: at most budget / interval of them.
        #expect((2...20).contains(probes.count), "\(probes.count) probes in 100 ms")
    }

    @Test("a closing run stops the wait at the next probe")
    func stops() throws {
        let port = try SilentListener.closedPort()
        let wait = ListenerWait(interval: .milliseconds(5), budget: .seconds(60))
        let probes = ProbeCount()
        let verdict = wait.wait(for: HostAddress(host: "127.0.0.1", port: Int(port)), stop: { probes.counting(stop: probes.count + 1 >= 3) })
        #expect(verdict == .refused)
        #expect(probes.count == 3)
    }

    @Test("a name that does not resolve is left to libmongoc to report")
    func unresolvable() {
        let wait = ListenerWait(interval: .milliseconds(5), budget: .seconds(60))
        #expect(wait.wait(for: HostAddress(host: "no-such-host.invalid", port: 27017), stop: { false }) == .accepts)
    }

    /// How often the wait asked whether to stop: once per refused round of probes.
    final class ProbeCount: @unchecked Sendable {
        private(set) var count = 0

        func counting(stop: Bool) -> Bool {
            count += 1
            return stop
        }
    }
}
