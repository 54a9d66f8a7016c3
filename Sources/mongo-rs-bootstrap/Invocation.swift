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
    /// With `--from-srv`: the name and settings only, until `discovered(_:notes:)` adds the
    /// members.
    var spec: ReplicaSetSpec
    /// `--from-srv true`: where the members are to be found.
    var discovery: Discovery?
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
    var removeMembers: Bool
    var renameMembers: Bool
    var forceReconfig: Bool
    var initiateStrategy: BootstrapStateMachine.InitiateStrategy
    var reconnect: Backoff
    var reconnectAfterRefusal: Backoff
    var security: ConnectionSecurity
    var warnings: [String]

    static let timeoutRange: ClosedRange<Duration> = .milliseconds(1)...(.seconds(86400))
    static let defaultTimeout: Duration = .seconds(300)
    static let connectTimeoutRange: ClosedRange<Duration> = .milliseconds(1)...(.seconds(300))
    static let waitBeforeRetryRange: ClosedRange<Duration> = .milliseconds(1)...(.seconds(3600))

    init(_ options: MongoRSBootstrap, environment: Environment) throws(InvalidInput) {
        warnings = []
        let from = Resolver(environment: environment)

        try Self.checkStandardInputReaders(options, from: from)
        let fromSRV = try from.bool(options.fromSRV, env: "MONGO_RS_FROM_SRV", option: "--from-srv") ?? false
        let nodeArguments = try from.list(options.nodes, env: "MONGO_RS_NODES", option: "--nodes")
        security = try ConnectionSecurity(options, from: from)
        warnings += security.warnings
        let arbiters = try from.list(options.arbiters, env: "MONGO_RS_ARBITERS", option: "--arbiter")
        let hidden = try from.list(options.hidden, env: "MONGO_RS_HIDDEN", option: "--hidden")
        let memberOptions: [(option: MemberOption, origin: String, items: [String])] = [
            (.priority, from.origin(options.priorities, env: "MONGO_RS_PRIORITIES", option: "--priority"),
             try from.list(options.priorities, env: "MONGO_RS_PRIORITIES", option: "--priority")),
            (.votes, from.origin(options.votes, env: "MONGO_RS_VOTES", option: "--votes"),
             try from.list(options.votes, env: "MONGO_RS_VOTES", option: "--votes")),
            (.tag, from.origin(options.tags, env: "MONGO_RS_TAGS", option: "--tag"),
             try from.list(options.tags, env: "MONGO_RS_TAGS", option: "--tag")),
        ]
        let file = try from.string(options.config, env: "MONGO_RS_CONFIG").map { path throws(InvalidInput) in try SpecFile.load(path: path) }
        let name = from.string(options.replicaSet, env: "MONGO_RS_REPLICA_SET")
        let service = from.string(options.service, env: "MONGO_RS_SERVICE")
        let replicas = try from.integer(options.replicas, env: "MONGO_RS_REPLICAS", option: "--replicas", allowed: 1...ReplicaSetSpec.maxMembers)
        let hostname = from.string(options.hostname, env: "MONGO_RS_HOSTNAME")
        if fromSRV {
            let memberSources = [("--nodes", !nodeArguments.isEmpty), ("--arbiter", !arbiters.isEmpty), ("--hidden", !hidden.isEmpty)]
                + memberOptions.map { ("--\($0.option)", !$0.items.isEmpty) } + [("members in the --config file", !(file?.members.isEmpty ?? true))]
            if let (given, _) = memberSources.first(where: \.1) {
                throw InvalidInput("--from-srv true takes the members from DNS, so \(given) cannot name them: every discovered member joins with the defaults. Give the members with --nodes instead, or leave out \(given)")
            }
            guard let replicas else {
                throw InvalidInput("--from-srv true needs --replicas N (or MONGO_RS_REPLICAS), the StatefulSet's replicas: a run that saw fewer members than will exist would make a smaller set. For example --from-srv true --service mongo --replicas 3")
            }
            let serviceName: ServiceName
            if let service {
                try ServiceDiscovery.validateDNSName(service, option: options.service != nil ? "--service" : "MONGO_RS_SERVICE")
                serviceName = .given(service)
            } else {
                let own = hostname ?? Self.ownHostname
                try ServiceDiscovery.validateDNSName(own, option: hostname == nil ? "this host's name" : options.hostname != nil ? "--hostname" : "MONGO_RS_HOSTNAME")
                serviceName = .derived(fromHostname: own)
            }
            discovery = Discovery(serviceName: serviceName, replicas: replicas, file: file, name: name)
            if let fileName = file?.name, let name, fileName != name {
                throw InvalidInput("--replica-set '\(name)' differs from the name '\(fileName)' in the --config file: give one")
            }
            spec = ReplicaSetSpec(name: name ?? file?.name ?? "rs0", members: [], settings: file?.settings ?? ReplicaSetSettings(), configsvr: file?.configsvr)
            try ReplicaSetSpec.validateName(spec.name)
            notes = []
        } else {
            for (option, given) in [("--service", service != nil), ("--replicas", replicas != nil)] where given {
                throw InvalidInput("\(option) is used only with --from-srv true, which finds the members in DNS; with --nodes, leave it out")
            }
            let givesMembers = !nodeArguments.isEmpty || !arbiters.isEmpty || !hidden.isEmpty || file != nil
            guard givesMembers else {
                throw InvalidInput("no nodes given: pass --nodes host[:port],... (or set MONGO_RS_NODES), a --config file, or --from-srv true --service NAME --replicas N; for example --nodes db-0.mongo:27017,db-1.mongo:27017,db-2.mongo:27017")
            }
            discovery = nil
            (spec, notes) = try Self.assembleSpec(file: file, nodes: nodeArguments, name: name, arbiters: arbiters, hidden: hidden, memberOptions: memberOptions)
            if hostname != nil {
                // Spica used it only to find its service for --from-srv.
                warnings.append("--hostname is only used with --from-srv true and is ignored")
            }
        }

        timeout = try from.duration(options.timeout, env: "MONGO_RS_TIMEOUT", option: "--timeout", allowed: Self.timeoutRange) ?? Self.defaultTimeout
        connectTimeout = try from.duration(options.connectTimeout, env: "MONGO_RS_CONNECT_TIMEOUT", option: "--connect-timeout", allowed: Self.connectTimeoutRange) ?? .seconds(2)
        waitFor = try from.choice(options.waitFor, env: "MONGO_RS_WAIT_FOR", option: "--wait-for") ?? .primary
        logFormat = try from.choice(options.logFormat, env: "MONGO_RS_LOG_FORMAT", option: "--log-format") ?? .text
        output = try from.choice(options.output, env: "MONGO_RS_OUTPUT", option: "--output") ?? .text
        let dryRunFromEnvironment = try from.bool(nil, env: "MONGO_RS_DRY_RUN", option: "--dry-run") ?? false
        let quietFromEnvironment = try from.bool(nil, env: "MONGO_RS_QUIET", option: "--quiet") ?? false
        dryRun = options.dryRun || dryRunFromEnvironment
        quiet = options.quiet || quietFromEnvironment
        let removeFromEnvironment = try from.bool(nil, env: "MONGO_RS_REMOVE_MEMBERS", option: "--remove-members") ?? false
        let forceFromEnvironment = try from.bool(nil, env: "MONGO_RS_FORCE_RECONFIG", option: "--force-reconfig") ?? false
        removeMembers = options.removeMembers || removeFromEnvironment
        let renameFromEnvironment = try from.bool(nil, env: "MONGO_RS_RENAME_MEMBERS", option: "--rename-members") ?? false
        renameMembers = options.renameMembers || renameFromEnvironment
        forceReconfig = options.forceReconfig || forceFromEnvironment
        initiateStrategy = try from.choice(options.initiateStrategy, env: "MONGO_RS_INITIATE_STRATEGY", option: "--initiate-strategy") ?? .full
        debug = try from.bool(options.debug, env: "MONGO_RS_DEBUG", option: "--debug") ?? false
        if quiet && debug { throw InvalidInput("--quiet and --debug contradict each other: give one") }

        // Spica's retry flags keep their meaning: attempts to reach a node, seconds apart.
        reconnect = BootstrapStateMachine.Configuration.defaultReconnect
        reconnectAfterRefusal = BootstrapStateMachine.Configuration.defaultReconnectAfterRefusal
        // A plain number is seconds, as Spica's `--wait-before-retry` took it.
        if let wait = try from.duration(options.waitBeforeRetry, env: "MONGO_RS_WAIT_BEFORE_RETRY", option: "--wait-before-retry", allowed: Self.waitBeforeRetryRange) {
            reconnect = .fixed(wait)
            reconnectAfterRefusal = .fixed(wait)
        }
        maxConnectionAttempts = try from.integer(options.maxRetryConnection, env: "MONGO_RS_MAX_RETRY_CONNECTION", option: "--max-retry-connection", allowed: 1...1_000_000)
        if let bypass = try from.bool(options.bypassQuorumCheck, env: "MONGO_RS_BYPASS_QUORUM_CHECK", option: "--bypass-quorum-check"), bypass {
            warnings.append("--bypass-quorum-check is accepted for compatibility and ignored: mongo-rs-bootstrap never bypasses mongod's quorum check (Spica's controller never read it either)")
        }
    }

    /// Where `--from-srv` finds the members, and what the spec is made of once they are found.
    struct Discovery {
        var serviceName: ServiceName
        var replicas: Int
        var file: SpecFile?
        var name: String?
    }

    /// The invocation with the members `--from-srv` found. A set mongod would refuse (a mix of
    /// localhost and other names, say) is the Service's records' fault, not the command line's.
    func discovered(_ members: [HostAddress], notes discoveryNotes: [String]) throws(InvalidInput) -> Invocation {
        var result = self
        (result.spec, result.notes) = try Self.assembleSpec(file: discovery?.file, nodes: members.map(\.description), name: discovery?.name,
                                                            arbiters: [], hidden: [], memberOptions: [])
        result.notes = discoveryNotes + result.notes
        return result
    }

    /// This host's name (`gethostname`), Spica's default for `--hostname`.
    static var ownHostname: String {
        var name = [CChar](repeating: 0, count: 256)
        guard gethostname(&name, name.count - 1) == 0 else { return "" }
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Standard input can be read once: at most one file input may be `/dev/stdin`.
    private static func checkStandardInputReaders(_ options: MongoRSBootstrap, from: Resolver) throws(InvalidInput) {
        // (--password makes the tool ignore MONGO_RS_PASSWORD_FILE.)
        let inputs = [(options.config, "--config", "MONGO_RS_CONFIG"),
                      (options.passwordFile, "--password-file", options.password == nil ? "MONGO_RS_PASSWORD_FILE" : nil),
                      (options.tlsCertificateKeyFilePasswordFile, "--tls-certificate-key-file-password-file",
                       "MONGO_RS_TLS_CERTIFICATE_KEY_FILE_PASSWORD_FILE")]
        let readers = inputs.compactMap { argument, option, env -> String? in
            let path = argument ?? env.flatMap { from.environment[$0] }
            return path == FileContents.standardInput ? (argument != nil ? option : env) : nil
        }
        if readers.count > 1 {
            throw InvalidInput("\(readers.joined(separator: " and ")) \(readers.count == 2 ? "both" : "all") name \(FileContents.standardInput), which can be read only once: give all but one as regular files")
        }
    }

    /// The desired set from the spec file, then `--nodes`, then the member options; members 8
    /// and up whose votes are left open become non-voting. Validated with mongod's rules.
    enum MemberOption { case priority, votes, tag }

    static func assembleSpec(
        file: SpecFile?, nodes: [String], name: String?, arbiters: [String], hidden: [String],
        memberOptions: [(option: MemberOption, origin: String, items: [String])]
    ) throws(InvalidInput) -> (ReplicaSetSpec, [String]) {
        if let fileName = file?.name, let name, fileName != name {
            throw InvalidInput("--replica-set '\(name)' differs from the name '\(fileName)' in the --config file: give one")
        }
        var spec = ReplicaSetSpec(name: name ?? file?.name ?? "rs0", members: file?.members ?? [],
                                  settings: file?.settings ?? ReplicaSetSettings(), configsvr: file?.configsvr)
        func index(of host: HostAddress, adding: Bool) -> Int? {
            if let found = spec.members.firstIndex(where: { $0.host == host }) { return found }
            guard adding else { return nil }
            spec.members.append(MemberSpec(host: host))
            return spec.members.count - 1
        }
        var listed: Set<HostAddress> = []
        for node in nodes {
            let host = try HostAddress(parsing: node)
            if let earlier = listed.first(where: { $0 == host }) {
                throw InvalidInput("\(earlier) and \(host) are one member listed twice in --nodes (names compare without case; host and host:27017 are the same member)")
            }
            listed.insert(host)
            _ = index(of: host, adding: true)
        }
        for text in arbiters {
            let member = index(of: try HostAddress(parsing: text), adding: true)!
            spec.members[member].arbiterOnly = true
        }
        for text in hidden {
            let member = index(of: try HostAddress(parsing: text), adding: true)!
            spec.members[member].hidden = true
            if spec.members[member].priority == nil { spec.members[member].priority = 0 }
        }
        for (option, origin, items) in memberOptions {
            for item in items {
                guard let equals = item.firstIndex(of: "=") else {
                    throw InvalidInput("\(origin) '\(item)': expected host=\(option == .tag ? "key:value" : "value")")
                }
                let host = try HostAddress(parsing: String(item[..<equals]))
                let value = String(item[item.index(after: equals)...])
                guard let member = index(of: host, adding: false) else {
                    throw InvalidInput("\(origin) '\(item)': \(host) is not a member; list it in --nodes or the --config file")
                }
                switch option {
                case .priority:
                    guard let priority = Double(value), ConfigLimits.priority.contains(priority) else { throw InvalidInput("\(origin) '\(item)': '\(value)' is not a number from 0 to 1000") }
                    spec.members[member].priority = priority
                case .votes:
                    guard let count = Int(value) else { throw InvalidInput("\(origin) '\(item)': '\(value)' is not 0 or 1") }
                    spec.members[member].votes = count
                case .tag:
                    guard let colon = value.firstIndex(of: ":"), colon != value.startIndex else {
                        throw InvalidInput("\(origin) '\(item)': expected host=key:value")
                    }
                    spec.members[member].tags = (spec.members[member].tags ?? [:]).merging([String(value[..<colon]): String(value[value.index(after: colon)...])]) { $1 }
                }
            }
        }
        let (limited, notes) = spec.limitingVoters()
        try limited.validate()
        return (limited, notes)
    }

    var machineConfiguration: BootstrapStateMachine.Configuration {
        BootstrapStateMachine.Configuration(
            spec: spec, notes: notes, dryRun: dryRun, waitFor: waitFor, removeMembers: removeMembers, renameMembers: renameMembers,
            forceReconfig: forceReconfig, initiateStrategy: initiateStrategy, reconnect: reconnect,
            reconnectAfterRefusal: reconnectAfterRefusal,
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
    func list(_ arguments: [String], env: String, option: String) throws(InvalidInput) -> [String] {
        let sources: [(text: String, origin: String)] = arguments.isEmpty
            ? (environment[env].map { [($0, env)] } ?? [])
            : arguments.map { ($0, option) }
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

    /// Where a list option's values come from, for messages.
    func origin(_ arguments: [String], env: String, option: String) -> String {
        arguments.isEmpty && environment[env] != nil ? env : option
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
