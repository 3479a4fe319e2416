/*
 * Zephyr-style tests of DTLS sockets on the facade, written against the
 * Zephyr API only (zsock_*, SOL_TLS, tls_credential_*), in the spirit of
 * Zephyr's tests/net/socket/tls and tls_ext: one DTLS server socket in a
 * thread serving every client, zsock DTLS clients over loopback, real
 * handshakes (cookies included), and where the network has to misbehave a
 * small UDP relay in between that drops, duplicates, corrupts, injects or
 * moves datagrams to a new source port.
 *
 *   zsock_dtls CASE PROTO CERTDIR      (PROTO: dtls1.2 | dtls1.3)
 *
 * The echo server understands a few commands (datagrams starting with '!'),
 * answered by the server thread itself right after the recvfrom() that
 * delivered them, so that server-side behaviour ("the peer of the last
 * recvfrom", getsockopt on the session ...) is checked from the client:
 *   !noaddr       answer with send() without an address
 *   !probe-first  sendto() the first client ever seen; reply "rc=R errno=E"
 *   !probe-none   sendto() an address that never had a session; same reply
 *   !whoami       reply "port=P": the source port recvfrom() reported
 *   !cid          reply "status=S own=HEX peer=HEX" (SOL_TLS CID options)
 *   !close        close the server socket (close_notify to every session)
 * Every wait is bounded: clients have SO_RCVTIMEO, polls have timeouts.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <zephyr/net/socket.h>
#include <zephyr/net/tls_credentials.h>
#include <zrec/zsock_ext.h>

#include "check.h"
#include "creds.h"

static int proto;
static bool is13;

static struct sockaddr_in loopback(unsigned short port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    zsock_inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    return a;
}

static void set_rcvtimeo(int s, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    CHECK(zsock_setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0, "SO_RCVTIMEO");
}

static void set_timeouts(int s, uint32_t min, uint32_t max)
{
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_DTLS_HANDSHAKE_TIMEOUT_MIN, &min, sizeof min) == 0,
          "TIMEOUT_MIN");
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_DTLS_HANDSHAKE_TIMEOUT_MAX, &max, sizeof max) == 0,
          "TIMEOUT_MAX");
}

static void hex(char *out, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
    out[2 * n] = '\0';
}

/* ---- the DTLS server: one socket, a thread, every client ----------------- */

enum { SV_ECHO, SV_HOLD };

struct server_opts {
    const sec_tag_t *tags; /* default {TAG_SERVER} */
    int ntags;
    int cipher;            /* 0: any */
    int cid;               /* -1: option not set */
    uint32_t tmin, tmax;   /* 0: defaults */
    int verify;            /* 0: the server default (none); else TLS_PEER_VERIFY_* + 1 */
    bool use_poll;         /* poll(POLLIN) + recvfrom(MSG_DONTWAIT) instead of blocking */
};

#define LOG_MAX 4096
struct server {
    int s;
    unsigned short port;
    pthread_t th;
    int mode;
    bool use_poll;
    atomic_bool stop;   /* poll mode: asked to stop */
    atomic_bool closed; /* the thread closed the socket (!close) */
    pthread_mutex_t mu;
    int ndata, nerr, nsenderr, nzero, spurious, last_errno, exit_errno;
    struct sockaddr_in first;
    bool have_first;
    char (*log)[48]; /* the first bytes of each datagram received */
    int nlog;
};

static void server_reply(struct server *sv, const struct sockaddr_in *to, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void server_reply(struct server *sv, const struct sockaddr_in *to, const char *fmt, ...)
{
    char b[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    if (zsock_sendto(sv->s, b, (size_t)n, 0, (const struct sockaddr *)to, sizeof *to) != n) {
        pthread_mutex_lock(&sv->mu);
        sv->nsenderr++;
        sv->last_errno = errno;
        pthread_mutex_unlock(&sv->mu);
    }
}

static void server_handle(struct server *sv, char *buf, ssize_t n, const struct sockaddr_in *from)
{
    pthread_mutex_lock(&sv->mu);
    sv->ndata++;
    if (!sv->have_first) {
        sv->first = *from;
        sv->have_first = true;
    }
    if (sv->nlog < LOG_MAX) {
        size_t l = (size_t)n < sizeof sv->log[0] - 1 ? (size_t)n : sizeof sv->log[0] - 1;
        memcpy(sv->log[sv->nlog], buf, l);
        sv->log[sv->nlog][l] = '\0';
        sv->nlog++;
    }
    struct sockaddr_in first = sv->first;
    pthread_mutex_unlock(&sv->mu);

    if (buf[0] == '!') {
        buf[n] = '\0';
        if (strcmp(buf, "!noaddr") == 0) {
            /* send() without an address: the peer of the last recvfrom. */
            if (zsock_send(sv->s, "noaddr-ok", 9, 0) != 9) {
                pthread_mutex_lock(&sv->mu);
                sv->nsenderr++;
                sv->last_errno = errno;
                pthread_mutex_unlock(&sv->mu);
            }
        } else if (strcmp(buf, "!probe-first") == 0 || strcmp(buf, "!probe-none") == 0) {
            struct sockaddr_in to = buf[7] == 'f' ? first : loopback(9);
            ssize_t rc = zsock_sendto(sv->s, "late", 4, 0, (struct sockaddr *)&to, sizeof to);
            server_reply(sv, from, "rc=%zd errno=%d", rc, rc < 0 ? errno : 0);
        } else if (strcmp(buf, "!whoami") == 0) {
            server_reply(sv, from, "port=%u", ntohs(from->sin_port));
        } else if (strcmp(buf, "!cid") == 0) {
            int st = -1;
            socklen_t sl = sizeof st;
            uint8_t own[64], peer[64];
            socklen_t ol = sizeof own, pl = sizeof peer;
            char oh[130] = "ERR", ph[130] = "ERR";
            int r1 = zsock_getsockopt(sv->s, SOL_TLS, TLS_DTLS_CID_STATUS, &st, &sl);
            if (zsock_getsockopt(sv->s, SOL_TLS, TLS_DTLS_CID_VALUE, own, &ol) == 0)
                hex(oh, own, ol);
            if (zsock_getsockopt(sv->s, SOL_TLS, TLS_DTLS_PEER_CID_VALUE, peer, &pl) == 0)
                hex(ph, peer, pl);
            server_reply(sv, from, "status=%d own=%s peer=%s", r1 == 0 ? st : -100 - errno, oh,
                         ph);
        } else if (strcmp(buf, "!close") == 0) {
            /* Marked first: the client sees the close_notify while
             * zsock_close() is still returning, and server_stop() must then
             * not close the socket a second time. */
            atomic_store(&sv->closed, true);
            zsock_close(sv->s); /* close_notify to every session */
        }
        return;
    }
    if (sv->mode == SV_ECHO &&
        zsock_sendto(sv->s, buf, (size_t)n, 0, (const struct sockaddr *)from, sizeof *from) != n) {
        pthread_mutex_lock(&sv->mu);
        sv->nsenderr++;
        sv->last_errno = errno;
        pthread_mutex_unlock(&sv->mu);
    }
}

static bool server_error(struct server *sv)
{
    pthread_mutex_lock(&sv->mu);
    sv->nerr++;
    sv->last_errno = errno;
    bool give_up = sv->nerr > 1000; /* a socket that only fails: don't spin */
    pthread_mutex_unlock(&sv->mu);
    return give_up;
}

static void *server_main(void *arg)
{
    struct server *sv = arg;
    static _Thread_local char buf[16384 + 1];
    while (!atomic_load(&sv->stop) && !atomic_load(&sv->closed)) {
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n;
        if (sv->use_poll) {
            struct zsock_pollfd p = {sv->s, ZSOCK_POLLIN, 0};
            int r = zsock_poll(&p, 1, 100);
            if (r < 0) {
                if (errno != EINTR && server_error(sv))
                    return NULL;
                continue;
            }
            if (r == 0)
                continue;
            if (p.revents & ZSOCK_POLLNVAL)
                return NULL;
            if (!(p.revents & ZSOCK_POLLIN)) {
                errno = 0;
                if (server_error(sv))
                    return NULL;
                continue;
            }
            n = zsock_recvfrom(sv->s, buf, sizeof buf - 1, ZSOCK_MSG_DONTWAIT,
                               (struct sockaddr *)&from, &fl);
            if (n < 0 && errno == EAGAIN) {
                /* POLLIN without decrypted data to read */
                pthread_mutex_lock(&sv->mu);
                sv->spurious++;
                pthread_mutex_unlock(&sv->mu);
                continue;
            }
        } else {
            n = zsock_recvfrom(sv->s, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &fl);
        }
        if (n < 0) {
            if (errno == EINTR || errno == EBADF) {
                sv->exit_errno = errno; /* the test closed the socket */
                return NULL;
            }
            if (server_error(sv))
                return NULL;
            continue;
        }
        if (n == 0) {
            pthread_mutex_lock(&sv->mu);
            sv->nzero++;
            pthread_mutex_unlock(&sv->mu);
            continue;
        }
        CHECK(fl == sizeof from && from.sin_family == AF_INET, "recvfrom gives the peer address");
        server_handle(sv, buf, n, &from);
    }
    return NULL;
}

/* A DTLS server socket, bound, not yet served. */
static int server_socket(const struct server_opts *o, unsigned short *port)
{
    static const sec_tag_t dflt[] = {TAG_SERVER};
    int s = zsock_socket(AF_INET, SOCK_DGRAM, proto);
    CHECK(s >= 0, "server socket");
    int role = TLS_DTLS_ROLE_SERVER;
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_DTLS_ROLE, &role, sizeof role) == 0, "role");
    const sec_tag_t *tags = o && o->tags ? o->tags : dflt;
    int ntags = o && o->tags ? o->ntags : 1;
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_SEC_TAG_LIST, tags,
                           (socklen_t)(ntags * sizeof *tags)) == 0, "server tags");
    if (o && o->cipher)
        CHECK(zsock_setsockopt(s, SOL_TLS, TLS_CIPHERSUITE_LIST, &o->cipher, sizeof o->cipher) == 0,
              "server cipher");
    if (o && o->cid >= 0)
        CHECK(zsock_setsockopt(s, SOL_TLS, TLS_DTLS_CID, &o->cid, sizeof o->cid) == 0,
              "server CID");
    if (o && o->tmin)
        set_timeouts(s, o->tmin, o->tmax);
    if (o && o->verify) {
        int v = o->verify - 1;
        CHECK(zsock_setsockopt(s, SOL_TLS, TLS_PEER_VERIFY, &v, sizeof v) == 0, "server verify");
    }
    struct sockaddr_in a = loopback(0);
    CHECK(zsock_bind(s, (struct sockaddr *)&a, sizeof a) == 0, "bind");
    socklen_t al = sizeof a;
    CHECK(zsock_getsockname(s, (struct sockaddr *)&a, &al) == 0, "getsockname");
    *port = ntohs(a.sin_port);
    return s;
}

/* Server logs outlive server_stop() (cases read them after): freed at exit. */
static void *logs[16];
static int nlogs;
static void free_logs(void)
{
    while (nlogs)
        free(logs[--nlogs]);
}

static void server_start_opts(struct server *sv, int mode, const struct server_opts *o)
{
    memset(sv, 0, sizeof *sv);
    pthread_mutex_init(&sv->mu, NULL);
    sv->log = calloc(LOG_MAX, sizeof *sv->log);
    CHECK(sv->log != NULL && nlogs < 16, "server log");
    if (nlogs == 0)
        atexit(free_logs);
    logs[nlogs++] = sv->log;
    sv->mode = mode;
    sv->use_poll = o && o->use_poll;
    sv->s = server_socket(o, &sv->port);
    CHECK(pthread_create(&sv->th, NULL, server_main, sv) == 0, "thread");
}

