import Subprocess

/// A child process run through swift-subprocess, held past the call that started it: the tests
/// signal a run, read its /proc files and wait for it later. `Subprocess.run` ends only when the
/// process has, so it runs in a task of its own, which hands back the process id once it is up.
/// swift-subprocess waits on a pidfd, and reads the outputs without holding a thread.
public struct SpawnedProcess<Outcome: Sendable>: Sendable {
    public let processIdentifier: pid_t
    /// `run`'s result: after the exit, with the outputs it collected.
    public let outcome: Task<Outcome, any Error>

    /// `run` calls one of swift-subprocess's `run` functions, and from its body `started` with
    /// the execution's process identifier.
    public init(_ run: @escaping @Sendable (_ started: @escaping @Sendable (ProcessIdentifier) -> Void) async throws -> Outcome) async throws {
        let launched = AsyncThrowingStream<pid_t, any Error>.makeStream()
        outcome = Task {
            do {
                return try await run { identifier in
                    launched.continuation.yield(identifier.value)
                    launched.continuation.finish()
                }
            } catch {
                launched.continuation.finish(throwing: error)
                throw error
            }
        }
        var launchedIdentifier: pid_t?
        for try await identifier in launched.stream {
            launchedIdentifier = identifier
        }
        guard let launchedIdentifier else { throw CancellationError() }
        processIdentifier = launchedIdentifier
    }
}
