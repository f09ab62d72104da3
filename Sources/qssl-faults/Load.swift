import Foundation
import QSSL
import QSSLCore
import QSSLSim

/// Limits given to every API call of the matrix (each call is timed against its own).
enum Limits {
    static let openMs = 5000          // ModemOptions.startTimeoutMs (default)
    static let pdpMs = 30_000
    static let openSocketS = 30       // openSSL / openTCP timeoutS
    static let sendMs = 10_000
    static let recvMs = 5_000
    static let closeSocketMs = 10_000
    static let closeModemMs = 6_000   // close(): best effort, 1 s per socket still open
    /// openSSL waits timeoutS + 5 s for the module's result (documented), after a context query.
    static var openSSLBudgetMs: Int { openSocketS * 1000 + 5000 }
}

/// --keep-logs: leave the sim's byte logs in the temp dir (their paths are printed under each row).
nonisolated(unsafe) var keepLogs = false

/// A virtual module with a Modem on it, and the servers the sockets talk to.
final class Rig: @unchecked Sendable {
    let sim: VirtualModule
    var modem: Modem
    let logPath: String
    let rec: CallRecorder
    let trace = TraceCounter()
    let options: SimOptions

    init(_ configure: (inout SimOptions) -> Void, seed: UInt64, rec: CallRecorder, modemOptions: ModemOptions = ModemOptions()) throws {
        var o = SimOptions()
        o.escapeGuardSeconds = 0.3
        o.seed = seed
        logPath = NSTemporaryDirectory() + "qssl-faults-\(getpid())-\(UUID().uuidString).log"
        o.logPath = logPath
        configure(&o)
        options = o
        self.rec = rec
        let sim = try VirtualModule(options: o)
        self.sim = sim
        sim.start()
        let path = sim.slavePath
        do {
            modem = try rec.call("open", budgetMs: modemOptions.startTimeoutMs) {
                try Modem.open(path: path, options: modemOptions)
            }
        } catch {
            sim.stop()
            try? FileManager.default.removeItem(atPath: o.logPath!)
            throw error
        }
        modem.setTrace { [trace] d, s in trace.add(d, s) }
    }

    func bringUp() throws {
        _ = try rec.call("activatePDP", budgetMs: Limits.pdpMs) { try modem.activatePDP(PDPConfig(apn: "CMNET"), timeoutMs: Limits.pdpMs) }
    }

    func openSSL(port: Int) throws -> Int {
        try rec.call("openSSL", budgetMs: Limits.openSSLBudgetMs) {
            try modem.openSSL(host: "127.0.0.1", port: port, timeoutS: Limits.openSocketS)
        }
    }

    func openTCP(port: Int) throws -> Int {
        try rec.call("openTCP", budgetMs: Limits.openSocketS * 1000) {
            try modem.openTCP(host: "127.0.0.1", port: port, timeoutS: Limits.openSocketS)
        }
    }

    func closeSocket(_ s: Int) {
        _ = try? rec.call("closeSocket", budgetMs: Limits.closeSocketMs) { try modem.closeSocket(s, timeoutMs: Limits.closeSocketMs) }
    }

    func closeModem() {
        rec.call0("close", budgetMs: Limits.closeModemMs) { modem.close() }
    }

    /// Events queued so far (taken off the queue).
    func drainEvents() -> [ModemEvent] {
        var out: [ModemEvent] = []
        while let e = modem.events.pop() { out.append(e) }
        return out
    }

    /// Tears down; `keepLog` (or --keep-logs) leaves the sim's byte log for a look.
    func stop(keepLog: Bool = false) {
        closeModem()
        sim.stop()
        if !keepLogs && !keepLog { try? FileManager.default.removeItem(atPath: logPath) }
    }
}

extension CallRecorder {
    func call0(_ name: String, budgetMs: Int, _ body: () -> Void) {
        _ = try? call(name, budgetMs: budgetMs) { body() }
    }
}

/// Bytes received so far by all workers of a load, to trigger time-based faults at a point of the transfer.
final class Progress: @unchecked Sendable {
    private let cond = NSCondition()
    private var total = 0
    func add(_ n: Int) { cond.lock(); total += n; cond.broadcast(); cond.unlock() }
    var value: Int { cond.lock(); defer { cond.unlock() }; return total }
    /// Waits until `n` bytes went through (true) or the deadline passed.
    func wait(atLeast n: Int, timeoutS: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeoutS)
        cond.lock()
        defer { cond.unlock() }
        while total < n { if !cond.wait(until: deadline) { return total >= n } }
        return true
    }
}

/// One socket's echo stream under load.
final class SocketStream: @unchecked Sendable {
    let socket: Int
    let kind: String
    let data: [UInt8]
    var sent = 0
    var received: [UInt8] = []
    var endError: String? = nil
    var endOfStream = false
    var stalled = false
    var timeouts = 0
    init(socket: Int, kind: String, data: [UInt8]) {
        self.socket = socket
        self.kind = kind
        self.data = data
    }
}

