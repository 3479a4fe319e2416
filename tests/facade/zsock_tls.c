/*
 * Zephyr-style tests of TLS sockets on the facade, written against the
 * Zephyr API only (zsock_*, SOL_TLS, tls_credential_*), in the spirit of
 * Zephyr's tests/net/socket/tls: a zsock server thread and a zsock client
 * over loopback, real handshakes, then the behaviours one by one.
 *
 *   zsock_tls CASE PROTO CERTDIR      (PROTO: tls1.2 | tls1.3)
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zephyr/net/socket.h>
#include <zephyr/net/tls_credentials.h>
#include <zrec/zsock_ext.h>

#include "check.h"
#include "creds.h"

static int proto;

/* ---- a server thread ----------------------------------------------------- */

struct server {
    int ls;
    unsigned short port;
    pthread_t th;
    int accepted;        /* how many handshakes succeeded */
    int failed;          /* accept() failures (handshakes) */
    int mode;            /* 0 echo, 1 send close_notify after first read, 2 just hold,
                            3 never read until `release` */
    int release;         /* mode 3: set (atomically) when the test is done */
    int last_errno;
    sec_tag_t tags[2];   /* default: {TAG_SERVER} */
    int ntags;
    int verify;          /* -1: the server default (none) */
    int cipher;          /* 0: any */
    char alpn[32];       /* the protocol the last handshake selected */
};

static const char *server_alpn[4]; /* TLS_ALPN_LIST of the next server, if [0] */

static void *server_main(void *arg)
{
    struct server *sv = arg;
    for (;;) {
        int c = zsock_accept(sv->ls, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR || errno == EBADF)
                return NULL; /* the test closed the listener */
            sv->failed++;
            sv->last_errno = errno;
            continue;
        }
        sv->accepted++;
        socklen_t al = sizeof sv->alpn;
        if (server_alpn[0] && zsock_getsockopt(c, SOL_TLS, TLS_ALPN_LIST, sv->alpn, &al) < 0)
            snprintf(sv->alpn, sizeof sv->alpn, "error %d", errno);
        while (sv->mode == 3 && !__atomic_load_n(&sv->release, __ATOMIC_ACQUIRE))
            usleep(10000); /* the client's sends pile up in the kernel */
        char buf[16384];
        for (;;) {
            ssize_t n = zsock_recv(c, buf, sizeof buf, 0);
            if (n <= 0)
                break;
            if (sv->mode == 1)
                break; /* close → close_notify */
            if (sv->mode == 2)
                continue;
            for (ssize_t off = 0; off < n;) {
                ssize_t w = zsock_send(c, buf + off, (size_t)(n - off), 0);
                if (w <= 0)
                    break;
                off += w;
            }
        }
        zsock_close(c);
    }
}

static void server_start_opts(struct server *sv, int mode, const sec_tag_t *tags, int ntags,
                              int verify, int cipher)
{
    memset(sv, 0, sizeof *sv);
    sv->mode = mode;
    sv->ls = zsock_socket(AF_INET, SOCK_STREAM, proto);
    CHECK(sv->ls >= 0, "server socket");
    CHECK(zsock_setsockopt(sv->ls, SOL_TLS, TLS_SEC_TAG_LIST, tags,
                           (socklen_t)(ntags * sizeof *tags)) == 0, "tags");
    if (verify >= 0)
        CHECK(zsock_setsockopt(sv->ls, SOL_TLS, TLS_PEER_VERIFY, &verify, sizeof verify) == 0,
              "server verify");
    if (cipher)
        CHECK(zsock_setsockopt(sv->ls, SOL_TLS, TLS_CIPHERSUITE_LIST, &cipher, sizeof cipher) == 0,
              "server cipher");
    if (server_alpn[0])
        CHECK(zsock_setsockopt(sv->ls, SOL_TLS, TLS_ALPN_LIST, server_alpn, sizeof server_alpn) ==
                  0,
              "server ALPN");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    zsock_inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    CHECK(zsock_bind(sv->ls, (struct sockaddr *)&a, sizeof a) == 0, "bind");
    socklen_t al = sizeof a;
    CHECK(zsock_getsockname(sv->ls, (struct sockaddr *)&a, &al) == 0, "getsockname");
    sv->port = ntohs(a.sin_port);
    CHECK(zsock_listen(sv->ls, 8) == 0, "listen");
    CHECK(pthread_create(&sv->th, NULL, server_main, sv) == 0, "thread");
}

static void server_start(struct server *sv, int mode)
{
    static const sec_tag_t tags[] = {TAG_SERVER};
    server_start_opts(sv, mode, tags, 1, -1, 0);
}

static void server_stop(struct server *sv)
{
    /* close() from another thread wakes the blocked accept() (EINTR). */
    CHECK(zsock_close(sv->ls) == 0, "close listener");
    pthread_join(sv->th, NULL);
}

/* A client socket, configured but not connected. */
static int client_socket(sec_tag_t ca, const char *hostname)
{
    int s = zsock_socket(AF_INET, SOCK_STREAM, proto);
    CHECK(s >= 0, "client socket");
    sec_tag_t tags[] = {ca};
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_SEC_TAG_LIST, tags, sizeof tags) == 0, "tags");
    if (hostname)
        CHECK(zsock_setsockopt(s, SOL_TLS, TLS_HOSTNAME, hostname, strlen(hostname)) == 0,
              "hostname");
    return s;
}

