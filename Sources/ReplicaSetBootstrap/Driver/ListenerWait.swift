import Glibc
import MongoBSON

/// Waits, on the calling thread, for a node that refused the last connection to start listening:
/// a plain non-blocking TCP connect every few milliseconds, to the addresses its name resolved to
/// once. A refused connect costs microseconds, where a libmongoc attempt (a client, a topology, a
/// round trip through the runner) costs about half a millisecond of CPU, and a member that is
/// still starting is asked hundreds of times a second. It tells reachability only and sends
/// nothing: libmongoc makes the connection that is used, and words every other failure.
struct ListenerWait {
    /// How often to try again: a listener is seen within this much, on average half.
    var interval: Duration
    /// Well inside the 10 ms a member that starts listening should be seen in.
    static let defaultInterval = Duration.milliseconds(5)
    /// How long to keep trying before the refusal is reported (as one attempt).
    var budget: Duration

    enum Verdict: Equatable {
        /// An address accepted (or the wait could not tell): connect with libmongoc.
        case accepts
        /// Every address kept refusing for the whole budget.
        case refused
    }

    /// `stop` is asked between tries: a closing run does not wait out the budget.
    func wait(for host: HostAddress, stop: () -> Bool) -> Verdict {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var addresses: UnsafeMutablePointer<addrinfo>?
        // A name that does not resolve now is libmongoc's to report.
        guard getaddrinfo(host.host, String(host.port), &hints, &addresses) == 0, let first = addresses else { return .accepts }
        defer { freeaddrinfo(first) }
        let deadline = ContinuousClock.now + budget
        while true {
            var entry: UnsafeMutablePointer<addrinfo>? = first
            while let address = entry?.pointee {
                guard refuses(address) else { return .accepts }
                entry = address.ai_next
            }
            guard ContinuousClock.now + interval < deadline, !stop() else { return .refused }
            // A signal cuts a pause short; the next try comes a little early.
            var pause = timespec(tv_sec: 0, tv_nsec: Int(min(interval.wholeMilliseconds, 999)) * 1_000_000)
            nanosleep(&pause, nil)
        }
    }

    /// True only when the connect was refused (nothing listens there) within one interval;
    /// anything else, an accept, a connect still in progress or another error, is for libmongoc
    /// to find out.
    private func refuses(_ address: addrinfo) -> Bool {
        let socket = Glibc.socket(address.ai_family, address.ai_socktype | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
                                  address.ai_protocol)
        guard socket >= 0 else { return false }
        defer { close(socket) }
        if Glibc.connect(socket, address.ai_addr, address.ai_addrlen) == 0 { return false }
        guard errno == EINPROGRESS else { return errno == ECONNREFUSED }
        // A remote host answers within a round trip.
        var ready = pollfd(fd: socket, events: Int16(POLLOUT), revents: 0)
        guard poll(&ready, 1, Int32(clamping: interval.wholeMilliseconds)) > 0 else { return false }
        var failure: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(socket, SOL_SOCKET, SO_ERROR, &failure, &length) == 0 && failure == ECONNREFUSED
    }
}
