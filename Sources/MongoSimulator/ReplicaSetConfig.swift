import MongoBSON

/// A replica-set configuration (`src/mongo/db/repl/repl_set_config.{idl,cpp}`): parsed with
/// mongod's rules and messages, validated like `ReplSetConfig::validate`, and serialized in
/// mongod's field order and BSON types.
struct ReplicaSetConfig: Equatable, Sendable {
    struct Settings: Equatable, Sendable {
        var chainingAllowed = true
        var heartbeatIntervalMillis: Int64 = 2000
        var heartbeatTimeoutSecs: Int64 = 10
        var electionTimeoutMillis: Int64 = 10000
        var catchUpTimeoutMillis: Int64 = -1
        var catchUpTakeoverDelayMillis: Int64 = 30000
        var getLastErrorModes: BSONDocument = [:]
        var replicaSetId: ObjectId?
    }

    var name: String
    var version: Int64
    /// -1 when the config came from a force reconfig (`OpTime::kUninitializedTerm`).
    var term: Int64 = -1
    var members: [MemberConfig]
    var configsvr = false
    var writeConcernMajorityJournalDefault = true
    var settings = Settings()

    init(name: String, version: Int64, term: Int64, members: [MemberConfig], replicaSetId: ObjectId?) {
        self.name = name
        self.version = version
        self.term = term
        self.members = members
        settings.replicaSetId = replicaSetId
    }

    /// `ReplSetConfig::parse`: `forceTerm` overrides any user-supplied term, and a config without
    /// `settings.replicaSetId` takes `defaultReplicaSetId`.
    init(parsing document: BSONDocument, forceTerm: Int64?, defaultReplicaSetId: ObjectId?, dialect: ServerVersion) throws(CommandError) {
        let reader = IDLReader(structName: "ReplSetConfig", document: document)
        try reader.rejectUnknownFields(allowed: ["_id", "version", "term", "members", "configsvr", "protocolVersion",
                                                 "writeConcernMajorityJournalDefault", "settings", "repaired", "recipientConfig"])
        name = try reader.require("_id", reader.string)
        version = try reader.require("version", reader.smallExactInt64)
        try reader.check("version", version, ">", 0, >)
        try reader.check("version", version, "<", 2_147_483_648, <)
        if let term = try reader.smallExactInt64("term") {
            try reader.check("term", term, ">=", -1, >=)
            try reader.check("term", term, "<", 2_147_483_648, <)
            self.term = term
        }
        let membersValue = try reader.required("members")
        guard case .array(let memberValues) = membersValue else {
            throw CommandError(.typeMismatch, "BSON field 'ReplSetConfig.members' is the wrong type '\(membersValue.typeName)', expected type 'array'")
        }
        members = []
        for value in memberValues {
            guard case .document(let memberDocument) = value else {
                throw CommandError(.typeMismatch, "BSON field 'ReplSetConfig.members' is the wrong type '\(value.typeName)', expected type 'object'")
            }
            members.append(try MemberConfig(parsing: memberDocument, dialect: dialect))
        }
        configsvr = try reader.safeBool("configsvr") ?? false
        if let protocolVersion = try reader.safeInt64("protocolVersion") {
            try reader.check("protocolVersion", protocolVersion, ">=", 1, >=)
            try reader.check("protocolVersion", protocolVersion, "<=", 1, <=)
        }
        writeConcernMajorityJournalDefault = try reader.safeBool("writeConcernMajorityJournalDefault") ?? true
        if let settingsDocument = try reader.document("settings") {
            settings = try Self.parseSettings(settingsDocument)
        }
        if let forceTerm { term = forceTerm }
        for member in members where member.arbiterOnly && member.tags.map({ !$0.isEmpty }) == true {
            throw CommandError(.badValue, "Cannot set tags on arbiters.")
        }
        if settings.replicaSetId == nil { settings.replicaSetId = defaultReplicaSetId }
    }

