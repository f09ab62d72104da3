import QSSLCore
import Testing

/// The AT dialogue without threads: a script of requests, module bytes and clock ticks runs through the parser and
/// the dialogue; the outcome (completions, URCs, bytes written) must be the expected one, whatever the chunking of
/// the module's bytes (all at once, one byte at a time, every split in two, random splits).
struct DialogueScript: Sendable, CustomStringConvertible {
    enum Step: Sendable {
        case start(ATRequest, timeoutMs: Int)
        case module(String)
        case moduleBytes([UInt8])
        case advance(ms: Int)
    }

    struct Outcome: Equatable {
        var completions: [String] = []
        var urcs: [URC] = []
        var written: [UInt8] = []
    }

    var name: String
    var steps: [Step]
    var expect: Outcome
    var description: String { name }

    /// Runs the script; each module step is cut at `cuts(count)` offsets.
    func run(cuts: (Int) -> [Int]) -> Outcome {
        var parser = ATParser()
        var dialogue = ATDialogue()
        var out = Outcome()
        var now: UInt64 = 1_000_000_000
        var nextID = 0
        var events: [ATEvent] = []
        var actions: [ATDialogue.Action] = []
        func apply() {
            for a in actions {
                switch a {
                case .write(let b): out.written += b
                case .urc(let u): out.urcs.append(u)
                case .trace: break
                case .complete(let id, let r): out.completions.append("#\(id) " + DialogueScript.describe(r))
                }
            }
            actions.removeAll()
        }
        func feed(_ bytes: [UInt8]) {
            var start = 0
            for end in cuts(bytes.count) + [bytes.count] where end > start {
                parser.rawOnConnect = dialogue.rawOnConnect
                events.removeAll()
                bytes[start..<end].withUnsafeBytes { parser.feed($0, into: &events) }
                for e in events { dialogue.handle(e, now: now, into: &actions) }
                apply()
                start = end
            }
        }
        for step in steps {
            switch step {
            case .start(let r, let ms):
                nextID += 1
                #expect(dialogue.isIdle, "\(name): start while busy")
                dialogue.start(id: nextID, r, deadline: now + UInt64(ms) * 1_000_000, lateFinalWaitMs: 2000,
                               into: &actions)
                apply()
            case .module(let s): feed(Array(s.utf8))
            case .moduleBytes(let b): feed(b)
            case .advance(let ms):
                now += UInt64(ms) * 1_000_000
                dialogue.tick(now: now, into: &actions)
                apply()
            }
        }
        return out
    }

    static func describe(_ r: Result<ATResponse, QsslError>) -> String {
        switch r {
        case .failure(let e): return "error \(e.rawValue)"
        case .success(let a):
            var s = a.final.map { $0.text } ?? (a.connected ? "CONNECT" : "-")
            s += " lines=" + a.lines.joined(separator: "|")
            for p in a.payloads { s += " payload=" + traceText(p.data) }
            return s
        }
    }
}

enum Scripts {
    static func req(_ c: String, payload: String? = nil, configure: (inout ATRequest) -> Void = { _ in }) -> ATRequest {
        var r = ATRequest(c, payload: payload.map { Array($0.utf8) })
        configure(&r)
        return r
    }

