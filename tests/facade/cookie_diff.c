/*
 * cookie_diff: the DTLS server's stateless cookie exchange
 * (facade/src/dtls_cookie.c) against wolfSSL itself.
 *
 * The exchange answers ClientHellos without wolfSSL, and wolfSSL must then
 * accept the cookie and (DTLS 1.3) rebuild the transcript from it, so the
 * two must agree to the byte.  For each case a real wolfSSL client makes a
 * ClientHello (in memory, no network); a wolfSSL server object configured
 * as the facade configures its own (same secret, peer address, suites and
 * groups) answers it, and so does zs_cookie_check():
 *   - the two answers are equal byte for byte;
 *   - the client takes our answer and sends ClientHello2; the exchange
 *     calls its cookie valid, and a fresh wolfSSL server object (as the
 *     facade makes one for it) completes the handshake with the client;
 *   - ClientHello2 with one cookie byte flipped, or sent from another
 *     address, gets a new cookie request from both, equal again;
 *   - after one secret rotation the cookie is still good (made by the
 *     previous secret), after two it gets a new request;
 *   - what the exchange leaves to wolfSSL (pre_shared_key, no DTLS 1.3
 *     offered) is reported as such, and garbage is dropped.
 * Cases: DTLS 1.2; DTLS 1.3 with the default suites, an AES-256 (SHA-384)
 * client, a client preferring ChaCha20 (the server's order wins), a server
 * whose list puts AES-256 first, X25519 and P-384 key shares, no key share
 * (the HelloRetryRequest names a group), connection IDs, IPv6 peers.
 *
 * Usage: cookie_diff CERTDIR
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "zrec/wolfssl.h"

#include "../../facade/src/zs_cookie.h"
#include "check.h"

#define MAX_SUITES_FOR_TEST 32

static const char *certdir;
static uint8_t secret[32];
static const uint8_t *valid_with; /* zs_cookie_check()'s last VALID secret */

/* ---- datagrams in memory ----------------------------------------------------- */

#define QCAP 32
struct queue {
    uint8_t d[QCAP][4096];
    size_t len[QCAP];
    int head, tail;
};

static void q_put(struct queue *q, const void *b, size_t n)
{
    CHECK(q->tail - q->head < QCAP && n <= sizeof q->d[0], "queue full");
    memcpy(q->d[q->tail % QCAP], b, n);
    q->len[q->tail % QCAP] = n;
    q->tail++;
}

static size_t q_get(struct queue *q, uint8_t *b, size_t cap)
{
    if (q->head == q->tail)
        return 0;
    size_t n = q->len[q->head % QCAP];
    CHECK(n <= cap, "datagram larger than wolfSSL's buffer");
    memcpy(b, q->d[q->head % QCAP], n);
    q->head++;
    return n;
}

struct end {
    WOLFSSL *ssl;
    struct queue in, out;
};

static int io_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    (void)ssl;
    size_t n = q_get(&((struct end *)ctx)->in, (uint8_t *)buf, (size_t)sz);
    return n ? (int)n : WOLFSSL_CBIO_ERR_WANT_READ;
}

static int io_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    (void)ssl;
    q_put(&((struct end *)ctx)->out, buf, (size_t)sz);
    return sz;
}

static void attach(struct end *e, WOLFSSL *ssl)
{
    memset(e, 0, sizeof *e);
    e->ssl = ssl;
    CHECK(ssl != NULL, "wolfSSL_new");
    wolfSSL_SetIOReadCtx(ssl, e);
    wolfSSL_SetIOWriteCtx(ssl, e);
    wolfSSL_dtls_set_using_nonblock(ssl, 1);
}

/* ---- the case --------------------------------------------------------------- */

struct kase {
    const char *name;
    bool dtls13;
    const char *client_suites; /* NULL: wolfSSL's default */
    const char *server_suites; /* NULL: the facade's default (the suites the engine carries) */
    int server_suite_ids[4];   /* the same as IANA numbers */
    int key_share;             /* the client's one key share; 0: wolfSSL's; -1: none */
    int client_groups[4];      /* the client's supported_groups; {0}: wolfSSL's */
    bool cid;
    bool ipv6;
};

