import Foundation
import QSSL
import QSSLCore
import QSSLSim

/// One line of the matrix.
struct Row {
    var name: String
    var calls = 0
    var worstOverrunMs: Double = 0
    var delivered = 0
    var handed = 0
    var lost = 0
    var usable = "-"
    var before = Census(fds: 0, threads: 0)
    var after = Census(fds: 0, threads: 0)
    var failures: [String] = []
    var notes: [String] = []
    var passed: Bool { failures.isEmpty }
}

/// Sizes of a run (--short or full).
struct Plan {
    var bytesPerSocket: Int
    var piece: Int
    var slowBytesPerSocket: Int
    var stormBytesPerSocket: Int
    var freshBytes: Int
    var cycles: Int
    var loadDeadlineS: Double
    /// No byte for this long on a socket that is owed echo: stalled.
    var stallS: Double
}

/// Where the fault lands, measured on the fault-free baseline.
struct Calibration {
    var commandsBeforeLoad = 40
    var loadCommands = 100
    var secondsFromPDPToLoad = 0.2
    var loadSeconds = 2.0
    var loadBytes = 1
}

/// What a scenario sees while it injects its fault.
struct ScenarioContext {
    let rig: Rig
    let progress: Progress
    let totalBytes: Int
    let tcpServer: TestTLSServer
}

enum Expect {
    /// The transfer completes: every byte echoed.
    case complete
    /// The fault ends the sockets: a prefix is delivered; at least one socket must end early.
    case ended
}

struct Scenario {
    var name: String
    var configure: (inout SimOptions) -> Void = { _ in }
    var expect: Expect = .complete
    var bytesPerSocket: Int? = nil
    var piece: Int? = nil
    /// Runs on the main thread while the load runs.
    var inject: ((ScenarioContext) -> Void)? = nil
    /// nil if the fault was seen to happen, else why not.
    var fired: (Rig, [ModemEvent], [SocketStream]) -> String? = { _, _, _ in nil }
    var unplug = false
    var peerClose = false
    var modemOptions = ModemOptions()
    /// The AT command number the fault hits (printed under the row).
    var faultCommand: Int? = nil
}

/// The servers every row shares.
struct Servers {
    let certs: Certs
    let tls: TestTLSServer
    let tcp: TestTLSServer
}

func runScenario(_ sc: Scenario, plan: Plan, servers: Servers, seed: UInt64, calibration: inout Calibration,
                 calibrate: Bool = false) -> Row {
    let rec = CallRecorder()
    var row = scenarioBody(sc, plan: plan, servers: servers, seed: seed, calibration: &calibration, calibrate: calibrate, rec: rec)
    row.calls = rec.calls
    row.worstOverrunMs = max(0, rec.worstOverrunMs)
    return row
}

