import CPosix
import CUdev
import QSSLCore

// libudev, really used: enumeration and the monitor read sysfs and the uevent socket through it, so udevd's
// database (by-id links) is used where one runs, and umockdev can stand in for the kernel in tests.

/// A libudev context. Not thread-safe (libudev objects are not): each user owns one.
final class UdevContext {
    let udev: OpaquePointer

    init() throws(QsslError) {
        guard let u = udev_new() else { throw Sys.resourceError(cposix_errno(), "udev_new") }
        udev = u
    }

    deinit { udev_unref(udev) }

    /// Every tty present now, described.
    func ttys(table: USBTable) throws(QsslError) -> [DeviceInfo] {
        guard let e = udev_enumerate_new(udev) else { throw Sys.resourceError(cposix_errno(), "udev_enumerate_new") }
        defer { udev_enumerate_unref(e) }
        _ = udev_enumerate_add_match_subsystem(e, "tty")
        let rc = udev_enumerate_scan_devices(e)
        if rc < 0 { throw QsslError.io.with(errno: -rc, message: "udev_enumerate_scan_devices failed") }
        var out: [DeviceInfo] = []
        var entry = udev_enumerate_get_list_entry(e)
        while let en = entry {
            if let p = udev_list_entry_get_name(en), let dev = udev_device_new_from_syspath(udev, p) {
                if let d = UdevContext.describe(dev, table: table) { out.append(d) }
                udev_device_unref(dev)
            }
            entry = udev_list_entry_get_next(en)
        }
        out.sort { $0.path < $1.path }
        return out
    }

    /// Reads what qssl reports about a tty from it and its USB ancestors; nil for a virtual tty or one without a node.
    static func describe(_ dev: OpaquePointer, table: USBTable) -> DeviceInfo? {
        var d = DeviceInfo()
        d.path = text(udev_device_get_devnode(dev))
        d.syspath = text(udev_device_get_syspath(dev))
        // Virtual ttys (consoles, ptmx, tty0-63) are never a serial port.
        if d.path.isEmpty || d.syspath.hasPrefix("/sys/devices/virtual/") { return nil }
        if let intf = udev_device_get_parent_with_subsystem_devtype(dev, "usb", "usb_interface") {
            d.interface = HotplugText.hex(attr(intf, "bInterfaceNumber")) ?? -1
            d.driver = text(udev_device_get_driver(intf))
        }
        if let usb = udev_device_get_parent_with_subsystem_devtype(dev, "usb", "usb_device") {
            d.vid = UInt16(truncatingIfNeeded: HotplugText.hex(attr(usb, "idVendor")) ?? 0)
            d.pid = UInt16(truncatingIfNeeded: HotplugText.hex(attr(usb, "idProduct")) ?? 0)
            d.manufacturer = attr(usb, "manufacturer") ?? ""
            d.product = attr(usb, "product") ?? ""
            d.serial = attr(usb, "serial") ?? ""
            d.usbPath = text(udev_device_get_sysname(usb))
            d.kind = table.classify(vid: d.vid, pid: d.pid, interface: d.interface)
        }
        var link = udev_device_get_devlinks_list_entry(dev)
        while let l = link {
            let name = text(udev_list_entry_get_name(l))
            if name.hasPrefix("/dev/serial/by-id/") {
                d.byID = name
                break
            }
            link = udev_list_entry_get_next(l)
        }
        return d
    }

    private static func attr(_ dev: OpaquePointer, _ name: String) -> String? {
        udev_device_get_sysattr_value(dev, name).map { String(decoding: UnsafeRawBufferPointer(start: $0, count: strlen($0)), as: UTF8.self).trimmingTrailingNewline() }
    }

    static func text(_ p: UnsafePointer<CChar>?) -> String {
        guard let p else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: p, count: strlen(p)), as: UTF8.self)
    }
}

extension String {
    fileprivate func trimmingTrailingNewline() -> String {
        var s = Substring(self)
        while let c = s.last, c == "\n" || c == " " { s = s.dropLast() }
        return String(s)
    }
}

/// Where monitor events come from.
public enum MonitorSource: Int32, Sendable {
    /// udevd's events (after its rules ran: by-id links exist); udevd must run.
    case udev = 1
    /// The kernel's uevents directly (routers without udevd); no by-id links.
    case kernel = 2
}

/// Add and remove of ttys as they happen. The details of a removed tty come from what was read at "add" (or
/// at start, for ttys present then): by the time the kernel says "remove", sysfs has gone.
public final class DeviceMonitor: @unchecked Sendable {
    public enum Action: Int32, Sendable {
        case add = 1
        case remove = 2
    }

