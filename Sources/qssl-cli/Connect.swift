
import CCLI

import CQSSL

// connect: one module socket as a pipe between stdin/stdout and the peer.

/// How a module socket carries the bytes.
enum SocketKind {
    /// AT+QSSLOPEN, then AT+QSSLSEND / AT+QSSLRECV per chunk.
    case ssl
    /// AT+QIOPEN: plain TCP.
    case tcp
    /// AT+QSSLOPEN in transparent mode: the serial line is the connection (one at a time, near line rate).
    case transparent

    var name: String {
        switch self {
        case .ssl: return "TLS"
        case .tcp: return "TCP"
        case .transparent: return "TLS (transparent mode)"
        }
    }
}

/// An open module socket, seen through the calls that differ between the kinds.
struct ModuleSocket {
    let m: OpaquePointer
    let id: Int32
    let kind: SocketKind
    var tcp: Bool { kind == .tcp }

    /// The socket id of a new connection to host:port, or a QSSL_E* code.
    static func openCode(_ m: OpaquePointer, host: String, port: Int, ctx: Int32, kind: SocketKind,
                         timeoutS: Int32) -> Int32 {
        switch kind {
        case .ssl: return qssl_open(m, ctx, host, Int32(port), timeoutS)
        case .tcp: return qssl_tcp_open(m, host, Int32(port), timeoutS)
        case .transparent: return qssl_open_transparent(m, ctx, host, Int32(port), timeoutS)
        }
    }

    /// Opens a connection to host:port.
    static func open(_ m: OpaquePointer, host: String, port: Int, ctx: Int32, kind: SocketKind,
                     timeoutS: Int32) throws(Failure) -> ModuleSocket {
        let rc = openCode(m, host: host, port: port, ctx: ctx, kind: kind, timeoutS: timeoutS)
        if rc == QSSL_EINVAL.rawValue { throw Failure.usage("host or port not accepted: " + errText(m)) }
        try check(rc, kind.name + " connection to " + host + ":" + String(port), m)
        return ModuleSocket(m: m, id: rc, kind: kind)
    }

    /// Readable while recv would not block.
    var fd: Int32 { qssl_socket_fd(m, id) }

    func send(_ p: UnsafeRawPointer, _ n: Int) -> Int32 {
        tcp ? qssl_tcp_send_timeout(m, id, p, n, 60_000) : qssl_send_timeout(m, id, p, n, 60_000)
    }

    func recv(_ p: UnsafeMutableRawPointer, _ cap: Int, _ timeoutMs: Int32) -> Int32 {
        tcp ? qssl_tcp_recv(m, id, p, cap, timeoutMs) : qssl_recv(m, id, p, cap, timeoutMs)
    }

    func close() { _ = tcp ? qssl_tcp_close(m, id) : qssl_close(m, id) }

    /// Sends the first `n` bytes of `bytes`, all of them, or fails.
    func sendAll(_ bytes: [UInt8], _ n: Int) throws(Failure) {
        var off = 0
        while off < n {
            let k = bytes.withUnsafeBytes { send($0.baseAddress! + off, n - off) }
            if k <= 0 {
                try check(k < 0 ? k : QSSL_ETIMEDOUT.rawValue, "send", m)
            }
            off += Int(k)
        }
    }
}

