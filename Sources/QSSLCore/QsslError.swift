/// A qssl status code: the same closed set of negative numbers as `enum qssl_status` in include/qssl.h, and,
/// when the thrower knew more, its story: the command that failed, the module's CME/CMS number, errno, a message.
/// Two errors are equal when their codes are (`catch` and `#expect(throws: .timedOut)` compare codes).
public struct QsslError: Error, Hashable, Sendable {
    public let rawValue: Int32
    /// What happened, if known (`qssl_errmsg` prints it).
    public var story: ErrorStory?
    public init(rawValue: Int32) {
        self.rawValue = rawValue
        story = nil
    }

    /// This code with a story.
    public func with(command: String = "", cme: Int = -1, errno: Int32 = 0, message: String = "") -> QsslError {
        var e = QsslError(rawValue: rawValue)
        e.story = ErrorStory(command: command, cme: cme, errno: errno, message: message)
        return e
    }

    public static func == (a: QsslError, b: QsslError) -> Bool { a.rawValue == b.rawValue }
    public func hash(into h: inout Hasher) { h.combine(rawValue) }

    /// One line: "<message>[: <command>][ (+CME ERROR: n)][ (errno n)]", the static text when there is no story.
    public var detailText: String {
        guard let s = story else { return String(describingStatic: text) }
        var out = s.message.isEmpty ? String(describingStatic: text) : s.message
        if !s.command.isEmpty { out += ": " + s.command }
        if s.cme >= 0 { out += " (+CME ERROR: \(s.cme))" }
        if s.errno != 0 { out += " (errno \(s.errno))" }
        return out
    }

    public static let invalidArgument = QsslError(rawValue: -1)
    public static let timedOut = QsslError(rawValue: -2)
    public static let io = QsslError(rawValue: -3)
    public static let busy = QsslError(rawValue: -4)
    public static let closed = QsslError(rawValue: -5)
    public static let modem = QsslError(rawValue: -6)
    public static let notAttached = QsslError(rawValue: -7)
    public static let noMemory = QsslError(rawValue: -8)
    public static let noDevice = QsslError(rawValue: -9)
    public static let notSupported = QsslError(rawValue: -10)
    public static let checksum = QsslError(rawValue: -11)
    public static let notRegistered = QsslError(rawValue: -12)
    public static let noAPN = QsslError(rawValue: -13)
    public static let contextBusy = QsslError(rawValue: -14)
    public static let noSocket = QsslError(rawValue: -15)
    public static let connectFailed = QsslError(rawValue: -16)
    public static let occupied = QsslError(rawValue: -17)
    public static let pdpDeactivated = QsslError(rawValue: -18)
    public static let reset = QsslError(rawValue: -19)
    public static let again = QsslError(rawValue: -20)
    public static let proto = QsslError(rawValue: -21)
    // Why opening the port failed (since 0.3).
    public static let permissionDenied = QsslError(rawValue: -22)
    public static let noSuchDevice = QsslError(rawValue: -23)
    public static let notATerminal = QsslError(rawValue: -24)

    /// Static text, the same as qssl_strerror().
    public var text: StaticString {
        switch rawValue {
        case 0: return "success"
        case -1: return "invalid argument"
        case -2: return "timed out"
        case -3: return "I/O error on the port"
        case -4: return "port or resource busy"
        case -5: return "closed"
        case -6: return "module returned an error"
        case -7: return "packet domain not attached"
        case -8: return "out of memory"
        case -9: return "device gone"
        case -10: return "not supported"
        case -11: return "upload size or checksum mismatch"
        case -12: return "not registered to the packet domain"
        case -13: return "APN not set"
        case -14: return "PDP context in use"
        case -15: return "no free socket index"
        case -16: return "connection or TLS handshake failed"
        case -17: return "socket index occupied"
        case -18: return "PDP context deactivated"
        case -19: return "module restarted"
        case -20: return "try again"
        case -21: return "unexpected module answer"
        case -22: return "permission denied"
        case -23: return "no such device"
        case -24: return "not a terminal"
        default: return "unknown error"
        }
    }
}

/// The detail an error carries from where it happened to whoever reports it. A class, so a thrown QsslError
/// stays two words: typed throws copy it through every frame (a struct of strings cost the Embedded build
/// 70 KB).
public final class ErrorStory: Sendable {
    /// The AT command that failed ("" if none was involved).
    public let command: String
    /// +CME ERROR / +CMS ERROR number, or -1.
    public let cme: Int
    /// errno of a failed system call, or 0.
    public let errno: Int32
    /// Short human text ("" for the code's static text).
    public let message: String

    public init(command: String = "", cme: Int = -1, errno: Int32 = 0, message: String = "") {
        self.command = command
        self.cme = cme
        self.errno = errno
        self.message = message
    }
}

extension String {
    /// A StaticString's text as a String.
    public init(describingStatic s: StaticString) {
        self = s.withUTF8Buffer { String(decoding: $0, as: UTF8.self) }
    }
}
