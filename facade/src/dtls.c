/*
 * DTLS sockets for the zsock facade: DTLS 1.2 (RFC 6347) and DTLS 1.3
 * (RFC 9147) over one UDP socket.  wolfSSL runs each handshake over
 * datagrams this file hands it; then the records belong to the zrec engine
 * and every send() is one record in one datagram, every recv() one record.
 *
 * A client socket has one peer (the connected address).  A server socket
 * (TLS_DTLS_ROLE_SERVER) serves many peers on one socket: datagrams are
 * demultiplexed by source address, or by the connection ID when one was
 * negotiated (RFC 9147 §9), so a client whose address changes keeps its
 * session.  recvfrom() returns application data from any peer with its
 * address; sendto() seals for that peer's session.
 *
 * Unknown peers cost no state until they prove their address: each
 * ClientHello from an unknown address goes to a fresh wolfSSL object that
 * answers with a cookie (HelloVerifyRequest, RFC 6347 §4.2.1; HelloRetryRequest
 * with a cookie, RFC 9147 §5.1) and is dropped; only the object that answers
 * a ClientHello carrying a valid cookie with a ServerHello becomes a peer.
 * All of a socket's objects share one cookie secret, so the cookie from one
 * object is good for the next.
 *
 * Retransmission (RFC 6347 §4.2.4, RFC 9147 §5.8): during the handshake
 * the timer starts at TLS_DTLS_HANDSHAKE_TIMEOUT_MIN and doubles up to _MAX;
 * when the timer at _MAX expires the handshake fails with ETIMEDOUT.  After
 * the handoff there is no wolfSSL object to retransmit our last flight when
 * the peer shows it missed it (it repeats its own flight), so the flight's
 * datagrams are kept as sent and replayed verbatim: the same bytes under the
 * same record numbers, which the peer accepts once and drops as replays
 * after.  The flight is released once the peer's data or ACK shows it is
 * done.
 *
 * Invalid records (bad MAC, stale epoch, replays, garbage) are dropped
 * silently and the session goes on (RFC 6347 §4.1.2.7, RFC 9147 §4.5.2).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "zs_tls.h"

static const struct zs_ops dtls_ops;

#define DGRAM_CAP (ZREC_MAX_HEADROOM + ZREC_MAX_PLAINTEXT + 256 + ZREC_MAX_TAILROOM)
#define MAX_PEERS 4096         /* default sessions (and handshakes) per server socket */
#define FLIGHT_CAP 8192        /* a last flight is small: CCS + Finished, an ACK */
#define CID_LEN 2              /* wolfSSL 5.5.4's DTLS_CID_MAX_SIZE */
#define REPLAY_GAP_MS 100      /* at most one flight replay per peer per this */
#define KEY_UPDATE_RTX_MS 1000 /* DTLS 1.3 KeyUpdate retransmission (RFC 9147 §5.8) */
#define ADDR_BUCKETS 1024      /* a server's sessions by address: one lookup a datagram */

enum peer_state { P_HANDSHAKE, P_OPEN };

struct peer {
    struct zs_sock *sock;
    struct peer *addr_next; /* the bucket chain of zs_dtls.by_addr */
    bool in_table;          /* peer_add()ed */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    enum peer_state state;
    WOLFSSL *ssl;
    struct zrec_wolfssl_capture *cap;
    struct zrec_session *zs;
    /* Handshake: the datagram offered to wolfSSL and what the step did. */
    const uint8_t *in;
    size_t in_len;
    bool progress;     /* wolfSSL read a datagram with something new (handshake_progress()) */
    bool classified;   /* this step's first datagram out was looked at */
    bool mute;         /* drop what wolfSSL sends in this step */
    int peer_epoch;    /* the highest epoch seen from the peer, -1: none */
    int peer_msg_seq;  /* the highest plaintext message_seq seen, -1: none */
    int sent_msg_seq;  /* the highest plaintext message_seq we sent, -1: none */
    uint64_t next_seq0; /* the next record number of our epoch 0 */
    bool protected_out; /* we sent a record under keys (our epoch moved on) */
    bool alerted;       /* wolfSSL sent an alert in this step */
    int64_t answer_at; /* no answer to a repeated flight before this */
    bool sent;         /* wolfSSL sent something */
    bool server_hello; /* it sent a ServerHello (not just a cookie request) */
    bool refused;      /* the kernel reported ECONNREFUSED (ICMP) */
    bool rtx;          /* wolfSSL is retransmitting: not a new flight */
    bool started;      /* the first step (a client's ClientHello) ran */
    uint8_t held_alert[32]; /* a fatal alert held until the step's outcome */
    size_t held_len;
    uint32_t rtx_ms;   /* current retransmission timeout */
    int64_t rtx_at;    /* when it expires */
    /* Our last flight as sent: [u16 length][datagram]… */
    uint8_t *flight;
    size_t flight_len;
    bool flight_over; /* the peer answered: the next send starts a new flight */
    bool flight_lost; /* too big to keep */
    int64_t replay_at;
    int64_t key_update_at;
    int64_t active; /* when the peer last sent an authentic record */
    uint8_t my_cid[CID_LEN], peer_cid[CID_LEN];
    uint8_t my_cid_len, peer_cid_len;
};

