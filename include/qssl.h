/*
 * qssl.h - drive the SSL / TCP stack of Quectel M10/M66/M85/M95 modules over a serial port.
 *
 * This header is the contract of libqssl.so. It is hand-written; the Swift implementation is
 * checked against it by the compiler (@implementation @c), and a test compares the symbols
 * libqssl.so exports with the functions declared here. Link with `pkg-config --libs qssl`.
 *
 * A minimal session: the application note's example 3.1, server and client authentication with the
 * certificates and the key in the module's RAM (error checks shortened; Tests/c/example.c is the
 * same program in full):
 *
 *     qssl_modem *m;
 *     if (qssl_modem_open("/dev/ttyUSB0", NULL, &m) != QSSL_OK) return 1;
 *     qssl_cert_write(m, "RAM:ca_cert.pem", ca_pem, ca_len);
 *     qssl_cert_write(m, "RAM:client_cert.pem", cert_pem, cert_len);
 *     qssl_cert_write(m, "RAM:client_key.pem", key_pem, key_len);
 *     qssl_pdp_activate(m, "CMNET", NULL, NULL);
 *     qssl_ctx_config cfg;
 *     qssl_ctx_config_init(&cfg);                          // every cipher suite (0xFFFF)
 *     cfg.version = QSSL_TLS1_1;
 *     cfg.seclevel = QSSL_SECLEVEL_SERVER_CLIENT;
 *     strcpy(cfg.cacert, "RAM:ca_cert.pem");
 *     strcpy(cfg.clientcert, "RAM:client_cert.pem");
 *     strcpy(cfg.clientkey, "RAM:client_key.pem");
 *     qssl_ctx_configure(m, 0, &cfg);
 *     int s = qssl_open(m, 0, "116.247.104.27", 465, 90);  // socket id 0-5 or a QSSL_E* code
 *     qssl_send(m, s, "hello module", 12);
 *     char buf[1500];
 *     int n = qssl_recv(m, s, buf, sizeof buf, 5000);      // bytes, 0 = peer closed, or QSSL_E*
 *     qssl_close(m, s);
 *     qssl_cert_delete(m, "RAM:ca_cert.pem");
 *     qssl_cert_delete(m, "RAM:client_cert.pem");
 *     qssl_cert_delete(m, "RAM:client_key.pem");
 *     qssl_pdp_deactivate(m);
 *     qssl_modem_close(m);
 *
 * Server authentication alone (the note's seclevel 1) needs only the CA: QSSL_SECLEVEL_SERVER and
 * cfg.cacert.
 *
 * ERRORS
 *   Every function returns QSSL_OK (0) or a negative QSSL_E* code. Functions that move bytes
 *   return a count >= 0 on success; functions that produce text return its length (see "Text out").
 *   qssl_strerror(code) gives static text for a code. qssl_errmsg(m) describes the last failure
 *   on a handle: the command that failed, the module's +CME ERROR number, errno of the port.
 *   A bad argument (NULL pointer, id out of range, a length or capacity above INT32_MAX - which is
 *   what a negative int cast to size_t becomes -, a string that would not fit in an AT command)
 *   gives QSSL_EINVAL and nothing is sent to the module. Strings that go into AT commands (names,
 *   APN, user, password, host, qssl_at's command) are printable ASCII (0x20-0x7E; no '"' inside
 *   quoted values, 255 bytes at most): a module that reads 7 bits would take 0xA2 for '"' and 0x8D
 *   for CR. Every string argument must be valid UTF-8 (the device path too): nothing is repaired. A handle that was closed gives
 *   QSSL_ECLOSED; a pointer that was never a handle gives QSSL_EINVAL (handles are looked up in a
 *   table, never dereferenced). A socket id that is not open, or is open as the other kind (SSL vs
 *   TCP), gives QSSL_ECLOSED. No argument makes the library crash or abort.
 *
 * THREAD SAFETY
 *   Every function may be called from any thread, concurrently, on the same or different handles.
 *   Commands to one module run one at a time in the order they were made; a call blocks until its
 *   command completes or its timeout expires. qssl_modem_close() may race with other calls on the
 *   same handle: those return QSSL_ECLOSED. Each handle owns two threads: an I/O thread (it reads the
 *   port and drains received data into host buffers) and a callback thread (it calls the event and
 *   the log callback, one call at a time, in the order things happened). Callbacks never run on the
 *   caller's thread nor on the I/O thread. They MAY call any qssl function,
 *   including functions on the same handle and qssl_modem_close(). qssl_modem_close() joins every
 *   thread of the handle (a thread closing its own handle from a callback exits by itself after the
 *   callback returns), so no callback starts after qssl_modem_close() returns.
 *
 * OWNERSHIP
 *   - qssl_modem_open() gives you a handle; qssl_modem_close() frees it and everything it owns
 *     (the port, its threads, its event fd, buffered data). After that the handle value is dead:
 *     any call with it returns QSSL_ECLOSED. Handle values are never reused.
 *   - Buffers and strings you pass are borrowed for the duration of the call only.
 *   - qssl_strerror() returns static text. qssl_errmsg() returns text owned by the handle (see it).
 *   - Pointers handed to callbacks (event, log text) are valid only until the callback returns.
 *   - The fd from qssl_event_fd() belongs to the handle: poll it, never read or close it.
 *
 * VERSIONED STRUCTS
 *   Every struct starts with `uint32_t size`. Fill it with sizeof(the struct) - the *_init()
 *   functions do that and set the defaults - so later versions can append fields without breaking
 *   programs built against this header. The library reads or writes only the first `size` bytes
 *   it knows about; a size smaller than the first published version gives QSSL_EINVAL. A larger
 *   size (a program built against a newer header) is fine: the bytes past the fields this library
 *   knows are neither read nor written, and a struct the library fills gets `size` set to the
 *   bytes it filled, so such a program can tell which fields are valid. A struct that grew (qssl_modem_options
 *   in 0.3) is initialised through a macro that passes the size the program was compiled with.
 *
 * TEXT OUT
 *   Functions that copy text into (buf, cap) behave like snprintf: they write at most cap bytes
 *   including the terminating NUL (nothing if cap is 0; buf may then be NULL) and return the full
 *   length of the text. A return value >= cap means the text was truncated.
 *
 * TIMEOUTS
 *   timeout_ms > 0 waits at most that long. timeout_ms == 0: qssl_recv / qssl_tcp_recv /
 *   qssl_next_event do not wait (QSSL_EAGAIN if nothing is there); qssl_at uses the handle's
 *   default command timeout. timeout_ms < 0 waits without limit (2^31 ms) for qssl_recv / qssl_tcp_recv /
 *   qssl_next_event (they still return when the socket closes, the PDP context drops or the
 *   device goes away) and means the default for qssl_at. Every other call is bounded by the
 *   module's documented command timeouts.
 */
