// The exchange of one AT command: what a request declares, what the module answered, the trace.
/// One AT command for the channel.
public struct ATRequest: Sendable {
    /// Full command without terminator, e.g. "AT+QSSLSEND=1,12"; the channel appends "\r".
    public var command: String
    /// Written after the "> " prompt or after CONNECT.
    public var payload: [UInt8]?
    /// AT+QILOCIP: the first intermediate line ends the command (no OK follows).
    public var completesOnLine: Bool
    /// The trace shows "<N bytes redacted>" instead of the payload bytes (certificates/keys).
    public var redactPayload: Bool
    /// A CONNECT answer (with no payload to send) ends the command and switches the channel to raw
    /// (transparent) mode at once, so data right behind CONNECT is never parsed as lines. The response has
    /// `connected == true` and no final. With `dataModeExitLines` set the channel enters data mode right there
    /// (see `ATChannel.enterDataMode`); otherwise the bytes are kept until `enterDataMode` is called.
    public var entersRawModeOnConnect: Bool = false
    /// The lines by which the module leaves the data mode this request enters (ATO: the socket's exit lines).
    public var dataModeExitLines: [String]? = nil
    /// RDY while this request is in flight leaves it waiting (start-up sync: a module that is booting answers
    /// after its RDY). Otherwise RDY fails the request with `.reset` at once: a module that restarted never
    /// answers what it received before.
    public var survivesRestart: Bool = false
    /// "+CPIN:" for "AT+CPIN?": lines that look like URCs but carry this name answer the command. Set for read and
    /// test commands ("?"); a write command like AT+QSSLOPEN=2,... must not swallow the asynchronous
    /// "+QSSLOPEN: 1,0" of an earlier open.
    public var answerPrefix: String?
    /// ALREADY CONNECT is this command's final result (AT+QIOPEN). For any other command it is the late answer
    /// of an earlier QIOPEN and goes to the URC handler.
    public var endsOnAlreadyConnect: Bool = false

    public init(_ command: String, payload: [UInt8]? = nil, completesOnLine: Bool = false, redactPayload: Bool = false) {
        self.command = command
        self.payload = payload
        self.completesOnLine = completesOnLine
        self.redactPayload = redactPayload
        answerPrefix = ATRequest.queryPrefix(of: command)
    }

    /// "AT+NAME?" / "AT+NAME=?" -> "+NAME:" (ASCII upper case); nil for other commands: the name a read or test
    /// command's answer lines carry.
    public static func queryPrefix(of command: String) -> String? {
        var u = command.utf8.makeIterator()
        guard let a = u.next(), a | 0x20 == 0x61, let t = u.next(), t | 0x20 == 0x74, let plus = u.next(),
              plus == 0x2B else { return nil }
        var name: [UInt8] = [0x2B]
        var query = false
        while let c = u.next() {
            if c == 0x3F { query = true; break }                       // ?
            if c == 0x3D { query = u.next() == 0x3F; break }           // =?
            if c == 0x20 || c == 0x3B { break }                        // space ;
            name.append(c >= 0x61 && c <= 0x7A ? c - 0x20 : c)
        }
        if name.count == 1 || !query { return nil }
        name.append(0x3A)
        return String(decoding: name, as: UTF8.self)
    }
}

/// What the module answered to one request.
public struct ATResponse: Sendable {
    /// Intermediate lines (echo removed). A line that looks like a URC but carries the command's own name
    /// (e.g. "+CPIN: READY" to AT+CPIN?) is here, not sent to the URC handler.
    public var lines: [String]
    /// Counted payloads (+QSSLRECV / +QIRD), in order.
    public var payloads: [ATPayload]
    /// nil only for completesOnLine requests and for CONNECT with `entersRawModeOnConnect`.
    public var final: FinalResult?
    /// The module answered CONNECT and the channel is now in raw mode (see `ATRequest.entersRawModeOnConnect`).
    public var connected: Bool
    /// How an escape ("+++") ended; nil for other requests.
    public var escape: EscapeOutcome? = nil

    public init(lines: [String] = [], payloads: [ATPayload] = [], final: FinalResult?, connected: Bool = false) {
        self.lines = lines
        self.payloads = payloads
        self.final = final
        self.connected = connected
    }

    /// True for OK and the command-specific success finals (SEND OK, CLOSE OK, DEACT OK).
    public var isSuccess: Bool {
        switch final {
        case .ok, .sendOK, .closeOK, .deactOK: return true
        case nil: return true
        default: return false
        }
    }
}

/// How `ATChannel.exitDataMode` ended.
public enum EscapeOutcome: Sendable, Equatable {
    /// The module answered OK to "+++": it takes commands, and the connection is still up.
    case commandMode
    /// The module left data mode by itself, printing `line`. `plusWritten`: "+++" was sent and sits in the
    /// module's command line; a bare "AT" clears it.
    case moduleLeft(line: String, plusWritten: Bool)
}

/// Direction of a trace line.
public enum TraceDirection: Equatable, Sendable {
    case toModule, fromModule
}

extension FinalResult {
    /// The final result as the module prints it.
    public var text: String {
        switch self {
        case .ok: return "OK"
        case .error: return "ERROR"
        case .cmeError(let n): return "+CME ERROR: \(n)"
        case .cmsError(let n): return "+CMS ERROR: \(n)"
        case .sendOK: return "SEND OK"
        case .sendFail: return "SEND FAIL"
        case .closeOK(let n): if let n { return "\(n), CLOSE OK" } else { return "CLOSE OK" }
        case .deactOK: return "DEACT OK"
        case .alreadyConnect: return "ALREADY CONNECT"
        }
    }
}

/// Printable rendering of bytes for the trace: ASCII as is, CR/LF/TAB escaped, the rest as \xHH; long data cut.
public func traceText(_ bytes: [UInt8], limit: Int = 256) -> String {
    var out = ""
    let hex: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
    for b in bytes.prefix(limit) {
        switch b {
        case 0x0D: out += "\\r"
        case 0x0A: out += "\\n"
        case 0x09: out += "\\t"
        case 0x5C: out += "\\\\"
        case 0x20...0x7E: out.append(Character(Unicode.Scalar(b)))
        default:
            out += "\\x"
            out.append(hex[Int(b >> 4)])
            out.append(hex[Int(b & 0xF)])
        }
    }
    if bytes.count > limit { out += "...(\(bytes.count) bytes)" }
    return out
}
