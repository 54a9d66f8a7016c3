@testable import mongo_rs_bootstrap
import ReplicaSetBootstrap
import Testing

/// The spec file's YAML: libyaml's parse, typed where YAML 1.1 and 1.2 agree, refused by name
/// where a file could mean something else to another reader.
@Suite("Spec files: the YAML reader")
struct SpecYAMLTests {
    func parse(_ text: String) throws(SpecYAML.SyntaxError) -> SpecYAML? { try SpecYAML.parse(text) }

    /// The node as nested values, for comparison: strings quoted, `~` for null, `?` before an
    /// ambiguous scalar.
    func plain(_ node: SpecYAML?) -> String {
        guard let node else { return "nil" }
        switch node.value {
        case .null: return "~"
        case .bool(let value): return "\(value)"
        case .int(let value): return value.map { "\($0)" } ?? "big"
        case .float(let value): return "\(value)"
        case .string(let text): return "'\(text)'"
        case .ambiguous: return "?\(node.text)"
        case .mapping(let pairs): return "{" + pairs.map { "\(plain($0.key)): \(plain($0.value))" }.joined(separator: ", ") + "}"
        case .sequence(let items): return "[" + items.map { plain($0) }.joined(separator: ", ") + "]"
        }
    }

    @Test("the README's spec: block and flow collections, comments, quoted and plain scalars, line numbers")
    func readmeSpec() throws {
        let text = """
        # mongo-rs-bootstrap --config rs0.yaml
        ---
        name: rs0
        settings: {electionTimeoutMillis: 5000, chainingAllowed: true}
        members:
          - host: db-0.mongo:27017   # the preferred primary
            priority: 2
            tags: {zone: a}
          - host: "db-1.mongo:27017"
            horizons: {external: "db-1.example.com:30001"}
          - {host: db-2.mongo:27017, hidden: true, priority: 0, secondaryDelaySecs: 3600}
          - 'db-3.mongo:27017'
        """
        let root = try #require(try parse(text))
        #expect(plain(root) == "{'name': 'rs0', 'settings': {'electionTimeoutMillis': 5000, 'chainingAllowed': true}, 'members': [{'host': 'db-0.mongo:27017', 'priority': 2, 'tags': {'zone': 'a'}}, {'host': 'db-1.mongo:27017', 'horizons': {'external': 'db-1.example.com:30001'}}, {'host': 'db-2.mongo:27017', 'hidden': true, 'priority': 0, 'secondaryDelaySecs': 3600}, 'db-3.mongo:27017']}")
        let members = try #require(root.mapping?.first { $0.key.text == "members" }?.value.sequence)
        #expect(members.map(\.line) == [6, 9, 11, 12])
        #expect(members[0].mapping?[1].value.line == 7)
    }

    @Test("lists at the key's own indentation, empty values, escapes, block scalars, end markers")
    func blockDetails() throws {
        #expect(plain(try parse("members:\n- a\n- b\nname: x\n")) == "{'members': ['a', 'b'], 'name': 'x'}")
        #expect(plain(try parse("name:\nmembers: []\n")) == "{'name': ~, 'members': []}")
        #expect(plain(try parse(#"a: "q\"\\\u00fc\n""#)) == "{'a': 'q\"\\ü\n'}")
        #expect(plain(try parse("a: 'it''s'\nb: x # comment\nc: x#y\n")) == "{'a': 'it's', 'b': 'x', 'c': 'x#y'}")
        #expect(plain(try parse("a: |\n  one\n  two\nb: >-\n  one\n  two\n...\n")) == "{'a': 'one\ntwo\n', 'b': 'one two'}")
        let windows = plain(try parse("\u{FEFF}a: 1\r\nb: [x,\r\n  z]\r\n"))
        #expect(windows == "{'a': 1, 'b': ['x', 'z']}")
        #expect(try parse("# only a comment\n") == nil)
        #expect(plain(try parse("---\n")) == "~")
    }

    @Test("a pretty-printed JSON document")
    func json() throws {
        let text = """
        {
          "name": "rs0",
          "members": [
            {"host": "db-0:27017", "votes": 1},
            {"host": "db-1:27017", "tags": {"zone": "b"}}
          ]
        }
        """
        #expect(plain(try parse(text)) == "{'name': 'rs0', 'members': [{'host': 'db-0:27017', 'votes': 1}, {'host': 'db-1:27017', 'tags': {'zone': 'b'}}]}")
    }

    /// Plain scalars: typed only where YAML 1.1 (PyYAML) and YAML 1.2 agree.
    @Test("plain scalars: the value both YAML versions read, or ambiguous", arguments: [
        ("true", "true"), ("True", "true"), ("FALSE", "false"), ("~", "~"), ("null", "~"), ("Null", "~"), ("NULL", "~"),
        ("0", "0"), ("-0", "0"), ("+1", "1"), ("42", "42"), ("0x1F", "31"), ("9223372036854775808", "big"),
        ("1.5", "1.5"), ("-0.5", "-0.5"), ("1.", "1.0"), (".5", "0.5"), ("1.0e+3", "1000.0"), (".inf", "inf"), ("-.Inf", "-inf"), (".NaN", "nan"),
        ("yes", "?yes"), ("No", "?No"), ("on", "?on"), ("OFF", "?OFF"), ("y", "?y"), ("n", "?n"),
        ("017", "?017"), ("00", "?00"), ("08", "?08"), ("0o17", "?0o17"), ("0b101", "?0b101"), ("1_000", "?1_000"), ("-0x1F", "?-0x1F"),
        ("1e5", "?1e5"), ("1.5e5", "?1.5e5"), ("-.5", "?-.5"), ("1:30", "?1:30"), ("1:30.5", "?1:30.5"),
        ("2001-12-14", "?2001-12-14"), ("2001-12-14 21:59:43.10 -5", "?2001-12-14 21:59:43.10 -5"), ("<<", "?<<"), ("=", "?="),
        ("nan", "'nan'"), ("inf", "'inf'"), ("1.2.3", "'1.2.3'"), ("127.0.0.1:27017", "'127.0.0.1:27017'"), ("2001-1-1", "'2001-1-1'"), ("yes please", "'yes please'"),
    ])
    func plainScalars(text: String, reading: String) throws {
        #expect(plain(try parse("a: \(text)\n")?.mapping?.first?.value) == reading)
        #expect(plain(try parse("a: '\(text)'\n")?.mapping?.first?.value) == "'\(text)'")
    }