static void server_start(struct server *sv, int mode)
{
    struct server_opts o = {.cid = -1};
    server_start_opts(sv, mode, &o);
}

static void server_stop(struct server *sv)
{
    if (sv->use_poll) {
        atomic_store(&sv->stop, true);
        pthread_join(sv->th, NULL);
        if (!atomic_load(&sv->closed))
            CHECK(zsock_close(sv->s) == 0, "close server");
    } else if (atomic_load(&sv->closed)) {
        pthread_join(sv->th, NULL);
    } else {
        /* close() from another thread wakes the blocked recvfrom() (EINTR). */
        CHECK(zsock_close(sv->s) == 0, "close server");
        pthread_join(sv->th, NULL);
    }
}

/* How many datagrams the server's application received starting with p. */
static int server_count(struct server *sv, const char *p)
{
    int c = 0;
    pthread_mutex_lock(&sv->mu);
    for (int i = 0; i < sv->nlog; i++)
        if (strncmp(sv->log[i], p, strlen(p)) == 0)
            c++;
    pthread_mutex_unlock(&sv->mu);
    return c;
}

/* ---- clients -------------------------------------------------------------- */

static int client_socket(sec_tag_t ca, const char *hostname)
{
    int s = zsock_socket(AF_INET, SOCK_DGRAM, proto);
    CHECK(s >= 0, "client socket");
    sec_tag_t tags[] = {ca};
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_SEC_TAG_LIST, tags, sizeof tags) == 0, "tags");
    if (hostname)
        CHECK(zsock_setsockopt(s, SOL_TLS, TLS_HOSTNAME, hostname, strlen(hostname)) == 0,
              "hostname");
    set_rcvtimeo(s, 5000); /* a lost datagram fails the test instead of hanging it */
    return s;
}

static int connect_port(int s, unsigned short port)
{
    struct sockaddr_in a = loopback(port);
    return zsock_connect(s, (struct sockaddr *)&a, sizeof a);
}

static int client_connect(unsigned short port)
{
    int s = client_socket(TAG_CA, "localhost");
    CHECK(connect_port(s, port) == 0, "connect");
    return s;
}

static void fill(char *b, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        b[i] = (char)(i * 31 + seed * 7 + 1);
}

/* One datagram there and back, intact and whole. */
static void echo_dgram(int s, size_t len, unsigned seed)
{
    static _Thread_local char out[16384], in[16384 + 100];
    fill(out, len, seed);
    CHECK(zsock_send(s, out, len, 0) == (ssize_t)len, "send %zu", len);
    ssize_t r = zsock_recv(s, in, sizeof in, 0);
    CHECK(r == (ssize_t)len, "echo of %zu bytes: got %zd", len, r);
    CHECK(memcmp(in, out, len) == 0, "echo of %zu bytes intact", len);
}

/* Send a command/string, receive one datagram as a string. */
static void command(int s, const char *cmd, char *reply, size_t cap)
{
    CHECK(zsock_send(s, cmd, strlen(cmd), 0) == (ssize_t)strlen(cmd), "send %s", cmd);
    ssize_t r = zsock_recv(s, reply, cap - 1, 0);
    CHECK(r > 0, "reply to %s", cmd);
    reply[r] = '\0';
}

/* Tagged datagrams of 300 bytes (long enough for the relay to tell them
 * from handshake leftovers and ACKs). */
#define PAD_LEN 300
static void padded(char *b, const char *tag)
{
    memset(b, '.', PAD_LEN);
    memcpy(b, tag, strlen(tag));
}

static void send_padded(int s, const char *tag)
{
    char b[PAD_LEN];
    padded(b, tag);
    CHECK(zsock_send(s, b, PAD_LEN, 0) == PAD_LEN, "send %s", tag);
}

static void expect_padded(int s, const char *tag)
{
    char want[PAD_LEN], b[PAD_LEN + 100];
    padded(want, tag);
    ssize_t r = zsock_recv(s, b, sizeof b, 0);
    CHECK(r == PAD_LEN && memcmp(b, want, PAD_LEN) == 0, "expected the echo of %s, got %zd: %.20s",
          tag, r, r > 0 ? b : "");
}

static void expect_nothing(int s, int ms, const char *what)
{
    set_rcvtimeo(s, ms);
    char b[PAD_LEN + 100];
    ssize_t r = zsock_recv(s, b, sizeof b, 0);
    CHECK(r == -1 && errno == EAGAIN, "%s: nothing may arrive (got %zd: %.20s)", what, r,
          r > 0 ? b : "");
    set_rcvtimeo(s, 5000);
}

/* ---- a UDP relay (kernel sockets) between a client and the server -------- */

struct relay {
    int front, back;            /* front: the client's side; back: connected to the server */
    unsigned short port, back_port;
    struct sockaddr_in client;
    bool have_client;
    int stopfd[2];
    pthread_t th;
    pthread_mutex_t mu;
    /* rules */
    uint32_t drop_c2s_mask, drop_s2c_mask; /* by datagram index */
    int tamper_c2s, tamper_s2c;            /* flip a byte of the next N app datagrams */
    int dup_c2s, dup_s2c;                  /* send the next N app datagrams twice */
    bool migrate;                          /* new source port before the next c2s datagram */
    /* counters and copies */
    int n_c2s, n_s2c, dropped_c2s, dropped_s2c, tampered, duped;
    uint8_t first_c2s[4096], first_s2c[4096], last_app[20000], dup_copy[20000];
    size_t first_c2s_len, first_s2c_len, last_app_len, dup_copy_len;
};

/* An application-data record after the handshake (content type 23 in DTLS
 * 1.2; a DTLS 1.3 unified header in epoch 3), long enough to be ours. */
static bool app_record(const uint8_t *b, size_t n)
{
    if (n < 200)
        return false;
    return is13 ? (b[0] & 0xe0) == 0x20 && (b[0] & 3) == 3 : b[0] == 23;
}

static int udp_socket_to(unsigned short port, unsigned short *local)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(fd >= 0, "udp socket");
    struct sockaddr_in a = loopback(0);
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0, "udp bind");
    if (port) {
        struct sockaddr_in to = loopback(port);
        CHECK(connect(fd, (struct sockaddr *)&to, sizeof to) == 0, "udp connect");
    }
    socklen_t al = sizeof a;
    CHECK(getsockname(fd, (struct sockaddr *)&a, &al) == 0, "udp getsockname");
    if (local)
        *local = ntohs(a.sin_port);
    return fd;
}

/* ZDTLS_DEBUG=1 in the environment: every relayed datagram on stderr. */
static void relay_trace(const char *dir, int idx, const uint8_t *b, size_t len)
{
    if (getenv("ZDTLS_DEBUG") == NULL)
        return;
    fprintf(stderr, "%.1f %s #%d %zu bytes, first byte %#x", now_ms(), dir, idx, len, b[0]);
    if (b[0] == 21 && len == 15) /* a plaintext alert: level, description */
        fprintf(stderr, " (alert %d/%d)", b[13], b[14]);
    fputc('\n', stderr);
}

