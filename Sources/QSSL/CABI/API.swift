import CPosix
import CQSSL
import QSSLCore

// The functions of include/qssl.h. A thin shell: check the C arguments (nothing unchecked is dereferenced),
// convert types, call the Modem, turn its typed errors into the header's codes. Behaviour lives in Modem.

/// A StaticString as a C string (static storage; NUL-terminated by the compiler).
@inline(__always)
func staticC(_ s: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
}

/// `size` field of a versioned struct, read without assuming the rest of the struct is there.
@inline(__always)
func structSize(_ p: UnsafeRawPointer) -> Int {
    Int(p.load(as: UInt32.self))
}

/// qssl_modem_options as published in 0.1/0.2: five 32-bit fields, then the two pointers (log, log_user).
let optionsV1Size = (20 + MemoryLayout<UnsafeRawPointer>.alignment - 1) / MemoryLayout<UnsafeRawPointer>.alignment
    * MemoryLayout<UnsafeRawPointer>.alignment + 2 * MemoryLayout<UnsafeRawPointer>.size
let optionsSize = MemoryLayout<qssl_modem_options>.size
let ctxConfigV1Size = MemoryLayout<qssl_ctx_config>.size
let eventV1Size = MemoryLayout<qssl_event>.size
let stateV1Size = MemoryLayout<qssl_state_info>.size
let socketInfoSize = MemoryLayout<qssl_socket_info>.size

// MARK: - Library and errors

/// Built from the header's macros so the text cannot drift from the version programs compile against. Made
/// once and never freed: callers keep the pointer as static text.
nonisolated(unsafe) private let versionText: UnsafeMutablePointer<CChar>? =
    "\(QSSL_VERSION_MAJOR).\(QSSL_VERSION_MINOR)".withCString { strdup($0) }

/// Library version as static text.
@implementation @c public func qssl_version() -> UnsafePointer<CChar>! {
    versionText.map { UnsafePointer($0) } ?? staticC("?")
}

/// The last failure on this handle (owned by the handle), or static text.
@implementation @c public func qssl_errmsg(_ m: OpaquePointer?) -> UnsafePointer<CChar>! {
    if m == nil { return staticC("invalid handle (NULL)") }
    switch registry.lookup(m) {
    case .failure(let e): return e == .closed ? staticC("handle is closed") : staticC("not a qssl handle")
    case .success(let h): return h.lastText ?? staticC("no error")
    }
}

/// Copies qssl_errmsg(m) into buf ("Text out" rules).
@implementation @c public func qssl_errmsg_copy(_ m: OpaquePointer?, _ buf: UnsafeMutablePointer<CChar>?,
                                                _ cap: Int) -> Int32 {
    withHandle(m) { h throws(QsslError) -> Int32 in
        if cap < 0 || cap > maxCount || (buf == nil && cap > 0) { return QsslError.invalidArgument.rawValue }
        return h.withLastText { p in copyOut(p.map { String(cString: $0) } ?? "no error", buf, cap) }
    }
}

// MARK: - Opening and closing

/// Every option at its default, in this library's full layout.
func defaultModemOptions() -> qssl_modem_options {
    qssl_modem_options(size: UInt32(optionsSize), baud: 115200, rtscts: 0, open_timeout_ms: 5000,
                       command_timeout_ms: 5000, log: nil, log_user: nil, reapply_after_reset: 0,
                       supervisor_apn: nil, supervisor_user: nil, supervisor_password: nil,
                       supervisor_interval_ms: 600_000, supervisor_attempts: 3)
}

/// Writes the defaults into the first `size` bytes at `opts` (never past them) and sets `size` to the bytes set.
private func initModemOptions(_ opts: UnsafeMutableRawPointer?, _ size: Int) -> Int32 {
    guard let opts, size >= optionsV1Size else { return QsslError.invalidArgument.rawValue }
    let n = min(size, optionsSize)
    var o = defaultModemOptions()
    o.size = UInt32(n)
    withUnsafeBytes(of: &o) { opts.copyMemory(from: $0.baseAddress!, byteCount: n) }
    return 0
}

