#if canImport(Glibc)
import Glibc
#endif

/// Whole small files through POSIX calls: the tool links no Foundation (its 4 MiB of resident
/// pages would put the peak memory over the 20 MiB target).
///
/// Only regular files are read: a FIFO, a directory, a device or a socket given as a file would
/// block the run forever or feed it endless bytes, so it is refused by name, without waiting
/// (the file is opened with O_NONBLOCK and checked with fstat before any read). Standard input
/// is read only when asked for by its name, `/dev/stdin`.
enum FileContents {
    struct Failure: Error {
        /// strerror's words, or why the file was refused.
        var reason: String
    }

    /// The most a spec or secret file may hold.
    static let sizeLimit = 1 << 20

    /// The name that means "read standard input", whatever it is (a pipe, a file, a terminal).
    static let standardInput = "/dev/stdin"

    /// The bytes of a regular file of at most 1 MiB, or of standard input when `path` is
    /// `/dev/stdin` and `allowStandardInput`.
    static func read(_ path: String, allowStandardInput: Bool = true) -> Result<[UInt8], Failure> {
        if path == standardInput {
            guard allowStandardInput else {
                return .failure(Failure(reason: "standard input cannot be used here (the file is read again later by path); give a regular file"))
            }
            return readToEnd(STDIN_FILENO)
        }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard descriptor >= 0 else {
            let reason = String(cString: strerror(errno))
            // A Unix socket cannot be opened at all (ENXIO): say what it is.
            if let kind = kind(ofPath: path), kind != regularFile { return .failure(notRegular(kind)) }
            return .failure(Failure(reason: reason))
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return .failure(Failure(reason: String(cString: strerror(errno)))) }
        let kind = Self.kind(status.st_mode)
        guard kind == regularFile else { return .failure(notRegular(kind)) }
        guard status.st_size <= sizeLimit else { return .failure(tooLarge) }
        return readToEnd(descriptor)
    }

    private static let regularFile = "a regular file"
    private static let tooLarge = Failure(reason: "more than 1 MiB; is it the right file?")

    private static func notRegular(_ kind: String) -> Failure {
        Failure(reason: "it is \(kind), not a regular file; give a regular file (or \(standardInput) to read standard input)")
    }

    /// What a file is, in words, from its mode.
    static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFREG: return regularFile
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "not a file"
        }
    }

    private static func kind(ofPath path: String) -> String? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return kind(status.st_mode)
    }

    /// Reads until end of file, at most `sizeLimit` bytes. A descriptor left non-blocking by
    /// whoever started the tool is waited on with poll.
    private static func readToEnd(_ descriptor: Int32) -> Result<[UInt8], Failure> {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                var waiting = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                _ = poll(&waiting, 1, -1)
                continue
            }
            guard count >= 0 else { return .failure(Failure(reason: String(cString: strerror(errno)))) }
            if count == 0 { return .success(bytes) }
            bytes += chunk[..<count]
            guard bytes.count <= sizeLimit else { return .failure(tooLarge) }
        }
    }
}
