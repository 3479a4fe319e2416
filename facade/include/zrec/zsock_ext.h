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
 *  accept() (for a socket of zrec_zsock_adopt_tls(), from its first
 *  zrec_zsock_tls_handshake() as server); 0: no limit.  Default 10000.  A blocking accept() fails with
 *  ECONNABORTED when it runs out (Zephyr's answer to a failed handshake);
 *  on a non-blocking listener the accepted socket fails with ETIMEDOUT
 *  (poll: POLLERR).  Zephyr's accept() waits without a limit, so one
 *  silent peer holds up every other client; SO_RCVTIMEO on the listener,
 *  when shorter, bounds the blocking accept() as before. */
#define ZREC_TLS_HANDSHAKE_TIMEOUT 1002
#define ZREC_TLS_HANDSHAKE_TIMEOUT_DEFAULT_MS 10000

/** setsockopt/getsockopt(SOL_TLS) on a TLS stream client: its session, for
 *  resuming it on a later connection (RFC 5246 §7.4.1.2 session IDs,
 *  RFC 5077 tickets, RFC 8446 §2.2 / §4.6.1 PSK from a ticket), as opaque
 *  bytes the application may keep (they hold the session's secret: keep
 *  them as a key).
 *  getsockopt, once connected: TLS 1.2, the handshake's session; TLS 1.3,
 *  the newest NewSessionTicket received so far (tickets arrive after the
 *  handshake and are taken in by recv()/poll(): ENOENT until one has).  A
 *  buffer too small fails with EINVAL and sets *optlen to the size needed.
 *  ENOTCONN before the handshake ends, EOPNOTSUPP on a server.
 *  setsockopt, before connect() (EISCONN after): offer that session; NULL
 *  or length 0 clears it; EINVAL for bytes that are not a session of this
 *  socket's TLS version.  It wins over TLS_SESSION_CACHE.  A server that
 *  does not resume it costs a full handshake (ZREC_TLS_SESSION_RESUMED 0),
 *  not a failure.  TLS stream sockets only (DTLS: ENOPROTOOPT). */
#define ZREC_TLS_SESSION 1003

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

#ifdef __cplusplus
extern "C" {
#endif

/** A connected kernel stream socket (TCP: the application's own socket(),
 *  accept() or connect()) becomes a zsock TLS socket of proto
 *  (IPPROTO_TLS_1_2 or IPPROTO_TLS_1_3) under the same number, not yet in
 *  its handshake: configure it with zsock_setsockopt(SOL_TLS, ...) as any
 *  TLS socket, then zrec_zsock_tls_handshake().  Its blocking mode
 *  (O_NONBLOCK) and SO_RCVTIMEO / SO_SNDTIMEO become the zsock socket's;
 *  the kernel socket is left O_NONBLOCK (as under every zsock socket).
 *  From then on it is a zsock socket: zsock_close() closes it (close_notify
 *  first).  0, or -1 with errno: EPROTONOSUPPORT (proto), EBADF / ENOTSOCK,
 *  EPROTOTYPE (not a stream), ENOTCONN, EEXIST (already a zsock socket),
 *  ENOMEM, EMFILE. */
int zrec_zsock_adopt_tls(int kernel_fd, int proto);

/** Start, or continue, the TLS handshake of a connected TLS stream socket
 *  in role TLS_DTLS_ROLE_SERVER or TLS_DTLS_ROLE_CLIENT (Zephyr's values,
 *  1 / 0).  Meant for a socket of zrec_zsock_adopt_tls(); a client socket
 *  with TLS_DTLS_HANDSHAKE_ON_CONNECT 0 may start its handshake with it
 *  too.  A blocking socket returns when the handshake ends, or with EAGAIN
 *  when SO_RCVTIMEO (server) / SO_SNDTIMEO (client) runs out first; a
 *  non-blocking one takes one step and returns EAGAIN while it is in
 *  progress (zsock_poll(), zsock_recv() and zsock_send() continue it too;
 *  poll for POLLOUT to wait for it: a TLS socket is writable once open).  A
 *  server's peer has ZREC_TLS_HANDSHAKE_TIMEOUT (default 10 s) from the
 *  first call.  0 done (and on every later call); else -1 with errno:
 *  EAGAIN (in progress), ECONNABORTED (the handshake failed: alert,
 *  verification, no common suite: Zephyr's errno for a failed handshake;
 *  TLS_CERT_VERIFY_RESULT says why when it was the peer's certificate),
 *  ECONNRESET / EPIPE (the peer went away), ETIMEDOUT (the peer's time ran
 *  out), EINVAL / ENOENT (credentials that do not load; a role other than
 *  the handshake's under way; a listening socket), ENOTCONN, EOPNOTSUPP
 *  (not a TLS stream socket), EBADF.  A failure is the socket's for good:
 *  later calls report it again. */
int zrec_zsock_tls_handshake(int fd, int role);

#ifdef __cplusplus
}
#endif

#endif
