import Foundation
import MongoBSON
import Synchronization

/// A man in the middle in front of one simulated member: it forwards every byte both ways (the
/// SCRAM conversation included, so authentication works end to end) and lets a case rewrite the
/// reply to a chosen command. This is how a node that authenticates properly but answers with
/// hostile content is simulated.
///
/// Replies name the member by its own address; the proxy answers for it under its own, so every
/// string equal to the upstream `host:port` is replaced by the proxy's, and the tool sees one
/// consistent node.
final class InterceptingProxy: Sendable {
    typealias Rewrite = @Sendable (_ command: String, _ reply: BSONDocument) -> BSONDocument

    let address: String
    let port: UInt16
    let upstream: String
    /// What the tool sent through the proxy.
    let traffic = TrafficLog()
    private let listener: Int32
    private let sockets = SocketRegistry()
    private let rewrite: Rewrite

    var host: String { "\(address):\(port)" }

    init(upstream: String, address: String = LoopbackSockets.randomAddress(), rewrite: @escaping Rewrite) throws {
        let (fd, boundPort) = try LoopbackSockets.listen(address: address, port: 0)
        self.address = address
        self.port = boundPort
        self.upstream = upstream
        self.rewrite = rewrite
        listener = fd
        sockets.add(fd)
        sockets.spawn { [self] in acceptLoop() }
    }

    func stop() {
        sockets.stop()
    }

    deinit {
        sockets.stop()
    }

    private func acceptLoop() {
        let parts = upstream.split(separator: ":")
        let upstreamAddress = String(parts[0])
        let upstreamPort = UInt16(parts[1])!
        while LoopbackSockets.waitReadable(listener, stopped: sockets.stopped) {
            let client = accept(listener, nil, nil)
            if client < 0 { continue }
            sockets.add(client)
            let connection = traffic.connectionOpened()
            guard let server = try? LoopbackSockets.connect(address: upstreamAddress, port: upstreamPort) else {
                sockets.close(client)
                continue
            }
            sockets.add(server)
            // requestID → command name, so a reply can be matched to what it answers.
            let pending = Mutex<[Int32: String]>([:])
            let bothDone = DispatchGroup()
            bothDone.enter()
            bothDone.enter()
            sockets.spawn { [self] in
                while let message = LoopbackSockets.readMessage(client, stopped: sockets.stopped) {
                    let request = Wire.decodeRequest(message)
                    let name = request.flatMap { $0.command.firstKey } ?? "<undecodable>"
                    traffic.record(name, connection: connection, raw: message)
                    if let request { traffic.recordSASLPayload(of: request.command) }
                    if let header = Wire.header(of: message) { pending.withLock { $0[header.requestID] = name } }
                    guard LoopbackSockets.send(server, message) else { break }
                }
                shutdown(server, Int32(SHUT_RDWR))
                shutdown(client, Int32(SHUT_RDWR))
                bothDone.leave()
            }
            sockets.spawn { [self] in
                while let message = LoopbackSockets.readMessage(server, stopped: sockets.stopped) {
                    let name = Wire.header(of: message).flatMap { header in pending.withLock { $0.removeValue(forKey: header.responseTo) } }
                    guard LoopbackSockets.send(client, rewritten(message, answering: name ?? "")) else { break }
                }
                shutdown(server, Int32(SHUT_RDWR))
                shutdown(client, Int32(SHUT_RDWR))
                bothDone.leave()
            }
            bothDone.notify(queue: .global()) { [sockets] in
                sockets.close(client)
                sockets.close(server)
            }
        }
    }

    /// The reply with the upstream's name replaced and the case's rewrite applied; unchanged
    /// when its document cannot be read.
    private func rewritten(_ message: [UInt8], answering command: String) -> [UInt8] {
        guard let offset = Wire.replyBodyOffset(message), let document = Wire.document(in: message, at: offset) else { return message }
        let reply = rewrite(command, Self.replacing(upstream, with: host, in: document))
        return Wire.replacingReplyBody(of: message, with: reply.bytes) ?? message
    }

    static func replacing(_ old: String, with new: String, in document: BSONDocument) -> BSONDocument {
        BSONDocument(document.elements.map { ($0.key, replacing(old, with: new, in: $0.value)) })
    }

    private static func replacing(_ old: String, with new: String, in value: BSON) -> BSON {
        switch value {
        case .string(old): return .string(new)
        case .document(let document): return .document(replacing(old, with: new, in: document))
        case .array(let values): return .array(values.map { replacing(old, with: new, in: $0) })
        default: return value
        }
    }
}