static WOLFSSL_CTX *server_ctx(const struct kase *k)
{
    WOLFSSL_CTX *ctx = wolfSSL_CTX_new(k->dtls13 ? wolfDTLSv1_3_server_method()
                                                 : wolfDTLSv1_2_server_method());
    CHECK(ctx != NULL, "server ctx");
    wolfSSL_CTX_SetIORecv(ctx, io_recv);
    wolfSSL_CTX_SetIOSend(ctx, io_send);
    char path[512];
    snprintf(path, sizeof path, "%s/server-ecc.pem", certdir);
    CHECK(wolfSSL_CTX_use_certificate_file(ctx, path, WOLFSSL_FILETYPE_PEM) == WOLFSSL_SUCCESS,
          "%s", path);
    snprintf(path, sizeof path, "%s/ecc-key.pem", certdir);
    CHECK(wolfSSL_CTX_use_PrivateKey_file(ctx, path, WOLFSSL_FILETYPE_PEM) == WOLFSSL_SUCCESS,
          "%s", path);
    char list[4096];
    if (k->server_suites)
        snprintf(list, sizeof list, "%s", k->server_suites);
    else
        CHECK(zrec_wolfssl_cipher_list(list, sizeof list) > 0, "cipher list");
    CHECK(wolfSSL_CTX_set_cipher_list(ctx, list) == WOLFSSL_SUCCESS, "server suites");
    if (k->dtls13)
        CHECK(wolfSSL_CTX_set_groups(ctx, (int *)zs_cookie_groups, ZS_COOKIE_NGROUPS) ==
                  WOLFSSL_SUCCESS,
              "server groups");
    return ctx;
}

/* A server object as the facade makes one per ClientHello (dtls_hs.c). */
static void server_new(struct end *e, WOLFSSL_CTX *ctx, const struct kase *k,
                       const struct sockaddr_storage *peer, socklen_t peer_len)
{
    attach(e, wolfSSL_new(ctx));
    CHECK(wolfSSL_dtls_set_peer(e->ssl, (void *)peer, peer_len) == WOLFSSL_SUCCESS, "peer");
    if (k->dtls13)
        CHECK(wolfSSL_send_hrr_cookie(e->ssl, secret, sizeof secret) == WOLFSSL_SUCCESS, "hrr");
    else
        CHECK(wolfSSL_DTLS_SetCookieSecret(e->ssl, secret, sizeof secret) == 0, "secret");
    if (k->cid)
        CHECK(wolfSSL_dtls_cid_use(e->ssl) == WOLFSSL_SUCCESS, "server cid");
}

static void server_free(struct end *e)
{
    wolfSSL_free(e->ssl);
    e->ssl = NULL;
}

static int wants(WOLFSSL *ssl, int rc)
{
    if (rc == WOLFSSL_SUCCESS)
        return 0;
    int err = wolfSSL_get_error(ssl, rc);
    CHECK(err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE,
          "handshake error %d (%s)", err, wolfSSL_ERR_reason_error_string(err));
    return 1;
}

static void peer_addr(const struct kase *k, int which, struct sockaddr_storage *a,
                      socklen_t *len)
{
    memset(a, 0, sizeof *a);
    if (k->ipv6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)a;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)(40000 + which));
        inet_pton(AF_INET6, which ? "::1" : "fe80::1", &s6->sin6_addr);
        *len = sizeof *s6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)a;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)(40000 + which));
        s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK + (uint32_t)which);
        *len = sizeof *s4;
    }
}

static void hexdump(const char *what, const uint8_t *b, size_t n)
{
    fprintf(stderr, "%s (%zu bytes):", what, n);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%s%02x", i % 32 ? "" : "\n  ", b[i]);
    fprintf(stderr, "\n");
}

