import QSSLCore

/// Where one socket index stands. Every change goes through `SocketSlot`'s transitions, under `Modem.lock`.
enum SocketPhase: Equatable, Sendable {
    /// AT+QSSLOPEN / AT+QIOPEN sent; waiting for +QSSLOPEN / "<n>, CONNECT OK|FAIL".
    case opening
    /// Connected; received bytes are fetched by the receive pump.
    case open
    /// Transparent socket in data mode: the port is its byte pipe.
    case dataMode
    /// Transparent socket taken out of data mode ("+++"); the connection is up, ATO resumes it.
    case suspended
    /// The peer closed. Bytes may still wait in the module (the pump fetches them) and in the host buffer.
    case peerClosed
    /// PDP loss, module restart, device loss, the modem closed: the connection is gone.
    case failed(QsslError)
    /// Closed by the user; the index is free.
    case released

    /// For the trace and error messages.
    var name: String {
        switch self {
        case .opening: return "opening"
        case .open: return "open"
        case .dataMode: return "data mode"
        case .suspended: return "suspended"
        case .peerClosed: return "closed by the peer"
        case .failed(let e): return "failed (" + String(describingStatic: e.text) + ")"
        case .released: return "released"
        }
    }
}

/// When to fetch received bytes of a non-transparent socket (AT+QSSLRECV / AT+QIRD). Pure: the modem asks it and
/// sends the read it allows. One read at a time; a data URC during a read makes it go round once more even if
/// its answer was empty; reading stops at the high-water mark until the user has read half of it; after the peer
/// closed, the reads go on until one comes back empty: then the stream is `finished`.
struct ReceivePump: Equatable, Sendable {
    /// A read is queued or in flight.
    private(set) var reading = false
    /// Stopped at the high-water mark.
    private(set) var paused = false
    /// The module holds nothing more after the peer closed: end of stream once the host buffer is empty.
    private(set) var finished = false
    private var announced = 0
    private var announcedAtRead = 0

    /// Starts a read if none runs and none is held back; true: send one now.
    mutating func startRead() -> Bool {
        if reading || paused || finished { return false }
        reading = true
        announcedAtRead = announced
        return true
    }

    /// A data URC arrived.
    mutating func announce() -> Bool {
        announced &+= 1
        return startRead()
    }

    /// The peer closed: one more read picks up what the module still holds.
    mutating func peerClosed() -> Bool {
        if startRead() { return true }
        if !reading && !paused { finished = true }
        return false
    }

    /// A read came back: `ok` (an answer, `got` bytes) or not; `unanswered`: it timed out (or was never sent
    /// because the queue expired it); `buffered` is the host buffer now. True: another read is wanted (start it with
    /// `startRead` if the socket may still read).
    mutating func readDone(ok: Bool, unanswered: Bool = false, got: Int, buffered: Int, highWaterMark: Int,
                           peerClosed: Bool) -> Bool {
        reading = false
        var again = false
        if ok && got > 0 {
            if buffered >= highWaterMark { paused = true } else { again = true }
        } else if ok && announced != announcedAtRead {
            again = true
        } else if unanswered && !peerClosed {
            // The module announces data only when its buffer stops being empty: a read lost to a timeout must be
            // made again, or the socket would wait for a URC that never comes (found by qssl-faults).
            again = true
        } else if peerClosed {
            // An empty answer, or none (the module no longer knows the socket): what we have is all there is.
            finished = true
        }
        return again
    }

    /// The user read; `buffered` is what is left. True: resume reading now.
    mutating func userRead(buffered: Int, highWaterMark: Int, peerClosed: Bool) -> Bool {
        guard paused && buffered <= highWaterMark / 2 else { return false }
        paused = false
        if startRead() { return true }
        if peerClosed && !reading { finished = true }
        return false
    }

    /// No more reads for a transparent socket or a dead one: the stream ends with what is buffered.
    mutating func finish() {
        finished = true
    }
}

/// State of one socket index (0-5), shared by SSL and TCP sockets. Guarded by `Modem.lock`.
final class SocketSlot {
    let index: Int
    let kind: SocketKind
    let transparent: Bool
    private(set) var phase: SocketPhase = .opening
    /// The connection result for the opener (0 = connected, else the module's code).
    var openCode: Int? = nil
    var buffer = ByteBuffer()
    /// Numbers from the last data URC, reused in AT+QSSLRECV / AT+QIRD.
    var cid = 0
    var sc = 1
    var pump = ReceivePump()
    /// AT+QSSLSEND answered ERROR: the connection is broken for sending.
    var sendBroken = false

    init(index: Int, kind: SocketKind, transparent: Bool) {
        self.index = index
        self.kind = kind
        self.transparent = transparent
    }

    var isOpening: Bool { phase == .opening }
    var isReleased: Bool { phase == .released }
    var isPeerClosed: Bool { phase == .peerClosed }
    var failure: QsslError? {
        if case .failed(let e) = phase { return e }
        return nil
    }
    /// recv would return 0: the peer closed and every byte is in the host buffer.
    var endOfStream: Bool { phase == .peerClosed && pump.finished }
    /// recv would not block (the socket's pollable fd).
    var readable: Bool {
        switch phase {
        case .opening, .released: return false
        default: return buffer.count > 0 || endOfStream || failure != nil
        }
    }
    /// The receive pump may send reads.
    var mayRead: Bool { !transparent && (phase == .open || phase == .peerClosed) }

    /// The connection result arrived (the opener reads `openCode`).
    func connected() {
        if phase == .opening { phase = transparent ? .dataMode : .open }
    }

    /// The peer closed; false if that was known already or the socket is gone. An opening socket fails to open.
    func closedByPeer() -> Bool {
        switch phase {
        case .opening:
            if openCode == nil { openCode = -1 }
            phase = .peerClosed
            pump.finish()
            return true
        case .open, .dataMode, .suspended:
            phase = .peerClosed
            if transparent { pump.finish() }
            return true
        default:
            return false
        }
    }

    /// The connection is gone. A peer-closed stream whose every byte has arrived keeps its clean end.
    func fail(_ e: QsslError) {
        switch phase {
        case .failed, .released: return
        case .peerClosed where pump.finished: return
        case .opening: if openCode == nil { openCode = -1 }
        default: break
        }
        phase = .failed(e)
    }

    func suspend() { if phase == .dataMode { phase = .suspended } }
    func resume() { if phase == .suspended { phase = .dataMode } }
    func release() { phase = .released }
}
