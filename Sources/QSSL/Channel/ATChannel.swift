import CPosix
import QSSLCore

/// A request queued on, or in flight in, the channel. Touched by the I/O thread only once dequeued.
final class PendingRequest {
    enum Kind {
        /// An AT command (maybe with a payload for "> " / CONNECT): run by the dialogue.
        case command
        /// Bytes written as they are in data mode; completes once written.
        case rawWrite
        /// "+++" with guard times; completes on the module's OK (see `ATChannel.exitDataMode`).
        case escape
    }

    let id: Int
    let kind: Kind
    let request: ATRequest
    var deadline: UInt64
    /// >= 0: the timeout counts from when the request starts (`deadline` is set then); it waits in the queue
    /// without a limit.
    var timeoutFromStartMs = -1
    let lateFinalWaitMs: Int
    let completion: (Result<ATResponse, QsslError>) -> Void
    /// The "+++" has been written.
    var payloadSent = false

    init(id: Int, kind: Kind, request: ATRequest, deadline: UInt64, lateFinalWaitMs: Int,
         completion: @escaping (Result<ATResponse, QsslError>) -> Void) {
        self.id = id
        self.kind = kind
        self.request = request
        self.deadline = deadline
        self.lateFinalWaitMs = lateFinalWaitMs
        self.completion = completion
    }
}

final class ResultBox {
    var result: Result<ATResponse, QsslError>?
}

/// The AT channel to one module: one I/O thread owns the transport, requests run one at a time in FIFO order.
///
/// **Threads.** `execute`, `at`, `writeRaw`, `exitDataMode` block the calling thread (any thread except the I/O
/// thread) until the request completes or its deadline passes. `submit` never blocks. Handlers (`urcHandler`,
/// `traceHandler`, `onDeviceGone`, completions) run on the I/O thread; they may call `submit` and `closeAsync`.
///
/// **The rules of AT** (which line answers whom, late answers after a timeout, RDY, ALREADY CONNECT) are
/// `ATDialogue`'s, in QSSLCore: the channel feeds it parser events and clock ticks and applies its actions.
///
/// **Data mode.** After `enterDataMode` (or the CONNECT of a request that declares its exit lines) every byte
/// from the module is socket data for `dataModeHandler`, except a line by which the module leaves data mode by
/// itself, recognised by `DataModeExitScanner` once the port has stayed quiet for `dataModeQuietMs`. No AT command
/// is written in data mode (they fail with `.busy`): the module would forward it to the peer. `exitDataMode`
/// writes "+++" only after the bytes before it have crossed the line plus the guard time, and the channel stays
/// in data mode until the module's OK is seen.
///
/// **Hang-up.** POLLHUP/POLLERR, read() == 0 or EIO from the transport mark the device gone: every waiter and
/// every later call gets `.noDevice` until `close()`.
public final class ATChannel: @unchecked Sendable {
    let transport: any ByteTransport
    let options: ChannelOptions

    // Shared state, guarded by `lock`.
    let lock = Lock()
    let doneCond: Condition
    private var queue = FIFO<PendingRequest>()
    /// Requests submitted and not started yet (waiting behind the one in flight); lets tests wait for a caller to
    /// be queued instead of sleeping.
    var queuedRequests: Int { lock.withLock { queue.count } }
    private var nextID = 0
    private var wakeFD: Int32 = -1
    private var thread: PosixThread?
    private var stopping = false
    private var closedFlag = false
    private var goneFlag = false
    private var ioDone = false
    private var urcHandlerStorage: ((URC) -> Void)?
    private var traceHandlerStorage: ((TraceDirection, String) -> Void)?
    private var goneHandlerStorage: (() -> Void)?
    private var dataModeHandlerStorage: ((DataModeEvent) -> Void)?
    /// enterDataMode() from another thread: applied by the I/O thread before its next read.
    private var pendingDataMode: [String]?
    private var lastCMEStorage: Int?
    /// When the I/O thread last fed bytes of a counted payload (0: never); lets `perform` outwait a long read.
    private var payloadSeenNs: UInt64 = 0

