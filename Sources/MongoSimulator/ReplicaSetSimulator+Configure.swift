import Foundation
import MongoBSON

/// replSetInitiate and replSetReconfig, after `CmdReplSetInitiate`/`CmdReplSetReconfig`
/// (`repl_set_commands.cpp`), `processReplSetInitiate`/`_doReplSetReconfig`
/// (`replication_coordinator_impl.cpp`), `repl_set_config_checks.cpp` and
/// `check_quorum_for_config_change.cpp`.
extension ReplicaSetSimulator {
    // MARK: - replSetInitiate

    func replSetInitiate(_ member: Int, _ command: BSONDocument) async throws(CommandError) -> BSONDocument {
        guard let setName = nodes[member].replSetName else {
            throw CommandError(.noReplicationEnabled, "This node was not started with replication enabled.")
        }
        var reply = BSONDocument()
        var configDocument = command["replSetInitiate"]?.documentValue ?? [:]
        if configDocument.isEmpty {
            // No config: one member, this node, under its bind address (`someHostAndPortForMe`).
            reply.append("info2", "no configuration specified. Using a default configuration for the set")
            reply.append("me", .string(nodes[member].host))
            configDocument = ["_id": .string(setName), "version": 1, "members": [["_id": 0, "host": .string(nodes[member].host)]]]
        }
        if configDocument["version"] == nil { configDocument.append("version", 1) }
        try await processReplSetInitiate(member, configDocument, setName: setName)
        reply.append("ok", 1.0)
        return reply
    }

    private func processReplSetInitiate(_ member: Int, _ document: BSONDocument, setName: String) async throws(CommandError) {
        guard nodes[member].configState == .uninitialized else {
            throw CommandError(.alreadyInitialized, "already initialized")
        }
        nodes[member].configState = .initiating
        do throws(CommandError) {
            try await initiate(member, document, setName: setName)
        } catch {
            if nodes[member].configState == .initiating { nodes[member].configState = .uninitialized }
            throw error
        }
    }

    private func initiate(_ member: Int, _ document: BSONDocument, setName: String) async throws(CommandError) {
        let config: ReplicaSetConfig
        do {
            config = try ReplicaSetConfig(parsing: document, forceTerm: 0, defaultReplicaSetId: ObjectId.generate(),
                                          dialect: options.serverVersion)
        } catch {
            throw error.recoded(.invalidReplicaSetConfig)
        }
        if document["settings"]?.documentValue?["replicaSetId"] != nil {
            throw CommandError(.invalidReplicaSetConfig, "replica set configuration cannot contain 'replicaSetId' field when called from replSetInitiate: \(BSONText.render(document))")
        }
        guard config.name == setName else {
            throw CommandError(.invalidReplicaSetConfig, "Rejecting initiate with a set name that differs from command line set name, initiate set name: \(config.name), command line set name: \(setName)")
        }
        let myIndex: Int
        do {
            myIndex = try validateConfigForInitiate(member, config)
        } catch {
            throw error.recoded(.invalidReplicaSetConfig)
        }
        try await checkQuorum(member, config, selfIndex: myIndex, term: 0)
        guard nodes[member].isRunning else { throw CommandError(.hostUnreachable, "shutting down") }
        // initializeReplSetStorage: the "initiating set" oplog entry, written before any term.
        nodes[member].storage.lastApplied = timestamps.next(term: -1)
        nodes[member].storage.lastAppliedWallMillis = Int64(Date().timeIntervalSince1970 * 1000)
        installConfig(member, config, selfIndex: myIndex)
        startDataReplication(member)
    }

    /// `validateConfigForInitiate`.
    private func validateConfigForInitiate(_ member: Int, _ config: ReplicaSetConfig) throws(CommandError) -> Int {
        try config.validate()
        try config.validateArbiterPriorities()
        if let added = config.members.first(where: \.newlyAdded) {
            throw CommandError(.invalidReplicaSetConfig, "Member \(added.host), with _id \(added.id), has a newlyAdded field, which is not valid for initial configuration of a replica set.")
        }
        guard config.version == 1 else {
            throw CommandError(.newReplicaSetConfigurationIncompatible, "Configuration used to initiate a replica set must  have version 1, but found \(config.version)")
        }
        let index = try findSelf(member, in: config).get()
        if let error = checkElectable(config, index: index) { throw error }
        return index
    }

