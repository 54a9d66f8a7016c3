import MongoBSON
import MongoSimulator
import Testing

/// What hello and isMaster answer on each kind of member, and when an awaitable one answers,
/// ported from mongod's jstests.
@Suite("conformance: hello and awaitable hello")
struct HelloConformanceTests {
    /// One member's expected reply (ismaster1.js `checkResponseFields`): values, fields that must
    /// be there, fields that must not. Written for `isMaster`; `hello` renames the two fields.
    struct Expected {
        var values: BSONDocument
        var wanted: [String]
        var unwanted: [String]

        func check(_ reply: BSONDocument, command: String, delayField: String, sourceLocation: SourceLocation = #_sourceLocation) {
            var values = values
            var unwanted = unwanted
            if command == "hello" {
                values["isWritablePrimary"] = values["ismaster"]
                values["ismaster"] = nil
                unwanted = unwanted.filter { $0 != "isWritablePrimary" } + ["ismaster"]
                if let delay = values["slaveDelay"] {
                    values[delayField] = delay
                    values["slaveDelay"] = nil
                    unwanted = unwanted.filter { $0 != delayField } + ["slaveDelay"]
                }
            }
            for key in unwanted {
                #expect(reply[key] == nil, "\(command): \(key) should be absent in \(reply)", sourceLocation: sourceLocation)
            }
            for key in wanted {
                #expect(reply[key] != nil, "\(command): \(key) missing in \(reply)", sourceLocation: sourceLocation)
            }
            for element in values {
                let (key, value) = (element.key, element.value)
                let actual = reply[key]
                let same = actual == value || (actual?.doubleValue != nil && actual?.doubleValue == value.doubleValue)
                #expect(same, "\(command): \(key) is \(String(describing: actual)), expected \(value)", sourceLocation: sourceLocation)
            }
        }
    }

