import Foundation
import TestSupport
import Testing

/// Every bad input: exit 64, a message naming the input and what would be valid, nothing on
/// stdout, and no connection to any node.
@Suite("Bad input is refused before any contact")
struct BadInputTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var arguments: [String]
        var environment: [String: String] = [:]
        /// Fragments the error message must contain.
        var mentions: [String]
        var testDescription: String { (environment.map { "\($0.key)=\($0.value)" } + arguments).joined(separator: " ") }
    }

    /// `NODE` stands for the address of a listener that records any contact.
    static let cases: [Case] = [
        Case(arguments: [], mentions: ["no nodes given", "--nodes"]),
        Case(arguments: ["--nodes", ""], mentions: ["--nodes", "empty"]),
        Case(arguments: ["--nodes", "NODE,,db-1"], mentions: ["empty host at position 2"]),
        Case(arguments: ["--nodes", "NODE,"], mentions: ["empty host at position 2"]),
        Case(arguments: ["--nodes", "db-0:0"], mentions: ["db-0:0", "port '0'", "1 to 65535"]),
        Case(arguments: ["--nodes", "db-0:65536"], mentions: ["port '65536'", "1 to 65535"]),
        Case(arguments: ["--nodes", "db-0:http"], mentions: ["port 'http'"]),
        Case(arguments: ["--nodes", "db-0:"], mentions: ["db-0:", "empty port"]),
        Case(arguments: ["--nodes", ":27017"], mentions: [":27017", "empty host name"]),
        Case(arguments: ["--nodes", "db-0.mongo,db-0.mongo:27017"], mentions: ["db-0.mongo:27017", "listed twice"]),
        Case(arguments: ["--nodes", "DB-0.mongo", "--nodes", "db-0.MONGO"], mentions: ["db-0.mongo:27017", "listed twice"]),
        Case(arguments: ["--nodes", (1...51).map { "db-\($0).mongo" }.joined(separator: ",")], mentions: ["51 members", "at most 50"]),
        Case(arguments: ["--nodes", "fe80::1"], mentions: ["IPv6 addresses need brackets", "[fe80::1]:27017"]),
        Case(arguments: ["--nodes", "[::1"], mentions: ["[::1", "missing ']'"]),
        Case(arguments: ["--nodes", "[zz::1]:27017"], mentions: ["'zz::1' is not an IPv6 address"]),
        Case(arguments: ["--nodes", "mongodb://db-0:27017"], mentions: ["connection string", "host[:port]"]),
        Case(arguments: ["--nodes", "admin:s3cret@db-0:27017"], mentions: ["credentials", "--password-file"]),
        Case(arguments: ["--nodes", "db_0!.mongo"], mentions: ["character '!'"]),
        Case(arguments: ["--nodes", "-db.mongo"], mentions: ["'-db'", "starts or ends with '-'"]),
        Case(arguments: ["--nodes", "db..mongo"], mentions: ["empty label"]),
        Case(arguments: ["--nodes", "db.mongo."], mentions: ["trailing '.'"]),
        Case(arguments: ["--nodes", "300.1.1.1"], mentions: ["'300.1.1.1' is not a valid IPv4 address"]),
        Case(arguments: ["--nodes", "\(String(repeating: "x", count: 64)).mongo"], mentions: ["longer than 63 characters"]),
        Case(arguments: ["--nodes", "NODE,db-1.mongo"], mentions: ["localhost", "all members on localhost or none"]),
        Case(arguments: ["--nodes", "NODE", "--replica-set", ""], mentions: ["empty replica set name"]),
        Case(arguments: ["--nodes", "NODE", "--replica-set", "rs/0"], mentions: ["'rs/0'", "character '/'"]),
        Case(arguments: ["--nodes", "NODE", "--replica-set", "my set"], mentions: ["'my set'", "character ' '"]),
        Case(arguments: ["--nodes", "NODE", "--replica-set", String(repeating: "r", count: 129)], mentions: ["longer than 128"]),
        Case(arguments: ["--nodes", "NODE", "--timeout", "soon"], mentions: ["--timeout", "'soon' is not a duration"]),
        Case(arguments: ["--nodes", "NODE", "--timeout", "0"], mentions: ["--timeout", "'0'", "1ms to 24h"]),
        Case(arguments: ["--nodes", "NODE", "--timeout", "-5s"], mentions: ["--timeout", "'-5s'"]),
        Case(arguments: ["--nodes", "NODE", "--timeout", "5x"], mentions: ["unit 'x'", "ms, s, m, h"]),
        Case(arguments: ["--nodes", "NODE", "--timeout", "30d"], mentions: ["unit 'd'"]),
        Case(arguments: ["--nodes", "NODE", "--timeout", "25h"], mentions: ["'25h'", "1ms to 24h"]),
        Case(arguments: ["--nodes", "NODE", "--connect-timeout", "0ms"], mentions: ["--connect-timeout", "'0ms'"]),
        Case(arguments: ["--nodes", "NODE", "--wait-for", "majority"], mentions: ["--wait-for", "'majority'", "primary or all"]),
        Case(arguments: ["--nodes", "NODE", "--log-format", "xml"], mentions: ["--log-format", "'xml'", "text or json"]),
        Case(arguments: ["--nodes", "NODE", "--output", "yaml"], mentions: ["--output", "'yaml'", "text or json"]),
        Case(arguments: ["--nodes", "NODE", "--debug=maybe"], mentions: ["--debug", "'maybe' is not a boolean"]),
        Case(arguments: ["--nodes", "NODE", "--max-retry-connection", "0"], mentions: ["--max-retry-connection", "'0'", "1 to 1000000"]),
        Case(arguments: ["--nodes", "NODE", "--max-retry-connection", "many"], mentions: ["--max-retry-connection", "'many'"]),
        Case(arguments: ["--nodes", "NODE", "--wait-before-retry", "2 hours"], mentions: ["--wait-before-retry", "'2 hours'"]),
        Case(arguments: ["--nodes", "NODE", "--quiet", "--debug"], mentions: ["--quiet and --debug"]),
        Case(arguments: ["--nodes", "NODE", "--nodez", "x"], mentions: ["--nodez"]),
        Case(arguments: [], environment: ["MONGO_RS_NODES": "NODE", "MONGO_RS_TIMEOUT": "soon"], mentions: ["MONGO_RS_TIMEOUT", "'soon'"]),
        Case(arguments: [], environment: ["MONGO_RS_NODES": "db-0 db-1 db-0"], mentions: ["db-0:27017", "listed twice"]),
        Case(arguments: [], environment: ["MONGO_RS_NODES": "NODE", "MONGO_RS_WAIT_FOR": "everyone"], mentions: ["MONGO_RS_WAIT_FOR", "'everyone'"]),
        Case(arguments: [], environment: ["MONGO_RS_NODES": "NODE", "MONGO_RS_DRY_RUN": "perhaps"], mentions: ["MONGO_RS_DRY_RUN", "'perhaps'"]),
        Case(arguments: [], environment: ["MONGO_RS_NODES": "NODE", "MONGO_RS_REPLICA_SET": "a/b"], mentions: ["'a/b'"]),
        Case(arguments: [], environment: ["MONGO_RS_NODES": "NODE", "MONGO_RS_PRIORITIES": "NODE=high"], mentions: ["MONGO_RS_PRIORITIES 'NODE=high'", "'high' is not a number"]),
        Case(arguments: [], environment: ["MONGO_RS_NODES": "NODE", "MONGO_RS_INITIATE_STRATEGY": "lazy"], mentions: ["MONGO_RS_INITIATE_STRATEGY", "'lazy'", "full or incremental"]),
    ]

    @Test("exit 64 with a message naming the input, no contact", arguments: cases)
    func refused(_ testCase: Case) async throws {
        let listener = try SilentListener()
        let substitute = { (text: String) in text.replacingOccurrences(of: "NODE", with: listener.address) }
        let result = try await ToolProcess.run(testCase.arguments.map(substitute), environment: testCase.environment.mapValues(substitute))
        #expect(result.exitCode == 64, "stderr: \(result.stderr)")
        for fragment in testCase.mentions.map(substitute) {
            #expect(result.stderr.contains(fragment), "expected '\(fragment)' in: \(result.stderr)")
        }
        #expect(result.stdout.isEmpty)
        #expect(!listener.wasContacted, "the tool connected despite bad input")
    }

    @Test("at least 30 distinct bad inputs are covered")
    func coverage() {
        #expect(Set(Self.cases.map(\.testDescription)).count >= 30)
    }

    @Test("a password given as part of a host is never echoed")
    func credentialsInHostNotEchoed() async throws {
        let result = try await ToolProcess.run(["--nodes", "admin:Sup3r-s3cret@db-0:27017"])
        #expect(result.exitCode == 64)
        #expect(!result.stderr.contains("Sup3r-s3cret"))
        #expect(!result.stderr.contains("admin:"))
    }
}

