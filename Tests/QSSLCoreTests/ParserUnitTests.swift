@testable import QSSLCore
import Testing

/// One framed line and the single event it must give.
struct LineCase: Sendable, CustomStringConvertible {
    var text: String
    var event: ATEvent
    var description: String { text }
    init(_ text: String, _ event: ATEvent) {
        self.text = text
        self.event = event
    }
}

@Suite struct ParserURCTests {
    static let urcCases: [LineCase] = [
        LineCase("+QSSLURC: \"recv\",0,1", .urc(.sslRecv(cid: 0, ssid: 1))),
        LineCase("+QSSLURC: \"recv\",2,5", .urc(.sslRecv(cid: 2, ssid: 5))),
        LineCase("+QSSLURC:\"recv\",1,3", .urc(.sslRecv(cid: 1, ssid: 3))),
        LineCase("+QSSLURC: \"closed\",4", .urc(.sslClosed(ssid: 4))),
        LineCase("+QSSLURC: \u{201C}closed\u{201D},0", .urc(.sslClosed(ssid: 0))),
        LineCase("+QSSLOPEN: 1,0", .urc(.sslOpen(ssid: 1, code: 0))),
        LineCase("+QSSLOPEN: 5,-2", .urc(.sslOpen(ssid: 5, code: -2))),
        LineCase("0, CONNECT OK", .urc(.tcpConnect(id: 0, ok: true))),
        LineCase("3, CONNECT FAIL", .urc(.tcpConnect(id: 3, ok: false))),
        LineCase("2,CONNECT OK", .urc(.tcpConnect(id: 2, ok: true))),
        LineCase("1, CLOSED", .urc(.tcpClosed(id: 1))),
        LineCase("+QIRDI: 0,1,1", .urc(.tcpRecv(cid: 0, sc: 1, sid: 1))),
        LineCase("+QIRDI: 1,2,5", .urc(.tcpRecv(cid: 1, sc: 2, sid: 5))),
        LineCase("+PDP DEACT", .urc(.pdpDeact)),
        LineCase("RDY", .urc(.ready)),
        LineCase("+CFUN: 1", .urc(.cfun(1))),
        LineCase("+CFUN: 0", .urc(.cfun(0))),
        LineCase("+CPIN: READY", .urc(.cpin("READY"))),
        LineCase("+CPIN: NOT INSERTED", .urc(.cpin("NOT INSERTED"))),
        LineCase("Call Ready", .urc(.callReady)),
        LineCase("SMS Ready", .urc(.smsReady)),
        LineCase("UNDER_VOLTAGE WARNING ", .urc(.voltage("UNDER_VOLTAGE WARNING"))),
        LineCase("UNDER_VOLTAGE POWER DOWN ", .urc(.voltage("UNDER_VOLTAGE POWER DOWN"))),
        LineCase("OVER_VOLTAGE WARNING ", .urc(.voltage("OVER_VOLTAGE WARNING"))),
        LineCase("OVER_VOLTAGE POWER DOWN", .urc(.voltage("OVER_VOLTAGE POWER DOWN"))),
        LineCase("NORMAL POWER DOWN", .urc(.voltage("NORMAL POWER DOWN"))),
        LineCase("+CREG: 1", .urc(.creg("1"))),
        LineCase("+CREG: 0,5", .urc(.creg("0,5"))),
        LineCase("+CGREG: 1,\"1A2B\",\"3C4D\"", .urc(.cgreg("1,\"1A2B\",\"3C4D\""))),
        LineCase("RING", .urc(.ring)),
        LineCase("+CMTI: \"SM\",1", .urc(.cmti("\"SM\",1"))),
    ]

