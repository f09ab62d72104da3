import ArgumentParser
import Foundation
import QSSLSim

/// Writes a line to stdout unbuffered (a test reading our first line must see it at once).
func printLine(_ s: String) {
    FileHandle.standardOutput.write(Data((s + "\n").utf8))
}

/// Blocks SIGINT/SIGTERM in every thread started after this, and waits for one of them.
func waitForTermination(_ before: () throws -> Void) rethrows {
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGINT)
    sigaddset(&set, SIGTERM)
    pthread_sigmask(SIG_BLOCK, &set, nil)
    try before()
    var sig: Int32 = 0
    sigwait(&set, &sig)
}

@main
struct QSSLSimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qssl-sim",
        abstract: "A virtual Quectel M66 on a pty: answers the SSL/TCP AT commands and does real TLS.",
        discussion: """
            Prints the pty slave path on its first line of output, then answers AT commands on it until \
            SIGINT/SIGTERM. Open the slave as the module's serial port (any baud rate; use raw mode). \
            `qssl-sim echo-server` starts a TLS (or TCP) echo server on 127.0.0.1 (or --host) and prints its \
            port on its first line (see `qssl-sim echo-server --help`).
            """,
        subcommands: [EchoServer.self])

    @Option(help: "Also create a symlink to the pty slave at this path (removed on exit).")
    var link: String?

    @Option(help: "IMEI that AT+GSN answers.")
    var imei: String = "866000000000001"

    @Flag(help: "Split every write to the host into random 1-7 byte pieces.")
    var fragment = false

    @Option(help: "Probability (0-1) of an unrelated URC after a final result (never inside a payload).")
    var noise: Double = 0

    @Option(name: .customLong("send-fail"), help: "Probability (0-1) that QSSLSEND/QISEND answers SEND FAIL.")
    var sendFail: Double = 0

    @Option(help: "UART baud rate: both directions move baud/10 bytes per second; +++ guards are timed on the line.")
    var baud: Int?

    @Option(name: .customLong("reset-after"), help: "Emit RDY and forget all state after N AT commands.")
    var resetAfter: Int?

    @Flag(name: .customLong("reset-repeats"), help: "With --reset-after: reset again every N commands.")
    var resetRepeats = false

    @Option(name: .customLong("reset-instead-of-answer"), help: "The Nth AT command gets no answer: the module reboots instead (RDY, state forgotten).")
    var resetInsteadOfAnswer: Int?

    @Option(help: "The Nth AT command is swallowed: echo only, never a result; later commands are answered.")
    var unanswered: Int?

    @Option(name: .customLong("packet-service"),
            help: "The network's answer to a packet attach: available, refused (+CGREG: 0,3, AT+CGATT=1 fails) or searching (+CGREG: 0,2).")
    var packetService: String = "available"

    @Option(name: .customLong("pdp-deact-after"), help: "Emit +PDP DEACT (closing every socket) this many seconds after AT+QIACT.")
    var pdpDeactAfter: Double?

    @Flag(name: .customLong("closed-drops-data"), help: "On a peer close, report \"closed\" at once and drop unread data.")
    var closedDropsData = false

    @Option(name: .customLong("close-line"),
            help: "Line printed when the peer closes a transparent SSL connection: urc (+QSSLURC: \"closed\",<id>), closed (CLOSED) or no-carrier (NO CARRIER).")
    var closeLine: CloseLine = .urc

    @Option(help: "Append a log of every byte in both directions to this file.")
    var log: String?

    @Flag(name: .customLong("allow-non-loopback"), help: "Allow connections to destinations other than 127.0.0.0/8 and localhost.")
    var allowNonLoopback = false

    @Option(help: "Seed of the random choices (fragment sizes, noise URCs, SEND FAIL).")
    var seed: UInt64?

    @Flag(name: .customLong("no-echo"), help: "Start with echo off (a real module starts with ATE1).")
    var noEcho = false

    @Option(name: .customLong("escape-guard"), help: "Seconds of silence around +++ (transparent mode, upload).")
    var escapeGuard: Double = 1.0

    @Option(name: .customLong("local-ip"), help: "Address AT+QILOCIP answers.")
    var localIP: String = "10.1.83.188"

    @Option(name: .customLong("socket-buffer"), help: "Bytes a socket buffers before the sim stops reading the network.")
    var socketBuffer: Int = 65536

    func run() throws {
        var o = SimOptions()
        o.linkPath = link
        o.imei = imei
        o.fragmentWrites = fragment
        o.noiseURCProbability = noise
        o.sendFailProbability = sendFail
        o.baud = baud
        o.resetAfterCommands = resetAfter
        o.resetRepeats = resetRepeats
        o.resetInsteadOfAnswer = resetInsteadOfAnswer
        o.unanswered = unanswered
        guard let service = SimOptions.PacketService(rawValue: packetService) else {
            throw ValidationError("--packet-service: available, refused or searching")
        }
        o.packetService = service
        o.pdpDeactAfterSeconds = pdpDeactAfter
        o.closedDropsUnreadData = closedDropsData
        o.closeLine = closeLine
        o.logPath = log
        o.allowNonLoopback = allowNonLoopback
        o.seed = seed
        o.echo = !noEcho
        o.escapeGuardSeconds = escapeGuard
        o.localIP = localIP
        o.socketBufferLimit = socketBuffer
        var module: VirtualModule?
        try waitForTermination {
            let m = try VirtualModule(options: o)
            module = m
            m.start()
            printLine(m.slavePath)
        }
        module?.stop()
    }
}