@Suite("Help and compatibility")
struct HelpTests {
    @Test("--help documents every flag, its environment variable, and every exit code")
    func help() async throws {
        let result = try await ToolProcess.run(["--help"])
        #expect(result.exitCode == 0)
        let flags = ["--nodes", "--replica-set", "--timeout", "--wait-for", "--connect-timeout", "--dry-run", "--log-format",
                     "--output", "--quiet", "--debug", "--from-srv", "--hostname", "--bypass-quorum-check",
                     "--max-retry-connection", "--wait-before-retry", "--config", "--arbiter", "--hidden", "--priority",
                     "--votes", "--tag", "--remove-members", "--force-reconfig", "--initiate-strategy"]
        for flag in flags {
            #expect(result.stdout.contains(flag), "--help does not mention \(flag)")
        }
        let variables = ["MONGO_RS_NODES", "MONGO_RS_REPLICA_SET", "MONGO_RS_TIMEOUT", "MONGO_RS_WAIT_FOR", "MONGO_RS_CONNECT_TIMEOUT",
                         "MONGO_RS_DRY_RUN", "MONGO_RS_LOG_FORMAT", "MONGO_RS_OUTPUT", "MONGO_RS_QUIET", "MONGO_RS_DEBUG",
                         "MONGO_RS_FROM_SRV", "MONGO_RS_HOSTNAME", "MONGO_RS_BYPASS_QUORUM_CHECK",
                         "MONGO_RS_MAX_RETRY_CONNECTION", "MONGO_RS_WAIT_BEFORE_RETRY", "MONGO_RS_CONFIG", "MONGO_RS_ARBITERS",
                         "MONGO_RS_HIDDEN", "MONGO_RS_PRIORITIES", "MONGO_RS_VOTES", "MONGO_RS_TAGS", "MONGO_RS_REMOVE_MEMBERS",
                         "MONGO_RS_FORCE_RECONFIG", "MONGO_RS_INITIATE_STRATEGY"]
        for variable in variables {
            #expect(result.stdout.contains(variable), "--help does not mention \(variable)")
        }
        for code in ["0 ", "64", "65", "69", "70", "77", "130", "143"] {
            #expect(result.stdout.contains("\n  \(code)"), "--help does not explain exit code \(code)")
        }
        #expect(result.stdout.split(separator: "\n").allSatisfy { $0.count <= 80 }, "--help has lines over 80 columns")
    }

