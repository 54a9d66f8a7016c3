import Testing
@testable import ReplicaSetBootstrap

// Found by an independent review of the state machine: each test failed before its fix.

func isForce(_ action: Action) -> Bool {
    if case .send(.reconfig(_, true, _), _) = action { return true } else { return false }
}
func isWriteSend(_ action: Action) -> Bool {
    if case .send(let command, _) = action { return command.isWrite } else { return false }
}

/// a reachable (SECONDARY), b and c unreachable; --force-reconfig; returns after the first force.
func forcedMachine(aHello: HelloResponse = .member(a, .secondary)) -> (Machine, [Action]) {
    var configuration = configuration([a, b, c])
    configuration.forceReconfig = true
    var machine = Machine(configuration)
    _ = machine.start(at: .zero)
    _ = machine.helloReceived(aHello, from: a, at: .milliseconds(1))
    _ = machine.commandSucceeded(.config(storedConfig([a, b, c])), from: a, at: .milliseconds(2))
    _ = machine.helloFailed(.refused(b), from: b, at: .milliseconds(3))
    _ = machine.helloFailed(.refused(c), from: c, at: .milliseconds(3))
    var forced = machine.timerFired(at: .seconds(11))
    if forced == [.send(.getStatus, to: a)] {
        // a's own view: b and c are down for it too.
        forced = machine.commandSucceeded(.status(SetHealth(unhealthy: [b, c])), from: a, at: .seconds(11) + .milliseconds(1))
    }
    return (machine, forced)
}

@Suite("Regressions: forced reconfig")
struct ForcedReconfigRegressionTests {
    @Test("a successful forced reconfig is not immediately forced again")
    func noSecondForceAfterSuccess() {
        var (machine, forced) = forcedMachine()
        #expect(forced.contains(where: isForce))
        let after = machine.commandSucceeded(.reconfigured, from: a, at: .seconds(11) + .milliseconds(5))
        #expect(!after.contains(where: isForce), "second force right after success: \(after)")
    }

    @Test("a failed forced reconfig is retried only after the backoff")
    func forceRetryBacksOff() {
        var (machine, forced) = forcedMachine()
        #expect(forced.contains(where: isForce))
        var now = Duration.seconds(11)
        var immediate = 0
        for _ in 0..<5 {
            now += .milliseconds(1)
            let after = machine.commandFailed(.code(.configurationInProgress, a), from: a, at: now)
            if after.contains(where: isForce) { immediate += 1 }
        }
        #expect(immediate == 0, "force re-sent without backoff \(immediate) times")
    }

    @Test("no force while a reachable member names a primary (only the tool is cut off from it)")
    func noForceWhileAPrimaryIsKnown() {
        let (_, forced) = forcedMachine(aHello: .member(a, .secondary, primary: b))
        #expect(!forced.contains(where: isForce), "forced although a says b is primary: \(forced)")
    }
}

@Suite("Regressions: state machine")
struct StateMachineRegressionTests {
    @Test("a late replSetGetStatus ok does not hide a newer member hello (no 10 s stall)")
    func lateStatusOK() {
        var machine = Machine(configuration([a, b, c]))
        _ = machine.start(at: .zero)
        for host in [a, b, c] { _ = machine.helloReceived(.noConfig(), from: host, at: .milliseconds(1)) }
        // Another run initiated the set meanwhile: the monitors see members while our
        // replSetGetStatus calls (sent on the no-config hellos) are still in flight.
        for host in [a, b, c] {
            _ = machine.helloReceived(.member(host, host == a ? .secondary : .other, counter: 1), from: host, at: .milliseconds(2))
        }
        var last: [Action] = []
        for host in [a, b, c] { last += machine.commandSucceeded(.statusOK, from: host, at: .milliseconds(3)) }
        // The hellos already say member: their configs must be read now.
        #expect(last.contains(.send(.getConfig, to: a)), "\(last)")
        #expect(machine.nodes.allSatisfy { $0.status != .awaitingStatus }, "\(machine.nodes.map(\.status))")
    }

