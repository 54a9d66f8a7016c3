import Foundation
import MongoBSON

/// `replSetHeartbeat` arguments (`repl_set_heartbeat_args_v1.h`).
struct HeartbeatArgs {
    var setName: String
    var configVersion: Int64
    var configTerm: Int64
    var senderHost: String?
    var senderId = -1
    var term: Int64
    var primaryId = -1
    var checkEmpty = false

    var configVersionAndTerm: ConfigVersionAndTerm { ConfigVersionAndTerm(version: configVersion, term: configTerm) }
}

/// A `replSetHeartbeat` reply with its `$replData` metadata (`repl_set_heartbeat_response.h`).
struct HeartbeatResponse {
    var setName: String
    var state: MemberState
    var electionTime: OpTime?
    var applied = OpTime.null
    var appliedWallMillis: Int64 = 0
    var term: Int64
    var primaryId: Int?
    var configVersion: Int64 = -2
    var configTerm: Int64 = -1
    var config: ReplicaSetConfig?
    var replicaSetId: ObjectId?
    var syncingTo: String?
}

/// Heartbeats between simulated members, after `replication_coordinator_impl_heartbeat.cpp`,
/// `TopologyCoordinator::prepareHeartbeatResponseV1` and `processHeartbeatResponse`.
///
/// Heartbeats are in-process calls: an unreachable target fails at once (mongod retries for
/// up to heartbeatTimeoutSecs before it marks a member DOWN).
extension ReplicaSetSimulator {
    /// `_startHeartbeats_inlock`: heartbeat every member now, and restart their liveness clocks.
    func startHeartbeats(_ member: Int) {
        nodes[member].seedList = []
        for host in nodes[member].peers.keys { nodes[member].peers[host]?.lastUpdate = .now }
        enqueue(.heartbeatRound(member))
    }

    /// One heartbeat to every member of the config (or, without a place in a config, to the seeds
    /// that contacted this node), then the next round after the heartbeat interval.
    func heartbeatRound(_ member: Int) {
        guard nodes[member].isRunning, nodes[member].replSetName != nil else { return }
        cancelTimer(.heartbeats(member))
        var targets = Array(nodes[member].seedList)
        if let config = nodes[member].config, nodes[member].selfIndex != nil {
            targets = config.members.map(\.host).filter { !nodes[member].isSelf($0) }
        }
        for host in targets { heartbeat(from: member, to: host) }
        if nodes[member].role == .leader { checkMemberTimeouts(member) }
        if !targets.isEmpty { schedule(.heartbeats(member), after: heartbeatInterval(member)) }
    }

    /// `prepareHeartbeatRequestV1`.
    func heartbeatArgs(_ member: Int) -> HeartbeatArgs {
        let node = nodes[member]
        guard let config = node.config else {
            return HeartbeatArgs(setName: node.replSetName ?? "", configVersion: -2, configTerm: -1, term: 0)
        }
        var args = HeartbeatArgs(setName: config.name, configVersion: config.version, configTerm: config.term, term: node.term)
        if let selfConfig = node.selfConfig {
            args.senderId = selfConfig.id
            args.senderHost = selfConfig.host
        }
        if let primary = node.primaryHost, let index = config.index(ofHost: primary) {
            args.primaryId = config.members[index].id
        }
        return args
    }

    /// Sends one heartbeat and processes the answer, as the sending member does. Heartbeats to a
    /// seed, once started, repeat every interval (mongod schedules the next one after each reply).
    func heartbeat(from member: Int, to host: String) {
        guard nodes[member].isRunning else { return }
        let args = heartbeatArgs(member)
        handleHeartbeatResponse(member, target: host, deliverHeartbeat(from: member, to: host, args: args))
        if nodes[member].selfIndex == nil, nodes[member].seedList.contains(host), !isScheduled(.heartbeats(member)) {
            schedule(.heartbeats(member), after: heartbeatInterval(member))
        }
    }

    /// The network and the target's `replSetHeartbeat` command.
    func deliverHeartbeat(from member: Int, to host: String, args: HeartbeatArgs) -> Result<HeartbeatResponse, CommandError> {
        guard let target = nodeIndex(for: host) else { return .failure(unresolvableHost(host)) }
        if let problem = connectionProblem(from: member, to: target) { return .failure(problem) }
        return processHeartbeat(target, args: args)
    }

