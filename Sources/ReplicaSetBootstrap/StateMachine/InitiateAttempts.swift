/// The run's `replSetInitiate` attempts: when the last one was sent and whether it still stands,
/// the backoff before the next, and the hint about names while they keep failing.
struct InitiateAttempts: Hashable, Sendable {
    /// The event that sent the last attempt; nil before the first.
    private(set) var lastSentSeq: Int?
    /// The last attempt failed, or what it did is lost (its node came back without a config):
    /// every node must be confirmed fresh again before the next one (invariant 1).
    private(set) var lastFailed = false
    /// The node that acknowledged an attempt.
    private(set) var acknowledgedBy: HostAddress?
    private(set) var lastError: MongoError?
    private(set) var retry = RetrySchedule()
    /// Since when attempts have failed with "… maps to this node" without a break.
    private var notFindingItselfSince: Duration?
    private var namesHintGiven = false

    /// How long "… maps to this node" may go on before the hint about names.
    static let namesHintAfter = Duration.seconds(5)

    /// Whether what was asked for at event `seq` was asked for after the last attempt was sent.
    func isAfterLastAttempt(_ seq: Int) -> Bool {
        lastSentSeq.map { seq > $0 } ?? true
    }

    mutating func sent(at seq: Int) {
        lastSentSeq = seq
        lastFailed = false
    }

    mutating func acknowledged(by host: HostAddress) {
        acknowledgedBy = host
    }

    /// `host` reported no config (NotYetInitialized) to a status asked for at event `seq`: when it
    /// acknowledged the last attempt before, that attempt is lost (restarted with an empty dbpath).
    mutating func reportedNoConfig(_ host: HostAddress, askedAt seq: Int) {
        if host == acknowledgedBy, isAfterLastAttempt(seq) { lastFailed = true }
    }

    /// Records a failed attempt; returns the delay before the next one, and whether to give the
    /// hint about names now (once, after "… maps to this node" for `namesHintAfter`: a name that
    /// resolves late heals within seconds, one that never will is a mistake in --nodes).
    mutating func failed(_ error: MongoError, at now: Duration, backoff: Backoff, random: inout SplitMix64) -> (retryIn: Duration, namesHint: Bool) {
        lastFailed = true
        lastError = error
        let delay = retry.failed(at: now, backoff: backoff, random: &random)
        guard error.isNotFindingItself else {
            notFindingItselfSince = nil
            return (delay, false)
        }
        let since = notFindingItselfSince ?? now
        notFindingItselfSince = since
        guard now - since >= Self.namesHintAfter, !namesHintGiven else { return (delay, false) }
        namesHintGiven = true
        return (delay, true)
    }
}
