import CPosix
import Foundation
import QSSL
import QSSLCore
import Testing

/// A fresh pty pair; the test keeps the slave fd to inspect the termios the transport set.
final class PtyPair: @unchecked Sendable {
    var master: Int32 = -1
    var slave: Int32 = -1
    let path: String

    init() throws {
        var m: Int32 = -1, s: Int32 = -1
        guard openpty(&m, &s, nil, nil, nil) == 0 else { throw QsslError.io }
        master = m
        slave = s
        path = String(cString: ttyname(s))
    }

    func termiosOfSlave() -> termios {
        var t = termios()
        _ = tcgetattr(slave, &t)
        return t
    }

    func closeMaster() { if master >= 0 { CPosix.close(master); master = -1 } }

    deinit {
        closeMaster()
        if slave >= 0 { CPosix.close(slave) }
    }

    /// Reads from the master until `predicate` holds for everything read, or the timeout.
    func readMaster(timeoutMs: Int = 3000, until predicate: ([UInt8]) -> Bool) -> [UInt8] {
        var got: [UInt8] = []
        let end = monotonicNs() + UInt64(timeoutMs) * 1_000_000
        var buf = [UInt8](repeating: 0, count: 4096)
        while !predicate(got) && monotonicNs() < end {
            var p = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            if CPosix.poll(&p, 1, 20) == 1 {
                let n = CPosix.read(master, &buf, buf.count)
                if n > 0 { got += buf[0..<n] } else if n == 0 { break }
            }
        }
        return got
    }

    func writeMaster(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { CPosix.write(master, $0.baseAddress, $0.count) }
    }
}

/// A tiny module on the pty master: answers each CR-terminated line through `answer`.
final class PtyResponder: @unchecked Sendable {
    let pty: PtyPair
    let answer: (String) -> String?
    private let stopLock = NSLock()
    private var stopFlag = false
    private let finished = DispatchSemaphore(value: 0)
    private var receivedLines: [String] = []
    /// The lines the responder has read so far (it appends from its own thread).
    var received: [String] { stopLock.lock(); defer { stopLock.unlock() }; return receivedLines }

    init(_ pty: PtyPair, answer: @escaping (String) -> String?) {
        self.pty = pty
        self.answer = answer
        Thread { [self] in loop() }.start()
    }

    private var stopped: Bool { stopLock.lock(); defer { stopLock.unlock() }; return stopFlag }

    private func loop() {
        var line: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1024)
        while !stopped {
            var p = pollfd(fd: pty.master, events: Int16(POLLIN), revents: 0)
            guard CPosix.poll(&p, 1, 20) == 1 else { continue }
            let n = CPosix.read(pty.master, &buf, buf.count)
            if n <= 0 { usleep(5000); continue }
            for b in buf[0..<n] {
                if b == 0x0D {
                    let text = String(decoding: line, as: UTF8.self)
                    stopLock.lock(); receivedLines.append(text); stopLock.unlock()
                    if let reply = answer(text) { pty.writeMaster(Array(reply.utf8)) }
                    line.removeAll()
                } else {
                    line.append(b)
                }
            }
        }
        finished.signal()
    }

    func stop() {
        stopLock.lock(); stopFlag = true; stopLock.unlock()
        _ = finished.wait(timeout: .now() + 3)
    }
}

@Suite("Transport")
struct TransportTests {
    @Test(arguments: [(9600, B9600), (115200, B115200), (460800, B460800), (921600, B921600)])
    func baudIsSetAndReadsBack(baud: Int, constant: Int32) throws {
        let pty = try PtyPair()
        var o = SerialOptions()
        o.baud = baud
        let t = try SerialTransport(path: pty.path, options: o)
        defer { t.close() }
        var tio = pty.termiosOfSlave()
        #expect(cfgetospeed(&tio) == speed_t(constant))
        #expect(cfgetispeed(&tio) == speed_t(constant))
    }

