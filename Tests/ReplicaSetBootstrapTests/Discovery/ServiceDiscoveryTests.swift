import NIOConcurrencyHelpers
@testable import ReplicaSetBootstrap
import Testing

/// `--from-srv`: what the Service's SRV records make of the members, answer by answer.
@Suite("Service discovery")
struct ServiceDiscoveryTests {
    static let domain = "mongo.ns.svc.cluster.local"
    static let portRecords = "_mongodb._tcp.mongo.ns.svc.cluster.local"

    static func pod(_ ordinal: Int, port: Int = 27017) -> SRVRecord {
        SRVRecord(target: "mongo-\(ordinal).\(domain)", port: port)
    }

    static func host(_ ordinal: Int) -> HostAddress {
        HostAddress(host: "mongo-\(ordinal).\(domain)", port: 27017)
    }

    func verdict(_ records: [SRVRecord], replicas: Int) -> ServiceDiscovery.Verdict {
        ServiceDiscovery(service: "mongo", replicas: replicas).verdict([("_mongodb._tcp.mongo", .records(records, name: Self.portRecords))])
    }

    @Test("the named port's records are read first, the Service's own as a fallback; a record name is read as given")
    func recordNames() {
        #expect(ServiceDiscovery(service: "mongo", replicas: 3).recordNames == ["_mongodb._tcp.mongo", "mongo"])
        #expect(ServiceDiscovery(service: "_db._tcp.mongo.ns", replicas: 3).recordNames == ["_db._tcp.mongo.ns"])
    }

    @Test("a StatefulSet's pods: ordinals 0 to replicas-1 in ordinal order, whatever order DNS gives them in")
    func statefulSetPods() {
        let records = [12, 3, 0, 10, 1, 2, 4, 5, 6, 7, 8, 9, 11].map { Self.pod($0) }
        #expect(verdict(records, replicas: 13) == .found((0...12).map(Self.host), recordName: Self.portRecords, notes: []))
    }

