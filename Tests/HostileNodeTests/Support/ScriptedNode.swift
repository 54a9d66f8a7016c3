import Foundation
import MongoBSON
import Synchronization

/// One message from the tool as a scripted node sees it.
struct Request: Sendable {
    enum Kind: Sendable {
        /// OP_QUERY on admin.$cmd: libmongoc's connection handshake (`isMaster`/`hello`).
        case query
        /// OP_MSG: every command the tool itself sends.
        case message
    }

    var kind: Kind
    var requestID: Int32
    var command: BSONDocument
    /// The connection's number on this node, from 1.
    var connection: Int
    /// How many times this node has seen this command name, this request included.
    var seen: Int

    var name: String { command.firstKey ?? "" }

    /// The handshake libmongoc runs on every new connection, before any command of the tool.
    var isHandshake: Bool { kind == .query }

    /// A `hello` (or legacy `isMaster`) the tool sent itself.
    var isToolHello: Bool { kind == .message && ["hello", "isMaster", "ismaster"].contains(name) }

    /// An awaitable hello: the tool's monitor waiting for the next topology change.
    var isAwaitableHello: Bool { isToolHello && command["maxAwaitTimeMS"] != nil }
}

/// How a scripted node answers one request.
indirect enum Answer: Sendable {
    /// A valid reply document, framed as OP_REPLY or OP_MSG to match the request.
    case document(BSONDocument)
    /// Raw bytes as the reply's document: deep, huge or invalid BSON that libbson would refuse
    /// to build.
    case body([UInt8])
    /// A whole raw message, sent as it is: a wrong length, an unknown opcode, OP_COMPRESSED, a
    /// reply to another requestId.
    case message([UInt8])
    /// Hang up without a reply.
    case close
    /// Send the first `bytes` bytes of the answer's message, then hang up.
    case closeMidReply(Answer, afterBytes: Int)
    /// Send the answer's message one byte at a time, `every` apart.
    case trickle(Answer, every: Duration)
    /// Read on, never reply.
    case never
    /// Answer after a delay.
    case after(Duration, Answer)
    /// Wait (up to `limit`) until `condition` holds, then answer what `then` gives: awaitable
    /// hello, which returns early when the node's state changes.
    case waitFor(limit: Duration, condition: @Sendable () -> Bool, then: @Sendable () -> Answer)
}

/// A wire-protocol server of the tests' own on a loopback address: each request is answered as
/// the case's script decides, valid or not. It records every message it receives.
final class ScriptedNode: Sendable {
    typealias Script = @Sendable (Request) -> Answer

    let address: String
    let port: UInt16
    let traffic = TrafficLog()
    private let listener: Int32
    private let sockets = SocketRegistry()
    private let replyIDs = Atomic<Int32>(1000)
    private let script = Mutex<Script?>(nil)

    /// `host:port`, as the tool is given it and names it.
    var host: String { "\(address):\(port)" }

    /// Listens on `address:port` (a random loopback address and an ephemeral port by default).
    /// `makeScript` gets the node's own `host:port`, which replies often contain.
    init(address: String = LoopbackSockets.randomAddress(), port: UInt16 = 0, makeScript: (String) -> Script) throws {
        let (fd, boundPort) = try LoopbackSockets.listen(address: address, port: port)
        self.address = address
        self.port = boundPort
        listener = fd
        script.withLock { $0 = makeScript("\(address):\(boundPort)") }
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
        while LoopbackSockets.waitReadable(listener, stopped: sockets.stopped) {
            let fd = accept(listener, nil, nil)
            if fd < 0 { continue }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            sockets.add(fd)
            let connection = traffic.connectionOpened()
            sockets.spawn { [self] in
                serve(fd, connection: connection)
                sockets.close(fd)
            }
        }
    }

    private func serve(_ fd: Int32, connection: Int) {
        while let message = LoopbackSockets.readMessage(fd, stopped: sockets.stopped) {
            guard let (kind, requestID, command) = Wire.decodeRequest(message) else {
                traffic.record("<undecodable>", connection: connection, raw: message)
                return
            }
            let seen = traffic.record(command.firstKey ?? "", connection: connection, raw: message)
            traffic.recordSASLPayload(of: command)
            let request = Request(kind: kind, requestID: requestID, command: command, connection: connection, seen: seen)
            guard let script = script.withLock({ $0 }) else { return }
            guard perform(script(request), for: request, on: fd) else { return }
        }
    }

    /// Sends the answer; false when the connection is to be (or was) closed.
    private func perform(_ answer: Answer, for request: Request, on fd: Int32) -> Bool {
        switch answer {
        case .document, .body, .message:
            return LoopbackSockets.send(fd, encode(answer, for: request))
        case .close:
            return false
        case .closeMidReply(let inner, let count):
            LoopbackSockets.send(fd, encode(inner, for: request).prefix(count))
            return false
        case .trickle(let inner, let interval):
            for byte in encode(inner, for: request) {
                guard LoopbackSockets.send(fd, [byte]), LoopbackSockets.sleep(interval, stopped: sockets.stopped) else { return false }
            }
            return true
        case .never:
            return true
        case .after(let delay, let inner):
            guard LoopbackSockets.sleep(delay, stopped: sockets.stopped) else { return false }
            return perform(inner, for: request, on: fd)
        case .waitFor(let limit, let condition, let then):
            let deadline = ContinuousClock.now + limit
            while !condition() && ContinuousClock.now < deadline {
                guard LoopbackSockets.sleep(.milliseconds(2), stopped: sockets.stopped) else { return false }
            }
            return perform(then(), for: request, on: fd)
        }
    }

    /// The bytes of a reply answer; the delaying and closing answers wrap one of these.
    private func encode(_ answer: Answer, for request: Request) -> [UInt8] {
        let replyID = replyIDs.wrappingAdd(1, ordering: .relaxed).newValue
        switch answer {
        case .document(let document):
            return Wire.reply(body: document.bytes, to: request.requestID, kind: request.kind, replyID: replyID)
        case .body(let bytes):
            return Wire.reply(body: bytes, to: request.requestID, kind: request.kind, replyID: replyID)
        case .message(let bytes):
            return bytes
        case .closeMidReply(let inner, _), .trickle(let inner, _), .after(_, let inner):
            return encode(inner, for: request)
        case .waitFor(_, _, let then):
            return encode(then(), for: request)
        case .close, .never:
            return []
        }
    }
}
