/// Pure decoders for the module's answers (intermediate lines as the channel collects them).
/// Each throws `.proto` when the expected line is missing or malformed.
public enum ATDecoders {
    /// Fields of the first line starting with `prefix`.
    static func first(_ lines: [String], _ prefix: String) -> [String]? {
        for l in lines {
            if let f = responseFields(l, prefix: prefix) { return f }
        }
        return nil
    }

    /// "+QSECWRITE: <uploadsize>,<checksum>" -> (size, checksum).
    public static func secWrite(_ lines: [String]) throws(QsslError) -> (size: Int, checksum: UInt16) {
        guard let f = first(lines, "+QSECWRITE:"), f.count == 2, let n = parseDecimal(f[0]), n >= 0,
              let c = parseHex16(Substring(f[1])) else { throw .proto }
        return (n, c)
    }

    /// Compares the module's report with what was sent; `.checksum` on any difference.
    public static func verifyUpload(_ lines: [String], sentSize: Int, sentChecksum: UInt16) throws(QsslError) {
        let r = try secWrite(lines)
        if r.size != sentSize || r.checksum != sentChecksum { throw .checksum }
    }

    /// "+QSECREAD: <good>,<checksum>" -> good flag (the checksum uses another algorithm; see facts).
    public static func secReadGood(_ lines: [String]) throws(QsslError) -> Bool {
        guard let f = first(lines, "+QSECREAD:"), f.count >= 1, let g = parseDecimal(f[0]),
              g == 0 || g == 1 else { throw .proto }
        return g == 1
    }

    /// Maps the connect code of "+QSSLOPEN: <ssid>,<code>": 0 -> nil (success), -2 -> `.occupied`,
    /// anything else (-1) -> `.connectFailed`.
    public static func sslOpenError(code: Int) -> QsslError? {
        switch code {
        case 0: return nil
        case -2: return .occupied
        default: return .connectFailed
        }
    }

    static func certName(_ s: String) -> CertName? {
        if s.isEmpty { return nil }
        return try? CertName(s)
    }

    static func suites(_ fields: ArraySlice<String>) throws(QsslError) -> [CipherSuite] {
        var out: [CipherSuite] = []
        for f in fields {
            for part in f.split(whereSeparator: { $0 == "," || $0 == ";" || $0 == ":" || $0 == " " }) {
                guard let s = CipherSuite.parse(String(part)) else { throw .proto }
                out.append(s)
            }
        }
        if out.isEmpty { throw .proto }
        return out
    }

    /// "+QSSLCFG: "<setting>",[<ctx>,]<value>" for `key`. Accepts answers with or without the context index
    /// and the note's "smtpctxi" spelling for smtpsctxi.
    public static func sslSetting(_ key: SSLSettingKey, _ lines: [String]) throws(QsslError) -> SSLSettingValue {
        var found: [String]? = nil
        for l in lines {
            guard let f = responseFields(l, prefix: "+QSSLCFG:"), let name = f.first else { continue }
            if name == key.name || (key == .smtpsContext && name == "smtpctxi") {
                found = Array(f.dropFirst())
                break
            }
        }
        guard var v = found, !v.isEmpty else { throw .proto }
        // Drop a leading context index when the value follows it.
        if key.perContext && v.count >= 2 && key != .cipherSuite { v = Array(v.suffix(1)) }
        if key == .cipherSuite && v.count >= 2, let _ = parseDecimal(v[0]), !v[0].contains("X"), !v[0].contains("x"),
           v[0].utf8.count == 1 {
            v.removeFirst()
        }
        let s = v[v.count - 1]
        func int() throws(QsslError) -> Int {
            guard let n = parseDecimal(s) else { throw .proto }
            return n
        }
        switch key {
        case .sslVersion:
            guard let x = SSLVersion(rawValue: Int32(clamping: try int())) else { throw .proto }
            return .sslVersion(x)
        case .cipherSuite: return .cipherSuites(try suites(v[...]))
        case .secLevel:
            guard let x = SecLevel(rawValue: Int32(clamping: try int())) else { throw .proto }
            return .secLevel(x)
        case .caCert: return .caCert(certName(s))
        case .clientCert: return .clientCert(certName(s))
        case .clientKey: return .clientKey(certName(s))
        case .ignoreRTCTime: return .ignoreRTCTime(try int() != 0)
        case .https: return .https(try int() != 0)
        case .httpsContext: return .httpsContext(try int())
        case .smtpStyle:
            guard let x = SMTPStyle(rawValue: Int32(clamping: try int())) else { throw .proto }
            return .smtpStyle(x)
        case .smtpsContext: return .smtpsContext(try int())
        }
    }

