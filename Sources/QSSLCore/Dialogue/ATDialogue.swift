/// The rules of an AT conversation, without I/O: which line answers the command in flight, which is a URC, what a
/// late answer is, what RDY and ALREADY CONNECT end. Parser events and clock ticks go in; actions come out (write
/// these bytes, complete this request, deliver this URC, trace this line). The channel owns the fd, the threads
/// and the queue, and applies the actions; everything here is testable in every chunking and fuzzable.
///
/// One request runs at a time. AT has no request tags, so a final result that arrives after its command timed out
/// could be taken for the next command's answer: the dialogue prevents that by **draining**. When a command times
/// out its caller gets `.timedOut` at once, but the dialogue is not idle until that command's late final arrives
/// (it is swallowed, with any late lines and payloads) or `lateFinalWaitMs` passes. If the module asks for the
/// timed-out command's payload ("> " or CONNECT) it is still sent, so the module leaves its data state.
///
/// **Which line belongs to whom.** Lines in the URC table go to the URC handler even in the middle of a response,
/// unless they carry the running command's `answerPrefix` ("+CPIN: READY" for AT+CPIN?). ALREADY CONNECT ends
/// only a request that `endsOnAlreadyConnect`; otherwise it is a URC (an earlier QIOPEN's late answer). Any other
/// line while a command runs is that command's answer line; with none running it is `.other`. RDY fails the
/// command in flight with `.reset` unless it `survivesRestart`.
///
/// **After RDY the line is resynchronised** before the next command. Bytes that reached the module after it
/// rebooted (the tail of a payload sent on "> ", a command written during the boot) sit in its command line, and a
/// module ignores a line that does not start with AT, so the next command would be lost behind them. The next
/// request therefore first writes `CR AT CR` (again every `resyncProbeMs`) and is sent only after an OK followed by
/// `resyncQuietMs` without another final: the module answers in order, so the last OK is the probe's, and answers
/// to the junk lines (ERROR, or a late answer of the failed command) cannot be taken for the request's.
public struct ATDialogue: Sendable {
    /// What the channel must do, in order.
    public enum Action: Sendable {
        /// Write these bytes to the module (a command line, or a payload after "> " / CONNECT).
        case write([UInt8])
        /// Request `id` is done. A CONNECT that starts data mode completes with `connected == true`; the channel
        /// then switches to raw bytes before it parses anything else.
        case complete(id: Int, Result<ATResponse, QsslError>)
        /// An unsolicited line for the URC handler.
        case urc(URC)
        /// A line for the AT trace.
        case trace(TraceDirection, String)
    }

    struct Exchange: Sendable {
        let id: Int
        let request: ATRequest
        var deadline: UInt64
        let lateFinalWaitMs: Int
        var lines: [String] = []
        var payloads: [ATPayload] = []
        var payloadSent = false
        /// Set while the line is resynchronised after RDY: the request's command is not written yet.
        var resync: Resync?
    }

    struct Resync: Sendable {
        var probeAt: UInt64
        var quietFrom: UInt64?
    }

    private var current: Exchange?
    private var draining: Exchange?
    private var drainUntil: UInt64 = 0
    /// Set by RDY: the next request resynchronises the module's command line first.
    private var resyncNeeded = false
    /// Emit `.trace` actions (off: no trace text is built, for speed when nobody reads the trace).
    public var tracing = true
    /// After RDY: how long to wait for the probe's OK before probing again.
    public var resyncProbeMs = 500
    /// After RDY: the silence after an OK that makes it the probe's (the module answers in order, promptly).
    public var resyncQuietMs = 100
    /// See `answerArriving`.
    public var payloadStallMs = 5000

    public init() {}

    /// True when a new request may start: none in flight and no late answer being waited for.
    public var isIdle: Bool { current == nil && draining == nil }

    /// True while a request runs whose CONNECT starts data mode: the parser must go raw right behind it.
    public var rawOnConnect: Bool {
        guard let c = current else { return false }
        return c.request.entersRawModeOnConnect && c.request.payload == nil
    }

    /// The earliest time `tick` has something to do, or nil.
    public var nextDeadline: UInt64? {
        var d: UInt64? = current?.deadline
        if let r = current?.resync {
            let t = r.quietFrom.map { $0 &+ UInt64(resyncQuietMs) &* 1_000_000 }
                ?? r.probeAt &+ UInt64(resyncProbeMs) &* 1_000_000
            d = min(d ?? t, t)
        }
        if draining != nil { d = min(d ?? drainUntil, drainUntil) }
        return d
    }

    /// Starts request `id` (only when `isIdle`): its command line is written. `deadline` is absolute (ns, the
    /// channel's clock); after it the request fails with `.timedOut` and its late answer is drained for
    /// `lateFinalWaitMs`.
    public mutating func start(id: Int, _ request: ATRequest, deadline: UInt64, lateFinalWaitMs: Int,
                               into actions: inout [Action]) {
        precondition(isIdle, "ATDialogue.start while busy")
        current = Exchange(id: id, request: request, deadline: deadline, lateFinalWaitMs: lateFinalWaitMs)
        if resyncNeeded {
            resyncNeeded = false
            current?.resync = Resync(probeAt: 0)
            probe(now: nil, into: &actions)
        } else {
            writeCommand(request, into: &actions)
        }
    }

