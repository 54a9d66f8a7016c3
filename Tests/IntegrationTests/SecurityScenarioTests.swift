import Foundation
import MongoSimulator
import TestSupport
import Testing

/// The real binary against members started with `--auth` (and TLS): every password source,
/// passwords made of the characters that break URI-building tools, and each way access can be
/// denied, which must end the run at once with exit 77 and say what was found on which node.
@Suite("Security scenarios", .serialized)
struct SecurityScenarioTests {
    /// One awkward character each, then all of them with unicode.
    static let awkwardPasswords = ["-x", "p@ss", "p:ss", "p/ss", "p%41ss", "pässwörd✓ 密码", "-@:/%?#[]&=+ \"'\\ ü"]

    enum Source: String, CaseIterable, Sendable { case passwordFile, environment, commandLine, environmentFile }

    /// A set whose members require authentication (and TLS when given), with these users; every
    /// run inside gets `secrets` checked against its output.
    func withSecuredSet<T>(members: Int = 1, users: [SimulatorUser], tls: SimulatorTLS? = nil, addressBlock: String? = nil,
                           secrets: [String], _ body: (ReplicaSetSimulator) async throws -> T) async throws -> T {
        let options = SimulatorOptions(addressBlock: addressBlock, timings: .fast, security: SimulatorSecurity(users: users, tls: tls))
        return try await ToolProcess.$context.withValue(ToolProcess.Context(secrets: secrets)) {
            try await ReplicaSetSimulator.run(Array(repeating: MemberSpec(), count: members), options: options, start: true, body)
        }
    }

