import CPosix
import QSSLCore

extension Modem {
    // MARK: Opening

    /// Opens an SSL connection (AT+QSSLOPEN) on SSL context `context` and waits for the module's asynchronous
    /// result. `socket` -1 picks a free index 0-5 (shared with TCP sockets, §1.3); an index the module reports
    /// occupied is skipped. `timeoutS` 10-300 (the module's own limit), 0 for its default, 90. `transparent` opens in
    /// connectmode 1: the port becomes a byte pipe for this socket until `closeSocket`.
    /// Before connecting, the context as the module holds it (AT+QSSLCFG="ctxindex") must satisfy the seclevel
    /// rules: 1 needs a CA certificate, 2 a CA certificate, a client certificate and a key; otherwise
    /// `.invalidArgument` and no AT+QSSLOPEN. This covers settings made one at a time (setSSLSetting, `at`, an
    /// earlier session); a module whose answer to the query does not decode is not checked.
    /// Returns the socket index. Errors: `.invalidArgument` (no AT+QSSLOPEN sent), `.noSocket`, `.occupied`,
    /// `.connectFailed`, `.modem`, `.timedOut`, `.pdpDeactivated`, `.reset`.
    public func openSSL(host: String, port: Int, context: Int = 0, socket: Int = -1, timeoutS: Int = 0,
                        transparent: Bool = false) throws(QsslError) -> Int {
        let timeoutS = timeoutS == 0 ? 90 : timeoutS
        return try api { () throws(QsslError) -> Int in
            do throws(QsslError) {
                _ = try ATCommands.sslOpen(socket: 0, context: context, host: host, port: port,
                                           transparent: transparent, timeoutS: timeoutS)
                try ATArgument.checkRange(socket, -1...5)
            } catch {
                throw record(error, message: "invalid SSL open argument")
            }
            try checkSecLevel(context: context)
            return try openLoop(kind: .ssl, transparent: transparent, requested: socket,
                                waitMs: timeoutS * 1000 + 5000) { i throws(QsslError) in
                try ATCommands.sslOpen(socket: i, context: context, host: host, port: port,
                                       transparent: transparent, timeoutS: timeoutS)
            }
        }
    }

    /// Opens a plain TCP connection (AT+QIOPEN, multi-connection mode) in the same index space as SSL
    /// sockets and waits for "<n>, CONNECT OK", at most `timeoutS` seconds (1-300; 0 for 90). `socket` -1 picks
    /// a free index. Returns the index.
    public func openTCP(host: String, port: Int, socket: Int = -1, timeoutS: Int = 0) throws(QsslError) -> Int {
        // Wrapping: timeoutS is range-checked below before timeoutMs is used (INT_MAX * 1000 traps where Int is 32 bits).
        let timeoutMs = (timeoutS == 0 ? 90 : timeoutS) &* 1000
        return try api { () throws(QsslError) -> Int in
            do throws(QsslError) {
                _ = try ATCommands.tcpOpen(socket: 0, host: host, port: port)
                try ATArgument.checkRange(socket, -1...5)
                try ATArgument.checkRange(timeoutS, 0...300)
            } catch {
                throw record(error, message: "invalid TCP open argument")
            }
            return try openLoop(kind: .tcp, transparent: false, requested: socket,
                                waitMs: timeoutMs) { i throws(QsslError) in
                try ATCommands.tcpOpen(socket: i, host: host, port: port)
            }
        }
    }

    /// The note's seclevel rules against the context as the module reports it (see openSSL).
    private func checkSecLevel(context: Int) throws(QsslError) {
        let cmd = try ATCommands.sslQueryContext(context)
        let r = try exec(ATRequest(cmd), timeoutMs: options.commandTimeoutMs)
        guard r.final == .ok, let cfg = try? ATDecoders.sslContext(r.lines) else { return }
        switch cfg.secLevel {
        case .none:
            return
        case .server:
            if cfg.caCert == nil {
                throw record(.invalidArgument, command: cmd, message: "context \(context): seclevel 1 needs a CA certificate")
            }
        case .serverAndClient:
            if cfg.caCert == nil || cfg.clientCert == nil || cfg.clientKey == nil {
                throw record(.invalidArgument, command: cmd,
                             message: "context \(context): seclevel 2 needs a CA certificate, a client certificate and a key")
            }
        }
    }

