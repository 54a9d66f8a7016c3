@preconcurrency import Dispatch
import NIOConcurrencyHelpers
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM and SIGINT, caught from the start of main, so none is lost.
/// - Before a run has registered for them (`onSignal`): parsing, reading the environment and
///   input files, standard input included, which may wait for ever. Nothing has been contacted,
///   so the handler ends the process at once with 143/130 and its report (`SignalSafeOutput`).
/// - During the run: the handler writes the signal number to a pipe (async-signal-safe); a read
///   source on the pipe reports it, and the run is cancelled and reports how it ended. The
///   `Backstop` timer is brought forward so that the process is gone within 1 s even if that
///   cannot happen.
/// Before `installHandlers()` the default action applies, which ends the process with the same
/// status (143/130) a shell and Kubernetes would show.
enum SignalWatcher {
    nonisolated(unsafe) private static var pipeWriteEnd: Int32 = -1
    /// True once a run has registered its callback; read in the signal handler.
    private static let runListening = Atomic<Bool>(false)
    private static let state = NIOLockedValueBox<State>(State())
    private static let queue = DispatchQueue(label: "mongo-rs-bootstrap.signals")

    private struct State {
        var received: Int32?
        var callback: (@Sendable (Int32) -> Void)?
        var source: DispatchSourceRead?
    }

    /// The handlers, first thing in main (before the arguments are parsed): a signal from now
    /// on ends the process with its report, in the formats in force.
    static func installHandlers() {
        // First use here, not in a signal handler.
        _ = runListening.load(ordering: .relaxed)
        for number in [SIGTERM, SIGINT] {
            _ = Glibc.signal(number) { signalNumber in
                guard SignalWatcher.runListening.load(ordering: .acquiring) else { SignalWatcher.endBeforeRun(signalNumber) }
                Backstop.stopRequested(by: signalNumber)
                var byte = UInt8(truncatingIfNeeded: signalNumber)
                _ = Glibc.write(SignalWatcher.pipeWriteEnd, &byte, 1)
            }
        }
    }

    /// The pipe and its reader, once the backstop is armed (the reader may need a thread), for
    /// a run to register with `onSignal`.
    static func install() {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { return }
        _ = fcntl(ends[1], F_SETFL, fcntl(ends[1], F_GETFL) | O_NONBLOCK)
        pipeWriteEnd = ends[1]
        let source = DispatchSource.makeReadSource(fileDescriptor: ends[0], queue: queue)
        source.setEventHandler {
            var number: UInt8 = 0
            guard read(ends[0], &number, 1) == 1 else { return }
            let callback = state.withLockedValue { state -> (@Sendable (Int32) -> Void)? in
                guard state.received == nil else { return nil }
                state.received = Int32(number)
                return state.callback
            }
            callback?(Int32(number))
        }
        state.withLockedValue { $0.source = source }
        source.resume()
    }

    /// A signal before the run: nothing to stop cleanly, so end now. Async-signal-safe.
    private static func endBeforeRun(_ signal: Int32) -> Never {
        SignalSafeOutput.write(signal == SIGINT ? .sigintBeforeRun : .sigtermBeforeRun)
        _exit(ExitStatus.code(forSignal: signal))
    }

    /// Calls `callback` on the first signal, at once if one already came. From now on a signal
    /// no longer ends the process at once: the run stops and reports.
    static func onSignal(_ callback: @escaping @Sendable (Int32) -> Void) {
        let already = state.withLockedValue { state -> Int32? in
            state.callback = callback
            return state.received
        }
        runListening.store(true, ordering: .releasing)
        if let already { callback(already) }
    }

    /// The first signal received, if any.
    static var received: Int32? { state.withLockedValue { $0.received } }
}
