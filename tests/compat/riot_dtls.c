/*
 * RIOT's sock_udp, credman and sock_dtls on Linux (facade/compat/riot,
 * docs/COMPAT.md), in the style of RIOT's own tests: credman's unit tests
 * (tests/unittests/tests-credman), UDP socks, and DTLS echo clients and
 * servers with PSK and ECDSA credentials, zrec against zrec and against
 * real peers (gnutls-serv --udp --echo, openssl s_client -dtls1_2), with
 * the failures RIOT documents: wrong PSK, untrusted keys, handshake
 * timeouts, refused.
 *
 * Usage: riot_dtls CERTS_DIR KEYS_DIR
 */
#define CONFIG_CREDMAN_MAX_CREDENTIALS 8 /* this program's pool, as a RIOT build sets it */

#include "peers.h"

#include "net/credman.h"
#include "net/sock/dtls.h"
#include "net/sock/dtls/creds.h"
#include "net/sock/udp.h"
#include "net/sock/util.h"

#include "riot/keys.h"

static const char *keys_dir;

/* ---- credman (RIOT's tests-credman, and the pool's size) ------------------------ */

static void test_credman(void)
{
    static const char key[] = "LGPLisyourfriend", id[] = "RIOTer";
    credman_credential_t c = {.type = CREDMAN_TYPE_PSK, .tag = 1,
                              .params.psk = {.key = {key, sizeof key - 1},
                                             .id = {id, sizeof id - 1}}};
    credman_reset();
    CHECK(credman_get_used_count() == 0, "empty pool");
    CHECK(credman_add(&c) == CREDMAN_OK && credman_get_used_count() == 1, "add");
    CHECK(credman_add(&c) == CREDMAN_EXIST && credman_get_used_count() == 1, "add twice");
    credman_credential_t bad = c;
    memset(&bad.params.psk, 0, sizeof bad.params.psk);
    CHECK(credman_add(&bad) == CREDMAN_INVALID, "PSK without key");
    bad = c;
    bad.tag = CREDMAN_TAG_EMPTY;
    CHECK(credman_add(&bad) == CREDMAN_INVALID, "empty tag");
    bad = c;
    bad.type = (credman_type_t)7;
    CHECK(credman_add(&bad) == CREDMAN_TYPE_UNKNOWN, "unknown type");
    bad = c;
    bad.type = CREDMAN_TYPE_ECDSA;
    memset(&bad.params, 0, sizeof bad.params);
    CHECK(credman_add(&bad) == CREDMAN_INVALID, "ECDSA without keys");
    /* The same tag with another type is another credential. */
    credman_credential_t e = {.type = CREDMAN_TYPE_ECDSA, .tag = 1,
                              .params.ecdsa = {.private_key = client0_priv,
                                               .public_key = {client0_x, client0_y}}};
    CHECK(credman_add(&e) == CREDMAN_OK && credman_get_used_count() == 2, "ECDSA same tag");
    /* RIOT's default pool (2), the function itself: full. */
    c.tag = 2;
    CHECK((credman_add)(&c) == CREDMAN_NO_SPACE, "default pool of 2 is full");
    /* This program's pool (8). */
    while (credman_get_used_count() < CONFIG_CREDMAN_MAX_CREDENTIALS) {
        int rc = credman_add(&c);
        CHECK(rc == CREDMAN_OK, "fill: %d", rc);
        if (rc != CREDMAN_OK)
            break;
        c.tag++;
    }
    CHECK(credman_add(&c) == CREDMAN_NO_SPACE &&
              credman_get_used_count() == CONFIG_CREDMAN_MAX_CREDENTIALS,
          "full pool");
    /* get: a copy of the struct, the key by reference (not copied). */
    credman_credential_t got;
    CHECK(credman_get(&got, 1, CREDMAN_TYPE_ECDSA) == CREDMAN_OK && got.tag == 1 &&
              got.type == CREDMAN_TYPE_ECDSA && got.params.ecdsa.private_key == client0_priv,
          "get ECDSA");
    CHECK(credman_get(&got, 1, CREDMAN_TYPE_PSK) == CREDMAN_OK &&
              got.params.psk.key.s == key && got.params.psk.key.len == sizeof key - 1,
          "get PSK");
    CHECK(credman_get(&got, 99, CREDMAN_TYPE_PSK) == CREDMAN_NOT_FOUND, "get missing");
    /* delete, in any order; freed slots are reused. */
    int n = credman_get_used_count();
    credman_delete(99, CREDMAN_TYPE_PSK);
    CHECK(credman_get_used_count() == n, "delete missing");
    credman_delete(1, CREDMAN_TYPE_PSK);
    CHECK(credman_get_used_count() == n - 1 && credman_get(&got, 1, CREDMAN_TYPE_PSK) ==
                                                   CREDMAN_NOT_FOUND,
          "delete");
    CHECK(credman_get(&got, 1, CREDMAN_TYPE_ECDSA) == CREDMAN_OK, "the other type stays");
    credman_delete(1, CREDMAN_TYPE_PSK);
    CHECK(credman_get_used_count() == n - 1, "delete twice");
    c.tag = 1;
    CHECK(credman_add(&c) == CREDMAN_OK && credman_get_used_count() == n, "slot reused");
    credman_reset();
    CHECK(credman_get_used_count() == 0, "reset");
}

