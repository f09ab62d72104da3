import Foundation
import Glibc
import QSSLSim
import Testing

/// The qssl-sim executable as Python / C tests and the demo use it.
@Suite struct ExecutableTests {
    /// The built qssl-sim next to the test bundle.
    func executable() throws -> URL {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let url = dir.appendingPathComponent("qssl-sim")
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw TestFailure("qssl-sim not built next to the tests (\(url.path))")
        }
        return url
    }

    /// Starts the executable and returns it with its first output line.
    func launch(_ args: [String]) throws -> (Process, String) {
        let p = Process()
        p.executableURL = try executable()
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        var line: [UInt8] = []
        let fd = out.fileHandleForReading.fileDescriptor
        let deadline = Date().addingTimeInterval(20)
        while line.last != 0x0A {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard Date() < deadline, poll(&pfd, 1, 100) >= 0 else { p.terminate(); throw TestFailure("no first line") }
            if pfd.revents == 0 { continue }
            var b: UInt8 = 0
            guard read(fd, &b, 1) == 1 else { p.terminate(); throw TestFailure("qssl-sim exited early") }
            line.append(b)
        }
        return (p, String(decoding: line.dropLast(), as: UTF8.self))
    }

    func terminate(_ p: Process) -> Int32 {
        p.terminate()
        p.waitUntilExit()
        return p.terminationStatus
    }

    @Test func printsSlavePathAndLinks() throws {
        let dir = try makeTempDir("exe")
        let link = dir + "/modem"
        let (sim, slave) = try launch(["--link", link, "--seed", "7", "--imei", "869999999999999"])
        #expect(slave.hasPrefix("/dev/pts/"))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == slave)
        let port = try Port(link)
        try port.ok("ATE0")
        #expect(try port.ok("AT+GSN") == ["869999999999999"])
        #expect(terminate(sim) == 0)
        #expect(!FileManager.default.fileExists(atPath: link))
    }

    /// The fault and line flags reach the module: command 2 is swallowed, command 3 brings a reboot.
    @Test func faultAndLineFlags() throws {
        let (sim, slave) = try launch(["--baud", "115200", "--close-line", "no-carrier", "--unanswered", "2",
                                       "--reset-instead-of-answer", "3"])
        defer { _ = terminate(sim) }
        let port = try Port(slave)
        try port.ok("ATE0")
        try port.write("AT\rAT\r")
        try port.need(UnansweredCommandTests.startUp.utf8.count, timeout: 10)
        #expect(String(decoding: port.buf, as: UTF8.self) == UnansweredCommandTests.startUp)
        port.buf.removeAll()
        try port.write("ATE0\r")
        #expect(try port.token() == .line("ATE0"))
        #expect(try port.response().final == "OK")
        try port.ok("AT")
    }

    /// `--host` puts the server on another address; `--tls-min` / `--tls-max` pin its TLS versions.
    @Test func echoServerHostAndTLSVersions() throws {
        let addr = try firstNonLoopbackIPv4()
        let certs = try TestCerts.get()
        let (server, portLine) = try launch(["echo-server", "--cert", certs.path("server.pem"),
                                             "--key", certs.path("server.key"), "--host", addr,
                                             "--tls-min", "1.2", "--tls-max", "1.2"])
        defer { _ = terminate(server) }
        let port = try #require(Int(portLine))
        let m = try startSim { $0.allowNonLoopback = true }
        defer { m.stop() }
        let p = try attachedPort(m)
        try p.ok("AT+QSSLCFG=\"sslversion\",0,1")
        #expect(try sslOpen(p, ssid: 0, port: port, host: addr) == -1)
        try p.ok("AT+QSSLCFG=\"sslversion\",0,3")
        #expect(try sslOpen(p, ssid: 0, port: port, host: addr) == 0)
        #expect(try p.send("AT+QSSLSEND", 0, Array("tls12".utf8)) == "SEND OK")
        #expect(try p.sslRecvAll(0, count: 5) == Array("tls12".utf8))
    }

    @Test func echoServerRejectsUnknownTLSVersion() throws {
        let p = Process()
        p.executableURL = try executable()
        p.arguments = ["echo-server", "--plain", "--tls-max", "1.4"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus != 0)
    }

    @Test func echoServerSubcommand() throws {
        let certs = try TestCerts.get()
        let (server, portLine) = try launch(["echo-server", "--cert", certs.path("server.pem"),
                                             "--key", certs.path("server.key"), "--ca", certs.path("ca.pem"),
                                             "--require-client-cert"])
        defer { _ = terminate(server) }
        let tcpPort = try #require(Int(portLine))
        let m = try startSim()
        defer { m.stop() }
        let p = try attachedPort(m)
        _ = try upload(p, name: "RAM:ca", try certs.bytes("ca.pem"))
        _ = try upload(p, name: "RAM:cc", try certs.bytes("client.pem"))
        _ = try upload(p, name: "RAM:ck", try certs.bytes("client.key"))
        try p.ok("AT+QSSLCFG=\"seclevel\",2,2")
        try p.ok("AT+QSSLCFG=\"cacert\",2,\"RAM:ca\"")
        try p.ok("AT+QSSLCFG=\"clientcert\",2,\"RAM:cc\"")
        try p.ok("AT+QSSLCFG=\"clientkey\",2,\"RAM:ck\"")
        #expect(try sslOpen(p, ssid: 3, ctx: 2, port: tcpPort) == 0)
        #expect(try p.send("AT+QSSLSEND", 3, Array("ping".utf8)) == "SEND OK")
        #expect(try p.sslRecvAll(3, count: 4) == Array("ping".utf8))
    }
}
