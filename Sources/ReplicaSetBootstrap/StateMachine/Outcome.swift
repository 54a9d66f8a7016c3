/// How a run ends, decided by the state machine. The CLI maps each case to an exit code.
public enum Outcome: Hashable, Sendable {
    /// A writable primary with the desired config was observed after the last write (exit 0).
    case converged(Summary)
    /// `--dry-run`: what would be done (exit 0).
    case planned(Plan)
    /// Something found on a node forbids going on; nothing was written by this decision (exit 65).
    case refused(Refusal)
    /// The deadline passed, or connection attempts ran out, with these things still missing (exit 69).
    case timedOut([Blocker])
    /// A node rejected the credentials or the user lacks a role (exit 77).
    case notAuthorized(MongoError)
}

/// The result of a successful run.
public struct Summary: Hashable, Sendable {
    public var setName: String
    public var primary: HostAddress
    public var configVersion: Int
    public var members: [MemberReport]
    /// The write commands this run sent, in order, with their result.
    public var actions: [ActionRecord]
    /// Things the user should know, from building the spec (non-voting members added, …).
    public var notes: [String]
    /// Members in the set's config that were not requested and stay (no `--remove-members`).
    public var keptMembers: [HostAddress] = []
    /// Given names (`--nodes`) that the set records its members under other names, given → recorded.
    public var recordedNames: [HostAddress: HostAddress] = [:]
}

public struct MemberReport: Hashable, Sendable {
    public var host: HostAddress
    public var id: Int
    /// Nil when the node could not be reached at the end.
    public var state: MemberState?
    public var votes: Int
    public var priority: Double
    public var arbiterOnly: Bool
}

/// One write command sent, for the summary.
public struct ActionRecord: Hashable, Sendable, CustomStringConvertible {
    public enum Command: Hashable, Sendable {
        case initiate(ReplicaSetConfig)
        case stepUp
        case reconfig(ReplicaSetConfig, change: String, force: Bool)
        case stepDown
    }

    public var command: Command
    public var host: HostAddress
    /// Nil when it succeeded; else what the node answered.
    public var error: MongoError?
    /// Sent, and no answer yet (a run interrupted now cannot tell whether it took effect).
    public var pending = false

    public init(command: Command, host: HostAddress, error: MongoError? = nil, pending: Bool = false) {
        self.command = command
        self.host = host
        self.error = error
        self.pending = pending
    }

    public var description: String {
        let what: String
        switch command {
        case .initiate(let config): what = "replSetInitiate on \(host) (\(config.members.count) members, version \(config.version))"
        case .stepUp: what = "replSetStepUp on \(host)"
        case .reconfig(let config, let change, let force):
            what = "replSetReconfig\(force ? " with force" : "") on \(host) to version \(config.version): \(change)"
        case .stepDown: what = "replSetStepDown on \(host)"
        }
        if pending { return "\(what): sent, no answer yet (it may have taken effect)" }
        guard let error else { return what }
        return "\(what): \(error.message)"
    }
}

/// What a dry run found and would do.
public struct Plan: Hashable, Sendable {
    public enum Step: Hashable, Sendable, CustomStringConvertible {
        case initiate(HostAddress, ReplicaSetConfig)
        case stepUp(HostAddress)
        case reconfig(HostAddress, ReplicaSetConfig, change: String)
        case stepDown(HostAddress, reason: String)
        case forceReconfig(HostAddress, ReplicaSetConfig, dropped: [HostAddress])

        public var description: String {
            switch self {
            case .initiate(let host, let config): return "replSetInitiate on \(host) with \(config.document)"
            case .stepUp(let host): return "replSetStepUp on \(host) (no primary yet; saves the election timeout)"
            case .reconfig(let host, let config, let change): return "replSetReconfig on \(host) to version \(config.version): \(change)"
            case .stepDown(let host, let reason): return "replSetStepDown on \(host): \(reason)"
            case .forceReconfig(let host, let config, let dropped):
                return "replSetReconfig with force on \(host), dropping \(dropped.map(\.description).joined(separator: ", ")): \(config.document)"
            }
        }
    }

    public var setName: String
    /// One line per node: what was observed.
    public var observed: [NodeReport]
    /// The requested members with their options (mongod's defaults for those not given).
    public var requested: [RequestedMember] = []
    public var steps: [Step]
    public var notes: [String]
    /// See `Summary.keptMembers`.
    public var keptMembers: [HostAddress] = []
}

public struct NodeReport: Hashable, Sendable {
    /// What was last seen of a node.
    public enum Observation: Hashable, Sendable, CustomStringConvertible {
        case notReached
        case unreachable(MongoError)
        /// It answered hello without a config; replSetGetStatus has not told fresh from removed yet.
        case noConfig
        case known(NodeStatus)

