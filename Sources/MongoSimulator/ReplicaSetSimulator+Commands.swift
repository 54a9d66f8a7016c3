import Foundation
import MongoBSON

/// The connection went away with the process (mongod drops connections when it stops).
struct ConnectionDropped: Error {}

/// Command dispatch and the read-only commands, after `service_entry_point_common.cpp`,
/// `replication_info.cpp` (hello), `repl_set_commands.cpp` and `topology_coordinator.cpp`
/// (`prepareStatusResponse`, `fillHelloForReplSet`).
extension ReplicaSetSimulator {
    /// Runs one command for a member and returns the reply document (nil: no reply, the
    /// connection is dropped).
    func handle(_ request: WireRequest, member: Int, connection: Int32) async -> BSONDocument? {
        guard !isShutDown, nodes.indices.contains(member), nodes[member].isRunning else { return nil }
        let name = request.command.firstKey ?? ""
        commandLog.append(CommandRecord(member: member, host: nodes[member].host, name: name, database: request.database,
                                        document: request.command, connection: connection, time: .now, date: Date()))
        if let trigger = nodes[member].faults.stepDownOnCommand, trigger.name == name {
            nodes[member].faults.stepDownOnCommand = nil
            nodes[member].faults.pendingStepDownPeriod = trigger.period
            if trigger.after == .zero {
                stepDownByRequest(member, period: trigger.period)
            } else {
                schedule(.stepDown(member), after: trigger.after)
            }
            settle()
        }
        let delay = nodes[member].faults.replyDelay
        if delay > .zero { try? await Task.sleep(for: delay) }
        guard nodes[member].isRunning else { return nil }
        var reply: BSONDocument
        do {
            if let failure = takeInjectedFailure(member, name) {
                if failure.code == .maxTimeMSExpired { _ = try await run(name, request, member: member, connection: connection) }
                throw failure
            }
            reply = try await run(name, request, member: member, connection: connection)
        } catch var error as CommandError {
            error.code = options.serverVersion.dialect(error.code)
            reply = error.reply
            if error.isNotPrimaryError { reply.append("topologyVersion", nodes[member].topologyVersion) }
        } catch {
            return nil
        }
        settle()
        guard nodes[member].isRunning else { return nil }
        return withClusterTime(reply, member: member)
    }

    private func run(_ name: String, _ request: WireRequest, member: Int, connection: Int32) async throws -> BSONDocument {
        let command = request.command
        // check_allowed_op_query_cmd.cpp: OP_QUERY only for the handshake and a few others.
        let allowedOverOpQuery: Set = ["hello", "isMaster", "ismaster", "_isSelf", "authenticate", "buildinfo", "buildInfo", "saslContinue", "saslStart"]
        if request.opcode == .query && !allowedOverOpQuery.contains(name) {
            throw CommandError(.unsupportedOpQueryCommand, "Unsupported OP_QUERY command: \(name). The client driver may require an upgrade. For more details see https://dochub.mongodb.org/core/legacy-opcode-removal")
        }
        let replSetCommands: Set = ["replSetInitiate", "replSetReconfig", "replSetGetStatus", "replSetGetConfig", "replSetStepUp", "replSetStepDown",
                                    "replSetFreeze"]
        if replSetCommands.contains(name) && request.database != "admin" {
            // ReplSetCommand::adminOnly.
            throw CommandError(.unauthorized, "\(name) may only be run against the admin database.")
        }
        try checkAuthorization(name, request, member: member, connection: connection)
        switch name {
        case "hello" where options.serverVersion.hasHelloCommand:
            return try await hello(member, request, legacy: false, connection: connection)
        case "isMaster", "ismaster": return try await hello(member, request, legacy: true, connection: connection)
        case "saslStart": return try saslStart(request, member: member, connection: connection)
        case "saslContinue": return try saslContinue(request, member: member, connection: connection)
        case "authenticate": return try authenticate(request, member: member, connection: connection)
        case "logout": return logout(member: member, connection: connection)
        case "ping", "endSessions": return ["ok": 1.0]
        case "buildInfo", "buildinfo": return buildInfo()
        case "serverStatus": return serverStatus(member)
        case "replSetGetStatus": return try replSetGetStatus(member)
        case "replSetGetConfig": return try replSetGetConfig(member, command)
        case "replSetStepUp": return try replSetStepUp(member, command)
        case "replSetStepDown": return try await replSetStepDown(member, command)
        case "replSetFreeze": return try replSetFreeze(member, command)
        case "setDefaultRWConcern": return try setDefaultRWConcern(member, command)
        case "getDefaultRWConcern": return getDefaultRWConcern(member)
        case "replSetInitiate": return try await replSetInitiate(member, command)
        case "replSetReconfig": return try await replSetReconfig(member, command)
        default: throw CommandError(.commandNotFound, "no such command: '\(name)'")
        }
    }

