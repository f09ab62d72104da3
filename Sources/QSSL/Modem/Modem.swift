import CPosix
import QSSLCore

/// Bytes received for one socket and not yet read by the user.
struct ByteBuffer {
    private var storage: [UInt8] = []
    private var head = 0

    var count: Int { storage.count - head }

    mutating func append(_ bytes: [UInt8]) {
        if head > 0 && head == storage.count {
            storage.removeAll(keepingCapacity: true)
            head = 0
        }
        storage.append(contentsOf: bytes)
    }

    mutating func read(into out: UnsafeMutableRawBufferPointer) -> Int {
        let n = min(out.count, count)
        if n == 0 { return 0 }
        storage.withUnsafeBytes { src in
            out.baseAddress!.copyMemory(from: src.baseAddress! + head, byteCount: n)
        }
        head += n
        // Compact once the consumed prefix dominates, so memory stays bounded by the high-water mark.
        if head == storage.count {
            storage.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 65536 && head > storage.count / 2 {
            storage.removeFirst(head)
            head = 0
        }
        return n
    }
}

/// Work for the dispatcher, the one thread per modem that runs user code: event callbacks, the log callback, and
/// re-applying the configuration after a restart.
enum ModemJob {
    case event(ModemEvent)
    case log(TraceDirection, String)
    case reapply
}

/// A Quectel M10/M66/M85/M95 module on one AT channel: certificates, packet data, SSL contexts, SSL and TCP
/// sockets, events.
///
/// Thread safety: every method may be called from any thread, including from the event callback. Commands
/// are serialised by the channel; socket reads and writes of different sockets proceed independently.
/// Call `close()` when done (the channel's handlers keep the object alive until then).
public final class Modem: @unchecked Sendable {
    /// The AT channel (for tracing or raw access; prefer `at()`). A handle that follows its modem gets a new
    /// one at each re-attach (ModemFollow).
    public var channel: ATChannel { linkLock.withLock { link.channel } }
    var counting: CountingTransport { linkLock.withLock { link.counting } }
    /// The channel and its transport; replaced only by a re-attach, under `lock` then `linkLock`.
    var link: (channel: ATChannel, counting: CountingTransport)
    let linkLock = Lock()
    /// Set for a handle opened by identity (ModemFollow).
    var follow: FollowState? = nil
    /// User events; `events.fd` is readable while events are queued.
    public let events: EventQueue<ModemEvent>
    public let options: ModemOptions

    let lock = Lock()
    /// Socket state changes (data, open results, closes, failures).
    let cond: Condition
    /// Work for the dispatcher thread.
    let jobCond: Condition
    /// Supervisor sleeps.
    let superCond: Condition

    var slots: [SocketSlot?] = [nil, nil, nil, nil, nil, nil]
    var isClosedFlag = false
    var detail = ModemErrorDetail()
    var callback: ((ModemEvent) -> Void)? = nil
    var jobs = FIFO<ModemJob>()
    var logCallback: ((TraceDirection, String) -> Void)? = nil
    /// Log lines waiting in `jobs`; beyond `logBacklog` new ones are dropped while the callback is slow.
    var queuedLogs = 0
    static let logBacklog = 4096
    var dispatcher: PosixThread? = nil
    var traceSink: ((TraceDirection, String) -> Void)? = nil
    var deviceGoneReported = false

    // Configuration remembered for re-applying after RDY and for the supervisor.
    var pdpConfig: PDPConfig? = nil
    var pdpUp = false
    var sslConfigs = SmallMap<Int, SSLContextConfig>()
    var sslSettings = SmallMap<Int32, (SSLSettingValue, Int)>()
    /// Files uploaded to RAM through this handle (only with reapplyAfterReset): a restart loses them, re-apply
    /// uploads them again.
    var ramFiles = SmallMap<String, [UInt8]>()
    var resetCount = 0

