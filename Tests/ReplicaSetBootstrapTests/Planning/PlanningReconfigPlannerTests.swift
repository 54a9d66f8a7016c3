import MongoBSON
import Testing
@testable import ReplicaSetBootstrap

/// The planner on each kind of change, step by step.
@Suite("Planning: reconfiguration plans")
struct PlanningReconfigPlannerTests {
    func planner(_ members: [MemberSpec], settings: ReplicaSetSettings = .init(), removeMembers: Bool = false) -> ReconfigPlanner {
        ReconfigPlanner(spec: ReplicaSetSpec(name: "rs0", members: members, settings: settings), removeMembers: removeMembers)
    }

    func plain(_ hosts: [HostAddress], removeMembers: Bool = false) -> ReconfigPlanner {
        planner(hosts.map { MemberSpec(host: $0) }, removeMembers: removeMembers)
    }

    /// The plan's steps, checked by `replay`, with the final config; the plan must satisfy the spec.
    func run(_ planner: ReconfigPlanner, from current: ReplicaSetConfig, primary: HostAddress = db(0),
             sourceLocation: SourceLocation = #_sourceLocation) -> (steps: [ReconfigStep], end: ReplicaSetConfig) {
        let steps = planner.steps(from: current, primary: primary)
        #expect(planner.nextStep(from: current, primary: primary) == steps.first, sourceLocation: sourceLocation)
        let end = replay(steps, from: current, primary: primary, sourceLocation: sourceLocation)
        #expect(planner.isSatisfied(by: end.config), "\(steps)", sourceLocation: sourceLocation)
        #expect(planner.obstacle(from: current, primary: primary) == nil, sourceLocation: sourceLocation)
        return (steps, end.config)
    }

    @Test("a config that satisfies the spec plans nothing")
    func satisfied() {
        let current = committed([db(0), db(1), db(2)])
        #expect(plain([db(0), db(1), db(2)]).steps(from: current, primary: db(0)).isEmpty)
        #expect(plain([db(2), db(0)]).nextStep(from: current, primary: db(0)) == nil)
        #expect(planner([MemberSpec(host: db(1), priority: 1, votes: 1, hidden: false)]).steps(from: current, primary: db(0)).isEmpty)
    }

    @Test("add a voter: votes 1 (mongod makes it newlyAdded), the next _id, version + 1")
    func addVoter() {
        let current = committed([db(0), db(1), db(2)])
        let (steps, end) = run(plain([db(0), db(1), db(2), db(3)]), from: current)
        #expect(steps.map(\.change) == ["add db-3.mongo:27017 (votes 1, priority 1)"])
        #expect(end.member(db(3)) == .init(id: 3, host: db(3)))
        #expect(end.version == 5 && end.term == 2 && end.replicaSetId == replicaSetId)
        #expect(steps.first?.description == "reconfig to version 5: add db-3.mongo:27017 (votes 1, priority 1)")
    }

    @Test("add non-voters: any number in one step")
    func addNonVoters() {
        let current = committed([db(0), db(1), db(2)])
        let spec = [db(0), db(1), db(2)].map { MemberSpec(host: $0) } + [3, 4, 5].map { MemberSpec(host: db($0), priority: 0, votes: 0) }
        let (steps, end) = run(planner(spec), from: current)
        #expect(steps.count == 1)
        #expect(end.members.map(\.id) == [0, 1, 2, 3, 4, 5])
    }

    @Test("a spec _id is used for a new member when free")
    func specIds() {
        let current = committed([db(0), db(1), db(2)])
        let (_, end) = run(planner([MemberSpec(host: db(3), id: 9), MemberSpec(host: db(4), id: 1)]), from: current)
        #expect(end.member(db(3))?.id == 9)
        // Other new members get the next number after the highest when they join.
        #expect(end.member(db(4))?.id == 10)
    }

    @Test("members the spec lacks are kept, and removed only with removeMembers")
    func remove() {
        let current = committed([db(0), db(1), db(2), db(3)])
        #expect(plain([db(0), db(1), db(2)]).steps(from: current, primary: db(0)).isEmpty)
        let (steps, end) = run(plain([db(0), db(1), db(2)], removeMembers: true), from: current)
        #expect(steps.map(\.change) == ["remove db-3.mongo:27017"])
        #expect(end.members.map(\.host) == [db(0), db(1), db(2)])
    }