static struct sockaddr_in server_addr(const struct server *sv)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(sv->port)};
    zsock_inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    return a;
}

static int client_connect(const struct server *sv, sec_tag_t ca, const char *hostname)
{
    int s = client_socket(ca, hostname);
    struct sockaddr_in a = server_addr(sv);
    CHECK(zsock_connect(s, (struct sockaddr *)&a, sizeof a) == 0, "connect");
    return s;
}

static void roundtrip(int s, size_t len)
{
    static char out[1 << 20], in[1 << 20];
    for (size_t i = 0; i < len; i++)
        out[i] = (char)(i * 31 + 7);
    size_t sent = 0, got = 0;
    while (sent < len) {
        ssize_t w = zsock_send(s, out + sent, len - sent > 50000 ? 50000 : len - sent, 0);
        CHECK(w > 0, "send");
        sent += (size_t)w;
        /* Drain the echo as we go so neither side's buffers fill up. */
        while (got < sent) {
            ssize_t r = zsock_recv(s, in + got, len - got, ZSOCK_MSG_DONTWAIT);
            if (r < 0 && errno == EAGAIN)
                break;
            CHECK(r > 0, "recv");
            got += (size_t)r;
        }
    }
    while (got < len) {
        ssize_t r = zsock_recv(s, in + got, len - got, 0);
        CHECK(r > 0, "recv");
        got += (size_t)r;
    }
    CHECK(memcmp(in, out, len) == 0, "echo intact");
}

/* ---- cases --------------------------------------------------------------- */

static void case_echo(void)
{
    struct server sv;
    server_start(&sv, 0);
    int s = client_connect(&sv, TAG_CA, "localhost");
    int v;
    socklen_t vl = sizeof v;
    CHECK(zsock_getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &v, &vl) == 0 && v == proto,
          "SO_PROTOCOL is the TLS protocol: %d", v);
    vl = sizeof v;
    CHECK(zsock_getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &vl) == 0 && v == SOCK_STREAM, "SO_TYPE");
    vl = sizeof v;
    CHECK(zsock_getsockopt(s, SOL_TLS, TLS_CIPHERSUITE_USED, &v, &vl) == 0 && v > 0,
          "TLS_CIPHERSUITE_USED");
    roundtrip(s, 1);
    roundtrip(s, 16384);
    roundtrip(s, 100000);
    roundtrip(s, 3 << 20 >> 2); /* 768 KiB */
    /* MSG_WAITALL: the whole buffer, though it spans records. */
    char msg[40000], back[40000];
    memset(msg, 'w', sizeof msg);
    CHECK(zsock_send(s, msg, sizeof msg, 0) == (ssize_t)sizeof msg, "send");
    CHECK(zsock_recv(s, back, sizeof back, ZSOCK_MSG_WAITALL) == (ssize_t)sizeof back,
          "MSG_WAITALL");
    /* MSG_PEEK leaves the data for the next recv. */
    CHECK(zsock_send(s, "peek", 4, 0) == 4, "send");
    char p[8] = {0};
    CHECK(zsock_recv(s, p, sizeof p, ZSOCK_MSG_PEEK) == 4 && memcmp(p, "peek", 4) == 0, "peek");
    memset(p, 0, sizeof p);
    CHECK(zsock_recv(s, p, 2, 0) == 2 && memcmp(p, "pe", 2) == 0, "partial read");
    CHECK(zsock_recv(s, p, sizeof p, 0) == 2 && memcmp(p, "ek", 2) == 0, "rest of the record");
    CHECK(zsock_close(s) == 0, "close");
    server_stop(&sv);
    CHECK(sv.accepted == 1 && sv.failed == 0, "server saw one clean handshake");
}

static void case_nonblock(void)
{
    struct server sv;
    server_start(&sv, 0);
    int s = client_socket(TAG_CA, "localhost");
    CHECK(zsock_fcntl(s, F_SETFL, O_NONBLOCK) == 0, "O_NONBLOCK");
    struct sockaddr_in a = server_addr(&sv);
    int rc = zsock_connect(s, (struct sockaddr *)&a, sizeof a);
    CHECK(rc == -1 && errno == EINPROGRESS, "connect: EINPROGRESS (%d)", rc);
    /* recv/send return EAGAIN while the handshake is still going. */
    char b[16];
    ssize_t r = zsock_recv(s, b, sizeof b, 0);
    CHECK(r == -1 && errno == EAGAIN, "recv during handshake: EAGAIN");
    struct zsock_pollfd pfd = {s, ZSOCK_POLLOUT, 0};
    int n = zsock_poll(&pfd, 1, 5000);
    CHECK(n == 1 && (pfd.revents & ZSOCK_POLLOUT), "POLLOUT when the handshake is done (%d)", n);
    CHECK(zsock_send(s, "hello", 5, 0) == 5, "send");
    pfd = (struct zsock_pollfd){s, ZSOCK_POLLIN, 0};
    CHECK(zsock_poll(&pfd, 1, 5000) == 1 && (pfd.revents & ZSOCK_POLLIN), "POLLIN: echo");
    CHECK(zsock_recv(s, b, sizeof b, 0) == 5 && memcmp(b, "hello", 5) == 0, "echo");
    CHECK(zsock_recv(s, b, sizeof b, 0) == -1 && errno == EAGAIN, "then EAGAIN");
    zsock_close(s);
    server_stop(&sv);
}

