
import CCLI

import CQSSL

// info, at, cert, pdp, ctx: one call of the C API each (or a few), printed as lines or one JSON document.

/// The module's intermediate lines for `command`, or nil if it answered an error (info shows such fields as
/// unknown instead of failing).
func atLines(_ m: OpaquePointer, _ command: String, timeoutMs: Int32 = 0) throws(Failure) -> [String]? {
    var buf = [CChar](repeating: 0, count: 65536)
    let n = qssl_at(m, command, &buf, buf.count, timeoutMs)
    if n == QSSL_EMODEM.rawValue { return nil }
    try check(n, command, m)
    return String(cString: buf).split(separator: "\n", omittingEmptySubsequences: true).map { String($0) }
}

/// The text after "PREFIX:" on the first line that has it, trimmed.
func field(_ lines: [String]?, _ prefix: String) -> String? {
    guard let lines else { return nil }
    for l in lines where l.hasPrefix(prefix) {
        var rest = l.dropFirst(prefix.count)
        while rest.first == " " { rest = rest.dropFirst() }
        return String(rest)
    }
    return nil
}

/// The n-th comma-separated number of a "+CREG: 0,1" style value.
func number(_ text: String?, _ n: Int) -> Int? {
    guard let text else { return nil }
    let parts = text.split(separator: ",")
    return n < parts.count ? Int(parts[n].trimmingSpaces) : nil
}

extension Substring {
    var trimmingSpaces: String {
        var s = self
        while s.first == " " || s.first == "\"" { s = s.dropFirst() }
        while s.last == " " || s.last == "\"" { s = s.dropLast() }
        return String(s)
    }
}

func registrationText(_ stat: Int?) -> String? {
    switch stat {
    case 0?: return "not registered"
    case 1?: return "registered (home)"
    case 2?: return "searching"
    case 3?: return "denied"
    case 5?: return "registered (roaming)"
    case .some: return "unknown"
    case nil: return nil
    }
}

let socketStatusNames = ["INITIAL", "CONNECTING", "CONNECTED", "REMOTE CLOSING", "CLOSING", "CLOSED"]

// MARK: info

