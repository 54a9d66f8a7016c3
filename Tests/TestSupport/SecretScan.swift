import Foundation

/// Looks for a secret in output in every form it could take there: as is, percent-encoded (in a
/// URI), JSON-escaped, base64 and hex. Written independently of the tool's own redaction.
public enum SecretScan {
    /// "the 2nd secret, percent-encoded, in stderr", for each form found; never the secret itself.
    public static func leaks(of secrets: [String], in outputs: [String: String]) -> [String] {
        var found: [String] = []
        for (index, secret) in secrets.enumerated() where !secret.isEmpty {
            for (form, text) in forms(of: secret) {
                for (name, output) in outputs.sorted(by: { $0.key < $1.key }) where output.contains(text) {
                    found.append("secret \(index + 1) (\(form)) in \(name)")
                }
            }
        }
        return found
    }

    static func forms(of secret: String) -> [(String, String)] {
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        let json = (try? JSONEncoder().encode(secret)).map { String(decoding: $0.dropFirst().dropLast(), as: UTF8.self) } ?? secret
        return [
            ("as is", secret),
            ("percent-encoded", secret.addingPercentEncoding(withAllowedCharacters: unreserved) ?? secret),
            ("JSON-escaped", json),
            ("base64", Data(secret.utf8).base64EncodedString()),
            ("hex", secret.utf8.map { String(format: "%02x", $0) }.joined()),
        ]
    }
}
