import CMongoc

/// The conversions between `BSON` values and libbson; the only file of this module that calls
/// libbson's append and iterate functions.
enum LibBSON {
    static func append(_ document: BSONDocument, to bson: OpaquePointer) {
        for element in document.elements {
            append(element.value, key: element.key, to: bson)
        }
    }

    static func append(_ array: [BSON], to bson: OpaquePointer) {
        for (index, value) in array.enumerated() {
            append(value, key: String(index), to: bson)
        }
    }

    private static func append(_ value: BSON, key: String, to bson: OpaquePointer) {
        let ok: Bool = key.withCString { k in
            switch value {
            case .double(let v): return bson_append_double(bson, k, -1, v)
            case .string(let v):
                // Explicit length: a BSON string may contain NUL bytes.
                let utf8 = Array(v.utf8)
                if utf8.isEmpty { return bson_append_utf8(bson, k, -1, "", 0) }
                return utf8.withUnsafeBufferPointer { buffer in
                    buffer.withMemoryRebound(to: CChar.self) { chars in
                        bson_append_utf8(bson, k, -1, chars.baseAddress, Int32(chars.count))
                    }
                }
            case .document(let v):
                let child = BSONBuffer(v)
                return child.withPointer { bson_append_document(bson, k, -1, $0) }
            case .array(let v):
                let child = BSONBuffer()
                child.withReplyPointer { pointer in
                    bson_init(pointer)
                    append(v, to: pointer)
                }
                return child.withPointer { bson_append_array(bson, k, -1, $0) }
            case .binary(let subtype, let bytes):
                return bytes.withUnsafeBufferPointer { buffer in
                    var empty: UInt8 = 0
                    return bson_append_binary(bson, k, -1, bson_subtype_t(UInt32(subtype)), buffer.baseAddress ?? withUnsafePointer(to: &empty) { $0 }, UInt32(buffer.count))
                }
            case .objectId(let v):
                var oid = bson_oid_t()
                withUnsafeMutableBytes(of: &oid.bytes) { raw in
                    for index in 0..<12 { raw[index] = v.bytes[index] }
                }
                return bson_append_oid(bson, k, -1, &oid)
            case .bool(let v): return bson_append_bool(bson, k, -1, v)
            case .datetime(let v): return bson_append_date_time(bson, k, -1, v)
            case .null: return bson_append_null(bson, k, -1)
            case .regex(let pattern, let options): return bson_append_regex(bson, k, -1, pattern, options)
            case .int32(let v): return bson_append_int32(bson, k, -1, v)
            case .timestamp(let seconds, let increment): return bson_append_timestamp(bson, k, -1, seconds, increment)
            case .int64(let v): return bson_append_int64(bson, k, -1, v)
            case .decimal128(let low, let high):
                var dec = bson_decimal128_t(low: low, high: high)
                return bson_append_decimal128(bson, k, -1, &dec)
            case .undefined: return bson_append_undefined(bson, k, -1)
            case .minKey: return bson_append_minkey(bson, k, -1)
            case .maxKey: return bson_append_maxkey(bson, k, -1)
            }
        }
        // libbson refuses only documents over 2 GiB or keys with NUL bytes: programming errors here.
        precondition(ok, "libbson refused to append field '\(key)'")
    }

    /// `replacing`: the first top-level field whose key has exactly these bytes, when it holds a
    /// document or an array, is not decoded but reads as the value given.
    static func decode(_ bson: OpaquePointer, replacing replaced: (key: String, value: BSON)? = nil) throws(BSONError) -> BSONDocument {
        let iter = cmongoc_iter_new()!
        defer { cmongoc_iter_free(iter) }
        guard bson_iter_init(iter, bson) else { throw BSONError.invalidDocument("libbson cannot iterate the document") }
        return try decodeDocument(iter, depth: 1, NestedIterators(), replacing: replaced)
    }

