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
        var doc: BSONDocument = ["_id": .string(name), "version": .int32(Int32(version))]
        if let term { doc["term"] = .int64(Int64(term)) }
        doc["members"] = .array(members.map { .document($0.document) })
        doc.elements += otherFields.elements
        var allSettings = settings
        if let replicaSetId { allSettings["replicaSetId"] = .objectId(replicaSetId) }
        if !allSettings.isEmpty { doc["settings"] = .document(allSettings) }
        return doc
    }
}

extension ReplicaSetConfig.Member {
    var document: BSONDocument {
        var doc: BSONDocument = ["_id": .int32(Int32(id)), "host": .string(host.description)]
        let o = options
        let defaults = MemberOptions(priority: o.arbiterOnly ? 0 : 1)
        if o.arbiterOnly { doc["arbiterOnly"] = true }
        if o.buildIndexes != defaults.buildIndexes { doc["buildIndexes"] = .bool(o.buildIndexes) }
        if o.hidden { doc["hidden"] = true }
        if o.priority != defaults.priority { doc["priority"] = o.priority.rounded() == o.priority ? .int32(Int32(o.priority)) : .double(o.priority) }
        if !o.tags.isEmpty { doc["tags"] = .document(BSONDocument(o.tags.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })) }
        if !o.horizons.isEmpty { doc["horizons"] = .document(BSONDocument(o.horizons.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })) }
        if o.secondaryDelaySecs != 0 { doc["secondaryDelaySecs"] = .int64(Int64(o.secondaryDelaySecs)) }
        if o.votes != defaults.votes { doc["votes"] = .int32(Int32(o.votes)) }
        return doc
    }
}

extension ReplicaSetConfig {
    /// Reads the `config` document of a `replSetGetConfig` reply. Fields are read leniently (mongod
    /// may send numbers as int, long or double); a document without `_id`, `version` or `members`
    /// is not a config.
    public init(document doc: BSONDocument) throws(ReplyError) {
        guard let name = doc["_id"]?.stringValue else { throw ReplyError("config without a string _id") }
        guard let version = doc["version"]?.intValue else { throw ReplyError("config without a numeric version") }
        guard let memberValues = doc["members"]?.arrayValue else { throw ReplyError("config without a members array") }
        var members: [Member] = []
        for value in memberValues {
            guard let m = value.documentValue, let id = m["_id"]?.intValue, let hostText = m["host"]?.stringValue else {
                throw ReplyError("config member without _id or host: \(value)")
            }
            let arbiter = m["arbiterOnly"]?.isTruthy ?? false
            let options = MemberOptions(
                priority: m["priority"]?.doubleValue ?? (arbiter ? 0 : 1),
                votes: m["votes"]?.intValue ?? 1,
                arbiterOnly: arbiter,
                hidden: m["hidden"]?.isTruthy ?? false,
                secondaryDelaySecs: (m["secondaryDelaySecs"] ?? m["slaveDelay"])?.intValue ?? 0,
                buildIndexes: m["buildIndexes"]?.isTruthy ?? true,
                tags: Self.stringMap(m["tags"]),
                horizons: Self.stringMap(m["horizons"]))
            members.append(Member(id: id, host: HostAddress(configHost: hostText), options: options))
        }
        var settings = doc["settings"]?.documentValue ?? [:]
        let replicaSetId = settings["replicaSetId"]?.objectIdValue
        settings["replicaSetId"] = nil
        let interpreted: Set<String> = ["_id", "version", "term", "members", "settings"]
        let otherFields = BSONDocument(doc.elements.filter { !interpreted.contains($0.key) }.map { ($0.key, $0.value) })
        self.init(name: name, version: version, term: doc["term"]?.intValue.flatMap { $0 < 0 ? nil : $0 },
                  members: members, replicaSetId: replicaSetId, settings: settings, otherFields: otherFields)
    }

    private static func stringMap(_ value: BSON?) -> [String: String] {
        guard let doc = value?.documentValue else { return [:] }
        var map: [String: String] = [:]
        for element in doc {
            if let string = element.value.stringValue { map[element.key] = string }
        }
        return map
    }
}

extension HostAddress {
    /// A host string read from a config mongod already accepted; never fails (mongod's
    /// `HostAndPort` parsing already did), only normalizes case and the default port.
    init(configHost text: String) {
        if let parsed = try? HostAddress(parsing: text) {
            self = parsed
            return
        }
        if let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), !text.hasPrefix("[") {
            self.init(host: text[..<colon].lowercased(), port: port)
        } else {
            self.init(host: text.lowercased())
        }
    }
}

/// A server reply that does not have the shape mongod gives.
public struct ReplyError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
