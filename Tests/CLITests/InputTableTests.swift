@testable import mongo_rs_bootstrap
import ReplicaSetBootstrap
import Testing

/// `Inputs` is the one table of options and variables: the help, the lookup and
/// `SpicaCompatibility` all read it, so it must hold every option ArgumentParser knows.
@Suite("The inputs' table")
struct InputTableTests {
    static let help = MongoRSBootstrap.helpMessage(columns: 1000)

    @Test("every option in --help is in the table, and every input is in --help with its variable")
    func tableMatchesHelp() {
        let listed = Self.help.split(separator: "\n").compactMap { line in
            line.firstMatch(of: /^ +(?:-[a-z], )?--([a-z-]+)/).map { String($0.1) }
        }
        let names = Inputs.all.map(\.name)
        #expect(Set(listed) == Set(names + ["help", "version"]))
        #expect(names.count == Set(names).count, "an option is in the table twice")
        for input in Inputs.all {
            #expect(Self.help.contains("[env: \(input.env)"), "--\(input.name): its variable is not in --help")
        }
    }

    @Test("a bad value names the option or the variable it came from")
    func origin() throws {
        let fromVariable = Resolver(found: [:], environment: Environment(["MONGO_RS_TIMEOUT": "soon"]))
        #expect(throws: InvalidInput("MONGO_RS_TIMEOUT: 'soon' is not a duration; give one for example 300, 90s, 1500ms, 5m or 1h30m")) {
            try fromVariable.value(Inputs.timeout)
        }
        let fromOption = Resolver(found: ["timeout": "90s"], environment: Environment(["MONGO_RS_TIMEOUT": "soon"]))
        #expect(try fromOption.value(Inputs.timeout) == .seconds(90))
        #expect(try fromOption.value(Inputs.waitFor) == nil)
    }
}
