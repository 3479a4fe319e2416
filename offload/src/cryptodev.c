/*
 * The cryptodev provider (zrec/offload.h).
 *
 * A provider descriptor per device, embedded first in struct zrec_offload:
 * a context's `provider` leads back to its device.  The interface's
 * supports() has no provider argument, so each of the MAX_DEVICES
 * instances gets its own (generated) supports function.
 *
 * Per key context: the key (cryptodev sessions are made lazily, one pair per
 * AAD length — a cryptodev AEAD session fixes the AAD length, and DTLS 1.3
 * headers vary), and a software context of the default provider with the
 * same key, for the records the device does not take.
 *
 * A burst: crypto ops from the op pool, each pointing into the record's
 * buffer through an mbuf header of the calling thread's (no mbuf pool: the
 * headers describe the engine's memory, never freed to a pool), the IV in
 * the op's private area and the op's index (and the burst's number) behind
 * it; one enqueue on the thread's queue pair, dequeues until all are back.
 * Completions come in any order: each op says which record it was.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_bus_vdev.h>
#include <rte_cryptodev.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "zrec/offload.h"

#define MAX_DEVICES 8
#define BURST ZREC_AEAD_BURST_MAX
#define AAD_SLOTS 64 /* AAD lengths 0..63: every TLS/DTLS format's */
#define IV_OFFSET (sizeof(struct rte_crypto_op) + sizeof(struct rte_crypto_sym_op))
/* An op's private area: the IV, what the op is (struct op_tag), and two
 * mbuf headers over the record's input and output, on a cache line of
 * their own (struct rte_mbuf is cache-aligned). */
#define TAG_OFFSET (IV_OFFSET + 16)
/* AES-CCM's AAD, copied where cryptodev wants it: 18 bytes into a buffer
 * padded to 16 (rte_crypto_sym.h: room for B0 and the length encoding). */
#define CCM_AAD_OFFSET RTE_ALIGN_CEIL(TAG_OFFSET + sizeof(struct op_tag), 16)
#define CCM_AAD_SIZE RTE_ALIGN_CEIL(18 + AAD_SLOTS, 16)
#define MB_OFFSET RTE_ALIGN_CEIL(CCM_AAD_OFFSET + CCM_AAD_SIZE, RTE_CACHE_LINE_SIZE)
#define PRIV_SIZE (MB_OFFSET + 2 * sizeof(struct rte_mbuf) - IV_OFFSET)
#define LOCAL_MAX 256 /* asynchronous ops done in software, per thread and device */
#define REFUSED ((void *)1) /* the device refuses this AAD length */
/* A device that keeps ops longer than this is given up on for the burst. */
#define DEQUEUE_TIMEOUT_MS 1000

/* Synchronous: the record's index in its burst and the burst's number
 * (never 0).  Asynchronous: burst 0, and the engine's op with its context
 * (for a software redo). */
struct op_tag {
    uint32_t index;
    uint32_t burst;
    struct zrec_aead_op *aop;
    struct zrec_aead_ctx *ctx;
    bool enc;
};

struct zrec_offload {
    struct zrec_aead_provider p; /* first: a context's provider is this */
    char pname[96];
    char devname[64];
    unsigned slot;
    uint8_t dev;
    uint16_t nb_qp;
    bool started_here, created_vdev, oop;
    bool iova_va; /* IOVA as VA: an address is its own IOVA */
    bool cpu_crypto; /* synchronous ops through the CPU path, not the queue */
    bool cpu_aead[ZREC_AEAD_COUNT]; /* ...for this AEAD (probed: a device may
                                       advertise the path and refuse an AEAD) */
    uint32_t depth; /* descriptors per queue pair */
    bool aead[ZREC_AEAD_COUNT];
    struct rte_mempool *op_pool, *sess_pool;
    const struct zrec_aead_provider *sw;
    atomic_uint next_qp;
    uint32_t fault_every; /* zrec_offload_params.fault_every */
    atomic_uint_fast64_t fault_n;
    atomic_uint_fast64_t device_ops, auth_failures, fallback_full, fallback_error,
        fallback_no_qp, fallback_aad;
};

struct cd_ctx {
    struct zrec_aead_ctx super;
    uint8_t key[32];
    _Atomic(void *) sess[2][AAD_SLOTS]; /* [decrypt, encrypt][aad_len] */
    struct zrec_aead_ctx *sw;
};

static struct zrec_offload *_Atomic instances[MAX_DEVICES];

/* Per thread: its queue pair on each device (0 not yet chosen, q + 1, or
 * -1 none left), the burst counter, the asynchronous ops' state.  One
 * initial-exec TLS block, found once per burst (a shared library's default
 * TLS model costs a __tls_get_addr call per access). */
struct thread_state {
    int qp[MAX_DEVICES];
    uint32_t burst;
    unsigned inflight[MAX_DEVICES]; /* asynchronous ops on the device */
    /* Asynchronous ops done in software (or met by a synchronous burst's
     * dequeue), waiting for complete(). */
    struct zrec_aead_op *local[MAX_DEVICES][LOCAL_MAX];
    unsigned local_n[MAX_DEVICES];
    struct rte_mbuf mb[2 * BURST]; /* a synchronous burst's mbuf headers */
};
static __thread struct thread_state tls_state __attribute__((tls_model("initial-exec")));

static void count(atomic_uint_fast64_t *c, uint64_t n);
static int sw_one(const struct cd_ctx *c, bool enc, struct zrec_aead_op *op);

static bool is_ccm(enum zrec_aead_id id)
{
    return id == ZREC_AES_128_CCM || id == ZREC_AES_128_CCM_8;
}

