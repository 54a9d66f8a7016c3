import Dispatch
import NIOConcurrencyHelpers

extension DispatchQueue {
    /// Runs blocking `work` (a libmongoc call, a DNS query) on this queue, never on the Swift
    /// concurrency pool. A cancelled caller gets `cancelled` at once; the blocked call ends on
    /// its own, and its result is dropped.
    func blockingCall<T: Sendable>(cancelled: T, _ work: @escaping @Sendable () -> T) async -> T {
        let waiting = NIOLockedValueBox<CheckedContinuation<T, Never>?>(nil)
        let resume = { @Sendable (value: T) in waiting.withLockedValue { $0.take() }?.resume(returning: value) }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                waiting.withLockedValue { $0 = continuation }
                if Task.isCancelled {
                    resume(cancelled)
                    return
                }
                self.async { resume(work()) }
            }
        } onCancel: {
            resume(cancelled)
        }
    }
}
