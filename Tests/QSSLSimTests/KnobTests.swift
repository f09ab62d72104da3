import Foundation
import QSSLCore
import QSSLSim
import Testing

/// Every SimOptions knob, exercised at least once.
@Suite struct KnobTests {
    @Test func fragmentedWritesAndByteLog() throws {
        let dir = try makeTempDir("log")
        let logPath = dir + "/sim.log"
        let certs = try TestCerts.get()
        let server = try tlsServer(certs)
        defer { server.stop() }
        let m = try startSim {
            $0.fragmentWrites = true
            $0.logPath = logPath
        }
        let p = try attachedPort(m)
        #expect(try p.ok("ATI") == ["Quectel_Ltd", "Quectel_M66", "Revision: M66FAR01A12"])
        #expect(try sslOpen(p, ssid: 4, port: server.port) == 0)
        let payload = (0..<1460).map { UInt8(truncatingIfNeeded: $0 * 7) }
        #expect(try p.send("AT+QSSLSEND", 4, payload) == "SEND OK")
        #expect(try p.sslRecvAll(4, count: payload.count) == payload)
        m.stop()
        let log = try SimByteLog.read(path: logPath)
        let host = log.filter(\.fromHost).flatMap(\.bytes)
        let outgoing = log.filter { !$0.fromHost }
        #expect(host.firstRange(of: Array("ATI\r".utf8)) != nil)
        // The payload reached the module, binary bytes and all; everything the module wrote went in 1-7 bytes.
        #expect(host.firstRange(of: payload) != nil)
        #expect(!outgoing.isEmpty)
        #expect(outgoing.allSatisfy { (1...7).contains($0.bytes.count) })
        #expect(zip(log, log.dropFirst()).allSatisfy { $0.seconds <= $1.seconds })
    }