static void *relay_main(void *arg)
{
    struct relay *r = arg;
    static _Thread_local uint8_t buf[65536];
    for (;;) {
        pthread_mutex_lock(&r->mu);
        int back = r->back;
        pthread_mutex_unlock(&r->mu);
        struct pollfd p[3] = {{r->front, POLLIN, 0}, {back, POLLIN, 0}, {r->stopfd[0], POLLIN, 0}};
        if (poll(p, 3, 1000) < 0)
            continue;
        if (p[2].revents)
            return NULL;
        if (p[0].revents & POLLIN) {
            struct sockaddr_in from;
            socklen_t fl = sizeof from;
            ssize_t n = recvfrom(r->front, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
            if (n >= 0) {
                size_t len = (size_t)n;
                pthread_mutex_lock(&r->mu);
                r->client = from;
                r->have_client = true;
                int idx = r->n_c2s++;
                relay_trace("c2s", idx, buf, len);
                if (idx == 0 && len <= sizeof r->first_c2s) {
                    memcpy(r->first_c2s, buf, len);
                    r->first_c2s_len = len;
                }
                bool app = app_record(buf, len);
                if (idx < 32 && (r->drop_c2s_mask >> idx & 1)) {
                    r->dropped_c2s++;
                } else {
                    if (r->migrate) {
                        /* The client "moves": same flow, new source port. */
                        unsigned short np;
                        int nb = udp_socket_to(0, &np);
                        struct sockaddr_in to;
                        socklen_t tl = sizeof to;
                        getpeername(r->back, (struct sockaddr *)&to, &tl);
                        CHECK(connect(nb, (struct sockaddr *)&to, sizeof to) == 0, "connect");
                        close(r->back);
                        r->back = nb;
                        r->back_port = np;
                        r->migrate = false;
                    }
                    if (app) {
                        memcpy(r->last_app, buf, len);
                        r->last_app_len = len;
                    }
                    if (app && r->tamper_c2s > 0) {
                        r->tamper_c2s--;
                        r->tampered++;
                        buf[len / 2] ^= 0x40; /* inside the ciphertext */
                    }
                    send(r->back, buf, len, 0);
                    if (app && r->dup_c2s > 0) {
                        r->dup_c2s--;
                        r->duped++;
                        memcpy(r->dup_copy, buf, len);
                        r->dup_copy_len = len;
                        send(r->back, buf, len, 0);
                    }
                }
                pthread_mutex_unlock(&r->mu);
            }
        }
        if (p[1].revents & (POLLIN | POLLERR)) {
            ssize_t n = recv(back, buf, sizeof buf, MSG_DONTWAIT);
            if (n >= 0) {
                size_t len = (size_t)n;
                pthread_mutex_lock(&r->mu);
                int idx = r->n_s2c++;
                relay_trace("s2c", idx, buf, len);
                if (idx == 0 && len <= sizeof r->first_s2c) {
                    memcpy(r->first_s2c, buf, len);
                    r->first_s2c_len = len;
                }
                bool app = app_record(buf, len);
                if (idx < 32 && (r->drop_s2c_mask >> idx & 1)) {
                    r->dropped_s2c++;
                } else if (r->have_client) {
                    if (app && r->tamper_s2c > 0) {
                        r->tamper_s2c--;
                        r->tampered++;
                        buf[len / 2] ^= 0x40;
                    }
                    sendto(r->front, buf, len, 0, (struct sockaddr *)&r->client, sizeof r->client);
                    if (app && r->dup_s2c > 0) {
                        r->dup_s2c--;
                        r->duped++;
                        sendto(r->front, buf, len, 0, (struct sockaddr *)&r->client,
                               sizeof r->client);
                    }
                }
                pthread_mutex_unlock(&r->mu);
            }
        }
    }
}

static struct relay *relay_start(unsigned short server_port)
{
    struct relay *r = calloc(1, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    r->front = udp_socket_to(0, &r->port);
    r->back = udp_socket_to(server_port, &r->back_port);
    CHECK(pipe(r->stopfd) == 0, "pipe");
    CHECK(pthread_create(&r->th, NULL, relay_main, r) == 0, "relay thread");
    return r;
}

static void relay_stop(struct relay *r)
{
    CHECK(write(r->stopfd[1], "x", 1) == 1, "stop relay");
    pthread_join(r->th, NULL);
    close(r->front);
    close(r->back);
    close(r->stopfd[0]);
    close(r->stopfd[1]);
    free(r);
}

/* Datagrams that appear to come from the client's address (as the server
 * sees it), or from the server's (as the client sees it). */
static void relay_inject_c2s(struct relay *r, const void *b, size_t n)
{
    pthread_mutex_lock(&r->mu);
    CHECK(send(r->back, b, n, 0) == (ssize_t)n, "inject c2s");
    pthread_mutex_unlock(&r->mu);
}

static void relay_inject_s2c(struct relay *r, const void *b, size_t n)
{
    pthread_mutex_lock(&r->mu);
    CHECK(r->have_client, "client known");
    CHECK(sendto(r->front, b, n, 0, (struct sockaddr *)&r->client, sizeof r->client) ==
              (ssize_t)n, "inject s2c");
    pthread_mutex_unlock(&r->mu);
}

static void relay_set(struct relay *r, int *field, int v)
{
    pthread_mutex_lock(&r->mu);
    *field = v;
    pthread_mutex_unlock(&r->mu);
}

static int relay_get(struct relay *r, const int *field)
{
    pthread_mutex_lock(&r->mu);
    int v = *field;
    pthread_mutex_unlock(&r->mu);
    return v;
}

/* ---- cases ---------------------------------------------------------------- */

static void case_echo(void)
{
    struct server sv;
    server_start(&sv, SV_ECHO);
    int a = client_connect(sv.port);
    int v;
    socklen_t vl = sizeof v;
    CHECK(zsock_getsockopt(a, SOL_TLS, TLS_CIPHERSUITE_USED, &v, &vl) == 0 && v > 0,
          "TLS_CIPHERSUITE_USED");
    static const size_t sizes[] = {1, 2, 100, 1200, 1500, 8000, 16383, 16384};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        echo_dgram(a, sizes[i], (unsigned)i);
    /* recvfrom on the client: the server's address. */
    CHECK(zsock_send(a, "from?", 5, 0) == 5, "send");
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    char b[17000];
    CHECK(zsock_recvfrom(a, b, sizeof b, 0, (struct sockaddr *)&from, &fl) == 5, "recvfrom");
    CHECK(fl == sizeof from && ntohs(from.sin_port) == sv.port &&
              from.sin_addr.s_addr == htonl(0x7f000001),
          "client recvfrom: the server's address (port %u)", ntohs(from.sin_port));
    /* Datagram boundaries: two sends, two recvs, never merged. */
    CHECK(zsock_send(a, "abc", 3, 0) == 3 && zsock_send(a, "defgh", 5, 0) == 5, "send x2");
    CHECK(zsock_recv(a, b, sizeof b, 0) == 3 && memcmp(b, "abc", 3) == 0, "first datagram");
    CHECK(zsock_recv(a, b, sizeof b, 0) == 5 && memcmp(b, "defgh", 5) == 0, "second datagram");
    /* One record per datagram: more than 2^14 bytes does not fit. */
    CHECK(zsock_send(a, b, 16385, 0) == -1 && errno == EMSGSIZE, "16385 bytes: EMSGSIZE");
    echo_dgram(a, 10, 99); /* and the session is fine */

    /* A second client on the same server socket; send() without an address
     * answers the peer of the last recvfrom, i.e. whoever asked. */
    int c = client_connect(sv.port);
    echo_dgram(c, 1200, 5);
    char r[256];
    command(a, "!noaddr", r, sizeof r);
    CHECK(strcmp(r, "noaddr-ok") == 0, "send() without address reached the asker: %s", r);
    command(c, "!noaddr", r, sizeof r);
    CHECK(strcmp(r, "noaddr-ok") == 0, "second client too: %s", r);
    echo_dgram(a, 77, 1); /* the other reply did not land here */
    /* sendto an address without a session: ENOTCONN. */
    command(c, "!probe-none", r, sizeof r);
    CHECK(strcmp(r, "rc=-1 errno=107") == 0 && ENOTCONN == 107,
          "server sendto with no session: ENOTCONN, got %s", r);
    CHECK(zsock_close(a) == 0 && zsock_close(c) == 0, "close");
    server_stop(&sv);
    CHECK(sv.nerr == 0 && sv.nsenderr == 0 && sv.nzero == 0, "server: %d errors, %d send errors "
          "(errno %d), %d empty", sv.nerr, sv.nsenderr, sv.last_errno, sv.nzero);
}

/* sendmsg gathers its iovecs into one datagram; recvmsg scatters one. */
static void case_sendmsg(void)
{
    struct server sv;
    server_start(&sv, SV_ECHO);
    int s = client_connect(sv.port);
    static char big[1000];
    fill(big, sizeof big, 3);
    struct iovec iov[3] = {{"abc", 3}, {"defgh", 5}, {big, sizeof big}};
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = 3};
    CHECK(zsock_sendmsg(s, &m, 0) == 1008, "sendmsg: one datagram of 1008 bytes");
    char p1[10], p2[2000];
    struct iovec in[2] = {{p1, sizeof p1}, {p2, sizeof p2}};
    struct sockaddr_in from;
    struct msghdr rm = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = in,
                        .msg_iovlen = 2};
    CHECK(zsock_recvmsg(s, &rm, 0) == 1008, "recvmsg: the whole datagram");
    CHECK(memcmp(p1, "abcdefghxx", 8) == 0 && memcmp(p1 + 8, big, 2) == 0 &&
              memcmp(p2, big + 2, sizeof big - 2) == 0,
          "scattered over both iovecs in order");
    CHECK(!(rm.msg_flags & ZSOCK_MSG_TRUNC), "no MSG_TRUNC when it fits");
    CHECK(rm.msg_namelen == sizeof from && ntohs(from.sin_port) == sv.port, "msg_name");
    /* And the echo server saw one datagram, not three. */
    echo_dgram(s, 1, 0);
    CHECK(server_count(&sv, "abcdefgh") == 1, "one datagram at the server");
    zsock_close(s);
    server_stop(&sv);
    CHECK(sv.ndata == 2, "server got %d datagrams", sv.ndata);
}

static void case_sockopt(void)
{
    /* DTLS needs a datagram socket, TLS a stream. */
    CHECK(zsock_socket(AF_INET, SOCK_STREAM, proto) == -1 && errno == EPROTONOSUPPORT,
          "DTLS over a stream: EPROTONOSUPPORT");
    struct server sv;
    server_start(&sv, SV_ECHO);
    int s = client_socket(TAG_CA, "localhost");
    unsigned short sport;
    int ss = server_socket(NULL, &sport); /* not sv.s: its thread owns it */
    for (int round = 0; round < 2; round++) {
        int fds[2] = {s, ss};
        for (int k = 0; k < 2; k++) {
            int v = -1;
            socklen_t vl = sizeof v;
            CHECK(zsock_getsockopt(fds[k], SOL_SOCKET, SO_TYPE, &v, &vl) == 0 && v == SOCK_DGRAM,
                  "SO_TYPE: SOCK_DGRAM (%d)", v);
            vl = sizeof v;
            CHECK(zsock_getsockopt(fds[k], SOL_SOCKET, SO_PROTOCOL, &v, &vl) == 0 && v == proto,
                  "SO_PROTOCOL: the DTLS protocol (%d)", v);
        }
        if (round == 0)
            CHECK(connect_port(s, sv.port) == 0, "connect");
    }
    int v = 0;
    socklen_t vl = sizeof v;
    CHECK(zsock_getsockopt(s, SOL_TLS, TLS_CIPHERSUITE_USED, &v, &vl) == 0 && v > 0,
          "TLS_CIPHERSUITE_USED %#x", v);
    echo_dgram(s, 100, 1);
    zsock_close(s);
    zsock_close(ss);
    server_stop(&sv);

    s = zsock_socket(AF_INET, SOCK_DGRAM, proto);
    uint32_t ms = 500;
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_DTLS_HANDSHAKE_TIMEOUT_MIN, &ms, sizeof ms) == 0 &&
              zsock_setsockopt(s, SOL_TLS, TLS_DTLS_HANDSHAKE_TIMEOUT_MAX, &ms, sizeof ms) == 0,
          "handshake timeouts");
    uint8_t one = 1;
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_DTLS_HANDSHAKE_TIMEOUT_MIN, &one, sizeof one) == -1 &&
              errno == EINVAL, "timeout of the wrong size: EINVAL");
    int role = 7;
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_DTLS_ROLE, &role, sizeof role) == -1 &&
              errno == EINVAL, "role 7: EINVAL");
    int on = 0;
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_DTLS_HANDSHAKE_ON_CONNECT, &on, sizeof on) == 0,
          "HANDSHAKE_ON_CONNECT");
    for (int cid = TLS_DTLS_CID_SUPPORTED; cid <= TLS_DTLS_CID_ENABLED; cid++) {
        int rc = zsock_setsockopt(s, SOL_TLS, TLS_DTLS_CID, &cid, sizeof cid);
        if (is13)
            CHECK(rc == 0, "DTLS 1.3: TLS_DTLS_CID %d", cid);
        else
            CHECK(rc == -1 && errno == EOPNOTSUPP, "DTLS 1.2: TLS_DTLS_CID %d: EOPNOTSUPP", cid);
    }
    CHECK(zsock_setsockopt(s, SOL_TLS, 999, &on, sizeof on) == -1 && errno == ENOPROTOOPT,
          "unknown SOL_TLS option: ENOPROTOOPT");
    /* fuzz_sockopt found: an empty TLS_DTLS_CID_VALUE given as NULL, 0 was a
     * memcpy from NULL (undefined behaviour, UBSan stops here). */
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_DTLS_CID_VALUE, NULL, 0) == 0,
          "empty TLS_DTLS_CID_VALUE (NULL, 0)");
    uint8_t cidv[3] = {1, 2, 3};
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_DTLS_CID_VALUE, cidv, 3) == -1 && errno == EINVAL,
          "a 3-byte CID value: EINVAL");
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_DTLS_CID_VALUE, NULL, 2) == -1 && errno == EINVAL,
          "NULL with a length: EINVAL");
    /* … and reading the empty value back into NULL, 0 was a memcpy to NULL. */
    socklen_t zero = 0;
    CHECK(zsock_getsockopt(s, SOL_TLS, TLS_DTLS_CID_VALUE, NULL, &zero) == 0 && zero == 0,
          "empty TLS_DTLS_CID_VALUE read into (NULL, 0)");
    zsock_close(s);
}

/* Too small a buffer: the rest of the datagram is discarded; recvmsg says
 * MSG_TRUNC; the MSG_TRUNC flag makes recv return the real length. */