struct zs_dtls {
    struct peer **peers; /* sessions and handshakes past the cookie exchange */
    int npeers;
    int max_peers; /* MAX_PEERS, or ZREC_DTLS_MAX_PEERS from the environment */
    int handshakes; /* peers of the table still in their handshake (timers) */
    struct peer **by_addr; /* ADDR_BUCKETS chains, made with the first peer */
    struct peer *last; /* the peer of the last record delivered (send()) */
    uint8_t cookie_secret[32];
    bool closed; /* client: close_notify received */
    /* The datagram being opened: rx[rx_off .. rx_off + rx_len) of rx_peer,
     * which came from rx_from. */
    uint8_t *rx;
    size_t rx_off, rx_len;
    struct peer *rx_peer;
    struct sockaddr_storage rx_from;
    socklen_t rx_fromlen;
    /* Application data opened but not yet delivered (MSG_PEEK, poll). */
    uint8_t *pend;
    size_t pend_len;
    struct peer *pend_peer;
    uint8_t *tx;
};

static bool same_addr(const struct peer *p, const struct sockaddr_storage *a, socklen_t len)
{
    return p->addrlen == len && memcmp(&p->addr, a, len) == 0;
}

/* ---- datagram I/O for wolfSSL -------------------------------------------- */

/* The HelloRetryRequest's special Random (RFC 8446 §4.1.3). */
static const uint8_t hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

/* DTLSPlaintext header (13 bytes) then the handshake header (12 bytes:
 * msg_type at 13); ServerHello's body starts with version (2) and random. */
static bool is_server_hello(const uint8_t *b, size_t n)
{
    return n >= 25 + 34 && b[0] == ZREC_CT_HANDSHAKE && b[13] == 2 &&
           memcmp(b + 27, hrr_random, sizeof hrr_random) != 0;
}

static bool is_client_hello(const uint8_t *b, size_t n)
{
    return n >= 25 && b[0] == ZREC_CT_HANDSHAKE && b[1] == 0xfe && b[3] == 0 && b[4] == 0 &&
           b[13] == 1;
}

/* The header of the next DTLS record in a datagram. */
struct rec_hdr {
    bool plain;    /* DTLSPlaintext (RFC 6347 §4.1), else a DTLS 1.3 unified header */
    uint8_t type;  /* plain: the content type */
    int epoch;     /* unified header: the epoch's low two bits (RFC 9147 §4) */
    uint64_t seq;  /* plain: the record number */
    int msg_seq;   /* plain handshake record: its first message_seq, else -1 */
};

/* Parse the record at *b (*n bytes left) and step past it; false when
 * nothing (or only a cut header) is left.  During the handshake no CID is
 * in use, so a unified header's length is known without one. */
static bool next_record(const uint8_t **b, size_t *n, struct rec_hdr *h)
{
    const uint8_t *r = *b;
    size_t len;
    *h = (struct rec_hdr){.msg_seq = -1};
    if (*n > 0 && (r[0] & 0xe0) == 0x20) {
        h->epoch = r[0] & 3;
        size_t hdr = 1 + ((r[0] & 0x08) ? 2 : 1);
        if (!(r[0] & 0x04))
            len = *n; /* no length: the record runs to the datagram's end */
        else if (*n >= hdr + 2)
            len = hdr + 2 + ((size_t)r[hdr] << 8 | r[hdr + 1]);
        else
            return false;
    } else if (*n >= 13) {
        h->plain = true;
        h->type = r[0];
        h->epoch = r[3] << 8 | r[4];
        for (int i = 5; i < 11; i++)
            h->seq = h->seq << 8 | r[i];
        if (r[0] == ZREC_CT_HANDSHAKE && *n >= 25)
            h->msg_seq = r[17] << 8 | r[18];
        len = 13 + ((size_t)r[11] << 8 | r[12]);
    } else {
        return false;
    }
    if (len > *n)
        len = *n;
    *b += len;
    *n -= len;
    return true;
}

/* Did this datagram move the peer's side of the handshake forward: a record
 * of a later epoch, or a plaintext handshake message with a higher
 * message_seq (RFC 6347 §4.2.2, RFC 9147 §5.2) than any before?  If not, it
 * is the peer repeating a flight. */
