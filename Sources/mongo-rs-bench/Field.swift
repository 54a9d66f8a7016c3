import Foundation
import MongoSimulator

#if canImport(Glibc)
import Glibc
#endif

/// What the tool is measured against, each started as a child process against its own fresh
/// simulated set, in turn with the tool (issue item 5: "the benchmark shows the field").
enum Contender: String, CaseIterable, Sendable, Hashable {
    /// mongo-rs-bootstrap itself.
    case tool
    /// `scripts/contenders/minimal-client.c`: only the round trips a fresh set needs; the physical limit.
    case minimal
    /// `scripts/contenders/pymongo-bootstrap.py`: a careful hand-written script, 100 ms polling, with replSetStepUp.
    case pymongo
    /// `scripts/contenders/spica-recreation.py`: Spica's controller logic, re-created (5 × 3 s retries,
    /// initiate, forced reconfig on a re-run, no wait for a primary).
    case spica

    var name: String {
        switch self {
        case .tool: return "mongo-rs-bootstrap"
        case .minimal: return "minimal C client"
        case .pymongo: return "pymongo script"
        case .spica: return "Spica (re-created)"
        }
    }

    /// For the ratio columns.
    var shortName: String {
        switch self {
        case .tool: return "tool"
        case .minimal: return "minimal"
        case .pymongo: return "pymongo"
        case .spica: return "Spica"
        }
    }
}

/// Where the contenders are (scripts/bench builds the C client and passes the paths).
struct ContenderPaths: Sendable {
    var minimalClient = ".build/bench/minimal-client"
    var python = "/usr/bin/python3"
    var pymongoScript = "scripts/contenders/pymongo-bootstrap.py"
    var spicaScript = "scripts/contenders/spica-recreation.py"
}

/// One run of a contender in the field: which round of the alternation it belongs to, so two
/// contenders' runs of the same round and size can be paired.
struct FieldRun: Sendable {
    var round: Int
    var size: Int
    var contender: Contender
    var run: Run
}

extension Scenarios {
    /// The program and arguments that bootstrap `hosts` with `contender`.
    func command(_ contender: Contender, _ hosts: [String]) -> (String, [String]) {
        let list = hosts.joined(separator: ",")
        switch contender {
        case .tool: return (tool, ["--nodes", list, "--timeout", "60s", "--output", "json"])
        case .minimal: return (paths.minimalClient, [list])
        case .pymongo: return (paths.python, [paths.pymongoScript, list])
        case .spica: return (paths.python, [paths.spicaScript, list])
        }
    }

    func spawn(_ contender: Contender, _ hosts: [String], mode: ChildProcess.Mode = .direct) throws -> ChildProcess {
        let (program, arguments) = command(contender, hosts)
        return try ChildProcess(program, arguments, mode: mode)
    }

    /// A fresh set of `size` members, every one listening, bootstrapped by `contender`. With
    /// `sampleThreads`, the process's thread count is sampled every millisecond (for runs whose
    /// timing is not used). `awaitPrimary`: after a successful exit without a writable primary
    /// (Spica does not wait for one), how long to keep the set running for mongod's own election.
    func freshSet(size: Int, contender: Contender = .tool, mode: ChildProcess.Mode = .direct, sampleThreads: Bool = false,
                  awaitPrimary: Duration = .zero) async throws -> Run {
        try await ReplicaSetSimulator.run(members(size), options: SimulatorOptions(timings: .mongod)) { simulator in
            let child = try spawn(contender, simulator.hosts, mode: mode)
            let threads = sampleThreads ? ProcessSampler.peakThreads(of: child) : nil
            var run = try await finish(child, simulator, expecting: contender == .spica ? nil : 0)
            run.peakThreads = await threads?.value
            if run.result.exitCode == 0, run.firstWritablePrimary == nil, awaitPrimary > .zero {
                let deadline = run.spawnedAt + awaitPrimary
                while ContinuousClock.now < deadline, !(await simulator.events.contains { $0.kind == .becameWritablePrimary }) {
                    try await Task.sleep(for: .milliseconds(20))
                }
                run.events = await simulator.events
            }
            return run
        }
    }

    /// A healthy 3-member set (initiated by the simulator, every member SECONDARY or PRIMARY),
    /// then one run of `contender`.
    func rerun(_ contender: Contender) async throws -> Run {
        try await ReplicaSetSimulator.run(members(3), options: SimulatorOptions(timings: .mongod)) { simulator in
            try await simulator.initiateSet()
            let commandsBefore = await simulator.commands.count
            let eventsBefore = await simulator.events.count
            let child = try spawn(contender, simulator.hosts)
            return try await finish(child, simulator, commandsBefore: commandsBefore, eventsBefore: eventsBefore)
        }
    }

    /// A fresh 3-member set whose third member refuses connections (not listening) for `delay`
    /// after `contender` starts: the CPU it spends waiting.
    func waitingOnRefusingMember(_ contender: Contender, for delay: Duration) async throws -> Run {
        try await ReplicaSetSimulator.run(members(3), options: SimulatorOptions(timings: .mongod), start: false) { simulator in
            try await simulator.start(0)
            try await simulator.start(1)
            let child = try spawn(contender, simulator.hosts)
            try await Task.sleep(until: child.spawnedAt + delay, clock: .continuous)
            try await simulator.start(2)
            return try await finish(child, simulator)
        }
    }
}

/// Samples a running child's /proc/PID/status on a thread of its own.
enum ProcessSampler {
    /// The most threads the process had at once (`Threads:`), sampled every millisecond until it
    /// exits. A child started through the launcher is found among the launcher's children.
    static func peakThreads(of child: ChildProcess) -> Task<Int?, Never> {
        let launcher = child.mode == .throughLauncher ? child.pid : nil
        let pid = child.pid
        return onThread {
            var target: pid_t? = launcher == nil ? pid : nil
            var peak: Int?
            while true {
                if target == nil, let launcher { target = Self.child(of: launcher) }
                if let target {
                    guard let status = MemoryProfile.readWhole("/proc/\(target)/status"), !status.isEmpty,
                          field(status, "State:")?.hasPrefix("Z") != true else { break }
                    if let threads = field(status, "Threads:").flatMap({ Int($0) }) { peak = max(peak ?? 0, threads) }
                } else if kill(pid, 0) != 0 {
                    break
                }
                usleep(1000)
            }
            return peak
        }
    }

    /// The value after `name` in a /proc status text.
    static func field(_ status: String, _ name: String) -> String? {
        status.split(separator: "\n").first { $0.hasPrefix(name) }
            .map { $0.dropFirst(name.count).trimmingCharacters(in: .whitespaces) }
    }

    /// A process whose parent is `parent` (the kernel here has no /proc/PID/task/TID/children).
    static func child(of parent: pid_t) -> pid_t? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        for entry in entries {
            guard let pid = pid_t(entry), let stat = MemoryProfile.readWhole("/proc/\(pid)/stat"),
                  let close = stat.lastIndex(of: ")") else { continue }
            // "pid (comm) state ppid ...": comm may hold spaces, so read after its ")".
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, pid_t(fields[1]) == parent { return pid }
        }
        return nil
    }
}

/// Runs `body` on a thread of its own (blocking work that must not hold a concurrency-pool
/// thread) and returns its result to the caller's task.
func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) -> Task<T, Never> {
    Task.detached {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: body()) }.start()
        }
    }
}
