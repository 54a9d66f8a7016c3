import CYAML
import ReplicaSetBootstrap

/// A spec file's YAML, parsed by libyaml (no Foundation, which Yams needs and which alone cost
/// the tool 4 MiB of its peak memory, BENCHMARKS.md) and typed here. Every node keeps its line,
/// for messages that name it.
///
/// Typing: quoted and block scalars (`|`, `>`) are strings. A plain scalar gets a type only
/// where YAML 1.1 (PyYAML, older Kubernetes tooling) and YAML 1.2 (the core schema) agree:
/// `true`/`false` (three cases), `null`/`~`/empty, decimal integers without a leading zero,
/// `0x` hexadecimal, decimals with a point (an exponent with its sign), `.inf`, `.nan`.
/// Where they disagree (`yes`, `on`, `y`, `017`, `0o17`, `1_000`, `1e5`, `-.5`, `1:30`,
/// `2001-12-14`, `<<`, `=`) the scalar is `ambiguous` and a field refuses it, saying why: a
/// file must never mean one thing here and another to a different YAML reader.
///
/// Refused by name: anchors and aliases (no billion laughs), tags (`!!str`: quote instead),
/// keys that are not strings, a key given twice, more than one document, and lists and
/// mappings nested deeper than `maxDepth`.
struct SpecYAML {
    enum Value {
        case null
        case bool(Bool)
        /// nil: a whole number past Int's range (the node's `text` has it).
        case int(Int?)
        case float(Double)
        case string(String)
        /// A plain scalar that YAML 1.1 and YAML 1.2 read differently: how.
        case ambiguous(String)
        /// Keys are `.string` nodes, each once.
        case mapping([(key: SpecYAML, value: SpecYAML)])
        case sequence([SpecYAML])
    }

    var value: Value
    /// A scalar as written, quotes and escapes resolved (a NUL included); empty for a collection.
    var text: String
    var line: Int

    var string: String? {
        if case .string(let text) = value { return text }
        return nil
    }

    var mapping: [(key: SpecYAML, value: SpecYAML)]? {
        if case .mapping(let pairs) = value { return pairs }
        return nil
    }

    var sequence: [SpecYAML]? {
        if case .sequence(let items) = value { return items }
        return nil
    }

    struct SyntaxError: Error {
        var message: String
        var line: Int
        var description: String { "\(message) (line \(line))" }
    }

    /// The deepest nesting of lists and mappings a document may have. A spec needs 4 (members,
    /// a member, its tags; settings, getLastErrorModes, a mode); the tree is built recursively,
    /// so a hostile file of 50,000 '[' would otherwise overflow the stack.
    static let maxDepth = 64

    /// nil for a stream with no document.
    static func parse(_ text: String) throws(SyntaxError) -> SpecYAML? {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { (buffer) throws(SyntaxError) -> SpecYAML? in
            let events = Events(buffer)
            return try events.document()
        }
    }

    /// libyaml's events, turned into nodes.
    private final class Events {
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        let input: UnsafeBufferPointer<UInt8>

        struct Event {
            var type: yaml_event_type_t
            var line: Int
            /// A scalar's value, as libyaml resolved quotes and escapes.
            var text = ""
            var plain = false
            var anchored = false
            var tagged = false
        }

        init(_ input: UnsafeBufferPointer<UInt8>) {
            self.input = input
            yaml_parser_initialize(parser)
            // No yaml_parser_set_encoding: with one, libyaml keeps a byte order mark as text.
            // It finds UTF-8 by itself; a UTF-16 mark is not UTF-8 and never gets here.
            yaml_parser_set_input_string(parser, input.baseAddress, input.count)
        }

        deinit {
            yaml_parser_delete(parser)
            parser.deallocate()
        }

        func next() throws(SyntaxError) -> Event {
            var event = yaml_event_t()
            guard yaml_parser_parse(parser, &event) == 1 else { throw failure() }
            defer { yaml_event_delete(&event) }
            var result = Event(type: event.type, line: event.start_mark.line + 1)
            switch event.type {
            case YAML_SCALAR_EVENT:
                let scalar = event.data.scalar
                // By length, not strlen: a "\0" escape must not end the text.
                let bytes = UnsafeBufferPointer(start: scalar.value, count: scalar.length)
                guard let text = String(validating: bytes, as: UTF8.self) else { throw SyntaxError(message: "not valid YAML or JSON: a value is not UTF-8", line: result.line) }
                result.text = text
                result.plain = scalar.style == YAML_PLAIN_SCALAR_STYLE
                result.anchored = scalar.anchor != nil
                result.tagged = scalar.tag != nil
            case YAML_SEQUENCE_START_EVENT:
                result.anchored = event.data.sequence_start.anchor != nil
                result.tagged = event.data.sequence_start.tag != nil
            case YAML_MAPPING_START_EVENT:
                result.anchored = event.data.mapping_start.anchor != nil
                result.tagged = event.data.mapping_start.tag != nil
            default:
                break
            }
            return result
        }

