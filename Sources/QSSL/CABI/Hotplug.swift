import CPosix
import CQSSL
import QSSLCore

// The HOT-PLUG section of include/qssl.h: device lists, the probe, the id table and monitors. Behaviour lives in
// Sources/QSSL/Hotplug; this file checks C arguments and converts structs.

let deviceV1Size = MemoryLayout<qssl_device>.size
let deviceEventV1Size = MemoryLayout<qssl_device_event>.size
let devicesOptionsV1Size = MemoryLayout<qssl_devices_options>.size

/// A monitor behind a `qssl_monitor *` token.
final class CMonitor {
    let monitor: DeviceMonitor
    init(_ m: DeviceMonitor) { monitor = m }
}

let monitors = Registry<CMonitor>(tag: 0x514D)

/// The options, defaults for NULL; nil for a struct too small or a bad value.
private func devicesOptions(_ p: UnsafePointer<qssl_devices_options>?) -> qssl_devices_options? {
    var o = qssl_devices_options()
    _ = qssl_devices_options_init(&o)
    guard let p else { return o }
    guard structSize(p) >= devicesOptionsV1Size else { return nil }
    o = p.pointee
    guard SerialTransport.speed(forBaud: Int(o.baud)) != nil, o.probe_timeout_ms > 0,
          (0...2).contains(o.source) else { return nil }
    return o
}

/// Fills a C device from a Swift one.
private func fill(_ out: inout qssl_device, _ d: DeviceInfo) {
    out.size = UInt32(deviceV1Size)
    out.kind = d.kind.rawValue
    out.vid = Int32(d.vid)
    out.pid = Int32(d.pid)
    out.interface = Int32(d.interface)
    out.probe = d.probe.rawValue
    withUnsafeMutableBytes(of: &out.path) { copyField(d.path, into: $0) }
    withUnsafeMutableBytes(of: &out.by_id) { copyField(d.byID, into: $0) }
    withUnsafeMutableBytes(of: &out.syspath) { copyField(d.syspath, into: $0) }
    withUnsafeMutableBytes(of: &out.usb_path) { copyField(d.usbPath, into: $0) }
    withUnsafeMutableBytes(of: &out.driver) { copyField(d.driver, into: $0) }
    withUnsafeMutableBytes(of: &out.manufacturer) { copyField(d.manufacturer, into: $0) }
    withUnsafeMutableBytes(of: &out.product) { copyField(d.product, into: $0) }
    withUnsafeMutableBytes(of: &out.serial) { copyField(d.serial, into: $0) }
    withUnsafeMutableBytes(of: &out.model) { copyField(d.model, into: $0) }
    withUnsafeMutableBytes(of: &out.revision) { copyField(d.revision, into: $0) }
    withUnsafeMutableBytes(of: &out.imei) { copyField(d.imei, into: $0) }
}

@implementation @c public func qssl_devices_options_init(_ opts: UnsafeMutablePointer<qssl_devices_options>?) -> Int32 {
    guard let opts else { return QsslError.invalidArgument.rawValue }
    opts.pointee = qssl_devices_options(size: UInt32(devicesOptionsV1Size), flags: 0, baud: 115200,
                                        probe_timeout_ms: 2000, source: 0)
    return 0
}

@implementation @c public func qssl_devices(_ opts: UnsafePointer<qssl_devices_options>?,
                                            _ out: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<qssl_device>?>?>?) -> Int32 {
    guard let out else { return QsslError.invalidArgument.rawValue }
    out.pointee = nil
    guard let o = devicesOptions(opts) else { return QsslError.invalidArgument.rawValue }
    var list: [DeviceInfo]
    do throws(QsslError) {
        list = try listDevices(all: o.flags & QSSL_DEVICES_ALL != 0)
    } catch {
        return error.rawValue
    }
    if o.flags & QSSL_DEVICES_PROBE != 0 {
        for i in list.indices where list[i].isCandidate {
            DeviceProbe.run(&list[i], baud: Int(o.baud), timeoutMs: Int(o.probe_timeout_ms))
        }
    }
    // One block: the pointer array, NULL-terminated, then the structs; qssl_devices_free frees it at once.
    let ptrBytes = (list.count + 1) * MemoryLayout<UnsafeMutableRawPointer?>.stride
    let structOffset = (ptrBytes + 15) & ~15
    guard let block = calloc(1, structOffset + max(1, list.count) * deviceV1Size) else {
        return QsslError.noMemory.rawValue
    }
    let ptrs = block.assumingMemoryBound(to: UnsafeMutablePointer<qssl_device>?.self)
    let structs = (block + structOffset).bindMemory(to: qssl_device.self, capacity: max(1, list.count))
    for (i, d) in list.enumerated() {
        fill(&structs[i], d)
        ptrs[i] = structs + i
    }
    ptrs[list.count] = nil
    out.pointee = ptrs
    return Int32(clamping: list.count)
}

