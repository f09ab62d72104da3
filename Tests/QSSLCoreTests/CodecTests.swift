import QSSLCore
import Testing

@Suite struct CodecArgumentTests {
    @Test(arguments: ["a\"b", "a\rb", "a\nb", "a\u{1}b", "a\u{7f}b", "\u{0}", "", "x\u{1b}[2J"])
    func unsafeStringsRejected(_ s: String) {
        #expect(!ATArgument.isSafe(s))
        #expect(throws: QsslError.invalidArgument) { try ATArgument.quoted(s) }
    }

    @Test func safeStrings() throws {
        #expect(ATArgument.isSafe("host.example.com"))
        #expect(ATArgument.isSafe("", allowEmpty: true))
        #expect(try ATArgument.quoted("CMNET") == "\"CMNET\"")
        #expect(!ATArgument.isSafe(String(repeating: "a", count: ATArgument.maxLength + 1)))
    }

    @Test func fieldsSplitting() {
        #expect(splitResponseFields(" 1,\"a,b\", 3 ") == ["1", "a,b", "3"])
        #expect(splitResponseFields("\"IP STATUS\"") == ["IP STATUS"])
        #expect(splitResponseFields("0,\"\",x") == ["0", "", "x"])
        #expect(parseDecimal(" -2") == -2)
        #expect(parseDecimal("1 2") == nil)
        #expect(parseDecimal("") == nil)
    }
}

@Suite struct CodecCertNameTests {
    @Test func validNames() throws {
        let r = try CertName("RAM:ca_cert.pem")
        #expect(r.storage == .ram && r.file == "ca_cert.pem" && r.maxFileSize == 32768)
        for f in ["CA0", "CA1", "CC0", "CK0"] {
            let n = try CertName("NVRAM:" + f)
            #expect(n.storage == .nvram && n.text == "NVRAM:" + f && n.maxFileSize == 2025)
        }
    }

    @Test(arguments: ["RAM:", "NVRAM:CA2", "NVRAM:ca0", "ram:x", "x.pem", "RAM:a\"b", "RAM:a\nb", "RAM:a:b",
                      "NVRAM:", "FLASH:x"])
    func invalidNames(_ s: String) {
        #expect(throws: QsslError.invalidArgument) { try CertName(s) }
    }

    @Test func sizeLimits() throws {
        let ram = try CertName("RAM:k")
        let nv = try CertName("NVRAM:CK0")
        try ram.checkSize(32768)
        try nv.checkSize(2025)
        #expect(throws: QsslError.invalidArgument) { try ram.checkSize(32769) }
        #expect(throws: QsslError.invalidArgument) { try nv.checkSize(2026) }
        #expect(throws: QsslError.invalidArgument) { try ram.checkSize(0) }
    }
}

