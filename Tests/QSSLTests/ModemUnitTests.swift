import Foundation
import QSSL
import QSSLCore
import Testing

/// The Modem against a scripted fake module (one layer, deterministic): send back-off and errors, the receive
/// drain, open codes.
@Suite struct ModemUnitTests {
    /// A fake module: fixed answers per command line; data after a "> " prompt has no CR, so it shows up glued
    /// in front of the next command line (matched with hasSuffix).
    static func fake(_ answer: @escaping @Sendable (String) -> String?) -> ScriptedTransport {
        ScriptedTransport([], maxRead: 16, responder: { line in
            if let a = answer(line) { return Array(a.utf8) }
            return Array("\r\nOK\r\n".utf8)
        })
    }

    static func openAnswer(_ line: String) -> String? {
        if line.hasSuffix("AT+QSSLOPEN=1,0,\"example.com\",443,0,90") { return "\r\nOK\r\n\r\n+QSSLOPEN: 1,0\r\n" }
        return nil
    }

    @Test func sendFailBacksOffUntilTheTimeout() throws {
        let attempts = Collector<String>()
        let t = Self.fake { line in
            if line.hasSuffix("AT+QSSLSEND=1,5") {
                attempts.append(line)
                return "\r\n> \r\nSEND FAIL\r\n"
            }
            return Self.openAnswer(line)
        }
        let m = try Modem(transport: t)
        defer { m.close() }
        #expect(try m.openSSL(host: "example.com", port: 443, socket: 1) == 1)
        let t0 = Date()
        #expect(throws: QsslError.timedOut) { try m.send(socket: 1, Array("hello".utf8), timeoutMs: 400) }
        #expect(Date().timeIntervalSince(t0) < 5)
        #expect(attempts.all.count >= 3)
        // The socket is still usable: SEND FAIL is not an error of the connection.
        #expect(m.socketKind(1) == .ssl)
    }

    @Test func sendErrorMeansClosed() throws {
        let t = Self.fake { line in
            if line.hasSuffix("AT+QSSLSEND=1,3") { return "\r\n> \r\nERROR\r\n" }
            return Self.openAnswer(line)
        }
        let m = try Modem(transport: t)
        defer { m.close() }
        _ = try m.openSSL(host: "example.com", port: 443, socket: 1)
        #expect(throws: QsslError.closed) { try m.send(socket: 1, [1, 2, 3]) }
        let before = t.written.count
        #expect(throws: QsslError.closed) { try m.send(socket: 1, [1, 2, 3]) }
        #expect(t.written.count == before)
    }

    @Test func largeSendIsSplitIntoFixedChunks() throws {
        let lengths = Collector<Int>()
        let t = Self.fake { line in
            if let r = line.range(of: "AT+QSSLSEND=1,") {
                lengths.append(Int(line[r.upperBound...]) ?? -1)
                return "\r\n> \r\nSEND OK\r\n"
            }
            return Self.openAnswer(line)
        }
        let m = try Modem(transport: t)
        defer { m.close() }
        _ = try m.openSSL(host: "example.com", port: 443, socket: 1)
        #expect(try m.send(socket: 1, [UInt8](repeating: 0x41, count: 4000)) == 4000)
        #expect(lengths.all == [1460, 1460, 1080])
    }

