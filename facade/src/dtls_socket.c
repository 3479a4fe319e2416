/*
 * DTLS sockets for the zsock facade (docs/FACADE.md): DTLS 1.2 (RFC 6347)
 * and DTLS 1.3 (RFC 9147) over one UDP socket.  The handshake driver
 * (dtls_hs.c) runs each handshake over the datagrams this file routes to
 * it; then the records belong to the zrec engine and every send() is one
 * record in one datagram, every recv() one record.
 *
 * A client socket has one peer (the connected address).  A server socket
 * (TLS_DTLS_ROLE_SERVER) serves many peers on one socket: datagrams are
 * demultiplexed by source address, or by the connection ID when one was
 * negotiated (RFC 9147 §9), so a client whose address changes keeps its
 * session.  recvfrom() returns application data from any peer with its
 * address; sendto() seals for that peer's session.
 *
 * Invalid records (bad MAC, stale epoch, replays, garbage) are dropped
 * silently and the session goes on (RFC 6347 §4.1.2.7, RFC 9147 §4.5.2).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "zs_dtls.h"

static const struct zs_ops dtls_ops;

#define MAX_PEERS 4096         /* default sessions (and handshakes) per server socket */
#define COOKIE_ROTATE_MS 60000 /* the cookie secret's period (cookies live one to two) */
#define ADDR_BUCKETS 1024      /* a server's sessions by address: one lookup a datagram */
#define CID_BUCKETS 1024       /* … and by the connection ID we gave them */

/* Asked for every datagram: an IPv4 address (the common case) compares as
 * two 64-bit words, without a call to memcmp(). */
static bool same_addr(const struct peer *p, const struct sockaddr_storage *a, socklen_t len)
{
    if (p->addrlen != len)
        return false;
    if (len == sizeof(struct sockaddr_in)) {
        uint64_t x[2], y[2];
        memcpy(x, &p->addr, sizeof x);
        memcpy(y, a, sizeof y);
        return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
    }
    return memcmp(&p->addr, a, len) == 0;
}

/* ---- peers ---------------------------------------------------------------- */

/* The address bytes (sockaddr_in/in6 as the kernel gave them) as 64-bit
 * words, each multiplied by its own odd constant and summed (independent
 * multiplies, not a byte-serial chain: this runs for every datagram), the
 * high bits folded down.  Source ports are the attacker's to choose, but
 * buckets only spread the work: a long chain costs its sender time, never
 * correctness. */
static struct peer **addr_bucket(struct zs_dtls *d, const struct sockaddr_storage *a,
                                 socklen_t len)
{
    static const uint64_t k[4] = {0x9e3779b97f4a7c15ull, 0xc2b2ae3d27d4eb4full,
                                  0x165667b19e3779f9ull, 0xd6e8feb86659fd93ull};
    uint64_t w[4] = {0, 0, 0, 0};
    memcpy(w, a, len < sizeof w ? len : sizeof w); /* sockaddr_in6: 28 of its bytes */
    uint64_t h = w[0] * k[0] + w[1] * k[1] + w[2] * k[2] + w[3] * k[3];
    return &d->by_addr[(h ^ h >> 29 ^ h >> 47) % ADDR_BUCKETS];
}

static void addr_unlink(struct zs_dtls *d, struct peer *p)
{
    for (struct peer **pp = addr_bucket(d, &p->addr, p->addrlen); *pp; pp = &(*pp)->addr_next)
        if (*pp == p) {
            *pp = p->addr_next;
            return;
        }
}

static void addr_link(struct zs_dtls *d, struct peer *p)
{
    struct peer **b = addr_bucket(d, &p->addr, p->addrlen);
    p->addr_next = *b;
    *b = p;
}

/* Peers by the CID they send us (RFC 9146 §3, RFC 9147 §9): ours, random
 * and unique on the socket, so a plain bucket of its bytes spreads them. */
static struct peer **cid_bucket(struct zs_dtls *d, const uint8_t *cid)
{
    return &d->by_cid[((unsigned)cid[0] << 8 | cid[1]) % CID_BUCKETS];
}

static void cid_unlink(struct zs_dtls *d, struct peer *p)
{
    if (!p->cid_linked)
        return;
    for (struct peer **pp = cid_bucket(d, p->hs.my_cid); *pp; pp = &(*pp)->cid_next)
        if (*pp == p) {
            *pp = p->cid_next;
            break;
        }
    p->cid_linked = false;
}

/* A peer of the table that has a CID of ours goes into by_cid. */
static void cid_link(struct zs_dtls *d, struct peer *p)
{
    if (p->cid_linked || !p->in_table || p->hs.my_cid_len != CID_LEN)
        return;
    struct peer **b = cid_bucket(d, p->hs.my_cid);
    p->cid_next = *b;
    *b = p;
    p->cid_linked = true;
}

static void peer_free(struct zs_dtls *d, struct peer *p)
{
    if (p == NULL)
        return;
    if (p->in_table) {
        d->peers[p->index] = d->peers[--d->npeers];
        d->peers[p->index]->index = p->index;
        addr_unlink(d, p);
        cid_unlink(d, p);
        if (p->state == P_HANDSHAKE)
            d->handshakes--;
    }
    if (d->last == p)
        d->last = NULL;
    if (d->rx_peer == p) {
        d->rx_peer = NULL;
        d->rx_len = 0;
    }
    if (d->pend_peer == p) {
        d->pend_peer = NULL;
        d->pend = NULL;
        d->pend_len = 0;
    }
    zs_dhs_release(&p->hs);
    zrec_session_free(p->zs);
    free(p);
}

