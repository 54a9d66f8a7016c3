import MongoBSON
@testable import ReplicaSetBootstrap

extension FakeReplicaSet {
    /// What the nodes look like when the run starts, and what the run is asked for.
    enum Shape: CaseIterable, Sendable {
        /// Every node without a config.
        case fresh
        /// The set matches the spec and has a primary (invariant 5: no write).
        case healthy
        /// The set matches the spec, no primary yet (invariant 5: replSetStepUp only).
        case noPrimary
        /// The last node belongs to another set.
        case foreignNode
        /// The last node was removed from the set that the others do not hold.
        case removedNode
        /// The set holds the first members of the spec; the others are fresh.
        case grow
        /// The set holds members the spec omits (removed only with --remove-members).
        case shrink
        /// The spec changes priorities, votes, hidden, arbiters (a role change is a remove and a re-add).
        case reshape
        /// A majority of the set's voters never answer (a force only with --force-reconfig).
        case majorityLost
    }

    struct Scenario: Sendable, CustomStringConvertible {
        var seed: UInt64
        var shape: Shape
        var spec: ReplicaSetSpec
        /// Every node of the fake: the spec's, then members of the existing config the spec omits.
        var hosts: [HostAddress]
        /// The set's config when the run starts (with shapes that have a set).
        var existing: ReplicaSetConfig?
        var primaryAtStart: HostAddress?
        var removeMembers = false
        var forceReconfig = false
        /// Per node: milliseconds before it listens.
        var lateMilliseconds: [Int]
        /// Nodes that never listen.
        var lost: Set<Int> = []
        /// A node not yet listening has no DNS record yet either (a StatefulSet pod before it is
        /// ready): its name does not resolve, rather than its port refusing.
        var lateUnresolved = false
        /// Chance that any reply is lost to a network error.
        var failurePercent = 0
        /// Another run initiates the same set at this time (ms), if still uninitialized.
        var concurrentInitiateAt: Int?
        /// The node initiated by us restarts with an empty dbpath this long (ms) after accepting.
        var initiatorLosesConfigAfter: Int?
        /// The first n elections (step-ups) fail.
        var failedElections = 0
        /// The primary steps down at this time (ms).
        var stepDownAt: Int?
        /// Chance that a replSetReconfig meets another config change in progress (109).
        var inProgressPercent = 0
        /// Chance that the previous config's commit point is not committed in the current one (308).
        var commitPointPercent = 0
        /// Heartbeats to these nodes are held up until `partitionedUntil` (ms): a config reaches
        /// them late, and a reconfig may outlast its maxTimeMS (50).
        var partitioned: Set<Int> = []
        var partitionedUntil = 0

        var description: String {
            "seed \(seed): \(shape), \(spec.members.count) listed of \(hosts.count) nodes, existing v\(existing.map { String($0.version) } ?? "-")"
                + " primary \(primaryAtStart.map(\.description) ?? "-"), remove \(removeMembers), force \(forceReconfig), late \(lateMilliseconds)\(lateUnresolved ? " unresolved" : ""), lost \(lost.sorted()),"
                + " \(failurePercent)% failures, concurrent initiate \(concurrentInitiateAt.map(String.init) ?? "-"), loses config \(initiatorLosesConfigAfter.map(String.init) ?? "-"),"
                + " failed elections \(failedElections), step down \(stepDownAt.map(String.init) ?? "-"), 109 \(inProgressPercent)%, 308 \(commitPointPercent)%,"
                + " partitioned \(partitioned.sorted()) until \(partitionedUntil) ms; reproduce with FakeReplicaSet.Scenario(seed: \(seed))"
        }

        /// The scenario of a seed: the same seed, the same schedule.
        ///
        /// `roleChanges`: whether reshaped specs turn existing members into arbiters (a remove and
        /// a re-add; `ReconfigurationTests.roleChangeRemovedBeforeReply` is the bug they found).
        init(seed: UInt64, roleChanges: Bool = true) {
            var random = SplitMix64(seed: seed)
            let shape = Shape.allCases[Int(random.next() % UInt64(Shape.allCases.count))]
            self.init(seed: seed, shape: shape, roleChanges: roleChanges, random: &random)
        }

        init(seed: UInt64, shape: Shape, roleChanges: Bool = true) {
            var random = SplitMix64(seed: seed)
            self.init(seed: seed, shape: shape, roleChanges: roleChanges, random: &random)
        }

