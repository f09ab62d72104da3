/// What a tty is to qssl, from its USB ids alone.
public enum DeviceKind: Int32, Sendable {
    /// Not a place to look for a module: a non-AT interface of a modem (DM, NMEA, PPP), a UART on the board, ...
    case other = 0
    /// The AT interface of a Quectel USB modem.
    case quectelUSB = 1
    /// A USB-UART bridge: an M10/M66/M85/M95 may sit behind it; only a probe tells.
    case bridge = 2
}

/// One row of the id table.
public struct USBIDEntry: Sendable, Equatable {
    public var vid: UInt16
    public var pid: UInt16
    public var kind: DeviceKind
    /// bInterfaceNumber of the AT port for `.quectelUSB`; -1 for a bridge (any interface).
    public var atInterface: Int

    public init(vid: UInt16, pid: UInt16, kind: DeviceKind, atInterface: Int = -1) {
        self.vid = vid
        self.pid = pid
        self.kind = kind
        self.atInterface = atInterface
    }
}

/// The USB ids qssl knows (Linux option.c / qcserial.c, ModemManager's Quectel port rules), extensible by callers.
/// Entries added later win over earlier ones for the same VID:PID.
public struct USBTable: Sendable {
    public private(set) var entries: [USBIDEntry]

    public init(entries: [USBIDEntry]) { self.entries = entries }

    public static let standard = USBTable(entries: [
        // Quectel USB modems: the AT port is the tty of this interface.
        .init(vid: 0x2C7C, pid: 0x0125, kind: .quectelUSB, atInterface: 2),   // EC25 / EG25-G
        .init(vid: 0x2C7C, pid: 0x0121, kind: .quectelUSB, atInterface: 2),   // EC21
        .init(vid: 0x2C7C, pid: 0x0191, kind: .quectelUSB, atInterface: 2),   // EG91
        .init(vid: 0x2C7C, pid: 0x0195, kind: .quectelUSB, atInterface: 2),   // EG95
        .init(vid: 0x2C7C, pid: 0x0296, kind: .quectelUSB, atInterface: 2),   // BG96
        .init(vid: 0x2C7C, pid: 0x0306, kind: .quectelUSB, atInterface: 2),   // EP06 / EG06 / EM06
        .init(vid: 0x2C7C, pid: 0x0512, kind: .quectelUSB, atInterface: 2),   // EM12 / EG12
        .init(vid: 0x2C7C, pid: 0x0800, kind: .quectelUSB, atInterface: 2),   // RM500Q
        .init(vid: 0x2C7C, pid: 0x0801, kind: .quectelUSB, atInterface: 2),   // RM520N
        .init(vid: 0x2C7C, pid: 0x0128, kind: .quectelUSB, atInterface: 5),   // EM060K-GL
        .init(vid: 0x2C7C, pid: 0x0700, kind: .quectelUSB, atInterface: 2),   // BG95 / BG77
        .init(vid: 0x05C6, pid: 0x9215, kind: .quectelUSB, atInterface: 2),   // EC20 (Qualcomm id)
        .init(vid: 0x05C6, pid: 0x9003, kind: .quectelUSB, atInterface: 2),   // UC20
        // USB-UART bridges that carry the UART-only M-series.
        .init(vid: 0x0403, pid: 0x6001, kind: .bridge),                       // FTDI FT232R
        .init(vid: 0x0403, pid: 0x6015, kind: .bridge),                       // FTDI FT-X
        .init(vid: 0x10C4, pid: 0xEA60, kind: .bridge),                       // Silicon Labs CP210x
        .init(vid: 0x1A86, pid: 0x7523, kind: .bridge),                       // WCH CH340
        .init(vid: 0x067B, pid: 0x2303, kind: .bridge),                       // Prolific PL2303
    ])

    /// Adds or replaces the row for entry.vid:entry.pid. `.other` removes the id from the table.
    public mutating func add(_ entry: USBIDEntry) {
        entries.removeAll { $0.vid == entry.vid && $0.pid == entry.pid }
        if entry.kind != .other { entries.append(entry) }
    }

    public func entry(vid: UInt16, pid: UInt16) -> USBIDEntry? {
        entries.last { $0.vid == vid && $0.pid == pid }
    }

