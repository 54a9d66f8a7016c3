import Testing
@testable import ReplicaSetBootstrap

/// Fresh nodes whose replSetInitiate never answers (a quorum check taking its time); says when
/// the initiate arrived, so a test acts on that, not on a guess of how long it takes.
struct HangingInitiateNodes: ReplicaSetNodes {
    let initiateArrived: AsyncStream<Void>.Continuation

    func run(_ command: NodeCommand, on host: HostAddress) async throws(MongoError) -> CommandReply {
        switch command {
        case .awaitHello(let version, _):
            if version != nil { try? await Task.sleep(for: .seconds(100)) }
            return .hello(.noConfig())
        case .getStatus:
            throw .code(.notYetInitialized, host)
        case .initiate:
            initiateArrived.yield()
            try? await Task.sleep(for: .seconds(100))
            throw MongoError(.client, host: host, message: "cancelled")
        default:
            throw MongoError(.client, host: host, message: "unexpected \(command)")
        }
    }
}

@Suite("Runner")
struct StateMachineRunnerTests {
    @Test("interrupted while replSetInitiate is in flight: the result still names it")
    func interruptedWrite() async {
        let (arrived, continuation) = AsyncStream.makeStream(of: Void.self)
        let runner = StateMachineRunner(configuration: configuration([a, b]), nodes: HangingInitiateNodes(initiateArrived: continuation),
                                     clock: ContinuousClock(), timeout: .seconds(30))
        let task = Task { await runner.run() }
        var iterator = arrived.makeAsyncIterator()
        await iterator.next()
        task.cancel()
        let result = await task.value
        #expect(result.outcome == nil)
        #expect(result.actions.map(\.command) == [.initiate(spec([a, b]).initiateConfig)], "replSetInitiate was sent, yet the report will say 'nothing was written'")
    }
}
