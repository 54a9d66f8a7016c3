import MongoBSON
import ReplicaSetBootstrap
import Synchronization

/// Writes progress to stderr: one line per state change, as text for people or JSON for log
/// collectors. An attempt that keeps failing the same way is shown on its 1st, 2nd, 4th, 8th, …
/// occurrence, with its count.
final class ProgressLog: Sendable {
    let format: LogFormat
    let quiet: Bool
    let debug: Bool
    private let repeated = Mutex(RepeatedAttempts())
    private let repeatedDebugLines = Mutex(RepeatedLines())

    init(format: LogFormat, quiet: Bool, debug: Bool) {
        self.format = format
        self.quiet = quiet
        self.debug = debug
    }

    struct Line {
        var event: String
        var level = "info"
        var node: HostAddress?
        var message: String
        var fields: [(String, BSON)] = []
    }

    func report(_ progress: Progress, elapsed: Duration) {
        guard let occurrence = repeated.withLock({ $0.occurrence(of: progress) }) else { return }
        write(Self.line(for: progress).counting(occurrence), elapsed: elapsed)
    }

    func note(_ message: String, elapsed: Duration = .zero, level: String = "info", event: String = "note") {
        write(Line(event: event, level: level, message: message), elapsed: elapsed)
    }

    /// A command sent (`stream` "→") or its answer ("←"). A node that answers the same way
    /// again and again (refusing connections, say: a few hundred reconnects a second) is shown
    /// like a repeated attempt: the 1st, 2nd, 4th, 8th, … time in a row, with its count.
    func debugLine(_ message: String, node: HostAddress, stream: String, elapsed: Duration) {
        guard debug else { return }
        let line = Line(event: "command", level: "debug", node: node, message: "\(stream) \(node) \(message)")
        guard let occurrence = repeatedDebugLines.withLock({ $0.occurrence(of: line.message, in: "\(stream) \(node)") }) else { return }
        write(line.counting(occurrence), elapsed: elapsed)
    }

    func write(_ line: Line, elapsed: Duration) {
        Self.write(line, elapsed: elapsed, format: format, quiet: quiet)
    }

    /// One line on stderr; with `quiet`, errors only.
    static func write(_ line: Line, elapsed: Duration, format: LogFormat, quiet: Bool) {
        if quiet && line.level != "error" { return }
        Terminal.err(render(line, elapsed: elapsed, format: format, time: Terminal.timestamp()))
    }

    /// `[  1.234s] message` (warnings and debug lines marked), or a JSON object with `time`,
    /// `elapsedMs`, `level`, `event`, `node` when there is one, `message` and the line's fields.
    static func render(_ line: Line, elapsed: Duration, format: LogFormat, time: String) -> String {
        switch format {
        case .text:
            let prefix = line.level == "debug" ? "debug " : line.level == "warning" ? "warning: " : ""
            return "[\(Self.seconds(elapsed))] \(prefix)\(line.message)"
        case .json:
            var document: BSONDocument = [
                "time": .string(time),
                "elapsedMs": .int64(elapsed.wholeMilliseconds),
                "level": .string(line.level),
                "event": .string(line.event),
            ]
            if let node = line.node { document["node"] = .string(node.description) }
            document["message"] = .string(line.message)
            for (key, value) in line.fields { document[key] = value }
            return document.relaxedExtendedJSON
        }
    }

    static func seconds(_ duration: Duration) -> String {
        let ms = duration.wholeMilliseconds
        let text = "\(ms / 1000).\(String(repeating: "0", count: 3 - String(ms % 1000).count))\(ms % 1000)s"
        return String(repeating: " ", count: max(0, 8 - text.count)) + text
    }

