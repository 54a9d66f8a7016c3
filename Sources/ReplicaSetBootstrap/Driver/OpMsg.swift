import MongoBSON

/// OP_MSG as the monitor connections speak it (mongod's `src/mongo/rpc/op_msg.cpp` and
/// `src/mongo/rpc/message.h`): one request with a kind-0 body, one reply read back. Every byte of
/// the reply is the node's and is checked before it is used: the length against what any mongod
/// message may be, the ids, the opcode, the flags and the one section a command reply has.
enum OpMsg {
    static let opCode: Int32 = 2013
    static let headerSize = 16
    /// The header, the flag bits, a section kind and the smallest document.
    static let smallestMessage = headerSize + 4 + 1 + 5
    /// mongod's largest reply document (`BSONObjMaxInternalSize`, 16 MiB + 16 KiB) framed: no
    /// reply is longer, and a header announcing more is not believed (nothing is allocated for it).
    static let largestMessage = 16 * 1024 * 1024 + 16 * 1024 + smallestMessage + 4

    private static let checksumPresent: UInt32 = 1 << 0
    private static let moreToCome: UInt32 = 1 << 1

    /// A complete message carrying `body` (which must hold `$db`).
    static func request(_ body: [UInt8], requestID: Int32) -> [UInt8] {
        var message: [UInt8] = []
        message.reserveCapacity(headerSize + 5 + body.count)
        append(Int32(headerSize + 5 + body.count), to: &message)
        append(requestID, to: &message)
        append(0, to: &message)
        append(opCode, to: &message)
        append(0, to: &message)  // flag bits
        message.append(0)  // section kind 0: the body
        message.append(contentsOf: body)
        return message
    }

    enum ReadError: Error, Equatable, CustomStringConvertible {
        /// Not a message this connection can be answered with: a network fault (a proxy gone
        /// wrong, bytes of another stream) can cause it, so the connection is dropped and retried.
        case malformed(String)

        var description: String {
            switch self {
            case .malformed(let reason): return reason
            }
        }
    }

    /// The length a message announces, once its first 4 bytes are in.
    static func announcedLength(_ prefix: ArraySlice<UInt8>) throws(ReadError) -> Int {
        let length = Int(int32(prefix, at: prefix.startIndex))
        guard (smallestMessage...largestMessage).contains(length) else {
            throw .malformed("a message length of \(length) bytes (a reply is \(smallestMessage) to \(largestMessage))")
        }
        return length
    }

    /// The body of `message` (exactly the bytes its header announced), a reply to `requestID`.
    static func replyBody(_ message: [UInt8], answering requestID: Int32) throws(ReadError) -> [UInt8] {
        let length = try announcedLength(message[...])
        guard message.count == length else { throw .malformed("\(message.count) bytes for a message of \(length)") }
        let responseTo = int32(message[...], at: 8)
        guard responseTo == requestID else { throw .malformed("a reply to request \(responseTo), not to \(requestID)") }
        let code = int32(message[...], at: 12)
        guard code == opCode else { throw .malformed("opcode \(code) in reply to OP_MSG") }
        let flags = UInt32(bitPattern: int32(message[...], at: headerSize))
        // Bits 0-15 must be understood (op_msg.cpp); more to come means the server streams
        // replies this connection never asked for.
        guard flags & 0xFFFF & ~checksumPresent == 0 else { throw .malformed("OP_MSG flag bits \(flags)") }
        let end = flags & checksumPresent != 0 ? length - 4 : length
        var offset = headerSize + 4
        guard offset < end, message[offset] == 0 else { throw .malformed("an OP_MSG reply that does not start with its body") }
        offset += 1
        guard end - offset >= 5 else { throw .malformed("an OP_MSG body shorter than a document") }
        let documentLength = Int(int32(message[...], at: offset))
        // A reply is its body alone: no document sequences (kind 1), nothing after it.
        guard documentLength == end - offset else {
            throw .malformed("an OP_MSG body of \(documentLength) bytes in \(end - offset) bytes of sections")
        }
        return Array(message[offset..<end])
    }

    private static func append(_ value: Int32, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    private static func int32(_ bytes: ArraySlice<UInt8>, at offset: Int) -> Int32 {
        var value: UInt32 = 0
        for index in 0..<4 { value |= UInt32(bytes[offset + index]) << (8 * index) }
        return Int32(bitPattern: value)
    }
}
