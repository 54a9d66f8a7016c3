import Glibc
import MongoBSON

/// Waits, on the calling thread, for a node that refused the last connection to start listening:
/// a plain non-blocking TCP connect every few milliseconds, to the addresses its name resolved to
/// once. A refused probe costs about a tenth of a millisecond, where a libmongoc attempt (a
/// client, a topology, a round trip through the runner) costs about half a millisecond of CPU,
/// and a member that is still starting is asked over a hundred times a second. It tells reachability only and sends
/// nothing: the connection that is used (libmongoc's or a plain one) words every other failure.
struct ListenerWait {
    /// How often to try again: a listener is seen within this much, on average half.
    var interval: Duration
    /// Well inside the 10 ms a member that starts listening should be seen in; a probe costs
    /// about 0.1 ms of CPU (the refused SYN through the kernel, the timer's wake-up), so every 5 ms
    /// would cost 20 ms a second of waiting.
    static let defaultInterval = Duration.milliseconds(7)
    /// How long to keep trying before the refusal is reported (as one attempt).
    var budget: Duration

    enum Verdict: Equatable {
        /// An address accepted (or the wait could not tell): connect with libmongoc.
        case accepts
        /// Every address kept refusing for the whole budget.
        case refused
    }

    /// `stop` is asked between tries: a closing run does not wait out the budget. A name that
    /// does not resolve now is for the connection to report.
    func wait(for host: HostAddress, stop: () -> Bool) -> Verdict {
        guard case .success(let addresses) = SocketAddress.resolve(host) else { return .accepts }
        return wait(for: addresses, stop: stop)
    }

    /// The same, for the addresses a name resolved to.
    func wait(for addresses: [SocketAddress], stop: () -> Bool) -> Verdict {
        // One socket per address for the whole wait: a refused connect leaves it ready to
        // connect again, so a try costs two connects, not a socket, a poll and a close as well.
        var probes: [Probe] = []
        defer { for probe in probes { close(probe.socket) } }
        for address in addresses {
            guard let probe = Probe(address) else { return .accepts }
            probes.append(probe)
        }
        let deadline = ContinuousClock.now + budget
        while true {
            for probe in probes where !probe.refuses(within: interval) { return .accepts }
            guard ContinuousClock.now + interval < deadline, !stop() else { return .refused }
            // A signal cuts a pause short; the next try comes a little early.
            var pause = timespec(tv_sec: 0, tv_nsec: Int(min(interval.wholeMilliseconds, 999)) * 1_000_000)
            nanosleep(&pause, nil)
        }
    }

    /// A non-blocking socket for one address, connected again for every try.
    private struct Probe {
        let socket: Int32
        let address: SocketAddress

        init?(_ address: SocketAddress) {
            socket = Glibc.socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard socket >= 0 else { return nil }
            self.address = address
        }

        /// True only when the connect was refused (nothing listens there) within `interval`;
        /// anything else, an accept, a connect still in progress or another error, is for
        /// the connection to find out. A second connect on the socket reports how the first ended
        /// (Linux's `inet_stream_connect`) and, after a refusal, leaves the socket unconnected.
        func refuses(within interval: Duration) -> Bool {
            switch connect() {
            case 0: return false
            case EINPROGRESS: break
            case let failure: return failure == ECONNREFUSED
            }
            // A local refusal is already in by now; a remote host answers within a round trip.
            var outcome = connect()
            if outcome == EALREADY {
                var ready = pollfd(fd: socket, events: Int16(POLLOUT), revents: 0)
                guard poll(&ready, 1, Int32(clamping: interval.wholeMilliseconds)) > 0 else { return false }
                outcome = connect()
            }
            return outcome == ECONNREFUSED
        }

        /// 0 or `errno`.
        private func connect() -> Int32 {
            address.withSockaddr { Glibc.connect(socket, $0, $1) } == 0 ? 0 : errno
        }
    }
}
