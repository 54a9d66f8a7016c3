import MongoBSON
import Testing
@testable import ReplicaSetBootstrap

/// Every byte from a node is untrusted: replies are read as strictly as mongod writes them, and
/// anything else is an error that names the field (the state machine refuses the node on it).
@Suite("Model: reading replies strictly")
struct ReplyReadingTests {
    static let member: BSONDocument = ["_id": 0, "host": "db-0.mongo:27017", "priority": .double(1), "votes": 1]

    static func config(members: [BSONDocument] = [member], _ changes: (inout BSONDocument) -> Void = { _ in }) -> BSONDocument {
        var doc: BSONDocument = ["_id": "rs0", "version": 1, "term": .int64(1), "members": .array(members.map(BSON.document)),
                                 "settings": ["replicaSetId": .objectId(replicaSetId)]]
        changes(&doc)
        return doc
    }

    static func withMember(_ changes: (inout BSONDocument) -> Void) -> BSONDocument {
        var member = member
        changes(&member)
        return config(members: [member])
    }

    /// The error message, or nil when the document was accepted.
    static func configProblem(_ doc: BSONDocument) -> String? {
        do {
            _ = try ReplicaSetConfig(document: doc)
            return nil
        } catch {
            return error.message
        }
    }

    @Test("mongod's own config, as replSetGetConfig sends it, is read")
    func validConfig() throws {
        let config = try ReplicaSetConfig(document: Self.config())
        #expect(config.version == 1)
        #expect(config.members.map(\.host) == [a])
    }

    @Test("config numbers outside mongod's ranges are refused, naming the field", arguments: [
        ("version", BSON.int64(1 << 31)), ("version", .int64(.max)), ("version", 0), ("version", -1), ("version", 1.5),
        ("version", .double(.nan)), ("version", .double(1e300)), ("version", "1"), ("term", .int64(1 << 31)), ("term", -2),
    ] as [(String, BSON)])
    func configNumbers(field: String, value: BSON) {
        let problem = Self.configProblem(Self.config { $0[field] = value })
        #expect(problem?.contains("'config.\(field)'") == true, "\(problem ?? "accepted")")
    }

    @Test("the largest version mongod allows is read", arguments: [BSON.int32(.max), .int64(Int64(Int32.max)), .double(2147483647)])
    func largestVersion(value: BSON) throws {
        #expect(try ReplicaSetConfig(document: Self.config { $0["version"] = value }).version == Int(Int32.max))
    }

    @Test("member fields outside mongod's limits or of the wrong type are refused", arguments: [
        ("priority", BSON.double(1e300)), ("priority", -1), ("priority", .double(.nan)), ("priority", .double(.infinity)), ("priority", "1"),
        ("votes", 2), ("votes", -1), ("votes", .double(0.5)), ("_id", -1), ("_id", .int64(1 << 31)), ("_id", "0"),
        ("secondaryDelaySecs", .int64(31_622_401)), ("slaveDelay", -5), ("arbiterOnly", "yes"), ("hidden", ["a": 1]),
        ("buildIndexes", .null), ("tags", ["zone": 1]), ("tags", "a"), ("horizons", ["h": .array([])]),
    ] as [(String, BSON)])
    func memberFields(field: String, value: BSON) {
        let problem = Self.configProblem(Self.withMember { $0[field] = value })
        #expect(problem?.contains("'config.members[0].\(field)") == true, "\(problem ?? "accepted")")
    }

    @Test("a member host that is anything but a plain host:port is refused, shown printable", arguments: [
        "x@127.9.9.9/?authMechanism=PLAIN&x=", "127.9.9.9:27017,evil:1", "db-0/?tls=false", "mongodb://a@b", "", " db-0:1",
        "db-0:0", "db-0:65536", "db-0:1:2", "/tmp/mongodb-27017.sock", "db\u{1B}[31m-0", String(repeating: "a", count: 300), "dé-0:1",
    ])
    func memberHosts(host: String) {
        let problem = Self.configProblem(Self.withMember { $0["host"] = .string(host) })
        #expect(problem?.contains("'config.members[0].host'") == true, "\(problem ?? "accepted")")
        #expect(problem?.contains("\u{1B}") == false)
        #expect((problem?.count ?? 0) < 250)
    }

