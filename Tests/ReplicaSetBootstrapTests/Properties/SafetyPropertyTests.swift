import Foundation
import Testing
@testable import ReplicaSetBootstrap

/// Random schedules of node replies and faults against the fake replica set: the safety
/// invariants hold on every one, every run ends, and it ends as the nodes decide.
///
/// Each schedule comes from one seed (`FakeReplicaSet.Scenario(seed:)`); a failure prints the
/// seed and the scenario; `SAFETY_SEED=n` replays one with its whole trace. The seeds are
/// fixed, so every run checks the same schedules; `SAFETY_SEED_BASE=n` checks others, and
/// `SAFETY_SCHEDULES=n` more of them (1,000 take about 20 s of CPU in a debug build).
@Suite("State machine: safety under random schedules")
struct SafetyPropertyTests {
    static let batches = 8
    static let perBatch = (ProcessInfo.processInfo.environment["SAFETY_SCHEDULES"].flatMap { Int($0) } ?? 1000) / batches
    static let seedBase: UInt64 = ProcessInfo.processInfo.environment["SAFETY_SEED_BASE"].flatMap { UInt64($0) } ?? 0x5AFE_7E57

    @Test("invariants 1–5 hold, and each run ends as its nodes decide, on 1,000 random schedules", arguments: 0..<batches)
    func safety(batch: Int) {
        for offset in 0..<Self.perBatch {
            let seed = Self.seedBase &+ UInt64(batch * Self.perBatch + offset)
            check(FakeReplicaSet.Scenario(seed: seed))
        }
    }

    @Test("the schedule of SAFETY_SEED, with its whole trace", .enabled(if: ProcessInfo.processInfo.environment["SAFETY_SEED"] != nil))
    func oneSeed() {
        let environment = ProcessInfo.processInfo.environment
        let scenario = FakeReplicaSet.Scenario(seed: UInt64(environment["SAFETY_SEED"]!)!)
        var fake = FakeReplicaSet(scenario)
        fake.tracing = true
        fake.run()
        print(fake.trace.joined(separator: "\n"))
        check(scenario)
    }

    @Test("every shape of set and fault is among the schedules")
    func coverage() {
        var shapes: [FakeReplicaSet.Shape: Int] = [:]
        for index in 0..<(Self.batches * Self.perBatch) {
            shapes[FakeReplicaSet.Scenario(seed: Self.seedBase &+ UInt64(index)).shape, default: 0] += 1
        }
        for shape in FakeReplicaSet.Shape.allCases {
            #expect(shapes[shape, default: 0] >= Self.batches * Self.perBatch / 20, "only \(shapes[shape, default: 0]) schedules of \(shape)")
        }
    }

    func check(_ scenario: FakeReplicaSet.Scenario, sourceLocation: SourceLocation = #_sourceLocation) {
        var fake = FakeReplicaSet(scenario)
        fake.run()
        func fail(_ message: String) {
            // The same schedule again, traced.
            var traced = FakeReplicaSet(scenario)
            traced.tracing = true
            traced.run()
            Issue.record("\(scenario)\n\(message)\n\(traced.trace.suffix(150).joined(separator: "\n"))", sourceLocation: sourceLocation)
        }
        if !fake.violations.isEmpty { fail("violations: \(fake.violations)") }
        guard let outcome = fake.outcome else { return fail("no outcome") }
        let writes = fake.writeSends
        // Invariant 5: a set that already matches (and keeps its primary) gets no write; one
        // without a primary gets replSetStepUp and nothing else.
        if scenario.shape == .healthy && scenario.stepDownAt == nil && !writes.isEmpty { fail("invariant 5: writes \(writes) on a healthy set") }
        if [.healthy, .noPrimary].contains(scenario.shape), let other = writes.first(where: { $0 != .stepUp }) {
            fail("invariant 5: \(other) on a set that matches")
        }
        let forced = writes.contains { if case .reconfig(_, true, _) = $0 { return true } else { return false } }
        if forced && !scenario.forceReconfig { fail("invariant 3: forced without --force-reconfig") }
        // What is found on the nodes decides the ending.
        switch scenario.shape {
        case .foreignNode:
            if outcome != .refused(.foreignSet(scenario.spec.hosts.last!, setName: "other", wanted: "rs0")) || !writes.isEmpty { fail("expected a refusal, got \(outcome) after \(writes)") }
        case .removedNode:
            if outcome != .refused(.removedMember(scenario.spec.hosts.last!)) || !writes.isEmpty { fail("expected a refusal, got \(outcome) after \(writes)") }
        case .fresh, .healthy, .noPrimary, .grow:
            // Every node arrives within 30 s of a 60 s deadline, faults are transient: converge.
            guard case .converged = outcome else { return fail("expected convergence, got \(outcome)") }
        case .shrink, .reshape:
            // Converge, unless no safe order of reconfigs exists (decided before any write).
            switch outcome {
            case .converged: break
            case .refused(.noSafePlan): if !writes.isEmpty { fail("refused after writing \(writes)") }
            default: fail("expected convergence, got \(outcome)")
            }
        case .majorityLost:
            // The lost voters never come back: the deadline ends it, forced or not.
            guard case .timedOut = outcome else { return fail("expected the deadline, got \(outcome)") }
            if !scenario.forceReconfig && !writes.isEmpty { fail("writes \(writes) to a set that lost its majority, without --force-reconfig") }
        }
    }

    @Test("a fresh set converges in milliseconds: step-up instead of the 10 s election timeout")
    func fastConvergence() {
        var scenario = FakeReplicaSet.Scenario(seed: 7, shape: .fresh)
        scenario.hosts = (0..<3).map { HostAddress(host: "db-\($0).fake") }
        scenario.spec = FakeReplicaSet.spec(scenario.hosts)
        scenario.lateMilliseconds = [0, 0, 0]
        (scenario.failurePercent, scenario.failedElections, scenario.stepDownAt) = (0, 0, nil)
        (scenario.concurrentInitiateAt, scenario.initiatorLosesConfigAfter) = (nil, nil)
        var fake = FakeReplicaSet(scenario)
        fake.run()
        guard case .converged = fake.outcome else {
            Issue.record("expected convergence, got \(String(describing: fake.outcome))")
            return
        }
        #expect(fake.now < .seconds(1), "took \(fake.now) of virtual time")
        #expect(fake.writeSends == [.initiate(scenario.spec.initiateConfig), .stepUp])
    }

    @Test("invariant 6: the state machine is never handed a secret, so none of its output can hold one")
    func noSecretInput() {
        // Credentials live in `ConnectionOptions`, which only the driver reads. Should a secret
        // reach the machine's configuration, its output must be checked for it here.
        var found: [String] = []
        func visit(_ value: Any, path: String) {
            if value is Secret || value is Credentials || value is TLSOptions { found.append(path) }
            for child in Mirror(reflecting: value).children { visit(child.value, path: "\(path).\(child.label ?? "?")") }
        }
        visit(Machine.Configuration(spec: FakeReplicaSet.spec([a, b, c])), path: "configuration")
        #expect(found.isEmpty, "secrets reach the state machine at \(found)")
    }
}
