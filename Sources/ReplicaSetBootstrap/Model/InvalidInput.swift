/// Input that cannot be used: a bad argument, environment variable or spec value. Reported before
/// any node is contacted (exit 64). The message names the input and says what would be valid.
public struct InvalidInput: Error, Equatable, CustomStringConvertible, Sendable {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
