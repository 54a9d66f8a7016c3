import MongoBSON
import MongoSimulator
import Testing

/// replSetReconfig through libmongoc (`CmdReplSetReconfig`, `_doReplSetReconfig`,
/// `validateConfigForReconfig`, `awaitConfigCommitment`).
@Suite("replSetReconfig")
struct ReconfigTests {
    @Test("on a secondary or a fresh node it is refused: 10107 and 94")
    func notPrimary() async throws {
        try await withSimulator(members: 4) { simulator in
            let fresh = await simulator.client(3).failure(["replSetReconfig": .document(configDocument(simulator.hosts))])
            #expect(fresh?.code == 94)
            #expect(fresh?.codeName == "NotYetInitialized")
            #expect(fresh?.message == "no replset config has been received")
            try await simulator.initiateSet()
            let config = try await currentConfig(simulator, 1).bumped()
            let failure = await simulator.client(1).failure(["replSetReconfig": .document(config)])
            #expect(failure?.code == 10107)
            #expect(failure?.codeName == "NotWritablePrimary")
            #expect(failure?.message == "New config is rejected :: caused by :: replSetReconfig should only be run on a writable PRIMARY. Current state SECONDARY;")
            #expect(failure?.reply["topologyVersion"] != nil)
        }
    }

    @Test("version and term must increase; voters may change by one; _id per host is fixed (103)")
    func compatibility() async throws {
        try await withSimulator(members: 3) { simulator in
            try await simulator.initiateSet()
            let client = simulator.client(0)
            let config = try await currentConfig(simulator, 0)
            let hosts = simulator.hosts

            let same = await client.failure(["replSetReconfig": .document(config)])
            #expect(same?.code == 103)
            #expect(same?.codeName == "NewReplicaSetConfigurationIncompatible")
            #expect(same?.message == "New replica set configuration version and term must be greater than old, but {version: 1, term: 1} is not greater than {version: 1, term: 1} for replica set rs0")

            let twoVotersOut = configDocument([hosts[0]], version: 2)
            let single = await client.failure(["replSetReconfig": .document(twoVotersOut)])
            #expect(single?.code == 103)
            #expect(single?.message == "Non force replica set reconfig can only add or remove at most 1 voting member.")

            let swapped = configDocument([hosts[1], hosts[0], hosts[2]], version: 2)
            let ids = await client.failure(["replSetReconfig": .document(swapped)])
            #expect(ids?.message == "New and old configurations both have members with host of \(hosts[1]) but in the new configuration the _id field is 0 and in the old configuration it is 1 for replica set rs0")

            let noIndexes = configDocument(hosts, version: 2) { index, member in
                if index == 2 { member["priority"] = 0; member["buildIndexes"] = false }
            }
            let flag = await client.failure(["replSetReconfig": .document(noIndexes)])
            #expect(flag?.message == "New and old configurations differ in the setting of the buildIndexes field for member \(hosts[2]); to make this change, remove then re-add the member")

            let newlyAdded = configDocument(hosts, version: 2) { index, member in if index == 2 { member["newlyAdded"] = true } }
            let provided = await client.failure(["replSetReconfig": .document(newlyAdded)])
            #expect(provided?.code == 93)
            #expect(provided?.message == "Cannot provide newlyAdded field to member config during reconfig.")

            let notElectable = configDocument(hosts, version: 2) { index, member in if index == 0 { member["priority"] = 0 } }
            let electable = await client.failure(["replSetReconfig": .document(notElectable)])
            #expect(electable?.code == 104)
            #expect(electable?.codeName == "NodeNotElectable")
            #expect(electable?.message == "This node, \(hosts[0]), with _id 0 is not electable under the new configuration with {version: 2, term: 1} for replica set rs0")

            let noConfig = await client.failure(["replSetReconfig": 1])
            #expect(noConfig?.message == "no configuration specified")
            #expect(await simulator.writeCommands.count == 7)
            #expect(await simulator.snapshot[0].configVersion == 1)
        }
    }

