import Glibc
import MongoBSON
import NIOConcurrencyHelpers

/// The config last read from a `replSetGetConfig` reply and validated, with the exact bytes it
/// was read from. Every member answers with the same config, and reading one of 50 members
/// (libbson to `BSONDocument` to `ReplicaSetConfig`) was a quarter of the tool's work at that
/// size. A reply reuses it only when its `config` holds exactly those bytes; the rest of the
/// reply is read and checked as always. Only a config that passed validation is kept.
final class ValidatedConfigs: Sendable {
    private struct Entry {
        var bytes: [UInt8]
        var config: ReplicaSetConfig
    }

    private let last = NIOLockedValueBox<Entry?>(nil)

    /// `answer`'s reply, and the config its `config` field holds when those exact bytes were
    /// validated before (the field then reads as an empty document; `config(in:known:of:)`
    /// returns the known one).
    func read(_ answer: UnreadReply) throws(MongoError) -> (reply: BSONDocument, known: ReplicaSetConfig?) {
        if let last = last.withLockedValue({ $0 }), answer.holds(last.bytes, inField: "config") {
            // What the model reads as `config` is this field, the first of that key: no other
            // key equals these ASCII letters as a Swift string (no character decomposes to them).
            return (try answer.read(replacing: ("config", .document([:]))), last.config)
        }
        return (try answer.read(), nil)
    }

    /// The config of `reply` (from `read`): `known`, or its `config` field read and validated
    /// (and then kept, with its bytes from `answer`).
    func config(in reply: BSONDocument, known: ReplicaSetConfig?, of answer: UnreadReply) throws(ReplyError) -> ReplicaSetConfig {
        if let known { return known }
        guard let document = try ReplyFields(reply).fields("config")?.document else { throw ReplyError("field 'config' is missing") }
        let config = try ReplicaSetConfig(document: document)
        if let bytes = answer.withValueBytes(ofField: "config", { $0.map(Array.init) }) {
            last.withLockedValue { $0 = Entry(bytes: bytes, config: config) }
        }
        return config
    }
}

extension UnreadReply {
    /// Whether the field `key` of the reply is a document or array of exactly `bytes`.
    func holds(_ bytes: [UInt8], inField key: String) -> Bool {
        withValueBytes(ofField: key) { found in
            // A document or array is never empty (at least its 5 bytes of length and end).
            guard let found, found.count == bytes.count else { return false }
            return bytes.withUnsafeBytes { memcmp($0.baseAddress!, found.baseAddress!, found.count) == 0 }
        }
    }
}
