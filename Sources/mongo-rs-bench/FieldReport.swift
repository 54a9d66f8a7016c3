import Foundation
import MongoBSON

/// BENCHMARKS.md: the field, and the targets measured against it.
extension Report {
    static let startupTarget = 1.3
    static let instructionRatioTarget = 3.0
    static let refusedCPUTarget: Duration = .milliseconds(20)

    var fieldRows: [Row] {
        let x = metrics
        var rows: [Row] = []
        if let ratio = x.startupRatio, let tool = Metrics.fieldMedian(measurements.field, .tool, size: 3, .timeToPrimary),
           let floor = Metrics.fieldMedian(measurements.field, .minimal, size: 3, .timeToPrimary) {
            rows.append(Row(metric: "7. Start-up against the physical limit: time to a writable primary, fresh 3-member set, the tool ÷ the minimal C client (paired, median of \(ratio.pairs) rounds)",
                            measured: "\(Duration.seconds(tool).formatted) vs \(Duration.seconds(floor).formatted): \(fixed(ratio.value, 2))×",
                            target: "≤ \(fixed(Self.startupTarget, 1))×", met: ratio.value <= Self.startupTarget))
        }
        if let ratio = x.instructionRatio, let small = x.instructions(.tool, size: 3), let large = x.instructions(.tool, size: 50) {
            rows.append(Row(metric: "8. CPU by instruction count (callgrind), fresh 50-member vs 3-member set (median of \(options.callgrindRuns) each)",
                            measured: "\(instructionsText(large)) vs \(instructionsText(small)): \(fixed(ratio, 2))×",
                            target: "≤ \(fixed(Self.instructionRatioTarget, 0))×", met: ratio <= Self.instructionRatioTarget))
        }
        if let cpu = x.cpuWhileRefused(.tool, waited: options.refusingFor) {
            rows.append(Row(metric: "9. CPU while waiting on one refusing member (\(options.refusingFor.formatted), median of 2; a fresh run's CPU subtracted)",
                            measured: "\(cpu.perSecond.formatted) per second",
                            target: "≤ \(Self.refusedCPUTarget.formatted) per second", met: cpu.perSecond <= Self.refusedCPUTarget))
        }
        if let rss = x.largestRSSAt50 {
            rows.append(Row(metric: "10. Peak RSS (`ru_maxrss`), fresh 50-member set (largest of \(measurements.largeMemory.count) runs through the launcher)",
                            measured: mebibytes(rss), target: "≤ \(mebibytes(Self.rssTargetKiB))", met: rss <= Self.rssTargetKiB))
        }
        return rows
    }

    func instructionsText(_ count: Double) -> String {
        count >= 1e9 ? "\(fixed(count / 1e9, 2)) G instructions" : "\(fixed(count / 1e6, 1)) M instructions"
    }

    /// One table of a figure by member count: each contender's median and the paired ratios.
    func fieldTable(_ runs: [FieldRun], _ figure: Metrics.Figure, sizes: [Int] = Bench.fieldSizes,
                    contenders: [Contender] = Contender.allCases) -> String {
        let ratios: [(Contender, Contender)] = [(.tool, .minimal), (.pymongo, .tool), (.spica, .tool)]
            .filter { contenders.contains($0.0) && contenders.contains($0.1) }
        var text = "| members | " + contenders.map(\.name).joined(separator: " | ") + " | "
            + ratios.map { "\($0.0.shortName) ÷ \($0.1.shortName)" }.joined(separator: " | ") + " |\n"
        text += "|---|" + String(repeating: "---|", count: contenders.count + ratios.count) + "\n"
        for size in sizes {
            let cells = contenders.map { contender -> String in
                let ran = Metrics.runs(runs, contender, size: size)
                if ran.isEmpty { return "—" }
                if let value = Metrics.fieldMedian(runs, contender, size: size, figure) { return figure.format(value) }
                return failure(ran.map(\.run))
            }
            let ratioCells = ratios.map { a, b in Metrics.ratio(runs, a, b, size: size, figure).map { "\(ratioText($0.value))×" } ?? "—" }
            text += "| \(size) | " + (cells + ratioCells).joined(separator: " | ") + " |\n"
        }
        return text
    }

