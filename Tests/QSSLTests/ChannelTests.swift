import CPosix
import Foundation
@testable import QSSL
import QSSLCore
import Testing

func testOptions() -> ChannelOptions {
    var o = ChannelOptions()
    o.syncAttempts = 5
    o.syncIntervalMs = 150
    o.lateFinalWaitMs = 3000
    o.guardTimeMs = 30
    o.guardMarginMs = 0
    o.dataModeQuietMs = 50
    return o
}

/// A channel over a scripted transport, I/O thread running, no sync.
func scripted(_ steps: [ScriptedTransport.Step], options: ChannelOptions = testOptions(),
              responder: ((String) -> [UInt8]?)? = nil,
              setup: (ATChannel) -> Void = { _ in }) throws -> (ATChannel, ScriptedTransport) {
    let t = ScriptedTransport(steps, responder: responder)
    let c = ATChannel(transport: t, options: options)
    setup(c)
    try c.startIO()
    return (c, t)
}

@Suite("Channel")
struct ChannelTests {
    @Test func syncCopesWithAutobaudEchoAndStartupURCs() throws {
        let t = ScriptedTransport([
            .expect(.init("AT\r")),                     // autobaud: the first AT goes unanswered
            .expect(.init("AT\r")),
            .answer(.init("AT\r\r\nOK\r\n")),           // echo is on
            .expect(.init("ATE0\r")),
            .answer(.init("ATE0\r\r\nRDY\r\n\r\nOK\r\n")),
            // RDY: the line is resynchronised before the next command (echo is on again after a restart).
            .expect(.init("\rAT\r")), .answer(.init("\rAT\r\r\nOK\r\n")),
            .expect(.init("AT+CMEE=1\r")),
            .answer(.init("\r\n+CFUN: 1\r\n\r\nOK\r\n\r\nCall Ready\r\n")),
        ])
        let c = ATChannel(transport: t, options: testOptions())
        let urcs = Collector<URC>()
        c.urcHandler = { urcs.append($0) }
        try c.start(timeoutMs: 5000)
        #expect(urcs.wait { $0.count >= 3 })
        #expect(urcs.all == [.ready, .cfun(1), .callReady])
        #expect(t.finished)
        #expect(t.mismatches.isEmpty)
        c.close()
        #expect(t.isClosed)
    }

    @Test func syncFailsWhenTheModuleNeverAnswers() throws {
        var o = testOptions()
        o.syncAttempts = 3
        o.syncIntervalMs = 50
        let t = ScriptedTransport([], responder: { _ in nil })
        let c = ATChannel(transport: t, options: o)
        #expect(throws: QsslError.timedOut) { try c.start(timeoutMs: 2000) }
        #expect(String(decoding: t.written, as: UTF8.self) == "AT\rAT\rAT\r")
        c.close()
    }

    @Test func normalCommand() throws {
        let (c, t) = try scripted([.expect(.init("AT+CSQ\r")), .answer(.init("\r\n+CSQ: 20,0\r\n\r\nOK\r\n"))])
        defer { c.close() }
        let r = try c.execute(ATRequest("AT+CSQ"), timeoutMs: 2000)
        #expect(r.lines == ["+CSQ: 20,0"])
        #expect(r.final == .ok)
        #expect(r.payloads.isEmpty)
        #expect(t.mismatches.isEmpty)
    }

    @Test func intermediateLinesAndEcho() throws {
        let (c, _) = try scripted([
            .expect(.init("ATI\r")),
            .answer(.init("ATI\r\r\nQuectel_Ltd\r\nQuectel_M95\r\nRevision: M95FAR02A08\r\n\r\nOK\r\n")),
        ])
        defer { c.close() }
        let r = try c.execute(ATRequest("ATI"), timeoutMs: 2000)
        #expect(r.lines == ["Quectel_Ltd", "Quectel_M95", "Revision: M95FAR02A08"])
        #expect(r.final == .ok)
    }

    @Test func cmeErrorIsAFinalAndAtThrowsModem() throws {
        let (c, _) = try scripted([
            .expect(.init("AT+QSSLCFG=\"sslversion\",9,9\r")), .answer(.init("\r\n+CME ERROR: 50\r\n")),
            .expect(.init("AT+QSSLCFG=\"sslversion\",9,9\r")), .answer(.init("\r\n+CME ERROR: 50\r\n")),
            .expect(.init("AT+CSQ\r")), .answer(.init("\r\n+CSQ: 9,0\r\n\r\nOK\r\n")),
        ])
        defer { c.close() }
        let r = try c.execute(ATRequest("AT+QSSLCFG=\"sslversion\",9,9"), timeoutMs: 2000)
        #expect(r.final == .cmeError(50))
        #expect(throws: QsslError.modem) { try c.at("AT+QSSLCFG=\"sslversion\",9,9", timeoutMs: 2000) }
        #expect(c.lastCME == 50)
        #expect(try c.at("AT+CSQ", timeoutMs: 2000) == ["+CSQ: 9,0"])
    }