        /// libyaml's own words, with the line.
        func failure() -> SyntaxError {
            let state = parser.pointee
            var message = "not valid YAML or JSON: " + (state.problem.map { String(cString: $0) } ?? "out of memory")
            if state.error == YAML_READER_ERROR {
                // A reader error has an offset, not a mark.
                if state.problem_value != -1 { message += " (character \\u{\(String(state.problem_value, radix: 16))})" }
                let offset = min(state.problem_offset, input.count)
                return SyntaxError(message: message, line: 1 + input[..<offset].count { $0 == UInt8(ascii: "\n") })
            }
            if let context = state.context {
                message += " " + String(cString: context) + " that starts on line \(state.context_mark.line + 1)"
            }
            return SyntaxError(message: message, line: state.problem_mark.line + 1)
        }

        func document() throws(SyntaxError) -> SpecYAML? {
            _ = try next() // stream start
            let start = try next()
            guard start.type == YAML_DOCUMENT_START_EVENT else { return nil }
            let root = try node(try next(), depth: 0)
            _ = try next() // document end
            let after = try next()
            guard after.type == YAML_STREAM_END_EVENT else {
                throw SyntaxError(message: "a second document ('---'); a spec file holds one", line: after.line)
            }
            return root
        }

        func node(_ event: Event, depth: Int) throws(SyntaxError) -> SpecYAML {
            func fail(_ message: String) -> SyntaxError { SyntaxError(message: message, line: event.line) }
            if event.anchored || event.type == YAML_ALIAS_EVENT {
                throw fail("anchors (&name) and aliases (*name) are not supported in spec files; write the value out")
            }
            if event.tagged { throw fail("tags ('!!str', '!name') are not supported in spec files; quote a value to make it a string") }
            if event.type == YAML_SCALAR_EVENT {
                return SpecYAML(value: event.plain ? SpecYAML.resolve(plain: event.text) : .string(event.text), text: event.text, line: event.line)
            }
            guard depth < SpecYAML.maxDepth else {
                throw fail("lists and mappings nested more than \(SpecYAML.maxDepth) levels deep; a spec needs 4")
            }
            if event.type == YAML_SEQUENCE_START_EVENT {
                var items: [SpecYAML] = []
                while case let item = try next(), item.type != YAML_SEQUENCE_END_EVENT {
                    items.append(try node(item, depth: depth + 1))
                }
                return SpecYAML(value: .sequence(items), text: "", line: event.line)
            }
            var pairs: [(key: SpecYAML, value: SpecYAML)] = []
            var keyLines: [String: Int] = [:]
            while case let keyEvent = try next(), keyEvent.type != YAML_MAPPING_END_EVENT {
                let key = try node(keyEvent, depth: depth + 1)
                guard let name = key.string else {
                    let advice = key.mapping == nil && key.sequence == nil ? "; quote it" : ""
                    throw SyntaxError(message: "a key must be a string, and \(key.shown) is not\(key.reason)\(advice)", line: key.line)
                }
                if let first = keyLines.updateValue(key.line, forKey: name) {
                    throw SyntaxError(message: "the key '\(name.printable(limit: 80))' is given twice (first on line \(first))", line: key.line)
                }
                pairs.append((key, try node(try next(), depth: depth + 1)))
            }
            return SpecYAML(value: .mapping(pairs), text: "", line: event.line)
        }
    }
}

// MARK: - What a node is, for messages

extension SpecYAML {
    /// The node as a message shows it: a scalar's text in quotes (double for a string that would
    /// read as something else unquoted), or what kind of collection it is.
    var shown: String {
        switch value {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .string(let text) where !SpecYAML.readsAsString(text): return "\"\(text.printable(limit: 80))\""
        default: return text.isEmpty ? "an empty value" : "'\(text.printable(limit: 80))'"
        }
    }

    /// Why the node is not what a field wanted, after `shown`: what YAML reads it as.
    var reason: String {
        switch value {
        case .null: return " (YAML reads it as null: no value)"
        case .bool: return " (YAML reads it as a boolean)"
        case .int, .float: return " (YAML reads it as a number)"
        case .ambiguous(let why): return " (\(why))"
        case .string(let text) where !SpecYAML.readsAsString(text): return " (quoted, so a string)"
        case .string, .mapping, .sequence: return ""
        }
    }

    private static func readsAsString(_ text: String) -> Bool {
        if case .string = resolve(plain: text) { return true }
        return false
    }
}

// MARK: - Plain scalars: YAML 1.1 and YAML 1.2

