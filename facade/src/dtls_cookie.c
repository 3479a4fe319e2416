/*
 * The stateless cookie exchange of a DTLS server socket (docs/FACADE.md).
 *
 * A ClientHello from an address that has not shown it receives what is
 * sent to it is answered here with a cookie request - HelloVerifyRequest
 * (RFC 6347 §4.2.1) or HelloRetryRequest with a cookie (RFC 9147 §5.1) -
 * with no state, no allocation, no wolfSSL object and no public-key
 * operation: reading the ClientHello, one hash of it (DTLS 1.3) and one
 * HMAC.  A flood of spoofed ClientHellos then costs the server about what
 * the kernel's UDP path costs.  Only a ClientHello that brings a valid
 * cookie back goes on to wolfSSL.
 *
 * wolfSSL checks that cookie again, and for DTLS 1.3 rebuilds the start of
 * the transcript from it (RFC 8446 §4.4.1: message_hash(ClientHello1),
 * then the HelloRetryRequest), so both are made exactly as wolfSSL 5.5.4
 * makes them with the same secret (src/dtls.c CreateDtlsCookie; src/tls13.c
 * RestartHandshakeHash, CreateCookie, RestartHandshakeHashWithCookie):
 *   DTLS 1.2 cookie: HMAC-SHA256(secret, peer address || client_version ||
 *     random || session_id || cipher_suites || compression_methods)
 *   DTLS 1.3 cookie: data || HMAC-SHA256(secret, data || peer address),
 *     data = hash length || Hash(ClientHello1) || cipher suite [|| group]
 * and the HelloRetryRequest carries, in this order, key_share (only when
 * it names a group), supported_versions and cookie.  Its choices - the
 * suite, and whether the client's key shares leave a group to ask for -
 * follow wolfSSL's (MatchSuite in server order; TLSX_KeyShare_Establish):
 * tests/facade/cookie_diff.c feeds the same ClientHellos to wolfSSL and to
 * this file and holds the answers equal byte for byte, so a wolfSSL that
 * made them differently fails the build's tests, not a user's handshake.
 *
 * The secret rotates (zs_cookie_secrets_rotate, called by the carrier): a cookie is good
 * while it was made with the current secret or the one before, so a cookie
 * seen on the path cannot buy handshakes for ever (RFC 9147 §5.1).
 *
 * What is left to wolfSSL (ZS_COOKIE_DEFER): a DTLS 1.3 ClientHello with
 * a pre_shared_key (the suite then follows the key; the binder is checked
 * before any key share is made), or one that does not offer DTLS 1.3 (an
 * alert).  Neither reaches a public-key operation without a valid binder.
 */
#include "zs_cookie.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/hmac.h>

#define RECORD_HDR 13   /* DTLSPlaintext (RFC 6347 §4.1) */
#define HS_HDR 12       /* DTLS Handshake header (RFC 6347 §4.2.2) */
#define MAC_LEN 32      /* HMAC-SHA256 */
#define CT_HANDSHAKE 22
#define HS_CLIENT_HELLO 1
#define HS_SERVER_HELLO 2
#define HS_HELLO_VERIFY_REQUEST 3

/* TLS extension numbers (RFC 8446 §4.2). */
#define EXT_SUPPORTED_GROUPS 10
#define EXT_PRE_SHARED_KEY 41
#define EXT_COOKIE 44
#define EXT_SUPPORTED_VERSIONS 43
#define EXT_KEY_SHARE 51

#define DTLS13 0xfefc

/* The HelloRetryRequest's Random (RFC 8446 §4.1.3). */
static const uint8_t hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

const int zs_cookie_groups[ZS_COOKIE_NGROUPS] = {23, 29, 24, 25};

/* A bounded reader: every read checked, a short one poisons the cursor. */
struct cur {
    const uint8_t *p;
    size_t left;
    bool bad;
};

static const uint8_t *take(struct cur *c, size_t n)
{
    if (c->bad || n > c->left) {
        c->bad = true;
        return NULL;
    }
    const uint8_t *p = c->p;
    c->p += n;
    c->left -= n;
    return p;
}

static unsigned u8(struct cur *c)
{
    const uint8_t *p = take(c, 1);
    return p ? p[0] : 0;
}

static unsigned u16(struct cur *c)
{
    const uint8_t *p = take(c, 2);
    return p ? (unsigned)(p[0] << 8 | p[1]) : 0;
}

