import COpenSSL

/// The hashes SCRAM uses, through the system's libcrypto.
enum HashFunction: Sendable {
    case sha1, sha256

    private var digest: OpaquePointer { self == .sha1 ? EVP_sha1() : EVP_sha256() }

    func hash(_ data: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        _ = EVP_Digest(data, data.count, &output, &length, digest, nil)
        return Array(output.prefix(Int(length)))
    }

    func hmac(key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        _ = HMAC(digest, key, Int32(key.count), data, data.count, &output, &length)
        return Array(output.prefix(Int(length)))
    }

    /// RFC 5802's Hi(): PBKDF2 with this HMAC.
    func pbkdf2(password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
        let length = self == .sha1 ? 20 : 32
        var output = [UInt8](repeating: 0, count: length)
        let passwordChars = password.map { CChar(bitPattern: $0) }
        _ = PKCS5_PBKDF2_HMAC(passwordChars, Int32(passwordChars.count), salt, Int32(salt.count), Int32(iterations),
                              digest, Int32(length), &output)
        return output
    }
}

enum Crypto {
    static func md5Hex(_ text: String) -> String {
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let bytes = Array(text.utf8)
        _ = EVP_Digest(bytes, bytes.count, &output, &length, EVP_md5(), nil)
        return output.prefix(Int(length)).map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        precondition(RAND_bytes(&bytes, Int32(count)) == 1, "libcrypto has no randomness")
        return bytes
    }

    /// The subject of a DER certificate as mongod names x.509 users (RFC 2253).
    static func subject(ofCertificate der: [UInt8]) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let written = der.withUnsafeBufferPointer { certificate in
            copenssl_subject_rfc2253(certificate.baseAddress, certificate.count, &buffer, Int32(buffer.count))
        }
        guard written > 0 else { return nil }
        return String(decoding: buffer.prefix(Int(written)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
