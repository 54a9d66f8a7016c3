/// A member is a node, not a string. The set may record a member under another name than the
/// one given in `--nodes` (`db-0.mongo` given, `db-0.mongo.ns.svc.cluster.local:27017`
/// recorded; an IP for a name; `localhost` for `127.0.0.1`; other case). What a node says of
/// itself decides: a mongod's hello `me` is its own member's host in the config it holds
/// (`ReplicationCoordinatorImpl::fillIsMasterForReplSet`). Given names the set records
/// otherwise are compared, planned and reported under the recorded name, and a config is
/// written with the names it already has.
extension ReplicaSetStateMachine {
    /// The name the wanted set records this node under, from its own hello.
    func recordedName(of index: Int) -> HostAddress? {
        guard let hello = nodes[index].hello?.value, hello.setName == configuration.spec.name else { return nil }
        return hello.me
    }

    /// `--rename-members`: the next member `config` records under another name than the one
    /// given, and the reconfig that gives it that name. mongod lets a member keep its `_id`
    /// under a new host (`validateOldAndNewConfigsCompatible` in `repl_set_config_checks.cpp`
    /// ties a host to its `_id`, not an `_id` to its host), the voters, counted by `_id`, do not
    /// change (`validateSingleNodeChange`), and the primary must find itself under its new name
    /// ("maps to this node"): one member per reconfig, each committed before the next.
    func nextRename(of config: ReplicaSetConfig) -> (next: ReplicaSetConfig, change: String)? {
        guard configuration.renameMembers else { return nil }
        for (given, recorded) in recordedNames.sorted(by: { $0.key < $1.key }) {
            guard let index = config.members.firstIndex(where: { $0.host.isSpelledLike(recorded) }) else { continue }
            var next = config
            next.version += 1
            next.members[index].host = given
            return (next, "rename \(recorded) to \(given) (the same member, _id \(config.members[index].id))")
        }
        return nil
    }

    /// The node's name in the set: what it answers as, else the name it was reached by.
    func memberName(_ index: Int) -> HostAddress {
        recordedName(of: index) ?? nodes[index].host
    }

    /// The node that is the config member `host`: the listed node the set records under that
    /// name, else the node of that name.
    func nodeIndex(forMember host: HostAddress) -> Int? {
        if let given = recordedNames.first(where: { $0.value == host })?.key, let index = index(of: given) { return index }
        return index(of: host)
    }

    /// A member found in a config that is a listed node under another name: watched through
    /// the listed node, never counted twice.
    func isShadowed(_ index: Int) -> Bool {
        !nodes[index].listed && recordedNames.values.contains(nodes[index].host)
    }

    /// After a hello from a listed node: the name the set records it under, when it is not the
    /// one given. Two given names for one member are refused: each must be a node of its own.
    mutating func noteRecordedName(at index: Int) -> [Action] {
        guard nodes[index].listed, let recorded = recordedName(of: index) else { return [] }
        let host = nodes[index].host
        // By index: a node is a large value, and this is asked at every hello.
        // Usually no name is recorded otherwise: then no lookup per node.
        if let other = nodes.indices.first(where: { nodes[$0].listed && nodes[$0].host != host && (nodes[$0].host == recorded || !recordedNames.isEmpty && recordedNames[nodes[$0].host] == recorded) }) {
            return finish(.refused(.sameMember(host, nodes[other].host, recorded: recorded)))
        }
        if recorded.isSpelledLike(host) {
            guard recordedNames.removeValue(forKey: host) != nil else { return [] }
        } else {
            guard !(recordedNames[host]?.isSpelledLike(recorded) ?? false) else { return [] }
            recordedNames[host] = recorded
        }
        refreshWatched()
        mappedSpec = configuration.spec
        // With --rename-members the given names stay: the set is brought to them.
        for member in mappedSpec.members.indices where !configuration.renameMembers {
            if let name = recordedNames[mappedSpec.members[member].host] { mappedSpec.members[member].host = name }
        }
        return recorded.isSpelledLike(host) ? [] : [.report(.recordedAs(host, recorded))]
    }
}

/// Credentials that one node rejects and others accept.
extension ReplicaSetStateMachine {
    /// Whether the node is new by its own (unauthenticated) hello: no config, or a member still
    /// in STARTUP2/RECOVERING. Such a node may not know the set's users yet.
    func isNew(_ index: Int) -> Bool {
        guard let hello = nodes[index].hello?.value else { return false }
        return !hello.hasConfig && hello.isReplicaSet || (hello.setName == spec.name && hello.memberState == .other)
    }

    /// A new node rejected the credentials. A new mongod has none of the set's users until its
    /// initial sync copies them (unless its image created them), so whether that is a wrong
    /// password is decided by what the other nodes say (`credentialsVerdict`); meanwhile its
    /// reads are tried again slowly.
    mutating func credentialsRejected(_ error: MongoError, at index: Int) -> [Action] {
        nodes[index].credentials.rejected = error
        nodes[index].commands.lastError = error
        nodes[index].commands.failures += 1
        nodes[index].commands.notBefore = now + configuration.retry.delay(afterFailures: nodes[index].commands.failures, random: &random)
        guard !(nodes[index].hello?.value.hasConfig ?? true) else { return [] }
        return setStatus(.known(.newWithoutUsers), at: index)
    }

    /// When the set exists and one of its members accepted the same credentials, a new node
    /// that rejects them is waiting for its users: it can be added (mongod's own quorum check
    /// refuses a node that holds a config, so nothing initialized is swallowed), and exit 0
    /// does not wait to read it. Without a set no initiate may go ahead (invariant 1 needs every
    /// node confirmed fresh, which takes its credentials): once the other nodes have answered,
    /// the run ends with exit 77 saying which case it is. Nil: nothing to decide yet.
    mutating func credentialsVerdict() -> [Action]? {
        guard let rejecting = nodes.firstIndex(where: { $0.credentials.rejected != nil }),
              let error = nodes[rejecting].credentials.rejected else { return nil }
        if currentConfig != nil {
            guard let accepted = nodes.first(where: { $0.credentials.accepted && $0.config?.value.name == spec.name }) else { return nil }
            var actions: [Action] = []
            for index in nodes.indices where nodes[index].credentials.rejected != nil && !nodes[index].credentials.awaitingUsers {
                nodes[index].credentials.awaitingUsers = true
                actions.append(.report(.waiting("\(nodes[index].host) rejects the credentials that \(accepted.host) accepts and is new: its users arrive with its initial sync, so it is treated as a new member, not as a wrong password")))
            }
            return actions
        }
        let settled = nodes.filter { $0.listed && $0.credentials.rejected == nil }.allSatisfy { $0.credentials.accepted || $0.isUnreachable }
        return settled ? finish(.notAuthorized(explained(error))) : nil
    }

    /// An access denial, with what the other nodes said of the same credentials.
    func explained(_ error: MongoError) -> MongoError {
        guard error.isAuthenticationFailure, let accepted = nodes.first(where: { $0.credentials.accepted && $0.host != error.host }) else { return error }
        var explained = error
        explained.message += " (\(accepted.host) accepts the same credentials: this node does not know the user. A new mongod has no users until its initial sync, so it cannot be confirmed fresh for an initiate; create the user on it, as the official image does with MONGO_INITDB_ROOT_USERNAME, or check that it is the node meant)"
        return explained
    }
}
