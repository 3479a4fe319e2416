/*
 * zrec/dpdk.h — records sealed and opened in DPDK mbufs (libzrec-dpdk).
 *
 * The adapter between rte_mbuf packets and the engine's burst API
 * (zrec_seal_burst / zrec_open_burst), in place, no copy:
 *
 *  - Seal: the packet's data (one segment or a chain) is one record's
 *    plaintext.  The header goes into the first segment's headroom
 *    (rte_pktmbuf_prepend), the tag (and TLS 1.3 / DTLS 1.3 inner type and
 *    padding) after the last segment's data (its tailroom), or into a new
 *    last segment taken from `tail_pool` when the last one is full.  A
 *    one-segment packet joins the burst's shared AEAD pass; a chain goes
 *    through the engine's scatter-gather path, segment by segment.
 *  - Open: a record at [off, off + len) of a packet (a datagram may carry
 *    several, behind Ethernet/IP/UDP headers) opens in place; the op says
 *    where its plaintext lies in the packet.  zrec_dpdk_trim() cuts a
 *    packet down to it.
 *
 * Errors are per op and leave the mbuf as it was (data, lengths and chain):
 * -ENOSPC (headroom, or tailroom with no tail_pool), -ENOMEM (tail_pool
 * empty), -E2BIG (a chain of more than ZREC_DPDK_MAX_SEGS segments),
 * -EINVAL (no mbuf, a record range outside the packet), and every status of
 * zrec_seal_burst() / zrec_open_burst().
 *
 * The functions take no lock and keep no state: any lcore may call them on
 * its own packets and sessions (a session is used by one thread at a time,
 * as everywhere in zrec).
 */
#ifndef ZREC_DPDK_H
#define ZREC_DPDK_H

#include <rte_mbuf.h>

#include "zrec/zrec.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The longest mbuf chain one record may span (the engine's op limit). */
#define ZREC_DPDK_MAX_SEGS 63

/** One record of a burst. */
struct zrec_dpdk_op {
    struct zrec_session *sess; /**< in */
    struct rte_mbuf *m;        /**< in: the packet (first segment of a chain) */
    uint32_t off;              /**< open, in: where the record starts in the packet */
    uint32_t len;              /**< open, in: the record's length (0: to the end of the packet) */
    uint8_t content_type;      /**< seal: in; open: out */
    int16_t status;            /**< out: 0 or a negative errno */
    /** out: seal: the record's length (it starts at the packet's first
     *  byte); open: the plaintext's offset in the packet and its length. */
    uint32_t pt_off;
    uint32_t rec_len;
    uint64_t seq;   /**< out: the record's sequence number */
    uint16_t epoch; /**< out, open: its DTLS epoch */
};

/** Seal n packets, each into one record of ops[i].sess (content type
 *  ops[i].content_type), in burst order per session.  tail_pool: where a
 *  new last segment comes from when a packet's last segment lacks the
 *  tailroom for the tag, or NULL (then -ENOSPC).
 *  @return the number of ops with status 0. */
unsigned zrec_dpdk_seal_burst(struct zrec_dpdk_op *ops, unsigned n,
                              struct rte_mempool *tail_pool);

/** Open n records in place.  On success content_type, pt_off (the
 *  plaintext's offset in the packet), rec_len (its length), seq and epoch
 *  are set; the packet's lengths are unchanged.
 *  @return the number of ops with status 0. */
unsigned zrec_dpdk_open_burst(struct zrec_dpdk_op *ops, unsigned n);

/** Cut a packet down to [off, off + len) of its data: segments left empty
 *  at either end are freed.  Returns the packet's (possibly new) first
 *  segment, or NULL (m untouched) when the range is not inside the packet. */
struct rte_mbuf *zrec_dpdk_trim(struct rte_mbuf *m, uint32_t off, uint32_t len);

#ifdef __cplusplus
}
#endif

#endif