func cmdInfo(_ args: [String], _ ctx: Context) throws(Failure) {
    let ops = try commandOptions(args, """
        usage: qssl info
        Model, revision, IMEI, SIM and registration state, signal, PDP state and local IP, open sockets.

        """, []) { _, _ throws(Failure) in }
    if !ops.isEmpty { throw Failure.usage("info takes no arguments") }
    let m = try ctx.open()
    let ati = try atLines(m, "ATI")
    let model = ati.flatMap { l in l.count > 1 ? l[1] : nil }
    let revision = field(ati, "Revision:")
    let imei = try atLines(m, "AT+GSN")?.first
    let sim = field(try atLines(m, "AT+CPIN?"), "+CPIN:")
    let creg = number(field(try atLines(m, "AT+CREG?"), "+CREG:"), 1)
    let cgreg = number(field(try atLines(m, "AT+CGREG?"), "+CGREG:"), 1)
    let csq = number(field(try atLines(m, "AT+CSQ"), "+CSQ:"), 0)
    let dbm: Int? = csq.flatMap { $0 >= 0 && $0 <= 31 ? -113 + 2 * $0 : nil }
    var st = qssl_state_info()
    st.size = UInt32(MemoryLayout<qssl_state_info>.size)
    try check(qssl_state(m, &st), "AT+QSSLSTATE", m)
    let ipState = fieldString(st.ip_state_text)
    var ipBuf = [CChar](repeating: 0, count: 64)
    let ip: String? = qssl_pdp_local_ip(m, &ipBuf, ipBuf.count) > 0 ? String(cString: ipBuf) : nil
    var sockets: [(Int, String, String, String, Int)] = []
    withUnsafeBytes(of: &st.sockets) { raw in
        for i in 0..<Int(st.n_sockets) {
            let s = raw.load(fromByteOffset: i * MemoryLayout<qssl_socket_info>.stride, as: qssl_socket_info.self)
            if s.status == Int32(QSSL_SOCK_INITIAL.rawValue) { continue }  // the module lists unused indexes too
            let status = s.status >= 0 && Int(s.status) < socketStatusNames.count ? socketStatusNames[Int(s.status)] : "UNKNOWN"
            sockets.append((Int(s.id), s.ssl != 0 ? "SSL" : fieldString(s.type), fieldString(s.address), status,
                            Int(s.port)))
        }
    }
    if ctx.json {
        out(JSON.obj([
            ("device", .opt(ctx.device)), ("model", .opt(model)), ("revision", .opt(revision)), ("imei", .opt(imei)),
            ("sim", .opt(sim)), ("registration", .opt(registrationText(creg))),
            ("packet_registration", .opt(registrationText(cgreg))), ("signal_csq", .opt(csq)),
            ("signal_dbm", .opt(dbm)), ("ip_state", .str(ipState)), ("local_ip", .opt(ip)),
            ("sockets", .arr(sockets.map { s in
                JSON.obj([("id", .int(s.0)), ("type", .str(s.1)), ("address", .str(s.2)), ("port", .int(s.4)),
                          ("status", .str(s.3))])
            })),
        ]).text)
        return
    }
    func line(_ k: String, _ v: String?) {
        var key = k + ":"
        while key.count < 22 { key += " " }
        out(key + (v ?? "unknown"))
    }
    line("device", ctx.device)
    line("model", model)
    line("revision", revision)
    line("IMEI", imei)
    line("SIM", sim)
    line("registration", registrationText(creg))
    line("packet registration", registrationText(cgreg))
    line("signal", csq.map { c in dbm.map { String($0) + " dBm (CSQ " + String(c) + ")" } ?? "unknown (CSQ " + String(c) + ")" })
    line("PDP", ipState)
    line("local IP", ip ?? "none")
    line("sockets", sockets.isEmpty ? "none" : String(sockets.count))
    for s in sockets {
        out("  " + String(s.0) + "  " + s.1 + "  " + s.2 + ":" + String(s.4) + "  " + s.3)
    }
}

// MARK: at

func cmdAT(_ args: [String], _ ctx: Context) throws(Failure) {
    var timeout: Int32 = 0
    let ops = try commandOptions(args, """
        usage: qssl at [--timeout MS] COMMAND
        Sends one AT command (e.g. 'AT+CSQ') and prints the module's lines as they are, then OK.
        An ERROR or +CME ERROR answer exits 4 with the error on stderr.
          --timeout MS   wait this long for the answer (default: the library's 5 s)

        """, [LongOption(name: "timeout", hasArgument: true, key: "t")]) { key, arg throws(Failure) in
        if key == "t" { timeout = Int32(try integer(arg, "--timeout", 1...300_000)) }
    }
    guard ops.count == 1 else { throw Failure.usage("at takes exactly one command, e.g. qssl at 'AT+CSQ'") }
    let m = try ctx.open()
    var buf = [CChar](repeating: 0, count: 65536)
    let n = qssl_at(m, ops[0], &buf, buf.count, timeout)
    if n == QSSL_EINVAL.rawValue {
        throw Failure.usage("'" + ops[0] + "' is not a command qssl sends (printable ASCII, no CR/LF)")
    }
    try check(n, ops[0], m)
    let lines = String(cString: buf).split(separator: "\n", omittingEmptySubsequences: true).map { String($0) }
    if ctx.json {
        out(JSON.obj([("command", .str(ops[0])), ("lines", .arr(lines.map { .str($0) })), ("result", .str("OK"))]).text)
        return
    }
    for l in lines { out(l) }
    out("OK")
}

// MARK: cert

/// Progress of an upload on stderr: a bar redrawn in place on a terminal, a line per quarter otherwise.
final class ProgressPrinter {
    let name: String
    let tty: Bool
    var lastQuarter = -1

