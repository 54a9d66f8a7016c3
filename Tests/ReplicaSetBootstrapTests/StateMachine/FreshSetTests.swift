import Testing
@testable import ReplicaSetBootstrap

/// A fresh set from the first hello to exit 0, event by event.
@Suite("State machine: fresh set")
struct FreshSetTests {
    @Test("start sends a plain hello to every node on its monitoring connection")
    func startObservesEveryNode() {
        var machine = Machine(configuration([a, b, c]))
        #expect(machine.start(at: .zero) == [.send(awaitHello(nil), to: a), .send(awaitHello(nil), to: b), .send(awaitHello(nil), to: c)])
    }

    @Test("a node without config is asked replSetGetStatus; 94 makes it fresh")
    func noConfigThenStatus() {
        var machine = Machine(configuration([a, b, c]))
        _ = machine.start(at: .zero)
        #expect(machine.helloReceived(.noConfig(7), from: a, at: .milliseconds(1)) == [
            .send(awaitHello(tv(7)), to: a),
            .send(.getStatus, to: a),
        ])
        #expect(machine.commandFailed(.code(.notYetInitialized, a), from: a, at: .milliseconds(2)) == [
            .report(.classified(a, .fresh)),
        ])
    }

    @Test("initiate goes to the first electable host in sorted order once every node confirmed 94")
    func initiateWhenAllFresh() {
        var machine = machineWithFreshNodes([c, a, b], confirmedExceptLast: true)
        let config = spec([c, a, b]).initiateConfig
        #expect(config.members.map(\.host) == [c, a, b])
        #expect(machine.commandFailed(.code(.notYetInitialized, b), from: b, at: .milliseconds(3)) == [
            .report(.classified(b, .fresh)),
            .report(.initiating(a, config)),
            .send(.initiate(config), to: a),
        ])
    }

    @Test("no initiate while one node has not answered")
    func waitsForEveryNode() {
        var machine = Machine(configuration([a, b, c]))
        _ = machine.start(at: .zero)
        _ = machine.helloReceived(.noConfig(), from: a, at: .milliseconds(1))
        _ = machine.helloReceived(.noConfig(), from: b, at: .milliseconds(1))
        _ = machine.commandFailed(.code(.notYetInitialized, a), from: a, at: .milliseconds(2))
        #expect(machine.commandFailed(.code(.notYetInitialized, b), from: b, at: .milliseconds(2)) == [.report(.classified(b, .fresh))])
        #expect(machine.helloFailed(.refused(c), from: c, at: .milliseconds(3)) == [
            .report(.unreachable(c, .refused(c))),
            .sendLater(awaitHello(nil), to: c, after: .milliseconds(2)),
        ])
    }

    @Test("after initiate: config read, step up once SECONDARY, verify, converge")
    func fullFlowToConvergence() {
        var machine = machineAfterInitiate([a, b, c])
        // b received the config by heartbeat and is in initial sync; c has not got it yet.
        _ = machine.helloReceived(.member(b, .other, counter: 1), from: b, at: .milliseconds(4))
        #expect(machine.commandSucceeded(.config(storedConfig([a, b, c])), from: b, at: .milliseconds(4)) == [])
        #expect(machine.helloReceived(.member(a, .other, counter: 1), from: a, at: .milliseconds(4)) == [
            .report(.classified(a, .member(setName: "rs0", version: 1, state: .other))),
            .send(awaitHello(tv(1)), to: a),
            .send(.getConfig, to: a),
        ])
        #expect(machine.commandSucceeded(.config(storedConfig([a, b, c])), from: a, at: .milliseconds(5)) == [])
        #expect(machine.helloReceived(.member(a, .secondary, counter: 2), from: a, at: .milliseconds(6)) == [
            .report(.classified(a, .member(setName: "rs0", version: 1, state: .secondary))),
            .send(awaitHello(tv(2)), to: a),
            .report(.steppingUp(a)),
            .send(.stepUp, to: a),
        ])
        #expect(machine.commandSucceeded(.steppedUp, from: a, at: .milliseconds(20)) == [])
        // This hello was asked for before the step-up finished: it shows a primary but cannot
        // verify the write, so the config and a fresh hello are read again.
        #expect(machine.helloReceived(.member(a, .primary, counter: 3), from: a, at: .milliseconds(21)) == [
            .report(.classified(a, .member(setName: "rs0", version: 1, state: .primary))),
            .report(.primaryWritable(a)),
            .send(awaitHello(tv(3)), to: a),
            .send(.getCommittedConfig, to: a),
        ])
        #expect(machine.commandSucceeded(.committed(storedConfig([a, b, c])), from: a, at: .milliseconds(22)) == [.send(.hello, to: a)])
        let final = machine.commandSucceeded(.hello(.member(a, .primary, counter: 3)), from: a, at: .milliseconds(23))
        guard case .converged(let summary) = final.outcome else {
            Issue.record("expected convergence, got \(final)")
            return
        }
        #expect(summary.primary == a)
        #expect(summary.configVersion == 1)
        #expect(summary.actions.map(\.command) == [.initiate(spec([a, b, c]).initiateConfig), .stepUp])
        #expect(summary.members.map(\.host) == [a, b, c])
        #expect(machine.isFinished)
    }

    @Test("no step up before a majority of voters hold the config: their votes would be refused")
    func stepUpWaitsForVoters() {
        var machine = machineAfterInitiate([a, b, c])
        _ = machine.helloReceived(.member(a, .other, counter: 1), from: a, at: .milliseconds(4))
        _ = machine.commandSucceeded(.config(storedConfig([a, b, c])), from: a, at: .milliseconds(5))
        #expect(machine.helloReceived(.member(a, .secondary, counter: 2), from: a, at: .milliseconds(6)).sends == [
            .send(awaitHello(tv(2)), to: a),
        ])
        // b gets the config: a and b are two of three voters.
        #expect(machine.helloReceived(.member(b, .other, counter: 1), from: b, at: .milliseconds(7)).sends == [
            .send(awaitHello(tv(1)), to: b), .send(.getConfig, to: b),
        ])
        #expect(machine.commandSucceeded(.config(storedConfig([a, b, c])), from: b, at: .milliseconds(8)) == [
            .report(.steppingUp(a)), .send(.stepUp, to: a),
        ])
    }

    @Test("a config read before is forgotten when the node shows no config again")
    func configForgottenAfterRestart() {
        var machine = machineAfterInitiate([a])
        _ = machine.helloReceived(.member(a, .other, counter: 1), from: a, at: .milliseconds(4))
        _ = machine.commandSucceeded(.config(storedConfig([a])), from: a, at: .milliseconds(5))
        _ = machine.helloFailed(.refused(a), from: a, at: .milliseconds(6))
        _ = machine.helloReceived(.noConfig(0), from: a, at: .milliseconds(60))
        let config = spec([a]).initiateConfig
        #expect(machine.commandFailed(.code(.notYetInitialized, a), from: a, at: .milliseconds(61)) == [
            .report(.classified(a, .fresh)), .report(.initiating(a, config)), .send(.initiate(config), to: a),
        ])
    }

    @Test("a single-member set is not stepped up: mongod elects it alone at once")
    func singleMemberNoStepUp() {
        var machine = machineAfterInitiate([a])
        _ = machine.helloReceived(.member(a, .other, counter: 1), from: a, at: .milliseconds(4))
        _ = machine.commandSucceeded(.config(storedConfig([a])), from: a, at: .milliseconds(5))
        #expect(machine.helloReceived(.member(a, .secondary, counter: 2), from: a, at: .milliseconds(6)).sends == [
            .send(awaitHello(tv(2)), to: a),
        ])
    }

    @Test("no step up while any node knows of a primary, also one still draining")
    func noStepUpWithPrimaryKnown() {
        var (machine, _) = machineWithSecondaryInitiator([a, b, c])
        _ = machine.commandFailed(.code(.commandFailed, a, "Election failed."), from: a, at: .milliseconds(7))
        // b learned of a primary (c, say, won an election) before the retry is due.
        _ = machine.helloReceived(.member(b, .secondary, primary: c, counter: 1), from: b, at: .milliseconds(8))
        #expect(machine.timerFired(at: .milliseconds(30)).sends.filter { $0 == .send(.stepUp, to: a) }.isEmpty)

        var (draining, _) = machineWithSecondaryInitiator([a, b, c])
        _ = draining.commandFailed(.code(.commandFailed, a, "Election failed."), from: a, at: .milliseconds(7))
        _ = draining.helloReceived(.member(a, .primaryDraining, counter: 3), from: a, at: .milliseconds(8))
        #expect(draining.timerFired(at: .milliseconds(30)).sends.filter { $0 == .send(.stepUp, to: a) }.isEmpty)
    }

    @Test("a failed step-up is retried after the backoff, and says so once per failure")
    func stepUpRetry() {
        var (machine, actions) = machineWithSecondaryInitiator([a, b, c])
        #expect(actions.sends.contains(.send(.stepUp, to: a)))
        let failure = MongoError.code(.commandFailed, a, "Election failed.")
        #expect(machine.commandFailed(failure, from: a, at: .milliseconds(7)) == [
            .report(.stepUpFailed(a, failure, retryIn: .milliseconds(10))),
            .wakeUp(after: .milliseconds(10)),
        ])
        #expect(machine.timerFired(at: .milliseconds(17)) == [.report(.steppingUp(a)), .send(.stepUp, to: a)])
        #expect(machine.commandFailed(failure, from: a, at: .milliseconds(18)) == [
            .report(.stepUpFailed(a, failure, retryIn: .milliseconds(20))),
            .wakeUp(after: .milliseconds(20)),
        ])
        let stepUps = machine.actionsTaken.filter { $0.command == .stepUp }
        #expect(stepUps.count == 2)
        #expect(stepUps.allSatisfy { $0.error == failure })
    }

    @Test("--wait-for all waits until every member is SECONDARY")
    func waitForAll() {
        var machine = Machine(configuration([a, b], waitFor: .all))
        _ = machine.start(at: .zero)
        _ = machine.helloReceived(.member(a, .primary), from: a, at: .milliseconds(1))
        _ = machine.helloReceived(.member(b, .other, primary: a), from: b, at: .milliseconds(1))
        _ = machine.commandSucceeded(.committed(storedConfig([a, b])), from: a, at: .milliseconds(2))
        #expect(machine.commandSucceeded(.config(storedConfig([a, b])), from: b, at: .milliseconds(2)).outcome == nil)
        let done = machine.helloReceived(.member(b, .secondary, primary: a, counter: 2), from: b, at: .milliseconds(3))
        guard case .converged = done.outcome else {
            Issue.record("expected convergence once b is SECONDARY, got \(done)")
            return
        }
    }

    @Test("servers without awaitable hello are polled")
    func pollsOldServers() {
        var machine = Machine(configuration([a]))
        _ = machine.start(at: .zero)
        let old = HelloResponse(isReplicaSet: true, maxWireVersion: 8)
        #expect(machine.helloReceived(old, from: a, at: .milliseconds(1)) == [
            .sendLater(awaitHello(nil), to: a, after: .milliseconds(200)),
            .send(.getStatus, to: a),
        ])
    }

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
