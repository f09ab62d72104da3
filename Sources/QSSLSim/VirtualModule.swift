import Foundation
import NIOCore
import NIOPosix
import CPosix

/// Errors of the virtual module's set-up.
public struct SimError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ d: String) { description = d }
}

/// A virtual Quectel M66 on a pty: answers AT commands on the master side, does real TCP / TLS through
/// SwiftNIO. Thread-safe; its I/O runs on its own threads and a private NIO event loop.
public final class VirtualModule: @unchecked Sendable {
    public let options: SimOptions
    /// The pty slave a client opens as its serial port.
    public let slavePath: String

    let masterFD: Int32
    /// Kept open so the master never sees a hang-up while clients close and reopen the slave.
    private let keptSlaveFD: Int32
    let group: MultiThreadedEventLoopGroup

    /// Guards the module state (everything in `ModuleState`).
    let lock = NSLock()
    var st: Engine!

    // Output queue, guarded by outCond (lock order: `lock` before `outCond`).
    private let outCond = NSCondition()
    private var outBuf: [UInt8] = []
    private var outHead = 0
    private var stopping = false
    private var started = false
    private var threadsRunning = 0
    private let threadsDone = NSCondition()

    private let logHandle: FileHandle?
    private let logLock = NSLock()
    private let t0: Double

