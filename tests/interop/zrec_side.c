/*
 * interop-zrec: zrec against an independent TLS implementation.
 *
 *   interop-zrec PROTO AEAD ROLE CERTS PEER [SEED [PROVIDER]]
 *
 * ROLE is zrec's side (client|server); PEER the interop-openssl-peer program,
 * started for each connection over a socketpair (SOCK_STREAM for TLS,
 * SOCK_DGRAM for DTLS: an AF_UNIX datagram socketpair keeps datagram
 * boundaries and, unlike UDP, never drops, so multi-megabyte DTLS transfers
 * are deterministic).
 *
 * Connections: the main script once per AEAD provider built (intel-ipsec-mb,
 * wolfCrypt; PROVIDER picks one), then the two tamper scenarios (interop.h).
 *
 * wolfSSL does the handshake (wolfssl_side.c); from then on every record on
 * this side is sealed and opened by zrec alone, in place in this program's
 * buffers, and OpenSSL, with its own record layer, must accept every record
 * zrec makes and produce records zrec accepts — byte for byte, through
 * KeyUpdates (RFC 8446 §4.6.3) and closure alerts (RFC 8446 §6.1).  The
 * phases are listed in interop.h.
 *
 * Receiving: TLS records are found in the byte stream with
 * zrec_record_length() — reads are of random sizes, some tiny, so headers and
 * records arrive split and coalesced — and opened in bursts
 * (zrec_open_burst), some of them scattered over separate buffers.  DTLS:
 * every datagram is split into records the same way (RFC 6347 §4.1.1).
 * Sending: single records (zrec_seal_record) and bursts (zrec_seal_burst),
 * some payloads scattered over separate buffers; a burst leaves in one
 * sendmsg() (TLS) or in datagrams packed with several records (DTLS).
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "handoff.h"
#include "interop.h"
#include "zrec/zrec.h"

#define RBUF_CAP (128u * 1024u)
#define MAX_BURST 16
#define MAX_SEG 3

/* A non-application record the reader saw, in order. */
enum ctl_kind { CTL_TICKET, CTL_KEY_UPDATE, CTL_ALERT };
struct ctl {
    enum ctl_kind kind;
    uint8_t a, b;          /* KeyUpdate: request_update; alert: level, description */
    uint64_t app_before;   /* application bytes of the phase that came before it */
};

struct conn {
    struct zrec_session *s;
    int fd;
    enum ix_proto proto;
    bool dtls, tls13, client;
    struct zrec_overhead o;
    size_t min_hdr; /* record header bytes of the peer's records: 5 or 13 */
    struct ix_stream tx, rx;
    uint64_t rng;
    uint64_t next_tx_seq, next_rx_seq;

    /* TLS: a window on the byte stream; DTLS: the current datagram. */
    uint8_t *rbuf;
    size_t rstart, rend;

    /* The current read phase. */
    struct ctl log[64];
    unsigned nlog;
    uint64_t phase_app;

    unsigned long rec_in, rec_out, bursts_in, bursts_out, scattered_in, scattered_out;
    unsigned long split_reads, datagrams_in, datagrams_out, multi_record_dgrams, dropped;
    unsigned long padded_in, key_update_mid_burst;
    unsigned long dst_in, dst_split_in, dst_refused;
    bool whole_bursts; /* no destination op, which ends its burst */
    unsigned tickets;
};

/* ------------------------------------------------------------------------
 * Receiving
 * ---------------------------------------------------------------------- */

