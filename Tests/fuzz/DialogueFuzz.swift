// libFuzzer target "dialogue": ATParser + ATDialogue driven by arbitrary module bytes, requests and clock ticks.
//
// Built against Sources/QSSLCore as module QSSLCoreFuzz (see scripts/fuzz.sh). Input layout: segments
// separated by 0x00 bytes; each segment is one selector byte, then module bytes.
//   selector bit 7 set:   the clock advances (selector & 0x7F) * 50 ms before the bytes
//   selector bit 7 clear: if the dialogue is idle, request table[selector % table.count] starts (deadline 1 s)
// The segment's module bytes are fed whole in one run and in chunks (sizes from the bytes themselves) in a second
// run, each cut further by the channel's rule (ATParser.pieceLength). As the modem layer does for a transparent
// open, a "+QSSLOPEN: <n>,0" URC switches to data mode right behind its line; raw bytes are the socket's data, not
// the dialogue's. Invariants: no crash or hang; both runs give the same actions (traces included) and the same data:
// the outcome does not depend on how the module's bytes were cut; every started request completes exactly once by
// the end (after a far tick and an abort); the dialogue is idle then; a start only ever happens when it was idle.

@testable import QSSLCoreFuzz

let dialogueRequests: [ATRequest] = {
    var r: [ATRequest] = [ATRequest("AT"), ATRequest("AT+CPIN?"), ATRequest("AT+QSSLSTATE"),
                          ATRequest("AT+QSSLSEND=0,5", payload: Array("hello".utf8)),
                          ATRequest("AT+QSSLRECV=0,1,1500"), ATRequest("AT+QSSLCFG=\"ctxindex\",0")]
    var ilocip = ATRequest("AT+QILOCIP")
    ilocip.completesOnLine = true
    var ato = ATRequest("ATO")
    ato.entersRawModeOnConnect = true
    var qiopen = ATRequest("AT+QIOPEN=1,\"TCP\",\"h\",80")
    qiopen.endsOnAlreadyConnect = true
    var sync = ATRequest("AT")
    sync.survivesRestart = true
    var upload = ATRequest("AT+QSECWRITE=\"RAM:a\",3,100", payload: Array("abc".utf8), redactPayload: true)
    upload.survivesRestart = false
    r += [ilocip, ato, qiopen, sync, upload]
    return r
}()

func describe(_ a: ATDialogue.Action) -> String {
    switch a {
    case .write(let b): return "write " + traceText(b, limit: 4096)
    case .trace(let d, let t): return (d == .toModule ? "> " : "< ") + t
    case .urc(let u): return "urc " + u.text
    case .complete(let id, .success(let r)):
        return "done \(id) \(r.final.map { $0.text } ?? "-") \(r.connected) \(r.lines.count) \(r.payloads.map { $0.data.count })"
    case .complete(let id, .failure(let e)): return "fail \(id) \(e.rawValue)"
    }
}

func runDialogue(_ input: [UInt8], chunked: Bool) -> [String] {
    var parser = ATParser()
    var dialogue = ATDialogue()
    var actions: [ATDialogue.Action] = []
    var events: [ATEvent] = []
    var out: [String] = []
    var started: [Int: Int] = [:]       // id -> completions seen
    var now: UInt64 = 1_000_000_000
    var nextID = 0
    var data: [UInt8] = []              // raw bytes not yet put in `out` (raw events are cut per feed call)
    var enterDataMode = false
    var skipLF = false
    func flushData() {
        if data.isEmpty { return }
        out.append("data " + traceText(data, limit: 1 << 16))
        data.removeAll(keepingCapacity: true)
    }
    func apply() {
        for a in actions {
            if case .urc(.sslOpen(ssid: _, code: 0)) = a { enterDataMode = true }
            if case .complete(let id, _) = a {
                guard started[id] != nil else { fatalError("dialogue: completion of an unknown request \(id)") }
                started[id]! += 1
                if started[id]! > 1 { fatalError("dialogue: request \(id) completed twice") }
            }
            flushData()
            out.append(describe(a))
        }
        actions.removeAll(keepingCapacity: true)
    }
    // The channel's feeding (ATChannel.feed, handle, installDataMode).
    func feed(_ bytes: ArraySlice<UInt8>) {
        var start = bytes.startIndex
        while start < bytes.endIndex {
            let end = start + bytes[start...].withUnsafeBytes {
                parser.pieceLength($0, waitingForConnect: dialogue.rawOnConnect)
            }
            parser.rawOnConnect = dialogue.rawOnConnect
            events.removeAll(keepingCapacity: true)
            bytes[start..<end].withUnsafeBytes { parser.feed($0, into: &events) }
            for e in events {
                if case .raw(var b) = e {
                    if skipLF {
                        skipLF = false
                        if b.first == 0x0A { b.removeFirst() }
                    }
                    data += b
                } else {
                    dialogue.handle(e, now: now, into: &actions)
                    apply()
                }
            }
            if enterDataMode {
                enterDataMode = false
                if !parser.rawMode {
                    skipLF = bytes[end - 1] == 0x0D
                    parser.rawMode = true
                }
            }
            start = end
        }
    }
    var i = 0
    while i < input.count {
        var j = i
        while j < input.count && input[j] != 0 { j += 1 }
        if j > i {
            let selector = input[i]
            // The channel leaves data mode between segments; so does the harness.
            flushData()
            parser.rawMode = false
            skipLF = false
            if selector & 0x80 != 0 {
                now += UInt64(selector & 0x7F) * 50_000_000
                dialogue.tick(now: now, into: &actions)
                apply()
            } else if dialogue.isIdle {
                nextID += 1
                started[nextID] = 0
                dialogue.start(id: nextID, dialogueRequests[Int(selector) % dialogueRequests.count],
                               deadline: now + 1_000_000_000, lateFinalWaitMs: 500, into: &actions)
                apply()
            }
            let body = input[(i + 1)..<j]
            if !chunked {
                feed(body)
            } else {
                var k = body.startIndex
                while k < body.endIndex {
                    let n = 1 + Int(body[k] % 7)
                    let end = min(body.endIndex, k + n)
                    feed(body[k..<end])
                    k = end
                }
            }
        }
        i = j + 1
    }
    flushData()
    now += 10_000_000_000
    dialogue.tick(now: now, into: &actions)
    apply()
    now += 10_000_000_000
    dialogue.tick(now: now, into: &actions)
    apply()
    dialogue.abort(.closed, into: &actions)
    apply()
    if !dialogue.isIdle { fatalError("dialogue: not idle after the end") }
    for (id, n) in started where n != 1 { fatalError("dialogue: request \(id) completed \(n) times") }
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDialogue(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let whole = runDialogue(input, chunked: false)
    let chunks = runDialogue(input, chunked: true)
    if whole != chunks { fatalError("dialogue: the outcome depends on the chunking") }
    return 0
}
