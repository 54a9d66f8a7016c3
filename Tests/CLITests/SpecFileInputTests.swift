import Foundation
import TestSupport
import Testing

/// `--config` files and member options: mistakes are named with file, line and field, exit 64,
/// before any node is contacted.
@Suite("Spec files and member options")
struct SpecFileInputTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var file: String?
        var arguments: [String]
        var mentions: [String]
        var testDescription: String { (file.map { ["--config <\($0.prefix(30))…>"] } ?? []).joined() + " " + arguments.joined(separator: " ") }
    }

    static let cases: [Case] = [
        Case(file: "members: [", arguments: [], mentions: ["not valid YAML or JSON"]),
        Case(file: "- a\n- b\n", arguments: [], mentions: ["expected a mapping with name, settings and members"]),
        Case(file: "name: rs0\nmembrs:\n  - host: NODE\n", arguments: [], mentions: [":2:", "unknown field 'membrs'", "valid fields: name, configsvr, settings, members"]),
        Case(file: "members:\n  - host: NODE\n    priorty: 2\n", arguments: [], mentions: [":3:", "unknown field 'priorty' in members[0]"]),
        Case(file: "members:\n  - host: NODE\n    priority: high\n", arguments: [], mentions: [":3:", "members[0].priority: 'high' is not a number"]),
        Case(file: "members:\n  - host: NODE\n    hidden: yes\n", arguments: [], mentions: ["members[0].hidden: 'yes' is not true or false"]),
        Case(file: "members:\n  - priority: 1\n", arguments: [], mentions: ["members[0]: a member needs a host"]),
        Case(file: "members:\n  - host: 'db:0'\n", arguments: [], mentions: ["members[0].host", "port '0'"]),
        Case(file: "settings:\n  electionTimeout: 5\nmembers: [NODE]\n", arguments: [], mentions: ["unknown field 'electionTimeout' in settings"]),
        Case(file: "{\"name\": \"rs0\", \"members\": [{\"host\": \"NODE\", \"votes\": \"one\"}]}", arguments: [], mentions: ["members[0].votes: 'one' is not a whole number"]),
        Case(file: "name: rsA\nmembers: [NODE]\n", arguments: ["--replica-set", "rsB"], mentions: ["--replica-set 'rsB' differs from the name 'rsA'"]),
        Case(file: nil, arguments: ["--nodes", "NODE", "--priority", "127.0.0.9=2"], mentions: ["--priority '127.0.0.9=2'", "not a member"]),
        Case(file: nil, arguments: ["--nodes", "NODE", "--priority", "NODE=high"], mentions: ["'high' is not a number"]),
        Case(file: nil, arguments: ["--nodes", "NODE", "--priority", "NODE"], mentions: ["expected host=value"]),
        Case(file: nil, arguments: ["--nodes", "NODE", "--votes", "NODE=2"], mentions: ["member NODE", "votes must be 0 or 1, not 2"]),
        Case(file: nil, arguments: ["--nodes", "NODE", "--tag", "NODE=zone"], mentions: ["expected host=key:value"]),
        Case(file: nil, arguments: ["--nodes", "NODE,127.0.0.8", "--arbiter", "127.0.0.8", "--tag", "127.0.0.8=zone:a"], mentions: ["member 127.0.0.8:27017", "Cannot set tags on arbiters."]),
        Case(file: nil, arguments: ["--nodes", "NODE,127.0.0.8", "--hidden", "127.0.0.8", "--priority", "127.0.0.8=1"], mentions: ["member 127.0.0.8:27017", "priority must be 0 when hidden=true"]),
        Case(file: nil, arguments: ["--arbiter", "NODE"], mentions: ["no electable member"]),
        Case(file: nil, arguments: ["--nodes", "NODE", "--config", "/nonexistent/spec.yaml"], mentions: ["--config /nonexistent/spec.yaml: cannot read the file"]),
    ]

    @Test("exit 64 naming the file, line and field, no contact", arguments: cases)
    func refused(_ testCase: Case) async throws {
        let listener = try SilentListener()
        let substitute = { (text: String) in text.replacingOccurrences(of: "NODE", with: listener.address) }
        var arguments = testCase.arguments.map(substitute)
        var path: String?
        if let file = testCase.file {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("spec-\(UUID().uuidString).yaml").path
            try substitute(file).write(toFile: path!, atomically: true, encoding: .utf8)
            arguments += ["--config", path!]
        }
        defer { if let path { try? FileManager.default.removeItem(atPath: path) } }
        let result = try await ToolProcess.run(arguments)
        #expect(result.exitCode == 64, "stderr: \(result.stderr)")
        for fragment in testCase.mentions.map(substitute) {
            #expect(result.stderr.contains(fragment), "expected '\(fragment)' in: \(result.stderr)")
        }
        #expect(!listener.wasContacted)
    }
}
