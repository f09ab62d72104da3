import CPosix
import CQSSL
import QSSLCore

// The C side of a Modem: handle values, the live-handle registry, per-handle error texts and the log pump.
//
// A `qssl_modem *` is not a pointer to memory. It is a token (`base | n << 4`, n counting up, never
// reused) that the registry maps to a live `CHandle`. Every call looks its token up under the registry lock, so
// a stale handle (used after close, closed twice) or a pointer that was never a handle is answered with a code
// instead of being dereferenced; and because tokens are never reused, a stale handle can never reach a modem
// opened later at the same address. On 64-bit targets the tokens are non-canonical addresses, so they cannot
// collide with any real pointer a caller might pass by mistake.

/// Everything one open handle owns besides the Modem itself.
final class CHandle: @unchecked Sendable {
    let token: UInt
    let modem: Modem
    private let lock = Lock()
    /// The last failure texts, newest at `errIndex`; kept alive so a pointer from qssl_errmsg() never dangles
    /// because another thread failed meanwhile.
    private var errTexts: [UnsafeMutablePointer<CChar>?] = [nil, nil, nil, nil, nil, nil, nil, nil]
    private var errIndex = 0
    private var hasError = false
    /// Set by shutdown(): a callback installed by a call racing with close must not outlive the handle.
    private var closed = false

    init(token: UInt, modem: Modem) {
        self.token = token
        self.modem = modem
    }

    deinit {
        for p in errTexts { if let p { free(p) } }
    }

    var cHandle: OpaquePointer? { OpaquePointer(bitPattern: token) }

    /// Records a failure for qssl_errmsg and returns its code: the story the error carries, or `message` for an
    /// argument error the C shell found itself.
    @discardableResult
    func fail(_ code: QsslError, _ message: String? = nil) -> Int32 {
        var text = code.detailText
        if let message { text = String(describingStatic: code.text) + ": " + message }
        let copy = text.withCString { strdup($0) }
        lock.withLock {
            errIndex = (errIndex + 1) % errTexts.count
            if let old = errTexts[errIndex] { free(old) }
            errTexts[errIndex] = copy
            hasError = true
        }
        return code.rawValue
    }

    /// The newest failure text (owned by the handle), or nil before any failure.
    var lastText: UnsafePointer<CChar>? {
        lock.withLock { hasError ? errTexts[errIndex].map { UnsafePointer($0) } : nil }
    }

    /// Runs `body` with the newest failure text (or nil) under the handle's lock.
    func withLastText<T>(_ body: (UnsafePointer<CChar>?) -> T) -> T {
        lock.withLock { body(hasError ? errTexts[errIndex].map { UnsafePointer($0) } : nil) }
    }

    /// Sets, replaces or (fn nil) removes the log callback. It runs on the modem's dispatcher thread (never the
    /// I/O thread, where a callback calling back in would wait for itself), in order, like the event callback.
    func setLog(_ fn: qssl_log_fn?, _ user: UnsafeMutableRawPointer?) -> Int32 {
        guard let fn else {
            modem.setLogCallback(nil)
            return 0
        }
        let handle = cHandle
        modem.setLogCallback { dir, text in text.withCString { fn(handle, dir == .toModule ? 0 : 1, $0, user) } }
        if closedNow || modem.isClosed {
            // close() ran meanwhile: drop the closure again.
            modem.setLogCallback(nil)
            return QsslError.closed.rawValue
        }
        return 0
    }

    private var closedNow: Bool { lock.withLock { closed } }

    /// Stops everything the handle runs (close).
    func shutdown() {
        lock.withLock { closed = true }
        modem.close()
    }
}

/// Live handles by token. Generic so other handle types (monitors) get the same stale-handle safety; each type has
/// its own `base`, so a modem token passed as a monitor is rejected.
final class Registry<Value: AnyObject>: @unchecked Sendable {
    /// High bits of every token: non-canonical on 64-bit targets, never a real pointer.
    let base: UInt
    private let lock = Lock()
    private var live = SmallMap<UInt, Value>()
    private var issued: UInt = 0

