/*
 * zrec_record_peek(): what a record header says, without a session — the
 * one reader of record headers for the engine (zrec_record_length()), the
 * facade and gateways (demultiplexing datagrams by CID or epoch, finding
 * record boundaries in a TLS stream).
 *
 *   TLS (RFC 8446 §5.1, RFC 5246 §6.2):  type(1) version(2) length(2)
 *   DTLS 1.2 (RFC 6347 §4.1):            type(1) version(2) epoch(2)
 *                                        seq(6) [cid, RFC 9146 §4] length(2)
 *   DTLS 1.3 unified (RFC 9147 §4):      001CSLEE [cid] seq(1|2) [length(2)]
 */
#include <errno.h>
#include <string.h>

#include "peek.h"

long zrec_record_peek(const uint8_t *buf, size_t avail, unsigned flags, uint8_t cid_len,
                      struct zrec_record_info *info)
{
    if ((buf == NULL && avail) || info == NULL || (flags & ~ZREC_PEEK_DTLS))
        return -EINVAL;
    return zrec__peek(buf, avail, flags & ZREC_PEEK_DTLS, cid_len, info);
}

