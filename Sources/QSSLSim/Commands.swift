import Foundation
import NIOCore
import QSSLCore

extension Engine {
    /// Splits the parameters of a command at commas outside double quotes.
    static func parseArgs(_ s: Substring) -> [ATArg] {
        var out: [ATArg] = []
        var cur = ""
        var quoted = false
        var inQuote = false
        for ch in s {
            if ch == "\"" {
                inQuote.toggle()
                quoted = true
            } else if ch == "," && !inQuote {
                out.append(ATArg(text: quoted ? cur : cur.trimmingCharacters(in: .whitespaces), quoted: quoted))
                cur = ""
                quoted = false
            } else if inQuote || ch != " " {
                cur.append(ch)
            }
        }
        out.append(ATArg(text: quoted ? cur : cur.trimmingCharacters(in: .whitespaces), quoted: quoted))
        return out
    }

    func execute(_ bytes: [UInt8], now: Double) {
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        guard text.count >= 2, text.prefix(2).uppercased() == "AT" else { return }  // modules ignore non-AT lines
        commandCount += 1
        commandTotal += 1
        // Both faults strike after the line was read: its echo has gone out already.
        if commandTotal == options.resetInsteadOfAnswer {
            commandCount = 0
            return moduleReset()
        }
        if commandTotal == options.unanswered { return }
        dispatch(text.dropFirst(2), now: now)
        if let n = options.resetAfterCommands, n > 0, !resetDone || options.resetRepeats, commandCount >= n {
            resetDone = true
            commandCount = 0
            moduleReset()
        }
    }

