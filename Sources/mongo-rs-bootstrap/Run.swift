import ReplicaSetBootstrap

#if canImport(Glibc)
import Glibc
#endif

/// One run, as the CLI performs it: finds the members (`--from-srv`), wires the runner to
/// libmongoc, the clock, the progress log and the signals, then prints the result.
struct Run {
    let invocation: Invocation
    let log: ProgressLog
    let clock = ContinuousClock()

    init(_ invocation: Invocation) {
        self.invocation = invocation
        log = ProgressLog(format: invocation.logFormat, quiet: invocation.quiet, debug: invocation.debug)
    }

    /// The exit code, and the connections the process closes when it ends (`ProcessExit`): none
    /// when the run ended before the members were known.
    func perform() async -> (code: Int32, nodes: MongocNodes?) {
        for warning in invocation.warnings { log.note(warning, level: "warning", event: "warning") }
        let started = clock.now
        var invocation = invocation
        if let discovery = invocation.discovery {
            switch await discover(discovery, started: started) {
            case .found(let found): invocation = found
            case .ended(let ending): return (finish(ending, elapsed: started.duration(to: clock.now)), nil)
            }
        }
        let nodes = MongocNodes(
            hosts: invocation.spec.hosts,
            options: ConnectionOptions(connectTimeout: invocation.connectTimeout, credentials: invocation.security.credentials,
                                       tls: invocation.security.tls, listenerWait: invocation.listenerWait),
            maxAwaitTime: invocation.machineConfiguration.maxAwaitTime)
        let code = await bootstrap(invocation, nodes: nodes, started: started)
        return (code, nodes)
    }

    /// `--from-srv`: the invocation with the members found, or how the run ends without them.
    private func discover(_ discovery: Invocation.Discovery, started: ContinuousClock.Instant) async -> Discovered {
        let service: String
        switch discovery.serviceName {
        case .given(let name): service = "Service \(name)"
        case .derived(let hostname): service = "the Service named by this host's full name (\(hostname) without its first label)"
        }
        log.note("\(invocation.dryRun ? "dry run: " : "")replica set '\(invocation.spec.name)': finding its \(discovery.replicas) member\(discovery.replicas == 1 ? "" : "s") in the DNS SRV records of \(service); giving up after \(DurationParsing.format(invocation.timeout))", event: "start")
        let runner = DiscoveryRunner(serviceName: discovery.serviceName, replicas: discovery.replicas, resolver: SystemResolver(), clock: clock) { [log, clock] reason in
            log.note("waiting for members: \(reason)", elapsed: started.duration(to: clock.now), event: "discovery")
        }
        let deadline = started.advanced(by: invocation.timeout)
        let search = Task { await runner.run(until: deadline) }
        SignalWatcher.onSignal { _ in search.cancel() }
        switch await search.value {
        case .found(let recordName, let members, let notes):
            log.note("found in the SRV records of \(recordName): \(members.map(\.description).joined(separator: ", "))", elapsed: started.duration(to: clock.now), event: "discovered")
            do {
                return .found(try invocation.discovered(members, notes: notes))
            } catch {
                return .ended(.outcome(.refused(.discoveredMembersInvalid(service: recordName, reason: error.message))))
            }
        case .timedOut(let service, let reason):
            return .ended(.outcome(.timedOut([.undiscovered(service: service, reason: reason)])))
        case .cancelled:
            return .ended(.interrupted(signal: SignalWatcher.received ?? SIGTERM))
        }
    }

    private enum Discovered {
        case found(Invocation)
        case ended(ResultReport.Ending)
    }

    private func bootstrap(_ invocation: Invocation, nodes: MongocNodes, started: ContinuousClock.Instant) async -> Int32 {
        let spec = invocation.spec
        let security = invocation.security.summary.map { "; \($0)" } ?? ""
        let remaining = invocation.timeout - started.duration(to: clock.now)
        log.note("\(invocation.dryRun ? "dry run: " : "")replica set '\(spec.name)' with \(spec.members.count) member\(spec.members.count == 1 ? "" : "s"): \(spec.hosts.map(\.description).joined(separator: ", "))\(security); giving up after \(DurationParsing.format(remaining))", elapsed: started.duration(to: clock.now), event: "start")
        for note in invocation.notes { log.note(note) }

        var configuration = invocation.machineConfiguration
        configuration.messagesPerConnection = nodes.messagesPerConnection(monitor: false)
        configuration.monitorMessagesPerConnection = nodes.messagesPerConnection(monitor: true)
        configuration.usesTLS = invocation.security.tls != nil
        var replicaSetNodes: any ReplicaSetNodes = nodes
        if invocation.debug {
            replicaSetNodes = DebugLoggingNodes(nodes, log: log) { [clock] in started.duration(to: clock.now) }
        }
        // What discovery took counts too: the progress log and the result show time since start.
        let before = started.duration(to: clock.now)
        let runner = StateMachineRunner(configuration: configuration, nodes: replicaSetNodes, clock: clock, timeout: remaining) { [log] progress, elapsed in
            log.report(progress, elapsed: before + elapsed)
        }
        let run = Task { await runner.run() }
        SignalWatcher.onSignal { _ in run.cancel() }
        let result = await run.value

        let ending: ResultReport.Ending
        if let signal = SignalWatcher.received, result.outcome == nil {
            ending = .interrupted(signal: signal)
        } else if let outcome = result.outcome {
            ending = .outcome(outcome)
        } else {
            ending = .failed(outcome: "internalError", reason: "internal error: the run ended without an outcome", text: nil)
        }
        return finish(ending, elapsed: before + result.elapsed, actions: result.actions, setName: spec.name)
    }

