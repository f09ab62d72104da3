import QSSLCore

/// Wraps the modem's transport to count bytes as the channel writes them, so a certificate upload can report
/// progress without help from the channel: while the AT+QSECWRITE command is the one in flight, everything
/// written after its command line is certificate data.
final class CountingTransport: ByteTransport {
    let inner: any ByteTransport
    private let lock = Lock()
    private var observer: ((UnsafeRawBufferPointer) -> Void)? = nil

    init(_ inner: any ByteTransport) { self.inner = inner }

    /// Called on the I/O thread with the bytes of each successful write; nil to stop.
    func setObserver(_ o: ((UnsafeRawBufferPointer) -> Void)?) { lock.withLock { observer = o } }

    var pollFD: Int32 { inner.pollFD }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(QsslError) -> Int {
        try inner.read(into: buffer)
    }

    func write(_ bytes: UnsafeRawBufferPointer, timeoutMs: Int) throws(QsslError) {
        try inner.write(bytes, timeoutMs: timeoutMs)
        notify(bytes)
    }

    func writeSome(_ bytes: UnsafeRawBufferPointer) throws(QsslError) -> Int {
        let n = try inner.writeSome(bytes)
        if n > 0 { notify(UnsafeRawBufferPointer(rebasing: bytes[0..<n])) }
        return n
    }

    func close() { inner.close() }

    private func notify(_ bytes: UnsafeRawBufferPointer) {
        let o = lock.withLock { observer }
        o?(bytes)
    }
}
