import MongoBSON
import MongoSimulator
import Testing

/// Safe and force reconfigs, their commitment, newlyAdded, voter limits and default write
/// concerns, ported from mongod's jstests.
@Suite("conformance: reconfig")
struct ReconfigConformanceTests {
    /// jstests/replsets/reconfig_fails_no_cwwc_set.js: "a reconfig that would change the implicit
    /// default write concern fails". Ported assertions (5.0+; on 4.4 the jstest's
    /// feature-flag-off branch: no default reported and the reconfig works):
    /// - getDefaultRWConcern reports defaultWriteConcern {w: "majority", wtimeout: 0};
    /// - adding an arbiter fails with NewReplicaSetConfigurationIncompatible (103), errmsg
    ///   containing "Reconfig attempted to install a config that would change the implicit
    ///   default write concern"; a force reconfig fails the same way;
    /// - setDefaultRWConcern {w: 1} works; the reconfig then works; getDefaultRWConcern reports
    ///   {w: 1, wtimeout: 0}.
    @Test("jstests/replsets/reconfig_fails_no_cwwc_set.js", arguments: ServerVersion.allCases)
    func reconfigFailsNoCwwcSet(version: ServerVersion) async throws {
        try await conformance(members: 3, options: .fast(version)) { simulator in
            let hosts = simulator.hosts
            _ = try await simulator.client(0).run(["replSetInitiate": .document(configDocument(Array(hosts.prefix(2))))])
            try await stepUp(simulator, 0)
            let implicit = await simulator.reply(0, ["getDefaultRWConcern": 1]) ?? [:]
            let config = try await currentConfig(simulator, 0).bumped().addingMember(id: 2, host: hosts[2], ["arbiterOnly": true])
            guard version != .v4_4 else {
                #expect(implicit["defaultWriteConcern"] == nil)
                _ = try await simulator.client(0).run(["replSetReconfig": .document(config), "maxTimeMS": 10_000])
                return
            }
            Self.expectWriteConcern(implicit, w: "majority")
            let message = "Reconfig attempted to install a config that would change the implicit default write concern"
            for force in [false, true] {
                let refused = await simulator.reply(0, ["replSetReconfig": .document(config), "force": .bool(force)])
                #expect(refused?["code"] == .int32(103), "force \(force)")
                #expect(errmsg(refused).contains(message))
            }
            let set = await simulator.reply(0, ["setDefaultRWConcern": 1, "defaultWriteConcern": ["w": 1], "writeConcern": ["w": "majority"]])
            #expect(set?["ok"] == 1.0)
            _ = try await simulator.client(0).run(["replSetReconfig": .document(config), "maxTimeMS": 10_000])
            Self.expectWriteConcern(await simulator.reply(0, ["getDefaultRWConcern": 1]) ?? [:], w: 1)
        }
    }

    static func expectWriteConcern(_ reply: BSONDocument, w: BSON, sourceLocation: SourceLocation = #_sourceLocation) {
        let concern = reply["defaultWriteConcern"]?.documentValue
        #expect(concern?.keys == ["w", "wtimeout"], "\(reply)", sourceLocation: sourceLocation)
        #expect(concern?["w"] == w || concern?["w"]?.doubleValue.map { $0 == w.doubleValue } == true, "\(reply)", sourceLocation: sourceLocation)
        #expect(concern?["wtimeout"]?.intValue == 0, "\(reply)", sourceLocation: sourceLocation)
    }

    /// jstests/replsets/get_default_write_concern_majority.js: with no cluster-wide write
    /// concern, a PSS set reports the implicit default {w: "majority", wtimeout: 0}; a PSA set
    /// reports no defaultWriteConcern (its implicit default is w: 1).
    @Test("jstests/replsets/get_default_write_concern_majority.js")
    func getDefaultWriteConcernMajority() async throws {
        try await conformance(members: 3) { simulator in
            try await simulator.initiateSet()
            Self.expectWriteConcern(await simulator.reply(try await simulator.primaryIndex(), ["getDefaultRWConcern": 1]) ?? [:], w: "majority")
        }
        try await conformance(members: 3) { simulator in
            let config = configDocument(simulator.hosts) { index, member in if index == 2 { member["arbiterOnly"] = true } }
            _ = try await simulator.client(0).run(["replSetInitiate": .document(config)])
            let reply = await simulator.reply(try await simulator.primaryIndex(), ["getDefaultRWConcern": 1])
            #expect(reply?["ok"] == 1.0)
            #expect(reply?["defaultWriteConcern"] == nil)
        }
    }

