import Foundation

/// `HostAndPort` parsing and the checks mongod makes on host names.
enum HostAndPort {
    /// Trims, requires a host, and makes the default port 27017 explicit
    /// (`HostAndPort::initialize`, `MemberConfig` constructor).
    static func normalize(_ raw: String) throws(CommandError) -> String {
        let text = raw.trimmingCharacters(in: .whitespaces)
        let (host, port) = split(text)
        guard !host.isEmpty else {
            throw CommandError(.failedToParse, "Empty host component parsing HostAndPort from \"\(text)\"")
        }
        guard let port else { return text.hasPrefix("[") ? "\(text):27017" : "\(host):27017" }
        guard let number = Int(port), number > 0, number <= 65535 else {
            throw CommandError(.failedToParse, "Port number \(port) out of range parsing HostAndPort from \"\(text)\"")
        }
        return text
    }

    static func split(_ text: String) -> (host: String, port: String?) {
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            return (host, rest.hasPrefix(":") ? String(rest.dropFirst()) : nil)
        }
        guard let colon = text.lastIndex(of: ":") else { return (text, nil) }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    /// `HostAndPort::isLocalHost`.
    static func isLocalHost(_ hostAndPort: String) -> Bool {
        let host = split(hostAndPort).host
        return host == "localhost" || host.hasPrefix("127.") || host == "::1" || host.hasPrefix("/")
    }

    /// Whether the host parses as an IP address (mongod rejects those in split horizons).
    static func isIPAddress(_ hostAndPort: String) -> Bool {
        let host = split(hostAndPort).host
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count == 4, parts.allSatisfy({ UInt8($0) != nil }) { return true }
        return host.contains(":")
    }
}