    // MARK: - Quorum check

    /// `QuorumChecker`: a heartbeat to every other member, waiting for all of them (a slow member
    /// makes the check slow). Initiate needs every member to answer; a reconfig needs a majority
    /// of voters and one electable member. A member of another set vetoes.
    func checkQuorum(_ member: Int, _ config: ReplicaSetConfig, selfIndex: Int, term: Int64) async throws(CommandError) {
        let me = config.members[selfIndex]
        var args = HeartbeatArgs(setName: config.name, configVersion: config.version, configTerm: config.term,
                                 senderHost: me.host, senderId: me.id, term: term)
        args.checkEmpty = config.version == 1
        var slowest = Duration.zero
        var results: [(host: String, outcome: Result<HeartbeatResponse, CommandError>)] = []
        for (index, other) in config.members.enumerated() where index != selfIndex {
            results.append((other.host, deliverHeartbeat(from: member, to: other.host, args: args)))
            if let target = nodeIndex(for: other.host) { slowest = max(slowest, nodes[target].faults.replyDelay) }
        }
        if slowest > .zero { try? await Task.sleep(for: slowest) }

        var voters = me.isVoter ? [me.host] : []
        var electable = me.isElectable ? 1 : 0
        var failures: [String] = []
        for (host, outcome) in results {
            switch outcome {
            case .failure(let error) where error.code == .inconsistentReplicaSetNames:
                throw CommandError(.newReplicaSetConfigurationIncompatible, "Our set name did not match that of the request target, requestTarget:\(host)")
            case .failure(let error) where error.code != .invalidReplicaSetConfig:
                failures.append("\(host) failed with \(error.message)")
                continue
            case .success(let response):
                if let ours = config.settings.replicaSetId, let theirs = response.replicaSetId, ours != theirs {
                    throw CommandError(.newReplicaSetConfigurationIncompatible, "Our replica set ID did not match that of our request target, replSetId: \(ours.hex), requestTarget: \(host), requestTargetReplSetId: \(theirs.hex)")
                }
            case .failure:
                break
            }
            guard let responder = config.index(ofHost: host).map({ config.members[$0] }) else { continue }
            if responder.isElectable { electable += 1 }
            if responder.isVoter { voters.append(host) }
        }
        if config.version == 1 && !failures.isEmpty {
            throw CommandError(.nodeNotFound, "replSetInitiate quorum check failed because not all proposed set members responded affirmatively: \(failures.joined(separator: ", "))")
        }
        if electable == 0 {
            throw CommandError(.nodeNotFound, "Quorum check failed because no electable nodes responded; at least one required for config")
        }
        if voters.count < config.majorityVoteCount {
            var message = "Quorum check failed because not enough voting nodes responded; required \(config.majorityVoteCount) but "
            message += voters.isEmpty ? "none responded" : "only the following \(voters.count) voting nodes responded: \(voters.joined(separator: ", "))"
            if !failures.isEmpty { message += "; the following nodes did not respond affirmatively: \(failures.joined(separator: ", "))" }
            throw CommandError(.nodeNotFound, message)
        }
    }

    // MARK: - replSetReconfig

    func replSetReconfig(_ member: Int, _ command: BSONDocument) async throws(CommandError) -> BSONDocument {
        try checkReplEnabled(member)
        guard case .document(let newConfig) = command["replSetReconfig"] else {
            // mongod returns false without a code here.
            return ["ok": 0.0, "errmsg": "no configuration specified"]
        }
        let force = command["force"]?.isTruthy ?? false
        let deadline = try deadline(command)
        if !force {
            // Wait for the current config to be committed before running a new one.
            do {
                try await awaitConfigCommitment(member, waitForOplog: nodes[member].config?.term != -1, deadline: deadline)
            } catch {
                let rejected = error.withContext("New config is rejected")
                if rejected.code == .maxTimeMSExpired { throw rejected.recoded(.currentConfigNotCommittedYet) }
                if rejected.code == .primarySteppedDown { throw rejected.recoded(.notWritablePrimary) }
                throw rejected
            }
        }
        try await doReconfig(member, force: force) { old, term throws(CommandError) in
            try self.newConfigForReconfig(newConfig, old: old, term: term, force: force)
        }
        if !force {
            do {
                try await awaitConfigCommitment(member, waitForOplog: false, deadline: deadline)
            } catch {
                throw error.withContext("Reconfig finished but failed to propagate to a majority")
            }
        }
        return ["ok": 1.0]
    }

