/// Access to the nodes, as the runner needs it: run one of the state machine's commands on one
/// node. The libmongoc implementation is `MongocNodes`; tests may script their own.
public protocol ReplicaSetNodes: Sendable {
    func run(_ command: NodeCommand, on host: HostAddress) async throws(MongoError) -> CommandReply

    /// Starts `command` with no task of the caller's waiting for it, when these nodes can:
    /// `completion` is called once with the answer, from any thread. False: nothing was
    /// started, and the caller runs `run`. (A task per command in flight holds its async frames,
    /// a few KiB, for as long as a node takes to answer: an awaitable hello's maxAwaitTimeMS.)
    func start(_ command: NodeCommand, on host: HostAddress,
               completion: @escaping @Sendable (Result<CommandReply, MongoError>) -> Void) -> Bool
}

extension ReplicaSetNodes {
    public func start(_ command: NodeCommand, on host: HostAddress,
                      completion: @escaping @Sendable (Result<CommandReply, MongoError>) -> Void) -> Bool {
        false
    }
}
