import Foundation
import Glibc
import QSSLSim
import Testing

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// The repository root (this file is Tests/QSSLSimTests/Support.swift).
let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// A fresh temporary directory.
func makeTempDir(_ tag: String) throws -> String {
    let path = NSTemporaryDirectory() + "qssl-sim-\(tag)-\(getpid())-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Certificates made by scripts/make-test-certs.sh, once per test process.
struct TestCerts: Sendable {
    let dir: String
    func path(_ name: String) -> String { dir + "/" + name }
    func bytes(_ name: String) throws -> [UInt8] {
        guard let d = FileManager.default.contents(atPath: path(name)) else { throw TestFailure("missing \(name)") }
        return [UInt8](d)
    }

    static let shared: Result<TestCerts, TestFailure> = {
        do {
            let dir = try makeTempDir("certs")
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = [repoRoot.appendingPathComponent("scripts/make-test-certs.sh").path, dir]
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else {
                return .failure(TestFailure("make-test-certs.sh failed (status \(p.terminationStatus)); is openssl installed?"))
            }
            return .success(TestCerts(dir: dir))
        } catch {
            return .failure(TestFailure("cannot run make-test-certs.sh: \(error)"))
        }
    }()

    static func get() throws -> TestCerts { try shared.get() }
}

/// What the module sent, split the way a host sees it.
enum Token: Equatable {
    case line(String)
    case prompt
}

/// The host end: the pty slave in raw mode, with a small tokenizer for the module's output.
final class Port {
    let fd: Int32
    var buf: [UInt8] = []
    /// URC lines skipped by `response` / `waitURC`.
    var urcs: [String] = []

    init(_ path: String) throws {
        fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK)
        guard fd >= 0 else { throw TestFailure("open \(path): errno \(errno)") }
        var t = termios()
        tcgetattr(fd, &t)
        cfmakeraw(&t)
        tcsetattr(fd, TCSANOW, &t)
    }

    deinit { close(fd) }

    func write(_ bytes: [UInt8]) throws {
        var off = 0
        let deadline = Date().addingTimeInterval(20)
        while off < bytes.count {
            let r = bytes[off...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if r > 0 { off += r; continue }
            if Date() > deadline { throw TestFailure("write timed out") }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&p, 1, 50)
        }
    }

    func write(_ s: String) throws { try write(Array(s.utf8)) }

    /// Reads whatever arrives within `timeout` seconds into the buffer; false if nothing came.
    @discardableResult
    func fill(timeout: Double) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, Int32(max(1, timeout * 1000))) > 0 else { return false }
        var tmp = [UInt8](repeating: 0, count: 65536)
        let n = tmp.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n > 0 { buf.append(contentsOf: tmp[0..<n]); return true }
        return false
    }

    /// Waits until the buffer holds `count` bytes.
    func need(_ count: Int, timeout: Double) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while buf.count < count {
            if Date() > deadline {
                throw TestFailure("timeout waiting for \(count) bytes; have \(String(decoding: buf, as: UTF8.self).debugDescription)")
            }
            fill(timeout: 0.05)
        }
    }

    /// Next line (CR LF framing removed) or the "> " prompt.
    func token(timeout: Double = 10) throws -> Token {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            var skip = 0
            while skip < buf.count, buf[skip] == 0x0D || buf[skip] == 0x0A { skip += 1 }
            if skip > 0 { buf.removeFirst(skip) }
            if buf.count >= 2 && buf[0] == 0x3E && buf[1] == 0x20 {
                buf.removeFirst(2)
                return .prompt
            }
            // "<line>\r\n", or an echoed command: "<command>\r" followed by the response's "\r\n".
            if let i = buf.firstIndex(of: 0x0D), i + 1 < buf.count, buf[i + 1] == 0x0A || buf[i + 1] == 0x0D {
                let l = String(decoding: buf[0..<i], as: UTF8.self)
                buf.removeFirst(buf[i + 1] == 0x0A ? i + 2 : i + 1)
                return .line(l)
            }
            if Date() > deadline {
                throw TestFailure("timeout; pending \(String(decoding: buf, as: UTF8.self).debugDescription)")
            }
            fill(timeout: 0.05)
        }
    }

    static func isURC(_ l: String) -> Bool {
        // "+CREG: 1" is a URC, "+CREG: 0,1" answers AT+CREG?.
        if l.hasPrefix("+CREG:") || l.hasPrefix("+CGREG:") { return !l.contains(",") }
        return ["+QSSLURC:", "+QIRDI:", "UNDER_VOLTAGE", "+CMTI:", "+CSQN:", "+PDP DEACT", "RDY",
         "+CFUN:", "+CPIN:", "Call Ready", "SMS Ready"].contains { l.hasPrefix($0) }
            || l.hasSuffix(", CLOSED") || l.hasSuffix(", CONNECT OK") || l.hasSuffix(", CONNECT FAIL")
            || (l.hasPrefix("+QSSLOPEN:") && l.split(separator: ",").count == 2)
    }

    static let finals = ["OK", "ERROR", "SEND OK", "SEND FAIL", "DEACT OK", "ALREADY CONNECT", "CONNECT"]

    static func isFinal(_ l: String) -> Bool {
        finals.contains(l) || l.hasPrefix("+CME ERROR") || l.hasSuffix(", CLOSE OK")
    }

    /// Sends a command (echo must be off) and collects lines up to the final result (URCs go to `urcs`).
    @discardableResult
    func command(_ cmd: String, timeout: Double = 10) throws -> (lines: [String], final: String) {
        try write(cmd + "\r")
        return try response(timeout: timeout)
    }

    /// Information lines and the final result ("> " for the send prompt).
    func response(timeout: Double = 10) throws -> (lines: [String], final: String) {
        var lines: [String] = []
        while true {
            switch try token(timeout: timeout) {
            case .prompt: return (lines, "> ")
            case .line(let l):
                if Port.isFinal(l) { return (lines, l) }
                if Port.isURC(l) { urcs.append(l) } else { lines.append(l) }
            }
        }
    }

    /// Sends a command and requires `final` (default OK); returns the information lines.
    @discardableResult
    func ok(_ cmd: String, _ final: String = "OK", timeout: Double = 10) throws -> [String] {
        let r = try command(cmd, timeout: timeout)
        guard r.final == final else { throw TestFailure("\(cmd): expected \(final), got \(r.final) after \(r.lines)") }
        return r.lines
    }

    /// Waits for a URC line with this prefix (looking at already skipped ones first).
    func waitURC(_ prefix: String, timeout: Double = 15) throws -> String {
        if let i = urcs.firstIndex(where: { $0.hasPrefix(prefix) }) { return urcs.remove(at: i) }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard case .line(let l) = try token(timeout: max(0.01, deadline.timeIntervalSinceNow)) else {
                throw TestFailure("unexpected prompt while waiting for \(prefix)")
            }
            if l.hasPrefix(prefix) { return l }
            urcs.append(l)
        }
        throw TestFailure("no \(prefix)")
    }

    /// Fixed-length send: prompt, payload, final result.
    func send(_ cmd: String, _ slot: Int, _ data: [UInt8]) throws -> String {
        let r = try command("\(cmd)=\(slot),\(data.count)")
        guard r.final == "> " else { return r.final }
        try write(data)
        return try response().final
    }

    /// AT+QSSLRECV / AT+QIRD: returns the payload (empty when the module's buffer is empty).
    func recv(_ cmd: String, header: String, timeout: Double = 10) throws -> [UInt8] {
        try write(cmd + "\r")
        while true {
            guard case .line(let l) = try token(timeout: timeout) else { throw TestFailure("prompt after \(cmd)") }
            if l == "OK" { return [] }
            if l.hasPrefix(header) {
                guard let n = Int(l.split(separator: ",").last ?? "") else { throw TestFailure("bad header \(l)") }
                try need(n, timeout: timeout)
                let data = Array(buf[0..<n])
                buf.removeFirst(n)
                let r = try response(timeout: timeout)
                guard r.final == "OK", r.lines.isEmpty else { throw TestFailure("after payload: \(r)") }
                return data
            }
            if Port.isFinal(l) { throw TestFailure("\(cmd) -> \(l)") }
            urcs.append(l)
        }
    }

    func sslRecv(_ slot: Int, max: Int = 1500) throws -> [UInt8] {
        try recv("AT+QSSLRECV=0,\(slot),\(max)", header: "+QSSLRECV:")
    }

    /// Reads from socket `slot` until `count` bytes came (waiting for "recv" URCs in between).
    func sslRecvAll(_ slot: Int, count: Int, timeout: Double = 20) throws -> [UInt8] {
        var got: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        while got.count < count {
            let d = try sslRecv(slot)
            got += d
            if d.isEmpty {
                if Date() > deadline { throw TestFailure("received \(got.count) of \(count)") }
                _ = try? waitURC("+QSSLURC: \"recv\"", timeout: 0.5)
            }
        }
        return got
    }
}