    // I/O thread state.
    private var parser = ATParser()
    private var dialogue = ATDialogue()
    private var actions: [ATDialogue.Action] = []
    private var events: [ATEvent] = []
    private var readBuf: UnsafeMutableRawBufferPointer
    private var outBuf: [UInt8] = []
    private var outOffset = 0
    /// The request in flight: a command (the dialogue runs it), a raw write or an escape.
    private var current: PendingRequest?
    /// Line clock: when the last byte written will have crossed the line at the transport's rate.
    private var lineIdleNs: UInt64 = 0
    /// When the driver's queue was last seen to go empty after being seen full (0: never seen full).
    private var outqEmptiedNs: UInt64 = 0
    private var outqWasBusy = false
    /// Data mode: the exit-line scanner and when held bytes are decided (0: none held).
    private var dataMode: DataModeExitScanner?
    private var quietUntil: UInt64 = 0
    /// The line by which data mode last ended.
    private var lastExitLine = ""
    private var rawBacklog: [UInt8] = []
    /// enterDataMode() called from a handler on the I/O thread; applied after the current line.
    private var ioPendingDataMode: [String]?
    private var ioDataMode: ((DataModeEvent) -> Void)?
    /// The line before the switch to raw mode ended with CR: an LF first in the raw data belongs to it.
    private var skipLFInRaw = false
    private var lastFedByte: UInt8 = 0
    private var goneError: QsslError = .noDevice
    private var ioURC: ((URC) -> Void)?
    private var ioTrace: ((TraceDirection, String) -> Void)?

    /// Raw bytes kept while not in data mode (after CONNECT, before enterDataMode).
    static let rawBacklogLimit = 1 << 20

    public init(transport: any ByteTransport, options: ChannelOptions = ChannelOptions()) {
        self.transport = transport
        self.options = options
        doneCond = Condition(lock: lock)
        readBuf = UnsafeMutableRawBufferPointer.allocate(byteCount: max(64, options.readBufferSize), alignment: 8)
        events.reserveCapacity(16)
        dialogue.payloadStallMs = options.payloadStallMs
    }

    deinit {
        // Only reached when the I/O thread never ran or has finished (it holds the channel while it runs).
        if !closedFlag { transport.close() }
        readBuf.deallocate()
        if wakeFD >= 0 { Sys.close(wakeFD) }
    }

    // MARK: - Handlers and state

    /// Called on the I/O thread for every URC and for lines that arrive with no command in flight (.other).
    /// Set before start(). The handler may call submit() but must not call execute() (it would deadlock).
    public var urcHandler: ((URC) -> Void)? {
        get { lock.withLock { urcHandlerStorage } }
        set { lock.withLock { urcHandlerStorage = newValue } }
    }

    /// Optional AT trace (commands, lines, payload bytes with redaction), called on the I/O thread.
    public var traceHandler: ((TraceDirection, String) -> Void)? {
        get { lock.withLock { traceHandlerStorage } }
        set { lock.withLock { traceHandlerStorage = newValue } }
    }

    /// Called once on the I/O thread when the device hangs up (after every waiter got `.noDevice`).
    public var onDeviceGone: (() -> Void)? {
        get { lock.withLock { goneHandlerStorage } }
        set { lock.withLock { goneHandlerStorage = newValue } }
    }

    /// Called on the I/O thread with the bytes and the end of data mode. Set before start().
    public var dataModeHandler: ((DataModeEvent) -> Void)? {
        get { lock.withLock { dataModeHandlerStorage } }
        set { lock.withLock { dataModeHandlerStorage = newValue } }
    }

    public var isClosed: Bool { lock.withLock { closedFlag || stopping } }

    /// Set when the device hung up (every waiter got .noDevice).
    public var deviceGone: Bool { lock.withLock { goneFlag } }

    /// The CME/CMS code of the last `at()` that failed with one, else nil.
    public var lastCME: Int? { lock.withLock { lastCMEStorage } }

    /// True when called on the channel's I/O thread.
    public var isIOThread: Bool { lock.withLock { thread }?.isCurrent ?? false }

    // MARK: - Start

