/// Finds the line a module prints when it leaves transparent (data) mode by itself, in the byte stream of a
/// transparent socket.
///
/// In data mode every byte is socket data, so the module's own text can only be told apart by where it stands.
/// When the connection ends the module goes back to command mode and prints a line there: for the note's SSL
/// sockets `+QSSLURC: "closed",<ssid>`, in the M-series TCP transparent style `CLOSED`, on newer firmware
/// `NO CARRIER`, for a lost context `+PDP DEACT`, after a restart `RDY`; and `OK` answers a "+++" escape. Each is
/// framed "\r\n...\r\n" like any URC, possibly followed by more framed lines (the start-up burst after RDY, noise).
/// Nothing of the connection can follow. So such a line counts as the exit only when it starts a line, and
/// what follows it is nothing but further framed lines, up to a pause (the caller's quiet time). Bytes that
/// could still turn out to be that are held back (never more than `maxHeld`); anything else is data at once.
///
/// The limit: a peer that sends exactly one of these lines and then pauses looks the same as the module
/// leaving data mode. No byte in data mode can be told apart by content alone.
public struct DataModeExitScanner: Sendable {
    /// The exit lines with their framing, "\r\n<text>\r\n".
    public private(set) var markers: [[UInt8]]
    /// The exit lines as text, in the order of `markers`.
    public private(set) var lines: [String]
    /// Bytes held back: a prefix of an exit line, or an exit line and the framed lines after it.
    public private(set) var held: [UInt8] = []
    /// Longest stretch held back; beyond it the bytes are data.
    public static let maxHeld = 512
    /// Longest line accepted after the exit line.
    public static let maxLine = 80

    /// The lines by which a module leaves the data mode of transparent socket `socket` (0-5) by itself.
    public static func exitLines(socket: Int) -> [String] {
        ["+QSSLURC: \"closed\",\(socket)", "CLOSED", "NO CARRIER", "+PDP DEACT", "RDY"]
    }

    /// The exit lines of transparent SSL socket `socket` (0-5).
    public init(socket: Int) {
        self.init(lines: DataModeExitScanner.exitLines(socket: socket))
    }

    /// Exit lines given as text (without framing).
    public init(lines: [String]) {
        self.lines = lines
        markers = lines.map { Array(("\r\n" + $0 + "\r\n").utf8) }
    }

    /// Also watches for `line` from now on (the "OK" that answers "+++").
    public mutating func addLine(_ line: String) {
        if lines.contains(line) { return }
        lines.append(line)
        markers.append(Array(("\r\n" + line + "\r\n").utf8))
    }

    /// The exit line the held bytes start with, when `exitHeld`.
    public var heldExitLine: String? {
        if classify(held[...]) != .exit { return nil }
        for (i, m) in markers.enumerated() where held.starts(with: m) { return lines[i] }
        return nil
    }

    /// Feeds bytes from the port; returns those that are socket data for certain, in order. The rest is held.
    public mutating func feed(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for b in bytes {
            if held.isEmpty {
                if b == 0x0D { held.append(b) } else { out.append(b) }
                continue
            }
            held.append(b)
            // The held bytes stopped matching: the first is data, and so is everything up to the next CR
            // (where a match could start again).
            while !held.isEmpty && classify(held[...]) == .dead {
                var i = 1
                while i < held.count && held[i] != 0x0D { i += 1 }
                out.append(contentsOf: held[0..<i])
                held.removeFirst(i)
            }
        }
        return out
    }

    /// True when the held bytes start with a whole exit line: if the port stays quiet now, the module has
    /// left data mode and `held` is its command-mode output.
    public var exitHeld: Bool { classify(held[...]) == .exit }

    /// Empties `held` and returns it (as data after a pause without an exit line, or to replay as lines).
    public mutating func takeHeld() -> [UInt8] {
        defer { held.removeAll() }
        return held
    }

    enum Match { case dead, prefix, exit }

    func classify(_ p: ArraySlice<UInt8>) -> Match {
        if p.count > Self.maxHeld { return .dead }
        for m in markers {
            if p.count <= m.count {
                if m.starts(with: p) { return p.count == m.count ? .exit : .prefix }
            } else if p.starts(with: m) {
                if Self.framedLines(p.dropFirst(m.count)) { return .exit }
            }
        }
        return .dead
    }

    /// Whether `p` is a run of "\r\n<printable>\r\n" lines, the last possibly cut short.
    static func framedLines(_ p: ArraySlice<UInt8>) -> Bool {
        // 0: CR that opens a line, 1: its LF, 2: text, 3: LF that closes the line.
        var state = 0
        var length = 0
        for b in p {
            switch state {
            case 0:
                if b != 0x0D { return false }
                state = 1
            case 1:
                if b != 0x0A { return false }
                state = 2
                length = 0
            case 2:
                if b == 0x0D {
                    if length == 0 { return false }
                    state = 3
                } else if b >= 0x20 && b <= 0x7E && length < maxLine {
                    length += 1
                } else {
                    return false
                }
            default:
                if b != 0x0A { return false }
                state = 0
            }
        }
        return true
    }
}
