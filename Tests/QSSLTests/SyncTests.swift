import Foundation
import QSSL
import QSSLCore
import Testing

@Suite("Sync")
struct SyncTests {
    @Test func lockSerialisesThreads() {
        let lock = Lock()
        final class Counter: @unchecked Sendable { var n = 0 }
        let counter = Counter()
        let workers = (0..<4).map { _ in
            Background { () -> Bool in
                for _ in 0..<10_000 { lock.withLock { counter.n += 1 } }
                return true
            }
        }
        for w in workers { #expect(w.wait(timeoutMs: 10_000) == true) }
        #expect(counter.n == 40_000)
    }

    @Test func withLockPassesTypedErrorsThrough() {
        let lock = Lock()
        #expect(throws: QsslError.busy) {
            try lock.withLock { () throws(QsslError) -> Int in throw .busy }
        }
        // The lock was released by the throw.
        #expect(lock.withLock { 7 } == 7)
    }

    @Test func conditionTimesOutAgainstTheMonotonicClock() {
        let lock = Lock()
        let cond = Condition(lock: lock)
        let start = monotonicNs()
        lock.lock()
        let signalled = cond.wait(untilNs: start + 30_000_000)
        lock.unlock()
        #expect(!signalled)
        #expect(monotonicNs() >= start + 30_000_000)
    }

    @Test func conditionSignalWakesAWaiter() {
        let lock = Lock()
        let cond = Condition(lock: lock)
        final class Flag: @unchecked Sendable { var set = false }
        let flag = Flag()
        let waiter = Background { () -> Bool in
            let deadline = monotonicNs() + 5_000_000_000
            lock.lock()
            defer { lock.unlock() }
            while !flag.set {
                if !cond.wait(untilNs: deadline) { return false }
            }
            return true
        }
        usleep(10_000)
        lock.withLock {
            flag.set = true
            cond.broadcast()
        }
        #expect(waiter.wait() == true)
    }

    @Test func monotonicClockDoesNotGoBack() {
        var last = monotonicNs()
        for _ in 0..<1000 {
            let now = monotonicNs()
            #expect(now >= last)
            last = now
        }
    }

    @Test func posixThreadRunsAndJoins() throws {
        final class Box: @unchecked Sendable { var ranOn: pthread_t? }
        let box = Box()
        let t = try PosixThread { box.ranOn = pthread_self() }
        t.join()
        t.join()   // idempotent
        let ran = try #require(box.ranOn)
        #expect(pthread_equal(ran, pthread_self()) == 0)
        #expect(!t.isCurrent)
    }
}
