import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

extension Engine {
    func onLoop(_ body: @escaping @Sendable () -> Void) {
        module.loop.execute(body)
    }

    /// The note's cipher codes the TLS library still implements (OpenSSL names); RC4 and
    /// AES256-SHA256 are gone from BoringSSL, so asking only for them fails the handshake.
    static let cipherNames: [UInt16: String] = [0x0035: "AES256-SHA", 0x002F: "AES128-SHA", 0x000A: "DES-CBC3-SHA"]

    /// The client TLS configuration of an SSL context; nil when it cannot work (missing files, no cipher).
    func makeTLS(_ cfg: SSLContextConfig) -> TLSConfiguration? {
        var c = TLSConfiguration.makeClientConfiguration()
        switch cfg.sslVersion {
        case 1: c.minimumTLSVersion = .tlsv1; c.maximumTLSVersion = .tlsv1
        case 2: c.minimumTLSVersion = .tlsv11; c.maximumTLSVersion = .tlsv11
        case 3: c.minimumTLSVersion = .tlsv12; c.maximumTLSVersion = .tlsv12
        default: c.minimumTLSVersion = .tlsv1; c.maximumTLSVersion = .tlsv12  // an M66 has no TLS 1.3
        }
        if !cfg.cipherSuites.contains(0xFFFF) {
            let names = cfg.cipherSuites.compactMap { Engine.cipherNames[$0] }
            if names.isEmpty { return nil }
            c.cipherSuites = names.joined(separator: ":")
        }
        switch cfg.secLevel {
        case 0:
            c.certificateVerification = .none
        default:
            // Like the module: the chain is checked against the uploaded CA, the host name is not.
            c.certificateVerification = .noHostnameVerification
            guard let ca = fileData(cfg.caCert), let roots = try? NIOSSLCertificate.fromPEMBytes(ca), !roots.isEmpty
            else { return nil }
            c.trustRoots = .certificates(roots)
            if cfg.secLevel == 2 {
                guard let cc = fileData(cfg.clientCert), let chain = try? NIOSSLCertificate.fromPEMBytes(cc),
                    !chain.isEmpty, let kb = fileData(cfg.clientKey),
                    let key = try? NIOSSLPrivateKey(bytes: kb, format: .pem)
                else { return nil }
                c.certificateChain = chain.map { .certificate($0) }
                c.privateKey = .privateKey(key)
            }
        }
        return c
    }

    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        let parts = host.split(separator: ".")
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    func startConnect(_ s: SimSocket, tls: TLSConfiguration?) {
        let sslContext: NIOSSLContext?
        if let tls {
            guard let ctx = try? NIOSSLContext(configuration: tls) else { return openFailed(s) }
            sslContext = ctx
        } else {
            sslContext = nil
        }
        guard options.allowNonLoopback || Engine.isLoopback(s.remoteHost) else { return openFailed(s) }
        let module = self.module
        let slot = s.slot
        let id = s.id
        let host = s.remoteHost == "localhost" ? "127.0.0.1" : s.remoteHost
        let port = s.remotePort
        let timeout = max(1, Int64(s.openDeadline - monotonicNow()))
        onLoop {
            let bootstrap = ClientBootstrap(group: module.loop)
                .connectTimeout(.seconds(timeout))
                .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                // One read per read() keeps a socket's buffer within about one read of its limit.
                .channelOption(ChannelOptions.maxMessagesPerRead, value: 1)
                .channelInitializer { channel in
                    let handler = SocketHandler(module: module, slot: slot, id: id, tls: sslContext != nil)
                    do {
                        if let sslContext {
                            try channel.pipeline.syncOperations.addHandler(
                                NIOSSLClientHandler(context: sslContext, serverHostname: nil))
                        }
                        try channel.pipeline.syncOperations.addHandler(handler)
                    } catch {
                        return channel.eventLoop.makeFailedFuture(error)
                    }
                    guard module.netAttach(slot: slot, id: id, channel: channel, handler: handler) else {
                        return channel.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
                    }
                    return channel.eventLoop.makeSucceededVoidFuture()
                }
            bootstrap.connect(host: host, port: port).whenFailure { _ in
                module.netConnectFailed(slot: slot, id: id)
            }
        }
    }