    private func writeCommand(_ request: ATRequest, into actions: inout [Action]) {
        actions.append(.write(Array(request.command.utf8) + [0x0D]))
        if tracing { actions.append(.trace(.toModule, request.command)) }
    }

    /// Writes the resync probe; the leading CR ends whatever the module holds in its command line. `now` nil: at
    /// start, the probe's clock starts at the first tick or answer.
    private mutating func probe(now: UInt64?, into actions: inout [Action]) {
        guard var c = current, c.resync != nil else { return }
        c.resync = Resync(probeAt: now ?? 0, quietFrom: nil)
        current = c
        actions.append(.write([0x0D, 0x41, 0x54, 0x0D]))
        if tracing { actions.append(.trace(.toModule, "AT (resync after restart)")) }
    }

    /// A resync step at `now`: the probe's OK and its quiet make the line clean (the command goes out); an
    /// unanswered probe is repeated.
    private mutating func resyncTick(now: UInt64, into actions: inout [Action]) {
        guard var c = current, var r = c.resync else { return }
        if r.probeAt == 0 {
            r.probeAt = now
            c.resync = r
            current = c
        }
        if let q = r.quietFrom {
            if now >= q &+ UInt64(resyncQuietMs) &* 1_000_000 {
                c.resync = nil
                current = c
                writeCommand(c.request, into: &actions)
            }
        } else if now >= r.probeAt &+ UInt64(resyncProbeMs) &* 1_000_000 {
            probe(now: now, into: &actions)
        }
    }

    /// The module is answering the request in flight with a counted payload (bytes of it arrived at `now`): the
    /// request does not time out before `payloadStallMs` pass without more. The module has already taken those
    /// bytes out of its buffers; a request that gave up on them would lose them (its late answer is swallowed).
    public mutating func answerArriving(now: UInt64) {
        guard var c = current, c.resync == nil else { return }
        let t = now &+ UInt64(max(0, payloadStallMs)) &* 1_000_000
        if t > c.deadline {
            c.deadline = t
            current = c
        }
    }

    /// Time passed: a request past its deadline times out; a drain past its wait ends.
    public mutating func tick(now: UInt64, into actions: inout [Action]) {
        if let c = current, now >= c.deadline {
            current = nil
            if c.resync != nil {
                // Never written: nothing to drain, but the line is still not known to be clean.
                resyncNeeded = true
            } else {
                startDraining(c, now: now)
            }
            if tracing { actions.append(.trace(.fromModule, "(timed out: " + c.request.command + ")")) }
            actions.append(.complete(id: c.id, .failure(.timedOut)))
        }
        if draining != nil && now >= drainUntil {
            draining = nil
            if tracing { actions.append(.trace(.fromModule, "(no late answer; resuming)")) }
        }
        resyncTick(now: now, into: &actions)
    }

    /// Ends everything in flight with `error` (device gone, channel closed). No draining follows.
    public mutating func abort(_ error: QsslError, into actions: inout [Action]) {
        draining = nil
        if let c = current {
            current = nil
            actions.append(.complete(id: c.id, .failure(error)))
        }
    }