    func dispatch(_ body: Substring, now: Double) {
        // The note's examples write "AT+ QSSLOPEN =1"; ignore blanks around the name.
        let trimmed = body.drop(while: { $0 == " " })
        let upper = trimmed.uppercased()
        if upper.isEmpty { return ok() }
        if !upper.hasPrefix("+") {
            switch upper.replacingOccurrences(of: " ", with: "") {
            case "E0": echo = false; return ok()
            case "E1", "E": echo = true; return ok()
            case "I", "I0": return respond(["Quectel_Ltd", "Quectel_M66", "Revision: M66FAR01A12"])
            case "O", "O0": return ato()
            case "&F", "&F0", "Z", "Z0", "V1", "Q0", "&W", "&W0": return ok()
            default: return error()
            }
        }
        // +NAME then "=?", "?", "=<args>" or nothing.
        var idx = trimmed.index(after: trimmed.startIndex)
        while idx < trimmed.endIndex, trimmed[idx] != "=", trimmed[idx] != "?" { idx = trimmed.index(after: idx) }
        let name = trimmed[trimmed.index(after: trimmed.startIndex)..<idx].replacingOccurrences(of: " ", with: "").uppercased()
        let rest = trimmed[idx...]
        let form: ATForm
        if rest.isEmpty { form = .exec }
        else if rest.hasPrefix("=?") { form = .test }
        else if rest.hasPrefix("?") { form = .read }
        else { form = .write(Engine.parseArgs(rest.dropFirst())) }

        switch (name, form) {
        case ("GSN", .exec), ("CGSN", .exec): respond([options.imei])
        case ("GMM", .exec), ("CGMM", .exec): respond(["Quectel_M66"])
        case ("GMI", .exec), ("CGMI", .exec): respond(["Quectel_Ltd"])
        case ("GMR", .exec), ("CGMR", .exec): respond(["Revision: M66FAR01A12"])
        case ("CMEE", .read): respond(["+CMEE: \(cmee)"])
        case ("CMEE", .test): respond(["+CMEE: (0-2)"])
        case ("CMEE", .write(let a)):
            guard a.count == 1, let v = a[0].int, (0...2).contains(v) else { return error() }
            cmee = v; ok()
        case ("CGATT", .read): respond(["+CGATT: \(cgatt)"])
        case ("CGATT", .test): respond(["+CGATT: (0,1)"])
        case ("CGATT", .write(let a)):
            guard a.count == 1, let v = a[0].int, (0...1).contains(v) else { return error() }
            if v == 1 && options.packetService != .available { return error() }
            cgatt = v
            if v == 0 { closeAllSockets(); pdp = .initial; pdpDeactAt = nil }
            ok()
        case ("CGREG", .read):
            switch options.packetService {
            case .available: respond(["+CGREG: 0,\(cgatt == 1 ? 1 : 0)"])
            case .refused: respond(["+CGREG: 0,3"])
            case .searching: respond(["+CGREG: 0,2"])
            }
        case ("CREG", .read): respond(["+CREG: 0,1"])
        case ("CGREG", .write), ("CREG", .write): ok()
        case ("CSQ", .exec): respond(["+CSQ: 22,0"])
        case ("CPIN", .read): respond(["+CPIN: READY"])
        case ("CFUN", .read): respond(["+CFUN: 1"])
        case ("IPR", .read): respond(["+IPR: 0"])
        case ("IPR", .write), ("IFC", .write): ok()
        case ("QSECWRITE", let f): secWrite(f, now: now)
        case ("QSECREAD", let f): secRead(f)
        case ("QSECDEL", let f): secDel(f)
        case ("QSSLCFG", let f): sslCfg(f)
        case ("QSSLOPEN", .test): respond(["+QSSLOPEN: (0-5),(0-5),\"<ipaddr/domainname>\",(1-65535),(0,1),(10-300)"])
        case ("QSSLOPEN", .read): ok()
        case ("QSSLOPEN", .write(let a)): sslOpen(a, now: now)
        case ("QSSLSEND", .test): respond(["+QSSLSEND: (0-5),(1-1460)"])
        case ("QSSLSEND", .read): ok()
        case ("QSSLSEND", .write(let a)): send(a, kind: .ssl)
        case ("QSSLRECV", .test): respond(["+QSSLRECV: (0,1),(0-5),(1-1500)"])
        case ("QSSLRECV", .write(let a)): sslRecv(a)
        case ("QSSLCLOSE", .test): respond(["+QSSLCLOSE: (0-5),(0,1)"])
        case ("QSSLCLOSE", .read): ok()
        case ("QSSLCLOSE", .write(let a)): closeCmd(a, kind: .ssl)
        case ("QSSLSTATE", .exec): sslState()
        case ("QSSLSTATE", .test), ("QSSLSTATE", .read): ok()
        case ("QIFGCNT", .write(let a)):
            guard a.count == 1, let v = a[0].int, (0...1).contains(v) else { return error() }
            fgcnt = v; ok()
        case ("QIFGCNT", .read): respond(["+QIFGCNT: \(fgcnt),0"])
        case ("QICSGP", .write(let a)):
            guard a.count >= 1, let mode = a[0].int, (0...1).contains(mode), a.count <= 5 else { return error() }
            apn = a.count > 1 ? a[1].text : ""
            ok()
        case ("QICSGP", .read): respond(["+QICSGP: 1,\"\(apn)\",\"\",\"\""])
        case ("QIREGAPP", .exec), ("QIREGAPP", .write):
            guard pdp == .initial || pdp == .start else { return error() }
            pdp = .start; ok()
        case ("QIREGAPP", .read): respond(["+QIREGAPP: \"\(apn)\",\"\",\"\""])
        case ("QIACT", .exec):
            guard cgatt == 1, pdp == .initial || pdp == .start else { return error() }
            pdp = .gprsact
            if let t = options.pdpDeactAfterSeconds { pdpDeactAt = now + t }
            ok()
        case ("QILOCIP", .exec):
            guard pdp == .gprsact || pdp == .status else { return error() }
            pdp = .status
            raw("\r\n\(options.localIP)\r\n")
        case ("QIMUX", .write(let a)):
            guard a.count == 1, let v = a[0].int, (0...1).contains(v) else { return error() }
            if v != qimux && sockets.contains(where: { $0?.kind == .tcp }) { return error() }
            qimux = v; ok()
        case ("QIMUX", .read): respond(["+QIMUX: \(qimux)"])
        case ("QINDI", .write(let a)):
            guard a.count == 1, let v = a[0].int, (0...2).contains(v) else { return error() }
            qindi = v; ok()
        case ("QINDI", .read): respond(["+QINDI: \(qindi)"])
        case ("QIOPEN", .write(let a)): tcpOpen(a, now: now)
        case ("QISEND", .write(let a)): send(a, kind: .tcp)
        case ("QIRD", .write(let a)): tcpRead(a)
        case ("QICLOSE", .write(let a)): closeCmd(a, kind: .tcp)
        case ("QIDEACT", .exec):
            closeAllSockets()
            pdp = .initial
            pdpDeactAt = nil
            respond(final: "DEACT OK")
        default:
            error()
        }
    }

    // MARK: security data

    /// "RAM:x" (any name) or "NVRAM:CA0|CA1|CC0|CK0" -> (isNVRAM, key).
    func fileKey(_ a: ATArg) -> (nv: Bool, name: String)? {
        let t = a.text
        if t.hasPrefix("RAM:") {
            let n = String(t.dropFirst(4))
            return n.isEmpty ? nil : (false, n)
        }
        if t.hasPrefix("NVRAM:") {
            let n = String(t.dropFirst(6))
            return ["CA0", "CA1", "CC0", "CK0"].contains(n) ? (true, n) : nil
        }
        return nil
    }

    func fileData(_ full: String) -> [UInt8]? {
        if full.hasPrefix("RAM:") { return ramFiles[String(full.dropFirst(4))] }
        if full.hasPrefix("NVRAM:") { return nvramFiles[String(full.dropFirst(6))] }
        return nil
    }
}

/// The four forms of an extended AT command.
enum ATForm { case exec, test, read, write([ATArg]) }
