@testable import ReplicaSetBootstrap
import Testing

@Suite("Repeated attempts are thinned out on the progress log")
struct RepeatedAttemptsTests {
    let quorumFailed = MongoError.code(.nodeNotFound, a, "replSetInitiate quorum check failed")

    @Test("the same failure is shown the 1st, 2nd, 4th, 8th, 16th time, whatever the backoff drew")
    func powersOfTwo() {
        var repeated = RepeatedAttempts()
        let shown = (1...20).compactMap { attempt in
            repeated.occurrence(of: .initiateFailed(a, quorumFailed, retryIn: .milliseconds(attempt * 10)))
        }
        #expect(shown == [1, 2, 4, 8, 16])
    }

    @Test("a different error, node or attempt is counted on its own")
    func distinctAttempts() {
        var repeated = RepeatedAttempts()
        #expect(repeated.occurrence(of: .initiateFailed(a, quorumFailed, retryIn: .zero)) == 1)
        #expect(repeated.occurrence(of: .initiateFailed(a, quorumFailed, retryIn: .zero)) == 2)
        #expect(repeated.occurrence(of: .initiateFailed(a, quorumFailed, retryIn: .zero)) == nil)
        #expect(repeated.occurrence(of: .initiateFailed(a, .refused(a), retryIn: .zero)) == 1)
        #expect(repeated.occurrence(of: .stepUpFailed(a, quorumFailed, retryIn: .zero)) == 1)
        #expect(repeated.occurrence(of: .stepUpFailed(b, quorumFailed, retryIn: .zero)) == 1)
    }

    @Test("changes of state are always shown")
    func changesAlwaysShown() {
        var repeated = RepeatedAttempts()
        for _ in 1...5 {
            #expect(repeated.occurrence(of: .primaryWritable(a)) == 1)
            #expect(repeated.occurrence(of: .classified(b, .fresh)) == 1)
            #expect(repeated.occurrence(of: .waiting("for a primary")) == 1)
        }
    }
}
