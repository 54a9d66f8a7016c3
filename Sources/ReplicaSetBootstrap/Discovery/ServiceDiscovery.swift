/// `--from-srv true`: the members are the targets of a headless Service's DNS SRV records, as
/// Kubernetes publishes them for a StatefulSet. Pure: it decides from the answers the resolver
/// gave; `DiscoveryRunner` asks the resolver and waits.
///
/// Never two sets, whatever two concurrent runs see: when the targets are a StatefulSet's pods
/// (`<stem>-<ordinal>.<domain>`), the members are exactly ordinals 0 to `--replicas` − 1, each
/// confirmed by the answer, so every run that goes on has the same members and the same initiator
/// (ordinal 0, the first in sorted host order). A run that sees fewer waits; extra ordinals (a
/// scale-down in progress) are left out. Other names must number exactly `--replicas`.
public struct ServiceDiscovery: Hashable, Sendable {
    /// The Service's DNS name as given (`mongo`, `mongo.ns.svc.cluster.local`, or a full
    /// `_port._tcp.…` record name).
    public var service: String
    public var replicas: Int

    /// The port name Kubernetes publishes `_<name>._tcp.<service>` records for; the manifests
    /// name mongod's port so.
    public static let portName = "mongodb"

    public init(service: String, replicas: Int) {
        self.service = service
        self.replicas = replicas
    }

    /// The record names to query, in order: the named port first, because the records of the
    /// Service's own name list every port of every pod (a metrics exporter's too).
    public var recordNames: [String] {
        service.hasPrefix("_") ? [service] : ["_\(Self.portName)._tcp.\(service)", service]
    }

    public enum Verdict: Hashable, Sendable {
        /// The members, in ordinal (or sorted host) order, the record name they were found
        /// under, and notes for the operator.
        case found([HostAddress], recordName: String, notes: [String])
        /// Not (yet) a usable answer: why, naming what was found.
        case waiting(String)
    }

    /// Decides from the answers to `recordNames`, in order; the first that holds records counts.
    public func verdict(_ answers: [(name: String, answer: SRVAnswer)]) -> Verdict {
        if let (name, records) = answers.lazy.compactMap({ entry -> (String, [SRVRecord])? in
            guard case .records(let records, let fullName) = entry.answer else { return nil }
            return (fullName.isEmpty ? entry.name : fullName.printable(limit: 260), records)
        }).first {
            return verdict(records: records, from: name)
        }
        let found = answers.map { "\($0.name): \($0.answer)" }.joined(separator: "; ")
        return .waiting("no SRV records for Service \(service) (\(found))")
    }

    func verdict(records: [SRVRecord], from name: String) -> Verdict {
        var hosts: [HostAddress] = []
        for record in records {
            let host = HostAddress(host: record.target, port: record.port)
            guard HostAddress.hostNameProblem(Substring(record.target)) == nil, host.isPlain else {
                return .waiting("the SRV records of \(name) name '\(record.target.printable(limit: 80))' port \(record.port), which is not a host[:port] (letters, digits, '.', '-', '_'; port 1 to 65535)")
            }
            if !hosts.contains(host) { hosts.append(host) }
        }
        let byName = Dictionary(grouping: hosts) { $0.canonicalHost }
        if let (target, ports) = byName.first(where: { $0.value.count > 1 }).map({ ($0.key, $0.value.map(\.port).sorted()) }) {
            return .waiting("the SRV records of \(name) list \(target) on ports \(ports.map(String.init).joined(separator: " and ")): the Service has more than one port. Name mongod's port '\(Self.portName)' (its records are read first) or give --service _<port name>._tcp.<service>")
        }
        guard hosts.count <= ReplicaSetSpec.maxMembers else {
            return .waiting("the SRV records of \(name) list \(hosts.count) hosts, more than the \(ReplicaSetSpec.maxMembers) members a replica set can have")
        }
        if let pods = StatefulSetPods(hosts) {
            return verdict(pods: pods, from: name)
        }
        let sorted = hosts.sorted()
        guard sorted.count == replicas else {
            return .waiting("the SRV records of \(name) list \(sorted.count) host\(sorted.count == 1 ? "" : "s") (\(sorted.map(\.description).joined(separator: ", "))), not the \(replicas) of --replicas; names that are not a StatefulSet's pods (<name>-<ordinal>) must number exactly --replicas")
        }
        return .found(sorted, recordName: name, notes: [])
    }

