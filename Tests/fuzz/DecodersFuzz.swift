// libFuzzer target "decoders": the pure decode/parse functions of Sources/QSSLCore/Codec.
//
// Built against Sources/QSSLCore as module QSSLCoreFuzz (see scripts/fuzz.sh). The first byte picks a mode (its value modulo 3, so the seeds can start with the digits '0', '1', '2'):
//   0  response lines (split at LF, one CR dropped): every ATDecoders function, then the field, number, hex,
//      cipher-suite, cert-name and argument helpers on each line, with round trips through the command builders
//   1  DataModeExitScanner: byte 1 = socket and options, bytes 2-3 = chunking seed, rest = data-mode stream
//   2  UploadChecksum: bytes 1-2 = chunking seed, rest = file data
// Decoders may throw their documented QsslError (.proto, .checksum for verifyUpload, .invalidArgument for names),
// never crash, and what they accept must survive being encoded and decoded again.

@testable import QSSLCoreFuzz

func decFail(_ why: String) -> Never {
    fatalError("decoder invariant: " + why)
}

/// A decoder threw something it does not document.
func expectError(_ e: QsslError, _ allowed: [QsslError], _ what: String) {
    if !allowed.contains(e) { decFail("\(what) threw \(e.rawValue)") }
}

func hasControl(_ s: String) -> Bool {
    s.utf8.contains { $0 < 0x20 || $0 == 0x7F }
}

// MARK: - Mode 0: response lines

/// The answer line a module would print for the AT+QSSLCFG command `cmd` ("AT+QSSLCFG=..." -> "+QSSLCFG: ...").
func answerLine(forSet cmd: String) -> String {
    let head = "AT+QSSLCFG="
    guard cmd.hasPrefix(head) else { decFail("sslSet built \(cmd)") }
    return "+QSSLCFG: " + cmd.dropFirst(head.count)
}

/// The AT+QSSLCFG="ctxindex" answer for `c`, written as the note prints it.
func contextLine(_ c: SSLContextConfig) -> String {
    let suites = c.cipherSuites.map(\.text).joined(separator: ",")
    func name(_ n: CertName?) -> String { "\"" + (n?.text ?? "") + "\"" }
    return "+QSSLCFG: \(c.context),\(c.version.rawValue),\(c.secLevel.rawValue),\"\(suites)\","
        + "\(name(c.caCert)),\(name(c.clientCert)),\(name(c.clientKey))"
}