static void case_timeout(void)
{
    struct server sv;
    server_start(&sv, 2); /* reads, never answers */
    int s = client_connect(&sv, TAG_CA, "localhost");
    struct timeval tv = {0, 200000};
    CHECK(zsock_setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0, "SO_RCVTIMEO");
    char b[8];
    CHECK(zsock_recv(s, b, sizeof b, 0) == -1 && errno == EAGAIN, "recv times out: EAGAIN");
    CHECK(zsock_recv(s, b, sizeof b, ZSOCK_MSG_DONTWAIT) == -1 && errno == EAGAIN,
          "MSG_DONTWAIT");
    zsock_close(s);
    server_stop(&sv);
}

static int close_fd = -1;
static void *closer(void *arg)
{
    (void)arg;
    usleep(200000);
    zsock_close(close_fd);
    return NULL;
}

static void case_close_wakes_recv(void)
{
    struct server sv;
    server_start(&sv, 2);
    close_fd = client_connect(&sv, TAG_CA, "localhost");
    pthread_t th;
    pthread_create(&th, NULL, closer, NULL);
    char b[8];
    ssize_t r = zsock_recv(close_fd, b, sizeof b, 0);
    CHECK(r == -1 && errno == EINTR, "close from another thread wakes recv with EINTR (%zd)", r);
    pthread_join(th, NULL);
    server_stop(&sv);
}

static void case_peer_close(void)
{
    struct server sv;
    server_start(&sv, 1); /* closes after the first read: close_notify */
    int s = client_connect(&sv, TAG_CA, "localhost");
    CHECK(zsock_send(s, "x", 1, 0) == 1, "send");
    struct zsock_pollfd pfd = {s, ZSOCK_POLLIN, 0};
    CHECK(zsock_poll(&pfd, 1, 5000) == 1 && (pfd.revents & ZSOCK_POLLHUP),
          "close_notify reported as POLLHUP (%#x)", pfd.revents);
    char b[8];
    CHECK(zsock_recv(s, b, sizeof b, 0) == 0, "recv: end of stream");
    zsock_close(s);
    server_stop(&sv);
}

static void case_verify(void)
{
    struct server sv;
    server_start(&sv, 0);
    /* Wrong CA: the client's default is TLS_PEER_VERIFY_REQUIRED. */
    int s = client_socket(TAG_WRONG_CA, "localhost");
    struct sockaddr_in a = server_addr(&sv);
    CHECK(zsock_connect(s, (struct sockaddr *)&a, sizeof a) == -1 && errno == ECONNABORTED,
          "untrusted server: ECONNABORTED");
    zsock_close(s);
    /* Wrong hostname: the name check fails. */
    s = client_socket(TAG_CA, "not-the-server.example");
    CHECK(zsock_connect(s, (struct sockaddr *)&a, sizeof a) == -1 && errno == ECONNABORTED,
          "hostname mismatch: ECONNABORTED");
    zsock_close(s);
    /* TLS_PEER_VERIFY_NONE: the same wrong CA is accepted. */
    s = client_socket(TAG_WRONG_CA, NULL);
    int none = TLS_PEER_VERIFY_NONE;
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_PEER_VERIFY, &none, sizeof none) == 0, "verify none");
    CHECK(zsock_connect(s, (struct sockaddr *)&a, sizeof a) == 0, "connect without verify");
    roundtrip(s, 100);
    zsock_close(s);
    /* A tag with no credentials: the list is taken as given, the connect
     * fails with ENOENT (Zephyr's tls_mbedtls_set_credentials()), also
     * beside a good tag; the socket stays failed. */
    s = client_socket(4242, "localhost");
    CHECK(zsock_connect(s, (struct sockaddr *)&a, sizeof a) == -1 && errno == ENOENT,
          "tag without credentials: ENOENT (errno %d)", errno);
    CHECK(zsock_send(s, "x", 1, 0) == -1 && errno == ENOENT, "send after it: ENOENT");
    zsock_close(s);
    s = zsock_socket(AF_INET, SOCK_STREAM, proto);
    sec_tag_t two[] = {TAG_CA, 4242};
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_SEC_TAG_LIST, two, sizeof two) == 0, "two tags");
    CHECK(zsock_connect(s, (struct sockaddr *)&a, sizeof a) == -1 && errno == ENOENT,
          "a good and an empty tag: ENOENT (errno %d)", errno);
    zsock_close(s);
    /* Unknown option at SOL_TLS: ENOPROTOOPT. */
    s = client_socket(TAG_CA, NULL);
    int v = 1;
    CHECK(zsock_setsockopt(s, SOL_TLS, 999, &v, sizeof v) == -1 && errno == ENOPROTOOPT,
          "unknown SOL_TLS option");
    zsock_close(s);
    server_stop(&sv);
    CHECK(sv.failed >= 2 && sv.accepted >= 1, "server: %d failed, %d accepted", sv.failed,
          sv.accepted);
}

static void case_closed_port(void)
{
    struct server sv;
    server_start(&sv, 0);
    struct sockaddr_in a = server_addr(&sv);
    server_stop(&sv); /* nothing listens there now */
    int s = client_socket(TAG_CA, "localhost");
    CHECK(zsock_connect(s, (struct sockaddr *)&a, sizeof a) == -1 && errno == ECONNREFUSED,
          "closed port: ECONNREFUSED");
    zsock_close(s);
}

