/// How often one node may be sent commands, whatever it answers: a burst, then a steady rate.
/// A node that ignores `maxAwaitTimeMS`, reports a new `topologyVersion` every time, or keeps
/// contradicting itself (a `setVersion` that never matches its config) would otherwise be asked
/// again at once, thousands of times a second. A real mongod never makes the tool use more than
/// the burst: a whole bootstrap asks the initiator a dozen or so things within milliseconds.
///
/// The generic cell rate algorithm in its virtual-scheduling form (a token bucket kept as one
/// time), as a value: times are durations since the run started, given by the caller.
public struct CommandPacing: Hashable, Sendable {
    /// Commands that may go out at once after a quiet spell.
    public var burst: Int
    /// The steady rate once the burst is used: one command per `interval`.
    public var interval: Duration
    /// When the bucket would hold no credit at all if nothing more were sent (GCRA's
    /// theoretical arrival time).
    private var emptyUntil: Duration = .zero

    public init(burst: Int, interval: Duration) {
        precondition(burst >= 1 && interval > .zero)
        self.burst = burst
        self.interval = interval
    }

    /// The earliest time, at or after `time`, at which `cost` messages may be sent.
    public func earliest(cost: Int, at time: Duration) -> Duration {
        max(time, emptyUntil - interval * max(0, burst - cost))
    }

    /// Charges `cost` messages sent at `time` (which must be no earlier than `earliest`).
    public mutating func charge(cost: Int, at time: Duration) {
        emptyUntil = max(emptyUntil, time) + interval * cost
    }

    /// Schedules `cost` messages for `time` or as soon after as allowed, and charges them.
    public mutating func schedule(cost: Int, at time: Duration) -> Duration {
        let when = earliest(cost: cost, at: time)
        charge(cost: cost, at: when)
        return when
    }

    /// Gives back what an attempt that never reached the node was charged (a refused
    /// connection, a name that does not resolve): waiting for a starting mongod stays fast.
    public mutating func refund(cost: Int) {
        emptyUntil = emptyUntil - interval * cost
    }
}
