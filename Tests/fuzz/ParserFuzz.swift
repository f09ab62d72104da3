// libFuzzer target "parser": ATParser fed arbitrary bytes in arbitrary chunks.
//
// Built against Sources/QSSLCore as module QSSLCoreFuzz (see scripts/fuzz.sh); `@testable` reaches its internal
// API. Input layout:
//   byte 0      flags: bit0 rawOnConnect, bit1 rawMode at start, bit2 also feed byte by byte,
//               bits3-4 how often a mode operation happens between chunks, bits5-7 chunk size class
//   bytes 1-4   seed of the PRNG that picks chunk sizes and operations
//   rest        the byte stream from the module
// Invariants: no crash or hang; the parser's buffers stay bounded (ATParser.bufferSizes; see runParser for when); events are well-formed; feeding each operation-free segment in one call
// gives the same events and state as feeding it in the chosen chunks (and byte by byte).

@testable import QSSLCoreFuzz

/// What the harness may do to the parser between two feed calls (the same in every run, at the same offset).
enum ParserOp: Equatable {
    case setRawMode(Bool)
    case setRawOnConnect(Bool)
    case reset
}

/// One feed call's bytes, then the operations that follow it.
struct ParserStep {
    var range: Range<Int>
    var ops: [ParserOp]
}

/// Largest raw event one call can give: the call's bytes plus a pending line and a pending payload.
let rawSlack = ATParser.maxLineLength + max(ATParser.maxSSLPayload, ATParser.maxTCPPayload)

func parserFail(_ why: String) -> Never {
    fatalError("parser invariant: " + why)
}

/// Checks that the parser's private buffers never grow past their documented limits, in particular that a header
/// announcing a huge payload reserves nothing.
func checkBounded(_ p: ATParser) {
    let maxPayload = max(ATParser.maxSSLPayload, ATParser.maxTCPPayload)
    let b = p.bufferSizes
    // Array growth may double once past the limit, never more.
    if b.line > ATParser.maxLineLength || b.lineCapacity > 2 * ATParser.maxLineLength + 64 {
        parserFail("line buffer \(b.line)/\(b.lineCapacity)")
    }
    if b.payload > maxPayload || b.payloadCapacity > 2 * maxPayload + 64 {
        parserFail("payload buffer \(b.payload)/\(b.payloadCapacity)")
    }
    if b.payloadRemaining < 0 || b.payloadRemaining > maxPayload { parserFail("payloadRemaining \(b.payloadRemaining)") }
}

/// Whether `s` holds byte `a` or `b`. A plain loop, compiled here: `utf8.contains` would link the library's
/// instrumented copy of that specialisation and spend the fuzzer's time tracing the harness's comparisons.
func holds(_ s: String, _ a: UInt8, _ b: UInt8) -> Bool {
    for c in s.utf8 where c == a || c == b { return true }
    return false
}

func checkEvent(_ e: ATEvent, callBytes: Int) {
    func textLine(_ s: String, _ what: String) {
        // Each byte decodes to at most one scalar (invalid UTF-8 becomes one U+FFFD per bad subsequence).
        if s.isEmpty || s.unicodeScalars.count > ATParser.maxLineLength { parserFail("\(what) length") }
        if holds(s, 0x0D, 0x0A) { parserFail("\(what) holds CR/LF") }
    }
    switch e {
    case .line(let s): textLine(s, "line")
    case .echo(let s): textLine(s, "echo")
    case .payload(let p):
        let max = p.kind == .ssl ? ATParser.maxSSLPayload : ATParser.maxTCPPayload
        if p.data.count > max { parserFail("payload of \(p.data.count) bytes") }
        if !holds(p.peer, 0x3A, 0x3A) { parserFail("payload peer without ':'") }
        if holds(p.peer, 0x0D, 0x0A) { parserFail("payload peer holds CR/LF") }
    case .raw(let b):
        if b.isEmpty || b.count > callBytes + rawSlack { parserFail("raw event of \(b.count) bytes") }
    case .urc(.voltage(let s)), .urc(.cpin(let s)), .urc(.creg(let s)), .urc(.cgreg(let s)), .urc(.cmti(let s)):
        textLine(s, "URC text")
    default:
        break
    }
}

/// Parser state that must not depend on chunking, compared at every operation boundary.
struct ParserSnapshot: Equatable {
    var inPayload: Bool
    var rawMode: Bool
    var rawOnConnect: Bool
    var eventCount: Int
}

/// Merges adjacent .raw events: raw bytes are coalesced per feed call, so only their concatenation is
/// chunking-independent (as in Tests/QSSLCoreTests/ParserTestSupport.swift).
func normalized(_ events: [ATEvent]) -> [ATEvent] {
    var out: [ATEvent] = []
    out.reserveCapacity(events.count)
    var raw: [UInt8] = []   // pending run of raw bytes, appended in place (byte-wise runs give one event per byte)
    var inRaw = false
    for e in events {
        if case .raw(let b) = e {
            raw += b
            inRaw = true
            continue
        }
        if inRaw {
            out.append(.raw(raw))
            raw.removeAll()
            inRaw = false
        }
        out.append(e)
    }
    if inRaw { out.append(.raw(raw)) }
    return out
}

