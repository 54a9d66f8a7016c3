import MongoBSON

/// A mongod error code and its codeName, as `src/mongo/base/error_codes.yml` defines them.
public struct ErrorCode: Equatable, Hashable, Sendable {
    public let code: Int32
    public let name: String

    init(_ code: Int32, _ name: String) {
        self.code = code
        self.name = name
    }

    static let badValue = ErrorCode(2, "BadValue")
    static let noSuchKey = ErrorCode(4, "NoSuchKey")
    static let failedToParse = ErrorCode(9, "FailedToParse")
    static let hostUnreachable = ErrorCode(6, "HostUnreachable")
    static let unauthorized = ErrorCode(13, "Unauthorized")
    static let typeMismatch = ErrorCode(14, "TypeMismatch")
    static let alreadyInitialized = ErrorCode(23, "AlreadyInitialized")
    static let maxTimeMSExpired = ErrorCode(50, "MaxTimeMSExpired")
    static let commandNotFound = ErrorCode(59, "CommandNotFound")
    static let nodeNotFound = ErrorCode(74, "NodeNotFound")
    static let noReplicationEnabled = ErrorCode(76, "NoReplicationEnabled")
    static let invalidReplicaSetConfig = ErrorCode(93, "InvalidReplicaSetConfig")
    static let notYetInitialized = ErrorCode(94, "NotYetInitialized")
    static let notSecondary = ErrorCode(95, "NotSecondary")
    static let newReplicaSetConfigurationIncompatible = ErrorCode(103, "NewReplicaSetConfigurationIncompatible")
    static let nodeNotElectable = ErrorCode(104, "NodeNotElectable")
    static let inconsistentReplicaSetNames = ErrorCode(108, "InconsistentReplicaSetNames")
    static let configurationInProgress = ErrorCode(109, "ConfigurationInProgress")
    static let unsupportedFormat = ErrorCode(115, "UnsupportedFormat")
    static let commandFailed = ErrorCode(125, "CommandFailed")
    static let clientMetadataCannotBeMutated = ErrorCode(186, "ClientMetadataCannotBeMutated")
    static let primarySteppedDown = ErrorCode(189, "PrimarySteppedDown")
    static let exceededTimeLimit = ErrorCode(262, "ExceededTimeLimit")
    static let currentConfigNotCommittedYet = ErrorCode(308, "CurrentConfigNotCommittedYet")
    static let unsupportedOpQueryCommand = ErrorCode(352, "UnsupportedOpQueryCommand")
    static let notWritablePrimary = ErrorCode(10107, "NotWritablePrimary")
    // IDL parser errors have no name of their own: mongod reports them as "Location<code>".
    static let idlMissingField = ErrorCode(40414, "Location40414")
    static let idlUnknownField = ErrorCode(40415, "Location40415")
    static let awaitableHelloArguments = ErrorCode(31368, "Location31368")
    static let topologyVersionNegative = ErrorCode(31372, "Location31372")
    static let topologyVersionFromFuture = ErrorCode(31382, "Location31382")
    static let opMsgWithoutDatabase = ErrorCode(40571, "Location40571")
}

/// A failed mongod `Status`: code, codeName and reason.
public struct CommandError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String

    init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    /// mongod's `Status::withContext`: the context goes first.
    func withContext(_ context: String) -> CommandError {
        CommandError(code, "\(context) :: caused by :: \(message)")
    }

    /// mongod re-codes many statuses while keeping their reason (for example every initiate
    /// validation failure becomes InvalidReplicaSetConfig).
    func recoded(_ newCode: ErrorCode) -> CommandError {
        CommandError(newCode, message)
    }

    public var description: String { "\(code.name)(\(code.code)): \(message)" }

    /// The reply mongod sends for a failed command (`appendCommandStatusNoThrow`).
    var reply: BSONDocument {
        ["ok": .double(0), "errmsg": .string(message), "code": .int32(code.code), "codeName": .string(code.name)]
    }

    /// Codes of the NotPrimaryError category: mongod adds its topologyVersion to these replies so
    /// that drivers can tell stale errors apart (`src/mongo/db/service_entry_point_common.cpp`).
    var isNotPrimaryError: Bool {
        [ErrorCode.notWritablePrimary, .primarySteppedDown].contains(code)
    }
}