static void case_msg_trunc(void)
{
    struct server sv;
    server_start(&sv, SV_ECHO);
    int s = client_connect(sv.port);
    char out[100], b[200];
    fill(out, sizeof out, 1);
    CHECK(zsock_send(s, out, 100, 0) == 100, "send");
    memset(b, 0, sizeof b);
    CHECK(zsock_recv(s, b, 10, 0) == 10 && memcmp(b, out, 10) == 0, "truncated recv: 10 bytes");
    /* The other 90 bytes are gone: the next recv is the next datagram. */
    CHECK(zsock_send(s, "next", 4, 0) == 4, "send");
    CHECK(zsock_recv(s, b, sizeof b, 0) == 4 && memcmp(b, "next", 4) == 0,
          "rest of the datagram discarded");

    CHECK(zsock_send(s, out, 100, 0) == 100, "send");
    struct iovec iov = {b, 10};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    CHECK(zsock_recvmsg(s, &m, 0) == 10, "recvmsg: 10 bytes");
    CHECK(m.msg_flags & ZSOCK_MSG_TRUNC, "recvmsg: msg_flags has MSG_TRUNC (%#x)", m.msg_flags);
    CHECK(memcmp(b, out, 10) == 0, "recvmsg data");

    CHECK(zsock_send(s, out, 100, 0) == 100, "send");
    memset(b, 0, sizeof b);
    ssize_t r = zsock_recv(s, b, 10, ZSOCK_MSG_TRUNC);
    CHECK(r == 100, "recv(MSG_TRUNC): the datagram's real length (%zd)", r);
    CHECK(memcmp(b, out, 10) == 0 && b[10] == 0, "only 10 bytes written");

    CHECK(zsock_send(s, "tail", 4, 0) == 4, "send");
    iov = (struct iovec){b, sizeof b};
    m = (struct msghdr){.msg_iov = &iov, .msg_iovlen = 1};
    CHECK(zsock_recvmsg(s, &m, 0) == 4 && !(m.msg_flags & ZSOCK_MSG_TRUNC),
          "fitting datagram: no MSG_TRUNC");
    zsock_close(s);
    server_stop(&sv);
}

static void case_rcvtimeo(void)
{
    struct server sv;
    server_start(&sv, SV_HOLD); /* reads, never answers */
    int s = client_connect(sv.port);
    set_rcvtimeo(s, 300);
    char b[8];
    double t0 = now_ms();
    CHECK(zsock_recv(s, b, sizeof b, 0) == -1 && errno == EAGAIN, "recv times out: EAGAIN");
    double el = now_ms() - t0;
    CHECK(el >= 280 && el < 3000, "after the timeout: %.0f ms", el);
    t0 = now_ms();
    CHECK(zsock_recv(s, b, sizeof b, ZSOCK_MSG_DONTWAIT) == -1 && errno == EAGAIN,
          "MSG_DONTWAIT: EAGAIN");
    CHECK(now_ms() - t0 < 200, "MSG_DONTWAIT does not wait");
    zsock_close(s);
    server_stop(&sv);
    /* A server socket with nobody talking to it. */
    unsigned short port;
    int ss = server_socket(NULL, &port);
    struct timeval tv = {0, 200000};
    CHECK(zsock_setsockopt(ss, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0, "SO_RCVTIMEO");
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    t0 = now_ms();
    CHECK(zsock_recvfrom(ss, b, sizeof b, 0, (struct sockaddr *)&from, &fl) == -1 &&
              errno == EAGAIN, "server recvfrom times out: EAGAIN");
    el = now_ms() - t0;
    CHECK(el >= 180 && el < 3000, "server: after the timeout: %.0f ms", el);
    zsock_close(ss);
}

/* A thread blocked in recv(); the test closes the socket once the thread
 * sleeps inside the call (its state in /proc), not after a guessed delay. */
struct blocker {
    int fd;
    atomic_int tid;
    ssize_t r;
    int err;
    double woke;
};

static void *blocker_main(void *arg)
{
    struct blocker *b = arg;
    char buf[64];
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    atomic_store(&b->tid, (int)syscall(SYS_gettid));
    b->r = zsock_recvfrom(b->fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    b->err = errno;
    b->woke = now_ms();
    return NULL;
}

static void wait_sleeping(struct blocker *b)
{
    for (int i = 0; i < 5000; i++) {
        int tid = atomic_load(&b->tid);
        if (tid) {
            char path[64], st[512];
            snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
            FILE *f = fopen(path, "r");
            if (f) {
                size_t n = fread(st, 1, sizeof st - 1, f);
                fclose(f);
                st[n] = '\0';
                char *p = strrchr(st, ')');
                if (p && p[1] == ' ' && p[2] == 'S')
                    return;
            }
        }
        usleep(1000);
    }
    CHECK(0, "the receiving thread never blocked");
}

static void close_wakes(int fd, const char *who)
{
    struct blocker b = {.fd = fd};
    set_rcvtimeo(fd, 10000); /* if close does not wake it: EAGAIN, not a hang */
    pthread_t th;
    CHECK(pthread_create(&th, NULL, blocker_main, &b) == 0, "thread");
    wait_sleeping(&b);
    double t0 = now_ms();
    CHECK(zsock_close(fd) == 0, "close");
    pthread_join(th, NULL);
    CHECK(b.r == -1 && b.err == EINTR, "%s: close from another thread wakes recv with EINTR "
          "(%zd, errno %d)", who, b.r, b.err);
    CHECK(b.woke - t0 < 2000, "%s: woken at once (%.0f ms)", who, b.woke - t0);
}

static void case_close_wakes_recv(void)
{
    struct server sv;
    server_start(&sv, SV_HOLD);
    int s = client_connect(sv.port);
    close_wakes(s, "client");
    server_stop(&sv);
    unsigned short port;
    close_wakes(server_socket(NULL, &port), "server");
}

static void case_peer_close(void)
{
    /* The server closes its socket: close_notify to the client. */
    struct server sv;
    server_start(&sv, SV_ECHO);
    int s = client_connect(sv.port);
    echo_dgram(s, 10, 1);
    CHECK(zsock_send(s, "!close", 6, 0) == 6, "send");
    struct zsock_pollfd pfd = {s, ZSOCK_POLLIN, 0};
    CHECK(zsock_poll(&pfd, 1, 5000) == 1 && (pfd.revents & ZSOCK_POLLHUP),
          "close_notify reported as POLLHUP (%#x)", pfd.revents);
    char b[16];
    CHECK(zsock_recv(s, b, sizeof b, 0) == 0, "recv after close_notify: 0");
    CHECK(zsock_recv(s, b, sizeof b, 0) == 0, "and again 0");
    zsock_close(s);
    server_stop(&sv);

    /* A client's close_notify silently ends its session on the server. */
    server_start(&sv, SV_ECHO);
    int a = client_connect(sv.port);
    echo_dgram(a, 10, 2);
    CHECK(zsock_close(a) == 0, "close sends close_notify");
    /* The server reads its socket in order: once the next client's echo
     * came back, the close_notify before it has been processed. */
    int c = client_connect(sv.port);
    echo_dgram(c, 10, 3);
    char r[256];
    command(c, "!probe-first", r, sizeof r);
    CHECK(strcmp(r, "rc=-1 errno=107") == 0,
          "sendto the closed client's address: ENOTCONN (session ended), got %s", r);
    zsock_close(c);
    server_stop(&sv);
    CHECK(sv.nerr == 0 && sv.nzero == 0, "close_notify was silent at the server: %d errors "
          "(errno %d), %d empty reads", sv.nerr, sv.last_errno, sv.nzero);
}

static void case_nonblock(void)
{
    struct server sv;
    server_start(&sv, SV_ECHO);
    int s = client_socket(TAG_CA, "localhost");
    CHECK(zsock_fcntl(s, F_SETFL, O_NONBLOCK) == 0, "O_NONBLOCK");
    int rc = connect_port(s, sv.port);
    CHECK(rc == -1 && errno == EINPROGRESS, "connect: EINPROGRESS (%d)", rc);
    char b[16];
    CHECK(zsock_recv(s, b, sizeof b, 0) == -1 && errno == EAGAIN, "recv during handshake: EAGAIN");
    CHECK(zsock_send(s, "early", 5, 0) == -1 && errno == EAGAIN, "send during handshake: EAGAIN");
    struct zsock_pollfd pfd = {s, ZSOCK_POLLOUT, 0};
    int n = zsock_poll(&pfd, 1, 5000);
    CHECK(n == 1 && (pfd.revents & ZSOCK_POLLOUT) && !(pfd.revents & ZSOCK_POLLERR),
          "POLLOUT when the handshake is done (%d, %#x)", n, pfd.revents);
    int v;
    socklen_t vl = sizeof v;
    CHECK(zsock_getsockopt(s, SOL_TLS, TLS_CIPHERSUITE_USED, &v, &vl) == 0 && v > 0,
          "handshake done");
    CHECK(zsock_send(s, "hello", 5, 0) == 5, "send");
    pfd = (struct zsock_pollfd){s, ZSOCK_POLLIN, 0};
    CHECK(zsock_poll(&pfd, 1, 5000) == 1 && (pfd.revents & ZSOCK_POLLIN), "POLLIN: echo");
    CHECK(zsock_recv(s, b, sizeof b, 0) == 5 && memcmp(b, "hello", 5) == 0, "echo");
    CHECK(zsock_recv(s, b, sizeof b, 0) == -1 && errno == EAGAIN, "then EAGAIN");
    zsock_close(s);
    server_stop(&sv);
    /* A non-blocking server socket with nothing pending. */
    unsigned short port;
    int ss = server_socket(NULL, &port);
    CHECK(zsock_fcntl(ss, F_SETFL, O_NONBLOCK) == 0, "O_NONBLOCK");
    CHECK(zsock_recvfrom(ss, b, sizeof b, 0, NULL, NULL) == -1 && errno == EAGAIN,
          "server: EAGAIN");
    zsock_close(ss);
}

/* TLS_DTLS_HANDSHAKE_ON_CONNECT = 0: connect() only sets the peer; the
 * first send or recv runs the handshake. */
static void case_no_handshake_on_connect(void)
{
    int off = 0;
    /* Against a UDP socket that never answers: connect returns at once and
     * nothing is sent. */
    unsigned short sport;
    int silent = udp_socket_to(0, &sport);
    int s = client_socket(TAG_CA, "localhost");
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_DTLS_HANDSHAKE_ON_CONNECT, &off, sizeof off) == 0,
          "HANDSHAKE_ON_CONNECT 0");
    double t0 = now_ms();
    CHECK(connect_port(s, sport) == 0, "connect without handshake");
    CHECK(now_ms() - t0 < 500, "connect did not wait");
    struct pollfd p = {silent, POLLIN, 0};
    CHECK(poll(&p, 1, 300) == 0, "no ClientHello sent by connect");
    zsock_close(s);
    close(silent);

    struct server sv;
    server_start(&sv, SV_ECHO);
    /* The first send runs the handshake. */
    s = client_socket(TAG_CA, "localhost");
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_DTLS_HANDSHAKE_ON_CONNECT, &off, sizeof off) == 0, "0");
    CHECK(connect_port(s, sv.port) == 0, "connect");
    echo_dgram(s, 1200, 1);
    zsock_close(s);
    /* The first recv runs it: done, then no data → EAGAIN after SO_RCVTIMEO. */
    s = client_socket(TAG_CA, "localhost");
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_DTLS_HANDSHAKE_ON_CONNECT, &off, sizeof off) == 0, "0");
    CHECK(connect_port(s, sv.port) == 0, "connect");
    set_rcvtimeo(s, 1500);
    char b[8];
    CHECK(zsock_recv(s, b, sizeof b, 0) == -1 && errno == EAGAIN, "recv: handshake, then EAGAIN");
    int v = 0;
    socklen_t vl = sizeof v;
    CHECK(zsock_getsockopt(s, SOL_TLS, TLS_CIPHERSUITE_USED, &v, &vl) == 0 && v > 0,
          "recv ran the handshake");
    set_rcvtimeo(s, 5000);
    echo_dgram(s, 10, 2);
    zsock_close(s);
    server_stop(&sv);
}

/* ≥4 clients in threads, handshaking and talking at once to one server
 * socket driven by poll(): each gets only its own echoes. */
#define MC_CLIENTS 6
#define MC_MSGS 30
static pthread_barrier_t mc_barrier;
static unsigned short mc_port;

