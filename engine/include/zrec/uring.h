/*
 * zrec/uring.h — the io_uring data path: records sealed and opened in
 * registered buffers.
 *
 * Four parts a gateway puts together (tools/zrec-gw.c is the full example):
 *
 *  - A buffer pool (zrec_uring_pool): `slots` equal slots in one mapping,
 *    registered with io_uring_register_buffers() (slot i is fixed buffer i),
 *    lent to the kernel through two provided-buffer rings:
 *      ZREC_URING_RECORDS — receives of TLS records (the whole slot), and
 *      ZREC_URING_PAYLOAD — receives of plaintext to be sealed (the slot's
 *        payload area: `headroom` bytes in, at most 2^14 bytes long, so that
 *        the record header and tag fit around it in the same slot).
 *    A slot holds references; at zero it returns to its ring.  An empty ring
 *    ends a multishot receive with -ENOBUFS: that is back-pressure — re-arm
 *    the receive when slots come back (zrec_uring_pool_ready()), nothing is
 *    lost.
 *  - A receive stream (zrec_uring_rx): the slots a connection's TLS byte stream
 *    landed in, in order.  Complete records are framed into ops: a record in
 *    one slot opens in place; a record spanning slots opens through the
 *    engine's scatter-gather path (no copy).  Runts — receives of a few bytes
 *    that do not complete a record already spread over three slots, as a slow
 *    or hostile peer sends them — are appended to the last slot's free tail
 *    so that they cannot pin a slot each; those copies are counted
 *    (zrec_uring_stats).
 *  - A burst (zrec_uring_burst): the records of many connections, framed after
 *    one completion batch, go through one zrec_open_burst() / zrec_seal_burst().
 *  - A send queue (zrec_uring_tx): pieces of slots (sealed records, opened
 *    plaintext) and of caller memory, sent in order with one send in flight
 *    per socket: one piece of a slot goes as IORING_OP_WRITE_FIXED, several
 *    as one IORING_OP_SENDMSG (docs/GATEWAY.md says why); partial sends
 *    continue; each slot is released when its bytes are sent.
 *
 * All of it is single-threaded: one pool, its ring and its streams belong to
 * one thread (one worker of a sharded gateway).
 *
 * Completion routing is the caller's: it sets user_data on the SQEs these
 * functions prepare and passes the matching CQEs back.
 *
 * Experimental API: may change while the gateway matures.
 */
#ifndef ZREC_URING_H
#define ZREC_URING_H

#include <liburing.h>
#include <sys/uio.h>

#include "zrec/zrec.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --------------------------------------------------------------------------
 * What the kernel has and liburing 2.3 (Debian 12) lacks.
 * ------------------------------------------------------------------------ */

/** Enable a ring created with IORING_SETUP_R_DISABLED (Linux 5.10), from the
 *  thread that will submit to it: with IORING_SETUP_SINGLE_ISSUER that
 *  thread becomes the issuer.  liburing 2.3 declares io_uring_enable_rings()
 *  but its library does not define it.  Returns 0 or a negative errno. */
int zrec_uring_enable_rings(struct io_uring *ring);

/* --------------------------------------------------------------------------
 * Buffer pool
 * ------------------------------------------------------------------------ */

/** The two provided-buffer groups of a pool. */
enum zrec_uring_group {
    ZREC_URING_RECORDS = 0, /**< receives of TLS records: the whole slot */
    ZREC_URING_PAYLOAD = 1, /**< receives of plaintext: the payload area */
};

struct zrec_uring_pool_params {
    /** Bytes per slot; a multiple of the page size.  0: 20480 (a whole
     *  maximal record, 2^14 + 256 + 5 bytes, fits in one slot). */
    uint32_t slot_size;
    /** Payload area offset: room for the largest record header.  0: 64. */
    uint16_t headroom;
    /** Bytes kept free after the payload area for tag and inner type.  0: 64. */
    uint16_t tailroom;
    /** Slots lent for record receives and for payload receives (each a power
     *  of two, at most 32768; 0: 256 each). */
    uint16_t record_slots;
    uint16_t payload_slots;
    /** Slots kept out of both rings (0: 4), for zrec_uring_reserve_get(). */
    uint16_t reserve_slots;
    /** Buffer group ids of the two rings.  0, 0: 0 and 1. */
    uint16_t bgid_records;
    uint16_t bgid_payload;
};

struct zrec_uring_pool;

/** Map the slots, register them as fixed buffers and set up both
 *  provided-buffer rings on `ring`.  Returns NULL with *err a negative errno
 *  (-EINVAL bad parameters, -ENOMEM, or what io_uring refused: -ENOMEM /
 *  -EPERM when RLIMIT_MEMLOCK is too low for the fixed buffers). */