    @Test("polling the config's commitment backs off, not a fixed 10 ms forever")
    func commitmentPollBackoff() {
        var (machine, _) = machineWithExistingSet(listed: [a, b, c], members: [a, b])
        let next = added(storedConfig([a, b]), c)
        _ = machine.commandSucceeded(.reconfigured, from: a, at: .milliseconds(10))
        _ = machine.helloReceived(.member(a, .primary, version: 2, counter: 6), from: a, at: .milliseconds(10))
        var now = Duration.milliseconds(11)
        var delays: [Duration] = []
        for _ in 0..<8 {
            for case .wakeUp(let delay) in machine.commandSucceeded(.committedConfig(next, committed: false), from: a, at: now) {
                delays.append(delay)
                now += delay
            }
            _ = machine.timerFired(at: now)
        }
        #expect(delays.last! > .milliseconds(10), "commitment polled every \(delays)")
    }

    @Test("PrimarySteppedDown (189) after installing: exit 0 waits for that config's commitment")
    func steppedDownAfterInstall() {
        var (machine, _) = machineWithExistingSet(listed: [a, b, c], members: [a, b])
        let next = added(storedConfig([a, b]), c)
        _ = machine.commandFailed(.code(.primarySteppedDown, a, "replSetReconfig should only be run on a writable PRIMARY"), from: a, at: .milliseconds(10))
        _ = machine.helloReceived(.member(a, .secondary, version: 2, primary: b, counter: 6), from: a, at: .milliseconds(11))
        _ = machine.helloReceived(.member(b, .primary, version: 2, counter: 6), from: b, at: .milliseconds(12))
        _ = machine.helloReceived(.member(c, .secondary, version: 2, primary: b, counter: 6), from: c, at: .milliseconds(12))
        _ = machine.commandSucceeded(.config(next), from: c, at: .milliseconds(13))
        // b has version 2 (installed by our reconfig before a stepped down), not yet committed.
        _ = machine.commandSucceeded(.committedConfig(next, committed: false), from: b, at: .milliseconds(13))
        // The config may be ours: the run polls its commitment instead of exiting.
        #expect(machine.timerFired(at: .milliseconds(30)).sends == [.send(.getCommittedConfig, to: b)])
        let uncommitted = machine.commandSucceeded(.committedConfig(next, committed: false), from: b, at: .milliseconds(31))
        #expect(uncommitted.outcome == nil, "converged on an uncommitted config: \(String(describing: uncommitted.outcome))")
        for case .wakeUp(let delay) in uncommitted { _ = machine.timerFired(at: .milliseconds(31) + delay) }
        _ = machine.commandSucceeded(.committed(next), from: b, at: .milliseconds(60))
        let end = machine.commandSucceeded(.hello(.member(b, .primary, version: 2, counter: 6)), from: b, at: .milliseconds(61))
        guard case .converged = end.outcome else {
            Issue.record("no exit 0 once committed: \(end)")
            return
        }
    }

    @Test("no exit 0 while a write is in flight (step-up sent to a, b won an election meanwhile)")
    func convergedWithWriteInFlight() {
        var (machine, actions) = machineWithSecondaryInitiator([a, b, c])
        #expect(actions.contains(.send(.stepUp, to: a)))
        // b won the election the step-up raced with; b's hello was asked for after the initiate.
        let end = machine.helloReceived(.member(b, .primary, counter: 2), from: b, at: .milliseconds(7))
        if case .converged(let summary) = end.outcome {
            Issue.record("exit 0 with replSetStepUp to a still in flight; summary says primary \(summary.primary), actions \(summary.actions)")
        }
    }

