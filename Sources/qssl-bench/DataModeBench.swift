import QSSLCore

#if canImport(Glibc)
import Glibc
#endif

let dataModeBenchSection = BenchSection(
    name: "datamode",
    summary: "transparent-mode exit scanner throughput: binary data, and data that keeps it holding (--mb N --chunk BYTES --rounds N)",
    run: runDataModeBench)

/// Binary data with a CR LF every 997 bytes: almost nothing is held.
func makeBinaryDataModeStream(targetBytes: Int) -> [UInt8] {
    var x: UInt64 = 0x1234_5678
    var out: [UInt8] = []
    out.reserveCapacity(targetBytes)
    while out.count < targetBytes {
        x = x &* 6364136223846793005 &+ 1442695040888963407
        out.append(UInt8(truncatingIfNeeded: x >> 56))
        if out.count % 997 == 0 { out += [0x0D, 0x0A] }
    }
    return out
}

/// The scanner's hardest case: an exit line and framed lines up to the hold limit, then a data byte, again and
/// again, so that almost every byte is held and then turns out to be data.
func makeHeldDataModeStream(targetBytes: Int) -> [UInt8] {
    var run = Array("\r\nNO CARRIER\r\n".utf8)
    while run.count + 14 < DataModeExitScanner.maxHeld { run += Array("\r\n+CREG: 1,1\r\n".utf8) }
    run.append(0x55)
    var out: [UInt8] = []
    out.reserveCapacity(targetBytes + run.count)
    while out.count < targetBytes { out += run }
    return out
}

func runDataModeBench(_ args: [String]) {
    let mb = benchOption(args, "--mb", default: 10)
    let chunk = max(1, benchOption(args, "--chunk", default: 4096))
    let rounds = max(1, benchOption(args, "--rounds", default: 5))
    let streams = [("binary data", makeBinaryDataModeStream(targetBytes: mb * 1_000_000)),
                   ("held runs of \(DataModeExitScanner.maxHeld) bytes", makeHeldDataModeStream(targetBytes: mb * 1_000_000))]
    print("DataModeExitScanner.feed in \(chunk)-byte chunks, \(rounds) rounds (+1 warm-up), MB = 10^6 bytes")
    for (name, stream) in streams {
        var rates: [Double] = []
        for round in 0...rounds {
            var sc = DataModeExitScanner(socket: 1)
            var passed = 0
            let start = benchNow()
            var i = 0
            while i < stream.count {
                let n = min(chunk, stream.count - i)
                passed += sc.feed(Array(stream[i..<(i + n)])).count
                i += n
            }
            let elapsed = benchNow() - start
            // Every byte is data in both streams; anything else makes the figure meaningless.
            if passed + sc.held.count != stream.count || sc.exitHeld {
                print("datamode bench: WRONG RESULT \(passed) + \(sc.held.count) of \(stream.count) bytes")
                exit(1)
            }
            if round > 0 { rates.append(Double(stream.count) / elapsed / 1e6) }
        }
        rates.sort()
        print("  \(name) (\(stream.count) bytes): median \(fmt(rates[rates.count / 2], 1)) MB/s, best \(fmt(rates.last!, 1)) MB/s")
    }
    print("command: \(benchCommandLine())")
}
