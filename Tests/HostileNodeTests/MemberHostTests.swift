import MongoBSON
import Testing

/// Config members whose `host` is not a plain `host[:port]`: connection strings, paths, options,
/// credentials, several hosts in one, spaces, unicode, ports out of range, empty and over-long
/// names. mongod only stores hosts its `HostAndPort` parser accepted, so each is a node lying:
/// refused (exit 65) naming the node and the bad host (never what precedes an '@'), and the
/// address the host points at is never contacted. Attacker addresses are loopback (127.9.8.x),
/// and no case needs a name looked up: nothing leaves the machine even if the tool connects.
@Suite("hostile nodes: member hosts that are not host[:port]")
struct MemberHostTests {
    /// A second member (non-voting, so the config is otherwise valid) with host `bad`.
    static func host(_ name: String, _ bad: String, mentioning: String? = nil, attackers: [String] = [],
                     timeoutSeconds: Int = 2) -> ScriptedCase {
        let shown = mentioning ?? String(bad.split(separator: "@").last ?? Substring(bad))
        return ScriptedCase(name, .refused(mentioning: [shown]), tweaks: .init(config: { config, _ in
            config.appendMember(MockMember.member(id: 1, host: bad, priority: 0, votes: 0))
        }), timeoutSeconds: timeoutSeconds, attackers: attackers)
    }

    static let longLabel = String(repeating: "a", count: 300)
    /// 10 MB: within mongod's 16 MB document limit, far past any host name.
    static let tenMegabytes = String(repeating: "h", count: 10 << 20)

    static let cases: [ScriptedCase] = [
        host("a connection string", "mongodb://127.9.8.1:27017", attackers: ["127.9.8.1:27017"]),
        host("a path after the port", "127.9.8.2:27017/admin", attackers: ["127.9.8.2:27017"]),
        host("empty", "", mentioning: "host"),
        host("a 300-character name", "\(longLabel):27017", mentioning: String(longLabel.prefix(40))),
        host("user@host", "u@127.9.8.5:27017", attackers: ["127.9.8.5:27017"]),
        host("URI options after a slash", "127.9.8.6:27017/?authSource=admin", attackers: ["127.9.8.6:27017"]),
        host("URI options without a slash", "127.9.8.7?x=1", attackers: ["127.9.8.7:27017"]),
        host("two hosts separated by a comma", "127.9.8.8:27017,127.9.8.9:27017", attackers: ["127.9.8.8:27017", "127.9.8.9:27017"]),
        host("a space before the port", "127.9.8.10 :27017", attackers: ["127.9.8.10:27017"]),
        host("unicode digits in the port", "127.9.8.11:２７０１７", mentioning: "２７０１７", attackers: ["127.9.8.11:27017"]),
        // 99999 mod 65536 is 34463: a parser that truncates the port would land there.
        host("port 99999", "127.9.8.12:99999", attackers: ["127.9.8.12:34463"]),
        host("port 0", "127.9.8.13:0", mentioning: "127.9.8.13:0"),
        host("a Unix socket path", "/tmp/mongodb-27017.sock"),
        host("a 10 MB host", tenMegabytes, mentioning: String(tenMegabytes.prefix(40)), timeoutSeconds: 3),
    ]

    @Test("a member host that is not host[:port] is refused and never contacted", arguments: cases)
    func notPlainHost(_ scripted: ScriptedCase) async throws {
        try await scripted.run()
    }
}