    /// Spawns the I/O thread without syncing (idempotent). `start()` calls it.
    public func startIO() throws(QsslError) {
        lock.lock()
        defer { lock.unlock() }
        if closedFlag || stopping { throw .closed }
        if thread != nil { return }
        wakeFD = try Sys.eventfd()
        do {
            // The thread takes `lock` first thing, so it sees `thread` assigned.
            thread = try PosixThread { [self] in self.run() }
        } catch {
            Sys.close(wakeFD)
            wakeFD = -1
            throw error
        }
    }

    // MARK: - Requests

    /// Submits and blocks until the final result. Returns for ANY final (OK, ERROR, +CME ERROR, SEND FAIL...);
    /// throws only .timedOut / .reset (RDY while in flight) / .closed / .noDevice / .io (and .invalidArgument
    /// when called on the I/O thread or before start()). Safe from any thread except the I/O thread.
    public func execute(_ request: ATRequest, timeoutMs: Int) throws(QsslError) -> ATResponse {
        try perform(.command, request, timeoutMs: timeoutMs, lateFinalWaitMs: options.lateFinalWaitMs)
    }

    /// Non-blocking submit; completion runs on the I/O thread. Requests run one at a time in FIFO order.
    /// Unlike `execute`, `timeoutMs` counts from when the command is written: the request waits in the queue as
    /// long as the requests before it take (a read of socket data must not time out while its answer arrives
    /// because it waited behind others; see also `ChannelOptions.payloadStallMs`).
    /// After close() (or before start()) the completion runs at once on the calling thread with .closed
    /// (.invalidArgument before start()).
    public func submit(_ request: ATRequest, timeoutMs: Int,
                       completion: @escaping (Result<ATResponse, QsslError>) -> Void) {
        enqueue(.command, request, timeoutMs: timeoutMs, lateFinalWaitMs: options.lateFinalWaitMs,
                fromStart: true, completion: completion)
    }

    /// Raw escape hatch: `at("AT+CSQ")` -> intermediate lines; throws .modem on ERROR/CME (lastCME set).
    public func at(_ command: String, timeoutMs: Int) throws(QsslError) -> [String] {
        let r = try execute(ATRequest(command), timeoutMs: timeoutMs)
        switch r.final {
        case .cmeError(let n), .cmsError(let n):
            lock.withLock { lastCMEStorage = n }
            throw .modem
        case .error, .sendFail, .alreadyConnect:
            lock.withLock { lastCMEStorage = nil }
            throw .modem
        default:
            return r.lines
        }
    }

    /// Data (transparent) mode: from here every byte is socket data for `dataModeHandler`, except the module's
    /// own `exitLines` (framed lines, decided after `dataModeQuietMs` of quiet). Bytes kept since a CONNECT that
    /// ended an `entersRawModeOnConnect` request come first.
    /// Called from a handler on the I/O thread (e.g. on the "+QSSLOPEN: n,0" URC of a transparent open), data mode
    /// starts right behind the line that triggered it, even within the same read; the LF of that line's CR LF is
    /// not data.
    public func enterDataMode(exitLines: [String]) {
        if isIOThread {
            ioPendingDataMode = exitLines
            return
        }
        lock.withLock {
            pendingDataMode = exitLines
            if wakeFD >= 0 { Sys.signalEventfd(wakeFD) }
        }
    }

    /// Writes bytes in raw mode (queued behind earlier requests); returns once the transport took them all.
    public func writeRaw(_ bytes: [UInt8], timeoutMs: Int) throws(QsslError) {
        var r = ATRequest("")
        r.payload = bytes
        _ = try perform(.rawWrite, r, timeoutMs: timeoutMs, lateFinalWaitMs: 0)
    }

    /// Leaves data mode with "+++". It is written once every byte before it has crossed the line (the driver's
    /// queue is empty and the line clock has run out) and `guardTimeMs` + `guardMarginMs` have passed; then the
    /// channel waits up to `escapeAnswerMs` for the module's framed OK followed by quiet. Nothing is written
    /// after "+++" until then.
    /// Returns `.commandMode`, or `.moduleLeft` when an exit line came first. Throws `.timedOut` when no OK came:
    /// the module took "+++" as data and is still in data mode, and so is the channel (try again: the next
    /// "+++" again waits for the guard time). Also `.closed` / `.noDevice`.
    public func exitDataMode() throws(QsslError) -> EscapeOutcome {
        let r = try perform(.escape, ATRequest("+++"), timeoutMs: escapeBoundMs, lateFinalWaitMs: 0)
        return r.escape ?? .commandMode
    }

