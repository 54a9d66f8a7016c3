import Foundation
import Subprocess
@testable import mongo_rs_bootstrap
import TestSupport
import Testing

/// The spec file reader against PyYAML's `yaml.safe_load` (YAML 1.1, its own pure-Python
/// scanner and parser) on generated spec documents: block and flow collections, every quoting
/// style, block scalars, comments, directives, `---` and `...`, and the constructs the tool
/// refuses (anchors, tags, duplicate and non-string keys, a second document, scalars YAML 1.1
/// and 1.2 read differently). For each document the tool reads what PyYAML reads, or both
/// refuse it, or the tool refuses it with a line and the document used something it may
/// refuse. scripts/test installs python3-yaml; without it the test is skipped, saying so.
@Suite("Spec files: the YAML reader against PyYAML")
struct SpecYAMLDifferentialTests {
    static let python = "/usr/bin/python3"

    static func pyYAMLAvailable() async -> Bool {
        let result = try? await Subprocess.run(.path(.init(python)), arguments: ["-c", "import yaml"], output: .discarded, error: .discarded)
        guard case .exited(0)? = result?.terminationStatus else { return false }
        return true
    }

    /// PyYAML's reading of each document, in the form `canonical` gives the tool's, or "ERROR: …".
    static let readerScript = #"""
    import json, struct, sys, yaml

    def canon(v):
        if v is None: return "~"
        if v is True: return "true"
        if v is False: return "false"
        if isinstance(v, int): return "i:%d" % v if -2**63 <= v < 2**63 else "i:big"
        if isinstance(v, float): return "f:nan" if v != v else "f:%016x" % struct.unpack("<Q", struct.pack("<d", v))[0]
        if isinstance(v, str): return "s:" + v.encode("utf-8", "surrogatepass").hex()
        if isinstance(v, list): return "[" + ",".join(map(canon, v)) + "]"
        if isinstance(v, dict): return "{" + ",".join(canon(k) + ":" + canon(x) for k, x in v.items()) + "}"
        return "?:" + type(v).__name__

