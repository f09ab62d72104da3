import Foundation
import Glibc
import QSSLSim
import Testing

/// Socket rules that only show on a connected socket: length limits, URC timing, partial reads, state lines,
/// handshake timeouts.
@Suite struct SocketTests {
    @Test func sendAndRecvLengthLimitsOnAConnectedSocket() throws {
        let certs = try TestCerts.get()
        let server = try tlsServer(certs)
        defer { server.stop() }
        let m = try startSim()
        defer { m.stop() }
        let p = try attachedPort(m)
        #expect(try sslOpen(p, ssid: 0, port: server.port) == 0)
        #expect(try p.command("AT+QSSLSEND=0,1461").final == "ERROR")
        let payload = (0..<1460).map { UInt8(truncatingIfNeeded: $0 &* 11 &+ 3) }
        #expect(try p.command("AT+QSSLSEND=0,1460").final == "> ")
        try p.write(payload)
        #expect(try p.response().final == "SEND OK")
        // With the echo waiting in the module, an ERROR can only come from the argument checks.
        try waitBuffered(m, socket: 0, count: payload.count)
        #expect(try p.command("AT+QSSLRECV=0,0,1501").final == "ERROR")
        #expect(try p.command("AT+QSSLRECV=2,0,1500").final == "ERROR")  // <cid> is 0 or 1
        #expect(m.bufferedBytes(socket: 0) == payload.count)
        #expect(try p.sslRecv(0, max: 1500) == payload)
    }

    @Test func recvURCOnlyWhenTheBufferBecomesNonEmpty() throws {
        let certs = try TestCerts.get()
        let server = try tlsServer(certs)
        defer { server.stop() }
        let m = try startSim()
        defer { m.stop() }
        let p = try attachedPort(m)
        #expect(try sslOpen(p, ssid: 1, port: server.port) == 0)
        func recvURCs() -> [String] { p.urcs.filter { $0.hasPrefix("+QSSLURC: \"recv\"") } }
        #expect(try p.send("AT+QSSLSEND", 1, Array("first".utf8)) == "SEND OK")
        try waitBuffered(m, socket: 1, count: 5)
        #expect(try p.send("AT+QSSLSEND", 1, Array("second".utf8)) == "SEND OK")
        try waitBuffered(m, socket: 1, count: 11)
        // A URC is queued before the data it announces shows in bufferedBytes, so one more round trip
        // brings every URC the two arrivals caused.
        try p.ok("AT")
        #expect(recvURCs() == ["+QSSLURC: \"recv\",0,1"])
        #expect(try p.sslRecv(1) == Array("firstsecond".utf8))
        #expect(try p.sslRecv(1).isEmpty)
        #expect(try p.send("AT+QSSLSEND", 1, Array("third".utf8)) == "SEND OK")
        try waitBuffered(m, socket: 1, count: 5)
        try p.ok("AT")
        #expect(recvURCs().count == 2)
        #expect(try p.sslRecv(1) == Array("third".utf8))
    }

    @Test func recvShorterThanBufferedLeavesTheRest() throws {
        let certs = try TestCerts.get()
        let server = try tlsServer(certs)
        defer { server.stop() }
        let m = try startSim()
        defer { m.stop() }
        let p = try attachedPort(m)
        #expect(try sslOpen(p, ssid: 2, port: server.port) == 0)
        let payload = (0..<100).map { UInt8(0x20 + $0) }
        #expect(try p.send("AT+QSSLSEND", 2, payload) == "SEND OK")
        try waitBuffered(m, socket: 2, count: payload.count)
        try p.ok("AT")  // takes the "recv" URC off the line, so the next line is the header
        try p.write("AT+QSSLRECV=0,2,30\r")
        #expect(try p.token() == .line("+QSSLRECV: 127.0.0.1:\(server.port),TCP,30"))
        try p.need(30, timeout: 10)
        #expect(Array(p.buf.prefix(30)) == Array(payload[0..<30]))
        p.buf.removeFirst(30)
        #expect(try p.response().final == "OK")
        #expect(m.bufferedBytes(socket: 2) == 70)
        #expect(try p.recv("AT+QSSLRECV=0,2,1", header: "+QSSLRECV:") == [payload[30]])
        #expect(try p.sslRecv(2) == Array(payload[31...]))
        #expect(try p.sslRecv(2).isEmpty)
    }