/* A vector with a 1- or 2-byte length prefix, as a cursor of its own. */
static struct cur vec(struct cur *c, int prefix)
{
    size_t n = prefix == 1 ? u8(c) : u16(c);
    const uint8_t *p = take(c, n);
    return (struct cur){.p = p, .left = p ? n : 0, .bad = p == NULL};
}

static uint8_t *put16(uint8_t *o, unsigned v)
{
    o[0] = (uint8_t)(v >> 8);
    o[1] = (uint8_t)v;
    return o + 2;
}

static uint8_t *put24(uint8_t *o, size_t v)
{
    o[0] = (uint8_t)(v >> 16);
    o[1] = (uint8_t)(v >> 8);
    o[2] = (uint8_t)v;
    return o + 3;
}

/* An extension whose body is one 16-bit value (RFC 8446 §4.2). */
static uint8_t *put_ext16(uint8_t *o, unsigned type, unsigned value)
{
    o = put16(o, type);
    o = put16(o, 2);
    return put16(o, value);
}

static bool ct_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++)
        d |= a[i] ^ b[i];
    return d == 0;
}

/* HMAC-SHA256 (wolfCrypt) of up to four pieces. */
struct piece {
    const void *p;
    size_t n;
};

static bool hmac(const struct zs_cookie_conf *c, const uint8_t *secret, const struct piece *pcs,
                 int npcs, uint8_t mac[MAC_LEN])
{
    Hmac h;
    if (wc_HmacInit(&h, NULL, INVALID_DEVID) != 0)
        return false;
    int rc = wc_HmacSetKey(&h, WC_SHA256, secret, (word32)c->secret_len);
    for (int i = 0; rc == 0 && i < npcs; i++)
        rc = wc_HmacUpdate(&h, pcs[i].p, (word32)pcs[i].n);
    if (rc == 0)
        rc = wc_HmacFinal(&h, mac);
    wc_HmacFree(&h);
    return rc == 0;
}

/* The parts of a ClientHello (RFC 6347 §4.2.1, RFC 9147 §5.3) the exchange
 * reads, pointing into the datagram. */
struct hello {
    const uint8_t *rec;  /* its record */
    const uint8_t *msg;  /* the handshake message (header included) */
    size_t body_len;
    struct cur version, random, session_id, cookie, suites, compression, extensions;
};

/* The first record of the datagram: one plaintext ClientHello, whole (a
 * fragmented first ClientHello is not answered: RFC 9147 §5.1 leaves
 * stateless servers that choice, and wolfSSL makes it too). */
static bool parse_hello(const uint8_t *d, size_t n, struct hello *h)
{
    if (n < RECORD_HDR + HS_HDR || d[0] != CT_HANDSHAKE || d[3] != 0 || d[4] != 0)
        return false;
    size_t rec_len = (size_t)d[11] << 8 | d[12];
    if (rec_len > n - RECORD_HDR || rec_len < HS_HDR)
        return false;
    const uint8_t *m = d + RECORD_HDR;
    size_t len = (size_t)m[1] << 16 | (size_t)m[2] << 8 | m[3];
    size_t frag_off = (size_t)m[6] << 16 | (size_t)m[7] << 8 | m[8];
    size_t frag_len = (size_t)m[9] << 16 | (size_t)m[10] << 8 | m[11];
    if (m[0] != HS_CLIENT_HELLO || frag_off != 0 || frag_len != len || len > rec_len - HS_HDR)
        return false;
    h->rec = d;
    h->msg = m;
    h->body_len = len;
    struct cur c = {.p = m + HS_HDR, .left = len};
    const uint8_t *v = take(&c, 2), *r = take(&c, 32);
    h->version = (struct cur){.p = v, .left = 2};
    h->random = (struct cur){.p = r, .left = 32};
    h->session_id = vec(&c, 1);
    h->cookie = vec(&c, 1);
    h->suites = vec(&c, 2);
    h->compression = vec(&c, 1);
    /* wolfSSL requires the extensions' length field, even for DTLS 1.2. */
    h->extensions = vec(&c, 2);
    return !c.bad && h->suites.left > 0 && h->suites.left % 2 == 0;
}

/* The record and handshake headers of the answer.  Its record sequence
 * number is the ClientHello's (RFC 6347 §4.2.1; wolfSSL does the same for
 * DTLS 1.3).  Its message_seq: DTLS 1.2's stateless server sends its first
 * message, 0 (RFC 6347 §4.2.2); wolfSSL's DTLS 1.3 server takes the
 * ClientHello's (dtls13.c: it assumes the ClientHello in order). */
