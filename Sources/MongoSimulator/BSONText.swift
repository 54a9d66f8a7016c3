import Foundation
import MongoBSON

/// Documents as mongod prints them inside error messages (`BSONObj::toString`), which is not
/// extended JSON: `{ _id: "rs0", version: 1, members: [ { _id: 0, host: "a:27017" } ] }`.
enum BSONText {
    static func render(_ document: BSONDocument) -> String {
        if document.isEmpty { return "{}" }
        let fields = document.elements.map { "\($0.key): \(render($0.value))" }
        return "{ \(fields.joined(separator: ", ")) }"
    }

    static func render(_ value: BSON) -> String {
        switch value {
        case .double(let v): return v.rounded() == v && abs(v) < 1e15 ? "\(Int64(v)).0" : formatDouble(v)
        case .string(let v): return "\"\(v)\""
        case .document(let v): return render(v)
        case .array(let v): return v.isEmpty ? "[]" : "[ \(v.map(render).joined(separator: ", ")) ]"
        case .binary(let subtype, let bytes): return "BinData(\(subtype), \(bytes.map { String(format: "%02X", $0) }.joined()))"
        case .objectId(let v): return "ObjectId('\(v.hex)')"
        case .bool(let v): return v ? "true" : "false"
        case .datetime(let v): return "new Date(\(v))"
        case .null: return "null"
        case .regex(let pattern, let options): return "/\(pattern)/\(options)"
        case .int32(let v): return String(v)
        case .timestamp(let s, let i): return "Timestamp(\(s), \(i))"
        case .int64(let v): return String(v)
        case .decimal128: return "NumberDecimal(...)"
        case .undefined: return "undefined"
        case .minKey: return "MinKey"
        case .maxKey: return "MaxKey"
        }
    }

    /// A double as C++'s `ostream << double` prints it (%g), which is how mongod writes
    /// priorities into messages: 2 → "2", 0.5 → "0.5".
    static func formatDouble(_ value: Double) -> String {
        String(format: "%g", value)
    }

    /// A date as mongod writes it in messages (`dateToISOStringUTC`): 2026-11-22T08:00:00.000+00:00.
    static func isoDate(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date).replacingOccurrences(of: "Z", with: "+00:00")
    }
}

extension BSONDocument {
    /// Appends every field of `other`, in order (`BSONObjBuilder::appendElements`).
    mutating func append(contentsOf other: BSONDocument) {
        for element in other { append(element.key, element.value) }
    }
}
