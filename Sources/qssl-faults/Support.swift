import Foundation
import QSSL
import QSSLCore
import QSSLSim

// MARK: process probes

/// Open descriptors of this process (/proc/self/fd, minus the directory's own).
func openFDCount() -> Int {
    guard let d = opendir("/proc/self/fd") else { return -1 }
    var n = 0
    while let e = readdir(d) {
        let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        if name != "." && name != ".." { n += 1 }
    }
    closedir(d)
    return n - 1
}

/// Threads of this process (/proc/self/task).
func threadCount() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? -1
}

/// Names of this process's threads (/proc/self/task/*/comm), counted: for telling which thread stayed.
func threadNames() -> [String: Int] {
    var out: [String: Int] = [:]
    for t in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? [] {
        let name = (try? String(contentsOfFile: "/proc/self/task/\(t)/comm", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        out[name, default: 0] += 1
    }
    return out
}

func describeThreads() -> String {
    threadNames().sorted { $0.key < $1.key }.map { "\($0.key)x\($0.value)" }.joined(separator: " ")
}

/// Resident set size in bytes (/proc/self/statm).
func rssBytes() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return -1 }
    let f = s.split(separator: " ")
    guard f.count > 1, let pages = Int(f[1]) else { return -1 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// Open fds and threads now, and (after a teardown) waits up to `ms` for both to come back to `target`.
struct Census: CustomStringConvertible {
    var fds: Int
    var threads: Int
    static func now() -> Census { Census(fds: openFDCount(), threads: threadCount()) }
    static func settle(to target: Census, ms: Int) -> Census {
        let deadline = Date().addingTimeInterval(Double(ms) / 1000)
        var c = now()
        while (c.fds > target.fds || c.threads > target.threads) && Date() < deadline {
            waitBriefly(0.02)
            c = now()
        }
        return c
    }
    var description: String { "\(fds)/\(threads)" }
}

/// A pause inside a wait-for-condition loop (never an assertion by itself).
func waitBriefly(_ s: Double) { usleep(UInt32(s * 1_000_000)) }

/// Monotonic milliseconds.
func nowMs() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) * 1000 + Double(ts.tv_nsec) / 1e6
}

// MARK: errors

func errName(_ e: Error) -> String {
    guard let q = e as? QsslError else { return "\(e)" }
    let names: [Int32: String] = [
        -1: "invalidArgument", -2: "timedOut", -3: "io", -4: "busy", -5: "closed", -6: "modem", -7: "notAttached",
        -8: "noMemory", -9: "noDevice", -10: "notSupported", -11: "checksum", -12: "notRegistered", -13: "noAPN",
        -14: "contextBusy", -15: "noSocket", -16: "connectFailed", -17: "occupied", -18: "pdpDeactivated",
        -19: "reset", -20: "again", -21: "proto",
    ]
    return "." + (names[q.rawValue] ?? "\(q.rawValue)")
}

struct FaultsError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

// MARK: call recording

/// Every API call of a row: how long it took against the timeout it was given, and how it ended.
final class CallRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var calls = 0
    private(set) var worstOverrunMs: Double = -.infinity
    private(set) var worstCall = ""
    private var outcomes: [String: Int] = [:]
    private var overruns: [String] = []

    /// Runs `body` (an API call whose own limit is `budgetMs`), timing it.
    func call<T>(_ name: String, budgetMs: Int, _ body: () throws -> T) throws -> T {
        let t0 = nowMs()
        do {
            let r = try body()
            note(name, budgetMs, nowMs() - t0, nil)
            return r
        } catch {
            note(name, budgetMs, nowMs() - t0, error)
            throw error
        }
    }

    private func note(_ name: String, _ budgetMs: Int, _ elapsed: Double, _ error: Error?) {
        lock.lock()
        defer { lock.unlock() }
        calls += 1
        let over = elapsed - Double(budgetMs)
        if over > worstOverrunMs {
            worstOverrunMs = over
            worstCall = "\(name) \(Int(elapsed)) ms of \(budgetMs)"
        }
        if over > 1000 { overruns.append("\(name) took \(Int(elapsed)) ms, limit \(budgetMs) ms -> \(error.map(errName) ?? "ok")") }
        if let error { outcomes["\(name)\(errName(error))", default: 0] += 1 }
    }

    var errorSummary: String {
        lock.lock()
        defer { lock.unlock() }
        return outcomes.sorted { $0.key < $1.key }.map { "\($0.key)x\($0.value)" }.joined(separator: " ")
    }
    var overrunList: [String] { lock.withLock { overruns } }
    func count(_ key: String) -> Int { lock.withLock { outcomes[key] ?? 0 } }
    var anyError: Set<String> { lock.withLock { Set(outcomes.keys.map { String($0.drop(while: { $0 != "." })) }) } }
}