    func ratioText(_ value: Double) -> String {
        value >= 100 ? fixed(value, 0) : value >= 10 ? fixed(value, 1) : fixed(value, 2)
    }

    /// What runs without the figure ended with: the exit code and the last line of stderr.
    func failure(_ runs: [Run]) -> String {
        guard let run = runs.first(where: { $0.result.exitCode != 0 }) else { return "—" }
        var reason = run.result.stderr.split(separator: "\n").last.map(String.init) ?? ""
        if let range = reason.range(of: "Replica set configuration contains") { reason = String(reason[range.lowerBound...]) }
        if let range = reason.range(of: ", full error") { reason = String(reason[..<range.lowerBound]) }
        reason = reason.replacingOccurrences(of: "|", with: "/")
        return "fails, exit \(run.result.exitCode)" + (reason.isEmpty ? "" : ": “\(reason.prefix(120))”")
    }

    func fieldSection() -> String {
        let m = measurements
        let x = metrics
        let spicaAt3 = Metrics.runs(m.field, .spica, size: 3).count
        var text = """
        ## The field, side by side

        The tool against what people use instead, each started as a child process on a fresh
        simulated set of the same size with mongod's timings, in the same run: \(options.fieldRuns) rounds, and
        in each round every contender once at each size, in an order that rotates from round to
        round. Each figure is the median of a contender's runs; each ratio is the median, over the
        rounds in which both ran, of one's figure divided by the other's in that round.

        - **mongo-rs-bootstrap**: `--nodes … --output json`, as above.
        - **minimal C client** (`scripts/contenders/minimal-client.c`, libmongoc): only the round trips a fresh set
          needs, the physical limit: one connection per member, all at once, whose handshake `hello`
          shows the member is up and fresh; `replSetInitiate` on the first member; awaitable `hello`
          until it is SECONDARY; `replSetStepUp`; awaitable `hello` until it is a writable primary.
          No safety checks, no verification of the config.
        - **pymongo script** (`scripts/contenders/pymongo-bootstrap.py`): what a careful user writes: poll each
          member every 100 ms until it answers, `replSetInitiate` (unless a set exists), poll the
          first member every 100 ms until a writable primary, sending `replSetStepUp` when it is
          SECONDARY without a primary.
        - **Spica (re-created)** (`scripts/contenders/spica-recreation.py`): a re-creation in Python of the logic of
          Spica's `mongoreplicationcontroller`, the Job this tool replaces, not its code: the whole
          step up to 5 times, 3 s apart, on connection failures; `rs.status()` on the first node,
          `rs.initiate` with every node as a voting member, or on a set that exists a forced
          reconfig with the full list; no wait for a primary. The real controller runs each step
          through a `mongosh` child process, whose start-up (Node.js) the re-creation leaves out, so
          it can only be faster than the original. It runs in the first \(spicaAt3) rounds at 3
          members and the first round at the other sizes: it exits right after `replSetInitiate`,
          and the set's first primary then comes from mongod's own election timeout (the benchmark
          keeps the set running up to 20 s for it).

        \(headline())

        ### Time to a writable primary (from start; the first member to become one)

        \(fieldTable(m.field, .timeToPrimary))
        ### Wall time, start to exit

        \(fieldTable(m.field, .wallTime))
        Spica's exit comes before any primary exists: it does not wait for one.

        ### CPU time (user + system, from `wait4`)

        \(fieldTable(m.field, .cpu))
        ### Commands the members received (handshakes included)

        \(fieldTable(m.field, .commands))
        ### Threads and peak RSS by member count

        \(options.resourceRuns) more runs of each contender at each size, through the launcher (GNU time, for
        `ru_maxrss`, see 5.), with the process's `Threads:` in `/proc/PID/status` sampled every
        millisecond; the largest sample is its peak thread count (a thread that lives less than a
        millisecond can be missed). Python's figures are the interpreter's.

        Peak threads:

        \(fieldTable(m.resources, .threads))
        Peak RSS:

        \(fieldTable(m.resources, .rss))

        """
        text += rerunSection() + refusingSection(x) + callgrindSection(x)
        return text
    }

