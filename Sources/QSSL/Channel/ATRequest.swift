import QSSLCore

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

    public init(_ command: String, payload: [UInt8]? = nil, completesOnLine: Bool = false, redactPayload: Bool = false) {
        self.command = command
        self.payload = payload
        self.completesOnLine = completesOnLine
        self.redactPayload = redactPayload
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

/// Channel settings.
public struct ChannelOptions: Sendable {
    /// "AT" tries at start-up (autobaud).
    public var syncAttempts: Int = 10
    public var syncIntervalMs: Int = 300
    /// After a command times out, the channel waits up to this long for that command's late final result
    /// (and swallows it) before it sends the next command. See `ATChannel` for why.
    public var lateFinalWaitMs: Int = 2000
    /// Silence the module needs before and after "+++" (about 1 s). Counted from when the last byte has crossed
    /// the line, not from when write() returned (see `ATChannel.exitDataMode`).
    public var guardTimeMs: Int = 1000
    /// Added to the guard before "+++": the line clock is an estimate, and the module's clock is not ours.
    public var guardMarginMs: Int = 200
    /// Bytes that can sit between write() and the far end's reader: the tty's buffer and a USB bridge's FIFO,
    /// or a pty's buffers (measured: over 20 KiB while the other side reads at 115200 baud). Only bounds the line
    /// clock when the far end reads faster than the nominal rate (a pty with no line behind it); a real UART
    /// never does, so a larger value costs nothing on hardware.
    public var maxQueuedLineBytes: Int = 65536
    /// How long the port must stay quiet after an exit line in data mode (see DataModeExitScanner) before the
    /// line counts as the module's; bytes that could be the start of one are held that long.
    public var dataModeQuietMs: Int = 200
    /// Longest wait for the module's "OK" after "+++" has been written (its own guard time comes first).
    public var escapeAnswerMs: Int = 2500
    /// How long "+++" may wait for the driver to empty its queue (hardware flow control can stall it).
    public var escapeStallMs: Int = 10_000
    /// Bytes read per read() call; the buffer is allocated once.
    public var readBufferSize: Int = 16384
    public init() {}
}

/// What the channel reports while in data mode (transparent mode), on the I/O thread.
public enum DataModeEvent: Sendable, Equatable {
    /// Bytes from the peer, in order, exit lines held back until they are decided.
    case bytes([UInt8])
    /// The module left data mode by itself and printed `line` (one of the request's exit lines, or "OK" to an
    /// escape nobody waits for any more). The channel is back to lines; that line and what followed it go
    /// through the parser right after this event, so their URCs reach the URC handler.
    case ended(line: String)
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
public enum TraceDirection: Sendable {
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
func traceText(_ bytes: [UInt8], limit: Int = 256) -> String {
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
