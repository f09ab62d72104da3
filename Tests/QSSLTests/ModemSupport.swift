import CPosix
import Foundation
import QSSL
import QSSLCore
import QSSLSim
import Testing

/// Test certificates made once per test process by scripts/make-test-certs.sh (openssl) in a fresh temp dir.
struct ModemTestCerts: Sendable {
    let dir: String
    func path(_ name: String) -> String { dir + "/" + name }
    func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(name))))
    }

    static let shared: Result<ModemTestCerts, ModemTestError> = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let script = root.appendingPathComponent("scripts/make-test-certs.sh").path
        let dir = NSTemporaryDirectory() + "qssl-modem-certs-\(getpid())-\(UUID().uuidString)"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = [script, dir]
        p.standardOutput = FileHandle.nullDevice
        do {
            try p.run()
            p.waitUntilExit()
        } catch {
            return .failure(ModemTestError("cannot run \(script): \(error)"))
        }
        if p.terminationStatus != 0 { return .failure(ModemTestError("make-test-certs.sh failed (openssl missing?)")) }
        return .success(ModemTestCerts(dir: dir))
    }()

    static func get() throws -> ModemTestCerts { try shared.get() }
}

struct ModemTestError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Collects the AT trace of a modem (what went to the module).
final class ModemTraceLog: @unchecked Sendable {
    private let lock = NSLock()
    private var sent: [String] = []
    private var finals: [String: Int] = [:]
    /// The last lines both ways, with the time since the first, for the message of a failing test.
    private var recent: [String] = []
    private let t0 = Date()
    func add(_ dir: TraceDirection, _ s: String) {
        lock.lock()
        defer { lock.unlock() }
        if dir == .toModule { sent.append(s) } else if s == "SEND FAIL" || s == "SEND OK" { finals[s, default: 0] += 1 }
        if recent.count >= 400 { recent.removeFirst(100) }
        recent.append(String(format: "%.3f ", Date().timeIntervalSince(t0)) + (dir == .toModule ? "> " : "< ") + s)
    }
    /// The last `n` trace lines, one per line.
    func tail(_ n: Int) -> String {
        lock.lock()
        defer { lock.unlock() }
        return recent.suffix(n).joined(separator: "\n")
    }
    /// How often the module answered `final` ("SEND FAIL", "SEND OK").
    func count(of final: String) -> Int {
        lock.lock()
        defer { lock.unlock() }
        return finals[final] ?? 0
    }
    var toModule: [String] {
        lock.lock()
        defer { lock.unlock() }
        return sent
    }
    var count: Int { toModule.count }
    /// Whether the module printed `line` among the last lines kept for `tail`.
    func received(_ line: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return recent.contains { $0.hasSuffix(" < " + line) }
    }
}

/// A virtual module + a Modem on its pty, torn down by `stop()`.
final class ModemRig: @unchecked Sendable {
    let sim: VirtualModule
    let modem: Modem
    let trace = ModemTraceLog()
    let logPath: String

    init(fragment: Bool = true, noise: Double = 0.1, sendFail: Double = 0, configure: (inout SimOptions) -> Void = { _ in },
         modemOptions: ModemOptions = ModemOptions()) throws {
        var o = SimOptions()
        o.fragmentWrites = fragment
        o.noiseURCProbability = noise
        o.sendFailProbability = sendFail
        o.escapeGuardSeconds = 0.3
        logPath = NSTemporaryDirectory() + "qssl-modem-sim-\(getpid())-\(UUID().uuidString).log"
        o.logPath = logPath
        configure(&o)
        sim = try VirtualModule(options: o)
        sim.start()
        do {
            modem = try Modem.open(path: sim.slavePath, options: modemOptions)
        } catch {
            sim.stop()
            throw error
        }
        modem.setTrace { [trace] d, s in trace.add(d, s) }
    }

    /// §1.2 steps 2-4 with the note's APN.
    func bringUp() throws -> String {
        try modem.activatePDP(PDPConfig(apn: "CMNET"))
    }

    func stop() {
        modem.close()
        sim.stop()
        try? FileManager.default.removeItem(atPath: logPath)
    }
}

/// Deterministic pseudo-random bytes (QSSLSim's test stream).
func modemTestBytes(_ count: Int, seed: UInt64) -> [UInt8] { simTestStream(count, seed: seed) }

/// Reads exactly `count` bytes (or up to end of stream) from a socket.
func modemReadAll(_ m: Modem, socket: Int, count: Int, timeoutMs: Int = 30_000) throws -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(count)
    let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
    while out.count < count {
        let left = Int(deadline.timeIntervalSinceNow * 1000)
        if left <= 0 { throw ModemTestError("read timed out after \(out.count) of \(count) bytes") }
        let chunk = try m.recv(socket: socket, maxCount: min(16384, count - out.count), timeoutMs: left)
        if chunk.isEmpty { break }
        out += chunk
    }
    return out
}

/// nil when `got` equals `want`; else a short account (sizes, first differing offset) for a failing test's
/// message, instead of two printed arrays of many kilobytes.
func byteDifference(_ got: [UInt8], _ want: [UInt8]) -> String? {
    if got == want { return nil }
    let n = min(got.count, want.count)
    var i = 0
    while i < n && got[i] == want[i] { i += 1 }
    return "got \(got.count) of \(want.count) bytes, the first difference at offset \(i)"
}

/// SHA-256 (FIPS 180-4), for comparing large streams in tests; hex digest.
func modemSHA256(_ data: [UInt8]) -> String {
    let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]
    var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
    var msg = data
    let bitLength = UInt64(data.count) * 8
    msg.append(0x80)
    while msg.count % 64 != 56 { msg.append(0) }
    for i in (0..<8).reversed() { msg.append(UInt8(truncatingIfNeeded: bitLength >> (UInt64(i) * 8))) }
    func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
    var w = [UInt32](repeating: 0, count: 64)
    var block = 0
    while block < msg.count {
        for t in 0..<16 {
            let i = block + t * 4
            w[t] = UInt32(msg[i]) << 24 | UInt32(msg[i + 1]) << 16 | UInt32(msg[i + 2]) << 8 | UInt32(msg[i + 3])
        }
        for t in 16..<64 {
            let s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3)
            let s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10)
            w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
        }
        var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7]
        for t in 0..<64 {
            let s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
            let ch = (e & f) ^ (~e & g)
            let t1 = hh &+ s1 &+ ch &+ k[t] &+ w[t]
            let s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
            let maj = (a & b) ^ (a & c) ^ (b & c)
            let t2 = s0 &+ maj
            hh = g; g = f; f = e; e = d &+ t1; d = c; c = b; b = a; a = t1 &+ t2
        }
        h[0] &+= a; h[1] &+= b; h[2] &+= c; h[3] &+= d; h[4] &+= e; h[5] &+= f; h[6] &+= g; h[7] &+= hh
        block += 64
    }
    return h.map { String(format: "%08x", $0) }.joined()
}

@Test func modemSHA256KnownVectors() {
    #expect(modemSHA256(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(modemSHA256([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    #expect(modemSHA256(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
}
