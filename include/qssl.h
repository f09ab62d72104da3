/*
 * qssl.h - drive the SSL / TCP stack of Quectel M10/M66/M85/M95 modules over a serial port.
 *
 * This header is the contract of libqssl.so. It is hand-written; the Swift implementation is
 * checked against it by the compiler (@implementation @c).
 *
 * Errors
 *   Every function returns QSSL_OK (0) or a negative QSSL_E* code; functions that move bytes
 *   return a count >= 0 on success. qssl_strerror(code) gives static text for a code.
 */
#ifndef QSSL_H
#define QSSL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Result codes. Closed set; byte counts are >= 0. */
enum qssl_status {
    QSSL_OK            =   0,
    QSSL_EINVAL        =  -1,  /**< bad argument; nothing was sent to the module */
    QSSL_ETIMEDOUT     =  -2,  /**< no answer within the timeout */
    QSSL_EIO           =  -3,  /**< read/write on the port failed (see qssl_errmsg for errno) */
    QSSL_EBUSY         =  -4,  /**< port already open elsewhere, or resource in use */
    QSSL_ECLOSED       =  -5,  /**< handle, socket or modem is closed */
    QSSL_EMODEM        =  -6,  /**< module answered ERROR / +CME ERROR */
    QSSL_ENOTATTACHED  =  -7,  /**< PS domain not attached (AT+CGATT?) */
    QSSL_ENOMEM        =  -8,  /**< out of memory or buffer space */
    QSSL_ENODEV        =  -9,  /**< device vanished (hang-up) */
    QSSL_ENOTSUP       = -10,  /**< not supported by the module or this build */
    QSSL_ECHECKSUM     = -11,  /**< upload size or checksum reported by the module differs */
    QSSL_ENOTREG       = -12,  /**< not registered to the packet domain (AT+CGREG?) */
    QSSL_ENOAPN        = -13,  /**< APN of the context is not set */
    QSSL_ECTXBUSY      = -14,  /**< PDP context already in use (PPP / AT+CGACT) */
    QSSL_ENOSOCK       = -15,  /**< no free socket index (0-5) */
    QSSL_ECONNECT      = -16,  /**< connection or TLS handshake failed (connect code -1) */
    QSSL_EOCCUPIED     = -17,  /**< socket index occupied (connect code -2) */
    QSSL_EPDP          = -18,  /**< PDP context was deactivated (+PDP DEACT) */
    QSSL_ERESET        = -19,  /**< module restarted (RDY); sockets are gone */
    QSSL_EAGAIN        = -20,  /**< nothing available right now */
    QSSL_EPROTO        = -21   /**< module answer could not be understood */
};

/** Static text for a status code; never NULL. */
const char *qssl_strerror(int code);

#ifdef __cplusplus
}
#endif
#endif /* QSSL_H */
