import MongoBSON

/// One entry of a replica-set config's `members` (`src/mongo/db/repl/member_config.{idl,cpp}`).
struct MemberConfig: Equatable, Sendable {
    var id: Int
    /// "host:port" with the port made explicit, as mongod stores it.
    var host: String
    var votes: Int64 = 1
    var priority: Double = 1
    var hidden = false
    var arbiterOnly = false
    var buildIndexes = true
    var secondaryDelaySecs: Int64 = 0
    var tags: BSONDocument?
    var horizons: BSONDocument?
    var newlyAdded = false

    init(id: Int, host: String) {
        self.id = id
        self.host = host
    }

    /// `MemberConfig::MemberConfig(const BSONObj&)`. Errors carry mongod's "member: {...}" context.
    /// The dialect decides which fields exist (`ServerVersion`).
    init(parsing document: BSONDocument, dialect: ServerVersion) throws(CommandError) {
        do {
            try self.init(fields: document, dialect: dialect)
        } catch {
            throw error.withContext("member: \(BSONText.render(document))")
        }
    }

    private init(fields document: BSONDocument, dialect: ServerVersion) throws(CommandError) {
        let reader = IDLReader(structName: "MemberConfig", document: document)
        var allowed: Set<String> = ["_id", "host", "votes", "priority", "hidden", "arbiterOnly", "buildIndexes", "tags", "horizons"]
        if dialect.addsNewlyAdded { allowed.insert("newlyAdded") }
        if dialect.acceptsSlaveDelay { allowed.insert("slaveDelay") }
        if dialect.acceptsSecondaryDelaySecs { allowed.insert("secondaryDelaySecs") }
        for key in document.keys where !allowed.contains(key) { throw dialect.unknownMemberField(key) }
        let idValue = try reader.required("_id")
        guard let id = idValue.intValue, id >= 0, id <= Int(Int32.max) else {
            throw CommandError(.badValue, "_id field value of \(BSONText.render(idValue)) is out of range.")
        }
        self.init(id: id, host: try HostAndPort.normalize(try reader.require("host", reader.string)))
        if let votes = try reader.safeInt64("votes") {
            try reader.check("votes", votes, ">=", 0, >=)
            try reader.check("votes", votes, "<=", 1, <=)
            self.votes = votes
        }
        if let added = document["newlyAdded"] {
            guard case .bool(let flag) = added else {
                throw CommandError(.typeMismatch, "BSON field 'MemberConfig.newlyAdded' is the wrong type '\(added.typeName)', expected type 'bool'")
            }
            guard flag else { throw CommandError(.badValue, "newlyAdded field must be true") }
            newlyAdded = true
        }
        if let priority = try reader.safeDouble("priority") {
            try reader.check("priority", priority, ">=", 0, >=)
            try reader.check("priority", priority, "<=", 1000, <=)
            self.priority = priority
        }
        hidden = try reader.safeBool("hidden") ?? false
        secondaryDelaySecs = try Self.delay(document, reader, dialect)
        arbiterOnly = try reader.safeBool("arbiterOnly") ?? false
        buildIndexes = try reader.safeBool("buildIndexes") ?? true
        tags = try reader.document("tags")
        if let tags {
            for element in tags where element.value.stringValue == nil {
                throw CommandError(.typeMismatch, "tags.\(element.key) field has non-string value of type \(element.value.typeName)")
            }
        }
        horizons = try reader.document("horizons")

        // The constructor's semantic checks, in mongod's order.
        if arbiterOnly {
            if priority == 1 { priority = 0 }
            if votes == 0 { throw CommandError(.badValue, "Arbiter must vote (cannot have 0 votes)") }
            if newlyAdded { throw CommandError(.badValue, "Arbiter cannot have newlyAdded field set") }
        }
        if priority != 0 {
            if votes == 0 { throw CommandError(.badValue, "priority must be 0 when non-voting (votes:0)") }
            if secondaryDelaySecs > 0 { throw CommandError(.badValue, "priority must be 0 when \(dialect.delayFieldName) is used") }
            if hidden { throw CommandError(.badValue, "priority must be 0 when hidden=true") }
            if !buildIndexes { throw CommandError(.badValue, "priority must be 0 when buildIndexes=false") }
        }
    }

    /// The member's delay in the dialect's field: 4.4's hand parser (`slaveDelay`: any number,
    /// range-checked in `MemberConfig::validate`), 5.0's two IDL fields of which one may be given
    /// (SERVER-50423), 6.0+'s `secondaryDelaySecs` alone (`member_config.idl`).
    private static func delay(_ document: BSONDocument, _ reader: IDLReader, _ dialect: ServerVersion) throws(CommandError) -> Int64 {
        if dialect == .v4_4 {
            guard let value = document["slaveDelay"] else { return 0 }
            guard let seconds = value.doubleValue else {
                throw CommandError(.typeMismatch, "slaveDelay field value has non-numeric type \(value.typeName)")
            }
            let delay = Int64(exactly: seconds.rounded(.towardZero)) ?? Int64.max
            guard (0...31_622_400).contains(delay) else {
                throw CommandError(.badValue, "slaveDelay field value of \(delay) seconds is out of range")
            }
            return delay
        }
        if document["slaveDelay"] != nil && document["secondaryDelaySecs"] != nil {
            throw CommandError(.badValue, "Cannot specify both secondaryDelaySecs and slaveDelay as fields in member configuration.")
        }
        let key = document["slaveDelay"] != nil ? "slaveDelay" : "secondaryDelaySecs"
        guard let delay = try reader.safeInt64(key) else { return 0 }
        try reader.check(key, delay, ">=", 0, >=)
        try reader.check(key, delay, "<=", 31_622_400, <=)
        return delay
    }

    /// `getNumVotes`/`getPriority`: a newly added member counts as votes 0, priority 0.
    var isVoter: Bool { votes != 0 && !newlyAdded }
    var effectivePriority: Double { newlyAdded ? 0 : priority }
    var isElectable: Bool { !arbiterOnly && effectivePriority > 0 }

    /// `MemberConfig::toBSON`, field order and types included (votes int, priority double,
    /// secondaryDelaySecs long, tags always present).
    func document(includeNewlyAdded: Bool, dialect: ServerVersion) -> BSONDocument {
        var doc: BSONDocument = ["_id": .int32(Int32(id)), "host": .string(host), "arbiterOnly": .bool(arbiterOnly)]
        if includeNewlyAdded && newlyAdded { doc.append("newlyAdded", true) }
        doc.append("buildIndexes", .bool(buildIndexes))
        doc.append("hidden", .bool(hidden))
        doc.append("priority", .double(priority))
        doc.append("tags", .document(tags ?? [:]))
        if let horizons { doc.append("horizons", .document(horizons)) }
        doc.append(dialect.delayFieldName, .int64(secondaryDelaySecs))
        doc.append("votes", .int32(votes != 0 ? 1 : 0))
        return doc
    }
}
