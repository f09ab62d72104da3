import CPosix
import QSSLCore

/// Serial line settings. 8N1 is fixed (the M-series modules use nothing else).
public struct SerialOptions: Sendable {
    /// 9600...921600, one of the standard rates; anything else is .invalidArgument.
    public var baud: Int = 115200
    /// RTS/CTS hardware flow control (the modules ship with it off: AT+IFC=2,2 turns it on).
    public var rtscts: Bool = false
    public init() {}
}

/// A tty (or pty) opened raw 8N1, non-blocking, close-on-exec, and exclusively.
///
/// Exclusivity is two locks: TIOCEXCL (refuses further open() calls, except for root) and
/// flock(LOCK_EX|LOCK_NB) (refuses a second qssl user, root included). Either refusal is `.busy`.
/// Hang-up (the USB bridge unplugged, the pty master closed) shows as `.noDevice` from read/write.
/// A path that is not a tty is accepted as is (no termios, no gating on isatty()).
public final class SerialTransport: ByteTransport, @unchecked Sendable {
    public let path: String
    public private(set) var fd: Int32
    public var pollFD: Int32 { fd }
    public let lineRate: Int

    /// Opens raw 8N1, O_NONBLOCK, TIOCEXCL + flock(LOCK_EX|LOCK_NB): second opener gets .busy. Bad baud -> .invalidArgument.
    public convenience init(path: String, options: SerialOptions = SerialOptions()) throws(QsslError) {
        // Everything that can fail happens before the object exists: Embedded Swift leaks a partly
        // initialised object when a class initialiser throws.
        let fd = try SerialTransport.openConfigured(path: path, options: options)
        self.init(path: path, fd: fd, lineRate: options.baud)
    }

    private init(path: String, fd: Int32, lineRate: Int) {
        self.path = path
        self.fd = fd
        self.lineRate = lineRate
    }

    public func pendingOutput() -> Int {
        if fd < 0 { return 0 }
        var n: Int32 = 0
        // A pty (and a FIFO) reports 0 or fails: its queue is covered by the channel's line clock.
        if cposix_ioctl_int(fd, UInt(TIOCOUTQ), &n) != 0 { return 0 }
        return Int(max(0, n))
    }

    /// Opens and configures the port; returns the fd, or closes it again and throws.
    private static func openConfigured(path: String, options: SerialOptions) throws(QsslError) -> Int32 {
        guard let speed = SerialTransport.speed(forBaud: options.baud) else { throw .invalidArgument }
        if path.isEmpty { throw .invalidArgument }
        let flags = O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC
        let opened = syscallRetryingEINTR { path.withCString { cposix_open($0, flags) } }
        if opened.value < 0 { throw SerialTransport.naming(SerialTransport.openError(opened.errno), path, opened.errno) }
        let fd = opened.value
        // A regular file opens fine but is never a modem; say so instead of timing out on the sync.
        var st = stat()
        if fstat(fd, &st) == 0 && st.st_mode & mode_t(S_IFMT) == mode_t(S_IFREG) {
            Sys.close(fd)
            throw SerialTransport.naming(.notATerminal, path, 0)
        }

        let locked = syscallRetryingEINTR { flock(fd, LOCK_EX | LOCK_NB) }
        if locked.value != 0 {
            Sys.close(fd)
            throw SerialTransport.naming(locked.errno == EWOULDBLOCK ? .busy : .io, path, locked.errno)
        }

        var tio = termios()
        let got = syscallRetryingEINTR { tcgetattr(fd, &tio) }
        if got.value != 0 {
            if got.errno == ENOTTY || got.errno == EINVAL { return fd }   // a FIFO or a socket: nothing to configure
            Sys.close(fd)
            throw SerialTransport.ioError(got.errno)
        }
        _ = syscallRetryingEINTR { cposix_ioctl_noarg(fd, UInt(TIOCEXCL)) }

        cfmakeraw(&tio)
        tio.c_lflag &= ~tcflag_t(ECHOE | ECHOK | ECHOCTL | ECHOKE)
        tio.c_cflag &= ~tcflag_t(CSIZE | PARENB | CSTOPB)
        tio.c_cflag |= tcflag_t(CS8 | CLOCAL | CREAD)
        if options.rtscts { tio.c_cflag |= SerialTransport.crtscts } else { tio.c_cflag &= ~SerialTransport.crtscts }
        tio.c_iflag &= ~tcflag_t(IXON | IXOFF | IXANY)
        withUnsafeMutableBytes(of: &tio.c_cc) { cc in
            cc[Int(VMIN)] = 0
            cc[Int(VTIME)] = 0
        }
        cfsetispeed(&tio, speed)
        cfsetospeed(&tio, speed)
        let set = syscallRetryingEINTR { tcsetattr(fd, TCSANOW, &tio) }
        if set.value != 0 {
            _ = syscallRetryingEINTR { cposix_ioctl_noarg(fd, UInt(TIOCNXCL)) }
            Sys.close(fd)
            throw SerialTransport.ioError(set.errno)
        }
        // Stale bytes from a previous user are not ours to parse.
        _ = syscallRetryingEINTR { tcflush(fd, TCIOFLUSH) }
        return fd
    }