static uint8_t *answer_headers(const struct hello *h, uint8_t *o, unsigned version, int type,
                               size_t body_len, bool echo_msg_seq)
{
    o[0] = CT_HANDSHAKE;
    put16(o + 1, version);
    memcpy(o + 3, h->rec + 3, 8); /* epoch 0 and the record sequence number */
    put16(o + 11, (unsigned)(HS_HDR + body_len));
    uint8_t *m = o + RECORD_HDR;
    m[0] = (uint8_t)type;
    put24(m + 1, body_len);
    if (echo_msg_seq)
        memcpy(m + 4, h->msg + 4, 2);
    else
        put16(m + 4, 0);
    put24(m + 6, 0);
    put24(m + 9, body_len);
    return m + HS_HDR;
}

/* ---- DTLS 1.2 -------------------------------------------------------------- */

static enum zs_cookie_verdict check12(const struct zs_cookie_conf *c, const struct hello *h,
                                      const void *peer, size_t peer_len, uint8_t *out,
                                      size_t *out_len, const uint8_t **valid_with)
{
    uint8_t mac[MAC_LEN];
    const struct piece pcs[] = {{peer, peer_len},
                                {h->version.p, 2 + 32}, /* client_version || random */
                                {h->session_id.p, h->session_id.left},
                                {h->suites.p, h->suites.left},
                                {h->compression.p, h->compression.left}};
    if (h->cookie.left == MAC_LEN && c->previous) {
        if (!hmac(c, c->previous, pcs, 5, mac))
            return ZS_COOKIE_DROP;
        if (ct_equal(h->cookie.p, mac, MAC_LEN)) {
            *valid_with = c->previous;
            return ZS_COOKIE_VALID;
        }
    }
    /* The current secret last: its MAC is the answer's cookie otherwise. */
    if (!hmac(c, c->secret, pcs, 5, mac))
        return ZS_COOKIE_DROP;
    if (h->cookie.left == MAC_LEN && ct_equal(h->cookie.p, mac, MAC_LEN)) {
        *valid_with = c->secret;
        return ZS_COOKIE_VALID;
    }
    /* HelloVerifyRequest: server_version DTLS 1.0 (RFC 6347 §4.2.1: "DTLS
     * 1.2 server implementations SHOULD use DTLS version 1.0"), cookie. */
    uint8_t *b = answer_headers(h, out, 0xfefd, HS_HELLO_VERIFY_REQUEST, 2 + 1 + MAC_LEN, false);
    b = put16(b, 0xfeff);
    *b++ = MAC_LEN;
    memcpy(b, mac, MAC_LEN);
    *out_len = (size_t)(b + MAC_LEN - out);
    return ZS_COOKIE_ANSWER;
}

/* ---- DTLS 1.3 -------------------------------------------------------------- */

struct exts13 {
    bool psk, versions_13, have_groups, have_key_share, have_cookie;
    struct cur groups, key_share, cookie;
};

static bool read_extensions(struct cur e, struct exts13 *x)
{
    uint64_t seen[2] = {0, 0}; /* the types below 128: a repeat is an error */
    memset(x, 0, sizeof *x);
    while (e.left && !e.bad) {
        unsigned type = u16(&e);
        struct cur body = vec(&e, 2);
        if (e.bad)
            return false;
        if (type < 128) {
            if (seen[type / 64] >> (type % 64) & 1)
                return false; /* RFC 8446 §4.2: at most one of each */
            seen[type / 64] |= 1ull << (type % 64);
        }
        switch (type) {
        case EXT_PRE_SHARED_KEY:
            x->psk = true;
            break;
        case EXT_SUPPORTED_VERSIONS: {
            struct cur v = vec(&body, 1);
            while (v.left >= 2)
                x->versions_13 |= u16(&v) == DTLS13;
            break;
        }
        case EXT_SUPPORTED_GROUPS:
            x->have_groups = true;
            x->groups = vec(&body, 2);
            if (x->groups.bad || x->groups.left % 2)
                return false;
            break;
        case EXT_KEY_SHARE:
            x->have_key_share = true;
            x->key_share = vec(&body, 2);
            if (x->key_share.bad)
                return false;
            break;
        case EXT_COOKIE:
            x->have_cookie = true;
            x->cookie = vec(&body, 2);
            if (x->cookie.bad)
                return false;
            break;
        default:
            break;
        }
    }
    return !e.bad;
}

static bool listed(struct cur list, unsigned v)
{
    while (list.left >= 2)
        if (u16(&list) == v)
            return true;
    return false;
}

static int rank(const struct zs_cookie_conf *c, unsigned group)
{
    for (int i = 0; i < c->ngroups; i++)
        if ((unsigned)c->groups[i] == group)
            return i;
    return -1;
}