static void z_recv(struct conn *c, const char *phase, size_t want)
{
    if (!ix_wait(c->fd, POLLIN, IX_IO_TIMEOUT_MS))
        IX_FAIL("%s: nothing from OpenSSL for %d ms (%llu of %zu application bytes; "
                "zrec events %#x)",
                phase, IX_IO_TIMEOUT_MS, (unsigned long long)c->phase_app, want,
                zrec_session_events(c->s));
    if (c->dtls) {
        c->rstart = c->rend = 0;
        ssize_t n = recv(c->fd, c->rbuf, RBUF_CAP, MSG_TRUNC);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        IX_CHECK(n > 0, "%s: recv: %s", phase, n == 0 ? "empty datagram" : strerror(errno));
        IX_CHECK((size_t)n <= RBUF_CAP, "%s: %zd-byte datagram", phase, n);
        c->rend = (size_t)n;
        c->datagrams_in++;
        return;
    }
    if (c->rstart > 0) {
        memmove(c->rbuf, c->rbuf + c->rstart, c->rend - c->rstart);
        c->rend -= c->rstart;
        c->rstart = 0;
    }
    size_t space = RBUF_CAP - c->rend;
    IX_CHECK(space > 0, "%s: %zu buffered bytes hold no complete record", phase, c->rend);
    /* One read in eight is tiny, so record headers arrive in pieces. */
    size_t chunk = space;
    if (ix_rand(&c->rng) % 8 == 0) {
        chunk = 1 + ix_rand_below(&c->rng, 48);
        if (chunk > space)
            chunk = space;
        c->split_reads++;
    }
    ssize_t n = recv(c->fd, c->rbuf + c->rend, chunk, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    IX_CHECK(n != 0, "%s: OpenSSL closed the connection (%llu of %zu application bytes)",
             phase, (unsigned long long)c->phase_app, want);
    IX_CHECK(n > 0, "%s: recv: %s", phase, strerror(errno));
    c->rend += (size_t)n;
}

/* The plaintext of an opened op, copied out when it is scattered. */
static const uint8_t *plaintext_of(const struct zrec_op *op, uint8_t *tmp)
{
    if (op->nseg == 0)
        return op->rec;
    /* It starts at op->rec, inside one of the segments, and runs on
     * through the following ones. */
    unsigned i = 0;
    while (i < op->nseg &&
           !(op->rec >= op->seg[i].base && op->rec <= op->seg[i].base + op->seg[i].len))
        i++;
    IX_CHECK(i < op->nseg, "scattered open: plaintext pointer outside the segments");
    size_t off = (size_t)(op->rec - op->seg[i].base), got = 0;
    for (; i < op->nseg && got < op->rec_len; i++, off = 0) {
        size_t take = op->seg[i].len - off;
        if (take > op->rec_len - got)
            take = op->rec_len - got;
        memcpy(tmp + got, op->seg[i].base + off, take);
        got += take;
    }
    IX_CHECK(got == op->rec_len, "scattered open: plaintext runs past the segments");
    return tmp;
}

static void log_ctl(struct conn *c, enum ctl_kind k, uint8_t a, uint8_t b, const char *phase)
{
    IX_CHECK(c->nlog < sizeof c->log / sizeof *c->log, "%s: too many control records", phase);
    c->log[c->nlog++] = (struct ctl){k, a, b, c->phase_app};
}

/* Post-handshake messages (RFC 8446 §4.6): the peer may send
 * NewSessionTicket (a server) and KeyUpdate. */
static void on_handshake(struct conn *c, const uint8_t *p, size_t len, const char *phase)
{
    IX_CHECK(c->tls13, "%s: handshake record after a %s handshake", phase,
             c->dtls ? "DTLS 1.2" : "TLS 1.2");
    size_t pos = 0;
    while (pos < len) {
        IX_CHECK(len - pos >= 4, "%s: truncated handshake header", phase);
        size_t body = (size_t)p[pos + 1] << 16 | (size_t)p[pos + 2] << 8 | p[pos + 3];
        IX_CHECK(body <= len - pos - 4, "%s: handshake message runs past its record", phase);
        switch (p[pos]) {
        case 4: /* new_session_ticket: only a server sends it */
            IX_CHECK(c->client, "%s: NewSessionTicket sent to a server", phase);
            IX_CHECK(zrec_session_events(c->s) & ZREC_EV_NEW_SESSION_TICKET,
                     "%s: NewSessionTicket without ZREC_EV_NEW_SESSION_TICKET", phase);
            c->tickets++;
            log_ctl(c, CTL_TICKET, 0, 0, phase);
            break;
        case 24: /* key_update */
            IX_CHECK(body == 1 && p[pos + 4] <= 1, "%s: malformed KeyUpdate", phase);
            log_ctl(c, CTL_KEY_UPDATE, p[pos + 4], 0, phase);
            /* §5.3: the new key starts at sequence number 0. */
            c->next_rx_seq = 0;
            break;
        default:
            IX_FAIL("%s: unexpected post-handshake message type %u", phase, p[pos]);
        }
        pos += 4 + body;
    }
}

struct rx_scatter {
    struct zrec_seg seg[MAX_SEG];
    uint8_t *mem[MAX_SEG];
    unsigned n;
};

/* Describe the record at rec[0..len) as 2..3 segments in separately
 * allocated buffers, so that the scattered open path sees real peer records. */
static void scatter_record(struct conn *c, const uint8_t *rec, size_t len, struct rx_scatter *x,
                           struct zrec_op *op)
{
    x->n = 2 + (unsigned)ix_rand_below(&c->rng, 2);
    size_t cut[MAX_SEG + 1] = {0};
    cut[x->n] = len;
    for (unsigned i = 1; i < x->n; i++)
        cut[i] = cut[i - 1] + ix_rand_below(&c->rng, len - cut[i - 1] + 1);
    for (unsigned i = 0; i < x->n; i++) {
        size_t l = cut[i + 1] - cut[i];
        x->mem[i] = malloc(l ? l : 1);
        IX_CHECK(x->mem[i] != NULL, "malloc");
        memcpy(x->mem[i], rec + cut[i], l);
        x->seg[i] = (struct zrec_seg){x->mem[i], (uint32_t)l};
    }
    *op = (struct zrec_op){.sess = c->s, .seg = x->seg, .nseg = (uint16_t)x->n};
}

/* Act on one record zrec opened.  `ct_len` is its length less the header,
 * to see the peer's padding.  In "until an event" mode (until) application
 * data is unexpected. */
static void on_record(struct conn *c, const struct zrec_op *op, size_t ct_len, size_t want,
                      bool until, const char *phase)
{
    static uint8_t tmp[ZREC_MAX_PLAINTEXT + 256];
    c->rec_in++;
    if (c->dtls)
        IX_CHECK(op->seq >= c->next_rx_seq, "%s: DTLS sequence %llu after %llu", phase,
                 (unsigned long long)op->seq, (unsigned long long)c->next_rx_seq);
    else
        IX_CHECK(op->seq == c->next_rx_seq, "%s: record sequence %llu, expected %llu", phase,
                 (unsigned long long)op->seq, (unsigned long long)c->next_rx_seq);
    c->next_rx_seq = op->seq + 1;
    /* RFC 8446 §5.2: TLSInnerPlaintext = content || type || zeros. */
    if (c->tls13 && ct_len > (size_t)c->o.tailroom + op->rec_len)
        c->padded_in++;
    const uint8_t *p = plaintext_of(op, tmp);
    switch (op->content_type) {
    case ZREC_CT_APPLICATION_DATA:
        IX_CHECK(!until, "%s: %u bytes of data where an alert was expected", phase, op->rec_len);
        ix_stream_expect(&c->rx, p, op->rec_len, phase);
        c->phase_app += op->rec_len;
        IX_CHECK(c->phase_app <= want, "%s: OpenSSL sent %llu bytes, the phase has %zu", phase,
                 (unsigned long long)c->phase_app, want);
        break;
    case ZREC_CT_HANDSHAKE:
        on_handshake(c, p, op->rec_len, phase);
        break;
    case ZREC_CT_ALERT:
        IX_CHECK(op->rec_len == 2, "%s: %u-byte alert", phase, op->rec_len);
        log_ctl(c, CTL_ALERT, p[0], p[1], phase);
        break;
    default:
        IX_FAIL("%s: record of content type %u", phase, op->content_type);
    }
}

/* A record opened into a caller's destination (op->dst, dst_cap bytes) of
 * `ct` bytes of ciphertext: zrec.h promises success when the content fits
 * and at most the inner type and ZREC_OPEN_SPILL_MAX - 1 bytes of padding
 * do not (TLS 1.3; the AEAD can open into two places), else -ENOBUFS with
 * nothing consumed.  A refused record is opened again in place here, and
 * its content length decides which answer was right. */
static void open_into_dst_check(struct conn *c, struct zrec_op *op, size_t ct, const char *phase)
{
    uint32_t cap = op->dst_cap;
    enum zrec_aead_id aead = zrec_session_aead(c->s);
    bool can_split = c->tls13 && aead != ZREC_AES_128_CCM && aead != ZREC_AES_128_CCM_8 &&
                     ct - cap <= ZREC_OPEN_SPILL_MAX;
    if (op->status == 0) {
        IX_CHECK(op->rec == op->dst && op->rec_len <= cap,
                 "%s: opened into a %u-byte destination: %u bytes at %p (dst %p)", phase, cap,
                 op->rec_len, (void *)op->rec, (void *)op->dst);
        IX_CHECK(ct <= cap || can_split, "%s: %zu-byte ciphertext opened into %u bytes", phase,
                 ct, cap);
        c->dst_in++;
        c->dst_split_in += ct > cap;
        return;
    }
    if (c->dtls && (op->status == -EALREADY || op->status == -ESTALE))
        return; /* dropped, as any DTLS record may be (z_read) */
    IX_CHECK(op->status == -ENOBUFS, "%s: open into a %u-byte destination (ciphertext %zu): %d",
             phase, cap, ct, op->status);
    IX_CHECK(ct > cap, "%s: -ENOBUFS with room for the whole ciphertext", phase);
    struct zrec_op again = {.sess = c->s, .data = op->data, .len = op->len};
    IX_CHECK(zrec_open_burst(&again, 1) == 1,
             "%s: the record refused by a destination did not open in place: %d", phase,
             again.status);
    IX_CHECK(!can_split || again.rec_len > cap,
             "%s: -ENOBUFS for %u bytes of content with %u bytes of room (ciphertext %zu)",
             phase, again.rec_len, cap, ct);
    c->dst_refused++;
    *op = again;
}

/* Read and open records until `want` application bytes of this phase have
 * arrived or, when stop_events is not 0, one record at a time until one of
 * those events; later records stay buffered.  Records are opened in bursts,
 * but a burst never reaches past the phase: a record joins only while the
 * bytes it could carry (its length less the header) fit in what the phase
 * still expects. */
static void z_read(struct conn *c, size_t want, unsigned stop_events, const char *phase)
{
    bool until = stop_events != 0;
    c->nlog = 0;
    c->phase_app = 0;
    while (until ? !(zrec_session_events(c->s) & stop_events) : c->phase_app < want) {
        struct zrec_op ops[MAX_BURST];
        struct rx_scatter scat[MAX_BURST];
        size_t lens[MAX_BURST];
        static uint8_t dst_buf[ZREC_MAX_PLAINTEXT + 2048];
        size_t dst_ct = 0;
        unsigned n = 0;
        size_t off = c->rstart, bound = 0;
        while (n < MAX_BURST && off < c->rend) {
            size_t avail = c->rend - off;
            long L = zrec_record_length(c->s, c->rbuf + off, avail);
            IX_CHECK(L >= 0, "%s: zrec_record_length: %ld (%s) on a record from OpenSSL", phase,
                     L, strerror((int)-L));
            if (L == 0 || (size_t)L > avail) {
                IX_CHECK(!c->dtls, "%s: a record runs past the end of its datagram (%ld of %zu)",
                         phase, L, avail);
                break;
            }
            size_t most = (size_t)L - c->min_hdr;
            if (n > 0 && (until || c->phase_app + bound + most > want))
                break;
            scat[n].n = 0;
            uint64_t mode = ix_rand(&c->rng) % 8;
            if (mode == 0) {
                scatter_record(c, c->rbuf + off, (size_t)L, &scat[n], &ops[n]);
                c->scattered_in++;
            } else if (mode == 1 && !c->whole_bursts) {
                /* Into a destination about the content's size: the last
                 * op of its burst, since a refused TLS record is not
                 * consumed and the next one could not be opened yet. */
                size_t tag = c->o.tailroom - (c->tls13 ? 1u : 0u);
                size_t ct = (size_t)L - c->o.headroom - tag;
                size_t k = ix_rand_below(&c->rng, ZREC_OPEN_SPILL_MAX + 2);
                ops[n] = (struct zrec_op){.sess = c->s, .data = c->rbuf + off,
                                          .len = (uint32_t)L, .dst = dst_buf,
                                          .dst_cap = (uint32_t)(ct > k ? ct - k : 0)};
                dst_ct = ct;
                lens[n] = (size_t)L;
                off += (size_t)L;
                n++;
                break;
            } else {
                ops[n] = (struct zrec_op){.sess = c->s, .data = c->rbuf + off,
                                          .len = (uint32_t)L};
            }
            lens[n] = (size_t)L;
            bound += most;
            off += (size_t)L;
            n++;
        }
        if (n == 0) {
            z_recv(c, phase, want);
            continue;
        }
        if (c->dtls && n > 1)
            c->multi_record_dgrams++;
        zrec_open_burst(ops, n);
        c->bursts_in++;
        for (unsigned i = 0; i < n; i++) {
            struct zrec_op *op = &ops[i];
            if (op->dst)
                open_into_dst_check(c, op, dst_ct, phase);
            if (op->status != 0) {
                /* RFC 6347 §4.1.2.6-7: DTLS drops replays and records of
                 * another epoch (a retransmitted handshake flight). */
                IX_CHECK(c->dtls && (op->status == -EALREADY || op->status == -ESTALE),
                         "%s: zrec could not open record %lu from OpenSSL: %d (%s); events "
                         "%#x",
                         phase, c->rec_in, op->status, strerror(-op->status),
                         zrec_session_events(c->s));
                c->dropped++;
                continue;
            }
            unsigned nlog = c->nlog;
            on_record(c, op, lens[i] - c->o.headroom, want, until, phase);
            /* A KeyUpdate changes the key for the rest of the same burst. */
            if (c->nlog > nlog && c->log[c->nlog - 1].kind == CTL_KEY_UPDATE && i + 1 < n)
                c->key_update_mid_burst++;
        }
        for (unsigned i = 0; i < n; i++)
            for (unsigned j = 0; j < scat[i].n; j++)
                free(scat[i].mem[j]);
        c->rstart = off;
        if (!c->dtls)
            IX_CHECK(zrec_session_seq(c->s, ZREC_DIR_READ) == c->next_rx_seq,
                     "%s: zrec's read sequence %llu, records say %llu", phase,
                     (unsigned long long)zrec_session_seq(c->s, ZREC_DIR_READ),
                     (unsigned long long)c->next_rx_seq);
    }
    unsigned bad = (ZREC_EV_FATAL | ZREC_EV_PEER_ALERT) & ~stop_events;
    IX_CHECK(!(zrec_session_events(c->s) & bad), "%s: zrec events %#x, peer alert %d", phase,
             zrec_session_events(c->s), zrec_session_peer_alert(c->s));
}

/* The length of the next complete record at c->rbuf + c->rstart, reading
 * until there is one. */
static size_t z_next_record(struct conn *c, const char *phase)
{
    for (;;) {
        if (c->rstart < c->rend) {
            size_t avail = c->rend - c->rstart;
            long L = zrec_record_length(c->s, c->rbuf + c->rstart, avail);
            IX_CHECK(L >= 0, "%s: zrec_record_length: %ld", phase, L);
            if (L > 0 && (size_t)L <= avail)
                return (size_t)L;
            IX_CHECK(!c->dtls, "%s: a record runs past the end of its datagram", phase);
        }
        z_recv(c, phase, 0);
    }
}

/* Receive until at least `nrec` complete records are buffered, so that
 * the next z_read() opens them in one burst. */
static void z_prebuffer(struct conn *c, unsigned nrec, const char *phase)
{
    for (;;) {
        unsigned n = 0;
        size_t off = c->rstart;
        long L;
        while (n < nrec && off < c->rend &&
               (L = zrec_record_length(c->s, c->rbuf + off, c->rend - off)) > 0 &&
               (size_t)L <= c->rend - off) {
            off += (size_t)L;
            n++;
        }
        if (n == nrec)
            return;
        z_recv(c, phase, 0);
    }
}

static void expect_ctl_first(struct conn *c, enum ctl_kind kind, unsigned n, uint8_t a,
                             const char *phase);

/* K2/K3: the peer's KeyUpdate and the data after it, under the next key,
 * opened in one zrec_open_burst(): the key must change mid-burst. */
static void z_read_key_update(struct conn *c, uint8_t request_update, const char *phase)
{
    unsigned long mid = c->key_update_mid_burst;
    z_prebuffer(c, 2, phase);
    c->whole_bursts = true;
    z_read(c, IX_KU_BYTES, 0, phase);
    c->whole_bursts = false;
    expect_ctl_first(c, CTL_KEY_UPDATE, 1, request_update, phase);
    IX_CHECK(c->key_update_mid_burst == mid + 1,
             "%s: the KeyUpdate was not followed by data in its burst", phase);
}

/* ------------------------------------------------------------------------
 * Sending
 * ---------------------------------------------------------------------- */

static void send_stream(struct conn *c, struct iovec *iov, int cnt, const char *phase)
{
    while (cnt > 0) {
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)cnt};
        ssize_t n = sendmsg(c->fd, &m, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            IX_CHECK(errno == EAGAIN || errno == EWOULDBLOCK, "%s: sendmsg: %s", phase,
                     strerror(errno));
            if (!ix_wait(c->fd, POLLOUT, IX_IO_TIMEOUT_MS))
                IX_FAIL("%s: OpenSSL read nothing for %d ms", phase, IX_IO_TIMEOUT_MS);
            continue;
        }
        size_t left = (size_t)n;
        while (cnt > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
}

static void send_datagram(struct conn *c, struct iovec *iov, int cnt, const char *phase)
{
    size_t total = 0;
    for (int i = 0; i < cnt; i++)
        total += iov[i].iov_len;
    IX_CHECK(total <= IX_DGRAM_MAX, "%s: %zu-byte datagram", phase, total);
    for (;;) {
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)cnt};
        ssize_t n = sendmsg(c->fd, &m, MSG_NOSIGNAL);
        if (n >= 0) {
            IX_CHECK((size_t)n == total, "%s: datagram sent short", phase);
            c->datagrams_out++;
            return;
        }
        if (errno == EINTR)
            continue;
        IX_CHECK(errno == EAGAIN || errno == EWOULDBLOCK, "%s: sendmsg: %s", phase,
                 strerror(errno));
        if (!ix_wait(c->fd, POLLOUT, IX_IO_TIMEOUT_MS))
            IX_FAIL("%s: OpenSSL read nothing for %d ms", phase, IX_IO_TIMEOUT_MS);
    }
}

