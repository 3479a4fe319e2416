/*
 * One zrec-gw worker: one thread, one io_uring, one registered slot pool,
 * its own SO_REUSEPORT listening socket (the kernel shards connections).
 *
 * A connection has two directions:
 *   up:   client --records--> RECORDS slots -> open burst -> plaintext left in
 *         the slots -> sent to the backend from there;
 *   down: backend --bytes--> PAYLOAD slots (payload area) -> seal burst,
 *         header and tag written around them in the same slot -> sent to
 *         the client with the fixed-buffer write.
 * Every completion batch is drained first; then all records it made ready go
 * through one open burst and one seal burst (across connections), then the
 * sends are queued.  Handshakes run in wolfSSL over memory callbacks fed from
 * the same slots; wolfSSL never blocks the ring.
 *
 * Teardown: shutdown() both sockets and cancel their operations; the
 * connection is freed when its last operation has completed, so that no
 * slot the kernel may still read or write is ever reused early.
 */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <zrec/uring.h>
#include <zrec/wolfssl.h>

#include "gw.h"

/* user_data: a connection or worker pointer (16-byte aligned) | kind. */
enum kind {
    K_IGNORE = 0, /* cancels */
    K_CRECV,
    K_BRECV,
    K_CSEND,
    K_BSEND,
    K_CONNECT,
    K_ACCEPT,
    K_TICK,
    K_WAKE,
    K_CRESV, /* a receive into a reserve slot (zrec_uring_reserve_get()) */
};
#define KIND_MASK 15u
#define UD(p, k) ((uint64_t)(uintptr_t)(p) | (uint64_t)(k))

/* Flow control, in slots a direction holds: a receive is paused (its
 * multishot cancelled) above HIGH and resumed below LOW. */
#define FLOW_HIGH 24u
#define FLOW_LOW 8u
#define TICK_MS 100

enum state { ST_HANDSHAKE, ST_UP };

struct conn {
    struct gw_worker *w;
    struct conn *prev, *next; /* all connections of the worker */
    struct conn *touch_next;  /* this batch's touched list */
    int cfd, bfd;
    enum state state;
    bool touched, starved;
    bool dead;              /* torn down: waiting for its operations */
    bool crecv_armed, brecv_armed, crecv_cancel, brecv_cancel;
    bool cresv_armed;       /* a receive into a reserve slot is in flight */
    uint16_t cresv_slot;
    uint8_t *cresv_at;
    bool b_connecting, b_connected;
    bool c_fin;             /* the client's TCP stream ended */
    bool c_notify;          /* the client sent close_notify: read no more */
    bool b_eof;             /* backend sent FIN, or failed (b_abort) */
    bool b_abort;           /* the backend failed: end with a fatal alert, not close_notify */
    bool b_wr_shut, c_closing;
    bool resumed;
    unsigned inflight;      /* operations that will still complete */
    WOLFSSL *ssl;
    struct zrec_wolfssl_capture *cap;
    struct gw_tls *tls;
    struct zrec_session *sess;
    struct zrec_uring_rx crx;
    struct zrec_uring_tx ctx, btx;
    int64_t t_start, t_last;
    unsigned long up, down, rec_in, rec_out;
    struct sockaddr_storage peer, local;
    char reason[96]; /* why it closed (the first cause wins) */
    char sni[256];
    char alpn[64];
    const char *version, *suite;
};

struct gw_worker {
    const struct gw_opts *o;
    int index;
    struct gw_counters *cnt;
    struct io_uring ring;
    struct zrec_uring_pool *pool;
    int lfd, efd;
    bool accept_armed, stopping, listen_closed;
    int64_t stop_deadline;
    uint64_t efd_val;
    struct __kernel_timespec tick;
    struct conn *conns; /* list head */
    unsigned nconns, nstarved;
    int64_t now; /* ms, monotonic: read once per completion batch */
    struct conn *touched;
    struct zrec_uring_burst obst, sbst;
    struct zrec_uring_stats last_stats;
} __attribute__((aligned(16)));

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

#define CNT_ADD(w, f, v) atomic_fetch_add_explicit(&(w)->cnt->f, (v), memory_order_relaxed)

static struct io_uring_sqe *sqe_get(struct gw_worker *w)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);
    if (sqe == NULL) {
        io_uring_submit(&w->ring);
        sqe = io_uring_get_sqe(&w->ring);
    }
    return sqe; /* the ring has room for a whole batch: NULL only if broken */
}

static void set_reason(struct conn *c, const char *why)
{
    if (!c->reason[0] && why)
        snprintf(c->reason, sizeof c->reason, "%s", why);
}

static void touch(struct conn *c)
{
    if (!c->touched) {
        c->touched = true;
        c->touch_next = c->w->touched;
        c->w->touched = c;
    }
}

/* ---------------------------------------------------------------------------
 * Teardown
 * ------------------------------------------------------------------------- */

static void cancel_fd(struct gw_worker *w, int fd)
{
    struct io_uring_sqe *sqe = sqe_get(w);
    if (sqe) {
        io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
        io_uring_sqe_set_data64(sqe, UD(NULL, K_IGNORE));
    }
}

/* Stop both directions now; the connection is freed once its operations
 * have completed (reap()). */
static void teardown(struct conn *c, const char *reason)
{
    if (c->dead)
        return;
    set_reason(c, reason);
    c->dead = true;
    shutdown(c->cfd, SHUT_RDWR);
    cancel_fd(c->w, c->cfd);
    if (c->bfd >= 0) {
        shutdown(c->bfd, SHUT_RDWR);
        cancel_fd(c->w, c->bfd);
    }
    touch(c);
}

