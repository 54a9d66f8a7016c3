import ReplicaSetBootstrap

#if canImport(Glibc)
import Glibc
#endif

enum LogFormat: String, CaseIterable {
    case text, json
}

enum OutputFormat: String, CaseIterable {
    case text, json
}

/// Everything a run needs, validated: built from the command line and the environment before any
/// node is contacted. Each failure names the input and says what is valid (exit 64).
struct Invocation {
    var spec: ReplicaSetSpec
    var notes: [String]
    var timeout: Duration
    var connectTimeout: Duration
    var waitFor: BootstrapStateMachine.WaitFor
    var dryRun: Bool
    var logFormat: LogFormat
    var output: OutputFormat
    var debug: Bool
    var quiet: Bool
    var maxConnectionAttempts: Int?
    var reconnect: Backoff
    var warnings: [String]

    static let timeoutRange: ClosedRange<Duration> = .milliseconds(1)...(.seconds(86400))
    static let connectTimeoutRange: ClosedRange<Duration> = .milliseconds(1)...(.seconds(300))
    static let waitBeforeRetryRange: ClosedRange<Duration> = .milliseconds(1)...(.seconds(3600))

    init(_ options: MongoRSBootstrap, environment: Environment) throws(InvalidInput) {
        warnings = []
        let from = Resolver(environment: environment)

        let fromSRV = try from.bool(options.fromSRV, env: "MONGO_RS_FROM_SRV", option: "--from-srv") ?? false
        let nodeArguments = try from.list(options.nodes, env: "MONGO_RS_NODES")
        if fromSRV {
            throw InvalidInput("--from-srv true: discovering members from DNS SRV records is not supported; list them with --nodes host[:port],...")
        }
        guard !nodeArguments.isEmpty else {
            throw InvalidInput("no nodes given: pass --nodes host[:port],... (or set MONGO_RS_NODES), for example --nodes db-0.mongo:27017,db-1.mongo:27017,db-2.mongo:27017")
        }
        var hosts: [HostAddress] = []
        for argument in nodeArguments {
            hosts.append(try HostAddress(parsing: argument))
        }
        let name = from.string(options.replicaSet, env: "MONGO_RS_REPLICA_SET") ?? "rs0"
        (spec, notes) = try ReplicaSetSpec.plain(name: name, nodes: hosts)

        timeout = try from.duration(options.timeout, env: "MONGO_RS_TIMEOUT", option: "--timeout", allowed: Self.timeoutRange) ?? .seconds(300)
        connectTimeout = try from.duration(options.connectTimeout, env: "MONGO_RS_CONNECT_TIMEOUT", option: "--connect-timeout", allowed: Self.connectTimeoutRange) ?? .seconds(2)
        waitFor = try from.choice(options.waitFor, env: "MONGO_RS_WAIT_FOR", option: "--wait-for") ?? .primary
        logFormat = try from.choice(options.logFormat, env: "MONGO_RS_LOG_FORMAT", option: "--log-format") ?? .text
        output = try from.choice(options.output, env: "MONGO_RS_OUTPUT", option: "--output") ?? .text
        let dryRunFromEnvironment = try from.bool(nil, env: "MONGO_RS_DRY_RUN", option: "--dry-run") ?? false
        let quietFromEnvironment = try from.bool(nil, env: "MONGO_RS_QUIET", option: "--quiet") ?? false
        dryRun = options.dryRun || dryRunFromEnvironment
        quiet = options.quiet || quietFromEnvironment
        debug = try from.bool(options.debug, env: "MONGO_RS_DEBUG", option: "--debug") ?? false
        if quiet && debug { throw InvalidInput("--quiet and --debug contradict each other: give one") }

        // Spica's retry flags keep their meaning: attempts to reach a node, seconds apart.
        reconnect = Backoff(initial: .milliseconds(5), maximum: .milliseconds(100))
        if let wait = try from.seconds(options.waitBeforeRetry, env: "MONGO_RS_WAIT_BEFORE_RETRY", option: "--wait-before-retry", allowed: Self.waitBeforeRetryRange) {
            reconnect = .fixed(wait)
        }
        maxConnectionAttempts = try from.integer(options.maxRetryConnection, env: "MONGO_RS_MAX_RETRY_CONNECTION", option: "--max-retry-connection", allowed: 1...1_000_000)
        if let bypass = try from.bool(options.bypassQuorumCheck, env: "MONGO_RS_BYPASS_QUORUM_CHECK", option: "--bypass-quorum-check"), bypass {
            warnings.append("--bypass-quorum-check is accepted for compatibility and ignored: mongo-rs-bootstrap never bypasses mongod's quorum check (Spica's controller never read it either)")
        }
        if let hostname = from.string(options.hostname, env: "MONGO_RS_HOSTNAME") {
            _ = hostname  // Only --from-srv used it.
            warnings.append("--hostname is only used with --from-srv and is ignored")
        }
    }

