import QSSLCore
#if canImport(Glibc)
import Glibc
#endif

/// Parser throughput: a ~10 MB transcript of +QSSLRECV responses (1500-byte binary payloads holding CR LF OK and
/// URC text) with URCs between them, fed in 4 KiB chunks.
let parserBenchSection = BenchSection(
    name: "parser",
    summary: "AT parser throughput on a 10 MB +QSSLRECV transcript (--mb N --chunk BYTES --rounds N)",
    run: runParserBench)

private func ascii(_ s: String) -> [UInt8] { Array(s.utf8) }

/// Builds the transcript; returns it with the number of payloads and payload bytes it holds.
func makeParserBenchTranscript(targetBytes: Int) -> (stream: [UInt8], payloads: Int, payloadBytes: Int) {
    var rng: UInt64 = 0x1234_5678_9ABC_DEF0
    func next() -> UInt8 {
        rng ^= rng << 13
        rng ^= rng >> 7
        rng ^= rng << 17
        return UInt8(truncatingIfNeeded: rng)
    }
    let urcRecv = ascii("\r\n+QSSLURC: \"recv\",0,1\r\n")
    let header = ascii("\r\n+QSSLRECV: 54.216.215.33:8883,TCP,1500\r\n")
    let decoys = [ascii("\r\nOK\r\n"), ascii("+QSSLURC: \"closed\",1\r\n"), ascii("\r\n> "), ascii("\r\nERROR\r\n")]
    var out: [UInt8] = []
    out.reserveCapacity(targetBytes + 4096)
    var payloads = 0
    while out.count < targetBytes {
        if payloads % 8 == 0 { out += urcRecv }
        out += header
        var data: [UInt8] = []
        data.reserveCapacity(1500)
        while data.count < 1500 {
            if next() < 8 { data += decoys[Int(next()) % decoys.count] } else { data.append(next()) }
        }
        out += data.prefix(1500)
        // Alternate the real-module form (no blank line) and the note's form (blank line before OK).
        out += payloads % 2 == 0 ? ascii("\r\nOK\r\n") : ascii("\r\n\r\nOK\r\n")
        payloads += 1
    }
    return (out, payloads, payloads * 1500)
}

/// A line-heavy transcript (no payloads): echoes, finals, URCs, intermediate lines. Returns it with its line count.
func makeParserLineTranscript(targetBytes: Int) -> (stream: [UInt8], lines: Int) {
    let pieces = [
        "AT+QSSLSTATE\r", "\r\n+QSSLSTATE: 1,\"TCP\",\"54.216.215.33\",8883,\"CONNECTED\",1\r\n", "\r\nOK\r\n",
        "\r\n+QSSLURC: \"recv\",0,1\r\n", "\r\n+CREG: 1\r\n", "\r\n1, CLOSE OK\r\n", "\r\nSEND OK\r\n",
        "\r\n+QIRDI: 0,1,1\r\n", "\r\nUNDER_VOLTAGE WARNING \r\n", "\r\n10.1.83.188\r\n",
    ].map { Array($0.utf8) }
    var out: [UInt8] = []
    out.reserveCapacity(targetBytes + 256)
    var lines = 0
    var k = 0
    while out.count < targetBytes {
        out += pieces[k % pieces.count]
        k += 1
        lines += 1
    }
    return (out, lines)
}

/// Feeds `stream` in `chunk`-byte pieces `rounds` times (after one warm-up); returns sorted MB/s figures.
/// `check` gets the event counts of each round (payloads, payload bytes, finals, URCs, other) and returns false
/// for a wrong parse.
private func measure(_ stream: [UInt8], chunk: Int, rounds: Int,
                     check: (_ payloads: Int, _ payloadBytes: Int, _ finals: Int, _ urcs: Int, _ other: Int) -> Bool)
    -> [Double]
{
    let size = stream.count
    var rates: [Double] = []
    stream.withUnsafeBytes { all in
        for round in 0...rounds {
            var parser = ATParser()
            var events: [ATEvent] = []
            events.reserveCapacity(256)
            var payloads = 0, payloadBytes = 0, finals = 0, urcs = 0, other = 0
            let start = benchNow()
            var i = 0
            while i < size {
                let n = min(chunk, size - i)
                parser.feed(UnsafeRawBufferPointer(rebasing: all[i..<(i + n)]), into: &events)
                for e in events {
                    switch e {
                    case .payload(let p):
                        payloads += 1
                        payloadBytes += p.data.count
                    case .final: finals += 1
                    case .urc: urcs += 1
                    default: other += 1
                    }
                }
                events.removeAll(keepingCapacity: true)
                i += n
            }
            let elapsed = benchNow() - start
            // A wrong parse would make the figure meaningless: check the counts every round.
            if !check(payloads, payloadBytes, finals, urcs, other) {
                print("parser bench: WRONG PARSE payloads \(payloads) bytes \(payloadBytes) finals \(finals) urcs \(urcs) other \(other)")
                exit(1)
            }
            if round > 0 { rates.append(Double(size) / elapsed / 1e6) }
        }
    }
    return rates.sorted()
}

func runParserBench(_ args: [String]) {
    let mb = benchOption(args, "--mb", default: 10)
    let chunk = max(1, benchOption(args, "--chunk", default: 4096))
    let rounds = max(1, benchOption(args, "--rounds", default: 5))
    // --only payload|lines: one transcript (scripts/bench.sh counts instructions of each under callgrind).
    let only = args.firstIndex(of: "--only").flatMap { $0 + 1 < args.count ? args[$0 + 1] : nil }

    if only == nil || only == "payload" {
        let t = makeParserBenchTranscript(targetBytes: mb * 1_000_000)
        print("payload transcript: \(t.stream.count) bytes, \(t.payloads) +QSSLRECV payloads of 1500 bytes, chunk \(chunk) bytes, \(rounds) rounds (+1 warm-up)")
        let rates = measure(t.stream, chunk: chunk, rounds: rounds) { payloads, bytes, finals, _, other in
            payloads == t.payloads && bytes == t.payloadBytes && finals == t.payloads && other == 0
        }
        print("parser throughput (payload transcript): median \(fmt(rates[rates.count / 2], 1)) MB/s, best \(fmt(rates.last!, 1)) MB/s (MB = 10^6 bytes)")
        print("payload bytes fed: \(t.payloadBytes * (rounds + 1)) (\(t.payloadBytes) x \(rounds + 1) passes)")
    }

    if only == nil || only == "lines" {
        let l = makeParserLineTranscript(targetBytes: mb * 1_000_000)
        print("line transcript: \(l.stream.count) bytes, \(l.lines) lines (echo, finals, URCs, intermediate lines), same chunking")
        let lineRates = measure(l.stream, chunk: chunk, rounds: rounds) { payloads, _, finals, urcs, other in
            payloads == 0 && finals + urcs + other == l.lines
        }
        print("parser throughput (line transcript): median \(fmt(lineRates[lineRates.count / 2], 1)) MB/s, best \(fmt(lineRates.last!, 1)) MB/s")
        print("line transcript bytes fed: \(l.stream.count * (rounds + 1)), lines fed: \(l.lines * (rounds + 1)) (\(rounds + 1) passes)")
    }
    print("command: \(benchCommandLine())")
}