@implementation @c public func qssl_modem_options_init(_ opts: UnsafeMutablePointer<qssl_modem_options>?) -> Int32 {
    initModemOptions(opts.map { UnsafeMutableRawPointer($0) }, optionsV1Size)
}

@implementation @c public func qssl_modem_options_init_size(_ opts: UnsafeMutablePointer<qssl_modem_options>?,
                                                            _ size: Int) -> Int32 {
    initModemOptions(opts.map { UnsafeMutableRawPointer($0) }, size)
}

@implementation @c public func qssl_modem_open(_ device: UnsafePointer<CChar>?,
                                               _ options: UnsafePointer<qssl_modem_options>?,
                                               _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let out else { return openFailed(.invalidArgument, "out is NULL") }
    out.pointee = nil
    guard let path = cString(device), !path.isEmpty else {
        return openFailed(.invalidArgument, "device is NULL, empty or not UTF-8")
    }
    var serial = SerialOptions()
    var mo = ModemOptions()
    var log: qssl_log_fn? = nil
    var logUser: UnsafeMutableRawPointer? = nil
    var supervise: (PDPConfig, SupervisorOptions)? = nil
    if let options {
        guard structSize(options) >= optionsV1Size else { return openFailed(.invalidArgument, "options->size too small") }
        // A program built against 0.2 passes the shorter struct: copy what is there over the defaults, never
        // read past it.
        var o = defaultModemOptions()
        withUnsafeMutableBytes(of: &o) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(start: options, count: min(structSize(options), optionsSize)))
        }
        guard o.baud > 0, o.open_timeout_ms >= 0, o.command_timeout_ms >= 0 else {
            return openFailed(.invalidArgument, "bad baud or timeout")
        }
        serial.baud = Int(o.baud)
        serial.rtscts = o.rtscts != 0
        if o.open_timeout_ms > 0 { mo.startTimeoutMs = Int(o.open_timeout_ms) }
        if o.command_timeout_ms > 0 { mo.commandTimeoutMs = Int(o.command_timeout_ms) }
        log = o.log
        logUser = o.log_user
        if structSize(options) >= optionsSize {
            mo.reapplyAfterReset = o.reapply_after_reset != 0
            if o.supervisor_apn != nil {
                guard let apn = cString(o.supervisor_apn),
                      let user = o.supervisor_user == nil ? "" : cString(o.supervisor_user),
                      let pw = o.supervisor_password == nil ? "" : cString(o.supervisor_password),
                      o.supervisor_interval_ms > 0, o.supervisor_attempts > 0 else {
                    return openFailed(.invalidArgument, "bad supervisor settings")
                }
                var so = SupervisorOptions()
                so.intervalMs = Int(o.supervisor_interval_ms)
                so.attemptsBeforeReboot = Int(o.supervisor_attempts)
                supervise = (PDPConfig(apn: apn, user: user, password: pw), so)
            }
        }
    }
    let modem: Modem
    do throws(QsslError) {
        // "imei:..." / "usb:..." name a modem by identity (include/qssl.h, HOT-PLUG).
        modem = try Modem.open(device: path, serial: serial, options: mo)
    } catch {
        return openFailed(error, nil)
    }
    let h = registry.add(modem)
    var rc: Int32 = 0
    if let log { rc = h.setLog(log, logUser) }
    if rc == 0, let (cfg, so) = supervise {
        do throws(QsslError) { try modem.startSupervisor(cfg, options: so) } catch { rc = openFailed(error, nil) }
    }
    if rc != 0 {
        _ = registry.remove(h.cHandle)
        h.shutdown()
        return rc
    }
    out.pointee = h.cHandle
    return 0
}

@implementation @c public func qssl_open_errmsg(_ buf: UnsafeMutablePointer<CChar>?, _ cap: Int) -> Int32 {
    if cap < 0 || cap > maxCount || (buf == nil && cap > 0) { return QsslError.invalidArgument.rawValue }
    return copyOut(OpenFailure.text ?? "no error", buf, cap)
}

/// The calling thread's last qssl_modem_open failure (qssl_open_errmsg): per thread, since there is no handle
/// to keep it in and concurrent opens must not mix their reasons.
enum OpenFailure {
    static let key: pthread_key_t? = {
        var k = pthread_key_t()
        return pthread_key_create(&k, { p in free(p) }) == 0 ? k : nil
    }()

