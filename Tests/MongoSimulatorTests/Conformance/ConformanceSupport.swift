import Foundation
import MongoBSON
import MongoSimulator
import Testing
import TestSupport

// Support for the ported jstests (`jstests/replsets/*.js` in mongodb/mongo): each runs under a
// deadline against a fresh simulated set, and the simulator must come out of it answering.

/// Resumes a continuation once, from whichever task gets there first.
private final class FirstResult<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T?, Never>?

    init(_ continuation: CheckedContinuation<T?, Never>) { self.continuation = continuation }

    func resume(_ value: T?) {
        lock.lock()
        let taken = continuation
        continuation = nil
        lock.unlock()
        taken?.resume(returning: value)
    }
}

/// Runs `body` and returns its result, or nil when it has not finished after `limit` (it is then
/// left running: a hung simulator cannot be cancelled, only reported).
func finishing<T: Sendable>(within limit: Duration, _ body: @escaping @Sendable () async throws -> T) async -> Result<T, any Error>? {
    await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, any Error>?, Never>) in
        let first = FirstResult(continuation)
        let timer = Task {
            try? await Task.sleep(for: limit)
            first.resume(nil)
        }
        Task {
            do { first.resume(.success(try await body())) } catch { first.resume(.failure(error)) }
            timer.cancel()
        }
    }
}

/// One ported jstest: a simulated set of `members` (started), the body, then the check that every
/// member whose process runs still answers `ping` on a new connection. The whole case, shutdown
/// included, must finish within `deadline` ("every command is answered or its connection closed").
func conformance(_ members: [MemberSpec], options: SimulatorOptions = .fast, deadline: Duration = .seconds(30),
                 sourceLocation: SourceLocation = #_sourceLocation,
                 _ body: @escaping @Sendable (ReplicaSetSimulator) async throws -> Void) async throws {
    let simulator = try ReplicaSetSimulator(members: members, options: options)
    let outcome = await finishing(within: deadline) {
        try await simulator.start()
        try await body(simulator)
        // Quiet: no work that keeps setting off more work (a heartbeat storm between two sets
        // once kept the actor busy for ever).
        let before = await simulator.deferredWorkDone
        try await Task.sleep(for: .milliseconds(150))
        let busy = await simulator.deferredWorkDone - before
        #expect(busy < 1_200, "\(busy) work items in 150 ms after the case: the members keep each other busy", sourceLocation: sourceLocation)
        for member in await simulator.snapshot.members where member.isRunning && member.isListening {
            let pong = await WireClient(member.host, timeout: 3)?.message(["ping": 1, "$db": "admin"])
            #expect(pong?.document["ok"] == 1.0, "member \(member.index) did not answer ping after the case", sourceLocation: sourceLocation)
        }
    }
    switch outcome {
    case .none:
        Issue.record("the case did not finish within \(deadline): the simulator hung", sourceLocation: sourceLocation)
    case .failure(let error)?:
        await simulator.shutdown()
        throw error
    case .success?:
        let closed = await finishing(within: .seconds(5)) { await simulator.shutdown() }
        #expect(closed != nil, "shutdown hung", sourceLocation: sourceLocation)
    }
}

func conformance(members count: Int, options: SimulatorOptions = .fast, deadline: Duration = .seconds(30),
                 sourceLocation: SourceLocation = #_sourceLocation,
                 _ body: @escaping @Sendable (ReplicaSetSimulator) async throws -> Void) async throws {
    try await conformance(Array(repeating: MemberSpec(), count: count), options: options, deadline: deadline,
                          sourceLocation: sourceLocation, body)
}

extension SimulatorOptions {
    /// Fast timings in a given dialect.
    static func fast(_ version: ServerVersion) -> SimulatorOptions {
        SimulatorOptions(timings: .fast, serverVersion: version)
    }

    /// The fast timings with some of them longer, to hold a member in a state a jstest holds it in
    /// with a failpoint.
    static func fast(electionTimeout: Duration = .milliseconds(200), initialSync: Duration = .milliseconds(50),
                     drain: Duration = .milliseconds(2)) -> SimulatorOptions {
        SimulatorOptions(timings: SimulatorTimings(electionTimeout: electionTimeout, heartbeatInterval: .milliseconds(50),
                                                   initialSync: initialSync, recovering: .milliseconds(5), drain: drain))
    }

