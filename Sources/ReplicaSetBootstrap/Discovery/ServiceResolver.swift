/// DNS as discovery needs it. The system resolver is `SystemResolver`; tests may script their own.
public protocol ServiceResolver: Sendable {
    /// The SRV records of `name`, through the resolver's search list.
    func srvRecords(of name: String) async -> SRVAnswer
    /// This host's full name as DNS knows it: `hostname` resolved to an address and that address
    /// resolved back to a name (Spica's `dns.lookup` then `dns.reverse`).
    func fullName(of hostname: String) async -> Result<String, ResolverFailure>
}

public struct ResolverFailure: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