    @Test("new voting members get newlyAdded, hidden from replSetGetConfig and removed by the primary once SECONDARY")
    func newlyAdded() async throws {
        try await withSimulator(members: 5) { simulator in
            try await simulator.start()
            let hosts = simulator.hosts
            _ = try await simulator.client(0).run(["replSetInitiate": .document(configDocument(Array(hosts.prefix(3))))])
            try await stepUp(simulator, 0)
            // Two new voters at once: newlyAdded members do not count as voters yet.
            let reply = try await simulator.client(0).run(["replSetReconfig": .document(configDocument(hosts, version: 2)), "maxTimeMS": 5000])
            #expect(reply["ok"] == 1.0)
            let shown = try await simulator.client(0).run(["replSetGetConfig": 1])
            #expect(shown["config"]?.documentValue?["members"]?.arrayValue?.contains { $0.documentValue?["newlyAdded"] != nil } == false)
            // Each removal is an automatic reconfig: version 2 + 2.
            try await simulator.waitUntil(timeout: .seconds(5), "newlyAdded removed") { set in
                set.members.allSatisfy { $0.configVersion == 4 && [.primary, .secondary].contains($0.state) }
            }
            let status = try await simulator.client(0).run(["replSetGetStatus": 1])
            #expect(status["votingMembersCount"] == .int32(5))
            // The removals were the primary's own doing, not commands.
            #expect(await simulator.writeCommands.filter { $0.name == "replSetReconfig" }.count == 1)
        }
    }

    /// Long enough that the primary, cut off from the others, does not step down mid-test.
    static let patientPrimary = SimulatorOptions(timings: SimulatorTimings(electionTimeout: .seconds(5), heartbeatInterval: .milliseconds(50),
                                                                           initialSync: .milliseconds(50), recovering: .milliseconds(5), drain: .milliseconds(2)))

    @Test("maxTimeMS: a config that cannot reach a majority fails with 50 but stays installed; without it the command waits")
    func commitment() async throws {
        try await withSimulator(members: 3, options: Self.patientPrimary) { simulator in
            try await simulator.initiateSet()
            try await simulator.stop(2)
            // Member 1 answers the quorum check slowly; meanwhile it gets cut off from the primary.
            try await simulator.inject(.slowReplies(.milliseconds(300)), into: 1)
            let config = try await currentConfig(simulator, 0).bumped()
            async let reconfig = simulator.client(0).command(["replSetReconfig": .document(config), "maxTimeMS": 1000])
            try await waitForCommand(simulator, "replSetReconfig")
            try await simulator.partition(0, 1)
            guard case .failure(let failure) = await reconfig else { Issue.record("reconfig succeeded"); return }
            #expect(failure.code == 50)
            #expect(failure.codeName == "MaxTimeMSExpired")
            #expect(failure.message == "Reconfig finished but failed to propagate to a majority :: caused by :: Current config with {version: 2, term: 1} has not yet propagated to a majority of nodes :: caused by :: operation exceeded time limit")
            let installed = try await simulator.client(0).run(["replSetGetConfig": 1, "commitmentStatus": true])
            #expect(installed["config"]?.documentValue?["version"] == .int32(2))
            #expect(installed["commitmentStatus"] == false)

            // The next reconfig first waits for the current config: 308 with maxTimeMS...
            let next = try await currentConfig(simulator, 0).bumped()
            let waited = await simulator.client(0).failure(["replSetReconfig": .document(next), "maxTimeMS": 300])
            #expect(waited?.code == 308)
            #expect(waited?.codeName == "CurrentConfigNotCommittedYet")
            #expect(waited?.message == "New config is rejected :: caused by :: Current config with {version: 2, term: 1} has not yet propagated to a majority of nodes :: caused by :: operation exceeded time limit")
            // ...and forever without it, until the partition heals.
            try await simulator.clearFaults(of: 1)
            async let unbounded = simulator.client(0).command(["replSetReconfig": .document(next)])
            try await Task.sleep(for: .milliseconds(400))
            #expect(await simulator.snapshot[0].configVersion == 2)
            await simulator.healAllPartitions()
            #expect(try await unbounded.get()["ok"] == 1.0)
            let committed = try await simulator.client(0).run(["replSetGetConfig": 1, "commitmentStatus": true])
            #expect(committed["commitmentStatus"] == true)
            #expect(await simulator.snapshot[0].configVersion == 3)
        }
    }

    @Test("a primary stepping down while it waits for commitment fails the reconfig with 189")
    func stepDownDuringCommitment() async throws {
        try await withSimulator(members: 3, options: Self.patientPrimary) { simulator in
            try await simulator.initiateSet()
            try await simulator.stop(2)
            try await simulator.inject(.slowReplies(.milliseconds(200)), into: 1)
            try await simulator.inject(.stepDownOnCommand("replSetReconfig", after: .milliseconds(400)), into: 0)
            let config = try await currentConfig(simulator, 0).bumped()
            async let reconfig = simulator.client(0).command(["replSetReconfig": .document(config)])
            try await waitForCommand(simulator, "replSetReconfig")
            try await simulator.partition(0, 1)
            guard case .failure(let failure) = await reconfig else { Issue.record("reconfig succeeded"); return }
            #expect(failure.code == 189)
            #expect(failure.codeName == "PrimarySteppedDown")
            #expect(failure.message == "Reconfig finished but failed to propagate to a majority :: caused by :: Current config with {version: 2, term: 1} has not yet propagated to a majority of nodes :: caused by :: Primary stepped down while waiting for replication")
            #expect(await simulator.snapshot[0].state == .secondary)
        }
    }

