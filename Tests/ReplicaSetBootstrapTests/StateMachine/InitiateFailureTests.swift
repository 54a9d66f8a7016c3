import Testing
@testable import ReplicaSetBootstrap

/// What each answer to replSetInitiate means, as mongod means it.
@Suite("State machine: replSetInitiate answers")
struct InitiateFailureTests {
    let config = spec([a, b, c]).initiateConfig

    /// A machine whose initiate to `a` is in flight.
    func initiating() -> Machine {
        var machine = machineWithFreshNodes([a, b, c], confirmedExceptLast: true)
        _ = machine.commandFailed(.code(.notYetInitialized, c), from: c, at: .milliseconds(3))
        return machine
    }

    @Test("AlreadyInitialized (23): someone else initiated; confirm every node again before anything")
    func alreadyInitialized() {
        var machine = initiating()
        let error = MongoError.code(.alreadyInitialized, a, "already initialized")
        #expect(machine.commandFailed(error, from: a, at: .milliseconds(4)) == [
            .report(.alreadyInitialized(a)),
            .send(.getStatus, to: a), .send(.getStatus, to: b), .send(.getStatus, to: c),
        ])
        // a now has a config: replSetGetStatus answers ok, and no second initiate follows.
        #expect(machine.commandSucceeded(.statusOK, from: a, at: .milliseconds(5)) == [])
        _ = machine.commandFailed(.code(.notYetInitialized, b), from: b, at: .milliseconds(5))
        #expect(machine.commandFailed(.code(.notYetInitialized, c), from: c, at: .milliseconds(5)) == [])
        #expect(machine.helloReceived(.member(a, .other, counter: 1), from: a, at: .milliseconds(6)).sends == [
            .send(awaitHello(tv(1)), to: a), .send(.getConfig, to: a),
        ])
    }

    @Test("'maps to this node' (93) heals by itself once DNS is ready: retried after the backoff")
    func mapsToThisNode() {
        var machine = initiating()
        let error = MongoError.code(.invalidReplicaSetConfig, a,
            "No host described in new configuration with {version: 1, term: 0} for replica set rs0 maps to this node")
        #expect(machine.commandFailed(error, from: a, at: .milliseconds(4)) == [
            .report(.initiateFailed(a, error, retryIn: .milliseconds(10))),
            .send(.getStatus, to: a), .send(.getStatus, to: b), .send(.getStatus, to: c),
        ])
        _ = machine.commandFailed(.code(.notYetInitialized, a), from: a, at: .milliseconds(5))
        _ = machine.commandFailed(.code(.notYetInitialized, b), from: b, at: .milliseconds(5))
        // All confirmed before the backoff is over: wait for it.
        #expect(machine.commandFailed(.code(.notYetInitialized, c), from: c, at: .milliseconds(5)) == [.wakeUp(after: .milliseconds(9))])
        #expect(machine.timerFired(at: .milliseconds(14)) == [.report(.initiating(a, config)), .send(.initiate(config), to: a)])
    }

    @Test("'maps to this node' for more than 5 s: one hint about the names, and the deadline's message says what to check")
    func mapsToThisNodeHint() {
        var machine = initiating()
        let error = MongoError.code(.invalidReplicaSetConfig, a,
            "No host described in new configuration with {version: 1, term: 0} for replica set rs0 maps to this node")
        var hints = 0
        var now = Duration.milliseconds(4)
        for _ in 0..<30 {
            let failed = machine.commandFailed(error, from: a, at: now)
            hints += failed.filter { if case .report(.waiting(let text)) = $0 { return text.hasPrefix("hint:") } else { return false } }.count
            for host in [a, b, c] { _ = machine.commandFailed(.code(.notYetInitialized, host), from: host, at: now + .milliseconds(1)) }
            now += .seconds(1)
            guard machine.timerFired(at: now).contains(where: { if case .send(.initiate, _) = $0 { return true } else { return false } }) else {
                Issue.record("no initiate again at \(now)")
                return
            }
        }
        #expect(hints == 1)
        guard case .timedOut(let blockers)? = machine.deadlineReached(at: now).outcome else {
            Issue.record("expected a timeout")
            return
        }
        #expect(blockers.map(\.description).contains { $0.contains("Hint: db-0.mongo:27017 does not find itself among the names given") && $0.contains("--bind_ip_all") })
    }

    @Test("any other InvalidReplicaSetConfig (93) is refused with mongod's words")
    func invalidConfig() {
        var machine = initiating()
        let error = MongoError.code(.invalidReplicaSetConfig, a, "Either all host names in a replica set configuration must be localhost references, or none must be")
        #expect(machine.commandFailed(error, from: a, at: .milliseconds(4)) == [.finish(.refused(.configRejected(a, error)))])
    }

    @Test("NodeNotElectable is refused")
    func notElectable() {
        var machine = initiating()
        let error = MongoError.code(.nodeNotElectable, a, "This node, db-0.mongo:27017, with _id 0 is not electable")
        #expect(machine.commandFailed(error, from: a, at: .milliseconds(4)).outcome == .refused(.configRejected(a, error)))
    }

    @Test("NodeNotFound (74) from the quorum check: a member is not reachable from the initiator yet; retried")
    func quorumCheckFailed() {
        var machine = initiating()
        let error = MongoError.code(.nodeNotFound, a,
            "replSetInitiate quorum check failed because not all proposed set members responded affirmatively: db-2.mongo:27017 failed with Connection refused")
        let actions = machine.commandFailed(error, from: a, at: .milliseconds(4))
        #expect(actions.first == .report(.initiateFailed(a, error, retryIn: .milliseconds(10))))
        #expect(actions.outcome == nil)
        #expect(machine.actionsTaken == [ActionRecord(command: .initiate(config), host: a, error: error)])
    }

    @Test("a network error on initiate: outcome unknown, so every node is confirmed again")
    func networkErrorOnInitiate() {
        var machine = initiating()
        let error = MongoError(.networkFailure, host: a, message: "socket error or timeout")
        #expect(machine.commandFailed(error, from: a, at: .milliseconds(4)).sends == [
            .send(.getStatus, to: a), .send(.getStatus, to: b), .send(.getStatus, to: c),
        ])
    }

    @Test("the initiator restarting without its config after a successful initiate is initiated again")
    func initiatorLostConfig() {
        var machine = machineAfterInitiate([a, b])
        // a restarted empty; b never got the config.
        _ = machine.helloFailed(.refused(a), from: a, at: .milliseconds(10))
        #expect(machine.helloReceived(.noConfig(0), from: a, at: .milliseconds(20)).sends == [
            .send(awaitHello(tv(0)), to: a), .send(.getStatus, to: a),
        ])
        // The initiator answering 94 after the initiate means the initiate is lost: b, whose
        // hello predates it, is confirmed again before a second initiate.
        // (a was reported fresh before and never seen with a config: no new line.)
        #expect(machine.commandFailed(.code(.notYetInitialized, a), from: a, at: .milliseconds(21)) == [
            .send(.getStatus, to: b),
        ])
        let config = spec([a, b]).initiateConfig
        #expect(machine.commandFailed(.code(.notYetInitialized, b), from: b, at: .milliseconds(23)).sends == [.send(.initiate(config), to: a)])
    }
}