/* The group the HelloRetryRequest asks for: 0 when one of the client's key
 * shares will do (TLSX_KeyShare_Establish: a non-empty share of a group the
 * client lists in supported_groups and the server has), else the server's
 * most preferred group of the client's list (TLSX_KeyShare_SetSupported);
 * -1: none in common. */
static int group_to_ask(const struct zs_cookie_conf *c, const struct exts13 *x)
{
    struct cur ks = x->key_share;
    while (ks.left && !ks.bad) {
        unsigned group = u16(&ks);
        struct cur share = vec(&ks, 2);
        if (ks.bad)
            return -1;
        /* Without supported_groups wolfSSL checks the server's own list. */
        bool client_lists = x->have_groups ? listed(x->groups, group) : rank(c, group) >= 0;
        if (share.left > 0 && client_lists && rank(c, group) >= 0)
            return 0;
    }
    int best = -1;
    struct cur g = x->groups;
    while (x->have_groups && g.left >= 2) {
        int r = rank(c, u16(&g));
        if (r >= 0 && (best < 0 || r < best))
            best = r;
    }
    return best < 0 ? -1 : c->groups[best];
}

/* The suite wolfSSL's MatchSuite picks: the server's first that the client
 * offers.  0 when that is no TLS 1.3 suite (wolfSSL then fails the
 * handshake) or none is offered. */
static unsigned suite_to_pick(const struct zs_cookie_conf *c, const struct hello *h)
{
    for (int i = 0; i < c->nsuites; i++)
        if (listed(h->suites, (unsigned)c->suites[i]))
            return ((unsigned)c->suites[i] >> 8) == 0x13 ? (unsigned)c->suites[i] : 0;
    return 0;
}

static enum zs_cookie_verdict check13(const struct zs_cookie_conf *c, const struct hello *h,
                                      const void *peer, size_t peer_len, uint8_t *out,
                                      size_t *out_len, const uint8_t **valid_with)
{
    struct exts13 x;
    /* wolfSSL reads DTLS 1.3's legacy_cookie as empty (RFC 9147 §5.3) and a
     * legacy_session_id of 0 or 32 bytes. */
    if (h->cookie.left != 0 || (h->session_id.left != 0 && h->session_id.left != 32) ||
        !read_extensions(h->extensions, &x))
        return ZS_COOKIE_DROP;
    if (x.psk || !x.versions_13)
        return ZS_COOKIE_DEFER;
    uint8_t mac[MAC_LEN];
    if (x.have_cookie && x.cookie.left > MAC_LEN) {
        size_t data_len = x.cookie.left - MAC_LEN;
        const struct piece pcs[] = {{x.cookie.p, data_len}, {peer, peer_len}};
        const uint8_t *secrets[2] = {c->secret, c->previous};
        for (int i = 0; i < 2 && secrets[i]; i++) {
            if (!hmac(c, secrets[i], pcs, 2, mac))
                return ZS_COOKIE_DROP;
            if (ct_equal(x.cookie.p + data_len, mac, MAC_LEN)) {
                *valid_with = secrets[i];
                return ZS_COOKIE_VALID;
            }
        }
    }
    /* No valid cookie: this is ClientHello1 (a stale or forged cookie gets
     * a fresh request, as wolfSSL answers it). */
    unsigned suite = suite_to_pick(c, h);
    int group = x.have_key_share ? group_to_ask(c, &x) : -1;
    if (suite == 0 || group < 0)
        return ZS_COOKIE_DROP; /* wolfSSL would fail this handshake */
    enum wc_HashType ht = suite == 0x1302 ? WC_HASH_TYPE_SHA384 : WC_HASH_TYPE_SHA256;
    int hash_len = wc_HashGetDigestSize(ht);
    /* Hash(ClientHello1) over the message as TLS frames it, without the
     * DTLS header fields (RFC 9147 §5.2): msg_type, length, body. */
    uint8_t data[1 + WC_MAX_DIGEST_SIZE + 4];
    wc_HashAlg ha;
    if (hash_len <= 0 || wc_HashInit(&ha, ht) != 0)
        return ZS_COOKIE_DROP;
    int rc = wc_HashUpdate(&ha, ht, h->msg, 4);
    if (rc == 0)
        rc = wc_HashUpdate(&ha, ht, h->msg + HS_HDR, (word32)h->body_len);
    if (rc == 0)
        rc = wc_HashFinal(&ha, ht, data + 1);
    wc_HashFree(&ha, ht);
    if (rc != 0)
        return ZS_COOKIE_DROP;
    size_t dl = 0;
    data[dl++] = (uint8_t)hash_len;
    dl += (size_t)hash_len;
    put16(data + dl, suite);
    dl += 2;
    if (group > 0) {
        put16(data + dl, (unsigned)group);
        dl += 2;
    }
    const struct piece pcs[] = {{data, dl}, {peer, peer_len}};
    if (!hmac(c, c->secret, pcs, 2, mac))
        return ZS_COOKIE_DROP;
    size_t cookie_len = dl + MAC_LEN;
    size_t ext_len = (group > 0 ? 6 : 0) + 6 + 6 + cookie_len;
    size_t body_len = 2 + 32 + 1 + h->session_id.left + 2 + 1 + 2 + ext_len;
    /* HelloRetryRequest (RFC 8446 §4.1.4, RFC 9147 §5.3): legacy_version
     * DTLS 1.2, the special Random, the echoed session ID, the suite, no
     * compression. */
    uint8_t *b = answer_headers(h, out, 0xfefd, HS_SERVER_HELLO, body_len, true);
    b = put16(b, 0xfefd);
    memcpy(b, hrr_random, 32);
    b += 32;
    *b++ = (uint8_t)h->session_id.left;
    memcpy(b, h->session_id.p, h->session_id.left);
    b += h->session_id.left;
    b = put16(b, suite);
    *b++ = 0;
    b = put16(b, (unsigned)ext_len);
    if (group > 0)
        b = put_ext16(b, EXT_KEY_SHARE, (unsigned)group); /* the group to use */
    b = put_ext16(b, EXT_SUPPORTED_VERSIONS, DTLS13);
    b = put16(b, EXT_COOKIE);
    b = put16(b, (unsigned)(cookie_len + 2));
    b = put16(b, (unsigned)cookie_len);
    memcpy(b, data, dl);
    memcpy(b + dl, mac, MAC_LEN);
    *out_len = (size_t)(b + cookie_len - out);
    return ZS_COOKIE_ANSWER;
}