    /// jstests/replsets/reconfig_uses_default_protocolVersion.js: a reconfig without
    /// protocolVersion works and the config keeps protocolVersion 1.
    @Test("jstests/replsets/reconfig_uses_default_protocolVersion.js")
    func reconfigUsesDefaultProtocolVersion() async throws {
        try await conformance(members: 2) { simulator in
            try await simulator.initiateSet()
            var config = try await currentConfig(simulator, 0).bumped()
            config["protocolVersion"] = nil
            _ = try await simulator.client(0).run(["replSetReconfig": .document(config), "maxTimeMS": 10_000])
            #expect(try await currentConfig(simulator, 0)["protocolVersion"]?.intValue == 1)
        }
    }

    /// The jstest in jstests/replsets/ whose header reads "Test to ensure that if there are
    /// already 7 voting members in a set, adding a new voting member will fail during
    /// validation" (the index holds its text, not its file name): with 7 voters, a safe reconfig
    /// adding an 8th fails with NewReplicaSetConfigurationIncompatible (103), although the new
    /// member would join as newlyAdded; the config keeps 7 voters. A non-voting 8th is fine.
    @Test("jstests/replsets/ (7 voting members: adding an 8th fails validation)", arguments: ServerVersion.allCases)
    func eighthVoter(version: ServerVersion) async throws {
        try await conformance(members: 8, options: .fast(version)) { simulator in
            let hosts = simulator.hosts
            _ = try await simulator.client(0).run(["replSetInitiate": .document(configDocument(Array(hosts.prefix(7))))])
            try await stepUp(simulator, 0)
            let config = try await currentConfig(simulator, 0)
            let reply = await simulator.reply(0, ["replSetReconfig": .document(config.bumped().addingMember(id: 7, host: hosts[7]))])
            #expect(reply?["code"] == .int32(103), "\(String(describing: reply))")
            #expect(reply?["errmsg"] == "Replica set configuration contains 8 voting members, but must be at least 1 and no more than 7")
            #expect(try await currentConfig(simulator, 0)["version"] == config["version"])
            let nonVoting = config.bumped().addingMember(id: 7, host: hosts[7], ["votes": 0, "priority": 0])
            _ = try await simulator.client(0).run(["replSetReconfig": .document(nonVoting), "maxTimeMS": 10_000])
        }
    }

    /// jstests/replsets/newly_added_member_id_vs_index.js: two members added at once with
    /// _id and index swapped (index 1 has _id 2, index 2 has _id 1). Ported assertions: the
    /// stored config has the ids flipped; both carry newlyAdded while they sync; the vote counts
    /// are then votingMembersCount 1, majorityVoteCount 1, writableVotingMembersCount 1,
    /// writeMajorityCount 1; once both are SECONDARY, newlyAdded is gone (by _id) and the counts
    /// are 3, 2, 3, 2. (The jstest releases the members one at a time with a failpoint; here
    /// initial sync takes 400 ms for both.)
    @Test("jstests/replsets/newly_added_member_id_vs_index.js")
    func newlyAddedMemberIdVsIndex() async throws {
        try await conformance(members: 3, options: .fast(initialSync: .milliseconds(400))) { simulator in
            let hosts = simulator.hosts
            try await simulator.initiateAlone()
            let config = try await currentConfig(simulator, 0).bumped()
                .addingMember(id: 2, host: hosts[1], ["priority": 0])
                .addingMember(id: 1, host: hosts[2], ["priority": 0])
            _ = try await simulator.client(0).run(["replSetReconfig": .document(config), "maxTimeMS": 10_000])
            let stored = try #require(await simulator.reply(0, ["replSetGetConfig": 1, "$_internalIncludeNewlyAdded": true])?["config"]?.documentValue)
            #expect(stored.membersArray.map { $0["_id"]?.intValue } == [0, 2, 1])
            #expect(stored.membersArray.dropFirst().allSatisfy { $0["newlyAdded"] == true })
            let syncing = await simulator.reply(0, ["replSetGetStatus": 1]) ?? [:]
            Self.expectVoteCount(syncing, voting: 1, majority: 1, writableVoting: 1, writeMajority: 1)

            try await simulator.waitUntil(timeout: .seconds(5), "both SECONDARY, config committed") { set in
                set[1].state == .secondary && set[2].state == .secondary && set[0].configVersion == 4
            }
            let final = try #require(await simulator.reply(0, ["replSetGetConfig": 1, "$_internalIncludeNewlyAdded": true])?["config"]?.documentValue)
            #expect(final.membersArray.map { $0["_id"]?.intValue } == [0, 2, 1])
            #expect(final.membersArray.allSatisfy { $0["newlyAdded"] == nil })
            Self.expectVoteCount(await simulator.reply(0, ["replSetGetStatus": 1]) ?? [:], voting: 3, majority: 2, writableVoting: 3, writeMajority: 2)
        }
    }