    @Test func promptThenPayloadWithRedactedTrace() throws {
        let payload = [UInt8]("hello world!")
        let (c, t) = try scripted([
            .expect(.init("AT+QSSLSEND=1,12\r")), .answer(.init("\r\n> ")),
            .expect(payload), .answer(.init("\r\nSEND OK\r\n")),
        ])
        defer { c.close() }
        let trace = Collector<String>()
        c.traceHandler = { dir, text in trace.append((dir == .toModule ? ">> " : "<< ") + text) }
        let r = try c.execute(ATRequest("AT+QSSLSEND=1,12", payload: payload, redactPayload: true), timeoutMs: 2000)
        #expect(r.final == .sendOK)
        #expect(t.mismatches.isEmpty)
        #expect(t.finished)
        #expect(trace.all.contains(">> <12 bytes redacted>"))
        #expect(!trace.all.contains { $0.contains("hello") })
    }

    @Test func connectThenPayload() throws {
        let cert = [UInt8]("-----BEGIN CERTIFICATE-----\r\nOK\r\n")
        let command = "AT+QSECWRITE=\"RAM:ca.pem\",\(cert.count),100"
        let (c, t) = try scripted([
            .expect(.init(command + "\r")), .answer(.init("\r\nCONNECT\r\n")),
            .expect(cert), .answer(.init("\r\n+QSECWRITE: \(cert.count),1a2b\r\n\r\nOK\r\n")),
        ])
        defer { c.close() }
        let trace = Collector<String>()
        c.traceHandler = { _, text in trace.append(text) }
        let r = try c.execute(ATRequest(command, payload: cert), timeoutMs: 2000)
        #expect(r.lines == ["+QSECWRITE: \(cert.count),1a2b"])
        #expect(r.final == .ok)
        #expect(t.mismatches.isEmpty)
        #expect(trace.all.contains { $0.contains("BEGIN CERTIFICATE") })   // not redacted unless asked
    }

    @Test func answerLineStartingWithAtIsNotTakenForAnEcho() throws {
        let (c, _) = try scripted([
            .expect(.init("AT+CMGR=1\r")),
            .answer(.init("AT+CMGR=1\r\r\n+CMGR: \"REC READ\",\"+100\"\r\nat home at six\r\n\r\nOK\r\n")),
        ])
        defer { c.close() }
        let r = try c.execute(ATRequest("AT+CMGR=1"), timeoutMs: 2000)
        #expect(r.lines == ["+CMGR: \"REC READ\",\"+100\"", "at home at six"])
        #expect(r.final == .ok)
    }

    @Test func urcBeforeThePromptAndRightAfterAPayload() throws {
        let payload = [UInt8]("ping")
        let data = [UInt8]("pong")
        let (c, t) = try scripted([
            .expect(.init("AT+QSSLSEND=0,4\r")), .answer(.init("\r\n+QSSLURC: \"recv\",0,3\r\n\r\n> ")),
            .expect(payload), .answer(.init("\r\nSEND OK\r\n")),
            .expect(.init("AT+QSSLRECV=0,0,1500\r")),
            .answer(.init("\r\n+QSSLRECV: 127.0.0.1:443,TCP,4\r\n") + data
                    + .init("\r\n+QSSLURC: \"closed\",0\r\n\r\nOK\r\n")),
        ])
        defer { c.close() }
        let urcs = Collector<URC>()
        c.urcHandler = { urcs.append($0) }
        let s = try c.execute(ATRequest("AT+QSSLSEND=0,4", payload: payload), timeoutMs: 2000)
        #expect(s.final == .sendOK)
        let r = try c.execute(ATRequest("AT+QSSLRECV=0,0,1500"), timeoutMs: 2000)
        #expect(r.payloads.first?.data == data)
        #expect(r.final == .ok)
        #expect(urcs.wait { $0.count >= 2 })
        #expect(urcs.all == [.sslRecv(cid: 0, ssid: 3), .sslClosed(ssid: 0)])
        #expect(t.mismatches.isEmpty)
    }

