import Testing
@testable import ReplicaSetBootstrap

@Suite("State machine: reconfiguration progress")
struct ReconfigurationProgressTests {
    @Test("members a reconfig drops count as removed by this run while it is in flight and once it may be installed")
    func removals() {
        var progress = ReconfigurationProgress()
        progress.sending(removing: [c])
        // In flight: mongod may have installed it, and told c, before it answers.
        #expect(progress.removes(c))
        progress.failed(.code(.nodeNotElectable, a), mayBeInstalled: false)
        #expect(!progress.removes(c))
        progress.sending(removing: [c])
        progress.failed(.code(.primarySteppedDown, a), mayBeInstalled: true)
        #expect(progress.removes(c))
        progress.sending(removing: [b])
        progress.succeeded()
        #expect(progress.removes(b) && progress.removes(c) && !progress.removes(a))
        #expect(progress.lastError == .code(.primarySteppedDown, a))
    }

    @Test("the third rejection of a step to the same version is final")
    func rejections() {
        var progress = ReconfigurationProgress()
        let verdicts = [3, 3, 4, 3].map { progress.rejectionIsFinal(version: $0) }
        #expect(verdicts == [false, false, false, true])
    }
}
