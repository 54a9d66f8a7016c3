import MongoBSON

/// How an awaitable hello that waited ends.
enum HelloWake: Sendable {
    /// The response built at the first topology change (`_fulfillTopologyChangePromise`).
    case reply(BSONDocument)
    /// maxAwaitTimeMS passed: the caller answers with the current response.
    case timedOut
    /// The connection was closed under it (REMOVED, rejoining, process stopped).
    case dropped
}

/// An awaitable hello waiting on a member.
struct HelloWaiter {
    let member: Int
    let connection: Int32
    let command: BSONDocument
    let legacy: Bool
    /// The member had no valid config (uninitialized or REMOVED) when the hello arrived: it waits
    /// in `_sniToValidConfigPromiseMap` for one, not for any topology change.
    let forValidConfig: Bool
    let continuation: CheckedContinuation<HelloWake, Never>
}

/// The topology version and the hellos waiting on it, after `replication_coordinator_impl.cpp`
/// (`_getHelloResponseFuture`, `_fulfillTopologyChangePromise`, `_errorOnPromisesIfHorizonChanged`,
/// `_performPostMemberStateUpdateAction`) and `replication_info.cpp` (`CmdHello`, which ends the
/// session when the wait fails with SplitHorizonChange).
extension ReplicaSetSimulator {
    /// `_fulfillTopologyChangePromise`: the counter goes up by exactly one and every hello waiting
    /// for a change is answered with the response of this very moment, so a client sees each
    /// intermediate state (a primary that stopped taking writes but is not yet SECONDARY, a new
    /// primary still draining). Hellos waiting for a valid config are answered once there is one.
    func topologyChanged(_ member: Int) {
        nodes[member].topologyCounter += 1
        let hasValidConfig = nodes[member].hasValidConfig
        for (id, waiter) in helloWaiters where waiter.member == member && (hasValidConfig || !waiter.forValidConfig) {
            finishHelloWait(id, .reply(helloReply(member, waiter.command, legacy: waiter.legacy, connection: waiter.connection)))
        }
    }

    /// Suspends an awaitable hello until the member's topology changes (or it gets a valid config),
    /// maxAwaitTimeMS passes, or its connection goes away.
    func awaitTopologyChange(_ member: Int, command: BSONDocument, legacy: Bool, connection: Int32,
                             maxAwaitTimeMS: Int64) async -> HelloWake {
        guard !isShutDown, nodes[member].isRunning else { return .dropped }
        nextHelloWaiterId += 1
        let id = nextHelloWaiterId
        let forValidConfig = nodes[member].replSetName != nil && !nodes[member].hasValidConfig
        return await withCheckedContinuation { continuation in
            helloWaiters[id] = HelloWaiter(member: member, connection: connection, command: command, legacy: legacy,
                                           forValidConfig: forValidConfig, continuation: continuation)
            schedule(.helloDeadline(id), after: .milliseconds(min(maxAwaitTimeMS, Int64(Int32.max))))
        }
    }

    func finishHelloWait(_ id: Int, _ wake: HelloWake) {
        guard let waiter = helloWaiters.removeValue(forKey: id) else { return }
        cancelTimer(.helloDeadline(id))
        waiter.continuation.resume(returning: wake)
    }

    /// The waiting hellos of a member fail as network errors: their connections are closed.
    func dropHelloWaiters(of member: Int, onlyForValidConfig: Bool = false) {
        for (id, waiter) in helloWaiters where waiter.member == member && (!onlyForValidConfig || waiter.forValidConfig) {
            finishHelloWait(id, .dropped)
        }
    }

    /// `kActionRollbackOrRemoved` → `ReplicationCoordinatorExternalStateImpl::closeConnections`:
    /// a member that becomes REMOVED closes every client connection (remove1.js: "the secondary
    /// disconnects us when it picks up the new config"); it keeps listening.
    func closeClientConnections(_ member: Int) {
        dropHelloWaiters(of: member)
        servers[member].closeConnections()
    }

    /// `_errorOnPromisesIfHorizonChanged`: a REMOVED member that rejoins fails the hellos it
    /// received while it had no valid config with SplitHorizonChange, and hello ends their
    /// sessions (awaitable_hello_on_nodes_with_invalid_configs.js).
    func rejoined(_ member: Int) {
        dropHelloWaiters(of: member, onlyForValidConfig: true)
    }
}