    var machineConfiguration: BootstrapStateMachine.Configuration {
        BootstrapStateMachine.Configuration(
            spec: spec, notes: notes, dryRun: dryRun, waitFor: waitFor, reconnect: reconnect,
            maxConnectionAttempts: maxConnectionAttempts, seed: UInt64.random(in: .min ... .max))
    }
}

/// Command line first, then the environment: one place that reads both and names the source of a
/// bad value.
struct Resolver {
    let environment: Environment

    func string(_ argument: String?, env: String) -> String? {
        argument ?? environment[env]
    }

    /// List options: repeated, comma or white-space separated; the environment variable likewise.
    func list(_ arguments: [String], env: String) throws(InvalidInput) -> [String] {
        let sources: [(text: String, origin: String)] = arguments.isEmpty
            ? (environment[env].map { [($0, env)] } ?? [])
            : arguments.map { ($0, "--nodes") }
        var items: [String] = []
        for source in sources {
            let pieces = source.text.split(omittingEmptySubsequences: false) { $0 == "," }
            for (offset, piece) in pieces.enumerated() {
                let words = piece.split { $0 == " " || $0 == "\t" || $0 == "\n" }
                if words.isEmpty {
                    // "a,,b" or a trailing comma: say where, rather than guessing.
                    if pieces.count == 1 { throw InvalidInput("\(source.origin): empty value; give host[:port],...") }
                    throw InvalidInput("\(source.origin) '\(source.text)': empty host at position \(offset + 1) (two commas, or a comma at an end)")
                }
                items.append(contentsOf: words.map(String.init))
            }
        }
        return items
    }

    func bool(_ argument: String?, env: String, option: String) throws(InvalidInput) -> Bool? {
        if let argument { return try SpicaCompatibility.parseBool(argument, name: option) }
        if let value = environment[env] { return try SpicaCompatibility.parseBool(value, name: env) }
        return nil
    }

    func duration(_ argument: String?, env: String, option: String, allowed: ClosedRange<Duration>) throws(InvalidInput) -> Duration? {
        if let argument { return try DurationParsing.parse(argument, name: option, allowed: allowed) }
        if let value = environment[env] { return try DurationParsing.parse(value, name: env, allowed: allowed) }
        return nil
    }

    /// A plain number of seconds, as Spica's `--wait-before-retry`; units are accepted too.
    func seconds(_ argument: String?, env: String, option: String, allowed: ClosedRange<Duration>) throws(InvalidInput) -> Duration? {
        try duration(argument, env: env, option: option, allowed: allowed)
    }

    func integer(_ argument: String?, env: String, option: String, allowed: ClosedRange<Int>) throws(InvalidInput) -> Int? {
        guard let (text, origin) = argument.map({ ($0, option) }) ?? environment[env].map({ ($0, env) }) else { return nil }
        guard let value = Int(text.trimmingCharacters(in: " ")), allowed.contains(value) else {
            throw InvalidInput("\(origin): '\(text)' is not a whole number from \(allowed.lowerBound) to \(allowed.upperBound)")
        }
        return value
    }

    func choice<Choice: RawRepresentable & CaseIterable>(_ argument: String?, env: String, option: String) throws(InvalidInput) -> Choice? where Choice.RawValue == String {
        guard let (text, origin) = argument.map({ ($0, option) }) ?? environment[env].map({ ($0, env) }) else { return nil }
        guard let value = Choice(rawValue: text.lowercased()) else {
            let valid = Choice.allCases.map(\.rawValue).joined(separator: " or ")
            throw InvalidInput("\(origin): '\(text)' is not valid; give \(valid)")
        }
        return value
    }
}


/// The process environment; empty values count as unset.
struct Environment {
    private let values: [String: String]

    init(_ values: [String: String]) {
        self.values = values
    }

    static var current: Environment {
        var values: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                values[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return Environment(values)
    }

    subscript(name: String) -> String? {
        guard let value = values[name], !value.isEmpty else { return nil }
        return value
    }
}