    @Test func rawEightNOne() throws {
        let pty = try PtyPair()
        let t = try SerialTransport(path: pty.path, options: SerialOptions())
        defer { t.close() }
        let tio = pty.termiosOfSlave()
        #expect(tio.c_lflag & tcflag_t(ICANON | ECHO | ECHOE | ISIG | IEXTEN) == 0)
        #expect(tio.c_iflag & tcflag_t(ICRNL | INLCR | IGNCR | IXON | IXOFF | ISTRIP) == 0)
        #expect(tio.c_oflag & tcflag_t(OPOST) == 0)
        #expect(tio.c_cflag & tcflag_t(CSIZE) == tcflag_t(CS8))
        #expect(tio.c_cflag & tcflag_t(PARENB | CSTOPB) == 0)
        #expect(tio.c_cflag & tcflag_t(CLOCAL | CREAD) == tcflag_t(CLOCAL | CREAD))
        #expect(tio.c_cflag & 0x8000_0000 == 0)   // no CRTSCTS unless asked
        var cc = tio.c_cc
        let (vmin, vtime) = withUnsafeBytes(of: &cc) { ($0[Int(VMIN)], $0[Int(VTIME)]) }
        #expect(vmin == 0 && vtime == 0)
        // O_NONBLOCK and FD_CLOEXEC on the transport's fd.
        #expect(fcntl(t.fd, F_GETFL) & O_NONBLOCK != 0)
        #expect(fcntl(t.fd, F_GETFD) & FD_CLOEXEC != 0)
    }

    @Test func rtsctsOnRequest() throws {
        let pty = try PtyPair()
        var o = SerialOptions()
        o.rtscts = true
        let t = try SerialTransport(path: pty.path, options: o)
        defer { t.close() }
        #expect(pty.termiosOfSlave().c_cflag & 0x8000_0000 != 0)
    }

    @Test(arguments: [0, 1200, 12345, 1_000_000, -9600])
    func unsupportedBaudIsInvalid(baud: Int) throws {
        let pty = try PtyPair()
        var o = SerialOptions()
        o.baud = baud
        #expect(throws: QsslError.invalidArgument) { try SerialTransport(path: pty.path, options: o) }
    }

    @Test func missingDeviceIsNoSuchDevice() {
        let path = "/dev/qssl-no-such-tty-\(getpid())"
        do {
            _ = try SerialTransport(path: path, options: SerialOptions())
            Issue.record("opened a path that does not exist")
        } catch {
            #expect(error == .noSuchDevice)
            #expect(error.detailText == "no such device: " + path + " (errno \(ENOENT))")
        }
    }

    @Test func aRegularFileIsNotATerminal() throws {
        let path = NSTemporaryDirectory() + "qssl-plain-\(getpid())"
        #expect(FileManager.default.createFile(atPath: path, contents: Data("x".utf8)))
        defer { unlink(path) }
        #expect(throws: QsslError.notATerminal) { try SerialTransport(path: path, options: SerialOptions()) }
    }

