/// Thins out the lines of an attempt that fails the same way again and again (an initiate that
/// keeps failing its quorum check, a step-up that keeps losing): the 1st, 2nd, 4th, 8th, …
/// occurrence is shown with its count, the rest are not. A run that retries for minutes then
/// logs a dozen lines, not thousands, and nothing that changes is ever hidden.
public struct RepeatedAttempts: Sendable {
    private var counts: [Progress: Int] = [:]

    public init() {}

    /// How many times `progress` has been seen, or nil when this occurrence is not worth a line.
    public mutating func occurrence(of progress: Progress) -> Int? {
        guard let key = progress.attemptKey else { return 1 }
        let count = counts[key, default: 0] + 1
        counts[key] = count
        return count & (count - 1) == 0 ? count : nil
    }
}

extension Progress {
    /// The same attempt with the same result, whatever the backoff drew; nil for reports that
    /// are not repeated attempts.
    var attemptKey: Progress? {
        switch self {
        case .initiating, .alreadyInitialized, .steppingUp, .reconfiguring, .awaitingCommitment, .steppingDown:
            return self
        case .initiateFailed(let host, let error, _): return .initiateFailed(host, error, retryIn: .zero)
        case .stepUpFailed(let host, let error, _): return .stepUpFailed(host, error, retryIn: .zero)
        case .reconfigFailed(let host, let error, _): return .reconfigFailed(host, error, retryIn: .zero)
        case .stepDownFailed(let host, let error, _): return .stepDownFailed(host, error, retryIn: .zero)
        case .unreachable, .classified, .initiated, .primaryWritable, .recordedAs, .reconfigured, .forcingReconfig, .waiting:
            return nil
        }
    }
}
