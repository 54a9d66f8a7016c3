import Foundation
import MongoBSON

/// Member states, config installation and (simulated) data replication, after
/// `replication_coordinator_impl.cpp` and `topology_coordinator.cpp`.
extension ReplicaSetSimulator {
    /// A mongod process starting: `ReplicationCoordinatorImpl::startup` and `_finishLoadLocalConfig`.
    func bootProcess(_ member: Int) {
        nodes[member].boot()
        emit(member, .processStarted)
        guard let setName = nodes[member].replSetName, let stored = nodes[member].storage.config else { return }
        // validateConfigForStartUp: a config that does not name this node (or another set's
        // config) leaves the node REMOVED, waiting for a reconfig or a heartbeat.
        var myIndex = try? findSelf(member, in: stored).get()
        if stored.name != setName { myIndex = nil }
        installConfig(member, stored, selfIndex: myIndex)
        let storage = nodes[member].storage
        updateTerm(member, max(storage.lastApplied.term, storage.lastVoteTerm))
        if let myIndex, !stored.members[myIndex].arbiterOnly { startDataReplication(member) }
    }

    /// `findSelfInConfig`: exactly one member must map to this node.
    func findSelf(_ member: Int, in config: ReplicaSetConfig) -> Result<Int, CommandError> {
        let matches = config.members.indices.filter { nodes[member].isSelf(config.members[$0].host) }
        if matches.isEmpty {
            return .failure(CommandError(.nodeNotFound, "No host described in new configuration with \(config.versionAndTerm) for replica set \(config.name) maps to this node"))
        }
        if matches.count > 1 {
            let hosts = matches.map { config.members[$0].host }
            let list = hosts.dropLast().joined(separator: ", ")
            return .failure(CommandError(.invalidReplicaSetConfig, "The hosts \(list) and \(hosts[hosts.count - 1]) all map to this node in new configuration with \(config.versionAndTerm) for replica set \(config.name)"))
        }
        return .success(matches[0])
    }

    /// `checkElectable` (`repl_set_config_checks.cpp`).
    func checkElectable(_ config: ReplicaSetConfig, index: Int) -> CommandError? {
        let me = config.members[index]
        guard !me.isElectable else { return nil }
        return CommandError(.nodeNotElectable, "This node, \(me.host), with _id \(me.id) is not electable under the new configuration with \(config.versionAndTerm) for replica set \(config.name)")
    }

    /// `_setCurrentRSConfig` with `TopologyCoordinator::updateConfig`: installs (and persists)
    /// the config, rebuilds the heartbeat data, steps down when no longer electable, and starts
    /// heartbeating.
    func installConfig(_ member: Int, _ config: ReplicaSetConfig, selfIndex: Int?) {
        let wasInitialized = nodes[member].config != nil
        if !wasInitialized { nodes[member].term = 0 }
        var peers: [String: PeerData] = [:]
        for (index, other) in config.members.enumerated() where index != selfIndex {
            peers[other.host] = nodes[member].peers[other.host] ?? PeerData()
        }
        nodes[member].peers = peers
        nodes[member].config = config
        nodes[member].storage.config = config
        nodes[member].selfIndex = selfIndex
        nodes[member].configState = .steady
        if nodes[member].role == .leader {
            if let selfIndex, config.members[selfIndex].isElectable {
                nodes[member].primaryHost = nodes[member].selfHost
            } else {
                stepDownNow(member)
            }
        } else {
            nodes[member].primaryHost = nil
        }
        emit(member, .configInstalled(version: config.version, term: config.term))
        updateMemberState(member)
        if isElectableSingleNode(member) { enqueue(.election(member, .singleNodePrompt)) }
        if selfIndex != nil {
            startHeartbeats(member)
        } else {
            nodes[member].seedList = []
        }
        updateCommitPoint(member)
    }

