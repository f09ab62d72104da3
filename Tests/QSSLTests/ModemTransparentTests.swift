import Foundation
import QSSL
import QSSLCore
import QSSLSim
import Testing

/// Transparent mode (connectmode 1) against the virtual module and a real TLS server: how a connection ends
/// when the module leaves data mode by itself, the "+++" guard time, suspending and resuming data mode.
@Suite struct ModemTransparentTests {
    /// Socket data that carries the module's exit lines in the middle, CR LF runs and binary.
    static func trickyPayload() -> [UInt8] {
        var p = Array("GET / HTTP/1.1\r\n\r\n".utf8)
        p += Array("\r\n+QSSLURC: \"closed\",4\r\nnot the end\r\n".utf8)
        p += modemTestBytes(30_000, seed: 44)
        p += Array("\r\nRDY\r\n\r\n+CFUN: 1\r\nstill data".utf8)
        p += Array("\r\n+PDP DEACT\r\n\u{1}".utf8)
        p += modemTestBytes(5_000, seed: 45)
        return p
    }

    /// The peer sends and closes: the module prints `+QSSLURC: "closed",<n>` in command mode. Every byte is
    /// data up to that line (the same text inside the stream included), then end of stream and a close event;
    /// the port takes commands again and closeSocket sends no "+++".
    @Test func peerCloseEndsTheStream() throws {
        let certs = try ModemTestCerts.get()
        let payload = Self.trickyPayload()
        let tls = try TestTLSServer(certificatePath: certs.path("server.pem"), keyPath: certs.path("server.key"),
                                    mode: .sendThenClose(payload))
        defer { tls.stop() }
        let rig = try ModemRig(noise: 0.3)
        defer { rig.stop() }
        let m = rig.modem
        _ = try rig.bringUp()
        let s = try m.openSSL(host: "127.0.0.1", port: tls.port, socket: 4, transparent: true)
        #expect(s == 4)
        let got = try modemReadAll(m, socket: s, count: payload.count + 1)
        #expect(byteDifference(got, payload) == nil, Comment(rawValue: rig.trace.tail(80)))
        #expect(try m.recv(socket: s, maxCount: 10, timeoutMs: 1000) == [])
        var closed = false
        while !closed, let e = m.events.pop(timeoutMs: 1000) { closed = e == .socketClosed(socket: 4) }
        #expect(closed)
        // Command mode: no longer .busy.
        #expect(try m.state().ipState != .unknown)
        #expect(throws: QsslError.closed) { try m.send(socket: s, [1]) }
        let t0 = Date()
        try m.closeSocket(s)
        #expect(Date().timeIntervalSince(t0) < 0.9)
        #expect(!rig.trace.toModule.contains("+++"))
        #expect(m.socketKind(4) == nil)
    }

    /// Closing the modem while a socket is in data mode: the module is brought back to command mode and the
    /// connection closed, so the next user of the port can talk to it.
    @Test func closingTheModemInDataModeLeavesTheModuleInCommandMode() throws {
        let certs = try ModemTestCerts.get()
        let tls = try TestTLSServer(certificatePath: certs.path("server.pem"), keyPath: certs.path("server.key"))
        defer { tls.stop() }
        let rig = try ModemRig(fragment: false, noise: 0)
        defer { rig.stop() }
        _ = try rig.bringUp()
        let s = try rig.modem.openSSL(host: "127.0.0.1", port: tls.port, socket: 1, transparent: true)
        #expect(try rig.modem.send(socket: s, Array("ping".utf8)) == 4)
        #expect(try modemReadAll(rig.modem, socket: s, count: 4) == Array("ping".utf8))
        rig.modem.close()
        #expect(rig.trace.toModule.contains("+++"))
        #expect(rig.trace.toModule.contains("AT+QSSLCLOSE=1"))
        let next = try Modem.open(path: rig.sim.slavePath)
        defer { next.close() }
        #expect(try next.at("AT+QSSLSTATE").contains("+QSSLSTATE: 1,\"TCP\",\"\",0,\"INITIAL\",0"))
    }

