import Foundation
import QSSL
import QSSLCore
import QSSLSim

// UART efficiency: N bytes each way (sent, echoed by a TLS peer, received) through a sim throttled to a baud rate.
// The figures are fractions of the line rate (baud/10 bytes per second each way), so they hardly depend on the
// machine's load: the throttled line, not the CPU, is the bottleneck.

let uartBenchSection = BenchSection(
    name: "uart",
    summary: "UART efficiency, command and transparent mode, vs the raw AT loop (--bytes N --baud B [--baud B...] --repeat R --quick --sim-baud)",
    run: runUartBench)

let sweepBenchSection = BenchSection(
    name: "sweep",
    summary: "efficiency against baud rate 9600..921600 with the framing ceiling, as a table and a chart (--seconds S --repeat R --sim-baud)",
    run: runSweepBench)

struct UartFigures {
    var raw: Double = 0        // seconds, raw AT loop, command mode
    var rawCounts = CommandCounts()
    var command: Double = 0    // seconds, library, command mode
    var transparent: Double = 0  // seconds, library, transparent mode (both ways, to the last echoed byte)
    var transparentDown: Double = 0  // seconds from the first to the last echoed byte
}

/// One thread, raw AT on the pty: QSSLRECV while the module holds data, else QSSLSEND; each command written the
/// moment the previous answer ends. Returns the seconds from the first command to the last echoed byte.
func rawCommandLoop(baud: Int, data: [UInt8]) -> (seconds: Double, counts: CommandCounts) {
    let server = benchEchoServer()
    defer { server.stop() }
    let line = BenchLine(baud: baud)
    defer { line.stop() }
    let port = RawPort(path: line.path)
    defer { port.close() }
    port.bringUp(port: server.port, transparent: false)
    var back = [UInt8](repeating: 0, count: data.count)
    let total = data.count
    var sent = 0
    var got = 0
    var counts = CommandCounts()
    let t0 = benchNow()
    data.withUnsafeBytes { src in
        back.withUnsafeMutableBytes { dst in
            while got < total {
                if port.recvPending {
                    port.write("AT+QSSLRECV=\(port.recvCid),0,1500\r")
                    counts.reads += 1
                    var n = 0
                    while true {
                        guard case .line(let l) = port.next() else { benchFail("raw loop: prompt in a recv") }
                        if l == "OK" { break }
                        if l.hasPrefix("+QSSLRECV:") {
                            guard let len = l.split(separator: ",").last.flatMap({ Int($0) }), got + len <= total else {
                                benchFail("raw loop: bad header \(l)")
                            }
                            port.readExact(len, into: UnsafeMutableRawBufferPointer(rebasing: dst[got..<(got + len)]))
                            got += len
                            n = len
                        } else if !l.hasPrefix("+QSSLURC:") {
                            benchFail("raw loop: \(l) in a recv")
                        }
                    }
                    if n == 0 { counts.emptyReads += 1 }
                    // Fewer bytes than asked for: the module's buffer is empty and the next data brings a URC.
                    if n < 1500 { port.recvPending = false }
                } else if sent < total {
                    let n = min(ATCommands.maxSendChunk, total - sent)
                    port.write("AT+QSSLSEND=0,\(n)\r")
                    counts.sends += 1
                    while true {
                        let t = port.next()
                        if t == .prompt { break }
                        if case .line(let l) = t, !l.hasPrefix("+QSSLURC:") { benchFail("raw loop: \(l) before the prompt") }
                    }
                    port.write(UnsafeRawBufferPointer(rebasing: src[sent..<(sent + n)]))
                    while true {
                        guard case .line(let l) = port.next() else { continue }
                        if l == "SEND OK" { sent += n; break }
                        if l == "SEND FAIL" { break }  // module buffer full: the loop drains it first
                        if !l.hasPrefix("+QSSLURC:") { benchFail("raw loop: \(l) after a payload") }
                    }
                } else {
                    _ = port.next()  // everything sent: wait for the module to announce more data
                }
            }
        }
    }
    let elapsed = benchNow() - t0
    checkSame(back, data, "raw loop at \(baud) baud")
    return (elapsed, counts)
}

/// Commands a command-mode run took.
struct CommandCounts: CustomStringConvertible {
    var sends = 0
    var reads = 0
    var emptyReads = 0
    var description: String { "\(sends) QSSLSEND, \(reads) QSSLRECV (\(emptyReads) of them empty)" }
}

/// Counts the commands the library sends for `bytes` each way, from its AT trace (a separate run: tracing costs
/// time, so the timed runs go without it).
func libraryCommandCounts(baud: Int, bytes: Int) -> CommandCounts {
    let counter = TraceCounts()
    _ = libraryLoop(baud: baud, data: simTestStream(bytes, seed: 7), transparent: false, trace: counter)
    return counter.counts
}