    /// `_updateMemberStateFromTopologyCoordinator`: publishes the state, bumps the topology
    /// version (on every call once a config is installed, even when the state is unchanged, as
    /// mongod does), and re-arms the election timeout. A member that becomes REMOVED closes its
    /// client connections (`kActionRollbackOrRemoved`); one that stops being REMOVED fails the
    /// hellos that waited for a valid config.
    func updateMemberState(_ member: Int) {
        let old = nodes[member].memberState
        let new = nodes[member].topologyState
        if new != old {
            if old == .removed && new != .arbiter && nodes[member].selfIndex != nil {
                startDataReplication(member)
            }
            nodes[member].memberState = new
            emit(member, .state(new))
            rescheduleElectionTimeout(member)
            if new == .secondary && old != .primary && isElectableSingleNode(member) {
                enqueue(.election(member, .singleNodePrompt))
            }
            if new == .secondary || new == .recovering { enqueueReplicationFromPrimary(of: member) }
            if new == .removed {
                closeClientConnections(member)
            } else if old == .removed {
                rejoined(member)
            }
        }
        if nodes[member].config != nil { topologyChanged(member) }
    }

    /// `isElectableNodeInSingleNodeReplicaSet`.
    func isElectableSingleNode(_ member: Int) -> Bool {
        nodes[member].config?.members.count == 1 && nodes[member].selfIndex == 0 && nodes[member].topologyState == .secondary
    }

    // MARK: - Data replication

    /// `_startDataReplication`: a member with an oplog goes RECOVERING then SECONDARY; an empty
    /// one stays in STARTUP2 for an initial sync first.
    func startDataReplication(_ member: Int) {
        guard !nodes[member].dataReplicationStarted else { return }
        nodes[member].dataReplicationStarted = true
        if nodes[member].lastApplied.isNull {
            schedule(.initialSync(member), after: options.timings.initialSync)
        } else {
            beginRecovering(member)
        }
    }

    private func beginRecovering(_ member: Int) {
        nodes[member].followerMode = .recovering
        updateMemberState(member)
        schedule(.recovered(member), after: options.timings.recovering)
    }

    /// Initial sync copies the oplog of a member that has one (the primary if possible); with
    /// no such member reachable it tries again later, as the initial syncer does.
    func finishInitialSync(_ member: Int) {
        guard nodes[member].isRunning, nodes[member].config != nil else { return }
        let sources = nodes.indices.filter { other in
            other != member && nodes[other].isRunning && !nodes[other].lastApplied.isNull
                && connectionProblem(from: member, to: other) == nil
                && [.primary, .secondary].contains(nodes[other].memberState)
                && nodes[member].config?.members.contains(where: { nodes[other].isSelf($0.host) }) == true
        }
        guard let source = sources.first(where: { nodes[$0].memberState == .primary }) ?? sources.first else {
            schedule(.initialSync(member), after: options.timings.initialSync)
            return
        }
        nodes[member].storage.lastApplied = nodes[source].lastApplied
        nodes[member].storage.lastAppliedWallMillis = nodes[source].storage.lastAppliedWallMillis
        beginRecovering(member)
    }

    /// `finishRecoveryIfEligible`: RECOVERING becomes SECONDARY.
    func finishRecovering(_ member: Int) {
        guard nodes[member].isRunning, nodes[member].followerMode == .recovering, nodes[member].role == .follower else { return }
        nodes[member].followerMode = .secondary
        updateMemberState(member)
    }

    func enqueueReplicationFromPrimary(of member: Int) {
        guard let primary = nodes[member].primaryHost.flatMap(nodeIndex(for:)) else { return }
        enqueue(.replicate(primary: primary))
    }