#ifndef QSSL_H
#define QSSL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QSSL_VERSION_MAJOR 0
#define QSSL_VERSION_MINOR 3

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
    QSSL_EPROTO        = -21,  /**< module answer could not be understood */
    /* Why qssl_modem_open() could not open the port (since 0.3; before, EACCES was QSSL_EIO and
     * ENOENT QSSL_ENODEV). qssl_open_errmsg() has the path and errno. */
    QSSL_EACCES        = -22,  /**< permission denied (not in the port's group, e.g. dialout) */
    QSSL_ENOENT        = -23,  /**< no such device: the path does not exist */
    QSSL_ENOTTY        = -24   /**< the path is a regular file or a directory, not a serial port */
};


/** An open module. Opaque; only ever used through a pointer. */
typedef struct qssl_modem qssl_modem;

#define QSSL_MAX_SOCKETS       6    /**< socket ids are 0-5, shared by SSL and TCP sockets */
#define QSSL_MAX_CONTEXTS      6    /**< SSL contexts are 0-5 */
#define QSSL_MAX_CIPHERSUITES  6
#define QSSL_NAME_MAX          96   /**< bytes for a certificate name, NUL included */
#define QSSL_EVENT_TEXT_MAX    128
#define QSSL_MAX_SEND_CHUNK    1460 /**< AT+QSSLSEND limit; larger sends are split by the library */

/* ------------------------------------------------------------------------------------------ */
/* Library and errors                                                                          */

/** Static text for a status code; never NULL. Unknown codes give "unknown error". */
const char *qssl_strerror(int code);

/** Library version as static text, "MAJOR.MINOR": QSSL_VERSION_MAJOR and QSSL_VERSION_MINOR of the
 *  header the library was built with. */
const char *qssl_version(void);

/**
 * The last failure on this handle, e.g.
 *   "module returned an error: AT+QSECDEL="RAM:x": +CME ERROR: 50"
 *   "I/O error on the port: write: errno 5"
 * Never NULL: "no error" before any failure, static text for a NULL, closed or unknown handle.
 * The text is owned by the handle. It stays readable until 8 more failures have happened on the
 * handle (the handle keeps the last 8 texts) or qssl_modem_close(); a program that calls the
 * library from several threads should use qssl_errmsg_copy(), a copy taken under the handle's lock.
 */
const char *qssl_errmsg(qssl_modem *m);

/** Copies qssl_errmsg(m) into buf ("Text out" rules). QSSL_EINVAL / QSSL_ECLOSED for bad handles. */
int qssl_errmsg_copy(qssl_modem *m, char *buf, size_t cap);

/* ------------------------------------------------------------------------------------------ */
/* Callbacks                                                                                   */

/** Direction of an AT trace line. */
enum qssl_log_direction {
    QSSL_LOG_TO_MODULE   = 0,  /**< a command or payload the host wrote */
    QSSL_LOG_FROM_MODULE = 1   /**< a line or payload the module sent */
};

/**
 * AT trace: one command, response line or payload summary per call. Certificate and key bytes
 * written by qssl_cert_write() never appear: the trace shows "<N bytes redacted>" instead.
 * `text` is NUL-terminated and valid only during the call. Runs on the handle's callback thread; while
 * the callback is slow, lines beyond 4096 waiting are dropped.
 */
typedef void (*qssl_log_fn)(qssl_modem *m, int direction, const char *text, void *user);

/** Kinds of events (qssl_event.type). */
enum qssl_event_type {
    QSSL_EVENT_NONE             = 0,
    QSSL_EVENT_DATA             = 1,  /**< socket `socket` has bytes waiting (sent when its buffer stops being empty) */
    QSSL_EVENT_CLOSED           = 2,  /**< the peer closed socket `socket`; bytes already received stay readable */
    QSSL_EVENT_PDP_DEACT        = 3,  /**< the PDP context dropped (+PDP DEACT); every socket failed with QSSL_EPDP */
    QSSL_EVENT_RESET            = 4,  /**< the module restarted (RDY); sockets and RAM files are gone */
    QSSL_EVENT_DEVICE_GONE      = 5,  /**< the port hung up; calls fail with QSSL_ENODEV. Opened by path: only
                                          qssl_modem_close() is useful now; opened by identity: see REATTACHED */
    QSSL_EVENT_PDP_ACTIVATED    = 6,  /**< the PDP context came up */
    QSSL_EVENT_SUPERVISOR_REBOOT = 7, /**< activation kept failing; the library rebooted the module (note 1.4.1) */
    QSSL_EVENT_CONFIG_REAPPLIED = 8,  /**< settings restored after a restart; `value` 1 = all OK, 0 = a step failed */
    /* --- follow (0.3) --- */
    QSSL_EVENT_REATTACHED       = 9   /**< a handle opened by "imei:"/"usb:" found its modem again after
                                          QSSL_EVENT_DEVICE_GONE (any tty name), synced with it and works again;
                                          with reapply_after_reset, QSSL_EVENT_CONFIG_REAPPLIED follows (0.3) */
};