struct zrec_uring_pool *zrec_uring_pool_new(struct io_uring *ring,
                                            const struct zrec_uring_pool_params *params,
                                            int *err);

/** Unregister and unmap.  The ring must have no operation in flight that
 *  uses the pool.  NULL is a no-op. */
void zrec_uring_pool_free(struct zrec_uring_pool *pool);

/** The effective parameters (defaults filled in). */
const struct zrec_uring_pool_params *zrec_uring_pool_params(const struct zrec_uring_pool *pool);

/** Buffer group id to put in a receive SQE's buf_group for `group`. */
uint16_t zrec_uring_pool_bgid(const struct zrec_uring_pool *pool, enum zrec_uring_group group);

/** Slots of `group` currently lent to the kernel (ready to be received into). */
unsigned zrec_uring_pool_ready(const struct zrec_uring_pool *pool, enum zrec_uring_group group);

/** First byte of slot `slot`. */
uint8_t *zrec_uring_slot(const struct zrec_uring_pool *pool, uint16_t slot);

/** The slot holding byte `p` (which must lie inside the pool). */
uint16_t zrec_uring_slot_of(const struct zrec_uring_pool *pool, const uint8_t *p);

/** Take a reference on a slot the caller holds. */
void zrec_uring_slot_ref(struct zrec_uring_pool *pool, uint16_t slot);

/** Drop a reference; at zero the slot goes back to its ring. */
void zrec_uring_slot_unref(struct zrec_uring_pool *pool, uint16_t slot);

/** Prepare a multishot receive on `fd` into `group`.  Its completions carry
 *  a slot each; pass them to zrec_uring_recv_slot(). */
void zrec_uring_prep_recv(const struct zrec_uring_pool *pool, struct io_uring_sqe *sqe, int fd,
                          enum zrec_uring_group group);

/** A receive completion's slot and the data in it.  Returns the number of
 *  bytes received (> 0) and sets *slot and *data; the caller then holds one
 *  reference on the slot.  Returns 0 for end of stream and a negative errno
 *  for an error (-ENOBUFS: the group's ring was empty, back-pressure); no
 *  slot is held then. */
int zrec_uring_recv_slot(struct zrec_uring_pool *pool, const struct io_uring_cqe *cqe,
                         uint16_t *slot, uint8_t **data);

/** The reserve: slots outside the rings that guarantee progress when the
 *  record ring is empty and every slot is held by connections waiting for
 *  the rest of a record (which needs another slot: a deadlock).  Such a
 *  connection takes a reserve slot and receives exactly the bytes its record
 *  still lacks (zrec_uring_rx_need()) with a plain receive into it; when
 *  that record is opened and passed on, the slot returns to the reserve.
 *  Returns the slot (the caller holds one reference; receive at its start,
 *  at most slot_size bytes) or -ENOBUFS.  zrec_uring_rx_reserve() applies
 *  this to a receive stream. */
int zrec_uring_reserve_get(struct zrec_uring_pool *pool);

/** Reserve slots free. */
unsigned zrec_uring_reserve_free(const struct zrec_uring_pool *pool);

/* --------------------------------------------------------------------------
 * Receive stream: TLS records across receive completions
 * ------------------------------------------------------------------------ */

/** Received bytes in one slot (the stream's unconsumed part). */
struct zrec_uring_chunk {
    uint32_t off; /**< first unconsumed byte, from the slot's start */
    uint32_t len; /**< unconsumed bytes */
    uint16_t slot;
};

/** Per-connection receive stream.  Zero-initialise, then zrec_uring_rx_init().
 *  Fields are private. */
struct zrec_uring_rx {
    struct zrec_uring_pool *pool;
    struct zrec_uring_chunk *chunk;
    uint16_t nchunk;  /* chunks held */
    uint16_t cap;     /* chunk[] capacity */
    uint32_t framed;  /* bytes from the head already framed into ops */
    uint32_t need;    /* bytes the record being received still lacks (0: not known) */
    size_t bytes;     /* unconsumed bytes held */
};

void zrec_uring_rx_init(struct zrec_uring_rx *rx, struct zrec_uring_pool *pool);

/** Release every slot held and the chunk array. */
void zrec_uring_rx_clear(struct zrec_uring_rx *rx);

/** Append a receive (from zrec_uring_recv_slot(); the reference moves to the
 *  stream).  Returns 0 or -ENOMEM (the slot is released). */
int zrec_uring_rx_push(struct zrec_uring_rx *rx, uint16_t slot, uint8_t *data, uint32_t len);

