import Foundation
import NIOCore
import QSSLCore

extension Engine {
    func secWrite(_ f: ATForm, now: Double) {
        switch f {
        case .test: respond(["+QSECWRITE: \"<filename>\",(1-32768),(3-200)"])
        case .read, .exec: ok()
        case .write(let a):
            guard a.count == 2 || a.count == 3, let key = fileKey(a[0]), let size = a[1].int else { return cme(50) }
            guard size >= 1, size <= (key.nv ? 2025 : 32768) else { return cme(50) }
            var timeout = 100
            if a.count == 3 {
                guard let t = a[2].int, (3...200).contains(t) else { return cme(50) }
                timeout = t
            }
            let exists = key.nv ? nvramFiles[key.name] != nil : ramFiles[key.name] != nil
            if exists { return cme(3) }  // the note: delete it first
            raw("\r\nCONNECT\r\n")
            plusCount = 0
            phase = .upload(name: a[0].text, size: size, data: [], deadline: now + Double(timeout))
        }
    }

    func finishUpload(name: String, data: [UInt8]) {
        if !data.isEmpty {
            if name.hasPrefix("NVRAM:") { nvramFiles[String(name.dropFirst(6))] = data }
            else { ramFiles[String(name.dropFirst(4))] = data }
        }
        enterCommandPhase()
        respond(["+QSECWRITE: \(data.count),\(hexString(UploadChecksum.of(data)))"])
    }

    func secRead(_ f: ATForm) {
        switch f {
        case .test: respond(["+QSECREAD: \"<filename>\""])
        case .read, .exec: ok()
        case .write(let a):
            guard a.count == 1, fileKey(a[0]) != nil else { return cme(50) }
            guard let d = fileData(a[0].text) else { return cme(4) }
            respond(["+QSECREAD: 1,\(hexString(UploadChecksum.of(d)))"])
        }
    }

    func secDel(_ f: ATForm) {
        switch f {
        case .test: respond(["+QSECDEL: \"<filename>\""])
        case .read, .exec: ok()
        case .write(let a):
            guard a.count == 1, let key = fileKey(a[0]) else { return cme(50) }
            if key.nv {
                guard nvramFiles.removeValue(forKey: key.name) != nil else { return cme(4) }
            } else {
                guard ramFiles.removeValue(forKey: key.name) != nil else { return cme(4) }
            }
            ok()
        }
    }

    // MARK: AT+QSSLCFG

    static let knownCiphers: [UInt16] = [0x0035, 0x002F, 0x0005, 0x0004, 0x000A, 0x003D, 0xFFFF]

    static func cipherText(_ list: [UInt16]) -> String {
        "\"" + list.map { "0X" + String(format: "%04X", $0) }.joined(separator: ",") + "\""
    }

    static func parseCipher(_ s: String) -> UInt16? {
        var t = s.trimmingCharacters(in: .whitespaces).uppercased()
        if t.hasPrefix("0X") { t.removeFirst(2) }
        guard let v = UInt16(t, radix: 16), knownCiphers.contains(v) else { return nil }
        return v
    }

