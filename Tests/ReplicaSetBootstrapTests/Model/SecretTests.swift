@testable import ReplicaSetBootstrap
import Testing

@Suite("Model: secrets")
struct SecretTests {
    @Test("a password shows as a placeholder however it is printed, also inside the values that hold it")
    func neverPrinted() {
        let password = Secret("-x@y:z/%41 ü")
        let credentials = Credentials(username: "admin", password: password, source: "admin", mechanism: .scramSHA256)
        let options = ConnectionOptions(credentials: credentials, tls: TLSOptions(certificateKeyPassword: Secret("key-pass")))
        var dumped = ""
        dump(options, to: &dumped)
        for text in ["\(password)", String(describing: password), String(reflecting: password), "\(credentials)",
                     String(reflecting: credentials), credentials.description, String(reflecting: options), dumped] {
            #expect(!text.contains("-x@y") && !text.contains("key-pass"), "\(text)")
        }
        #expect(credentials.description == "user 'admin' (database admin, SCRAM-SHA-256)")
        #expect(password.withCString { String(cString: $0) } == "-x@y:z/%41 ü")
    }
}
