#if canImport(Glibc)
import Glibc
#endif

/// Process-wide settings made before anything else: no core dumps (they would hold the
/// password).
enum ProcessLimits {
    /// No core file, whatever crashes: a core once held the password five times. The core size
    /// limit goes to 0 (soft and hard, so nothing in the process raises it again), and the
    /// process is made non-dumpable, which also keeps other users' debuggers out and makes its
    /// /proc files root's.
    static func disableCoreDumps() {
        var none = rlimit(rlim_cur: 0, rlim_max: 0)
        _ = setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &none)
        // prctl is variadic in C, which Swift cannot call: look it up with a fixed signature
        // (integer arguments are passed the same way on x86-64 and arm64 Linux).
        typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "prctl") {
            let prctl = unsafeBitCast(symbol, to: Prctl.self)
            _ = prctl(prSetDumpable, 0, 0, 0, 0)
        }
    }

    /// `PR_SET_DUMPABLE` from <linux/prctl.h>, which the Glibc module does not export.
    private static let prSetDumpable: Int32 = 4
}
