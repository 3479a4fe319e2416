/*
 * fuzz_tls_stream: a TLS socket's record reassembly across reads - the
 * TCP byte stream cut anywhere, in any number of pieces, read with any
 * buffer size, whole records or tampered ones.
 *
 * One zsock TLS client (TLS 1.2 or 1.3, PSK, AES-128-GCM) is connected over
 * 127.0.0.1 to a wolfSSL server that the harness drives itself: after the
 * handshake the server's records are not sent but kept, and the input says
 * how the harness writes them to the TCP connection (piece by piece) and
 * how big the client's zsock_recv() buffers are between pieces.
 *
 * Input: [flags][records: count, then a 14-bit length each][tamper
 * position][piece sizes and receive sizes ...].  flags: bit 0 picks TLS
 * 1.3, bit 1 tampers one byte of the stream.
 *
 * Contracts, besides the sanitizers: untampered, the client receives
 * exactly the bytes the server wrote, in order, however the stream was cut
 * and read; tampered, what it receives is a prefix of them (nothing
 * unauthenticated reaches the application) and a receive that fails says
 * what docs/DESIGN-NOTES.md promises: EBADMSG (bad_record_mac), EMSGSIZE
 * (record_overflow), EPROTO (decode_error, unexpected_message) or
 * ECONNRESET.  A tampered connection is replaced
 * by a new one for the next input.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <zephyr/net/socket.h>
#include <zephyr/net/tls_credentials.h>

#include "fuzz.h"

#define TAG 9
static const uint8_t psk[16] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
static const char psk_id[] = "stream";

/* The server's records go to `held` instead of the socket once `hold`. */
struct server_io {
    int fd;
    bool hold;
    uint8_t held[8 * 16500];
    size_t held_len;
};

struct conn {
    bool tls13;
    int client;          /* zsock */
    int server_fd;       /* the kernel end the harness writes to */
    WOLFSSL_CTX *ctx;
    WOLFSSL *ssl;
    struct server_io io;
};

static struct conn conns[2] = {{.client = -1}, {.tls13 = true, .client = -1}};

static int srv_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    (void)ssl;
    struct server_io *io = ctx;
    ssize_t n = recv(io->fd, buf, (size_t)sz, MSG_DONTWAIT);
    if (n > 0)
        return (int)n;
    if (n == 0)
        return WOLFSSL_CBIO_ERR_CONN_CLOSE;
    return errno == EAGAIN ? WOLFSSL_CBIO_ERR_WANT_READ : WOLFSSL_CBIO_ERR_GENERAL;
}

static int srv_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    (void)ssl;
    struct server_io *io = ctx;
    if (io->hold) {
        if (io->held_len + (size_t)sz > sizeof io->held)
            return WOLFSSL_CBIO_ERR_GENERAL;
        memcpy(io->held + io->held_len, buf, (size_t)sz);
        io->held_len += (size_t)sz;
        return sz;
    }
    ssize_t n = send(io->fd, buf, (size_t)sz, MSG_NOSIGNAL);
    return n > 0 ? (int)n : WOLFSSL_CBIO_ERR_GENERAL;
}

static unsigned int psk_cb(WOLFSSL *ssl, const char *identity, unsigned char *key,
                           unsigned int key_max)
{
    (void)ssl;
    if (strcmp(identity, psk_id) != 0 || key_max < sizeof psk)
        return 0;
    memcpy(key, psk, sizeof psk);
    return sizeof psk;
}

static unsigned int psk13_cb(WOLFSSL *ssl, const char *identity, unsigned char *key,
                             unsigned int key_max, const char **suite)
{
    *suite = "TLS13-AES128-GCM-SHA256";
    return psk_cb(ssl, identity, key, key_max);
}

struct accept_arg {
    struct conn *c;
    int listener;
    int rc;
};