    /// The 3-member figures in one sentence, each as a ratio to the others.
    func headline() -> String {
        let runs = measurements.field
        func time(_ contender: Contender) -> String {
            Metrics.fieldMedian(runs, contender, size: 3, .timeToPrimary).map { Duration.seconds($0).formatted } ?? "?"
        }
        func ratio(_ a: Contender, _ b: Contender) -> String {
            Metrics.ratio(runs, a, b, size: 3, .timeToPrimary).map { "\(ratioText($0.value))×" } ?? "?"
        }
        return """
        In this run, on a fresh 3-member set, the tool had a writable primary after \(time(.tool)), \(ratio(.tool, .minimal))
        the time of the minimal client (\(time(.minimal)), the physical limit); the pymongo script took
        \(time(.pymongo)), \(ratio(.pymongo, .tool)) the tool's; Spica's logic \(time(.spica)), \(ratio(.spica, .tool)) the tool's (its
        primary comes from mongod's own election timeout).
        """
    }

    func rerunSection() -> String {
        let runs = measurements.fieldRerun
        let contenders: [Contender] = [.tool, .pymongo, .spica]
        var text = """
        ### Re-run on a healthy 3-member set

        \(options.spicaRuns) rounds; in each, every contender on its own healthy set (initiated by the
        simulator, every member SECONDARY or PRIMARY). The minimal client only bootstraps fresh sets.

        | | \(contenders.map(\.name).joined(separator: " | ")) |
        |---|\(String(repeating: "---|", count: contenders.count))

        """
        for figure in [Metrics.Figure.wallTime, .cpu, .commands] {
            text += "| \(figure.name) | " + contenders.map { contender in
                let value = Metrics.fieldMedian(runs, contender, size: 3, figure).map(figure.format) ?? "—"
                guard contender != .tool, let ratio = Metrics.ratio(runs, contender, .tool, size: 3, figure) else { return value }
                return "\(value) (\(ratioText(ratio.value))× the tool)"
            }.joined(separator: " | ") + " |\n"
        }
        text += "| writes (all runs) | " + contenders.map { contender in
            let writes = Metrics.runs(runs, contender, size: 3).flatMap { $0.run.writes }
            guard !writes.isEmpty else { return "none" }
            let forced = writes.filter { $0.document["force"]?.isTruthy ?? false }.count
            let names = Dictionary(grouping: writes, by: \.name).map { "`\($0.key)` ×\($0.value.count)" }.sorted().joined(separator: ", ")
            return names + (forced > 0 ? " (\(forced) with `force: true`)" : "")
        }.joined(separator: " | ") + " |\n"
        return text + "\n"
    }