    /// Longest an escape can take: the queued bytes crossing the line, a stalled driver queue, the guard
    /// time, the module's answer.
    var escapeBoundMs: Int {
        let rate = max(1, transport.lineRate)
        let lineMs = transport.lineRate > 0 ? options.maxQueuedLineBytes * 10_000 / rate : 0
        return lineMs + max(0, options.escapeStallMs) + max(0, options.guardTimeMs) + max(0, options.guardMarginMs)
            + max(0, options.escapeAnswerMs) + max(0, options.dataModeQuietMs)
    }

    /// Back to line mode: the module printed `line` (held bytes start with it); `held` goes through the parser.
    private func leaveDataMode(line: String, held: [UInt8]) {
        dataMode = nil
        quietUntil = 0
        parser.rawMode = false
        parser.reset()
        rawBacklog.removeAll()
        skipLFInRaw = false
        lastExitLine = line
        var replay = held
        if line == "OK" {
            // The answer to "+++" (maybe to an earlier attempt that had given up waiting): not a line for anyone.
            replay.removeFirst(min(replay.count, 6))
            trace(.fromModule, "OK")
            if let c = current, c.kind == .escape {
                current = nil
                var r = ATResponse(final: .ok)
                r.escape = .commandMode
                c.completion(.success(r))
            } else {
                ioDataMode?(.ended(line: line))
            }
        } else {
            trace(.fromModule, "(module left data mode: " + line + ")")
            ioDataMode?(.ended(line: line))
            if let c = current, c.kind == .escape {
                current = nil
                var r = ATResponse(final: nil)
                r.escape = .moduleLeft(line: line, plusWritten: c.payloadSent)
                c.completion(.success(r))
            }
        }
        if replay.isEmpty { return }
        events.removeAll(keepingCapacity: true)
        replay.withUnsafeBytes { parser.feed($0, into: &events) }
        lastFedByte = replay[replay.count - 1]
        var i = 0
        while i < events.count {
            handle(events[i])
            i += 1
        }
    }

    /// Bytes in data mode: data goes to the handler at once, a possible exit line is held until quiet.
    private func dataModeBytes(_ bytes: [UInt8]) {
        // In place: a copy would share `held` and copy it again on every read.
        guard dataMode != nil else { return }
        let data = dataMode!.feed(bytes)
        let holding = !dataMode!.held.isEmpty
        quietUntil = holding ? monotonicNs() &+ UInt64(max(1, options.dataModeQuietMs)) &* 1_000_000 : 0
        if !data.isEmpty { ioDataMode?(.bytes(data)) }
    }

    /// The port stayed quiet after bytes were held: an exit line ends data mode, anything else was data.
    private func decideHeld() {
        quietUntil = 0
        guard var sc = dataMode, !sc.held.isEmpty else { return }
        if let line = sc.heldExitLine {
            leaveDataMode(line: line, held: sc.takeHeld())
        } else {
            let data = sc.takeHeld()
            dataMode = sc
            ioDataMode?(.bytes(data))
        }
    }

    func perform(_ kind: PendingRequest.Kind, _ request: ATRequest, timeoutMs: Int,
                 lateFinalWaitMs: Int) throws(QsslError) -> ATResponse {
        if isIOThread { throw .invalidArgument }
        let box = ResultBox()
        enqueue(kind, request, timeoutMs: timeoutMs, lateFinalWaitMs: lateFinalWaitMs) { [self] result in
            lock.withLock {
                box.result = result
                doneCond.broadcast()
            }
        }
        // The I/O thread enforces the deadline; the extra margin only guards against a wedged handler. A counted
        // payload still arriving moves the I/O thread's deadline (ATDialogue.answerArriving), so it moves this one
        // too: giving up here would drop bytes the module has already taken out of its buffer.
        var hardDeadline = deadlineNs(afterMs: timeoutMs) &+ 2_000_000_000
        let stallNs = UInt64(max(0, options.payloadStallMs)) &* 1_000_000 &+ 2_000_000_000
        lock.lock()
        defer { lock.unlock() }
        while box.result == nil {
            if !doneCond.wait(untilNs: hardDeadline) && box.result == nil {
                if payloadSeenNs != 0 && payloadSeenNs &+ stallNs > hardDeadline {
                    hardDeadline = payloadSeenNs &+ stallNs
                    continue
                }
                throw .timedOut
            }
        }
        switch box.result! {
        case .success(let r): return r
        case .failure(let e): throw e
        }
    }

