import CMongoc

/// Owns one libbson `bson_t`. Created empty (in storage this object owns, so C calls may
/// initialize it in place), from a `BSONDocument`, or by copying bytes; freed in `deinit`. The
/// pointer is lent only inside `withPointer`/`withReplyPointer`.
public final class BSONBuffer {
    private let handle: OpaquePointer
    /// True when `handle` is storage from `cmongoc_bson_storage_new`, which `bson_destroy` does not
    /// free; false for documents from `bson_new_from_data`, which it frees whole.
    private let ownsStorage: Bool

    /// An empty, initialized document.
    public init() {
        guard let storage = cmongoc_bson_storage_new() else { fatalError("libbson: out of memory") }
        bson_init(storage)
        handle = storage
        ownsStorage = true
    }

    /// A copy of a complete BSON document's bytes. Fails when the bytes are not a valid document.
    public init(copying bytes: [UInt8]) throws(BSONError) {
        guard bytes.count >= 5 else { throw BSONError.invalidDocument("a document needs at least 5 bytes, got \(bytes.count)") }
        let created: OpaquePointer? = bytes.withUnsafeBufferPointer { buffer in
            bson_new_from_data(buffer.baseAddress, buffer.count)
        }
        guard let created else { throw BSONError.invalidDocument("the length prefix does not match the \(bytes.count) bytes given") }
        var offset: Int = 0
        guard bson_validate(created, BSON_VALIDATE_NONE, &offset) else {
            bson_destroy(created)
            throw BSONError.invalidDocument("corrupt BSON at byte offset \(offset)")
        }
        handle = created
        ownsStorage = false
    }

    /// A copy of a reply's bytes, checked only for its length prefix: the depth-limited
    /// `document()` reads the rest and fails on corrupt bytes, where `bson_validate` would
    /// recurse as deep as a hostile document nests and exhaust the stack.
    public init(copyingReply bytes: [UInt8]) throws(BSONError) {
        guard bytes.count >= 5 else { throw BSONError.invalidDocument("a document needs at least 5 bytes, got \(bytes.count)") }
        let created: OpaquePointer? = bytes.withUnsafeBufferPointer { buffer in
            bson_new_from_data(buffer.baseAddress, buffer.count)
        }
        guard let created else { throw BSONError.invalidDocument("the length prefix does not match the \(bytes.count) bytes given") }
        handle = created
        ownsStorage = false
    }

    public convenience init(_ document: BSONDocument) {
        self.init()
        LibBSON.append(document, to: handle)
    }

    deinit {
        bson_destroy(handle)
        if ownsStorage { cmongoc_bson_storage_free(handle) }
    }

    public func withPointer<R>(_ body: (OpaquePointer) throws -> R) rethrows -> R {
        try body(handle)
    }

    /// For C calls that initialize an output document in place (libmongoc's `reply`, or
    /// `bson_init`). The previous content is destroyed first so nothing leaks; the storage stays.
    public func withReplyPointer<R>(_ body: (OpaquePointer) throws -> R) rethrows -> R {
        precondition(ownsStorage, "only an empty BSONBuffer() can receive an output document")
        bson_destroy(handle)
        return try body(handle)
    }

    public var bytes: [UInt8] {
        let data = bson_get_data(handle)!
        return Array(UnsafeBufferPointer(start: data, count: Int(cmongoc_bson_length(handle))))
    }

    /// Decodes the document into Swift values.
    public func document() throws(BSONError) -> BSONDocument {
        try LibBSON.decode(handle)
    }

    /// Decodes the document except its first top-level field whose key has exactly the bytes of
    /// `key`, when that field holds a document or an array: it reads as `value`, undecoded. For a
    /// caller that recognized that field's bytes (`withValueBytes`) and knows what they decode to.
    public func document(replacing key: String, with value: BSON) throws(BSONError) -> BSONDocument {
        try LibBSON.decode(handle, replacing: (key, value))
    }

    /// The bytes of the value of the first top-level field whose key has exactly the bytes of
    /// `key`, when that value is a document or an array; nil otherwise. Lent only for `body`.
    public func withValueBytes<R>(ofField key: String, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        try LibBSON.withValueBytes(ofField: key, in: handle, body)
    }

    /// The value of the first top-level field named `key`, decoded alone; nil when there is none.
    public func value(ofField key: String) throws(BSONError) -> BSON? {
        try LibBSON.value(ofField: key, in: handle)
    }

    public var relaxedExtendedJSON: String {
        LibBSON.relaxedExtendedJSON(handle)
    }
}

public enum BSONError: Error, Equatable, CustomStringConvertible {
    case invalidDocument(String)
    /// Documents and arrays nested deeper than `limit` levels; `field` is where the limit was hit.
    case tooDeep(field: String, limit: Int)

    public var description: String {
        switch self {
        case .invalidDocument(let reason): return "invalid BSON document: \(reason)"
        case .tooDeep(let field, let limit): return "documents nested more than \(limit) levels deep (at field '\(field)')"
        }
    }
}

extension BSONDocument {
    /// The document's BSON bytes, encoded by libbson.
    public var bytes: [UInt8] { BSONBuffer(self).bytes }

    /// Decodes complete BSON bytes (as read from the wire) into a document.
    public init(bytes: [UInt8]) throws(BSONError) {
        self = try BSONBuffer(copying: bytes).document()
    }

    public var relaxedExtendedJSON: String { BSONBuffer(self).relaxedExtendedJSON }
}