/* One record being sealed: contiguous (one buffer with headroom and
 * tailroom) or scattered (payload over MAX_SEG separate buffers, headroom
 * before the first, tailroom after the last). */
struct tx_rec {
    uint8_t *mem[MAX_SEG];
    struct zrec_seg seg[MAX_SEG];
};

static void tx_build(struct conn *c, struct tx_rec *r, struct zrec_op *op, size_t len, bool scat)
{
    memset(r, 0, sizeof *r);
    *op = (struct zrec_op){.sess = c->s, .headroom = c->o.headroom, .tailroom = c->o.tailroom,
                           .content_type = ZREC_CT_APPLICATION_DATA};
    if (!scat) {
        r->mem[0] = malloc(c->o.headroom + len + c->o.tailroom);
        IX_CHECK(r->mem[0] != NULL, "malloc");
        op->data = r->mem[0] + c->o.headroom;
        op->len = (uint32_t)len;
        ix_stream_fill(&c->tx, op->data, len);
        return;
    }
    unsigned nseg = 2 + (unsigned)ix_rand_below(&c->rng, 2);
    size_t left = len;
    for (unsigned i = 0; i < nseg; i++) {
        size_t l = i + 1 == nseg ? left : 1 + ix_rand_below(&c->rng, left - (nseg - 1 - i));
        size_t before = i == 0 ? c->o.headroom : 0, after = i + 1 == nseg ? c->o.tailroom : 0;
        r->mem[i] = malloc(before + l + after);
        IX_CHECK(r->mem[i] != NULL, "malloc");
        r->seg[i] = (struct zrec_seg){r->mem[i] + before, (uint32_t)l};
        ix_stream_fill(&c->tx, r->seg[i].base, l);
        left -= l;
    }
    op->seg = r->seg;
    op->nseg = (uint16_t)nseg;
    op->len = (uint32_t)len;
}