    @Test func recvDrainsUntilEmptyThenEndOfStream() throws {
        let reads = Collector<String>()
        let t = Self.fake { line in
            if line == "AT+QSSLRECV=0,1,1500" {
                reads.append(line)
                switch reads.all.count {
                case 1: return "\r\n+QSSLRECV: 1.2.3.4:443,TCP,5\r\nab\r\nc\r\nOK\r\n"
                case 2: return "\r\n+QSSLRECV: 1.2.3.4:443,TCP,3\r\nOK\n\r\n\r\nOK\r\n"
                default: return "\r\nOK\r\n"
                }
            }
            return Self.openAnswer(line)
        }
        let m = try Modem(transport: t)
        defer { m.close() }
        _ = try m.openSSL(host: "example.com", port: 443, socket: 1)
        #expect(throws: QsslError.again) { try m.recv(socket: 1, maxCount: 10, timeoutMs: 0) }
        t.inject(Array("\r\n+QSSLURC: \"recv\",0,1\r\n".utf8))
        var got: [UInt8] = []
        while got.count < 8 { got += try m.recv(socket: 1, maxCount: 100, timeoutMs: 3000) }
        #expect(got == Array("ab\r\ncOK\n".utf8))
        #expect(eventually { reads.all.count == 3 })
        #expect(m.events.pop(timeoutMs: 1000) == .dataReady(socket: 1))
        t.inject(Array("\r\n+QSSLURC: \"closed\",1\r\n".utf8))
        #expect(try m.recv(socket: 1, maxCount: 100, timeoutMs: 3000) == [])
        // (A second dataReady may come first: the user emptied the buffer between the two reads.)
        var closed = false
        while !closed, let e = m.events.pop(timeoutMs: 1000) { closed = e == .socketClosed(socket: 1) }
        #expect(closed)
        // A closed socket is released without a command.
        let before = t.written.count
        try m.closeSocket(1)
        #expect(t.written.count == before)
    }

    @Test(arguments: [(-1, QsslError.connectFailed), (-2, .occupied), (-7, .connectFailed)])
    func openCodesMapToErrors(_ code: Int, _ expected: QsslError) throws {
        let t = Self.fake { line in
            if line.hasPrefix("AT+QSSLOPEN=") { return "\r\nOK\r\n\r\n+QSSLOPEN: 4,\(code)\r\n" }
            return nil
        }
        let m = try Modem(transport: t)
        defer { m.close() }
        #expect(throws: expected) { try m.openSSL(host: "example.com", port: 443, socket: 4) }
        #expect(m.socketKind(4) == nil)
    }

    @Test func autoPickSkipsOccupiedIndexes() throws {
        let t = Self.fake { line in
            for i in 0..<3 where line.hasPrefix("AT+QSSLOPEN=\(i),") { return "\r\nOK\r\n\r\n+QSSLOPEN: \(i),-2\r\n" }
            if line.hasPrefix("AT+QSSLOPEN=3,") { return "\r\nOK\r\n\r\n+QSSLOPEN: 3,0\r\n" }
            return nil
        }
        let m = try Modem(transport: t)
        defer { m.close() }
        #expect(try m.openSSL(host: "example.com", port: 443) == 3)
    }

    // MARK: Remote close and the drain

    /// Answers AT+QSSLRECV=0,1,1500 from a list (then empty reads) and counts the reads.
    static func drainFake(_ answers: [String], reads: Collector<String>) -> ScriptedTransport {
        fake { line in
            if line == "AT+QSSLRECV=0,1,1500" {
                reads.append(line)
                let n = reads.all.count
                return n <= answers.count ? answers[n - 1] : "\r\nOK\r\n"
            }
            return openAnswer(line)
        }
    }

    static func readToEnd(_ m: Modem, socket: Int) throws -> [UInt8] {
        var got: [UInt8] = []
        while true {
            let chunk = try m.recv(socket: socket, maxCount: 100, timeoutMs: 3000)
            if chunk.isEmpty { return got }
            got += chunk
        }
    }

    /// "closed" with no "recv" before it, while the module still holds bytes: the library reads until the
    /// module's buffer is empty before it reports end of stream.
    @Test func closedWhileTheModuleStillHoldsData() throws {
        let reads = Collector<String>()
        let t = Self.drainFake(["\r\n+QSSLRECV: 1.2.3.4:443,TCP,5\r\nhello\r\nOK\r\n",
                                "\r\n+QSSLRECV: 1.2.3.4:443,TCP,3\r\nabc\r\nOK\r\n"], reads: reads)
        let m = try Modem(transport: t)
        defer { m.close() }
        _ = try m.openSSL(host: "example.com", port: 443, socket: 1)
        t.inject(Array("\r\n+QSSLURC: \"closed\",1\r\n".utf8))
        #expect(try Self.readToEnd(m, socket: 1) == Array("helloabc".utf8))
        // The empty third read is what proved the module's buffer empty.
        #expect(reads.all.count == 3)
        #expect(try m.recv(socket: 1, maxCount: 10, timeoutMs: 0) == [])
    }

