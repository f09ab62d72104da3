import Foundation
import QSSL
import QSSLCore
import QSSLSim

/// RLIMIT_NOFILE lowered to just above what is open, then Modem.open at every limit from "no fd left" up to the
/// first success: each attempt returns a clear error (no crash) and leaves no fd behind; after the limit is
/// raised again a modem opens and echoes.
func runFDLimit(plan: Plan, servers: Servers, seed: UInt64) -> Row {
    let rec = CallRecorder()
    var row = fdLimitBody(plan: plan, servers: servers, seed: seed, rec: rec)
    row.calls = rec.calls
    row.worstOverrunMs = max(0, rec.worstOverrunMs)
    return row
}

private func fdLimitBody(plan: Plan, servers: Servers, seed: UInt64, rec: CallRecorder) -> Row {
    var row = Row(name: "fd limit (RLIMIT_NOFILE)")
    row.before = Census.now()
    var o = SimOptions()
    o.seed = seed
    let sim: VirtualModule
    do {
        sim = try VirtualModule(options: o)
    } catch {
        row.failures.append("setup: \(error)")
        return row
    }
    sim.start()
    let nofile = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    var old = rlimit()
    getrlimit(nofile, &old)
    // The highest fd in use decides which numbers are free below the limit: count from the lowest free one.
    var errors: [String: Int] = [:]
    var lastText = ""
    var clear = true
    var opened = false
    var extra = 0
    while !opened && extra <= 64 {
        let base = Census.now().fds
        // Lowest free fd number: open() returns it; the limit is that + extra.
        let probe = open("/dev/null", O_RDONLY)
        guard probe >= 0 else { row.failures.append("cannot open /dev/null"); break }
        close(probe)
        var low = old
        low.rlim_cur = rlim_t(Int(probe) + extra)
        setrlimit(nofile, &low)
        var modem: Modem? = nil
        do {
            modem = try rec.call("open", budgetMs: Limits.openMs) { try Modem.open(path: sim.slavePath) }
            opened = true
        } catch {
            errors[errName(error), default: 0] += 1
            let q = error as? QsslError
            let text = q?.detailText ?? "\(error)"
            if lastText.isEmpty { lastText = errName(error) + ": " + text }  // detailText names the errno
            // Clear: the caller can tell the descriptor limit (EMFILE) from anything else.
            let l = text.lowercased()
            if !(q?.story?.errno == EMFILE || l.contains("descriptor") || l.contains("open files")) { clear = false }
        }
        setrlimit(nofile, &old)
        if let modem { rec.call0("close", budgetMs: Limits.closeModemMs) { modem.close() } }
        let now = Census.settle(to: Census(fds: base, threads: Int.max), ms: 2000)
        if now.fds > base { row.failures.append("limit fd+\(extra): \(now.fds - base) fds left open after a failed open") }
        extra += 1
    }
    row.notes.append("failed opens: " + errors.sorted { $0.key < $1.key }.map { "\($0.key)x\($0.value)" }.joined(separator: " ")
                     + "; first success with \(extra - 1) fds free")
    row.notes.append("first failure: \(lastText)")
    if !errors.isEmpty && !clear {
        row.failures.append("unclear error: Modem.open at the fd limit throws \(lastText); EMFILE is not told apart from ENOMEM")
    }
    if errors.isEmpty { row.failures.append("fault not seen: no open failed under the low limit") }
    if !opened { row.failures.append("no open succeeded even with 64 fds free") }
    row.delivered = 0
    // Raised again: a modem opens and works.
    do {
        let rig = try Rig({ _ in }, seed: seed &+ 1, rec: rec)
        defer { rig.stop() }
        try freshRound(rig, tlsPort: servers.tls.port, tcpPort: servers.tcp.port, size: plan.freshBytes, notes: &row.notes)
        row.usable = "yes"
    } catch {
        row.usable = "no"
        row.failures.append("not usable after raising the limit: \(errName(error))")
    }
    sim.stop()
    for o in rec.overrunList { row.failures.append("overrun: " + o) }
    row.after = Census.settle(to: row.before, ms: 10_000)
    if row.after.fds > row.before.fds { row.failures.append("fd leak: \(row.before.fds) -> \(row.after.fds)") }
    if row.after.threads > row.before.threads { row.failures.append("thread leak: \(row.before.threads) -> \(row.after.threads); threads now: \(describeThreads())") }
    return row
}

/// Open/close cycles with faults mixed in (every 5th cycle a fresh sim with a fault: reset instead of an answer,
/// a command never answered, SEND FAIL storm, noise, unplug with a socket open): fds, threads and RSS must not grow.
func runCycles(plan: Plan, servers: Servers, seed: UInt64) -> Row {
    let rec = CallRecorder()
    var row = cyclesBody(plan: plan, servers: servers, seed: seed, rec: rec)
    row.calls = rec.calls
    row.worstOverrunMs = max(0, rec.worstOverrunMs)
    return row
}

