/// The 16-bit checksum a module prints after AT+QSECWRITE (`+QSECWRITE: <size>,<checksum>`).
///
/// XOR of the data taken as big-endian 16-bit words; an odd last byte is the high byte of a word
/// whose low byte is zero. Reproduced against real M95 / MC60 / EC25 logs (see shared facts).
public struct UploadChecksum: Equatable, Sendable {
    public private(set) var value: UInt16 = 0
    private var pendingHigh: UInt8? = nil

    public init() {}

    /// Adds bytes; may be called with any chunking.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var i = 0
        let n = bytes.count
        if let high = pendingHigh, n > 0 {
            value ^= UInt16(high) << 8 | UInt16(bytes[0])
            pendingHigh = nil
            i = 1
        }
        while i + 1 < n {
            value ^= UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1])
            i += 2
        }
        if i < n { pendingHigh = bytes[i] }
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The checksum of everything added so far.
    public var final: UInt16 {
        if let high = pendingHigh { return value ^ (UInt16(high) << 8) }
        return value
    }

    /// As the module prints it: lowercase hex, no leading zeros ("2d13", "0" for zero).
    public var hex: String { hexString(final) }

    public static func of(_ bytes: [UInt8]) -> UInt16 {
        var c = UploadChecksum()
        c.update(bytes)
        return c.final
    }
}

/// Lowercase hex without leading zeros.
public func hexString(_ v: UInt16) -> String {
    if v == 0 { return "0" }
    let digits: [UInt8] = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    var x = v
    while x > 0 {
        out.append(digits[Int(x & 0xF)])
        x >>= 4
    }
    return String(decoding: out.reversed(), as: UTF8.self)
}

/// Parses the module's lowercase/uppercase hex checksum; nil if not hex or over 16 bits.
public func parseHex16(_ s: Substring) -> UInt16? {
    if s.isEmpty || s.count > 4 { return nil }
    var v: UInt16 = 0
    for c in s.utf8 {
        let d: UInt8
        switch c {
        case 0x30...0x39: d = c - 0x30
        case 0x61...0x66: d = c - 0x61 + 10
        case 0x41...0x46: d = c - 0x41 + 10
        default: return nil
        }
        v = v << 4 | UInt16(d)
    }
    return v
}