        /// In words, for a dry run's plan and a timeout's report.
        public var description: String {
            switch self {
            case .notReached: return "not reached"
            case .unreachable(let error): return "unreachable: \(error.message)"
            case .noConfig: return "no config (status unknown)"
            case .known(let status): return status.description
            }
        }
    }

    public var host: HostAddress
    public var observation: Observation = .notReached
}

/// A requested member and its options, as a dry run reports it.
public struct RequestedMember: Hashable, Sendable {
    public var host: HostAddress
    public var options: MemberOptions
}

/// Why the run will not act. Each says what was found on which node.
public enum Refusal: Hashable, Sendable, CustomStringConvertible {
    /// The node belongs to a replica set with another name.
    case foreignSet(HostAddress, setName: String, wanted: String)
    /// Nodes with the same set name but different `replicaSetId`s: two sets exist.
    case splitBrain(setName: String, [HostAddress: ObjectIdText])
    /// The node holds a config that no longer lists it, and no member's config lists it either.
    case removedMember(HostAddress)
    /// The node was not started with `--replSet`.
    case standalone(HostAddress)
    case mongos(HostAddress)
    /// mongod refused the config for a reason retrying cannot fix.
    case configRejected(HostAddress, MongoError)
    /// The change (typically adding an arbiter) would change the implicit default write concern,
    /// which mongod 5.0+ allows only once a cluster-wide write concern is set.
    case needsClusterWideWriteConcern(HostAddress, MongoError)
    /// No sequence of safe reconfigs reaches the spec from the set's config (the planner's reason).
    case noSafePlan(setName: String, version: Int, reason: String)
    /// The node answered with something no mongod sends (`MongoError.Kind.invalidReply`): it is
    /// not trusted with anything, its hosts are never contacted.
    case invalidReply(MongoError)
    /// Two given names turned out to be one member: the first answers as `recorded`, which the
    /// second is (or is recorded as too).
    case sameMember(HostAddress, HostAddress, recorded: HostAddress)
    /// `--from-srv`: the members found in the Service's SRV records make no config mongod takes.
    case discoveredMembersInvalid(service: String, reason: String)

    public var description: String {
        switch self {
        case .foreignSet(let host, let setName, let wanted):
            return "\(host) belongs to replica set '\(setName)', not '\(wanted)': refusing to touch it (check --nodes and --replica-set)"
        case .splitBrain(let setName, let ids):
            let found = ids.sorted { $0.key < $1.key }.map { "\($0.key) has replicaSetId \($0.value)" }.joined(separator: ", ")
            return "two different replica sets named '\(setName)' exist: \(found). Refusing to act; merge them by hand (resync the members of one set)"
        case .removedMember(let host):
            return "\(host) was removed from its replica set (replSetGetStatus: InvalidReplicaSetConfig 93) and no reachable member's config lists it. It still holds the old set's data; resync it (empty its dbpath) before adding it again"
        case .standalone(let host):
            return "\(host) is not running with --replSet (it answers as a standalone server): restart mongod with --replSet"
        case .mongos(let host):
            return "\(host) is a mongos router, not a mongod: list the shard or config server members instead"
        case .configRejected(let host, let error):
            return "\(host) rejected the config: \(error.message) (\(error.codeName ?? "error")); that command changed nothing"
        case .needsClusterWideWriteConcern(let host, let error):
            return "\(host) refused the reconfig: \(error.message) Set a cluster-wide default first, for example mongosh --eval 'db.adminCommand({setDefaultRWConcern: 1, defaultWriteConcern: {w: \"majority\"}})' on the primary, then run mongo-rs-bootstrap again"
        case .noSafePlan(let setName, let version, let reason):
            return "replica set '\(setName)' (config version \(version)) cannot be brought to the requested config safely: \(reason)"
        case .sameMember(let first, let second, let recorded):
            return "\(first) and \(second) are the same member: \(first) answers as \(recorded), as \(second) does. Give each member once in --nodes"
        case .discoveredMembersInvalid(let service, let reason):
            return "the members found in the SRV records of Service \(service) make no valid replica set config: \(reason)"
        case .invalidReply(let error):
            return "\(error.host) answered \(error.command ?? "a command") with a reply no mongod sends: \(error.message). Refusing to act on anything it says; check that \(error.host) is a mongod and that nothing on the network path alters its replies"
        }
    }
}

/// A replicaSetId, printed as hex.
public typealias ObjectIdText = String