    init(tag: UInt) { base = tag << UInt(UInt.bitWidth - 16) }

    /// Registers a new value made for its token.
    func add(_ make: (UInt) -> Value) -> Value {
        lock.withLock {
            issued += 1
            let token = base | (issued << 4)
            let v = make(token)
            live[token] = v
            return v
        }
    }

    /// The live value for `m`; `.closed` for a handle that was closed, `.invalidArgument` for anything else.
    func lookup(_ m: OpaquePointer?) -> Result<Value, QsslError> {
        let token = UInt(bitPattern: m)
        return lock.withLock { () -> Result<Value, QsslError> in
            if let h = live[token] { return .success(h) }
            return .failure(wasIssuedLocked(token) ? .closed : .invalidArgument)
        }
    }

    /// Unregisters `m` and returns its value (nil: not live; `error` says why).
    func remove(_ m: OpaquePointer?) -> Result<Value, QsslError> {
        let token = UInt(bitPattern: m)
        return lock.withLock { () -> Result<Value, QsslError> in
            if let h = live.removeValue(forKey: token) { return .success(h) }
            return .failure(wasIssuedLocked(token) ? .closed : .invalidArgument)
        }
    }

    private func wasIssuedLocked(_ token: UInt) -> Bool {
        let high = UInt(0xFFFF) << UInt(UInt.bitWidth - 16)
        if token & high != base || token & 0xF != 0 { return false }
        let n = (token & ~high) >> 4
        return n >= 1 && n <= issued
    }
}

extension Registry where Value == CHandle {
    /// Registers a new handle for `modem`.
    func add(_ modem: Modem) -> CHandle { add { CHandle(token: $0, modem: modem) } }
}

let registry = Registry<CHandle>(tag: 0x5153)

/// Runs `body` on the live handle `m`, turning thrown codes into return values (with the failure recorded).
func withHandle(_ m: OpaquePointer?, _ body: (CHandle) throws(QsslError) -> Int32) -> Int32 {
    let h: CHandle
    switch registry.lookup(m) {
    case .success(let x): h = x
    case .failure(let e): return e.rawValue
    }
    do throws(QsslError) {
        return try body(h)
    } catch {
        return h.fail(error)
    }
}

/// A C string argument, or nil if the pointer is NULL or the bytes are not UTF-8: refused, never repaired (a
/// repair would pass on bytes the caller never wrote).
func cString(_ p: UnsafePointer<CChar>?) -> String? {
    guard let p else { return nil }
    return String(validatingCString: p)
}

/// Largest byte count the API takes or returns (counts travel back as int).
let maxCount = Int(Int32.max)

/// Copies `text` into (buf, cap) by the header's "Text out" rules; returns the full length.
func copyOut(_ text: String, _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int) -> Int32 {
    let n = text.utf8.count
    if cap > 0, let buf {
        let k = min(n, cap - 1)
        var i = 0
        for b in text.utf8 {
            if i == k { break }
            buf[i] = CChar(bitPattern: b)
            i += 1
        }
        buf[k] = 0
    }
    return Int32(clamping: n)
}

/// Writes `text` NUL-terminated (truncated) into a fixed C char array held in raw memory.
func copyField(_ text: String, into raw: UnsafeMutableRawBufferPointer) {
    let cap = raw.count
    if cap == 0 { return }
    var i = 0
    for b in text.utf8 {
        if i == cap - 1 { break }
        raw[i] = b
        i += 1
    }
    while i < cap {
        raw[i] = 0
        i += 1
    }
}

/// Reads a NUL-terminated string from a fixed C char array; nil if there is no NUL inside the array or the bytes
/// are not UTF-8 (refused, never repaired).
func readField(_ raw: UnsafeRawBufferPointer) -> String? {
    guard let end = raw.firstIndex(of: 0) else { return nil }
    return String(validating: UnsafeRawBufferPointer(rebasing: raw[0..<end]), as: UTF8.self)
}
