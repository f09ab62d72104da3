/// Pure builders for every AT command of the application note (and the TCP/IP and 27.007 commands its
/// flows use). Each returns the command line without the trailing CR and throws `.invalidArgument`
/// before anything could be sent when an argument is out of range or unsafe (see `ATArgument`).
public enum ATCommands {
    /// Largest payload of one AT+QSSLSEND / AT+QISEND.
    public static let maxSendChunk = 1460
    /// Largest read of one AT+QSSLRECV / AT+QIRD.
    public static let maxRecvChunk = 1500

    // MARK: Certificates

    /// AT+QSECWRITE="<name>",<size>,<timeout>: size within the storage limit, timeout 3-200 s.
    public static func secWrite(_ name: CertName, size: Int, timeoutS: Int = 100) throws(QsslError) -> String {
        try name.checkSize(size)
        try ATArgument.checkRange(timeoutS, 3...200)
        return "AT+QSECWRITE=\"\(name.text)\",\(size),\(timeoutS)"
    }

    /// AT+QSECREAD="<name>"
    public static func secRead(_ name: CertName) -> String { "AT+QSECREAD=\"\(name.text)\"" }

    /// AT+QSECDEL="<name>"
    public static func secDelete(_ name: CertName) -> String { "AT+QSECDEL=\"\(name.text)\"" }

    // MARK: Packet data

    /// AT+QIFGCNT=<id>: foreground context 0-1.
    public static func setForegroundContext(_ id: Int) throws(QsslError) -> String {
        try ATArgument.checkRange(id, 0...1)
        return "AT+QIFGCNT=\(id)"
    }

    /// AT+QICSGP=1,"<apn>"[,"<user>","<password>"] (bearer GPRS). APN must be non-empty; user and password
    /// may be empty; none may hold a quote or control byte.
    public static func setAPN(_ apn: String, user: String = "", password: String = "") throws(QsslError) -> String {
        let a = try ATArgument.quoted(apn)
        let u = try ATArgument.quoted(user, allowEmpty: true)
        let p = try ATArgument.quoted(password, allowEmpty: true)
        if user.isEmpty && password.isEmpty { return "AT+QICSGP=1,\(a)" }
        return "AT+QICSGP=1,\(a),\(u),\(p)"
    }

    public static let registerApp = "AT+QIREGAPP"
    /// Query form: "+QIREGAPP: "<apn>","<user>","<pwd>"".
    public static let queryRegisterApp = "AT+QIREGAPP?"
    public static let activatePDP = "AT+QIACT"
    /// Answers with a bare IP line and no OK.
    public static let localIP = "AT+QILOCIP"
    public static let enableMux = "AT+QIMUX=1"
    public static let enableDataIndication = "AT+QINDI=1"
    public static let deactivatePDP = "AT+QIDEACT"
    public static let queryAttach = "AT+CGATT?"
    public static let attach = "AT+CGATT=1"
    public static let queryRegistration = "AT+CGREG?"
    public static let queryPDPActive = "AT+CGACT?"

    // MARK: SSL contexts

    /// Throws unless 1-6 distinct suites of the note's six codes, or 0xFFFF (all) alone.
    public static func checkSuites(_ suites: [CipherSuite]) throws(QsslError) {
        if suites.isEmpty || suites.count > CipherSuite.knownCodes.count - 1 { throw .invalidArgument }
        // At most six codes: a linear search (no hash table in the shipped library).
        var seen: [UInt16] = []
        for s in suites {
            if seen.contains(s.rawValue) { throw .invalidArgument }
            seen.append(s.rawValue)
        }
        if suites.count > 1 && seen.contains(0xFFFF) { throw .invalidArgument }
    }

    /// The ciphersuite parameter: one quoted string, codes joined by ',' ("0XFFFF", "0X0035,0X002F").
    public static func suiteList(_ suites: [CipherSuite]) throws(QsslError) -> String {
        try checkSuites(suites)
        var s = "\""
        for (i, c) in suites.enumerated() {
            if i > 0 { s += "," }
            s += c.text
        }
        return s + "\""
    }

    /// AT+QSSLCFG="<setting>",[<ctx>,]<value>. `context` is used (0-5) for the six per-context settings and
    /// ignored for the global ones. Context indexes inside values (httpsctxi, smtpsctxi) must be 0-5.
    public static func sslSet(_ value: SSLSettingValue, context: Int) throws(QsslError) -> String {
        let key = value.key
        var head = "AT+QSSLCFG=\"\(key.name)\","
        if key.perContext {
            _ = try ContextIndex(context)
            head += "\(context),"
        }
        switch value {
        case .sslVersion(let v): return head + "\(v.rawValue)"
        case .cipherSuites(let s): return head + (try suiteList(s))
        case .secLevel(let l): return head + "\(l.rawValue)"
        case .caCert(let n), .clientCert(let n), .clientKey(let n):
            guard let n else { throw .invalidArgument }
            return head + "\"\(n.text)\""
        case .ignoreRTCTime(let b), .https(let b): return head + (b ? "1" : "0")
        case .httpsContext(let c), .smtpsContext(let c):
            _ = try ContextIndex(c)
            return head + "\(c)"
        case .smtpStyle(let s): return head + "\(s.rawValue)"
        }
    }

