/// An ordered BSON document.
public struct BSONDocument: Hashable, Sendable {
    /// How deep documents and arrays may nest, the outermost document being level 1: mongod's
    /// own limit for what it accepts (`BSONDepth::kDefaultMaxAllowableDepth`,
    /// `src/mongo/bson/bson_depth.h`), so no reply a mongod sends is deeper. Decoding stops there
    /// rather than recursing as deep as a hostile peer likes.
    public static let maximumDepth = 200

    public struct Element: Hashable, Sendable {
        public var key: String
        public var value: BSON

        public init(key: String, value: BSON) {
            self.key = key
            self.value = value
        }
    }

    public var elements: [Element]

    public init() { elements = [] }

    public init(_ pairs: [(String, BSON)]) {
        elements = pairs.map { Element(key: $0.0, value: $0.1) }
    }

    public var keys: [String] { elements.map(\.key) }
    public var isEmpty: Bool { elements.isEmpty }
    public var count: Int { elements.count }

    /// The first element's key: the command name of a command document.
    public var firstKey: String? { elements.first?.key }

    /// Reading returns the first field with that key; writing replaces it in place or appends.
    /// Writing nil removes every field with that key.
    public subscript(key: String) -> BSON? {
        get {
            // By index: no copy of each element passed over (replies are read field by field).
            for index in elements.indices where elements[index].key == key { return elements[index].value }
            return nil
        }
        set {
            if let newValue {
                if let index = elements.firstIndex(where: { $0.key == key }) {
                    elements[index].value = newValue
                } else {
                    elements.append(Element(key: key, value: newValue))
                }
            } else {
                elements.removeAll { $0.key == key }
            }
        }
    }

    public mutating func append(_ key: String, _ value: BSON) {
        elements.append(Element(key: key, value: value))
    }

    /// The key lookup mongod uses for command names, which are matched case-sensitively except
    /// for the legacy `isMaster`/`ismaster` pair; callers decide.
    public func contains(_ key: String) -> Bool {
        elements.contains { $0.key == key }
    }
}

extension BSONDocument: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, BSON)...) {
        self.init(elements)
    }
}

extension BSONDocument: Sequence {
    public func makeIterator() -> IndexingIterator<[Element]> { elements.makeIterator() }
}

extension BSONDocument: CustomStringConvertible {
    /// Relaxed extended JSON, as libbson prints it.
    public var description: String { relaxedExtendedJSON }
}