    // Supervisor.
    var supervisorThread: PosixThread? = nil
    var supervisorStop = false
    var supervisorOptions = SupervisorOptions()
    var rebootCount = 0

    /// The socket in transparent mode, or -1. While set, other commands fail with `.busy`.
    var transparentSocket = -1
    /// One eventfd per socket index, readable while a recv on it would not block (see `socketFD`).
    var socketFDs: [Int32] = []
    var socketFDReadable: [Bool] = [false, false, false, false, false, false]

    /// Opens the serial port at `path` and starts the modem (sync, echo off, verbose errors).
    public static func open(path: String, serial: SerialOptions = SerialOptions(),
                            options: ModemOptions = ModemOptions()) throws(QsslError) -> Modem {
        let t = try SerialTransport(path: path, options: serial)
        return try Modem(transport: t, options: options)
    }

    /// Starts a modem over any byte transport (a pty, a serial port, a scripted fake). On failure the
    /// transport is closed.
    public init(transport: any ByteTransport, options: ModemOptions = ModemOptions()) throws(QsslError) {
        self.options = options
        let counting = CountingTransport(transport)
        let channel = ATChannel(transport: counting, options: Modem.channelOptions(options))
        self.link = (channel, counting)
        self.events = EventQueue<ModemEvent>(capacity: options.eventCapacity)
        self.cond = Condition(lock: lock)
        self.jobCond = Condition(lock: lock)
        self.superCond = Condition(lock: lock)
        for _ in 0..<6 { socketFDs.append((try? Sys.eventfd()) ?? -1) }
        wire(channel)
        do throws(QsslError) {
            dispatcher = try PosixThread { self.dispatchLoop() }
            try channel.start(timeoutMs: options.startTimeoutMs)
        } catch {
            close()
            throw error
        }
    }

    /// Closes the sockets still open on the module (best effort, 1 s each), stops the supervisor and the
    /// dispatcher, closes the channel (waiters get `.closed`). Idempotent. May be called from the event callback.
    public func close() {
        closeModuleSockets()
        lock.lock()
        if isClosedFlag {
            lock.unlock()
            return
        }
        isClosedFlag = true
        supervisorStop = true
        for s in slots { s?.fail(.closed) }
        let sup = supervisorThread
        let disp = dispatcher
        supervisorThread = nil
        stateChangedLocked()
        jobCond.broadcast()
        superCond.broadcast()
        lock.unlock()
        stopFollowing()
        channel.close()
        events.close()
        lock.withLock {
            for fd in socketFDs where fd >= 0 { Sys.close(fd) }
            socketFDs = []
        }
        if let sup { sup.isCurrent ? sup.detach() : sup.join() }
        if let disp { disp.isCurrent ? disp.detach() : disp.join() }
        unwire(channel)
        lock.withLock { callback = nil; traceSink = nil; logCallback = nil }
    }

    /// Frees the module's socket indexes this handle still holds, so the next user finds them free.
    private func closeModuleSockets() {
        // A module left in data mode would take the next user's "AT" for socket data: bring it back first.
        let inDataMode = lock.withLock { isClosedFlag || deviceGoneReported ? -1 : transparentSocket }
        if inDataMode >= 0 { try? closeSocket(inDataMode, timeoutMs: 5000) }
        let open = lock.withLock { () -> [SocketSlot] in
            if isClosedFlag || deviceGoneReported || transparentSocket >= 0 { return [] }
            return slots.compactMap { s in
                guard let s, s.phase == .open || s.phase == .suspended else { return nil }
                return s
            }
        }
        for s in open {
            let cmd = s.kind == .ssl ? "AT+QSSLCLOSE=\(s.index)" : "AT+QICLOSE=\(s.index)"
            do throws(QsslError) {
                _ = try channel.execute(ATRequest(cmd), timeoutMs: 1000)
            } catch {
                break
            }
        }
    }

    /// True after close().
    public var isClosed: Bool { lock.withLock { isClosedFlag } }