    /// `ReplSetConfigSettings` is not strict: unknown fields are ignored (and dropped).
    private static func parseSettings(_ document: BSONDocument) throws(CommandError) -> Settings {
        let reader = IDLReader(structName: "ReplSetConfigSettings", document: document)
        var settings = Settings()
        settings.chainingAllowed = try reader.safeBool("chainingAllowed") ?? true
        if let value = try reader.smallExactInt64("heartbeatIntervalMillis") {
            try reader.check("heartbeatIntervalMillis", value, ">", 0, >)
            settings.heartbeatIntervalMillis = value
        }
        if let value = try reader.smallExactInt64("heartbeatTimeoutSecs") {
            try reader.check("heartbeatTimeoutSecs", value, ">", 0, >)
            settings.heartbeatTimeoutSecs = value
        }
        if let value = try reader.smallExactInt64("electionTimeoutMillis") {
            try reader.check("electionTimeoutMillis", value, ">", 0, >)
            settings.electionTimeoutMillis = value
        }
        if let value = try reader.smallExactInt64("catchUpTimeoutMillis") {
            try reader.check("catchUpTimeoutMillis", value, ">=", -1, >=)
            settings.catchUpTimeoutMillis = value
        }
        if let value = try reader.smallExactInt64("catchUpTakeoverDelayMillis") {
            try reader.check("catchUpTakeoverDelayMillis", value, ">=", -1, >=)
            settings.catchUpTakeoverDelayMillis = value
        }
        settings.getLastErrorModes = try reader.document("getLastErrorModes") ?? [:]
        if let defaults = try reader.document("getLastErrorDefaults") {
            // `validateDefaultWriteConcernHasMember` (repl_set_config_validators.h; before 5.0 in
            // `ReplSetConfig::_validate`): an unacknowledged default, w: 0 without j: true.
            let journaled = defaults["j"]?.isTruthy ?? false
            if let w = defaults["w"], w.doubleValue == 0, !journaled {
                throw CommandError(.badValue, "Default write concern mode must wait for at least 1 member")
            }
        }
        if let id = document["replicaSetId"] {
            guard case .objectId(let oid) = id else {
                throw CommandError(.typeMismatch, "BSON field 'ReplSetConfigSettings.replicaSetId' is the wrong type '\(id.typeName)', expected type 'objectId'")
            }
            settings.replicaSetId = oid
        }
        return settings
    }

    // MARK: - Derived values (`_calculateMajorities`)

    var versionAndTerm: ConfigVersionAndTerm { ConfigVersionAndTerm(version: version, term: term) }
    var votingMembers: [MemberConfig] { members.filter(\.isVoter) }
    var totalVotingMembers: Int { votingMembers.count }
    var majorityVoteCount: Int { totalVotingMembers / 2 + 1 }
    var writableVotingMembersCount: Int { votingMembers.filter { !$0.arbiterOnly }.count }
    var writeMajority: Int { min(majorityVoteCount, writableVotingMembersCount) }

    /// `isImplicitDefaultWriteConcernMajority`: w:majority unless arbiters could keep a primary
    /// elected while no majority write can be acknowledged.
    var isImplicitDefaultWriteConcernMajority: Bool {
        totalVotingMembers == writableVotingMembersCount || writableVotingMembersCount > majorityVoteCount
    }

    /// `isPSASet`: three members, two of them data-bearing.
    var isPSASet: Bool {
        members.count == 3 && members.filter { !$0.arbiterOnly }.count == 2
    }

    func index(ofHost host: String) -> Int? { members.firstIndex { $0.host == host } }
    func member(withId id: Int) -> MemberConfig? { members.first { $0.id == id } }

    /// Same contents apart from version and term (`sameConfigContents`).
    func hasSameContents(as other: ReplicaSetConfig) -> Bool {
        var copy = other
        copy.version = version
        copy.term = term
        return copy == self
    }

    // MARK: - Validation (`ReplSetConfig::_validate`)

    static let maxMembers = 50
    static let maxVotingMembers = 7

