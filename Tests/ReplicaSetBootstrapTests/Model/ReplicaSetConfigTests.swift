import MongoBSON
import Testing
@testable import ReplicaSetBootstrap

@Suite("Model: replica-set configs")
struct ReplicaSetConfigTests {
    /// A config as mongod 7.0 serializes it in replSetGetConfig (`MemberConfig::toBSON` order).
    let mongodConfig: BSONDocument = [
        "_id": "rs0", "version": 3, "term": .int64(2),
        "members": [
            ["_id": 0, "host": "db-0.mongo:27017", "arbiterOnly": false, "buildIndexes": true, "hidden": false,
             "priority": .double(2), "tags": ["zone": "a"], "secondaryDelaySecs": .int64(0), "votes": 1],
            ["_id": 1, "host": "DB-1.mongo:27017", "arbiterOnly": true, "buildIndexes": true, "hidden": false,
             "priority": .double(0), "tags": [:], "secondaryDelaySecs": .int64(0), "votes": 1],
        ],
        "protocolVersion": .int64(1), "writeConcernMajorityJournalDefault": true,
        "settings": ["chainingAllowed": true, "electionTimeoutMillis": 10000, "replicaSetId": .objectId(replicaSetId)],
    ]

    @Test("reads mongod's config: members, options, replicaSetId, hosts normalized")
    func parse() throws {
        let config = try ReplicaSetConfig(document: mongodConfig)
        #expect(config.name == "rs0")
        #expect(config.version == 3)
        #expect(config.term == 2)
        #expect(config.replicaSetId == replicaSetId)
        #expect(config.members.map(\.host) == [HostAddress(host: "db-0.mongo"), HostAddress(host: "db-1.mongo")])
        #expect(config.members[0].options == MemberOptions(priority: 2, tags: ["zone": "a"]))
        #expect(config.members[1].options.arbiterOnly)
        #expect(config.members[1].options.priority == 0)
    }

    @Test("hosts keep the case they were recorded with, and compare without it")
    func hostCase() throws {
        let config = try ReplicaSetConfig(document: mongodConfig)
        #expect(config.members[1].host.description == "DB-1.mongo:27017")
        #expect(config.member(HostAddress(host: "db-1.MONGO")) != nil)
        // A reconfig adding a member writes the others as recorded.
        var next = config
        next.version += 1
        next.members.append(.init(id: 2, host: try HostAddress(parsing: "Case-3.Mongo")))
        let hosts = next.document["members"]?.arrayValue?.compactMap { $0.documentValue?["host"]?.stringValue }
        #expect(hosts == ["db-0.mongo:27017", "DB-1.mongo:27017", "Case-3.Mongo:27017"])
        #expect(Set([HostAddress(host: "A"), HostAddress(host: "a")]).count == 1)
        #expect(!HostAddress(host: "A").isSpelledLike(HostAddress(host: "a")))
        // mongod's localhost rule is case-sensitive: a set may not mix "LocalHost" and 127.0.0.1.
        #expect(!HostAddress(host: "LocalHost").isLocalhost && HostAddress(host: "localhost").isLocalhost)
    }

    @Test("a set that records delays as slaveDelay (before 5.0) gets them back under that name")
    func legacyDelayField() throws {
        var doc = mongodConfig
        doc["members"] = [["_id": 0, "host": "db-0.mongo:27017"], ["_id": 1, "host": "db-1.mongo:27017", "priority": 0, "hidden": true, "slaveDelay": 600]]
        let config = try ReplicaSetConfig(document: doc)
        #expect(config.members[1].options.secondaryDelaySecs == 600)
        #expect(config.delayField == .slaveDelay)
        let written = config.document["members"]?.arrayValue?[1].documentValue
        #expect(written?["slaveDelay"] == .int64(600))
        #expect(written?["secondaryDelaySecs"] == nil)
    }

    @Test("sends back what it read: settings, replicaSetId and unknown top-level fields survive")
    func roundTrip() throws {
        let config = try ReplicaSetConfig(document: mongodConfig)
        let again = try ReplicaSetConfig(document: config.document)
        #expect(again == config)
        #expect(config.document["protocolVersion"] == .int64(1))
        #expect(config.document["writeConcernMajorityJournalDefault"] == true)
        #expect(config.document["settings"]?.documentValue?["replicaSetId"] == .objectId(replicaSetId))
    }

    @Test("the initiate config has version 1, _ids in the order given, defaults left out")
    func initiateConfig() {
        let config = spec([b, a, c]).initiateConfig
        #expect(config.document == [
            "_id": "rs0", "version": 1,
            "members": [["_id": 0, "host": "db-1.mongo:27017"], ["_id": 1, "host": "db-0.mongo:27017"], ["_id": 2, "host": "db-2.mongo:27017"]],
        ])
    }

    @Test("members 8 and up of a plain list are non-voting; the initiator is the first host in sorted order")
    func plainSpec() throws {
        let hosts = (0..<9).reversed().map { HostAddress(host: "db-\($0).mongo") }
        let (spec, notes) = try ReplicaSetSpec.plain(name: "rs0", nodes: hosts)
        #expect(spec.members.prefix(7).allSatisfy { $0.resolvedOptions.isVoter })
        #expect(spec.members.suffix(2).allSatisfy { $0.votes == 0 && $0.priority == 0 })
        #expect(notes == ["mongod allows at most 7 voting members: db-1.mongo:27017, db-0.mongo:27017 join with votes 0 and priority 0"])
        // db-0 and db-1 are non-voting, so the first electable host in sorted order is db-2.
        #expect(spec.initiator == HostAddress(host: "db-2.mongo"))
    }

    @Test("hosts: default port, case kept but not compared, IPv6 in brackets; h and h:27017 are one member")
    func hosts() throws {
        #expect(try HostAddress(parsing: "DB-0.Mongo") == HostAddress(host: "db-0.mongo", port: 27017))
        #expect(try HostAddress(parsing: "DB-0.Mongo").description == "DB-0.Mongo:27017")
        #expect(try HostAddress(parsing: "db-0.mongo:27018").port == 27018)
        #expect(try HostAddress(parsing: "[::1]:27019").description == "[::1]:27019")
        #expect(try HostAddress(parsing: "[fe80::1]").description == "[fe80::1]:27017")
        #expect(try HostAddress(parsing: "10.0.0.7").description == "10.0.0.7:27017")
        #expect(try HostAddress(parsing: "mongo_1:27017").host == "mongo_1")
        #expect(throws: InvalidInput.self) { try ReplicaSetSpec.plain(name: "rs0", nodes: [HostAddress(host: "h"), try HostAddress(parsing: "h:27017")]) }
    }
}