    /// "+QSSLCFG: <ctx>,<sslversion>,<seclevel>,<ciphersuite>,<cacert>,<clientcert>,<clientkey>" (the answer
    /// to AT+QSSLCFG="ctxindex",<ctx>) -> one value. Empty names decode as nil.
    public static func sslContext(_ lines: [String]) throws(QsslError) -> SSLContextConfig {
        guard let f = first(lines, "+QSSLCFG:"), f.count >= 7, let ctx = parseDecimal(f[0]),
              let vn = parseDecimal(f[1]), let v = SSLVersion(rawValue: Int32(clamping: vn)),
              let ln = parseDecimal(f[2]), let l = SecLevel(rawValue: Int32(clamping: ln)) else { throw .proto }
        let n = f.count
        let s = try suites(f[3..<(n - 3)])
        return SSLContextConfig(context: ctx, version: v, cipherSuites: s, secLevel: l,
                                caCert: certName(f[n - 3]), clientCert: certName(f[n - 2]),
                                clientKey: certName(f[n - 1]))
    }

    /// AT+QSSLSTATE: "+QSSLSTATE: <state>" then one "+QSSLSTATE: <idx>,<type>,<ip>,<port>,<status>,<ssl>"
    /// per socket. A socket line with a bad number is `.proto`; a missing state line gives `.unknown`.
    public static func sslState(_ lines: [String]) throws(QsslError) -> SSLStateReport {
        var report = SSLStateReport(ipState: .unknown, ipStateText: "", sockets: [])
        var sawAny = false
        for l in lines {
            guard let f = responseFields(l, prefix: "+QSSLSTATE:") else { continue }
            sawAny = true
            if f.count == 1 {
                report.ipStateText = f[0]
                report.ipState = IPState(text: f[0])
            } else if f.count >= 6 {
                guard let idx = parseDecimal(f[0]), let port = parseDecimal(f[3]),
                      let ssl = parseDecimal(f[5]) else { throw .proto }
                report.sockets.append(SocketStateEntry(index: idx, type: f[1], address: f[2], port: port,
                                                       status: SocketStatus(text: f[4]), isSSL: ssl == 1))
            } else {
                throw .proto
            }
        }
        if !sawAny && !lines.isEmpty { throw .proto }
        return report
    }

    /// "+CGATT: <state>" -> attached?
    public static func attached(_ lines: [String]) throws(QsslError) -> Bool {
        guard let f = first(lines, "+CGATT:"), let s = f.first, let n = parseDecimal(s) else { throw .proto }
        return n == 1
    }

    /// "+CGREG: <n>,<stat>[,...]" -> stat (1 home, 5 roaming = registered).
    public static func registrationStatus(_ lines: [String]) throws(QsslError) -> Int {
        guard let f = first(lines, "+CGREG:"), f.count >= 2, let n = parseDecimal(f[1]) else { throw .proto }
        return n
    }

    /// True for registration states 1 (home) and 5 (roaming).
    public static func isRegistered(_ stat: Int) -> Bool { stat == 1 || stat == 5 }

    /// "+QIREGAPP: "<apn>","<user>","<pwd>"" -> APN ("" if the line is missing).
    public static func registeredAPN(_ lines: [String]) -> String {
        guard let f = first(lines, "+QIREGAPP:"), let a = f.first else { return "" }
        return a
    }

    /// "+CGACT: <cid>,<state>" lines -> cids that are active.
    public static func activeContexts(_ lines: [String]) -> [Int] {
        var out: [Int] = []
        for l in lines {
            guard let f = responseFields(l, prefix: "+CGACT:"), f.count >= 2, let c = parseDecimal(f[0]),
                  let s = parseDecimal(f[1]) else { continue }
            if s == 1 { out.append(c) }
        }
        return out
    }

    /// AT+QILOCIP's bare line -> dotted IPv4 text; `.proto` if it is not one.
    public static func localIP(_ lines: [String]) throws(QsslError) -> String {
        for l in lines {
            var t = Substring(l)
            while t.first == " " { t = t.dropFirst() }
            while t.last == " " { t = t.dropLast() }
            let parts = t.split(separator: ".", omittingEmptySubsequences: false)
            if parts.count == 4 && parts.allSatisfy({ p in
                guard let n = parseDecimal(String(p)), !p.isEmpty, p.utf8.count <= 3 else { return false }
                return n >= 0 && n <= 255
            }) { return String(t) }
        }
        throw .proto
    }
}
