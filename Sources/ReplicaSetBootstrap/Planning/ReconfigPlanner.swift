/// Plans the safe way from a running set's committed config to the desired spec: reconfigs that
/// each pass mongod's non-force rules (`ReconfigRules`) and change at most one voter, with a
/// step-down first where the primary itself must go or become unelectable. Pure: the same config,
/// primary and spec give the same plan, so a caller re-plans from whatever config it reads next
/// (with a planner made once by `pinningNewMembers(from:)` from the config it started from).
public struct ReconfigPlanner: Sendable {
    public let spec: ReplicaSetSpec
    public let removeMembers: Bool

    public init(spec: ReplicaSetSpec, removeMembers: Bool) {
        self.spec = spec
        self.removeMembers = removeMembers
    }

    /// The next step from the committed config `current` whose primary is `primary`; nil when
    /// `current` already satisfies the spec (and, with removeMembers, has no members the spec
    /// lacks), or when no safe plan reaches it: `obstacle(from:primary:)` says why.
    public func nextStep(from current: ReplicaSetConfig, primary: HostAddress) -> ReconfigStep? {
        steps(from: current, primary: primary).first
    }

    /// Every step, each applied to the result of the previous, for --dry-run. After a stepDown the
    /// plan assumes the first electable member in sorted host order other than the old primary
    /// becomes primary. Empty when there is nothing to do or no safe plan (nothing is half done).
    public func steps(from current: ReplicaSetConfig, primary: HostAddress) -> [ReconfigStep] {
        guard !isSatisfied(by: current), targetProblem(from: current) == nil else { return [] }
        return plan(from: State(config: current, primary: primary)) ?? []
    }

    /// Why the spec cannot be reached from `current` by safe reconfigs, or nil when it can (or
    /// already is): the config it needs would break mongod's rules, or no safe order exists.
    public func obstacle(from current: ReplicaSetConfig, primary: HostAddress) -> String? {
        guard !isSatisfied(by: current) else { return nil }
        if let problem = targetProblem(from: current) { return problem }
        let state = State(config: current, primary: primary)
        let search = explore(from: state)
        guard search.plan == nil else { return nil }
        if pinningNewMembers(from: current).plan(from: state) != nil {
            return "a new member must join with priority 0 and get its priority in a later step (the PSA rule): give its priority in the spec, or plan with pinningNewMembers(from:)"
        }
        // What mongod refuses where the search came closest, e.g. removing the only member with a
        // tag that settings.getLastErrorModes uses, which the spec leaves as it is.
        let closest = search.closest
        let refused = edits(from: closest.config).lazy.compactMap { edit -> String? in
            var next = closest.config
            next.version += 1
            edit.apply(to: &next)
            let violation = ReconfigRules.violation(from: closest.config, to: next, primary: closest.primary, force: false)
            return violation.map { "\(edit.describe(in: closest.config)) is refused: \($0)" }
        }.first
        return "no order of safe reconfigs (one voter at a time, the primary electable) leads to the desired config" + (refused.map { "; \($0)" } ?? "")
    }

    /// The planner with the options of every member that `current` lacks, or must re-add, stated
    /// in full (mongod's defaults where the spec leaves them open). Make it once, from the config
    /// the reconciliation starts from: a member that joins with priority 0 first (the PSA rule)
    /// then still gets its priority when the plan is re-made from a later config.
    public func pinningNewMembers(from current: ReplicaSetConfig) -> ReconfigPlanner {
        var spec = spec
        for (index, member) in spec.members.enumerated() {
            if let existing = current.member(member.host), !member.changesRole(of: existing.options) { continue }
            let o = member.resolvedOptions
            spec.members[index] = MemberSpec(host: member.host, id: member.id, priority: o.priority, votes: o.votes, arbiterOnly: o.arbiterOnly,
                                             hidden: o.hidden, secondaryDelaySecs: o.secondaryDelaySecs, buildIndexes: o.buildIndexes,
                                             tags: o.tags, horizons: o.horizons)
        }
        return ReconfigPlanner(spec: spec, removeMembers: removeMembers)
    }

