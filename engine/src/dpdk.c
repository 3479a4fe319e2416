/*
 * libzrec-dpdk: records in rte_mbufs (zrec/dpdk.h).
 *
 * Each packet becomes one zrec_op: a one-segment packet a contiguous op (so
 * that it shares the burst's AEAD pass), a chain a scattered op over its
 * segments.  Nothing is written to the mbuf's metadata until the engine
 * has sealed or opened the record; a refused op leaves the packet as it
 * was.  Bursts longer than ZREC_AEAD_BURST_MAX go to the engine in pieces
 * of that size, each with its segment tables on this frame.
 */
#include <errno.h>
#include <string.h>

#include "zrec/dpdk.h"

#define CHUNK 32

/* The segment table of one scattered op: the chain's segments, and a tail
 * segment added for the tag. */
struct chain {
    struct zrec_seg seg[ZREC_DPDK_MAX_SEGS + 1];
    struct rte_mbuf *added; /* the new last segment, or NULL */
    struct rte_mbuf *last;  /* the segment the tail goes after */
    uint32_t payload;
};

static struct rte_mbuf *last_seg(struct rte_mbuf *m)
{
    while (m->next)
        m = m->next;
    return m;
}

/* Build ops[i]'s engine op for sealing; 0 or a negative errno (nothing
 * changed: a tail segment taken is given back by the caller's undo). */
static int seal_op(const struct zrec_dpdk_op *o, struct zrec_op *op, struct chain *c,
                   struct rte_mempool *tail_pool)
{
    struct rte_mbuf *m = o->m;
    struct zrec_overhead oh;
    c->added = NULL;
    if (m == NULL || o->sess == NULL || zrec_session_overhead(o->sess, &oh) < 0)
        return -EINVAL;
    if (m->nb_segs > ZREC_DPDK_MAX_SEGS)
        return -E2BIG;
    c->last = last_seg(m);
    c->payload = rte_pktmbuf_pkt_len(m);
    *op = (struct zrec_op){.sess = o->sess,
                           .headroom = rte_pktmbuf_headroom(m),
                           .content_type = o->content_type};
    uint32_t tailroom = rte_pktmbuf_tailroom(c->last);
    if (tailroom < oh.tailroom && tail_pool != NULL) {
        /* The last segment is full: the tag goes into a new one (DTLS 1.3
         * CCM_8 may need less than the most the session could need, but a
         * new segment is taken only when that most does not fit). */
        c->added = rte_pktmbuf_alloc(tail_pool);
        if (c->added == NULL)
            return -ENOMEM;
        tailroom = rte_pktmbuf_tailroom(c->added);
    }
    op->tailroom = (uint16_t)tailroom; /* rte_pktmbuf_tailroom(): 16 bits */
    if (m->nb_segs == 1 && c->added == NULL) {
        op->data = rte_pktmbuf_mtod(m, uint8_t *);
        op->len = m->data_len;
        return 0;
    }
    unsigned n = 0;
    for (struct rte_mbuf *s = m; s; s = s->next)
        c->seg[n++] = (struct zrec_seg){rte_pktmbuf_mtod(s, uint8_t *), s->data_len};
    if (c->added)
        c->seg[n++] = (struct zrec_seg){rte_pktmbuf_mtod(c->added, uint8_t *), 0};
    op->seg = c->seg;
    op->nseg = (uint16_t)n;
    return 0;
}

/* A sealed record: the header became the packet's first bytes, the tail
 * its last (in the added segment, chained now). */
static void seal_done(struct zrec_dpdk_op *o, const struct zrec_op *op, struct chain *c)
{
    struct rte_mbuf *m = o->m;
    uint32_t hdr = (uint32_t)(rte_pktmbuf_mtod(m, uint8_t *) - op->rec);
    uint32_t tail = op->rec_len - hdr - c->payload;
    (void)rte_pktmbuf_prepend(m, (uint16_t)hdr);
    struct rte_mbuf *last = c->last;
    if (c->added) {
        last->next = c->added;
        m->nb_segs++;
        last = c->added;
    }
    last->data_len = (uint16_t)(last->data_len + tail);
    m->pkt_len += tail;
    o->pt_off = 0;
    o->rec_len = op->rec_len;
    o->seq = op->seq;
    o->epoch = op->epoch;
}

/* The segment holding byte `off` of the packet, and the offset in it. */
static struct rte_mbuf *seg_at(struct rte_mbuf *m, uint32_t *off)
{
    while (m && *off >= m->data_len) {
        *off -= m->data_len;
        m = m->next;
    }
    return m;
}

