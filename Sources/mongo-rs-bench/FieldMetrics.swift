import Foundation

/// The field's figures: each contender's median, and each pair's ratio over the runs they made
/// in the same round (paired, so a stretch of a busy machine weighs on both sides).
extension Metrics {
    /// A figure of one run; nil when the run has none (no writable primary, no sample).
    struct Figure: Sendable {
        var name: String
        var value: @Sendable (Run) -> Double?
        var format: @Sendable (Double) -> String

        static let timeToPrimary = Figure(name: "time to a writable primary", value: { run in
            run.firstWritablePrimary.map { run.spawnedAt.duration(to: $0.time).seconds }
        }, format: seconds)
        static let wallTime = Figure(name: "wall time, start to exit", value: { $0.result.wallTime.seconds }, format: seconds)
        static let cpu = Figure(name: "CPU time (user + system)", value: { $0.result.cpuTime.seconds }, format: seconds)
        static let commands = Figure(name: "commands the members received", value: { Double($0.commands.count) }, format: count)
        static let threads = Figure(name: "peak threads", value: { $0.peakThreads.map(Double.init) }, format: count)
        static let rss = Figure(name: "peak RSS", value: { $0.result.maxRSSKiB.map(Double.init) }, format: { mebibytes(Int($0)) })

        static func seconds(_ value: Double) -> String { Duration.seconds(value).formatted }
        static func count(_ value: Double) -> String { value == value.rounded() ? String(Int(value)) : fixed(value, 1) }
    }

    static func runs(_ runs: [FieldRun], _ contender: Contender, size: Int) -> [FieldRun] {
        runs.filter { $0.contender == contender && $0.size == size }
    }

    /// The median of the figure over the contender's runs at that size (the mean of the middle
    /// two for an even count); nil when no run has it.
    static func fieldMedian(_ runs: [FieldRun], _ contender: Contender, size: Int, _ figure: Figure) -> Double? {
        middle(Self.runs(runs, contender, size: size).compactMap { figure.value($0.run) })
    }

    /// `a`'s figure divided by `b`'s, per round in which both ran at that size; the median of those
    /// ratios and how many there were.
    static func ratio(_ runs: [FieldRun], _ a: Contender, _ b: Contender, size: Int, _ figure: Figure) -> (value: Double, pairs: Int)? {
        let theirs = Dictionary(Self.runs(runs, b, size: size).map { ($0.round, $0.run) }, uniquingKeysWith: { first, _ in first })
        let ratios = Self.runs(runs, a, size: size).compactMap { mine -> Double? in
            guard let other = theirs[mine.round], let x = figure.value(mine.run), let y = figure.value(other), y > 0 else { return nil }
            return x / y
        }
        return middle(ratios).map { ($0, ratios.count) }
    }

    static func middle(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let half = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[half] : (sorted[half - 1] + sorted[half]) / 2
    }

    // MARK: Targets of the field

    /// Start-up against the physical limit: tool ÷ minimal client, time to a writable primary, 3 members.
    var startupRatio: (value: Double, pairs: Int)? { Self.ratio(m.field, .tool, .minimal, size: 3, .timeToPrimary) }

    /// Instructions of the tool's runs under callgrind at `size`, median.
    func instructions(_ contender: Contender, size: Int) -> Double? {
        Self.middle(m.callgrind.filter { $0.contender == contender && $0.size == size }.map { Double($0.profile.total) })
    }

    /// The phases' instructions, median per phase, of the contender's callgrind runs at `size`.
    func phaseInstructions(_ contender: Contender, size: Int) -> [(name: String, instructions: Double)] {
        let profiles = m.callgrind.filter { $0.contender == contender && $0.size == size }.map(\.profile)
        guard let first = profiles.first else { return [] }
        return first.phases.indices.map { index in
            (first.phases[index].name, Self.middle(profiles.compactMap { $0.phases.indices.contains(index) ? Double($0.phases[index].instructions) : nil }) ?? 0)
        }
    }

    var instructionRatio: Double? {
        guard let large = instructions(.tool, size: 50), let small = instructions(.tool, size: 3), small > 0 else { return nil }
        return large / small
    }

    /// CPU per second of waiting on a refusing member: the run's CPU less the median CPU of the
    /// same contender's fresh 3-member runs (all listening), over the time the member refused.
    func cpuWhileRefused(_ contender: Contender, waited: Duration) -> (perSecond: Duration, total: Duration, baseline: Duration)? {
        let runs = m.refusing.filter { $0.contender == contender }.map(\.run)
        guard let total = Self.middle(runs.map(\.result.cpuTime.seconds)),
              let baseline = Self.fieldMedian(m.field, contender, size: 3, .cpu) else { return nil }
        return (.seconds(max(0, total - baseline) / waited.seconds), .seconds(total), .seconds(baseline))
    }

    /// Peak RSS of the tool at 50 members: the largest of its runs through the launcher.
    var largestRSSAt50: Int? { m.largeMemory.compactMap(\.result.maxRSSKiB).max() }
}
