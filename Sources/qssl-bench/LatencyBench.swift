import Foundation
import QSSL
import QSSLCore
import QSSLSim

// Latency: one AT round trip ("AT" -> "OK") over an unthrottled pty, the library against a minimal write/read
// loop on the same sim, in alternating rounds. The sim's own answer time is in both; the difference is qssl's.

let latencyBenchSection = BenchSection(
    name: "latency",
    summary: "what qssl adds to one AT round trip over a pty vs a bare write/read loop (--count N --rounds N)",
    run: runLatencyBench)

/// Bare loop: write "AT\r", read until the buffer ends in "OK\r\n". Returns one duration per round trip.
private func bareRoundTrips(_ path: String, count: Int) -> [Double] {
    let port = RawPort(path: path)
    defer { port.close() }
    port.command("ATE0")
    var buf = [UInt8](repeating: 0, count: 256)
    var times: [Double] = []
    times.reserveCapacity(count)
    let at: [UInt8] = Array("AT\r".utf8)
    for _ in 0..<count {
        let t0 = benchNow()
        _ = at.withUnsafeBytes { write(port.fd, $0.baseAddress!, 3) }
        var have = 0
        while true {
            let n = buf.withUnsafeMutableBytes { read(port.fd, $0.baseAddress! + have, 256 - have) }
            if n <= 0 { benchFail("bare loop read \(n)") }
            have += n
            if have >= 4 && buf[have - 4] == 79 && buf[have - 3] == 75 && buf[have - 2] == 13 && buf[have - 1] == 10 { break }
            if have > 200 { benchFail("bare loop: unexpected answer") }
        }
        times.append(benchNow() - t0)
    }
    return times
}

private func libraryRoundTrips(_ path: String, count: Int) -> [Double] {
    let modem: Modem
    do { modem = try Modem.open(path: path) } catch { benchFail("modem open: \(error)") }
    defer { modem.close() }
    var times: [Double] = []
    times.reserveCapacity(count)
    for _ in 0..<count {
        let t0 = benchNow()
        do { _ = try modem.at("AT") } catch { benchFail("at: \(error)") }
        times.append(benchNow() - t0)
    }
    return times
}

func runLatencyBench(_ args: [String]) {
    let count = benchOption(args, "--count", default: 2000)
    let rounds = benchOption(args, "--rounds", default: 5)
    let sim = benchSim(baud: nil)
    defer { sim.stop() }
    var bare: [Double] = []
    var lib: [Double] = []
    var diffs: [Double] = []
    var bareSwitches = 0
    var libSwitches = 0
    for _ in 0..<rounds {
        var c0 = contextSwitches()
        let b = median(bareRoundTrips(sim.slavePath, count: count))
        bareSwitches += contextSwitches() - c0
        c0 = contextSwitches()
        let l = median(libraryRoundTrips(sim.slavePath, count: count))
        libSwitches += contextSwitches() - c0
        bare.append(b)
        lib.append(l)
        diffs.append(l - b)
    }
    print("\(rounds) alternating rounds of \(count) round trips each (AT -> OK, unthrottled pty, echo off); medians in microseconds")
    print("  bare write/read loop: " + bare.map { fmt($0 * 1e6, 1) }.joined(separator: " "))
    print("  qssl (Modem.at):      " + lib.map { fmt($0 * 1e6, 1) }.joined(separator: " "))
    print("  added by qssl: median \(fmt(median(diffs) * 1e6, 1)) us (goal <= 20 us)")
    let n = Double(rounds * count)
    print("  context switches of the whole process (sim included) per round trip: bare \(fmt(Double(bareSwitches) / n, 1)), qssl \(fmt(Double(libSwitches) / n, 1))")
    print("command: \(benchCommandLine())")
}

/// Voluntary plus involuntary context switches of this process so far (all threads, the in-process sim too).
private func contextSwitches() -> Int {
    var u = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
    return u.ru_nvcsw + u.ru_nivcsw
}
