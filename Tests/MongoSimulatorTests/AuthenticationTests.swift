import CMongoc
import Foundation
import MongoBSON
import MongoSimulator
import TestSupport
import Testing

/// `mongod --auth` and `--tlsMode requireTLS` as libmongoc 1.23 and pymongo see them: SCRAM
/// conversations computed by the clients' own code, mongod's error codes and words.
@Suite("authentication and TLS", .serialized)
struct AuthenticationTests {
    static let password = "-p@ss:w/rd%41 ünï✓"
    static let users = [
        SimulatorUser(name: "admin", password: password, roles: ["root"]),
        SimulatorUser(name: "sha1", password: "legacy", roles: ["clusterManager"], mechanisms: [.scramSHA1]),
        SimulatorUser(name: "monitor", password: "look", roles: ["clusterMonitor"]),
    ]

    static func client(_ simulator: ReplicaSetSimulator, user: String?, password: String?, mechanism: String? = nil) -> MongocClient {
        MongocClient(simulator.hosts[0]) { uri in
            if let user { mongoc_uri_set_username(uri, user) }
            if let password { mongoc_uri_set_password(uri, password) }
            if let mechanism { mongoc_uri_set_auth_mechanism(uri, mechanism) }
        }
    }

    @Test("libmongoc authenticates with SCRAM-SHA-256 (negotiated) and SCRAM-SHA-1; a wrong password is AuthenticationFailed")
    func scramThroughLibmongoc() async throws {
        try await withSimulator(members: 1, options: SimulatorOptions(timings: .fast, security: SimulatorSecurity(users: Self.users))) { simulator in
            let admin = Self.client(simulator, user: "admin", password: Self.password)
            let status = await admin.failure(["replSetGetStatus": 1])
            // Authenticated: the answer is mongod's "no config yet", not an authorization error.
            #expect(status?.reply["code"] == .int32(94))

            let sha1 = Self.client(simulator, user: "sha1", password: "legacy", mechanism: "SCRAM-SHA-1")
            #expect(await sha1.failure(["replSetGetStatus": 1])?.reply["code"] == .int32(94))
            // Negotiation: the user has only SCRAM-SHA-1 credentials, so hello lists only it.
            let negotiated = Self.client(simulator, user: "sha1", password: "legacy")
            #expect(await negotiated.failure(["replSetGetStatus": 1])?.reply["code"] == .int32(94))

            let wrong = Self.client(simulator, user: "admin", password: Self.password + "x")
            let failure = try #require(await wrong.failure(["ping": 1]))
            #expect(failure.domain == MONGOC_ERROR_CLIENT.rawValue && failure.code == MONGOC_ERROR_CLIENT_AUTHENTICATE.rawValue, "\(failure)")
            #expect(failure.message.contains("Authentication failed"), "\(failure)")
            let unknown = Self.client(simulator, user: "nobody", password: "x", mechanism: "SCRAM-SHA-256")
            #expect(await unknown.failure(["ping": 1])?.code == MONGOC_ERROR_CLIENT_AUTHENTICATE.rawValue)
            let saslStarts = await simulator.commands.filter { $0.name == "saslStart" || $0.name == "saslContinue" }
            #expect(!saslStarts.isEmpty)
        }
    }

    @Test("without authentication, or without the role, commands get Unauthorized (13) in mongod's words")
    func unauthorized() async throws {
        try await withSimulator(members: 1, options: SimulatorOptions(timings: .fast, security: SimulatorSecurity(users: Self.users))) { simulator in
            let anonymous = simulator.client(0)
            #expect(try await anonymous.run(["hello": 1])["ok"] == .double(1))
            #expect(try await anonymous.run(["ping": 1])["ok"] == .double(1))
            let status = try #require(await anonymous.failure(["replSetGetStatus": 1]))
            #expect(status.reply["code"] == .int32(13) && status.codeName == "Unauthorized")
            #expect(status.reply["errmsg"] == "Command replSetGetStatus requires authentication")

            let monitor = Self.client(simulator, user: "monitor", password: "look")
            #expect(await monitor.failure(["replSetGetStatus": 1])?.reply["code"] == .int32(94))
            let initiate = try #require(await monitor.failure(["replSetInitiate": .document(configDocument(simulator.hosts))]))
            #expect(initiate.reply["code"] == .int32(13))
            let message = initiate.reply["errmsg"]?.stringValue ?? ""
            #expect(message.hasPrefix("not authorized on admin to execute command { replSetInitiate: { _id: \"rs0\""), "\(message)")
            #expect(message.contains("$db: \"admin\" }"), "\(message)")
            #expect(await simulator.snapshot[0].configVersion == nil)
        }
    }

