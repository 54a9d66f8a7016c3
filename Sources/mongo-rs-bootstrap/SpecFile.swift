import ReplicaSetBootstrap

/// A desired replica set read from `--config FILE`: YAML, or JSON (which YAML reads as well),
/// shaped like a Kubernetes custom resource's spec:
///
/// ```yaml
/// name: rs0
/// settings: {electionTimeoutMillis: 5000}
/// members:
///   - host: db-0.mongo:27017
///     priority: 2
///     tags: {zone: a}
///   - host: db-1.mongo:27017
///   - {host: db-2.mongo:27017, arbiterOnly: true}
/// ```
///
/// Reading is strict, as mongod's own config parser is: an unknown or mistyped field is an error
/// naming the file, the line and the field.
struct SpecFile {
    var name: String?
    var configsvr: Bool?
    var settings = ReplicaSetSettings()
    var members: [MemberSpec] = []

    static let topLevelKeys = ["name", "configsvr", "settings", "members"]
    static let memberKeys = ["host", "_id", "priority", "votes", "hidden", "arbiterOnly", "secondaryDelaySecs", "buildIndexes", "tags", "horizons"]
    static let settingKeys = ["chainingAllowed", "heartbeatIntervalMillis", "heartbeatTimeoutSecs", "electionTimeoutMillis",
                              "catchUpTimeoutMillis", "catchUpTakeoverDelayMillis", "getLastErrorModes"]

    /// `origin`: the option or the variable that named the file.
    static func load(path: String, origin: String) throws(InvalidInput) -> SpecFile {
        let source = "\(origin) \(path)"
        let bytes: [UInt8]
        switch FileContents.read(path) {
        case .success(let read): bytes = read
        case .failure(let failure): throw InvalidInput("\(source): cannot read the file (\(failure.reason))")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw InvalidInput("\(source): not UTF-8 text")
        }
        return try parse(text, source: source)
    }

    /// `source` names the file in messages: `--config rs0.yaml`.
    static func parse(_ text: String, source: String) throws(InvalidInput) -> SpecFile {
        let root: SpecYAML?
        do {
            root = try SpecYAML.parse(text)
        } catch {
            throw InvalidInput("\(source): \(error.description)")
        }
        let reader = Reader(source: source)
        guard let root, let mapping = root.mapping else {
            throw InvalidInput("\(source): expected a mapping with name, settings and members")
        }
        var spec = SpecFile()
        for (keyNode, value) in mapping {
            let key = try reader.key(keyNode, allowed: topLevelKeys, in: "the top level")
            switch key {
            case "name": spec.name = try reader.string(value, key)
            case "configsvr": spec.configsvr = try reader.bool(value, key)
            case "settings": spec.settings = try reader.settings(value)
            case "members":
                guard let sequence = value.sequence else { throw reader.error(value, "members: expected a list of members") }
                for (index, member) in sequence.enumerated() {
                    spec.members.append(try reader.member(member, path: "members[\(index)]"))
                }
            default: break
            }
        }
        return spec
    }

    /// Typed access to YAML nodes, with errors that name the file, line and field, what was
    /// found and what is valid. Keys are strings (`SpecYAML` refuses others).
    struct Reader {
        let source: String

        func error(_ node: SpecYAML, _ message: String) -> InvalidInput {
            InvalidInput("\(source):\(node.line): \(message)")
        }

        /// "FIELD: 'VALUE' is not WANTED (what YAML reads it as); ADVICE".
        func mismatch(_ node: SpecYAML, _ field: String, wanted: String, advice: String? = nil) -> InvalidInput {
            error(node, "\(field): \(node.shown) is not \(wanted)\(node.reason)" + (advice.map { "; \($0)" } ?? ""))
        }

        func key(_ node: SpecYAML, allowed: [String], in context: String) throws(InvalidInput) -> String {
            guard allowed.contains(node.text) else {
                throw error(node, "unknown field '\(node.text.printable(limit: 80))' in \(context); valid fields: \(allowed.joined(separator: ", "))")
            }
            return node.text
        }

        func string(_ node: SpecYAML, _ field: String) throws(InvalidInput) -> String {
            guard let text = node.string else {
                throw mismatch(node, field, wanted: "a string", advice: node.mapping == nil && node.sequence == nil ? "quote it to mean the text" : nil)
            }
            return text
        }

        func bool(_ node: SpecYAML, _ field: String) throws(InvalidInput) -> Bool {
            guard case .bool(let value) = node.value else { throw mismatch(node, field, wanted: "true or false", advice: "write true or false, unquoted") }
            return value
        }

        /// A whole number within mongod's range for the field (`ConfigLimits`), checked here
        /// so that the message names the line; nothing larger than the range reaches a config.
        func integer(_ node: SpecYAML, _ field: String, allowed: ClosedRange<Int>) throws(InvalidInput) -> Int {
            guard case .int(let value?) = node.value, allowed.contains(value) else {
                throw mismatch(node, field, wanted: "a whole number from \(allowed.lowerBound) to \(allowed.upperBound)", advice: unquoted(node))
            }
            return value
        }