    init(name: String) {
        self.name = name
        tty = isatty(2) == 1
    }

    func update(_ sent: Int, _ total: Int) {
        let pct = total > 0 ? sent * 100 / total : 100
        if tty {
            let width = 30
            let fill = total > 0 ? sent * width / total : width
            var bar = ""
            for i in 0..<width { bar += i < fill ? "#" : "." }
            writeText(2, "\r" + name + " [" + bar + "] " + String(pct) + "% " + String(sent) + "/" + String(total)
                      + " bytes" + (sent == total ? "\n" : ""))
        } else {
            let q = sent == total ? 4 : pct / 25
            if q > lastQuarter {
                lastQuarter = q
                err(name + ": " + String(sent) + "/" + String(total) + " bytes")
            }
        }
    }
}

/// The C callback: `user` is the ProgressPrinter.
let progressCallback: qssl_progress_fn = { _, sent, total, user in
    guard let user else { return }
    Unmanaged<ProgressPrinter>.fromOpaque(user).takeUnretainedValue().update(sent, total)
}

/// Uploads `data` as `name`, with progress on stderr unless `quiet`.
func uploadCertificate(_ m: OpaquePointer, _ name: String, _ data: [UInt8], quiet: Bool) throws(Failure) {
    let printer = ProgressPrinter(name: name)
    let rc = data.withUnsafeBytes { raw in
        withExtendedLifetime(printer) {
            qssl_cert_write_progress(m, name, raw.baseAddress, raw.count, quiet ? nil : progressCallback,
                                     quiet ? nil : Unmanaged.passUnretained(printer).toOpaque())
        }
    }
    if rc == QSSL_EINVAL.rawValue {
        throw Failure.usage("'" + name + "': the name must be RAM:<file> (1-32768 bytes) or NVRAM:CA0/CA1/CC0/CK0 "
                            + "(1-2025 bytes); the file has " + String(data.count) + " bytes")
    }
    if rc < 0 && printer.tty && !quiet { writeText(2, "\n") }
    try check(rc, "upload " + name, m)
}

func cmdCert(_ args: [String], _ ctx: Context) throws(Failure) {
    let help = """
        usage: qssl cert put NAME FILE    upload FILE as NAME (size and checksum verified by the module)
               qssl cert check NAME       is NAME stored and intact (exit 0) or damaged (exit 4)
               qssl cert rm NAME          delete NAME
        NAME is RAM:<file> (up to 32768 bytes, lost on restart) or NVRAM:CA0, NVRAM:CA1, NVRAM:CC0, NVRAM:CK0.
        Upload progress goes to stderr: a bar on a terminal, a line per quarter otherwise.

        """
    guard args.count >= 2 else { throw Failure.usage("cert needs put, check or rm (see qssl cert --help)") }
    if args[1] == "--help" || args[1] == "-h" {
        writeText(1, help)
        return
    }
    let ops = try commandOptions(["cert " + args[1]] + args.dropFirst(2), help, []) { _, _ throws(Failure) in }
    switch args[1] {
    case "put":
        guard ops.count == 2 else { throw Failure.usage("usage: qssl cert put NAME FILE") }
        let data = try readFile(ops[1])
        let m = try ctx.open()
        try uploadCertificate(m, ops[0], data, quiet: ctx.json)
        if ctx.json {
            out(JSON.obj([("name", .str(ops[0])), ("size", .int(data.count)), ("verified", .bool(true))]).text)
        } else {
            out(ops[0] + ": " + String(data.count) + " bytes uploaded, size and checksum verified")
        }
    case "check":
        guard ops.count == 1 else { throw Failure.usage("usage: qssl cert check NAME") }
        let m = try ctx.open()
        let rc = qssl_cert_check(m, ops[0])
        if rc == QSSL_EINVAL.rawValue { throw Failure.usage("'" + ops[0] + "' is not a certificate name") }
        if rc == QSSL_EMODEM.rawValue {
            if ctx.json { out(JSON.obj([("name", .str(ops[0])), ("stored", .bool(false)), ("intact", .bool(false))]).text) }
            throw Failure(status: Exit.module, message: ops[0] + ": not stored (" + errText(m) + ")")
        }
        try check(rc, "check " + ops[0], m)
        if ctx.json {
            out(JSON.obj([("name", .str(ops[0])), ("stored", .bool(true)), ("intact", .bool(rc == 1))]).text)
        } else {
            out(ops[0] + ": " + (rc == 1 ? "stored, intact" : "stored, DAMAGED"))
        }
        if rc != 1 { throw Failure(status: Exit.module, message: ops[0] + ": the module reports the file damaged") }
    case "rm":
        guard ops.count == 1 else { throw Failure.usage("usage: qssl cert rm NAME") }
        let m = try ctx.open()
        let rc = qssl_cert_delete(m, ops[0])
        if rc == QSSL_EINVAL.rawValue { throw Failure.usage("'" + ops[0] + "' is not a certificate name") }
        try check(rc, "delete " + ops[0], m)
        if !ctx.json { out(ops[0] + ": deleted") } else { out(JSON.obj([("name", .str(ops[0])), ("deleted", .bool(true))]).text) }
    default:
        throw Failure.usage("unknown cert command '" + args[1] + "' (put, check, rm)")
    }
}

