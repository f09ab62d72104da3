import CPosix
import QSSLCore

// Every system call of the transport and the channel goes through `syscallRetryingEINTR`, so a signal delivered to
// the process never surfaces as a spurious I/O error (swift-system's `valueOrErrno(retryOnInterrupt:)` idea).

/// Calls `body` until it does not fail with EINTR. Returns the result and errno (errno is 0 on success).
@inline(__always)
func syscallRetryingEINTR<T: FixedWidthInteger>(_ body: () -> T) -> (value: T, errno: Int32) {
    while true {
        let r = body()
        if r != -1 { return (r, 0) }
        let e = cposix_errno()
        if e != EINTR { return (r, e) }
    }
}

enum Sys {
    static func read(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> (value: Int, errno: Int32) {
        syscallRetryingEINTR { CPosix.read(fd, buffer.baseAddress, buffer.count) }
    }

    static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> (value: Int, errno: Int32) {
        syscallRetryingEINTR { CPosix.write(fd, bytes.baseAddress, bytes.count) }
    }

    static func poll(_ fds: UnsafeMutablePointer<pollfd>, _ count: Int, timeoutMs: Int32) -> (value: Int32, errno: Int32) {
        syscallRetryingEINTR { CPosix.poll(fds, nfds_t(count), timeoutMs) }
    }

    /// close() is never retried: on Linux the descriptor is released even when close reports EINTR.
    static func close(_ fd: Int32) {
        if fd >= 0 { _ = CPosix.close(fd) }
    }

    /// A non-blocking, close-on-exec eventfd.
    static func eventfd() throws(QsslError) -> Int32 {
        let r = syscallRetryingEINTR { CPosix.eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC)) }
        if r.value < 0 { throw Sys.resourceError(r.errno, "eventfd") }
        return r.value
    }

    /// A failed descriptor or memory allocation: `.noMemory` whose story tells which limit (EMFILE: this process's
    /// fd limit; ENFILE: the system's; ENOMEM) and errno, else `.io` with errno.
    static func resourceError(_ e: Int32, _ what: String) -> QsslError {
        switch e {
        case EMFILE: return QsslError.noMemory.with(errno: e, message: what + ": too many open files (the process's fd limit)")
        case ENFILE: return QsslError.noMemory.with(errno: e, message: what + ": too many open files in the system")
        case ENOMEM: return QsslError.noMemory.with(errno: e, message: what + ": out of memory")
        default: return QsslError.io.with(errno: e, message: what + " failed")
        }
    }

    /// Makes an eventfd readable.
    static func signalEventfd(_ fd: Int32) {
        var one: UInt64 = 1
        _ = withUnsafeBytes(of: &one) { b in syscallRetryingEINTR { CPosix.write(fd, b.baseAddress, 8) } }
    }

    /// Resets an eventfd to not readable.
    static func drainEventfd(_ fd: Int32) {
        var value: UInt64 = 0
        _ = withUnsafeMutableBytes(of: &value) { b in syscallRetryingEINTR { CPosix.read(fd, b.baseAddress, 8) } }
    }

    /// Milliseconds from now until `deadline` (monotonic ns), rounded up, clamped to 0...Int32.max.
    static func msUntil(_ deadline: UInt64, now: UInt64) -> Int32 {
        if deadline <= now { return 0 }
        let ms = (deadline - now + 999_999) / 1_000_000
        return ms > UInt64(Int32.max) ? Int32.max : Int32(ms)
    }
}
