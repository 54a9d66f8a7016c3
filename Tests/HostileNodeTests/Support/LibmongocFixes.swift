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

    // TODO(lead): the first libmongoc release that bounds OP_MSG section lengths and rejects a
    // wrong OP_COMPRESSED uncompressedSize instead of crashing. 1.25.0 (the release that replaced
    // the message parser with mcd-rpc) is a placeholder, not verified; until it is set right the
    // crasher cases stay skipped on Debian's 1.23.1.
    static let firstSafeVersion = Version(major: 1, minor: 25, patch: 0)

    // TODO(lead): the first libmongoc release that rejects an OP_MSG reply whose responseTo is not
    // the request's id (1.23.1 accepts it as the answer). 1.25.0 is a placeholder, not verified.
    static let firstVersionCheckingResponseTo = Version(major: 1, minor: 25, patch: 0)

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

    static var checksResponseTo: Bool { linked >= firstVersionCheckingResponseTo || forced }

    static var responseToSkipReason: String {
        "linked libmongoc \(linked) is older than LibmongocFixes.firstVersionCheckingResponseTo \(firstVersionCheckingResponseTo): it takes a reply to another request as the answer, so the tool cannot tell"
    }
}