static int peer_add(struct zs_dtls *d, struct peer *p)
{
    if (d->npeers >= d->max_peers)
        return -ENOBUFS;
    if (d->by_addr == NULL && (d->by_addr = calloc(ADDR_BUCKETS, sizeof *d->by_addr)) == NULL)
        return -ENOMEM;
    if (d->by_cid == NULL && (d->by_cid = calloc(CID_BUCKETS, sizeof *d->by_cid)) == NULL)
        return -ENOMEM;
    if (d->npeers % 64 == 0) {
        struct peer **n = realloc(d->peers, (size_t)(d->npeers + 64) * sizeof *n);
        if (n == NULL)
            return -ENOMEM;
        d->peers = n;
    }
    p->index = d->npeers;
    d->peers[d->npeers++] = p;
    addr_link(d, p);
    p->in_table = true;
    cid_link(d, p);
    if (p->state == P_HANDSHAKE)
        d->handshakes++;
    return 0;
}

static struct peer *find_by_addr(struct zs_dtls *d, const struct sockaddr_storage *a,
                                 socklen_t len)
{
    if (d->by_addr == NULL)
        return NULL;
    for (struct peer *p = *addr_bucket(d, a, len); p; p = p->addr_next)
        if (same_addr(p, a, len))
            return p;
    return NULL;
}

/* The session a datagram names by its connection ID: the first record's
 * header read by the engine (a DTLS 1.3 unified header carries the CID
 * right after its first byte, RFC 9147 §4). */
static struct peer *find_by_cid(struct zs_dtls *d, const uint8_t *b, size_t n)
{
    struct zrec_record_info info;
    if (d->by_cid == NULL || zrec_record_peek(b, n, ZREC_PEEK_DTLS, CID_LEN, &info) <= 0 ||
        info.cid == NULL || info.cid_len != CID_LEN)
        return NULL;
    for (struct peer *p = *cid_bucket(d, info.cid); p; p = p->cid_next)
        if (p->state == P_OPEN && memcmp(p->hs.my_cid, info.cid, CID_LEN) == 0)
            return p;
    return NULL;
}

static bool cid_in_use(struct zs_dtls *d, const uint8_t *cid)
{
    if (d->by_cid == NULL)
        return false;
    for (struct peer *p = *cid_bucket(d, cid); p; p = p->cid_next)
        if (memcmp(p->hs.my_cid, cid, CID_LEN) == 0)
            return true;
    return false;
}

/* The handshake driver's hooks (zs_dhs.h): the socket's options on each
 * wolfSSL object, and what a finished handshake leaves for getsockopt(). */
static int hs_config_ssl(void *arg, WOLFSSL *ssl)
{
    struct zs_sock *s = arg;
    struct zs_tls *t = s->tls;
    int rc = zs_tls_config_ssl(s, ssl);
    struct peer *p = t->d->creating;
    if (rc == 0 && t->ssl_hook && p)
        rc = t->ssl_hook(t->ssl_hook_arg, ssl, (const struct sockaddr *)&p->addr, p->addrlen);
    return rc;
}

static void hs_finished(void *arg, WOLFSSL *ssl, bool ok)
{
    struct zs_sock *s = arg;
    if (ok)
        zs_tls_handshake_done(s, ssl);
    else if (!s->tls->server)
        zs_tls_verify_done(s->tls);
}

ssize_t zs_dtls_send_to(void *peer, const void *buf, size_t n)
{
    struct peer *p = peer;
    struct zs_sock *s = p->sock;
    bool server = s->tls->server;
    ssize_t rc = sendto(s->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL,
                        server ? (const struct sockaddr *)&p->addr : NULL,
                        server ? p->addrlen : 0);
    return rc < 0 ? -errno : rc;
}

/* A handshake with addr (dtls_hs.c), with a connection ID of ours no other
 * peer of the socket has (a client with TLS_DTLS_CID_VALUE asks for that
 * one); cookie_secret: the secret that made the ClientHello's cookie (the
 * current one, or the one before the last rotation), NULL for a client. */
static struct peer *new_peer(struct zs_sock *s, const struct sockaddr_storage *addr,
                             socklen_t addrlen, const uint8_t *cookie_secret, int *err)
{
    struct zs_tls *t = s->tls;
    struct zs_dtls *d = t->d;
    uint8_t cid[CID_LEN] = {0};
    size_t cid_len = 0;
    if (t->dtls_cid == TLS_DTLS_CID_ENABLED && !t->server && t->cid_value_len >= 0) {
        memcpy(cid, t->cid_value, (size_t)t->cid_value_len);
        cid_len = (size_t)t->cid_value_len;
    } else if (t->dtls_cid == TLS_DTLS_CID_ENABLED) {
        do {
            if (getrandom(cid, CID_LEN, 0) != CID_LEN) {
                *err = -EIO;
                return NULL;
            }
        } while (t->server && cid_in_use(d, cid));
        cid_len = CID_LEN;
    }
    *err = zs_tls_make_ctx(t);
    if (*err < 0)
        return NULL;
    /* The options may have changed since the last handshake. */
    d->hs_conf = (struct zs_dhs_conf){
        .ctx = t->ctx,
        .server = t->server,
        .dtls13 = t->version == 0x0304,
        .timeout_min_ms = t->hs_timeout_min,
        .timeout_max_ms = t->hs_timeout_max,
        .cid = t->dtls_cid == TLS_DTLS_CID_ENABLED     ? ZS_DHS_CID_ENABLED
               : t->dtls_cid == TLS_DTLS_CID_SUPPORTED ? ZS_DHS_CID_SUPPORTED
                                                       : ZS_DHS_CID_OFF,
        .config_ssl = hs_config_ssl,
        .finished = hs_finished,
        .arg = s,
    };
    struct peer *p = calloc(1, sizeof *p);
    *err = -ENOMEM;
    if (p == NULL)
        return NULL;
    p->sock = s;
    memcpy(&p->addr, addr, addrlen);
    p->addrlen = addrlen;
    p->state = P_HANDSHAKE;
    d->creating = p;
    *err = zs_dhs_init(&p->hs, &d->hs_conf, zs_dtls_send_to, p, &p->addr, p->addrlen, cid,
                       cid_len, cookie_secret, sizeof d->cookie.cur);
    d->creating = NULL;
    if (*err < 0) {
        free(p);
        return NULL;
    }
    return p;
}

