// qssl-faults: a fault matrix under load. One modem on qssl-sim echoes a pseudo-random stream on 3 SSL sockets and
// 1 TCP socket while each fault is injected with the sim's knobs; every API call is timed against its own limit,
// the bytes the user got are compared with the bytes the module delivered (the sim's byte log), the modem must be
// usable (or reopen) afterwards, and fds / threads / RSS must not grow.
//
//   swift run qssl-faults            full run (bigger streams, 1000 open/close cycles)
//   swift run qssl-faults --short    quick run for CI (scripts/test.sh)
//   swift run qssl-faults --only NAME[,NAME]   rows whose name contains NAME (the baseline always runs first)
//   --keep-logs                      keep the sim's byte logs (paths printed under each row)
//   --seed N                         seed of the streams and of the sim's random choices
//
// Prints one row per fault, the reasons of every failure, and "N passed, M failed"; exits 1 on any failure.

import Foundation
import QSSL
import QSSLCore
import QSSLSim

signal(SIGPIPE, SIG_IGN)

let args = Array(CommandLine.arguments.dropFirst())
let short = args.contains("--short")
func option(_ name: String) -> String? {
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    return args[i + 1]
}
let seed = option("--seed").flatMap { UInt64($0) } ?? 20_250_101
keepLogs = args.contains("--keep-logs")
let only = option("--only").map { $0.split(separator: ",").map { $0.lowercased() } }
if args.contains("-h") || args.contains("--help") {
    print("usage: qssl-faults [--short] [--only NAME[,NAME...]] [--seed N] [--keep-logs]")
    exit(0)
}

let plan = short
    ? Plan(bytesPerSocket: 16 * 1024, piece: 4096, slowBytesPerSocket: 768, stormBytesPerSocket: 8 * 1024, freshBytes: 2048,
           cycles: 100, loadDeadlineS: 90, stallS: 25)
    : Plan(bytesPerSocket: 192 * 1024, piece: 8192, slowBytesPerSocket: 3 * 1024, stormBytesPerSocket: 96 * 1024, freshBytes: 8192,
           cycles: 1000, loadDeadlineS: 240, stallS: 40)

let started = nowMs()
let servers: Servers
do {
    let certs = try Certs.make()
    servers = Servers(certs: certs,
                      tls: try TestTLSServer(certificatePath: certs.path("server.pem"), keyPath: certs.path("server.key")),
                      tcp: try TestTLSServer(plainTCPMode: .echo))
} catch {
    print("qssl-faults: setup failed: \(error)")
    exit(1)
}

print("qssl-faults \(short ? "--short" : "(full)"): \(plan.bytesPerSocket / 1024) KiB echoed per socket (3 SSL + 1 TCP), "
      + "\(plan.cycles) open/close cycles, seed \(seed)")

var calibration = Calibration()
var rows: [Row] = []

func wanted(_ name: String) -> Bool {
    guard let only else { return true }
    return only.contains { name.lowercased().contains($0) }
}

func hasAny(_ r: Rig, _ events: [ModemEvent], _ e: ModemEvent, orError err: String) -> Bool {
    events.contains(e) || r.rec.anyError.contains(err)
}

@MainActor func report(_ row: Row) {
    rows.append(row)
    print("  \(row.passed ? "pass" : "FAIL")  \(row.name)  (\(String(format: "%.0f", (nowMs() - started) / 1000)) s elapsed)")
    fflush(nil)
}

// 1. Baseline: no fault; also measures where the faults should land.
report(runScenario(Scenario(name: "none (baseline)"), plan: plan, servers: servers, seed: seed,
                   calibration: &calibration, calibrate: true))
let c = calibration
/// The AT command a third of the way into the load.
let midCommand = c.commandsBeforeLoad + max(8, c.loadCommands / 3)

var scenarios: [Scenario] = []
scenarios.append(Scenario(
    name: "module reset (RDY)", configure: { $0.resetAfterCommands = midCommand }, expect: .ended,
    fired: { r, ev, _ in hasAny(r, ev, .moduleReset, orError: ".reset") ? nil : "no .moduleReset event, no .reset error" },
    faultCommand: midCommand))
scenarios.append(Scenario(
    name: "reset instead of answer", configure: { $0.resetInsteadOfAnswer = midCommand }, expect: .ended,
    fired: { r, ev, _ in hasAny(r, ev, .moduleReset, orError: ".reset") ? nil : "no .moduleReset event, no .reset error" },
    faultCommand: midCommand))
