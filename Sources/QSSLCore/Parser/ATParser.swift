/// A pure, incremental parser for the byte stream a Quectel module sends on its AT port.
///
/// Feed it bytes as they arrive, in any chunking; it returns the same events for the same stream. It does no I/O
/// and keeps no clock. Lines end at CR or LF (so CR LF, bare LF and stray CRs all work) and blank lines are
/// ignored. After a `+QSSLRECV:` / `+QIRD:` header exactly `<len>` bytes are taken as payload, whatever they
/// contain. The `> ` prompt is reported as soon as its two bytes arrive at the start of a line.
///
/// Memory is bounded: a line longer than `maxLineLength` is reported truncated (`.line`) and the rest of it is
/// dropped; a payload header announcing more than `maxSSLPayload` / `maxTCPPayload` bytes is treated as a plain
/// line, so a corrupt header can never swallow the stream.
public struct ATParser: Sendable {
    /// Longest line kept; longer lines are cut here.
    public static let maxLineLength = 4096
    /// Largest payload `+QSSLRECV:` may announce (AT+QSSLRECV reads 1..1500 bytes).
    public static let maxSSLPayload = 1500
    /// Largest payload `+QIRD:` may announce (AT+QIRD reads 1..1500 bytes).
    public static let maxTCPPayload = 1500

    /// Transparent mode: while true every byte is delivered as `.raw` (coalesced per feed call).
    /// A partial line pending when raw mode starts is delivered as the first raw bytes.
    public var rawMode: Bool = false {
        didSet { if !rawMode { skipLFBeforeRaw = false } }
    }

    /// When true, a `CONNECT` line switches the parser to raw mode at once, so bytes that follow it in the same
    /// chunk are already `.raw` (transparent-mode AT+QSSLOPEN, ATO). Stays set until cleared. Leave false for
    /// AT+QSECWRITE's CONNECT.
    public var rawOnConnect: Bool = false

    private enum State: Sendable {
        case lines
        /// A payload header ended with CR: one LF (after any further CRs) still belongs to the header.
        case headerCR
        case payload
    }

    private var state: State = .lines
    private var line: [UInt8] = []
    /// Dropping the tail of an over-long line until its terminator.
    private var discarding = false
    /// CONNECT (with rawOnConnect) ended with CR: its LF is not raw data.
    private var skipLFBeforeRaw = false

    private var payloadKind: PayloadKind = .ssl
    private var payloadPeer: String = ""
    private var payloadData: [UInt8] = []
    private var payloadRemaining = 0

    public init() {
        assert(ATTokenTable.allSorted, "ATTokenTable must be sorted")
        line.reserveCapacity(128)
    }

    /// Forget any partial line / payload (used after a module reset or on close). Modes are kept.
    public mutating func reset() {
        state = .lines
        line.removeAll(keepingCapacity: true)
        discarding = false
        skipLFBeforeRaw = false
        payloadPeer = ""
        payloadData = []
        payloadRemaining = 0
    }

    /// Sizes of the private buffers, for the fuzz harness's bounds check (reading them by reflection cost the
    /// harness a third of its time).
    var bufferSizes: (line: Int, lineCapacity: Int, payload: Int, payloadCapacity: Int, payloadRemaining: Int) {
        (line.count, line.capacity, payloadData.count, payloadData.capacity, payloadRemaining)
    }

    /// True while the parser is inside a counted payload (or just after its header).
    public var inPayload: Bool {
        switch state {
        case .lines: return false
        case .headerCR, .payload: return true
        }
    }

    /// Bytes of the counted payload still to come (0 outside one, and right after its header until its LF).
    public var payloadBytesLeft: Int { state == .payload ? payloadRemaining : 0 }