    static let finalCases: [LineCase] = [
        LineCase("OK", .final(.ok)),
        LineCase("OK ", .final(.ok)),
        LineCase("ERROR", .final(.error)),
        LineCase("+CME ERROR: 3", .final(.cmeError(3))),
        LineCase("+CME ERROR: 50", .final(.cmeError(50))),
        LineCase("+CME ERROR:4", .final(.cmeError(4))),
        LineCase("+CME ERROR: operation not allowed", .final(.cmeError(-1))),
        LineCase("+CMS ERROR: 321", .final(.cmsError(321))),
        LineCase("SEND OK", .final(.sendOK)),
        LineCase("SEND FAIL", .final(.sendFail)),
        LineCase("1, SEND OK", .final(.sendOK)),
        LineCase("CLOSE OK", .final(.closeOK(nil))),
        LineCase("1, CLOSE OK", .final(.closeOK(1))),
        LineCase("12, CLOSE OK", .final(.closeOK(12))),
        LineCase("DEACT OK", .final(.deactOK)),
        LineCase("ALREADY CONNECT", .final(.alreadyConnect)),
        LineCase("CONNECT", .connect),
        LineCase("AT+QSSLOPEN=1,0,\"h\",443,0", .echo("AT+QSSLOPEN=1,0,\"h\",443,0")),
        LineCase("at+qilocip", .echo("at+qilocip")),
        LineCase("At", .echo("At")),
    ]

    /// Lines that look like finals or URCs but are not: they must stay `.line` (the channel decides).
    static let lineCases: [LineCase] = [
        LineCase("10.1.83.188", .line("10.1.83.188")),
        LineCase("CONNECT OK", .line("CONNECT OK")),
        LineCase("CONNECT 115200", .line("CONNECT 115200")),
        LineCase("OKAY", .line("OKAY")),
        LineCase("NO CARRIER", .line("NO CARRIER")),
        LineCase("+QSSLURC: \"foo\",1", .line("+QSSLURC: \"foo\",1")),
        LineCase("+QSSLURC: \"recv\",0", .line("+QSSLURC: \"recv\",0")),
        LineCase("+QSSLURC: \"closed\",x", .line("+QSSLURC: \"closed\",x")),
        LineCase("+QSSLOPEN: <ssid>,<ctxindex>,<ipaddr/domainname>", .line("+QSSLOPEN: <ssid>,<ctxindex>,<ipaddr/domainname>")),
        LineCase("+QIRDI: 0,1", .line("+QIRDI: 0,1")),
        LineCase("+CFUN: x", .line("+CFUN: x")),
        LineCase("+CPIN:", .line("+CPIN:")),
        LineCase("1, SOMETHING", .line("1, SOMETHING")),
        LineCase("1234567890, CLOSED", .line("1234567890, CLOSED")),
        LineCase("+QSSLSTATE: \"IP STATUS\"", .line("+QSSLSTATE: \"IP STATUS\"")),
        LineCase("Quectel_M95", .line("Quectel_M95")),
        LineCase("STATE: IP INITIAL", .line("STATE: IP INITIAL")),
        LineCase(">", .line(">")),
        LineCase("a> b", .line("a> b")),
        LineCase("+", .line("+")),
        LineCase("  leading blanks kept", .line("  leading blanks kept")),
    ]

    @Test(arguments: urcCases)
    func urc(_ c: LineCase) {
        #expect(parserEvents(of: "\r\n\(c.text)\r\n") == [c.event])
    }

    @Test(arguments: finalCases)
    func finalsConnectAndEcho(_ c: LineCase) {
        #expect(parserEvents(of: "\r\n\(c.text)\r\n") == [c.event])
    }

    @Test(arguments: lineCases)
    func plainLines(_ c: LineCase) {
        #expect(parserEvents(of: "\r\n\(c.text)\r\n") == [c.event])
    }

    /// URC.text gives a line the parser maps back to the same URC.
    @Test(arguments: urcCases)
    func urcTextRoundTrips(_ c: LineCase) throws {
        guard case .urc(let u) = c.event else {
            Issue.record("not a URC case")
            return
        }
        #expect(parserEvents(of: "\r\n\(u.text)\r\n") == [c.event])
    }

