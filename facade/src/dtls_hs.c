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
 *
 * The driver knows no socket (zs_dhs.h): datagrams come in through
 * zs_dhs_step() and leave through the carrier's send callback, so the
 * facade's DTLS sockets and the DPDK data plane run the same handshakes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zs_dhs.h"

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
static bool handshake_progress(struct zs_dhs *p, const uint8_t *b, size_t n)
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

int64_t zs_dhs_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int dio_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    (void)ssl;
    struct zs_dhs *p = ctx;
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

static void flight_add(struct zs_dhs *p, const uint8_t *buf, size_t n)
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


/* Note what wolfSSL sends in a handshake step: the epoch-0 record numbers
 * (for alert_failed_handshake()), whether an alert or anything under keys
 * went out, and the highest message_seq.  Returns whether the datagram
 * repeats a flight sent before: its first record is a plaintext handshake
 * message we already sent (message_seq, RFC 6347 §4.2.2). */
static bool note_sent(struct zs_dhs *p, const uint8_t *b, size_t n)
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
static void alert_failed_handshake(struct zs_dhs *p)
{
    if (p->alerted || p->protected_out)
        return;
    uint8_t a[15] = {ZREC_CT_ALERT, 0xfe, 0xfd, 0, 0};
    for (int i = 0; i < 6; i++)
        a[5 + i] = (uint8_t)(p->next_seq0 >> (8 * (5 - i)));
    a[12] = 2;
    a[13] = ZREC_ALERT_FATAL;
    a[14] = 40; /* handshake_failure */
    (void)p->send(p->io, a, sizeof a);
}

/* A plaintext fatal alert (DTLSPlaintext, epoch 0) during the handshake. */
static bool is_plain_fatal_alert(const uint8_t *b, size_t n)
{
    return n >= 15 && b[0] == ZREC_CT_ALERT && b[3] == 0 && b[4] == 0 && b[13] == ZREC_ALERT_FATAL;
}

static int dio_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    (void)ssl;
    struct zs_dhs *p = ctx;
    const uint8_t *b = (const uint8_t *)buf;
    if (is_plain_fatal_alert(b, (size_t)sz) && (size_t)sz <= sizeof p->held_alert) {
        /* wolfSSL 5.5.4 (WOLFSSL_EXTRA_ALERTS) sends a fatal
         * unexpected_message when a DTLS 1.2 ChangeCipherSpec overtakes a
         * lost ClientKeyExchange, then ignores the CCS and goes on, as RFC
         * 6347 §4.1 wants; the peer would abort.  zs_dhs_step() sends the
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
        int64_t now = zs_dhs_now_ms();
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
    ssize_t n = p->send(p->io, buf, (size_t)sz);
    if (n >= 0) {
        p->sent = true;
        return (int)n;
    }
    if (n == -EAGAIN || n == -EWOULDBLOCK)
        return WOLFSSL_CBIO_ERR_WANT_WRITE;
    if (n == -EINTR)
        return WOLFSSL_CBIO_ERR_ISR;
    if (n == -ECONNREFUSED) {
        p->refused = true;
        return WOLFSSL_CBIO_ERR_CONN_RST;
    }
    return WOLFSSL_CBIO_ERR_GENERAL;
}

int zs_dhs_init(struct zs_dhs *p, const struct zs_dhs_conf *conf, zs_dhs_send_fn send, void *io,
                const void *peer, size_t peer_len, const uint8_t *my_cid, size_t my_cid_len,
                const uint8_t *cookie_secret, size_t secret_len)
{
    *p = (struct zs_dhs){.conf = conf, .send = send, .io = io,
                         .peer_epoch = -1, .peer_msg_seq = -1, .sent_msg_seq = -1};
    if (conf->ctx == NULL || my_cid_len > ZS_DHS_CID_LEN)
        return -EINVAL;
    wolfSSL_CTX_SetIORecv(conf->ctx, dio_recv);
    wolfSSL_CTX_SetIOSend(conf->ctx, dio_send);
    p->ssl = wolfSSL_new(conf->ctx);
    if (p->ssl == NULL)
        return -ENOMEM;
    wolfSSL_SetIOReadCtx(p->ssl, p);
    wolfSSL_SetIOWriteCtx(p->ssl, p);
    wolfSSL_dtls_set_using_nonblock(p->ssl, 1);
    /* Our timer (milliseconds, conf->timeout_*) decides when the handshake
     * gives up; wolfSSL's own limit (whole seconds) must not come first. */
    (void)wolfSSL_dtls_set_timeout_max(p->ssl, 1 << 20);
    int err = -EINVAL;
    if (conf->server) {
        /* The cookie binds the ClientHello to its source address. */
        if (peer == NULL || cookie_secret == NULL ||
            wolfSSL_dtls_set_peer(p->ssl, (void *)peer, (unsigned)peer_len) != WOLFSSL_SUCCESS)
            goto fail;
        int rc = conf->dtls13
                     ? wolfSSL_send_hrr_cookie(p->ssl, cookie_secret, (unsigned)secret_len)
                     : wolfSSL_DTLS_SetCookieSecret(p->ssl, cookie_secret, (unsigned)secret_len);
        if (rc != WOLFSSL_SUCCESS && rc != 0)
            goto fail;
    }
    if (conf->config_ssl && (err = conf->config_ssl(conf->arg, p->ssl)) < 0)
        goto fail;
    err = -EINVAL;
    if (conf->cid != ZS_DHS_CID_OFF) {
        if (wolfSSL_dtls_cid_use(p->ssl) != WOLFSSL_SUCCESS)
            goto fail;
        /* ENABLED: we ask the peer to send us this CID; SUPPORTED: we only
         * send the peer's (an empty CID of ours, RFC 9146 §3). */
        if (conf->cid == ZS_DHS_CID_ENABLED && my_cid_len) {
            memcpy(p->my_cid, my_cid, my_cid_len);
            p->my_cid_len = (uint8_t)my_cid_len;
            if (wolfSSL_dtls_cid_set(p->ssl, p->my_cid, p->my_cid_len) != WOLFSSL_SUCCESS)
                goto fail;
        }
    }
    err = -ENOMEM;
    p->cap = zrec_wolfssl_prepare(p->ssl);
    if (p->cap == NULL)
        goto fail;
    p->rtx_ms = conf->timeout_min_ms;
    p->rtx_at = zs_dhs_now_ms() + p->rtx_ms;
    return 0;
fail:
    wolfSSL_free(p->ssl);
    p->ssl = NULL;
    return err;
}

