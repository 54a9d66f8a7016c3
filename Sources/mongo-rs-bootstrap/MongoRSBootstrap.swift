import ArgumentParser
import ReplicaSetBootstrap

#if canImport(Glibc)
import Glibc
#endif

@main
struct MongoRSBootstrap: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mongo-rs-bootstrap",
        abstract: "Turn a list of `mongod --replSet` nodes into a healthy replica set, then exit.",
        usage: "mongo-rs-bootstrap --nodes <host[:port]>... [options]",
        discussion: """
        It waits for every node, initiates the set once (on the first electable member in \
        sorted host order, so concurrent runs agree), steps the preferred member up instead of \
        waiting out mongod's 10 s election timeout, and exits once a writable primary with the \
        requested config is seen. An existing set is brought to the requested config by safe \
        reconfigs, one voting member at a time, each committed before the next. Run again on a \
        matching set, it only reads. It never forces a reconfig or removes a member unless told \
        (--force-reconfig, --remove-members).

        Every option can be set through the environment variable named with it; the command \
        line wins. Progress goes to stderr, the result to stdout.

        SHELL COMPLETION
          Options, the values of --output, --log-format, --wait-for,
          --auth-mechanism and --initiate-strategy, and files for --config,
          --password-file and the --tls-…-file options:
          mongo-rs-bootstrap --generate-completion-script bash \\
            > /etc/bash_completion.d/mongo-rs-bootstrap
          mongo-rs-bootstrap --generate-completion-script zsh \\
            > "${fpath[1]}/_mongo-rs-bootstrap"
          mongo-rs-bootstrap --generate-completion-script fish \\
            > ~/.config/fish/completions/mongo-rs-bootstrap.fish

        EXIT CODES
          0    the set has the requested members and a writable primary
               (or: --dry-run finished)
          64   bad input (arguments, environment, spec or secret files); no
               node was contacted
          65   refused, nothing written: a node belongs to another set, two
               sets share the name, a node was removed, no safe reconfig
               reaches the requested config, or mongod rejected a config
          69   --timeout passed or --max-retry-connection ran out; the message
               names what is missing (unreachable nodes, no primary)
          70   internal error: the open-file limit is too low for the run
               (raise it with ulimit -n), or the tool stalled (reading its
               input, or in the run) and was ended by a timer 1 s after
               --timeout
          77   access denied: a node rejected the credentials, the user
               lacks the clusterManager role, or a node's TLS certificate
               is not trusted (the run ends at once, no retries)
          130  interrupted by SIGINT
          143  interrupted by SIGTERM (while the input is read: at once)

        EXAMPLES
          mongo-rs-bootstrap --nodes db-0.mongo,db-1.mongo,db-2.mongo
          MONGO_RS_NODES="db-0.mongo db-1.mongo" mongo-rs-bootstrap --output json
          mongo-rs-bootstrap --nodes localhost:27017 --dry-run
          # a set with --auth and TLS; the password from a mounted Secret:
          MONGO_USERNAME=admin mongo-rs-bootstrap --nodes db-0.mongo,db-1.mongo \\
            --password-file /secrets/mongo/password --tls-ca-file /tls/ca.pem
          # the members from a headless Service's SRV records (Kubernetes):
          mongo-rs-bootstrap --from-srv true --service mongo --replicas 3
          # the Spica controller's Job arguments work unchanged:
          mongo-rs-bootstrap --from-srv false \\
            --nodes database-0.mongo.default.svc.cluster.local --debug
        """,
        version: "0.1.0")

    // Strings to ArgumentParser; `Inputs` names, documents and parses them.
    @Option(Inputs.nodes, parsing: .upToNextOption) var nodes: [String] = []
    @Option(Inputs.config) var config: String?
    @Option(Inputs.arbiters) var arbiters: [String] = []
    @Option(Inputs.hidden) var hidden: [String] = []
    @Option(Inputs.priorities) var priorities: [String] = []
    @Option(Inputs.votes) var votes: [String] = []
    @Option(Inputs.tags) var tags: [String] = []
    @Flag(Inputs.removeMembers) var removeMembers = false
    @Flag(Inputs.renameMembers) var renameMembers = false
    @Flag(Inputs.forceReconfig) var forceReconfig = false
    @Option(Inputs.initiateStrategy) var initiateStrategy: String?
    @Option(Inputs.replicaSet) var replicaSet: String?
    @Option(Inputs.timeout) var timeout: String?
    @Option(Inputs.waitFor) var waitFor: String?
    @Option(Inputs.connectTimeout) var connectTimeout: String?
    @Flag(Inputs.dryRun) var dryRun = false
    @Option(Inputs.logFormat) var logFormat: String?
    @Option(Inputs.output) var output: String?
    @Flag(Inputs.quiet) var quiet = false
    @Option(Inputs.debug) var debug: String?
    @Option(Inputs.username) var username: String?
    @Option(Inputs.passwordFile) var passwordFile: String?
    @Option(Inputs.password) var password: String?
    @Option(Inputs.authenticationDatabase) var authenticationDatabase: String?
    @Option(Inputs.authMechanism) var authMechanism: String?
    @Flag(Inputs.tls) var tls = false
    @Option(Inputs.tlsCAFile) var tlsCAFile: String?
    @Option(Inputs.tlsCertificateKeyFile) var tlsCertificateKeyFile: String?
    @Option(Inputs.tlsCertificateKeyFilePasswordFile) var tlsCertificateKeyFilePasswordFile: String?
    @Flag(Inputs.tlsAllowInvalidHostnames) var tlsAllowInvalidHostnames = false
    @Flag(Inputs.tlsAllowInvalidCertificates) var tlsAllowInvalidCertificates = false
    @Option(Inputs.fromSRV) var fromSRV: String?
    @Option(Inputs.service) var service: String?
    @Option(Inputs.replicas) var replicas: String?
    @Option(Inputs.hostname) var hostname: String?
    @Option(Inputs.bypassQuorumCheck) var bypassQuorumCheck: String?
    @Option(Inputs.maxRetryConnection) var maxRetryConnection: String?
    @Option(Inputs.waitBeforeRetry) var waitBeforeRetry: String?

    static func main() async {
        Reporting.markStart()
        // Before anything reads a secret.
        ProcessLimits.disableCoreDumps()
        let arguments = SpicaCompatibility.normalize(Array(CommandLine.arguments.dropFirst()))
        // Every exit from here on reports in the formats asked for, read leniently until the
        // arguments are parsed.
        let lenient = Reporting.lenientSettings(arguments, environment: .current)
        Reporting.settings = lenient
        // Bounded before the first write: stderr may be a pipe nobody reads.
        Backstop.install()
        Backstop.arm(after: (lenient.timeout ?? Invocation.defaultTimeout) + Backstop.grace, for: .input)
        SignalWatcher.installHandlers()
        // libmongoc's start-up warnings, kept since before main.
        Reporting.routeLibmongocLog()
        do {
            var command = try parseAsRootHidingSecrets(arguments)
            if var bootstrap = command as? MongoRSBootstrap {
                // Before the first thread is needed: a process starved of threads stalls in the
                // first hop to the concurrency pool (libdispatch retries for ever). A --timeout
                // that does not parse is reported later; the default bounds the wait until then.
                let timeout = (try? Resolver(bootstrap, environment: .current).value(Inputs.timeout)) ?? Invocation.defaultTimeout
                Backstop.arm(after: timeout + Backstop.grace, for: .input)
                SignalWatcher.install()
                try await bootstrap.run()
            } else {
                try command.run()
            }
        } catch {
            Reporting.exit(after: error)
        }
    }

    /// ArgumentParser quotes arguments in its errors (unexpected ones, a value given to a flag):
    /// the error is the one the same arguments give with every secret value hidden.
    private static func parseAsRootHidingSecrets(_ arguments: [String]) throws -> ParsableCommand {
        do {
            return try parseAsRoot(arguments)
        } catch {
            let shown = SpicaCompatibility.redactingSecrets(arguments)
            guard shown != arguments else { throw error }
            do {
                _ = try parseAsRoot(shown)
            } catch let redacted {
                throw redacted
            }
            // Hiding a value should not make the arguments valid; if it did, say nothing of them.
            throw Reporting.Failure.badInput("the arguments could not be read (the reason is not shown, as it would show a secret); see mongo-rs-bootstrap --help",
                                             text: "mongo-rs-bootstrap: the arguments could not be read (the reason is not shown, as it would show a secret); see mongo-rs-bootstrap --help")
        }
    }

    mutating func run() async throws {
        let invocation: Invocation
        do {
            invocation = try Invocation(self, environment: .current)
        } catch {
            throw Reporting.Failure.badInput(error.message)
        }
        Reporting.settings = Reporting.Settings(output: invocation.output, log: invocation.logFormat, quiet: invocation.quiet, debug: invocation.debug)
        Reporting.hide(invocation.security.secrets)
        if let problem = ProcessLimits.ensureOpenFiles(members: invocation.discovery?.replicas ?? invocation.spec.members.count) {
            throw Reporting.Failure.internalError(problem, setName: invocation.spec.name, warnings: invocation.warnings)
        }
        // The run's own deadline ends it with 69; if it is stalled past that, the timer ends it.
        SignalSafeOutput.runStarting(setName: invocation.spec.name, warnings: invocation.warnings)
        Backstop.arm(after: invocation.timeout + Backstop.grace, for: .run)
        let (code, nodes) = await Run(invocation).perform()
        ProcessExit.end(code, closing: nodes)
    }
}

