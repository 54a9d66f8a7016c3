import CMongoc
import MongoBSON
import NIOConcurrencyHelpers

/// Options for the connections to one node.
public struct ConnectionOptions: Hashable, Sendable {
    /// TCP connect and server selection: short, so an unreachable node is reported quickly.
    public var connectTimeout: Duration
    /// How long a command may take once sent (replSetInitiate's quorum check can take 10 s per
    /// unreachable member, replSetStepUp waits for the election).
    public var commandTimeout: Duration
    public var credentials: Credentials?
    public var tls: TLSOptions?
    /// After a node refused a connection, how long the next attempt waits for it to start
    /// listening (probing every few milliseconds) before it reports the refusal again; zero:
    /// every attempt goes to libmongoc at once.
    public var listenerWait: Duration

    public init(connectTimeout: Duration = .seconds(2), commandTimeout: Duration = .seconds(60),
                credentials: Credentials? = nil, tls: TLSOptions? = nil, listenerWait: Duration = .zero) {
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.credentials = credentials
        self.tls = tls
        self.listenerWait = listenerWait
    }
}

extension ConnectionOptions {
    /// Whether a node's connection is one of the tool's own (`PlainConnections`) rather than a
    /// libmongoc client: without TLS, for the monitor (it never authenticates) and, without
    /// credentials, for commands too.
    func usesPlainConnection(monitor: Bool) -> Bool {
        tls == nil && (monitor || credentials == nil)
    }

    /// Messages a new connection costs before its first command, for the state machine's
    /// pacing: none on a plain connection; on libmongoc's, its handshake `hello`, and on a
    /// command connection the authentication conversation too.
    public func messagesPerConnection(monitor: Bool) -> Int {
        if usesPlainConnection(monitor: monitor) { return 0 }
        return monitor ? 1 : credentials?.messagesPerConnection ?? 1
    }
}

/// libmongoc's process-wide setup, done once.
public enum Mongoc {
    private static let initializedOnce = NIOLockedValueBox(false)
    private static let programHandlesLog = NIOLockedValueBox(false)
    private static let initialized: Bool = {
        initializedOnce.withLockedValue { $0 = true }
        mongoc_init()
        // libmongoc logs to stderr by default; the tool reports what matters itself.
        if !programHandlesLog.withLockedValue({ $0 }) {
            mongoc_log_set_handler({ _, _, _, _ in }, nil)
        }
        return true
    }()

    /// The program routes libmongoc's log itself (it installed a handler with
    /// `mongoc_log_set_handler`, possibly before libmongoc's own start-up): the first use of
    /// libmongoc keeps that handler instead of installing one that discards the log. Call it
    /// before the first client is made.
    public static func keepLogHandler() {
        programHandlesLog.withLockedValue { $0 = true }
    }

    static func initialize() {
        precondition(initialized)
    }

    /// libmongoc's process-wide teardown (`mongoc_cleanup`): it removes the performance-counter
    /// file it made in /dev/shm. Only once every client is destroyed and no call is running.
    public static func cleanUp() {
        if initializedOnce.withLockedValue({ $0 }) { mongoc_cleanup() }
    }
}

/// Owns one single-threaded `mongoc_client_t` connected directly to one node. Not thread-safe:
/// one command at a time. After a network error it should be discarded: a single-threaded client
/// will not reconnect for 5 s (SDAM's cooldownMS).
///
/// `@unchecked Sendable`: a single-threaded client may move between threads as long as no two use
/// it at once; its only holder, `NodeConnections`, keeps it behind a lock.
final class MongoClient: @unchecked Sendable {
    let host: HostAddress
    private let handle: OpaquePointer

