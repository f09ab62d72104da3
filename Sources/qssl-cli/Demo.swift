
import CCLI

import CQSSL

// demo: the application note's procedure (example 3.1, server and client authentication) against a virtual
// module and a local TLS echo server, run with this program's own command code.

/// A child process, its stdout on a pipe.
final class Child {
    let pid: pid_t
    let stdoutFD: Int32

    init(_ argv: [String]) throws(Failure) {
        var p: [Int32] = [-1, -1]
        guard cli_pipe(&p) == 0 else { throw Failure.other("pipe: " + String(cString: strerror(cli_errno()))) }
        var fa = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fa)
        defer { posix_spawn_file_actions_destroy(&fa) }
        posix_spawn_file_actions_adddup2(&fa, p[1], 1)
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0)
        var cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        cargs.append(nil)
        defer { for a in cargs { free(a) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &fa, nil, &cargs, cli_environ())
        CCLI.close(p[1])
        if rc != 0 {
            CCLI.close(p[0])
            throw Failure.other("cannot run " + argv[0] + ": " + String(cString: strerror(rc)))
        }
        self.pid = pid
        stdoutFD = p[0]
    }

    /// The first line the child prints (its port or pty path), waiting at most `timeoutMs`.
    func firstLine(timeoutMs: Int) throws(Failure) -> String {
        var line: [UInt8] = []
        let until = nowMs() + timeoutMs
        while nowMs() < until {
            var pfd = pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, Int32(max(1, until - nowMs()))) <= 0 { continue }
            var b: UInt8 = 0
            let n = read(stdoutFD, &b, 1)
            if n <= 0 { break }
            if b == 10 { return String(decoding: line, as: UTF8.self) }
            line.append(b)
        }
        throw Failure.other("a child process printed no first line in time")
    }

    /// Waits for the child's exit status.
    func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && cli_errno() == EINTR {}
        CCLI.close(stdoutFD)
        return cli_wexitstatus(status)
    }

    func stop() {
        kill(pid, SIGTERM)
        _ = wait()
    }
}

/// Runs a program to its end (stdout and stderr discarded); throws unless it exits 0.
func runQuietly(_ argv: [String]) throws(Failure) {
    let c = try Child(argv)
    var sink = [UInt8](repeating: 0, count: 4096)
    while sink.withUnsafeMutableBytes({ read(c.stdoutFD, $0.baseAddress, $0.count) }) > 0 {}
    let status = c.wait()
    if status != 0 { throw Failure.other(argv.joined(separator: " ") + " failed (exit " + String(status) + ")") }
}

/// qssl-sim next to this program, else on PATH.
func findSim() throws(Failure) -> String {
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buf, buf.count - 1)
    if n > 0 {
        let exe = String(cString: buf)
        if let slash = exe.lastIndex(of: "/") {
            let candidate = String(exe[..<slash]) + "/qssl-sim"
            if access(candidate, X_OK) == 0 { return candidate }
        }
    }
    if let path = getenv("PATH") {
        for dir in String(cString: path).split(separator: ":") {
            let candidate = String(dir) + "/qssl-sim"
            if access(candidate, X_OK) == 0 { return candidate }
        }
    }
    throw Failure.other("qssl-sim not found next to qssl or on PATH: build it with `swift build --product qssl-sim`")
}

func writeFile(_ path: String, _ text: String) throws(Failure) {
    let fd = cli_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    if fd < 0 || !writeText(fd, text) { throw Failure.other("cannot write " + path) }
    CCLI.close(fd)
}