    /// `processReplSetReconfig`'s getNewConfig: parse in the current term, force bumps the
    /// version, and new voting members get `newlyAdded`.
    private func newConfigForReconfig(_ document: BSONDocument, old: ReplicaSetConfig, term: Int64, force: Bool) throws(CommandError) -> ReplicaSetConfig {
        var config: ReplicaSetConfig
        do {
            config = try ReplicaSetConfig(parsing: document, forceTerm: force ? -1 : term, defaultReplicaSetId: old.settings.replicaSetId,
                                          dialect: options.serverVersion)
        } catch {
            throw error.recoded(.invalidReplicaSetConfig)
        }
        guard config.name == old.name else {
            throw CommandError(.invalidReplicaSetConfig, "Rejecting reconfig where new config set name differs from command line set name, new config set name: \(config.name), old config set name: \(old.name)")
        }
        if force {
            config.version = max(old.version, config.version) + 10_000 + Int64.random(in: 0..<100_000)
        }
        if config.members.contains(where: \.newlyAdded) {
            throw CommandError(.invalidReplicaSetConfig, "Cannot provide newlyAdded field to member config during reconfig.")
        }
        // The config as the user wrote it counts its new members' votes: an 8th voter is refused
        // although it would join as newlyAdded, with no vote yet (the 7-voter jstest: "adding a
        // new voting member will fail during validation"). Like every `validateConfigForReconfig`
        // failure, NewReplicaSetConfigurationIncompatible.
        do {
            try config.validate()
        } catch {
            throw error.recoded(.newReplicaSetConfigurationIncompatible)
        }
        for index in config.members.indices {
            let newMember = config.members[index]
            if newMember.arbiterOnly || force || !options.serverVersion.addsNewlyAdded { continue }
            let oldMember = old.member(withId: newMember.id)
            if (oldMember == nil && newMember.isVoter) || oldMember?.newlyAdded == true {
                config.members[index].newlyAdded = true
            }
        }
        return config
    }

    /// `_doReplSetReconfig`. `skipSafetyChecks` is the optimized reconfig mongod uses for
    /// automatic changes (no writable-primary, commitment or quorum requirements).
    func doReconfig(_ member: Int, force: Bool, skipSafetyChecks: Bool = false,
                    _ makeConfig: (ReplicaSetConfig, Int64) throws(CommandError) -> ReplicaSetConfig) async throws(CommandError) {
        switch nodes[member].configState {
        case .steady: break
        case .uninitialized: throw CommandError(.notYetInitialized, "Node not yet initialized; use the replSetInitiate command")
        default: throw CommandError(.configurationInProgress, "Cannot run replSetReconfig because the node is currently updating its configuration")
        }
        guard let old = nodes[member].config else { throw CommandError(.notYetInitialized, "Node not yet initialized; use the replSetInitiate command") }
        let safe = !force && !skipSafetyChecks
        if safe && !nodes[member].isWritablePrimary {
            throw CommandError(.notWritablePrimary, "Safe reconfig is only allowed on a writable PRIMARY. Current state is \(nodes[member].memberState)")
        }
        if safe {
            guard isConfigReplicated(member) else {
                throw CommandError(.currentConfigNotCommittedYet, "Cannot run replSetReconfig because the current config: \(old.versionAndTerm) is not majority committed.")
            }
            if old.term != -1 && old.version != 1 && !isOplogCommitted(member) {
                throw CommandError(.currentConfigNotCommittedYet, "Last committed optime from previous config (\(nodes[member].firstOpTimeOfMyTerm.description)) is not committed in the current config.")
            }
        }
        nodes[member].configState = .reconfiguring
        do throws(CommandError) {
            let (config, myIndex) = try await prepareReconfig(member, old: old, force: force, skipSafetyChecks: skipSafetyChecks, makeConfig)
            guard nodes[member].isRunning else { throw CommandError(.hostUnreachable, "shutting down") }
            if safe && !nodes[member].isWritablePrimary {
                throw CommandError(.notWritablePrimary, "Stepped down when persisting new config")
            }
            // _finishReplSetReconfig: a force reconfig that leaves this primary unelectable steps it down.
            installConfig(member, config, selfIndex: myIndex)
        } catch {
            if nodes[member].configState == .reconfiguring { nodes[member].configState = .steady }
            throw error
        }
    }

