/*
 * The DTLS handshake driver (docs/FACADE.md): one wolfSSL object per
 * handshake, fed the datagrams dtls_socket.c routes to it, until the
 * handoff to the engine.
 *
 * Unknown peers cost no state until they prove their address: each
 * ClientHello from an unknown address goes to a fresh wolfSSL object that
 * answers with a cookie (HelloVerifyRequest, RFC 6347 §4.2.1;
 * HelloRetryRequest with a cookie, RFC 9147 §5.1) and is dropped; only the
 * object that answers a ClientHello carrying a valid cookie with a
 * ServerHello becomes a peer.  All of a socket's objects share one cookie
 * secret, so the cookie from one object is good for the next.
 *
 * Retransmission (RFC 6347 §4.2.4, RFC 9147 §5.8): during the handshake
 * the timer starts at TLS_DTLS_HANDSHAKE_TIMEOUT_MIN and doubles up to _MAX;
 * when the timer at _MAX expires the handshake fails with ETIMEDOUT.  After
 * the handoff there is no wolfSSL object to retransmit our last flight when
 * the peer shows it missed it (it repeats its own flight), so the flight's
 * datagrams are kept as sent and replayed verbatim: the same bytes under the
 * same record numbers, which the peer accepts once and drops as replays
 * after.  The flight is released once the peer's data or ACK shows it is
 * done.  The wolfSSL 5.5.4 workarounds live here too, each where it acts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "zs_dtls.h"

#define FLIGHT_CAP 8192        /* a last flight is small: CCS + Finished, an ACK */
#define REPLAY_GAP_MS 100      /* at most one flight replay per peer per this */

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

/* A plaintext ClientHello (handshake msg_type 1 at 13, after the 13-byte
 * DTLSPlaintext header), epoch 0: the start of a handshake. */
bool zs_dhs_is_client_hello(const uint8_t *b, size_t n)
{
    /* Every datagram to a server is asked this: settle the common case (a
     * session's record, never a plaintext handshake) from two bytes. */
    if (n < 25 || b[0] != ZREC_CT_HANDSHAKE || b[13] != 1)
        return false;
    struct zrec_record_info info;
    return zrec_record_peek(b, n, ZREC_PEEK_DTLS, 0, &info) > 0 && !info.unified &&
           info.epoch == 0;
}

/* The header of the next DTLS record in a datagram. */
struct rec_hdr {
    bool plain;    /* DTLSPlaintext (RFC 6347 §4.1), else a DTLS 1.3 unified header */
    uint8_t type;  /* plain: the content type */
    int epoch;     /* unified header: the epoch's low two bits (RFC 9147 §4) */
    uint64_t seq;  /* plain: the record number */
    int msg_seq;   /* plain handshake record: its first message_seq, else -1 */
};

/* Read the record at *b (*n bytes left) with the engine's header reader
 * and step past it; false when nothing, only a cut header, or no record is
 * left.  During the handshake no CID is in use, so a unified header's
 * length is known without one. */
static bool next_record(const uint8_t **b, size_t *n, struct rec_hdr *h)
{
    struct zrec_record_info info;
    long len = zrec_record_peek(*b, *n, ZREC_PEEK_DTLS, 0, &info);
    if (len <= 0)
        return false;
    *h = (struct rec_hdr){.plain = !info.unified, .type = info.content_type,
                          .epoch = info.epoch, .seq = info.seq, .msg_seq = -1};
    /* The handshake header's message_seq (RFC 6347 §4.2.2) is the
     * driver's to read: the engine does not parse handshake messages. */
    if (h->plain && info.content_type == ZREC_CT_HANDSHAKE && *n >= 25)
        h->msg_seq = (*b)[17] << 8 | (*b)[18];
    if ((size_t)len > *n)
        len = (long)*n; /* cut: what is there is all of it */
    *b += len;
    *n -= (size_t)len;
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

ssize_t zs_dtls_send_to(struct peer *p, const void *buf, size_t n)
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
    (void)zs_dtls_send_to(p, a, sizeof a);
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
    ssize_t n = zs_dtls_send_to(p, buf, (size_t)sz);
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

/* A wolfSSL object for a handshake with addr.  fresh_cid: a connection ID
 * no other peer of the socket has, ours to ask for when CIDs are enabled
 * (a client with TLS_DTLS_CID_VALUE asks for that one).  cookie_secret
 * (servers): the secret that made the ClientHello's cookie - the current
 * one, or the one before the last rotation - which wolfSSL checks again. */
struct peer *zs_dhs_new(struct zs_sock *s, const struct sockaddr_storage *addr,
                        socklen_t addrlen, const uint8_t fresh_cid[CID_LEN],
                        const uint8_t *cookie_secret, int *err)
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
        const unsigned len = sizeof d->cookie_secret[0];
        int rc = t->version == 0x0304 ? wolfSSL_send_hrr_cookie(p->ssl, cookie_secret, len)
                                      : wolfSSL_DTLS_SetCookieSecret(p->ssl, cookie_secret, len);
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
                memcpy(p->my_cid, fresh_cid, CID_LEN);
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
void zs_dhs_replay_flight(struct peer *p, bool timer)
{
    int64_t now = zs_now_ms();
    if (p->flight_len == 0 || p->flight_lost || (!timer && now < p->replay_at))
        return;
    p->replay_at = now + REPLAY_GAP_MS;
    for (size_t off = 0; off + 2 <= p->flight_len;) {
        size_t n = (size_t)p->flight[off] << 8 | p->flight[off + 1];
        (void)zs_dtls_send_to(p, p->flight + off + 2, n);
        off += 2 + n;
    }
}

void zs_dhs_release_flight(struct peer *p)
{
    free(p->flight);
    p->flight = NULL;
    p->flight_len = 0;
}

/* The handoff: keys and sequence numbers into the engine, wolfSSL gone. */
static int peer_handoff(struct zs_sock *s, struct peer *p)
{
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
    /* Our last flight is kept for replays only if it was the last word:
     * when the peer's flight came after it, the peer has it. */
    if (p->flight_over)
        zs_dhs_release_flight(p);
    return 0;
}

/* One non-blocking handshake step over p->in (or none): 0 done (the
 * session is the engine's, p->state P_OPEN), -EAGAIN, or the handshake
 * failed (-ECONNABORTED; -ECONNREFUSED when ICMP said no one listens). */
int zs_dhs_step(struct zs_sock *s, struct peer *p)
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
            (void)zs_dtls_send_to(p, p->held_alert, p->held_len);
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

/* The retransmission timer of a handshake expired: retransmit (0), or
 * give up (-ETIMEDOUT at the longest timeout, or the step's failure). */
int zs_dhs_timeout(struct zs_sock *s, struct peer *p)
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
        zs_dhs_replay_flight(p, true);
    uint64_t next = (uint64_t)p->rtx_ms * 2;
    p->rtx_ms = next > t->hs_timeout_max ? t->hs_timeout_max : (uint32_t)next;
    p->rtx_at = zs_now_ms() + p->rtx_ms;
    return 0;
}

/* What a peer's handshake holds: the wolfSSL object, the capture, the
 * flight. */
void zs_dhs_release(struct peer *p)
{
    if (p->ssl)
        wolfSSL_free(p->ssl);
    p->ssl = NULL;
    zrec_wolfssl_capture_free(p->cap);
    p->cap = NULL;
    zs_dhs_release_flight(p);
}
