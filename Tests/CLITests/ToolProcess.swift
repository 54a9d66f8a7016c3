import Foundation
import Testing

/// Runs the built `mongo-rs-bootstrap` binary as a user would, with a clean environment.
struct ToolProcess {
    struct Result {
        var exitCode: Int32
        var stdout: String
        var stderr: String
    }

    /// The binary next to the test bundle (`swift build` puts both in the same folder).
    static var binary: URL {
        let bundleFolder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for folder in [bundleFolder, URL(fileURLWithPath: ".build/debug")] {
            let candidate = folder.appendingPathComponent("mongo-rs-bootstrap")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return bundleFolder.appendingPathComponent("mongo-rs-bootstrap")
    }

    static func run(_ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(30)) throws -> Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        // Only what the test gives, so a developer's MONGO_RS_* variables cannot leak in.
        process.environment = ["PATH": "/usr/bin:/bin"].merging(environment) { $1 }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read before waiting: a full pipe would block the child.
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        let stderrData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(exitCode: process.terminationStatus,
                      stdout: String(decoding: stdoutData, as: UTF8.self),
                      stderr: String(decoding: stderrData, as: UTF8.self))
    }
}

/// A TCP listener on loopback that never accepts: after a run, its backlog tells whether the
/// tool connected at all.
final class SilentListener {
    let port: UInt16
    private let socketDescriptor: Int32

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { close(fd); throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = UInt16(bigEndian: address.sin_port)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        socketDescriptor = fd
    }

    var address: String { "127.0.0.1:\(port)" }

    /// Whether any connection reached the backlog.
    var wasContacted: Bool {
        let connection = accept(socketDescriptor, nil, nil)
        if connection >= 0 {
            close(connection)
            return true
        }
        return false
    }

    deinit {
        close(socketDescriptor)
    }
}
