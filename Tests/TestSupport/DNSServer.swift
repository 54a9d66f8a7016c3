import Foundation
import Subprocess
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// A real DNS server on a loopback address of its own (Debian's dnsmasq), and the way to run the
/// tool with it as its only resolver: in a mount namespace of its own (`unshare -m`) where
/// /etc/resolv.conf is a bind-mounted file naming this server, with a Kubernetes pod's search
/// domains. Needs root (port 53, unshare); `unavailableReason` says why not when it cannot run.
public final class DNSServer: @unchecked Sendable {
    /// What the server answers; everything else in `cluster.local` is NXDOMAIN.
    public struct Records: Sendable {
        /// SRV records: record name, target, port.
        public var services: [(name: String, target: String, port: Int)] = []
        /// A and PTR records: name, IPv4 address.
        public var hosts: [(name: String, address: String)] = []
        /// Names that exist with only a TXT record: their SRV query answers NODATA.
        public var namesWithoutServices: [String] = []

        public init(services: [(name: String, target: String, port: Int)] = [], hosts: [(name: String, address: String)] = [],
                    namesWithoutServices: [String] = []) {
            self.services = services
            self.hosts = hosts
            self.namesWithoutServices = namesWithoutServices
        }
    }

    public static let dnsmasq = "/usr/sbin/dnsmasq"
    public static let unshare = "/usr/bin/unshare"
    /// The pod's namespace in the search domains, as in a Kubernetes pod's resolv.conf.
    public static let namespace = "default"

    /// Nil when the server and the namespaces can be used; else why not (for a test's skip).
    public static let unavailableReason: String? = {
        guard getuid() == 0 else { return "needs root: dnsmasq listens on port 53 and unshare -m mounts /etc/resolv.conf (CI runs as root)" }
        for tool in [dnsmasq, unshare] where !FileManager.default.isExecutableFile(atPath: tool) {
            return "\(tool) is missing (Debian: dnsmasq-base, util-linux); scripts/test installs it"
        }
        return nil
    }()

    /// The server's address, port 53.
    public let address: String
    private let folder: URL
    /// dnsmasq's process id, and the swift-subprocess run that waits for it. Not a Foundation
    /// `Process`: dnsmasq closes every inherited descriptor as it starts, which Foundation takes
    /// for its exit, and then blocks its process monitor in waitpid until dnsmasq ends (every
    /// other child's exit goes unseen). swift-subprocess waits on a pidfd instead.
    private var server: (pid: pid_t, run: Task<Void, any Error>)?

    public init(_ records: Records) async throws {
        address = "127.53.\(Int.random(in: 0...255)).\(Int.random(in: 1...254))"
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("dns-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let domain = "\(Self.namespace).svc.cluster.local"
        // timeout:1 attempts:1: a test that stops the server does not wait 10 s per query.
        try "nameserver \(address)\nsearch \(domain) svc.cluster.local cluster.local\noptions ndots:5 timeout:1 attempts:1\n"
            .write(to: resolvConf, atomically: true, encoding: .utf8)
        try await start(records)
    }

    deinit {
        // SIGKILL: dnsmasq inherits the test process's signal mask, where SIGTERM may be blocked.
        // swift-subprocess reaps it.
        if let server { kill(server.pid, SIGKILL) }
        try? FileManager.default.removeItem(at: folder)
    }

    public var resolvConf: URL { folder.appendingPathComponent("resolv.conf") }

    /// The command prefix that runs a program with this server as its resolver.
    public var launcher: [String] {
        [Self.unshare, "-m", "/bin/sh", "-c", "mount --bind \"$0\" /etc/resolv.conf && exec \"$@\"", resolvConf.path]
    }

    /// Answers `records` from now on (dnsmasq reads SRV records only when it starts).
    public func replace(_ records: Records) async throws {
        if let server {
            kill(server.pid, SIGKILL)
            _ = try? await server.run.value
            self.server = nil
        }
        try await start(records)
    }

    private func start(_ records: Records) async throws {
        var lines = [
            "no-resolv", "no-hosts", "bind-interfaces", "listen-address=\(address)", "port=53", "user=root",
            // Every name not listed: NXDOMAIN, as CoreDNS (and the resolver it forwards to) answers.
            "local=/#/", "log-facility=\(folder.appendingPathComponent("log").path)", "log-queries",
        ]
        lines += records.services.map { "srv-host=\($0.name),\($0.target),\($0.port)" }
        lines += records.hosts.map { "host-record=\($0.name),\($0.address)" }
        lines += records.namesWithoutServices.map { "txt-record=\($0),present" }
        let configuration = folder.appendingPathComponent("dnsmasq.conf")
        try lines.joined(separator: "\n").appending("\n").write(to: configuration, atomically: true, encoding: .utf8)
        let arguments: Arguments = ["--keep-in-foreground", "--conf-file=\(configuration.path)", "--pid-file="]
        let dnsmasq = try await SpawnedProcess { started in
            _ = try await Subprocess.run(.path(FilePath(Self.dnsmasq)), arguments: arguments, input: .none, output: .discarded,
                                         error: .discarded) { execution in
                started(execution.processIdentifier)
            }
        }
        server = (dnsmasq.processIdentifier, dnsmasq.outcome)
        try waitUntilListening()
    }

    /// dnsmasq serves TCP as well as UDP: once a TCP connection succeeds it answers queries.
    private func waitUntilListening() throws {
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var peer = sockaddr_in()
            peer.sin_family = sa_family_t(AF_INET)
            peer.sin_port = in_port_t(UInt16(53).bigEndian)
            inet_pton(AF_INET, address, &peer.sin_addr)
            let connected = withUnsafePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            close(descriptor)
            if connected { return }
            guard let server, kill(server.pid, 0) == 0 else { break }
            usleep(10_000)
        }
        throw DNSServerError("dnsmasq did not start listening on \(address):53 (log: \(folder.appendingPathComponent("log").path))")
    }

    /// The queries the server was asked, from its log.
    public var queries: [String] {
        logLines.compactMap { line in
            guard let range = line.range(of: "query[") else { return nil }
            return String(line[range.lowerBound...])
        }
    }

    private var logLines: [Substring] {
        let log = (try? String(contentsOf: folder.appendingPathComponent("log"), encoding: .utf8)) ?? ""
        return log.split(separator: "\n")
    }

    /// Waits until the server has answered a query for `name` (its log's "config NAME is …"),
    /// so a test can change the records after a run has seen the old ones, however long the
    /// run took to start.
    public func waitUntilAnswered(_ name: String, timeout: Duration = .seconds(30)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if logLines.contains(where: { $0.contains("config \(name) is ") }) { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }
}

public struct DNSServerError: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
