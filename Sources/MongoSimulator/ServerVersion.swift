/// The mongod release the members claim to be, and the dialect that comes with it: wire version,
/// commands, config fields and defaults. Each difference names the release it appeared in and the
/// source it follows; everything not listed here behaves as the newest release the simulator
/// models (the 6.x/7.0 `src/mongo/db/repl/` sources it cites elsewhere).
///
/// Feature compatibility versions are not modelled: a member always runs at the FCV of its binary
/// (so a 5.0 member never rejects `secondaryDelaySecs` the way 5.0 at FCV 4.4 does).
public enum ServerVersion: String, Sendable, CaseIterable, Comparable {
    /// 4.4.0, the first 4.4 release: no `hello` command yet (4.4.2 added it), `isMaster` only.
    /// The oldest behaviour a client of "4.4" must handle, so the simulator models that one.
    case v4_4 = "4.4"
    case v5_0 = "5.0"
    case v6_0 = "6.0"
    case v7_0 = "7.0"
    case v8_0 = "8.0"

    private var ordinal: Int { Self.allCases.firstIndex(of: self) ?? 0 }

    public static func < (lhs: ServerVersion, rhs: ServerVersion) -> Bool { lhs.ordinal < rhs.ordinal }

    /// `src/mongo/db/wire_version.h`: RESUMABLE_INITIAL_SYNC = 9 (4.4), WIRE_VERSION_50 = 13,
    /// WIRE_VERSION_60 = 17, WIRE_VERSION_70 = 21, WIRE_VERSION_80 = 25.
    public var maxWireVersion: Int32 {
        switch self {
        case .v4_4: 9
        case .v5_0: 13
        case .v6_0: 17
        case .v7_0: 21
        case .v8_0: 25
        }
    }

    /// buildInfo's `version`.
    var versionString: String {
        switch self {
        case .v4_4: "4.4.0"
        case .v5_0: "5.0.30"
        case .v6_0: "6.0.16"
        case .v7_0: "7.0.14"
        case .v8_0: "8.0.4"
        }
    }

    var versionArray: [Int32] {
        versionString.split(separator: ".").compactMap { Int32($0) } + [0]
    }

    /// The `hello` command and the `helloOk` handshake field (SERVER-49985, backported to 4.4.2; 5.0;
    /// `src/mongo/db/repl/replication_info.cpp` `CmdHello`). Before it, `isMaster` only: `hello`
    /// is an unknown command and a request's `helloOk` is ignored.
    var hasHelloCommand: Bool { self >= .v5_0 }

    /// New voting members get `newlyAdded` in a reconfig (SERVER-46344, 4.7.0): before 5.0 a new
    /// member votes at once, and `newlyAdded` is not a member field.
    var addsNewlyAdded: Bool { self >= .v5_0 }

    /// The implicit default write concern {w: "majority"} when the set can satisfy it, and the
    /// reconfig check that refuses to change it without a cluster-wide one (5.0,
    /// `ReplSetConfig::isImplicitDefaultWriteConcernMajority`,
    /// `replication_coordinator_impl.cpp` `_doReplSetReconfig`). 4.4 defaults to {w: 1}.
    var hasImplicitMajorityWriteConcern: Bool { self >= .v5_0 }

    /// Member delay fields (SERVER-50423): 4.4 knows only `slaveDelay`, and refuses
    /// `secondaryDelaySecs` as an unexpected field (SERVER-54962); 5.0 reads both (not together)
    /// and writes `secondaryDelaySecs`; 6.0 removed `slaveDelay` from `member_config.idl`.
    var acceptsSlaveDelay: Bool { self <= .v5_0 }
    var acceptsSecondaryDelaySecs: Bool { self >= .v5_0 }
    /// The name `replSetGetConfig` writes the delay under (`MemberConfig::toBSON`).
    var delayFieldName: String { self == .v4_4 ? "slaveDelay" : "secondaryDelaySecs" }

    /// Before 5.0 member configs are parsed by hand (`member_config.cpp` with
    /// `bsonCheckOnlyHasFields`), from 5.0 by the strict IDL struct `MemberConfigBase`: the
    /// unknown-field error differs.
    func unknownMemberField(_ key: String) -> CommandError {
        if self == .v4_4 {
            return CommandError(.badValue, "Unexpected field \(key) in replica set member configuration")
        }
        return CommandError(.idlUnknownField, "BSON field 'MemberConfig.\(key)' is an unknown field.")
    }

    /// Error code 10107 is `NotMaster` in `src/mongo/base/error_codes.yml` until 4.4 and
    /// `NotWritablePrimary` from 4.9 (renamed with the "writable primary" wording of 5.0).
    func dialect(_ code: ErrorCode) -> ErrorCode {
        if self == .v4_4 && code == .notWritablePrimary { return ErrorCode(10107, "NotMaster") }
        return code
    }
}
