/// A result that ends the command in flight.
public enum FinalResult: Equatable, Hashable, Sendable {
    case ok
    case error
    case cmeError(Int)
    case cmsError(Int)
    case sendOK
    case sendFail
    /// "CLOSE OK" (nil) or "<n>, CLOSE OK".
    case closeOK(Int?)
    case deactOK
    case alreadyConnect
}

/// Unsolicited result codes, routed by the URC table.
public enum URC: Equatable, Hashable, Sendable {
    /// +QSSLURC: "recv",<cid>,<ssid>
    case sslRecv(cid: Int, ssid: Int)
    /// +QSSLURC: "closed",<ssid>
    case sslClosed(ssid: Int)
    /// +QSSLOPEN: <ssid>,<connectcode> (the asynchronous open result)
    case sslOpen(ssid: Int, code: Int)
    /// "<n>, CONNECT OK" / "<n>, CONNECT FAIL": the asynchronous AT+QIOPEN result.
    case tcpConnect(id: Int, ok: Bool)
    /// "<n>, CLOSED": the peer closed TCP socket n.
    case tcpClosed(id: Int)
    /// +QIRDI: <cid>,<sc>,<sid>
    case tcpRecv(cid: Int, sc: Int, sid: Int)
    /// +PDP DEACT
    case pdpDeact
    /// RDY: the module (re)started.
    case ready
    case cfun(Int)
    case cpin(String)
    case callReady
    case smsReady
    /// UNDER_VOLTAGE / OVER_VOLTAGE warnings and power-down notices, text trimmed.
    case voltage(String)
    /// +CREG: / +CGREG: with their raw parameters.
    case creg(String)
    case cgreg(String)
    case ring
    case cmti(String)
    /// Any other line the table does not know; never an error.
    case other(String)
}

/// Which counted-payload header introduced a payload.
public enum PayloadKind: Equatable, Hashable, Sendable {
    case ssl   // +QSSLRECV: <ip>:<port>,TCP,<len>
    case tcp   // +QIRD: <ip>:<port>,TCP,<len>
}

/// Exactly `data.count` raw bytes announced by a +QSSLRECV / +QIRD header.
public struct ATPayload: Equatable, Hashable, Sendable {
    public var kind: PayloadKind
    /// "<ip>:<port>" from the header.
    public var peer: String
    public var data: [UInt8]
    public init(kind: PayloadKind, peer: String, data: [UInt8]) {
        self.kind = kind
        self.peer = peer
        self.data = data
    }
}

/// What the parser recognised in the byte stream.
public enum ATEvent: Equatable, Hashable, Sendable {
    /// An intermediate response line (CR LF framing removed, never empty).
    case line(String)
    /// An echoed command line (starts with "AT", any case).
    case echo(String)
    case final(FinalResult)
    /// The "> " send prompt (no CR LF follows it).
    case prompt
    /// CONNECT: AT+QSECWRITE's data phase starts.
    case connect
    case payload(ATPayload)
    case urc(URC)
    /// Bytes received while the parser is in raw (transparent) mode.
    case raw([UInt8])
}
