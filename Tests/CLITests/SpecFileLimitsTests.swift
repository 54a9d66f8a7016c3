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

    struct NumberCase: CustomTestStringConvertible, Sendable {
        var yaml: String
        var mentions: [String]
        var testDescription: String { yaml.replacingOccurrences(of: "\n", with: " | ") }
    }

    static let member = "members:\n  - host: NODE\n"
    static let numberCases: [NumberCase] = [
        .init(yaml: "settings:\n  electionTimeoutMillis: 0\n" + member, mentions: [":2:", "settings.electionTimeoutMillis: '0' is not a whole number from 1 to 9223372036854775807"]),
        .init(yaml: "settings:\n  electionTimeoutMillis: -5\n" + member, mentions: ["'-5' is not a whole number from 1"]),
        .init(yaml: "settings:\n  electionTimeoutMillis: 9223372036854775808\n" + member, mentions: ["'9223372036854775808'", "from 1 to 9223372036854775807"]),
        .init(yaml: "settings:\n  heartbeatIntervalMillis: 1e400\n" + member, mentions: ["settings.heartbeatIntervalMillis: '1e400'"]),
        .init(yaml: "settings:\n  heartbeatTimeoutSecs: 99999999999999999999999\n" + member, mentions: ["settings.heartbeatTimeoutSecs"]),
        .init(yaml: "settings:\n  catchUpTimeoutMillis: -2\n" + member, mentions: ["settings.catchUpTimeoutMillis: '-2' is not a whole number from -1 to 9223372036854775807"]),
        .init(yaml: "settings:\n  catchUpTakeoverDelayMillis: -9223372036854775809\n" + member, mentions: ["settings.catchUpTakeoverDelayMillis"]),
        .init(yaml: "settings:\n  getLastErrorModes: {dc: {zone: 0}}\n" + member, mentions: ["settings.getLastErrorModes.dc.zone: '0' is not a whole number from 1 to 2147483647"]),
        .init(yaml: "settings:\n  getLastErrorModes: {dc: {zone: 3000000000}}\n" + member, mentions: ["'3000000000' is not a whole number from 1 to 2147483647"]),
        .init(yaml: "members:\n  - host: NODE\n    votes: 3000000000\n", mentions: [":3:", "members[0].votes: '3000000000' is not a whole number from 0 to 1"]),
        .init(yaml: "members:\n  - host: NODE\n    votes: -1\n", mentions: ["members[0].votes: '-1'"]),
        .init(yaml: "members:\n  - host: NODE\n    priority: 1001\n", mentions: ["members[0].priority: '1001' is not a number from 0 to 1000"]),
        .init(yaml: "members:\n  - host: NODE\n    priority: -0.5\n", mentions: ["members[0].priority: '-0.5'"]),
        .init(yaml: "members:\n  - host: NODE\n    priority: 1e400\n", mentions: ["members[0].priority: '1e400' is not a number from 0 to 1000"]),
        .init(yaml: "members:\n  - host: NODE\n    priority: nan\n", mentions: ["members[0].priority: 'nan'"]),
        .init(yaml: "members:\n  - host: NODE\n    priority: .inf\n", mentions: ["members[0].priority: '.inf'"]),
        .init(yaml: "members:\n  - host: NODE\n    secondaryDelaySecs: 31622401\n    priority: 0\n", mentions: ["members[0].secondaryDelaySecs: '31622401' is not a whole number from 0 to 31622400"]),
        .init(yaml: "members:\n  - host: NODE\n    secondaryDelaySecs: 99999999999999999999\n", mentions: ["members[0].secondaryDelaySecs"]),
        .init(yaml: "members:\n  - host: NODE\n    _id: -1\n", mentions: ["members[0]._id: '-1' is not a whole number from 0 to 2147483647"]),
        .init(yaml: "members:\n  - host: NODE\n    _id: 2147483648\n", mentions: ["members[0]._id: '2147483648'"]),
    ]

    @Test("numbers outside mongod's ranges: exit 64 naming file, line, field and range, no contact", arguments: numberCases)
    func numbersOutOfRange(_ testCase: NumberCase) async throws {
        let (result, path, contacted) = try await runSpec(testCase.yaml)
        #expect(result.exitCode == 64, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("--config \(path)"), "\(result.stderr)")
        for fragment in testCase.mentions {
            #expect(result.stderr.contains(fragment), "expected '\(fragment)' in: \(result.stderr)")
        }
        #expect(!contacted)
    }

    /// mongod takes these settings as int64 (`safeInt64`): a value past Int32.max is valid and
    /// must be sent as an int64, not trap in a conversion after the nodes were contacted.
    @Test("settings past Int32.max are sent as int64, those that fit as int32")
    func largeSettingsSerialize() throws {
        let file = try SpecFile.parse("""
            settings:
              electionTimeoutMillis: 3000000000
              heartbeatIntervalMillis: 2000
              catchUpTimeoutMillis: 9223372036854775807
              catchUpTakeoverDelayMillis: -1
              heartbeatTimeoutSecs: 2147483648
            members:
              - host: db-0.mongo:27017
            """, source: "spec.yaml")
        let (spec, _) = try Invocation.assembleSpec(file: file, nodes: [], name: nil, arbiters: [], hidden: [], memberOptions: [])
        let settings = try #require(spec.initiateConfig.document["settings"]?.documentValue)
        #expect(settings["electionTimeoutMillis"] == .int64(3_000_000_000))
        #expect(settings["heartbeatIntervalMillis"] == .int32(2000))
        #expect(settings["catchUpTimeoutMillis"] == .int64(Int64.max))
        #expect(settings["catchUpTakeoverDelayMillis"] == .int32(-1))
        #expect(settings["heartbeatTimeoutSecs"] == .int64(2_147_483_648))
        // Read back from a config, they compare equal: a re-run finds nothing to change.
        #expect(spec.settings.mismatches(settings).isEmpty)
    }

    @Test("the config rules refuse what a spec built in code gives out of range, too")
    func rulesCheckTheSameRanges() {
        let host = try! HostAddress(parsing: "db-0.mongo")
        func problem(_ settings: ReplicaSetSettings = ReplicaSetSettings(), member: MemberSpec? = nil) -> String? {
            do throws(InvalidInput) {
                try ReplicaSetSpec(name: "rs0", members: [member ?? MemberSpec(host: host, tags: ["zone": "a"])], settings: settings).validate()
                return nil
            } catch {
                return error.message
            }
        }
        #expect(problem(ReplicaSetSettings(electionTimeoutMillis: 3_000_000_000)) == nil)
        #expect(problem(ReplicaSetSettings(getLastErrorModes: ["dc": ["zone": 3_000_000_000]]))?.contains("at most 2147483647") == true)
        #expect(problem(ReplicaSetSettings(getLastErrorModes: ["dc": ["zone": 0]]))?.contains("must be positive") == true)
        #expect(problem(member: MemberSpec(host: host, priority: .nan))?.contains("priority must be from 0 to 1000") == true)
        #expect(problem(member: MemberSpec(host: host, priority: .infinity))?.contains("priority must be from 0 to 1000") == true)
        #expect(problem(member: MemberSpec(host: host, id: Int(Int32.max) + 1))?.contains("out of range") == true)
    }
}
