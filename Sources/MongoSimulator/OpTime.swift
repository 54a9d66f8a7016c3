import Foundation
import MongoBSON

/// An oplog position (`src/mongo/db/repl/optime.h`): ordered by term, then timestamp.
struct OpTime: Comparable, Sendable {
    var seconds: UInt32
    var increment: UInt32
    var term: Int64

    /// `OpTime()`: a null timestamp in the uninitialized term.
    static let null = OpTime(seconds: 0, increment: 0, term: -1)

    var isNull: Bool { seconds == 0 && increment == 0 }

    static func < (lhs: OpTime, rhs: OpTime) -> Bool {
        (lhs.term, lhs.seconds, lhs.increment) < (rhs.term, rhs.seconds, rhs.increment)
    }

    /// `OpTime::toBSON`: `{ts: Timestamp, t: long}`.
    var document: BSON {
        ["ts": .timestamp(seconds: seconds, increment: increment), "t": .int64(term)]
    }

    /// `optimeDate` and friends: the timestamp's seconds as a date.
    var date: BSON { .datetime(Int64(seconds) * 1000) }

    /// mongod's `OpTime::toString`.
    var description: String { "{ ts: Timestamp(\(seconds), \(increment)), t: \(term) }" }
}

/// A config's (version, term) pair (`ConfigVersionAndTerm` in `repl_set_config.h`): terms are
/// compared only when both are set, because force reconfigs use term -1.
struct ConfigVersionAndTerm: Comparable, Sendable, CustomStringConvertible {
    var version: Int64
    var term: Int64

    static func < (lhs: ConfigVersionAndTerm, rhs: ConfigVersionAndTerm) -> Bool {
        if lhs.term != -1 && rhs.term != -1 && lhs.term != rhs.term {
            return lhs.term < rhs.term
        }
        return lhs.version < rhs.version
    }

    static func == (lhs: ConfigVersionAndTerm, rhs: ConfigVersionAndTerm) -> Bool {
        !(lhs < rhs) && !(rhs < lhs)
    }

    var description: String { "{version: \(version), term: \(term)}" }
}

/// Hands out strictly increasing oplog timestamps for the simulated members, as mongod's logical
/// clock does (seconds from the wall clock, the increment counting within a second).
struct TimestampSource {
    private var last = (seconds: UInt32(0), increment: UInt32(0))

    mutating func next(term: Int64) -> OpTime {
        let now = UInt32(clamping: Int64(Date().timeIntervalSince1970))
        last = now > last.seconds ? (now, 1) : (last.seconds, last.increment + 1)
        return OpTime(seconds: last.seconds, increment: last.increment, term: term)
    }
}
