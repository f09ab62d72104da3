
import CCLI

import CQSSL

// proxy: a local TCP port whose connections are carried over the module's TLS, one module socket each.
//
// One thread, one poll loop. Back-pressure both ways without buffers beyond one chunk per direction: a local
// client is read only when the previous chunk went to the module (qssl_send blocks until the module took it), and
// the module socket is read only when the previous chunk was written to the local client.

/// The self-pipe SIGINT/SIGTERM write to (a signal handler may only write).
nonisolated(unsafe) var signalPipe: (Int32, Int32) = (-1, -1)

/// From now on SIGINT and SIGTERM make the returned fd readable instead of killing the program, so a command
/// can close its module sockets and leave the module in command mode.
func stopSignals() throws(Failure) -> Int32 {
    var p: [Int32] = [-1, -1]
    guard cli_pipe(&p) == 0 else { throw Failure.other("pipe: " + String(cString: strerror(cli_errno()))) }
    signalPipe = (p[0], p[1])
    let onSignal: @convention(c) (Int32) -> Void = { sig in
        var b = UInt8(truncatingIfNeeded: sig)
        _ = write(signalPipe.1, &b, 1)
    }
    signal(SIGINT, onSignal)
    signal(SIGTERM, onSignal)
    return p[0]
}

final class ProxyConnection {
    let fd: Int32
    let peer: String
    let socket: ModuleSocket
    /// Bytes from the module not yet written to the local client.
    var pending: [UInt8] = []
    var pendingOff = 0
    /// The peer closed: close the local side once `pending` is written.
    var peerClosed = false
    var bytesUp = 0
    var bytesDown = 0

    init(fd: Int32, peer: String, socket: ModuleSocket) {
        self.fd = fd
        self.peer = peer
        self.socket = socket
    }
}

