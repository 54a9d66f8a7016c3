@preconcurrency import Dispatch
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM and SIGINT, caught from the first moment of `main` so none is lost: the handler only
/// writes the signal number to a pipe (async-signal-safe); a read source on the pipe reports it.
/// Before `install()` the default action applies, which ends the process with the same status
/// (143/130) a shell and Kubernetes would show.
enum SignalWatcher {
    nonisolated(unsafe) private static var pipeWriteEnd: Int32 = -1
    private static let state = NIOLockedValueBox<State>(State())
    private static let queue = DispatchQueue(label: "mongo-rs-bootstrap.signals")

    private struct State {
        var received: Int32?
        var callback: (@Sendable (Int32) -> Void)?
        var source: DispatchSourceRead?
    }

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
        for number in [SIGTERM, SIGINT] {
            _ = Glibc.signal(number) { signalNumber in
                var byte = UInt8(truncatingIfNeeded: signalNumber)
                _ = Glibc.write(SignalWatcher.pipeWriteEnd, &byte, 1)
            }
        }
    }

    /// Calls `callback` on the first signal, at once if one already came.
    static func onSignal(_ callback: @escaping @Sendable (Int32) -> Void) {
        let already = state.withLockedValue { state -> Int32? in
            state.callback = callback
            return state.received
        }
        if let already { callback(already) }
    }

    /// The first signal received, if any.
    static var received: Int32? { state.withLockedValue { $0.received } }
}