/// A started virtual module (seed 42) with options.
func startSim(_ configure: (inout SimOptions) -> Void = { _ in }) throws -> VirtualModule {
    var o = SimOptions()
    o.seed = 42
    configure(&o)
    let m = try VirtualModule(options: o)
    m.start()
    return m
}

/// Echo off and the note's PDP steps: QIFGCNT, QICSGP, QIREGAPP, QIACT, QILOCIP, QIMUX=1.
func attach(_ p: Port) throws {
    try p.ok("ATE0")
    try p.ok("AT+QIFGCNT=0")
    try p.ok("AT+QICSGP=1,\"CMNET\"")
    try p.ok("AT+QIREGAPP")
    try p.ok("AT+QIACT")
    try p.write("AT+QILOCIP\r")
    while true {
        guard case .line(let l) = try p.token() else { throw TestFailure("QILOCIP: prompt") }
        if Port.isURC(l) { p.urcs.append(l); continue }
        guard l == "10.1.83.188" else { throw TestFailure("QILOCIP: \(l)") }
        break
    }
    try p.ok("AT+QIMUX=1")
}

func attachedPort(_ m: VirtualModule) throws -> Port {
    let p = try Port(m.slavePath)
    try attach(p)
    return p
}

/// Uploads a file with AT+QSECWRITE and returns the `+QSECWRITE:` line.
func upload(_ p: Port, name: String, _ data: [UInt8]) throws -> String {
    let r = try p.command("AT+QSECWRITE=\"\(name)\",\(data.count),100")
    guard r.final == "CONNECT" else { throw TestFailure("QSECWRITE \(name): \(r)") }
    try p.write(data)
    let done = try p.response()
    guard done.final == "OK", done.lines.count == 1 else { throw TestFailure("QSECWRITE \(name): \(done)") }
    return done.lines[0]
}

