import Glibc

/// Asks whether a node accepts TCP connections with one plain non-blocking connect per address:
/// a few microseconds, where a libmongoc client (URI, topology, handshake attempt) costs about
/// half a millisecond of CPU, and a member that refuses is asked hundreds of times a second.
/// It tells reachability only and sends nothing: libmongoc still makes the connection that is
/// used, and anything the probe cannot say for sure is left to libmongoc to find and word.
enum ConnectProbe {
    enum Verdict: Equatable {
        /// Some address accepted: connect with libmongoc.
        case accepts
        /// Every address refused: the host is up and nothing listens on the port yet.
        case refused
        /// No address answered within the timeout.
        case timedOut
        /// The name did not resolve, or a connect failed otherwise: libmongoc reports it.
        case unknown
    }

    static func probe(_ host: HostAddress, timeout: Duration) -> Verdict {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var addresses: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host.host, String(host.port), &hints, &addresses) == 0, let first = addresses else { return .unknown }
        defer { freeaddrinfo(first) }
        var verdicts: [Verdict] = []
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let address = entry?.pointee {
            let verdict = connect(address, timeout: timeout)
            if verdict == .accepts { return .accepts }
            verdicts.append(verdict)
            entry = address.ai_next
        }
        if !verdicts.isEmpty, verdicts.allSatisfy({ $0 == .refused }) { return .refused }
        if !verdicts.isEmpty, verdicts.allSatisfy({ $0 == .timedOut }) { return .timedOut }
        return .unknown
    }

    private static func connect(_ address: addrinfo, timeout: Duration) -> Verdict {
        let socket = Glibc.socket(address.ai_family, address.ai_socktype | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
                                  address.ai_protocol)
        guard socket >= 0 else { return .unknown }
        defer { close(socket) }
        if Glibc.connect(socket, address.ai_addr, address.ai_addrlen) == 0 { return .accepts }
        guard errno == EINPROGRESS else { return errno == ECONNREFUSED ? .refused : .unknown }
        var pollEntry = pollfd(fd: socket, events: Int16(POLLOUT), revents: 0)
        let ready = poll(&pollEntry, 1, Int32(clamping: timeout.milliseconds))
        guard ready > 0 else { return ready == 0 ? .timedOut : .unknown }
        var failure: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(socket, SOL_SOCKET, SO_ERROR, &failure, &length) == 0 else { return .unknown }
        switch failure {
        case 0: return .accepts
        case ECONNREFUSED: return .refused
        default: return .unknown
        }
    }
}
