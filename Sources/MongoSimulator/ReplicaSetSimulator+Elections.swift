import Foundation

enum ElectionReason: Equatable {
    case electionTimeout
    case singleNodePrompt
    case stepUp(skipDryRun: Bool)
    case priorityTakeover
}

/// Elections and step-downs, after `replication_coordinator_impl_elect_v1.cpp`,
/// `vote_requester.cpp` and `TopologyCoordinator` (`becomeCandidateIfElectable`,
/// `processReplSetRequestVotes`, `processWinElection`).
extension ReplicaSetSimulator {
    /// `_cancelAndRescheduleElectionTimeout_inlock`: an electable SECONDARY runs for election
    /// after electionTimeoutMillis plus up to 15% if it hears nothing from a primary.
    func rescheduleElectionTimeout(_ member: Int) {
        cancelTimer(.electionTimeout(member))
        let node = nodes[member]
        guard node.isRunning, node.memberState == .secondary, node.selfConfig?.isElectable == true else { return }
        let timeout = electionTimeout(member)
        let jitter = timeout * Double.random(in: 0..<max(options.timings.electionTimeoutJitter, .leastNonzeroMagnitude))
        schedule(.electionTimeout(member), after: timeout + jitter)
    }

    /// `_startElectSelfIfEligibleV1`: a dry run (unless skipped), then the real election in
    /// term + 1. Both complete at once here, as every vote request is an in-process call.
    func startElection(_ member: Int, reason: ElectionReason) {
        guard nodes[member].isRunning, nodes[member].config != nil else { return }
        if reason == .singleNodePrompt && !isElectableSingleNode(member) { return }
        rescheduleElectionTimeout(member)
        guard nodes[member].role == .follower, unelectableReason(member) == nil else { return }
        nodes[member].role = .candidate
        if reason != .stepUp(skipDryRun: true) && !collectVotes(member, term: nodes[member].term, dryRun: true) {
            return loseElection(member)
        }
        updateTerm(member, nodes[member].term + 1)
        nodes[member].storage.lastVoteTerm = nodes[member].term
        nodes[member].storage.lastVoteCandidate = nodes[member].selfIndex ?? -1
        if nodes[member].faults.electionsToFail > 0 {
            nodes[member].faults.electionsToFail -= 1
            return loseElection(member)
        }
        collectVotes(member, term: nodes[member].term, dryRun: false) ? winElection(member) : loseElection(member)
    }

    /// `_getMyUnelectableReason` for an election timeout or a step-up request.
    func unelectableReason(_ member: Int) -> String? {
        let node = nodes[member]
        if node.lastApplied.isNull { return "node has no applied oplog entries" }
        if !majoritySeemsUp(member) { return "I cannot see a majority" }
        guard let me = node.selfConfig else { return "node is not a member of a valid replica set configuration" }
        if me.arbiterOnly { return "member is an arbiter" }
        if me.effectivePriority <= 0 { return "member has zero priority" }
        if let until = node.stepDownUntil, until > .now { return "I am still waiting for stepdown period to end" }
        if node.memberState != .secondary && node.role != .leader { return "member is not currently a secondary" }
        return nil
    }

    /// `VoteRequester`: this member's vote and those of the voters it can reach.
    private func collectVotes(_ member: Int, term: Int64, dryRun: Bool) -> Bool {
        guard let config = nodes[member].config, let selfIndex = nodes[member].selfIndex else { return false }
        var votes = config.members[selfIndex].isVoter ? 1 : 0
        for (index, other) in config.members.enumerated() where index != selfIndex && other.isVoter {
            guard let voter = nodeIndex(for: other.host), connectionProblem(from: member, to: voter) == nil else { continue }
            if grantsVote(voter, to: member, term: term, dryRun: dryRun) { votes += 1 }
        }
        return votes >= config.majorityVoteCount
    }

    /// `processReplSetRequestVotes` on the voter.
    private func grantsVote(_ voter: Int, to candidate: Int, term: Int64, dryRun: Bool) -> Bool {
        guard nodes[voter].replSetName != nil, let candidateConfig = nodes[candidate].config else { return false }
        updateTerm(voter, term)
        let node = nodes[voter]
        guard let config = node.config, let me = node.selfConfig else { return false }
        if candidateConfig.versionAndTerm < config.versionAndTerm { return false }
        if term < node.term { return false }
        if candidateConfig.name != config.name { return false }
        if nodes[candidate].lastApplied < node.lastApplied { return false }
        if !dryRun && node.storage.lastVoteTerm == term { return false }
        if candidateConfig.versionAndTerm == config.versionAndTerm && me.arbiterOnly {
            // An arbiter does not help unseat a healthy primary of equal or greater priority.
            let candidatePriority = config.index(ofHost: nodes[candidate].selfHost).map { config.members[$0].effectivePriority } ?? 0
            let betterPrimary = node.peers.contains { host, peer in
                peer.isUp && peer.state == .primary && host != nodes[candidate].selfHost
                    && (config.index(ofHost: host).map { config.members[$0].effectivePriority } ?? 0) >= candidatePriority
            }
            if betterPrimary { return false }
        }
        if !dryRun {
            nodes[voter].storage.lastVoteTerm = term
            nodes[voter].storage.lastVoteCandidate = nodes[candidate].selfIndex ?? -1
        }
        return true
    }