    @Test func aNonTtyPathIsAcceptedAsIs() throws {
        // No gating on isatty(): a FIFO opens (no termios) and carries bytes.
        let path = NSTemporaryDirectory() + "qssl-fifo-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        #expect(mkfifo(path, 0o600) == 0)
        defer { unlink(path) }
        let t = try SerialTransport(path: path, options: SerialOptions())
        defer { t.close() }
        try [UInt8]("AT\r").withUnsafeBytes { try t.write($0, timeoutMs: 1000) }
        var buf = [UInt8](repeating: 0, count: 16)
        var got: [UInt8] = []
        #expect(eventually {
            let n = (try? buf.withUnsafeMutableBytes { try t.read(into: $0) }) ?? 0
            got += buf[0..<n]
            return got.count >= 3
        })
        #expect(got == [UInt8]("AT\r"))
    }

    @Test func secondOpenerIsRefusedWithBusy() throws {
        let pty = try PtyPair()
        let first = try SerialTransport(path: pty.path, options: SerialOptions())
        // TIOCEXCL is set on the tty (TIOCGEXCL = _IOR('T', 0x40, int)); root bypasses it, flock does not.
        var excl: Int32 = 0
        #expect(cposix_ioctl_int(pty.slave, 0x8004_5440, &excl) == 0)
        #expect(excl == 1)
        #expect(throws: QsslError.busy) { try SerialTransport(path: pty.path, options: SerialOptions()) }
        first.close()
        // Closing clears the flag again: a non-root user could not reopen the port otherwise.
        #expect(cposix_ioctl_int(pty.slave, 0x8004_5440, &excl) == 0)
        #expect(excl == 0)
        let again = try SerialTransport(path: pty.path, options: SerialOptions())
        again.close()
    }

    @Test func readWriteBothWays() throws {
        let pty = try PtyPair()
        let t = try SerialTransport(path: pty.path, options: SerialOptions())
        defer { t.close() }
        var buf = [UInt8](repeating: 0, count: 64)
        #expect(try buf.withUnsafeMutableBytes { try t.read(into: $0) } == 0)   // nothing yet: EAGAIN -> 0
        let out: [UInt8] = [0x41, 0x54, 0x0D, 0x00, 0xFF, 0x0A]
        try out.withUnsafeBytes { try t.write($0, timeoutMs: 1000) }
        #expect(pty.readMaster { $0.count >= out.count } == out)   // raw: no CR/LF mapping
        pty.writeMaster([0x0D, 0x0A, 0x4F, 0x4B, 0x0D, 0x0A])
        var got: [UInt8] = []
        #expect(eventually {
            let n = (try? buf.withUnsafeMutableBytes { try t.read(into: $0) }) ?? 0
            got += buf[0..<n]
            return got.count >= 6
        })
        #expect(got == [0x0D, 0x0A, 0x4F, 0x4B, 0x0D, 0x0A])
    }

    @Test func masterCloseIsNoDevice() throws {
        let pty = try PtyPair()
        let t = try SerialTransport(path: pty.path, options: SerialOptions())
        defer { t.close() }
        pty.closeMaster()
        var p = pollfd(fd: t.pollFD, events: Int16(POLLIN), revents: 0)
        #expect(CPosix.poll(&p, 1, 2000) == 1)
        #expect(p.revents & Int16(POLLHUP) != 0)
        var buf = [UInt8](repeating: 0, count: 16)
        #expect(throws: QsslError.noDevice) { _ = try buf.withUnsafeMutableBytes { try t.read(into: $0) } }
        #expect(throws: QsslError.noDevice) { try [UInt8]([0x41]).withUnsafeBytes { try t.write($0, timeoutMs: 500) } }
    }

    @Test func bigRawWriteThroughAPtyTakesPartialWrites() throws {
        let pty = try PtyPair()
        let t = try SerialTransport(path: pty.path, options: SerialOptions())
        let c = ATChannel(transport: t, options: ChannelOptions())
        defer { c.close() }
        try c.startIO()
        c.enterDataMode(exitLines: [])
        // Far more than a pty buffers: the channel must wait for POLLOUT between partial writes.
        let data = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let writer = Background { Result { () throws(QsslError) in try c.writeRaw(data, timeoutMs: 10_000) } }
        let got = pty.readMaster(timeoutMs: 10_000) { $0.count >= data.count }
        #expect(got == data)
        try #require(writer.wait(timeoutMs: 10_000)).get()
    }

    @Test func channelOverARealPty() throws {
        let pty = try PtyPair()
        let responder = PtyResponder(pty) { line in
            switch line {
            case "AT": return "AT\r\r\nOK\r\n"              // echo on until ATE0
            case "ATE0": return "ATE0\r\r\nOK\r\n"
            case "AT+CMEE=1": return "\r\nOK\r\n\r\nCall Ready\r\n"
            case "AT+CGMR": return "\r\nRevision: M66FAR01A12\r\n\r\nOK\r\n"
            case "AT+QSSLSEND=1,5": return "\r\n> "
            case "hello": return nil
            default: return "\r\nERROR\r\n"
            }
        }
        defer { responder.stop() }
        let t = try SerialTransport(path: pty.path, options: SerialOptions())
        var o = ChannelOptions()
        o.syncIntervalMs = 200
        let c = ATChannel(transport: t, options: o)
        defer { c.close() }
        let urcs = Collector<URC>()
        c.urcHandler = { urcs.append($0) }
        try c.start(timeoutMs: 5000)
        #expect(try c.at("AT+CGMR", timeoutMs: 2000) == ["Revision: M66FAR01A12"])
        #expect(throws: QsslError.modem) { try c.at("AT+BOGUS", timeoutMs: 2000) }
        #expect(urcs.wait { $0.contains(.callReady) })
        #expect(responder.received.prefix(3) == ["AT", "ATE0", "AT+CMEE=1"])

        // Hang-up: the master goes away while a command waits for its answer.
        responder.stop()
        let pending = Background { Result { () throws(QsslError) in try c.execute(ATRequest("AT+CSQ"), timeoutMs: 5000) } }
        usleep(50_000)
        pty.closeMaster()
        let r = try #require(pending.wait(timeoutMs: 3000))
        #expect(throws: QsslError.noDevice) { try r.get() }
        #expect(c.deviceGone)
        #expect(throws: QsslError.noDevice) { try c.execute(ATRequest("AT"), timeoutMs: 1000) }
        c.close()
        #expect(t.fd == -1)
    }
}
