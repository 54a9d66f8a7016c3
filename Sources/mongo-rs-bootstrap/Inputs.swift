import ArgumentParser
import ReplicaSetBootstrap

/// How an input is written on the command line; `SpicaCompatibility` rewrites each kind its own
/// way before ArgumentParser sees it.
enum InputKind: Sendable {
    /// `--name value`.
    case value
    /// `--name value`, repeatable; each value, like the variable, a comma or space separated list.
    case list
    /// `--name` alone; the variable says true or false.
    case flag
    /// yargs-style, as Spica took it: `--name`, `--name true`, `--name=false`, `--no-name`.
    case yargsBoolean
    /// `--name value` whatever the value looks like; a value never shown.
    case secret
}

/// An input whatever its value type: what `SpicaCompatibility` and the lenient pre-parse need.
protocol NamedInput: Sendable {
    var name: String { get }
    var env: String { get }
    var kind: InputKind { get }
}

/// One input of the tool: its option, the environment variable that stands in for it (the
/// command line wins), the help that documents both, and the parser that makes a typed value of
/// either's text, or a message that names where the text came from and what is valid. Options
/// are strings to ArgumentParser so that a bad value gets the same message from both sources.
struct Input<Value>: NamedInput {
    /// The long option without `--`.
    let name: String
    let env: String
    let kind: InputKind
    let help: ArgumentHelp
    let completion: CompletionKind?
    /// What ArgumentParser read for the option: no text when it was not given.
    let texts: @Sendable (MongoRSBootstrap) -> [String]
    /// `origin` is the option or the variable the text came from.
    let parse: @Sendable (_ text: String, _ origin: String) throws(InvalidInput) -> Value

    var flag: String { "--\(name)" }

    init(_ name: String, env: String, kind: InputKind, about: String, valueName: String? = nil,
         completion: CompletionKind? = nil, texts: @escaping @Sendable (MongoRSBootstrap) -> [String],
         parse: @escaping @Sendable (_ text: String, _ origin: String) throws(InvalidInput) -> Value) {
        self.name = name
        self.env = env
        self.kind = kind
        let variable = switch kind {
        case .flag: "\(env)=true"
        case .list: "\(env), comma separated"
        default: env
        }
        help = ArgumentHelp("\(about) [env: \(variable)]", valueName: valueName)
        self.completion = completion
        self.texts = texts
        self.parse = parse
    }

    /// An option with one value. `argument` reads ArgumentParser's property: a closure, where a
    /// key path (`\.name`, even passed as a function) is built at run time, ~20 K instructions
    /// each at start-up.
    init(_ name: String, _ argument: @escaping @Sendable (MongoRSBootstrap) -> String?, env: String, kind: InputKind = .value,
         about: String, valueName: String, completion: CompletionKind? = nil,
         parse: @escaping @Sendable (_ text: String, _ origin: String) throws(InvalidInput) -> Value) {
        self.init(name, env: env, kind: kind, about: about, valueName: valueName, completion: completion,
                  texts: { argument($0).map { [$0] } ?? [] }, parse: parse)
    }
}

extension Input<String> {
    /// Any text; what it must be is checked where it is used.
    static func text(_ name: String, _ argument: @escaping @Sendable (MongoRSBootstrap) -> String?, env: String, about: String,
                     valueName: String, completion: CompletionKind? = nil) -> Input {
        Input(name, argument, env: env, about: about, valueName: valueName, completion: completion) { text, _ in text }
    }
}

extension Input<Duration> {
    /// `300` (seconds), `1500ms`, `90s`, `5m`, `1h30m`, within `allowed`.
    static func duration(_ name: String, _ argument: @escaping @Sendable (MongoRSBootstrap) -> String?, env: String,
                         allowed: ClosedRange<Duration>, about: String, valueName: String = "duration") -> Input {
        Input(name, argument, env: env, about: about, valueName: valueName) { text, origin throws(InvalidInput) in
            try DurationParsing.parse(text, name: origin, allowed: allowed)
        }
    }
}

extension Input<Int> {
    static func integer(_ name: String, _ argument: @escaping @Sendable (MongoRSBootstrap) -> String?, env: String,
                        allowed: ClosedRange<Int>, about: String) -> Input {
        Input(name, argument, env: env, about: about, valueName: "n") { text, origin throws(InvalidInput) in
            guard let value = Int(text.trimmingCharacters(in: " ")), allowed.contains(value) else {
                throw InvalidInput("\(origin): '\(text)' is not a whole number from \(allowed.lowerBound) to \(allowed.upperBound)")
            }
            return value
        }
    }
}

extension Input<Bool> {
    /// `--name`; the variable `true` or `false`.
    static func flag(_ name: String, _ argument: @escaping @Sendable (MongoRSBootstrap) -> Bool, env: String, about: String) -> Input {
        Input(name, env: env, kind: .flag, about: about, texts: { argument($0) ? ["true"] : [] }, parse: parseBool)
    }

