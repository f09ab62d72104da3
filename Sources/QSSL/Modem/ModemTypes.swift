import QSSLCore

/// Something the user may want to react to. Delivered through `Modem.events` (pollable fd) and, if set, the
/// event callback (on the modem's dispatcher thread).
public enum ModemEvent: Equatable, Hashable, Sendable {
    /// Bytes wait in the host buffer of `socket` (edge: sent when the buffer goes from empty to non-empty).
    case dataReady(socket: Int)
    /// The peer closed `socket` ("closed" URC / "<n>, CLOSED"); buffered bytes stay readable.
    case socketClosed(socket: Int)
    /// +PDP DEACT: every socket failed with `.pdpDeactivated`.
    case pdpDeactivated
    /// RDY: the module restarted; every socket failed with `.reset`.
    case moduleReset
    /// The port vanished; every call now fails with `.noDevice`.
    case deviceGone
    /// The packet data context came up (activatePDP or the supervisor).
    case pdpActivated
    /// The supervisor gave up on AT+QIACT and sent its reboot command.
    case supervisorReboot
    /// Configuration re-applied after RDY (`ModemOptions.reapplyAfterReset`); `ok` false if a step failed.
    case configurationReapplied(ok: Bool)
    /// A handle opened by identity found its modem again after `.deviceGone` and synced with it (ModemFollow).
    case reattached

    /// C-friendly kind number (see include/qssl.h): 1 data ready, 2 socket closed, 3 PDP deactivated,
    /// 4 module reset, 5 device gone, 6 PDP activated, 7 supervisor reboot, 8 configuration re-applied,
    /// 9 re-attached.
    public var kind: Int32 {
        switch self {
        case .dataReady: return 1
        case .socketClosed: return 2
        case .pdpDeactivated: return 3
        case .moduleReset: return 4
        case .deviceGone: return 5
        case .pdpActivated: return 6
        case .supervisorReboot: return 7
        case .configurationReapplied: return 8
        case .reattached: return 9
        }
    }

    /// The socket index for socket events, -1 otherwise.
    public var socket: Int {
        switch self {
        case .dataReady(let s), .socketClosed(let s): return s
        default: return -1
        }
    }

    /// For .configurationReapplied: 1 if every step succeeded, 0 if one failed; 0 for other events.
    public var value: Int32 {
        if case .configurationReapplied(let ok) = self { return ok ? 1 : 0 }
        return 0
    }
}

/// Detail about the last failed call on a modem handle: the code and the story its error carried.
public struct ModemErrorDetail: Equatable, Sendable {
    public var code: QsslError
    /// +CME ERROR number, or -1.
    public var cme: Int { code.story?.cme ?? -1 }
    /// The AT command that failed ("" if none was involved).
    public var command: String { code.story?.command ?? "" }
    /// errno of a failed system call, or 0.
    public var errno: Int32 { code.story?.errno ?? 0 }
    /// Short human text.
    public var message: String { code.story?.message ?? "" }

    public init(_ error: QsslError = QsslError(rawValue: 0)) { code = error }

    /// One line: "<message>[: <command>][ (+CME ERROR: n)][ (errno n)]".
    public var text: String { code.detailText }
}

/// Packet data settings for AT+QICSGP (bearer GPRS).
public struct PDPConfig: Equatable, Sendable {
    public var apn: String
    public var user: String
    public var password: String
    /// AT+QIFGCNT foreground context (0 or 1).
    public var foregroundContext: Int
    public init(apn: String, user: String = "", password: String = "", foregroundContext: Int = 0) {
        self.apn = apn
        self.user = user
        self.password = password
        self.foregroundContext = foregroundContext
    }
}

/// The note's recovery policy for a PDP context that will not come up (§1.4.1).
public struct SupervisorOptions: Sendable {
    /// Time between checks (the note: 10 minutes).
    public var intervalMs: Int = 600_000
    /// Failed activation rounds (each followed by the §1.4.1 checks) before a reboot (the note: 3).
    public var attemptsBeforeReboot: Int = 3
    /// Sent to reboot the module.
    public var rebootCommand: String = "AT+CFUN=1,1"
    /// How long to wait for RDY after the reboot command.
    public var rebootWaitMs: Int = 30_000
    public init() {}
}

/// Options of a Modem handle.
public struct ModemOptions: Sendable {
    /// Start-up sync with the module (passed to the channel).
    public var startTimeoutMs: Int = 5000
    /// Default timeout of a plain command.
    public var commandTimeoutMs: Int = 5000
    /// Host buffer per socket above which draining pauses until the user reads (bytes).
    public var highWaterMark: Int = 64 * 1024
    /// Payload bytes per AT+QSSLSEND / AT+QISEND (1-1460).
    public var sendChunk: Int = 1460
    /// After RDY, restore echo off / CMEE, the RAM files (kept in memory for this), the PDP context and the SSL
    /// contexts and settings configured through this handle.
    public var reapplyAfterReset: Bool = false
    /// Capacity of `Modem.events`.
    public var eventCapacity: Int = 1024
    /// Transparent mode: how long the port must stay quiet after a line such as `+QSSLURC: "closed",<n>` before
    /// it counts as the module leaving data mode rather than socket data (see DataModeExitScanner). Bytes that
    /// could be the start of such a line reach the socket buffer this much later.
    public var transparentExitQuietMs: Int = 200
    /// "+++" tries before a transparent socket is reported stuck in data mode (each waits the guard time).
    public var escapeAttempts: Int = 3
    public init() {}
}

/// Kind of a socket index in the shared 0-5 space.
public enum SocketKind: Int32, Equatable, Sendable {
    case ssl = 0
    case tcp = 1
}