extension CloseLine: ExpressibleByArgument {}

struct EchoServer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo-server",
        abstract: "A TLS (or --plain TCP) server on 127.0.0.1 (or --host) for tests and demos. First output line: the port.")

    @Option(help: "Server certificate (PEM). Required unless --plain.")
    var cert: String?

    @Option(help: "Server private key (PEM). Required unless --plain.")
    var key: String?

    @Option(help: "CA (PEM) that client certificates must chain to (with --require-client-cert).")
    var ca: String?

    @Flag(name: .customLong("require-client-cert"), help: "Demand a client certificate signed by --ca.")
    var requireClientCert = false

    @Flag(help: "Plain TCP instead of TLS.")
    var plain = false

    @Option(help: "Address to listen on (e.g. 0.0.0.0 or this machine's LAN address).")
    var host: String = "127.0.0.1"

    @Option(help: "Port to listen on (0 = ephemeral).")
    var port: Int = 0

    @Option(name: .customLong("tls-min"), help: "Lowest TLS version accepted: 1.0, 1.1, 1.2 or 1.3.")
    var tlsMin: String = "1.0"

    @Option(name: .customLong("tls-max"), help: "Highest TLS version accepted: 1.0, 1.1, 1.2 or 1.3 (default 1.3).")
    var tlsMax: String?

    @Option(help: "Instead of echoing: send this text to each client, then close the connection.")
    var send: String?

    func validate() throws {
        if !plain && (cert == nil || key == nil) { throw ValidationError("--cert and --key are required unless --plain") }
        if requireClientCert && ca == nil { throw ValidationError("--require-client-cert needs --ca") }
        for v in [tlsMin] + (tlsMax.map { [$0] } ?? []) where SimTLSVersion(rawValue: v) == nil {
            throw ValidationError("unknown TLS version \(v): use 1.0, 1.1, 1.2 or 1.3")
        }
    }

    func run() throws {
        let mode: TestTLSServer.Mode = send.map { .sendThenClose(Array($0.utf8)) } ?? .echo
        var server: TestTLSServer?
        try waitForTermination {
            let s: TestTLSServer
            if plain {
                s = try TestTLSServer(plainTCPMode: mode, host: host, port: port)
            } else {
                s = try TestTLSServer(certificatePath: cert!, keyPath: key!, clientCAPath: ca,
                                      requireClientCertificate: requireClientCert, mode: mode, host: host, port: port,
                                      minimumTLSVersion: SimTLSVersion(rawValue: tlsMin)!,
                                      maximumTLSVersion: tlsMax.flatMap { SimTLSVersion(rawValue: $0) })
            }
            server = s
            printLine(String(s.port))
        }
        server?.stop()
    }
}
