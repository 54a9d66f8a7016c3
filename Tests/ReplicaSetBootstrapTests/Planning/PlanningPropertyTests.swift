import PropertyBased
import Testing
@testable import ReplicaSetBootstrap

/// Random current configs and desired specs within mongod's limits: the plan reaches the spec
/// through steps mongod accepts, one voter at a time, in a bounded number of steps; a spec that
/// cannot be reached is refused with its reason and no step; a satisfied spec plans nothing.
@Suite("Planning: plans for random configs and specs")
struct PlanningPropertyTests {
    /// The kinds of member mongod allows; the generator shrinks toward `.electable`.
    enum Role: Int, CaseIterable {
        case electable, electableHigh, passive, hidden, nonVoter, arbiter, delayed, noIndexes

        var options: MemberOptions {
            switch self {
            case .electable: MemberOptions()
            case .electableHigh: MemberOptions(priority: 2)
            case .passive: .passive
            case .hidden: MemberOptions(priority: 0, hidden: true)
            case .nonVoter: .nonVoter
            case .arbiter: .arbiter
            case .delayed: MemberOptions(priority: 0, hidden: true, secondaryDelaySecs: 3600)
            case .noIndexes: MemberOptions(priority: 0, buildIndexes: false)
            }
        }
    }

    struct Scenario: CustomStringConvertible {
        var current: ReplicaSetConfig
        var primary: HostAddress
        var spec: ReplicaSetSpec
        var removeMembers: Bool

        var description: String {
            let members = current.members.map { "\($0.id):\($0.host.host)\($0.options)" }
            return "current v\(current.version) \(members) \(current.settings) primary \(primary.host)\nspec \(spec.members) \(spec.settings) removeMembers \(removeMembers)"
        }
    }

    static let role = Gen.int(in: 0...(Role.allCases.count - 1)).map { Role.allCases[$0] }
    /// A host from a pool of 12, so current and spec overlap often; a role; a tag ("dc": 0 or 1).
    static let currentMember = zip(Gen.int(in: 0...11), role, Gen.int(in: 0...1).optional(valueRate: 0.4))
    /// A host; a role or nil (keep); tags nil (keep), [] or a dc; an `_id` or nil.
    static let specMember = zip(Gen.int(in: 0...11), role.optional(valueRate: 0.6), Gen.int(in: 0...2).optional(valueRate: 0.4),
                                Gen.int(in: 0...20).optional(valueRate: 0.2))

    /// A valid committed config: the members drawn (repeated hosts dropped), the first made
    /// electable if none is; the primary among the electable ones.
    static func current(_ drawn: [(Int, Role, Int?)], primaryPick: Int, modes: Bool) -> (ReplicaSetConfig, HostAddress) {
        var seen: Set<Int> = []
        var members: [(HostAddress, MemberOptions)] = []
        for (n, role, dc) in drawn where seen.insert(n).inserted {
            var options = role.options
            if let dc, role != .arbiter { options.tags = ["dc": "dc\(dc)"] }
            members.append((db(n), options))
        }
        if !members.contains(where: { $0.1.isElectable }) { members[0].1 = MemberOptions(tags: members[0].1.tags) }
        var config = committed(members, version: 3)
        if modes && members.contains(where: { $0.1.tags["dc"] != nil }) {
            config.settings = ["getLastErrorModes": ["multiDC": ["dc": 1]], "electionTimeoutMillis": 10000]
        }
        let electable = config.members.filter(\.options.isElectable).map(\.host)
        return (config, electable[primaryPick % electable.count])
    }

    /// A spec that passes validation: repeated hosts dropped, at most 7 voters (the rest made
    /// non-voters), an electable member, modes only over tags the spec gives.
    static func spec(_ drawn: [(Int, Role?, Int?, Int?)], settingsPick: Int) -> ReplicaSetSpec {
        var seen: Set<Int> = []
        var ids: Set<Int> = []
        var members: [MemberSpec] = []
        for (n, role, tags, id) in drawn where seen.insert(n).inserted {
            var member = MemberSpec(host: db(n))
            if let role {
                let o = role.options
                (member.priority, member.votes, member.arbiterOnly, member.hidden) = (o.priority, o.votes, o.arbiterOnly, o.hidden)
                (member.secondaryDelaySecs, member.buildIndexes) = (o.secondaryDelaySecs, o.buildIndexes)
            }
            if let tags, role != .arbiter { member.tags = tags == 0 ? [:] : ["dc": "dc\(tags - 1)"] }
            if let id, ids.insert(id).inserted { member.id = id }
            members.append(member)
        }
        if !members.contains(where: { $0.resolvedOptions.isElectable }) {
            let o = MemberOptions()
            (members[0].priority, members[0].votes, members[0].arbiterOnly, members[0].hidden) = (o.priority, o.votes, o.arbiterOnly, o.hidden)
            (members[0].secondaryDelaySecs, members[0].buildIndexes) = (o.secondaryDelaySecs, o.buildIndexes)
        }
        // The first member is counted first, so an electable one keeps its vote.
        var voters = 0
        for index in members.indices where members[index].resolvedOptions.isVoter {
            voters += 1
            if voters > 7 { (members[index].priority, members[index].votes, members[index].arbiterOnly) = (0, 0, false) }
        }
        var settings = ReplicaSetSettings()
        if settingsPick & 1 != 0 { settings.electionTimeoutMillis = 5000 }
        if settingsPick & 2 != 0 { settings.chainingAllowed = false }
        if settingsPick & 4 != 0, members.contains(where: { $0.tags?["dc"] != nil }) { settings.getLastErrorModes = ["multiDC": ["dc": 1]] }
        return ReplicaSetSpec(name: "rs0", members: members, settings: settings)
    }

