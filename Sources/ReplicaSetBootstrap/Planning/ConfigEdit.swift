import MongoBSON

/// One change a reconfig makes to a config: the unit the planner combines into steps.
enum ConfigEdit: Hashable {
    case add(ReplicaSetConfig.Member, note: String? = nil)
    /// `reason` says why, when the member stays desired (it is re-added after).
    case remove(HostAddress, reason: String? = nil)
    case update(HostAddress, MemberOptions)
    case settings(BSONDocument, names: [String])

    /// Whether the edit adds or removes a voter of `config`, the change mongod allows once per reconfig.
    func changesVoters(in config: ReplicaSetConfig) -> Bool {
        switch self {
        case .add(let member, _): member.options.isVoter
        case .remove(let host, _): config.member(host)?.options.isVoter ?? false
        case .update(let host, let options): config.member(host)?.options.isVoter != options.isVoter
        case .settings: false
        }
    }

    /// The member the edit is about; nil for settings.
    var host: HostAddress? {
        switch self {
        case .add(let member, _): member.host
        case .remove(let host, _), .update(let host, _): host
        case .settings: nil
        }
    }

    /// Whether the edit changes `settings.getLastErrorModes`, which constrains members' tags.
    var setsWriteConcernModes: Bool {
        if case .settings(_, let names) = self { names.contains("getLastErrorModes") } else { false }
    }

    /// Whether the edit gives a vote (an addition or votes 0 → 1) rather than taking one.
    var givesVote: Bool {
        switch self {
        case .add(let member, _): member.options.isVoter
        case .update(_, let options): options.isVoter
        default: false
        }
    }

    /// The same edit with priority 0, for the PSA rule: a second data-bearing voter joins
    /// unelectable and gets its priority in a later step.
    var withoutPriority: ConfigEdit? {
        switch self {
        case .add(var member, _) where member.options.priority > 0:
            let priority = member.options.priority
            member.options.priority = 0
            return .add(member, note: "priority \(priority.shortDescription) in a later step (PSA rule)")
        case .update(let host, var options) where options.priority > 0:
            options.priority = 0
            return .update(host, options)
        default:
            return nil
        }
    }

    func apply(to config: inout ReplicaSetConfig) {
        switch self {
        case .add(let member, _): config.members.append(member)
        case .remove(let host, _): config.members.removeAll { $0.host == host }
        case .update(let host, let options):
            if let index = config.members.firstIndex(where: { $0.host == host }) { config.members[index].options = options }
        case .settings(let settings, _): config.settings = settings
        }
    }

    /// What the edit does to `config`, for progress lines and `--dry-run`.
    func describe(in config: ReplicaSetConfig) -> String {
        switch self {
        case .add(let member, let note):
            return "add \(member.host) (\(member.options.summary)\(note.map { "; \($0)" } ?? ""))"
        case .remove(let host, let reason):
            return "remove \(host)\(reason.map { " \($0)" } ?? "")"
        case .update(let host, let options):
            let before = config.member(host)?.options ?? MemberOptions()
            return "\(host): " + options.changes(from: before).joined(separator: ", ")
        case .settings(_, let names):
            return "settings " + names.joined(separator: ", ")
        }
    }
}

extension MemberOptions {
    /// Votes and priority, then what differs from mongod's defaults.
    var summary: String {
        var parts = ["votes \(votes)", "priority \(priority.shortDescription)"]
        if arbiterOnly { parts.insert("arbiter", at: 0) }
        parts += changes(from: MemberOptions(priority: priority, votes: votes, arbiterOnly: arbiterOnly))
        return parts.joined(separator: ", ")
    }

    /// "name old → new" for every option that differs from `other`.
    func changes(from other: MemberOptions) -> [String] {
        func sorted(_ map: [String: String]) -> String {
            "{" + map.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        }
        let fields: [(String, String, String)] = [
            ("priority", other.priority.shortDescription, priority.shortDescription), ("votes", "\(other.votes)", "\(votes)"),
            ("hidden", "\(other.hidden)", "\(hidden)"), ("secondaryDelaySecs", "\(other.secondaryDelaySecs)", "\(secondaryDelaySecs)"),
            ("buildIndexes", "\(other.buildIndexes)", "\(buildIndexes)"), ("tags", sorted(other.tags), sorted(tags)),
            ("horizons", sorted(other.horizons), sorted(horizons)),
        ]
        return fields.filter { $0.1 != $0.2 }.map { "\($0.0) \($0.1) → \($0.2)" }
    }
}

extension Double {
    /// 1 rather than 1.0: priorities are usually whole.
    var shortDescription: String { rounded() == self && abs(self) < 1e15 ? "\(Int(self))" : "\(self)" }
}
