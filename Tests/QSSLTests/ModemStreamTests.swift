import CPosix
import Foundation
import QSSL
import QSSLCore
import QSSLSim
import Testing

/// Byte-exact streams through the Modem API: a 10 MB echo, six sockets from six threads, a remote close
/// with data still buffered, PDP loss and module reset.
@Suite struct ModemStreamTests {
    /// How long a stream may make no progress before a test calls it stalled. Progress, not a total time, decides:
    /// on a busy machine the fragmenting module is slow (it yields the CPU after every short write), but a stream
    /// that stops is a failure.
    static let stallSeconds: TimeInterval = 60

    /// One `recv` of up to 64 KB that waits 2 s; nil when nothing came in that time.
    static func recvSome(_ m: Modem, socket: Int) throws -> [UInt8]? {
        do {
            return try m.recv(socket: socket, maxCount: 65536, timeoutMs: 2000)
        } catch let e as QsslError where e == .timedOut {
            return nil
        }
    }

    /// Sends `data` on `socket` from one thread while this thread reads the echo; the writer stays at most
    /// `window` bytes ahead so the module's buffers never fill both ways.
    static func echo(_ m: Modem, socket: Int, _ data: [UInt8], window: Int = 48 * 1024) throws -> [UInt8] {
        final class Shared: @unchecked Sendable {
            let lock = NSCondition()
            var received = 0
            var writeError: Error? = nil
        }
        let sh = Shared()
        let lock = sh.lock
        let writer = Thread {
            var off = 0
            while off < data.count {
                lock.lock()
                while off - sh.received > window && sh.writeError == nil {
                    _ = lock.wait(until: Date().addingTimeInterval(0.05))
                }
                lock.unlock()
                let n = min(8192, data.count - off)
                do {
                    let sent = try data[off..<(off + n)].withUnsafeBytes { p -> Result<Int, QsslError> in
                        do throws(QsslError) { return .success(try m.send(socket: socket, p, timeoutMs: 60_000)) }
                        catch { return .failure(error) }
                    }.get()
                    off += sent
                } catch {
                    lock.lock(); sh.writeError = error; lock.unlock()
                    return
                }
            }
        }
        writer.start()
        var out: [UInt8] = []
        out.reserveCapacity(data.count)
        var lastProgress = Date()
        while out.count < data.count {
            lock.lock()
            let we = sh.writeError
            lock.unlock()
            if let we { throw we }
            if Date().timeIntervalSince(lastProgress) > Self.stallSeconds {
                throw ModemTestError("echo stalled at \(out.count) bytes: nothing for \(Int(Self.stallSeconds)) s")
            }
            guard let chunk = try Self.recvSome(m, socket: socket) else { continue }
            lastProgress = Date()
            if chunk.isEmpty { throw ModemTestError("end of stream after \(out.count) bytes") }
            out += chunk
            lock.lock()
            sh.received = out.count
            lock.signal()
            lock.unlock()
        }
        return out
    }

    @Test func tenMegabyteEchoOverOneSSLSocket() throws {
        let certs = try ModemTestCerts.get()
        let tls = try TestTLSServer(certificatePath: certs.path("server.pem"), keyPath: certs.path("server.key"))
        defer { tls.stop() }
        let rig = try ModemRig(fragment: false, noise: 0.02)
        defer { rig.stop() }
        let m = rig.modem
        _ = try rig.bringUp()
        let s = try m.openSSL(host: "127.0.0.1", port: tls.port)
        let data = modemTestBytes(10 * 1024 * 1024, seed: 10)
        let t0 = Date()
        let back = try Self.echo(m, socket: s, data)
        let secs = Date().timeIntervalSince(t0)
        print("ModemStreamTests: 10 MB SSL echo through qssl-sim: \(String(format: "%.1f", secs)) s, "
              + "\(String(format: "%.0f", Double(2 * data.count) / secs / 1024)) KiB/s both ways")
        #expect(byteDifference(back, data) == nil)
        try m.closeSocket(s)
    }

    /// The byte-exact echo with the module's output cut into 1-7 byte writes and URC noise between answers
    /// (the 10 MB run keeps writes whole: fragmented it takes about a minute on two cores).
    @Test func oneMegabyteEchoFragmentedWithNoise() throws {
        let certs = try ModemTestCerts.get()
        let tls = try TestTLSServer(certificatePath: certs.path("server.pem"), keyPath: certs.path("server.key"))
        defer { tls.stop() }
        let rig = try ModemRig(fragment: true, noise: 0.1)
        defer { rig.stop() }
        let m = rig.modem
        _ = try rig.bringUp()
        let s = try m.openSSL(host: "127.0.0.1", port: tls.port)
        let data = modemTestBytes(1024 * 1024, seed: 11)
        let back = try Self.echo(m, socket: s, data)
        #expect(back.count == data.count)
        #expect(modemSHA256(back) == modemSHA256(data))
        try m.closeSocket(s)
    }

