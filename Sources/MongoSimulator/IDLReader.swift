import MongoBSON

/// Reads the fields of an IDL struct the way mongod's generated parsers do, with their error
/// messages (`src/mongo/idl/idl_parser.cpp`): strict structs reject unknown fields, required
/// fields must be present, and `safeBool`/`safeInt64`/`safeDouble` accept any number.
struct IDLReader {
    let structName: String
    let document: BSONDocument

    func rejectUnknownFields(allowed: Set<String>) throws(CommandError) {
        for key in document.keys where !allowed.contains(key) {
            throw CommandError(.idlUnknownField, "BSON field '\(structName).\(key)' is an unknown field.")
        }
    }

    func required(_ key: String) throws(CommandError) -> BSON {
        guard let value = document[key] else {
            throw CommandError(.idlMissingField, "BSON field '\(structName).\(key)' is missing but a required field")
        }
        return value
    }

    /// A required field read with one of the typed readers below.
    func require<T>(_ key: String, _ read: (String) throws(CommandError) -> T?) throws(CommandError) -> T {
        _ = try required(key)
        guard let value = try read(key) else { throw CommandError(.idlMissingField, "BSON field '\(structName).\(key)' is missing but a required field") }
        return value
    }

    func objectId(_ key: String) throws(CommandError) -> ObjectId? {
        guard let value = document[key] else { return nil }
        guard case .objectId(let id) = value else { throw wrongType(key, value, expected: "type 'objectId'") }
        return id
    }

    func string(_ key: String) throws(CommandError) -> String? {
        guard let value = document[key] else { return nil }
        guard case .string(let text) = value else { throw wrongType(key, value, expected: "type 'string'") }
        return text
    }

    func document(_ key: String) throws(CommandError) -> BSONDocument? {
        guard let value = document[key] else { return nil }
        guard case .document(let nested) = value else { throw wrongType(key, value, expected: "type 'object'") }
        return nested
    }

    func safeBool(_ key: String) throws(CommandError) -> Bool? {
        guard let value = document[key] else { return nil }
        switch value {
        case .bool(let flag): return flag
        case .int32, .int64, .double, .decimal128: return value.isTruthy
        default: throw wrongType(key, value, expected: "types '[bool, long, int, decimal, double]'")
        }
    }

    func safeInt64(_ key: String) throws(CommandError) -> Int64? {
        guard let value = document[key] else { return nil }
        guard let number = value.doubleValue else {
            throw wrongType(key, value, expected: "types '[long, int, decimal, double]'")
        }
        return Int64(exactly: number.rounded(.towardZero)) ?? Int64.max
    }

    func safeDouble(_ key: String) throws(CommandError) -> Double? {
        guard let value = document[key] else { return nil }
        guard let number = value.doubleValue else {
            throw wrongType(key, value, expected: "types '[double, long, int, decimal]'")
        }
        return number
    }

    /// `smallExactInt64` (`repl_set_config_validators.h`): any number with an exact integer value.
    func smallExactInt64(_ key: String) throws(CommandError) -> Int64? {
        guard let value = document[key] else { return nil }
        guard let number = value.doubleValue else {
            throw CommandError(.typeMismatch, "Expected a number, got value of type \(value.typeName) for field \(key)")
        }
        guard let exact = value.intValue else {
            throw CommandError(.badValue, "Expected field \"\(key)\" to have a value exactly representable as a 64-bit integer, but found \(key): \(BSONText.render(value)) (\(number))")
        }
        return Int64(exact)
    }

    /// The IDL `validator:` comparison failure (`throwComparisonError`).
    func check<T: Comparable>(_ key: String, _ value: T, _ op: String, _ bound: T, _ holds: (T, T) -> Bool) throws(CommandError) {
        guard holds(value, bound) else {
            throw CommandError(.badValue, "BSON field '\(key)' value must be \(op) \(bound), actual value '\(value)'")
        }
    }

    private func wrongType(_ key: String, _ value: BSON, expected: String) -> CommandError {
        CommandError(.typeMismatch, "BSON field '\(structName).\(key)' is the wrong type '\(value.typeName)', expected \(expected)")
    }
}
