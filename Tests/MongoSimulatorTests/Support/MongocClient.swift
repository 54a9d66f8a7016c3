import CMongoc
import Foundation
import MongoBSON
import MongoSimulator
import TestSupport

/// What libmongoc reports for a failed command.
struct MongocFailure: Error, CustomStringConvertible {
    var domain: UInt32
    var code: UInt32
    var message: String
    /// The server's reply document (empty when no server answered).
    var reply: BSONDocument

    var isServerError: Bool { domain == MONGOC_ERROR_SERVER.rawValue }
    var codeName: String? { reply["codeName"]?.stringValue }
    var description: String { "mongoc error \(domain).\(code): \(message)" }
}

/// The real libmongoc 1.23 client, the way the bootstrap tool talks to a node: one
/// single-threaded client per host, `directConnection=true`, error API v2.
final class MongocClient: @unchecked Sendable {
    private static let initialized: Void = mongoc_init()
    private let client: OpaquePointer
    private let lock = NSLock()

    /// `configure` sets more URI fields (credentials, TLS options) before the client is made.
    init(_ host: String, serverSelectionTimeoutMS: Int32 = 1500, configure: (OpaquePointer) -> Void = { _ in }) {
        _ = Self.initialized
        let (name, port) = Self.split(host)
        let uri = mongoc_uri_new_for_host_port(name, port)!
        defer { mongoc_uri_destroy(uri) }
        configure(uri)
        mongoc_uri_set_option_as_bool(uri, MONGOC_URI_DIRECTCONNECTION, true)
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, serverSelectionTimeoutMS)
        // Generous: the simulator answers from a concurrency pool that parallel tests keep busy.
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_CONNECTTIMEOUTMS, 5000)
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SOCKETTIMEOUTMS, 10000)
        client = mongoc_client_new_from_uri(uri)!
        mongoc_client_set_error_api(client, 2)
    }

    deinit {
        // Destroying may talk to the server (endSessions): not on the cooperative pool.
        nonisolated(unsafe) let client = client
        Thread.detachNewThread { mongoc_client_destroy(client) }
    }

    /// Runs the body with a client popped from a `mongoc_client_pool_t` (whose background
    /// monitor uses awaitable hello), then destroys the pool. Blocking: call it from `offload`.
    static func withPool<T>(_ host: String, _ body: (OpaquePointer) -> T) -> T {
        _ = initialized
        let (name, port) = split(host)
        let uri = mongoc_uri_new_for_host_port(name, port)!
        defer { mongoc_uri_destroy(uri) }
        mongoc_uri_set_option_as_bool(uri, MONGOC_URI_DIRECTCONNECTION, true)
        let pool = mongoc_client_pool_new(uri)!
        defer { mongoc_client_pool_destroy(pool) }
        mongoc_client_pool_set_error_api(pool, 2)
        let client = mongoc_client_pool_pop(pool)!
        defer { mongoc_client_pool_push(pool, client) }
        return body(client)
    }

    static func split(_ host: String) -> (String, UInt16) {
        let parts = host.split(separator: ":")
        return (String(parts[0]), UInt16(parts[1]) ?? 27017)
    }

    /// `mongoc_client_command_simple` on a thread of its own.
    func command(_ command: BSONDocument, database: String = "admin") async -> Result<BSONDocument, MongocFailure> {
        await offload { self.runCommand(command, database: database) }
    }

    /// Runs the command and returns the reply, or throws the libmongoc error.
    func run(_ command: BSONDocument, database: String = "admin") async throws -> BSONDocument {
        try await self.command(command, database: database).get()
    }

    /// Runs a command that must fail and returns the failure.
    func failure(_ command: BSONDocument, database: String = "admin") async -> MongocFailure? {
        if case .failure(let failure) = await self.command(command, database: database) { return failure }
        return nil
    }

    private func runCommand(_ command: BSONDocument, database: String) -> Result<BSONDocument, MongocFailure> {
        lock.lock()
        defer { lock.unlock() }
        let request = BSONBuffer(command)
        let reply = BSONBuffer()
        var error = bson_error_t()
        let ok = request.withPointer { pointer in
            reply.withReplyPointer { replyPointer in
                mongoc_client_command_simple(client, database, pointer, nil, replyPointer, &error)
            }
        }
        let document = (try? reply.document()) ?? [:]
        if ok { return .success(document) }
        let message = withUnsafeBytes(of: &error.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return .failure(MongocFailure(domain: error.domain, code: error.code, message: message, reply: document))
    }
}

extension ReplicaSetSimulator {
    /// A libmongoc client for member `index`.
    nonisolated func client(_ index: Int) -> MongocClient { MongocClient(hosts[index]) }
}

extension SimulatorOptions {
    /// Fast timings for tests.
    static var fast: SimulatorOptions { SimulatorOptions(timings: .fast) }
}

/// A config document for the given hosts.
func configDocument(_ hosts: [String], setName: String = "rs0", version: Int32 = 1,
                    member: (Int, inout BSONDocument) -> Void = { _, _ in }) -> BSONDocument {
    let members: [BSON] = hosts.enumerated().map { index, host in
        var document: BSONDocument = ["_id": .int32(Int32(index)), "host": .string(host)]
        member(index, &document)
        return .document(document)
    }
    return ["_id": .string(setName), "version": .int32(version), "members": .array(members)]
}

/// Runs the body against a simulated set that is shut down afterwards, whatever happens.
func withSimulator<T>(_ members: [MemberSpec], options: SimulatorOptions = .fast, start: Bool = true,
                      _ body: (ReplicaSetSimulator) async throws -> T) async throws -> T {
    try await ReplicaSetSimulator.run(members, options: options, start: start, body)
}

func withSimulator<T>(members count: Int, options: SimulatorOptions = .fast, start: Bool = true,
                      _ body: (ReplicaSetSimulator) async throws -> T) async throws -> T {
    try await withSimulator(Array(repeating: MemberSpec(), count: count), options: options, start: start, body)
}

/// Polls until a member has received `count` commands called `name` (a command runs up to its
/// first wait in the same actor turn it is recorded in).
func waitForCommand(_ simulator: ReplicaSetSimulator, _ name: String, count: Int = 1, timeout: Duration = .seconds(5)) async throws {
    let deadline = ContinuousClock.now + timeout
    while await simulator.commands.filter({ $0.name == name }).count < count {
        guard ContinuousClock.now < deadline else { throw SimulatorError.timedOut("\(name) to arrive") }
        try await Task.sleep(for: .milliseconds(5))
    }
}
