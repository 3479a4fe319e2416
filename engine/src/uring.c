/*
 * The io_uring data path (zrec/uring.h): a registered slot pool lent to the
 * kernel through provided-buffer rings, TLS stream framing across receive
 * completions, bursts across connections, ordered send queues.
 *
 * Built on the engine's public API only (zrec.h); nothing here knows a
 * record format beyond zrec_record_length().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zrec/uring.h"

#define DEFAULT_SLOT_SIZE 20480u
#define DEFAULT_ROOM 64u
#define DEFAULT_SLOTS 256u
#define DEFAULT_RESERVE 4u
#define MAX_RING_ENTRIES 32768u
/* A receive this short that does not complete the record pending across
 * RUNT_SLOTS or more slots is appended to the last slot's free tail instead
 * of pinning a slot of its own: a peer dribbling bytes must not be able to
 * hold one slot per byte.  A bulk sender's record (at most 2^14 + 256 + 5
 * bytes) spans three 20 KiB slots only after two short receives, and its
 * last piece completes it: bulk traffic is never copied. */
#define RUNT_MAX 512u
#define RUNT_SLOTS 3u
/* Bytes of a record's start enough for zrec_record_length() in any format
 * (DTLS 1.2 with the largest CID: 13 + 255). */
#define HEADER_PEEK 272u
/* The engine opens a scattered record of at most this many segments. */
#define MAX_RECORD_SEGS 64u

struct group {
    struct io_uring_buf_ring *br;
    size_t br_len;
    uint16_t entries;
    uint16_t bgid;
    uint16_t first_slot;
    uint16_t nslots;
    uint32_t buf_off; /* where a receive starts in the slot */
    uint32_t buf_len; /* how many bytes it may fill */
    unsigned ready;   /* buffers lent to the kernel */
};

struct zrec_uring_pool {
    struct io_uring *ring;
    struct zrec_uring_pool_params p;
    uint8_t *mem;
    size_t mem_len;
    uint32_t nslots;       /* both rings' slots, then the reserve */
    uint16_t reserve_first;
    uint16_t *reserve_free; /* stack of free reserve slots */
    unsigned nreserve_free;
    uint16_t *refs;
    struct group g[2];
    struct zrec_uring_stats stats;
    bool registered;
};

