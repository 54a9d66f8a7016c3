import ArgumentParser
import Dispatch
import Foundation
import MongoBSON
import MongoSimulator

/// Runs simulated mongod members until SIGINT or SIGTERM.
@main
struct MongoSim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mongo-sim",
        abstract: "Simulated mongod replica-set members on loopback addresses, for tests and demos.",
        discussion: """
            Prints one line per member with its address (host:port), in member order, then a line \
            "ready" once the members that start at once are listening. Runs until SIGINT or SIGTERM.
            Members are numbered from 0.
            """)

    @Option(help: "Number of members.")
    var members = 3

    @Option(help: "The --replSet name of the members.")
    var setName = "rs0"

    @Option(help: "Port of every member (each listens on its own 127.a.b.N address). Another port is used if it is taken.")
    var port = 27017

    @Option(help: "First three octets of the members' addresses, e.g. 127.0.10 (default: random per run).")
    var addressBlock: String?

    @Option(help: "Election timeout in ms, overriding the config's electionTimeoutMillis (mongod default 10000).")
    var electionTimeoutMs: Int?

    @Option(help: "Heartbeat interval in ms, overriding the config's heartbeatIntervalMillis (mongod default 2000).")
    var heartbeatIntervalMs: Int?

    @Option(help: "Time a member spends in initial sync (STARTUP2) after it learns the config, in ms.")
    var initialSyncMs = 1000

    @Option(help: "Time a new primary drains before it accepts writes, in ms.")
    var drainMs = 5

    @Option(help: "mongod version and dialect: 4.4 (as 4.4.0: isMaster only, slaveDelay, maxWireVersion 9), 5.0 (13), 6.0 (17), 7.0 (21) or 8.0 (25).")
    var serverVersion = "7.0"

    @Flag(help: "Start as an already initiated healthy set: member 0 primary, the others secondaries.")
    var initiated = false

    @Option(help: "MEMBER:SECONDS: start that member's process (and port) only after that many seconds. Repeatable.")
    var late: [String] = []

    @Option(help: "MEMBER[:NAME]: that member belongs to another set (default name \"other\"), already initiated. Repeatable.")
    var otherSet: [String] = []

    @Option(help: "MEMBER: that member runs without --replSet. Repeatable.")
    var standalone: [Int] = []

    @Option(help: "MEMBER:MS: that member answers every request MS late. Repeatable.")
    var slow: [String] = []

    @Option(help: "NAME:PASSWORD[:ROLE,ROLE...]: run with --auth and this user in admin (default role root). Repeatable.")
    var authUser: [String] = []

    @Option(help: "X509-SUBJECT: with --auth, a user in $external named by a client certificate's subject (RFC 2253, e.g. 'CN=job,O=Example'), role clusterManager. Repeatable.")
    var x509User: [String] = []

    @Option(help: "PEM file with the members' certificate and key: --tlsMode requireTLS.")
    var tlsCertificateKeyFile: String?

    @Option(help: "PEM file of the CA that client certificates must chain to (clients may still connect without one).")
    var tlsCAFile: String?

    @Flag(help: "Log events and received commands to stderr, one JSON object per line.")
    var log = false

    func validate() throws {
        guard members >= 1 else { throw ValidationError("--members must be at least 1") }
        guard ServerVersion(rawValue: serverVersion) != nil else { throw ValidationError("--server-version must be one of \(ServerVersion.allCases.map(\.rawValue).joined(separator: ", "))") }
        if initiated && !late.isEmpty { throw ValidationError("--initiated cannot be combined with --late") }
        if tlsCAFile != nil && tlsCertificateKeyFile == nil { throw ValidationError("--tls-ca-file needs --tls-certificate-key-file") }
        for index in try standalone + otherSet.map({ try Self.pair($0).member }) + late.map({ try Self.pair($0).member }) + slow.map({ try Self.pair($0).member })
        where !(0..<members).contains(index) {
            throw ValidationError("member \(index) does not exist (members are 0..\(members - 1))")
        }
    }

    func run() async throws {
        var specs = Array(repeating: MemberSpec(), count: members)
        for index in standalone { specs[index].role = .standalone }
        for entry in otherSet {
            let (index, name) = try Self.pair(entry)
            specs[index].role = .otherSet(name.isEmpty ? "other" : name)
        }
        var timings = SimulatorTimings(initialSync: .milliseconds(initialSyncMs), drain: .milliseconds(drainMs))
        timings.electionTimeout = electionTimeoutMs.map { .milliseconds($0) }
        timings.heartbeatInterval = heartbeatIntervalMs.map { .milliseconds($0) }
        var security: SimulatorSecurity?
        if !authUser.isEmpty || !x509User.isEmpty || tlsCertificateKeyFile != nil {
            var users = try authUser.map { entry in
                let parts = entry.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
                guard parts.count >= 2, !parts[0].isEmpty, !parts[1].isEmpty else { throw ValidationError("--auth-user \(parts.first ?? ""): expected NAME:PASSWORD[:ROLE,...]") }
                let roles = parts.count > 2 ? parts[2].split(separator: ",").map(String.init) : ["root"]
                return SimulatorUser(name: parts[0], password: parts[1], roles: roles)
            }
            users += x509User.map { SimulatorUser(x509Subject: $0, roles: ["clusterManager"]) }
            let tls = tlsCertificateKeyFile.map { SimulatorTLS(certificateKeyFile: $0, caFile: tlsCAFile) }
            security = SimulatorSecurity(users: users, tls: tls)
        }
        let options = SimulatorOptions(setName: setName, port: port, addressBlock: addressBlock, timings: timings,
                                       serverVersion: ServerVersion(rawValue: serverVersion) ?? .v7_0, security: security)
        let simulator = try ReplicaSetSimulator(members: specs, options: options)
        for host in simulator.hosts { Self.write(host) }

        let delays = try Dictionary(late.map { entry in
            let (index, seconds) = try Self.pair(entry)
            guard let value = Double(seconds) else { throw ValidationError("--late \(entry): SECONDS must be a number") }
            return (index, value)
        }, uniquingKeysWith: { $1 })
        for entry in slow {
            let (index, millis) = try Self.pair(entry)
            guard let value = Int(millis) else { throw ValidationError("--slow \(entry): MS must be a number") }
            try await simulator.inject(.slowReplies(.milliseconds(value)), into: index)
        }
        for index in 0..<members where delays[index] == nil { try await simulator.start(index) }
        if initiated { try await simulator.initiateSet() }
        Self.write("ready")

        let background = Task {
            await withTaskGroup(of: Void.self) { group in
                for (index, seconds) in delays {
                    group.addTask {
                        try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
                        try? await simulator.start(index)
                    }
                }
                if log { group.addTask { await Self.logActivity(of: simulator) } }
            }
        }
        await Self.waitForTermination()
        background.cancel()
        await simulator.shutdown()
    }

    static func pair(_ text: String) throws -> (member: Int, value: String) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard let index = parts.first.flatMap({ Int($0) }) else { throw ValidationError("\(text): expected MEMBER[:VALUE]") }
        return (index, parts.count > 1 ? parts[1] : "")
    }

    static func write(_ line: String, to handle: FileHandle = .standardOutput) {
        handle.write(Data((line + "\n").utf8))
    }

    /// Events and commands as JSON lines on stderr, with milliseconds since start.
    static func logActivity(of simulator: ReplicaSetSimulator) async {
        let start = ContinuousClock.now
        var (events, commands) = (0, 0)
        func millis(_ time: ContinuousClock.Instant) -> Int64 { start.duration(to: time).wholeMilliseconds }
        while !Task.isCancelled {
            for event in await simulator.events.dropFirst(events) {
                write(#"{"t":\#(millis(event.time)),"member":\#(event.member),"host":"\#(event.host)","event":"\#(event.kind)"}"#, to: .standardError)
                events += 1
            }
            for command in await simulator.commands.dropFirst(commands) {
                write(#"{"t":\#(millis(command.time)),"member":\#(command.member),"host":"\#(command.host)","command":\#(command.document.relaxedExtendedJSON)}"#, to: .standardError)
                commands += 1
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    static func waitForTermination() async {
        let (signals, continuation) = AsyncStream<Int32>.makeStream()
        let sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            return source
        }
        for await _ in signals { break }
        sources.forEach { $0.cancel() }
    }
}
