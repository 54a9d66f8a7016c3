import ReplicaSetBootstrap

/// The one place that turns how a run ended into the exit code (DESIGN.md, "Exit codes").
enum ExitStatus {
    static let success: Int32 = 0
    static let badInput: Int32 = 64
    static let refused: Int32 = 65
    static let unavailable: Int32 = 69
    static let internalError: Int32 = 70
    static let notAuthorized: Int32 = 77

    static func code(for outcome: Outcome) -> Int32 {
        switch outcome {
        case .converged, .planned: return success
        case .refused: return refused
        case .timedOut: return unavailable
        case .notAuthorized: return notAuthorized
        }
    }

    /// 128 + the signal number, as shells report it: 130 for SIGINT, 143 for SIGTERM.
    static func code(forSignal signal: Int32) -> Int32 {
        128 + signal
    }
}