    /// Sets (or clears) the event callback. It runs on the modem's dispatcher thread with no lock held, so it
    /// may call any Modem method; it should return quickly (events wait behind it). Events also go to `events`.
    public func setEventCallback(_ cb: ((ModemEvent) -> Void)?) {
        lock.withLock { callback = cb }
    }

    /// Sets (or clears) an AT trace sink (commands, lines; certificate bytes redacted). Runs on the I/O thread.
    public func setTrace(_ sink: ((TraceDirection, String) -> Void)?) {
        lock.withLock { traceSink = sink }
        updateTraceHandler()
    }

    /// Sets (or clears) a log callback for the AT trace (certificate bytes redacted). Unlike `setTrace` it runs on
    /// the dispatcher thread, in order, never on the I/O thread, so it may call any Modem method.
    public func setLogCallback(_ cb: ((TraceDirection, String) -> Void)?) {
        lock.withLock { logCallback = cb }
        updateTraceHandler()
    }

    /// The channel builds trace text only while somebody reads it.
    func updateTraceHandler(on target: ATChannel? = nil) {
        let channel = target ?? self.channel
        let wanted = lock.withLock { traceSink != nil || logCallback != nil }
        if !wanted {
            channel.traceHandler = nil
            return
        }
        channel.traceHandler = { dir, text in
            self.lock.lock()
            let sink = self.traceSink
            if self.logCallback != nil && !self.isClosedFlag && self.queuedLogs < Modem.logBacklog {
                self.queuedLogs += 1
                self.jobs.append(.log(dir, text))
                self.jobCond.signal()
            }
            self.lock.unlock()
            sink?(dir, text)
        }
    }

    /// Detail about the last failed call on this handle (the last failure wins when threads race).
    public var lastError: ModemErrorDetail { lock.withLock { detail } }

    /// Sends any AT command; returns the intermediate lines. ERROR / +CME ERROR -> `.modem` (see lastError).
    /// A command holding CR, LF, another control byte or a byte above 0x7E is `.invalidArgument`. `timeoutMs` nil
    /// uses `ModemOptions.commandTimeoutMs`.
    public func at(_ command: String, timeoutMs: Int? = nil) throws(QsslError) -> [String] {
        for b in command.utf8 where b < 0x20 || b >= 0x7F {
            throw record(.invalidArgument, message: "control or non-ASCII byte in command")
        }
        if command.isEmpty { throw record(.invalidArgument, message: "empty command") }
        return try execOK(command, timeoutMs: timeoutMs).lines
    }

    // MARK: - Internals shared by the extensions

    /// The error `code` with its story, remembered as the handle's last failure (for `throw record(...)`).
    @discardableResult
    func record(_ code: QsslError, command: String = "", cme: Int = -1, errno: Int32 = 0,
                message: String = "") -> QsslError {
        let e = code.with(command: command, cme: cme, errno: errno, message: message)
        lock.withLock { detail = ModemErrorDetail(e) }
        return e
    }

    /// Runs one request; transport failures are recorded and thrown, any final result is returned.
    func exec(_ req: ATRequest, timeoutMs: Int, allowInTransparent: Bool = false) throws(QsslError) -> ATResponse {
        let blocked = lock.withLock { () -> QsslError? in
            if isClosedFlag { return .closed }
            if transparentSocket >= 0 && !allowInTransparent { return .busy }
            return nil
        }
        if let blocked {
            throw record(blocked, command: req.command,
                         message: blocked == .busy ? "a socket is in transparent mode" : "modem closed")
        }
        let channel = self.channel
        do throws(QsslError) {
            return try channel.execute(req, timeoutMs: timeoutMs)
        } catch {
            if error == .noDevice { deviceLost(of: ObjectIdentifier(channel)) }
            throw record(error, command: req.command, errno: error == .io || error == .noDevice ? counting.lastErrno : 0,
                         message: String(describingStatic: error.text))
        }
    }