    /// The `failCommand` fault, with the words mongod uses for these races
    /// (replication_coordinator_impl.cpp `processReplSetReconfig`, `awaitConfigCommitment`).
    private func takeInjectedFailure(_ member: Int, _ name: String) -> CommandError? {
        guard let fault = nodes[member].faults.failCommand, fault.name == name, fault.count > 0 else { return nil }
        nodes[member].faults.failCommand?.count -= 1
        let version = nodes[member].config.map { "{version: \($0.version), term: \($0.term)}" } ?? "{}"
        switch fault.code {
        case ErrorCode.configurationInProgress.code:
            return CommandError(.configurationInProgress, "Cannot run replSetReconfig because the node is currently updating its configuration")
        case ErrorCode.currentConfigNotCommittedYet.code:
            return CommandError(.currentConfigNotCommittedYet, "Cannot run replSetReconfig because the current config: \(version) is not majority committed.")
        case ErrorCode.maxTimeMSExpired.code:
            return CommandError(.maxTimeMSExpired, "Reconfig finished but failed to propagate to a majority :: caused by :: operation exceeded time limit")
        default:
            return CommandError(ErrorCode(fault.code, "Location\(fault.code)"), "injected failure")
        }
    }

    /// `checkReplEnabledForCommand`.
    func checkReplEnabled(_ member: Int) throws(CommandError) {
        guard nodes[member].replSetName != nil else {
            throw CommandError(.noReplicationEnabled, "not running with --replSet")
        }
        if nodes[member].memberState == .startup {
            throw CommandError(.notYetInitialized, "no replset config has been received")
        }
    }

    /// `maxTimeMS` as an operation deadline (0 or absent: none).
    func deadline(_ command: BSONDocument) throws(CommandError) -> ContinuousClock.Instant? {
        guard let value = command["maxTimeMS"] else { return nil }
        guard let millis = value.intValue, millis >= 0, millis <= Int(Int32.max) else {
            throw CommandError(.badValue, "\(BSONText.render(value)) is not a valid value for maxTimeMS")
        }
        return millis == 0 ? nil : .now + .milliseconds(millis)
    }

    /// Replica-set members gossip the cluster time on every reply.
    private func withClusterTime(_ reply: BSONDocument, member: Int) -> BSONDocument {
        let node = nodes[member]
        guard node.config != nil, !node.lastApplied.isNull else { return reply }
        var reply = reply
        let time = BSON.timestamp(seconds: node.lastApplied.seconds, increment: node.lastApplied.increment)
        reply.append("$clusterTime", ["clusterTime": time, "signature": ["hash": .binary(subtype: 0, bytes: Array(repeating: 0, count: 20)), "keyId": .int64(0)]])
        reply.append("operationTime", time)
        return reply
    }

    // MARK: - hello