/* Where the cookie starts in a whole ClientHello datagram: the DTLS 1.2
 * legacy cookie, or the DTLS 1.3 cookie extension's (RFC 8446 §4.2.2);
 * 0: none. */
static size_t cookie_offset(const uint8_t *b, size_t n, bool dtls13)
{
    size_t i = 25 + 2 + 32;         /* record and handshake headers, version, random */
    i += 1 + b[i];                  /* session_id */
    if (!dtls13)
        return b[i] ? i + 1 : 0;    /* cookie<0..2^8-1> */
    i += 1 + b[i];                  /* legacy_cookie */
    i += 2 + (size_t)(b[i] << 8 | b[i + 1]); /* cipher_suites */
    i += 1 + b[i];                  /* compression_methods */
    size_t end = i + 2 + (size_t)(b[i] << 8 | b[i + 1]);
    CHECK(end <= n, "extensions within the datagram");
    for (i += 2; i + 4 <= end;) {
        unsigned type = (unsigned)(b[i] << 8 | b[i + 1]);
        size_t len = (size_t)(b[i + 2] << 8 | b[i + 3]);
        if (type == 44)
            return i + 4 + 2;       /* the extension's header, the cookie's length */
        i += 4 + len;
    }
    return 0;
}

static const char *verdict_name(enum zs_cookie_verdict v)
{
    static const char *names[] = {"VALID", "ANSWER", "DEFER", "DROP"};
    return names[v];
}

/* One datagram through both: wolfSSL's answer (a fresh object, as the
 * facade used to make per ClientHello) and ours must be equal. */
static void compare_answers(const char *step, const struct kase *k, WOLFSSL_CTX *sctx,
                            const struct zs_cookie_conf *conf, const uint8_t *hello, size_t n,
                            const struct sockaddr_storage *peer, socklen_t peer_len)
{
    struct end sv;
    server_new(&sv, sctx, k, peer, peer_len);
    q_put(&sv.in, hello, n);
    (void)wants(sv.ssl, wolfSSL_accept(sv.ssl));
    uint8_t ref[4096];
    size_t refl = q_get(&sv.out, ref, sizeof ref);
    CHECK(refl > 0 && sv.out.head == sv.out.tail,
          "%s: wolfSSL answers with one datagram (%zu bytes, %d more)", step, refl,
          sv.out.tail - sv.out.head);
    server_free(&sv);
    uint8_t ours[ZS_COOKIE_ANSWER_MAX];
    size_t oursl = 0;
    enum zs_cookie_verdict v = zs_cookie_check(conf, hello, n, peer, peer_len, ours,
                                               sizeof ours, &oursl, &valid_with);
    if (v != ZS_COOKIE_ANSWER || oursl != refl || memcmp(ours, ref, refl) != 0) {
        hexdump("ClientHello", hello, n);
        hexdump("wolfSSL's answer", ref, refl);
        if (v == ZS_COOKIE_ANSWER)
            hexdump("the exchange's answer", ours, oursl);
        CHECK(false, "%s: the exchange (%s) answers as wolfSSL does", step, verdict_name(v));
    }
}

/* A DTLS 1.3 ClientHello with a bad cookie: the exchange asks for a new
 * one, an HelloRetryRequest whose cookie is valid for this address. */
static void fresh_request(const char *step, const struct zs_cookie_conf *conf,
                          const uint8_t *hello, size_t n, const struct sockaddr_storage *peer,
                          socklen_t peer_len)
{
    static const uint8_t hrr_random[] = {0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11};
    uint8_t ans[ZS_COOKIE_ANSWER_MAX];
    size_t ansl = 0;
    enum zs_cookie_verdict v = zs_cookie_check(conf, hello, n, peer, peer_len, ans, sizeof ans,
                                               &ansl, &valid_with);
    CHECK(v == ZS_COOKIE_ANSWER, "%s: a new cookie request (%s)", step, verdict_name(v));
    CHECK(ansl > 27 + sizeof hrr_random && ans[13] == 2 &&
              memcmp(ans + 27, hrr_random, sizeof hrr_random) == 0,
          "%s: the answer is a HelloRetryRequest", step);
}

