import CPosix
import QSSLCore

// A handle opened by identity ("imei:" / "usb:") follows its modem. When the port hangs up the channel fails
// every waiter with .noDevice and the handle reports .deviceGone, as for any handle; later calls fail at once on
// the dead channel. One thread per such handle then watches udev for the identity to come back (any tty name),
// opens it, syncs, and swaps the new channel in under the modem's lock. Sockets of the old channel stay failed:
// the module lost them with its port.

/// What a handle opened by identity needs to find its modem again.
final class FollowState {
    let identity: DeviceIdentity
    let serial: SerialOptions
    /// Guarded by the modem's `lock`.
    var thread: PosixThread? = nil
    /// The monitor the thread waits on while the modem is away (guarded by the modem's `lock`); close() closes it
    /// to wake the thread.
    var monitor: DeviceMonitor? = nil

    init(identity: DeviceIdentity, serial: SerialOptions) {
        self.identity = identity
        self.serial = serial
    }
}

extension Modem {
    /// Opens `device`: a tty path, or a modem by identity, "imei:<15 digits>" or "usb:<path>" (see
    /// `resolveDevice`). A handle opened by identity follows its modem: after `.deviceGone`, when the same
    /// identity appears again it re-opens it, runs the start-up sync, emits `.reattached` and, with
    /// `reapplyAfterReset`, re-applies the configuration as after a restart.
    public static func open(device: String, serial: SerialOptions = SerialOptions(),
                            options: ModemOptions = ModemOptions()) throws(QsslError) -> Modem {
        guard let identity = try DeviceIdentity.parse(device) else {
            return try open(path: device, serial: serial, options: options)
        }
        let port = try resolveDevice(device, baud: serial.baud)
        let m = try open(path: port, serial: serial, options: options)
        let f = FollowState(identity: identity, serial: serial)
        do throws(QsslError) {
            let t = try PosixThread { m.followLoop(f) }
            m.lock.withLock {
                f.thread = t
                m.follow = f
            }
        } catch {
            m.close()
            throw error
        }
        return m
    }

    static func channelOptions(_ options: ModemOptions) -> ChannelOptions {
        var o = ChannelOptions()
        o.dataModeQuietMs = options.transparentExitQuietMs
        return o
    }

    /// Points `ch`'s handlers at this modem. A hang-up names its channel, so a replaced one is no news.
    func wire(_ ch: ATChannel) {
        let id = ObjectIdentifier(ch)
        ch.urcHandler = { urc in self.handleURC(urc) }
        ch.dataModeHandler = { event in self.dataModeEvent(event) }
        ch.onDeviceGone = { self.deviceLost(of: id) }
    }

    /// Breaks the reference cycles through `ch`'s handlers.
    func unwire(_ ch: ATChannel) {
        ch.urcHandler = nil
        ch.dataModeHandler = nil
        ch.traceHandler = nil
        ch.onDeviceGone = nil
    }

    /// Stops the follow thread (close(), after `isClosedFlag` is set): wakes it out of its monitor and waits for
    /// it, so no channel is swapped in behind close's back.
    func stopFollowing() {
        let (mon, thread) = lock.withLock { () -> (DeviceMonitor?, PosixThread?) in
            guard let f = follow else { return (nil, nil) }
            let t = f.thread
            f.thread = nil
            return (f.monitor, t)
        }
        mon?.close()
        if let thread { thread.isCurrent ? thread.detach() : thread.join() }
    }

    func followLoop(_ f: FollowState) {
        while true {
            lock.lock()
            // deviceLost and close() both broadcast `cond` (stateChangedLocked).
            while !isClosedFlag && !deviceGoneReported { cond.wait() }
            let closed = isClosedFlag
            lock.unlock()
            if closed { return }
            guard let path = findAgain(f) else { return }
            if !reattach(path, f) { pauseFollowing(ms: 500) }
        }
    }

    /// Waits `ms` or until close(); false once closed.
    @discardableResult
    func pauseFollowing(ms: Int) -> Bool {
        let until = deadlineNs(afterMs: ms)
        lock.lock()
        defer { lock.unlock() }
        while !isClosedFlag && monotonicNs() < until { _ = cond.wait(untilNs: until) }
        return !isClosedFlag
    }