/// qssl_errmsg of the handle as a String.
func errText(_ m: OpaquePointer) -> String {
    var buf = [CChar](repeating: 0, count: 512)
    qssl_errmsg_copy(m, &buf, buf.count)
    return String(cString: buf)
}

// MARK: pdp

/// The note's section 1.4.1 for each cause qssl_pdp_activate reports.
func pdpDiagnosis(_ rc: Int32) -> [String] {
    switch rc {
    case QSSL_ENOTATTACHED.rawValue:
        return ["not attached to the packet domain (AT+CGATT? says 0; AT+CGATT=1 was tried):",
                "check that the SIM has a data plan, the antenna, and the signal (qssl info)"]
    case QSSL_ENOTREG.rawValue:
        return ["not registered to the packet domain (AT+CGREG?):",
                "check the SIM (qssl info: SIM READY), coverage and signal; registration can take a minute"]
    case QSSL_ENOAPN.rawValue:
        return ["no APN set for the context (AT+QIREGAPP): give the operator's APN with --apn"]
    case QSSL_ECTXBUSY.rawValue:
        return ["the PDP context is used by PPP or was activated with AT+CGACT: stop pppd / ModemManager,",
                "or deactivate it (qssl pdp down)"]
    default:
        return ["attach, registration and APN look fine but AT+QIACT fails: check APN, user and password;",
                "the note's advice: reboot the module (qssl at 'AT+CFUN=1,1') and check again at most",
                "three times, ten minutes apart"]
    }
}