/* The wire bytes of a sealed record as iovecs: header + first segment,
 * middle segments, last segment + tag (nothing is copied). */
static int tx_iov(const struct zrec_op *op, struct iovec *iov)
{
    if (op->nseg == 0) {
        iov[0] = (struct iovec){op->rec, op->rec_len};
        return 1;
    }
    size_t used = (size_t)(op->seg[0].base + op->seg[0].len - op->rec);
    iov[0] = (struct iovec){op->rec, used};
    for (unsigned i = 1; i + 1 < op->nseg; i++) {
        iov[i] = (struct iovec){op->seg[i].base, op->seg[i].len};
        used += op->seg[i].len;
    }
    iov[op->nseg - 1] = (struct iovec){op->seg[op->nseg - 1].base, op->rec_len - used};
    return op->nseg;
}

/* Seal `total` bytes of the stream and send them.  !bulk: records of random
 * sizes 0..2^14, one at a time (zrec_seal_record) or in bursts of up to 16
 * (zrec_seal_burst), a sixth of them scattered; bulk: full records in bursts
 * of 16.  `first` (a sealed KeyUpdate) leaves in the same sendmsg() or
 * datagram as the first records, so OpenSSL must switch keys mid-read. */
static void z_write(struct conn *c, size_t total, bool bulk, const uint8_t *first,
                    size_t first_len, const char *phase)
{
    while (total > 0) {
        unsigned k = bulk ? MAX_BURST
                          : (ix_rand(&c->rng) % 3 == 0 ? 1
                                                       : 1 + (unsigned)ix_rand_below(&c->rng,
                                                                                     MAX_BURST));
        struct tx_rec recs[MAX_BURST];
        struct zrec_op ops[MAX_BURST];
        unsigned n = 0;
        while (n < k && total > 0) {
            size_t len = bulk ? ZREC_MAX_PLAINTEXT
                              : ix_rand_record_size(&c->rng, ZREC_MAX_PLAINTEXT);
            if (len > total)
                len = total;
            bool scat = !bulk && len >= MAX_SEG && ix_rand(&c->rng) % 6 == 0;
            tx_build(c, &recs[n], &ops[n], len, scat);
            c->scattered_out += scat;
            total -= len;
            n++;
        }
        if (n == 1 && ops[0].nseg == 0) {
            uint8_t *rec = NULL;
            int rl = zrec_seal_record(c->s, ZREC_CT_APPLICATION_DATA, ops[0].data, ops[0].len,
                                      c->o.headroom, c->o.tailroom, &rec);
            IX_CHECK(rl > 0, "%s: zrec_seal_record(%u bytes): %d (%s)", phase, ops[0].len, rl,
                     strerror(-rl));
            ops[0].rec = rec;
            ops[0].rec_len = (uint32_t)rl;
            ops[0].seq = c->next_tx_seq;
        } else {
            unsigned good = zrec_seal_burst(ops, n);
            for (unsigned i = 0; i < n; i++)
                IX_CHECK(ops[i].status == 0, "%s: seal burst op %u: %d (%s)", phase, i,
                         ops[i].status, strerror(-ops[i].status));
            IX_CHECK(good == n, "%s: zrec_seal_burst: %u of %u", phase, good, n);
            c->bursts_out++;
        }
        for (unsigned i = 0; i < n; i++) {
            IX_CHECK(ops[i].seq == c->next_tx_seq, "%s: sealed with sequence %llu, expected %llu",
                     phase, (unsigned long long)ops[i].seq, (unsigned long long)c->next_tx_seq);
            c->next_tx_seq++;
        }
        IX_CHECK(zrec_session_seq(c->s, ZREC_DIR_WRITE) == c->next_tx_seq, "%s: write sequence",
                 phase);
        c->rec_out += n;

        struct iovec iov[1 + MAX_BURST * MAX_SEG];
        int cnt = 0;
        if (first_len) {
            iov[cnt++] = (struct iovec){(void *)first, first_len};
        }
        if (!c->dtls) {
            for (unsigned i = 0; i < n; i++)
                cnt += tx_iov(&ops[i], iov + cnt);
            send_stream(c, iov, cnt, phase);
        } else {
            /* Pack records into datagrams up to IX_DGRAM_MAX; now and then
             * cut a datagram early so both shapes are seen. */
            size_t dsize = first_len;
            int dstart = 0;
            for (unsigned i = 0; i < n; i++) {
                if (cnt > dstart && (dsize + ops[i].rec_len > IX_DGRAM_MAX ||
                                     ix_rand(&c->rng) % 4 == 0)) {
                    send_datagram(c, iov + dstart, cnt - dstart, phase);
                    dstart = cnt;
                    dsize = 0;
                }
                cnt += tx_iov(&ops[i], iov + cnt);
                dsize += ops[i].rec_len;
            }
            send_datagram(c, iov + dstart, cnt - dstart, phase);
        }
        first_len = 0;
        for (unsigned i = 0; i < n; i++)
            for (unsigned j = 0; j < MAX_SEG; j++)
                free(recs[i].mem[j]);
    }
    IX_CHECK(first_len == 0, "%s: nothing to send the control record with", phase);
}

