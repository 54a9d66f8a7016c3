import Foundation

/// Runs the built `mongo-rs-bootstrap` binary as a user would, with a clean environment.
public struct ToolProcess {
    public struct Result: Sendable {
        public var exitCode: Int32
        public var stdout: String
        public var stderr: String
    }

    /// The binary next to the test bundle (`swift build` puts both in the same folder).
    public static var binary: URL {
        let bundleFolder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for folder in [bundleFolder, URL(fileURLWithPath: ".build/debug")] {
            let candidate = folder.appendingPathComponent("mongo-rs-bootstrap")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return bundleFolder.appendingPathComponent("mongo-rs-bootstrap")
    }

    public static func run(_ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(30)) throws -> Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        // Only what the test gives, so a developer's MONGO_RS_* variables cannot leak in.
        process.environment = ["PATH": "/usr/bin:/bin"].merging(environment) { $1 }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read before waiting: a full pipe would block the child.
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        let stderrData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(exitCode: process.terminationStatus,
                      stdout: String(decoding: stdoutData, as: UTF8.self),
                      stderr: String(decoding: stderrData, as: UTF8.self))
    }
}