    /// `_postWonElectionUpdateMemberState`: PRIMARY at once, writable after the drain.
    private func winElection(_ member: Int) {
        let term = nodes[member].term
        nodes[member].role = .leader
        nodes[member].leaderMode = .leaderElect
        nodes[member].electionIdTerm = term
        nodes[member].electionTime = timestamps.next(term: term)
        nodes[member].primaryHost = nodes[member].selfHost
        // Nothing commits until the first entry of the new term (`processWinElection`).
        nodes[member].firstOpTimeOfMyTerm = OpTime(seconds: .max, increment: 0, term: .max)
        emit(member, .electionWon(term: term))
        updateMemberState(member)
        startHeartbeats(member)
        schedule(.drained(member), after: options.timings.drain)
    }

    private func loseElection(_ member: Int) {
        nodes[member].role = .follower
        emit(member, .electionLost(term: nodes[member].term))
    }

    /// `signalDrainComplete`: the config's term becomes the primary's term (an optimized
    /// reconfig), the first oplog entry of the term is written, and writes are accepted.
    func finishDraining(_ member: Int) {
        guard nodes[member].isRunning, nodes[member].role == .leader, nodes[member].leaderMode == .leaderElect,
              let config = nodes[member].config else { return }
        let term = nodes[member].term
        if config.term != -1 && config.term != term {
            var bumped = config
            bumped.term = term
            installConfig(member, bumped, selfIndex: nodes[member].selfIndex)
        }
        nodes[member].leaderMode = .writablePrimary
        let entry = timestamps.next(term: term)
        nodes[member].storage.lastApplied = entry
        nodes[member].storage.lastAppliedWallMillis = Int64(Date().timeIntervalSince1970 * 1000)
        nodes[member].firstOpTimeOfMyTerm = entry
        emit(member, .becameWritablePrimary)
        updateMemberState(member)
        enqueue(.replicate(primary: member))
    }

    /// An unconditional step-down (newer term, new config, lost majority).
    func stepDownNow(_ member: Int) {
        guard nodes[member].role == .leader else { return }
        nodes[member].role = .follower
        nodes[member].leaderMode = .notLeader
        let otherPrimaries = nodes[member].peers.filter { $0.value.isUp && $0.value.state == .primary }
        nodes[member].primaryHost = otherPrimaries.count == 1 ? otherPrimaries.first?.key : nil
        emit(member, .steppedDown)
        updateMemberState(member)
    }

    /// `replSetStepDown`: the topology version changes when the step-down starts, the member
    /// cannot run for election for the period, and the election is handed off to the most
    /// suitable secondary (`_performElectionHandoff`).
    func stepDownByRequest(_ member: Int, period: Duration) {
        guard nodes[member].isRunning, nodes[member].role == .leader else { return }
        // Writes stop first, and waiting hellos hear of it: isWritablePrimary and secondary both
        // false, primary still set (awaitable_hello_stepdown_stepup.js).
        nodes[member].leaderMode = .steppingDown
        topologyChanged(member)
        // mongod waits for heartbeats showing a caught-up electable secondary; one round does it here.
        heartbeatRound(member)
        guard nodes[member].role == .leader else { return }
        let handoff = electionHandoffCandidate(member)
        nodes[member].stepDownUntil = .now + period
        stepDownNow(member)
        schedule(.stepDownExpired(member), after: period)
        if let handoff { enqueue(.election(handoff, .stepUp(skipDryRun: true))) }
    }

    /// `_shouldTakeOverPrimary` (topology_coordinator.cpp) and the PriorityTakeover action of
    /// `_handleHeartbeatResponseAction` (replication_coordinator_impl_heartbeat.cpp): a heartbeat
    /// response from the primary of our term, whose priority is below ours, schedules an
    /// election after (priority rank + 1) election timeouts plus the usual random offset.
    func considerPriorityTakeover(_ member: Int, primaryIndex: Int) {
        let node = nodes[member]
        guard let config = node.config, let me = node.selfConfig, me.isElectable, node.memberState == .secondary,
              config.members[primaryIndex].effectivePriority < me.effectivePriority,
              !isScheduled(.priorityTakeover(member)) else { return }
        let rank = config.members.filter { $0.effectivePriority > me.effectivePriority }.count
        let timeout = electionTimeout(member)
        let offset = timeout * Double.random(in: 0..<max(options.timings.electionTimeoutJitter, .leastNonzeroMagnitude))
        schedule(.priorityTakeover(member), after: timeout * (rank + 1) + offset)
    }

    /// `chooseElectionHandoffCandidate` (topology_coordinator.cpp): a caught-up, electable
    /// secondary with the highest priority, lowest index first.
    func electionHandoffCandidate(_ member: Int) -> Int? {
        guard let config = nodes[member].config else { return nil }
        let lastApplied = nodes[member].lastApplied
        let candidates = config.members.enumerated().filter { index, other in
            guard index != nodes[member].selfIndex, other.isElectable, let peer = nodes[member].peers[other.host] else { return false }
            return peer.isUp && peer.state == .secondary && peer.applied >= lastApplied
        }
        let best = candidates.max { $0.element.effectivePriority < $1.element.effectivePriority || ($0.element.effectivePriority == $1.element.effectivePriority && $0.offset > $1.offset) }
        return best.flatMap { nodeIndex(for: $0.element.host) }
    }
}
