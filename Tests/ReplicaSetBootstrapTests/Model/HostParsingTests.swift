import Testing
@testable import ReplicaSetBootstrap

/// The one-pass reader of the common form (`HostAddress.commonForm`) only ever accepts what the
/// full parser accepts, as the same address; everything else goes to the full parser.
@Suite("Model: host parsing")
struct HostParsingTests {
    static let examples = [
        "db-0.mongo:27017", "db-0.mongo", "DB-0.Mongo:1", "127.0.0.1:65535", "10.0.0.5", "0.0.0.0:27017", "a_b.c",
        "255.255.255.255", "256.1.1.1", "1.2.3", "1.2.3.4.5", "0255.1.1.1", "01.2.3.4", "300.example.com", "1234.example",
        "db.300", "-db.mongo", "db-.mongo", "db..mongo", ".db", "db.", "db:0", "db:65536", "db:027017", "db:", ":27017",
        "db:1:2", "[::1]:27017", "::1", "db mongo", " db", "db ", "x@db", "mongodb://db", "db/x", "é.mongo",
        String(repeating: "a", count: 63) + ".b", String(repeating: "a", count: 64) + ".b",
        String(repeating: "1", count: 70) + ".2.3.4", String(repeating: "a.", count: 126) + "b",
    ]

    @Test("the common form reads as the full parser does", arguments: examples)
    func commonFormAgrees(text: String) {
        let full = try? HostAddress(parsingAnyForm: text)
        if let common = HostAddress.commonForm(text) {
            #expect(full.map { $0.isSpelledLike(common) } == true, "\(text): \(common) vs \(String(describing: full))")
        }
        #expect((try? HostAddress(parsing: text)).map { full?.isSpelledLike($0) == true } ?? (full == nil))
    }

    @Test("random text from the bytes of hosts reads as the full parser does")
    func randomText() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ab-_.:0129[]@ /")
        for _ in 0..<20_000 {
            let text = String((0..<Int.random(in: 0...12, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
            guard let common = HostAddress.commonForm(text) else { continue }
            let full = try? HostAddress(parsingAnyForm: text)
            #expect(full.map { $0.isSpelledLike(common) } == true, "\(text)")
        }
    }
}
