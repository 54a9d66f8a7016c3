import Foundation
import Subprocess
import TestSupport
import Testing

/// `--generate-completion-script`: the scripts complete option values too, the enums by name
/// and files for the file options.
@Suite("Shell completion")
struct CompletionTests {
    static let enums: [(option: String, values: [String])] = [
        ("--output", ["text", "json"]),
        ("--log-format", ["text", "json"]),
        ("--wait-for", ["primary", "all"]),
        ("--auth-mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-1", "MONGODB-X509"]),
        ("--initiate-strategy", ["full", "incremental"]),
    ]
    static let fileOptions = ["--config", "--password-file", "--tls-ca-file", "--tls-certificate-key-file",
                              "--tls-certificate-key-file-password-file"]

    func script(_ shell: String) async throws -> String {
        let result = try await ToolProcess.run(["--generate-completion-script", shell])
        #expect(result.exitCode == 0, "\(result.stderr)")
        return result.stdout
    }

    /// What bash offers after `mongo-rs-bootstrap <words> <current>`, run in a real bash
    /// with the generated script loaded, in `folder`.
    func bashCompletions(_ words: [String], current: String, in folder: String) async throws -> [String] {
        let scriptPath = folder + "/completion.bash"
        try await script("bash").write(toFile: scriptPath, atomically: true, encoding: .utf8)
        let line = (["mongo-rs-bootstrap"] + words + [current]).joined(separator: " ")
        let quoted = (["mongo-rs-bootstrap"] + words + [current]).map { "'\($0)'" }.joined(separator: " ")
        let program = """
        source '\(scriptPath)'
        cd '\(folder)'
        COMP_WORDS=(\(quoted)); COMP_CWORD=\(words.count + 1)
        COMP_LINE='\(line)'; COMP_POINT=${#COMP_LINE}
        _mongo-rs-bootstrap mongo-rs-bootstrap '\(current)' '\(words.last ?? "mongo-rs-bootstrap")'
        printf '%s\\n' "${COMPREPLY[@]}"
        """
        let run = try await Subprocess.run(.path("/bin/bash"), arguments: ["-c", program], output: .bytes(limit: .max))
        return String(decoding: run.standardOutput, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    @Test("bash completes the values of every enum option, and files for every file option")
    func bash() async throws {
        let folder = try TemporaryFolder()
        try folder.file("rs0.yaml", "name: rs0\n")
        try folder.file("password.txt", "secret\n")
        for (option, values) in Self.enums {
            let offered = try await bashCompletions(["--nodes", "db-0"] + [option], current: "", in: folder.url.path)
            #expect(Set(offered) == Set(values), "\(option): \(offered)")
        }
        let narrowed = try await bashCompletions(["--auth-mechanism"], current: "SCRAM-SHA-2", in: folder.url.path)
        #expect(narrowed == ["SCRAM-SHA-256"])
        for option in Self.fileOptions {
            let offered = try await bashCompletions([option], current: "", in: folder.url.path)
            #expect(offered.contains("rs0.yaml"), "\(option): \(offered)")
            if option != "--config" { #expect(offered.contains("password.txt"), "\(option): \(offered)") }
        }
        // --config offers spec files only.
        #expect(try await !bashCompletions(["--config"], current: "", in: folder.url.path).contains("password.txt"))
    }

    @Test("zsh and fish scripts hold the values and the file completions of those options")
    func zshAndFish() async throws {
        let zsh = try await script("zsh")
        let fish = try await script("fish")
        for (option, values) in Self.enums {
            let name = String(option.dropFirst(2))
            // zsh: `'--output[…]:text|json:{__…_complete "${___output[@]}"}'` with the values in an array.
            let zshLine = zsh.split(separator: "\n").first { $0.contains("'\(option)[") }.map(String.init) ?? ""
            #expect(zshLine.contains("complete"), "zsh \(option): \(zshLine)")
            let variable = zshLine.range(of: #"\$\{[A-Za-z0-9_]+\[@\]\}"#, options: .regularExpression).map { String(zshLine[$0].dropFirst(2).dropLast(4)) }
            let array = variable.flatMap { name in zsh.split(separator: "\n").first { $0.contains("\(name)=(") } }.map(String.init) ?? ""
            for value in values { #expect(array.contains("'\(value)'"), "zsh \(option): \(array)") }
            // fish: `complete -c mongo-rs-bootstrap … -l output … -rfka 'text json'`.
            let fishLine = fish.split(separator: "\n").first { $0.contains("-l '\(name)'") }.map(String.init) ?? ""
            #expect(fishLine.hasSuffix("-rfka '\(values.joined(separator: " "))'"), "fish \(option): \(fishLine)")
        }
        for option in Self.fileOptions {
            let name = String(option.dropFirst(2))
            let zshLine = zsh.split(separator: "\n").first { $0.contains("'\(option)[") }.map(String.init) ?? ""
            #expect(zshLine.contains("_files"), "zsh \(option): \(zshLine)")
            let fishLine = fish.split(separator: "\n").first { $0.contains("-l '\(name)'") }.map(String.init) ?? ""
            #expect(fishLine.hasSuffix("-rF") || (option == "--config" && fishLine.contains("yaml")), "fish \(option): \(fishLine)")
        }
    }

    @Test("--help says how to install completion")
    func helpMentionsCompletion() async throws {
        let result = try await ToolProcess.run(["--help"])
        #expect(result.stdout.contains("--generate-completion-script bash"))
        #expect(result.stdout.contains("zsh"))
        #expect(result.stdout.contains("fish"))
    }
}
