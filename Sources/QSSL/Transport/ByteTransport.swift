import CPosix
import QSSLCore

/// A byte stream to a module: a serial port, a pty, or an in-memory fake in tests.
/// Only the channel's I/O thread calls read/write; `close()` comes last.
public protocol ByteTransport: AnyObject {
    /// fd the channel polls for readability (a tty/pty fd, or a pipe/eventfd for in-memory fakes).
    var pollFD: Int32 { get }
    /// Reads available bytes; returns 0 if none right now (EAGAIN); throws .noDevice on hang-up/EIO, .io otherwise.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(QsslError) -> Int
    /// Writes all bytes (blocking with poll, bounded by timeout); throws .noDevice/.io/.timedOut.
    func write(_ bytes: UnsafeRawBufferPointer, timeoutMs: Int) throws(QsslError)
    /// Writes what the device takes now without blocking; returns the count (0 if it would block).
    /// The channel uses it so that a slow writer never stops it from reading. Default: `write` with a 5 s bound.
    func writeSome(_ bytes: UnsafeRawBufferPointer) throws(QsslError) -> Int
    /// Bits per second of the line behind the transport (10 bits per byte with 8N1), 0 if there is none (an
    /// in-memory fake). The channel uses it to know when written bytes have crossed the line.
    var lineRate: Int { get }
    /// Bytes written but still queued in the driver (TIOCOUTQ), 0 if unknown. Never blocks.
    func pendingOutput() -> Int
    func close()
}

extension ByteTransport {
    public var lineRate: Int { 0 }
    public func pendingOutput() -> Int { 0 }

    public func writeSome(_ bytes: UnsafeRawBufferPointer) throws(QsslError) -> Int {
        try write(bytes, timeoutMs: 5000)
        return bytes.count
    }
}