    func sslCfg(_ f: ATForm) {
        switch f {
        case .test: return respond(["+QSSLCFG: \"type\",(0-5),\"value\""])
        case .read, .exec: return error()
        case .write(let a):
            guard let first = a.first, first.quoted else { return error() }
            let type = first.text.lowercased()
            func ctx() -> Int? {
                guard a.count >= 2, let c = a[1].int, (0...5).contains(c) else { return nil }
                return c
            }
            func global(_ get: () -> Int, _ range: ClosedRange<Int>, _ set: (Int) -> Void, _ label: String) {
                if a.count == 1 { return respond(["+QSSLCFG: \"\(label)\",\(get())"]) }
                guard a.count == 2, let v = a[1].int, range.contains(v) else { return error() }
                set(v); ok()
            }
            switch type {
            case "ctxindex":
                guard a.count == 2, let c = ctx() else { return error() }
                let x = contexts[c]
                respond(["+QSSLCFG: \(c),\(x.sslVersion),\(x.secLevel),\(Engine.cipherText(x.cipherSuites)),\"\(x.caCert)\",\"\(x.clientCert)\",\"\(x.clientKey)\""])
            case "sslversion":
                guard let c = ctx() else { return error() }
                if a.count == 2 { return respond(["+QSSLCFG: \"sslversion\",\(contexts[c].sslVersion)"]) }
                guard a.count == 3, let v = a[2].int, (0...4).contains(v) else { return error() }
                contexts[c].sslVersion = v; ok()
            case "ciphersuite":
                guard let c = ctx() else { return error() }
                if a.count == 2 { return respond(["+QSSLCFG: \"ciphersuite\",\(Engine.cipherText(contexts[c].cipherSuites))"]) }
                var list: [UInt16] = []
                for arg in a[2...] {
                    for part in arg.text.split(separator: ",", omittingEmptySubsequences: false) {
                        guard let v = Engine.parseCipher(String(part)) else { return error() }
                        list.append(v)
                    }
                }
                contexts[c].cipherSuites = list; ok()
            case "seclevel":
                guard let c = ctx() else { return error() }
                if a.count == 2 { return respond(["+QSSLCFG: \"seclevel\",\(contexts[c].secLevel)"]) }
                guard a.count == 3, let v = a[2].int, (0...2).contains(v) else { return error() }
                contexts[c].secLevel = v; ok()
            case "cacert", "clientcert", "clientkey":
                guard let c = ctx() else { return error() }
                if a.count == 2 {
                    let v = type == "cacert" ? contexts[c].caCert : type == "clientcert" ? contexts[c].clientCert : contexts[c].clientKey
                    return respond(["+QSSLCFG: \"\(type)\",\"\(v)\""])
                }
                guard a.count == 3 else { return error() }
                let v = a[2].text
                guard v.isEmpty || fileKey(a[2]) != nil else { return error() }
                switch type {
                case "cacert": contexts[c].caCert = v
                case "clientcert": contexts[c].clientCert = v
                default: contexts[c].clientKey = v
                }
                ok()
            case "ignorertctime": global({ ignoreRTC }, 0...1, { ignoreRTC = $0 }, "ignorertctime")
            case "https": global({ https }, 0...1, { https = $0 }, "https")
            case "httpsctxi": global({ httpsCtx }, 0...5, { httpsCtx = $0 }, "httpsctxi")
            case "smtpstyle": global({ smtpStyle }, 0...2, { smtpStyle = $0 }, "smtpstyle")
            case "smtpsctxi", "smtpctxi": global({ smtpsCtx }, 0...5, { smtpsCtx = $0 }, "smtpctxi")
            default: error()
            }
        }
    }

    // MARK: opening

    func sslOpen(_ a: [ATArg], now: Double) {
        guard a.count == 5 || a.count == 6,
            let ssid = a[0].int, (0...5).contains(ssid),
            let ctx = a[1].int, (0...5).contains(ctx),
            !a[2].text.isEmpty,
            let port = a[3].int, (1...65535).contains(port),
            let mode = a[4].int, (0...1).contains(mode)
        else { return error() }
        var timeout = 90
        if a.count == 6 {
            guard let t = a[5].int, (10...300).contains(t) else { return error() }
            timeout = t
        }
        guard pdp == .gprsact || pdp == .status else { return error() }
        ok()
        if sockets[ssid] != nil { return urc("+QSSLOPEN: \(ssid),-2") }
        let cfg = contexts[ctx]
        let s = SimSocket(id: nextSocketID, slot: ssid, kind: .ssl, host: a[2].text, port: port, mode: mode,
                          deadline: now + Double(timeout))
        nextSocketID += 1
        sockets[ssid] = s
        guard cfg.sslVersion != 0 else { return openFailed(s) }  // SSL 3.0: not in the TLS library
        guard let tls = makeTLS(cfg) else { return openFailed(s) }
        startConnect(s, tls: tls)
    }