/// Removes a flat directory and its files.
func removeDirectory(_ path: String) {
    guard let d = opendir(path) else { return }
    while let e = readdir(d) {
        let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        if name != "." && name != ".." { unlink(path + "/" + name) }
    }
    closedir(d)
    rmdir(path)
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, made with the openssl command.
func makeCertificates(_ dir: String) throws(Failure) {
    try runQuietly(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir + "/ca.key",
                    "-out", dir + "/ca.pem", "-days", "30", "-subj", "/CN=qssl demo CA",
                    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    let leaves = [
        ("server", "/CN=localhost", "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"),
        ("client", "/CN=qssl demo client", "extendedKeyUsage=clientAuth\n"),
    ]
    for (name, subject, ext) in leaves {
        let base = dir + "/" + name
        try writeFile(base + ".ext", "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n" + ext)
        try runQuietly(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", base + ".key", "-out",
                        base + ".csr", "-subj", subject])
        try runQuietly(["openssl", "x509", "-req", "-in", base + ".csr", "-CA", dir + "/ca.pem", "-CAkey",
                        dir + "/ca.key", "-CAcreateserial", "-out", base + ".pem", "-days", "30", "-sha256",
                        "-extfile", base + ".ext"])
    }
}

func cmdDemo(_ args: [String], _ ctx: Context) throws(Failure) {
    let ops = try commandOptions(args, """
        usage: qssl demo
        Runs the application note's example 3.1 without hardware: makes a CA, a server and a client certificate
        with openssl, starts a TLS echo server on 127.0.0.1 that demands a client certificate and a virtual M66
        (qssl-sim, found next to qssl or on PATH), then uploads the CA, the client certificate and key, activates
        PDP, configures a seclevel-2 context, opens, sends, receives, closes and deletes the files, printing each
        step. Exits 0 only if the echo came back byte-exact. -v shows the AT conversation.

        """, []) { _, _ throws(Failure) in }
    if !ops.isEmpty { throw Failure.usage("demo takes no arguments") }
    let sim = try findSim()
    var template = Array("/tmp/qssl-demo.XXXXXX".utf8CString)
    guard mkdtemp(&template) != nil else { throw Failure.other("mkdtemp: " + String(cString: strerror(cli_errno()))) }
    let dir = String(cString: template)
    var children: [Child] = []
    defer {
        ctx.close()
        for c in children { c.stop() }
        removeDirectory(dir)
    }
    func step(_ text: String) { out("==> " + text) }

    step("certificates: a CA, a server and a client certificate (openssl, in " + dir + ")")
    try makeCertificates(dir)
    let server = try Child([sim, "echo-server", "--cert", dir + "/server.pem", "--key", dir + "/server.key",
                            "--ca", dir + "/ca.pem", "--require-client-cert"])
    children.append(server)
    let port = try integer(try server.firstLine(timeoutMs: 30_000), "echo server port", 1...65535)
    step("TLS echo server on 127.0.0.1:" + String(port) + ", demanding a client certificate")
    let module = try Child([sim])
    children.append(module)
    let pty = try module.firstLine(timeoutMs: 30_000)
    step("virtual M66 on " + pty)
    ctx.device = pty
    let m = try ctx.open()

    let files = [("RAM:ca_cert.pem", "ca.pem"), ("RAM:client_cert.pem", "client.pem"), ("RAM:client_key.pem", "client.key")]
    for (name, file) in files {
        let data = try readFile(dir + "/" + file)
        step("upload " + file + " as " + name + " (AT+QSECWRITE, " + String(data.count) + " bytes)")
        try uploadCertificate(m, name, data, quiet: false)
    }
    step("activate PDP (AT+QIREGAPP, AT+QIACT)")
    try activatePDP(m, "CMNET")
    var ipBuf = [CChar](repeating: 0, count: 64)
    try check(qssl_pdp_local_ip(m, &ipBuf, ipBuf.count), "AT+QILOCIP", m)
    step("local IP " + String(cString: ipBuf))
    step("SSL context 0: seclevel 2 (server and client authentication) with the uploaded files (AT+QSSLCFG)")
    var cfg = qssl_ctx_config()
    qssl_ctx_config_init(&cfg)
    cfg.seclevel = Int32(QSSL_SECLEVEL_SERVER_CLIENT.rawValue)
    _ = setField(&cfg.cacert, files[0].0)
    _ = setField(&cfg.clientcert, files[1].0)
    _ = setField(&cfg.clientkey, files[2].0)
    try check(qssl_ctx_configure(m, 0, &cfg), "AT+QSSLCFG", m)
    step("open 127.0.0.1:" + String(port) + " (AT+QSSLOPEN, TLS handshake with client certificate)")
    let s = try ModuleSocket.open(m, host: "127.0.0.1", port: port, ctx: 0, kind: .ssl, timeoutS: 0)
    var message = Array("hello from qssl demo\r\n".utf8)
    for b in 0..<256 { message.append(UInt8(b)) }  // every byte value: the pipe is binary-safe
    step("send " + String(message.count) + " bytes (AT+QSSLSEND)")
    try s.sendAll(message, message.count)
    var back: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 1500)
    let until = nowMs() + 30_000
    while back.count < message.count && nowMs() < until {
        let n = buf.withUnsafeMutableBytes { s.recv($0.baseAddress!, $0.count, 5000) }
        if n == QSSL_ETIMEDOUT.rawValue { continue }
        if n <= 0 {
            try check(n < 0 ? n : QSSL_ECLOSED.rawValue, "receive", m)
        }
        back.append(contentsOf: buf[0..<Int(n)])
    }
    step("received " + String(back.count) + " bytes (AT+QSSLRECV)")
    step("close (AT+QSSLCLOSE)")
    s.close()
    for (name, _) in files {
        step("delete " + name + " (AT+QSECDEL)")
        try check(qssl_cert_delete(m, name), "delete " + name, m)
    }
    step("deactivate PDP (AT+QIDEACT)")
    try check(qssl_pdp_deactivate(m), "AT+QIDEACT", m)
    if back != message {
        throw Failure.other("the echo differs from what was sent (" + String(back.count) + " of "
                            + String(message.count) + " bytes back)")
    }
    out("demo: OK - " + String(message.count) + " bytes went through TLS with client authentication and came back byte-exact")
}