    /// How many of `bytes` (what the reader has not fed yet) to feed in the next call, so that whoever reacts to an
    /// event can switch modes right behind its line: everything in raw mode; one byte while a command waits for
    /// the CONNECT that starts data mode (`waitingForConnect`: CONNECT turns the stream raw only if nothing earlier
    /// in the same read ended that command first); the rest of a counted payload; otherwise one line, through its
    /// first CR or LF (a URC such as a transparent "+QSSLOPEN: <n>,0" is followed by data at once, maybe in the
    /// same read as a command's answer or another socket's payload).
    public func pieceLength(_ bytes: UnsafeRawBufferPointer, waitingForConnect: Bool) -> Int {
        if rawMode { return bytes.count }
        if bytes.isEmpty { return 0 }
        if waitingForConnect { return 1 }
        if inPayload { return min(bytes.count, max(1, payloadBytesLeft)) }
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            i += 1
            if b == 0x0A || b == 0x0D { break }
        }
        return i
    }

    /// Convenience for tests.
    public mutating func feed(_ bytes: [UInt8]) -> [ATEvent] {
        var events: [ATEvent] = []
        bytes.withUnsafeBytes { feed($0, into: &events) }
        return events
    }

    /// Appends the events recognised in `bytes` to `events`. Any chunking of the same stream gives the same events
    /// (except that `.raw` bytes are coalesced per call).
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, into events: inout [ATEvent]) {
        if bytes.isEmpty { return }
        bytes.withMemoryRebound(to: UInt8.self) { p in
            feedBytes(p, into: &events)
        }
    }

    // MARK: - Byte loop

    private static let cr: UInt8 = 0x0D
    private static let lf: UInt8 = 0x0A

    private mutating func feedBytes(_ p: UnsafeBufferPointer<UInt8>, into events: inout [ATEvent]) {
        let n = p.count
        var i = 0
        while i < n {
            if rawMode {
                emitRaw(UnsafeBufferPointer(rebasing: p[i..<n]), into: &events)
                return
            }
            switch state {
            case .payload:
                let take = min(payloadRemaining, n - i)
                payloadData.append(contentsOf: UnsafeBufferPointer(rebasing: p[i..<(i + take)]))
                i += take
                payloadRemaining -= take
                if payloadRemaining == 0 { finishPayload(into: &events) }

            case .headerCR:
                let b = p[i]
                if b == Self.cr {
                    i += 1
                } else {
                    if b == Self.lf { i += 1 }
                    state = .payload
                }

            case .lines:
                let b = p[i]
                if b == Self.cr || b == Self.lf {
                    i += 1
                    endLine(terminator: b, into: &events)
                    continue
                }
                // Find the rest of this line in the chunk; the common case is one bulk copy.
                var j = i + 1
                while j < n {
                    let c = p[j]
                    if c == Self.cr || c == Self.lf { break }
                    j += 1
                }
                if discarding {
                    i = j
                    continue
                }
                if line.isEmpty && b == 0x3E {  // '>'
                    if j - i >= 2 && p[i + 1] == 0x20 {
                        events.append(.prompt)
                        i += 2
                        continue
                    }
                } else if line.count == 1 && line[0] == 0x3E && b == 0x20 {
                    line.removeAll(keepingCapacity: true)
                    events.append(.prompt)
                    i += 1
                    continue
                }
                let room = Self.maxLineLength - line.count
                if j - i > room {
                    line.append(contentsOf: UnsafeBufferPointer(rebasing: p[i..<(i + room)]))
                    events.append(.line(String(decoding: line, as: UTF8.self)))
                    line.removeAll(keepingCapacity: true)
                    discarding = true
                    i = j
                } else {
                    line.append(contentsOf: UnsafeBufferPointer(rebasing: p[i..<j]))
                    i = j
                }
            }
        }
    }

    private mutating func emitRaw(_ rest: UnsafeBufferPointer<UInt8>, into events: inout [ATEvent]) {
        var body = rest
        if skipLFBeforeRaw, let first = body.first {
            skipLFBeforeRaw = false
            if first == Self.lf { body = UnsafeBufferPointer(rebasing: body[1...]) }
        }
        var out: [UInt8] = []
        // Whatever was pending when raw mode started is data too.
        if !line.isEmpty && !discarding {
            out = line
        }
        line.removeAll(keepingCapacity: true)
        discarding = false
        if state != .lines {
            out.append(contentsOf: payloadData)
            payloadData = []
            payloadRemaining = 0
            state = .lines
        }
        out.append(contentsOf: body)
        if !out.isEmpty { events.append(.raw(out)) }
    }

    private mutating func finishPayload(into events: inout [ATEvent]) {
        events.append(.payload(ATPayload(kind: payloadKind, peer: payloadPeer, data: payloadData)))
        payloadData = []
        payloadPeer = ""
        state = .lines
    }

    private mutating func endLine(terminator: UInt8, into events: inout [ATEvent]) {
        if discarding {
            discarding = false
            return
        }
        if line.isEmpty { return }
        let kind = line.withUnsafeBufferPointer { Self.classify($0) }
        line.removeAll(keepingCapacity: true)
        switch kind {
        case .ignore:
            break
        case .event(let e):
            events.append(e)
            if case .connect = e, rawOnConnect {
                rawMode = true
                skipLFBeforeRaw = terminator == Self.cr
            }
        case .header(let k, let peer, let length):
            payloadKind = k
            payloadPeer = peer
            payloadRemaining = length
            if length == 0 {
                finishPayload(into: &events)
            } else {
                payloadData.reserveCapacity(length)
                state = terminator == Self.cr ? .headerCR : .payload
            }
        }
    }

    // MARK: - Line classification (pure)

    enum LineKind {
        case ignore
        case event(ATEvent)
        case header(PayloadKind, String, Int)
    }

    /// Classifies one complete line (framing removed).
    static func classify(_ l: UnsafeBufferPointer<UInt8>) -> LineKind {
        var end = l.count
        while end > 0 && (l[end - 1] == 0x20 || l[end - 1] == 0x09) { end -= 1 }
        if end == 0 { return .ignore }
        let t = UnsafeBufferPointer(rebasing: l[0..<end])
        let first = t[0]

        // Echoed command line: "AT..." in any case.
        if (first | 0x20) == 0x61 && end >= 2 && (t[1] | 0x20) == 0x74 {
            return .event(.echo(String(decoding: l, as: UTF8.self)))
        }

        if first >= 0x30 && first <= 0x39, let e = classifyNumbered(t) {
            return .event(e)
        }

        // Key: "+XXX:" for plus-lines with a colon, the whole line otherwise.
        var keyEnd = end
        if first == 0x2B {  // '+'
            var k = 1
            while k < end {
                if t[k] == 0x3A { keyEnd = k + 1; break }
                k += 1
            }
        }
        let key = UnsafeBufferPointer(rebasing: t[0..<keyEnd])
        var args = ByteScanner(t, at: keyEnd)
        args.skipSpaces()

        if let kind = ATTokenTable.lookup(ATTokenTable.responses, key) ?? ATTokenTable.lookup(ATTokenTable.urcs, key),
            let result = interpret(kind, args: args, line: t)
        {
            return result
        }
        return .event(.line(String(decoding: l, as: UTF8.self)))
    }

    /// "<n>, CLOSE OK" and friends.
    private static func classifyNumbered(_ t: UnsafeBufferPointer<UInt8>) -> ATEvent? {
        var s = ByteScanner(t, at: 0)
        guard let id = s.unsignedInt(maxDigits: 3), s.take(0x2C) else { return nil }  // ','
        s.skipSpaces()
        guard let kind = ATTokenTable.lookup(ATTokenTable.numbered, s.rest) else { return nil }
        switch kind {
        case .numberedCloseOK: return .final(.closeOK(id))
        case .numberedClosed: return .urc(.tcpClosed(id: id))
        case .numberedConnectOK: return .urc(.tcpConnect(id: id, ok: true))
        case .numberedConnectFail: return .urc(.tcpConnect(id: id, ok: false))
        case .numberedSendOK: return .final(.sendOK)
        case .numberedSendFail: return .final(.sendFail)
        case .numberedAlreadyConnect: return .final(.alreadyConnect)
        default: return nil
        }
    }

    /// Turns a table hit into an event; nil when the parameters are malformed (the line then stays a `.line`).
    private static func interpret(_ kind: ATTokenKind, args: ByteScanner, line t: UnsafeBufferPointer<UInt8>)
        -> LineKind?
    {
        var s = args
        switch kind {
        case .final(let f):
            return .event(.final(f))
        case .connect:
            return .event(.connect)
        case .cmeError, .cmsError:
            // Verbose (AT+CMEE=2) text has no number: still a final, or the command would hang; code -1.
            var code = -1
            if let n = s.unsignedInt(maxDigits: 6), s.atEnd { code = n }
            if case .cmeError = kind { return .event(.final(.cmeError(code))) }
            return .event(.final(.cmsError(code)))
        case .payloadHeader(let pk):
            guard let h = parseHeader(s, max: pk == .ssl ? maxSSLPayload : maxTCPPayload) else { return nil }
            return .header(pk, h.peer, h.length)
        case .plainURC(let u):
            return .event(.urc(u))
        case .voltage:
            return .event(.urc(.voltage(String(decoding: t, as: UTF8.self))))
        case .cfun:
            guard let n = s.unsignedInt(maxDigits: 3), s.atEnd else { return nil }
            return .event(.urc(.cfun(n)))
        case .cpin, .creg, .cgreg, .cmti:
            let rest = s.rest
            if rest.isEmpty { return nil }
            let text = String(decoding: rest, as: UTF8.self)
            switch kind {
            case .cpin: return .event(.urc(.cpin(text)))
            case .creg: return .event(.urc(.creg(text)))
            case .cgreg: return .event(.urc(.cgreg(text)))
            default: return .event(.urc(.cmti(text)))
            }
        case .qirdi:
            guard let cid = s.unsignedInt(maxDigits: 3), s.comma(), let sc = s.unsignedInt(maxDigits: 3), s.comma(),
                let sid = s.unsignedInt(maxDigits: 3), s.atEnd
            else { return nil }
            return .event(.urc(.tcpRecv(cid: cid, sc: sc, sid: sid)))
        case .sslOpen:
            guard let ssid = s.unsignedInt(maxDigits: 3), s.comma(), let code = s.signedInt(maxDigits: 6), s.atEnd
            else { return nil }
            return .event(.urc(.sslOpen(ssid: ssid, code: code)))
        case .sslURC:
            guard let word = s.quotedWord() else { return nil }
            if ByteScanner.equals(word, "recv") {
                guard s.comma(), let cid = s.unsignedInt(maxDigits: 3), s.comma(), let ssid = s.unsignedInt(maxDigits: 3),
                    s.atEnd
                else { return nil }
                return .event(.urc(.sslRecv(cid: cid, ssid: ssid)))
            }
            if ByteScanner.equals(word, "closed") {
                guard s.comma(), let ssid = s.unsignedInt(maxDigits: 3), s.atEnd else { return nil }
                return .event(.urc(.sslClosed(ssid: ssid)))
            }
            return nil
        default:
            return nil
        }
    }

    /// "<ip>:<port>,TCP,<len>" (UDP accepted too). Nil if malformed or the length is out of range.
    private static func parseHeader(_ s: ByteScanner, max: Int) -> (peer: String, length: Int)? {
        let r = s.rest
        var lastComma = r.count - 1
        while lastComma >= 0 && r[lastComma] != 0x2C { lastComma -= 1 }
        guard lastComma > 0 else { return nil }
        var ls = ByteScanner(r, at: lastComma + 1)
        guard let length = ls.unsignedInt(maxDigits: 5), ls.atEnd, length <= max else { return nil }
        var protoComma = lastComma - 1
        while protoComma >= 0 && r[protoComma] != 0x2C { protoComma -= 1 }
        guard protoComma > 0 else { return nil }
        let proto = UnsafeBufferPointer(rebasing: r[(protoComma + 1)..<lastComma])
        guard ByteScanner.equals(proto, "TCP") || ByteScanner.equals(proto, "UDP") else { return nil }
        let peer = UnsafeBufferPointer(rebasing: r[0..<protoComma])
        guard peer.contains(0x3A) else { return nil }  // ':'
        return (String(decoding: peer, as: UTF8.self), length)
    }
}