    @Test func handshakeThatNeverCompletesTimesOut() throws {
        let (fd, port) = try silentListener()
        defer { close(fd) }
        let certs = try TestCerts.get()
        let server = try tlsServer(certs)
        defer { server.stop() }
        let m = try startSim()
        defer { m.stop() }
        let p = try attachedPort(m)
        let start = Date()
        try p.ok("AT+QSSLOPEN=3,0,\"127.0.0.1\",\(port),0,10")
        let during = try p.ok("AT+QSSLSTATE")
        #expect(during.first == "+QSSLSTATE: \"IP PROCESSING\"")
        #expect(during.contains("+QSSLSTATE: 3,\"TCP\",\"127.0.0.1\",\(port),\"CONNECTING\",1"))
        #expect(try p.waitURC("+QSSLOPEN: 3,", timeout: 60) == "+QSSLOPEN: 3,-1")
        #expect(Date().timeIntervalSince(start) >= 9.5)
        // The TCP connection was made and a ClientHello (a TLS handshake record, 0x16) was sent: the -1 is
        // the handshake's timeout, not a refused connection.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        let conn = accept(fd, nil, nil)
        #expect(conn >= 0)
        if conn >= 0 {
            defer { close(conn) }
            var pfd = pollfd(fd: conn, events: Int16(POLLIN), revents: 0)
            _ = poll(&pfd, 1, 5000)
            var first: UInt8 = 0
            #expect(read(conn, &first, 1) == 1)
            #expect(first == 0x16)
        }
        // The index is free again.
        #expect(try p.ok("AT+QSSLSTATE").contains("+QSSLSTATE: 3,\"TCP\",\"\",0,\"INITIAL\",0"))
        #expect(try sslOpen(p, ssid: 3, port: server.port) == 0)
    }

    /// The note: `+QSSLSTATE: <state>`, then `+QSSLSTATE: <socketindex>,<connectiontype>,<ipadd>,<port>,
    /// <socketstatus>,<sslconnectionflag>` for each index 0-5.
    @Test func stateLinesFollowTheNote() throws {
        let certs = try TestCerts.get()
        let tls = try tlsServer(certs)
        defer { tls.stop() }
        let tcp = try TestTLSServer(plainTCPMode: .echo)
        defer { tcp.stop() }
        let m = try startSim()
        defer { m.stop() }
        let p = try attachedPort(m)  // AT+QILOCIP ran: "IP STATUS"
        func checkShape(_ lines: [String]) {
            #expect(lines.count == 7)
            for (i, l) in lines.dropFirst().enumerated() {
                let f = stateFields(l)
                #expect(f.count == 6, "\(l)")
                guard f.count == 6 else { continue }
                #expect(f[0] == "\(i)")
                #expect(f[1] == "\"TCP\"")
                #expect(f[2].hasPrefix("\"") && f[2].hasSuffix("\""))
                #expect(Int(f[3]) != nil)
                #expect(["\"INITIAL\"", "\"CONNECTING\"", "\"CONNECTED\"", "\"REMOTE CLOSING\"", "\"CLOSING\"",
                         "\"CLOSED\""].contains(f[4]))
                #expect(f[5] == "0" || f[5] == "1")
            }
        }
        let idle = try p.ok("AT+QSSLSTATE")
        checkShape(idle)
        #expect(idle.first == "+QSSLSTATE: \"IP STATUS\"")
        #expect(idle.dropFirst().allSatisfy { $0.hasSuffix(",\"INITIAL\",0") })

        #expect(try sslOpen(p, ssid: 2, port: tls.port) == 0)
        try p.ok("AT+QIOPEN=4,\"TCP\",\"127.0.0.1\",\(tcp.port)")
        #expect(try p.waitURC("4, CONNECT") == "4, CONNECT OK")
        let busy = try p.ok("AT+QSSLSTATE")
        checkShape(busy)
        #expect(busy.first == "+QSSLSTATE: \"IP PROCESSING\"")
        if busy.count == 7 {
            #expect(busy[3] == "+QSSLSTATE: 2,\"TCP\",\"127.0.0.1\",\(tls.port),\"CONNECTED\",1")
            #expect(busy[5] == "+QSSLSTATE: 4,\"TCP\",\"127.0.0.1\",\(tcp.port),\"CONNECTED\",0")
            for i in [1, 2, 4, 6] { #expect(busy[i].hasSuffix(",\"INITIAL\",0")) }
        }

        try p.ok("AT+QSSLCLOSE=2", "2, CLOSE OK")
        try p.ok("AT+QICLOSE=4", "4, CLOSE OK")
        #expect(try p.ok("AT+QSSLSTATE") == idle)
    }

    @Test func ctrlZPayloadOver1460IsRefused() throws {
        let certs = try TestCerts.get()
        let server = try tlsServer(certs)
        defer { server.stop() }
        let m = try startSim()
        defer { m.stop() }
        let p = try attachedPort(m)
        #expect(try sslOpen(p, ssid: 0, port: server.port) == 0)
        #expect(try p.command("AT+QSSLSEND=0").final == "> ")
        try p.write(Array(repeating: 0x41, count: 1461) + [0x1A])
        #expect(try p.response().final == "ERROR")
        // 1460 bytes is the most one Ctrl+Z send takes. None of the refused bytes went out: the echo server
        // returns this payload alone (refused bytes would come back first, in order).
        let payload = (0..<1460).map { UInt8(0x30 + $0 % 64) }
        #expect(try p.command("AT+QSSLSEND=0").final == "> ")
        try p.write(payload + [0x1A])
        #expect(try p.response().final == "SEND OK")
        #expect(try p.sslRecvAll(0, count: payload.count) == payload)
    }
}

