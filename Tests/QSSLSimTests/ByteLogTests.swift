import Foundation
@testable import QSSLSim
import Testing

/// The byte log's format read back: every byte value, lines cut short, lines that are not the sim's.
@Suite struct ByteLogTests {
    @Test func everyByteValueReadsBack() throws {
        let path = try makeTempDir("bytelog") + "/sim.log"
        let all = (0...255).map { UInt8($0) }
        let text = SimByteLog.line(seconds: 0.5, fromHost: true, all)
            + SimByteLog.line(seconds: 1.25, fromHost: false, Array("\r\nOK\r\n".utf8))
            + SimByteLog.line(seconds: 2, fromHost: true, [])
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let log = try SimByteLog.read(path: path)
        #expect(log == [SimByteLog.Entry(seconds: 0.5, fromHost: true, bytes: all),
                        SimByteLog.Entry(seconds: 1.25, fromHost: false, bytes: Array("\r\nOK\r\n".utf8)),
                        SimByteLog.Entry(seconds: 2, fromHost: true, bytes: [])])
        #expect(try SimByteLog.hostBytes(path: path) == all)
        // A range that ends inside the second line holds the first only; one that starts at the second line
        // holds the rest.
        let first = UInt64(SimByteLog.line(seconds: 0.5, fromHost: true, all).utf8.count)
        #expect(try SimByteLog.read(path: path, to: first + 5).count == 1)
        #expect(try SimByteLog.read(path: path, from: first).map(\.seconds) == [1.25, 2])
    }

    @Test(arguments: ["0.1 host->module 2 \"AB\"x", "0.1 host->module 3 \"AB\"", "0.1 sideways 2 \"AB\"",
                      "0.1 host->module 1 \"\\q\"", "0.1 host->module 1 \"\\x4\"", "x host->module 1 \"A\""])
    func aLineThatIsNotTheSimsIsAnError(_ line: String) throws {
        let path = try makeTempDir("bytelog") + "/sim.log"
        try (line + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: SimError.self) { try SimByteLog.read(path: path) }
    }
}