/* ---- sock_udp ------------------------------------------------------------------ */

static sock_udp_ep_t ep6(uint16_t port)
{
    sock_udp_ep_t ep = SOCK_IPV6_EP_ANY;
    ipv6_addr_from_str((ipv6_addr_t *)ep.addr.ipv6, "::1");
    ep.port = port;
    return ep;
}

static sock_udp_ep_t ep4(uint16_t port)
{
    sock_udp_ep_t ep = SOCK_IPV4_EP_ANY;
    ipv4_addr_from_str((ipv4_addr_t *)ep.addr.ipv4, "127.0.0.1");
    ep.port = port;
    return ep;
}

static void test_udp(void)
{
    sock_udp_t a, b, u;
    sock_udp_ep_t any6 = SOCK_IPV6_EP_ANY, any4 = SOCK_IPV4_EP_ANY, ep, from;
    CHECK(sock_udp_create(&a, &any6, NULL, 0) == 0, "create a");
    CHECK(sock_udp_get_local(&a, &ep) == 0 && ep.port != 0 && ep.family == AF_INET6,
          "ephemeral port");
    uint16_t aport = ep.port;
    CHECK(sock_udp_get_remote(&a, &ep) == -ENOTCONN, "no remote");
    sock_udp_ep_t ra = ep6(aport);
    CHECK(sock_udp_create(&b, NULL, &ra, 0) == 0, "create b (remote only)");
    char buf[64];
    CHECK(sock_udp_recv(&b, buf, sizeof buf, 0, NULL) == -EADDRNOTAVAIL, "b has no port yet");
    CHECK(sock_udp_send(&b, "hello", 5, NULL) == 5, "send to the sock's remote");
    CHECK(sock_udp_get_local(&b, &ep) == 0 && ep.port != 0, "b got a port by sending");
    uint16_t bport = ep.port;
    ssize_t n = sock_udp_recv(&a, buf, sizeof buf, 1000000, &from);
    CHECK(n == 5 && memcmp(buf, "hello", 5) == 0 && from.port == bport, "recv: %zd", n);
    /* Timeouts (µs): 0 does not wait; a timeout is never early. */
    CHECK(sock_udp_recv(&a, buf, sizeof buf, 0, NULL) == -EAGAIN, "timeout 0");
    long long t0 = peers_now_ms();
    n = sock_udp_recv(&a, buf, sizeof buf, 60000, NULL);
    long long dt = peers_now_ms() - t0;
    CHECK(n == -ETIMEDOUT && dt >= 60 && dt < 1000, "timeout 60 ms: %zd after %lld ms", n, dt);
    /* Longer than the buffer: -ENOBUFS, and the datagram is gone. */
    CHECK(sock_udp_send(&b, "0123456789", 10, NULL) == 10, "send 10");
    CHECK(sock_udp_recv(&a, buf, 4, 1000000, NULL) == -ENOBUFS, "ENOBUFS");
    CHECK(sock_udp_recv(&a, buf, sizeof buf, 0, NULL) == -EAGAIN, "dropped");
    /* Gather send; zero-copy receive and its release. */
    iolist_t s3 = {NULL, "ghi", 3}, s2 = {&s3, "def", 3}, s1 = {&s2, "abc", 3};
    CHECK(sock_udp_sendv(&b, &s1, NULL) == 9, "sendv");
    void *data = NULL, *ctx = NULL;
    n = sock_udp_recv_buf(&a, &data, &ctx, 1000000, NULL);
    CHECK(n == 9 && data && ctx && memcmp(data, "abcdefghi", 9) == 0, "recv_buf: %zd", n);
    CHECK(sock_udp_recv_buf(&a, &data, &ctx, 0, NULL) == 0 && data == NULL && ctx == NULL,
          "recv_buf release");
    /* Bad destinations. */
    sock_udp_ep_t p0 = ep6(0);
    CHECK(sock_udp_send(&a, "x", 1, &p0) == -EINVAL, "port 0");
    sock_udp_ep_t zero = SOCK_IPV6_EP_ANY;
    zero.port = 9;
    CHECK(sock_udp_send(&a, "x", 1, &zero) == -EINVAL, "unspecified address");
    sock_udp_ep_t weird = ep6(9);
    weird.family = 77;
    CHECK(sock_udp_send(&a, "x", 1, &weird) == -EAFNOSUPPORT, "unknown family");
    CHECK(sock_udp_send(&a, "x", 1, NULL) == -ENOTCONN, "no remote to send to");
    /* No sock at all: from a port of the moment. */
    sock_udp_ep_t ta = ep6(aport);
    CHECK(sock_udp_send(NULL, "anon", 4, &ta) == 4, "send without a sock");
    CHECK(sock_udp_recv(&a, buf, sizeof buf, 1000000, &from) == 4 && from.port != bport,
          "from a port of the moment");
    /* SOCK_FLAGS_CONNECT_REMOTE: only the remote may answer. */
    sock_udp_ep_t rb = ep6(bport);
    CHECK(sock_udp_create(&u, &any6, &rb, SOCK_FLAGS_CONNECT_REMOTE) == 0, "create u");
    CHECK(sock_udp_get_local(&u, &ep) == 0, "u local");
    sock_udp_ep_t tu = ep6(ep.port);
    CHECK(sock_udp_send(&a, "intruder", 8, &tu) == 8, "send to u");
    CHECK(sock_udp_recv(&u, buf, sizeof buf, 1000000, NULL) == -EPROTO, "EPROTO");
    sock_udp_close(&u);
    CHECK(sock_udp_recv(&u, buf, sizeof buf, 0, NULL) == -EINVAL, "closed sock");
    /* IPv4, and an address in use. */
    sock_udp_t c4, d4;
    CHECK(sock_udp_create(&c4, &any4, NULL, 0) == 0 && sock_udp_get_local(&c4, &ep) == 0 &&
              ep.family == AF_INET,
          "IPv4 sock");
    sock_udp_ep_t same = SOCK_IPV4_EP_ANY;
    same.port = ep.port;
    CHECK(sock_udp_create(&d4, &same, NULL, 0) == -EADDRINUSE, "EADDRINUSE");
    sock_udp_ep_t t4 = ep4(ep.port);
    CHECK(sock_udp_send(&a, "x", 1, &t4) == -EAFNOSUPPORT, "IPv4 to an IPv6 sock");
    sock_udp_close(&c4);
    /* Endpoints as text. */
    char str[IPV6_ADDR_MAX_STR_LEN];
    uint16_t port;
    CHECK(sock_udp_ep_fmt(&ta, str, &port) == 3 && strcmp(str, "::1") == 0 && port == aport,
          "ep_fmt: %s", str);
    CHECK(sock_udp_str2ep(&ep, "[::1]:5683") == 0 && ep.port == 5683 && ep.addr.ipv6[15] == 1,
          "str2ep v6");
    CHECK(sock_udp_str2ep(&ep, "192.0.2.7:61616") == 0 && ep.port == 61616 &&
              ep.addr.ipv4[0] == 192 && ep.addr.ipv4[3] == 7,
          "str2ep v4");
    CHECK(sock_udp_str2ep(&ep, "[::1") == -EINVAL && sock_udp_str2ep(&ep, "x:1") == -EINVAL,
          "str2ep bad");
    sock_udp_close(&a);
    sock_udp_close(&b);
}

