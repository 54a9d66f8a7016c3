import Foundation
@testable import mongo_rs_bootstrap
import MongoBSON
import ReplicaSetBootstrap
import TestSupport
import Testing

/// Hostile spec files: nesting that would overflow the reader's stack, and numbers outside
/// mongod's ranges. Exit 64 naming the file and line, before any contact; never a crash.
@Suite("Spec files: nesting and number limits")
struct SpecFileLimitsTests {
    /// Runs the tool on a spec file made from `text` (NODE: a listener that records contact).
    func runSpec(_ text: String, arguments: [String] = []) async throws -> (ToolProcess.Result, path: String, contacted: Bool) {
        let listener = try SilentListener()
        let folder = try TemporaryFolder()
        let path = try folder.file("spec.yaml", text.replacingOccurrences(of: "NODE", with: listener.address))
        let result = try await ToolProcess.run(["--config", path, "--timeout", "2s"] + arguments)
        return (result, path, listener.wasContacted)
    }

    struct DeepFile: CustomTestStringConvertible, Sendable {
        var name: String
        var text: String
        var testDescription: String { name }
    }

    static let deepFiles: [DeepFile] = [
        DeepFile(name: "50,000 '['", text: String(repeating: "[", count: 50_000)),
        DeepFile(name: "50,000 '{a: '", text: String(repeating: "{a: ", count: 50_000)),
        DeepFile(name: "50,000 '- ' on one line", text: String(repeating: "- ", count: 50_000) + "x\n"),
        DeepFile(name: "1,000 lines of '- ', each indented one more",
                 text: (0..<1000).map { String(repeating: " ", count: $0) + "- " }.joined(separator: "\n") + "x\n"),
        DeepFile(name: "1,000 nested keys, one a line",
                 text: (0..<1000).map { String(repeating: " ", count: $0) + "k:" }.joined(separator: "\n") + " x\n"),
    ]

    @Test("deep nesting: exit 64 naming the file, the line and the limit, no crash", arguments: deepFiles)
    func deepNesting(_ file: DeepFile) async throws {
        let (result, path, contacted) = try await runSpec("# \(file.name)\n" + file.text, arguments: ["--nodes", "127.0.0.1:1"])
        #expect(result.exitCode == 64, "stderr: \(result.stderr.prefix(500))")
        #expect(result.stderr.contains("--config \(path)"))
        #expect(result.stderr.contains("nested more than 64 levels deep"), "\(result.stderr.prefix(500))")
        #expect(result.stderr.contains("(line "))
        #expect(!contacted)
    }

    @Test("the reader takes 64 levels and refuses 65, with the line of the 65th")
    func depthLimit() throws {
        #expect(SpecYAML.maxDepth == 64)
        let deepest = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(try SpecYAML.parse(deepest) != nil)
        let block = (0..<64).map { String(repeating: " ", count: $0 * 2) + "k\($0):" }.joined(separator: "\n") + " x\n"
        #expect(try SpecYAML.parse(block) != nil)
        do throws(SpecYAML.SyntaxError) {
            _ = try SpecYAML.parse(String(repeating: "[\n", count: 65) + String(repeating: "]", count: 65))
            Issue.record("65 levels accepted")
        } catch {
            #expect(error.line == 65)
            #expect(error.message.contains("more than 64 levels"))
        }
    }

}