    /// `CmdHello::runWithReplyBuilder`, including the awaitable protocol
    /// (`awaitHelloResponse`): with a current topologyVersion it answers with the response of the
    /// first topology change (counter + 1), or the current one when maxAwaitTimeMS passes.
    private func hello(_ member: Int, _ request: WireRequest, legacy: Bool, connection: Int32) async throws -> BSONDocument {
        let command = request.command
        if command["client"] != nil && !nodes[member].connectionsWithMetadata.insert(connection).inserted {
            throw CommandError(.clientMetadataCannotBeMutated, "The client metadata document may only be sent in the first hello")
        }
        var changed: BSONDocument?
        if let (processId, counter, maxAwaitTimeMS) = try awaitableHelloArguments(command), processId == nodes[member].processId {
            let current = nodes[member].topologyCounter
            guard counter <= current else {
                throw CommandError(.topologyVersionFromFuture, "Received a topology version with counter: \(counter) which is greater than the server topology version counter: \(current)")
            }
            // Another process or an older counter: the client is behind, answer at once.
            if counter == current {
                switch await awaitTopologyChange(member, command: command, legacy: legacy, connection: connection, maxAwaitTimeMS: maxAwaitTimeMS) {
                case .reply(let reply): changed = reply
                case .timedOut: break
                case .dropped: throw ConnectionDropped()
                }
                guard nodes[member].isRunning, nodes[member].processId == processId else { throw ConnectionDropped() }
            }
        }
        var reply = changed ?? helloReply(member, command, legacy: legacy, connection: connection)
        let authentication = authenticationFields(command, member: member, connection: connection,
                                                  certificateSubject: request.clientCertificateSubject)
        if !authentication.isEmpty {
            // Before `ok`, which helloReply puts last.
            let ok = reply["ok"]
            reply["ok"] = nil
            for element in authentication.elements { reply.append(element.key, element.value) }
            if let ok { reply.append("ok", ok) }
        }
        return reply
    }

    /// `topologyVersion` and `maxAwaitTimeMS` (the `hello` IDL): both or neither.
    private func awaitableHelloArguments(_ command: BSONDocument) throws(CommandError) -> (ObjectId, Int64, Int64)? {
        let reader = IDLReader(structName: "hello", document: command)
        let version = try reader.document("topologyVersion")
        let maxAwaitTimeMS = try reader.safeInt64("maxAwaitTimeMS")
        guard let version, let maxAwaitTimeMS else {
            if version == nil && maxAwaitTimeMS == nil { return nil }
            throw CommandError(.awaitableHelloArguments, version != nil
                ? "A request with a 'topologyVersion' must include 'maxAwaitTimeMS'"
                : "A request with 'maxAwaitTimeMS' must include a 'topologyVersion'")
        }
        try reader.check("maxAwaitTimeMS", maxAwaitTimeMS, ">=", 0, >=)
        let versionReader = IDLReader(structName: "TopologyVersion", document: version)
        let processId = try versionReader.require("processId", versionReader.objectId)
        let counter = try versionReader.require("counter", versionReader.safeInt64)
        guard counter >= 0 else { throw CommandError(.topologyVersionNegative, "topologyVersion must have a non-negative counter") }
        return (processId, counter, maxAwaitTimeMS)
    }

