import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The last resort that ends the process whatever else is stuck: a kernel timer (SIGALRM from
/// `setitimer`) whose handler writes a message rendered beforehand (`SignalSafeOutput`) with
/// write(2) and calls `_exit`. It needs no
/// thread, no memory and no lock, so a run starved of them (a low `ulimit -v`, a blocked stdout,
/// a libmongoc call that never returns) still ends:
/// - 1 s after `--timeout`: exit 70, an internal stall. Armed twice: as soon as the arguments
///   are parsed, before the first thread hop (which a starved process may never finish), to
///   bound reading the input; again when the run starts, to bound the run. The state machine's
///   own deadline ends a healthy run first, with 69.
/// - 750 ms after SIGTERM or SIGINT asked a run to stop: exit 143 or 130, as a clean stop
///   would, so a signal ends the process within 1 s.
enum Backstop {
    /// 0, or the signal that asked the run to stop (set from the signal handler).
    private static let stopRequestedBy = Atomic<Int32>(0)
    /// What the timer bounds now, for its message (`Phase` raw values).
    private static let phase = Atomic<Int32>(Phase.input.rawValue)

    enum Phase: Int32 {
        /// Parsing, the environment, input files, standard input.
        case input
        /// The run: nodes are contacted.
        case run
    }

    /// How long a run may go on after its deadline (`--timeout`).
    static let grace: Duration = .seconds(1)
    /// How long a run may take to stop after a signal.
    static let signalGrace: Duration = .milliseconds(750)

    /// Installs the SIGALRM handler; the timer itself is armed by `arm(after:)`.
    static func install() {
        // First use here, not in a signal handler.
        _ = stopRequestedBy.load(ordering: .relaxed)
        _ = phase.load(ordering: .relaxed)
        _ = Glibc.signal(SIGALRM) { _ in Backstop.fire() }
    }

    /// The process ends `delay` from now at the latest, whatever `phase` does.
    static func arm(after delay: Duration, for phase: Phase) {
        self.phase.store(phase.rawValue, ordering: .relaxed)
        arm(after: delay)
    }

    private static func arm(after delay: Duration) {
        var value = itimerval(it_interval: timeval(), it_value: timeval(delay))
        _ = setitimer(__itimer_which_t(ITIMER_REAL.rawValue), &value, nil)
    }

    /// A signal asked the run to stop: it must be gone within `signalGrace`. Async-signal-safe
    /// (an atomic store, the getitimer and setitimer system calls).
    static func stopRequested(by signal: Int32) {
        _ = stopRequestedBy.compareExchange(expected: 0, desired: signal, ordering: .relaxed)
        var current = itimerval()
        _ = getitimer(__itimer_which_t(ITIMER_REAL.rawValue), &current)
        let remaining = Duration.seconds(current.it_value.tv_sec) + .microseconds(current.it_value.tv_usec)
        if remaining == .zero || remaining > signalGrace {
            arm(after: signalGrace)
        }
    }

    /// The SIGALRM handler: only async-signal-safe calls, messages rendered beforehand in the
    /// formats in force (`SignalSafeOutput`).
    private static func fire() -> Never {
        switch stopRequestedBy.load(ordering: .relaxed) {
        case SIGTERM:
            SignalSafeOutput.write(.sigtermTooSlow)
            _exit(ExitStatus.code(forSignal: SIGTERM))
        case SIGINT:
            SignalSafeOutput.write(.sigintTooSlow)
            _exit(ExitStatus.code(forSignal: SIGINT))
        default:
            SignalSafeOutput.write(phase.load(ordering: .relaxed) == Phase.input.rawValue ? .stalledInput : .stalledRun)
            _exit(ExitStatus.internalError)
        }
    }
}

extension timeval {
    /// At least 1 µs: a zero timer value would disarm the timer instead.
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self.init(tv_sec: Int(seconds), tv_usec: max(Int(attoseconds / 1_000_000_000_000), seconds == 0 ? 1 : 0))
    }
}
