import QSSLCore

extension Modem {
    /// Applies a whole SSL context (sslversion, ciphersuite, seclevel, and the certificate names that are set),
    /// after validating it (`.invalidArgument`, nothing sent): context 0-5, suites from the note's list,
    /// seclevel 1 needs a CA, seclevel 2 a CA, a client certificate and a key. Remembered for re-applying
    /// after RDY.
    public func configureSSLContext(_ config: SSLContextConfig) throws(QsslError) {
        try api { () throws(QsslError) in
            let cmds: [String]
            do throws(QsslError) { cmds = try ATCommands.sslConfigure(config) } catch {
                throw record(error, message: "invalid SSL context configuration")
            }
            for c in cmds { try execOK(c) }
            lock.withLock { sslConfigs[config.context] = config }
        }
    }

    /// Sets one AT+QSSLCFG setting. `context` (0-5) applies to sslversion, ciphersuite, seclevel, cacert,
    /// clientcert and clientkey; the others are global and ignore it. Remembered for re-applying after RDY.
    public func setSSLSetting(_ value: SSLSettingValue, context: Int = 0) throws(QsslError) {
        try api { () throws(QsslError) in
            let cmd: String
            do throws(QsslError) { cmd = try ATCommands.sslSet(value, context: context) } catch {
                throw record(error, message: "invalid SSL setting")
            }
            try execOK(cmd)
            let key = value.key.rawValue &* 8 &+ Int32(value.key.perContext ? context : 0)
            lock.withLock { sslSettings[key] = (value, context) }
        }
    }

    /// Queries one AT+QSSLCFG setting, decoded.
    public func querySSLSetting(_ key: SSLSettingKey, context: Int = 0) throws(QsslError) -> SSLSettingValue {
        try api { () throws(QsslError) -> SSLSettingValue in
            let cmd: String
            do throws(QsslError) { cmd = try ATCommands.sslQuery(key, context: context) } catch {
                throw record(error, message: "SSL context index not 0-5")
            }
            let r = try execOK(cmd)
            do throws(QsslError) { return try ATDecoders.sslSetting(key, r.lines) } catch {
                throw record(error, command: cmd, message: "cannot decode +QSSLCFG")
            }
        }
    }

    /// AT+QSSLCFG="ctxindex",<context>: the whole context in one value.
    public func querySSLContext(_ context: Int) throws(QsslError) -> SSLContextConfig {
        try api { () throws(QsslError) -> SSLContextConfig in
            let cmd: String
            do throws(QsslError) { cmd = try ATCommands.sslQueryContext(context) } catch {
                throw record(error, message: "SSL context index not 0-5")
            }
            let r = try execOK(cmd)
            do throws(QsslError) { return try ATDecoders.sslContext(r.lines) } catch {
                throw record(error, command: cmd, message: "cannot decode +QSSLCFG ctxindex")
            }
        }
    }

    /// Restores what this handle configured, e.g. after RDY: echo off and verbose errors, the files uploaded
    /// to RAM (a restart loses them; NVRAM keeps its own), the PDP context (activatePDP with the last config),
    /// every SSL context and setting set through this handle.
    /// Runs automatically after RDY when `ModemOptions.reapplyAfterReset` is set.
    public func reapplyConfiguration() throws(QsslError) {
        try api { () throws(QsslError) in
            let (pdp, ctxs, settings, files) = lock.withLock { (pdpConfig, sslConfigs, sslSettings, ramFiles) }
            try execOK("ATE0")
            try execOK("AT+CMEE=1")
            for f in files.sortedEntries { try writeCertificate(name: f.key, data: f.value, replace: true) }
            if let pdp { _ = try activatePDP(pdp) }
            for c in ctxs.sortedEntries { try configureSSLContext(c.value) }
            for s in settings.sortedEntries { try setSSLSetting(s.value.0, context: s.value.1) }
        }
    }
}