    @Test("a pod missing from the answer: wait, naming the pods seen and the ones missing")
    func missingOrdinal() {
        #expect(verdict([Self.pod(0), Self.pod(2)], replicas: 3)
            == .waiting("the SRV records of \(Self.portRecords) list mongo-0, mongo-2; waiting for mongo-1 (--replicas 3)"))
    }

    @Test("ordinal 0 missing: no run goes on without the pod that initiates")
    func ordinalZeroMissing() {
        guard case .waiting(let reason) = verdict([1, 2, 3].map { Self.pod($0) }, replicas: 3) else {
            Issue.record("went on without mongo-0")
            return
        }
        #expect(reason.contains("waiting for mongo-0"))
    }

    @Test("two runs that see different answers agree on the members, or wait")
    func concurrentRunsAgree() {
        // One run sees only pod 0, the other all three: the first waits, the second goes on.
        #expect(verdict([Self.pod(0)], replicas: 3) == .waiting("the SRV records of \(Self.portRecords) list mongo-0; waiting for mongo-1, mongo-2 (--replicas 3)"))
        // A scale-down in progress leaves pods 3 and 4 in the answer: left out, with a note.
        let extra = verdict((0...4).map { Self.pod($0) }, replicas: 3)
        let exact = verdict((0...2).map { Self.pod($0) }, replicas: 3)
        guard case .found(let members, _, let notes) = extra, case .found(let same, _, []) = exact else {
            Issue.record("\(extra) \(exact)")
            return
        }
        #expect(members == same)
        #expect(members.sorted().first == Self.host(0), "the initiator (first in sorted host order) is ordinal 0")
        #expect(notes == ["\(Self.host(3)), \(Self.host(4)) are in the SRV records but beyond --replicas 3: not made members"])
    }

    @Test("names that are not a StatefulSet's pods must number exactly --replicas")
    func otherNames() {
        let records = ["b.example", "a.example", "c.example"].map { SRVRecord(target: $0, port: 27017) }
        #expect(verdict(records, replicas: 3) == .found(records.map { HostAddress(host: $0.target, port: 27017) }.sorted(), recordName: Self.portRecords, notes: []))
        guard case .waiting(let fewer) = verdict(records, replicas: 4), case .waiting(let more) = verdict(records, replicas: 2) else {
            Issue.record("went on with a count other than --replicas")
            return
        }
        #expect(fewer.contains("list 3 hosts") && fewer.contains("not the 4 of --replicas"))
        #expect(more.contains("not the 2 of --replicas"))
        // Leading zeros, another domain or another port: not one StatefulSet.
        #expect(StatefulSetPods([HostAddress(host: "mongo-01.\(Self.domain)")]) == nil)
        #expect(StatefulSetPods([Self.host(0), HostAddress(host: "mongo-1.other.svc")]) == nil)
        #expect(StatefulSetPods([Self.host(0), HostAddress(host: "mongo-1.\(Self.domain)", port: 27018)]) == nil)
        #expect(StatefulSetPods([HostAddress(host: "-0.\(Self.domain)")]) == nil)
        #expect(StatefulSetPods([Self.host(0), HostAddress(host: "MONGO-1.\(Self.domain.uppercased())")])?.byOrdinal.count == 2)
    }

    @Test("a pod on two ports (a metrics exporter beside mongod): wait, saying how to name the port")
    func twoPorts() {
        guard case .waiting(let reason) = verdict([Self.pod(0), Self.pod(0, port: 9216)], replicas: 1) else {
            Issue.record("took a pod on two ports")
            return
        }
        #expect(reason.contains("mongo-0.\(Self.domain) on ports 9216 and 27017"))
        #expect(reason.contains("Name mongod's port 'mongodb'"))
    }

    @Test("the same target twice, in another case: one member")
    func duplicateTargets() {
        let upper = SRVRecord(target: "MONGO-0.\(Self.domain)", port: 27017)
        #expect(verdict([Self.pod(0), upper, Self.pod(0)], replicas: 1) == .found([Self.host(0)], recordName: Self.portRecords, notes: []))
    }

    @Test("a target no host name can be (dn_expand's escapes, a root, port 0) is not contacted", arguments: [
        SRVRecord(target: "mongo-0.evil\\064host", port: 27017),
        SRVRecord(target: "a b.example", port: 27017),
        SRVRecord(target: "", port: 27017),
        SRVRecord(target: "x@y:z/.example", port: 27017),
        SRVRecord(target: "\u{1b}[31m.example", port: 27017),
        SRVRecord(target: "db.example", port: 0),
        SRVRecord(target: String(repeating: "a", count: 64) + ".example", port: 27017),
    ])
    func invalidTarget(_ record: SRVRecord) {
        guard case .waiting(let reason) = verdict([record], replicas: 1) else {
            Issue.record("accepted \(record)")
            return
        }
        #expect(reason.contains("which is not a host[:port]"))
        #expect(!reason.contains("\u{1b}"), "control characters are escaped")
    }

    @Test("more hosts than a set has members: wait")
    func tooMany() {
        let records = (0..<51).map { SRVRecord(target: "db\($0).example", port: 27017) }
        #expect(verdict(records, replicas: 50) == .waiting("the SRV records of \(Self.portRecords) list 51 hosts, more than the 50 members a replica set can have"))
    }

    @Test("no records under either name: wait, naming the Service and each answer")
    func noRecords() {
        let discovery = ServiceDiscovery(service: "mongo", replicas: 3)
        #expect(discovery.verdict([("_mongodb._tcp.mongo", .noSuchName), ("mongo", .noRecords)])
            == .waiting("no SRV records for Service mongo (_mongodb._tcp.mongo: no such name (NXDOMAIN); mongo: no SRV records)"))
        // The Service's own records when the port is not named.
        #expect(discovery.verdict([("_mongodb._tcp.mongo", .noSuchName), ("mongo", .records([Self.pod(0), Self.pod(1), Self.pod(2)], name: Self.domain))])
            == .found((0...2).map(Self.host), recordName: Self.domain, notes: []))
    }

    @Test("Spica's rule: the Service is this host's full name without its first label")
    func serviceFromFullName() {
        #expect(ServiceDiscovery.service(fromFullName: "mongo-0.mongo.ns.svc.cluster.local.") == "mongo.ns.svc.cluster.local")
        #expect(ServiceDiscovery.service(fromFullName: "job-x7f.mongo.ns.svc") == "mongo.ns.svc")
        #expect(ServiceDiscovery.service(fromFullName: "localhost") == nil)
        #expect(ServiceDiscovery.service(fromFullName: "host.") == nil)
    }

    @Test("--service names: DNS names, with an optional final dot")
    func serviceNames() throws {
        for name in ["mongo", "mongo.ns.svc.cluster.local.", "_mongodb._tcp.mongo", "m_1-a"] {
            try ServiceDiscovery.validateDNSName(name, option: "--service")
        }
        for name in ["", ".", "mongo..ns", "mongo ns", "-mongo", "mongo/x", "mongo:27017", String(repeating: "a", count: 64)] {
            #expect(throws: InvalidInput.self, "\(name)") { try ServiceDiscovery.validateDNSName(name, option: "--service") }
        }
    }
}