/* Does a fresh wolfSSL server object answer this ClientHello with more
 * than a cookie request? */
static bool wolfssl_goes_on(const struct kase *k, WOLFSSL_CTX *sctx, const uint8_t *hello,
                            size_t n, const struct sockaddr_storage *peer, socklen_t peer_len)
{
    struct end sv;
    server_new(&sv, sctx, k, peer, peer_len);
    q_put(&sv.in, hello, n);
    (void)wolfSSL_accept(sv.ssl);
    int sent = sv.out.tail - sv.out.head;
    server_free(&sv);
    return sent > 1;
}

static void run_case(const struct kase *k)
{
    WOLFSSL_CTX *sctx = server_ctx(k);
    WOLFSSL_CTX *cctx = wolfSSL_CTX_new(k->dtls13 ? wolfDTLSv1_3_client_method()
                                                  : wolfDTLSv1_2_client_method());
    CHECK(cctx != NULL, "client ctx");
    wolfSSL_CTX_SetIORecv(cctx, io_recv);
    wolfSSL_CTX_SetIOSend(cctx, io_send);
    wolfSSL_CTX_set_verify(cctx, WOLFSSL_VERIFY_NONE, NULL);
    if (k->client_suites)
        CHECK(wolfSSL_CTX_set_cipher_list(cctx, k->client_suites) == WOLFSSL_SUCCESS,
              "client suites");
    int ngroups = 0;
    while (ngroups < 4 && k->client_groups[ngroups])
        ngroups++;
    if (ngroups)
        CHECK(wolfSSL_CTX_set_groups(cctx, (int *)k->client_groups, ngroups) == WOLFSSL_SUCCESS,
              "client groups");
    struct end cl;
    attach(&cl, wolfSSL_new(cctx));
    if (k->key_share > 0)
        CHECK(wolfSSL_UseKeyShare(cl.ssl, (word16)k->key_share) == WOLFSSL_SUCCESS, "key share");
    else if (k->key_share < 0)
        CHECK(wolfSSL_NoKeyShares(cl.ssl) == WOLFSSL_SUCCESS, "no key shares");
    if (k->cid)
        CHECK(wolfSSL_dtls_cid_use(cl.ssl) == WOLFSSL_SUCCESS, "client cid");

    int ids[MAX_SUITES_FOR_TEST];
    int nids = 0;
    if (k->server_suites) {
        while (nids < 4 && k->server_suite_ids[nids])
            ids[nids] = k->server_suite_ids[nids], nids++;
    } else {
        uint16_t u[MAX_SUITES_FOR_TEST];
        nids = zrec_wolfssl_suite_ids(u, MAX_SUITES_FOR_TEST);
        for (int i = 0; i < nids; i++)
            ids[i] = u[i];
    }
    const struct zs_cookie_conf conf = {.secret = secret,
                                        .secret_len = sizeof secret,
                                        .dtls13 = k->dtls13,
                                        .suites = ids,
                                        .nsuites = nids,
                                        .groups = zs_cookie_groups,
                                        .ngroups = ZS_COOKIE_NGROUPS};
    struct sockaddr_storage peer, other;
    socklen_t peer_len, other_len;
    peer_addr(k, 0, &peer, &peer_len);
    peer_addr(k, 1, &other, &other_len);

    /* ClientHello1 */
    CHECK(wants(cl.ssl, wolfSSL_connect(cl.ssl)), "client waits for the server");
    uint8_t ch1[4096];
    size_t ch1l = q_get(&cl.out, ch1, sizeof ch1);
    CHECK(ch1l > 0, "ClientHello1");
    compare_answers("ClientHello1", k, sctx, &conf, ch1, ch1l, &peer, peer_len);

    /* Our cookie request to the client, ClientHello2 back. */
    uint8_t ans[ZS_COOKIE_ANSWER_MAX];
    size_t ansl = 0;
    CHECK(zs_cookie_check(&conf, ch1, ch1l, &peer, peer_len, ans, sizeof ans, &ansl, &valid_with) ==
              ZS_COOKIE_ANSWER,
          "answer");
    q_put(&cl.in, ans, ansl);
    CHECK(wants(cl.ssl, wolfSSL_connect(cl.ssl)), "client waits after the cookie request");
    uint8_t ch2[4096];
    size_t ch2l = q_get(&cl.out, ch2, sizeof ch2);
    CHECK(ch2l > 0 && ch2[0] == 22 && ch2[13] == 1, "ClientHello2");
    size_t scratch;
    enum zs_cookie_verdict v =
        zs_cookie_check(&conf, ch2, ch2l, &peer, peer_len, ans, sizeof ans, &scratch, &valid_with);
    CHECK(v == ZS_COOKIE_VALID && valid_with == secret, "ClientHello2's cookie is valid (%s)",
          verdict_name(v));
    /* After one rotation the cookie is still good, made by the previous
     * secret (the handshake below checks it with that one, as the facade's
     * wolfSSL object does); after two it is stale: a new request. */
    uint8_t newer[32], newest[32];
    memset(newer, 0xa5, sizeof newer);
    memset(newest, 0x5a, sizeof newest);
    struct zs_cookie_conf rotated = conf, stale = conf;
    rotated.secret = newer;
    rotated.previous = secret;
    stale.secret = newest;
    stale.previous = newer;
    v = zs_cookie_check(&rotated, ch2, ch2l, &peer, peer_len, ans, sizeof ans, &scratch,
                        &valid_with);
    CHECK(v == ZS_COOKIE_VALID && valid_with == secret,
          "after a rotation: valid with the previous secret (%s)", verdict_name(v));
    v = zs_cookie_check(&stale, ch2, ch2l, &peer, peer_len, ans, sizeof ans, &scratch,
                        &valid_with);
    CHECK(v == ZS_COOKIE_ANSWER, "after two rotations: a new cookie request (%s)",
          verdict_name(v));

    /* Tampered: one byte of the cookie flipped, five bytes into it. */
    uint8_t bad[4096];
    memcpy(bad, ch2, ch2l);
    size_t at = cookie_offset(ch2, ch2l, k->dtls13) + 5;
    CHECK(at > 5 && at < ch2l, "cookie found in ClientHello2");
    bad[at] ^= 0x40;
    if (!k->dtls13) {
        compare_answers("ClientHello2, cookie tampered", k, sctx, &conf, bad, ch2l, &peer,
                        peer_len);
        compare_answers("ClientHello2 from another address", k, sctx, &conf, ch2, ch2l, &other,
                        other_len);
    } else {
        /* wolfSSL 5.5.4 has no answer to hold ours against here: its
         * DTLS 1.3 server goes on with a cookie that fails its check
         * (tls13.c DoTls13ClientHello: after HRR_COOKIE_ERROR the state
         * falls through to SERVER_HELLO_COMPLETE), so a forged cookie gets
         * the whole server flight.  The exchange answers it with a new
         * cookie request, and never passes it on. */
        fresh_request("ClientHello2, cookie tampered", &conf, bad, ch2l, &peer, peer_len);
        fresh_request("ClientHello2 from another address", &conf, ch2, ch2l, &other,
                      other_len);
        printf("   wolfSSL itself on a tampered cookie: %s\n",
               wolfssl_goes_on(k, sctx, bad, ch2l, &peer, peer_len)
                   ? "goes on with the handshake (its 5.5.4 defect)"
                   : "asks for a cookie again");
    }

    /* The handshake: a fresh server object for ClientHello2 (the facade's
     * next step), then datagrams both ways until both are done. */
    struct end sv;
    server_new(&sv, sctx, k, &peer, peer_len);
    q_put(&sv.in, ch2, ch2l);
    bool cdone = false, sdone = false;
    uint8_t buf[4096];
    for (int round = 0; round < 50 && !(cdone && sdone); round++) {
        if (!sdone)
            sdone = !wants(sv.ssl, wolfSSL_accept(sv.ssl));
        size_t n;
        while ((n = q_get(&sv.out, buf, sizeof buf)) > 0)
            q_put(&cl.in, buf, n);
        if (!cdone)
            cdone = !wants(cl.ssl, wolfSSL_connect(cl.ssl));
        while ((n = q_get(&cl.out, buf, sizeof buf)) > 0)
            q_put(&sv.in, buf, n);
    }
    CHECK(cdone && sdone, "the handshake completes after our cookie exchange");
    const char *cs = wolfSSL_get_cipher_name(sv.ssl);
    printf("ok %s: answers equal (%zu bytes), handshake done (%s)\n", k->name, ansl,
           cs ? cs : "?");
    server_free(&sv);
    wolfSSL_free(cl.ssl);
    wolfSSL_CTX_free(cctx);
    wolfSSL_CTX_free(sctx);
}