static void *mc_client(void *arg)
{
    int id = (int)(intptr_t)arg;
    int s = client_socket(TAG_CA, "localhost");
    pthread_barrier_wait(&mc_barrier);
    CHECK(connect_port(s, mc_port) == 0, "client %d connect", id);
    for (int i = 0; i < MC_MSGS; i++) {
        char msg[1300], back[1400];
        size_t len = 20 + (size_t)(i * 37 + id * 101) % 1200;
        fill(msg, len, (unsigned)(id * 1000 + i));
        int h = snprintf(msg, sizeof msg, "client %d msg %d|", id, i);
        (void)h;
        CHECK(zsock_send(s, msg, len, 0) == (ssize_t)len, "client %d send", id);
        ssize_t r = zsock_recv(s, back, sizeof back, 0);
        CHECK(r == (ssize_t)len && memcmp(back, msg, len) == 0,
              "client %d msg %d: got its own echo (%zd bytes: %.16s)", id, i, r, r > 0 ? back : "");
    }
    CHECK(zsock_close(s) == 0, "close");
    return NULL;
}

static void case_multi_client(void)
{
    struct server sv;
    struct server_opts o = {.cid = -1, .use_poll = true};
    server_start_opts(&sv, SV_ECHO, &o);
    mc_port = sv.port;
    pthread_barrier_init(&mc_barrier, NULL, MC_CLIENTS);
    pthread_t th[MC_CLIENTS];
    for (intptr_t i = 0; i < MC_CLIENTS; i++)
        CHECK(pthread_create(&th[i], NULL, mc_client, (void *)i) == 0, "thread");
    for (int i = 0; i < MC_CLIENTS; i++)
        pthread_join(th[i], NULL);
    /* A last client after all the close_notifys: the server still serves. */
    int s = client_connect(sv.port);
    echo_dgram(s, 16384, 1);
    zsock_close(s);
    server_stop(&sv);
    CHECK(sv.ndata == MC_CLIENTS * MC_MSGS + 1, "server got %d datagrams", sv.ndata);
    CHECK(sv.nerr == 0 && sv.nsenderr == 0, "server errors: %d, send errors %d (errno %d)",
          sv.nerr, sv.nsenderr, sv.last_errno);
    CHECK(sv.spurious == 0, "poll(POLLIN) on the server socket reported %d times with no "
          "decrypted data to read (recvfrom MSG_DONTWAIT: EAGAIN)", sv.spurious);
}

static void case_verify(void)
{
    struct server sv;
    server_start(&sv, SV_ECHO);
    /* Wrong CA: the client's default is TLS_PEER_VERIFY_REQUIRED. */
    int s = client_socket(TAG_WRONG_CA, "localhost");
    double t0 = now_ms();
    CHECK(connect_port(s, sv.port) == -1 && errno == ECONNABORTED,
          "untrusted server: ECONNABORTED");
    CHECK(now_ms() - t0 < 5000, "failed at once, not by timeout");
    zsock_close(s);
    /* Wrong hostname. */
    s = client_socket(TAG_CA, "not-the-server.example");
    CHECK(connect_port(s, sv.port) == -1 && errno == ECONNABORTED,
          "hostname mismatch: ECONNABORTED");
    zsock_close(s);
    /* TLS_PEER_VERIFY_NONE: the same wrong CA is accepted. */
    s = client_socket(TAG_WRONG_CA, NULL);
    int none = TLS_PEER_VERIFY_NONE;
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_PEER_VERIFY, &none, sizeof none) == 0, "verify none");
    CHECK(connect_port(s, sv.port) == 0, "connect without verify");
    echo_dgram(s, 100, 1);
    zsock_close(s);
    s = client_connect(sv.port);
    echo_dgram(s, 100, 2);
    zsock_close(s);
    /* A tag with no credentials: ENOENT when the handshake would start. */
    s = client_socket(4242, "localhost");
    CHECK(connect_port(s, sv.port) == -1 && errno == ENOENT,
          "tag without credentials: ENOENT (errno %d)", errno);
    zsock_close(s);
    server_stop(&sv);
    CHECK(sv.ndata == 2, "server: %d datagrams", sv.ndata);
}

/* A fatal alert from the peer: the server requires a client certificate
 * and the client has none.  A non-blocking client sees POLLERR, then an
 * error from recv (not EAGAIN, not 0); with a certificate it gets in. */
static void case_alert(void)
{
    static const sec_tag_t stags[] = {TAG_SERVER, TAG_CA};
    struct server sv;
    struct server_opts o = {.tags = stags, .ntags = 2, .cid = -1,
                            .verify = TLS_PEER_VERIFY_REQUIRED + 1};
    server_start_opts(&sv, SV_ECHO, &o);
    int s = client_socket(TAG_CA, "localhost");
    CHECK(zsock_fcntl(s, F_SETFL, O_NONBLOCK) == 0, "O_NONBLOCK");
    CHECK(connect_port(s, sv.port) == -1 && errno == EINPROGRESS, "EINPROGRESS");
    /* DTLS 1.3: the client may finish its side (POLLOUT) before the
     * server's alert arrives; then wait for it with POLLIN. */
    short events = ZSOCK_POLLOUT | ZSOCK_POLLIN, seen = 0;
    double t0 = now_ms();
    while (!(seen & ZSOCK_POLLERR) && now_ms() - t0 < 5000) {
        struct zsock_pollfd p = {s, events, 0};
        CHECK(zsock_poll(&p, 1, 500) >= 0, "poll");
        seen |= p.revents;
        if (p.revents & ZSOCK_POLLOUT)
            events = ZSOCK_POLLIN;
        CHECK(!(p.revents & ZSOCK_POLLIN) || (p.revents & (ZSOCK_POLLERR | ZSOCK_POLLHUP)),
              "no data can arrive from a server that refused us (%#x)", p.revents);
    }
    CHECK(seen & ZSOCK_POLLERR, "the server's fatal alert: POLLERR (revents seen %#x)", seen);
    char b[8];
    ssize_t r = zsock_recv(s, b, sizeof b, 0);
    CHECK(r == -1 && (errno == ECONNABORTED || errno == ECONNRESET),
          "recv after the alert: an error (%zd, errno %d)", r, errno);
    CHECK(zsock_send(s, "x", 1, 0) == -1, "send after the alert fails");
    zsock_close(s);
    /* With a client certificate. */
    s = zsock_socket(AF_INET, SOCK_DGRAM, proto);
    sec_tag_t tags[] = {TAG_CA, TAG_CLIENT};
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_SEC_TAG_LIST, tags, sizeof tags) == 0, "tags");
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_HOSTNAME, "localhost", 9) == 0, "hostname");
    set_rcvtimeo(s, 5000);
    CHECK(connect_port(s, sv.port) == 0, "connect with a client certificate");
    echo_dgram(s, 1000, 1);
    zsock_close(s);
    server_stop(&sv);
    CHECK(sv.ndata == 1 && server_count(&sv, "x") == 0, "server: %d datagrams", sv.ndata);
}

/* Lost datagrams during the handshake: retransmission (TIMEOUT_MIN 50 ms)
 * recovers. */
static void retransmit_round(struct server *sv, uint32_t drop_c2s, uint32_t drop_s2c,
                             double min_ms)
{
    struct relay *r = relay_start(sv->port);
    pthread_mutex_lock(&r->mu);
    r->drop_c2s_mask = drop_c2s;
    r->drop_s2c_mask = drop_s2c;
    pthread_mutex_unlock(&r->mu);
    int s = client_socket(TAG_CA, "localhost");
    set_timeouts(s, 50, 1600);
    double t0 = now_ms();
    int rc = connect_port(s, r->port);
    double el = now_ms() - t0;
    CHECK(rc == 0, "connect despite losses (c2s %#x s2c %#x): failed after %.0f ms", drop_c2s,
          drop_s2c, el);
    CHECK(el >= min_ms, "retransmitted after the timeout, not at once: %.0f ms", el);
    CHECK(el < 10000, "connect took %.0f ms", el);
    int want_c = __builtin_popcount(drop_c2s), want_s = __builtin_popcount(drop_s2c);
    CHECK(relay_get(r, &r->dropped_c2s) == want_c && relay_get(r, &r->dropped_s2c) == want_s,
          "the relay dropped %d/%d datagrams", r->dropped_c2s, r->dropped_s2c);
    echo_dgram(s, 1200, 1);
    echo_dgram(s, 16384, 2);
    zsock_close(s);
    relay_stop(r);
}

static void case_retransmit(void)
{
    struct server sv;
    struct server_opts o = {.cid = -1, .tmin = 50, .tmax = 1600};
    server_start_opts(&sv, SV_ECHO, &o);
    /* The first two ClientHellos lost: 50 + 100 ms at least. */
    retransmit_round(&sv, 0x3, 0, 140);
    /* The server's first three datagrams lost (HelloVerifyRequest / HRR,
     * then its flights). */
    retransmit_round(&sv, 0, 0x7, 300); /* 50 + 100 + 200 */
    /* The server's second datagram (its first flight after the cookie). */
    retransmit_round(&sv, 0, 0x2, 0); /* a gap in a flight may trigger an early retransmit */
    if (!is13) /* DTLS 1.2: the client's second flight (CKE … Finished) */
        retransmit_round(&sv, 0x4, 0, 40);
    server_stop(&sv);
    CHECK(sv.ndata == (is13 ? 6 : 8), "server echoed %d datagrams", sv.ndata);
}

/* A collector for the datagrams a silent "server" receives. */
struct silent {
    int fd;
    unsigned short port;
    atomic_bool stop;
    atomic_int n;
    double t[64];
    uint8_t first_byte[64];
    pthread_t th;
};