    func validate(allowSplitHorizonIP: Bool = false) throws(CommandError) {
        guard !members.isEmpty, members.count <= Self.maxMembers else {
            throw CommandError(.badValue, "Replica set configuration contains \(members.count) members, but must have at least 1 and no more than  \(Self.maxMembers)")
        }
        let expectedHorizons = horizonNames(members[0])
        var nonUniversalHorizons = Set<String>()
        var horizonHostCounts: [String: Int] = [:]
        var localhostCount = 0, voterCount = 0, arbiterCount = 0, electableCount = 0
        for (i, member) in members.enumerated() {
            if !allowSplitHorizonIP, let horizons = member.horizons {
                for mapping in horizons where HostAndPort.isIPAddress(mapping.value.stringValue ?? "") {
                    throw CommandError(.unsupportedFormat, "Found split horizon configuration using IP address, which is disallowed: members.\(i).horizons contains entry {\"\(mapping.key)\": \"\(mapping.value.stringValue ?? "")\"}")
                }
            }
            let names = horizonNames(member)
            if names != expectedHorizons {
                nonUniversalHorizons.formUnion(Set(names).symmetricDifference(expectedHorizons))
            } else {
                horizonHostCounts[member.host, default: 0] += 1
                for mapping in member.horizons ?? [:] {
                    horizonHostCounts[mapping.value.stringValue ?? "", default: 0] += 1
                }
            }
            if HostAndPort.isLocalHost(member.host) { localhostCount += 1 }
            if member.isVoter { voterCount += 1 }
            if member.arbiterOnly {
                arbiterCount += 1
            } else if member.effectivePriority > 0 {
                electableCount += 1
            }
            for (j, other) in members.enumerated() where j != i {
                if member.id == other.id {
                    throw CommandError(.badValue, "Found two member configurations with same _id field, members.\(i)._id == members.\(j)._id == \(member.id)")
                }
                if member.host == other.host {
                    throw CommandError(.badValue, "Found two member configurations with same host field, members.\(i).host == members.\(j).host == \(member.host)")
                }
            }
        }
        if !nonUniversalHorizons.isEmpty {
            let list = nonUniversalHorizons.sorted().map { " \($0)" }.joined(separator: ",")
            throw CommandError(.badValue, "Saw a replica set member with a different horizon mapping than the others.  The following horizons were not universally present:\(list)")
        }
        let duplicates = horizonHostCounts.filter { $0.value > 1 }.keys.sorted()
        if !duplicates.isEmpty {
            throw CommandError(.badValue, "The following hostnames are not unique across all horizons and host specifications in the replica set:\(duplicates.map { " \($0)" }.joined(separator: ","))")
        }
        if localhostCount != 0 && localhostCount != members.count {
            throw CommandError(.badValue, "Either all host names in a replica set configuration must be localhost references, or none must be; found \(localhostCount) out of \(members.count)")
        }
        if voterCount == 0 || voterCount > Self.maxVotingMembers {
            throw CommandError(.badValue, "Replica set configuration contains \(voterCount) voting members, but must be at least 1 and no more than \(Self.maxVotingMembers)")
        }
        if electableCount == 0 {
            throw CommandError(.badValue, "Replica set configuration must contain at least one non-arbiter member with priority > 0")
        }
        if configsvr {
            if arbiterCount > 0 {
                throw CommandError(.badValue, "Arbiters are not allowed in replica set configurations being used for config servers")
            }
            if members.contains(where: { !$0.buildIndexes }) {
                throw CommandError(.badValue, "Members in replica set configurations being used for config servers must build indexes")
            }
            // Simulated members are never started with --configsvr.
            throw CommandError(.badValue, "Nodes being used for config servers must be started with the --configsvr flag")
        }
        if name.isEmpty {
            throw CommandError(.badValue, "ReplSetConfig represented an invalid replica set ConnectionString")
        }
    }

    private func horizonNames(_ member: MemberConfig) -> [String] {
        (["__default"] + (member.horizons?.keys ?? [])).sorted()
    }

    /// `validateArbiterPriorities` (`repl_set_config_checks.cpp`).
    func validateArbiterPriorities() throws(CommandError) {
        for member in members where member.arbiterOnly && member.priority != 0 {
            throw CommandError(.invalidReplicaSetConfig, "Member \(member.host) is an arbiter but has priority \(BSONText.formatDouble(member.priority)). Arbiter priority must be 0.")
        }
    }

    // MARK: - Serialization (`ReplSetConfig::toBSON`)

    func document(includeNewlyAdded: Bool = true, dialect: ServerVersion) -> BSONDocument {
        var doc: BSONDocument = ["_id": .string(name), "version": Self.smallExactInt(version)]
        if term != -1 { doc.append("term", Self.smallExactInt(term)) }
        doc.append("members", .array(members.map { .document($0.document(includeNewlyAdded: includeNewlyAdded, dialect: dialect)) }))
        if configsvr { doc.append("configsvr", true) }
        doc.append("protocolVersion", .int64(1))
        doc.append("writeConcernMajorityJournalDefault", .bool(writeConcernMajorityJournalDefault))
        var settingsDoc: BSONDocument = [
            "chainingAllowed": .bool(settings.chainingAllowed),
            "heartbeatIntervalMillis": Self.smallExactInt(settings.heartbeatIntervalMillis),
            "heartbeatTimeoutSecs": Self.smallExactInt(settings.heartbeatTimeoutSecs),
            "electionTimeoutMillis": Self.smallExactInt(settings.electionTimeoutMillis),
            "catchUpTimeoutMillis": Self.smallExactInt(settings.catchUpTimeoutMillis),
            "catchUpTakeoverDelayMillis": Self.smallExactInt(settings.catchUpTakeoverDelayMillis),
            "getLastErrorModes": .document(settings.getLastErrorModes),
            "getLastErrorDefaults": ["w": 1, "wtimeout": 0],
        ]
        if let id = settings.replicaSetId { settingsDoc.append("replicaSetId", .objectId(id)) }
        doc.append("settings", .document(settingsDoc))
        return doc
    }

    /// `smallExactInt64Append`: int32 when it fits, long otherwise.
    private static func smallExactInt(_ value: Int64) -> BSON {
        Int32(exactly: value).map(BSON.int32) ?? .int64(value)
    }
}