    /// `processHeartbeatV1` with `prepareHeartbeatResponseV1`: answers, and heartbeats back when
    /// the sender may have a config this node needs.
    func processHeartbeat(_ member: Int, args: HeartbeatArgs) -> Result<HeartbeatResponse, CommandError> {
        guard let ourSetName = nodes[member].replSetName else {
            return .failure(CommandError(.noReplicationEnabled, "not running using replication"))
        }
        guard ourSetName == args.setName else {
            return .failure(CommandError(.inconsistentReplicaSetNames, "Our set name of \(ourSetName) does not match name \(args.setName) reported by remote node"))
        }
        let node = nodes[member]
        let state = node.topologyState
        var result: Result<HeartbeatResponse, CommandError>
        var senderConfigChanged = false
        if node.selfIndex == nil && state == .removed {
            result = .failure(CommandError(.invalidReplicaSetConfig, "Our replica set configuration is invalid or does not include us"))
        } else if let selfConfig = node.selfConfig, args.senderId == selfConfig.id {
            result = .failure(CommandError(.badValue, "Received heartbeat from member with the same member ID as ourself: \(args.senderId)"))
        } else {
            var response = HeartbeatResponse(setName: ourSetName, state: state, term: node.term)
            if state == .primary { response.electionTime = node.electionTime }
            if state != .startup2 {
                response.applied = node.lastApplied
                response.appliedWallMillis = node.storage.lastAppliedWallMillis
            }
            if let config = node.config {
                response.primaryId = node.primaryHost.flatMap(config.index(ofHost:)).map { config.members[$0].id }
                response.configVersion = config.version
                response.configTerm = config.term
                response.replicaSetId = config.settings.replicaSetId
                if config.versionAndTerm > args.configVersionAndTerm { response.config = config }
                if config.version == args.configVersion, let sender = config.member(withId: args.senderId), !node.isSelf(sender.host) {
                    nodes[member].peers[sender.host]?.lastHeartbeatRecv = Date()
                    nodes[member].peers[sender.host]?.lastUpdate = .now
                    nodes[member].peers[sender.host]?.lastUpdateStale = false
                    senderConfigChanged = (nodes[member].peers[sender.host]?.configVersionAndTerm).map { $0 < args.configVersionAndTerm } ?? false
                }
            }
            if node.memberState == .secondary { response.syncingTo = node.primaryHost }
            result = .success(response)
        }

        let sender = args.senderHost
        if senderConfigChanged, let sender { enqueue(.heartbeat(from: member, to: sender)) }
        let answered: Bool = if case .success = result { true } else { false }
        let invalidConfig: Bool = if case .failure(let error) = result { error.code == .invalidReplicaSetConfig } else { false }
        if (answered || invalidConfig) && node.selfIndex == nil {
            // Not in any config it knows: the sender probably has one that includes this node.
            if let sender, nodes[member].seedList.insert(sender).inserted {
                enqueue(.heartbeat(from: member, to: sender))
            }
        } else if answered, let config = node.config, config.versionAndTerm < args.configVersionAndTerm {
            // The sender's config is newer: fetch it (unless draining as a new primary).
            let draining = node.memberState == .primary && !node.isWritablePrimary && args.configTerm != -1
            if !draining, let sender { enqueue(.heartbeat(from: member, to: sender)) }
        } else if answered, args.primaryId >= 0, args.senderId == args.primaryId, args.term >= node.term,
                  let sender, node.config?.member(withId: args.senderId)?.host == sender,
                  node.primaryHost.flatMap({ node.config?.index(ofHost: $0) }).map({ node.config?.members[$0].id }) != args.primaryId {
            // The sender is a primary of this node's set that it did not know of: learn of it now.
            // A primary of another set that shares the name (a different member of that _id, or
            // none) is not ours: answering it with a heartbeat round, which it answers with one
            // of its own, went on for ever (disallow_adding_initialized_node2.js).
            enqueue(.heartbeatRound(member))
        }
        return result
    }

    /// `_handleHeartbeatResponse` with `TopologyCoordinator::processHeartbeatResponse`.
    func handleHeartbeatResponse(_ member: Int, target host: String, _ outcome: Result<HeartbeatResponse, CommandError>) {
        var outcome = outcome
        if case .success(let response) = outcome, let config = nodes[member].config {
            if config.name != response.setName {
                outcome = .failure(CommandError(.inconsistentReplicaSetNames, "replica set names do not match, ours: \(config.name); remote node's: \(response.setName)"))
            } else if let ours = config.settings.replicaSetId, let theirs = response.replicaSetId, ours != theirs {
                outcome = .failure(CommandError(.invalidReplicaSetConfig, "replica set IDs do not match, ours: \(ours.hex); remote node's: \(theirs.hex)"))
            }
        }
        if case .success(let response) = outcome {
            updateTerm(member, response.term)
            // A heartbeat from the primary of the current term postpones the election timeout.
            if response.state == .primary && response.term == nodes[member].term { rescheduleElectionTimeout(member) }
        }

        var newerConfig: ReplicaSetConfig?
        if case .success(let response) = outcome, let config = response.config {
            let current = nodes[member].config?.versionAndTerm ?? ConfigVersionAndTerm(version: -2, term: -1)
            if config.versionAndTerm > current {
                // Only a primary keeps processing the heartbeat before installing the new config.
                guard nodes[member].role == .leader else { return heartbeatReconfig(member, config) }
                newerConfig = config
            }
        }
        guard let config = nodes[member].config else { return }
        guard nodes[member].selfIndex != nil else {
            // Not in the config: try to find self again (DNS may have changed).
            return heartbeatReconfig(member, config)
        }
        guard let targetIndex = config.index(ofHost: host), !nodes[member].isSelf(host) else { return }

        switch outcome {
        case .failure(let error):
            nodes[member].peers[host]?.markDown(error.message, now: Date())
        case .success(let response):
            nodes[member].peers[host]?.recordUp(response)
        }
        updatePrimaryFromPeers(member)
        if case .success(let response) = outcome, response.state == .primary, response.term == nodes[member].term {
            considerPriorityTakeover(member, primaryIndex: targetIndex)
        }

        // A member past STARTUP2 loses its newlyAdded flag (`_reconfigToRemoveNewlyAddedField`).
        if nodes[member].memberState == .primary, case .success(let response) = outcome,
           [.secondary, .recovering, .rollback].contains(response.state), config.members[targetIndex].newlyAdded {
            enqueue(.removeNewlyAdded(member, memberId: config.members[targetIndex].id, configVersionAndTerm: config.versionAndTerm))
        }
        if let newerConfig { return heartbeatReconfig(member, newerConfig) }
        if nodes[member].memberState != nodes[member].topologyState { updateMemberState(member) }
        if nodes[member].role == .leader { updateCommitPoint(member) }
        if case .success(let response) = outcome, response.state == .primary, let primary = nodeIndex(for: host) {
            enqueue(.replicate(primary: primary))
        }
    }

