import CPosix
import Foundation
import QSSL
import QSSLCore

/// In-memory transport for channel unit tests (Zephyr's modem mock pipe, in spirit): a script of
/// "expect these bytes -> answer these bytes" steps, answered at most `maxRead` bytes per read. Readiness is an
/// eventfd that is readable while answer bytes are waiting (or after a hang-up), so the channel polls it like a tty.
/// When the script is used up, an optional `responder` answers each written CR-terminated command line.
final class ScriptedTransport: ByteTransport, @unchecked Sendable {
    enum Step {
        /// The channel must write exactly these bytes next.
        case expect([UInt8])
        /// These bytes become readable.
        case answer([UInt8])
        /// From now on reads fail with .noDevice once the answer bytes are used up.
        case hangUp
    }

    let maxRead: Int
    let fd: Int32
    private let lock = NSLock()
    private var steps: [Step]
    private var stepIndex = 0
    private var inbox: [UInt8] = []
    private var rx: [UInt8] = []
    private var rxOffset = 0
    private var hungUp = false
    private var closedFlag = false
    private var allWritten: [UInt8] = []
    private var problems: [String] = []
    private var responder: ((String) -> [UInt8]?)?
    private var responderLine: [UInt8] = []

    init(_ steps: [Step], maxRead: Int = 8, responder: ((String) -> [UInt8]?)? = nil) {
        self.steps = steps
        self.maxRead = maxRead
        self.responder = responder
        fd = CPosix.eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        precondition(fd >= 0)
        lock.lock()
        advance()
        lock.unlock()
    }

    deinit { if !closedFlag { CPosix.close(fd) } }

    var pollFD: Int32 { fd }
    /// The line rate the channel's line clock runs at (0: no line, as an in-memory pipe).
    var lineRate: Int = 0

    /// Script mismatches seen so far (expected vs written).
    var mismatches: [String] { lock.lock(); defer { lock.unlock() }; return problems }
    /// True when every step has been consumed.
    var finished: Bool { lock.lock(); defer { lock.unlock() }; return stepIndex == steps.count && inbox.isEmpty }
    var written: [UInt8] { lock.lock(); defer { lock.unlock() }; return allWritten }
    var isClosed: Bool { lock.lock(); defer { lock.unlock() }; return closedFlag }

    /// Makes bytes readable now (unsolicited data, a late answer).
    func inject(_ bytes: [UInt8]) {
        lock.lock()
        rx.append(contentsOf: bytes)
        updateReadiness()
        lock.unlock()
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(QsslError) -> Int {
        lock.lock()
        defer { lock.unlock() }
        if closedFlag { throw .closed }
        let available = rx.count - rxOffset
        if available == 0 {
            if hungUp { throw .noDevice }
            return 0
        }
        let n = min(available, maxRead, buffer.count)
        rx.withUnsafeBytes { src in
            buffer.baseAddress!.copyMemory(from: src.baseAddress! + rxOffset, byteCount: n)
        }
        rxOffset += n
        if rxOffset == rx.count {
            rx.removeAll(keepingCapacity: true)
            rxOffset = 0
        }
        updateReadiness()
        return n
    }

    func write(_ bytes: UnsafeRawBufferPointer, timeoutMs: Int) throws(QsslError) {
        lock.lock()
        defer { lock.unlock() }
        if closedFlag { throw .closed }
        if hungUp { throw .noDevice }
        allWritten.append(contentsOf: bytes)
        inbox.append(contentsOf: bytes)
        advance()
    }

    func close() {
        lock.lock()
        defer { lock.unlock() }
        if closedFlag { return }
        closedFlag = true
        CPosix.close(fd)
    }

    /// Consumes steps while they can be satisfied; then hands complete lines to the responder.
    private func advance() {
        while stepIndex < steps.count {
            switch steps[stepIndex] {
            case .answer(let bytes):
                rx.append(contentsOf: bytes)
            case .hangUp:
                hungUp = true
            case .expect(let want):
                if inbox.count < want.count {
                    if !inbox.isEmpty && !want.starts(with: inbox) {
                        problems.append("expected \(show(want)), got \(show(inbox))")
                        inbox.removeAll()
                    }
                    updateReadiness()
                    return
                }
                let got = Array(inbox.prefix(want.count))
                if got != want { problems.append("expected \(show(want)), got \(show(got))") }
                inbox.removeFirst(want.count)
            }
            stepIndex += 1
        }
        if let responder {
            for b in inbox {
                if b == 0x0D {
                    if let answer = responder(String(decoding: responderLine, as: UTF8.self)) {
                        rx.append(contentsOf: answer)
                    }
                    responderLine.removeAll()
                } else {
                    responderLine.append(b)
                }
            }
            inbox.removeAll()
        } else if !inbox.isEmpty {
            problems.append("unexpected write \(show(inbox))")
            inbox.removeAll()
        }
        updateReadiness()
    }

    private func updateReadiness() {
        var value: UInt64 = 0
        if rx.count > rxOffset || hungUp {
            value = 1
            _ = withUnsafeBytes(of: &value) { CPosix.write(fd, $0.baseAddress, 8) }
        } else {
            _ = withUnsafeMutableBytes(of: &value) { CPosix.read(fd, $0.baseAddress, 8) }
        }
    }

    private func show(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\r", with: "\\r")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}

extension Array where Element == UInt8 {
    init(_ s: String) { self = Array(s.utf8) }
}

/// Collects values handed over from the channel's I/O thread.
final class Collector<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []
    func append(_ x: T) { lock.lock(); items.append(x); lock.unlock() }
    var all: [T] { lock.lock(); defer { lock.unlock() }; return items }

    /// Waits (bounded) until `predicate` holds for the collected items.
    @discardableResult
    func wait(timeoutMs: Int = 3000, until predicate: ([T]) -> Bool) -> Bool {
        let end = Date().addingTimeInterval(Double(timeoutMs) / 1000)
        while Date() < end {
            if predicate(all) { return true }
            usleep(2000)
        }
        return predicate(all)
    }
}

/// Waits (bounded) for a condition that another thread makes true.
func eventually(timeoutMs: Int = 3000, _ predicate: () -> Bool) -> Bool {
    let end = Date().addingTimeInterval(Double(timeoutMs) / 1000)
    while Date() < end {
        if predicate() { return true }
        usleep(2000)
    }
    return predicate()
}

/// Runs `body` on a new thread; `wait` returns its result or nil if it did not finish in time.
final class Background<T>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var value: T?
    init(_ body: @escaping @Sendable () -> T) {
        let t = Thread { [self] in
            value = body()
            done.signal()
        }
        t.start()
    }
    func wait(timeoutMs: Int = 5000) -> T? {
        if done.wait(timeout: .now() + .milliseconds(timeoutMs)) == .timedOut { return nil }
        return value
    }
}