    /// Runs a command that must end in OK.
    @discardableResult
    func execOK(_ command: String, timeoutMs: Int? = nil) throws(QsslError) -> ATResponse {
        let r = try exec(ATRequest(command), timeoutMs: timeoutMs ?? options.commandTimeoutMs)
        try expectOK(r, command)
        return r
    }

    func expectOK(_ r: ATResponse, _ command: String) throws(QsslError) {
        switch r.final {
        case .ok?: return
        case .cmeError(let n)?: throw record(.modem, command: command, cme: n, message: "module error")
        case .error?: throw record(.modem, command: command, message: "module answered ERROR")
        default: throw record(.proto, command: command, message: "unexpected final result")
        }
    }

    /// Runs `body`; an error it throws without recording detail gets a bare detail.
    func api<T>(_ body: () throws(QsslError) -> T) throws(QsslError) -> T {
        do throws(QsslError) {
            return try body()
        } catch {
            lock.withLock {
                if error.story != nil || detail.code != error { detail = ModemErrorDetail(error) }
            }
            throw error
        }
    }

    /// Queues an event for the pollable queue and the callback. Not with `lock` held (see emitLocked).
    func emit(_ e: ModemEvent) {
        lock.withLock { emitLocked(e) }
    }

    /// `emit` with `lock` held (the queue has its own lock and never calls back into the modem).
    func emitLocked(_ e: ModemEvent) {
        events.push(e)
        if callback != nil && !isClosedFlag {
            jobs.append(.event(e))
            jobCond.signal()
        }
    }

    func dispatchLoop() {
        while true {
            lock.lock()
            while jobs.isEmpty && !isClosedFlag { jobCond.wait() }
            if isClosedFlag {
                // The trace of the last commands before a close is the part most worth seeing: deliver it.
                let log = logCallback
                let pending = jobs.removeAll()
                lock.unlock()
                for case .log(let dir, let text) in pending { log?(dir, text) }
                return
            }
            let job = jobs.popFirst()!
            let cb = callback
            let log = logCallback
            if case .log = job { queuedLogs -= 1 }
            lock.unlock()
            switch job {
            case .event(let e): cb?(e)
            case .log(let dir, let text): log?(dir, text)
            case .reapply:
                emit(.configurationReapplied(ok: reapplyWithRetries()))
            }
        }
    }

    /// After RDY a command that was in flight is never answered and bytes sent into the restart may spoil the
    /// next line, so the first attempts can fail: try a few times, a second apart.
    func reapplyWithRetries() -> Bool {
        for attempt in 0..<4 {
            if attempt > 0 {
                let until = deadlineNs(afterMs: 1000)
                lock.lock()
                while !isClosedFlag && monotonicNs() < until { _ = jobCond.wait(untilNs: until) }
                let stop = isClosedFlag
                lock.unlock()
                if stop { return false }
            }
            // A bare AT re-syncs the module's line buffer; its answer does not matter.
            _ = try? exec(ATRequest("AT"), timeoutMs: 1000)
            do throws(QsslError) {
                try reapplyConfiguration()
                return true
            } catch {
                if error == .closed || error == .noDevice { return false }
            }
        }
        return false
    }

    /// The channel reported the device gone: fail every socket once and tell the user. `of` names the channel
    /// that failed; a channel already replaced by a re-attach is no news.
    func deviceLost(of failed: ObjectIdentifier) {
        let first = lock.withLock { () -> Bool in
            if deviceGoneReported { return false }
            if failed != linkLock.withLock({ ObjectIdentifier(link.channel) }) { return false }
            deviceGoneReported = true
            failAllLocked(.noDevice)
            return true
        }
        if first { emit(.deviceGone) }
    }

