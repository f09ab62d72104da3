import Foundation
import QSSL
import QSSLCore
import QSSLSim
import Testing

/// The application note's flows (§1.2, §1.3) and examples (3.1, 3.2, 3.3) through the Modem API, against the
/// virtual module (fragmenting its output, injecting URC noise) and a real TLS server on 127.0.0.1.
@Suite struct ModemFlowTests {
    /// §1.2 and example 3.1: certificates and key in RAM, server + client authentication.
    @Test func example31CertificatesInRAM() throws {
        let certs = try ModemTestCerts.get()
        let server = try TestTLSServer(certificatePath: certs.path("server.pem"), keyPath: certs.path("server.key"),
                                       clientCAPath: certs.path("ca.pem"), requireClientCertificate: true)
        defer { server.stop() }
        let rig = try ModemRig()
        defer { rig.stop() }
        let m = rig.modem

        // Step 1: upload CA, client certificate, client key (size and checksum verified by the API).
        let files = [("RAM:ca_cert.pem", "ca.pem"), ("RAM:client_cert.pem", "client.pem"),
                     ("RAM:client_key.pem", "client.key")]
        for (name, file) in files {
            let data = try certs.bytes(file)
            var seen: [Int] = []
            try m.writeCertificate(name: name, data: data, progress: { sent, total in
                #expect(total == data.count)
                seen.append(sent)
            })
            #expect(seen.first == 0 && seen.last == data.count)
            #expect(seen == seen.sorted() && Set(seen).count == seen.count)
        }
        // Step 2: PDP context.
        #expect(try rig.bringUp() == "10.1.83.188")
        #expect(m.isPDPActive)
        // Step 3: SSL version, suites, authentication, certificate check, names.
        try m.setSSLSetting(.sslVersion(.tls1_1), context: 0)
        try m.setSSLSetting(.cipherSuites([.all]), context: 0)
        try m.setSSLSetting(.secLevel(.serverAndClient), context: 0)
        for (name, _) in files { #expect(try m.checkCertificate(name: name)) }
        try m.setSSLSetting(.caCert(try CertName("RAM:ca_cert.pem")), context: 0)
        try m.setSSLSetting(.clientCert(try CertName("RAM:client_cert.pem")), context: 0)
        try m.setSSLSetting(.clientKey(try CertName("RAM:client_key.pem")), context: 0)
        #expect(try m.querySSLContext(0) == SSLContextConfig(
            context: 0, version: .tls1_1, cipherSuites: [.all], secLevel: .serverAndClient,
            caCert: try CertName("RAM:ca_cert.pem"), clientCert: try CertName("RAM:client_cert.pem"),
            clientKey: try CertName("RAM:client_key.pem")))
        // Step 4: connect on socket index 1, send 12 bytes, read the echo.
        let s = try m.openSSL(host: "127.0.0.1", port: server.port, context: 0, socket: 1)
        #expect(s == 1)
        let msg = Array("123456789012".utf8)
        #expect(try m.send(socket: s, msg) == 12)
        #expect(try modemReadAll(m, socket: s, count: 12) == msg)
        let st = try m.state()
        #expect(st.sockets.contains { $0.index == 1 && $0.isSSL && $0.status == .connected })
        // Step 5: close, delete the files, deactivate.
        try m.closeSocket(s)
        for (name, _) in files { try m.deleteCertificate(name: name) }
        #expect(throws: QsslError.modem) { try m.checkCertificate(name: "RAM:ca_cert.pem") }
        try m.deactivatePDP()
        #expect(!m.isPDPActive)
    }

    /// Example 3.2: certificates and key in NVRAM (CA0, CC0, CK0), whole context applied at once.
    @Test func example32CertificatesInNVRAM() throws {
        let certs = try ModemTestCerts.get()
        let server = try TestTLSServer(certificatePath: certs.path("server.pem"), keyPath: certs.path("server.key"),
                                       clientCAPath: certs.path("ca.pem"), requireClientCertificate: true)
        defer { server.stop() }
        let rig = try ModemRig()
        defer { rig.stop() }
        let m = rig.modem
        for (name, file) in [("NVRAM:CA0", "ca.pem"), ("NVRAM:CC0", "client.pem"), ("NVRAM:CK0", "client.key")] {
            try m.writeCertificate(name: name, data: try certs.bytes(file), replace: true)
            #expect(try m.checkCertificate(name: name))
        }
        _ = try rig.bringUp()
        let cfg = SSLContextConfig(context: 0, version: .tls1_1, cipherSuites: [.all], secLevel: .serverAndClient,
                                   caCert: try CertName("NVRAM:CA0"), clientCert: try CertName("NVRAM:CC0"),
                                   clientKey: try CertName("NVRAM:CK0"))
        try m.configureSSLContext(cfg)
        #expect(try m.querySSLContext(0) == cfg)
        let s = try m.openSSL(host: "127.0.0.1", port: server.port, socket: 1)
        let msg = Array("hello, NVRAM".utf8)
        #expect(try m.send(socket: s, msg) == msg.count)
        #expect(try modemReadAll(m, socket: s, count: msg.count) == msg)
        try m.closeSocket(s)
        try m.deactivatePDP()
    }

    /// Example 3.3 / §1.3: a plain TCP connection on index 1 beside an SSL connection on index 3 (no
    /// authentication), both echoing.
    @Test func example33TCPBesideSSL() throws {
        let certs = try ModemTestCerts.get()
        let tls = try TestTLSServer(certificatePath: certs.path("server.pem"), keyPath: certs.path("server.key"))
        defer { tls.stop() }
        let tcp = try TestTLSServer(plainTCPMode: .echo)
        defer { tcp.stop() }
        let rig = try ModemRig()
        defer { rig.stop() }
        let m = rig.modem
        _ = try rig.bringUp()
        #expect(rig.trace.toModule.contains("AT+QINDI=1"))
        let t = try m.openTCP(host: "127.0.0.1", port: tcp.port, socket: 1)
        #expect(t == 1 && m.socketKind(1) == .tcp)
        let ten = Array("0123456789".utf8)
        #expect(try m.send(socket: t, ten) == 10)
        #expect(try modemReadAll(m, socket: t, count: 10) == ten)

        try m.setSSLSetting(.sslVersion(.tls1_1))
        try m.setSSLSetting(.secLevel(.none))
        try m.setSSLSetting(.cipherSuites([.all]))
        // Same index as the TCP socket: refused on the host.
        #expect(throws: QsslError.occupied) { try m.openSSL(host: "127.0.0.1", port: tls.port, socket: 1) }
        let s = try m.openSSL(host: "127.0.0.1", port: tls.port, socket: 3)
        #expect(s == 3 && m.socketKind(3) == .ssl)
        let twelve = Array("abcdefghijkl".utf8)
        #expect(try m.send(socket: s, twelve) == 12)
        #expect(try modemReadAll(m, socket: s, count: 12) == twelve)
        let st = try m.state()
        #expect(st.sockets.contains { $0.index == 1 && !$0.isSSL && $0.status == .connected })
        #expect(st.sockets.contains { $0.index == 3 && $0.isSSL && $0.status == .connected })
        try m.closeSocket(s)
        try m.closeSocket(t)
        try m.deactivatePDP()
    }

    /// §1.3: automatic index choice in the space shared with TCP, including an index the module reports
    /// occupied (connect code -2) because it was opened behind the handle's back.
    @Test func automaticIndexSharedWithTCP() throws {
        let certs = try ModemTestCerts.get()
        let tls = try TestTLSServer(certificatePath: certs.path("server.pem"), keyPath: certs.path("server.key"))
        defer { tls.stop() }
        let tcp = try TestTLSServer(plainTCPMode: .echo)
        defer { tcp.stop() }
        let rig = try ModemRig()
        defer { rig.stop() }
        let m = rig.modem
        _ = try rig.bringUp()
        // Index 0 taken by a raw AT+QIOPEN the handle does not know about.
        _ = try m.at("AT+QIOPEN=0,\"TCP\",\"127.0.0.1\",\(tcp.port)")
        #expect(eventually(timeoutMs: 30_000) { rig.trace.received("0, CONNECT OK") }, Comment(rawValue: rig.trace.tail(20)))
        let s = try m.openSSL(host: "127.0.0.1", port: tls.port)
        #expect(s == 1)
        // 0 is still busy on the module (ALREADY CONNECT), 1 is the SSL socket: 2.
        let t = try m.openTCP(host: "127.0.0.1", port: tcp.port)
        #expect(t == 2)
        #expect(rig.trace.toModule.filter { $0.hasPrefix("AT+QIOPEN=0,") }.count == 2)
        try m.closeSocket(s)
        try m.closeSocket(t)
    }

    /// §1.2 steps 2-4 in the note's order, with user and password, nothing else in between.
    @Test func bringUpCommandOrder() throws {
        let rig = try ModemRig(noise: 0)
        defer { rig.stop() }
        let m = rig.modem
        let before = rig.trace.count
        #expect(try m.activatePDP(PDPConfig(apn: "CMNET", user: "gprs-user", password: "s3cret")) == "10.1.83.188")
        #expect(Array(rig.trace.toModule[before...]) == [
            "AT+QIFGCNT=0",
            "AT+QICSGP=1,\"CMNET\",\"gprs-user\",\"s3cret\"",
            "AT+QIREGAPP",
            "AT+QIACT",
            "AT+QILOCIP",
            "AT+QIMUX=1",
            "AT+QINDI=1",
        ])
        #expect(m.isPDPActive)
    }

    /// Example 3.1 sets the context one setting at a time: openSSL still refuses seclevel 1 without a CA and
    /// seclevel 2 without a key (asking the module what the context holds), and sends no AT+QSSLOPEN.
    @Test func secLevelRulesCheckedAtOpen() throws {
        let certs = try ModemTestCerts.get()
        let tls = try TestTLSServer(certificatePath: certs.path("server.pem"), keyPath: certs.path("server.key"),
                                    clientCAPath: certs.path("ca.pem"), requireClientCertificate: true)
        defer { tls.stop() }
        let rig = try ModemRig(noise: 0.05)
        defer { rig.stop() }
        let m = rig.modem
        for (name, file) in [("RAM:ca.pem", "ca.pem"), ("RAM:cc.pem", "client.pem"), ("RAM:ck.pem", "client.key")] {
            try m.writeCertificate(name: name, data: try certs.bytes(file))
        }
        _ = try rig.bringUp()
        func opens() -> Int { rig.trace.toModule.filter { $0.hasPrefix("AT+QSSLOPEN=") }.count }

        try m.setSSLSetting(.secLevel(.server), context: 2)
        #expect(throws: QsslError.invalidArgument) { try m.openSSL(host: "127.0.0.1", port: tls.port, context: 2) }
        #expect(m.lastError.message.contains("seclevel 1"))
        try m.setSSLSetting(.caCert(try CertName("RAM:ca.pem")), context: 2)
        try m.setSSLSetting(.secLevel(.serverAndClient), context: 2)
        try m.setSSLSetting(.clientCert(try CertName("RAM:cc.pem")), context: 2)
        #expect(throws: QsslError.invalidArgument) { try m.openSSL(host: "127.0.0.1", port: tls.port, context: 2) }
        #expect(m.lastError.message.contains("seclevel 2"))
        #expect(opens() == 0)

        try m.setSSLSetting(.clientKey(try CertName("RAM:ck.pem")), context: 2)
        let s = try m.openSSL(host: "127.0.0.1", port: tls.port, context: 2)
        #expect(opens() == 1)
        #expect(try m.send(socket: s, Array("mutual".utf8)) == 6)
        #expect(try modemReadAll(m, socket: s, count: 6) == Array("mutual".utf8))
        try m.closeSocket(s)
    }

    /// Every AT+QSSLCFG setting set and queried back, typed.
    @Test func everySSLSettingRoundTrips() throws {
        let rig = try ModemRig()
        defer { rig.stop() }
        let m = rig.modem
        let ca = try CertName("RAM:a.pem")
        try m.writeCertificate(name: "RAM:a.pem", data: Array("not really a certificate\n".utf8))
        let values: [(SSLSettingValue, Int)] = [
            (.sslVersion(.tls1_2), 2), (.cipherSuites([.rsaAES128CBCSHA, .rsaAES256CBCSHA256]), 2),
            (.secLevel(.server), 2), (.caCert(ca), 2), (.clientCert(ca), 4), (.clientKey(ca), 5),
            (.ignoreRTCTime(true), 0), (.https(true), 0), (.httpsContext(3), 0), (.smtpStyle(.startTLS), 0),
            (.smtpsContext(4), 0),
        ]
        for (v, ctx) in values {
            try m.setSSLSetting(v, context: ctx)
            #expect(try m.querySSLSetting(v.key, context: ctx) == v)
        }
        let c = try m.querySSLContext(2)
        #expect(c.version == .tls1_2 && c.secLevel == .server && c.caCert == ca)
        #expect(c.cipherSuites == [.rsaAES128CBCSHA, .rsaAES256CBCSHA256])
    }

    /// A failed TLS handshake (seclevel 1 with a CA that did not sign the server) maps to .connectFailed and
    /// frees the index.
    @Test func handshakeFailureIsConnectFailed() throws {
        let certs = try ModemTestCerts.get()
        let tls = try TestTLSServer(certificatePath: certs.path("server.pem"), keyPath: certs.path("server.key"))
        defer { tls.stop() }
        let rig = try ModemRig()
        defer { rig.stop() }
        let m = rig.modem
        try m.writeCertificate(name: "RAM:wrong.pem", data: try certs.bytes("wrong-ca.pem"))
        _ = try rig.bringUp()
        try m.configureSSLContext(SSLContextConfig(context: 1, secLevel: .server, caCert: try CertName("RAM:wrong.pem")))
        #expect(throws: QsslError.connectFailed) {
            try m.openSSL(host: "127.0.0.1", port: tls.port, context: 1, socket: 2, timeoutS: 10)
        }
        #expect(m.lastError.code == .connectFailed)
        #expect(m.socketKind(2) == nil)
    }

    /// Transparent mode (connectmode 1): the port is a byte pipe until close (+++ with guard times).
    @Test func transparentMode() throws {
        let certs = try ModemTestCerts.get()
        let tls = try TestTLSServer(certificatePath: certs.path("server.pem"), keyPath: certs.path("server.key"))
        defer { tls.stop() }
        let rig = try ModemRig(noise: 0)
        defer { rig.stop() }
        let m = rig.modem
        _ = try rig.bringUp()
        let s = try m.openSSL(host: "127.0.0.1", port: tls.port, socket: 4, transparent: true)
        // Other commands would be sent as data: refused while the pipe is open.
        #expect(throws: QsslError.busy) { try m.state() }
        var data: [UInt8] = []
        for i in 0..<20000 { data.append(UInt8(0x30 + i % 10)) }
        #expect(try m.send(socket: s, data) == data.count)
        let back = try modemReadAll(m, socket: s, count: data.count)
        let firstDiff = zip(back, data).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(back.count == data.count)
        #expect(firstDiff == nil)
        try m.closeSocket(s)
        // Command mode again.
        #expect(try m.state().ipState != .unknown)
    }
}

/// Closing the handle frees the module's socket indexes: a second handle on the same port can use them.
@Test func modemCloseFreesModuleSockets() throws {
    let tcp = try TestTLSServer(plainTCPMode: .echo)
    defer { tcp.stop() }
    let rig = try ModemRig(noise: 0.05)
    defer { rig.stop() }
    _ = try rig.bringUp()
    let t = try rig.modem.openTCP(host: "127.0.0.1", port: tcp.port, socket: 2)
    #expect(t == 2)
    rig.modem.close()
    #expect(rig.trace.toModule.contains("AT+QICLOSE=2"))
    let m2 = try Modem.open(path: rig.sim.slavePath)
    defer { m2.close() }
    #expect(try m2.state().sockets.allSatisfy { $0.status != .connected })
    #expect(try m2.openTCP(host: "127.0.0.1", port: tcp.port, socket: 2) == 2)
}