        private init(seed: UInt64, shape: Shape, roleChanges: Bool, random: inout SplitMix64) {
            func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &random) < percent }
            func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }
            let reconfigures = [.grow, .shrink, .reshape, .majorityLost].contains(shape)
            let count = reconfigures ? int(2...5) : int(1...5)
            let listed = (0..<count).map { HostAddress(host: "db-\($0).fake") }
            self.seed = seed
            self.shape = shape
            spec = FakeReplicaSet.spec(listed)
            hosts = listed
            lateMilliseconds = Array(repeating: 0, count: count)
            failurePercent = int(0...30)
            failedElections = int(0...3)
            stepDownAt = chance(30) ? int(0...20_000) : nil
            var existing = spec.initiateConfig
            existing.term = 1
            existing.replicaSetId = ObjectId(hex: "65a1b2c3d4e5f60718293aff")
            switch shape {
            case .fresh:
                // Fresh nodes arrive when they like, within 30 s of a 60 s deadline; mostly within
                // 3 s (a refused node is asked again every few ms: late nodes cost the most events).
                let latest = chance(25) ? 30_000 : 3000
                lateMilliseconds = (0..<count).map { _ in int(0...latest) }
                lateUnresolved = chance(50)
                concurrentInitiateAt = chance(30) ? int(0...2000) : nil
                initiatorLosesConfigAfter = chance(20) ? int(0...200) : nil
            case .healthy, .noPrimary:
                self.existing = existing
                primaryAtStart = shape == .healthy ? listed[0] : nil
            case .foreignNode, .removedNode:
                self.existing = existing
            case .grow:
                existing.members = Array(existing.members.prefix(int(1...count - 1)))
                self.existing = existing
                primaryAtStart = listed[0]
                for index in existing.members.count..<count { lateMilliseconds[index] = int(0...5000) }
                lateUnresolved = chance(50)
            case .shrink:
                let extra = (count..<count + int(1...2)).map { HostAddress(host: "db-\($0).fake") }
                hosts += extra
                lateMilliseconds += extra.map { _ in 0 }
                existing.members += extra.enumerated().map { .init(id: count + $0.offset, host: $0.element) }
                self.existing = existing
                removeMembers = chance(50)
                // Sometimes the primary is a member to remove: it must step down first.
                primaryAtStart = chance(30) ? extra[0] : listed[int(0...count - 1)]
            case .reshape:
                self.existing = existing
                primaryAtStart = listed[int(0...count - 1)]
                spec = FakeReplicaSet.reshaped(spec, roleChanges: roleChanges, random: &random)
                if chance(30) && count < 5 {
                    // And one more member, fresh, with options of its own.
                    let new = HostAddress(host: "db-\(count).fake")
                    hosts.append(new)
                    lateMilliseconds.append(int(0...5000))
                    var grown = spec
                    grown.members.append(MemberSpec(host: new, priority: chance(50) ? 0 : nil, arbiterOnly: chance(20) ? true : nil))
                    if (try? grown.validate()) != nil { spec = grown } else { hosts.removeLast(); lateMilliseconds.removeLast() }
                }
            case .majorityLost:
                let size = int(3...5)
                let members = (0..<size).map { HostAddress(host: "db-\($0).fake") }
                spec = FakeReplicaSet.spec(members)
                hosts = members
                lateMilliseconds = Array(repeating: 0, count: size)
                self.existing = spec.initiateConfig
                self.existing!.term = 1
                self.existing!.replicaSetId = existing.replicaSetId
                // A majority of voters is gone for good; the first node always answers.
                lost = Set((1..<size).shuffled(using: &random).prefix((size + 1) / 2))
                forceReconfig = chance(60)
                stepDownAt = nil
            }
            if reconfigures {
                inProgressPercent = chance(50) ? int(1...30) : 0
                commitPointPercent = chance(50) ? int(1...30) : 0
                if chance(30) {
                    partitioned = Set(hosts.indices.filter { _ in chance(50) })
                    partitionedUntil = int(0...12_000)
                }
            }
        }
    }

    static func spec(_ hosts: [HostAddress]) -> ReplicaSetSpec {
        try! ReplicaSetSpec.plain(name: "rs0", nodes: hosts).spec
    }

    /// `spec` with random priorities, hidden members, non-voters and arbiters, valid by mongod's
    /// rules (`member_config.cpp`), the first member kept electable.
    static func reshaped(_ spec: ReplicaSetSpec, roleChanges: Bool, random: inout SplitMix64) -> ReplicaSetSpec {
        var reshaped = spec
        for index in reshaped.members.indices.dropFirst() {
            var member = reshaped.members[index]
            switch Int.random(in: 0..<8, using: &random) {
            case 0: member.priority = 0
            case 1: member.priority = 2
            case 2: member.priority = 0.5
            case 3: (member.priority, member.hidden) = (0, true)
            case 4: (member.priority, member.votes) = (0, 0)
            case 5 where roleChanges: member.arbiterOnly = true
            default: break
            }
            reshaped.members[index] = member
        }
        if Bool.random(using: &random) { reshaped.members[0].priority = 3 }
        return (try? reshaped.validate()) != nil ? reshaped : spec
    }
}
