import Foundation
import MongoBSON

/// What a member keeps on disk (its dbpath): it survives a restart that keeps data.
struct NodeStorage: Sendable {
    var config: ReplicaSetConfig?
    /// `local.replset.election`.
    var lastVoteTerm: Int64 = -1
    var lastVoteCandidate = -1
    /// The newest oplog entry.
    var lastApplied = OpTime.null
    var lastAppliedWallMillis: Int64 = 0
}

/// What a member knows of another one, from heartbeats (`src/mongo/db/repl/member_data.h`).
struct PeerData: Sendable {
    var health: Double = -1
    var state = MemberState.unknown
    var upSince: Date?
    var lastHeartbeat: Date?
    var lastHeartbeatRecv: Date?
    /// The last time this peer was heard from, for the primary's liveness check.
    var lastUpdate: ContinuousClock.Instant?
    var lastUpdateStale = false
    var applied = OpTime.null
    var appliedWallMillis: Int64 = 0
    var configVersion: Int64 = -1
    var configTerm: Int64 = -1
    var term: Int64 = -1
    var electionTime: OpTime?
    var lastHeartbeatMessage = ""
    var syncSource: String?

    var isUp: Bool { health > 0 }
    var configVersionAndTerm: ConfigVersionAndTerm { ConfigVersionAndTerm(version: configVersion, term: configTerm) }

    /// `MemberData::setDownValues`.
    mutating func markDown(_ message: String, now: Date) {
        health = 0
        upSince = nil
        lastHeartbeat = now
        lastHeartbeatMessage = message
        state = .down
        electionTime = nil
        syncSource = nil
    }
}

/// `ReplicationCoordinatorImpl::ConfigState`.
enum ConfigState: Sendable {
    case uninitialized, steady, initiating, reconfiguring, heartbeatReconfiguring
}

/// `TopologyCoordinator::Role` and `LeaderMode`.
enum Role: Sendable { case follower, candidate, leader }
enum LeaderMode: Sendable { case notLeader, leaderElect, writablePrimary, steppingDown }

/// One simulated mongod: its command line, its disk, and the state of its running process
/// (the parts of `ReplicationCoordinatorImpl` and `TopologyCoordinator` the simulator models).
struct SimulatedMongod: Sendable {
    let index: Int
    let host: String
    var aliases: [String]
    /// `MemberSpec.usersArriveWithInitialSync`.
    var usersArriveWithInitialSync = false
    /// `--replSet`; nil for a standalone.
    var replSetName: String?
    var storage = NodeStorage()
    var faults = Faults()

    // The process. Reset by `boot()`.
    var isRunning = false
    var isListening = false
    var processId = ObjectId.generate()
    var startedAt = Date()
    var topologyCounter: Int64 = 0
    var config: ReplicaSetConfig?
    var selfIndex: Int?
    var configState = ConfigState.uninitialized
    var followerMode = MemberState.startup2
    var role = Role.follower
    var leaderMode = LeaderMode.notLeader
    var term: Int64 = -1
    /// `_memberState`: the state last published (hello, events); updated by `updateMemberState`.
    var memberState = MemberState.startup
    var peers: [String: PeerData] = [:]
    var primaryHost: String?
    var electionTime: OpTime?
    var electionIdTerm: Int64 = -1
    var stepDownUntil: ContinuousClock.Instant?
    var lastCommitted = OpTime.null
    var firstOpTimeOfMyTerm = OpTime.null
    var dataReplicationStarted = false
    var seedList: Set<String> = []
    /// Connections that already sent client metadata in a hello.
    var connectionsWithMetadata: Set<Int32> = []
    /// Per connection: who it authenticated as (`--auth`).
    var authentication: [Int32: ConnectionAuthentication] = [:]

    init(index: Int, host: String, aliases: [String], replSetName: String?) {
        self.index = index
        self.host = host
        self.aliases = aliases
        self.replSetName = replSetName
    }

    /// A fresh process: everything but the disk, the faults and the command line is forgotten.
    mutating func boot() {
        let kept = (storage, faults)
        let usersArriveWithInitialSync = self.usersArriveWithInitialSync
        self = SimulatedMongod(index: index, host: host, aliases: aliases, replSetName: replSetName)
        self.usersArriveWithInitialSync = usersArriveWithInitialSync
        (storage, faults) = kept
        isRunning = true
    }

    /// mongod's isSelf: a config host maps to this node when it names it or one of its aliases.
    func isSelf(_ hostAndPort: String) -> Bool {
        hostAndPort == host || aliases.contains(hostAndPort)
    }

    var selfConfig: MemberConfig? { selfIndex.flatMap { config?.members[$0] } }

    /// The name this node goes by in the set: its own member's host in its config, which may be
    /// an alias of the address it listens on (mongod names itself so in hello's `me` and
    /// `primary`, and its peers key it so).
    var selfHost: String { selfConfig?.host ?? host }

    /// `TopologyCoordinator::getMemberState`.
    var topologyState: MemberState {
        guard config != nil else { return .startup }
        guard let selfConfig else { return .removed }
        if role == .leader { return .primary }
        if selfConfig.arbiterOnly { return .arbiter }
        return followerMode
    }

    var isWritablePrimary: Bool { role == .leader && leaderMode == .writablePrimary }
    var isSteppingDown: Bool { leaderMode == .steppingDown }
    var hasValidConfig: Bool { config != nil && selfIndex != nil }

    var lastApplied: OpTime { storage.lastApplied }

    var topologyVersion: BSON {
        ["processId": .objectId(processId), "counter": .int64(topologyCounter)]
    }

    /// `OID::fromTerm`: 0x7fffffff followed by the term, big-endian.
    static func electionId(term: Int64) -> ObjectId {
        var bytes: [UInt8] = [0x7f, 0xff, 0xff, 0xff]
        bytes += withUnsafeBytes(of: term.bigEndian) { Array($0) }
        return ObjectId(bytes: bytes) ?? ObjectId.generate()
    }
}
