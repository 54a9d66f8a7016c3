import MongoBSON
import Testing

/// `replSetGetConfig` replies that mongod never sends (`repl_set_config.idl`,
/// `member_config.idl`, `repl_set_config_checks.cpp`): wrong BSON types, numbers outside mongod's
/// limits, missing fields, duplicates, too many members. Each is a valid `ok: 1` reply: refused
/// (exit 65), naming the node and the field or value, nothing written. The node's hello reports
/// the config's `version` as its `setVersion`, whatever a case made of it, so hello and config
/// agree.
@Suite("hostile nodes: replSetGetConfig content mongod never sends")
struct ConfigFieldTests {
    static func config(_ name: String, mentioning words: [String], timeoutSeconds: Int = 2,
                       _ change: @escaping MockMember.Tweak) -> ScriptedCase {
        ScriptedCase(name, .refused(mentioning: words), tweaks: .init(config: change), timeoutSeconds: timeoutSeconds)
    }

    static func member(_ name: String, mentioning words: [String], _ change: @escaping @Sendable (inout BSONDocument) -> Void) -> ScriptedCase {
        config(name, mentioning: words) { config, _ in config.updateMember(0, change) }
    }

    static let types: [ScriptedCase] = [
        config("_id as an int", mentioning: ["_id"]) { config, _ in config["_id"] = .int32(0) },
        config("_id 'rs1' while the same node's hello says setName 'rs0'", mentioning: ["rs1"]) { config, _ in config["_id"] = "rs1" },
        config("version as a string", mentioning: ["version"]) { config, _ in config["version"] = "1" },
        config("term as a string", mentioning: ["term"]) { config, _ in config["term"] = "1" },
        config("members as a string", mentioning: ["members"]) { config, _ in config["members"] = "[]" },
        config("a member that is a string", mentioning: ["members"]) { config, host in config["members"] = [.string(host)] },
        member("member _id as a string", mentioning: ["_id"]) { $0["_id"] = "0" },
        member("member host as an int", mentioning: ["host"]) { $0["host"] = .int32(27017) },
        member("member priority as a string", mentioning: ["priority"]) { $0["priority"] = "1" },
        member("member votes as a string", mentioning: ["votes"]) { $0["votes"] = "1" },
        member("member arbiterOnly as a string", mentioning: ["arbiterOnly"]) { $0["arbiterOnly"] = "false" },
        member("member hidden as a string", mentioning: ["hidden"]) { $0["hidden"] = "false" },
        member("member secondaryDelaySecs as a string", mentioning: ["secondaryDelaySecs"]) { $0["secondaryDelaySecs"] = "0" },
        member("member buildIndexes as a string", mentioning: ["buildIndexes"]) { $0["buildIndexes"] = "true" },
        member("member tags as a string", mentioning: ["tags"]) { $0["tags"] = "dc=east" },
        member("member tag value as an int", mentioning: ["tags", "dc"]) { $0["tags"] = ["dc": .int32(1)] },
        member("member horizons as a string", mentioning: ["horizons"]) { $0["horizons"] = "external" },
        member("member horizon value as an int", mentioning: ["horizons", "external"]) { $0["horizons"] = ["external": .int32(27017)] },
        config("settings as a string", mentioning: ["settings"]) { config, _ in config["settings"] = "{}" },
        config("settings.replicaSetId as a string", mentioning: ["replicaSetId"]) { config, _ in
            config["settings"] = ["replicaSetId": .string(ObjectId.generate().hex)]
        },
        ScriptedCase("commitmentStatus as a string", .refused(mentioning: ["commitmentStatus"]),
                     tweaks: .init(configReply: { reply, _ in if reply["commitmentStatus"] != nil { reply["commitmentStatus"] = "true" } })),
    ]