func cmdProxy(_ args: [String], _ ctx: Context) throws(Failure) {
    var listen: String? = nil, to: String? = nil
    var context: Int32 = 0
    var maxConns = 6
    var apn: String? = nil
    var kind = SocketKind.ssl
    let ops = try commandOptions(args, """
        usage: qssl proxy --listen [ADDR:]PORT --to HOST:PORT [--ctx N] [--max-conns K] [--apn APN]
                          [--tcp | --transparent]
        Accepts TCP connections on ADDR:PORT (default address 127.0.0.1) and carries each over its own module
        SSL socket (context N, default 0) to HOST:PORT, bytes unchanged both ways, so programs that know nothing
        of the module (an MQTT client, curl) get its TLS. The module has six sockets: a connection beyond
        --max-conns (default 6) or beyond the free sockets is closed at once, with a line on stderr saying why.
        The module's configuration is re-applied after a restart; with --apn the PDP context is activated and
        kept up (the note's supervisor). Connections hit by a restart or a PDP loss are closed; new ones are
        accepted once the module is back. SIGINT / SIGTERM close everything and leave the module in command mode.
          --tcp           plain TCP module sockets instead of TLS
          --transparent   one connection at a time in the module's transparent mode: the serial line carries
                          it at near line rate (the module takes no commands meanwhile)

        """, [
            LongOption(name: "listen", hasArgument: true, key: "l"),
            LongOption(name: "to", hasArgument: true, key: "t"),
            LongOption(name: "ctx", hasArgument: true, key: "c"),
            LongOption(name: "max-conns", hasArgument: true, key: "n"),
            LongOption(name: "apn", hasArgument: true, key: "\u{100}"),
            LongOption(name: "tcp", hasArgument: false, key: "\u{101}"),
            LongOption(name: "transparent", hasArgument: false, key: "\u{102}"),
        ]) { key, arg throws(Failure) in
        switch key {
        case "l": listen = arg
        case "t": to = arg
        case "c": context = Int32(try integer(arg, "--ctx", 0...5))
        case "n": maxConns = try integer(arg, "--max-conns", 1...6)
        case "\u{100}": apn = arg
        case "\u{101}": kind = .tcp
        default: kind = .transparent
        }
    }
    if kind == .transparent { maxConns = 1 }
    let tcp = kind == .tcp
    guard ops.isEmpty, let listen, let to else { throw Failure.usage("proxy needs --listen [ADDR:]PORT and --to HOST:PORT") }
    // Port 0 picks a free port; the address actually bound is the first line on stdout.
    let (lhost, lport) = listen.contains(":") ? try hostPort(listen, "--listen", lowest: 0)
        : ("127.0.0.1", try integer(listen, "--listen port", 0...65535))
    let (host, port) = try hostPort(to, "--to")
    let (lfd, boundPort) = try listenSocket(lhost, lport)
    defer { CCLI.close(lfd) }

    ctx.reapplyAfterReset = true
    ctx.supervisorAPN = apn
    let m = try ctx.open()
    if apn != nil {
        // The supervisor started by the open activates the context; wait for it before taking connections.
        var ev = qssl_event()
        ev.size = UInt32(MemoryLayout<qssl_event>.size)
        var up = false
        let until = nowMs() + 160_000
        while !up && nowMs() < until {
            if qssl_next_event(m, &ev, 1000) == 0 && ev.type == Int32(QSSL_EVENT_PDP_ACTIVATED.rawValue) { up = true }
        }
        if !up { throw Failure(status: Exit.timeout, message: "the PDP context did not come up: " + errText(m)) }
    }
    if !tcp {
        // Configure the context through this handle so a module restart re-applies it.
        var cfg = qssl_ctx_config()
        cfg.size = UInt32(MemoryLayout<qssl_ctx_config>.size)
        try check(qssl_ctx_query(m, context, &cfg), "reading SSL context " + String(context), m)
        cfg.size = UInt32(MemoryLayout<qssl_ctx_config>.size)
        try check(qssl_ctx_configure(m, context, &cfg), "configuring SSL context " + String(context), m)
    }

    let stopFD = try stopSignals()
    out(lhost + ":" + String(boundPort))
    err("qssl proxy: listening on " + lhost + ":" + String(boundPort) + ", forwarding to " + host + ":" + String(port)
        + " (" + kind.name + (tcp ? "" : ", context " + String(context)) + "), up to " + String(maxConns) + " connections")

    var conns: [ProxyConnection] = []
    var buf = [UInt8](repeating: 0, count: 16384)
    let eventFD = qssl_event_fd(m)

    func drop(_ c: ProxyConnection, _ why: String) {
        err("qssl proxy: " + c.peer + " closed (" + why + "), " + String(c.bytesUp) + " bytes up, "
            + String(c.bytesDown) + " bytes down")
        c.socket.close()
        CCLI.close(c.fd)
        conns.removeAll { $0 === c }
    }

    while true {
        var fds = [pollfd(fd: lfd, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: stopFD, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: eventFD, events: Int16(POLLIN), revents: 0)]
        for c in conns {
            let writing = c.pendingOff < c.pending.count
            // Local side: read when nothing waits for the module; write while bytes wait for the client.
            fds.append(pollfd(fd: c.fd, events: Int16(c.peerClosed ? 0 : POLLIN) | Int16(writing ? POLLOUT : 0),
                              revents: 0))
            fds.append(pollfd(fd: writing || c.peerClosed ? -1 : c.socket.fd, events: Int16(POLLIN), revents: 0))
        }
        let r = poll(&fds, nfds_t(fds.count), -1)
        if r < 0 {
            if cli_errno() == EINTR { continue }
            throw Failure.other("poll: " + String(cString: strerror(cli_errno())))
        }
        if fds[1].revents != 0 {
            err("qssl proxy: signal received, closing " + String(conns.count) + " connection(s)")
            for c in conns { drop(c, "proxy stopping") }
            return
        }
        if fds[2].revents != 0 {
            var ev = qssl_event()
            ev.size = UInt32(MemoryLayout<qssl_event>.size)
            while qssl_next_event(m, &ev, 0) == 0 {
                switch ev.type {
                case Int32(QSSL_EVENT_RESET.rawValue), Int32(QSSL_EVENT_PDP_DEACT.rawValue),
                     Int32(QSSL_EVENT_PDP_ACTIVATED.rawValue), Int32(QSSL_EVENT_CONFIG_REAPPLIED.rawValue),
                     Int32(QSSL_EVENT_SUPERVISOR_REBOOT.rawValue):
                    err("qssl proxy: module: " + fieldString(ev.text))
                case Int32(QSSL_EVENT_DEVICE_GONE.rawValue):
                    for c in conns { drop(c, "device gone") }
                    throw Failure(status: Exit.device, message: "the device went away")
                default: break
                }
            }
        }
        // Connections: index 3 + 2i is the local fd, 4 + 2i the module socket.
        let snapshot = conns
        for (i, c) in snapshot.enumerated() {
            let local = fds[3 + 2 * i].revents, module = fds[4 + 2 * i].revents
            if local & Int16(POLLOUT | POLLERR | POLLHUP) != 0 && c.pendingOff < c.pending.count {
                let n = c.pending.withUnsafeBytes { raw in
                    CCLI.send(c.fd, raw.baseAddress! + c.pendingOff, raw.count - c.pendingOff, Int32(MSG_DONTWAIT))
                }
                if n < 0 && cli_errno() != EAGAIN && cli_errno() != EINTR {
                    drop(c, "local write: " + String(cString: strerror(cli_errno())))
                    continue
                }
                if n > 0 { c.pendingOff += n }
                if c.pendingOff == c.pending.count {
                    c.pending.removeAll(keepingCapacity: true)
                    c.pendingOff = 0
                    if c.peerClosed {
                        drop(c, "peer closed")
                        continue
                    }
                }
            }
            if local & Int16(POLLIN | POLLHUP | POLLERR) != 0 && !c.peerClosed {
                let n = buf.withUnsafeMutableBytes { CCLI.recv(c.fd, $0.baseAddress, 1460 * 4, Int32(MSG_DONTWAIT)) }
                if n == 0 || (n < 0 && cli_errno() != EAGAIN && cli_errno() != EINTR) {
                    drop(c, n == 0 ? "client closed" : "local read: " + String(cString: strerror(cli_errno())))
                    continue
                }
                if n > 0 {
                    do throws(Failure) { try c.socket.sendAll(buf, n) } catch {
                        drop(c, error.message)
                        continue
                    }
                    c.bytesUp += n
                }
            }
            if module != 0 && c.pendingOff == c.pending.count && !c.peerClosed {
                let n = buf.withUnsafeMutableBytes { c.socket.recv($0.baseAddress!, $0.count, 0) }
                if n > 0 {
                    c.pending = Array(buf[0..<Int(n)])
                    c.pendingOff = 0
                    c.bytesDown += Int(n)
                } else if n == 0 {
                    c.peerClosed = true
                    if c.pending.isEmpty { drop(c, "peer closed") }
                } else if n != QSSL_EAGAIN.rawValue {
                    drop(c, String(cString: qssl_strerror(n)))
                }
            }
        }
        if fds[0].revents != 0 {
            var addr = sockaddr_in()
            let cfd = cli_accept(lfd, &addr)
            if cfd < 0 { continue }
            let peer = addressText(addr)
            if conns.count >= maxConns {
                err("qssl proxy: refused " + peer + ": all " + String(maxConns) + " connections in use (--max-conns)")
                CCLI.close(cfd)
                continue
            }
            let rc = ModuleSocket.openCode(m, host: host, port: port, ctx: context, kind: kind, timeoutS: 0)
            if rc < 0 {
                let why = rc == QSSL_ENOSOCK.rawValue || rc == QSSL_EOCCUPIED.rawValue
                    ? "no free module socket (all six in use)" : errText(m)
                err("qssl proxy: refused " + peer + ": " + why)
                CCLI.close(cfd)
                continue
            }
            var one: Int32 = 1
            setsockopt(cfd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            conns.append(ProxyConnection(fd: cfd, peer: peer, socket: ModuleSocket(m: m, id: rc, kind: kind)))
            err("qssl proxy: " + peer + " connected on module socket " + String(rc))
        }
    }
}

func addressText(_ a: sockaddr_in) -> String {
    var addr = a.sin_addr
    var text = [CChar](repeating: 0, count: 64)
    inet_ntop(AF_INET, &addr, &text, socklen_t(text.count))
    return String(cString: text) + ":" + String(UInt16(bigEndian: a.sin_port))
}

/// A listening IPv4 TCP socket on host:port (host "localhost" or a dotted address; "0.0.0.0" for all).
func listenSocket(_ host: String, _ port: Int) throws(Failure) -> (Int32, Int) {
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = UInt16(port).bigEndian
    let h = host == "localhost" ? "127.0.0.1" : host
    guard inet_pton(AF_INET, h, &addr.sin_addr) == 1 else {
        throw Failure.usage("--listen address must be an IPv4 address, not '" + host + "'")
    }
    let fd = cli_listen_socket()
    if fd < 0 { throw Failure.other("socket: " + String(cString: strerror(cli_errno()))) }
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    let rc = cli_bind(fd, &addr)
    if rc != 0 || CCLI.listen(fd, 16) != 0 {
        let e = cli_errno()
        CCLI.close(fd)
        throw Failure(status: Exit.failure, message: "cannot listen on " + host + ":" + String(port) + ": "
                      + String(cString: strerror(e)))
    }
    return (fd, Int(cli_local_port(fd)))
}
