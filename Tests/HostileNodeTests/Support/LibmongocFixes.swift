import CMongoc
import Foundation

/// The libmongoc this process (and the tool, from the same system package) is linked with, and
/// the first releases without the 1.23.1 behaviours no tool can work around, because they happen
/// inside `mongoc_client_command_simple`:
/// - crashes: an OP_MSG section whose length runs past the message (`_mongoc_rpc_scatter_msg`
///   trusts it and reads beyond the buffer), an OP_COMPRESSED the client never asked for whose
///   uncompressedSize is wrong (`_mongoc_rpc_decompress` asserts, aborting the process), and an
///   OP_REPLY in answer to an OP_MSG (a NULL dereference);
/// - an OP_MSG reply whose responseTo names another request is taken as the answer.
enum LibmongocFixes {
    struct Version: Comparable, CustomStringConvertible, Sendable {
        var major: Int
        var minor: Int
        var patch: Int

        static func < (lhs: Version, rhs: Version) -> Bool {
            (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
        }

        var description: String { "\(major).\(minor).\(patch)" }
    }

    /// The first release without the crashes: 1.24.0 replaced the message parser
    /// (`mcd-rpc.c`, CDRIVER-4625/4617), which bounds section lengths and grows its section
    /// array; 1.27.4 made a reply of the wrong opcode an error rather than an assertion
    /// (CDRIVER-5584); 1.28.1 made a wrong OP_COMPRESSED uncompressedSize an error rather than
    /// `BSON_ASSERT` (CDRIVER-5735, mongo-c-driver PR 1747, NEWS "Validate lengths in ill-formed
    /// server responses"). Debian 13 ships 1.30.
    static let firstSafeVersion = Version(major: 1, minor: 28, patch: 1)

    /// No release is known to compare an OP_MSG reply's responseTo with the request's id on the
    /// command path (1.24+ checks it for OP_GET_MORE only, `mongoc-cursor-legacy.c`): such a
    /// reply is taken as the answer. Nil until one is verified.
    static let firstVersionCheckingResponseTo: Version? = nil

    static var linked: Version {
        Version(major: Int(mongoc_get_major_version()), minor: Int(mongoc_get_minor_version()), patch: Int(mongoc_get_micro_version()))
    }

    /// HOSTILE_NODE_FORCE_LIBMONGOC_CASES=1 runs the gated cases whatever the version: to see
    /// them fail on 1.23.1, or to try a newer libmongoc before the constants are moved.
    static var forced: Bool { ProcessInfo.processInfo.environment["HOSTILE_NODE_FORCE_LIBMONGOC_CASES"] == "1" }

    static var crashersAreSafe: Bool { linked >= firstSafeVersion || forced }

    static var skipReason: String {
        "linked libmongoc \(linked) is older than LibmongocFixes.firstSafeVersion \(firstSafeVersion): these replies crash libmongoc itself, inside the tool's process"
    }

    static var checksResponseTo: Bool { firstVersionCheckingResponseTo.map { linked >= $0 } ?? false }
}
