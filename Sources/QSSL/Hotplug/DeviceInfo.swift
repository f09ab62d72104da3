import CPosix
import QSSLCore

/// What a probe found on a port.
public enum ProbeStatus: Int32, Sendable {
    case notProbed = 0
    /// A Quectel answered ATI: model, revision and IMEI are filled.
    case quectel = 1
    /// Nothing answered "AT" within the time, or something that is not a Quectel did.
    case noQuectel = 2
    /// Another program holds the port (TIOCEXCL or flock): left alone.
    case busy = 3
    /// The port could not be opened (gone, no permission).
    case failed = 4
}

/// One tty as qssl sees it: the device node, where it hangs on USB, and what a probe found.
public struct DeviceInfo: Sendable, Equatable {
    /// sysfs path of the tty (the key events are matched by).
    public var syspath = ""
    /// Device node, e.g. /dev/ttyUSB2.
    public var path = ""
    /// The /dev/serial/by-id link udev made for it, or "".
    public var byID = ""
    public var kind = DeviceKind.other
    public var vid: UInt16 = 0
    public var pid: UInt16 = 0
    /// bInterfaceNumber of its USB interface, -1 off USB.
    public var interface = -1
    /// The USB device's sysfs name, e.g. "1-1.3" (bus-port.port), "" off USB.
    public var usbPath = ""
    /// Driver of the USB interface (option, ftdi_sio, cp210x, ch341, pl2303), "" if none.
    public var driver = ""
    public var manufacturer = ""
    public var product = ""
    public var serial = ""
    public var probe = ProbeStatus.notProbed
    public var model = ""
    public var revision = ""
    public var imei = ""

    public init() {}

    /// A place to look for a module (Quectel AT interface or a bridge).
    public var isCandidate: Bool { kind != .other }
}

/// The id table the library classifies with; callers extend it (qssl_usb_id_add).
enum HotplugTable {
    private static let lock = Lock()
    nonisolated(unsafe) private static var table = USBTable.standard

    static var current: USBTable { lock.withLock { table } }
    static func add(_ e: USBIDEntry) { lock.withLock { table.add(e) } }
}
