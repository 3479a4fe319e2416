/*
 * The post-handshake records a TLS 1.3 / DTLS 1.3 session owes its peer
 * (zs_dhs.h): ACKs (RFC 9147 §7) and KeyUpdates (RFC 8446 §4.6.3, RFC 9147
 * §8).  Shared by the facade's TLS and DTLS sockets and the DPDK data
 * plane, so in the static library zrec-dhs.
 */
#include <errno.h>

#include "zs_dhs.h"

int zs_pump_owed(struct zrec_session *zs, int64_t now, int64_t *key_update_at, uint8_t *buf,
                 size_t cap)
{
    unsigned ev = zrec_session_events(zs);
    enum zrec_proto proto = zrec_session_proto(zs);
    if (proto != ZREC_TLS13 && proto != ZREC_DTLS13)
        return 0; /* no post-handshake records before TLS 1.3 */
    if (ev & ZREC_EV_ACK_OWED) {
        int n = zrec_seal_ack(zs, buf, cap);
        return n == -ENODATA ? 0 : n;
    }
    if (!(ev & (ZREC_EV_KEY_UPDATE_OWED | ZREC_EV_REKEY_DUE)))
        return 0;
    if (key_update_at) {
        /* DTLS 1.3: the same KeyUpdate again until its ACK switches the
         * key (§8), once a retransmission timeout. */
        if (now < *key_update_at)
            return 0;
        *key_update_at = now + ZS_KEY_UPDATE_RTX_MS;
    }
    return zrec_seal_key_update(zs, false, buf, cap);
}
