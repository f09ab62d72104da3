/// SSL version of an SSL context (`<sslversion>`).
public enum SSLVersion: Int32, Equatable, Hashable, Sendable, CaseIterable {
    case ssl3 = 0
    case tls1_0 = 1
    case tls1_1 = 2
    case tls1_2 = 3
    case all = 4
}

/// Authentication mode of an SSL context (`<seclevel>`).
public enum SecLevel: Int32, Equatable, Hashable, Sendable, CaseIterable {
    /// No authentication.
    case none = 0
    /// Server authentication (needs a CA certificate).
    case server = 1
    /// Server and client authentication (needs a CA certificate, a client certificate and a key).
    case serverAndClient = 2
}

/// SMTP security type (`<smtpstyle>`).
public enum SMTPStyle: Int32, Equatable, Hashable, Sendable, CaseIterable {
    case plain = 0
    case ssl = 1
    case startTLS = 2
}

/// A cipher suite code from the note's table; `.all` (0xFFFF) means every supported suite.
public struct CipherSuite: RawRepresentable, Equatable, Hashable, Sendable {
    public let rawValue: UInt16
    /// Accepts only codes of the note's list.
    public init?(rawValue: UInt16) {
        guard CipherSuite.knownCodes.contains(rawValue) else { return nil }
        self.rawValue = rawValue
    }
    private init(_ v: UInt16) { rawValue = v }

    public static let rsaAES256CBCSHA = CipherSuite(0x0035)
    public static let rsaAES128CBCSHA = CipherSuite(0x002F)
    public static let rsaRC4128SHA = CipherSuite(0x0005)
    public static let rsaRC4128MD5 = CipherSuite(0x0004)
    public static let rsa3DESEDECBCSHA = CipherSuite(0x000A)
    public static let rsaAES256CBCSHA256 = CipherSuite(0x003D)
    public static let all = CipherSuite(0xFFFF)

    /// The codes of the note's table, in its order, then 0xFFFF.
    public static let knownCodes: [UInt16] = [0x0035, 0x002F, 0x0005, 0x0004, 0x000A, 0x003D, 0xFFFF]

