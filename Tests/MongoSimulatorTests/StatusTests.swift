import MongoBSON
import MongoSimulator
import Testing

/// replSetGetStatus and replSetGetConfig (`prepareStatusResponse`, `processReplSetGetConfig`).
@Suite("replSetGetStatus and replSetGetConfig")
struct StatusTests {
    @Test("before initiate: NotYetInitialized (94); on a standalone: NoReplicationEnabled (76)")
    func notInitiated() async throws {
        try await withSimulator([MemberSpec(), MemberSpec(role: .standalone)]) { simulator in
            for command in ["replSetGetStatus", "replSetGetConfig"] {
                let fresh = await simulator.client(0).failure([command: 1])
                #expect(fresh?.code == 94)
                #expect(fresh?.codeName == "NotYetInitialized")
                #expect(fresh?.message == "no replset config has been received")
                #expect(fresh?.reply.keys == ["ok", "errmsg", "code", "codeName"])
                let standalone = await simulator.client(1).failure([command: 1])
                #expect(standalone?.code == 76)
                #expect(standalone?.message == "not running with --replSet")
            }
        }
    }

    @Test("a healthy set's status: mongod's fields and types, members sorted by _id")
    func healthyStatus() async throws {
        try await withSimulator(members: 3) { simulator in
            // Members listed out of _id order.
            let config = configDocument(simulator.hosts) { index, member in member["_id"] = .int32(Int32([2, 0, 1][index])) }
            _ = try await simulator.client(0).run(["replSetInitiate": .document(config)])
            try await stepUp(simulator, 0)
            // The primary learns the others' states from heartbeats.
            var status = try await simulator.client(0).run(["replSetGetStatus": 1])
            let deadline = ContinuousClock.now + .seconds(5)
            while status["members"]?.arrayValue?.compactMap({ $0.documentValue?["stateStr"] }).filter({ $0 == "SECONDARY" }).count != 2,
                  ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
                status = try await simulator.client(0).run(["replSetGetStatus": 1])
            }
            #expect(Array(status.keys.prefix(13)) == ["set", "date", "myState", "term", "syncSourceHost", "syncSourceId", "heartbeatIntervalMillis",
                                                     "majorityVoteCount", "writeMajorityCount", "votingMembersCount", "writableVotingMembersCount",
                                                     "optimes", "lastStableRecoveryTimestamp"])
            #expect(status["myState"] == .int32(1))
            #expect(status["term"] == .int64(1))
            #expect(status["heartbeatIntervalMillis"] == .int64(50))
            #expect(status["majorityVoteCount"] == .int32(2))
            let members = status["members"]?.arrayValue?.compactMap(\.documentValue) ?? []
            #expect(members.map { $0["_id"] } == [.int32(0), .int32(1), .int32(2)])
            let me = try #require(members.first { $0["name"] == .string(simulator.hosts[0]) })
            #expect(me["_id"] == .int32(2))
            #expect(me["self"] == true)
            #expect(me["stateStr"] == "PRIMARY")
            #expect(me["health"] == 1.0)
            #expect(me["configVersion"] == .int32(1))
            #expect(me["configTerm"] == .int32(1))
            #expect(me["electionTime"].map { if case .timestamp = $0 { true } else { false } } == true)
            guard case .document(let optime) = me["optime"] else { Issue.record("no optime"); return }
            #expect(optime["t"] == .int64(1))
            let other = try #require(members.first { $0["self"] == nil })
            #expect(other["stateStr"] == "SECONDARY")
            #expect(other["pingMs"] == .int64(0))
            #expect(other["syncSourceHost"] == .string(simulator.hosts[0]))
            #expect(other["lastHeartbeat"].map { if case .datetime = $0 { true } else { false } } == true)
        }
    }

    @Test("replSetGetConfig: mongod's field order and types; commitmentStatus only on the primary")
    func getConfig() async throws {
        try await withSimulator(members: 2) { simulator in
            try await simulator.initiateSet()
            let reply = try await simulator.client(0).run(["replSetGetConfig": 1, "commitmentStatus": true])
            #expect(reply.keys.prefix(3) == ["config", "commitmentStatus", "ok"])
            #expect(reply["commitmentStatus"] == true)
            let config = try #require(reply["config"]?.documentValue)
            #expect(config.keys == ["_id", "version", "term", "members", "protocolVersion", "writeConcernMajorityJournalDefault", "settings"])
            #expect(config["protocolVersion"] == .int64(1))
            #expect(config["version"] == .int32(1))
            let member = try #require(config["members"]?.arrayValue?.first?.documentValue)
            #expect(member.keys == ["_id", "host", "arbiterOnly", "buildIndexes", "hidden", "priority", "tags", "secondaryDelaySecs", "votes"])
            #expect(member["priority"] == 1.0)
            #expect(member["secondaryDelaySecs"] == .int64(0))
            #expect(member["votes"] == .int32(1))
            let settings = try #require(config["settings"]?.documentValue)
            #expect(settings.keys == ["chainingAllowed", "heartbeatIntervalMillis", "heartbeatTimeoutSecs", "electionTimeoutMillis", "catchUpTimeoutMillis",
                                      "catchUpTakeoverDelayMillis", "getLastErrorModes", "getLastErrorDefaults", "replicaSetId"])
            #expect(settings["electionTimeoutMillis"] == .int32(10000))
            let secondary = await simulator.client(1).failure(["replSetGetConfig": 1, "commitmentStatus": true])
            #expect(secondary?.code == 10107)
            #expect(secondary?.message == "commitmentStatus is only supported on primary.")
        }
    }

    @Test("other commands: ping, buildInfo, endSessions; unknown commands are CommandNotFound (59)")
    func otherCommands() async throws {
        try await withSimulator(members: 1) { simulator in
            let client = simulator.client(0)
            #expect(try await client.run(["ping": 1])["ok"] == 1.0)
            let buildInfo = try await client.run(["buildInfo": 1])
            #expect(buildInfo["version"] == "7.0.14")
            #expect(buildInfo["versionArray"] == [7, 0, 14, 0])
            #expect(try await client.run(["endSessions": []])["ok"] == 1.0)
            let unknown = await client.failure(["frobnicate": 1])
            #expect(unknown?.code == 59)
            #expect(unknown?.codeName == "CommandNotFound")
            #expect(unknown?.message == "no such command: 'frobnicate'")
        }
        try await withSimulator(members: 1, options: SimulatorOptions(serverVersion: .v6_0)) { simulator in
            let hello = try await simulator.client(0).run(["hello": 1])
            #expect(hello["maxWireVersion"] == .int32(17))
            let buildInfo = try await simulator.client(0).run(["buildInfo": 1])
            #expect(buildInfo["version"] == "6.0.16")
        }
    }
}
