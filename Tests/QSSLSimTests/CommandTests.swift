import Foundation
import Glibc
import QSSLCore
import QSSLSim
import Testing

/// The command set without the network.
@Suite struct CommandTests {
    @Test func identificationEchoAndErrors() throws {
        let m = try startSim { $0.imei = "861234567890123" }
        defer { m.stop() }
        let p = try Port(m.slavePath)
        // Echo is on at start-up: the command comes back before the answer.
        try p.write("AT\r")
        try p.need(9, timeout: 10)
        #expect(String(decoding: p.buf.prefix(9), as: UTF8.self) == "AT\r\r\nOK\r\n")
        p.buf.removeFirst(9)
        try p.write("ATI\r")
        #expect(try p.token() == .line("ATI"))
        #expect(try p.response().lines == ["Quectel_Ltd", "Quectel_M66", "Revision: M66FAR01A12"])
        try p.ok("ATE0")
        #expect(try p.ok("AT+GSN") == ["861234567890123"])
        #expect(try p.ok("AT+GMM") == ["Quectel_M66"])
        #expect(try p.ok("AT+CGATT?") == ["+CGATT: 1"])
        try p.ok("AT+CGATT=1")
        #expect(try p.ok("AT+CGREG?") == ["+CGREG: 0,1"])
        #expect(try p.command("AT+NOSUCH").final == "ERROR")
        #expect(try p.command("ATX9").final == "ERROR")
        try p.ok("AT+CMEE=1")
        #expect(try p.ok("AT+CMEE?") == ["+CMEE: 1"])
        #expect(try p.command("AT+QSECDEL=\"RAM:none\"").final.hasPrefix("+CME ERROR: "))
        try p.ok("AT+CMEE=0")
        #expect(try p.command("AT+QSECDEL=\"RAM:none\"").final == "ERROR")
        try p.ok("ATE1")
        try p.write("AT\r")
        #expect(try p.token() == .line("AT"))
        #expect(try p.response().final == "OK")
    }

    @Test func amazonRootCAChecksumIs2d13() throws {
        let path = "/etc/ssl/certs/Amazon_Root_CA_1.pem"
        guard let d = FileManager.default.contents(atPath: path) else {
            Issue.record("\(path) is missing: install ca-certificates")
            throw TestFailure("\(path) is missing")
        }
        let bytes = [UInt8](d)
        #expect(bytes.count == 1188)
        let m = try startSim()
        defer { m.stop() }
        let p = try Port(m.slavePath)
        try p.ok("ATE0")
        #expect(try upload(p, name: "RAM:amazon.pem", bytes) == "+QSECWRITE: 1188,2d13")
        #expect(try p.ok("AT+QSECREAD=\"RAM:amazon.pem\"") == ["+QSECREAD: 1,2d13"])
        // Without the final newline: 2d19 (spec/facts.md).
        #expect(try upload(p, name: "NVRAM:CA1", Array(bytes.dropLast())) == "+QSECWRITE: 1187,2d19")
    }

    @Test func securityDataRules() throws {
        let m = try startSim()
        defer { m.stop() }
        let p = try Port(m.slavePath)
        try p.ok("ATE0")
        let data = Array("-----BEGIN CERTIFICATE-----\n".utf8)
        _ = try upload(p, name: "RAM:any name.pem", data)
        // Exists: delete first.
        #expect(try p.command("AT+QSECWRITE=\"RAM:any name.pem\",10,100").final.hasPrefix("+CME ERROR"))
        // NVRAM names and sizes.
        #expect(try p.command("AT+QSECWRITE=\"NVRAM:CA2\",10,100").final.hasPrefix("+CME ERROR"))
        #expect(try p.command("AT+QSECWRITE=\"NVRAM:CA0\",2026,100").final.hasPrefix("+CME ERROR"))
        #expect(try p.command("AT+QSECWRITE=\"RAM:big\",32769,100").final.hasPrefix("+CME ERROR"))
        #expect(try p.command("AT+QSECWRITE=\"RAM:zero\",0,100").final.hasPrefix("+CME ERROR"))
        #expect(try p.command("AT+QSECWRITE=\"RAM:t\",10,2").final.hasPrefix("+CME ERROR"))
        #expect(try p.command("AT+QSECWRITE=\"RAM:t\",10,201").final.hasPrefix("+CME ERROR"))
        #expect(try p.command("AT+QSECWRITE=\"FLASH:t\",10").final.hasPrefix("+CME ERROR"))
        for name in ["CA0", "CA1", "CC0", "CK0"] {
            _ = try upload(p, name: "NVRAM:\(name)", data)
        }
        _ = try upload(p, name: "RAM:max", Array(repeating: 0x41, count: 32768))
        try p.ok("AT+QSECDEL=\"RAM:any name.pem\"")
        #expect(try p.command("AT+QSECDEL=\"RAM:any name.pem\"").final.hasPrefix("+CME ERROR"))
        _ = try upload(p, name: "RAM:any name.pem", data)
        // "+++" after a second of silence ends the upload early: the module reports what it got. Without the
        // silence before it, "+++" is data.
        try p.ok("AT+QSECDEL=\"NVRAM:CK0\"")
        #expect(try p.command("AT+QSECWRITE=\"NVRAM:CK0\",100,100").final == "CONNECT")
        try p.write("abcde+++")
        Thread.sleep(forTimeInterval: 1.5)  // the escape guard (1 s) is the subject
        try p.write("+++")
        let r = try p.response()
        #expect(r.final == "OK")
        #expect(r.lines == ["+QSECWRITE: 8,\(hexString(UploadChecksum.of(Array("abcde+++".utf8))))"])
        #expect(try p.ok("AT+QSECWRITE=?").count == 1)
    }