/// A cursor over the bytes of one line.
struct ByteScanner {
    let b: UnsafeBufferPointer<UInt8>
    var i: Int

    init(_ b: UnsafeBufferPointer<UInt8>, at i: Int) {
        self.b = b
        self.i = i
    }

    var atEnd: Bool { i >= b.count }
    var rest: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: b[min(i, b.count)...]) }

    mutating func skipSpaces() {
        while i < b.count && (b[i] == 0x20 || b[i] == 0x09) { i += 1 }
    }

    mutating func take(_ c: UInt8) -> Bool {
        if i < b.count && b[i] == c {
            i += 1
            return true
        }
        return false
    }

    /// ',' with blanks allowed around it.
    mutating func comma() -> Bool {
        skipSpaces()
        guard take(0x2C) else { return false }
        skipSpaces()
        return true
    }

    mutating func unsignedInt(maxDigits: Int) -> Int? {
        var v = 0
        var k = 0
        while i < b.count && k < maxDigits {
            let c = b[i]
            if c < 0x30 || c > 0x39 { break }
            v = v * 10 + Int(c - 0x30)
            i += 1
            k += 1
        }
        if k == 0 { return nil }
        // More digits than allowed: malformed, not a silently truncated number.
        if i < b.count && b[i] >= 0x30 && b[i] <= 0x39 { return nil }
        return v
    }

    mutating func signedInt(maxDigits: Int) -> Int? {
        let negative = take(0x2D)  // '-'
        guard let v = unsignedInt(maxDigits: maxDigits) else { return nil }
        return negative ? -v : v
    }

    /// A word in ASCII quotes, typographic quotes (as printed in the application note), or none.
    mutating func quotedWord() -> UnsafeBufferPointer<UInt8>? {
        skipQuote()
        let start = i
        while i < b.count {
            let c = b[i]
            let isLetter = (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A
            if !isLetter { break }
            i += 1
        }
        if i == start { return nil }
        let word = UnsafeBufferPointer(rebasing: b[start..<i])
        skipQuote()
        return word
    }

    private mutating func skipQuote() {
        if take(0x22) { return }
        // U+201C / U+201D in UTF-8: E2 80 9C / E2 80 9D
        if i + 2 < b.count && b[i] == 0xE2 && b[i + 1] == 0x80 && (b[i + 2] == 0x9C || b[i + 2] == 0x9D) {
            i += 3
        }
    }

    static func equals(_ a: UnsafeBufferPointer<UInt8>, _ s: StaticString) -> Bool {
        ATTokenTable.compare(s, a) == 0
    }
}

