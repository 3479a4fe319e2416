/*
 * zrec-bench: socket pairs over 127.0.0.1 TCP and UDP for the facade:*,
 * plain:tcp:* and plain:udp:* points (see sockpair.h, and facade_bench.cc
 * for what a point measures).
 *
 * The facade side is written against the Zephyr API only (zsock_*, SOL_TLS,
 * tls_credential_*), as an application would use it.
 */
#include "sockpair.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zephyr/net/socket.h>
#include <zephyr/net/tls_credentials.h>
#include <zrec/zrec.h>

/* The server's credentials.  Tag chosen far from anything else in the
 * process (the bench registers no other credentials). */
#define BENCH_TAG 4242

/* Receive/send timeouts: a point whose peer stopped answering fails with
 * an error after this long instead of hanging the whole run.  On a facade
 * socket a timeout costs one clock_gettime() (vDSO) per call; A/B runs
 * with and without the timeouts gave the same figures within run-to-run
 * noise (messages cost microseconds), and a careful application sets them
 * anyway. */
#define TIMEOUT_S 10

/* TLS_CIPHERSUITE_LIST values (IANA numbers): AES-128-GCM, as the headline
 * engine points, so that facade and engine figures speak of the same AEAD.
 * The server key is ECDSA P-256, hence the ECDSA TLS 1.2 suite.  DTLS uses
 * the same numbers (DTLS 1.2: 0xC02B; DTLS 1.3: 0x1301). */
#define SUITE_TLS12 0xC02B /* TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 */
#define SUITE_TLS13 0x1301 /* TLS_AES_128_GCM_SHA256 */

struct zb_pair {
    enum zb_pair_kind kind;
    bool zsock; /* facade sockets (TLS, DTLS), else kernel sockets */
    bool dgram; /* UDP (plain, DTLS), else TCP */
    int client, server; /* kernel fds (plain), zsock fds (TLS): the same numbers */
    int cipher;
    /* Datagram pairs: the client's address as the server's recvfrom() saw
     * it, for the server->client warm-up message. */
    struct sockaddr_in client_addr;
    /* Inline pairs: the engine's sessions (client -> server and back) and
     * record buffers. */
    bool inline_engine;
    struct zrec_session *seal, *open; /* client -> server, as the timed messages go */
    struct zrec_overhead oh;
    uint8_t *txbuf, *rxbuf;
};

/* The warm-up message: one each way before anything is timed. */
#define WARM_LEN 1400

static void warm_fill(uint8_t *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i * 31 + 7 + seed * 13);
}

/* tls_credential_add() keeps the caller's pointer (Zephyr's contract), so
 * the PEM copies live as long as they are registered. */
static char *g_cert, *g_key;

static int register_credentials(const char *cert, const char *key)
{
    if (g_cert && strcmp(g_cert, cert) == 0 && strcmp(g_key, key) == 0)
        return 0;
    if (g_cert) {
        tls_credential_delete(BENCH_TAG, TLS_CREDENTIAL_SERVER_CERTIFICATE);
        tls_credential_delete(BENCH_TAG, TLS_CREDENTIAL_PRIVATE_KEY);
        free(g_cert);
        free(g_key);
        g_cert = g_key = NULL;
    }
    char *c = strdup(cert), *k = strdup(key);
    if (c == NULL || k == NULL) {
        free(c);
        free(k);
        return -ENOMEM;
    }
    /* PEM credentials count their NUL (Zephyr/mbedTLS convention). */
    int rc = tls_credential_add(BENCH_TAG, TLS_CREDENTIAL_SERVER_CERTIFICATE, c, strlen(c) + 1);
    if (rc == 0) {
        rc = tls_credential_add(BENCH_TAG, TLS_CREDENTIAL_PRIVATE_KEY, k, strlen(k) + 1);
        if (rc != 0)
            tls_credential_delete(BENCH_TAG, TLS_CREDENTIAL_SERVER_CERTIFICATE);
    }
    if (rc != 0) {
        free(c);
        free(k);
        return rc;
    }
    g_cert = c;
    g_key = k;
    return 0;
}

