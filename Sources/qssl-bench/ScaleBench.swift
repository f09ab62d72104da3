import Foundation
import QSSL
import QSSLCore
import QSSLSim

// Scale: M virtual modems x S SSL sockets in this process, every socket echoing the same number of bytes at once.
// Each modem's line is throttled, so its sockets compete for it: a fair library gives each 1/S of it.

let scaleBenchSection = BenchSection(
    name: "scale",
    summary: "M modems x S sockets in one process: byte-exact, fair shares, I/O threads (--modems M --sockets S --bytes N --baud B)",
    run: runScaleBench)

/// Threads of this process (/proc/self/task).
private func taskCount() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? -1
}

/// Bytes each socket has received, and (per modem) a snapshot of them when the modem's first socket finished.
private final class Progress: @unchecked Sendable {
    private let lock = NSLock()
    private var got: [[Int]]
    private var snapshot: [[Int]?]
    init(modems: Int, sockets: Int) {
        got = Array(repeating: Array(repeating: 0, count: sockets), count: modems)
        snapshot = Array(repeating: nil, count: modems)
    }
    func add(_ m: Int, _ s: Int, _ n: Int, total: Int) {
        lock.withLock {
            got[m][s] += n
            if got[m][s] == total && snapshot[m] == nil { snapshot[m] = got[m] }
        }
    }
    var snapshots: [[Int]?] { lock.withLock { snapshot } }
}

func runScaleBench(_ args: [String]) {
    let modems = benchOption(args, "--modems", default: 8)
    let sockets = benchOption(args, "--sockets", default: 6)
    let bytes = benchOption(args, "--bytes", default: 30_000)
    let baud = benchOption(args, "--baud", default: 115_200)
    let server = benchEchoServer()
    defer { server.stop() }
    let lines = (0..<modems).map { _ in BenchLine(baud: baud) }
    defer { lines.forEach { $0.stop() } }
    let before = taskCount()
    let ms = lines.map { benchModem($0, baud: baud) }
    defer { ms.forEach { $0.close() } }
    let addedCount = taskCount() - before
    var ids: [[Int]] = []
    for m in ms {
        var row: [Int] = []
        for _ in 0..<sockets {
            do { row.append(try m.openSSL(host: "127.0.0.1", port: server.port)) } catch { benchFail("open: \(error)") }
        }
        ids.append(row)
    }
    let progress = Progress(modems: modems, sockets: sockets)
    let results = UncheckedBox(UnsafeMutablePointer<Bool>.allocate(capacity: modems * sockets))
    defer { results.value.deallocate() }
    let t0 = benchNow()
    var threads: [BenchThread] = []
    for mi in 0..<modems {
        for si in 0..<sockets {
            let m = ms[mi]
            let s = ids[mi][si]
            let data = simTestStream(bytes, seed: UInt64(mi * 16 + si + 1))
            threads.append(BenchThread {
                do { _ = try m.send(socket: s, data, timeoutMs: 3_600_000) } catch { benchFail("send m\(mi) s\(si): \(error)") }
            })
            threads.append(BenchThread {
                var back = [UInt8](repeating: 0, count: bytes)
                var got = 0
                back.withUnsafeMutableBytes { dst in
                    while got < bytes {
                        do {
                            let n = try m.recv(socket: s, into: UnsafeMutableRawBufferPointer(rebasing: dst[got...]), timeoutMs: 120_000)
                            if n == 0 { benchFail("m\(mi) s\(si): end of stream after \(got)") }
                            got += n
                            progress.add(mi, si, n, total: bytes)
                        } catch { benchFail("recv m\(mi) s\(si) after \(got): \(error)") }
                    }
                }
                results.value[mi * sockets + si] = back == data
            })
        }
    }
    threads.forEach { $0.join() }
    let elapsed = benchNow() - t0
    let exact = (0..<(modems * sockets)).filter { results.value[$0] }.count
    // Fair share: when a modem's first socket had everything back, each of its sockets should hold about the
    // mean of what the others had.
    var worst = 0.0
    var shares: [Double] = []
    for snap in progress.snapshots {
        guard let snap else { continue }
        let mean = Double(snap.reduce(0, +)) / Double(sockets)
        for v in snap {
            let r = Double(v) / mean
            shares.append(r)
            worst = max(worst, abs(r - 1))
        }
    }
    let perModem = Double(bytes * sockets) / elapsed
    print("\(modems) modems x \(sockets) SSL sockets, \(bytes) bytes each way per socket, lines at \(baud) baud, one TLS echo peer")
    print("  byte-exact streams: \(exact) of \(modems * sockets)")
    print("  threads added by \(modems) open modems: \(addedCount) (\(fmt(Double(addedCount) / Double(modems), 1)) per modem)")
    print("  share of each socket when its modem's first socket finished: min \(fmt(shares.min() ?? 0)) max \(fmt(shares.max() ?? 0)) of the fair share; worst deviation \(fmt(worst * 100, 1)) % (goal <= 10 %)")
    print("  all done in \(fmt(elapsed, 1)) s: \(fmt(perModem / lineRate(baud))) of line rate each way per modem")
    print("command: \(benchCommandLine())")
}