    private func openLoop(kind: SocketKind, transparent: Bool, requested: Int, waitMs: Int,
                          command: (Int) throws(QsslError) -> String) throws(QsslError) -> Int {
        var tried: [Int] = []
        while true {
            // Reserve an index.
            let pick = lock.withLock { () -> (SocketSlot?, QsslError?) in
                if isClosedFlag { return (nil, .closed) }
                if requested >= 0 {
                    if slots[requested] != nil { return (nil, .occupied) }
                    let s = SocketSlot(index: requested, kind: kind, transparent: transparent)
                    slots[requested] = s
                    return (s, nil)
                }
                for i in 0..<6 where slots[i] == nil && !tried.contains(i) {
                    let s = SocketSlot(index: i, kind: kind, transparent: transparent)
                    slots[i] = s
                    return (s, nil)
                }
                return (nil, .noSocket)
            }
            guard let s = pick.0 else {
                let e = pick.1 ?? .noSocket
                throw record(e, message: e == .occupied ? "socket index in use on this handle" : "no free socket index")
            }
            tried.append(s.index)
            do throws(QsslError) {
                try openOne(s, command: try command(s.index), waitMs: waitMs)
                return s.index
            } catch {
                release(s)
                if error == .occupied && requested < 0 { continue }
                throw error
            }
        }
    }

    private func openOne(_ s: SocketSlot, command: String, waitMs: Int) throws(QsslError) {
        var req = ATRequest(command)
        req.endsOnAlreadyConnect = s.kind == .tcp     // AT+QIOPEN's own final; any other's is a late one
        let r = try exec(req, timeoutMs: options.commandTimeoutMs)
        switch r.final {
        case .ok?: break
        case .alreadyConnect?: throw record(.occupied, command: command, message: "ALREADY CONNECT")
        default: try expectOK(r, command)
        }
        let deadline = deadlineNs(afterMs: waitMs)
        lock.lock()
        while s.openCode == nil && s.failure == nil {
            if !waitLocked(until: deadline) { break }
        }
        let code = s.openCode
        let failure = s.failure
        lock.unlock()
        if let failure {
            throw record(failure, command: command, message: "socket failed while opening")
        }
        guard let code else {
            // The module may still be connecting: tell it to stop so the index is free again.
            let close = s.kind == .ssl ? "AT+QSSLCLOSE=\(s.index)" : "AT+QICLOSE=\(s.index)"
            _ = try? exec(ATRequest(close), timeoutMs: options.commandTimeoutMs)
            throw record(.timedOut, command: command, message: "no connection result in time")
        }
        if let e = ATDecoders.sslOpenError(code: code) {
            throw record(e, command: command, message: e == .occupied ? "socket occupied (connect code -2)"
                                                                     : "connection failed (code \(code))")
        }
    }

    func release(_ s: SocketSlot) {
        lock.withLock {
            s.release()
            if slots[s.index] === s { slots[s.index] = nil }
            stateChangedLocked()
        }
    }

    /// The slot of an open socket index (of `kind`, if given) or a thrown `.closed` / `.invalidArgument`.
    func userSlot(_ socket: Int, _ kind: SocketKind? = nil) throws(QsslError) -> SocketSlot {
        _ = try index(socket)
        guard let s = lock.withLock({ slots[socket] }), !s.isReleased, !s.isOpening, kind == nil || s.kind == kind else {
            throw record(.closed, message: Modem.notOpen(socket, kind))
        }
        return s
    }

    /// `socket` as a SocketIndex, or a recorded `.invalidArgument`.
    func index(_ socket: Int) throws(QsslError) -> SocketIndex {
        do throws(QsslError) { return try SocketIndex(socket) } catch {
            throw record(.invalidArgument, message: "socket index \(socket) not 0-5")
        }
    }

    static func notOpen(_ socket: Int, _ kind: SocketKind?) -> String {
        guard let kind else { return "socket \(socket) is not open" }
        return "no open " + (kind == .ssl ? "SSL" : "TCP") + " socket \(socket)"
    }

    // MARK: Sending

    /// The default send deadline: 30 s, or more for large sends (about 5 bytes per millisecond).
    public static func defaultSendTimeoutMs(_ count: Int) -> Int { max(30_000, count / 5) }