/* Pre-shared keys (TLS_CREDENTIAL_PSK + _PSK_ID under one tag): the right
 * key connects, a wrong one fails the handshake on both sides. */
static int psk_cipher_12 = 0x00A8, psk_cipher_13 = 0x1301;

static void case_psk(void)
{
    /* TLS 1.2 needs a PSK suite; TLS 1.3 negotiates PSK with its own. */
    int cipher = proto == IPPROTO_TLS_1_3 ? psk_cipher_13 : psk_cipher_12;
    static const sec_tag_t stags[] = {TAG_PSK};
    struct server sv;
    server_start_opts(&sv, 0, stags, 1, -1, cipher);
    for (int round = 0; round < 2; round++) {
        int s = zsock_socket(AF_INET, SOCK_STREAM, proto);
        sec_tag_t tags[] = {round == 0 ? TAG_PSK : TAG_WRONG_PSK};
        CHECK(zsock_setsockopt(s, SOL_TLS, TLS_SEC_TAG_LIST, tags, sizeof tags) == 0, "tags");
        CHECK(zsock_setsockopt(s, SOL_TLS, TLS_CIPHERSUITE_LIST, &cipher, sizeof cipher) == 0,
              "cipher");
        struct sockaddr_in a = server_addr(&sv);
        int rc = zsock_connect(s, (struct sockaddr *)&a, sizeof a);
        if (round == 0) {
            CHECK(rc == 0, "PSK connect");
            int used;
            socklen_t ul = sizeof used;
            CHECK(zsock_getsockopt(s, SOL_TLS, TLS_CIPHERSUITE_USED, &used, &ul) == 0 &&
                      used == cipher,
                  "suite %#x", used);
            roundtrip(s, 5000);
        } else {
            /* A wrong key: the handshake's Finished does not verify. */
            char b[4];
            bool failed = rc == -1 ? errno == ECONNABORTED || errno == ECONNRESET
                                   : zsock_recv(s, b, sizeof b, 0) <= 0;
            CHECK(failed, "wrong PSK must not connect (rc %d)", rc);
        }
        zsock_close(s);
    }
    server_stop(&sv);
    CHECK(sv.accepted == 1 && sv.failed == 1, "server: %d accepted, %d failed", sv.accepted,
          sv.failed);
}

/* The IoT/CoAP suites: TLS_PSK_WITH_AES_128_CCM_8 (RFC 6655) and TLS 1.3's
 * TLS_AES_128_CCM_8_SHA256. */
static void case_psk_ccm8(void)
{
    psk_cipher_12 = 0xC0A8;
    psk_cipher_13 = 0x1305;
    case_psk();
}

/* The server requires a client certificate (TLS_PEER_VERIFY_REQUIRED on a
 * server, with a CA to check it against). */
static void case_client_cert(void)
{
    static const sec_tag_t stags[] = {TAG_SERVER, TAG_CA};
    struct server sv;
    server_start_opts(&sv, 0, stags, 2, TLS_PEER_VERIFY_REQUIRED, 0);
    struct sockaddr_in a = server_addr(&sv);
    /* Without a certificate: refused. */
    int s = client_socket(TAG_CA, "localhost");
    int rc = zsock_connect(s, (struct sockaddr *)&a, sizeof a);
    char b[8];
    bool refused = rc == -1 || zsock_send(s, "x", 1, 0) < 0 || zsock_recv(s, b, sizeof b, 0) <= 0;
    CHECK(refused, "no client certificate must not get through");
    zsock_close(s);
    /* With one. */
    s = zsock_socket(AF_INET, SOCK_STREAM, proto);
    sec_tag_t tags[] = {TAG_CA, TAG_CLIENT};
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_SEC_TAG_LIST, tags, sizeof tags) == 0, "tags");
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_HOSTNAME, "localhost", 9) == 0, "hostname");
    CHECK(zsock_connect(s, (struct sockaddr *)&a, sizeof a) == 0, "connect with a certificate");
    roundtrip(s, 1000);
    zsock_close(s);
    server_stop(&sv);
    CHECK(sv.accepted == 1 && sv.failed == 1, "server: %d accepted, %d failed", sv.accepted,
          sv.failed);
}

/* Non-blocking accept: EAGAIN with nobody waiting; then the accepted
 * socket's handshake progresses through poll()/recv(). */
