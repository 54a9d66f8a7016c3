import MongoBSON
import Testing
@testable import ReplicaSetBootstrap

/// mongod's replSetReconfig rules, one by one, in its words.
@Suite("Planning: mongod's reconfig rules")
struct PlanningReconfigRulesTests {
    let old = committed([db(0), db(1), db(2)])

    /// `old` with one more version and `change` applied.
    func next(_ change: (inout ReplicaSetConfig) -> Void) -> ReplicaSetConfig {
        var config = old
        config.version += 1
        change(&config)
        return config
    }

    func violation(_ new: ReplicaSetConfig, primary: HostAddress? = db(0), force: Bool = false) -> String? {
        ReconfigRules.violation(from: old, to: new, primary: primary, force: force)
    }

    @Test("a valid change, and the same contents with a higher version, pass")
    func valid() {
        #expect(violation(next { $0.members[1].options.priority = 2 }) == nil)
        #expect(violation(next { _ in }) == nil)
        #expect(violation(next { $0.members.append(.init(id: 3, host: db(3))) }) == nil)
        #expect(violation(next { $0.members.removeLast() }) == nil)
    }

    @Test("a set at config version 2147483647 cannot be raised: the planner refuses, naming the limit, never traps")
    func lastVersion() {
        var last = old
        last.version = Int(Int32.max)
        var beyond = last
        beyond.version += 1
        beyond.members[1].options.priority = 2
        #expect(ReconfigRules.violation(from: last, to: beyond, primary: db(0), force: false)?.contains("out of range") == true)
        var wanted = spec([db(0), db(1), db(2)])
        wanted.members[1].priority = 2
        let planner = ReconfigPlanner(spec: wanted, removeMembers: false)
        #expect(planner.obstacle(from: last, primary: db(0))?.contains("up to 2147483647") == true)
        // What the config itself holds stays writable: the document has no trap either.
        #expect(last.document["version"] == .int32(.max))
        #expect(beyond.document["version"] == .int64(1 << 31))
    }

    @Test("(version, term) must increase; a force reconfig gets its version from mongod")
    func versionAndTerm() {
        let same = next { $0.version -= 1; $0.members[1].options.priority = 2 }
        #expect(violation(same) == "New replica set configuration version and term must be greater than old, but {version: 4, term: 2} is not greater than {version: 4, term: 2} for replica set rs0")
        #expect(violation(same, force: true) == nil)
        // A higher term wins over a lower version (ConfigVersionAndTerm compares terms first).
        #expect(violation(next { $0.version = 1; $0.term = 3 }) == nil)
        #expect(violation(next { $0.version = 9; $0.term = 1 })?.contains("is not greater than") == true)
    }

    @Test("the set name and replicaSetId stay")
    func identity() {
        #expect(violation(next { $0.name = "rs1" }) == "New and old configurations differ in replica set name; old was rs0, and new is rs1")
        #expect(violation(next { $0.replicaSetId = processId })?.hasPrefix("New and old configurations differ in replica set ID") == true)
        #expect(violation(next { $0.replicaSetId = nil })?.hasPrefix("New and old configurations differ in replica set ID") == true)
    }

    @Test("a host keeps its _id, and an _id is not given to another host in one reconfig")
    func memberIds() {
        #expect(violation(next { $0.members[2].id = 7 }) == "New and old configurations both have members with host of db-2.mongo:27017 but in the new configuration the _id field is 7 and in the old configuration it is 2 for replica set rs0")
        let reused = next { $0.members[2].host = db(3) }
        #expect(violation(reused)?.contains("_id 2 belongs to db-2.mongo:27017") == true)
        // Across two reconfigs an _id may come back (rs.remove, then rs.add).
        var removed = old
        removed.version += 1
        removed.members.removeLast()
        var readded = removed
        readded.version += 1
        readded.members.append(.init(id: 2, host: db(3)))
        #expect(ReconfigRules.violation(from: removed, to: readded, primary: db(0), force: false) == nil)
    }

    @Test("arbiterOnly and buildIndexes never change in place")
    func flags() {
        #expect(violation(next { $0.members[2].options = .arbiter }) == "New and old configurations differ in the setting of the arbiterOnly field for member db-2.mongo:27017; to make this change, remove then re-add the member")
        #expect(violation(next { $0.members[2].options = MemberOptions(priority: 0, buildIndexes: false) }) == "New and old configurations differ in the setting of the buildIndexes field for member db-2.mongo:27017; to make this change, remove then re-add the member")
        #expect(violation(next { $0.members[2].options = .arbiter }, force: true)?.contains("arbiterOnly") == true)
    }