    /// AT+QSSLCFG="<setting>"[,<ctx>]: query one setting.
    public static func sslQuery(_ key: SSLSettingKey, context: Int) throws(QsslError) -> String {
        if key.perContext {
            _ = try ContextIndex(context)
            return "AT+QSSLCFG=\"\(key.name)\",\(context)"
        }
        return "AT+QSSLCFG=\"\(key.name)\""
    }

    /// AT+QSSLCFG="ctxindex",<ctx>: everything of one context on one line.
    public static func sslQueryContext(_ context: Int) throws(QsslError) -> String {
        _ = try ContextIndex(context)
        return "AT+QSSLCFG=\"ctxindex\",\(context)"
    }

    /// The commands that apply a whole context config (validated first), in the note's order.
    public static func sslConfigure(_ c: SSLContextConfig) throws(QsslError) -> [String] {
        try c.validate()
        var out = [
            try sslSet(.sslVersion(c.version), context: c.context),
            try sslSet(.cipherSuites(c.cipherSuites), context: c.context),
            try sslSet(.secLevel(c.secLevel), context: c.context),
        ]
        if let n = c.caCert { out.append(try sslSet(.caCert(n), context: c.context)) }
        if let n = c.clientCert { out.append(try sslSet(.clientCert(n), context: c.context)) }
        if let n = c.clientKey { out.append(try sslSet(.clientKey(n), context: c.context)) }
        return out
    }

    // MARK: SSL sockets

    /// AT+QSSLOPEN=<ssid>,<ctx>,"<host>",<port>,<mode>,<timeout>: ssid/ctx 0-5, port 1-65535,
    /// timeout 10-300 s, host a safe string.
    public static func sslOpen(socket: Int, context: Int, host: String, port: Int, transparent: Bool,
                               timeoutS: Int = 90) throws(QsslError) -> String {
        _ = try SocketIndex(socket)
        _ = try ContextIndex(context)
        try ATArgument.checkRange(port, 1...65535)
        try ATArgument.checkRange(timeoutS, 10...300)
        let h = try ATArgument.quoted(host)
        return "AT+QSSLOPEN=\(socket),\(context),\(h),\(port),\(transparent ? 1 : 0),\(timeoutS)"
    }

    /// AT+QSSLSEND=<ssid>,<len> (fixed length, binary safe), len 1-1460.
    public static func sslSend(socket: Int, length: Int) throws(QsslError) -> String {
        _ = try SocketIndex(socket)
        try ATArgument.checkRange(length, 1...maxSendChunk)
        return "AT+QSSLSEND=\(socket),\(length)"
    }

    /// AT+QSSLRECV=<cid>,<ssid>,<len>: cid 0-2 (as the URC reports it), len 1-1500.
    public static func sslRecv(cid: Int, socket: Int, length: Int = 1500) throws(QsslError) -> String {
        try ATArgument.checkRange(cid, 0...2)
        _ = try SocketIndex(socket)
        try ATArgument.checkRange(length, 1...maxRecvChunk)
        return "AT+QSSLRECV=\(cid),\(socket),\(length)"
    }

    /// AT+QSSLCLOSE=<ssid>
    public static func sslClose(socket: Int) throws(QsslError) -> String {
        _ = try SocketIndex(socket)
        return "AT+QSSLCLOSE=\(socket)"
    }

    public static let sslState = "AT+QSSLSTATE"

    // MARK: Plain TCP (multi-connection mode)

    /// AT+QIOPEN=<index>,"TCP","<host>",<port> (the note's form, port unquoted).
    public static func tcpOpen(socket: Int, host: String, port: Int) throws(QsslError) -> String {
        _ = try SocketIndex(socket)
        try ATArgument.checkRange(port, 1...65535)
        let h = try ATArgument.quoted(host)
        return "AT+QIOPEN=\(socket),\"TCP\",\(h),\(port)"
    }

    /// AT+QISEND=<index>,<len>, len 1-1460.
    public static func tcpSend(socket: Int, length: Int) throws(QsslError) -> String {
        _ = try SocketIndex(socket)
        try ATArgument.checkRange(length, 1...maxSendChunk)
        return "AT+QISEND=\(socket),\(length)"
    }

    /// AT+QIRD=<cid>,<sc>,<sid>,<len> with the numbers of the +QIRDI URC, len 1-1500.
    public static func tcpRead(cid: Int, sc: Int, socket: Int, length: Int = 1500) throws(QsslError) -> String {
        try ATArgument.checkRange(cid, 0...2)
        try ATArgument.checkRange(sc, 1...2)
        _ = try SocketIndex(socket)
        try ATArgument.checkRange(length, 1...maxRecvChunk)
        return "AT+QIRD=\(cid),\(sc),\(socket),\(length)"
    }

    /// AT+QICLOSE=<index>
    public static func tcpClose(socket: Int) throws(QsslError) -> String {
        _ = try SocketIndex(socket)
        return "AT+QICLOSE=\(socket)"
    }
}