static void case_nonblock_accept(void)
{
    int ls = zsock_socket(AF_INET, SOCK_STREAM, proto);
    sec_tag_t tags[] = {TAG_SERVER};
    CHECK(zsock_setsockopt(ls, SOL_TLS, TLS_SEC_TAG_LIST, tags, sizeof tags) == 0, "tags");
    struct sockaddr_in a = {.sin_family = AF_INET};
    zsock_inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    socklen_t al = sizeof a;
    CHECK(zsock_bind(ls, (struct sockaddr *)&a, sizeof a) == 0 && zsock_listen(ls, 4) == 0 &&
              zsock_getsockname(ls, (struct sockaddr *)&a, &al) == 0,
          "listen");
    CHECK(zsock_fcntl(ls, F_SETFL, O_NONBLOCK) == 0, "O_NONBLOCK");
    CHECK(zsock_accept(ls, NULL, NULL) == -1 && errno == EAGAIN, "nothing to accept: EAGAIN");
    /* A non-blocking client too: both handshakes advance only through poll. */
    int c = client_socket(TAG_CA, "localhost");
    CHECK(zsock_fcntl(c, F_SETFL, O_NONBLOCK) == 0, "client O_NONBLOCK");
    CHECK(zsock_connect(c, (struct sockaddr *)&a, sizeof a) == -1 && errno == EINPROGRESS,
          "EINPROGRESS");
    struct zsock_pollfd lp = {ls, ZSOCK_POLLIN, 0};
    CHECK(zsock_poll(&lp, 1, 5000) == 1 && (lp.revents & ZSOCK_POLLIN), "listener POLLIN");
    int sv = zsock_accept(ls, NULL, NULL);
    CHECK(sv >= 0, "accept");
    CHECK(zsock_send(c, "hi", 2, 0) == -1 && errno == EAGAIN, "client: EAGAIN mid-handshake");
    bool c_ready = false, s_ready = false;
    for (int i = 0; i < 100 && !(c_ready && s_ready); i++) {
        /* Only the sockets not ready yet: a ready one would end every poll
         * at once and the loop would spin without waiting. */
        struct zsock_pollfd p[2];
        int n = 0;
        if (!c_ready)
            p[n++] = (struct zsock_pollfd){c, ZSOCK_POLLOUT, 0};
        if (!s_ready)
            p[n++] = (struct zsock_pollfd){sv, ZSOCK_POLLOUT, 0};
        CHECK(zsock_poll(p, n, 100) >= 0, "poll");
        for (int k = 0; k < n; k++) {
            if (!(p[k].revents & ZSOCK_POLLOUT))
                continue;
            if (p[k].fd == c)
                c_ready = true;
            else
                s_ready = true;
        }
    }
    CHECK(c_ready && s_ready, "both handshakes completed through poll");
    CHECK(zsock_send(c, "hi", 2, 0) == 2, "send");
    struct zsock_pollfd sp = {sv, ZSOCK_POLLIN, 0};
    char b[4];
    CHECK(zsock_poll(&sp, 1, 5000) == 1 && zsock_recv(sv, b, sizeof b, 0) == 2, "server reads");
    zsock_close(c);
    zsock_close(sv);
    zsock_close(ls);
}

/* Thread safety as the header states it: sockets used by one thread each
 * work concurrently; a socket shared by threads works under the caller's
 * lock. */
static struct server *thr_sv;
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static int shared_sock;

static void *own_socket_thread(void *arg)
{
    (void)arg;
    int s = client_connect(thr_sv, TAG_CA, "localhost");
    for (int i = 0; i < 20; i++)
        roundtrip(s, 3000 + (size_t)i * 100);
    zsock_close(s);
    return NULL;
}

static void *shared_socket_thread(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    for (int i = 0; i < 50; i++) {
        char msg[32], back[32];
        int n = snprintf(msg, sizeof msg, "thread %lu msg %02d", (unsigned long)id, i);
        pthread_mutex_lock(&shared_lock);
        CHECK(zsock_send(shared_sock, msg, (size_t)n, 0) == n, "shared send");
        CHECK(zsock_recv(shared_sock, back, (size_t)n, ZSOCK_MSG_WAITALL) == n, "shared recv");
        pthread_mutex_unlock(&shared_lock);
        CHECK(memcmp(msg, back, (size_t)n) == 0, "each thread gets its own echo back");
    }
    return NULL;
}

static void case_threads(void)
{
    struct server sv;
    server_start(&sv, 0);
    /* The echo server serves one connection at a time: give it a thread
     * per connection by starting several servers' worth of accepts. */
    thr_sv = &sv;
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        /* One socket per thread (sequential on the server side). */
        pthread_create(&th[i], NULL, own_socket_thread, NULL);
        pthread_join(th[i], NULL);
    }
    shared_sock = client_connect(&sv, TAG_CA, "localhost");
    for (uintptr_t i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, shared_socket_thread, (void *)i);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    zsock_close(shared_sock);
    server_stop(&sv);
    CHECK(sv.accepted == 5, "server accepted %d", sv.accepted);
}

/* TLS_SESSION_CACHE: the second connection to the same server resumes;
 * TLS_SESSION_CACHE_PURGE forgets; without the option nothing resumes. */
static bool connect_resumed(struct server *sv, int cache)
{
    int s = client_socket(TAG_CA, "localhost");
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_SESSION_CACHE, &cache, sizeof cache) == 0, "cache");
    struct sockaddr_in a = server_addr(sv);
    CHECK(zsock_connect(s, (struct sockaddr *)&a, sizeof a) == 0, "connect");
    roundtrip(s, 100); /* TLS 1.3: the ticket arrives with the first records */
    int r = -1;
    socklen_t rl = sizeof r;
    CHECK(zsock_getsockopt(s, SOL_TLS, ZREC_TLS_SESSION_RESUMED, &r, &rl) == 0, "resumed?");
    zsock_close(s);
    return r == 1;
}

static void case_session_cache(void)
{
    struct server sv;
    server_start(&sv, 0);
    CHECK(!connect_resumed(&sv, TLS_SESSION_CACHE_DISABLED), "first: full handshake");
    CHECK(!connect_resumed(&sv, TLS_SESSION_CACHE_DISABLED), "no cache: full handshake");
    CHECK(!connect_resumed(&sv, TLS_SESSION_CACHE_ENABLED), "cache empty: full handshake");
    CHECK(connect_resumed(&sv, TLS_SESSION_CACHE_ENABLED), "cached session resumed");
    int s = client_socket(TAG_CA, "localhost");
    int one = 1;
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_SESSION_CACHE_PURGE, &one, sizeof one) == 0, "purge");
    zsock_close(s);
    CHECK(!connect_resumed(&sv, TLS_SESSION_CACHE_ENABLED), "after purge: full handshake");
    server_stop(&sv);
}