int zrec_uring_enable_rings(struct io_uring *ring)
{
    long rc = syscall(__NR_io_uring_register, ring->ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
    return rc < 0 ? -errno : 0;
}

static bool pow2(unsigned v) { return v && !(v & (v - 1)); }

static struct group *group_of(struct zrec_uring_pool *pool, uint16_t slot)
{
    return slot < pool->g[1].first_slot ? &pool->g[0] : &pool->g[1];
}

/* Lend a slot back to the kernel: one ring entry, made visible at once (a
 * reserve slot goes back to the reserve). */
static void lend(struct zrec_uring_pool *pool, uint16_t slot)
{
    if (slot >= pool->reserve_first) {
        pool->reserve_free[pool->nreserve_free++] = slot;
        return;
    }
    struct group *g = group_of(pool, slot);
    io_uring_buf_ring_add(g->br, zrec_uring_slot(pool, slot) + g->buf_off, g->buf_len, slot,
                          io_uring_buf_ring_mask(g->entries), 0);
    io_uring_buf_ring_advance(g->br, 1);
    g->ready++;
}

static int group_setup(struct zrec_uring_pool *pool, struct group *g)
{
    long page = sysconf(_SC_PAGESIZE);
    g->br_len = ((size_t)g->entries * sizeof(struct io_uring_buf) + (size_t)page - 1) &
                ~((size_t)page - 1);
    void *m = mmap(NULL, g->br_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return -ENOMEM;
    g->br = m;
    io_uring_buf_ring_init(g->br);
    struct io_uring_buf_reg reg = {
        .ring_addr = (unsigned long)g->br, .ring_entries = g->entries, .bgid = g->bgid};
    int rc = io_uring_register_buf_ring(pool->ring, &reg, 0);
    if (rc < 0) {
        munmap(g->br, g->br_len);
        g->br = NULL;
        return rc;
    }
    for (unsigned i = 0; i < g->nslots; i++)
        lend(pool, (uint16_t)(g->first_slot + i));
    return 0;
}

struct zrec_uring_pool *zrec_uring_pool_new(struct io_uring *ring,
                                            const struct zrec_uring_pool_params *params,
                                            int *err)
{
    int rc = -EINVAL;
    struct zrec_uring_pool_params p = params ? *params : (struct zrec_uring_pool_params){0};
    long page = sysconf(_SC_PAGESIZE);
    if (!p.slot_size)
        p.slot_size = DEFAULT_SLOT_SIZE;
    if (!p.headroom)
        p.headroom = DEFAULT_ROOM;
    if (!p.tailroom)
        p.tailroom = DEFAULT_ROOM;
    if (!p.record_slots)
        p.record_slots = DEFAULT_SLOTS;
    if (!p.payload_slots)
        p.payload_slots = DEFAULT_SLOTS;
    if (!p.reserve_slots)
        p.reserve_slots = DEFAULT_RESERVE;
    if (!p.bgid_records && !p.bgid_payload)
        p.bgid_payload = 1;
    struct zrec_uring_pool *pool = NULL;
    if (ring == NULL || p.slot_size % (uint32_t)page || !pow2(p.record_slots) ||
        !pow2(p.payload_slots) || p.record_slots > MAX_RING_ENTRIES ||
        p.payload_slots > MAX_RING_ENTRIES || p.bgid_records == p.bgid_payload ||
        (uint32_t)p.headroom + p.tailroom + 1024u > p.slot_size)
        goto fail;
    rc = -ENOMEM;
    pool = calloc(1, sizeof *pool);
    if (pool == NULL)
        goto fail;
    pool->ring = ring;
    pool->p = p;
    pool->nslots = (uint32_t)p.record_slots + p.payload_slots + p.reserve_slots;
    if (pool->nslots > 0xfffe)
        goto fail_pool;
    pool->reserve_first = (uint16_t)(p.record_slots + p.payload_slots);
    pool->refs = calloc(pool->nslots, sizeof *pool->refs);
    pool->reserve_free = calloc(p.reserve_slots, sizeof *pool->reserve_free);
    if (pool->reserve_free == NULL)
        goto fail_pool;
    for (unsigned i = p.reserve_slots; i-- > 0;)
        pool->reserve_free[pool->nreserve_free++] = (uint16_t)(pool->reserve_first + i);
    pool->mem_len = (size_t)pool->nslots * p.slot_size;
    pool->mem = mmap(NULL, pool->mem_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0);
    if (pool->refs == NULL || pool->mem == MAP_FAILED) {
        pool->mem = NULL;
        goto fail_pool;
    }
    /* One fixed buffer per slot: a send of slot i names buffer index i. */
    struct iovec *iov = calloc(pool->nslots, sizeof *iov);
    if (iov == NULL)
        goto fail_pool;
    for (uint32_t i = 0; i < pool->nslots; i++)
        iov[i] = (struct iovec){pool->mem + (size_t)i * p.slot_size, p.slot_size};
    rc = io_uring_register_buffers(ring, iov, pool->nslots);
    free(iov);
    if (rc < 0)
        goto fail_pool;
    pool->registered = true;

    uint32_t payload_cap = p.slot_size - p.headroom - p.tailroom;
    if (payload_cap > ZREC_MAX_PLAINTEXT)
        payload_cap = ZREC_MAX_PLAINTEXT;
    pool->g[0] = (struct group){.entries = p.record_slots, .bgid = p.bgid_records,
                                .first_slot = 0, .nslots = p.record_slots,
                                .buf_off = 0, .buf_len = p.slot_size};
    pool->g[1] = (struct group){.entries = p.payload_slots, .bgid = p.bgid_payload,
                                .first_slot = p.record_slots, .nslots = p.payload_slots,
                                .buf_off = p.headroom, .buf_len = payload_cap};
    for (int i = 0; i < 2; i++) {
        rc = group_setup(pool, &pool->g[i]);
        if (rc < 0)
            goto fail_pool;
    }
    return pool;

fail_pool:
    zrec_uring_pool_free(pool);
fail:
    if (err)
        *err = rc;
    return NULL;
}

void zrec_uring_pool_free(struct zrec_uring_pool *pool)
{
    if (pool == NULL)
        return;
    for (int i = 0; i < 2; i++) {
        struct group *g = &pool->g[i];
        if (g->br) {
            io_uring_unregister_buf_ring(pool->ring, g->bgid);
            munmap(g->br, g->br_len);
        }
    }
    if (pool->registered)
        io_uring_unregister_buffers(pool->ring);
    if (pool->mem)
        munmap(pool->mem, pool->mem_len);
    free(pool->refs);
    free(pool->reserve_free);
    free(pool);
}

const struct zrec_uring_pool_params *zrec_uring_pool_params(const struct zrec_uring_pool *pool)
{
    return &pool->p;
}

uint16_t zrec_uring_pool_bgid(const struct zrec_uring_pool *pool, enum zrec_uring_group group)
{
    return pool->g[group].bgid;
}

unsigned zrec_uring_pool_ready(const struct zrec_uring_pool *pool, enum zrec_uring_group group)
{
    return pool->g[group].ready;
}

void zrec_uring_pool_stats(const struct zrec_uring_pool *pool, struct zrec_uring_stats *out)
{
    *out = pool->stats;
}

uint8_t *zrec_uring_slot(const struct zrec_uring_pool *pool, uint16_t slot)
{
    return pool->mem + (size_t)slot * pool->p.slot_size;
}

uint16_t zrec_uring_slot_of(const struct zrec_uring_pool *pool, const uint8_t *p)
{
    return (uint16_t)((size_t)(p - pool->mem) / pool->p.slot_size);
}

void zrec_uring_slot_ref(struct zrec_uring_pool *pool, uint16_t slot)
{
    pool->refs[slot]++;
}

void zrec_uring_slot_unref(struct zrec_uring_pool *pool, uint16_t slot)
{
    if (--pool->refs[slot] == 0)
        lend(pool, slot);
}

void zrec_uring_prep_recv(const struct zrec_uring_pool *pool, struct io_uring_sqe *sqe, int fd,
                          enum zrec_uring_group group)
{
    io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = pool->g[group].bgid;
}

int zrec_uring_recv_slot(struct zrec_uring_pool *pool, const struct io_uring_cqe *cqe,
                         uint16_t *slot, uint8_t **data)
{
    int res = cqe->res;
    if (res == -ENOBUFS)
        pool->stats.enobufs++;
    if (!(cqe->flags & IORING_CQE_F_BUFFER))
        return res > 0 ? -EIO : res; /* data without a buffer cannot happen */
    uint16_t s = (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    if (s >= pool->reserve_first)
        return -EIO;
    struct group *g = group_of(pool, s);
    g->ready--;
    if (res <= 0) {
        lend(pool, s);
        return res;
    }
    pool->refs[s] = 1;
    *slot = s;
    *data = zrec_uring_slot(pool, s) + g->buf_off;
    return res;
}

int zrec_uring_reserve_get(struct zrec_uring_pool *pool)
{
    if (pool->nreserve_free == 0)
        return -ENOBUFS;
    uint16_t slot = pool->reserve_free[--pool->nreserve_free];
    pool->refs[slot] = 1;
    return slot;
}

unsigned zrec_uring_reserve_free(const struct zrec_uring_pool *pool)
{
    return pool->nreserve_free;
}

/* ------------------------------------------------------------------------
 * Receive stream
 * ---------------------------------------------------------------------- */

void zrec_uring_rx_init(struct zrec_uring_rx *rx, struct zrec_uring_pool *pool)
{
    memset(rx, 0, sizeof *rx);
    rx->pool = pool;
}

void zrec_uring_rx_clear(struct zrec_uring_rx *rx)
{
    for (unsigned i = 0; i < rx->nchunk; i++)
        zrec_uring_slot_unref(rx->pool, rx->chunk[i].slot);
    free(rx->chunk);
    struct zrec_uring_pool *pool = rx->pool;
    zrec_uring_rx_init(rx, pool);
}

int zrec_uring_rx_push(struct zrec_uring_rx *rx, uint16_t slot, uint8_t *data, uint32_t len)
{
    struct zrec_uring_pool *pool = rx->pool;
    /* The record being received: does this receive complete it? */
    bool completes = rx->need && len >= rx->need;
    rx->need = rx->need > len ? rx->need - len : 0;
    if (rx->nchunk) {
        /* Received right behind the last chunk, in its slot (a reserve
         * slot being filled up): the chunk grows, no copy. */
        struct zrec_uring_chunk *last = &rx->chunk[rx->nchunk - 1];
        if (last->slot == slot && zrec_uring_slot(pool, slot) + last->off + last->len == data) {
            last->len += len;
            rx->bytes += len;
            zrec_uring_slot_unref(pool, slot);
            return 0;
        }
    }
    if (len <= RUNT_MAX && rx->nchunk >= RUNT_SLOTS && !completes) {
        struct zrec_uring_chunk *last = &rx->chunk[rx->nchunk - 1];
        uint32_t end = last->off + last->len;
        if (end + len <= pool->p.slot_size &&
            (last->slot < pool->g[1].first_slot || last->slot >= pool->reserve_first)) {
            memcpy(zrec_uring_slot(pool, last->slot) + end, data, len);
            last->len += len;
            rx->bytes += len;
            pool->stats.runt_copies++;
            pool->stats.runt_bytes += len;
            zrec_uring_slot_unref(pool, slot);
            return 0;
        }
    }
    if (rx->nchunk == rx->cap) {
        unsigned cap = rx->cap ? rx->cap * 2u : 4u;
        struct zrec_uring_chunk *c = cap <= 0xffff ? realloc(rx->chunk, cap * sizeof *c) : NULL;
        if (c == NULL) {
            zrec_uring_slot_unref(pool, slot);
            return -ENOMEM;
        }
        rx->chunk = c;
        rx->cap = (uint16_t)cap;
    }
    rx->chunk[rx->nchunk++] = (struct zrec_uring_chunk){
        .off = (uint32_t)(data - zrec_uring_slot(pool, slot)), .len = len, .slot = slot};
    rx->bytes += len;
    return 0;
}

size_t zrec_uring_rx_peek(const struct zrec_uring_rx *rx, uint8_t *buf, size_t n)
{
    size_t got = 0;
    for (unsigned i = 0; i < rx->nchunk && got < n; i++) {
        const struct zrec_uring_chunk *c = &rx->chunk[i];
        size_t take = c->len < n - got ? c->len : n - got;
        memcpy(buf + got, zrec_uring_slot(rx->pool, c->slot) + c->off, take);
        got += take;
    }
    return got;
}

void zrec_uring_rx_consume(struct zrec_uring_rx *rx, size_t n)
{
    unsigned drop = 0;
    rx->framed = n < rx->framed ? rx->framed - (uint32_t)n : 0;
    rx->bytes -= n < rx->bytes ? n : rx->bytes;
    while (n && drop < rx->nchunk) {
        struct zrec_uring_chunk *c = &rx->chunk[drop];
        if (n < c->len) {
            c->off += (uint32_t)n;
            c->len -= (uint32_t)n;
            break;
        }
        n -= c->len;
        zrec_uring_slot_unref(rx->pool, c->slot);
        drop++;
    }
    if (drop) {
        rx->nchunk = (uint16_t)(rx->nchunk - drop);
        memmove(rx->chunk, rx->chunk + drop, rx->nchunk * sizeof *rx->chunk);
    }
}

size_t zrec_uring_rx_read(struct zrec_uring_rx *rx, uint8_t *buf, size_t n)
{
    size_t got = zrec_uring_rx_peek(rx, buf, n);
    zrec_uring_rx_consume(rx, got);
    return got;
}

int zrec_uring_rx_move(struct zrec_uring_rx *rx, struct zrec_uring_tx *tx)
{
    size_t moved = 0;
    int rc = 0;
    for (unsigned i = 0; i < rx->nchunk && rc == 0; i++) {
        struct zrec_uring_chunk *c = &rx->chunk[i];
        rc = zrec_uring_tx_push(tx, zrec_uring_slot(rx->pool, c->slot) + c->off, c->len,
                                c->slot);
        if (rc == 0)
            moved += c->len;
    }
    zrec_uring_rx_consume(rx, moved);
    return rc;
}

/* Where the stream position rx->framed lies: chunk *ci, *off bytes in. */
static void locate_framed(const struct zrec_uring_rx *rx, unsigned *ci, uint32_t *off)
{
    unsigned i = 0;
    uint32_t o = rx->framed;
    while (o >= rx->chunk[i].len) {
        o -= rx->chunk[i].len;
        i++;
    }
    *ci = i;
    *off = o;
}

/* zrec_record_length() of the record at chunk ci, off: read in place; only
 * when its header itself straddles slots, from a copy of the header bytes
 * (a few, never payload that gets opened). */
static long length_at(const struct zrec_uring_rx *rx, const struct zrec_session *s, unsigned ci,
                      uint32_t off)
{
    const struct zrec_uring_chunk *c = &rx->chunk[ci];
    size_t part = c->len - off, avail = rx->bytes - rx->framed;
    long rl = zrec_record_length(s, zrec_uring_slot(rx->pool, c->slot) + c->off + off, part);
    /* 0: the header goes on in the next slot.  == part: a DTLS 1.3 header
     * without a length means "to the end of what follows", not of this
     * slot. */
    if (part == avail || rl < 0 || (rl > 0 && (size_t)rl != part))
        return rl;
    uint8_t hdr[HEADER_PEEK];
    size_t got = 0;
    for (unsigned i = ci; i < rx->nchunk && got < sizeof hdr; i++) {
        const struct zrec_uring_chunk *k = &rx->chunk[i];
        uint32_t from = i == ci ? off : 0;
        size_t take = k->len - from < sizeof hdr - got ? k->len - from : sizeof hdr - got;
        memcpy(hdr + got, zrec_uring_slot(rx->pool, k->slot) + k->off + from, take);
        got += take;
    }
    return zrec_record_length(s, hdr, got);
}

long zrec_uring_rx_need(const struct zrec_uring_rx *rx, const struct zrec_session *s)
{
    size_t avail = rx->bytes - rx->framed;
    if (avail == 0)
        return 0;
    unsigned ci;
    uint32_t off;
    locate_framed(rx, &ci, &off);
    long rl = length_at(rx, s, ci, off);
    if (rl < 0)
        return rl;
    if (rl == 0)
        return 1; /* the header is not complete yet: a byte at a time */
    return (size_t)rl > avail ? (long)((size_t)rl - avail) : 0;
}

int zrec_uring_rx_reserve(struct zrec_uring_rx *rx, uint32_t need, uint16_t *slot,
                          uint8_t **at, uint32_t *len)
{
    struct zrec_uring_pool *pool = rx->pool;
    if (need == 0)
        return -EINVAL;
    if (rx->nchunk) {
        /* A reserve slot already holds the record's end: fill it up. */
        const struct zrec_uring_chunk *last = &rx->chunk[rx->nchunk - 1];
        uint32_t end = last->off + last->len;
        if (last->slot >= pool->reserve_first && end < pool->p.slot_size) {
            uint32_t room = pool->p.slot_size - end;
            zrec_uring_slot_ref(pool, last->slot);
            *slot = last->slot;
            *at = zrec_uring_slot(pool, last->slot) + end;
            *len = need < room ? need : room;
            return 0;
        }
    }
    int r = zrec_uring_reserve_get(pool);
    if (r < 0)
        return r;
    *slot = (uint16_t)r;
    *at = zrec_uring_slot(pool, (uint16_t)r);
    *len = need < pool->p.slot_size ? need : pool->p.slot_size;
    return 0;
}

/* ------------------------------------------------------------------------
 * Bursts
 * ---------------------------------------------------------------------- */

int zrec_uring_burst_frame(struct zrec_uring_burst *b, struct zrec_uring_rx *rx,
                           struct zrec_session *s, void *owner)
{
    struct zrec_uring_pool *pool = rx->pool;
    int added = 0;
    while (b->n < ZREC_URING_BURST && rx->framed < rx->bytes) {
        unsigned ci;
        uint32_t off;
        locate_framed(rx, &ci, &off);
        const struct zrec_uring_chunk *c = &rx->chunk[ci];
        uint8_t *start = zrec_uring_slot(pool, c->slot) + c->off + off;
        size_t avail = rx->bytes - rx->framed;
        long rl = length_at(rx, s, ci, off);
        if (rl < 0)
            return added ? added : (int)rl;
        if (rl == 0 || (size_t)rl > avail) {
            /* Incomplete: remember what it lacks (unknown while the header
             * itself is cut). */
            rx->need = rl ? (uint32_t)((size_t)rl - avail) : 0;
            break;
        }
        rx->need = 0;
        struct zrec_op *op = &b->op[b->n];
        memset(op, 0, sizeof *op);
        op->sess = s;
        if ((size_t)rl <= c->len - off) {
            op->data = start;
            op->len = (uint32_t)rl;
        } else {
            /* Scattered: the record's pieces in each slot, opened in place. */
            size_t left = (size_t)rl;
            unsigned first = b->nseg, k = ci;
            uint32_t from = off;
            while (left) {
                if (b->nseg == ZREC_URING_BURST_SEGS || b->nseg - first == MAX_RECORD_SEGS) {
                    b->nseg = first;
                    return added;
                }
                const struct zrec_uring_chunk *kc = &rx->chunk[k];
                uint32_t take = kc->len - from;
                if (take > left)
                    take = (uint32_t)left;
                b->seg[b->nseg++] =
                    (struct zrec_seg){zrec_uring_slot(pool, kc->slot) + kc->off + from, take};
                left -= take;
                from = 0;
                k++;
            }
            op->seg = &b->seg[first];
            op->nseg = (uint16_t)(b->nseg - first);
        }
        if (op->nseg)
            pool->stats.records_scattered++;
        else
            pool->stats.records_contiguous++;
        b->owner[b->n++] = owner;
        rx->framed += (uint32_t)rl;
        added++;
    }
    return added;
}

uint32_t zrec_uring_op_record_len(const struct zrec_op *op)
{
    if (op->nseg == 0)
        return op->len;
    uint32_t len = 0;
    for (unsigned i = 0; i < op->nseg; i++)
        len += op->seg[i].len;
    return len;
}

int zrec_uring_burst_add_seal(struct zrec_uring_burst *b, const struct zrec_uring_pool *pool,
                              struct zrec_session *s, uint8_t *data, uint32_t len,
                              uint8_t content_type, void *owner)
{
    if (b->n == ZREC_URING_BURST)
        return -ENOSPC;
    uint8_t *base = zrec_uring_slot(pool, zrec_uring_slot_of(pool, data));
    struct zrec_op *op = &b->op[b->n];
    memset(op, 0, sizeof *op);
    op->sess = s;
    op->data = data;
    op->len = len;
    size_t head = (size_t)(data - base);
    size_t tail = pool->p.slot_size - head - len;
    op->headroom = (uint16_t)(head < 0xffff ? head : 0xffff);
    op->tailroom = (uint16_t)(tail < 0xffff ? tail : 0xffff);
    op->content_type = content_type;
    b->owner[b->n++] = owner;
    return 0;
}

unsigned zrec_uring_burst_open(struct zrec_uring_burst *b)
{
    return zrec_open_burst(b->op, b->n);
}

unsigned zrec_uring_burst_seal(struct zrec_uring_burst *b)
{
    return zrec_seal_burst(b->op, b->n);
}

unsigned zrec_uring_op_plain_iov(const struct zrec_op *op, struct iovec *iov, unsigned max)
{
    if (max == 0 || op->rec_len == 0)
        return 0;
    if (op->nseg == 0) {
        iov[0] = (struct iovec){op->rec, op->rec_len};
        return 1;
    }
    unsigned n = 0;
    size_t skip = op->rec_off, left = op->rec_len;
    for (unsigned i = 0; i < op->nseg && left && n < max; i++) {
        size_t sl = op->seg[i].len;
        if (skip >= sl) {
            skip -= sl;
            continue;
        }
        size_t take = sl - skip < left ? sl - skip : left;
        iov[n++] = (struct iovec){op->seg[i].base + skip, take};
        left -= take;
        skip = 0;
    }
    return n;
}

/* ------------------------------------------------------------------------
 * Send queue
 * ---------------------------------------------------------------------- */

void zrec_uring_tx_init(struct zrec_uring_tx *tx, struct zrec_uring_pool *pool)
{
    memset(tx, 0, sizeof *tx);
    tx->pool = pool;
}

static struct zrec_uring_piece *piece(struct zrec_uring_tx *tx, uint32_t i)
{
    return &tx->q[(tx->head + i) & (tx->cap - 1)];
}

static void release_piece(struct zrec_uring_tx *tx, struct zrec_uring_piece *p)
{
    free(p->owned);
    if (p->slot != ZREC_URING_NO_SLOT) {
        zrec_uring_slot_unref(tx->pool, p->slot);
        tx->slots--;
    }
}

void zrec_uring_tx_clear(struct zrec_uring_tx *tx)
{
    for (uint32_t i = 0; i < tx->n; i++)
        release_piece(tx, piece(tx, i));
    free(tx->q);
    free(tx->iov);
    struct zrec_uring_pool *pool = tx->pool;
    zrec_uring_tx_init(tx, pool);
}

static int tx_room(struct zrec_uring_tx *tx)
{
    if (tx->n == tx->cap) {
        /* Grow the ring (capacity stays a power of two), unrolled to start
         * at index 0. */
        uint32_t cap = tx->cap ? tx->cap * 2 : 8;
        struct zrec_uring_piece *q = malloc(cap * sizeof *q);
        if (q == NULL)
            return -ENOMEM;
        for (uint32_t i = 0; i < tx->n; i++)
            q[i] = *piece(tx, i);
        free(tx->q);
        tx->q = q;
        tx->cap = cap;
        tx->head = 0;
    }
    return 0;
}

int zrec_uring_tx_push_owned(struct zrec_uring_tx *tx, uint8_t *p, uint32_t len)
{
    if (tx_room(tx) < 0) {
        free(p);
        return -ENOMEM;
    }
    *piece(tx, tx->n++) = (struct zrec_uring_piece){p, len, ZREC_URING_NO_SLOT, p};
    tx->bytes += len;
    return 0;
}

int zrec_uring_tx_push(struct zrec_uring_tx *tx, uint8_t *p, uint32_t len, uint16_t slot)
{
    if (len == 0)
        return 0;
    if (tx_room(tx) < 0)
        return -ENOMEM;
    /* Extend the previous piece when the new bytes follow it in the same
     * slot (consecutive plaintext of records in one receive is not: a
     * header and tag lie between). */
    if (tx->n > tx->inflight) {
        struct zrec_uring_piece *last = piece(tx, tx->n - 1);
        if (last->slot == slot && slot != ZREC_URING_NO_SLOT && last->p + last->len == p) {
            last->len += len;
            tx->bytes += len;
            return 0;
        }
    }
    if (slot != ZREC_URING_NO_SLOT) {
        zrec_uring_slot_ref(tx->pool, slot);
        tx->slots++;
    }
    *piece(tx, tx->n++) = (struct zrec_uring_piece){p, len, slot, NULL};
    tx->bytes += len;
    return 0;
}

/* Room for cnt iovecs; returns how many there is room for (at least 1). */
static uint32_t iov_room(struct zrec_uring_tx *tx, uint32_t cnt)
{
    if (cnt <= tx->iov_cap)
        return cnt;
    uint32_t cap = tx->iov_cap ? tx->iov_cap : 8;
    while (cap < cnt)
        cap *= 2;
    struct iovec *iov = realloc(tx->iov, cap * sizeof *iov);
    if (iov == NULL)
        return tx->iov_cap ? tx->iov_cap : 1; /* 1: the single-piece send below */
    tx->iov = iov;
    tx->iov_cap = cap;
    return cnt;
}

bool zrec_uring_tx_prep(struct zrec_uring_tx *tx, struct io_uring *ring, int fd,
                        uint64_t user_data)
{
    if (tx->inflight || tx->n == 0)
        return false;
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    if (sqe == NULL) {
        io_uring_submit(ring);
        sqe = io_uring_get_sqe(ring);
        if (sqe == NULL)
            return false;
    }
    uint32_t cnt = iov_room(tx, tx->n < ZREC_URING_TX_IOV ? tx->n : ZREC_URING_TX_IOV);
    struct zrec_uring_piece *first = piece(tx, 0);
    if (cnt == 1 && first->slot != ZREC_URING_NO_SLOT) {
        /* One piece of a registered slot: the fixed-buffer write. */
        io_uring_prep_write_fixed(sqe, fd, first->p, first->len, 0, first->slot);
        tx->pool->stats.sends_fixed++;
    } else if (cnt == 1) {
        io_uring_prep_send(sqe, fd, first->p, first->len, MSG_NOSIGNAL);
        tx->pool->stats.sends_msg++;
    } else {
        for (uint32_t i = 0; i < cnt; i++) {
            struct zrec_uring_piece *pc = piece(tx, i);
            tx->iov[i] = (struct iovec){pc->p, pc->len};
        }
        memset(&tx->msg, 0, sizeof tx->msg);
        tx->msg.msg_iov = tx->iov;
        tx->msg.msg_iovlen = cnt;
        io_uring_prep_sendmsg(sqe, fd, &tx->msg, MSG_NOSIGNAL);
        tx->pool->stats.sends_msg++;
    }
    tx->inflight = cnt;
    io_uring_sqe_set_data64(sqe, user_data);
    return true;
}

int zrec_uring_tx_complete(struct zrec_uring_tx *tx, int res)
{
    tx->inflight = 0;
    if (res <= 0)
        return res < 0 ? res : -EPIPE;
    size_t left = (size_t)res;
    tx->bytes -= left < tx->bytes ? left : tx->bytes;
    while (left && tx->n) {
        struct zrec_uring_piece *p = piece(tx, 0);
        if (left < p->len) {
            p->p += left;
            p->len -= (uint32_t)left;
            break;
        }
        left -= p->len;
        release_piece(tx, p);
        tx->head = (tx->head + 1) & (tx->cap - 1);
        tx->n--;
    }
    return res;
}
