import Testing
@testable import ReplicaSetBootstrap

/// Which of a node's connections are the tool's own plain sockets and which are libmongoc
/// clients, and what a new one costs in messages before its first command (the state machine
/// paces a node by the messages it receives).
@Suite("Connection kinds")
struct ConnectionKindTests {
    static let password = Credentials(username: "user", password: Secret("pencil"), source: "admin", mechanism: nil)
    static let certificate = Credentials(username: nil, password: nil, source: "$external", mechanism: .x509)

    @Test("plain without TLS: every monitor, and commands without credentials; libmongoc's handshake and SCRAM otherwise",
          arguments: [
              // credentials, TLS → plain monitor, plain command, messages for a new monitor, for a new command connection
              (nil, false, true, true, 0, 0),
              (password, false, true, false, 0, 2),
              (nil, true, false, false, 1, 1),
              (password, true, false, false, 1, 2),
              (certificate, true, false, false, 1, 1),
          ] as [(Credentials?, Bool, Bool, Bool, Int, Int)])
    func kinds(credentials: Credentials?, tls: Bool, plainMonitor: Bool, plainCommand: Bool, monitorMessages: Int, commandMessages: Int) {
        let options = ConnectionOptions(credentials: credentials, tls: tls ? TLSOptions() : nil)
        #expect(options.usesPlainConnection(monitor: true) == plainMonitor)
        #expect(options.usesPlainConnection(monitor: false) == plainCommand)
        #expect(options.messagesPerConnection(monitor: true) == monitorMessages)
        #expect(options.messagesPerConnection(monitor: false) == commandMessages)
    }
}
