import Foundation
import Glibc
import QSSLSim
import Testing

/// How the end of a transparent connection is printed (SimOptions.closeLine).
@Suite struct CloseLineTests {
    static let greeting = Array("hello from the peer".utf8)

    /// The peer sends a greeting and closes a transparent connection: the port carries the greeting, then
    /// exactly `expected` as a line, then the module is in command mode with the index free.
    func peerClosesTransparent(_ configure: @escaping (inout SimOptions) -> Void, expected: String) throws {
        let certs = try TestCerts.get()
        let server = try tlsServer(certs, mode: .sendThenClose(CloseLineTests.greeting))
        defer { server.stop() }
        let m = try startSim(configure)
        defer { m.stop() }
        let p = try attachedPort(m)
        #expect(try sslOpen(p, ssid: 2, port: server.port, mode: 1) == 0)
        let closed = CloseLineTests.greeting + Array("\r\n\(expected)\r\n".utf8)
        try p.need(closed.count, timeout: 15)
        // The next command's OK follows the close line directly: nothing else was printed.
        try p.write("AT\r")
        let all = closed + Array("\r\nOK\r\n".utf8)
        try p.need(all.count, timeout: 10)
        #expect(String(decoding: p.buf, as: UTF8.self) == String(decoding: all, as: UTF8.self))
        p.buf.removeAll()
        #expect(try p.ok("AT+QSSLSTATE").contains("+QSSLSTATE: 2,\"TCP\",\"\",0,\"INITIAL\",0"))
        #expect(p.urcs.isEmpty)
    }

    @Test func defaultIsTheURC() throws {
        try peerClosesTransparent({ _ in }, expected: "+QSSLURC: \"closed\",2")
    }

    @Test(arguments: CloseLine.allCases)
    func eachCloseLine(_ line: CloseLine) throws {
        let expected: String
        switch line {
        case .urc: expected = "+QSSLURC: \"closed\",2"
        case .closed: expected = "CLOSED"
        case .noCarrier: expected = "NO CARRIER"
        }
        try peerClosesTransparent({ $0.closeLine = line }, expected: expected)
    }

    /// A non-transparent socket reports its end with the URC whatever closeLine says.
    @Test(arguments: [CloseLine.closed, .noCarrier])
    func nonTransparentSocketKeepsTheURC(_ line: CloseLine) throws {
        let certs = try TestCerts.get()
        let server = try tlsServer(certs, mode: .sendThenClose(CloseLineTests.greeting))
        defer { server.stop() }
        let m = try startSim { $0.closeLine = line }
        defer { m.stop() }
        let p = try attachedPort(m)
        #expect(try sslOpen(p, ssid: 2, port: server.port) == 0)
        #expect(try p.sslRecvAll(2, count: CloseLineTests.greeting.count) == CloseLineTests.greeting)
        #expect(try p.waitURC("+QSSLURC: \"closed\"") == "+QSSLURC: \"closed\",2")
        #expect(try p.ok("AT").isEmpty)
        #expect(!p.urcs.contains { $0 == "CLOSED" || $0 == "NO CARRIER" })
        #expect(String(decoding: p.buf, as: UTF8.self) == "")
    }
}

/// Faults for the driver's fault matrix: a command answered by a reboot, a command never answered.
@Suite struct UnansweredCommandTests {
    static let startUp = "\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\nCall Ready\r\n\r\nSMS Ready\r\n"

    /// Writes `text` and waits until the port holds exactly `expected` (more bytes fail the comparison).
    func exchange(_ p: Port, _ text: String, _ expected: String) throws {
        try p.write(text)
        try p.need(expected.utf8.count, timeout: 10)
        #expect(String(decoding: p.buf, as: UTF8.self) == expected)
        p.buf.removeAll()
    }

    @Test func resetInsteadOfAnswer() throws {
        let m = try startSim { $0.resetInsteadOfAnswer = 4 }
        defer { m.stop() }
        let p = try Port(m.slavePath)
        try p.ok("ATE0")                                 // 1
        _ = try upload(p, name: "RAM:x", [1, 2, 3])      // 2
        _ = try upload(p, name: "NVRAM:CA0", [1, 2, 3])  // 3
        #expect(p.urcs.isEmpty)
        // 4: no OK, only the start-up lines of a reboot.
        try exchange(p, "AT+QSSLCFG=\"sslversion\",1,1\r", UnansweredCommandTests.startUp)
        // Echo is on again, the RAM file and the setting are gone, NVRAM stays.
        try exchange(p, "ATE0\r", "ATE0\r\r\nOK\r\n")
        #expect(try p.command("AT+QSECREAD=\"RAM:x\"").final.hasPrefix("+CME ERROR"))
        #expect(try p.ok("AT+QSECREAD=\"NVRAM:CA0\"").count == 1)
        #expect(try p.ok("AT+QSSLCFG=\"sslversion\",1") == ["+QSSLCFG: \"sslversion\",4"])
        // Only once: later commands are answered.
        for _ in 0..<8 { try p.ok("AT") }
        #expect(p.urcs.isEmpty)
    }

    @Test func unansweredCommandIsSwallowed() throws {
        let m = try startSim { $0.unanswered = 2 }
        defer { m.stop() }
        let p = try Port(m.slavePath)
        try exchange(p, "AT+GSN\r", "AT+GSN\r\r\n866000000000001\r\n\r\nOK\r\n")
        // 2 is echoed and never answered, nor carried out (echo stays on); 3 is answered next.
        try exchange(p, "ATE0\rAT+GMM\r", "ATE0\rAT+GMM\r\r\nQuectel_M66\r\n\r\nOK\r\n")
        try exchange(p, "ATE0\r", "ATE0\r\r\nOK\r\n")
        #expect(try p.ok("AT+GMM") == ["Quectel_M66"])
        #expect(p.urcs.isEmpty)
    }
}
