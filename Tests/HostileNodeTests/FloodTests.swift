import MongoBSON
import Testing

/// Nodes that invite a client to ask again at once, forever: an awaitable hello that never waits,
/// a topology that "changes" on every reply, a hello that never agrees with the config. Each run
/// also lists a closed port, so it cannot converge and the whole --timeout shows whether the tool
/// keeps to its pace (at most 10 commands per second per node) before it gives up (exit 69).
@Suite("hostile nodes: floods")
struct FloodTests {
    static func flood(_ name: String, tweaks: MockMember.Tweaks = MockMember.Tweaks(), hook: ScriptedCase.Hook? = nil) -> ScriptedCase {
        ScriptedCase(name, .deadline, tweaks: tweaks, peers: .closedPort, hook: hook)
    }

    static let cases: [ScriptedCase] = [
        flood("awaitable hello answered at once, ignoring maxAwaitTimeMS") { request, member in
            request.isAwaitableHello ? .document(member.hello(for: request)) : nil
        },
        flood("a new topologyVersion.counter on every hello, answered at once") { request, member in
            guard request.isToolHello else { return nil }
            member.bumpTopologyVersion()
            return .document(member.hello(for: request))
        },
        flood("a new topologyVersion.processId on every hello, answered at once") { request, member in
            guard request.isToolHello else { return nil }
            member.bumpTopologyVersion(newProcess: true)
            return .document(member.hello(for: request))
        },
        flood("hello setVersion 2 while the config says version 1, forever", tweaks: .init(hello: { hello, _ in hello["setVersion"] = .int32(2) })),
        flood("replSetGetConfig failing with ShutdownInProgress, forever") { request, _ in
            request.name == "replSetGetConfig" ? .document(MockMember.error(91, "ShutdownInProgress", "The server is in quiesce mode and will shut down")) : nil
        },
    ]

    @Test("a node that invites a flood gets at most 10 commands a second", arguments: cases)
    func paced(_ scripted: ScriptedCase) async throws {
        try await scripted.run()
    }
}