    /// The kind of a tty on USB interface `interface` (bInterfaceNumber, -1 if unknown) of device vid:pid. A Quectel
    /// modem's other interfaces (DM, NMEA, PPP modem) are `.other`: they never answer AT the way qssl needs.
    public func classify(vid: UInt16, pid: UInt16, interface: Int) -> DeviceKind {
        guard let e = entry(vid: vid, pid: pid) else { return .other }
        switch e.kind {
        case .quectelUSB: return interface == e.atInterface ? .quectelUSB : .other
        case .bridge: return .bridge
        case .other: return .other
        }
    }
}

/// Parsing of what sysfs and the module say, kept here so it is tested without udev or a port.
public enum HotplugText {
    /// A sysfs hex attribute such as idVendor "2c7c" or bInterfaceNumber "02" (blanks around allowed).
    public static func hex(_ s: String?) -> Int? {
        guard let s else { return nil }
        let t = s.split(separator: " ", omittingEmptySubsequences: true).first.map(String.init) ?? ""
        guard !t.isEmpty, t.utf8.count <= 8 else { return nil }
        var v = 0
        for c in t.utf8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = v * 16 + Int(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = v * 16 + Int(c - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = v * 16 + Int(c - UInt8(ascii: "A")) + 10
            default: return nil
            }
        }
        return v
    }

    /// What ATI told: a Quectel answers "Quectel_Ltd", "Quectel_M66", "Revision: M66FAR01A12" (M-series) or
    /// "Quectel", "EC25", "Revision: EC25EFAR06A06M4G" (USB modems). nil when the answer is not a Quectel's.
    public static func parseATI(_ lines: [String]) -> (model: String, revision: String)? {
        let text = lines.map { $0.trimmingBlanks() }.filter { !$0.isEmpty }
        guard let first = text.first, first.hasASCIIPrefix("quectel") else { return nil }
        var model = ""
        var revision = ""
        for l in text.dropFirst() {
            if l.hasASCIIPrefix("revision:") {
                revision = String(l.dropFirst(9)).trimmingBlanks()
            } else if model.isEmpty {
                model = l.hasPrefix("Quectel_") ? String(l.dropFirst(8)) : l
            }
        }
        return (model, revision)
    }

    /// The IMEI in AT+GSN's answer: the first line of exactly 15 digits.
    public static func parseIMEI(_ lines: [String]) -> String? {
        for l in lines {
            let t = l.trimmingBlanks()
            if isIMEI(t) { return t }
        }
        return nil
    }

    public static func isIMEI(_ s: String) -> Bool {
        s.utf8.count == 15 && s.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }
}

/// A device string that names a modem by identity rather than by tty.
public enum DeviceIdentity: Equatable, Sendable {
    /// "imei:<15 digits>": found by probing the candidates.
    case imei(String)
    /// "usb:<path>", e.g. "usb:1-1.3": the candidate on that USB port.
    case usbPath(String)

    /// nil for a plain path; throws for "imei:"/"usb:" with a malformed value.
    public static func parse(_ device: String) throws(QsslError) -> DeviceIdentity? {
        if device.hasPrefix("imei:") {
            let v = String(device.dropFirst(5))
            guard HotplugText.isIMEI(v) else { throw .invalidArgument }
            return .imei(v)
        }
        if device.hasPrefix("usb:") {
            let v = String(device.dropFirst(4))
            guard !v.isEmpty, v.utf8.count < 32,
                  v.utf8.allSatisfy({ ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "-")
                      || $0 == UInt8(ascii: ".") })
            else { throw .invalidArgument }
            return .usbPath(v)
        }
        return nil
    }
}

extension String {
    /// Prefix test ignoring ASCII case (`lowercased()` would pull Unicode tables into the Embedded build).
    func hasASCIIPrefix(_ lowerPrefix: String) -> Bool {
        var it = utf8.makeIterator()
        for p in lowerPrefix.utf8 {
            guard var c = it.next() else { return false }
            if c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z") { c += 32 }
            if c != p { return false }
        }
        return true
    }

    func trimmingBlanks() -> String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" || c == "\r" || c == "\n" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\r" || c == "\n" { s = s.dropLast() }
        return String(s)
    }
}
