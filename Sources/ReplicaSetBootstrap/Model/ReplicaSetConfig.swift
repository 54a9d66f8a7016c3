import MongoBSON

/// A replica-set config document as mongod holds it (`repl_set_config.idl`, `member_config.idl`).
public struct ReplicaSetConfig: Hashable, Sendable {
    public struct Member: Hashable, Sendable {
        public var id: Int
        public var host: HostAddress
        public var options: MemberOptions

        public init(id: Int, host: HostAddress, options: MemberOptions = MemberOptions()) {
            self.id = id
            self.host = host
            self.options = options
        }
    }

    public var name: String
    public var version: Int
    /// Absent before 4.4 and after a force reconfig (mongod omits -1).
    public var term: Int?
    public var members: [Member]
    public var replicaSetId: ObjectId?
    /// `settings` without `replicaSetId`.
    public var settings: BSONDocument
    /// Top-level fields this model does not interpret (`protocolVersion`, `configsvr`,
    /// `writeConcernMajorityJournalDefault`, …), sent back unchanged in a reconfig.
    public var otherFields: BSONDocument
    /// The name a member's delay goes by: what the set already uses, or what the server takes
    /// (mongod before 5.0 knows only `slaveDelay` and refuses `secondaryDelaySecs`).
    public var delayField: DelayField = .secondaryDelaySecs

    public enum DelayField: String, Hashable, Sendable {
        case secondaryDelaySecs
        /// MongoDB 4.4 and earlier, and 5.0 at feature compatibility 4.4 (SERVER-50423, SERVER-54962).
        case slaveDelay
    }

    public init(name: String, version: Int, term: Int?, members: [Member], replicaSetId: ObjectId? = nil,
                settings: BSONDocument = [:], otherFields: BSONDocument = [:]) {
        self.name = name
        self.version = version
        self.term = term
        self.members = members
        self.replicaSetId = replicaSetId
        self.settings = settings
        self.otherFields = otherFields
    }

    public func member(_ host: HostAddress) -> Member? {
        members.first { $0.host == host }
    }

    /// (version, term) as mongod orders configs: term first when both have one
    /// (`ConfigVersionAndTerm::operator<`).
    public func isNewer(than other: ReplicaSetConfig) -> Bool {
        if let term, let otherTerm = other.term, term != otherTerm { return term > otherTerm }
        return version > other.version
    }

    /// The config as a command sends it: member options only where they differ from mongod's
    /// defaults (so an initiated config reads like one written by hand), everything read from
    /// mongod kept.
    public var document: BSONDocument {
        var doc: BSONDocument = ["_id": .string(name), "version": .integer(version)]
        if let term { doc["term"] = .int64(Int64(term)) }
        doc["members"] = .array(members.map { .document($0.document(delayField: delayField)) })
        doc.elements += otherFields.elements
        var allSettings = settings
        if let replicaSetId { allSettings["replicaSetId"] = .objectId(replicaSetId) }
        if !allSettings.isEmpty { doc["settings"] = .document(allSettings) }
        return doc
    }
}

extension ReplicaSetConfig.Member {
    func document(delayField: ReplicaSetConfig.DelayField) -> BSONDocument {
        var doc: BSONDocument = ["_id": .integer(id), "host": .string(host.description)]
        let o = options
        let defaults = MemberOptions(priority: o.arbiterOnly ? 0 : 1)
        if o.arbiterOnly { doc["arbiterOnly"] = true }
        if o.buildIndexes != defaults.buildIndexes { doc["buildIndexes"] = .bool(o.buildIndexes) }
        if o.hidden { doc["hidden"] = true }
        if o.priority != defaults.priority { doc["priority"] = Int32(exactly: o.priority).map(BSON.int32) ?? .double(o.priority) }
        if !o.tags.isEmpty { doc["tags"] = .document(BSONDocument(o.tags.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })) }
        if !o.horizons.isEmpty { doc["horizons"] = .document(BSONDocument(o.horizons.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })) }
        if o.secondaryDelaySecs != 0 { doc[delayField.rawValue] = .int64(Int64(o.secondaryDelaySecs)) }
        if o.votes != defaults.votes { doc["votes"] = .integer(o.votes) }
        return doc
    }
}

