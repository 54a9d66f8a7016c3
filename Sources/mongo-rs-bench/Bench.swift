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
        /// Rounds of the field: in each, every contender once on a fresh set of each size, in turn.
        var fieldRuns = 7
        /// Rounds (of the first ones) in which Spica's re-creation runs at 3 members; each waits
        /// out mongod's election timeout. At 7, 25 and 50 members it runs in the first round only.
        var spicaRuns = 3
        /// Runs of each contender at each size through the launcher, for threads and peak RSS.
        var resourceRuns = 2
        /// Runs of the tool and the minimal client under callgrind at 3 and at 50 members.
        var callgrindRuns = 2
        /// How long a member stays unreachable in the load scenario.
        var unreachableFor: Duration = .seconds(5)
        /// How long a member refuses connections in the CPU-while-waiting scenario.
        var refusingFor: Duration = .seconds(3)
        var contenders = ContenderPaths()
        /// A copy of the tool made with `strip --strip-debug`, for callgrind; nil: no callgrind.
        var callgrindTool: String?

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
                case "--field-runs": options.fieldRuns = try count(argument)
                case "--spica-runs": options.spicaRuns = try count(argument)
                case "--resource-runs": options.resourceRuns = try count(argument)
                case "--callgrind-runs": options.callgrindRuns = try count(argument)
                case "--unreachable-seconds": options.unreachableFor = .seconds(try count(argument))
                case "--refusing-seconds": options.refusingFor = .seconds(try count(argument))
                case "--minimal-client": options.contenders.minimalClient = try value(argument)
                case "--python": options.contenders.python = try value(argument)
                case "--pymongo-script": options.contenders.pymongoScript = try value(argument)
                case "--spica-script": options.contenders.spicaScript = try value(argument)
                case "--callgrind-tool": options.callgrindTool = try value(argument)
                case "-h", "--help":
                    print("""
                    usage: mongo-rs-bench [--tool PATH] [--output FILE] [--runs N] [--slow-runs N] [--field-runs N]
                                          [--spica-runs N] [--resource-runs N] [--callgrind-runs N]
                                          [--unreachable-seconds N] [--refusing-seconds N]
                                          [--minimal-client PATH] [--python PATH] [--pymongo-script PATH]
                                          [--spica-script PATH] [--callgrind-tool PATH]
                                          [--swift-version TEXT] [--libmongoc-version TEXT]
                                          [--build-command TEXT] [--reproduce TEXT]
                    Runs the mongo-rs-bootstrap binary at --tool, and the contenders it is compared with, against
                    simulated members and writes the report. Without --callgrind-tool, no instruction counts.
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
            var programs = [options.contenders.minimalClient, options.contenders.python]
            if let stripped = options.callgrindTool { programs += [stripped, Callgrind.valgrind] }
            for program in programs where !FileManager.default.isExecutableFile(atPath: program) {
                throw BenchError(description: "no executable at \(program) (scripts/bench builds and installs what the benchmark runs)")
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
        let scenarios = Scenarios(tool: options.tool, paths: options.contenders)
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

        log("SIGTERM during the run: a member refusing connections, and one answering nothing, \(options.runs) runs each")
        for _ in 0..<options.runs {
            m.signalWhileRefused.append(try await scenarios.signalDuringRun(memberAnswersNothing: false))
            m.signalWhileBlocked.append(try await scenarios.signalDuringRun(memberAnswersNothing: true))
        }

        log("the field: fresh 3-, 7-, 25- and 50-member sets, \(options.fieldRuns) rounds of the tool, the minimal client and the pymongo script in turn, Spica's re-creation in some (it waits out mongod's election)")
        for round in 0..<options.fieldRuns {
            for (index, size) in Self.fieldSizes.enumerated() {
                let spica = round < (size == 3 ? options.spicaRuns : 1)
                let contenders: [Contender] = [.tool, .minimal, .pymongo] + (spica ? [.spica] : [])
                for contender in rotated(contenders, by: round + index) {
                    let run = try await scenarios.freshSet(size: size, contender: contender, awaitPrimary: contender == .spica ? .seconds(20) : .zero)
                    m.field.append(FieldRun(round: round, size: size, contender: contender, run: run))
                }
            }
        }

        log("re-run on a healthy 3-member set: the tool, the pymongo script and Spica's re-creation, \(options.spicaRuns) rounds")
        for round in 0..<options.spicaRuns {
            for contender in rotated([Contender.tool, .pymongo, .spica], by: round) {
                m.fieldRerun.append(FieldRun(round: round, size: 3, contender: contender, run: try await scenarios.rerun(contender)))
            }
        }

        log("threads and peak RSS: every contender at every size, \(options.resourceRuns) runs each through the launcher")
        for round in 0..<options.resourceRuns {
            for (index, size) in Self.fieldSizes.enumerated() {
                for contender in rotated(Contender.allCases, by: round + index) {
                    let run = try await scenarios.freshSet(size: size, contender: contender, mode: .throughLauncher, sampleThreads: true)
                    m.resources.append(FieldRun(round: round, size: size, contender: contender, run: run))
                }
            }
        }

        log("CPU while a member refuses connections for \(options.refusingFor.formatted): the tool and the pymongo script, 2 runs each")
        for round in 0..<2 {
            for contender in rotated([Contender.tool, .pymongo], by: round) {
                let run = try await scenarios.waitingOnRefusingMember(contender, for: options.refusingFor)
                m.refusing.append(FieldRun(round: round, size: 3, contender: contender, run: run))
            }
        }

        if let stripped = options.callgrindTool {
            log("instruction counts (callgrind): the tool and the minimal client at 3 and 50 members, \(options.callgrindRuns) runs each")
            for round in 0..<options.callgrindRuns {
                for size in [3, 50] {
                    for contender in rotated([Contender.tool, .minimal], by: round) {
                        let executable = contender == .tool ? stripped : options.contenders.minimalClient
                        let profile = try await scenarios.callgrind(contender, size: size, executable: executable)
                        m.callgrind.append(CallgrindRun(size: size, contender: contender, profile: profile))
                    }
                }
            }
        }

        log("without replSetStepUp: mongod's own election after its 10 s timeout, \(options.slowRuns) runs")
        for _ in 0..<options.slowRuns { m.withoutStepUp.append(try await scenarios.freshSetWithoutStepUp()) }

        m.loadAfter = Machine.loadAverage()
        m.duration = started.duration(to: .now)
        return m
    }
}

extension Bench {
    static let fieldSizes = [3, 7, 25, 50]
}

/// `items` starting at `by` (modulo their count): the order of a round, so no contender always goes first.
func rotated<T>(_ items: [T], by shift: Int) -> [T] {
    let start = shift % items.count
    return Array(items[start...] + items[..<start])
}

struct CallgrindRun: Sendable {
    var size: Int
    var contender: Contender
    var profile: CallgrindProfile
}

struct Measurements: Sendable {
    var help: ChildProcess.Result?
    var fresh: [Run] = []
    var late: [Run] = []
    var rerun: [Run] = []
    /// Runs through the launcher, for `ru_maxrss` only.
    var freshMemory: [Run] = []
    var rerunMemory: [Run] = []
    var unreachable: Run?
    var profiled: (Run, MemoryProfile?)?
    /// Every contender on fresh sets of every size, in rounds.
    var field: [FieldRun] = []
    /// The tool, the pymongo script and Spica on a healthy set.
    var fieldRerun: [FieldRun] = []
    /// Through the launcher, threads sampled: peak RSS and threads.
    var resources: [FieldRun] = []
    /// The tool and the pymongo script while a member refuses connections.
    var refusing: [FieldRun] = []
    var callgrind: [CallgrindRun] = []
    /// The tool's field runs at 3 and 50 members.
    var smallSet: [Run] { field.filter { $0.contender == .tool && $0.size == 3 }.map(\.run) }
    var largeSet: [Run] { field.filter { $0.contender == .tool && $0.size == 50 }.map(\.run) }
    var largeMemory: [Run] { resources.filter { $0.contender == .tool && $0.size == 50 }.map(\.run) }
    var withoutStepUp: [Run] = []
    /// From SIGTERM to the exit: while a member refuses connections, and while a call to a
    /// member that answers nothing waits for its reply.
    var signalWhileRefused: [Duration] = []
    var signalWhileBlocked: [Duration] = []
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