    @Test("a NUL in a key or value is kept, not an end")
    func nul() throws {
        let root = try #require(try parse("\"na\\0me\": \"a\\0b\"\n"))
        #expect(root.mapping?.first?.key.text == "na\u{0}me")
        #expect(root.mapping?.first?.value.string == "a\u{0}b")
    }

    @Test("mistakes and refusals are errors with a line", arguments: [
        ("members: [\n", "did not find expected node content"),
        ("a: b: c\n", "mapping values are not allowed"),
        ("a: 1\n  b: 2\n", "mapping values are not allowed"),
        ("a:\n\t- b\n", "found character that cannot start any token"),
        ("a: \"open\n", "found unexpected end of stream"),
        ("{a: [1, 2}\n", "did not find expected ',' or ']'"),
        ("{a: 1,, b: 2}\n", "did not find expected node content"),
        ("a: 1\nb: \u{1}\n", "control characters are not allowed"),
        ("a: &x 1\n", "anchors (&name) and aliases (*name) are not supported"),
        ("a: *x\n", "anchors (&name) and aliases (*name) are not supported"),
        ("a: !!str 1\n", "tags ('!!str', '!name') are not supported"),
        ("a: ! 1\n", "tags ('!!str', '!name') are not supported"),
        ("a: 1\nb: 2\na: 3\n", "the key 'a' is given twice (first on line 1)"),
        ("a: 1\n---\nb: 2\n", "a second document"),
        ("{1: a}\n", "a key must be a string, and '1' is not (YAML reads it as a number); quote it"),
        ("yes: a\n", "a key must be a string, and 'yes' is not (YAML 1.1 reads it as the boolean true, YAML 1.2 as a string)"),
        ("? [a]\n: b\n", "a key must be a string, and a list is not"),
    ])
    func errors(text: String, message: String) {
        do throws(SpecYAML.SyntaxError) {
            _ = try parse(text)
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.description.contains(message), "\(error.description)")
            #expect(error.description.contains("(line "))
        }
    }

    /// What a field refuses, with the file, line, field, what YAML reads and what is valid.
    @Test("typed fields: a string is not a boolean, null is not a name", arguments: [
        ("members:\n  - host: db:1\n    hidden: \"true\"\n", "spec.yaml:3: members[0].hidden: \"true\" is not true or false (quoted, so a string); write true or false, unquoted"),
        ("members:\n  - host: db:1\n    hidden: yes\n", "spec.yaml:3: members[0].hidden: 'yes' is not true or false (YAML 1.1 reads it as the boolean true, YAML 1.2 as a string); write true or false, unquoted"),
        ("members:\n  - host: db:1\n    votes: \"1\"\n", "members[0].votes: \"1\" is not a whole number from 0 to 1 (quoted, so a string); write it unquoted"),
        ("members:\n  - host: db:1\n    votes: 017\n", "members[0].votes: '017' is not a whole number from 0 to 1 (YAML 1.1 reads a number with a leading 0 as octal, YAML 1.2 as decimal)"),
        ("members:\n  - host: db:1\n    tags: {zone: 1}\n", "members[0].tags.zone: '1' is not a string (YAML reads it as a number); quote it to mean the text"),
        ("name: null\nmembers: [db:1]\n", "spec.yaml:1: name: 'null' is not a string (YAML reads it as null: no value); quote it to mean the text"),
        ("name: ~\nmembers: [db:1]\n", "name: '~' is not a string"),
        ("name:\nmembers: [db:1]\n", "name: an empty value is not a string"),
        ("\"na\\0me\": rs0\n", "spec.yaml:1: unknown field 'na\\u{0}me' in the top level"),
        ("members:\n  - host: \"db\\0:1\"\n", "spec.yaml:2: members[0].host"),
    ])
    func typedFields(text: String, message: String) {
        do throws(InvalidInput) {
            let file = try SpecFile.parse(text, source: "spec.yaml")
            Issue.record("accepted: \(file)")
        } catch {
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test("typed fields: what both YAML versions read alike is taken")
    func typedFieldsAccepted() throws {
        let file = try SpecFile.parse("""
            name: "null"
            configsvr: False
            settings: {chainingAllowed: TRUE, electionTimeoutMillis: 0x1388}
            members:
              - {host: "db:1", hidden: true, priority: 0, votes: +1, tags: {zone: 'yes', rack: "1"}}
              - {host: db:2, priority: 1.5e+0}
            """, source: "spec.yaml")
        #expect(file.name == "null")
        #expect(file.configsvr == false)
        #expect(file.settings.chainingAllowed == true)
        #expect(file.settings.electionTimeoutMillis == 5000)
        #expect(file.members.map(\.hidden) == [true, nil])
        #expect(file.members.map(\.priority) == [0, 1.5])
        #expect(file.members[0].votes == 1)
        #expect(file.members[0].tags == ["zone": "yes", "rack": "1"])
    }
}
