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
    /// Things the user should know (non-voting members added, members kept that --nodes omits, …).
    public var notes: [String]
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
    }

    public var command: Command
    public var host: HostAddress
    /// Nil when it succeeded; else what the node answered.
    public var error: MongoError?

    public var description: String {
        let what: String
        switch command {
        case .initiate(let config): what = "replSetInitiate on \(host) (\(config.members.count) members, version \(config.version))"
        case .stepUp: what = "replSetStepUp on \(host)"
        }
        guard let error else { return what }
        return "\(what): \(error.message)"
    }
}

/// What a dry run found and would do.
public struct Plan: Hashable, Sendable {
    public enum Step: Hashable, Sendable, CustomStringConvertible {
        case initiate(HostAddress, ReplicaSetConfig)
        case stepUp(HostAddress)

        public var description: String {
            switch self {
            case .initiate(let host, let config): return "replSetInitiate on \(host) with \(config.document)"
            case .stepUp(let host): return "replSetStepUp on \(host) (no primary yet; saves the election timeout)"
            }
        }
    }

    public var setName: String
    /// One line per node: what was observed.
    public var observed: [NodeReport]
    public var steps: [Step]
    public var notes: [String]
}

public struct NodeReport: Hashable, Sendable, CustomStringConvertible {
    public var host: HostAddress
    public var status: String

    public var description: String { "\(host): \(status)" }
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
    /// The set exists and differs from the spec in a way this version does not change.
    case needsReconfiguration(setName: String, version: Int, ConfigDifference)

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
            return "\(host) rejected the config: \(error.message) (\(error.codeName ?? "error")). Nothing was initiated"
        case .needsReconfiguration(let setName, let version, let difference):
            var parts: [String] = []
            if !difference.missing.isEmpty { parts.append("missing \(difference.missing.map(\.host.description).joined(separator: ", "))") }
            for change in difference.changed { parts.append("\(change.host) differs in \(change.options.joined(separator: ", "))") }
            return "replica set '\(setName)' already exists (config version \(version)) and differs from the requested members: \(parts.joined(separator: "; ")). This version of mongo-rs-bootstrap does not reconfigure existing sets"
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

    public var description: String {
        switch self {
        case .unreachable(let host, let error):
            return error.map { "\(host) unreachable: \($0.message)" } ?? "\(host) never answered"
        case .notFindingItself(let host):
            return "\(host) is listed in the config but reports REMOVED: it cannot find itself in the config (does its own host name resolve to it?)"
        case .initiateFailing(let host, let error):
            return "replSetInitiate on \(host) keeps failing: \(error.message)"
        case .noPrimary(let states):
            let list = states.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            return "no writable primary yet (\(list))"
        case .notHealthy(let host, let state):
            return "\(host) is \(state), not yet PRIMARY, SECONDARY or ARBITER (--wait-for all)"
        case .waitingForConfig(let host):
            return "\(host) has not confirmed the config yet"
        case .unanswered(let host, let command, let error):
            return "\(host) did not answer \(command)" + (error.map { ": \($0.message)" } ?? "")
        }
    }
}

extension MongoError {
    var codeName: String? {
        if case .server(_, let name) = kind { return name }
        return nil
    }
}
