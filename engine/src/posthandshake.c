/*
 * Post-handshake messages in records the engine opens (RFC 8446 §4.6;
 * RFC 9147 §5.2, §7, §8): KeyUpdate, NewSessionTicket (handed to the
 * handshake glue), DTLS 1.3 message_seq and ACK bookkeeping.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

static int deliver_ticket(struct zrec_session *s, const struct rec_bytes *r, size_t off,
                          size_t len)
{
    s->events |= ZREC_EV_NEW_SESSION_TICKET;
    if (s->ticket_cb == NULL)
        return 0;
    /* The message may be scattered: hand over a contiguous copy (a control
     * message, not payload). */
    uint8_t msg[ZREC_MAX_PLAINTEXT];
    rec_copy(r, off, msg, len);
    int rc = s->ticket_cb(s->ticket_arg, msg, len);
    zrec__wipe(msg, len);
    return rc;
}

/* KeyUpdate received (RFC 8446 §4.6.3; RFC 9147 §8): switch the read key to
 * the next generation.  DTLS 1.3 keeps the old epoch's key until a record of
 * the new epoch arrives, since the peer goes on sending in the old epoch
 * until our ACK reaches it. */
static int peer_key_update(struct zrec_session *s, uint8_t request)
{
    if (request > 1)
        return -EPROTO;
    if (s->proto == ZREC_DTLS13) {
        struct zrec_dir_state *prev = s->d13->rx_prev;
        if (prev == NULL && (prev = malloc(sizeof *prev)) == NULL)
            return -ENOMEM;
        if (s->d13->rx_prev)
            zrec__dir_clear(s, prev);
        *prev = s->rx; /* takes over the old key contexts (or cache entry) */
        s->rx.aead = NULL;
        s->rx.sn = NULL;
        s->rx.key_id = 0;
        s->d13->rx_prev = prev;
    }
    int rc = zrec__key_update(s, &s->rx);
    if (rc < 0)
        return rc;
    if (request == 1)
        s->events |= ZREC_EV_KEY_UPDATE_OWED;
    return 0;
}

static void ack_owe(struct zrec_session *s, uint16_t epoch, uint64_t seq)
{
    struct zrec_dtls13 *t = s->d13;
    for (unsigned i = 0; i < t->nack; i++)
        if (t->ack[i].epoch == epoch && t->ack[i].seq == seq)
            return;
    if (t->nack < ZREC_DTLS13_MAX_ACKS)
        t->ack[t->nack++] = (struct zrec_record_number){epoch, seq};
    s->events |= ZREC_EV_ACK_OWED;
}

/* Post-handshake messages the engine itself acts upon: TLS 1.3 (RFC 8446
 * §4.6) with 4-byte handshake headers, DTLS 1.3 (RFC 9147 §5.2) with 12-byte
 * ones, message_seq de-duplication and ACKs (§7). */
int zrec__handle_handshake(struct zrec_session *s, const struct rec_bytes *r, size_t off,
                            size_t len, uint16_t epoch, uint64_t seq)
{
    if (s->proto != ZREC_TLS13 && s->proto != ZREC_DTLS13)
        return 0; /* TLS/DTLS 1.2 renegotiation is not supported: passed through */
    bool dtls = s->proto == ZREC_DTLS13;
    size_t hlen = dtls ? 12 : 4;
    size_t pos = 0;
    if (dtls)
        ack_owe(s, epoch, seq); /* §7.1: records with handshake data are ACKed */
    while (pos < len) {
        uint8_t h[12];
        if (len - pos < hlen)
            return -EPROTO;
        rec_copy(r, off + pos, h, hlen);
        size_t body = (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
        if (body > len - pos - hlen)
            return -EPROTO; /* fragmented post-handshake messages: not supported */
        size_t boff = off + pos + hlen;
        if (dtls) {
            /* Only unfragmented messages: offset 0, fragment = whole. */
            size_t frag_off = (size_t)h[6] << 16 | (size_t)h[7] << 8 | h[8];
            size_t frag_len = (size_t)h[9] << 16 | (size_t)h[10] << 8 | h[11];
            if (frag_off != 0 || frag_len != body)
                return -EPROTO;
            /* RFC 9147 §5.2 processes message_seq strictly in order.  After
             * the handoff nobody can retransmit a post-handshake message the
             * handshake library sent (e.g. a lost NewSessionTicket), so a gap
             * would stall every later KeyUpdate forever.  Post-handshake
             * messages are self-contained: take any newer one and skip the
             * gap; an older or repeated one is a retransmission (ACK only). */
            uint16_t mseq = zrec__get16(h + 4);
            if ((uint16_t)(mseq - s->d13->hs_rx_seq) >= 0x8000) {
                pos += hlen + body;
                continue;
            }
            s->d13->hs_rx_seq = (uint16_t)(mseq + 1);
        }
        if (h[0] == 24) { /* key_update */
            uint8_t req = 0;
            if (body != 1)
                return -EPROTO;
            rec_copy(r, boff, &req, 1);
            /* RFC 8446 §5.1: a KeyUpdate must end its record. */
            if (pos + hlen + 1 != len)
                return -EPROTO;
            int rc = peer_key_update(s, req);
            if (rc < 0)
                return rc;
        } else if (h[0] == 4) { /* new_session_ticket (RFC 8446 §4.6.1) */
            int rc = deliver_ticket(s, r, boff, body);
            if (rc < 0)
                return rc;
        }
        pos += hlen + body;
    }
    return 0;
}

/* ACK record (RFC 9147 §7): RecordNumber record_numbers<2..2^16-2>.  An ACK
 * of our KeyUpdate moves the write side to the next epoch (§8). */
int zrec__handle_ack(struct zrec_session *s, const struct rec_bytes *r, size_t off, size_t len)
{
    uint8_t l[2];
    if (len < 2)
        return -EPROTO;
    rec_copy(r, off, l, 2);
    size_t n = zrec__get16(l);
    if (n + 2 != len || n % 16 != 0)
        return -EPROTO;
    struct zrec_dtls13 *t = s->d13;
    for (size_t i = 0; i < n && t->ku_pending; i += 16) {
        uint8_t rn[16];
        rec_copy(r, off + 2 + i, rn, 16);
        uint64_t e = 0, q = 0;
        for (int k = 0; k < 8; k++) {
            e = e << 8 | rn[k];
            q = q << 8 | rn[8 + k];
        }
        bool ours = t->ku_sent && t->ku_first.epoch == e && t->ku_first.seq == q;
        unsigned held = t->ku_sent < ZREC_DTLS13_KU_TX ? t->ku_sent : ZREC_DTLS13_KU_TX;
        for (unsigned k = 0; k < held && !ours; k++)
            ours = t->ku_tx[k].epoch == e && t->ku_tx[k].seq == q;
        if (ours) {
            int rc = zrec__key_update(s, &s->tx);
            if (rc < 0)
                return rc;
            t->ku_pending = false;
            t->ku_sent = 0;
            s->events &= ~(unsigned)ZREC_EV_REKEY_DUE;
        }
    }
    return 0;
}

