import Foundation
import MongoBSON
import Synchronization

/// What a scripted node answers when a case does not say otherwise: a mongod 7.0 member as the
/// tool expects it, either the primary of a one-member set `rs0` that already matches the run's
/// `--nodes` (the tool reads, writes nothing, exits 0) or a fresh `--replSet rs0` node (the tool
/// initiates it once, then it is that primary). Replies follow mongod's field names and BSON
/// types (`hello_response.cpp`, `repl_set_config.idl`, `member_config.idl`).
///
/// A case changes replies through tweaks (applied to every `hello` the tool sends, every config
/// served, every status) or answers a request itself with a hook.
final class MockMember: Sendable {
    enum Start: Sendable {
        case primary
        case fresh
    }

    typealias Tweak = @Sendable (_ document: inout BSONDocument, _ host: String) -> Void

    struct Tweaks: Sendable {
        /// Every hello reply to the tool's own `hello` (not libmongoc's handshake).
        var hello: Tweak?
        /// The config document, wherever it is served.
        var config: Tweak?
        /// The whole replSetGetConfig reply (`config`, `commitmentStatus`, `ok`).
        var configReply: Tweak?
        /// The whole replSetGetStatus reply.
        var status: Tweak?

        init(hello: Tweak? = nil, config: Tweak? = nil, configReply: Tweak? = nil, status: Tweak? = nil) {
            self.hello = hello
            self.config = config
            self.configReply = configReply
            self.status = status
        }
    }

    let host: String
    let tweaks: Tweaks
    let replicaSetId = ObjectId.generate()
    private let electionId = ObjectId.generate()

    private struct State {
        var initiated: Bool
        var members: [BSONDocument]
        var processId = ObjectId.generate()
        var counter: Int64 = 0
        /// Hellos answered so far: each reply's `connectionId`, as mongod numbers its connections.
        var connectionIds: Int32 = 0
    }

    private let state: Mutex<State>

    init(host: String, start: Start, tweaks: Tweaks = Tweaks()) {
        self.host = host
        self.tweaks = tweaks
        state = Mutex(State(initiated: start == .primary, members: [Self.member(id: 0, host: host)]))
    }

    var isInitiated: Bool { state.withLock { $0.initiated } }

    /// The member document mongod 7.0 stores for a member added with defaults.
    static func member(id: Int32, host: String, priority: Double = 1, votes: Int32 = 1) -> BSONDocument {
        ["_id": .int32(id), "host": .string(host), "arbiterOnly": false, "buildIndexes": true, "hidden": false,
         "priority": .double(priority), "tags": .document([:]), "secondaryDelaySecs": .int64(0), "votes": .int32(votes)]
    }

    /// The topology version of the node now.
    var topologyVersion: BSONDocument {
        state.withLock { ["processId": .objectId($0.processId), "counter": .int64($0.counter)] }
    }

    /// Marks a topology change (as mongod does on every state change): awaitable hellos return.
    func bumpTopologyVersion(newProcess: Bool = false) {
        state.withLock { state in
            if newProcess {
                state.processId = ObjectId.generate()
                state.counter = 0
            } else {
                state.counter += 1
            }
        }
    }

    // MARK: - Replies

    /// The config document as `replSetGetConfig` returns it, tweaks applied.
    var config: BSONDocument {
        let members = state.withLock { $0.members }
        var config: BSONDocument = [
            "_id": "rs0", "version": .int32(1), "term": .int64(1),
            "members": .array(members.map { .document($0) }),
            "protocolVersion": .int64(1), "writeConcernMajorityJournalDefault": true,
            "settings": .document([
                "chainingAllowed": true, "heartbeatIntervalMillis": .int32(2000), "heartbeatTimeoutSecs": .int32(10),
                "electionTimeoutMillis": .int32(10000), "catchUpTimeoutMillis": .int32(-1),
                "catchUpTakeoverDelayMillis": .int32(30000), "getLastErrorModes": .document([:]),
                "getLastErrorDefaults": ["w": .int32(1), "wtimeout": .int32(0)], "replicaSetId": .objectId(replicaSetId),
            ]),
        ]
        tweaks.config?(&config, host)
        return config
    }