    static var text: String? {
        guard let key, let p = pthread_getspecific(key) else { return nil }
        return String(cString: p.assumingMemoryBound(to: CChar.self))
    }

    static func set(_ text: String) {
        guard let key else { return }
        free(pthread_getspecific(key))
        _ = pthread_setspecific(key, text.withCString { strdup($0) })
    }
}

/// Records why qssl_modem_open failed (for qssl_open_errmsg) and returns the code.
func openFailed(_ e: QsslError, _ message: String?) -> Int32 {
    OpenFailure.set(message.map { String(describingStatic: e.text) + ": " + $0 } ?? e.detailText)
    return e.rawValue
}

@implementation @c public func qssl_modem_close(_ m: OpaquePointer?) -> Int32 {
    switch registry.remove(m) {
    case .failure(let e): return e.rawValue
    case .success(let h):
        h.shutdown()
        return 0
    }
}

@implementation @c public func qssl_at(_ m: OpaquePointer?, _ cmd: UnsafePointer<CChar>?,
                                       _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int, _ timeout_ms: Int32) -> Int32 {
    withHandle(m) { h throws(QsslError) -> Int32 in
        guard let command = cString(cmd), !command.isEmpty else { return h.fail(.invalidArgument, "command is NULL, empty or not UTF-8") }
        if cap < 0 || cap > maxCount { return h.fail(.invalidArgument, "cap out of range") }
        if buf == nil && cap > 0 { return h.fail(.invalidArgument, "buf is NULL or not UTF-8") }
        let lines = try h.modem.at(command, timeoutMs: timeout_ms > 0 ? Int(timeout_ms) : nil)
        var text = ""
        for l in lines {
            text += l
            text += "\n"
        }
        return copyOut(text, buf, cap)
    }
}

// MARK: - Certificates

@implementation @c public func qssl_cert_write(_ m: OpaquePointer?, _ name: UnsafePointer<CChar>?,
                                               _ data: UnsafeRawPointer?, _ len: Int) -> Int32 {
    certWrite(m, name, data, len, nil, nil)
}

@implementation @c public func qssl_cert_write_progress(_ m: OpaquePointer?, _ name: UnsafePointer<CChar>?,
                                                        _ data: UnsafeRawPointer?, _ len: Int,
                                                        _ fn: qssl_progress_fn?,
                                                        _ user: UnsafeMutableRawPointer?) -> Int32 {
    certWrite(m, name, data, len, fn, user)
}

func certWrite(_ m: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ data: UnsafeRawPointer?, _ len: Int,
               _ fn: qssl_progress_fn?, _ user: UnsafeMutableRawPointer?) -> Int32 {
    withHandle(m) { h throws(QsslError) -> Int32 in
        guard let n = cString(name) else { return h.fail(.invalidArgument, "name is NULL or not UTF-8") }
        guard let data else { return h.fail(.invalidArgument, "data is NULL or not UTF-8") }
        // Size against the name's storage before touching the bytes: a wrong len must not read past them.
        do throws(QsslError) {
            let cn = try CertName(n)
            try cn.checkSize(len)
        } catch {
            return h.fail(.invalidArgument, "bad certificate name, or size not 1-32768 (RAM) / 1-2025 (NVRAM)")
        }
        let bytes = [UInt8](UnsafeRawBufferPointer(start: data, count: len))
        let handle = h.cHandle
        let progress: ((Int, Int) -> Void)? = fn.map { f in { sent, total in f(handle, sent, total, user) } }
        try h.modem.writeCertificate(name: n, data: bytes, replace: true, progress: progress)
        return 0
    }
}

@implementation @c public func qssl_cert_check(_ m: OpaquePointer?, _ name: UnsafePointer<CChar>?) -> Int32 {
    withHandle(m) { h throws(QsslError) -> Int32 in
        guard let n = cString(name) else { return h.fail(.invalidArgument, "name is NULL or not UTF-8") }
        return try h.modem.checkCertificate(name: n) ? 1 : 0
    }
}