/* A finished handshake to report (zs_dtls_report_handshakes()); when
 * more are waiting than the queue holds, the oldest report goes (its
 * session stays). */
static void hs_done_push(struct zs_dtls *d, const struct peer *p)
{
    if (d->hs_done_count == ZS_DTLS_HS_EVENTS) {
        d->hs_done_first = (d->hs_done_first + 1) % ZS_DTLS_HS_EVENTS;
        d->hs_done_count--;
    }
    int i = (d->hs_done_first + d->hs_done_count++) % ZS_DTLS_HS_EVENTS;
    memcpy(&d->hs_done[i], &p->addr, p->addrlen);
    d->hs_done_len[i] = p->addrlen;
}

/* A handshake step over a datagram (dtls_hs.c), NULL for none; one that
 * ended hands the peer to the engine: it leaves the table's handshakes,
 * and the socket is open. */
static int step(struct zs_sock *s, struct peer *p, const uint8_t *in, size_t n)
{
    struct zs_tls *t = s->tls;
    /* The handoff settles the CID (the one negotiated, or none). */
    cid_unlink(t->d, p);
    int rc = zs_dhs_step(&p->hs, in, n, &p->zs);
    if (rc == 0)
        p->state = P_OPEN;
    cid_link(t->d, p);
    if (rc == 0) {
        p->active = ++t->d->tick;
        if (p->in_table)
            t->d->handshakes--;
        if (t->d->report_handshakes)
            hs_done_push(t->d, p);
        if (!t->server || t->state == ST_IDLE)
            t->state = ST_OPEN; /* a server's getsockopt() reports the latest handshake */
    }
    return rc;
}

static void client_fail(struct zs_tls *t, int err)
{
    t->state = ST_FAILED;
    t->error = err;
}

/* Expired handshake timers: retransmit, or give up. */
static void run_timers(struct zs_sock *s)
{
    struct zs_tls *t = s->tls;
    struct zs_dtls *d = t->d;
    if (d->handshakes == 0)
        return; /* sessions only: nothing to time (the common case) */
    int64_t now = zs_now_ms();
    for (int i = 0; i < d->npeers; i++) {
        struct peer *p = d->peers[i];
        if (p->state != P_HANDSHAKE || p->hs.rtx_at > now)
            continue;
        int rc = zs_dhs_timeout(&p->hs);
        if (rc == 0)
            continue;
        if (!t->server)
            client_fail(t, -rc);
        peer_free(d, p);
        i--;
    }
}

static int64_t next_timer(struct zs_dtls *d)
{
    int64_t at = -1;
    for (int i = 0; d->handshakes && i < d->npeers; i++)
        if (d->peers[i]->state == P_HANDSHAKE && (at < 0 || d->peers[i]->hs.rtx_at < at))
            at = d->peers[i]->hs.rtx_at;
    return at;
}

/* ---- datagrams in --------------------------------------------------------- */

static void handshake_input(struct zs_sock *s, struct peer *p, const uint8_t *buf, size_t n)
{
    struct zs_tls *t = s->tls;
    int rc = step(s, p, buf, n);
    if (rc == 0 || rc == -EAGAIN)
        return;
    if (!t->server)
        client_fail(t, -rc);
    peer_free(t->d, p);
}

/* The table is full and a client proved its address: the session that
 * has been silent longest goes (peers that vanish without close_notify
 * would otherwise fill a long-running server). */
static bool evict_one(struct zs_dtls *d)
{
    struct peer *oldest = NULL;
    for (int i = 0; i < d->npeers; i++)
        if (d->peers[i]->state == P_OPEN && (oldest == NULL || d->peers[i]->active < oldest->active))
            oldest = d->peers[i];
    peer_free(d, oldest);
    return oldest != NULL;
}

/* A ClientHello from an address with no handshake in progress: the
 * stateless cookie exchange answers it (dtls_cookie.c).  One that brings a
 * valid cookie back, or that the exchange leaves to wolfSSL, goes to a
 * fresh wolfSSL object, which stays only if it answers with a ServerHello. */
static void server_hello(struct zs_sock *s, struct peer *old, const uint8_t *buf, size_t n)
{
    struct zs_tls *t = s->tls;
    struct zs_dtls *d = t->d;
    if (zs_tls_make_ctx(t) < 0)
        return; /* no usable credentials: nobody is answered */
    const struct zs_cookie_conf conf = zs_cookie_conf_now(
        &d->cookie, zs_coarse_ms(), t->version == 0x0304, t->ctx_suites, t->ctx_nsuites);
    uint8_t answer[ZS_COOKIE_ANSWER_MAX];
    size_t alen = 0;
    const uint8_t *valid_with = NULL;
    switch (zs_cookie_check(&conf, buf, n, &d->rx_from, d->rx_fromlen, answer, sizeof answer,
                            &alen, &valid_with)) {
    case ZS_COOKIE_ANSWER:
        /* Best effort, as any datagram: a lost one is asked for again. */
        (void)sendto(s->fd, answer, alen, MSG_DONTWAIT | MSG_NOSIGNAL,
                     (const struct sockaddr *)&d->rx_from, d->rx_fromlen);
        return;
    case ZS_COOKIE_DROP:
        return;
    case ZS_COOKIE_VALID:
    case ZS_COOKIE_DEFER:
        break;
    }
    int err;
    /* A ClientHello left to wolfSSL (no valid_with) is answered with the
     * current secret. */
    struct peer *p = new_peer(s, &d->rx_from, d->rx_fromlen,
                              valid_with ? valid_with : d->cookie.cur, &err);
    if (p == NULL)
        return;
    int rc = step(s, p, buf, n);
    if ((rc == -EAGAIN || rc == 0) && p->hs.server_hello && d->npeers >= d->max_peers && old == NULL)
        (void)evict_one(d);
    if ((rc == -EAGAIN || rc == 0) && p->hs.server_hello && peer_add(d, p) == 0) {
        /* The same address with a new verified ClientHello: the client
         * restarted (RFC 6347 §4.2.8); its old session goes. */
        peer_free(d, old);
        return;
    }
    peer_free(d, p); /* answered with a cookie request, or failed */
}