/** Unconsumed bytes held. */
static inline size_t zrec_uring_rx_bytes(const struct zrec_uring_rx *rx) { return rx->bytes; }

/** Slots held. */
static inline unsigned zrec_uring_rx_slots(const struct zrec_uring_rx *rx) { return rx->nchunk; }

/** Bytes the stream lacks to complete its next record for session `s`
 *  (after those already framed): 0 when a record is complete or nothing is
 *  pending, 1 while the header itself is incomplete, a negative errno for a
 *  header that cannot start a record. */
long zrec_uring_rx_need(const struct zrec_uring_rx *rx, const struct zrec_session *s);

/** Where to receive the `need` bytes a record begun still lacks, when the
 *  record ring is empty: the free tail of the reserve slot that already
 *  holds the record's end, else a fresh reserve slot.  Sets the slot (the
 *  caller holds a reference for the receive), where to receive and at most
 *  how much; pass the received bytes to zrec_uring_rx_push(), which extends
 *  the last chunk without a copy.  Returns 0 or -ENOBUFS (reserve empty). */
int zrec_uring_rx_reserve(struct zrec_uring_rx *rx, uint32_t need, uint16_t *slot,
                          uint8_t **at, uint32_t *len);

/** Copy up to n bytes from the head of the stream and consume them (for a
 *  handshake library's read callback: handshake bytes are not records). */
size_t zrec_uring_rx_read(struct zrec_uring_rx *rx, uint8_t *buf, size_t n);

/** Copy up to n bytes from the head without consuming them. */
size_t zrec_uring_rx_peek(const struct zrec_uring_rx *rx, uint8_t *buf, size_t n);

/** Consume n bytes from the head (after the records framed from them were
 *  opened and their plaintext passed on). */
void zrec_uring_rx_consume(struct zrec_uring_rx *rx, size_t n);

/** Hand every unconsumed byte to a send queue (plain forwarding) and
 *  consume it. */
struct zrec_uring_tx;
int zrec_uring_rx_move(struct zrec_uring_rx *rx, struct zrec_uring_tx *tx);

/* --------------------------------------------------------------------------
 * Bursts across connections
 * ------------------------------------------------------------------------ */

#define ZREC_URING_BURST 64u
#define ZREC_URING_BURST_SEGS (ZREC_URING_BURST * 4u)

/** Ops of many connections for one zrec_open_burst() / zrec_seal_burst().
 *  Caller-owned, reused: zrec_uring_burst_reset(), add, run, then read each
 *  op with its owner. */
struct zrec_uring_burst {
    unsigned n;
    unsigned nseg;
    struct zrec_op op[ZREC_URING_BURST];
    void *owner[ZREC_URING_BURST];
    struct zrec_seg seg[ZREC_URING_BURST_SEGS];
};

static inline void zrec_uring_burst_reset(struct zrec_uring_burst *b) { b->n = b->nseg = 0; }

/** Frame the complete, not yet framed records at the head of `rx` into open
 *  ops of session `s` (owner = `owner`).  Returns the number added; stops when
 *  the burst is full (call again after running it).  Returns a negative errno
 *  when the next record's header is invalid (-EPROTO, -EMSGSIZE: the stream
 *  cannot be resynchronised, the connection must fail).  After the burst ran,
 *  consume each op's record with zrec_uring_rx_consume(rx, op_record_len),
 *  in order, once its plaintext is passed on. */
int zrec_uring_burst_frame(struct zrec_uring_burst *b, struct zrec_uring_rx *rx,
                           struct zrec_session *s, void *owner);

/** The length of the record an open op covered (header + ciphertext + tag). */
uint32_t zrec_uring_op_record_len(const struct zrec_op *op);

/** Add a seal op for the payload `data[0..len)` received into a payload-area
 *  slot (zrec_uring_recv_slot() on ZREC_URING_PAYLOAD).  Returns 0, or -ENOSPC
 *  when the burst is full. */
int zrec_uring_burst_add_seal(struct zrec_uring_burst *b, const struct zrec_uring_pool *pool,
                              struct zrec_session *s, uint8_t *data, uint32_t len,
                              uint8_t content_type, void *owner);

/** Run the burst: zrec_open_burst() or zrec_seal_burst() over all its ops.
 *  Returns the number that succeeded. */
unsigned zrec_uring_burst_open(struct zrec_uring_burst *b);
unsigned zrec_uring_burst_seal(struct zrec_uring_burst *b);

/** The plaintext of a successfully opened op as iovecs (one for a record in
 *  one slot, several for a scattered one).  Returns the count, at most max. */
