import CMongoc
import MongoBSON
import TestSupport
import Testing
@testable import ReplicaSetBootstrap

/// The driver's classification of libmongoc's own errors, produced by the real client.
@Suite("Driver: libmongoc errors")
struct DriverErrorTests {
    @Test("connection refused on a closed loopback port: a retriable error naming the host")
    func connectionRefused() throws {
        let port = try SilentListener.closedPort()
        let host = HostAddress(host: "127.0.0.1", port: Int(port))
        let client = try MongoClient(host: host, connectTimeout: .seconds(1), socketTimeout: .seconds(1))
        let error = #expect(throws: MongoError.self) { try client.runCommand(["hello": 1]) }
        #expect(error?.kind == .connectionRefused)
        #expect(error?.host == host)
        #expect(error?.message == "connection refused")
        #expect(error?.isRetriable == true)
        #expect(error?.description == "127.0.0.1:\(port): connection refused")
    }

    @Test("an address that is not a plain host:port never reaches a connection string, nor the network",
          arguments: ["127.0.0.1/?authMechanism=PLAIN&x=", "x@127.0.0.1", "127.0.0.1,127.0.0.2", "127.0.0.1/admin", "127.0.0.1?tls=true"])
    func onlyPlainHosts(host: String) throws {
        let listener = try SilentListener()
        let address = HostAddress(host: host, port: Int(listener.port))
        let error = #expect(throws: MongoError.self) {
            try MongoClient(host: address, connectTimeout: .seconds(1), socketTimeout: .seconds(1),
                            credentials: Credentials(username: "admin", password: Secret("hunter2"), source: "admin", mechanism: nil))
        }
        #expect(error?.kind == .client)
        #expect(error?.message.contains("not a plain host:port") == true)
        #expect(error?.isRetriable == false)
        #expect(!listener.wasContacted)
    }

    @Test("a name that does not resolve: retriable, and says so")
    func nameNotResolved() throws {
        let host = HostAddress(host: "db-9.bootstrap-test.invalid")
        let client = try MongoClient(host: host, connectTimeout: .seconds(2), socketTimeout: .seconds(2))
        let error = #expect(throws: MongoError.self) { try client.runCommand(["hello": 1]) }
        #expect(error?.kind == .nameNotResolved)
        #expect(error?.message.contains("name does not resolve") == true)
        #expect(error?.isRetriable == true)
    }

    /// With credentials the command connection is a libmongoc client.
    static let withCredentials = Credentials(username: "user", password: Secret("pencil"), source: "admin", mechanism: nil)

    @Test("after a network error the next call uses a new client, not libmongoc's 5 s cooldown")
    func noCooldownAfterFailure() async throws {
        let port = try SilentListener.closedPort()
        let host = HostAddress(host: "127.0.0.1", port: Int(port))
        let options = ConnectionOptions(connectTimeout: .milliseconds(300), commandTimeout: .seconds(1), credentials: Self.withCredentials)
        let nodes = MongocNodes(hosts: [host], options: options, maxAwaitTime: .seconds(1))
        let first = await #expect(throws: MongoError.self) { try await nodes.run(.getConfig, on: host) }
        #expect(first?.kind == .connectionRefused)
        // Something listens now (and never answers): a reused client would fail at once with
        // "No servers yet eligible for rescan" without connecting.
        let listener = try SilentListener(port: port)
        let second = await #expect(throws: MongoError.self) { try await nodes.run(.getConfig, on: host) }
        #expect(second?.message.contains("eligible for rescan") == false)
        #expect(listener.wasContacted)
    }

    @Test("a call waiting on a silent node returns as soon as its task is cancelled: in libmongoc, or on a plain socket",
          arguments: [Self.withCredentials, nil])
    func cancellation(credentials: Credentials?) async throws {
        let listener = try SilentListener()
        let host = HostAddress(host: "127.0.0.1", port: Int(listener.port))
        let options = ConnectionOptions(connectTimeout: .seconds(20), commandTimeout: .seconds(20), credentials: credentials)
        let nodes = MongocNodes(hosts: [host], options: options, maxAwaitTime: .seconds(20))
        let call = Task { try await nodes.run(.getConfig, on: host) }
        try await Task.sleep(for: .milliseconds(100))
        call.cancel()
        // The cancellation's own answer, not libmongoc's (which would take the 20 s timeout):
        // asserted by what came back, not by a wall-clock bound, so the suite may run in parallel.
        let result = await call.result
        #expect(throws: MongoError(.client, host: host, message: "cancelled")) { try result.get() }
        withExtendedLifetime(listener) {}
    }

    @Test("a node that accepts and says nothing fails a new connection's first hello after connectTimeout, as libmongoc's handshake",
          arguments: [NodeCommand.awaitHello(nil, maxAwait: .seconds(60)), .hello])
    func silentNodeFirstHello(_ command: NodeCommand) async throws {
        let listener = try SilentListener()
        let host = HostAddress(host: "127.0.0.1", port: Int(listener.port))
        let options = ConnectionOptions(connectTimeout: .milliseconds(300), commandTimeout: .seconds(60))
        let nodes = MongocNodes(hosts: [host], options: options, maxAwaitTime: .seconds(60))
        let started = ContinuousClock.now
        let error = await #expect(throws: MongoError.self) { try await nodes.run(command, on: host) }
        #expect(error?.kind == .networkFailure)
        #expect(error?.message == "socket timeout")
        // connectTimeoutMS, where the awaitable hello's own timeout would be 65 s and the command
        // connection's 60 s. The bound only tells them apart.
        #expect(ContinuousClock.now - started < .seconds(30))
        #expect(listener.wasContacted)
    }

    @Test("a connect that times out moves on to the node's next address, as libmongoc does")
    func nextAddressAfterConnectTimeout() async throws {
        let unresponsive = try SilentListener.unresponsive()
        let silent = try SilentListener()
        let host = HostAddress(host: "127.0.0.1", port: Int(unresponsive.port))
        let first = try #require(SocketAddress.numeric(host))
        let second = try #require(SocketAddress.numeric(HostAddress(host: "127.0.0.1", port: Int(silent.port))))
        let plain = PlainConnections(connectTimeout: .milliseconds(200))
        defer { _ = plain.close(within: .seconds(1)) }
        func hello(_ addresses: [SocketAddress]) async -> Result<UnreadReply, MongoError> {
            await withCheckedContinuation { continuation in
                plain.start(["hello": 1], to: host, on: .monitor, socketTimeout: .milliseconds(300), addresses: addresses) {
                    continuation.resume(returning: $0)
                }
            }
        }
        // The only address never answers the SYN: the connect's own timeout.
        let alone = await hello(first)
        #expect(throws: MongoError(.networkFailure, host: host, message: "connection timeout", command: "hello")) { try alone.get() }
        // With a second address, past the first one's timeout the second accepts (and then says nothing).
        let both = await hello(first + second)
        #expect(throws: MongoError(.networkFailure, host: host, message: "socket timeout", command: "hello")) { try both.get() }
        #expect(silent.wasContacted)
    }

    @Test("server errors keep mongod's code, codeName and errmsg (error API v2)")
    func serverError() {
        var error = bson_error_t()
        error.domain = UInt32(MONGOC_ERROR_SERVER.rawValue)
        error.code = 94
        let reply: BSONDocument = ["ok": .double(0), "errmsg": "no replset config has been received", "code": 94, "codeName": "NotYetInitialized"]
        let mapped = MongoError(error, reply: reply, host: a)
        #expect(mapped.kind == .server(code: 94, codeName: "NotYetInitialized"))
        #expect(mapped.message == "no replset config has been received")
        #expect(mapped.hasCode(.notYetInitialized))
    }
}