    func helloReply(_ member: Int, _ command: BSONDocument, legacy: Bool, connection: Int32) -> BSONDocument {
        let node = nodes[member]
        let writableField = legacy ? "ismaster" : "isWritablePrimary"
        var reply = BSONDocument()
        if command["helloOk"] != nil && options.serverVersion.hasHelloCommand { reply.append("helloOk", true) }
        if node.replSetName == nil {
            reply.append(writableField, true)
            reply.append("topologyVersion", node.topologyVersion)
        } else if let config = node.config, let me = node.selfConfig {
            // fillHelloForReplSet, then _makeHelloResponse's overrides.
            reply.append("topologyVersion", node.topologyVersion)
            var hosts: [BSON] = [], passives: [BSON] = [], arbiters: [BSON] = []
            for other in config.members where !other.hidden && other.secondaryDelaySecs == 0 {
                if other.isElectable {
                    hosts.append(.string(other.host))
                } else if other.arbiterOnly {
                    arbiters.append(.string(other.host))
                } else {
                    passives.append(.string(other.host))
                }
            }
            if !hosts.isEmpty { reply.append("hosts", .array(hosts)) }
            if !passives.isEmpty { reply.append("passives", .array(passives)) }
            if !arbiters.isEmpty { reply.append("arbiters", .array(arbiters)) }
            reply.append("setName", .string(config.name))
            reply.append("setVersion", .int32(Int32(truncatingIfNeeded: config.version)))
            var writable = node.memberState == .primary && !node.isSteppingDown
            var secondary = node.memberState == .secondary
            if writable && !node.isWritablePrimary {
                // A primary still draining reports that it is a secondary that cannot take writes.
                writable = false
                secondary = true
            }
            reply.append(writableField, .bool(writable))
            reply.append("secondary", .bool(secondary))
            if let primary = node.primaryHost { reply.append("primary", .string(primary)) }
            if me.arbiterOnly {
                reply.append("arbiterOnly", true)
            } else if me.effectivePriority == 0 {
                reply.append("passive", true)
            }
            if me.hidden { reply.append("hidden", true) }
            if !me.buildIndexes { reply.append("buildIndexes", false) }
            if me.secondaryDelaySecs > 0 { reply.append(legacy ? "slaveDelay" : "secondaryDelaySecs", Self.number(me.secondaryDelaySecs)) }
            if let tags = me.tags, !tags.isEmpty { reply.append("tags", .document(tags)) }
            reply.append("me", .string(me.host))
            if node.role == .leader { reply.append("electionId", .objectId(SimulatedMongod.electionId(term: node.electionIdTerm))) }
            var lastWrite: BSONDocument = ["opTime": node.lastApplied.document, "lastWriteDate": node.lastApplied.date]
            if !node.lastCommitted.isNull {
                lastWrite.append("majorityOpTime", node.lastCommitted.document)
                lastWrite.append("majorityWriteDate", node.lastCommitted.date)
            }
            reply.append("lastWrite", .document(lastWrite))
        } else {
            // No config, or REMOVED: `markAsNoConfig`.
            reply.append("topologyVersion", node.topologyVersion)
            reply.append(writableField, false)
            reply.append("secondary", false)
            reply.append("info", "Does not have a valid replica set config")
            reply.append("isreplicaset", true)
        }
        reply.append("maxBsonObjectSize", .int32(16 * 1024 * 1024))
        reply.append("maxMessageSizeBytes", .int32(48_000_000))
        reply.append("maxWriteBatchSize", .int32(100_000))
        reply.append("localTime", .datetime(Int64(Date().timeIntervalSince1970 * 1000)))
        reply.append("logicalSessionTimeoutMinutes", .int32(30))
        reply.append("connectionId", .int32(connection))
        reply.append("minWireVersion", .int32(0))
        reply.append("maxWireVersion", .int32(options.serverVersion.maxWireVersion))
        reply.append("readOnly", false)
        reply.append("ok", 1.0)
        return reply
    }

    /// `BSONObjBuilder::appendNumber(long long)`: an int when it fits in 31 bits.
    static func number(_ value: Int64) -> BSON {
        abs(value) < (1 << 30) ? .int32(Int32(value)) : .int64(value)
    }

    private func buildInfo() -> BSONDocument {
        let version = options.serverVersion
        return [
            "version": .string(version.versionString),
            "gitVersion": "0000000000000000000000000000000000000000",
            "modules": [],
            "allocator": "tcmalloc",
            "javascriptEngine": "mozjs",
            "sysInfo": "deprecated",
            "versionArray": .array(version.versionArray.map(BSON.int32)),
            "bits": 64,
            "debug": false,
            "maxBsonObjectSize": .int32(16 * 1024 * 1024),
            "storageEngines": ["devnull", "wiredTiger"],
            "ok": 1.0,
        ]
    }