    @Test func sslConfigurationForms() throws {
        let m = try startSim()
        defer { m.stop() }
        let p = try Port(m.slavePath)
        try p.ok("ATE0")
        #expect(try p.ok("AT+QSSLCFG=?") == ["+QSSLCFG: \"type\",(0-5),\"value\""])
        #expect(try p.ok("AT+QSSLCFG=\"ctxindex\",5") == ["+QSSLCFG: 5,4,0,\"0XFFFF\",\"\",\"\",\"\""])
        try p.ok("AT+QSSLCFG=\"sslversion\",5,1")
        #expect(try p.ok("AT+QSSLCFG=\"sslversion\",5") == ["+QSSLCFG: \"sslversion\",1"])
        #expect(try p.command("AT+QSSLCFG=\"sslversion\",5,5").final == "ERROR")
        #expect(try p.command("AT+QSSLCFG=\"sslversion\",6,1").final == "ERROR")
        try p.ok("AT+QSSLCFG=\"ciphersuite\",5,\"0X0035\"")
        #expect(try p.ok("AT+QSSLCFG=\"ciphersuite\",5") == ["+QSSLCFG: \"ciphersuite\",\"0X0035\""])
        #expect(try p.command("AT+QSSLCFG=\"ciphersuite\",5,\"0X1234\"").final == "ERROR")
        try p.ok("AT+QSSLCFG=\"seclevel\",5,1")
        #expect(try p.ok("AT+QSSLCFG=\"seclevel\",5") == ["+QSSLCFG: \"seclevel\",1"])
        try p.ok("AT+QSSLCFG=\"cacert\",5,\"RAM:ca.pem\"")
        #expect(try p.ok("AT+QSSLCFG=\"cacert\",5") == ["+QSSLCFG: \"cacert\",\"RAM:ca.pem\""])
        try p.ok("AT+QSSLCFG=\"clientcert\",5,\"NVRAM:CC0\"")
        #expect(try p.ok("AT+QSSLCFG=\"clientcert\",5") == ["+QSSLCFG: \"clientcert\",\"NVRAM:CC0\""])
        try p.ok("AT+QSSLCFG=\"clientkey\",5,\"NVRAM:CK0\"")
        #expect(try p.command("AT+QSSLCFG=\"clientkey\",5,\"NVRAM:XX\"").final == "ERROR")
        #expect(try p.ok("AT+QSSLCFG=\"ctxindex\",5")
            == ["+QSSLCFG: 5,1,1,\"0X0035\",\"RAM:ca.pem\",\"NVRAM:CC0\",\"NVRAM:CK0\""])
        try p.ok("AT+QSSLCFG=\"ignorertctime\",0")
        #expect(try p.ok("AT+QSSLCFG=\"ignorertctime\"") == ["+QSSLCFG: \"ignorertctime\",0"])
        try p.ok("AT+QSSLCFG=\"https\",1")
        #expect(try p.ok("AT+QSSLCFG=\"https\"") == ["+QSSLCFG: \"https\",1"])
        #expect(try p.ok("AT+QSSLCFG=\"httpsctxi\"") == ["+QSSLCFG: \"httpsctxi\",-1"])
        try p.ok("AT+QSSLCFG=\"httpsctxi\",2")
        try p.ok("AT+QSSLCFG=\"smtpstyle\",2")
        #expect(try p.ok("AT+QSSLCFG=\"smtpstyle\"") == ["+QSSLCFG: \"smtpstyle\",2"])
        try p.ok("AT+QSSLCFG=\"smtpsctxi\",3")
        #expect(try p.ok("AT+QSSLCFG=\"smtpsctxi\"") == ["+QSSLCFG: \"smtpctxi\",3"])
        #expect(try p.command("AT+QSSLCFG=\"bogus\",1").final == "ERROR")
    }

    @Test func globalSettingRangesAndCipherLists() throws {
        let m = try startSim()
        defer { m.stop() }
        let p = try Port(m.slavePath)
        try p.ok("ATE0")
        for (name, good, bad) in [("httpsctxi", 5, 6), ("smtpstyle", 1, 3), ("ignorertctime", 0, 2), ("https", 1, 2),
                                  ("smtpctxi", 4, 6)] {
            try p.ok("AT+QSSLCFG=\"\(name)\",\(good)")
            #expect(try p.command("AT+QSSLCFG=\"\(name)\",\(bad)").final == "ERROR", "\(name) \(bad)")
            // The refused value left the setting as it was.
            #expect(try p.ok("AT+QSSLCFG=\"\(name)\"") == ["+QSSLCFG: \"\(name)\",\(good)"])
        }
        try p.ok("AT+QSSLCFG=\"ciphersuite\",1,\"0X0035,0X002F,0X000A\"")
        #expect(try p.ok("AT+QSSLCFG=\"ciphersuite\",1") == ["+QSSLCFG: \"ciphersuite\",\"0X0035,0X002F,0X000A\""])
        #expect(try p.ok("AT+QSSLCFG=\"ctxindex\",1") == ["+QSSLCFG: 1,4,0,\"0X0035,0X002F,0X000A\",\"\",\"\",\"\""])
        // One unknown code spoils the list; the old one stays.
        #expect(try p.command("AT+QSSLCFG=\"ciphersuite\",1,\"0X002F,0X1234\"").final == "ERROR")
        #expect(try p.ok("AT+QSSLCFG=\"ciphersuite\",1") == ["+QSSLCFG: \"ciphersuite\",\"0X0035,0X002F,0X000A\""])
    }

    @Test func pdpRulesAndSocketErrors() throws {
        let m = try startSim()
        defer { m.stop() }
        let p = try Port(m.slavePath)
        try p.ok("ATE0")
        // Needs an active PDP context.
        #expect(try p.command("AT+QILOCIP").final == "ERROR")
        #expect(try p.command("AT+QSSLOPEN=0,0,\"127.0.0.1\",443,0").final == "ERROR")
        try p.ok("AT+QIMUX=1")
        #expect(try p.command("AT+QIOPEN=0,\"TCP\",\"127.0.0.1\",80").final == "ERROR")
        try p.ok("AT+QIREGAPP")
        try p.ok("AT+QIACT")
        #expect(try p.command("AT+QIACT").final == "ERROR")
        // Ranges.
        #expect(try p.command("AT+QSSLOPEN=6,0,\"127.0.0.1\",443,0").final == "ERROR")
        #expect(try p.command("AT+QSSLOPEN=0,0,\"127.0.0.1\",443,0,9").final == "ERROR")
        #expect(try p.command("AT+QSSLOPEN=0,0,\"127.0.0.1\",443,0,301").final == "ERROR")
        #expect(try p.command("AT+QSSLOPEN=0,0,\"127.0.0.1\",443,2").final == "ERROR")
        // Not connected.
        #expect(try p.command("AT+QSSLSEND=0,10").final == "ERROR")
        #expect(try p.command("AT+QSSLRECV=0,0,100").final == "ERROR")
        #expect(try p.command("AT+QSSLCLOSE=0").final == "ERROR")
        #expect(try p.command("AT+QSSLSEND=0,1461").final == "ERROR")
        #expect(try p.command("AT+QSSLRECV=0,0,1501").final == "ERROR")
        // SSL 3.0 is not available: the open fails.
        try p.ok("AT+QSSLCFG=\"sslversion\",0,0")
        #expect(try sslOpen(p, ssid: 0, port: 9) == -1)
        // Non-loopback destinations are refused by default.
        try p.ok("AT+QSSLCFG=\"sslversion\",0,4")
        #expect(try sslOpen(p, ssid: 0, port: 443, host: "192.0.2.1") == -1)
        // Nothing listens: -1.
        let closedPort = try unusedPort()
        #expect(try sslOpen(p, ssid: 0, port: closedPort) == -1)
        try p.ok("AT+QIOPEN=2,\"TCP\",\"127.0.0.1\",\(closedPort)")
        #expect(try p.waitURC("2, CONNECT") == "2, CONNECT FAIL")
        let state = try p.ok("AT+QSSLSTATE")
        #expect(state.first == "+QSSLSTATE: \"IP GPRSACT\"")
        #expect(state.count == 7)
        try p.ok("AT+QIDEACT", "DEACT OK")
        #expect(try p.command("AT+QSSLOPEN=0,0,\"127.0.0.1\",443,0").final == "ERROR")
    }

    @Test func clientReopensThePortManyTimes() throws {
        let m = try startSim()
        defer { m.stop() }
        for i in 0..<20 {
            let p = try Port(m.slavePath)
            if i == 0 { try p.ok("ATE0") }
            #expect(try p.ok("AT+GSN") == ["866000000000001"])
        }
    }
}

/// A TCP port on 127.0.0.1 with nothing listening (bound then released).
func unusedPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_addr.s_addr = inet_addr("127.0.0.1")
    a.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &a) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0
        }
    }
    guard ok else { throw TestFailure("bind failed") }
    return Int(UInt16(bigEndian: a.sin_port))
}
