/// A member is a node, not a string. The set may record a member under another name than the
/// one given in `--nodes` (`db-0.mongo` given, `db-0.mongo.ns.svc.cluster.local:27017`
/// recorded; an IP for a name; `localhost` for `127.0.0.1`; other case). What a node says of
/// itself decides: a mongod's hello `me` is its own member's host in the config it holds
/// (`ReplicationCoordinatorImpl::fillIsMasterForReplSet`). Given names the set records
/// otherwise are compared, planned and reported under the recorded name, and a config is
/// written with the names it already has.
extension BootstrapStateMachine {
    /// The name the wanted set records this node under, from its own hello.
    func recordedName(of node: Node) -> HostAddress? {
        guard let hello = node.hello?.value, hello.setName == configuration.spec.name else { return nil }
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
        recordedName(of: nodes[index]) ?? nodes[index].host
    }

    /// The node that is the config member `host`: the listed node the set records under that
    /// name, else the node of that name.
    func nodeIndex(forMember host: HostAddress) -> Int? {
        if let given = recordedNames.first(where: { $0.value == host })?.key, let index = index(of: given) { return index }
        return index(of: host)
    }

    /// A member found in a config that is a listed node under another name: watched through
    /// the listed node, never counted twice.
    func isShadowed(_ node: Node) -> Bool {
        !node.listed && recordedNames.values.contains(node.host)
    }

    /// After a hello from a listed node: the name the set records it under, when it is not the
    /// one given. Two given names for one member are refused: each must be a node of its own.
    mutating func noteRecordedName(at index: Int) -> [Action] {
        let node = nodes[index]
        guard node.listed, let recorded = recordedName(of: node) else { return [] }
        if let other = nodes.first(where: { $0.listed && $0.host != node.host && ($0.host == recorded || recordedNames[$0.host] == recorded) }) {
            return finish(.refused(.sameMember(node.host, other.host, recorded: recorded)))
        }
        if recorded.isSpelledLike(node.host) {
            guard recordedNames.removeValue(forKey: node.host) != nil else { return [] }
        } else {
            guard !(recordedNames[node.host]?.isSpelledLike(recorded) ?? false) else { return [] }
            recordedNames[node.host] = recorded
        }
        mappedSpec = configuration.spec
        // With --rename-members the given names stay: the set is brought to them.
        for member in mappedSpec.members.indices where !configuration.renameMembers {
            if let name = recordedNames[mappedSpec.members[member].host] { mappedSpec.members[member].host = name }
        }
        return recorded.isSpelledLike(node.host) ? [] : [.report(.recordedAs(node.host, recorded))]
    }
}
