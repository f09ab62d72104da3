/// A socket index of the module (0-5, shared by SSL and TCP sockets, note §1.3). Made once where a number enters;
/// past that point it is known to be in range.
public struct SocketIndex: Hashable, Sendable {
    public let value: Int
    /// `.invalidArgument` unless 0...5.
    public init(_ value: Int) throws(QsslError) {
        guard (0...5).contains(value) else { throw .invalidArgument }
        self.value = value
    }
}

/// An SSL context index (0-5, note §2.2.1). Made once where a number enters.
public struct ContextIndex: Hashable, Sendable {
    public let value: Int
    /// `.invalidArgument` unless 0...5.
    public init(_ value: Int) throws(QsslError) {
        guard (0...5).contains(value) else { throw .invalidArgument }
        self.value = value
    }
}
