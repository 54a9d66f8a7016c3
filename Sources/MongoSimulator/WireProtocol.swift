import MongoBSON

/// A command as it came off the wire.
struct WireRequest: Sendable {
    enum Opcode: Sendable { case query, message }

    var opcode: Opcode
    var requestID: Int32
    var database: String
    var command: BSONDocument
    /// OP_MSG moreToCome: the client wants no reply.
    var moreToCome = false
    /// The subject of the verified certificate the client presented in the TLS handshake.
    var clientCertificateSubject: String? = nil
}

/// The MongoDB wire protocol as a simulated mongod reads and writes it
/// (`src/mongo/rpc/op_msg.cpp`, `src/mongo/rpc/message.h`): OP_QUERY and OP_MSG requests in,
/// OP_REPLY and OP_MSG replies out.
enum WireProtocol {
    static let opReply: Int32 = 1
    static let opQuery: Int32 = 2004
    static let opMsg: Int32 = 2013
    static let headerSize = 16
    /// mongod's MaxMessageSizeBytes.
    static let maxMessageSize = 48_000_000

    enum ParseError: Error, Equatable {
        case malformed(String)
    }

    /// What the server does with a message: run a command, or answer an error.
    enum Decoded {
        case request(WireRequest)
        case error(requestID: Int32, opcode: WireRequest.Opcode, CommandError)
    }

    /// Decodes one whole message (header included). Throws for messages a mongod would hang up on.
    static func decode(_ bytes: [UInt8]) throws(ParseError) -> Decoded {
        var reader = ByteReader(bytes)
        let length = try reader.int32()
        guard Int(length) == bytes.count, bytes.count >= headerSize else { throw .malformed("length \(length) of a \(bytes.count)-byte message") }
        let requestID = try reader.int32()
        _ = try reader.int32()
        switch try reader.int32() {
        case opMsg: return try decodeMessage(&reader, requestID: requestID)
        case opQuery: return try decodeQuery(&reader, requestID: requestID)
        case let opcode: throw .malformed("unsupported opcode \(opcode)")
        }
    }

    /// OP_MSG: flag bits, then one kind-0 body and any kind-1 document sequences (merged into
    /// the body, as mongod's `OpMsgRequest` does), then an optional CRC-32C checksum.
    private static func decodeMessage(_ reader: inout ByteReader, requestID: Int32) throws(ParseError) -> Decoded {
        let flags = UInt32(bitPattern: try reader.int32())
        let checksumPresent = flags & 1 != 0
        // Bits 0-15 are required: a flag mongod does not know makes the message invalid.
        guard flags & 0xFFFF & ~0b11 == 0 else { throw .malformed("unknown required OP_MSG flags \(flags)") }
        let end = reader.count - (checksumPresent ? 4 : 0)
        var body: BSONDocument?
        var sequences: [(String, [BSON])] = []
        while reader.offset < end {
            switch try reader.byte() {
            case 0:
                guard body == nil else { throw .malformed("multiple body sections") }
                body = try reader.document()
            case 1:
                let start = reader.offset
                let size = Int(try reader.int32())
                let identifier = try reader.cString()
                var documents: [BSON] = []
                while reader.offset < start + size { documents.append(.document(try reader.document())) }
                guard reader.offset == start + size else { throw .malformed("document sequence overruns its size") }
                sequences.append((identifier, documents))
            case let kind:
                throw .malformed("unknown section kind \(kind)")
            }
        }
        guard reader.offset == end, var command = body else { throw .malformed("OP_MSG without a body") }
        for (identifier, documents) in sequences {
            guard command[identifier] == nil else { throw .malformed("duplicate field \(identifier)") }
            command.append(identifier, .array(documents))
        }
        guard case .string(let database) = command["$db"] else {
            return .error(requestID: requestID, opcode: .message, CommandError(.opMsgWithoutDatabase, "OP_MSG requests require a $db argument"))
        }
        return .request(WireRequest(opcode: .message, requestID: requestID, database: database, command: command,
                                    moreToCome: flags & 2 != 0))
    }

    /// OP_QUERY on `<db>.$cmd`; a `$query` wrapper (read preference) is unwrapped.
    private static func decodeQuery(_ reader: inout ByteReader, requestID: Int32) throws(ParseError) -> Decoded {
        _ = try reader.int32()
        let namespace = try reader.cString()
        _ = try reader.int32()
        _ = try reader.int32()
        var query = try reader.document()
        if case .document(let wrapped) = query["$query"] { query = wrapped }
        let database = namespace.hasSuffix(".$cmd") ? String(namespace.dropLast(5)) : namespace
        return .request(WireRequest(opcode: .query, requestID: requestID, database: database, command: query))
    }

    /// The reply to a request: OP_REPLY for OP_QUERY, OP_MSG (flags 0, one kind-0 section,
    /// no checksum) for OP_MSG.
    static func encodeReply(_ document: BSONDocument, to requestID: Int32, opcode: WireRequest.Opcode, replyID: Int32) -> [UInt8] {
        let body = document.bytes
        // OP_REPLY: responseFlags, cursorID, startingFrom, numberReturned 1. OP_MSG: flagBits, kind 0.
        let (replyOpcode, prefix): (Int32, [UInt8]) = switch opcode {
        case .query: (opReply, [UInt8](repeating: 0, count: 16) + [1, 0, 0, 0])
        case .message: (opMsg, [0, 0, 0, 0, 0])
        }
        var out: [UInt8] = []
        for field in [Int32(headerSize + prefix.count + body.count), replyID, requestID, replyOpcode] { append(field, to: &out) }
        return out + prefix + body
    }

    static func append(_ value: Int32, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }
}

/// Little-endian reads over a received message.
struct ByteReader {
    private let bytes: [UInt8]
    private(set) var offset = 0
    var count: Int { bytes.count }

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func byte() throws(WireProtocol.ParseError) -> UInt8 {
        guard offset < bytes.count else { throw .malformed("truncated message") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func int32() throws(WireProtocol.ParseError) -> Int32 {
        guard offset + 4 <= bytes.count else { throw .malformed("truncated message") }
        defer { offset += 4 }
        return Int32(bitPattern: UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24)
    }

    mutating func cString() throws(WireProtocol.ParseError) -> String {
        guard let end = bytes[offset...].firstIndex(of: 0) else { throw .malformed("unterminated string") }
        defer { offset = end + 1 }
        return String(decoding: bytes[offset..<end], as: UTF8.self)
    }

    mutating func document() throws(WireProtocol.ParseError) -> BSONDocument {
        let start = offset
        let length = Int(try int32())
        guard length >= 5, start + length <= bytes.count else { throw .malformed("document length \(length) out of bounds") }
        offset = start + length
        do {
            return try BSONDocument(bytes: Array(bytes[start..<offset]))
        } catch {
            throw .malformed(error.description)
        }
    }
}