/* ---- DTLS: a zrec echo server in a thread ----------------------------------------- */

/* Tags: RIOT's example's numbers where it has them; no tag holds both a
 * PSK and a key pair (a handshake then has one way to succeed). */
#define SRV_PSK 12
#define SRV_ECC0 10
#define SRV_ECC1 11
#define CLI_PSK0 4
#define CLI_PSK1 3
#define CLI_ECC 2

static const char psk_id0[] = "Identity_0", psk_key0[] = "secretPSK", psk_hint0[] = "Prefer_Id_0";
static const char psk_id1[] = "Identity_1", psk_key1[] = "yetAnotherSecret",
                  psk_hint1[] = "Prefer_Id_1";
static ecdsa_public_key_t trusted_client_keys[] = {{client0_x, client0_y}};
static ecdsa_public_key_t trusted_server_keys[] = {{server0_x, server0_y}, {server1_x, server1_y}};
static ecdsa_public_key_t stranger_keys[] = {{stranger_x, stranger_y}};

static void add_psk(credman_tag_t tag, const char *id, const char *key, const char *hint)
{
    credman_credential_t c = {.type = CREDMAN_TYPE_PSK, .tag = tag,
                              .params.psk = {.key = {key, strlen(key)},
                                             .id = {id, strlen(id)},
                                             .hint = {hint, hint ? strlen(hint) : 0}}};
    int rc = credman_add(&c);
    CHECK(rc == CREDMAN_OK, "credman_add PSK %u: %d", tag, rc);
}

static void add_ecdsa(credman_tag_t tag, const uint8_t *priv, const uint8_t *x, const uint8_t *y,
                      ecdsa_public_key_t *trusted, size_t ntrusted)
{
    credman_credential_t c = {.type = CREDMAN_TYPE_ECDSA, .tag = tag,
                              .params.ecdsa = {.private_key = priv, .public_key = {x, y},
                                               .client_keys = trusted,
                                               .client_keys_size = ntrusted}};
    int rc = credman_add(&c);
    CHECK(rc == CREDMAN_OK, "credman_add ECDSA %u: %d", tag, rc);
}

struct server {
    sock_udp_t udp;
    sock_dtls_t dtls;
    uint16_t port;
    unsigned version;
    bool ecc, destroy_after_echo;
    credman_tag_t rpk_tag;
    volatile bool stop;
    volatile int handshakes, echoed, errors;
    pthread_t thread;
};

static credman_tag_t server_rpk_cb(sock_dtls_t *sock, sock_udp_ep_t *ep, credman_tag_t tags[],
                                   unsigned tags_len)
{
    (void)ep, (void)tags, (void)tags_len;
    struct server *s = (struct server *)((char *)sock - offsetof(struct server, dtls));
    return s->rpk_tag;
}