    /// Wakes every waiter and brings each socket's fd in line with its state. Caller holds `lock`.
    func stateChangedLocked() {
        cond.broadcast()
        if socketFDs.count != 6 { return }
        for i in 0..<6 {
            var readable = false
            if let s = slots[i] { readable = s.readable }
            if readable == socketFDReadable[i] || socketFDs[i] < 0 { continue }
            socketFDReadable[i] = readable
            if readable { Sys.signalEventfd(socketFDs[i]) } else { Sys.drainEventfd(socketFDs[i]) }
        }
    }

    /// An fd that polls readable while `recv` on socket index `socket` (0-5) would not block: bytes are
    /// buffered, the stream ended, or the socket failed. One per index for the modem's lifetime (a later socket
    /// on the same index uses the same fd); closed by `close()`. Never read or close it.
    public func socketFD(_ socket: Int) throws(QsslError) -> Int32 {
        _ = try index(socket)
        let fd = lock.withLock { isClosedFlag || socketFDs.count != 6 ? -1 : socketFDs[socket] }
        if fd < 0 { throw record(.closed, message: "modem closed") }
        return fd
    }

    func failAllLocked(_ e: QsslError) {
        for s in slots { s?.fail(e) }
        stateChangedLocked()
    }

    // MARK: URCs (I/O thread)

    func handleURC(_ urc: URC) {
        switch urc {
        case .sslRecv(let cid, let ssid): dataURC(index: ssid, kind: .ssl, cid: cid, sc: 1)
        case .tcpRecv(let cid, let sc, let sid): dataURC(index: sid, kind: .tcp, cid: cid, sc: sc)
        case .sslOpen(let ssid, let code): openResult(index: ssid, kind: .ssl, code: code)
        case .tcpConnect(let id, let ok): openResult(index: id, kind: .tcp, code: ok ? 0 : -1)
        case .sslClosed(let ssid): remoteClose(index: ssid, kind: .ssl)
        case .tcpClosed(let id): remoteClose(index: id, kind: .tcp)
        case .pdpDeact:
            lock.withLock {
                pdpUp = false
                failAllLocked(.pdpDeactivated)
                superCond.broadcast()
            }
            emit(.pdpDeactivated)
        case .ready:
            lock.withLock {
                pdpUp = false
                resetCount += 1
                failAllLocked(.reset)
                superCond.broadcast()
                emitLocked(.moduleReset)
                // Queued after the event so a callback sees the reset before the re-apply result.
                if options.reapplyAfterReset && !isClosedFlag {
                    jobs.append(.reapply)
                    jobCond.signal()
                }
            }
        case .other("ALREADY CONNECT"):
            alreadyConnect()
        default:
            break
        }
    }

    func slot(_ index: Int, _ kind: SocketKind) -> SocketSlot? {
        guard index >= 0 && index < 6, let s = slots[index], s.kind == kind, !s.isReleased else { return nil }
        return s
    }

    /// ALREADY CONNECT printed after QIOPEN's OK names no index. It is matched to the TCP open waiting for its
    /// result only when there is exactly one; with several the opens run into their timeouts instead.
    func alreadyConnect() {
        let waiting = lock.withLock {
            slots.compactMap { $0 }.filter { $0.kind == .tcp && $0.isOpening && $0.openCode == nil }.map { $0.index }
        }
        if waiting.count == 1 { openResult(index: waiting[0], kind: .tcp, code: -2) }
    }

    func openResult(index: Int, kind: SocketKind, code: Int) {
        let raw = lock.withLock { () -> SocketSlot? in
            guard let s = slot(index, kind), s.isOpening else { return nil }
            s.openCode = code
            if code == 0 { s.connected() }
            stateChangedLocked()
            // Transparent mode starts right behind the +QSSLOPEN line: switch the parser before data comes.
            if code == 0 && s.transparent {
                transparentSocket = index
                return s
            }
            return nil
        }
        // Called on the I/O thread, this switches the parser right behind the +QSSLOPEN line (and skips its LF).
        if raw != nil { channel.enterDataMode(exitLines: DataModeExitScanner.exitLines(socket: index)) }
    }