    @Test func sixSocketsFromSixThreads() throws {
        let certs = try ModemTestCerts.get()
        let tls = try TestTLSServer(certificatePath: certs.path("server.pem"), keyPath: certs.path("server.key"))
        defer { tls.stop() }
        let tcp = try TestTLSServer(plainTCPMode: .echo)
        defer { tcp.stop() }
        // SEND FAIL now and then exercises the back-off.
        let rig = try ModemRig(fragment: true, noise: 0.05, sendFail: 0.05)
        defer { rig.stop() }
        let m = rig.modem
        _ = try rig.bringUp()
        final class Results: @unchecked Sendable {
            let lock = NSLock()
            var failures: [String] = []
            var indexes: [Int] = []
            var echoed = 0
        }
        let res = Results()
        let results = res.lock
        var threads: [Thread] = []
        let done = DispatchGroup()
        for i in 0..<6 {
            done.enter()
            let t = Thread {
                defer { done.leave() }
                var off = 0
                var step = "open"
                do {
                    let s = i < 4 ? try m.openSSL(host: "127.0.0.1", port: tls.port)
                                  : try m.openTCP(host: "127.0.0.1", port: tcp.port)
                    results.lock(); res.indexes.append(s); results.unlock()
                    let data = modemTestBytes(96 * 1024 + i * 777, seed: UInt64(100 + i))
                    var back: [UInt8] = []
                    // Send a piece, read its echo: every thread keeps its own stream moving.
                    while off < data.count {
                        let n = min(4096 + i * 100, data.count - off)
                        let piece = Array(data[off..<(off + n)])
                        step = "send"
                        let sent = try m.send(socket: s, piece, timeoutMs: 60_000)
                        if sent != n { throw ModemTestError("socket \(s): short send \(sent)/\(n)") }
                        step = "read"
                        back += try modemReadAll(m, socket: s, count: n, timeoutMs: 60_000)
                        results.lock(); res.echoed += n; results.unlock()
                        off += n
                    }
                    if back != data { throw ModemTestError("socket \(s): echo differs") }
                    step = "close"
                    try m.closeSocket(s)
                } catch {
                    let why = (error as? QsslError)?.detailText ?? "\(error)"
                    results.lock(); res.failures.append("thread \(i): \(step) at byte \(off): \(why)"); results.unlock()
                }
            }
            threads.append(t)
            t.start()
        }
        var seen = -1
        var lastProgress = Date()
        var stalled = false
        while done.wait(timeout: .now() + 5) == .timedOut {
            results.lock()
            let echoed: Int = res.echoed
            results.unlock()
            if echoed != seen {
                seen = echoed
                lastProgress = Date()
            } else if Date().timeIntervalSince(lastProgress) > Self.stallSeconds {
                stalled = true
                break
            }
        }
        #expect(!stalled, "no byte echoed for \(Int(Self.stallSeconds)) s after \(seen)\n\(rig.trace.tail(120))")
        results.lock()
        defer { results.unlock() }
        #expect(res.failures.isEmpty, "\(res.failures)\nlast trace lines:\n\(rig.trace.tail(120))")
        #expect(Set(res.indexes).count == 6)
        // The back-off path ran: some sends were refused and retried.
        #expect(rig.trace.count(of: "SEND FAIL") > 0)
    }

    /// The peer sends data and closes: the "closed" URC arrives while the bytes sit in the host buffer; all of
    /// them are read, then end of stream.
    @Test func closedWhileBufferedLosesNothing() throws {
        let certs = try ModemTestCerts.get()
        let payload = modemTestBytes(40_000, seed: 7)
        let tls = try TestTLSServer(certificatePath: certs.path("server.pem"), keyPath: certs.path("server.key"),
                                    mode: .sendThenClose(payload))
        defer { tls.stop() }
        let rig = try ModemRig()
        defer { rig.stop() }
        let m = rig.modem
        _ = try rig.bringUp()
        let s = try m.openSSL(host: "127.0.0.1", port: tls.port)
        // Wait for the close event without reading anything, as long as bytes keep arriving.
        var closed = false
        var buffered = -1
        var lastProgress = Date()
        while !closed && Date().timeIntervalSince(lastProgress) < Self.stallSeconds {
            let now: Int = m.available(socket: s)
            if now != buffered {
                buffered = now
                lastProgress = Date()
            }
            if let e = m.events.pop(timeoutMs: 500), e == .socketClosed(socket: s) { closed = true }
        }
        #expect(closed)
        #expect(m.available(socket: s) == payload.count)
        let got = try modemReadAll(m, socket: s, count: payload.count + 1)
        #expect(byteDifference(got, payload) == nil, Comment(rawValue: rig.trace.tail(80)))
        #expect(try m.recv(socket: s, maxCount: 10, timeoutMs: 100) == [])
        #expect(throws: QsslError.closed) { try m.send(socket: s, [1, 2, 3]) }
        try m.closeSocket(s)
    }