static void *server_main(void *arg)
{
    struct server *s = arg;
    char buf[2048]; /* the longest record the clients send */
    while (!s->stop) {
        sock_dtls_session_t session = {0};
        ssize_t n = sock_dtls_recv(&s->dtls, &session, buf, sizeof buf, 100000);
        if (n >= 0) {
            if (sock_dtls_send(&s->dtls, &session, buf, (size_t)n, 0) == n)
                s->echoed++;
            else
                s->errors++;
            if (s->destroy_after_echo)
                sock_dtls_session_destroy(&s->dtls, &session);
        } else if (n == -SOCK_DTLS_HANDSHAKE) {
            s->handshakes++;
        } else if (n != -ETIMEDOUT) {
            s->errors++;
        }
    }
    return NULL;
}

static void server_start(struct server *s, unsigned version, bool ecc)
{
    memset(s, 0, sizeof *s);
    s->version = version;
    s->ecc = ecc;
    s->rpk_tag = SRV_ECC0;
    sock_udp_ep_t local = SOCK_IPV6_EP_ANY, ep;
    CHECK(sock_udp_create(&s->udp, &local, NULL, 0) == 0, "server udp");
    CHECK(sock_udp_get_local(&s->udp, &ep) == 0, "server port");
    s->port = ep.port;
    CHECK(sock_dtls_create(&s->dtls, &s->udp, ecc ? SRV_ECC0 : SRV_PSK, version,
                           SOCK_DTLS_SERVER) == 0,
          "server dtls");
    if (ecc) {
        CHECK(sock_dtls_add_credential(&s->dtls, SRV_ECC1) == 0, "second credential");
        sock_dtls_set_rpk_cb(&s->dtls, server_rpk_cb);
    } else {
        CHECK(sock_dtls_set_server_psk_id_hint(&s->dtls, psk_hint1) == 0, "hint");
    }
    pthread_create(&s->thread, NULL, server_main, s);
}

static void server_stop(struct server *s)
{
    s->stop = true;
    pthread_join(s->thread, NULL);
    sock_dtls_close(&s->dtls);
    sock_udp_close(&s->udp);
}

/* ---- DTLS clients -------------------------------------------------------------------- */

static int hints_seen, cb_calls;
static char last_hint[64];
static credman_tag_t cb_choice; /* what the callback picks (EMPTY: the sock's choice) */

/* RIOT's example callback: looks at the hint, leaves the choice to the sock. */
static credman_tag_t client_psk_cb(sock_dtls_t *sock, sock_udp_ep_t *ep, credman_tag_t tags[],
                                   unsigned tags_len, const char *hint, size_t hint_len)
{
    (void)sock, (void)tags, (void)tags_len;
    cb_calls++;
    char addr[IPV6_ADDR_MAX_STR_LEN];
    uint16_t port;
    if (sock_udp_ep_fmt(ep, addr, &port) > 0 && port && hint && hint_len < sizeof last_hint) {
        memcpy(last_hint, hint, hint_len);
        last_hint[hint_len] = '\0';
        hints_seen++;
    }
    return cb_choice;
}

/* One client session: handshake, `rounds` echoes of varied lengths, destroy.
 * Returns what the handshake's recv returned (-SOCK_DTLS_HANDSHAKE when it
 * worked). */
static ssize_t client_echo(uint16_t port, unsigned version, credman_tag_t tag,
                           credman_tag_t extra, bool psk_cb, int rounds, uint32_t hs_timeout)
{
    sock_udp_t udp;
    sock_dtls_t dtls;
    sock_dtls_session_t session;
    sock_udp_ep_t local = SOCK_IPV6_EP_ANY, remote = ep6(port);
    CHECK(sock_udp_create(&udp, &local, NULL, 0) == 0, "client udp");
    CHECK(sock_dtls_create(&dtls, &udp, tag, version, SOCK_DTLS_CLIENT) == 0, "client dtls");
    if (extra)
        CHECK(sock_dtls_add_credential(&dtls, extra) == 0, "add credential");
    if (psk_cb)
        sock_dtls_set_client_psk_cb(&dtls, client_psk_cb);
    int rc = sock_dtls_session_init(&dtls, &remote, &session);
    CHECK(rc == 1, "session_init: %d", rc);
    CHECK(sock_dtls_session_init(&dtls, &remote, &session) == 0, "session_init again: 0");
    sock_udp_ep_t other = ep6((uint16_t)(port + 1));
    sock_dtls_session_t s2;
    CHECK(sock_dtls_session_init(&dtls, &other, &s2) == -ENOMEM, "a second peer: ENOMEM");
    char buf[2048], out[2048];
    ssize_t hs = sock_dtls_recv(&dtls, &session, buf, sizeof buf, hs_timeout);
    if (hs == -SOCK_DTLS_HANDSHAKE) {
        CHECK(session.ep.port == port, "session's endpoint");
        for (int r = 0; r < rounds; r++) {
            size_t len = 1 + (size_t)(r * 397) % 1200;
            for (size_t i = 0; i < len; i++)
                out[i] = (char)(r + i * 7);
            ssize_t n = sock_dtls_send(&dtls, &session, out, len, 0);
            CHECK(n == (ssize_t)len, "send %zu: %zd", len, n);
            sock_dtls_session_t from;
            n = sock_dtls_recv(&dtls, &from, buf, sizeof buf, 2000000);
            CHECK(n == (ssize_t)len && memcmp(buf, out, len) == 0 && from.ep.port == port,
                  "echo %zu: %zd", len, n);
        }
        /* A record longer than the buffer: -ENOBUFS, and it is gone. */
        CHECK(sock_dtls_send(&dtls, &session, out, 100, 0) == 100, "send 100");
        CHECK(sock_dtls_recv(&dtls, &session, buf, 10, 2000000) == -ENOBUFS, "ENOBUFS");
        CHECK(sock_dtls_recv(&dtls, &session, buf, sizeof buf, 0) == -EAGAIN, "nothing left");
        /* Zero-copy receive. */
        CHECK(sock_dtls_send(&dtls, &session, "zero-copy", 9, 0) == 9, "send 9");
        void *data = NULL, *ctx = NULL;
        ssize_t n = sock_dtls_recv_buf(&dtls, &session, &data, &ctx, 2000000);
        CHECK(n == 9 && memcmp(data, "zero-copy", 9) == 0, "recv_buf: %zd", n);
        CHECK(sock_dtls_recv_buf(&dtls, &session, &data, &ctx, 0) == 0 && ctx == NULL,
              "recv_buf release");
    }
    sock_dtls_session_destroy(&dtls, &session);
    sock_dtls_close(&dtls);
    sock_udp_close(&udp);
    return hs;
}