    /// Stands in for the oplog fetcher and replSetUpdatePosition: secondaries that can reach the
    /// primary copy its newest oplog entry and commit point, and the primary learns their progress.
    func replicateFrom(_ primary: Int) {
        guard nodes[primary].isRunning, nodes[primary].role == .leader else { return }
        for member in nodes.indices where member != primary {
            guard nodes[member].isRunning, [.secondary, .recovering].contains(nodes[member].memberState),
                  nodes[member].selfConfig?.arbiterOnly == false,
                  connectionProblem(from: member, to: primary) == nil,
                  nodes[member].term <= nodes[primary].term
            else { continue }
            if nodes[member].lastApplied < nodes[primary].lastApplied {
                nodes[member].storage.lastApplied = nodes[primary].lastApplied
                nodes[member].storage.lastAppliedWallMillis = nodes[primary].storage.lastAppliedWallMillis
            }
            let (host, applied, wall) = (nodes[member].selfHost, nodes[member].lastApplied, nodes[member].storage.lastAppliedWallMillis)
            nodes[primary].peers[host]?.applied = applied
            nodes[primary].peers[host]?.appliedWallMillis = wall
        }
        updateCommitPoint(primary)
        for member in nodes.indices where member != primary && nodes[member].primaryHost == nodes[primary].selfHost {
            let committed = min(nodes[primary].lastCommitted, nodes[member].lastApplied)
            if nodes[member].lastCommitted < committed { nodes[member].lastCommitted = committed }
        }
    }

    /// `updateLastCommittedOpTimeAndWallTime`: the primary's commit point is the newest optime
    /// a write majority of voters has.
    func updateCommitPoint(_ member: Int) {
        guard nodes[member].role == .leader, let config = nodes[member].config else { return }
        var optimes: [OpTime] = []
        for other in config.members where other.isVoter {
            optimes.append(nodes[member].isSelf(other.host) ? nodes[member].lastApplied : nodes[member].peers[other.host]?.applied ?? .null)
        }
        guard optimes.count >= config.writeMajority else { return }
        let committed = optimes.sorted()[optimes.count - config.writeMajority]
        if committed >= nodes[member].firstOpTimeOfMyTerm, committed > nodes[member].lastCommitted {
            nodes[member].lastCommitted = committed
        }
    }

    // MARK: - Terms and connectivity

    /// `TopologyCoordinator::updateTerm`: a primary that learns of a newer term steps down.
    func updateTerm(_ member: Int, _ term: Int64) {
        guard term > nodes[member].term else { return }
        if nodes[member].role == .leader { stepDownNow(member) }
        cancelTimer(.priorityTakeover(member))
        nodes[member].term = term
        rescheduleElectionTimeout(member)
    }

    /// The simulated member a host string from a config reaches, if any.
    func nodeIndex(for host: String) -> Int? {
        nodes.firstIndex { $0.isSelf(host) }
    }

    /// Why `from` cannot talk to `to` over the network, as mongod's network layer words it.
    func connectionProblem(from: Int, to: Int) -> CommandError? {
        let target = nodes[to]
        if !target.isRunning || !target.isListening {
            return CommandError(.hostUnreachable, "Error connecting to \(target.host) :: caused by :: Connection refused")
        }
        if partitions.contains([from, to]) {
            return CommandError(.exceededTimeLimit, "Couldn't get a connection within the time limit")
        }
        if target.faults.closeConnectionsOnAccept {
            return CommandError(.hostUnreachable, "Connection closed by peer")
        }
        return nil
    }

    func unresolvableHost(_ host: String) -> CommandError {
        CommandError(.hostUnreachable, "Error connecting to \(host) :: caused by :: Could not find address for \(host): SocketException: Host not found (authoritative)")
    }

    func electionTimeout(_ member: Int) -> Duration {
        options.timings.electionTimeout ?? .milliseconds(nodes[member].config?.settings.electionTimeoutMillis ?? 10000)
    }

    func heartbeatInterval(_ member: Int) -> Duration {
        options.timings.heartbeatInterval ?? .milliseconds(nodes[member].config?.settings.heartbeatIntervalMillis ?? 2000)
    }
}
