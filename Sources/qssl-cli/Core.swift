
import CCLI

import CQSSL

/// Exit statuses by class of error (listed in `qssl --help` and the README).
enum Exit {
    static let ok: Int32 = 0
    /// Anything not below: a local file that cannot be read, out of memory, an echo that came back different.
    static let failure: Int32 = 1
    /// Bad command line.
    static let usage: Int32 = 2
    /// The device cannot be used: missing, no permission, not a tty, busy, gone.
    static let device: Int32 = 3
    /// The module answered an error (ERROR / +CME ERROR, checksum, PDP causes of the note's section 1.4).
    static let module: Int32 = 4
    /// No answer in time.
    static let timeout: Int32 = 5
    /// A connection failed, was refused, or broke (TLS handshake, no free socket, PDP lost, module reset).
    static let connection: Int32 = 6

    /// The class of a qssl status code.
    static func of(_ code: Int32) -> Int32 {
        switch code {
        case QSSL_ETIMEDOUT.rawValue: return timeout
        case QSSL_EACCES.rawValue, QSSL_ENOENT.rawValue, QSSL_ENOTTY.rawValue, QSSL_EBUSY.rawValue,
             QSSL_ENODEV.rawValue, QSSL_EIO.rawValue: return device
        case QSSL_EMODEM.rawValue, QSSL_ECHECKSUM.rawValue, QSSL_EPROTO.rawValue, QSSL_ENOTATTACHED.rawValue,
             QSSL_ENOTREG.rawValue, QSSL_ENOAPN.rawValue, QSSL_ECTXBUSY.rawValue, QSSL_ENOTSUP.rawValue:
            return module
        case QSSL_ECONNECT.rawValue, QSSL_EOCCUPIED.rawValue, QSSL_ENOSOCK.rawValue, QSSL_EPDP.rawValue,
             QSSL_ERESET.rawValue, QSSL_ECLOSED.rawValue: return connection
        default: return failure
        }
    }

    static let helpText = """
        exit status:
          0  success
          1  other failure (a file that cannot be read, a demo echo that differs)
          2  usage error (bad option or argument)
          3  device unusable: missing, permission denied, not a tty, busy, gone
          4  the module answered an error (ERROR, +CME ERROR, checksum, PDP causes)
          5  timeout
          6  connection failed or broke (handshake, no free socket, PDP lost, reset)
        """
}

/// Why a command stopped: its exit status and one line for stderr.
struct Failure: Error {
    let status: Int32
    let message: String

    static func usage(_ message: String) -> Failure { Failure(status: Exit.usage, message: message) }
    static func other(_ message: String) -> Failure { Failure(status: Exit.failure, message: message) }
}

/// A qssl call's result: the value, or a Failure naming what was being done and what the library said.
@discardableResult
func check(_ rc: Int32, _ what: String, _ m: OpaquePointer? = nil) throws(Failure) -> Int32 {
    if rc >= 0 { return rc }
    var text = String(cString: qssl_strerror(rc))
    if let m {
        var buf = [CChar](repeating: 0, count: 512)
        if qssl_errmsg_copy(m, &buf, buf.count) > 0 { text = String(cString: buf) }
    }
    throw Failure(status: Exit.of(rc), message: what + ": " + text)
}

/// What the global options say, and the open modem once a command asked for it.
final class Context {
    var device: String? = nil
    var baud: Int32 = 115200
    var json = false
    var verbose = false
    var rtscts = false
    /// Set by the command before `open()`: keep the configuration across module restarts, supervise the PDP.
    var reapplyAfterReset = false
    var supervisorAPN: String? = nil
    var modem: OpaquePointer? = nil

    /// Opens the device named by -d, or the only candidate port hot-plug detection finds.
    func open() throws(Failure) -> OpaquePointer {
        if let modem { return modem }
        let device: String
        if let d = self.device { device = d } else { device = try defaultDevice(baud: baud) }
        self.device = device
        var o = qssl_modem_options()
        qssl_modem_options_init_size(&o, MemoryLayout<qssl_modem_options>.size)  // the header's macro, by hand
        o.baud = baud
        o.rtscts = rtscts ? 1 : 0
        if verbose { o.log = traceLine }
        o.reapply_after_reset = reapplyAfterReset ? 1 : 0
        var m: OpaquePointer? = nil
        let rc: Int32 = withOptionalCString(supervisorAPN) { apn in
            o.supervisor_apn = apn
            o.supervisor_interval_ms = 5000
            return qssl_modem_open(device, &o, &m)
        }
        if rc != 0 {
            var buf = [CChar](repeating: 0, count: 512)
            qssl_open_errmsg(&buf, buf.count)
            var why = String(cString: buf)
            if rc == QSSL_EACCES.rawValue { why += " (is the user in the port's group, e.g. dialout?)" }
            if rc == QSSL_EBUSY.rawValue { why += " (another program has the port open: ModemManager? see README)" }
            // EINVAL here is what the command line asked for (a baud rate termios does not have).
            throw Failure(status: rc == QSSL_EINVAL.rawValue ? Exit.usage : Exit.of(rc),
                          message: "cannot open " + device + ": " + why)
        }
        modem = m
        return m!
    }