    private func enqueue(_ kind: PendingRequest.Kind, _ request: ATRequest, timeoutMs: Int, lateFinalWaitMs: Int,
                         fromStart: Bool = false, completion: @escaping (Result<ATResponse, QsslError>) -> Void) {
        lock.lock()
        nextID &+= 1
        let p = PendingRequest(id: nextID, kind: kind, request: request,
                               deadline: fromStart ? UInt64.max : deadlineNs(afterMs: timeoutMs),
                               lateFinalWaitMs: lateFinalWaitMs, completion: completion)
        if fromStart { p.timeoutFromStartMs = timeoutMs }
        var refusal: QsslError? = nil
        if closedFlag || stopping {
            refusal = .closed
        } else if thread == nil {
            refusal = .invalidArgument
        } else {
            queue.append(p)
            Sys.signalEventfd(wakeFD)
        }
        lock.unlock()
        if let refusal { completion(.failure(refusal)) }
    }

    // MARK: - Close

    /// Stops the thread, wakes every waiter with .closed, closes the transport. Idempotent. Not from the I/O
    /// thread (from there it acts as closeAsync()).
    public func close() {
        lock.lock()
        let t = thread
        if t == nil {
            let first = !closedFlag
            closedFlag = true
            lock.unlock()
            if first { transport.close() }
            return
        }
        stopping = true
        if wakeFD >= 0 { Sys.signalEventfd(wakeFD) }
        lock.unlock()
        guard let t, !t.isCurrent else { return }
        t.join()
        lock.lock()
        while !ioDone { doneCond.wait() }
        lock.unlock()
    }

    /// Asks the I/O thread to stop and returns at once; safe from handlers on the I/O thread. The thread fails
    /// every waiter with .closed, closes the transport, and cleans up after itself.
    public func closeAsync() {
        let hasThread: Bool = lock.withLock {
            if thread == nil { return false }
            stopping = true
            if wakeFD >= 0 { Sys.signalEventfd(wakeFD) }
            return true
        }
        if !hasThread { close() }
    }

    // MARK: - I/O thread

    private func run() {
        let fds = UnsafeMutablePointer<pollfd>.allocate(capacity: 2)
        defer { fds.deallocate() }
        while true {
            lock.lock()
            if stopping {
                lock.unlock()
                break
            }
            ioURC = urcHandlerStorage
            ioTrace = traceHandlerStorage
            ioDataMode = dataModeHandlerStorage
            dialogue.tracing = traceHandlerStorage != nil
            let newDataMode = pendingDataMode
            pendingDataMode = nil
            let wake = wakeFD
            lock.unlock()

            if let newDataMode { installDataMode(newDataMode) }
            let now = monotonicNs()
            if lock.withLock({ goneFlag }) {
                failQueued(goneError)
            } else {
                step(now)
            }

            var timeout: Int32 = -1
            func consider(_ deadline: UInt64) {
                let ms = Sys.msUntil(deadline, now: now)
                if timeout < 0 || ms < timeout { timeout = ms }
            }
            if let c = current {
                consider(c.deadline)
                if c.kind == .escape && !c.payloadSent { consider(escapeWakeNs) }
            }
            if quietUntil != 0 { consider(quietUntil) }
            if let d = dialogue.nextDeadline { consider(d) }
            lock.withLock { queue.forEach { consider($0.deadline) } }

            fds[0] = pollfd(fd: wake, events: Int16(POLLIN), revents: 0)
            var count = 1
            let gone = lock.withLock { goneFlag }
            if !gone {
                var ev = Int16(POLLIN)
                if outOffset < outBuf.count { ev |= Int16(POLLOUT) }
                fds[1] = pollfd(fd: transport.pollFD, events: ev, revents: 0)
                count = 2
            }
            let r = Sys.poll(fds, count, timeoutMs: timeout)
            if r.value < 0 {
                // EINTR is retried inside Sys.poll; anything else (ENOMEM, EINVAL) would only repeat: give up the
                // device rather than spin.
                deviceHungUp(r.errno == ENOMEM ? .noMemory : .io)
                continue
            }
            if fds[0].revents & Int16(POLLIN) != 0 { Sys.drainEventfd(wake) }
            if count == 2 {
                let re = fds[1].revents
                let hup = re & Int16(POLLHUP | POLLERR | POLLNVAL) != 0
                if re & Int16(POLLIN) != 0 || hup { readAvailable(hangUp: hup) }
                if re & Int16(POLLOUT) != 0 && !lock.withLock({ goneFlag }) { flushOut() }
            }
        }
        cleanup()
    }

