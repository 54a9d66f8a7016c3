import Foundation
import MongoSimulator
@testable import ReplicaSetBootstrap
import TestSupport
import Testing

/// `--from-srv true` end to end: the real binary finds its members in the SRV records a real DNS
/// server (dnsmasq on a loopback address) publishes as Kubernetes does for a headless Service,
/// through /etc/resolv.conf in a mount namespace of its own, and bootstraps simulated members
/// that answer to the pods' names.
@Suite("Discovery scenarios", .serialized,
       .enabled(if: DNSServer.unavailableReason == nil, Comment(rawValue: "skipped: \(DNSServer.unavailableReason ?? "")")))
struct DiscoveryScenarioTests {
    static let service = "mongo.\(DNSServer.namespace).svc.cluster.local"
    static let portRecords = "_mongodb._tcp.\(service)"

    /// Simulated members that answer to a StatefulSet's pod names, `mongo-<n>.<service>:<port>`.
    struct Pods {
        let simulator: ReplicaSetSimulator
        let port: Int

        func name(_ ordinal: Int) -> String { "mongo-\(ordinal).\(DiscoveryScenarioTests.service)" }
        func member(_ ordinal: Int) -> String { "\(name(ordinal)):\(port)" }

        /// SRV records for these ordinals (on the named port's record name, or another), and A
        /// records for every pod.
        func records(_ ordinals: some Sequence<Int>, under recordName: String = DiscoveryScenarioTests.portRecords) -> DNSServer.Records {
            DNSServer.Records(services: ordinals.map { (recordName, name($0), port) },
                              hosts: simulator.hosts.indices.map { (name($0), String(simulator.hosts[$0].split(separator: ":")[0])) })
        }
    }

    func withPods(_ count: Int, _ body: (Pods) async throws -> Void) async throws {
        let port = Int.random(in: 20000...60000)
        let specs = (0..<count).map { MongoSimulator.MemberSpec(aliases: ["mongo-\($0).\(Self.service):\(port)"]) }
        let options = SimulatorOptions(port: port, addressBlock: LoopbackAddresses.randomBlock(), timings: .fast,
                                       security: SimulatorSecurity(users: [ScenarioCredentials.user]))
        try await ToolProcess.$context.withValue(ScenarioCredentials.context) {
            try await ReplicaSetSimulator.run(specs, options: options) { simulator in
                try #require(simulator.hosts.allSatisfy { $0.hasSuffix(":\(port)") }, "the simulator moved to another port")
                try await body(Pods(simulator: simulator, port: port))
            }
        }
    }

    /// Starts `mongo-rs-bootstrap --from-srv true <arguments>` with `dns` as its resolver.
    func start(_ dns: DNSServer, _ arguments: [String], timeout: String = "20s") async throws -> ToolProcess.Running {
        var context = ToolProcess.context
        context.launcher = dns.launcher
        return try await ToolProcess.$context.withValue(context) {
            try await ToolProcess.start(["--from-srv", "true", "--timeout", timeout, "--output", "json"] + arguments)
        }
    }

    func discover(_ dns: DNSServer, _ arguments: [String], timeout: String = "20s") async throws -> ToolProcess.Result {
        try await start(dns, arguments, timeout: timeout).finished()
    }

    func memberHosts(_ simulator: ReplicaSetSimulator) async throws -> [String] {
        try await committedConfig(simulator).members.map(\.host.description)
    }

    @Test("a fresh set of 3 found in the Service's SRV records: initiated once, on ordinal 0, under the pods' names")
    func freshSet() async throws {
        try await withPods(3) { pods in
            let dns = try await DNSServer(pods.records(0..<3))
            let result = try await discover(dns, ["--service", "mongo", "--replicas", "3"])
            #expect(result.exitCode == 0, "\(result.stderr)")
            #expect(result.stderr.contains("found in the SRV records of \(Self.portRecords): \(pods.member(0)), \(pods.member(1)), \(pods.member(2))"), "\(result.stderr)")
            #expect(try await memberHosts(pods.simulator) == (0..<3).map(pods.member))
            let initiates = await pods.simulator.writeCommands.filter { $0.name == "replSetInitiate" }
            #expect(initiates.map(\.member) == [0])
            #expect(result.json["outcome"] as? String == "converged")
            // The short name was completed by the search list, as in a pod.
            #expect(dns.queries.contains { $0.contains("\(Self.portRecords) from") }, "\(dns.queries)")
        }
    }

