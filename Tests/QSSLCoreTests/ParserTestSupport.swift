import QSSLCore

/// Deterministic PRNG (ParserRNG) so random chunkings are reproducible from their seed.
struct ParserRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// One piece of a transcript: what the module sends and the events it must produce.
struct WireStep: Sendable {
    var send: [UInt8]
    var expect: [ATEvent]
}

/// A golden transcript: the module side of an exchange plus the events it must give.
struct GoldenTranscript: Sendable, CustomStringConvertible {
    var name: String
    var steps: [WireStep]
    var rawOnConnect = false
    var description: String { name }

    var stream: [UInt8] { steps.flatMap(\.send) }
    var expected: [ATEvent] { steps.flatMap(\.expect) }

    init(_ name: String, rawOnConnect: Bool = false, _ steps: [WireStep]...) {
        self.name = name
        self.rawOnConnect = rawOnConnect
        self.steps = steps.flatMap { $0 }
    }
}

// MARK: - WireStep builders (module side of the wire)

/// Namespace for transcript builders (kept out of the module scope so other test files cannot clash).
enum Wire {
    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// The module echoing a command (echo on): the command and its CR.
    static func echo(_ cmd: String) -> [WireStep] { [WireStep(send: bytes(cmd + "\r"), expect: [.echo(cmd)])] }
    /// A final result framed as the module sends it.
    static func fin(_ text: String, _ f: FinalResult) -> [WireStep] { [WireStep(send: bytes("\r\n\(text)\r\n"), expect: [.final(f)])] }
    static let ok: [WireStep] = fin("OK", .ok)
    static func line(_ text: String) -> [WireStep] { [WireStep(send: bytes("\r\n\(text)\r\n"), expect: [.line(text)])] }
    static func urc(_ text: String, _ u: URC) -> [WireStep] { [WireStep(send: bytes("\r\n\(text)\r\n"), expect: [.urc(u)])] }
    static let prompt: [WireStep] = [WireStep(send: bytes("\r\n> "), expect: [.prompt])]
    static let connect: [WireStep] = [WireStep(send: bytes("\r\nCONNECT\r\n"), expect: [.connect])]
    /// Bytes that produce no event (framing, blank lines).
    static func silent(_ s: String) -> [WireStep] { [WireStep(send: bytes(s), expect: [])] }
    static func silent(_ b: [UInt8]) -> [WireStep] { [WireStep(send: b, expect: [])] }
    /// A counted payload: header, exactly the data; the caller adds what follows (blank line and/or OK).
    static func payload(_ kind: PayloadKind, _ peer: String, _ data: [UInt8]) -> [WireStep] {
        let head = kind == .ssl ? "+QSSLRECV: " : "+QIRD: "
        return [WireStep(send: bytes("\r\n\(head)\(peer),TCP,\(data.count)\r\n") + data,
                     expect: [.payload(ATPayload(kind: kind, peer: peer, data: data))])]
    }
}

// MARK: - Feeding

/// Merges adjacent .raw events: raw bytes are coalesced per feed call, so only their concatenation is
/// chunking-independent.
func normalizedEvents(_ events: [ATEvent]) -> [ATEvent] {
    var out: [ATEvent] = []
    for e in events {
        if case .raw(let b) = e, case .raw(let a)? = out.last {
            out[out.count - 1] = .raw(a + b)
        } else {
            out.append(e)
        }
    }
    return out
}

func makeTestParser(rawOnConnect: Bool = false) -> ATParser {
    var p = ATParser()
    p.rawOnConnect = rawOnConnect
    return p
}

/// Feeds `stream` cut at the given chunk sizes (the last chunk takes the rest).
func parserFeedChunked(_ stream: [UInt8], sizes: [Int], rawOnConnect: Bool = false) -> [ATEvent] {
    var p = makeTestParser(rawOnConnect: rawOnConnect)
    var events: [ATEvent] = []
    var i = 0
    var k = 0
    stream.withUnsafeBytes { all in
        while i < all.count {
            let n = k < sizes.count ? min(sizes[k], all.count - i) : all.count - i
            p.feed(UnsafeRawBufferPointer(rebasing: all[i..<(i + n)]), into: &events)
            i += n
            k += 1
        }
    }
    return normalizedEvents(events)
}

func parserFeedAll(_ stream: [UInt8], rawOnConnect: Bool = false) -> [ATEvent] {
    parserFeedChunked(stream, sizes: [stream.count], rawOnConnect: rawOnConnect)
}

func parserFeedBytewise(_ stream: [UInt8], rawOnConnect: Bool = false) -> [ATEvent] {
    parserFeedChunked(stream, sizes: Array(repeating: 1, count: stream.count), rawOnConnect: rawOnConnect)
}

/// Random chunk sizes covering `count` bytes: mostly small chunks, sometimes large ones.
func parserRandomSizes(count: Int, rng: inout ParserRNG) -> [Int] {
    var sizes: [Int] = []
    var left = count
    while left > 0 {
        let cap: Int
        switch rng.next() % 4 {
        case 0: cap = 3
        case 1: cap = 17
        case 2: cap = 200
        default: cap = max(1, count / 2)
        }
        let n = min(left, 1 + Int(rng.next() % UInt64(cap)))
        sizes.append(n)
        left -= n
    }
    return sizes
}

/// Single events from one line (for unit tests).
func parserEvents(of text: String) -> [ATEvent] {
    var p = ATParser()
    return p.feed(Wire.bytes(text))
}
