import MongoBSON
import ReplicaSetBootstrap

/// The result of the process, printed once whatever ends it: on stdout as text or one JSON
/// document, and for failures a line on stderr saying what was found on which node.
struct ResultReport {
    enum Ending {
        case outcome(Outcome)
        case interrupted(signal: Int32)
        /// No outcome of a run: bad input (64) or an internal error (70). `text` replaces the
        /// stderr line in text form.
        case failed(outcome: String, reason: String, text: String?)
    }

    let ending: Ending
    let exitCode: Int32
    /// Nil when the input was not read (yet).
    let setName: String?
    let elapsed: Duration
    /// `--timeout`, to tell a deadline from connection attempts running out.
    let timeout: Duration
    let actions: [ActionRecord]
    let warnings: [String]
    let security: ConnectionSecurity?

    func print(as format: OutputFormat) {
        if exitCode != ExitStatus.success {
            if case .failed(let outcome, let reason, let text) = ending {
                Reporting.error(reason, event: outcome, text: text)
            } else {
                Reporting.error(failureLine, event: outcomeName)
            }
        }
        switch format {
        case .text:
            if let text = textSummary { Reporting.result(text) }
        case .json:
            Reporting.result(json.relaxedExtendedJSON)
        }
    }

    private var failureLine: String {
        switch ending {
        case .interrupted(let signal):
            let actionsText = actions.isEmpty ? "nothing was written" : "sent: " + FoldedAction.fold(actions).map(\.description).joined(separator: "; ")
            return "interrupted by \(signal == 15 ? "SIGTERM" : "SIGINT") after \(DurationParsing.format(elapsed)); \(actionsText)"
        case .outcome(.refused(let refusal)):
            // A refusal met half-way through a plan: say what was already done.
            let sent = actions.isEmpty ? "" : ". Sent before that: " + FoldedAction.fold(actions).map(\.description).joined(separator: "; ")
            return "refused: \(refusal)\(sent)"
        case .outcome(.timedOut(let blockers)):
            let why = elapsed >= timeout
                ? "gave up at the --timeout of \(DurationParsing.format(timeout))"
                : "gave up after \(DurationParsing.format(elapsed)): --max-retry-connection attempts ran out"
            return "\(why): " + blockers.map(\.description).joined(separator: "; ")
        case .outcome(.notAuthorized(let error)):
            return "access denied: \(explain(error))"
        case .failed(_, let reason, _):
            return reason
        case .outcome(.converged), .outcome(.planned):
            return ""
        }
    }

    private var textSummary: String? {
        guard case .outcome(let outcome) = ending else { return nil }
        switch outcome {
        case .converged(let summary):
            var lines = ["\(summary.setName): primary \(summary.primary), config version \(summary.configVersion), \(summary.members.count) members, \(DurationParsing.format(elapsed))"]
            for member in summary.members {
                let state = member.state?.rawValue ?? "unreachable"
                let role = member.arbiterOnly ? "arbiter" : "votes \(member.votes), priority \(MemberOptions.text(priority: member.priority))"
                lines.append("  \(member.host)  \(state)  (\(role))")
            }
            lines.append(summary.actions.isEmpty ? "nothing to change: the set already matched" : "done: " + FoldedAction.fold(summary.actions).map(\.description).joined(separator: "; "))
            lines += summary.recordedNames.sorted { $0.key < $1.key }.map { "note: --nodes \($0.key) is the member the set records as \($0.value)" }
            lines += Self.notes(summary.notes, kept: summary.keptMembers).map { "note: \($0)" }
            return lines.joined(separator: "\n")
        case .planned(let plan):
            var lines = ["dry run for '\(plan.setName)': nothing was written", "observed:"]
            lines += plan.observed.map { "  \($0.host): \($0.observation)" }
            lines.append("requested (options not given: mongod's defaults for new members, kept for existing ones):")
            lines += plan.requested.map { "  \($0.text)" }
            if plan.steps.isEmpty {
                lines.append("would do nothing: the set already matches and has a writable primary")
            } else {
                lines.append("would do:")
                lines += plan.steps.enumerated().map { "  \($0.offset + 1). \($0.element)" }
            }
            lines += Self.notes(plan.notes, kept: plan.keptMembers).map { "note: \($0)" }
            return lines.joined(separator: "\n")
        case .refused, .timedOut, .notAuthorized:
            return nil
        }
    }

    /// The notes of a summary or a plan: the spec's, then the members kept.
    static func notes(_ notes: [String], kept: [HostAddress]) -> [String] {
        guard !kept.isEmpty else { return notes }
        return notes + ["kept \(kept.map(\.description).joined(separator: ", ")): in the set's config but not requested (--remove-members would remove them)"]
    }