/// What kept the run from finishing.
public enum Blocker: Hashable, Sendable, CustomStringConvertible {
    case unreachable(HostAddress, MongoError?)
    case notFindingItself(HostAddress)
    case initiateFailing(HostAddress, MongoError)
    case noPrimary(states: [HostAddress: String])
    case notHealthy(HostAddress, String)
    case waitingForConfig(HostAddress)
    /// The node answers hello but not this command.
    case unanswered(HostAddress, String, MongoError?)
    /// A majority of the config's voters cannot be reached, so no primary can be elected.
    case majorityLost(reachable: [HostAddress], lost: [HostAddress], forceWouldDrop: [HostAddress]?)
    /// Reconfiguration is under way: what it waits for.
    case reconfiguring(String)
    /// A member to add is not reachable, so it cannot join yet.
    case cannotAddYet(HostAddress)
    /// The node answered replSetInitiate ok but has not shown a config since.
    case initiateWithoutEffect(HostAddress)
    /// Nothing else names the node: what was last seen of it.
    case observed(HostAddress, NodeReport.Observation)
    /// What would probably fix it.
    case hint(String)
    /// `--from-srv`: the Service's SRV records did not (yet) name the members: why.
    case undiscovered(service: String, reason: String)

    /// What to try when a node closes every plain-text connection at once.
    static func tlsHint(_ host: HostAddress) -> String {
        "\(host) closes the connection as soon as it is made: if the members require TLS (net.tls.mode requireTLS), add --tls and --tls-ca-file with the CA that signed their certificates"
    }

    /// What to check when a node keeps not finding itself among the names in --nodes.
    static func namesHint(_ host: HostAddress) -> String {
        "\(host) does not find itself among the names given: mongod resolves each member's name and looks for its own address and port. Give each member as the other members reach it (in Kubernetes the pod's name in the headless Service: <pod>.<service>.<namespace>.svc.cluster.local, with the right namespace and cluster domain), and make sure mongod listens on that address (--bind_ip_all or --bind_ip), not only on localhost"
    }

    public var description: String {
        switch self {
        case .unreachable(let host, let error):
            return error.map { "\(host) unreachable: \($0.message.isEmpty ? $0.kindDescription : $0.message)" } ?? "\(host) never answered"
        case .notFindingItself(let host):
            return "\(host) is listed in the config but reports REMOVED: it cannot find itself in the config (does its own host name resolve to it?)"
        case .initiateFailing(let host, let error):
            return "replSetInitiate on \(host) keeps failing: \(error.message)" + (error.isNotFindingItself ? ". Hint: \(Self.namesHint(host))" : "")
        case .noPrimary(let states):
            let list = states.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            return "no writable primary yet (\(list))"
        case .notHealthy(let host, let state):
            return "\(host) is \(state), not yet PRIMARY, SECONDARY or ARBITER (--wait-for all)"
        case .waitingForConfig(let host):
            return "\(host) has not confirmed the config yet"
        case .unanswered(let host, let command, let error):
            return "\(host) did not answer \(command)" + (error.map { ": \($0.message)" } ?? "")
        case .majorityLost(let reachable, let lost, let drop):
            let hint = drop.map { "; --force-reconfig would keep \(reachable.map(\.description).joined(separator: ", ")) and drop \($0.map(\.description).joined(separator: ", "))" } ?? ""
            return "a majority of voters is unreachable (\(lost.map(\.description).joined(separator: ", "))), so no primary can be elected\(hint)"
        case .reconfiguring(let what):
            return "reconfiguration under way: \(what)"
        case .cannotAddYet(let host):
            return "\(host) is to be added but is not reachable"
        case .initiateWithoutEffect(let host):
            return "\(host) accepted replSetInitiate but has reported no config since"
        case .observed(let host, let what):
            return "\(host): \(what)"
        case .hint(let text):
            return "hint: \(text)"
        case .undiscovered(let service, let reason):
            return "members of Service \(service) not discovered: \(reason)"
        }
    }
}

extension MongoError {
    /// The kind of failure in words, for an error libmongoc gave no message for.
    var kindDescription: String {
        switch kind {
        case .nameNotResolved: return "name does not resolve"
        case .connectionRefused: return "connection refused"
        case .networkFailure: return "network error (no details from libmongoc)"
        case .server(let code, let codeName): return "\(codeName) \(code)"
        case .authentication: return "authentication failed"
        case .certificateRejected: return "certificate rejected"
        case .unexpectedReply: return "a reply libmongoc could not read"
        case .invalidReply: return "a reply no mongod sends"
        case .client: return "client error"
        }
    }

    var codeName: String? {
        if case .server(_, let name) = kind { return name }
        return nil
    }
}