    /// Sends all of `bytes` on `socket` (SSL or TCP; with `kind` given, a socket of the other kind is `.closed`)
    /// in fixed-length chunks (binary safe). On SEND FAIL (module
    /// buffer full) backs off and retries until `timeoutMs` runs out (nil: `defaultSendTimeoutMs`). Returns the bytes accepted by the module;
    /// that is `bytes.count` unless time ran out after a part went (then the part). Throws `.timedOut` if nothing
    /// went, `.closed` if the module answered ERROR (connection broken) or the peer closed.
    public func send(socket: Int, kind: SocketKind? = nil, _ bytes: UnsafeRawBufferPointer,
                     timeoutMs: Int? = nil) throws(QsslError) -> Int {
        let timeoutMs = timeoutMs ?? Modem.defaultSendTimeoutMs(bytes.count)
        return try api { () throws(QsslError) -> Int in
            let s = try userSlot(socket, kind)
            if bytes.isEmpty { return 0 }
            try checkSendable(s)
            if s.transparent {
                let state = lock.withLock { () -> QsslError? in
                    if s.phase == .suspended { return .busy }
                    if s.phase != .dataMode { return .closed }
                    return nil
                }
                if let state {
                    throw record(state, message: state == .busy ? "transparent socket suspended" : "data mode ended")
                }
                try channel.writeRaw(Array(bytes), timeoutMs: timeoutMs)
                return bytes.count
            }
            let deadline = deadlineNs(afterMs: timeoutMs)
            let chunk = max(1, min(options.sendChunk, ATCommands.maxSendChunk))
            var sent = 0
            var backoffMs = 10
            while sent < bytes.count {
                let now = monotonicNs()
                if now >= deadline { break }
                let remainingMs = Int((deadline - now) / 1_000_000)
                let n = min(chunk, bytes.count - sent)
                let cmd = s.kind == .ssl ? try ATCommands.sslSend(socket: s.index, length: n)
                                         : try ATCommands.tcpSend(socket: s.index, length: n)
                let payload = Array(UnsafeRawBufferPointer(rebasing: bytes[sent..<(sent + n)]))
                let r: ATResponse
                do throws(QsslError) {
                    r = try exec(ATRequest(cmd, payload: payload), timeoutMs: max(remainingMs, 1000))
                } catch {
                    if error == .timedOut && sent > 0 { return sent }
                    throw error
                }
                switch r.final {
                case .sendOK?:
                    sent += n
                    backoffMs = 10
                case .sendFail?:
                    // Module send buffer full: nothing of this chunk went out; wait and resend it.
                    lock.lock()
                    let until = min(deadline, deadlineNs(afterMs: backoffMs))
                    while monotonicNs() < until && s.failure == nil && !s.isReleased {
                        _ = cond.wait(untilNs: until)
                    }
                    lock.unlock()
                    backoffMs = min(backoffMs * 2, 500)
                case .error?, .cmeError?:
                    lock.withLock { s.sendBroken = true }
                    if sent > 0 { return sent }
                    var cme = -1
                    if case .cmeError(let c)? = r.final { cme = c }
                    throw record(.closed, command: cmd, cme: cme, message: "send failed: connection broken")
                default:
                    throw record(.proto, command: cmd, message: "unexpected answer to send")
                }
                if sent < bytes.count {
                    do throws(QsslError) { try checkSendable(s) } catch {
                        if sent > 0 { return sent }
                        throw error
                    }
                }
            }
            if sent == 0 { throw record(.timedOut, message: "send timed out (module buffer full)") }
            return sent
        }
    }

    /// `send(socket:_:timeoutMs:)` for an array.
    public func send(socket: Int, kind: SocketKind? = nil, _ bytes: [UInt8], timeoutMs: Int? = nil) throws(QsslError) -> Int {
        // withUnsafeBytes rethrows untyped errors: carry the typed one out in a Result.
        let r = bytes.withUnsafeBytes { (p: UnsafeRawBufferPointer) -> Result<Int, QsslError> in
            do throws(QsslError) { return .success(try send(socket: socket, kind: kind, p, timeoutMs: timeoutMs)) } catch {
                return .failure(error)
            }
        }
        return try r.get()
    }

    private func checkSendable(_ s: SocketSlot) throws(QsslError) {
        let e = lock.withLock { () -> QsslError? in
            if let f = s.failure { return f }
            if s.isReleased || s.isPeerClosed || s.sendBroken { return .closed }
            return nil
        }
        if let e { throw record(e, message: "socket \(s.index) cannot send") }
    }

