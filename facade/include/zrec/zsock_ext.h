/* zrec extensions to Zephyr's SOL_TLS options (numbers far from Zephyr's
 * 1..20 so they never collide with a future Zephyr option). */
#ifndef ZREC_ZSOCK_EXT_H
#define ZREC_ZSOCK_EXT_H

#include <stddef.h>
#include <stdint.h>

/** getsockopt(SOL_TLS): int, 1 if the connection's handshake resumed a
 *  session (TLS_SESSION_CACHE, RFC 8446 §2.2 / RFC 5077), else 0. */
#define ZREC_TLS_SESSION_RESUMED 1001

/** setsockopt/getsockopt(SOL_TLS): int, milliseconds a connection accepted
 *  from this TLS listener has to complete its handshake, counted from
 *  accept(); 0: no limit.  Default 10000.  A blocking accept() fails with
 *  ECONNABORTED when it runs out (Zephyr's answer to a failed handshake);
 *  on a non-blocking listener the accepted socket fails with ETIMEDOUT
 *  (poll: POLLERR).  Zephyr's accept() waits without a limit, so one
 *  silent peer holds up every other client; SO_RCVTIMEO on the listener,
 *  when shorter, bounds the blocking accept() as before. */
#define ZREC_TLS_HANDSHAKE_TIMEOUT 1002
#define ZREC_TLS_HANDSHAKE_TIMEOUT_DEFAULT_MS 10000

/* Certificate verification flags, as TLS_CERT_VERIFY_RESULT reports them
 * and the TLS_CERT_VERIFY_CALLBACK callback sees them: mbedTLS's
 * MBEDTLS_X509_BADCERT_* values, which Zephyr code already tests for. */
#define ZREC_X509_BADCERT_EXPIRED     0x01u   /* not after: passed */
#define ZREC_X509_BADCERT_CN_MISMATCH 0x04u   /* not the name in TLS_HOSTNAME */
#define ZREC_X509_BADCERT_NOT_TRUSTED 0x08u   /* no chain to a CA in the tags */
#define ZREC_X509_BADCERT_SKIP_VERIFY 0x80u   /* TLS_PEER_VERIFY_NONE */
#define ZREC_X509_BADCERT_OTHER       0x0100u /* any other reason */
#define ZREC_X509_BADCERT_FUTURE      0x0200u /* not before: still ahead */

/** The function in struct zsock_tls_cert_verify_cb (TLS_CERT_VERIFY_CALLBACK).
 *  Zephyr's is mbedTLS's verify callback, which takes an mbedtls_x509_crt;
 *  zrec has no mbedTLS, so it passes the certificate as DER instead.  It is
 *  called for each certificate of the peer's chain (depth 0: the peer's own)
 *  with the flags found for it; it may clear or set flags.  A non-zero
 *  return aborts the handshake; flags left set fail it under
 *  TLS_PEER_VERIFY_REQUIRED and are reported by TLS_CERT_VERIFY_RESULT. */
typedef int (*zrec_tls_cert_verify_fn)(void *ctx, const uint8_t *der, size_t der_len, int depth,
                                       uint32_t *flags);

#endif
