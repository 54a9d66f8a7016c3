/// The one loop that performs the state machine's actions: it sends commands through
/// `ReplicaSetNodes`, sleeps on the injected clock, feeds every result back as an event and ends
/// with the machine's outcome. All I/O of a run happens here.
public struct StateMachineRunner<RunClock: Clock>: Sendable where RunClock.Duration == Duration {
    public typealias ProgressHandler = @Sendable (Progress, _ elapsed: Duration) -> Void

    /// How a run ended: with the machine's outcome, or interrupted (task cancelled) without one.
    public struct Result: Sendable {
        public var outcome: Outcome?
        public var elapsed: Duration
        /// The write commands sent, also when interrupted.
        public var actions: [ActionRecord]
    }

    private enum Event: Sendable {
        case helloReplied(HostAddress, Swift.Result<CommandReply, MongoError>)
        case commandReplied(HostAddress, Swift.Result<CommandReply, MongoError>)
        case timerFired
        case deadlineReached
    }

    private let configuration: ReplicaSetStateMachine.Configuration
    private let nodes: any ReplicaSetNodes
    private let clock: RunClock
    private let timeout: Duration
    private let onProgress: ProgressHandler

    public init(configuration: ReplicaSetStateMachine.Configuration, nodes: any ReplicaSetNodes, clock: RunClock,
                timeout: Duration, onProgress: @escaping ProgressHandler = { _, _ in }) {
        self.configuration = configuration
        self.nodes = nodes
        self.clock = clock
        self.timeout = timeout
        self.onProgress = onProgress
    }

    public func run() async -> Result {
        var machine = ReplicaSetStateMachine(configuration)
        let start = clock.now
        let elapsed = { start.duration(to: clock.now) }
        let (events, sink) = AsyncStream.makeStream(of: Event.self)
        var outcome: Outcome?

        // Discarding: finished sends and timers must not pile up during a long wait.
        await withDiscardingTaskGroup { group in
            group.addTask { [clock] in
                guard (try? await clock.sleep(until: start.advanced(by: timeout), tolerance: nil)) != nil else { return }
                sink.yield(.deadlineReached)
            }
            var pending = machine.start(at: .zero)
            var iterator = events.makeAsyncIterator()
            loop: while true {
                for action in pending {
                    switch action {
                    case .send(let command, let host):
                        perform(command, on: host, after: .zero, in: &group, sink: sink)
                    case .sendLater(let command, let host, let delay):
                        perform(command, on: host, after: delay, in: &group, sink: sink)
                    case .wakeUp(let delay):
                        group.addTask { [clock] in
                            guard (try? await clock.sleep(for: delay)) != nil else { return }
                            sink.yield(.timerFired)
                        }
                    case .report(let progress):
                        onProgress(progress, elapsed())
                    case .finish(let result):
                        outcome = result
                        break loop
                    }
                }
                // nil: the run was cancelled (SIGTERM/SIGINT).
                guard let event = await iterator.next() else { break }
                let now = elapsed()
                switch event {
                case .helloReplied(let host, .success(.hello(let hello))):
                    pending = machine.helloReceived(hello, from: host, at: now)
                case .helloReplied(let host, .success(let other)):
                    preconditionFailure("monitoring connection of \(host) answered \(other)")
                case .helloReplied(let host, .failure(let error)):
                    pending = machine.helloFailed(error, from: host, at: now)
                case .commandReplied(let host, .success(let reply)):
                    pending = machine.commandSucceeded(reply, from: host, at: now)
                case .commandReplied(let host, .failure(let error)):
                    pending = machine.commandFailed(error, from: host, at: now)
                case .timerFired:
                    pending = machine.timerFired(at: now)
                case .deadlineReached:
                    pending = machine.deadlineReached(at: now)
                }
            }
            // Blocked driver calls return at once when cancelled; nothing is left waiting.
            sink.finish()
            group.cancelAll()
        }
        return Result(outcome: outcome, elapsed: elapsed(), actions: machine.actionsTaken)
    }

    /// Sends through `ReplicaSetNodes.start` where the nodes can (no task waits for the answer),
    /// else in a task of `group`. After the run, answers go to a finished stream, which drops them.
    private func perform(_ command: NodeCommand, on host: HostAddress, after delay: Duration,
                         in group: inout DiscardingTaskGroup, sink: AsyncStream<Event>.Continuation) {
        let deliver: @Sendable (Swift.Result<CommandReply, MongoError>) -> Void = { result in
            sink.yield(command.usesMonitorConnection ? .helloReplied(host, result) : .commandReplied(host, result))
        }
        if delay == .zero, nodes.start(command, on: host, completion: deliver) { return }
        group.addTask { [clock, nodes] in
            if delay > .zero {
                guard (try? await clock.sleep(for: delay)) != nil else { return }
            }
            guard !Task.isCancelled, !nodes.start(command, on: host, completion: deliver) else { return }
            let result: Swift.Result<CommandReply, MongoError>
            do throws(MongoError) {
                result = .success(try await nodes.run(command, on: host))
            } catch {
                result = .failure(error)
            }
            guard !Task.isCancelled else { return }
            deliver(result)
        }
    }
}
