import MongoBSON
import Testing
@testable import ReplicaSetBootstrap

/// Every member answers `replSetGetConfig` with the same bytes, so a config validated once is
/// reused for the exact same bytes; anything else is read and validated afresh.
@Suite("Driver: reusing a validated config")
struct ValidatedConfigsTests {
    static let host = HostAddress(host: "db-0.mongo", port: 27017)

    static func reply(hosts: [String] = ["db-0.mongo:27017", "db-1.mongo:27017"], _ changes: (inout BSONDocument) -> Void = { _ in }) -> BSONDocument {
        let members = hosts.enumerated().map { BSON.document(["_id": .int32(Int32($0.offset)), "host": .string($0.element)]) }
        var reply: BSONDocument = ["config": ["_id": "rs0", "version": 1, "term": .int64(1), "members": .array(members)],
                                   "commitmentStatus": true, "ok": .double(1)]
        changes(&reply)
        return reply
    }

    /// What `replSetGetConfig` (or with `commitmentStatus`) makes of `bytes` on `node`.
    static func read(_ bytes: [UInt8], on node: NodeConnections, committed: Bool = false) throws(MongoError) -> ReplicaSetConfig {
        let buffer: BSONBuffer
        do { buffer = try BSONBuffer(copying: bytes) } catch { preconditionFailure("test reply is not BSON: \(error)") }
        let answer = UnreadReply(buffer: buffer, host: host, command: "replSetGetConfig")
        switch try node.read(answer, answering: committed ? .getCommittedConfig : .getConfig) {
        case .config(let config), .committedConfig(let config, committed: _): return config
        case let other: preconditionFailure("not a config: \(other)")
        }
    }

    static func node() -> NodeConnections {
        NodeConnections(host: host, options: ConnectionOptions(), maxAwaitTime: .seconds(1), configs: ValidatedConfigs())
    }

    /// `bytes` with the first occurrence of `from` replaced by `to` (same length).
    static func replacing(_ from: String, with to: String, in bytes: [UInt8]) -> [UInt8] {
        let from = Array(from.utf8), to = Array(to.utf8)
        precondition(from.count == to.count)
        guard let start = bytes.indices.first(where: { bytes[$0...].starts(with: from) }) else { preconditionFailure("\(from) not in bytes") }
        var changed = bytes
        changed.replaceSubrange(start..<start + from.count, with: to)
        return changed
    }

    @Test("the same bytes again give the same config; a config one byte different is read afresh")
    func oneByteDiffers() throws {
        let node = Self.node()
        let bytes = Self.reply().bytes
        let first = try Self.read(bytes, on: node)
        #expect(try Self.read(bytes, on: node) == first)
        #expect(try Self.read(bytes, on: node, committed: true) == first)
        let changed = try Self.read(Self.replacing("db-1.mongo", with: "db-2.mongo", in: bytes), on: node)
        #expect(changed.members.map(\.host.description) == ["db-0.mongo:27017", "db-2.mongo:27017"])
        #expect(try Self.read(bytes, on: node) == first)
    }

    @Test("a config differing in one byte from a validated one is validated afresh, and refused when invalid")
    func oneByteMakesItInvalid() throws {
        let node = Self.node()
        let bytes = Self.reply().bytes
        _ = try Self.read(bytes, on: node)
        // Both members at db-0: duplicate hosts.
        let duplicate = Self.replacing("db-1.mongo", with: "db-0.mongo", in: bytes)
        let error = #expect(throws: MongoError.self) { try Self.read(duplicate, on: node) }
        #expect(error?.kind == .invalidReply)
        #expect(error?.message.contains("a duplicate of members[0].host") == true)
    }

    @Test("an invalid config is never kept: the same bytes are refused every time")
    func invalidNeverKept() throws {
        let node = Self.node()
        let duplicate = Self.reply(hosts: ["db-0.mongo:27017", "db-0.mongo:27017"]).bytes
        for _ in 0..<2 {
            let error = #expect(throws: MongoError.self) { try Self.read(duplicate, on: node) }
            #expect(error?.kind == .invalidReply)
        }
    }

    @Test("the rest of a reply around a known config is still read strictly")
    func restOfReplyStillChecked() throws {
        let node = Self.node()
        _ = try Self.read(Self.reply().bytes, on: node)
        let notOK = Self.reply { $0["ok"] = .double(0.5) }.bytes
        #expect(throws: MongoError.self) { try Self.read(notOK, on: node) }
        let badStatus = Self.reply { $0["commitmentStatus"] = "yes" }.bytes
        let error = #expect(throws: MongoError.self) { try Self.read(badStatus, on: node, committed: true) }
        #expect(error?.message.contains("commitmentStatus") == true)
    }

    @Test("with two fields named config, the first is what counts, known or not")
    func firstConfigField() throws {
        let node = Self.node()
        let bytes = Self.reply().bytes
        let known = try Self.read(bytes, on: node)
        let other = Self.reply(hosts: ["db-5.mongo:27017"])["config"]!
        let twice = Self.reply { $0.append("config", other) }.bytes
        #expect(try Self.read(twice, on: node) == known)
        let otherFirst = Self.reply { $0.elements.insert(.init(key: "config", value: other), at: 0) }.bytes
        #expect(try Self.read(otherFirst, on: node).members.map(\.host.description) == ["db-5.mongo:27017"])
    }
}
