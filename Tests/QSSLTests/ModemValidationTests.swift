import Foundation
import QSSL
import QSSLCore
import QSSLSim
import Testing

/// Host-side checks: bad strings, names, sizes and ranges are .invalidArgument with nothing written to the
/// port; QIACT failure diagnosis (§1.4.1); the recovery supervisor.
@Suite struct ModemValidationTests {
    static let bad = ["a\"b", "a\rb", "a\nb", "a\u{1}b", "x\u{7f}", "h\",443,0\r\nAT+CFUN=0\r"]

    @Test func badArgumentsWriteNothing() throws {
        let rig = try ModemRig(noise: 0)
        defer { rig.stop() }
        let m = rig.modem
        _ = try rig.bringUp()
        let linesBefore = rig.trace.count
        let hostBefore = try SimByteLog.hostBytes(path: rig.logPath)

        func invalid(_ what: String, _ body: () throws -> Void) {
            do {
                try body()
                Issue.record("\(what): no error")
            } catch {
                #expect(error as? QsslError == .invalidArgument, "\(what)")
            }
        }
        for s in Self.bad {
            invalid("host \(s)") { _ = try m.openSSL(host: s, port: 443) }
            invalid("tcp host \(s)") { _ = try m.openTCP(host: s, port: 80) }
            invalid("apn \(s)") { _ = try m.activatePDP(PDPConfig(apn: s)) }
            invalid("user \(s)") { _ = try m.activatePDP(PDPConfig(apn: "CMNET", user: s)) }
            invalid("password \(s)") { _ = try m.activatePDP(PDPConfig(apn: "CMNET", password: s)) }
            invalid("cert name \(s)") { try m.writeCertificate(name: "RAM:" + s, data: [1]) }
            invalid("check name \(s)") { _ = try m.checkCertificate(name: "RAM:" + s) }
            invalid("delete name \(s)") { try m.deleteCertificate(name: "RAM:" + s) }
        }
        // Quotes are how AT arguments are written, so `at` passes a"b on; a control byte could end the command
        // line early and start another one.
        let withControl = Self.bad.filter { $0.utf8.contains { $0 < 0x20 || $0 == 0x7F } }
        #expect(withControl.count == Self.bad.count - 1)
        for s in withControl { invalid("at \(s.debugDescription)") { _ = try m.at("AT" + s) } }
        invalid("empty host") { _ = try m.openSSL(host: "", port: 443) }
        invalid("nvram name") { try m.writeCertificate(name: "NVRAM:CA2", data: [1]) }
        invalid("no prefix") { try m.writeCertificate(name: "ca.pem", data: [1]) }
        invalid("ram size") { try m.writeCertificate(name: "RAM:big", data: [UInt8](repeating: 0x41, count: 32769)) }
        invalid("nvram size") { try m.writeCertificate(name: "NVRAM:CA0", data: [UInt8](repeating: 0x41, count: 2026)) }
        invalid("empty file") { try m.writeCertificate(name: "RAM:e", data: []) }
        invalid("upload timeout") { try m.writeCertificate(name: "RAM:t", data: [1], timeoutS: 201) }
        invalid("open timeout low") { _ = try m.openSSL(host: "127.0.0.1", port: 443, timeoutS: 9) }
        invalid("open timeout high") { _ = try m.openSSL(host: "127.0.0.1", port: 443, timeoutS: 301) }
        invalid("port") { _ = try m.openSSL(host: "127.0.0.1", port: 70000) }
        invalid("socket") { _ = try m.openSSL(host: "127.0.0.1", port: 443, socket: 6) }
        invalid("context") { _ = try m.openSSL(host: "127.0.0.1", port: 443, context: 6) }
        invalid("cfg ctx") { try m.setSSLSetting(.secLevel(.none), context: 6) }
        invalid("suites") { try m.setSSLSetting(.cipherSuites([.all, .rsaAES128CBCSHA])) }
        invalid("seclevel 1 without CA") { try m.configureSSLContext(SSLContextConfig(secLevel: .server)) }
        invalid("seclevel 2 without key") {
            try m.configureSSLContext(SSLContextConfig(secLevel: .serverAndClient, caCert: try CertName("RAM:a"),
                                                       clientCert: try CertName("RAM:b")))
        }
        invalid("query ctx") { _ = try m.querySSLContext(7) }
        invalid("recv socket") { _ = try m.recv(socket: 9, maxCount: 1, timeoutMs: 0) }
        #expect(m.lastError.code == .invalidArgument)

        // The module answers AT only after reading (and logging) whatever came before it: past this, nothing is
        // on its way.
        _ = try m.at("AT")
        #expect(rig.trace.toModule.dropFirst(linesBefore) == ["AT"])
        let hostAfter = try SimByteLog.hostBytes(path: rig.logPath)
        #expect(hostAfter.starts(with: hostBefore) && Array(hostAfter.dropFirst(hostBefore.count)) == Array("AT\r".utf8),
                "the module read \(String(decoding: hostAfter.dropFirst(hostBefore.count), as: UTF8.self).debugDescription)")
    }

    @Test func uploadChecksumMismatchIsDetected() throws {
        // A module that keeps only part of the upload (as in a real log: declared 1467, stored 1392).
        let t = ScriptedTransport([], maxRead: 64, responder: { line in
            if line.hasPrefix("AT+QSECWRITE=") { return Array("\r\nCONNECT\r\n".utf8) }
            if line.isEmpty || !line.hasPrefix("AT") {
                return Array("\r\n+QSECWRITE: 1392,235a\r\n\r\nOK\r\n".utf8)
            }
            return Array("\r\nOK\r\n".utf8)
        })
        let m = try Modem(transport: t)
        defer { m.close() }
        // The responder sees the payload as one "line" only once a CR comes: end the data with one.
        var data = [UInt8](repeating: 0x41, count: 1466)
        data.append(0x0D)
        #expect(throws: QsslError.checksum) { try m.writeCertificate(name: "RAM:short.pem", data: data) }
        #expect(m.lastError.message.contains("1392"))
    }

    /// One fake module per cause: AT+QIACT fails and exactly one §1.4.1 check finds the problem.
    @Test(arguments: [("cgatt", QsslError.notAttached), ("cgreg", .notRegistered), ("apn", .noAPN),
                      ("cgact", .contextBusy), ("none", .modem)])
    func qiactFailureDiagnosis(_ cause: String, _ expected: QsslError) throws {
        let t = ScriptedTransport([], maxRead: 16, responder: { line in
            func ok(_ lines: String...) -> [UInt8] {
                Array((lines.map { "\r\n\($0)\r\n" }.joined() + "\r\nOK\r\n").utf8)
            }
            switch line {
            case "AT+QIACT": return Array("\r\nERROR\r\n".utf8)
            case "AT+CGATT?": return ok(cause == "cgatt" ? "+CGATT: 0" : "+CGATT: 1")
            case "AT+CGATT=1": return Array((cause == "cgatt" ? "\r\n+CME ERROR: 30\r\n" : "\r\nOK\r\n").utf8)
            case "AT+CGREG?": return ok(cause == "cgreg" ? "+CGREG: 0,2" : "+CGREG: 0,1")
            case "AT+QIREGAPP?": return ok(cause == "apn" ? "+QIREGAPP: \"\",\"\",\"\"" : "+QIREGAPP: \"CMNET\",\"\",\"\"")
            case "AT+CGACT?": return ok(cause == "cgact" ? "+CGACT: 1,1" : "+CGACT: 1,0")
            default: return ok()
            }
        })
        let m = try Modem(transport: t)
        defer { m.close() }
        #expect(throws: expected) { try m.activatePDP(PDPConfig(apn: "CMNET")) }
        #expect(m.lastError.code == expected)
        #expect(m.lastError.command == "AT+QIACT")
        #expect(!m.isPDPActive)
    }

    /// Detached PS domain: the diagnosis attaches (AT+CGATT=1) and QIACT is tried again, against the sim.
    @Test func detachedDomainIsAttachedAndRetried() throws {
        let rig = try ModemRig(noise: 0.05)
        defer { rig.stop() }
        let m = rig.modem
        _ = try m.at("AT+CGATT=0")
        #expect(try rig.bringUp() == "10.1.83.188")
        let sent = rig.trace.toModule
        #expect(sent.filter { $0 == "AT+QIACT" }.count == 2)
        #expect(sent.contains("AT+CGATT?") && sent.contains("AT+CGATT=1"))
    }

    /// The recovery policy with a short interval: three failed rounds, then the reboot command; after RDY
    /// counting starts again.
    @Test func supervisorRebootsAfterThreeFailures() throws {
        let sent = Collector<String>()
        let t = ScriptedTransport([], maxRead: 32, responder: { line in
            sent.append(line)
            switch line {
            case "AT+QIACT": return Array("\r\nERROR\r\n".utf8)
            case "AT+CGATT?": return Array("\r\n+CGATT: 1\r\n\r\nOK\r\n".utf8)
            case "AT+CGREG?": return Array("\r\n+CGREG: 0,1\r\n\r\nOK\r\n".utf8)
            case "AT+QIREGAPP?": return Array("\r\n+QIREGAPP: \"CMNET\",\"\",\"\"\r\n\r\nOK\r\n".utf8)
            case "AT+CFUN=1,1": return Array("\r\nOK\r\n\r\nRDY\r\n".utf8)
            default: return Array("\r\nOK\r\n".utf8)
            }
        })
        let m = try Modem(transport: t)
        defer { m.close() }
        var o = SupervisorOptions()
        o.intervalMs = 30
        o.rebootWaitMs = 2000
        try m.startSupervisor(PDPConfig(apn: "CMNET"), options: o)
        #expect(throws: QsslError.busy) { try m.startSupervisor(PDPConfig(apn: "CMNET"), options: o) }
        var events: [ModemEvent] = []
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline && events.filter({ $0 == .supervisorReboot }).count < 2 {
            if let e = m.events.pop(timeoutMs: 200) { events.append(e) }
        }
        m.stopSupervisor()
        #expect(events.filter { $0 == .supervisorReboot }.count >= 2)
        #expect(events.contains(.moduleReset))
        #expect(m.supervisorReboots >= 2)
        // Exactly three AT+QIACT before the first reboot command.
        let lines = sent.all
        let firstReboot = try #require(lines.firstIndex(of: "AT+CFUN=1,1"))
        #expect(lines[..<firstReboot].filter { $0 == "AT+QIACT" }.count == 3)
    }

    /// A supervisor that succeeds stops counting and reports the context.
    @Test func supervisorBringsUpTheContext() throws {
        let rig = try ModemRig(noise: 0.05)
        defer { rig.stop() }
        var o = SupervisorOptions()
        o.intervalMs = 50
        try rig.modem.startSupervisor(PDPConfig(apn: "CMNET"), options: o)
        var up = false
        let deadline = Date().addingTimeInterval(15)
        while !up && Date() < deadline {
            if rig.modem.events.pop(timeoutMs: 200) == .pdpActivated { up = true }
        }
        rig.modem.stopSupervisor()
        #expect(up)
        #expect(rig.modem.isPDPActive)
        #expect(rig.modem.supervisorReboots == 0)
    }
}

/// Progress of a large (32 KiB) upload into RAM, reported while the bytes go out at a throttled baud rate.
@Test func modemLargeUploadReportsProgress() throws {
    let rig = try ModemRig(fragment: false, noise: 0, configure: { $0.baud = 921_600 })
    defer { rig.stop() }
    let data = modemTestBytes(32768, seed: 5)
    let seen = Collector<Int>()
    try rig.modem.writeCertificate(name: "RAM:big.bin", data: data, progress: { sent, total in
        #expect(total == 32768)
        seen.append(sent)
    })
    let all = seen.all
    #expect(all.first == 0 && all.last == 32768)
    #expect(all.count >= 4, "\(all)")
    #expect(all == all.sorted())
    // Key material never reaches the trace.
    #expect(rig.trace.toModule.contains("<32768 bytes redacted>"))
    #expect(try rig.modem.checkCertificate(name: "RAM:big.bin"))
    // The module refuses to overwrite; replace deletes first.
    #expect(throws: QsslError.modem) { try rig.modem.writeCertificate(name: "RAM:big.bin", data: [1, 2, 3]) }
    #expect(rig.modem.lastError.cme == 3)
    try rig.modem.writeCertificate(name: "RAM:big.bin", data: [1, 2, 3], replace: true)
}
