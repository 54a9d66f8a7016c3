import MongoBSON
import Testing

/// Replies nested deeper than mongod ever nests (its BSON depth limit is 200), in each reply the
/// tool reads, and a 10 MB value where a host belongs. Valid BSON, `ok: 1`: refused (exit 65)
/// without dying — a reader that recurses once per level overflows its stack at 25,000 levels.
@Suite("hostile nodes: nesting and size")
struct NestingAndSizeTests {
    static let deep = 25_000
    static let pastLimit = 300
    static let depthWords = ["depth", "deep", "nest", "level"]

    static func depthName(_ depth: Int) -> String { depth == deep ? "25,000 levels" : "300 levels" }

    static func hello(_ depth: Int) -> ScriptedCase {
        ScriptedCase("hello nested \(depthName(depth))", .refused(mentioning: depthWords)) { request, member in
            request.isToolHello ? .body(RawBSON.document(member.hello(for: request), nesting: "x", depth: depth)) : nil
        }
    }

    static func status(_ depth: Int) -> ScriptedCase {
        ScriptedCase("replSetGetStatus nested \(depthName(depth))", .refused(mentioning: depthWords), start: .fresh) { request, member in
            request.name == "replSetGetStatus" ? .body(RawBSON.document(member.statusReply, nesting: "x", depth: depth)) : nil
        }
    }

    /// The depth is inside `config`, the document the tool parses.
    static func config(_ depth: Int) -> ScriptedCase {
        ScriptedCase("replSetGetConfig nested \(depthName(depth))", .refused(mentioning: depthWords)) { request, member in
            guard request.name == "replSetGetConfig" else { return nil }
            var writer = RawBSON()
            writer.begin()
            writer.beginDocument("config")
            writer.elements(of: member.config)
            writer.nested("x", depth: depth)
            writer.end()
            if request.command["commitmentStatus"] != nil { writer.element("commitmentStatus", true) }
            writer.element("ok", .double(1))
            writer.end()
            return .body(writer.finished)
        }
    }

    /// A fresh node the tool initiates, whose `ok: 1` answer is deep: the initiate was sent (once),
    /// the answer is still not to be trusted.
    static func initiate(_ depth: Int) -> ScriptedCase {
        ScriptedCase("replSetInitiate answered nested \(depthName(depth))", .refused(mentioning: depthWords), start: .fresh,
                     allowedWrites: ["replSetInitiate": 1]) { request, _ in
            request.name == "replSetInitiate" ? .body(RawBSON.document(["ok": .double(1)], nesting: "x", depth: depth)) : nil
        }
    }

    static let cases: [ScriptedCase] = [
        hello(deep), hello(pastLimit), status(deep), status(pastLimit), config(deep), config(pastLimit), initiate(deep), initiate(pastLimit),
        ScriptedCase("hello me of 10 MB", .refused(mentioning: [String(MemberHostTests.tenMegabytes.prefix(40))]),
                     tweaks: .init(hello: { hello, _ in hello["me"] = .string(MemberHostTests.tenMegabytes) }), timeoutSeconds: 3),
    ]

    @Test("a reply nested past mongod's depth limit, or a 10 MB host, is refused", arguments: cases)
    func nestedOrHuge(_ scripted: ScriptedCase) async throws {
        try await scripted.run()
    }
}
