#if canImport(Glibc)
import Glibc
#endif

/// The tightest host side there is: one thread, a blocking raw pty, the AT text written and scanned by hand.
/// The baseline the library is measured against (no parser, no channel, no threads).
final class RawPort {
    let fd: Int32
    private var buf = [UInt8](repeating: 0, count: 1 << 16)
    private var start = 0
    private var end = 0
    /// Set when a `+QSSLURC: "recv"` line went by: the module holds data it will not announce again.
    var recvPending = false
    var recvCid = 0
    var urcLines = 0

    init(path: String) {
        fd = open(path, O_RDWR | O_NOCTTY)
        if fd < 0 { benchFail("open \(path): errno \(errno)") }
        var t = termios()
        tcgetattr(fd, &t)
        cfmakeraw(&t)
        tcsetattr(fd, TCSANOW, &t)
    }

    func close() { _ = Glibc.close(fd) }

    private func fill() {
        if start == end { start = 0; end = 0 }
        if end == buf.count {
            buf.replaceSubrange(0..<(end - start), with: buf[start..<end])
            end -= start
            start = 0
        }
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress! + end, $0.count - end) }
        if n <= 0 { benchFail("raw port read: \(n), errno \(errno)") }
        end += n
    }

    func write(_ bytes: UnsafeRawBufferPointer) {
        var off = 0
        while off < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + off, bytes.count - off)
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                benchFail("raw port write: errno \(errno)")
            }
            off += n
        }
    }

    func write(_ s: String) {
        var s = s
        s.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    enum Token: Equatable {
        case prompt
        case line(String)
    }

    /// The next non-empty line, or the `> ` prompt. URCs about received data also set `recvPending`.
    func next() -> Token {
        while true {
            while true {
                while start < end && (buf[start] == 13 || buf[start] == 10) { start += 1 }
                if start < end { break }
                fill()
            }
            while end - start < 2 { fill() }
            if buf[start] == 62 && buf[start + 1] == 32 {
                start += 2
                return .prompt
            }
            var i = start
            while true {
                while i < end && buf[i] != 10 { i += 1 }
                if i < end { break }
                let consumed = i - start
                fill()
                i = start + consumed
            }
            var j = i
            if j > start && buf[j - 1] == 13 { j -= 1 }
            let line = String(decoding: buf[start..<j], as: UTF8.self)
            start = i + 1
            if line.hasPrefix("+QSSLURC: \"recv\",") {
                urcLines += 1
                recvPending = true
                let f = line.split(separator: ",")
                if f.count >= 2, let c = Int(f[1]) { recvCid = c }
            }
            return .line(line)
        }
    }

    /// Copies the next `count` raw bytes (a payload) to `dest`.
    func readExact(_ count: Int, into dest: UnsafeMutableRawBufferPointer) {
        var got = 0
        while got < count {
            if start == end { fill() }
            let n = min(count - got, end - start)
            buf.withUnsafeBytes { src in
                (dest.baseAddress! + got).copyMemory(from: src.baseAddress! + start, byteCount: n)
            }
            start += n
            got += n
        }
    }

    /// Writes `command` CR and returns the lines up to its final result (OK, ERROR, +CME ERROR, SEND OK...).
    @discardableResult
    func command(_ command: String, until finals: [String] = ["OK"]) -> [String] {
        write(command + "\r")
        var lines: [String] = []
        while true {
            guard case .line(let l) = next() else { continue }
            if finals.contains(l) { return lines }
            if l == "ERROR" || l.hasPrefix("+CME ERROR") { benchFail("raw port: \(command) -> \(l)") }
            lines.append(l)
        }
    }

    /// Waits for a line starting with `prefix`.
    func waitLine(_ prefix: String) -> String {
        while true {
            if case .line(let l) = next(), l.hasPrefix(prefix) { return l }
        }
    }

    /// Echo off, PDP up, SSL socket 0 to 127.0.0.1:`port` in `transparent` mode or not: the same steps the
    /// library takes, by hand.
    func bringUp(port: Int, transparent: Bool) {
        command("ATE0")
        command("AT+QIFGCNT=0")
        command("AT+QICSGP=1,\"CMNET\"")
        command("AT+QIREGAPP")
        command("AT+QIACT")
        command("AT+QILOCIP", until: ["10.1.83.188"])
        command("AT+QSSLOPEN=0,0,\"127.0.0.1\",\(port),\(transparent ? 1 : 0),90")
        let r = waitLine("+QSSLOPEN: 0,")
        if r != "+QSSLOPEN: 0,0" { benchFail("raw port: open -> \(r)") }
    }
}