static void test_psk(unsigned version)
{
    struct server s;
    server_start(&s, version, false);
    /* DTLS 1.2: the server's hint picks Identity_1 (tag 3), which the
     * server knows (RFC 4279 §5.2).  DTLS 1.3 has no hint (RFC 8446): the
     * callback picks it. */
    hints_seen = cb_calls = 0;
    cb_choice = version == SOCK_DTLS_1_3 ? CLI_PSK1 : CREDMAN_TAG_EMPTY;
    ssize_t hs = client_echo(s.port, version, CLI_PSK0, CLI_PSK1, true, 8, 5000000);
    cb_choice = CREDMAN_TAG_EMPTY;
    CHECK(hs == -SOCK_DTLS_HANDSHAKE, "PSK %u: handshake: %zd", version, hs);
    CHECK(cb_calls >= 1, "the client's PSK callback was asked");
    if (version == SOCK_DTLS_1_2)
        CHECK(hints_seen == 1 && strcmp(last_hint, psk_hint1) == 0, "hint seen: %d '%s'",
              hints_seen, last_hint);
    /* Only Identity_0, which the server does not know: the handshake fails,
     * with an error, well before the timeout; the server goes on. */
    long long t0 = peers_now_ms();
    hs = client_echo(s.port, version, CLI_PSK0, 0, false, 0, 3000000);
    CHECK(hs < 0 && hs != -SOCK_DTLS_HANDSHAKE, "wrong PSK %u: %zd", version, hs);
    CHECK(peers_now_ms() - t0 < 2900 || hs == -ETIMEDOUT, "wrong PSK: an error, not a hang");
    hs = client_echo(s.port, version, CLI_PSK1, 0, false, 2, 5000000);
    CHECK(hs == -SOCK_DTLS_HANDSHAKE, "PSK %u after a failure: %zd", version, hs);
    usleep(200000);
    server_stop(&s);
    /* Each session echoes its rounds, the record for -ENOBUFS and the
     * zero-copy one. */
    CHECK(s.handshakes == 2 && s.echoed == (8 + 2) + (2 + 2) && s.errors == 0,
          "server %u: %d handshakes, %d echoed, %d errors", version, s.handshakes, s.echoed,
          s.errors);
}

static void test_ecdsa(unsigned version)
{
    struct server s;
    server_start(&s, version, true);
    /* The server's callback picks either of its keys; the client trusts both. */
    for (int k = 0; k < 2; k++) {
        s.rpk_tag = k ? SRV_ECC1 : SRV_ECC0;
        ssize_t hs = client_echo(s.port, version, CLI_ECC, 0, false, 4, 5000000);
        CHECK(hs == -SOCK_DTLS_HANDSHAKE, "ECDSA %u key %d: %zd", version, k, hs);
    }
    /* A client the server does not know (its key is not in client_keys). */
    credman_delete(CLI_ECC, CREDMAN_TYPE_ECDSA);
    add_ecdsa(CLI_ECC, stranger_priv, stranger_x, stranger_y, trusted_server_keys, 2);
    ssize_t hs = client_echo(s.port, version, CLI_ECC, 0, false, 0, 3000000);
    CHECK(hs < 0 && hs != -SOCK_DTLS_HANDSHAKE, "untrusted client %u: %zd", version, hs);
    /* A client that does not trust the server's key. */
    credman_delete(CLI_ECC, CREDMAN_TYPE_ECDSA);
    add_ecdsa(CLI_ECC, client0_priv, client0_x, client0_y, stranger_keys, 1);
    hs = client_echo(s.port, version, CLI_ECC, 0, false, 0, 3000000);
    CHECK(hs < 0 && hs != -SOCK_DTLS_HANDSHAKE, "untrusted server %u: %zd", version, hs);
    credman_delete(CLI_ECC, CREDMAN_TYPE_ECDSA);
    add_ecdsa(CLI_ECC, client0_priv, client0_x, client0_y, trusted_server_keys, 2);
    usleep(200000);
    server_stop(&s);
    CHECK(s.handshakes == 2 && s.echoed == 2 * (4 + 2) && s.errors == 0,
          "ECDSA server %u: %d handshakes, %d echoed, %d errors", version, s.handshakes,
          s.echoed, s.errors);
}

