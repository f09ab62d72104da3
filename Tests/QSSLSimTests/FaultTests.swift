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