    @Test("scaled from 3 to 5: a re-run with --replicas 5 finds the new pods and adds them one voter at a time")
    func scaleUp() async throws {
        try await withPods(5) { pods in
            let dns = try await DNSServer(pods.records(0..<3))
            let first = try await discover(dns, ["--service", "mongo", "--replicas", "3"])
            #expect(first.exitCode == 0, "\(first.stderr)")
            #expect(try await memberHosts(pods.simulator) == (0..<3).map(pods.member))

            try await dns.replace(pods.records(0..<5))
            let second = try await discover(dns, ["--service", "mongo", "--replicas", "5"])
            #expect(second.exitCode == 0, "\(second.stderr)")
            #expect(try await memberHosts(pods.simulator) == (0..<5).map(pods.member))
            // At least one reconfig per added voter (a retry after 109 may add one), and none
            // changes more than one voter (mongod's safe-reconfig rule).
            let reconfigs = await pods.simulator.reconfigsSent()
            #expect(reconfigs.count >= 2, "\(reconfigs)")
            for (previous, sent) in zip(reconfigs, reconfigs.dropFirst()) {
                #expect(voterIds(previous).symmetricDifference(voterIds(sent)).count <= 1)
            }
            #expect(try await replicaSetIds(pods.simulator.hosts).count == 1)
        }
    }

    @Test("records that appear while the run waits (the pods start late): found at once, the wait reported")
    func lateRecords() async throws {
        try await withPods(3) { pods in
            let dns = try await DNSServer(pods.records([]))
            let running = try await start(dns, ["--service", "mongo", "--replicas", "3"])
            // The run has been told about both names (the second one it asks) before the records appear.
            #expect(try await dns.waitUntilAnswered("mongo.\(DNSServer.namespace).svc.cluster.local"))
            try await dns.replace(pods.records(0..<3))
            let result = await running.finished()
            #expect(result.exitCode == 0, "\(result.stderr)")
            // The pods' names exist, so the Service's name does too (an empty non-terminal), without records.
            #expect(result.stderr.contains("waiting for members: no SRV records for Service mongo (_mongodb._tcp.mongo: no such name (NXDOMAIN); mongo: no SRV records)"), "\(result.stderr)")
        }
    }

    @Test("the Service's own records when mongod's port is not named")
    func unnamedPort() async throws {
        try await withPods(3) { pods in
            let dns = try await DNSServer(pods.records(0..<3, under: Self.service))
            let result = try await discover(dns, ["--service", Self.service, "--replicas", "3"])
            #expect(result.exitCode == 0, "\(result.stderr)")
            #expect(result.stderr.contains("found in the SRV records of \(Self.service):"), "\(result.stderr)")
        }
    }

    @Test("without --service: the Service from this host's full name, as Spica's controller found it")
    func serviceFromHostname() async throws {
        try await withPods(3) { pods in
            var records = pods.records(0..<3)
            // A pod of the StatefulSet (or the Job given subdomain: mongo): its name resolves,
            // and its address resolves back to its full name.
            records.hosts.append(("job-7xk2p.\(Self.service)", "127.53.200.9"))
            let dns = try await DNSServer(records)
            let result = try await discover(dns, ["--hostname", "job-7xk2p.\(Self.service)", "--replicas", "3"])
            #expect(result.exitCode == 0, "\(result.stderr)")
            #expect(result.stderr.contains("this host's full name (job-7xk2p.\(Self.service) without its first label)"), "\(result.stderr)")
        }
    }

    @Test("no such Service until the deadline: exit 69 naming the Service and what DNS answered")
    func noSuchService() async throws {
        try await withPods(1) { pods in
            let dns = try await DNSServer(DNSServer.Records())
            let result = try await discover(dns, ["--service", "mongo", "--replicas", "3"], timeout: "1s")
            #expect(result.exitCode == 69, "\(result.stderr)")
            #expect(result.stderr.contains("members of Service mongo not discovered: no SRV records for Service mongo (_mongodb._tcp.mongo: no such name (NXDOMAIN); mongo: no such name (NXDOMAIN))"), "\(result.stderr)")
            #expect(result.json["outcome"] as? String == "timedOut")
            #expect(await pods.simulator.commands.isEmpty, "a member was contacted")
        }
    }