    private func verdict(pods: StatefulSetPods, from name: String) -> Verdict {
        let wanted = 0..<replicas
        let missing = wanted.filter { pods.byOrdinal[$0] == nil }
        guard missing.isEmpty else {
            let seen = pods.byOrdinal.keys.sorted().map { pods.podName($0) }
            return .waiting("the SRV records of \(name) list \(seen.isEmpty ? "no pod" : seen.joined(separator: ", ")); waiting for \(missing.map { pods.podName($0) }.joined(separator: ", ")) (--replicas \(replicas))")
        }
        let beyond = pods.byOrdinal.keys.filter { $0 >= replicas }.sorted()
        let notes = beyond.isEmpty ? [] : [
            "\(beyond.map { pods.byOrdinal[$0]!.description }.joined(separator: ", ")) \(beyond.count == 1 ? "is" : "are") in the SRV records but beyond --replicas \(replicas): not made members",
        ]
        return .found(wanted.map { pods.byOrdinal[$0]! }, recordName: name, notes: notes)
    }
}

/// Where the Service's name comes from.
public enum ServiceName: Hashable, Sendable {
    /// `--service`.
    case given(String)
    /// Spica's way, from this host's full name (`--hostname`, default the host's own name).
    case derived(fromHostname: String)
}

/// What the resolver answered for one record name.
public enum SRVAnswer: Hashable, Sendable, CustomStringConvertible {
    /// The records, and the full name they were found under (the search list's domain added).
    case records([SRVRecord], name: String)
    /// NXDOMAIN.
    case noSuchName
    /// The name exists without SRV records.
    case noRecords
    /// No usable answer: the resolver's reason (timeout, SERVFAIL, REFUSED, a malformed answer).
    case failed(String)

    public var description: String {
        switch self {
        case .records(let records, let name): return "\(records.count) record\(records.count == 1 ? "" : "s") for \(name.printable(limit: 260))"
        case .noSuchName: return "no such name (NXDOMAIN)"
        case .noRecords: return "no SRV records"
        case .failed(let reason): return reason
        }
    }
}

public struct SRVRecord: Hashable, Sendable {
    public var target: String
    public var port: Int

    public init(target: String, port: Int) {
        self.target = target
        self.port = port
    }
}

/// Hosts that are all `<stem>-<ordinal>.<domain>:<port>` with one stem, domain and port: a
/// StatefulSet's pods in its headless Service (ordinals written as Kubernetes writes them, without
/// leading zeros).
struct StatefulSetPods {
    let stem: String
    let domain: String
    let port: Int
    let byOrdinal: [Int: HostAddress]

    init?(_ hosts: [HostAddress]) {
        guard let first = hosts.first, let (stem, _, domain) = Self.split(first.host) else { return nil }
        var byOrdinal: [Int: HostAddress] = [:]
        for host in hosts {
            guard host.port == first.port, let (hostStem, ordinal, hostDomain) = Self.split(host.host),
                  hostStem.lowercased() == stem.lowercased(), hostDomain.lowercased() == domain.lowercased() else { return nil }
            byOrdinal[ordinal] = host
        }
        self.stem = stem
        self.domain = domain
        port = first.port
        self.byOrdinal = byOrdinal
    }

    func podName(_ ordinal: Int) -> String {
        "\(stem)-\(ordinal)"
    }

    /// `mongo-12.mongo.ns.svc` → ("mongo", 12, "mongo.ns.svc").
    private static func split(_ host: String) -> (String, Int, String)? {
        guard let dot = host.firstIndex(of: "."), let dash = host[..<dot].lastIndex(of: "-") else { return nil }
        let digits = host[host.index(after: dash)..<dot]
        guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy(\.isASCIIDigit), digits == "0" || digits.first != "0",
              dash != host.startIndex, let ordinal = Int(digits) else { return nil }
        return (String(host[..<dash]), ordinal, String(host[host.index(after: dot)...]))
    }
}

extension ServiceDiscovery {
    /// A DNS name as `--service` and `--hostname` take it: a host name (SRV record names start
    /// with '_', which host names allow too), with an optional final dot.
    public static func validateDNSName(_ name: String, option: String) throws(InvalidInput) {
        let body = name.hasSuffix(".") ? name.dropLast() : Substring(name)
        guard !body.isEmpty else { throw InvalidInput("\(option): empty; give a DNS name, for example mongo or mongo.default.svc.cluster.local") }
        if let problem = HostAddress.hostNameProblem(body) {
            throw InvalidInput("\(option) '\(name.printable(limit: 80))': \(problem); give a DNS name, for example mongo or mongo.default.svc.cluster.local")
        }
    }

    /// Spica's rule: this host's full name without its first label is the Service's domain
    /// (`mongo-0.mongo.ns.svc.cluster.local` → `mongo.ns.svc.cluster.local`). Nil when the name
    /// has no domain.
    public static func service(fromFullName name: String) -> String? {
        let body = name.hasSuffix(".") ? String(name.dropLast()) : name
        guard let dot = body.firstIndex(of: "."), body.index(after: dot) != body.endIndex else { return nil }
        return String(body[body.index(after: dot)...])
    }
}