static void *silent_main(void *arg)
{
    struct silent *z = arg;
    while (!atomic_load(&z->stop)) {
        struct pollfd p = {z->fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        uint8_t b[4096];
        ssize_t r = recv(z->fd, b, sizeof b, 0);
        int n = atomic_load(&z->n);
        if (r > 0 && n < 64) {
            z->t[n] = now_ms();
            z->first_byte[n] = b[0];
            atomic_store(&z->n, n + 1);
        }
    }
    return NULL;
}

static void silent_start(struct silent *z)
{
    memset(z, 0, sizeof *z);
    z->fd = udp_socket_to(0, &z->port);
    CHECK(pthread_create(&z->th, NULL, silent_main, z) == 0, "thread");
}

static void silent_stop(struct silent *z)
{
    atomic_store(&z->stop, true);
    pthread_join(z->th, NULL);
    close(z->fd);
}

static void case_handshake_timeout(void)
{
    /* min 100, max 800: ClientHello at 0, retransmits after 100, 200, 400,
     * 800 ms; when the 800 ms one expires, ETIMEDOUT: ~1500 ms. */
    struct silent z;
    silent_start(&z);
    int s = client_socket(TAG_CA, "localhost");
    set_timeouts(s, 100, 800);
    double t0 = now_ms();
    int rc = connect_port(s, z.port);
    int err = errno;
    double el = now_ms() - t0;
    CHECK(rc == -1 && err == ETIMEDOUT, "connect to a silent server: ETIMEDOUT (%d, errno %d)",
          rc, err);
    CHECK(el >= 1350 && el <= 5000, "failed after %.0f ms, expected about 1500 (%d datagrams)", el,
          atomic_load(&z.n));
    zsock_close(s);
    silent_stop(&z);
    int n = atomic_load(&z.n);
    char times[512] = "";
    for (int i = 0, o = 0; i < n && o < 480; i++)
        o += snprintf(times + o, sizeof times - (size_t)o, " %.0f", z.t[i] - t0);
    CHECK(n >= 4 && n <= 6, "%d ClientHellos (1 + retransmissions) at ms:%s", n, times);
    for (int i = 0; i < n; i++)
        CHECK(z.first_byte[i] == 22, "datagram %d is a handshake record", i);
    /* Doubling: timers never fire early, so lower bounds are safe. */
    CHECK(z.t[1] - z.t[0] >= 90, "1st retransmission after %.0f ms (min 100)", z.t[1] - z.t[0]);
    CHECK(z.t[2] - z.t[1] >= 180, "2nd after %.0f ms (200)", z.t[2] - z.t[1]);
    CHECK(z.t[3] - z.t[2] >= 360, "3rd after %.0f ms (400)", z.t[3] - z.t[2]);

    /* The default TIMEOUT_MIN is 1000 ms; poll() on a non-blocking socket
     * drives the retransmission. */
    silent_start(&z);
    s = client_socket(TAG_CA, "localhost");
    CHECK(zsock_fcntl(s, F_SETFL, O_NONBLOCK) == 0, "O_NONBLOCK");
    CHECK(connect_port(s, z.port) == -1 && errno == EINPROGRESS, "EINPROGRESS");
    t0 = now_ms();
    while (atomic_load(&z.n) < 2 && now_ms() - t0 < 3000) {
        struct zsock_pollfd p = {s, ZSOCK_POLLOUT, 0};
        int pr = zsock_poll(&p, 1, 100);
        CHECK(pr == 0 || (pr == 1 && !(p.revents & ZSOCK_POLLOUT)),
              "no handshake can complete against a silent peer (%d %#x)", pr, p.revents);
    }
    n = atomic_load(&z.n);
    CHECK(n >= 2, "retransmitted within 3 s (%d datagrams)", n);
    CHECK(z.t[1] - z.t[0] >= 900 && z.t[1] - z.t[0] <= 2500,
          "default first retransmission after %.0f ms (1000)", z.t[1] - z.t[0]);
    zsock_close(s);
    silent_stop(&z);
}

/* Pre-shared keys: the right key connects, a wrong one does not, and the
 * server keeps serving. */
static void case_psk(void)
{
    int cipher = is13 ? 0x1301 : 0x00A8; /* TLS_PSK_WITH_AES_128_GCM_SHA256 */
    static const sec_tag_t stags[] = {TAG_PSK};
    struct server sv;
    struct server_opts o = {.tags = stags, .ntags = 1, .cipher = cipher, .cid = -1,
                            .tmin = 100, .tmax = 800};
    server_start_opts(&sv, SV_ECHO, &o);
    for (int round = 0; round < 3; round++) {
        int s = zsock_socket(AF_INET, SOCK_DGRAM, proto);
        sec_tag_t tags[] = {round == 1 ? TAG_WRONG_PSK : TAG_PSK};
        CHECK(zsock_setsockopt(s, SOL_TLS, TLS_SEC_TAG_LIST, tags, sizeof tags) == 0, "tags");
        CHECK(zsock_setsockopt(s, SOL_TLS, TLS_CIPHERSUITE_LIST, &cipher, sizeof cipher) == 0,
              "cipher");
        set_timeouts(s, 100, 800);
        set_rcvtimeo(s, 2000);
        int rc = connect_port(s, sv.port);
        int err = errno;
        if (round != 1) {
            CHECK(rc == 0, "PSK connect");
            int used = 0;
            socklen_t ul = sizeof used;
            CHECK(zsock_getsockopt(s, SOL_TLS, TLS_CIPHERSUITE_USED, &used, &ul) == 0 &&
                      used == cipher, "suite %#x", used);
            echo_dgram(s, 1, 1);
            echo_dgram(s, 5000, 2);
        } else {
            /* A wrong key: Finished (1.2) or the binder (1.3) fails. */
            char b[8];
            bool failed = rc == -1 ? err == ECONNABORTED || err == ECONNRESET || err == ETIMEDOUT
                                   : zsock_send(s, "x", 1, 0) != 1 ||
                                         zsock_recv(s, b, sizeof b, 0) <= 0;
            CHECK(failed, "wrong PSK must not connect (rc %d errno %d)", rc, err);
        }
        zsock_close(s);
    }
    server_stop(&sv);
    CHECK(sv.ndata == 4 && server_count(&sv, "x") == 0, "server: %d datagrams", sv.ndata);
}

/* The cookie exchange: the server's first answer is a HelloVerifyRequest
 * (1.2) or a HelloRetryRequest (1.3), also to a replayed ClientHello from
 * another address, and small (no amplification, no state). */
static bool is_cookie_request(const uint8_t *b, size_t n)
{
    static const uint8_t hrr_random[32] = {
        0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
        0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};
    if (n < 13 + 12 + 2 + 32 || b[0] != 22)
        return false;
    if (!is13)
        return b[13] == 3; /* hello_verify_request */
    return b[13] == 2 && memcmp(b + 13 + 12 + 2, hrr_random, 32) == 0;
}

/* A real client's session through a relay that notes the first datagram
 * each way: one echo done, the client's ClientHello copied into ch (room
 * for 4096 bytes); its length. */
static size_t session_with_hello(struct server *sv, struct relay **r, int *s, uint8_t *ch)
{
    server_start(sv, SV_ECHO);
    *r = relay_start(sv->port);
    *s = client_connect((*r)->port);
    echo_dgram(*s, 100, 1);
    pthread_mutex_lock(&(*r)->mu);
    CHECK(is_cookie_request((*r)->first_s2c, (*r)->first_s2c_len),
          "the server's first datagram asks for a cookie (%zu bytes, type %d)",
          (*r)->first_s2c_len, (*r)->first_s2c[0]);
    CHECK((*r)->first_c2s[0] == 22 && (*r)->first_c2s[13] == 1,
          "the client's first is a ClientHello");
    size_t chl = (*r)->first_c2s_len;
    CHECK(chl <= 4096, "ClientHello of %zu bytes", chl);
    memcpy(ch, (*r)->first_c2s, chl);
    pthread_mutex_unlock(&(*r)->mu);
    return chl;
}

/* The real client still has its session; everything stops. */
static void session_end(struct server *sv, struct relay *r, int s)
{
    echo_dgram(s, 100, 2);
    zsock_close(s);
    relay_stop(r);
    server_stop(sv);
}

/* One datagram to the server from fd, and its answer (within 3 s) in b;
 * the answer's length. */
static ssize_t ask(int fd, const void *dgram, size_t len, uint8_t *b, size_t cap,
                   const char *what)
{
    CHECK(send(fd, dgram, len, 0) == (ssize_t)len, "send %s", what);
    struct pollfd p = {fd, POLLIN, 0};
    CHECK(poll(&p, 1, 3000) == 1, "an answer to %s", what);
    return recv(fd, b, cap, 0);
}

static void case_cookie(void)
{
    struct server sv;
    struct relay *r;
    int s;
    uint8_t ch[4096];
    size_t chl = session_with_hello(&sv, &r, &s, ch);
    /* The ClientHello replayed from elsewhere: only a cookie request back. */
    unsigned short lp;
    int raw = udp_socket_to(sv.port, &lp);
    for (int i = 0; i < 2; i++) {
        uint8_t b[4096];
        ssize_t n = ask(raw, ch, chl, b, sizeof b, "the ClientHello");
        CHECK(n > 0 && is_cookie_request(b, (size_t)n), "stateless cookie request (%zd bytes)",
              n);
        CHECK((size_t)n < 3 * chl, "no amplification: %zd bytes for %zu", n, chl);
        struct pollfd p = {raw, POLLIN, 0};
        CHECK(poll(&p, 1, 200) == 0, "nothing more than the cookie request");
    }
    close(raw);
    session_end(&sv, r, s);
}

/* ClientHello2 made from ClientHello1 (one whole record) and the cookie of
 * the server's request: DTLS 1.2 puts it in the legacy cookie field (RFC
 * 6347 §4.2.1), DTLS 1.3 in a cookie extension appended to the extensions
 * (RFC 8446 §4.2.2).  Lengths fixed up: record, handshake message and
 * fragment, extensions.  Returns its length. */
static size_t hello_with_cookie(const uint8_t *ch, size_t chl, const uint8_t *cookie,
                                size_t cl, uint8_t *out)
{
    size_t i = 25 + 2 + 32;
    i += 1 + ch[i]; /* session_id: next is the legacy cookie's length byte */
    size_t o;
    if (!is13) {
        memcpy(out, ch, i);
        out[i] = (uint8_t)cl;
        memcpy(out + i + 1, cookie, cl);
        memcpy(out + i + 1 + cl, ch + i + 1, chl - i - 1);
        o = chl + cl;
    } else {
        i += 1;                                   /* an empty legacy_cookie */
        i += 2 + (size_t)(ch[i] << 8 | ch[i + 1]); /* cipher_suites */
        i += 1 + ch[i];                           /* compression_methods */
        size_t el = (size_t)(ch[i] << 8 | ch[i + 1]) + 6 + cl;
        memcpy(out, ch, chl);
        out[i] = (uint8_t)(el >> 8);
        out[i + 1] = (uint8_t)el;
        uint8_t *e = out + chl;
        e[0] = 0, e[1] = 44;                               /* cookie */
        e[2] = (uint8_t)((cl + 2) >> 8), e[3] = (uint8_t)(cl + 2);
        e[4] = (uint8_t)(cl >> 8), e[5] = (uint8_t)cl;
        memcpy(e + 6, cookie, cl);
        o = chl + 6 + cl;
    }
    size_t rec = o - 13, msg = o - 25;
    out[11] = (uint8_t)(rec >> 8), out[12] = (uint8_t)rec;
    for (int k = 0; k < 2; k++) { /* length, fragment_length */
        uint8_t *l = out + (k ? 22 : 14);
        l[0] = (uint8_t)(msg >> 16), l[1] = (uint8_t)(msg >> 8), l[2] = (uint8_t)msg;
    }
    return o;
}

/* The cookie of a cookie request: HelloVerifyRequest's (after the
 * version), or the HelloRetryRequest's cookie extension. */
static size_t request_cookie(const uint8_t *b, size_t n, uint8_t *cookie)
{
    if (!is13) {
        size_t cl = b[27];
        CHECK(28 + cl <= n, "HelloVerifyRequest cookie");
        memcpy(cookie, b + 28, cl);
        return cl;
    }
    size_t i = 25 + 2 + 32;
    i += 1 + b[i] + 2 + 1; /* session id echo, cipher suite, compression */
    size_t end = i + 2 + (size_t)(b[i] << 8 | b[i + 1]);
    CHECK(end <= n, "HelloRetryRequest extensions");
    for (i += 2; i + 4 <= end;) {
        size_t len = (size_t)(b[i + 2] << 8 | b[i + 3]);
        if (b[i] == 0 && b[i + 1] == 44) {
            size_t cl = (size_t)(b[i + 4] << 8 | b[i + 5]);
            memcpy(cookie, b + i + 6, cl);
            return cl;
        }
        i += 4 + len;
    }
    CHECK(false, "no cookie in the HelloRetryRequest");
    return 0;
}

/* ClientHello1 from fd: the cookie of the server's request into cookie;
 * its length. */
static size_t fetch_cookie(int fd, const uint8_t *ch, size_t chl, uint8_t *cookie)
{
    uint8_t b[4096];
    ssize_t n = ask(fd, ch, chl, b, sizeof b, "ClientHello1");
    CHECK(n > 0 && is_cookie_request(b, (size_t)n), "a cookie request");
    return request_cookie(b, (size_t)n, cookie);
}

/* Forged cookies (RFC 6347 §4.2.1, RFC 9147 §5.1): a ClientHello whose
 * cookie was tampered with, or made for another address, gets only a new
 * cookie request - never the server's flight, whose making costs
 * public-key operations and whose size would amplify a spoofed flood -
 * while the ClientHello with the cookie as given gets the ServerHello and
 * more.  (wolfSSL 5.5.4's own DTLS 1.3 check lets a bad cookie through:
 * tests/facade/cookie_diff.c.) */
static void case_forged_cookie(void)
{
    struct server sv;
    struct relay *r;
    int s;
    uint8_t ch[4096];
    size_t chl = session_with_hello(&sv, &r, &s, ch);
    unsigned short lp, lp2;
    int raw = udp_socket_to(sv.port, &lp), other = udp_socket_to(sv.port, &lp2);
    uint8_t b[4096], cookie[256], ch2[4096];
    size_t cl = fetch_cookie(raw, ch, chl, cookie);
    for (int forgery = 0; forgery < 3; forgery++) {
        uint8_t c[256];
        memcpy(c, cookie, cl);
        if (forgery < 2)
            c[forgery ? cl - 1 : cl / 2] ^= 0x01; /* inside the data; inside the MAC */
        size_t l = hello_with_cookie(ch, chl, c, cl, ch2);
        int to = forgery == 2 ? other : raw; /* 2: the right cookie from elsewhere */
        ssize_t n = ask(to, ch2, l, b, sizeof b, "a forged ClientHello2");
        CHECK(n > 0 && is_cookie_request(b, (size_t)n),
              "forgery %d: only a new cookie request (%zd bytes, type %d)", forgery, n, b[13]);
        struct pollfd q = {to, POLLIN, 0};
        CHECK(poll(&q, 1, 300) == 0, "forgery %d: nothing more", forgery);
    }
    /* The cookie as given, from its address: the handshake goes on. */
    size_t l = hello_with_cookie(ch, chl, cookie, cl, ch2);
    ssize_t n = ask(raw, ch2, l, b, sizeof b, "ClientHello2");
    CHECK(n > 13 + 12 && b[0] == 22 && b[13] == 2 && !is_cookie_request(b, (size_t)n),
          "a valid cookie gets the ServerHello (%zd bytes, type %d)", n, b[13]);
    close(raw);
    close(other);
    session_end(&sv, r, s); /* the real client never noticed */
}

/* Cookies expire (RFC 9147 §5.1): with ZREC_DTLS_COOKIE_ROTATE_MS=300, a
 * cookie brought back within a period starts the handshake, one brought
 * back after two periods (of silence) gets a new cookie request. */
static void case_cookie_expiry(void)
{
    setenv("ZREC_DTLS_COOKIE_ROTATE_MS", "300", 1); /* read by the server socket */
    struct server sv;
    struct relay *r;
    int s;
    uint8_t ch[4096], b[4096], cookie[256], ch2[4096];
    size_t chl = session_with_hello(&sv, &r, &s, ch);
    for (int late = 0; late < 2; late++) {
        /* A new address each time: the first one's handshake is under way. */
        unsigned short lp;
        int raw = udp_socket_to(sv.port, &lp);
        size_t cl = fetch_cookie(raw, ch, chl, cookie);
        if (late)
            usleep(700 * 1000); /* two periods and more */
        size_t l = hello_with_cookie(ch, chl, cookie, cl, ch2);
        ssize_t n = ask(raw, ch2, l, b, sizeof b, "ClientHello2");
        if (late)
            CHECK(n > 0 && is_cookie_request(b, (size_t)n),
                  "an expired cookie gets a new cookie request (%zd bytes, type %d)", n, b[13]);
        else
            CHECK(n > 25 && b[13] == 2 && !is_cookie_request(b, (size_t)n),
                  "a fresh cookie gets the ServerHello (%zd bytes, type %d)", n, b[13]);
        close(raw);
    }
    session_end(&sv, r, s);
    unsetenv("ZREC_DTLS_COOKIE_ROTATE_MS");
}

static void parse_cid(const char *reply, int *status, char *own, char *peer)
{
    const char *o = strstr(reply, " own="), *p = strstr(reply, " peer=");
    CHECK(sscanf(reply, "status=%d", status) == 1 && o && p && p > o, "!cid reply: %s", reply);
    size_t ol = (size_t)(p - (o + 5));
    CHECK(ol < 130 && strlen(p + 6) < 130, "!cid reply: %s", reply);
    memcpy(own, o + 5, ol);
    own[ol] = '\0';
    strcpy(peer, p + 6);
}

static void client_cid(int s, int *status, char *own, char *peer)
{
    uint8_t b[64];
    socklen_t l = sizeof *status;
    CHECK(zsock_getsockopt(s, SOL_TLS, TLS_DTLS_CID_STATUS, status, &l) == 0, "CID_STATUS");
    l = sizeof b;
    CHECK(zsock_getsockopt(s, SOL_TLS, TLS_DTLS_CID_VALUE, b, &l) == 0, "CID_VALUE");
    hex(own, b, l);
    l = sizeof b;
    CHECK(zsock_getsockopt(s, SOL_TLS, TLS_DTLS_PEER_CID_VALUE, b, &l) == 0, "PEER_CID_VALUE");
    hex(peer, b, l);
}

static unsigned whoami(int s)
{
    char r[64];
    command(s, "!whoami", r, sizeof r);
    unsigned p = 0;
    CHECK(sscanf(r, "port=%u", &p) == 1, "whoami: %s", r);
    return p;
}

/* The client moves to a new source port: with a CID the server still finds
 * its session and answers at the new address. */
static void migrate_and_check(struct server *sv, struct relay *r, int s, const char *tag)
{
    pthread_mutex_lock(&r->mu);
    unsigned short old = r->back_port;
    pthread_mutex_unlock(&r->mu);
    CHECK(whoami(s) == old, "server sees the relay's port");
    pthread_mutex_lock(&r->mu);
    r->migrate = true;
    pthread_mutex_unlock(&r->mu);
    unsigned p = whoami(s);
    pthread_mutex_lock(&r->mu);
    unsigned short np = r->back_port;
    pthread_mutex_unlock(&r->mu);
    CHECK(np != old && p == np, "after the move the server reports the new port %u (old %u, "
          "got %u)", np, old, p);
    send_padded(s, tag);
    expect_padded(s, tag);
    echo_dgram(s, 1200, 3);
    CHECK(server_count(sv, tag) == 1, "server got it once");
}

/* What both ends report of their CIDs after the handshake. */
struct cid_view {
    int cst, sst;                                /* client's, server's status */
    char cown[130], cpeer[130], sown[130], speer[130];
};

/* A client with TLS_DTLS_CID = mode, connected through r to a server that
 * enables CIDs; v gets both ends' CID options. */
static int cid_client(struct relay *r, int mode, struct cid_view *v)
{
    int s = client_socket(TAG_CA, "localhost");
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_DTLS_CID, &mode, sizeof mode) == 0, "client CID");
    CHECK(connect_port(s, r->port) == 0, "connect");
    char rep[256];
    client_cid(s, &v->cst, v->cown, v->cpeer);
    command(s, "!cid", rep, sizeof rep);
    parse_cid(rep, &v->sst, v->sown, v->speer);
    return s;
}

