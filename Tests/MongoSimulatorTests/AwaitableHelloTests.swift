import CMongoc
import Foundation
import MongoBSON
import MongoSimulator
import Testing
import TestSupport

/// The awaitable hello protocol (`awaitHelloResponse`; the SDAM server-monitoring spec).
@Suite("awaitable hello")
struct AwaitableHelloTests {
    func topologyVersion(_ reply: WireClient.Reply?) -> BSONDocument? {
        reply?.document["topologyVersion"]?.documentValue
    }

    @Test("a current topologyVersion waits, and the reply comes on a state change, not at maxAwaitTimeMS")
    func repliesOnChange() async throws {
        try await withSimulator(members: 1) { simulator in
            let connection = try #require(WireClient(simulator.hosts[0], timeout: 10))
            let first = try #require(topologyVersion(await connection.message(["hello": 1, "$db": "admin"])))
            // A minute's wait, longer than the client waits (10 s): a reply at all is one the
            // change brought, however busy the machine (alone it takes milliseconds).
            async let awaited = connection.message(["hello": 1, "$db": "admin", "topologyVersion": .document(first), "maxAwaitTimeMS": .int64(60_000)])
            try await waitForCommand(simulator, "hello", count: 2)
            #expect(try await simulator.client(0).run(["replSetInitiate": 1])["ok"] == 1.0)
            let reply = try #require(await awaited, "no reply within the client's 10 s")
            let version = try #require(topologyVersion(reply))
            #expect(version["processId"] == first["processId"])
            #expect((version["counter"]?.intValue ?? 0) > 0)
            #expect(reply.document["setName"] == "rs0")
        }
    }

    @Test("without a change, the reply comes after maxAwaitTimeMS")
    func waitsForMaxAwaitTime() async throws {
        try await withSimulator(members: 1) { simulator in
            let connection = try #require(WireClient(simulator.hosts[0], timeout: 10))
            let version = try #require(topologyVersion(await connection.message(["hello": 1, "$db": "admin"])))
            let start = ContinuousClock.now
            let reply = await connection.message(["hello": 1, "$db": "admin", "topologyVersion": .document(version), "maxAwaitTimeMS": .int64(300)])
            let waited = start.duration(to: .now)
            #expect(reply?.document["ok"] == 1.0)
            #expect(topologyVersion(reply) == version)
            // Not before maxAwaitTimeMS; a reply that never comes fails at the client's 10 s.
            #expect(waited >= .milliseconds(300), "\(waited)")
        }
    }

    @Test("another processId or an older counter: answered at once")
    func staleVersions() async throws {
        try await withSimulator(members: 1) { simulator in
            let connection = try #require(WireClient(simulator.hosts[0], timeout: 10))
            // maxAwaitTimeMS a minute, longer than the client waits (10 s): a reply is an answer at once.
            for version: BSONDocument in [["processId": .objectId(ObjectId.generate()), "counter": .int64(0)]] {
                let reply = await connection.message(["hello": 1, "$db": "admin", "topologyVersion": .document(version), "maxAwaitTimeMS": .int64(60_000)])
                #expect(reply?.document["ok"] == 1.0)
            }
            _ = try await simulator.client(0).run(["replSetInitiate": 1])
            let current = try #require(topologyVersion(await connection.message(["hello": 1, "$db": "admin"])))
            var older = current
            older["counter"] = .int64(0)
            let reply = await connection.message(["hello": 1, "$db": "admin", "topologyVersion": .document(older), "maxAwaitTimeMS": .int64(60_000)])
            #expect(reply?.document["ok"] == 1.0)
        }
    }

    @Test("libmongoc's pooled client monitors with awaitable hello and does not busy-loop")
    func pooledClient() async throws {
        try await withSimulator(members: 1) { simulator in
            let host = simulator.hosts[0]
            let ok = await offload { MongocClient.withPool(host) { client in
                let ping = BSONBuffer(["ping": 1])
                let reply = BSONBuffer()
                var error = bson_error_t()
                let ok = ping.withPointer { command in
                    reply.withReplyPointer { mongoc_client_command_simple(client, "admin", command, nil, $0, &error) }
                }
                Thread.sleep(forTimeInterval: 1.5)
                return ok
            } }
            #expect(ok)
            let hellos = await simulator.commands.filter { $0.name == "hello" || $0.name == "isMaster" }
            let awaitable = hellos.filter { $0.document["topologyVersion"] != nil }
            #expect(!awaitable.isEmpty, "the monitor never sent an awaitable hello")
            #expect(awaitable.allSatisfy { $0.document["maxAwaitTimeMS"] != nil })
            #expect(hellos.count < 10, "\(hellos.count) hellos in 1.5 s")
        }
    }

    @Test("errors: topologyVersion without maxAwaitTimeMS (31368), a counter from the future (31382)")
    func errors() async throws {
        try await withSimulator(members: 1) { simulator in
            let connection = try #require(WireClient(simulator.hosts[0], timeout: 10))
            let version = try #require(topologyVersion(await connection.message(["hello": 1, "$db": "admin"])))
            let missing = await connection.message(["hello": 1, "$db": "admin", "topologyVersion": .document(version)])
            #expect(missing?.document["code"] == .int32(31368))
            #expect(missing?.document["codeName"] == "Location31368")
            #expect(missing?.document["errmsg"] == "A request with a 'topologyVersion' must include 'maxAwaitTimeMS'")
            let alone = await connection.message(["hello": 1, "$db": "admin", "maxAwaitTimeMS": .int64(10)])
            #expect(alone?.document["errmsg"] == "A request with 'maxAwaitTimeMS' must include a 'topologyVersion'")
            var future = version
            future["counter"] = .int64(99)
            let ahead = await connection.message(["hello": 1, "$db": "admin", "topologyVersion": .document(future), "maxAwaitTimeMS": .int64(10)])
            #expect(ahead?.document["code"] == .int32(31382))
            #expect(ahead?.document["errmsg"] == "Received a topology version with counter: 99 which is greater than the server topology version counter: 0")
        }
    }

    @Test("a member that becomes REMOVED closes its client connections: a hello waiting on it fails as a network error")
    func removedClosesConnections() async throws {
        try await withSimulator(members: 3) { simulator in
            try await simulator.initiateSet()
            let version = try await HelloConformanceTests.settledTopologyVersion(simulator, 2)
            let waiting = PendingHello(simulator, 2, topologyVersion: version)
            try await simulator.waitForAwaitingHellos(2, count: 1)
            let smaller = configDocument(Array(simulator.hosts.prefix(2)), version: 2)
            _ = try await simulator.client(0).run(["replSetReconfig": .document(smaller), "maxTimeMS": 5000])
            #expect(await waiting.reply == nil)
            try await simulator.waitUntil(timeout: .seconds(5), "member 2 REMOVED") { $0[2].state == .removed }
            #expect(await simulator.reply(2, ["ping": 1])?["ok"] == 1.0)
        }
    }
}