    /// rslib.js `assertVoteCount`.
    static func expectVoteCount(_ status: BSONDocument, voting: Int, majority: Int, writableVoting: Int, writeMajority: Int,
                                sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(status["votingMembersCount"]?.intValue == voting, sourceLocation: sourceLocation)
        #expect(status["majorityVoteCount"]?.intValue == majority, sourceLocation: sourceLocation)
        #expect(status["writableVotingMembersCount"]?.intValue == writableVoting, sourceLocation: sourceLocation)
        #expect(status["writeMajorityCount"]?.intValue == writeMajority, sourceLocation: sourceLocation)
    }

    /// jstests/replsets/stepup_increments_config_term.js: the initial config has a version > 0
    /// and a term > -1; after replSetStepDown {60, secondaryCatchUpPeriodSecs: 60} the old
    /// primary becomes SECONDARY, the new primary's config is committed, with the same version
    /// and the term + 1.
    @Test("jstests/replsets/stepup_increments_config_term.js")
    func stepupIncrementsConfigTerm() async throws {
        try await conformance(members: 3) { simulator in
            try await simulator.initiateSet()
            let primary = try await simulator.primaryIndex()
            let original = try await currentConfig(simulator, primary)
            #expect((original["version"]?.intValue ?? 0) > 0)
            #expect((original["term"]?.intValue ?? -1) > -1)
            _ = try await simulator.client(primary).run(["replSetStepDown": 60, "secondaryCatchUpPeriodSecs": 60])
            try await simulator.waitUntil(timeout: .seconds(5), "old primary SECONDARY, a new one") { set in
                set[primary].state == .secondary && set.primary != nil
            }
            let newPrimary = try await simulator.primaryIndex()
            let deadline = ContinuousClock.now + .seconds(5)
            while !(await simulator.isConfigCommitted(newPrimary)) {
                guard ContinuousClock.now < deadline else { Issue.record("the config never committed"); break }
                try await Task.sleep(for: .milliseconds(20))
            }
            let config = try await currentConfig(simulator, newPrimary)
            #expect(config["version"]?.intValue == original["version"]?.intValue)
            #expect(config["term"]?.intValue == original["term"]?.intValue.map { $0 + 1 })
        }
    }

    /// jstests/replsets/reconfig_waits_for_a_majority_to_replicate_config.js: with the secondary
    /// cut off after the quorum check (the jstest skips it with a failpoint and a bridge), a
    /// reconfig with maxTimeMS fails with MaxTimeMSExpired (50) and the config is not committed;
    /// the next reconfig fails with CurrentConfigNotCommittedYet (308); once reconnected a
    /// reconfig works and commits.
    @Test("jstests/replsets/reconfig_waits_for_a_majority_to_replicate_config.js")
    func reconfigWaitsForAMajorityToReplicateConfig() async throws {
        try await conformance(members: 2, options: .highElectionTimeout) { simulator in
            try await simulator.initiateSet()
            try await Self.reconfigCutOff(simulator, from: [1])
            var config = try await currentConfig(simulator, 0).bumped()
            #expect(await simulator.reply(0, ["replSetReconfig": .document(config), "maxTimeMS": 500])?["code"] == .int32(308))
            #expect(await simulator.isConfigCommitted(0) == false)
            await simulator.healAllPartitions()
            config = config.bumped()
            _ = try await simulator.client(0).run(["replSetReconfig": .document(config)])
            #expect(await simulator.isConfigCommitted(0))
        }
    }

    /// A reconfig on member 0 whose quorum check passes (the members answer slowly) and which then
    /// cannot reach `members`: it fails with MaxTimeMSExpired (50) and leaves the config uncommitted.
    static func reconfigCutOff(_ simulator: ReplicaSetSimulator, from members: [Int], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for member in members { try await simulator.inject(.slowReplies(.milliseconds(200)), into: member) }
        let config = try await currentConfig(simulator, 0).bumped()
        async let reconfig = simulator.reply(0, ["replSetReconfig": .document(config), "maxTimeMS": 1000])
        try await waitForCommand(simulator, "replSetReconfig")
        for member in members {
            try await simulator.partition(0, member)
            try await simulator.clearFaults(of: member)
        }
        #expect(await reconfig?["code"] == .int32(50), sourceLocation: sourceLocation)
        #expect(await simulator.isConfigCommitted(0) == false, sourceLocation: sourceLocation)
    }

