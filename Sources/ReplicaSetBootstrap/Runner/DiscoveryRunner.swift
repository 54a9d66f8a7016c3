import NIOConcurrencyHelpers

/// `--from-srv true` before the run: asks DNS for the Service's SRV records until
/// `ServiceDiscovery` finds the members, or the deadline passes. Sleeps on the injected clock.
public struct DiscoveryRunner<RunClock: Clock>: Sendable where RunClock.Duration == Duration {
    public enum Result: Hashable, Sendable {
        /// The members, and the SRV record name they were found under.
        case found(recordName: String, members: [HostAddress], notes: [String])
        /// The deadline passed: the Service (or how its name was sought) and why no members.
        case timedOut(service: String, reason: String)
        /// The task was cancelled (SIGTERM/SIGINT).
        case cancelled
    }

    /// Retried quickly at first (a Service's records appear as its pods are created), then at
    /// most every second: CoreDNS caches answers for seconds anyway.
    static var retry: Backoff { Backoff(initial: .milliseconds(20), maximum: .seconds(1)) }

    private let serviceName: ServiceName
    private let replicas: Int
    private let resolver: any ServiceResolver
    private let clock: RunClock
    private let onProgress: @Sendable (String) -> Void

    public init(serviceName: ServiceName, replicas: Int, resolver: any ServiceResolver, clock: RunClock,
                onProgress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.serviceName = serviceName
        self.replicas = replicas
        self.resolver = resolver
        self.clock = clock
        self.onProgress = onProgress
    }

    public func run(until deadline: RunClock.Instant) async -> Result {
        await withTaskGroup(of: Result?.self) { group in
            group.addTask { [clock] in
                guard (try? await clock.sleep(until: deadline, tolerance: nil)) != nil else { return nil }
                // The discovery task reports why it is still waiting.
                return nil
            }
            let state = Latest()
            group.addTask { await discover(reporting: state) }
            defer { group.cancelAll() }
            // The first task to end decides: members found, or the deadline (nil).
            let first = await group.next() ?? nil
            if let first { return first }
            if Task.isCancelled { return .cancelled }
            return .timedOut(service: state.service, reason: state.reason)
        }
    }

    /// The last thing the discovery saw, for the deadline's message.
    private final class Latest: @unchecked Sendable {
        private let lock = NIOLockedValueBox(("", "no answer from DNS yet"))
        var service: String { lock.withLockedValue { $0.0 } }
        var reason: String { lock.withLockedValue { $0.1 } }
        func set(service: String, reason: String) { lock.withLockedValue { $0 = (service, reason) } }
    }

    private func discover(reporting latest: Latest) async -> Result? {
        var random = SplitMix64(seed: UInt64.random(in: .min ... .max))
        var failures = 0
        var lastReported = ""
        func wait(_ reason: String, service: String) async -> Bool {
            latest.set(service: service, reason: reason)
            if reason != lastReported {
                onProgress(reason)
                lastReported = reason
            }
            failures += 1
            return (try? await clock.sleep(for: Self.retry.delay(afterFailures: failures, random: &random))) != nil
        }
        while !Task.isCancelled {
            let service: String
            switch serviceName {
            case .given(let name):
                service = name
            case .derived(let hostname):
                switch await resolver.fullName(of: hostname) {
                case .success(let fullName):
                    guard let derived = ServiceDiscovery.service(fromFullName: fullName) else {
                        guard await wait("\(hostname) resolves to \(fullName.printable(limit: 80)), which has no domain to take the Service's name from; give --service", service: "(from --hostname \(hostname))") else { return nil }
                        continue
                    }
                    service = derived
                case .failure(let failure):
                    guard await wait("the Service's name is taken from this host's full name, but \(failure); give --service", service: "(from --hostname \(hostname))") else { return nil }
                    continue
                }
            }
            let discovery = ServiceDiscovery(service: service, replicas: replicas)
            var answers: [(name: String, answer: SRVAnswer)] = []
            for name in discovery.recordNames {
                let answer = await resolver.srvRecords(of: name)
                answers.append((name, answer))
                if case .records = answer { break }
            }
            switch discovery.verdict(answers) {
            case .found(let members, let recordName, let notes):
                return .found(recordName: recordName, members: members, notes: notes)
            case .waiting(let reason):
                guard await wait(reason, service: service) else { return nil }
            }
        }
        return nil
    }
}