    /// `socketTimeout` must exceed the longest command, including an awaitable hello's wait.
    init(host: HostAddress, connectTimeout: Duration, socketTimeout: Duration,
         credentials: Credentials? = nil, tls: TLSOptions? = nil) throws(MongoError) {
        Mongoc.initialize()
        self.host = host
        var error = bson_error_t()
        let uri = try Self.uri(for: host, error: &error)
        defer { mongoc_uri_destroy(uri) }
        let connectMS = Int32(clamping: connectTimeout.wholeMilliseconds)
        let applied = mongoc_uri_set_option_as_bool(uri, MONGOC_URI_DIRECTCONNECTION, true)
            && mongoc_uri_set_option_as_int32(uri, MONGOC_URI_CONNECTTIMEOUTMS, connectMS)
            && mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, connectMS)
            && mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SOCKETTIMEOUTMS, Int32(clamping: socketTimeout.wholeMilliseconds))
            && mongoc_uri_set_option_as_bool(uri, MONGOC_URI_RETRYREADS, false)
            && mongoc_uri_set_option_as_bool(uri, MONGOC_URI_RETRYWRITES, false)
            && mongoc_uri_set_appname(uri, "mongo-rs-bootstrap")
        guard applied else { throw MongoError(.client, host: host, message: "libmongoc rejected a connection option") }
        if let credentials { try Self.apply(credentials, to: uri, host: host) }
        if let tls { try Self.apply(tls, to: uri, host: host) }
        guard let client = mongoc_client_new_from_uri_with_error(uri, &error) else {
            throw MongoError(.client, host: host, message: "libmongoc could not create a client: \(error.messageText)")
        }
        mongoc_client_set_error_api(client, 2)
        handle = client
    }

    deinit {
        mongoc_client_destroy(handle)
    }

    /// A URI naming this one host and nothing else. Only a plain host (letters, digits, '.',
    /// '-', '_', or an IPv6 address) and a port go into the string, and the parsed result is
    /// checked to hold exactly that: a host read from a node can never smuggle in user info,
    /// a second host or an option (`authMechanism=PLAIN` to a host of an attacker's choosing).
    /// Every option is then set through libmongoc's API.
    private static func uri(for host: HostAddress, error: inout bson_error_t) throws(MongoError) -> OpaquePointer {
        try refuseUnlessPlain(host)
        guard let uri = mongoc_uri_new_with_error("mongodb://\(host)/", &error) else {
            throw MongoError(.client, host: host, message: "libmongoc rejected the address: \(error.messageText)")
        }
        var hosts: [(String, Int)] = []
        var entry = mongoc_uri_get_hosts(uri)
        while let current = entry {
            let name = withUnsafeBytes(of: current.pointee.host) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            hosts.append((name.lowercased(), Int(current.pointee.port)))
            entry = UnsafePointer(current.pointee.next)
        }
        let onlyThisHost = hosts.count == 1 && hosts[0] == (host.canonicalHost, host.port)
        let nothingElse = mongoc_uri_get_username(uri) == nil && mongoc_uri_get_auth_mechanism(uri) == nil
            && mongoc_uri_get_database(uri) == nil && mongoc_uri_get_options(uri).map { bson_count_keys($0) == 0 } ?? true
            && mongoc_uri_get_credentials(uri).map { bson_count_keys($0) == 0 } ?? true
        guard onlyThisHost && nothingElse else {
            mongoc_uri_destroy(uri)
            throw MongoError(.client, host: host, message: "refusing to connect: the address parses as more than one plain host")
        }
        return uri
    }

    /// Only a plain host (`HostAddress.isPlain`) is ever connected to, by libmongoc or not.
    static func refuseUnlessPlain(_ host: HostAddress) throws(MongoError) {
        guard host.isPlain else {
            throw MongoError(.client, host: host, message: "refusing to connect: '\(host.description.printable(limit: 80))' is not a plain host:port")
        }
    }

    /// Credentials go into the parsed URI field by field, never through a URI string, so any
    /// byte sequence works as a password and none can end up in a string that might be shown.
    private static func apply(_ credentials: Credentials, to uri: OpaquePointer, host: HostAddress) throws(MongoError) {
        var applied = mongoc_uri_set_auth_source(uri, credentials.source)
        if let username = credentials.username { applied = applied && mongoc_uri_set_username(uri, username) }
        if let password = credentials.password { applied = applied && password.withCString { mongoc_uri_set_password(uri, $0) } }
        if let mechanism = credentials.mechanism { applied = applied && mongoc_uri_set_auth_mechanism(uri, mechanism.rawValue) }
        guard applied else { throw MongoError(.client, host: host, message: "libmongoc rejected the credentials of \(credentials.description) (a user name must be valid UTF-8)") }
    }

    private static func apply(_ tls: TLSOptions, to uri: OpaquePointer, host: HostAddress) throws(MongoError) {
        var applied = mongoc_uri_set_option_as_bool(uri, MONGOC_URI_TLS, true)
            && mongoc_uri_set_option_as_bool(uri, MONGOC_URI_TLSALLOWINVALIDHOSTNAMES, tls.allowInvalidHostnames)
            && mongoc_uri_set_option_as_bool(uri, MONGOC_URI_TLSALLOWINVALIDCERTIFICATES, tls.allowInvalidCertificates)
        if let caFile = tls.caFile { applied = applied && mongoc_uri_set_option_as_utf8(uri, MONGOC_URI_TLSCAFILE, caFile) }
        if let keyFile = tls.certificateKeyFile {
            applied = applied && mongoc_uri_set_option_as_utf8(uri, MONGOC_URI_TLSCERTIFICATEKEYFILE, keyFile)
        }
        if let passphrase = tls.certificateKeyPassword {
            applied = applied && passphrase.withCString { mongoc_uri_set_option_as_utf8(uri, MONGOC_URI_TLSCERTIFICATEKEYFILEPASSWORD, $0) }
        }
        guard applied else { throw MongoError(.client, host: host, message: "libmongoc rejected a TLS option (file names must be valid UTF-8)") }
    }

    /// Runs a command on the admin database (where every replSet command must run) and returns
    /// the reply of an `ok: 1` answer. Blocks the calling thread.
    func runCommand(_ command: BSONDocument) throws(MongoError) -> BSONDocument {
        try send(command).read()
    }

    /// Runs a command on the admin database and returns the answer as libbson holds it, for
    /// `UnreadReply.read` to check and convert, so a blocked thread does only libmongoc's part.
    /// An error reply is read here. Blocks the calling thread.
    func send(_ command: BSONDocument) throws(MongoError) -> UnreadReply {
        let commandBuffer = BSONBuffer(command)
        let replyBuffer = BSONBuffer()
        var error = bson_error_t()
        let succeeded = commandBuffer.withPointer { commandPointer in
            replyBuffer.withReplyPointer { replyPointer in
                mongoc_client_command_simple(handle, "admin", commandPointer, nil, replyPointer, &error)
            }
        }
        let unread = UnreadReply(buffer: replyBuffer, host: host, command: command.firstKey)
        guard succeeded else {
            // libmongoc's own errors have no reply.
            throw MongoError(error, reply: try unread.checkedErrorReply(), host: host)
        }
        return unread
    }
}