    /// Spica's booleans: `--name`, `--name true|false`, `--no-name`.
    static func yargsBoolean(_ name: String, _ argument: @escaping @Sendable (MongoRSBootstrap) -> String?, env: String, about: String) -> Input {
        Input(name, argument, env: env, kind: .yargsBoolean, about: about, valueName: "true|false", parse: parseBool)
    }

    @Sendable static func parseBool(_ text: String, origin: String) throws(InvalidInput) -> Bool {
        switch text.lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off", "": return false
        default: throw InvalidInput("\(origin): '\(text)' is not a boolean; give true or false")
        }
    }
}

extension Input<[String]> {
    /// Repeatable; each value, like the variable, a comma or space separated list of items.
    static func list(_ name: String, _ argument: @escaping @Sendable (MongoRSBootstrap) -> [String], env: String, about: String,
                     valueName: String) -> Input {
        Input(name, env: env, kind: .list, about: about, valueName: valueName, texts: argument) { text, origin throws(InvalidInput) in
            let pieces = text.split(omittingEmptySubsequences: false) { $0 == "," }
            var items: [String] = []
            for (offset, piece) in pieces.enumerated() {
                let words = piece.split { $0 == " " || $0 == "\t" || $0 == "\n" }
                if words.isEmpty {
                    // "a,,b" or a trailing comma: say where, rather than guessing.
                    if pieces.count == 1 { throw InvalidInput("\(origin): empty value; give host[:port],...") }
                    throw InvalidInput("\(origin) '\(text)': empty host at position \(offset + 1) (two commas, or a comma at an end)")
                }
                items += words.map(String.init)
            }
            return items
        }
    }
}

extension Input where Value: CaseIterable & RawRepresentable & Sendable, Value.RawValue == String {
    /// One of the cases by its raw value, in any case; completed from them.
    static func choice(_ name: String, _ argument: @escaping @Sendable (MongoRSBootstrap) -> String?, env: String, about: String,
                       valueName: String? = nil, unsupported: String = "") -> Input {
        let names = Value.allCases.map(\.rawValue)
        return Input(name, argument, env: env, about: about, valueName: valueName ?? names.joined(separator: "|"),
                     completion: .list(names)) { text, origin throws(InvalidInput) in
            guard let value = Value.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else {
                let valid = names.dropLast().joined(separator: ", ") + " or " + names.last!
                throw InvalidInput("\(origin): '\(text)' is not valid; give \(valid)\(unsupported)")
            }
            return value
        }
    }
}

extension Option where Value == String? {
    init<Parsed>(_ input: Input<Parsed>) {
        self.init(name: .customLong(input.name), help: input.help, completion: input.completion)
    }
}

extension Option where Value == [String] {
    init(wrappedValue: [String], _ input: Input<[String]>, parsing: ArrayParsingStrategy = .singleValue) {
        self.init(wrappedValue: wrappedValue, name: .customLong(input.name), parsing: parsing, help: input.help)
    }
}

extension Flag where Value == Bool {
    init(wrappedValue: Bool, _ input: Input<Bool>) {
        self.init(wrappedValue: wrappedValue, name: .customLong(input.name), help: input.help)
    }
}

/// Command line first, then the environment: the one place that reads both, through the inputs'
/// table, and names the source of a bad value.
struct Resolver {
    /// What the command line gave: ArgumentParser's values, or the texts found before parsing.
    enum Arguments {
        case parsed(MongoRSBootstrap)
        case found([String: String])
    }

    let arguments: Arguments
    let environment: Environment

    init(_ options: MongoRSBootstrap, environment: Environment) {
        arguments = .parsed(options)
        self.environment = environment
    }

    init(found: [String: String], environment: Environment) {
        arguments = .found(found)
        self.environment = environment
    }

    /// The input's texts, each with its origin: the command line's, or else the variable's.
    func given<Value>(_ input: Input<Value>) -> [(text: String, origin: String)] {
        let texts = switch arguments {
        case .parsed(let options): input.texts(options)
        case .found(let found): found[input.name].map { [$0] } ?? []
        }
        if !texts.isEmpty { return texts.map { ($0, input.flag) } }
        return environment[input.env].map { [($0, input.env)] } ?? []
    }

    /// Where the input's value comes from, for messages about it.
    func origin<Value>(_ input: Input<Value>) -> String {
        given(input).first?.origin ?? input.flag
    }

    /// nil when neither the command line nor the environment gives it.
    func value<Value>(_ input: Input<Value>) throws(InvalidInput) -> Value? {
        guard let (text, origin) = given(input).last else { return nil }
        return try input.parse(text, origin)
    }

    /// Every item of a list input.
    func list(_ input: Input<[String]>) throws(InvalidInput) -> [String] {
        var items: [String] = []
        for (text, origin) in given(input) { items += try input.parse(text, origin) }
        return items
    }
}
