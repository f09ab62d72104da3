import Foundation
import NIOCore
import QSSLCore

/// One parameter of an AT command line.
struct ATArg {
    var text: String
    var quoted: Bool
    var int: Int? { quoted ? nil : Int(text) }
}

enum SockKind { case ssl, tcp }
enum SockState { case connecting, connected, peerClosed }

/// A socket index in use (SSL or TCP; they share 0-5).
final class SimSocket {
    let id: UInt64
    let slot: Int
    let kind: SockKind
    var state: SockState = .connecting
    var channel: Channel?
    var handler: SocketHandler?
    var rx = ByteBuffer()
    var peer: String
    var remoteHost: String
    var remotePort: Int
    let connectMode: Int
    var pendingWrite = 0
    var openDeadline: Double
    init(id: UInt64, slot: Int, kind: SockKind, host: String, port: Int, mode: Int, deadline: Double) {
        self.id = id
        self.slot = slot
        self.kind = kind
        self.peer = "\(host):\(port)"
        self.remoteHost = host
        self.remotePort = port
        self.connectMode = mode
        self.openDeadline = deadline
    }
}

struct SSLContextConfig {
    var sslVersion = 4
    var cipherSuites: [UInt16] = [0xFFFF]
    var secLevel = 0
    var caCert = ""
    var clientCert = ""
    var clientKey = ""
}

enum PDPState {
    case initial, start, gprsact, status, deact
    var text: String {
        switch self {
        case .initial: return "IP INITIAL"
        case .start: return "IP START"
        case .gprsact: return "IP GPRSACT"
        case .status: return "IP STATUS"
        case .deact: return "PDP DEACT"
        }
    }
}

enum Phase {
    case command
    /// Fixed-length send: collecting `remaining` more bytes.
    case sendFixed(slot: Int, id: UInt64, remaining: Int, data: [UInt8])
    /// Ctrl+Z send: collecting until 0x1A (ESC cancels).
    case sendCtrlZ(slot: Int, id: UInt64, data: [UInt8])
    /// AT+QSECWRITE data phase after CONNECT.
    case upload(name: String, size: Int, data: [UInt8], deadline: Double)
    /// The socket's send buffer is full: the payload waits (at most until `deadline`, then SEND FAIL and
    /// nothing is sent) for the unsent bytes to drain.
    case holdSend(slot: Int, id: UInt64, data: [UInt8], deadline: Double)
    /// Transparent mode: the port is a byte pipe to the socket.
    case transparent(slot: Int, id: UInt64)
}

let CR: UInt8 = 0x0D
let LF: UInt8 = 0x0A

/// The module's state and command interpreter. Not thread-safe: the owning VirtualModule calls it with its
/// lock held. Channel operations go through `onLoop`, which only enqueues them on the single event loop,
/// so they keep the order in which the engine decided them and never run under the engine's lock.
final class Engine {
    unowned let module: VirtualModule
    let options: SimOptions
    var rng: SimRandom

    // Command line
    var echo: Bool
    var cmee = 1
    var line: [UInt8] = []
    var echoPending: [UInt8] = []
    var phase: Phase = .command
    var input: [UInt8] = []
    /// When each byte of `input` arrived at the module (the end of its stop bit on the line).
    var inputAt: [Double] = []
    var inputPos = 0
    var commandCount = 0
    /// AT commands since start-up; a reset does not restart it (resetInsteadOfAnswer, unanswered).
    var commandTotal = 0
    var resetDone = false
    var deferredURCs: [String] = []

    // Transparent-mode and upload escape detection, all on arrival times
    var plusCount = 0
    /// Arrival of the last '+' counted in `plusCount`.
    var plusTime = 0.0
    /// Arrival of the last byte consumed (or the moment data mode began, if later): the start of the
    /// silence a first '+' needs before it.
    var lastInputTime = 0.0

    // Network state
    var cgatt = 1
    var pdp: PDPState = .initial
    var pdpDeactAt: Double? = nil
    var fgcnt = 0
    var apn = ""
    var qimux = 0
    var qindi = 0
    var sockets: [SimSocket?] = Array(repeating: nil, count: 6)
    var nextSocketID: UInt64 = 1
    var transparentSlot: Int? = nil

    // Security data and SSL settings
    var ramFiles: [String: [UInt8]] = [:]
    var nvramFiles: [String: [UInt8]] = [:]
    var contexts = Array(repeating: SSLContextConfig(), count: 6)
    var ignoreRTC = 1
    var https = 0
    var httpsCtx = -1
    var smtpStyle = 0
    var smtpsCtx = -1