/// A successful answer of `MongoClient.send`, not yet converted from libbson's document.
///
/// `@unchecked Sendable`: it is handed from the thread that received it to the one that reads it,
/// and never used by two at once.
struct UnreadReply: @unchecked Sendable {
    fileprivate let buffer: BSONBuffer
    let host: HostAddress
    /// The command's name, for messages.
    let command: String?

    init(buffer: BSONBuffer, host: HostAddress, command: String?) {
        self.buffer = buffer
        self.host = host
        self.command = command
    }

    /// The reply of an `ok: 1` answer. `replacing`: see `BSONBuffer.document(replacing:with:)`.
    func read(replacing replaced: (key: String, value: BSON)? = nil) throws(MongoError) -> BSONDocument {
        let reply = try document(replacing: replaced)
        // libmongoc counts a reply without `ok`, or with `ok: "0"`, as success; mongod always
        // answers `ok: 1` for one (`CommandHelpers::appendCommandStatusNoThrow`).
        switch reply["ok"] {
        case .double(1), .int32(1), .int64(1), .bool(true):
            return reply
        case let other:
            let found = other.map { "is \($0.shortDescription)" } ?? "is missing"
            throw MongoError(.invalidReply, host: host, message: "field 'ok' \(found): mongod answers ok: 1, or ok: 0 with a code", command: command)
        }
    }