    @Test("a second reconfig while one is in its quorum check: ConfigurationInProgress (109)")
    func inProgress() async throws {
        try await withSimulator(members: 3) { simulator in
            try await simulator.initiateSet()
            try await simulator.inject(.slowReplies(.milliseconds(300)), into: 2)
            let config = try await currentConfig(simulator, 0).bumped()
            async let first = simulator.client(0).command(["replSetReconfig": .document(config)])
            try await waitForCommand(simulator, "replSetReconfig")
            let second = await MongocClient(simulator.hosts[0]).failure(["replSetReconfig": .document(config.bumped())])
            #expect(second?.code == 109)
            #expect(second?.codeName == "ConfigurationInProgress")
            #expect(second?.message == "Cannot run replSetReconfig because the node is currently updating its configuration")
            #expect(try await first.get()["ok"] == 1.0)
        }
    }

    @Test("force: allowed on a secondary, version + 10000 or more, no term")
    func force() async throws {
        try await withSimulator(members: 3) { simulator in
            try await simulator.initiateSet()
            try await simulator.stop(0)
            let config = configDocument(Array(simulator.hosts.suffix(2)), version: 2) { index, member in member["_id"] = .int32(Int32(index + 1)) }
            _ = try await simulator.client(1).run(["replSetReconfig": .document(config), "force": true])
            let installed = try await simulator.client(1).run(["replSetGetConfig": 1])["config"]?.documentValue
            let version = installed?["version"]?.intValue ?? 0
            #expect((10_002...110_002).contains(version))
            #expect(installed?["term"] == nil)
            // The two remaining members elect a primary among themselves.
            try await simulator.waitUntil(timeout: .seconds(5), "a primary") { $0.primary != nil }
        }
    }

    @Test("a force reconfig that makes the primary unelectable steps it down")
    func forceStepsDown() async throws {
        try await withSimulator(members: 3) { simulator in
            try await simulator.initiateSet()
            let config = try await currentConfig(simulator, 0).bumped()
            var members = config["members"]?.arrayValue ?? []
            var first = members[0].documentValue ?? [:]
            first["priority"] = 0.0
            members[0] = .document(first)
            _ = try await simulator.client(0).run(["replSetReconfig": .document(config.merging(["members": .array(members)])), "force": true])
            #expect(await simulator.snapshot[0].state == .secondary)
            let stepDown = await simulator.events.filter { $0.member == 0 && $0.kind == .steppedDown }
            #expect(stepDown.count == 1)
            try await simulator.waitUntil(timeout: .seconds(5), "another primary") { $0.primary.map { $0.index != 0 } ?? false }
        }
    }

    @Test("a host that does not resolve fails the quorum check with the resolver's message")
    func unresolvableHost() async throws {
        try await withSimulator(members: 2) { simulator in
            try await simulator.initiateSet()
            // mongod treats names starting with "127." as localhost, so this one passes validation.
            let config = try await currentConfig(simulator, 0).bumped().addingMember(id: 2, host: "127.0.0.1.invalid:27017")
            let failure = await simulator.client(0).failure(["replSetReconfig": .document(config), "maxTimeMS": 2000])
            // Two voters answered out of three: a reconfig needs a majority, not everyone.
            #expect(failure == nil, "\(String(describing: failure))")
            let initiate = try await withSimulator(members: 1) { other in
                await other.client(0).failure(["replSetInitiate": .document(configDocument([other.hosts[0], "127.0.0.1.invalid:27017"]))])
            }
            #expect(initiate?.code == 74)
            #expect(initiate?.message == "replSetInitiate quorum check failed because not all proposed set members responded affirmatively: 127.0.0.1.invalid:27017 failed with Error connecting to 127.0.0.1.invalid:27017 :: caused by :: Could not find address for 127.0.0.1.invalid:27017: SocketException: Host not found (authoritative)")
        }
    }