/** Kinds of sockets. */
enum qssl_socket_kind {
    QSSL_SOCKET_SSL = 0,  /**< opened with qssl_open (AT+QSSLOPEN) */
    QSSL_SOCKET_TCP = 1   /**< opened with qssl_tcp_open (AT+QIOPEN) */
};

/** One event. Set `size` = sizeof(qssl_event) before qssl_next_event(). */
typedef struct qssl_event {
    uint32_t size;
    int32_t  type;      /**< enum qssl_event_type */
    int32_t  socket;    /**< socket id 0-5 for DATA / CLOSED, else -1 */
    int32_t  kind;      /**< enum qssl_socket_kind for DATA / CLOSED, else -1 */
    int32_t  value;     /**< CONFIG_REAPPLIED: 1 ok / 0 failed; else 0 */
    char     text[QSSL_EVENT_TEXT_MAX]; /**< NUL-terminated short description, e.g. "socket 1: data ready" */
} qssl_event;

/**
 * Event callback. `event` is valid only during the call. Runs on the handle's callback thread;
 * may call any qssl function (for instance qssl_recv(m, event->socket, buf, cap, 0)).
 */
typedef void (*qssl_event_fn)(qssl_modem *m, const qssl_event *event, void *user);

/* ------------------------------------------------------------------------------------------ */
/* Opening and closing                                                                         */

/** Options for qssl_modem_open(). Fill with qssl_modem_options_init(), then change fields. */
typedef struct qssl_modem_options {
    uint32_t    size;                /**< sizeof(qssl_modem_options) */
    int32_t     baud;                /**< 115200; one of the standard termios rates */
    int32_t     rtscts;              /**< 0: no flow control (module default); 1: RTS/CTS */
    int32_t     open_timeout_ms;     /**< start-up sync ("AT" until OK, autobaud); default 5000 */
    int32_t     command_timeout_ms;  /**< default for qssl_at(timeout 0) and simple commands; default 5000 */
    qssl_log_fn log;                 /**< AT trace of every command after the start-up sync, or NULL */
    void       *log_user;            /**< passed to `log` */
    /* Since 0.3. A size that ends before here (a program built against 0.2) means the defaults. */
    int32_t     reapply_after_reset; /**< 1: after the module restarts (RDY), restore echo off and +CMEE, the RAM
                                          files uploaded through this handle (kept in memory for it), the PDP
                                          context and the SSL contexts, then queue QSSL_EVENT_CONFIG_REAPPLIED;
                                          default 0 */
    const char *supervisor_apn;      /**< non-NULL: run the note's PDP supervisor (section 1.4.1) from the open
                                          on: whenever the context is down, activate it with this APN (as
                                          qssl_pdp_activate) every supervisor_interval_ms; after
                                          supervisor_attempts failed rounds send AT+CFUN=1,1
                                          (QSSL_EVENT_SUPERVISOR_REBOOT) and wait up to 30 s for RDY;
                                          QSSL_EVENT_PDP_ACTIVATED each time it comes up. A handle opened by
                                          identity (imei:/usb:) keeps it running across a re-attach: it
                                          activates the context on the new port at once. Default NULL (off) */
    const char *supervisor_user;     /**< NULL or "" for none; strings are copied during qssl_modem_open */
    const char *supervisor_password; /**< NULL or "" for none */
    int32_t     supervisor_interval_ms; /**< time between checks; default 600000 (the note's 10 minutes) */
    int32_t     supervisor_attempts; /**< failed rounds before the reboot; default 3 */
} qssl_modem_options;

/** Sets opts->size and the defaults. QSSL_EINVAL if opts is NULL. Programs compiled against this header call
 *  qssl_modem_options_init_size() through the macro below; the function itself fills the fields of 0.2 alone
 *  (size = their bytes): that is what programs built against 0.2, whose struct is that long, expect of it. */
int qssl_modem_options_init(qssl_modem_options *opts);

/**
 * Sets the first `size` bytes of *opts to the defaults: every field this library knows that fits, and
 * opts->size to the bytes it set. `size` is what the caller's struct holds, sizeof(qssl_modem_options) of the
 * header it was compiled with; QSSL_EINVAL for NULL or a size below the 0.2 struct. Since 0.3. Callers that
 * cannot use the macro (other languages) call this with the size of their struct.
 */
int qssl_modem_options_init_size(qssl_modem_options *opts, size_t size);

/* The init a program gets: sized by the header it was compiled with, so a later library never writes past it. */
#define qssl_modem_options_init(opts) qssl_modem_options_init_size((opts), sizeof *(opts))

/**
 * Opens the serial port `device` (raw 8N1, exclusive: a second opener gets QSSL_EBUSY), starts
 * the handle's I/O thread and syncs with the module (AT, ATE0, AT+CMEE=1). `options` may be NULL
 * for the defaults. *out is set to NULL first and to the new handle on QSSL_OK.
 * A port that cannot be opened gives QSSL_EACCES, QSSL_ENOENT, QSSL_ENOTTY, QSSL_EBUSY, QSSL_ENODEV
 * (ENXIO/ENODEV: the driver has no device behind the node) or QSSL_EIO; qssl_open_errmsg() tells more.
 */
int qssl_modem_open(const char *device, const qssl_modem_options *options, qssl_modem **out);

/**
 * Why the calling thread's last failed qssl_modem_open() failed, with the path and errno, e.g.
 * "permission denied: /dev/ttyUSB0 (errno 13)", into buf ("Text out" rules). "no error" if this thread
 * has no failed open. Per thread, so concurrent opens do not mix their reasons. Since 0.3.
 */
int qssl_open_errmsg(char *buf, size_t cap);

