/*
 * TLS stream sockets for the zsock facade (docs/FACADE.md; the options and
 * wolfSSL set-up are tls_conf.c's): wolfSSL runs the handshake on the kernel
 * fd (blocking or non-blocking), then the connection's records belong to
 * the zrec engine.  Data moves with copy-on-crypt: send() seals from the
 * caller's buffer into the socket's record buffer and recv() opens from the
 * record buffer into the caller's buffer, so the AEAD pass is the only pass
 * over the payload (a record larger than the caller's buffer, or MSG_PEEK,
 * is opened in place and then copied: the one case with a copy).
 *
 * Semantics follow Zephyr's subsys/net/lib/sockets/sockets_tls.c (defaults:
 * clients verify the peer, servers do not; close() sends close_notify; poll
 * reports decrypted data as POLLIN, close_notify as POLLHUP, a fatal alert as
 * POLLERR) and go further where Zephyr is weak: connect() on a non-blocking
 * socket returns EINPROGRESS and the handshake then progresses through
 * poll()/recv()/send(), which return EAGAIN meanwhile.
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zs_tls.h" /* wolfSSL's options.h first, then the rest of wolfSSL */

#include <wolfssl/error-ssl.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

static const struct zs_ops tls_stream_ops;

/* s becomes a TLS stream socket with state t. */
static void attach(struct zs_sock *s, struct zs_tls *t)
{
    /* Every record (and every handshake flight piece) is written with one
     * send(): Nagle would only hold the last small one back for a delayed
     * ACK (~40 ms per round trip of the handshake). */
    int one = 1;
    (void)setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    s->tls = t;
    s->ops = &tls_stream_ops;
}

/* At socket(): a TLS socket over TCP. */
int zs_tls_stream_create(struct zs_sock *s)
{
    struct zs_tls *t = zs_tls_conf_new(s->proto);
    if (t == NULL)
        return -ENOMEM;
    attach(s, t);
    return 0;
}

/* zrec_zsock_adopt_tls(): the connected kernel socket fd becomes a TLS
 * stream socket, not connected at the TLS level yet (ST_IDLE).  The TLS
 * state is made first: once registered, the socket could only be let go by
 * closing the kernel fd, which is the caller's until this succeeds. */
struct zs_sock *zs_tls_stream_adopt(int fd, int family, int proto)
{
    struct zs_tls *t = zs_tls_conf_new(proto);
    if (t == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    struct zs_sock *s = zs_register(fd, family, SOCK_STREAM, proto);
    if (s == NULL) {
        int e = errno;
        zs_tls_conf_free(t);
        errno = e;
        return NULL;
    }
    attach(s, t);
    return s;
}

static void free_handshake(struct zs_tls *t)
{
    if (t->ssl)
        wolfSSL_free(t->ssl);
    t->ssl = NULL;
    zrec_wolfssl_capture_free(t->cap);
    t->cap = NULL;
}

/* ---- wolfSSL set-up ------------------------------------------------------ */

/* wolfSSL's I/O on the (non-blocking) kernel fd.  It asks for exactly the
 * bytes of the record it is reading, so nothing is read ahead of the
 * handshake: the first record after it is still in the kernel for the
 * engine (zrec/wolfssl.h). */
static int io_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    (void)ssl;
    struct zs_sock *s = ctx;
    ssize_t n = recv(s->fd, buf, (size_t)sz, MSG_DONTWAIT);
    if (n > 0)
        return (int)n;
    if (n == 0)
        return WOLFSSL_CBIO_ERR_CONN_CLOSE;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        s->tls->hs_want = POLLIN;
        return WOLFSSL_CBIO_ERR_WANT_READ;
    }
    if (errno == EINTR)
        return WOLFSSL_CBIO_ERR_ISR;
    return errno == ECONNRESET ? WOLFSSL_CBIO_ERR_CONN_RST : WOLFSSL_CBIO_ERR_GENERAL;
}