    static let all: [DialogueScript] = [
        DialogueScript(name: "query answer that looks like a URC, a real URC in the middle, echo on",
            steps: [.start(req("AT+CPIN?"), timeoutMs: 5000),
                    .module("AT+CPIN?\r\r\n+QSSLURC: \"recv\",0,1\r\n\r\n+CPIN: READY\r\n\r\nOK\r\n")],
            expect: .init(completions: ["#1 OK lines=+CPIN: READY"], urcs: [.sslRecv(cid: 0, ssid: 1)],
                          written: Array("AT+CPIN?\r".utf8))),
        DialogueScript(name: "a write command does not swallow an earlier open's result",
            steps: [.start(req("AT+QSSLOPEN=2,0,\"h\",443,0,90"), timeoutMs: 5000),
                    .module("\r\n+QSSLOPEN: 1,0\r\n\r\nOK\r\n")],
            expect: .init(completions: ["#1 OK lines="], urcs: [.sslOpen(ssid: 1, code: 0)],
                          written: Array("AT+QSSLOPEN=2,0,\"h\",443,0,90\r".utf8))),
        DialogueScript(name: "ALREADY CONNECT ends only the QIOPEN that declares it",
            steps: [.start(req("AT+QSSLSTATE"), timeoutMs: 5000),
                    .module("\r\nALREADY CONNECT\r\n\r\nOK\r\n"),
                    .start(req("AT+QIOPEN=1,\"TCP\",\"h\",80") { $0.endsOnAlreadyConnect = true }, timeoutMs: 5000),
                    .module("\r\nALREADY CONNECT\r\n")],
            expect: .init(completions: ["#1 OK lines=", "#2 ALREADY CONNECT lines="],
                          urcs: [.other("ALREADY CONNECT")],
                          written: Array("AT+QSSLSTATE\rAT+QIOPEN=1,\"TCP\",\"h\",80\r".utf8))),
        DialogueScript(name: "a counted payload holding OK and a URC line is data",
            steps: [.start(req("AT+QSSLRECV=0,1,1500"), timeoutMs: 5000),
                    .module("\r\n+QSSLRECV: 1.2.3.4:443,TCP,19\r\nOK\r\n+PDP DEACT\r\nxyz\r\nOK\r\n")],
            expect: .init(completions: ["#1 OK lines= payload=OK\\r\\n+PDP DEACT\\r\\nxyz"],
                          written: Array("AT+QSSLRECV=0,1,1500\r".utf8))),
        DialogueScript(name: "send: payload after the prompt, redacted nowhere in the outcome",
            steps: [.start(req("AT+QSSLSEND=0,5", payload: "hello"), timeoutMs: 5000),
                    .module("\r\n> "), .module("\r\nSEND OK\r\n")],
            expect: .init(completions: ["#1 SEND OK lines="], written: Array("AT+QSSLSEND=0,5\rhello".utf8))),
        DialogueScript(name: "timeout: the late answer is swallowed, the next command gets its own",
            steps: [.start(req("AT+QIACT"), timeoutMs: 100), .advance(ms: 150),
                    .module("\r\nlate line\r\n\r\nOK\r\n"),
                    .start(req("AT"), timeoutMs: 5000), .module("\r\nOK\r\n")],
            expect: .init(completions: ["#1 error -2", "#2 OK lines="], written: Array("AT+QIACT\rAT\r".utf8))),
        DialogueScript(name: "timeout without a late answer: idle after the wait",
            steps: [.start(req("AT+QIACT"), timeoutMs: 100), .advance(ms: 150), .advance(ms: 2100),
                    .start(req("AT"), timeoutMs: 5000), .module("\r\nOK\r\n")],
            expect: .init(completions: ["#1 error -2", "#2 OK lines="], written: Array("AT+QIACT\rAT\r".utf8))),
        DialogueScript(name: "a read whose payload came before its deadline waits for its OK past it",
            steps: [.start(req("AT+QSSLRECV=0,1,1500"), timeoutMs: 100),
                    .module("\r\n+QSSLRECV: 1.2.3.4:443,TCP,2\r\nhi"), .advance(ms: 150), .module("\r\nOK\r\n")],
            expect: .init(completions: ["#1 OK lines= payload=hi"], written: Array("AT+QSSLRECV=0,1,1500\r".utf8))),
        DialogueScript(name: "a timed-out upload still gets its data when the module asks",
            steps: [.start(req("AT+QSECWRITE=\"RAM:a\",3,100", payload: "abc"), timeoutMs: 100), .advance(ms: 150),
                    .module("\r\nCONNECT\r\n"), .module("\r\n+QSECWRITE: 3,6162\r\n\r\nOK\r\n"),
                    .start(req("AT"), timeoutMs: 5000), .module("\r\nOK\r\n")],
            expect: .init(completions: ["#1 error -2", "#2 OK lines="],
                          written: Array("AT+QSECWRITE=\"RAM:a\",3,100\rabcAT\r".utf8))),
        DialogueScript(name: "RDY fails the command in flight and goes to the URC handler; the line is resynced",
            steps: [.start(req("AT+QSSLSTATE"), timeoutMs: 5000), .module("\r\nRDY\r\n\r\n+CFUN: 1\r\n"),
                    .module("\r\nOK\r\n"), .start(req("AT+CSQ"), timeoutMs: 5000),
                    .module("\r\nERROR\r\n\r\nOK\r\n"), .advance(ms: 100),
                    .module("\r\n+CSQ: 20,0\r\n\r\nOK\r\n")],
            expect: .init(completions: ["#1 error -19", "#2 OK lines=+CSQ: 20,0"], urcs: [.ready, .cfun(1)],
                          written: Array("AT+QSSLSTATE\r\rAT\rAT+CSQ\r".utf8))),
        DialogueScript(name: "after RDY an unanswered probe is repeated, and only an OK with quiet behind it counts",
            steps: [.module("\r\nRDY\r\n"), .start(req("AT+QSSLRECV=0,1,1500"), timeoutMs: 5000),
                    .advance(ms: 10), .advance(ms: 500), .module("AT\r\r\nERROR\r\n"), .advance(ms: 500),
                    .module("\r\nOK\r\n"), .advance(ms: 50), .module("\r\nOK\r\n"), .advance(ms: 50),
                    .advance(ms: 50),
                    .module("\r\n+QSSLRECV: 1.2.3.4:443,TCP,2\r\nhi\r\nOK\r\n")],
            expect: .init(completions: ["#1 OK lines= payload=hi"], urcs: [.ready],
                          written: Array("\rAT\r\rAT\r\rAT\rAT+QSSLRECV=0,1,1500\r".utf8))),
        DialogueScript(name: "a request that times out while the line is resynced was never sent: the next resyncs",
            steps: [.module("\r\nRDY\r\n"), .start(req("AT+CSQ"), timeoutMs: 300), .advance(ms: 10),
                    .advance(ms: 300), .start(req("AT"), timeoutMs: 5000), .module("\r\nOK\r\n"),
                    .advance(ms: 100), .module("\r\nOK\r\n")],
            expect: .init(completions: ["#1 error -2", "#2 OK lines="], urcs: [.ready],
                          written: Array("\rAT\r\rAT\rAT\r".utf8))),
        DialogueScript(name: "RDY during a start-up probe that survives it",
            steps: [.start(req("AT") { $0.survivesRestart = true }, timeoutMs: 5000),
                    .module("\r\nRDY\r\n\r\nOK\r\n")],
            expect: .init(completions: ["#1 OK lines="], urcs: [.ready], written: Array("AT\r".utf8))),
        DialogueScript(name: "QILOCIP: its line is the whole answer",
            steps: [.start(req("AT+QILOCIP", configure: { $0.completesOnLine = true }), timeoutMs: 5000),
                    .module("\r\n10.1.2.3\r\n"), .start(req("AT"), timeoutMs: 5000), .module("\r\nOK\r\n")],
            expect: .init(completions: ["#1 - lines=10.1.2.3", "#2 OK lines="], written: Array("AT+QILOCIP\rAT\r".utf8))),
        DialogueScript(name: "ATO: CONNECT completes it and the bytes behind it are raw",
            steps: [.start(req("ATO") { $0.entersRawModeOnConnect = true }, timeoutMs: 5000),
                    .module("\r\nCONNECT\r\n\r\nOK\r\n")],
            expect: .init(completions: ["#1 CONNECT lines="], written: Array("ATO\r".utf8))),
        DialogueScript(name: "an echoed line that is not the command is an answer line",
            steps: [.start(req("AT+CMGR=1"), timeoutMs: 5000),
                    .module("AT+CMGR=1\r\r\n+CMGR: \"REC READ\",\"+1\"\r\nat home\r\n\r\nOK\r\n")],
            expect: .init(completions: ["#1 OK lines=+CMGR: \"REC READ\",\"+1\"|at home"],
                          written: Array("AT+CMGR=1\r".utf8))),
        DialogueScript(name: "lines with no command in flight are URCs",
            steps: [.module("\r\nsomething odd\r\n\r\n1, CLOSED\r\n\r\nCONNECT\r\n")],
            expect: .init(urcs: [.other("something odd"), .tcpClosed(id: 1), .other("CONNECT")])),
    ]
}