    func tcpOpen(_ a: [ATArg], now: Double) {
        guard qimux == 1, a.count == 4, let id = a[0].int, (0...5).contains(id),
            a[1].text.uppercased() == "TCP" || a[1].text.uppercased() == "UDP",
            !a[2].text.isEmpty, let port = Int(a[3].text), (1...65535).contains(port)
        else { return error() }
        guard pdp == .gprsact || pdp == .status else { return error() }
        if sockets[id] != nil { return respond(final: "ALREADY CONNECT") }
        guard a[1].text.uppercased() == "TCP" else { return error() }  // UDP is not simulated
        ok()
        let s = SimSocket(id: nextSocketID, slot: id, kind: .tcp, host: a[2].text, port: port, mode: 0,
                          deadline: now + 75)
        nextSocketID += 1
        sockets[id] = s
        startConnect(s, tls: nil)
    }

    func openFailed(_ s: SimSocket) {
        dropSocket(s)
        switch s.kind {
        case .ssl: urc("+QSSLOPEN: \(s.slot),-1")
        case .tcp: urc("\(s.slot), CONNECT FAIL")
        }
    }

    // MARK: sending

    func send(_ a: [ATArg], kind: SockKind) {
        guard a.count == 1 || a.count == 2, let slot = a[0].int, (0...5).contains(slot) else { return error() }
        var len: Int? = nil
        if a.count == 2 {
            guard let l = a[1].int, (1...1460).contains(l) else { return error() }
            len = l
        }
        guard let s = sockets[slot], s.kind == kind, s.state == .connected, s.connectMode == 0 else { return error() }
        raw("\r\n> ")
        if let len {
            phase = .sendFixed(slot: slot, id: s.id, remaining: len, data: [])
        } else {
            phase = .sendCtrlZ(slot: slot, id: s.id, data: [])
        }
    }

    /// How long a payload waits for room in a full send buffer before the module gives up with SEND FAIL.
    static let sendHoldSeconds = 1.0

    /// The payload is complete: send it and answer SEND OK, or SEND FAIL (nothing sent) when the socket's
    /// send buffer stays full.
    func finishSend(slot: Int, id: UInt64, data: [UInt8]) {
        guard let s = socket(slot, id: id), s.state == .connected, let ch = s.channel else {
            enterCommandPhase()
            return error()
        }
        if rng.chance(options.sendFailProbability) {
            enterCommandPhase()
            return respond(final: "SEND FAIL")
        }
        if s.pendingWrite > options.socketBufferLimit {
            phase = .holdSend(slot: slot, id: id, data: data, deadline: monotonicNow() + Engine.sendHoldSeconds)
            return
        }
        if !data.isEmpty { writeToChannel(s, ch, data) }
        enterCommandPhase()
        respond(final: "SEND OK")
    }

    // MARK: receiving

    func sslRecv(_ a: [ATArg]) {
        guard a.count == 3, let cid = a[0].int, (0...1).contains(cid), let slot = a[1].int, (0...5).contains(slot),
            let len = a[2].int, (1...1500).contains(len)
        else { return error() }
        readOut(slot: slot, len: len, kind: .ssl, header: "+QSSLRECV")
    }

    func tcpRead(_ a: [ATArg]) {
        guard a.count == 4, let cid = a[0].int, (0...2).contains(cid), let sc = a[1].int, (1...2).contains(sc),
            let slot = a[2].int, (0...5).contains(slot), let len = a[3].int, (1...1500).contains(len)
        else { return error() }
        readOut(slot: slot, len: len, kind: .tcp, header: "+QIRD")
    }

    func readOut(slot: Int, len: Int, kind: SockKind, header: String) {
        guard let s = sockets[slot], s.kind == kind, s.state != .connecting, s.connectMode == 0 else { return error() }
        let n = min(len, s.rx.readableBytes)
        if n == 0 { return ok() }
        let bytes = s.rx.readBytes(length: n) ?? []
        if s.rx.readableBytes == 0 { s.rx.clear() } else if s.rx.readerIndex > 65536 { s.rx.discardReadBytes() }
        var out = Array("\r\n\(header): \(s.peer),TCP,\(n)\r\n".utf8)
        out.append(contentsOf: bytes)
        out.append(contentsOf: Array("\r\nOK\r\n".utf8))
        raw(out)
        maybeNoise()
        if s.rx.readableBytes == 0 && s.state == .peerClosed {
            reportClosed(s)
        } else {
            resumeReading(s)
        }
    }