static void case_cid(void)
{
    struct server sv;
    struct server_opts o = {.cid = TLS_DTLS_CID_ENABLED};
    server_start_opts(&sv, SV_ECHO, &o);
    struct relay *r = relay_start(sv.port);
    struct cid_view v;
    int s = cid_client(r, TLS_DTLS_CID_ENABLED, &v);
    int cst = v.cst, sst = v.sst;
    char *cown = v.cown, *cpeer = v.cpeer, *sown = v.sown, *speer = v.speer, rep[256];
    CHECK(cst == TLS_DTLS_CID_STATUS_BIDIRECTIONAL, "client CID status %d", cst);
    CHECK(strlen(cown) > 0 && strlen(cpeer) > 0, "client: own %s, peer %s", cown, cpeer);
    CHECK(sst == TLS_DTLS_CID_STATUS_BIDIRECTIONAL, "server CID status %d", sst);
    CHECK(strcmp(sown, cpeer) == 0 && strcmp(speer, cown) == 0,
          "CIDs match: client own %s peer %s, server own %s peer %s", cown, cpeer, sown, speer);
    migrate_and_check(&sv, r, s, "after-move");
    command(s, "!cid", rep, sizeof rep);
    parse_cid(rep, &sst, sown, speer);
    CHECK(sst == TLS_DTLS_CID_STATUS_BIDIRECTIONAL && strcmp(sown, cpeer) == 0 &&
              strcmp(speer, cown) == 0, "same session after the move: %s", rep);

    /* Without a CID the moved client's records belong to no session: they
     * never reach the server's application. */
    struct relay *r2 = relay_start(sv.port);
    int t = client_connect(r2->port);
    socklen_t cl = sizeof cst;
    CHECK(zsock_getsockopt(t, SOL_TLS, TLS_DTLS_CID_STATUS, &cst, &cl) == 0, "CID_STATUS");
    CHECK(cst == TLS_DTLS_CID_STATUS_DISABLED, "no CID requested: status %d", cst);
    echo_dgram(t, 100, 4);
    pthread_mutex_lock(&r2->mu);
    r2->migrate = true;
    pthread_mutex_unlock(&r2->mu);
    send_padded(t, "nocid-moved");
    expect_nothing(t, 700, "moved client without CID");
    echo_dgram(s, 100, 5); /* the server has read past the moved datagram */
    CHECK(server_count(&sv, "nocid-moved") == 0, "no session found by a new address alone");
    zsock_close(t);
    relay_stop(r2);
    zsock_close(s);
    relay_stop(r);
    server_stop(&sv);
    CHECK(sv.nerr == 0, "server errors: %d (errno %d)", sv.nerr, sv.last_errno);
}

/* TLS_DTLS_CID_SUPPORTED: we use the peer's CID but ask for none. */
static void case_cid_oneway(void)
{
    struct server sv;
    struct server_opts o = {.cid = TLS_DTLS_CID_ENABLED};
    server_start_opts(&sv, SV_ECHO, &o);
    struct relay *r = relay_start(sv.port);
    struct cid_view v;
    int s = cid_client(r, TLS_DTLS_CID_SUPPORTED, &v);
    CHECK(v.cst == TLS_DTLS_CID_STATUS_UPLINK,
          "client: only the peer's CID in use → UPLINK (%d)", v.cst);
    CHECK(v.sst == TLS_DTLS_CID_STATUS_DOWNLINK,
          "server: only its own CID in use → DOWNLINK (%d)", v.sst);
    CHECK(v.cown[0] == '\0' && v.speer[0] == '\0' && strlen(v.cpeer) > 0 &&
              strcmp(v.cpeer, v.sown) == 0,
          "client own '%s' peer %s, server own %s peer '%s'", v.cown, v.cpeer, v.sown, v.speer);
    /* The client's records carry the server's CID: it may move. */
    migrate_and_check(&sv, r, s, "oneway-move");
    zsock_close(s);
    relay_stop(r);
    server_stop(&sv);
}

/* Tampered, truncated, garbage and forged datagrams are silently dropped
 * (RFC 6347 §4.1.2.7, RFC 9147 §4.5.2): the session keeps working and
 * the server keeps serving others. */