func cmdPDP(_ args: [String], _ ctx: Context) throws(Failure) {
    let help = """
        usage: qssl pdp up --apn APN [--user USER] [--password PASSWORD]
               qssl pdp down
               qssl pdp status
        up: sets the APN, activates the PDP context (AT+QIACT) and prints the local IP; on failure prints the
        application note's diagnosis (section 1.4.1: attach, registration, APN, context in use).

        """
    guard args.count >= 2 else { throw Failure.usage("pdp needs up, down or status (see qssl pdp --help)") }
    if args[1] == "--help" || args[1] == "-h" {
        writeText(1, help)
        return
    }
    var apn: String? = nil, user = "", password = ""
    let ops = try commandOptions(["pdp " + args[1]] + args.dropFirst(2), help, [
        LongOption(name: "apn", hasArgument: true, key: "a"),
        LongOption(name: "user", hasArgument: true, key: "u"),
        LongOption(name: "password", hasArgument: true, key: "p"),
    ]) { key, arg throws(Failure) in
        switch key {
        case "a": apn = arg
        case "u": user = arg ?? ""
        default: password = arg ?? ""
        }
    }
    if !ops.isEmpty { throw Failure.usage("pdp " + args[1] + " takes no arguments") }
    switch args[1] {
    case "up":
        guard let apn else { throw Failure.usage("pdp up needs --apn APN") }
        let m = try ctx.open()
        var ipBuf = [CChar](repeating: 0, count: 64)
        if qssl_pdp_local_ip(m, &ipBuf, ipBuf.count) > 0 {
            // Already up (the module refuses a second AT+QIREGAPP): nothing to do.
            try pdpStatus(m, ctx)
            return
        }
        let rc = qssl_pdp_activate(m, apn, user, password)
        if rc == QSSL_EINVAL.rawValue { throw Failure.usage("APN, user or password not accepted: " + errText(m)) }
        if rc < 0 {
            let why = errText(m)
            for l in pdpDiagnosis(rc) { err("qssl pdp up: " + l) }
            throw Failure(status: Exit.of(rc), message: "activation failed: " + why)
        }
        try pdpStatus(m, ctx)
    case "down":
        let m = try ctx.open()
        try check(qssl_pdp_deactivate(m), "AT+QIDEACT", m)
        if ctx.json { out(JSON.obj([("active", .bool(false))]).text) } else { out("PDP context deactivated") }
    case "status":
        try pdpStatus(try ctx.open(), ctx)
    default:
        throw Failure.usage("unknown pdp command '" + args[1] + "' (up, down, status)")
    }
}

func pdpStatus(_ m: OpaquePointer, _ ctx: Context) throws(Failure) {
    var st = qssl_state_info()
    st.size = UInt32(MemoryLayout<qssl_state_info>.size)
    try check(qssl_state(m, &st), "AT+QSSLSTATE", m)
    var ipBuf = [CChar](repeating: 0, count: 64)
    let ip: String? = qssl_pdp_local_ip(m, &ipBuf, ipBuf.count) > 0 ? String(cString: ipBuf) : nil
    let state = fieldString(st.ip_state_text)
    if ctx.json {
        out(JSON.obj([("active", .bool(ip != nil)), ("state", .str(state)), ("local_ip", .opt(ip))]).text)
    } else {
        out("PDP: " + (ip != nil ? "active" : "inactive") + " (" + state + ")" + (ip.map { ", local IP " + $0 } ?? ""))
    }
}

// MARK: ctx

let versionNames = ["ssl3.0", "tls1.0", "tls1.1", "tls1.2", "all"]
let seclevelNames = ["none", "server", "server+client"]
let cipherNames: [(String, UInt16)] = [
    ("RSA_AES_256_CBC_SHA", 0x0035), ("RSA_AES_128_CBC_SHA", 0x002F), ("RSA_RC4_128_SHA", 0x0005),
    ("RSA_RC4_128_MD5", 0x0004), ("RSA_3DES_EDE_CBC_SHA", 0x000A), ("RSA_AES_256_CBC_SHA256", 0x003D),
    ("ALL", 0xFFFF),
]
/// The global settings: option name, enum qssl_ssl_setting, range.
let globalSettings: [(String, Int32, ClosedRange<Int>)] = [
    ("ignore-rtc-time", Int32(QSSL_SETTING_IGNORE_RTC_TIME.rawValue), 0...1),
    ("https", Int32(QSSL_SETTING_HTTPS.rawValue), 0...1),
    ("https-ctx", Int32(QSSL_SETTING_HTTPS_CTX.rawValue), 0...5),
    ("smtp-style", Int32(QSSL_SETTING_SMTP_STYLE.rawValue), 0...2),
    ("smtps-ctx", Int32(QSSL_SETTING_SMTPS_CTX.rawValue), 0...5),
]

func cipherName(_ code: UInt16) -> String {
    for (n, c) in cipherNames where c == code { return n }
    return "0x" + String(code, radix: 16)
}