/* Read one datagram (non-blocking) and route it: handshake datagrams go to
 * their wolfSSL object now; a session's datagram stays in rx for
 * open_next().  Returns 1 (a datagram was taken), -EAGAIN, or an error. */
static int read_datagram(struct zs_sock *s)
{
    struct zs_tls *t = s->tls;
    struct zs_dtls *d = t->d;
    d->rx_fromlen = sizeof d->rx_from;
    ssize_t n = recvfrom(s->fd, d->rx, DGRAM_CAP, MSG_DONTWAIT | MSG_TRUNC,
                         (struct sockaddr *)&d->rx_from, &d->rx_fromlen);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return -EAGAIN;
        if (errno == ECONNREFUSED && !t->server) {
            /* ICMP port unreachable for our connected peer. */
            if (t->state == ST_HANDSHAKE) {
                client_fail(t, ECONNREFUSED);
                return -ECONNREFUSED;
            }
            return 1; /* an open session outlives a stray ICMP */
        }
        return -errno;
    }
    if ((size_t)n > DGRAM_CAP)
        return 1; /* longer than any record: cut by the kernel, dropped */
    const uint8_t *buf = d->rx;
    struct peer *p = t->server ? find_by_addr(d, &d->rx_from, d->rx_fromlen)
                               : (d->npeers ? d->peers[0] : NULL);
    if (p == NULL && t->server)
        p = find_by_cid(d, buf, (size_t)n);
    if (p && p->state == P_HANDSHAKE) {
        handshake_input(s, p, buf, (size_t)n);
        return 1;
    }
    if (t->server && zs_dhs_is_client_hello(buf, (size_t)n)) {
        server_hello(s, p, buf, (size_t)n);
        return 1;
    }
    if (p == NULL)
        return 1; /* nobody's: dropped */
    d->rx_peer = p;
    d->rx_off = 0;
    d->rx_len = (size_t)n;
    return 1;
}

/* Send a control record (alert, ACK, KeyUpdate) to p, best effort. */
static void send_control(struct peer *p, int len, const uint8_t *rec)
{
    if (len > 0)
        (void)zs_dtls_send_to(p, rec, (size_t)len);
}

/* Owed post-handshake records (DTLS 1.3, zs_pump_owed): the ACK of
 * KeyUpdate / NewSessionTicket records (RFC 9147 §7), then our KeyUpdate
 * when asked or near the key's limit (§8), retransmitted until the peer's
 * ACK switches the key. */
static void maintenance(struct zs_sock *s, struct peer *p)
{
    if (p->state != P_OPEN || zrec_session_proto(p->zs) != ZREC_DTLS13 ||
        !(zrec_session_events(p->zs) &
          (ZREC_EV_ACK_OWED | ZREC_EV_KEY_UPDATE_OWED | ZREC_EV_REKEY_DUE)))
        return; /* the common case: nothing owed, no clock read */
    uint8_t *buf = s->tls->d->tx;
    int64_t now = zs_now_ms();
    for (int i = 0; i < 2; i++) {
        int n = zs_pump_owed(p->zs, now, &p->key_update_at, buf, DGRAM_CAP);
        if (n <= 0)
            break;
        (void)zs_dtls_send_to(p, buf, (size_t)n);
    }
}

/* The session's peer sent close_notify or a fatal alert. */
static void peer_gone(struct zs_sock *s, struct peer *p, bool clean)
{
    struct zs_tls *t = s->tls;
    if (!t->server) {
        if (clean)
            t->d->closed = true;
        else
            client_fail(t, ECONNRESET);
        return;
    }
    peer_free(t->d, p);
}

/* Open the next record of the datagram in rx.  into/cap: where application
 * data may go directly, or NULL.  Returns the record's application data
 * length when it went into `into` (whole: one that does not fit is left
 * pending for deliver_pending() to cut), 0 when a record was
 * consumed (control, dropped, or data left pending), -EAGAIN when the
 * datagram is used up. */
