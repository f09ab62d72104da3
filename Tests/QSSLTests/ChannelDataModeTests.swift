import CPosix
import Foundation
import QSSL
import QSSLCore
import Testing

/// Data (transparent) mode in the channel: the escape's guard time against the line clock, an escape the module
/// never answers, and every line by which a module leaves data mode by itself.
@Suite("Channel data mode")
struct ChannelDataModeTests {
    /// A channel in data mode after ATO, its data and data-mode events collected.
    static func inDataMode(_ steps: [ScriptedTransport.Step], lineRate: Int = 0, answerMs: Int = 2500,
                           exitLines: [String] = DataModeExitScanner.exitLines(socket: 1))
        throws -> (ATChannel, ScriptedTransport, Collector<UInt8>, Collector<String>, Collector<URC>) {
        var o = testOptions()
        o.escapeAnswerMs = answerMs
        let t = ScriptedTransport([.expect(.init("ATO\r")), .answer(.init("\r\nCONNECT\r\n"))] + steps)
        t.lineRate = lineRate
        let c = ATChannel(transport: t, options: o)
        let data = Collector<UInt8>()
        let ended = Collector<String>()
        let urcs = Collector<URC>()
        c.dataModeHandler = { event in
            switch event {
            case .bytes(let b): b.forEach(data.append)
            case .ended(let line): ended.append(line)
            }
        }
        c.urcHandler = { urcs.append($0) }
        try c.startIO()
        var ato = ATRequest("ATO")
        ato.entersRawModeOnConnect = true
        ato.dataModeExitLines = exitLines
        #expect(try c.execute(ato, timeoutMs: 2000).connected)
        return (c, t, data, ended, urcs)
    }

    @Test func escapeWaitsUntilTheBytesHaveCrossedTheLine() throws {
        // 9600 baud: 480 bytes take half a second on the wire after write() has taken them all at once.
        let (c, t, _, _, _) = try Self.inDataMode([
            .expect([UInt8](repeating: 0x55, count: 480)),
            .expect(.init("+++")), .answer(.init("\r\nOK\r\n")),
        ], lineRate: 9600)
        defer { c.close() }
        try c.writeRaw([UInt8](repeating: 0x55, count: 480), timeoutMs: 2000)
        let written = Date()
        #expect(try c.exitDataMode() == .commandMode)
        // "+++" may only go once the line is free plus the guard (30 ms here): at least 0.5 s after write().
        #expect(Date().timeIntervalSince(written) >= 0.5)
        #expect(t.mismatches.isEmpty)
    }

    @Test func anUnansweredEscapeLeavesTheChannelInDataModeAndSendsNoCommand() throws {
        let (c, t, data, ended, _) = try Self.inDataMode([
            .expect(.init("+++")),                              // taken as data: no answer
            .expect(.init("+++")), .answer(.init("\r\nOK\r\n")),
            .expect(.init("AT\r")), .answer(.init("\r\nOK\r\n")),
        ], answerMs: 300)
        defer { c.close() }
        #expect(throws: QsslError.timedOut) { _ = try c.exitDataMode() }
        // Still data mode: the peer's bytes are data, a command is refused instead of reaching the peer.
        t.inject(.init("still\r\nOK\r\nhere"))
        #expect(data.wait { String(decoding: $0, as: UTF8.self) == "still\r\nOK\r\nhere" })
        #expect(throws: QsslError.busy) { _ = try c.execute(ATRequest("AT+QSSLCLOSE=1"), timeoutMs: 1000) }
        #expect(try c.exitDataMode() == .commandMode)
        #expect(try c.execute(ATRequest("AT"), timeoutMs: 2000).final == .ok)
        #expect(ended.all.isEmpty)
        #expect(t.mismatches.isEmpty)
        #expect(t.finished)
        #expect(!String(decoding: t.written, as: UTF8.self).contains("QSSLCLOSE"))
    }

    @Test(arguments: ["CLOSED", "NO CARRIER", "+QSSLURC: \"closed\",1", "+PDP DEACT", "RDY"])
    func theModuleLeavingDataModeByItself(line: String) throws {
        // After RDY the line is resynchronised ("\rAT\r" until an OK) before the next command.
        let resync: [ScriptedTransport.Step] = line == "RDY"
            ? [.expect(.init("\rAT\r")), .answer(.init("\r\nOK\r\n"))] : []
        let (c, t, data, ended, urcs) = try Self.inDataMode([
            .answer(.init("peer bytes\r\n" + "\r\n" + line + "\r\n")),
        ] + resync + [
            .expect(.init("AT\r")), .answer(.init("\r\nOK\r\n")),
        ])
        defer { c.close() }
        #expect(ended.wait { $0 == [line] })
        #expect(String(decoding: data.all, as: UTF8.self) == "peer bytes\r\n")
        // The line went through the parser after the switch: URCs reach the URC handler.
        switch line {
        case "+QSSLURC: \"closed\",1": #expect(urcs.wait { $0.contains(.sslClosed(ssid: 1)) })
        case "+PDP DEACT": #expect(urcs.wait { $0.contains(.pdpDeact) })
        case "RDY": #expect(urcs.wait { $0.contains(.ready) })
        default: break
        }
        #expect(try c.execute(ATRequest("AT"), timeoutMs: 2000).final == .ok)
        #expect(t.mismatches.isEmpty)
    }

    @Test func anEscapeAfterTheModuleLeftReportsItWithoutWritingPlus() throws {
        let (c, t, _, ended, _) = try Self.inDataMode([.answer(.init("\r\nNO CARRIER\r\n"))])
        defer { c.close() }
        #expect(ended.wait { $0 == ["NO CARRIER"] })
        #expect(try c.exitDataMode() == .moduleLeft(line: "NO CARRIER", plusWritten: false))
        #expect(!String(decoding: t.written, as: UTF8.self).contains("+++"))
    }
}
