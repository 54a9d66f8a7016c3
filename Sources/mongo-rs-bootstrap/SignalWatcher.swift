@preconcurrency import Dispatch
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#endif

/// Turns SIGTERM and SIGINT into a callback (cancelling the run) and remembers which came first.
final class SignalWatcher {
    private var sources: [DispatchSourceSignal] = []
    private let received = NIOLockedValueBox<Int32?>(nil)

    init(onSignal: @escaping @Sendable (Int32) -> Void) {
        var created: [DispatchSourceSignal] = []
        for number in [SIGTERM, SIGINT] {
            // The default action would kill the process before the summary is written.
            _ = Glibc.signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [received] in
                let first = received.withLockedValue { value -> Bool in
                    if value == nil { value = number; return true }
                    return false
                }
                if first { onSignal(number) }
            }
            source.resume()
            created.append(source)
        }
        sources = created
    }

    var signal: Int32? { received.withLockedValue { $0 } }

    func stop() {
        for source in sources { source.cancel() }
        sources = []
    }
}