@implementation @c public func qssl_cert_delete(_ m: OpaquePointer?, _ name: UnsafePointer<CChar>?) -> Int32 {
    withHandle(m) { h throws(QsslError) -> Int32 in
        guard let n = cString(name) else { return h.fail(.invalidArgument, "name is NULL or not UTF-8") }
        try h.modem.deleteCertificate(name: n)
        return 0
    }
}

// MARK: - Packet data

@implementation @c public func qssl_pdp_activate(_ m: OpaquePointer?, _ apn: UnsafePointer<CChar>?,
                                                 _ user: UnsafePointer<CChar>?,
                                                 _ password: UnsafePointer<CChar>?) -> Int32 {
    withHandle(m) { h throws(QsslError) -> Int32 in
        guard let a = cString(apn) else { return h.fail(.invalidArgument, "apn is NULL or not UTF-8") }
        // NULL means none; bytes that are not UTF-8 are refused, not dropped.
        guard let u = user == nil ? "" : cString(user), let pw = password == nil ? "" : cString(password) else {
            return h.fail(.invalidArgument, "user or password not UTF-8")
        }
        _ = try h.modem.activatePDP(PDPConfig(apn: a, user: u, password: pw))
        return 0
    }
}

@implementation @c public func qssl_pdp_local_ip(_ m: OpaquePointer?, _ buf: UnsafeMutablePointer<CChar>?,
                                                 _ cap: Int) -> Int32 {
    withHandle(m) { h throws(QsslError) -> Int32 in
        if cap < 0 || cap > maxCount || (buf == nil && cap > 0) { return h.fail(.invalidArgument, "bad buffer") }
        return copyOut(try h.modem.localIP(), buf, cap)
    }
}

@implementation @c public func qssl_pdp_deactivate(_ m: OpaquePointer?) -> Int32 {
    withHandle(m) { h throws(QsslError) -> Int32 in
        try h.modem.deactivatePDP()
        return 0
    }
}

// MARK: - SSL contexts

@implementation @c public func qssl_ctx_config_init(_ config: UnsafeMutablePointer<qssl_ctx_config>?) -> Int32 {
    guard let config else { return QsslError.invalidArgument.rawValue }
    var c = qssl_ctx_config()
    c.size = UInt32(ctxConfigV1Size)
    c.version = SSLVersion.all.rawValue
    c.seclevel = SecLevel.none.rawValue
    c.n_ciphersuites = 1
    c.ciphersuites.0 = CipherSuite.all.rawValue
    config.pointee = c
    return 0
}

/// A certificate name field: nil for "", `.invalidArgument` for a field without NUL or a bad name.
private func certField(_ raw: UnsafeRawBufferPointer) throws(QsslError) -> CertName? {
    guard let s = readField(raw) else { throw .invalidArgument }
    if s.isEmpty { return nil }
    return try CertName(s)
}

@implementation @c public func qssl_ctx_configure(_ m: OpaquePointer?, _ ctx: Int32,
                                                  _ config: UnsafePointer<qssl_ctx_config>?) -> Int32 {
    withHandle(m) { h throws(QsslError) -> Int32 in
        guard ctx >= 0 && ctx <= 5 else { return h.fail(.invalidArgument, "context not 0-5") }
        guard let config, structSize(config) >= ctxConfigV1Size else {
            return h.fail(.invalidArgument, "config is NULL or its size is too small")
        }
        let c = config.pointee
        guard let version = SSLVersion(rawValue: c.version) else { return h.fail(.invalidArgument, "version") }
        guard let sec = SecLevel(rawValue: c.seclevel) else { return h.fail(.invalidArgument, "seclevel") }
        guard c.n_ciphersuites >= 1 && c.n_ciphersuites <= 6 else {
            return h.fail(.invalidArgument, "n_ciphersuites not 1-6")
        }
        var suites: [CipherSuite] = []
        let count = Int(c.n_ciphersuites)
        let badSuite = withUnsafeBytes(of: c.ciphersuites) { raw -> Bool in
            for i in 0..<count {
                guard let s = CipherSuite(rawValue: raw.load(fromByteOffset: i * 2, as: UInt16.self)) else { return true }
                suites.append(s)
            }
            return false
        }
        if badSuite { return h.fail(.invalidArgument, "unknown cipher suite") }
        let cfg: SSLContextConfig
        do throws(QsslError) {
            let ca = try withUnsafeBytes(of: c.cacert) { (r: UnsafeRawBufferPointer) throws(QsslError) in try certField(r) }
            let cc = try withUnsafeBytes(of: c.clientcert) { (r: UnsafeRawBufferPointer) throws(QsslError) in try certField(r) }
            let ck = try withUnsafeBytes(of: c.clientkey) { (r: UnsafeRawBufferPointer) throws(QsslError) in try certField(r) }
            cfg = SSLContextConfig(context: Int(ctx), version: version, cipherSuites: suites, secLevel: sec,
                                   caCert: ca, clientCert: cc, clientKey: ck)
            try cfg.validate()
        } catch {
            return h.fail(.invalidArgument, "bad certificate name, or the seclevel lacks a name it needs")
        }
        try h.modem.configureSSLContext(cfg)
        return 0
    }
}

