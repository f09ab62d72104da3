import Foundation
import Glibc
import QSSLCore
import QSSLSim
import Testing

/// Sleeps until `date` (for guard times, where the time itself is the subject).
func sleepUntil(_ date: Date) {
    let s = date.timeIntervalSinceNow
    if s > 0 { Thread.sleep(forTimeInterval: s) }
}

/// Seconds `count` bytes take on a UART at `baud` (8N1: 10 bits a byte).
func lineSeconds(_ count: Int, baud: Int) -> Double { Double(count) * 10 / Double(baud) }

/// The host->module direction as a UART: bytes cross at baud/10 per second, and the "+++" guard times are
/// measured when the bytes arrive at the module, not when the host's write() returned.
@Suite struct LineTests {
    /// Transparent mode at 115200: write() returns while the pty still holds a second or more of line time,
    /// so "+++" one second later follows the data almost at once and is data; a second after the line is
    /// empty it is the escape.
    @Test func escapeGuardCountsFromArrivalOnTheLine() throws {
        let certs = try TestCerts.get()
        let server = try tlsServer(certs)
        defer { server.stop() }
        let baud = 115_200
        let m = try startSim { $0.baud = baud }
        defer { m.stop() }
        let p = try attachedPort(m)
        #expect(try sslOpen(p, ssid: 0, port: server.port, mode: 1) == 0)
        let data = (0..<60_000).map { UInt8(0x30 + $0 % 64) }  // '0'...'o': no '+'
        let start = Date()
        try p.write(data)
        let written = Date()
        // The module takes the bytes at the line's pace, so write() blocked: only the pty's buffer (about 20 KB,
        // under 2 s of line time) can be ahead of the line.
        #expect(written.timeIntervalSince(start) >= lineSeconds(data.count, baud: baud) - 2.5)
        sleepUntil(written.addingTimeInterval(1.0))  // the host's guard, counted from write()'s return
        try p.write("+++")
        // Everything comes back, "+++" included: it reached the peer as data.
        let all = data + Array("+++".utf8)
        try p.need(all.count, timeout: 30)
        #expect(p.buf == all)
        p.buf.removeAll()
        // And no OK follows, even after the guard time.
        Thread.sleep(forTimeInterval: 1.5)
        while p.fill(timeout: 0.05) {}
        #expect(String(decoding: p.buf, as: UTF8.self) == "")
        // The line has been empty for more than a second now: "+++" is the escape.
        sleepUntil(start.addingTimeInterval(lineSeconds(all.count, baud: baud) + 1.3))
        try p.write("+++")
        #expect(try p.response().final == "OK")
        #expect(try p.ok("AT+QSSLCLOSE=0", "0, CLOSE OK").isEmpty)
    }

    /// The same rule in an AT+QSECWRITE upload, at 9600 baud: 3000 bytes fit in the pty at once but need
    /// 3.1 s on the line.
    @Test func uploadEscapeGuardCountsFromArrivalOnTheLine() throws {
        let baud = 9600
        let m = try startSim { $0.baud = baud }
        defer { m.stop() }
        let p = try Port(m.slavePath)
        try p.ok("ATE0")
        #expect(try p.command("AT+QSECWRITE=\"RAM:big\",10000,100").final == "CONNECT")
        let data = (0..<3000).map { UInt8(0x41 + $0 % 26) }
        let start = Date()
        try p.write(data)
        let written = Date()
        sleepUntil(written.addingTimeInterval(1.0))
        try p.write("+++")
        let sent = data + Array("+++".utf8)
        // A second past the line's end, plus margin for a reader slowed by a busy machine (its clock only lags).
        sleepUntil(start.addingTimeInterval(lineSeconds(sent.count, baud: baud) + 2.0))
        try p.write("+++")
        let r = try p.response()
        #expect(r.final == "OK")
        #expect(r.lines == ["+QSECWRITE: \(sent.count),\(hexString(UploadChecksum.of(sent)))"])
    }

    /// A 1460-byte payload at 9600 baud needs 1.52 s to reach the module, though write() returns at once.
    @Test func inputCrossesTheLineAtTheBaudRate() throws {
        let certs = try TestCerts.get()
        let server = try tlsServer(certs)
        defer { server.stop() }
        let baud = 9600
        let m = try startSim { $0.baud = baud }
        defer { m.stop() }
        let p = try attachedPort(m)
        #expect(try sslOpen(p, ssid: 0, port: server.port) == 0)
        let payload = (0..<1460).map { UInt8(truncatingIfNeeded: $0 &* 17 &+ 5) }
        #expect(try p.command("AT+QSSLSEND=0,1460").final == "> ")
        let start = Date()
        try p.write(payload)
        #expect(try p.response().final == "SEND OK")
        let elapsed = Date().timeIntervalSince(start)
        #expect(elapsed >= lineSeconds(payload.count, baud: baud) - 0.2, "1460 bytes in only \(elapsed) s")
        #expect(try p.sslRecvAll(0, count: payload.count) == payload)
    }

    /// Without a baud rate the guard is still exact: 0.5 s of silence is not enough before "+++", a byte
    /// 0.3 s after it cancels it, and "+++" between two full seconds of silence is the escape.
    @Test func escapeNeedsTheWholeGuardOnBothSides() throws {
        let certs = try TestCerts.get()
        let server = try tlsServer(certs)
        defer { server.stop() }
        let m = try startSim()
        defer { m.stop() }
        let p = try attachedPort(m)
        #expect(try sslOpen(p, ssid: 0, port: server.port, mode: 1) == 0)
        func echoed(_ text: String) throws {
            try p.need(text.utf8.count, timeout: 10)
            #expect(String(decoding: p.buf, as: UTF8.self) == text)
            p.buf.removeAll()
        }
        try p.write("x")
        try echoed("x")
        Thread.sleep(forTimeInterval: 0.5)
        try p.write("+++")
        try echoed("+++")
        Thread.sleep(forTimeInterval: 1.5)
        try p.write("+++")
        Thread.sleep(forTimeInterval: 0.3)
        try p.write("y")
        try echoed("+++y")
        Thread.sleep(forTimeInterval: 1.5)
        try p.write("+++")
        #expect(try p.response().final == "OK")
        #expect(try p.ok("AT+QSSLCLOSE=0", "0, CLOSE OK").isEmpty)
    }
}