/**
 * Closes the sockets still open on the module (best effort, at most 1 s each, so the next user
 * finds the indexes free; a transparent socket in data mode is first brought back to command mode,
 * which takes a little over a second), stops the handle's threads, closes the port and frees the
 * handle.
 * Calls racing with this one return QSSL_ECLOSED. QSSL_OK on the first call, QSSL_ECLOSED on a
 * second, QSSL_EINVAL for NULL or a pointer that was never a handle.
 */
int qssl_modem_close(qssl_modem *m);

/**
 * Raw escape hatch: sends `cmd` (a full command such as "AT+CSQ", without CR; no CR/LF inside)
 * and copies the intermediate response lines, each ended by "\n", into buf ("Text out" rules).
 * Returns the text length, QSSL_EMODEM on ERROR / +CME ERROR (qssl_errmsg has the code), or
 * another code. timeout_ms <= 0 uses the default command timeout. Commands that change the
 * state the library tracks (AT+QSSLRECV, AT+QSSLCLOSE, ...) confuse it: use the typed calls.
 */
int qssl_at(qssl_modem *m, const char *cmd, char *buf, size_t cap, int timeout_ms);

/* ------------------------------------------------------------------------------------------ */
/* Certificates and keys (AT+QSECWRITE / AT+QSECREAD / AT+QSECDEL)                             */

/**
 * Uploads `len` bytes as `name`: "RAM:<file>" (1-32768 bytes) or "NVRAM:CA0" / "NVRAM:CA1" /
 * "NVRAM:CC0" / "NVRAM:CK0" (1-2025 bytes). An existing file of that name is replaced. The size
 * and checksum the module reports are compared with the data: QSSL_ECHECKSUM if they differ.
 * The bytes never appear in the log callback.
 */
int qssl_cert_write(qssl_modem *m, const char *name, const void *data, size_t len);

/**
 * Upload progress: `sent` of `total` bytes have been written to the port. Called with sent 0 first,
 * then as the bytes go out, and with sent == total once the module has confirmed size and checksum
 * (a failed upload never gets that last call). Unlike the event and log callbacks, it runs on the
 * calling thread (first and last call) and on the handle's I/O thread (the calls in between): keep it
 * short, and call no qssl function on the same handle from it (that would wait for the I/O thread).
 */
typedef void (*qssl_progress_fn)(qssl_modem *m, size_t sent, size_t total, void *user);

/** As qssl_cert_write, reporting progress to `fn` (NULL: none). Since 0.3. */
int qssl_cert_write_progress(qssl_modem *m, const char *name, const void *data, size_t len,
                             qssl_progress_fn fn, void *user);

/** 1 if `name` is stored and intact (<good> = 1), 0 if stored but damaged, QSSL_EMODEM if the
 *  module has no such file or rejects the name, another code on failure. */
int qssl_cert_check(qssl_modem *m, const char *name);

/** Deletes `name`. QSSL_EMODEM if the module refuses (e.g. no such file). */
int qssl_cert_delete(qssl_modem *m, const char *name);

/* ------------------------------------------------------------------------------------------ */
/* Packet data (AT+QIFGCNT / AT+QICSGP / AT+QIREGAPP / AT+QIACT / AT+QILOCIP / AT+QIDEACT)       */

/**
 * Sets the APN (user and password may be NULL for none), registers to the TCP/IP stack,
 * activates the PDP context and enables multiple sessions (AT+QIMUX=1). If activation fails the
 * library checks the note's list and returns the specific cause: QSSL_ENOTATTACHED,
 * QSSL_ENOTREG, QSSL_ENOAPN, QSSL_ECTXBUSY, or QSSL_EMODEM.
 */
int qssl_pdp_activate(qssl_modem *m, const char *apn, const char *user, const char *password);

/** The local IP address (AT+QILOCIP) into buf ("Text out" rules): returns its length. */
int qssl_pdp_local_ip(qssl_modem *m, char *buf, size_t cap);

/** Deactivates the PDP context (AT+QIDEACT); every socket is gone afterwards. */
int qssl_pdp_deactivate(qssl_modem *m);

/* ------------------------------------------------------------------------------------------ */
/* SSL contexts (AT+QSSLCFG)                                                                    */

/** SSL versions (qssl_ctx_config.version). */
enum qssl_ssl_version {
    QSSL_SSL3_0 = 0, QSSL_TLS1_0 = 1, QSSL_TLS1_1 = 2, QSSL_TLS1_2 = 3, QSSL_SSL_ALL = 4
};

/** Authentication modes (qssl_ctx_config.seclevel). */
enum qssl_seclevel {
    QSSL_SECLEVEL_NONE          = 0,  /**< no authentication */
    QSSL_SECLEVEL_SERVER        = 1,  /**< server authentication: needs cacert */
    QSSL_SECLEVEL_SERVER_CLIENT = 2   /**< server and client: needs cacert, clientcert, clientkey */
};

/** Cipher suite codes (the note's table). QSSL_CIPHER_ALL must be the only entry when used. */
enum qssl_ciphersuite {
    QSSL_CIPHER_RSA_AES_256_CBC_SHA    = 0x0035,
    QSSL_CIPHER_RSA_AES_128_CBC_SHA    = 0x002F,
    QSSL_CIPHER_RSA_RC4_128_SHA        = 0x0005,
    QSSL_CIPHER_RSA_RC4_128_MD5        = 0x0004,
    QSSL_CIPHER_RSA_3DES_EDE_CBC_SHA   = 0x000A,
    QSSL_CIPHER_RSA_AES_256_CBC_SHA256 = 0x003D,
    QSSL_CIPHER_ALL                    = 0xFFFF
};