    /// "0X0035" as the note writes it (uppercase X, four digits).
    public var text: String {
        let digits: [UInt8] = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = [0x30, 0x58]
        var shift: UInt16 = 12
        while true {
            out.append(digits[Int((rawValue >> shift) & 0xF)])
            if shift == 0 { break }
            shift -= 4
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses "0X0035", "0x35", "0035" or "35" (hex); nil if not one of the note's codes.
    public static func parse(_ s: String) -> CipherSuite? {
        var t = Substring(s)
        if t.hasPrefix("0X") || t.hasPrefix("0x") { t = t.dropFirst(2) }
        guard let v = parseHex16(t) else { return nil }
        return CipherSuite(rawValue: v)
    }
}

/// Everything one SSL context (0-5) holds, as AT+QSSLCFG="ctxindex",<n> reports it.
public struct SSLContextConfig: Equatable, Hashable, Sendable {
    public var context: Int
    public var version: SSLVersion
    public var cipherSuites: [CipherSuite]
    public var secLevel: SecLevel
    public var caCert: CertName?
    public var clientCert: CertName?
    public var clientKey: CertName?

    public init(context: Int = 0, version: SSLVersion = .all, cipherSuites: [CipherSuite] = [.all],
                secLevel: SecLevel = .none, caCert: CertName? = nil, clientCert: CertName? = nil,
                clientKey: CertName? = nil) {
        self.context = context
        self.version = version
        self.cipherSuites = cipherSuites
        self.secLevel = secLevel
        self.caCert = caCert
        self.clientCert = clientCert
        self.clientKey = clientKey
    }

    /// `.invalidArgument` unless: context 0-5, 1-6 distinct suites (0xFFFF only alone), seclevel 1 has a CA,
    /// seclevel 2 has a CA, a client certificate and a client key.
    public func validate() throws(QsslError) {
        _ = try ContextIndex(context)
        try ATCommands.checkSuites(cipherSuites)
        switch secLevel {
        case .none: break
        case .server:
            if caCert == nil { throw .invalidArgument }
        case .serverAndClient:
            if caCert == nil || clientCert == nil || clientKey == nil { throw .invalidArgument }
        }
    }
}

/// Names of the AT+QSSLCFG settings. The first six belong to a context, the rest are global.
public enum SSLSettingKey: Int32, Equatable, Hashable, Sendable, CaseIterable {
    case sslVersion = 0
    case cipherSuite = 1
    case secLevel = 2
    case caCert = 3
    case clientCert = 4
    case clientKey = 5
    case ignoreRTCTime = 6
    case https = 7
    case httpsContext = 8
    case smtpStyle = 9
    case smtpsContext = 10

    /// The quoted name used in the command.
    public var name: String {
        switch self {
        case .sslVersion: return "sslversion"
        case .cipherSuite: return "ciphersuite"
        case .secLevel: return "seclevel"
        case .caCert: return "cacert"
        case .clientCert: return "clientcert"
        case .clientKey: return "clientkey"
        case .ignoreRTCTime: return "ignorertctime"
        case .https: return "https"
        case .httpsContext: return "httpsctxi"
        case .smtpStyle: return "smtpstyle"
        case .smtpsContext: return "smtpsctxi"
        }
    }

    /// True for settings that take a <ctxindex>.
    public var perContext: Bool { rawValue <= 5 }
}

/// A typed AT+QSSLCFG value.
public enum SSLSettingValue: Equatable, Hashable, Sendable {
    case sslVersion(SSLVersion)
    case cipherSuites([CipherSuite])
    case secLevel(SecLevel)
    /// nil: the module reports an empty name.
    case caCert(CertName?)
    case clientCert(CertName?)
    case clientKey(CertName?)
    case ignoreRTCTime(Bool)
    case https(Bool)
    /// -1 when not configured.
    case httpsContext(Int)
    case smtpStyle(SMTPStyle)
    /// -1 when not configured.
    case smtpsContext(Int)

    public var key: SSLSettingKey {
        switch self {
        case .sslVersion: return .sslVersion
        case .cipherSuites: return .cipherSuite
        case .secLevel: return .secLevel
        case .caCert: return .caCert
        case .clientCert: return .clientCert
        case .clientKey: return .clientKey
        case .ignoreRTCTime: return .ignoreRTCTime
        case .https: return .https
        case .httpsContext: return .httpsContext
        case .smtpStyle: return .smtpStyle
        case .smtpsContext: return .smtpsContext
        }
    }
}

/// TCP/IP stack state (first line of AT+QSSLSTATE).
public enum IPState: Int32, Equatable, Hashable, Sendable, CaseIterable {
    case initial = 0, start, config, ind, gprsAct, status, processing, pdpDeact
    case unknown = -1

    public init(text: String) {
        switch text {
        case "IP INITIAL": self = .initial
        case "IP START": self = .start
        case "IP CONFIG": self = .config
        case "IP IND": self = .ind
        case "IP GPRSACT": self = .gprsAct
        case "IP STATUS": self = .status
        case "IP PROCESSING": self = .processing
        case "PDP DEACT": self = .pdpDeact
        default: self = .unknown
        }
    }
}

/// Socket state in AT+QSSLSTATE.
public enum SocketStatus: Int32, Equatable, Hashable, Sendable, CaseIterable {
    case initial = 0, connecting, connected, remoteClosing, closing, closed
    case unknown = -1

    public init(text: String) {
        switch text {
        case "INITIAL": self = .initial
        case "CONNECTING": self = .connecting
        case "CONNECTED": self = .connected
        case "REMOTE CLOSING": self = .remoteClosing
        case "CLOSING": self = .closing
        case "CLOSED": self = .closed
        default: self = .unknown
        }
    }
}

/// One socket line of AT+QSSLSTATE.
public struct SocketStateEntry: Equatable, Hashable, Sendable {
    public var index: Int
    /// "TCP" or "UDP".
    public var type: String
    public var address: String
    public var port: Int
    public var status: SocketStatus
    /// True for a TCP SSL connection, false for plain TCP/UDP.
    public var isSSL: Bool
    public init(index: Int, type: String, address: String, port: Int, status: SocketStatus, isSSL: Bool) {
        self.index = index
        self.type = type
        self.address = address
        self.port = port
        self.status = status
        self.isSSL = isSSL
    }
}

/// AT+QSSLSTATE decoded.
public struct SSLStateReport: Equatable, Hashable, Sendable {
    public var ipState: IPState
    /// The raw state text ("IP STATUS").
    public var ipStateText: String
    public var sockets: [SocketStateEntry]
    public init(ipState: IPState, ipStateText: String, sockets: [SocketStateEntry]) {
        self.ipState = ipState
        self.ipStateText = ipStateText
        self.sockets = sockets
    }
}