    func writeToChannel(_ s: SimSocket, _ ch: Channel, _ data: [UInt8]) {
        s.pendingWrite += data.count
        let module = self.module
        let slot = s.slot
        let id = s.id
        let n = data.count
        onLoop {
            var buf = ch.allocator.buffer(capacity: n)
            buf.writeBytes(data)
            ch.writeAndFlush(buf).whenComplete { _ in module.netWriteDone(slot: slot, id: id, count: n) }
        }
    }

    func resumeReading(_ s: SimSocket) {
        guard let h = s.handler else { return }
        onLoop { h.resume() }
    }

    /// Whether the socket may take more bytes from the network now.
    func wantsRead(_ s: SimSocket) -> Bool {
        s.rx.readableBytes < options.socketBufferLimit
    }

    /// Bytes the module's UART transmit queue holds in data mode: about 20 ms of line time with --baud. A real
    /// module keeps the rest in its socket buffer, so its OK to "+++" (and the bytes after ATO) are not stuck
    /// behind seconds of queued data.
    var uartQueueLimit: Int { options.baud.map { max(64, $0 / 500) } ?? options.socketBufferLimit }

    /// Data mode: moves socket bytes to the UART as it has room; once they are all out and the peer has
    /// closed, leaves data mode and says so.
    func pumpTransparent(_ s: SimSocket) {
        guard case .transparent(let slot, _) = phase, slot == s.slot else { return }
        let room = uartQueueLimit - module.queuedOutput
        if room > 0 && s.rx.readableBytes > 0 {
            raw(s.rx.readBytes(length: min(room, s.rx.readableBytes)) ?? [])
            if s.rx.readableBytes == 0 { s.rx.clear() } else if s.rx.readerIndex > 1 << 16 { s.rx.discardReadBytes() }
        }
        if s.rx.readableBytes > 0 { return }
        if s.state == .peerClosed {
            enterCommandPhase()
            reportClosed(s)
        } else {
            resumeReading(s)
        }
    }

    // MARK: network events (engine lock held)

    func netOpened(_ s: SimSocket, remote: SocketAddress?) {
        guard s.state == .connecting else { return }
        s.state = .connected
        if let ip = remote?.ipAddress, let port = remote?.port { s.peer = "\(ip):\(port)" }
        switch s.kind {
        case .ssl:
            guard s.connectMode == 1 && transparentSlot == nil else { return urc("+QSSLOPEN: \(s.slot),0") }
            transparentSlot = s.slot
            if case .command = phase {
                // The data pipe starts right after this line, so it goes out without urc()'s noise.
                raw("\r\n+QSSLOPEN: \(s.slot),0\r\n")
                enterTransparent(s)
            } else {
                urc("+QSSLOPEN: \(s.slot),0")  // held until the data phase ends; ATO then enters the pipe
            }
        case .tcp:
            urc("\(s.slot), CONNECT OK")
        }
    }

    func netData(_ s: SimSocket, _ buf: inout ByteBuffer) {
        if case .transparent(let slot, _) = phase, slot == s.slot {
            s.rx.writeBuffer(&buf)
            pumpTransparent(s)
            return
        }
        let wasEmpty = s.rx.readableBytes == 0
        s.rx.writeBuffer(&buf)
        guard wasEmpty, s.connectMode == 0, s.state == .connected else { return }
        switch s.kind {
        case .ssl: urc("+QSSLURC: \"recv\",\(fgcnt),\(s.slot)")
        case .tcp: if qindi == 1 { urc("+QIRDI: \(fgcnt),1,\(s.slot)") }
        }
    }

    func netClosed(_ s: SimSocket) {
        switch s.state {
        case .connecting:
            openFailed(s)
            return
        case .peerClosed:
            return
        case .connected:
            break
        }
        s.state = .peerClosed
        s.channel = nil
        if case .holdSend(let slot, _, _, _) = phase, slot == s.slot {
            enterCommandPhase()
            error()
        }
        if case .transparent(let slot, _) = phase, slot == s.slot {
            pumpTransparent(s)   // the bytes still buffered go out first
            return
        }
        // Otherwise "closed" follows the host's read of the last buffered byte (readOut / enterTransparent).
        if options.closedDropsUnreadData || s.rx.readableBytes == 0 {
            reportClosed(s)
        }
    }

