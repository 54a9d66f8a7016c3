import MongoBSON
import Testing
@testable import ReplicaSetBootstrap

/// Exit 65 cases: what a node reports that forbids acting, and what is not a refusal.
@Suite("State machine: refusals")
struct RefusalTests {
    @Test("a node of another set is refused at once, whatever the others say")
    func foreignSet() {
        var machine = Machine(configuration([a, b, c]))
        _ = machine.start(at: .zero)
        let actions = machine.helloReceived(.member(b, .secondary, setName: "other", version: 4), from: b, at: .milliseconds(1))
        #expect(actions == [
            .report(.classified(b, .member(setName: "other", version: 4, state: .secondary))),
            .send(awaitHello(tv(1)), to: b),
            .finish(.refused(.foreignSet(b, setName: "other", wanted: "rs0"))),
        ])
        #expect(machine.isFinished)
        #expect(machine.actionsTaken.isEmpty)
        // Events after the end change nothing.
        #expect(machine.helloReceived(.noConfig(), from: a, at: .milliseconds(2)) == [])
    }

    @Test("a removed node (93) is refused when every other node is fresh")
    func removedWhileOthersFresh() {
        var machine = machineWithFreshNodes([a, b, c], confirmedExceptLast: true)
        #expect(machine.commandFailed(.code(.invalidReplicaSetConfig, c, "Our replica set config is invalid or we are not a member of it"), from: c, at: .milliseconds(3)) == [
            .report(.classified(c, .removed)),
            .finish(.refused(.removedMember(c))),
        ])
    }

    @Test("a removed node is not refused while another node is unreachable: it may hold a config listing it")
    func removedWhileOtherUnreachable() {
        var machine = Machine(configuration([a, b, c]))
        _ = machine.start(at: .zero)
        _ = machine.helloReceived(.noConfig(), from: a, at: .milliseconds(1))
        _ = machine.helloFailed(.refused(b), from: b, at: .milliseconds(1))
        _ = machine.helloReceived(.noConfig(), from: c, at: .milliseconds(1))
        _ = machine.commandFailed(.code(.notYetInitialized, a), from: a, at: .milliseconds(2))
        #expect(machine.commandFailed(.code(.invalidReplicaSetConfig, c), from: c, at: .milliseconds(2)).outcome == nil)
    }

    @Test("a node reporting REMOVED that the set's config lists is waited for, then named at the deadline")
    func removedButListed() {
        var machine = Machine(configuration([a, b]))
        _ = machine.start(at: .zero)
        _ = machine.helloReceived(.member(a, .secondary), from: a, at: .milliseconds(1))
        _ = machine.commandSucceeded(.config(storedConfig([a, b])), from: a, at: .milliseconds(2))
        _ = machine.helloReceived(.noConfig(), from: b, at: .milliseconds(3))
        #expect(machine.commandFailed(.code(.invalidReplicaSetConfig, b), from: b, at: .milliseconds(4)).outcome == nil)
        let end = machine.deadlineReached(at: .seconds(300))
        guard case .timedOut(let blockers) = end.outcome else {
            Issue.record("expected a timeout, got \(end)")
            return
        }
        #expect(blockers.contains(.notFindingItself(b)))
    }

    @Test("a standalone mongod is refused, by its hello or by replSetGetStatus 76")
    func standalone() {
        var byHello = Machine(configuration([a, b]))
        _ = byHello.start(at: .zero)
        let standaloneHello = HelloResponse(isWritablePrimary: true, topologyVersion: tv(0))
        #expect(byHello.helloReceived(standaloneHello, from: a, at: .milliseconds(1)).outcome == .refused(.standalone(a)))

        var byStatus = Machine(configuration([a, b]))
        _ = byStatus.start(at: .zero)
        _ = byStatus.helloReceived(.noConfig(), from: a, at: .milliseconds(1))
        #expect(byStatus.commandFailed(.code(.noReplicationEnabled, a), from: a, at: .milliseconds(2)).outcome == .refused(.standalone(a)))
    }

    @Test("a mongos is refused")
    func mongos() {
        var machine = Machine(configuration([a]))
        _ = machine.start(at: .zero)
        #expect(machine.helloReceived(HelloResponse(isMongos: true), from: a, at: .milliseconds(1)).outcome == .refused(.mongos(a)))
    }

    @Test("two configs of the same set name with different replicaSetIds: split brain")
    func splitBrain() {
        var machine = Machine(configuration([a, b]))
        _ = machine.start(at: .zero)
        _ = machine.helloReceived(.member(a, .primary), from: a, at: .milliseconds(1))
        _ = machine.helloReceived(.member(b, .primary), from: b, at: .milliseconds(1))
        _ = machine.commandSucceeded(.committed(storedConfig([a, b])), from: a, at: .milliseconds(2))
        let otherId = ObjectId(hex: "65a1b2c3d4e5f60718293a00")!
        let end = machine.commandSucceeded(.committed(storedConfig([a, b], id: otherId)), from: b, at: .milliseconds(2))
        #expect(end.outcome == .refused(.splitBrain(setName: "rs0", [a: replicaSetId.hex, b: otherId.hex])))
    }

    @Test("authentication or authorization failure ends the run at once")
    func notAuthorized() {
        var machine = Machine(configuration([a, b]))
        _ = machine.start(at: .zero)
        let denied = MongoError.code(.unauthorized, a, "not authorized on admin to execute command { replSetGetStatus: 1 }")
        _ = machine.helloReceived(.noConfig(), from: a, at: .milliseconds(1))
        #expect(machine.commandFailed(denied, from: a, at: .milliseconds(2)) == [.finish(.notAuthorized(denied))])
    }

    @Test("rejected credentials or an untrusted node certificate on the monitor connection end the run at once; a refused connection does not",
          arguments: [MongoError.Kind.authentication, .certificateRejected, .connectionRefused])
    func accessDeniedOnHello(kind: MongoError.Kind) {
        var machine = Machine(configuration([a, b]))
        _ = machine.start(at: .zero)
        let error = MongoError(kind, host: a, message: "TLS handshake failed: certificate verify failed (20)")
        let actions = machine.helloFailed(error, from: a, at: .milliseconds(1))
        #expect((actions == [.finish(.notAuthorized(error))]) == (kind != .connectionRefused))
    }
}

