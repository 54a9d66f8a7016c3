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
    var waitFor: ReplicaSetStateMachine.WaitFor
    var dryRun: Bool
    var logFormat: LogFormat
    var output: OutputFormat
    var debug: Bool
    var quiet: Bool
    var maxConnectionAttempts: Int?
    var removeMembers: Bool
    var renameMembers: Bool
    var forceReconfig: Bool
    var initiateStrategy: ReplicaSetStateMachine.InitiateStrategy
    var reconnect: Backoff
    var reconnectAfterRefusal: Backoff
    var security: ConnectionSecurity
    var warnings: [String]

    static let defaultTimeout: Duration = .seconds(300)

    init(_ options: MongoRSBootstrap, environment: Environment) throws(InvalidInput) {
        warnings = []
        let from = Resolver(options, environment: environment)

        try Self.checkStandardInputReaders(from)
        let fromSRV = try from.value(Inputs.fromSRV) ?? false
        let nodeArguments = try from.list(Inputs.nodes)
        security = try ConnectionSecurity(from)
        warnings += security.warnings
        let arbiters = try from.list(Inputs.arbiters)
        let hidden = try from.list(Inputs.hidden)
        let memberOptions: [(option: MemberOption, origin: String, items: [String])] = [
            (.priority, from.origin(Inputs.priorities), try from.list(Inputs.priorities)),
            (.votes, from.origin(Inputs.votes), try from.list(Inputs.votes)),
            (.tag, from.origin(Inputs.tags), try from.list(Inputs.tags)),
        ]
        let file = try from.value(Inputs.config)
        let name = try from.value(Inputs.replicaSet)
        let service = try from.value(Inputs.service)
        let replicas = try from.value(Inputs.replicas)
        let hostname = try from.value(Inputs.hostname)
        if fromSRV {
            let memberSources = [(Inputs.nodes.flag, !nodeArguments.isEmpty), (Inputs.arbiters.flag, !arbiters.isEmpty), (Inputs.hidden.flag, !hidden.isEmpty)]
                + memberOptions.map { ("--\($0.option)", !$0.items.isEmpty) } + [("members in the --config file", !(file?.members.isEmpty ?? true))]
            if let (given, _) = memberSources.first(where: \.1) {
                throw InvalidInput("--from-srv true takes the members from DNS, so \(given) cannot name them: every discovered member joins with the defaults. Give the members with --nodes instead, or leave out \(given)")
            }
            guard let replicas else {
                throw InvalidInput("--from-srv true needs --replicas N (or \(Inputs.replicas.env)), the StatefulSet's replicas: a run that saw fewer members than will exist would make a smaller set. For example --from-srv true --service mongo --replicas 3")
            }
            let serviceName: ServiceName
            if let service {
                try ServiceDiscovery.validateDNSName(service, option: from.origin(Inputs.service))
                serviceName = .given(service)
            } else {
                let own = hostname ?? Self.ownHostname
                try ServiceDiscovery.validateDNSName(own, option: hostname == nil ? "this host's name" : from.origin(Inputs.hostname))
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
            for (input, given) in [(Inputs.service.flag, service != nil), (Inputs.replicas.flag, replicas != nil)] where given {
                throw InvalidInput("\(input) is used only with --from-srv true, which finds the members in DNS; with --nodes, leave it out")
            }
            let givesMembers = !nodeArguments.isEmpty || !arbiters.isEmpty || !hidden.isEmpty || file != nil
            guard givesMembers else {
                throw InvalidInput("no nodes given: pass --nodes host[:port],... (or set \(Inputs.nodes.env)), a --config file, or --from-srv true --service NAME --replicas N; for example --nodes db-0.mongo:27017,db-1.mongo:27017,db-2.mongo:27017")
            }
            discovery = nil
            (spec, notes) = try Self.assembleSpec(file: file, nodes: nodeArguments, name: name, arbiters: arbiters, hidden: hidden, memberOptions: memberOptions)
            if hostname != nil {
                // Spica used it only to find its service for --from-srv.
                warnings.append("--hostname is only used with --from-srv true and is ignored")
            }
        }

        timeout = try from.value(Inputs.timeout) ?? Self.defaultTimeout
        connectTimeout = try from.value(Inputs.connectTimeout) ?? .seconds(2)
        waitFor = try from.value(Inputs.waitFor) ?? .primary
        logFormat = try from.value(Inputs.logFormat) ?? .text
        output = try from.value(Inputs.output) ?? .text
        dryRun = try from.value(Inputs.dryRun) ?? false
        quiet = try from.value(Inputs.quiet) ?? false
        removeMembers = try from.value(Inputs.removeMembers) ?? false
        renameMembers = try from.value(Inputs.renameMembers) ?? false
        forceReconfig = try from.value(Inputs.forceReconfig) ?? false
        initiateStrategy = try from.value(Inputs.initiateStrategy) ?? .full
        debug = try from.value(Inputs.debug) ?? false
        if quiet && debug { throw InvalidInput("--quiet and --debug contradict each other: give one") }

        // Spica's retry flags keep their meaning: attempts to reach a node, seconds apart.
        reconnect = ReplicaSetStateMachine.Configuration.defaultReconnect
        reconnectAfterRefusal = ReplicaSetStateMachine.Configuration.defaultReconnectAfterRefusal
        // A plain number is seconds, as Spica's `--wait-before-retry` took it.
        if let wait = try from.value(Inputs.waitBeforeRetry) {
            reconnect = .fixed(wait)
            reconnectAfterRefusal = .fixed(wait)
        }
        maxConnectionAttempts = try from.value(Inputs.maxRetryConnection)
        if try from.value(Inputs.bypassQuorumCheck) == true {
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
    private static func checkStandardInputReaders(_ from: Resolver) throws(InvalidInput) {
        let password = try ConnectionSecurity.passwordSource(from)
        let paths = [from.given(Inputs.config).first, password?.input.name == Inputs.passwordFile.name ? password?.given : nil,
                     from.given(Inputs.tlsCertificateKeyFilePasswordFile).first]
        let readers = paths.compactMap { $0?.text == FileContents.standardInput ? $0?.origin : nil }
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

    /// While a member refuses connections (mongod still starting), each attempt first waits up
    /// to this long for it to listen, probing every few milliseconds: the same reaction for a
    /// fraction of the CPU. Off when Spica's flags count the attempts or space them.
    var listenerWait: Duration {
        maxConnectionAttempts == nil && reconnectAfterRefusal == ReplicaSetStateMachine.Configuration.defaultReconnectAfterRefusal
            ? .milliseconds(250) : .zero
    }

    var machineConfiguration: ReplicaSetStateMachine.Configuration {
        ReplicaSetStateMachine.Configuration(
            spec: spec, notes: notes, dryRun: dryRun, waitFor: waitFor, removeMembers: removeMembers, renameMembers: renameMembers,
            forceReconfig: forceReconfig, initiateStrategy: initiateStrategy, reconnect: reconnect,
            reconnectAfterRefusal: reconnectAfterRefusal,
            maxConnectionAttempts: maxConnectionAttempts, seed: UInt64.random(in: .min ... .max))
    }
}

/// The process environment; empty values count as unset.
struct Environment {
    /// nil: the process's own, read a variable at a time (`getenv`): the tool asks for a few dozen
    /// names, and copying the whole environment into a dictionary cost more than all of them.
    private let values: [String: String]?

    init(_ values: [String: String]) {
        self.values = values
    }

    private init() {
        values = nil
    }

    static var current: Environment { Environment() }

    subscript(name: String) -> String? {
        let value = if let values { values[name] } else { getenv(name).map { String(cString: $0) } }
        guard let value, !value.isEmpty else { return nil }
        return value
    }
}
