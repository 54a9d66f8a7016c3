import Foundation
import Subprocess
import TestSupport

/// Real `mongod` processes on 127.0.0.1, each with a temporary dbpath, for the scenarios that
/// run against the real server when `MONGOD` names a mongod binary (`scripts/test-real`).
final class MongodCluster: @unchecked Sendable {
    /// The mongod binary from `MONGOD`, if it names an executable.
    static var binary: String? {
        guard let path = ProcessInfo.processInfo.environment["MONGOD"], FileManager.default.isExecutableFile(atPath: path) else { return nil }
        return path
    }

    let ports: [Int]
    private let directory: URL
    private var processes: [Int: SpawnedProcess<TerminationStatus>] = [:]
    private let lock = NSLock()

    var hosts: [String] { ports.map { "127.0.0.1:\($0)" } }
    /// `--keyFile` (which implies `--auth`) for every member, when set.
    private let keyFile: URL?

    init(members: Int, keyFile: Bool = false) throws {
        ports = try (0..<members).map { _ in Int(try SilentListener.closedPort()) }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("mongo-rs-bootstrap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if keyFile {
            // mongod wants base64 characters, 6 to 1024 of them, readable by the owner only.
            let file = directory.appendingPathComponent("keyfile")
            let key = Data((0..<96).map { _ in UInt8.random(in: .min ... .max) }).base64EncodedString()
            try key.write(to: file, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o400], ofItemAtPath: file.path)
            self.keyFile = file
        } else {
            self.keyFile = nil
        }
    }

    /// Starts member `index` (`--replSet setName`, or standalone when nil) and waits until it
    /// accepts connections.
    func start(_ index: Int, replSet setName: String? = "rs0") async throws {
        guard let binary = Self.binary else { throw CocoaError(.executableNotLoadable) }
        let port = ports[index]
        let dbpath = directory.appendingPathComponent("\(port)")
        try FileManager.default.createDirectory(at: dbpath, withIntermediateDirectories: true)
        let arguments = ["--port", "\(port)", "--bind_ip", "127.0.0.1", "--dbpath", dbpath.path,
                         "--logpath", directory.appendingPathComponent("\(port).log").path]
            + (setName.map { ["--replSet", $0] } ?? [])
            + (keyFile.map { ["--keyFile", $0.path] } ?? [])
        let process = try await SpawnedProcess { started in
            try await Subprocess.run(.path(.init(binary)), arguments: Arguments(arguments), input: .none, output: .discarded, error: .discarded) { execution in
                started(execution.processIdentifier)
            }.terminationStatus
        }
        lock.withLock { processes[index] = process }
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if Self.accepts(port: port) { return }
            // Signal 0: whether the process is still there (swift-subprocess reaps it at its exit).
            guard kill(process.processIdentifier, 0) == 0 else { throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "mongod on port \(port) exited: see \(directory.path)/\(port).log"]) }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "mongod on port \(port) did not listen within 60 s"])
    }

    func start() async throws {
        for index in ports.indices { try await start(index) }
    }

    /// Stops member `index` (SIGTERM, as a shutdown), keeping its dbpath.
    func stop(_ index: Int) async {
        guard let process = lock.withLock({ processes.removeValue(forKey: index) }) else { return }
        kill(process.processIdentifier, SIGTERM)
        _ = try? await process.outcome.value
    }

    func shutdown() async {
        for index in ports.indices { await stop(index) }
        try? FileManager.default.removeItem(at: directory)
    }

    private static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

/// Runs `body` with real mongod members (started unless `start` is false), stopped afterwards.
func withMongod<T>(members: Int, start: Bool = true, keyFile: Bool = false, _ body: (MongodCluster) async throws -> T) async throws -> T {
    let cluster = try MongodCluster(members: members, keyFile: keyFile)
    do {
        if start { try await cluster.start() }
        let result = try await body(cluster)
        await cluster.shutdown()
        return result
    } catch {
        await cluster.shutdown()
        throw error
    }
}