/// Echoes every stream on its own thread: send a piece, read its echo back, until all went, an error other
/// than .timedOut ends the socket (then what is buffered is read until the error), or `deadlineS`.
/// A stream that receives nothing for `stallS` seconds while echo is owed is stalled (a failure).
func runLoad(_ rig: Rig, streams: [SocketStream], piece: Int, deadlineS: Double, stallS: Double, progress: Progress) -> Bool {
    let group = DispatchGroup()
    let m = rig.modem
    let rec = rig.rec
    let end = Date().addingTimeInterval(deadlineS)
    for st in streams {
        group.enter()
        let t = Thread {
            defer { group.leave() }
            var failed = false
            var lastByte = Date()
            outer: while st.sent < st.data.count {
                if Date() > end { st.stalled = true; break }
                let n = min(piece, st.data.count - st.sent)
                do {
                    let k = try rec.call("send", budgetMs: Limits.sendMs) {
                        try st.data[st.sent..<(st.sent + n)].withUnsafeBytes { p in
                            try m.send(socket: st.socket, p, timeoutMs: Limits.sendMs)
                        }
                    }
                    st.sent += k
                    lastByte = Date()
                } catch let e as QsslError where e == .timedOut {
                    st.timeouts += 1
                    if Date().timeIntervalSince(lastByte) > stallS { st.stalled = true; failed = true; break }
                    continue
                } catch {
                    st.endError = "send" + errName(error)
                    failed = true
                    break
                }
                while st.received.count < st.sent {
                    if Date() > end || Date().timeIntervalSince(lastByte) > stallS { st.stalled = true; failed = true; break outer }
                    do {
                        let chunk = try rec.call("recv", budgetMs: Limits.recvMs) {
                            try m.recv(socket: st.socket, maxCount: 65536, timeoutMs: Limits.recvMs)
                        }
                        if chunk.isEmpty { st.endOfStream = true; break outer }
                        st.received += chunk
                        lastByte = Date()
                        progress.add(chunk.count)
                    } catch let e as QsslError where e == .timedOut {
                        st.timeouts += 1
                    } catch {
                        st.endError = "recv" + errName(error)
                        break outer
                    }
                }
            }
            // After a failed send (or a stall), the bytes already buffered for this socket still belong to the user.
            if failed {
                let drainEnd = Date().addingTimeInterval(20)
                while Date() < drainEnd {
                    do {
                        let chunk = try rec.call("recv", budgetMs: 2000) {
                            try m.recv(socket: st.socket, maxCount: 65536, timeoutMs: 2000)
                        }
                        if chunk.isEmpty { st.endOfStream = true; break }
                        st.received += chunk
                        progress.add(chunk.count)
                    } catch {
                        if (error as? QsslError) != .timedOut { st.endError = (st.endError.map { $0 + ", " } ?? "") + "recv" + errName(error) }
                        break
                    }
                }
            }
        }
        t.stackSize = 1 << 20
        t.start()
    }
    return group.wait(timeout: .now() + deadlineS + 30) == .success
}

/// A fresh round on a modem: PDP up if needed, one SSL and one TCP socket echo `size` bytes, closed.
func freshRound(_ rig: Rig, tlsPort: Int, tcpPort: Int, size: Int, notes: inout [String]) throws {
    let m = rig.modem
    if !m.isPDPActive {
        do {
            try rig.bringUp()
        } catch let e as QsslError where e == .modem {
            // After +PDP DEACT the M66 refuses AT+QIREGAPP until AT+QIDEACT (the note's recovery).
            notes.append("activatePDP after the PDP loss: \(errName(e)) (\(m.lastError.text)); deactivatePDP, then again")
            _ = try rig.rec.call("deactivatePDP", budgetMs: 40_000) { try m.deactivatePDP() }
            try rig.bringUp()
        }
    }
    let s1 = try rig.openSSL(port: tlsPort)
    let s2 = try rig.openTCP(port: tcpPort)
    for (s, seed) in [(s1, UInt64(901)), (s2, UInt64(902))] {
        let data = streamBytes(size, seed: seed)
        var back: [UInt8] = []
        var off = 0
        while off < data.count {
            let n = min(1460, data.count - off)
            let k = try rig.rec.call("send", budgetMs: Limits.sendMs) {
                try m.send(socket: s, Array(data[off..<(off + n)]), timeoutMs: Limits.sendMs)
            }
            off += k
            let deadline = Date().addingTimeInterval(30)
            while back.count < off {
                if Date() > deadline { throw FaultsError("fresh round: socket \(s) echo stalled at \(back.count) of \(off)") }
                do {
                    let c = try rig.rec.call("recv", budgetMs: Limits.recvMs) {
                        try m.recv(socket: s, maxCount: 65536, timeoutMs: Limits.recvMs)
                    }
                    if c.isEmpty { throw FaultsError("fresh round: socket \(s) end of stream") }
                    back += c
                } catch let e as QsslError where e == .timedOut {}
            }
        }
        if back != data { throw FaultsError("fresh round: socket \(s) echo differs") }
    }
    _ = try rig.rec.call("closeSocket", budgetMs: Limits.closeSocketMs) { try m.closeSocket(s1, timeoutMs: Limits.closeSocketMs) }
    _ = try rig.rec.call("closeSocket", budgetMs: Limits.closeSocketMs) { try m.closeSocket(s2, timeoutMs: Limits.closeSocketMs) }
}
