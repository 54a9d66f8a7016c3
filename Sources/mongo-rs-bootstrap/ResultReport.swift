import MongoBSON
import ReplicaSetBootstrap

/// The result of a run, printed once: on stdout as text or one JSON document, and for failures a
/// line on stderr saying what was found on which node.
struct ResultReport {
    enum Ending {
        case outcome(Outcome)
        case interrupted(signal: Int32)
    }

    let ending: Ending
    let exitCode: Int32
    let setName: String
    let elapsed: Duration
    /// `--timeout`, to tell a deadline from connection attempts running out.
    let timeout: Duration
    let actions: [ActionRecord]
    let warnings: [String]
    let security: ConnectionSecurity

    func print(as format: OutputFormat) {
        if exitCode != ExitStatus.success { Terminal.error(failureLine) }
        switch format {
        case .text:
            if let text = textSummary { Terminal.out(text) }
        case .json:
            Terminal.out(json.relaxedExtendedJSON)
        }
    }

    private var failureLine: String {
        switch ending {
        case .interrupted(let signal):
            let actionsText = actions.isEmpty ? "nothing was written" : "sent: " + actions.map(\.description).joined(separator: "; ")
            return "interrupted by \(signal == 15 ? "SIGTERM" : "SIGINT") after \(DurationParsing.format(elapsed)); \(actionsText)"
        case .outcome(.refused(let refusal)):
            // A refusal met half-way through a plan: say what was already done.
            let sent = actions.isEmpty ? "" : ". Sent before that: " + actions.map(\.description).joined(separator: "; ")
            return "refused: \(refusal)\(sent)"
        case .outcome(.timedOut(let blockers)):
            let why = elapsed >= timeout
                ? "gave up at the --timeout of \(DurationParsing.format(timeout))"
                : "gave up after \(DurationParsing.format(elapsed)): --max-retry-connection attempts ran out"
            return "\(why): " + blockers.map(\.description).joined(separator: "; ")
        case .outcome(.notAuthorized(let error)):
            return "access denied: \(AccessDenied.explain(error, security: security))"
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
            lines.append(summary.actions.isEmpty ? "nothing to change: the set already matched" : "done: " + summary.actions.map(\.description).joined(separator: "; "))
            lines += summary.recordedNames.sorted { $0.key < $1.key }.map { "note: --nodes \($0.key) is the member the set records as \($0.value)" }
            lines += summary.notes.map { "note: \($0)" }
            return lines.joined(separator: "\n")
        case .planned(let plan):
            var lines = ["dry run for '\(plan.setName)': nothing was written", "observed:"]
            lines += plan.observed.map { "  \($0)" }
            lines.append("requested (options not given: mongod's defaults for new members, kept for existing ones):")
            lines += plan.desired.map { "  \($0)" }
            if plan.steps.isEmpty {
                lines.append("would do nothing: the set already matches and has a writable primary")
            } else {
                lines.append("would do:")
                lines += plan.steps.enumerated().map { "  \($0.offset + 1). \($0.element)" }
            }
            lines += plan.notes.map { "note: \($0)" }
            return lines.joined(separator: "\n")
        case .refused, .timedOut, .notAuthorized:
            return nil
        }
    }

    var json: BSONDocument {
        var document: BSONDocument = ["replicaSet": .string(setName)]
        switch ending {
        case .interrupted(let signal):
            document["outcome"] = "interrupted"
            document["signal"] = .string(signal == 15 ? "SIGTERM" : "SIGINT")
        case .outcome(.converged(let summary)):
            document["outcome"] = "converged"
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
            document["notes"] = .array(summary.notes.map { .string($0) })
        case .outcome(.planned(let plan)):
            document["outcome"] = "planned"
            document["observed"] = .array(plan.observed.map { .document(["host": .string($0.host.description), "status": .string($0.status)]) })
            document["requested"] = .array(plan.desired.map { .string($0) })
            document["steps"] = .array(plan.steps.map { .string($0.description) })
            document["notes"] = .array(plan.notes.map { .string($0) })
        case .outcome(.refused(let refusal)):
            document["outcome"] = "refused"
            document["reason"] = .string(refusal.description)
        case .outcome(.timedOut(let blockers)):
            document["outcome"] = "timedOut"
            document["missing"] = .array(blockers.map { .string($0.description) })
        case .outcome(.notAuthorized(let error)):
            document["outcome"] = "notAuthorized"
            document["reason"] = .string(AccessDenied.explain(error, security: security))
        }
        document["exitCode"] = .int32(exitCode)
        document["actions"] = .array(actions.map { record in
            .document([
                "command": .string(record.commandName), "node": .string(record.host.description),
                "ok": .bool(record.error == nil && !record.pending), "pending": .bool(record.pending),
                "error": record.error.map { .string($0.message) } ?? .null,
            ])
        })
        document["warnings"] = .array(warnings.map { .string($0) })
        document["elapsedMs"] = .int64(elapsed.totalMilliseconds)
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
