import Foundation
import MongoBSON
import Synchronization

/// Everything one hostile node (or proxy, or attacker listener) received: each message with its
/// time, connection and command name, and the raw bytes, so a case can count commands per second,
/// find write commands and look for a password in what reached the node.
final class TrafficLog: Sendable {
    struct Entry: Sendable {
        var time: ContinuousClock.Instant
        var connection: Int
        /// The command's first key ("hello", "isMaster", "replSetGetConfig", …); "<undecodable>"
        /// for a message the harness could not read.
        var name: String
    }

    /// The commands that change a set (safety invariants 1, 2, 5).
    static let writeCommandNames: Set<String> = ["replSetInitiate", "replSetReconfig", "replSetStepUp", "replSetStepDown"]
    /// Enough to find a secret in everything the tool sends in a run; a flood past it is caught
    /// by the rate check anyway.
    static let rawByteLimit = 8 << 20

    private struct State {
        var entries: [Entry] = []
        var seen: [String: Int] = [:]
        var connections = 0
        var raw: [UInt8] = []
        var notes: [String] = []
    }

    private let state = Mutex(State())

    /// A connection was accepted; returns its number, from 1.
    func connectionOpened() -> Int {
        state.withLock { state in
            state.connections += 1
            return state.connections
        }
    }

    /// Records a message; returns how many times this command name has been seen, this one included.
    @discardableResult
    func record(_ name: String, connection: Int, raw: [UInt8]) -> Int {
        state.withLock { state in
            state.entries.append(Entry(time: .now, connection: connection, name: name))
            if state.raw.count < Self.rawByteLimit { state.raw += raw.prefix(Self.rawByteLimit - state.raw.count) }
            state.seen[name, default: 0] += 1
            return state.seen[name]!
        }
    }

    /// Keeps the decoded payload of a SASL command with the raw bytes: PLAIN sends
    /// base64("\0user\0password") as a string, which hides the password from a scan of the raw
    /// bytes; SCRAM's binary payloads never hold it.
    func recordSASLPayload(of command: BSONDocument) {
        guard ["saslStart", "saslContinue"].contains(command.firstKey ?? "") else { return }
        if command.firstKey == "saslStart" { note("saslStart mechanism \(command["mechanism"]?.stringValue ?? "?")") }
        let decoded: [UInt8]
        switch command["payload"] {
        case .string(let text)?: decoded = Data(base64Encoded: text).map { Array($0) } ?? []
        case .binary(_, let bytes)?: decoded = bytes
        default: return
        }
        state.withLock { state in
            if state.raw.count < Self.rawByteLimit { state.raw += [0] + decoded.prefix(Self.rawByteLimit - state.raw.count) }
        }
    }

    /// Something worth saying in a failure message (which SASL mechanism a listener was offered).
    func note(_ text: String) {
        state.withLock { state in if !state.notes.contains(text) { state.notes.append(text) } }
    }

    var entries: [Entry] { state.withLock { $0.entries } }
    var connectionCount: Int { state.withLock { $0.connections } }
    var rawBytes: [UInt8] { state.withLock { $0.raw } }

    var writeCommands: [Entry] { entries.filter { Self.writeCommandNames.contains($0.name) } }

    /// "replSetGetConfig ×12, hello ×3"; most frequent first.
    var summary: String {
        let counts = state.withLock { $0.seen }
        guard !counts.isEmpty else { return "nothing" }
        let notes = state.withLock { $0.notes }
        return counts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
            + (notes.isEmpty ? "" : " (\(notes.joined(separator: "; ")))")
    }

    /// The most messages received in any one-second window.
    var busiestSecond: Int {
        let times = entries.map(\.time)
        var busiest = 0
        var first = 0
        for last in times.indices {
            while times[first] < times[last] - .seconds(1) { first += 1 }
            busiest = max(busiest, last - first + 1)
        }
        return busiest
    }
}