@Suite("State machine: reaching nodes")
struct ReachabilityTests {
    @Test("reconnect backoff grows and is capped, within milliseconds after a refusal; the same trouble is reported once")
    func reconnectBackoff() {
        var machine = Machine(configuration([a]))
        _ = machine.start(at: .zero)
        let refused = MongoError.refused(a)
        var delays: [Duration] = []
        for attempt in 1...5 {
            let actions = machine.helloFailed(refused, from: a, at: .milliseconds(attempt))
            if attempt > 1 { #expect(!actions.contains(.report(.unreachable(a, refused)))) }
            for case .sendLater(_, _, let delay) in actions { delays.append(delay) }
        }
        // The host answered with a RST: its mongod is about to listen.
        #expect(delays == [2, 4, 5, 5, 5].map { .milliseconds($0) })
        // A different trouble is worth a new line, and DNS is asked less and less often.
        let dns = MongoError(.nameNotResolved, host: a, message: "name does not resolve")
        #expect(machine.helloFailed(dns, from: a, at: .milliseconds(8)).first == .report(.unreachable(a, dns)))
        delays = []
        for attempt in 7...8 {
            for case .sendLater(_, _, let delay) in machine.helloFailed(dns, from: a, at: .milliseconds(attempt * 10)) { delays.append(delay) }
        }
        #expect(delays == [100, 100].map { .milliseconds($0) })
    }

    @Test("with --max-retry-connection the run gives up after that many failed attempts")
    func maxConnectionAttempts() {
        var machine = Machine(configuration([a, b], maxConnectionAttempts: 3))
        _ = machine.start(at: .zero)
        _ = machine.helloFailed(.refused(a), from: a, at: .milliseconds(1))
        _ = machine.helloFailed(.refused(a), from: a, at: .milliseconds(2))
        let end = machine.helloFailed(.refused(a), from: a, at: .milliseconds(3))
        guard case .timedOut(let blockers) = end.outcome else {
            Issue.record("expected to give up, got \(end)")
            return
        }
        #expect(blockers.contains(.unreachable(a, .refused(a))))
        #expect(blockers.contains(.unreachable(b, nil)))
    }

    @Test("a lost replSetGetStatus reply is asked again after the backoff, not at the next hello")
    func statusRetried() {
        var machine = Machine(configuration([a]))
        _ = machine.start(at: .zero)
        _ = machine.helloReceived(.noConfig(), from: a, at: .milliseconds(1))
        let lost = MongoError(.networkFailure, host: a, message: "connection closed")
        #expect(machine.commandFailed(lost, from: a, at: .milliseconds(2)) == [.wakeUp(after: .milliseconds(10))])
        #expect(machine.timerFired(at: .milliseconds(12)) == [.send(.getStatus, to: a)])
        #expect(machine.commandFailed(lost, from: a, at: .milliseconds(13)) == [.wakeUp(after: .milliseconds(20))])
        #expect(machine.deadlineReached(at: .seconds(1)) == [.finish(.timedOut([.unanswered(a, "replSetGetStatus", lost)]))])
    }

    @Test("the deadline names each node still unreachable with its last error")
    func deadline() {
        var machine = Machine(configuration([a, b]))
        _ = machine.start(at: .zero)
        _ = machine.helloReceived(.noConfig(), from: a, at: .milliseconds(1))
        _ = machine.commandFailed(.code(.notYetInitialized, a), from: a, at: .milliseconds(2))
        let dns = MongoError(.nameNotResolved, host: b, message: "name does not resolve")
        _ = machine.helloFailed(dns, from: b, at: .milliseconds(1))
        #expect(machine.deadlineReached(at: .seconds(300)) == [.finish(.timedOut([.unreachable(b, dns)]))])
    }

    @Test("a failed read on the command connection is retried after the backoff")
    func readRetry() {
        var machine = Machine(configuration([a]))
        _ = machine.start(at: .zero)
        _ = machine.helloReceived(.member(a, .primary), from: a, at: .milliseconds(1))
        let error = MongoError(.networkFailure, host: a, message: "connection closed")
        #expect(machine.commandFailed(error, from: a, at: .milliseconds(2)) == [.wakeUp(after: .milliseconds(10))])
        // The primary's config is read with its commitment.
        #expect(machine.timerFired(at: .milliseconds(12)) == [.send(.getCommittedConfig, to: a)])
    }

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

@Suite("State machine: existing sets and dry runs")
struct ExistingSetTests {
    @Test("re-run on a healthy set: reads only, converged without a single write")
    func healthyRerun() {
        var machine = machineObservingHealthySet([a, b, c])
        _ = machine.commandSucceeded(.committed(storedConfig([a, b, c])), from: a, at: .milliseconds(2))
        _ = machine.commandSucceeded(.config(storedConfig([a, b, c])), from: b, at: .milliseconds(2))
        let end = machine.commandSucceeded(.config(storedConfig([a, b, c])), from: c, at: .milliseconds(2))
        guard case .converged(let summary) = end.outcome else {
            Issue.record("expected convergence, got \(end)")
            return
        }
        #expect(summary.actions.isEmpty)
        #expect(machine.actionsTaken.isEmpty)
        #expect(summary.members.map(\.state) == [.primary, .secondary, .secondary])
    }

    @Test("members of the set that --nodes omits are watched, kept and mentioned")
    func extraMembersKept() {
        var machine = machineObservingHealthySet([a, b])
        // Reading the config finds c: it is watched too (the primary might be there).
        #expect(machine.commandSucceeded(.committed(storedConfig([a, b, c])), from: a, at: .milliseconds(2)) == [
            .send(awaitHello(nil), to: c),
        ])
        #expect(machine.commandSucceeded(.config(storedConfig([a, b, c])), from: b, at: .milliseconds(2)).outcome == nil)
        _ = machine.helloReceived(.member(c, .secondary, primary: a), from: c, at: .milliseconds(3))
        let end = machine.commandSucceeded(.config(storedConfig([a, b, c])), from: c, at: .milliseconds(4))
        guard case .converged(let summary) = end.outcome else {
            Issue.record("expected convergence, got \(end)")
            return
        }
        #expect(summary.keptMembers == [c], "c is in the config, not requested, and stays")
    }