static void case_hostile(void)
{
    struct server sv;
    server_start(&sv, SV_ECHO);
    struct relay *r = relay_start(sv.port);
    int s = client_connect(r->port);
    int other = client_connect(sv.port);
    echo_dgram(s, 100, 1); /* handshake leftovers (ACKs, tickets) go by */
    echo_dgram(other, 100, 1);

    relay_set(r, &r->tamper_c2s, 1);
    send_padded(s, "TAMPERED-c2s");
    expect_nothing(s, 700, "tampered client record");
    CHECK(relay_get(r, &r->tampered) == 1, "the relay tampered with it");
    send_padded(s, "after-1");
    expect_padded(s, "after-1");

    relay_set(r, &r->tamper_s2c, 1);
    send_padded(s, "tamper-s2c");
    expect_nothing(s, 700, "tampered server record");
    CHECK(relay_get(r, &r->tampered) == 2, "the relay tampered with the answer");
    send_padded(s, "after-2");
    expect_padded(s, "after-2");

    /* Injected from the session's own address, both ways. */
    pthread_mutex_lock(&r->mu);
    uint8_t last[20000];
    size_t ll = r->last_app_len;
    memcpy(last, r->last_app, ll);
    pthread_mutex_unlock(&r->mu);
    CHECK(ll >= PAD_LEN, "a record to mangle (%zu)", ll);
    uint8_t g[400];
    for (size_t i = 0; i < sizeof g; i++)
        g[i] = (uint8_t)(i * 131 + 17);
    g[0] = is13 ? 0x2f : 23; /* looks like application data */
    uint8_t mangled[20000];
    for (int dir = 0; dir < 2; dir++) {
        void (*inject)(struct relay *, const void *, size_t) =
            dir == 0 ? relay_inject_c2s : relay_inject_s2c;
        inject(r, g, sizeof g);                /* garbage */
        inject(r, last, ll / 2);               /* truncated */
        inject(r, last, 1);                    /* a single byte */
        inject(r, g, 0);                       /* empty */
        memcpy(mangled, last, ll);             /* oversized length field */
        if (!is13)
            mangled[11] = mangled[12] = 0xff;
        else if (mangled[0] & 0x04) { /* L bit; no CID here */
            size_t off = 1 + ((mangled[0] & 0x08) ? 2 : 1);
            mangled[off] = mangled[off + 1] = 0xff;
        }
        inject(r, mangled, ll);
        inject(r, last, ll);                   /* a replay of a real record */
        /* A forged plaintext fatal alert (epoch 0, handshake_failure). */
        static const uint8_t alert[] = {21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0x50, 0, 2, 2, 40};
        inject(r, alert, sizeof alert);
    }
    expect_nothing(s, 500, "injected datagrams");
    send_padded(s, "after-3");
    expect_padded(s, "after-3");

    /* Garbage from other addresses. */
    int raw = udp_socket_to(sv.port, NULL);
    CHECK(send(raw, g, sizeof g, 0) == (ssize_t)sizeof g, "garbage");
    CHECK(send(raw, last, ll, 0) == (ssize_t)ll, "someone else's record");
    CHECK(send(raw, g, 0, 0) == 0, "empty");
    uint8_t ch[] = {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 0, 0};
    CHECK(send(raw, ch, sizeof ch, 0) == (ssize_t)sizeof ch, "truncated ClientHello");
    close(raw);
    echo_dgram(other, 1200, 2);
    send_padded(s, "after-4");
    expect_padded(s, "after-4");
    zsock_close(s);
    zsock_close(other);
    /* And a new client still gets in. */
    s = client_connect(sv.port);
    echo_dgram(s, 100, 3);
    zsock_close(s);
    relay_stop(r);
    server_stop(&sv);
    CHECK(server_count(&sv, "TAMPERED") == 0, "no tampered bytes reached the application");
    CHECK(server_count(&sv, "tamper-s2c") == 1, "the server got the untampered request once");
    CHECK(server_count(&sv, "after-2") == 1, "the replayed record was not delivered again");
    CHECK(sv.nerr == 0 && sv.nzero == 0, "dropped silently: %d errors (errno %d), %d empty",
          sv.nerr, sv.last_errno, sv.nzero);
}

/* The same datagram twice is delivered once (replay window), both ways,
 * and an old one replayed later too. */
static void case_replay(void)
{
    struct server sv;
    server_start(&sv, SV_ECHO);
    struct relay *r = relay_start(sv.port);
    int s = client_connect(r->port);
    echo_dgram(s, 100, 1);

    relay_set(r, &r->dup_c2s, 1);
    send_padded(s, "replay-1");
    expect_padded(s, "replay-1");
    send_padded(s, "marker-1");
    expect_padded(s, "marker-1"); /* not a second replay-1 */
    CHECK(relay_get(r, &r->duped) == 1, "the relay sent it twice");

    relay_set(r, &r->dup_s2c, 1);
    send_padded(s, "replay-2");
    expect_padded(s, "replay-2");
    send_padded(s, "marker-2");
    expect_padded(s, "marker-2");
    CHECK(relay_get(r, &r->duped) == 2, "the relay sent the answer twice");

    /* An old record replayed after newer ones. */
    pthread_mutex_lock(&r->mu);
    uint8_t old[20000];
    size_t ol = r->dup_copy_len;
    memcpy(old, r->dup_copy, ol);
    pthread_mutex_unlock(&r->mu);
    relay_inject_c2s(r, old, ol);
    send_padded(s, "marker-3");
    expect_padded(s, "marker-3");
    expect_nothing(s, 300, "replays");
    zsock_close(s);
    relay_stop(r);
    server_stop(&sv);
    CHECK(server_count(&sv, "replay-1") == 1, "server delivered replay-1 %d times",
          server_count(&sv, "replay-1"));
    CHECK(server_count(&sv, "replay-2") == 1 && server_count(&sv, "marker-") == 3,
          "each datagram once");
}

/* Nothing listens on the port: the ICMP port-unreachable fails connect()
 * at once with ECONNREFUSED instead of after the whole retransmission
 * schedule. */
static void case_closed_port(void)
{
    unsigned short port;
    int u = udp_socket_to(0, &port);
    close(u); /* the port is free now */
    int s = client_socket(TAG_CA, "localhost");
    double t0 = now_ms();
    int rc = connect_port(s, port);
    CHECK(rc == -1 && errno == ECONNREFUSED, "closed port: ECONNREFUSED (%d, errno %d)", rc,
          errno);
    CHECK(now_ms() - t0 < 900, "refused before the first retransmission: %.0f ms",
          now_ms() - t0);
    zsock_close(s);
}

/* TLS_SESSION_CACHE on a DTLS client: the second connection to the same
 * server resumes (DTLS 1.2: RFC 5246 §7.3 abbreviated handshake; DTLS 1.3:
 * a ticket the engine received after the handoff); purge forgets. */
static bool dtls_connect_resumed(unsigned short port, int cache)
{
    int s = client_socket(TAG_CA, "localhost");
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_SESSION_CACHE, &cache, sizeof cache) == 0, "cache");
    CHECK(connect_port(s, port) == 0, "connect");
    echo_dgram(s, 100, 3);
    int r = -1;
    socklen_t rl = sizeof r;
    CHECK(zsock_getsockopt(s, SOL_TLS, ZREC_TLS_SESSION_RESUMED, &r, &rl) == 0, "resumed?");
    zsock_close(s);
    return r == 1;
}

static void case_session_cache(void)
{
    struct server sv;
    server_start(&sv, SV_ECHO);
    CHECK(!dtls_connect_resumed(sv.port, TLS_SESSION_CACHE_DISABLED), "first: full handshake");
    CHECK(!dtls_connect_resumed(sv.port, TLS_SESSION_CACHE_ENABLED), "cache empty: full");
    CHECK(dtls_connect_resumed(sv.port, TLS_SESSION_CACHE_ENABLED), "cached session resumed");
    CHECK(!dtls_connect_resumed(sv.port, TLS_SESSION_CACHE_DISABLED), "no cache: full");
    int s = client_socket(TAG_CA, "localhost");
    int one = 1;
    CHECK(zsock_setsockopt(s, SOL_TLS, TLS_SESSION_CACHE_PURGE, &one, sizeof one) == 0, "purge");
    zsock_close(s);
    CHECK(!dtls_connect_resumed(sv.port, TLS_SESSION_CACHE_ENABLED), "after purge: full");
    server_stop(&sv);
}

/* A full server (ZREC_DTLS_MAX_PEERS) makes room for a client that passed
 * the cookie exchange by dropping the session silent the longest; the
 * others go on. */
static void case_evict(void)
{
    CHECK(setenv("ZREC_DTLS_MAX_PEERS", "2", 1) == 0, "setenv");
    struct server sv;
    server_start(&sv, SV_ECHO);
    int a = client_connect(sv.port);
    echo_dgram(a, 100, 1);
    usleep(20000); /* a is now the one silent longest */
    int b = client_connect(sv.port);
    echo_dgram(b, 100, 2);
    int c = client_connect(sv.port); /* the table is full: a goes */
    echo_dgram(c, 100, 3);
    echo_dgram(b, 100, 4);
    send_padded(a, "evicted");
    expect_nothing(a, 700, "a client whose session was evicted");
    echo_dgram(c, 100, 5); /* the server has read past a's datagram */
    CHECK(server_count(&sv, "evicted") == 0, "nothing of a's reaches the application");
    zsock_close(a);
    zsock_close(b);
    zsock_close(c);
    server_stop(&sv);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s CASE dtls1.2|dtls1.3 CERTDIR\n", argv[0]);
        return 2;
    }
    is13 = strcmp(argv[2], "dtls1.3") == 0;
    CHECK(is13 || strcmp(argv[2], "dtls1.2") == 0, "protocol %s", argv[2]);
    proto = is13 ? IPPROTO_DTLS_1_3 : IPPROTO_DTLS_1_2;
    certdir = argv[3];
    credentials();
    static const struct {
        const char *name;
        void (*fn)(void);
    } cases[] = {
        {"echo", case_echo},
        {"sendmsg", case_sendmsg},
        {"sockopt", case_sockopt},
        {"msg-trunc", case_msg_trunc},
        {"rcvtimeo", case_rcvtimeo},
        {"close-wakes-recv", case_close_wakes_recv},
        {"peer-close", case_peer_close},
        {"nonblock", case_nonblock},
        {"no-handshake-on-connect", case_no_handshake_on_connect},
        {"multi-client", case_multi_client},
        {"verify", case_verify},
        {"alert", case_alert},
        {"retransmit", case_retransmit},
        {"handshake-timeout", case_handshake_timeout},
        {"psk", case_psk},
        {"cookie", case_cookie},
        {"forged-cookie", case_forged_cookie},
        {"cookie-expiry", case_cookie_expiry},
        {"cid", case_cid},
        {"cid-oneway", case_cid_oneway},
        {"hostile", case_hostile},
        {"replay", case_replay},
        {"closed-port", case_closed_port},
        {"session-cache", case_session_cache},
        {"evict", case_evict},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        if (strcmp(argv[1], cases[i].name) == 0) {
            if (!is13 && strncmp(argv[1], "cid", 3) == 0) {
                fprintf(stderr, "%s: DTLS 1.3 only in this build\n", argv[1]);
                return 2;
            }
            cases[i].fn();
            printf("ok %s %s\n", argv[1], argv[2]);
            return 0;
        }
    fprintf(stderr, "unknown case %s\n", argv[1]);
    return 2;
}