func fuzzDecoders(_ lines: [String]) {
    // +QSECWRITE / verifyUpload: a decoded report must verify against itself and fail against anything else.
    do {
        let r = try ATDecoders.secWrite(lines)
        if r.size < 0 { decFail("secWrite size \(r.size)") }
        let again = try ATDecoders.secWrite(["+QSECWRITE: \(r.size),\(hexString(r.checksum))"])
        if again.size != r.size || again.checksum != r.checksum { decFail("secWrite round trip") }
        do { try ATDecoders.verifyUpload(lines, sentSize: r.size, sentChecksum: r.checksum) } catch {
            decFail("verifyUpload rejected its own report")
        }
        do {
            try ATDecoders.verifyUpload(lines, sentSize: r.size, sentChecksum: r.checksum ^ 1)
            decFail("verifyUpload accepted another checksum")
        } catch { expectError(error, [.checksum], "verifyUpload") }
    } catch {
        expectError(error, [.proto], "secWrite")
        do { try ATDecoders.verifyUpload(lines, sentSize: 0, sentChecksum: 0) } catch {
            expectError(error, [.proto], "verifyUpload")
        }
    }

    do { _ = try ATDecoders.secReadGood(lines) } catch { expectError(error, [.proto], "secReadGood") }

    for key in SSLSettingKey.allCases {
        do {
            let v = try ATDecoders.sslSetting(key, lines)
            if v.key != key { decFail("sslSetting(\(key.name)) gave a \(v.key.name) value") }
            // What the command builder accepts must read back as the same value.
            if let cmd = try? ATCommands.sslSet(v, context: 0) {
                if hasControl(cmd) { decFail("sslSet built a control byte") }
                do {
                    let back = try ATDecoders.sslSetting(key, [answerLine(forSet: cmd)])
                    if back != v { decFail("sslSetting(\(key.name)) round trip: \(v) -> \(cmd) -> \(back)") }
                } catch { decFail("sslSetting(\(key.name)) rejected \(cmd)") }
            }
        } catch { expectError(error, [.proto], "sslSetting(\(key.name))") }
    }

    do {
        let c = try ATDecoders.sslContext(lines)
        if c.cipherSuites.isEmpty { decFail("sslContext without suites") }
        let line = contextLine(c)
        do {
            let back = try ATDecoders.sslContext([line])
            if back != c { decFail("sslContext round trip: \(line)") }
        } catch { decFail("sslContext rejected \(line)") }
        if (try? c.validate()) != nil, let cmds = try? ATCommands.sslConfigure(c), cmds.contains(where: hasControl) {
            decFail("sslConfigure built a control byte")
        }
    } catch { expectError(error, [.proto], "sslContext") }

    do {
        let s = try ATDecoders.sslState(lines)
        if s.sockets.count > lines.count { decFail("sslState found more sockets than lines") }
    } catch { expectError(error, [.proto], "sslState") }

    do { _ = try ATDecoders.attached(lines) } catch { expectError(error, [.proto], "attached") }
    do {
        let stat = try ATDecoders.registrationStatus(lines)
        _ = ATDecoders.isRegistered(stat)
    } catch { expectError(error, [.proto], "registrationStatus") }
    _ = ATDecoders.registeredAPN(lines)
    if ATDecoders.activeContexts(lines).count > lines.count { decFail("activeContexts") }

    do {
        let ip = try ATDecoders.localIP(lines)
        let parts = ip.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count != 4 || !parts.allSatisfy({ p in (parseDecimal(String(p)) ?? -1) >= 0 }) {
            decFail("localIP gave \(ip)")
        }
    } catch { expectError(error, [.proto], "localIP") }

    for l in lines { fuzzLine(l) }
}

/// The helpers every decoder is built from, on one line.
func fuzzLine(_ l: String) {
    let fields = splitResponseFields(Substring(l))
    if fields.isEmpty || fields.count > l.utf8.count + 1 { decFail("splitResponseFields gave \(fields.count)") }
    _ = responseFields(l, prefix: "+QSSLCFG:")

    if let n = parseDecimal(l), parseDecimal(String(n)) != n { decFail("parseDecimal round trip \(n)") }
    if let code = parseDecimal(l) {
        let e = ATDecoders.sslOpenError(code: code)
        if (e == nil) != (code == 0) { decFail("sslOpenError(\(code))") }
    }
    if let v = parseHex16(Substring(l)), parseHex16(Substring(hexString(v))) != v { decFail("hex round trip \(v)") }
    if let cs = CipherSuite.parse(l) {
        if CipherSuite.parse(cs.text) != cs || !CipherSuite.knownCodes.contains(cs.rawValue) {
            decFail("cipher suite \(cs.rawValue)")
        }
    }
    do {
        let n = try CertName(l)
        if n.text != l || (try? CertName(n.text)) != n { decFail("CertName round trip") }
        if hasControl(ATCommands.secRead(n)) || hasControl(ATCommands.secDelete(n)) { decFail("cert command") }
    } catch { expectError(error, [.invalidArgument], "CertName") }

    // A value ATArgument lets into a quoted string must come back as exactly one field, itself.
    let safe = ATArgument.isSafe(l)
    do {
        let q = try ATArgument.quoted(l)
        if !safe { decFail("quoted accepted an unsafe value") }
        if splitResponseFields(Substring(q)) != [l] { decFail("quoted value does not split back") }
        for cmd in [try ATCommands.setAPN(l, user: l, password: l), try ATCommands.tcpOpen(socket: 0, host: l, port: 1),
                    try ATCommands.sslOpen(socket: 0, context: 0, host: l, port: 443, transparent: false)]
        where hasControl(cmd) {
            decFail("command with a control byte: \(cmd)")
        }
    } catch {
        expectError(error, [.invalidArgument], "ATArgument.quoted")
        if safe { decFail("quoted rejected a safe value") }
    }
    _ = IPState(text: l)
    _ = SocketStatus(text: l)
}

