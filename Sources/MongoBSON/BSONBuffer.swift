import CMongoc

/// Owns one heap-allocated libbson `bson_t`. Created empty, from a `BSONDocument`, or by copying
/// bytes; freed in `deinit`. The pointer is lent only inside `withPointer`/`withMutablePointer`.
public final class BSONBuffer {
    private let handle: OpaquePointer

    /// An empty document, ready to be filled by a C call that writes into an initialized bson_t
    /// (libmongoc's reply parameters are documented to be initialized by the callee, but freeing
    /// an empty initialized document first is harmless).
    public init() {
        guard let handle = bson_new() else { fatalError("libbson: bson_new failed (out of memory)") }
        self.handle = handle
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
    }

    public convenience init(_ document: BSONDocument) {
        self.init()
        LibBSON.append(document, to: handle)
    }

    deinit {
        bson_destroy(handle)
    }

    public func withPointer<R>(_ body: (OpaquePointer) throws -> R) rethrows -> R {
        try body(handle)
    }

    /// For C calls that fill an output document (for example libmongoc's `reply`). The callee
    /// initializes it; the previous content is discarded first so nothing leaks.
    public func withReplyPointer<R>(_ body: (OpaquePointer) throws -> R) rethrows -> R {
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

    public var relaxedExtendedJSON: String {
        LibBSON.relaxedExtendedJSON(handle)
    }
}

public enum BSONError: Error, Equatable, CustomStringConvertible {
    case invalidDocument(String)

    public var description: String {
        switch self {
        case .invalidDocument(let reason): return "invalid BSON document: \(reason)"
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