@implementation @c public func qssl_ctx_query(_ m: OpaquePointer?, _ ctx: Int32,
                                              _ out: UnsafeMutablePointer<qssl_ctx_config>?) -> Int32 {
    withHandle(m) { h throws(QsslError) -> Int32 in
        guard ctx >= 0 && ctx <= 5 else { return h.fail(.invalidArgument, "context not 0-5") }
        guard let out, structSize(out) >= ctxConfigV1Size else {
            return h.fail(.invalidArgument, "out is NULL or its size is too small")
        }
        let r = try h.modem.querySSLContext(Int(ctx))
        var c = qssl_ctx_config()
        c.size = UInt32(ctxConfigV1Size)
        c.version = r.version.rawValue
        c.seclevel = r.secLevel.rawValue
        let suites = r.cipherSuites.prefix(6)
        c.n_ciphersuites = UInt32(suites.count)
        withUnsafeMutableBytes(of: &c.ciphersuites) { raw in
            for (i, s) in suites.enumerated() { raw.storeBytes(of: s.rawValue, toByteOffset: i * 2, as: UInt16.self) }
        }
        withUnsafeMutableBytes(of: &c.cacert) { copyField(r.caCert?.text ?? "", into: $0) }
        withUnsafeMutableBytes(of: &c.clientcert) { copyField(r.clientCert?.text ?? "", into: $0) }
        withUnsafeMutableBytes(of: &c.clientkey) { copyField(r.clientKey?.text ?? "", into: $0) }
        out.pointee = c
        return 0
    }
}

/// The global AT+QSSLCFG settings (enum qssl_ssl_setting) as the core's keys.
private func globalSetting(_ setting: Int32) -> SSLSettingKey? {
    guard let k = SSLSettingKey(rawValue: setting), !k.perContext else { return nil }
    return k
}

@implementation @c public func qssl_ssl_setting_set(_ m: OpaquePointer?, _ setting: Int32, _ value: Int32) -> Int32 {
    withHandle(m) { h throws(QsslError) -> Int32 in
        let v: SSLSettingValue
        switch globalSetting(setting) {
        case .ignoreRTCTime? where value == 0 || value == 1: v = .ignoreRTCTime(value == 1)
        case .https? where value == 0 || value == 1: v = .https(value == 1)
        case .httpsContext? where value >= 0 && value <= 5: v = .httpsContext(Int(value))
        case .smtpsContext? where value >= 0 && value <= 5: v = .smtpsContext(Int(value))
        case .smtpStyle?:
            guard let st = SMTPStyle(rawValue: value) else { return h.fail(.invalidArgument, "smtpstyle not 0-2") }
            v = .smtpStyle(st)
        default: return h.fail(.invalidArgument, "unknown setting or value out of range")
        }
        try h.modem.setSSLSetting(v)
        return 0
    }
}

