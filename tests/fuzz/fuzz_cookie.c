/*
 * fuzz_cookie: the DTLS server's stateless cookie exchange
 * (facade/src/dtls_cookie.c, zs_cookie_check) - the first thing a spoofed
 * datagram reaches - called directly, millions of times faster than
 * through a socket (fuzz_dtls_server covers the socket around it).
 *
 * Input: [configuration][peer][datagram].  The configuration byte picks
 * DTLS 1.2 or 1.3, one of three server suite lists and whether a previous
 * secret (after a rotation) is still good; the peer byte one
 * of three source addresses (IPv4, another IPv4, IPv6).
 *
 * Contracts, besides the sanitizers: a verdict is one of the four; an
 * answer fits ZS_COOKIE_ANSWER_MAX and is one whole record holding a
 * HelloVerifyRequest with a 32-byte cookie (DTLS 1.2) or a
 * HelloRetryRequest (DTLS 1.3); the same datagram gets the same verdict
 * and answer twice (no state); a cookie found valid for one address is
 * not valid for another, and is valid with one of the server's secrets.
 *
 * Seeds: ClientHello1 and ClientHello2 (with the cookie the exchange asked
 * for, valid for peer 0) of real wolfSSL DTLS 1.2 and 1.3 clients.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "../../facade/src/zs_cookie.h"
#include "fuzz.h"

static const uint8_t secret[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const int suites[3][4] = {{0x1301, 0x1302, 0x1303, 0xc02b},
                                 {0x1302, 0x1301},
                                 {0xc02b, 0x1301}}; /* a TLS 1.2 suite first */
static const int nsuites[3] = {4, 2, 2};
static const uint8_t previous[32] = {99, 98, 97, 96, 95, 94, 93, 92, 91, 90, 89, 88, 87, 86, 85, 84,
                                     83, 82, 81, 80, 79, 78, 77, 76, 75, 74, 73, 72, 71, 70, 69, 68};
static const uint8_t *valid_with; /* zs_cookie_check()'s last VALID secret */

static struct zs_cookie_conf conf_of(uint8_t sel)
{
    int l = (sel >> 1) % 3;
    return (struct zs_cookie_conf){.secret = secret,
                                   .secret_len = sizeof secret,
                                   .previous = sel & 8 ? previous : NULL, /* after a rotation */
                                   .dtls13 = sel & 1,
                                   .suites = suites[l],
                                   .nsuites = nsuites[l],
                                   .groups = zs_cookie_groups,
                                   .ngroups = ZS_COOKIE_NGROUPS};
}

static socklen_t peer_of(uint8_t sel, struct sockaddr_storage *a)
{
    memset(a, 0, sizeof *a);
    if (sel % 3 == 2) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)a;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(5684);
        s6->sin6_addr.s6_addr[15] = 1;
        return sizeof *s6;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)a;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)(5684 + sel % 3));
    s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sizeof *s4;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const struct zs_cookie_conf conf = conf_of(data[0]);
    struct sockaddr_storage peer, other;
    const uint8_t who = data[1] % 3;
    socklen_t pl = peer_of(who, &peer), ol = peer_of((uint8_t)((who + 1) % 3), &other);
    const uint8_t *d = data + 2;
    size_t n = size - 2;
    uint8_t out[ZS_COOKIE_ANSWER_MAX], again[ZS_COOKIE_ANSWER_MAX];
    size_t outl = 0, againl = 0;
    enum zs_cookie_verdict v = zs_cookie_check(&conf, d, n, &peer, pl, out, sizeof out, &outl, &valid_with);
    FUZZ_ASSERT(v >= ZS_COOKIE_VALID && v <= ZS_COOKIE_DROP, "verdict %d", (int)v);
    enum zs_cookie_verdict v2 =
        zs_cookie_check(&conf, d, n, &peer, pl, again, sizeof again, &againl, &valid_with);
    FUZZ_ASSERT(v2 == v, "verdicts %d then %d for the same datagram", (int)v, (int)v2);
    if (v == ZS_COOKIE_ANSWER) {
        FUZZ_ASSERT(outl > 13 + 12 && outl <= sizeof out, "answer of %zu bytes", outl);
        FUZZ_ASSERT(againl == outl && memcmp(out, again, outl) == 0, "the same answer twice");
        FUZZ_ASSERT(out[0] == 22 && (size_t)(out[11] << 8 | out[12]) == outl - 13,
                    "one whole handshake record");
        size_t body = (size_t)out[14] << 16 | (size_t)out[15] << 8 | out[16];
        FUZZ_ASSERT(body == outl - 25, "one whole handshake message");
        if (conf.dtls13)
            FUZZ_ASSERT(out[13] == 2 && out[27] == 0xcf && out[28] == 0x21,
                        "a HelloRetryRequest");
        else
            FUZZ_ASSERT(out[13] == 3 && out[27] == 32 && outl == 25 + 3 + 32,
                        "a HelloVerifyRequest with a 32-byte cookie");
    }
    if (v == ZS_COOKIE_VALID) {
        FUZZ_ASSERT(valid_with == secret || (valid_with == previous && conf.previous),
                    "a cookie valid with a secret the server does not have");
        size_t l;
        FUZZ_ASSERT(zs_cookie_check(&conf, d, n, &other, ol, again, sizeof again, &l, &valid_with) !=
                        ZS_COOKIE_VALID,
                    "a cookie valid for another address");
    }
    return 0;
}

