import Glibc

/// Chooses the members' addresses: `127.a.b.1`, `127.a.b.2`, … on one port. The whole 127/8
/// block is loopback on Linux, so each member gets its own address and `hosts` look like a real
/// set; a random `a.b` per process keeps concurrent test processes (and a real mongod on
/// 127.0.0.1) apart.
public enum LoopbackAddresses {
    /// A random "127.a.b" block, for a test that must know the addresses before the members
    /// exist (to put them in a TLS certificate).
    public static func randomBlock() -> String {
        "127.\(Int.random(in: 1...254)).\(Int.random(in: 0...255))"
    }

    static func choose(count: Int, block: String?, port: Int) throws -> [String] {
        for attempt in 0..<20 {
            let prefix = block ?? randomBlock()
            // Another port for the whole set when the preferred one is taken on these addresses.
            let candidatePort = attempt < 10 ? port : Int.random(in: 20000...60000)
            let addresses = (1...max(count, 1)).map { "\(prefix).\($0)" }
            if addresses.allSatisfy({ canBind($0, port: candidatePort) }) {
                return addresses.prefix(count).map { "\($0):\(candidatePort)" }
            }
        }
        throw SimulatorError.bindFailed(host: block ?? "127.x.y.z", reason: "no free loopback address and port found")
    }

    private static func canBind(_ address: String, port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, address, &addr.sin_addr) == 1 else { return false }
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