    static func passwordFile(_ password: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("password-\(UUID().uuidString)").path
        // As `kubectl create secret --from-file` after `echo`: with a trailing newline.
        try (password + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("every awkward password works from every source, and none shows in --debug output", arguments: Source.allCases)
    func awkwardPasswords(source: Source) async throws {
        for password in Self.awkwardPasswords {
            let user = SimulatorUser(name: "bootstrap", password: password, roles: ["clusterManager"])
            try await withSecuredSet(users: [user], secrets: [password]) { simulator in
                // At the most verbose: every command and answer, as JSON lines.
                var arguments = ["--nodes", simulator.hosts[0], "--timeout", "20s", "--username", "bootstrap", "--debug", "--log-format", "json"]
                var environment: [String: String] = [:]
                let file = try Self.passwordFile(password)
                defer { try? FileManager.default.removeItem(atPath: file) }
                switch source {
                case .passwordFile: arguments += ["--password-file", file]
                case .environment: environment["MONGO_PASSWORD"] = password
                case .commandLine: arguments += ["--password", password]
                case .environmentFile: environment["MONGO_RS_PASSWORD_FILE"] = file
                }
                let result = try await ToolProcess.run(arguments, environment: environment)
                #expect(result.exitCode == 0, "\(source) with password #\(Self.awkwardPasswords.firstIndex(of: password)!): \(result.stderr)")
                #expect(await simulator.snapshot.primary != nil)
                #expect(result.stderr.contains("--password puts the password in the process list") == (source == .commandLine))
            }
        }
    }

    @Test("SCRAM-SHA-1 and SCRAM-SHA-256 when asked for by name")
    func namedMechanisms() async throws {
        let users = [SimulatorUser(name: "old", password: "pw-1", roles: ["root"], mechanisms: [.scramSHA1]),
                     SimulatorUser(name: "new", password: "pw-256", roles: ["clusterAdmin"], mechanisms: [.scramSHA256])]
        try await withSecuredSet(users: users, secrets: ["pw-1", "pw-256"]) { simulator in
            let sha1 = try await ToolProcess.run(["--nodes", simulator.hosts[0], "--username", "old", "--auth-mechanism", "SCRAM-SHA-1"],
                                                 environment: ["MONGO_PASSWORD": "pw-1"])
            #expect(sha1.exitCode == 0, "\(sha1.stderr)")
            let sha256 = try await ToolProcess.run(["--nodes", simulator.hosts[0], "--username", "new", "--auth-mechanism", "scram-sha-256"],
                                                   environment: ["MONGO_PASSWORD": "pw-256"])
            #expect(sha256.exitCode == 0, "\(sha256.stderr)")
            #expect(sha256.stderr.contains("authenticating as user 'new' (database admin, SCRAM-SHA-256)"))
        }
    }

    @Test("a wrong password or an unknown user: exit 77 at once, naming node, user and mechanism; nothing written")
    func authenticationFailed() async throws {
        let user = SimulatorUser(name: "bootstrap", password: "right-one", roles: ["clusterManager"])
        try await withSecuredSet(members: 3, users: [user], secrets: ["right-one", "wrong-one"]) { simulator in
            for (name, mechanism) in [("bootstrap", "SCRAM-SHA-256"), ("nobody", "SCRAM-SHA-1")] {
                let result = try await ToolProcess.run(["--nodes", simulator.hosts.joined(separator: ","), "--timeout", "60s",
                                                        "--username", name, "--auth-mechanism", mechanism, "--output", "json"],
                                                       environment: ["MONGO_PASSWORD": "wrong-one"])
                #expect(result.exitCode == 77, "\(result.stderr)")
                #expect(result.stderr.contains("rejected user '\(name)' (database admin, \(mechanism)): Authentication failed."), "\(result.stderr)")
                #expect(simulator.hosts.contains { result.stderr.contains("\($0) rejected") })
                #expect(result.json["outcome"] as? String == "notAuthorized")
                #expect((result.json["elapsedMs"] as? Int ?? .max) < 2000, "retried instead of ending at once")
            }
            #expect(await simulator.writeCommands.isEmpty)
        }
    }

    @Test("no credentials for a set with --auth: exit 77 saying which command needs them")
    func noCredentials() async throws {
        let user = SimulatorUser(name: "bootstrap", password: "secret-pw", roles: ["clusterManager"])
        try await withSecuredSet(users: [user], secrets: ["secret-pw"]) { simulator in
            let result = try await ToolProcess.run(["--nodes", simulator.hosts[0], "--timeout", "60s"])
            #expect(result.exitCode == 77, "\(result.stderr)")
            #expect(result.stderr.contains("\(simulator.hosts[0]) requires authentication to run replSetGetStatus"), "\(result.stderr)")
            #expect(result.stderr.contains("--username") && result.stderr.contains("--password-file"))
            #expect(await simulator.writeCommands.isEmpty)
        }
    }

    @Test("a user without clusterManager: exit 77 naming the command and the role; nothing written")
    func missingRole() async throws {
        let user = SimulatorUser(name: "watcher", password: "secret-pw", roles: ["clusterMonitor"])
        try await withSecuredSet(members: 3, users: [user], secrets: ["secret-pw"]) { simulator in
            let result = try await ToolProcess.run(["--nodes", simulator.hosts.joined(separator: ","), "--timeout", "60s", "--username", "watcher"],
                                                   environment: ["MONGO_PASSWORD": "secret-pw"])
            #expect(result.exitCode == 77, "\(result.stderr)")
            #expect(result.stderr.contains("user 'watcher' (database admin, SCRAM-SHA-256 or SCRAM-SHA-1 as negotiated) may not run replSetInitiate on "), "\(result.stderr)")
            #expect(result.stderr.contains("needs the clusterManager role"))
            #expect(result.stderr.contains("grantRolesToUser('watcher', [{role: 'clusterManager', db: 'admin'}])"))
            #expect(await simulator.snapshot.members.allSatisfy { $0.configVersion == nil })
        }
    }

    @Test("TLS with a trusted chain: exit 0; with an unknown CA: exit 77 at once, saying to give the right CA")
    func tlsChain() async throws {
        let block = LoopbackAddresses.randomBlock()
        let certificates = try await TestCertificates.make(addresses: (1...3).map { "\(block).\($0)" })
        defer { certificates.remove() }
        let user = SimulatorUser(name: "bootstrap", password: "tls-pw", roles: ["clusterManager"])
        let tls = SimulatorTLS(certificateKeyFile: certificates.memberCertificateKeyFile)
        try await withSecuredSet(members: 3, users: [user], tls: tls, addressBlock: block, secrets: ["tls-pw"]) { simulator in
            let common = ["--nodes", simulator.hosts.joined(separator: ","), "--timeout", "60s", "--username", "bootstrap"]
            let untrusted = try await ToolProcess.run(common + ["--tls-ca-file", certificates.unknownCAFile], environment: ["MONGO_PASSWORD": "tls-pw"])
            #expect(untrusted.exitCode == 77, "\(untrusted.stderr)")
            #expect(untrusted.stderr.contains("TLS certificate was rejected"), "\(untrusted.stderr)")
            #expect(untrusted.stderr.contains("--tls-ca-file \(certificates.unknownCAFile) is the CA that signed"))
            #expect(await simulator.writeCommands.isEmpty)

            let trusted = try await ToolProcess.run(common + ["--tls-ca-file", certificates.caFile], environment: ["MONGO_PASSWORD": "tls-pw"])
            #expect(trusted.exitCode == 0, "\(trusted.stderr)")
            #expect(trusted.stderr.contains("over TLS"))
            #expect(await simulator.snapshot.primary != nil)
        }
    }

    @Test("members that require TLS, reached without --tls: exit 69 at the deadline with a hint to add --tls, nothing written")
    func plainTextToTLS() async throws {
        let block = LoopbackAddresses.randomBlock()
        let certificates = try await TestCertificates.make(addresses: (1...2).map { "\(block).\($0)" })
        defer { certificates.remove() }
        let user = SimulatorUser(name: "bootstrap", password: "tls-pw", roles: ["clusterManager"])
        let tls = SimulatorTLS(certificateKeyFile: certificates.memberCertificateKeyFile)
        try await withSecuredSet(members: 2, users: [user], tls: tls, addressBlock: block, secrets: ["tls-pw"]) { simulator in
            let result = try await ToolProcess.run(["--nodes", simulator.hosts.joined(separator: ","), "--timeout", "3s", "--username", "bootstrap"],
                                                   environment: ["MONGO_PASSWORD": "tls-pw"])
            #expect(result.exitCode == 69, "\(result.stderr)")
            #expect(result.stderr.contains("--tls"), "\(result.stderr)")
            #expect(await simulator.writeCommands.isEmpty)
        }
    }

    @Test("a new member without the set's users yet (they come with its initial sync) is added, not taken for a wrong password")
    func newMemberWithoutUsers() async throws {
        let specs = [MemberSpec(), MemberSpec(), MemberSpec(usersArriveWithInitialSync: true)]
        try await withSimulator(specs: specs, timings: .fast) { simulator in
            let first = try await bootstrap(Array(simulator.hosts.prefix(2)))
            #expect(first.exitCode == 0, "\(first.stderr)")
            let result = try await bootstrap(simulator.hosts, ["--wait-for", "all"])
            #expect(result.exitCode == 0, "\(result.stderr)")
            #expect(result.stderr.contains("\(simulator.hosts[2]) rejects the credentials that"), "\(result.stderr)")
            #expect(try await committedConfig(simulator).members.count == 3)
        }
    }

    @Test("with no set yet, a node that rejects credentials the others accept: exit 77 at once, saying which case it is; nothing written")
    func freshNodeWithoutUsers() async throws {
        let specs = [MemberSpec(), MemberSpec(), MemberSpec(usersArriveWithInitialSync: true)]
        try await withSimulator(specs: specs, timings: .fast) { simulator in
            let result = try await bootstrap(simulator.hosts)
            #expect(result.exitCode == 77, "\(result.stderr)")
            #expect(result.stderr.contains("\(simulator.hosts[2]) rejected"), "\(result.stderr)")
            #expect(result.stderr.contains("accepts the same credentials"), "\(result.stderr)")
            #expect(await simulator.writeCommands.isEmpty)
        }
    }

    @Test("x.509: the client certificate is the credential, also with an encrypted key")
    func x509() async throws {
        let block = LoopbackAddresses.randomBlock()
        let certificates = try await TestCertificates.make(addresses: ["\(block).1"])
        defer { certificates.remove() }
        let user = SimulatorUser(x509Subject: certificates.clientSubject, roles: ["clusterManager"])
        let tls = SimulatorTLS(certificateKeyFile: certificates.memberCertificateKeyFile, caFile: certificates.caFile,
                               allowConnectionsWithoutCertificates: false)
        let passphraseFile = try Self.passwordFile(certificates.clientKeyPassphrase)
        defer { try? FileManager.default.removeItem(atPath: passphraseFile) }
        try await withSecuredSet(users: [user], tls: tls, addressBlock: block, secrets: [certificates.clientKeyPassphrase]) { simulator in
            let common = ["--nodes", simulator.hosts[0], "--timeout", "30s", "--auth-mechanism", "MONGODB-X509", "--tls-ca-file", certificates.caFile]
            let encrypted = try await ToolProcess.run(common + ["--tls-certificate-key-file", certificates.encryptedClientCertificateKeyFile,
                                                                "--tls-certificate-key-file-password-file", passphraseFile])
            #expect(encrypted.exitCode == 0, "\(encrypted.stderr)")
            let plain = try await ToolProcess.run(common + ["--tls-certificate-key-file", certificates.clientCertificateKeyFile])
            #expect(plain.exitCode == 0, "\(plain.stderr)")
            let authentications = await simulator.commands.filter { $0.name == "authenticate" || $0.document["speculativeAuthenticate"] != nil }
            #expect(!authentications.isEmpty)
        }
    }
}
