import MongoBSON
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// The listening socket of one simulated member (SwiftNIO). It decodes messages, hands the
/// commands to the simulator in order, one connection at a time, and writes the replies. It
/// knows nothing about replica sets.
final class MemberServer: Sendable {
    typealias Dispatch = @Sendable (WireRequest, Int32) async -> BSONDocument?

    let host: String
    private let group: EventLoopGroup
    /// `--tlsMode requireTLS`: every connection starts with a TLS handshake.
    private let tls: NIOSSLContext?
    private let state = Mutex(State())
    private let replyIDs = Atomic<Int32>(0)
    /// Requests read and not yet answered: their replies go through the event loop, so the
    /// loop may shut down only once they are done.
    private let requestsInFlight = Atomic<Int>(0)

    private struct State {
        var listener: Channel?
        var connections: [ObjectIdentifier: Channel] = [:]
        var nextConnectionId: Int32 = 1
        var closeOnAccept = false
    }

    init(host: String, group: EventLoopGroup, tls: NIOSSLContext?) {
        self.host = host
        self.group = group
        self.tls = tls
    }

    var isListening: Bool { state.withLock { $0.listener != nil } }

    /// Open client connections, and connections accepted since the start (serverStatus).
    var connectionCounts: (current: Int, totalCreated: Int) {
        state.withLock { ($0.connections.count, Int($0.nextConnectionId) - 1) }
    }

    /// Accepted connections are closed at once while set.
    func setCloseOnAccept(_ close: Bool) {
        state.withLock { $0.closeOnAccept = close }
    }

    func startListening(port: Int, dispatch: @escaping Dispatch, onClose: @escaping @Sendable (Int32) async -> Void) async throws {
        let address = HostAndPort.split(host).host
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                let (id, close) = self.state.withLock { state -> (Int32, Bool) in
                    defer { state.nextConnectionId += 1 }
                    if !state.closeOnAccept { state.connections[ObjectIdentifier(channel)] = channel }
                    return (state.nextConnectionId, state.closeOnAccept)
                }
                if close { return channel.close() }
                channel.closeFuture.whenComplete { [self] _ in
                    _ = self.state.withLock { $0.connections.removeValue(forKey: ObjectIdentifier(channel)) }
                    Task { await onClose(id) }
                }
                return channel.eventLoop.makeCompletedFuture { [tls] in
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(WireFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(ConnectionHandler(connectionId: id, server: self, dispatch: dispatch))
                }
            }
        // A port closed a moment ago can still be held by the kernel briefly: try a few times.
        var attempt = 0
        while true {
            do {
                let listener = try await bootstrap.bind(host: address, port: port).get()
                state.withLock { $0.listener = listener }
                return
            } catch {
                attempt += 1
                guard attempt < 20 else { throw SimulatorError.bindFailed(host: host, reason: "\(error)") }
                try await Task.sleep(for: .milliseconds(25))
            }
        }
    }

    /// Closes the listening socket and every open connection.
    func stopListening() async {
        let channels = state.withLock { state -> [Channel] in
            defer {
                state.listener = nil
                state.connections.removeAll()
            }
            return (state.listener.map { [$0] } ?? []) + Array(state.connections.values)
        }
        for channel in channels { try? await channel.close() }
    }

    /// Closes every open client connection and keeps listening (mongod's `closeConnections`).
    func closeConnections() {
        let channels = state.withLock { state -> [Channel] in
            defer { state.connections.removeAll() }
            return Array(state.connections.values)
        }
        for channel in channels { channel.close(promise: nil) }
    }

    func nextReplyID() -> Int32 {
        replyIDs.wrappingAdd(1, ordering: .relaxed).newValue
    }

    func requestStarted() { requestsInFlight.add(1, ordering: .relaxed) }
    func requestFinished() { requestsInFlight.subtract(1, ordering: .releasing) }

    /// Waits (at most `limit`) for the requests in flight to finish. After a shutdown every
    /// wait in the simulator returns at once, so this takes microseconds.
    func drain(limit: Duration = .seconds(2)) async {
        let deadline = ContinuousClock.now + limit
        while requestsInFlight.load(ordering: .acquiring) > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(1))
        }
    }
}

/// Splits the byte stream into whole messages; a length mongod would refuse closes the connection.
struct WireFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    struct InvalidLength: Error {}

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .little, as: Int32.self) else { return .needMoreData }
        guard length >= WireProtocol.headerSize, length <= WireProtocol.maxMessageSize else { throw InvalidLength() }
        guard let frame = buffer.readSlice(length: Int(length)) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }
}

/// One client connection: requests are answered in the order they arrived.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let connectionId: Int32
    private let server: MemberServer
    private let dispatch: MemberServer.Dispatch
    private var previous: Task<Void, Never>?
    /// Read from the TLS handler once the handshake is done (nil: no TLS, or no certificate).
    private var clientCertificateSubject: String??

    init(connectionId: Int32, server: MemberServer, dispatch: @escaping MemberServer.Dispatch) {
        self.connectionId = connectionId
        self.server = server
        self.dispatch = dispatch
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let channel = context.channel
        let decoded: WireProtocol.Decoded
        do {
            decoded = try WireProtocol.decode(Array(frame.readableBytesView))
        } catch {
            context.close(promise: nil)
            return
        }
        if clientCertificateSubject == nil {
            let certificate = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self).peerCertificate
            clientCertificateSubject = .some(certificate.flatMap { try? $0.toDERBytes() }.flatMap(Crypto.subject(ofCertificate:)))
        }
        let subject = clientCertificateSubject ?? nil
        let (connectionId, dispatch, server, before) = (self.connectionId, self.dispatch, server, previous)
        server.requestStarted()
        previous = Task {
            defer { server.requestFinished() }
            await before?.value
            let reply: BSONDocument?
            let requestID: Int32
            let opcode: WireRequest.Opcode
            switch decoded {
            case .request(var request):
                request.clientCertificateSubject = subject
                (requestID, opcode) = (request.requestID, request.opcode)
                reply = await dispatch(request, connectionId)
                if request.moreToCome && reply != nil { return }
            case .error(let id, let kind, let error):
                (requestID, opcode) = (id, kind)
                reply = error.reply
            }
            guard let reply else {
                try? await channel.close()
                return
            }
            let bytes = WireProtocol.encodeReply(reply, to: requestID, opcode: opcode, replyID: server.nextReplyID())
            try? await channel.writeAndFlush(ByteBuffer(bytes: bytes))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
