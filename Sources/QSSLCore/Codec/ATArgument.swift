/// Checks and quoting for values that are placed inside AT command lines.
///
/// A value that contains `"`, CR, LF or any other control byte could end the quoted string or the command
/// line early and smuggle a second command to the module (AT command injection), so such values are
/// rejected with `.invalidArgument` before anything is written to the port. So are bytes above 0x7E: a module
/// that looks at the seven low bits only (V.250) reads 0xA2 as `"` and 0x8D as CR.
public enum ATArgument {
    /// Longest string value accepted inside a command. The note documents no limit for the command line;
    /// this keeps every command we build well inside the buffers of real modules.
    public static let maxLength = 255

    /// True if `s` may go inside a quoted AT string: 1...maxLength bytes (or 0 if `allowEmpty`) of printable
    /// ASCII (0x20-0x7E) other than `"`.
    public static func isSafe(_ s: String, allowEmpty: Bool = false) -> Bool {
        var n = 0
        for b in s.utf8 {
            if b < 0x20 || b >= 0x7F || b == 0x22 { return false }
            n += 1
            if n > maxLength { return false }
        }
        return allowEmpty || n > 0
    }

    /// Throws `.invalidArgument` unless `isSafe(s, allowEmpty:)`.
    public static func check(_ s: String, allowEmpty: Bool = false) throws(QsslError) {
        if !isSafe(s, allowEmpty: allowEmpty) { throw .invalidArgument }
    }

    /// `"s"` after `check`.
    public static func quoted(_ s: String, allowEmpty: Bool = false) throws(QsslError) -> String {
        try check(s, allowEmpty: allowEmpty)
        return "\"" + s + "\""
    }

    /// Throws `.invalidArgument` unless `range` contains `v`.
    public static func checkRange(_ v: Int, _ range: ClosedRange<Int>) throws(QsslError) {
        if !range.contains(v) { throw .invalidArgument }
    }
}

/// Splits the parameter part of a response line ("+X: a,"b,c",3") into fields: commas inside double
/// quotes do not split, surrounding quotes and blanks are removed.
public func splitResponseFields(_ s: Substring) -> [String] {
    var fields: [String] = []
    var cur: [UInt8] = []
    var inQuotes = false
    var wasQuoted = false
    func flush() {
        // Trim blanks outside quotes only; a quoted value keeps its own spaces.
        var start = 0
        var end = cur.count
        if !wasQuoted {
            while start < end && cur[start] == 0x20 { start += 1 }
            while end > start && cur[end - 1] == 0x20 { end -= 1 }
        }
        fields.append(String(decoding: cur[start..<end], as: UTF8.self))
        cur.removeAll(keepingCapacity: true)
        wasQuoted = false
    }
    for b in s.utf8 {
        if b == 0x22 {
            inQuotes.toggle()
            if inQuotes {
                // Drop blanks that came before the opening quote.
                if cur.allSatisfy({ $0 == 0x20 }) { cur.removeAll() }
                wasQuoted = true
            }
            continue
        }
        if b == 0x2C && !inQuotes {
            flush()
            continue
        }
        if wasQuoted && !inQuotes && b == 0x20 { continue }
        cur.append(b)
    }
    flush()
    return fields
}

/// If `line` starts with `prefix` (e.g. "+QSECWRITE:"), the fields after it; nil otherwise.
public func responseFields(_ line: String, prefix: String) -> [String]? {
    guard line.hasPrefix(prefix) else { return nil }
    let rest = line.dropFirst(prefix.count)
    return splitResponseFields(rest)
}

/// Parses a decimal integer with optional sign and blanks around it.
public func parseDecimal(_ s: String) -> Int? {
    var it = s.utf8.makeIterator()
    var v = 0
    var neg = false
    var digits = 0
    var started = false
    var ended = false
    while let b = it.next() {
        if b == 0x20 {
            if started { ended = true }
            continue
        }
        if ended { return nil }
        if !started && (b == 0x2D || b == 0x2B) {
            started = true
            neg = b == 0x2D
            continue
        }
        guard b >= 0x30 && b <= 0x39 else { return nil }
        started = true
        digits += 1
        if digits > 18 { return nil }
        v = v * 10 + Int(b - 0x30)
    }
    return digits > 0 ? (neg ? -v : v) : nil
}