/** One SSL context's settings. Fill with qssl_ctx_config_init(), then change fields. */
typedef struct qssl_ctx_config {
    uint32_t size;                                  /**< sizeof(qssl_ctx_config) */
    int32_t  version;                               /**< enum qssl_ssl_version; default QSSL_SSL_ALL */
    int32_t  seclevel;                              /**< enum qssl_seclevel; default NONE */
    uint32_t n_ciphersuites;                        /**< 1-6 entries used; default 1 */
    uint16_t ciphersuites[QSSL_MAX_CIPHERSUITES];   /**< enum qssl_ciphersuite; default {QSSL_CIPHER_ALL} */
    char     cacert[QSSL_NAME_MAX];                 /**< "RAM:ca.pem" / "NVRAM:CA0", or "" for none */
    char     clientcert[QSSL_NAME_MAX];             /**< "" for none */
    char     clientkey[QSSL_NAME_MAX];              /**< "" for none */
} qssl_ctx_config;

/** Sets config->size and the defaults. QSSL_EINVAL if config is NULL. */
int qssl_ctx_config_init(qssl_ctx_config *config);

/**
 * Writes context `ctx` (0-5): version, cipher suites, seclevel, and every non-empty certificate
 * name. QSSL_EINVAL (nothing sent) for a bad value or a seclevel whose names are missing.
 */
int qssl_ctx_configure(qssl_modem *m, int ctx, const qssl_ctx_config *config);

/** Reads context `ctx` (0-5) back from the module into *out (set out->size first). */
int qssl_ctx_query(qssl_modem *m, int ctx, qssl_ctx_config *out);

/** The AT+QSSLCFG settings that belong to no context (the note's "ignorertctime", "https", "httpsctxi",
 *  "smtpstyle", "smtpsctxi"). Since 0.3. */
enum qssl_ssl_setting {
    QSSL_SETTING_IGNORE_RTC_TIME = 6,  /**< 1: ignore the validity period (the module's clock); 0/1 */
    QSSL_SETTING_HTTPS           = 7,  /**< 1: HTTPS through the module's HTTP commands; 0/1 */
    QSSL_SETTING_HTTPS_CTX       = 8,  /**< SSL context for HTTPS, 0-5 (-1 when read back unset) */
    QSSL_SETTING_SMTP_STYLE      = 9,  /**< 0 plain SMTP, 1 SMTPS, 2 STARTTLS */
    QSSL_SETTING_SMTPS_CTX       = 10  /**< SSL context for SMTPS, 0-5 (-1 when read back unset) */
};

/** Sets a global setting (enum qssl_ssl_setting). QSSL_EINVAL (nothing sent) for an unknown setting or a
 *  value out of its range. Re-applied after a restart like the contexts. Since 0.3. */
int qssl_ssl_setting_set(qssl_modem *m, int setting, int value);

/** Reads a global setting back into *value. Since 0.3. */
int qssl_ssl_setting_get(qssl_modem *m, int setting, int *value);

/* ------------------------------------------------------------------------------------------ */
/* SSL sockets (AT+QSSLOPEN / AT+QSSLSEND / AT+QSSLRECV / AT+QSSLCLOSE)                         */

/**
 * Opens an SSL connection on context `ctx` to host:port (port 1-65535) and waits for the
 * handshake, at most `timeout_s` seconds (10-300; 0 means the module default, 90; else QSSL_EINVAL).
 * Returns the socket id (0-5, picked by the library), or QSSL_ENOSOCK, QSSL_ECONNECT,
 * QSSL_EOCCUPIED, QSSL_ETIMEDOUT, ...
 */
int qssl_open(qssl_modem *m, int ctx, const char *host, int port, int timeout_s);

/**
 * Sends `len` bytes (split into chunks of at most 1460, retried with back-off on SEND FAIL).
 * Returns the number of bytes the module accepted: `len` on success, fewer if a later chunk
 * failed (the failure is then in qssl_errmsg), or a code if nothing was sent. len 0 returns 0.
 * len > INT32_MAX gives QSSL_EINVAL. QSSL_ECLOSED once the peer has closed the connection.
 */
int qssl_send(qssl_modem *m, int id, const void *buf, size_t len);

/**
 * As qssl_send, but gives up after timeout_ms (> 0; 0 means qssl_send's own deadline, 30 s or about
 * 5 bytes per ms for large sends; < 0 waits without limit, 2^31 ms). Returns the bytes the module
 * accepted before the deadline (fewer than len if time ran out after a part went), or QSSL_ETIMEDOUT
 * if none went (the module's buffer stayed full). Since 0.2.
 */
int qssl_send_timeout(qssl_modem *m, int id, const void *buf, size_t len, int timeout_ms);

/**
 * Copies up to `cap` received bytes into buf. Returns the count (> 0), 0 when the peer closed
 * the connection and every byte was read (end of stream), QSSL_EAGAIN (timeout_ms 0) or
 * QSSL_ETIMEDOUT when nothing arrived, QSSL_EPDP / QSSL_ERESET / QSSL_ENODEV when the link
 * went away. cap 0 or cap > INT32_MAX gives QSSL_EINVAL.
 */
int qssl_recv(qssl_modem *m, int id, void *buf, size_t cap, int timeout_ms);

/**
 * Closes SSL socket `id` (AT+QSSLCLOSE) and drops its unread bytes. A socket the peer closed keeps
 * its id until this call releases it (QSSL_OK, no command sent). QSSL_ECLOSED if `id` is not open
 * or was already closed with this call. A transparent socket in data mode is first taken out of it
 * (see qssl_open_transparent); if the module answers no "+++", QSSL_ETIMEDOUT and the socket stays
 * open in data mode (no AT+QSSLCLOSE is sent: the module would forward it to the peer).
 */
int qssl_close(qssl_modem *m, int id);

/* ------------------------------------------------------------------------------------------ */
/* SSL transparent mode (AT+QSSLOPEN connectmode 1, "+++", ATO)                                 */

