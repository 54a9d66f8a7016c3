/// Capped exponential backoff with jitter, as a value: the delay before attempt `n + 1` after `n`
/// consecutive failures.
public struct Backoff: Hashable, Sendable {
    public var initial: Duration
    public var maximum: Duration
    /// Each delay is drawn from [delay × (1 − jitter), delay], so concurrent runs spread out.
    public var jitter: Double

    public init(initial: Duration, maximum: Duration, jitter: Double = 0.5) {
        self.initial = initial
        self.maximum = max(initial, maximum)
        self.jitter = jitter
    }

    /// A fixed interval without jitter (Spica's `--wait-before-retry`).
    public static func fixed(_ interval: Duration) -> Backoff {
        Backoff(initial: interval, maximum: interval, jitter: 0)
    }

    public func delay(afterFailures failures: Int, random: inout SplitMix64) -> Duration {
        guard failures > 0 else { return .zero }
        var delay = initial
        for _ in 1..<min(failures, 40) where delay < maximum {
            delay = delay * 2
        }
        delay = min(delay, maximum)
        guard jitter > 0 else { return delay }
        let fraction = 1 - jitter * random.nextUnitInterval()
        return delay * fraction
    }
}

/// A small deterministic PRNG (SplitMix64), so the state machine stays a pure value whose jitter
/// tests can reproduce.
public struct SplitMix64: RandomNumberGenerator, Hashable, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform value in [0, 1).
    mutating func nextUnitInterval() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }
}