// MARK: - Mode 1: DataModeExitScanner

/// The scanner's rule written plainly, as the oracle: the whole held run is classified again after every byte.
struct ReferenceExitScanner {
    var markers: [[UInt8]]
    var lines: [String]
    var held: [UInt8] = []

    enum Match { case dead, prefix, exit }

    init(lines: [String]) {
        self.lines = lines
        markers = lines.map { Array(("\r\n" + $0 + "\r\n").utf8) }
    }

    mutating func addLine(_ line: String) {
        if lines.contains(line) { return }
        lines.append(line)
        markers.append(Array(("\r\n" + line + "\r\n").utf8))
    }

    var exitLine: String? {
        if classify(held[...]) != .exit { return nil }
        for (i, m) in markers.enumerated() where held.starts(with: m) { return lines[i] }
        return nil
    }

    mutating func feed(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for b in bytes {
            if held.isEmpty {
                if b == 0x0D { held.append(b) } else { out.append(b) }
                continue
            }
            held.append(b)
            while !held.isEmpty && classify(held[...]) == .dead {
                var i = 1
                while i < held.count && held[i] != 0x0D { i += 1 }
                out += held[0..<i]
                held.removeFirst(i)
            }
        }
        return out
    }

    func classify(_ p: ArraySlice<UInt8>) -> Match {
        if p.count > DataModeExitScanner.maxHeld { return .dead }
        for m in markers {
            if p.count <= m.count {
                if m.starts(with: p) { return p.count == m.count ? .exit : .prefix }
            } else if p.starts(with: m) {
                if Self.framedLines(p.dropFirst(m.count)) { return .exit }
            }
        }
        return .dead
    }

    /// Whether `p` is a run of framed lines (the byte-wise rule is the library's; what is under test is where
    /// the scanner applies it).
    static func framedLines(_ p: ArraySlice<UInt8>) -> Bool {
        var f = FramedLines()
        return p.allSatisfy { f.accept($0) }
    }
}

func fuzzExitScanner(_ input: UnsafeRawBufferPointer) {
    let opts: UInt8 = input.count > 0 ? input[0] : 0
    var rng = FuzzRNG(state: UInt64(input.count > 1 ? input[1] : 0) | UInt64(input.count > 2 ? input[2] : 0) << 8)
    let stream: [UInt8] = input.count > 3 ? Array(input[3...]) : []
    let socket = Int(opts % 6)
    let watchOK = opts & 0x08 != 0
    let takeEvery = [0, 64, 8, 2][Int(opts >> 4) & 3]   // how often takeHeld happens (0: never)

    func make() -> DataModeExitScanner {
        var s = DataModeExitScanner(socket: socket)
        if watchOK { s.addLine("OK") }
        return s
    }
    func check(_ s: DataModeExitScanner) {
        if s.held.count > DataModeExitScanner.maxHeld { decFail("held \(s.held.count) bytes") }
        if let first = s.held.first, first != 0x0D { decFail("held starts with \(first), not CR") }
        if s.exitHeld != (s.heldExitLine != nil) { decFail("exitHeld disagrees with heldExitLine") }
        if let l = s.heldExitLine, !s.lines.contains(l) { decFail("heldExitLine is not an exit line") }
    }

    // Chunked, sometimes taking the held bytes: data out plus held is always the input, in order, and the
    // scanner agrees with the oracle after every chunk ("OK" joins in mid-stream when it is watched).
    var s = DataModeExitScanner(socket: socket)
    var ref = ReferenceExitScanner(lines: s.lines)
    let okAt = watchOK ? rng.below(stream.count + 1) : -1
    if okAt == 0 {
        s.addLine("OK")
        ref.addLine("OK")
    }
    var out: [UInt8] = []
    var i = 0
    var withoutTake: [Int] = []   // chunk sizes, for the second run
    while i < stream.count {
        let n = min(stream.count - i, 1 + rng.below(rng.below(2) == 0 ? 8 : 600))
        let chunk = Array(stream[i..<(i + n)])
        let data = s.feed(chunk)
        if data != ref.feed(chunk) || s.held != ref.held || s.heldExitLine != ref.exitLine {
            decFail("scanner disagrees with the whole-run classification at \(i)+\(n)")
        }
        out += data
        i += n
        withoutTake.append(n)
        check(s)
        if out.count + s.held.count != i { decFail("bytes lost or invented: \(out.count)+\(s.held.count) != \(i)") }
        if takeEvery > 0 && rng.below(takeEvery) == 0 {
            out += s.takeHeld()
            ref.held.removeAll()
            if !s.held.isEmpty || s.exitHeld { decFail("takeHeld left bytes") }
        }
        if i >= okAt && okAt > 0 && !ref.lines.contains("OK") {
            s.addLine("OK")
            ref.addLine("OK")
            if s.heldExitLine != ref.exitLine { decFail("addLine: scanner disagrees with the oracle") }
        }
    }
    if out + s.held != stream { decFail("data out plus held is not the input") }

    // Without takeHeld, the chunking must not matter: one call gives the same data and the same held bytes.
    var a = make()
    let oneCall = a.feed(stream)
    check(a)
    var b = make()
    var chunkedOut: [UInt8] = []
    var k = 0
    for n in withoutTake {
        chunkedOut += b.feed(Array(stream[k..<(k + n)]))
        k += n
    }
    if oneCall != chunkedOut || a.held != b.held { decFail("scanner result depends on chunking") }
    if oneCall + a.held != stream { decFail("one-call data plus held is not the input") }
}

