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

    public init(statusReply reply: BSONDocument) {
        var unhealthy: Set<HostAddress> = []
        var primary: HostAddress?
        for value in reply["members"]?.arrayValue ?? [] {
            guard let member = value.documentValue, let name = member["name"]?.stringValue else { continue }
            let host = HostAddress(configHost: name)
            if member["health"]?.doubleValue == 0 { unhealthy.insert(host) }
            if member["state"]?.intValue == 1 { primary = host }
        }
        self.init(unhealthy: unhealthy, primary: primary)
    }
}