    @Test func alreadyConnectAfterTheOKOfQiopenIsAnEventNotTheNextAnswer() throws {
        let (c, t) = try scripted([
            .expect(.init("AT+QIOPEN=0,\"TCP\",\"127.0.0.1\",80\r")), .answer(.init("\r\nOK\r\n")),
            .expect(.init("AT+CSQ\r")), .answer(.init("\r\nALREADY CONNECT\r\n\r\n+CSQ: 20,0\r\n\r\nOK\r\n")),
            .expect(.init("AT+QIOPEN=1,\"TCP\",\"127.0.0.1\",80\r")), .answer(.init("\r\nALREADY CONNECT\r\n")),
        ])
        defer { c.close() }
        let urcs = Collector<URC>()
        c.urcHandler = { urcs.append($0) }
        #expect(try c.execute(ATRequest("AT+QIOPEN=0,\"TCP\",\"127.0.0.1\",80"), timeoutMs: 2000).final == .ok)
        let r = try c.execute(ATRequest("AT+CSQ"), timeoutMs: 2000)
        #expect(r.lines == ["+CSQ: 20,0"])
        #expect(r.final == .ok)
        #expect(urcs.wait { $0.count >= 1 })
        #expect(urcs.all == [.other("ALREADY CONNECT")])
        // As QIOPEN's own answer it is still the final result.
        var open1 = ATRequest("AT+QIOPEN=1,\"TCP\",\"127.0.0.1\",80")
        open1.endsOnAlreadyConnect = true
        let o = try c.execute(open1, timeoutMs: 2000)
        #expect(o.final == .alreadyConnect)
        #expect(t.mismatches.isEmpty)
    }

    @Test func recvPayloadContainingOK() throws {
        let data = [UInt8]("ab\r\nOK\r\ncd")
        let (c, _) = try scripted([
            .expect(.init("AT+QSSLRECV=0,1,1500\r")),
            .answer(.init("\r\n+QSSLRECV: 54.216.215.33:8883,TCP,\(data.count)\r\n") + data + .init("\r\nOK\r\n")),
        ])
        defer { c.close() }
        let r = try c.execute(ATRequest("AT+QSSLRECV=0,1,1500"), timeoutMs: 2000)
        #expect(r.final == .ok)
        #expect(r.payloads.count == 1)
        #expect(r.payloads.first?.data == data)
        #expect(r.payloads.first?.peer == "54.216.215.33:8883")
        #expect(r.lines.isEmpty)
    }

    @Test func urcBetweenLinesOfAResponse() throws {
        let (c, _) = try scripted([
            .expect(.init("AT+CSQ\r")),
            .answer(.init("\r\n+CSQ: 20,0\r\n\r\n+QSSLURC: \"recv\",0,1\r\n\r\nOK\r\n")),
            .expect(.init("AT+CPIN?\r")),
            .answer(.init("\r\n+CPIN: READY\r\n\r\n+QSSLURC: \"closed\",2\r\n\r\nOK\r\n\r\nUNSOLICITED TEXT\r\n")),
        ])
        defer { c.close() }
        let urcs = Collector<URC>()
        c.urcHandler = { urcs.append($0) }
        let r = try c.execute(ATRequest("AT+CSQ"), timeoutMs: 2000)
        #expect(r.lines == ["+CSQ: 20,0"])
        #expect(r.final == .ok)
        // "+CPIN: READY" looks like a URC but answers AT+CPIN?: it stays with the command.
        let p = try c.execute(ATRequest("AT+CPIN?"), timeoutMs: 2000)
        #expect(p.lines == ["+CPIN: READY"])
        #expect(urcs.wait { $0.count >= 3 })
        #expect(urcs.all == [.sslRecv(cid: 0, ssid: 1), .sslClosed(ssid: 2), .other("UNSOLICITED TEXT")])
    }

    @Test func writeCommandDoesNotSwallowAnotherOpensResult() throws {
        let (c, _) = try scripted([
            .expect(.init("AT+QSSLOPEN=2,0,\"host\",443,0\r")),
            .answer(.init("\r\n+QSSLOPEN: 1,0\r\n\r\nOK\r\n")),
            .expect(.init("AT+QSSLOPEN?\r")),
            .answer(.init("\r\n+QSSLOPEN: 1,0,\"host\",443\r\n\r\nOK\r\n")),
        ])
        defer { c.close() }
        let urcs = Collector<URC>()
        c.urcHandler = { urcs.append($0) }
        let r = try c.execute(ATRequest("AT+QSSLOPEN=2,0,\"host\",443,0"), timeoutMs: 2000)
        #expect(r.lines.isEmpty)
        #expect(r.final == .ok)
        #expect(urcs.wait { !$0.isEmpty })
        #expect(urcs.all == [.sslOpen(ssid: 1, code: 0)])
        // The read command does claim its own "+QSSLOPEN:" lines.
        let q = try c.execute(ATRequest("AT+QSSLOPEN?"), timeoutMs: 2000)
        #expect(q.lines.count == 1)
        #expect(q.lines.first?.hasPrefix("+QSSLOPEN: 1,0") == true)
        #expect(urcs.all.count == 1)
    }