@implementation @c public func qssl_ssl_setting_get(_ m: OpaquePointer?, _ setting: Int32,
                                                    _ value: UnsafeMutablePointer<Int32>?) -> Int32 {
    withHandle(m) { h throws(QsslError) -> Int32 in
        guard let key = globalSetting(setting), let value else {
            return h.fail(.invalidArgument, "unknown setting or value is NULL")
        }
        switch try h.modem.querySSLSetting(key) {
        case .ignoreRTCTime(let b), .https(let b): value.pointee = b ? 1 : 0
        case .httpsContext(let i), .smtpsContext(let i): value.pointee = Int32(clamping: i)
        case .smtpStyle(let st): value.pointee = st.rawValue
        default: return h.fail(.proto, "unexpected setting in the answer")
        }
        return 0
    }
}

// MARK: - Sockets

/// Checks a buffer and a length as C hands them over; returns a code (< 0) or nil when they are usable.
private func checkBuffer(_ h: CHandle, _ buf: UnsafeRawPointer?, _ len: Int) -> Int32? {
    if len < 0 || len > maxCount { return h.fail(.invalidArgument, "length out of range") }
    if buf == nil && len > 0 { return h.fail(.invalidArgument, "buffer is NULL or not UTF-8") }
    return nil
}

/// C timeout for recv-like calls: < 0 waits without limit.
private func waitMs(_ t: Int32) -> Int { t < 0 ? Int(Int32.max) : Int(t) }

@implementation @c public func qssl_open(_ m: OpaquePointer?, _ ctx: Int32, _ host: UnsafePointer<CChar>?,
                                         _ port: Int32, _ timeout_s: Int32) -> Int32 {
    openSSLOn(m, ctx, host, port, timeout_s, transparent: false)
}

@implementation @c public func qssl_open_transparent(_ m: OpaquePointer?, _ ctx: Int32,
                                                     _ host: UnsafePointer<CChar>?, _ port: Int32,
                                                     _ timeout_s: Int32) -> Int32 {
    openSSLOn(m, ctx, host, port, timeout_s, transparent: true)
}

/// qssl_open and qssl_open_transparent: the header promises both the same checks and codes.
private func openSSLOn(_ m: OpaquePointer?, _ ctx: Int32, _ host: UnsafePointer<CChar>?, _ port: Int32,
                       _ timeout_s: Int32, transparent: Bool) -> Int32 {
    withHandle(m) { h throws(QsslError) -> Int32 in
        guard let hs = cString(host) else { return h.fail(.invalidArgument, "host is NULL or not UTF-8") }
        return Int32(try h.modem.openSSL(host: hs, port: Int(port), context: Int(ctx), timeoutS: Int(timeout_s),
                                         transparent: transparent))
    }
}

@implementation @c public func qssl_transparent_suspend(_ m: OpaquePointer?, _ id: Int32) -> Int32 {
    withHandle(m) { h throws(QsslError) -> Int32 in
        try h.modem.suspendTransparent(Int(id))
        return 0
    }
}

@implementation @c public func qssl_transparent_resume(_ m: OpaquePointer?, _ id: Int32, _ timeout_ms: Int32) -> Int32 {
    withHandle(m) { h throws(QsslError) -> Int32 in
        try h.modem.resumeTransparent(Int(id), timeoutMs: Int(timeout_ms))
        return 0
    }
}

@implementation @c public func qssl_send(_ m: OpaquePointer?, _ id: Int32, _ buf: UnsafeRawPointer?,
                                         _ len: Int) -> Int32 {
    sendOn(.ssl, m, id, buf, len)
}

@implementation @c public func qssl_send_timeout(_ m: OpaquePointer?, _ id: Int32, _ buf: UnsafeRawPointer?,
                                                 _ len: Int, _ timeout_ms: Int32) -> Int32 {
    sendOn(.ssl, m, id, buf, len, timeout_ms)
}

@implementation @c public func qssl_recv(_ m: OpaquePointer?, _ id: Int32, _ buf: UnsafeMutableRawPointer?,
                                         _ cap: Int, _ timeout_ms: Int32) -> Int32 {
    recvOn(.ssl, m, id, buf, cap, timeout_ms)
}

@implementation @c public func qssl_close(_ m: OpaquePointer?, _ id: Int32) -> Int32 {
    closeOn(.ssl, m, id)
}

