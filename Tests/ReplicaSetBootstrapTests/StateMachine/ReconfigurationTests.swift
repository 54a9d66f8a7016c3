import MongoBSON
import Testing
@testable import ReplicaSetBootstrap

/// An existing set brought to the spec: one reconfig at a time on the primary, each committed
/// before the next, mongod's answers handled as mongod means them.
@Suite("State machine: reconfiguration")
struct ReconfigurationTests {
    let d = HostAddress(host: "db-3.mongo")

    @Test("a listed fresh node joins by one reconfig; the run waits for its commitment, then verifies")
    func addMember() {
        let (machine0, last) = machineWithExistingSet(listed: [a, b, c], members: [a, b])
        var machine = machine0
        let next = added(storedConfig([a, b]), c)
        #expect(last == [
            .report(.classified(c, .fresh)),
            .report(.reconfiguring(a, change: "add db-2.mongo:27017 (votes 1, priority 1)", version: 2)),
            .send(.reconfig(next, force: false, maxTime: .seconds(10)), to: a),
        ])
        #expect(machine.commandSucceeded(.reconfigured, from: a, at: .milliseconds(10)) == [
            .report(.reconfigured(a, version: 2)), .send(.getCommittedConfig, to: a),
        ])
        // The reconfig bumped a's topology version: its awaitable hello returns with version 2.
        #expect(machine.helloReceived(.member(a, .primary, version: 2, counter: 6), from: a, at: .milliseconds(10)).sends == [
            .send(awaitHello(tv(6)), to: a),
        ])
        // Not yet committed: asked again after the backoff.
        #expect(machine.commandSucceeded(.committedConfig(next, committed: false), from: a, at: .milliseconds(11)) == [.wakeUp(after: .milliseconds(10))])
        #expect(machine.timerFired(at: .milliseconds(21)) == [.send(.getCommittedConfig, to: a)])
        // Committed. The primary's hello was asked for before the reconfig: one more (invariant 4).
        #expect(machine.commandSucceeded(.committed(next), from: a, at: .milliseconds(22)) == [.send(.hello, to: a)])
        let end = machine.commandSucceeded(.hello(.member(a, .primary, version: 2, counter: 6)), from: a, at: .milliseconds(23))
        guard case .converged(let summary) = end.outcome else {
            Issue.record("expected convergence, got \(end)")
            return
        }
        #expect(summary.configVersion == 2)
        #expect(summary.actions == [ActionRecord(command: .reconfig(next, change: "add db-2.mongo:27017 (votes 1, priority 1)", force: false), host: a)])
    }

    @Test("MaxTimeMSExpired (50): the config is installed; the run waits for its commitment, not for a retry")
    func maxTimeExpired() {
        var (machine, _) = machineWithExistingSet(listed: [a, b, c], members: [a, b])
        let error = MongoError.code(.maxTimeMSExpired, a, "Current config with {version: 2, term: 1} has not yet propagated to a majority of nodes")
        #expect(machine.commandFailed(error, from: a, at: .milliseconds(10)) == [
            .report(.awaitingCommitment(a, version: 2)), .send(.getCommittedConfig, to: a),
        ])
    }

    @Test("ConfigurationInProgress (109) and CurrentConfigNotCommittedYet (308): read again after the backoff", arguments: [ServerErrorCode.configurationInProgress, .currentConfigNotCommittedYet])
    func retryLater(code: ServerErrorCode) {
        var (machine, _) = machineWithExistingSet(listed: [a, b, c], members: [a, b])
        let error = MongoError.code(code, a)
        #expect(machine.commandFailed(error, from: a, at: .milliseconds(10)) == [
            .report(.reconfigFailed(a, error, retryIn: .milliseconds(10))), .send(.getCommittedConfig, to: a),
        ])
        // Config and hello are read again, but the step is not sent again before the backoff.
        #expect(machine.commandSucceeded(.committed(storedConfig([a, b])), from: a, at: .milliseconds(11)) == [
            .wakeUp(after: .milliseconds(9)), .send(.hello, to: a),
        ])
        #expect(machine.commandSucceeded(.hello(.member(a, .primary, counter: 5)), from: a, at: .milliseconds(12)) == [])
        let retry = machine.timerFired(at: .milliseconds(20))
        #expect(retry.sends == [.send(.reconfig(added(storedConfig([a, b]), c), force: false, maxTime: .seconds(10)), to: a)])
    }

    @Test("NotWritablePrimary (10107): the primary changed; nothing is sent until a primary is seen again")
    func primaryChanged() {
        var (machine, _) = machineWithExistingSet(listed: [a, b, c], members: [a, b])
        _ = machine.commandFailed(.code(.notWritablePrimary, a, "Safe reconfig is only allowed on a writable PRIMARY. Current state is SECONDARY"), from: a, at: .milliseconds(10))
        _ = machine.helloReceived(.member(a, .secondary, primary: b, counter: 6), from: a, at: .milliseconds(11))
        let onNewPrimary = machine.helloReceived(.member(b, .primary, counter: 6), from: b, at: .milliseconds(12))
        #expect(onNewPrimary.sends.contains(.send(.getCommittedConfig, to: b)))
        #expect(!onNewPrimary.sends.contains { if case .send(.reconfig, _) = $0 { return true } else { return false } })
    }

    @Test("NewReplicaSetConfigurationIncompatible (103) three times for the same version is refused")
    func repeatedRejection() {
        var (machine, _) = machineWithExistingSet(listed: [a, b, c], members: [a, b])
        let error = MongoError.code(.newReplicaSetConfigurationIncompatible, a, "New and old configurations differ in replica set ID")
        var now = Duration.milliseconds(10)
        for _ in 1...2 {
            _ = machine.commandFailed(error, from: a, at: now)
            _ = machine.commandSucceeded(.committed(storedConfig([a, b])), from: a, at: now + .milliseconds(1))
            _ = machine.commandSucceeded(.hello(.member(a, .primary, counter: 5)), from: a, at: now + .milliseconds(2))
            now += .seconds(2)
            #expect(machine.timerFired(at: now).sends.count == 1)
        }
        #expect(machine.commandFailed(error, from: a, at: now) == [.finish(.refused(.configRejected(a, error)))])
    }

    @Test("a listed member that is not reachable is not added yet, and is named at the deadline")
    func unreachableMemberWaits() {
        var configuration = configuration([a, b, c])
        configuration.removeMembers = false
        var machine = Machine(configuration)
        _ = machine.start(at: .zero)
        _ = machine.helloReceived(.member(a, .primary), from: a, at: .milliseconds(1))
        _ = machine.commandSucceeded(.committed(storedConfig([a, b])), from: a, at: .milliseconds(2))
        _ = machine.helloReceived(.member(b, .secondary, primary: a), from: b, at: .milliseconds(1))
        _ = machine.commandSucceeded(.config(storedConfig([a, b])), from: b, at: .milliseconds(2))
        let refused = machine.helloFailed(.refused(c), from: c, at: .milliseconds(3))
        #expect(!refused.sends.contains { if case .send(.reconfig, _) = $0 { return true } else { return false } })
        #expect(machine.deadlineReached(at: .seconds(300)) == [.finish(.timedOut([.unreachable(c, .refused(c))]))])
    }

    @Test("members the spec lacks are kept and noted; with --remove-members they are removed")
    func extraMembers() {
        // c is in the config but not listed: found there, it is watched before anything is decided.
        var (kept, _) = machineWithExistingSet(listed: [a, b], members: [a, b, c])
        _ = kept.helloReceived(.member(c, .secondary, primary: a), from: c, at: .milliseconds(3))
        let keptEnd = kept.commandSucceeded(.config(storedConfig([a, b, c])), from: c, at: .milliseconds(4))
        guard case .converged(let summary) = keptEnd.outcome else {
            Issue.record("expected convergence with c kept, got \(keptEnd)")
            return
        }
        #expect(summary.actions.isEmpty)
        #expect(summary.members.map(\.host) == [a, b, c])
        #expect(summary.keptMembers == [c], "c is in the config, not requested, and stays")

        var (removing, _) = machineWithExistingSet(listed: [a, b], members: [a, b, c], removeMembers: true)
        _ = removing.helloReceived(.member(c, .secondary, primary: a), from: c, at: .milliseconds(3))
        let removal = removing.commandSucceeded(.config(storedConfig([a, b, c])), from: c, at: .milliseconds(4))
        var smaller = storedConfig([a, b, c])
        smaller.members.removeLast()
        smaller.version = 2
        #expect(removal.contains(.send(.reconfig(smaller, force: false, maxTime: .seconds(10)), to: a)), "\(removal)")
    }

    @Test("the primary is to become unelectable: it steps down before the reconfig")
    func primaryStepsDownFirst() {
        // a is primary; the spec wants it with priority 0.
        var spec = spec([b, c])
        spec.members.insert(MemberSpec(host: a, priority: 0), at: 0)
        var machine = Machine(Machine.Configuration(spec: spec, reconnect: testReconnect, reconnectAfterRefusal: testReconnectAfterRefusal, retry: testRetry, maxAwaitTime: maxAwait))
        _ = machine.start(at: .zero)
        for host in [b, c] {
            _ = machine.helloReceived(.member(host, .secondary, primary: a), from: host, at: .milliseconds(1))
            _ = machine.commandSucceeded(.config(storedConfig([a, b, c])), from: host, at: .milliseconds(2))
        }
        _ = machine.helloReceived(.member(a, .primary), from: a, at: .milliseconds(1))
        let last = machine.commandSucceeded(.committed(storedConfig([a, b, c])), from: a, at: .milliseconds(2))
        #expect(last.sends == [.send(.stepDown, to: a)], "\(last)")
        #expect(last.contains { if case .report(.steppingDown(a, _)) = $0 { return true } else { return false } })
    }

    @Test("a majority of voters lost: without --force-reconfig the deadline says what it would drop")
    func majorityLostWithoutForce() {
        var machine = Machine(configuration([a, b, c]))
        _ = machine.start(at: .zero)
        _ = machine.helloReceived(.member(a, .secondary), from: a, at: .milliseconds(1))
        _ = machine.commandSucceeded(.config(storedConfig([a, b, c])), from: a, at: .milliseconds(2))
        _ = machine.helloFailed(.refused(b), from: b, at: .milliseconds(1))
        let last = machine.helloFailed(.refused(c), from: c, at: .milliseconds(1))
        #expect(!last.sends.contains { if case .send(.reconfig, _) = $0 { return true } else { return false } })
        let end = machine.deadlineReached(at: .seconds(300))
        guard case .timedOut(let blockers) = end.outcome else {
            Issue.record("expected a timeout, got \(end)")
            return
        }
        #expect(blockers.contains(.majorityLost(reachable: [a], lost: [b, c], forceWouldDrop: [b, c])))
    }

    @Test("--force-reconfig: after the election timeout, the reachable member with the newest write gets a forced config")
    func forceReconfig() {
        var configuration = configuration([a, b, c])
        configuration.forceReconfig = true
        var machine = Machine(configuration)
        _ = machine.start(at: .zero)
        var older = HelloResponse.member(a, .secondary)
        older.lastWrite = OpTime(term: 1, seconds: 100, increment: 1)
        var newer = HelloResponse.member(b, .secondary)
        newer.lastWrite = OpTime(term: 1, seconds: 100, increment: 2)
        // Five voters, three lost: a and b remain.
        var config = storedConfig([a, b, c])
        config.members.append(.init(id: 3, host: d))
        config.members.append(.init(id: 4, host: HostAddress(host: "db-4.mongo")))
        var configuration5 = configuration
        configuration5.spec = spec([a, b, c, d, HostAddress(host: "db-4.mongo")])
        machine = Machine(configuration5)
        _ = machine.start(at: .zero)
        _ = machine.helloReceived(older, from: a, at: .milliseconds(1))
        _ = machine.commandSucceeded(.config(config), from: a, at: .milliseconds(2))
        _ = machine.helloReceived(newer, from: b, at: .milliseconds(1))
        _ = machine.commandSucceeded(.config(config), from: b, at: .milliseconds(2))
        _ = machine.helloFailed(.refused(c), from: c, at: .milliseconds(3))
        _ = machine.helloFailed(.refused(d), from: d, at: .milliseconds(3))
        let waiting = machine.helloFailed(.refused(HostAddress(host: "db-4.mongo")), from: HostAddress(host: "db-4.mongo"), at: .milliseconds(3))
        // Not before the election timeout (10 s by default) has passed without a primary.
        #expect(!waiting.sends.contains { if case .send(.reconfig, _) = $0 { return true } else { return false } })
        #expect(!machine.timerFired(at: .seconds(9)).contains { if case .send(.reconfig, _) = $0 { return true } else { return false } })
        // First the target's own view: are the lost voters down for it too?
        #expect(machine.timerFired(at: .milliseconds(3) + .seconds(10)) == [.send(.getStatus, to: b)])
        let forced = machine.commandSucceeded(.status(SetHealth(unhealthy: [c, d, HostAddress(host: "db-4.mongo")])), from: b, at: .seconds(10) + .milliseconds(5))
        guard let (expected, dropped) = ReconfigPlanner.forcedConfig(from: config, reachable: [a, b]) else {
            Issue.record("no forced config")
            return
        }
        #expect(dropped == [c, d, HostAddress(host: "db-4.mongo")])
        #expect(forced == [
            .report(.forcingReconfig(b, dropped: dropped, expected)),
            .send(.reconfig(expected, force: true, maxTime: .seconds(10)), to: b),
        ])
        // The target sees one of them alive: no force.
        var other = Machine(configuration5)
        _ = other.start(at: .zero)
        _ = other.helloReceived(older, from: a, at: .milliseconds(1))
        _ = other.commandSucceeded(.config(config), from: a, at: .milliseconds(2))
        _ = other.helloReceived(newer, from: b, at: .milliseconds(1))
        _ = other.commandSucceeded(.config(config), from: b, at: .milliseconds(2))
        for host in [c, d, HostAddress(host: "db-4.mongo")] { _ = other.helloFailed(.refused(host), from: host, at: .milliseconds(3)) }
        _ = other.timerFired(at: .milliseconds(3) + .seconds(10))
        let refusedForce = other.commandSucceeded(.status(SetHealth(unhealthy: [c, d])), from: b, at: .seconds(10) + .milliseconds(5))
        #expect(!refusedForce.contains { if case .send(.reconfig, _) = $0 { return true } else { return false } })
    }

    @Test("dry run of a set that needs changes prints every step and sends no write")
    func dryRunSteps() {
        let (_, last) = machineWithExistingSet(listed: [a, b, c], members: [a, b], dryRun: true)
        guard case .planned(let plan) = last.outcome else {
            Issue.record("expected a plan, got \(last)")
            return
        }
        #expect(plan.steps == [.reconfig(a, added(storedConfig([a, b]), c), change: "add db-2.mongo:27017 (votes 1, priority 1)")])
        #expect(!last.contains { if case .send(let command, _) = $0 { return command.isWrite } else { return false } })
    }

    @Test("incremental: the initiator alone while others are down, then each added as it comes")
    func incrementalInitiate() {
        var configuration = configuration([a, b])
        configuration.initiateStrategy = .incremental
        var machine = Machine(configuration)
        _ = machine.start(at: .zero)
        _ = machine.helloFailed(.refused(b), from: b, at: .milliseconds(1))
        _ = machine.helloReceived(.noConfig(), from: a, at: .milliseconds(1))
        let single = spec([a, b]).initiateConfig(only: a)
        #expect(single.members.map(\.host) == [a])
        #expect(machine.commandFailed(.code(.notYetInitialized, a), from: a, at: .milliseconds(2)) == [
            .report(.classified(a, .fresh)), .report(.initiating(a, single)), .send(.initiate(single), to: a),
        ])
        _ = machine.commandSucceeded(.initiated, from: a, at: .milliseconds(3))
        _ = machine.helloReceived(.member(a, .primary, counter: 2), from: a, at: .milliseconds(4))
        var stored = single
        stored.term = 1
        stored.replicaSetId = replicaSetId
        #expect(machine.commandSucceeded(.committed(stored), from: a, at: .milliseconds(5)) == [.send(.hello, to: a)])
        _ = machine.commandSucceeded(.hello(.member(a, .primary, counter: 2)), from: a, at: .milliseconds(6))
        // b comes up fresh: it is added.
        _ = machine.helloReceived(.noConfig(), from: b, at: .milliseconds(50))
        let adding = machine.commandFailed(.code(.notYetInitialized, b), from: b, at: .milliseconds(51))
        #expect(adding.contains { if case .send(.reconfig(let config, false, _), a) = $0 { return config.member(b) != nil } else { return false } }, "\(adding)")
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

    /// c is to become a member with buildIndexes false: removed, then re-added. c and b learn
    /// of the removal by heartbeat, before the reconfig's reply or after it; the outcome by then.
    private func roleChange(replyFirst: Bool) -> Outcome? {
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
            return nil
        }
        #expect(removal.member(c) == nil, "first step should remove c (to re-add it): \(removal)")
        var all: [Action] = []
        if replyFirst { all += machine.commandSucceeded(.reconfigured, from: a, at: .milliseconds(10)) }
        all += machine.helloReceived(.noConfig(9), from: c, at: .milliseconds(11))
        all += machine.commandFailed(.code(.invalidReplicaSetConfig, c, "Our replica set config is invalid or we are not a member of it"), from: c, at: .milliseconds(12))
        all += machine.helloReceived(.member(b, .secondary, version: 2, primary: a, counter: 6), from: b, at: .milliseconds(12))
        all += machine.commandSucceeded(.config(removal), from: b, at: .milliseconds(13))
        return all.outcome
    }

    @Test("re-adding a member to change buildIndexes is not refused half-way as 'removed'")
    func roleChangeRefusedHalfWay() {
        let outcome = roleChange(replyFirst: true)
        #expect(outcome == nil, "refused half-way through its own remove/re-add: \(String(describing: outcome))")
    }

    /// Found by SafetyPropertyTests (seed 1526628773, with role changes): the removal was
    /// counted as this run's only once the reply came.
    @Test("re-adding a member: its REMOVED, seen while the reconfig waits for commitment, is not refused either")
    func roleChangeRemovedBeforeReply() {
        // mongod installs the config at once and answers once a majority has it
        // (`awaitConfigCommitment`): heartbeats usually tell c and b first.
        let outcome = roleChange(replyFirst: false)
        #expect(outcome == nil, "refused its own removal of \(c) before the reconfig's reply: \(String(describing: outcome))")
    }

    @Test("the same, in the fake replica set: the schedule that found it")
    func roleChangeRemovedBeforeReplySchedule() {
        SafetyPropertyTests().check(FakeReplicaSet.Scenario(seed: 1526628773, roleChanges: true))
    }

    /// Answers to the forced reconfig, 50 in a row, one a millisecond: the number of further
    /// forced reconfigs they brought.
    @Test("after a forced reconfig, nothing is forced again at once: a failure waits for the backoff, a success for a's hello",
          arguments: [true, false])
    func noForceInARow(failing: Bool) {
        var (machine, forced) = forcedMachine()
        #expect(forced.contains(where: isForce))
        var now = Duration.seconds(11)
        var forces = 0
        for _ in 0..<50 {
            now += .milliseconds(1)
            let after = failing ? machine.commandFailed(.code(.configurationInProgress, a), from: a, at: now)
                : machine.commandSucceeded(.reconfigured, from: a, at: now)
            if after.contains(where: isForce) { forces += 1 }
        }
        #expect(forces == 0, "\(forces) more forced reconfigs; records: \(machine.actionsTaken.count)")
    }

    @Test("no force while a reachable member names a primary (only the tool is cut off from it)")
    func noForceWhileAPrimaryIsKnown() {
        let (_, forced) = forcedMachine(aHello: .member(a, .secondary, primary: b))
        #expect(!forced.contains(where: isForce), "forced although a says b is primary: \(forced)")
    }
}