    // MARK: Receiving

    /// Reads up to `buffer.count` bytes that arrived on `socket`, waiting up to `timeoutMs` for some
    /// (0 = do not wait: `.again` if none; negative = no limit, still woken by close, PDP loss, reset, device
    /// loss). Returns 0 at end of stream (peer closed and every byte read).
    /// After a PDP deactivation / module reset, buffered bytes are returned first, then that error.
    public func recv(socket: Int, kind: SocketKind? = nil, into buffer: UnsafeMutableRawBufferPointer,
                     timeoutMs: Int) throws(QsslError) -> Int {
        try api { () throws(QsslError) -> Int in
            if buffer.isEmpty { throw record(.invalidArgument, message: "empty buffer") }
            _ = try index(socket)
            guard let s = lock.withLock({ slots[socket] }), !s.isOpening, kind == nil || s.kind == kind else {
                throw record(.closed, message: Modem.notOpen(socket, kind))
            }
            let deadline = timeoutMs < 0 ? UInt64.max : deadlineNs(afterMs: timeoutMs)
            var resume = false
            var outcome: Result<Int, QsslError>
            lock.lock()
            while true {
                if s.buffer.count > 0 {
                    let n = s.buffer.read(into: buffer)
                    stateChangedLocked()
                    // Reading resumes once the user has made room (hysteresis: half the mark).
                    if s.mayRead {
                        resume = s.pump.userRead(buffered: s.buffer.count, highWaterMark: options.highWaterMark,
                                                 peerClosed: s.isPeerClosed)
                    }
                    outcome = .success(n)
                    break
                }
                if s.isReleased { outcome = .failure(.closed); break }
                if s.endOfStream { outcome = .success(0); break }
                if let f = s.failure { outcome = .failure(f); break }
                if s.mayRead {
                    // Nothing buffered but paused can only follow a drop below the mark: restart.
                    resume = s.pump.userRead(buffered: 0, highWaterMark: options.highWaterMark, peerClosed: s.isPeerClosed)
                    if s.endOfStream { outcome = .success(0); break }
                }
                if timeoutMs == 0 { outcome = .failure(.again); break }
                if resume {
                    // Send the read before sleeping.
                    lock.unlock()
                    submitDrain(s)
                    resume = false
                    lock.lock()
                    continue
                }
                if !waitLocked(until: deadline) { outcome = .failure(.timedOut); break }
            }
            lock.unlock()
            if resume { submitDrain(s) }
            switch outcome {
            case .success(let n): return n
            case .failure(let e):
                throw record(e, message: e == .again ? "no data" : e == .timedOut ? "no data in time"
                                                                    : "socket \(socket) ended")
            }
        }
    }

    /// `recv(socket:into:timeoutMs:)` returning a new array of at most `maxCount` bytes ([] at end of stream).
    public func recv(socket: Int, maxCount: Int, timeoutMs: Int) throws(QsslError) -> [UInt8] {
        if maxCount < 1 { throw record(.invalidArgument, message: "maxCount < 1") }
        var out = [UInt8](repeating: 0, count: maxCount)
        let r = out.withUnsafeMutableBytes { (p: UnsafeMutableRawBufferPointer) -> Result<Int, QsslError> in
            do throws(QsslError) { return .success(try recv(socket: socket, into: p, timeoutMs: timeoutMs)) } catch {
                return .failure(error)
            }
        }
        let n = try r.get()
        out.removeLast(maxCount - n)
        return out
    }

    /// Bytes buffered on the host for `socket` (0 for an unknown index).
    public func available(socket: Int) -> Int {
        guard (try? SocketIndex(socket)) != nil else { return 0 }
        return lock.withLock { slots[socket]?.buffer.count ?? 0 }
    }

    // MARK: Closing and state

