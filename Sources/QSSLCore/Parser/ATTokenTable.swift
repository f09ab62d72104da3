// The parser's match tables (FreeRTOS-Cellular style): static, sorted by key bytes, searched by binary search.
// Sortedness is verified once per process (debug builds) and by a test; an unsorted table would make lookups
// silently miss, so adding an entry out of order must fail loudly.

/// What a table key means once it matched.
enum ATTokenKind: Sendable {
    /// A final result that takes no parameters.
    case final(FinalResult)
    /// "CONNECT": data phase of AT+QSECWRITE (or transparent mode).
    case connect
    /// "+CME ERROR: <n>" / "+CMS ERROR: <n>".
    case cmeError
    case cmsError
    /// A counted-payload header: +QSSLRECV / +QIRD.
    case payloadHeader(PayloadKind)
    /// A URC with no parameters.
    case plainURC(URC)
    /// UNDER_VOLTAGE / OVER_VOLTAGE / power-down notices.
    case voltage
    case cfun
    case cpin
    case creg
    case cgreg
    case cmti
    case qirdi
    case sslOpen
    case sslURC
    // Suffixes of "<n>, ..." lines.
    case numberedCloseOK
    case numberedClosed
    case numberedConnectOK
    case numberedConnectFail
    case numberedSendOK
    case numberedSendFail
    case numberedAlreadyConnect
}

/// One table row. Keys of "+XXX:" entries end with the colon and match the line's text up to its first colon;
/// every other key matches the whole line (trailing blanks ignored).
struct ATToken: Sendable {
    let key: StaticString
    let kind: ATTokenKind
}

enum ATTokenTable {
    /// Final results, CONNECT, and the counted-payload headers: everything that belongs to the command in flight.
    static let responses: [ATToken] = [
        ATToken(key: "+CME ERROR:", kind: .cmeError),
        ATToken(key: "+CMS ERROR:", kind: .cmsError),
        ATToken(key: "+QIRD:", kind: .payloadHeader(.tcp)),
        ATToken(key: "+QSSLRECV:", kind: .payloadHeader(.ssl)),
        ATToken(key: "ALREADY CONNECT", kind: .final(.alreadyConnect)),
        ATToken(key: "CLOSE OK", kind: .final(.closeOK(nil))),
        ATToken(key: "CONNECT", kind: .connect),
        ATToken(key: "DEACT OK", kind: .final(.deactOK)),
        ATToken(key: "ERROR", kind: .final(.error)),
        ATToken(key: "OK", kind: .final(.ok)),
        ATToken(key: "SEND FAIL", kind: .final(.sendFail)),
        ATToken(key: "SEND OK", kind: .final(.sendOK)),
    ]

    /// Unsolicited result codes.
    static let urcs: [ATToken] = [
        ATToken(key: "+CFUN:", kind: .cfun),
        ATToken(key: "+CGREG:", kind: .cgreg),
        ATToken(key: "+CMTI:", kind: .cmti),
        ATToken(key: "+CPIN:", kind: .cpin),
        ATToken(key: "+CREG:", kind: .creg),
        ATToken(key: "+PDP DEACT", kind: .plainURC(.pdpDeact)),
        ATToken(key: "+QIRDI:", kind: .qirdi),
        ATToken(key: "+QSSLOPEN:", kind: .sslOpen),
        ATToken(key: "+QSSLURC:", kind: .sslURC),
        ATToken(key: "Call Ready", kind: .plainURC(.callReady)),
        ATToken(key: "NORMAL POWER DOWN", kind: .voltage),
        ATToken(key: "OVER_VOLTAGE POWER DOWN", kind: .voltage),
        ATToken(key: "OVER_VOLTAGE WARNING", kind: .voltage),
        ATToken(key: "RDY", kind: .plainURC(.ready)),
        ATToken(key: "RING", kind: .plainURC(.ring)),
        ATToken(key: "SMS Ready", kind: .plainURC(.smsReady)),
        ATToken(key: "UNDER_VOLTAGE POWER DOWN", kind: .voltage),
        ATToken(key: "UNDER_VOLTAGE WARNING", kind: .voltage),
    ]

    /// What may follow "<n>," in a numbered line (AT+QIMUX=1 socket results and URCs).
    static let numbered: [ATToken] = [
        ATToken(key: "ALREADY CONNECT", kind: .numberedAlreadyConnect),
        ATToken(key: "CLOSE OK", kind: .numberedCloseOK),
        ATToken(key: "CLOSED", kind: .numberedClosed),
        ATToken(key: "CONNECT FAIL", kind: .numberedConnectFail),
        ATToken(key: "CONNECT OK", kind: .numberedConnectOK),
        ATToken(key: "SEND FAIL", kind: .numberedSendFail),
        ATToken(key: "SEND OK", kind: .numberedSendOK),
    ]

    /// True when every table is strictly sorted by key bytes (so binary search finds every entry).
    static func isSorted(_ table: [ATToken]) -> Bool {
        var i = 1
        while i < table.count {
            if compare(table[i - 1].key, table[i].key) >= 0 { return false }
            i += 1
        }
        return true
    }

    static let allSorted: Bool = isSorted(responses) && isSorted(urcs) && isSorted(numbered)

    /// Binary search for the entry whose key equals `key` exactly.
    @inline(__always)
    static func lookup(_ table: [ATToken], _ key: UnsafeBufferPointer<UInt8>) -> ATTokenKind? {
        var lo = 0
        var hi = table.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            let c = compare(table[mid].key, key)
            if c == 0 { return table[mid].kind }
            if c < 0 { lo = mid + 1 } else { hi = mid }
        }
        return nil
    }

    /// Byte-wise three-way comparison (shorter prefix sorts first).
    static func compare(_ a: StaticString, _ b: UnsafeBufferPointer<UInt8>) -> Int {
        let pa = a.utf8Start
        let na = a.utf8CodeUnitCount
        let nb = b.count
        let n = na < nb ? na : nb
        var i = 0
        while i < n {
            let x = pa[i]
            let y = b[i]
            if x != y { return x < y ? -1 : 1 }
            i += 1
        }
        return na == nb ? 0 : (na < nb ? -1 : 1)
    }

    static func compare(_ a: StaticString, _ b: StaticString) -> Int {
        compare(a, UnsafeBufferPointer(start: b.utf8Start, count: b.utf8CodeUnitCount))
    }
}