    out = []
    for document in json.load(sys.stdin):
        try:
            out.append(canon(yaml.safe_load(document)))
        except Exception as error:
            out.append("ERROR: %s: %s" % (type(error).__name__, str(error).replace("\n", " ")))
    json.dump(out, sys.stdout)
    """#

    /// The tool's reading in PyYAML's form; nil when a scalar is ambiguous (every field refuses it).
    static func canonical(_ node: SpecYAML?) -> String? {
        guard let node else { return "~" }
        switch node.value {
        case .null: return "~"
        case .bool(let value): return "\(value)"
        case .int(let value): return "i:" + (value.map { "\($0)" } ?? "big")
        case .float(let value):
            let hex = String(value.bitPattern, radix: 16)
            return value.isNaN ? "f:nan" : "f:" + String(repeating: "0", count: 16 - hex.count) + hex
        case .string(let text): return "s:" + text.utf8.map { String($0 >> 4, radix: 16) + String($0 & 15, radix: 16) }.joined()
        case .ambiguous: return nil
        case .sequence(let items):
            var parts: [String] = []
            for item in items {
                guard let part = canonical(item) else { return nil }
                parts.append(part)
            }
            return "[" + parts.joined(separator: ",") + "]"
        case .mapping(let pairs):
            var parts: [String] = []
            for (key, value) in pairs {
                guard let key = canonical(key), let value = canonical(value) else { return nil }
                parts.append(key + ":" + value)
            }
            return "{" + parts.joined(separator: ",") + "}"
        }
    }

    /// Through swift-subprocess, which writes the input while it reads the outputs (the script
    /// answers only after reading all of it) without holding a thread.
    static func pyYAML(_ documents: [String]) async throws -> [String] {
        let data = try JSONSerialization.data(withJSONObject: documents)
        let run = try await Subprocess.run(.path(.init(python)), arguments: ["-c", readerScript], input: .array([UInt8](data)),
                                           output: .bytes(limit: .max), error: .bytes(limit: .max))
        guard case .exited(0) = run.terminationStatus,
              let readings = try JSONSerialization.jsonObject(with: Data(run.standardOutput)) as? [String] else {
            throw Failure(description: "python3: \(String(decoding: run.standardError, as: UTF8.self))")
        }
        return readings
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    @Test("1,000 generated documents: PyYAML's reading, or a refusal with a line where one is allowed",
          .enabled("needs /usr/bin/python3 with PyYAML: apt-get install python3-yaml (scripts/test installs it)") { await pyYAMLAvailable() })
    func againstPyYAML() async throws {
        var generator = SpecDocumentGenerator(seed: 20_240_611)
        let documents = (0..<1000).map { _ in generator.document() }
        let readings = try await Self.pyYAML(documents.map(\.text))
        try #require(readings.count == documents.count)
        var same = 0, bothRefused = 0, refused = 0
        for (document, python) in zip(documents, readings) {
            let tool: String?
            let refusal: String?
            do throws(SpecYAML.SyntaxError) {
                tool = Self.canonical(try SpecYAML.parse(document.text))
                refusal = tool == nil ? "an ambiguous scalar" : nil
            } catch {
                tool = nil
                refusal = error.description
                #expect(error.line >= 1 && error.description.contains("(line "), "\(error.description)")
            }
            if let tool, tool == python {
                same += 1
            } else if tool == nil, python.hasPrefix("ERROR") {
                bothRefused += 1
            } else if tool == nil, !document.refusable.isEmpty {
                refused += 1
            } else {
                Issue.record("""
                    the tool reads \(tool ?? "nothing (\(refusal ?? ""))"), PyYAML \(python); may be refused for: \(document.refusable.sorted())
                    \(document.text)
                    """)
            }
        }
        print("SpecYAML vs PyYAML: \(same) read alike, \(bothRefused) refused by both, \(refused) refused by the tool only (each with a construct it refuses)")
        // The documents are mostly ones the tool reads: the comparison is not empty.
        #expect(same >= 500)
        #expect(refused >= 100)
    }
}

/// Random spec-shaped YAML documents from a fixed seed (SplitMix64), in many syntaxes. Each
/// records the constructs in it that the tool may refuse.
struct SpecDocumentGenerator {
    struct Document {
        var text: String
        var refusable: Set<String>
    }

    var state: UInt64
    var refusable: Set<String> = []
    /// Whether the document being made may have constructs the tool refuses (a third do not).
    var risky = false

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ count: Int) -> Int { Int(next() % UInt64(count)) }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    indirect enum Node {
        case scalar(Scalar)
        case mapping([(Scalar, Node)])
        case sequence([Node])
    }

    enum Scalar {
        /// Valid as a plain scalar in block and flow context.
        case plain(String)
        case single(String)
        /// The text between the quotes, escapes as written.
        case double(String)
        /// `|` or `>` with a chomping indicator, and its lines; flow context writes it double-quoted.
        case block(String, [String])
        /// Nothing after the key or '-'.
        case empty
    }

    /// Plain scalars both YAML versions read alike.
    static let agreed = ["rs0", "db-0.mongo:27017", "127.0.0.1:27017", "10.0.0.5", "a b c", "x#y", "v1.0", "1.2.3", "nan", "inf", "é日本",
                         "true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL", "~",
                         "0", "-0", "1", "-1", "+1", "42", "3600", "0x1F", "0xff", "1.5", "-0.5", "+2.", "1.0e+3", "1.5E-2", ".5",
                         ".inf", "-.inf", "+.Inf", ".NaN", ".nan", "3000000000", "9223372036854775807", "9223372036854775808",
                         "-9223372036854775809", "99999999999999999999", "1.0e+400", "2001-1-1x", "-x", "+", ".", "<<<", "=="]
    /// Plain scalars YAML 1.1 and 1.2 read differently.
    static let disputed = ["yes", "No", "ON", "off", "y", "N", "017", "00", "08", "0o17", "0b101", "1_000", "1e5", "1E+5", "1.5e5",
                           "-.5", "+.5", "1:30", "1:30.5", "190:20:30", "2001-12-14", "2001-12-14t21:59:43.10-05:00",
                           "2001-12-14 21:59:43.10 -5", "<<", "=", "0x_1F", "-0x1F", "._", "1__0", "+0x1", "-0b1"]
    static let words = ["name", "configsvr", "settings", "members", "host", "_id", "priority", "votes", "hidden", "arbiterOnly",
                        "secondaryDelaySecs", "buildIndexes", "tags", "horizons", "chainingAllowed", "electionTimeoutMillis",
                        "getLastErrorModes", "zone", "rack", "dc", "external", "mode"]

    mutating func document() -> Document {
        refusable = []
        risky = chance(30)
        var root: [(Scalar, Node)] = []
        for key in ["name", "configsvr", "settings", "members"] where chance(70) {
            switch key {
            case "settings": root.append((.plain(key), mapping(depth: 1)))
            case "members": root.append((.plain(key), .sequence((0..<below(4)).map { _ in chance(25) ? .scalar(scalar()) : mapping(depth: 2) })))
            default: root.append((.plain(key), .scalar(scalar())))
            }
        }
        if chance(10) {
            let extra = key()
            if case .plain(let text) = extra, root.contains(where: { if case .plain(text) = $0.0 { true } else { false } }) {
                refusable.insert("a key given twice")
            }
            if risky || refusable.isEmpty { root.append((extra, .scalar(scalar()))) }
        }
        root.shuffle(using: &self)
        var text = ""
        if chance(10) { text += "%YAML 1.1\n---\n" } else if chance(30) { text += "---\n" }
        if chance(30) { text += "# \(pick(Self.words)) file\n" }
        if chance(15) {
            text += flow(.mapping(root), indent: 0) + "\n"
        } else {
            text += block(.mapping(root), indent: 0)
        }
        if chance(15) { text += "...\n" }
        if risky && chance(5) {
            refusable.insert("a second document")
            text += "---\nname: other\n"
        }
        return Document(text: text, refusable: refusable)
    }

    mutating func mapping(depth: Int) -> Node {
        var pairs: [(Scalar, Node)] = []
        var used: Set<String> = []
        for _ in 0..<below(5) {
            let name = key()
            if !used.insert("\(name)").inserted {
                guard risky else { continue }
                refusable.insert("a key given twice")
            }
            pairs.append((name, depth > 0 && chance(25) ? (chance(60) ? mapping(depth: depth - 1) : .sequence((0..<below(4)).map { _ in .scalar(scalar()) })) : .scalar(scalar())))
        }
        return .mapping(pairs)
    }

    mutating func key() -> Scalar {
        switch below(20) {
        case 0: return .single(pick(Self.words) + " it''s")
        case 1: return .double(pick(Self.words) + "\\0x")
        case 2 where risky:
            refusable.insert("a key that is not a string")
            return .plain(pick(["1", "true", "~", "null", "0x1", "1.5", "yes"]))
        default: return .plain(pick(Self.words))
        }
    }

    mutating func scalar() -> Scalar {
        switch below(12) {
        case 0, 1, 2: return .plain(pick(Self.agreed))
        case 3 where risky, 4 where risky:
            refusable.insert("an ambiguous scalar")
            return .plain(pick(Self.disputed))
        case 5 where risky:
            // Random number-like text: the resolvers' corners.
            refusable.insert("an ambiguous scalar")
            let first = pick(Array("0123456789+.").map(String.init))
            return .plain(first + (0..<below(6)).map { _ in pick(Array("0123456789+-._:eExXob").map(String.init)) }.joined().trimmingSuffix(":"))
        case 6: return .single(pick(Self.agreed + Self.disputed + ["it''s", " lead", "# no comment", "a: b", "[x]", ""]))
        case 7: return .double(pick(Self.agreed + Self.disputed + ["\\0", "a\\tb\\n", "\\x41\\u00e9\\U0001F600", "\\\"q\\\"", "\\\\", "line\\\nfolded", ""]))
        case 8: return .block(pick(["|", "|-", "|+", ">", ">-", ">+"]), (0..<(1 + below(3))).map { _ in pick(["one", "two words", "  indented", "# not a comment", "yes", "017"]) })
        case 9: return .empty
        case 10 where risky:
            if chance(50) {
                refusable.insert("an anchor")
                return .plain("&a " + pick(Self.agreed))
            }
            refusable.insert("a tag")
            return .plain(pick(["!!str ", "!!int ", "!!bool ", "! ", "!local "]) + pick(["1", "true", "x"]))
        case 3, 4, 5, 10: return .plain(pick(Self.agreed))
        default: return .plain(pick(Self.words) + "-" + String(below(100)))
        }
    }

    func text(_ scalar: Scalar, flow: Bool, indent: Int) -> String {
        switch scalar {
        case .plain(let text): return text
        case .single(let text): return "'\(text)'"
        case .double(let text): return "\"\(text)\""
        case .block(let header, let lines):
            if flow { return "\"" + lines.joined(separator: "\\n") + "\"" }
            return header + "\n" + lines.map { String(repeating: " ", count: indent + 2) + $0 }.joined(separator: "\n")
        case .empty: return ""
        }
    }

    mutating func comment() -> String { chance(15) ? "  # \(pick(Self.words)): [x]" : "" }

    /// A node in block context at `indent`, ending with a line break.
    mutating func block(_ node: Node, indent: Int) -> String {
        let pad = String(repeating: " ", count: indent)
        switch node {
        case .scalar(let scalar):
            return pad + text(scalar, flow: false, indent: indent) + "\n"
        case .mapping(let pairs) where pairs.isEmpty || chance(10):
            return pad + flow(node, indent: indent) + "\n"
        case .sequence(let items) where items.isEmpty || chance(10):
            return pad + flow(node, indent: indent) + "\n"
        case .mapping(let pairs):
            var out = ""
            for (key, value) in pairs {
                if chance(5) { out += pad + "# \(pick(Self.words))\n" }
                out += pad + text(key, flow: false, indent: indent) + ":"
                switch value {
                case .scalar(let scalar):
                    let written = text(scalar, flow: false, indent: indent)
                    out += (written.isEmpty ? "" : " " + written) + (written.hasPrefix("|") || written.hasPrefix(">") ? "" : comment()) + "\n"
                case .mapping(let inner) where !inner.isEmpty && chance(70):
                    out += comment() + "\n" + block(value, indent: indent + 1 + below(3))
                case .sequence(let items) where !items.isEmpty && chance(70):
                    out += comment() + "\n" + block(value, indent: indent + (chance(50) ? 0 : 2))
                default:
                    out += " " + flow(value, indent: indent) + comment() + "\n"
                }
            }
            return out
        case .sequence(let items):
            var out = ""
            for item in items {
                switch item {
                case .scalar(.empty):
                    out += pad + "-\n"
                case .scalar(let scalar):
                    out += pad + "- " + text(scalar, flow: false, indent: indent) + "\n"
                case .mapping(let pairs) where !pairs.isEmpty && chance(70):
                    // "- key: value" with the next keys under the first.
                    let inner = block(item, indent: indent + 2)
                    out += pad + "- " + inner.dropFirst(indent + 2)
                default:
                    out += pad + "- " + flow(item, indent: indent) + "\n"
                }
            }
            return out
        }
    }

    /// A node in flow context; continuation lines indented past `indent`.
    mutating func flow(_ node: Node, indent: Int) -> String {
        let separator = chance(10) ? ",\n" + String(repeating: " ", count: indent + 2) : pick([", ", ","])
        switch node {
        case .scalar(let scalar):
            return text(scalar, flow: true, indent: indent)
        case .mapping(let pairs):
            var parts: [String] = []
            for (key, value) in pairs {
                if case .scalar(.empty) = value, chance(50) {
                    parts.append(text(key, flow: true, indent: indent))
                } else if case .scalar(.empty) = value, chance(50) {
                    // libyaml 0.2.5 takes "key:" right before ',' or '}' for the start of a
                    // plain scalar and refuses it (PyYAML reads a null); "key: ," it reads.
                    refusable.insert("':' right before ',' or '}'")
                    parts.append(text(key, flow: true, indent: indent) + ":")
                } else {
                    let written = flow(value, indent: indent + 2)
                    parts.append(text(key, flow: true, indent: indent) + ": " + written)
                }
            }
            return "{" + parts.joined(separator: separator) + (chance(10) && !parts.isEmpty ? "," : "") + "}"
        case .sequence(let items):
            var parts: [String] = []
            for item in items {
                if case .scalar(.empty) = item { continue }
                parts.append(flow(item, indent: indent + 2))
            }
            return "[" + parts.joined(separator: separator) + (chance(10) && !parts.isEmpty ? "," : "") + "]"
        }
    }
}

extension SpecDocumentGenerator: RandomNumberGenerator {}

extension String {
    fileprivate func trimmingSuffix(_ suffix: Character) -> String {
        var text = self
        while text.last == suffix { text.removeLast() }
        return text
    }
}
