import ArgumentParser
import CMongocLogHook
import ReplicaSetBootstrap
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// How the process reports, whatever ends it: the formats of stdout (`--output`) and stderr
/// (`--log-format`), known leniently from the raw arguments and environment before they are
/// parsed and exactly once they are; the error line and the one result document of every exit;
/// libmongoc's own log, routed into the progress log.
enum Reporting {
    struct Settings: Sendable, Equatable {
        var output: OutputFormat = .text
        var log: LogFormat = .text
        var quiet = false
        var debug = false
        /// `--timeout` as found before parsing (nil: not given or unreadable), to bound the
        /// process from its first moment.
        var timeout: Duration?
    }

    private static let current = Mutex(Settings())
    /// Values that must never be printed (passwords, key passphrases), hidden in libmongoc's log.
    private static let secrets = Mutex<[String]>([])
    /// When main started, for the elapsed time of lines outside the run.
    nonisolated(unsafe) private static var started = ContinuousClock.now

    static var settings: Settings {
        get { current.withLock { $0 } }
        set {
            current.withLock { $0 = newValue }
            // What a signal handler writes must follow.
            SignalSafeOutput.render()
        }
    }

    /// Called first thing in main.
    static func markStart() {
        started = .now
        SignalSafeOutput.markStart()
    }

    static var elapsed: Duration { started.duration(to: .now) }

    static func hide(_ values: [String]) {
        secrets.withLock { $0 += values.filter { !$0.isEmpty } }
    }

    // MARK: Before parsing