final class TraceCounts: @unchecked Sendable {
    private let lock = NSLock()
    private var c = CommandCounts()
    private var headers = 0
    func add(_ d: TraceDirection, _ line: String) {
        lock.withLock {
            if d == .toModule {
                if line.hasPrefix("AT+QSSLSEND=") { c.sends += 1 }
                if line.hasPrefix("AT+QSSLRECV=") { c.reads += 1 }
            } else if line.hasPrefix("+QSSLRECV:") {
                headers += 1
            }
        }
    }
    var counts: CommandCounts {
        lock.withLock {
            var r = c
            r.emptyReads = c.reads - headers
            return r
        }
    }
}

/// The library in command mode: one thread sends all of `data` (qssl_send), the caller's thread receives the echo.
func libraryLoop(baud: Int, data: [UInt8], transparent: Bool, trace: TraceCounts? = nil)
    -> (all: Double, down: Double)
{
    let server = benchEchoServer()
    defer { server.stop() }
    let line = BenchLine(baud: baud)
    defer { line.stop() }
    let modem = benchModem(line, baud: baud)
    defer { modem.close() }
    if let trace { modem.setTrace { trace.add($0, $1) } }
    let s: Int
    do { s = try modem.openSSL(host: "127.0.0.1", port: server.port, transparent: transparent) } catch {
        benchFail("open (transparent \(transparent)): \(error)")
    }
    let total = data.count
    var back = [UInt8](repeating: 0, count: total)
    let t0 = benchNow()
    let sender = BenchThread {
        do {
            let n = try modem.send(socket: s, data, timeoutMs: 3_600_000)
            if n != total { benchFail("send: \(n) of \(total)") }
        } catch { benchFail("send: \(error)") }
    }
    var got = 0
    var firstBack = 0.0
    back.withUnsafeMutableBytes { dst in
        while got < total {
            do {
                let n = try modem.recv(socket: s, into: UnsafeMutableRawBufferPointer(rebasing: dst[got...]), timeoutMs: 60_000)
                if n == 0 { benchFail("recv: end of stream after \(got) bytes") }
                if got == 0 { firstBack = benchNow() }
                got += n
            } catch { benchFail("recv after \(got) bytes: \(error)") }
        }
    }
    let end = benchNow()
    sender.join()
    checkSame(back, data, "library (transparent \(transparent)) at \(baud) baud")
    try? modem.closeSocket(s)
    return (end - t0, end - firstBack)
}

/// Hands a pointer to another thread (the bench joins that thread before reading it).
final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ v: T) { value = v }
}

/// Bytes on the line for one QSSLSEND of 1460 and one QSSLRECV of 1500 (echo off, as the library runs), in
/// line-byte times. Command mode serialises them, so with both directions loaded each way gets at most
/// payload / (send cost + recv cost) of the line rate.
struct Framing {
    static let sendBytes = "AT+QSSLSEND=0,1460\r".utf8.count + "\r\n> ".utf8.count + 1460 + "\r\nSEND OK\r\n".utf8.count
    static let recvBytes = "AT+QSSLRECV=0,0,1500\r".utf8.count + "\r\n+QSSLRECV: 127.0.0.1:40000,TCP,1500\r\n".utf8.count
        + 1500 + "\r\nOK\r\n".utf8.count
    /// Fraction of the line rate each way, both directions loaded (the echo workload).
    static let commandBothWays = 1.0 / (Double(sendBytes) / 1460 + Double(recvBytes) / 1500)
    static let commandUpOnly = 1460.0 / Double(sendBytes)
    static let commandDownOnly = 1500.0 / Double(recvBytes)
}

/// `repeats` alternating runs of the raw loop and the library; the best of each (the run the load disturbed least).
func measureUart(baud: Int, bytes: Int, seed: UInt64, repeats: Int = 1) -> UartFigures {
    let data = simTestStream(bytes, seed: seed)
    var f = UartFigures()
    f.raw = .infinity
    f.command = .infinity
    f.transparent = .infinity
    f.transparentDown = .infinity
    for _ in 0..<max(1, repeats) {
        // Raw loop and library back to back, so a change of machine load touches both alike.
        let r = rawCommandLoop(baud: baud, data: data)
        if r.seconds < f.raw { (f.raw, f.rawCounts) = r }
        f.command = min(f.command, libraryLoop(baud: baud, data: data, transparent: false).all)
        let t = libraryLoop(baud: baud, data: data, transparent: true)
        f.transparent = min(f.transparent, t.all)
        f.transparentDown = min(f.transparentDown, t.down)
    }
    return f
}

