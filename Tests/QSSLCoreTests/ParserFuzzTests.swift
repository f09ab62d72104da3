import QSSLCore
import Testing

/// Random streams built from AT-like pieces and garbage: whatever they contain, every chunking must give the same
/// events, and the parser must never crash or hold more than one line / one payload.
@Suite struct ParserFuzzTests {
    static let pieces: [[UInt8]] = [
        "\r\n", "\r", "\n", "OK", "ERROR", "> ", ">", " ", "AT+QSSLSEND=1,5", "+QSSLURC: \"recv\",0,1",
        "+QSSLURC: \"closed\",", "+QSSLRECV: 1.2.3.4:5,TCP,", "+QIRD: 1.2.3.4:5,TCP,", "3", "17", "1500", "99999",
        "abc", "1, CLOSE OK", "2, CONNECT", " OK", " FAIL", "CONNECT", "+CME ERROR: ", "RDY", "UNDER_VOLTAGE WARNING ",
        "\u{201C}", "\"", ",", "+CFUN: ", "SEND OK", "\r\n\r\n",
    ].map { Array($0.utf8) }

    static func randomStream(_ rng: inout ParserRNG) -> [UInt8] {
        var s: [UInt8] = []
        let count = 5 + Int(rng.next() % 120)
        for _ in 0..<count {
            if rng.next() % 10 == 0 {
                for _ in 0..<(1 + rng.next() % 8) { s.append(UInt8(truncatingIfNeeded: rng.next())) }
            } else {
                s += pieces[Int(rng.next() % UInt64(pieces.count))]
            }
        }
        return s
    }

    @Test(arguments: 0..<8)
    func randomStreamsAreChunkingIndependent(_ batch: Int) {
        var rng = ParserRNG(seed: 0xF022_0000 &+ UInt64(batch))
        for _ in 0..<60 {
            let stream = Self.randomStream(&rng)
            let whole = parserFeedAll(stream)
            #expect(parserFeedBytewise(stream) == whole)
            for _ in 0..<10 {
                let sizes = parserRandomSizes(count: stream.count, rng: &rng)
                #expect(parserFeedChunked(stream, sizes: sizes) == whole)
            }
        }
    }

    @Test func announcedPayloadSwallowsAtMostItsLength() {
        // A header whose payload never fully comes: exactly 20 bytes are taken, then lines resume.
        let ev = parserEvents(of: "\r\n+QSSLRECV: 1.2.3.4:5,TCP,20\r\n\r\nOK\r\n\r\nRDY\r\n0123456789\r\nOK\r\n")
        #expect(ev == [
            .payload(ATPayload(kind: .ssl, peer: "1.2.3.4:5", data: Array("\r\nOK\r\n\r\nRDY\r\n0123456".utf8))),
            .line("789"), .final(.ok),
        ])
    }
}
