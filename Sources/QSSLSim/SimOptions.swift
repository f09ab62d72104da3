/// Every knob of the virtual module. The defaults behave like a healthy M66.
public struct SimOptions: Sendable {
    /// What AT+GSN answers (15 digits).
    public var imei: String = "866000000000001"
    /// Also make a symlink to the pty slave at this path (removed on stop).
    public var linkPath: String? = nil
    /// Split every write to the host into random 1-7 byte pieces (separate write() calls).
    public var fragmentWrites: Bool = false
    /// Probability (0...1) of injecting an unrelated URC after a final result; never inside a payload.
    public var noiseURCProbability: Double = 0
    /// Probability (0...1) that an AT+QSSLSEND / AT+QISEND answers SEND FAIL (nothing is sent).
    public var sendFailProbability: Double = 0
    /// The UART's baud rate: both directions move baud/10 bytes per second, and the "+++" guard times are
    /// measured on the line (when the bytes arrive, not when the host wrote them). nil = as fast as the
    /// pty goes, guards measured when the sim reads the bytes.
    public var baud: Int? = nil
    /// After this many AT commands the module "reboots": it prints RDY (and the start-up URCs) and forgets
    /// all state (sockets, PDP, SSL contexts, RAM files; NVRAM files survive as on a real module).
    public var resetAfterCommands: Int? = nil
    /// Reset again every `resetAfterCommands` commands (default: only once).
    public var resetRepeats: Bool = false
    /// The Nth AT command since start-up (a reset does not restart the count) gets no answer: the module
    /// reboots instead, as with `resetAfterCommands`.
    public var resetInsteadOfAnswer: Int? = nil
    /// The Nth AT command since start-up is swallowed: only its echo (if on), never a result; the module
    /// answers later commands normally.
    public var unanswered: Int? = nil
    /// The network's answer to packet-domain attach: `.available` (default), `.refused` (AT+CGATT=1 fails,
    /// +CGREG: 0,3 registration denied) or `.searching` (+CGREG: 0,2 and AT+CGATT=1 fails: no coverage yet).
    public var packetService: PacketService = .available
    public enum PacketService: String, Sendable, CaseIterable { case available, refused, searching }
    /// `+PDP DEACT` this many seconds after AT+QIACT, closing every socket.
    public var pdpDeactAfterSeconds: Double? = nil
    /// When the peer closes, report "closed" at once and drop unread data (default: report it after the host
    /// has read everything buffered).
    public var closedDropsUnreadData: Bool = false
    /// How the end of a transparent-mode (connectmode 1) SSL connection is printed when the peer closes it.
    public var closeLine: CloseLine = .urc
    /// Append a log of every byte in both directions to this file.
    public var logPath: String? = nil
    /// Allow QSSLOPEN / QIOPEN to non-loopback destinations.
    public var allowNonLoopback: Bool = false
    /// Seed of the random choices (fragment sizes, noise, SEND FAIL); nil = random.
    public var seed: UInt64? = nil
    /// Echo at start-up (a real module starts with ATE1).
    public var echo: Bool = true
    /// Silence needed before and after "+++" to leave transparent mode (and after "+++" in an upload).
    public var escapeGuardSeconds: Double = 1.0
    /// What AT+QILOCIP answers.
    public var localIP: String = "10.1.83.188"
    /// Bytes a socket buffers from the network before the sim stops reading it (back-pressure).
    public var socketBufferLimit: Int = 64 * 1024

    public init() {}
}

/// The line a module prints when the peer ends a transparent-mode connection.
public enum CloseLine: String, Sendable, CaseIterable {
    /// `+QSSLURC: "closed",<id>` (the M66's SSL URC).
    case urc
    /// `CLOSED` (M-series TCP transparent mode).
    case closed
    /// `NO CARRIER` (newer modules).
    case noCarrier = "no-carrier"

    func text(slot: Int) -> String {
        switch self {
        case .urc: return "+QSSLURC: \"closed\",\(slot)"
        case .closed: return "CLOSED"
        case .noCarrier: return "NO CARRIER"
        }
    }
}

/// Deterministic pseudo-random bytes (all 256 values, CR/LF/`+`/Ctrl-Z included): the payload tests and qssl-faults
/// echo through the virtual module.
public func simTestStream(_ count: Int, seed: UInt64) -> [UInt8] {
    var s = seed &+ 0x9E37_79B9_7F4A_7C15
    var out = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
        s = s &* 6364136223846793005 &+ 1442695040888963407
        out[i] = UInt8(truncatingIfNeeded: s >> 56)
    }
    return out
}

/// SplitMix64: small, seedable, good enough for test randomness.
struct SimRandom {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func chance(_ p: Double) -> Bool { p > 0 && unit() < p }
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }
}