func runUartBench(_ args: [String]) {
    benchSimThrottle = args.contains("--sim-baud")
    let quick = args.contains("--quick")
    let bytes = benchOption(args, "--bytes", default: quick ? 100_000 : 1_000_000)
    let repeats = benchOption(args, "--repeat", default: 1)
    var bauds: [Int] = []
    var i = 0
    while i < args.count {
        if args[i] == "--baud", i + 1 < args.count, let b = Int(args[i + 1]) { bauds.append(b) }
        i += 1
    }
    if bauds.isEmpty { bauds = [115_200, 921_600] }
    print("\(bytes) bytes each way (sent, echoed by the TLS peer, received, checked byte for byte); line rate = baud/10 B/s each way")
    print(benchSimThrottle ? "line: qssl-sim --baud (token bucket, 20 ms bursts)" : "line: exact relay (each byte handed on at the end of its line time)")
    print("command-mode framing ceiling (both ways loaded): \(fmt(Framing.commandBothWays)) of line rate each way; one way only: up \(fmt(Framing.commandUpOnly)), down \(fmt(Framing.commandDownOnly))")
    for baud in bauds {
        let f = measureUart(baud: baud, bytes: bytes, seed: UInt64(baud), repeats: repeats)
        let rate = lineRate(baud)
        let b = Double(bytes)
        print("baud \(baud):" + (repeats > 1 ? " (best of \(repeats) alternating runs each)" : ""))
        print("  raw AT loop, command mode:      \(fmt(f.raw, 2)) s  = \(fmt(b / f.raw / rate)) of line rate each way")
        print("  qssl, command mode:             \(fmt(f.command, 2)) s  = \(fmt(b / f.command / rate)) of line rate each way")
        print("  qssl command mode / raw loop:   \(fmt(f.raw / f.command))  (goal >= 0.99)")
        let k = min(bytes, 100_000)
        print("  raw loop took \(f.rawCounts) for \(bytes) bytes each way")
        print("  qssl took \(libraryCommandCounts(baud: baud, bytes: k)) for \(k) bytes each way (a traced run, untimed)")
        print("  qssl, transparent, both ways:   \(fmt(f.transparent, 2)) s  = \(fmt(b / f.transparent / rate)) of line rate (goal >= 0.98)")
        print("  qssl, transparent, down:        \(fmt(b / f.transparentDown / rate)) of line rate (first to last echoed byte)")
    }
    print("command: \(benchCommandLine())")
}

func runSweepBench(_ args: [String]) {
    benchSimThrottle = args.contains("--sim-baud")
    let seconds = benchOption(args, "--seconds", default: 4)
    let repeats = benchOption(args, "--repeat", default: 1)
    let bauds = [9600, 19200, 38400, 57600, 115_200, 230_400, 460_800, 921_600]
    print("each row moves baud/10 x \(seconds) bytes each way (at least 4096), best of \(repeats); fractions of the line rate each way")
    print("baud     ceiling  raw-loop  qssl-cmd  qssl-transparent")
    var rows: [(Int, Double, Double, Double)] = []
    for baud in bauds {
        let bytes = max(4096, Int(lineRate(baud)) * seconds)
        let f = measureUart(baud: baud, bytes: bytes, seed: UInt64(baud), repeats: repeats)
        let rate = lineRate(baud)
        let b = Double(bytes)
        let r = (baud, b / f.raw / rate, b / f.command / rate, b / f.transparent / rate)
        rows.append(r)
        print("\(String(baud).padding(toLength: 9, withPad: " ", startingAt: 0))\(fmt(Framing.commandBothWays))    \(fmt(r.1))     \(fmt(r.2))     \(fmt(r.3))")
    }
    // The chart: one row per baud rate, 50 columns = 100 % of the line rate.
    print("")
    print("efficiency (fraction of line rate each way), C = qssl command mode, R = raw AT loop, T = transparent, | = command-mode framing ceiling")
    for (baud, raw, cmd, tr) in rows {
        func col(_ x: Double) -> Int { min(50, max(0, Int((x * 50).rounded()))) }
        var line = [Character](repeating: " ", count: 51)
        line[col(Framing.commandBothWays)] = "|"
        line[col(raw)] = "R"
        line[col(cmd)] = line[col(cmd)] == "R" ? "*" : "C"
        line[col(tr)] = "T"
        print("\(String(baud).padding(toLength: 7, withPad: " ", startingAt: 0)) " + String(line))
    }
    print("        0        0.2       0.4       0.6       0.8       1.0   (* = R and C on the same column)")
    print("command: \(benchCommandLine())")
}
