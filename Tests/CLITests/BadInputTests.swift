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
        Case(arguments: ["--nodes", "DB-0.mongo", "--nodes", "db-0.MONGO"], mentions: ["DB-0.mongo:27017 and db-0.MONGO:27017", "listed twice"]),
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
        // Credentials and TLS. SECRET stands for a password that must not be echoed.
        Case(arguments: ["--nodes", "NODE", "--username", "u"], mentions: ["no password for user 'u'", "--password-file", "MONGO_PASSWORD"]),
        Case(arguments: ["--nodes", "NODE"], environment: ["MONGO_PASSWORD": "SECRET"], mentions: ["MONGO_PASSWORD gives a password but no user", "--username"]),
        Case(arguments: ["--nodes", "NODE", "--password", "SECRET"], mentions: ["--password gives a password but no user"]),
        Case(arguments: ["--nodes", "NODE", "--username", "u", "--password-file", "/nonexistent/password"], mentions: ["--password-file /nonexistent/password", "cannot read it", "No such file"]),
        Case(arguments: ["--nodes", "NODE", "--username", "u", "--password-file", "EMPTYFILE"], mentions: ["--password-file EMPTYFILE", "the password is empty"]),
        Case(arguments: ["--nodes", "NODE", "--username", "u", "--password-file", "/dev/null"], mentions: ["--password-file /dev/null", "a character device, not a regular file"]),
        Case(arguments: ["--nodes", "NODE", "--username", "u", "--password-file", "/"], mentions: ["--password-file /", "a directory, not a regular file"]),
        Case(arguments: ["--nodes", "NODE", "--username", "u", "--password-file", "/dev/null", "--password", "SECRET"], mentions: ["--password-file and --password both"]),
        Case(arguments: ["--nodes", "NODE", "--username", "u"], environment: ["MONGO_PASSWORD": "SECRET", "MONGO_RS_PASSWORD_FILE": "/etc/passwd"], mentions: ["MONGO_RS_PASSWORD_FILE and MONGO_PASSWORD are both set"]),
        Case(arguments: ["--nodes", "NODE", "--username", "u", "--password", "SECRET", "--auth-mechanism", "PLAIN"], mentions: ["--auth-mechanism", "'PLAIN'", "SCRAM-SHA-256, SCRAM-SHA-1 or MONGODB-X509"]),
        Case(arguments: ["--nodes", "NODE", "--auth-mechanism", "SCRAM-SHA-256"], mentions: ["--auth-mechanism needs a user"]),
        Case(arguments: ["--nodes", "NODE", "--authentication-database", "users"], mentions: ["--authentication-database needs a user"]),
        Case(arguments: ["--nodes", "NODE", "--username", "u", "--password", "SECRET", "--authentication-database", "$external"], mentions: ["'$external'", "admin"]),
        Case(arguments: ["--nodes", "NODE", "--auth-mechanism", "MONGODB-X509"], mentions: ["MONGODB-X509", "--tls-certificate-key-file"]),
        Case(arguments: ["--nodes", "NODE", "--auth-mechanism", "MONGODB-X509", "--tls-certificate-key-file", "CLIENTPEM", "--password", "SECRET"], mentions: ["MONGODB-X509 takes no password", "--password"]),
        Case(arguments: ["--nodes", "NODE", "--auth-mechanism", "MONGODB-X509", "--tls-certificate-key-file", "CLIENTPEM", "--authentication-database", "admin"], mentions: ["'admin'", "$external"]),
        Case(arguments: ["--nodes", "NODE", "--tls-ca-file", "/nonexistent/ca.pem"], mentions: ["--tls-ca-file /nonexistent/ca.pem", "cannot read it", "CA certificates"]),
        Case(arguments: ["--nodes", "NODE", "--tls-certificate-key-file", "/nonexistent/client.pem"], mentions: ["--tls-certificate-key-file /nonexistent/client.pem", "cannot read it"]),
        Case(arguments: ["--nodes", "NODE", "--tls-certificate-key-file-password-file", "/etc/passwd"], mentions: ["--tls-certificate-key-file, which is not given"]),
        Case(arguments: ["--nodes", "NODE", "--tls-certificate-key-file", "CLIENTPEM", "--tls-certificate-key-file-password-file", "EMPTYFILE"], mentions: ["--tls-certificate-key-file-password-file EMPTYFILE", "empty"]),
        Case(arguments: [], environment: ["MONGO_RS_NODES": "NODE", "MONGO_RS_TLS": "perhaps"], mentions: ["MONGO_RS_TLS", "'perhaps'"]),
        Case(arguments: ["--nodes", "NODE", "--tls-ca-file", "/etc/passwd"], mentions: ["--tls-ca-file /etc/passwd", "no PEM 'CERTIFICATE' block"]),
        Case(arguments: ["--nodes", "NODE", "--tls-certificate-key-file", "CAPEM"], mentions: ["--tls-certificate-key-file", "no PEM 'PRIVATE KEY' block"]),
        Case(arguments: ["--nodes", "NODE", "--pasword", "SECRET"], mentions: ["--pasword", "--password"]),
        // Numbers at and past their limits, in every notation: never a trap.
        Case(arguments: ["--nodes", "NODE", "--timeout", "1e400"], mentions: ["--timeout", "'1e400'"]),
        Case(arguments: ["--nodes", "NODE", "--timeout", "nan"], mentions: ["--timeout", "'nan' is not a duration"]),
        Case(arguments: ["--nodes", "NODE", "--timeout", "inf"], mentions: ["--timeout", "'inf' is not a duration"]),
        Case(arguments: ["--nodes", "NODE", "--timeout", "99999999999999999999999999"], mentions: ["--timeout", "too long", "1ms to 24h"]),
        Case(arguments: ["--nodes", "NODE", "--timeout", String(repeating: "9", count: 400) + "ms"], mentions: ["--timeout", "is not a duration"]),
        Case(arguments: ["--nodes", "NODE", "--timeout", "86400001ms"], mentions: ["'86400001ms'", "1ms to 24h"]),
        Case(arguments: ["--nodes", "NODE", "--timeout", "0.0001ms"], mentions: ["'0.0001ms'", "1ms to 24h"]),
        Case(arguments: ["--nodes", "NODE", "--timeout", "-0"], mentions: ["--timeout", "'-0'"]),
        Case(arguments: ["--nodes", "NODE", "--connect-timeout", "301s"], mentions: ["--connect-timeout", "'301s'", "1ms to 5m"]),
        Case(arguments: ["--nodes", "NODE", "--connect-timeout", "1e400"], mentions: ["--connect-timeout", "'1e400'"]),
        Case(arguments: ["--nodes", "NODE", "--connect-timeout", "-1"], mentions: ["--connect-timeout", "'-1'"]),
        Case(arguments: ["--nodes", "NODE", "--wait-before-retry", "3601"], mentions: ["--wait-before-retry", "'3601'", "1ms to 1h"]),
        Case(arguments: ["--nodes", "NODE", "--wait-before-retry", "0"], mentions: ["--wait-before-retry", "'0'", "1ms to 1h"]),
        Case(arguments: ["--nodes", "NODE", "--wait-before-retry", "-1"], mentions: ["--wait-before-retry", "'-1'"]),
        Case(arguments: ["--nodes", "NODE", "--wait-before-retry", "NaN"], mentions: ["--wait-before-retry", "'NaN'"]),
        Case(arguments: ["--nodes", "NODE", "--wait-before-retry", "1e400"], mentions: ["--wait-before-retry", "'1e400'"]),
        Case(arguments: ["--nodes", "NODE", "--max-retry-connection", "1000001"], mentions: ["--max-retry-connection", "'1000001'", "1 to 1000000"]),
        Case(arguments: ["--nodes", "NODE", "--max-retry-connection", "-1"], mentions: ["--max-retry-connection", "'-1'", "1 to 1000000"]),
        Case(arguments: ["--nodes", "NODE", "--max-retry-connection", "9223372036854775808"], mentions: ["--max-retry-connection", "'9223372036854775808'"]),
        Case(arguments: ["--nodes", "NODE", "--max-retry-connection", "1e400"], mentions: ["--max-retry-connection", "'1e400'"]),
        Case(arguments: ["--nodes", "NODE", "--max-retry-connection", "nan"], mentions: ["--max-retry-connection", "'nan'"]),
        Case(arguments: ["--nodes", "NODE", "--max-retry-connection", "2.5"], mentions: ["--max-retry-connection", "'2.5'"]),
        Case(arguments: ["--nodes", "NODE", "--priority", "NODE=1e400"], mentions: ["'1e400' is not a number from 0 to 1000"]),
        Case(arguments: ["--nodes", "NODE", "--priority", "NODE=nan"], mentions: ["'nan' is not a number from 0 to 1000"]),
        Case(arguments: ["--nodes", "NODE", "--priority", "NODE=1000.5"], mentions: ["'1000.5' is not a number from 0 to 1000"]),
        Case(arguments: ["--nodes", "NODE", "--priority", "NODE=-inf"], mentions: ["'-inf' is not a number from 0 to 1000"]),
        Case(arguments: ["--nodes", "NODE", "--votes", "NODE=99999999999999999999"], mentions: ["'99999999999999999999' is not 0 or 1"]),
        Case(arguments: ["--nodes", "NODE", "--votes", "NODE=-1"], mentions: ["votes must be 0 or 1, not -1"]),
        Case(arguments: [], environment: ["MONGO_RS_NODES": "NODE", "MONGO_RS_TIMEOUT": "1e400"], mentions: ["MONGO_RS_TIMEOUT", "'1e400'"]),
        Case(arguments: [], environment: ["MONGO_RS_NODES": "NODE", "MONGO_RS_CONNECT_TIMEOUT": "-5s"], mentions: ["MONGO_RS_CONNECT_TIMEOUT", "'-5s'"]),
        Case(arguments: [], environment: ["MONGO_RS_NODES": "NODE", "MONGO_RS_WAIT_BEFORE_RETRY": "nan"], mentions: ["MONGO_RS_WAIT_BEFORE_RETRY", "'nan'"]),
        Case(arguments: [], environment: ["MONGO_RS_NODES": "NODE", "MONGO_RS_MAX_RETRY_CONNECTION": "99999999999999999999"], mentions: ["MONGO_RS_MAX_RETRY_CONNECTION", "1 to 1000000"]),
        Case(arguments: [], environment: ["MONGO_RS_NODES": "NODE", "MONGO_RS_PRIORITIES": "NODE=1e400"], mentions: ["MONGO_RS_PRIORITIES", "'1e400' is not a number"]),
        Case(arguments: [], environment: ["MONGO_RS_NODES": "NODE", "MONGO_RS_VOTES": "NODE=3000000000"], mentions: ["votes must be 0 or 1, not 3000000000"]),
        // --from-srv: refused before any DNS query or connection.
        Case(arguments: ["--from-srv", "true", "--service", "mongo"], mentions: ["--from-srv true needs --replicas", "--replicas 3"]),
        Case(arguments: ["--from-srv", "true", "--service", "mongo", "--replicas", "0"], mentions: ["--replicas", "'0'", "1 to 50"]),
        Case(arguments: ["--from-srv", "true", "--service", "mongo", "--replicas", "51"], mentions: ["--replicas", "'51'", "1 to 50"]),
        Case(arguments: ["--from-srv", "true", "--service", "mongo", "--replicas", "three"], mentions: ["--replicas", "'three'"]),
        Case(arguments: ["--from-srv", "true", "--service", "mongo db", "--replicas", "3"], mentions: ["--service 'mongo db'", "character ' '"]),
        Case(arguments: ["--from-srv", "true", "--service", "mongo..svc", "--replicas", "3"], mentions: ["--service 'mongo..svc'", "empty label"]),
        Case(arguments: ["--from-srv", "true", "--service", "-mongo", "--replicas", "3"], mentions: ["--service '-mongo'", "'-'"]),
        Case(arguments: ["--from-srv", "true", "--service", "mongo/x", "--replicas", "3"], mentions: ["--service 'mongo/x'", "character '/'"]),
        Case(arguments: ["--from-srv", "true", "--service", String(repeating: "m", count: 64), "--replicas", "3"], mentions: ["--service", "longer than 63"]),
        Case(arguments: ["--from-srv", "true", "--hostname", "db_0!", "--replicas", "3"], mentions: ["--hostname 'db_0!'", "character '!'"]),
        Case(arguments: ["--from-srv", "true", "--service", "mongo", "--replicas", "3", "--nodes", "NODE"], mentions: ["--from-srv true", "--nodes cannot name them"]),
        Case(arguments: ["--from-srv", "true", "--service", "mongo", "--replicas", "3", "--hidden", "NODE"], mentions: ["--hidden cannot name them"]),
        Case(arguments: ["--from-srv", "true", "--service", "mongo", "--replicas", "3", "--priority", "NODE=2"], mentions: ["--priority cannot name them"]),
        Case(arguments: ["--from-srv", "true", "--service", "mongo", "--replicas", "3", "--replica-set", "a/b"], mentions: ["'a/b'", "character '/'"]),
        Case(arguments: ["--nodes", "NODE", "--service", "mongo"], mentions: ["--service is used only with --from-srv true"]),
        Case(arguments: ["--nodes", "NODE", "--replicas", "3"], mentions: ["--replicas is used only with --from-srv true"]),
        Case(arguments: [], environment: ["MONGO_RS_FROM_SRV": "true", "MONGO_RS_SERVICE": "mongo", "MONGO_RS_REPLICAS": "-1"], mentions: ["MONGO_RS_REPLICAS", "'-1'", "1 to 50"]),
        Case(arguments: [], environment: ["MONGO_RS_FROM_SRV": "true", "MONGO_RS_SERVICE": "mongo;rm", "MONGO_RS_REPLICAS": "3"], mentions: ["MONGO_RS_SERVICE 'mongo;rm'", "character ';'"]),
    ]

    /// EMPTYFILE in the cases: an empty regular file.
    static let emptyFile: String = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("empty-\(UUID().uuidString)").path
        _ = FileManager.default.createFile(atPath: path, contents: Data())
        return path
    }()

    /// Stands for a password in the cases above; it must appear in no output.
    static let secret = "Sup3r-s3cret-\(UInt32.random(in: .min ... .max))"

    @Test("exit 64 with a message naming the input, no contact", arguments: cases)
    func refused(_ testCase: Case) async throws {
        let listener = try SilentListener()
        // CLIENTPEM and CAPEM in a case: a client certificate with its key, and a CA certificate.
        let needsCertificates = (testCase.arguments + Array(testCase.environment.values) + testCase.mentions).contains { $0.contains("CLIENTPEM") || $0.contains("CAPEM") }
        let certificates = needsCertificates ? try await TestCertificates.make(addresses: ["127.0.0.1"]) : nil
        defer { certificates?.remove() }
        let substitute = { (text: String) in
            text.replacingOccurrences(of: "NODE", with: listener.address).replacingOccurrences(of: "SECRET", with: Self.secret)
                .replacingOccurrences(of: "CLIENTPEM", with: certificates?.clientCertificateKeyFile ?? "CLIENTPEM")
                .replacingOccurrences(of: "CAPEM", with: certificates?.caFile ?? "CAPEM")
                .replacingOccurrences(of: "EMPTYFILE", with: Self.emptyFile)
        }
        let result = try await ToolProcess.run(testCase.arguments.map(substitute), environment: testCase.environment.mapValues(substitute))
        #expect(result.exitCode == 64, "stderr: \(result.stderr)")
        for fragment in testCase.mentions.map(substitute) {
            #expect(result.stderr.contains(fragment), "expected '\(fragment)' in: \(result.stderr)")
        }
        #expect(result.stdout.isEmpty)
        #expect(!result.stderr.contains(Self.secret), "the password was echoed: \(result.stderr)")
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
                     "--output", "--quiet", "--debug", "--from-srv", "--service", "--replicas", "--hostname", "--bypass-quorum-check",
                     "--max-retry-connection", "--wait-before-retry", "--config", "--arbiter", "--hidden", "--priority",
                     "--votes", "--tag", "--remove-members", "--force-reconfig", "--initiate-strategy", "--username",
                     "--password-file", "--password", "--authentication-database", "--auth-mechanism", "--tls",
                     "--tls-ca-file", "--tls-certificate-key-file", "--tls-certificate-key-file-password-file",
                     "--tls-allow-invalid-hostnames", "--tls-allow-invalid-certificates"]
        for flag in flags {
            #expect(result.stdout.contains(flag), "--help does not mention \(flag)")
        }
        let variables = ["MONGO_RS_NODES", "MONGO_RS_REPLICA_SET", "MONGO_RS_TIMEOUT", "MONGO_RS_WAIT_FOR", "MONGO_RS_CONNECT_TIMEOUT",
                         "MONGO_RS_DRY_RUN", "MONGO_RS_LOG_FORMAT", "MONGO_RS_OUTPUT", "MONGO_RS_QUIET", "MONGO_RS_DEBUG",
                         "MONGO_RS_FROM_SRV", "MONGO_RS_SERVICE", "MONGO_RS_REPLICAS", "MONGO_RS_HOSTNAME", "MONGO_RS_BYPASS_QUORUM_CHECK",
                         "MONGO_RS_MAX_RETRY_CONNECTION", "MONGO_RS_WAIT_BEFORE_RETRY", "MONGO_RS_CONFIG", "MONGO_RS_ARBITERS",
                         "MONGO_RS_HIDDEN", "MONGO_RS_PRIORITIES", "MONGO_RS_VOTES", "MONGO_RS_TAGS", "MONGO_RS_REMOVE_MEMBERS",
                         "MONGO_RS_FORCE_RECONFIG", "MONGO_RS_INITIATE_STRATEGY", "MONGO_USERNAME", "MONGO_PASSWORD",
                         "MONGO_RS_PASSWORD_FILE", "MONGO_RS_AUTHENTICATION_DATABASE", "MONGO_RS_AUTH_MECHANISM", "MONGO_RS_TLS",
                         "MONGO_RS_TLS_CA_FILE", "MONGO_RS_TLS_CERTIFICATE_KEY_FILE", "MONGO_RS_TLS_CERTIFICATE_KEY_FILE_PASSWORD_FILE",
                         "MONGO_RS_TLS_ALLOW_INVALID_HOSTNAMES", "MONGO_RS_TLS_ALLOW_INVALID_CERTIFICATES"]
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

@Suite("Secret scan")
struct SecretScanTests {
    @Test("the output check finds a secret as is, percent-encoded, JSON-escaped, base64 and hex, and names no secret")
    func findsEveryForm() {
        let secret = "p@ss/\"wörd"
        let outputs = [
            "as is": "x \(secret) y",
            "percent-encoded": "mongodb://u:p%40ss%2F%22w%C3%B6rd@h",
            "JSON-escaped": #"{"reason": "p@ss\/\"wörd"}"#,
            "base64": Data(secret.utf8).base64EncodedString(),
            "hex": secret.utf8.map { String(format: "%02x", $0) }.joined(),
        ]
        for (form, text) in outputs {
            let leaks = SecretScan.leaks(of: [secret], in: ["stderr": text])
            #expect(!leaks.isEmpty, "\(form) not found")
            #expect(leaks.allSatisfy { !$0.contains(secret) })
        }
        #expect(SecretScan.leaks(of: [secret], in: ["stdout": "nothing here: p@ss"]).isEmpty)
    }
}