    @Test("the Spica Job's arguments are accepted as they are")
    func spicaArguments() async throws {
        // An unused port: the run gives up quickly, but only after parsing everything.
        let result = try await ToolProcess.run(["--from-srv", "false", "--nodes", "127.0.0.1:1", "--debug", "--timeout", "200ms"])
        #expect(result.exitCode == 69, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("debug → 127.0.0.1:1 hello"))
        #expect(result.stderr.contains("127.0.0.1:1 unreachable: connection refused"))
    }

    @Test("yargs-style booleans: bare, with a value, with =, and --no-")
    func yargsBooleans() async throws {
        for arguments in [["--debug"], ["--debug", "true"], ["--debug=true"]] {
            let result = try await ToolProcess.run(["--nodes", "127.0.0.1:1", "--timeout", "50ms"] + arguments)
            #expect(result.stderr.contains("debug →"), "\(arguments): \(result.stderr)")
        }
        for arguments in [["--debug", "false"], ["--no-debug"], ["--debug=false"]] {
            let result = try await ToolProcess.run(["--nodes", "127.0.0.1:1", "--timeout", "50ms"] + arguments)
            #expect(!result.stderr.contains("debug →"), "\(arguments): \(result.stderr)")
        }
        let bypass = try await ToolProcess.run(["--nodes", "127.0.0.1:1", "--timeout", "50ms", "--bypass-quorum-check"])
        #expect(bypass.stderr.contains("never bypasses mongod's quorum check"))
    }

    @Test("environment variables stand in for options; the command line wins")
    func environment() async throws {
        let fromEnvironment = try await ToolProcess.run([], environment: ["MONGO_RS_NODES": "127.0.0.1:1", "MONGO_RS_TIMEOUT": "100ms", "MONGO_RS_OUTPUT": "json"])
        #expect(fromEnvironment.exitCode == 69)
        #expect(fromEnvironment.stdout.contains("\"outcome\" : \"timedOut\""))
        let overridden = try await ToolProcess.run(["--output", "text"], environment: ["MONGO_RS_NODES": "127.0.0.1:1", "MONGO_RS_TIMEOUT": "100ms", "MONGO_RS_OUTPUT": "json"])
        #expect(overridden.exitCode == 69)
        #expect(!overridden.stdout.contains("\"outcome\""))
    }

    @Test("--max-retry-connection: gives up after that many refused attempts, long before --timeout")
    func maxRetryConnection() async throws {
        let port = try SilentListener.closedPort()
        let result = try await ToolProcess.run(["--nodes", "127.0.0.1:\(port)", "--max-retry-connection", "3", "--wait-before-retry", "50ms", "--timeout", "1m"])
        #expect(result.exitCode == 69)
        #expect(result.stderr.contains("--max-retry-connection attempts ran out: 127.0.0.1:\(port) unreachable: connection refused"))
    }

    @Test("more than 7 plain nodes: the extra members are non-voting and the output says so")
    func nonVotingMembers() async throws {
        let nodes = (1...9).map { "127.0.0.1:\($0)" }.joined(separator: ",")
        let result = try await ToolProcess.run(["--nodes", nodes, "--timeout", "50ms"])
        #expect(result.exitCode == 69)
        #expect(result.stderr.contains("at most 7 voting members: 127.0.0.1:8, 127.0.0.1:9 join with votes 0 and priority 0"))
    }
}