    /// For a reply read without libmongoc: the node's error when it answered `ok: 0` (false,
    /// 0 or null), as libmongoc reports one.
    func serverError() throws(MongoError) -> MongoError? {
        // Decoded whole only when it is an error: `read` decodes a good one.
        guard let ok = try? buffer.value(ofField: "ok"), !ok.isTruthy else { return nil }
        return MongoError(errorReply: try checkedErrorReply(), code: 0, message: "", host: host, command: command)
    }

    /// The reply, decoded, when its error envelope is one mongod sends: an error reply carries
    /// `code` (int), `codeName` and `errmsg` (strings) (`CommandHelpers::appendCommandStatusNoThrow`).
    fileprivate func checkedErrorReply() throws(MongoError) -> BSONDocument {
        let reply = try document()
        let envelope = ReplyFields(reply)
        do throws(ReplyError) {
            let code = try envelope.int("code", in: Int(Int32.min)...Int(Int32.max))
            _ = try envelope.string("codeName")
            let errmsg = try envelope.string("errmsg")
            if let ok = reply["ok"], !ok.isTruthy, code == nil || errmsg == nil {
                throw ReplyError("an error reply (ok: \(ok.shortDescription)) without \(code == nil ? "a code" : "an errmsg")")
            }
        } catch {
            throw MongoError(.invalidReply, host: host, message: "error reply: \(error.message)", command: command)
        }
        return reply
    }

    /// See `BSONBuffer.withValueBytes(ofField:)`.
    func withValueBytes<R>(ofField key: String, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
        buffer.withValueBytes(ofField: key, body)
    }

    fileprivate func document(replacing replaced: (key: String, value: BSON)? = nil) throws(MongoError) -> BSONDocument {
        do {
            if let (key, value) = replaced { return try buffer.document(replacing: key, with: value) }
            return try buffer.document()
        } catch {
            // libmongoc read a whole message, but what it holds is not a document this tool
            // reads (nested deeper than mongod allows, a type no mongod sends).
            throw MongoError(.invalidReply, host: host, message: "the reply is not usable: \(error.description.printable())", command: command)
        }
    }
}

extension bson_error_t {
    /// libmongoc's message, which may quote the server's errmsg: made printable.
    var messageText: String {
        withUnsafePointer(to: self) { String(cString: cmongoc_error_message($0)) }.printable()
    }
}

extension MongoError {
    /// Classifies a libmongoc error (error API v2). Server errors keep mongod's code, codeName and
    /// errmsg from the reply; network errors are told apart by libmongoc's own wording, the only
    /// place a server-selection failure carries its cause.
    init(_ error: bson_error_t, reply: BSONDocument?, host: HostAddress) {
        let message = error.messageText
        switch error.domain {
        case UInt32(MONGOC_ERROR_SERVER.rawValue), UInt32(MONGOC_ERROR_QUERY.rawValue), UInt32(MONGOC_ERROR_WRITE_CONCERN.rawValue):
            self.init(errorReply: reply, code: Int(error.code), message: message, host: host)
        case let domain where (domain == UInt32(MONGOC_ERROR_SERVER_SELECTION.rawValue) || domain == UInt32(MONGOC_ERROR_STREAM.rawValue))
            && message.contains(phrase: "unexpected type") && message.contains(phrase: "in hello response"):
            // libmongoc's own handshake found a field of the wrong type
            // (`mongoc_server_description_handle_hello`): a reply no mongod sends.
            self.init(.invalidReply, host: host, message: "the handshake's hello reply: \(Self.networkCause(message, host: host))", command: "hello")
        case UInt32(MONGOC_ERROR_SERVER_SELECTION.rawValue), UInt32(MONGOC_ERROR_STREAM.rawValue):
            self.init(Self.networkKind(message, code: error.code), host: host, message: Self.networkCause(message, host: host))
        case UInt32(MONGOC_ERROR_CLIENT.rawValue) where error.code == UInt32(MONGOC_ERROR_CLIENT_AUTHENTICATE.rawValue),
             UInt32(MONGOC_ERROR_SASL.rawValue), UInt32(MONGOC_ERROR_SCRAM.rawValue):
            self.init(.authentication, host: host, message: message)
        case UInt32(MONGOC_ERROR_PROTOCOL.rawValue):
            self.init(.unexpectedReply, host: host, message: message)
        case 0 where message.isEmpty:
            // libmongoc 1.23 fails without any error when its handshake rejects the node's hello
            // (`mongoc_server_description_handle_hello`, its `failure` path), and keeps no copy
            // of that reply: all that can be said is where it happened.
            self.init(.unexpectedReply, host: host,
                      message: "libmongoc rejected the node's handshake hello without saying why (it does for a hello field of the wrong type, such as a setName that is not a string)",
                      command: "hello")
        default:
            self.init(.client, host: host, message: message)
        }
    }