    /// Prints the result; returns the exit code.
    private func finish(_ ending: ResultReport.Ending, elapsed: Duration, actions: [ActionRecord] = [], setName: String? = nil) -> Int32 {
        let code: Int32
        switch ending {
        case .interrupted(let signal): code = ExitStatus.code(forSignal: signal)
        case .outcome(let outcome): code = ExitStatus.code(for: outcome)
        case .failed: code = ExitStatus.internalError
        }
        ResultReport(ending: ending, exitCode: code, setName: setName ?? invocation.spec.name, elapsed: elapsed, timeout: invocation.timeout,
                     actions: actions, warnings: invocation.warnings, security: invocation.security).print(as: invocation.output)
        return code
    }
}

/// `--debug`: every command sent and its answer, on the progress log (repeats thinned out).
struct DebugLoggingNodes: ReplicaSetNodes {
    let wrapped: any ReplicaSetNodes
    let log: ProgressLog
    let elapsed: @Sendable () -> Duration

    init(_ wrapped: any ReplicaSetNodes, log: ProgressLog, elapsed: @escaping @Sendable () -> Duration) {
        self.wrapped = wrapped
        self.log = log
        self.elapsed = elapsed
    }

    func run(_ command: NodeCommand, on host: HostAddress) async throws(MongoError) -> CommandReply {
        log.debugLine(command.debugDescription, node: host, stream: "→", elapsed: elapsed())
        do throws(MongoError) {
            let reply = try await wrapped.run(command, on: host)
            log.debugLine(reply.debugDescription, node: host, stream: "←", elapsed: elapsed())
            return reply
        } catch {
            log.debugLine("error: \(error.message) (\(error.kindName))", node: host, stream: "←", elapsed: elapsed())
            throw error
        }
    }
}

extension NodeCommand {
    var debugDescription: String {
        switch self {
        case .awaitHello(let version?, let maxAwait): return "hello (awaiting a change from topologyVersion counter \(version.counter), up to \(DurationParsing.format(maxAwait)))"
        case .awaitHello(nil, _), .hello: return "hello"
        case .getStatus: return "replSetGetStatus"
        case .getConfig: return "replSetGetConfig"
        case .getCommittedConfig: return "replSetGetConfig {commitmentStatus: true}"
        case .stepDown: return "replSetStepDown"
        case .initiate(let config): return "replSetInitiate \(config.document)"
        case .stepUp: return "replSetStepUp"
        case .reconfig(let config, let force, _): return "replSetReconfig\(force ? " (force)" : "") \(config.document)"
        }
    }
}

extension CommandReply {
    var debugDescription: String {
        switch self {
        case .hello(let hello):
            if let setName = hello.setName { return "hello: \(hello.memberState.rawValue) of '\(setName)', config version \(hello.setVersion.map(String.init) ?? "?")" }
            return hello.isReplicaSet ? "hello: no replica set config" : "hello: not a replica set member"
        case .status(let health):
            return "replSetGetStatus: ok" + (health.unhealthy.isEmpty ? "" : ", unreachable: \(health.unhealthy.map(\.description).sorted().joined(separator: ", "))")
        case .config(let config): return "replSetGetConfig: version \(config.version), \(config.members.count) members"
        case .committedConfig(let config, let committed):
            let commitment = committed.map { $0 ? "committed" : "not yet committed" } ?? "commitment unknown (server before 4.4)"
            return "replSetGetConfig: version \(config.version), \(config.members.count) members, \(commitment)"
        case .steppedDown: return "replSetStepDown: ok"
        case .initiated: return "replSetInitiate: ok"
        case .steppedUp: return "replSetStepUp: ok"
        case .reconfigured: return "replSetReconfig: ok"
        }
    }
}