    /// "closed" arrives while a read is in flight (between its payload and its OK): the drain goes on until
    /// the module has nothing left, and only then end of stream.
    @Test func closedInTheMiddleOfADrain() throws {
        let reads = Collector<String>()
        let t = Self.drainFake(["\r\n+QSSLRECV: 1.2.3.4:443,TCP,5\r\nhello\r\n\r\n+QSSLURC: \"closed\",1\r\n\r\nOK\r\n",
                                "\r\n+QSSLRECV: 1.2.3.4:443,TCP,4\r\nwxyz\r\nOK\r\n"], reads: reads)
        let m = try Modem(transport: t)
        defer { m.close() }
        _ = try m.openSSL(host: "example.com", port: 443, socket: 1)
        t.inject(Array("\r\n+QSSLURC: \"recv\",0,1\r\n".utf8))
        #expect(try Self.readToEnd(m, socket: 1) == Array("hellowxyz".utf8))
        #expect(reads.all.count == 3)
        var closed = 0
        while let e = m.events.pop(timeoutMs: 200) { if e == .socketClosed(socket: 1) { closed += 1 } }
        #expect(closed == 1)
    }

    /// After "closed" the module may no longer know the socket: an ERROR to the last read ends the stream with
    /// what was read.
    @Test func closedThenReadErrorEndsTheStream() throws {
        let reads = Collector<String>()
        let t = Self.drainFake(["\r\n+QSSLRECV: 1.2.3.4:443,TCP,2\r\nhi\r\nOK\r\n", "\r\nERROR\r\n"], reads: reads)
        let m = try Modem(transport: t)
        defer { m.close() }
        _ = try m.openSSL(host: "example.com", port: 443, socket: 1)
        t.inject(Array("\r\n+QSSLURC: \"closed\",1\r\n".utf8))
        #expect(try Self.readToEnd(m, socket: 1) == Array("hi".utf8))
        #expect(reads.all.count == 2)
    }

    // MARK: Plain TCP

    @Test func tcpConnectFailIsConnectFailed() throws {
        let t = Self.fake { line in
            if line == "AT+QIOPEN=2,\"TCP\",\"example.com\",80" { return "\r\nOK\r\n\r\n2, CONNECT FAIL\r\n" }
            return nil
        }
        let m = try Modem(transport: t)
        defer { m.close() }
        #expect(throws: QsslError.connectFailed) { try m.openTCP(host: "example.com", port: 80, socket: 2) }
        #expect(m.lastError.code == .connectFailed)
        #expect(m.socketKind(2) == nil)
    }

    /// Both places modules print ALREADY CONNECT: instead of QIOPEN's OK, and after it.
    @Test(arguments: ["\r\nALREADY CONNECT\r\n", "\r\nOK\r\n\r\nALREADY CONNECT\r\n"])
    func tcpAlreadyConnectIsOccupied(answer: String) throws {
        let t = Self.fake { line in
            if line == "AT+QIOPEN=2,\"TCP\",\"example.com\",80" { return answer }
            return nil
        }
        let m = try Modem(transport: t)
        defer { m.close() }
        #expect(throws: QsslError.occupied) { try m.openTCP(host: "example.com", port: 80, socket: 2, timeoutS: 10) }
        #expect(m.socketKind(2) == nil)
    }