    func netWriteDone(_ s: SimSocket, count: Int) {
        s.pendingWrite -= count
        if case .holdSend(let slot, _, let data, _) = phase, slot == s.slot, s.pendingWrite <= options.socketBufferLimit,
            let ch = s.channel
        {
            if !data.isEmpty { writeToChannel(s, ch, data) }
            enterCommandPhase()
            respond(final: "SEND OK")
            process(now: monotonicNow())
        }
    }

    func outputDrained() {
        if case .transparent(let slot, _) = phase, let s = sockets[slot] { pumpTransparent(s) }
    }
}

/// The tail of a socket's pipeline: hands data and events to the engine and holds `read()` while the
/// socket's buffer in the module is full (reads resume as the host drains it).
final class SocketHandler: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let module: VirtualModule
    let slot: Int
    let id: UInt64
    let tls: Bool
    private var context: ChannelHandlerContext?
    private var readHeld = false

    init(module: VirtualModule, slot: Int, id: UInt64, tls: Bool) {
        self.module = module
        self.slot = slot
        self.id = id
        self.tls = tls
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelActive(context: ChannelHandlerContext) {
        if !tls { opened(context) }
        context.fireChannelActive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? TLSUserEvent, case .handshakeCompleted = e { opened(context) }
        context.fireUserInboundEventTriggered(event)
    }

    private func opened(_ context: ChannelHandlerContext) {
        if !module.netOpened(slot: slot, id: id, remote: context.channel.remoteAddress) {
            context.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buf = unwrapInboundIn(data)
        if !module.netData(slot: slot, id: id, &buf) { context.close(promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        module.netClosed(slot: slot, id: id)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if module.netWantsRead(slot: slot, id: id) {
            context.read()
        } else {
            readHeld = true
        }
    }

    func resume() {
        guard readHeld, let context else { return }
        if module.netWantsRead(slot: slot, id: id) {
            readHeld = false
            context.read()
        }
    }
}

extension VirtualModule {
    var loop: EventLoop { group.next() }

    /// Bytes received from the network and not yet read by the host on socket index `socket` (0-5);
    /// 0 when the index is free. For tests of the back-pressure.
    public func bufferedBytes(socket: Int) -> Int {
        guard (0...5).contains(socket) else { return 0 }
        return withEngine { $0.sockets[socket]?.rx.readableBytes ?? 0 }
    }

    /// Runs `body` on the engine with the lock held, then sends URCs held back by a finished data phase.
    @discardableResult
    func withEngine<T>(_ body: (Engine) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        let r = body(st)
        st.flushDeferred()
        return r
    }

    func handleInput(_ bytes: [UInt8], first: Double, spacing: Double, now: Double) {
        withEngine { $0.feed(bytes, first: first, spacing: spacing, now: now) }
    }
    func tick() { withEngine { $0.tick(now: monotonicNow()) } }
    func outputDrained() { withEngine { $0.outputDrained() } }

    func netAttach(slot: Int, id: UInt64, channel: Channel, handler: SocketHandler) -> Bool {
        withEngine { e in
            guard let s = e.socket(slot, id: id), s.state == .connecting else { return false }
            s.channel = channel
            s.handler = handler
            return true
        }
    }

    func netConnectFailed(slot: Int, id: UInt64) {
        withEngine { e in
            if let s = e.socket(slot, id: id), s.state == .connecting { e.openFailed(s) }
        }
    }

    func netOpened(slot: Int, id: UInt64, remote: SocketAddress?) -> Bool {
        withEngine { e in
            guard let s = e.socket(slot, id: id) else { return false }
            e.netOpened(s, remote: remote)
            return true
        }
    }

    func netData(slot: Int, id: UInt64, _ buf: inout ByteBuffer) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard let s = st.socket(slot, id: id) else { return false }
        st.netData(s, &buf)
        st.flushDeferred()
        return true
    }

    func netClosed(slot: Int, id: UInt64) {
        withEngine { e in
            if let s = e.socket(slot, id: id) { e.netClosed(s) }
        }
    }

    func netWriteDone(slot: Int, id: UInt64, count: Int) {
        withEngine { e in
            if let s = e.socket(slot, id: id) { e.netWriteDone(s, count: count) }
        }
    }

    func netWantsRead(slot: Int, id: UInt64) -> Bool {
        withEngine { e in
            guard let s = e.socket(slot, id: id) else { return true }
            return e.wantsRead(s)
        }
    }
}