    /// `initiateWithHighElectionTimeout`: no member runs for election on its own, and a primary
    /// cut off from the others keeps its role for the length of a case.
    static var highElectionTimeout: SimulatorOptions { fast(electionTimeout: .seconds(20)) }
}

extension ReplicaSetSimulator {
    /// The answer to one command on a new raw connection (errors included, as mongod sent them).
    func reply(_ member: Int, _ command: BSONDocument) async -> BSONDocument? {
        var message = command
        message.append("$db", "admin")
        return await WireClient(hosts[member], timeout: 10)?.message(message)?.document
    }

    /// The member's `hello` (`isMaster` when `command` says so).
    func hello(_ member: Int, _ command: String = "hello") async -> BSONDocument {
        await reply(member, [command: 1]) ?? [:]
    }

    /// The index of the member that is a writable primary, waiting for one.
    func primaryIndex(timeout: Duration = .seconds(10)) async throws -> Int {
        try await waitUntil(timeout: timeout, "a writable primary") { $0.primary != nil }
        return snapshot.primary?.index ?? -1
    }

    /// Member 0 initiates a set of its own and elects itself.
    func initiateAlone() async throws {
        _ = try await client(0).run(["replSetInitiate": .document(configDocument([hosts[0]]))])
        try await waitUntil(timeout: .seconds(5), "member 0 primary") { $0[0].isWritablePrimary }
    }

    /// replSetGetConfig's `commitmentStatus` on the primary (rslib.js `isConfigCommitted`).
    func isConfigCommitted(_ member: Int) async -> Bool {
        await reply(member, ["replSetGetConfig": 1, "commitmentStatus": true])?["commitmentStatus"] == true
    }

    /// Waits until `count` awaitable hellos wait on the member (the `waitForHelloResponse`
    /// failpoint's role in the jstests), read from serverStatus like the jstests do.
    func waitForAwaitingHellos(_ member: Int, count: Int, timeout: Duration = .seconds(5)) async throws {
        let deadline = ContinuousClock.now + timeout
        while await awaitingTopologyChanges(member) != count {
            guard ContinuousClock.now < deadline else { throw SimulatorError.timedOut("\(count) hellos waiting on member \(member)") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// serverStatus' `connections.awaitingTopologyChanges`.
    func awaitingTopologyChanges(_ member: Int) async -> Int? {
        await reply(member, ["serverStatus": 1])?["connections"]?.documentValue?["awaitingTopologyChanges"]?.intValue
    }
}

/// A hello on its own connection, to be awaited later (the jstests' parallel shells).
struct PendingHello: Sendable {
    let task: Task<WireClient.Reply?, Never>

    /// Sends `{hello: 1, topologyVersion, maxAwaitTimeMS}` to the member.
    init(_ simulator: ReplicaSetSimulator, _ member: Int, topologyVersion: BSON, command: String = "hello",
         maxAwaitTimeMS: Int64 = 99_999_999) {
        let host = simulator.hosts[member]
        task = Task {
            guard let connection = WireClient(host, timeout: 20) else { return nil }
            return await connection.message([command: 1, "$db": "admin", "topologyVersion": topologyVersion,
                                             "maxAwaitTimeMS": .int64(maxAwaitTimeMS)])
        }
    }

    /// The reply, or nil when the connection was closed (a network error to the client).
    var reply: BSONDocument? {
        get async { await task.value?.document }
    }
}

/// A reply's errmsg ("" when there is none).
func errmsg(_ reply: BSONDocument?) -> String {
    reply?["errmsg"]?.stringValue ?? ""
}

extension BSONDocument {
    /// `topologyVersion.counter`.
    var topologyCounter: Int? { self["topologyVersion"]?.documentValue?["counter"]?.intValue }

    /// The members array of a config or status document.
    var membersArray: [BSONDocument] { (self["members"]?.arrayValue ?? []).compactMap(\.documentValue) }
}
