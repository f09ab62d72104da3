import QSSLCore

extension ATChannel {
    /// Spawns the I/O thread and syncs: "AT" until OK (autobaud), then ATE0, AT+CMEE=1; copes with echo and RDY.
    /// On failure the channel stays open (close it).
    public func start(timeoutMs: Int = 5000) throws(QsslError) {
        try startIO()
        let deadline = deadlineNs(afterMs: timeoutMs)
        var synced = false
        var attempt = 0
        while attempt < max(1, options.syncAttempts) && !synced {
            attempt += 1
            let now = monotonicNs()
            if now >= deadline { break }
            let left = Int((deadline - now) / 1_000_000)
            let tryMs = max(1, min(options.syncIntervalMs, left))
            do {
                // A sync probe that went unanswered is not drained: an autobauding module ignores it.
                var probe = ATRequest("AT")
                probe.survivesRestart = true
                let r = try perform(.command, probe, timeoutMs: tryMs, lateFinalWaitMs: 0)
                if r.final == .ok { synced = true }
            } catch {
                if error != .timedOut { throw error }
            }
        }
        if !synced { throw .timedOut }
        for command in ["ATE0", "AT+CMEE=1"] {
            let now = monotonicNs()
            let left = now >= deadline ? 1 : Int((deadline - now) / 1_000_000)
            var request = ATRequest(command)
            request.survivesRestart = true
            let r = try execute(request, timeoutMs: max(left, options.syncIntervalMs))
            if r.final != .ok { throw .modem }
        }
    }
}