    /// The few serverStatus sections the jstests read about replication: `connections`, with
    /// `awaitingTopologyChanges` (`HelloMetrics`, the hellos waiting in `awaitHelloResponse`).
    private func serverStatus(_ member: Int) -> BSONDocument {
        let node = nodes[member]
        let counts = servers[member].connectionCounts
        let uptime = Date().timeIntervalSince(node.startedAt)
        return [
            "host": .string(node.host),
            "version": .string(options.serverVersion.versionString),
            "process": "mongod",
            "uptime": .double(uptime.rounded(.down)),
            "uptimeMillis": .int64(Int64(uptime * 1000)),
            "localTime": .datetime(Int64(Date().timeIntervalSince1970 * 1000)),
            "connections": ["current": .int32(Int32(counts.current)), "available": .int32(Int32(max(0, 838_860 - counts.current))),
                            "totalCreated": .int32(Int32(counts.totalCreated)),
                            "awaitingTopologyChanges": .int64(Int64(helloWaiters.values.filter { $0.member == member }.count))],
            "ok": 1.0,
        ]
    }

    // MARK: - replSetGetStatus, replSetGetConfig, replSetStepUp

    /// `TopologyCoordinator::prepareStatusResponse`.
    private func replSetGetStatus(_ member: Int) throws -> BSONDocument {
        try checkReplEnabled(member)
        let node = nodes[member]
        guard let config = node.config, let me = node.selfConfig else {
            throw CommandError(.invalidReplicaSetConfig, "Our replica set config is invalid or we are not a member of it")
        }
        let now = Date()
        func date(_ value: Date?) -> BSON { .datetime(Int64((value ?? Date(timeIntervalSince1970: 0)).timeIntervalSince1970 * 1000)) }
        func wall(_ millis: Int64) -> BSON { .datetime(millis) }
        // The sync source and election fields, the same for this member and the others.
        func syncSourceFields(_ host: String?) -> BSONDocument {
            ["syncSourceHost": .string(host ?? ""),
             "syncSourceId": .int32(host.flatMap(config.index(ofHost:)).map { Int32(config.members[$0].id) } ?? -1)]
        }
        func electionFields(_ time: OpTime?) -> BSONDocument {
            guard let time else { return [:] }
            return ["electionTime": .timestamp(seconds: time.seconds, increment: time.increment), "electionDate": time.date]
        }
        let syncSource = syncSourceFields(node.memberState == .secondary ? node.primaryHost : nil)

        var members: [(id: Int, document: BSONDocument)] = []
        for other in config.members {
            var entry: BSONDocument = ["_id": .int32(Int32(other.id)), "name": .string(other.host)]
            if node.isSelf(other.host) {
                entry.append("health", 1.0)
                entry.append("state", .int32(node.memberState.rawValue))
                entry.append("stateStr", .string(node.memberState.description))
                entry.append("uptime", .int32(Int32(now.timeIntervalSince(node.startedAt))))
                if !me.arbiterOnly {
                    entry.append("optime", node.lastApplied.document)
                    entry.append("optimeDate", node.lastApplied.date)
                    entry.append("lastAppliedWallTime", wall(node.storage.lastAppliedWallMillis))
                    entry.append("lastDurableWallTime", wall(node.storage.lastAppliedWallMillis))
                }
                entry.append(contentsOf: syncSource)
                entry.append("infoMessage", "")
                entry.append(contentsOf: electionFields(node.memberState == .primary ? node.electionTime : nil))
                entry.append("configVersion", Self.number(config.version))
                entry.append("configTerm", Self.number(config.term))
                entry.append("self", true)
                entry.append("lastHeartbeatMessage", "")
            } else {
                let peer = node.peers[other.host] ?? PeerData()
                entry.append("health", .double(peer.health))
                entry.append("state", .int32(peer.state.rawValue))
                entry.append("stateStr", .string(peer.health == 0 ? "(not reachable/healthy)" : peer.state.description))
                entry.append("uptime", .int32(Int32(peer.upSince.map { now.timeIntervalSince($0) } ?? 0)))
                if !other.arbiterOnly {
                    entry.append("optime", peer.applied.document)
                    entry.append("optimeDurable", peer.applied.document)
                    entry.append("optimeDate", peer.applied.date)
                    entry.append("optimeDurableDate", peer.applied.date)
                    entry.append("lastAppliedWallTime", wall(peer.appliedWallMillis))
                    entry.append("lastDurableWallTime", wall(peer.appliedWallMillis))
                }
                entry.append("lastHeartbeat", date(peer.lastHeartbeat))
                entry.append("lastHeartbeatRecv", date(peer.lastHeartbeatRecv))
                entry.append("pingMs", .int64(0))
                entry.append("lastHeartbeatMessage", .string(peer.lastHeartbeatMessage))
                entry.append(contentsOf: syncSourceFields(peer.state == .primary ? nil : peer.syncSource))
                entry.append("infoMessage", "")
                entry.append(contentsOf: electionFields(peer.state == .primary ? peer.electionTime : nil))
                entry.append("configVersion", Self.number(peer.configVersion))
                entry.append("configTerm", Self.number(peer.configTerm))
            }
            members.append((other.id, entry))
        }

        var optimes: BSONDocument = ["lastCommittedOpTime": node.lastCommitted.document,
                                     "lastCommittedWallTime": node.lastCommitted.date]
        if !node.lastCommitted.isNull { optimes.append("readConcernMajorityOpTime", node.lastCommitted.document) }
        optimes.append("appliedOpTime", node.lastApplied.document)
        optimes.append("durableOpTime", node.lastApplied.document)
        optimes.append("lastAppliedWallTime", wall(node.storage.lastAppliedWallMillis))
        optimes.append("lastDurableWallTime", wall(node.storage.lastAppliedWallMillis))

        var reply: BSONDocument = [
            "set": .string(config.name),
            "date": date(now),
            "myState": .int32(node.memberState.rawValue),
            "term": .int64(node.term),
        ]
        reply.append(contentsOf: syncSource)
        reply.append("heartbeatIntervalMillis", .int64(heartbeatInterval(member).wholeMilliseconds))
        reply.append("majorityVoteCount", .int32(Int32(config.majorityVoteCount)))
        reply.append("writeMajorityCount", .int32(Int32(config.writeMajority)))
        reply.append("votingMembersCount", .int32(Int32(config.totalVotingMembers)))
        reply.append("writableVotingMembersCount", .int32(Int32(config.writableVotingMembersCount)))
        reply.append("optimes", .document(optimes))
        if !node.lastCommitted.isNull {
            reply.append("lastStableRecoveryTimestamp", .timestamp(seconds: node.lastCommitted.seconds, increment: node.lastCommitted.increment))
        }
        // The members array is sorted by BSON order, which puts them in _id order.
        reply.append("members", .array(members.sorted { $0.id < $1.id }.map { .document($0.document) }))
        reply.append("ok", 1.0)
        return reply
    }