/* A DTLS 1.3 server that has TLS_AES_128_GCM_SHA256 only. */
static struct zs_cookie_conf conf13(void)
{
    static const int ids[] = {0x1301};
    return (struct zs_cookie_conf){.secret = secret,
                                   .secret_len = sizeof secret,
                                   .dtls13 = true,
                                   .suites = ids,
                                   .nsuites = 1,
                                   .groups = zs_cookie_groups,
                                   .ngroups = ZS_COOKIE_NGROUPS};
}

/* What the exchange does not answer itself. */
static void left_alone(void)
{
    const struct zs_cookie_conf c13 = conf13();
    struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(1)};
    uint8_t out[ZS_COOKIE_ANSWER_MAX], ch[4096];
    size_t n, outl;
    struct end cl;

    /* A DTLS 1.2 ClientHello at a DTLS 1.3 server: wolfSSL's (an alert). */
    WOLFSSL_CTX *cctx = wolfSSL_CTX_new(wolfDTLSv1_2_client_method());
    wolfSSL_CTX_SetIORecv(cctx, io_recv);
    wolfSSL_CTX_SetIOSend(cctx, io_send);
    attach(&cl, wolfSSL_new(cctx));
    CHECK(wants(cl.ssl, wolfSSL_connect(cl.ssl)), "DTLS 1.2 client");
    n = q_get(&cl.out, ch, sizeof ch);
    CHECK(zs_cookie_check(&c13, ch, n, &peer, sizeof peer, out, sizeof out, &outl, &valid_with) ==
              ZS_COOKIE_DEFER,
          "a DTLS 1.2 ClientHello is left to a DTLS 1.3 server's wolfSSL");
    /* Every cut of it is dropped by a DTLS 1.2 server, and nothing reads
     * past the end (the sanitizers watch). */
    const struct zs_cookie_conf c12 = {.secret = secret, .secret_len = sizeof secret};
    for (size_t cut = 0; cut < n; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, ch, cut);
        enum zs_cookie_verdict v =
            zs_cookie_check(&c12, copy, cut, &peer, sizeof peer, out, sizeof out, &outl, &valid_with);
        /* A cut datagram whose record header still claims the whole
         * record is dropped; the whole one gets a cookie request. */
        CHECK(v == ZS_COOKIE_DROP, "cut at %zu: dropped (%s)", cut, verdict_name(v));
        free(copy);
    }
    CHECK(zs_cookie_check(&c12, ch, n, &peer, sizeof peer, out, sizeof out, &outl, &valid_with) ==
              ZS_COOKIE_ANSWER,
          "the whole DTLS 1.2 ClientHello is answered");
    /* A fragmented ClientHello (fragment_length short of length) is dropped. */
    ch[13 + 11] ^= 1;
    CHECK(zs_cookie_check(&c12, ch, n, &peer, sizeof peer, out, sizeof out, &outl, &valid_with) ==
              ZS_COOKIE_DROP,
          "a fragment is dropped");
    wolfSSL_free(cl.ssl);
    wolfSSL_CTX_free(cctx);
    printf("ok left to wolfSSL or dropped: DTLS 1.2 at 1.3, cuts, fragments\n");
}