    /// Closes `socket` (AT+QSSLCLOSE / AT+QICLOSE; after +++ in transparent mode). Unread bytes are dropped.
    /// A socket the peer already closed, or that failed, is released without a command. Idempotent for an
    /// index that is not open (`.closed`). A transparent socket whose module never answers "+++" stays open
    /// and in data mode (`.timedOut`): no command is sent, since the module would forward it to the peer.
    public func closeSocket(_ socket: Int, kind: SocketKind? = nil, timeoutMs: Int = 10_000) throws(QsslError) {
        try api { () throws(QsslError) in
            _ = try index(socket)
            guard let s = lock.withLock({ slots[socket] }), !s.isReleased, kind == nil || s.kind == kind else {
                throw record(.closed, message: Modem.notOpen(socket, kind))
            }
            let inDataMode = lock.withLock { () -> Bool in
                s.phase == .dataMode && transparentSocket == socket
            }
            if inDataMode {
                _ = try leaveDataMode(s)
                lock.withLock { if transparentSocket == socket { transparentSocket = -1 } }
            }
            defer { release(s) }
            let needCommand = lock.withLock { !s.isPeerClosed && s.failure == nil }
            if !needCommand { return }
            let cmd = s.kind == .ssl ? try ATCommands.sslClose(socket: socket) : try ATCommands.tcpClose(socket: socket)
            let r = try exec(ATRequest(cmd), timeoutMs: timeoutMs)
            switch r.final {
            case .closeOK?, .ok?: return
            default:
                // The module may have closed it a moment ago; the index is free either way.
                let remote = lock.withLock { s.isPeerClosed }
                if !remote { try expectOK(r, cmd) }
            }
        }
    }

    /// AT+QSSLSTATE decoded: the TCP/IP stack state and every socket the module knows (SSL and TCP).
    public func state() throws(QsslError) -> SSLStateReport {
        try api { () throws(QsslError) -> SSLStateReport in
            let r = try execOK(ATCommands.sslState)
            do throws(QsslError) {
                return try ATDecoders.sslState(r.lines)
            } catch {
                throw record(error, command: ATCommands.sslState, message: "cannot decode +QSSLSTATE")
            }
        }
    }

    /// Kind of the socket at `socket`, or nil if none is open there.
    public func socketKind(_ socket: Int) -> SocketKind? {
        guard (try? SocketIndex(socket)) != nil else { return nil }
        return lock.withLock { slots[socket].flatMap { $0.isReleased ? nil : $0.kind } }
    }

    // MARK: Transparent mode

    /// What the channel reports in data mode (I/O thread): the transparent socket's bytes, or the module
    /// leaving data mode by itself. The exit line goes through the parser right after this, so
    /// `+QSSLURC: "closed"`, `+PDP DEACT` and `RDY` reach `handleURC` as usual; `CLOSED` and `NO CARRIER` name no
    /// socket and are handled here.
    func dataModeEvent(_ event: DataModeEvent) {
        var closedIndex = -1
        lock.withLock {
            guard transparentSocket >= 0, let s = slots[transparentSocket] else { return }
            switch event {
            case .bytes(let data):
                appendDataLocked(s, data)
            case .ended(let line):
                transparentSocket = -1
                switch line {
                case "OK":
                    // A "+++" answered after its caller gave up: command mode, connection still up.
                    s.suspend()
                case "RDY":
                    s.fail(.reset)            // the URC that follows resets everything else
                case "+PDP DEACT":
                    s.fail(.pdpDeactivated)
                default:
                    // CLOSED, NO CARRIER, +QSSLURC: "closed",<id>: the peer closed.
                    if s.closedByPeer() { closedIndex = s.index }
                }
                stateChangedLocked()
            }
        }
        if closedIndex >= 0 { emit(.socketClosed(socket: closedIndex)) }
    }

    /// Adds received bytes to a socket's buffer and wakes readers. Caller holds `lock`.
    func appendDataLocked(_ s: SocketSlot, _ data: [UInt8]) {
        if data.isEmpty { return }
        let wasEmpty = s.buffer.count == 0
        s.buffer.append(data)
        stateChangedLocked()
        if wasEmpty { emitLocked(.dataReady(socket: s.index)) }
    }