    /// The bytes of the value of `bson`'s first top-level field whose key has exactly the bytes
    /// of `key` (libbson's `bson_iter_find`), when that value is a document or an array; nil
    /// otherwise.
    static func withValueBytes<R>(ofField key: String, in bson: OpaquePointer, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        let iter = cmongoc_iter_new()!
        defer { cmongoc_iter_free(iter) }
        guard bson_iter_init(iter, bson), bson_iter_find(iter, key) else { return try body(nil) }
        var length: UInt32 = 0
        var data: UnsafePointer<UInt8>?
        switch bson_iter_type(iter) {
        case BSON_TYPE_DOCUMENT: bson_iter_document(iter, &length, &data)
        case BSON_TYPE_ARRAY: bson_iter_array(iter, &length, &data)
        default: return try body(nil)
        }
        return try body(data.map { UnsafeRawBufferPointer(start: $0, count: Int(length)) })
    }

    /// The value of `bson`'s first top-level field named `key` (`bson_iter_find`), decoded
    /// alone; nil when there is none.
    static func value(ofField key: String, in bson: OpaquePointer) throws(BSONError) -> BSON? {
        let iter = cmongoc_iter_new()!
        defer { cmongoc_iter_free(iter) }
        guard bson_iter_init(iter, bson), bson_iter_find(iter, key) else { return nil }
        return try decodeValue(iter, depth: 1, NestedIterators())
    }

    /// libbson iterators for nested documents, one per depth, reused for each sibling: a
    /// 50-member config has hundreds of nested documents, and each new iterator is an aligned
    /// allocation.
    private final class NestedIterators {
        private var byDepth: [OpaquePointer] = []

        func at(depth: Int) -> OpaquePointer {
            while byDepth.count <= depth { byDepth.append(cmongoc_iter_new()!) }
            return byDepth[depth]
        }

        deinit { byDepth.forEach { cmongoc_iter_free($0) } }
    }

    /// `depth`: how deep the document being read is nested, 1 for the outermost. The recursion
    /// stops at `BSONDocument.maximumDepth`, so a hostile reply cannot exhaust the stack.
    private static func decodeDocument(_ iter: OpaquePointer, depth: Int, _ nested: NestedIterators,
                                       replacing replaced: (key: String, value: BSON)? = nil) throws(BSONError) -> BSONDocument {
        var document = BSONDocument()
        var replaced = replaced
        while bson_iter_next(iter) {
            // Room for a member's or a hello's fields at once, rather than growing 1, 2, 4, 8, 16.
            if document.elements.isEmpty { document.elements.reserveCapacity(16) }
            let rawKey = bson_iter_key(iter)!
            let key = String(cString: rawKey)
            // Compared as bytes (as `bson_iter_find` does), not as Swift strings, which would
            // also match a canonically equivalent key.
            if let (replacedKey, value) = replaced, strcmp(rawKey, replacedKey) == 0 {
                replaced = nil
                if bson_iter_type(iter) == BSON_TYPE_DOCUMENT || bson_iter_type(iter) == BSON_TYPE_ARRAY {
                    document.append(key, value)
                    continue
                }
            }
            document.append(key, try decodeValue(iter, depth: depth, nested))
        }
        // libbson ends an iteration at a corrupt element as quietly as at the end.
        guard !cmongoc_iter_failed(iter) else { throw BSONError.invalidDocument("corrupt element after field '\(document.keys.last ?? "")'") }
        return document
    }

    /// An array's values: its keys are only "0", "1", …, not worth a string each.
    private static func decodeArray(_ iter: OpaquePointer, depth: Int, _ nested: NestedIterators) throws(BSONError) -> [BSON] {
        var values: [BSON] = []
        while bson_iter_next(iter) {
            values.append(try decodeValue(iter, depth: depth, nested))
        }
        guard !cmongoc_iter_failed(iter) else { throw BSONError.invalidDocument("corrupt element after array element \(values.count)") }
        return values
    }