static void set_timeouts(int fd, bool zsock)
{
    struct timeval tv = {TIMEOUT_S, 0};
    if (zsock) {
        (void)zsock_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        (void)zsock_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    } else {
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
}

static void fail(char *err, size_t errlen, const char *what, int e)
{
    snprintf(err, errlen, "%s: %s", what, strerror(e));
}

/* ---- plain kernel TCP ---------------------------------------------------- */

static int open_plain(struct zb_pair *p, char *err, size_t errlen)
{
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ls < 0) {
        fail(err, errlen, "socket", errno);
        return -1;
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(ls, (struct sockaddr *)&a, &al) != 0 || listen(ls, 1) != 0) {
        fail(err, errlen, "listen on 127.0.0.1", errno);
        close(ls);
        return -1;
    }
    p->client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    /* The kernel completes the TCP handshake from the listen backlog, so
     * connect() then accept() needs no second thread. */
    if (p->client < 0 || connect(p->client, (struct sockaddr *)&a, sizeof a) != 0) {
        fail(err, errlen, "connect", errno);
        close(ls);
        return -1;
    }
    p->server = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
    int e = errno;
    close(ls);
    if (p->server < 0) {
        fail(err, errlen, "accept", e);
        return -1;
    }
    /* The facade sets TCP_NODELAY on its TLS sockets (one send() per
     * record); the baseline gets the same, otherwise Nagle would hold a
     * small message back for the previous one's delayed ACK. */
    int one = 1;
    for (int i = 0; i < 2; i++) {
        int fd = i ? p->server : p->client;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        set_timeouts(fd, false);
    }
    p->cipher = -1;
    return 0;
}

/* ---- plain kernel UDP ---------------------------------------------------- */

/* The same shape as the DTLS pair: a server socket bound to 127.0.0.1 that
 * learns its peer from recvfrom(), a client socket connected to it.  The
 * kernel's default socket buffers (net.core.rmem_default/wmem_default,
 * about 208 KiB) hold a 16 KiB datagram many times over, and at most one
 * message is in flight: no SO_RCVBUF/SO_SNDBUF, here or on the DTLS
 * sockets, so both run on the same defaults. */
/* A kernel UDP server bound to 127.0.0.1 and a client connected to it
 * (also the ClientHello floods' plain reference). */
static int udp_pair(int *server, int *client, char *err, size_t errlen)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    *server = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (*server < 0 || bind(*server, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(*server, (struct sockaddr *)&a, &al) != 0) {
        fail(err, errlen, "UDP bind on 127.0.0.1", errno);
        return -1;
    }
    *client = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (*client < 0 || connect(*client, (struct sockaddr *)&a, sizeof a) != 0) {
        fail(err, errlen, "UDP connect", errno);
        return -1;
    }
    set_timeouts(*server, false);
    set_timeouts(*client, false);
    return 0;
}

static int open_plain_udp(struct zb_pair *p, char *err, size_t errlen)
{
    p->cipher = -1;
    return udp_pair(&p->server, &p->client, err, errlen);
}

/* ---- zsock TLS ----------------------------------------------------------- */

struct acceptor {
    int ls;
    int fd;
    int err;
};

/* zsock_accept() on a blocking TLS listener runs the server's handshake, and
 * zsock_connect() the client's: the two must progress together, so the
 * server end accepts in a helper thread during set-up only (it inherits the
 * measuring thread's CPU pinning; nothing is timed yet). */
/* The client end of a TLS or DTLS pair: it does not verify the server (the
 * certificate is a throwaway self-signed one, and verification is handshake
 * work, not record work: the OpenSSL and wolfSSL points do not verify
 * either), offers only `suite`, and connects (the handshake).  Returns 0,
 * or an errno with *what naming the step that failed. */
static int connect_client(struct zb_pair *p, int type, int proto, int suite,
                          const struct sockaddr_in *a, const char **what)
{
    const int none = TLS_PEER_VERIFY_NONE;
    p->client = zsock_socket(AF_INET, type, proto);
    *what = "zsock_socket (client)";
    if (p->client < 0)
        return errno;
    *what = "client SOL_TLS options";
    if (zsock_setsockopt(p->client, SOL_TLS, TLS_PEER_VERIFY, &none, sizeof none) != 0 ||
        zsock_setsockopt(p->client, SOL_TLS, TLS_CIPHERSUITE_LIST, &suite, sizeof suite) != 0)
        return errno;
    set_timeouts(p->client, true);
    *what = type == SOCK_STREAM ? "zsock_connect (TLS handshake)"
                                : "zsock_connect (DTLS handshake)";
    if (zsock_connect(p->client, (const struct sockaddr *)a, sizeof *a) != 0)
        return errno;
    return 0;
}

static void *accept_main(void *arg)
{
    struct acceptor *a = arg;
    a->fd = zsock_accept(a->ls, NULL, NULL);
    a->err = a->fd < 0 ? errno : 0;
    return NULL;
}

