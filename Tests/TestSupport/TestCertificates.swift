import Foundation
import Subprocess
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// A throwaway PKI made with the `openssl` command for one test: a CA, a member certificate for
/// the given IP addresses, a client certificate (plain and with an encrypted key), and a second
/// CA that signed none of them.
public struct TestCertificates: Sendable {
    public let folder: URL
    /// The CA that signed the member and client certificates.
    public var caFile: String { path("ca.pem") }
    /// A CA that signed nothing here: trusting only it must fail.
    public var unknownCAFile: String { path("unknown-ca.pem") }
    /// The members' certificate and key in one PEM (mongod's --tlsCertificateKeyFile).
    public var memberCertificateKeyFile: String { path("member.pem") }
    public var clientCertificateKeyFile: String { path("client.pem") }
    /// The client certificate with its key encrypted by `clientKeyPassphrase`.
    public var encryptedClientCertificateKeyFile: String { path("client-encrypted.pem") }
    public let clientKeyPassphrase: String
    /// The client certificate's subject in RFC 2253 form: its x.509 user name in mongod.
    public let clientSubject: String

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// `addresses`: the members' IP addresses, which their certificate names.
    public static func make(addresses: [String], clientName: String = "bootstrap") async throws -> TestCertificates {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pki-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let passphrase = "-key pass:@/%\(UUID().uuidString.prefix(6))"
        func run(_ arguments: [String]) async throws -> String {
            let result = try await Subprocess.run(.path("/usr/bin/openssl"), arguments: Arguments(arguments),
                                                  workingDirectory: FilePath(folder.path),
                                                  output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
            guard case .exited(0) = result.terminationStatus else {
                throw Failure(description: "openssl \(arguments.joined(separator: " ")): \(result.terminationStatus): \(result.standardError)")
            }
            return result.standardOutput
        }
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for ca in ["ca", "unknown-ca"] {
            _ = try await run(["req", "-x509"] + ec + ["-keyout", "\(ca).key", "-out", "\(ca).pem", "-days", "2", "-subj", "/O=mongo-rs-bootstrap tests/CN=\(ca)"])
        }
        func issue(_ name: String, subject: String, extensions: String) async throws {
            try extensions.write(to: folder.appendingPathComponent("\(name).ext"), atomically: true, encoding: .utf8)
            _ = try await run(["req"] + ec + ["-keyout", "\(name).key", "-out", "\(name).csr", "-subj", subject])
            _ = try await run(["x509", "-req", "-in", "\(name).csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                         "-days", "2", "-out", "\(name).crt", "-extfile", "\(name).ext"])
            let pem = try String(contentsOf: folder.appendingPathComponent("\(name).crt"), encoding: .utf8)
                + String(contentsOf: folder.appendingPathComponent("\(name).key"), encoding: .utf8)
            try pem.write(to: folder.appendingPathComponent("\(name).pem"), atomically: true, encoding: .utf8)
        }
        let names = addresses.map { "IP:\($0)" }.joined(separator: ",")
        try await issue("member", subject: "/O=mongo-rs-bootstrap tests/CN=member",
                  extensions: "subjectAltName=\(names),DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n")
        try await issue("client", subject: "/O=mongo-rs-bootstrap tests/OU=jobs/CN=\(clientName)", extensions: "extendedKeyUsage=clientAuth\n")
        _ = try await run(["pkcs8", "-topk8", "-in", "client.key", "-out", "client-encrypted.key", "-v2", "aes-256-cbc", "-passout", "pass:\(passphrase)"])
        let encrypted = try String(contentsOf: folder.appendingPathComponent("client.crt"), encoding: .utf8)
            + String(contentsOf: folder.appendingPathComponent("client-encrypted.key"), encoding: .utf8)
        try encrypted.write(to: folder.appendingPathComponent("client-encrypted.pem"), atomically: true, encoding: .utf8)
        let subject = try await run(["x509", "-in", "client.crt", "-noout", "-subject", "-nameopt", "RFC2253"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return TestCertificates(folder: folder, clientKeyPassphrase: passphrase,
                                clientSubject: String(subject.dropFirst(subject.hasPrefix("subject=") ? "subject=".count : 0)))
    }

    private func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    public func remove() {
        try? FileManager.default.removeItem(at: folder)
    }
}
