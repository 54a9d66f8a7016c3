import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What a process's resident pages are, from `/proc/PID/smaps`: per mapped object (the
/// executable, each shared library, the heap, anonymous mappings), how much is resident and how
/// much of that is anonymous (private memory the process wrote) rather than file pages it only
/// read (shared with the page cache, and droppable).
struct MemoryProfile: Sendable {
    struct Object: Sendable {
        var name: String
        var residentKiB: Int
        var anonymousKiB: Int
    }

    var objects: [Object]
    /// VmHWM of /proc/PID/status at the last sample: the peak of the process's own address space.
    var highWaterKiB: Int?
    /// Resident KiB per ELF section of the executable, when it was measured.
    var executableSections: [(section: String, residentKiB: Int)]?

    var residentKiB: Int { objects.reduce(0) { $0 + $1.residentKiB } }
    var anonymousKiB: Int { objects.reduce(0) { $0 + $1.anonymousKiB } }
    var fileKiB: Int { residentKiB - anonymousKiB }

    /// Reads the smaps of a running process; nil once it is gone.
    static func read(pid: pid_t) -> MemoryProfile? {
        guard let text = readWhole("/proc/\(pid)/smaps"), !text.isEmpty else { return nil }
        var resident: [String: Int] = [:]
        var anonymous: [String: Int] = [:]
        var current = "[anonymous]"
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = fields.first else { continue }
            if first.contains("-") && !first.hasSuffix(":") {
                // "start-end perms offset dev inode [path]"
                current = fields.count > 5 ? fields[5...].joined(separator: " ") : "[anonymous]"
            } else if first == "Rss:", fields.count > 1, let kib = Int(fields[1]) {
                resident[current, default: 0] += kib
            } else if first == "Anonymous:", fields.count > 1, let kib = Int(fields[1]) {
                anonymous[current, default: 0] += kib
            }
        }
        let objects = resident.map { Object(name: $0.key, residentKiB: $0.value, anonymousKiB: anonymous[$0.key] ?? 0) }
            .sorted { $0.residentKiB > $1.residentKiB }
        return MemoryProfile(objects: objects)
    }

    /// A /proc file read to its end (its size says 0; Foundation's readers may stop early).
    static func readWhole(_ path: String) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `VmHWM` of /proc/PID/status: the peak resident size of the process's current address space.
    static func highWater(pid: pid_t) -> Int? {
        guard let status = readWhole("/proc/\(pid)/status"),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return nil }
        return line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) }
    }

    /// Samples the process every `interval` on a thread of its own until it exits, and keeps the
    /// sample with the most resident memory, with the executable's resident sections.
    static func sampleLargest(pid: pid_t, executable: String, every interval: Duration = .milliseconds(20)) -> Task<MemoryProfile?, Never> {
        onThread {
            let sections = ExecutableResidency.sections(of: executable)
            var largest: MemoryProfile?
            var peak: Int?
            while var sample = read(pid: pid) {
                if let kib = MemoryProfile.highWater(pid: pid) { peak = kib }
                if sample.residentKiB > largest?.residentKiB ?? -1 {
                    sample.executableSections = ExecutableResidency.measure(pid: pid, executable: executable, sections: sections)
                    if sample.executableSections != nil || largest == nil { largest = sample }
                }
                Thread.sleep(forTimeInterval: interval.seconds)
            }
            largest?.highWaterKiB = peak
            return largest
        }
    }
}