    static let scenarios = zip(
        zip(currentMember.array(of: 1...7), Gen.int(in: 0...6), Gen.bool(0.3)),
        zip(specMember.array(of: 1...9), Gen.int(in: 0...7), Gen.bool())
    ).map { current, desired in
        let (config, primary) = Self.current(current.0, primaryPick: current.1, modes: current.2)
        return Scenario(current: config, primary: primary, spec: Self.spec(desired.0, settingsPick: desired.1), removeMembers: desired.2)
    }

    @Test("the plan reaches the spec through valid single-voter steps, or says why it cannot")
    func plansReachTheSpec() async {
        var reached = 0
        await propertyCheck(count: 600, input: Self.scenarios) { scenario in
            #expect(throws: Never.self, "\(scenario)") { try scenario.spec.validate() }
            #expect(scenario.current.problem == nil, "\(scenario)")
            let planner = ReconfigPlanner(spec: scenario.spec, removeMembers: scenario.removeMembers)
            // As the caller runs it: pinned once at the start. Unpinned, it plans the same or refuses.
            let pinned = planner.pinningNewMembers(from: scenario.current)
            if Self.check(pinned, scenario) { reached += 1 }
            _ = Self.check(planner, scenario)
        }
        // Not vacuous: most scenarios plan real work.
        #expect(reached > 300, "\(reached) of 600 scenarios planned work")
    }

    /// Checks one planner on one scenario; true when it planned at least one step.
    static func check(_ planner: ReconfigPlanner, _ scenario: Scenario) -> Bool {
        let steps = planner.steps(from: scenario.current, primary: scenario.primary)
        #expect(planner.nextStep(from: scenario.current, primary: scenario.primary) == steps.first)
        if planner.isSatisfied(by: scenario.current) { #expect(steps.isEmpty, "\(scenario)") }
        if let obstacle = planner.obstacle(from: scenario.current, primary: scenario.primary) {
            #expect(steps.isEmpty, "\(scenario)")
            // The search finds a plan whenever the desired config is valid, except where a
            // write concern mode the spec keeps needs the tag of a member that must be re-added.
            #expect(!obstacle.hasPrefix("no order") || obstacle.contains("getLastErrorModes"), "\(scenario)\n\(obstacle)")
            return false
        }
        let (end, _) = replay(steps, from: scenario.current, primary: scenario.primary)
        let difference = scenario.spec.difference(from: end)
        #expect(difference.satisfiesSpec, "\(scenario)\n\(steps)")
        if scenario.removeMembers { #expect(difference.extra.isEmpty, "\(scenario)\n\(steps)") }
        let hosts = Set(scenario.current.members.map(\.host) + scenario.spec.hosts).count
        #expect(steps.count <= 3 * hosts + 5, "\(steps.count) steps for \(hosts) hosts: \(scenario)\n\(steps)")
        // What the spec leaves out never changes: members it lacks, and unspecified options.
        for member in scenario.current.members {
            guard let now = end.member(member.host) else { continue }
            guard let desired = scenario.spec.member(member.host) else {
                #expect(now == member, "\(scenario)\n\(steps)")
                continue
            }
            if !desired.changesRole(of: member.options) {
                #expect(now == .init(id: member.id, host: member.host, options: desired.applied(to: member.options)), "\(scenario)\n\(steps)")
            }
        }
        return !steps.isEmpty
    }

    /// A spec made from the current config (each option given as it is, or left out): nothing to do.
    static let satisfiedScenarios = zip(currentMember.array(of: 1...7), Gen.int(in: 0...6), Gen.bool(0.3),
                                        Gen.int(in: 0...255).array(of: 7), Gen.bool()).map { drawn, pick, modes, masks, removeMembers in
        let (config, primary) = Self.current(drawn, primaryPick: pick, modes: modes)
        let members = zip(config.members, masks).map { member, mask in
            let o = member.options
            func given<T>(_ bit: Int, _ value: T) -> T? { mask & (1 << bit) != 0 ? value : nil }
            return MemberSpec(host: member.host, id: given(0, member.id), priority: given(1, o.priority), votes: given(2, o.votes),
                              arbiterOnly: given(3, o.arbiterOnly), hidden: given(4, o.hidden), secondaryDelaySecs: given(5, o.secondaryDelaySecs),
                              buildIndexes: given(6, o.buildIndexes), tags: given(7, o.tags))
        }
        let settings = ReplicaSetSettings(document: config.settings)
        return Scenario(current: config, primary: primary, spec: ReplicaSetSpec(name: "rs0", members: members, settings: settings),
                        removeMembers: removeMembers)
    }

    @Test("a spec the current config already satisfies plans zero steps")
    func satisfiedSpecPlansNothing() async {
        await propertyCheck(count: 500, input: Self.satisfiedScenarios) { scenario in
            let planner = ReconfigPlanner(spec: scenario.spec, removeMembers: scenario.removeMembers)
            #expect(planner.isSatisfied(by: scenario.current))
            #expect(planner.steps(from: scenario.current, primary: scenario.primary).isEmpty, "\(scenario)")
            #expect(planner.nextStep(from: scenario.current, primary: scenario.primary) == nil)
            #expect(planner.obstacle(from: scenario.current, primary: scenario.primary) == nil)
        }
    }
}
