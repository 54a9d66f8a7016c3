import Foundation
import MongoBSON
import MongoSimulator

/// The numbers the report gives, computed from the runs.
struct Metrics {
    let m: Measurements

    init(_ measurements: Measurements) {
        m = measurements
    }

    // MARK: 1. Reaction latency

    /// Late-member runs: from the late member's startedListening to the tool's next command.
    var reactionToListening: Samples {
        Samples(m.late.compactMap { run in
            run.events { $0 == .startedListening }.first { $0.member == 2 }.map { run.reaction(to: $0.time) }
        })
    }

    /// Every member becoming SECONDARY while the tool ran (fresh and late-member runs).
    var reactionToSecondary: Samples {
        Samples((m.fresh + m.late).flatMap { run in run.events { $0 == .state(.secondary) }.map { run.reaction(to: $0.time) } })
    }

    /// Every member becoming a writable primary while the tool ran (fresh and late-member runs).
    var reactionToWritablePrimary: Samples {
        Samples((m.fresh + m.late).flatMap { run in run.events { $0 == .becameWritablePrimary }.map { run.reaction(to: $0.time) } })
    }

    var reactionRuns: Int { m.fresh.count + m.late.count }

    /// From the member becoming SECONDARY to the replSetStepUp sent to it.
    var stepUpAfterSecondary: Samples {
        Samples((m.fresh + m.late).compactMap { run in
            guard let stepUp = run.commands.first(where: { $0.name == "replSetStepUp" }),
                  let secondary = run.events.last(where: { $0.member == stepUp.member && $0.kind == .state(.secondary) && $0.time < stepUp.time })
            else { return nil }
            return secondary.time.duration(to: stepUp.time)
        })
    }

    /// From the first writable primary to the tool's exit.
    var exitAfterWritablePrimary: Samples {
        Samples((m.fresh + m.late).compactMap { run in run.firstWritablePrimary.map { $0.time.duration(to: run.exitedAt) } })
    }

    // MARK: 2. Time to first primary

    static func timeToFirstPrimary(_ runs: [Run]) -> Samples {
        Samples(runs.compactMap { run in run.firstWritablePrimary.map { run.spawnedAt.duration(to: $0.time) } })
    }

    var firstPrimaryWithStepUp: Samples { Self.timeToFirstPrimary(m.fresh) }
    var firstPrimaryWithoutStepUp: Samples { Self.timeToFirstPrimary(m.withoutStepUp) }
    var stepUpSpeedup: Double { firstPrimaryWithoutStepUp.median.seconds / firstPrimaryWithStepUp.median.seconds }

    // MARK: 3. Re-run on a healthy set

    var rerunWallTime: Samples { Samples(m.rerun.map(\.result.wallTime)) }

    /// The tool's own `elapsedMs` (the run loop, without process start and exit).
    var rerunInsideRun: Samples {
        Samples(m.rerun.compactMap { run in
            let json = (try? JSONSerialization.jsonObject(with: Data(run.result.stdout.utf8))) as? [String: Any]
            return (json?["elapsedMs"] as? Int).map { .milliseconds($0) }
        })
    }

    var rerunWrites: Int { m.rerun.reduce(0) { $0 + $1.writes.count } }

    /// The commands of each re-run, e.g. "hello ×6, replSetGetConfig ×1 (9)", with how many runs sent exactly that.
    var rerunCommandSets: [(description: String, runs: Int)] {
        var counted: [String: Int] = [:]
        for run in m.rerun { counted[Self.describe(run.commandCounts), default: 0] += 1 }
        return counted.map { ($0.key, $0.value) }.sorted { $0.runs > $1.runs }
    }

    static func describe(_ counts: [String: Int]) -> String {
        let total = counts.values.reduce(0, +)
        let names = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { "`\($0.key)` ×\($0.value)" }
        return "\(total): " + names.joined(separator: ", ")
    }

    var rerunCommandsMedian: Int { median(m.rerun.map(\.commands.count)) }

    // MARK: 4. Load while waiting

    struct Load {
        /// Commands per second received by each member in the window, by host.
        var perMember: [(host: String, commands: Int, perSecond: Double)]
        var window: Duration
        var maxPerSecond: Double { perMember.map(\.perSecond).max() ?? 0 }
    }

    static func load(_ run: Run, from start: ContinuousClock.Instant, to end: ContinuousClock.Instant, members: [Int]) -> Load {
        let window = start.duration(to: end)
        let perMember = members.map { member in
            let count = run.commands.filter { $0.member == member && $0.time >= start && $0.time < end }.count
            return (run.hosts[member], count, Double(count) / window.seconds)
        }
        return Load(perMember: perMember, window: window)
    }

    /// Member 2 not listening: the commands its two listening peers received until it listened.
    var loadWhileUnreachable: Load? {
        guard let run = m.unreachable,
              let listening = run.events.first(where: { $0.member == 2 && $0.kind == .startedListening }) else { return nil }
        return Self.load(run, from: run.spawnedAt, to: listening.time, members: [0, 1])
    }

    /// Connection attempts to the member that did not listen (each a refused hello in --debug).
    /// --debug shows a repeated line its 1st, 2nd, 4th, 8th, … time with the count so far, so
    /// this is the last count shown: at least that many, fewer than twice as many.
    var connectionAttemptsWhileUnreachable: (count: Int, perSecond: Double)? {
        guard let run = m.unreachable, let load = loadWhileUnreachable else { return nil }
        let lines = run.result.stderr.split(separator: "\n").filter { $0.contains("debug ← \(run.hosts[2]) error:") }
        let counts = lines.compactMap { line -> Int? in
            guard let range = line.range(of: " times so far") else { return nil }
            return Int(line[..<range.lowerBound].split(separator: "(").last ?? "")
        }
        let count = counts.max() ?? lines.count
        return (count, Double(count) / load.window.seconds)
    }