static int open_tls(struct zb_pair *p, const char *cert, const char *key, char *err,
                    size_t errlen)
{
    const bool tls13 = p->kind == ZB_PAIR_TLS13;
    const int proto = tls13 ? IPPROTO_TLS_1_3 : IPPROTO_TLS_1_2;
    const int suite = tls13 ? SUITE_TLS13 : SUITE_TLS12;
    int rc = register_credentials(cert, key);
    if (rc != 0) {
        fail(err, errlen, "tls_credential_add", -rc);
        return -1;
    }
    struct acceptor acc = {.ls = zsock_socket(AF_INET, SOCK_STREAM, proto), .fd = -1};
    if (acc.ls < 0) {
        fail(err, errlen, "zsock_socket (server)", errno);
        return -1;
    }
    static const sec_tag_t tags[] = {BENCH_TAG};
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (zsock_setsockopt(acc.ls, SOL_TLS, TLS_SEC_TAG_LIST, tags, sizeof tags) != 0 ||
        zsock_setsockopt(acc.ls, SOL_TLS, TLS_CIPHERSUITE_LIST, &suite, sizeof suite) != 0) {
        fail(err, errlen, "server SOL_TLS options", errno);
        zsock_close(acc.ls);
        return -1;
    }
    set_timeouts(acc.ls, true);
    if (zsock_bind(acc.ls, (struct sockaddr *)&a, sizeof a) != 0 ||
        zsock_getsockname(acc.ls, (struct sockaddr *)&a, &al) != 0 ||
        zsock_listen(acc.ls, 1) != 0) {
        fail(err, errlen, "zsock listen on 127.0.0.1", errno);
        zsock_close(acc.ls);
        return -1;
    }
    pthread_t th;
    rc = pthread_create(&th, NULL, accept_main, &acc);
    if (rc != 0) {
        fail(err, errlen, "pthread_create", rc);
        zsock_close(acc.ls);
        return -1;
    }
    const char *cwhat;
    int cerr = connect_client(p, SOCK_STREAM, proto, suite, &a, &cwhat);
    if (cerr != 0) {
        /* Wakes a still-blocked zsock_accept() (EINTR), as in Zephyr. */
        zsock_close(acc.ls);
        pthread_join(th, NULL);
        if (acc.fd >= 0)
            zsock_close(acc.fd);
        fail(err, errlen, cwhat, cerr);
        return -1;
    }
    pthread_join(th, NULL);
    zsock_close(acc.ls);
    if (acc.fd < 0) {
        fail(err, errlen, "zsock_accept (TLS handshake)", acc.err);
        return -1;
    }
    p->server = acc.fd;
    set_timeouts(p->server, true);
    int used = 0;
    socklen_t ul = sizeof used;
    if (zsock_getsockopt(p->client, SOL_TLS, TLS_CIPHERSUITE_USED, &used, &ul) != 0 ||
        used != suite) {
        snprintf(err, errlen, "negotiated suite %#x, wanted %#x", (unsigned)used,
                 (unsigned)suite);
        return -1;
    }
    p->cipher = used;
    return 0;
}

/* ---- zsock DTLS ---------------------------------------------------------- */

/* A DTLS server socket does its handshakes inside recvfrom() (or poll()):
 * while the client's zsock_connect() runs its side, something must call
 * recvfrom() on the server.  During set-up only, a helper thread does: one
 * blocking zsock_recvfrom(), which takes the handshake's datagrams and
 * returns with the first application datagram - the client's warm-up
 * message, sent right after connect() - or fails after the socket's
 * SO_RCVTIMEO.  The thread inherits the measuring thread's CPU pinning;
 * nothing is timed yet, and the timed loop has no second thread. */
struct dtls_serve {
    int fd;
    uint8_t buf[WARM_LEN + 100]; /* room to see a longer (merged) datagram */
    ssize_t n;
    int err;
    struct sockaddr_in from;
    socklen_t fromlen;
};

static void *dtls_serve_main(void *arg)
{
    struct dtls_serve *h = arg;
    h->fromlen = sizeof h->from;
    h->n = zsock_recvfrom(h->fd, h->buf, sizeof h->buf, 0, (struct sockaddr *)&h->from,
                          &h->fromlen);
    h->err = h->n < 0 ? errno : 0;
    return NULL;
}

