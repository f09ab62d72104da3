import CPosix
import QSSLCore

/// Pollable queue of user events, signalled through an eventfd (readable while non-empty).
///
/// Bounded: beyond `capacity` the oldest element is dropped and counted in `dropped`. After `close()` pushes are
/// ignored, pops drain what is left, then return nil, and `fd` is -1.
public final class EventQueue<Element>: @unchecked Sendable {
    private let lock = Lock()
    private let nonEmpty: Condition
    private var items = FIFO<Element>()
    private let capacity: Int
    private var eventfd: Int32
    private var closed = false
    private var droppedCount = 0

    public init(capacity: Int = 1024) {
        nonEmpty = Condition(lock: lock)
        self.capacity = capacity > 0 ? capacity : 1
        eventfd = (try? Sys.eventfd()) ?? -1
    }

    deinit { if eventfd >= 0 { Sys.close(eventfd) } }

    /// Readable (POLLIN) while the queue holds an element; -1 after close().
    public var fd: Int32 { lock.withLock { eventfd } }

    /// Elements dropped because the queue was full.
    public var dropped: Int { lock.withLock { droppedCount } }

    public var isEmpty: Bool { lock.withLock { items.isEmpty } }

    public func push(_ e: Element) {
        lock.lock()
        defer { lock.unlock() }
        if closed { return }
        if items.count == capacity {
            _ = items.popFirst()
            droppedCount += 1
        }
        items.append(e)
        if items.count == 1 {
            Sys.signalEventfd(eventfd)
            nonEmpty.broadcast()
        }
    }

    /// Non-blocking.
    public func pop() -> Element? {
        lock.lock()
        defer { lock.unlock() }
        return popLocked()
    }

    /// Waits up to `timeoutMs` for an element; nil on timeout or when closed and empty.
    public func pop(timeoutMs: Int) -> Element? {
        let deadline = deadlineNs(afterMs: timeoutMs)
        lock.lock()
        defer { lock.unlock() }
        while items.isEmpty && !closed {
            if !nonEmpty.wait(untilNs: deadline) && items.isEmpty { return nil }
        }
        return popLocked()
    }

    private func popLocked() -> Element? {
        let e = items.popFirst()
        if e != nil && items.isEmpty && eventfd >= 0 { Sys.drainEventfd(eventfd) }
        return e
    }

    /// Wakes every pop(timeoutMs:) waiter and closes the fd. Idempotent.
    public func close() {
        lock.lock()
        defer { lock.unlock() }
        if closed { return }
        closed = true
        Sys.close(eventfd)
        eventfd = -1
        nonEmpty.broadcast()
    }
}