static ssize_t open_next(struct zs_sock *s, uint8_t *into, size_t cap)
{
    struct zs_dtls *d = s->tls->d;
    struct peer *p = d->rx_peer;
    if (p == NULL || d->rx_len == 0) {
        d->rx_peer = NULL;
        d->rx_len = 0;
        return -EAGAIN;
    }
    uint8_t *rec = d->rx + d->rx_off;
    long need = zrec_record_length(p->zs, rec, d->rx_len);
    if (need <= 0 || (size_t)need > d->rx_len) {
        /* Not a record of this session (e.g. a handshake record of an epoch
         * that is over): the rest of the datagram goes with it. */
        if (rec[0] == ZREC_CT_HANDSHAKE)
            zs_dhs_replay_flight(&p->hs, false);
        d->rx_len = 0;
        return 0;
    }
    d->rx_off += (size_t)need;
    d->rx_len -= (size_t)need;
    struct zs_opened o;
    if (zs_pump_open(p->zs, rec, (size_t)need, into, cap, &o) == ZS_REC_REFUSED) {
        /* Dropped.  A record of an earlier epoch is the peer repeating its
         * handshake flight: it missed our last one. */
        if (o.status == -ESTALE)
            zs_dhs_replay_flight(&p->hs, false);
        return 0;
    }
    p->active = ++d->tick; /* for evict_one(): an order, no clock read */
    /* Authenticated: a peer found by its CID may have a new address
     * (RFC 9146 §6, RFC 9147 §9). */
    if (s->tls->server && !same_addr(p, &d->rx_from, d->rx_fromlen)) {
        addr_unlink(d, p);
        memcpy(&p->addr, &d->rx_from, d->rx_fromlen);
        p->addrlen = d->rx_fromlen;
        addr_link(d, p);
    }
    maintenance(s, p);
    /* The peer sends data (or an ACK) only once it has our last flight. */
    if (p->hs.flight && (o.type == ZREC_CT_APPLICATION_DATA || o.kind == ZS_REC_ACK))
        zs_dhs_release_flight(&p->hs);
    switch (o.kind) {
    case ZS_REC_DATA:
        d->last = p;
        if (o.direct)
            return (ssize_t)o.len;
        d->pend = o.data;
        d->pend_len = o.len;
        d->pend_peer = p;
        return 0;
    case ZS_REC_CLOSE_NOTIFY:
        peer_gone(s, p, true);
        return 0;
    case ZS_REC_FATAL_ALERT:
        peer_gone(s, p, false);
        return 0;
    default:
        if (o.type == ZREC_CT_HANDSHAKE)
            zs_pump_ticket(s->tls, p->zs, s->fd);
        return 0;
    }
}

/* ---- the socket's life ------------------------------------------------------ */

/* At socket(): a DTLS socket over UDP. */
int zs_dtls_create(struct zs_sock *s)
{
    struct zs_tls *t = zs_tls_conf_new(s->proto);
    struct zs_dtls *d = calloc(1, sizeof *d);
    if (t == NULL || d == NULL)
        goto fail;
    d->rx = malloc(DGRAM_CAP);
    d->tx = malloc(DGRAM_CAP);
    const char *rot = getenv("ZREC_DTLS_COOKIE_ROTATE_MS");
    long rot_ms = rot ? strtol(rot, NULL, 10) : 0;
    if (d->rx == NULL || d->tx == NULL ||
        zs_cookie_secrets_init(&d->cookie,
                               rot_ms >= 10 && rot_ms <= 86400000 ? rot_ms : COOKIE_ROTATE_MS,
                               zs_coarse_ms()) < 0)
        goto fail;
    /* A server's memory bound: each session is about 3 KB after the handoff,
     * a handshake in progress a wolfSSL object (tens of KB). */
    const char *env = getenv("ZREC_DTLS_MAX_PEERS");
    long max = env ? strtol(env, NULL, 10) : 0;
    d->max_peers = max > 0 && max <= 1 << 20 ? (int)max : MAX_PEERS;
    t->d = d;
    s->tls = t;
    s->ops = &dtls_ops;
    return 0;
fail:
    if (d) {
        free(d->rx);
        free(d->tx);
        free(d);
    }
    zs_tls_conf_free(t);
    return -ENOMEM;
}

static void close_notify_all(struct zs_sock *s)
{
    struct zs_dtls *d = s->tls->d;
    uint8_t buf[64];
    for (int i = 0; i < d->npeers; i++) {
        struct peer *p = d->peers[i];
        if (p->state == P_OPEN)
            send_control(p,
                         zrec_seal_alert(p->zs, ZREC_ALERT_WARNING, ZREC_ALERT_CLOSE_NOTIFY, buf,
                                         sizeof buf),
                         buf);
    }
}

static void zs_dtls_destroy(struct zs_sock *s)
{
    struct zs_dtls *d = s->tls->d;
    if (!atomic_load(&s->closing) && !s->tls->close_sent)
        close_notify_all(s);
    while (d->npeers)
        peer_free(d, d->peers[0]);
    free(d->peers);
    free(d->by_addr);
    free(d->by_cid);
    free(d->rx);
    free(d->tx);
    free(d);
    zs_tls_conf_free(s->tls);
    s->tls = NULL;
}

static int zs_dtls_shutdown(struct zs_sock *s, int how)
{
    pthread_mutex_lock(&s->lock);
    if ((how == SHUT_WR || how == SHUT_RDWR) && !s->tls->close_sent) {
        close_notify_all(s);
        s->tls->close_sent = true;
    }
    pthread_mutex_unlock(&s->lock);
    /* An unconnected UDP socket has nothing to shut down in the kernel. */
    if (shutdown(s->fd, how) < 0 && errno != ENOTCONN)
        return -errno;
    return 0;
}

/* The client's first step: the ClientHello (lock held). */
static int client_kick(struct zs_sock *s)
{
    struct zs_tls *t = s->tls;
    struct peer *p = t->d->npeers ? t->d->peers[0] : NULL;
    if (p == NULL || p->hs.started || p->state != P_HANDSHAKE)
        return 0;
    p->hs.rtx_at = zs_now_ms() + p->hs.rtx_ms; /* the timer runs from now */
    int rc = step(s, p, NULL, 0);
    if (rc == 0 || rc == -EAGAIN)
        return 0;
    client_fail(t, -rc);
    peer_free(t->d, p);
    return rc;
}

/* The client's handshake, to its end (blocking) or as far as it goes. */
static int client_drive(struct zs_sock *s, bool dontwait, int64_t deadline)
{
    struct zs_tls *t = s->tls;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        int rc = client_kick(s);
        run_timers(s);
        while (t->state == ST_HANDSHAKE && (rc = read_datagram(s)) == 1)
            ;
        int64_t timer = next_timer(t->d);
        enum tls_state st = t->state;
        pthread_mutex_unlock(&s->lock);
        if (st == ST_OPEN)
            return 0;
        if (st == ST_FAILED)
            return -t->error;
        if (st != ST_HANDSHAKE)
            return -ENOTCONN;
        if (rc < 0 && rc != -EAGAIN)
            return rc;
        if (dontwait)
            return -EAGAIN;
        int64_t until = deadline < 0 || (timer >= 0 && timer < deadline) ? timer : deadline;
        rc = zs_wait(s, POLLIN, until);
        if (rc == -EAGAIN && deadline >= 0 && zs_now_ms() >= deadline)
            return -ETIMEDOUT;
        if (rc < 0 && rc != -EAGAIN)
            return rc;
    }
}

