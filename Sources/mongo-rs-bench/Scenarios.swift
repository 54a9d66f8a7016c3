import Foundation
import MongoBSON
import MongoSimulator

struct BenchError: Error, CustomStringConvertible {
    var description: String
}

/// One run of the tool against a simulated set, with what the members recorded.
struct Run: Sendable {
    var result: ChildProcess.Result
    var hosts: [String]
    /// The commands the members received from the tool, during this run only.
    var commands: [CommandRecord]
    /// The members' events during this run only.
    var events: [SimulatorEvent]
    /// The most threads the process had at once, when sampled.
    var peakThreads: Int?

    var spawnedAt: ContinuousClock.Instant { result.spawnedAt }
    var exitedAt: ContinuousClock.Instant { result.exitedAt }

    /// From `instant` to the first command any member received after it, or to the tool's exit
    /// if that came first.
    func reaction(to instant: ContinuousClock.Instant) -> Duration {
        let next = commands.first { $0.time > instant }?.time ?? exitedAt
        return instant.duration(to: Swift.min(next, exitedAt))
    }

    /// Events of this kind while the tool was running.
    func events(_ matches: (SimulatorEvent.Kind) -> Bool) -> [SimulatorEvent] {
        events.filter { matches($0.kind) && $0.time > spawnedAt && $0.time < exitedAt }
    }

    var firstWritablePrimary: SimulatorEvent? {
        events.first { $0.kind == .becameWritablePrimary && $0.time > spawnedAt }
    }

    var writes: [CommandRecord] { commands.filter(\.isWrite) }

    /// Commands by name, e.g. ["hello": 6, "replSetGetConfig": 1].
    var commandCounts: [String: Int] {
        commands.reduce(into: [:]) { $0[$1.name, default: 0] += 1 }
    }
}

/// The scenarios, each against fresh simulated members with mongod's own timings (10 s election
/// timeout, 2 s heartbeats, 1 s initial sync) unless it says otherwise.
struct Scenarios {
    let tool: String
    var paths = ContenderPaths()

    /// `mongo-rs-bootstrap --nodes <hosts> --timeout 60s <extra>`.
    func spawn(_ hosts: [String], _ extra: [String] = [], mode: ChildProcess.Mode = .direct) throws -> ChildProcess {
        try ChildProcess(tool, ["--nodes", hosts.joined(separator: ","), "--timeout", "60s"] + extra, mode: mode)
    }

    /// Waits for the child, lets the members record what was already on the wire, and slices out
    /// this run's commands and events. `code` nil: any exit code is a result.
    func finish(_ child: ChildProcess, _ simulator: ReplicaSetSimulator, commandsBefore: Int = 0, eventsBefore: Int = 0,
                expecting code: Int32? = 0) async throws -> Run {
        let result = await child.finished()
        try await Task.sleep(for: .milliseconds(30))
        let commands = Array(await simulator.commands.dropFirst(commandsBefore))
        let events = Array(await simulator.events.dropFirst(eventsBefore))
        if let code, result.exitCode != code {
            throw BenchError(description: "\(child.program) exited \(result.exitCode), not \(code):\n\(result.stderr)\(result.stdout)")
        }
        return Run(result: result, hosts: simulator.hosts, commands: commands, events: events)
    }

    func members(_ count: Int) -> [MemberSpec] {
        Array(repeating: MemberSpec(), count: count)
    }

    /// A fresh 3-member set whose last member starts listening `delay` after the tool started.
    /// With `debug`, the tool logs every command it sends (to count its connection attempts).
    /// With `profile`, its memory map is sampled while it runs.
    func lateMember(after delay: Duration, debug: Bool = false, profile: Bool = false) async throws -> (Run, MemoryProfile?) {
        try await ReplicaSetSimulator.run(members(3), options: SimulatorOptions(timings: .mongod), start: false) { simulator in
            try await simulator.start(0)
            try await simulator.start(1)
            let child = try spawn(simulator.hosts, debug ? ["--debug"] : [])
            let sampler = profile ? MemoryProfile.sampleLargest(pid: child.pid, executable: tool) : nil
            try await Task.sleep(until: child.spawnedAt + delay, clock: .continuous)
            try await simulator.start(2)
            let run = try await finish(child, simulator)
            return (run, await sampler?.value)
        }
    }

    /// A fresh 3-member set whose third member refuses connections (never started) or answers
    /// nothing (every reply held back two minutes, so the tool's call to it blocks in libmongoc);
    /// SIGTERM 0.3-0.8 s after the tool started. From the signal to the tool's exit (143).
    func signalDuringRun(memberAnswersNothing: Bool) async throws -> Duration {
        try await ReplicaSetSimulator.run(members(3), options: SimulatorOptions(timings: .mongod), start: false) { simulator in
            try await simulator.start(0)
            try await simulator.start(1)
            if memberAnswersNothing {
                try await simulator.start(2)
                try await simulator.inject(.slowReplies(.seconds(120)), into: 2)
            }
            let child = try spawn(simulator.hosts)
            try await Task.sleep(until: child.spawnedAt + .milliseconds(Int.random(in: 300...800)), clock: .continuous)
            let signalled = ContinuousClock.now
            child.kill(SIGTERM)
            let run = try await finish(child, simulator, expecting: 143)
            return signalled.duration(to: run.exitedAt)
        }
    }

    /// A fresh 3-member set on which `replSetStepUp` fails (the simulator's `failCommand` fault
    /// on every member: the command is refused before it runs, as if it had never been sent), so
    /// the first primary is the one mongod's own election timeout elects.
    func freshSetWithoutStepUp() async throws -> Run {
        try await ReplicaSetSimulator.run(members(3), options: SimulatorOptions(timings: .mongod)) { simulator in
            for member in simulator.hosts.indices {
                try await simulator.inject(.failCommand("replSetStepUp", code: 125, count: 1_000_000), into: member)
            }
            let child = try spawn(simulator.hosts, ["--output", "json"])
            return try await finish(child, simulator)
        }
    }

    /// A healthy 3-member set (initiated, primary elected, every member SECONDARY or PRIMARY,
    /// without the tool), then the tool `runs` times in a row, then `memoryRuns` times through the
    /// launcher.
    func rerunOnHealthySet(runs: Int, memoryRuns: Int) async throws -> (timed: [Run], memory: [Run]) {
        try await ReplicaSetSimulator.run(members(3), options: SimulatorOptions(timings: .mongod)) { simulator in
            try await simulator.initiateSet()
            var timed: [Run] = [], memory: [Run] = []
            for index in 0..<(runs + memoryRuns) {
                let commandsBefore = await simulator.commands.count
                let eventsBefore = await simulator.events.count
                let child = try spawn(simulator.hosts, ["--output", "json"], mode: index < runs ? .direct : .throughLauncher)
                let run = try await finish(child, simulator, commandsBefore: commandsBefore, eventsBefore: eventsBefore)
                if index < runs { timed.append(run) } else { memory.append(run) }
            }
            return (timed, memory)
        }
    }

    /// `mongo-rs-bootstrap --help`: loads the binary and its libraries, parses, prints, contacts
    /// no node. The floor of its memory.
    func launcherFloor() async throws -> Int? {
        await (try ChildProcess("/bin/true", [], mode: .throughLauncher)).finished().maxRSSKiB
    }

    func help() async throws -> ChildProcess.Result {
        let child = try ChildProcess(tool, ["--help"], mode: .throughLauncher)
        return await child.finished()
    }
}