    @Test("scale 1 → 3 → 5 → 7 → 3 with removeMembers, one voter per step")
    func scale() {
        var config = committed([db(0)], version: 1)
        for (size, stepCount) in [(3, 2), (5, 2), (7, 2), (3, 4)] {
            let (steps, end) = run(plain((0..<size).map(db), removeMembers: true), from: config)
            #expect(steps.count == stepCount, "to \(size): \(steps)")
            #expect(end.members.map(\.host) == (0..<size).map(db))
            config = end
        }
        #expect(config.members.map(\.id) == [0, 1, 2])
    }

    @Test("add an arbiter (the implicit default write concern changes: the step says so apart)")
    func addArbiter() {
        let current = committed([db(0), db(1)])
        let (steps, end) = run(planner([MemberSpec(host: db(2), arbiterOnly: true)]), from: current)
        #expect(steps.map(\.change) == ["add db-2.mongo:27017 (arbiter, votes 1, priority 0)"])
        #expect(end.member(db(2))?.options == .arbiter)
        #expect(ReconfigRules.implicitDefaultWriteConcernChange(from: current, to: end, force: false) != nil)
    }

    @Test("hide a member and change priorities: non-voter changes share one step")
    func hideAndPriorities() {
        let current = committed([db(0), db(1), db(2)])
        let spec = [MemberSpec(host: db(0), priority: 3), MemberSpec(host: db(1), priority: 2),
                    MemberSpec(host: db(2), priority: 0, hidden: true)]
        let (steps, end) = run(planner(spec), from: current)
        #expect(steps.count == 1)
        #expect(steps.first?.change == "db-0.mongo:27017: priority 1 → 3; db-1.mongo:27017: priority 1 → 2; db-2.mongo:27017: priority 1 → 0, hidden false → true")
        #expect(end.member(db(2))?.options == MemberOptions(priority: 0, hidden: true))
    }

    @Test("tags, horizons and the write concern modes that use the tags, with settings")
    func tagsAndHorizons() {
        let current = committed([db(0), db(1), db(2)])
        let spec = (0...2).map { MemberSpec(host: db($0), tags: ["dc": "dc\($0 % 2)"], horizons: ["ext": "ext-\($0).example.com:30000"]) }
        let settings = ReplicaSetSettings(electionTimeoutMillis: 5000, getLastErrorModes: ["multiDC": ["dc": 2]])
        let (steps, end) = run(planner(spec, settings: settings), from: current)
        #expect(steps.count == 1)
        #expect(end.member(db(1))?.options.horizons == ["ext": "ext-1.example.com:30000"])
        #expect(end.settings["electionTimeoutMillis"] == .int32(5000))
        #expect(steps.first?.change.hasSuffix("settings electionTimeoutMillis, getLastErrorModes") == true)
    }

    @Test("horizons for a new member come with the others' in one step")
    func horizonsWithNewMember() {
        let current = committed([db(0), db(1)])
        let spec = (0...2).map { MemberSpec(host: db($0), horizons: ["ext": "ext-\($0).example.com"]) }
        let (steps, _) = run(planner(spec), from: current)
        #expect(steps.count == 1)
    }

