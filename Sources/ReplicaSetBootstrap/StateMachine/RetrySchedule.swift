/// Failures in a row of one kind of write, and when it may be tried next: each failure pushes the
/// next try out by the backoff; a success starts the count again.
struct RetrySchedule: Hashable, Sendable {
    private(set) var failures = 0
    /// No try before this time.
    private(set) var notBefore: Duration = .zero

    /// Records a failure at `now`; returns the delay before the next try.
    mutating func failed(at now: Duration, backoff: Backoff, random: inout SplitMix64) -> Duration {
        failures += 1
        let delay = backoff.delay(afterFailures: failures, random: &random)
        notBefore = now + delay
        return delay
    }

    mutating func succeeded() {
        failures = 0
    }
}
