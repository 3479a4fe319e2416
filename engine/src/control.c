/*
 * Control records the engine seals (alerts, KeyUpdate, DTLS 1.3 ACKs) and the
 * one-record conveniences, on top of the burst API.
 */
#include <errno.h>
#include <string.h>

#include "record.h"

/* ------------------------------------------------------------------------
 * Conveniences and control records
 * ---------------------------------------------------------------------- */

int zrec_seal_record(struct zrec_session *s, uint8_t content_type, uint8_t *payload, size_t len,
                     size_t headroom, size_t tailroom, uint8_t **rec_out)
{
    if (len > UINT32_MAX)
        return -EMSGSIZE;
    struct zrec_op op = {
        .sess = s,
        .data = payload,
        .len = (uint32_t)len,
        .headroom = (uint16_t)(headroom > UINT16_MAX ? UINT16_MAX : headroom),
        .tailroom = (uint16_t)(tailroom > UINT16_MAX ? UINT16_MAX : tailroom),
        .content_type = content_type,
    };
    zrec_seal_burst(&op, 1);
    if (op.status < 0)
        return op.status;
    if (rec_out)
        *rec_out = op.rec;
    return (int)op.rec_len;
}

int zrec_open_record(struct zrec_session *s, uint8_t *rec, size_t len, uint8_t **plain_out,
                     uint8_t *content_type)
{
    if (len > UINT32_MAX)
        return -EMSGSIZE;
    struct zrec_op op = {.sess = s, .data = rec, .len = (uint32_t)len};
    zrec_open_burst(&op, 1);
    if (op.status < 0)
        return op.status;
    if (plain_out)
        *plain_out = op.rec;
    if (content_type)
        *content_type = op.content_type;
    return (int)op.rec_len;
}

/* Seal a small control message built in `buf` after the headroom. */
static int seal_control(struct zrec_session *s, uint8_t type, const uint8_t *msg, size_t len,
                        uint8_t *buf, size_t cap)
{
    struct zrec_overhead o;
    int rc = zrec_session_overhead(s, &o);
    if (rc < 0)
        return rc;
    if (cap < (size_t)o.headroom + len + o.tailroom)
        return -ENOSPC;
    uint8_t *payload = buf + o.headroom;
    memcpy(payload, msg, len);
    uint8_t *rec;
    rc = zrec_seal_record(s, type, payload, len, o.headroom, cap - o.headroom - len, &rec);
    if (rc < 0)
        return rc;
    if (rec != buf)
        memmove(buf, rec, (size_t)rc);
    return rc;
}

int zrec_seal_alert(struct zrec_session *s, uint8_t level, uint8_t description, uint8_t *buf,
                    size_t cap)
{
    if (s == NULL || buf == NULL || (level != ZREC_ALERT_WARNING && level != ZREC_ALERT_FATAL))
        return -EINVAL;
    const uint8_t msg[2] = {level, description};
    int rc = seal_control(s, ZREC_CT_ALERT, msg, 2, buf, cap);
    if (rc >= 0 && level == ZREC_ALERT_FATAL)
        s->events |= ZREC_EV_FATAL;
    return rc;
}

/* Seal a control message even at the write key's usage limit: a KeyUpdate
 * (and a DTLS 1.3 ACK) is how a connection gets past it. */
static int seal_control_at_limit(struct zrec_session *s, uint8_t type, const uint8_t *msg,
                                 size_t len, uint8_t *buf, size_t cap, struct zrec_op *out)
{
    uint64_t limit = s->tx.limit;
    if (s->tx.used >= s->tx.limit)
        s->tx.limit = s->tx.used + 1;
    uint64_t seq = s->tx.seq;
    uint16_t epoch = s->tx.epoch;
    int rc = seal_control(s, type, msg, len, buf, cap);
    s->tx.limit = limit;
    if (rc >= 0 && out) {
        out->seq = seq;
        out->epoch = epoch;
    }
    return rc;
}