    /// Opens the pty (and the link, the log file). Call `start()` to begin answering.
    public init(options: SimOptions = SimOptions()) throws {
        self.options = options
        var master: Int32 = -1
        var slave: Int32 = -1
        var name = [CChar](repeating: 0, count: 256)
        guard openpty(&master, &slave, &name, nil, nil) == 0 else {
            throw SimError("openpty failed: errno \(errno)")
        }
        // Raw slave: no echo by the line discipline, no CR/NL mapping, 8 bits.
        var t = termios()
        tcgetattr(slave, &t)
        cfmakeraw(&t)
        tcsetattr(slave, TCSANOW, &t)
        let flags = fcntl(master, F_GETFL)
        _ = fcntl(master, F_SETFL, flags | O_NONBLOCK)
        _ = fcntl(master, F_SETFD, FD_CLOEXEC)
        _ = fcntl(slave, F_SETFD, FD_CLOEXEC)
        masterFD = master
        keptSlaveFD = slave
        slavePath = String(decoding: name.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if let link = options.linkPath {
            unlink(link)
            if symlink(slavePath, link) != 0 {
                close(master); close(slave)
                throw SimError("cannot link \(link) -> \(slavePath): errno \(errno)")
            }
        }
        if let path = options.logPath {
            if !FileManager.default.fileExists(atPath: path) {
                _ = FileManager.default.createFile(atPath: path, contents: nil)
            }
            guard let h = FileHandle(forWritingAtPath: path) else {
                close(master); close(slave)
                throw SimError("cannot open log \(path)")
            }
            h.seekToEndOfFile()
            logHandle = h
        } else {
            logHandle = nil
        }
        t0 = monotonicNow()
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        st = nil
        st = Engine(module: self)
    }

    deinit {
        stop()
    }

    /// Starts answering on the pty (idempotent).
    public func start() {
        outCond.lock()
        if started || stopping { outCond.unlock(); return }
        started = true
        outCond.unlock()
        threadsDone.lock(); threadsRunning = 2; threadsDone.unlock()
        let r = Thread { [self] in readerLoop(); threadExited() }
        r.name = "qssl-sim-reader"
        r.start()
        let w = Thread { [self] in writerLoop(); threadExited() }
        w.name = "qssl-sim-writer"
        w.start()
    }

    /// Stops the threads, closes every socket and the pty, removes the link (idempotent).
    public func stop() {
        outCond.lock()
        if stopping { outCond.unlock(); return }
        stopping = true
        let wasStarted = started
        outCond.broadcast()
        outCond.unlock()
        if wasStarted {
            threadsDone.lock()
            while threadsRunning > 0 { threadsDone.wait() }
            threadsDone.unlock()
        }
        withEngine { $0.closeAllSockets() }
        try? group.syncShutdownGracefully()
        close(masterFD)
        close(keptSlaveFD)
        if let link = options.linkPath { unlink(link) }
        logLock.lock()
        try? logHandle?.close()
        logLock.unlock()
    }

    private func threadExited() {
        threadsDone.lock()
        threadsRunning -= 1
        threadsDone.broadcast()
        threadsDone.unlock()
    }

    var isStopping: Bool {
        outCond.lock(); defer { outCond.unlock() }
        return stopping
    }

    // MARK: output

    /// Queues bytes for the host. Called with `lock` held (or not); never blocks.
    func enqueueOutput(_ bytes: [UInt8]) {
        if bytes.isEmpty { return }
        outCond.lock()
        outBuf.append(contentsOf: bytes)
        outCond.signal()
        outCond.unlock()
    }

    /// Bytes queued for the host and not yet written.
    var queuedOutput: Int {
        outCond.lock(); defer { outCond.unlock() }
        return outBuf.count - outHead
    }

    private func writerLoop() {
        var rng = SimRandom(seed: (options.seed ?? UInt64.random(in: 0...UInt64.max)) &+ 0x5151)
        let bytesPerSecond = options.baud.map { max(1.0, Double($0) / 10.0) }
        var nextFree = monotonicNow()
        while true {
            outCond.lock()
            while outBuf.count == outHead && !stopping { outCond.wait() }
            if stopping { outCond.unlock(); return }
            var limit = 16384
            if let bps = bytesPerSecond { limit = max(1, Int(bps / 50)) }  // ~20 ms of line time
            let n = min(limit, outBuf.count - outHead)
            let chunk = Array(outBuf[outHead..<(outHead + n)])
            outHead += n
            if outHead == outBuf.count {
                outBuf.removeAll(keepingCapacity: outBuf.capacity <= 1 << 20)
                outHead = 0
            } else if outHead > 1 << 16 && outHead * 2 > outBuf.count {
                outBuf.removeFirst(outHead)
                outHead = 0
            }
            let remaining = outBuf.count - outHead
            outCond.unlock()

            if let bps = bytesPerSecond {
                let now = monotonicNow()
                if nextFree > now { sleepSeconds(nextFree - now) }
                nextFree = max(nextFree, now) + Double(n) / bps
            }
            if options.fragmentWrites {
                var i = 0
                while i < chunk.count {
                    let k = min(rng.int(1...7), chunk.count - i)
                    if !writeAll(Array(chunk[i..<(i + k)])) { return }
                    i += k
                    sched_yield()
                }
            } else {
                if !writeAll(chunk) { return }
            }
            if remaining < options.socketBufferLimit { outputDrained() }
        }
    }

    /// Writes everything to the master, waiting while the pty is full. False when stopping.
    private func writeAll(_ bytes: [UInt8]) -> Bool {
        log(out: true, bytes)
        var off = 0
        while off < bytes.count {
            let r = bytes[off...].withUnsafeBytes { write(masterFD, $0.baseAddress, $0.count) }
            if r > 0 { off += r; continue }
            let e = errno
            if r < 0 && e == EINTR { continue }
            if isStopping { return false }
            var p = pollfd(fd: masterFD, events: Int16(POLLOUT), revents: 0)
            _ = poll(&p, 1, 50)
            if r < 0 && e != EAGAIN && e != EWOULDBLOCK { sleepSeconds(0.01) }
        }
        return true
    }

    // MARK: input

    /// Reads the host's bytes. With a baud rate the bytes cross the line one by one: the reader takes them
    /// no faster than baud/10 per second (a token bucket holding 20 ms of line time), so the rest stays in
    /// the pty and the host's write() blocks as on a real UART, and each byte gets an arrival time on a
    /// line clock (the previous arrival plus one byte time, or the time it was read if later).
    ///
    /// A line does not stop while this thread is descheduled: bytes that were already waiting in the pty at the
    /// previous look (throttled, FIONREAD) kept crossing from then on. Without that, every stall of the reader on
    /// a busy machine would push the line clock back for good, and a host that waited the guard time after its
    /// last byte would see its "+++" taken as data.
    private func readerLoop() {
        var buf = [UInt8](repeating: 0, count: 65536)
        let bytesPerSecond = options.baud.map { max(1.0, Double($0) / 10.0) }
        let byteTime = bytesPerSecond.map { 1 / $0 } ?? 0
        let burst = bytesPerSecond.map { max(1.0, $0 / 50) } ?? 0
        // Read in batches of at least ~2 ms of line time: one read per byte would take the engine lock
        // thousands of times a second.
        let batch = bytesPerSecond.map { min(burst, max(1.0, $0 / 500)) } ?? 0
        var tokens = burst
        var refilled = monotonicNow()
        var lastArrival = -Double.infinity
        // When bytes were last seen waiting in the pty (nil: none were): the line has carried them since.
        var waitingSince: Double? = nil
        while !isStopping {
            lock.lock()
            let paused = st.inputPaused
            lock.unlock()
            if paused { waitingSince = nil }   // a held line (flow control) carries nothing
            var limit = buf.count
            if let bps = bytesPerSecond {
                let now = monotonicNow()
                // While bytes were waiting, the line was busy for the whole time, however late this thread is.
                let cap = waitingSince.map { max(burst, (now - max($0, lastArrival)) * bps + burst) } ?? burst
                tokens = min(cap, tokens + (now - refilled) * bps)
                refilled = now
                if tokens < batch {
                    sleepSeconds(min(0.02, (batch - tokens) / bps))
                    tick()
                    continue
                }
                limit = min(limit, Int(tokens))
            }
            var p = pollfd(fd: masterFD, events: paused ? 0 : Int16(POLLIN), revents: 0)
            _ = poll(&p, 1, 20)
            if !paused && (p.revents & Int16(POLLIN)) != 0 {
                let n = buf.withUnsafeMutableBytes { read(masterFD, $0.baseAddress, limit) }
                if n > 0 {
                    let bytes = Array(buf[0..<n])
                    log(out: false, bytes)
                    let now = monotonicNow()
                    var first = now
                    if bytesPerSecond != nil {
                        tokens -= Double(n)
                        // Bytes known to be waiting crossed right behind the previous ones (from when they were
                        // seen); new ones arrived no earlier than now.
                        first = max(lastArrival + byteTime, waitingSince ?? now)
                        lastArrival = first + Double(n - 1) * byteTime
                        var queued: Int32 = 0
                        waitingSince = cposix_ioctl_int(masterFD, UInt(FIONREAD), &queued) == 0 && queued > 0
                            ? monotonicNow() : nil
                    }
                    handleInput(bytes, first: first, spacing: byteTime, now: now)
                } else if n < 0 && errno != EAGAIN && errno != EINTR {
                    // EIO until a client has opened the slave: retry.
                    sleepSeconds(0.01)
                }
            } else if (p.revents & Int16(POLLHUP | POLLERR)) != 0 {
                sleepSeconds(0.01)
            }
            tick()
        }
    }

    // MARK: log

    private func log(out: Bool, _ bytes: [UInt8]) {
        guard let h = logHandle else { return }
        // The clock is read under the lock, so the log's times never go backwards from one line to the next.
        logLock.lock()
        defer { logLock.unlock() }
        h.write(Data(SimByteLog.line(seconds: monotonicNow() - t0, fromHost: !out, bytes).utf8))
    }
}

func monotonicNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func sleepSeconds(_ s: Double) {
    if s <= 0 { return }
    usleep(UInt32(min(s, 10) * 1_000_000))
}