/* sock_dtls_send() with a timeout makes the session itself (RIOT's recipe:
 * set the endpoint, send with a timeout); the next recv() reports it. */
static void test_send_handshake(void)
{
    struct server s;
    server_start(&s, SOCK_DTLS_1_2, false);
    sock_udp_t udp;
    sock_dtls_t dtls;
    sock_dtls_session_t session = {0};
    sock_udp_ep_t local = SOCK_IPV6_EP_ANY, remote = ep6(s.port);
    CHECK(sock_udp_create(&udp, &local, NULL, 0) == 0, "udp");
    CHECK(sock_dtls_create(&dtls, &udp, CLI_PSK1, SOCK_DTLS_1_2, SOCK_DTLS_CLIENT) == 0, "dtls");
    sock_dtls_session_set_udp_ep(&session, &remote);
    CHECK(sock_dtls_send(&dtls, &session, "now", 3, 0) == -ENOTCONN, "timeout 0: ENOTCONN");
    CHECK(sock_dtls_send(&dtls, &session, "now", 3, 5000000) == 3, "send with handshake");
    char buf[64];
    sock_dtls_session_t from;
    CHECK(sock_dtls_recv(&dtls, &from, buf, sizeof buf, 2000000) == -SOCK_DTLS_HANDSHAKE,
          "handshake reported");
    CHECK(sock_dtls_recv(&dtls, &from, buf, sizeof buf, 2000000) == 3 && memcmp(buf, "now", 3) == 0,
          "echo");
    sock_udp_ep_t ep;
    sock_dtls_session_get_udp_ep(&from, &ep);
    CHECK(ep.port == s.port, "get_udp_ep");
    CHECK(sock_dtls_get_udp_sock(&dtls) == &udp, "get_udp_sock");
    sock_dtls_session_destroy(&dtls, &session);
    sock_dtls_close(&dtls);
    /* The UDP sock is the application's again. */
    sock_udp_ep_t self;
    CHECK(sock_udp_get_local(&udp, &self) == 0, "udp local");
    sock_udp_ep_t to_self = ep6(self.port);
    CHECK(sock_udp_send(&udp, "plain", 5, &to_self) == 5 &&
              sock_udp_recv(&udp, buf, sizeof buf, 1000000, NULL) == 5,
          "UDP sock usable after sock_dtls_close");
    sock_udp_close(&udp);
    usleep(100000);
    server_stop(&s);
}

/* Nobody answers: the handshake times out (the recv timeout), and a
 * refused port says so. */
