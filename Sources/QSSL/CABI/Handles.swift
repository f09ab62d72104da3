import CPosix
import CQSSL
import QSSLCore

// The C side of a Modem: handle values, the live-handle registry, per-handle error texts and the log pump.
//
// A `qssl_modem *` is not a pointer to memory. It is a token (`Registry.base | n << 4`, n counting up, never
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
    private var logPump: LogPump? = nil
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

    /// Sets, replaces or (fn nil) removes the log callback. The trace comes from the I/O thread, which must not
    /// run user code that may call back in (a command from there would wait for itself), so a pump thread
    /// delivers the lines in order.
    func setLog(_ fn: qssl_log_fn?, _ user: UnsafeMutableRawPointer?) -> Int32 {
        if let fn {
            let pump: LogPump
            let existing = lock.withLock { logPump }
            if let existing {
                pump = existing
            } else {
                do throws(QsslError) {
                    pump = try LogPump(handle: cHandle)
                } catch {
                    return fail(error, "cannot start the log thread")
                }
                let installed = lock.withLock { () -> Bool in
                    if closed || logPump != nil { return false }
                    logPump = pump
                    return true
                }
                if !installed {
                    pump.stop()
                    return closedNow ? QsslError.closed.rawValue : setLog(fn, user)
                }
            }
            pump.setTarget(fn, user)
            modem.setTrace { dir, text in pump.push(dir == .toModule ? 0 : 1, text) }
            if closedNow {
                // close() ran meanwhile and may have missed this pump.
                modem.setTrace(nil)
                takePump()?.stop()
                return QsslError.closed.rawValue
            }
        } else {
            modem.setTrace(nil)
            takePump()?.stop()
        }
        return 0
    }

    private var closedNow: Bool { lock.withLock { closed } }

    private func takePump() -> LogPump? {
        lock.withLock { () -> LogPump? in
            let p = logPump
            logPump = nil
            return p
        }
    }

    /// Stops everything the handle runs (close).
    func shutdown() {
        lock.withLock { closed = true }
        modem.setTrace(nil)
        let pump = takePump()
        modem.close()
        pump?.stop()
    }
}

/// Delivers AT trace lines to the C log callback on its own thread.
final class LogPump: @unchecked Sendable {
    private let lock = Lock()
    private let cond: Condition
    private var lines: [(Int32, String)] = []
    private var head = 0
    private var stopping = false
    private var fn: qssl_log_fn? = nil
    private var user: UnsafeMutableRawPointer? = nil
    private var thread: PosixThread? = nil
    private let handle: OpaquePointer?
    /// Lines kept while the callback is slow; older ones are dropped.
    static let capacity = 4096

    init(handle: OpaquePointer?) throws(QsslError) {
        self.handle = handle
        cond = Condition(lock: lock)
        thread = try PosixThread { self.run() }
    }

    func setTarget(_ fn: qssl_log_fn?, _ user: UnsafeMutableRawPointer?) {
        lock.withLock {
            self.fn = fn
            self.user = user
        }
    }

    func push(_ direction: Int32, _ text: String) {
        lock.withLock {
            if stopping { return }
            if lines.count - head >= LogPump.capacity { head += 1 }
            lines.append((direction, text))
            cond.signal()
        }
    }

    private func run() {
        while true {
            lock.lock()
            while head == lines.count && !stopping { cond.wait() }
            // Stopping delivers what is queued first: the trace of the last commands before a close is the
            // part most worth seeing.
            if head == lines.count {
                lock.unlock()
                return
            }
            let (dir, text) = lines[head]
            head += 1
            if head == lines.count {
                lines.removeAll(keepingCapacity: true)
                head = 0
            } else if head > 1024 {
                lines.removeFirst(head)
                head = 0
            }
            let target = fn
            let u = user
            lock.unlock()
            if let target { text.withCString { target(handle, dir, $0, u) } }
        }
    }

    /// Ends the thread after it has delivered the queued lines: joins it, or lets it finish by itself when
    /// called from the callback.
    func stop() {
        let t = lock.withLock { () -> PosixThread? in
            stopping = true
            cond.broadcast()
            let t = thread
            thread = nil
            return t
        }
        if let t { t.isCurrent ? t.detach() : t.join() }
    }
}

/// Live handles by token.
final class Registry: @unchecked Sendable {
    /// High bits of every token: non-canonical on 64-bit targets, never a real pointer.
    static let base: UInt = UInt(0x5153) << UInt(UInt.bitWidth - 16)
    private let lock = Lock()
    private var live: [UInt: CHandle] = [:]
    private var issued: UInt = 0

    /// Registers a new handle for `modem`.
    func add(_ modem: Modem) -> CHandle {
        lock.withLock {
            issued += 1
            let h = CHandle(token: Registry.base | (issued << 4), modem: modem)
            live[h.token] = h
            return h
        }
    }

    /// The live handle for `m`; `.closed` for a handle that was closed, `.invalidArgument` for anything else.
    func lookup(_ m: OpaquePointer?) -> Result<CHandle, QsslError> {
        let token = UInt(bitPattern: m)
        return lock.withLock { () -> Result<CHandle, QsslError> in
            if let h = live[token] { return .success(h) }
            return .failure(wasIssuedLocked(token) ? .closed : .invalidArgument)
        }
    }

    /// Unregisters `m` and returns its handle (nil: not live; `error` says why).
    func remove(_ m: OpaquePointer?) -> Result<CHandle, QsslError> {
        let token = UInt(bitPattern: m)
        return lock.withLock { () -> Result<CHandle, QsslError> in
            if let h = live.removeValue(forKey: token) { return .success(h) }
            return .failure(wasIssuedLocked(token) ? .closed : .invalidArgument)
        }
    }

    private func wasIssuedLocked(_ token: UInt) -> Bool {
        let high = UInt(0xFFFF) << UInt(UInt.bitWidth - 16)
        if token & high != Registry.base || token & 0xF != 0 { return false }
        let n = (token & ~high) >> 4
        return n >= 1 && n <= issued
    }
}

let registry = Registry()

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

/// A C string argument, or nil if the pointer is NULL.
func cString(_ p: UnsafePointer<CChar>?) -> String? {
    guard let p else { return nil }
    return String(cString: p)
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

/// Reads a NUL-terminated string from a fixed C char array; nil if there is no NUL inside the array.
func readField(_ raw: UnsafeRawBufferPointer) -> String? {
    guard let end = raw.firstIndex(of: 0) else { return nil }
    return String(decoding: UnsafeRawBufferPointer(rebasing: raw[0..<end]), as: UTF8.self)
}
