import Foundation
import QSSL
import QSSLCore
import QSSLSim

// What every live section needs: certificates, a TLS echo peer, a virtual module, a raw pty and a few numbers.

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Ends the program with a message: a benchmark that cannot run must not print a figure.
func benchFail(_ message: String) -> Never {
    print("qssl-bench: \(message)")
    exit(1)
}

/// The repository's top directory (from this file's place in it).
let benchRepoRoot: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// Test certificates made once by scripts/make-test-certs.sh (openssl) in a fresh temp dir.
let benchCertDir: String = {
    let dir = NSTemporaryDirectory() + "qssl-bench-certs-\(getpid())"
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = [benchRepoRoot + "/scripts/make-test-certs.sh", dir]
    p.standardOutput = FileHandle.nullDevice
    do { try p.run() } catch { benchFail("cannot run make-test-certs.sh: \(error)") }
    p.waitUntilExit()
    if p.terminationStatus != 0 { benchFail("make-test-certs.sh failed (openssl missing?)") }
    return dir
}()

/// A TLS echo server on 127.0.0.1 (server authentication only; the benches use seclevel 0).
func benchEchoServer() -> TestTLSServer {
    do {
        return try TestTLSServer(certificatePath: benchCertDir + "/server.pem", keyPath: benchCertDir + "/server.key")
    } catch { benchFail("TLS echo server: \(error)") }
}

/// A started virtual module, throttled to `baud` (nil: as fast as the pty goes), echo on as at power-up.
func benchSim(baud: Int?, socketBuffer: Int = 64 * 1024) -> VirtualModule {
    var o = SimOptions()
    o.baud = baud
    o.escapeGuardSeconds = 0.3
    o.seed = 1
    o.socketBufferLimit = socketBuffer
    do {
        let m = try VirtualModule(options: o)
        m.start()
        return m
    } catch { benchFail("virtual module: \(error)") }
}

/// The library's modem on a line, PDP up: what an application has before its first socket.
func benchModem(_ line: BenchLine, baud: Int) -> Modem {
    var serial = SerialOptions()
    serial.baud = baud
    do {
        let m = try Modem.open(path: line.path, serial: serial)
        _ = try m.activatePDP(PDPConfig(apn: "CMNET"))
        return m
    } catch { benchFail("modem bring-up on \(line.path): \(error)") }
}

/// Line rate of an 8N1 UART in payload bytes per second.
func lineRate(_ baud: Int) -> Double { Double(baud) / 10 }

/// Formats `x` with `digits` decimals.
func fmt(_ x: Double, _ digits: Int = 3) -> String {
    if !x.isFinite { return "\(x)" }
    var p = 1.0
    for _ in 0..<digits { p *= 10 }
    let v = (x * p).rounded() / p
    var s = String(v)
    if let dot = s.firstIndex(of: ".") {
        let have = s.distance(from: dot, to: s.endIndex) - 1
        if have < digits { s += String(repeating: "0", count: digits - have) }
    } else if digits > 0 {
        s += "." + String(repeating: "0", count: digits)
    }
    return s
}

/// Median of a non-empty list.
func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Runs `body` on a new thread; `join()` waits for it.
final class BenchThread: @unchecked Sendable {
    private let done = NSCondition()
    private var finished = false
    init(_ body: @escaping @Sendable () -> Void) {
        let t = Thread { [self] in
            body()
            done.lock()
            finished = true
            done.broadcast()
            done.unlock()
        }
        t.stackSize = 1 << 20
        t.start()
    }
    func join() {
        done.lock()
        while !finished { done.wait() }
        done.unlock()
    }
}

/// Checks that `got` is exactly `want`, naming the first difference.
func checkSame(_ got: [UInt8], _ want: [UInt8], _ what: String) {
    if got == want { return }
    var i = 0
    while i < min(got.count, want.count) && got[i] == want[i] { i += 1 }
    benchFail("\(what): \(got.count) bytes back of \(want.count), first difference at byte \(i)")
}