/**
 * As qssl_open (same arguments, checks and codes), but in transparent mode: once connected the
 * serial port is a byte pipe for this socket. qssl_send writes to the pipe, qssl_recv reads what
 * the peer sent, qssl_close leaves data mode and closes. Returns the socket id (0-5) or a QSSL_E* code.
 * Leaving data mode ("+++"): the module needs a second of silence on the line before it. The library
 * counts that second from when the last byte has crossed the line (the driver's queue is empty and
 * the bytes' line time at the configured baud has passed), not from when write() returned, so a close
 * or suspend right after a large qssl_send waits for the data to drain first: about
 * 1.2 s + (bytes still queued, at most 64 KiB) * 10 / baud. It then waits for the module's OK; a "+++"
 * that brings no OK (the module took it as data) is tried again after another guard time, three times
 * in all, and is never followed by an AT command, which the module would forward to the peer.
 * While the socket is in data mode every call that needs an AT command (qssl_at, qssl_state, the
 * certificate, PDP and context calls, opening any socket, sending on another socket) returns
 * QSSL_EBUSY; qssl_transparent_suspend frees the port without closing the connection. So at most
 * one transparent socket is in data mode at a time.
 * The module signals the end of the connection by leaving data mode and printing a line: the note's
 * `+QSSLURC: "closed",<id>`, `CLOSED` (the M-series TCP style), `NO CARRIER` (newer firmware) when the
 * peer closed, `+PDP DEACT` when the context dropped, `RDY` after a restart. qssl_recv then returns 0
 * (or QSSL_EPDP / QSSL_ERESET) after the bytes before it, and QSSL_EVENT_CLOSED is queued.
 * Limits: the library takes such a line for the module's only when the port then stays quiet (200 ms). A peer that sends exactly such a line and then pauses
 * ends the stream early (qssl_recv returns 0 after the bytes before it). Bytes that could be the start
 * of such a line reach qssl_recv up to 200 ms late.
 */
int qssl_open_transparent(qssl_modem *m, int ctx, const char *host, int port, int timeout_s);

/**
 * Leaves data mode of transparent socket `id` without closing the connection ("+++" with a second
 * of silence before it, so the call takes over a second): the port takes commands again, what the
 * peer sends waits in the module, and qssl_send on `id` returns QSSL_EBUSY until
 * qssl_transparent_resume. qssl_recv still returns bytes received before the call.
 * QSSL_EINVAL for an id out of 0-5 or a socket not opened with qssl_open_transparent (nothing sent),
 * QSSL_ECLOSED if `id` is not open or its connection already ended, QSSL_EBUSY if it is already
 * suspended, QSSL_ETIMEDOUT if the module answered none of three "+++" (see qssl_open_transparent): the
 * socket is still in data mode, nothing else was sent; call again, or qssl_close.
 */
int qssl_transparent_suspend(qssl_modem *m, int id);

/**
 * Returns suspended transparent socket `id` to data mode (ATO), waiting at most timeout_ms for the
 * module's CONNECT (0 means 5000; negative or above 300000 gives QSSL_EINVAL). The bytes the peer
 * sent meanwhile follow. QSSL_EINVAL for an id out of 0-5 or a socket that is not suspended
 * (nothing sent), QSSL_ECLOSED if `id` is not open or the connection ended meanwhile, QSSL_EBUSY if
 * another socket is in data mode, QSSL_EMODEM if the module refused.
 */
int qssl_transparent_resume(qssl_modem *m, int id, int timeout_ms);

/* ------------------------------------------------------------------------------------------ */
/* State (AT+QSSLSTATE)                                                                        */

/** TCP/IP stack states (qssl_state_info.ip_state). */
enum qssl_ip_state {
    QSSL_IP_UNKNOWN = -1,
    QSSL_IP_INITIAL = 0, QSSL_IP_START, QSSL_IP_CONFIG, QSSL_IP_IND, QSSL_IP_GPRSACT,
    QSSL_IP_STATUS, QSSL_IP_PROCESSING, QSSL_IP_PDP_DEACT
};

/** Socket states (qssl_socket_info.status). */
enum qssl_socket_status {
    QSSL_SOCK_UNKNOWN = -1,
    QSSL_SOCK_INITIAL = 0, QSSL_SOCK_CONNECTING, QSSL_SOCK_CONNECTED, QSSL_SOCK_REMOTE_CLOSING,
    QSSL_SOCK_CLOSING, QSSL_SOCK_CLOSED
};

/** One socket line of AT+QSSLSTATE. Only found inside qssl_state_info; `size` is set by the library. */
typedef struct qssl_socket_info {
    uint32_t size;
    int32_t  id;          /**< socket index 0-5 */
    int32_t  ssl;         /**< 1: TCP SSL connection, 0: plain TCP/UDP */
    int32_t  status;      /**< enum qssl_socket_status */
    int32_t  port;
    char     type[8];     /**< "TCP" or "UDP" */
    char     address[64];
} qssl_socket_info;

/** What AT+QSSLSTATE reports. Set `size` = sizeof(qssl_state_info) before qssl_state(). */
typedef struct qssl_state_info {
    uint32_t         size;
    int32_t          ip_state;          /**< enum qssl_ip_state */
    char             ip_state_text[32]; /**< as the module wrote it, e.g. "IP STATUS" */
    int32_t          n_sockets;         /**< entries used in sockets[] */
    qssl_socket_info sockets[QSSL_MAX_SOCKETS];
} qssl_state_info;

/** Queries AT+QSSLSTATE into *out. */
int qssl_state(qssl_modem *m, qssl_state_info *out);

/* ------------------------------------------------------------------------------------------ */
/* Plain TCP sockets beside SSL (AT+QIOPEN / AT+QISEND / AT+QIRD / AT+QICLOSE)                  */

/** Opens a TCP connection, waiting at most timeout_s seconds (1-300; 0 means 90; else QSSL_EINVAL)
 *  for CONNECT OK; returns its socket id (0-5, distinct from every SSL socket's). */