    private func prepareReconfig(_ member: Int, old: ReplicaSetConfig, force: Bool, skipSafetyChecks: Bool,
                                 _ makeConfig: (ReplicaSetConfig, Int64) throws(CommandError) -> ReplicaSetConfig) async throws(CommandError) -> (ReplicaSetConfig, Int?) {
        let config = try makeConfig(old, nodes[member].term)
        // Changing the implicit default write concern needs a cluster-wide one
        // (`ReadWriteConcernDefaults::isCWWCSet`, replication_coordinator_impl.cpp).
        if !skipSafetyChecks && options.serverVersion.hasImplicitMajorityWriteConcern && clusterWideWriteConcern == nil
            && old.isImplicitDefaultWriteConcernMajority != config.isImplicitDefaultWriteConcernMajority {
            throw CommandError(.newReplicaSetConfigurationIncompatible, "Reconfig attempted to install a config that would change the implicit default write concern. Use the setDefaultRWConcern command to set a cluster-wide write concern and try the reconfig again.")
        }
        do {
            try validateConfigForReconfig(old: old, new: config, force: force)
        } catch {
            throw error.recoded(.newReplicaSetConfigurationIncompatible)
        }
        let myIndex: Int?
        if nodes[member].selfIndex != nil, let quick = config.index(ofHost: nodes[member].host) {
            if !force, let error = checkElectable(config, index: quick) { throw error }
            myIndex = quick
        } else {
            let found = try findSelf(member, in: config).get()
            if !force, let error = checkElectable(config, index: found) { throw error }
            myIndex = found
        }
        if !force && !skipSafetyChecks, let myIndex {
            try await checkQuorum(member, config, selfIndex: myIndex, term: nodes[member].term)
        }
        return (config, myIndex)
    }

    /// `validateConfigForReconfig` with `validateOldAndNewConfigsCompatible`.
    private func validateConfigForReconfig(old: ReplicaSetConfig, new: ReplicaSetConfig, force: Bool) throws(CommandError) {
        try new.validate()
        guard old.versionAndTerm < new.versionAndTerm else {
            throw CommandError(.newReplicaSetConfigurationIncompatible, "New replica set configuration version and term must be greater than old, but \(new.versionAndTerm) is not greater than \(old.versionAndTerm) for replica set \(new.name)")
        }
        guard old.name == new.name else {
            throw CommandError(.newReplicaSetConfigurationIncompatible, "New and old configurations differ in replica set name; old was \(old.name), and new is \(new.name)")
        }
        guard old.settings.replicaSetId == new.settings.replicaSetId else {
            throw CommandError(.newReplicaSetConfigurationIncompatible, "New and old configurations differ in replica set ID; old was \(old.settings.replicaSetId?.hex ?? ""), and new is \(new.settings.replicaSetId?.hex ?? "")")
        }
        for newMember in new.members {
            for oldMember in old.members where oldMember.id == newMember.id || oldMember.host == newMember.host {
                if oldMember.host == newMember.host && oldMember.id != newMember.id {
                    throw CommandError(.newReplicaSetConfigurationIncompatible, "New and old configurations both have members with host of \(oldMember.host) but in the new configuration the _id field is \(newMember.id) and in the old configuration it is \(oldMember.id) for replica set \(new.name)")
                }
                for (field, changed) in [("buildIndexes", oldMember.buildIndexes != newMember.buildIndexes), ("arbiterOnly", oldMember.arbiterOnly != newMember.arbiterOnly)] where changed {
                    throw CommandError(.newReplicaSetConfigurationIncompatible, "New and old configurations differ in the setting of the \(field) field for member \(oldMember.host); to make this change, remove then re-add the member")
                }
            }
        }
        // A PSA set may not make its secondary electable while only one node in the old config
        // can acknowledge writes (the votes and priorities before newlyAdded count here).
        let oldVoters = old.members.filter { $0.votes > 0 }
        let oldMajority = oldVoters.count / 2 + 1
        let oldWritableVoters = oldVoters.filter { !$0.arbiterOnly }.count
        let newElectable = new.members.filter { $0.priority > 0 }.count
        if oldMajority > oldWritableVoters && new.isPSASet && newElectable > 1 {
            throw CommandError(.newReplicaSetConfigurationIncompatible, "Rejecting reconfig where the new config has a PSA topology and the secondary is electable, but the old config contains only one writable node. Refer to https://docs.mongodb.com/manual/reference/method/rs.reconfigForPSASet/ for next steps on reconfiguring a PSA set.")
        }
        if !force {
            // validateSingleNodeChange: the symmetric difference of the voters' _ids.
            let oldIds = Set(old.votingMembers.map(\.id))
            let newIds = Set(new.votingMembers.map(\.id))
            if oldIds.symmetricDifference(newIds).count > 1 {
                throw CommandError(.newReplicaSetConfigurationIncompatible, "Non force replica set reconfig can only add or remove at most 1 voting member.")
            }
        }
        try new.validateArbiterPriorities()
    }