    /// Without step-up: from the first member becoming SECONDARY (an election is possible from
    /// then on) to the writable primary, per member.
    var loadWhileAwaitingElection: [Load] {
        m.withoutStepUp.compactMap { run in
            guard let secondary = run.events({ $0 == .state(.secondary) }).first, let primary = run.firstWritablePrimary else { return nil }
            return Self.load(run, from: secondary.time, to: primary.time, members: Array(run.hosts.indices))
        }
    }

    // MARK: 5. Peak RSS

    var freshRSS: [Int] { m.freshMemory.compactMap(\.result.maxRSSKiB) }


    // MARK: 6. 50 members vs 3

    var smallWall: Samples { Samples(m.smallSet.map(\.result.wallTime)) }
    var largeWall: Samples { Samples(m.largeSet.map(\.result.wallTime)) }
    var sizeRatio: Double { largeWall.median.seconds / smallWall.median.seconds }

    /// Voting members in the 50-member replSetInitiate.
    var largeSetVoters: Int? {
        guard let initiate = m.largeSet.first?.commands.first(where: { $0.name == "replSetInitiate" }),
              let members = initiate.document["replSetInitiate"]?.documentValue?["members"]?.arrayValue else { return nil }
        return members.filter { ($0.documentValue?["votes"]?.intValue ?? 1) > 0 }.count
    }

    var largeSetCommands: Int { median(m.largeSet.map(\.commands.count)) }
    var smallSetCommands: Int { median(m.smallSet.map(\.commands.count)) }
}

// MARK: - Where the time of a fresh bootstrap goes

extension Metrics {
    enum Owner: String {
        case tool = "tool"
        case members = "simulated members"
        case both = "tool, waiting on members"
    }

    struct Phase {
        var name: String
        var owner: Owner
    }

    static let phases: [Phase] = [
        Phase(name: "process start, until the first command arrives", owner: .tool),
        Phase(name: "`hello` and `replSetGetStatus` to every member, until `replSetInitiate` arrives", owner: .tool),
        Phase(name: "initiate: quorum check of every member, config installed on the initiator", owner: .members),
        Phase(name: "initiator becomes SECONDARY", owner: .members),
        Phase(name: "until `replSetStepUp` arrives (sent once a majority of voters hold the config)", owner: .both),
        Phase(name: "election won", owner: .members),
        Phase(name: "drain: the new primary becomes writable", owner: .members),
        Phase(name: "until the tool's last command (it sees the primary, reads the config with `commitmentStatus` until a majority holds it)", owner: .both),
        Phase(name: "from its last command to its exit", owner: .tool),
    ]

    /// The run cut at: spawn, first command, replSetInitiate received, config installed on the
    /// initiator, initiator SECONDARY, replSetStepUp received, election won, writable primary,
    /// last command, exit.
    static func phaseDurations(_ run: Run) -> [Duration]? {
        guard let first = run.commands.first, let last = run.commands.last,
              let initiate = run.commands.first(where: { $0.name == "replSetInitiate" }),
              let installed = run.events.first(where: { event in
                  guard event.member == initiate.member, event.time >= initiate.time, case .configInstalled = event.kind else { return false }
                  return true
              }),
              let secondary = run.events.first(where: { $0.member == initiate.member && $0.kind == .state(.secondary) && $0.time >= installed.time }),
              let stepUp = run.commands.first(where: { $0.name == "replSetStepUp" && $0.time >= secondary.time }),
              let won = run.events.first(where: { event in
                  guard event.time >= stepUp.time, case .electionWon = event.kind else { return false }
                  return true
              }),
              let writable = run.events.first(where: { $0.kind == .becameWritablePrimary && $0.time >= won.time }),
              last.time >= writable.time
        else { return nil }
        let cuts = [run.spawnedAt, first.time, initiate.time, installed.time, secondary.time, stepUp.time, won.time, writable.time,
                    last.time, run.exitedAt]
        return zip(cuts, cuts.dropFirst()).map { $0.duration(to: $1) }
    }

    /// The median of each phase over the runs.
    static func medianPhases(_ runs: [Run]) -> [Duration]? {
        let all = runs.compactMap(phaseDurations)
        guard !all.isEmpty else { return nil }
        return phases.indices.map { index in Samples(all.map { $0[index] }).median }
    }

    var smallPhases: [Duration]? { Self.medianPhases(m.smallSet) }
    var largePhases: [Duration]? { Self.medianPhases(m.largeSet) }

    static func time(_ phases: [Duration], of owner: Owner) -> Duration {
        zip(Self.phases, phases).filter { $0.0.owner == owner }.reduce(.zero) { $0 + $1.1 }
    }

    var smallCPU: Samples { Samples(m.smallSet.map(\.result.cpuTime)) }
    var largeCPU: Samples { Samples(m.largeSet.map(\.result.cpuTime)) }

    // Re-run: start and exit of the process around its commands.

    /// From spawn to the first command a member receives.
    var rerunStartup: Samples {
        Samples(m.rerun.compactMap { run in run.commands.first.map { run.spawnedAt.duration(to: $0.time) } })
    }

    /// From the last command a member receives to the exit.
    var rerunShutdown: Samples {
        Samples(m.rerun.compactMap { run in run.commands.last.map { $0.time.duration(to: run.exitedAt) } })
    }
}
