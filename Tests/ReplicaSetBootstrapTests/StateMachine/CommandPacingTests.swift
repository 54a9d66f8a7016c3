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
        let pacing = Machine.Configuration.defaultPacing
        let steady = Int(Duration.seconds(10) / pacing.interval)
        #expect(sent <= pacing.burst + steady + 1, "\(sent) hellos in 10 s")
        #expect(sent >= pacing.burst + steady - 2, "paced too hard: \(sent) hellos in 10 s")
        #expect(sent <= 40, "more than 4 a second: \(sent) hellos in 10 s")
    }

    @Test("answers that tell something new never wait: 200 state changes in a row go out at once")
    func changesAreFree() {
        var machine = Machine(configuration([a, b]))
        _ = machine.start(at: .zero)
        _ = machine.helloFailed(.refused(b), from: b, at: .milliseconds(1))
        let states: [MemberState] = [.other, .secondary]
        for step in 0..<200 {
            let hello = HelloResponse.member(a, states[step % 2], version: 1 + step / 2, counter: Int64(step + 1))
            let actions = machine.helloReceived(hello, from: a, at: .milliseconds(2 + step))
            #expect(actions.contains(.send(awaitHello(tv(Int64(step + 1))), to: a)), "step \(step): \(actions.sends)")
        }
    }
}
