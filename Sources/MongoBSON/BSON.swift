/// One BSON value. Documents keep their field order, which mongod's replies and libmongoc's parser
/// both depend on (for example the first key of a command is its name).
public enum BSON: Equatable, Hashable, Sendable {
    case double(Double)
    case string(String)
    case document(BSONDocument)
    case array([BSON])
    case binary(subtype: UInt8, bytes: [UInt8])
    case objectId(ObjectId)
    case bool(Bool)
    /// Milliseconds since the Unix epoch.
    case datetime(Int64)
    case null
    case regex(pattern: String, options: String)
    case int32(Int32)
    case timestamp(seconds: UInt32, increment: UInt32)
    case int64(Int64)
    case decimal128(low: UInt64, high: UInt64)
    case undefined
    case minKey
    case maxKey
}

extension BSON {
    /// An integer as mongod writes one it parsed as `smallExactInt64`
    /// (`repl_set_config_validators.h`): int32 when it fits, int64 otherwise.
    public static func integer(_ value: Int) -> BSON {
        if let small = Int32(exactly: value) { return .int32(small) }
        return .int64(Int64(value))
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var documentValue: BSONDocument? {
        if case .document(let value) = self { return value }
        return nil
    }

    public var arrayValue: [BSON]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var objectIdValue: ObjectId? {
        if case .objectId(let value) = self { return value }
        return nil
    }

    /// The value as an integer when it is a number without a fractional part, as mongod accepts
    /// numbers of any width for integral fields (`version`, `votes`, `code`, …).
    public var intValue: Int? {
        switch self {
        case .int32(let value): return Int(value)
        case .int64(let value): return Int(value)
        case .double(let value):
            guard value.rounded() == value, let exact = Int(exactly: value) else { return nil }
            return exact
        default: return nil
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .int32(let value): return Double(value)
        case .int64(let value): return Double(value)
        case .double(let value): return value
        default: return nil
        }
    }

    /// Truthiness as mongod reads command fields such as `ok` or `force`: false, 0 and null are false.
    public var isTruthy: Bool {
        switch self {
        case .bool(let value): return value
        case .int32(let value): return value != 0
        case .int64(let value): return value != 0
        case .double(let value): return value != 0
        case .null, .undefined: return false
        default: return true
        }
    }

    /// The BSON type name as mongod spells it in error messages.
    public var typeName: String {
        switch self {
        case .double: return "double"
        case .string: return "string"
        case .document: return "object"
        case .array: return "array"
        case .binary: return "binData"
        case .objectId: return "objectId"
        case .bool: return "bool"
        case .datetime: return "date"
        case .null: return "null"
        case .regex: return "regex"
        case .int32: return "int"
        case .timestamp: return "timestamp"
        case .int64: return "long"
        case .decimal128: return "decimal"
        case .undefined: return "undefined"
        case .minKey: return "minKey"
        case .maxKey: return "maxKey"
        }
    }
}

extension BSON: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}

extension BSON: ExpressibleByBooleanLiteral {
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension BSON: ExpressibleByIntegerLiteral {
    /// Integer literals become int32, as mongod and the shell write small integers.
    public init(integerLiteral value: Int32) { self = .int32(value) }
}

extension BSON: ExpressibleByFloatLiteral {
    public init(floatLiteral value: Double) { self = .double(value) }
}

extension BSON: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: BSON...) { self = .array(elements) }
}

extension BSON: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, BSON)...) {
        self = .document(BSONDocument(elements))
    }
}
