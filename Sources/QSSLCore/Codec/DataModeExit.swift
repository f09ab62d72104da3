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
    public private(set) var markers: [[UInt8]] = []
    /// The exit lines as text, in the order of `markers`.
    public private(set) var lines: [String] = []
    /// Bytes held back: a prefix of an exit line, or an exit line and the framed lines after it.
    public private(set) var held: [UInt8] = []
    /// Longest stretch held back; beyond it the bytes are data.
    public static let maxHeld = 512
    /// Longest line accepted after the exit line.
    public static let maxLine = 80

    // Where `held` stands, advanced one byte at a time so that feeding costs the same for every byte however
    // much is held (classifying the whole held run again per byte made a 512-byte run cost 512 times as much).
    /// Indices of the markers that `held` is still a prefix of, until one of them is complete.
    private var candidates: [Int] = []
    /// The marker `held` starts with, once it is complete (-1 before); the framed lines after it follow.
    private var matched = -1
    private var after = FramedLines()

    /// The lines by which a module leaves the data mode of transparent socket `socket` (0-5) by itself.
    public static func exitLines(socket: Int) -> [String] {
        ["+QSSLURC: \"closed\",\(socket)", "CLOSED", "NO CARRIER", "+PDP DEACT", "RDY"]
    }

    /// The exit lines of transparent SSL socket `socket` (0-5).
    public init(socket: Int) {
        self.init(lines: DataModeExitScanner.exitLines(socket: socket))
    }

    /// Exit lines given as text (without framing). An empty line, or one holding CR or LF, is left out: the
    /// module's lines are never like that.
    public init(lines: [String]) {
        for l in lines { addLine(l) }
    }

    /// Also watches for `line` from now on (the "OK" that answers "+++").
    public mutating func addLine(_ line: String) {
        if line.isEmpty || lines.contains(line) || line.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }) { return }
        lines.append(line)
        markers.append(Array(("\r\n" + line + "\r\n").utf8))
        // The new line may match what is held already; bytes that matched before still do.
        _ = rescan()
    }

    /// The exit line the held bytes start with, when `exitHeld`.
    public var heldExitLine: String? { matched >= 0 ? lines[matched] : nil }

    /// True when the held bytes start with a whole exit line: if the port stays quiet now, the module has
    /// left data mode and `held` is its command-mode output.
    public var exitHeld: Bool { matched >= 0 }

    /// Feeds bytes from the port; returns those that are socket data for certain, in order. The rest is held.
    public mutating func feed(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for b in bytes {
            if held.isEmpty && b != 0x0D {
                out.append(b)
                continue
            }
            held.append(b)
            if advance(b, at: held.count - 1) { continue }
            // The held bytes stopped matching: the first is data, and so is everything up to the next CR
            // (where a match could start again); the rest is matched afresh.
            repeat {
                var i = 1
                while i < held.count && held[i] != 0x0D { i += 1 }
                out.append(contentsOf: held[0..<i])
                held.removeFirst(i)
            } while !rescan()
        }
        return out
    }

    /// Empties `held` and returns it (as data after a pause without an exit line, or to replay as lines).
    public mutating func takeHeld() -> [UInt8] {
        defer {
            held.removeAll()
            reset()
        }
        return held
    }

    private mutating func reset() {
        candidates.removeAll(keepingCapacity: true)
        matched = -1
        after = FramedLines()
    }

    /// Matches `held` from its start; false when it stops matching (held may then be non-empty).
    private mutating func rescan() -> Bool {
        reset()
        for (i, b) in held.enumerated() where !advance(b, at: i) { return false }
        return true
    }

    /// Takes held byte `b` at offset `pos`; false when the held bytes are no exit line's start any more.
    private mutating func advance(_ b: UInt8, at pos: Int) -> Bool {
        if pos >= Self.maxHeld { return false }
        if matched >= 0 { return after.accept(b) }
        if pos == 0 {
            // Every CR in the data starts a run: reuse the buffer instead of allocating one per CR.
            candidates.removeAll(keepingCapacity: true)
            candidates.append(contentsOf: markers.indices)
        }
        // No marker is a prefix of another (their text holds no CR), so a candidate is never complete before
        // this byte, and at most one completes with it.
        candidates.removeAll { markers[$0][pos] != b }
        if let done = candidates.first(where: { markers[$0].count == pos + 1 }) { matched = done }
        return !candidates.isEmpty
    }
}

/// A run of "\r\n<printable>\r\n" lines, the last possibly cut short, taken one byte at a time.
struct FramedLines: Sendable {
    // 0: CR that opens a line, 1: its LF, 2: text, 3: LF that closes the line.
    private var state = 0
    private var length = 0

    /// Whether the run is still well formed with `b` added.
    mutating func accept(_ b: UInt8) -> Bool {
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
            } else if b >= 0x20 && b <= 0x7E && length < DataModeExitScanner.maxLine {
                length += 1
            } else {
                return false
            }
        default:
            if b != 0x0A { return false }
            state = 0
        }
        return true
    }
}
