import QSSLCore

extension Modem {
    /// Uploads a certificate or key (AT+QSECWRITE with its CONNECT data phase) and checks the size and
    /// checksum the module reports against the bytes sent (`.checksum` on any difference: a short or
    /// corrupted upload). `name`: "RAM:<file>" or "NVRAM:CA0|CA1|CC0|CK0"; size 1-32768 (RAM) / 1-2025
    /// (NVRAM); `timeoutS` 3-200 is the module's wait for data. `replace` deletes an existing file first (the
    /// module refuses to overwrite). `progress(sent, total)` is called as bytes go out: (0, total) first,
    /// intermediate counts from the modem's I/O thread (keep it short; do not call blocking Modem methods from
    /// it), and (total, total) once the module confirmed size and checksum. Invalid arguments are
    /// `.invalidArgument` with nothing sent. With `ModemOptions.reapplyAfterReset` a RAM file is kept in memory
    /// to upload it again after a restart.
    public func writeCertificate(name: String, data: [UInt8], replace: Bool = false, timeoutS: Int = 100,
                                 progress: ((Int, Int) -> Void)? = nil) throws(QsslError) {
        try api { () throws(QsslError) in
            let n: CertName
            let cmd: String
            do throws(QsslError) {
                n = try CertName(name)
                cmd = try ATCommands.secWrite(n, size: data.count, timeoutS: timeoutS)
            } catch {
                throw record(error, message: "invalid certificate name, size or timeout")
            }
            if replace {
                let del = ATCommands.secDelete(n)
                // A missing file answers +CME ERROR: that is fine here.
                _ = try exec(ATRequest(del), timeoutMs: options.commandTimeoutMs)
            }
            progress?(0, data.count)
            var req = ATRequest(cmd, payload: data, redactPayload: true)
            setUploadProgress(&req, total: data.count, progress)
            // The module waits up to timeoutS for the data; the transfer itself takes size*10/baud seconds.
            let r: ATResponse
            do throws(QsslError) {
                r = try exec(req, timeoutMs: timeoutS * 1000 + 10_000 + data.count / 5)
                counting.setObserver(nil)
            } catch {
                counting.setObserver(nil)
                throw error
            }
            try expectOK(r, cmd)
            let sum = UploadChecksum.of(data)
            do throws(QsslError) {
                try ATDecoders.verifyUpload(r.lines, sentSize: data.count, sentChecksum: sum)
            } catch {
                let got = (try? ATDecoders.secWrite(r.lines)).map { "module reported \($0.size),\(hexString($0.checksum))" }
                throw record(error, command: cmd,
                             message: (got ?? "no +QSECWRITE line") + ", sent \(data.count),\(hexString(sum))")
            }
            // Key material stays in memory only when the user asked for re-apply after a restart.
            if n.storage == .ram && options.reapplyAfterReset { lock.withLock { ramFiles[n.text] = data } }
            progress?(data.count, data.count)
        }
    }

    /// AT+QSECREAD: true if the module says the stored file is intact (<good> = 1).
    public func checkCertificate(name: String) throws(QsslError) -> Bool {
        try api { () throws(QsslError) -> Bool in
            let n: CertName
            do throws(QsslError) { n = try CertName(name) } catch {
                throw record(error, message: "invalid certificate name")
            }
            let cmd = ATCommands.secRead(n)
            let r = try execOK(cmd)
            do throws(QsslError) { return try ATDecoders.secReadGood(r.lines) } catch {
                throw record(error, command: cmd, message: "cannot decode +QSECREAD")
            }
        }
    }

    /// AT+QSECDEL: deletes a certificate or key. A missing file is `.modem` (+CME ERROR, see lastError).
    public func deleteCertificate(name: String) throws(QsslError) {
        try api { () throws(QsslError) in
            let n: CertName
            do throws(QsslError) { n = try CertName(name) } catch {
                throw record(error, message: "invalid certificate name")
            }
            try execOK(ATCommands.secDelete(n))
            lock.withLock { _ = ramFiles.removeValue(forKey: n.text) }
        }
    }
}

extension Modem {
    /// Reports certificate bytes as the transport takes them: once the command line (with its CR) has gone out,
    /// whatever is written while the command is in flight is the data. Lines of commands queued before this
    /// one are skipped by matching the command text.
    func setUploadProgress(_ req: inout ATRequest, total: Int, _ progress: ((Int, Int) -> Void)?) {
        guard let progress else { return }
        let header = Array(req.command.utf8) + [0x0D]
        var matched = 0
        var data = 0
        var reported = 0
        counting.setObserver { bytes in
            var i = 0
            while matched < header.count && i < bytes.count {
                if bytes[i] == header[matched] {
                    matched += 1
                } else {
                    matched = bytes[i] == header[0] ? 1 : 0
                }
                i += 1
            }
            if matched < header.count { return }
            data = min(data + bytes.count - i, total)
            // The final call (total, total) comes from writeCertificate once the module confirmed.
            if data > reported && data < total {
                reported = data
                progress(data, total)
            }
        }
    }
}
