/// The part of YAML that spec files use, read without Foundation (which Yams needs, and which
/// alone cost the tool 4 MiB of its peak memory, BENCHMARKS.md): block mappings and sequences,
/// flow mappings and sequences (so every JSON document), plain, single- and double-quoted
/// scalars, and comments. Anchors, tags and block scalars (`|`, `>`) are refused by name.
/// Every node keeps its line, for messages that name it.
indirect enum SpecYAML {
    case scalar(String, line: Int)
    case mapping([(key: SpecYAML, value: SpecYAML)], line: Int)
    case sequence([SpecYAML], line: Int)

    var line: Int {
        switch self {
        case .scalar(_, let line), .mapping(_, let line), .sequence(_, let line): return line
        }
    }

    var text: String? {
        if case .scalar(let text, _) = self { return text }
        return nil
    }

    var mapping: [(key: SpecYAML, value: SpecYAML)]? {
        if case .mapping(let pairs, _) = self { return pairs }
        return nil
    }

    var sequence: [SpecYAML]? {
        if case .sequence(let items, _) = self { return items }
        return nil
    }

    struct SyntaxError: Error {
        var message: String
        var line: Int
        var description: String { "\(message) (line \(line))" }
    }

    /// The deepest nesting of lists and mappings a document may have. A spec needs 4 (members,
    /// a member, its tags; settings, getLastErrorModes, a mode); the reader recurses once per
    /// level, so a hostile file of 50,000 '[' would otherwise overflow the stack.
    static let maxDepth = 64

    /// nil for a document with no content.
    static func parse(_ text: String) throws(SyntaxError) -> SpecYAML? {
        var parser = Parser(Array(text.unicodeScalars))
        return try parser.document()
    }

    private struct Parser {
        let characters: [Unicode.Scalar]
        var index = 0
        var line = 1
        var column = 0
        /// Collections open around the current position.
        var depth = 0

        init(_ characters: [Unicode.Scalar]) {
            self.characters = characters.first == "\u{FEFF}" ? Array(characters.dropFirst()) : characters
        }

        var current: Unicode.Scalar? { index < characters.count ? characters[index] : nil }
        func peek(_ offset: Int) -> Unicode.Scalar? { index + offset < characters.count ? characters[index + offset] : nil }
        var atEnd: Bool { index >= characters.count }

        mutating func advance() {
            if characters[index] == "\n" {
                line += 1
                column = 0
            } else {
                column += 1
            }
            index += 1
        }

        func fail(_ message: String) -> SyntaxError { SyntaxError(message: message, line: line) }

        /// Called as a collection opens; the caller closes it with `depth -= 1` (defer).
        mutating func enterCollection() throws(SyntaxError) {
            guard depth < SpecYAML.maxDepth else {
                throw fail("lists and mappings nested more than \(SpecYAML.maxDepth) levels deep; a spec needs 4")
            }
            depth += 1
        }

        static func isBlank(_ character: Unicode.Scalar?) -> Bool {
            character == nil || character == " " || character == "\t" || character == "\n" || character == "\r"
        }

        /// Spaces, comments and line breaks.
        mutating func skipBlankAndComments() throws(SyntaxError) {
            while let character = current {
                if character == " " || character == "\n" || character == "\r" {
                    advance()
                } else if character == "\t" {
                    if column == 0 || characters[index - column..<index].allSatisfy({ $0 == " " || $0 == "\t" }) {
                        throw fail("a tab in indentation; YAML indents with spaces")
                    }
                    advance()
                } else if character == "#" {
                    while let next = current, next != "\n" { advance() }
                } else {
                    return
                }
            }
        }

        /// Spaces and a comment on the current line; true when the line has nothing more.
        mutating func skipToLineEnd() -> Bool {
            while current == " " || current == "\t" || current == "\r" { advance() }
            if current == "#" { while let next = current, next != "\n" { advance() } }
            return atEnd || current == "\n"
        }

        mutating func document() throws(SyntaxError) -> SpecYAML? {
            try skipBlankAndComments()
            if column == 0, current == "-", peek(1) == "-", peek(2) == "-", Self.isBlank(peek(3)) {
                for _ in 0..<3 { advance() }
                try skipBlankAndComments()
            }
            guard !atEnd else { return nil }
            let node = try block(minimumColumn: 0)
            try skipBlankAndComments()
            if column == 0, current == ".", peek(1) == ".", peek(2) == "." {
                for _ in 0..<3 { advance() }
                try skipBlankAndComments()
            }
            guard atEnd else { throw fail("unexpected content; is it indented as intended?") }
            return node
        }

        /// A node in block context, at the current position (after blanks), whose column must be
        /// at least `minimumColumn`.
        mutating func block(minimumColumn: Int) throws(SyntaxError) -> SpecYAML {
            let start = column
            guard start >= minimumColumn else { throw fail("expected an indented value") }
            try refuseUnsupported()
            if current == "-", Self.isBlank(peek(1)) { return try blockSequence(column: start) }
            if current == "[" || current == "{" { return try flow() }
            let startLine = line
            let scalar = try self.scalar(flow: false)
            skipInlineSpaces()
            if current == ":", Self.isBlank(peek(1)) { return try blockMapping(column: start, firstKey: .scalar(scalar, line: startLine)) }
            guard skipToLineEnd() else { throw fail("unexpected '\(current.map(String.init) ?? "")' after a value") }
            return .scalar(scalar, line: startLine)
        }

        mutating func skipInlineSpaces() {
            while current == " " { advance() }
        }

        mutating func refuseUnsupported() throws(SyntaxError) {
            switch current {
            case "&", "*": throw fail("anchors and aliases are not supported in spec files")
            case "!": throw fail("tags are not supported in spec files")
            case "|", ">": throw fail("block scalars ('|', '>') are not supported in spec files")
            case "?": throw fail("complex keys ('?') are not supported in spec files")
            default: return
            }
        }

        mutating func blockSequence(column sequenceColumn: Int) throws(SyntaxError) -> SpecYAML {
            try enterCollection()
            defer { depth -= 1 }
            let startLine = line
            var items: [SpecYAML] = []
            while current == "-", column == sequenceColumn, Self.isBlank(peek(1)) {
                advance()
                if skipToLineEnd() {
                    try skipBlankAndComments()
                    if atEnd || column <= sequenceColumn {
                        items.append(.scalar("", line: line))
                    } else {
                        items.append(try block(minimumColumn: sequenceColumn + 1))
                    }
                } else {
                    items.append(try block(minimumColumn: sequenceColumn + 1))
                }
                try skipBlankAndComments()
                if !atEnd && column > sequenceColumn { throw fail("this line is indented more than the list item before it") }
            }
            return .sequence(items, line: startLine)
        }

        /// A block mapping whose first key has been read; the position is at its ':'.
        mutating func blockMapping(column mappingColumn: Int, firstKey: SpecYAML) throws(SyntaxError) -> SpecYAML {
            try enterCollection()
            defer { depth -= 1 }
            let startLine = firstKey.line
            var pairs: [(key: SpecYAML, value: SpecYAML)] = []
            var key = firstKey
            while true {
                advance() // ':'
                let value: SpecYAML
                if skipToLineEnd() {
                    let keyLine = line
                    try skipBlankAndComments()
                    if !atEnd && (column > mappingColumn || (column == mappingColumn && current == "-" && Self.isBlank(peek(1)))) {
                        value = try block(minimumColumn: column)
                    } else {
                        value = .scalar("", line: keyLine)
                    }
                } else {
                    try refuseUnsupported()
                    if current == "[" || current == "{" {
                        value = try flow()
                        guard skipToLineEnd() else { throw fail("unexpected content after a flow collection") }
                    } else {
                        let valueLine = line
                        let text = try scalar(flow: false)
                        skipInlineSpaces()
                        if current == ":", Self.isBlank(peek(1)) { throw fail("a mapping cannot start on the line of a key; put it on the next line, indented") }
                        guard skipToLineEnd() else { throw fail("unexpected '\(current.map(String.init) ?? "")' after a value") }
                        value = .scalar(text, line: valueLine)
                    }
                }
                pairs.append((key, value))
                try skipBlankAndComments()
                if atEnd || column < mappingColumn { break }
                if column > mappingColumn { throw fail("this line is indented more than the keys before it") }
                if current == "-", Self.isBlank(peek(1)) { throw fail("a list item where a key was expected") }
                let keyLine = line
                try refuseUnsupported()
                let text = try scalar(flow: false)
                skipInlineSpaces()
                guard current == ":", Self.isBlank(peek(1)) else { throw fail("expected 'key: value'") }
                key = .scalar(text, line: keyLine)
            }
            return .mapping(pairs, line: startLine)
        }

        /// `{…}` or `[…]`, across lines.
        mutating func flow() throws(SyntaxError) -> SpecYAML {
            try enterCollection()
            defer { depth -= 1 }
            let startLine = line
            let open = current!
            let close: Unicode.Scalar = open == "{" ? "}" : "]"
            advance()
            var pairs: [(key: SpecYAML, value: SpecYAML)] = []
            var items: [SpecYAML] = []
            while true {
                try skipBlankAndComments()
                guard let character = current else { throw fail("'\(open)' is never closed with '\(close)'") }
                if character == close { advance(); break }
                let node = try flowNode()
                if open == "{" {
                    try skipBlankAndComments()
                    var value = SpecYAML.scalar("", line: line)
                    if current == ":" {
                        advance()
                        try skipBlankAndComments()
                        if current != "," && current != "}" { value = try flowNode() }
                    }
                    pairs.append((node, value))
                } else {
                    items.append(node)
                }
                try skipBlankAndComments()
                if current == "," { advance(); continue }
                guard current == close else { throw fail(current == nil ? "'\(open)' is never closed with '\(close)'" : "expected ',' or '\(close)'") }
            }
            return open == "{" ? .mapping(pairs, line: startLine) : .sequence(items, line: startLine)
        }

        mutating func flowNode() throws(SyntaxError) -> SpecYAML {
            try refuseUnsupported()
            if current == "[" || current == "{" { return try flow() }
            let startLine = line
            return .scalar(try scalar(flow: true), line: startLine)
        }

        /// A plain or quoted scalar. A plain one ends at a line end, a comment, or ": "; in flow
        /// context also at ',', ':' before a blank or indicator, and the brackets.
        mutating func scalar(flow: Bool) throws(SyntaxError) -> String {
            if current == "\"" { return try doubleQuoted() }
            if current == "'" { return try singleQuoted() }
            var text = String.UnicodeScalarView()
            while let character = current, character != "\n" {
                if character == "#", text.last == " " || text.last == "\t" { break }
                if character == ":" {
                    let next = peek(1)
                    if Self.isBlank(next) || (flow && (next == "," || next == "}" || next == "]")) { break }
                }
                if flow && (character == "," || character == "]" || character == "}" || character == "[" || character == "{") { break }
                text.append(character)
                advance()
            }
            var result = String(text)
            while result.last == " " || result.last == "\t" || result.last == "\r" { result.removeLast() }
            if result.isEmpty { throw fail("expected a value") }
            return result
        }

        mutating func singleQuoted() throws(SyntaxError) -> String {
            advance()
            var text = String.UnicodeScalarView()
            while true {
                guard let character = current else { throw fail("a single-quoted string is never closed") }
                advance()
                if character == "'" {
                    if current == "'" { text.append("'"); advance(); continue }
                    return String(text)
                }
                text.append(character)
            }
        }

        mutating func doubleQuoted() throws(SyntaxError) -> String {
            advance()
            var text = String.UnicodeScalarView()
            while true {
                guard let character = current else { throw fail("a double-quoted string is never closed") }
                advance()
                switch character {
                case "\"":
                    return String(text)
                case "\\":
                    guard let escaped = current else { throw fail("a double-quoted string is never closed") }
                    advance()
                    switch escaped {
                    case "\"", "\\", "/": text.append(escaped)
                    case "n": text.append("\n")
                    case "t": text.append("\t")
                    case "r": text.append("\r")
                    case "b": text.append("\u{8}")
                    case "f": text.append("\u{C}")
                    case "0": text.append("\u{0}")
                    case " ": text.append(" ")
                    case "u":
                        var value: UInt32 = 0
                        for _ in 0..<4 {
                            guard let digit = current, let hex = Int(String(digit), radix: 16) else { throw fail("\\u needs four hexadecimal digits") }
                            value = value * 16 + UInt32(hex)
                            advance()
                        }
                        guard let scalar = Unicode.Scalar(value) else { throw fail("\\u\(String(value, radix: 16)) is not a character") }
                        text.append(scalar)
                    default:
                        throw fail("unknown escape '\\\(escaped)' in a double-quoted string")
                    }
                default:
                    text.append(character)
                }
            }
        }
    }
}
