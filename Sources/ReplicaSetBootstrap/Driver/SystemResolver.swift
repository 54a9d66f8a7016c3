import CResolv
import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// The system resolver (/etc/resolv.conf, read anew for every query, so a resolver that starts
/// late is found). Queries block, so they run on a queue of their own (a resolver waits seconds
/// per name for a server that does not answer); a caller that stops waiting (the deadline)
/// leaves the query to finish there.
public struct SystemResolver: ServiceResolver {
    private static let queue = DispatchQueue(label: "mongo-rs-bootstrap.dns")
    /// More records than a replica set has members: the answer is refused as too many.
    private static let capacity = ReplicaSetSpec.maxMembers * 2

    public init() {}

    public func srvRecords(of name: String) async -> SRVAnswer {
        await Self.queue.blockingCall(cancelled: .failed("cancelled")) { Self.querySRV(name) }
    }

    public func fullName(of hostname: String) async -> Result<String, ResolverFailure> {
        await Self.queue.blockingCall(cancelled: .failure(ResolverFailure("cancelled"))) { Self.reverseResolve(hostname) }
    }

    private static func querySRV(_ name: String) -> SRVAnswer {
        var records = [cresolv_srv_record](repeating: cresolv_srv_record(), count: capacity)
        var count: Int32 = 0
        var answered = [CChar](repeating: 0, count: Int(cresolv_name_capacity))
        let status = records.withUnsafeMutableBufferPointer { buffer in
            cresolv_query_srv(name, 1, buffer.baseAddress, Int32(buffer.count), &count, &answered)
        }
        switch status {
        case CRESOLV_OK:
            // The records beyond capacity were counted, not kept: report them all as too many.
            let kept = records.prefix(Int(min(count, Int32(capacity)))).map { record in
                SRVRecord(target: withUnsafeBytes(of: record.target) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) },
                          port: Int(record.port))
            }
            let fullName = String(decoding: answered.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return Int(count) > capacity ? .failed("\(count) SRV records, more than a replica set's members") : .records(kept, name: fullName)
        case CRESOLV_NO_SUCH_NAME: return .noSuchName
        case CRESOLV_NO_RECORDS: return .noRecords
        case CRESOLV_TRY_AGAIN: return .failed("no answer from the DNS server (timeout or SERVFAIL)")
        case CRESOLV_MALFORMED: return .failed("the DNS answer did not parse")
        default: return .failed("the DNS server refused the query, or /etc/resolv.conf names none")
        }
    }

    private static func reverseResolve(_ hostname: String) -> Result<String, ResolverFailure> {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(hostname, nil, &hints, &list)
        guard status == 0, let first = list else {
            return .failure(ResolverFailure("\(hostname) does not resolve: \(String(cString: gai_strerror(status)))"))
        }
        defer { freeaddrinfo(list) }
        var name = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let reverse = getnameinfo(first.pointee.ai_addr, first.pointee.ai_addrlen, &name, socklen_t(name.count), nil, 0, NI_NAMEREQD)
        guard reverse == 0 else {
            return .failure(ResolverFailure("the address of \(hostname) has no name in DNS (no PTR record): \(String(cString: gai_strerror(reverse)))"))
        }
        return .success(String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
}
