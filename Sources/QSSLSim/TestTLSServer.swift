import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// A TLS protocol version a test server can be pinned to ("1.0" ... "1.3" on the command line).
public enum SimTLSVersion: String, Sendable, CaseIterable {
    case tls10 = "1.0"
    case tls11 = "1.1"
    case tls12 = "1.2"
    case tls13 = "1.3"

    var nio: TLSVersion {
        switch self {
        case .tls10: return .tlsv1
        case .tls11: return .tlsv11
        case .tls12: return .tlsv12
        case .tls13: return .tlsv13
        }
    }
}

/// A TLS (or plain TCP) server on 127.0.0.1 (or `host`) with an ephemeral port, for tests and demos.
public final class TestTLSServer: @unchecked Sendable {
    /// What the server does with each connection.
    public enum Mode: Sendable {
        /// Echo every byte back (with back-pressure: it stops reading while the client does not read).
        case echo
        /// Send these bytes as soon as the connection is up, then close it.
        case sendThenClose([UInt8])
    }

    /// The port the server listens on.
    public let port: Int
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel
    private let stopLock = NSLock()
    private var stopped = false
    private let counter: AcceptCounter

    /// TCP connections accepted so far. Lets a test tell a refusal before connecting from one during the
    /// handshake.
    public var acceptedConnections: Int { counter.value }

    /// TLS server. `clientCAPath` + `requireClientCertificate` make it demand a client certificate signed by
    /// that CA. TLS 1.0-1.3 are accepted unless `minimumTLSVersion` / `maximumTLSVersion` narrow that;
    /// `cipherSuites` (OpenSSL names, e.g. "AES256-SHA") limits the suites offered up to TLS 1.2.
    public convenience init(certificatePath: String, keyPath: String, clientCAPath: String? = nil,
                            requireClientCertificate: Bool = false, mode: Mode = .echo,
                            host: String = "127.0.0.1", port: Int = 0,
                            minimumTLSVersion: SimTLSVersion = .tls10, maximumTLSVersion: SimTLSVersion? = nil,
                            cipherSuites: String? = nil) throws {
        let chain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        var config = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        config.minimumTLSVersion = minimumTLSVersion.nio
        config.maximumTLSVersion = maximumTLSVersion?.nio
        if let cipherSuites { config.cipherSuites = cipherSuites }
        if requireClientCertificate {
            guard let ca = clientCAPath else { throw SimError("requireClientCertificate needs clientCAPath") }
            config.certificateVerification = .noHostnameVerification
            config.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
        }
        try self.init(tls: try NIOSSLContext(configuration: config), mode: mode, host: host, port: port)
    }

    /// Plain TCP server (no TLS).
    public convenience init(plainTCPMode mode: Mode = .echo, host: String = "127.0.0.1", port: Int = 0) throws {
        try self.init(tls: nil, mode: mode, host: host, port: port)
    }

    private init(tls: NIOSSLContext?, mode: Mode, host: String, port: Int) throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let counter = AcceptCounter()
        self.counter = counter
        do {
            let ch = try ServerBootstrap(group: group)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    counter.increment()
                    do {
                        if let tls {
                            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                        }
                        switch mode {
                        case .echo:
                            try channel.pipeline.syncOperations.addHandler(BackPressureHandler())
                            try channel.pipeline.syncOperations.addHandler(EchoHandler())
                        case .sendThenClose(let bytes):
                            try channel.pipeline.syncOperations.addHandler(SendThenCloseHandler(bytes: bytes))
                        }
                        return channel.eventLoop.makeSucceededVoidFuture()
                    } catch {
                        return channel.eventLoop.makeFailedFuture(error)
                    }
                }
                .bind(host: host, port: port).wait()
            self.group = group
            self.channel = ch
            self.port = ch.localAddress?.port ?? 0
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
    }

    /// Closes the listener and every connection (idempotent).
    public func stop() {
        stopLock.lock()
        let was = stopped
        stopped = true
        stopLock.unlock()
        if was { return }
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }

    deinit { stop() }
}

private final class AcceptCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}

private final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

private final class SendThenCloseHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let bytes: [UInt8]
    init(bytes: [UInt8]) { self.bytes = bytes }

    func channelActive(context: ChannelHandlerContext) {
        var buf = context.channel.allocator.buffer(capacity: bytes.count)
        buf.writeBytes(bytes)
        let ch = context.channel
        context.writeAndFlush(wrapOutboundOut(buf)).whenComplete { _ in ch.close(promise: nil) }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