static int io_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    (void)ssl;
    struct zs_sock *s = ctx;
    ssize_t n = send(s->fd, buf, (size_t)sz, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0)
        return (int)n;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        s->tls->hs_want = POLLOUT;
        return WOLFSSL_CBIO_ERR_WANT_WRITE;
    }
    if (errno == EINTR)
        return WOLFSSL_CBIO_ERR_ISR;
    return errno == EPIPE || errno == ECONNRESET ? WOLFSSL_CBIO_ERR_CONN_RST
                                                 : WOLFSSL_CBIO_ERR_GENERAL;
}

static int hs_setup(struct zs_sock *s)
{
    struct zs_tls *t = s->tls;
    int rc = zs_tls_make_ctx(t);
    if (rc < 0)
        return rc;
    wolfSSL_CTX_SetIORecv(t->ctx, io_recv);
    wolfSSL_CTX_SetIOSend(t->ctx, io_send);
    t->ssl = wolfSSL_new(t->ctx);
    if (t->ssl == NULL)
        return -ENOMEM;
    wolfSSL_SetIOReadCtx(t->ssl, s);
    wolfSSL_SetIOWriteCtx(t->ssl, s);
    rc = zs_tls_config_ssl(s, t->ssl);
    if (rc < 0)
        return rc;
    t->cap = zrec_wolfssl_prepare(t->ssl);
    if (t->cap == NULL)
        return -ENOMEM;
    t->state = ST_HANDSHAKE;
    t->hs_want = t->server ? POLLIN : POLLOUT;
    return 0;
}

static int fail(struct zs_tls *t, int err)
{
    t->state = ST_FAILED;
    t->error = err;
    free_handshake(t);
    return -err;
}

/* The handoff: wolfSSL's record state moves into the engine and wolfSSL's
 * connection object goes away. */
static int hs_finish(struct zs_sock *s)
{
    struct zs_tls *t = s->tls;
    zs_tls_handshake_done(s, t->ssl);
    int err = 0;
    t->zs = zrec_wolfssl_import(t->ssl, t->cap, NULL, &err);
    t->cap = NULL;
    free_handshake(t);
    if (t->zs == NULL)
        return fail(t, err == -ENOTSUP ? EPROTONOSUPPORT : ECONNABORTED);
    t->rx = malloc(RX_CAP);
    t->tx = malloc(REC_MAX);
    if (t->rx == NULL || t->tx == NULL)
        return fail(t, ENOMEM);
    t->state = ST_OPEN;
    return 0;
}

/* One non-blocking step of the handshake: 0 done, -EAGAIN (see hs_want),
 * or the connection failed (ECONNABORTED, as Zephyr reports handshake
 * failures; ECONNRESET / EPIPE when the peer went away). */
static int hs_step(struct zs_sock *s)
{
    struct zs_tls *t = s->tls;
    if (t->state == ST_OPEN)
        return 0;
    if (t->state == ST_FAILED)
        return -t->error;
    if (t->state != ST_HANDSHAKE)
        return -ENOTCONN;
    if (t->hs_deadline >= 0 && zs_now_ms() >= t->hs_deadline)
        return fail(t, ETIMEDOUT); /* an accepted peer that never finished */
    int rc = t->server ? wolfSSL_accept(t->ssl) : wolfSSL_connect(t->ssl);
    if (rc == WOLFSSL_SUCCESS)
        return hs_finish(s);
    int e = wolfSSL_get_error(t->ssl, rc);
    if (e == WOLFSSL_ERROR_WANT_READ) {
        t->hs_want = POLLIN;
        return -EAGAIN;
    }
    if (e == WOLFSSL_ERROR_WANT_WRITE) {
        t->hs_want = POLLOUT;
        return -EAGAIN;
    }
    if (e == SOCKET_PEER_CLOSED_E || e == SOCKET_ERROR_E)
        return fail(t, ECONNRESET);
    zs_tls_verify_done(t);
    return fail(t, ECONNABORTED);
}

/* Drive the handshake to the end (blocking) or one step (non-blocking).
 * The call's deadline, and an accepted socket's handshake deadline, bound
 * the waits. */
