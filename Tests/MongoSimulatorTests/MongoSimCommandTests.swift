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
                       "--slow", "--log"] {
            #expect(output.stdout.contains(option), "\(option) is not documented")
        }
    }

    @Test("prints the addresses, then ready; a late member listens later; SIGINT stops it cleanly")
    func lateMemberAndSignal() async throws {
        let sim = try ChildProcess(ChildProcess.mongoSim, ["--members", "3", "--set-name", "demo", "--late", "2:0.5",
                                                            "--other-set", "1:elsewhere", "--log"])
        let hosts = await sim.lines(until: "ready")
        #expect(hosts.count == 3)
        #expect(Set(hosts.map { $0.split(separator: ".").prefix(3).joined(separator: ".") }).count == 1)
        let fresh = try await MongocClient(hosts[0]).run(["hello": 1])
        #expect(fresh["isreplicaset"] == true)
        let other = try await MongocClient(hosts[1]).run(["hello": 1])
        #expect(other["setName"] == "elsewhere")
        let late = await MongocClient(hosts[2]).failure(["ping": 1])
        #expect(late?.message.contains("connection refused") == true)
        try await Task.sleep(for: .milliseconds(800))
        let listening = try await MongocClient(hosts[2]).run(["ping": 1])
        #expect(listening["ok"] == 1.0)
        sim.signal(SIGINT)
        let exit = await sim.finish()
        #expect(exit.exitCode == 0)
        #expect(exit.stderr.contains(#""event":"startedListening""#))
        #expect(exit.stderr.contains(#""command":{ "hello" : 1"#))
    }

    @Test("bad arguments are refused with a message")
    func badArguments() async throws {
        let output = try await ChildProcess(ChildProcess.mongoSim, ["--members", "2", "--late", "5:1"]).finish()
        #expect(output.exitCode != 0)
        #expect(output.stderr.contains("member 5 does not exist"))
    }
}