static int open_op(struct zrec_dpdk_op *o, struct zrec_op *op, struct chain *c)
{
    struct rte_mbuf *m = o->m;
    if (m == NULL || o->sess == NULL || o->off > rte_pktmbuf_pkt_len(m))
        return -EINVAL;
    uint32_t len = o->len ? o->len : rte_pktmbuf_pkt_len(m) - o->off;
    if (len > rte_pktmbuf_pkt_len(m) - o->off || len == 0)
        return -EINVAL;
    uint32_t at = o->off;
    struct rte_mbuf *s = seg_at(m, &at);
    *op = (struct zrec_op){.sess = o->sess};
    if (at + len <= s->data_len) {
        op->data = rte_pktmbuf_mtod_offset(s, uint8_t *, at);
        op->len = len;
        return 0;
    }
    unsigned n = 0;
    for (uint32_t left = len; left; s = s->next, at = 0) {
        if (n == ZREC_DPDK_MAX_SEGS)
            return -E2BIG;
        uint32_t take = RTE_MIN(left, (uint32_t)s->data_len - at);
        if (take)
            c->seg[n++] = (struct zrec_seg){rte_pktmbuf_mtod_offset(s, uint8_t *, at), take};
        left -= take;
    }
    op->seg = c->seg;
    op->nseg = (uint16_t)n;
    return 0;
}

/* What an opened record says, into its op. */
static void open_done(struct zrec_dpdk_op *o, const struct zrec_op *op)
{
    o->content_type = op->content_type;
    o->pt_off = o->off + op->rec_off;
    o->rec_len = op->rec_len;
    o->seq = op->seq;
    o->epoch = op->epoch;
}

/* Both directions: engine ops for up to CHUNK packets at a time (their
 * segment tables on this frame), one engine burst, the packets finished or
 * (seal) given back their tail segment. */
static unsigned burst(struct zrec_dpdk_op *ops, unsigned n, bool seal,
                      struct rte_mempool *tail_pool)
{
    unsigned good = 0;
    for (unsigned base = 0; base < n; base += CHUNK) {
        unsigned k = RTE_MIN(n - base, (unsigned)CHUNK);
        struct zrec_op op[CHUNK];
        struct chain ch[CHUNK];
        unsigned idx[CHUNK], m = 0;
        for (unsigned i = 0; i < k; i++) {
            struct zrec_dpdk_op *o = &ops[base + i];
            int rc = seal ? seal_op(o, &op[m], &ch[m], tail_pool) : open_op(o, &op[m], &ch[m]);
            if (rc < 0) {
                o->status = (int16_t)rc;
                continue;
            }
            idx[m++] = base + i;
        }
        good += seal ? zrec_seal_burst(op, m) : zrec_open_burst(op, m);
        for (unsigned j = 0; j < m; j++) {
            struct zrec_dpdk_op *o = &ops[idx[j]];
            o->status = op[j].status;
            if (op[j].status == 0)
                seal ? seal_done(o, &op[j], &ch[j]) : open_done(o, &op[j]);
            else if (seal && ch[j].added)
                rte_pktmbuf_free_seg(ch[j].added);
        }
    }
    return good;
}

unsigned zrec_dpdk_seal_burst(struct zrec_dpdk_op *ops, unsigned n, struct rte_mempool *tail_pool)
{
    return burst(ops, n, true, tail_pool);
}

unsigned zrec_dpdk_open_burst(struct zrec_dpdk_op *ops, unsigned n)
{
    return burst(ops, n, false, NULL);
}

struct rte_mbuf *zrec_dpdk_trim(struct rte_mbuf *m, uint32_t off, uint32_t len)
{
    if (m == NULL || off > rte_pktmbuf_pkt_len(m) || len > rte_pktmbuf_pkt_len(m) - off)
        return NULL;
    /* The end first: cut the segment holding the last byte kept, free
     * what follows. */
    uint32_t end = off + len;
    struct rte_mbuf *s = m, *prev = NULL;
    uint16_t nseg = 0;
    for (uint32_t pos = 0; s && (pos < end || nseg == 0); s = s->next) {
        nseg++;
        if (pos + s->data_len >= end) {
            s->data_len = (uint16_t)(end - pos);
            prev = s;
            s = s->next;
            break;
        }
        pos += s->data_len;
        prev = s;
    }
    if (prev) {
        prev->next = NULL;
        if (s)
            rte_pktmbuf_free(s);
    }
    /* Then the front: whole segments before `off` go, the first kept one
     * starts at it; the packet's fields move to the new first segment. */
    struct rte_mbuf *head = m;
    while (off >= head->data_len && head->next) {
        struct rte_mbuf *next = head->next;
        off -= head->data_len;
        next->port = head->port;
        next->packet_type = head->packet_type;
        next->ol_flags = head->ol_flags;
        head->next = NULL;
        rte_pktmbuf_free_seg(head);
        head = next;
        nseg--;
    }
    head->data_off = (uint16_t)(head->data_off + off);
    head->data_len = (uint16_t)(head->data_len - off);
    head->nb_segs = nseg;
    head->pkt_len = len;
    return head;
}
