import MongoBSON

/// How one member sees the set in `replSetGetStatus` (`TopologyCoordinator::prepareStatusResponse`):
/// the members it has no heartbeat from, and the primary it knows of.
public struct SetHealth: Hashable, Sendable {
    /// Members with `health: 0`, "(not reachable/healthy)".
    public var unhealthy: Set<HostAddress>
    public var primary: HostAddress?

    public init(unhealthy: Set<HostAddress> = [], primary: HostAddress? = nil) {
        self.unhealthy = unhealthy
        self.primary = primary
    }

    /// Reads a `replSetGetStatus` reply strictly (`TopologyCoordinator::prepareStatusResponse`):
    /// at most 50 members, each `name` a plain host, `health` and `state` numbers.
    public init(statusReply reply: BSONDocument) throws(ReplyError) {
        var unhealthy: Set<HostAddress> = []
        var primary: HostAddress?
        for member in try ReplyFields(reply).documents("members", limit: ReplicaSetSpec.maxMembers) ?? [] {
            guard let host = try member.host("name") else { throw member.failure("name", "is missing") }
            if try member.double("health", in: 0...1) == 0 { unhealthy.insert(host) }
            // MemberState numbers: 0 (STARTUP) to 10 (REMOVED), `member_state.h`.
            if try member.int("state", in: 0...10) == 1 { primary = host }
        }
        self.init(unhealthy: unhealthy, primary: primary)
    }
}
