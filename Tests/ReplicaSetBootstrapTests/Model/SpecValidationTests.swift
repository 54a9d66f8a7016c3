import Testing
@testable import ReplicaSetBootstrap

/// Every rule mongod applies to a config, checked on the spec before any contact: one failing
/// spec per rule, and valid specs pass.
@Suite("Model: spec validation with mongod's rules")
struct SpecValidationTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var rule: String
        var spec: ReplicaSetSpec
        /// Fragments the message must contain (the member and the rule).
        var mentions: [String]
        var testDescription: String { rule }
    }

    static func host(_ n: Int) -> HostAddress { HostAddress(host: "db-\(n).mongo") }
    static let h0 = host(0), h1 = host(1), h2 = host(2)

    static func spec(_ members: [MemberSpec], settings: ReplicaSetSettings = .init(), configsvr: Bool? = nil) -> ReplicaSetSpec {
        ReplicaSetSpec(name: "rs0", members: members, settings: settings, configsvr: configsvr)
    }

    /// Three default members, the last one replaced.
    static func three(_ last: MemberSpec) -> ReplicaSetSpec {
        spec([MemberSpec(host: h0), MemberSpec(host: h1), last])
    }

    static let failing: [Case] = [
        Case(rule: "at least 1 member", spec: spec([]), mentions: ["no members"]),
        Case(rule: "at most 50 members", spec: spec((0...50).map { MemberSpec(host: host($0), priority: 0, votes: 0) }),
             mentions: ["51 members", "at most 50"]),
        Case(rule: "at most 7 voters", spec: spec((0...7).map { MemberSpec(host: host($0)) }), mentions: ["8 voting members", "at most 7"]),
        Case(rule: "at least 1 voter", spec: spec([MemberSpec(host: h0, priority: 0, votes: 0)]), mentions: ["0 voting members", "at least 1"]),
        Case(rule: "an electable member", spec: spec([MemberSpec(host: h0, priority: 0), MemberSpec(host: h1, arbiterOnly: true)]),
             mentions: ["no electable member"]),
        Case(rule: "unique _id", spec: spec([MemberSpec(host: h0, id: 1), MemberSpec(host: h1, id: 1)]),
             mentions: ["\(h0)", "\(h1)", "same _id 1"]),
        Case(rule: "_id not negative", spec: three(MemberSpec(host: h2, id: -1)), mentions: ["\(h2)", "_id field value of -1 is out of range"]),
        Case(rule: "unique hosts", spec: spec([MemberSpec(host: h0), MemberSpec(host: h0)]), mentions: ["\(h0)", "listed twice"]),
        Case(rule: "votes 0 or 1", spec: three(MemberSpec(host: h2, votes: 2)), mentions: ["\(h2)", "votes must be 0 or 1"]),
        Case(rule: "priority at most 1000", spec: three(MemberSpec(host: h2, priority: 1001)), mentions: ["\(h2)", "priority must be from 0 to 1000"]),
        Case(rule: "priority not negative", spec: three(MemberSpec(host: h2, priority: -1)), mentions: ["\(h2)", "priority must be from 0 to 1000"]),
        Case(rule: "secondaryDelaySecs not negative", spec: three(MemberSpec(host: h2, priority: 0, secondaryDelaySecs: -1)),
             mentions: ["\(h2)", "secondaryDelaySecs must be from 0 to 31622400"]),
        Case(rule: "secondaryDelaySecs at most a year", spec: three(MemberSpec(host: h2, priority: 0, secondaryDelaySecs: 31_622_401)),
             mentions: ["\(h2)", "secondaryDelaySecs must be from 0 to 31622400"]),
        Case(rule: "arbiter priority 0", spec: three(MemberSpec(host: h2, priority: 2, arbiterOnly: true)), mentions: ["\(h2)", "arbiter's priority must be 0"]),
        Case(rule: "arbiter votes 1", spec: three(MemberSpec(host: h2, votes: 0, arbiterOnly: true)), mentions: ["\(h2)", "Arbiter must vote"]),
        Case(rule: "arbiter without tags", spec: three(MemberSpec(host: h2, arbiterOnly: true, tags: ["dc": "a"])),
             mentions: ["\(h2)", "Cannot set tags on arbiters."]),
        Case(rule: "priority > 0 needs votes 1", spec: three(MemberSpec(host: h2, votes: 0)), mentions: ["\(h2)", "priority must be 0 when non-voting (votes:0)"]),
        Case(rule: "priority > 0 not hidden", spec: three(MemberSpec(host: h2, hidden: true)), mentions: ["\(h2)", "priority must be 0 when hidden=true"]),
        Case(rule: "priority > 0 without delay", spec: three(MemberSpec(host: h2, secondaryDelaySecs: 60)),
             mentions: ["\(h2)", "priority must be 0 when secondaryDelaySecs is used"]),
        Case(rule: "priority > 0 builds indexes", spec: three(MemberSpec(host: h2, buildIndexes: false)),
             mentions: ["\(h2)", "priority must be 0 when buildIndexes=false"]),
        Case(rule: "horizon names on every member",
             spec: spec([MemberSpec(host: h0, horizons: ["ext": "ext-0.example.com:30000"]), MemberSpec(host: h1)]),
             mentions: ["\(h0)", "\(h1)", "ext", "same horizons"]),
        Case(rule: "horizon hosts unique across members",
             spec: spec([MemberSpec(host: h0, horizons: ["ext": "ext.example.com:30000"]), MemberSpec(host: h1, horizons: ["ext": "ext.example.com:30000"])]),
             mentions: ["\(h1)", "ext.example.com:30000", "not unique"]),
        Case(rule: "horizon host not a member's host",
             spec: spec([MemberSpec(host: h0, horizons: ["ext": "db-1.mongo:27017"]), MemberSpec(host: h1, horizons: ["ext": "ext-1.example.com"])]),
             mentions: ["db-1.mongo:27017", "not unique"]),
        Case(rule: "horizon hosts unique within a member",
             spec: spec([MemberSpec(host: h0, horizons: ["a": "ext-0.example.com:1", "b": "ext-0.example.com:2"])]),
             mentions: ["\(h0)", "Duplicate horizon member found \"ext-0.example.com\""]),
        Case(rule: "horizon host not an IPv4 address", spec: spec([MemberSpec(host: h0, horizons: ["ext": "10.0.0.1:30000"])]),
             mentions: ["\(h0)", "IP address", "10.0.0.1:30000"]),
        Case(rule: "horizon host not an IPv6 address", spec: spec([MemberSpec(host: h0, horizons: ["ext": "[fe80::1]:30000"])]),
             mentions: ["\(h0)", "IP address"]),
        Case(rule: "horizon name __default reserved", spec: spec([MemberSpec(host: h0, horizons: ["__default": "ext.example.com"])]),
             mentions: ["\(h0)", "\"__default\" is reserved"]),
        Case(rule: "configsvr without arbiters", spec: spec([MemberSpec(host: h0), MemberSpec(host: h1, arbiterOnly: true)], configsvr: true),
             mentions: ["\(h1)", "arbiters are not allowed", "configsvr"]),
        Case(rule: "configsvr builds indexes", spec: spec([MemberSpec(host: h0), MemberSpec(host: h1, priority: 0, buildIndexes: false)], configsvr: true),
             mentions: ["\(h1)", "must build indexes"]),
        Case(rule: "configsvr without delay", spec: spec([MemberSpec(host: h0), MemberSpec(host: h1, priority: 0, hidden: true, secondaryDelaySecs: 60)], configsvr: true),
             mentions: ["\(h1)", "secondaryDelaySecs"]),
        Case(rule: "all or none on localhost", spec: spec([MemberSpec(host: HostAddress(host: "127.0.0.5")), MemberSpec(host: h1)]),
             mentions: ["127.0.0.5:27017", "\(h1)", "all members on localhost or none"]),
        Case(rule: "heartbeatIntervalMillis > 0", spec: spec([MemberSpec(host: h0)], settings: .init(heartbeatIntervalMillis: 0)),
             mentions: ["heartbeatIntervalMillis", "> 0"]),
        Case(rule: "heartbeatTimeoutSecs > 0", spec: spec([MemberSpec(host: h0)], settings: .init(heartbeatTimeoutSecs: -3)),
             mentions: ["heartbeatTimeoutSecs", "> 0"]),
        Case(rule: "electionTimeoutMillis > 0", spec: spec([MemberSpec(host: h0)], settings: .init(electionTimeoutMillis: 0)),
             mentions: ["electionTimeoutMillis", "> 0"]),
        Case(rule: "catchUpTimeoutMillis >= -1", spec: spec([MemberSpec(host: h0)], settings: .init(catchUpTimeoutMillis: -2)),
             mentions: ["catchUpTimeoutMillis", ">= -1"]),
        Case(rule: "catchUpTakeoverDelayMillis >= -1", spec: spec([MemberSpec(host: h0)], settings: .init(catchUpTakeoverDelayMillis: -2)),
             mentions: ["catchUpTakeoverDelayMillis", ">= -1"]),
        Case(rule: "getLastErrorModes counts positive",
             spec: spec([MemberSpec(host: h0, tags: ["dc": "a"])], settings: .init(getLastErrorModes: ["multiDC": ["dc": 0]])),
             mentions: ["multiDC", "dc", "must be positive"]),
        Case(rule: "getLastErrorModes tags exist",
             spec: spec([MemberSpec(host: h0, tags: ["dc": "a"])], settings: .init(getLastErrorModes: ["multiRack": ["rack": 2]])),
             mentions: ["multiRack", "No replica set tag key rack"]),
    ]

    @Test("a spec breaking the rule is refused, naming the member and the rule", arguments: failing)
    func refused(_ test: Case) {
        #expect(throws: InvalidInput.self) { try test.spec.validate() }
        do {
            try test.spec.validate()
        } catch {
            for fragment in test.mentions {
                #expect(error.message.contains(fragment), "\(test.rule): '\(error.message)' lacks '\(fragment)'")
            }
        }
    }

    static let valid: [Case] = [
        Case(rule: "three defaults", spec: spec([MemberSpec(host: h0), MemberSpec(host: h1), MemberSpec(host: h2)]), mentions: []),
        Case(rule: "primary, secondary, arbiter", spec: three(MemberSpec(host: h2, arbiterOnly: true)), mentions: []),
        Case(rule: "an arbiter given priority 0 and votes 1", spec: three(MemberSpec(host: h2, priority: 0, votes: 1, arbiterOnly: true)), mentions: []),
        Case(rule: "hidden delayed member without indexes", spec: three(MemberSpec(host: h2, priority: 0, hidden: true, secondaryDelaySecs: 3600, buildIndexes: false)), mentions: []),
        Case(rule: "non-voters beyond 7", spec: spec((0...49).map { MemberSpec(host: host($0), priority: $0 < 7 ? 1 : 0, votes: $0 < 7 ? 1 : 0) }), mentions: []),
        Case(rule: "numbered members", spec: spec([MemberSpec(host: h0, id: 5), MemberSpec(host: h1, id: 0), MemberSpec(host: h2)]), mentions: []),
        Case(rule: "horizons, tags and write concern modes", spec: spec((0...2).map { MemberSpec(host: host($0), tags: ["dc": "dc\($0)"], horizons: ["ext": "ext-\($0).example.com:30000"]) },
              settings: .init(chainingAllowed: false, heartbeatIntervalMillis: 500, electionTimeoutMillis: 2000, catchUpTimeoutMillis: -1,
                              catchUpTakeoverDelayMillis: -1, getLastErrorModes: ["multiDC": ["dc": 2], "anyVoter": ["$voter": 1]])), mentions: []),
        Case(rule: "config servers", spec: spec([MemberSpec(host: h0), MemberSpec(host: h1), MemberSpec(host: h2, priority: 0, hidden: true)], configsvr: true), mentions: []),
        Case(rule: "all on localhost", spec: spec([MemberSpec(host: HostAddress(host: "localhost", port: 1)), MemberSpec(host: HostAddress(host: "127.0.0.2", port: 1))]), mentions: []),
    ]

    @Test("valid specs pass", arguments: valid)
    func accepted(_ test: Case) throws {
        try test.spec.validate()
    }
}
