/// Access to the nodes, as the runner needs it: run one of the state machine's commands on one
/// node. The libmongoc implementation is `MongocNodes`; tests may script their own.
public protocol ReplicaSetNodes: Sendable {
    func run(_ command: NodeCommand, on host: HostAddress) async throws(MongoError) -> CommandReply
}
