
import CCLI


// Output without print(): plain write(2) on fds 1 and 2, so stdout can carry binary data unchanged and the program
// also builds as Embedded Swift (no print of Any, no existentials).

/// Writes every byte of `bytes` to `fd` (retrying short writes and EINTR). False on any other error (EPIPE...).
@discardableResult
func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
    var off = 0
    while off < bytes.count {
        let n = write(fd, bytes.baseAddress! + off, bytes.count - off)
        if n < 0 {
            if cli_errno() == EINTR { continue }
            if cli_errno() == EAGAIN {
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&p, 1, -1)
                continue
            }
            return false
        }
        off += n
    }
    return true
}

@discardableResult
func writeText(_ fd: Int32, _ text: String) -> Bool {
    var t = text
    return t.withUTF8 { writeAll(fd, UnsafeRawBufferPointer($0)) }
}

/// One line on stdout.
func out(_ line: String) { writeText(1, line + "\n") }

/// One line on stderr.
func err(_ line: String) { writeText(2, line + "\n") }

/// Lower-case hexadecimal digits, for JSON escapes and USB ids.
let hexDigits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]

/// A JSON value, built and rendered without reflection.
indirect enum JSON {
    case str(String)
    case int(Int)
    case bool(Bool)
    case null
    case arr([JSON])
    case obj([(String, JSON)])

    /// `s` or null.
    static func opt(_ s: String?) -> JSON { s.map { .str($0) } ?? .null }
    static func opt(_ i: Int?) -> JSON { i.map { .int($0) } ?? .null }

    var text: String {
        switch self {
        case .str(let s): return JSON.quote(s)
        case .int(let i): return String(i)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .arr(let a):
            var t = "["
            for (i, v) in a.enumerated() { t += (i == 0 ? "" : ",") + v.text }
            return t + "]"
        case .obj(let fields):
            var t = "{"
            for (i, f) in fields.enumerated() { t += (i == 0 ? "" : ",") + JSON.quote(f.0) + ":" + f.1.text }
            return t + "}"
        }
    }

    static func quote(_ s: String) -> String {
        let hex = hexDigits
        var t = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": t += "\\\""
            case "\\": t += "\\\\"
            case "\n": t += "\\n"
            case "\r": t += "\\r"
            case "\t": t += "\\t"
            default:
                if u.value < 0x20 {
                    t += "\\u00"
                    t.append(hex[Int(u.value >> 4)])
                    t.append(hex[Int(u.value & 15)])
                } else {
                    t.unicodeScalars.append(u)
                }
            }
        }
        return t + "\""
    }
}

/// A fixed C char array (a tuple imported from the header) as a String (up to its NUL).
func fieldString<T>(_ field: T) -> String {
    var f = field
    return withUnsafeBytes(of: &f) { raw in
        let end = raw.firstIndex(of: 0) ?? raw.count
        return String(decoding: UnsafeRawBufferPointer(rebasing: raw[0..<end]), as: UTF8.self)
    }
}

/// Stores `text` NUL-terminated into a fixed C char array; false if it does not fit.
func setField<T>(_ field: inout T, _ text: String) -> Bool {
    let bytes = Array(text.utf8)
    return withUnsafeMutableBytes(of: &field) { raw in
        if bytes.count >= raw.count { return false }
        for i in 0..<raw.count { raw[i] = i < bytes.count ? bytes[i] : 0 }
        return true
    }
}

/// Monotonic milliseconds.
func nowMs() -> Int {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec * 1000 + ts.tv_nsec / 1_000_000
}

/// `s` with ASCII letters in one case (String's lowercased() would pull in the Unicode case tables).
func asciiCase(_ s: String, upper: Bool) -> String {
    var bytes = Array(s.utf8)
    for i in bytes.indices {
        let b = bytes[i]
        if upper && b >= 0x61 && b <= 0x7A { bytes[i] = b - 32 }
        if !upper && b >= 0x41 && b <= 0x5A { bytes[i] = b + 32 }
    }
    return String(decoding: bytes, as: UTF8.self)
}