static bool handshake_progress(struct peer *p, const uint8_t *b, size_t n)
{
    bool moved = false;
    struct rec_hdr h;
    while (next_record(&b, &n, &h)) {
        if (h.epoch > p->peer_epoch) {
            p->peer_epoch = h.epoch;
            moved = true;
        }
        if (h.plain && h.epoch == 0 && h.msg_seq > p->peer_msg_seq) {
            p->peer_msg_seq = h.msg_seq;
            moved = true;
        }
    }
    return moved;
}

static int dio_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    (void)ssl;
    struct peer *p = ctx;
    if (p->in == NULL)
        return WOLFSSL_CBIO_ERR_WANT_READ;
    if (handshake_progress(p, p->in, p->in_len))
        p->progress = true;
    /* A datagram larger than wolfSSL's buffer is cut: its records then fail
     * and are dropped as any invalid record is. */
    size_t n = p->in_len < (size_t)sz ? p->in_len : (size_t)sz;
    memcpy(buf, p->in, n);
    p->in = NULL;
    p->flight_over = true;
    return (int)n;
}

static void flight_add(struct peer *p, const uint8_t *buf, size_t n)
{
    if (p->flight_over) {
        p->flight_len = 0;
        p->flight_over = false;
        p->flight_lost = false;
    }
    if (p->flight_lost)
        return;
    if (p->flight == NULL)
        p->flight = malloc(FLIGHT_CAP);
    if (p->flight == NULL || p->flight_len + 2 + n > FLIGHT_CAP) {
        p->flight_lost = true; /* only a final flight is ever replayed */
        return;
    }
    p->flight[p->flight_len] = (uint8_t)(n >> 8);
    p->flight[p->flight_len + 1] = (uint8_t)n;
    memcpy(p->flight + p->flight_len + 2, buf, n);
    p->flight_len += 2 + n;
}

static ssize_t send_to_peer(struct peer *p, const void *buf, size_t n)
{
    struct zs_sock *s = p->sock;
    bool server = s->tls->server;
    return sendto(s->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL,
                  server ? (const struct sockaddr *)&p->addr : NULL, server ? p->addrlen : 0);
}

/* Note what wolfSSL sends in a handshake step: the epoch-0 record numbers
 * (for alert_failed_handshake()), whether an alert or anything under keys
 * went out, and the highest message_seq.  Returns whether the datagram
 * repeats a flight sent before: its first record is a plaintext handshake
 * message we already sent (message_seq, RFC 6347 §4.2.2). */
static bool note_sent(struct peer *p, const uint8_t *b, size_t n)
{
    bool repeat = false, first = true;
    struct rec_hdr h;
    while (next_record(&b, &n, &h)) {
        if (!h.plain || h.epoch != 0) {
            p->protected_out = true; /* DTLS 1.3 unified header, or epoch > 0 */
            first = false;
            continue;
        }
        if (h.seq >= p->next_seq0)
            p->next_seq0 = h.seq + 1;
        if (h.type == ZREC_CT_ALERT)
            p->alerted = true;
        if (h.type == ZREC_CT_CHANGE_CIPHER_SPEC)
            p->protected_out = true; /* what follows is under the new keys */
        if (h.type == ZREC_CT_HANDSHAKE) {
            if (first && h.msg_seq <= p->sent_msg_seq)
                repeat = true;
            if (h.msg_seq > p->sent_msg_seq)
                p->sent_msg_seq = h.msg_seq;
        }
        first = false;
    }
    return repeat;
}

/* The handshake failed and wolfSSL said nothing: wolfSSL 5.5.4 fails a
 * DTLS 1.2 server handshake without a client certificate (NO_PEER_CERT)
 * silently, and over UDP the client would wait for its timer to run out.
 * Send handshake_failure (RFC 5246 §7.4.6) as wolfSSL would over TCP: a
 * plaintext alert in epoch 0, with the next record number of that epoch,
 * as long as nothing went out under keys yet. */
static void alert_failed_handshake(struct peer *p)
{
    if (p->alerted || p->protected_out)
        return;
    uint8_t a[15] = {ZREC_CT_ALERT, 0xfe, 0xfd, 0, 0};
    for (int i = 0; i < 6; i++)
        a[5 + i] = (uint8_t)(p->next_seq0 >> (8 * (5 - i)));
    a[12] = 2;
    a[13] = ZREC_ALERT_FATAL;
    a[14] = 40; /* handshake_failure */
    (void)send_to_peer(p, a, sizeof a);
}

/* A plaintext fatal alert (DTLSPlaintext, epoch 0) during the handshake. */
static bool is_plain_fatal_alert(const uint8_t *b, size_t n)
{
    return n >= 15 && b[0] == ZREC_CT_ALERT && b[3] == 0 && b[4] == 0 && b[13] == ZREC_ALERT_FATAL;
}

