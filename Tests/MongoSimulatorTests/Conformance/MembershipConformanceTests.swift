import MongoBSON
import MongoSimulator
import Testing

/// Initiating a set, members joining and leaving it, and nodes that belong elsewhere, ported from
/// mongod's jstests.
@Suite("conformance: initiate and membership")
struct MembershipConformanceTests {
    /// jstests/replsets/initiate_prohibits_w0.js (SERVER-13055): replSetInitiate with
    /// settings.getLastErrorDefaults {w: 0}, alone or with j: false, wtimeout and fsync, fails
    /// with InvalidReplicaSetConfig (93).
    @Test("jstests/replsets/initiate_prohibits_w0.js", arguments: ServerVersion.allCases)
    func initiateProhibitsW0(version: ServerVersion) async throws {
        try await conformance(members: 1, options: .fast(version)) { simulator in
            for defaults: BSONDocument in [["w": 0], ["w": 0, "j": false, "wtimeout": 100, "fsync": true]] {
                var config = configDocument(simulator.hosts)
                config["settings"] = ["getLastErrorDefaults": .document(defaults)]
                let reply = await simulator.reply(0, ["replSetInitiate": .document(config)])
                #expect(reply?["code"] == .int32(93))
                #expect(reply?["codeName"] == "InvalidReplicaSetConfig")
                #expect(reply?["errmsg"] == "Default write concern mode must wait for at least 1 member")
            }
            #expect(await simulator.snapshot[0].configVersion == nil)
        }
    }

    /// jstests/replsets/reconfig_prohibits_w0.js (SERVER-13055): the same getLastErrorDefaults in
    /// a replSetReconfig fail with InvalidReplicaSetConfig (93) (or 103 on 4.4, which the jstest
    /// also accepts); the config stays at version 1.
    @Test("jstests/replsets/reconfig_prohibits_w0.js")
    func reconfigProhibitsW0() async throws {
        try await conformance(members: 1) { simulator in
            try await simulator.initiateSet()
            for defaults: BSONDocument in [["w": 0], ["w": 0, "j": false, "wtimeout": 100, "fsync": true]] {
                var config = try await currentConfig(simulator, 0)
                config["settings"] = ["getLastErrorDefaults": .document(defaults)]
                let reply = await simulator.reply(0, ["replSetReconfig": .document(config.bumped())])
                #expect([93, 103].contains(reply?["code"]?.intValue ?? 0), "\(String(describing: reply))")
            }
            #expect(await simulator.snapshot[0].configVersion == 1)
        }
    }

    /// jstests/replsets/initiate_without_replset_name_at_startup.js: a mongod started without
    /// --replSet refuses replSetInitiate with NoReplicationEnabled (76) (the jstest's remaining
    /// steps initiate a --configsvr node and restart it, which needs storage); and, from its
    /// AlreadyInitialized steps, a second initiate of an initiated member fails with
    /// AlreadyInitialized (23), "already initialized", and the stored config keeps its name.
    @Test("jstests/replsets/initiate_without_replset_name_at_startup.js")
    func initiateWithoutReplSetNameAtStartup() async throws {
        try await conformance([MemberSpec(role: .standalone), MemberSpec()]) { simulator in
            let standalone = await simulator.reply(0, ["replSetInitiate": .document(configDocument([simulator.hosts[0]]))])
            #expect(standalone?["code"] == .int32(76))
            #expect(standalone?["codeName"] == "NoReplicationEnabled")
            #expect(standalone?["errmsg"] == "This node was not started with replication enabled.")

            _ = try await simulator.client(1).run(["replSetInitiate": .document(configDocument([simulator.hosts[1]]))])
            var other = configDocument([simulator.hosts[1]])
            other["_id"] = "rs0-2"
            let again = await simulator.reply(1, ["replSetInitiate": .document(other)])
            #expect(again?["code"] == .int32(23))
            #expect(again?["codeName"] == "AlreadyInitialized")
            #expect(errmsg(again).contains("already initialized"))
            #expect(try await currentConfig(simulator, 1)["_id"] == "rs0")
        }
    }

    /// jstests/replsets/initiate_emrc_false.js (SERVER-58780), the part that needs no storage
    /// option: replSetInitiate with an invalid config ({foo: "bar"}) fails with
    /// InvalidReplicaSetConfig (93) and leaves no trace: the same node then initiates.
    @Test("jstests/replsets/initiate_emrc_false.js")
    func initiateEmrcFalse() async throws {
        try await conformance(members: 2) { simulator in
            let invalid = await simulator.reply(0, ["replSetInitiate": ["foo": "bar"]])
            #expect(invalid?["code"] == .int32(93))
            #expect(await simulator.snapshot[0].configVersion == nil)
            _ = try await simulator.client(0).run(["replSetInitiate": .document(configDocument(simulator.hosts))])
            _ = try await simulator.primaryIndex()
        }
    }

