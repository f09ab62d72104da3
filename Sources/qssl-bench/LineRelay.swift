import CPosix
import Foundation
import QSSLSim

/// A UART between the host and an unthrottled virtual module: two pty pairs and a thread per direction that
/// hands each byte on at the end of its line time (baud/10 bytes per second, 8N1), never earlier, in slices of
/// about a millisecond. The sim's own `--baud` lets up to 20 ms of bytes through at once after the line was idle,
/// which is harmless for its tests but lets command mode (each direction idle half the time) beat the physical
/// limit; a benchmark of line efficiency needs the exact clock.
final class LineRelay: @unchecked Sendable {
    /// The pty the host opens as its serial port.
    let hostPath: String
    private let master: Int32
    private let hostKeep: Int32
    private let simFD: Int32
    private let lock = NSLock()
    private var stopping = false
    private var threads: [BenchThread] = []

    init(simPath: String, baud: Int) {
        var m: Int32 = 0
        var s: Int32 = 0
        var name = [CChar](repeating: 0, count: 128)
        if openpty(&m, &s, &name, nil, nil) != 0 { benchFail("openpty: errno \(errno)") }
        master = m
        // The slave stays open here so that the host may close and reopen its side without a hang-up.
        hostKeep = s
        hostPath = String(decoding: name.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        simFD = cposix_open(simPath, O_RDWR | O_NOCTTY)
        if hostKeep < 0 || simFD < 0 { benchFail("relay open: errno \(errno)") }
        for fd in [hostKeep, simFD] {
            var t = termios()
            tcgetattr(fd, &t)
            cfmakeraw(&t)
            tcsetattr(fd, TCSANOW, &t)
        }
        let bps = lineRate(baud)
        let (hostSide, simSide) = (master, simFD)
        threads = [BenchThread { [self] in pump(from: hostSide, to: simSide, bps: bps) },
                   BenchThread { [self] in pump(from: simSide, to: hostSide, bps: bps) }]
    }

    private var isStopping: Bool { lock.withLock { stopping } }

    private func pump(from: Int32, to: Int32, bps: Double) {
        var buf = [UInt8](repeating: 0, count: 4096)
        let slice = max(1, Int(bps / 1000))
        var lineFree = benchNow()
        while !isStopping {
            var p = pollfd(fd: from, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, 50) <= 0 { continue }
            let n = buf.withUnsafeMutableBytes { read(from, $0.baseAddress!, $0.count) }
            if n <= 0 {
                if n < 0 && errno != EAGAIN && errno != EINTR { usleep(2000) }  // EIO while a side is closed
                continue
            }
            lineFree = max(lineFree, benchNow())
            var off = 0
            while off < n {
                let k = min(slice, n - off)
                lineFree += Double(k) / bps
                sleepUntil(lineFree)
                var done = 0
                while done < k {
                    let w = buf.withUnsafeBytes { write(to, $0.baseAddress! + off + done, k - done) }
                    if w > 0 { done += w; continue }
                    if isStopping { return }
                    var q = pollfd(fd: to, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&q, 1, 50)
                }
                off += k
            }
        }
    }

    private func sleepUntil(_ t: Double) {
        let d = t - benchNow()
        if d > 0 { usleep(UInt32(d * 1e6)) }
    }

    func stop() {
        lock.withLock { stopping = true }
        threads.forEach { $0.join() }
        close(simFD)
        close(hostKeep)
        close(master)
    }
}

/// A virtual module behind a line of `baud` (nil: the bare pty). `simThrottle` uses the sim's own `--baud`
/// instead of the exact relay.
final class BenchLine {
    let sim: VirtualModule
    let relay: LineRelay?
    var path: String { relay?.hostPath ?? sim.slavePath }

    init(baud: Int?, simThrottle: Bool = benchSimThrottle) {
        if let baud, !simThrottle {
            sim = benchSim(baud: nil)
            relay = LineRelay(simPath: sim.slavePath, baud: baud)
        } else {
            sim = benchSim(baud: baud)
            relay = nil
        }
    }

    func stop() {
        relay?.stop()
        sim.stop()
    }
}

/// Set by `--sim-baud`: throttle with qssl-sim's `--baud` instead of the exact line relay.
nonisolated(unsafe) var benchSimThrottle = false