    @Test func lateAddressLineOfATimedOutQilocipIsSwallowed() throws {
        let (c, t) = try scripted([
            .expect(.init("AT+QILOCIP\r")),
            .expect(.init("AT+QILOCIP\r")), .answer(.init("\r\n10.0.0.9\r\n")),
        ])
        defer { c.close() }
        let urcs = Collector<URC>()
        c.urcHandler = { urcs.append($0) }
        #expect(throws: QsslError.timedOut) {
            try c.execute(ATRequest("AT+QILOCIP", completesOnLine: true), timeoutMs: 100)
        }
        t.inject(.init("\r\n10.0.0.8\r\n"))
        let r = try c.execute(ATRequest("AT+QILOCIP", completesOnLine: true), timeoutMs: 2000)
        #expect(r.lines == ["10.0.0.9"])
        #expect(urcs.all.isEmpty)
        #expect(t.mismatches.isEmpty)
    }

    @Test func qilocipCompletesOnTheAddressLine() throws {
        let (c, _) = try scripted([
            .expect(.init("AT+QILOCIP\r")), .answer(.init("\r\n10.64.3.7\r\n")),
            .expect(.init("AT\r")), .answer(.init("\r\nOK\r\n")),
        ])
        defer { c.close() }
        let r = try c.execute(ATRequest("AT+QILOCIP", completesOnLine: true), timeoutMs: 2000)
        #expect(r.lines == ["10.64.3.7"])
        #expect(r.final == nil)
        #expect(try c.execute(ATRequest("AT"), timeoutMs: 2000).final == .ok)
    }

    @Test func timeoutThenLateFinalIsNotTakenForTheNextAnswer() throws {
        let (c, t) = try scripted([
            .expect(.init("AT+QIACT\r")),
            // nothing until the test injects the late OK
            .expect(.init("AT+CSQ\r")), .answer(.init("\r\n+CSQ: 11,0\r\n\r\nOK\r\n")),
        ])
        defer { c.close() }
        #expect(throws: QsslError.timedOut) { try c.execute(ATRequest("AT+QIACT"), timeoutMs: 100) }
        let next = Background { Result { () throws(QsslError) in try c.execute(ATRequest("AT+CSQ"), timeoutMs: 5000) } }
        // The channel must hold AT+CSQ back while it waits for AT+QIACT's answer.
        #expect(eventually(timeoutMs: 30_000) { c.queuedRequests == 1 })
        #expect(String(decoding: t.written, as: UTF8.self) == "AT+QIACT\r")
        t.inject(.init("\r\nOK\r\n"))
        let r = try #require(next.wait()).get()
        #expect(r.lines == ["+CSQ: 11,0"])
        #expect(r.final == .ok)
        #expect(t.mismatches.isEmpty)
    }

    @Test func timeoutWithoutLateAnswerResumesAfterTheWait() throws {
        var o = testOptions()
        o.lateFinalWaitMs = 200
        let (c, t) = try scripted([
            .expect(.init("AT+QIACT\r")),
            .expect(.init("AT\r")), .answer(.init("\r\nOK\r\n")),
        ], options: o)
        defer { c.close() }
        #expect(throws: QsslError.timedOut) { try c.execute(ATRequest("AT+QIACT"), timeoutMs: 100) }
        #expect(try c.execute(ATRequest("AT"), timeoutMs: 3000).final == .ok)
        #expect(t.mismatches.isEmpty)
    }

    @Test func restartDuringACommandFailsItAtOnceWithReset() throws {
        var o = testOptions()
        o.lateFinalWaitMs = 200
        let (c, t) = try scripted([
            .expect(.init("AT+QSSLSTATE\r")), .answer(.init("\r\nRDY\r\n")),
            .expect(.init("\rAT\r")), .answer(.init("\r\nOK\r\n")),
            .expect(.init("AT\r")), .answer(.init("\r\nOK\r\n")),
        ], options: o)
        defer { c.close() }
        let urcs = Collector<URC>()
        c.urcHandler = { urcs.append($0) }
        let started = monotonicNs()
        #expect(throws: QsslError.reset) { try c.execute(ATRequest("AT+QSSLSTATE"), timeoutMs: 20_000) }
        // Well before the 20 s timeout: the caller learns of the restart from the RDY itself.
        #expect(monotonicNs() - started < 5_000_000_000)
        #expect(urcs.wait { $0.count >= 1 })
        #expect(urcs.all == [.ready])
        #expect(try c.execute(ATRequest("AT"), timeoutMs: 3000).final == .ok)
        #expect(t.mismatches.isEmpty)
    }

    @Test func lateAnswerOfACommandCutByRestartIsSwallowed() throws {
        let (c, t) = try scripted([
            .expect(.init("AT+CSQ\r")), .answer(.init("\r\nRDY\r\n")),
            .expect(.init("\rAT\r")), .answer(.init("\r\nOK\r\n")),
            .expect(.init("AT+GSN\r")), .answer(.init("\r\n866000000000001\r\n\r\nOK\r\n")),
        ])
        defer { c.close() }
        #expect(throws: QsslError.reset) { try c.execute(ATRequest("AT+CSQ"), timeoutMs: 5000) }
        let next = Background { Result { () throws(QsslError) in try c.execute(ATRequest("AT+GSN"), timeoutMs: 5000) } }
        #expect(eventually(timeoutMs: 30_000) { c.queuedRequests == 1 })
        #expect(String(decoding: t.written, as: UTF8.self) == "AT+CSQ\r")
        // The module had received AT+CSQ after it booted and answers it now: not AT+GSN's answer.
        t.inject(.init("\r\n+CSQ: 20,0\r\n\r\nOK\r\n"))
        let r = try #require(next.wait()).get()
        #expect(r.lines == ["866000000000001"])
        #expect(t.mismatches.isEmpty)
    }

    @Test func queuedRequestTimesOutWhileAnotherIsInFlight() throws {
        let (c, t) = try scripted([.expect(.init("AT+SLOW\r"))])
        defer { c.close() }
        let slow = Background { Result { () throws(QsslError) in try c.execute(ATRequest("AT+SLOW"), timeoutMs: 1500) } }
        #expect(eventually { !t.written.isEmpty })
        #expect(throws: QsslError.timedOut) { try c.execute(ATRequest("AT+QUEUED"), timeoutMs: 100) }
        t.inject(.init("\r\nOK\r\n"))
        let r = try #require(slow.wait()).get()
        #expect(r.final == .ok)
        #expect(String(decoding: t.written, as: UTF8.self) == "AT+SLOW\r")
    }

    /// A read submitted behind a slow command waits in the queue for as long as that takes: its timeout counts
    /// from its write. Before, it expired in the queue (or, started late, while its payload arrived, which lost
    /// the bytes the module had already taken out of its buffer: the fault matrix's "noise URCs + fragments"
    /// under load).
    @Test func submittedReadTimesFromItsWriteNotFromItsQueueing() throws {
        var o = testOptions()
        o.lateFinalWaitMs = 50
        let (c, t) = try scripted([
            .expect(.init("AT+SLOW\r")),
            .expect(.init("AT+QSSLRECV=0,1,1500\r")),
            .answer(.init("\r\n+QSSLRECV: 1.2.3.4:443,TCP,5\r\nhello\r\nOK\r\n")),
        ], options: o)
        defer { c.close() }
        let slow = Background { Result { () throws(QsslError) in try c.execute(ATRequest("AT+SLOW"), timeoutMs: 600) } }
        #expect(eventually { !t.written.isEmpty })
        let read = Collector<Result<ATResponse, QsslError>>()
        c.submit(ATRequest("AT+QSSLRECV=0,1,1500"), timeoutMs: 200) { read.append($0) }
        // The slow command times out unanswered after 600 ms: the read, queued with 200 ms, has waited longer.
        #expect(throws: QsslError.timedOut) { try #require(slow.wait()).get() }
        #expect(read.wait { !$0.isEmpty })
        let r = try #require(read.all.first).get()
        #expect(r.payloads.first.map { String(decoding: $0.data, as: UTF8.self) } == "hello")
        #expect(t.mismatches.isEmpty)
    }

    /// A payload that has begun is read to its end even when the request's deadline passes meanwhile: only
    /// `payloadStallMs` without a byte would end it. The same for a blocking `execute` (a raw AT+QSSLRECV typed by
    /// the user), whose caller is not given up on while its payload arrives, past its timeout and the 2 s margin.
    @Test(arguments: [false, true])
    func payloadArrivingPastTheDeadlineIsNotCut(blocking: Bool) throws {
        var o = testOptions()
        o.payloadStallMs = 60_000
        let (c, t) = try scripted([
            .expect(.init("AT+QSSLRECV=0,1,1500\r")),
            .answer(.init("\r\n+QSSLRECV: 1.2.3.4:443,TCP,5\r\nhel")),
        ], options: o)
        defer { c.close() }
        let read = Collector<Result<ATResponse, QsslError>>()
        let start = Date()
        let request = ATRequest("AT+QSSLRECV=0,1,1500")
        if blocking {
            Thread {
                do throws(QsslError) {
                    read.append(.success(try c.execute(request, timeoutMs: 200)))
                } catch {
                    read.append(.failure(error))
                }
            }.start()
        } else {
            c.submit(request, timeoutMs: 200) { read.append($0) }
        }
        #expect(eventually { t.finished })
        // Past the deadline and the margin, however busy the machine: the rest comes after both passed.
        #expect(eventually(timeoutMs: 20_000) { Date().timeIntervalSince(start) > 3 })
        #expect(read.all.isEmpty)
        t.inject(.init("lo\r\nOK\r\n"))
        #expect(read.wait { !$0.isEmpty })
        let r = try #require(read.all.first).get()
        #expect(r.payloads.first.map { String(decoding: $0.data, as: UTF8.self) } == "hello")
        #expect(r.final == .ok)
    }

    @Test func submitFromURCHandlerDrainsRecv() throws {
        let t = ScriptedTransport([
            .answer(.init("\r\n+QSSLURC: \"recv\",0,1\r\n")),
            .expect(.init("AT+QSSLRECV=0,1,1500\r")),
            .answer(.init("\r\n+QSSLRECV: 1.2.3.4:443,TCP,5\r\nhello\r\nOK\r\n")),
            .expect(.init("AT+QSSLRECV=0,1,1500\r")),
            .answer(.init("\r\n+QSSLRECV: 1.2.3.4:443,TCP,6\r\n world\r\nOK\r\n")),
            .expect(.init("AT+QSSLRECV=0,1,1500\r")),
            .answer(.init("\r\nOK\r\n")),
        ])
        let c = ATChannel(transport: t, options: testOptions())
        defer { c.close() }
        let received = Collector<UInt8>()
        let done = Collector<Bool>()
        // The pattern of the modem layer: a "recv" URC queues AT+QSSLRECV until the module's buffer is empty.
        final class Drainer: @unchecked Sendable {
            let c: ATChannel
            let received: Collector<UInt8>
            let done: Collector<Bool>
            init(_ c: ATChannel, _ r: Collector<UInt8>, _ d: Collector<Bool>) { self.c = c; received = r; done = d }
            func drain() {
                c.submit(ATRequest("AT+QSSLRECV=0,1,1500"), timeoutMs: 2000) { result in
                    guard case .success(let r) = result, self.c.isIOThread else { self.done.append(false); return }
                    let bytes = r.payloads.flatMap(\.data)
                    bytes.forEach(self.received.append)
                    if bytes.isEmpty { self.done.append(true) } else { self.drain() }
                }
            }
        }
        let drainer = Drainer(c, received, done)
        c.urcHandler = { urc in
            if case .sslRecv(0, 1) = urc { drainer.drain() }
        }
        try c.startIO()
        #expect(done.wait { !$0.isEmpty })
        #expect(done.all == [true])
        #expect(String(decoding: received.all, as: UTF8.self) == "hello world")
        #expect(t.mismatches.isEmpty)
        #expect(t.finished)
    }

    @Test func executeOnTheIOThreadIsRefused() throws {
        let outcome = Collector<QsslError>()
        let (c, _) = try scripted([.answer(.init("\r\nRING\r\n"))], setup: { c in
            c.urcHandler = { [unowned c] _ in
                do throws(QsslError) { _ = try c.execute(ATRequest("AT"), timeoutMs: 100) } catch { outcome.append(error) }
            }
        })
        defer { c.close() }
        #expect(outcome.wait { !$0.isEmpty })
        #expect(outcome.all == [.invalidArgument])
    }

    @Test func closeWakesABlockedExecute() throws {
        let (c, t) = try scripted([.expect(.init("AT+QIACT\r"))])
        let call = Background { Result { () throws(QsslError) in try c.execute(ATRequest("AT+QIACT"), timeoutMs: 10_000) } }
        #expect(eventually { !t.written.isEmpty })
        // A second caller waits in the queue behind the first.
        let queued = Background { Result { () throws(QsslError) in try c.execute(ATRequest("AT+CSQ"), timeoutMs: 10_000) } }
        #expect(eventually(timeoutMs: 30_000) { c.queuedRequests == 1 })
        #expect(String(decoding: t.written, as: UTF8.self) == "AT+QIACT\r")
        c.close()
        let r = try #require(call.wait(timeoutMs: 3000))
        #expect(throws: QsslError.closed) { try r.get() }
        let q = try #require(queued.wait(timeoutMs: 3000))
        #expect(throws: QsslError.closed) { try q.get() }
        #expect(c.isClosed)
        #expect(t.isClosed)
        #expect(throws: QsslError.closed) { try c.execute(ATRequest("AT"), timeoutMs: 100) }
        c.close()   // idempotent
    }

    @Test func callsBeforeStartAndAfterClose() throws {
        let t = ScriptedTransport([])
        let c = ATChannel(transport: t, options: testOptions())
        #expect(throws: QsslError.invalidArgument) { try c.execute(ATRequest("AT"), timeoutMs: 100) }
        try c.startIO()
        c.close()
        #expect(t.isClosed)
        let result = Collector<QsslError>()
        c.submit(ATRequest("AT"), timeoutMs: 100) { r in if case .failure(let e) = r { result.append(e) } }
        #expect(result.all == [.closed])   // completed at once on this thread: no I/O thread is left
        #expect(throws: QsslError.closed) { try c.startIO() }
        #expect(t.written.isEmpty)
    }

    @Test func hangUpFailsEveryWaiterWithNoDevice() throws {
        let (c, t) = try scripted([.expect(.init("AT+CSQ\r")), .hangUp])
        defer { c.close() }
        let gone = Collector<Bool>()
        c.onDeviceGone = { gone.append(true) }
        #expect(throws: QsslError.noDevice) { try c.execute(ATRequest("AT+CSQ"), timeoutMs: 3000) }
        #expect(c.deviceGone)
        #expect(throws: QsslError.noDevice) { try c.execute(ATRequest("AT"), timeoutMs: 1000) }
        #expect(gone.wait { !$0.isEmpty })
        #expect(t.mismatches.isEmpty)
    }

    @Test func manyThreadsGetTheirOwnAnswers() throws {
        let (c, t) = try scripted([], responder: { line in
            guard line.hasPrefix("AT+ECHO=") else { return .init("\r\nERROR\r\n") }
            return .init("\r\n+ECHO: \(line.dropFirst(8))\r\n\r\nOK\r\n")
        })
        defer { c.close() }
        let threads = 8, perThread = 40
        let failures = Collector<String>()
        let workers = (0..<threads).map { k in
            Background { () -> Bool in
                for i in 0..<perThread {
                    let n = k * 1000 + i
                    do {
                        let r = try c.execute(ATRequest("AT+ECHO=\(n)"), timeoutMs: 5000)
                        if r.lines != ["+ECHO: \(n)"] || r.final != .ok { failures.append("\(n): \(r.lines)") }
                    } catch {
                        failures.append("\(n): \(error)")
                    }
                }
                return true
            }
        }
        for w in workers { #expect(w.wait(timeoutMs: 30_000) == true) }
        #expect(failures.all.isEmpty)
        #expect(t.mismatches.isEmpty)
    }

    @Test func rawModeAfterConnectAndEscapeWithGuardTimes() throws {
        let (c, t) = try scripted([
            .expect(.init("ATO\r")), .answer(.init("\r\nCONNECT\r\nfrom server\r\nOK\r\n")),
            .expect(.init("to server")), .answer(.init("more")),
            .expect(.init("+++")), .answer(.init("\r\nOK\r\n")),
            .expect(.init("AT\r")), .answer(.init("\r\nOK\r\n")),
        ])
        defer { c.close() }
        var request = ATRequest("ATO")
        request.entersRawModeOnConnect = true
        let r = try c.execute(request, timeoutMs: 2000)
        #expect(r.connected)
        #expect(r.final == nil)
        let raw = Collector<UInt8>()
        c.dataModeHandler = { if case .bytes(let b) = $0 { b.forEach(raw.append) } }
        c.enterDataMode(exitLines: ["NO CARRIER"])
        try c.writeRaw(.init("to server"), timeoutMs: 2000)
        // "\r\nOK\r\n" inside the data is data, not a final result (before "+++" it is no exit line either).
        #expect(raw.wait { String(decoding: $0, as: UTF8.self) == "from server\r\nOK\r\nmore" })
        #expect(try c.exitDataMode() == .commandMode)
        #expect(try c.execute(ATRequest("AT"), timeoutMs: 2000).final == .ok)
        #expect(t.mismatches.isEmpty)
        #expect(t.finished)
    }

    /// What shares a read with the "+QSSLOPEN: 1,0" URC and the data behind it (on a slow host, anything).
    enum BeforeOpenURC: CaseIterable { case nothing, openAnswer, otherSocketsPayload }

    /// Transparent AT+QSSLOPEN: data follows the "+QSSLOPEN: 1,0" URC at once, maybe in the same read, maybe
    /// behind the command's OK or another socket's read in that read.
    @Test(arguments: [(BeforeOpenURC.nothing, 1), (.nothing, 3), (.nothing, 8), (.nothing, 64), (.openAnswer, 8),
                      (.openAnswer, 64), (.openAnswer, 4096), (.otherSocketsPayload, 64), (.otherSocketsPayload, 4096)])
    func rawModeFromAURCHandlerStartsRightBehindItsLine(before: BeforeOpenURC, maxRead: Int) throws {
        let urcAndData = "\r\n+QSSLOPEN: 1,0\r\nDATA\r\n+CREG: 1\r\nOK\r\n\nmore"
        let command: String
        let steps: [ScriptedTransport.Step]
        switch before {
        case .nothing:
            command = ""
            steps = [.answer(.init(urcAndData))]
        case .openAnswer:
            command = "AT+QSSLOPEN=1,1,\"h\",443,1"
            steps = [.expect(.init(command + "\r")), .answer(.init("\r\nOK\r\n" + urcAndData))]
        case .otherSocketsPayload:
            command = "AT+QSSLRECV=0,2,1500"
            steps = [.expect(.init(command + "\r")),
                     .answer(.init("\r\n+QSSLRECV: 1.2.3.4:443,TCP,7\r\nab\r\nOK\r\r\nOK\r\n" + urcAndData))]
        }
        let t = ScriptedTransport(steps, maxRead: maxRead)
        let c = ATChannel(transport: t, options: testOptions())
        defer { c.close() }
        let raw = Collector<UInt8>()
        c.dataModeHandler = { if case .bytes(let b) = $0 { b.forEach(raw.append) } }
        c.urcHandler = { [unowned c] urc in
            if urc == .sslOpen(ssid: 1, code: 0) { c.enterDataMode(exitLines: ["+QSSLURC: \"closed\",1"]) }
        }
        try c.startIO()
        if !command.isEmpty {
            let r = try c.execute(ATRequest(command), timeoutMs: 2000)
            #expect(r.final == .ok)
            if before == .otherSocketsPayload { #expect(r.payloads.first?.data == Array("ab\r\nOK\r".utf8)) }
        }
        let want = [UInt8]("DATA\r\n+CREG: 1\r\nOK\r\n\nmore")
        #expect(raw.wait { $0.count >= want.count })
        #expect(raw.all == want)
        #expect(t.mismatches.isEmpty)
    }

    @Test func openCloseLeavesNoFdOrThread() throws {
        func count(_ dir: String) -> Int { (try? FileManager.default.contentsOfDirectory(atPath: dir).count) ?? -1 }
        // Warm up once so lazily created process-wide resources are not counted.
        do {
            let (c, _) = try scripted([], responder: { _ in .init("\r\nOK\r\n") })
            _ = try c.execute(ATRequest("AT"), timeoutMs: 2000)
            c.close()
        }
        let fdsBefore = count("/proc/self/fd")
        let tasksBefore = count("/proc/self/task")
        for _ in 0..<200 {
            let (c, t) = try scripted([], responder: { _ in .init("\r\nOK\r\n") })
            #expect(try c.execute(ATRequest("AT"), timeoutMs: 2000).final == .ok)
            c.close()
            #expect(t.isClosed)
        }
        let fdsAfter = count("/proc/self/fd")
        let tasksAfter = count("/proc/self/task")
        // A leak would add at least 200 (each channel owns two fds and a thread); other tests run in
        // parallel in this process, so allow their noise.
        #expect(fdsAfter - fdsBefore < 50, "fds \(fdsBefore) -> \(fdsAfter)")
        #expect(tasksAfter - tasksBefore < 50, "tasks \(tasksBefore) -> \(tasksAfter)")
    }

    @Test func closeAsyncFromAHandler() throws {
        let (c, t) = try scripted([.answer(.init("\r\n+PDP DEACT\r\n"))], setup: { c in
            c.urcHandler = { [unowned c] urc in if urc == .pdpDeact { c.closeAsync() } }
        })
        #expect(eventually { c.isClosed && t.isClosed })
        c.close()
    }
}

@Suite("EventQueue")
struct EventQueueTests {
    func readable(_ fd: Int32) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return CPosix.poll(&p, 1, 0) == 1 && p.revents & Int16(POLLIN) != 0
    }

    @Test func fifoAndFdReadableWhileNonEmpty() {
        let q = EventQueue<Int>(capacity: 8)
        defer { q.close() }
        #expect(!readable(q.fd))
        q.push(1)
        q.push(2)
        #expect(readable(q.fd))
        #expect(q.pop() == 1)
        #expect(readable(q.fd))
        #expect(q.pop() == 2)
        #expect(!readable(q.fd))
        #expect(q.pop() == nil)
    }

    @Test func oldestDroppedBeyondCapacity() {
        let q = EventQueue<Int>(capacity: 3)
        defer { q.close() }
        for i in 1...5 { q.push(i) }
        #expect(q.dropped == 2)
        #expect([q.pop(), q.pop(), q.pop(), q.pop()] == [3, 4, 5, nil])
    }

    @Test func popWithTimeoutWaitsAndTimesOut() {
        let q = EventQueue<String>()
        defer { q.close() }
        #expect(q.pop(timeoutMs: 30) == nil)
        let waiter = Background { q.pop(timeoutMs: 5000) }
        usleep(20_000)
        q.push("x")
        #expect(waiter.wait() == .some("x"))
    }

    @Test func closeWakesWaiters() {
        let q = EventQueue<Int>()
        let waiter = Background { q.pop(timeoutMs: 10_000) }
        usleep(20_000)
        q.close()
        #expect(waiter.wait(timeoutMs: 3000) == .some(nil))
        #expect(q.fd == -1)
        q.push(1)
        #expect(q.pop() == nil)
    }
}