    /// Deadlines, the next request, pending writes.
    private func step(_ now: UInt64) {
        expireQueued(now)
        if let c = current, c.kind != .command, now >= c.deadline {
            current = nil
            if c.kind == .rawWrite && outOffset < outBuf.count {
                // Raw bytes not yet written are dropped: they have no answer to wait for.
                outBuf.removeAll(keepingCapacity: true)
                outOffset = 0
            }
            trace(.fromModule, "(timed out: " + (c.kind == .escape ? "+++" : "raw write") + ")")
            c.completion(.failure(.timedOut))
        }
        dialogue.tick(now: now, into: &actions)
        applyActions()
        if quietUntil != 0 && now >= quietUntil { decideHeld() }
        if current == nil && dialogue.isIdle { startNext() }
        if let c = current, c.kind == .escape, !c.payloadSent, outOffset >= outBuf.count { escapeStep(c, now) }
        if outOffset < outBuf.count { flushOut() }
    }

    /// When the I/O loop should look at a waiting escape again.
    private var escapeWakeNs: UInt64 = 0

    /// "+++" goes out once the line has been silent for the guard time, counted from when the bytes left.
    private func escapeStep(_ c: PendingRequest, _ now: UInt64) {
        guard var sc = dataMode else {
            // The module left data mode before the escape's turn.
            current = nil
            var r = ATResponse(final: nil)
            r.escape = .moduleLeft(line: lastExitLine, plusWritten: false)
            c.completion(.success(r))
            return
        }
        if !sc.held.isEmpty {
            escapeWakeNs = quietUntil            // an exit line may be arriving: let the quiet time decide
            return
        }
        if transport.pendingOutput() > 0 {
            // The driver still holds bytes (flow control, a slow UART): tcdrain without blocking the loop.
            outqWasBusy = true
            escapeWakeNs = now &+ 10_000_000
            return
        }
        if outqWasBusy {
            outqWasBusy = false
            outqEmptiedNs = now
        }
        let guardNs = UInt64(max(0, options.guardTimeMs) + max(0, options.guardMarginMs)) &* 1_000_000
        let silentSince = max(lineIdleNs, outqEmptiedNs)
        if now < silentSince &+ guardNs {
            escapeWakeNs = silentSince &+ guardNs
            return
        }
        c.payloadSent = true
        c.deadline = now &+ UInt64(max(0, options.guardTimeMs) + max(1, options.escapeAnswerMs)
                                   + max(0, options.dataModeQuietMs)) &* 1_000_000
        // From now on a framed OK followed by quiet is the module's answer, not data.
        sc.addLine("OK")
        dataMode = sc
        outBuf.append(contentsOf: [0x2B, 0x2B, 0x2B])
        trace(.toModule, "+++")
    }

    private func expireQueued(_ now: UInt64) {
        let expired = lock.withLock { queue.remove { now >= $0.deadline } }
        for p in expired { p.completion(.failure(.timedOut)) }
    }

    private func startNext() {
        while current == nil && dialogue.isIdle {
            // The trace handler is taken with the request: one set just before the request was queued (a log
            // callback installed, then a command) must see that command's line.
            guard let p = lock.withLock({ () -> PendingRequest? in
                ioTrace = traceHandlerStorage
                dialogue.tracing = traceHandlerStorage != nil
                return queue.popFirst()
            }) else { return }
            start(p)
        }
    }

