import QSSLCore

extension Modem {
    /// Brings up packet data as the note does (§1.2 steps 2-4): AT+QIFGCNT, AT+QICSGP (APN, user, password),
    /// AT+QIREGAPP, AT+QIACT, AT+QILOCIP, AT+QIMUX=1, AT+QINDI=1. Returns the local IP address.
    /// When AT+QIACT fails, the §1.4.1 checks run and give the cause: `.notAttached` (AT+CGATT=1 did not
    /// help), `.notRegistered` (AT+CGREG?), `.noAPN`, `.contextBusy` (a context active through AT+CGACT/PPP);
    /// `.modem` when every check passes (the note then advises a reboot; see startSupervisor).
    /// Strings with a quote or control byte are `.invalidArgument` with nothing sent.
    public func activatePDP(_ config: PDPConfig, timeoutMs: Int = 150_000) throws(QsslError) -> String {
        try api { () throws(QsslError) -> String in
            let fg: String
            let csgp: String
            do throws(QsslError) {
                fg = try ATCommands.setForegroundContext(config.foregroundContext)
                csgp = try ATCommands.setAPN(config.apn, user: config.user, password: config.password)
            } catch {
                throw record(error, message: "invalid APN, user, password or context")
            }
            lock.withLock { pdpConfig = config }
            try execOK(fg)
            try execOK(csgp)
            try execOK(ATCommands.registerApp)
            do throws(QsslError) {
                try execOK(ATCommands.activatePDP, timeoutMs: timeoutMs)
            } catch {
                if error != .modem { throw error }
                let failed = lastError
                let (cause, attachedNow) = diagnose()
                if cause == .modem && attachedNow {
                    // The note's first check attached the PS domain: one more try.
                    try execOK(ATCommands.activatePDP, timeoutMs: timeoutMs)
                } else {
                    throw record(cause, command: ATCommands.activatePDP, cme: failed.cme,
                                 message: "AT+QIACT failed: " + String(describingStatic: cause.text))
                }
            }
            let ip = try localIP()
            try execOK(ATCommands.enableMux)
            try execOK(ATCommands.enableDataIndication)
            lock.withLock { pdpUp = true }
            emit(.pdpActivated)
            return ip
        }
    }

    /// AT+QILOCIP: the local IP address.
    public func localIP() throws(QsslError) -> String {
        try api { () throws(QsslError) -> String in
            // The answer is a bare line with no OK, so an unrelated unsolicited line that slips in first would
            // be taken for it: ask again (the late IP line then goes to the URC handler as noise).
            var attempt = 0
            while true {
                attempt += 1
                let r = try exec(ATRequest(ATCommands.localIP, completesOnLine: true),
                                 timeoutMs: options.commandTimeoutMs)
                if r.final != nil && r.final != .ok { try expectOK(r, ATCommands.localIP) }
                do throws(QsslError) { return try ATDecoders.localIP(r.lines) } catch {
                    if attempt >= 3 {
                        throw record(error, command: ATCommands.localIP, message: "no IP address in the answer")
                    }
                }
            }
        }
    }

    /// AT+QIDEACT (answer DEACT OK): deactivates the PDP context; every socket is gone afterwards.
    public func deactivatePDP(timeoutMs: Int = 40_000) throws(QsslError) {
        try api { () throws(QsslError) in
            let r = try exec(ATRequest(ATCommands.deactivatePDP), timeoutMs: timeoutMs)
            switch r.final {
            case .deactOK?, .ok?: break
            default: try expectOK(r, ATCommands.deactivatePDP)
            }
            lock.withLock {
                pdpUp = false
                failAllLocked(.pdpDeactivated)
            }
        }
    }

    /// True between a successful activatePDP and +PDP DEACT / RDY / deactivatePDP.
    public var isPDPActive: Bool { lock.withLock { pdpUp } }

    /// Runs the note's §1.4.1 checks and returns the first cause found (`.modem` if all pass):
    /// AT+CGATT? (and AT+CGATT=1 if detached -> `.notAttached` if that fails), AT+CGREG? -> `.notRegistered`,
    /// AT+QIREGAPP? -> `.noAPN`, AT+CGACT? -> `.contextBusy`. A check the module does not answer is skipped.
    public func diagnosePDP() -> QsslError {
        diagnose().0
    }

    /// The checks; the Bool says whether AT+CGATT=1 attached the PS domain just now.
    func diagnose() -> (QsslError, Bool) {
        var attachedNow = false
        if let r = try? exec(ATRequest(ATCommands.queryAttach), timeoutMs: options.commandTimeoutMs), r.final == .ok,
           let attached = try? ATDecoders.attached(r.lines), !attached {
            let a = try? exec(ATRequest(ATCommands.attach), timeoutMs: 75_000)
            guard a?.final == .ok,
                  let r2 = try? exec(ATRequest(ATCommands.queryAttach), timeoutMs: options.commandTimeoutMs),
                  let now = try? ATDecoders.attached(r2.lines), now else { return (.notAttached, false) }
            attachedNow = true
        }
        if let r = try? exec(ATRequest(ATCommands.queryRegistration), timeoutMs: options.commandTimeoutMs),
           r.final == .ok, let stat = try? ATDecoders.registrationStatus(r.lines), !ATDecoders.isRegistered(stat) {
            return (.notRegistered, attachedNow)
        }
        if let r = try? exec(ATRequest(ATCommands.queryRegisterApp), timeoutMs: options.commandTimeoutMs),
           r.final == .ok, ATDecoders.registeredAPN(r.lines).isEmpty {
            return (.noAPN, attachedNow)
        }
        if let r = try? exec(ATRequest(ATCommands.queryPDPActive), timeoutMs: options.commandTimeoutMs),
           r.final == .ok, !ATDecoders.activeContexts(r.lines).isEmpty {
            return (.contextBusy, attachedNow)
        }
        return (.modem, attachedNow)
    }