    /// `CmdReplSetGetConfig` and `processReplSetGetConfig`: newlyAdded is hidden, and
    /// commitmentStatus is answered only by a writable primary.
    private func replSetGetConfig(_ member: Int, _ command: BSONDocument) throws -> BSONDocument {
        try checkReplEnabled(member)
        guard let config = nodes[member].config else { throw CommandError(.notYetInitialized, "no replset config has been received") }
        let reader = IDLReader(structName: "replSetGetConfig", document: command)
        let wantsCommitmentStatus = try reader.safeBool("commitmentStatus") ?? false
        // `$_internalIncludeNewlyAdded`: mongod takes it only with test commands enabled, as the
        // jstests run it (rslib.js `isMemberNewlyAdded`); a simulated member always has them.
        let includeNewlyAdded = try reader.safeBool("$_internalIncludeNewlyAdded") ?? false
        var reply: BSONDocument = ["config": .document(config.document(includeNewlyAdded: includeNewlyAdded, dialect: options.serverVersion))]
        if wantsCommitmentStatus {
            guard nodes[member].isWritablePrimary else {
                throw CommandError(.notWritablePrimary, "commitmentStatus is only supported on primary.")
            }
            reply.append("commitmentStatus", .bool(isConfigReplicated(member) && isOplogCommitted(member)))
        }
        reply.append("ok", 1.0)
        return reply
    }

