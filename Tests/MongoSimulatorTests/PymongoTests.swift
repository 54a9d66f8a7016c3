import Foundation
import MongoSimulator
import Testing

/// What pymongo (Debian's python3-pymongo 3.11) sees: the replies a real mongod gives for these
/// commands, with their fields, BSON types, codes, codeNames and messages.
@Suite("pymongo")
struct PymongoTests {
    /// Checks a fresh set through pymongo with `directConnection=True`; prints each mismatch.
    static let freshSetScript = #"""
import sys, time
import pymongo
from bson.int64 import Int64
from bson.objectid import ObjectId
from bson.timestamp import Timestamp
from pymongo.errors import NotMasterError, OperationFailure

hosts = sys.argv[1:]
problems = []
def check(condition, what):
    if not condition:
        problems.append(what)
def client(host):
    return pymongo.MongoClient(host, directConnection=True, serverSelectionTimeoutMS=3000)
def expect_error(c, command, code, code_name, message):
    try:
        c.admin.command(command)
        problems.append("%r succeeded" % (command,))
    except (OperationFailure, NotMasterError) as e:
        # Like mongod's, a NotWritablePrimary reply is a NotMasterError to pymongo.
        check(e.details.get("code") == code, "%r: code %r" % (command, e.details.get("code")))
        check(e.details.get("codeName") == code_name, "%r: codeName %r" % (command, e.details.get("codeName")))
        check(e.details.get("errmsg") == message, "%r: errmsg %r" % (command, e.details.get("errmsg")))

first = client(hosts[0])
hello = first.admin.command("hello")
check(hello["isWritablePrimary"] is False and hello["secondary"] is False, "fresh hello roles")
check(hello["info"] == "Does not have a valid replica set config", "fresh hello info")
check(hello["isreplicaset"] is True, "isreplicaset")
check(type(hello["maxWireVersion"]) is int and hello["maxWireVersion"] == 21, "maxWireVersion")
check(isinstance(hello["topologyVersion"]["processId"], ObjectId), "processId type")
check(type(hello["topologyVersion"]["counter"]) is Int64, "counter type")
check("setName" not in hello, "no setName before initiate")

expect_error(first, "replSetGetStatus", 94, "NotYetInitialized", "no replset config has been received")
expect_error(first, "frobnicate", 59, "CommandNotFound", "no such command: 'frobnicate'")
members = [{"_id": i, "host": h} for i, h in enumerate(hosts)]
expect_error(first, {"replSetInitiate": {"_id": "rs0", "version": 2, "members": members}}, 93, "InvalidReplicaSetConfig",
             "Configuration used to initiate a replica set must  have version 1, but found 2")
expect_error(first, {"replSetInitiate": {"_id": "other", "version": 1, "members": members}}, 93, "InvalidReplicaSetConfig",
             "Rejecting initiate with a set name that differs from command line set name, initiate set name: other, command line set name: rs0")

reply = first.admin.command("replSetInitiate", {"_id": "rs0", "version": 1, "members": members})
check(reply["ok"] == 1.0, "initiate ok")
expect_error(first, {"replSetInitiate": {"_id": "rs0", "version": 1, "members": members}}, 23, "AlreadyInitialized", "already initialized")

deadline = time.time() + 10
while True:
    try:
        first.admin.command("replSetStepUp")
        break
    except OperationFailure as e:
        check(e.code == 125 and e.details.get("errmsg") == "Election failed.", "stepUp failure %r" % (e.details,))
        if time.time() > deadline:
            problems.append("no primary")
            break
        time.sleep(0.05)
while not first.admin.command("hello")["isWritablePrimary"] and time.time() < deadline:
    time.sleep(0.02)

hello = first.admin.command("hello")
check(hello["setName"] == "rs0" and hello["setVersion"] == 1, "hello set fields")
check(hello["hosts"] == hosts, "hosts %r" % (hello["hosts"],))
check(hello["electionId"] == ObjectId("7fffffff0000000000000001"), "electionId %r" % (hello["electionId"],))
check(isinstance(hello["lastWrite"]["opTime"]["ts"], Timestamp), "lastWrite opTime")

status = first.admin.command("replSetGetStatus")
check(type(status["term"]) is Int64 and status["term"] == 1, "status term")
check([m["_id"] for m in status["members"]] == list(range(len(hosts))), "members sorted by _id")
check(status["members"][0]["self"] is True and "self" not in status["members"][1], "self flag")

config = first.admin.command("replSetGetConfig")["config"]
check(type(config["protocolVersion"]) is Int64, "protocolVersion is a long")
check(type(config["version"]) is int and config["term"] == 1, "version and term")
check(list(config["members"][0].keys()) == ["_id", "host", "arbiterOnly", "buildIndexes", "hidden", "priority", "tags", "secondaryDelaySecs", "votes"], "member fields")

config["version"] = 1
expect_error(first, {"replSetReconfig": config}, 103, "NewReplicaSetConfigurationIncompatible",
             "New replica set configuration version and term must be greater than old, but {version: 1, term: 1} is not greater than {version: 1, term: 1} for replica set rs0")
expect_error(client(hosts[1]), {"replSetReconfig": dict(config, version=2)}, 10107, "NotWritablePrimary",
             "New config is rejected :: caused by :: replSetReconfig should only be run on a writable PRIMARY. Current state SECONDARY;")
config["version"] = 2
config["members"] = config["members"][:1]
expect_error(first, {"replSetReconfig": config}, 103, "NewReplicaSetConfigurationIncompatible",
             "Non force replica set reconfig can only add or remove at most 1 voting member.")

for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
"""#

    @Test("a fresh set, initiated and checked through pymongo with directConnection")
    func freshSet() async throws {
        try await withSimulator(members: 3) { simulator in
            guard let output = try await ChildProcess.runPython(Self.freshSetScript, simulator.hosts) else { return }
            #expect(output.exitCode == 0, "pymongo saw:\n\(output.stdout)\(output.stderr)")
        }
    }

    /// Discovers the set from one seed, as an application would, and reads its primary.
    static let discoveryScript = #"""
import sys, time
import pymongo
hosts = sys.argv[1:]
client = pymongo.MongoClient(hosts[1], replicaSet="rs0", serverSelectionTimeoutMS=5000)
client.admin.command("ping")
deadline = time.time() + 5
while len(client.secondaries) < 2 and time.time() < deadline:
    time.sleep(0.05)
print("%s:%d" % client.primary)
print(",".join(sorted("%s:%d" % node for node in client.secondaries)))
"""#

    @Test("mongo-sim --initiated: pymongo discovers the set from one seed and finds its primary")
    func discoveryThroughMongoSim() async throws {
        let sim = try await ChildProcess(ChildProcess.mongoSim, ["--members", "3", "--initiated", "--heartbeat-interval-ms", "100",
                                                            "--initial-sync-ms", "50", "--election-timeout-ms", "1000"])
        let hosts = await sim.lines(until: "ready")
        #expect(hosts.count == 3)
        let output = try await ChildProcess.runPython(Self.discoveryScript, hosts)
        sim.signal(SIGTERM)
        let exit = await sim.finish()
        #expect(exit.exitCode == 0, "\(exit.stderr)")
        guard let output else { return }
        #expect(output.exitCode == 0, "\(output.stderr)")
        #expect(output.stdout == "\(hosts[0])\n\(hosts[1]),\(hosts[2])\n")
    }
}