static unsigned int psk_cb(WOLFSSL *ssl, const char *hint, char *identity,
                           unsigned int id_max, unsigned char *key, unsigned int key_max,
                           const char **suite)
{
    (void)ssl;
    (void)hint;
    (void)key_max;
    snprintf(identity, id_max, "cookie");
    memset(key, 7, 16);
    *suite = "TLS13-AES128-GCM-SHA256";
    return 16;
}

static void psk_deferred(void)
{
    const struct zs_cookie_conf c13 = conf13();
    struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(1)};
    WOLFSSL_CTX *cctx = wolfSSL_CTX_new(wolfDTLSv1_3_client_method());
    wolfSSL_CTX_SetIORecv(cctx, io_recv);
    wolfSSL_CTX_SetIOSend(cctx, io_send);
    wolfSSL_CTX_set_psk_client_tls13_callback(cctx, psk_cb);
    struct end cl;
    attach(&cl, wolfSSL_new(cctx));
    CHECK(wants(cl.ssl, wolfSSL_connect(cl.ssl)), "PSK client");
    uint8_t ch[4096], out[ZS_COOKIE_ANSWER_MAX];
    size_t n = q_get(&cl.out, ch, sizeof ch), outl;
    CHECK(zs_cookie_check(&c13, ch, n, &peer, sizeof peer, out, sizeof out, &outl, &valid_with) ==
              ZS_COOKIE_DEFER,
          "a ClientHello with pre_shared_key is left to wolfSSL");
    wolfSSL_free(cl.ssl);
    wolfSSL_CTX_free(cctx);
    printf("ok pre_shared_key left to wolfSSL\n");
}