    @Test func tablesAreSortedAndFindEveryKey() {
        #expect(ATTokenTable.allSorted)
        for table in [ATTokenTable.responses, ATTokenTable.urcs, ATTokenTable.numbered] {
            #expect(ATTokenTable.isSorted(table))
            for entry in table {
                let key = UnsafeBufferPointer(start: entry.key.utf8Start, count: entry.key.utf8CodeUnitCount)
                #expect(ATTokenTable.lookup(table, key) != nil, "\(entry.key)")
            }
        }
        let unsorted = [ATToken(key: "OK", kind: .final(.ok)), ATToken(key: "ERROR", kind: .final(.error))]
        #expect(!ATTokenTable.isSorted(unsorted))
    }

    @Test func blankAndWhitespaceOnlyLinesAreIgnored() {
        #expect(parserEvents(of: "\r\n\r\n   \r\n\t\r\n\n\r\r") == [])
    }
}

@Suite struct ParserPayloadTests {
    @Test func headerWithZeroLengthGivesEmptyPayload() {
        #expect(parserEvents(of: "\r\n+QSSLRECV: 1.2.3.4:5,TCP,0\r\n\r\nOK\r\n") == [
            .payload(ATPayload(kind: .ssl, peer: "1.2.3.4:5", data: [])), .final(.ok),
        ])
    }

    @Test func maximumLengthIsAccepted() {
        let data = [UInt8](repeating: 0x0D, count: ATParser.maxSSLPayload)
        var p = ATParser()
        let ev = p.feed(Wire.bytes("\r\n+QSSLRECV: 9.9.9.9:443,TCP,1500\r\n") + data + Wire.bytes("\r\nOK\r\n"))
        #expect(ev == [.payload(ATPayload(kind: .ssl, peer: "9.9.9.9:443", data: data)), .final(.ok)])
    }

    @Test func udpViaQIRD() {
        #expect(parserEvents(of: "\r\n+QIRD: 8.8.8.8:53,UDP,2\r\nhi\r\nOK\r\n") == [
            .payload(ATPayload(kind: .tcp, peer: "8.8.8.8:53", data: Wire.bytes("hi"))), .final(.ok),
        ])
    }

    @Test(arguments: [
        "+QSSLRECV: 1.2.3.4:5,TCP,1501",
        "+QSSLRECV: 1.2.3.4:5,TCP,-1",
        "+QSSLRECV: 1.2.3.4:5,TCP,12x",
        "+QSSLRECV: 1.2.3.4:5,TCP,",
        "+QSSLRECV: 1.2.3.4:5,TCP,99999999999999999999",
        "+QSSLRECV: 1.2.3.4,TCP,5",
        "+QSSLRECV: 1.2.3.4:5,XYZ,5",
        "+QSSLRECV: ,TCP,5",
        "+QSSLRECV: 5",
        "+QSSLRECV:",
        "+QIRD: 1.2.3.4:5,TCP,100000",
    ])
    func malformedHeaderIsALineAndTheStreamGoesOn(_ header: String) {
        #expect(parserEvents(of: "\r\n\(header)\r\nOK\r\n+QSSLURC: \"recv\",0,1\r\n") == [
            .line(header), .final(.ok), .urc(.sslRecv(cid: 0, ssid: 1)),
        ])
    }

    @Test func payloadIsCopiedNotAliased() {
        var p = ATParser()
        var first = p.feed(Wire.bytes("\r\n+QSSLRECV: 1.2.3.4:5,TCP,3\r\nabc"))
        let second = p.feed(Wire.bytes("\r\n+QSSLRECV: 1.2.3.4:5,TCP,3\r\nxyz"))
        #expect(first == [.payload(ATPayload(kind: .ssl, peer: "1.2.3.4:5", data: Wire.bytes("abc")))])
        #expect(second == [.payload(ATPayload(kind: .ssl, peer: "1.2.3.4:5", data: Wire.bytes("xyz")))])
        first.removeAll()
        #expect(!p.inPayload)
    }

    @Test func inPayloadTracksCountedBytes() {
        var p = ATParser()
        _ = p.feed(Wire.bytes("\r\n+QSSLRECV: 1.2.3.4:5,TCP,4\r"))
        #expect(p.inPayload)
        _ = p.feed(Wire.bytes("\nab"))
        #expect(p.inPayload)
        let ev = p.feed(Wire.bytes("cd\r\nOK\r\n"))
        #expect(!p.inPayload)
        #expect(ev == [.payload(ATPayload(kind: .ssl, peer: "1.2.3.4:5", data: Wire.bytes("abcd"))), .final(.ok)])
    }

    @Test func rawFeedAppendsToExistingEvents() {
        var p = ATParser()
        var events: [ATEvent] = [.prompt]
        let b = Wire.bytes("\r\nOK\r\n")
        b.withUnsafeBytes { p.feed($0, into: &events) }
        p.feed(UnsafeRawBufferPointer(start: nil, count: 0), into: &events)
        #expect(events == [.prompt, .final(.ok)])
    }
}

