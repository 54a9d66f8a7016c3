/// Where a run stands. It is read afresh at each event from what the nodes last said, not kept:
/// a set can vanish (its initiator restarted with an empty dbpath) and come back, a primary can
/// step down. What a phase learns outlives it in its sub-state (`InitiateAttempts`,
/// `StepUpAttempts`, `ReconfigurationProgress`). See `README.md` for the diagram.
extension ReplicaSetStateMachine {
    enum Phase: Equatable {
        /// No config of the wanted set read yet: observe until every node is confirmed fresh,
        /// then initiate.
        case initiating
        /// The set exists (its newest config read) and no member is its writable primary:
        /// step-up, or a forced reconfig.
        case electing(ReplicaSetConfig)
        /// A writable primary (an index into `nodes`): one safe reconfig at a time, each
        /// committed before the next, then verify.
        case reconfiguring(primary: Int, ReplicaSetConfig)
    }

    /// The phase of a run that has not finished (after `finish`, events are ignored).
    var phase: Phase {
        guard let current = currentConfig?.value else { return .initiating }
        guard let primary = writablePrimary else { return .electing(current) }
        return .reconfiguring(primary: primary, current)
    }
}
