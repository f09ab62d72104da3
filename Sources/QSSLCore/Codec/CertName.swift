/// Where a certificate or key is stored: `RAM:<name>` or one of the four NVRAM slots.
public enum CertStorage: Int32, Equatable, Hashable, Sendable {
    case ram = 0
    case nvram = 1

    /// Largest file the module accepts in this storage (AT+QSECWRITE: 32768 RAM, 2025 NVRAM).
    public var maxFileSize: Int { self == .ram ? 32768 : 2025 }
}

/// A validated certificate / key file name as the note defines it:
/// `"RAM:<filename>"` or `"NVRAM:CA0" | "NVRAM:CA1" | "NVRAM:CC0" | "NVRAM:CK0"`.
public struct CertName: Equatable, Hashable, Sendable {
    public let storage: CertStorage
    /// The part after the colon ("ca_cert.pem", "CA0").
    public let file: String

    /// The four file names NVRAM accepts (two CAs, one client certificate, one client key).
    public static let nvramFiles = ["CA0", "CA1", "CC0", "CK0"]

    /// Parses and checks a full name; `.invalidArgument` for anything else. The storage prefix is
    /// case-sensitive as in the note; a RAM file name must be a safe AT string without ':'.
    public init(_ name: String) throws(QsslError) {
        try ATArgument.check(name)
        if name.hasPrefix("RAM:") {
            let f = String(name.dropFirst(4))
            guard !f.isEmpty, !f.utf8.contains(0x3A) else { throw .invalidArgument }
            self.storage = .ram
            self.file = f
        } else if name.hasPrefix("NVRAM:") {
            let f = String(name.dropFirst(6))
            guard CertName.nvramFiles.contains(f) else { throw .invalidArgument }
            self.storage = .nvram
            self.file = f
        } else {
            throw .invalidArgument
        }
    }

    /// The name as it goes into commands, without quotes.
    public var text: String { (storage == .ram ? "RAM:" : "NVRAM:") + file }

    /// Largest upload for this name.
    public var maxFileSize: Int { storage.maxFileSize }

    /// Throws `.invalidArgument` unless 1 <= size <= maxFileSize.
    public func checkSize(_ size: Int) throws(QsslError) {
        if size < 1 || size > maxFileSize { throw .invalidArgument }
    }
}
