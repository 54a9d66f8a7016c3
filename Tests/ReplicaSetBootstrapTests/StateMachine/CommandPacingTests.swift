import Testing
@testable import ReplicaSetBootstrap

@Suite("State machine: command pacing")
struct CommandPacingTests {
    @Test("a burst goes out at once, then one command per interval")
    func burstThenRate() {
        var pacing = CommandPacing(burst: 3, interval: .milliseconds(100))
        #expect(pacing.schedule(cost: 1, at: .zero) == .zero)
        #expect(pacing.schedule(cost: 1, at: .zero) == .zero)
        #expect(pacing.schedule(cost: 1, at: .milliseconds(1)) == .milliseconds(1))
        #expect(pacing.schedule(cost: 1, at: .milliseconds(1)) == .milliseconds(100))
        #expect(pacing.schedule(cost: 1, at: .milliseconds(1)) == .milliseconds(200))
        // After a quiet spell the burst is available again.
        #expect(pacing.schedule(cost: 1, at: .seconds(10)) == .seconds(10))
        #expect(pacing.schedule(cost: 2, at: .seconds(10)) == .seconds(10))
        #expect(pacing.schedule(cost: 1, at: .seconds(10)) == .seconds(10) + .milliseconds(100))
    }

    @Test("what never reached the node is given back")
    func refund() {
        var pacing = CommandPacing(burst: 2, interval: .milliseconds(100))
        for _ in 0..<50 {
            #expect(pacing.schedule(cost: 2, at: .zero) == .zero)
            pacing.refund(cost: 2)
        }
    }

    @Test("a node that answers awaitable hello at once, forever, gets a few commands a second, not thousands")
    func awaitableHelloFlood() {
        var machine = Machine(configuration([a, b]))
        _ = machine.start(at: .zero)
        _ = machine.helloFailed(.refused(b), from: b, at: .milliseconds(1))
        var now = Duration.milliseconds(1)
        var sent = 0
        var actions: [Action] = []
        // Each answer comes 1 ms after the command is sent, whatever maxAwaitTimeMS says.
        while now < .seconds(10) {
            actions = machine.helloReceived(.noConfig(Int64(sent)), from: a, at: now)
            sent += 1
            let delay = actions.compactMap { action -> Duration? in
                switch action {
                case .send(.awaitHello, to: a): return .zero
                case .sendLater(.awaitHello, to: a, let after): return after
                default: return nil
                }
            }.first
            guard let delay else { break }
            now += delay + .milliseconds(1)
        }
        #expect(sent <= 16 + 4 * 10 + 1, "\(sent) hellos in 10 s")
        #expect(sent >= 16 + 4 * 9, "paced too hard: \(sent) hellos in 10 s")
    }
}
