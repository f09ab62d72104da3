import QSSLCore
import Testing

// Golden transcripts: the module side of the application note's examples (3.1, 3.2, 3.3) and of the real-module
// transcripts in spec/facts.md, with the events each must give. Echo is on where the note shows commands.

extension Wire {
    /// Payload bytes that look like framing, finals, prompts and URCs: the parser must count, not read them.
    static let trickyPayload: [UInt8] = bytes("ab\r\nOK\r\n+QSSLURC: \"closed\",1\r\n> \r\nERROR\r\n+QSSLRECV: 1.2.3.4:5,TCP,9\r\nCONNECT\r\n")

    /// 1500 bytes: every byte value, with CR LF OK / URC text spliced in.
    static let binaryPayload: [UInt8] = {
        var d: [UInt8] = []
        var x: UInt8 = 0
        while d.count < 1500 {
            if d.count % 250 == 0 { d += bytes("\r\nOK\r\n+QSSLURC: \"recv\",0,1\r\n\r\n") }
            d.append(x)
            x &+= 7
        }
        return Array(d.prefix(1500))
    }()

    static let transcripts: [GoldenTranscript] = [
        GoldenTranscript(
            "note 3.1 step 1: upload certificates to RAM (CONNECT, +QSECWRITE)",
            echo("AT+QSECWRITE=\"RAM:ca_cert.pem\",1614,100"), connect,
            line("+QSECWRITE: 1614,4039"), ok,
            echo("AT+QSECWRITE=\"RAM:client_cert.pem\",1419,100"), connect,
            line("+QSECWRITE: 1419,618"), ok,
            echo("AT+QSECWRITE=\"RAM:client_key.pem\",1679,100"), connect,
            line("+QSECWRITE: 1679,83a7"), ok),
        GoldenTranscript(
            "note 3.1 step 2: PDP context, AT+QILOCIP bare IP line without OK",
            echo("AT+QIFGCNT=0"), ok,
            echo("AT+QICSGP=1,\"CMNET\""), ok,
            echo("AT+QIREGAPP"), ok,
            echo("AT+QIACT"), ok,
            echo("AT+QILOCIP"), line("10.1.83.188"),
            echo("AT+QIMUX=1"), ok),
        GoldenTranscript(
            "note 3.1 step 3: SSL configuration and +QSECREAD",
            echo("AT+QSSLCFG=\"sslversion\",0,2"), ok,
            echo("AT+QSSLCFG=\"ciphersuite\",0,\"0XFFFF\""), ok,
            echo("AT+QSSLCFG=\"seclevel\",0,2"), ok,
            echo("AT+QSECREAD=\"RAM:ca_cert.pem\""), line("+QSECREAD: 1,4039"), ok,
            echo("AT+QSECREAD=\"RAM:client_cert.pem\""), line("+QSECREAD: 1,618"), ok,
            echo("AT+QSECREAD=\"RAM:client_key.pem\""), line("+QSECREAD: 1,83a7"), ok,
            echo("AT+QSSLCFG=\"cacert\",0,\"RAM:ca_cert.pem\""), ok),
        GoldenTranscript(
            "note 3.1 step 4: open, send with prompt, recv URC, QSSLRECV (note form, blank line before OK)",
            echo("AT+QSSLOPEN=1,0,\"116.247.104.27\",465,0"), ok,
            urc("+QSSLOPEN: 1,0", .sslOpen(ssid: 1, code: 0)),
            echo("AT+QSSLSEND=1,12"), prompt, fin("SEND OK", .sendOK),
            echo("AT+QSSLSEND=1"), prompt, fin("SEND OK", .sendOK),
            urc("+QSSLURC: \"recv\",0,1", .sslRecv(cid: 0, ssid: 1)),
            echo("AT+QSSLRECV=0,1,1500"), payload(.ssl, "116.247.104.27:465", bytes("1234567")), silent("\r\n"), ok),
        GoldenTranscript(
            "note 3.1 step 5: '1, CLOSE OK', QSECDEL, DEACT OK",
            echo("AT+QSSLCLOSE=1"), fin("1, CLOSE OK", .closeOK(1)),
            echo("AT+QSECDEL=\"RAM:ca_cert.pem\""), ok,
            echo("AT+QSECDEL=\"RAM:client_cert.pem\""), ok,
            echo("AT+QSECDEL=\"RAM:client_key.pem\""), ok,
            echo("AT+QIDEACT"), fin("DEACT OK", .deactOK)),
        GoldenTranscript(
            "note 3.2: NVRAM certificates, open/send/recv/close",
            echo("AT+QSECWRITE=\"NVRAM:CA0\",1614,100"), connect, line("+QSECWRITE: 1614,4039"), ok,
            echo("AT+QSECREAD=\"NVRAM:CA0\""), line("+QSECREAD: 1,4039"), ok,
            echo("AT+QSSLCFG=\"clientkey\",0,\"NVRAM:CK0\""), ok,
            echo("AT+QSSLOPEN=1,0,\"116.247.104.27\",465,0"), ok,
            urc("+QSSLOPEN: 1,0", .sslOpen(ssid: 1, code: 0)),
            echo("AT+QSSLSEND=1,12"), prompt, fin("SEND OK", .sendOK),
            urc("+QSSLURC: \"recv\",0,1", .sslRecv(cid: 0, ssid: 1)),
            echo("AT+QSSLRECV=0,1,1500"), payload(.ssl, "116.247.104.27:465", bytes("1234567")), silent("\r\n"), ok,
            echo("AT+QSSLCLOSE=1"), fin("1, CLOSE OK", .closeOK(1)),
            echo("AT+QIDEACT"), fin("DEACT OK", .deactOK)),
        GoldenTranscript(
            "note 3.3 step 2: plain TCP beside SSL (QIOPEN, CONNECT OK URC, QISEND, +QIRDI, QIRD)",
            echo("AT+QIMUX=1"), ok,
            echo("AT+QINDI=1"), ok,
            echo("AT+QIOPEN=1,\"TCP\",\"116.247.104.27\",6021"), ok,
            urc("1, CONNECT OK", .tcpConnect(id: 1, ok: true)),
            echo("AT+QISEND=1,10"), prompt, fin("SEND OK", .sendOK),
            urc("+QIRDI: 0,1,1", .tcpRecv(cid: 0, sc: 1, sid: 1)),
            echo("AT+QIRD=0,1,1,1024"), payload(.tcp, "116.247.104.27:6021", bytes("Abcde")), silent("\r\n"), ok),
        GoldenTranscript(
            "note 3.3 steps 3-4: SSL on socket 3, close both sockets",
            echo("AT+QSSLCFG=\"seclevel\",0,0"), ok,
            echo("AT+QSSLOPEN=3,0,\"124.74.41.170\",5115,0"), ok,
            urc("+QSSLOPEN: 3,0", .sslOpen(ssid: 3, code: 0)),
            echo("AT+QSSLSEND=3,12"), prompt, fin("SEND OK", .sendOK),
            urc("+QSSLURC: \"recv\",0,3", .sslRecv(cid: 0, ssid: 3)),
            echo("AT+QSSLRECV=0,3,1000"), payload(.ssl, "124.74.41.170:5115", bytes("1234567")), silent("\r\n"), ok,
            echo("AT+QSSLCLOSE=3"), fin("3, CLOSE OK", .closeOK(3)),
            echo("AT+QICLOSE=1"), fin("1, CLOSE OK", .closeOK(1)),
            echo("AT+QIDEACT"), fin("DEACT OK", .deactOK)),
        GoldenTranscript(
            "note's typographic quotes in +QSSLURC",
            urc("+QSSLURC: \u{201C}recv\u{201D},0,1", .sslRecv(cid: 0, ssid: 1)),
            urc("+QSSLURC: \u{201C}closed\u{201D},1", .sslClosed(ssid: 1))),
        GoldenTranscript(
            "facts: real QSSLOPEN, OK then +QSSLOPEN URC later (echo off)",
            ok, urc("+QSSLOPEN: 1,0", .sslOpen(ssid: 1, code: 0)),
            ok, urc("+QSSLOPEN: 2,-1", .sslOpen(ssid: 2, code: -1))),
        GoldenTranscript(
            "facts: real M95 QSSLRECV without blank line before OK",
            payload(.ssl, "54.216.215.33:8883", bytes("0")), ok),
        GoldenTranscript(
            "facts: empty module buffer is just OK",
            echo("AT+QSSLRECV=0,1,1500"), ok, ok),
        GoldenTranscript(
            "payload containing CR LF OK, a closed URC, a prompt and a header",
            urc("+QSSLURC: \"recv\",0,1", .sslRecv(cid: 0, ssid: 1)),
            payload(.ssl, "10.0.0.1:443", trickyPayload), silent("\r\n"), ok,
            payload(.ssl, "10.0.0.1:443", trickyPayload), ok),
        GoldenTranscript(
            "payload followed directly by a URC, then OK",
            payload(.ssl, "1.2.3.4:8883", bytes("hello")),
            urc("+QSSLURC: \"closed\",1", .sslClosed(ssid: 1)), ok,
            payload(.ssl, "1.2.3.4:8883", bytes("x\r\n")),
            silent("\r\n+QSSLURC: \"recv\",0,2\r\n"), [WireStep(send: [], expect: [.urc(.sslRecv(cid: 0, ssid: 2))])],
            silent("\r\n"), ok),
        GoldenTranscript(
            "1500-byte binary payloads drained back to back, then empty OK",
            payload(.ssl, "54.216.215.33:8883", binaryPayload), ok,
            payload(.ssl, "54.216.215.33:8883", binaryPayload), silent("\r\n"), ok,
            payload(.tcp, "54.216.215.33:80", binaryPayload), ok,
            ok),
        GoldenTranscript(
            "start-up with echo on: RDY, +CFUN, +CPIN, Call Ready, SMS Ready around AT/ATE0/AT+CMEE=1",
            urc("RDY", .ready), urc("+CFUN: 1", .cfun(1)), urc("+CPIN: READY", .cpin("READY")),
            echo("AT"), ok,
            echo("AT"), ok,
            echo("ATE0"), ok,
            urc("Call Ready", .callReady),
            ok,
            urc("SMS Ready", .smsReady)),
        GoldenTranscript(
            "lower-case echo and echo with stray CR",
            echo("at"), ok,
            echo("at+cmee=1"), silent("\r"), ok),
        GoldenTranscript(
            "voltage URCs with trailing space between response lines",
            echo("ATI"), line("Quectel_Ltd"),
            [WireStep(send: Wire.bytes("\r\nUNDER_VOLTAGE WARNING \r\n"), expect: [.urc(.voltage("UNDER_VOLTAGE WARNING"))])],
            line("Quectel_M95"), line("Revision: M95FAR02A08"), silent("\r\n"), ok,
            [WireStep(send: Wire.bytes("\r\nOVER_VOLTAGE POWER DOWN \r\n"), expect: [.urc(.voltage("OVER_VOLTAGE POWER DOWN"))])],
            urc("NORMAL POWER DOWN", .voltage("NORMAL POWER DOWN"))),
        GoldenTranscript(
            "CME and CMS errors",
            echo("AT+QSECREAD=\"RAM:nofile\""), fin("+CME ERROR: 50", .cmeError(50)),
            fin("+CME ERROR: 3", .cmeError(3)),
            fin("+CMS ERROR: 500", .cmsError(500)),
            fin("ERROR", .error)),
        GoldenTranscript(
            "prompt after echo; SEND FAIL; ERROR on a broken link",
            echo("AT+QSSLSEND=1,5"), prompt, fin("SEND OK", .sendOK),
            echo("AT+QSSLSEND=1,5"), prompt, fin("SEND FAIL", .sendFail),
            echo("AT+QSSLSEND=1,5"), fin("ERROR", .error)),
        GoldenTranscript(
            "URC before a prompt and between response lines",
            echo("AT+QSSLSEND=1,4"),
            urc("+QSSLURC: \"recv\",0,1", .sslRecv(cid: 0, ssid: 1)),
            prompt, urc("+QSSLURC: \"recv\",0,2", .sslRecv(cid: 0, ssid: 2)), fin("SEND OK", .sendOK),
            echo("AT+QSSLSTATE"), line("+QSSLSTATE: \"IP STATUS\""),
            urc("RING", .ring),
            line("+QSSLSTATE: 1,\"TCP\",\"1.2.3.4\",443,\"CONNECTED\",1"), ok),
        GoldenTranscript(
            "bare LF framing",
            [WireStep(send: Wire.bytes("AT\nOK\n\n+QSSLURC: \"recv\",0,1\n+QSSLRECV: 1.2.3.4:5,TCP,3\nA\nB\nOK\n> SEND OK\n"),
                      expect: [.echo("AT"), .final(.ok), .urc(.sslRecv(cid: 0, ssid: 1)),
                               .payload(ATPayload(kind: .ssl, peer: "1.2.3.4:5", data: Wire.bytes("A\nB"))),
                               .final(.ok), .prompt, .final(.sendOK)])]),
        GoldenTranscript(
            "stray CRs",
            [WireStep(send: Wire.bytes("\r\r\nOK\r\r\n\rRDY\r\r\r\n+QSSLRECV: 1.2.3.4:5,TCP,2\r\r\n\r\nxy\r\r\nOK\r"),
                      expect: [.final(.ok), .urc(.ready),
                               .payload(ATPayload(kind: .ssl, peer: "1.2.3.4:5", data: Wire.bytes("\r\n"))),
                               .line("xy"), .final(.ok)])]),
        GoldenTranscript(
            "remote close, PDP deactivation, TCP closed URC",
            urc("+QSSLURC: \"closed\",1", .sslClosed(ssid: 1)),
            urc("1, CLOSED", .tcpClosed(id: 1)),
            urc("+PDP DEACT", .pdpDeact),
            echo("AT+QSSLCLOSE=1"), fin("CLOSE OK", .closeOK(nil))),
        GoldenTranscript(
            "QIOPEN failures: CONNECT FAIL URC, ALREADY CONNECT final",
            echo("AT+QIOPEN=2,\"TCP\",\"1.2.3.4\",80"), ok, urc("2, CONNECT FAIL", .tcpConnect(id: 2, ok: false)),
            echo("AT+QIOPEN=1,\"TCP\",\"1.2.3.4\",80"), fin("ALREADY CONNECT", .alreadyConnect),
            echo("AT+QIOPEN=1,\"TCP\",\"1.2.3.4\",80"), fin("1, ALREADY CONNECT", .alreadyConnect)),
        GoldenTranscript(
            "facts: short upload (+QSECWRITE reports fewer bytes) and registration URCs",
            echo("AT+QSECWRITE=\"NVRAM:CC0\",1467,100"), connect, line("+QSECWRITE: 1392,235a"), ok,
            urc("+CREG: 1", .creg("1")), urc("+CGREG: 5", .cgreg("5")),
            urc("+CMTI: \"SM\",3", .cmti("\"SM\",3"))),
        GoldenTranscript(
            "malformed headers stay lines and do not swallow the stream",
            line("+QSSLRECV: 1.2.3.4:5,TCP,99999"), ok,
            line("+QSSLRECV: 1.2.3.4:5,TCP,1501"), ok,
            line("+QSSLRECV: 1.2.3.4:5,TCP,abc"), ok,
            line("+QSSLRECV: (0,1),(0-5),(1-1500)"), ok,
            line("+QIRD: garbage"), ok),
        GoldenTranscript(
            "over-long line is truncated, next lines intact",
            [WireStep(send: Wire.bytes("\r\n" + String(repeating: "x", count: 5000) + "\r\n"),
                      expect: [.line(String(repeating: "x", count: 4096))])],
            ok, urc("RDY", .ready)),
        GoldenTranscript(
            "transparent mode: CONNECT switches to raw within the chunk",
            rawOnConnect: true,
            echo("AT+QSSLOPEN=1,0,\"1.2.3.4\",443,1"), ok,
            [WireStep(send: Wire.bytes("\r\nCONNECT\r\nhello\r\nOK\r\n+QSSLURC: \"closed\",1\r\n> "),
                      expect: [.connect, .raw(Wire.bytes("hello\r\nOK\r\n+QSSLURC: \"closed\",1\r\n> "))])]),
    ]
}