/* TLS_PEER_VERIFY_OPTIONAL: the handshake goes on whatever the checks
 * found, and TLS_CERT_VERIFY_RESULT reports it with mbedTLS's flags. */
static uint32_t verify_result_of(const struct server *sv, sec_tag_t ca, const char *hostname,
                                 int verify)
{
    int s = client_socket(ca, hostname);
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_PEER_VERIFY, &verify, sizeof verify) == 0, "verify");
    struct sockaddr_in a = server_addr(sv);
    CHECK(zsock_connect(s, (struct sockaddr *)&a, sizeof a) == 0, "connect (optional verify)");
    roundtrip(s, 10);
    uint32_t flags = 0xdead;
    socklen_t fl = sizeof flags;
    CHECK(zsock_getsockopt(s, SOL_TLS, TLS_CERT_VERIFY_RESULT, &flags, &fl) == 0,
          "TLS_CERT_VERIFY_RESULT");
    zsock_close(s);
    return flags;
}

static void case_verify_optional(void)
{
    struct server sv;
    server_start(&sv, 0);
    int opt = TLS_PEER_VERIFY_OPTIONAL;
    uint32_t f = verify_result_of(&sv, TAG_CA, "localhost", opt);
    CHECK(f == 0, "trusted, right name: 0 (%#x)", f);
    f = verify_result_of(&sv, TAG_WRONG_CA, "localhost", opt);
    CHECK(f == ZREC_X509_BADCERT_NOT_TRUSTED, "wrong CA: NOT_TRUSTED (%#x)", f);
    f = verify_result_of(&sv, TAG_CA, "not-the-server.example", opt);
    CHECK(f == ZREC_X509_BADCERT_CN_MISMATCH, "wrong name: CN_MISMATCH (%#x)", f);
    f = verify_result_of(&sv, TAG_WRONG_CA, NULL, TLS_PEER_VERIFY_NONE);
    CHECK(f == ZREC_X509_BADCERT_SKIP_VERIFY, "verify none: SKIP_VERIFY (%#x)", f);
    server_stop(&sv);
    CHECK(sv.accepted == 4 && sv.failed == 0, "server: %d accepted", sv.accepted);
}

/* TLS_CERT_VERIFY_CALLBACK: sees each certificate of the chain as DER with
 * the flags found; clearing them overrides, a non-zero return aborts. */
static struct {
    const void *server_der;
    size_t server_der_len;
    int calls;
    bool saw_server_cert;
    int ret;
    bool clear;
} vcb;

static int verify_callback(void *ctx, const uint8_t *der, size_t der_len, int depth,
                           uint32_t *flags)
{
    CHECK(ctx == &vcb, "callback context");
    vcb.calls++;
    if (depth == 0 && der_len == vcb.server_der_len && memcmp(der, vcb.server_der, der_len) == 0)
        vcb.saw_server_cert = true;
    if (vcb.clear)
        *flags = 0;
    return vcb.ret;
}

static void case_verify_callback(void)
{
    struct server sv;
    server_start(&sv, 0);
    struct sockaddr_in a = server_addr(&sv);
    struct zsock_tls_cert_verify_cb cb = {(void *)verify_callback, &vcb};
    size_t der_len;
    const void *der = load("server-cert.der", &der_len);
    for (int round = 0; round < 3; round++) {
        /* 0: trusted, callback agrees; 1: trusted, callback refuses;
         * 2: untrusted, callback clears the flags. */
        memset(&vcb, 0, sizeof vcb);
        vcb.server_der = der;
        vcb.server_der_len = der_len;
        vcb.ret = round == 1 ? -1 : 0;
        vcb.clear = round == 2;
        int s = client_socket(round == 2 ? TAG_WRONG_CA : TAG_CA, "localhost");
        CHECK(zsock_setsockopt(s, SOL_TLS, TLS_CERT_VERIFY_CALLBACK, &cb, sizeof cb) == 0,
              "TLS_CERT_VERIFY_CALLBACK");
        int rc = zsock_connect(s, (struct sockaddr *)&a, sizeof a);
        CHECK(vcb.calls >= 1 && vcb.saw_server_cert, "round %d: callback saw the server's "
              "certificate at depth 0 (%d calls)", round, vcb.calls);
        if (round == 1) {
            CHECK(rc == -1 && errno == ECONNABORTED, "callback refused: ECONNABORTED");
        } else {
            CHECK(rc == 0, "round %d: connect", round);
            roundtrip(s, 10);
        }
        zsock_close(s);
    }
    server_stop(&sv);
}

/* SNI (RFC 6066 §3): TLS_HOSTNAME goes into the ClientHello; without it no
 * server_name is sent.  A plain TCP listener reads the ClientHello. */
static const char *sni_name;
static void *sni_client(void *arg)
{
    const struct server *probe = arg;
    int s = client_socket(TAG_CA, sni_name);
    int none = TLS_PEER_VERIFY_NONE;
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_PEER_VERIFY, &none, sizeof none) == 0, "verify");
    struct sockaddr_in a = server_addr(probe);
    (void)zsock_connect(s, (struct sockaddr *)&a, sizeof a); /* the probe hangs up */
    zsock_close(s);
    return NULL;
}