    /// `CmdReplSetStepDown` (repl_set_commands.cpp) and `ReplicationCoordinatorImpl::stepDown`
    /// (replication_coordinator_impl.cpp): a non-force step-down needs a caught-up electable
    /// secondary, then hands the election to it. Since 4.2 client connections stay open.
    private func replSetStepDown(_ member: Int, _ command: BSONDocument) async throws -> BSONDocument {
        try checkReplEnabled(member)
        let force = command["force"]?.isTruthy ?? false
        // `numberLong()`: any number, truncated; anything else counts as 0, the default.
        var period = command.elements.first?.value.doubleValue.map { Int(exactly: $0.rounded(.towardZero)) ?? Int.max } ?? 0
        if period == 0 {
            period = 60
        } else if period < 0 {
            throw CommandError(.badValue, "stepdown period must be a positive integer")
        }
        // `bsonExtractIntegerField` (bson_extract.cpp): a number with an exact integer value.
        var catchUp = force ? 0 : 10
        if let value = command["secondaryCatchUpPeriodSecs"] {
            guard let number = value.doubleValue else {
                throw CommandError(.typeMismatch, "Expected field \"secondaryCatchUpPeriodSecs\" to have numeric type, but found \(value.typeName)")
            }
            guard let exact = value.intValue else {
                throw CommandError(.badValue, "Expected field \"secondaryCatchUpPeriodSecs\" to have a value exactly representable as a 64-bit integer, but found secondaryCatchUpPeriodSecs: \(BSONText.render(value)) (\(number))")
            }
            catchUp = exact
        }
        if catchUp < 0 { throw CommandError(.badValue, "secondaryCatchUpPeriodSecs period must be a positive or absent") }
        if period < catchUp { throw CommandError(.badValue, "stepdown period must be longer than secondaryCatchUpPeriodSecs") }
        guard nodes[member].role == .leader else { throw CommandError(.notWritablePrimary, "not primary so can't step down") }
        // Wait up to secondaryCatchUpPeriodSecs for heartbeats showing a caught-up electable
        // secondary; without one, only force steps down.
        heartbeatRound(member)
        let term = nodes[member].term
        let found = await wait(until: .now + .seconds(catchUp)) { [self] in
            nodes[member].role != .leader || nodes[member].term != term || electionHandoffCandidate(member) != nil
        }
        guard nodes[member].role == .leader, nodes[member].term == term else {
            throw CommandError(.primarySteppedDown, "Primary stepped down while waiting for an electable secondary")
        }
        if !found && !force {
            throw CommandError(.exceededTimeLimit, "No electable secondaries caught up as of \(BSONText.isoDate(Date())). Please use the replSetStepDown command with the argument {force: true} to force node to step down.")
        }
        stepDownByRequest(member, period: .seconds(period))
        settle()
        return ["ok": 1.0]
    }

    /// `CmdReplSetFreeze` (repl_set_commands.cpp), `processReplSetFreeze` and
    /// `TopologyCoordinator::prepareFreezeResponse`: a follower will not stand for election for
    /// the given seconds (at least until any step-down period ends); 0 unfreezes, and a lone
    /// electable member elects itself at once.
    private func replSetFreeze(_ member: Int, _ command: BSONDocument) throws -> BSONDocument {
        try checkReplEnabled(member)
        // `safeNumberInt()`: numbers clamp to an int, anything else is 0.
        let seconds = command.elements.first?.value.doubleValue.map { Int(max(min($0.rounded(.towardZero), Double(Int32.max)), Double(Int32.min))) } ?? 0
        guard nodes[member].role == .follower else {
            let state = nodes[member].role == .leader ? "Primary" : "Running-Election"
            throw CommandError(.notSecondary, "Cannot freeze node when primary or running for election, state: \(state)")
        }
        var reply = BSONDocument()
        if seconds == 0 {
            nodes[member].stepDownUntil = .now
            reply.append("info", "unfreezing")
            startElection(member, reason: .singleNodePrompt)
        } else {
            if seconds == 1 { reply.append("warning", "you really want to freeze for only 1 second?") }
            let until = ContinuousClock.now + .seconds(seconds)
            nodes[member].stepDownUntil = max(nodes[member].stepDownUntil ?? until, until)
        }
        settle()
        reply.append("ok", 1.0)
        return reply
    }