/* Queue a control record for the client: an alert (RFC 8446 §6;
 * close_notify is the only warning-level one), or with alert < 0 a
 * KeyUpdate answering or pre-empting the key-usage limit (§4.6.3). */
static void send_control(struct conn *c, int alert)
{
    uint8_t *rec = malloc(64);
    if (rec == NULL)
        return;
    int len = alert >= 0 ? zrec_seal_alert(c->sess,
                                           alert == ZREC_ALERT_CLOSE_NOTIFY ? ZREC_ALERT_WARNING
                                                                            : ZREC_ALERT_FATAL,
                                           (uint8_t)alert, rec, 64)
                         : zrec_seal_key_update(c->sess, false, rec, 64);
    if (len <= 0) {
        free(rec);
        return;
    }
    (void)zrec_uring_tx_push_owned(&c->ctx, rec, (uint32_t)len);
    touch(c);
}

/* A fatal error: tell the client (when a session exists and `alert` >= 0),
 * let that alert out, then tear down. */
static void fail(struct conn *c, const char *reason, int alert)
{
    if (c->dead || c->c_closing)
        return;
    set_reason(c, reason);
    if (c->sess && alert >= 0)
        send_control(c, alert);
    /* Nothing more from either side; what is queued for the client (the
     * alert) still goes out, then finish() tears down. */
    c->c_closing = true;
    shutdown(c->cfd, SHUT_RD);
    if (c->bfd >= 0) {
        shutdown(c->bfd, SHUT_RDWR);
        cancel_fd(c->w, c->bfd);
    }
    touch(c);
}