func cmdConnect(_ args: [String], _ ctx: Context) throws(Failure) {
    var context: Int32 = 0
    var kind = SocketKind.ssl
    var apn: String? = nil
    var linger = 2000
    var timeoutS: Int32 = 0
    let ops = try commandOptions(args, """
        usage: qssl connect [--ctx N] [--tcp | --transparent] [--apn APN] [--linger MS] [--timeout S] HOST:PORT
        Opens a TLS connection through the module (SSL context N, default 0; --tcp: plain TCP; --transparent:
        the module's transparent mode, the serial line carrying the connection at near line rate) and copies stdin
        to the peer and the peer to stdout, bytes unchanged, like `openssl s_client -quiet` or `nc`.
        Ends when the peer closes (after writing everything it sent), or, after end of input on stdin, once the
        peer has been quiet for --linger MS (default 2000).
          --apn APN      activate the PDP context first (else it must be up: qssl pdp up)
          --timeout S    connection and handshake timeout, 10-300 s (default 90)

        """, [
            LongOption(name: "ctx", hasArgument: true, key: "c"),
            LongOption(name: "tcp", hasArgument: false, key: "\u{100}"),
            LongOption(name: "apn", hasArgument: true, key: "\u{101}"),
            LongOption(name: "linger", hasArgument: true, key: "\u{102}"),
            LongOption(name: "timeout", hasArgument: true, key: "\u{103}"),
            LongOption(name: "transparent", hasArgument: false, key: "\u{104}"),
        ]) { key, arg throws(Failure) in
        switch key {
        case "c": context = Int32(try integer(arg, "--ctx", 0...5))
        case "\u{100}": kind = .tcp
        case "\u{104}": kind = .transparent
        case "\u{101}": apn = arg
        case "\u{102}": linger = try integer(arg, "--linger", 0...3_600_000)
        default: timeoutS = Int32(try integer(arg, "--timeout", 10...300))
        }
    }
    guard ops.count == 1 else { throw Failure.usage("connect takes HOST:PORT") }
    let (host, port) = try hostPort(ops[0], "HOST:PORT")
    let m = try ctx.open()
    if let apn { try activatePDP(m, apn) }
    let s = try ModuleSocket.open(m, host: host, port: port, ctx: context, kind: kind, timeoutS: timeoutS)
    defer { s.close() }
    try pipeStdio(s, lingerMs: linger)
}

func activatePDP(_ m: OpaquePointer, _ apn: String) throws(Failure) {
    let rc = qssl_pdp_activate(m, apn, nil, nil)
    if rc < 0 {
        let why = errText(m)
        for l in pdpDiagnosis(rc) { err("qssl: " + l) }
        throw Failure(status: Exit.of(rc), message: "PDP activation failed: " + why)
    }
}

/// stdin -> module socket, module socket -> stdout, until the peer closes or stdin ended and the peer stayed quiet.
func pipeStdio(_ s: ModuleSocket, lingerMs: Int) throws(Failure) {
    var buf = [UInt8](repeating: 0, count: 16384)
    var stdinOpen = true
    var quietUntil = 0
    let sfd = s.fd
    let stopFD = try stopSignals()
    while true {
        var fds = [pollfd(fd: sfd, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: stdinOpen ? 0 : -1, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: stopFD, events: Int16(POLLIN), revents: 0)]
        var wait: Int32 = -1
        if !stdinOpen {
            let left = quietUntil - nowMs()
            if left <= 0 { return }
            wait = Int32(left)
        }
        let r = poll(&fds, 3, wait)
        if r < 0 && cli_errno() != EINTR { throw Failure.other("poll: " + String(cString: strerror(cli_errno()))) }
        if fds[2].revents != 0 { throw Failure(status: Exit.failure, message: "interrupted; connection closed") }
        if fds[0].revents != 0 {
            let n = buf.withUnsafeMutableBytes { s.recv($0.baseAddress!, $0.count, 0) }
            if n == 0 { return }  // the peer closed and everything it sent was written
            if n > 0 {
                let ok = buf.withUnsafeBytes { writeAll(1, UnsafeRawBufferPointer(rebasing: $0[0..<Int(n)])) }
                if !ok { return }  // stdout closed: nobody reads any more
                if !stdinOpen { quietUntil = nowMs() + lingerMs }
            } else if n != QSSL_EAGAIN.rawValue {
                try check(n, "receive", s.m)
            }
        }
        if stdinOpen && fds[1].revents != 0 {
            let n = buf.withUnsafeMutableBytes { read(0, $0.baseAddress, 1460 * 8) }
            if n < 0 && cli_errno() != EINTR && cli_errno() != EAGAIN {
                throw Failure.other("reading stdin: " + String(cString: strerror(cli_errno())))
            }
            if n == 0 {
                stdinOpen = false
                quietUntil = nowMs() + lingerMs
            } else if n > 0 {
                try s.sendAll(buf, n)
            }
        }
    }
}