@implementation @c public func qssl_devices_free(_ list: UnsafeMutablePointer<UnsafeMutablePointer<qssl_device>?>?) {
    free(list)
}

@implementation @c public func qssl_probe(_ path: UnsafePointer<CChar>?, _ opts: UnsafePointer<qssl_devices_options>?,
                                          _ out: UnsafeMutablePointer<qssl_device>?) -> Int32 {
    guard let out, structSize(out) >= deviceV1Size, let p = cString(path), !p.isEmpty,
          let o = devicesOptions(opts) else { return QsslError.invalidArgument.rawValue }
    // The udev details when libudev knows the node (any tty, candidate or not); a bare path otherwise.
    var d = ((try? listDevices(all: true)) ?? []).first { $0.path == p } ?? DeviceInfo()
    d.path = p
    DeviceProbe.run(&d, baud: Int(o.baud), timeoutMs: Int(o.probe_timeout_ms))
    fill(&out.pointee, d)
    return 0
}

@implementation @c public func qssl_usb_id_add(_ vid: Int32, _ pid: Int32, _ kind: Int32, _ at_interface: Int32) -> Int32 {
    guard (0...0xFFFF).contains(vid), (0...0xFFFF).contains(pid), let k = DeviceKind(rawValue: kind),
          k != .quectelUSB || (0...255).contains(at_interface) else { return QsslError.invalidArgument.rawValue }
    HotplugTable.add(USBIDEntry(vid: UInt16(vid), pid: UInt16(pid), kind: k, atInterface: Int(at_interface)))
    return 0
}

@implementation @c public func qssl_monitor_open(_ out: UnsafeMutablePointer<OpaquePointer?>?,
                                                 _ opts: UnsafePointer<qssl_devices_options>?) -> Int32 {
    guard let out else { return QsslError.invalidArgument.rawValue }
    out.pointee = nil
    guard let o = devicesOptions(opts) else { return QsslError.invalidArgument.rawValue }
    do throws(QsslError) {
        let m = try DeviceMonitor(source: MonitorSource(rawValue: o.source), all: o.flags & QSSL_DEVICES_ALL != 0)
        var token: UInt = 0
        _ = monitors.add { t in
            token = t
            return CMonitor(m)
        }
        out.pointee = OpaquePointer(bitPattern: token)
        return 0
    } catch {
        return error.rawValue
    }
}

/// Runs `body` on the live monitor `mon`, turning thrown codes into return values.
private func withMonitor(_ mon: OpaquePointer?, _ body: (DeviceMonitor) throws(QsslError) -> Int32) -> Int32 {
    switch monitors.lookup(mon) {
    case .failure(let e): return e.rawValue
    case .success(let c):
        do throws(QsslError) { return try body(c.monitor) } catch { return error.rawValue }
    }
}

@implementation @c public func qssl_monitor_source(_ mon: OpaquePointer?) -> Int32 {
    withMonitor(mon) { m throws(QsslError) in m.source.rawValue }
}

@implementation @c public func qssl_monitor_fd(_ mon: OpaquePointer?) -> Int32 {
    withMonitor(mon) { m throws(QsslError) in m.fd }
}

@implementation @c public func qssl_monitor_next(_ mon: OpaquePointer?, _ event: UnsafeMutablePointer<qssl_device_event>?,
                                                 _ timeout_ms: Int32) -> Int32 {
    withMonitor(mon) { m throws(QsslError) -> Int32 in
        guard let event, structSize(event) >= deviceEventV1Size else { return QsslError.invalidArgument.rawValue }
        guard let (action, d) = try m.next(timeoutMs: Int(timeout_ms)) else {
            return timeout_ms == 0 ? QsslError.again.rawValue : QsslError.timedOut.rawValue
        }
        event.pointee.size = UInt32(deviceEventV1Size)
        event.pointee.action = action.rawValue
        fill(&event.pointee.device, d)
        return 0
    }
}

@implementation @c public func qssl_monitor_close(_ mon: OpaquePointer?) -> Int32 {
    switch monitors.remove(mon) {
    case .failure(let e): return e.rawValue
    case .success(let c):
        c.monitor.close()
        return 0
    }
}