    @Test("with no user at all, the localhost exception lets a loopback client initiate")
    func localhostException() async throws {
        try await withSimulator(members: 1, options: SimulatorOptions(timings: .fast, security: SimulatorSecurity(users: []))) { simulator in
            let reply = try await simulator.client(0).run(["replSetInitiate": .document(configDocument(simulator.hosts))])
            #expect(reply["ok"] == .double(1))
        }
    }

    static let pymongoScript = #"""
import sys, ssl
import pymongo
from pymongo.errors import OperationFailure, ServerSelectionTimeoutError
host, password, ca, unknown_ca, client_pem, subject = sys.argv[1:7]
problems = []
def client(**kw):
    return pymongo.MongoClient(host, directConnection=True, serverSelectionTimeoutMS=3000, tls=True, tlsCAFile=ca, **kw)
for mechanism in ["SCRAM-SHA-256", "SCRAM-SHA-1"]:
    c = client(username="admin", password=password, authMechanism=mechanism)
    try:
        c.admin.command("replSetGetStatus")
        problems.append("replSetGetStatus succeeded on a fresh member")
    except OperationFailure as e:
        if e.code != 94: problems.append("%s: %r" % (mechanism, e.details))
try:
    client(username="admin", password=password + "x", authMechanism="SCRAM-SHA-256").admin.command("ping")
    problems.append("a wrong password was accepted")
except OperationFailure as e:
    if e.code != 18 or e.details.get("errmsg") != "Authentication failed.": problems.append("wrong password: %r" % (e.details,))
try:
    pymongo.MongoClient(host, directConnection=True, serverSelectionTimeoutMS=1500, tls=True, tlsCAFile=unknown_ca).admin.command("ping")
    problems.append("a certificate from an unknown CA was accepted")
except ServerSelectionTimeoutError as e:
    if "certificate verify failed" not in str(e): problems.append("unknown CA: %s" % e)
x509 = client(tlsCertificateKeyFile=client_pem, authMechanism="MONGODB-X509")
try:
    x509.admin.command("replSetGetStatus")
except OperationFailure as e:
    if e.code != 94: problems.append("x509: %r" % (e.details,))
print("\n".join(problems))
sys.exit(1 if problems else 0)
"""#

    @Test("pymongo: SCRAM-SHA-256 and SCRAM-SHA-1 over TLS, a wrong password, an unknown CA, x.509")
    func pymongoOverTLS() async throws {
        let block = LoopbackAddresses.randomBlock()
        let certificates = try await TestCertificates.make(addresses: ["\(block).1"])
        defer { certificates.remove() }
        let users = Self.users + [SimulatorUser(x509Subject: certificates.clientSubject, roles: ["clusterManager"])]
        let tls = SimulatorTLS(certificateKeyFile: certificates.memberCertificateKeyFile, caFile: certificates.caFile)
        let options = SimulatorOptions(addressBlock: block, timings: .fast, security: SimulatorSecurity(users: users, tls: tls))
        try await withSimulator(members: 1, options: options) { simulator in
            let output = try #require(try await ChildProcess.runPython(Self.pymongoScript, [
                simulator.hosts[0], Self.password, certificates.caFile, certificates.unknownCAFile,
                certificates.clientCertificateKeyFile, certificates.clientSubject,
            ]))
            #expect(output.exitCode == 0, "\(output.stdout)\(output.stderr)")
        }
    }

    @Test("libmongoc over TLS: a trusted chain connects; an unknown CA and a plain connection fail")
    func libmongocOverTLS() async throws {
        let block = LoopbackAddresses.randomBlock()
        let certificates = try await TestCertificates.make(addresses: ["\(block).1"])
        defer { certificates.remove() }
        let tls = SimulatorTLS(certificateKeyFile: certificates.memberCertificateKeyFile)
        let options = SimulatorOptions(addressBlock: block, timings: .fast, security: SimulatorSecurity(users: [], tls: tls))
        try await withSimulator(members: 1, options: options) { simulator in
            func client(ca: String?) -> MongocClient {
                MongocClient(simulator.hosts[0]) { uri in
                    mongoc_uri_set_option_as_bool(uri, MONGOC_URI_TLS, ca != nil)
                    if let ca { mongoc_uri_set_option_as_utf8(uri, MONGOC_URI_TLSCAFILE, ca) }
                }
            }
            #expect(try await client(ca: certificates.caFile).run(["ping": 1])["ok"] == .double(1))
            let untrusted = try #require(await client(ca: certificates.unknownCAFile).failure(["ping": 1]))
            #expect(untrusted.message.contains("certificate verify failed") || untrusted.message.contains("TLS handshake failed"), "\(untrusted)")
            #expect(await client(ca: nil).failure(["ping": 1]) != nil)
        }
    }
}