/// The discovery loop against a scripted resolver: it asks again until the answer names the
/// members, and reports each new reason once.
@Suite("Discovery runner")
struct DiscoveryRunnerTests {
    /// Answers from a script, one per query; the last answer repeats.
    final class ScriptedResolver: ServiceResolver {
        let script: [String: [SRVAnswer]]
        let fullNames: [String: Result<String, ResolverFailure>]
        let queries = NIOLockedValueBox<[String]>([])

        init(_ script: [String: [SRVAnswer]], fullNames: [String: Result<String, ResolverFailure>] = [:]) {
            self.script = script
            self.fullNames = fullNames
        }

        func srvRecords(of name: String) async -> SRVAnswer {
            let asked = queries.withLockedValue { queries in
                queries.append(name)
                return queries.filter { $0 == name }.count
            }
            let answers = script[name] ?? [.noSuchName]
            return answers[min(asked, answers.count) - 1]
        }

        func fullName(of hostname: String) async -> Result<String, ResolverFailure> {
            fullNames[hostname] ?? .failure(ResolverFailure("\(hostname) does not resolve"))
        }
    }

    static let pods = (0...2).map { ServiceDiscoveryTests.pod($0) }
    static let records = SRVAnswer.records(pods, name: ServiceDiscoveryTests.portRecords)

    @Test("records that appear late are found; each reason to wait is reported once")
    func lateRecords() async {
        let resolver = ScriptedResolver(["_mongodb._tcp.mongo": [.noSuchName, .noSuchName, .noSuchName, .records(Array(Self.pods.prefix(1)), name: ServiceDiscoveryTests.portRecords), Self.records]])
        let reports = NIOLockedValueBox<[String]>([])
        let runner = DiscoveryRunner(serviceName: .given("mongo"), replicas: 3, resolver: resolver, clock: ContinuousClock()) { reason in
            reports.withLockedValue { $0.append(reason) }
        }
        let result = await runner.run(until: .now + .seconds(300))
        #expect(result == .found(recordName: ServiceDiscoveryTests.portRecords, members: (0...2).map(ServiceDiscoveryTests.host), notes: []))
        #expect(reports.withLockedValue { $0 } == [
            "no SRV records for Service mongo (_mongodb._tcp.mongo: no such name (NXDOMAIN); mongo: no such name (NXDOMAIN))",
            "the SRV records of \(ServiceDiscoveryTests.portRecords) list mongo-0; waiting for mongo-1, mongo-2 (--replicas 3)",
        ])
        // The Service's own name is asked only while the named port has no records.
        #expect(resolver.queries.withLockedValue { $0 } == Array(repeating: ["_mongodb._tcp.mongo", "mongo"], count: 3).flatMap { $0 } + ["_mongodb._tcp.mongo", "_mongodb._tcp.mongo"])
    }

    @Test("the deadline ends the wait with the last reason and the Service")
    func deadline() async {
        let runner = DiscoveryRunner(serviceName: .given("mongo"), replicas: 3, resolver: ScriptedResolver([:]), clock: ContinuousClock())
        let result = await runner.run(until: .now + .milliseconds(100))
        #expect(result == .timedOut(service: "mongo", reason: "no SRV records for Service mongo (_mongodb._tcp.mongo: no such name (NXDOMAIN); mongo: no such name (NXDOMAIN))"))
    }

    @Test("the Service from this host's full name, as Spica found it")
    func derivedService() async {
        let resolver = ScriptedResolver(["_mongodb._tcp.mongo.ns.svc": [Self.records]],
                                        fullNames: ["job-x": .success("job-x.mongo.ns.svc")])
        let runner = DiscoveryRunner(serviceName: .derived(fromHostname: "job-x"), replicas: 3, resolver: resolver, clock: ContinuousClock())
        guard case .found(_, let members, _) = await runner.run(until: .now + .seconds(300)) else {
            Issue.record("not found")
            return
        }
        #expect(members.count == 3)
        let unresolved = DiscoveryRunner(serviceName: .derived(fromHostname: "nowhere"), replicas: 3, resolver: resolver, clock: ContinuousClock())
        #expect(await unresolved.run(until: .now + .milliseconds(100))
            == .timedOut(service: "(from --hostname nowhere)", reason: "the Service's name is taken from this host's full name, but nowhere does not resolve; give --service"))
    }

    @Test("cancelled (SIGTERM): ends at once")
    func cancelled() async {
        let runner = DiscoveryRunner(serviceName: .given("mongo"), replicas: 3, resolver: ScriptedResolver([:]), clock: ContinuousClock())
        let task = Task { await runner.run(until: .now + .seconds(60)) }
        task.cancel()
        #expect(await task.value == .cancelled)
    }
}
