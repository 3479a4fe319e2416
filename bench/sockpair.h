/*
 * zrec-bench: a client/server socket pair over 127.0.0.1, behind a small C
 * API: over TCP, two zsock TLS sockets of libzrec-zsock (the facade) or two
 * plain kernel TCP sockets; over UDP, two zsock DTLS sockets (a client and a
 * TLS_DTLS_ROLE_SERVER socket) or two plain kernel UDP sockets.
 *
 * This is C, not C++: the facade's Zephyr headers are C headers written for
 * C code (Zephyr applications); keeping them out of the C++ translation
 * units leaves no room for clashes with <sys/socket.h> names or C++ rules.
 */
#ifndef ZREC_BENCH_SOCKPAIR_H
#define ZREC_BENCH_SOCKPAIR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum zb_pair_kind {
    ZB_PAIR_PLAIN_TCP, /* kernel socket()/send()/recv(), TCP_NODELAY */
    ZB_PAIR_TLS12,     /* zsock, IPPROTO_TLS_1_2, ECDHE-ECDSA-AES128-GCM-SHA256 */
    ZB_PAIR_TLS13,     /* zsock, IPPROTO_TLS_1_3, TLS_AES_128_GCM_SHA256 */
    ZB_PAIR_PLAIN_UDP, /* kernel socket()/send()/recvfrom(), connected client */
    ZB_PAIR_DTLS12,    /* zsock, IPPROTO_DTLS_1_2, ECDHE-ECDSA-AES128-GCM-SHA256 */
    ZB_PAIR_DTLS13,    /* zsock, IPPROTO_DTLS_1_3, TLS_AES_128_GCM_SHA256 */
    /* The engine inline between kernel socket calls, no facade: what an
     * application gets that seals and opens with libzrec itself.  Fixed
     * keys, no handshake (it costs nothing per message). */
    ZB_PAIR_INLINE_TLS13,  /* TCP: seal from the caller's buffer, send; recv the
                            * record (MSG_WAITALL), open into the caller's buffer */
    ZB_PAIR_INLINE_DTLS13, /* UDP: seal, send one datagram; recvfrom, open */
};

struct zb_pair;

#define ZB_PAIR_IN_SLACK 256

/* Connect a pair (for TLS/DTLS: full handshake, negotiated suite checked),
 * then one warm-up message each way, checked.  cert_pem/key_pem: the
 * server's identity, NUL-terminated PEM (ignored for plain TCP/UDP); copied.
 * On failure returns NULL and writes a reason into err. */
struct zb_pair *zb_pair_open(enum zb_pair_kind kind, const char *cert_pem, const char *key_pem,
                             char *err, size_t errlen);

/* One message: the client sends len bytes from out, the server receives
 * exactly len bytes into in (which has ZB_PAIR_IN_SLACK bytes beyond len:
 * the inline pairs open records straight into it, as libzrec needs room
 * for a record's inner type; sockets are given len).  TCP/TLS: one send call, one recv call
 * (MSG_WAITALL).  UDP/DTLS: one datagram (DTLS: one record in it; len at
 * most 16384), one send call, one recvfrom call (with the source address,
 * as a server that answers needs it).  0, or -errno. */
int zb_pair_send_recv(struct zb_pair *p, const void *out, void *in, size_t len);

/* The negotiated cipher suite (IANA number), -1 for plain TCP/UDP. */
int zb_pair_cipher(const struct zb_pair *p);

void zb_pair_close(struct zb_pair *p);

/* ---- ClientHello floods (facade:dtls1x:cookie, plain:udp:cookie:dtls1x) ----
 *
 * An attacker's kernel UDP socket, connected to a server on 127.0.0.1,
 * sends a real ClientHello without a cookie (captured once from a zsock
 * DTLS client of the same protocol) and reads the answer.
 *   facade (plain = 0): the server is a TLS_DTLS_ROLE_SERVER zsock socket
 *   with the bench's certificate: its non-blocking recvfrom() takes the
 *   ClientHello, answers with a cookie request (HelloVerifyRequest, RFC 6347
 *   §4.2.1; HelloRetryRequest with a cookie, RFC 9147 §5.1) and reports
 *   EAGAIN.  The attacker checks that the answer is one.
 *   plain (plain = 1): the server is a kernel UDP socket that answers every
 *   datagram with one of the facade's answer's size (recvfrom + sendto): the
 *   least a stateless answer can cost, the physical reference. */
struct zb_flood;

struct zb_flood *zb_flood_open(enum zb_pair_kind kind, int plain, const char *cert_pem,
                               const char *key_pem, char *err, size_t errlen);
/* One ClientHello in, one cookie request out, checked: 0 or -errno. */
int zb_flood_round(struct zb_flood *f);
/* The sizes of the ClientHello and of the answer (datagram bytes). */
void zb_flood_sizes(const struct zb_flood *f, size_t *hello, size_t *answer);
void zb_flood_close(struct zb_flood *f);

#ifdef __cplusplus
}
#endif

#endif