    @Test("a newer monitor hello is not dropped because a command hello was asked later")
    func monitorReplyDropped() {
        var machine = Machine(configuration([a, b, c], waitFor: .all))
        _ = machine.start(at: .zero)
        for host in [a, b, c] { _ = machine.helloReceived(.noConfig(), from: host, at: .milliseconds(1)) }
        for host in [a, b, c] { _ = machine.commandFailed(.code(.notYetInitialized, host), from: host, at: .milliseconds(2)) }
        _ = machine.commandSucceeded(.initiated, from: a, at: .milliseconds(3))
        for host in [b, c] {
            _ = machine.helloReceived(.member(host, .other, counter: 1), from: host, at: .milliseconds(4))
            _ = machine.commandSucceeded(.config(storedConfig([a, b, c])), from: host, at: .milliseconds(4))
        }
        _ = machine.helloReceived(.member(a, .other, counter: 1), from: a, at: .milliseconds(4))
        _ = machine.commandSucceeded(.config(storedConfig([a, b, c])), from: a, at: .milliseconds(5))
        _ = machine.helloReceived(.member(a, .secondary, counter: 2), from: a, at: .milliseconds(6))
        _ = machine.commandSucceeded(.steppedUp, from: a, at: .milliseconds(20))
        _ = machine.helloReceived(.member(a, .primary, counter: 3), from: a, at: .milliseconds(21))
        _ = machine.commandSucceeded(.committed(storedConfig([a, b, c])), from: a, at: .milliseconds(22))
        _ = machine.commandSucceeded(.hello(.member(a, .primary, counter: 3)), from: a, at: .milliseconds(23))
        // a steps down: its awaitable hello (asked before the command hello) returns at once.
        let stepDown = machine.helloReceived(.member(a, .secondary, counter: 4), from: a, at: .milliseconds(30))
        // The next awaitable hello carries counter 4, so mongod stays silent until a further change.
        #expect(stepDown.sends.contains(.send(awaitHello(tv(4)), to: a)))
        #expect(machine.writablePrimary == nil, "a still taken for the writable primary after it said SECONDARY")
        _ = machine.helloReceived(.member(b, .secondary, counter: 2), from: b, at: .milliseconds(40))
        let end = machine.helloReceived(.member(c, .secondary, counter: 2), from: c, at: .milliseconds(41))
        if case .converged(let summary) = end.outcome {
            Issue.record("exit 0 naming \(summary.primary) primary although its newest hello says SECONDARY")
        }
    }

    @Test("re-adding a member to change buildIndexes is not refused half-way as 'removed'")
    func roleChangeRefusedHalfWay() {
        var spec = spec([a, b])
        spec.members.append(MemberSpec(host: c, priority: 0, buildIndexes: false))
        var machine = Machine(Machine.Configuration(spec: spec, reconnect: testReconnect, reconnectAfterRefusal: testReconnectAfterRefusal, retry: testRetry, maxAwaitTime: maxAwait))
        _ = machine.start(at: .zero)
        let v1 = storedConfig([a, b, c])
        for host in [b, c] {
            _ = machine.helloReceived(.member(host, .secondary, primary: a), from: host, at: .milliseconds(1))
            _ = machine.commandSucceeded(.config(v1), from: host, at: .milliseconds(2))
        }
        _ = machine.helloReceived(.member(a, .primary), from: a, at: .milliseconds(1))
        let first = machine.commandSucceeded(.committed(v1), from: a, at: .milliseconds(2))
        guard let removal = first.compactMap({ action -> ReplicaSetConfig? in
            if case .send(.reconfig(let config, false, _), a) = action { return config } else { return nil }
        }).first else {
            Issue.record("no first step: \(first)")
            return
        }
        #expect(removal.member(c) == nil, "first step should remove c (to re-add it): \(removal)")
        var all: [Action] = []
        all += machine.commandSucceeded(.reconfigured, from: a, at: .milliseconds(10))
        // c learns by heartbeat that it was removed; b gets version 2.
        all += machine.helloReceived(.noConfig(9), from: c, at: .milliseconds(11))
        all += machine.commandFailed(.code(.invalidReplicaSetConfig, c, "Our replica set config is invalid or we are not a member of it"), from: c, at: .milliseconds(12))
        all += machine.helloReceived(.member(b, .secondary, version: 2, primary: a, counter: 6), from: b, at: .milliseconds(12))
        all += machine.commandSucceeded(.config(removal), from: b, at: .milliseconds(13))
        if case .refused(let refusal) = all.outcome {
            Issue.record("refused half-way through its own remove/re-add: \(refusal); writes so far: \(machine.actionsTaken)")
        }
    }

}

@Suite("Regressions: more")
struct MoreRegressionTests {
    @Test("the forced reconfig repeats on every success until a's hello shows a primary")
    func forceLoop() {
        var (machine, forced) = forcedMachine()
        #expect(forced.contains(where: isForce))
        var now = Duration.seconds(11)
        var forces = 0
        for _ in 0..<50 {
            now += .milliseconds(1)
            if machine.commandSucceeded(.reconfigured, from: a, at: now).contains(where: isForce) { forces += 1 }
        }
        #expect(forces == 0, "\(forces) more forced reconfigs; records: \(machine.actionsTaken.count)")
    }