    /// jstests/replsets/ismaster1.js: "Checks all the easily testable fields in the response
    /// object returned by the hello() command and its aliases". Ported assertions, on every
    /// dialect (4.4 has no `hello` and writes `slaveDelay`):
    /// - primary: setName, setVersion, ismaster true, secondary false; hosts, passives, arbiters,
    ///   primary, me, maxBsonObjectSize, localTime present; no arbiterOnly, passive, delay,
    ///   hidden, tags, buildIndexes;
    /// - priority-0 secondary: passive true, secondary true, no delay/hidden/tags/buildIndexes;
    /// - hidden delayed secondary without indexes: passive, the delay (slaveDelay for isMaster,
    ///   secondaryDelaySecs for hello), buildIndexes false, no arbiterOnly or tags;
    /// - arbiter: arbiterOnly true, secondary false, no passive/hidden/tags/buildIndexes;
    /// - after a reconfig adding tags, hiding the passive member and a longer delay: tags shown,
    ///   no passives list, hidden true on the hidden ones;
    /// - after a force reconfig every member agrees on the primary and setVersion.
    @Test("jstests/replsets/ismaster1.js", arguments: ServerVersion.allCases)
    func ismaster1(version: ServerVersion) async throws {
        let delayField = version == .v4_4 ? "slaveDelay" : "secondaryDelaySecs"
        let commands = version == .v4_4 ? ["ismaster", "isMaster"] : ["ismaster", "isMaster", "hello"]
        try await conformance(members: 4, options: .fast(version)) { simulator in
            let hosts = simulator.hosts
            var config = configDocument(hosts, setName: "rs0") { index, member in
                if index == 1 || index == 2 { member["priority"] = 0 }
                if index == 2 { member["hidden"] = true; member[delayField] = 3; member["buildIndexes"] = false }
                if index == 3 { member["arbiterOnly"] = true }
            }
            _ = try await simulator.client(0).run(["replSetInitiate": .document(config)])
            try await stepUp(simulator, 0)
            // ReplSetTest.initiate waits for the secondaries.
            try await simulator.waitUntil(timeout: .seconds(5), "members 1 and 2 SECONDARY, 3 ARBITER") { set in
                set[1].state == .secondary && set[2].state == .secondary && set[3].state == .arbiter
            }
            try await Self.agreeOnPrimaryAndSetVersion(simulator, 1)

            let primary = Expected(values: ["setName": "rs0", "setVersion": 1, "ismaster": true, "secondary": false, "ok": 1.0],
                                   wanted: ["hosts", "passives", "arbiters", "primary", "me", "maxBsonObjectSize", "localTime"],
                                   unwanted: ["isWritablePrimary", "arbiterOnly", "passive", "slaveDelay", "secondaryDelaySecs", "hidden", "tags", "buildIndexes"])
            let secondary = Expected(values: ["setName": "rs0", "setVersion": 1, "ismaster": false, "secondary": true, "passive": true, "ok": 1.0],
                                     wanted: primary.wanted,
                                     unwanted: ["isWritablePrimary", "arbiterOnly", "slaveDelay", "secondaryDelaySecs", "hidden", "tags", "buildIndexes"])
            let delayed = Expected(values: ["setName": "rs0", "setVersion": 1, "ismaster": false, "secondary": true, "passive": true,
                                            "slaveDelay": 3, "buildIndexes": false, "ok": 1.0],
                                   wanted: primary.wanted, unwanted: ["isWritablePrimary", "arbiterOnly", "tags", "secondaryDelaySecs"])
            let arbiter = Expected(values: ["setName": "rs0", "setVersion": 1, "ismaster": false, "secondary": false, "arbiterOnly": true, "ok": 1.0],
                                   wanted: primary.wanted,
                                   unwanted: ["isWritablePrimary", "slaveDelay", "secondaryDelaySecs", "hidden", "tags", "buildIndexes", "passive"])
            for command in commands {
                for (member, expected) in [(0, primary), (1, secondary), (2, delayed), (3, arbiter)] {
                    expected.check(await simulator.hello(member, command), command: command, delayField: delayField)
                }
            }

            // Reconfigure: tags on 0 and 1, member 1 hidden, member 2 delayed 300000 s with a tag.
            config = try await currentConfig(simulator, 0)
            var members = config.membersArray
            members[0]["tags"] = ["disk": "ssd"]
            members[1]["tags"] = ["disk": "ssd"]
            members[1]["hidden"] = true
            members[2][delayField] = 300_000
            members[2]["tags"] = ["disk": "hdd"]
            config["members"] = .array(members.map(BSON.document))
            _ = try await simulator.client(0).run(["replSetReconfig": .document(config.bumped()), "maxTimeMS": 10_000])
            try await Self.agreeOnPrimaryAndSetVersion(simulator, 2)

            let primary2 = Expected(values: ["setName": "rs0", "setVersion": 2, "ismaster": true, "secondary": false, "tags": ["disk": "ssd"], "ok": 1.0],
                                    wanted: ["hosts", "arbiters", "primary", "me", "maxBsonObjectSize", "localTime"],
                                    unwanted: ["isWritablePrimary", "arbiterOnly", "passives", "passive", "slaveDelay", "secondaryDelaySecs", "hidden", "buildIndexes"])
            let hidden = Expected(values: ["setName": "rs0", "setVersion": 2, "ismaster": false, "secondary": true, "tags": ["disk": "ssd"],
                                           "passive": true, "hidden": true, "ok": 1.0],
                                  wanted: primary2.wanted, unwanted: ["isWritablePrimary", "arbiterOnly", "passives", "slaveDelay", "secondaryDelaySecs", "buildIndexes"])
            let veryDelayed = Expected(values: ["setName": "rs0", "setVersion": 2, "ismaster": false, "secondary": true, "tags": ["disk": "hdd"],
                                                "passive": true, "slaveDelay": 300_000, "buildIndexes": false, "hidden": true, "ok": 1.0],
                                       wanted: primary2.wanted, unwanted: ["isWritablePrimary", "arbiterOnly", "passives", "secondaryDelaySecs"])
            var arbiter2 = arbiter
            arbiter2.values["setVersion"] = 2
            arbiter2.wanted = primary2.wanted
            for command in commands {
                for (member, expected) in [(0, primary2), (1, hidden), (2, veryDelayed), (3, arbiter2)] {
                    expected.check(await simulator.hello(member, command), command: command, delayField: delayField)
                }
            }

            // Force reconfig: every member ends up with the same setVersion.
            config = try await currentConfig(simulator, 0)
            _ = try await simulator.client(0).run(["replSetReconfig": .document(config), "force": true])
            try await Self.agreeOnPrimaryAndSetVersion(simulator, nil)
        }
    }