@Suite struct ParserTranscriptTests {
    @Test func enoughTranscripts() {
        #expect(Wire.transcripts.count >= 20)
        let names = Wire.transcripts.map(\.name)
        #expect(Set(names).count == names.count)
        // The required cases are present.
        let tricky = String(decoding: Wire.trickyPayload, as: UTF8.self)
        #expect(tricky.contains("\r\nOK\r\n") && tricky.contains("+QSSLURC: \"closed\",1"))
    }

    @Test(arguments: Wire.transcripts)
    func everyChunkingGivesTheGoldenEvents(_ t: GoldenTranscript) {
        let stream = t.stream
        let expected = normalizedEvents(t.expected)
        let whole = parserFeedAll(stream, rawOnConnect: t.rawOnConnect)
        #expect(whole == expected, "all at once")

        let bytewise = parserFeedBytewise(stream, rawOnConnect: t.rawOnConnect)
        #expect(bytewise == expected, "one byte at a time")

        var rng = ParserRNG(seed: 0x5EED_0000 &+ UInt64(stream.count))
        var randomFailures: [Int] = []
        for k in 0..<200 {
            let sizes = parserRandomSizes(count: stream.count, rng: &rng)
            if parserFeedChunked(stream, sizes: sizes, rawOnConnect: t.rawOnConnect) != expected {
                randomFailures.append(k)
            }
        }
        #expect(randomFailures.isEmpty, "random splits failing: \(randomFailures)")

        // Every two-chunk split.
        var cutFailures: [Int] = []
        for cut in 1..<max(1, stream.count) {
            if parserFeedChunked(stream, sizes: [cut], rawOnConnect: t.rawOnConnect) != expected {
                cutFailures.append(cut)
            }
        }
        #expect(cutFailures.isEmpty, "two-chunk cuts failing: \(cutFailures.prefix(10))")
    }
}