static int open_dtls(struct zb_pair *p, const char *cert, const char *key, char *err,
                     size_t errlen)
{
    const bool dtls13 = p->kind == ZB_PAIR_DTLS13;
    const int proto = dtls13 ? IPPROTO_DTLS_1_3 : IPPROTO_DTLS_1_2;
    const int suite = dtls13 ? SUITE_TLS13 : SUITE_TLS12;
    int rc = register_credentials(cert, key);
    if (rc != 0) {
        fail(err, errlen, "tls_credential_add", -rc);
        return -1;
    }
    /* The server: one socket that would serve every client. */
    p->server = zsock_socket(AF_INET, SOCK_DGRAM, proto);
    if (p->server < 0) {
        fail(err, errlen, "zsock_socket (DTLS server)", errno);
        return -1;
    }
    static const sec_tag_t tags[] = {BENCH_TAG};
    const int role = TLS_DTLS_ROLE_SERVER;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (zsock_setsockopt(p->server, SOL_TLS, TLS_DTLS_ROLE, &role, sizeof role) != 0 ||
        zsock_setsockopt(p->server, SOL_TLS, TLS_SEC_TAG_LIST, tags, sizeof tags) != 0 ||
        zsock_setsockopt(p->server, SOL_TLS, TLS_CIPHERSUITE_LIST, &suite, sizeof suite) != 0) {
        fail(err, errlen, "DTLS server SOL_TLS options", errno);
        return -1;
    }
    set_timeouts(p->server, true);
    if (zsock_bind(p->server, (struct sockaddr *)&a, sizeof a) != 0 ||
        zsock_getsockname(p->server, (struct sockaddr *)&a, &al) != 0) {
        fail(err, errlen, "zsock_bind on 127.0.0.1 (DTLS server)", errno);
        return -1;
    }
    static struct dtls_serve h; /* set-up is single-threaded: one at a time */
    memset(&h, 0, sizeof h);
    h.fd = p->server;
    h.n = -1;
    pthread_t th;
    rc = pthread_create(&th, NULL, dtls_serve_main, &h);
    if (rc != 0) {
        fail(err, errlen, "pthread_create", rc);
        return -1;
    }
    /* The client: no verification, as for TLS (see open_tls()). */
    uint8_t out[WARM_LEN];
    warm_fill(out, sizeof out, 1);
    const char *cwhat;
    int cerr = connect_client(p, SOCK_DGRAM, proto, suite, &a, &cwhat);
    if (cerr == 0) {
        /* The warm-up's client->server leg: what the helper waits for. */
        ssize_t w = zsock_send(p->client, out, sizeof out, 0);
        if (w != (ssize_t)sizeof out) {
            cerr = w < 0 ? errno : EIO;
            cwhat = "warm-up client->server (DTLS send)";
        }
    }
    if (cerr != 0) {
        /* Wakes a still-blocked zsock_recvfrom() (EINTR), as in Zephyr. */
        zsock_close(p->server);
        p->server = -1;
        pthread_join(th, NULL);
        fail(err, errlen, cwhat, cerr);
        return -1;
    }
    pthread_join(th, NULL);
    if (h.n < 0) {
        fail(err, errlen, "warm-up client->server (DTLS server recvfrom)", h.err);
        return -1;
    }
    if (h.n != (ssize_t)sizeof out || memcmp(h.buf, out, sizeof out) != 0) {
        snprintf(err, errlen, "warm-up client->server: %zd bytes received, %zu sent%s", h.n,
                 sizeof out, h.n == (ssize_t)sizeof out ? ", data corrupted" : "");
        return -1;
    }
    if (h.fromlen != sizeof h.from || h.from.sin_family != AF_INET) {
        snprintf(err, errlen, "DTLS server recvfrom: no IPv4 source address");
        return -1;
    }
    p->client_addr = h.from;
    /* Both ends: the server socket reports its latest handshake. */
    for (int i = 0; i < 2; i++) {
        int used = 0;
        socklen_t ul = sizeof used;
        if (zsock_getsockopt(i ? p->server : p->client, SOL_TLS, TLS_CIPHERSUITE_USED, &used,
                             &ul) != 0 ||
            used != suite) {
            snprintf(err, errlen, "DTLS %s: negotiated suite %#x, wanted %#x",
                     i ? "server" : "client", (unsigned)used, (unsigned)suite);
            return -1;
        }
    }
    p->cipher = suite;
    return 0;
}

/* ---- the engine inline, no facade ---------------------------------------- */