static int hs_drive(struct zs_sock *s, bool dontwait, int64_t deadline)
{
    for (;;) {
        pthread_mutex_lock(&s->lock);
        int rc = hs_step(s);
        short want = s->tls->hs_want;
        int64_t until = s->tls->hs_deadline;
        pthread_mutex_unlock(&s->lock);
        if (rc != -EAGAIN || dontwait)
            return rc;
        if (until < 0 || (deadline >= 0 && deadline < until))
            until = deadline;
        rc = zs_wait(s, want, until);
        if (rc == -EAGAIN && until != deadline)
            continue; /* the handshake's own deadline: hs_step fails it */
        if (rc == -EAGAIN)
            return -ETIMEDOUT;
        if (rc < 0)
            return rc;
    }
}

/* ---- connection set-up -------------------------------------------------- */

static int zs_tls_connect(struct zs_sock *s, const struct sockaddr *addr, socklen_t len)
{
    struct zs_tls *t = s->tls;
    if (t->state != ST_IDLE)
        return t->state == ST_FAILED ? -t->error : -EISCONN;
    int rc = zs_plain_connect(s, addr, len);
    if (rc < 0 && rc != -EINPROGRESS)
        return rc;
    pthread_mutex_lock(&s->lock);
    t->server = false;
    int src = hs_setup(s);
    pthread_mutex_unlock(&s->lock);
    if (src < 0)
        return fail(t, -src);
    if (rc == -EINPROGRESS || s->nonblock || !t->handshake_on_connect)
        return s->nonblock ? -EINPROGRESS : 0; /* poll()/recv()/send() drive it on */
    return hs_drive(s, false, zs_deadline(s->sndtimeo_ms));
}

static int zs_tls_listen(struct zs_sock *s, int backlog)
{
    if (listen(s->fd, backlog) < 0)
        return -errno;
    s->tls->server = true;
    s->tls->state = ST_LISTEN;
    return 0;
}

/* The handshake of a connected socket from its start, in the role t->server
 * says: its wolfSSL object (from t->ctx, shared with a listener, or made now
 * from the socket's own options), the time its peer has to finish
 * (hs_timeout_ms from now; 0: none), then, on a blocking socket, the
 * handshake itself until drive_deadline.  Shared by accept() and
 * zrec_zsock_tls_handshake().  0 done, -EAGAIN going on (non-blocking:
 * recv/send/poll drive it on), or the socket failed (hs_step's errors). */
static int hs_start(struct zs_sock *c, int hs_timeout_ms, int64_t drive_deadline)
{
    struct zs_tls *t = c->tls;
    pthread_mutex_lock(&c->lock);
    int rc = hs_setup(c);
    /* A peer that connects and stays silent must not hold up the caller (a
     * blocking accept) or a slot forever. */
    if (rc == 0 && hs_timeout_ms > 0)
        t->hs_deadline = zs_now_ms() + hs_timeout_ms;
    pthread_mutex_unlock(&c->lock);
    if (rc < 0)
        return fail(t, -rc);
    if (c->nonblock)
        return -EAGAIN;
    return hs_drive(c, false, drive_deadline);
}

/* A new TLS socket for an accepted connection, configured like the
 * listening one (it shares its wolfSSL context: credentials load once). */
static int zs_tls_accept(struct zs_sock *s, struct sockaddr *addr, socklen_t *len)
{
    struct zs_tls *lt = s->tls;
    if (lt->state != ST_LISTEN)
        return -EINVAL;
    for (;;) {
        int fd = zs_plain_accept(s, addr, len);
        if (fd < 0)
            return fd;
        struct zs_sock *c = zs_register(fd, s->family, s->type, s->proto);
        if (c == NULL) {
            int e = errno;
            close(fd);
            return -e;
        }
        int rc = zs_tls_stream_create(c);
        if (rc == 0) {
            struct zs_tls *t = c->tls;
            *t = *lt;             /* the options */
            t->hostname = NULL;   /* not the listener's to free */
            t->hostname_set = false;
            t->session = NULL;
            t->state = ST_IDLE;
            t->server = true;
            /* The context is built once, on the listener, and shared. */
            pthread_mutex_lock(&s->lock);
            rc = zs_tls_make_ctx(lt);
            t->ctx = rc == 0 ? lt->ctx : NULL;
            if (t->ctx)
                wolfSSL_CTX_up_ref(t->ctx);
            pthread_mutex_unlock(&s->lock);
            c->nonblock = s->nonblock;
            c->rcvtimeo_ms = s->rcvtimeo_ms;
            c->sndtimeo_ms = s->sndtimeo_ms;
            if (rc == 0)
                rc = hs_start(c, lt->accept_hs_timeout_ms, zs_deadline(s->rcvtimeo_ms));
        }
        if (rc == 0 || (rc == -EAGAIN && s->nonblock))
            return fd; /* non-blocking: the handshake goes on in recv/send/poll */
        zsock_close(fd);
        /* Zephyr: a failed handshake fails accept() with ECONNABORTED. */
        return rc == -EINTR ? rc : -ECONNABORTED;
    }
}

