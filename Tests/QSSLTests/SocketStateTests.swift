@testable import QSSL
import QSSLCore
import Testing

/// The receive pump and the socket phases without a module: each rule in one line.
@Suite("Socket state")
struct SocketStateTests {
    @Test func oneReadAtATimeAndAURCDuringAReadGoesRoundOnceMore() {
        var p = ReceivePump()
        let r1 = p.announce()
        #expect(r1)                      // first URC: read
        let r2 = p.announce()
        #expect(!r2)                     // second URC while reading: no second read...
        let r3 = p.readDone(ok: true, got: 0, buffered: 0, highWaterMark: 100, peerClosed: false)
        #expect(r3)  // ...but again
        let r4 = p.startRead()
        #expect(r4)
        let r5 = p.readDone(ok: true, got: 0, buffered: 0, highWaterMark: 100, peerClosed: false)
        #expect(!r5)
        #expect(!p.reading && !p.finished)
    }

    @Test func highWaterMarkPausesUntilTheUserReadsHalf() {
        var p = ReceivePump()
        let r6 = p.announce()
        #expect(r6)
        let r7 = p.readDone(ok: true, got: 150, buffered: 150, highWaterMark: 100, peerClosed: false)
        #expect(!r7)
        let r8 = p.announce()
        #expect(p.paused && !r8)
        let r9 = p.userRead(buffered: 60, highWaterMark: 100, peerClosed: false)
        #expect(!r9)
        let r10 = p.userRead(buffered: 50, highWaterMark: 100, peerClosed: false)
        #expect(r10)
        #expect(p.reading && !p.paused)
    }

    @Test func afterThePeerClosedReadsGoOnUntilOneComesBackEmpty() {
        var p = ReceivePump()
        let r11 = p.peerClosed()
        #expect(r11)
        let r12 = p.readDone(ok: true, got: 10, buffered: 10, highWaterMark: 100, peerClosed: true)
        #expect(r12)
        let r13 = p.startRead()
        #expect(r13)
        let r14 = p.readDone(ok: true, got: 0, buffered: 10, highWaterMark: 100, peerClosed: true)
        #expect(!r14)
        let r15 = p.startRead()
        #expect(p.finished && !r15)
        var q = ReceivePump()
        let r16 = q.announce()
        #expect(r16)
        let r17 = q.readDone(ok: false, got: 0, buffered: 0, highWaterMark: 100, peerClosed: true)
        #expect(!r17)   // ERROR: gone
        #expect(q.finished)
    }

    @Test func aReadLostToATimeoutIsMadeAgain() {
        var p = ReceivePump()
        let first = p.announce()
        #expect(first)
        // No answer: the module will not announce its buffered data again, so the pump must ask again.
        let again = p.readDone(ok: false, unanswered: true, got: 0, buffered: 0, highWaterMark: 100, peerClosed: false)
        #expect(again && !p.finished)
        let start = p.startRead()
        #expect(start)
        // An ERROR answer is no reason to hammer the module.
        let after = p.readDone(ok: false, got: 0, buffered: 0, highWaterMark: 100, peerClosed: false)
        #expect(!after)
    }

    @Test func phases() {
        let s = SocketSlot(index: 2, kind: .ssl, transparent: false)
        #expect(s.phase == .opening && !s.readable && !s.mayRead)
        s.connected()
        #expect(s.phase == .open && s.mayRead)
        #expect(s.closedByPeer() && !s.closedByPeer())
        #expect(s.phase == .peerClosed && !s.endOfStream)      // the module may still hold bytes
        s.fail(.pdpDeactivated)
        #expect(s.failure == .pdpDeactivated && s.readable)
        s.fail(.reset)
        #expect(s.failure == .pdpDeactivated)                  // the first failure wins

        let t = SocketSlot(index: 3, kind: .ssl, transparent: true)
        t.connected()
        #expect(t.phase == .dataMode && !t.mayRead)
        t.suspend()
        #expect(t.phase == .suspended)
        t.resume()
        #expect(t.closedByPeer() && t.endOfStream && t.readable)   // nothing waits in the module
        t.fail(.reset)
        #expect(t.phase == .peerClosed)                          // a clean end stays clean
        t.release()
        #expect(t.isReleased && !t.readable)

        let o = SocketSlot(index: 4, kind: .tcp, transparent: false)
        o.fail(.noDevice)
        #expect(o.openCode == -1 && o.failure == .noDevice)
        #expect(SocketPhase.failed(.reset).name == "failed (module restarted)")
    }
}