    // MARK: - Commitment

    /// The config has reached a majority of the voters (`$majorityConfig` with the config
    /// predicate). mongod 6.x/7.0 required only `majorityVoteCount / 2 + 1` of them, a bug
    /// (SERVER-117353); the simulator requires the majority the documentation promises.
    func isConfigReplicated(_ member: Int) -> Bool {
        let node = nodes[member]
        guard let config = node.config else { return false }
        let current = config.versionAndTerm
        let haveIt = config.members.filter { other in
            other.isVoter && (node.isSelf(other.host) || node.peers[other.host]?.configVersionAndTerm == current)
        }
        return haveIt.count >= config.majorityVoteCount
    }

    /// The primary's first entry of its term is majority committed (`getConfigOplogCommitmentOpTime`).
    func isOplogCommitted(_ member: Int) -> Bool {
        nodes[member].lastCommitted >= nodes[member].firstOpTimeOfMyTerm
    }

    /// `awaitConfigCommitment`: waits (until the maxTimeMS deadline, or forever) for the config,
    /// and optionally the oplog, to be majority committed; fails if the node steps down.
    func awaitConfigCommitment(_ member: Int, waitForOplog: Bool, deadline: ContinuousClock.Instant?) async throws(CommandError) {
        guard nodes[member].isWritablePrimary, let config = nodes[member].config else {
            throw CommandError(.primarySteppedDown, "replSetReconfig should only be run on a writable PRIMARY. Current state \(nodes[member].memberState);")
        }
        let term = nodes[member].term
        let stillPrimary = { [self] in self.nodes[member].role == .leader && self.nodes[member].term == term && self.nodes[member].isRunning }
        let replicated = await wait(until: deadline) { [self] in !stillPrimary() || self.isConfigReplicated(member) }
        let context = "Current config with \(config.versionAndTerm) has not yet propagated to a majority of nodes"
        guard stillPrimary() else {
            throw CommandError(.primarySteppedDown, "Primary stepped down while waiting for replication").withContext(context)
        }
        guard replicated else { throw CommandError(.maxTimeMSExpired, "operation exceeded time limit").withContext(context) }
        guard waitForOplog else { return }
        let committed = await wait(until: deadline) { [self] in !stillPrimary() || self.isOplogCommitted(member) }
        let oplogContext = "Last committed optime in the previous config (\(nodes[member].firstOpTimeOfMyTerm.description)) has not yet become committed in the current config with \(config.versionAndTerm)"
        guard stillPrimary() else {
            throw CommandError(.primarySteppedDown, "Primary stepped down while waiting for replication").withContext(oplogContext)
        }
        guard committed else { throw CommandError(.maxTimeMSExpired, "operation exceeded time limit").withContext(oplogContext) }
    }

    /// `_reconfigToRemoveNewlyAddedField`: an automatic safe reconfig (version + 1) once the
    /// member has reached SECONDARY; on failure the next heartbeat tries again.
    func removeNewlyAdded(_ member: Int, memberId: Int, versionAndTerm: ConfigVersionAndTerm) {
        Task { [weak self] in
            try? await self?.doReconfig(member, force: false) { old, _ throws(CommandError) in
                guard old.versionAndTerm == versionAndTerm else {
                    throw CommandError(.newReplicaSetConfigurationIncompatible, "Current config is no longer consistent with heartbeat data")
                }
                guard let index = old.members.firstIndex(where: { $0.id == memberId && $0.newlyAdded }) else {
                    throw CommandError(.noSuchKey, "Old config no longer has 'newlyAdded' field")
                }
                var config = old
                config.version += 1
                config.members[index].newlyAdded = false
                return config
            }
            await self?.settle()
        }
    }
}