    /// Brings the module out of data mode for `s`: "+++" (see `ATChannel.exitDataMode`), up to
    /// `escapeAttempts` times while it brings no OK. Never sends a command before the module is known to be in
    /// command mode. Throws `.timedOut` when every escape went unanswered (the module is still in data mode).
    func leaveDataMode(_ s: SocketSlot) throws(QsslError) -> EscapeOutcome {
        var attempt = 0
        while true {
            attempt += 1
            let outcome: EscapeOutcome
            let channel = self.channel   // the one this escape ran on: a re-attach may swap it meanwhile
            do throws(QsslError) {
                outcome = try channel.exitDataMode()
            } catch {
                if error == .noDevice { deviceLost(of: ObjectIdentifier(channel)) }
                if error == .timedOut && attempt < max(1, options.escapeAttempts) { continue }
                throw record(error, command: "+++", message: error == .timedOut
                    ? "the module did not answer \"+++\" (\(attempt) tries): still in data mode" : "cannot leave data mode")
            }
            var flush = attempt > 1   // the OK may answer an earlier "+++": this one then sits in the command line
            if case .moduleLeft(_, true) = outcome { flush = true }
            if flush {
                // "+++" in the module's command line: a bare AT ends that line; its answer does not matter.
                _ = try? exec(ATRequest("AT"), timeoutMs: 1000)
            }
            return outcome
        }
    }

    /// Leaves data mode of transparent socket `socket` without closing its connection: "+++" with the guard
    /// times (`ChannelOptions.guardTimeMs` of silence, counted from when the bytes before it crossed the line),
    /// the module answers OK and is in command mode, so other commands work again. What the peer sends
    /// meanwhile stays in the module until `resumeTransparent`; `send` on the socket is `.busy` until then. The
    /// note itself does not describe this (see spec/facts.md: "+++" / ATO on the M-series modules).
    /// Errors: `.closed` (not open, or the connection ended), `.invalidArgument` (not a transparent socket),
    /// `.busy` (already suspended), `.timedOut` (no OK to any "+++": still in data mode, try again or close).
    public func suspendTransparent(_ socket: Int) throws(QsslError) {
        try api { () throws(QsslError) in
            let s = try userSlot(socket)
            let refusal = lock.withLock { () -> QsslError? in
                if !s.transparent { return .invalidArgument }
                if s.isPeerClosed || s.failure != nil { return .closed }
                if s.phase != .dataMode || transparentSocket != socket { return .busy }
                return nil
            }
            if let refusal { throw record(refusal, message: "socket \(socket) is not in data mode") }
            switch try leaveDataMode(s) {
            case .commandMode:
                lock.withLock {
                    s.suspend()
                    if transparentSocket == socket { transparentSocket = -1 }
                    stateChangedLocked()
                }
            case .moduleLeft(let line, _):
                throw record(.closed, message: "the module left data mode (" + line + ")")
            }
        }
    }

    /// ATO: back to data mode for a socket taken out of it with `suspendTransparent`, waiting at most `timeoutMs`
    /// (1-300000; 0 for 5000) for CONNECT; bytes the peer sent meanwhile follow. Errors: `.invalidArgument` (not
    /// suspended, bad timeout), `.busy` (another socket in data mode), `.closed` (the connection ended meanwhile),
    /// `.modem` (the module refused).
    public func resumeTransparent(_ socket: Int, timeoutMs: Int = 0) throws(QsslError) {
        guard (0...300_000).contains(timeoutMs) else {
            throw record(.invalidArgument, message: "timeout_ms not 0-300000")
        }
        let timeoutMs = timeoutMs == 0 ? 5000 : timeoutMs
        return try api { () throws(QsslError) in
            let s = try userSlot(socket)
            let refusal = lock.withLock { () -> QsslError? in
                if !s.transparent { return .invalidArgument }
                if s.isPeerClosed || s.failure != nil { return .closed }
                if s.phase != .suspended { return .invalidArgument }
                if transparentSocket >= 0 { return .busy }
                // Reserved before ATO goes out, so no other command slips in behind it.
                transparentSocket = socket
                return nil
            }
            if let refusal { throw record(refusal, message: "socket \(socket) cannot resume data mode") }
            var req = ATRequest("ATO")
            req.entersRawModeOnConnect = true
            req.dataModeExitLines = DataModeExitScanner.exitLines(socket: socket)
            let r: ATResponse
            do throws(QsslError) {
                r = try exec(req, timeoutMs: timeoutMs, allowInTransparent: true)
            } catch {
                lock.withLock { if transparentSocket == socket { transparentSocket = -1 } }
                throw error
            }
            guard r.connected else {
                lock.withLock { if transparentSocket == socket { transparentSocket = -1 } }
                try expectOK(r, "ATO")
                throw record(.proto, command: "ATO", message: "no CONNECT")
            }
            lock.withLock {
                s.resume()
                stateChangedLocked()
            }
        }
    }
}