    @Test("a pre-4.4 primary (commitmentStatus ignored, so no such field) is still verified")
    func pre44CommitmentStatus() {
        var machine = Machine(configuration([a, b]))
        _ = machine.start(at: .zero)
        let stored = storedConfig([a, b])
        _ = machine.helloReceived(.member(b, .secondary, primary: a, counter: 5), from: b, at: .milliseconds(1))
        _ = machine.commandSucceeded(.config(stored), from: b, at: .milliseconds(2))
        _ = machine.helloReceived(.member(a, .primary, counter: 5), from: a, at: .milliseconds(1))
        // What MongocNodes returns when a 4.2 primary answers replSetGetConfig without commitmentStatus.
        let end = machine.commandSucceeded(.committedConfig(stored, committed: nil), from: a, at: .milliseconds(2))
        #expect(machine.commitmentStatusUnsupported)
        guard case .converged = end.outcome else {
            Issue.record("a healthy 4.2 set is not verified: \(end)")
            return
        }
    }

    @Test("a polled (pre-4.4) fresh node is reported 'fresh' once, not on every poll")
    func pollingSpam() {
        var machine = Machine(configuration([a, b]))
        _ = machine.start(at: .zero)
        var lines = 0
        var now = Duration.milliseconds(1)
        for _ in 0..<5 {
            _ = machine.helloReceived(HelloResponse(isReplicaSet: true), from: a, at: now)
            let actions = machine.commandFailed(.code(.notYetInitialized, a), from: a, at: now + .milliseconds(1))
            lines += actions.filter { $0 == .report(.classified(a, .fresh)) }.count
            now += .milliseconds(200)
        }
        #expect(lines == 1, "'fresh' reported \(lines) times")
    }
}

@Suite("Regressions: connection attempts")
struct ConnectionAttemptRegressionTests {
    @Test("--max-retry-connection counts a dead member only found in the config (not listed)")
    func deadUnlistedMember() {
        var machine = Machine(configuration([a, b], maxConnectionAttempts: 3))
        _ = machine.start(at: .zero)
        let stored = storedConfig([a, b, c])
        _ = machine.helloReceived(.member(a, .primary, counter: 5), from: a, at: .milliseconds(1))
        _ = machine.helloReceived(.member(b, .secondary, primary: a, counter: 5), from: b, at: .milliseconds(1))
        _ = machine.commandSucceeded(.config(stored), from: b, at: .milliseconds(2))   // c is watched from here
        var actions: [Action] = []
        for attempt in 1...3 { actions += machine.helloFailed(MongoError(.nameNotResolved, host: c, message: "no such host"), from: c, at: .milliseconds(2 + attempt)) }
        #expect(actions.outcome == nil, "gave up because of a member nobody listed: \(String(describing: actions.outcome))")
    }
}

struct HangingInitiateNodes: ReplicaSetNodes {
    func run(_ command: NodeCommand, on host: HostAddress) async throws(MongoError) -> CommandReply {
        switch command {
        case .awaitHello(let version, _):
            if version != nil { try? await Task.sleep(for: .seconds(100)) }
            return .hello(.noConfig())
        case .getStatus:
            throw .code(.notYetInitialized, host)
        case .initiate:
            try? await Task.sleep(for: .seconds(100))   // the quorum check takes its time
            throw MongoError(.client, host: host, message: "cancelled")
        default:
            throw MongoError(.client, host: host, message: "unexpected \(command)")
        }
    }
}

@Suite("Regressions: runner")
struct RunnerRegressionTests {
    @Test("interrupted while replSetInitiate is in flight: the result still names it")
    func interruptedWrite() async {
        let runner = StateMachineRunner(configuration: configuration([a, b]), nodes: HangingInitiateNodes(), clock: ContinuousClock(), timeout: .seconds(30))
        let task = Task { await runner.run() }
        try? await Task.sleep(for: .milliseconds(300))
        task.cancel()
        let result = await task.value
        #expect(result.outcome == nil)
        #expect(!result.actions.isEmpty, "replSetInitiate was sent, yet the report will say 'nothing was written'")
    }
}