static bool hello_has(const char *name)
{
    struct server probe = {0};
    int ls = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    struct sockaddr_in a = {.sin_family = AF_INET};
    zsock_inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    CHECK(zsock_bind(ls, (struct sockaddr *)&a, sizeof a) == 0 && zsock_listen(ls, 1) == 0,
          "probe listener");
    socklen_t al = sizeof a;
    CHECK(zsock_getsockname(ls, (struct sockaddr *)&a, &al) == 0, "getsockname");
    probe.port = ntohs(a.sin_port);
    sni_name = name;
    pthread_t th;
    pthread_create(&th, NULL, sni_client, &probe);
    int c = zsock_accept(ls, NULL, NULL);
    CHECK(c >= 0, "accept");
    static char hello[4096];
    size_t got = 0;
    struct timeval tv = {2, 0};
    zsock_setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (got < 5 || got < 5 + (size_t)((uint8_t)hello[3] << 8 | (uint8_t)hello[4])) {
        ssize_t n = zsock_recv(c, hello + got, sizeof hello - got, 0);
        CHECK(n > 0, "ClientHello");
        got += (size_t)n;
    }
    zsock_close(c);
    zsock_close(ls);
    pthread_join(th, NULL);
    const char *look = "sni-probe.example";
    return memmem(hello, got, look, strlen(look)) != NULL;
}

static void case_sni(void)
{
    CHECK(hello_has("sni-probe.example"), "TLS_HOSTNAME set: server_name in the ClientHello");
    CHECK(!hello_has(NULL), "no TLS_HOSTNAME: no server_name");
}

/* ALPN (RFC 7301): getsockopt(TLS_ALPN_LIST) after the handshake returns
 * the protocol selected, on both ends. */
static void case_alpn(void)
{
    server_alpn[0] = "http/1.1";
    server_alpn[1] = NULL;
    struct server sv;
    server_start(&sv, 0);
    int s = client_socket(TAG_CA, "localhost");
    const char *offer[] = {"h2", "http/1.1", NULL};
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_ALPN_LIST, offer, sizeof offer) == 0, "client ALPN");
    struct sockaddr_in a = server_addr(&sv);
    CHECK(zsock_connect(s, (struct sockaddr *)&a, sizeof a) == 0, "connect");
    char chosen[32] = {0};
    socklen_t cl = sizeof chosen;
    CHECK(zsock_getsockopt(s, SOL_TLS, TLS_ALPN_LIST, chosen, &cl) == 0 &&
              strcmp(chosen, "http/1.1") == 0 && cl == 8,
          "client: selected %s", chosen);
    roundtrip(s, 10);
    zsock_close(s);
    server_stop(&sv);
    CHECK(strcmp(sv.alpn, "http/1.1") == 0, "server: selected %s", sv.alpn);
}

/* A server that completes TCP's handshake but never answers TLS's: a
 * blocking connect() gives up after SO_SNDTIMEO with ETIMEDOUT. */
static void case_connect_timeout(void)
{
    int ls = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    struct sockaddr_in a = {.sin_family = AF_INET};
    zsock_inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    CHECK(zsock_bind(ls, (struct sockaddr *)&a, sizeof a) == 0 && zsock_listen(ls, 1) == 0,
          "mute listener");
    socklen_t al = sizeof a;
    CHECK(zsock_getsockname(ls, (struct sockaddr *)&a, &al) == 0, "getsockname");
    int s = client_socket(TAG_CA, "localhost");
    struct timeval tv = {0, 300000};
    CHECK(zsock_setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0, "SO_SNDTIMEO");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = zsock_connect(s, (struct sockaddr *)&a, sizeof a);
    int err = errno;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    CHECK(rc == -1 && err == ETIMEDOUT, "handshake timeout: ETIMEDOUT (%d, errno %d)", rc, err);
    CHECK(ms >= 250 && ms < 3000, "after about SO_SNDTIMEO: %.0f ms", ms);
    zsock_close(s);
    zsock_close(ls);
}

/* SO_SNDTIMEO on a connected TLS socket whose peer does not read: once the
 * kernel's buffers are full, send() gives up with EAGAIN after the timeout,
 * and what it took before counts as sent. */
static void case_sndtimeo(void)
{
    struct server sv;
    server_start(&sv, 3);
    int s = client_connect(&sv, TAG_CA, "localhost");
    struct timeval tv = {0, 200000};
    CHECK(zsock_setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0, "SO_SNDTIMEO");
    static char chunk[65536];
    size_t total = 0;
    ssize_t w;
    while ((w = zsock_send(s, chunk, sizeof chunk, 0)) > 0) {
        total += (size_t)w;
        CHECK(total < (512u << 20), "the peer never reads: send must block at some point");
    }
    CHECK(w == -1 && errno == EAGAIN, "send times out: EAGAIN (%zd)", w);
    CHECK(total > 0, "sent %zu bytes first", total);
    __atomic_store_n(&sv.release, 1, __ATOMIC_RELEASE);
    zsock_close(s);
    server_stop(&sv);
}

/* getsockopt(TLS_CIPHERSUITE_LIST): the list set, or without one the
 * suites offered: never one the engine could not carry (CBC, AES-256-CCM). */