/// Lines the library traced: AT commands it sent, SEND FAIL answers.
final class TraceCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var commands = 0
    private var sendFails = 0
    func add(_ d: TraceDirection, _ s: String) {
        lock.lock()
        defer { lock.unlock() }
        if d == .toModule {
            if s.hasPrefix("AT") || s.hasPrefix("at") {
                commands += 1
                if texts.count < 100_000 { texts.append(s) }
            }
        } else if s == "SEND FAIL" { sendFails += 1 }
    }
    private var texts: [String] = []
    /// The nth AT command the library sent (1-based), if recorded.
    func command(_ n: Int) -> String? { lock.withLock { n >= 1 && n <= texts.count ? texts[n - 1] : nil } }
    var atCommands: Int { lock.withLock { commands } }
    var sendFailCount: Int { lock.withLock { sendFails } }
}

// MARK: data

/// Deterministic pseudo-random bytes (QSSLSim's test stream).
func streamBytes(_ count: Int, seed: UInt64) -> [UInt8] { simTestStream(count, seed: seed) }

/// Length of the common prefix of two byte arrays.
func commonPrefix(_ a: [UInt8], _ b: [UInt8]) -> Int {
    let n = min(a.count, b.count)
    var i = 0
    while i < n && a[i] == b[i] { i += 1 }
    return i
}

// MARK: certificates

/// Test certificates made by scripts/make-test-certs.sh in a fresh temp dir.
struct Certs {
    let dir: String
    func path(_ name: String) -> String { dir + "/" + name }

    static func make() throws -> Certs {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let script = root.appendingPathComponent("scripts/make-test-certs.sh").path
        let dir = NSTemporaryDirectory() + "qssl-faults-certs-\(getpid())"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = [script, dir]
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        if p.terminationStatus != 0 { throw FaultsError("\(script) failed (openssl missing?)") }
        return Certs(dir: dir)
    }
}

// MARK: the sim's byte log

/// What the virtual module delivered per socket, read back from its byte log (SimOptions.logPath): every
/// `+QSSLRECV:` / `+QIRD:` answer whose payload and final OK were written to the host, attributed to the socket
/// of the read command the host sent before it (one command is in flight at a time).
struct DeliveredBytes {
    var bySocket: [Int: [UInt8]] = [:]
    /// Payload bytes of an answer the log holds only in part (written when the module stopped).
    var incomplete: [Int: Int] = [:]

    static func parse(logPath: String, from start: UInt64, to end: UInt64) throws -> DeliveredBytes {
        var result = DeliveredBytes()
        var host: [UInt8] = []
        var slot = -1
        var parser = ReadAnswerParser()
        for e in try SimByteLog.read(path: logPath, from: start, to: end) {
            if e.fromHost {
                host += e.bytes
                while let cr = host.firstIndex(of: 0x0D) {
                    if let s = readCommandSlot(host[..<cr]) { slot = s }
                    host.removeFirst(cr + 1)
                }
                if host.count > 4096 { host.removeFirst(host.count - 64) }
            } else {
                for (s, payload) in parser.feed(e.bytes, slot: slot) { result.bySocket[s, default: []] += payload }
            }
        }
        // The last answer may still lack its OK when the segment ends (at 9600 baud the user can hold its payload
        // while "\r\nOK\r\n" is on the line): its payload bytes were written to the host all the same.
        if let (s, payload) = parser.pending {
            result.incomplete[s] = payload.count
            result.bySocket[s, default: []] += payload
        }
        return result
    }