/* zrec_zsock_tls_handshake(): start the handshake of a connected TLS stream
 * socket in the given role (an adopted descriptor, or a client socket whose
 * handshake did not start at connect()), or continue it.  A blocking socket
 * waits until it ends (SO_RCVTIMEO for a server, SO_SNDTIMEO for a client,
 * as accept() and connect() bound theirs); a server's peer has
 * ZREC_TLS_HANDSHAKE_TIMEOUT from the first call.  0 done, -EAGAIN going on,
 * else the socket's failure: ECONNABORTED (the handshake failed),
 * ECONNRESET / EPIPE (the peer went away), ETIMEDOUT (the peer's time ran
 * out), ENOMEM, EINVAL / ENOENT (the credentials). */
int zs_tls_stream_handshake(struct zs_sock *s, bool server)
{
    if (s->ops != &tls_stream_ops)
        return -EOPNOTSUPP; /* plain and DTLS sockets have no such handshake */
    struct zs_tls *t = s->tls;
    int64_t deadline = zs_deadline(server ? s->rcvtimeo_ms : s->sndtimeo_ms);
    pthread_mutex_lock(&s->lock);
    enum tls_state st = t->state;
    bool role_ok = t->server == server;
    if (st == ST_IDLE)
        t->server = server;
    pthread_mutex_unlock(&s->lock);
    int rc;
    if (st == ST_LISTEN) {
        rc = -EINVAL;
    } else if (st == ST_IDLE) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        if (getpeername(s->fd, (struct sockaddr *)&peer, &plen) < 0)
            return -ENOTCONN;
        rc = hs_start(s, server ? t->accept_hs_timeout_ms : 0, deadline);
    } else if (!role_ok) {
        rc = -EINVAL; /* the handshake under way is the other role's */
    } else {
        rc = hs_drive(s, s->nonblock, deadline);
    }
    /* The call's own wait ran out (SO_RCVTIMEO / SO_SNDTIMEO): the handshake
     * goes on, as a blocking recv() reports EAGAIN after its timeout. */
    if (rc == -ETIMEDOUT) {
        pthread_mutex_lock(&s->lock);
        if (t->state == ST_HANDSHAKE)
            rc = -EAGAIN;
        pthread_mutex_unlock(&s->lock);
    }
    return rc;
}

/* ---- records out -------------------------------------------------------- */

/* Write queued ciphertext; -EAGAIN if some is still queued. */
static int flush_tx(struct zs_sock *s)
{
    struct zs_tls *t = s->tls;
    while (t->tx_len) {
        ssize_t n = send(s->fd, t->tx + t->tx_off, t->tx_len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return -EAGAIN;
            if (errno == EINTR)
                continue;
            return -errno;
        }
        t->tx_off += (size_t)n;
        t->tx_len -= (size_t)n;
    }
    t->tx_off = 0;
    return 0;
}

/* Seal one record into the (empty) tx buffer. */
static int seal_to_tx(struct zs_tls *t, uint8_t type, const uint8_t *src, size_t len)
{
    struct zrec_op op = {.sess = t->zs, .data = t->tx + ZREC_MAX_HEADROOM, .len = (uint32_t)len,
                         .headroom = ZREC_MAX_HEADROOM,
                         .tailroom = (uint16_t)(REC_MAX - ZREC_MAX_HEADROOM - len),
                         .content_type = type, .src = src};
    if (zrec_seal_burst(&op, 1) != 1)
        return op.status;
    t->tx_off = (size_t)(op.rec - t->tx);
    t->tx_len = op.rec_len;
    return 0;
}