    /// ismaster1.js `agreeOnPrimaryAndSetVersion`: every member names the same primary and setVersion.
    static func agreeOnPrimaryAndSetVersion(_ simulator: ReplicaSetSimulator, _ version: Int?) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            var replies: [BSONDocument] = []
            for member in simulator.hosts.indices { replies.append(await simulator.hello(member, "isMaster")) }
            let primaries = Set(replies.map { $0["primary"]?.stringValue ?? "" })
            let versions = Set(replies.map { $0["setVersion"]?.intValue ?? -1 })
            if primaries.count == 1, primaries.first != "", versions.count == 1, version == nil || versions.first == version { return }
            guard ContinuousClock.now < deadline else {
                Issue.record("members did not agree on a primary and setVersion \(String(describing: version)): \(replies)")
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// jstests/replsets/awaitable_hello_stepdown_stepup.js: "the fields returned by hello
    /// responses as a node goes through a step down and step up". Ported assertions:
    /// - a hello without topologyVersion/maxAwaitTimeMS still has topologyVersion {processId, counter};
    /// - an awaitable hello waiting on the primary answers once writes are disabled by
    ///   replSetStepDown: counter + 1, isWritablePrimary false, secondary false, primary present;
    /// - the next (now stale) one answers at once: counter + 1, secondary true, no primary;
    /// - after replSetFreeze: 0 the lone member runs; a hello waiting answers on entering drain
    ///   mode: counter + 1, isWritablePrimary false, secondary true, primary present;
    /// - the next answers at the step-up reconfig (config term): counter + 1, still draining;
    /// - the next when drain mode ends: counter + 1, isWritablePrimary true, secondary false.
    /// (The jstest holds the step-up with failpoints; here drain lasts 300 ms instead.)
    @Test("jstests/replsets/awaitable_hello_stepdown_stepup.js")
    func awaitableHelloStepdownStepup() async throws {
        try await conformance(members: 1, options: .fast(drain: .milliseconds(300))) { simulator in
            try await simulator.initiateSet()
            let plain = await simulator.hello(0)
            let version = try #require(plain["topologyVersion"]?.documentValue)
            #expect(version["processId"] != nil)
            #expect(version["counter"] != nil)
            let counter = try #require(plain.topologyCounter)

            let beforeStepDown = PendingHello(simulator, 0, topologyVersion: .document(version))
            try await simulator.waitForAwaitingHellos(0, count: 1)
            _ = try await simulator.client(0).run(["replSetStepDown": 60, "force": true])
            let writesDisabled = try #require(await beforeStepDown.reply)
            #expect(writesDisabled.topologyCounter == counter + 1)
            #expect(writesDisabled["isWritablePrimary"] == false)
            #expect(writesDisabled["secondary"] == false)
            #expect(writesDisabled["primary"] != nil)
            let steppedDown = try #require(await PendingHello(simulator, 0, topologyVersion: writesDisabled["topologyVersion"]!).reply)
            #expect(steppedDown.topologyCounter == counter + 2)
            #expect(steppedDown["isWritablePrimary"] == false)
            #expect(steppedDown["secondary"] == true)
            #expect(steppedDown["primary"] == nil)

            let afterStepDown = await simulator.hello(0)
            let beforeStepUp = PendingHello(simulator, 0, topologyVersion: afterStepDown["topologyVersion"]!)
            try await simulator.waitForAwaitingHellos(0, count: 1)
            _ = try await simulator.client(0).run(["replSetFreeze": 0])
            let draining = try #require(await beforeStepUp.reply)
            #expect(draining.topologyCounter == afterStepDown.topologyCounter.map { $0 + 1 })
            #expect(draining["isWritablePrimary"] == false)
            #expect(draining["secondary"] == true)
            #expect(draining["primary"] != nil)
            let reconfigured = try #require(await PendingHello(simulator, 0, topologyVersion: draining["topologyVersion"]!).reply)
            #expect(reconfigured.topologyCounter == draining.topologyCounter.map { $0 + 1 })
            #expect(reconfigured["isWritablePrimary"] == false)
            #expect(reconfigured["secondary"] == true)
            #expect(reconfigured["primary"] != nil)
            let writable = try #require(await PendingHello(simulator, 0, topologyVersion: reconfigured["topologyVersion"]!).reply)
            #expect(writable.topologyCounter == reconfigured.topologyCounter.map { $0 + 1 })
            #expect(writable["isWritablePrimary"] == true)
            #expect(writable["secondary"] == false)
            #expect(writable["primary"] != nil)
        }
    }

    /// jstests/replsets/awaitable_hello_on_nodes_with_invalid_configs.js: "the streamable hello
    /// protocol against nodes with invalid replica set configs". Ported assertions:
    /// - on two uninitiated members, one then two awaitable hellos wait on each
    ///   (serverStatus connections.awaitingTopologyChanges 1, then 2);
    /// - replSetInitiate answers all four with counter + 1, and none waits any more;
    /// - a reconfig removing the secondary answers the primary's waiting hello with counter + 1;
    /// - the removed member's replSetGetStatus fails with InvalidReplicaSetConfig (93), and its
    ///   hello says isWritablePrimary false, secondary false, "Does not have a valid replica set config";
    /// - re-adding it answers the primary's waiting hello with counter + 1, and the two hellos
    ///   waiting on the removed member fail as network errors; ping then works on a new connection;
    /// - no hello is left waiting on either member.
    @Test("jstests/replsets/awaitable_hello_on_nodes_with_invalid_configs.js")
    func awaitableHelloOnNodesWithInvalidConfigs() async throws {
        try await conformance(members: 2) { simulator in
            let hosts = simulator.hosts
            let config = configDocument(hosts) { index, member in
                if index == 1 { member["priority"] = 0; member["votes"] = 0 }
            }
            let versions = [await simulator.hello(0)["topologyVersion"]!, await simulator.hello(1)["topologyVersion"]!]
            var waiting: [PendingHello] = []
            for round in 1...2 {
                for member in 0..<2 {
                    waiting.append(PendingHello(simulator, member, topologyVersion: versions[member]))
                    try await simulator.waitForAwaitingHellos(member, count: round)
                }
            }
            #expect(await simulator.awaitingTopologyChanges(0) == 2)
            #expect(await simulator.awaitingTopologyChanges(1) == 2)
            _ = try await simulator.client(0).run(["replSetInitiate": .document(config)])
            for (index, pending) in waiting.enumerated() {
                let reply = try #require(await pending.reply)
                let sent = versions[index % 2].documentValue?["counter"]?.intValue ?? -1
                #expect(reply.topologyCounter == sent + 1, "hello \(index): \(reply)")
            }
            #expect(await simulator.awaitingTopologyChanges(0) == 0)
            #expect(await simulator.awaitingTopologyChanges(1) == 0)

            let primary = try await simulator.primaryIndex()
            #expect(primary == 0)
            let primaryVersion = try await Self.settledTopologyVersion(simulator, 0)
            let beforeRemoval = PendingHello(simulator, 0, topologyVersion: primaryVersion)
            try await simulator.waitForAwaitingHellos(0, count: 1)
            let smaller = configDocument([hosts[0]], version: 2)
            _ = try await simulator.client(0).run(["replSetReconfig": .document(smaller), "maxTimeMS": 10_000])
            let removalReply = try #require(await beforeRemoval.reply)
            #expect(removalReply.topologyCounter == primaryVersion.documentValue?["counter"]?.intValue.map { $0 + 1 })

            try await simulator.waitUntil(timeout: .seconds(5), "member 1 REMOVED") { $0[1].state == .removed }
            #expect(await simulator.reply(1, ["replSetGetStatus": 1])?["code"] == .int32(93))
            let removedHello = await simulator.hello(1)
            #expect(removedHello["isWritablePrimary"] == false)
            #expect(removedHello["secondary"] == false)
            #expect(removedHello["info"] == "Does not have a valid replica set config")

            let primaryVersion2 = try await Self.settledTopologyVersion(simulator, 0)
            let removedVersion = try await Self.settledTopologyVersion(simulator, 1)
            let primaryWaits = PendingHello(simulator, 0, topologyVersion: primaryVersion2)
            try await simulator.waitForAwaitingHellos(0, count: 1)
            let removedWaits = [PendingHello(simulator, 1, topologyVersion: removedVersion)]
            try await simulator.waitForAwaitingHellos(1, count: 1)
            let removedWaits2 = PendingHello(simulator, 1, topologyVersion: removedVersion)
            try await simulator.waitForAwaitingHellos(1, count: 2)

            _ = try await simulator.client(0).run(["replSetReconfig": .document(configDocument(hosts, version: 3) { index, member in
                if index == 1 { member["priority"] = 0; member["votes"] = 0 }
            }), "maxTimeMS": 10_000])
            let rejoinReply = try #require(await primaryWaits.reply)
            #expect(rejoinReply.topologyCounter == primaryVersion2.documentValue?["counter"]?.intValue.map { $0 + 1 })
            for pending in removedWaits + [removedWaits2] {
                #expect(await pending.reply == nil, "a hello waiting on the rejoining member was answered")
            }
            #expect(await simulator.reply(1, ["ping": 1])?["ok"] == 1.0)
            #expect(await simulator.awaitingTopologyChanges(0) == 0)
            #expect(await simulator.awaitingTopologyChanges(1) == 0)
        }
    }

    /// A topologyVersion that has not changed for a moment: heartbeats settle before a hello is
    /// left waiting on it (the jstests read it once the set is steady).
    static func settledTopologyVersion(_ simulator: ReplicaSetSimulator, _ member: Int) async throws -> BSON {
        var previous = await simulator.hello(member)["topologyVersion"]
        while true {
            try await Task.sleep(for: .milliseconds(150))
            let current = await simulator.hello(member)["topologyVersion"]
            if current == previous, let current { return current }
            previous = current
        }
    }

    /// jstests/replsets/election_id.js, the protocol version 1 part (PV0 is gone since 4.2): the
    /// primary's electionId is 7fffffff followed by the term, and grows after a step-down.
    /// (The jstest reads serverStatus repl.electionId; hello carries the same value.)
    @Test("jstests/replsets/election_id.js")
    func electionId() async throws {
        try await conformance(members: 3) { simulator in
            try await simulator.initiateSet()
            func check(_ member: Int) async throws -> String {
                guard case .objectId(let id) = await simulator.hello(member)["electionId"] else {
                    Issue.record("no electionId on the primary")
                    return ""
                }
                let status = await simulator.reply(member, ["replSetGetStatus": 1]) ?? [:]
                let term = String(status["term"]?.intValue ?? -1)
                #expect(id.hex.hasPrefix("7fffffff"))
                #expect(id.hex.hasSuffix(term))
                return id.hex
            }
            let first = try await check(try await simulator.primaryIndex())
            _ = try await simulator.client(try await simulator.primaryIndex()).run(["replSetStepDown": 60, "secondaryCatchUpPeriodSecs": 30])
            try await simulator.waitUntil(timeout: .seconds(5), "a new primary") { $0.primary != nil && $0.primary?.term ?? 0 > 1 }
            let second = try await check(try await simulator.primaryIndex())
            #expect(first < second)
        }
    }
}