    /// mongod's limits: version 1..2^31-1, term -1..2^31-1, member _id 0..2^31-1, votes 0 or 1,
    /// priority 0..1000 and finite, secondaryDelaySecs 0..31622400.
    static let numbers: [ScriptedCase] = [
        config("version 2^31", mentioning: ["version", "2147483648"]) { config, _ in config["version"] = .int64(1 << 31) },
        config("version Int64.max", mentioning: ["version", "9223372036854775807"]) { config, _ in config["version"] = .int64(.max) },
        config("version -1", mentioning: ["version", "-1"]) { config, _ in config["version"] = .int32(-1) },
        config("version 0", mentioning: ["version"]) { config, _ in config["version"] = .int32(0) },
        config("version 1.5", mentioning: ["version", "1.5"]) { config, _ in config["version"] = .double(1.5) },
        config("version NaN", mentioning: ["version", "nan"]) { config, _ in config["version"] = .double(.nan) },
        config("version 1e300", mentioning: ["version", "1e+300", "1e300"]) { config, _ in config["version"] = .double(1e300) },
        config("term 2^31", mentioning: ["term", "2147483648"]) { config, _ in config["term"] = .int64(1 << 31) },
        config("term -2", mentioning: ["term", "-2"]) { config, _ in config["term"] = .int64(-2) },
        member("member _id -1", mentioning: ["_id", "-1"]) { $0["_id"] = .int32(-1) },
        member("member _id 2^31", mentioning: ["_id", "2147483648"]) { $0["_id"] = .int64(1 << 31) },
        member("priority 1e300", mentioning: ["priority", "1e+300", "1e300"]) { $0["priority"] = .double(1e300) },
        member("priority -1", mentioning: ["priority", "-1"]) { $0["priority"] = .double(-1) },
        member("priority NaN", mentioning: ["priority", "nan"]) { $0["priority"] = .double(.nan) },
        member("priority 1001", mentioning: ["priority", "1001"]) { $0["priority"] = .double(1001) },
        member("votes 2", mentioning: ["votes"]) { $0["votes"] = .int32(2) },
        member("votes -1", mentioning: ["votes", "-1"]) { $0["votes"] = .int32(-1) },
        member("secondaryDelaySecs 31622401", mentioning: ["secondaryDelaySecs", "31622401"]) {
            $0["priority"] = .double(0)
            $0["secondaryDelaySecs"] = .int64(31_622_401)
        },
        member("secondaryDelaySecs Int64.max", mentioning: ["secondaryDelaySecs", "9223372036854775807"]) {
            $0["priority"] = .double(0)
            $0["secondaryDelaySecs"] = .int64(.max)
        },
    ]

    static let shapes: [ScriptedCase] = [
        config("no version", mentioning: ["version"]) { config, _ in config["version"] = nil },
        config("no members", mentioning: ["members"]) { config, _ in config["members"] = nil },
        member("a member without host", mentioning: ["host"]) { $0["host"] = nil },
        member("a member without _id", mentioning: ["_id"]) { $0["_id"] = nil },
        ScriptedCase("a reply without config", .refused(mentioning: ["config"]),
                     tweaks: .init(configReply: { reply, _ in reply["config"] = nil })),
        config("two members with the node's host", mentioning: ["duplicate", "twice", "more than once"]) { config, host in
            config.appendMember(MockMember.member(id: 1, host: host, priority: 0, votes: 0))
        },
        config("two members with _id 0", mentioning: ["duplicate", "twice", "more than once"]) { config, _ in
            config.appendMember(MockMember.member(id: 0, host: ConfigShapes.unreachableHost(1), priority: 0, votes: 0))
        },
        config("51 members", mentioning: ["51", "members"], timeoutSeconds: 3) { config, _ in
            for index in 1...50 { config.appendMember(ConfigShapes.nonVoter(id: index, host: ConfigShapes.unreachableHost(index))) }
        },
        config("1,000 members", mentioning: ["1000", "members"], timeoutSeconds: 3) { config, _ in
            for index in 1..<1000 { config.appendMember(ConfigShapes.nonVoter(id: index, host: ConfigShapes.unreachableHost(index))) }
        },
        config("3,000 members", mentioning: ["3000", "members"], timeoutSeconds: 3) { config, _ in
            for index in 1..<3000 { config.appendMember(ConfigShapes.nonVoter(id: index, host: ConfigShapes.unreachableHost(index))) }
        },
    ]

    @Test("a config field of the wrong type is refused", arguments: types)
    func wrongType(_ scripted: ScriptedCase) async throws {
        try await scripted.run()
    }

    @Test("a number outside mongod's limits is refused", arguments: numbers)
    func outOfRange(_ scripted: ScriptedCase) async throws {
        try await scripted.run()
    }

    @Test("a config missing a field, with duplicates or too many members is refused", arguments: shapes)
    func badShape(_ scripted: ScriptedCase) async throws {
        try await scripted.run()
    }
}