    /// jstests/replsets/get_status.js: replSetGetStatus fails with NotYetInitialized (94) before
    /// initiate and works on the primary of an initiated set with an arbiter.
    @Test("jstests/replsets/get_status.js")
    func getStatus() async throws {
        try await conformance(members: 4) { simulator in
            #expect(await simulator.reply(0, ["replSetGetStatus": 1])?["code"] == .int32(94))
            let config = configDocument(simulator.hosts) { index, member in if index == 3 { member["arbiterOnly"] = true } }
            _ = try await simulator.client(0).run(["replSetInitiate": .document(config)])
            let primary = try await simulator.primaryIndex()
            #expect(await simulator.reply(primary, ["replSetGetStatus": 1])?["ok"] == 1.0)
        }
    }

    /// jstests/replsets/reconfig.js: a reconfig naming an unparseable host is refused; with two
    /// of five members down a reconfig (a priority change) still succeeds and raises the version
    /// by one; replSetInitiate of a member without `host` fails naming the missing host field.
    @Test("jstests/replsets/reconfig.js")
    func reconfig() async throws {
        try await conformance(members: 6) { simulator in
            let hosts = Array(simulator.hosts.prefix(5))
            _ = try await simulator.client(0).run(["replSetInitiate": .document(configDocument(hosts))])
            try await stepUp(simulator, 0)
            let primary = 0
            let config = try await currentConfig(simulator, primary)
            let invalid = config.bumped().addingMember(id: 5, host: "localhost:12345, votes:0")
            #expect(await simulator.reply(primary, ["replSetReconfig": .document(invalid)])?["ok"] == 0.0)

            try await simulator.stop(3)
            try await simulator.stop(4)
            var members = config.membersArray
            members[0]["priority"] = 5
            var prioritized = config.bumped()
            prioritized["members"] = .array(members.map(BSON.document))
            _ = try await simulator.client(primary).run(["replSetReconfig": .document(prioritized), "maxTimeMS": 10_000])
            #expect(try await currentConfig(simulator, primary)["version"]?.intValue == 2)

            let noHost: BSONDocument = ["_id": "rs0", "members": [["_id": 0, "tags": ["member0"]]]]
            let reply = await simulator.reply(5, ["replSetInitiate": .document(noHost)])
            #expect(reply?["code"] == .int32(93))
            #expect(errmsg(reply).contains("'MemberConfig.host' is missing"), "\(String(describing: reply))")
        }
    }

    /// jstests/replsets/remove1.js: removing a secondary with a reconfig; the removed member
    /// closes the connection the test holds ("the secondary disconnects us when it picks up the
    /// new config") and a new connection works; the primary holds the new version; re-adding it
    /// (with the automatic newlyAdded removal, 5.0+) gives version + 2; with the secondary
    /// stopped the primary steps down (isMaster secondary true); a force reconfig to the primary
    /// alone makes it primary again with a version above the last.
    @Test("jstests/replsets/remove1.js", arguments: [ServerVersion.v4_4, .v8_0])
    func remove1(version: ServerVersion) async throws {
        try await conformance(members: 2, options: .fast(version)) { simulator in
            try await simulator.initiateSet()
            let hosts = simulator.hosts
            let held = try #require(WireClient(hosts[1], timeout: 5))
            #expect(await held.message(["ping": 1, "$db": "admin"])?.document["ok"] == 1.0)

            var config = try await currentConfig(simulator, 0)
            var nextVersion = (config["version"]?.intValue ?? 0) + 1
            config["version"] = .int32(Int32(nextVersion))
            config["members"] = .array([.document(config.membersArray[0])])
            _ = try await simulator.client(0).run(["replSetReconfig": .document(config), "maxTimeMS": 10_000])
            try await simulator.waitUntil(timeout: .seconds(5), "member 1 REMOVED") { $0[1].state == .removed }
            #expect(await held.message(["ping": 1, "$db": "admin"]) == nil, "the removed member kept the connection open")
            #expect(await simulator.reply(1, ["ping": 1])?["ok"] == 1.0)
            #expect(try await currentConfig(simulator, 0)["version"]?.intValue == nextVersion)

            config = config.addingMember(id: 2, host: hosts[1])
            nextVersion += 1
            config["version"] = .int32(Int32(nextVersion))
            let deadline = ContinuousClock.now + .seconds(10)
            while await simulator.reply(0, ["replSetReconfig": .document(config), "maxTimeMS": 5000])?["ok"] != 1.0 {
                guard ContinuousClock.now < deadline else { Issue.record("re-adding the member never worked"); return }
                try await Task.sleep(for: .milliseconds(50))
            }
            if version != .v4_4 { nextVersion += 1 }
            let target = Int64(nextVersion)
            try await simulator.waitUntil(timeout: .seconds(5), "version \(target) everywhere") { set in
                set.members.allSatisfy { $0.configVersion == target && [.primary, .secondary].contains($0.state) }
            }
            #expect(try await currentConfig(simulator, 0)["version"]?.intValue == nextVersion)

            try await simulator.stop(1)
            try await simulator.waitUntil(timeout: .seconds(5), "the primary to step down") { $0[0].state == .secondary }
            #expect(await simulator.hello(0, "isMaster")["secondary"] == true)
            config["members"] = .array([.document(config.membersArray[0])])
            nextVersion += 1
            config["version"] = .int32(Int32(nextVersion))
            _ = await simulator.reply(0, ["replSetReconfig": .document(config), "force": true])
            try await simulator.waitUntil(timeout: .seconds(5), "primary again") { $0[0].isWritablePrimary }
            #expect(await simulator.hello(0, "isMaster")["ismaster"] == true)
            #expect((try await currentConfig(simulator, 0)["version"]?.intValue ?? 0) > nextVersion)
        }
    }