static void test_timeouts(void)
{
    sock_udp_t mute, udp;
    sock_dtls_t dtls;
    sock_dtls_session_t session;
    sock_udp_ep_t local = SOCK_IPV6_EP_ANY, ep;
    CHECK(sock_udp_create(&mute, &local, NULL, 0) == 0 && sock_udp_get_local(&mute, &ep) == 0,
          "mute");
    sock_udp_ep_t remote = ep6(ep.port);
    CHECK(sock_udp_create(&udp, &local, NULL, 0) == 0, "udp");
    CHECK(sock_dtls_create(&dtls, &udp, CLI_PSK1, SOCK_DTLS_1_2, SOCK_DTLS_CLIENT) == 0, "dtls");
    CHECK(sock_dtls_session_init(&dtls, &remote, &session) == 1, "session_init");
    char buf[64];
    long long t0 = peers_now_ms();
    ssize_t n = sock_dtls_recv(&dtls, &session, buf, sizeof buf, 300000);
    long long dt = peers_now_ms() - t0;
    CHECK(n == -ETIMEDOUT && dt >= 300 && dt < 1500, "handshake timeout: %zd after %lld ms", n,
          dt);
    char hello[2048];
    CHECK(sock_udp_recv(&mute, hello, sizeof hello, 0, NULL) > 0, "the ClientHello went out");
    CHECK(sock_dtls_recv(&dtls, &session, buf, sizeof buf, 0) == -EAGAIN, "timeout 0: EAGAIN");
    sock_dtls_session_destroy(&dtls, &session);
    sock_udp_close(&mute); /* now the port refuses */
    CHECK(sock_dtls_session_init(&dtls, &remote, &session) == 1, "session_init again");
    n = sock_dtls_recv(&dtls, &session, buf, sizeof buf, 2000000);
    CHECK(n == -ECONNREFUSED, "refused: %zd", n);
    /* Bad arguments. */
    sock_udp_ep_t p0 = ep6(0);
    CHECK(sock_dtls_session_init(&dtls, &p0, &session) == -EINVAL, "port 0");
    CHECK(sock_dtls_recv(&dtls, &session, buf, sizeof buf, 0) == -ENOTCONN, "no session");
    sock_dtls_close(&dtls);
    CHECK(sock_dtls_recv(&dtls, &session, buf, sizeof buf, 0) == -EINVAL, "closed sock");
    sock_dtls_t d2;
    CHECK(sock_dtls_create(&d2, &udp, 0, SOCK_DTLS_1_0, SOCK_DTLS_CLIENT) == -1, "DTLS 1.0");
    CHECK(sock_dtls_create(&d2, &udp, 0, SOCK_DTLS_1_2, 7) == -1, "bad role");
    CHECK(sock_dtls_create(&d2, &udp, 0, SOCK_DTLS_1_2, SOCK_DTLS_CLIENT) == 0, "no tag");
    const credman_tag_t *tags;
    CHECK(sock_dtls_get_credentials(&d2, &tags) == 0, "no tags");
    for (credman_tag_t t = 1; t <= CONFIG_DTLS_CREDENTIALS_MAX; t++)
        CHECK(sock_dtls_add_credential(&d2, t) == 0, "add %u", t);
    CHECK(sock_dtls_add_credential(&d2, 99) == -1, "tags full");
    CHECK(sock_dtls_remove_credential(&d2, 2) == 0 && sock_dtls_remove_credential(&d2, 2) == -1,
          "remove");
    CHECK(sock_dtls_get_credentials(&d2, &tags) == CONFIG_DTLS_CREDENTIALS_MAX - 1 &&
              tags[0] == 1 && tags[1] == 3,
          "tags in order");
    char longhint[CONFIG_DTLS_PSK_ID_HINT_MAX_SIZE + 2];
    memset(longhint, 'h', sizeof longhint - 1);
    longhint[sizeof longhint - 1] = '\0';
    CHECK(sock_dtls_set_server_psk_id_hint(&d2, longhint) == -1, "hint too long");
    sock_dtls_close(&d2);
    sock_udp_close(&udp);
}

/* ---- real peers -------------------------------------------------------------------- */

static char tmpdir[] = "/tmp/riot-dtls.XXXXXX";

static void sh(const char *cmd)
{
    if (system(cmd) != 0)
        fprintf(stderr, "riot_dtls: '%s' failed\n", cmd);
}

/* gnutls-serv --udp --echo with our PSK, and with a certificate of server0's
 * key: our client, DTLS 1.2. */
static void test_gnutls_server(void)
{
    char path[512], cmd[1024], portstr[16];
    snprintf(path, sizeof path, "%s/psk.txt", tmpdir);
    FILE *f = fopen(path, "w");
    fprintf(f, "%s:", psk_id1);
    for (size_t i = 0; i < strlen(psk_key1); i++)
        fprintf(f, "%02x", (unsigned char)psk_key1[i]);
    fprintf(f, "\n");
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -new -key %s/server0.pem -subj /CN=riot -days 2 -out %s/server0.crt"
             " 2>/dev/null",
             keys_dir, tmpdir);
    sh(cmd);
    for (int ecc = 0; ecc < 2; ecc++) {
        int fd;
        uint16_t port = listen_any(&fd); /* a free port number */
        close(fd);
        snprintf(portstr, sizeof portstr, "%u", port);
        char pskfile[600], cert[600], key[600];
        snprintf(pskfile, sizeof pskfile, "--pskpasswd=%s/psk.txt", tmpdir);
        snprintf(cert, sizeof cert, "--x509certfile=%s/server0.crt", tmpdir);
        snprintf(key, sizeof key, "--x509keyfile=%s/server0.pem", keys_dir);
        char *psk_argv[] = {"gnutls-serv", "--udp", "--echo", "-q", "-p", portstr, pskfile,
                            "--priority=NORMAL:+PSK:-VERS-ALL:+VERS-DTLS1.2", NULL};
        char *ecc_argv[] = {"gnutls-serv", "--udp", "--echo", "-q", "-p", portstr, cert, key,
                            "--priority=NORMAL:-VERS-ALL:+VERS-DTLS1.2", NULL};
        pid_t pid = spawn_piped(ecc ? ecc_argv : psk_argv, NULL, NULL);
        usleep(500000);
        sock_udp_t udp;
        sock_dtls_t dtls;
        sock_dtls_session_t session;
        sock_udp_ep_t local = SOCK_IPV4_EP_ANY, remote = ep4(port);
        CHECK(sock_udp_create(&udp, &local, NULL, 0) == 0, "udp");
        CHECK(sock_dtls_create(&dtls, &udp, ecc ? CLI_ECC : CLI_PSK1, SOCK_DTLS_1_2,
                               SOCK_DTLS_CLIENT) == 0,
              "dtls");
        ssize_t hs = -1;
        for (int tries = 0; tries < 3 && hs != -SOCK_DTLS_HANDSHAKE; tries++) {
            CHECK(sock_dtls_session_init(&dtls, &remote, &session) == 1, "session_init");
            hs = sock_dtls_recv(&dtls, &session, path, sizeof path, 3000000);
            if (hs != -SOCK_DTLS_HANDSHAKE)
                sock_dtls_session_destroy(&dtls, &session); /* gnutls-serv not up yet */
        }
        CHECK(hs == -SOCK_DTLS_HANDSHAKE, "gnutls-serv %s: handshake %zd", ecc ? "ECDSA" : "PSK",
              hs);
        if (hs == -SOCK_DTLS_HANDSHAKE) {
            for (int r = 0; r < 5; r++) {
                char line[64], buf[256];
                int len = snprintf(line, sizeof line, "line %d from RIOT\n", r);
                CHECK(sock_dtls_send(&dtls, &session, line, (size_t)len, 0) == len, "send");
                ssize_t n = sock_dtls_recv(&dtls, &session, buf, sizeof buf, 3000000);
                CHECK(n == len && memcmp(buf, line, (size_t)len) == 0, "gnutls echo: %zd", n);
            }
        }
        sock_dtls_session_destroy(&dtls, &session);
        sock_dtls_close(&dtls);
        sock_udp_close(&udp);
        kill(pid, SIGTERM);
        reap(pid, 2000);
    }
}