    func dataURC(index: Int, kind: SocketKind, cid: Int, sc: Int) {
        let go = lock.withLock { () -> SocketSlot? in
            guard let s = slot(index, kind), !s.transparent else { return nil }
            s.cid = cid
            s.sc = sc
            return s.mayRead && s.pump.announce() ? s : nil
        }
        if let go { submitDrain(go) }
    }

    func remoteClose(index: Int, kind: SocketKind) {
        var go: SocketSlot? = nil
        var known = false
        lock.withLock {
            guard let s = slot(index, kind), s.closedByPeer() else { return }
            known = true
            // One more read picks up anything the module still holds for this socket.
            if s.mayRead { go = s.pump.peerClosed() ? s : nil } else { s.pump.finish() }
            stateChangedLocked()
        }
        if let go { submitDrain(go) }
        if known { emit(.socketClosed(socket: index)) }
    }

    /// Queues one AT+QSSLRECV / AT+QIRD for `s` (any thread, no lock held).
    func submitDrain(_ s: SocketSlot) {
        let cmd: String
        do throws(QsslError) {
            cmd = s.kind == .ssl
                ? try ATCommands.sslRecv(cid: s.cid, socket: s.index, length: ATCommands.maxRecvChunk)
                : try ATCommands.tcpRead(cid: s.cid, sc: s.sc, socket: s.index, length: ATCommands.maxRecvChunk)
        } catch {
            lock.withLock { _ = s.pump.readDone(ok: false, got: 0, buffered: s.buffer.count,
                                                 highWaterMark: options.highWaterMark, peerClosed: s.isPeerClosed) }
            return
        }
        // A read answers at once; a module that does not answer should hold the channel no longer than any command.
        let channel = self.channel
        let id = ObjectIdentifier(channel)
        channel.submit(ATRequest(cmd), timeoutMs: options.commandTimeoutMs) { result in self.drainDone(s, result, id) }
    }

    func drainDone(_ s0: SocketSlot, _ result: Result<ATResponse, QsslError>, _ on: ObjectIdentifier) {
        var data: [UInt8] = []
        var ok = false
        var transportError: QsslError? = nil
        switch result {
        case .success(let r):
            if r.final == .ok {
                ok = true
                for p in r.payloads { data.append(contentsOf: p.data) }
            }
        case .failure(let e):
            transportError = e
        }
        var again = false
        var ready = false
        var target = s0
        lock.withLock {
            let wasReleased = s0.isReleased
            again = s0.pump.readDone(ok: ok, unanswered: transportError == .timedOut, got: data.count,
                                     buffered: s0.buffer.count + data.count,
                                     highWaterMark: options.highWaterMark, peerClosed: s0.isPeerClosed)
            if wasReleased {
                // The index was closed while this read was queued; bytes of a new socket on the same index
                // belong to it.
                again = false
                guard !data.isEmpty, let n = slots[s0.index], n !== s0, n.kind == s0.kind else { return }
                target = n
            } else {
                again = again && s0.mayRead && s0.pump.startRead()
            }
            if !data.isEmpty {
                ready = target.buffer.count == 0
                target.buffer.append(data)
            }
            if !ok, let e = transportError, e == .closed || e == .noDevice { s0.fail(e) }
            stateChangedLocked()
        }
        if transportError == .noDevice { deviceLost(of: on) }
        if ready { emit(.dataReady(socket: target.index)) }
        if again { submitDrain(s0) }
    }

    /// Waits on `cond` (lock held) until `deadline`; returns false on timeout. A vanished device wakes it through
    /// `deviceLost` (the channel's onDeviceGone), like every other state change.
    func waitLocked(until deadline: UInt64) -> Bool {
        if monotonicNs() >= deadline { return false }
        _ = cond.wait(untilNs: deadline)
        return true
    }
}