    /// jstests/replsets/reconfig_add_remove_arbiter.js: replSetReconfig adds an arbiter, which
    /// reaches ARBITER in its own state and in the primary's replSetGetStatus; removing it again
    /// leaves it answering replSetGetStatus with InvalidReplicaSetConfig (93) once reconnected.
    /// (On 5.0+ the jstest's newer form sets a cluster-wide write concern first: see
    /// reconfig_fails_no_cwwc_set.js.)
    @Test("jstests/replsets/reconfig_add_remove_arbiter.js", arguments: [ServerVersion.v4_4, .v8_0])
    func reconfigAddRemoveArbiter(version: ServerVersion) async throws {
        try await conformance(members: 3, options: .fast(version)) { simulator in
            let hosts = simulator.hosts
            _ = try await simulator.client(0).run(["replSetInitiate": .document(configDocument(Array(hosts.prefix(2))))])
            try await stepUp(simulator, 0)
            if version != .v4_4 {
                _ = try await simulator.client(0).run(["setDefaultRWConcern": 1, "defaultWriteConcern": ["w": 1]])
            }
            var config = try await currentConfig(simulator, 0).bumped().addingMember(id: 2, host: hosts[2], ["arbiterOnly": true])
            _ = try await simulator.client(0).run(["replSetReconfig": .document(config), "maxTimeMS": 10_000])
            try await simulator.waitUntil(timeout: .seconds(5), "member 2 ARBITER") { $0[2].state == .arbiter }
            let deadline = ContinuousClock.now + .seconds(5)
            while (await simulator.reply(0, ["replSetGetStatus": 1]))?.membersArray[safe: 2]?["state"] != .int32(7) {
                guard ContinuousClock.now < deadline else { Issue.record("the primary never saw the arbiter"); break }
                try await Task.sleep(for: .milliseconds(20))
            }
            config = try await currentConfig(simulator, 0).bumped()
            config["members"] = .array(Array(config.membersArray.prefix(2)).map(BSON.document))
            _ = try await simulator.client(0).run(["replSetReconfig": .document(config), "maxTimeMS": 10_000])
            try await simulator.waitUntil(timeout: .seconds(5), "the arbiter removed") { $0[2].state == .removed }
            #expect(await simulator.reply(2, ["replSetGetStatus": 1])?["code"] == .int32(93))
        }
    }