static enum rte_crypto_aead_algorithm algo_of(enum zrec_aead_id id)
{
    return id == ZREC_CHACHA20_POLY1305 ? RTE_CRYPTO_AEAD_CHACHA20_POLY1305
           : is_ccm(id)                 ? RTE_CRYPTO_AEAD_AES_CCM
                                        : RTE_CRYPTO_AEAD_AES_GCM;
}

static int instance_supports(unsigned slot, enum zrec_aead_id id)
{
    struct zrec_offload *o = atomic_load(&instances[slot]);
    return o && (unsigned)id < ZREC_AEAD_COUNT && o->aead[id];
}

#define SUPPORTS(i)                                                                      \
    static int supports_##i(enum zrec_aead_id id) { return instance_supports(i, id); }
SUPPORTS(0)
SUPPORTS(1)
SUPPORTS(2)
SUPPORTS(3)
SUPPORTS(4)
SUPPORTS(5)
SUPPORTS(6)
SUPPORTS(7)
static int (*const supports_fn[MAX_DEVICES])(enum zrec_aead_id) = {
    supports_0, supports_1, supports_2, supports_3,
    supports_4, supports_5, supports_6, supports_7};

static size_t cd_ctx_size(enum zrec_aead_id id)
{
    (void)id;
    return sizeof(struct cd_ctx);
}

static struct zrec_offload *owner(const struct zrec_aead_ctx *ctx)
{
    return (struct zrec_offload *)ctx->provider;
}

static int cd_init(struct zrec_aead_ctx *base, const uint8_t *key)
{
    struct cd_ctx *c = (struct cd_ctx *)base;
    struct zrec_offload *o = owner(base);
    memcpy(c->key, key, base->alg->key_len);
    for (int d = 0; d < 2; d++)
        for (int i = 0; i < AAD_SLOTS; i++)
            atomic_init(&c->sess[d][i], NULL);
    /* The software twin: the default provider's context for the same key. */
    size_t sz = (o->sw->ctx_size(base->alg->id) + 63) & ~(size_t)63;
    c->sw = aligned_alloc(64, sz);
    if (c->sw == NULL)
        return -ENOMEM;
    memset(c->sw, 0, sz);
    c->sw->alg = base->alg;
    c->sw->provider = o->sw;
    int rc = o->sw->init(c->sw, key);
    if (rc < 0) {
        free(c->sw);
        c->sw = NULL;
    }
    return rc;
}

static void cd_dispose(struct zrec_aead_ctx *base)
{
    struct cd_ctx *c = (struct cd_ctx *)base;
    struct zrec_offload *o = owner(base);
    for (int d = 0; d < 2; d++)
        for (int i = 0; i < AAD_SLOTS; i++) {
            void *s = atomic_load(&c->sess[d][i]);
            if (s && s != REFUSED)
                rte_cryptodev_sym_session_free(o->dev, s);
        }
    if (c->sw) {
        if (o->sw->dispose)
            o->sw->dispose(c->sw);
        size_t sz = (o->sw->ctx_size(base->alg->id) + 63) & ~(size_t)63;
        memset(c->sw, 0, sz);
        free(c->sw);
    }
    memset(c->key, 0, sizeof c->key);
}

/* The device session for this direction and AAD length, made on first use
 * (two threads may race: the loser frees its own).  NULL: not on the
 * device. */
static void *session_for(struct cd_ctx *c, bool enc, size_t aad_len)
{
    if (aad_len >= AAD_SLOTS)
        return NULL;
    void *s = atomic_load_explicit(&c->sess[enc][aad_len], memory_order_acquire);
    if (s)
        return s == REFUSED ? NULL : s;
    struct zrec_offload *o = owner(&c->super);
    const struct zrec_aead_alg *alg = c->super.alg;
    struct rte_crypto_sym_xform x = {
        .type = RTE_CRYPTO_SYM_XFORM_AEAD,
        .aead = {.op = enc ? RTE_CRYPTO_AEAD_OP_ENCRYPT : RTE_CRYPTO_AEAD_OP_DECRYPT,
                 .algo = algo_of(alg->id),
                 .key = {.data = c->key, .length = alg->key_len},
                 .iv = {.offset = IV_OFFSET, .length = ZREC_NONCE_LEN},
                 .digest_length = alg->tag_len,
                 .aad_length = (uint16_t)aad_len}};
    struct rte_cryptodev_sym_capability_idx idx = {.type = RTE_CRYPTO_SYM_XFORM_AEAD,
                                                   .algo.aead = x.aead.algo};
    const struct rte_cryptodev_symmetric_capability *cap =
        rte_cryptodev_sym_capability_get(o->dev, &idx);
    void *made = NULL;
    if (cap && rte_cryptodev_sym_capability_check_aead(cap, alg->key_len, alg->tag_len,
                                                       (uint16_t)aad_len,
                                                       ZREC_NONCE_LEN) == 0)
        made = rte_cryptodev_sym_session_create(o->dev, &x, o->sess_pool);
    /* A session pool that ran dry is not a refusal: the next record tries
     * again (meanwhile in software). */
    void *publish = made ? made : (cap ? NULL : REFUSED);
    if (made == NULL && rte_errno != ENOMEM)
        publish = REFUSED;
    void *expected = NULL;
    if (publish && !atomic_compare_exchange_strong(&c->sess[enc][aad_len], &expected, publish)) {
        if (made)
            rte_cryptodev_sym_session_free(o->dev, made);
        return expected == REFUSED ? NULL : expected;
    }
    return made;
}

