import MongoBSON
import Testing

@Suite("BSON through libbson")
struct BSONRoundTripTests {
    @Test("every supported type survives encoding and decoding, in order")
    func roundTrip() throws {
        let oid = ObjectId.generate()
        let document: BSONDocument = [
            "replSetInitiate": ["_id": "rs0", "version": 1, "members": [["_id": 0, "host": "a:27017"]]],
            "double": .double(1.5),
            "long": .int64(1 << 40),
            "bool": false,
            "null": .null,
            "date": .datetime(1_700_000_000_000),
            "oid": .objectId(oid),
            "ts": .timestamp(seconds: 7, increment: 3),
            "bin": .binary(subtype: 0, bytes: [0, 1, 2, 255]),
            "emptyBin": .binary(subtype: 0, bytes: []),
            "empty": "",
            "unicode": "prim\u{e4}r \u{1F600}",
            "regex": .regex(pattern: "^a", options: "i"),
            "dec": .decimal128(low: 1, high: 0x3040_0000_0000_0000),
            "min": .minKey, "max": .maxKey,
        ]
        let decoded = try BSONDocument(bytes: document.bytes)
        #expect(decoded == document)
        #expect(decoded.firstKey == "replSetInitiate")
    }

    @Test("corrupt bytes are rejected with the offset, not crashed on")
    func rejectsCorruptBytes() {
        let document: BSONDocument = ["a": "hello"]
        var bytes = document.bytes
        bytes[4] = 0x7f  // not a valid element type
        #expect(throws: BSONError.self) { try BSONDocument(bytes: bytes) }
        #expect(throws: BSONError.self) { try BSONDocument(bytes: [1, 2, 3]) }
        #expect(throws: BSONError.self) { try BSONDocument(bytes: [9, 0, 0, 0, 0]) }
    }

    @Test("a field's value bytes are those of its document or array alone; replacing it reads it as given, and nothing else")
    func valueBytesAndReplacing() throws {
        let config: BSONDocument = ["_id": "rs0", "members": [["_id": 0, "host": "a:27017"]]]
        let hosts: BSON = ["a:27017", "b:27017"]
        let reply: BSONDocument = ["ok": .double(1), "config": .document(config), "hosts": hosts, "n": 3, "config": "second"]
        let buffer = try BSONBuffer(copying: reply.bytes)
        #expect(buffer.withValueBytes(ofField: "config") { $0.map(Array.init) } == config.bytes)
        // An array is encoded as the document of its indexes.
        let hostsAsDocument: BSONDocument = ["0": "a:27017", "1": "b:27017"]
        #expect(buffer.withValueBytes(ofField: "hosts") { $0.map(Array.init) } == hostsAsDocument.bytes)
        #expect(buffer.withValueBytes(ofField: "n") { $0 } == nil)
        #expect(buffer.withValueBytes(ofField: "Config") { $0 } == nil)
        var replaced = reply
        replaced.elements[1].value = .document(["known": true])
        #expect(try buffer.document(replacing: "config", with: .document(["known": true])) == replaced)
        // Not a document or array: decoded as usual.
        #expect(try buffer.document(replacing: "n", with: .null) == reply)
    }

    @Test("relaxed extended JSON is libbson's")
    func extendedJSON() {
        let document: BSONDocument = ["ok": .double(1), "n": 3, "s": "x"]
        #expect(document.relaxedExtendedJSON == #"{ "ok" : 1.0, "n" : 3, "s" : "x" }"#)
    }

    @Test("ObjectId hex round trip")
    func objectIdHex() {
        let oid = ObjectId(hex: "5f1a2b3c4d5e6f7081920a1b")
        #expect(oid?.hex == "5f1a2b3c4d5e6f7081920a1b")
        #expect(ObjectId(hex: "xyz") == nil)
    }

    /// `{a: {a: … {} …}}`, `levels` documents deep counting the outermost, built byte by byte:
    /// libbson's own builder is what is being guarded.
    static func nested(levels: Int, array: Bool = false) -> [UInt8] {
        var bytes: [UInt8] = [5, 0, 0, 0, 0]
        for _ in 1..<levels {
            let length = UInt32(4 + 1 + 2 + bytes.count + 1)
            bytes = withUnsafeBytes(of: length.littleEndian, Array.init) + [array ? 0x04 : 0x03, array ? 0x30 : 0x61, 0] + bytes + [0]
        }
        return bytes
    }

    @Test("documents nested as deep as mongod allows decode; deeper ones are refused, not a stack overflow",
          arguments: [false, true])
    func nestingLimit(array: Bool) throws {
        let deepest = try BSONDocument(bytes: Self.nested(levels: BSONDocument.maximumDepth, array: array))
        #expect(deepest.count == 1)
        for levels in [BSONDocument.maximumDepth + 1, 5_000] {
            #expect(throws: BSONError.tooDeep(field: array ? "0" : "a", limit: BSONDocument.maximumDepth)) {
                try BSONDocument(bytes: Self.nested(levels: levels, array: array))
            }
        }
    }
}