    /// +QIRDI's numbers go into AT+QIRD as they came, with 1500-byte reads; "<n>, CLOSED" after data: the data
    /// is read, then end of stream.
    @Test func tcpReadAndRemoteClose() throws {
        let reads = Collector<String>()
        let t = Self.fake { line in
            if line == "AT+QIOPEN=2,\"TCP\",\"example.com\",80" { return "\r\nOK\r\n\r\n2, CONNECT OK\r\n" }
            if line.hasPrefix("AT+QIRD=") {
                reads.append(line)
                return reads.all.count == 1 ? "\r\n+QIRD: 1.2.3.4:80,TCP,6\r\nab\r\ncd\r\nOK\r\n" : "\r\nOK\r\n"
            }
            return nil
        }
        let m = try Modem(transport: t)
        defer { m.close() }
        #expect(try m.openTCP(host: "example.com", port: 80, socket: 2) == 2)
        t.inject(Array("\r\n+QIRDI: 1,2,2\r\n".utf8))
        #expect(reads.wait { $0.count >= 2 })
        #expect(reads.all.allSatisfy { $0 == "AT+QIRD=1,2,2,1500" })
        t.inject(Array("\r\n2, CLOSED\r\n".utf8))
        #expect(try Self.readToEnd(m, socket: 2) == Array("ab\r\ncd".utf8))
        var closed = false
        while !closed, let e = m.events.pop(timeoutMs: 1000) { closed = e == .socketClosed(socket: 2) }
        #expect(closed)
        let before = t.written.count
        try m.closeSocket(2)
        #expect(t.written.count == before)
    }

    // MARK: Transparent mode

    static func transparentOpen(_ line: String) -> String? {
        if line == "AT+QSSLOPEN=1,0,\"example.com\",443,1,90" { return "\r\nOK\r\n\r\n+QSSLOPEN: 1,0\r\n" }
        return nil
    }

    /// RDY in data mode: the bytes before it are data, then `.reset`; the port takes commands again and close
    /// sends nothing.
    @Test func restartInDataMode() throws {
        let t = Self.fake(Self.transparentOpen)
        let m = try Modem(transport: t)
        defer { m.close() }
        _ = try m.openSSL(host: "example.com", port: 443, socket: 1, transparent: true)
        #expect(throws: QsslError.busy) { try m.at("AT") }
        t.inject(Array("abc\r\n".utf8))
        // The CR LF may be held back for a moment (it could begin the module's exit line).
        var got = try m.recv(socket: 1, maxCount: 100, timeoutMs: 2000)
        t.inject(Array("\r\nRDY\r\n\r\n+CFUN: 1\r\n".utf8))
        var reset = false
        while !reset, let e = m.events.pop(timeoutMs: 2000) { reset = e == .moduleReset }
        #expect(reset)
        var failure: QsslError? = nil
        while failure == nil {
            do throws(QsslError) { got += try m.recv(socket: 1, maxCount: 100, timeoutMs: 1000) } catch { failure = error }
        }
        #expect(got == Array("abc\r\n".utf8))
        #expect(failure == .reset)
        _ = try m.at("AT")
        let before = t.written.count
        try m.closeSocket(1)
        #expect(t.written.count == before)
    }

