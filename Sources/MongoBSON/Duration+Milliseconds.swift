extension Duration {
    /// The duration in whole milliseconds, truncated as mongod's `durationCount<Milliseconds>`:
    /// the unit of BSON's `maxTimeMS`-like fields, shared by the tool and the simulator.
    public var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