    /// `setDefaultRWConcern` (`cluster_rw_concern_defaults.cpp`, `read_write_concern_defaults.cpp`):
    /// on the primary only; here the write concern part, which is what reconfigs look at. The
    /// stored default gets mongod's explicit `wtimeout: 0` (`WriteConcernOptions::toBSON`).
    private func setDefaultRWConcern(_ member: Int, _ command: BSONDocument) throws -> BSONDocument {
        try checkReplEnabled(member)
        guard nodes[member].role == .leader else { throw CommandError(.notWritablePrimary, "not primary") }
        guard command["defaultWriteConcern"] != nil || command["defaultReadConcern"] != nil else {
            throw CommandError(.badValue, "At least one of the \"defaultReadConcern\" or \"defaultWriteConcern\" fields must be present")
        }
        // A read concern default alone leaves the write concern default as it is.
        guard case .document(let writeConcern) = command["defaultWriteConcern"] else { return getDefaultRWConcern(member) }
        var stored: BSONDocument = [:]
        if let w = writeConcern["w"] { stored.append("w", w) }
        if let j = writeConcern["j"] { stored.append("j", j) }
        stored.append("wtimeout", .int32(Int32(clamping: writeConcern["wtimeout"]?.intValue ?? 0)))
        clusterWideWriteConcern = stored
        clusterWideWriteConcernDate = Date()
        return getDefaultRWConcern(member)
    }

    /// `getDefaultRWConcern`: the cluster-wide default if one was set, otherwise (5.0+) the
    /// implicit default {w: "majority", wtimeout: 0} when the config allows it, and nothing for a
    /// set whose arbiters could keep a primary that cannot acknowledge a majority write
    /// (`isImplicitDefaultWriteConcernMajority`; get_default_write_concern_majority.js). 4.4 has
    /// no implicit default, and no `...Source` fields.
    private func getDefaultRWConcern(_ member: Int) -> BSONDocument {
        let dialect = options.serverVersion
        var reply = BSONDocument()
        if dialect.hasImplicitMajorityWriteConcern { reply.append("defaultReadConcern", ["level": "local"]) }
        let implicitMajority = dialect.hasImplicitMajorityWriteConcern
            && (nodes[member].config?.isImplicitDefaultWriteConcernMajority ?? true)
        if let clusterWideWriteConcern {
            reply.append("defaultWriteConcern", .document(clusterWideWriteConcern))
        } else if implicitMajority {
            reply.append("defaultWriteConcern", ["w": "majority", "wtimeout": .int32(0)])
        }
        if let date = clusterWideWriteConcernDate {
            reply.append("updateWallClockTime", .datetime(Int64(date.timeIntervalSince1970 * 1000)))
        }
        if dialect.hasImplicitMajorityWriteConcern {
            reply.append("defaultWriteConcernSource", clusterWideWriteConcern == nil ? "implicit" : "global")
            reply.append("defaultReadConcernSource", "implicit")
        }
        reply.append("localUpdateWallClockTime", .datetime(Int64(Date().timeIntervalSince1970 * 1000)))
        reply.append("ok", 1.0)
        return reply
    }

    /// `stepUpIfEligible`: returns once the election is over; fails unless this node won it.
    private func replSetStepUp(_ member: Int, _ command: BSONDocument) throws -> BSONDocument {
        try checkReplEnabled(member)
        let skipDryRun = command["skipDryRun"]?.isTruthy ?? false
        startElection(member, reason: .stepUp(skipDryRun: skipDryRun))
        settle()
        guard nodes[member].memberState == .primary else { throw CommandError(.commandFailed, "Election failed.") }
        if nodes[member].isSteppingDown { throw CommandError(.commandFailed, "Election failed due to concurrent stepdown.") }
        return ["ok": 1.0]
    }
}
