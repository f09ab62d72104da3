// Writes the fuzz seed corpus: every golden transcript of Tests/QSSLCoreTests (Wire.transcripts, built there with
// builders, so the bytes come from running them) as a parser input, and the answer lines of spec/facts.md and the
// codec tests as decoder inputs. Run by scripts/fuzz-seeds.sh; usage: dump-seeds <corpus dir>.
import QSSLCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

func write(_ path: String, _ bytes: [UInt8]) {
    guard let f = fopen(path, "wb") else { fatalError("cannot write \(path)") }
    _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
    fclose(f)
}

/// A file name from a transcript name: lowercase letters and digits, '-' between words.
func slug(_ s: String) -> String {
    var out = ""
    for c in s.lowercased().unicodeScalars {
        if (c >= "a" && c <= "z") || (c >= "0" && c <= "9") {
            out.unicodeScalars.append(c)
        } else if !out.isEmpty && !out.hasSuffix("-") {
            out += "-"
        }
    }
    while out.hasSuffix("-") { out.removeLast() }
    return String(out.prefix(60))
}

let dir = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "Tests/fuzz/corpus"

// Parser inputs: the 5-byte header of Tests/fuzz/ParserFuzz.swift, then the module's bytes. Header flags: bit0
// rawOnConnect as the transcript needs, chunk class 7 (halves) and 2 (1-3 bytes), no operations; seed 0.
for t in Wire.transcripts {
    let raw: UInt8 = t.rawOnConnect ? 1 : 0
    write("\(dir)/parser/\(slug(t.name))", [raw | 7 << 5, 0, 0, 0, 0] + t.stream)
    write("\(dir)/parser/\(slug(t.name))-small-chunks", [raw | 4 | 2 << 5, 1, 0, 0, 0] + t.stream)
}
// Streams the transcripts lack: headers announcing what must never be allocated, a prompt split, mode changes.
let extra: [(String, UInt8, String)] = [
    ("huge-ssl-announcement", 3 << 5, "\r\n+QSSLRECV: 1.2.3.4:5,TCP,4294967295\r\n\r\nOK\r\n"),
    ("huge-tcp-announcement", 3 << 5, "\r\n+QIRD: 1.2.3.4:5,TCP,18446744073709551615\r\nOK\r\n"),
    ("max-payload-1500", 7 << 5, "\r\n+QSSLRECV: 1.2.3.4:5,TCP,1500\r\n" + String(repeating: "x", count: 1500) + "\r\nOK\r\n"),
    ("ops-raw-toggles", 3 | 2 << 3 | 4 << 5, "\r\nCONNECT\r\nabc\r\nOK\r\n+++\r\nOK\r\nNO CARRIER\r\n"),
    ("ops-reset-in-payload", 3 << 3 | 3 << 5, "\r\n+QIRD: 10.0.0.1:80,TCP,9\r\nabc\r\nOK\r\n> \r\nRDY\r\n"),
]
for (name, flags, text) in extra { write("\(dir)/parser/\(name)", [flags, 7, 0, 0, 0] + Array(text.utf8)) }

// Decoder inputs (Tests/fuzz/DecodersFuzz.swift): '0' then response lines, '1' exit scanner, '2' checksum.
let answers: [(String, [String])] = [
    ("secwrite", ["+QSECWRITE: 1614,4039", "+QSECWRITE: 1392,235a"]),
    ("secread", ["+QSECREAD: 1,4039"]),
    ("sslcfg-settings", ["+QSSLCFG: \"sslversion\",0,3", "+QSSLCFG: \"ciphersuite\",1,\"0X0035,0X002F\"",
                         "+QSSLCFG: \"seclevel\",1", "+QSSLCFG: \"cacert\",\"RAM:ca.pem\"",
                         "+QSSLCFG: \"clientcert\",0,\"NVRAM:CC0\"", "+QSSLCFG: \"clientkey\",\"\"",
                         "+QSSLCFG: \"ignorertctime\",1", "+QSSLCFG: \"httpsctxi\",-1", "+QSSLCFG: \"smtpctxi\",3",
                         "+QSSLCFG: \"smtpstyle\",2", "+QSSLCFG: \"https\",0"]),
    ("sslcfg-context", ["+QSSLCFG: 0,2,2,\"0XFFFF\",\"RAM:ca_cert.pem\",\"RAM:client_cert.pem\",\"RAM:client_key.pem\""]),
    ("sslcfg-context-suites", ["+QSSLCFG: 3,4,0,0X0035,0X003D,\"\",\"\",\"\""]),
    ("sslstate", ["+QSSLSTATE: \"IP STATUS\"", "+QSSLSTATE: 1,\"TCP\",\"116.247.104.27\",465,\"CONNECTED\",1",
                  "+QSSLSTATE: 3,\"TCP\",\"10.0.0.1\",6021,\"REMOTE CLOSING\",0"]),
    ("registration", ["+CGATT: 1", "+CGREG: 0,5", "+CGACT: 1,1", "+CGACT: 2,0"]),
    ("apn", ["+QIREGAPP: \"CMNET\",\"\",\"\""]),
    ("localip", ["10.1.83.188"]),
    ("names", ["RAM:ca_cert.pem", "NVRAM:CA0", "0X0035", "2d13", "-2", "IP GPRSACT", "REMOTE CLOSING"]),
]
for (name, lines) in answers { write("\(dir)/decoders/lines-\(name)", Array(("0" + lines.joined(separator: "\r\n")).utf8)) }

// Exit scanner: socket 1, "OK" watched, takeHeld sometimes; data with exit lines inside and at the end.
let exits: [(String, String)] = [
    ("closed-urc", "hello\r\nworld\r\n+QSSLURC: \"closed\",1\r\n"),
    ("no-carrier-burst", "data\r\nNO CARRIER\r\n\r\nRDY\r\n\r\n+CFUN: 1\r\n"),
    ("ok-after-escape", "xyz\r\n+++\r\nOK\r\n"),
    ("lookalike", "\r\nCLOSE\r\nCLOSED!\r\n+PDP DEAC\r\nRD\r\n" + String(repeating: "\r\n", count: 300)),
]
for (name, text) in exits { write("\(dir)/decoders/exit-\(name)", Array(("1" + "\u{19}\u{5}\u{0}" + text).utf8)) }

// Checksum: the facts' short vectors as file data.
write("\(dir)/decoders/checksum-odd", Array("2\u{3}\u{0}-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".utf8))
write("\(dir)/decoders/checksum-even", Array("2\u{1}\u{0}0123456789abcdef\r\n".utf8))
print("wrote seeds to \(dir)")