    /// More data than the high-water mark: draining pauses, resumes as the user reads; nothing is lost.
    @Test func highWaterMarkPausesAndResumes() throws {
        let certs = try ModemTestCerts.get()
        let payload = modemTestBytes(300_000, seed: 8)
        let tls = try TestTLSServer(certificatePath: certs.path("server.pem"), keyPath: certs.path("server.key"),
                                    mode: .sendThenClose(payload))
        defer { tls.stop() }
        var o = ModemOptions()
        o.highWaterMark = 16 * 1024
        let rig = try ModemRig(fragment: false, noise: 0.02, modemOptions: o)
        defer { rig.stop() }
        let m = rig.modem
        _ = try rig.bringUp()
        let s = try m.openSSL(host: "127.0.0.1", port: tls.port)
        // Draining reaches the mark, then stops there: two commands later (a module read in flight has ended, and
        // a drain that did not pause would have read on) the buffer holds at most the mark plus one module read.
        #expect(eventually(timeoutMs: 60_000) { m.available(socket: s) >= 16 * 1024 }, Comment(rawValue: rig.trace.tail(40)))
        _ = try m.at("AT")
        _ = try m.at("AT")
        #expect(m.available(socket: s) <= 16 * 1024 + 1500)
        let got = try modemReadAll(m, socket: s, count: payload.count + 1, timeoutMs: 60_000)
        #expect(byteDifference(got, payload) == nil, Comment(rawValue: rig.trace.tail(80)))
    }

    /// +PDP DEACT: waiters wake with .pdpDeactivated, buffered bytes first.
    @Test func pdpDeactivationFailsSockets() throws {
        let certs = try ModemTestCerts.get()
        let tls = try TestTLSServer(certificatePath: certs.path("server.pem"), keyPath: certs.path("server.key"))
        defer { tls.stop() }
        let rig = try ModemRig(configure: { $0.pdpDeactAfterSeconds = 2.0 })
        defer { rig.stop() }
        let m = rig.modem
        _ = try rig.bringUp()
        let s = try m.openSSL(host: "127.0.0.1", port: tls.port)
        #expect(try m.send(socket: s, [1, 2, 3]) == 3)
        // The echo waits unread in the host buffer while the module drops the context.
        #expect(eventually(timeoutMs: 10_000) { m.available(socket: s) == 3 })
        var deact = false
        let deadline = Date().addingTimeInterval(15)
        while !deact && Date() < deadline {
            if m.events.pop(timeoutMs: 500) == .pdpDeactivated { deact = true }
        }
        #expect(deact)
        #expect(!m.isPDPActive)
        // Buffered bytes first, then the error, for as long as one asks.
        #expect(try m.recv(socket: s, maxCount: 100, timeoutMs: 1000) == [1, 2, 3])
        #expect(throws: QsslError.pdpDeactivated) { try m.recv(socket: s, maxCount: 100, timeoutMs: 1000) }
        #expect(throws: QsslError.pdpDeactivated) { try m.recv(socket: s, maxCount: 100, timeoutMs: 0) }
        #expect(throws: QsslError.pdpDeactivated) { try m.send(socket: s, [4]) }
        try m.closeSocket(s)
    }

