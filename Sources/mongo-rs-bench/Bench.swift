import Foundation
import MongoBSON
import MongoSimulator

/// `mongo-rs-bench`: runs the release `mongo-rs-bootstrap` binary as a child process against
/// simulated members and writes BENCHMARKS.md. `scripts/bench` builds both and runs it.
@main
struct Bench {
    struct Options {
        var tool = ".build/release/mongo-rs-bootstrap"
        var output = "BENCHMARKS.md"
        var swiftVersion = "unknown"
        var libmongocVersion = "unknown"
        var buildCommand = "swift build -c release --static-swift-stdlib --product mongo-rs-bootstrap"
        var reproduce = "scripts/bench"
        /// Runs of each fast scenario (percentiles need at least 20).
        var runs = 20
        /// Runs that wait out the 10 s election timeout.
        var slowRuns = 3
        /// Pairs of 3-member and 50-member runs.
        var largeRuns = 5
        /// How long a member stays unreachable in the load scenario.
        var unreachableFor: Duration = .seconds(5)

        static func parse(_ arguments: [String]) throws -> Options {
            var options = Options()
            var iterator = arguments.makeIterator()
            func value(_ name: String) throws -> String {
                guard let value = iterator.next() else { throw BenchError(description: "\(name) needs a value") }
                return value
            }
            func count(_ name: String) throws -> Int {
                let text = try value(name)
                guard let count = Int(text), count > 0 else { throw BenchError(description: "\(name): '\(text)' is not a positive number") }
                return count
            }
            while let argument = iterator.next() {
                switch argument {
                case "--tool": options.tool = try value(argument)
                case "--output": options.output = try value(argument)
                case "--swift-version": options.swiftVersion = try value(argument)
                case "--libmongoc-version": options.libmongocVersion = try value(argument)
                case "--build-command": options.buildCommand = try value(argument)
                case "--reproduce": options.reproduce = try value(argument)
                case "--runs": options.runs = try count(argument)
                case "--slow-runs": options.slowRuns = try count(argument)
                case "--large-runs": options.largeRuns = try count(argument)
                case "--unreachable-seconds": options.unreachableFor = .seconds(try count(argument))
                case "-h", "--help":
                    print("""
                    usage: mongo-rs-bench [--tool PATH] [--output FILE] [--runs N] [--slow-runs N] [--large-runs N]
                                          [--unreachable-seconds N] [--swift-version TEXT] [--libmongoc-version TEXT]
                                          [--build-command TEXT] [--reproduce TEXT]
                    Runs the mongo-rs-bootstrap binary at --tool against simulated members and writes the report.
                    """)
                    exit(0)
                default: throw BenchError(description: "unknown argument \(argument) (see --help)")
                }
            }
            return options
        }
    }

    static func main() async {
        do {
            let options = try Options.parse(Array(CommandLine.arguments.dropFirst()))
            guard FileManager.default.isExecutableFile(atPath: options.tool) else {
                throw BenchError(description: "no executable at \(options.tool); build it with: \(options.buildCommand)")
            }
            guard FileManager.default.isExecutableFile(atPath: ChildProcess.launcher) else {
                throw BenchError(description: "no \(ChildProcess.launcher), which measures peak memory (Debian: apt-get install time)")
            }
            let measurements = try await measure(options)
            let report = Report(options: options, machine: Machine.current(), measurements: measurements)
            try report.markdown.write(toFile: options.output, atomically: true, encoding: .utf8)
            log("wrote \(options.output)")
            print(report.summary)
        } catch {
            log("mongo-rs-bench: \(error)")
            exit(1)
        }
    }

    static func log(_ message: String) {
        FileHandle.standardError.write(Data("[bench] \(message)\n".utf8))
    }

    static func measure(_ options: Options) async throws -> Measurements {
        let scenarios = Scenarios(tool: options.tool)
        var m = Measurements()
        m.loadBefore = Machine.loadAverage()
        let started = ContinuousClock.now

        // Warm the page cache so the first measured run does not read the binary from disk.
        _ = try await scenarios.help()
        m.help = try await scenarios.help()
        m.launcherFloor = try await scenarios.launcherFloor()

        log("fresh 3-member set, \(options.runs) runs")
        for _ in 0..<options.runs { m.fresh.append(try await scenarios.freshSet(size: 3)) }

        log("a member that starts listening 0.3-1.3 s after the tool, \(options.runs) runs")
        for _ in 0..<options.runs {
            m.late.append(try await scenarios.lateMember(after: .milliseconds(Int.random(in: 300...1300))).0)
        }

        log("peak RSS: fresh 3-member set, \(options.runs) runs through the launcher")
        for _ in 0..<options.runs { m.freshMemory.append(try await scenarios.freshSet(size: 3, mode: .throughLauncher)) }

        log("re-run on a healthy 3-member set, \(options.runs) runs (and 5 through the launcher)")
        (m.rerun, m.rerunMemory) = try await scenarios.rerunOnHealthySet(runs: options.runs, memoryRuns: 5)

        log("a member unreachable for \(options.unreachableFor.formatted) (with --debug, to count connection attempts)")
        m.unreachable = try await scenarios.lateMember(after: options.unreachableFor, debug: true).0

        log("memory map while the tool waits for a member (1.5 s)")
        m.profiled = try await scenarios.lateMember(after: .milliseconds(1500), profile: true)

        log("3-member and 50-member sets, \(options.largeRuns) runs each, alternating")
        for _ in 0..<options.largeRuns {
            m.smallSet.append(try await scenarios.freshSet(size: 3))
            m.largeSet.append(try await scenarios.freshSet(size: 50))
        }
        m.largeMemory.append(try await scenarios.freshSet(size: 50, mode: .throughLauncher))

        log("without replSetStepUp: mongod's own election after its 10 s timeout, \(options.slowRuns) runs")
        for _ in 0..<options.slowRuns { m.withoutStepUp.append(try await scenarios.freshSetWithoutStepUp()) }

        m.loadAfter = Machine.loadAverage()
        m.duration = started.duration(to: .now)
        return m
    }
}

struct Measurements: Sendable {
    var help: ChildProcess.Result?
    var fresh: [Run] = []
    var late: [Run] = []
    var rerun: [Run] = []
    /// Runs through the launcher, for `ru_maxrss` only.
    var freshMemory: [Run] = []
    var rerunMemory: [Run] = []
    var largeMemory: [Run] = []
    var unreachable: Run?
    var profiled: (Run, MemoryProfile?)?
    var smallSet: [Run] = []
    var largeSet: [Run] = []
    var withoutStepUp: [Run] = []
    /// `ru_maxrss` of /bin/true through the launcher: the launcher's own peak, the floor of what it can show.
    var launcherFloor: Int?
    var loadBefore = ""
    var loadAfter = ""
    var duration: Duration = .zero
}

/// What the report says about the machine.
struct Machine {
    var cpu: String
    var cores: Int
    var kernel: String
    var memory: String

    static func current() -> Machine {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
        let kernel = ((try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8)) ?? "unknown")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let meminfo = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
        let totalKiB = meminfo.split(separator: "\n").first { $0.hasPrefix("MemTotal:") }
            .flatMap { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first }.flatMap { Int($0) } ?? 0
        return Machine(cpu: model, cores: sysconf(Int32(_SC_NPROCESSORS_ONLN)), kernel: "Linux \(kernel)",
                       memory: "\(fixed(Double(totalKiB) / 1024 / 1024, 1)) GiB")
    }

    /// The 1-minute load average.
    static func loadAverage() -> String {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
        return text.split(separator: " ").first.map(String.init) ?? "?"
    }
}
