import ReplicaSetBootstrap

#if canImport(Glibc)
import Glibc
#endif

/// How the process ends once the result is printed. Through `exit`, after libmongoc's cleanup,
/// whenever every libmongoc call has returned: that removes libmongoc's counter file in /dev/shm
/// and lets LeakSanitizer see the whole run. A call still blocked in libmongoc (a DNS lookup)
/// would have its memory freed under it by that cleanup, and OpenSSL's atexit handlers would
/// crash it; then the process ends with `_exit`, which runs neither.
enum ProcessExit {
    /// How long blocked calls get to return after their sockets are shut down.
    static let grace = Duration.milliseconds(500)

    static func end(_ code: Int32, closing nodes: MongocNodes?) -> Never {
        guard let nodes else {
            Mongoc.cleanUp()
            exit(code)
        }
        if nodes.close(within: grace, interrupting: shutDownSockets) {
            Mongoc.cleanUp()
            exit(code)
        }
        _exit(code)
    }

    /// Ends every blocked read or write on the process's sockets (only libmongoc's connections
    /// are sockets here): `shutdown` makes them return at once, where closing the descriptors
    /// under libmongoc would not.
    private static func shutDownSockets() {
        guard let directory = opendir("/proc/self/fd") else { return }
        defer { closedir(directory) }
        var descriptors: [Int32] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if let descriptor = Int32(name) { descriptors.append(descriptor) }
        }
        for descriptor in descriptors {
            var status = stat()
            guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFSOCK else { continue }
            shutdown(descriptor, Int32(SHUT_RDWR))
        }
    }
}