/// A node that answers with what no mongod sends is refused at once: its replies are never acted on.
@Suite("State machine: untrusted replies")
struct UntrustedReplyTests {
    @Test("a reply no mongod sends, on either connection, ends the run as a refusal naming the node")
    func invalidReply() {
        let error = MongoError(.invalidReply, host: b, message: "replSetGetConfig reply: field 'config.members[1].host' is …", command: "replSetGetConfig")
        var machine = Machine(configuration([a, b]))
        _ = machine.start(at: .zero)
        _ = machine.helloReceived(.member(b, .secondary), from: b, at: .milliseconds(1))
        #expect(machine.commandFailed(error, from: b, at: .milliseconds(2)) == [.finish(.refused(.invalidReply(error)))])
        var monitorMachine = Machine(configuration([a, b]))
        _ = monitorMachine.start(at: .zero)
        #expect(monitorMachine.helloFailed(error, from: b, at: .milliseconds(1)) == [.finish(.refused(.invalidReply(error)))])
        #expect(Refusal.invalidReply(error).description.hasPrefix("db-1.mongo:27017 answered replSetGetConfig with a reply no mongod sends"))
    }

    @Test("a config named otherwise than the node's own hello says is refused")
    func configContradictsHello() {
        var machine = Machine(configuration([a]))
        _ = machine.start(at: .zero)
        _ = machine.helloReceived(.member(a, .primary), from: a, at: .milliseconds(1))
        var config = storedConfig([a])
        config.name = "other"
        guard case .refused(.invalidReply(let error))? = machine.commandSucceeded(.committed(config), from: a, at: .milliseconds(2)).outcome else {
            Issue.record("expected a refusal")
            return
        }
        #expect(error.message.contains("named 'other'"))
    }

    @Test("configs may add at most 50 hosts not in --nodes to watch")
    func watchLimit() {
        var machine = Machine(configuration([a]))
        _ = machine.start(at: .zero)
        _ = machine.helloReceived(.member(a, .secondary, primary: nil), from: a, at: .milliseconds(1))
        let first = storedConfig([a] + (1...30).map { HostAddress(host: "x-\($0)") })
        #expect(machine.commandSucceeded(.config(first), from: a, at: .milliseconds(2)).outcome == nil)
        // The node now reports another 30 members under a newer version.
        let actions = machine.helloReceived(.member(a, .secondary, version: 2, counter: 2), from: a, at: .milliseconds(3))
        #expect(actions.contains(.send(.getConfig, to: a)))
        let second = storedConfig([a] + (31...60).map { HostAddress(host: "x-\($0)") }, version: 2)
        guard case .refused(.invalidReply(let error))? = machine.commandSucceeded(.config(second), from: a, at: .seconds(1)).outcome else {
            Issue.record("expected a refusal")
            return
        }
        #expect(error.message.contains("60 hosts not in --nodes"))
    }
}