    /// The socket of "AT+QSSLRECV=<cid>,<slot>,<len>" or "AT+QIRD=<cid>,<sc>,<slot>,<len>".
    private static func readCommandSlot(_ line: ArraySlice<UInt8>) -> Int? {
        let text = String(decoding: line, as: UTF8.self)
        for (prefix, field) in [("AT+QSSLRECV=", 1), ("AT+QIRD=", 2)] {
            guard let r = text.range(of: prefix, options: .backwards) else { continue }
            let args = text[r.upperBound...].split(separator: ",")
            if args.count > field, let v = Int(args[field]) { return v }
        }
        return nil
    }
}

/// Finds read answers in the module's output: "+QSSLRECV: <peer>,TCP,<n>\r\n<n bytes>\r\nOK\r\n".
struct ReadAnswerParser {
    private var buf: [UInt8] = []
    private var want = 0           // payload bytes still to collect
    private var payload: [UInt8] = []
    private var slot = -1
    private var trailer = false    // collecting "\r\nOK\r\n"
    private static let headers = [Array("+QSSLRECV: ".utf8), Array("+QIRD: ".utf8)]
    private static let ok = Array("\r\nOK\r\n".utf8)

    var pending: (Int, [UInt8])? { want > 0 || trailer ? (slot, payload) : nil }

    mutating func feed(_ bytes: [UInt8], slot current: Int) -> [(Int, [UInt8])] {
        var done: [(Int, [UInt8])] = []
        var i = 0
        while i < bytes.count {
            if want > 0 {
                let n = min(want, bytes.count - i)
                payload += bytes[i..<(i + n)]
                want -= n
                i += n
                if want == 0 { trailer = true; buf = [] }
                continue
            }
            buf.append(bytes[i])
            i += 1
            if trailer {
                if buf.count == Self.ok.count {
                    if buf == Self.ok { done.append((slot, payload)) }
                    trailer = false
                    payload = []
                    buf = []
                }
                continue
            }
            // Header: "<name>: ...,<n>\r\n".
            if buf.last == 0x0A {
                for h in Self.headers where buf.count > h.count {
                    guard let start = find(h, in: buf) else { continue }
                    let fields = String(decoding: buf[(start + h.count)...], as: UTF8.self)
                        .trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",")
                    if let n = fields.last.flatMap({ Int($0) }), n > 0 {
                        want = n
                        slot = current
                        payload = []
                    }
                }
                buf = []
            } else if buf.count > 256 {
                buf.removeFirst(128)
            }
        }
        return done
    }

    private func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        for s in 0...(hay.count - needle.count) where hay[s] == needle[0] && Array(hay[s..<(s + needle.count)]) == needle {
            return s
        }
        return nil
    }
}

/// Every AT command the host wrote, in order, from the sim's byte log (the sim counts these for its knobs).
func simCommands(logPath: String) -> [String] {
    guard let host = try? SimByteLog.hostBytes(path: logPath) else { return [] }
    var out: [String] = []
    for line in host.split(separator: 0x0D, omittingEmptySubsequences: false).dropLast() {
        // A command written right after a send's payload follows the payload's last bytes on the same line:
        // the command is the first "AT" in the printable text that ends the line.
        let text = line[(line.lastIndex { !(0x20...0x7E).contains($0) }.map { $0 + 1 } ?? line.startIndex)...]
        if let a = text.indices.first(where: { text[$0...].starts(with: [0x41, 0x54]) }) {
            out.append(String(decoding: text[a...], as: UTF8.self))
        }
    }
    return out
}

func fileSize(_ path: String) -> UInt64 {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.uint64Value ?? 0
}
