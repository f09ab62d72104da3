import CPosix
import QSSLCore

/// A non-recursive mutex over pthread_mutex_t (no `Mutex`: the library must also build as Embedded Swift).
public final class Lock: @unchecked Sendable {
    @usableFromInline let mutex: UnsafeMutablePointer<pthread_mutex_t>

    public init() {
        mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let rc = pthread_mutex_init(mutex, nil)
        precondition(rc == 0, "pthread_mutex_init failed")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    @inlinable public func lock() { pthread_mutex_lock(mutex) }
    @inlinable public func unlock() { pthread_mutex_unlock(mutex) }

    /// Runs `body` with the lock held.
    @inlinable
    public func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}

/// A condition variable bound to a `Lock`, timed against CLOCK_MONOTONIC (wall-clock jumps do not shorten or
/// stretch timeouts).
public final class Condition: @unchecked Sendable {
    public let lock: Lock
    let cond: UnsafeMutablePointer<pthread_cond_t>

    public init(lock: Lock) {
        self.lock = lock
        cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
        cond.initialize(to: pthread_cond_t())
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        let rc = pthread_cond_init(cond, &attr)
        pthread_condattr_destroy(&attr)
        precondition(rc == 0, "pthread_cond_init failed")
    }

    deinit {
        pthread_cond_destroy(cond)
        cond.deinitialize(count: 1)
        cond.deallocate()
    }

    /// Waits for a signal; the lock must be held. Spurious wake-ups happen: wait in a loop on a predicate.
    public func wait() { pthread_cond_wait(cond, lock.mutex) }

    /// Waits until signalled or until the monotonic clock reaches `untilNs`; the lock must be held.
    /// Returns false on timeout.
    public func wait(untilNs: UInt64) -> Bool {
        var ts = timespec()
        // Clamped: "no limit" deadlines (UInt64.max) must not trap where time_t is 32 bits.
        ts.tv_sec = Int(clamping: untilNs / 1_000_000_000)
        ts.tv_nsec = Int(untilNs % 1_000_000_000)
        let rc = pthread_cond_timedwait(cond, lock.mutex, &ts)
        return rc != ETIMEDOUT
    }

    public func signal() { pthread_cond_signal(cond) }
    public func broadcast() { pthread_cond_broadcast(cond) }
}

/// CLOCK_MONOTONIC in nanoseconds.
public func monotonicNs() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// `monotonicNs()` plus `ms` milliseconds (negative counts as 0).
@inlinable
public func deadlineNs(afterMs ms: Int) -> UInt64 {
    monotonicNs() &+ UInt64(ms > 0 ? ms : 0) &* 1_000_000
}

/// A joinable POSIX thread running a closure. The closure travels to the new thread as a retained box through
/// pthread_create's void* argument (no Foundation.Thread; works in Embedded Swift).
public final class PosixThread: @unchecked Sendable {
    final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    let handle: pthread_t
    private let state = Lock()
    private var joined = false

    /// Starts `body` on a new thread. Throws .noMemory (EAGAIN/ENOMEM from pthread_create) or .io.
    public init(_ body: @escaping () -> Void) throws(QsslError) {
        let context = Unmanaged.passRetained(Box(body)).toOpaque()
        var tid = pthread_t()
        let rc = pthread_create(&tid, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, context)
        if rc != 0 {
            Unmanaged<Box>.fromOpaque(context).release()
            throw rc == EAGAIN || rc == ENOMEM ? .noMemory : .io
        }
        handle = tid
    }

    deinit {
        // A thread nobody joined must not keep its resources after it ends.
        if !joined { pthread_detach(handle) }
    }

    /// True when called on this thread.
    public var isCurrent: Bool { pthread_equal(pthread_self(), handle) != 0 }

    /// Waits for the thread to end. Idempotent; must not be called from the thread itself.
    public func join() {
        let first = state.withLock { () -> Bool in
            if joined { return false }
            joined = true
            return true
        }
        if first { pthread_join(handle, nil) }
    }

    /// Lets the thread clean up after itself when nobody will join it. Idempotent with join(): whichever comes
    /// first wins.
    public func detach() {
        let first = state.withLock { () -> Bool in
            if joined { return false }
            joined = true
            return true
        }
        if first { pthread_detach(handle) }
    }
}
