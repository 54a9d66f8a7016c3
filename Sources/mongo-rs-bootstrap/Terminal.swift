import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#endif

/// Line-at-a-time writes to stdout and stderr, safe from any thread.
enum Terminal {
    private static let lock = NIOLock()

    static func out(_ line: String) {
        writeLine(line, to: STDOUT_FILENO)
    }

    static func err(_ line: String) {
        writeLine(line, to: STDERR_FILENO)
    }

    /// Unbuffered, one write per line, so lines from concurrent tasks never interleave.
    private static func writeLine(_ line: String, to descriptor: Int32) {
        let bytes = Array((line.hasSuffix("\n") ? line : line + "\n").utf8)
        lock.withLock {
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }
                offset += written
            }
        }
    }

    /// The current UTC time as ISO 8601 with milliseconds, for JSON log lines.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(now.tv_nsec / 1_000_000), 3))Z"
    }
}
