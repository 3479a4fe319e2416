/*
 * The record-header parse behind zrec_record_peek() (peek.c) and
 * zrec_record_length() (record.c), inlined into both: the length alone
 * (every record a stream or datagram reader meets) leaves the other
 * fields' stores to the compiler to drop.  Header layouts: peek.c.
 */
#ifndef ZREC_PEEK_H
#define ZREC_PEEK_H

#include <errno.h>
#include <string.h>

#include "internal.h"

static inline long peek_finish(struct zrec_record_info *info, size_t hdr, size_t len, size_t limit)
{
    if (len > limit)
        return -EMSGSIZE;
    info->header_len = (uint16_t)hdr;
    info->length = (uint32_t)(hdr + len);
    return (long)info->length;
}

static inline __attribute__((always_inline)) long zrec__peek(const uint8_t *buf, size_t avail,
                                                            bool dtls, uint8_t cid_len,
                                                            struct zrec_record_info *info)
{
    memset(info, 0, sizeof *info);
    if (avail == 0)
        return 0;
    if (dtls && (buf[0] & 0xe0) == DTLS13_FIXED) {
        /* Unified header: the content type and the full sequence number
         * are encrypted; the epoch travels as its low two bits. */
        info->unified = true;
        info->epoch = buf[0] & 3;
        size_t cid = (buf[0] & DTLS13_C) ? cid_len : 0;
        size_t seq_len = (buf[0] & DTLS13_S) ? 2 : 1;
        size_t hdr = 1 + cid + seq_len;
        if (buf[0] & DTLS13_L)
            hdr += 2;
        if (avail < hdr)
            return 0;
        if (cid) {
            info->cid = buf + 1;
            info->cid_len = (uint8_t)cid;
        }
        info->seq = seq_len == 2 ? zrec__get16(buf + 1 + cid) : buf[1 + cid];
        /* Without a length the record runs to the end of the datagram. */
        size_t len = (buf[0] & DTLS13_L) ? zrec__get16(buf + hdr - 2) : avail - hdr;
        return peek_finish(info, hdr, len, TLS13_MAX_CIPHERTEXT);
    }
    /* TLSPlaintext / TLSCiphertext and DTLS 1.2: an outer content type
     * (DTLS adds tls12_cid, RFC 9146, and ack, RFC 9147 §7). */
    uint8_t type = buf[0];
    if (type < ZREC_CT_CHANGE_CIPHER_SPEC || type > (dtls ? ZREC_CT_ACK : ZREC_CT_APPLICATION_DATA))
        return -EPROTO;
    info->content_type = type;
    if (avail < 3)
        return 0;
    info->version = zrec__get16(buf + 1);
    /* Major version: 3 for TLS (SSL 3.0 numbering), 0xfe for DTLS. */
    if ((buf[1] != (dtls ? 0xfe : 0x03)))
        return -EPROTO;
    if (!dtls) {
        if (avail < 5)
            return 0;
        return peek_finish(info, 5, zrec__get16(buf + 3), TLS12_MAX_CIPHERTEXT);
    }
    size_t cid = type == ZREC_CT_TLS12_CID ? cid_len : 0;
    size_t hdr = 13 + cid;
    if (avail < hdr)
        return 0;
    info->epoch = zrec__get16(buf + 3);
    info->seq = zrec__get48(buf + 5);
    if (cid) {
        info->cid = buf + 11;
        info->cid_len = (uint8_t)cid;
    }
    return peek_finish(info, hdr, zrec__get16(buf + hdr - 2), TLS12_MAX_CIPHERTEXT);
}

#endif
