import CMongoc
import Foundation
import MongoBSON
import Testing

/// The `mongo-sim` executable as a script or a person runs it.
@Suite("mongo-sim")
struct MongoSimCommandTests {
    @Test("--help documents every option")
    func help() async throws {
        let output = try await ChildProcess(ChildProcess.mongoSim, ["--help"]).finish()
        #expect(output.exitCode == 0)
        for option in ["--members", "--set-name", "--port", "--address-block", "--election-timeout-ms", "--heartbeat-interval-ms",
                       "--initial-sync-ms", "--drain-ms", "--server-version", "--initiated", "--late", "--other-set", "--standalone",
                       "--slow", "--log", "--auth-user", "--x509-user", "--tls-certificate-key-file", "--tls-ca-file"] {
            #expect(output.stdout.contains(option), "\(option) is not documented")
        }
    }

    @Test("prints the addresses, then ready; a late member listens later; SIGINT stops it cleanly")
    func lateMemberAndSignal() async throws {
        let sim = try await ChildProcess(ChildProcess.mongoSim, ["--members", "3", "--set-name", "demo", "--late", "2:5",
                                                            "--other-set", "1:elsewhere", "--log"])
        let hosts = await sim.lines(until: "ready")
        #expect(hosts.count == 3)
        #expect(Set(hosts.map { $0.split(separator: ".").prefix(3).joined(separator: ".") }).count == 1)
        let late = await MongocClient(hosts[2]).failure(["ping": 1])
        #expect(late?.message.contains("connection refused") == true)
        let fresh = try await MongocClient(hosts[0]).run(["hello": 1])
        #expect(fresh["isreplicaset"] == true)
        let other = try await MongocClient(hosts[1]).run(["hello": 1])
        #expect(other["setName"] == "elsewhere")
        // Listening about 5 s after "ready": long enough that the refusal above is seen first on a
        // busy machine.
        let deadline = ContinuousClock.now + .seconds(30)
        var listening = false
        while !listening && ContinuousClock.now < deadline {
            listening = await MongocClient(hosts[2]).failure(["ping": 1]) == nil
            if !listening { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(listening)
        sim.signal(SIGINT)
        let exit = await sim.finish()
        #expect(exit.exitCode == 0)
        #expect(exit.stderr.contains(#""event":"startedListening""#))
        #expect(exit.stderr.contains(#""command":{ "hello" : 1"#))
    }

    @Test("--auth-user: commands need that user's credentials and role")
    func authUser() async throws {
        let sim = try await ChildProcess(ChildProcess.mongoSim, ["--members", "1", "--auth-user", "ops:s3cret:clusterMonitor"])
        let hosts = await sim.lines(until: "ready")
        let anonymous = await MongocClient(hosts[0]).failure(["replSetGetStatus": 1])
        #expect(anonymous?.reply["errmsg"] == "Command replSetGetStatus requires authentication")
        let ops = MongocClient(hosts[0]) { uri in
            mongoc_uri_set_username(uri, "ops")
            mongoc_uri_set_password(uri, "s3cret")
        }
        #expect(await ops.failure(["replSetGetStatus": 1])?.reply["code"] == .int32(94))
        #expect(await ops.failure(["replSetInitiate": .document(configDocument(hosts))])?.reply["code"] == .int32(13))
        sim.signal(SIGINT)
        #expect(await sim.finish().exitCode == 0)
    }

    @Test("bad arguments are refused with a message")
    func badArguments() async throws {
        let output = try await ChildProcess(ChildProcess.mongoSim, ["--members", "2", "--late", "5:1"]).finish()
        #expect(output.exitCode != 0)
        #expect(output.stderr.contains("member 5 does not exist"))
    }

    @Test("--server-version picks the dialect (4.4 is isMaster-only, wire version 9); an unknown one is refused naming the choices")
    func serverVersion() async throws {
        let sim = try await ChildProcess(ChildProcess.mongoSim, ["--members", "1", "--server-version", "4.4"])
        let hosts = await sim.lines(until: "ready")
        let hello = try await MongocClient(hosts[0]).run(["isMaster": 1])
        #expect(hello["maxWireVersion"] == .int32(9))
        #expect(await MongocClient(hosts[0]).failure(["hello": 1])?.reply["code"] == .int32(59))
        sim.signal(SIGINT)
        #expect(await sim.finish().exitCode == 0)
        let refused = try await ChildProcess(ChildProcess.mongoSim, ["--server-version", "3.6"]).finish()
        #expect(refused.exitCode != 0)
        #expect(refused.stderr.contains("--server-version must be one of 4.4, 5.0, 6.0, 7.0, 8.0"))
    }
}
