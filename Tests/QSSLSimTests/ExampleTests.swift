import Foundation
import QSSLCore
import QSSLSim
import Testing

/// The application note's examples 3.1-3.3, replayed as raw AT over the pty against real servers.
@Suite struct ExampleTests {
    /// Steps 3-5 of examples 3.1 / 3.2: configure context 0, open, send both ways, receive, close.
    func sslSession(_ p: Port, storage: (ca: String, cc: String, ck: String), certs: TestCerts, server: TestTLSServer,
                    expect: (ca: String, cc: String, ck: String)) throws {
        try p.ok("AT+QSSLCFG=\"sslversion\",0,2")
        try p.ok("AT+QSSLCFG=\"ciphersuite\",0,\"0XFFFF\"")
        try p.ok("AT+QSSLCFG=\"seclevel\",0,2")
        #expect(try p.ok("AT+QSECREAD=\"\(storage.ca)\"") == ["+QSECREAD: 1,\(expect.ca)"])
        #expect(try p.ok("AT+QSECREAD=\"\(storage.cc)\"") == ["+QSECREAD: 1,\(expect.cc)"])
        #expect(try p.ok("AT+QSECREAD=\"\(storage.ck)\"") == ["+QSECREAD: 1,\(expect.ck)"])
        try p.ok("AT+QSSLCFG=\"cacert\",0,\"\(storage.ca)\"")
        try p.ok("AT+QSSLCFG=\"clientcert\",0,\"\(storage.cc)\"")
        try p.ok("AT+QSSLCFG=\"clientkey\",0,\"\(storage.ck)\"")
        #expect(try p.ok("AT+QSSLCFG=\"ctxindex\",0")
            == ["+QSSLCFG: 0,2,2,\"0XFFFF\",\"\(storage.ca)\",\"\(storage.cc)\",\"\(storage.ck)\""])