    /// An exit line with data behind it is data; the socket stays in data mode.
    @Test func exitTextFollowedByDataIsData() throws {
        let t = Self.fake(Self.transparentOpen)
        let m = try Modem(transport: t)
        defer { m.close() }
        _ = try m.openSSL(host: "example.com", port: 443, socket: 1, transparent: true)
        let text = Array("x\r\n+QSSLURC: \"closed\",1\r\ny\r\n+PDP DEACT\r\n!".utf8)
        t.inject(text)
        #expect(try modemReadAll(m, socket: 1, count: text.count, timeoutMs: 3000) == text)
        Thread.sleep(forTimeInterval: 0.4)
        #expect(throws: QsslError.busy) { try m.at("AT") }
        #expect(!m.isClosed)
        while let e = m.events.pop(timeoutMs: 0) { #expect(e == .dataReady(socket: 1)) }
    }

    /// NO CARRIER (newer firmware) and CLOSED (M-series TCP style) end data mode like the note's URC: end of
    /// stream, a closed event, the port takes commands, and close sends neither "+++" nor AT+QSSLCLOSE.
    @Test(arguments: ["NO CARRIER", "CLOSED"])
    func otherExitLinesEndTheStream(line: String) throws {
        let t = Self.fake(Self.transparentOpen)
        let m = try Modem(transport: t)
        defer { m.close() }
        _ = try m.openSSL(host: "example.com", port: 443, socket: 1, transparent: true)
        let before = t.written.count
        t.inject(Array(("tail\r\n" + line + "\r\n").utf8))
        #expect(try modemReadAll(m, socket: 1, count: 4, timeoutMs: 3000) == Array("tail".utf8))
        #expect(try m.recv(socket: 1, maxCount: 10, timeoutMs: 3000) == [])
        var closed = false
        while !closed, let e = m.events.pop(timeoutMs: 2000) { closed = e == .socketClosed(socket: 1) }
        #expect(closed)
        #expect(throws: QsslError.closed) { try m.send(socket: 1, Array("x".utf8)) }
        _ = try m.at("AT")
        try m.closeSocket(1)
        let after = String(decoding: t.written[before...], as: UTF8.self)
        #expect(!after.contains("+++") && !after.contains("QSSLCLOSE"), "\(after)")
        #expect(m.socketKind(1) == nil)
    }

    /// "+++" that brings no OK is never followed by a command (the module would forward it to the peer): close
    /// retries the escape, then reports `.timedOut` and keeps the socket in data mode. A late OK puts the
    /// module in command mode, and close works then.
    @Test func anUnansweredEscapeIsNeverFollowedByACommand() throws {
        let t = Self.fake(Self.transparentOpen)
        var o = ModemOptions()
        o.escapeAttempts = 2
        let m = try Modem(transport: t, options: o)
        defer { m.close() }
        _ = try m.openSSL(host: "example.com", port: 443, socket: 1, transparent: true)
        let before = t.written.count
        #expect(throws: QsslError.timedOut) { try m.closeSocket(1) }
        #expect(m.lastError.message.contains("still in data mode"))
        let after = String(decoding: t.written[before...], as: UTF8.self)
        #expect(after == "++++++", "\(after)")
        #expect(m.socketKind(1) == .ssl)
        #expect(throws: QsslError.busy) { try m.at("AT") }
        t.inject(Array("\r\nOK\r\n".utf8))
        #expect(eventually { (try? m.at("AT")) != nil })
        try m.closeSocket(1)
        #expect(String(decoding: t.written[before...], as: UTF8.self).hasSuffix("AT+QSSLCLOSE=1\r"))
        #expect(m.socketKind(1) == nil)
    }

    // MARK: Supervisor

    /// The supervisor waits its interval between checks: with 300 ms and three failures before a reboot, the
    /// reboot command cannot come sooner than two intervals after the first AT+QIACT.
    @Test func supervisorWaitsBetweenChecks() throws {
        let sent = Collector<(Date, String)>()
        let t = ScriptedTransport([], maxRead: 32, responder: { line in
            sent.append((Date(), line))
            if line == "AT+QIACT" { return Array("\r\nERROR\r\n".utf8) }
            return Array("\r\nOK\r\n".utf8)
        })
        let m = try Modem(transport: t)
        defer { m.close() }
        var o = SupervisorOptions()
        o.intervalMs = 300
        o.attemptsBeforeReboot = 3
        o.rebootWaitMs = 100
        try m.startSupervisor(PDPConfig(apn: "CMNET"), options: o)
        #expect(sent.wait(timeoutMs: 10_000) { $0.contains { $0.1 == "AT+CFUN=1,1" } })
        m.stopSupervisor()
        let all = sent.all
        let qiact = all.filter { $0.1 == "AT+QIACT" }.map(\.0)
        let reboot = try #require(all.first { $0.1 == "AT+CFUN=1,1" }).0
        #expect(qiact.count >= 3)
        for i in 1..<3 { #expect(qiact[i].timeIntervalSince(qiact[i - 1]) >= 0.29, "gap \(i)") }
        #expect(reboot.timeIntervalSince(qiact[0]) >= 0.59)
    }

    @Test func noFreeIndex() throws {
        let t = Self.fake { line in
            if line.hasPrefix("AT+QSSLOPEN=") { return "\r\nOK\r\n\r\n+QSSLOPEN: \(line.dropFirst(12).prefix(1)),-2\r\n" }
            return nil
        }
        let m = try Modem(transport: t)
        defer { m.close() }
        #expect(throws: QsslError.noSocket) { try m.openSSL(host: "example.com", port: 443) }
    }
}
