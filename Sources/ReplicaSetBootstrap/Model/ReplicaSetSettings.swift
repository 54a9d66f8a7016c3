import MongoBSON

/// The `settings` of a replica-set config that a spec may set (`repl_set_config.idl`,
/// `ReplSetConfigSettings`). Nil means "as mongod has it".
public struct ReplicaSetSettings: Hashable, Sendable {
    public var chainingAllowed: Bool?
    public var heartbeatIntervalMillis: Int?
    public var heartbeatTimeoutSecs: Int?
    public var electionTimeoutMillis: Int?
    public var catchUpTimeoutMillis: Int?
    public var catchUpTakeoverDelayMillis: Int?
    /// Write concern modes: mode name → tag name → count.
    public var getLastErrorModes: [String: [String: Int]]?

    public init(chainingAllowed: Bool? = nil, heartbeatIntervalMillis: Int? = nil, heartbeatTimeoutSecs: Int? = nil,
                electionTimeoutMillis: Int? = nil, catchUpTimeoutMillis: Int? = nil, catchUpTakeoverDelayMillis: Int? = nil,
                getLastErrorModes: [String: [String: Int]]? = nil) {
        self.chainingAllowed = chainingAllowed
        self.heartbeatIntervalMillis = heartbeatIntervalMillis
        self.heartbeatTimeoutSecs = heartbeatTimeoutSecs
        self.electionTimeoutMillis = electionTimeoutMillis
        self.catchUpTimeoutMillis = catchUpTimeoutMillis
        self.catchUpTakeoverDelayMillis = catchUpTakeoverDelayMillis
        self.getLastErrorModes = getLastErrorModes
    }

    public var isEmpty: Bool { self == ReplicaSetSettings() }

    /// The given settings as BSON fields, in mongod's order.
    private var fields: [(String, BSON)] {
        var fields: [(String, BSON)] = []
        if let chainingAllowed { fields.append(("chainingAllowed", .bool(chainingAllowed))) }
        if let heartbeatIntervalMillis { fields.append(("heartbeatIntervalMillis", Self.number(heartbeatIntervalMillis))) }
        if let heartbeatTimeoutSecs { fields.append(("heartbeatTimeoutSecs", Self.number(heartbeatTimeoutSecs))) }
        if let electionTimeoutMillis { fields.append(("electionTimeoutMillis", Self.number(electionTimeoutMillis))) }
        if let catchUpTimeoutMillis { fields.append(("catchUpTimeoutMillis", Self.number(catchUpTimeoutMillis))) }
        if let catchUpTakeoverDelayMillis { fields.append(("catchUpTakeoverDelayMillis", Self.number(catchUpTakeoverDelayMillis))) }
        if let getLastErrorModes {
            let modes = getLastErrorModes.sorted { $0.key < $1.key }.map { mode in
                (mode.key, BSON.document(BSONDocument(mode.value.sorted { $0.key < $1.key }.map { ($0.key, Self.number($0.value)) })))
            }
            fields.append(("getLastErrorModes", .document(BSONDocument(modes))))
        }
        return fields
    }

    /// A number as mongod writes these settings (`safeInt64`): an int32 when it fits, else an
    /// int64. Never a trapping conversion: a spec may give any int64.
    static func number(_ value: Int) -> BSON {
        Int32(exactly: value).map(BSON.int32) ?? .int64(Int64(value))
    }

    /// `settings` with the given values set, the rest kept.
    public func applied(to settings: BSONDocument) -> BSONDocument {
        var result = settings
        for (key, value) in fields { result[key] = value }
        return result
    }

    /// The given settings whose value in `settings` differs, by name.
    public func mismatches(_ settings: BSONDocument) -> [String] {
        fields.compactMap { key, value in
            let current = settings[key]
            if current == value { return nil }
            // mongod may send numbers as int or long.
            if let wanted = value.intValue, current?.intValue == wanted { return nil }
            if case .document(let wanted) = value, case .document(let have)? = current, Self.sameModes(wanted, have) { return nil }
            return key
        }
    }

    private static func sameModes(_ a: BSONDocument, _ b: BSONDocument) -> Bool {
        func normalized(_ doc: BSONDocument) -> [String: [String: Int]] {
            var result: [String: [String: Int]] = [:]
            for mode in doc {
                var tags: [String: Int] = [:]
                for tag in mode.value.documentValue ?? [:] { tags[tag.key] = tag.value.intValue }
                result[mode.key] = tags
            }
            return result
        }
        return normalized(a) == normalized(b)
    }
}