    private func explain(_ error: MongoError) -> String {
        security.map { AccessDenied.explain(error, security: $0) } ?? error.message
    }

    /// The `outcome` field.
    var outcomeName: String {
        switch ending {
        case .interrupted: return "interrupted"
        case .failed(let outcome, _, _): return outcome
        case .outcome(.converged): return "converged"
        case .outcome(.planned): return "planned"
        case .outcome(.refused): return "refused"
        case .outcome(.timedOut): return "timedOut"
        case .outcome(.notAuthorized): return "notAuthorized"
        }
    }

    /// Every document has `replicaSet`, `outcome`, `exitCode`, `actions` (left out only where a
    /// signal handler cannot know them), `warnings` and `elapsedMs`; the rest depends on the
    /// outcome.
    static func document(setName: String?, outcome: String, fields: BSONDocument, exitCode: Int32, actions: [ActionRecord]?,
                         warnings: [String], elapsedMs: Int64) -> BSONDocument {
        var document: BSONDocument = ["replicaSet": setName.map { .string($0) } ?? .null, "outcome": .string(outcome)]
        for element in fields { document[element.key] = element.value }
        document["exitCode"] = .int32(exitCode)
        if let actions { document["actions"] = .array(FoldedAction.fold(actions).map { .document($0.json) }) }
        document["warnings"] = .array(warnings.map { .string($0) })
        document["elapsedMs"] = .int64(elapsedMs)
        return document
    }

    var json: BSONDocument {
        Self.document(setName: setName, outcome: outcomeName, fields: fields, exitCode: exitCode, actions: actions,
                      warnings: warnings, elapsedMs: elapsed.wholeMilliseconds)
    }

    private var fields: BSONDocument {
        var document: BSONDocument = [:]
        switch ending {
        case .interrupted(let signal):
            document["signal"] = .string(signal == 15 ? "SIGTERM" : "SIGINT")
            document["reason"] = .string(failureLine)
        case .failed(_, let reason, _):
            document["reason"] = .string(reason)
        case .outcome(.converged(let summary)):
            document["primary"] = .string(summary.primary.description)
            document["configVersion"] = .int64(Int64(summary.configVersion))
            document["members"] = .array(summary.members.map { member in
                .document([
                    "host": .string(member.host.description), "_id": .int64(Int64(member.id)),
                    "state": member.state.map { .string($0.rawValue) } ?? .null,
                    "votes": .int64(Int64(member.votes)), "priority": .double(member.priority),
                    "arbiterOnly": .bool(member.arbiterOnly),
                ])
            })
            document["recordedAs"] = .document(BSONDocument(summary.recordedNames.sorted { $0.key < $1.key }.map { ($0.key.description, .string($0.value.description)) }))
            document["notes"] = .array(Self.notes(summary.notes, kept: summary.keptMembers).map { .string($0) })
        case .outcome(.planned(let plan)):
            document["observed"] = .array(plan.observed.map { .document($0.json) })
            document["requested"] = .array(plan.requested.map { .document($0.json) })
            document["steps"] = .array(plan.steps.map { .string($0.description) })
            document["notes"] = .array(Self.notes(plan.notes, kept: plan.keptMembers).map { .string($0) })
        case .outcome(.refused(let refusal)):
            document["reason"] = .string(refusal.description)
        case .outcome(.timedOut(let blockers)):
            document["missing"] = .array(blockers.map { .string($0.description) })
        case .outcome(.notAuthorized(let error)):
            document["reason"] = .string(explain(error))
        }
        return document
    }
}

extension NodeReport {
    /// `status`: notReached, unreachable, noConfig, fresh, removed, member, standalone, mongos or
    /// newWithoutUsers (no config, and the set's users not there yet);
    /// `setName`, `state`, `configVersion` for a member; `error` for an unreachable node;
    /// `description` in words.
    var json: BSONDocument {
        var setName: BSON = .null, state: BSON = .null, version: BSON = .null, error: BSON = .null
        let kind: String
        switch observation {
        case .notReached: kind = "notReached"
        case .unreachable(let failure):
            kind = "unreachable"
            error = .string(failure.message.isEmpty ? failure.kindName : failure.message)
        case .noConfig: kind = "noConfig"
        case .known(.fresh): kind = "fresh"
        case .known(.removed): kind = "removed"
        case .known(.standalone): kind = "standalone"
        case .known(.mongos): kind = "mongos"
        case .known(.newWithoutUsers): kind = "newWithoutUsers"
        case .known(.member(let name, let configVersion, let memberState)):
            kind = "member"
            setName = .string(name)
            state = .string(memberState.rawValue)
            version = configVersion.map { .int64(Int64($0)) } ?? .null
        }
        return ["host": .string(host.description), "status": .string(kind), "setName": setName, "state": state,
                "configVersion": version, "error": error, "description": .string(observation.description)]
    }
}

