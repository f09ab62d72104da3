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
    func add(_ dir: TraceDirection, _ s: String) {
        lock.lock()
        defer { lock.unlock() }
        if dir == .toModule { sent.append(s) } else if s == "SEND FAIL" || s == "SEND OK" { finals[s, default: 0] += 1 }
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

/// Deterministic pseudo-random bytes (all 256 values, CR/LF/`+`/Ctrl-Z included).
func modemTestBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var s = seed &+ 0x9E37_79B9_7F4A_7C15
    var out = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
        s = s &* 6364136223846793005 &+ 1442695040888963407
        out[i] = UInt8(truncatingIfNeeded: s >> 56)
    }
    return out
}

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