/* The server's side of the handshake, while the client's connect() runs. */
static void *serve_handshake(void *arg)
{
    struct accept_arg *a = arg;
    struct conn *c = a->c;
    c->server_fd = accept(a->listener, NULL, NULL);
    a->rc = -1;
    if (c->server_fd < 0)
        return NULL;
    int one = 1;
    setsockopt(c->server_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->io = (struct server_io){.fd = c->server_fd};
    c->ssl = wolfSSL_new(c->ctx);
    wolfSSL_SetIOReadCtx(c->ssl, &c->io);
    wolfSSL_SetIOWriteCtx(c->ssl, &c->io);
    for (int i = 0; i < 64; i++) { /* bounded: a PSK handshake is a few flights */
        int rc = wolfSSL_accept(c->ssl);
        if (rc == WOLFSSL_SUCCESS) {
            a->rc = 0;
            return NULL;
        }
        int err = wolfSSL_get_error(c->ssl, rc);
        if (err != WOLFSSL_ERROR_WANT_READ && err != WOLFSSL_ERROR_WANT_WRITE)
            return NULL;
        struct pollfd p = {c->server_fd, POLLIN, 0};
        if (poll(&p, 1, 5000) != 1)
            return NULL;
    }
    return NULL;
}

static void disconnect(struct conn *c)
{
    if (c->client >= 0)
        zsock_close(c->client);
    if (c->ssl)
        wolfSSL_free(c->ssl);
    if (c->server_fd >= 0)
        close(c->server_fd);
    c->client = c->server_fd = -1;
    c->ssl = NULL;
}

static void connect_pair(struct conn *c)
{
    static bool creds;
    if (!creds) {
        creds = true;
        FUZZ_ASSERT(wolfSSL_Init() == WOLFSSL_SUCCESS, "wolfSSL_Init");
        FUZZ_ASSERT(tls_credential_add(TAG, TLS_CREDENTIAL_PSK, psk, sizeof psk) == 0, "psk");
        FUZZ_ASSERT(tls_credential_add(TAG, TLS_CREDENTIAL_PSK_ID, psk_id,
                                       sizeof psk_id - 1) == 0,
                    "psk id");
    }
    if (c->ctx == NULL) {
        c->ctx = wolfSSL_CTX_new(c->tls13 ? wolfTLSv1_3_server_method()
                                          : wolfTLSv1_2_server_method());
        FUZZ_ASSERT(c->ctx != NULL, "server ctx");
        wolfSSL_CTX_SetIORecv(c->ctx, srv_recv);
        wolfSSL_CTX_SetIOSend(c->ctx, srv_send);
        wolfSSL_CTX_set_psk_server_callback(c->ctx, psk_cb);
        wolfSSL_CTX_set_psk_server_tls13_callback(c->ctx, psk13_cb);
        FUZZ_ASSERT(wolfSSL_CTX_set_cipher_list(c->ctx, c->tls13 ? "TLS13-AES128-GCM-SHA256"
                                                                 : "PSK-AES128-GCM-SHA256") ==
                        WOLFSSL_SUCCESS,
                    "server suites");
    }
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    FUZZ_ASSERT(l >= 0 && bind(l, (struct sockaddr *)&a, sizeof a) == 0 &&
                    getsockname(l, (struct sockaddr *)&a, &al) == 0 && listen(l, 1) == 0,
                "listener");
    c->client = zsock_socket(AF_INET, SOCK_STREAM, c->tls13 ? IPPROTO_TLS_1_3 : IPPROTO_TLS_1_2);
    FUZZ_ASSERT(c->client >= 0, "zsock_socket: errno %d", errno);
    sec_tag_t tags[] = {TAG};
    int suite = c->tls13 ? 0x1301 : 0x00A8; /* TLS_PSK_WITH_AES_128_GCM_SHA256 */
    FUZZ_ASSERT(zsock_setsockopt(c->client, SOL_TLS, TLS_SEC_TAG_LIST, tags, sizeof tags) == 0 &&
                    zsock_setsockopt(c->client, SOL_TLS, TLS_CIPHERSUITE_LIST, &suite,
                                     sizeof suite) == 0,
                "client options: errno %d", errno);
    struct accept_arg arg = {.c = c, .listener = l};
    pthread_t th;
    FUZZ_ASSERT(pthread_create(&th, NULL, serve_handshake, &arg) == 0, "thread");
    int rc = zsock_connect(c->client, (struct sockaddr *)&a, sizeof a);
    int err = errno;
    pthread_join(th, NULL);
    close(l);
    FUZZ_ASSERT(rc == 0 && arg.rc == 0, "handshake: connect %d errno %d, server %d", rc, err,
                arg.rc);
    c->io.hold = true;
}

/* What the client has for us now (non-blocking), appended to got: up to
 * 32 receives of bufsize (small buffers leave plaintext pending, as an
 * application reading a few bytes at a time does), or until EAGAIN. */
static int take(struct conn *c, uint8_t *got, size_t *got_len, size_t cap, size_t bufsize)
{
    for (int calls = 0; calls < 32; calls++) {
        size_t room = cap - *got_len;
        size_t n = bufsize < room ? bufsize : room;
        if (n == 0)
            return 0;
        ssize_t r = zsock_recv(c->client, got + *got_len, n, ZSOCK_MSG_DONTWAIT);
        if (r > 0) {
            *got_len += (size_t)r;
            continue;
        }
        if (r == 0)
            return -ECONNRESET;
        return errno == EAGAIN ? 0 : -errno;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    uint8_t flags = fuzz_u8(&in);
    struct conn *c = &conns[flags & 1];
    bool tamper = flags & 2;
    if (c->client < 0)
        connect_pair(c);
    /* The server's records: up to 4 messages of up to 16383 bytes. */
    static uint8_t sent[4 * 16384], got[4 * 16384 + 1];
    size_t sent_len = 0, got_len = 0;
    c->io.held_len = 0;
    int nrec = fuzz_u8(&in) % 4 + 1;
    for (int i = 0; i < nrec; i++) {
        size_t len = fuzz_u16(&in) % 16384 + 1;
        for (size_t k = 0; k < len; k++)
            sent[sent_len + k] = (uint8_t)(sent_len + k * 7);
        FUZZ_ASSERT(wolfSSL_write(c->ssl, sent + sent_len, (int)len) == (int)len,
                    "server write");
        sent_len += len;
    }
    size_t pos = fuzz_u16(&in) % c->io.held_len;
    if (tamper)
        c->io.held[pos] ^= (uint8_t)(fuzz_u8(&in) | 1);
    /* Write the stream in pieces; read between them. */
    int fail = 0;
    for (size_t off = 0; off < c->io.held_len && fail == 0;) {
        size_t piece = fuzz_u16(&in) % 4096 + 1, bufsize = fuzz_u16(&in) % 20000 + 1;
        if (in.n == 0)
            piece = c->io.held_len - off; /* input used up: the rest at once */
        if (piece > c->io.held_len - off)
            piece = c->io.held_len - off;
        ssize_t w = send(c->server_fd, c->io.held + off, piece, MSG_NOSIGNAL);
        FUZZ_ASSERT(w == (ssize_t)piece, "send to the client: %zd errno %d", w, errno);
        off += piece;
        fail = take(c, got, &got_len, sizeof got, bufsize);
    }
    while (fail == 0 && got_len < sent_len) { /* the rest, in large reads */
        size_t before = got_len;
        fail = take(c, got, &got_len, sizeof got, sizeof got);
        if (got_len == before)
            break;
    }
    if (!tamper) {
        FUZZ_ASSERT(fail == 0, "untampered stream: receive failed with %d", fail);
        FUZZ_ASSERT(got_len == sent_len && memcmp(got, sent, sent_len) == 0,
                    "untampered stream: %zu bytes received for %zu sent", got_len, sent_len);
    } else {
        FUZZ_ASSERT(got_len <= sent_len && memcmp(got, sent, got_len) == 0,
                    "tampered stream: %zu bytes received that were not all sent", got_len);
        FUZZ_ASSERT(fail == 0 || fail == -EBADMSG || fail == -EMSGSIZE || fail == -EPROTO ||
                        fail == -ECONNRESET,
                    "tampered stream: receive failed with %d", fail);
        disconnect(c); /* whatever state it is in, the next input starts clean */
    }
    /* What the client sent back (alerts, a TLS 1.3 KeyUpdate answer) is
     * read and dropped, so the kernel buffers never fill. */
    if (c->server_fd >= 0) {
        uint8_t junk[4096];
        while (recv(c->server_fd, junk, sizeof junk, MSG_DONTWAIT) > 0)
            ;
    }
    return 0;
}

/* Seeds: each version, untampered and tampered; one small record read
 * whole, three records cut into 100-byte pieces read 7 bytes at a time. */
void fuzz_seeds(const char *dir)
{
    for (int v = 0; v < 2; v++)
        for (int t = 0; t < 2; t++) {
            uint8_t s[64];
            size_t n = 0;
            s[n++] = (uint8_t)(v | t << 1);
            s[n++] = 0, s[n++] = 0, s[n++] = 100; /* one record of 101 bytes */
            s[n++] = 0, s[n++] = 30, s[n++] = 0x40;
            char name[64];
            snprintf(name, sizeof name, "%s-%s-whole", v ? "tls13" : "tls12",
                     t ? "tampered" : "clean");
            fuzz_seed_write(dir, name, s, n);
            n = 0;
            s[n++] = (uint8_t)(v | t << 1);
            s[n++] = 2;
            for (int r = 0; r < 3; r++)
                s[n++] = 0x05, s[n++] = 0x00; /* 1281 bytes each */
            s[n++] = 0x0f, s[n++] = 0x00, s[n++] = 0x80;
            for (int p = 0; p < 12; p++)
                s[n++] = 0, s[n++] = 99, s[n++] = 0, s[n++] = 6;
            snprintf(name, sizeof name, "%s-%s-pieces", v ? "tls13" : "tls12",
                     t ? "tampered" : "clean");
            fuzz_seed_write(dir, name, s, n);
        }
}