/* The calling thread's queue pair on o, or -1. */
static int thread_qp(struct thread_state *ts, struct zrec_offload *o)
{
    int q = ts->qp[o->slot];
    if (q == 0) {
        unsigned n = atomic_fetch_add(&o->next_qp, 1);
        q = ts->qp[o->slot] = n < o->nb_qp ? (int)n + 1 : -1;
    }
    return q > 0 ? q - 1 : -1;
}

static inline rte_iova_t iova_of(const struct zrec_offload *o, const void *p)
{
    return o->iova_va ? (rte_iova_t)(uintptr_t)p : rte_mem_virt2iova(p);
}

/* An mbuf header over len bytes at p (the engine's memory): the fields a
 * crypto device reads of a one-segment mbuf. */
static inline struct rte_mbuf *ext(const struct zrec_offload *o, struct rte_mbuf *m,
                                   const uint8_t *p, uint32_t len)
{
    m->buf_addr = (void *)(uintptr_t)p;
    m->buf_iova = iova_of(o, p);
    m->buf_len = (uint16_t)len;
    m->data_off = 0;
    m->data_len = (uint16_t)len;
    m->pkt_len = len;
    m->nb_segs = 1;
    m->next = NULL;
    m->ol_flags = 0;
    rte_mbuf_refcnt_set(m, 1);
    return m;
}

static int sw_one(const struct cd_ctx *c, bool enc, struct zrec_aead_op *op)
{
    const struct zrec_aead_provider *sw = c->sw->provider;
    return enc ? sw->seal(c->sw, op->nonce, op->aad, op->aad_len, op->in, op->out, op->len,
                          op->tag)
               : sw->open(c->sw, op->nonce, op->aad, op->aad_len, op->in, op->out, op->len,
                          op->tag);
}

/* zrec_offload_params.fault_every: is this record's turn to "fail"? */
static inline bool inject_fault(struct zrec_offload *o)
{
    return o->fault_every &&
           atomic_fetch_add_explicit(&o->fault_n, 1, memory_order_relaxed) % o->fault_every ==
               o->fault_every - 1;
}