    private static func decodeValue(_ iter: OpaquePointer, depth: Int, _ nested: NestedIterators) throws(BSONError) -> BSON {
        switch bson_iter_type(iter) {
        case BSON_TYPE_DOUBLE: return .double(bson_iter_double(iter))
        case BSON_TYPE_UTF8:
            var length: UInt32 = 0
            let chars = bson_iter_utf8(iter, &length)!
            let bytes = UnsafeRawBufferPointer(start: chars, count: Int(length))
            return .string(String(decoding: bytes, as: UTF8.self))
        case BSON_TYPE_DOCUMENT, BSON_TYPE_ARRAY:
            let isArray = bson_iter_type(iter) == BSON_TYPE_ARRAY
            guard depth < BSONDocument.maximumDepth else {
                throw BSONError.tooDeep(field: String(cString: bson_iter_key(iter)), limit: BSONDocument.maximumDepth)
            }
            let child = nested.at(depth: depth + 1)
            guard bson_iter_recurse(iter, child) else { throw BSONError.invalidDocument("cannot descend into '\(String(cString: bson_iter_key(iter)))'") }
            return isArray ? .array(try decodeArray(child, depth: depth + 1, nested)) : .document(try decodeDocument(child, depth: depth + 1, nested))
        case BSON_TYPE_BINARY:
            var subtype = bson_subtype_t(0)
            var length: UInt32 = 0
            var data: UnsafePointer<UInt8>?
            bson_iter_binary(iter, &subtype, &length, &data)
            let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: Int(length))) } ?? []
            return .binary(subtype: UInt8(truncatingIfNeeded: subtype.rawValue), bytes: bytes)
        case BSON_TYPE_OID:
            var oid = bson_iter_oid(iter)!.pointee
            let bytes = withUnsafeBytes(of: &oid.bytes) { Array($0) }
            return .objectId(ObjectId(unchecked: bytes))
        case BSON_TYPE_BOOL: return .bool(bson_iter_bool(iter))
        case BSON_TYPE_DATE_TIME: return .datetime(bson_iter_date_time(iter))
        case BSON_TYPE_NULL: return .null
        case BSON_TYPE_REGEX:
            var options: UnsafePointer<CChar>?
            let pattern = bson_iter_regex(iter, &options)
            return .regex(pattern: pattern.map { String(cString: $0) } ?? "", options: options.map { String(cString: $0) } ?? "")
        case BSON_TYPE_INT32: return .int32(bson_iter_int32(iter))
        case BSON_TYPE_TIMESTAMP:
            var seconds: UInt32 = 0
            var increment: UInt32 = 0
            bson_iter_timestamp(iter, &seconds, &increment)
            return .timestamp(seconds: seconds, increment: increment)
        case BSON_TYPE_INT64: return .int64(bson_iter_int64(iter))
        case BSON_TYPE_DECIMAL128:
            var dec = bson_decimal128_t()
            _ = bson_iter_decimal128(iter, &dec)
            return .decimal128(low: dec.low, high: dec.high)
        case BSON_TYPE_UNDEFINED: return .undefined
        case BSON_TYPE_MINKEY: return .minKey
        case BSON_TYPE_MAXKEY: return .maxKey
        default:
            // DBPointer, code, symbol, code-with-scope: deprecated types no replica-set command uses.
            throw BSONError.invalidDocument("unsupported BSON type 0x\(String(bson_iter_type(iter).rawValue, radix: 16)) in field '\(String(cString: bson_iter_key(iter)))'")
        }
    }

    static func relaxedExtendedJSON(_ bson: OpaquePointer) -> String {
        var length: Int = 0
        guard let json = bson_as_relaxed_extended_json(bson, &length) else { return "{ }" }
        defer { bson_free(json) }
        return String(cString: json)
    }

    static func generateObjectIdBytes() -> [UInt8] {
        var oid = bson_oid_t()
        bson_oid_init(&oid, nil)
        return withUnsafeBytes(of: &oid.bytes) { Array($0) }
    }
}