    @Test("adding an arbiter would change the implicit default write concern (103); PSA rule")
    func writeConcernRules() async throws {
        try await withSimulator(members: 4) { simulator in
            let hosts = simulator.hosts
            _ = try await simulator.client(0).run(["replSetInitiate": .document(configDocument(Array(hosts.prefix(3))))])
            try await stepUp(simulator, 0)
            let withArbiter = try await currentConfig(simulator, 0).bumped().addingMember(id: 3, host: hosts[3], ["arbiterOnly": true])
            let failure = await simulator.client(0).failure(["replSetReconfig": .document(withArbiter)])
            #expect(failure?.code == 103)
            #expect(failure?.message == "Reconfig attempted to install a config that would change the implicit default write concern. Use the setDefaultRWConcern command to set a cluster-wide write concern and try the reconfig again.")
        }
        try await withSimulator(members: 3) { simulator in
            let hosts = simulator.hosts
            let psa = configDocument(hosts) { index, member in
                if index == 1 { member["votes"] = 0; member["priority"] = 0 }
                if index == 2 { member["arbiterOnly"] = true }
            }
            _ = try await simulator.client(0).run(["replSetInitiate": .document(psa)])
            try await stepUp(simulator, 0)
            let electable = configDocument(hosts, version: 2) { index, member in
                if index == 2 { member["arbiterOnly"] = true }
            }
            let failure = await simulator.client(0).failure(["replSetReconfig": .document(electable)])
            #expect(failure?.code == 103)
            #expect(failure?.message.hasPrefix("Rejecting reconfig where the new config has a PSA topology and the secondary is electable, but the old config contains only one writable node.") == true)
        }
    }

    @Test("a member removed by a reconfig becomes REMOVED and says so")
    func removal() async throws {
        try await withSimulator(members: 3) { simulator in
            try await simulator.initiateSet()
            let config = configDocument(Array(simulator.hosts.prefix(2)), version: 2)
            _ = try await simulator.client(0).run(["replSetReconfig": .document(config), "maxTimeMS": 5000])
            try await simulator.waitUntil(timeout: .seconds(5), "member 2 REMOVED") { $0[2].state == .removed }
            let status = await simulator.client(2).failure(["replSetGetStatus": 1])
            #expect(status?.code == 93)
            #expect(status?.codeName == "InvalidReplicaSetConfig")
            #expect(status?.message == "Our replica set config is invalid or we are not a member of it")
            let hello = try await simulator.client(2).run(["hello": 1])
            #expect(hello["info"] == "Does not have a valid replica set config")
            #expect(hello["setName"] == nil)
        }
    }
}

extension ReconfigTests {
    @Test("a force reconfig naming a running member of another set of the same name: nobody hangs, mongod shows it DOWN (8)")
    func forceReconfigNamingAnotherSetsMember() async throws {
        try await conformance([MemberSpec(), MemberSpec(), MemberSpec(role: .otherSet("rs0"))], deadline: .seconds(15)) { simulator in
            try await simulator.initiateSet()
            try await simulator.waitUntil(timeout: .seconds(5), "the other set's primary") { $0[2].isWritablePrimary }
            let merged = try await currentConfig(simulator, 0).bumped().addingMember(id: 5, host: simulator.hosts[2])
            #expect(await simulator.reply(0, ["replSetReconfig": .document(merged), "force": true])?["ok"] == 1.0)
            try await Task.sleep(for: .milliseconds(300))
            let status = await simulator.reply(0, ["replSetGetStatus": 1]) ?? [:]
            #expect(status.membersArray.last?["state"] == .int32(8))
            #expect(status.membersArray.last?["stateStr"] == "(not reachable/healthy)")
            #expect(await simulator.snapshot[2].isWritablePrimary)
        }
    }
}

/// The config member `index` holds, as replSetGetConfig returns it.
func currentConfig(_ simulator: ReplicaSetSimulator, _ index: Int) async throws -> BSONDocument {
    guard case .document(let config) = try await simulator.client(index).run(["replSetGetConfig": 1])["config"] else {
        throw MongocFailure(domain: 0, code: 0, message: "no config", reply: [:])
    }
    return config
}

extension BSONDocument {
    /// The same config with version + 1.
    func bumped() -> BSONDocument {
        var copy = self
        copy["version"] = .int32(Int32(self["version"]?.intValue ?? 0) + 1)
        return copy
    }

    func addingMember(id: Int32, host: String, _ fields: BSONDocument = [:]) -> BSONDocument {
        var copy = self
        let member = (["_id": .int32(id), "host": .string(host)] as BSONDocument).merging(fields)
        copy["members"] = .array((self["members"]?.arrayValue ?? []) + [.document(member)])
        return copy
    }
}