@Suite struct ParserModeTests {
    @Test func promptWithoutLineEnd() {
        var p = ATParser()
        #expect(p.feed(Wire.bytes("AT+QSSLSEND=1,3\r\r\n>")) == [.echo("AT+QSSLSEND=1,3")])
        #expect(p.feed(Wire.bytes(" ")) == [.prompt])
        #expect(p.feed(Wire.bytes("\r\nSEND OK\r\n")) == [.final(.sendOK)])
    }

    @Test func rawModeDeliversEverythingAsRaw() {
        var p = ATParser()
        p.rawMode = true
        #expect(p.feed(Wire.bytes("OK\r\n+QSSLURC: \"closed\",1\r\n")) == [.raw(Wire.bytes("OK\r\n+QSSLURC: \"closed\",1\r\n"))])
        #expect(p.feed([]) == [])
        p.rawMode = false
        #expect(p.feed(Wire.bytes("\r\nOK\r\n")) == [.final(.ok)])
    }

    @Test func partialLineBecomesRawWhenRawModeStarts() {
        var p = ATParser()
        #expect(p.feed(Wire.bytes("\r\nOK\r\nhel")) == [.final(.ok)])
        p.rawMode = true
        #expect(p.feed(Wire.bytes("lo")) == [.raw(Wire.bytes("hello"))])
    }

    @Test func rawOnConnectOnlyWhenAsked() {
        var p = ATParser()
        #expect(p.feed(Wire.bytes("\r\nCONNECT\r\ndata\r\n")) == [.connect, .line("data")])
        var q = ATParser()
        q.rawOnConnect = true
        #expect(q.feed(Wire.bytes("\r\nCONNECT\r\ndata\r\n")) == [.connect, .raw(Wire.bytes("data\r\n"))])
        #expect(q.rawMode)
    }

    @Test func rawOnConnectWithBareLF() {
        var q = ATParser()
        q.rawOnConnect = true
        #expect(q.feed(Wire.bytes("CONNECT\n\nx")) == [.connect, .raw(Wire.bytes("\nx"))])
    }

    @Test func leavingRawModeForgetsThePendingLF() {
        var q = ATParser()
        q.rawOnConnect = true
        #expect(q.feed(Wire.bytes("CONNECT\r")) == [.connect])
        q.rawMode = false
        q.rawOnConnect = false
        #expect(q.feed(Wire.bytes("\r\nOK\r\n")) == [.final(.ok)])
        q.rawMode = true
        #expect(q.feed(Wire.bytes("\nx")) == [.raw(Wire.bytes("\nx"))])
    }

