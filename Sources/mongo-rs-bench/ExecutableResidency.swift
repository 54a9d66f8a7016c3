import Foundation

/// Which sections of the executable are resident in a running process: the ELF section headers
/// of the file, and the "present" bit of each page in `/proc/PID/pagemap` (readable without
/// privileges; only the frame numbers are hidden).
enum ExecutableResidency {
    struct Section: Sendable {
        var name: String
        var address: UInt64
        var size: UInt64
    }

    /// Resident KiB per section of `executable` mapped in `pid`, largest first; nil when a file
    /// cannot be read.
    static func measure(pid: pid_t, executable: String, sections: [Section]?) -> [(section: String, residentKiB: Int)]? {
        guard let sections, let resident = residentOffsets(pid: pid, executable: executable) else { return nil }
        let pageSize = UInt64(sysconf(Int32(_SC_PAGESIZE)))
        let sorted = sections.filter { $0.address != 0 && $0.size != 0 }.sorted { $0.address < $1.address }
        var kib: [String: Int] = [:]
        for page in resident {
            // A page shared by two sections counts for the one it starts in, or else the first one in it.
            let owner = sorted.last { $0.address <= page && page < $0.address + $0.size }
                ?? sorted.first { $0.address >= page && $0.address < page + pageSize }
            kib[owner?.name ?? "(between sections)", default: 0] += Int(pageSize / 1024)
        }
        return kib.map { ($0.key, $0.value) }.sorted { $0.1 > $1.1 }
    }

    /// The ELF64 section headers (little-endian x86-64 / arm64).
    static func sections(of path: String) -> [Section]? {
        guard let data = FileManager.default.contents(atPath: path), data.count > 64,
              data.prefix(4) == Data([0x7f, 0x45, 0x4c, 0x46]), data[4] == 2 else { return nil }
        func integer<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
            data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }.littleEndian
        }
        let headerOffset = Int(integer(0x28, UInt64.self))
        let entrySize = Int(integer(0x3a, UInt16.self))
        let count = Int(integer(0x3c, UInt16.self))
        let namesIndex = Int(integer(0x3e, UInt16.self))
        guard headerOffset + entrySize * count <= data.count, namesIndex < count else { return nil }
        func header(_ index: Int) -> (name: UInt32, address: UInt64, offset: UInt64, size: UInt64) {
            let base = headerOffset + index * entrySize
            return (integer(base, UInt32.self), integer(base + 0x10, UInt64.self), integer(base + 0x18, UInt64.self), integer(base + 0x20, UInt64.self))
        }
        let names = header(namesIndex)
        return (0..<count).map { index in
            let entry = header(index)
            var end = Int(names.offset) + Int(entry.name)
            let start = end
            while end < data.count, data[end] != 0 { end += 1 }
            return Section(name: String(decoding: data[start..<end], as: UTF8.self), address: entry.address, size: entry.size)
        }
    }

    /// The link-time addresses (file's virtual addresses) of the executable's resident pages.
    static func residentOffsets(pid: pid_t, executable: String) -> [UInt64]? {
        guard let maps = MemoryProfile.readWhole("/proc/\(pid)/maps") else { return nil }
        let realPath = URL(fileURLWithPath: executable).resolvingSymlinksInPath().path
        // "start-end perms offset dev inode path"
        let mappings: [(start: UInt64, end: UInt64, offset: UInt64)] = maps.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[5...].joined(separator: " ") == realPath else { return nil }
            let range = fields[0].split(separator: "-")
            guard range.count == 2, let start = UInt64(range[0], radix: 16), let end = UInt64(range[1], radix: 16),
                  let offset = UInt64(fields[2], radix: 16) else { return nil }
            return (start, end, offset)
        }
        // A position-independent executable is loaded at the address where file offset 0 is mapped.
        guard let base = mappings.first(where: { $0.offset == 0 })?.start else { return nil }
        let pageSize = UInt64(sysconf(Int32(_SC_PAGESIZE)))
        let fd = open("/proc/\(pid)/pagemap", O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var resident: [UInt64] = []
        for mapping in mappings {
            let pages = Int((mapping.end - mapping.start) / pageSize)
            var entries = [UInt64](repeating: 0, count: pages)
            let wanted = pages * 8
            let got = entries.withUnsafeMutableBytes { pread(fd, $0.baseAddress, wanted, off_t(mapping.start / pageSize * 8)) }
            guard got == wanted else { return nil }
            for (index, entry) in entries.enumerated() where entry >> 63 & 1 == 1 {
                resident.append(mapping.start - base + UInt64(index) * pageSize)
            }
        }
        return resident
    }
}
