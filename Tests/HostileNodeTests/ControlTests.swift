import MongoBSON
import Testing

/// The harness itself: a sane scripted node must get the outcome a real mongod gets, so that a
/// hostile case fails because of its hostile reply and nothing else. Values exactly at mongod's
/// limits are sane too: refusing them would be a bug of its own.
@Suite("hostile nodes: controls and values at mongod's limits")
struct ControlTests {
    static let cases: [ScriptedCase] = [
        ScriptedCase("a sane primary of a matching set: read only, exit 0", .converged),
        ScriptedCase("a sane fresh node: initiated once, exit 0", .converged, start: .fresh, timeoutSeconds: 5,
                     allowedWrites: ["replSetInitiate": 1]),
        ScriptedCase("config version 2^31-1 (mongod's largest)", .converged,
                     tweaks: .init(config: { config, _ in config["version"] = .int32(Int32.max) })),
        ScriptedCase("config term -1 (mongod writes it after a forced reconfig)", .converged,
                     tweaks: .init(config: { config, _ in config["term"] = .int64(-1) })),
        ScriptedCase("member _id 2^31-1", .converged,
                     tweaks: .init(config: { config, _ in config.updateMember(0) { $0["_id"] = .int32(Int32.max) } })),
        ScriptedCase("a 50-member config (mongod's largest), 49 non-voting members unreachable", .converged,
                     tweaks: .init(config: { config, _ in
                         for index in 1..<50 { config.appendMember(ConfigShapes.nonVoter(id: index, host: ConfigShapes.unreachableHost(index))) }
                     }), timeoutSeconds: 5),
        ScriptedCase("a hidden, non-voting member delayed 31622400 s (mongod's longest)", .converged,
                     tweaks: .init(config: { config, _ in
                         var member = ConfigShapes.nonVoter(id: 1, host: ConfigShapes.unreachableHost(1))
                         member["hidden"] = true
                         member["secondaryDelaySecs"] = .int64(31_622_400)
                         config.appendMember(member)
                     })),
        ScriptedCase("priority 1000 (mongod's highest)", .converged,
                     tweaks: .init(config: { config, _ in config.updateMember(0) { $0["priority"] = .double(1000) } })),
    ]

    @Test("a sane or at-the-limit node gets mongod's outcome", arguments: cases)
    func control(_ scripted: ScriptedCase) async throws {
        try await scripted.run()
    }
}

/// Shapes of config documents the cases share.
enum ConfigShapes {
    /// A member that cannot vote or be elected, so a config may hold up to 50 of them.
    static func nonVoter(id: Int, host: String) -> BSONDocument {
        MockMember.member(id: Int32(id), host: host, priority: 0, votes: 0)
    }

    /// `127.87.x.y:27017`, unique per index up to 64,000: loopback, nothing listens there, so a
    /// connection is refused at once and no name is looked up.
    static func unreachableHost(_ index: Int) -> String {
        "127.87.\(index / 250).\(index % 250 + 1):27017"
    }
}
