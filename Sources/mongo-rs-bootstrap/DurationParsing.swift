import ReplicaSetBootstrap

/// Durations as people write them: `300` (seconds), `1500ms`, `90s`, `5m`, `1h`, `1m30s`.
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
            case "m": seconds = value * 60
            case "h": seconds = value * 3600
            default:
                throw InvalidInput("\(name): unit '\(unit)' in '\(text)' is not one of ms, s, m, h; give a duration \(example)")
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

    static func format(_ duration: Duration) -> String {
        let ms = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        if ms % 3_600_000 == 0 { return "\(ms / 3_600_000)h" }
        if ms % 60000 == 0 { return "\(ms / 60000)m" }
        if ms % 1000 == 0 { return "\(ms / 1000)s" }
        return "\(ms)ms"
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        let characters = Set(set)
        return String(drop { characters.contains($0) }.reversed().drop { characters.contains($0) }.reversed())
    }
}