/* The peer repeats its flight, so it missed our last one: send it again. */
void zs_dhs_replay_flight(struct zs_dhs *p, bool timer)
{
    int64_t now = zs_dhs_now_ms();
    if (p->flight_len == 0 || p->flight_lost || (!timer && now < p->replay_at))
        return;
    p->replay_at = now + REPLAY_GAP_MS;
    for (size_t off = 0; off + 2 <= p->flight_len;) {
        size_t n = (size_t)p->flight[off] << 8 | p->flight[off + 1];
        (void)p->send(p->io, p->flight + off + 2, n);
        off += 2 + n;
    }
}

void zs_dhs_release_flight(struct zs_dhs *p)
{
    free(p->flight);
    p->flight = NULL;
    p->flight_len = 0;
}

/* The handoff: keys and sequence numbers into the engine, wolfSSL gone. */
static int handoff(struct zs_dhs *p, struct zrec_session **out)
{
    if (p->conf->finished)
        p->conf->finished(p->conf->arg, p->ssl, true);
    unsigned int n = 0;
    p->my_cid_len = p->peer_cid_len = 0;
    if (wolfSSL_dtls_cid_get_rx_size(p->ssl, &n) == WOLFSSL_SUCCESS && n && n <= ZS_DHS_CID_LEN &&
        wolfSSL_dtls_cid_get_rx(p->ssl, p->my_cid, n) == WOLFSSL_SUCCESS)
        p->my_cid_len = (uint8_t)n;
    if (wolfSSL_dtls_cid_get_tx_size(p->ssl, &n) == WOLFSSL_SUCCESS && n && n <= ZS_DHS_CID_LEN &&
        wolfSSL_dtls_cid_get_tx(p->ssl, p->peer_cid, n) == WOLFSSL_SUCCESS)
        p->peer_cid_len = (uint8_t)n;
    int err = 0;
    *out = zrec_wolfssl_import(p->ssl, p->cap, p->conf->provider, &err);
    p->cap = NULL;
    wolfSSL_free(p->ssl);
    p->ssl = NULL;
    if (*out == NULL)
        return err == -ENOTSUP ? -EPROTONOSUPPORT : -ECONNABORTED;
    /* Our last flight is kept for replays only if it was the last word:
     * when the peer's flight came after it, the peer has it. */
    if (p->flight_over)
        zs_dhs_release_flight(p);
    return 0;
}

int zs_dhs_step(struct zs_dhs *p, const uint8_t *dgram, size_t n, struct zrec_session **out)
{
    const struct zs_dhs_conf *c = p->conf;
    *out = NULL;
    if (p->ssl == NULL)
        return -EINVAL; /* handed off or failed before */
    p->in = dgram;
    p->in_len = n;
    p->sent = p->progress = p->mute = p->classified = p->alerted = false;
    p->held_len = 0;
    p->started = true;
    int rc = c->server ? wolfSSL_accept(p->ssl) : wolfSSL_connect(p->ssl);
    p->in = NULL; /* a datagram wolfSSL did not ask for is dropped */
    if (rc == WOLFSSL_SUCCESS)
        return handoff(p, out);
    int e = wolfSSL_get_error(p->ssl, rc);
    if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE) {
        if (p->progress && p->sent) {
            /* The peer's flight got our next one: a new timer (RFC 6347
             * §4.2.4.1, the timer restarts at its initial value). */
            p->rtx_ms = c->timeout_min_ms;
            p->rtx_at = zs_dhs_now_ms() + p->rtx_ms;
        }
        return -EAGAIN;
    }
    if (p->held_len) {
        (void)p->send(p->io, p->held_alert, p->held_len);
        p->alerted = true;
    }
    alert_failed_handshake(p);
    if (c->finished)
        c->finished(c->arg, p->ssl, false);
    return p->refused ? -ECONNREFUSED : -ECONNABORTED;
}

int zs_dhs_timeout(struct zs_dhs *p)
{
    const struct zs_dhs_conf *c = p->conf;
    if (p->ssl == NULL)
        return -EINVAL;
    if (p->rtx_ms >= c->timeout_max_ms)
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
         * flight as it went out, so a minimum timeout below a second still
         * means what it says.  Identical records are harmless: a peer that
         * has them drops them as duplicates. */
        zs_dhs_replay_flight(p, true);
    uint64_t next = (uint64_t)p->rtx_ms * 2;
    p->rtx_ms = next > c->timeout_max_ms ? c->timeout_max_ms : (uint32_t)next;
    p->rtx_at = zs_dhs_now_ms() + p->rtx_ms;
    return 0;
}

void zs_dhs_release(struct zs_dhs *p)
{
    if (p->ssl)
        wolfSSL_free(p->ssl);
    p->ssl = NULL;
    zrec_wolfssl_capture_free(p->cap);
    p->cap = NULL;
    zs_dhs_release_flight(p);
}