/* Post-handshake records owed before more data (zs_pump_owed): a
 * KeyUpdate when the peer asked or the key nears its limit (RFC 8446
 * §4.6.3, §5.5).  Queued ciphertext goes first; a KeyUpdate still queued
 * goes out before any data. */
static int key_maintenance(struct zs_sock *s)
{
    struct zs_tls *t = s->tls;
    unsigned ev = zrec_session_events(t->zs);
    if (!(ev & (ZREC_EV_KEY_UPDATE_OWED | ZREC_EV_REKEY_DUE)) ||
        zrec_session_proto(t->zs) != ZREC_TLS13)
        return 0;
    int rc = flush_tx(s);
    if (rc < 0)
        return rc;
    int n = zs_pump_owed(t->zs, 0, NULL, t->tx, REC_MAX); /* TLS: no retransmission timer */
    if (n <= 0)
        return n;
    t->tx_off = 0;
    t->tx_len = (size_t)n;
    rc = flush_tx(s);
    return rc == -EAGAIN ? 0 : rc;
}

/* hs_step() (through hs_drive()) tells open, failed and not connected. */
static int ensure_open(struct zs_sock *s, bool dontwait, struct zs_timeout *tmo)
{
    return s->tls->state == ST_OPEN ? 0 : hs_drive(s, dontwait, zs_timeout_at(tmo));
}

static ssize_t zs_tls_sendmsg(struct zs_sock *s, const struct msghdr *msg, int flags)
{
    struct zs_tls *t = s->tls;
    bool dontwait = s->nonblock || (flags & MSG_DONTWAIT);
    struct zs_timeout tmo = {.ms = s->sndtimeo_ms};
    int rc = ensure_open(s, dontwait, &tmo);
    if (rc < 0)
        return rc;
    size_t sent = 0;
    pthread_mutex_lock(&s->lock);
    if (t->close_sent) {
        /* After our close_notify no data may follow (RFC 8446 §6.1), as
         * after shutdown(SHUT_WR) for any socket: EPIPE, not a record
         * sealed and then refused by the kernel. */
        pthread_mutex_unlock(&s->lock);
        return -EPIPE;
    }
    for (size_t i = 0; i < (size_t)msg->msg_iovlen; i++) {
        const uint8_t *p = msg->msg_iov[i].iov_base;
        size_t left = msg->msg_iov[i].iov_len;
        while (left > 0) {
            /* Queued ciphertext goes first; only then is new data accepted. */
            while ((rc = flush_tx(s)) == -EAGAIN) {
                if (dontwait || sent) {
                    pthread_mutex_unlock(&s->lock);
                    return sent ? (ssize_t)sent : -EAGAIN;
                }
                pthread_mutex_unlock(&s->lock);
                rc = zs_wait(s, POLLOUT, zs_timeout_at(&tmo));
                pthread_mutex_lock(&s->lock);
                if (rc < 0) {
                    pthread_mutex_unlock(&s->lock);
                    return rc;
                }
            }
            if (rc == 0)
                rc = key_maintenance(s);
            if (rc < 0)
                break;
            if (t->tx_len) /* the KeyUpdate is still queued */
                continue;
            size_t chunk = left > ZREC_MAX_PLAINTEXT ? ZREC_MAX_PLAINTEXT : left;
            rc = seal_to_tx(t, ZREC_CT_APPLICATION_DATA, p, chunk);
            if (rc < 0)
                break;
            /* Sealed bytes are committed: they count as sent even if the
             * kernel takes them later. */
            p += chunk;
            left -= chunk;
            sent += chunk;
            rc = flush_tx(s);
            if (rc < 0 && rc != -EAGAIN)
                break;
            rc = 0;
        }
        if (rc < 0)
            break;
    }
    pthread_mutex_unlock(&s->lock);
    if (rc < 0 && sent == 0)
        return rc == -EKEYEXPIRED ? -ECONNABORTED : rc;
    return (ssize_t)sent;
}

/* ---- records in --------------------------------------------------------- */

