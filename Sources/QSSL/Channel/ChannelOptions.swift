import QSSLCore

/// Channel settings.
public struct ChannelOptions: Sendable {
    /// "AT" tries at start-up (autobaud).
    public var syncAttempts: Int = 10
    public var syncIntervalMs: Int = 300
    /// After a command times out, the channel waits up to this long for that command's late final result
    /// (and swallows it) before it sends the next command. See `ATChannel` for why.
    public var lateFinalWaitMs: Int = 2000
    /// Silence the module needs before and after "+++" (about 1 s). Counted from when the last byte has crossed
    /// the line, not from when write() returned (see `ATChannel.exitDataMode`).
    public var guardTimeMs: Int = 1000
    /// Added to the guard before "+++": the line clock is an estimate, and the module's clock is not ours.
    public var guardMarginMs: Int = 200
    /// Bytes that can sit between write() and the far end's reader: the tty's buffer and a USB bridge's FIFO,
    /// or a pty's buffers (measured: over 20 KiB while the other side reads at 115200 baud). Only bounds the line
    /// clock when the far end reads faster than the nominal rate (a pty with no line behind it); a real UART
    /// never does, so a larger value costs nothing on hardware.
    public var maxQueuedLineBytes: Int = 65536
    /// How long the port must stay quiet after an exit line in data mode (see DataModeExitScanner) before the
    /// line counts as the module's; bytes that could be the start of one are held that long.
    public var dataModeQuietMs: Int = 200
    /// Longest wait for the module's "OK" after "+++" has been written (its own guard time comes first).
    public var escapeAnswerMs: Int = 2500
    /// How long "+++" may wait for the driver to empty its queue (hardware flow control can stall it).
    public var escapeStallMs: Int = 10_000
    /// Once a counted payload (+QSSLRECV, +QIRD) has begun, its request does not time out while the payload keeps
    /// coming: only this long without a byte of it ends the request. The module has taken those bytes out of its
    /// buffers, so giving up on them would lose them. A blocking `execute` waits for such a payload past its timeout.
    public var payloadStallMs: Int = 5000
    /// Bytes read per read() call; the buffer is allocated once.
    public var readBufferSize: Int = 16384
    public init() {}
}

/// What the channel reports while in data mode (transparent mode), on the I/O thread.
public enum DataModeEvent: Sendable, Equatable {
    /// Bytes from the peer, in order, exit lines held back until they are decided.
    case bytes([UInt8])
    /// The module left data mode by itself and printed `line` (one of the request's exit lines, or "OK" to an
    /// escape nobody waits for any more). The channel is back to lines; that line and what followed it go
    /// through the parser right after this event, so their URCs reach the URC handler.
    case ended(line: String)
}

