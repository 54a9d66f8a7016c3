import MongoBSON
@testable import mongo_rs_bootstrap
import ReplicaSetBootstrap
import Testing

/// How durations, repeated commands and the output formats found before parsing read.
@Suite("Output details: durations, folded actions, formats before parsing")
struct OutputTextTests {
    @Test("durations in the unit that fits", arguments: [
        (Duration.zero, "0ms"), (.milliseconds(7), "7ms"), (.milliseconds(999), "999ms"), (.seconds(1), "1s"),
        (.milliseconds(1500), "1.5s"), (.milliseconds(1234), "1.234s"), (.seconds(59), "59s"), (.seconds(60), "1min"),
        (.seconds(90), "1min 30s"), (.milliseconds(252_345), "4min 12s"), (.seconds(300), "5min"), (.seconds(3600), "1h"),
        (.seconds(5400), "1h 30min"), (.seconds(86400), "24h"),
    ])
    func durations(_ duration: Duration, _ text: String) {
        #expect(DurationParsing.format(duration) == text)
    }

    @Test("what is printed can be given back", arguments: ["1.5s", "1min", "5min", "1ms", "24h"])
    func roundTrip(_ text: String) throws {
        let parsed = try Inputs.timeout.parse(text, "--timeout")
        #expect(DurationParsing.format(parsed) == text)
    }

    static let host = HostAddress(host: "db-0.mongo")
    static let config = ReplicaSetConfig(name: "rs0", version: 1, term: nil, members: [])

    static func initiate(_ error: MongoError? = nil) -> ActionRecord {
        ActionRecord(command: .initiate(config), host: host, error: error)
    }

    static let notFound = MongoError(.server(code: 74, codeName: "NodeNotFound"), host: host,
                                     message: "No host described in new configuration with {version: 1, term: 0} for replica set rs0 maps to this node")

    @Test("17 attempts of one initiate: one entry with the count and the distinct results")
    func folded() {
        let records = Array(repeating: Self.initiate(Self.notFound), count: 16) + [Self.initiate()]
            + [ActionRecord(command: .stepUp, host: Self.host)]
        let folded = FoldedAction.fold(records)
        #expect(folded.count == 2)
        #expect(folded[0].description == "replSetInitiate on db-0.mongo:27017 (0 members, version 1) ×17 (16 refused: \(Self.notFound.message); 1 ok)")
        #expect(folded[1].description == "replSetStepUp on db-0.mongo:27017")
        let json = folded[0].json
        #expect(json["command"] == "replSetInitiate")
        #expect(json["count"]?.intValue == 17)
        #expect(json["ok"] == true)
        let results = json["results"]?.arrayValue?.compactMap(\.documentValue) ?? []
        #expect(results.map { $0["count"]?.intValue } == [16, 1])
        #expect(results.first?["error"]?.stringValue == Self.notFound.message)
        #expect(results.last?["ok"] == true)
        // A single attempt keeps its entry as before.
        #expect(FoldedAction.fold([Self.initiate()])[0].description == Self.initiate().description)
    }

    @Test("members kept in the set's config without being requested are noted after the spec's notes")
    func keptMembersNoted() {
        let kept = [HostAddress(host: "db-2.mongo"), HostAddress(host: "db-3.mongo")]
        #expect(ResultReport.notes(["a spec note"], kept: kept) == [
            "a spec note",
            "kept db-2.mongo:27017, db-3.mongo:27017: in the set's config but not requested (--remove-members would remove them)",
        ])
        #expect(ResultReport.notes(["a spec note"], kept: []) == ["a spec note"])
    }

    @Test("the formats are found before parsing, leniently, never in a --password value", arguments: [
        (["--output", "json"], [:], OutputFormat.json, LogFormat.text),
        (["--output=JSON", "--log-format=json"], [:], .json, .json),
        ([], ["MONGO_RS_OUTPUT": "json", "MONGO_RS_LOG_FORMAT": "json"], .json, .json),
        (["--output", "text"], ["MONGO_RS_OUTPUT": "json"], .text, .text),
        (["--output", "yaml"], [:], .text, .text),
        (["--password=--output", "json"], [:], .text, .text),
        (["--", "--output", "json"], [:], .text, .text),
        (["--output", "text", "--output", "json"], [:], .json, .text),
    ] as [([String], [String: String], OutputFormat, LogFormat)])
    func lenient(_ arguments: [String], _ environment: [String: String], _ output: OutputFormat, _ log: LogFormat) {
        let settings = Reporting.lenientSettings(SpicaCompatibility.normalize(arguments), environment: Environment(environment))
        #expect(settings.output == output)
        #expect(settings.log == log)
    }

    @Test("libmongoc's messages: levels mapped, trace never, debug only with --debug, secrets hidden as is and percent-encoded")
    func libmongocLines() {
        let secret = "p@ss/wörd"
        let line = Reporting.libmongocLine(level: 2, domain: "mongoc", message: "x \(secret) y p%40ss%2Fw%C3%B6rd z", debug: false, secrets: [secret])
        #expect(line?.level == "warning")
        #expect(line?.event == "libmongoc")
        #expect(line?.message == "libmongoc mongoc: x <hidden> y <hidden> z")
        #expect(Reporting.libmongocLine(level: 0, domain: "d", message: "m", debug: false, secrets: [])?.level == "error")
        #expect(Reporting.libmongocLine(level: 4, domain: "d", message: "m", debug: false, secrets: [])?.level == "info")
        #expect(Reporting.libmongocLine(level: 5, domain: "d", message: "m", debug: false, secrets: []) == nil)
        #expect(Reporting.libmongocLine(level: 5, domain: "d", message: "m", debug: true, secrets: [])?.level == "debug")
        #expect(Reporting.libmongocLine(level: 6, domain: "d", message: "m", debug: true, secrets: []) == nil)
    }
}