    /// jstests/replsets/disallow_adding_initialized_node1.js: adding, by a safe reconfig, the
    /// primary of another set (same name, own replicaSetId) fails with
    /// NewReplicaSetConfigurationIncompatible (103) and the message "Our replica set ID did not
    /// match that of our request target, replSetId: A, requestTarget: B, requestTargetReplSetId:
    /// C"; both primaries stay primary; A's status still lists its two members (_id 10 primary,
    /// 11) and B's its one (_id 20, primary).
    @Test("jstests/replsets/disallow_adding_initialized_node1.js")
    func disallowAddingInitializedNode1() async throws {
        try await conformance([MemberSpec(), MemberSpec(), MemberSpec(role: .otherSet("rs0"))]) { simulator in
            let hosts = simulator.hosts
            try await Self.initiateSetsAAndB(simulator)
            var currentA = try await currentConfig(simulator, 0)
            let currentB = try await currentConfig(simulator, 2)
            let idA = try #require(currentA["settings"]?.documentValue?["replicaSetId"])
            let idB = try #require(currentB["settings"]?.documentValue?["replicaSetId"])
            #expect(idA != idB)
            currentA = currentA.bumped()
            _ = try await simulator.client(0).run(["replSetReconfig": .document(currentA), "maxTimeMS": 10_000])
            let merged = currentA.bumped().addingMember(id: 12, host: hosts[2])
            let reply = await simulator.reply(0, ["replSetReconfig": .document(merged)])
            #expect(reply?["code"] == .int32(103))
            guard case .objectId(let a) = idA, case .objectId(let b) = idB else { return }
            let expected = "Our replica set ID did not match that of our request target, replSetId: \(a.hex), requestTarget: \(hosts[2]), requestTargetReplSetId: \(b.hex)"
            #expect(errmsg(reply).contains(expected), "\(String(describing: reply))")
            #expect(await simulator.snapshot[0].isWritablePrimary)
            #expect(await simulator.snapshot[2].isWritablePrimary)
            let statusA = (await simulator.reply(0, ["replSetGetStatus": 1]) ?? [:]).membersArray
            #expect(statusA.map { $0["_id"]?.intValue } == [10, 11])
            #expect(statusA.first?["name"] == .string(hosts[0]))
            #expect(statusA.first?["state"] == .int32(1))
            let statusB = (await simulator.reply(2, ["replSetGetStatus": 1]) ?? [:]).membersArray
            #expect(statusB.map { $0["_id"]?.intValue } == [0])
            #expect(statusB.first?["state"] == .int32(1))
        }
    }

    /// jstests/replsets/disallow_adding_initialized_node2.js: set B's only member (same set name)
    /// is stopped, added to set A by a force reconfig, and restarted. Ported assertions: A's
    /// primary and B's primary stay what they were; A's status lists B's member (_id 12) as DOWN
    /// (state 8); B's status still has its single member, PRIMARY. The simulator used to hang
    /// here (the two primaries answered each other's heartbeats with heartbeats, for ever).
    @Test("jstests/replsets/disallow_adding_initialized_node2.js")
    func disallowAddingInitializedNode2() async throws {
        try await conformance([MemberSpec(), MemberSpec(), MemberSpec(role: .otherSet("rs0"))], deadline: .seconds(20)) { simulator in
            let hosts = simulator.hosts
            try await Self.initiateSetsAAndB(simulator)
            try await simulator.stop(2)
            let merged = try await currentConfig(simulator, 0).bumped().addingMember(id: 12, host: hosts[2])
            _ = try await simulator.client(0).run(["replSetReconfig": .document(merged), "force": true])
            try await simulator.start(2)
            try await simulator.waitUntil(timeout: .seconds(5), "B primary again") { $0[2].isWritablePrimary }
            try await Task.sleep(for: .milliseconds(300))
            #expect(await simulator.snapshot[0].isWritablePrimary)
            #expect(await simulator.snapshot[2].isWritablePrimary)
            let statusA = (await simulator.reply(0, ["replSetGetStatus": 1]) ?? [:]).membersArray
            #expect(statusA.count == 3)
            #expect(statusA.first?["_id"] == .int32(10))
            #expect(statusA.first?["state"] == .int32(1))
            #expect(statusA.last?["_id"] == .int32(12))
            #expect(statusA.last?["name"] == .string(hosts[2]))
            #expect(statusA.last?["state"] == .int32(8))
            let statusB = (await simulator.reply(2, ["replSetGetStatus": 1]) ?? [:]).membersArray
            #expect(statusB.count == 1)
            #expect(statusB.first?["state"] == .int32(1))
        }
    }
}

extension MembershipConformanceTests {
    /// disallow_adding_initialized_node*.js's two sets of the same name: A, members 0 (_id 10,
    /// primary) and 1 (_id 11, priority 0); B, member 2 alone (its own set, primary).
    static func initiateSetsAAndB(_ simulator: ReplicaSetSimulator) async throws {
        let configA = configDocument(Array(simulator.hosts.prefix(2))) { index, member in
            member["_id"] = .int32(Int32(10 + index))
            if index == 1 { member["priority"] = 0 }
        }
        _ = try await simulator.client(0).run(["replSetInitiate": .document(configA)])
        try await stepUp(simulator, 0)
        try await simulator.waitUntil(timeout: .seconds(5), "B primary") { $0[2].isWritablePrimary }
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