/// A TLS echo server with the test certificates (optionally demanding a client certificate, listening on
/// another address, limited in TLS versions or cipher suites).
func tlsServer(_ certs: TestCerts, clientCert: Bool = false, mode: TestTLSServer.Mode = .echo,
               host: String = "127.0.0.1", minimum: SimTLSVersion = .tls10, maximum: SimTLSVersion? = nil,
               ciphers: String? = nil) throws -> TestTLSServer {
    try TestTLSServer(certificatePath: certs.path("server.pem"), keyPath: certs.path("server.key"),
                      clientCAPath: clientCert ? certs.path("ca.pem") : nil,
                      requireClientCertificate: clientCert, mode: mode, host: host,
                      minimumTLSVersion: minimum, maximumTLSVersion: maximum, cipherSuites: ciphers)
}

/// Waits until the module holds at least `count` unread bytes for socket `socket`.
func waitBuffered(_ m: VirtualModule, socket: Int, count: Int, timeout: Double = 20) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while m.bufferedBytes(socket: socket) < count {
        if Date() > deadline {
            throw TestFailure("socket \(socket) holds \(m.bufferedBytes(socket: socket)) of \(count) bytes")
        }
        Thread.sleep(forTimeInterval: 0.01)
    }
}

/// An IPv4 address of this machine outside 127.0.0.0/8 (the first one getifaddrs lists on an interface that
/// is up). Throws when there is none: the loopback rule cannot be shown without one.
func firstNonLoopbackIPv4() throws -> String {
    var list: UnsafeMutablePointer<ifaddrs>?
    guard getifaddrs(&list) == 0 else { throw TestFailure("getifaddrs failed: errno \(errno)") }
    defer { freeifaddrs(list) }
    var cur = list
    while let ifa = cur {
        cur = ifa.pointee.ifa_next
        guard let sa = ifa.pointee.ifa_addr, sa.pointee.sa_family == sa_family_t(AF_INET),
            ifa.pointee.ifa_flags & UInt32(IFF_UP) != 0
        else { continue }
        var addr = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        guard inet_ntop(AF_INET, &addr, &text, socklen_t(text.count)) != nil else { continue }
        let s = String(decoding: text.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if !s.hasPrefix("127.") { return s }
    }
    throw TestFailure("this machine has no IPv4 address outside 127.0.0.0/8 on an interface that is up; "
        + "the loopback rule of qssl-sim can only be checked against such an address")
}

/// A TCP listener on 127.0.0.1 that never accepts and never answers: the kernel completes the TCP
/// handshake, so a TLS client connects and then waits forever for the ServerHello.
func silentListener() throws -> (fd: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &a) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, len) == 0 && listen(fd, 8) == 0 && getsockname(fd, $0, &len) == 0
        }
    }
    guard ok else { close(fd); throw TestFailure("listen failed: errno \(errno)") }
    return (fd, Int(UInt16(bigEndian: a.sin_port)))
}

/// Opens SSL socket `ssid` on context `ctx` and returns the +QSSLOPEN code.
func sslOpen(_ p: Port, ssid: Int, ctx: Int = 0, port: Int, mode: Int = 0, host: String = "127.0.0.1") throws -> Int {
    try p.ok("AT+QSSLOPEN=\(ssid),\(ctx),\"\(host)\",\(port),\(mode),30")
    let u = try p.waitURC("+QSSLOPEN: \(ssid),")
    guard let code = Int(u.split(separator: ",").last ?? "") else { throw TestFailure("bad \(u)") }
    return code
}