static void count(atomic_uint_fast64_t *c, uint64_t n)
{
    if (n)
        atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* One crypto op for the engine's op: session, data through the mbuf
 * headers in the op's private area, digest, AAD, IV, tag. */
static void fill_op(const struct zrec_offload *o, struct rte_crypto_op *x, void *sess,
                    struct zrec_aead_op *op, struct op_tag tag, struct rte_mbuf *mb, bool ccm)
{
    if (op->in != op->out && !o->oop) {
        memmove(op->out, op->in, op->len);
        op->in = op->out;
    }
    rte_crypto_op_attach_sym_session(x, sess);
    struct rte_crypto_sym_op *s = x->sym;
    s->m_src = ext(o, &mb[0], op->in, op->len);
    s->m_dst = op->in == op->out ? NULL : ext(o, &mb[1], op->out, op->len);
    s->aead.data.offset = 0;
    s->aead.data.length = op->len;
    s->aead.digest.data = op->tag;
    s->aead.digest.phys_addr = iova_of(o, op->tag);
    uint8_t *iv = rte_crypto_op_ctod_offset(x, uint8_t *, IV_OFFSET);
    if (ccm) {
        /* The nonce at iv[1] (the flags byte is the device's), the AAD 18
         * bytes into its buffer. */
        uint8_t *aad = rte_crypto_op_ctod_offset(x, uint8_t *, CCM_AAD_OFFSET);
        memcpy(aad + 18, op->aad, op->aad_len);
        s->aead.aad.data = aad;
        s->aead.aad.phys_addr = rte_crypto_op_ctophys_offset(x, CCM_AAD_OFFSET);
        memcpy(iv + 1, op->nonce, ZREC_NONCE_LEN);
    } else {
        s->aead.aad.data = (uint8_t *)(uintptr_t)op->aad;
        s->aead.aad.phys_addr = iova_of(o, op->aad);
        memcpy(iv, op->nonce, ZREC_NONCE_LEN);
    }
    *rte_crypto_op_ctod_offset(x, struct op_tag *, TAG_OFFSET) = tag;
}

static void local_push(struct zrec_offload *o, struct thread_state *ts, struct zrec_aead_op *aop)
{
    ts->local[o->slot][ts->local_n[o->slot]++] = aop;
}

/* An asynchronous op back from the device: its status (a device error is
 * redone in software), kept for complete(); the crypto op is freed. */
static void async_done(struct zrec_offload *o, struct thread_state *ts, struct rte_crypto_op *x)
{
    struct op_tag *t = rte_crypto_op_ctod_offset(x, struct op_tag *, TAG_OFFSET);
    struct zrec_aead_op *aop = t->aop;
    uint8_t st = x->status;
    if (st == RTE_CRYPTO_OP_STATUS_SUCCESS) {
        aop->status = 0;
        count(&o->device_ops, 1);
    } else if (st == RTE_CRYPTO_OP_STATUS_AUTH_FAILED && !t->enc) {
        aop->status = -EBADMSG;
        count(&o->device_ops, 1);
        count(&o->auth_failures, 1);
    } else {
        aop->status = sw_one((const struct cd_ctx *)t->ctx, t->enc, aop);
        count(&o->fallback_error, 1);
    }
    ts->inflight[o->slot]--;
    /* Room is certain: an op in flight was counted against LOCAL_MAX when
     * it was submitted (cd_submit). */
    local_push(o, ts, aop);
    rte_crypto_op_free(x);
}

/* The device's synchronous CPU path (rte_cryptodev_sym_cpu_crypto_process,
 * RTE_CRYPTODEV_FF_SYM_CPU_CRYPTO): no queue, no op, no mbuf — the records'
 * own buffers, one call per run of ops under one device session.  For
 * software devices (crypto_aesni_gcm, crypto_aesni_mb) it is the same work
 * without the queue's. */
static void cpu_run(struct zrec_offload *o, struct zrec_aead_ctx *const ctxs[],
                    struct zrec_aead_op *ops, unsigned n, bool enc)
{
    uint64_t on_device = 0, auth_failed = 0, soft = 0, aad = 0;
    bool fault = false; /* ops[i]'s turn to "fail" came (fault_every) */
    for (unsigned i = 0; i < n;) {
        struct cd_ctx *c = (struct cd_ctx *)ctxs[i];
        if (fault || inject_fault(o)) {
            fault = false;
            ops[i].status = sw_one(c, enc, &ops[i]);
            soft++;
            i++;
            continue;
        }
        void *sess = session_for(c, enc, ops[i].aad_len);
        if (sess == NULL) {
            ops[i].status = sw_one(c, enc, &ops[i]);
            aad++;
            i++;
            continue;
        }
        unsigned j = i + 1;
        while (j < n && ctxs[j] == ctxs[i] && ops[j].aad_len == ops[i].aad_len) {
            if (inject_fault(o)) {
                fault = true; /* ops[j] starts the next round, in software */
                break;
            }
            j++;
        }
        unsigned k = j - i;
        struct rte_crypto_vec vec[BURST];
        struct rte_crypto_sgl sgl[BURST];
        struct rte_crypto_va_iova_ptr iv[BURST], dig[BURST], ad[BURST];
        int32_t st[BURST];
        for (unsigned m = 0; m < k; m++) {
            struct zrec_aead_op *op = &ops[i + m];
            if (op->in != op->out) { /* the CPU path works in place */
                memmove(op->out, op->in, op->len);
                op->in = op->out;
            }
            vec[m] = (struct rte_crypto_vec){.base = op->out, .iova = iova_of(o, op->out),
                                             .len = op->len, .tot_len = op->len};
            sgl[m] = (struct rte_crypto_sgl){.vec = &vec[m], .num = 1};
            iv[m] = (struct rte_crypto_va_iova_ptr){(void *)(uintptr_t)op->nonce,
                                                    iova_of(o, op->nonce)};
            dig[m] = (struct rte_crypto_va_iova_ptr){op->tag, iova_of(o, op->tag)};
            ad[m] = (struct rte_crypto_va_iova_ptr){(void *)(uintptr_t)op->aad,
                                                    iova_of(o, op->aad)};
            st[m] = 0;
        }
        struct rte_crypto_sym_vec sv = {.num = k, .src_sgl = sgl, .iv = iv, .digest = dig,
                                        .aad = ad, .status = st};
        union rte_crypto_sym_ofs ofs = {.raw = 0};
        rte_cryptodev_sym_cpu_crypto_process(o->dev, sess, ofs, &sv);
        for (unsigned m = 0; m < k; m++) {
            struct zrec_aead_op *op = &ops[i + m];
            if (st[m] == 0) {
                op->status = 0;
                on_device++;
            } else if (!enc && (st[m] == EBADMSG || st[m] == -EBADMSG)) {
                op->status = -EBADMSG;
                on_device++;
                auth_failed++;
            } else {
                op->status = sw_one(c, enc, op);
                soft++;
            }
        }
        i = j;
    }
    count(&o->device_ops, on_device);
    count(&o->auth_failures, auth_failed);
    count(&o->fallback_error, soft);
    count(&o->fallback_aad, aad);
}

/* n ops (n <= BURST) through the device, the rest in software. */
static void run(struct zrec_aead_ctx *const ctxs[], struct zrec_aead_op *ops, unsigned n,
                bool enc)
{
    struct zrec_offload *o = owner(ctxs[0]);
    if (o->cpu_crypto && o->cpu_aead[ctxs[0]->alg->id]) {
        cpu_run(o, ctxs, ops, n, enc);
        return;
    }
    struct thread_state *ts = &tls_state;
    bool soft[BURST] = {false};
    int qp = thread_qp(ts, o);
    struct rte_crypto_op *cop[BURST];
    unsigned m = 0;
    if (qp < 0) {
        for (unsigned i = 0; i < n; i++)
            soft[i] = true;
        count(&o->fallback_no_qp, n);
    } else if (rte_crypto_op_bulk_alloc(o->op_pool, RTE_CRYPTO_OP_TYPE_SYMMETRIC, cop, n) != n) {
        for (unsigned i = 0; i < n; i++)
            soft[i] = true;
        count(&o->fallback_full, n);
    } else {
        uint32_t burst = ++ts->burst ? ts->burst : ++ts->burst; /* never 0: asynchronous */
        for (unsigned i = 0; i < n; i++) {
            struct zrec_aead_op *op = &ops[i];
            struct cd_ctx *c = (struct cd_ctx *)ctxs[i];
            if (inject_fault(o)) {
                soft[i] = true;
                count(&o->fallback_error, 1);
                continue;
            }
            void *sess = session_for(c, enc, op->aad_len);
            if (sess == NULL) {
                soft[i] = true;
                count(&o->fallback_aad, 1);
                continue;
            }
            /* The thread's mbuf headers: a synchronous burst is over
             * before the next (the op's own, in the async path, cost a
             * fifth of a 64-byte record in cache misses). */
            fill_op(o, cop[m], sess, op, (struct op_tag){.index = i, .burst = burst},
                    &ts->mb[2 * m], is_ccm(c->super.alg->id));
            m++;
        }
        if (m < n)
            rte_mempool_put_bulk(o->op_pool, (void **)cop + m, n - m);
        /* Back-pressure: never more than the queue pair holds in flight
         * (what it can take, less one: a ring keeps a slot free), so that
         * the device takes every op.  Ops a device does not take go to
         * software, which is right only if it left them untouched, as
         * rte_cryptodev_enqueue_burst() promises; crypto_openssl breaks that
         * promise on a full queue (it encrypts, then fails to queue the
         * result), which is one more reason never to fill it. */
        unsigned enq = 0, got = 0, room = o->depth > 1 ? o->depth - 1 : 1;
        uint64_t deadline = rte_get_timer_cycles() + rte_get_timer_hz() * DEQUEUE_TIMEOUT_MS / 1000;
        bool refused = false;
        /* Counted once per burst: an atomic add per record cost a tenth of
         * a 64-byte record's time. */
        uint64_t on_device = 0, auth_failed = 0, errors = 0;
        while (got < enq || (enq < m && !refused)) {
            if (enq < m && !refused && enq - got < room) {
                unsigned want = RTE_MIN(m - enq, room - (enq - got));
                uint16_t k = rte_cryptodev_enqueue_burst(o->dev, (uint16_t)qp, cop + enq,
                                                         (uint16_t)want);
                enq += k;
                refused = k == 0 && enq == got; /* nothing in flight, nothing taken */
                if (refused)
                    break;
            }
            struct rte_crypto_op *done[BURST];
            uint16_t k = got < enq ? rte_cryptodev_dequeue_burst(o->dev, (uint16_t)qp, done,
                                                                 BURST)
                                   : 0;
            if (k == 0 && rte_get_timer_cycles() > deadline)
                break;
            for (uint16_t j = 0; j < k; j++) {
                struct op_tag *t = rte_crypto_op_ctod_offset(done[j], struct op_tag *, TAG_OFFSET);
                if (j + 1 < k)
                    rte_prefetch0(done[j + 1]);
                if (t->burst == 0) {
                    /* The thread's asynchronous op: kept for complete(). */
                    async_done(o, ts, done[j]);
                    done[j] = NULL;
                    continue;
                }
                if (t->burst == burst) {
                    got++;
                    uint8_t st = done[j]->status;
                    if (st == RTE_CRYPTO_OP_STATUS_SUCCESS) {
                        ops[t->index].status = 0;
                        on_device++;
                    } else if (st == RTE_CRYPTO_OP_STATUS_AUTH_FAILED && !enc) {
                        ops[t->index].status = -EBADMSG;
                        on_device++;
                        auth_failed++;
                    } else {
                        soft[t->index] = true;
                        errors++;
                    }
                }
            }
            unsigned nfree = 0;
            for (uint16_t j = 0; j < k; j++)
                if (done[j] != NULL)
                    done[nfree++] = done[j];
            if (nfree)
                rte_mempool_put_bulk(o->op_pool, (void **)done, nfree);
        }
        count(&o->device_ops, on_device);
        count(&o->auth_failures, auth_failed);
        count(&o->fallback_error, errors);
        /* What the device did not take (stopped, or refusing): software. */
        for (unsigned j = enq; j < m; j++) {
            struct op_tag *t = rte_crypto_op_ctod_offset(cop[j], struct op_tag *, TAG_OFFSET);
            soft[t->index] = true;
        }
        count(&o->fallback_full, m - enq);
        if (m > enq)
            rte_mempool_put_bulk(o->op_pool, (void **)cop + enq, m - enq);
        if (got < enq) {
            /* Still in the device: their buffers may yet be written.  The
             * records fail (-ETIMEDOUT), the engine wipes what it must. */
            for (unsigned i = 0; i < n; i++)
                if (!soft[i] && ops[i].status > 0)
                    ops[i].status = -ETIMEDOUT;
            count(&o->fallback_error, enq - got);
        }
    }
    for (unsigned i = 0; i < n; i++)
        if (soft[i])
            ops[i].status = sw_one((const struct cd_ctx *)ctxs[i], enc, &ops[i]);
}

static void burst(struct zrec_aead_ctx *const ctxs[], struct zrec_aead_op ops[], unsigned n,
                  bool enc)
{
    /* A status the device never set stays positive: see the timeout. */
    for (unsigned i = 0; i < n; i++)
        ops[i].status = 1;
    for (unsigned i = 0; i < n; i += BURST)
        run(ctxs + i, ops + i, n - i < BURST ? n - i : BURST, enc);
}

static void cd_seal_burst(struct zrec_aead_ctx *const ctxs[], struct zrec_aead_op ops[],
                          unsigned n)
{
    burst(ctxs, ops, n, true);
}

static void cd_open_burst(struct zrec_aead_ctx *const ctxs[], struct zrec_aead_op ops[],
                          unsigned n)
{
    burst(ctxs, ops, n, false);
}

static int cd_seal(struct zrec_aead_ctx *ctx, const uint8_t nonce[ZREC_NONCE_LEN],
                   const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out,
                   size_t len, uint8_t *tag)
{
    struct zrec_aead_op op = {.nonce = nonce, .aad = aad, .in = in, .out = out, .tag = tag,
                              .aad_len = (uint32_t)aad_len, .len = (uint32_t)len};
    burst(&ctx, &op, 1, true);
    return op.status;
}

static int cd_open(struct zrec_aead_ctx *ctx, const uint8_t nonce[ZREC_NONCE_LEN],
                   const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out,
                   size_t len, const uint8_t *tag)
{
    struct zrec_aead_op op = {.nonce = nonce, .aad = aad, .in = in, .out = out,
                              .tag = (uint8_t *)(uintptr_t)tag, .aad_len = (uint32_t)aad_len,
                              .len = (uint32_t)len};
    burst(&ctx, &op, 1, false);
    return op.status;
}

/* ---- asynchronous: submit now, complete later (zrec_async_*) ---------- */

/* Enqueue x[0..n) (the ops[from..] they were made for); returns how many
 * the device took.  A device that takes none with nothing in flight is
 * refusing (stopped): those are done in software now. */
static unsigned async_flush(struct zrec_offload *o, struct thread_state *ts, int qp,
                            struct rte_crypto_op **x, unsigned n)
{
    if (n == 0)
        return 0;
    uint16_t e = rte_cryptodev_enqueue_burst(o->dev, (uint16_t)qp, x, (uint16_t)n);
    ts->inflight[o->slot] += e;
    if (e == 0 && ts->inflight[o->slot] == 0) {
        for (unsigned j = 0; j < n; j++) {
            struct op_tag *t = rte_crypto_op_ctod_offset(x[j], struct op_tag *, TAG_OFFSET);
            t->aop->status = sw_one((const struct cd_ctx *)t->ctx, t->enc, t->aop);
            local_push(o, ts, t->aop);
        }
        count(&o->fallback_full, n);
        rte_mempool_put_bulk(o->op_pool, (void **)x, n);
        return n;
    }
    for (unsigned j = e; j < n; j++)
        rte_crypto_op_free(x[j]);
    return e;
}

static unsigned cd_submit(const struct zrec_aead_provider *p, struct zrec_aead_ctx *const ctxs[],
                          struct zrec_aead_op *const ops[], unsigned n, int enc)
{
    struct zrec_offload *o = (struct zrec_offload *)p;
    struct thread_state *ts = &tls_state;
    int qp = thread_qp(ts, o);
    unsigned taken = 0;
    bool fault = false; /* ops[taken]'s turn to "fail" came (fault_every) */
    while (taken < n) {
        /* Every op taken has a place in the local ring when it is done. */
        unsigned room = LOCAL_MAX - ts->inflight[o->slot] - ts->local_n[o->slot];
        unsigned dev_room = o->depth - 1 > ts->inflight[o->slot]
                                ? o->depth - 1 - ts->inflight[o->slot]
                                : 0;
        unsigned want = RTE_MIN(RTE_MIN(n - taken, room), (unsigned)BURST);
        if (want == 0)
            break;
        struct zrec_aead_op *op = ops[taken];
        struct cd_ctx *c = (struct cd_ctx *)ctxs[taken];
        fault = fault || (qp >= 0 && inject_fault(o));
        void *sess = qp < 0 || fault ? NULL : session_for(c, enc, op->aad_len);
        if (sess == NULL) {
            /* Not on the device: done in software now. */
            op->status = sw_one(c, enc, op);
            local_push(o, ts, op);
            count(fault ? &o->fallback_error : qp < 0 ? &o->fallback_no_qp : &o->fallback_aad, 1);
            fault = false;
            taken++;
            continue;
        }
        if (dev_room == 0)
            break; /* back-pressure: the engine does the rest itself */
        /* A run of ops the device can take, up to the first that it cannot. */
        struct rte_crypto_op *x[BURST];
        want = RTE_MIN(want, dev_room);
        if (rte_crypto_op_bulk_alloc(o->op_pool, RTE_CRYPTO_OP_TYPE_SYMMETRIC, x, want) != want)
            break;
        unsigned m = 0;
        for (; m < want; m++) {
            struct cd_ctx *cm = (struct cd_ctx *)ctxs[taken + m];
            if (m > 0 && inject_fault(o)) {
                fault = true; /* the next run starts with it */
                break;
            }
            void *sm = m == 0 ? sess : session_for(cm, enc, ops[taken + m]->aad_len);
            if (sm == NULL)
                break;
            fill_op(o, x[m], sm, ops[taken + m],
                    (struct op_tag){.aop = ops[taken + m], .ctx = &cm->super, .enc = enc},
                    rte_crypto_op_ctod_offset(x[m], struct rte_mbuf *, MB_OFFSET),
                    is_ccm(cm->super.alg->id));
        }
        for (unsigned j = m; j < want; j++) /* rare: one at a time */
            rte_crypto_op_free(x[j]);
        unsigned e = async_flush(o, ts, qp, x, m);
        taken += e;
        if (e < m)
            break;
    }
    return taken;
}

static unsigned cd_complete(const struct zrec_aead_provider *p, struct zrec_aead_op *done[],
                            unsigned max)
{
    struct zrec_offload *o = (struct zrec_offload *)p;
    struct thread_state *ts = &tls_state;
    int qp = thread_qp(ts, o);
    if (qp >= 0 && ts->inflight[o->slot] > 0) {
        struct rte_crypto_op *x[BURST];
        uint16_t k = rte_cryptodev_dequeue_burst(o->dev, (uint16_t)qp, x, BURST);
        for (uint16_t j = 0; j < k; j++) {
            struct op_tag *t = rte_crypto_op_ctod_offset(x[j], struct op_tag *, TAG_OFFSET);
            if (t->burst == 0)
                async_done(o, ts, x[j]);
            else
                rte_crypto_op_free(x[j]); /* a synchronous burst's, given up on */
        }
    }
    unsigned got = 0, n = ts->local_n[o->slot];
    while (got < max && got < n) {
        done[got] = ts->local[o->slot][got];
        got++;
    }
    memmove(ts->local[o->slot], ts->local[o->slot] + got, (n - got) * sizeof(void *));
    ts->local_n[o->slot] = n - got;
    return got;
}

static void cd_caps(enum zrec_aead_id id, struct zrec_aead_caps *out)
{
    (void)id;
    out->flags = ZREC_AEAD_CAP_ASYNC;
    out->max_aad = 0;
}

/* Does the CPU path take this AEAD?  One 16-byte record through it with a
 * throwaway key: crypto_chacha20_poly1305 advertises the path and answers
 * EOPNOTSUPP for its own algorithm. */
static bool cpu_probe(struct zrec_offload *o, enum zrec_aead_id id)
{
    const struct zrec_aead_alg *alg = zrec_aead_describe(id);
    uint8_t key[32] = {1}, nonce[16] = {2}, aad[13] = {3}, data[16] = {4}, tag[16];
    struct rte_crypto_sym_xform x = {
        .type = RTE_CRYPTO_SYM_XFORM_AEAD,
        .aead = {.op = RTE_CRYPTO_AEAD_OP_ENCRYPT, .algo = algo_of(id),
                 .key = {.data = key, .length = alg->key_len},
                 .iv = {.offset = IV_OFFSET, .length = ZREC_NONCE_LEN},
                 .digest_length = alg->tag_len, .aad_length = sizeof aad}};
    void *sess = rte_cryptodev_sym_session_create(o->dev, &x, o->sess_pool);
    if (sess == NULL)
        return false;
    struct rte_crypto_vec vec = {.base = data, .iova = iova_of(o, data), .len = sizeof data,
                                 .tot_len = sizeof data};
    struct rte_crypto_sgl sgl = {.vec = &vec, .num = 1};
    struct rte_crypto_va_iova_ptr iv = {nonce, iova_of(o, nonce)}, dig = {tag, iova_of(o, tag)},
                                  ad = {aad, iova_of(o, aad)};
    int32_t st = -1;
    struct rte_crypto_sym_vec sv = {.num = 1, .src_sgl = &sgl, .iv = &iv, .digest = &dig,
                                    .aad = &ad, .status = &st};
    union rte_crypto_sym_ofs ofs = {.raw = 0};
    uint32_t done = rte_cryptodev_sym_cpu_crypto_process(o->dev, sess, ofs, &sv);
    rte_cryptodev_sym_session_free(o->dev, sess);
    return done == 1 && st == 0;
}

static void fail(char *err, size_t errlen, const char *what, int rc)
{
    if (err && errlen)
        snprintf(err, errlen, "%s: %s", what, rte_strerror(rc < 0 ? -rc : rc));
}

struct zrec_offload *zrec_offload_cryptodev_new(const char *name,
                                                const struct zrec_offload_params *params,
                                                char *err, size_t errlen)
{
    struct zrec_offload_params prm = params ? *params : (struct zrec_offload_params){0};
    if (name == NULL || strlen(name) >= sizeof ((struct zrec_offload *)0)->devname) {
        fail(err, errlen, "device name", EINVAL);
        return NULL;
    }
    struct zrec_offload *o = calloc(1, sizeof *o);
    if (o == NULL) {
        fail(err, errlen, "zrec_offload", ENOMEM);
        return NULL;
    }
    o->slot = MAX_DEVICES;
    for (unsigned i = 0; i < MAX_DEVICES && o->slot == MAX_DEVICES; i++) {
        struct zrec_offload *none = NULL;
        if (atomic_compare_exchange_strong(&instances[i], &none, o))
            o->slot = i;
    }
    if (o->slot == MAX_DEVICES) {
        fail(err, errlen, "more than 8 offload devices", ENOSPC);
        free(o);
        return NULL;
    }
    snprintf(o->devname, sizeof o->devname, "%s", name);
    snprintf(o->pname, sizeof o->pname, "cryptodev:%s", name);
    int dev = rte_cryptodev_get_dev_id(name);
    if (dev < 0) {
        int rc = rte_vdev_init(name, NULL);
        if (rc != 0) {
            fail(err, errlen, "no such cryptodev, and rte_vdev_init", rc);
            goto out;
        }
        o->created_vdev = true;
        dev = rte_cryptodev_get_dev_id(name);
        if (dev < 0) {
            fail(err, errlen, "rte_vdev_init made no cryptodev", ENODEV);
            goto out;
        }
    }
    o->dev = (uint8_t)dev;
    struct rte_cryptodev_info info;
    rte_cryptodev_info_get(o->dev, &info);
    o->oop = info.feature_flags & RTE_CRYPTODEV_FF_OOP_LB_IN_LB_OUT;
    o->cpu_crypto = (info.feature_flags & RTE_CRYPTODEV_FF_SYM_CPU_CRYPTO) && !prm.no_cpu_crypto;
    o->nb_qp = prm.queue_pairs ? prm.queue_pairs
                               : (uint16_t)RTE_MIN(info.max_nb_queue_pairs, (unsigned)8);
    if (o->nb_qp > info.max_nb_queue_pairs) {
        fail(err, errlen, "more queue pairs than the device has", EINVAL);
        goto out;
    }
    uint32_t ops = prm.ops ? prm.ops : 4096;
    char pool[RTE_MEMPOOL_NAMESIZE];
    snprintf(pool, sizeof pool, "zrec_ops_%u", o->slot);
    /* A per-lcore cache: a burst's ops come and go without the ring. */
    o->op_pool = rte_crypto_op_pool_create(pool, RTE_CRYPTO_OP_TYPE_SYMMETRIC, ops, 2 * BURST,
                                           PRIV_SIZE, rte_cryptodev_socket_id(o->dev));
    o->iova_va = rte_eal_iova_mode() == RTE_IOVA_VA;
    snprintf(pool, sizeof pool, "zrec_sess_%u", o->slot);
    o->sess_pool = rte_cryptodev_sym_session_pool_create(
        pool, 16384, rte_cryptodev_sym_get_private_session_size(o->dev), 0, 0,
        rte_cryptodev_socket_id(o->dev));
    if (o->op_pool == NULL || o->sess_pool == NULL) {
        fail(err, errlen, "op and session pools", rte_errno);
        goto out;
    }
    /* A device already running was set up by someone else: its depth is
     * not known, the smallest DPDK devices take is assumed. */
    o->depth = prm.queue_depth ? prm.queue_depth : 2048;
    o->fault_every = prm.fault_every;
    struct rte_cryptodev_config conf = {.socket_id = rte_cryptodev_socket_id(o->dev),
                                        .nb_queue_pairs = o->nb_qp,
                                        .ff_disable = RTE_CRYPTODEV_FF_ASYMMETRIC_CRYPTO |
                                                      RTE_CRYPTODEV_FF_SECURITY};
    int rc = rte_cryptodev_configure(o->dev, &conf);
    if (rc == 0) {
        struct rte_cryptodev_qp_conf qc = {.nb_descriptors = o->depth,
                                           .mp_session = o->sess_pool};
        for (uint16_t q = 0; q < o->nb_qp && rc == 0; q++)
            rc = rte_cryptodev_queue_pair_setup(o->dev, q, &qc, conf.socket_id);
        if (rc == 0)
            rc = rte_cryptodev_start(o->dev);
        if (rc != 0) {
            fail(err, errlen, "queue pairs and start", rc);
            goto out;
        }
        o->started_here = true;
    } else if (rc == -EBUSY) {
        o->depth = 32;
    } else {
        fail(err, errlen, "rte_cryptodev_configure", rc);
        goto out;
    }
    /* What the device does: AES-GCM (128, 256), ChaCha20-Poly1305 and
     * AES-128-CCM (16- and 8-byte tags) with 12-byte nonces. */
    static const enum zrec_aead_id ids[] = {ZREC_AES_128_GCM, ZREC_AES_256_GCM,
                                            ZREC_CHACHA20_POLY1305, ZREC_AES_128_CCM,
                                            ZREC_AES_128_CCM_8};
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
        const struct zrec_aead_alg *alg = zrec_aead_describe(ids[i]);
        struct rte_cryptodev_sym_capability_idx idx = {.type = RTE_CRYPTO_SYM_XFORM_AEAD,
                                                       .algo.aead = algo_of(ids[i])};
        const struct rte_cryptodev_symmetric_capability *cap =
            rte_cryptodev_sym_capability_get(o->dev, &idx);
        o->aead[ids[i]] = cap && rte_cryptodev_sym_capability_check_aead(
                                     cap, alg->key_len, alg->tag_len, 13, ZREC_NONCE_LEN) == 0;
    }
    o->sw = zrec_provider_default();
    /* Not for CCM: its AAD layout on the CPU path is not the ops' one, and
     * a probe by status alone could not tell a wrong result. */
    if (o->cpu_crypto)
        for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
            o->cpu_aead[ids[i]] = o->aead[ids[i]] && !is_ccm(ids[i]) && cpu_probe(o, ids[i]);
    o->p = (struct zrec_aead_provider){.name = o->pname,
                                       .abi = ZREC_PROVIDER_ABI,
                                       .supports = supports_fn[o->slot],
                                       .ctx_size = cd_ctx_size,
                                       .init = cd_init,
                                       .dispose = cd_dispose,
                                       .seal = cd_seal,
                                       .open = cd_open,
                                       .seal_burst = cd_seal_burst,
                                       .open_burst = cd_open_burst,
                                       .caps = cd_caps,
                                       .submit = cd_submit,
                                       .complete = cd_complete};
    return o;
out:
    zrec_offload_free(o);
    return NULL;
}