@implementation @c public func qssl_tcp_open(_ m: OpaquePointer?, _ host: UnsafePointer<CChar>?, _ port: Int32,
                                             _ timeout_s: Int32) -> Int32 {
    withHandle(m) { h throws(QsslError) -> Int32 in
        guard let hs = cString(host) else { return h.fail(.invalidArgument, "host is NULL or not UTF-8") }
        return Int32(try h.modem.openTCP(host: hs, port: Int(port), timeoutS: Int(timeout_s)))
    }
}

@implementation @c public func qssl_tcp_send(_ m: OpaquePointer?, _ id: Int32, _ buf: UnsafeRawPointer?,
                                             _ len: Int) -> Int32 {
    sendOn(.tcp, m, id, buf, len)
}

@implementation @c public func qssl_tcp_send_timeout(_ m: OpaquePointer?, _ id: Int32, _ buf: UnsafeRawPointer?,
                                                     _ len: Int, _ timeout_ms: Int32) -> Int32 {
    sendOn(.tcp, m, id, buf, len, timeout_ms)
}

@implementation @c public func qssl_tcp_recv(_ m: OpaquePointer?, _ id: Int32, _ buf: UnsafeMutableRawPointer?,
                                             _ cap: Int, _ timeout_ms: Int32) -> Int32 {
    recvOn(.tcp, m, id, buf, cap, timeout_ms)
}

@implementation @c public func qssl_tcp_close(_ m: OpaquePointer?, _ id: Int32) -> Int32 {
    closeOn(.tcp, m, id)
}

/// qssl_send and qssl_tcp_send: the same checks and path, each refusing the other kind's sockets.
private func sendOn(_ kind: SocketKind, _ m: OpaquePointer?, _ id: Int32, _ buf: UnsafeRawPointer?,
                    _ len: Int, _ timeout_ms: Int32 = 0) -> Int32 {
    withHandle(m) { h throws(QsslError) -> Int32 in
        if let rc = checkBuffer(h, buf, len) { return rc }
        return Int32(try h.modem.send(socket: Int(id), kind: kind, UnsafeRawBufferPointer(start: buf, count: len),
                                      timeoutMs: timeout_ms == 0 ? nil : waitMs(timeout_ms)))
    }
}

private func recvOn(_ kind: SocketKind, _ m: OpaquePointer?, _ id: Int32, _ buf: UnsafeMutableRawPointer?,
                    _ cap: Int, _ timeout_ms: Int32) -> Int32 {
    withHandle(m) { h throws(QsslError) -> Int32 in
        if let rc = checkBuffer(h, buf, cap) { return rc }
        return Int32(try h.modem.recv(socket: Int(id), kind: kind,
                                      into: UnsafeMutableRawBufferPointer(start: buf, count: cap),
                                      timeoutMs: waitMs(timeout_ms)))
    }
}

private func closeOn(_ kind: SocketKind, _ m: OpaquePointer?, _ id: Int32) -> Int32 {
    withHandle(m) { h throws(QsslError) -> Int32 in
        try h.modem.closeSocket(Int(id), kind: kind)
        return 0
    }
}

// MARK: - State

@implementation @c public func qssl_state(_ m: OpaquePointer?, _ out: UnsafeMutablePointer<qssl_state_info>?) -> Int32 {
    withHandle(m) { h throws(QsslError) -> Int32 in
        guard let out, structSize(out) >= stateV1Size else {
            return h.fail(.invalidArgument, "out is NULL or its size is too small")
        }
        let r = try h.modem.state()
        var st = qssl_state_info()
        st.size = UInt32(stateV1Size)
        st.ip_state = r.ipState.rawValue
        withUnsafeMutableBytes(of: &st.ip_state_text) { copyField(r.ipStateText, into: $0) }
        let socks = r.sockets.prefix(6)
        st.n_sockets = Int32(socks.count)
        withUnsafeMutableBytes(of: &st.sockets) { raw in
            for (i, s) in socks.enumerated() {
                var info = qssl_socket_info()
                info.size = UInt32(socketInfoSize)
                info.id = Int32(clamping: s.index)
                info.ssl = s.isSSL ? 1 : 0
                info.status = s.status.rawValue
                info.port = Int32(clamping: s.port)
                withUnsafeMutableBytes(of: &info.type) { copyField(s.type, into: $0) }
                withUnsafeMutableBytes(of: &info.address) { copyField(s.address, into: $0) }
                raw.storeBytes(of: info, toByteOffset: i * socketInfoSize, as: qssl_socket_info.self)
            }
        }
        out.pointee = st
        return 0
    }
}