static void case_suites(void)
{
    int s = client_socket(TAG_CA, "localhost");
    int ids[128];
    socklen_t l = sizeof ids;
    CHECK(zsock_getsockopt(s, SOL_TLS, TLS_CIPHERSUITE_LIST, ids, &l) == 0, "default list");
    int n = (int)(l / sizeof(int));
    bool gcm13 = false, gcm12 = false;
    for (int i = 0; i < n; i++) {
        gcm13 |= ids[i] == 0x1301;
        gcm12 |= ids[i] == 0xC02F;
        CHECK(ids[i] != 0x003C && ids[i] != 0xC027 && ids[i] != 0x002F,
              "CBC suite %#x offered", ids[i]);
        /* AES-256-CCM (RFC 6655, RFC 7251) is not among zrec's AEADs. */
        CHECK(ids[i] != 0xC0A5 && ids[i] != 0xC0A7 && ids[i] != 0xC0A9 && ids[i] != 0xC0AF,
              "AES-256-CCM suite %#x offered", ids[i]);
        for (int j = 0; j < i; j++)
            CHECK(ids[i] != ids[j], "suite %#x listed twice", ids[i]);
    }
    CHECK(n >= 6 && gcm13 && gcm12, "%d suites, TLS_AES_128_GCM_SHA256 and "
          "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 among them", n);
    int set[2] = {0x1302, 0xC030};
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_CIPHERSUITE_LIST, set, sizeof set) == 0, "set");
    l = sizeof ids;
    CHECK(zsock_getsockopt(s, SOL_TLS, TLS_CIPHERSUITE_LIST, ids, &l) == 0 && l == sizeof set &&
              memcmp(ids, set, sizeof set) == 0,
          "the list set comes back");
    zsock_close(s);
}

/* ZREC_TLS_HANDSHAKE_TIMEOUT: a peer that connects and says nothing holds a
 * blocking accept() only that long, and the client behind it is served;
 * the silent one's connection is closed. */
static void case_accept_deadline(void)
{
    struct server sv;
    server_start(&sv, 0);
    int v = -1;
    socklen_t vl = sizeof v;
    CHECK(zsock_getsockopt(sv.ls, SOL_TLS, ZREC_TLS_HANDSHAKE_TIMEOUT, &v, &vl) == 0 &&
              v == ZREC_TLS_HANDSHAKE_TIMEOUT_DEFAULT_MS,
          "default handshake timeout %d", v);
    int bad = -1;
    CHECK(zsock_setsockopt(sv.ls, SOL_TLS, ZREC_TLS_HANDSHAKE_TIMEOUT, &bad, sizeof bad) == -1 &&
              errno == EINVAL,
          "negative timeout: EINVAL");
    int ms = 300;
    CHECK(zsock_setsockopt(sv.ls, SOL_TLS, ZREC_TLS_HANDSHAKE_TIMEOUT, &ms, sizeof ms) == 0,
          "set handshake timeout");
    /* The silent peer: a kernel TCP socket that never sends. */
    struct sockaddr_in a = server_addr(&sv);
    int silent = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(silent >= 0 && connect(silent, (struct sockaddr *)&a, sizeof a) == 0, "silent peer");
    double t0 = now_ms();
    int s = client_connect(&sv, TAG_CA, "localhost");
    roundtrip(s, 100);
    double took = now_ms() - t0;
    CHECK(took >= 250 && took < 5000, "client served after the silent peer's %d ms: %.0f ms", ms,
          took);
    CHECK(sv.failed == 1 && sv.last_errno == ECONNABORTED,
          "the silent peer's accept failed with ECONNABORTED (%d failed, errno %d)", sv.failed,
          sv.last_errno);
    struct timeval tv = {2, 0};
    setsockopt(silent, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char b[8];
    ssize_t n = recv(silent, b, sizeof b, 0);
    CHECK(n == 0 || (n < 0 && errno == ECONNRESET), "the silent peer was closed (%zd, errno %d)",
          n, errno);
    close(silent);
    zsock_close(s);
    server_stop(&sv);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s CASE tls1.2|tls1.3 CERTDIR\n", argv[0]);
        return 2;
    }
    proto = strcmp(argv[2], "tls1.3") == 0 ? IPPROTO_TLS_1_3 : IPPROTO_TLS_1_2;
    certdir = argv[3];
    credentials();
    static const struct {
        const char *name;
        void (*fn)(void);
    } cases[] = {
        {"echo", case_echo},
        {"nonblock", case_nonblock},
        {"timeout", case_timeout},
        {"close-wakes-recv", case_close_wakes_recv},
        {"peer-close", case_peer_close},
        {"verify", case_verify},
        {"closed-port", case_closed_port},
        {"psk", case_psk},
        {"psk-ccm8", case_psk_ccm8},
        {"client-cert", case_client_cert},
        {"nonblock-accept", case_nonblock_accept},
        {"threads", case_threads},
        {"session-cache", case_session_cache},
        {"verify-optional", case_verify_optional},
        {"verify-callback", case_verify_callback},
        {"sni", case_sni},
        {"alpn", case_alpn},
        {"suites", case_suites},
        {"connect-timeout", case_connect_timeout},
        {"sndtimeo", case_sndtimeo},
        {"accept-deadline", case_accept_deadline},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        if (strcmp(argv[1], cases[i].name) == 0) {
            cases[i].fn();
            printf("ok %s %s\n", argv[1], argv[2]);
            return 0;
        }
    fprintf(stderr, "unknown case %s\n", argv[1]);
    return 2;
}
