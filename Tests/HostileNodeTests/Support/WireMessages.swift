import MongoBSON

/// The MongoDB wire protocol as far as a hostile node needs it: decode the requests libmongoc
/// sends (OP_QUERY handshake, OP_MSG commands) and frame replies around any body bytes, valid or
/// not. Written for the tests, independent of the simulator's codec, so a reply can be exactly
/// as broken as a case wants.
enum Wire {
    static let opReply: Int32 = 1
    static let opQuery: Int32 = 2004
    static let opCompressed: Int32 = 2012
    static let opMsg: Int32 = 2013
    static let headerSize = 16
    /// mongod's MaxMessageSizeBytes: the most a node (or the tool) may send in one message.
    static let maxMessageSize = 48_000_000

    struct Header: Sendable {
        var length: Int32
        var requestID: Int32
        var responseTo: Int32
        var opcode: Int32
    }

    static func int32(_ bytes: [UInt8], at offset: Int) -> Int32? {
        guard offset >= 0, offset + 4 <= bytes.count else { return nil }
        return Int32(bitPattern: UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8
            | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24)
    }

    static func littleEndian(_ value: Int32) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }

    static func littleEndian(_ value: Int64) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }

    static func header(of message: [UInt8]) -> Header? {
        guard let length = int32(message, at: 0), let requestID = int32(message, at: 4),
              let responseTo = int32(message, at: 8), let opcode = int32(message, at: 12) else { return nil }
        return Header(length: length, requestID: requestID, responseTo: responseTo, opcode: opcode)
    }

    /// A whole message: header, then `payload` (everything after the header) as given. `length`
    /// overrides the header's length field, to lie about it.
    static func message(opcode: Int32, requestID: Int32, responseTo: Int32, payload: [UInt8], length: Int32? = nil) -> [UInt8] {
        littleEndian(length ?? Int32(headerSize + payload.count)) + littleEndian(requestID) + littleEndian(responseTo)
            + littleEndian(opcode) + payload
    }

    /// The reply mongod sends to a request of `kind`: OP_REPLY (flags 0, cursor 0, from 0, one
    /// document) for the OP_QUERY handshake, OP_MSG (flags 0, one kind-0 section) otherwise.
    /// `body` is put in unchanged, even when it is not BSON.
    static func reply(body: [UInt8], to requestID: Int32, kind: Request.Kind, replyID: Int32) -> [UInt8] {
        switch kind {
        case .query:
            let prefix = littleEndian(Int32(0)) + littleEndian(Int64(0)) + littleEndian(Int32(0)) + littleEndian(Int32(1))
            return message(opcode: opReply, requestID: replyID, responseTo: requestID, payload: prefix + body)
        case .message:
            return message(opcode: opMsg, requestID: replyID, responseTo: requestID, payload: littleEndian(Int32(0)) + [0] + body)
        }
    }

    /// A request from the tool, or nil when the message is not one the harness understands.
    static func decodeRequest(_ message: [UInt8]) -> (kind: Request.Kind, requestID: Int32, command: BSONDocument)? {
        guard let header = header(of: message), Int(header.length) == message.count else { return nil }
        switch header.opcode {
        case opQuery:
            // flags, full collection name, numberToSkip, numberToReturn, query.
            var offset = headerSize + 4
            guard let end = message[offset...].firstIndex(of: 0) else { return nil }
            offset = end + 1 + 8
            guard var query = document(in: message, at: offset) else { return nil }
            if case .document(let wrapped) = query["$query"] { query = wrapped }
            return (.query, header.requestID, query)
        case opMsg:
            guard let flags = int32(message, at: headerSize) else { return nil }
            let end = message.count - (flags & 1 != 0 ? 4 : 0)
            var offset = headerSize + 4
            var body: BSONDocument?
            var sequences: [(String, [BSON])] = []
            while offset < end {
                let kind = message[offset]
                offset += 1
                if kind == 0 {
                    guard let length = int32(message, at: offset), let document = document(in: message, at: offset) else { return nil }
                    body = document
                    offset += Int(length)
                } else if kind == 1 {
                    guard let size = int32(message, at: offset), size >= 5 else { return nil }
                    let sectionEnd = offset + Int(size)
                    guard sectionEnd <= end, let nameEnd = message[(offset + 4)..<sectionEnd].firstIndex(of: 0) else { return nil }
                    let identifier = String(decoding: message[(offset + 4)..<nameEnd], as: UTF8.self)
                    var documents: [BSON] = []
                    var position = nameEnd + 1
                    while position < sectionEnd {
                        guard let length = int32(message, at: position), let document = document(in: message, at: position) else { return nil }
                        documents.append(.document(document))
                        position += Int(length)
                    }
                    sequences.append((identifier, documents))
                    offset = sectionEnd
                } else {
                    return nil
                }
            }
            guard var command = body else { return nil }
            for (identifier, documents) in sequences { command.append(identifier, .array(documents)) }
            return (.message, header.requestID, command)
        default:
            return nil
        }
    }

    /// The BSON document starting at `offset`, when its length fits and libbson accepts it.
    static func document(in message: [UInt8], at offset: Int) -> BSONDocument? {
        guard let length = int32(message, at: offset), length >= 5, offset + Int(length) <= message.count else { return nil }
        return try? BSONDocument(bytes: Array(message[offset..<(offset + Int(length))]))
    }

    /// Where a reply's document starts: after OP_REPLY's 20 bytes of fields, or after OP_MSG's
    /// flags and section kind (replies have a single kind-0 section).
    static func replyBodyOffset(_ message: [UInt8]) -> Int? {
        guard let header = header(of: message) else { return nil }
        switch header.opcode {
        case opReply: return headerSize + 20
        case opMsg:
            guard message.count > headerSize + 4, message[headerSize + 4] == 0 else { return nil }
            return headerSize + 5
        default: return nil
        }
    }

    /// A reply with its document replaced by `body`, everything else kept (an OP_MSG checksum is
    /// dropped with its flag: it would no longer match).
    static func replacingReplyBody(of message: [UInt8], with body: [UInt8]) -> [UInt8]? {
        guard let header = header(of: message), let offset = replyBodyOffset(message) else { return nil }
        var prefix = Array(message[headerSize..<offset])
        if header.opcode == opMsg { prefix.replaceSubrange(0..<4, with: littleEndian((int32(message, at: headerSize) ?? 0) & ~1)) }
        return Wire.message(opcode: header.opcode, requestID: header.requestID, responseTo: header.responseTo, payload: prefix + body)
    }
}