    @Test("convert a member to an arbiter and back: remove, then re-add with a new _id")
    func convertArbiterOnly() {
        let current = committed([db(0), db(1), db(2)])
        let (steps, end) = run(planner([MemberSpec(host: db(2), arbiterOnly: true)]), from: current)
        #expect(steps.map(\.change) == [
            "remove db-2.mongo:27017 to re-add it with arbiterOnly true, buildIndexes true (mongod cannot change them in place)",
            "add db-2.mongo:27017 (arbiter, votes 1, priority 0)",
        ])
        #expect(end.member(db(2))?.options == .arbiter)
        let (back, data) = run(planner([MemberSpec(host: db(2), arbiterOnly: false)]), from: end)
        #expect(back.count == 2)
        #expect(data.member(db(2))?.options == MemberOptions())
    }

    @Test("pinning states new and re-added members' options in full, and leaves the others open")
    func pinning() {
        let current = committed([(db(0), MemberOptions()), (db(1), .arbiter)])
        let pinned = planner([MemberSpec(host: db(0)), MemberSpec(host: db(1), arbiterOnly: false), MemberSpec(host: db(2), priority: 0, votes: 0)])
            .pinningNewMembers(from: current).spec
        #expect(pinned.members[0] == MemberSpec(host: db(0)))
        #expect(pinned.members[1] == MemberSpec(host: db(1), priority: 1, votes: 1, arbiterOnly: false, hidden: false, secondaryDelaySecs: 0,
                                                buildIndexes: true, tags: [:], horizons: [:]))
        #expect(pinned.members[2].priority == 0 && pinned.members[2].votes == 0 && pinned.members[2].hidden == false)
    }

    @Test("buildIndexes false: remove, then re-add")
    func convertBuildIndexes() {
        let current = committed([db(0), db(1), db(2)])
        let (steps, end) = run(planner([MemberSpec(host: db(2), priority: 0, buildIndexes: false)]), from: current)
        #expect(steps.count == 2)
        #expect(end.member(db(2))?.options == MemberOptions(priority: 0, buildIndexes: false))
    }

    @Test("the primary to be removed steps down first; the plan goes on with the next primary")
    func primaryRemoved() {
        let current = committed([db(0), db(1), db(2)])
        let (steps, end) = run(plain([db(1), db(2), db(3)], removeMembers: true), from: current)
        #expect(steps.map(\.change) == [
            "add db-3.mongo:27017 (votes 1, priority 1)",
            "step down db-0.mongo:27017: it is to be removed",
            "remove db-0.mongo:27017",
        ])
        #expect(end.members.map(\.host) == [db(1), db(2), db(3)])
    }

    @Test("the primary to become unelectable steps down first")
    func primaryUnelectable() {
        let current = committed([db(0), db(1), db(2)])
        let (steps, _) = run(planner([MemberSpec(host: db(0), priority: 0, hidden: true)]), from: current)
        #expect(steps.map(\.change) == [
            "step down db-0.mongo:27017: it is to become unelectable (votes 1, priority 0, hidden false → true)",
            "db-0.mongo:27017: priority 1 → 0, hidden false → true",
        ])
    }

    @Test("at 7 voters, replacing one removes before it adds")
    func replaceAtSeven() {
        let current = committed((0..<7).map(db))
        let (steps, _) = run(plain((0..<6).map(db) + [db(7)], removeMembers: true), from: current)
        #expect(steps.map(\.change) == ["remove db-6.mongo:27017", "add db-7.mongo:27017 (votes 1, priority 1)"])
    }

    @Test("PSA: the second data-bearing voter joins with priority 0, then gets its priority")
    func psa() {
        let current = committed([(db(0), MemberOptions()), (db(2), .arbiter)])
        // Left open, priority 0 would satisfy the spec after the first step: the raise needs the priority stated.
        let open = plain([db(0), db(1), db(2)])
        #expect(open.steps(from: current, primary: db(0)).isEmpty)
        #expect(open.obstacle(from: current, primary: db(0))?.contains("the PSA rule") == true)
        let (steps, end) = run(open.pinningNewMembers(from: current), from: current)
        #expect(steps.map(\.change) == [
            "add db-1.mongo:27017 (votes 1, priority 0; priority 1 in a later step (PSA rule))",
            "db-1.mongo:27017: priority 0 → 1",
        ])
        #expect(end.member(db(1))?.options == MemberOptions())
    }

    @Test("PSA with a second arbiter to go: remove it first, then add the secondary")
    func psaLookAhead() {
        let current = committed([(db(0), MemberOptions()), (db(2), .arbiter), (db(3), .arbiter)])
        let spec = [MemberSpec(host: db(0)), MemberSpec(host: db(1)), MemberSpec(host: db(2), arbiterOnly: true)]
        let (steps, _) = run(planner(spec, removeMembers: true).pinningNewMembers(from: current), from: current)
        #expect(steps.first?.change == "remove db-3.mongo:27017")
        #expect(steps.count == 3)
    }

    @Test("options the spec leaves out stay as they are")
    func unspecifiedOptionsKept() {
        let tagged = MemberOptions(priority: 2, tags: ["dc": "east"])
        let current = committed([(db(0), tagged), (db(1), MemberOptions(priority: 0, hidden: true)), (db(2), MemberOptions())])
        let (_, end) = run(planner([MemberSpec(host: db(0), priority: 5), MemberSpec(host: db(1), votes: 0), MemberSpec(host: db(2))]), from: current)
        #expect(end.member(db(0))?.options == MemberOptions(priority: 5, tags: ["dc": "east"]))
        #expect(end.member(db(1))?.options == MemberOptions(priority: 0, votes: 0, hidden: true))
        #expect(end.member(db(2))?.options == MemberOptions())
    }

    @Test("a spec whose config would break mongod's rules plans nothing and says why")
    func obstacles() {
        let seven = committed((0..<7).map(db))
        let eight = plain((1..<8).map(db))
        #expect(eight.steps(from: seven, primary: db(0)).isEmpty)
        let reason = eight.obstacle(from: seven, primary: db(0)) ?? ""
        #expect(reason.contains("8 voting members") && reason.contains("--remove-members") && reason.contains("db-0.mongo:27017"), "\(reason)")
        let local = committed([HostAddress(host: "127.0.0.1")])
        let away = plain([db(0)], removeMembers: true)
        #expect(away.steps(from: local, primary: HostAddress(host: "127.0.0.1")).isEmpty)
        #expect(away.obstacle(from: local, primary: HostAddress(host: "127.0.0.1"))?.contains("localhost") == true)
        let hiddenPriority = planner([MemberSpec(host: db(1), priority: 2)])
        let withHidden = committed([(db(0), MemberOptions()), (db(1), MemberOptions(priority: 0, hidden: true))])
        #expect(hiddenPriority.obstacle(from: withHidden, primary: db(0))?.contains("priority must be 0 when hidden=true") == true)
    }

    @Test("a write concern mode the spec keeps blocks re-adding the only member with its tag; the reason says so")
    func blockedByMode() {
        var current = committed([(db(0), MemberOptions()), (db(1), MemberOptions(priority: 0, buildIndexes: false, tags: ["dc": "a"]))])
        current.settings = ["getLastErrorModes": ["multiDC": ["dc": 1]]]
        let planner = planner([MemberSpec(host: db(1), buildIndexes: true, tags: ["dc": "a"])])
        #expect(planner.steps(from: current, primary: db(0)).isEmpty)
        #expect(planner.obstacle(from: current, primary: db(0)) == "no order of safe reconfigs (one voter at a time, the primary electable) leads to the desired config; remove db-1.mongo:27017 to re-add it with arbiterOnly false, buildIndexes true (mongod cannot change them in place) is refused: settings.getLastErrorModes.multiDC: No replica set tag key dc in config (give a member the tag dc)")
    }

    @Test("forced config: the reachable members, a version above, no term; the dropped ones named")
    func forced() throws {
        let current = committed((0..<5).map(db))
        let (config, dropped) = try #require(ReconfigPlanner.forcedConfig(from: current, reachable: [db(0), db(3)]))
        #expect(config.members.map(\.host) == [db(0), db(3)])
        #expect(config.members.map(\.id) == [0, 3])
        #expect(config.version == 5 && config.term == nil)
        #expect(dropped == [db(1), db(2), db(4)])
        #expect(ReconfigRules.violation(from: current, to: config, primary: db(3), force: true) == nil)
    }

    @Test("forced config: an unelectable survivor is made electable; only arbiters give nothing")
    func forcedPromotion() throws {
        let current = committed([(db(0), MemberOptions()), (db(1), .passive), (db(2), .nonVoter), (db(3), .arbiter)])
        let (config, dropped) = try #require(ReconfigPlanner.forcedConfig(from: current, reachable: [db(1), db(2), db(3)]))
        #expect(dropped == [db(0)])
        #expect(config.member(db(1))?.options == MemberOptions())
        #expect(config.member(db(2))?.options == .nonVoter)
        #expect(ReconfigPlanner.forcedConfig(from: current, reachable: [db(3)]) == nil)
        #expect(ReconfigPlanner.forcedConfig(from: current, reachable: []) == nil)
    }
}