@Suite("Dialogue")
struct DialogueTests {
    @Test(arguments: Scripts.all)
    func wholeAndByteByByte(_ script: DialogueScript) {
        #expect(script.run(cuts: { _ in [] }) == script.expect)
        #expect(script.run(cuts: { Array(stride(from: 1, to: $0, by: 1)) }) == script.expect)
    }

    @Test(arguments: Scripts.all)
    func everySplitInTwo(_ script: DialogueScript) {
        let longest = script.steps.map { step -> Int in
            if case .module(let s) = step { return s.utf8.count }
            return 0
        }.max() ?? 0
        for k in 1..<max(2, longest) {
            let got = script.run(cuts: { n in k < n ? [k] : [] })
            #expect(got == script.expect, "split at \(k)")
            if got != script.expect { return }
        }
    }

    @Test(arguments: Scripts.all)
    func randomSplits(_ script: DialogueScript) {
        var rng = ParserRNG(seed: 0xD1A1)
        for _ in 0..<100 {
            let got = script.run(cuts: { n in
                guard n > 1 else { return [] }
                return Array(Set((0..<Int.random(in: 1...4, using: &rng)).map { _ in Int.random(in: 1..<n, using: &rng) })).sorted()
            })
            #expect(got == script.expect)
            if got != script.expect { return }
        }
    }