    @Test("more than 50 members, duplicate hosts or _ids, and no members are refused")
    func memberLists() {
        let many = (0..<51).map { index -> BSONDocument in ["_id": .int32(Int32(index)), "host": .string("db-\(index):27017")] }
        #expect(Self.configProblem(Self.config(members: many))?.contains("at most 50") == true)
        #expect(Self.configProblem(Self.config(members: Array(many.prefix(50)))) == nil)
        let sameHost: [BSONDocument] = [["_id": 0, "host": "db-0:27017"], ["_id": 1, "host": "DB-0"]]
        #expect(Self.configProblem(Self.config(members: sameHost))?.contains("members[1].host") == true)
        let sameId: [BSONDocument] = [["_id": 3, "host": "db-0:27017"], ["_id": 3, "host": "db-1"]]
        #expect(Self.configProblem(Self.config(members: sameId))?.contains("members[1]._id") == true)
        #expect(Self.configProblem(Self.config(members: []))?.contains("'config.members'") == true)
        #expect(Self.configProblem(Self.config { $0["members"] = "a" })?.contains("not an array") == true)
        #expect(Self.configProblem(Self.config { $0["settings"] = ["replicaSetId": "x"] })?.contains("settings.replicaSetId") == true)
    }

    static func helloProblem(_ changes: (inout BSONDocument) -> Void) -> String? {
        var doc: BSONDocument = ["isWritablePrimary": true, "setName": "rs0", "setVersion": 1, "me": "db-0.mongo:27017",
                                 "primary": "db-0.mongo:27017", "topologyVersion": ["processId": .objectId(processId), "counter": .int64(3)],
                                 "maxWireVersion": 21, "ok": .double(1)]
        changes(&doc)
        do {
            _ = try HelloResponse(document: doc)
            return nil
        } catch {
            return error.message
        }
    }

    @Test("hello fields of the wrong type or out of range are refused, naming the field", arguments: [
        ("isWritablePrimary", BSON.string("true")), ("ismaster", ["a": 1]), ("secondary", "no"), ("arbiterOnly", .array([])),
        ("hidden", "x"), ("isreplicaset", "x"), ("setName", 1), ("setVersion", "1"), ("setVersion", .int64(1 << 31)),
        ("setVersion", 0), ("primary", "a@b/?x=1"), ("me", 5), ("me", "a b"), ("topologyVersion", "x"), ("msg", 1),
        ("maxWireVersion", .double(1e300)), ("maxWireVersion", "21"), ("lastWrite", 1),
    ] as [(String, BSON)])
    func helloFields(field: String, value: BSON) {
        let problem = Self.helloProblem { $0[field] = value }
        #expect(problem?.contains("'\(field)") == true, "\(problem ?? "accepted")")
    }

    @Test("hello: a set name without setVersion, or a topologyVersion without its parts, is refused")
    func helloConsistency() {
        #expect(Self.helloProblem { $0["setVersion"] = nil }?.contains("setVersion") == true)
        #expect(Self.helloProblem { $0["topologyVersion"] = ["processId": .objectId(processId)] }?.contains("topologyVersion.counter") == true)
        #expect(Self.helloProblem { $0["topologyVersion"] = ["processId": "x", "counter": 1] }?.contains("topologyVersion.processId") == true)
        #expect(Self.helloProblem { $0["topologyVersion"] = ["processId": .objectId(processId), "counter": -1] }?.contains("counter") == true)
        // What a fresh mongod and a server before 4.4 send is fine.
        #expect(Self.helloProblem { $0 = ["ismaster": false, "isreplicaset": true, "maxWireVersion": 8, "ok": 1] } == nil)
    }

    @Test("replSetGetStatus: member names must be plain hosts, health and state numbers")
    func status() throws {
        let fine: BSONDocument = ["members": [["name": "db-0:27017", "health": .double(1), "state": 1], ["name": "db-1:27017", "health": .double(0), "state": 8]], "ok": 1]
        let health = try SetHealth(statusReply: fine)
        #expect(health.primary == HostAddress(host: "db-0"))
        #expect(health.unhealthy == [HostAddress(host: "db-1")])
        let bad: [BSONDocument] = [
            ["members": [["name": "a@b", "health": 1]]], ["members": [["name": 1]]], ["members": "x"],
            ["members": [["name": "db-0:1", "state": 99]]], ["members": [["name": "db-0:1", "health": "up"]]],
        ]
        for bad in bad {
            #expect(throws: ReplyError.self) { try SetHealth(statusReply: bad) }
        }
    }

    @Test("text from a node is printed without control characters and cut short")
    func printable() {
        #expect("a\u{1B}[2Jb\nc".printable() == "a\\u{1b}[2Jb\\u{a}c")
        #expect(String(repeating: "x", count: 500).printable(limit: 10) == "xxxxxxxxxx…")
        #expect("exactly".printable(limit: 7) == "exactly")
    }
}
