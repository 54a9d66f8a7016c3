import MongoBSON
import MongoSimulator
import Testing

/// What differs between the releases the simulator speaks (`ServerVersion`), each with the source
/// it follows there.
@Suite("dialects 4.4 to 8.0")
struct DialectTests {
    @Test("maxWireVersion and buildInfo per release (wire_version.h)", arguments: ServerVersion.allCases)
    func wireVersions(version: ServerVersion) async throws {
        try await conformance(members: 1, options: .fast(version)) { simulator in
            let expected: [ServerVersion: Int] = [.v4_4: 9, .v5_0: 13, .v6_0: 17, .v7_0: 21, .v8_0: 25]
            let hello = await simulator.hello(0, "isMaster")
            #expect(hello["maxWireVersion"] == .int32(Int32(expected[version] ?? 0)))
            #expect(hello["minWireVersion"] == .int32(0))
            let build = await simulator.reply(0, ["buildInfo": 1]) ?? [:]
            #expect(build["version"]?.stringValue?.hasPrefix(version.rawValue + ".") == true)
        }
    }

    @Test("4.4 (as 4.4.0) knows only isMaster: hello is CommandNotFound and helloOk is not echoed; 5.0 has both")
    func helloCommand() async throws {
        try await conformance(members: 1, options: .fast(.v4_4)) { simulator in
            let hello = await simulator.reply(0, ["hello": 1])
            #expect(hello?["code"] == .int32(59))
            #expect(hello?["errmsg"] == "no such command: 'hello'")
            let legacy = await simulator.reply(0, ["isMaster": 1, "helloOk": true])
            #expect(legacy?["ismaster"] == false)
            #expect(legacy?["helloOk"] == nil)
            #expect(legacy?["topologyVersion"] != nil)
            // Awaitable isMaster is 4.4.0's.
            let pending = PendingHello(simulator, 0, topologyVersion: legacy!["topologyVersion"]!, command: "isMaster", maxAwaitTimeMS: 100)
            #expect(await pending.reply?["ok"] == 1.0)
        }
        try await conformance(members: 1, options: .fast(.v5_0)) { simulator in
            #expect(await simulator.reply(0, ["hello": 1, "helloOk": true])?["helloOk"] == true)
        }
    }

    /// The member delay field: SERVER-50423, SERVER-54962, member_config.idl.
    @Test("member delay fields: slaveDelay on 4.4, either on 5.0, secondaryDelaySecs from 6.0", arguments: ServerVersion.allCases)
    func delayFields(version: ServerVersion) async throws {
        try await conformance(members: 2, options: .fast(version)) { simulator in
            let hosts = simulator.hosts
            func delayed(_ field: String) -> BSONDocument {
                configDocument(hosts) { index, member in
                    if index == 1 { member["priority"] = 0; member["hidden"] = true; member[field] = 3600 }
                }
            }
            let modern = await simulator.reply(0, ["replSetInitiate": .document(delayed("secondaryDelaySecs"))])
            let legacy = await simulator.reply(0, ["replSetInitiate": .document(delayed("slaveDelay"))])
            switch version {
            case .v4_4:
                #expect(modern?["code"] == .int32(93))
                #expect(errmsg(modern).contains("Unexpected field secondaryDelaySecs in replica set member configuration"), "\(String(describing: modern))")
                #expect(legacy?["ok"] == 1.0)
            case .v5_0:
                #expect(modern?["ok"] == 1.0)
                #expect(legacy?["code"] == .int32(23))
                var both = delayed("secondaryDelaySecs")
                var members = both.membersArray
                members[1]["slaveDelay"] = 3600
                both["members"] = .array(members.map(BSON.document))
                let refused = await simulator.reply(0, ["replSetReconfig": .document(both.bumped()), "force": true])
                #expect(errmsg(refused).contains("Cannot specify both secondaryDelaySecs and slaveDelay as fields in member configuration."))
                var legacyOnly = delayed("slaveDelay")
                legacyOnly["version"] = 2
                #expect(await simulator.reply(0, ["replSetReconfig": .document(legacyOnly), "force": true])?["ok"] == 1.0)
            default:
                #expect(modern?["ok"] == 1.0)
                #expect(legacy?["code"] == .int32(23))
                var config = delayed("slaveDelay")
                config["version"] = 2
                let refused = await simulator.reply(0, ["replSetReconfig": .document(config), "force": true])
                #expect(refused?["code"] == .int32(93))
                #expect(errmsg(refused).contains("BSON field 'MemberConfig.slaveDelay' is an unknown field."))
            }
            let written = try await currentConfig(simulator, 0).membersArray[1]
            let field = version == .v4_4 ? "slaveDelay" : "secondaryDelaySecs"
            #expect(written[field] == .int64(3600))
            #expect(written[version == .v4_4 ? "secondaryDelaySecs" : "slaveDelay"] == nil)
        }
    }

    @Test("newlyAdded from 5.0 (SERVER-46344): on 4.4 a new voter votes at once and newlyAdded is not a member field")
    func newlyAdded() async throws {
        try await conformance(members: 2, options: .fast(.v4_4)) { simulator in
            try await simulator.initiateAlone()
            let config = try await currentConfig(simulator, 0).bumped()
            let flagged = config.addingMember(id: 1, host: simulator.hosts[1], ["newlyAdded": true])
            #expect(errmsg(await simulator.reply(0, ["replSetReconfig": .document(flagged)])).contains("Unexpected field newlyAdded"))
            _ = try await simulator.client(0).run(["replSetReconfig": .document(config.addingMember(id: 1, host: simulator.hosts[1])), "maxTimeMS": 10_000])
            let stored = await simulator.reply(0, ["replSetGetConfig": 1, "$_internalIncludeNewlyAdded": true])?["config"]?.documentValue
            #expect(stored?.membersArray.allSatisfy { $0["newlyAdded"] == nil } == true)
            #expect(await simulator.reply(0, ["replSetGetStatus": 1])?["votingMembersCount"] == .int32(2))
        }
    }

    @Test("error code 10107 is NotMaster on 4.4, NotWritablePrimary from 5.0 (error_codes.yml)", arguments: [ServerVersion.v4_4, .v5_0])
    func notWritablePrimaryName(version: ServerVersion) async throws {
        try await conformance(members: 2, options: .fast(version)) { simulator in
            try await simulator.initiateSet()
            let reply = await simulator.reply(1, ["replSetReconfig": .document(try await currentConfig(simulator, 1).bumped())])
            #expect(reply?["code"] == .int32(10107))
            #expect(reply?["codeName"] == .string(version == .v4_4 ? "NotMaster" : "NotWritablePrimary"))
        }
    }

    @Test("the implicit default write concern from 5.0: getDefaultRWConcern on 4.4 reports none and no sources")
    func defaultWriteConcern() async throws {
        try await conformance(members: 1, options: .fast(.v4_4)) { simulator in
            try await simulator.initiateSet()
            let reply = await simulator.reply(0, ["getDefaultRWConcern": 1]) ?? [:]
            #expect(reply["ok"] == 1.0)
            #expect(reply["defaultWriteConcern"] == nil)
            #expect(reply["defaultWriteConcernSource"] == nil)
        }
    }
}
