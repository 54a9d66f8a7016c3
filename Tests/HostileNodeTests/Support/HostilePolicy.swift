import Foundation
import Synchronization
import TestSupport
import Testing

/// The exit a case expects, under the policy "never trust a node" (issue 10).
enum Expectation: Sendable, CustomStringConvertible {
    /// Exit 0: a sane node, or a value at (not past) one of mongod's limits.
    case converged
    /// Exit 65: a valid `ok: 1` reply with content mongod never sends. The final message names the
    /// node and at least one of these (the field, or the bad value), case-insensitively.
    case refused(mentioning: [String])
    /// Exit 69: protocol garbage a network fault could also produce, retried until --timeout.
    /// The final message names the node.
    case deadline

    var exitCode: Int32 {
        switch self {
        case .converged: 0
        case .refused: 65
        case .deadline: 69
        }
    }

    var description: String {
        switch self {
        case .converged: "exit 0"
        case .refused(let words): "exit 65 naming the node and \(words.map { "'\($0)'" }.joined(separator: " or "))"
        case .deadline: "exit 69 naming the node"
        }
    }
}

/// Limits every case is held to.
enum HostilePolicy {
    /// Commands per second one node may receive, averaged over the run.
    static let maxCommandsPerSecond = 10.0
    /// What one node may receive however short the run: a whole fresh bootstrap of one node is
    /// about 9 to 13 messages in a few tens of milliseconds (libmongoc's handshake on both
    /// connections, a hello per state change, status, initiate, step-up, the config read,
    /// endSessions), which is not a flood.
    static let burst = 20
    /// How far past --timeout a run may end.
    static let deadlineSlack = Duration.seconds(1)
    /// How long past --timeout the harness waits before it kills a run that hangs.
    static let watchdogSlack = Duration.seconds(8)
}

/// At most a few cases at once: each starts a tool process and node threads, and timing checks
/// (ends by --timeout + 1 s, commands per second) must not measure a starved 2-core machine.
actor CaseSlots {
    static let shared = CaseSlots(limit: 3)

    private let limit: Int
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) {
        self.limit = limit
    }

    func acquire() async {
        if running < limit {
            running += 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty {
            running -= 1
        } else {
            waiting.removeFirst().resume()
        }
    }

    /// Runs `body` in a slot.
    static func run<T>(_ body: () async throws -> T) async throws -> T {
        await shared.acquire()
        do {
            let result = try await body()
            await shared.release()
            return result
        } catch {
            await shared.release()
            throw error
        }
    }
}

/// One run of the real binary, with what the checks need beyond the exit code.
struct ToolRun {
    var result: ToolProcess.Result
    /// Set when the process died by a signal (its number).
    var signal: Int32?
    /// The harness killed it: it was still running long after --timeout.
    var killedByWatchdog: Bool
    var duration: Duration

    /// The last non-empty line of stderr: the tool's final message.
    var finalMessage: String {
        result.stderr.split(separator: "\n", omittingEmptySubsequences: true).last.map(String.init) ?? ""
    }

    /// When the tool wrote its last progress line, by its own clock (the "[  2.001s]" that
    /// begins it; its final message follows at once): a test process that other tests keep busy
    /// may see the exit much later than it happened.
    var lastProgressTime: Duration? {
        let stamped = result.stderr.split(separator: "\n").last { $0.hasPrefix("[") && $0.contains("s] ") }
        guard let stamped, let end = stamped.firstIndex(of: "]"),
              let seconds = Double(stamped[stamped.index(after: stamped.startIndex)..<end].dropLast().trimmingCharacters(in: .whitespaces))
        else { return nil }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    /// stderr's last lines, cut short (a reply can be 10 MB, and so can an echo of it).
    var stderrTail: String {
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: true).suffix(4)
        return lines.map { $0.count > 400 ? "\($0.prefix(400))… (\($0.count) characters)" : String($0) }.joined(separator: "\n")
    }

    /// With HOSTILE_NODE_OUTPUT set to a folder, each run's whole stderr and stdout go there,
    /// one file per case (a crash's backtrace does not fit in an issue message).
    func keepOutput(named name: String) {
        guard let folder = ProcessInfo.processInfo.environment["HOSTILE_NODE_OUTPUT"] else { return }
        let safe = String(name.map { $0.isLetter || $0.isNumber ? $0 : "-" })
        let path = URL(fileURLWithPath: folder).appendingPathComponent("\(safe).txt")
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let text = "exit \(result.exitCode), signal \(signal.map(String.init) ?? "none"), \(duration)\n--- stderr\n\(result.stderr.prefix(1 << 20))\n--- stdout\n\(result.stdout.prefix(1 << 20))\n"
        try? text.write(to: path, atomically: true, encoding: .utf8)
    }