/// Every input of the tool: its option, its environment variable, its help and its parser.
/// ArgumentParser's properties (`MongoRSBootstrap`), their help, `Invocation`, the lenient
/// pre-parse (`Reporting`) and `SpicaCompatibility` all read it from here.
enum Inputs {
    static let nodes: Input<[String]> = .list(
        "nodes", { $0.nodes }, env: "MONGO_RS_NODES",
        about: "The members: host or host:port (default port 27017), comma or space separated, repeatable. At most 50; members 8 and up join with votes 0 and priority 0.",
        valueName: "host[:port]")
    static let config: Input<SpecFile> = Input("config", { $0.config }, env: "MONGO_RS_CONFIG",
        about: "The desired set as a YAML or JSON file (a regular file of at most 1 MiB, or /dev/stdin): name, settings, members with host, priority, votes, hidden, arbiterOnly, secondaryDelaySecs, buildIndexes, tags, horizons. Merged with --nodes and the member options below.",
        valueName: "file", completion: .file(extensions: ["yaml", "yml", "json"])) { path, origin throws(InvalidInput) in
            try SpecFile.load(path: path, origin: origin)
        }
    static let arbiters: Input<[String]> = .list(
        "arbiter", { $0.arbiters }, env: "MONGO_RS_ARBITERS",
        about: "A member that is an arbiter (added if not in --nodes). Repeatable.", valueName: "host[:port]")
    static let hidden: Input<[String]> = .list(
        "hidden", { $0.hidden }, env: "MONGO_RS_HIDDEN",
        about: "A member that is hidden (priority 0; added if not in --nodes). Repeatable.", valueName: "host[:port]")
    static let priorities: Input<[String]> = .list(
        "priority", { $0.priorities }, env: "MONGO_RS_PRIORITIES", about: "A member's priority, 0 to 1000. Repeatable.", valueName: "host=n")
    static let votes: Input<[String]> = .list("votes", { $0.votes }, env: "MONGO_RS_VOTES", about: "A member's votes, 0 or 1. Repeatable.", valueName: "host=n")
    static let tags: Input<[String]> = .list("tag", { $0.tags }, env: "MONGO_RS_TAGS", about: "A member tag. Repeatable.", valueName: "host=key:value")
    static let removeMembers: Input<Bool> = .flag(
        "remove-members", { $0.removeMembers }, env: "MONGO_RS_REMOVE_MEMBERS",
        about: "Remove members of the set that the spec does not list (otherwise they are kept and reported).")
    static let renameMembers: Input<Bool> = .flag(
        "rename-members", { $0.renameMembers }, env: "MONGO_RS_RENAME_MEMBERS",
        about: "Rewrite the names the set records members under (an FQDN for a short name, an IP for a name) to the names given in --nodes, one member per committed reconfig, keeping each member's _id. Only when every member resolves its given name to itself; otherwise the recorded names are kept and the run reports which given name is recorded as which.")
    static let forceReconfig: Input<Bool> = .flag(
        "force-reconfig", { $0.forceReconfig }, env: "MONGO_RS_FORCE_RECONFIG",
        about: "Only when no primary can be elected because a majority of voters is unreachable (for longer than the election timeout): force a config of the reachable members, naming the members it drops. Never otherwise.")
    static let initiateStrategy: Input<ReplicaSetStateMachine.InitiateStrategy> = .choice(
        "initiate-strategy", { $0.initiateStrategy }, env: "MONGO_RS_INITIATE_STRATEGY",
        about: "full: initiate once every member is reachable and fresh; incremental: initiate the first member alone as soon as it is reachable and add the others as they come (for StatefulSets whose pods start one by one; a member that is down but holds an old config is not seen). (default: full)")
    static let replicaSet: Input<String> = .text(
        "replica-set", { $0.replicaSet }, env: "MONGO_RS_REPLICA_SET",
        about: "The replica set name, as given to mongod --replSet (default: rs0).", valueName: "name")
    static let timeout: Input<Duration> = .duration(
        "timeout", { $0.timeout }, env: "MONGO_RS_TIMEOUT", allowed: .milliseconds(1)...(.seconds(86400)),
        about: "Give up after this long (exit 69), e.g. 90s, 5m, 1h; 1ms to 24h (default: 5m). A tool still running 1 s later is ended by a timer (exit 70).")
    static let waitFor: Input<ReplicaSetStateMachine.WaitFor> = .choice(
        "wait-for", { $0.waitFor }, env: "MONGO_RS_WAIT_FOR",
        about: "primary: exit once a writable primary has the requested config; all: also wait until every member is PRIMARY, SECONDARY or ARBITER (default: primary).")
    static let connectTimeout: Input<Duration> = .duration(
        "connect-timeout", { $0.connectTimeout }, env: "MONGO_RS_CONNECT_TIMEOUT", allowed: .milliseconds(1)...(.seconds(300)),
        about: "TCP connect timeout per attempt, 1ms to 5m (default: 2s).")
    static let dryRun: Input<Bool> = .flag(
        "dry-run", { $0.dryRun }, env: "MONGO_RS_DRY_RUN", about: "Observe every node, print what would be done, write nothing.")
    static let logFormat: Input<LogFormat> = .choice(
        "log-format", { $0.logFormat }, env: "MONGO_RS_LOG_FORMAT",
        about: "Progress lines on stderr: text, or json for log collectors (default: text).")
    static let output: Input<OutputFormat> = .choice(
        "output", { $0.output }, env: "MONGO_RS_OUTPUT", about: "The result on stdout: text, or one json document (default: text).")
    static let quiet: Input<Bool> = .flag(
        "quiet", { $0.quiet }, env: "MONGO_RS_QUIET", about: "No progress lines; errors and the result are still printed.")
    static let debug: Input<Bool> = .yargsBoolean(
        "debug", { $0.debug }, env: "MONGO_RS_DEBUG", about: "Also log every command sent and its answer (--debug alone means true).")
    static let username: Input<String> = .text(
        "username", { $0.username }, env: "MONGO_USERNAME",
        about: "Authenticate as this user, which needs the clusterManager role (clusterAdmin and root include it). With MONGODB-X509 it is optional: the certificate's subject names the user.",
        valueName: "name")
    static let passwordFile: Input<Secret> = Input("password-file", { $0.passwordFile }, env: "MONGO_RS_PASSWORD_FILE",
        about: "Read the password from this file, e.g. a mounted Kubernetes Secret (a regular file, or /dev/stdin); one trailing newline is ignored. The preferred source; \(password.env) also works.",
        valueName: "path", completion: .file(), parse: ConnectionSecurity.readSecret)
    static let password: Input<Secret> = Input("password", { $0.password }, env: "MONGO_PASSWORD", kind: .secret,
        about: "Spica compatibility: the password itself. Anyone on the machine can read it in the process list; prefer --password-file or the variable. Any characters work, a leading '-' too.",
        valueName: "password") { text, origin throws(InvalidInput) in try ConnectionSecurity.checked(Secret(text), origin: origin) }
    static let authenticationDatabase: Input<String> = .text(
        "authentication-database", { $0.authenticationDatabase }, env: "MONGO_RS_AUTHENTICATION_DATABASE",
        about: "The database the user was created in (default: admin; $external for MONGODB-X509).", valueName: "name")
    static let authMechanism: Input<AuthMechanism> = .choice(
        "auth-mechanism", { $0.authMechanism }, env: "MONGO_RS_AUTH_MECHANISM",
        about: "SCRAM-SHA-256, SCRAM-SHA-1 or MONGODB-X509 (default: SCRAM-SHA-256 if the server offers it for the user, else SCRAM-SHA-1).",
        valueName: "mechanism", unsupported: " (PLAIN, GSSAPI and MONGODB-AWS are not supported)")
    static let tls: Input<Bool> = .flag("tls", { $0.tls }, env: "MONGO_RS_TLS", about: "Connect with TLS (implied by every --tls-… option).")
    static let tlsCAFile: Input<String> = Input("tls-ca-file", { $0.tlsCAFile }, env: "MONGO_RS_TLS_CA_FILE",
        about: "PEM file of the CA that signed the nodes' certificates (default: the system's CAs).",
        valueName: "path", completion: .file()) { path, origin throws(InvalidInput) in
            try ConnectionSecurity.checkPEM(path, option: origin, holds: ["CERTIFICATE"], what: "a PEM file of CA certificates")
        }
    static let tlsCertificateKeyFile: Input<String> = Input("tls-certificate-key-file", { $0.tlsCertificateKeyFile }, env: "MONGO_RS_TLS_CERTIFICATE_KEY_FILE",
        about: "PEM file with this client's certificate and private key, for nodes that require one and for MONGODB-X509.",
        valueName: "path", completion: .file()) { path, origin throws(InvalidInput) in
            try ConnectionSecurity.checkPEM(path, option: origin, holds: ["CERTIFICATE", "PRIVATE KEY"],
                                            what: "a PEM file with the client certificate and its private key")
        }
    static let tlsCertificateKeyFilePasswordFile: Input<Secret> = Input(
        "tls-certificate-key-file-password-file", { $0.tlsCertificateKeyFilePasswordFile }, env: "MONGO_RS_TLS_CERTIFICATE_KEY_FILE_PASSWORD_FILE",
        about: "File holding the passphrase of an encrypted --tls-certificate-key-file (a regular file, or /dev/stdin); one trailing newline is ignored.",
        valueName: "path", completion: .file(), parse: ConnectionSecurity.readSecret)
    static let tlsAllowInvalidHostnames: Input<Bool> = .flag(
        "tls-allow-invalid-hostnames", { $0.tlsAllowInvalidHostnames }, env: "MONGO_RS_TLS_ALLOW_INVALID_HOSTNAMES",
        about: "Accept node certificates that do not name the host connected to.")
    static let tlsAllowInvalidCertificates: Input<Bool> = .flag(
        "tls-allow-invalid-certificates", { $0.tlsAllowInvalidCertificates }, env: "MONGO_RS_TLS_ALLOW_INVALID_CERTIFICATES",
        about: "Do not verify the nodes' certificates at all (anyone on the network path could pose as a node).")
    static let fromSRV: Input<Bool> = .yargsBoolean(
        "from-srv", { $0.fromSRV }, env: "MONGO_RS_FROM_SRV",
        about: "true: find the members in the DNS SRV records of a headless Service (Spica's default mode) instead of --nodes; needs --replicas, and --service or --hostname. Each record's target:port is a member. (default: false)")
    static let service: Input<String> = .text(
        "service", { $0.service }, env: "MONGO_RS_SERVICE",
        about: "--from-srv: the headless Service's DNS name, e.g. mongo (the pod's search domains add the namespace) or mongo.default.svc.cluster.local. Its _mongodb._tcp records are read first (name mongod's port mongodb), then its own.",
        valueName: "name")
    static let replicas: Input<Int> = .integer(
        "replicas", { $0.replicas }, env: "MONGO_RS_REPLICAS", allowed: 1...ReplicaSetSpec.maxMembers,
        about: "--from-srv: how many members the set has (the StatefulSet's replicas), 1 to 50. The run waits until DNS names them all; with pod names <name>-<ordinal> the members are ordinals 0 to n-1 and ordinal 0 initiates, so runs that see different answers never make two sets.")
    static let hostname: Input<String> = .text(
        "hostname", { $0.hostname }, env: "MONGO_RS_HOSTNAME",
        about: "--from-srv without --service: this host's name; its full DNS name (resolved, then resolved back) without the first label is taken as the Service, as Spica did (default: this host's name).",
        valueName: "name")
    static let bypassQuorumCheck: Input<Bool> = .yargsBoolean(
        "bypass-quorum-check", { $0.bypassQuorumCheck }, env: "MONGO_RS_BYPASS_QUORUM_CHECK",
        about: "Spica compatibility: accepted and ignored; mongod's quorum check is never bypassed.")
    static let maxRetryConnection: Input<Int> = .integer(
        "max-retry-connection", { $0.maxRetryConnection }, env: "MONGO_RS_MAX_RETRY_CONNECTION", allowed: 1...1_000_000,
        about: "Spica compatibility: give up (exit 69) after this many failed attempts to reach one node (1 to 1000000). Default: keep trying until --timeout.")
    static let waitBeforeRetry: Input<Duration> = .duration(
        "wait-before-retry", { $0.waitBeforeRetry }, env: "MONGO_RS_WAIT_BEFORE_RETRY", allowed: .milliseconds(1)...(.seconds(3600)),
        about: "Spica compatibility: wait this long between attempts to reach a node (plain number = seconds), 1ms to 1h. Default: adaptive, 5 ms growing to 100 ms.",
        valueName: "seconds")

    static let all: [any NamedInput] = [
        nodes, config, arbiters, hidden, priorities, votes, tags, removeMembers, renameMembers, forceReconfig, initiateStrategy,
        replicaSet, timeout, waitFor, connectTimeout, dryRun, logFormat, output, quiet, debug, username, passwordFile, password,
        authenticationDatabase, authMechanism, tls, tlsCAFile, tlsCertificateKeyFile, tlsCertificateKeyFilePasswordFile,
        tlsAllowInvalidHostnames, tlsAllowInvalidCertificates, fromSRV, service, replicas, hostname, bypassQuorumCheck,
        maxRetryConnection, waitBeforeRetry,
    ]
}
