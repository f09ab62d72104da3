import CQSSL
import QSSLCore

/// Static text for a status code (see include/qssl.h).
@implementation @c public func qssl_strerror(_ code: Int32) -> UnsafePointer<CChar>! {
    QsslError(rawValue: code).text.utf8Start.withMemoryRebound(to: CChar.self, capacity: 1) { $0 }
}