    @Test func noiseURCsNeverInsideAPayload() throws {
        let certs = try TestCerts.get()
        let server = try tlsServer(certs)
        defer { server.stop() }
        let m = try startSim { $0.noiseURCProbability = 1.0 }
        defer { m.stop() }
        let p = try attachedPort(m)
        #expect(p.urcs.count >= 5)  // one after every final result read so far
        #expect(try sslOpen(p, ssid: 0, port: server.port) == 0)
        let payload = Array("\r\nOK\r\n+CREG: 1\r\n".utf8) + Array(repeating: 0x55, count: 1000)
        #expect(try p.send("AT+QSSLSEND", 0, payload) == "SEND OK")
        #expect(try p.sslRecvAll(0, count: payload.count) == payload)
        #expect(p.urcs.contains { $0.hasPrefix("+CREG:") || $0.hasPrefix("+CGREG:") || $0.hasPrefix("UNDER_VOLTAGE")
            || $0.hasPrefix("+CMTI:") || $0.hasPrefix("+CSQN:") })
    }

    @Test func sendFail() throws {
        let certs = try TestCerts.get()
        let server = try tlsServer(certs)
        defer { server.stop() }
        let tcp = try TestTLSServer(plainTCPMode: .echo)
        defer { tcp.stop() }
        let m = try startSim { $0.sendFailProbability = 1.0 }
        defer { m.stop() }
        let p = try attachedPort(m)
        #expect(try sslOpen(p, ssid: 0, port: server.port) == 0)
        #expect(try p.send("AT+QSSLSEND", 0, Array("lost".utf8)) == "SEND FAIL")
        try p.ok("AT+QIOPEN=1,\"TCP\",\"127.0.0.1\",\(tcp.port)")
        #expect(try p.waitURC("1, CONNECT") == "1, CONNECT OK")
        #expect(try p.send("AT+QISEND", 1, Array("lost".utf8)) == "SEND FAIL")
        // Nothing went out, so nothing comes back.
        Thread.sleep(forTimeInterval: 0.3)
        #expect(try p.sslRecv(0).isEmpty)
    }

    @Test func resetAfterCommands() throws {
        let m = try startSim { $0.resetAfterCommands = 4 }
        defer { m.stop() }
        let p = try Port(m.slavePath)
        try p.ok("ATE0")                          // 1
        _ = try upload(p, name: "RAM:x", [1, 2, 3])  // 2
        _ = try upload(p, name: "NVRAM:CA0", [1, 2, 3])  // 3
        try p.ok("AT+QIACT")                      // 4, then the module restarts
        #expect(try p.waitURC("RDY") == "RDY")
        #expect(try p.waitURC("SMS Ready") == "SMS Ready")
        // Echo is back on, the RAM file and the PDP context are gone, NVRAM stays.
        try p.write("AT+QSECREAD=\"RAM:x\"\r")
        #expect(try p.token() == .line("AT+QSECREAD=\"RAM:x\""))
        #expect(try p.response().final.hasPrefix("+CME ERROR"))
        try p.ok("ATE0")
        #expect(try p.ok("AT+QSECREAD=\"NVRAM:CA0\"").count == 1)
        #expect(try p.command("AT+QILOCIP").final == "ERROR")
    }

    @Test func pdpDeactClosesEverySocket() throws {
        let certs = try TestCerts.get()
        let server = try tlsServer(certs)
        defer { server.stop() }
        let m = try startSim { $0.pdpDeactAfterSeconds = 3 }
        defer { m.stop() }
        let p = try attachedPort(m)
        #expect(try sslOpen(p, ssid: 0, port: server.port) == 0)
        #expect(try p.waitURC("+PDP DEACT", timeout: 15) == "+PDP DEACT")
        #expect(try p.command("AT+QSSLSEND=0,5").final == "ERROR")
        #expect(try p.ok("AT+QSSLSTATE").first == "+QSSLSTATE: \"PDP DEACT\"")
        try p.ok("AT+QIDEACT", "DEACT OK")
        try p.ok("AT+QIACT")
    }

    /// The peer sends 3000 bytes and closes.
    func peerCloses(drop: Bool) throws {
        let certs = try TestCerts.get()
        let bytes = (0..<3000).map { UInt8(truncatingIfNeeded: $0) }
        let server = try tlsServer(certs, mode: .sendThenClose(bytes))
        defer { server.stop() }
        let tcp = try TestTLSServer(plainTCPMode: .sendThenClose(bytes))
        defer { tcp.stop() }
        let m = try startSim { $0.closedDropsUnreadData = drop }
        defer { m.stop() }
        let p = try attachedPort(m)
        try p.ok("AT+QINDI=1")
        #expect(try sslOpen(p, ssid: 5, port: server.port) == 0)
        #expect(try p.waitURC("+QSSLURC: \"recv\"") == "+QSSLURC: \"recv\",0,5")
        try p.ok("AT+QIOPEN=2,\"TCP\",\"127.0.0.1\",\(tcp.port)")
        #expect(try p.waitURC("2, CONNECT") == "2, CONNECT OK")
        #expect(try p.waitURC("+QIRDI:") == "+QIRDI: 0,1,2")
        if drop {
            #expect(try p.waitURC("+QSSLURC: \"closed\"") == "+QSSLURC: \"closed\",5")
            #expect(try p.waitURC("2, CLOSED") == "2, CLOSED")
            #expect(try p.command("AT+QSSLRECV=0,5,1500").final == "ERROR")
            #expect(try p.command("AT+QIRD=0,1,2,1500").final == "ERROR")
        } else {
            // Give the close time to arrive: it must wait for the data to be read.
            Thread.sleep(forTimeInterval: 0.5)
            #expect(!p.urcs.contains { $0.hasPrefix("+QSSLURC: \"closed\"") })
            var got: [UInt8] = []
            while got.count < bytes.count { got += try p.sslRecv(5) }
            #expect(got == bytes)
            #expect(try p.waitURC("+QSSLURC: \"closed\"") == "+QSSLURC: \"closed\",5")
            var tgot: [UInt8] = []
            while tgot.count < bytes.count { tgot += try p.recv("AT+QIRD=0,1,2,1500", header: "+QIRD:") }
            #expect(tgot == bytes)
            #expect(try p.waitURC("2, CLOSED") == "2, CLOSED")
        }
        // The index is free again.
        #expect(try sslOpen(p, ssid: 5, port: server.port) == 0)
    }

    @Test func peerClosedAfterDataIsRead() throws { try peerCloses(drop: false) }
    @Test func peerClosedDropsUnreadData() throws { try peerCloses(drop: true) }

    @Test func throttledOutputStillCorrect() throws {
        let certs = try TestCerts.get()
        let server = try tlsServer(certs)
        defer { server.stop() }
        let m = try startSim { $0.baud = 115200 }
        defer { m.stop() }
        let p = try attachedPort(m)
        #expect(try sslOpen(p, ssid: 0, port: server.port) == 0)
        let payload = (0..<4000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        var off = 0
        while off < payload.count {
            let n = min(1460, payload.count - off)
            #expect(try p.send("AT+QSSLSEND", 0, Array(payload[off..<(off + n)])) == "SEND OK")
            off += n
        }
        #expect(try p.sslRecvAll(0, count: payload.count) == payload)
    }

    @Test func baudRateLimitsTheOutputRate() throws {
        let certs = try TestCerts.get()
        let server = try tlsServer(certs)
        defer { server.stop() }
        let m = try startSim { $0.baud = 9600 }
        defer { m.stop() }
        let p = try attachedPort(m)
        #expect(try sslOpen(p, ssid: 0, port: server.port) == 0)
        let payload = (0..<2000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
        #expect(try p.send("AT+QSSLSEND", 0, Array(payload[0..<1460])) == "SEND OK")
        #expect(try p.send("AT+QSSLSEND", 0, Array(payload[1460...])) == "SEND OK")
        try waitBuffered(m, socket: 0, count: payload.count)
        try p.ok("AT")  // nothing else is queued for the host when the clock starts
        let start = Date()
        let got = try p.sslRecvAll(0, count: payload.count, timeout: 60)
        let elapsed = Date().timeIntervalSince(start)
        #expect(got == payload)
        // 9600 baud is 960 bytes/s: the 2000 payload bytes alone need more than 2 s on the line.
        #expect(elapsed >= 1.5, "2000 bytes at 9600 baud took only \(elapsed) s")
    }

    @Test func resetRepeatsEveryNCommands() throws {
        for repeats in [true, false] {
            let m = try startSim {
                $0.resetAfterCommands = 3
                $0.resetRepeats = repeats
            }
            defer { m.stop() }
            let p = try Port(m.slavePath)
            // The start-up lines of a reset follow the OK of the command that triggered it, so they show up
            // while the next command is answered.
            var resetAfter: [Int] = []
            for k in 1...10 {
                p.urcs.removeAll()
                try p.write("AT\r")
                #expect(try p.response().final == "OK")
                if p.urcs.contains("RDY") { resetAfter.append(k - 1) }
            }
            #expect(resetAfter == (repeats ? [3, 6, 9] : [3]), "repeats: \(repeats)")
        }
    }

    @Test func noNoiseInsideTheTransparentStream() throws {
        let certs = try TestCerts.get()
        let server = try tlsServer(certs)
        defer { server.stop() }
        let m = try startSim {
            $0.noiseURCProbability = 1.0
            $0.escapeGuardSeconds = 0.2
        }
        defer { m.stop() }
        let p = try attachedPort(m)
        /// After CONNECT / +QSSLOPEN the port carries nothing but the peer's bytes.
        func expectOnlyEcho(_ text: String) throws {
            let data = Array(text.utf8)
            try p.write(data)
            try p.need(data.count, timeout: 10)
            Thread.sleep(forTimeInterval: 0.3)
            while p.fill(timeout: 0.05) {}
            #expect(String(decoding: p.buf, as: UTF8.self) == text)
            p.buf.removeAll()
            Thread.sleep(forTimeInterval: 0.4)  // escape guard before "+++"
            try p.write("+++")
            #expect(try p.response().final == "OK")
        }
        // Straight into transparent mode when the handshake completes.
        #expect(try sslOpen(p, ssid: 0, port: server.port, mode: 1) == 0)
        try expectOnlyEcho("first pass\r\n")
        // And back into it with ATO.
        try p.ok("ATO", "CONNECT")
        try expectOnlyEcho("second pass\r\n")
        #expect(p.urcs.count >= 5)  // the noise is on: it just stays out of the data
        try p.ok("AT+QSSLCLOSE=0", "0, CLOSE OK")
    }

    @Test func transparentModeEscapeAndATO() throws {
        let certs = try TestCerts.get()
        let server = try tlsServer(certs)
        defer { server.stop() }
        let m = try startSim { $0.escapeGuardSeconds = 0.2 }
        defer { m.stop() }
        let p = try attachedPort(m)
        #expect(try sslOpen(p, ssid: 0, port: server.port, mode: 1) == 0)
        // A byte pipe now: what goes out comes back raw, "+" inside data is data.
        let data = Array("a+b++c+++d\r\nAT\r\n".utf8)
        try p.write(data)
        try p.need(data.count, timeout: 10)
        #expect(Array(p.buf.prefix(data.count)) == data)
        p.buf.removeFirst(data.count)
        Thread.sleep(forTimeInterval: 0.4)
        try p.write("+++")
        #expect(try p.response().final == "OK")
        #expect(try p.ok("AT+GMM") == ["Quectel_M66"])
        try p.ok("ATO", "CONNECT")
        try p.write("again")
        try p.need(5, timeout: 10)
        #expect(String(decoding: p.buf.prefix(5), as: UTF8.self) == "again")
        p.buf.removeFirst(5)
        Thread.sleep(forTimeInterval: 0.4)
        try p.write("+++")
        #expect(try p.response().final == "OK")
        #expect(try p.ok("AT+QSSLCLOSE=0", "0, CLOSE OK").isEmpty)
        #expect(try p.command("ATO").final == "ERROR")
    }

    @Test func ctrlZEscapeAndCiphers() throws {
        let certs = try TestCerts.get()
        let server = try tlsServer(certs)
        defer { server.stop() }
        let m = try startSim()
        defer { m.stop() }
        let p = try attachedPort(m)
        // Only suites BoringSSL no longer has: the module gives up before it connects.
        try p.ok("AT+QSSLCFG=\"ciphersuite\",0,\"0X0005\"")
        #expect(try sslOpen(p, ssid: 0, port: server.port) == -1)
        try p.ok("AT+QSSLCFG=\"ciphersuite\",0,\"0X003D\"")
        #expect(try sslOpen(p, ssid: 0, port: server.port) == -1)
        #expect(server.acceptedConnections == 0)
        for (v, c) in [(1, "0X002F"), (3, "0X0035"), (4, "0X002F")] {
            try p.ok("AT+QSSLCFG=\"sslversion\",0,\(v)")
            try p.ok("AT+QSSLCFG=\"ciphersuite\",0,\"\(c)\"")
            #expect(try sslOpen(p, ssid: 0, port: server.port) == 0)
            try p.ok("AT+QSSLCLOSE=0", "0, CLOSE OK")
        }
        #expect(try sslOpen(p, ssid: 0, port: server.port) == 0)
        // Occupied: -2.
        #expect(try sslOpen(p, ssid: 0, port: server.port) == -2)
        // ESC cancels a Ctrl+Z send: nothing goes out.
        #expect(try p.command("AT+QSSLSEND=0").final == "> ")
        try p.write([0x78, 0x79, 0x1B])
        #expect(try p.response().final == "OK")
        #expect(try p.send("AT+QSSLSEND", 0, Array("z".utf8)) == "SEND OK")
        #expect(try p.sslRecvAll(0, count: 1) == Array("z".utf8))
    }
}

/// Bounded buffers: the host sends without reading, the module stops reading the network.
@Suite struct BackPressureTests {
    @Test func sendingWithoutReadingKeepsBuffersBounded() throws {
        let certs = try TestCerts.get()
        let server = try tlsServer(certs)
        defer { server.stop() }
        let m = try startSim { $0.socketBufferLimit = 32 * 1024 }
        defer { m.stop() }
        let p = try attachedPort(m)
        #expect(try sslOpen(p, ssid: 1, port: server.port) == 0)
        let total = 2 << 20
        let data = (0..<total).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ ($0 >> 11)) }
        var sent = 0
        var got: [UInt8] = []
        var maxBuffered = 0
        while sent < total {
            let n = min(1460, total - sent)
            let r = try p.send("AT+QSSLSEND", 1, Array(data[sent..<(sent + n)]))
            maxBuffered = max(maxBuffered, m.bufferedBytes(socket: 1))
            if r == "SEND OK" {
                sent += n
            } else {
                // Buffer full on the way out: read some, then retry the same chunk.
                #expect(r == "SEND FAIL")
                for _ in 0..<64 { got += try p.sslRecv(1) }
            }
        }
        got += try p.sslRecvAll(1, count: total - got.count, timeout: 60)
        #expect(got == data)
        #expect(maxBuffered <= 32 * 1024 + 128 * 1024)
    }
}