    public let source: MonitorSource
    /// Also report ttys that are no candidates (non-AT interfaces, board UARTs).
    public let all: Bool
    private let ctx: UdevContext
    private let monitor: OpaquePointer
    private let lock = Lock()
    private var cache = SmallMap<String, DeviceInfo>()
    private var closed = false
    /// Wakes a next() waiting in poll when close() is called from another thread.
    private let wakeFD: Int32

    /// Binds the monitor (events from here on are seen) and reads the ttys present. `source` nil picks udev when
    /// udevd runs (its control socket exists), else the kernel's uevents.
    public init(source: MonitorSource? = nil, all: Bool = false) throws(QsslError) {
        let ctx = try UdevContext()
        let src = source ?? (access("/run/udev/control", F_OK) == 0 ? .udev : .kernel)
        guard let mon = udev_monitor_new_from_netlink(ctx.udev, src == .udev ? "udev" : "kernel") else {
            throw QsslError.notSupported.with(errno: cposix_errno(), message: "udev monitor: no uevent socket")
        }
        _ = udev_monitor_filter_add_match_subsystem_devtype(mon, "tty", nil)
        let rc = udev_monitor_enable_receiving(mon)
        if rc < 0 {
            udev_monitor_unref(mon)
            throw QsslError.io.with(errno: -rc, message: "udev monitor: cannot bind the uevent socket")
        }
        var seen = SmallMap<String, DeviceInfo>()
        let wake: Int32
        do throws(QsslError) {
            for d in try ctx.ttys(table: HotplugTable.current) { seen[d.syspath] = d }
            wake = try Sys.eventfd()
        } catch {
            udev_monitor_unref(mon)
            throw error
        }
        self.wakeFD = wake
        self.ctx = ctx
        self.monitor = mon
        self.source = src
        self.all = all
        self.cache = seen
    }

    deinit {
        udev_monitor_unref(monitor)
        Sys.close(wakeFD)
    }

    /// Readable while an event may be waiting (a uevent that is no tty candidate reads as nothing).
    public var fd: Int32 { udev_monitor_get_fd(monitor) }

    /// The next add/remove, waiting at most `timeoutMs` (0: no wait; < 0: no limit). nil when none came.
    public func next(timeoutMs: Int) throws(QsslError) -> (Action, DeviceInfo)? {
        let deadline = timeoutMs < 0 ? UInt64.max : deadlineNs(afterMs: timeoutMs)
        lock.lock()
        defer { lock.unlock() }
        while true {
            if closed { throw .closed }
            while let dev = udev_monitor_receive_device(monitor) {
                let r = handle(dev)
                udev_device_unref(dev)
                if let r { return r }
            }
            let now = monotonicNs()
            if now >= deadline { return nil }
            var p = (pollfd(fd: udev_monitor_get_fd(monitor), events: Int16(POLLIN), revents: 0),
                     pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0))
            let wait = deadline == UInt64.max ? Int32(-1) : Sys.msUntil(deadline, now: now)
            // Waits without the lock, so close() can get in and wake it.
            lock.unlock()
            let r = withUnsafeMutableBytes(of: &p) { b in
                Sys.poll(b.baseAddress!.assumingMemoryBound(to: pollfd.self), 2, timeoutMs: wait)
            }
            lock.lock()
            if r.value < 0 { throw QsslError.io.with(errno: r.errno, message: "poll on the udev monitor") }
        }
    }

    private func handle(_ dev: OpaquePointer) -> (Action, DeviceInfo)? {
        let action = UdevContext.text(udev_device_get_action(dev))
        let syspath = UdevContext.text(udev_device_get_syspath(dev))
        switch action {
        case "add":
            guard let d = UdevContext.describe(dev, table: HotplugTable.current) else { return nil }
            cache[syspath] = d
            return all || d.isCandidate ? (.add, d) : nil
        case "remove":
            guard let d = cache.removeValue(forKey: syspath) else { return nil }
            return all || d.isCandidate ? (.remove, d) : nil
        default:
            return nil
        }
    }

    /// Wakes a waiting next(); later calls throw `.closed`. The socket goes with the last reference. Idempotent.
    public func close() {
        lock.withLock {
            if closed { return }
            closed = true
            Sys.signalEventfd(wakeFD)
        }
    }
}

/// Snapshot of the ttys present (candidates only unless `all`), probed when asked.
public func listDevices(all: Bool = false, probe: Bool = false, baud: Int = 115200) throws(QsslError) -> [DeviceInfo] {
    var list = try UdevContext().ttys(table: HotplugTable.current).filter { all || $0.isCandidate }
    if probe {
        for i in list.indices where list[i].isCandidate { DeviceProbe.run(&list[i], baud: baud) }
    }
    return list
}