    @Test("a non-force reconfig adds or removes at most one voter (by _id); force may do more")
    func singleVoter() {
        let message = "Non force replica set reconfig can only add or remove at most 1 voting member."
        let twoAdded = next { $0.members += [.init(id: 3, host: db(3)), .init(id: 4, host: db(4))] }
        #expect(violation(twoAdded) == message)
        #expect(violation(twoAdded, force: true) == nil)
        #expect(violation(next { $0.members[1].options = .nonVoter; $0.members[2].options = .nonVoter }) == message)
        // Removing one voter while adding another is two changes.
        #expect(violation(next { $0.members[2] = .init(id: 3, host: db(3)) }) == message)
        // Non-voters come and go freely alongside one voter change.
        #expect(violation(next {
            $0.members[2].options = .nonVoter
            $0.members += [.init(id: 3, host: db(3), options: .nonVoter), .init(id: 4, host: db(4), options: .nonVoter)]
        }) == nil)
    }

    @Test("the new config is valid in itself")
    func validity() {
        let eight = committed((0..<7).map(db))
        var nine = eight
        nine.version += 1
        nine.members.append(.init(id: 7, host: db(7)))
        #expect(ReconfigRules.violation(from: eight, to: nine, primary: db(0), force: false) == "8 voting members, but mongod needs at least 1 and at most 7; give the others votes 0 and priority 0")
        #expect(violation(next { $0.members[1].options.hidden = true }) == "member db-1.mongo:27017: priority must be 0 when hidden=true")
        #expect(violation(next { $0.settings = ["getLastErrorModes": ["multiDC": ["dc": 2]]] })?.contains("No replica set tag key dc") == true)
        #expect(violation(next { $0.members[1].options.horizons = ["ext": "ext.example.com"] })?.contains("same horizons") == true)
    }

    @Test("a config server set stays one")
    func configServer() {
        var old = self.old
        old.otherFields = ["configsvr": true]
        var new = old
        new.version += 1
        new.otherFields = [:]
        #expect(ReconfigRules.violation(from: old, to: new, primary: db(0), force: false) == "Cannot remove \"configsvr\" from replica set configuration on reconfig")
        new.otherFields = ["configsvr": true]
        new.members.append(.init(id: 3, host: db(3), options: .arbiter))
        #expect(ReconfigRules.violation(from: old, to: new, primary: db(0), force: false)?.contains("arbiters are not allowed") == true)
    }

    @Test("PSA: the secondary may not be electable while the old config has one writable voter")
    func psa() {
        let primaryAndArbiter = committed([(db(0), MemberOptions()), (db(2), .arbiter)])
        var psa = primaryAndArbiter
        psa.version += 1
        psa.members.append(.init(id: 2, host: db(1)))
        #expect(ReconfigRules.violation(from: primaryAndArbiter, to: psa, primary: db(0), force: false)?.hasPrefix("Rejecting reconfig where the new config has a PSA topology and the secondary is electable") == true)
        // rs.reconfigForPSASet: join with priority 0, then raise it.
        psa.members[2].options.priority = 0
        #expect(ReconfigRules.violation(from: primaryAndArbiter, to: psa, primary: db(0), force: false) == nil)
        var raised = psa
        raised.version += 1
        raised.members[2].options.priority = 1
        #expect(ReconfigRules.violation(from: psa, to: raised, primary: db(0), force: false) == nil)
    }

    @Test("the primary stays in the config and electable (NodeNotFound, NodeNotElectable); force needs only the node")
    func primary() {
        let removed = next { $0.members.removeFirst() }
        #expect(violation(removed)?.hasPrefix("No host described in new configuration with {version: 5, term: 2} for replica set rs0 maps to this node") == true)
        #expect(violation(removed, force: true)?.hasPrefix("No host described") == true)
        #expect(violation(removed, primary: nil, force: true) == nil)
        let unelectable = next { $0.members[0].options.priority = 0 }
        #expect(violation(unelectable) == "This node, db-0.mongo:27017, with _id 0 is not electable under the new configuration with {version: 5, term: 2} for replica set rs0")
        #expect(violation(unelectable, force: true) == nil)
        #expect(violation(unelectable, primary: db(1)) == nil)
    }

    @Test("a change of the implicit default write concern is reported apart (it depends on setDefaultRWConcern)")
    func implicitDefaultWriteConcern() {
        let two = committed([db(0), db(1)])
        var withArbiter = two
        withArbiter.version += 1
        withArbiter.members.append(.init(id: 2, host: db(2), options: .arbiter))
        #expect(ReconfigRules.violation(from: two, to: withArbiter, primary: db(0), force: false) == nil)
        #expect(ReconfigRules.implicitDefaultWriteConcernChange(from: two, to: withArbiter, force: false)?.hasPrefix("Reconfig attempted to install a config that would change the implicit default write concern") == true)
        #expect(ReconfigRules.implicitDefaultWriteConcernChange(from: two, to: withArbiter, force: true) != nil)
        var withSecondary = two
        withSecondary.version += 1
        withSecondary.members.append(.init(id: 2, host: db(2)))
        #expect(ReconfigRules.implicitDefaultWriteConcernChange(from: two, to: withSecondary, force: false) == nil)
        // A new data-bearing voter counts once it is no longer newlyAdded: not in this reconfig.
        let primaryAndArbiter = committed([(db(0), MemberOptions()), (db(2), .arbiter)])
        var psa = primaryAndArbiter
        psa.version += 1
        psa.members.append(.init(id: 2, host: db(1), options: .passive))
        #expect(ReconfigRules.implicitDefaultWriteConcernChange(from: primaryAndArbiter, to: psa, force: false) == nil)
    }
}
