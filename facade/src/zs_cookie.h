/* libzrec-zsock internals (docs/FACADE.md): the stateless cookie exchange
 * of a DTLS server socket (dtls_cookie.c).  It needs no socket: the test
 * tests/facade/cookie_diff.c holds it against wolfSSL byte for byte. */
#ifndef ZS_COOKIE_H
#define ZS_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the exchange needs to know of the server: the secret it shares with
 * the socket's wolfSSL objects, and what they would choose. */
struct zs_cookie_conf {
    const uint8_t *secret; /* wolfSSL_DTLS_SetCookieSecret / wolfSSL_send_hrr_cookie */
    size_t secret_len;
    /* The secret before the last rotation, or NULL: its cookies are still
     * good (a client may be answering a request made with it); new
     * requests use `secret`. */
    const uint8_t *previous;
    bool dtls13;           /* HelloRetryRequest (RFC 9147 §5.1), else HelloVerifyRequest */
    /* DTLS 1.3: the server's cipher suites and key-exchange groups (IANA
     * numbers) in its order of preference, as its wolfSSL context has them. */
    const int *suites;
    int nsuites;
    const int *groups;
    int ngroups;
};

enum zs_cookie_verdict {
    ZS_COOKIE_VALID,  /* a whole ClientHello with a valid cookie: the handshake starts */
    ZS_COOKIE_ANSWER, /* answer with the cookie request written to out */
    ZS_COOKIE_DEFER,  /* not the stateless path's to answer: wolfSSL decides */
    ZS_COOKIE_DROP,   /* not a whole, well-formed ClientHello: dropped */
};

/* Look at a datagram that starts with a plaintext ClientHello record
 * (zs_dhs_is_client_hello) from peer (the source address as recvfrom()
 * gave it, peer_len bytes: the cookie binds it).  No state, no allocation,
 * no public-key operation.  ZS_COOKIE_ANSWER: out[0 .. *out_len) is the
 * datagram to send back (cap: at least ZS_COOKIE_ANSWER_MAX). */
/* ZS_COOKIE_VALID: *valid_with says which secret made the cookie (the
 * wolfSSL object that takes the ClientHello must check it with that one). */
enum zs_cookie_verdict zs_cookie_check(const struct zs_cookie_conf *c, const uint8_t *dgram,
                                       size_t n, const void *peer, size_t peer_len,
                                       uint8_t *out, size_t cap, size_t *out_len,
                                       const uint8_t **valid_with);

#define ZS_COOKIE_ANSWER_MAX 256

/* Does the datagram's ClientHello (as zs_cookie_check reads it) offer DTLS
 * 1.3 in supported_versions?  A server that speaks both versions picks its
 * context by this before the exchange. */
bool zs_cookie_offers_dtls13(const uint8_t *dgram, size_t n);

/* The exchange's secret, of a limited lifetime (RFC 9147 §5.1): it changes
 * every period_ms, and a cookie is good with the current secret or the one
 * before, so one seen on the path buys handshakes for two periods at most.
 * Rotated lazily, by the carrier when a ClientHello comes. */
struct zs_cookie_secrets {
    uint8_t cur[32], prev[32];
    bool have_prev; /* prev is still good */
    int64_t made_ms, period_ms;
};
/* 0, or -EIO when the system has no randomness to give. */
int zs_cookie_secrets_init(struct zs_cookie_secrets *s, int64_t period_ms, int64_t now_ms);
void zs_cookie_secrets_rotate(struct zs_cookie_secrets *s, int64_t now_ms);
/* The exchange's configuration for a server with these secrets (rotated
 * first), version and cipher suites, and zs_cookie_groups. */
struct zs_cookie_conf zs_cookie_conf_now(struct zs_cookie_secrets *s, int64_t now_ms, bool dtls13,
                                         const int *suites, int nsuites);

/* The key-exchange groups of a DTLS 1.3 server socket, in its order of
 * preference (IANA numbers: secp256r1, x25519, secp384r1, secp521r1): set
 * on its wolfSSL context (wolfSSL_CTX_set_groups) and used by the exchange,
 * so both choose alike.  wolfSSL's own default list depends on how it was
 * built and adds FFDHE groups, whose key shares do not fit a datagram well
 * and whose key generation costs milliseconds. */
#define ZS_COOKIE_NGROUPS 4
extern const int zs_cookie_groups[ZS_COOKIE_NGROUPS];

#endif
