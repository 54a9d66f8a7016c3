/// The search for a plan: steps that mongod's non-force rules accept, tried in order of
/// preference, depth first.
extension ReconfigPlanner {
    struct State: Hashable {
        var config: ReplicaSetConfig
        var primary: HostAddress

        /// The state as the search compares them: versions differ by the path taken.
        var withoutVersion: Self {
            var state = self
            state.config.version = 0
            return state
        }
    }

    /// The plan from `state`: a depth-first search that tries the preferred step first, so the
    /// plan is the greedy one unless it runs into a dead end (such as adding a secondary before
    /// removing a second arbiter, which the PSA rule then forbids). Nil if no plan is found within
    /// the search budget.
    func plan(from state: State) -> [ReconfigStep]? {
        explore(from: state).plan
    }

    private struct Search {
        var visited: Set<State>
        var budget = 400
        /// The state with the fewest edits left, for the message when there is no plan.
        var closest: State
        var fewestEdits = Int.max
    }

    func explore(from state: State) -> (plan: [ReconfigStep]?, closest: State) {
        var search = Search(visited: [state.withoutVersion], closest: state)
        // Each member needs at most a removal, an addition and an update, plus step-downs.
        let depth = 4 * (state.config.members.count + spec.members.count) + 8
        let plan = explore(from: state, depth: depth, &search)
        return (plan, search.closest)
    }

    private func explore(from state: State, depth: Int, _ search: inout Search) -> [ReconfigStep]? {
        if isSatisfied(by: state.config) { return [] }
        guard depth > 0, search.budget > 0 else { return nil }
        search.budget -= 1
        let left = edits(from: state.config).count
        if left < search.fewestEdits { (search.closest, search.fewestEdits) = (state, left) }
        for step in candidates(from: state) {
            let next = state.after(step)
            guard search.visited.insert(next.withoutVersion).inserted else { continue }
            if let rest = explore(from: next, depth: depth - 1, &search) { return [step] + rest }
        }
        return nil
    }

    /// Valid next steps, lazily, in order of preference. Each takes at most one voter edit
    /// (additions before removals, so the set keeps its fault tolerance; at 7 voters an addition
    /// is invalid and a removal comes first) and as many other edits as stay valid with it,
    /// first without new write concern modes (modes over a tag that only a member to be re-added
    /// carries would block its removal); then each voter edit alone, in case another edit blocks
    /// a later one; a step-down last, as only the primary's own edits may need it.
    private func candidates(from state: State) -> some Sequence<ReconfigStep> {
        let config = state.config
        let edits = edits(from: config)
        let voterEdits = edits.filter { $0.changesVoters(in: config) }
        let others = edits.filter { !$0.changesVoters(in: config) }
        let adding = voterEdits.filter(\.givesVote)
        let ordered = adding + voterEdits.filter { !adding.contains($0) }
        // Write concern modes wait for the voter changes, unless they must come with one.
        let modesLater = others.filter { !$0.setsWriteConcernModes }
        let flavors = ordered.isEmpty || modesLater == others ? [others] : [modesLater, others]
        enum Choice { case edits(ConfigEdit?, others: [ConfigEdit]), stepDown }
        let choices = (ordered + [nil]).flatMap { voterEdit in flavors.map { Choice.edits(voterEdit, others: $0) } }
            + (flavors.contains([]) ? [] : ordered.map { Choice.edits($0, others: []) }) + [.stepDown]
        return choices.lazy.compactMap { choice in
            switch choice {
            case .edits(let voterEdit, let others):
                self.variants(of: voterEdit).lazy.compactMap { self.step(from: state, voterEdit: $0, others: others) }.first
            case .stepDown:
                self.stepDown(from: state, edits: edits)
            }
        }
    }

    /// The edit, then for the PSA rule the same with priority 0, when the spec states the priority:
    /// only then is the raise that must follow still part of the desire when the plan is re-made
    /// from the next config (see `pinningNewMembers(from:)`).
    private func variants(of edit: ConfigEdit?) -> [ConfigEdit?] {
        guard let detour = edit?.withoutPriority, let host = edit?.host, spec.member(host)?.priority != nil else { return [edit] }
        return [edit, detour]
    }

    /// A valid reconfig with `voterEdit` and all of `others`, or as many of them as stay valid.
    private func step(from state: State, voterEdit: ConfigEdit?, others: [ConfigEdit]) -> ReconfigStep? {
        let base = voterEdit.map { [$0] } ?? []
        if let step = reconfig(from: state, edits: base + others) { return step }
        guard voterEdit == nil || reconfig(from: state, edits: base) != nil else { return nil }
        var chosen = base
        var remaining = others
        // An edit may become valid once another is in (tags before the modes that use them).
        while let index = remaining.firstIndex(where: { reconfig(from: state, edits: chosen + [$0]) != nil }) {
            chosen.append(remaining.remove(at: index))
        }
        return chosen.isEmpty ? nil : reconfig(from: state, edits: chosen)
    }

    /// The reconfig applying `edits`, if mongod's non-force rules accept it from this state.
    private func reconfig(from state: State, edits: [ConfigEdit]) -> ReconfigStep? {
        guard !edits.isEmpty else { return nil }
        var next = state.config
        next.version += 1
        for edit in edits { edit.apply(to: &next) }
        guard ReconfigRules.violation(from: state.config, to: next, primary: state.primary, force: false) == nil else { return nil }
        return .reconfig(next, change: edits.map { $0.describe(in: state.config) }.joined(separator: "; "))
    }

    /// A step-down when an edit removes the primary or makes it unelectable, and another member
    /// can take over.
    private func stepDown(from state: State, edits: [ConfigEdit]) -> ReconfigStep? {
        let primary = state.primary
        let reason = edits.lazy.compactMap { edit -> String? in
            switch edit {
            case .remove(primary, let reason): "it is to be removed" + (reason.map { " \($0)" } ?? "")
            case .update(primary, let options) where !options.isElectable: "it is to become unelectable (\(options.summary))"
            default: nil
            }
        }.first
        guard let reason, state.config.successor(of: primary) != nil else { return nil }
        return .stepDown(primary, reason: reason)
    }
}

extension ReconfigPlanner.State {
    func after(_ step: ReconfigStep) -> Self {
        switch step {
        case .reconfig(let config, _):
            return .init(config: config, primary: primary)
        case .stepDown(let old, _):
            return .init(config: config, primary: config.successor(of: old) ?? old)
        }
    }
}