static int open_inline(struct zb_pair *p, char *err, size_t errlen)
{
    const bool dgram = p->kind == ZB_PAIR_INLINE_DTLS13;
    int rc = dgram ? open_plain_udp(p, err, errlen) : open_plain(p, err, errlen);
    if (rc != 0)
        return rc;
    struct zrec_session_params sp = {.proto = dgram ? ZREC_DTLS13 : ZREC_TLS13,
                                     .aead = ZREC_AES_128_GCM,
                                     .hash = ZREC_SHA256};
    uint8_t secret[32];
    for (size_t i = 0; i < sizeof secret; i++)
        secret[i] = (uint8_t)(i * 5 + 3);
    p->seal = zrec_session_new(&sp);
    p->open = zrec_session_new(&sp);
    struct zrec_traffic_keys k = {.secret = secret, .secret_len = sizeof secret,
                                  .epoch = dgram ? 3 : 0};
    if (p->seal == NULL || p->open == NULL ||
        zrec_session_set_keys(p->seal, ZREC_DIR_WRITE, &k) != 0 ||
        zrec_session_set_keys(p->open, ZREC_DIR_READ, &k) != 0) {
        snprintf(err, errlen, "engine sessions");
        return -1;
    }
    if (zrec_session_overhead(p->seal, &p->oh) != 0) {
        snprintf(err, errlen, "zrec_session_overhead");
        return -1;
    }
    const size_t cap = p->oh.headroom + 16384 + p->oh.tailroom + 64;
    p->txbuf = malloc(cap);
    p->rxbuf = malloc(cap);
    if (p->txbuf == NULL || p->rxbuf == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    p->inline_engine = true;
    p->cipher = SUITE_TLS13;
    return 0;
}

/* One message client -> server through the engine: seal from `out` (copy-on-
 * encrypt) into txbuf, one send; receive the record into rxbuf (TCP: one
 * recv of exactly the record, MSG_WAITALL; UDP: one recvfrom), open into
 * `in` (copy-on-decrypt), exactly as the facade's records go. */
static int inline_xfer(struct zb_pair *p, const void *out, void *in, size_t len)
{
    struct zrec_op op = {.sess = p->seal,
                         .data = p->txbuf + p->oh.headroom,
                         .len = (uint32_t)len,
                         .headroom = p->oh.headroom,
                         .tailroom = p->oh.tailroom,
                         .content_type = 23,
                         .src = out};
    if (zrec_seal_burst(&op, 1) != 1)
        return op.status ? op.status : -EIO;
    const size_t rl = op.rec_len;
    ssize_t w = send(p->client, op.rec, rl, MSG_NOSIGNAL);
    if (w != (ssize_t)rl)
        return w < 0 ? -errno : -EIO;
    ssize_t r;
    if (p->dgram) {
        /* With the source address, as the facade's server socket needs it. */
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        r = recvfrom(p->server, p->rxbuf, rl + 64, 0, (struct sockaddr *)&from, &fl);
    } else {
        r = recv(p->server, p->rxbuf, rl, MSG_WAITALL);
    }
    if (r != (ssize_t)rl)
        return r < 0 ? -errno : -EBADMSG;
    /* The caller's buffer has ZB_PAIR_IN_SLACK bytes beyond len: room for
     * the record's inner type and padding, as libzrec asks of a direct
     * destination. */
    struct zrec_op o = {.sess = p->open, .data = p->rxbuf, .len = (uint32_t)rl,
                        .dst = in, .dst_cap = (uint32_t)(len + ZB_PAIR_IN_SLACK)};
    if (zrec_open_burst(&o, 1) != 1 || o.rec_len != len || o.content_type != 23)
        return o.status ? o.status : -EBADMSG;
    return 0;
}

/* ---- messages ------------------------------------------------------------ */

static int xfer(struct zb_pair *p, int from, int to, const void *out, void *in, size_t len)
{
    const bool z = p->zsock;
    for (size_t off = 0; off < len;) {
        ssize_t w = z ? zsock_send(from, (const uint8_t *)out + off, len - off, 0)
                      : send(from, (const uint8_t *)out + off, len - off, MSG_NOSIGNAL);
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        off += (size_t)w;
    }
    for (size_t off = 0; off < len;) {
        ssize_t r = z ? zsock_recv(to, (uint8_t *)in + off, len - off, ZSOCK_MSG_WAITALL)
                      : recv(to, (uint8_t *)in + off, len - off, MSG_WAITALL);
        if (r <= 0)
            return r < 0 ? -errno : -ECONNRESET;
        off += (size_t)r;
    }
    return 0;
}

/* One datagram: to == NULL sends on a connected socket (the client). */
static ssize_t dgram_send(const struct zb_pair *p, int fd, const void *buf, size_t len,
                          const struct sockaddr_in *to)
{
    if (p->zsock)
        return to ? zsock_sendto(fd, buf, len, 0, (const struct sockaddr *)to, sizeof *to)
                  : zsock_send(fd, buf, len, 0);
    return to ? sendto(fd, buf, len, 0, (const struct sockaddr *)to, sizeof *to)
              : send(fd, buf, len, 0);
}

static ssize_t dgram_recv(const struct zb_pair *p, int fd, void *buf, size_t cap,
                          struct sockaddr_in *from)
{
    socklen_t fl = sizeof *from;
    return p->zsock ? zsock_recvfrom(fd, buf, cap, 0, (struct sockaddr *)from, &fl)
                    : recvfrom(fd, buf, cap, 0, (struct sockaddr *)from, &fl);
}

int zb_pair_send_recv(struct zb_pair *p, const void *out, void *in, size_t len)
{
    if (p->inline_engine)
        return inline_xfer(p, out, in, len);
    if (!p->dgram)
        return xfer(p, p->client, p->server, out, in, len);
    ssize_t w = dgram_send(p, p->client, out, len, NULL);
    if (w != (ssize_t)len)
        return w < 0 ? -errno : -EIO;
    struct sockaddr_in from;
    /* A datagram server does not know the next datagram's size: it receives
     * into a buffer with room to spare (in has ZB_PAIR_IN_SLACK beyond len),
     * and the datagram must be exactly len bytes. */
    ssize_t r = dgram_recv(p, p->server, in, len + ZB_PAIR_IN_SLACK, &from);
    if (r != (ssize_t)len)
        return r < 0 ? -errno : -EBADMSG;
    return 0;
}

/* Datagram pairs: the client->server leg (unless open_dtls() already did
 * it, the server's recvfrom() having run the handshake), then the
 * server->client leg, sendto() the address the server saw.  Receive buffers
 * have room to spare, so a datagram that is not exactly the message shows. */
static int warm_up_dgram(struct zb_pair *p, bool c2s_done, char *err, size_t errlen)
{
    uint8_t out[WARM_LEN], in[WARM_LEN + 100];
    for (int dir = c2s_done ? 1 : 0; dir < 2; dir++) {
        warm_fill(out, sizeof out, (unsigned)dir + 1);
        memset(in, 0, sizeof in);
        const char *what = dir ? "warm-up server->client" : "warm-up client->server";
        ssize_t w = dir ? dgram_send(p, p->server, out, sizeof out, &p->client_addr)
                        : dgram_send(p, p->client, out, sizeof out, NULL);
        if (w != (ssize_t)sizeof out) {
            fail(err, errlen, what, w < 0 ? errno : EIO);
            return -1;
        }
        struct sockaddr_in from;
        ssize_t r = dgram_recv(p, dir ? p->client : p->server, in, sizeof in, &from);
        if (r < 0) {
            fail(err, errlen, what, errno);
            return -1;
        }
        if (r != (ssize_t)sizeof out || memcmp(in, out, sizeof out) != 0) {
            snprintf(err, errlen, "%s: %zd bytes received, %zu sent%s", what, r, sizeof out,
                     r == (ssize_t)sizeof out ? ", data corrupted" : "");
            return -1;
        }
        if (!dir)
            p->client_addr = from;
    }
    return 0;
}

/* One checked message each way: proves the pair carries data intact, and
 * consumes whatever the handshake left in flight (TLS 1.3 session tickets;
 * DTLS: the server's last flight is released by the client's data, the
 * client's by the DTLS 1.3 server's ACK) before anything is timed. */
static int warm_up(struct zb_pair *p, char *err, size_t errlen)
{
    if (p->inline_engine) {
        uint8_t out[WARM_LEN], in[WARM_LEN + ZB_PAIR_IN_SLACK];
        warm_fill(out, sizeof out, 0);
        int rc = zb_pair_send_recv(p, out, in, sizeof out);
        if (rc != 0 || memcmp(in, out, sizeof out) != 0) {
            fail(err, errlen, "warm-up (engine inline)", rc ? -rc : EBADMSG);
            return -1;
        }
        /* And one message back, as the other pairs' warm-ups send: TCP
         * then acknowledges as it does for them (delayed ACKs of an
         * interactive connection), not every segment at once. */
        if (!p->dgram && xfer(p, p->server, p->client, out, in, sizeof out) != 0) {
            fail(err, errlen, "warm-up server->client", EIO);
            return -1;
        }
        return 0;
    }
    if (p->dgram)
        return warm_up_dgram(p, p->zsock, err, errlen);
    uint8_t out[WARM_LEN], in[WARM_LEN];
    warm_fill(out, sizeof out, 0);
    for (int dir = 0; dir < 2; dir++) {
        memset(in, 0, sizeof in);
        int rc = dir ? xfer(p, p->server, p->client, out, in, sizeof out)
                     : xfer(p, p->client, p->server, out, in, sizeof out);
        if (rc != 0) {
            fail(err, errlen, dir ? "warm-up server->client" : "warm-up client->server", -rc);
            return -1;
        }
        if (memcmp(in, out, sizeof out) != 0) {
            snprintf(err, errlen, "warm-up: data corrupted");
            return -1;
        }
    }
    return 0;
}

struct zb_pair *zb_pair_open(enum zb_pair_kind kind, const char *cert_pem, const char *key_pem,
                             char *err, size_t errlen)
{
    struct zb_pair *p = calloc(1, sizeof *p);
    if (p == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->kind = kind;
    const bool inl = kind == ZB_PAIR_INLINE_TLS13 || kind == ZB_PAIR_INLINE_DTLS13;
    p->zsock = kind != ZB_PAIR_PLAIN_TCP && kind != ZB_PAIR_PLAIN_UDP && !inl;
    p->dgram = kind == ZB_PAIR_PLAIN_UDP || kind == ZB_PAIR_DTLS12 || kind == ZB_PAIR_DTLS13 ||
               kind == ZB_PAIR_INLINE_DTLS13;
    p->client = p->server = -1;
    int rc;
    if (inl) {
        rc = open_inline(p, err, errlen);
    } else if (kind == ZB_PAIR_PLAIN_TCP) {
        rc = open_plain(p, err, errlen);
    } else if (kind == ZB_PAIR_PLAIN_UDP) {
        rc = open_plain_udp(p, err, errlen);
    } else if (cert_pem == NULL || key_pem == NULL || !cert_pem[0] || !key_pem[0]) {
        snprintf(err, errlen, "no server certificate");
        rc = -1;
    } else if (p->dgram) {
        rc = open_dtls(p, cert_pem, key_pem, err, errlen);
    } else {
        rc = open_tls(p, cert_pem, key_pem, err, errlen);
    }
    if (rc == 0)
        rc = warm_up(p, err, errlen);
    if (rc != 0) {
        zb_pair_close(p);
        return NULL;
    }
    return p;
}

int zb_pair_cipher(const struct zb_pair *p)
{
    return p->cipher;
}

void zb_pair_close(struct zb_pair *p)
{
    if (p == NULL)
        return;
    for (int i = 0; i < 2; i++) {
        int fd = i ? p->server : p->client;
        if (fd < 0)
            continue;
        if (!p->zsock)
            close(fd);
        else
            zsock_close(fd); /* sends close_notify (DTLS server: to every session) */
    }
    zrec_session_free(p->seal);
    zrec_session_free(p->open);
    free(p->txbuf);
    free(p->rxbuf);
    free(p);
}

/* ---- ClientHello floods -------------------------------------------------- */

struct zb_flood {
    bool plain;
    bool dtls13;
    int server;   /* zsock DTLS server socket, or a kernel UDP socket (plain) */
    int attacker; /* kernel UDP socket connected to the server */
    uint8_t hello[2048];
    size_t hello_len;
    uint8_t answer[2048];
    size_t answer_len;
};

/* The HelloRetryRequest's Random (RFC 8446 §4.1.3). */
static const uint8_t hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

/* A cookie request: DTLSPlaintext header (13 bytes), handshake header (12,
 * msg_type at 13): HelloVerifyRequest (3), or a ServerHello (2) whose
 * Random (after the 2-byte version, at 27) is the HelloRetryRequest's. */
static bool is_cookie_request(const uint8_t *b, size_t n, bool dtls13)
{
    if (n < 13 + 12 + 2 + 32 || b[0] != 22)
        return false;
    return dtls13 ? b[13] == 2 && memcmp(b + 27, hrr_random, sizeof hrr_random) == 0
                  : b[13] == 3;
}

/* A real ClientHello: a non-blocking zsock DTLS client connects to a kernel
 * UDP socket, which catches the first datagram. */
static int capture_hello(struct zb_flood *f, int proto, int suite, char *err, size_t errlen)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    int catcher = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (catcher < 0 || bind(catcher, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(catcher, (struct sockaddr *)&a, &al) != 0) {
        fail(err, errlen, "UDP bind on 127.0.0.1 (ClientHello catcher)", errno);
        if (catcher >= 0)
            close(catcher);
        return -1;
    }
    set_timeouts(catcher, false);
    const int none = TLS_PEER_VERIFY_NONE;
    int c = zsock_socket(AF_INET, SOCK_DGRAM, proto);
    int rc = -1;
    if (c < 0 || zsock_setsockopt(c, SOL_TLS, TLS_PEER_VERIFY, &none, sizeof none) != 0 ||
        zsock_setsockopt(c, SOL_TLS, TLS_CIPHERSUITE_LIST, &suite, sizeof suite) != 0 ||
        zsock_fcntl(c, F_SETFL, O_NONBLOCK) != 0) {
        fail(err, errlen, "zsock DTLS client (ClientHello capture)", errno);
    } else if (zsock_connect(c, (struct sockaddr *)&a, sizeof a) == 0 || errno != EINPROGRESS) {
        fail(err, errlen, "zsock_connect (non-blocking, ClientHello capture)", errno);
    } else {
        ssize_t n = recv(catcher, f->hello, sizeof f->hello, 0);
        if (n < 25 || f->hello[0] != 22 || f->hello[13] != 1)
            snprintf(err, errlen, "ClientHello capture: %zd bytes, not a ClientHello", n);
        else {
            f->hello_len = (size_t)n;
            rc = 0;
        }
    }
    if (c >= 0)
        zsock_close(c);
    close(catcher);
    return rc;
}

struct zb_flood *zb_flood_open(enum zb_pair_kind kind, int plain, const char *cert_pem,
                               const char *key_pem, char *err, size_t errlen)
{
    struct zb_flood *f = calloc(1, sizeof *f);
    if (f == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    f->server = f->attacker = -1;
    f->dtls13 = kind == ZB_PAIR_DTLS13;
    const int proto = f->dtls13 ? IPPROTO_DTLS_1_3 : IPPROTO_DTLS_1_2;
    const int suite = f->dtls13 ? SUITE_TLS13 : SUITE_TLS12;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (kind != ZB_PAIR_DTLS12 && kind != ZB_PAIR_DTLS13) {
        snprintf(err, errlen, "a ClientHello flood needs DTLS 1.2 or 1.3");
        goto fail;
    }
    if (cert_pem == NULL || key_pem == NULL || !cert_pem[0] || !key_pem[0]) {
        snprintf(err, errlen, "no server certificate");
        goto fail;
    }
    int rc = register_credentials(cert_pem, key_pem);
    if (rc != 0) {
        fail(err, errlen, "tls_credential_add", -rc);
        goto fail;
    }
    if (capture_hello(f, proto, suite, err, errlen) != 0)
        goto fail;
    /* The facade's server first, also for the plain reference: its answer
     * to the captured ClientHello sets the reference's answer size. */
    f->server = zsock_socket(AF_INET, SOCK_DGRAM, proto);
    static const sec_tag_t tags[] = {BENCH_TAG};
    const int role = TLS_DTLS_ROLE_SERVER;
    if (f->server < 0 ||
        zsock_setsockopt(f->server, SOL_TLS, TLS_DTLS_ROLE, &role, sizeof role) != 0 ||
        zsock_setsockopt(f->server, SOL_TLS, TLS_SEC_TAG_LIST, tags, sizeof tags) != 0 ||
        zsock_setsockopt(f->server, SOL_TLS, TLS_CIPHERSUITE_LIST, &suite, sizeof suite) != 0 ||
        zsock_bind(f->server, (struct sockaddr *)&a, sizeof a) != 0 ||
        zsock_getsockname(f->server, (struct sockaddr *)&a, &al) != 0) {
        fail(err, errlen, "zsock DTLS server socket", errno);
        goto fail;
    }
    f->attacker = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (f->attacker < 0 || connect(f->attacker, (struct sockaddr *)&a, sizeof a) != 0) {
        fail(err, errlen, "UDP connect (attacker)", errno);
        goto fail;
    }
    set_timeouts(f->attacker, false);
    if (zb_flood_round(f) != 0) { /* sets answer_len from the real answer */
        snprintf(err, errlen, "the DTLS server socket did not answer the ClientHello with a "
                              "cookie request");
        goto fail;
    }
    if (plain) {
        zsock_close(f->server);
        close(f->attacker);
        f->server = f->attacker = -1;
        f->plain = true;
        if (udp_pair(&f->server, &f->attacker, err, errlen) != 0)
            goto fail;
        if (zb_flood_round(f) != 0) {
            snprintf(err, errlen, "plain UDP answer lost");
            goto fail;
        }
    }
    return f;
fail:
    zb_flood_close(f);
    return NULL;
}

int zb_flood_round(struct zb_flood *f)
{
    if (send(f->attacker, f->hello, f->hello_len, 0) != (ssize_t)f->hello_len)
        return -errno;
    uint8_t buf[2048];
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    if (f->plain) {
        ssize_t n = recvfrom(f->server, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
        if (n != (ssize_t)f->hello_len)
            return n < 0 ? -errno : -EBADMSG;
        if (sendto(f->server, f->answer, f->answer_len, 0, (struct sockaddr *)&from, fl) !=
            (ssize_t)f->answer_len)
            return -errno;
    } else {
        /* Nothing for the application: the ClientHello is answered inside. */
        ssize_t n = zsock_recvfrom(f->server, buf, sizeof buf, ZSOCK_MSG_DONTWAIT,
                                   (struct sockaddr *)&from, &fl);
        if (n >= 0 || errno != EAGAIN)
            return n >= 0 ? -EBADMSG : -errno;
    }
    ssize_t n = recv(f->attacker, buf, sizeof buf, 0);
    if (n < 0)
        return -errno;
    if (f->plain)
        return n == (ssize_t)f->answer_len ? 0 : -EBADMSG;
    if (!is_cookie_request(buf, (size_t)n, f->dtls13))
        return -EBADMSG;
    if (f->answer_len == 0) {
        memcpy(f->answer, buf, (size_t)n);
        f->answer_len = (size_t)n;
    }
    return 0;
}

void zb_flood_sizes(const struct zb_flood *f, size_t *hello, size_t *answer)
{
    *hello = f->hello_len;
    *answer = f->answer_len;
}

void zb_flood_close(struct zb_flood *f)
{
    if (f == NULL)
        return;
    if (f->server >= 0) {
        if (f->plain)
            close(f->server);
        else
            zsock_close(f->server);
    }
    if (f->attacker >= 0)
        close(f->attacker);
    free(f);
}