// MARK: - Events

/// The C form of a Modem event.
func cEvent(_ e: ModemEvent, _ modem: Modem) -> qssl_event {
    var ev = qssl_event()
    ev.size = UInt32(eventV1Size)
    ev.type = e.kind
    ev.socket = -1
    ev.kind = -1
    var text: String
    switch e {
    case .dataReady(let s):
        ev.socket = Int32(s)
        text = "socket \(s): data ready"
    case .socketClosed(let s):
        ev.socket = Int32(s)
        text = "socket \(s): closed by the peer"
    case .pdpDeactivated: text = "PDP context deactivated"
    case .moduleReset: text = "module restarted"
    case .deviceGone: text = "device gone"
    case .pdpActivated: text = "PDP context activated"
    case .supervisorReboot: text = "PDP activation kept failing: module rebooted"
    case .configurationReapplied(let ok):
        ev.value = ok ? 1 : 0
        text = ok ? "configuration re-applied" : "re-applying the configuration failed"
    case .reattached: text = "device back: re-attached"
    }
    if ev.socket >= 0, let k = modem.socketKind(Int(ev.socket)) { ev.kind = k.rawValue }
    withUnsafeMutableBytes(of: &ev.text) { copyField(text, into: $0) }
    return ev
}

@implementation @c public func qssl_event_fd(_ m: OpaquePointer?) -> Int32 {
    withHandle(m) { h throws(QsslError) -> Int32 in
        let fd = h.modem.events.fd
        return fd >= 0 ? fd : h.fail(.closed, "event queue closed")
    }
}

@implementation @c public func qssl_socket_fd(_ m: OpaquePointer?, _ id: Int32) -> Int32 {
    withHandle(m) { h throws(QsslError) -> Int32 in try h.modem.socketFD(Int(id)) }
}

@implementation @c public func qssl_next_event(_ m: OpaquePointer?, _ event: UnsafeMutablePointer<qssl_event>?,
                                               _ timeout_ms: Int32) -> Int32 {
    withHandle(m) { h throws(QsslError) -> Int32 in
        guard let event, structSize(event) >= eventV1Size else {
            return h.fail(.invalidArgument, "event is NULL or its size is too small")
        }
        let q = h.modem.events
        // Without a limit the wait still ends when the modem closes: close() closes the queue, which wakes it.
        let e = timeout_ms == 0 ? q.pop() : q.pop(timeoutMs: waitMs(timeout_ms))
        guard let e else {
            if h.modem.isClosed { return h.fail(.closed, "modem closed") }
            return h.fail(timeout_ms == 0 ? .again : .timedOut, "no event")
        }
        event.pointee = cEvent(e, h.modem)
        return 0
    }
}

@implementation @c public func qssl_set_event_callback(_ m: OpaquePointer?, _ fn: qssl_event_fn?,
                                                       _ user: UnsafeMutableRawPointer?) -> Int32 {
    withHandle(m) { h throws(QsslError) -> Int32 in
        guard let fn else {
            h.modem.setEventCallback(nil)
            return 0
        }
        let handle = h.cHandle
        let modem = h.modem
        // The Modem calls this on its dispatcher thread with no lock held; Modem.close() drops it (and with it
        // the reference to the modem).
        modem.setEventCallback { e in
            var ev = cEvent(e, modem)
            fn(handle, &ev, user)
        }
        if modem.isClosed {
            // close() ran meanwhile: drop the closure (and its reference to the modem) again.
            modem.setEventCallback(nil)
            return QsslError.closed.rawValue
        }
        return 0
    }
}

@implementation @c public func qssl_set_log_callback(_ m: OpaquePointer?, _ fn: qssl_log_fn?,
                                                     _ user: UnsafeMutableRawPointer?) -> Int32 {
    withHandle(m) { h throws(QsslError) -> Int32 in
        h.setLog(fn, user)
    }
}
