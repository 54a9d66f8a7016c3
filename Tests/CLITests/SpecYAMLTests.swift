@testable import mongo_rs_bootstrap
import Testing

/// The YAML subset spec files are read with: what the README's examples and JSON files use.
@Suite("Spec files: the YAML reader")
struct SpecYAMLTests {
    func parse(_ text: String) throws(SpecYAML.SyntaxError) -> SpecYAML? { try SpecYAML.parse(text) }

    /// The node as nested Swift values, for comparison.
    func plain(_ node: SpecYAML?) -> String {
        switch node {
        case .scalar(let text, _)?: return "'\(text)'"
        case .mapping(let pairs, _)?: return "{" + pairs.map { "\(plain($0.key)): \(plain($0.value))" }.joined(separator: ", ") + "}"
        case .sequence(let items, _)?: return "[" + items.map { plain($0) }.joined(separator: ", ") + "]"
        case nil: return "nil"
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
        #expect(plain(root) == "{'name': 'rs0', 'settings': {'electionTimeoutMillis': '5000', 'chainingAllowed': 'true'}, 'members': [{'host': 'db-0.mongo:27017', 'priority': '2', 'tags': {'zone': 'a'}}, {'host': 'db-1.mongo:27017', 'horizons': {'external': 'db-1.example.com:30001'}}, {'host': 'db-2.mongo:27017', 'hidden': 'true', 'priority': '0', 'secondaryDelaySecs': '3600'}, 'db-3.mongo:27017']}")
        let members = try #require(root.mapping?.first { $0.key.text == "members" }?.value.sequence)
        #expect(members.map(\.line) == [6, 9, 11, 12])
        #expect(members[0].mapping?[1].value.line == 7)
    }

    @Test("lists at the key's own indentation, empty values, and escapes")
    func blockDetails() throws {
        #expect(plain(try parse("members:\n- a\n- b\nname: x\n")) == "{'members': ['a', 'b'], 'name': 'x'}")
        #expect(plain(try parse("name:\nmembers: []\n")) == "{'name': '', 'members': []}")
        #expect(plain(try parse(#"a: "q\"\\\u00fc\n""#)) == "{'a': 'q\"\\ü\n'}")
        #expect(plain(try parse("a: 'it''s'\nb: x # comment\nc: x#y\n")) == "{'a': 'it's', 'b': 'x', 'c': 'x#y'}")
        #expect(try parse("# only a comment\n") == nil)
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
        #expect(plain(try parse(text)) == "{'name': 'rs0', 'members': [{'host': 'db-0:27017', 'votes': '1'}, {'host': 'db-1:27017', 'tags': {'zone': 'b'}}]}")
    }

    @Test("mistakes are errors with a line", arguments: [
        ("members: [\n", "never closed"),
        ("a: b: c\n", "a mapping cannot start on the line of a key"),
        ("a: 1\n  b: 2\n", "indented more than the keys"),
        ("a: &x 1\n", "anchors and aliases are not supported"),
        ("a: |\n  text\n", "block scalars"),
        ("a:\n\t- b\n", "a tab in indentation"),
        ("a: \"open\n", "never closed"),
        ("- a\n  - b\n", "indented more than the list item"),
        ("{a: [1, 2}\n", "expected ',' or ']'"),
        ("{a: 1,, b: 2}\n", "expected a value"),
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
}
