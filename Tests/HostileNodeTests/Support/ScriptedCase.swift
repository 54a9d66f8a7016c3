import Foundation
import MongoBSON
import TestSupport
import Testing

/// One hostile-node case: a scripted node (a sane `MockMember` unless its tweaks or hook say
/// otherwise), the run of the real binary against it, and the policy's checks.
struct ScriptedCase: Sendable, CustomTestStringConvertible {
    typealias Hook = @Sendable (Request, MockMember) -> Answer?

    enum Peers: Sendable {
        /// `--nodes hostile`.
        case none
        /// `--nodes hostile,127.0.0.1:<closed port>`: the run cannot converge, so a flood has the
        /// whole --timeout to show.
        case closedPort
    }

    var name: String
    var expectation: Expectation
    var start: MockMember.Start = .primary
    var tweaks = MockMember.Tweaks()
    /// Answers a request instead of the sane member; nil lets the member answer.
    var hook: Hook?
    var peers: Peers = .none
    var timeoutSeconds = 2
    var allowedWrites: [String: Int] = [:]
    /// Attacker addresses (`a.b.c.d:port`) a bad member host points at: they must never be contacted.
    var attackers: [String] = []

    var testDescription: String { name }

    init(_ name: String, _ expectation: Expectation, start: MockMember.Start = .primary, tweaks: MockMember.Tweaks = MockMember.Tweaks(),
         peers: Peers = .none, timeoutSeconds: Int = 2, allowedWrites: [String: Int] = [:], attackers: [String] = [],
         hook: Hook? = nil) {
        self.name = name
        self.expectation = expectation
        self.start = start
        self.tweaks = tweaks
        self.hook = hook
        self.peers = peers
        self.timeoutSeconds = timeoutSeconds
        self.allowedWrites = allowedWrites
        self.attackers = attackers
    }

    /// Starts the node (and attacker listeners), runs the tool, checks the policy.
    func run(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await CaseSlots.run {
            let attackerNodes = try attackers.map { try AttackerListener.start(at: $0) }
            let (tweaks, start, hook) = (self.tweaks, self.start, self.hook)
            let node = try ScriptedNode { host in
                let member = MockMember(host: host, start: start, tweaks: tweaks)
                return { request in hook?(request, member) ?? member.answer(request) }
            }
            defer {
                node.stop()
                for attacker in attackerNodes { attacker.stop() }
            }
            var hosts = [node.host]
            // A flood's run ends because the closed port never answers: naming either is right.
            if peers == .closedPort { hosts.append("127.0.0.1:\(try SilentListener.closedPort())") }
            let timeout = Duration.seconds(timeoutSeconds)
            let run = try await ToolRun.run(["--nodes", hosts.joined(separator: ","), "--timeout", "\(timeoutSeconds)s"], timeout: timeout)
            run.keepOutput(named: name)
            run.check(expectation, timeout: timeout, nodes: [ObservedNode(host: node.host, traffic: node.traffic)], named: hosts,
                      allowedWrites: allowedWrites,
                      untouchable: attackerNodes.map { ObservedNode(host: $0.host, traffic: $0.traffic) },
                      sourceLocation: sourceLocation)
        }
    }
}

/// A listener on an attacker's address that a hostile config points members at. It answers like
/// a mongod would (so a tool that connects goes on to authenticate, and what it sends is
/// recorded); any connection at all is a failure.
enum AttackerListener {
    static func start(at hostAndPort: String) throws -> ScriptedNode {
        let parts = hostAndPort.split(separator: ":")
        return try ScriptedNode(address: String(parts[0]), port: UInt16(parts[1])!) { host in
            let member = MockMember(host: host, start: .primary)
            return { request in
                switch request.name {
                case "saslStart", "saslContinue", "authenticate":
                    return .document(MockMember.error(18, "AuthenticationFailed", "Authentication failed."))
                default:
                    return member.answer(request)
                }
            }
        }
    }
}

extension BSONDocument {
    /// The member documents of a config (empty when `members` is not an array of documents).
    var memberDocuments: [BSONDocument] {
        self["members"]?.arrayValue?.compactMap(\.documentValue) ?? []
    }

    /// Changes member `index` of a config document.
    mutating func updateMember(_ index: Int, _ change: (inout BSONDocument) -> Void) {
        var members = self["members"]?.arrayValue ?? []
        guard case .document(var member) = members[index] else { return }
        change(&member)
        members[index] = .document(member)
        self["members"] = .array(members)
    }

    mutating func appendMember(_ member: BSONDocument) {
        var members = self["members"]?.arrayValue ?? []
        members.append(.document(member))
        self["members"] = .array(members)
    }
}