/* RFC 8446 §4.6.3 / §7.2: seal a KeyUpdate under the current key and move
 * the write side to the next traffic secret. */
static size_t z_key_update(struct conn *c, bool request, uint8_t *buf, size_t cap,
                           const char *phase)
{
    int n = zrec_seal_key_update(c->s, request, buf, cap);
    IX_CHECK(n > 0, "%s: zrec_seal_key_update: %d (%s)", phase, n, strerror(-n));
    c->rec_out++;
    /* §5.3: each key has its own sequence numbers, from 0. */
    IX_CHECK(zrec_session_seq(c->s, ZREC_DIR_WRITE) == 0,
             "%s: write sequence %llu after KeyUpdate", phase,
             (unsigned long long)zrec_session_seq(c->s, ZREC_DIR_WRITE));
    c->next_tx_seq = 0;
    return (size_t)n;
}

/* K3: the peer asked for a KeyUpdate; until zrec sends one, application
 * data must be refused (RFC 8446 §4.6.3: the receiver MUST send a KeyUpdate
 * before its next application data) without consuming sequence numbers. */
static void z_expect_update_owed(struct conn *c)
{
    IX_CHECK(zrec_session_events(c->s) & ZREC_EV_KEY_UPDATE_OWED,
             "K3: KeyUpdate(update_requested) read, but no ZREC_EV_KEY_UPDATE_OWED (events %#x)",
             zrec_session_events(c->s));
    enum { H = ZREC_MAX_HEADROOM, T = ZREC_MAX_TAILROOM };
    static uint8_t b1[H + 100 + T], b2[H + 100 + T];
    uint64_t seq = zrec_session_seq(c->s, ZREC_DIR_WRITE);
    uint8_t *rec;
    int rc = zrec_seal_record(c->s, ZREC_CT_APPLICATION_DATA, b1 + H, 100, H, T, &rec);
    IX_CHECK(rc == -EAGAIN, "K3: sealing data while a KeyUpdate is owed: %d", rc);
    rc = zrec_seal_record(c->s, ZREC_CT_APPLICATION_DATA, b1 + H, 0, H, T, &rec);
    IX_CHECK(rc == -EAGAIN, "K3: sealing an empty record while a KeyUpdate is owed: %d", rc);
    struct zrec_op ops[2] = {
        {.sess = c->s, .data = b1 + H, .len = 10, .headroom = H, .tailroom = T,
         .content_type = ZREC_CT_APPLICATION_DATA},
        {.sess = c->s, .data = b2 + H, .len = 100, .headroom = H, .tailroom = T,
         .content_type = ZREC_CT_APPLICATION_DATA},
    };
    IX_CHECK(zrec_seal_burst(ops, 2) == 0 && ops[0].status == -EAGAIN &&
                 ops[1].status == -EAGAIN,
             "K3: burst while a KeyUpdate is owed: %d %d", ops[0].status, ops[1].status);
    IX_CHECK(zrec_session_seq(c->s, ZREC_DIR_WRITE) == seq,
             "K3: a refused seal consumed a sequence number");
}

/* The phase's control records must be exactly `n` of `kind` (KeyUpdate:
 * with request_update == a), all before its first application byte. */
static void expect_ctl_first(struct conn *c, enum ctl_kind kind, unsigned n, uint8_t a,
                             const char *phase)
{
    IX_CHECK(c->nlog == n, "%s: %u control records, expected %u", phase, c->nlog, n);
    for (unsigned i = 0; i < n; i++) {
        IX_CHECK(c->log[i].kind == kind && (kind != CTL_KEY_UPDATE || c->log[i].a == a),
                 "%s: control record %u is kind %d (%u), expected kind %d (%u)", phase, i,
                 c->log[i].kind, c->log[i].a, kind, a);
        IX_CHECK(c->log[i].app_before == 0, "%s: control record %u after %llu data bytes", phase,
                 i, (unsigned long long)c->log[i].app_before);
    }
}

