import QSSLCore

/// Asks a candidate port what is behind it.
public enum DeviceProbe {
    /// Opens `d.path` exclusively at `baud`, syncs with "AT" (the channel's autobaud retries), sends ATI and, when a
    /// Quectel answers, AT+GSN. Gives up after `timeoutMs` in all. A port another program holds is `.busy` and
    /// left alone. Fills d.probe, and d.model / d.revision / d.imei for a Quectel.
    public static func run(_ d: inout DeviceInfo, baud: Int = 115200, timeoutMs: Int = 2000) {
        let deadline = deadlineNs(afterMs: timeoutMs)
        var serial = SerialOptions()
        serial.baud = baud
        let port: SerialTransport
        do throws(QsslError) {
            port = try SerialTransport(path: d.path, options: serial)
        } catch {
            d.probe = error == .busy ? .busy : .failed
            return
        }
        var options = ChannelOptions()
        options.syncIntervalMs = 250
        // An unanswered command must not hold the port past the deadline waiting for its late answer.
        options.lateFinalWaitMs = 0
        let channel = ATChannel(transport: port, options: options)
        defer { channel.close() }
        func left() -> Int { Int((deadline &- min(deadline, monotonicNs())) / 1_000_000) }
        d.probe = .noQuectel
        do throws(QsslError) {
            try channel.start(timeoutMs: max(1, left() - 200))
            let ati = try channel.execute(ATRequest("ATI"), timeoutMs: max(1, left()))
            guard ati.final == .ok, let id = HotplugText.parseATI(ati.lines) else { return }
            d.probe = .quectel
            d.model = id.model
            d.revision = id.revision
            let gsn = try channel.execute(ATRequest("AT+GSN"), timeoutMs: max(1, left()))
            if gsn.final == .ok { d.imei = HotplugText.parseIMEI(gsn.lines) ?? "" }
        } catch {
            if error == .noDevice { d.probe = .failed }
        }
    }
}