    @Test("a Service that exists without SRV records until the deadline: exit 69, saying so")
    func emptyAnswer() async throws {
        try await withPods(1) { pods in
            var records = pods.records([])
            records.namesWithoutServices = [Self.portRecords, Self.service]
            let dns = try await DNSServer(records)
            let result = try await discover(dns, ["--service", "mongo", "--replicas", "1"], timeout: "1s")
            #expect(result.exitCode == 69, "\(result.stderr)")
            #expect(result.stderr.contains("no SRV records for Service mongo (_mongodb._tcp.mongo: no SRV records; mongo: no SRV records)"), "\(result.stderr)")
        }
    }

    @Test("fewer pods than --replicas until the deadline: exit 69 naming the pods missing")
    func missingPods() async throws {
        try await withPods(3) { pods in
            let dns = try await DNSServer(pods.records([0, 2]))
            let result = try await discover(dns, ["--service", "mongo", "--replicas", "3"], timeout: "1s")
            #expect(result.exitCode == 69, "\(result.stderr)")
            #expect(result.stderr.contains("the SRV records of \(Self.portRecords) list mongo-0, mongo-2; waiting for mongo-1 (--replicas 3)"), "\(result.stderr)")
            #expect(await pods.simulator.writeCommands.isEmpty)
        }
    }

    @Test("SIGTERM while DNS has no answer yet: exit 143 at once, nothing sent")
    func interruptedWhileDiscovering() async throws {
        try await withPods(1) { pods in
            let dns = try await DNSServer(DNSServer.Records())
            let running = try await start(dns, ["--service", "mongo", "--replicas", "1"], timeout: "60s")
            #expect(try await running.waitUntilCatching(SIGTERM))
            // In the discovery: it has asked, and been told there is nothing.
            #expect(try await dns.waitUntilAnswered("_mongodb._tcp.mongo.\(DNSServer.namespace).svc.cluster.local"))
            running.signal(SIGTERM)
            let result = await running.finished()
            #expect(result.exitCode == 143, "\(result.stderr)")
            #expect(result.json["outcome"] as? String == "interrupted", "\(result.stdout)")
            #expect(await pods.simulator.commands.isEmpty)
        }
    }

    /// Invariant 1 across runs: each run's resolver gives it another answer (one pod, three pods,
    /// or three pods without ordinal 0), all start at once. Never two sets, and no replSetInitiate
    /// anywhere but on ordinal 0.
    @Test("concurrent runs that see different SRV answers make one set", arguments: 1...3)
    func concurrentRunsOnDifferentAnswers(_ round: Int) async throws {
        try await withPods(3) { pods in
            let onePod = try await DNSServer(pods.records([0]))
            let allPods = try await DNSServer(pods.records(0..<3))
            let withoutOrdinalZero = try await DNSServer(pods.records([1, 2]))
            let small = try await start(onePod, ["--service", "mongo", "--replicas", "1"])
            let full = try await start(allPods, ["--service", "mongo", "--replicas", "3"])
            let blind = try await start(withoutOrdinalZero, ["--service", "mongo", "--replicas", "2"], timeout: "2s")
            let (smallResult, fullResult, blindResult) = await (small.finished(), full.finished(), blind.finished())
            #expect(smallResult.exitCode == 0, "\(smallResult.stderr)")
            #expect(fullResult.exitCode == 0, "\(fullResult.stderr)")
            #expect(blindResult.exitCode == 69, "\(blindResult.stderr)")
            #expect(blindResult.stderr.contains("waiting for mongo-0 (--replicas 2)"), "\(blindResult.stderr)")
            #expect((blindResult.json["actions"] as? [Any])?.isEmpty ?? true, "\(blindResult.stdout)")

            #expect(try await replicaSetIds(pods.simulator.hosts).count == 1, "two sets")
            let initiates = await pods.simulator.writeCommands.filter { $0.name == "replSetInitiate" }
            #expect(!initiates.isEmpty && initiates.allSatisfy { $0.member == 0 }, "initiated on \(initiates.map(\.member))")
            // The run that wanted three members gets them, whichever run initiated.
            try await pods.simulator.waitUntil(timeout: .seconds(10), "all three in the config") { set in
                set.members.allSatisfy { $0.configVersion != nil }
            }
            #expect(try await memberHosts(pods.simulator).count == 3)
        }
    }
}
