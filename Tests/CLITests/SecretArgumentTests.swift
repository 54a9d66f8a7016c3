import Foundation
import TestSupport
import Testing

/// ArgumentParser quotes arguments in its errors; a password given with `--password` must never
/// be one of them, whatever shape the command line has.
@Suite("A password on the command line is never echoed")
struct SecretArgumentTests {
    /// SECRET, SECRET2: passwords; HALF1 HALF2: the two words of a password with a space that
    /// was not quoted. NODE: a listener that records contact.
    static let shapes: [[String]] = [
        ["--nodes", "NODE", "--", "--password", "SECRET"],
        ["--nodes", "NODE", "--", "-password", "SECRET"],
        ["--nodes", "NODE", "--", "--password=SECRET"],
        ["--nodes", "NODE", "--", "--password", "-SECRET"],
        ["--nodes", "NODE", "--password", "SECRET", "--", "SECRET"],
        ["--nodes", "NODE", "--password", "--", "SECRET"],
        ["--nodes", "NODE", "--password=SECRET", "--bogus"],
        ["--nodes", "NODE", "--password", "SECRET", "--bogus=SECRET"],
        ["--nodes", "NODE", "--password", "SECRET", "--password", "SECRET2"],
        ["--nodes", "NODE", "--password=SECRET", "--password=SECRET2", "extra"],
        ["--nodes", "NODE", "--password", "SECRET", "extra"],
        ["--nodes", "NODE", "--password", "HALF1", "HALF2"],
        ["--nodes", "NODE", "--password", "SECRET", "--dry-run=SECRET"],
        ["--nodes", "NODE", "--password", "SECRET", "--tls=yes"],
        ["--password=SECRET", "--nodes"],
        ["--nodes", "NODE", "--password", "-SECRET", "--timeout"],
        ["--nodes", "NODE", "--password", "--SECRET", "--nodez", "x"],
        ["--nodes", "NODE", "--password", "SECRET", "--username"],
        ["--nodes", "NODE", "--username", "u", "--password", "SECRET", "--timeout", "1e400"],
        ["--nodes", "NODE", "--username", "u", "--password", "SECRET", "--auth-mechanism", "PLAIN"],
        ["--nodes", "NODE", "--password", "SECRET"],
        ["--nodes", "NODE", "--password", "SECRET", "--help"],
        ["--password", "SECRET", "--version"],
        ["--nodes", "NODE", "--password", "SECRET", "-x"],
        ["--password", "SECRET", "NODE"],
    ]

    static let secret = "Pa55 w@rd:/%-\(UInt32.random(in: .min ... .max))"
    static let secret2 = "0ther-S3cret-\(UInt32.random(in: .min ... .max))"
    static let half1 = "Half0ne-\(UInt32.random(in: .min ... .max))"
    static let half2 = "HalfTw0-\(UInt32.random(in: .min ... .max))"

    @Test("no error shows the password, in any encoding; exit 64 (0 for --help, --version)", arguments: shapes)
    func neverEchoed(_ shape: [String]) async throws {
        let listener = try SilentListener()
        let arguments = shape.map { argument in
            argument.replacingOccurrences(of: "SECRET2", with: Self.secret2).replacingOccurrences(of: "SECRET", with: Self.secret)
                .replacingOccurrences(of: "HALF1", with: Self.half1).replacingOccurrences(of: "HALF2", with: Self.half2)
                .replacingOccurrences(of: "NODE", with: listener.address)
        }
        let result = try await ToolProcess.run(arguments)
        let leaks = SecretScan.leaks(of: [Self.secret, Self.secret2, Self.half1, Self.half2],
                                     in: ["stdout": result.stdout, "stderr": result.stderr])
        #expect(leaks.isEmpty, "\(leaks)")
        let informational = shape.contains("--help") || shape.contains("--version")
        #expect(result.exitCode == (informational ? 0 : 64), "stderr: \(result.stderr)")
        if !informational {
            #expect(result.stdout.isEmpty)
            #expect(!result.stderr.isEmpty)
        }
        #expect(!listener.wasContacted)
    }

    @Test("the error still says what is wrong, with the value hidden")
    func errorsStayUseful() async throws {
        let afterSeparator = try await ToolProcess.run(["--nodes", "127.0.0.1:1", "--", "--password", Self.secret])
        #expect(afterSeparator.stderr.contains("2 unexpected arguments: '--password', '<hidden>'"), "\(afterSeparator.stderr)")
        let unquoted = try await ToolProcess.run(["--nodes", "127.0.0.1:1", "--password", Self.half1, Self.half2])
        #expect(unquoted.stderr.contains("Unexpected argument '<hidden>'"), "\(unquoted.stderr)")
        // Without a password nothing needs hiding.
        let plain = try await ToolProcess.run(["--nodes", "127.0.0.1:1", "--dry-run=yes"])
        #expect(plain.stderr.contains("The option '--dry-run' does not take any value, but 'yes' was specified"), "\(plain.stderr)")
    }
}