    /// Whether `config` has everything the spec asks for (and nothing else, with removeMembers).
    public func isSatisfied(by config: ReplicaSetConfig) -> Bool {
        let difference = spec.difference(from: config)
        return difference.satisfiesSpec && (!removeMembers || difference.extra.isEmpty)
    }

    // MARK: - Edits toward the spec

    /// What separates `config` from the spec, as edits. A member whose `arbiterOnly` or
    /// `buildIndexes` must change is removed here and, once gone, added as a new member.
    func edits(from config: ReplicaSetConfig) -> [ConfigEdit] {
        var edits: [ConfigEdit] = []
        let taken = Set(config.members.map(\.id))
        // A spec `_id` is used when free; other new members get the next number after the highest.
        let claimed = Set(spec.members.filter { config.member($0.host) == nil }.compactMap(\.id).filter { !taken.contains($0) })
        var nextId = (taken.max() ?? -1) + 1
        func freshId() -> Int {
            while claimed.contains(nextId) { nextId += 1 }
            defer { nextId += 1 }
            return nextId
        }
        for member in spec.members {
            guard let existing = config.member(member.host) else {
                let id = member.id.flatMap { claimed.contains($0) ? $0 : nil } ?? freshId()
                edits.append(.add(.init(id: id, host: member.host, options: member.resolvedOptions)))
                continue
            }
            let options = member.applied(to: existing.options)
            if member.changesRole(of: existing.options) {
                edits.append(.remove(member.host, reason: "to re-add it with arbiterOnly \(options.arbiterOnly), buildIndexes \(options.buildIndexes) (mongod cannot change them in place)"))
            } else if options != existing.options {
                edits.append(.update(member.host, options))
            }
        }
        if removeMembers {
            edits += config.members.filter { spec.member($0.host) == nil }.map { .remove($0.host) }
        }
        let settings = spec.settings.mismatches(config.settings)
        if !settings.isEmpty { edits.append(.settings(spec.settings.applied(to: config.settings), names: settings)) }
        return edits
    }

    /// Why the config the spec leads to would be invalid, or could not be reached from `config`.
    func targetProblem(from config: ReplicaSetConfig) -> String? {
        var target = config
        for edit in edits(from: config) { edit.apply(to: &target) }
        // Members removed to change arbiterOnly or buildIndexes come back.
        for edit in edits(from: target) { edit.apply(to: &target) }
        if let problem = target.problem {
            let kept = spec.difference(from: config).extra
            let hint = removeMembers || kept.isEmpty ? "" : " (members not in the spec are kept: \(kept.map(\.description).joined(separator: ", ")); --remove-members removes them)"
            return "the desired config breaks mongod's rules: \(problem)\(hint)"
        }
        if let from = config.members.first, let to = target.members.first, from.host.isLocalhost != to.host.isLocalhost {
            return "the set cannot move between localhost and other hosts by reconfig: every config on the way would mix them"
        }
        return nil
    }
}

extension ReplicaSetConfig {
    /// Who the plan assumes becomes primary after `host` steps down: the first electable
    /// member in sorted host order.
    func successor(of host: HostAddress) -> HostAddress? {
        members.filter { $0.host != host && $0.options.isElectable }.map(\.host).min()
    }
}

extension MemberSpec {
    /// `options` with what this spec specifies; what it leaves nil stays.
    func applied(to options: MemberOptions) -> MemberOptions {
        var result = options
        if let priority { result.priority = priority }
        if let votes { result.votes = votes }
        if let arbiterOnly { result.arbiterOnly = arbiterOnly }
        if let hidden { result.hidden = hidden }
        if let secondaryDelaySecs { result.secondaryDelaySecs = secondaryDelaySecs }
        if let buildIndexes { result.buildIndexes = buildIndexes }
        if let tags { result.tags = tags }
        if let horizons { result.horizons = horizons }
        return result
    }

    /// Whether `options` must change `arbiterOnly` or `buildIndexes`, which needs a remove and a re-add.
    func changesRole(of options: MemberOptions) -> Bool {
        let wanted = applied(to: options)
        return wanted.arbiterOnly != options.arbiterOnly || wanted.buildIndexes != options.buildIndexes
    }
}