extension URC {
    /// The URC as a response line (normalised spacing). Lets the channel hand a solicited answer that looks like
    /// a URC (e.g. "+CREG: 0,1" to AT+CREG?, "+CPIN: READY" to AT+CPIN?) back to the command as an
    /// intermediate line.
    public var text: String {
        switch self {
        case .sslRecv(let cid, let ssid): return "+QSSLURC: \"recv\",\(cid),\(ssid)"
        case .sslClosed(let ssid): return "+QSSLURC: \"closed\",\(ssid)"
        case .sslOpen(let ssid, let code): return "+QSSLOPEN: \(ssid),\(code)"
        case .tcpConnect(let id, let ok): return ok ? "\(id), CONNECT OK" : "\(id), CONNECT FAIL"
        case .tcpClosed(let id): return "\(id), CLOSED"
        case .tcpRecv(let cid, let sc, let sid): return "+QIRDI: \(cid),\(sc),\(sid)"
        case .pdpDeact: return "+PDP DEACT"
        case .ready: return "RDY"
        case .cfun(let n): return "+CFUN: \(n)"
        case .cpin(let s): return "+CPIN: " + s
        case .callReady: return "Call Ready"
        case .smsReady: return "SMS Ready"
        case .voltage(let s): return s
        case .creg(let s): return "+CREG: " + s
        case .cgreg(let s): return "+CGREG: " + s
        case .ring: return "RING"
        case .cmti(let s): return "+CMTI: " + s
        case .other(let s): return s
        }
    }
}