extension ReplicaSetConfig {
    /// mongod's range for `version` (`repl_set_config.idl`: `gt: 0, lt: 2147483648`).
    public static let versionRange = 1...Int(Int32.max)
    /// mongod's range for `term` (`repl_set_config.idl`: `gte: -1, lt: 2147483648`).
    static let termRange = -1...Int(Int32.max)
    /// mongod's range for a member `_id` (`MemberId`, `member_id.h`: a non-negative int).
    static let memberIdRange = 0...Int(Int32.max)
    /// mongod's `member_config.idl` validators.
    static let priorityRange = 0.0...1000.0
    static let secondaryDelayRange = 0...31_622_400

    /// Reads the `config` document of a `replSetGetConfig` reply as strictly as mongod parses a
    /// config (`repl_set_config.idl`, `member_config.idl`, `ReplSetConfig::validate`): every
    /// field the tool reads has mongod's type and range, at most 50 members, hosts and `_id`s
    /// unique. A node that sends anything else is not trusted with a reconfig.
    public init(document doc: BSONDocument) throws(ReplyError) {
        let fields = ReplyFields(doc, path: "config")
        guard let name = try fields.string("_id"), !name.isEmpty else { throw fields.failure("_id", "is missing or empty") }
        guard let version = try fields.int("version", in: Self.versionRange) else { throw fields.failure("version", "is missing") }
        let term = try fields.int("term", in: Self.termRange)
        guard let memberFields = try fields.documents("members", limit: ReplicaSetSpec.maxMembers), !memberFields.isEmpty else {
            throw fields.failure("members", "is missing or empty")
        }
        var members: [Member] = []
        var delayField = DelayField.secondaryDelaySecs
        var seenHosts: [HostAddress: Int] = [:]
        var seenIds: [Int: Int] = [:]
        members.reserveCapacity(memberFields.count)
        seenHosts.reserveCapacity(memberFields.count)
        seenIds.reserveCapacity(memberFields.count)
        for (index, m) in memberFields.enumerated() {
            guard let id = try m.int("_id", in: Self.memberIdRange) else { throw m.failure("_id", "is missing") }
            guard let host = try m.host("host") else { throw m.failure("host", "is missing") }
            if let earlier = seenIds.updateValue(index, forKey: id) { throw m.failure("_id", "is \(id), a duplicate of members[\(earlier)]._id") }
            if let earlier = seenHosts.updateValue(index, forKey: host) { throw m.failure("host", "is \(host), a duplicate of members[\(earlier)].host") }
            let arbiter = try m.bool("arbiterOnly") ?? false
            // The name before 5.0, kept when the set uses it.
            let legacyDelay = try m.int("slaveDelay", in: Self.secondaryDelayRange)
            if legacyDelay != nil { delayField = .slaveDelay }
            let options = MemberOptions(
                priority: try m.double("priority", in: Self.priorityRange) ?? (arbiter ? 0 : 1),
                votes: try m.int("votes", in: 0...1) ?? 1,
                arbiterOnly: arbiter,
                hidden: try m.bool("hidden") ?? false,
                secondaryDelaySecs: try m.int("secondaryDelaySecs", in: Self.secondaryDelayRange) ?? legacyDelay ?? 0,
                buildIndexes: try m.bool("buildIndexes") ?? true,
                tags: try m.stringMap("tags") ?? [:],
                horizons: try m.stringMap("horizons") ?? [:])
            members.append(Member(id: id, host: host, options: options))
        }
        let settingsFields = try fields.fields("settings")
        var settings = settingsFields?.document ?? [:]
        let replicaSetId = try settingsFields?.objectId("replicaSetId")
        // Read by the forced-reconfig wait; mongod's `smallExactInt64` with `gt: 0`.
        _ = try settingsFields?.int("electionTimeoutMillis", in: 1...Int(Int64.max))
        settings["replicaSetId"] = nil
        let interpreted: Set<String> = ["_id", "version", "term", "members", "settings"]
        let otherFields = BSONDocument(doc.elements.filter { !interpreted.contains($0.key) }.map { ($0.key, $0.value) })
        self.init(name: name, version: version, term: term.flatMap { $0 < 0 ? nil : $0 },
                  members: members, replicaSetId: replicaSetId, settings: settings, otherFields: otherFields)
        self.delayField = delayField
    }
}