    func close() {
        if let m = modem { qssl_modem_close(m) }
        modem = nil
    }
}

/// The AT trace of -v on stderr: "> " what the host wrote, "< " what the module answered. Certificate and key
/// bytes arrive here already redacted by the library ("<N bytes redacted>").
let traceLine: qssl_log_fn = { _, direction, text, _ in
    guard let text else { return }
    writeText(2, (direction == Int32(QSSL_LOG_TO_MODULE.rawValue) ? "> " : "< ") + String(cString: text) + "\n")
}

func withOptionalCString<R>(_ s: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let s else { return body(nil) }
    return s.withCString { body($0) }
}

/// A long option for getopt_long.
struct LongOption {
    let name: String
    let hasArgument: Bool
    /// The short option letter, or a scalar above 0xFF for a long-only option.
    let key: Unicode.Scalar
}

/// Parses `args` (args[0] is the command name) with getopt_long; calls `handle` for each option with its
/// argument. Returns the operands. Unknown options and missing arguments are usage errors.
func parseOptions(_ args: [String], _ longs: [LongOption], stopAtOperand: Bool = false,
                  _ handle: (Unicode.Scalar, String?) throws(Failure) -> Void) throws(Failure) -> [String] {
    // "+": stop at the first operand (the global options end at the command); ":": a missing argument is ':'.
    var shorts = stopAtOperand ? "+:h" : ":h"
    for l in longs where l.key.value < 0x80 {
        shorts.unicodeScalars.append(l.key)
        if l.hasArgument { shorts += ":" }
    }
    // The C strings live until the parse is over.
    var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
    cargs.append(nil)
    var copts: [option] = []
    var names: [UnsafeMutablePointer<CChar>?] = []
    for l in longs + [LongOption(name: "help", hasArgument: false, key: "h")] {
        let n = strdup(l.name)
        names.append(n)
        copts.append(option(name: n, has_arg: l.hasArgument ? 1 : 0, flag: nil,
                            val: Int32(l.key.value)))
    }
    copts.append(option(name: nil, has_arg: 0, flag: nil, val: 0))
    defer {
        for p in cargs { free(p) }
        for p in names { free(p) }
    }
    optind = 0  // glibc: 0 starts a fresh scan
    opterr = 0
    var operands: [String] = []
    while true {
        var index: Int32 = -1
        let c = getopt_long(Int32(args.count), &cargs, shorts, copts, &index)
        if c == -1 { break }
        let arg = optarg.map { String(cString: $0) }
        let bad = optind - 1 < args.count && optind >= 1 ? args[Int(optind) - 1] : "?"
        switch c {
        case Int32(UInt8(ascii: "?")):
            throw Failure.usage(args[0] + ": unknown option " + bad + " (see " + args[0] + " --help)")
        case Int32(UInt8(ascii: ":")):
            throw Failure.usage(args[0] + ": option " + bad + " needs an argument")
        default:
            try handle(Unicode.Scalar(UInt32(c)) ?? "?", arg)
        }
    }
    var i = Int(optind)
    while i < args.count {
        operands.append(args[i])
        i += 1
    }
    return operands
}

/// A decimal integer in `range`, or a usage error naming the option.
func integer(_ text: String?, _ what: String, _ range: ClosedRange<Int>) throws(Failure) -> Int {
    guard let text, let v = Int(text), range.contains(v) else {
        throw Failure.usage(what + " must be a number in " + String(range.lowerBound) + "-" + String(range.upperBound)
                            + ", not '" + (text ?? "") + "'")
    }
    return v
}

/// "HOST:PORT" (the host may be an IPv6 address in brackets).
func hostPort(_ text: String, _ what: String, lowest: Int = 1) throws(Failure) -> (String, Int) {
    guard let colon = text.lastIndex(of: ":") else {
        throw Failure.usage(what + " must be HOST:PORT, not '" + text + "'")
    }
    var host = String(text[..<colon])
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    let port = try integer(String(text[text.index(after: colon)...]), what + " port", lowest...65535)
    return (host, port)
}

/// Reads a whole file.
func readFile(_ path: String) throws(Failure) -> [UInt8] {
    let fd = cli_open(path, O_RDONLY | O_CLOEXEC, 0)
    if fd < 0 { throw Failure.other("cannot read " + path + ": " + String(cString: strerror(cli_errno()))) }
    defer { CCLI.close(fd) }
    var data: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if cli_errno() == EINTR { continue }
            throw Failure.other("cannot read " + path + ": " + String(cString: strerror(cli_errno())))
        }
        if n == 0 { break }
        data.append(contentsOf: chunk[0..<n])
    }
    return data
}
