#if canImport(Glibc)
import Glibc
#endif

/// Whole small files through POSIX calls: the tool links no Foundation (its 4 MiB of resident
/// pages would put the peak memory over the 20 MiB target).
enum FileContents {
    struct Failure: Error {
        /// strerror's words, or why the file was refused.
        var reason: String
    }

    /// The bytes of a file of at most 1 MiB.
    static func read(_ path: String) -> Result<[UInt8], Failure> {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return .failure(Failure(reason: String(cString: strerror(errno)))) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return .failure(Failure(reason: String(cString: strerror(errno)))) }
            if count == 0 { return .success(bytes) }
            bytes += chunk[..<count]
            guard bytes.count <= 1 << 20 else { return .failure(Failure(reason: "more than 1 MiB; is it the right file?")) }
        }
    }
}