@Suite struct CodecCommandTests {
    @Test func certificateCommands() throws {
        let n = try CertName("RAM:ca_cert.pem")
        #expect(try ATCommands.secWrite(n, size: 1614, timeoutS: 100) == "AT+QSECWRITE=\"RAM:ca_cert.pem\",1614,100")
        #expect(ATCommands.secRead(n) == "AT+QSECREAD=\"RAM:ca_cert.pem\"")
        #expect(ATCommands.secDelete(try CertName("NVRAM:CA0")) == "AT+QSECDEL=\"NVRAM:CA0\"")
        #expect(throws: QsslError.invalidArgument) { try ATCommands.secWrite(n, size: 10, timeoutS: 2) }
        #expect(throws: QsslError.invalidArgument) {
            try ATCommands.secWrite(try CertName("NVRAM:CA0"), size: 2026)
        }
    }

    @Test func pdpCommands() throws {
        #expect(try ATCommands.setForegroundContext(0) == "AT+QIFGCNT=0")
        #expect(try ATCommands.setAPN("CMNET") == "AT+QICSGP=1,\"CMNET\"")
        #expect(try ATCommands.setAPN("apn", user: "u", password: "p") == "AT+QICSGP=1,\"apn\",\"u\",\"p\"")
        #expect(throws: QsslError.invalidArgument) { try ATCommands.setAPN("") }
        #expect(throws: QsslError.invalidArgument) { try ATCommands.setAPN("a\",\"b") }
        #expect(throws: QsslError.invalidArgument) { try ATCommands.setAPN("a", user: "x\r\nAT+CFUN=0") }
        #expect(throws: QsslError.invalidArgument) { try ATCommands.setForegroundContext(2) }
    }

    @Test func sslConfigCommands() throws {
        #expect(try ATCommands.sslSet(.sslVersion(.tls1_1), context: 0) == "AT+QSSLCFG=\"sslversion\",0,2")
        #expect(try ATCommands.sslSet(.cipherSuites([.all]), context: 0) == "AT+QSSLCFG=\"ciphersuite\",0,\"0XFFFF\"")
        #expect(try ATCommands.sslSet(.cipherSuites([.rsaAES256CBCSHA, .rsaAES128CBCSHA]), context: 5)
                == "AT+QSSLCFG=\"ciphersuite\",5,\"0X0035,0X002F\"")
        #expect(try ATCommands.sslSet(.secLevel(.serverAndClient), context: 0) == "AT+QSSLCFG=\"seclevel\",0,2")
        #expect(try ATCommands.sslSet(.caCert(try CertName("RAM:ca_cert.pem")), context: 0)
                == "AT+QSSLCFG=\"cacert\",0,\"RAM:ca_cert.pem\"")
        #expect(try ATCommands.sslSet(.clientCert(try CertName("NVRAM:CC0")), context: 1)
                == "AT+QSSLCFG=\"clientcert\",1,\"NVRAM:CC0\"")
        #expect(try ATCommands.sslSet(.clientKey(try CertName("NVRAM:CK0")), context: 1)
                == "AT+QSSLCFG=\"clientkey\",1,\"NVRAM:CK0\"")
        #expect(try ATCommands.sslSet(.ignoreRTCTime(true), context: 9) == "AT+QSSLCFG=\"ignorertctime\",1")
        #expect(try ATCommands.sslSet(.https(false), context: 0) == "AT+QSSLCFG=\"https\",0")
        #expect(try ATCommands.sslSet(.httpsContext(3), context: 0) == "AT+QSSLCFG=\"httpsctxi\",3")
        #expect(try ATCommands.sslSet(.smtpStyle(.startTLS), context: 0) == "AT+QSSLCFG=\"smtpstyle\",2")
        #expect(try ATCommands.sslSet(.smtpsContext(4), context: 0) == "AT+QSSLCFG=\"smtpsctxi\",4")
        #expect(try ATCommands.sslQuery(.secLevel, context: 2) == "AT+QSSLCFG=\"seclevel\",2")
        #expect(try ATCommands.sslQuery(.https, context: 2) == "AT+QSSLCFG=\"https\"")
        #expect(try ATCommands.sslQueryContext(0) == "AT+QSSLCFG=\"ctxindex\",0")
        #expect(throws: QsslError.invalidArgument) { try ATCommands.sslSet(.sslVersion(.all), context: 6) }
        #expect(throws: QsslError.invalidArgument) { try ATCommands.sslSet(.httpsContext(6), context: 0) }
        #expect(throws: QsslError.invalidArgument) { try ATCommands.sslSet(.cipherSuites([]), context: 0) }
        #expect(throws: QsslError.invalidArgument) {
            try ATCommands.sslSet(.cipherSuites([.all, .rsaRC4128MD5]), context: 0)
        }
        #expect(throws: QsslError.invalidArgument) {
            try ATCommands.sslSet(.cipherSuites([.rsaRC4128MD5, .rsaRC4128MD5]), context: 0)
        }
        #expect(throws: QsslError.invalidArgument) { try ATCommands.sslSet(.caCert(nil), context: 0) }
    }

    /// The note lists six suites plus 0xFFFF: all six together is the longest list, 0xFFFF only alone.
    @Test func suiteListLimits() throws {
        let six: [CipherSuite] = [.rsaAES256CBCSHA, .rsaAES128CBCSHA, .rsaRC4128SHA, .rsaRC4128MD5,
                                  .rsa3DESEDECBCSHA, .rsaAES256CBCSHA256]
        #expect(try ATCommands.suiteList(six) == "\"0X0035,0X002F,0X0005,0X0004,0X000A,0X003D\"")
        #expect(throws: QsslError.invalidArgument) { try ATCommands.checkSuites(six + [.all]) }
        #expect(throws: QsslError.invalidArgument) { try ATCommands.checkSuites(six + [six[0]]) }
        #expect(throws: QsslError.invalidArgument) {
            try SSLContextConfig(cipherSuites: [.all, .rsaAES128CBCSHA]).validate()
        }
        try SSLContextConfig(cipherSuites: six).validate()
    }

    @Test func cipherSuiteCodes() {
        #expect(CipherSuite(rawValue: 0x0035) == .rsaAES256CBCSHA)
        #expect(CipherSuite(rawValue: 0x0001) == nil)
        #expect(CipherSuite.rsa3DESEDECBCSHA.text == "0X000A")
        #expect(CipherSuite.parse("0XFFFF") == .all)
        #expect(CipherSuite.parse("0x3d") == .rsaAES256CBCSHA256)
        #expect(CipherSuite.parse("0X1234") == nil)
        #expect(SSLVersion(rawValue: 4) == .all && SSLVersion(rawValue: 5) == nil)
        #expect(SecLevel(rawValue: 2) == .serverAndClient && SecLevel(rawValue: 3) == nil)
    }

    @Test func contextValidation() throws {
        let ca = try CertName("RAM:ca.pem")
        try SSLContextConfig(context: 5).validate()
        #expect(throws: QsslError.invalidArgument) { try SSLContextConfig(context: 6).validate() }
        #expect(throws: QsslError.invalidArgument) { try SSLContextConfig(secLevel: .server).validate() }
        try SSLContextConfig(secLevel: .server, caCert: ca).validate()
        #expect(throws: QsslError.invalidArgument) {
            try SSLContextConfig(secLevel: .serverAndClient, caCert: ca, clientCert: ca).validate()
        }
        let full = SSLContextConfig(context: 0, version: .tls1_1, cipherSuites: [.all], secLevel: .serverAndClient,
                                    caCert: ca, clientCert: try CertName("RAM:cc.pem"),
                                    clientKey: try CertName("RAM:ck.pem"))
        try full.validate()
        #expect(try ATCommands.sslConfigure(full) == [
            "AT+QSSLCFG=\"sslversion\",0,2", "AT+QSSLCFG=\"ciphersuite\",0,\"0XFFFF\"",
            "AT+QSSLCFG=\"seclevel\",0,2", "AT+QSSLCFG=\"cacert\",0,\"RAM:ca.pem\"",
            "AT+QSSLCFG=\"clientcert\",0,\"RAM:cc.pem\"", "AT+QSSLCFG=\"clientkey\",0,\"RAM:ck.pem\"",
        ])
    }

    @Test func socketCommands() throws {
        #expect(try ATCommands.sslOpen(socket: 1, context: 0, host: "116.247.104.27", port: 465, transparent: false)
                == "AT+QSSLOPEN=1,0,\"116.247.104.27\",465,0,90")
        #expect(try ATCommands.sslOpen(socket: 3, context: 0, host: "h", port: 1, transparent: true, timeoutS: 10)
                == "AT+QSSLOPEN=3,0,\"h\",1,1,10")
        #expect(throws: QsslError.invalidArgument) {
            try ATCommands.sslOpen(socket: 1, context: 0, host: "h\",1,0\r\nAT+CFUN=0", port: 1, transparent: false)
        }
        #expect(throws: QsslError.invalidArgument) {
            try ATCommands.sslOpen(socket: 1, context: 0, host: "h", port: 1, transparent: false, timeoutS: 301)
        }
        #expect(throws: QsslError.invalidArgument) {
            try ATCommands.sslOpen(socket: 6, context: 0, host: "h", port: 1, transparent: false)
        }
        #expect(throws: QsslError.invalidArgument) {
            try ATCommands.sslOpen(socket: 0, context: 0, host: "h", port: 0, transparent: false)
        }
        #expect(try ATCommands.sslSend(socket: 1, length: 12) == "AT+QSSLSEND=1,12")
        #expect(throws: QsslError.invalidArgument) { try ATCommands.sslSend(socket: 1, length: 1461) }
        #expect(try ATCommands.sslRecv(cid: 0, socket: 1) == "AT+QSSLRECV=0,1,1500")
        #expect(throws: QsslError.invalidArgument) { try ATCommands.sslRecv(cid: 0, socket: 1, length: 1501) }
        #expect(try ATCommands.sslClose(socket: 3) == "AT+QSSLCLOSE=3")
        #expect(try ATCommands.tcpOpen(socket: 1, host: "116.247.104.27", port: 6021)
                == "AT+QIOPEN=1,\"TCP\",\"116.247.104.27\",6021")
        #expect(try ATCommands.tcpSend(socket: 1, length: 10) == "AT+QISEND=1,10")
        #expect(try ATCommands.tcpRead(cid: 0, sc: 1, socket: 1, length: 1024) == "AT+QIRD=0,1,1,1024")
        #expect(try ATCommands.tcpClose(socket: 1) == "AT+QICLOSE=1")
    }
}