/* Read what the kernel has (non-blocking): >0 bytes, 0 at EOF, -EAGAIN. */
static ssize_t fill_rx(struct zs_sock *s)
{
    struct zs_tls *t = s->tls;
    if (t->rx_len == 0 && t->pend == NULL) {
        t->rx_off = 0; /* empty: start at the front, room for a whole record */
    } else if (RX_CAP - t->rx_off - t->rx_len < REC_MAX) {
        /* Make room for a whole record, so that one recv() can take it (a
         * record split across the end of the buffer costs a second recv()
         * per message): keep the unconsumed bytes (and any pending
         * plaintext, which lies inside them) at the front. */
        size_t shift = t->rx_off;
        if (t->pend && (size_t)(t->pend - t->rx) < shift)
            shift = (size_t)(t->pend - t->rx);
        memmove(t->rx, t->rx + shift, t->rx_off + t->rx_len - shift);
        if (t->pend)
            t->pend -= shift;
        t->rx_off -= shift;
    }
    size_t room = RX_CAP - t->rx_off - t->rx_len;
    if (room == 0)
        return -ENOBUFS;
    ssize_t n = recv(s->fd, t->rx + t->rx_off + t->rx_len, room, MSG_DONTWAIT);
    if (n > 0)
        t->rx_len += (size_t)n;
    if (n < 0)
        return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? -EAGAIN : -errno;
    return n;
}