int qssl_tcp_open(qssl_modem *m, const char *host, int port, int timeout_s);
/** As qssl_send, for a TCP socket. */
int qssl_tcp_send(qssl_modem *m, int id, const void *buf, size_t len);
/** As qssl_send_timeout, for a TCP socket. Since 0.2. */
int qssl_tcp_send_timeout(qssl_modem *m, int id, const void *buf, size_t len, int timeout_ms);
/** As qssl_recv, for a TCP socket. */
int qssl_tcp_recv(qssl_modem *m, int id, void *buf, size_t cap, int timeout_ms);
/** As qssl_close, for a TCP socket. */
int qssl_tcp_close(qssl_modem *m, int id);

/* ------------------------------------------------------------------------------------------ */
/* Events                                                                                      */

/**
 * An fd that polls readable (POLLIN) while events are queued for qssl_next_event(). Owned by the
 * handle: do not read or close it; it is closed by qssl_modem_close().
 */
int qssl_event_fd(qssl_modem *m);

/**
 * An fd that polls readable (POLLIN) while qssl_recv / qssl_tcp_recv on socket `id` (0-5) would not
 * block: bytes are buffered, the stream ended, or the socket failed (PDP loss, reset, device gone). Lets
 * an event loop watch each socket of one modem on its own (poll, epoll, Python's selectors and asyncio).
 * There is one fd per socket id for the handle's lifetime: a later socket on the same id uses the same
 * fd, and an id with no open socket never polls readable. Owned by the handle: do not read or close
 * it; qssl_modem_close() closes it. QSSL_EINVAL for an id out of 0-5. Since 0.2.
 */
int qssl_socket_fd(qssl_modem *m, int id);

/**
 * Takes the oldest queued event into *event (set event->size first). QSSL_OK, QSSL_EAGAIN
 * (timeout_ms 0, none queued), QSSL_ETIMEDOUT, QSSL_ECLOSED (the handle was closed meanwhile).
 * The queue holds the newest 1024 events; older ones are dropped.
 */
int qssl_next_event(qssl_modem *m, qssl_event *event, int timeout_ms);

/**
 * Also delivers every event to `fn` (on the callback thread), in order; NULL removes it. The
 * queue of qssl_next_event() is filled either way (a program using only the callback may leave it:
 * it is bounded). After this call returns with NULL, at most a callback already running finishes.
 */
int qssl_set_event_callback(qssl_modem *m, qssl_event_fn fn, void *user);

/** Sets or (fn NULL) removes the AT trace callback; see qssl_log_fn. */
int qssl_set_log_callback(qssl_modem *m, qssl_log_fn fn, void *user);


/* ========================================================================================== */
/* HOT-PLUG (since 0.3): finding modems with libudev, following them as they come and go       */
/*
 * qssl looks at every tty through libudev and walks to its USB interface and device. A tty is a
 * *candidate* when it is the AT interface of a Quectel USB modem (an id table: 2c7c:0125 EC25 -> 02,
 * ...) or a USB-UART bridge that may carry an M10/M66/M85/M95 (FTDI 0403:6001/6015, CP210x 10c4:ea60,
 * CH340 1a86:7523, PL2303 067b:2303). A modem's other interfaces (DM, NMEA, PPP) and board UARTs are
 * QSSL_DEVICE_OTHER. A bridge says nothing about what is behind it: the probe asks (ATI, AT+GSN).
 *
 * Identity: qssl_modem_open() also takes "imei:<15 digits>" (the candidates are probed until one
 * answers that IMEI; busy ports are skipped) and "usb:<path>" such as "usb:1-1.3" (the candidate on
 * that USB port); QSSL_ENODEV when none matches.
 * Such a handle follows its modem (0.3): when the port vanishes, waiters wake and calls fail fast with
 * QSSL_ENODEV (QSSL_EVENT_DEVICE_GONE, sockets lost); when the same identity appears again, on any tty name,
 * a thread of the handle (a udev monitor; candidates probed as at open) re-opens it, runs the start-up
 * sync and queues QSSL_EVENT_REATTACHED; calls work again, old sockets stay failed (close them), and with
 * reapply_after_reset the PDP/SSL configuration and RAM files are restored as after a restart. A handle
 * opened by a plain path stays on that path.
 *
 * Every string field below is NUL-terminated; a longer value is cut to fit.
 */

#define QSSL_DEVICE_PATH_MAX 256
#define QSSL_DEVICE_TEXT_MAX 64

/** qssl_device.kind */
enum qssl_device_kind {
    QSSL_DEVICE_OTHER           = 0,  /**< not a candidate (listed only with QSSL_DEVICES_ALL) */
    QSSL_DEVICE_QUECTEL_USB     = 1,  /**< the AT interface of a Quectel USB modem */
    QSSL_DEVICE_USB_UART_BRIDGE = 2   /**< a USB-UART bridge: a module may be behind it */
};

/** qssl_device.probe */
enum qssl_probe_status {
    QSSL_PROBE_NONE       = 0,  /**< not probed */
    QSSL_PROBE_QUECTEL    = 1,  /**< a Quectel answered: model, revision, imei are set */
    QSSL_PROBE_NO_QUECTEL = 2,  /**< no answer within the time, or not a Quectel's */
    QSSL_PROBE_BUSY       = 3,  /**< another program holds the port; it was left alone */
    QSSL_PROBE_FAILED     = 4   /**< the port could not be opened (gone, permissions) */
};

/** One tty. Filled by the library; `size` tells how many bytes it filled. */
typedef struct qssl_device {
    uint32_t size;
    int32_t  kind;                             /**< enum qssl_device_kind */
    int32_t  vid, pid;                         /**< USB ids of the device; 0 off USB */
    int32_t  interface;                        /**< bInterfaceNumber of its USB interface; -1 off USB */
    int32_t  probe;                            /**< enum qssl_probe_status */
    char     path[QSSL_DEVICE_PATH_MAX];       /**< device node, "/dev/ttyUSB2" */
    char     by_id[QSSL_DEVICE_PATH_MAX];      /**< "/dev/serial/by-id/..." when udevd made one, else "" */
    char     syspath[QSSL_DEVICE_PATH_MAX];    /**< sysfs path of the tty */
    char     usb_path[32];                     /**< USB port, "1-1.3"; "" off USB */
    char     driver[32];                       /**< driver of the USB interface: "option", "ftdi_sio", ... */
    char     manufacturer[QSSL_DEVICE_TEXT_MAX];
    char     product[QSSL_DEVICE_TEXT_MAX];
    char     serial[QSSL_DEVICE_TEXT_MAX];     /**< USB serial number string */
    char     model[QSSL_DEVICE_TEXT_MAX];      /**< probe: "M66", "EC25", ... */
    char     revision[QSSL_DEVICE_TEXT_MAX];   /**< probe: "M66FAR01A12" */
    char     imei[16];                         /**< probe: 15 digits, or "" */
} qssl_device;