    /// A node's error reply: its code, codeName and errmsg, read leniently (an error stays an
    /// error whatever the types; checked conversions only), with `code` and `message` for what
    /// it lacks, and the name this tool knows for a code without a codeName.
    init(errorReply reply: BSONDocument?, code fallbackCode: Int, message fallbackMessage: String, host: HostAddress, command: String? = nil) {
        let code = reply?["code"]?.intValue.flatMap { Int32(exactly: $0) }.map(Int.init) ?? fallbackCode
        let codeName = reply?["codeName"]?.stringValue?.printable(limit: 80) ?? ServerErrorCode(rawValue: code)?.name ?? "Location\(code)"
        self.init(.server(code: code, codeName: codeName), host: host, message: reply?["errmsg"]?.stringValue?.printable() ?? fallbackMessage,
                  command: command)
    }

    private static func networkKind(_ message: String, code: UInt32) -> Kind {
        // OpenSSL's verdict on the node's certificate (untrusted chain, expired, hostname
        // mismatch): "TLS handshake failed: certificate verify failed (20): unable to get local
        // issuer certificate". Other handshake failures (a plain-text node) stay network errors.
        if message.contains(phrase: "certificate verify failed") { return .certificateRejected }
        if code == UInt32(MONGOC_ERROR_STREAM_NAME_RESOLUTION.rawValue) || message.contains(phrase: "Failed to resolve") {
            return .nameNotResolved
        }
        if message.contains(phrase: "connection refused") || message.contains(phrase: "Connection refused") { return .connectionRefused }
        return .networkFailure
    }

    /// "No suitable servers found (`serverSelectionTryOnce` set): [connection refused calling hello
    /// on 'h:1']" becomes "connection refused".
    private static func networkCause(_ message: String, host: HostAddress) -> String {
        // By byte in ASCII text (libmongoc's), where that finds what a search by Character does.
        let ascii = message.utf8.allSatisfy { $0 < 0x80 }
        let open = ascii ? message.utf8.firstIndex(of: UInt8(ascii: "[")) : message.firstIndex(of: "[")
        let close = ascii ? message.utf8.lastIndex(of: UInt8(ascii: "]")) : message.lastIndex(of: "]")
        guard let open, let close, open < close else { return message }
        var cause = String(message[message.index(after: open)..<close])
        if let range = cause.firstRange(ofPhrase: " calling hello on ") ?? cause.firstRange(ofPhrase: " calling ismaster on ") {
            cause = String(cause[..<range.lowerBound])
        }
        if cause.hasPrefix("Failed to resolve") { return "name does not resolve (DNS has no address for \(host.host) yet)" }
        return cause.isEmpty ? message : cause
    }
}

private extension String {
    /// Where `phrase` (ASCII) first occurs. libmongoc's messages are ASCII and are searched as
    /// bytes, which gives the same answer; other text is searched by Character as
    /// `firstRange(of:)` does, which takes ~35 K instructions for one libmongoc message (9 M for
    /// the network errors of a 50-member run).
    func firstRange(ofPhrase phrase: String) -> Range<String.Index>? {
        let text = Array(utf8), needle = Array(phrase.utf8)
        guard text.allSatisfy({ $0 < 0x80 }) else { return firstRange(of: phrase) }
        guard needle.count <= text.count else { return nil }
        for start in 0...(text.count - needle.count) where text[start..<start + needle.count].elementsEqual(needle) {
            let lower = utf8.index(startIndex, offsetBy: start)
            return lower..<utf8.index(lower, offsetBy: needle.count)
        }
        return nil
    }

    func contains(phrase: String) -> Bool { firstRange(ofPhrase: phrase) != nil }
}