/* Send a fatal alert (best effort) and fail the connection. */
static int fatal(struct zs_sock *s, uint8_t alert, int err)
{
    struct zs_tls *t = s->tls;
    uint8_t buf[64];
    int n = zrec_seal_alert(t->zs, ZREC_ALERT_FATAL, alert, buf, sizeof buf);
    if (n > 0)
        (void)send(s->fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
    t->state = ST_FAILED;
    t->error = err;
    return -err;
}

/* Open the next complete record.  into/cap: where application data may go
 * directly (copy-on-decrypt), or NULL.  Returns the number of bytes of
 * application data delivered into `into`, or 0 with the data left pending
 * (or a control record consumed), -EAGAIN when no complete record is
 * buffered, or a fatal error: in TLS every bad record ends the connection
 * (RFC 8446 §5.2, §6.2), with the alert that says why. */
static ssize_t open_next(struct zs_sock *s, uint8_t *into, size_t cap)
{
    struct zs_tls *t = s->tls;
    if (t->rx_len == 0)
        return -EAGAIN;
    uint8_t *rec = t->rx + t->rx_off;
    long need = zrec_record_length(t->zs, rec, t->rx_len);
    if (need < 0)
        return fatal(s, need == -EMSGSIZE ? ZREC_ALERT_RECORD_OVERFLOW
                                          : ZREC_ALERT_DECODE_ERROR,
                     need == -EMSGSIZE ? EMSGSIZE : EPROTO);
    if (need == 0 || (size_t)need > t->rx_len)
        return -EAGAIN;
    struct zs_opened o;
    switch (zs_pump_open(t->zs, rec, (size_t)need, into, cap, &o)) {
    case ZS_REC_REFUSED:
        if (o.status == -EBADMSG)
            return fatal(s, ZREC_ALERT_BAD_RECORD_MAC, EBADMSG);
        if (o.status == -EMSGSIZE)
            return fatal(s, ZREC_ALERT_RECORD_OVERFLOW, EMSGSIZE);
        return fatal(s, ZREC_ALERT_UNEXPECTED_MESSAGE, o.status == -EPIPE ? EPIPE : EPROTO);
    default:
        break;
    }
    t->rx_off += (size_t)need;
    t->rx_len -= (size_t)need;
    switch (o.kind) {
    case ZS_REC_DATA:
        if (o.direct)
            return (ssize_t)o.len;
        t->pend = o.data;
        t->pend_len = o.len;
        return 0;
    case ZS_REC_CLOSE_NOTIFY:
        t->peer_closed = true;
        return 0;
    case ZS_REC_FATAL_ALERT:
        t->state = ST_FAILED;
        t->error = ECONNRESET; /* the peer ended the connection */
        return -ECONNRESET;
    default:
        if (o.type == ZREC_CT_HANDSHAKE) {
            /* A KeyUpdate the peer asked for goes out before our next
             * data; a ticket goes into the cache. */
            (void)key_maintenance(s);
            zs_pump_ticket(t, t->zs, s->fd);
        }
        return 0;
    }
}

/* Hand out pending plaintext: as much as the caller's buffers take (a
 * stream: the rest stays for the next call), all of it left with peek. */
static size_t copy_pending(struct zs_tls *t, const struct msghdr *msg, bool peek)
{
    size_t done = zs_pump_copy(t->pend, t->pend_len, msg);
    if (!peek) {
        t->pend += done;
        t->pend_len -= done;
        if (t->pend_len == 0)
            t->pend = NULL;
    }
    return done;
}

static ssize_t zs_tls_recvmsg(struct zs_sock *s, struct msghdr *msg, int flags)
{
    struct zs_tls *t = s->tls;
    bool dontwait = s->nonblock || (flags & MSG_DONTWAIT);
    bool peek = flags & MSG_PEEK;
    struct zs_timeout tmo = {.ms = s->rcvtimeo_ms};
    int rc = ensure_open(s, dontwait, &tmo);
    if (rc < 0)
        return rc;
    size_t want = zs_iov_len(msg);
    bool waitall = (flags & MSG_WAITALL) && !peek;
    size_t got = 0;
    msg->msg_flags = 0;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        if (t->pend_len) {
            struct msghdr rest = *msg;
            struct iovec one;
            if (got) { /* MSG_WAITALL continuing: one contiguous buffer only */
                one = (struct iovec){(uint8_t *)msg->msg_iov[0].iov_base + got, want - got};
                rest.msg_iov = &one;
                rest.msg_iovlen = 1;
            }
            got += copy_pending(t, &rest, peek);
            if (!waitall || got >= want)
                break;
            continue;
        }
        if (t->peer_closed || t->state == ST_FAILED)
            break;
        /* Decrypt straight into the caller's buffer when it is one piece. */
        uint8_t *into = NULL;
        size_t cap = 0;
        if (!peek && msg->msg_iovlen == 1) {
            into = (uint8_t *)msg->msg_iov[0].iov_base + got;
            cap = want - got;
        }
        ssize_t n = open_next(s, into, cap);
        if (n > 0) {
            got += (size_t)n;
            if (!waitall || got >= want)
                break;
            continue;
        }
        if (n == 0)
            continue; /* control record, or data now pending */
        if (n != -EAGAIN) {
            rc = (int)n;
            break;
        }
        ssize_t r = fill_rx(s);
        if (r > 0)
            continue;
        if (r == 0 && t->rx_len) {
            /* EOF in the middle of a record: truncated, not closed (RFC 8446
             * §6.1 warns of truncation): an error, never a clean end. */
            t->state = ST_FAILED;
            t->error = ECONNRESET;
            rc = -ECONNRESET;
            break;
        }
        if (r == 0) { /* TCP EOF at a record boundary without close_notify */
            t->peer_closed = true;
            break;
        }
        if (r != -EAGAIN) {
            rc = (int)r;
            break;
        }
        if (dontwait)
            break;
        pthread_mutex_unlock(&s->lock);
        rc = zs_wait(s, POLLIN, zs_timeout_at(&tmo));
        pthread_mutex_lock(&s->lock);
        if (rc < 0)
            break;
    }
    pthread_mutex_unlock(&s->lock);
    if (got)
        return (ssize_t)got;
    if (rc < 0)
        return rc;
    if (t->state == ST_FAILED)
        return -t->error;
    if (t->peer_closed)
        return 0;
    return -EAGAIN;
}

/* ---- control ------------------------------------------------------------ */

