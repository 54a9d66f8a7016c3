/// A member address as mongod writes it in a replica-set config: `host:port`, the port explicit.
/// The host keeps the case it was written with (a config is written back as it was recorded),
/// but compares, hashes and sorts without it: DNS is case-insensitive, so `DB-0` and `db-0` are
/// one member. IPv6 addresses are kept without brackets and printed with them.
public struct HostAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let defaultPort = 27017

    public let host: String
    public let port: Int

    /// The host as DNS compares it, made once: addresses are compared and hashed far more
    /// often than made.
    let canonicalHost: String

    public init(host: String, port: Int = HostAddress.defaultPort) {
        self.host = host
        self.port = port
        canonicalHost = host.lowercased()
    }

    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    public static func == (lhs: HostAddress, rhs: HostAddress) -> Bool {
        lhs.port == rhs.port && lhs.canonicalHost == rhs.canonicalHost
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(canonicalHost)
        hasher.combine(port)
    }

    /// Whether both name the member the same way, case included.
    public func isSpelledLike(_ other: HostAddress) -> Bool {
        host == other.host && port == other.port
    }

    /// Sorted host order, used to pick the initiator deterministically whatever order `--nodes`
    /// was given in, and whatever case.
    public static func < (lhs: HostAddress, rhs: HostAddress) -> Bool {
        (lhs.canonicalHost, lhs.port, lhs.host) < (rhs.canonicalHost, rhs.port, rhs.host)
    }

    /// mongod's rule (`HostAndPort::isLocalHost`, `src/mongo/util/net/hostandport.cpp`): any
    /// host starting with "127." counts, name or address; "localhost" only in lower case, as
    /// mongod compares it.
    public var isLocalhost: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// Only the characters of a DNS name, an IPv4 or an IPv6 address, and a port in range: what
    /// may go into a connection string. `init(parsing:)` and `init(replyText:)` make only such
    /// addresses; the memberwise initializer is checked here before any connection.
    public var isPlain: Bool {
        (1...65535).contains(port) && !host.isEmpty && host.utf8.count <= 253 && host.utf8.allSatisfy(Self.isPlainHostByte)
    }

    /// A letter, digit, '.', '-', '_' (names), or ':' (IPv6): the bytes of a plain host.
    static func isPlainHostByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: ":"):
            return true
        default:
            return false
        }
    }

    /// Parses `host`, `host:port`, `[ipv6]` or `[ipv6]:port`.
    public init(parsing text: String) throws(InvalidInput) {
        if let common = Self.commonForm(text) {
            self = common
        } else {
            try self.init(parsingAnyForm: text)
        }
    }

    /// The full parser, with a message for every refusal.
    init(parsingAnyForm text: String) throws(InvalidInput) {
        let trimmed = text.trimmingSpaces
        guard !trimmed.isEmpty else { throw InvalidInput("empty host: give host[:port], for example db-0.mongo:27017") }
        if let at = trimmed.lastIndex(of: "@") {
            // Never echo what precedes '@': it may be a password.
            throw InvalidInput("host '…\(trimmed[trimmed.index(after: at)...])' contains credentials ('@'): give host[:port] only and pass credentials with --username and --password-file")
        }
        if trimmed.contains("://") {
            throw InvalidInput("'\(trimmed)' is a connection string: give each member as host[:port], for example db-0.mongo:27017")
        }
        var hostPart: Substring
        var portPart: Substring?
        if trimmed.hasPrefix("[") {
            guard let close = trimmed.firstIndex(of: "]") else {
                throw InvalidInput("host '\(trimmed)': missing ']' after the IPv6 address, for example [::1]:27017")
            }
            hostPart = trimmed[trimmed.index(after: trimmed.startIndex)..<close]
            let rest = trimmed[trimmed.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw InvalidInput("host '\(trimmed)': expected ':port' after ']'") }
                portPart = rest.dropFirst()
            }
            guard Self.isIPv6(hostPart) else { throw InvalidInput("host '\(trimmed)': '\(hostPart)' is not an IPv6 address") }
        } else {
            let colons = trimmed.filter { $0 == ":" }.count
            if colons > 1 {
                throw InvalidInput("host '\(trimmed)': IPv6 addresses need brackets, for example [\(trimmed)]:27017")
            }
            if let colon = trimmed.firstIndex(of: ":") {
                hostPart = trimmed[..<colon]
                portPart = trimmed[trimmed.index(after: colon)...]
            } else {
                hostPart = Substring(trimmed)
            }
            if let problem = Self.hostNameProblem(hostPart) {
                throw InvalidInput("host '\(trimmed)': \(problem)")
            }
        }
        var port = Self.defaultPort
        if let portPart {
            guard !portPart.isEmpty else { throw InvalidInput("host '\(trimmed)': empty port after ':'; give a port from 1 to 65535 or leave out ':' for 27017") }
            guard portPart.allSatisfy(\.isASCIIDigit), let number = Int(portPart), (1...65535).contains(number) else {
                throw InvalidInput("host '\(trimmed)': port '\(portPart)' is not a number from 1 to 65535")
            }
            port = number
        }
        self.init(host: String(hostPart), port: port)
    }

    /// `name` or `name:port` (a DNS name or an IPv4 address) read in one pass over the bytes, as
    /// every host in every reply is: the same address the full parser gives, or nil for anything
    /// else, which the full parser then reads or refuses with its message.
    static func commonForm(_ text: String) -> HostAddress? {
        let bytes = text.utf8
        guard !bytes.isEmpty, bytes.count <= 253 + 6 else { return nil }
        var hostEnd = bytes.endIndex
        var port = defaultPort
        if let colon = bytes.firstIndex(of: UInt8(ascii: ":")) {
            let digits = bytes[bytes.index(after: colon)...]
            guard (1...5).contains(digits.count) else { return nil }
            var number = 0
            for byte in digits {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                number = number * 10 + Int(byte - UInt8(ascii: "0"))
            }
            guard (1...65535).contains(number) else { return nil }
            (hostEnd, port) = (colon, number)
        }
        let host = bytes[..<hostEnd]
        guard !host.isEmpty, host.count <= 253 else { return nil }
        // Empty or over-long labels, '-' at either end, and numeric labels that are not 0-255 of
        // at most three digits are left to the full parser.
        var labels = 0, numericLabels = 0, length = 0, value = 0, previous = UInt8(ascii: ".")
        func endLabel() -> Bool {
            guard length > 0, length <= 63, previous != UInt8(ascii: "-") else { return false }
            if value >= 0 && numericLabels == labels {
                guard length <= 3, value <= 255 else { return false }
                numericLabels += 1
            }
            (labels, length, value) = (labels + 1, 0, 0)
            return true
        }
        for byte in host {
            switch byte {
            case UInt8(ascii: "."):
                guard endLabel() else { return nil }
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if (0...255).contains(value) { value = value * 10 + Int(byte - UInt8(ascii: "0")) }
                length += 1
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                guard byte != UInt8(ascii: "-") || length > 0 else { return nil }
                value = -1
                length += 1
            default:
                return nil
            }
            previous = byte
        }
        // An all-numeric name must be a dotted quad.
        guard endLabel(), numericLabels < labels || labels == 4 else { return nil }
        return HostAddress(host: String(text[..<hostEnd]), port: port)
    }

    /// Why `name` is not a usable host name or IPv4 address, or nil when it is.
    static func hostNameProblem(_ name: Substring) -> String? {
        if name.isEmpty { return "empty host name before ':'" }
        if name.utf8.count > 253 { return "host name longer than 253 characters" }
        if name.hasSuffix(".") { return "remove the trailing '.' from the host name" }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        if labels.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCIIDigit) }) {
            // All-numeric: it must be a dotted-quad IPv4 address.
            guard labels.count == 4, labels.allSatisfy({ Int($0).map { (0...255).contains($0) } ?? false }) else {
                return "'\(name)' is not a valid IPv4 address (four numbers from 0 to 255)"
            }
            return nil
        }
        for label in labels {
            if label.isEmpty { return "empty label ('..') in host name '\(name)'" }
            if label.utf8.count > 63 { return "label '\(label)' is longer than 63 characters" }
            // Underscores are not RFC 1123, but Docker and compose names use them and resolve.
            if let bad = label.first(where: { !($0.isASCIILetter || $0.isASCIIDigit || $0 == "-" || $0 == "_") }) {
                return "character '\(bad)' is not allowed in a host name (letters, digits, '-', '_' and '.')"
            }
            if label.hasPrefix("-") || label.hasSuffix("-") { return "label '\(label)' starts or ends with '-'" }
        }
        return nil
    }

    static func isIPv6(_ text: Substring) -> Bool {
        guard text.contains(":"), text.count <= 45 else { return false }
        // Hex groups, '::' at most once, optionally a trailing IPv4 part; zone ids are not valid in
        // a replica-set config.
        let allowed = text.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
        guard allowed else { return false }
        let doubleColons = text.components(separatedBy: "::")
        guard doubleColons.count <= 2 else { return false }
        let groups = text.split(separator: ":", omittingEmptySubsequences: true)
        guard groups.allSatisfy({ $0.count <= 4 || $0.contains(".") }) else { return false }
        return doubleColons.count == 2 ? groups.count < 8 : groups.count == 8 || (groups.count == 7 && text.contains("."))
    }
}

extension Character {
    // From the ASCII value, not Unicode's number and letter properties, which cost a table
    // search per character.
    var isASCIIDigit: Bool { asciiValue.map { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } ?? false }
    var isASCIILetter: Bool {
        asciiValue.map { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0 | 0x20) } ?? false
    }
}

extension String {
    var trimmingSpaces: String {
        // Text whose first and last bytes are ASCII and not spaces has nothing to trim: a
        // Character ends in an ASCII byte only when its last scalar is ASCII, and whitespace
        // Characters start with their whitespace scalar.
        if let first = utf8.first, let last = utf8.last, first < 0x80, last < 0x80,
           !Character(Unicode.Scalar(first)).isWhitespace, !Character(Unicode.Scalar(last)).isWhitespace {
            return self
        }
        return String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}

extension StringProtocol {
    /// Splits on `separator` (a plain substring), like Foundation's, which this module avoids.
    func components(separatedBy separator: String) -> [String] {
        var parts: [String] = []
        var rest = Substring(self)
        while let range = rest.firstRange(of: separator) {
            parts.append(String(rest[..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        parts.append(String(rest))
        return parts
    }
}