static int dio_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    (void)ssl;
    struct peer *p = ctx;
    const uint8_t *b = (const uint8_t *)buf;
    if (p->state == P_HANDSHAKE && is_plain_fatal_alert(b, (size_t)sz) &&
        (size_t)sz <= sizeof p->held_alert) {
        /* wolfSSL 5.5.4 (WOLFSSL_EXTRA_ALERTS) sends a fatal
         * unexpected_message when a DTLS 1.2 ChangeCipherSpec overtakes a
         * lost ClientKeyExchange, then ignores the CCS and goes on, as RFC
         * 6347 §4.1 wants; the peer would abort.  peer_step() sends the
         * alert only if the handshake really failed. */
        memcpy(p->held_alert, b, (size_t)sz);
        p->held_len = (size_t)sz;
        return sz;
    }
    bool first_of_step = !p->rtx && !p->classified;
    if (!p->rtx)
        p->classified = true;
    if (note_sent(p, b, (size_t)sz) && first_of_step) {
        /* The peer repeated its flight and wolfSSL answers with ours at once
         * (RFC 6347 §4.2.4).  When both ends do that over a flight that
         * cannot complete (a wrong PSK: the Finished never verifies) they
         * bounce retransmissions at wire speed: answer at most once per
         * retransmission timeout. */
        int64_t now = zs_now_ms();
        p->mute = now < p->answer_at;
        if (!p->mute)
            p->answer_at = now + p->rtx_ms;
    }
    if (p->mute)
        return sz;
    if (is_server_hello(b, (size_t)sz))
        p->server_hello = true;
    if (!p->rtx)
        flight_add(p, b, (size_t)sz);
    ssize_t n = send_to_peer(p, buf, (size_t)sz);
    if (n >= 0) {
        p->sent = true;
        return (int)n;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return WOLFSSL_CBIO_ERR_WANT_WRITE;
    if (errno == EINTR)
        return WOLFSSL_CBIO_ERR_ISR;
    if (errno == ECONNREFUSED) {
        p->refused = true;
        return WOLFSSL_CBIO_ERR_CONN_RST;
    }
    return WOLFSSL_CBIO_ERR_GENERAL;
}

/* ---- peers ---------------------------------------------------------------- */