    deinit { close() }

    /// CRTSCTS is 0x80000000, an octal literal that does not import as tcflag_t.
    static let crtscts: tcflag_t = 0x8000_0000

    /// The termios speed constant for a baud rate in 9600...921600, or nil.
    public static func speed(forBaud baud: Int) -> speed_t? {
        switch baud {
        case 9600: return speed_t(B9600)
        case 19200: return speed_t(B19200)
        case 38400: return speed_t(B38400)
        case 57600: return speed_t(B57600)
        case 115200: return speed_t(B115200)
        case 230400: return speed_t(B230400)
        case 460800: return speed_t(B460800)
        case 500000: return speed_t(B500000)
        case 576000: return speed_t(B576000)
        case 921600: return speed_t(B921600)
        default: return nil
        }
    }

    /// `e` with the path in its text ("permission denied: /dev/ttyUSB0 (errno 13)"), unless it already tells more.
    static func naming(_ e: QsslError, _ path: String, _ errno: Int32) -> QsslError {
        if e.story != nil { return e }
        return e.with(errno: errno, message: String(describingStatic: e.text) + ": " + path)
    }

    static func openError(_ e: Int32) -> QsslError {
        switch e {
        case EBUSY, EWOULDBLOCK: return .busy
        case EACCES, EPERM, EROFS: return .permissionDenied
        case ENOENT, ENOTDIR: return .noSuchDevice
        case EISDIR: return .notATerminal
        case ENXIO, ENODEV: return .noDevice
        case ENOMEM, EMFILE, ENFILE: return Sys.resourceError(e, "open")
        default: return .io
        }
    }

    static func ioError(_ e: Int32) -> QsslError {
        switch e {
        case EIO, ENXIO, ENODEV, EPIPE, EBADF: return .noDevice
        case ENOMEM: return .noMemory
        default: return .io
        }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(QsslError) -> Int {
        if fd < 0 { throw .closed }
        if buffer.count == 0 { return 0 }
        let r = Sys.read(fd, buffer)
        if r.value > 0 { return r.value }
        if r.value == 0 {
            // Raw mode with VMIN = VTIME = 0 makes an idle tty read 0 (not EAGAIN), and so does a hung-up one
            // (or EOF on a non-tty). Only the hang-up also shows POLLHUP/POLLERR.
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let polled = Sys.poll(&p, 1, timeoutMs: 0)
            if polled.value < 0 { throw .io }
            if p.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 { throw .noDevice }
            return 0
        }
        if r.errno == EAGAIN || r.errno == EWOULDBLOCK { return 0 }
        throw SerialTransport.ioError(r.errno)
    }

    public func writeSome(_ bytes: UnsafeRawBufferPointer) throws(QsslError) -> Int {
        if fd < 0 { throw .closed }
        if bytes.count == 0 { return 0 }
        let r = Sys.write(fd, bytes)
        if r.value >= 0 { return r.value }
        if r.errno == EAGAIN || r.errno == EWOULDBLOCK { return 0 }
        throw SerialTransport.ioError(r.errno)
    }

    public func write(_ bytes: UnsafeRawBufferPointer, timeoutMs: Int) throws(QsslError) {
        let deadline = deadlineNs(afterMs: timeoutMs)
        var done = 0
        while done < bytes.count {
            let n = try writeSome(UnsafeRawBufferPointer(rebasing: bytes[done...]))
            done += n
            if done == bytes.count { return }
            if n > 0 { continue }
            let now = monotonicNs()
            if now >= deadline { throw .timedOut }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let r = Sys.poll(&p, 1, timeoutMs: Sys.msUntil(deadline, now: now))
            if r.value < 0 { throw .io }
            if p.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 { throw .noDevice }
        }
    }

    /// Clears TIOCEXCL and closes the fd (releasing the flock). Idempotent.
    public func close() {
        let old = fd
        fd = -1
        if old < 0 { return }
        // The flag belongs to the tty, not to this fd: while anything else keeps the tty open (a pty master,
        // a getty) it would refuse every later non-root open of the port, ours included.
        _ = syscallRetryingEINTR { cposix_ioctl_noarg(old, UInt(TIOCNXCL)) }
        Sys.close(old)
    }
}