    /// RDY: sockets fail with .reset, a .moduleReset event is queued, and with reapplyAfterReset the PDP context
    /// and SSL context come back so a new connection works.
    @Test func moduleResetAndReapply() throws {
        let certs = try ModemTestCerts.get()
        let tls = try TestTLSServer(certificatePath: certs.path("server.pem"), keyPath: certs.path("server.key"))
        defer { tls.stop() }
        var o = ModemOptions()
        o.reapplyAfterReset = true
        let rig = try ModemRig(noise: 0, configure: { $0.resetAfterCommands = 40 }, modemOptions: o)
        defer { rig.stop() }
        let m = rig.modem
        _ = try rig.bringUp()
        // Server authentication against a CA in RAM: after the restart the file is gone unless re-uploaded.
        try m.writeCertificate(name: "RAM:ca.pem", data: try certs.bytes("ca.pem"))
        try m.configureSSLContext(SSLContextConfig(context: 0, version: .tls1_2, secLevel: .server,
                                                   caCert: try CertName("RAM:ca.pem")))
        let s = try m.openSSL(host: "127.0.0.1", port: tls.port)
        var failure: QsslError? = nil
        for _ in 0..<60 {
            do throws(QsslError) {
                _ = try m.send(socket: s, [0x41], timeoutMs: 5000)
                _ = try m.recv(socket: s, maxCount: 10, timeoutMs: 2000)
            } catch {
                failure = error
                break
            }
        }
        // The command in flight at the restart is lost (.timedOut) or fails; later ones see .reset.
        #expect(failure != nil)
        var sawReset = false
        var reapplied: Bool? = nil
        let deadline = Date().addingTimeInterval(30)
        while reapplied == nil && Date() < deadline {
            guard let e = m.events.pop(timeoutMs: 500) else { continue }
            if e == .moduleReset { sawReset = true }
            if case .configurationReapplied(let ok) = e { reapplied = ok }
        }
        #expect(sawReset)
        #expect(reapplied == true)
        #expect(throws: QsslError.reset) { try m.recv(socket: s, maxCount: 10, timeoutMs: 100) }
        #expect(throws: QsslError.reset) { try m.send(socket: s, [1]) }
        try m.closeSocket(s)
        #expect(m.isPDPActive)
        #expect(try m.querySSLSetting(.sslVersion, context: 0) == .sslVersion(.tls1_2))
        #expect(try m.checkCertificate(name: "RAM:ca.pem"))
        let s2 = try m.openSSL(host: "127.0.0.1", port: tls.port)
        #expect(try m.send(socket: s2, [9, 8, 7]) == 3)
        #expect(try modemReadAll(m, socket: s2, count: 3) == [9, 8, 7])
    }

    /// The event callback runs off the I/O thread without locks held: it may read and even send commands.
    @Test func callbackMayCallBackIntoTheModem() throws {
        let certs = try ModemTestCerts.get()
        let tls = try TestTLSServer(certificatePath: certs.path("server.pem"), keyPath: certs.path("server.key"))
        defer { tls.stop() }
        let rig = try ModemRig()
        defer { rig.stop() }
        let m = rig.modem
        _ = try rig.bringUp()
        let s = try m.openSSL(host: "127.0.0.1", port: tls.port)
        final class Got: @unchecked Sendable {
            let lock = NSCondition()
            var got: [UInt8] = []
            var stateCalls = 0
        }
        let g = Got()
        let lock = g.lock
        m.setEventCallback { e in
            guard case .dataReady(let sock) = e else { return }
            // A command from inside the callback: must not deadlock.
            if (try? m.state()) != nil {
                lock.lock(); g.stateCalls += 1; lock.unlock()
            }
            while let chunk = try? m.recv(socket: sock, maxCount: 4096, timeoutMs: 0), !chunk.isEmpty {
                lock.lock(); g.got += chunk; lock.signal(); lock.unlock()
            }
        }
        let data = modemTestBytes(20_000, seed: 3)
        var off = 0
        while off < data.count {
            let n = min(2000, data.count - off)
            #expect(try m.send(socket: s, Array(data[off..<(off + n)])) == n)
            off += n
        }
        lock.lock()
        let deadline = Date().addingTimeInterval(30)
        while g.got.count < data.count && Date() < deadline { _ = lock.wait(until: Date().addingTimeInterval(0.2)) }
        let result = g.got
        let calls = g.stateCalls
        lock.unlock()
        m.setEventCallback(nil)
        #expect(result == data)
        #expect(calls >= 1)
    }
}

/// The port vanishes (the virtual module stops): blocked readers wake with .noDevice and a .deviceGone event
/// is queued.
@Test func modemDeviceGoneWakesReaders() throws {
    let certs = try ModemTestCerts.get()
    let tls = try TestTLSServer(certificatePath: certs.path("server.pem"), keyPath: certs.path("server.key"))
    defer { tls.stop() }
    let rig = try ModemRig(noise: 0)
    defer { rig.stop() }
    let m = rig.modem
    _ = try rig.bringUp()
    let s = try m.openSSL(host: "127.0.0.1", port: tls.port)
    let reader = Background<QsslError?> {
        do throws(QsslError) {
            _ = try m.recv(socket: s, maxCount: 10, timeoutMs: 20_000)
            return nil
        } catch {
            return error
        }
    }
    Thread.sleep(forTimeInterval: 0.3)
    rig.sim.stop()
    let outcome = reader.wait(timeoutMs: 10_000)
    #expect(outcome == .some(.some(.noDevice)))
    var gone = false
    let deadline = Date().addingTimeInterval(5)
    while !gone && Date() < deadline {
        if m.events.pop(timeoutMs: 200) == .deviceGone { gone = true }
    }
    #expect(gone)
    #expect(throws: QsslError.noDevice) { try m.state() }
    #expect(m.lastError.code == .noDevice)
}