const struct zrec_aead_provider *zrec_offload_provider(const struct zrec_offload *o)
{
    return &o->p;
}

const char *zrec_offload_driver(const struct zrec_offload *o)
{
    struct rte_cryptodev_info info;
    rte_cryptodev_info_get(o->dev, &info);
    return info.driver_name;
}

int zrec_offload_supports(const struct zrec_offload *o, enum zrec_aead_id id)
{
    return (unsigned)id < ZREC_AEAD_COUNT && o->aead[id];
}

int zrec_offload_cpu_path(const struct zrec_offload *o, enum zrec_aead_id id)
{
    return o->cpu_crypto && (unsigned)id < ZREC_AEAD_COUNT && o->cpu_aead[id];
}

void zrec_offload_stats_get(const struct zrec_offload *o, struct zrec_offload_stats *out)
{
    *out = (struct zrec_offload_stats){
        .device_ops = atomic_load(&o->device_ops),
        .auth_failures = atomic_load(&o->auth_failures),
        .fallback_full = atomic_load(&o->fallback_full),
        .fallback_error = atomic_load(&o->fallback_error),
        .fallback_no_qp = atomic_load(&o->fallback_no_qp),
        .fallback_aad = atomic_load(&o->fallback_aad)};
}

void zrec_offload_free(struct zrec_offload *o)
{
    if (o == NULL)
        return;
    if (o->started_here) {
        rte_cryptodev_stop(o->dev);
        rte_cryptodev_close(o->dev);
    }
    if (o->created_vdev)
        rte_vdev_uninit(o->devname);
    rte_mempool_free(o->op_pool);
    rte_mempool_free(o->sess_pool);
    if (o->slot < MAX_DEVICES)
        atomic_store(&instances[o->slot], NULL);
    free(o);
}