@Suite struct CodecDecoderTests {
    @Test func secWrite() throws {
        let r = try ATDecoders.secWrite(["+QSECWRITE: 1614,4039"])
        #expect(r.size == 1614 && r.checksum == 0x4039)
        try ATDecoders.verifyUpload(["+QSECWRITE: 1419,618"], sentSize: 1419, sentChecksum: 0x0618)
        #expect(throws: QsslError.checksum) {
            try ATDecoders.verifyUpload(["+QSECWRITE: 1392,235a"], sentSize: 1467, sentChecksum: 0x235a)
        }
        #expect(throws: QsslError.checksum) {
            try ATDecoders.verifyUpload(["+QSECWRITE: 1419,619"], sentSize: 1419, sentChecksum: 0x0618)
        }
        #expect(throws: QsslError.proto) { try ATDecoders.secWrite([]) }
        #expect(throws: QsslError.proto) { try ATDecoders.secWrite(["+QSECWRITE: x,1"]) }
    }

    @Test func secRead() throws {
        #expect(try ATDecoders.secReadGood(["+QSECREAD: 1,4039"]))
        #expect(try !ATDecoders.secReadGood(["+QSECREAD: 0,0"]))
        #expect(throws: QsslError.proto) { try ATDecoders.secReadGood(["+QSECREAD: 2,0"]) }
    }

    @Test func openCodes() {
        #expect(ATDecoders.sslOpenError(code: 0) == nil)
        #expect(ATDecoders.sslOpenError(code: -1) == .connectFailed)
        #expect(ATDecoders.sslOpenError(code: -2) == .occupied)
    }

    @Test func settings() throws {
        #expect(try ATDecoders.sslSetting(.sslVersion, ["+QSSLCFG: \"sslversion\",2"]) == .sslVersion(.tls1_1))
        // Numbers past Int32 are a bad answer, not a trap (found by the decoders fuzz target).
        #expect(throws: QsslError.proto) { try ATDecoders.sslSetting(.sslVersion, ["+QSSLCFG: \"sslversion\",99999999999"]) }
        #expect(throws: QsslError.proto) {
            try ATDecoders.sslContext(["+QSSLCFG: 0,4294967296,0,\"0XFFFF\",\"\",\"\",\"\""])
        }
        #expect(try ATDecoders.sslSetting(.sslVersion, ["+QSSLCFG: \"sslversion\",0,3"]) == .sslVersion(.tls1_2))
        #expect(try ATDecoders.sslSetting(.cipherSuite, ["+QSSLCFG: \"ciphersuite\",0XFFFF"]) == .cipherSuites([.all]))
        #expect(try ATDecoders.sslSetting(.cipherSuite, ["+QSSLCFG: \"ciphersuite\",1,\"0X0035,0X002F\""])
                == .cipherSuites([.rsaAES256CBCSHA, .rsaAES128CBCSHA]))
        #expect(try ATDecoders.sslSetting(.secLevel, ["+QSSLCFG: \"seclevel\",1"]) == .secLevel(.server))
        #expect(try ATDecoders.sslSetting(.caCert, ["+QSSLCFG: \"cacert\",\"RAM:ca.pem\""])
                == .caCert(try CertName("RAM:ca.pem")))
        #expect(try ATDecoders.sslSetting(.clientCert, ["+QSSLCFG: \"clientcert\",0,\"NVRAM:CC0\""])
                == .clientCert(try CertName("NVRAM:CC0")))
        #expect(try ATDecoders.sslSetting(.clientKey, ["+QSSLCFG: \"clientkey\",\"\""]) == .clientKey(nil))
        #expect(try ATDecoders.sslSetting(.ignoreRTCTime, ["+QSSLCFG: \"ignorertctime\",1"]) == .ignoreRTCTime(true))
        #expect(try ATDecoders.sslSetting(.https, ["+QSSLCFG: \"https\",0"]) == .https(false))
        #expect(try ATDecoders.sslSetting(.httpsContext, ["+QSSLCFG: \"httpsctxi\",-1"]) == .httpsContext(-1))
        #expect(try ATDecoders.sslSetting(.smtpStyle, ["+QSSLCFG: \"smtpstyle\",2"]) == .smtpStyle(.startTLS))
        #expect(try ATDecoders.sslSetting(.smtpsContext, ["+QSSLCFG: \"smtpctxi\",3"]) == .smtpsContext(3))
        #expect(try ATDecoders.sslSetting(.smtpsContext, ["+QSSLCFG: \"smtpsctxi\",3"]) == .smtpsContext(3))
        #expect(throws: QsslError.proto) { try ATDecoders.sslSetting(.https, ["+QSSLCFG: \"seclevel\",1"]) }
        #expect(throws: QsslError.proto) { try ATDecoders.sslSetting(.sslVersion, ["+QSSLCFG: \"sslversion\",9"]) }
    }

    @Test func contextLine() throws {
        let c = try ATDecoders.sslContext(["+QSSLCFG: 0,2,2,\"0XFFFF\",\"RAM:ca_cert.pem\",\"RAM:client_cert.pem\",\"RAM:client_key.pem\""])
        #expect(c == SSLContextConfig(context: 0, version: .tls1_1, cipherSuites: [.all], secLevel: .serverAndClient,
                                      caCert: try CertName("RAM:ca_cert.pem"),
                                      clientCert: try CertName("RAM:client_cert.pem"),
                                      clientKey: try CertName("RAM:client_key.pem")))
        let d = try ATDecoders.sslContext(["+QSSLCFG: 3,4,0,0X0035,0X003D,\"\",\"\",\"\""])
        #expect(d.context == 3 && d.cipherSuites == [.rsaAES256CBCSHA, .rsaAES256CBCSHA256] && d.caCert == nil)
        #expect(throws: QsslError.proto) { try ATDecoders.sslContext(["+QSSLCFG: 0,2"]) }
    }

    @Test func state() throws {
        let r = try ATDecoders.sslState([
            "+QSSLSTATE: \"IP STATUS\"",
            "+QSSLSTATE: 1,\"TCP\",\"116.247.104.27\",465,\"CONNECTED\",1",
            "+QSSLSTATE: 3,\"TCP\",\"10.0.0.1\",6021,\"REMOTE CLOSING\",0",
        ])
        #expect(r.ipState == .status && r.ipStateText == "IP STATUS")
        #expect(r.sockets == [
            SocketStateEntry(index: 1, type: "TCP", address: "116.247.104.27", port: 465, status: .connected, isSSL: true),
            SocketStateEntry(index: 3, type: "TCP", address: "10.0.0.1", port: 6021, status: .remoteClosing, isSSL: false),
        ])
        #expect(try ATDecoders.sslState(["+QSSLSTATE: PDP DEACT"]).ipState == .pdpDeact)
        #expect(throws: QsslError.proto) { try ATDecoders.sslState(["+QSSLSTATE: 1,\"TCP\",\"x\",y,\"CLOSED\",0"]) }
    }

    @Test func diagnostics() throws {
        #expect(try ATDecoders.attached(["+CGATT: 1"]))
        #expect(try !ATDecoders.attached(["+CGATT: 0"]))
        #expect(try ATDecoders.registrationStatus(["+CGREG: 0,5"]) == 5)
        #expect(ATDecoders.isRegistered(1) && ATDecoders.isRegistered(5) && !ATDecoders.isRegistered(2))
        #expect(ATDecoders.registeredAPN(["+QIREGAPP: \"CMNET\",\"\",\"\""]) == "CMNET")
        #expect(ATDecoders.registeredAPN(["+QIREGAPP: \"\",\"\",\"\""]) == "")
        #expect(ATDecoders.activeContexts(["+CGACT: 1,1", "+CGACT: 2,0"]) == [1])
        #expect(try ATDecoders.localIP(["10.1.83.188"]) == "10.1.83.188")
        #expect(throws: QsslError.proto) { try ATDecoders.localIP(["ERROR"]) }
        #expect(throws: QsslError.proto) { try ATDecoders.localIP(["10.1.300.1"]) }
    }
}