/* ------------------------------------------------------------------------
 * The peer process and the connection
 * ---------------------------------------------------------------------- */

static pid_t peer_pid;

static void reap_peer(void)
{
    if (peer_pid > 0) {
        kill(peer_pid, SIGKILL);
        waitpid(peer_pid, NULL, 0);
        peer_pid = 0;
    }
}

static void wait_peer(void)
{
    int64_t end = ix_now_ms() + IX_IO_TIMEOUT_MS;
    int st;
    for (;;) {
        pid_t r = waitpid(peer_pid, &st, WNOHANG);
        if (r == peer_pid)
            break;
        IX_CHECK(r == 0, "waitpid: %s", strerror(errno));
        if (ix_now_ms() > end)
            IX_FAIL("the OpenSSL peer did not exit within %d ms", IX_IO_TIMEOUT_MS);
        usleep(1000);
    }
    peer_pid = 0;
    IX_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the OpenSSL peer %s %d",
             WIFEXITED(st) ? "exited with" : "was killed by signal",
             WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

/* What every connection of one test shares. */
struct test {
    const char *proto_name, *aead_name, *certs, *peer_exe;
    enum ix_proto proto;
    const struct ix_suite *suite;
    bool client;
};

static void spawn_peer(const struct test *t, enum ix_scenario sc, int fd, uint64_t seed)
{
    char fdstr[16], seedstr[32];
    snprintf(fdstr, sizeof fdstr, "%d", fd);
    snprintf(seedstr, sizeof seedstr, "%llu", (unsigned long long)seed);
    fflush(NULL);
    peer_pid = fork();
    IX_CHECK(peer_pid >= 0, "fork: %s", strerror(errno));
    if (peer_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
        char *args[] = {(char *)t->peer_exe, (char *)t->proto_name, (char *)t->aead_name,
                        t->client ? "server" : "client", (char *)t->certs, fdstr, seedstr,
                        (char *)ix_scenario_names[sc], NULL};
        execv(t->peer_exe, args);
        fprintf(stderr, "exec %s: %s\n", t->peer_exe, strerror(errno));
        _exit(127);
    }
}

/* A socketpair, the peer, wolfSSL's handshake and the handoff to zrec. */
static void conn_open(struct conn *c, const struct test *t, enum ix_scenario sc, uint64_t seed,
                      const struct zrec_aead_provider *provider)
{
    memset(c, 0, sizeof *c);
    c->proto = t->proto;
    c->client = t->client;
    c->dtls = t->proto == IX_DTLS12;
    c->tls13 = t->proto == IX_TLS13;
    int sv[2];
    IX_CHECK(socketpair(AF_UNIX, (c->dtls ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0, sv) ==
                 0,
             "socketpair: %s", strerror(errno));
    /* The peer's end must survive exec; ours must not leak into it. */
    IX_CHECK(fcntl(sv[1], F_SETFD, 0) == 0, "fcntl");
    spawn_peer(t, sc, sv[1], seed);
    close(sv[1]);
    c->fd = sv[0];
    IX_CHECK(fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) == 0, "O_NONBLOCK");

    c->s = ix_wolfssl_handshake(t->proto, t->suite, !t->client, t->certs, c->fd, provider);
    enum zrec_proto zp = c->tls13 ? ZREC_TLS13 : c->dtls ? ZREC_DTLS12 : ZREC_TLS12;
    IX_CHECK(zrec_session_proto(c->s) == zp, "imported protocol %s",
             zrec_proto_name(zrec_session_proto(c->s)));
    IX_CHECK(strcmp(zrec_aead_name(zrec_session_aead(c->s)), t->suite->aead) == 0,
             "imported AEAD %s", zrec_aead_name(zrec_session_aead(c->s)));
    IX_CHECK(zrec_session_events(c->s) == 0, "events %#x after import",
             zrec_session_events(c->s));
    IX_CHECK(zrec_session_overhead(c->s, &c->o) == 0, "overhead");
    c->min_hdr = c->dtls ? 13 : 5;
    c->next_tx_seq = zrec_session_seq(c->s, ZREC_DIR_WRITE);
    c->next_rx_seq = zrec_session_seq(c->s, ZREC_DIR_READ);
    ix_log("%s: zrec session (%s): write seq %llu epoch %u, read seq %llu epoch %u",
           ix_scenario_names[sc],
           zrec_provider_name(provider ? provider : zrec_provider_default()),
           (unsigned long long)c->next_tx_seq, zrec_session_epoch(c->s, ZREC_DIR_WRITE),
           (unsigned long long)c->next_rx_seq, zrec_session_epoch(c->s, ZREC_DIR_READ));
    c->rbuf = malloc(RBUF_CAP);
    IX_CHECK(c->rbuf != NULL, "malloc");
    c->rng = seed ^ 0x7a726563ull;
    ix_stream_init(&c->tx, seed, IX_ZREC_TO_PEER);
    ix_stream_init(&c->rx, seed, IX_PEER_TO_ZREC);
}

/* Stream sockets: nothing may follow the last record, the peer closes. */
static void expect_eof(struct conn *c, const char *phase)
{
    IX_CHECK(c->rstart == c->rend, "%s: %zu bytes after the last record", phase,
             c->rend - c->rstart);
    if (c->dtls)
        return; /* a datagram socketpair has no end of file */
    IX_CHECK(ix_wait(c->fd, POLLIN, IX_IO_TIMEOUT_MS), "%s: the peer kept the socket open",
             phase);
    uint8_t b;
    ssize_t r;
    while ((r = recv(c->fd, &b, 1, 0)) < 0 && errno == EINTR)
        ;
    IX_CHECK(r == 0, "%s: %zd after the last record (%s)", phase, r,
             r < 0 ? strerror(errno) : "data");
}

static void conn_close(struct conn *c)
{
    wait_peer();
    zrec_session_free(c->s);
    free(c->rbuf);
    close(c->fd);
}

static void send_record(struct conn *c, uint8_t *rec, size_t len, const char *phase)
{
    struct iovec iov = {rec, len};
    if (c->dtls)
        send_datagram(c, &iov, 1, phase);
    else
        send_stream(c, &iov, 1, phase);
    c->rec_out++;
}

/* ------------------------------------------------------------------------
 * Scenarios
 * ---------------------------------------------------------------------- */

static void run_main(struct conn *c)
{
    /* P0: a TLS 1.3 server's tickets (RFC 8446 §4.6.1), then the bytes
     * OpenSSL wrote as soon as its handshake returned. */
    z_read(c, IX_EARLY_BYTES, 0, "P0");
    if (c->tls13 && c->client) {
        expect_ctl_first(c, CTL_TICKET, IX_TICKETS, 0, "P0");
        IX_CHECK(zrec_session_events(c->s) & ZREC_EV_NEW_SESSION_TICKET, "P0: ticket event");
    } else {
        expect_ctl_first(c, CTL_TICKET, 0, 0, "P0");
    }
    z_write(c, IX_MIXED_BYTES, false, NULL, 0, "P1");
    z_read(c, IX_MIXED_BYTES, 0, "P2");
    expect_ctl_first(c, CTL_TICKET, 0, 0, "P2");
    z_write(c, IX_BULK_BYTES, true, NULL, 0, "P3");
    z_read(c, IX_BULK_BYTES, 0, "P4");
    expect_ctl_first(c, CTL_TICKET, 0, 0, "P4");

    uint8_t ctl[256];
    if (c->tls13) {
        for (int round = 0; round < IX_KU_ROUNDS; round++) {
            size_t n = z_key_update(c, true, ctl, sizeof ctl, "K1");
            z_write(c, IX_KU_BYTES, false, ctl, n, "K1");
            /* K2: OpenSSL answered with KeyUpdate(update_not_requested)
             * before its next data, and that data is under its new key. */
            z_read_key_update(c, 0, "K2");
            IX_CHECK(!(zrec_session_events(c->s) & ZREC_EV_KEY_UPDATE_OWED),
                     "K2: update_not_requested must not make a KeyUpdate owed");
            /* K3: OpenSSL's KeyUpdate(update_requested). */
            z_read_key_update(c, 1, "K3");
            z_expect_update_owed(c);
            n = z_key_update(c, false, ctl, sizeof ctl, "K4");
            IX_CHECK(!(zrec_session_events(c->s) & ZREC_EV_KEY_UPDATE_OWED),
                     "K4: still owed after zrec_seal_key_update");
            z_write(c, IX_KU_BYTES, false, ctl, n, "K4");
        }
        z_read(c, IX_SYNC_BYTES, 0, "S1");
        expect_ctl_first(c, CTL_KEY_UPDATE, 0, 0, "S1");
        z_write(c, IX_SYNC_BYTES, false, NULL, 0, "S2");
        /* The padding path must have run (OpenSSL pads from P2 on). */
        IX_CHECK(c->padded_in > 0, "no padded TLS 1.3 record from OpenSSL reached zrec");
        enum zrec_aead_id aead = zrec_session_aead(c->s);
        bool ccm = aead == ZREC_AES_128_CCM || aead == ZREC_AES_128_CCM_8;
        IX_CHECK((c->dst_split_in > 0 || ccm) && c->dst_refused > 0,
                 "records into a destination one inner type short: %lu opened, %lu refused",
                 c->dst_split_in, c->dst_refused);
    }

    /* C1: close_notify (RFC 8446 §6.1; RFC 5246 §7.2.1). */
    int n = zrec_seal_alert(c->s, ZREC_ALERT_WARNING, ZREC_ALERT_CLOSE_NOTIFY, ctl, sizeof ctl);
    IX_CHECK(n > 0, "C1: zrec_seal_alert: %d", n);
    send_record(c, ctl, (size_t)n, "C1");
    if (c->tls13) {
        /* C2: TLS 1.3 closes each direction on its own. */
        z_read(c, IX_HALF_CLOSE_BYTES, 0, "C2");
        expect_ctl_first(c, CTL_TICKET, 0, 0, "C2");
    }
    /* C3: OpenSSL's close_notify. */
    z_read(c, 0, ZREC_EV_PEER_CLOSED, "C3");
    IX_CHECK(c->nlog == 1 && c->log[0].kind == CTL_ALERT && c->log[0].a == ZREC_ALERT_WARNING &&
                 c->log[0].b == ZREC_ALERT_CLOSE_NOTIFY,
             "C3: expected one warning close_notify (%u records)", c->nlog);
    expect_eof(c, "C3");

    ix_log("main: %lu records sealed (%lu bursts, %lu scattered), %lu opened (%lu bursts, %lu "
           "scattered, %lu padded, %lu KeyUpdates mid-burst), %lu split reads, %u tickets",
           c->rec_out, c->bursts_out, c->scattered_out, c->rec_in, c->bursts_in,
           c->scattered_in, c->padded_in, c->key_update_mid_burst, c->split_reads, c->tickets);
    ix_log("main: %lu records opened into a destination (%lu with the inner type beyond it), "
           "%lu refused there (-ENOBUFS) and opened in place",
           c->dst_in, c->dst_split_in, c->dst_refused);
    if (c->dtls)
        ix_log("main: datagrams: %lu sent, %lu received (%lu with several records), %lu "
               "records dropped as stale/replayed",
               c->datagrams_out, c->datagrams_in, c->multi_record_dgrams, c->dropped);
}

/* Seal IX_TAMPER_BYTES of the stream as one record into buf. */
static size_t seal_one(struct conn *c, uint8_t *buf, const char *phase)
{
    uint8_t *payload = buf + c->o.headroom, *rec = NULL;
    ix_stream_fill(&c->tx, payload, IX_TAMPER_BYTES);
    int n = zrec_seal_record(c->s, ZREC_CT_APPLICATION_DATA, payload, IX_TAMPER_BYTES,
                             c->o.headroom, c->o.tailroom, &rec);
    IX_CHECK(n > 0 && rec == buf, "%s: zrec_seal_record: %d", phase, n);
    return (size_t)n;
}

static void run_tamper_zrec(struct conn *c)
{
    static uint8_t buf[ZREC_MAX_HEADROOM + IX_TAMPER_BYTES + ZREC_MAX_TAILROOM];
    size_t n = seal_one(c, buf, "T1");
    buf[c->o.headroom + IX_TAMPER_BYTES / 2] ^= 0x04; /* inside the ciphertext */
    send_record(c, buf, n, "T1");
    if (!c->dtls) {
        /* OpenSSL's bad_record_mac(20), after a TLS 1.3 server's tickets. */
        z_read(c, 0, ZREC_EV_PEER_ALERT | ZREC_EV_PEER_CLOSED, "T1");
        IX_CHECK(c->nlog >= 1, "T1: no alert");
        struct ctl *a = &c->log[c->nlog - 1];
        IX_CHECK(a->kind == CTL_ALERT && a->a == ZREC_ALERT_FATAL &&
                     a->b == ZREC_ALERT_BAD_RECORD_MAC,
                 "T1: expected a fatal bad_record_mac alert, got kind %d %u/%u", a->kind, a->a,
                 a->b);
        IX_CHECK(zrec_session_peer_alert(c->s) == ZREC_ALERT_BAD_RECORD_MAC &&
                     (zrec_session_events(c->s) & ZREC_EV_PEER_ALERT),
                 "T1: peer alert %d, events %#x", zrec_session_peer_alert(c->s),
                 zrec_session_events(c->s));
        for (unsigned i = 0; i + 1 < c->nlog; i++)
            IX_CHECK(c->log[i].kind == CTL_TICKET, "T1: control record %u before the alert", i);
        expect_eof(c, "T1");
    } else {
        /* Dropped by OpenSSL; the next record must get through. */
        n = seal_one(c, buf, "T1");
        send_record(c, buf, n, "T1");
        z_read(c, IX_TAMPER_ACK_BYTES, 0, "T1");
    }
    ix_log("tamper-zrec: OpenSSL %s zrec's forged record", c->dtls ? "dropped" : "rejected");
}

static void run_tamper_peer(struct conn *c)
{
    static uint8_t want[IX_TAMPER_BYTES];
    /* A TLS 1.3 server's tickets come first: open them as usual. */
    while (c->tls13 && c->client && c->tickets < IX_TICKETS) {
        size_t len = z_next_record(c, "T2");
        struct zrec_op op = {.sess = c->s, .data = c->rbuf + c->rstart, .len = (uint32_t)len};
        zrec_open_burst(&op, 1);
        IX_CHECK(op.status == 0, "T2: opening a ticket record: %d", op.status);
        on_record(c, &op, len - c->o.headroom, 0, true, "T2");
        c->rstart += len;
    }
    size_t len = z_next_record(c, "T2");
    uint8_t *rec = c->rbuf + c->rstart;
    size_t tag = c->o.tailroom - (c->tls13 ? 1 : 0);
    IX_CHECK(len >= c->o.headroom + IX_TAMPER_BYTES + tag, "T2: %zu-byte record", len);
    uint8_t *payload = rec + c->o.headroom;
    payload[IX_TAMPER_BYTES / 2] ^= 0x04;
    uint8_t *plain = NULL, type = 0;
    int r = zrec_open_record(c->s, rec, len, &plain, &type);
    IX_CHECK(r == -EBADMSG, "T2: opening a forged record from OpenSSL: %d", r);
    /* No unauthenticated plaintext may be left readable: at most chance
     * agreement with what the record would have decrypted to. */
    ix_stream_fill(&c->rx, want, IX_TAMPER_BYTES);
    unsigned same = 0;
    for (size_t i = 0; i < IX_TAMPER_BYTES; i++)
        same += payload[i] == want[i];
    IX_CHECK(same < IX_TAMPER_BYTES / 16, "T2: %u of %u plaintext bytes left after -EBADMSG",
             same, IX_TAMPER_BYTES);
    c->rstart += len;
    if (!c->dtls) {
        /* RFC 8446 §5.2: the connection is over, only alerts may follow. */
        IX_CHECK(zrec_session_events(c->s) & ZREC_EV_FATAL, "T2: no ZREC_EV_FATAL, events %#x",
                 zrec_session_events(c->s));
        uint8_t junk[64] = {ZREC_CT_APPLICATION_DATA, 3, 3, 0, 59};
        IX_CHECK(zrec_open_record(c->s, junk, sizeof junk, &plain, &type) == -EPIPE,
                 "T2: open after the failure");
        static uint8_t buf[ZREC_MAX_HEADROOM + 16 + ZREC_MAX_TAILROOM];
        uint8_t *out;
        IX_CHECK(zrec_seal_record(c->s, ZREC_CT_APPLICATION_DATA, buf + c->o.headroom, 16,
                                  c->o.headroom, c->o.tailroom, &out) == -EPIPE,
                 "T2: sealing data after the failure");
        int n = zrec_seal_alert(c->s, ZREC_ALERT_FATAL, ZREC_ALERT_BAD_RECORD_MAC, buf,
                                sizeof buf);
        IX_CHECK(n > 0, "T2: zrec_seal_alert: %d", n);
        send_record(c, buf, (size_t)n, "T2");
        expect_eof(c, "T2");
    } else {
        /* RFC 6347 §4.1.2.7: dropped; the session goes on. */
        IX_CHECK(!(zrec_session_events(c->s) & ZREC_EV_FATAL), "T2: DTLS session failed");
        z_read(c, IX_TAMPER_BYTES, 0, "T2");
        z_write(c, IX_TAMPER_ACK_BYTES, false, NULL, 0, "T2");
    }
    ix_log("tamper-peer: zrec %s OpenSSL's forged record", c->dtls ? "dropped" : "rejected");
}

int main(int argc, char **argv)
{
    if (argc < 6 || argc > 8) {
        fprintf(stderr, "usage: %s PROTO AEAD ROLE CERTS PEER [SEED [PROVIDER]]\n", argv[0]);
        return 2;
    }
    struct test t = {.proto_name = argv[1], .aead_name = argv[2], .certs = argv[4],
                     .peer_exe = argv[5]};
    if (ix_proto_from_name(argv[1], &t.proto) == 0)
        t.suite = ix_suite_find(t.proto, argv[2]);
    IX_CHECK(t.suite != NULL, "unknown protocol/AEAD %s/%s", argv[1], argv[2]);
    t.client = strcmp(argv[3], "client") == 0;
    IX_CHECK(t.client || strcmp(argv[3], "server") == 0, "role %s", argv[3]);
    uint64_t seed = 0x1e7e0u;
    for (const char *p = argv[2]; *p; p++)
        seed = seed * 31 + (uint8_t)*p;
    seed = seed * 8 + (uint64_t)t.proto * 2 + t.client;
    if (argc > 6)
        seed = strtoull(argv[6], NULL, 0);
    /* Every AEAD provider built, or the one named. */
    const struct zrec_aead_provider *providers[2] = {zrec_provider_ipsecmb(),
                                                     zrec_provider_wolfcrypt()};
    if (argc > 7) {
        providers[0] = zrec_provider_by_name(argv[7]);
        providers[1] = NULL;
        IX_CHECK(providers[0] != NULL, "provider %s not built", argv[7]);
    }
    ix_log("%s %s, zrec as %s, seed %llu (rerun: %s %s %s %s %s %s %llu)", argv[1], argv[2],
           argv[3], (unsigned long long)seed, argv[0], argv[1], argv[2], argv[3], argv[4],
           argv[5], (unsigned long long)seed);

    signal(SIGPIPE, SIG_IGN);
    alarm(IX_WATCHDOG_S);
    atexit(reap_peer);
    struct conn c;
    for (int i = 0; i < 2; i++) {
        if (providers[i] == NULL)
            continue;
        conn_open(&c, &t, IX_MAIN, seed + (uint64_t)i, providers[i]);
        run_main(&c);
        conn_close(&c);
    }
    conn_open(&c, &t, IX_TAMPER_ZREC, seed + 2, NULL);
    run_tamper_zrec(&c);
    conn_close(&c);
    conn_open(&c, &t, IX_TAMPER_PEER, seed + 3, NULL);
    run_tamper_peer(&c);
    conn_close(&c);
    printf("ok interop-openssl-%s-%s-%s\n", argv[1], argv[2], argv[3]);
    return 0;
}