extension SpecYAML {
    /// What a plain scalar reads as in one YAML version.
    private enum Kind: Equatable {
        case null, bool(Bool), int, float, string
        /// YAML 1.1 only: a date, the merge key `<<`, the value key `=`.
        case other(String)

        var words: String {
            switch self {
            case .null: return "null (no value)"
            case .bool(let value): return "the boolean \(value)"
            case .int, .float: return "a number"
            case .string: return "a string"
            case .other(let words): return words
            }
        }
    }

    /// The value of a plain scalar where YAML 1.1 and 1.2 agree, else `.ambiguous`.
    static func resolve(plain text: String) -> Value {
        // Every reading but a string starts with one of these, in both versions.
        guard let first = text.utf8.first else { return .null }
        guard "0123456789+-.~nNtTfFyYoO<=".utf8.contains(first) else { return .string(text) }
        let bytes = Array(text.utf8)
        switch (yaml11(text, bytes), yaml12(text, bytes)) {
        case (.string, .string):
            return .string(text)
        case (.null, .null):
            return .null
        case (.bool(let old), .bool(let new)) where old == new:
            return .bool(new)
        case (.int, .int):
            if bytes.count > 2, bytes[0] == UInt8(ascii: "0"), bytes[1] == UInt8(ascii: "x") {
                return .int(Int(text.dropFirst(2), radix: 16))
            }
            let digits = bytes.drop { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "+") }
            if digits.count > 1, digits.first == UInt8(ascii: "0") {
                return .ambiguous("YAML 1.1 reads a number with a leading 0 as octal, YAML 1.2 as decimal")
            }
            return .int(Int(text))
        case (.float, .float):
            if text.hasSuffix("nan") || text.hasSuffix("NaN") || text.hasSuffix("NAN") { return .float(.nan) }
            if let last = text.last, last == "f" || last == "F" { return .float(text.hasPrefix("-") ? -.infinity : .infinity) }
            return Double(text).map(Value.float) ?? .ambiguous("not a number Swift can read")
        case let (old, new):
            return .ambiguous("YAML 1.1 reads it as \(old.words), YAML 1.2 as \(new.words)")
        }
    }

    /// A cursor over a scalar's bytes, for the resolvers' patterns (all ASCII).
    private struct Scan {
        let bytes: [UInt8]
        var index = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { index == bytes.count }
        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        /// One byte from `set`.
        @discardableResult
        mutating func one(_ set: String) -> Bool {
            guard let byte = current, set.utf8.contains(byte) else { return false }
            index += 1
            return true
        }

        /// Bytes from `set` while there are; how many.
        @discardableResult
        mutating func many(_ set: String) -> Int {
            let start = index
            while one(set) {}
            return index - start
        }

        /// `.inf` or `.nan` in one of its three cases, up to the end.
        func rest(isOneOf words: Set<String>) -> Bool {
            bytes.count - index == 4 && words.contains(String(decoding: bytes[index...], as: UTF8.self))
        }
    }

    private static let infinity: Set = [".inf", ".Inf", ".INF"]
    private static let notANumber: Set = [".nan", ".NaN", ".NAN"]
    private static let nulls: [String: Kind] = ["": .null, "~": .null, "null": .null, "Null": .null, "NULL": .null]
    /// YAML 1.2's words: null and the booleans.
    private static let words12 = nulls.merging(["true", "True", "TRUE"].map { ($0, Kind.bool(true)) } + ["false", "False", "FALSE"].map { ($0, Kind.bool(false)) }) { $1 }
    /// YAML 1.1's words: 1.2's, its other booleans, and the merge and value keys.
    private static let words11 = words12.merging(
        ["yes", "Yes", "YES", "on", "On", "ON", "y", "Y"].map { ($0, Kind.bool(true)) }
            + ["no", "No", "NO", "off", "Off", "OFF", "n", "N"].map { ($0, Kind.bool(false)) }
            + [("<<", .other("a merge key")), ("=", .other("a value key"))]) { $1 }
    private static let digits = "0123456789"
    private static let sign = "-+"

    /// PyYAML's resolver (`yaml/resolver.py`), which follows YAML 1.1's types, and the rest of
    /// YAML 1.1's booleans (`y`, `n`).
    private static func yaml11(_ text: String, _ bytes: [UInt8]) -> Kind {
        if let kind = words11[text] { return kind }
        if isInt11(bytes) { return .int }
        if isFloat11(bytes) { return .float }
        if isTimestamp11(bytes) { return .other("a date") }
        return .string
    }

    /// `[-+]?(0b[0-1_]+ | 0[0-7_]+ | 0 | [1-9][0-9_]* | 0x[0-9a-fA-F_]+ | [1-9][0-9_]*(:[0-5]?[0-9])+)`
    private static func isInt11(_ bytes: [UInt8]) -> Bool {
        var scan = Scan(bytes)
        scan.one(sign)
        if scan.one("0") {
            if scan.atEnd { return true }
            if scan.one("b") { return scan.many("01_") > 0 && scan.atEnd }
            if scan.one("x") { return scan.many("0123456789abcdefABCDEF_") > 0 && scan.atEnd }
            return scan.many("01234567_") > 0 && scan.atEnd
        }
        guard scan.one("123456789") else { return false }
        scan.many(digits + "_")
        while !scan.atEnd {
            guard sexagesimalPart(&scan) else { return false }
        }
        return true
    }

    /// `:[0-5]?[0-9]`
    private static func sexagesimalPart(_ scan: inout Scan) -> Bool {
        guard scan.one(":") else { return false }
        let start = scan.index
        let count = scan.many(digits)
        return count == 1 || (count == 2 && (UInt8(ascii: "0")...UInt8(ascii: "5")).contains(scan.bytes[start]))
    }

    /// `[-+]?[0-9][0-9_]*\.[0-9_]*([eE][-+][0-9]+)? | \.[0-9_]+([eE][-+][0-9]+)?
    ///  | [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]* | [-+]?\.(inf|Inf|INF) | \.(nan|NaN|NAN)`
    private static func isFloat11(_ bytes: [UInt8]) -> Bool {
        var scan = Scan(bytes)
        if scan.rest(isOneOf: notANumber) { return true }
        let signed = scan.one(sign)
        if scan.rest(isOneOf: infinity) { return true }
        if scan.one(".") {
            return !signed && scan.many(digits + "_") > 0 && exponent11(&scan)
        }
        guard scan.one(digits) else { return false }
        scan.many(digits + "_")
        if scan.current == UInt8(ascii: ":") {
            while scan.current == UInt8(ascii: ":") {
                guard sexagesimalPart(&scan) else { return false }
            }
            guard scan.one(".") else { return false }
            scan.many(digits + "_")
            return scan.atEnd
        }
        guard scan.one(".") else { return false }
        scan.many(digits + "_")
        return exponent11(&scan)
    }

    /// `([eE][-+][0-9]+)?` and the end.
    private static func exponent11(_ scan: inout Scan) -> Bool {
        if scan.one("eE") {
            guard scan.one(sign), scan.many(digits) > 0 else { return false }
        }
        return scan.atEnd
    }

    /// `[0-9]{4}-[0-9]{2}-[0-9]{2}`, or `[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}` then `[Tt]` or blanks,
    /// `[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]*)?([ \t]*(Z|[-+][0-9]{1,2}(:[0-9]{2})?))?`
    private static func isTimestamp11(_ bytes: [UInt8]) -> Bool {
        var scan = Scan(bytes)
        guard scan.many(digits) == 4, scan.one("-") else { return false }
        let month = scan.many(digits)
        guard (1...2).contains(month), scan.one("-") else { return false }
        let day = scan.many(digits)
        guard (1...2).contains(day) else { return false }
        if scan.atEnd { return month == 2 && day == 2 }
        guard scan.one("Tt") || scan.many(" \t") > 0 else { return false }
        guard (1...2).contains(scan.many(digits)), scan.one(":"), scan.many(digits) == 2, scan.one(":"), scan.many(digits) == 2 else { return false }
        if scan.one(".") { scan.many(digits) }
        if scan.atEnd { return true }
        scan.many(" \t")
        if scan.one("Z") { return scan.atEnd }
        guard scan.one(sign), (1...2).contains(scan.many(digits)) else { return false }
        if scan.one(":") { guard scan.many(digits) == 2 else { return false } }
        return scan.atEnd
    }

    /// YAML 1.2's core schema (spec 10.3.2).
    private static func yaml12(_ text: String, _ bytes: [UInt8]) -> Kind {
        if let kind = words12[text] { return kind }
        if notANumber.contains(text) { return .float }
        var scan = Scan(bytes)
        if scan.one("0") {
            if scan.one("o") { return scan.many("01234567") > 0 && scan.atEnd ? .int : .string }
            if scan.one("x") { return scan.many("0123456789abcdefABCDEF") > 0 && scan.atEnd ? .int : .string }
            scan.index = 0
        }
        // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?, or an int
        scan.one(sign)
        if scan.rest(isOneOf: infinity) { return .float }
        let whole = scan.many(digits)
        if whole > 0 && scan.atEnd { return .int }
        var fraction = 0
        if scan.one(".") { fraction = scan.many(digits) }
        guard whole > 0 || fraction > 0 else { return .string }
        if scan.one("eE") {
            scan.one(sign)
            guard scan.many(digits) > 0 else { return .string }
        }
        return scan.atEnd ? .float : .string
    }
}