/* ---- seeds: real ClientHellos, made in memory -------------------------------- */

struct mem {
    uint8_t in[4096], out[4096];
    size_t in_len, out_len;
};

static int mem_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    (void)ssl;
    struct mem *m = ctx;
    if (m->in_len == 0 || (size_t)sz < m->in_len)
        return WOLFSSL_CBIO_ERR_WANT_READ;
    memcpy(buf, m->in, m->in_len);
    int n = (int)m->in_len;
    m->in_len = 0;
    return n;
}

static int mem_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    (void)ssl;
    struct mem *m = ctx;
    if ((size_t)sz <= sizeof m->out) {
        memcpy(m->out, buf, (size_t)sz);
        m->out_len = (size_t)sz;
    }
    return sz;
}

static void seed(const char *dir, const char *name, uint8_t sel, const uint8_t *d, size_t n)
{
    uint8_t b[4096 + 2];
    b[0] = sel;
    b[1] = 0; /* peer 0 */
    memcpy(b + 2, d, n);
    fuzz_seed_write(dir, name, b, n + 2);
}

void fuzz_seeds(const char *dir)
{
    FUZZ_ASSERT(wolfSSL_Init() == WOLFSSL_SUCCESS, "wolfSSL_Init");
    for (int v13 = 0; v13 < 2; v13++) {
        WOLFSSL_CTX *ctx = wolfSSL_CTX_new(v13 ? wolfDTLSv1_3_client_method()
                                               : wolfDTLSv1_2_client_method());
        FUZZ_ASSERT(ctx != NULL, "client ctx");
        wolfSSL_CTX_SetIORecv(ctx, mem_recv);
        wolfSSL_CTX_SetIOSend(ctx, mem_send);
        wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, NULL);
        WOLFSSL *ssl = wolfSSL_new(ctx);
        static struct mem m;
        memset(&m, 0, sizeof m);
        wolfSSL_SetIOReadCtx(ssl, &m);
        wolfSSL_SetIOWriteCtx(ssl, &m);
        wolfSSL_dtls_set_using_nonblock(ssl, 1);
        (void)wolfSSL_connect(ssl);
        FUZZ_ASSERT(m.out_len > 0, "ClientHello1");
        const uint8_t sel = (uint8_t)v13;
        seed(dir, v13 ? "dtls13-hello1" : "dtls12-hello1", sel, m.out, m.out_len);
        /* The exchange's cookie request back to the client: ClientHello2. */
        const struct zs_cookie_conf conf = conf_of(sel);
        struct sockaddr_storage peer;
        socklen_t pl = peer_of(0, &peer);
        size_t al = 0;
        FUZZ_ASSERT(zs_cookie_check(&conf, m.out, m.out_len, &peer, pl, m.in, sizeof m.in,
                                    &al, &valid_with) == ZS_COOKIE_ANSWER,
                    "a cookie request");
        m.in_len = al;
        m.out_len = 0;
        (void)wolfSSL_connect(ssl);
        FUZZ_ASSERT(m.out_len > 0, "ClientHello2");
        uint8_t scratch[ZS_COOKIE_ANSWER_MAX];
        FUZZ_ASSERT(zs_cookie_check(&conf, m.out, m.out_len, &peer, pl, scratch,
                                    sizeof scratch, &al, &valid_with) == ZS_COOKIE_VALID,
                    "ClientHello2's cookie is valid");
        seed(dir, v13 ? "dtls13-hello2" : "dtls12-hello2", sel, m.out, m.out_len);
        wolfSSL_free(ssl);
        wolfSSL_CTX_free(ctx);
    }
}