extension RequestedMember {
    var json: BSONDocument {
        var document: BSONDocument = [
            "host": .string(host.description), "votes": .int64(Int64(options.votes)), "priority": .double(options.priority),
            "hidden": .bool(options.hidden), "arbiterOnly": .bool(options.arbiterOnly),
            "secondaryDelaySecs": .int64(Int64(options.secondaryDelaySecs)), "buildIndexes": .bool(options.buildIndexes),
            "tags": .document(BSONDocument(options.tags.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
        ]
        if !options.horizons.isEmpty {
            document["horizons"] = .document(BSONDocument(options.horizons.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))
        }
        return document
    }
}

/// The same write command sent to the same node several times in a row (an initiate retried
/// while the others are not yet up, a step-up that loses an election): one entry with the count
/// and each distinct result, instead of one entry per attempt.
struct FoldedAction {
    /// The command as sent, without its result.
    var command: ActionRecord
    var count: Int
    /// The distinct results in the order first seen; the last attempt's is `last`.
    var results: [(result: Result, count: Int)]
    var last: ActionRecord

    enum Result: Hashable {
        case ok
        case pending
        /// The node answered with an error (a refusal) or the command failed on the way, with these words.
        case failed(refused: Bool, message: String)

        init(_ record: ActionRecord) {
            if record.pending { self = .pending } else if let error = record.error {
                self = .failed(refused: error.serverCode != nil, message: error.message)
            } else { self = .ok }
        }
    }

    static func fold(_ records: [ActionRecord]) -> [FoldedAction] {
        var folded: [FoldedAction] = []
        for record in records {
            var command = record
            command.error = nil
            command.pending = false
            let result = Result(record)
            if var current = folded.last, current.command == command {
                current.count += 1
                current.last = record
                if let index = current.results.firstIndex(where: { $0.result == result }) {
                    current.results[index].count += 1
                } else {
                    current.results.append((result, 1))
                }
                folded[folded.count - 1] = current
            } else {
                folded.append(FoldedAction(command: command, count: 1, results: [(result, 1)], last: record))
            }
        }
        return folded
    }

    /// One attempt as before; repeats as `replSetInitiate on X ×17 (16 refused: …; 1 ok)`.
    var description: String {
        guard count > 1 else { return last.description }
        let results = self.results.map { result, count in
            switch result {
            case .ok: return "\(count) ok"
            case .pending: return "\(count) sent, no answer yet (it may have taken effect)"
            case .failed(let refused, let message): return "\(count) \(refused ? "refused" : "failed"): \(message)"
            }
        }
        return "\(command.description) ×\(count) (\(results.joined(separator: "; ")))"
    }

    /// The last attempt's result as before (`ok`, `pending`, `error`), with `count` and the
    /// distinct `results`.
    var json: BSONDocument {
        func fields(_ result: Result) -> BSONDocument {
            switch result {
            case .ok: return ["ok": true, "pending": false, "error": .null]
            case .pending: return ["ok": false, "pending": true, "error": .null]
            case .failed(_, let message): return ["ok": false, "pending": false, "error": .string(message)]
            }
        }
        var document: BSONDocument = ["command": .string(last.commandName), "node": .string(last.host.description)]
        for element in fields(Result(last)) { document[element.key] = element.value }
        document["count"] = .int64(Int64(count))
        document["results"] = .array(results.map { result, count in
            var entry: BSONDocument = ["count": .int64(Int64(count))]
            for element in fields(result) { entry[element.key] = element.value }
            return .document(entry)
        })
        return document
    }
}

extension ActionRecord {
    var commandName: String {
        switch command {
        case .initiate: return "replSetInitiate"
        case .stepUp: return "replSetStepUp"
        case .reconfig: return "replSetReconfig"
        case .stepDown: return "replSetStepDown"
        }
    }
}

extension RequestedMember {
    /// `db-0.mongo:27017: votes 1, priority 2, hidden, tags zone:a`, for the dry run's text.
    var text: String {
        let role = options.arbiterOnly ? "arbiter"
            : "votes \(options.votes), priority \(MemberOptions.text(priority: options.priority))" + (options.hidden ? ", hidden" : "")
                + (options.secondaryDelaySecs > 0 ? ", delay \(options.secondaryDelaySecs)s" : "") + (options.buildIndexes ? "" : ", no index builds")
        let tags = options.tags.isEmpty ? "" : ", tags \(options.tags.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: " "))"
        return "\(host): \(role)\(tags)"
    }
}