static int client_start(struct zs_sock *s, const struct sockaddr *addr, socklen_t len, bool kick)
{
    struct zs_tls *t = s->tls;
    if (connect(s->fd, addr, len) < 0)
        return -errno;
    struct sockaddr_storage peer = {0};
    memcpy(&peer, addr, len < sizeof peer ? len : sizeof peer);
    pthread_mutex_lock(&s->lock);
    int err;
    struct peer *p = new_peer(s, &peer, len, NULL, &err);
    if (p && (err = peer_add(t->d, p)) < 0) {
        peer_free(t->d, p);
        p = NULL;
    }
    if (p) {
        t->state = ST_HANDSHAKE;
        err = kick ? client_kick(s) : 0;
    }
    pthread_mutex_unlock(&s->lock);
    return err;
}

static int zs_dtls_connect(struct zs_sock *s, const struct sockaddr *addr, socklen_t len)
{
    struct zs_tls *t = s->tls;
    if (t->server)
        return -EOPNOTSUPP; /* a server socket answers whoever writes to it */
    if (t->state != ST_IDLE)
        return t->state == ST_FAILED ? -t->error : -EISCONN;
    int rc = client_start(s, addr, len, t->handshake_on_connect || s->nonblock);
    if (rc < 0)
        return rc;
    if (!t->handshake_on_connect)
        return 0; /* the first send()/recv() completes it */
    if (s->nonblock)
        return -EINPROGRESS; /* poll(POLLOUT) says when it is done */
    return client_drive(s, false, zs_deadline(s->sndtimeo_ms));
}

/* The client may send/receive: drive its handshake first. */
static int client_ready(struct zs_sock *s, bool dontwait, struct zs_timeout *tmo)
{
    struct zs_tls *t = s->tls;
    switch (t->state) {
    case ST_OPEN:
        return 0;
    case ST_FAILED:
        return -t->error;
    case ST_HANDSHAKE:
        return client_drive(s, dontwait, zs_timeout_at(tmo));
    default:
        return -ENOTCONN;
    }
}

/* ---- records out -------------------------------------------------------------- */

