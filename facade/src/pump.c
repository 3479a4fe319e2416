/*
 * The record pump both transports run (docs/FACADE.md): open one record of
 * a session with the engine and say what it was; the post-handshake
 * records owed to the peer; tickets into the session cache; handing
 * plaintext to the caller's iovecs.  The TLS stream (tls_stream.c) and the
 * DTLS socket (dtls_socket.c) keep their buffers and decide what each kind
 * of record means for their connection (a TLS failure is fatal, a DTLS
 * record is dropped).
 */
#include <errno.h>
#include <string.h>

#include "zs_tls.h"

int zs_pump_open(struct zrec_session *zs, uint8_t *rec, size_t len, uint8_t *into, size_t cap,
                 struct zs_opened *o)
{
    struct zrec_op op = {.sess = zs, .data = rec, .len = (uint32_t)len};
    if (into) {
        /* Copy-on-decrypt: the AEAD pass writes the plaintext where the
         * caller wants it, the only pass over the payload. */
        op.dst = into;
        op.dst_cap = (uint32_t)cap;
    }
    zrec_open_burst(&op, 1);
    if (op.status == -ENOBUFS) { /* larger than the caller's buffer: in place */
        op.dst = NULL;
        zrec_open_burst(&op, 1);
    }
    *o = (struct zs_opened){.status = op.status, .type = op.content_type};
    if (op.status < 0)
        return o->kind = ZS_REC_REFUSED;
    unsigned ev = zrec_session_events(zs);
    switch (op.content_type) {
    case ZREC_CT_APPLICATION_DATA:
        /* RFC 8446 §5.4: an empty record may carry padding only. */
        if (op.rec_len == 0)
            return o->kind = ZS_REC_CONTROL;
        o->data = op.rec;
        o->len = op.rec_len;
        o->direct = op.dst != NULL;
        return o->kind = ZS_REC_DATA;
    case ZREC_CT_ALERT:
        if (ev & ZREC_EV_PEER_CLOSED)
            return o->kind = ZS_REC_CLOSE_NOTIFY;
        if (ev & ZREC_EV_PEER_ALERT)
            return o->kind = ZS_REC_FATAL_ALERT;
        return o->kind = ZS_REC_CONTROL; /* a warning alert */
    case ZREC_CT_ACK:
        return o->kind = ZS_REC_ACK;
    default:
        /* Post-handshake handshake messages (KeyUpdate, NewSessionTicket):
         * the engine acted on them; what is owed comes from zs_pump_owed,
         * a ticket from zs_pump_ticket. */
        return o->kind = ZS_REC_CONTROL;
    }
}

void zs_pump_ticket(const struct zs_tls *t, struct zrec_session *zs, int fd)
{
    /* A TLS 1.3 / DTLS 1.3 NewSessionTicket after the handoff: resumption
     * for the next connection to this peer (RFC 8446 §4.6.1). */
    if ((zrec_session_events(zs) & ZREC_EV_NEW_SESSION_TICKET) && !t->server &&
        t->session_cache == TLS_SESSION_CACHE_ENABLED)
        zs_tls_cache_store(fd, zrec_wolfssl_get1_session(zs));
}

size_t zs_pump_copy(const uint8_t *src, size_t n, const struct msghdr *msg)
{
    size_t done = 0;
    for (size_t i = 0; i < (size_t)msg->msg_iovlen && done < n; i++) {
        size_t take = msg->msg_iov[i].iov_len;
        if (take > n - done)
            take = n - done;
        memcpy(msg->msg_iov[i].iov_base, src + done, take);
        done += take;
    }
    return done;
}
