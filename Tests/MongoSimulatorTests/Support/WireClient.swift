import Foundation
import Glibc
import MongoBSON
import TestSupport

/// A blocking socket that speaks raw wire-protocol messages, for what libmongoc's
/// single-threaded client never sends (awaitable hello, document sequences, checksums, garbage).
final class WireClient: @unchecked Sendable {
    private let fd: Int32
    private var nextRequestID: Int32 = 1

    /// A reply message: header fields and the single document it carries.
    struct Reply {
        var responseTo: Int32
        var opcode: Int32
        var flags: UInt32
        var document: BSONDocument
    }

    init?(_ host: String, timeout: TimeInterval = 5) {
        let (address, port) = MongocClient.split(host)
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(port.bigEndian)
        inet_pton(AF_INET, address, &addr.sin_addr)
        var limit = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - floor(timeout)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if connected != 0 {
            close(fd)
            return nil
        }
    }

    deinit { close(fd) }

    /// Sends an OP_MSG and waits for the reply (nil: connection closed or timed out).
    func message(_ body: BSONDocument, flags: UInt32 = 0, sequences: [(String, [BSONDocument])] = [], checksum: Bool = false) async -> Reply? {
        let bytes = Self.opMsg(body, requestID: takeRequestID(), flags: flags | (checksum ? 1 : 0), sequences: sequences, checksum: checksum)
        return await exchange(bytes)
    }

    /// Sends an OP_QUERY command on `<database>.$cmd` and waits for the reply.
    func query(_ command: BSONDocument, database: String = "admin") async -> Reply? {
        var payload: [UInt8] = []
        Self.append(Int32(4), to: &payload)
        payload += Array("\(database).$cmd".utf8) + [0]
        Self.append(Int32(0), to: &payload)
        Self.append(Int32(-1), to: &payload)
        payload += command.bytes
        return await exchange(Self.frame(payload, requestID: takeRequestID(), opcode: 2004))
    }

    /// Sends raw bytes and waits for a reply.
    func exchange(_ bytes: [UInt8]) async -> Reply? {
        await offload { self.send(bytes) ? self.receive() : nil }
    }

    /// Sends bytes and reports whether the peer then closed the connection (read returns 0).
    func sendExpectingClose(_ bytes: [UInt8]) async -> Bool {
        await offload {
            _ = self.send(bytes)
            var byte: UInt8 = 0
            return recv(self.fd, &byte, 1, 0) == 0
        }
    }

    /// Whether the server accepted the connection and then closed it without a word.
    func isClosedByPeer() async -> Bool {
        await offload {
            var byte: UInt8 = 0
            return recv(self.fd, &byte, 1, 0) == 0
        }
    }

    private func takeRequestID() -> Int32 {
        defer { nextRequestID += 1 }
        return nextRequestID
    }

    private func send(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) == bytes.count }
    }

    private func receive() -> Reply? {
        guard let header = read(count: 16) else { return nil }
        let length = Int(Self.int32(header, 0))
        guard length >= 16, let rest = read(count: length - 16) else { return nil }
        let opcode = Self.int32(header, 12)
        let body: ArraySlice<UInt8>
        var flags: UInt32 = 0
        if opcode == 1 {
            flags = UInt32(bitPattern: Self.int32(rest, 0))
            body = rest[20...]
        } else {
            flags = UInt32(bitPattern: Self.int32(rest, 0))
            body = rest[5...]
        }
        guard let document = try? BSONDocument(bytes: Array(body)) else { return nil }
        return Reply(responseTo: Self.int32(header, 8), opcode: opcode, flags: flags, document: document)
    }

    private func read(count: Int) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        var received = 0
        while received < count {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + received, count - received, 0) }
            if n <= 0 { return nil }
            received += n
        }
        return buffer
    }

    static func opMsg(_ body: BSONDocument, requestID: Int32, flags: UInt32 = 0, sequences: [(String, [BSONDocument])] = [], checksum: Bool = false) -> [UInt8] {
        var payload: [UInt8] = []
        append(Int32(bitPattern: flags), to: &payload)
        payload.append(0)
        payload += body.bytes
        for (identifier, documents) in sequences {
            let content = Array(identifier.utf8) + [0] + documents.flatMap(\.bytes)
            payload.append(1)
            append(Int32(4 + content.count), to: &payload)
            payload += content
        }
        if checksum { payload += [0, 0, 0, 0] }  // mongod does not verify it on plain TCP
        return frame(payload, requestID: requestID, opcode: 2013)
    }

    static func frame(_ payload: [UInt8], requestID: Int32, opcode: Int32) -> [UInt8] {
        var bytes: [UInt8] = []
        append(Int32(16 + payload.count), to: &bytes)
        append(requestID, to: &bytes)
        append(Int32(0), to: &bytes)
        append(opcode, to: &bytes)
        return bytes + payload
    }

    static func append(_ value: Int32, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    static func int32<C: Collection>(_ bytes: C, _ offset: Int) -> Int32 where C.Element == UInt8, C.Index == Int {
        let start = bytes.startIndex + offset
        return Int32(bitPattern: UInt32(bytes[start]) | UInt32(bytes[start + 1]) << 8 | UInt32(bytes[start + 2]) << 16 | UInt32(bytes[start + 3]) << 24)
    }
}
