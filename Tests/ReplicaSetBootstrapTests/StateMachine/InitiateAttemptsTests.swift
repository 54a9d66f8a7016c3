import Testing
@testable import ReplicaSetBootstrap

@Suite("State machine: initiate attempts")
struct InitiateAttemptsTests {
    @Test("what was asked for after the last attempt counts, and a lost attempt must be confirmed again")
    func lostAttempt() {
        var attempts = InitiateAttempts()
        #expect(attempts.isAfterLastAttempt(1))
        attempts.sent(at: 5)
        #expect(!attempts.isAfterLastAttempt(5))
        #expect(attempts.isAfterLastAttempt(6))
        #expect(!attempts.lastFailed)
        attempts.acknowledged(by: a)
        attempts.reportedNoConfig(b, askedAt: 7)
        #expect(!attempts.lastFailed)
        attempts.reportedNoConfig(a, askedAt: 4)
        #expect(!attempts.lastFailed)
        attempts.reportedNoConfig(a, askedAt: 7)
        #expect(attempts.lastFailed)
        attempts.sent(at: 8)
        #expect(!attempts.lastFailed)
    }

    @Test("a failure backs off, and “maps to this node” gives the hint about names once, after 5 s without a break")
    func namesHint() {
        var random = SplitMix64(seed: 0)
        let notFinding = MongoError.code(.invalidReplicaSetConfig, a, "No host described in new configuration with {version: 1, term: 0} for replica set rs0 maps to this node")
        var attempts = InitiateAttempts()
        attempts.sent(at: 1)
        let hints = [1, 5, 6, 20].map { attempts.failed(notFinding, at: .seconds($0), backoff: testRetry, random: &random).namesHint }
        #expect(hints == [false, false, true, false])
        #expect(attempts.lastFailed && attempts.lastError == notFinding)
        #expect(attempts.retry.failures == 4)

        var interrupted = InitiateAttempts()
        let errors = [notFinding, .code(.nodeNotFound, a), notFinding, notFinding]
        let later = zip(errors, [1, 3, 7, 12]).map { interrupted.failed($0, at: .seconds($1), backoff: testRetry, random: &random).namesHint }
        #expect(later == [false, false, false, true])
    }
}