scenarios.append(Scenario(
    name: "+PDP DEACT", configure: { $0.pdpDeactAfterSeconds = c.secondsFromPDPToLoad + c.loadSeconds * 0.35 }, expect: .ended,
    fired: { r, ev, _ in hasAny(r, ev, .pdpDeactivated, orError: ".pdpDeactivated") ? nil : "no .pdpDeactivated" }))
scenarios.append(Scenario(
    name: "peer close, data buffered",
    inject: { ctx in
        _ = ctx.progress.wait(atLeast: ctx.totalBytes / 3, timeoutS: 60)
        ctx.tcpServer.stop()
    },
    fired: { _, _, st in
        let tcp = st.first { $0.kind == "tcp" }!
        return tcp.received.count < tcp.data.count ? nil : "the TCP stream completed before its server closed"
    }, peerClose: true))
scenarios.append(Scenario(
    name: "SEND FAIL storm (p=0.8)", configure: { $0.sendFailProbability = 0.8 }, bytesPerSocket: plan.stormBytesPerSocket,
    fired: { r, _, _ in r.trace.sendFailCount > 0 ? nil : "no SEND FAIL answered" }))
scenarios.append(Scenario(
    name: "slow module (9600 baud)", configure: { $0.baud = 9600 },
    bytesPerSocket: plan.slowBytesPerSocket, piece: 512))
scenarios.append(Scenario(
    name: "noise URCs + fragments", configure: { $0.noiseURCProbability = 0.5; $0.fragmentWrites = true }))
scenarios.append(Scenario(
    name: "command never answered", configure: { $0.unanswered = midCommand },
    faultCommand: midCommand))
scenarios.append(Scenario(
    name: "unplug (sim stopped)", expect: .ended,
    inject: { ctx in
        _ = ctx.progress.wait(atLeast: ctx.totalBytes / 3, timeoutS: 60)
        ctx.rig.sim.stop()
    },
    fired: { r, ev, _ in hasAny(r, ev, .deviceGone, orError: ".noDevice") ? nil : "no .deviceGone / .noDevice" },
    unplug: true))

for (i, sc) in scenarios.enumerated() where wanted(sc.name) {
    report(runScenario(sc, plan: plan, servers: servers, seed: seed &+ UInt64(i + 1) * 100, calibration: &calibration))
}
if wanted("fd limit") { report(runFDLimit(plan: plan, servers: servers, seed: seed &+ 5000)) }
if wanted("open/close") { report(runCycles(plan: plan, servers: servers, seed: seed &+ 6000)) }
servers.tls.stop()
servers.tcp.stop()

// The matrix.
func pad(_ s: String, _ n: Int, right: Bool = false) -> String {
    if s.count >= n { return s }
    let p = String(repeating: " ", count: n - s.count)
    return right ? p + s : s + p
}
let header = [("fault", 28), ("calls", 7), ("overrun ms", 11), ("delivered B", 12), ("handed B", 10), ("lost B", 7),
              ("usable after", 13), ("fds", 10), ("threads", 9), ("verdict", 7)]
print("")
print(header.map { pad($0.0, $0.1, right: $0.0 != "fault" && $0.0 != "usable after") }.joined(separator: " "))
for r in rows {
    let cells = [
        pad(r.name, 28), pad("\(r.calls)", 7, right: true), pad(String(format: "%.0f", r.worstOverrunMs), 11, right: true),
        pad("\(r.delivered)", 12, right: true), pad("\(r.handed)", 10, right: true), pad("\(r.lost)", 7, right: true),
        pad(r.usable, 13), pad("\(r.before.fds)->\(r.after.fds)", 10, right: true),
        pad("\(r.before.threads)->\(r.after.threads)", 9, right: true), pad(r.passed ? "pass" : "FAIL", 7, right: true),
    ]
    print(cells.joined(separator: " "))
}
print("(overrun: worst time past a call's own timeout, 0 if every call returned in time; a failure above 1000 ms)")
print("")
for r in rows {
    print("\(r.name):")
    for f in r.failures { print("  FAIL: \(f)") }
    for n in r.notes { print("  \(n)") }
}
let failed = rows.filter { !$0.passed }.count
print(String(format: "\nduration %.0f s", (nowMs() - started) / 1000))
print("\(rows.count - failed) passed, \(failed) failed")
exit(failed == 0 ? 0 : 1)
