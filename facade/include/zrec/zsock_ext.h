/* zrec extensions to Zephyr's SOL_TLS options (numbers far from Zephyr's
 * 1..20 so they never collide with a future Zephyr option). */
#ifndef ZREC_ZSOCK_EXT_H
#define ZREC_ZSOCK_EXT_H

/** getsockopt(SOL_TLS): int, 1 if the connection's handshake resumed a
 *  session (TLS_SESSION_CACHE, RFC 8446 §2.2 / RFC 5077), else 0. */
#define ZREC_TLS_SESSION_RESUMED 1001

#endif