    /// One parser event (`.raw` is not the dialogue's: data mode belongs to the channel).
    public mutating func handle(_ event: ATEvent, now: UInt64, into actions: inout [Action]) {
        if current?.resync != nil, handleDuringResync(event, now: now, into: &actions) { return }
        switch event {
        case .echo(let s):
            // The parser calls every "AT..." line an echo; only the command in flight is echoed, so any other
            // such line is an answer line (an SMS text read with AT+CMGR may well start with "at").
            if let c = current, s != c.request.command {
                handle(.line(s), now: now, into: &actions)
            } else {
                if tracing { actions.append(.trace(.fromModule, s)) }
            }

        case .line(let s):
            if tracing { actions.append(.trace(.fromModule, s)) }
            if var c = current {
                c.lines.append(s)
                current = c
                if c.request.completesOnLine { complete(final: nil, into: &actions) }
            } else if let d = draining {
                // The late answer of a timed-out AT+QILOCIP is its line: no final follows.
                if d.request.completesOnLine {
                    draining = nil
                    if tracing { actions.append(.trace(.fromModule, "(late answer swallowed)")) }
                }
            } else {
                actions.append(.urc(.other(s)))
            }

        case .final(let f):
            if tracing { actions.append(.trace(.fromModule, f.text)) }
            if case .alreadyConnect = f, !((current ?? draining)?.request.endsOnAlreadyConnect ?? false) {
                // Modules also print it after QIOPEN's OK, when another command may already be in flight: it must
                // not end that command. The modem matches it to its pending TCP open.
                actions.append(.urc(.other(f.text)))
                return
            }
            if current != nil {
                complete(final: f, into: &actions)
            } else if draining != nil {
                draining = nil
                if tracing { actions.append(.trace(.fromModule, "(late answer swallowed)")) }
            }

        case .prompt, .connect:
            let isConnect = event == .connect
            if tracing { actions.append(.trace(.fromModule, isConnect ? "CONNECT" : "> ")) }
            if var c = current {
                if let payload = c.request.payload {
                    if !c.payloadSent {
                        c.payloadSent = true
                        current = c
                        writePayload(payload, redact: c.request.redactPayload, into: &actions)
                    }
                } else if isConnect && c.request.entersRawModeOnConnect {
                    current = nil
                    actions.append(.complete(id: c.id, .success(ATResponse(lines: c.lines, payloads: c.payloads,
                                                                           final: nil, connected: true))))
                } else if isConnect {
                    c.lines.append("CONNECT")
                    current = c
                }
            } else if var d = draining, let payload = d.request.payload, !d.payloadSent {
                // The module waits for the timed-out command's data: send it so the stream stays in step.
                d.payloadSent = true
                draining = d
                writePayload(payload, redact: d.request.redactPayload, into: &actions)
            } else if isConnect && draining == nil {
                actions.append(.urc(.other("CONNECT")))
            }

        case .payload(let p):
            if tracing { actions.append(.trace(.fromModule, (p.kind == .ssl ? "+QSSLRECV: " : "+QIRD: ") + p.peer
                                               + ",TCP,\(p.data.count)")) }
            if tracing { actions.append(.trace(.fromModule, traceText(p.data))) }
            if var c = current {
                c.payloads.append(p)
                current = c
                answerArriving(now: now)   // its final follows the payload
            }

        case .urc(let u):
            let text = u.text
            if tracing { actions.append(.trace(.fromModule, text)) }
            if var c = current, let prefix = c.request.answerPrefix, u.answers(prefix) {
                c.lines.append(text)
                current = c
                if c.request.completesOnLine { complete(final: nil, into: &actions) }
            } else if let d = draining, let prefix = d.request.answerPrefix, u.answers(prefix) {
                // A late answer line of the timed-out command.
            } else {
                if case .ready = u {
                    resyncNeeded = true
                    if current?.resync != nil {
                        resyncNeeded = false
                        probe(now: now, into: &actions)
                    }
                }
                if case .ready = u, let c = current, !c.request.survivesRestart, c.resync == nil {
                    // The command may have reached the module just after it booted, so its answer can still come:
                    // it is drained like the answer of a timed-out command.
                    current = nil
                    startDraining(c, now: now)
                    if tracing { actions.append(.trace(.fromModule, "(module restarted during: " + c.request.command + ")")) }
                    actions.append(.complete(id: c.id, .failure(.reset)))
                }
                actions.append(.urc(u))
            }

        case .raw:
            break
        }
    }

    /// While resynchronising, every answer is the junk's or the probe's: an OK starts the quiet, a later final ends
    /// it, nothing else concerns the request. URCs (RDY among them) take their usual path. Returns false for those.
    private mutating func handleDuringResync(_ event: ATEvent, now: UInt64, into actions: inout [Action]) -> Bool {
        guard var c = current, var r = c.resync else { return false }
        if r.probeAt == 0 { r.probeAt = now }
        switch event {
        case .final(let f):
            if tracing { actions.append(.trace(.fromModule, f.text + " (resync)")) }
            r.quietFrom = f == .ok ? now : nil
        case .line(let s), .echo(let s):
            if tracing { actions.append(.trace(.fromModule, s + " (resync)")) }
        case .prompt, .connect, .payload, .raw:
            break
        case .urc:
            c.resync = r
            current = c
            return false
        }
        c.resync = r
        current = c
        return true
    }

    private mutating func complete(final: FinalResult?, into actions: inout [Action]) {
        guard let c = current else { return }
        current = nil
        actions.append(.complete(id: c.id, .success(ATResponse(lines: c.lines, payloads: c.payloads, final: final))))
    }

    private mutating func startDraining(_ c: Exchange, now: UInt64) {
        if c.lateFinalWaitMs <= 0 { return }
        draining = c
        drainUntil = now &+ UInt64(c.lateFinalWaitMs) &* 1_000_000
    }

    private func writePayload(_ payload: [UInt8], redact: Bool, into actions: inout [Action]) {
        actions.append(.write(payload))
        if tracing { actions.append(.trace(.toModule, redact ? "<\(payload.count) bytes redacted>" : traceText(payload))) }
    }
}

extension URC {
    /// Whether this URC-looking line is an answer line of a command whose answers carry `prefix` ("+CPIN:").
    func answers(_ prefix: String) -> Bool {
        text.utf8.starts(with: prefix.utf8)
    }
}
