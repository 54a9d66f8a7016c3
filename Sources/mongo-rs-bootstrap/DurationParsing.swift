import MongoBSON
import ReplicaSetBootstrap

/// Durations as people write them: `300` (seconds), `1500ms`, `90s`, `5m` (or `5min`), `1h`, `1m30s`.
enum DurationParsing {
    static func parse(_ text: String, name: String, allowed: ClosedRange<Duration>) throws(InvalidInput) -> Duration {
        let trimmed = text.trimmingCharacters(in: " \t")
        let example = "for example 300, 90s, 1500ms, 5m or 1h30m"
        guard !trimmed.isEmpty else { throw InvalidInput("\(name): empty duration; give one \(example)") }
        var total = Duration.zero
        var rest = Substring(trimmed)
        if rest.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) {
            rest += "s"
        }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isASCII && $0.isLetter }
            rest = rest.dropFirst(unit.count)
            guard !number.isEmpty, let value = Double(number), value.isFinite else {
                throw InvalidInput("\(name): '\(text)' is not a duration; give one \(example)")
            }
            let seconds: Double
            switch unit {
            case "ms": seconds = value / 1000
            case "s": seconds = value
            case "m", "min": seconds = value * 60
            case "h": seconds = value * 3600
            default:
                throw InvalidInput("\(name): unit '\(unit)' in '\(text)' is not one of ms, s, m, h (or min); give a duration \(example)")
            }
            guard seconds <= 10 * 86400 else { throw InvalidInput("\(name): '\(text)' is too long; allowed: \(describe(allowed))") }
            total += .milliseconds(Int64((seconds * 1000).rounded()))
        }
        guard allowed.contains(total) else {
            throw InvalidInput("\(name): '\(text)' is outside the allowed range \(describe(allowed))")
        }
        return total
    }

    static func describe(_ range: ClosedRange<Duration>) -> String {
        "\(format(range.lowerBound)) to \(format(range.upperBound))"
    }

    /// A duration in the unit that fits it: `0ms`, `750ms`, `1.5s`, `12s`, `4min 12s`, `5min`,
    /// `2h`, `1h 30min`. Below a minute it is exact to the millisecond; above, to the second or
    /// the minute.
    static func format(_ duration: Duration) -> String {
        let ms = max(0, duration.wholeMilliseconds)
        if ms < 1000 { return "\(ms)ms" }
        if ms < 60_000 {
            guard ms % 1000 != 0 else { return "\(ms / 1000)s" }
            var fraction = String(ms % 1000)
            fraction = String(repeating: "0", count: 3 - fraction.count) + fraction
            while fraction.hasSuffix("0") { fraction.removeLast() }
            return "\(ms / 1000).\(fraction)s"
        }
        if ms < 3_600_000 {
            let seconds = ms / 1000
            return "\(seconds / 60)min" + (seconds % 60 == 0 ? "" : " \(seconds % 60)s")
        }
        let minutes = ms / 60_000
        return "\(minutes / 60)h" + (minutes % 60 == 0 ? "" : " \(minutes % 60)min")
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        let characters = Set(set)
        return String(drop { characters.contains($0) }.reversed().drop { characters.contains($0) }.reversed())
    }
}