    @Test("dry run of a fresh set plans the initiate and sends no write")
    func dryRunFresh() {
        var machine = machineWithFreshNodes([a, b], confirmedExceptLast: true, dryRun: true)
        let end = machine.commandFailed(.code(.notYetInitialized, b), from: b, at: .milliseconds(3))
        guard case .planned(let plan) = end.outcome else {
            Issue.record("expected a plan, got \(end)")
            return
        }
        #expect(plan.steps == [.initiate(a, spec([a, b]).initiateConfig)])
        #expect(!end.sends.contains { if case .send(let command, _) = $0 { return command.isWrite } else { return false } })
    }

    @Test("dry run of a healthy set plans nothing")
    func dryRunHealthy() {
        var machine = machineObservingHealthySet([a, b], dryRun: true)
        _ = machine.commandSucceeded(.committed(storedConfig([a, b])), from: a, at: .milliseconds(2))
        let end = machine.commandSucceeded(.config(storedConfig([a, b])), from: b, at: .milliseconds(2))
        guard case .planned(let plan) = end.outcome else {
            Issue.record("expected a plan, got \(end)")
            return
        }
        #expect(plan.steps.isEmpty)
    }

    @Test("an existing set without primary gets the preferred member stepped up")
    func stepUpExistingSet() {
        var machine = Machine(configuration([a, b]))
        _ = machine.start(at: .zero)
        _ = machine.helloReceived(.member(a, .secondary), from: a, at: .milliseconds(1))
        _ = machine.helloReceived(.member(b, .secondary), from: b, at: .milliseconds(1))
        _ = machine.commandSucceeded(.config(storedConfig([a, b])), from: a, at: .milliseconds(2))
        #expect(machine.commandSucceeded(.config(storedConfig([a, b])), from: b, at: .milliseconds(2)) == [
            .report(.steppingUp(a)), .send(.stepUp, to: a),
        ])
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
}