/* openssl s_client -dtls1_2 against our server: PSK, then ECDSA with a
 * client certificate of client0's key. */
static void test_openssl_client(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -new -key %s/client0.pem -subj /CN=riot-client -days 2 "
             "-out %s/client0.crt 2>/dev/null",
             keys_dir, tmpdir);
    sh(cmd);
    for (int ecc = 0; ecc < 2; ecc++) {
        struct server s;
        server_start(&s, SOCK_DTLS_1_2, ecc);
        char hex[64] = "", connect[64], crt[600], key[600];
        for (size_t i = 0; i < strlen(psk_key1); i++)
            sprintf(hex + 2 * i, "%02x", (unsigned char)psk_key1[i]);
        snprintf(connect, sizeof connect, "[::1]:%u", s.port);
        snprintf(crt, sizeof crt, "%s/client0.crt", tmpdir);
        snprintf(key, sizeof key, "%s/client0.pem", keys_dir);
        char *psk_argv[] = {"openssl", "s_client", "-dtls1_2", "-connect", connect, "-psk", hex,
                            "-psk_identity", (char *)psk_id1, "-cipher", "PSK", "-quiet", NULL};
        char *ecc_argv[] = {"openssl", "s_client", "-dtls1_2", "-connect", connect, "-cert", crt,
                            "-key", key, "-quiet", NULL};
        int to, from;
        pid_t pid = spawn_piped(ecc ? ecc_argv : psk_argv, &to, &from);
        const char line[] = "hello from openssl\n";
        char out[4096];
        bool ok = false;
        for (int i = 0; i < 3 && !ok; i++) {
            if (write(to, line, sizeof line - 1) != (ssize_t)sizeof line - 1)
                break;
            ok = read_until(from, out, sizeof out, "hello from openssl", 2000);
        }
        CHECK(ok, "openssl s_client %s: echo", ecc ? "ECDSA" : "PSK");
        close(to);
        close(from);
        kill(pid, SIGTERM);
        reap(pid, 2000);
        usleep(100000);
        server_stop(&s);
        CHECK(s.handshakes == 1 && s.echoed >= 1 && s.errors == 0,
              "server for openssl %s: %d handshakes, %d echoed", ecc ? "ECDSA" : "PSK",
              s.handshakes, s.echoed);
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: riot_dtls CERTS_DIR KEYS_DIR\n");
        return 2;
    }
    keys_dir = argv[2];
    signal(SIGPIPE, SIG_IGN);
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    test_credman();
    test_udp();
    add_psk(SRV_PSK, psk_id1, psk_key1, NULL);
    add_psk(CLI_PSK0, psk_id0, psk_key0, psk_hint0);
    add_psk(CLI_PSK1, psk_id1, psk_key1, psk_hint1);
    add_ecdsa(SRV_ECC0, server0_priv, server0_x, server0_y, trusted_client_keys, 1);
    add_ecdsa(SRV_ECC1, server1_priv, server1_x, server1_y, trusted_client_keys, 1);
    add_ecdsa(CLI_ECC, client0_priv, client0_x, client0_y, trusted_server_keys, 2);
    /* RIOT_DTLS_ONLY=name runs one part (debugging). */
    const char *only = getenv("RIOT_DTLS_ONLY");
#define PART(name, call)                                                                         \
    if (only == NULL || strcmp(only, name) == 0)                                                  \
        call;
    PART("psk12", test_psk(SOCK_DTLS_1_2));
    PART("psk13", test_psk(SOCK_DTLS_1_3));
    PART("ecdsa12", test_ecdsa(SOCK_DTLS_1_2));
    PART("ecdsa13", test_ecdsa(SOCK_DTLS_1_3));
    PART("send", test_send_handshake());
    PART("timeouts", test_timeouts());
    PART("gnutls", test_gnutls_server());
    PART("openssl", test_openssl_client());
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    sh(cmd);
    printf("riot_dtls: %d failures\n", failures);
    return failures ? 1 : 0;
}
