import CPosix
import QSSLCore

/// Wraps the modem's transport to count bytes as the channel writes them, so a certificate upload can report
/// progress without help from the channel: while the AT+QSECWRITE command is the one in flight, everything
/// written after its command line is certificate data.
final class CountingTransport: ByteTransport {
    let inner: any ByteTransport
    private let lock = Lock()
    private var observer: ((UnsafeRawBufferPointer) -> Void)? = nil
    private var errnoStorage: Int32 = 0

    /// errno right after the last failed read or write (0 if none failed), for the error detail.
    var lastErrno: Int32 { lock.withLock { errnoStorage } }

    init(_ inner: any ByteTransport) { self.inner = inner }

    /// Called on the I/O thread with the bytes of each successful write; nil to stop.
    func setObserver(_ o: ((UnsafeRawBufferPointer) -> Void)?) { lock.withLock { observer = o } }

    var pollFD: Int32 { inner.pollFD }
    var lineRate: Int { inner.lineRate }
    func pendingOutput() -> Int { inner.pendingOutput() }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(QsslError) -> Int {
        do throws(QsslError) { return try inner.read(into: buffer) } catch {
            noteFailure()
            throw error
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer, timeoutMs: Int) throws(QsslError) {
        do throws(QsslError) { try inner.write(bytes, timeoutMs: timeoutMs) } catch {
            noteFailure()
            throw error
        }
        notify(bytes)
    }

    /// Largest write while an upload is observed: a pty or a fast UART may take a whole 32 KiB file in one
    /// write, and progress would then jump from 0 to the end.
    static let observedWriteLimit = 4096

    func writeSome(_ bytes: UnsafeRawBufferPointer) throws(QsslError) -> Int {
        let n: Int
        var part = bytes
        if bytes.count > Self.observedWriteLimit && lock.withLock({ observer != nil }) {
            part = UnsafeRawBufferPointer(rebasing: bytes[0..<Self.observedWriteLimit])
        }
        do throws(QsslError) { n = try inner.writeSome(part) } catch {
            noteFailure()
            throw error
        }
        if n > 0 { notify(UnsafeRawBufferPointer(rebasing: bytes[0..<n])) }
        return n
    }

    private func noteFailure() {
        // Same thread as the failed system call, nothing in between that sets errno.
        let e = cposix_errno()
        lock.withLock { errnoStorage = e }
    }

    func close() { inner.close() }

    private func notify(_ bytes: UnsafeRawBufferPointer) {
        let o = lock.withLock { observer }
        o?(bytes)
    }
}
