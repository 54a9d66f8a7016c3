import MongoBSON
import Testing
@testable import ReplicaSetBootstrap

/// What the tool's own connections accept as the reply to their request: exactly one OP_MSG
/// answering it, with one body and nothing else (mongod's `op_msg.cpp`). Everything else is
/// garbage, which a broken connection can also produce.
@Suite("OP_MSG replies")
struct OpMsgTests {
    static let body: [UInt8] = (["ok": .double(1), "isWritablePrimary": true] as BSONDocument).bytes

    /// A reply as mongod frames it, with the parts a case changes.
    static func reply(length: Int? = nil, responseTo: Int32 = 7, opCode: Int32 = OpMsg.opCode, flags: UInt32 = 0,
                      sections: [UInt8] = [0] + body, checksum: Bool = false) -> [UInt8] {
        var payload = le(flags) + sections
        if checksum { payload += [1, 2, 3, 4] }
        let total = length ?? 16 + payload.count
        return le(UInt32(total)) + le(UInt32(99)) + le(UInt32(bitPattern: responseTo)) + le(UInt32(bitPattern: opCode)) + payload
    }

    static func le(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }

    @Test("the request is one OP_MSG with its body, and a reply to it gives that body back")
    func roundTrip() throws {
        let request = OpMsg.request(Self.body, requestID: 7)
        #expect(request.count == 21 + Self.body.count)
        #expect(Array(request[12..<16]) == Self.le(2013))
        #expect(try OpMsg.replyBody(Self.reply(), answering: 7) == Self.body)
        // A checksum (flag bit 0) follows the sections and is not part of the body.
        #expect(try OpMsg.replyBody(Self.reply(flags: 1, checksum: true), answering: 7) == Self.body)
    }

    @Test("a reply that is not exactly the answer to this request is garbage", arguments: [
        ("another request's reply", reply(responseTo: 8)),
        ("an OP_REPLY", reply(opCode: 1)),
        ("an OP_COMPRESSED", reply(opCode: 2012)),
        ("moreToCome: replies nobody asked for", reply(flags: 2)),
        ("an unknown required flag", reply(flags: 1 << 5)),
        ("a document sequence after the body", reply(sections: [0] + body + [1, 5, 0, 0, 0, 0])),
        ("a body claiming 2 GB", reply(sections: [0] + le(0x7FFF_FFF0) + body.dropFirst(4))),
        ("a body shorter than its section", reply(sections: [0] + le(UInt32(body.count - 1)) + body.dropFirst(4))),
        ("no body, a document sequence first", reply(sections: [1] + body)),
    ])
    func garbage(_ what: String, _ message: [UInt8]) {
        #expect(throws: OpMsg.ReadError.self, "\(what)") { try OpMsg.replyBody(message, answering: 7) }
    }

    @Test("a length outside what any reply can be is not believed, before anything is read for it",
          arguments: [0, 15, 25, OpMsg.largestMessage + 1, Int(Int32.max), -1])
    func announcedLength(_ length: Int) {
        let prefix = Self.le(UInt32(truncatingIfNeeded: length))[...]
        #expect(throws: OpMsg.ReadError.self) { try OpMsg.announcedLength(prefix) }
    }

    @Test("the largest reply mongod can send is read")
    func largest() throws {
        #expect(try OpMsg.announcedLength(Self.le(UInt32(OpMsg.largestMessage))[...]) == OpMsg.largestMessage)
    }
}