    /// Probe rounds a port gets before it is left alone until it is plugged again: a module still booting after
    /// a reset answers only after a few seconds.
    static let followProbeRounds = 5

    /// The tty that carries the followed identity now, waiting for it as long as it takes; nil once closed.
    func findAgain(_ f: FollowState) -> String? {
        var mon: DeviceMonitor? = nil
        while mon == nil {
            do throws(QsslError) {
                mon = try DeviceMonitor()
            } catch {
                if !pauseFollowing(ms: 1000) { return nil }
            }
        }
        let monitor = mon!
        let closed = lock.withLock { () -> Bool in
            if !isClosedFlag { f.monitor = monitor }
            return isClosedFlag
        }
        defer {
            lock.withLock { f.monitor = nil }
            monitor.close()
        }
        if closed { return nil }
        // Probe rounds used per port; Int.max: not again until it is plugged again (it answered with another
        // IMEI, or it was there when the modem went and did not answer then).
        var rounds = SmallMap<String, Int>()
        // The modem may be back before the monitor was bound: look at the ttys present first, then once a second
        // (a port plugged since, still booting, answers later), and at once on every add.
        var nextScan: UInt64 = 0
        var first = true
        while true {
            if monotonicNs() >= nextScan {
                if let all = try? listDevices() {
                    for d in all {
                        if let p = matches(d, f, &rounds) { return p }
                        if first && rounds[d.path] != nil { rounds[d.path] = Int.max }
                    }
                }
                first = false
                nextScan = deadlineNs(afterMs: 1000)
            }
            let event: (DeviceMonitor.Action, DeviceInfo)?
            do throws(QsslError) {
                event = try monitor.next(timeoutMs: 1000)
            } catch {
                if error == .closed { return nil }
                if !pauseFollowing(ms: 1000) { return nil }
                continue
            }
            guard let (action, d) = event else { continue }
            rounds[d.path] = nil
            if action == .add, let p = matches(d, f, &rounds) { return p }
        }
    }

    /// `d.path` if `d` is the followed modem (an "imei:" identity probes, at most `followProbeRounds` times).
    func matches(_ d0: DeviceInfo, _ f: FollowState, _ rounds: inout SmallMap<String, Int>) -> String? {
        if isClosed { return nil }
        switch f.identity {
        case .usbPath(let p):
            return d0.usbPath == p ? d0.path : nil
        case .imei(let imei):
            let used = rounds[d0.path] ?? 0
            if used >= Modem.followProbeRounds { return nil }
            var d = d0
            DeviceProbe.run(&d, baud: f.serial.baud)
            if d.imei == imei { return d.path }
            rounds[d0.path] = d.probe == .quectel ? Int.max : used + 1
            return nil
        }
    }

    /// Opens `path`, syncs, and swaps the new channel in. False when the port would not open or sync.
    func reattach(_ path: String, _ f: FollowState) -> Bool {
        let t: SerialTransport
        do throws(QsslError) { t = try SerialTransport(path: path, options: f.serial) } catch { return false }
        let counting = CountingTransport(t)
        let ch = ATChannel(transport: counting, options: Modem.channelOptions(options))
        wire(ch)
        updateTraceHandler(on: ch)
        do throws(QsslError) {
            try ch.start(timeoutMs: options.startTimeoutMs)
        } catch {
            unwire(ch)
            ch.close()
            return false
        }
        lock.lock()
        if isClosedFlag {
            lock.unlock()
            unwire(ch)
            ch.close()
            return true
        }
        let old = linkLock.withLock { () -> ATChannel in
            let o = link.channel
            link = (ch, counting)
            return o
        }
        deviceGoneReported = false
        pdpUp = false
        superCond.broadcast()   // a supervisor waiting for the modem goes on with the new port
        // Data mode ended with the old port; the failed transparent socket must not block commands.
        transparentSocket = -1
        emitLocked(.reattached)
        // Queued after the event, as after RDY, so a callback sees the re-attach before the re-apply result.
        if options.reapplyAfterReset {
            jobs.append(.reapply)
            jobCond.signal()
        }
        stateChangedLocked()
        lock.unlock()
        unwire(old)
        old.close()
        // A hang-up between the sync and the swap was ignored as news of a channel not yet in use.
        if ch.deviceGone { deviceLost(of: ObjectIdentifier(ch)) }
        return true
    }
}