    /// The formats a run would use, read leniently: `--output json`, `--output=json`,
    /// `MONGO_RS_OUTPUT=json` (likewise `--log-format`, `--quiet`, `--debug`, `--timeout`); the
    /// command line wins, the last occurrence counts, anything unreadable is the default.
    /// `arguments` are normalized (`SpicaCompatibility`), so a `--password` value is never taken
    /// for an option.
    static func lenientSettings(_ arguments: [String], environment: Environment) -> Settings {
        let inputs: [any NamedInput] = [Inputs.output, Inputs.logFormat, Inputs.quiet, Inputs.debug, Inputs.timeout]
        var found: [String: String] = [:]
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--" { break }
            guard argument.hasPrefix("--") else { continue }
            let body = argument.dropFirst(2)
            let name = String(body.prefix { $0 != "=" })
            guard let input = inputs.first(where: { $0.name == name }) else { continue }
            if let equals = body.firstIndex(of: "=") {
                found[name] = String(body[body.index(after: equals)...])
            } else if input.kind == .flag {
                found[name] = "true"
            } else if index < arguments.count {
                found[name] = arguments[index]
                index += 1
            }
        }
        let from = Resolver(found: found, environment: environment)
        func value<Value>(_ input: Input<Value>) -> Value? { try? from.value(input) }
        return Settings(output: value(Inputs.output) ?? .text, log: value(Inputs.logFormat) ?? .text,
                        quiet: value(Inputs.quiet) ?? false, debug: value(Inputs.debug) ?? false, timeout: value(Inputs.timeout))
    }

    // MARK: Lines on stderr

    /// A line outside the run's progress: an error, a warning, libmongoc's log.
    static func line(_ line: ProgressLog.Line) {
        let settings = self.settings
        ProgressLog.write(line, elapsed: elapsed, format: settings.log, quiet: settings.quiet)
    }

    /// The error that ends the process: `mongo-rs-bootstrap: message` as text, or a JSON line.
    /// `text` replaces the text form (ArgumentParser's own, with the usage).
    static func error(_ message: String, event: String, text: String? = nil) {
        finished.store(true, ordering: .relaxed)
        switch settings.log {
        case .text: Terminal.err(text ?? "mongo-rs-bootstrap: \(message)")
        case .json: line(ProgressLog.Line(event: event, level: "error", message: message))
        }
    }

    /// Set once the result is reported (its error line, or its document or summary): what
    /// libmongoc logs while the connections are closed then (endSessions to a node that is gone)
    /// is shown with --debug only, so that the final message stays last.
    private static let finished = Atomic<Bool>(false)

    // MARK: The result on stdout

    /// The result document or text: at most one per process, whichever comes first of the run's
    /// own report and a signal handler's fixed one.
    static func result(_ text: String) {
        finished.store(true, ordering: .relaxed)
        guard SignalSafeOutput.claimResult() else { return }
        Terminal.out(text)
    }

    // MARK: Failures outside the run

    /// An exit that is no outcome of a run: bad input (64), an internal error (70).
    struct Failure: Error {
        var code: Int32
        var outcome: String
        var reason: String
        /// The stderr text when it is not `mongo-rs-bootstrap: reason` (ArgumentParser's).
        var text: String?
        var setName: String?
        var warnings: [String] = []

        static func badInput(_ reason: String, text: String? = nil) -> Failure {
            Failure(code: ExitStatus.badInput, outcome: "badInput", reason: reason,
                    text: text ?? "mongo-rs-bootstrap: \(reason)\nRun mongo-rs-bootstrap --help for the options.")
        }

        static func internalError(_ reason: String, setName: String?, warnings: [String]) -> Failure {
            Failure(code: ExitStatus.internalError, outcome: "internalError", reason: reason, setName: setName, warnings: warnings)
        }
    }

    /// Ends the process after an error thrown before or around the run: help, version and
    /// completion scripts as ArgumentParser prints them (exit 0); everything else reported as
    /// a failure, with its document on stdout for `--output json`.
    static func exit(after error: Error) -> Never {
        let failure: Failure
        if let known = error as? Failure {
            failure = known
        } else {
            let code = MongoRSBootstrap.exitCode(for: error).rawValue
            guard code != 0 else { MongoRSBootstrap.exit(withError: error) }
            // ArgumentParser's errors (the arguments are redacted before it sees a secret).
            let message = MongoRSBootstrap.message(for: error)
            failure = Failure(code: code, outcome: code == ExitStatus.badInput ? "badInput" : "internalError",
                              reason: message.isEmpty ? "exit \(code)" : message,
                              text: MongoRSBootstrap.fullMessage(for: error))
        }
        ResultReport(ending: .failed(outcome: failure.outcome, reason: failure.reason, text: failure.text),
                     exitCode: failure.code, setName: failure.setName, elapsed: elapsed, timeout: .zero,
                     actions: [], warnings: failure.warnings, security: nil).print(as: settings.output)
        ProcessExit.end(failure.code, closing: nil)
    }

    // MARK: libmongoc's log

    /// Routes libmongoc's log into the progress log from now on, first what it logged before
    /// main (its start-up warnings). Nothing of it reaches stderr raw.
    static func routeLibmongocLog() {
        Mongoc.keepLogHandler()
        mongoc_log_hook_set_sink { level, domain, message in
            Reporting.libmongoc(level: level, domain: domain.map { String(cString: $0) } ?? "",
                                message: message.map { String(cString: $0) } ?? "")
        }
    }

    static func libmongoc(level: Int32, domain: String, message: String) {
        let level = finished.load(ordering: .relaxed) ? max(level, 5) : level
        guard let line = libmongocLine(level: level, domain: domain, message: message, debug: settings.debug,
                                       secrets: secrets.withLock { $0 }),
              let occurrence = libmongocRepeats.withLock({ $0.occurrence(of: line.message, in: line.message) })
        else { return }
        self.line(line.counting(occurrence))
    }

    /// The same libmongoc message again and again (a warning for each connection closed under
    /// it) is shown its 1st, 2nd, 4th, 8th, … time, with its count.
    private static let libmongocRepeats = Mutex(RepeatedLines())

    /// libmongoc's message as a progress line, every secret (as is or percent-encoded) hidden;
    /// nil when it is not shown. mongoc_log_level_t: 0 error, 1 critical, 2 warning, 3 message,
    /// 4 info, 5 debug (shown with --debug), 6 trace (never: with tracing built in, libmongoc
    /// traces wire bytes, authentication payloads included).
    static func libmongocLine(level: Int32, domain: String, message: String, debug: Bool, secrets: [String]) -> ProgressLog.Line? {
        let name: String
        switch level {
        case 0, 1: name = "error"
        case 2: name = "warning"
        case 3, 4: name = "info"
        case 5 where debug: name = "debug"
        default: return nil
        }
        var text = message
        for secret in secrets {
            for form in [secret, percentEncoded(secret)] where text.contains(form) {
                text = text.replacing(form, with: SpicaCompatibility.hidden)
            }
        }
        var line = ProgressLog.Line(event: "libmongoc", level: name, message: "libmongoc \(domain): \(text)")
        line.fields.append(("domain", .string(domain)))
        return line
    }

    private static func percentEncoded(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            let plain = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || "-._~".utf8.contains(byte)
            if plain {
                result.append(Character(Unicode.Scalar(byte)))
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                result += "%" + (hex.count == 1 ? "0" : "") + hex
            }
        }
        return result
    }
}
