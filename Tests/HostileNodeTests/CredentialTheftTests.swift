import Foundation
import MongoBSON
import MongoSimulator
import TestSupport
import Testing

/// The critical case of issue 10: a node that authenticates properly (a simulated member with
/// `--auth`, behind an intercepting proxy) answers `replSetGetConfig` with a member host built
/// to make a client send the run's credentials elsewhere: to an attacker's address, with PLAIN
/// (the password in clear), without TLS. The tool must refuse (exit 65) naming the node and the
/// bad host, never contact the attacker's address, and never show the password, in any encoding.
///
/// The attacker addresses are on loopback and need no name lookup (the issue's `evil:1` and
/// `mongodb://a@b` become 127.9.9.x addresses), so nothing leaves the machine even if a tool
/// does connect.
@Suite("hostile nodes: credential theft through a rewritten config")
struct CredentialTheftTests {
    static let username = "bootstrap"
    /// Every character that breaks URI-building code.
    static let password = "-x@y:z/%41?#[]&=+ \"ünï✓'"

    struct Theft: Sendable, CustomTestStringConvertible {
        var name: String
        /// The host member 1 gets in the config the tool reads; nil: the config passes unchanged.
        var badHost: String?
        var attackers: [String]
        /// What the final message must show of the bad host.
        var shown: String

        var testDescription: String { name }
    }

    static let cases: [Theft] = [
        Theft(name: "an intercepted member, unchanged: exit 0 (control)", badHost: nil, attackers: [], shown: ""),
        Theft(name: "x@127.9.9.9/?authMechanism=PLAIN&x=", badHost: "x@127.9.9.9/?authMechanism=PLAIN&x=",
              attackers: ["127.9.9.9:27017"], shown: "127.9.9.9/?authMechanism=PLAIN&x="),
        Theft(name: "127.9.9.10:27017,127.9.9.11:1 (a second seed)", badHost: "127.9.9.10:27017,127.9.9.11:1",
              attackers: ["127.9.9.10:27017", "127.9.9.11:1"], shown: "127.9.9.10:27017,127.9.9.11:1"),
        Theft(name: "127.9.9.12/?tls=false", badHost: "127.9.9.12/?tls=false", attackers: ["127.9.9.12:27017"], shown: "127.9.9.12/?tls=false"),
        Theft(name: "mongodb://a@127.9.9.13", badHost: "mongodb://a@127.9.9.13", attackers: ["127.9.9.13:27017"], shown: "127.9.9.13"),
    ]

    @Test("a config that points a member at an attacker is refused, and the password goes nowhere", arguments: cases)
    func theft(_ theft: Theft) async throws {
        try await CaseSlots.run {
            let attackers = try theft.attackers.map { try AttackerListener.start(at: $0) }
            defer { for attacker in attackers { attacker.stop() } }
            let user = SimulatorUser(name: Self.username, password: Self.password, roles: ["clusterManager"])
            let options = SimulatorOptions(timings: .fast, security: SimulatorSecurity(users: [user]))
            let context = ToolProcess.Context(environment: ["MONGO_USERNAME": Self.username, "MONGO_PASSWORD": Self.password],
                                              secrets: [Self.password])
            try await ToolProcess.$context.withValue(context) {
                try await ReplicaSetSimulator.run([MemberSpec(), MemberSpec()], options: options) { simulator in
                    try await simulator.initiateSet()
                    let secondary = simulator.hosts[1]
                    let badHost = theft.badHost
                    let proxy = try InterceptingProxy(upstream: simulator.hosts[0]) { command, reply in
                        guard command == "replSetGetConfig", let badHost, var config = reply["config"]?.documentValue else { return reply }
                        let members = config.memberDocuments
                        guard let index = members.firstIndex(where: { $0["host"]?.stringValue == secondary }) else { return reply }
                        config.updateMember(index) { $0["host"] = .string(badHost) }
                        var changed = reply
                        changed["config"] = .document(config)
                        return changed
                    }
                    defer { proxy.stop() }
                    let timeout = Duration.seconds(3)
                    let run = try await ToolRun.run(["--nodes", proxy.host, "--username", Self.username, "--timeout", "3s"], timeout: timeout)
                    run.keepOutput(named: theft.name)
                    let expectation: Expectation = theft.badHost == nil ? .converged : .refused(mentioning: [theft.shown])
                    run.check(expectation, timeout: timeout, nodes: [ObservedNode(host: proxy.host, traffic: proxy.traffic)], named: [proxy.host],
                              untouchable: attackers.map { ObservedNode(host: $0.host, traffic: $0.traffic) }, secrets: [Self.password])
                    let writes = await simulator.writeCommandNames
                    #expect(writes.isEmpty, "write commands reached the simulated members: \(writes)")
                }
            }
        }
    }
}

extension ReplicaSetSimulator {
    var writeCommandNames: [String] {
        writeCommands.map(\.name)
    }
}