    @Test func deadlinesAndIdleness() {
        var d = ATDialogue()
        var actions: [ATDialogue.Action] = []
        #expect(d.isIdle && d.nextDeadline == nil)
        d.start(id: 7, ATRequest("AT+QIACT"), deadline: 1000, lateFinalWaitMs: 5, into: &actions)
        #expect(!d.isIdle && d.nextDeadline == 1000)
        actions.removeAll()
        d.tick(now: 1000, into: &actions)
        #expect(actions.contains { if case .complete(7, .failure(.timedOut)) = $0 { return true } else { return false } })
        #expect(!d.isIdle && d.nextDeadline == 1000 + 5_000_000)   // draining the late answer
        d.tick(now: 1000 + 5_000_000, into: &actions)
        #expect(d.isIdle)
        d.start(id: 8, ATRequest("AT"), deadline: 99_000_000_000, lateFinalWaitMs: 5, into: &actions)
        actions.removeAll()
        d.abort(.noDevice, into: &actions)
        #expect(actions.count == 1 && d.isIdle)
        if case .complete(8, .failure(.noDevice)) = actions.first {} else { Issue.record("abort: \(actions)") }
    }

    @Test func queryPrefixes() {
        #expect(ATRequest("AT+CPIN?").answerPrefix == "+CPIN:")
        #expect(ATRequest("at+cgreg?").answerPrefix == "+CGREG:")
        #expect(ATRequest("AT+QSSLCFG=?").answerPrefix == "+QSSLCFG:")
        #expect(ATRequest("AT+QSSLOPEN=1,0,\"h\",443,0").answerPrefix == nil)
        #expect(ATRequest("ATI").answerPrefix == nil)
    }
}