    // MARK: Supervisor

    /// Starts the note's recovery policy on its own thread: whenever the PDP context is down (never came up,
    /// +PDP DEACT, RDY), try activatePDP(config) every `intervalMs` (each failure runs the §1.4.1 checks);
    /// after `attemptsBeforeReboot` failures in a row send `rebootCommand`, emit `.supervisorReboot`, wait for
    /// RDY and start counting again. `.busy` if already running; `.invalidArgument` for a bad config/options.
    public func startSupervisor(_ config: PDPConfig, options o: SupervisorOptions = SupervisorOptions()) throws(QsslError) {
        try api { () throws(QsslError) in
            do throws(QsslError) {
                _ = try ATCommands.setAPN(config.apn, user: config.user, password: config.password)
                _ = try ATCommands.setForegroundContext(config.foregroundContext)
                if o.intervalMs < 1 || o.attemptsBeforeReboot < 1 || o.rebootWaitMs < 0 { throw .invalidArgument }
                for b in o.rebootCommand.utf8 where b < 0x20 || b == 0x7F { throw .invalidArgument }
                if o.rebootCommand.isEmpty { throw .invalidArgument }
            } catch {
                throw record(error, message: "invalid supervisor settings")
            }
            let refusal = lock.withLock { () -> QsslError? in
                if isClosedFlag { return .closed }
                if supervisorThread != nil { return .busy }
                pdpConfig = config
                supervisorOptions = o
                supervisorStop = false
                return nil
            }
            if let refusal {
                throw record(refusal, message: refusal == .busy ? "supervisor already running" : "modem closed")
            }
            let t = try PosixThread { self.supervise() }
            lock.withLock { supervisorThread = t }
        }
    }

    /// Stops the supervisor (waits for it unless called from its own thread, e.g. from an event callback
    /// it triggered indirectly).
    public func stopSupervisor() {
        let t = lock.withLock { () -> PosixThread? in
            supervisorStop = true
            superCond.broadcast()
            let t = supervisorThread
            supervisorThread = nil
            return t
        }
        if let t { t.isCurrent ? t.detach() : t.join() }
    }

    /// How many times the supervisor sent its reboot command (for tests and diagnostics).
    public var supervisorReboots: Int { lock.withLock { rebootCount } }

    /// The port went away under the supervisor. A handle that follows its modem gets it back: wait for the
    /// re-attach (or stop/close) and say whether to supervise the new port. A handle opened by path: false.
    func awaitReattach() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        while !supervisorStop && !isClosedFlag && follow != nil && deviceGoneReported { superCond.wait() }
        return !supervisorStop && !isClosedFlag && follow != nil
    }

    func supervise() {
        var failures = 0
        while true {
            let (stop, wasUp, cfg, o) = lock.withLock { (supervisorStop, pdpUp, pdpConfig, supervisorOptions) }
            if stop { return }
            var up = wasUp
            if !up, let cfg {
                do throws(QsslError) {
                    // After +PDP DEACT the module stays in "PDP DEACT" and refuses AT+QIREGAPP until AT+QIDEACT;
                    // the context is down anyway, so the reset costs nothing.
                    _ = try? exec(ATRequest(ATCommands.deactivatePDP), timeoutMs: 40_000)
                    _ = try activatePDP(cfg)
                    failures = 0
                    up = true   // so that losing it (+PDP DEACT, RDY, a re-attach) ends the wait below at once
                } catch {
                    if error == .closed { return }
                    if error == .noDevice {
                        if !awaitReattach() { return }
                        failures = 0
                        continue
                    }
                    failures += 1
                    if failures >= o.attemptsBeforeReboot {
                        failures = 0
                        let before = lock.withLock { () -> Int in
                            rebootCount += 1
                            return resetCount
                        }
                        emit(.supervisorReboot)
                        _ = try? exec(ATRequest(o.rebootCommand), timeoutMs: options.commandTimeoutMs)
                        // Wait for RDY (or the time limit) before counting again.
                        let until = deadlineNs(afterMs: o.rebootWaitMs)
                        lock.lock()
                        while resetCount == before && !supervisorStop && monotonicNs() < until {
                            _ = superCond.wait(untilNs: until)
                        }
                        lock.unlock()
                    }
                }
            }
            let until = deadlineNs(afterMs: o.intervalMs)
            lock.lock()
            while !supervisorStop && monotonicNs() < until {
                _ = superCond.wait(untilNs: until)
                // A lost context is worth a check before the interval ends only if it just went down.
                if !pdpUp && up { break }
            }
            lock.unlock()
        }
    }
}
