import ReplicaSetBootstrap

/// One run, as the CLI performs it: wires the runner to libmongoc, the clock, the progress log
/// and the signals, then prints the result. Returns the exit code.
struct Bootstrap {
    let invocation: Invocation
    /// The connections to the nodes; the process closes them when it ends (`ProcessExit`).
    let nodes: MongocNodes

    init(_ invocation: Invocation) {
        self.invocation = invocation
        nodes = MongocNodes(
            hosts: invocation.spec.hosts,
            options: ConnectionOptions(connectTimeout: invocation.connectTimeout, credentials: invocation.security.credentials, tls: invocation.security.tls),
            maxAwaitTime: invocation.machineConfiguration.maxAwaitTime)
    }

    func run() async -> Int32 {
        let log = ProgressLog(format: invocation.logFormat, quiet: invocation.quiet, debug: invocation.debug)
        for warning in invocation.warnings { log.note(warning, level: "warning", event: "warning") }
        let spec = invocation.spec
        let security = invocation.security.summary.map { "; \($0)" } ?? ""
        log.note("\(invocation.dryRun ? "dry run: " : "")replica set '\(spec.name)' with \(spec.members.count) member\(spec.members.count == 1 ? "" : "s"): \(spec.hosts.map(\.description).joined(separator: ", "))\(security); giving up after \(DurationParsing.format(invocation.timeout))", event: "start")
        for note in invocation.notes { log.note(note) }

        var configuration = invocation.machineConfiguration
        configuration.messagesPerConnection = invocation.security.credentials?.messagesPerConnection ?? 1
        configuration.usesTLS = invocation.security.tls != nil
        let clock = ContinuousClock()
        let started = clock.now
        var nodes: any ReplicaSetNodes = self.nodes
        if invocation.debug {
            nodes = DebugLoggingNodes(nodes, log: log) { started.duration(to: clock.now) }
        }
        let runner = BootstrapRunner(configuration: configuration, nodes: nodes, clock: clock, timeout: invocation.timeout) { progress, elapsed in
            log.report(progress, elapsed: elapsed)
        }
        let run = Task { await runner.run() }
        SignalWatcher.onSignal { _ in run.cancel() }
        let result = await run.value

        let ending: ResultReport.Ending
        let code: Int32
        if let signal = SignalWatcher.received, result.outcome == nil {
            ending = .interrupted(signal: signal)
            code = ExitStatus.code(forSignal: signal)
        } else if let outcome = result.outcome {
            ending = .outcome(outcome)
            code = ExitStatus.code(for: outcome)
        } else {
            ending = .failed(outcome: "internalError", reason: "internal error: the run ended without an outcome", text: nil)
            code = ExitStatus.internalError
        }
        ResultReport(ending: ending, exitCode: code, setName: spec.name, elapsed: result.elapsed, timeout: invocation.timeout,
                     actions: result.actions, warnings: invocation.warnings, security: invocation.security).print(as: invocation.output)
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

    func run(_ command: BootstrapStateMachine.NodeCommand, on host: HostAddress) async throws(MongoError) -> BootstrapStateMachine.CommandReply {
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

extension BootstrapStateMachine.NodeCommand {
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

extension BootstrapStateMachine.CommandReply {
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