    /// The node's hello. `legacy`: the `isMaster` spelling (`ismaster`). `tweaked`: with the
    /// case's hello tweak (the tool's own hellos; libmongoc's handshake stays sane).
    func hello(legacy: Bool, helloOk: Bool = false, tweaked: Bool = true) -> BSONDocument {
        let (initiated, connectionId) = state.withLock { state -> (Bool, Int32) in
            state.connectionIds += 1
            return (state.initiated, state.connectionIds)
        }
        var reply = BSONDocument()
        if helloOk { reply.append("helloOk", true) }
        reply.append("topologyVersion", .document(topologyVersion))
        let writable = legacy ? "ismaster" : "isWritablePrimary"
        if initiated {
            let config = self.config
            reply.append("hosts", .array([.string(host)]))
            // The config's name when it is one: a case about the config's _id type is about the
            // config (a hello setName of the wrong type is a hello case).
            reply.append("setName", config["_id"]?.stringValue.map(BSON.string) ?? "rs0")
            // setVersion is the config's version, whatever a case made of it.
            if let version = config["version"] { reply.append("setVersion", version) }
            reply.append(writable, true)
            reply.append("secondary", false)
            reply.append("primary", .string(host))
            reply.append("me", .string(host))
            reply.append("electionId", .objectId(electionId))
            let now = UInt32(Date().timeIntervalSince1970)
            let opTime: BSONDocument = ["ts": .timestamp(seconds: now, increment: 1), "t": .int64(1)]
            let date = BSON.datetime(Int64(now) * 1000)
            reply.append("lastWrite", ["opTime": .document(opTime), "lastWriteDate": date,
                                       "majorityOpTime": .document(opTime), "majorityWriteDate": date])
        } else {
            reply.append(writable, false)
            reply.append("secondary", false)
            reply.append("info", "Does not have a valid replica set config")
            reply.append("isreplicaset", true)
        }
        reply.append("maxBsonObjectSize", .int32(16 * 1024 * 1024))
        reply.append("maxMessageSizeBytes", .int32(48_000_000))
        reply.append("maxWriteBatchSize", .int32(100_000))
        reply.append("localTime", .datetime(Int64(Date().timeIntervalSince1970 * 1000)))
        reply.append("logicalSessionTimeoutMinutes", .int32(30))
        reply.append("connectionId", .int32(connectionId))
        reply.append("minWireVersion", .int32(0))
        reply.append("maxWireVersion", .int32(21))
        reply.append("readOnly", false)
        reply.append("ok", .double(1))
        if tweaked { tweaks.hello?(&reply, host) }
        return reply
    }

    /// The reply to the tool's hello, as the request spells it.
    func hello(for request: Request) -> BSONDocument {
        hello(legacy: request.name.lowercased() == "ismaster", helloOk: request.command["helloOk"] != nil, tweaked: !request.isHandshake)
    }

    func configReply(commitmentStatus: Bool) -> BSONDocument {
        var reply: BSONDocument = ["config": .document(config)]
        if commitmentStatus { reply.append("commitmentStatus", true) }
        reply.append("ok", .double(1))
        tweaks.configReply?(&reply, host)
        return reply
    }

    /// replSetGetStatus of the one-member set's primary (`ok: 1`).
    var statusReply: BSONDocument {
        let now = UInt32(Date().timeIntervalSince1970)
        let opTime: BSONDocument = ["ts": .timestamp(seconds: now, increment: 1), "t": .int64(1)]
        var reply: BSONDocument = [
            "set": "rs0", "date": .datetime(Int64(now) * 1000), "myState": .int32(1), "term": .int64(1),
            "heartbeatIntervalMillis": .int64(2000), "majorityVoteCount": .int32(1), "writeMajorityCount": .int32(1),
            "votingMembersCount": .int32(1), "writableVotingMembersCount": .int32(1),
            "members": [.document([
                "_id": .int32(0), "name": .string(host), "health": .double(1), "state": .int32(1), "stateStr": "PRIMARY",
                "uptime": .int32(100), "optime": .document(opTime), "optimeDate": .datetime(Int64(now) * 1000),
                "configVersion": .int32(1), "configTerm": .int64(1), "self": true, "lastHeartbeatMessage": "",
            ])],
            "ok": .double(1),
        ]
        tweaks.status?(&reply, host)
        return reply
    }

    static func error(_ code: Int32, _ codeName: String, _ message: String) -> BSONDocument {
        ["ok": .double(0), "errmsg": .string(message), "code": .int32(code), "codeName": .string(codeName)]
    }

    // MARK: - Answering

    /// What mongod would answer.
    func answer(_ request: Request) -> Answer {
        if request.isHandshake || request.isToolHello {
            if request.isAwaitableHello, let version = request.command["topologyVersion"]?.documentValue,
               version == topologyVersion {
                // Awaitable hello (MongoDB 4.4+): nothing changed, so wait up to maxAwaitTimeMS.
                let limit = Duration.milliseconds(request.command["maxAwaitTimeMS"]?.intValue ?? 10_000)
                return .waitFor(limit: limit, condition: { [self] in topologyVersion != version },
                                then: { [self] in .document(hello(for: request)) })
            }
            return .document(hello(for: request))
        }
        switch request.name {
        case "replSetGetConfig":
            guard isInitiated else { return .document(Self.error(94, "NotYetInitialized", "no replset config has been received")) }
            return .document(configReply(commitmentStatus: request.command["commitmentStatus"]?.boolValue == true))
        case "replSetGetStatus":
            guard isInitiated else { return .document(Self.error(94, "NotYetInitialized", "no replset config has been received")) }
            return .document(statusReply)
        case "replSetInitiate":
            guard !isInitiated else { return .document(Self.error(23, "AlreadyInitialized", "already initialized")) }
            let members = request.command["replSetInitiate"]?.documentValue?["members"]?.arrayValue?.compactMap(\.documentValue)
            state.withLock { state in
                state.initiated = true
                if let members, !members.isEmpty { state.members = members }
            }
            bumpTopologyVersion()
            return .document(["ok": .double(1)])
        case "replSetReconfig", "replSetStepUp", "replSetStepDown":
            // Writes are what every case checks for; a plain refusal keeps the run going so
            // the count shows how often the tool tried.
            return .document(Self.error(8, "UnknownError", "this test node takes no writes"))
        case "ping", "endSessions", "buildInfo", "buildinfo", "getParameter":
            return .document(["ok": .double(1)])
        default:
            return .document(Self.error(59, "CommandNotFound", "no such command: '\(request.name)'"))
        }
    }
}
