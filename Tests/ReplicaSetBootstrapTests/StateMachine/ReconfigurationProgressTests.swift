import Testing
@testable import ReplicaSetBootstrap

@Suite("State machine: reconfiguration progress")
struct ReconfigurationProgressTests {
    @Test("members a reconfig drops count as removed by this run once it may be installed")
    func removals() {
        var progress = ReconfigurationProgress()
        progress.sending(removing: [c])
        progress.failed(.code(.nodeNotElectable, a), mayBeInstalled: false)
        #expect(progress.removed.isEmpty)
        progress.failed(.code(.primarySteppedDown, a), mayBeInstalled: true)
        #expect(progress.removed == [c])
        progress.sending(removing: [b])
        progress.succeeded()
        #expect(progress.removed == [b, c])
        #expect(progress.lastError == .code(.primarySteppedDown, a))
    }

    @Test("the third rejection of a step to the same version is final")
    func rejections() {
        var progress = ReconfigurationProgress()
        let verdicts = [3, 3, 4, 3].map { progress.rejectionIsFinal(version: $0) }
        #expect(verdicts == [false, false, false, true])
    }
}
