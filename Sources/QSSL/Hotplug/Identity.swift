import QSSLCore

/// Turns "imei:<15 digits>" / "usb:<path>" into the tty that carries that modem now; a plain path is returned as
/// is. `.noDevice` when no candidate matches, `.invalidArgument` for a malformed identity.
public func resolveDevice(_ device: String, baud: Int = 115200) throws(QsslError) -> String {
    guard let identity = try DeviceIdentity.parse(device) else { return device }
    let candidates = try listDevices()
    switch identity {
    case .usbPath(let p):
        if let d = candidates.first(where: { $0.usbPath == p }) { return d.path }
        throw QsslError.noDevice.with(message: "no modem candidate on USB port " + p)
    case .imei(let imei):
        for var d in candidates {
            DeviceProbe.run(&d, baud: baud)
            if d.imei == imei { return d.path }
        }
        throw QsslError.noDevice.with(message: "no free candidate answers with IMEI " + imei)
    }
}
