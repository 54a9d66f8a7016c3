import MongoBSON
import MongoSimulator
import Testing

/// replSetInitiate through libmongoc (`repl_set_commands.cpp`, `processReplSetInitiate`,
/// `repl_set_config_checks.cpp`, `check_quorum_for_config_change.cpp`).
@Suite("replSetInitiate")
struct InitiateTests {
    @Test("initiating a fresh 3-member set returns ok before any election, then members converge")
    func initiate() async throws {
        try await withSimulator(members: 3) { simulator in
            let reply = try await simulator.client(0).run(["replSetInitiate": .document(configDocument(simulator.hosts))])
            #expect(reply["ok"] == 1.0)
            #expect(reply["info2"] == nil)
            let right = await simulator.snapshot
            #expect(right.members.allSatisfy { !$0.isWritablePrimary })
            #expect(right[0].term == 0)
            try await simulator.waitUntil(timeout: .seconds(5), "all members SECONDARY") { set in
                set.members.allSatisfy { $0.state == .secondary && $0.configVersion == 1 }
            }
            let config = try await simulator.client(1).run(["replSetGetConfig": 1])
            guard case .document(let installed) = config["config"], case .document(let settings) = installed["settings"] else {
                Issue.record("no config"); return
            }
            #expect(installed["term"] == .int32(0))
            #expect(settings["replicaSetId"]?.objectIdValue != nil)
        }
    }

    @Test("without a config, the default one names this member: info2 and me")
    func defaultConfig() async throws {
        try await withSimulator(members: 1) { simulator in
            let reply = try await simulator.client(0).run(["replSetInitiate": 1])
            #expect(reply["info2"] == "no configuration specified. Using a default configuration for the set")
            #expect(reply["me"] == .string(simulator.hosts[0]))
            try await simulator.waitUntil(timeout: .seconds(5), "a single-member primary") { $0.primary != nil }
            let empty = try await withSimulator(members: 1) { other in try await other.client(0).run(["replSetInitiate": [:]]) }
            #expect(empty["me"] != nil)
        }
    }

    @Test("validation failures are InvalidReplicaSetConfig (93) with mongod's messages")
    func validation() async throws {
        try await withSimulator(members: 2) { simulator in
            let hosts = simulator.hosts
            let client = simulator.client(0)
            let cases: [(BSONDocument, String)] = [
                (configDocument(hosts, version: 2), "Configuration used to initiate a replica set must  have version 1, but found 2"),
                (configDocument(hosts, setName: "other"), "Rejecting initiate with a set name that differs from command line set name, initiate set name: other, command line set name: rs0"),
                (configDocument(["127.0.0.99:27017", hosts[1]]), "No host described in new configuration with {version: 1, term: 0} for replica set rs0 maps to this node"),
                (configDocument(hosts) { index, member in if index == 0 { member["priority"] = 0 } },
                 "This node, \(hosts[0]), with _id 0 is not electable under the new configuration with {version: 1, term: 0} for replica set rs0"),
                (configDocument(hosts) { index, member in if index == 1 { member["_id"] = 0 } },
                 "Found two member configurations with same _id field, members.0._id == members.1._id == 0"),
                (configDocument([hosts[0], hosts[0]]), "Found two member configurations with same host field, members.0.host == members.1.host == \(hosts[0])"),
                (configDocument([hosts[0], "db.example.net:27017"]), "Either all host names in a replica set configuration must be localhost references, or none must be; found 1 out of 2"),
                (configDocument(hosts) { _, member in member["votes"] = 0; member["priority"] = 0 },
                 "Replica set configuration contains 0 voting members, but must be at least 1 and no more than 7"),
                (configDocument(hosts) { _, member in member["hidden"] = true },
                 "member: { _id: 0, host: \"\(hosts[0])\", hidden: true } :: caused by :: priority must be 0 when hidden=true"),
                (configDocument(hosts) { index, member in if index == 1 { member["arbiterOnly"] = true; member["priority"] = 2 } },
                 "Member \(hosts[1]) is an arbiter but has priority 2. Arbiter priority must be 0."),
                (["_id": "rs0", "version": 1, "members": [], "bogus": 1], "BSON field 'ReplSetConfig.bogus' is an unknown field."),
                (["_id": "rs0", "version": 1], "BSON field 'ReplSetConfig.members' is missing but a required field"),
                (["_id": "rs0", "version": 1, "members": []], "Replica set configuration contains 0 members, but must have at least 1 and no more than  50"),
            ]
            for (config, message) in cases {
                let failure = await client.failure(["replSetInitiate": .document(config)])
                #expect(failure?.code == 93, "\(message)")
                #expect(failure?.codeName == "InvalidReplicaSetConfig")
                #expect(failure?.message == message)
            }
            let withId = configDocument(hosts).merging(["settings": ["replicaSetId": .objectId(ObjectId.generate())]])
            let failure = await client.failure(["replSetInitiate": .document(withId)])
            #expect(failure?.message.hasPrefix("replica set configuration cannot contain 'replicaSetId' field when called from replSetInitiate: { _id: \"rs0\"") == true)
            // Nothing was initiated by the failures.
            #expect(await simulator.snapshot[0].state == .startup)
        }
    }