/// Feeds `stream` as `calls` (consecutive ranges, each followed by its ops). Returns the normalised events and a
/// snapshot taken before every group of ops. `checkMemoryEvery` n: look at the buffers after every n-th call (and
/// before every group of ops and at the end); 0: never. A buffer past its limit stays there until its line or
/// payload ends, so sampling the many tiny calls of a chunked run still catches it (scripts/fuzz.sh also caps any
/// single allocation with -malloc_limit_mb).
func runParser(_ stream: UnsafeRawBufferPointer, _ calls: [ParserStep], rawOnConnect: Bool, rawMode: Bool,
               checkMemoryEvery: Int) -> (events: [ATEvent], snapshots: [ParserSnapshot]) {
    var p = ATParser()
    p.rawOnConnect = rawOnConnect
    p.rawMode = rawMode
    var events: [ATEvent] = []
    var snapshots: [ParserSnapshot] = []
    var normalizedCount = 0   // events.count after merging raw runs, kept up to date without re-merging
    var lastWasRaw = false
    for (k, c) in calls.enumerated() {
        let before = events.count
        p.feed(UnsafeRawBufferPointer(rebasing: stream[c.range]), into: &events)
        for e in events[before...] {
            checkEvent(e, callBytes: c.range.count)
            let isRaw: Bool
            if case .raw = e { isRaw = true } else { isRaw = false }
            if !(isRaw && lastWasRaw) { normalizedCount += 1 }
            lastWasRaw = isRaw
        }
        let last = k == calls.count - 1
        if checkMemoryEvery > 0 && (k % checkMemoryEvery == 0 || !c.ops.isEmpty || last) { checkBounded(p) }
        if !c.ops.isEmpty {
            snapshots.append(ParserSnapshot(inPayload: p.inPayload, rawMode: p.rawMode, rawOnConnect: p.rawOnConnect,
                                            eventCount: normalizedCount))
            for op in c.ops {
                switch op {
                case .setRawMode(let on): p.rawMode = on
                case .setRawOnConnect(let on): p.rawOnConnect = on
                case .reset: p.reset()
                }
            }
        }
    }
    return (normalized(events), snapshots)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let headerSize = 5
    var header = [UInt8](repeating: 0, count: headerSize)
    for i in 0..<min(headerSize, size) { header[i] = input[i] }
    let stream = size > headerSize ? UnsafeRawBufferPointer(rebasing: input[headerSize...])
                                   : UnsafeRawBufferPointer(start: nil, count: 0)

    let flags = header[0]
    let rawOnConnect = flags & 1 != 0
    let rawMode = flags & 2 != 0
    let bytewise = flags & 4 != 0 && stream.count <= 8192
    let opEvery = [0, 16, 4, 2][Int(flags >> 3) & 3]   // 0: no operations
    let chunkCap = [1, 2, 3, 7, 16, 64, 512, max(1, stream.count / 2)][Int(flags >> 5)]
    var rng = FuzzRNG(state: UInt64(header[1]) | UInt64(header[2]) << 8 | UInt64(header[3]) << 16
                      | UInt64(header[4]) << 24)

    // The chunked plan; the reference plan joins every run of chunks that has no operation after it.
    var chunked: [ParserStep] = []
    var i = 0
    while i < stream.count {
        let n = min(stream.count - i, 1 + rng.below(chunkCap))
        var ops: [ParserOp] = []
        if opEvery > 0 && rng.below(opEvery) == 0 {
            for _ in 0...rng.below(2) {
                switch rng.below(5) {
                case 0: ops.append(.setRawMode(true))
                case 1, 2: ops.append(.setRawMode(false))   // leave raw mode more often than enter it
                case 3: ops.append(.setRawOnConnect(rng.below(2) == 0))
                default: ops.append(.reset)
                }
            }
        }
        chunked.append(ParserStep(range: i..<(i + n), ops: ops))
        i += n
    }
    var whole: [ParserStep] = []
    for c in chunked {
        if let last = whole.last, last.ops.isEmpty {
            whole[whole.count - 1].range = last.range.lowerBound..<c.range.upperBound
            whole[whole.count - 1].ops = c.ops
        } else {
            whole.append(c)
        }
    }

    let ref = runParser(stream, whole, rawOnConnect: rawOnConnect, rawMode: rawMode, checkMemoryEvery: 1)
    let got = runParser(stream, chunked, rawOnConnect: rawOnConnect, rawMode: rawMode, checkMemoryEvery: 1)
    if got.events != ref.events { parserFail("chunked feeding gave other events than one call per segment") }
    if got.snapshots != ref.snapshots { parserFail("chunked feeding left another state at an operation") }

    if bytewise {
        var bytes: [ParserStep] = []
        for c in chunked {
            for k in c.range { bytes.append(ParserStep(range: k..<(k + 1), ops: k == c.range.upperBound - 1 ? c.ops : [])) }
        }
        let one = runParser(stream, bytes, rawOnConnect: rawOnConnect, rawMode: rawMode, checkMemoryEvery: 1)
        if one.events != ref.events { parserFail("byte-by-byte feeding gave other events") }
        if one.snapshots != ref.snapshots { parserFail("byte-by-byte feeding left another state at an operation") }
    }
    return 0
}
