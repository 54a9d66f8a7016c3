import Testing
@testable import ReplicaSetBootstrap

/// Exit 69 names each node still in the way and the last thing it said: never a bare
/// "gave up" with nothing after it.
@Suite("State machine: what a timeout reports")
struct TimeoutReportTests {
    func blockers(_ actions: [Action]) -> [Blocker] {
        guard case .timedOut(let blockers)? = actions.outcome else {
            Issue.record("expected a timeout, got \(actions)")
            return []
        }
        return blockers
    }

    @Test("an initiate that was accepted but never took effect is named")
    func initiateWithoutEffect() {
        var machine = machineAfterInitiate([a, b])
        // The initiator keeps answering hello without a config.
        _ = machine.helloReceived(.noConfig(2), from: a, at: .milliseconds(10))
        let blockers = blockers(machine.deadlineReached(at: .seconds(3)))
        #expect(blockers.contains(.initiateWithoutEffect(a)))
        #expect(blockers.map(\.description).contains("db-0.mongo:27017 accepted replSetInitiate but has reported no config since"))
    }

    @Test("a node whose config read keeps failing is named with the command and its error")
    func configReadFailing() {
        var machine = Machine(configuration([a]))
        _ = machine.start(at: .zero)
        _ = machine.helloReceived(.member(a, .secondary), from: a, at: .milliseconds(1))
        var error = MongoError.code(.commandFailed, a, "no config for you")
        error.command = "replSetGetConfig"
        _ = machine.commandFailed(error, from: a, at: .milliseconds(2))
        let blockers = blockers(machine.deadlineReached(at: .seconds(3)))
        #expect(blockers.contains(.unanswered(a, "replSetGetConfig", error)))
        #expect(blockers.allSatisfy { !$0.description.isEmpty })
    }

    @Test("when nothing in particular is in the way, every node appears with what it was last seen as")
    func everyNodeNamed() {
        var machine = Machine(configuration([a, b]))
        _ = machine.start(at: .zero)
        _ = machine.helloReceived(.noConfig(), from: a, at: .milliseconds(1))
        _ = machine.helloReceived(.noConfig(), from: b, at: .milliseconds(1))
        let blockers = blockers(machine.deadlineReached(at: .seconds(3)))
        #expect(Set(blockers.compactMap(\.host)) == [a, b])
    }

    @Test("an error without a message still says what kind it was")
    func emptyMessage() {
        #expect(Blocker.unreachable(a, MongoError(.networkFailure, host: a, message: "")).description
            == "db-0.mongo:27017 unreachable: network error (no details from libmongoc)")
    }
}
