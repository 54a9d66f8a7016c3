/// The run's `replSetStepUp` attempts: the backoff after a lost election, and the last won one,
/// whose effect only a hello asked for since can show.
struct StepUpAttempts: Hashable, Sendable {
    /// The event that completed the last step-up that won; nil before.
    private(set) var lastWonSeq: Int?
    private(set) var retry = RetrySchedule()

    /// Whether a hello asked for at event `seq` was asked for after the last won step-up.
    func isAfterLastWin(_ seq: Int) -> Bool {
        lastWonSeq.map { seq > $0 } ?? true
    }

    mutating func won(at seq: Int) {
        lastWonSeq = seq
        retry.succeeded()
    }

    /// Records a lost (or failed) step-up; returns the delay before the next one.
    mutating func failed(at now: Duration, backoff: Backoff, random: inout SplitMix64) -> Duration {
        retry.failed(at: now, backoff: backoff, random: &random)
    }
}