        func number(_ node: SpecYAML, _ field: String, allowed: ClosedRange<Double>) throws(InvalidInput) -> Double {
            let value: Double? = switch node.value {
            case .int(let value?): Double(value)
            case .float(let value): value
            default: nil
            }
            guard let value, allowed.contains(value) else {
                throw mismatch(node, field, wanted: "a number from \(MemberOptions.text(priority: allowed.lowerBound)) to \(MemberOptions.text(priority: allowed.upperBound))", advice: unquoted(node))
            }
            return value
        }

        /// For a number written in quotes.
        private func unquoted(_ node: SpecYAML) -> String? {
            node.string != nil && !node.reason.isEmpty ? "write it unquoted" : nil
        }

        func stringMap(_ node: SpecYAML, _ field: String) throws(InvalidInput) -> [String: String] {
            guard let mapping = node.mapping else { throw error(node, "\(field): expected a mapping of names to strings") }
            var map: [String: String] = [:]
            for (key, value) in mapping {
                guard !key.text.isEmpty else { throw error(key, "\(field): empty name") }
                map[key.text] = try string(value, "\(field).\(key.text.printable(limit: 80))")
            }
            return map
        }

        func member(_ node: SpecYAML, path: String) throws(InvalidInput) -> MemberSpec {
            guard let mapping = node.mapping else {
                // A bare "host:port" entry is a member with defaults.
                if let text = node.string { return MemberSpec(host: try host(text, at: node, path)) }
                throw error(node, "\(path): expected a member (host, priority, votes, …)")
            }
            var member: MemberSpec?
            var fields: [(String, SpecYAML)] = []
            for (keyNode, value) in mapping {
                let key = try self.key(keyNode, allowed: SpecFile.memberKeys, in: path)
                if key == "host" {
                    member = MemberSpec(host: try host(try string(value, "\(path).host"), at: value, path))
                } else {
                    fields.append((key, value))
                }
            }
            guard var member else { throw error(node, "\(path): a member needs a host") }
            for (key, value) in fields {
                let field = "\(path).\(key)"
                switch key {
                case "_id": member.id = try integer(value, field, allowed: ConfigLimits.memberId)
                case "priority": member.priority = try number(value, field, allowed: ConfigLimits.priority)
                case "votes": member.votes = try integer(value, field, allowed: ConfigLimits.votes)
                case "hidden": member.hidden = try bool(value, field)
                case "arbiterOnly": member.arbiterOnly = try bool(value, field)
                case "secondaryDelaySecs": member.secondaryDelaySecs = try integer(value, field, allowed: ConfigLimits.secondaryDelaySecs)
                case "buildIndexes": member.buildIndexes = try bool(value, field)
                case "tags": member.tags = try stringMap(value, field)
                case "horizons": member.horizons = try stringMap(value, field)
                default: break
                }
            }
            return member
        }

        private func host(_ text: String, at node: SpecYAML, _ path: String) throws(InvalidInput) -> HostAddress {
            do {
                return try HostAddress(parsing: text)
            } catch {
                throw self.error(node, "\(path).host: \(error.message)")
            }
        }

        func settings(_ node: SpecYAML) throws(InvalidInput) -> ReplicaSetSettings {
            guard let mapping = node.mapping else { throw error(node, "settings: expected a mapping") }
            var settings = ReplicaSetSettings()
            for (keyNode, value) in mapping {
                let key = try self.key(keyNode, allowed: SpecFile.settingKeys, in: "settings")
                let field = "settings.\(key)"
                switch key {
                case "chainingAllowed": settings.chainingAllowed = try bool(value, field)
                case "heartbeatIntervalMillis": settings.heartbeatIntervalMillis = try integer(value, field, allowed: ConfigLimits.positiveSetting)
                case "heartbeatTimeoutSecs": settings.heartbeatTimeoutSecs = try integer(value, field, allowed: ConfigLimits.positiveSetting)
                case "electionTimeoutMillis": settings.electionTimeoutMillis = try integer(value, field, allowed: ConfigLimits.positiveSetting)
                case "catchUpTimeoutMillis": settings.catchUpTimeoutMillis = try integer(value, field, allowed: ConfigLimits.catchUpSetting)
                case "catchUpTakeoverDelayMillis": settings.catchUpTakeoverDelayMillis = try integer(value, field, allowed: ConfigLimits.catchUpSetting)
                case "getLastErrorModes":
                    guard let modes = value.mapping else { throw error(value, "\(field): expected mode names mapped to {tag: count}") }
                    var result: [String: [String: Int]] = [:]
                    for (modeKey, tags) in modes {
                        let mode = modeKey.text.printable(limit: 80)
                        guard let tagMapping = tags.mapping else { throw error(tags, "\(field).\(mode): expected {tag: count}") }
                        var counts: [String: Int] = [:]
                        for (tag, count) in tagMapping {
                            counts[tag.text] = try integer(count, "\(field).\(mode).\(tag.text.printable(limit: 80))", allowed: ConfigLimits.writeConcernCount)
                        }
                        result[modeKey.text] = counts
                    }
                    settings.getLastErrorModes = result
                default: break
                }
            }
            return settings
        }
    }
}