unsigned zrec_uring_op_plain_iov(const struct zrec_op *op, struct iovec *iov, unsigned max);

/* --------------------------------------------------------------------------
 * Send queue
 * ------------------------------------------------------------------------ */

/** One queued piece: bytes in a slot (which the queue holds a reference on)
 *  or in caller memory (slot = ZREC_URING_NO_SLOT; the caller keeps it alive
 *  until it is sent). */
#define ZREC_URING_NO_SLOT 0xffffu
struct zrec_uring_piece {
    uint8_t *p;
    uint32_t len;
    uint16_t slot;
    void *owned; /**< malloc'd block freed when the piece is sent, or NULL */
};

/** Pieces one sendmsg carries at most (the kernel takes up to 1024): the
 *  plaintext of a slot of 1400-byte records is 14 pieces (header and tag lie
 *  between them), so a queue of a few slots goes out in one send. */
#define ZREC_URING_TX_IOV 256u

/** Per-socket ordered send queue.  Zero-initialise, then zrec_uring_tx_init().
 *  Fields are private. */
struct zrec_uring_tx {
    struct zrec_uring_pool *pool;
    struct zrec_uring_piece *q;
    uint32_t head, n, cap;     /* ring of queued pieces */
    uint32_t inflight;         /* pieces covered by the send in flight (0: idle) */
    size_t bytes;              /* queued bytes not yet sent */
    unsigned slots;            /* slot references held */
    struct msghdr msg;
    struct iovec *iov;         /* the send in flight's pieces (grown on demand) */
    uint32_t iov_cap;
};

void zrec_uring_tx_init(struct zrec_uring_tx *tx, struct zrec_uring_pool *pool);

/** Drop every queued piece (their slots are released) and the queue memory.
 *  Only when no send is in flight. */
void zrec_uring_tx_clear(struct zrec_uring_tx *tx);

/** Queue bytes in a slot (the queue takes its own reference) or in caller
 *  memory (slot = ZREC_URING_NO_SLOT).  Returns 0 or -ENOMEM. */
int zrec_uring_tx_push(struct zrec_uring_tx *tx, uint8_t *p, uint32_t len, uint16_t slot);

/** Queue a malloc'd block (a handshake flight, a control record); the queue
 *  frees it once sent or cleared.  On -ENOMEM it is freed at once. */
int zrec_uring_tx_push_owned(struct zrec_uring_tx *tx, uint8_t *p, uint32_t len);

/** Queue bytes of the pool, the slot found from the address. */
static inline int zrec_uring_tx_push_pool(struct zrec_uring_tx *tx, uint8_t *p, uint32_t len)
{
    return zrec_uring_tx_push(tx, p, len, zrec_uring_slot_of(tx->pool, p));
}

/** Queued bytes not yet sent, and slot references held. */
static inline size_t zrec_uring_tx_bytes(const struct zrec_uring_tx *tx) { return tx->bytes; }
static inline unsigned zrec_uring_tx_slots(const struct zrec_uring_tx *tx) { return tx->slots; }
static inline bool zrec_uring_tx_busy(const struct zrec_uring_tx *tx) { return tx->inflight != 0; }

/** If idle and something is queued, prepare the next send on an SQE of
 *  `ring` (submitting first when the submission queue is full).  Returns
 *  true when a send was prepared, false when idle with nothing queued, busy,
 *  or no SQE could be had. */
bool zrec_uring_tx_prep(struct zrec_uring_tx *tx, struct io_uring *ring, int fd,
                        uint64_t user_data);

/** The send's completion: releases what was sent, keeps a partial send's
 *  rest queued.  Returns res (bytes sent) or the send's negative errno. */
int zrec_uring_tx_complete(struct zrec_uring_tx *tx, int res);

/* --------------------------------------------------------------------------
 * Counters (per pool, so per thread)
 * ------------------------------------------------------------------------ */

struct zrec_uring_stats {
    unsigned long records_contiguous; /**< records framed in one slot */
    unsigned long records_scattered;  /**< records framed across slots (no copy) */
    unsigned long runt_copies;        /**< receives appended to a previous slot */
    unsigned long runt_bytes;         /**< bytes those appends copied */
    unsigned long sends_fixed;        /**< IORING_OP_WRITE_FIXED sends */
    unsigned long sends_msg;          /**< IORING_OP_SENDMSG sends */
    unsigned long enobufs;            /**< receives ended by an empty ring */
};

/** The pool's counters (of its streams, bursts and send queues). */
void zrec_uring_pool_stats(const struct zrec_uring_pool *pool, struct zrec_uring_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* ZREC_URING_H */