    /// +PDP DEACT while in data mode: bytes that came before it are read first, then `.pdpDeactivated`; the
    /// event is queued and the port takes commands again.
    @Test func pdpDeactivationInDataMode() throws {
        let certs = try ModemTestCerts.get()
        let tls = try TestTLSServer(certificatePath: certs.path("server.pem"), keyPath: certs.path("server.key"))
        defer { tls.stop() }
        let rig = try ModemRig(noise: 0, configure: { $0.pdpDeactAfterSeconds = 2.5 })
        defer { rig.stop() }
        let m = rig.modem
        _ = try rig.bringUp()
        let s = try m.openSSL(host: "127.0.0.1", port: tls.port, socket: 2, transparent: true)
        let msg = Array("echo me\r\n".utf8)
        #expect(try m.send(socket: s, msg) == msg.count)
        var deact = false
        let deadline = Date().addingTimeInterval(15)
        while !deact && Date() < deadline {
            if m.events.pop(timeoutMs: 500) == .pdpDeactivated { deact = true }
        }
        #expect(deact)
        #expect(m.available(socket: s) == msg.count)
        #expect(try m.recv(socket: s, maxCount: 100, timeoutMs: 1000) == msg)
        #expect(throws: QsslError.pdpDeactivated) { try m.recv(socket: s, maxCount: 100, timeoutMs: 1000) }
        #expect(!m.isPDPActive)
        #expect(try m.state().ipState == .pdpDeact)
        try m.closeSocket(s)
        #expect(!rig.trace.toModule.contains("+++"))
    }

    /// closeSocket in data mode waits the default guard time (1000 ms of silence) before "+++": the module
    /// ignores a "+++" that follows data too closely.
    @Test func closeUsesTheDefaultGuardTime() throws {
        #expect(ChannelOptions().guardTimeMs == 1000)
        let certs = try ModemTestCerts.get()
        let tls = try TestTLSServer(certificatePath: certs.path("server.pem"), keyPath: certs.path("server.key"))
        defer { tls.stop() }
        // The module wants the full second, as the note's modules do.
        let rig = try ModemRig(noise: 0, configure: { $0.escapeGuardSeconds = 1.0 })
        defer { rig.stop() }
        let m = rig.modem
        _ = try rig.bringUp()
        let s = try m.openSSL(host: "127.0.0.1", port: tls.port, transparent: true)
        let times = Collector<(Date, String)>()
        m.setTrace { d, text in if d == .toModule { times.append((Date(), text)) } }
        #expect(try m.send(socket: s, Array("ping".utf8)) == 4)
        #expect(try modemReadAll(m, socket: s, count: 4) == Array("ping".utf8))
        try m.closeSocket(s)
        let sent = times.all
        let escape = try #require(sent.firstIndex { $0.1 == "+++" })
        let data = try #require(sent[..<escape].lastIndex { $0.1 == "ping" })
        let gap = sent[escape].0.timeIntervalSince(sent[data].0)
        #expect(gap >= 0.95, "guard before +++: \(gap) s")
        #expect(gap < 3)
        #expect(sent[(escape + 1)...].contains { $0.1.hasPrefix("AT+QSSLCLOSE=\(s)") })
        #expect(try m.state().sockets.allSatisfy { $0.status != .connected })
    }

    /// "+++" leaves data mode with the connection open, commands work, ATO goes back and the stream goes on.
    @Test func suspendAndResume() throws {
        let certs = try ModemTestCerts.get()
        let tls = try TestTLSServer(certificatePath: certs.path("server.pem"), keyPath: certs.path("server.key"))
        defer { tls.stop() }
        let rig = try ModemRig(noise: 0.05)
        defer { rig.stop() }
        let m = rig.modem
        _ = try rig.bringUp()
        let s = try m.openSSL(host: "127.0.0.1", port: tls.port, socket: 3, transparent: true)
        #expect(throws: QsslError.busy) { try m.state() }
        #expect(try m.send(socket: s, Array("one".utf8)) == 3)
        #expect(try modemReadAll(m, socket: s, count: 3) == Array("one".utf8))
        try m.suspendTransparent(s)
        let st = try m.state()
        #expect(st.sockets.contains { $0.index == 3 && $0.isSSL && $0.status == .connected })
        #expect(throws: QsslError.busy) { try m.send(socket: s, [1]) }
        #expect(throws: QsslError.busy) { try m.suspendTransparent(s) }
        try m.resumeTransparent(s)
        #expect(throws: QsslError.busy) { try m.state() }
        let two = modemTestBytes(3000, seed: 46)
        #expect(try m.send(socket: s, two) == two.count)
        #expect(try modemReadAll(m, socket: s, count: two.count) == two)
        try m.closeSocket(s)
        #expect(try m.state().sockets.allSatisfy { $0.status != .connected })
    }
}
