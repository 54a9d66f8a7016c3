import ReplicaSetBootstrap

/// Rewrites the command line before ArgumentParser sees it:
/// - The Spica controller parsed its booleans with yargs: `--debug`, `--debug true`,
///   `--debug=false` and `--no-debug` all work there. They become `--debug=value`.
/// - A value that starts with '-' (`--timeout -5s`, a password `-x…`) would be taken for an
///   option; it is attached with '=' unless it is one of ours.
/// - `--password` always takes the next argument as its value, whatever it looks like: Spica's
///   users hit passwords that start with '-' (spica PR 1917).
enum SpicaCompatibility {
    static let booleanOptions = names(of: .yargsBoolean)
    static let valueOptions = names(of: .value, .list)
    static let secretOptions = names(of: .secret)
    static let flags = names(of: .flag).union(["help", "version"])

    private static func names(of kinds: InputKind...) -> Set<String> {
        Set(Inputs.all.filter { kinds.contains($0.kind) }.map(\.name))
    }

    static func normalize(_ arguments: [String]) -> [String] {
        var result: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--" {
                result.append(contentsOf: arguments[(index - 1)...])
                break
            }
            guard argument.hasPrefix("--"), !argument.contains("=") else {
                result.append(argument)
                continue
            }
            let name = String(argument.dropFirst(2))
            if name.hasPrefix("no-"), booleanOptions.contains(String(name.dropFirst(3))) {
                result.append("--\(name.dropFirst(3))=false")
            } else if booleanOptions.contains(name) {
                if index < arguments.count, let value = booleanWord(arguments[index]) {
                    result.append("--\(name)=\(value)")
                    index += 1
                } else {
                    result.append("--\(name)=true")
                }
            } else if secretOptions.contains(name), index < arguments.count {
                result.append("--\(name)=\(arguments[index])")
                index += 1
            } else if valueOptions.contains(name), index < arguments.count, arguments[index].hasPrefix("-"), !isOption(arguments[index]) {
                result.append("--\(name)=\(arguments[index])")
                index += 1
            } else {
                result.append(argument)
            }
        }
        return result
    }

    /// Stands for a value that an error message must not show.
    static let hidden = "<hidden>"

    /// The (normalized) arguments as an error message may quote them. ArgumentParser quotes
    /// values in its errors (unexpected arguments, a value given to a flag), and a password can
    /// end up as one: after `--`, or its second word when it has a space and was not quoted.
    /// So when the command line holds a secret option, every value is hidden: each argument
    /// that is not an option name, the part after '=', and whatever follows a secret option.
    /// Parsing does not depend on values (they are all strings), so the hidden arguments fail
    /// the same way.
    static func redactingSecrets(_ arguments: [String]) -> [String] {
        let hasSecret = arguments.contains { secretOptions.contains(optionName($0) ?? "") }
        guard hasSecret else { return arguments }
        var result: [String] = []
        var secretNext = false
        for argument in arguments {
            if secretNext || argument == "--" {
                result.append(secretNext ? hidden : argument)
                secretNext = false
            } else if let name = optionName(argument) {
                if let equals = argument.firstIndex(of: "=") {
                    result.append(String(argument[...equals]) + hidden)
                } else {
                    result.append(argument)
                    secretNext = secretOptions.contains(name)
                }
            } else {
                result.append(hidden)
            }
        }
        return result
    }

    /// `password` for `--password`, `-password` or `--password=x`; nil for a value.
    private static func optionName(_ argument: String) -> String? {
        guard argument.hasPrefix("-"), argument != "-", argument != "--" else { return nil }
        return String(argument.drop { $0 == "-" }.prefix { $0 != "=" })
    }

    private static func isOption(_ argument: String) -> Bool {
        guard argument.hasPrefix("--") else { return argument == "-h" }
        let name = String(argument.dropFirst(2).prefix { $0 != "=" })
        let known = booleanOptions.union(valueOptions).union(secretOptions).union(flags)
        return known.contains(name) || (name.hasPrefix("no-") && booleanOptions.contains(String(name.dropFirst(3))))
    }

    private static func booleanWord(_ text: String) -> String? {
        switch text.lowercased() {
        case "true", "false": return text.lowercased()
        default: return nil
        }
    }
}
