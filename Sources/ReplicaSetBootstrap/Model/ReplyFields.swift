import MongoBSON

/// A server reply that does not have the shape mongod gives: a field of the wrong type, a value
/// outside what mongod itself accepts, a host that is not `host:port`. Every byte from a node is
/// untrusted input, so such a reply is refused, never acted on (exit 65). The message names the
/// field by its path and shows the offending value made printable.
public struct ReplyError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Checked, typed reads of one document of a reply. An absent field reads as nil (mongod leaves
/// out what does not apply); a present field of the wrong type, or a number outside the range
/// given, throws naming the field. Numbers are accepted in any of BSON's widths, as mongod's own
/// parsers do (`safeInt64`, `safeDouble`), but integers must be integral.
struct ReplyFields {
    let document: BSONDocument
    /// Where this document sits in the reply: written out only for an error, since a config of
    /// 50 members has hundreds of nested documents whose paths no one reads.
    private let location: Location

    /// `config.members[2].tags`, as the steps that lead there.
    private indirect enum Location {
        case top(String)
        case field(Location, String)
        case element(Location, String, Int)

        var path: String {
            switch self {
            case .top(let path): return path
            case .field(let parent, let key): return parent.name(key)
            case .element(let parent, let key, let index): return parent.name("\(key)[\(index)]")
            }
        }

        func name(_ key: String) -> String {
            let path = path
            return path.isEmpty ? key : "\(path).\(key)"
        }
    }

    /// `path`: where the document sits in the reply, e.g. `config`; empty at the top.
    init(_ document: BSONDocument, path: String = "") {
        self.init(document, location: .top(path))
    }

    private init(_ document: BSONDocument, location: Location) {
        self.document = document
        self.location = location
    }

    func name(_ key: String) -> String { location.name(key) }

    func failure(_ key: String, _ problem: String) -> ReplyError {
        ReplyError("field '\(name(key))' \(problem)")
    }

    /// A bool: mongod parses `safeBool` fields from numbers too, but always writes them as bools.
    func bool(_ key: String) throws(ReplyError) -> Bool? {
        guard let value = document[key] else { return nil }
        guard case .bool(let flag) = value else { throw failure(key, "is \(value.shortDescription), not a boolean") }
        return flag
    }

    func string(_ key: String) throws(ReplyError) -> String? {
        guard let value = document[key] else { return nil }
        guard case .string(let text) = value else { throw failure(key, "is \(value.shortDescription), not a string") }
        return text
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws(ReplyError) -> Int? {
        guard let value = document[key] else { return nil }
        guard value.doubleValue != nil else { throw failure(key, "is \(value.shortDescription), not a number") }
        guard let number = value.intValue, range.contains(number) else {
            throw failure(key, "is \(value.shortDescription), outside mongod's range \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    func double(_ key: String, in range: ClosedRange<Double>) throws(ReplyError) -> Double? {
        guard let value = document[key] else { return nil }
        guard let number = value.doubleValue else { throw failure(key, "is \(value.shortDescription), not a number") }
        guard range.contains(number) else {
            throw failure(key, "is \(value.shortDescription), outside mongod's range \(range.lowerBound.shortDescription) to \(range.upperBound.shortDescription)")
        }
        return number
    }

    func objectId(_ key: String) throws(ReplyError) -> ObjectId? {
        guard let value = document[key] else { return nil }
        guard case .objectId(let id) = value else { throw failure(key, "is \(value.shortDescription), not an ObjectId") }
        return id
    }

    func timestamp(_ key: String) throws(ReplyError) -> (seconds: UInt32, increment: UInt32)? {
        guard let value = document[key] else { return nil }
        guard case .timestamp(let seconds, let increment) = value else { throw failure(key, "is \(value.shortDescription), not a timestamp") }
        return (seconds, increment)
    }

    func fields(_ key: String) throws(ReplyError) -> ReplyFields? {
        guard let value = document[key] else { return nil }
        guard case .document(let nested) = value else { throw failure(key, "is \(value.shortDescription), not a document") }
        return ReplyFields(nested, location: .field(location, key))
    }

    /// An array of documents, at most `limit` of them.
    func documents(_ key: String, limit: Int) throws(ReplyError) -> [ReplyFields]? {
        guard let value = document[key] else { return nil }
        guard case .array(let items) = value else { throw failure(key, "is \(value.shortDescription), not an array") }
        guard items.count <= limit else { throw failure(key, "has \(items.count) entries; mongod allows at most \(limit)") }
        var result: [ReplyFields] = []
        result.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            guard case .document(let nested) = item else { throw failure("\(key)[\(index)]", "is \(item.shortDescription), not a document") }
            result.append(ReplyFields(nested, location: .element(location, key, index)))
        }
        return result
    }

    /// A document of string values only (member `tags` and `horizons`).
    func stringMap(_ key: String) throws(ReplyError) -> [String: String]? {
        guard let nested = try fields(key) else { return nil }
        var map: [String: String] = [:]
        for element in nested.document {
            guard case .string(let text) = element.value else {
                throw nested.failure(element.key, "is \(element.value.shortDescription), not a string")
            }
            map[element.key] = text
        }
        return map
    }

    /// A member address: plain `host[:port]`, nothing a connection string could make more of.
    func host(_ key: String) throws(ReplyError) -> HostAddress? {
        guard let text = try string(key) else { return nil }
        do {
            return try HostAddress(replyText: text)
        } catch {
            throw failure(key, error.message)
        }
    }
}

extension HostAddress {
    /// Longest host text accepted from a node: a DNS name (253) plus a port.
    static let maximumReplyLength = 261

    /// A host as a node wrote it (a config member, `hello.me`, a status member name). mongod
    /// accepts only names and addresses there, so anything else (user info, a path, options,
    /// a second host, a scheme, spaces) means the reply was not written by a mongod, and it must
    /// never reach a connection string.
    init(replyText text: String) throws(ReplyError) {
        // The bytes of a plain host, and the brackets around an IPv6 address.
        let allowed = text.utf8.count <= Self.maximumReplyLength && !text.isEmpty
            && text.utf8.allSatisfy { Self.isPlainHostByte($0) || $0 == UInt8(ascii: "[") || $0 == UInt8(ascii: "]") }
        guard allowed, let parsed = try? HostAddress(parsing: text) else {
            throw ReplyError("is \(BSON.string(text).shortDescription), not a plain host[:port]")
        }
        self = parsed
    }
}

extension BSON {
    /// The value as an error message shows it: its type and, for scalars, the value, made
    /// printable and short, since it comes from a node that may be hostile.
    var shortDescription: String {
        switch self {
        case .string(let text): return "the string \"\(text.printable(limit: 80))\""
        case .int32(let value): return "\(value)"
        case .int64(let value): return "\(value)"
        case .double(let value): return value.shortDescription
        case .bool(let value): return "\(value)"
        case .null: return "null"
        case .document: return "a document"
        case .array(let items): return "an array of \(items.count)"
        default: return "a value of type \(typeName)"
        }
    }
}

extension StringProtocol {
    /// Text from a node made safe to print: control characters (a terminal escape sequence, a
    /// forged log line) become `\u{…}`, and at most `limit` characters are kept.
    public func printable(limit: Int = 300) -> String {
        // Most text is short printable ASCII, kept as it is without looking up each character.
        if utf8.count <= limit && utf8.allSatisfy({ (0x20..<0x7F).contains($0) }) { return String(self) }
        var result = ""
        var count = 0
        for scalar in unicodeScalars {
            if count == limit { return result + "…" }
            count += 1
            if scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format
                || scalar == "\u{2028}" || scalar == "\u{2029}" {
                result += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