func cmdCtx(_ args: [String], _ ctx: Context) throws(Failure) {
    let help = """
        usage: qssl ctx set N [--version V] [--ciphers C,...] [--seclevel L] [--cacert NAME]
                              [--clientcert NAME] [--clientkey NAME]
                              [--ignore-rtc-time 0|1] [--https 0|1] [--https-ctx N] [--smtp-style 0|1|2]
                              [--smtps-ctx N]
               qssl ctx show [N]
        Configures SSL context N (0-5) with AT+QSSLCFG; options not given keep their defaults (version all,
        every cipher suite, seclevel none). The last five options are the module's global settings.
          --version    ssl3.0, tls1.0, tls1.1, tls1.2 or all
          --ciphers    up to six of RSA_AES_256_CBC_SHA, RSA_AES_128_CBC_SHA, RSA_RC4_128_SHA, RSA_RC4_128_MD5,
                       RSA_3DES_EDE_CBC_SHA, RSA_AES_256_CBC_SHA256 (or 0x0035 style codes), or ALL
          --seclevel   none (0), server (1: needs --cacert), server+client (2: also --clientcert, --clientkey)
          --cacert, --clientcert, --clientkey   certificate names as uploaded (RAM:ca.pem, NVRAM:CA0...)

        """
    guard args.count >= 2 else { throw Failure.usage("ctx needs set or show (see qssl ctx --help)") }
    if args[1] == "--help" || args[1] == "-h" {
        writeText(1, help)
        return
    }
    var cfg = qssl_ctx_config()
    qssl_ctx_config_init(&cfg)
    var globals: [(Int32, Int32)] = []
    var longs = [
        LongOption(name: "version", hasArgument: true, key: "\u{110}"),
        LongOption(name: "ciphers", hasArgument: true, key: "\u{111}"),
        LongOption(name: "seclevel", hasArgument: true, key: "\u{112}"),
        LongOption(name: "cacert", hasArgument: true, key: "\u{113}"),
        LongOption(name: "clientcert", hasArgument: true, key: "\u{114}"),
        LongOption(name: "clientkey", hasArgument: true, key: "\u{115}"),
    ]
    for (i, g) in globalSettings.enumerated() {
        longs.append(LongOption(name: g.0, hasArgument: true, key: Unicode.Scalar(UInt32(0x120 + i))!))
    }
    let ops = try commandOptions(["ctx " + args[1]] + args.dropFirst(2), help, longs) { key, arg throws(Failure) in
        let a = arg ?? ""
        switch key {
        case "\u{110}":
            guard let v = versionNames.firstIndex(of: asciiCase(a, upper: false)) else {
                throw Failure.usage("--version must be one of " + versionNames.joined(separator: ", "))
            }
            cfg.version = Int32(v)
        case "\u{111}":
            var codes: [UInt16] = []
            for part in a.split(separator: ",") {
                let p = asciiCase(String(part), upper: true)
                if let c = cipherNames.first(where: { $0.0 == p }) {
                    codes.append(c.1)
                } else if p.hasPrefix("0X"), let v = UInt16(p.dropFirst(2), radix: 16) {
                    codes.append(v)
                } else {
                    throw Failure.usage("unknown cipher suite '" + String(part) + "' (see qssl ctx --help)")
                }
            }
            guard !codes.isEmpty && codes.count <= 6 else { throw Failure.usage("--ciphers takes 1-6 suites") }
            cfg.n_ciphersuites = UInt32(codes.count)
            withUnsafeMutableBytes(of: &cfg.ciphersuites) { raw in
                for (i, c) in codes.enumerated() { raw.storeBytes(of: c, toByteOffset: i * 2, as: UInt16.self) }
            }
        case "\u{112}":
            if let v = seclevelNames.firstIndex(of: asciiCase(a, upper: false)) {
                cfg.seclevel = Int32(v)
            } else {
                cfg.seclevel = Int32(try integer(a, "--seclevel", 0...2))
            }
        case "\u{113}": if !setField(&cfg.cacert, a) { throw Failure.usage("--cacert name too long") }
        case "\u{114}": if !setField(&cfg.clientcert, a) { throw Failure.usage("--clientcert name too long") }
        case "\u{115}": if !setField(&cfg.clientkey, a) { throw Failure.usage("--clientkey name too long") }
        default:
            let i = Int(key.value) - 0x120
            let g = globalSettings[i]
            globals.append((g.1, Int32(try integer(a, "--" + g.0, g.2))))
        }
    }
    switch args[1] {
    case "set":
        guard ops.count == 1 else { throw Failure.usage("usage: qssl ctx set N [options]") }
        let n = Int32(try integer(ops[0], "context", 0...5))
        let m = try ctx.open()
        let rc = qssl_ctx_configure(m, n, &cfg)
        if rc == QSSL_EINVAL.rawValue {
            throw Failure.usage("context settings refused: " + errText(m)
                                + " (seclevel server needs --cacert; server+client also --clientcert and --clientkey)")
        }
        try check(rc, "AT+QSSLCFG", m)
        for (setting, value) in globals { try check(qssl_ssl_setting_set(m, setting, value), "AT+QSSLCFG", m) }
        try showContexts(m, [n], ctx)
    case "show":
        guard ops.count <= 1 else { throw Failure.usage("usage: qssl ctx show [N]") }
        let m = try ctx.open()
        let which: [Int32] = ops.isEmpty ? [0, 1, 2, 3, 4, 5] : [Int32(try integer(ops[0], "context", 0...5))]
        try showContexts(m, which, ctx)
    default:
        throw Failure.usage("unknown ctx command '" + args[1] + "' (set, show)")
    }
}