    static func line(for progress: Progress) -> Line {
        switch progress {
        case .unreachable(let host, let error):
            return Line(event: "unreachable", node: host, message: "\(host) unreachable: \(error.message); retrying",
                        fields: [("reason", .string(error.kindName))])
        case .classified(let host, let status):
            return Line(event: "node", node: host, message: "\(host): \(status)")
        case .initiating(let host, let config):
            return Line(event: "initiating", node: host,
                        message: "all \(config.members.count) nodes are fresh: replSetInitiate '\(config.name)' on \(host) with \(config.members.map(\.host.description).joined(separator: ", "))")
        case .initiated(let host):
            return Line(event: "initiated", node: host, message: "\(host) accepted replSetInitiate")
        case .alreadyInitialized(let host):
            return Line(event: "alreadyInitialized", node: host, message: "\(host) was initiated by someone else (AlreadyInitialized): observing again")
        case .initiateFailed(let host, let error, let retry):
            return Line(event: "initiateFailed", level: "warning", node: host,
                        message: "replSetInitiate on \(host) failed: \(error.message) (\(error.kindName)); retrying in \(DurationParsing.format(retry))")
        case .steppingUp(let host):
            return Line(event: "steppingUp", node: host, message: "\(host) is SECONDARY and there is no primary: replSetStepUp (instead of waiting out the election timeout)")
        case .stepUpFailed(let host, let error, let retry):
            return Line(event: "stepUpFailed", node: host,
                        message: "replSetStepUp on \(host): \(error.message) (\(error.kindName)); retrying in \(DurationParsing.format(retry))")
        case .primaryWritable(let host):
            return Line(event: "primary", node: host, message: "\(host) is PRIMARY and writable")
        case .recordedAs(let given, let recorded):
            return Line(event: "recordedAs", node: given, message: "\(given) is the member the set records as \(recorded): compared and written under that name")
        case .reconfiguring(let host, let change, let version):
            return Line(event: "reconfiguring", node: host, message: "replSetReconfig on \(host) to version \(version): \(change)")
        case .reconfigured(let host, let version):
            return Line(event: "reconfigured", node: host, message: "\(host) installed config version \(version); waiting for a majority of voters to commit it")
        case .awaitingCommitment(let host, let version):
            return Line(event: "awaitingCommitment", node: host, message: "\(host) installed config version \(version) but a majority has not committed it yet (MaxTimeMSExpired): waiting")
        case .reconfigFailed(let host, let error, let retry):
            return Line(event: "reconfigFailed", level: "warning", node: host,
                        message: "\(host): \(error.message) (\(error.kindName)); reading the config again in \(DurationParsing.format(retry))")
        case .steppingDown(let host, let reason):
            return Line(event: "steppingDown", node: host, message: "replSetStepDown on \(host): \(reason)")
        case .stepDownFailed(let host, let error, let retry):
            return Line(event: "stepDownFailed", level: "warning", node: host,
                        message: "replSetStepDown on \(host): \(error.message) (\(error.kindName)); looking again in \(DurationParsing.format(retry))")
        case .forcingReconfig(let host, let dropped, let config):
            return Line(event: "forcingReconfig", level: "warning", node: host,
                        message: "a majority of voters is lost: forcing config version \(config.version) on \(host) with \(config.members.map(\.host.description).joined(separator: ", ")), dropping \(dropped.map(\.description).joined(separator: ", "))")
        case .waiting(let what):
            return Line(event: "waiting", message: what)
        }
    }
}

extension ProgressLog.Line {
    /// The line for the `occurrence`th time it happened: from the 2nd on, with its count.
    func counting(_ occurrence: Int) -> Self {
        guard occurrence > 1 else { return self }
        var line = self
        line.message += " (\(occurrence) times so far; shown again at \(2 * occurrence))"
        line.fields.append(("occurrence", .int64(Int64(occurrence))))
        return line
    }
}

/// Thins out a stream of lines that repeat in a row: in each stream (a node's commands, its
/// answers), a line that differs from the one before is shown, and a line that repeats is shown
/// on its 2nd, 4th, 8th, … time in a row.
struct RepeatedLines {
    private var last: [String: (line: String, count: Int)] = [:]

    /// How many times in a row `line` has come in `stream`, or nil when this time is not shown.
    mutating func occurrence(of line: String, in stream: String) -> Int? {
        let count = last[stream].map { $0.line == line ? $0.count + 1 : 1 } ?? 1
        last[stream] = (line, count)
        return count & (count - 1) == 0 ? count : nil
    }
}

extension MongoError {
    /// A short name of what went wrong: mongod's codeName or the kind of network trouble.
    var kindName: String {
        switch kind {
        case .server(let code, let codeName): return "\(codeName) \(code)"
        case .nameNotResolved: return "name not resolved"
        case .connectionRefused: return "connection refused"
        case .networkFailure: return "network error"
        case .authentication: return "authentication failed"
        case .certificateRejected: return "certificate rejected"
        case .unexpectedReply: return "unexpected reply"
        case .invalidReply: return "reply no mongod sends"
        case .client: return "client error"
        }
    }
}