// MARK: - Mode 2: UploadChecksum

func fuzzChecksum(_ input: UnsafeRawBufferPointer) {
    var rng = FuzzRNG(state: UInt64(input.count > 0 ? input[0] : 0) | UInt64(input.count > 1 ? input[1] : 0) << 8)
    let data: [UInt8] = input.count > 2 ? Array(input[2...]) : []

    // The facts' definition, written plainly: XOR of big-endian 16-bit words, odd byte padded with 0x00.
    var expected: UInt16 = 0
    var j = 0
    while j < data.count {
        let lo: UInt8 = j + 1 < data.count ? data[j + 1] : 0
        expected ^= UInt16(data[j]) << 8 | UInt16(lo)
        j += 2
    }
    if UploadChecksum.of(data) != expected { decFail("UploadChecksum.of") }

    var c = UploadChecksum()
    var i = 0
    while i < data.count {
        let n = min(data.count - i, rng.below(9))   // empty updates too
        c.update(Array(data[i..<(i + n)]))
        i += n
    }
    if c.final != expected { decFail("chunked checksum") }
    if parseHex16(Substring(c.hex)) != expected { decFail("checksum hex \(c.hex)") }
    do {
        let r = try ATDecoders.secWrite(["+QSECWRITE: \(data.count),\(c.hex)"])
        if r.size != data.count || r.checksum != expected { decFail("secWrite of a module answer") }
        try ATDecoders.verifyUpload(["+QSECWRITE: \(data.count),\(c.hex)"], sentSize: data.count, sentChecksum: expected)
    } catch { decFail("secWrite rejected a module answer") }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    if size == 0 { return 0 }
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let rest = UnsafeRawBufferPointer(rebasing: input[1...])
    switch input[0] % 3 {
    case 0:
        // Lines as the channel hands them to decoders: framing removed, never holding CR or LF.
        var lines: [String] = []
        for l in rest.split(separator: 0x0A, omittingEmptySubsequences: false) {
            var b = l[...]
            if b.last == 0x0D { b = b.dropLast() }
            lines.append(String(decoding: b.filter { $0 != 0x0D }, as: UTF8.self))
        }
        fuzzDecoders(lines)
    case 1:
        fuzzExitScanner(rest)
    default:
        fuzzChecksum(rest)
    }
    return 0
}
