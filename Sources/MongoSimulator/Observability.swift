import Foundation
import MongoBSON

/// One command a member received from a client (heartbeats between members are not commands
/// a client sent, so they are not recorded).
public struct CommandRecord: Sendable {
    public var member: Int
    public var host: String
    /// The command name: the first key of the command document.
    public var name: String
    public var database: String
    public var document: BSONDocument
    /// The member's connection number (hello's `connectionId`).
    public var connection: Int32
    /// Monotonic time, comparable with `SimulatorEvent.time`.
    public var time: ContinuousClock.Instant
    public var date: Date

    /// The commands that change a replica set.
    public static let writeCommandNames: Set<String> = ["replSetInitiate", "replSetReconfig", "replSetStepUp", "replSetStepDown", "replSetFreeze"]
    public var isWrite: Bool { Self.writeCommandNames.contains(name) }
}

/// Something that happened to a member, with a monotonic timestamp.
public struct SimulatorEvent: Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case startedListening
        case stoppedListening
        case processStarted
        case processStopped
        case state(MemberState)
        case becameWritablePrimary
        case steppedDown
        case configInstalled(version: Int64, term: Int64)
        case electionWon(term: Int64)
        case electionLost(term: Int64)
    }

    public var member: Int
    public var host: String
    public var kind: Kind
    public var time: ContinuousClock.Instant
    public var date: Date

    public var description: String { "member \(member) (\(host)): \(kind)" }
}

/// What one member looks like at a moment.
public struct MemberSnapshot: Sendable {
    public var index: Int
    public var host: String
    /// The simulated mongod process is up (it may still refuse connections).
    public var isRunning: Bool
    /// Its port accepts connections.
    public var isListening: Bool
    public var state: MemberState
    public var isWritablePrimary: Bool
    public var configVersion: Int64?
    public var configTerm: Int64?
    public var term: Int64
    /// The primary this member knows of.
    public var primary: String?
}

/// What the whole simulated set looks like at a moment.
public struct SetSnapshot: Sendable {
    public var members: [MemberSnapshot]

    /// The writable primary, if exactly one member is one.
    public var primary: MemberSnapshot? {
        let primaries = members.filter(\.isWritablePrimary)
        return primaries.count == 1 ? primaries[0] : nil
    }

    public subscript(_ index: Int) -> MemberSnapshot { members[index] }
}

/// A fault injected into one member.
public enum Fault: Sendable {
    /// The member is alive (keeps its state) but its port refuses connections, from clients and
    /// from the other members.
    case refuseConnections
    /// Connections are accepted, then closed at once.
    case closeConnectionsOnAccept
    /// Every reply (and every quorum-check heartbeat it answers) is delayed.
    case slowReplies(Duration)
    /// The next `count` elections this member runs are lost (the term still increases).
    case failElections(count: Int)
    /// The next time a client's `command` arrives, the member steps down (as on replSetStepDown
    /// for `period`) `after` the given delay: zero before the command runs, later in the middle
    /// of it.
    case stepDownOnCommand(String, after: Duration = .zero, period: Duration = .seconds(60))
    /// The next `count` times a client's `command` arrives it fails as mongod answers in a race:
    /// ConfigurationInProgress (109) and CurrentConfigNotCommittedYet (308) without running it;
    /// MaxTimeMSExpired (50) after running it, as a reconfig whose commitment wait ran out.
    case failCommand(String, code: Int32, count: Int = 1)
}

/// Faults active on a member.
struct Faults: Sendable {
    var refuseConnections = false
    var closeConnectionsOnAccept = false
    var replyDelay: Duration = .zero
    var electionsToFail = 0
    var stepDownOnCommand: (name: String, after: Duration, period: Duration)?
    var pendingStepDownPeriod: Duration = .seconds(60)
    var failCommand: (name: String, code: Int32, count: Int)?
}