/* FNV-1a over the address bytes (sockaddr_in/in6 as the kernel gave them). */
static struct peer **addr_bucket(struct zs_dtls *d, const struct sockaddr_storage *a,
                                 socklen_t len)
{
    uint32_t h = 2166136261u;
    for (socklen_t i = 0; i < len; i++)
        h = (h ^ ((const uint8_t *)a)[i]) * 16777619u;
    return &d->by_addr[h % ADDR_BUCKETS];
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

static void peer_free(struct zs_dtls *d, struct peer *p)
{
    if (p == NULL)
        return;
    if (p->in_table) {
        for (int i = 0; i < d->npeers; i++)
            if (d->peers[i] == p) {
                d->peers[i] = d->peers[--d->npeers];
                break;
            }
        addr_unlink(d, p);
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
    if (p->ssl)
        wolfSSL_free(p->ssl);
    zrec_wolfssl_capture_free(p->cap);
    zrec_session_free(p->zs);
    free(p->flight);
    free(p);
}

static int peer_add(struct zs_dtls *d, struct peer *p)
{
    if (d->npeers >= d->max_peers)
        return -ENOBUFS;
    if (d->by_addr == NULL && (d->by_addr = calloc(ADDR_BUCKETS, sizeof *d->by_addr)) == NULL)
        return -ENOMEM;
    if (d->npeers % 64 == 0) {
        struct peer **n = realloc(d->peers, (size_t)(d->npeers + 64) * sizeof *n);
        if (n == NULL)
            return -ENOMEM;
        d->peers = n;
    }
    d->peers[d->npeers++] = p;
    addr_link(d, p);
    p->in_table = true;
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

/* DTLS 1.3 unified header (RFC 9147 §4): 001CSLEE, the CID right after the
 * first byte when C is set.  Our server gives every peer a CID_LEN CID. */
static struct peer *find_by_cid(struct zs_dtls *d, const uint8_t *b, size_t n)
{
    if (n < 1 + CID_LEN || (b[0] & 0xe0) != 0x20 || !(b[0] & 0x10))
        return NULL;
    for (int i = 0; i < d->npeers; i++) {
        struct peer *p = d->peers[i];
        if (p->state == P_OPEN && p->my_cid_len == CID_LEN &&
            memcmp(p->my_cid, b + 1, CID_LEN) == 0)
            return p;
    }
    return NULL;
}

static bool cid_in_use(struct zs_dtls *d, const uint8_t *cid)
{
    for (int i = 0; i < d->npeers; i++)
        if (d->peers[i]->my_cid_len == CID_LEN && memcmp(d->peers[i]->my_cid, cid, CID_LEN) == 0)
            return true;
    return false;
}

/* A wolfSSL object for a handshake with addr. */
static struct peer *peer_new(struct zs_sock *s, const struct sockaddr_storage *addr,
                             socklen_t addrlen, int *err)
{
    struct zs_tls *t = s->tls;
    struct zs_dtls *d = t->d;
    *err = zs_tls_make_ctx(t);
    if (*err < 0)
        return NULL;
    wolfSSL_CTX_SetIORecv(t->ctx, dio_recv);
    wolfSSL_CTX_SetIOSend(t->ctx, dio_send);
    struct peer *p = calloc(1, sizeof *p);
    *err = -ENOMEM;
    if (p == NULL)
        return NULL;
    p->sock = s;
    p->peer_epoch = p->peer_msg_seq = p->sent_msg_seq = -1;
    memcpy(&p->addr, addr, addrlen);
    p->addrlen = addrlen;
    p->state = P_HANDSHAKE;
    p->ssl = wolfSSL_new(t->ctx);
    if (p->ssl == NULL)
        goto fail;
    wolfSSL_SetIOReadCtx(p->ssl, p);
    wolfSSL_SetIOWriteCtx(p->ssl, p);
    wolfSSL_dtls_set_using_nonblock(p->ssl, 1);
    /* Our timer (milliseconds, TLS_DTLS_HANDSHAKE_TIMEOUT_*) decides when
     * the handshake gives up; wolfSSL's own limit (whole seconds) must not
     * come first. */
    (void)wolfSSL_dtls_set_timeout_max(p->ssl, 1 << 20);
    *err = -EINVAL;
    if (t->server) {
        /* The cookie binds the ClientHello to its source address. */
        if (wolfSSL_dtls_set_peer(p->ssl, &p->addr, p->addrlen) != WOLFSSL_SUCCESS)
            goto fail;
        int rc = t->version == 0x0304
                     ? wolfSSL_send_hrr_cookie(p->ssl, d->cookie_secret, sizeof d->cookie_secret)
                     : wolfSSL_DTLS_SetCookieSecret(p->ssl, d->cookie_secret,
                                                    sizeof d->cookie_secret);
        if (rc != WOLFSSL_SUCCESS && rc != 0)
            goto fail;
    }
    *err = zs_tls_config_ssl(s, p->ssl);
    if (*err < 0)
        goto fail;
    if (t->dtls_cid != TLS_DTLS_CID_DISABLED) {
        *err = -EINVAL;
        if (wolfSSL_dtls_cid_use(p->ssl) != WOLFSSL_SUCCESS)
            goto fail;
        if (t->dtls_cid == TLS_DTLS_CID_ENABLED) {
            /* ENABLED: we ask the peer to send us this CID; SUPPORTED: we
             * only send the peer's (an empty CID of ours, RFC 9146 §3). */
            if (!t->server && t->cid_value_len >= 0) {
                memcpy(p->my_cid, t->cid_value, (size_t)t->cid_value_len);
                p->my_cid_len = (uint8_t)t->cid_value_len;
            } else {
                do {
                    if (getrandom(p->my_cid, CID_LEN, 0) != CID_LEN)
                        goto fail;
                } while (t->server && cid_in_use(d, p->my_cid));
                p->my_cid_len = CID_LEN;
            }
            if (p->my_cid_len &&
                wolfSSL_dtls_cid_set(p->ssl, p->my_cid, p->my_cid_len) != WOLFSSL_SUCCESS)
                goto fail;
        }
    }
    *err = -ENOMEM;
    p->cap = zrec_wolfssl_prepare(p->ssl);
    if (p->cap == NULL)
        goto fail;
    p->rtx_ms = t->hs_timeout_min;
    p->rtx_at = zs_now_ms() + p->rtx_ms;
    *err = 0;
    return p;
fail:
    if (p->ssl)
        wolfSSL_free(p->ssl);
    free(p);
    return NULL;
}

/* The peer repeats its flight, so it missed our last one: send it again. */
static void replay_flight(struct peer *p, bool timer)
{
    int64_t now = zs_now_ms();
    if (p->flight_len == 0 || p->flight_lost || (!timer && now < p->replay_at))
        return;
    p->replay_at = now + REPLAY_GAP_MS;
    for (size_t off = 0; off + 2 <= p->flight_len;) {
        size_t n = (size_t)p->flight[off] << 8 | p->flight[off + 1];
        (void)send_to_peer(p, p->flight + off + 2, n);
        off += 2 + n;
    }
}

static void release_flight(struct peer *p)
{
    free(p->flight);
    p->flight = NULL;
    p->flight_len = 0;
}

/* The handoff: keys and sequence numbers into the engine, wolfSSL gone. */
static int peer_handoff(struct zs_sock *s, struct peer *p)
{
    struct zs_tls *t = s->tls;
    zs_tls_handshake_done(s, p->ssl);
    unsigned int n = 0;
    p->my_cid_len = p->peer_cid_len = 0;
    if (wolfSSL_dtls_cid_get_rx_size(p->ssl, &n) == WOLFSSL_SUCCESS && n && n <= CID_LEN &&
        wolfSSL_dtls_cid_get_rx(p->ssl, p->my_cid, n) == WOLFSSL_SUCCESS)
        p->my_cid_len = (uint8_t)n;
    if (wolfSSL_dtls_cid_get_tx_size(p->ssl, &n) == WOLFSSL_SUCCESS && n && n <= CID_LEN &&
        wolfSSL_dtls_cid_get_tx(p->ssl, p->peer_cid, n) == WOLFSSL_SUCCESS)
        p->peer_cid_len = (uint8_t)n;
    int err = 0;
    p->zs = zrec_wolfssl_import(p->ssl, p->cap, NULL, &err);
    p->cap = NULL;
    wolfSSL_free(p->ssl);
    p->ssl = NULL;
    if (p->zs == NULL)
        return err == -ENOTSUP ? -EPROTONOSUPPORT : -ECONNABORTED;
    p->state = P_OPEN;
    if (p->in_table)
        t->d->handshakes--;
    p->active = zs_now_ms();
    /* Our last flight is kept for replays only if it was the last word:
     * when the peer's flight came after it, the peer has it. */
    if (p->flight_over)
        release_flight(p);
    if (!t->server)
        t->state = ST_OPEN;
    else if (t->state == ST_IDLE)
        t->state = ST_OPEN; /* getsockopt() reports the latest handshake */
    return 0;
}

/* One non-blocking handshake step: 0 done, -EAGAIN, or the handshake
 * failed (-ECONNABORTED; -ECONNREFUSED when ICMP said no one listens). */
static int peer_step(struct zs_sock *s, struct peer *p)
{
    struct zs_tls *t = s->tls;
    p->sent = p->progress = p->mute = p->classified = p->alerted = false;
    p->held_len = 0;
    p->started = true;
    int rc = t->server ? wolfSSL_accept(p->ssl) : wolfSSL_connect(p->ssl);
    p->in = NULL; /* a datagram wolfSSL did not ask for is dropped */
    if (rc == WOLFSSL_SUCCESS)
        return peer_handoff(s, p);
    int e = wolfSSL_get_error(p->ssl, rc);
    if (e != WOLFSSL_ERROR_WANT_READ && e != WOLFSSL_ERROR_WANT_WRITE) {
        if (p->held_len) {
            (void)send_to_peer(p, p->held_alert, p->held_len);
            p->alerted = true;
        }
        alert_failed_handshake(p);
    }
    if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE) {
        if (p->progress && p->sent) {
            /* The peer's flight got our next one: a new timer (RFC 6347
             * §4.2.4.1, the timer restarts at its initial value). */
            p->rtx_ms = t->hs_timeout_min;
            p->rtx_at = zs_now_ms() + p->rtx_ms;
        }
        return -EAGAIN;
    }
    if (!t->server)
        zs_tls_verify_done(t);
    return p->refused ? -ECONNREFUSED : -ECONNABORTED;
}

/* The retransmission timer of a handshake expired. */
static int peer_timeout(struct zs_sock *s, struct peer *p)
{
    struct zs_tls *t = s->tls;
    if (p->rtx_ms >= t->hs_timeout_max)
        return -ETIMEDOUT;
    p->sent = p->mute = false;
    p->rtx = true;
    int rc = wolfSSL_dtls_got_timeout(p->ssl);
    p->rtx = false;
    if (rc != WOLFSSL_SUCCESS && wolfSSL_get_error(p->ssl, 0) != WOLFSSL_ERROR_WANT_WRITE)
        return p->refused ? -ECONNREFUSED : -ECONNABORTED;
    if (!p->sent)
        /* wolfSSL 5.5.4 retransmits a DTLS 1.3 flight at most once per
         * second (DTLS13_MIN_RTX_INTERVAL, in whole seconds): resend the
         * flight as it went out, so TLS_DTLS_HANDSHAKE_TIMEOUT_MIN below a
         * second still means what it says.  Identical records are harmless:
         * a peer that has them drops them as duplicates. */
        replay_flight(p, true);
    uint64_t next = (uint64_t)p->rtx_ms * 2;
    p->rtx_ms = next > t->hs_timeout_max ? t->hs_timeout_max : (uint32_t)next;
    p->rtx_at = zs_now_ms() + p->rtx_ms;
    return 0;
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
        if (p->state != P_HANDSHAKE || p->rtx_at > now)
            continue;
        int rc = peer_timeout(s, p);
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
        if (d->peers[i]->state == P_HANDSHAKE && (at < 0 || d->peers[i]->rtx_at < at))
            at = d->peers[i]->rtx_at;
    return at;
}

/* ---- datagrams in --------------------------------------------------------- */

static void handshake_input(struct zs_sock *s, struct peer *p, const uint8_t *buf, size_t n)
{
    struct zs_tls *t = s->tls;
    p->in = buf;
    p->in_len = n;
    int rc = peer_step(s, p);
    if (rc == 0 || rc == -EAGAIN)
        return;
    if (!t->server)
        client_fail(t, -rc);
    peer_free(t->d, p);
}

/* A ClientHello from an address with no handshake in progress: a fresh
 * object answers it; it stays only if it got past the cookie exchange. */
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

static void server_hello(struct zs_sock *s, struct peer *old, const uint8_t *buf, size_t n)
{
    struct zs_dtls *d = s->tls->d;
    int err;
    struct peer *p = peer_new(s, &d->rx_from, d->rx_fromlen, &err);
    if (p == NULL)
        return;
    p->in = buf;
    p->in_len = n;
    int rc = peer_step(s, p);
    if ((rc == -EAGAIN || rc == 0) && p->server_hello && d->npeers >= d->max_peers && old == NULL)
        (void)evict_one(d);
    if ((rc == -EAGAIN || rc == 0) && p->server_hello && peer_add(d, p) == 0) {
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
    if (t->server && is_client_hello(buf, (size_t)n)) {
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
        (void)send_to_peer(p, rec, (size_t)len);
}

/* Owed post-handshake work (DTLS 1.3): ACKs of KeyUpdate / NewSessionTicket
 * (RFC 9147 §7), our KeyUpdate when asked or near the key's limit (§8),
 * retransmitted until the peer's ACK switches the key. */
static void maintenance(struct zs_sock *s, struct peer *p)
{
    struct zs_dtls *d = s->tls->d;
    if (p->state != P_OPEN || zrec_session_proto(p->zs) != ZREC_DTLS13)
        return;
    unsigned ev = zrec_session_events(p->zs);
    uint8_t buf[256];
    if (ev & ZREC_EV_ACK_OWED)
        send_control(p, zrec_seal_ack(p->zs, buf, sizeof buf), buf);
    int64_t now = zs_now_ms();
    if ((ev & (ZREC_EV_KEY_UPDATE_OWED | ZREC_EV_REKEY_DUE)) && now >= p->key_update_at) {
        p->key_update_at = now + KEY_UPDATE_RTX_MS;
        send_control(p, zrec_seal_key_update(p->zs, false, d->tx, DGRAM_CAP), d->tx);
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
            replay_flight(p, false);
        d->rx_len = 0;
        return 0;
    }
    d->rx_off += (size_t)need;
    d->rx_len -= (size_t)need;
    struct zrec_op op = {.sess = p->zs, .data = rec, .len = (uint32_t)need};
    if (into) {
        op.dst = into;
        op.dst_cap = (uint32_t)cap;
    }
    zrec_open_burst(&op, 1);
    if (op.status == -ENOBUFS) { /* larger than the caller's buffer: in place */
        op.dst = NULL;
        zrec_open_burst(&op, 1);
    }
    if (op.status < 0) {
        /* Dropped.  A record of an earlier epoch is the peer repeating its
         * handshake flight: it missed our last one. */
        if (op.status == -ESTALE)
            replay_flight(p, false);
        return 0;
    }
    p->active = zs_now_ms();
    /* Authenticated: a peer found by its CID may have a new address
     * (RFC 9146 §6, RFC 9147 §9). */
    if (s->tls->server && !same_addr(p, &d->rx_from, d->rx_fromlen)) {
        addr_unlink(d, p);
        memcpy(&p->addr, &d->rx_from, d->rx_fromlen);
        p->addrlen = d->rx_fromlen;
        addr_link(d, p);
    }
    unsigned ev = zrec_session_events(p->zs);
    maintenance(s, p);
    switch (op.content_type) {
    case ZREC_CT_APPLICATION_DATA:
        /* The peer sends data only once it finished: our flight arrived. */
        if (p->flight)
            release_flight(p);
        if (op.rec_len == 0)
            return 0;
        d->last = p;
        if (op.dst)
            return op.rec_len;
        d->pend = op.rec;
        d->pend_len = op.rec_len;
        d->pend_peer = p;
        return 0;
    case ZREC_CT_ALERT:
        if (ev & ZREC_EV_PEER_CLOSED)
            peer_gone(s, p, true);
        else if (ev & ZREC_EV_PEER_ALERT)
            peer_gone(s, p, false);
        return 0;
    case ZREC_CT_ACK:
        if (p->flight)
            release_flight(p);
        return 0;
    default:
        /* A DTLS 1.3 NewSessionTicket: resumption for the next connection
         * (RFC 8446 §4.6.1). */
        if ((ev & ZREC_EV_NEW_SESSION_TICKET) && !s->tls->server &&
            s->tls->session_cache == TLS_SESSION_CACHE_ENABLED)
            zs_tls_cache_store(s->fd, zrec_wolfssl_get1_session(p->zs));
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
    if (d->rx == NULL || d->tx == NULL ||
        getrandom(d->cookie_secret, sizeof d->cookie_secret, 0) != sizeof d->cookie_secret)
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
    if (p == NULL || p->started || p->state != P_HANDSHAKE)
        return 0;
    p->rtx_at = zs_now_ms() + p->rtx_ms; /* the timer runs from now */
    int rc = peer_step(s, p);
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
    struct peer *p = peer_new(s, &peer, len, &err);
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
static int client_ready(struct zs_sock *s, bool dontwait, int64_t deadline)
{
    struct zs_tls *t = s->tls;
    switch (t->state) {
    case ST_OPEN:
        return 0;
    case ST_FAILED:
        return -t->error;
    case ST_HANDSHAKE:
        return client_drive(s, dontwait, deadline);
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
    int64_t deadline = zs_deadline(s->sndtimeo_ms);
    if (!t->server && t->state == ST_IDLE && msg->msg_name) {
        /* sendto() on an unconnected client: connect to that peer. */
        int rc = client_start(s, msg->msg_name, msg->msg_namelen, true);
        if (rc < 0)
            return rc;
    }
    if (!t->server) {
        int rc = client_ready(s, dontwait, deadline);
        if (rc < 0)
            return rc;
    }
    size_t len = 0;
    for (size_t i = 0; i < (size_t)msg->msg_iovlen; i++)
        len += msg->msg_iov[i].iov_len;
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
        ssize_t n = send_to_peer(p, op.rec, op.rec_len);
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
        int w = zs_wait(s, POLLOUT, deadline);
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
    size_t done = 0;
    for (size_t i = 0; i < (size_t)msg->msg_iovlen && done < d->pend_len; i++) {
        size_t n = msg->msg_iov[i].iov_len;
        if (n > d->pend_len - done)
            n = d->pend_len - done;
        memcpy(msg->msg_iov[i].iov_base, d->pend + done, n);
        done += n;
    }
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
    int64_t deadline = zs_deadline(s->rcvtimeo_ms);
    if (!t->server) {
        int rc = client_ready(s, dontwait, deadline);
        if (rc < 0)
            return rc;
    }
    msg->msg_flags = 0;
    size_t want = 0;
    for (size_t i = 0; i < (size_t)msg->msg_iovlen; i++)
        want += msg->msg_iov[i].iov_len;
    ssize_t rc;
    pthread_mutex_lock(&s->lock);
    for (;;) {
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
    while (!d->pend_len && !d->closed && t->state != ST_FAILED) {
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
        if (d->pend_len)
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
        int v = (p->my_cid_len ? TLS_DTLS_CID_STATUS_DOWNLINK : 0) |
                (p->peer_cid_len ? TLS_DTLS_CID_STATUS_UPLINK : 0);
        if (val == NULL || len == NULL || *len < sizeof v)
            return -EINVAL;
        memcpy(val, &v, sizeof v);
        *len = sizeof v;
        return 0;
    }
    case TLS_DTLS_CID_VALUE:
        if (open)
            return put_bytes(val, len, p->my_cid, p->my_cid_len);
        return put_bytes(val, len, t->cid_value, t->cid_value_len > 0 ? (size_t)t->cid_value_len : 0);
    case TLS_DTLS_PEER_CID_VALUE:
        if (!open)
            return -ENOTCONN;
        return put_bytes(val, len, p->peer_cid, p->peer_cid_len);
    default:
        return -ENOPROTOOPT;
    }
}

static int dtls_setsockopt(struct zs_sock *s, int name, const void *val, socklen_t len)
{
    pthread_mutex_lock(&s->lock);
    int rc = zs_tls_conf_set(s->tls, name, val, len);
    pthread_mutex_unlock(&s->lock);
    return rc;
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
    .setsockopt = dtls_setsockopt,
    .getsockopt = dtls_getsockopt,
    .poll_ready = zs_dtls_poll_ready,
    .poll_passthrough = zs_dtls_poll_passthrough,
    .fionread = zs_dtls_fionread,
    .next_timer = zs_dtls_next_timer,
};