    /// `_updatePrimaryFromHBDataV1`: the up member reporting PRIMARY in the newest term.
    func updatePrimaryFromPeers(_ member: Int) {
        guard nodes[member].role != .leader else { return }
        let primaries = nodes[member].peers.filter { $0.value.state == .primary && $0.value.isUp }
        let newest = primaries.max { $0.value.term < $1.value.term }?.key
        if newest != nodes[member].primaryHost {
            nodes[member].primaryHost = newest
            enqueueReplicationFromPrimary(of: member)
        }
    }

    /// `checkMemberTimeouts`: a primary marks members it has not heard from within the election
    /// timeout as down, and steps down when it can no longer see a majority.
    func checkMemberTimeouts(_ member: Int) {
        let timeout = electionTimeout(member)
        var stepDown = false
        for (host, peer) in nodes[member].peers where !peer.lastUpdateStale {
            guard let last = peer.lastUpdate, last.duration(to: .now) >= timeout else { continue }
            nodes[member].peers[host]?.lastUpdateStale = true
            nodes[member].peers[host]?.markDown("no response within election timeout period", now: Date())
            if !majoritySeemsUp(member) { stepDown = true }
        }
        if stepDown { stepDownNow(member) }
    }

    /// `_aMajoritySeemsToBeUp`.
    func majoritySeemsUp(_ member: Int) -> Bool {
        guard let config = nodes[member].config else { return false }
        let node = nodes[member]
        let upVotes = config.members.filter { other in
            other.isVoter && (node.isSelf(other.host) || node.peers[other.host]?.isUp == true)
        }.count
        return upVotes * 2 > config.totalVotingMembers
    }

    /// `_heartbeatReconfigStore` and `_heartbeatReconfigFinish`: installs a config learned from
    /// another member. An uninitialized node that is not in it stays uninitialized; an
    /// initialized one becomes REMOVED.
    func heartbeatReconfig(_ member: Int, _ config: ReplicaSetConfig) {
        let node = nodes[member]
        guard node.configState == .uninitialized || node.configState == .steady else { return }
        if node.memberState == .primary && !node.isWritablePrimary && config.term != -1 { return }
        var myIndex: Result<Int, CommandError>
        if let index = node.selfIndex, let current = node.config, current.hasSameContents(as: config) {
            myIndex = .success(index)
        } else if let quick = config.index(ofHost: node.host) {
            myIndex = .success(quick)
        } else {
            myIndex = findSelf(member, in: config)
        }
        do {
            try config.validate(allowSplitHorizonIP: true)
        } catch {
            myIndex = .failure(error)
        }
        if case .failure(let error) = myIndex, error.code == .nodeNotFound, node.config == nil { return }
        let index = try? myIndex.get()
        installConfig(member, config, selfIndex: index)
        if let index, !config.members[index].arbiterOnly { startDataReplication(member) }
    }
}

extension PeerData {
    /// `MemberData::setUpValues`.
    mutating func recordUp(_ response: HeartbeatResponse) {
        let now = Date()
        health = 1
        if upSince == nil { upSince = now }
        lastHeartbeat = now
        lastUpdate = .now
        lastUpdateStale = false
        lastHeartbeatMessage = ""
        state = response.state
        electionTime = response.electionTime
        if applied < response.applied {
            applied = response.applied
            appliedWallMillis = response.appliedWallMillis
        }
        let reported = ConfigVersionAndTerm(version: response.configVersion, term: response.configTerm)
        if configVersionAndTerm < reported {
            configVersion = response.configVersion
            configTerm = response.configTerm
        }
        term = response.term
        syncSource = response.syncingTo
    }
}