    func reportClosed(_ s: SimSocket) {
        dropSocket(s)
        switch s.kind {
        // A transparent connection's end is the line the module is configured to print, in or out of data mode.
        case .ssl where s.connectMode == 1: urc(options.closeLine.text(slot: s.slot))
        case .ssl: urc("+QSSLURC: \"closed\",\(s.slot)")
        case .tcp: urc("\(s.slot), CLOSED")
        }
    }

    // MARK: closing and state

    func closeCmd(_ a: [ATArg], kind: SockKind) {
        guard a.count >= 1, a.count <= 2, let slot = a[0].int, (0...5).contains(slot) else { return error() }
        guard let s = sockets[slot], s.kind == kind else { return error() }
        dropSocket(s)
        respond(final: "\(slot), CLOSE OK")
    }

    func sslState() {
        var lines = ["+QSSLSTATE: \"\(sockets.contains(where: { $0 != nil }) && pdp != .deact ? "IP PROCESSING" : pdp.text)\""]
        for i in 0..<6 {
            if let s = sockets[i] {
                let st: String
                switch s.state {
                case .connecting: st = "CONNECTING"
                case .connected: st = "CONNECTED"
                case .peerClosed: st = "REMOTE CLOSING"
                }
                lines.append("+QSSLSTATE: \(i),\"TCP\",\"\(s.remoteHost)\",\(s.remotePort),\"\(st)\",\(s.kind == .ssl ? 1 : 0)")
            } else {
                lines.append("+QSSLSTATE: \(i),\"TCP\",\"\",0,\"INITIAL\",0")
            }
        }
        respond(lines)
    }

    // MARK: transparent mode

    func ato() {
        guard let slot = transparentSlot, let s = sockets[slot], s.state != .connecting else { return error() }
        // Not respond(): the host reads every byte after CONNECT as data, so no noise may follow it.
        raw("\r\nCONNECT\r\n")
        enterTransparent(s)
    }

    func enterTransparent(_ s: SimSocket) {
        transparentSlot = s.slot
        phase = .transparent(slot: s.slot, id: s.id)
        plusCount = 0
        // The guard before a first '+' runs from the start of data mode (or a later byte).
        lastInputTime = max(lastInputTime, monotonicNow())
        pumpTransparent(s)
    }

    /// Host bytes in data mode; `times` holds each byte's arrival.
    func transparentInput(_ bytes: [UInt8], _ times: [Double], now: Double) {
        guard case .transparent(let slot, let id) = phase, let s = socket(slot, id: id) else { return }
        var fwd: [UInt8] = []
        fwd.reserveCapacity(bytes.count)
        for (i, b) in bytes.enumerated() {
            let t = times[i]
            if plusCount == 3 && t - plusTime >= options.escapeGuardSeconds {
                // The escape's guard ran out before this byte crossed the line: the module had left data mode
                // (its timer does not wait for tick()); the byte and the rest are command input.
                if !fwd.isEmpty, s.state == .connected, let ch = s.channel { writeToChannel(s, ch, fwd) }
                plusCount = 0
                enterCommandPhase()
                ok()
                input.append(contentsOf: bytes[i...])
                inputAt.append(contentsOf: times[i...])
                process(now: now)
                return
            }
            // A '+' starts an escape only after the guard's silence; the next two may follow at once.
            let counts = b == 0x2B && plusCount < 3 && (plusCount > 0 || silentBefore(t))
            lastInputTime = max(lastInputTime, t)
            if counts {
                plusCount += 1
                plusTime = t
            } else {
                if plusCount > 0 { fwd.append(contentsOf: Array(repeating: 0x2B, count: plusCount)); plusCount = 0 }
                fwd.append(b)
            }
        }
        if !fwd.isEmpty, s.state == .connected, let ch = s.channel { writeToChannel(s, ch, fwd) }
    }
}