    /// jstests/replsets/reconfig_only_counts_voters_for_config_commitment.js: with the two
    /// secondary voters unable to install the new config (blocked by failpoints in the jstest,
    /// cut off here) and only the two non-voters reachable, a reconfig fails with
    /// MaxTimeMSExpired (50) and is not committed; once the voters get it, it commits, and the
    /// next reconfig works and commits.
    @Test("jstests/replsets/reconfig_only_counts_voters_for_config_commitment.js")
    func reconfigOnlyCountsVotersForConfigCommitment() async throws {
        try await conformance(members: 5, options: .highElectionTimeout) { simulator in
            let config = configDocument(simulator.hosts) { index, member in
                if index > 0 { member["priority"] = 0 }
                if index > 2 { member["votes"] = 0 }
            }
            _ = try await simulator.client(0).run(["replSetInitiate": .document(config)])
            try await stepUp(simulator, 0)
            try await simulator.waitUntil(timeout: .seconds(5), "all SECONDARY") { set in (1..<5).allSatisfy { set[$0].state == .secondary } }
            try await Self.reconfigCutOff(simulator, from: [1, 2])
            await simulator.healAllPartitions()
            let deadline = ContinuousClock.now + .seconds(5)
            while !(await simulator.isConfigCommitted(0)) {
                guard ContinuousClock.now < deadline else { Issue.record("the config never committed"); break }
                try await Task.sleep(for: .milliseconds(20))
            }
            _ = try await simulator.client(0).run(["replSetReconfig": .document(try await currentConfig(simulator, 0).bumped())])
            #expect(await simulator.isConfigCommitted(0))
        }
    }

    /// jstests/replsets/force_reconfig_sets_newly_added_field_correctly.js: "force reconfigs
    /// overwrite the 'newlyAdded' field correctly". On a one-member set: adding a member that
    /// carries newlyAdded fails with InvalidReplicaSetConfig (93), forced or not, and the vote
    /// counts stay 1/1/1/1; a force reconfig adds a member without newlyAdded (counts 2/2/2/2); a
    /// safe reconfig adds one with newlyAdded (counts stay 2/2/2/2); a force reconfig adding a
    /// fourth clears every newlyAdded (counts 4/3/4/3), which stay so once all are SECONDARY.
    @Test("jstests/replsets/force_reconfig_sets_newly_added_field_correctly.js")
    func forceReconfigSetsNewlyAddedFieldCorrectly() async throws {
        try await conformance(members: 4, options: .fast(electionTimeout: .seconds(20), initialSync: .milliseconds(1500))) { simulator in
            let hosts = simulator.hosts
            try await simulator.initiateAlone()
            func status() async -> BSONDocument { await simulator.reply(0, ["replSetGetStatus": 1]) ?? [:] }
            func newlyAdded(_ index: Int) async -> Bool {
                let config = await simulator.reply(0, ["replSetGetConfig": 1, "$_internalIncludeNewlyAdded": true])?["config"]?.documentValue
                return config?.membersArray[safe: index]?["newlyAdded"] == true
            }
            Self.expectVoteCount(await status(), voting: 1, majority: 1, writableVoting: 1, writeMajority: 1)
            for force in [true, false] {
                let config = try await currentConfig(simulator, 0).bumped().addingMember(id: 2, host: hosts[1], ["priority": 0, "newlyAdded": true])
                #expect(await simulator.reply(0, ["replSetReconfig": .document(config), "force": .bool(force)])?["code"] == .int32(93))
                Self.expectVoteCount(await status(), voting: 1, majority: 1, writableVoting: 1, writeMajority: 1)
            }
            var config = try await currentConfig(simulator, 0).bumped().addingMember(id: 2, host: hosts[1], ["priority": 0])
            _ = try await simulator.client(0).run(["replSetReconfig": .document(config), "force": true])
            #expect(await newlyAdded(1) == false)
            Self.expectVoteCount(await status(), voting: 2, majority: 2, writableVoting: 2, writeMajority: 2)

            config = try await currentConfig(simulator, 0).bumped().addingMember(id: 3, host: hosts[2], ["priority": 0])
            _ = try await simulator.client(0).run(["replSetReconfig": .document(config), "maxTimeMS": 10_000])
            #expect(await newlyAdded(1) == false)
            #expect(await newlyAdded(2) == true)
            Self.expectVoteCount(await status(), voting: 2, majority: 2, writableVoting: 2, writeMajority: 2)

            config = try await currentConfig(simulator, 0).bumped().addingMember(id: 4, host: hosts[3], ["priority": 0])
            _ = try await simulator.client(0).run(["replSetReconfig": .document(config), "force": true])
            for index in 1...3 { #expect(await newlyAdded(index) == false) }
            Self.expectVoteCount(await status(), voting: 4, majority: 3, writableVoting: 4, writeMajority: 3)
            try await simulator.waitUntil(timeout: .seconds(10), "all SECONDARY") { set in (1..<4).allSatisfy { set[$0].state == .secondary } }
            Self.expectVoteCount(await status(), voting: 4, majority: 3, writableVoting: 4, writeMajority: 3)
        }
    }
}