static void log_conn(struct conn *c)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (c->peer.ss_family == AF_INET) {
        struct sockaddr_in *a = (void *)&c->peer;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        port = ntohs(a->sin_port);
    } else if (c->peer.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (void *)&c->peer;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        port = ntohs(a->sin6_port);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    char line[1024];
    int n = snprintf(line, sizeof line,
                     "%s.%03ldZ client=%s%s%s:%d sni=%s alpn=%s version=%s suite=%s resumed=%d "
                     "up=%lu down=%lu records_in=%lu records_out=%lu duration_ms=%lld "
                     "close=\"%s\"\n",
                     when, ts.tv_nsec / 1000000, c->peer.ss_family == AF_INET6 ? "[" : "", host,
                     c->peer.ss_family == AF_INET6 ? "]" : "", port, c->sni[0] ? c->sni : "-",
                     c->alpn[0] ? c->alpn : "-", c->version ? c->version : "-",
                     c->suite ? c->suite : "-", c->resumed, c->up, c->down, c->rec_in, c->rec_out,
                     (long long)(now_ms() - c->t_start), c->reason[0] ? c->reason : "closed");
    if (n > 0)
        gw_access_log(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static void conn_free(struct conn *c)
{
    struct gw_worker *w = c->w;
    log_conn(c);
    if (c->ssl)
        wolfSSL_free(c->ssl);
    if (c->cap)
        zrec_wolfssl_capture_free(c->cap);
    gw_tls_unref(c->tls);
    zrec_session_free(c->sess);
    zrec_uring_rx_clear(&c->crx);
    zrec_uring_tx_clear(&c->ctx);
    zrec_uring_tx_clear(&c->btx);
    close(c->cfd);
    if (c->bfd >= 0)
        close(c->bfd);
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->nconns--;
    CNT_ADD(w, conns_active, -1UL);
    gw_release();
    free(c);
}

/* ---------------------------------------------------------------------------
 * Receives
 * ------------------------------------------------------------------------- */

static void arm_recv(struct conn *c, bool client)
{
    bool *armed = client ? &c->crecv_armed : &c->brecv_armed;
    if (*armed || c->dead)
        return;
    struct io_uring_sqe *sqe = sqe_get(c->w);
    if (sqe == NULL)
        return;
    /* Client bytes are records (or, with --plain, bytes forwarded as they
     * are); backend bytes land in the payload area, to be sealed in place. */
    zrec_uring_prep_recv(c->w->pool, sqe, client ? c->cfd : c->bfd,
                         client ? ZREC_URING_RECORDS : ZREC_URING_PAYLOAD);
    io_uring_sqe_set_data64(sqe, UD(c, client ? K_CRECV : K_BRECV));
    *armed = true;
    c->inflight++;
}

/* The first record's header as far as it has arrived (zrec_record_peek():
 * its length, 0 while incomplete, < 0 if it cannot start a TLS record). */
static long first_record(struct conn *c, struct zrec_record_info *info)
{
    uint8_t hdr[5];
    size_t have = zrec_uring_rx_peek(&c->crx, hdr, sizeof hdr);
    return zrec_record_peek(hdr, have, 0, 0, info);
}

/* Bytes the client still owes to complete the record it has begun (the
 * first ClientHello record before wolfSSL runs, then records for the
 * engine): while it waits for them it holds slots. */
static long client_need(struct conn *c)
{
    if (c->sess)
        return zrec_uring_rx_need(&c->crx, c->sess);
    if (c->ssl || zrec_uring_rx_bytes(&c->crx) == 0)
        return 0; /* wolfSSL reads every byte as it comes */
    struct zrec_record_info info;
    long len = first_record(c, &info);
    if (len < 0)
        return 0;
    if (len == 0)
        return 1; /* the header itself is not complete: a byte at a time */
    size_t have = zrec_uring_rx_bytes(&c->crx);
    return (size_t)len > have ? (long)((size_t)len - have) : 0;
}

/* The record ring is empty and this connection holds slots with a record
 * begun: if every connection did so, none could ever finish (each needs
 * another slot).  Receive exactly the missing bytes into a reserve slot. */
static bool recv_reserve(struct conn *c)
{
    struct gw_worker *w = c->w;
    long need = client_need(c);
    if (need <= 0 || c->cresv_armed)
        return c->cresv_armed;
    uint16_t slot;
    uint8_t *at;
    uint32_t len;
    if (zrec_uring_rx_reserve(&c->crx, (uint32_t)need, &slot, &at, &len) < 0)
        return false;
    struct io_uring_sqe *sqe = sqe_get(w);
    io_uring_prep_recv(sqe, c->cfd, at, len, 0);
    io_uring_sqe_set_data64(sqe, UD(c, K_CRESV));
    c->cresv_armed = true;
    c->cresv_slot = slot;
    c->cresv_at = at;
    c->inflight++;
    CNT_ADD(w, reserve_recvs, 1);
    return true;
}

static void on_reserve_data(struct conn *c, int res)
{
    struct gw_worker *w = c->w;
    c->cresv_armed = false;
    c->inflight--;
    uint16_t slot = c->cresv_slot;
    if (res <= 0 || c->dead || c->c_notify || c->c_closing) {
        zrec_uring_slot_unref(w->pool, slot);
        if (res == 0 && !c->dead)
            c->c_fin = true;
        else if (res < 0 && res != -ECANCELED && !c->dead)
            teardown(c, res == -ECONNRESET ? "client reset" : "client receive error");
        return;
    }
    c->t_last = c->w->now;
    if (zrec_uring_rx_push(&c->crx, slot, c->cresv_at, (uint32_t)res) < 0)
        fail(c, "out of memory", ZREC_ALERT_INTERNAL_ERROR);
}

/* A direction should be receiving: arm it if its ring has a slot, else
 * (client side, a record begun) receive into a reserve slot, else wait
 * among the starved (wake_starved()) for slots to come back. */
static void want_recv(struct conn *c, bool client)
{
    struct gw_worker *w = c->w;
    if (client ? c->crecv_armed : c->brecv_armed)
        return;
    if (zrec_uring_pool_ready(w->pool, client ? ZREC_URING_RECORDS : ZREC_URING_PAYLOAD)) {
        arm_recv(c, client);
        return;
    }
    if (client && recv_reserve(c))
        return;
    if (!c->starved) {
        c->starved = true;
        w->nstarved++;
    }
}

static void pause_recv(struct conn *c, bool client)
{
    bool *armed = client ? &c->crecv_armed : &c->brecv_armed;
    bool *cancel = client ? &c->crecv_cancel : &c->brecv_cancel;
    if (!*armed || *cancel)
        return;
    struct io_uring_sqe *sqe = sqe_get(c->w);
    if (sqe == NULL)
        return;
    io_uring_prep_cancel64(sqe, UD(c, client ? K_CRECV : K_BRECV), 0);
    io_uring_sqe_set_data64(sqe, UD(NULL, K_IGNORE));
    *cancel = true;
}

/* ---------------------------------------------------------------------------
 * Handshake (wolfSSL over the receive stream)
 * ------------------------------------------------------------------------- */

static int io_recv(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
    (void)ssl;
    struct conn *c = arg;
    size_t n = zrec_uring_rx_read(&c->crx, (uint8_t *)buf, (size_t)sz);
    if (n)
        return (int)n;
    return c->c_fin ? WOLFSSL_CBIO_ERR_CONN_CLOSE : WOLFSSL_CBIO_ERR_WANT_READ;
}

static int io_send(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
    (void)ssl;
    struct conn *c = arg;
    uint8_t *copy = malloc((size_t)sz);
    if (copy == NULL)
        return WOLFSSL_CBIO_ERR_GENERAL;
    memcpy(copy, buf, (size_t)sz);
    if (zrec_uring_tx_push_owned(&c->ctx, copy, (uint32_t)sz) < 0)
        return WOLFSSL_CBIO_ERR_GENERAL;
    touch(c);
    return sz;
}

static void start_backend(struct conn *c);
static void run_seal(struct gw_worker *w);

static void handoff(struct conn *c)
{
    struct gw_worker *w = c->w;
    int err = 0;
    c->resumed = wolfSSL_session_reused(c->ssl) == 1;
    c->version = wolfSSL_get_version(c->ssl);
    c->suite = wolfSSL_get_cipher_name(c->ssl);
    char *proto = NULL;
    unsigned short plen = 0;
    if (wolfSSL_ALPN_GetProtocol(c->ssl, &proto, &plen) == WOLFSSL_SUCCESS && proto &&
        plen < sizeof c->alpn) {
        memcpy(c->alpn, proto, plen);
        c->alpn[plen] = 0;
    }
    c->sess = zrec_wolfssl_import(c->ssl, c->cap, w->o->provider, &err);
    c->cap = NULL;
    wolfSSL_free(c->ssl);
    c->ssl = NULL;
    gw_tls_unref(c->tls);
    c->tls = NULL;
    if (c->sess == NULL) {
        CNT_ADD(w, hs_failed, 1);
        fail(c, "handoff failed", -1);
        return;
    }
    CNT_ADD(w, hs_full, c->resumed ? 0 : 1);
    CNT_ADD(w, hs_resumed, c->resumed ? 1 : 0);
    c->state = ST_UP;
    start_backend(c);
}

static void handshake(struct conn *c)
{
    struct gw_worker *w = c->w;
    if (c->ssl == NULL) {
        /* Wait for the whole first record: the ClientHello's SNI picks the
         * certificate before wolfSSL sees a byte. */
        struct zrec_record_info info;
        long rl = first_record(c, &info);
        if (rl < 0 || (zrec_uring_rx_bytes(&c->crx) && info.content_type != ZREC_CT_HANDSHAKE)) {
            CNT_ADD(w, hs_failed, 1);
            fail(c, "not a TLS handshake", -1);
            return;
        }
        if (rl == 0) {
            if (c->c_fin)
                fail(c, "client closed during handshake", -1);
            return;
        }
        size_t len = (size_t)rl;
        /* RFC 8446 §5.1: a plaintext record carries at most 2^14 bytes. */
        if (len > 5 + ZREC_MAX_PLAINTEXT) {
            CNT_ADD(w, hs_failed, 1);
            fail(c, "ClientHello record too long", -1);
            return;
        }
        if (zrec_uring_rx_bytes(&c->crx) < len) {
            if (c->c_fin)
                fail(c, "client closed during handshake", -1);
            return;
        }
        uint8_t *first = malloc(len);
        if (first == NULL) {
            fail(c, "out of memory", -1);
            return;
        }
        zrec_uring_rx_peek(&c->crx, first, len);
        gw_tls_sni_of(first, len, c->sni, sizeof c->sni);
        free(first);
        c->tls = gw_tls_current();
        c->ssl = gw_tls_new_ssl(c->tls, c->sni);
        if (c->ssl == NULL) {
            fail(c, "wolfSSL_new failed", -1);
            return;
        }
        wolfSSL_SSLSetIORecv(c->ssl, io_recv);
        wolfSSL_SSLSetIOSend(c->ssl, io_send);
        wolfSSL_SetIOReadCtx(c->ssl, c);
        wolfSSL_SetIOWriteCtx(c->ssl, c);
        c->cap = zrec_wolfssl_prepare(c->ssl);
        if (c->cap == NULL) {
            fail(c, "handoff hook failed", -1);
            return;
        }
    }
    int rc = wolfSSL_accept(c->ssl);
    if (rc == WOLFSSL_SUCCESS) {
        handoff(c);
        return;
    }
    int e = wolfSSL_get_error(c->ssl, rc);
    if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE) {
        if (c->c_fin)
            fail(c, "client closed during handshake", -1);
        return;
    }
    CNT_ADD(w, hs_failed, 1);
    char es[80], why[96];
    wolfSSL_ERR_error_string_n((unsigned long)e, es, sizeof es);
    snprintf(why, sizeof why, "handshake failed: %.70s", es);
    /* wolfSSL queued its own alert through io_send; let it out. */
    fail(c, why, -1);
}

/* ---------------------------------------------------------------------------
 * Backend
 * ------------------------------------------------------------------------- */

static void start_backend(struct conn *c)
{
    struct gw_worker *w = c->w;
    const struct gw_opts *o = w->o;
    if (o->proxy_protocol) {
        uint8_t *hdr = malloc(536);
        size_t n = hdr ? gw_proxy_v2(hdr, 536, (struct sockaddr *)&c->peer,
                                     (struct sockaddr *)&c->local, c->alpn, c->sni)
                       : 0;
        if (n == 0 || zrec_uring_tx_push_owned(&c->btx, hdr, (uint32_t)n) < 0) {
            if (n == 0)
                free(hdr);
            fail(c, "PROXY header", ZREC_ALERT_INTERNAL_ERROR);
            return;
        }
    }
    c->bfd = socket(o->backend.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->bfd < 0) {
        CNT_ADD(w, err_backend_connect, 1);
        fail(c, "backend socket failed", ZREC_ALERT_INTERNAL_ERROR);
        return;
    }
    int one = 1;
    setsockopt(c->bfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct io_uring_sqe *sqe = sqe_get(w);
    io_uring_prep_connect(sqe, c->bfd, (struct sockaddr *)&o->backend, o->backend_len);
    io_uring_sqe_set_data64(sqe, UD(c, K_CONNECT));
    c->inflight++;
    c->b_connecting = true;
}

static void on_connect(struct conn *c, int res)
{
    c->b_connecting = false;
    if (c->dead)
        return;
    if (res < 0) {
        CNT_ADD(c->w, err_backend_connect, 1);
        char why[64];
        snprintf(why, sizeof why, "backend connect: %s", strerror(-res));
        /* The client learns the session ends: close_notify after nothing. */
        /* The client must not take this for a clean, empty response. */
        fail(c, why, ZREC_ALERT_INTERNAL_ERROR);
        return;
    }
    c->b_connected = true;
    arm_recv(c, false);
    touch(c);
}

/* ---------------------------------------------------------------------------
 * Completions
 * ------------------------------------------------------------------------- */

static void on_client_data(struct conn *c, const struct io_uring_cqe *cqe)
{
    struct gw_worker *w = c->w;
    uint16_t slot;
    uint8_t *data;
    int n = zrec_uring_recv_slot(w->pool, cqe, &slot, &data);
    if (!(cqe->flags & IORING_CQE_F_MORE)) {
        c->crecv_armed = false;
        c->crecv_cancel = false;
        c->inflight--;
    }
    if (c->dead)
        goto drop;
    if (n > 0) {
        c->t_last = c->w->now;
        if (c->c_notify || c->c_closing) {
            /* After close_notify nothing more is read (RFC 8446 §6.1). */
            zrec_uring_slot_unref(w->pool, slot);
            return;
        }
        if (zrec_uring_rx_push(&c->crx, slot, data, (uint32_t)n) < 0) {
            fail(c, "out of memory", ZREC_ALERT_INTERNAL_ERROR);
            return;
        }
        touch(c);
        return;
    }
    if (n == -ENOBUFS)
        return; /* the ring ran empty: finish() re-arms when slots are back */
    if (n == -ECANCELED)
        return; /* paused for flow control */
    if (n == 0) {
        c->c_fin = true; /* records before it are still processed */
    } else {
        CNT_ADD(w, err_client_reset, 1);
        teardown(c, n == -ECONNRESET ? "client reset" : "client receive error");
        return;
    }
    touch(c);
    return;
drop:
    if (n > 0)
        zrec_uring_slot_unref(w->pool, slot);
}

static void on_backend_data(struct conn *c, const struct io_uring_cqe *cqe)
{
    struct gw_worker *w = c->w;
    uint16_t slot;
    uint8_t *data;
    int n = zrec_uring_recv_slot(w->pool, cqe, &slot, &data);
    if (!(cqe->flags & IORING_CQE_F_MORE)) {
        c->brecv_armed = false;
        c->brecv_cancel = false;
        c->inflight--;
    }
    if (c->dead || c->c_closing) {
        if (n > 0)
            zrec_uring_slot_unref(w->pool, slot);
        return;
    }
    if (n > 0) {
        c->t_last = c->w->now;
        c->down += (unsigned long)n;
        CNT_ADD(w, bytes_down, (unsigned long)n);
        if (w->o->plain) {
            (void)zrec_uring_tx_push(&c->ctx, data, (uint32_t)n, slot);
            zrec_uring_slot_unref(w->pool, slot);
        } else {
            if (w->sbst.n == ZREC_URING_BURST) {
                /* Full: run it now, so order per session is kept. */
                run_seal(w);
            }
            zrec_uring_burst_add_seal(&w->sbst, w->pool, c->sess, data, (uint32_t)n,
                                      ZREC_CT_APPLICATION_DATA, c);
        }
        touch(c);
        return;
    }
    if (n == -ENOBUFS)
        return; /* the ring ran empty: finish() re-arms when slots are back */
    if (n == -ECANCELED)
        return;
    /* End of the backend's stream.  What it sent before is still sealed
     * and delivered (finish()); a reset must not look like a clean end to
     * the client, so it ends with a fatal alert instead of close_notify. */
    c->b_eof = true;
    if (n == 0) {
        set_reason(c, "backend closed");
    } else {
        CNT_ADD(w, err_backend_reset, 1);
        c->b_abort = true;
        set_reason(c, n == -ECONNRESET ? "backend reset" : "backend receive error");
    }
    touch(c);
}

static void on_send(struct conn *c, bool client, int res)
{
    c->inflight--;
    int rc = zrec_uring_tx_complete(client ? &c->ctx : &c->btx, res);
    if (c->dead)
        return;
    if (rc < 0) {
        if (client) {
            CNT_ADD(c->w, err_client_reset, 1);
            teardown(c, "client gone (send failed)");
        } else {
            CNT_ADD(c->w, err_backend_reset, 1);
            /* Nothing more can reach the backend; what it already sent
             * still goes to the client, then a fatal alert. */
            set_reason(c, "backend gone (send failed)");
            c->b_eof = c->b_abort = true;
            shutdown(c->bfd, SHUT_RDWR);
        }
        return;
    }
    touch(c);
}

/* ---------------------------------------------------------------------------
 * Bursts
 * ------------------------------------------------------------------------- */

static void run_seal(struct gw_worker *w)
{
    struct zrec_uring_burst *b = &w->sbst;
    if (b->n == 0)
        return;
    zrec_uring_burst_seal(b);
    for (unsigned i = 0; i < b->n; i++) {
        struct zrec_op *op = &b->op[i];
        struct conn *c = b->owner[i];
        uint16_t slot = zrec_uring_slot_of(w->pool, op->data);
        if (op->status == 0 && !c->dead && !c->c_closing) {
            (void)zrec_uring_tx_push(&c->ctx, op->rec, op->rec_len, slot);
            c->rec_out++;
            if (zrec_session_events(c->sess) & ZREC_EV_REKEY_DUE &&
                zrec_session_proto(c->sess) == ZREC_TLS13)
                send_control(c, -1);
        } else if (op->status != 0 && !c->dead) {
            fail(c, "seal failed", ZREC_ALERT_INTERNAL_ERROR);
        }
        zrec_uring_slot_unref(w->pool, slot);
    }
    CNT_ADD(w, records_out, b->n);
    zrec_uring_burst_reset(b);
}

static void dispatch_opened(struct gw_worker *w)
{
    struct zrec_uring_burst *b = &w->obst;
    for (unsigned i = 0; i < b->n; i++) {
        struct zrec_op *op = &b->op[i];
        struct conn *c = b->owner[i];
        if (c->dead || c->c_closing)
            continue;
        if (op->status != 0) {
            switch (op->status) {
            case -EBADMSG:
                CNT_ADD(w, err_bad_record, 1);
                fail(c, "bad_record_mac", ZREC_ALERT_BAD_RECORD_MAC);
                break;
            case -EMSGSIZE:
                CNT_ADD(w, err_protocol, 1);
                fail(c, "record_overflow", ZREC_ALERT_RECORD_OVERFLOW);
                break;
            default:
                CNT_ADD(w, err_protocol, 1);
                fail(c, "bad record", ZREC_ALERT_DECODE_ERROR);
                break;
            }
            continue;
        }
        uint32_t reclen = zrec_uring_op_record_len(op);
        unsigned ev = zrec_session_events(c->sess);
        if (c->c_notify) {
            /* Records after close_notify are ignored (RFC 8446 §6.1). */
        } else if (op->content_type == ZREC_CT_APPLICATION_DATA) {
            struct iovec iov[64];
            unsigned k = zrec_uring_op_plain_iov(op, iov, 64);
            for (unsigned j = 0; j < k; j++)
                (void)zrec_uring_tx_push_pool(&c->btx, iov[j].iov_base, (uint32_t)iov[j].iov_len);
            c->up += op->rec_len;
            c->rec_in++;
            CNT_ADD(w, bytes_up, op->rec_len);
        } else if (op->content_type == ZREC_CT_ALERT) {
            if (ev & ZREC_EV_PEER_CLOSED) {
                c->c_notify = true;
                set_reason(c, "client close_notify");
                pause_recv(c, true);
            } else if (ev & ZREC_EV_PEER_ALERT) {
                CNT_ADD(w, err_alert_received, 1);
                char why[48];
                snprintf(why, sizeof why, "client alert %d", zrec_session_peer_alert(c->sess));
                fail(c, why, -1);
                continue;
            }
        }
        if (ev & ZREC_EV_KEY_UPDATE_OWED)
            send_control(c, -1);
        zrec_uring_rx_consume(&c->crx, reclen);
        touch(c);
    }
    CNT_ADD(w, records_in, b->n);
    zrec_uring_burst_reset(b);
}

/* Frame every touched connection's complete records into open bursts. */
static void run_open(struct gw_worker *w)
{
    for (struct conn *c = w->touched; c; c = c->touch_next) {
        if (c->dead || c->c_closing || c->state != ST_UP || w->o->plain)
            continue;
        for (;;) {
            int rc = zrec_uring_burst_frame(&w->obst, &c->crx, c->sess, c);
            if (rc < 0) {
                CNT_ADD(w, err_protocol, 1);
                fail(c, rc == -EMSGSIZE ? "record_overflow" : "not a TLS record",
                     rc == -EMSGSIZE ? ZREC_ALERT_RECORD_OVERFLOW : ZREC_ALERT_DECODE_ERROR);
                break;
            }
            if (w->obst.n < ZREC_URING_BURST)
                break;
            zrec_uring_burst_open(&w->obst);
            dispatch_opened(w);
        }
    }
    if (w->obst.n) {
        zrec_uring_burst_open(&w->obst);
        dispatch_opened(w);
    }
}

/* ---------------------------------------------------------------------------
 * After a batch: sends, flow control, half-closes, reaping
 * ------------------------------------------------------------------------- */

/* Returns true when the connection is torn down and nothing of it is in
 * flight any more: the caller frees it. */
static bool finish(struct conn *c)
{
    struct gw_worker *w = c->w;
    if (!c->dead && w->o->plain && c->state == ST_UP && !c->c_closing) {
        c->up += zrec_uring_rx_bytes(&c->crx);
        CNT_ADD(w, bytes_up, zrec_uring_rx_bytes(&c->crx));
        (void)zrec_uring_rx_move(&c->crx, &c->btx);
    }
    if (c->dead)
        return c->inflight == 0;
    if (zrec_uring_tx_prep(&c->ctx, &w->ring, c->cfd, UD(c, K_CSEND)))
        c->inflight++;
    if (c->b_connected && !c->c_closing &&
        zrec_uring_tx_prep(&c->btx, &w->ring, c->bfd, UD(c, K_BSEND)))
        c->inflight++;
    bool ctx_idle = !zrec_uring_tx_busy(&c->ctx) && zrec_uring_tx_bytes(&c->ctx) == 0;

    if (c->c_closing) {
        /* Closing: once what is queued for the client (an alert, a
         * close_notify) is out, tear down. */
        if (ctx_idle)
            teardown(c, NULL);
        return c->dead && c->inflight == 0;
    }
    if (c->state == ST_HANDSHAKE) {
        if (c->c_fin)
            teardown(c, "client closed during handshake");
        else
            want_recv(c, true);
        return c->dead && c->inflight == 0;
    }
    /* The client finished sending: pass its FIN on once its data is out. */
    bool c_done = c->c_fin || c->c_notify;
    if (c->c_fin && !c->c_notify && !w->o->plain)
        set_reason(c, "client closed without close_notify");
    else if (c->c_fin)
        set_reason(c, "client closed");
    if (c_done && c->b_connected && !c->b_wr_shut && zrec_uring_tx_bytes(&c->btx) == 0) {
        shutdown(c->bfd, SHUT_WR);
        c->b_wr_shut = true;
    }
    /* The backend finished: once everything it sent is out, close_notify
     * (or, when it failed, a fatal alert). */
    if (c->b_eof && ctx_idle && c->b_abort) {
        fail(c, c->reason, ZREC_ALERT_INTERNAL_ERROR);
        return false;
    }
    if (c->b_eof && ctx_idle) {
        if (c->sess) {
            c->c_closing = true;
            send_control(c, ZREC_ALERT_CLOSE_NOTIFY);
            if (zrec_uring_tx_prep(&c->ctx, &w->ring, c->cfd, UD(c, K_CSEND)))
                c->inflight++;
            shutdown(c->cfd, SHUT_RD);
            return false;
        }
        teardown(c, NULL);
        return c->inflight == 0;
    }
    /* Flow control: a direction whose far side does not drain stops
     * receiving (its multishot is cancelled) and resumes below the low
     * mark; a receive ended by an empty ring resumes when slots are back. */
    unsigned up_slots = zrec_uring_rx_slots(&c->crx) + zrec_uring_tx_slots(&c->btx);
    unsigned down_slots = zrec_uring_tx_slots(&c->ctx);
    if (!c_done) {
        if (up_slots > FLOW_HIGH)
            pause_recv(c, true);
        else if (up_slots < FLOW_LOW)
            want_recv(c, true);
    }
    if (c->b_connected && !c->b_eof) {
        if (down_slots > FLOW_HIGH)
            pause_recv(c, false);
        else if (down_slots < FLOW_LOW)
            want_recv(c, false);
    }
    return false;
}

/* Connections whose receive ended on an empty ring: look again when slots
 * are back. */
static void wake_starved(struct gw_worker *w)
{
    if (w->nstarved == 0 || (!zrec_uring_pool_ready(w->pool, ZREC_URING_RECORDS) &&
                             !zrec_uring_pool_ready(w->pool, ZREC_URING_PAYLOAD) &&
                             !zrec_uring_reserve_free(w->pool)))
        return;
    w->nstarved = 0;
    for (struct conn *c = w->conns; c; c = c->next) {
        if (c->starved) {
            c->starved = false;
            touch(c);
        }
    }
}

/* ---------------------------------------------------------------------------
 * Accept, ticks, the loop
 * ------------------------------------------------------------------------- */

static void arm_accept(struct gw_worker *w)
{
    if (w->accept_armed || w->listen_closed)
        return;
    struct io_uring_sqe *sqe = sqe_get(w);
    io_uring_prep_multishot_accept(sqe, w->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, UD(w, K_ACCEPT));
    w->accept_armed = true;
}

static void on_accept(struct gw_worker *w, const struct io_uring_cqe *cqe)
{
    if (!(cqe->flags & IORING_CQE_F_MORE))
        w->accept_armed = false;
    int fd = cqe->res;
    if (fd < 0)
        return;
    if (w->stopping || !gw_admit()) {
        CNT_ADD(w, err_limit, w->stopping ? 0 : 1);
        close(fd);
        return;
    }
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        gw_release();
        close(fd);
        return;
    }
    c->w = w;
    c->cfd = fd;
    c->bfd = -1;
    c->t_start = c->t_last = w->now;
    socklen_t l = sizeof c->peer;
    getpeername(fd, (struct sockaddr *)&c->peer, &l);
    l = sizeof c->local;
    getsockname(fd, (struct sockaddr *)&c->local, &l);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    zrec_uring_rx_init(&c->crx, w->pool);
    zrec_uring_tx_init(&c->ctx, w->pool);
    zrec_uring_tx_init(&c->btx, w->pool);
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    CNT_ADD(w, conns_total, 1);
    CNT_ADD(w, conns_active, 1);
    if (w->o->plain) {
        c->state = ST_UP;
        start_backend(c);
    } else {
        c->state = ST_HANDSHAKE;
    }
    arm_recv(c, true);
}

static void arm_tick(struct gw_worker *w)
{
    struct io_uring_sqe *sqe = sqe_get(w);
    w->tick = (struct __kernel_timespec){.tv_sec = 0, .tv_nsec = TICK_MS * 1000000L};
    io_uring_prep_timeout(sqe, &w->tick, 0, 0);
    io_uring_sqe_set_data64(sqe, UD(w, K_TICK));
}

static void arm_wake(struct gw_worker *w)
{
    struct io_uring_sqe *sqe = sqe_get(w);
    io_uring_prep_read(sqe, w->efd, &w->efd_val, sizeof w->efd_val, 0);
    io_uring_sqe_set_data64(sqe, UD(w, K_WAKE));
}

static void publish_stats(struct gw_worker *w)
{
    struct zrec_uring_stats s;
    zrec_uring_pool_stats(w->pool, &s);
    CNT_ADD(w, copies_runt, s.runt_copies - w->last_stats.runt_copies);
    CNT_ADD(w, records_scattered, s.records_scattered - w->last_stats.records_scattered);
    CNT_ADD(w, records_contiguous, s.records_contiguous - w->last_stats.records_contiguous);
    CNT_ADD(w, enobufs, s.enobufs - w->last_stats.enobufs);
    w->last_stats = s;
}

static void on_tick(struct gw_worker *w)
{
    int64_t now = w->now;
    const struct gw_opts *o = w->o;
    for (struct conn *c = w->conns; c; c = c->next) {
        if (c->dead)
            continue;
        if (c->state == ST_HANDSHAKE && o->handshake_timeout_ms > 0 &&
            now - c->t_start >= o->handshake_timeout_ms) {
            CNT_ADD(w, hs_timeout, 1);
            teardown(c, "handshake timeout");
        } else if (c->state == ST_UP && o->idle_timeout_ms > 0 &&
                   now - c->t_last >= o->idle_timeout_ms) {
            CNT_ADD(w, err_idle_timeout, 1);
            fail(c, "idle timeout", c->sess ? ZREC_ALERT_CLOSE_NOTIFY : -1);
        } else if (w->stopping && w->stop_deadline && now >= w->stop_deadline) {
            fail(c, "gateway stopped", c->sess ? ZREC_ALERT_CLOSE_NOTIFY : -1);
        }
    }
    publish_stats(w);
    arm_tick(w);
}

static void on_wake(struct gw_worker *w)
{
    if (w->stopping && !w->listen_closed) {
        w->listen_closed = true;
        cancel_fd(w, w->lfd);
        close(w->lfd);
        w->lfd = -1;
        /* Drain: live connections go on for --drain-timeout, then get
         * close_notify. */
        w->stop_deadline = now_ms() + w->o->drain_timeout_ms;
    }
    arm_wake(w);
}

static int listen_socket(const struct gw_opts *o)
{
    int fd = socket(o->listen.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)&o->listen, o->listen_len) < 0 || listen(fd, 4096) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

struct gw_worker *gw_worker_new(const struct gw_opts *o, int index, struct gw_counters *cnt)
{
    struct gw_worker *w = aligned_alloc(64, (sizeof(struct gw_worker) + 63) & ~(size_t)63);
    if (w == NULL)
        return NULL;
    memset(w, 0, sizeof *w);
    w->o = o;
    w->index = index;
    w->cnt = cnt;
    w->lfd = w->efd = -1;
    struct io_uring_params p = {0};
    /* One thread submits (SINGLE_ISSUER); the ring is made here and enabled
     * by the worker thread, which thereby becomes that issuer. */
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_R_DISABLED;
    p.cq_entries = 16384;
    p.flags |= IORING_SETUP_CQSIZE;
    int rc = io_uring_queue_init_params(1024, &w->ring, &p);
    if (rc < 0) {
        fprintf(stderr, "zrec-gw: io_uring_queue_init: %s\n", strerror(-rc));
        free(w);
        return NULL;
    }
    struct zrec_uring_pool_params pp = {.record_slots = (uint16_t)o->pool_slots,
                                        .payload_slots = (uint16_t)o->pool_slots};
    w->pool = zrec_uring_pool_new(&w->ring, &pp, &rc);
    if (w->pool == NULL) {
        fprintf(stderr, "zrec-gw: buffer pool (%u slots per group): %s%s\n", o->pool_slots,
                strerror(-rc),
                rc == -ENOMEM || rc == -EPERM ? " (raise RLIMIT_MEMLOCK, or fewer --pool-slots)"
                                              : "");
        goto fail;
    }
    w->lfd = listen_socket(o);
    if (w->lfd < 0) {
        fprintf(stderr, "zrec-gw: --listen: %s\n", strerror(-w->lfd));
        goto fail;
    }
    w->efd = eventfd(0, EFD_CLOEXEC);
    if (w->efd < 0)
        goto fail;
    return w;
fail:
    gw_worker_free(w);
    return NULL;
}

void gw_worker_stop(struct gw_worker *w)
{
    w->stopping = true;
    uint64_t one = 1;
    (void)!write(w->efd, &one, sizeof one);
}

void gw_worker_free(struct gw_worker *w)
{
    if (w == NULL)
        return;
    if (w->lfd >= 0)
        close(w->lfd);
    zrec_uring_pool_free(w->pool);
    io_uring_queue_exit(&w->ring);
    if (w->efd >= 0)
        close(w->efd);
    free(w);
}

int gw_worker_run(struct gw_worker *w)
{
    int rc = zrec_uring_enable_rings(&w->ring);
    if (rc < 0) {
        fprintf(stderr, "zrec-gw: enabling the ring: %s\n", strerror(-rc));
        return -1;
    }
    arm_accept(w);
    arm_tick(w);
    arm_wake(w);
    for (;;) {
        if (w->stopping && w->listen_closed && w->nconns == 0)
            break;
        rc = io_uring_submit_and_wait(&w->ring, 1);
        if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
            fprintf(stderr, "zrec-gw: io_uring_submit_and_wait: %s\n", strerror(-rc));
            return -1;
        }
        w->now = now_ms();
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&w->ring, head, cqe)
        {
            seen++;
            uint64_t ud = cqe->user_data;
            void *p = (void *)(uintptr_t)(ud & ~(uint64_t)KIND_MASK);
            switch ((enum kind)(ud & KIND_MASK)) {
            case K_IGNORE:
                break;
            case K_CRECV:
                on_client_data(p, cqe);
                break;
            case K_BRECV:
                on_backend_data(p, cqe);
                break;
            case K_CSEND:
                on_send(p, true, cqe->res);
                break;
            case K_BSEND:
                on_send(p, false, cqe->res);
                break;
            case K_CONNECT:
                ((struct conn *)p)->inflight--;
                on_connect(p, cqe->res);
                break;
            case K_CRESV:
                on_reserve_data(p, cqe->res);
                break;
            default:
                break;
            }
            /* Every completion of a connection gets it looked at after the
             * batch (finish()), which is also where it is freed. */
            switch ((enum kind)(ud & KIND_MASK)) {
            case K_CRECV:
            case K_BRECV:
            case K_CSEND:
            case K_BSEND:
            case K_CONNECT:
            case K_CRESV:
                touch(p);
                break;
            case K_ACCEPT:
                on_accept(w, cqe);
                break;
            case K_TICK:
                on_tick(w);
                break;
            case K_WAKE:
                on_wake(w);
                break;
            default:
                break;
            }
        }
        io_uring_cq_advance(&w->ring, seen);

        /* Handshakes first: a handshake that completes may leave records
         * behind it in the same receive, which then join this batch. */
        for (struct conn *c = w->touched; c; c = c->touch_next)
            if (!c->dead && !c->c_closing && c->state == ST_HANDSHAKE &&
                (zrec_uring_rx_bytes(&c->crx) || c->c_fin))
                handshake(c);
        /* One open burst and one seal burst over everything this batch
         * made ready, then the sends. */
        run_open(w);
        run_seal(w);
        wake_starved(w);
        while (w->touched) {
            struct conn *c = w->touched;
            w->touched = c->touch_next;
            c->touched = false;
            if (finish(c) && !c->touched)
                conn_free(c);
        }
        if (!w->listen_closed)
            arm_accept(w);
        publish_stats(w); /* a few relaxed adds per batch */
    }
    publish_stats(w);
    return 0;
}