    init(module: VirtualModule) {
        self.module = module
        self.options = module.options
        self.echo = module.options.echo
        self.cgatt = module.options.packetService == .available ? 1 : 0
        self.rng = SimRandom(seed: module.options.seed ?? UInt64.random(in: 0...UInt64.max))
    }

    // MARK: output helpers

    func flushEcho() {
        if !echoPending.isEmpty {
            module.enqueueOutput(echoPending)
            echoPending.removeAll(keepingCapacity: true)
        }
    }

    func raw(_ s: String) {
        flushEcho()
        module.enqueueOutput(Array(s.utf8))
    }

    func raw(_ b: [UInt8]) {
        flushEcho()
        module.enqueueOutput(b)
    }

    /// "\r\n<line>\r\n" for each line, then the final result; noise may follow the final result.
    func respond(_ lines: [String] = [], final: String = "OK") {
        var s = ""
        for l in lines { s += "\r\n\(l)\r\n" }
        s += "\r\n\(final)\r\n"
        raw(s)
        maybeNoise()
    }

    func ok() { respond() }
    func error() { respond(final: "ERROR") }
    func cme(_ code: Int) {
        switch cmee {
        case 0: respond(final: "ERROR")
        default: respond(final: "+CME ERROR: \(code)")
        }
    }

    static let noise = ["+CREG: 1", "+CGREG: 1", "UNDER_VOLTAGE WARNING ", "+CMTI: \"SM\",1", "+CSQN: 22,0"]

    func maybeNoise() {
        // Only a port in command mode may carry a stray line; in a data phase it would become payload.
        guard case .command = phase else { return }
        if rng.chance(options.noiseURCProbability) {
            raw("\r\n\(Engine.noise[rng.int(0...(Engine.noise.count - 1))])\r\n")
        }
    }

    /// An unsolicited line: written now if the port is in command mode, else after the data phase ends.
    func urc(_ text: String) {
        if case .command = phase {
            raw("\r\n\(text)\r\n")
            maybeNoise()
        } else {
            deferredURCs.append(text)
        }
    }

    /// Back to command mode; URCs held during the data phase follow at the end of this engine call.
    func enterCommandPhase() {
        phase = .command
    }

    func flushDeferred() {
        guard case .command = phase, !deferredURCs.isEmpty else { return }
        let pending = deferredURCs
        deferredURCs.removeAll()
        for u in pending { urc(u) }
    }

    /// True while the host's bytes must stay in the pty (transparent mode with a full socket).
    var inputPaused: Bool {
        if case .transparent(let slot, _) = phase, let s = sockets[slot] {
            return s.pendingWrite > options.socketBufferLimit * 4
        }
        return false
    }

    // MARK: input

    /// Bytes from the host; byte i arrived at `first + i * spacing` (spacing 0 without a line rate).
    func feed(_ bytes: [UInt8], first: Double, spacing: Double, now: Double) {
        let times = (0..<bytes.count).map { first + Double($0) * spacing }
        if case .transparent = phase {
            transparentInput(bytes, times, now: now)
            return
        }
        input.append(contentsOf: bytes)
        inputAt.append(contentsOf: times)
        process(now: now)
    }

    /// Whether a '+' arriving at `t` follows the guard's silence (strict: exactly escapeGuardSeconds).
    func silentBefore(_ t: Double) -> Bool {
        t - lastInputTime >= options.escapeGuardSeconds
    }