    private func start(_ p: PendingRequest) {
        switch p.kind {
        case .command:
            if dataMode != nil {
                // The module would forward the command to the peer as data.
                p.completion(.failure(.busy))
                return
            }
            current = p
            if p.timeoutFromStartMs >= 0 { p.deadline = deadlineNs(afterMs: p.timeoutFromStartMs) }
            dialogue.start(id: p.id, p.request, deadline: p.deadline, lateFinalWaitMs: p.lateFinalWaitMs,
                           into: &actions)
            applyActions()
        case .rawWrite:
            let bytes = p.request.payload ?? []
            if bytes.isEmpty {
                p.completion(.success(ATResponse(final: nil)))
                return
            }
            current = p
            outBuf.append(contentsOf: bytes)
            tracePayload(.toModule, bytes, redact: p.request.redactPayload)
        case .escape:
            current = p
        }
    }

    /// Carries out what the dialogue decided, in order.
    private func applyActions() {
        if actions.isEmpty { return }
        var wrote = false
        var i = 0
        while i < actions.count {
            switch actions[i] {
            case .write(let bytes):
                outBuf.append(contentsOf: bytes)
                wrote = true
            case .trace(let direction, let text):
                trace(direction, text)
            case .urc(let u):
                ioURC?(u)
            case .complete(let id, let result):
                if let c = current, c.id == id {
                    current = nil
                    if case .success(let r) = result, r.connected, let lines = c.request.dataModeExitLines {
                        ioPendingDataMode = lines
                    }
                    c.completion(result)
                }
            }
            i += 1
        }
        actions.removeAll(keepingCapacity: true)
        if wrote { flushOut() }
    }

    private func installDataMode(_ exitLines: [String]) {
        if !parser.rawMode {
            // (When the parser went raw by itself on CONNECT it already skips that line's LF.)
            skipLFInRaw = lastFedByte == 0x0D
            parser.rawMode = true
        }
        dataMode = DataModeExitScanner(lines: exitLines)
        quietUntil = 0
        trace(.fromModule, "(data mode)")
        if !rawBacklog.isEmpty {
            let backlog = rawBacklog
            rawBacklog = []
            dataModeBytes(backlog)
        }
    }

    private func readAvailable(hangUp: Bool) {
        while true {
            let n: Int
            do {
                n = try transport.read(into: readBuf)
            } catch {
                deviceHungUp(error == .noDevice || error == .closed ? .noDevice : error)
                return
            }
            if n == 0 {
                if hangUp { deviceHungUp(.noDevice) }
                return
            }
            feed(n)
            if n < readBuf.count && !hangUp { return }
        }
    }

    private func feed(_ n: Int) {
        var start = 0
        while start < n {
            // Pieces end where a handler may switch the parser (ATParser.pieceLength): a transparent open's URC,
            // ATO's CONNECT. Losing that boundary loses socket data when the host is slow (found by the soak).
            let end = start + parser.pieceLength(UnsafeRawBufferPointer(rebasing: readBuf[start..<n]),
                                                 waitingForConnect: dialogue.rawOnConnect)
            feedPiece(start, end)
            start = end
            if let lines = ioPendingDataMode {
                ioPendingDataMode = nil
                installDataMode(lines)
            }
        }
    }

    private func feedPiece(_ start: Int, _ end: Int) {
        parser.rawOnConnect = dialogue.rawOnConnect
        events.removeAll(keepingCapacity: true)
        parser.feed(UnsafeRawBufferPointer(rebasing: readBuf[start..<end]), into: &events)
        lastFedByte = readBuf[end - 1]
        if parser.inPayload {
            let now = monotonicNs()
            dialogue.answerArriving(now: now)
            lock.withLock { payloadSeenNs = now }
        }
        var i = 0
        while i < events.count {
            handle(events[i])
            i += 1
        }
    }

