import Testing
@testable import ReplicaSetBootstrap

@Suite("State machine: retry schedule")
struct RetryScheduleTests {
    @Test("each failure doubles the wait before the next try; a success starts the count again")
    func retrySchedule() {
        var random = SplitMix64(seed: 0)
        var schedule = RetrySchedule()
        #expect(schedule.notBefore == .zero)
        let first = schedule.failed(at: .seconds(1), backoff: testRetry, random: &random)
        #expect(first == .milliseconds(10))
        #expect(schedule.notBefore == .seconds(1) + .milliseconds(10))
        let second = schedule.failed(at: .seconds(2), backoff: testRetry, random: &random)
        #expect(second == .milliseconds(20))
        #expect(schedule.failures == 2)
        schedule.succeeded()
        #expect(schedule.failures == 0)
        let afterSuccess = schedule.failed(at: .seconds(3), backoff: testRetry, random: &random)
        #expect(afterSuccess == .milliseconds(10))
    }
}