private func scenarioBody(_ sc: Scenario, plan: Plan, servers: Servers, seed: UInt64, calibration: inout Calibration,
                          calibrate: Bool, rec: CallRecorder) -> Row {
    var row = Row(name: sc.name)
    row.before = Census.now()
    // Per-row servers: a TCP echo server the peer-close row stops, a server that sends and closes.
    var ownTCP: TestTLSServer? = nil
    var closer: TestTLSServer? = nil
    let closerPayload = streamBytes(40_000, seed: seed &+ 77)
    do {
        if sc.peerClose {
            ownTCP = try TestTLSServer(plainTCPMode: .echo)
            closer = try TestTLSServer(certificatePath: servers.certs.path("server.pem"),
                                       keyPath: servers.certs.path("server.key"), mode: .sendThenClose(closerPayload))
        }
    } catch {
        row.failures.append("setup: servers: \(error)")
        return row
    }
    // Stopped before the census at the end (and on every early return).
    defer {
        ownTCP?.stop()
        closer?.stop()
    }
    let tcpServer = ownTCP ?? servers.tcp

    let rig: Rig
    do {
        rig = try Rig(sc.configure, seed: seed, rec: rec, modemOptions: sc.modemOptions)
    } catch {
        row.failures.append("setup: open: \(errName(error))")
        return row
    }
    // The byte log is read from here: the closer's peer sends at once, and on a busy machine the modem may fetch
    // its first bytes before the open call returns (a later start missed 1500 delivered bytes in a loaded soak).
    let logStart = fileSize(rig.logPath)
    let perSocket = sc.bytesPerSocket ?? plan.bytesPerSocket
    var streams: [SocketStream] = []
    var closerSocket = -1
    let tPDP: Double
    do {
        try rig.bringUp()
        tPDP = nowMs()
        for i in 0..<3 {
            let s = try rig.openSSL(port: servers.tls.port)
            streams.append(SocketStream(socket: s, kind: "ssl", data: streamBytes(perSocket, seed: seed &+ UInt64(i))))
        }
        let t = try rig.openTCP(port: tcpServer.port)
        streams.append(SocketStream(socket: t, kind: "tcp", data: streamBytes(perSocket, seed: seed &+ 3)))
        if let closer { closerSocket = try rig.openSSL(port: closer.port) }
    } catch {
        row.failures.append("setup: \(errName(error)) (\(rig.modem.lastError.text))")
        rig.stop()
        row.after = Census.settle(to: row.before, ms: 10_000)
        return row
    }
    let commandsAtLoad = rig.trace.atCommands
    let progress = Progress()
    let total = streams.reduce(0) { $0 + $1.data.count }
    let t0 = nowMs()
    let loadDone = DispatchSemaphore(value: 0)
    final class Box: @unchecked Sendable { var finished = false }
    let box = Box()
    let piece = sc.piece ?? plan.piece
    let deadline = plan.loadDeadlineS
    let stallS = plan.stallS
    let running = streams
    let loader = Thread {
        box.finished = runLoad(rig, streams: running, piece: piece, deadlineS: deadline, stallS: stallS, progress: progress)
        loadDone.signal()
    }
    loader.start()
    sc.inject?(ScenarioContext(rig: rig, progress: progress, totalBytes: total, tcpServer: tcpServer))
    loadDone.wait()
    let loadMs = nowMs() - t0
    if !box.finished {
        // A worker is stuck inside an API call: leave this rig alone (tearing it down could crash the worker).
        row.failures.append("hang: a worker thread did not return within \(Int(deadline + 30)) s")
        row.after = Census.now()
        return row
    }
    if calibrate {
        calibration.commandsBeforeLoad = commandsAtLoad
        calibration.loadCommands = rig.trace.atCommands - commandsAtLoad
        calibration.secondsFromPDPToLoad = (t0 - tPDP) / 1000
        calibration.loadSeconds = loadMs / 1000
        calibration.loadBytes = total
    }
    row.notes.append(String(format: "load %.1f s, %d AT commands", loadMs / 1000, rig.trace.atCommands - commandsAtLoad))

    // The socket that the peer closed while its bytes waited: read them all now, then end of stream.
    var closerGot: [UInt8] = []
    var closerEnd = ""
    if closerSocket >= 0 {
        let end = Date().addingTimeInterval(30)
        while Date() < end {
            do {
                let c = try rec.call("recv", budgetMs: Limits.recvMs) {
                    try rig.modem.recv(socket: closerSocket, maxCount: 65536, timeoutMs: Limits.recvMs)
                }
                if c.isEmpty { closerEnd = "end of stream"; break }
                closerGot += c
            } catch let e as QsslError where e == .timedOut {
            } catch {
                closerEnd = "recv" + errName(error)
                break
            }
        }
    }

    let events = rig.drainEvents()
    let logEnd = fileSize(rig.logPath)
    let delivered: DeliveredBytes
    do {
        delivered = try DeliveredBytes.parse(logPath: rig.logPath, from: logStart, to: logEnd)
    } catch {
        row.failures.append("cannot read the sim's log: \(error)")
        delivered = DeliveredBytes()
    }

    for (s, n) in delivered.incomplete.sorted(by: { $0.key < $1.key }) {
        row.notes.append("socket \(s): the log ends inside a read answer (\(n) payload bytes written, no OK yet); counted as delivered")
    }
    // Bytes: what the user got must be, in order, what the module delivered; that must be the echo of what was sent.
    var inFlightAllowance = sc.unplug ? 1500 : 0
    for st in streams {
        let d = delivered.bySocket[st.socket] ?? []
        let r = st.received
        row.delivered += d.count
        row.handed += r.count
        let same = commonPrefix(r, d)
        if same < r.count {
            let sentSame = commonPrefix(r, st.data)
            row.failures.append("socket \(st.socket) (\(st.kind)): user bytes differ from the module's at offset \(same) "
                                + "(user \(r.count), module \(d.count); user bytes equal the sent stream up to \(sentSame))")
            continue
        }
        var lost = d.count - r.count
        if lost > 0 && inFlightAllowance > 0 {
            let forgiven = min(lost, inFlightAllowance)
            inFlightAllowance -= forgiven
            lost -= forgiven
            row.notes.append("socket \(st.socket): \(forgiven) bytes were in the pty when it was unplugged")
        }
        row.lost += lost
        if lost > 0 {
            row.failures.append("socket \(st.socket) (\(st.kind)): \(lost) delivered bytes never reached the user "
                                + "(module \(d.count), user \(r.count), socket ended: \(st.endError ?? (st.endOfStream ? "end of stream" : "-")))")
        }
        let echoed = commonPrefix(d, st.data)
        if echoed < d.count { row.failures.append("socket \(st.socket): the echo differs from the sent stream at \(echoed)") }
        if st.stalled { row.failures.append("socket \(st.socket) (\(st.kind)): stalled at \(r.count)/\(st.data.count) bytes: no byte for \(Int(plan.stallS)) s (\(st.timeouts) recv timeouts)") }
        if sc.expect == .complete && !sc.peerClose && r.count != st.data.count {
            row.failures.append("socket \(st.socket) (\(st.kind)): transfer ended at \(r.count)/\(st.data.count): \(st.endError ?? "-")")
        }
        if let e = st.endError { row.notes.append("socket \(st.socket) \(st.kind): \(e) after \(r.count) bytes") }
    }
    if closerSocket >= 0 {
        let d = delivered.bySocket[closerSocket] ?? []
        row.delivered += d.count
        row.handed += closerGot.count
        if closerGot != closerPayload || d != closerPayload {
            row.failures.append("closed-with-data socket \(closerSocket): user \(closerGot.count) / module \(d.count) / peer sent \(closerPayload.count) bytes, equal: \(closerGot == d)")
            row.lost += max(0, d.count - closerGot.count)
        }
        if closerEnd != "end of stream" { row.failures.append("closed-with-data socket \(closerSocket): ended with \(closerEnd), not end of stream") }
    }
    if sc.expect == .ended && streams.allSatisfy({ $0.received.count == $0.data.count }) {
        row.failures.append("the fault did not interrupt the transfer (every stream completed)")
    }
    if let why = sc.fired(rig, events, streams) { row.failures.append("fault not seen: \(why)") }
    if let n = sc.faultCommand {
        let cmds = simCommands(logPath: rig.logPath)
        if cmds.count >= n { row.notes.append("AT command #\(n) (the fault's, counted in the sim's log): \(cmds[n - 1])") }
        else { row.failures.append("fault not seen: the host sent \(cmds.count) AT commands, the fault was set for #\(n)") }
    }
    row.notes.append("calls: " + rec.errorSummary)
    row.notes.append("events: " + summarize(events))
    row.notes.append("worst call: " + rec.worstCall)

    // Usable afterwards: the old sockets released, then a fresh echo round (after an unplug: on a new port).
    for st in streams { rig.closeSocket(st.socket) }
    if closerSocket >= 0 { rig.closeSocket(closerSocket) }
    let keep = !row.failures.isEmpty
    if keep { row.notes.append("sim log kept: \(rig.logPath)") }
    if sc.unplug {
        rig.stop(keepLog: keep)
        do {
            let again = try Rig(sc.configure, seed: seed &+ 1000, rec: rec, modemOptions: sc.modemOptions)
            defer { again.stop() }
            try freshRound(again, tlsPort: servers.tls.port, tcpPort: servers.tcp.port, size: plan.freshBytes, notes: &row.notes)
            row.usable = "reopened"
        } catch {
            row.usable = "no"
            row.failures.append("not usable after reopening: \(errName(error))")
        }
    } else {
        do {
            try freshRound(rig, tlsPort: servers.tls.port, tcpPort: servers.tcp.port, size: plan.freshBytes, notes: &row.notes)
            row.usable = "yes"
        } catch {
            row.usable = "no"
            row.failures.append("not usable afterwards: \(errName(error)) (\(rig.modem.lastError.text))")
            // Diagnosis only (the verdict stays): does a second round right after work?
            let t = nowMs()
            do {
                try freshRound(rig, tlsPort: servers.tls.port, tcpPort: servers.tcp.port, size: plan.freshBytes, notes: &row.notes)
                row.notes.append(String(format: "a second fresh round, %.1f s after the failed one, succeeded", (nowMs() - t) / 1000))
            } catch {
                row.notes.append("a second fresh round failed too: \(errName(error)) (\(rig.modem.lastError.text))")
            }
        }
        rig.stop(keepLog: keep)
    }
    for o in rec.overrunList { row.failures.append("overrun: " + o) }
    ownTCP?.stop()
    closer?.stop()
    if keepLogs && !keep { row.notes.append("sim log: \(rig.logPath)") }
    row.after = Census.settle(to: row.before, ms: 10_000)
    if row.after.fds > row.before.fds { row.failures.append("fd leak: \(row.before.fds) -> \(row.after.fds)") }
    if row.after.threads > row.before.threads { row.failures.append("thread leak: \(row.before.threads) -> \(row.after.threads); threads now: \(describeThreads())") }
    return row
}

func summarize(_ events: [ModemEvent]) -> String {
    var counts: [String: Int] = [:]
    for e in events {
        let k: String
        switch e {
        case .dataReady: k = "dataReady"
        case .socketClosed: k = "socketClosed"
        case .pdpDeactivated: k = "pdpDeactivated"
        case .moduleReset: k = "moduleReset"
        case .deviceGone: k = "deviceGone"
        case .pdpActivated: k = "pdpActivated"
        case .supervisorReboot: k = "supervisorReboot"
        case .configurationReapplied(let ok): k = "configurationReapplied(\(ok))"
        case .reattached: k = "reattached"
        }
        counts[k, default: 0] += 1
    }
    return counts.sorted { $0.key < $1.key }.map { "\($0.key)x\($0.value)" }.joined(separator: " ")
}

func hasEvent(_ events: [ModemEvent], _ e: ModemEvent) -> Bool { events.contains(e) }