/// Splits a `+QSSLSTATE:` socket line at commas outside quotes; quotes stay on the fields.
func stateFields(_ line: String) -> [String] {
    guard line.hasPrefix("+QSSLSTATE: ") else { return [] }
    var out: [String] = []
    var cur = ""
    var quoted = false
    for ch in line.dropFirst("+QSSLSTATE: ".count) {
        if ch == "\"" { quoted.toggle() }
        if ch == "," && !quoted { out.append(cur); cur = "" } else { cur.append(ch) }
    }
    out.append(cur)
    return out
}

/// What the SSL context's version and cipher settings do in a real handshake.
@Suite struct TLSParameterTests {
    /// Each server accepts exactly one TLS version; <sslversion> 1-3 pin one version, 4 is TLS 1.0-1.2.
    @Test func sslVersionPinsTheProtocol() throws {
        let certs = try TestCerts.get()
        let m = try startSim()
        defer { m.stop() }
        let p = try attachedPort(m)
        let table: [(SimTLSVersion, [Int])] = [
            (.tls10, [0, -1, -1, 0]),
            (.tls11, [-1, 0, -1, 0]),
            (.tls12, [-1, -1, 0, 0]),
            (.tls13, [-1, -1, -1, -1]),  // an M66 has no TLS 1.3
        ]
        for (version, codes) in table {
            let server = try tlsServer(certs, minimum: version, maximum: version)
            defer { server.stop() }
            for (i, want) in codes.enumerated() {
                try p.ok("AT+QSSLCFG=\"sslversion\",0,\(i + 1)")
                let before = server.acceptedConnections
                let got = try sslOpen(p, ssid: 0, port: server.port)
                #expect(got == want, "server TLS \(version.rawValue), sslversion \(i + 1)")
                // Every refusal happened in the handshake, after the TCP connection.
                #expect(server.acceptedConnections == before + 1)
                if got == 0 {
                    #expect(try p.send("AT+QSSLSEND", 0, Array("v\(i + 1)".utf8)) == "SEND OK")
                    #expect(try p.sslRecvAll(0, count: 2) == Array("v\(i + 1)".utf8))
                    try p.ok("AT+QSSLCLOSE=0", "0, CLOSE OK")
                }
            }
        }
    }

    /// Servers that offer one suite each: a context limited to that suite connects (so it is the suite in
    /// use), one limited to another suite connects at TCP level and fails in the handshake.
    @Test func cipherSuiteDecidesTheHandshake() throws {
        let certs = try TestCerts.get()
        let m = try startSim()
        defer { m.stop() }
        let p = try attachedPort(m)
        try p.ok("AT+QSSLCFG=\"sslversion\",0,3")
        for (ciphers, good, bad) in [("AES256-SHA", "0X0035", "0X002F"), ("AES128-SHA", "0X002F", "0X0035")] {
            let server = try tlsServer(certs, maximum: .tls12, ciphers: ciphers)
            defer { server.stop() }
            try p.ok("AT+QSSLCFG=\"ciphersuite\",0,\"\(bad)\"")
            var before = server.acceptedConnections
            #expect(try sslOpen(p, ssid: 0, port: server.port) == -1, "\(bad) against \(ciphers)")
            #expect(server.acceptedConnections == before + 1)
            for list in [good, "0X002F,0X0035"] {
                try p.ok("AT+QSSLCFG=\"ciphersuite\",0,\"\(list)\"")
                before = server.acceptedConnections
                #expect(try sslOpen(p, ssid: 0, port: server.port) == 0, "\(list) against \(ciphers)")
                #expect(server.acceptedConnections == before + 1)
                #expect(try p.send("AT+QSSLSEND", 0, Array("c".utf8)) == "SEND OK")
                #expect(try p.sslRecvAll(0, count: 1) == Array("c".utf8))
                try p.ok("AT+QSSLCLOSE=0", "0, CLOSE OK")
            }
        }
    }
}

/// Without SimOptions.allowNonLoopback the module refuses any destination outside 127.0.0.0/8, even one
/// it could reach.
@Suite struct LoopbackPolicyTests {
    @Test func nonLoopbackDestinationNeedsTheOption() throws {
        let addr = try firstNonLoopbackIPv4()
        let certs = try TestCerts.get()
        let server = try tlsServer(certs, host: addr)
        defer { server.stop() }
        for allow in [false, true] {
            let m = try startSim { $0.allowNonLoopback = allow }
            defer { m.stop() }
            let p = try attachedPort(m)
            let before = server.acceptedConnections
            #expect(try sslOpen(p, ssid: 0, port: server.port, host: addr) == (allow ? 0 : -1), "allow: \(allow)")
            // Refused before any packet left: the server never saw a connection.
            #expect(server.acceptedConnections == before + (allow ? 1 : 0))
            try p.ok("AT+QIOPEN=1,\"TCP\",\"\(addr)\",\(server.port)")
            #expect(try p.waitURC("1, CONNECT") == (allow ? "1, CONNECT OK" : "1, CONNECT FAIL"))
            if allow {
                #expect(try p.send("AT+QSSLSEND", 0, Array("far".utf8)) == "SEND OK")
                #expect(try p.sslRecvAll(0, count: 3) == Array("far".utf8))
            }
        }
    }
}
