import Foundation

/// The virtual module's byte log (`SimOptions.logPath`): one line per read from or write to the host, in the
/// order they happened, `<seconds since start> <host->module|module->host> <count> "<bytes>"`. Printable bytes
/// stand as they are; CR, LF, `"` and `\` are written `\r \n \" \\`, every other byte `\xNN`.
///
/// The C tests (Tests/c/simlog.h) and the Python tests read the same format with their own readers.
public enum SimByteLog {
    /// One line of the log.
    public struct Entry: Sendable, Equatable {
        /// Seconds since the virtual module started.
        public var seconds: Double
        /// True for bytes the host wrote, false for bytes the module wrote.
        public var fromHost: Bool
        public var bytes: [UInt8]
    }

    /// The log line (with its LF) for `bytes`.
    static func line(seconds: Double, fromHost: Bool, _ bytes: [UInt8]) -> String {
        var s = String(format: "%.6f %@ %d ", seconds, fromHost ? "host->module" : "module->host", bytes.count)
        s += "\""
        for b in bytes {
            switch b {
            case 0x0D: s += "\\r"
            case 0x0A: s += "\\n"
            case 0x22: s += "\\\""
            case 0x5C: s += "\\\\"
            case 0x20...0x7E: s.unicodeScalars.append(Unicode.Scalar(b))
            default: s += String(format: "\\x%02x", b)
            }
        }
        return s + "\"\n"
    }

    /// The whole lines of the log at `path` that lie between byte offsets `start` and `end` (nil: the end of
    /// the file). A line cut short at `end` (the module was still writing) is left out.
    public static func read(path: String, from start: UInt64 = 0, to end: UInt64? = nil) throws -> [Entry] {
        guard let h = FileHandle(forReadingAtPath: path) else { throw SimError("cannot read the sim log \(path)") }
        defer { try? h.close() }
        try h.seek(toOffset: start)
        let data = [UInt8](end.map { h.readData(ofLength: Int($0 - start)) } ?? h.readDataToEndOfFile())
        var entries: [Entry] = []
        var i = 0
        while let nl = data[i...].firstIndex(of: 0x0A) {
            let line = data[i..<nl]
            i = nl + 1
            guard let e = entry(line) else { throw SimError("bad sim log line: \(String(decoding: line, as: UTF8.self))") }
            entries.append(e)
        }
        return entries
    }

    /// Every byte the host wrote, in order.
    public static func hostBytes(path: String) throws -> [UInt8] {
        try read(path: path).filter(\.fromHost).flatMap(\.bytes)
    }

    private static func entry(_ line: ArraySlice<UInt8>) -> Entry? {
        let fields = line.split(separator: 0x20, maxSplits: 3, omittingEmptySubsequences: false)
        guard fields.count == 4, let seconds = Double(String(decoding: fields[0], as: UTF8.self)),
              let count = Int(String(decoding: fields[2], as: UTF8.self)) else { return nil }
        let dir = String(decoding: fields[1], as: UTF8.self)
        guard dir == "host->module" || dir == "module->host" else { return nil }
        let quoted = fields[3]
        guard quoted.count >= 2, quoted.first == 0x22, quoted.last == 0x22,
              let bytes = unescape(quoted.dropFirst().dropLast()), bytes.count == count else { return nil }
        return Entry(seconds: seconds, fromHost: dir == "host->module", bytes: bytes)
    }

    private static func unescape(_ s: ArraySlice<UInt8>) -> [UInt8]? {
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x61...0x66: return c - 0x61 + 10
            default: return nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            guard c == 0x5C else {
                out.append(c)
                i += 1
                continue
            }
            guard i + 1 < s.endIndex else { return nil }
            switch s[i + 1] {
            case 0x72: out.append(0x0D); i += 2
            case 0x6E: out.append(0x0A); i += 2
            case 0x22, 0x5C: out.append(s[i + 1]); i += 2
            case 0x78:
                guard i + 3 < s.endIndex, let hi = hex(s[i + 2]), let lo = hex(s[i + 3]) else { return nil }
                out.append(hi << 4 | lo)
                i += 4
            default: return nil
            }
        }
        return out
    }
}
