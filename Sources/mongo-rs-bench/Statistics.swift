import Foundation

/// Durations measured over runs, with nearest-rank percentiles (p95 of 20 values is the 19th
/// smallest).
struct Samples: Sendable {
    private(set) var values: [Duration] = []

    init(_ values: [Duration] = []) {
        self.values = values
    }

    mutating func append(_ value: Duration) {
        values.append(value)
    }

    mutating func append(contentsOf other: Samples) {
        values.append(contentsOf: other.values)
    }

    var count: Int { values.count }
    var isEmpty: Bool { values.isEmpty }

    func percentile(_ p: Double) -> Duration {
        precondition(!values.isEmpty, "no samples")
        let sorted = values.sorted()
        let rank = Swift.max(1, Int((p / 100 * Double(sorted.count)).rounded(.up)))
        return sorted[Swift.min(rank, sorted.count) - 1]
    }

    var median: Duration { percentile(50) }
    var p95: Duration { percentile(95) }
    var min: Duration { values.min()! }
    var max: Duration { values.max()! }
}

extension Duration {
    var milliseconds: Double { self / .milliseconds(1) }

    var seconds: Double { milliseconds / 1000 }

    /// "0.42 ms", "35.1 ms", "10.62 s".
    var formatted: String {
        let ms = milliseconds
        if ms < 10 { return "\(fixed(ms, 2)) ms" }
        if ms < 1000 { return "\(fixed(ms, 1)) ms" }
        return "\(fixed(ms / 1000, 2)) s"
    }
}

/// `value` with `digits` decimals, "." as the separator whatever the locale.
func fixed(_ value: Double, _ digits: Int) -> String {
    String(format: "%.\(digits)f", locale: nil, value)
}

func mebibytes(_ kibibytes: Int) -> String {
    "\(fixed(Double(kibibytes) / 1024, 1)) MiB"
}

func median(_ values: [Int]) -> Int {
    let sorted = values.sorted()
    return sorted[(sorted.count - 1) / 2]
}
