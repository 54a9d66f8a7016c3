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
        requested config is seen. Run again on a matching set, it only reads. It never forces a \
        reconfig and never removes a member.

        Every option can be set through the environment variable named with it; the command \
        line wins. Progress goes to stderr, the result to stdout.

        EXIT CODES
          0    the set has the requested members and a writable primary
               (or: --dry-run finished)
          64   bad input (arguments, environment); no node was contacted
          65   refused, nothing written: a node belongs to another set, two
               sets share the name, a node was removed, the set exists with
               other members, or mongod rejected the config
          69   --timeout passed or --max-retry-connection ran out; the message
               names what is missing (unreachable nodes, no primary)
          70   internal error
          77   authentication or authorization failed
          130  interrupted by SIGINT
          143  interrupted by SIGTERM

        EXAMPLES
          mongo-rs-bootstrap --nodes db-0.mongo,db-1.mongo,db-2.mongo
          MONGO_RS_NODES="db-0.mongo db-1.mongo" mongo-rs-bootstrap --output json
          mongo-rs-bootstrap --nodes localhost:27017 --dry-run
          # the Spica controller's Job arguments work unchanged:
          mongo-rs-bootstrap --from-srv false \\
            --nodes database-0.mongo.default.svc.cluster.local --debug
        """,
        version: "0.1.0")

    @Option(name: .long, parsing: .upToNextOption,
            help: ArgumentHelp("The members: host or host:port (default port 27017), comma or space separated, repeatable. At most 50; members 8 and up join with votes 0 and priority 0. [env: MONGO_RS_NODES]", valueName: "host[:port]"))
    var nodes: [String] = []

    @Option(name: .customLong("replica-set"),
            help: ArgumentHelp("The replica set name, as given to mongod --replSet (default: rs0). [env: MONGO_RS_REPLICA_SET]", valueName: "name"))
    var replicaSet: String?

    @Option(help: ArgumentHelp("Give up after this long (exit 69), e.g. 90s, 5m, 1h (default: 5m). [env: MONGO_RS_TIMEOUT]", valueName: "duration"))
    var timeout: String?

    @Option(name: .customLong("wait-for"),
            help: ArgumentHelp("primary: exit once a writable primary has the requested config; all: also wait until every member is PRIMARY, SECONDARY or ARBITER (default: primary). [env: MONGO_RS_WAIT_FOR]", valueName: "primary|all"))
    var waitFor: String?

    @Option(name: .customLong("connect-timeout"),
            help: ArgumentHelp("TCP connect timeout per attempt (default: 2s). [env: MONGO_RS_CONNECT_TIMEOUT]", valueName: "duration"))
    var connectTimeout: String?

    @Flag(name: .customLong("dry-run"),
          help: "Observe every node, print what would be done, write nothing. [env: MONGO_RS_DRY_RUN=true]")
    var dryRun = false

    @Option(name: .customLong("log-format"),
            help: ArgumentHelp("Progress lines on stderr: text, or json for log collectors (default: text). [env: MONGO_RS_LOG_FORMAT]", valueName: "text|json"))
    var logFormat: String?

    @Option(help: ArgumentHelp("The result on stdout: text, or one json document (default: text). [env: MONGO_RS_OUTPUT]", valueName: "text|json"))
    var output: String?

    @Flag(help: "No progress lines; errors and the result are still printed. [env: MONGO_RS_QUIET=true]")
    var quiet = false

    @Option(name: .long,
            help: ArgumentHelp("Also log every command sent and its answer (--debug alone means true). [env: MONGO_RS_DEBUG]", valueName: "true|false"))
    var debug: String?

    @Option(name: .customLong("from-srv"),
            help: ArgumentHelp("Spica compatibility: only false is supported (the default here); give the members with --nodes. [env: MONGO_RS_FROM_SRV]", valueName: "true|false"))
    var fromSRV: String?

    @Option(help: ArgumentHelp("Spica compatibility: used only with --from-srv; ignored. [env: MONGO_RS_HOSTNAME]", valueName: "name"))
    var hostname: String?

    @Option(name: .customLong("bypass-quorum-check"),
            help: ArgumentHelp("Spica compatibility: accepted and ignored; mongod's quorum check is never bypassed. [env: MONGO_RS_BYPASS_QUORUM_CHECK]", valueName: "true|false"))
    var bypassQuorumCheck: String?

    @Option(name: .customLong("max-retry-connection"),
            help: ArgumentHelp("Spica compatibility: give up (exit 69) after this many failed attempts to reach one node. Default: keep trying until --timeout. [env: MONGO_RS_MAX_RETRY_CONNECTION]", valueName: "n"))
    var maxRetryConnection: String?

    @Option(name: .customLong("wait-before-retry"),
            help: ArgumentHelp("Spica compatibility: wait this long between attempts to reach a node (plain number = seconds). Default: adaptive, 5 ms growing to 100 ms. [env: MONGO_RS_WAIT_BEFORE_RETRY]", valueName: "seconds"))
    var waitBeforeRetry: String?

    static func main() async {
        SignalWatcher.install()
        let arguments = SpicaCompatibility.normalize(Array(CommandLine.arguments.dropFirst()))
        do {
            var command = try parseAsRoot(arguments)
            if var bootstrap = command as? MongoRSBootstrap {
                try await bootstrap.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }

    mutating func run() async throws {
        let invocation: Invocation
        do {
            invocation = try Invocation(self, environment: .current)
        } catch {
            Terminal.error("\(error.message)\nRun mongo-rs-bootstrap --help for the options.")
            throw ExitCode(ExitStatus.badInput)
        }
        let code = await Bootstrap(invocation).run()
        throw ExitCode(code)
    }
}