        try p.ok("AT+ QSSLOPEN =1, 0,\"127.0.0.1\",\(server.port),0")
        #expect(try p.waitURC("+QSSLOPEN:") == "+QSSLOPEN: 1,0")
        #expect(try p.send("AT+QSSLSEND", 1, Array("0123456789ab".utf8)) == "SEND OK")
        #expect(try p.command("AT+QSSLSEND=1").final == "> ")
        try p.write(Array("1234567".utf8) + [0x1A])
        #expect(try p.response().final == "SEND OK")
        #expect(try p.waitURC("+QSSLURC: \"recv\"") == "+QSSLURC: \"recv\",0,1")
        let got = try p.sslRecvAll(1, count: 19)
        #expect(String(decoding: got, as: UTF8.self) == "0123456789ab1234567")
        #expect(try p.ok("AT+QSSLCLOSE=1", "1, CLOSE OK").isEmpty)
    }

    @Test func example31RAM() throws {
        let certs = try TestCerts.get()
        let server = try tlsServer(certs, clientCert: true)
        defer { server.stop() }
        let m = try startSim()
        defer { m.stop() }
        let p = try Port(m.slavePath)
        try p.ok("ATE0")
        let ca = try certs.bytes("ca.pem"), cc = try certs.bytes("client.pem"), ck = try certs.bytes("client.key")
        let sums = (hexString(UploadChecksum.of(ca)), hexString(UploadChecksum.of(cc)), hexString(UploadChecksum.of(ck)))
        #expect(try upload(p, name: "RAM:ca_cert.pem", ca) == "+QSECWRITE: \(ca.count),\(sums.0)")
        #expect(try upload(p, name: "RAM:client_cert.pem", cc) == "+QSECWRITE: \(cc.count),\(sums.1)")
        #expect(try upload(p, name: "RAM:client_key.pem", ck) == "+QSECWRITE: \(ck.count),\(sums.2)")
        try attach(p)
        try sslSession(p, storage: ("RAM:ca_cert.pem", "RAM:client_cert.pem", "RAM:client_key.pem"), certs: certs,
                       server: server, expect: sums)
        try p.ok("AT+QSECDEL=\"RAM:ca_cert.pem\"")
        try p.ok("AT+QSECDEL=\"RAM:client_cert.pem\"")
        try p.ok("AT+QSECDEL=\"RAM:client_key.pem\"")
        try p.ok("AT+QIDEACT", "DEACT OK")
        #expect(try p.command("AT+QSECREAD=\"RAM:ca_cert.pem\"").final.hasPrefix("+CME ERROR"))
    }

    @Test func example32NVRAM() throws {
        let certs = try TestCerts.get()
        let server = try tlsServer(certs, clientCert: true)
        defer { server.stop() }
        let m = try startSim()
        defer { m.stop() }
        let p = try Port(m.slavePath)
        try p.ok("ATE0")
        let ca = try certs.bytes("ca.pem"), cc = try certs.bytes("client.pem"), ck = try certs.bytes("client.key")
        let sums = (hexString(UploadChecksum.of(ca)), hexString(UploadChecksum.of(cc)), hexString(UploadChecksum.of(ck)))
        #expect(try upload(p, name: "NVRAM:CA0", ca) == "+QSECWRITE: \(ca.count),\(sums.0)")
        #expect(try upload(p, name: "NVRAM:CC0", cc) == "+QSECWRITE: \(cc.count),\(sums.1)")
        #expect(try upload(p, name: "NVRAM:CK0", ck) == "+QSECWRITE: \(ck.count),\(sums.2)")
        try attach(p)
        try sslSession(p, storage: ("NVRAM:CA0", "NVRAM:CC0", "NVRAM:CK0"), certs: certs, server: server, expect: sums)
        try p.ok("AT+QIDEACT", "DEACT OK")
    }

    @Test func example33TCPBesideSSL() throws {
        let certs = try TestCerts.get()
        let tls = try tlsServer(certs)
        defer { tls.stop() }
        let tcp = try TestTLSServer(plainTCPMode: .echo)
        defer { tcp.stop() }
        let m = try startSim()
        defer { m.stop() }
        let p = try Port(m.slavePath)
        try p.ok("ATE0")
        try p.ok("AT+ QIFGCNT=0")
        try p.ok("AT+ QICSGP=1,\"CMNET\"")
        try p.ok("AT+QIREGAPP")
        try p.ok("AT+QIACT")
        try p.write("AT+QILOCIP\r")
        #expect(try p.token() == .line("10.1.83.188"))
        try p.ok("AT+QIMUX=1")
        try p.ok("AT+QINDI=1")
        try p.ok("AT+QIOPEN=1,\"TCP\",\"127.0.0.1\",\(tcp.port)")
        #expect(try p.waitURC("1, CONNECT") == "1, CONNECT OK")
        #expect(try p.send("AT+QISEND", 1, Array("Abcde12345".utf8)) == "SEND OK")
        #expect(try p.waitURC("+QIRDI:") == "+QIRDI: 0,1,1")
        var got: [UInt8] = []
        while got.count < 10 {
            let d = try p.recv("AT+QIRD=0,1,1,1024", header: "+QIRD:")
            if d.isEmpty { _ = try? p.waitURC("+QIRDI:", timeout: 0.5) }
            got += d
        }
        #expect(String(decoding: got, as: UTF8.self) == "Abcde12345")

        try p.ok("AT+QSSLCFG=\"sslversion\",0,2")
        try p.ok("AT+QSSLCFG=\"seclevel\",0,0")
        try p.ok("AT+QSSLCFG=\"ciphersuite\",0,\"0XFFFF\"")
        // Socket 1 is taken by TCP: SSL cannot use it.
        #expect(try sslOpen(p, ssid: 1, port: tls.port) == -2)
        try p.ok("AT+ QSSLOPEN =3,0,\"127.0.0.1\",\(tls.port),0")
        #expect(try p.waitURC("+QSSLOPEN:") == "+QSSLOPEN: 3,0")
        #expect(try p.send("AT+QSSLSEND", 3, Array("hello world!".utf8)) == "SEND OK")
        #expect(try p.command("AT+QSSLSEND=3").final == "> ")
        try p.write(Array("1234567".utf8) + [0x1A])
        #expect(try p.response().final == "SEND OK")
        #expect(try p.waitURC("+QSSLURC:") == "+QSSLURC: \"recv\",0,3")
        let ssl = try p.sslRecvAll(3, count: 19)
        #expect(String(decoding: ssl, as: UTF8.self) == "hello world!1234567")
        // The TCP index is occupied for QIOPEN too.
        #expect(try p.command("AT+QIOPEN=3,\"TCP\",\"127.0.0.1\",\(tcp.port)").final == "ALREADY CONNECT")
        #expect(try p.ok("AT+QSSLCLOSE=3", "3, CLOSE OK").isEmpty)
        #expect(try p.ok("AT+QICLOSE=1", "1, CLOSE OK").isEmpty)
        try p.ok("AT+QIDEACT", "DEACT OK")
    }

    @Test func wrongClientCertificateFails() throws {
        let certs = try TestCerts.get()
        let server = try tlsServer(certs, clientCert: true)
        defer { server.stop() }
        let m = try startSim()
        defer { m.stop() }
        let p = try attachedPort(m)
        _ = try upload(p, name: "RAM:ca.pem", try certs.bytes("ca.pem"))
        _ = try upload(p, name: "RAM:wrong.pem", try certs.bytes("wrong-client.pem"))
        _ = try upload(p, name: "RAM:wrong.key", try certs.bytes("wrong-client.key"))
        for v in [2, 3] {
            try p.ok("AT+QSSLCFG=\"sslversion\",0,\(v)")
            try p.ok("AT+QSSLCFG=\"seclevel\",0,2")
            try p.ok("AT+QSSLCFG=\"cacert\",0,\"RAM:ca.pem\"")
            try p.ok("AT+QSSLCFG=\"clientcert\",0,\"RAM:wrong.pem\"")
            try p.ok("AT+QSSLCFG=\"clientkey\",0,\"RAM:wrong.key\"")
            #expect(try sslOpen(p, ssid: 2, port: server.port) == -1)
        }
        // The right CA but no client certificate configured: also -1.
        try p.ok("AT+QSSLCFG=\"clientcert\",0,\"\"")
        #expect(try sslOpen(p, ssid: 2, port: server.port) == -1)
    }

    @Test func serverVerificationAgainstUploadedCA() throws {
        let certs = try TestCerts.get()
        let server = try tlsServer(certs)
        defer { server.stop() }
        let m = try startSim()
        defer { m.stop() }
        let p = try attachedPort(m)
        _ = try upload(p, name: "RAM:wrongca.pem", try certs.bytes("wrong-ca.pem"))
        _ = try upload(p, name: "RAM:ca.pem", try certs.bytes("ca.pem"))
        try p.ok("AT+QSSLCFG=\"seclevel\",1,1")
        try p.ok("AT+QSSLCFG=\"cacert\",1,\"RAM:wrongca.pem\"")
        #expect(try sslOpen(p, ssid: 0, ctx: 1, port: server.port) == -1)
        try p.ok("AT+QSSLCFG=\"cacert\",1,\"RAM:ca.pem\"")
        #expect(try sslOpen(p, ssid: 0, ctx: 1, port: server.port) == 0)
        try p.ok("AT+QSSLCLOSE=0", "0, CLOSE OK")
    }

    @Test func oneMegabyteEchoedByteExact() throws {
        let certs = try TestCerts.get()
        let server = try tlsServer(certs)
        defer { server.stop() }
        let m = try startSim()
        defer { m.stop() }
        let p = try attachedPort(m)
        try p.ok("AT+QSSLCFG=\"sslversion\",0,3")
        #expect(try sslOpen(p, ssid: 0, port: server.port) == 0)
        var rng = SystemRandomNumberGenerator()
        let total = 1 << 20
        let data = (0..<total).map { _ in UInt8.random(in: 0...255, using: &rng) }
        var sent = 0
        var got: [UInt8] = []
        got.reserveCapacity(total)
        while sent < total {
            let n = min(1460, total - sent)
            let r = try p.send("AT+QSSLSEND", 0, Array(data[sent..<(sent + n)]))
            #expect(r == "SEND OK")
            if r != "SEND OK" { return }
            sent += n
            // Keep the echo drained as a host would.
            while got.count + 8 * 1460 < sent {
                let d = try p.sslRecv(0)
                if d.isEmpty { break }
                got += d
            }
        }
        got += try p.sslRecvAll(0, count: total - got.count, timeout: 30)
        #expect(got.count == total)
        #expect(got == data)
    }
}
