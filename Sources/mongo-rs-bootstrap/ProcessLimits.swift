#if canImport(Glibc)
import Glibc
#endif

/// Process-wide settings made before anything else: no core dumps (they would hold the
/// password), and enough file descriptors for the run.
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

    /// File descriptors the runtime itself uses: stdio, the signal pipe, libdispatch's event
    /// descriptors, libmongoc's and OpenSSL's files, with room to spare.
    static let runtimeDescriptors = 30
    /// Members a set's config may name beyond the ones given (mongod's limit of 50 members): each
    /// is contacted as soon as it is seen.
    static let discoveredMembers = 50

    /// Open files a run with `members` members may need at once: 2 connections per member
    /// (monitoring and commands), for the given members and up to 50 more found in a config,
    /// plus the runtime's own: 2 × (members + 50) + 30.
    static func descriptorsNeeded(members: Int) -> Int {
        2 * (members + discoveredMembers) + runtimeDescriptors
    }

    /// Makes sure the open-file limit allows what a run with `members` members needs, raising
    /// the soft limit towards the hard one when it is lower. Returns the problem when the hard
    /// limit is too low: without descriptors libdispatch traps (SIGILL) and libmongoc reports
    /// only "connection error", so the run must not start.
    static func ensureOpenFiles(members: Int) -> String? {
        let needed = descriptorsNeeded(members: members)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return nil }
        let wanted = rlim_t(needed)
        // RLIM_INFINITY is all ones.
        guard limit.rlim_cur != rlim_t.max, limit.rlim_cur < wanted else { return nil }
        if limit.rlim_max == rlim_t.max || limit.rlim_max >= wanted {
            var raised = rlimit(rlim_cur: wanted, rlim_max: limit.rlim_max)
            if setrlimit(resource, &raised) == 0 { return nil }
        }
        return "the open-file limit (RLIMIT_NOFILE) is \(limit.rlim_cur), hard limit \(limit.rlim_max), but this run may need "
            + "\(needed) open files: 2 connections for each of the \(members) members given and for up to \(discoveredMembers) more "
            + "that a config may name, plus \(runtimeDescriptors) for the runtime (2 × (\(members) + \(discoveredMembers)) + \(runtimeDescriptors)). "
            + "Raise the limit where the tool is started, e.g. ulimit -n \(needed) in the shell, or the container's nofile ulimit "
            + "(docker run --ulimit nofile=\(needed))"
    }
}