/// Given names and the names a set records: a member is a node, not a string.
@Suite("State machine: members by identity")
struct MemberIdentityTests {
    static func fqdn(_ host: HostAddress) -> HostAddress { HostAddress(host: "\(host.host).ns.svc.cluster.local") }

    @Test("a set recording its members under FQDNs matches --nodes given as short names: verified, not a member to add")
    func recordedUnderOtherNames() {
        var machine = Machine(configuration([a, b]))
        _ = machine.start(at: .zero)
        let recorded = storedConfig([Self.fqdn(a), Self.fqdn(b)])
        var actions = machine.helloReceived(HelloResponse(isWritablePrimary: true, setName: "rs0", setVersion: 1, primary: Self.fqdn(a), me: Self.fqdn(a),
                                                          isReplicaSet: false, topologyVersion: tv(5)), from: a, at: .milliseconds(1))
        #expect(actions.contains(.report(.recordedAs(a, Self.fqdn(a)))))
        actions = machine.helloReceived(HelloResponse(secondary: true, setName: "rs0", setVersion: 1, primary: Self.fqdn(a), me: Self.fqdn(b),
                                                      topologyVersion: tv(5)), from: b, at: .milliseconds(1))
        #expect(actions.contains(.report(.recordedAs(b, Self.fqdn(b)))))
        actions = machine.commandSucceeded(.config(recorded), from: b, at: .milliseconds(2))
        // The recorded names are the listed nodes: nobody contacts them under those names.
        #expect(!actions.sends.contains { if case .send(_, let host) = $0 { return host == Self.fqdn(a) || host == Self.fqdn(b) } else { return false } })
        actions = machine.commandSucceeded(.committed(recorded), from: a, at: .milliseconds(3))
        guard case .converged(let summary)? = actions.outcome else {
            Issue.record("expected exit 0, got \(actions)")
            return
        }
        #expect(summary.actions.isEmpty)
        #expect(summary.recordedNames == [a: Self.fqdn(a), b: Self.fqdn(b)])
    }

    @Test("two given names answering as one member are refused, naming both")
    func twoNamesOneMember() {
        var machine = Machine(configuration([a, b]))
        _ = machine.start(at: .zero)
        _ = machine.helloReceived(.member(a, .primary), from: a, at: .milliseconds(1))
        let actions = machine.helloReceived(HelloResponse(isWritablePrimary: true, setName: "rs0", setVersion: 1, primary: a, me: a, topologyVersion: tv(1)),
                                            from: b, at: .milliseconds(1))
        #expect(actions.outcome == .refused(.sameMember(b, a, recorded: a)))
    }
}

@Suite("State machine: --rename-members")
struct RenameMembersTests {
    static let fqdnA = HostAddress(host: "db-0.mongo.ns.svc.cluster.local")
    static let recorded = storedConfig([fqdnA, b])

    /// `--nodes a,b`; the set records a as its FQDN, a is primary; every read answered.
    func observed(renameMembers: Bool) -> (Machine, [Action]) {
        var configuration = configuration([a, b])
        configuration.renameMembers = renameMembers
        var machine = Machine(configuration)
        _ = machine.start(at: .zero)
        _ = machine.helloReceived(HelloResponse(isWritablePrimary: true, setName: "rs0", setVersion: 1, primary: Self.fqdnA, me: Self.fqdnA,
                                                topologyVersion: tv(5)), from: a, at: .milliseconds(1))
        _ = machine.helloReceived(.member(b, .secondary, primary: Self.fqdnA), from: b, at: .milliseconds(1))
        _ = machine.commandSucceeded(.config(Self.recorded), from: b, at: .milliseconds(2))
        let actions = machine.commandSucceeded(.committed(Self.recorded), from: a, at: .milliseconds(3))
        return (machine, actions)
    }

    @Test("a member recorded under another name is renamed to the given name by one reconfig keeping its _id; nothing else changes")
    func renameOne() {
        let (_, actions) = observed(renameMembers: true)
        var renamed = Self.recorded
        renamed.version = 2
        renamed.members[0].host = a
        #expect(actions.contains(.send(.reconfig(renamed, force: false, maxTime: .seconds(10)), to: a)), "\(actions)")
        #expect(actions.outcome == nil)
    }

    @Test("without --rename-members the recorded name stays: nothing is written")
    func keepByDefault() {
        let (_, actions) = observed(renameMembers: false)
        guard case .converged(let summary)? = actions.outcome else {
            Issue.record("expected exit 0, got \(actions)")
            return
        }
        #expect(summary.actions.isEmpty)
    }
}