#define QSSL_DEVICES_ALL   1u  /**< every tty, not only candidates */
#define QSSL_DEVICES_PROBE 2u  /**< qssl_devices(): probe every candidate (at most probe_timeout_ms each) */

/** Options of qssl_devices() / qssl_probe() / qssl_monitor_open(). Fill with qssl_devices_options_init(). */
typedef struct qssl_devices_options {
    uint32_t size;
    uint32_t flags;              /**< QSSL_DEVICES_* */
    int32_t  baud;               /**< probe line speed; 115200 */
    int32_t  probe_timeout_ms;   /**< per port; 2000 */
    int32_t  source;             /**< monitor only: enum qssl_monitor_source; QSSL_MONITOR_AUTO */
} qssl_devices_options;

/** Sets opts->size and the defaults. QSSL_EINVAL if opts is NULL. */
int qssl_devices_options_init(qssl_devices_options *opts);

/**
 * Snapshot of the ttys present now (candidates, or all with QSSL_DEVICES_ALL), sorted by path.
 * *out gets a NULL-terminated array owned by the caller: free it with qssl_devices_free(). Returns the
 * count (>= 0) or a code. With QSSL_DEVICES_PROBE each candidate is probed (see qssl_probe); a busy
 * port is reported, not waited for. `opts` may be NULL.
 */
int qssl_devices(const qssl_devices_options *opts, qssl_device ***out);

/** Frees a list from qssl_devices() (NULL is fine). */
void qssl_devices_free(qssl_device **list);

/**
 * Probes the port `path`: opens it exclusively, "AT" with the autobaud retries, ATI, and AT+GSN when a
 * Quectel answers; gives up after opts->probe_timeout_ms. Fills *out (set out->size first): the udev
 * details when libudev knows the tty, and `probe` / model / revision / imei. QSSL_OK when the probe
 * ran (out->probe tells what it found), QSSL_EINVAL for bad arguments.
 */
int qssl_probe(const char *path, const qssl_devices_options *opts, qssl_device *out);

/**
 * Adds a row to the id table (or replaces the row of vid:pid): kind QSSL_DEVICE_QUECTEL_USB with the
 * bInterfaceNumber of its AT port, QSSL_DEVICE_USB_UART_BRIDGE (at_interface ignored), or
 * QSSL_DEVICE_OTHER to forget vid:pid. Process-wide; later enumerations and events use it.
 */
int qssl_usb_id_add(int vid, int pid, int kind, int at_interface);

/** A udev monitor. Opaque; used through a pointer. */
typedef struct qssl_monitor qssl_monitor;

/** Where monitor events come from (qssl_devices_options.source, qssl_monitor_source()). */
enum qssl_monitor_source {
    QSSL_MONITOR_AUTO   = 0,  /**< udev when udevd runs (/run/udev/control exists), else kernel */
    QSSL_MONITOR_UDEV   = 1,  /**< udevd's events, after its rules (by-id links exist) */
    QSSL_MONITOR_KERNEL = 2   /**< the kernel's uevents (no udevd: many router images); no by-id links */
};

/** qssl_device_event.action */
enum qssl_device_action { QSSL_DEVICE_ADDED = 1, QSSL_DEVICE_REMOVED = 2 };

/** One add or remove. Set `size` = sizeof(qssl_device_event) before qssl_monitor_next(). */
typedef struct qssl_device_event {
    uint32_t    size;
    int32_t     action;   /**< enum qssl_device_action */
    qssl_device device;   /**< for a removal: the details read when it was added (sysfs is gone now) */
} qssl_device_event;

/**
 * Starts watching ttys come and go (candidates, or all with QSSL_DEVICES_ALL). Events from the
 * moment this returns are seen; the ttys present then are known (their removal is reported with
 * details) but not reported as added: list them with qssl_devices(). `opts` may be NULL.
 */
int qssl_monitor_open(qssl_monitor **out, const qssl_devices_options *opts);

/** The source in use: QSSL_MONITOR_UDEV or QSSL_MONITOR_KERNEL, or a code for a bad handle. */
int qssl_monitor_source(qssl_monitor *mon);

/** An fd that polls readable when a uevent came (possibly one that is filtered out: then
 *  qssl_monitor_next(timeout 0) gives QSSL_EAGAIN). Owned by the monitor: do not read or close it. */
int qssl_monitor_fd(qssl_monitor *mon);

/** The next add/remove into *event. QSSL_OK, QSSL_EAGAIN (timeout_ms 0), QSSL_ETIMEDOUT, QSSL_ECLOSED
 *  (closed meanwhile, from another thread). timeout_ms < 0 waits without limit. */
int qssl_monitor_next(qssl_monitor *mon, qssl_device_event *event, int timeout_ms);

/** Closes the monitor; a qssl_monitor_next() waiting in another thread returns QSSL_ECLOSED. QSSL_OK,
 *  QSSL_ECLOSED on a second call, QSSL_EINVAL for NULL or a pointer that was never a monitor. */
int qssl_monitor_close(qssl_monitor *mon);
/* ======================================== end HOT-PLUG ===================================== */

#ifdef __cplusplus
}
#endif
#endif /* QSSL_H */