static ssize_t zs_dtls_sendmsg(struct zs_sock *s, const struct msghdr *msg, int flags)
{
    struct zs_tls *t = s->tls;
    struct zs_dtls *d = t->d;
    bool dontwait = s->nonblock || (flags & MSG_DONTWAIT);
    struct zs_timeout tmo = {.ms = s->sndtimeo_ms};
    if (!t->server && t->state == ST_IDLE && msg->msg_name) {
        /* sendto() on an unconnected client: connect to that peer. */
        int rc = client_start(s, msg->msg_name, msg->msg_namelen, true);
        if (rc < 0)
            return rc;
    }
    if (!t->server) {
        int rc = client_ready(s, dontwait, &tmo);
        if (rc < 0)
            return rc;
    }
    size_t len = zs_iov_len(msg);
    /* One send is one record in one datagram (RFC 9147 §4.4). */
    if (len > ZREC_MAX_PLAINTEXT)
        return -EMSGSIZE;
    pthread_mutex_lock(&s->lock);
    ssize_t rc;
    for (;;) {
        struct peer *p;
        if (!t->server)
            p = d->npeers ? d->peers[0] : NULL;
        else if (msg->msg_name) {
            struct sockaddr_storage to = {0};
            socklen_t tl = msg->msg_namelen < sizeof to ? msg->msg_namelen : sizeof to;
            memcpy(&to, msg->msg_name, tl);
            p = find_by_addr(d, &to, tl);
        } else
            p = d->last;
        if (p == NULL || p->state != P_OPEN) {
            rc = t->server || t->state == ST_OPEN ? -ENOTCONN : -t->error;
            break;
        }
        maintenance(s, p);
        struct zrec_op op = {.sess = p->zs, .data = d->tx + ZREC_MAX_HEADROOM,
                             .len = (uint32_t)len, .headroom = ZREC_MAX_HEADROOM,
                             .tailroom = (uint16_t)(DGRAM_CAP - ZREC_MAX_HEADROOM - len),
                             .content_type = ZREC_CT_APPLICATION_DATA};
        if (msg->msg_iovlen == 1) {
            op.src = msg->msg_iov[0].iov_base; /* sealed from the caller's buffer */
        } else {
            size_t off = 0;
            for (size_t i = 0; i < (size_t)msg->msg_iovlen; i++) {
                memcpy(op.data + off, msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len);
                off += msg->msg_iov[i].iov_len;
            }
        }
        if (zrec_seal_burst(&op, 1) != 1) {
            rc = op.status == -EKEYEXPIRED ? -ECONNABORTED : op.status;
            break;
        }
        ssize_t n = zs_dtls_send_to(p, op.rec, op.rec_len);
        if (n >= 0) {
            rc = (ssize_t)len;
            break;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            rc = -errno;
            break;
        }
        if (dontwait) {
            rc = -EAGAIN;
            break;
        }
        /* The kernel's buffer is full: wait, then seal again (the sealed
         * record's number is simply skipped; DTLS allows gaps). */
        pthread_mutex_unlock(&s->lock);
        int w = zs_wait(s, POLLOUT, zs_timeout_at(&tmo));
        pthread_mutex_lock(&s->lock);
        if (w < 0) {
            rc = w;
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* ---- records in ------------------------------------------------------------------ */

static void put_addr(struct msghdr *msg, const struct peer *p)
{
    if (msg->msg_name == NULL || p == NULL)
        return;
    socklen_t n = p->addrlen < msg->msg_namelen ? p->addrlen : msg->msg_namelen;
    memcpy(msg->msg_name, &p->addr, n);
    msg->msg_namelen = p->addrlen;
}

/* Deliver the pending record: datagram semantics, what does not fit is
 * dropped and flagged (MSG_TRUNC). */
static ssize_t deliver_pending(struct zs_dtls *d, struct msghdr *msg, int flags)
{
    size_t done = zs_pump_copy(d->pend, d->pend_len, msg);
    size_t whole = d->pend_len;
    if (done < whole)
        msg->msg_flags |= MSG_TRUNC;
    put_addr(msg, d->pend_peer);
    if (!(flags & MSG_PEEK)) {
        d->last = d->pend_peer;
        d->pend = NULL;
        d->pend_len = 0;
        d->pend_peer = NULL;
    }
    return (flags & MSG_TRUNC) ? (ssize_t)whole : (ssize_t)done;
}

static ssize_t zs_dtls_recvmsg(struct zs_sock *s, struct msghdr *msg, int flags)
{
    struct zs_tls *t = s->tls;
    struct zs_dtls *d = t->d;
    bool dontwait = s->nonblock || (flags & MSG_DONTWAIT);
    struct zs_timeout tmo = {.ms = s->rcvtimeo_ms};
    if (!t->server) {
        int rc = client_ready(s, dontwait, &tmo);
        if (rc < 0)
            return rc;
    }
    msg->msg_flags = 0;
    size_t want = zs_iov_len(msg);
    ssize_t rc;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        if (d->hs_done_count) {
            int i = d->hs_done_first;
            if (msg->msg_name) {
                socklen_t n = d->hs_done_len[i] < msg->msg_namelen ? d->hs_done_len[i]
                                                                    : msg->msg_namelen;
                memcpy(msg->msg_name, &d->hs_done[i], n);
                msg->msg_namelen = d->hs_done_len[i];
            }
            if (!(flags & MSG_PEEK)) {
                d->hs_done_first = (i + 1) % ZS_DTLS_HS_EVENTS;
                d->hs_done_count--;
            }
            msg->msg_flags |= ZS_MSG_HANDSHAKE;
            rc = 0;
            break;
        }
        if (d->pend_len) {
            rc = deliver_pending(d, msg, flags);
            break;
        }
        if (!t->server && t->state == ST_FAILED) {
            rc = -t->error;
            break;
        }
        if (!t->server && d->closed) {
            rc = 0;
            break;
        }
        /* Decrypt straight into the caller's buffer when it is one piece. */
        bool direct = !(flags & MSG_PEEK) && msg->msg_iovlen == 1;
        struct peer *from = d->rx_peer;
        ssize_t n = open_next(s, direct ? msg->msg_iov[0].iov_base : NULL, direct ? want : 0);
        if (n > 0) {
            put_addr(msg, from);
            rc = n;
            break;
        }
        if (n == 0)
            continue;
        run_timers(s);
        int r = read_datagram(s);
        if (r == 1)
            continue;
        if (r != -EAGAIN) {
            rc = r;
            break;
        }
        if (dontwait) {
            rc = -EAGAIN;
            break;
        }
        int64_t timer = next_timer(d);
        int64_t deadline = zs_timeout_at(&tmo);
        int64_t until = deadline < 0 || (timer >= 0 && timer < deadline) ? timer : deadline;
        pthread_mutex_unlock(&s->lock);
        int w = zs_wait(s, POLLIN, until);
        pthread_mutex_lock(&s->lock);
        if (w == -EAGAIN && deadline >= 0 && zs_now_ms() >= deadline) {
            rc = -EAGAIN;
            break;
        }
        if (w < 0 && w != -EAGAIN) {
            rc = w;
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* ---- poll, ioctl, options ------------------------------------------------------------ */

static bool zs_dtls_poll_passthrough(struct zs_sock *s)
{
    pthread_mutex_lock(&s->lock);
    bool pass = !s->tls->server && s->tls->state == ST_IDLE;
    pthread_mutex_unlock(&s->lock);
    return pass;
}

static short zs_dtls_poll_ready(struct zs_sock *s, short want, short *kev)
{
    struct zs_tls *t = s->tls;
    struct zs_dtls *d = t->d;
    short ready = 0;
    *kev = 0;
    pthread_mutex_lock(&s->lock);
    if (!t->server)
        (void)client_kick(s); /* poll drives the handshake as recv/send do */
    run_timers(s);
    /* Pump: take datagrams (handshakes progress) until data is pending. */
    while (!d->pend_len && !d->hs_done_count && !d->closed && t->state != ST_FAILED) {
        ssize_t n = open_next(s, NULL, 0);
        if (n == 0)
            continue;
        if (read_datagram(s) != 1)
            break;
    }
    if (!t->server && t->state == ST_FAILED) {
        pthread_mutex_unlock(&s->lock);
        return POLLERR;
    }
    bool open = t->server || t->state == ST_OPEN;
    if (want & POLLIN) {
        if (d->pend_len || d->hs_done_count)
            ready |= POLLIN;
        if (d->closed)
            ready |= POLLHUP | POLLIN; /* recv() returns 0 */
    }
    if ((want & POLLOUT) && open)
        ready |= POLLOUT;
    /* Waiting: for datagrams (handshake, data); a handshake's timer is
     * zs_dtls_next_timer()'s. */
    if (!(ready & (POLLIN | POLLHUP)) && ((want & POLLIN) || !open))
        *kev |= POLLIN;
    pthread_mutex_unlock(&s->lock);
    return ready;
}

static int64_t zs_dtls_next_timer(struct zs_sock *s)
{
    pthread_mutex_lock(&s->lock);
    int64_t at = next_timer(s->tls->d);
    pthread_mutex_unlock(&s->lock);
    return at;
}

static int zs_dtls_fionread(struct zs_sock *s, int *avail)
{
    pthread_mutex_lock(&s->lock);
    *avail = (int)s->tls->d->pend_len;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

static int put_bytes(void *val, socklen_t *len, const uint8_t *b, size_t n)
{
    if (len == NULL || (val == NULL && n) || *len < n)
        return -EINVAL;
    if (n) /* memcpy to NULL is undefined even for 0 bytes (fuzz_sockopt) */
        memcpy(val, b, n);
    *len = (socklen_t)n;
    return 0;
}

/* The CID options read the client's session, or on a server the session
 * of the last datagram delivered.  (Called with the lock held.) */
static int dtls_cid_getsockopt(struct zs_sock *s, int name, void *val, socklen_t *len)
{
    struct zs_tls *t = s->tls;
    struct zs_dtls *d = t->d;
    struct peer *p = t->server ? d->last : (d->npeers ? d->peers[0] : NULL);
    bool open = p && p->state == P_OPEN;
    switch (name) {
    case TLS_DTLS_CID_STATUS: {
        if (!open)
            return -ENOTCONN;
        int v = (p->hs.my_cid_len ? TLS_DTLS_CID_STATUS_DOWNLINK : 0) |
                (p->hs.peer_cid_len ? TLS_DTLS_CID_STATUS_UPLINK : 0);
        if (val == NULL || len == NULL || *len < sizeof v)
            return -EINVAL;
        memcpy(val, &v, sizeof v);
        *len = sizeof v;
        return 0;
    }
    case TLS_DTLS_CID_VALUE:
        if (open)
            return put_bytes(val, len, p->hs.my_cid, p->hs.my_cid_len);
        return put_bytes(val, len, t->cid_value, t->cid_value_len > 0 ? (size_t)t->cid_value_len : 0);
    case TLS_DTLS_PEER_CID_VALUE:
        if (!open)
            return -ENOTCONN;
        return put_bytes(val, len, p->hs.peer_cid, p->hs.peer_cid_len);
    default:
        return -ENOPROTOOPT;
    }
}

static int dtls_getsockopt(struct zs_sock *s, int name, void *val, socklen_t *len)
{
    pthread_mutex_lock(&s->lock);
    int rc = zs_tls_conf_get(s->tls, name, val, len);
    if (rc == -ENOPROTOOPT)
        rc = dtls_cid_getsockopt(s, name, val, len);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* A DTLS server socket serves clients after bind(): no listen()/accept(). */
static int dtls_listen(struct zs_sock *s, int backlog)
{
    (void)s, (void)backlog;
    return -EOPNOTSUPP;
}

static int dtls_accept(struct zs_sock *s, struct sockaddr *addr, socklen_t *len)
{
    (void)s, (void)addr, (void)len;
    return -EOPNOTSUPP;
}

static const struct zs_ops dtls_ops = {
    .connect = zs_dtls_connect,
    .listen = dtls_listen,
    .accept = dtls_accept,
    .sendmsg = zs_dtls_sendmsg,
    .recvmsg = zs_dtls_recvmsg,
    .shutdown = zs_dtls_shutdown,
    .destroy = zs_dtls_destroy,
    .setsockopt = zs_tls_setsockopt,
    .getsockopt = dtls_getsockopt,
    .poll_ready = zs_dtls_poll_ready,
    .poll_passthrough = zs_dtls_poll_passthrough,
    .fionread = zs_dtls_fionread,
    .next_timer = zs_dtls_next_timer,
};

/* ---- for the compat layers (zs_dtls.h) ------------------------------------------------------ */

int zs_dtls_adopt(int kernel_fd, int family, int proto)
{
    struct zs_sock *s = zs_register(kernel_fd, family, SOCK_DGRAM, proto);
    if (s == NULL) {
        int e = errno;
        close(kernel_fd);
        return -e;
    }
    int rc = zs_dtls_create(s);
    if (rc < 0) {
        zsock_close(kernel_fd);
        return rc;
    }
    return kernel_fd;
}

void zs_dtls_report_handshakes(int fd, bool on)
{
    struct zs_sock *s = zs_get(fd);
    if (s == NULL)
        return;
    if (s->ops == &dtls_ops) {
        pthread_mutex_lock(&s->lock);
        s->tls->d->report_handshakes = on;
        pthread_mutex_unlock(&s->lock);
    }
    zs_put(s);
}

int zs_dtls_close_peer(int fd, const struct sockaddr *addr, socklen_t len)
{
    struct zs_sock *s = zs_get(fd);
    if (s == NULL)
        return -EBADF;
    int rc = -ENOTCONN;
    if (s->ops == &dtls_ops && len <= sizeof(struct sockaddr_storage)) {
        struct sockaddr_storage a = {0};
        memcpy(&a, addr, len);
        pthread_mutex_lock(&s->lock);
        struct zs_dtls *d = s->tls->d;
        struct peer *p = s->tls->server ? find_by_addr(d, &a, len)
                                        : (d->npeers ? d->peers[0] : NULL);
        if (p) {
            uint8_t buf[64];
            if (p->state == P_OPEN) /* RFC 6347 §4.1.2.7 / RFC 9147 §5.10: close_notify */
                send_control(p,
                             zrec_seal_alert(p->zs, ZREC_ALERT_WARNING,
                                             ZREC_ALERT_CLOSE_NOTIFY, buf, sizeof buf),
                             buf);
            if (s->tls->server)
                peer_free(d, p);
            else
                s->tls->close_sent = true; /* the client's one session: close() frees it */
            rc = 0;
        }
        pthread_mutex_unlock(&s->lock);
    }
    zs_put(s);
    return rc;
}