enum zs_cookie_verdict zs_cookie_check(const struct zs_cookie_conf *c, const uint8_t *dgram,
                                       size_t n, const void *peer, size_t peer_len,
                                       uint8_t *out, size_t cap, size_t *out_len,
                                       const uint8_t **valid_with)
{
    struct hello h;
    if (cap < ZS_COOKIE_ANSWER_MAX || !parse_hello(dgram, n, &h))
        return ZS_COOKIE_DROP;
    return c->dtls13 ? check13(c, &h, peer, peer_len, out, out_len, valid_with)
                     : check12(c, &h, peer, peer_len, out, out_len, valid_with);
}

bool zs_cookie_offers_dtls13(const uint8_t *dgram, size_t n)
{
    struct hello h;
    struct exts13 x;
    return parse_hello(dgram, n, &h) && read_extensions(h.extensions, &x) && x.versions_13;
}

/* ---- the secret ------------------------------------------------------------ */

int zs_cookie_secrets_init(struct zs_cookie_secrets *s, int64_t period_ms, int64_t now_ms)
{
    *s = (struct zs_cookie_secrets){.made_ms = now_ms, .period_ms = period_ms};
    return getrandom(s->cur, sizeof s->cur, 0) == sizeof s->cur ? 0 : -EIO;
}

void zs_cookie_secrets_rotate(struct zs_cookie_secrets *s, int64_t now_ms)
{
    int64_t periods = (now_ms - s->made_ms) / s->period_ms;
    if (periods <= 0)
        return;
    uint8_t fresh[sizeof s->cur];
    if (getrandom(fresh, sizeof fresh, 0) != sizeof fresh)
        return; /* keep the current one a while longer */
    memcpy(s->prev, s->cur, sizeof fresh);
    s->have_prev = periods == 1; /* two periods idle: both are stale */
    memcpy(s->cur, fresh, sizeof fresh);
    explicit_bzero(fresh, sizeof fresh);
    s->made_ms = now_ms;
}

struct zs_cookie_conf zs_cookie_conf_now(struct zs_cookie_secrets *s, int64_t now_ms, bool dtls13,
                                         const int *suites, int nsuites)
{
    zs_cookie_secrets_rotate(s, now_ms);
    return (struct zs_cookie_conf){
        .secret = s->cur,
        .secret_len = sizeof s->cur,
        .previous = s->have_prev ? s->prev : NULL,
        .dtls13 = dtls13,
        .suites = suites,
        .nsuites = nsuites,
        .groups = zs_cookie_groups,
        .ngroups = ZS_COOKIE_NGROUPS,
    };
}
