import QSSLCore
import Testing

/// The transparent-mode exit line: found only where it stands at the end of the stream (framed lines after it
/// allowed); everything else is data, in order, whatever the chunking.
@Suite struct CodecDataModeExitTests {
    /// Feeds `stream` in pieces of `step` bytes; returns the data released and the scanner.
    static func run(_ stream: [UInt8], step: Int, socket: Int = 2) -> ([UInt8], DataModeExitScanner) {
        var sc = DataModeExitScanner(socket: socket)
        var data: [UInt8] = []
        var i = 0
        while i < stream.count {
            let n = min(step, stream.count - i)
            data += sc.feed(Array(stream[i..<(i + n)]))
            i += n
        }
        return (data, sc)
    }

    static let steps = [1, 2, 5, 7, 64, 100_000]

    @Test(arguments: ["+QSSLURC: \"closed\",2", "+PDP DEACT", "RDY"])
    func exitLineAtTheEndIsHeld(_ line: String) {
        let payload = Array("hello\r\nworld\r\n\r\n".utf8)
        let exit = Array("\r\n\(line)\r\n".utf8)
        for step in Self.steps {
            var (data, sc) = Self.run(payload + exit, step: step)
            // The payload's own trailing CR LF could begin an exit line: it stays held until the exit line
            // completes, then only the exit line is held.
            #expect(data == payload, "step \(step)")
            #expect(sc.exitHeld, "step \(step)")
            #expect(sc.takeHeld() == exit)
            #expect(sc.held.isEmpty)
        }
    }

    @Test func restartBurstAfterRDYStillCounts() {
        let tail = Array("\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\nCall Ready\r\n\r\nSMS Ready\r\n".utf8)
        for step in Self.steps {
            var (data, sc) = Self.run(Array("xyz".utf8) + tail, step: step)
            #expect(data == Array("xyz".utf8))
            #expect(sc.exitHeld)
            #expect(sc.takeHeld() == tail)
        }
        // A voltage URC with its trailing space, cut short: still the module's text.
        let (_, sc) = Self.run(Array("\r\n+PDP DEACT\r\n\r\nUNDER_VOLTAGE WARNING ".utf8), step: 3)
        #expect(sc.exitHeld)
    }

    @Test func exitTextInsideTheStreamIsData() {
        // Data continues after the line, the line is another socket's, unframed, or glued to text.
        let cases = [
            "a\r\n+QSSLURC: \"closed\",2\r\nmore",
            "\r\n+QSSLURC: \"closed\",3\r\n",
            "\r\nRDY\r\n\u{1}",
            "\r\nRDY\r\n\r\n\r\n",
            "RDY\r\n",
            "\r\nRDYX\r\n",
            "\r\n+PDP DEACT\r\nOK",
            "\r\r\nRDY",
        ]
        for text in cases {
            let stream = Array(text.utf8)
            for step in Self.steps {
                var (data, sc) = Self.run(stream, step: step)
                #expect(!sc.exitHeld, "\(text.debugDescription) step \(step)")
                data += sc.takeHeld()
                #expect(data == stream, "\(text.debugDescription) step \(step)")
            }
        }
    }

    @Test func heldBytesAreBounded() {
        var stream = Array("\r\nRDY\r\n".utf8)
        for _ in 0..<100 { stream += Array("\r\n+CREG: 1\r\n".utf8) }
        let (data, sc) = Self.run(stream, step: 13)
        #expect(sc.held.count <= DataModeExitScanner.maxHeld)
        #expect(!sc.exitHeld)
        #expect(data + sc.held == stream)
    }

    @Test func lineAddedWhileHoldingMatchesWhatIsHeld() {
        var sc = DataModeExitScanner(socket: 0)
        // "\r\n" could start any exit line; "O" would end that, unless OK is watched by then.
        #expect(sc.feed(Array("data\r\n".utf8)) == Array("data".utf8))
        sc.addLine("OK")
        #expect(sc.feed(Array("OK\r\n".utf8)).isEmpty)
        #expect(sc.exitHeld)
        #expect(sc.heldExitLine == "OK")
        #expect(sc.takeHeld() == Array("\r\nOK\r\n".utf8))
        #expect(!sc.exitHeld)
        #expect(sc.heldExitLine == nil)
    }

    @Test func emptyOrMultiLineExitLinesAreLeftOut() {
        var sc = DataModeExitScanner(lines: ["", "A\r\nB", "C\nD", "RDY"])
        sc.addLine("E\rF")
        sc.addLine("RDY")
        #expect(sc.lines == ["RDY"])
        #expect(sc.markers == [Array("\r\nRDY\r\n".utf8)])
        // "\r\n\r\n" would be the empty line's marker: it is data.
        var data = sc.feed(Array("\r\n\r\n".utf8))
        #expect(!sc.exitHeld)
        data += sc.takeHeld()
        #expect(data == Array("\r\n\r\n".utf8))
    }

    @Test func aHeldRunThatBreaksIsMatchedAgainFromItsNextLine() {
        // The exit line, a framed line, then data: the run is data up to the CR that could start a new exit
        // line, and that one is complete again.
        let stream = Array("\r\nRDY\r\n\r\n+CREG: 1\r\nX\r\nRDY\r\n".utf8)
        for step in Self.steps {
            var (data, sc) = Self.run(stream, step: step, socket: 1)
            #expect(data == Array("\r\nRDY\r\n\r\n+CREG: 1\r\nX".utf8), "step \(step)")
            #expect(sc.heldExitLine == "RDY", "step \(step)")
            data += sc.takeHeld()
            #expect(data == stream)
        }
    }

    @Test func binaryDataPassesThroughUnchanged() {
        var x: UInt64 = 0x1234_5678
        var stream: [UInt8] = []
        for _ in 0..<50_000 {
            x = x &* 6364136223846793005 &+ 1442695040888963407
            stream.append(UInt8(truncatingIfNeeded: x >> 56))
        }
        // Plenty of CR and CR LF in it.
        for i in stride(from: 0, to: stream.count - 1, by: 997) { stream[i] = 0x0D; stream[i + 1] = 0x0A }
        for step in Self.steps {
            var (data, sc) = Self.run(stream, step: step)
            #expect(!sc.exitHeld)
            data += sc.takeHeld()
            #expect(data == stream, "step \(step)")
        }
    }
}
