import MongoBSON

/// A test-only BSON writer for bytes libbson would refuse to build, or would build only by
/// recursing once per level: documents nested 25,000 deep, unknown element types, lengths that
/// lie. Documents are opened and closed explicitly (lengths are patched on close), so any depth
/// is written in a loop, without recursion.
struct RawBSON {
    private(set) var bytes: [UInt8] = []
    private var open: [Int] = []

    init() {}

    /// The top-level document; close it with `end()`.
    mutating func begin() {
        open.append(bytes.count)
        bytes += [0, 0, 0, 0]
    }

    mutating func beginDocument(_ key: String) {
        bytes.append(0x03)
        cString(key)
        begin()
    }

    mutating func beginArray(_ key: String) {
        bytes.append(0x04)
        cString(key)
        begin()
    }

    /// Closes the innermost open document or array and writes its length.
    mutating func end() {
        bytes.append(0)
        let start = open.removeLast()
        bytes.replaceSubrange(start..<(start + 4), with: Wire.littleEndian(Int32(bytes.count - start)))
    }

    /// Every element of `document`, encoded by libbson (for the shallow, valid parts of a reply).
    mutating func elements(of document: BSONDocument) {
        let encoded = document.bytes
        bytes += encoded[4..<(encoded.count - 1)]
    }

    mutating func element(_ key: String, _ value: BSON) {
        elements(of: [key: value])
    }

    /// `key: {key: {key: … {}}}`, `depth` documents deep.
    mutating func nested(_ key: String, depth: Int) {
        for _ in 0..<depth { beginDocument(key) }
        for _ in 0..<depth { end() }
    }

    /// Bytes written as they are, for elements no valid encoder would produce.
    mutating func raw(_ extra: [UInt8]) {
        bytes += extra
    }

    mutating func cString(_ text: String) {
        bytes += Array(text.utf8) + [0]
    }

    var finished: [UInt8] {
        precondition(open.isEmpty, "a document is still open")
        return bytes
    }

    /// `document` with `key` added at the end, `depth` documents deep.
    static func document(_ document: BSONDocument, nesting key: String, depth: Int) -> [UInt8] {
        var writer = RawBSON()
        writer.begin()
        writer.elements(of: document)
        writer.nested(key, depth: depth)
        writer.end()
        return writer.finished
    }
}