int main(int argc, char **argv)
{
    CHECK(argc == 2, "usage: cookie_diff CERTDIR");
    certdir = argv[1];
    CHECK(wolfSSL_Init() == WOLFSSL_SUCCESS, "wolfSSL_Init");
    for (size_t i = 0; i < sizeof secret; i++)
        secret[i] = (uint8_t)(i * 7 + 1);
    enum { P256 = 23, P384 = 24, X25519 = 29 };
    const struct kase cases[] = {
        {.name = "dtls12"},
        {.name = "dtls12-ipv6", .ipv6 = true},
        {.name = "dtls12-chacha", .client_suites = "ECDHE-ECDSA-CHACHA20-POLY1305"},
        {.name = "dtls13", .dtls13 = true},
        {.name = "dtls13-ipv6", .dtls13 = true, .ipv6 = true},
        {.name = "dtls13-aes256-sha384", .dtls13 = true,
         .client_suites = "TLS13-AES256-GCM-SHA384"},
        {.name = "dtls13-client-prefers-chacha", .dtls13 = true,
         .client_suites = "TLS13-CHACHA20-POLY1305-SHA256:TLS13-AES128-GCM-SHA256"},
        {.name = "dtls13-server-prefers-aes256", .dtls13 = true,
         .server_suites = "TLS13-AES256-GCM-SHA384:TLS13-AES128-GCM-SHA256",
         .server_suite_ids = {0x1302, 0x1301}},
        {.name = "dtls13-x25519", .dtls13 = true, .key_share = X25519,
         .client_groups = {X25519, P256}},
        {.name = "dtls13-p384", .dtls13 = true, .key_share = P384,
         .client_groups = {P384, P256}},
        {.name = "dtls13-no-key-share", .dtls13 = true, .key_share = -1},
        {.name = "dtls13-no-key-share-x25519-first", .dtls13 = true, .key_share = -1,
         .client_groups = {X25519, P384}},
        {.name = "dtls13-cid", .dtls13 = true, .cid = true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        run_case(&cases[i]);
    left_alone();
    psk_deferred();
    wolfSSL_Cleanup();
    return 0;
}