    func refusingSection(_ x: Metrics) -> String {
        let contenders: [Contender] = [.tool, .pymongo]
        let figures = contenders.map { x.cpuWhileRefused($0, waited: options.refusingFor) }
        var text = """
        ### CPU while one member refuses connections

        A fresh 3-member set whose third member is not listening for the first \(options.refusingFor.formatted) (connections
        to it are refused); 2 runs of each, alternating. The CPU of a fresh run with every member
        listening (the median of the field's 3-member runs) is subtracted, the rest divided by
        the \(options.refusingFor.formatted) of waiting.

        | | \(contenders.map(\.name).joined(separator: " | ")) |
        |---|---|---|

        """
        text += "| CPU of the run | " + figures.map { $0.map { $0.total.formatted } ?? "—" }.joined(separator: " | ") + " |\n"
        text += "| CPU of a fresh run | " + figures.map { $0.map { $0.baseline.formatted } ?? "—" }.joined(separator: " | ") + " |\n"
        text += "| CPU per second of waiting | " + figures.map { $0.map { "\($0.perSecond.formatted)" } ?? "—" }.joined(separator: " | ") + " |\n"
        if let tool = figures[0], let script = figures[1] {
            let cost = script.perSecond > .milliseconds(1)
                ? "the tool spends \(ratioText(tool.perSecond.seconds / script.perSecond.seconds))× the pymongo script's CPU per second of waiting"
                : "the pymongo script's waiting costs less CPU than the run-to-run spread of its start-up (its interpreter and imports), where the tool's costs \(tool.perSecond.formatted) a second"
            text += "\nSo \(cost). In return the tool reacts within milliseconds of the member listening (1. above), where pymongo's monitor re-checks an unreachable server every 500 ms.\n"
        }
        return text + "\n"
    }

    func callgrindSection(_ x: Metrics) -> String {
        guard !measurements.callgrind.isEmpty else {
            return "### CPU by phase\n\nNot measured in this run (no `--callgrind-tool`, or valgrind missing).\n"
        }
        let tool3 = x.phaseInstructions(.tool, size: 3), tool50 = x.phaseInstructions(.tool, size: 50)
        var text = """
        ### CPU by phase (instruction counts, callgrind)

        The tool (a copy made with `strip --strip-debug`: valgrind cannot read the DWARF 5 debug
        information; the symbols stay) and the minimal client under valgrind's callgrind on a fresh
        3-member and 50-member set, \(options.callgrindRuns) runs each, alternating; median per phase. The phases are cut
        where a function is first entered (`--dump-before`; every thread's instructions so far go to
        the phase that ends there). Under valgrind the programs run dozens of times slower, so the
        set changes state sooner relative to them; counts of waiting loops may differ from a normal
        run, the work per member does not.

        | phase | tool, 3 members | tool, 50 members | 50 ÷ 3 |
        |---|---|---|---|

        """
        for (index, phase) in tool3.enumerated() {
            let large = index < tool50.count ? tool50[index].instructions : 0
            text += "| \(phase.name) | \(instructionsText(phase.instructions)) | \(instructionsText(large)) | \(phase.instructions > 0 ? fixed(large / phase.instructions, 2) + "×" : "—") |\n"
        }
        let totals = [x.instructions(.tool, size: 3), x.instructions(.tool, size: 50)]
        text += "| total | \(totals[0].map(instructionsText) ?? "—") | \(totals[1].map(instructionsText) ?? "—") | \(x.instructionRatio.map { fixed($0, 2) + "×" } ?? "—") |\n\n"
        text += "The minimal C client, for comparison:\n\n| phase | 3 members | 50 members | 50 ÷ 3 |\n|---|---|---|---|\n"
        let floor3 = x.phaseInstructions(.minimal, size: 3), floor50 = x.phaseInstructions(.minimal, size: 50)
        for (index, phase) in floor3.enumerated() where index < floor50.count {
            text += "| \(phase.name) | \(instructionsText(phase.instructions)) | \(instructionsText(floor50[index].instructions)) | \(fixed(floor50[index].instructions / max(1, phase.instructions), 2))× |\n"
        }
        if let small = x.instructions(.minimal, size: 3), let large = x.instructions(.minimal, size: 50),
           let tool3 = totals[0], let tool50 = totals[1] {
            text += "| total | \(instructionsText(small)) | \(instructionsText(large)) | \(fixed(large / small, 2))× |\n\n"
            text += "The tool executes \(ratioText(tool3 / small))× the minimal client's instructions at 3 members and \(ratioText(tool50 / large))× at 50.\n"
        }
        return text + "\n"
    }
}
