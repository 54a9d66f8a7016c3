import Foundation
import TestSupport
import Testing

/// Files that are not regular files would block the run (a FIFO without a writer) or feed it
/// endlessly (a device): they are refused by name at once, exit 64, no contact. Standard input is
/// read when named `/dev/stdin`, and a signal ends a run waiting for it.
@Suite("Input files that would block")
struct BlockingInputTests {
    /// A fake PEM that passes the tool's check of the certificate-key file (the run stops before
    /// libmongoc reads it).
    static let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"

    enum Kind: String, CaseIterable, Sendable {
        case fifo, directory, device, socket
    }

    /// A special file of the kind, and the words the tool uses for it.
    static func make(_ kind: Kind, in folder: TemporaryFolder) throws -> (path: String, words: String) {
        let path = folder.path(kind.rawValue)
        switch kind {
        case .fifo:
            guard mkfifo(path, 0o600) == 0 else { throw POSIXError(.EIO) }
            return (path, "a FIFO (named pipe), not a regular file")
        case .directory:
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            return (path, "a directory, not a regular file")
        case .device:
            return ("/dev/zero", "a character device, not a regular file")
        case .socket:
            let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { buffer in
                path.utf8CString.withUnsafeBytes { buffer.copyBytes(from: $0.prefix(buffer.count - 1)) }
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            close(descriptor)
            guard bound == 0 else { throw POSIXError(.EIO) }
            return (path, "a socket, not a regular file")
        }
    }

    struct Input: CustomTestStringConvertible, Sendable {
        var name: String
        /// Arguments and environment with PATH standing for the special file.
        var arguments: [String]
        var environment: [String: String] = [:]
        var testDescription: String { name }
    }

    static let inputs: [Input] = [
        Input(name: "--config", arguments: ["--config", "PATH"]),
        Input(name: "MONGO_RS_CONFIG", arguments: [], environment: ["MONGO_RS_CONFIG": "PATH"]),
        Input(name: "--password-file", arguments: ["--username", "u", "--password-file", "PATH"]),
        Input(name: "MONGO_RS_PASSWORD_FILE", arguments: ["--username", "u"], environment: ["MONGO_RS_PASSWORD_FILE": "PATH"]),
        Input(name: "--tls-certificate-key-file-password-file",
              arguments: ["--tls-certificate-key-file", "KEYPEM", "--tls-certificate-key-file-password-file", "PATH"]),
        Input(name: "--tls-ca-file", arguments: ["--tls-ca-file", "PATH"]),
        Input(name: "--tls-certificate-key-file", arguments: ["--tls-certificate-key-file", "PATH"]),
    ]

    @Test("a FIFO, a directory, a device or a socket: exit 64 at once, naming the path and what it is",
          arguments: inputs, Kind.allCases)
    func refused(_ input: Input, _ kind: Kind) async throws {
        let folder = try TemporaryFolder()
        let (path, words) = try Self.make(kind, in: folder)
        let keyFile = try folder.file("client.pem", Self.pem)
        let listener = try SilentListener()
        let substitute = { (text: String) in
            text.replacingOccurrences(of: "KEYPEM", with: keyFile).replacingOccurrences(of: "PATH", with: path)
        }
        let run = try await BoundedRun(["--nodes", listener.address] + input.arguments.map(substitute),
                                 environment: input.environment.mapValues(substitute))
        let result = await run.finish(within: .seconds(10))
        #expect(result.exitCode == 64, "killed: \(result.exitCode == nil), stderr: \(result.stderr)")
        #expect(result.stderr.contains("\(path): "), "\(result.stderr)")
        #expect(result.stderr.contains(words), "\(result.stderr)")
        #expect(!listener.wasContacted)
    }

    /// Runs the tool with `text` on its standard input, then end of file.
    func runFeeding(_ text: String, _ arguments: [String], secrets: [String] = []) async throws -> BoundedRun.Result {
        let input = Pipe()
        let run = try await BoundedRun(arguments, stdin: input, secrets: secrets)
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        return await run.finish(within: .seconds(10))
    }

    @Test("a spec file on /dev/stdin is read from standard input")
    func specFromStandardInput() async throws {
        let port = try SilentListener.closedPort()
        let result = try await runFeeding("name: rsX\nmembers:\n  - host: 127.0.0.1:\(port)\n",
                                          ["--config", "/dev/stdin", "--timeout", "300ms"])
        #expect(result.exitCode == 69, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("replica set 'rsX' with 1 member: 127.0.0.1:\(port)"), "\(result.stderr)")
    }

    @Test("a password on /dev/stdin is read from standard input, and never shown")
    func passwordFromStandardInput() async throws {
        let secret = "stdin-S3cret-\(UInt32.random(in: .min ... .max))"
        let result = try await runFeeding(secret + "\n", ["--nodes", "127.0.0.1:\(try SilentListener.closedPort())", "--username", "u",
                                                          "--password-file", "/dev/stdin", "--timeout", "300ms", "--debug"],
                                          secrets: [secret])
        #expect(result.exitCode == 69, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("authenticating as"), "\(result.stderr)")
    }

    @Test("/dev/stdin named twice: exit 64 naming both, nothing read")
    func standardInputTwice() async throws {
        let run = try await BoundedRun(["--nodes", "127.0.0.1:1", "--config", "/dev/stdin", "--username", "u"],
                                 environment: ["MONGO_RS_PASSWORD_FILE": "/dev/stdin"])
        let result = await run.finish(within: .seconds(10))
        #expect(result.exitCode == 64, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("--config and MONGO_RS_PASSWORD_FILE both name /dev/stdin"), "\(result.stderr)")
    }

    @Test("a PEM file cannot be /dev/stdin: libmongoc reads it again by its path")
    func pemNotFromStandardInput() async throws {
        let run = try await BoundedRun(["--nodes", "127.0.0.1:1", "--tls-ca-file", "/dev/stdin"])
        let result = await run.finish(within: .seconds(10))
        #expect(result.exitCode == 64, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("--tls-ca-file /dev/stdin: cannot read it: standard input cannot be used here"), "\(result.stderr)")
    }

    @Test("more than 1 MiB on standard input: exit 64")
    func standardInputTooLarge() async throws {
        let folder = try TemporaryFolder()
        let path = try folder.file("large.yaml", String(repeating: "# a comment line\n", count: 70_000))
        let input = try #require(FileHandle(forReadingAtPath: path))
        let run = try await BoundedRun(["--nodes", "127.0.0.1:1", "--config", "/dev/stdin"], stdin: input)
        let result = await run.finish(within: .seconds(10))
        #expect(result.exitCode == 64, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("--config /dev/stdin: cannot read the file (more than 1 MiB"), "\(result.stderr)")
    }

    /// The input phase, before any contact: a signal must end the process at once, not be
    /// swallowed while the tool waits for input that never comes.
    @Test("SIGTERM or SIGINT while reading /dev/stdin from a pipe that never closes: 143/130 at once",
          arguments: [(SIGTERM, Int32(143), "SIGTERM"), (SIGINT, Int32(130), "SIGINT")])
    func signalWhileReadingStandardInput(signal: Int32, code: Int32, name: String) async throws {
        let input = Pipe()
        let listener = try SilentListener()
        let run = try await BoundedRun(["--nodes", listener.address, "--config", "/dev/stdin"], stdin: input)
        #expect(await run.waitUntilCatching(signal))
        input.fileHandleForWriting.write(Data("name: rs0\n".utf8))
        // Let it block in the read.
        try await Task.sleep(for: .milliseconds(300))
        let sent = ContinuousClock.now
        run.signal(signal)
        // A swallowed signal waits for input that never comes: killed at 20 s.
        let result = await run.finish(within: .seconds(20))
        withExtendedLifetime(input) {}
        #expect(result.exitCode == code, "killed after 20 s: \(result.exitCode == nil), stderr: \(result.stderr)")
        #expect(!result.killedBySignal)
        #expect(result.exitedAt - sent < .seconds(10), "took \(result.exitedAt - sent)")
        #expect(result.stderr.contains("interrupted by \(name) before the run started; no node was contacted"), "\(result.stderr)")
        #expect(!listener.wasContacted)
    }
}
