/// What this run's reconfigs have done across configs: the members they removed, the options
/// fixed for members being added, failures and their backoff, and how long a majority of voters
/// has been lost (for a forced reconfig).
struct ReconfigurationProgress: Hashable, Sendable {
    /// Hosts this run's reconfigs removed: REMOVED there is this run's doing, not a refusal.
    private var removed: Set<HostAddress> = []
    /// Members the reconfig in flight drops.
    private var removing: Set<HostAddress> = []
    /// Options fixed for members the first time a plan adds them, so a member that joins with
    /// priority 0 (the PSA rule) still gets its priority when the plan is made again later.
    var pinnedMembers: [HostAddress: MemberSpec] = [:]
    private(set) var lastError: MongoError?
    /// Reconfigs and step-downs failed in a row.
    var retry = RetrySchedule()
    /// How often mongod rejected a step to each config version.
    private var rejectedVersions: [Int: Int] = [:]
    /// Since when a majority of voters has been unreachable; nil while it is not.
    var majorityLostSince: Duration?

    /// A reconfig that drops `members` is sent.
    mutating func sending(removing members: Set<HostAddress>) {
        removing = members
    }

    /// Whether REMOVED on `host` is this run's doing: a reconfig of this run removed it, or
    /// the one in flight does (mongod installs a config at once and answers only once a
    /// majority has it, so heartbeats tell the member before the reply comes).
    func removes(_ host: HostAddress) -> Bool {
        removed.contains(host) || removing.contains(host)
    }

    mutating func succeeded() {
        removed.formUnion(removing)
        removing = []
        retry.succeeded()
    }

    /// The reconfig in flight failed; `mayBeInstalled` unless mongod rejected it before
    /// installing it (after 189 or a lost reply it may well be in place).
    mutating func failed(_ error: MongoError, mayBeInstalled: Bool) {
        lastError = error
        if mayBeInstalled { removed.formUnion(removing) }
        removing = []
    }

    /// mongod rejected a step to `version` as incompatible once more: the third time is final,
    /// not retried forever.
    mutating func rejectionIsFinal(version: Int) -> Bool {
        rejectedVersions[version, default: 0] += 1
        return rejectedVersions[version, default: 0] >= 3
    }
}
