import Testing
@testable import ReplicaSetBootstrap

@Suite("State machine: step-up attempts")
struct StepUpAttemptsTests {
    @Test("only a hello asked for after a won election counts; a win clears the backoff")
    func stepUpAttempts() {
        var random = SplitMix64(seed: 0)
        var attempts = StepUpAttempts()
        #expect(attempts.isAfterLastWin(1))
        let first = attempts.failed(at: .seconds(1), backoff: testRetry, random: &random)
        let second = attempts.failed(at: .seconds(2), backoff: testRetry, random: &random)
        #expect(first == .milliseconds(10) && second == .milliseconds(20))
        #expect(attempts.retry.notBefore == .seconds(2) + .milliseconds(20))
        attempts.won(at: 9)
        #expect(!attempts.isAfterLastWin(9))
        #expect(attempts.isAfterLastWin(10))
        #expect(attempts.retry.failures == 0)
    }
}