    /// Consumes buffered input until it runs out or a phase has to wait for the network.
    func process(now: Double) {
        while inputPos < input.count {
            switch phase {
            case .command:
                let b = input[inputPos]
                lastInputTime = max(lastInputTime, inputAt[inputPos])
                inputPos += 1
                if echo { echoPending.append(b) }
                if b == CR {
                    let l = line
                    line.removeAll(keepingCapacity: true)
                    flushEcho()
                    execute(l, now: now)
                } else if b == LF {
                    continue
                } else if b == 0x08 {
                    if !line.isEmpty { line.removeLast() }
                } else if line.count < 4096 {
                    line.append(b)
                }
            case .sendFixed(let slot, let id, let remaining, var data):
                let n = min(remaining, input.count - inputPos)
                data.append(contentsOf: input[inputPos..<(inputPos + n)])
                inputPos += n
                lastInputTime = max(lastInputTime, inputAt[inputPos - 1])
                if n == remaining {
                    phase = .command
                    finishSend(slot: slot, id: id, data: data)
                } else {
                    phase = .sendFixed(slot: slot, id: id, remaining: remaining - n, data: data)
                }
            case .sendCtrlZ(let slot, let id, var data):
                let b = input[inputPos]
                lastInputTime = max(lastInputTime, inputAt[inputPos])
                inputPos += 1
                if b == 0x1A {
                    phase = .command
                    if data.count > 1460 { enterCommandPhase(); error() } else { finishSend(slot: slot, id: id, data: data) }
                } else if b == 0x1B {
                    enterCommandPhase()
                    ok()
                } else {
                    data.append(b)
                    phase = .sendCtrlZ(slot: slot, id: id, data: data)
                }
            case .upload(let name, let size, var data, let deadline):
                let n = min(size - data.count, input.count - inputPos)
                for i in inputPos..<(inputPos + n) {
                    // "+++" counts only after the guard's silence; any byte after the third cancels it.
                    let t = inputAt[i]
                    if input[i] == 0x2B && plusCount < 3 && (plusCount > 0 || silentBefore(t)) {
                        plusCount += 1
                        plusTime = t
                    } else {
                        plusCount = 0
                    }
                    lastInputTime = max(lastInputTime, t)
                }
                data.append(contentsOf: input[inputPos..<(inputPos + n)])
                inputPos += n
                if data.count >= size {
                    finishUpload(name: name, data: data)
                } else {
                    phase = .upload(name: name, size: size, data: data, deadline: deadline)
                }
            case .holdSend:
                compactInput()
                return
            case .transparent:
                // Left command mode for a data pipe (ATO): the rest is payload.
                let rest = Array(input[inputPos...])
                let times = Array(inputAt[inputPos...])
                inputPos = input.count
                transparentInput(rest, times, now: now)
            }
        }
        compactInput()
        flushEcho()
    }

    func compactInput() {
        if inputPos >= input.count {
            input.removeAll(keepingCapacity: input.capacity < 1 << 16)
            inputAt.removeAll(keepingCapacity: inputAt.capacity < 1 << 16)
            inputPos = 0
        } else if inputPos > 4096 {
            input.removeFirst(inputPos)
            inputAt.removeFirst(inputPos)
            inputPos = 0
        }
    }

    // MARK: periodic

    func tick(now: Double) {
        switch phase {
        case .upload(let name, let size, var data, let deadline):
            // No byte arrived since the third '+' (one would have reset plusCount).
            if plusCount == 3 && now - plusTime >= options.escapeGuardSeconds {
                data.removeLast(3)
                plusCount = 0
                finishUpload(name: name, data: data)
            } else if now >= deadline {
                finishUpload(name: name, data: data)
            }
            _ = size
        case .holdSend:
            if case .holdSend(_, _, _, let deadline) = phase, now >= deadline {
                enterCommandPhase()
                respond(final: "SEND FAIL")
                process(now: now)
            }
        case .transparent(let slot, _):
            if plusCount == 3 && now - plusTime >= options.escapeGuardSeconds {
                plusCount = 0
                _ = slot
                enterCommandPhase()
                ok()
                process(now: now)
            }
        default:
            break
        }
        for case let s? in sockets where s.state == .connecting && now >= s.openDeadline {
            openFailed(s)
        }
        if let at = pdpDeactAt, now >= at {
            pdpDeactAt = nil
            closeAllSockets()
            pdp = .deact
            if case .transparent = phase { enterCommandPhase() }
            urc("+PDP DEACT")
        }
    }

    // MARK: reset

    func moduleReset() {
        closeAllSockets()
        echo = true
        cmee = 1
        line.removeAll()
        echoPending.removeAll()
        phase = .command
        input.removeAll()
        inputAt.removeAll()
        inputPos = 0
        deferredURCs.removeAll()
        plusCount = 0
        cgatt = options.packetService == .available ? 1 : 0
        pdp = .initial
        pdpDeactAt = nil
        fgcnt = 0
        apn = ""
        qimux = 0
        qindi = 0
        ramFiles.removeAll()
        contexts = Array(repeating: SSLContextConfig(), count: 6)
        ignoreRTC = 1
        https = 0
        httpsCtx = -1
        smtpStyle = 0
        smtpsCtx = -1
        raw("\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\nCall Ready\r\n\r\nSMS Ready\r\n")
    }

    /// Frees every socket index and queues the channel closes.
    func closeAllSockets() {
        for i in 0..<6 {
            if let s = sockets[i] { dropSocket(s) }
        }
    }

    func dropSocket(_ s: SimSocket) {
        if let c = s.channel { onLoop { c.close(promise: nil) } }
        s.channel = nil
        s.handler = nil
        if sockets[s.slot] === s { sockets[s.slot] = nil }
        if transparentSlot == s.slot { transparentSlot = nil }
    }

    func socket(_ slot: Int, id: UInt64) -> SimSocket? {
        guard slot >= 0 && slot < 6, let s = sockets[slot], s.id == id else { return nil }
        return s
    }
}
