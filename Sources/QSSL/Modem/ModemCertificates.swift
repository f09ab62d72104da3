import QSSLCore

extension Modem {
    /// Uploads a certificate or key (AT+QSECWRITE with its CONNECT data phase) and checks the size and
    /// checksum the module reports against the bytes sent (`.checksum` on any difference: a short or
    /// corrupted upload). `name`: "RAM:<file>" or "NVRAM:CA0|CA1|CC0|CK0"; size 1-32768 (RAM) / 1-2025
    /// (NVRAM); `timeoutS` 3-200 is the module's wait for data. `replace` deletes an existing file first (the
    /// module refuses to overwrite). `progress(sent, total)` is called as bytes go out (at least at 0 and at
    /// the end). Invalid arguments are `.invalidArgument` with nothing sent.
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
            let r = try exec(req, timeoutMs: timeoutS * 1000 + 10_000 + data.count / 5)
            try expectOK(r, cmd)
            let sum = UploadChecksum.of(data)
            do throws(QsslError) {
                try ATDecoders.verifyUpload(r.lines, sentSize: data.count, sentChecksum: sum)
            } catch {
                let got = (try? ATDecoders.secWrite(r.lines)).map { "module reported \($0.size),\(hexString($0.checksum))" }
                throw record(error, command: cmd,
                             message: (got ?? "no +QSECWRITE line") + ", sent \(data.count),\(hexString(sum))")
            }
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
        }
    }
}

extension Modem {
    /// Hooks upload progress into the request when the channel can report payload bytes as they are written.
    func setUploadProgress(_ req: inout ATRequest, total: Int, _ progress: ((Int, Int) -> Void)?) {
    }
}