private func cyclesBody(plan: Plan, servers: Servers, seed: UInt64, rec: CallRecorder) -> Row {
    var row = Row(name: "open/close x\(plan.cycles) + faults")
    var o = SimOptions()
    o.seed = seed
    let shared: VirtualModule
    do { shared = try VirtualModule(options: o) } catch {
        row.failures.append("setup: \(error)")
        return row
    }
    shared.start()
    defer { shared.stop() }
    var faultErrors: [String: Int] = [:]
    var cleanFailures: [String: Int] = [:]
    let payload = streamBytes(256, seed: seed)

    func cleanCycle() throws {
        let m = try rec.call("open", budgetMs: Limits.openMs) { try Modem.open(path: shared.slavePath) }
        defer { rec.call0("close", budgetMs: Limits.closeModemMs) { m.close() } }
        // Each cycle leaves the module as it found it: PDP down (a new Modem cannot know it is up).
        _ = try rec.call("activatePDP", budgetMs: Limits.pdpMs) { try m.activatePDP(PDPConfig(apn: "CMNET"), timeoutMs: Limits.pdpMs) }
        defer { _ = try? rec.call("deactivatePDP", budgetMs: 40_000) { try m.deactivatePDP() } }
        let s = try rec.call("openTCP", budgetMs: Limits.openSocketS * 1000) {
            try m.openTCP(host: "127.0.0.1", port: servers.tcp.port, timeoutS: Limits.openSocketS)
        }
        _ = try rec.call("send", budgetMs: Limits.sendMs) { try m.send(socket: s, payload, timeoutMs: Limits.sendMs) }
        var back: [UInt8] = []
        while back.count < payload.count {
            let c = try rec.call("recv", budgetMs: Limits.recvMs) { try m.recv(socket: s, maxCount: 4096, timeoutMs: Limits.recvMs) }
            if c.isEmpty { throw FaultsError("end of stream") }
            back += c
        }
        if back != payload { throw FaultsError("echo differs") }
        _ = try rec.call("closeSocket", budgetMs: Limits.closeSocketMs) { try m.closeSocket(s, timeoutMs: Limits.closeSocketMs) }
    }

    func faultCycle(_ k: Int, _ i: Int) {
        var fo = SimOptions()
        fo.seed = seed &+ UInt64(i)
        switch k % 5 {
        case 0: fo.resetInsteadOfAnswer = 3 + i % 7
        case 1: fo.unanswered = 3 + i % 7
        case 2: fo.sendFailProbability = 0.7
        case 3: fo.noiseURCProbability = 0.5; fo.fragmentWrites = true
        default: break  // unplug
        }
        guard let sim = try? VirtualModule(options: fo) else { faultErrors["sim", default: 0] += 1; return }
        sim.start()
        defer { sim.stop() }
        do {
            let m = try rec.call("open", budgetMs: Limits.openMs) { try Modem.open(path: sim.slavePath) }
            defer { rec.call0("close", budgetMs: Limits.closeModemMs) { m.close() } }
            _ = try rec.call("activatePDP", budgetMs: 10_000) { try m.activatePDP(PDPConfig(apn: "CMNET"), timeoutMs: 10_000) }
            let s = try rec.call("openSSL", budgetMs: Limits.openSSLBudgetMs) {
                try m.openSSL(host: "127.0.0.1", port: servers.tls.port, timeoutS: Limits.openSocketS)
            }
            if k % 5 == 4 { sim.stop() }
            _ = try rec.call("send", budgetMs: 5000) { try m.send(socket: s, payload, timeoutMs: 5000) }
            _ = try rec.call("recv", budgetMs: 3000) { try m.recv(socket: s, maxCount: 4096, timeoutMs: 3000) }
            _ = try rec.call("closeSocket", budgetMs: Limits.closeSocketMs) { try m.closeSocket(s, timeoutMs: Limits.closeSocketMs) }
        } catch {
            faultErrors[errName(error), default: 0] += 1
        }
    }

    // Warm up (lazy allocations, first-use caches), then measure.
    let warm = min(20, plan.cycles / 5)
    var k = 0
    for i in 0..<(plan.cycles + warm) {
        if i == warm {
            row.before = Census.settle(to: Census(fds: 0, threads: 0), ms: 300)
            row.notes.append("rss before: \(rssBytes() / 1024) KiB")
        }
        if i % 5 == 4 {
            faultCycle(k, i)
            k += 1
        } else {
            do { try cleanCycle() } catch { cleanFailures[errName(error), default: 0] += 1 }
        }
    }
    let rssBefore = Int(row.notes[0].split(separator: " ")[2]) ?? 0
    row.after = Census.settle(to: row.before, ms: 10_000)
    let rssAfter = rssBytes() / 1024
    row.notes.append("rss after: \(rssAfter) KiB (\(rssAfter - rssBefore >= 0 ? "+" : "")\(rssAfter - rssBefore) KiB)")
    row.notes.append("fault cycles ended with: " + faultErrors.sorted { $0.key < $1.key }.map { "\($0.key)x\($0.value)" }.joined(separator: " "))
    row.notes.append("calls: " + rec.errorSummary)
    row.notes.append("worst call: " + rec.worstCall)
    row.usable = cleanFailures.isEmpty ? "yes" : "no"
    if !cleanFailures.isEmpty {
        row.failures.append("fault-free cycles failed: " + cleanFailures.map { "\($0.key)x\($0.value)" }.joined(separator: " "))
    }
    for o in rec.overrunList.prefix(10) { row.failures.append("overrun: " + o) }
    if row.after.fds > row.before.fds { row.failures.append("fd leak: \(row.before.fds) -> \(row.after.fds)") }
    if row.after.threads > row.before.threads { row.failures.append("thread leak: \(row.before.threads) -> \(row.after.threads); threads now: \(describeThreads())") }
    // Allowance: 4 KiB per cycle (malloc arenas, NIO's per-thread caches); a leaking cycle holds far more.
    let allowance = 4 * plan.cycles + 8 * 1024
    if rssAfter - rssBefore > allowance {
        row.failures.append("memory: RSS grew \(rssAfter - rssBefore) KiB over \(plan.cycles) cycles (allowance \(allowance) KiB)")
    }
    return row
}
