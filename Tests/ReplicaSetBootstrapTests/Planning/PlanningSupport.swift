import Testing
@testable import ReplicaSetBootstrap

/// `db-N.mongo:27017`.
func db(_ n: Int) -> HostAddress { HostAddress(host: "db-\(n).mongo") }

/// A committed config as replSetGetConfig returns it, members numbered from 0 in the order given.
func committed(_ members: [(HostAddress, MemberOptions)], version: Int = 4, term: Int = 2) -> ReplicaSetConfig {
    ReplicaSetConfig(name: "rs0", version: version, term: term,
                     members: members.enumerated().map { .init(id: $0.offset, host: $0.element.0, options: $0.element.1) },
                     replicaSetId: replicaSetId)
}

/// Members with mongod's default options.
func committed(_ hosts: [HostAddress], version: Int = 4) -> ReplicaSetConfig {
    committed(hosts.map { ($0, MemberOptions()) }, version: version)
}

extension MemberOptions {
    static let arbiter = MemberOptions(priority: 0, arbiterOnly: true)
    static let passive = MemberOptions(priority: 0)
    static let nonVoter = MemberOptions(priority: 0, votes: 0)
}

/// Runs `steps` from `current`, checking what every step must hold: each reconfig passes mongod's
/// non-force rules against the config before it (with the primary of that moment), changes at
/// most one voter and raises the version by one; a step-down comes from the primary and hands
/// over to another electable member. Returns the final config and primary.
@discardableResult
func replay(_ steps: [ReconfigStep], from current: ReplicaSetConfig, primary: HostAddress,
            sourceLocation: SourceLocation = #_sourceLocation) -> (config: ReplicaSetConfig, primary: HostAddress) {
    var config = current
    var primary = primary
    for step in steps {
        switch step {
        case .reconfig(let next, _):
            #expect(ReconfigRules.violation(from: config, to: next, primary: primary, force: false) == nil,
                    "\(step): \(ReconfigRules.violation(from: config, to: next, primary: primary, force: false) ?? "")", sourceLocation: sourceLocation)
            let before = Set(config.members.filter(\.options.isVoter).map(\.id))
            let after = Set(next.members.filter(\.options.isVoter).map(\.id))
            #expect(before.symmetricDifference(after).count <= 1, "\(step) changes more than one voter", sourceLocation: sourceLocation)
            #expect(next.version == config.version + 1, sourceLocation: sourceLocation)
            for old in config.members {
                if let new = next.member(old.host) { #expect(new.id == old.id, "\(old.host) changed _id", sourceLocation: sourceLocation) }
            }
            config = next
        case .stepDown(let host, _):
            #expect(host == primary, "\(step) but the primary is \(primary)", sourceLocation: sourceLocation)
            guard let successor = config.successor(of: host) else {
                Issue.record("\(step) with no other electable member", sourceLocation: sourceLocation)
                return (config, primary)
            }
            primary = successor
        }
    }
    return (config, primary)
}

extension ReconfigStep {
    var change: String {
        switch self {
        case .reconfig(_, let change): change
        case .stepDown(let host, let reason): "step down \(host): \(reason)"
        }
    }
}