    @Test func resetForgetsPartialLineAndPayload() {
        var p = ATParser()
        _ = p.feed(Wire.bytes("\r\nOK-partial"))
        p.reset()
        #expect(p.feed(Wire.bytes("\r\nOK\r\n")) == [.final(.ok)])
        _ = p.feed(Wire.bytes("\r\n+QSSLRECV: 1.2.3.4:5,TCP,100\r\nabc"))
        #expect(p.inPayload)
        p.reset()
        #expect(!p.inPayload)
        #expect(p.feed(Wire.bytes("\r\nOK\r\n")) == [.final(.ok)])
    }
}

@Suite struct ParserLongLineTests {
    @Test func lineAtTheLimitIsKeptWhole() {
        let text = String(repeating: "a", count: ATParser.maxLineLength)
        #expect(parserEvents(of: "\r\n\(text)\r\n") == [.line(text)])
    }

    @Test func longerLineIsTruncatedAndItsTailDropped() {
        // The tail must not be classified: "OK" after the cut is part of the long line, not a final.
        let text = String(repeating: "b", count: ATParser.maxLineLength) + "OK"
        #expect(parserEvents(of: "\r\n\(text)\r\nRDY\r\n") == [
            .line(String(repeating: "b", count: ATParser.maxLineLength)), .urc(.ready),
        ])
    }

    @Test func endlessLineWithoutTerminatorStaysBounded() {
        var p = ATParser()
        let chunk = [UInt8](repeating: 0x41, count: 64 * 1024)  // 'A': would even look like an echo
        var lines = 0
        for _ in 0..<32 {  // 2 MiB with no line end
            for e in p.feed(chunk) {
                guard case .line(let s) = e else {
                    Issue.record("unexpected event \(e)")
                    continue
                }
                #expect(s.utf8.count == ATParser.maxLineLength)
                lines += 1
            }
        }
        #expect(lines == 1)
        #expect(p.feed(Wire.bytes("\r\nOK\r\n")) == [.final(.ok)])
    }

    @Test func invalidUTF8IsReplacedNotFatal() {
        var p = ATParser()
        let ev = p.feed([0x0D, 0x0A, 0xFF, 0xFE, 0x41, 0x0D, 0x0A, 0x4F, 0x4B, 0x0D, 0x0A])
        #expect(ev.count == 2)
        #expect(ev.last == .final(.ok))
        if case .line(let s) = ev.first { #expect(s.hasSuffix("A")) } else { Issue.record("expected a line") }
    }

    /// The reader's pieces: a line through its first CR or LF, the rest of a payload, one byte while waiting for
    /// CONNECT, everything in raw mode.
    @Test func pieceLengthEndsWhereAHandlerMaySwitchModes() {
        func piece(_ p: ATParser, _ text: String, waiting: Bool = false) -> Int {
            Array(text.utf8).withUnsafeBytes { p.pieceLength($0, waitingForConnect: waiting) }
        }
        var p = ATParser()
        #expect(piece(p, "\r\n+QSSLOPEN: 1,0\r\nDATA") == 1)
        #expect(piece(p, "+QSSLOPEN: 1,0\r\nDATA") == 15)
        #expect(piece(p, "no line end") == 11)
        #expect(piece(p, "") == 0)
        #expect(piece(p, "\r\nCONNECT\r\n", waiting: true) == 1)
        _ = p.feed(Wire.bytes("\r\n+QSSLRECV: 1.2.3.4:443,TCP,5\r"))
        #expect(piece(p, "\nhello\r\nOK\r\n") == 1)          // the header's LF
        _ = p.feed(Wire.bytes("\nhe"))
        #expect(p.payloadBytesLeft == 3)
        #expect(piece(p, "llo\r\nOK\r\n\r\n+QSSLOPEN: 1,0\r\n") == 3)
        p.rawMode = true
        #expect(piece(p, "\r\nOK\r\n") == 6)
    }
}
