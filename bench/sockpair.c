/*
 * zrec-bench: socket pairs over 127.0.0.1 TCP for the facade:* and
 * plain:tcp:* points (see sockpair.h, and facade_bench.cc for what a point
 * measures).
 *
 * The facade side is written against the Zephyr API only (zsock_*, SOL_TLS,
 * tls_credential_*), as an application would use it.
 */
#include "sockpair.h"

#include <errno.h>
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
 * The server key is ECDSA P-256, hence the ECDSA TLS 1.2 suite. */
#define SUITE_TLS12 0xC02B /* TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 */
#define SUITE_TLS13 0x1301 /* TLS_AES_128_GCM_SHA256 */

struct zb_pair {
    enum zb_pair_kind kind;
    int client, server; /* kernel fds (plain), zsock fds (TLS): the same numbers */
    int cipher;
};

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
    /* The client does not verify the server: the certificate is a
     * throwaway self-signed one, and verification is handshake work, not
     * record work (the OpenSSL and wolfSSL points do not verify either). */
    const int none = TLS_PEER_VERIFY_NONE;
    p->client = zsock_socket(AF_INET, SOCK_STREAM, proto);
    int cerr = 0;
    const char *cwhat = "zsock_socket (client)";
    if (p->client < 0) {
        cerr = errno;
    } else if (zsock_setsockopt(p->client, SOL_TLS, TLS_PEER_VERIFY, &none, sizeof none) != 0 ||
               zsock_setsockopt(p->client, SOL_TLS, TLS_CIPHERSUITE_LIST, &suite,
                                sizeof suite) != 0) {
        cerr = errno;
        cwhat = "client SOL_TLS options";
    } else {
        set_timeouts(p->client, true);
        if (zsock_connect(p->client, (struct sockaddr *)&a, sizeof a) != 0) {
            cerr = errno;
            cwhat = "zsock_connect (TLS handshake)";
        }
    }
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

/* ---- messages ------------------------------------------------------------ */

static int xfer(struct zb_pair *p, int from, int to, const void *out, void *in, size_t len)
{
    const bool z = p->kind != ZB_PAIR_PLAIN_TCP;
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

int zb_pair_send_recv(struct zb_pair *p, const void *out, void *in, size_t len)
{
    return xfer(p, p->client, p->server, out, in, len);
}

/* One checked message each way: proves the pair carries data intact, and
 * consumes whatever the handshake left in flight (TLS 1.3 session tickets)
 * before anything is timed. */
static int warm_up(struct zb_pair *p, char *err, size_t errlen)
{
    uint8_t out[1400], in[1400];
    for (size_t i = 0; i < sizeof out; i++)
        out[i] = (uint8_t)(i * 31 + 7);
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
    p->client = p->server = -1;
    int rc;
    if (kind == ZB_PAIR_PLAIN_TCP) {
        rc = open_plain(p, err, errlen);
    } else if (cert_pem == NULL || key_pem == NULL || !cert_pem[0] || !key_pem[0]) {
        snprintf(err, errlen, "no server certificate");
        rc = -1;
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
        if (p->kind == ZB_PAIR_PLAIN_TCP)
            close(fd);
        else
            zsock_close(fd); /* sends close_notify */
    }
    free(p);
}