func showContexts(_ m: OpaquePointer, _ which: [Int32], _ ctx: Context) throws(Failure) {
    var items: [JSON] = []
    for n in which {
        var c = qssl_ctx_config()
        c.size = UInt32(MemoryLayout<qssl_ctx_config>.size)
        try check(qssl_ctx_query(m, n, &c), "AT+QSSLCFG=\"ctxindex\"," + String(n), m)
        var suites: [String] = []
        withUnsafeBytes(of: &c.ciphersuites) { raw in
            for i in 0..<min(Int(c.n_ciphersuites), 6) {
                suites.append(cipherName(raw.load(fromByteOffset: i * 2, as: UInt16.self)))
            }
        }
        let version = c.version >= 0 && Int(c.version) < versionNames.count ? versionNames[Int(c.version)] : "?"
        let sec = c.seclevel >= 0 && Int(c.seclevel) < seclevelNames.count ? seclevelNames[Int(c.seclevel)] : "?"
        let ca = fieldString(c.cacert), cc = fieldString(c.clientcert), ck = fieldString(c.clientkey)
        if ctx.json {
            items.append(.obj([("ctx", .int(Int(n))), ("version", .str(version)),
                               ("ciphers", .arr(suites.map { .str($0) })), ("seclevel", .str(sec)),
                               ("cacert", ca.isEmpty ? .null : .str(ca)), ("clientcert", cc.isEmpty ? .null : .str(cc)),
                               ("clientkey", ck.isEmpty ? .null : .str(ck))]))
        } else {
            out("ctx " + String(n) + ": version " + version + ", seclevel " + sec + ", ciphers "
                + suites.joined(separator: ",") + (ca.isEmpty ? "" : ", cacert " + ca)
                + (cc.isEmpty ? "" : ", clientcert " + cc) + (ck.isEmpty ? "" : ", clientkey " + ck))
        }
    }
    var settings: [(String, JSON)] = []
    for g in globalSettings {
        var v: Int32 = 0
        try check(qssl_ssl_setting_get(m, g.1, &v), "AT+QSSLCFG=\"" + g.0 + "\"", m)
        settings.append((g.0, .int(Int(v))))
        if !ctx.json && which.count > 1 { out(g.0 + ": " + String(v)) }
    }
    if ctx.json {
        out(JSON.obj([("contexts", .arr(items)), ("settings", .obj(settings))]).text)
    }
}
