import MongoBSON
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What a signal handler writes when it ends the process (a signal before the run, the backstop
/// timer): the stderr line and, for `--output json`, the result document, in the formats in
/// force. They are rendered beforehand, whenever the formats or the run's name change, with
/// placeholders for the elapsed time and the clock; writing them takes only arithmetic on
/// memory allocated beforehand, clock_gettime(2) and write(2), which a signal handler may use.
enum SignalSafeOutput {
    enum Exit: Int, CaseIterable {
        case sigtermBeforeRun, sigintBeforeRun, sigtermTooSlow, sigintTooSlow, stalledInput, stalledRun

        var code: Int32 {
            switch self {
            case .sigtermBeforeRun, .sigtermTooSlow: return ExitStatus.code(forSignal: SIGTERM)
            case .sigintBeforeRun, .sigintTooSlow: return ExitStatus.code(forSignal: SIGINT)
            case .stalledInput, .stalledRun: return ExitStatus.internalError
            }
        }

        var signalName: String? {
            switch self {
            case .sigtermBeforeRun, .sigtermTooSlow: return "SIGTERM"
            case .sigintBeforeRun, .sigintTooSlow: return "SIGINT"
            case .stalledInput, .stalledRun: return nil
            }
        }

        var message: String {
            switch self {
            case .sigtermBeforeRun, .sigintBeforeRun:
                return "interrupted by \(signalName!) before the run started; no node was contacted"
            case .sigtermTooSlow, .sigintTooSlow:
                return "interrupted by \(signalName!); the run did not stop in time and was ended at once"
            case .stalledInput:
                return "internal error: the input was still being read 1 s after --timeout (standard input left open, or the process starved of memory or threads); ended by the backstop timer"
            case .stalledRun:
                return "internal error: the run was still going 1 s after --timeout (stalled: out of memory or threads, a blocked output, or a call that never returned); ended by the backstop timer"
            }
        }

        /// Before the run nothing was sent; during it, what was sent is not known here (the
        /// progress log has it).
        var actionsKnown: Bool { self == .sigtermBeforeRun || self == .sigintBeforeRun || self == .stalledInput }
    }

    /// Per exit, a template for stderr and one for stdout (or nil): NUL-terminated bytes with
    /// `elapsedMarker` and `timeMarker`, followed by room for the finished line.
    /// (The address as an Int: raw pointers are not Sendable.)
    private static let table = Atomic<Int>(0)
    /// The tables replaced by a newer one: a handler may still be reading one, so they are kept
    /// (and stay reachable for LeakSanitizer).
    private static let replaced = Mutex<[Int]>([])
    /// Set by whoever writes the result first: the run's report or a signal handler.
    private static let resultClaimed = Atomic<Bool>(false)
    /// CLOCK_MONOTONIC at the start of main, in nanoseconds.
    private static let startNanoseconds = Atomic<Int64>(0)
    /// The set's name and the input's warnings, once the input is read.
    private static let run = Mutex<(setName: String?, warnings: [String])>((nil, []))

    private static let elapsedMarker: UInt8 = 1
    private static let timeMarker: UInt8 = 2
    /// Stands for the elapsed milliseconds in a rendered document.
    private static let elapsedSentinel: Int64 = 7_919_191_919_191_919

    /// First thing in main: the clock the elapsed time counts from; every static a handler
    /// reads is initialized here, not in the handler.
    static func markStart() {
        startNanoseconds.store(monotonicNanoseconds(), ordering: .relaxed)
        _ = table.load(ordering: .relaxed)
        _ = resultClaimed.load(ordering: .relaxed)
    }

    /// The run's name and warnings, for the documents from now on.
    static func runStarting(setName: String, warnings: [String]) {
        run.withLock { $0 = (setName, warnings) }
        render()
    }

    /// Whether the caller may write the result (nobody has yet); at most one caller gets true.
    static func claimResult() -> Bool {
        resultClaimed.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged
    }

    /// Renders every template in the formats in force.
    static func render() {
        let settings = Reporting.settings
        let (setName, warnings) = run.withLock { $0 }
        let entries = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: 2 * Exit.allCases.count)
        for exit in Exit.allCases {
            let stderr: String
            switch settings.log {
            case .text:
                stderr = "mongo-rs-bootstrap: \(exit.message)\n"
            case .json:
                let line = ProgressLog.Line(event: exit.signalName == nil ? "internalError" : "interrupted", level: "error", message: exit.message)
                stderr = withMarkers(ProgressLog.render(line, elapsed: .milliseconds(elapsedSentinel), format: .json, time: "\u{2}")) + "\n"
            }
            entries[2 * exit.rawValue] = template(stderr)
            if settings.output == .json {
                var fields: BSONDocument = [:]
                if let signal = exit.signalName { fields["signal"] = .string(signal) }
                fields["reason"] = .string(exit.message)
                let document = ResultReport.document(
                    setName: setName, outcome: exit.signalName == nil ? "internalError" : "interrupted", fields: fields,
                    exitCode: exit.code, actions: exit.actionsKnown ? [] : nil, warnings: warnings, elapsedMs: elapsedSentinel)
                entries[2 * exit.rawValue + 1] = template(withMarkers(document.relaxedExtendedJSON) + "\n")
            } else {
                entries[2 * exit.rawValue + 1] = nil
            }
        }
        let previous = table.exchange(Int(bitPattern: UnsafeMutableRawPointer(entries)), ordering: .acquiringAndReleasing)
        if previous != 0 { replaced.withLock { $0.append(previous) } }
    }

    /// The rendered JSON with the placeholders for the elapsed time and the clock as markers.
    private static func withMarkers(_ json: String) -> String {
        json.replacing(String(elapsedSentinel), with: "\u{1}").replacing("\\u0002", with: "\u{2}")
    }

    /// The template's bytes, NUL-terminated, then room for the finished text.
    private static func template(_ text: String) -> UnsafeMutableRawPointer {
        let bytes = Array(text.utf8)
        let memory = UnsafeMutableRawPointer.allocate(byteCount: 2 * bytes.count + 256, alignment: 8)
        memory.copyMemory(from: bytes, byteCount: bytes.count)
        memory.storeBytes(of: 0, toByteOffset: bytes.count, as: UInt8.self)
        return memory
    }

    // MARK: In the signal handler

    /// Writes the stderr line of `exit` and, unless the result was written already, its
    /// document. Async-signal-safe.
    static func write(_ exit: Exit) {
        guard let table = UnsafeMutableRawPointer(bitPattern: table.load(ordering: .acquiring)) else { return }
        let entries = table.assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
        if let line = entries[2 * exit.rawValue] {
            emit(line, to: STDERR_FILENO)
        }
        if let document = entries[2 * exit.rawValue + 1], claimResult() {
            emit(document, to: STDOUT_FILENO)
        }
    }

    /// The process ends right after: a pipe whose reader stopped reading must not keep it
    /// alive, so the write does not wait. (Not on a terminal: the flag would stay on the shell's
    /// terminal after the exit.)
    private static func emit(_ template: UnsafeMutableRawPointer, to descriptor: Int32) {
        let flags = fcntl(descriptor, F_GETFL)
        if flags >= 0 && isatty(descriptor) == 0 { _ = fcntl(descriptor, F_SETFL, flags | O_NONBLOCK) }
        let source = template.assumingMemoryBound(to: UInt8.self)
        var length = 0
        while source[length] != 0 { length += 1 }
        let output = source + length + 1
        var count = 0
        for index in 0..<length {
            switch source[index] {
            case elapsedMarker:
                let elapsed = (monotonicNanoseconds() - startNanoseconds.load(ordering: .relaxed)) / 1_000_000
                count += decimal(max(0, elapsed), width: 1, to: output + count)
            case timeMarker:
                count += timestamp(to: output + count)
            case let byte:
                output[count] = byte
                count += 1
            }
        }
        var offset = 0
        while offset < count {
            let written = Glibc.write(descriptor, output + offset, count - offset)
            if written > 0 {
                offset += written
            } else if written < 0 && errno == EINTR {
                continue
            } else {
                return
            }
        }
    }

    private static func monotonicNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    /// `value` in decimal, at least `width` digits; the number of bytes written.
    private static func decimal(_ value: Int64, width: Int, to output: UnsafeMutablePointer<UInt8>) -> Int {
        var rest = value
        var count = 0
        repeat {
            output[count] = UInt8(48 + rest % 10)
            rest /= 10
            count += 1
        } while rest > 0 || count < width
        var low = 0, high = count - 1
        while low < high {
            let byte = output[low]
            output[low] = output[high]
            output[high] = byte
            low += 1
            high -= 1
        }
        return count
    }

    /// The UTC time as `Terminal.timestamp()` writes it (2026-11-30T08:07:24.066Z), by
    /// arithmetic (gmtime_r takes a lock).
    private static func timestamp(to output: UnsafeMutablePointer<UInt8>) -> Int {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let seconds = Int64(now.tv_sec)
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secondOfDay = seconds - days * 86400
        // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        var count = 0
        put(year, 4, UInt8(ascii: "-"), output, &count)
        put(month, 2, UInt8(ascii: "-"), output, &count)
        put(day, 2, UInt8(ascii: "T"), output, &count)
        put(secondOfDay / 3600, 2, UInt8(ascii: ":"), output, &count)
        put(secondOfDay % 3600 / 60, 2, UInt8(ascii: ":"), output, &count)
        put(secondOfDay % 60, 2, UInt8(ascii: "."), output, &count)
        put(Int64(now.tv_nsec) / 1_000_000, 3, UInt8(ascii: "Z"), output, &count)
        return count
    }

    private static func put(_ value: Int64, _ width: Int, _ separator: UInt8, _ output: UnsafeMutablePointer<UInt8>, _ count: inout Int) {
        count += decimal(value, width: width, to: output + count)
        output[count] = separator
        count += 1
    }
}