int zrec_seal_key_update(struct zrec_session *s, bool request_update, uint8_t *buf, size_t cap)
{
    if (s == NULL || buf == NULL)
        return -EINVAL;
    if (s->proto == ZREC_DTLS13) {
        /* RFC 9147 §8: the KeyUpdate goes out under the current key and the
         * write key changes only once it is ACKed (handle_ack).  Calling
         * again before that retransmits the same message. */
        struct zrec_dtls13 *t = s->d13;
        if (!t->ku_pending) {
            t->ku_pending = true;
            t->ku_request = request_update ? 1 : 0;
            t->ku_msg_seq = t->hs_tx_seq++;
            t->ku_sent = 0;
        }
        /* §5.2 handshake header: type, length, message_seq, fragment_offset,
         * fragment_length; then KeyUpdateRequest. */
        const uint8_t msg[13] = {24, 0, 0, 1, (uint8_t)(t->ku_msg_seq >> 8),
                                 (uint8_t)t->ku_msg_seq, 0, 0, 0, 0, 0, 1, t->ku_request};
        struct zrec_op rn;
        int rc = seal_control_at_limit(s, ZREC_CT_HANDSHAKE, msg, sizeof msg, buf, cap, &rn);
        if (rc < 0)
            return rc;
        struct zrec_record_number sent = {rn.epoch, rn.seq};
        if (t->ku_sent == 0)
            t->ku_first = sent;
        t->ku_tx[t->ku_sent % ZREC_DTLS13_KU_TX] = sent;
        t->ku_sent++;
        /* Our KeyUpdate is on its way: application data may follow it. */
        s->events &= ~(unsigned)ZREC_EV_KEY_UPDATE_OWED;
        return rc;
    }
    if (s->proto != ZREC_TLS13)
        return -EOPNOTSUPP;
    /* RFC 8446 §4.6.3: KeyUpdate { KeyUpdateRequest request_update; } */
    const uint8_t msg[5] = {24, 0, 0, 1, request_update ? 1 : 0};
    int rc = seal_control_at_limit(s, ZREC_CT_HANDSHAKE, msg, sizeof msg, buf, cap, NULL);
    if (rc < 0)
        return rc;
    /* The new key comes with the AEAD's full limits (zrec__install). */
    int urc = zrec__key_update(s, &s->tx);
    if (urc < 0) {
        s->events |= ZREC_EV_FATAL;
        return urc;
    }
    s->events &= ~(unsigned)(ZREC_EV_KEY_UPDATE_OWED | ZREC_EV_REKEY_DUE);
    return rc;
}

int zrec_seal_ack(struct zrec_session *s, uint8_t *buf, size_t cap)
{
    if (s == NULL || buf == NULL)
        return -EINVAL;
    if (s->proto != ZREC_DTLS13)
        return -EOPNOTSUPP;
    struct zrec_dtls13 *t = s->d13;
    if (t->nack == 0)
        return -ENODATA;
    /* RFC 9147 §7: struct { RecordNumber record_numbers<2..2^16-2>; } ACK;
     * RecordNumber = { uint64 epoch; uint64 sequence_number; }. */
    uint8_t msg[2 + 16 * ZREC_DTLS13_MAX_ACKS];
    zrec__put16(msg, (uint16_t)(16 * t->nack));
    for (unsigned i = 0; i < t->nack; i++) {
        zrec__put64(msg + 2 + 16 * i, t->ack[i].epoch);
        zrec__put64(msg + 10 + 16 * i, t->ack[i].seq);
    }
    int rc = seal_control_at_limit(s, ZREC_CT_ACK, msg, 2 + 16u * t->nack, buf, cap, NULL);
    if (rc >= 0) {
        t->nack = 0;
        s->events &= ~(unsigned)ZREC_EV_ACK_OWED;
    }
    return rc;
}

int zrec_session_set_dtls13_message_seq(struct zrec_session *s, uint16_t next_send,
                                        uint16_t next_receive)
{
    if (s == NULL || s->proto != ZREC_DTLS13)
        return -EINVAL;
    s->d13->hs_tx_seq = next_send;
    s->d13->hs_rx_seq = next_receive;
    return 0;
}
