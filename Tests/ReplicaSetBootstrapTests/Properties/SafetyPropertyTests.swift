import PropertyBased
import Testing
@testable import ReplicaSetBootstrap

/// Random schedules of node replies and faults against the fake replica set: the safety
/// invariants hold on every one, and every run ends.
@Suite("State machine: safety under random schedules")
struct SafetyPropertyTests {
    static let scenarios = zip(
        zip(
            Gen.int(in: 1...5),
            Gen<FakeReplicaSet.Start>.case,
            Gen.int(in: 0...30_000).array(of: 5),
            Gen.int(in: 0...30)
        ),
        zip(
            Gen.int(in: 0...2000).optional(valueRate: 0.3),
            Gen.int(in: 0...200).optional(valueRate: 0.2),
            Gen.int(in: 0...3),
            Gen.int(in: 0...20_000).optional(valueRate: 0.3),
            Gen.uint64(in: 0 ... .max)
        )
    ).map { first, second in
        let (nodeCount, start, late, failures) = first
        let (concurrent, loses, failedElections, stepDown, seed) = second
        return FakeReplicaSet.Scenario(
            nodeCount: nodeCount, start: start,
            // Existing sets are up from the start; fresh nodes arrive when they like.
            lateMilliseconds: start == .fresh ? Array(late.prefix(nodeCount)) : Array(repeating: 0, count: nodeCount),
            failurePercent: failures, concurrentInitiateAt: concurrent, initiatorLosesConfigAfter: loses,
            failedElections: failedElections, stepDownAt: stepDown, seed: seed)
    }

    @Test("invariants 1, 4 and 5 hold and the run ends, on 600 random schedules")
    func safety() async {
        await propertyCheck(count: 600, input: Self.scenarios) { scenario in
            var fake = FakeReplicaSet(scenario)
            fake.run()
            #expect(fake.violations.isEmpty, "\(scenario): \(fake.violations)")
            #expect(fake.outcome != nil, "\(scenario): no outcome")
            // Invariant 5: a set that already matches (and keeps its primary) gets no write.
            if scenario.start == .healthy && scenario.stepDownAt == nil {
                #expect(fake.writeSends.isEmpty, "\(scenario): writes \(fake.writeSends) on a healthy set")
            }
            // What is found on the nodes decides the ending.
            switch scenario.start {
            case .foreignNode:
                #expect(fake.outcome == .refused(.foreignSet(fake.spec.hosts.last!, setName: "other", wanted: "rs0")), "\(scenario)")
                #expect(fake.writeSends.isEmpty)
            case .removedNode:
                #expect(fake.outcome == .refused(.removedMember(fake.spec.hosts.last!)), "\(scenario)")
                #expect(fake.writeSends.isEmpty)
            case .fresh, .healthy, .noPrimary:
                // Every node arrives within 30 s of a 60 s deadline, faults are transient: converge.
                guard case .converged = fake.outcome else {
                    Issue.record("\(scenario): expected convergence, got \(String(describing: fake.outcome))\n\(fake.trace.joined(separator: "\n"))")
                    return
                }
            }
        }
    }

    @Test("a fresh set converges in milliseconds: step-up instead of the 10 s election timeout")
    func fastConvergence() {
        let scenario = FakeReplicaSet.Scenario(nodeCount: 3, start: .fresh, lateMilliseconds: [0, 0, 0], failurePercent: 0,
                                               concurrentInitiateAt: nil, initiatorLosesConfigAfter: nil, failedElections: 0,
                                               stepDownAt: nil, seed: 7)
        var fake = FakeReplicaSet(scenario)
        fake.run()
        guard case .converged = fake.outcome else {
            Issue.record("expected convergence, got \(String(describing: fake.outcome))")
            return
        }
        #expect(fake.now < .seconds(1), "took \(fake.now) of virtual time")
        #expect(fake.writeSends.count == 2)  // one replSetInitiate, one replSetStepUp
    }
}