    private func handle(_ event: ATEvent) {
        guard case .raw(var bytes) = event else {
            dialogue.handle(event, now: monotonicNs(), into: &actions)
            applyActions()
            return
        }
        if skipLFInRaw {
            skipLFInRaw = false
            if bytes.first == 0x0A { bytes.removeFirst() }
            if bytes.isEmpty { return }
        }
        if let t = ioTrace { t(.fromModule, traceText(bytes)) }
        if dataMode != nil {
            dataModeBytes(bytes)
        } else if rawBacklog.count + bytes.count <= ATChannel.rawBacklogLimit {
            rawBacklog.append(contentsOf: bytes)
        }
    }

    private func flushOut() {
        while outOffset < outBuf.count {
            let start = outOffset
            let r: Result<Int, QsslError> = outBuf.withUnsafeBytes { all -> Result<Int, QsslError> in
                do throws(QsslError) {
                    return .success(try transport.writeSome(UnsafeRawBufferPointer(rebasing: all[start...])))
                } catch {
                    return .failure(error)
                }
            }
            switch r {
            case .success(let n):
                if n == 0 { return }
                outOffset += n
                advanceLineClock(n)
            case .failure(let e):
                outBuf.removeAll(keepingCapacity: true)
                outOffset = 0
                if e == .noDevice || e == .closed {
                    deviceHungUp(.noDevice)
                } else if let c = current {
                    current = nil
                    c.completion(.failure(e))
                }
                return
            }
        }
        outBuf.removeAll(keepingCapacity: true)
        outOffset = 0
        if let c = current, c.kind == .rawWrite {
            current = nil
            c.completion(.success(ATResponse(final: nil)))
        }
    }

    /// The written bytes cross the line one after another at the transport's rate; at most
    /// `maxQueuedLineBytes` can be waiting, so a far end that reads faster than the rate bounds the clock.
    private func advanceLineClock(_ n: Int) {
        let now = monotonicNs()
        let rate = UInt64(max(0, transport.lineRate))
        if rate == 0 {
            lineIdleNs = now
            return
        }
        let byteNs = 10_000_000_000 / rate
        let cap = now &+ UInt64(max(0, options.maxQueuedLineBytes)) &* byteNs
        lineIdleNs = min(max(lineIdleNs, now) &+ UInt64(n) &* byteNs, cap)
    }

    private func deviceHungUp(_ error: QsslError) {
        let (first, handler): (Bool, (() -> Void)?) = lock.withLock {
            if goneFlag { return (false, nil) }
            goneFlag = true
            return (true, goneHandlerStorage)
        }
        if !first { return }
        goneError = error
        trace(.fromModule, "(device gone)")
        outBuf.removeAll()
        outOffset = 0
        failCurrent(error)
        failQueued(error)
        handler?()
    }

    private func failQueued(_ error: QsslError) {
        let all: [PendingRequest] = lock.withLock { queue.removeAll() }
        for p in all { p.completion(.failure(error)) }
    }

    /// Ends the request in flight (and any drain) with `error`.
    private func failCurrent(_ error: QsslError) {
        dialogue.abort(error, into: &actions)
        applyActions()
        if let c = current {
            current = nil
            c.completion(.failure(error))
        }
    }

    private func cleanup() {
        let t: PosixThread? = lock.withLock {
            closedFlag = true
            Sys.close(wakeFD)
            wakeFD = -1
            return thread
        }
        failCurrent(.closed)
        failQueued(.closed)
        transport.close()
        dataMode = nil
        ioDataMode = nil
        ioURC = nil
        ioTrace = nil
        lock.withLock {
            urcHandlerStorage = nil
            traceHandlerStorage = nil
            goneHandlerStorage = nil
            dataModeHandlerStorage = nil
            ioDone = true
            doneCond.broadcast()
        }
        // Nobody joins a thread closed from its own handler: let it go.
        t?.detach()
    }

    // MARK: - Trace

    private func trace(_ direction: TraceDirection, _ text: String) {
        ioTrace?(direction, text)
    }

    private func tracePayload(_ direction: TraceDirection, _ bytes: [UInt8], redact: Bool) {
        guard let t = ioTrace else { return }
        t(direction, redact ? "<\(bytes.count) bytes redacted>" : traceText(bytes))
    }
}
