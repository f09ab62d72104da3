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