    /// Starts `mongo-rs-bootstrap` with `arguments` and waits for it, killing it if it is still
    /// running `HostilePolicy.watchdogSlack` after `timeout`.
    static func run(_ arguments: [String], environment: [String: String] = [:], timeout: Duration) async throws -> ToolRun {
        let started = ContinuousClock.now
        let running = try await ToolProcess.start(arguments, environment: environment)
        let killed = Atomic<Bool>(false)
        let finished = Atomic<Bool>(false)
        let watchdog = Thread {
            let deadline = started + timeout + HostilePolicy.watchdogSlack
            while ContinuousClock.now < deadline {
                if finished.load(ordering: .relaxed) { return }
                usleep(20_000)
            }
            if running.isRunning {
                killed.store(true, ordering: .relaxed)
                running.signal(SIGKILL)
            }
        }
        watchdog.start()
        let result = await running.finished()
        finished.store(true, ordering: .relaxed)
        return ToolRun(result: result, signal: result.signal, killedByWatchdog: killed.load(ordering: .relaxed),
                       duration: started.duration(to: result.exitedAt))
    }
}

/// A node whose traffic a case checks: a scripted node, a proxy, or an attacker listener.
struct ObservedNode {
    var host: String
    var traffic: TrafficLog
}

extension ToolRun {
    /// Every check of the policy, recorded as issues that say which case and what happened.
    /// - `nodes`: the nodes the tool was pointed at; each gets the command-rate check, and none
    ///   may receive a write command beyond `allowedWrites` (name → most times).
    /// - `named`: the final message must name one of these nodes.
    /// - `untouchable`: listeners that must never see a connection (attacker addresses).
    /// - `secrets`: must not reach any node or listener in any encoding.
    func check(_ expectation: Expectation, timeout: Duration, nodes: [ObservedNode], named: [String],
               allowedWrites: [String: Int] = [:], untouchable: [ObservedNode] = [], secrets: [String] = [],
               sourceLocation: SourceLocation = #_sourceLocation) {
        let said = "stderr ends: \(stderrTail.isEmpty ? "(nothing)" : stderrTail)"
        if killedByWatchdog {
            Issue.record("still running \(HostilePolicy.watchdogSlack) after --timeout; killed. \(said)", sourceLocation: sourceLocation)
        } else if let signal {
            Issue.record("died by signal \(signal) (\(Self.signalName(signal))) after \(duration). \(said)", sourceLocation: sourceLocation)
        } else {
            #expect(result.exitCode == expectation.exitCode,
                    "exit \(result.exitCode), expected \(expectation) after \(duration). \(said)", sourceLocation: sourceLocation)
        }
        // Ended by --timeout + 1 s by the tool's own clock (a hang is the watchdog's): the test's
        // wait for the exit runs on a concurrency pool that other tests may keep busy.
        if let lastProgressTime {
            #expect(lastProgressTime <= timeout + HostilePolicy.deadlineSlack,
                    "progress at \(lastProgressTime), past --timeout \(timeout) + \(HostilePolicy.deadlineSlack). \(said)",
                    sourceLocation: sourceLocation)
        }

        if !killedByWatchdog, signal == nil, result.exitCode != 0 {
            #expect(named.contains { finalMessage.contains($0) },
                    "the final message does not name \(named.joined(separator: " or ")): \(said)", sourceLocation: sourceLocation)
            if case .refused(let words) = expectation, result.exitCode == 65 {
                let lowered = finalMessage.lowercased()
                #expect(words.contains { lowered.contains($0.lowercased()) },
                        "the final message names none of \(words): \(said)", sourceLocation: sourceLocation)
            }
        }

        // Commands per second per node, averaged over the run; a run that ends in milliseconds
        // may still send one bootstrap's handful (`HostilePolicy.burst`).
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        let allowed = max(Double(HostilePolicy.burst), HostilePolicy.maxCommandsPerSecond * seconds)
        for node in nodes {
            let count = node.traffic.entries.count
            let rate = Double(count) / max(seconds, 1)
            #expect(Double(count) <= allowed,
                    "\(node.host) received \(count) messages in \(duration), more than the \(Int(allowed)) allowed (\(Int(rate.rounded()))/s, at most \(node.traffic.busiestSecond) in one second): \(node.traffic.summary)",
                    sourceLocation: sourceLocation)
            var writes: [String: Int] = [:]
            for entry in node.traffic.writeCommands { writes[entry.name, default: 0] += 1 }
            for (name, count) in writes where count > allowedWrites[name, default: 0] {
                Issue.record("\(name) reached \(node.host) \(count) time(s) (allowed: \(allowedWrites[name, default: 0])). \(said)",
                             sourceLocation: sourceLocation)
            }
        }
        for listener in untouchable {
            #expect(listener.traffic.connectionCount == 0,
                    "\(listener.host) was contacted: \(listener.traffic.connectionCount) connection(s), received \(listener.traffic.summary)",
                    sourceLocation: sourceLocation)
        }
        for node in nodes + untouchable {
            // The raw bytes, and every SASL payload decoded (TrafficLog.recordSASLPayload).
            let received = String(decoding: node.traffic.rawBytes, as: UTF8.self)
            for leak in SecretScan.leaks(of: secrets, in: ["what \(node.host) received": received]) {
                Issue.record("a secret reached a node: \(leak)", sourceLocation: sourceLocation)
            }
        }
    }

    static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGSEGV: "SIGSEGV"
        case SIGABRT: "SIGABRT"
        case SIGILL: "SIGILL"
        case SIGTRAP: "SIGTRAP"
        case SIGBUS: "SIGBUS"
        case SIGKILL: "SIGKILL"
        default: "signal \(signal)"
        }
    }
}