    @Test("eight voters, and members without an electable one, are refused")
    func voterLimits() async throws {
        try await withSimulator(members: 8) { simulator in
            let failure = await simulator.client(0).failure(["replSetInitiate": .document(configDocument(simulator.hosts))])
            #expect(failure?.message == "Replica set configuration contains 8 voting members, but must be at least 1 and no more than 7")
        }
    }

    @Test("an unreachable member fails the quorum check with NodeNotFound (74)")
    func quorumUnreachable() async throws {
        try await withSimulator(members: 3, start: false) { simulator in
            try await simulator.start(0)
            try await simulator.start(1)
            let failure = await simulator.client(0).failure(["replSetInitiate": .document(configDocument(simulator.hosts))])
            #expect(failure?.code == 74)
            #expect(failure?.codeName == "NodeNotFound")
            #expect(failure?.message == "replSetInitiate quorum check failed because not all proposed set members responded affirmatively: \(simulator.hosts[2]) failed with Error connecting to \(simulator.hosts[2]) :: caused by :: Connection refused")
            #expect(await simulator.snapshot[0].state == .startup)
            // Once the member listens, the same command succeeds.
            try await simulator.start(2)
            _ = try await simulator.client(0).run(["replSetInitiate": .document(configDocument(simulator.hosts))])
        }
    }

    @Test("a member of another set vetoes the quorum check (103)")
    func otherSet() async throws {
        try await withSimulator([MemberSpec(), MemberSpec(role: .otherSet("other"))]) { simulator in
            let failure = await simulator.client(0).failure(["replSetInitiate": .document(configDocument(simulator.hosts))])
            #expect(failure?.code == 103)
            #expect(failure?.codeName == "NewReplicaSetConfigurationIncompatible")
            #expect(failure?.message == "Our set name did not match that of the request target, requestTarget:\(simulator.hosts[1])")
        }
    }

    @Test("a member that already has a config is refused: AlreadyInitialized (23), also during an initiate")
    func alreadyInitialized() async throws {
        try await withSimulator(members: 2) { simulator in
            try await simulator.inject(.slowReplies(.milliseconds(300)), into: 1)
            let config = configDocument(simulator.hosts)
            async let first = simulator.client(0).command(["replSetInitiate": .document(config)])
            try await waitForCommand(simulator, "replSetInitiate")
            let concurrent = await MongocClient(simulator.hosts[0]).failure(["replSetInitiate": .document(config)])
            #expect(concurrent?.code == 23)
            #expect(concurrent?.codeName == "AlreadyInitialized")
            #expect(concurrent?.message == "already initialized")
            #expect(try await first.get()["ok"] == 1.0)
            let again = await simulator.client(0).failure(["replSetInitiate": .document(config)])
            #expect(again?.code == 23)
            // Member 1 asked member 0 for a config while it was still initiating; it asks again.
            try await simulator.waitUntil(timeout: .seconds(5), "both members SECONDARY") { set in
                set.members.allSatisfy { $0.state == .secondary || $0.state == .primary }
            }
        }
    }

    @Test("a standalone refuses with NoReplicationEnabled (76); other databases with Unauthorized (13)")
    func notReplicaSet() async throws {
        try await withSimulator([MemberSpec(role: .standalone), MemberSpec()]) { simulator in
            let standalone = await simulator.client(0).failure(["replSetInitiate": 1])
            #expect(standalone?.code == 76)
            #expect(standalone?.codeName == "NoReplicationEnabled")
            #expect(standalone?.message == "This node was not started with replication enabled.")
            let wrongDatabase = await simulator.client(1).failure(["replSetInitiate": 1], database: "test")
            #expect(wrongDatabase?.code == 13)
            #expect(wrongDatabase?.codeName == "Unauthorized")
            #expect(wrongDatabase?.message == "replSetInitiate may only be run against the admin database.")
        }
    }
}

extension BSONDocument {
    func merging(_ other: BSONDocument) -> BSONDocument {
        var copy = self
        for element in other { copy[element.key] = element.value }
        return copy
    }
}