static void send_close_notify(struct zs_sock *s)
{
    struct zs_tls *t = s->tls;
    if (t->state != ST_OPEN || t->close_sent)
        return;
    t->close_sent = true;
    /* Queued data first (bounded wait), then close_notify (RFC 8446 §6.1). */
    int64_t deadline = zs_deadline(1000);
    while (flush_tx(s) == -EAGAIN && zs_wait(s, POLLOUT, deadline) == 0)
        ;
    if (t->tx_len)
        return;
    uint8_t buf[64];
    int n = zrec_seal_alert(t->zs, ZREC_ALERT_WARNING, ZREC_ALERT_CLOSE_NOTIFY, buf, sizeof buf);
    if (n > 0)
        (void)send(s->fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static int zs_tls_shutdown(struct zs_sock *s, int how)
{
    pthread_mutex_lock(&s->lock);
    if (how == SHUT_WR || how == SHUT_RDWR)
        send_close_notify(s);
    pthread_mutex_unlock(&s->lock);
    return shutdown(s->fd, how) < 0 ? -errno : 0;
}

static void zs_tls_destroy(struct zs_sock *s)
{
    struct zs_tls *t = s->tls;
    if (t == NULL)
        return;
    if (!atomic_load(&s->closing))
        send_close_notify(s);
    free_handshake(t);
    zrec_session_free(t->zs);
    free(t->rx);
    free(t->tx);
    zs_tls_conf_free(t);
    s->tls = NULL;
}

static int zs_tls_fionread(struct zs_sock *s, int *avail)
{
    if (avail == NULL)
        return -EINVAL;
    pthread_mutex_lock(&s->lock);
    *avail = (int)s->tls->pend_len;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

static bool zs_tls_poll_passthrough(struct zs_sock *s)
{
    pthread_mutex_lock(&s->lock);
    bool pass = s->tls->state == ST_LISTEN || s->tls->state == ST_IDLE;
    pthread_mutex_unlock(&s->lock);
    return pass;
}

static short zs_tls_poll_ready(struct zs_sock *s, short want, short *kev)
{
    struct zs_tls *t = s->tls;
    short ready = 0;
    *kev = 0;
    pthread_mutex_lock(&s->lock);
    if (t->state == ST_LISTEN || t->state == ST_IDLE) {
        /* Listening, or not connected yet: the kernel says it all. */
        *kev = want;
        pthread_mutex_unlock(&s->lock);
        return 0;
    }
    if (t->state == ST_HANDSHAKE) {
        int rc = hs_step(s);
        if (rc == -EAGAIN) {
            *kev = t->hs_want;
            pthread_mutex_unlock(&s->lock);
            return 0;
        }
    }
    if (t->state == ST_FAILED) {
        pthread_mutex_unlock(&s->lock);
        return POLLERR;
    }
    if (want & POLLIN) {
        /* Pump: read and open until application data is pending. */
        while (!t->pend_len && !t->peer_closed && t->state == ST_OPEN) {
            ssize_t n = open_next(s, NULL, 0);
            if (n == 0)
                continue;
            if (n != -EAGAIN)
                break;
            ssize_t r = fill_rx(s);
            if (r == 0)
                t->peer_closed = true;
            if (r < 0)
                break;
        }
        if (t->state == ST_FAILED)
            ready |= POLLERR;
        else if (t->pend_len)
            ready |= POLLIN;
        if (t->peer_closed)
            ready |= POLLHUP | (want & POLLIN);
        if (!(ready & (POLLIN | POLLHUP | POLLERR)))
            *kev |= POLLIN;
    }
    if (want & POLLOUT) {
        if (t->state == ST_OPEN && flush_tx(s) == 0)
            ready |= POLLOUT;
        else if (t->state == ST_OPEN)
            *kev |= POLLOUT;
    }
    pthread_mutex_unlock(&s->lock);
    return ready;
}

/* poll wakes for an accepted socket's handshake deadline. */
static int64_t zs_tls_next_timer(struct zs_sock *s)
{
    pthread_mutex_lock(&s->lock);
    int64_t at = s->tls->state == ST_HANDSHAKE ? s->tls->hs_deadline : -1;
    pthread_mutex_unlock(&s->lock);
    return at;
}

static const struct zs_ops tls_stream_ops = {
    .connect = zs_tls_connect,
    .listen = zs_tls_listen,
    .accept = zs_tls_accept,
    .sendmsg = zs_tls_sendmsg,
    .recvmsg = zs_tls_recvmsg,
    .shutdown = zs_tls_shutdown,
    .destroy = zs_tls_destroy,
    .setsockopt = zs_tls_setsockopt,
    .getsockopt = zs_tls_getsockopt,
    .poll_ready = zs_tls_poll_ready,
    .poll_passthrough = zs_tls_poll_passthrough,
    .fionread = zs_tls_fionread,
    .next_timer = zs_tls_next_timer,
};
