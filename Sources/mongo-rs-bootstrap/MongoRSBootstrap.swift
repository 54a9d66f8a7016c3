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

    @Option(name: .long, parsing: .upToNextOption,
            help: ArgumentHelp("The members: host or host:port (default port 27017), comma or space separated, repeatable. At most 50; members 8 and up join with votes 0 and priority 0. [env: MONGO_RS_NODES]", valueName: "host[:port]"))
    var nodes: [String] = []

    @Option(name: .long,
            help: ArgumentHelp("The desired set as a YAML or JSON file (a regular file of at most 1 MiB, or /dev/stdin): name, settings, members with host, priority, votes, hidden, arbiterOnly, secondaryDelaySecs, buildIndexes, tags, horizons. Merged with --nodes and the member options below. [env: MONGO_RS_CONFIG]", valueName: "file"),
            completion: .file(extensions: ["yaml", "yml", "json"]))
    var config: String?

    @Option(name: .customLong("arbiter"), parsing: .singleValue,
            help: ArgumentHelp("A member that is an arbiter (added if not in --nodes). Repeatable. [env: MONGO_RS_ARBITERS, comma separated]", valueName: "host[:port]"))
    var arbiters: [String] = []

    @Option(name: .customLong("hidden"), parsing: .singleValue,
            help: ArgumentHelp("A member that is hidden (priority 0; added if not in --nodes). Repeatable. [env: MONGO_RS_HIDDEN, comma separated]", valueName: "host[:port]"))
    var hidden: [String] = []

    @Option(name: .customLong("priority"), parsing: .singleValue,
            help: ArgumentHelp("A member's priority, 0 to 1000. Repeatable. [env: MONGO_RS_PRIORITIES, comma separated]", valueName: "host=n"))
    var priorities: [String] = []

    @Option(name: .customLong("votes"), parsing: .singleValue,
            help: ArgumentHelp("A member's votes, 0 or 1. Repeatable. [env: MONGO_RS_VOTES, comma separated]", valueName: "host=n"))
    var votes: [String] = []

    @Option(name: .customLong("tag"), parsing: .singleValue,
            help: ArgumentHelp("A member tag. Repeatable. [env: MONGO_RS_TAGS, comma separated]", valueName: "host=key:value"))
    var tags: [String] = []

    @Flag(name: .customLong("remove-members"),
          help: "Remove members of the set that the spec does not list (otherwise they are kept and reported). [env: MONGO_RS_REMOVE_MEMBERS=true]")
    var removeMembers = false

    @Flag(name: .customLong("rename-members"),
          help: "Rewrite the names the set records members under (an FQDN for a short name, an IP for a name) to the names given in --nodes, one member per committed reconfig, keeping each member's _id. Only when every member resolves its given name to itself; otherwise the recorded names are kept and the run reports which given name is recorded as which. [env: MONGO_RS_RENAME_MEMBERS=true]")
    var renameMembers = false

    @Flag(name: .customLong("force-reconfig"),
          help: "Only when no primary can be elected because a majority of voters is unreachable (for longer than the election timeout): force a config of the reachable members, naming the members it drops. Never otherwise. [env: MONGO_RS_FORCE_RECONFIG=true]")
    var forceReconfig = false

    @Option(name: .customLong("initiate-strategy"),
            help: ArgumentHelp("full: initiate once every member is reachable and fresh; incremental: initiate the first member alone as soon as it is reachable and add the others as they come (for StatefulSets whose pods start one by one; a member that is down but holds an old config is not seen). (default: full) [env: MONGO_RS_INITIATE_STRATEGY]", valueName: "full|incremental"),
            completion: .list(BootstrapStateMachine.InitiateStrategy.allCases.map(\.rawValue)))
    var initiateStrategy: String?

    @Option(name: .customLong("replica-set"),
            help: ArgumentHelp("The replica set name, as given to mongod --replSet (default: rs0). [env: MONGO_RS_REPLICA_SET]", valueName: "name"))
    var replicaSet: String?

    @Option(help: ArgumentHelp("Give up after this long (exit 69), e.g. 90s, 5m, 1h; 1ms to 24h (default: 5m). A tool still running 1 s later is ended by a timer (exit 70). [env: MONGO_RS_TIMEOUT]", valueName: "duration"))
    var timeout: String?

    @Option(name: .customLong("wait-for"),
            help: ArgumentHelp("primary: exit once a writable primary has the requested config; all: also wait until every member is PRIMARY, SECONDARY or ARBITER (default: primary). [env: MONGO_RS_WAIT_FOR]", valueName: "primary|all"),
            completion: .list(BootstrapStateMachine.WaitFor.allCases.map(\.rawValue)))
    var waitFor: String?

    @Option(name: .customLong("connect-timeout"),
            help: ArgumentHelp("TCP connect timeout per attempt, 1ms to 5m (default: 2s). [env: MONGO_RS_CONNECT_TIMEOUT]", valueName: "duration"))
    var connectTimeout: String?

    @Flag(name: .customLong("dry-run"),
          help: "Observe every node, print what would be done, write nothing. [env: MONGO_RS_DRY_RUN=true]")
    var dryRun = false

    @Option(name: .customLong("log-format"),
            help: ArgumentHelp("Progress lines on stderr: text, or json for log collectors (default: text). [env: MONGO_RS_LOG_FORMAT]", valueName: "text|json"),
            completion: .list(LogFormat.allCases.map(\.rawValue)))
    var logFormat: String?

    @Option(help: ArgumentHelp("The result on stdout: text, or one json document (default: text). [env: MONGO_RS_OUTPUT]", valueName: "text|json"),
            completion: .list(OutputFormat.allCases.map(\.rawValue)))
    var output: String?

    @Flag(help: "No progress lines; errors and the result are still printed. [env: MONGO_RS_QUIET=true]")
    var quiet = false

    @Option(name: .long,
            help: ArgumentHelp("Also log every command sent and its answer (--debug alone means true). [env: MONGO_RS_DEBUG]", valueName: "true|false"))
    var debug: String?

    @Option(help: ArgumentHelp("Authenticate as this user, which needs the clusterManager role (clusterAdmin and root include it). With MONGODB-X509 it is optional: the certificate's subject names the user. [env: MONGO_USERNAME]", valueName: "name"))
    var username: String?

    @Option(name: .customLong("password-file"),
            help: ArgumentHelp("Read the password from this file, e.g. a mounted Kubernetes Secret (a regular file, or /dev/stdin); one trailing newline is ignored. The preferred source; MONGO_PASSWORD also works. [env: MONGO_RS_PASSWORD_FILE]", valueName: "path"),
            completion: .file())
    var passwordFile: String?

    @Option(help: ArgumentHelp("Spica compatibility: the password itself. Anyone on the machine can read it in the process list; prefer --password-file or MONGO_PASSWORD. Any characters work, a leading '-' too. [env: MONGO_PASSWORD]", valueName: "password"))
    var password: String?

    @Option(name: .customLong("authentication-database"),
            help: ArgumentHelp("The database the user was created in (default: admin; $external for MONGODB-X509). [env: MONGO_RS_AUTHENTICATION_DATABASE]", valueName: "name"))
    var authenticationDatabase: String?

    @Option(name: .customLong("auth-mechanism"),
            help: ArgumentHelp("SCRAM-SHA-256, SCRAM-SHA-1 or MONGODB-X509 (default: SCRAM-SHA-256 if the server offers it for the user, else SCRAM-SHA-1). [env: MONGO_RS_AUTH_MECHANISM]", valueName: "mechanism"),
            completion: .list(AuthMechanism.allCases.map(\.rawValue)))
    var authMechanism: String?

    @Flag(help: "Connect with TLS (implied by every --tls-… option). [env: MONGO_RS_TLS=true]")
    var tls = false

    @Option(name: .customLong("tls-ca-file"),
            help: ArgumentHelp("PEM file of the CA that signed the nodes' certificates (default: the system's CAs). [env: MONGO_RS_TLS_CA_FILE]", valueName: "path"),
            completion: .file())
    var tlsCAFile: String?

    @Option(name: .customLong("tls-certificate-key-file"),
            help: ArgumentHelp("PEM file with this client's certificate and private key, for nodes that require one and for MONGODB-X509. [env: MONGO_RS_TLS_CERTIFICATE_KEY_FILE]", valueName: "path"),
            completion: .file())
    var tlsCertificateKeyFile: String?

    @Option(name: .customLong("tls-certificate-key-file-password-file"),
            help: ArgumentHelp("File holding the passphrase of an encrypted --tls-certificate-key-file (a regular file, or /dev/stdin); one trailing newline is ignored. [env: MONGO_RS_TLS_CERTIFICATE_KEY_FILE_PASSWORD_FILE]", valueName: "path"),
            completion: .file())
    var tlsCertificateKeyFilePasswordFile: String?

    @Flag(name: .customLong("tls-allow-invalid-hostnames"),
          help: "Accept node certificates that do not name the host connected to. [env: MONGO_RS_TLS_ALLOW_INVALID_HOSTNAMES=true]")
    var tlsAllowInvalidHostnames = false

    @Flag(name: .customLong("tls-allow-invalid-certificates"),
          help: "Do not verify the nodes' certificates at all (anyone on the network path could pose as a node). [env: MONGO_RS_TLS_ALLOW_INVALID_CERTIFICATES=true]")
    var tlsAllowInvalidCertificates = false

    @Option(name: .customLong("from-srv"),
            help: ArgumentHelp("true: find the members in the DNS SRV records of a headless Service (Spica's default mode) instead of --nodes; needs --replicas, and --service or --hostname. Each record's target:port is a member. (default: false) [env: MONGO_RS_FROM_SRV]", valueName: "true|false"))
    var fromSRV: String?

    @Option(help: ArgumentHelp("--from-srv: the headless Service's DNS name, e.g. mongo (the pod's search domains add the namespace) or mongo.default.svc.cluster.local. Its _mongodb._tcp records are read first (name mongod's port mongodb), then its own. [env: MONGO_RS_SERVICE]", valueName: "name"))
    var service: String?

    @Option(help: ArgumentHelp("--from-srv: how many members the set has (the StatefulSet's replicas), 1 to 50. The run waits until DNS names them all; with pod names <name>-<ordinal> the members are ordinals 0 to n-1 and ordinal 0 initiates, so runs that see different answers never make two sets. [env: MONGO_RS_REPLICAS]", valueName: "n"))
    var replicas: String?

    @Option(help: ArgumentHelp("--from-srv without --service: this host's name; its full DNS name (resolved, then resolved back) without the first label is taken as the Service, as Spica did (default: this host's name). [env: MONGO_RS_HOSTNAME]", valueName: "name"))
    var hostname: String?

    @Option(name: .customLong("bypass-quorum-check"),
            help: ArgumentHelp("Spica compatibility: accepted and ignored; mongod's quorum check is never bypassed. [env: MONGO_RS_BYPASS_QUORUM_CHECK]", valueName: "true|false"))
    var bypassQuorumCheck: String?

    @Option(name: .customLong("max-retry-connection"),
            help: ArgumentHelp("Spica compatibility: give up (exit 69) after this many failed attempts to reach one node (1 to 1000000). Default: keep trying until --timeout. [env: MONGO_RS_MAX_RETRY_CONNECTION]", valueName: "n"))
    var maxRetryConnection: String?

    @Option(name: .customLong("wait-before-retry"),
            help: ArgumentHelp("Spica compatibility: wait this long between attempts to reach a node (plain number = seconds), 1ms to 1h. Default: adaptive, 5 ms growing to 100 ms. [env: MONGO_RS_WAIT_BEFORE_RETRY]", valueName: "seconds"))
    var waitBeforeRetry: String?

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
                let timeout = (try? Resolver(environment: .current).duration(
                    bootstrap.timeout, env: "MONGO_RS_TIMEOUT", option: "--timeout", allowed: Invocation.timeoutRange)) ?? Invocation.defaultTimeout
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
        let (code, nodes) = await Bootstrap(invocation).run()
        ProcessExit.end(code, closing: nodes)
    }
}
