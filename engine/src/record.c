/*
 * The record layer: one seal/open skeleton shared by the four record formats,
 * which differ only in a small table of per-format functions (header write /
 * parse, the sequence value in the nonce, the AAD).
 *
 *   seal: checks -> inner type + padding -> header + AAD -> nonce -> AEAD
 *         -> (DTLS 1.3) record number encryption -> sequence bump
 *   open: header parse (+ record number decryption) -> epoch / replay checks
 *         -> nonce -> AEAD (wipe on failure) -> replay window update
 *         -> inner type -> alert / KeyUpdate handling
 */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "peek.h"
#include "record.h"

/* RFC 8446 §5.3, RFC 7905 §2: nonce = IV xor the 64-bit sequence number,
 * left-padded (for GCM/CCM in TLS 1.2 the IV is salt || 0^8, so this yields
 * salt || explicit_nonce, RFC 5288 §3); the one place it is built.  intel-ipsec-mb reads the 12-byte
 * nonce with one (masked) 16-byte load just after it is written; a load
 * that spans several narrower stores cannot be forwarded from them and
 * waits until they reach the cache, which measured as the largest cost of a
 * 64-byte record.  So the nonce is made in a register and stored once, 16
 * bytes wide, into a 16-byte buffer. */
static inline void nonce_for(const struct zrec_dir_state *d, uint64_t seq,
                             uint8_t nonce[ZREC_NONCE_BUF])
{
#if defined(__SSE2__)
    __m128i iv = _mm_load_si128((const __m128i *)d->iv);
    __m128i sq = _mm_slli_si128(_mm_cvtsi64_si128((long long)htobe64(seq)), 4);
    _mm_storeu_si128((__m128i *)nonce, _mm_xor_si128(iv, sq));
#else
    uint64_t tail;
    memcpy(&tail, d->iv + 4, 8);
    tail ^= htobe64(seq);
    memcpy(nonce, d->iv, 4);
    memcpy(nonce + 4, &tail, 8);
    memset(nonce + 12, 0, 4);
#endif
}

/* Zero padding needed so the DTLS 1.3 ciphertext covers the 16-byte record
 * number sample (§4.2.3: senders pad short plaintexts). */
static inline size_t pad_for(const struct zrec_session *s, size_t inner_len)
{
    size_t ct = inner_len + s->tag_len;
    return __builtin_expect(s->min_ct == 0, 1) || ct >= s->min_ct ? 0 : s->min_ct - ct;
}

/* ------------------------------------------------------------------------
 * Seal
 * ---------------------------------------------------------------------- */

static int seal_check(struct zrec_session *s, uint8_t type, size_t len)
{
    if (s->tx.key_id == 0)
        return -ENOKEY;
    if (__builtin_expect(s->events & (ZREC_EV_FATAL | ZREC_EV_KEY_UPDATE_OWED |
                                      ZREC__EV_ASYNC_BUSY), 0)) {
        if (s->events & ZREC__EV_ASYNC_BUSY)
            return -EBUSY;
        if ((s->events & ZREC_EV_FATAL) && type != ZREC_CT_ALERT)
            return -EPIPE;
        if ((s->events & ZREC_EV_KEY_UPDATE_OWED) && type == ZREC_CT_APPLICATION_DATA)
            return -EAGAIN;
    }
    if (len > ZREC_MAX_PLAINTEXT)
        return -EMSGSIZE;
    if (__builtin_expect(type != ZREC_CT_APPLICATION_DATA, 0) && type != ZREC_CT_ALERT &&
        type != ZREC_CT_HANDSHAKE && !(type == ZREC_CT_ACK && s->fmt->acks))
        return -EINVAL;
    if (s->tx.used >= s->tx.limit)
        return -EKEYEXPIRED;
    /* Sequence numbers never wrap (RFC 8446 §5.3, RFC 6347 §4.1). */
    if (s->tx.seq > s->fmt->max_seq)
        return -EKEYEXPIRED;
    return 0;
}

/* A sealed record's sequence number is taken when it is prepared, so that
 * several records of one session in a burst get consecutive ones before any
 * is encrypted. */
static void seal_reserve(struct zrec_session *s, struct zrec_op *op)
{
    op->seq = s->tx.seq;
    op->epoch = s->tx.epoch;
    s->tx.seq++;
    s->tx.used++;
    if (s->tx.used >= s->tx.warn_at)
        s->events |= ZREC_EV_REKEY_DUE;
}

/* The AEAD failed after the record's sequence number was taken: the peer
 * would see a gap (TLS: a failed record; DTLS: the number is burned), and a
 * provider that fails once is not trusted with the next record either. */
static int seal_abort(struct zrec_session *s, int rc)
{
    s->events |= ZREC_EV_FATAL;
    return rc < 0 ? rc : -EIO;
}

static int dtls13_mask_seq(struct zrec_session *s, struct zrec_sn_cipher *sn, uint8_t *hdr,
                           const uint8_t sample[16])
{
    uint8_t mask[2];
    int rc = zrec__sn_mask(sn, sample, mask);
    if (rc == 0) {
        uint8_t *sn = hdr + 1 + s->tx_cid_len;
        sn[0] ^= mask[0];
        sn[1] ^= mask[1];
    }
    return rc;
}

/* One contiguous record between the phases of a seal burst. */
struct seal_pend {
    struct zrec_op *op;
    struct zrec_aead_ctx *ctx;
    struct zrec_sn_cipher *sn; /* DTLS 1.3: the record-number cipher of its epoch */
    uint8_t *hdr;
    uint8_t nonce[ZREC_NONCE_BUF] __attribute__((aligned(16)));
    uint8_t aad[AAD_MAX] __attribute__((aligned(16)));
};

/* Everything before the AEAD: checks, inner type and padding, header, AAD,
 * nonce, the sequence number.  A scattered record is sealed here whole (its
 * iovecs live on this frame); a contiguous one is left in *aop for the
 * burst's AEAD pass: returns 1 then, 0 when the op is done, or an errno. */
static inline __attribute__((always_inline)) int seal_prepare(struct zrec_op *op,
                                                             struct seal_pend *pd,
                                                             struct zrec_aead_op *aop)
{
    struct zrec_session *s = op->sess;
    /* The header goes before data (or seg[0].base): a buffer is needed even
     * for an empty payload. */
    if (s == NULL || (op->nseg == 0 && op->data == NULL) || op->nseg > MAX_IOV ||
        (op->src && op->nseg))
        return -EINVAL;
    size_t len = op->len;
    if (op->nseg) {
        len = 0;
        for (unsigned i = 0; i < op->nseg; i++)
            len += op->seg[i].len;
    }
    int rc = seal_check(s, op->content_type, len);
    if (rc < 0)
        return rc;
    bool inner = s->tx_inner;
    size_t pad = inner ? pad_for(s, len + 1) : 0;
    size_t tail = (inner ? 1 + pad : 0) + s->tag_len;
    if (op->headroom < s->hdr_len || op->tailroom < tail)
        return -ENOSPC;
    struct zrec_aead_ctx *ctx = zrec__dir_aead(s, &s->tx);
    if (ctx == NULL)
        return -errno;

    uint8_t *first = op->nseg ? op->seg[0].base : op->data;
    uint8_t *end = op->nseg ? op->seg[op->nseg - 1].base + op->seg[op->nseg - 1].len
                            : op->data + len;
    uint8_t *hdr = first - s->hdr_len;
    size_t inner_len = len;
    if (inner) {
        /* RFC 8446 §5.2 TLSInnerPlaintext: content || type || zeros. */
        end[0] = op->content_type;
        if (pad)
            memset(end + 1, 0, pad);
        inner_len += 1 + pad;
    }
    const uint8_t *aad;
    size_t aad_len =
        s->fmt->seal_header(s, hdr, op->content_type, inner_len, s->tx.seq, pd->aad, &aad);
    nonce_for(&s->tx, s->fmt->nonce_seq ? s->fmt->nonce_seq(s, s->tx.seq) : s->tx.seq,
              pd->nonce);
    seal_reserve(s, op);
    op->rec = hdr;
    op->rec_len = (uint32_t)(s->hdr_len + inner_len + s->tag_len);
    if (op->nseg == 0) {
        /* Copy-on-encrypt: the AEAD reads the caller's payload and writes
         * the ciphertext into the record, then covers the inner type in
         * place (zrec__aead_seal_prepare adapts it to the provider). */
        bool copy = op->src && op->src != first;
        *aop = (struct zrec_aead_op){
            .nonce = pd->nonce, .aad = aad, .aad_len = (uint32_t)aad_len,
            .in = copy ? op->src : first, .out = first,
            .len = (uint32_t)(copy ? len : inner_len),
            .tail = (uint32_t)(copy ? inner_len - len : 0), .tag = first + inner_len};
        zrec__aead_seal_prepare(s->caps, aop);
        pd->op = op;
        pd->ctx = ctx;
        pd->sn = s->tx.sn;
        pd->hdr = hdr;
        return 1;
    }
    struct iovec iov[MAX_IOV + 1];
    int n = 0;
    for (unsigned i = 0; i < op->nseg; i++)
        iov[n++] = (struct iovec){op->seg[i].base, op->seg[i].len};
    if (inner)
        iov[n++] = (struct iovec){end, 1 + pad};
    uint8_t *tag = end + (inner ? 1 + pad : 0);
    rc = zrec__aead_seal_v(ctx, s->caps, pd->nonce, aad, aad_len, iov, n, tag);
    if (rc < 0)
        return seal_abort(s, rc);
    if (s->fmt->sn_mask) {
        /* The sample is the first 16 ciphertext bytes (tag included). */
        uint8_t sample[16];
        size_t got = 0;
        for (unsigned i = 0; i < op->nseg && got < 16; i++) {
            size_t take = op->seg[i].len < 16 - got ? op->seg[i].len : 16 - got;
            memcpy(sample + got, op->seg[i].base, take);
            got += take;
        }
        if (got < 16)
            memcpy(sample + got, end, 16 - got);
        rc = dtls13_mask_seq(s, s->tx.sn, hdr, sample);
        if (rc < 0)
            return seal_abort(s, rc);
    }
    return 0;
}

/* After the AEAD: the DTLS 1.3 record number mask over the ciphertext. */
static inline __attribute__((always_inline)) int seal_finish(const struct seal_pend *pd,
                                                            const struct zrec_aead_op *aop)
{
    struct zrec_session *s = pd->op->sess;
    if (aop->status != 0)
        return seal_abort(s, aop->status);
    if (s->fmt->sn_mask) {
        /* The sample is the first 16 ciphertext bytes (tag included). */
        int rc = dtls13_mask_seq(s, pd->sn, pd->hdr, pd->hdr + s->hdr_len);
        if (rc < 0)
            return seal_abort(s, rc);
    }
    return 0;
}

/* ops[0..n) share the AEAD pass: runs of one provider go to its burst slot
 * (or the per-op fallback) together. */
static void aead_runs(struct zrec_aead_ctx *const ctxs[], struct zrec_aead_op *aops, unsigned n,
                      void (*run)(struct zrec_aead_ctx *const[], struct zrec_aead_op *, unsigned))
{
    for (unsigned i = 0; i < n;) {
        unsigned j = i + 1;
        while (j < n && ctxs[j]->provider == ctxs[i]->provider)
            j++;
        run(ctxs + i, aops + i, j - i);
        i = j;
    }
}

/* Bursts over many sessions (a gateway's, a million mostly idle ones) meet
 * each session's state in DRAM behind a TLB miss.  Before any op is
 * prepared, every session of the burst is loaded once: independent loads
 * overlap their page walks (software prefetches alone measured no gain;
 * loads took 1-M-session seal at 1400 B from 0.27 to 0.38 x one session,
 * DESIGN-NOTES §16).  A run of one session costs one compare per op. */
static void touch_sessions(const struct zrec_op *ops, unsigned n, bool tx)
{
    const struct zrec_session *last = NULL;
    for (unsigned i = 0; i < n; i++) {
        const struct zrec_session *s = ops[i].sess;
        if (s == last || s == NULL)
            continue;
        last = s;
        (void)*(const volatile uint8_t *)s;
        const char *d = (const char *)(tx ? &s->tx : &s->rx);
        for (size_t o = 0; o < sizeof s->tx; o += 64)
            __builtin_prefetch(d + o);
    }
}

/* Three passes over up to ZREC_AEAD_BURST_MAX records: prepare each (all
 * the engine's bookkeeping), one AEAD pass over them all, finish each.  The
 * nonces and AADs are written long before the AEAD loads them (no
 * store-to-load forwarding stall, the largest cost of a small record), and
 * a provider with a burst slot sees the whole burst. */
unsigned zrec_seal_burst(struct zrec_op *ops, unsigned n)
{
    unsigned good = 0;
    struct seal_pend pd[ZREC_AEAD_BURST_MAX];
    struct zrec_aead_op aop[ZREC_AEAD_BURST_MAX];
    struct zrec_aead_ctx *ctxs[ZREC_AEAD_BURST_MAX];
    for (unsigned base = 0; base < n; base += ZREC_AEAD_BURST_MAX) {
        unsigned end = n - base < ZREC_AEAD_BURST_MAX ? n : base + ZREC_AEAD_BURST_MAX;
        unsigned m = 0;
        zrec__pass++; /* key cache entries of this pass stay */
        touch_sessions(ops + base, end - base, true);
        for (unsigned i = base; i < end; i++) {
            int rc = seal_prepare(&ops[i], &pd[m], &aop[m]);
            if (rc == 1) {
                ctxs[m] = pd[m].ctx;
                m++;
                continue;
            }
            ops[i].status = (int16_t)rc;
            good += rc == 0;
        }
        if (m == 0)
            continue;
        aead_runs(ctxs, aop, m, zrec__aead_seal_ops);
        for (unsigned k = 0; k < m; k++) {
            int rc = seal_finish(&pd[k], &aop[k]);
            pd[k].op->status = (int16_t)rc;
            good += rc == 0;
        }
    }
    return good;
}

/* ------------------------------------------------------------------------
 * Open
 * ---------------------------------------------------------------------- */

/* RFC 6347 §4.1.2.6 / RFC 9147 §4.5.1 sliding window, 64 records wide. */
static int replay_check(const struct zrec_dir_state *d, uint64_t seq)
{
    if (seq >= d->seq)
        return 0;
    uint64_t behind = d->seq - 1 - seq;
    if (behind >= 64 || (d->window >> behind) & 1)
        return -EALREADY;
    return 0;
}

static void replay_accept(struct zrec_dir_state *d, uint64_t seq)
{
    if (seq >= d->seq) {
        uint64_t shift = seq - d->seq + 1;
        d->window = shift >= 64 ? 0 : d->window << shift;
        d->window |= 1;
        d->seq = seq + 1;
    } else {
        d->window |= 1ull << (d->seq - 1 - seq);
    }
}

/* TLS: any record error is fatal for the connection (RFC 8446 §5.2, §6.2).
 * DTLS: invalid records are silently dropped (RFC 6347 §4.1.2.7, RFC 9147
 * §4.5.2) unless the integrity limit is exceeded (RFC 9147 §4.5.3). */
static int open_fail(struct zrec_session *s, int rc)
{
    if (!is_dtls(s)) {
        if (rc != -ENOKEY && rc != -EINVAL)
            s->events |= ZREC_EV_FATAL;
    } else if (rc == -EBADMSG && ++s->rx.used >= s->rx.limit) {
        s->events |= ZREC_EV_FATAL;
    }
    return rc;
}

/* One contiguous record between the phases of an open burst. */
struct open_pend {
    struct zrec_op *op;
    struct zrec_dir_state *d;
    struct zrec_aead_ctx *ctx;
    uint64_t key_id;     /* d's key when prepared (DTLS: a KeyUpdate may move it) */
    struct rec_bytes pt; /* where the plaintext lands */
    size_t pt_off;
    size_t ct_len;
    struct rec_view v;
    uint8_t nonce[ZREC_NONCE_BUF] __attribute__((aligned(16)));
    /* A record opened into a dst one inner type short: dst, then spill. */
    struct zrec_seg split[2];
    uint8_t spill[ZREC_OPEN_SPILL_MAX];
};

static inline __attribute__((always_inline)) int open_finish(struct open_pend *pd, int aead_rc);

/* A record opened into a dst one inner type short (open_prepare): now,
 * whole, like a scattered record.  Out of line: rare, with a bounce buffer
 * the hot path's frame should not carry.  A short record is opened in one
 * piece into the bounce buffer and copied: for the same reason as
 * ZREC_SEAL_COPY_MAX, the copy costs less than an AEAD call in two parts. */
static __attribute__((noinline)) int open_split_now(struct zrec_op *op, struct open_pend *pd,
                                                    struct zrec_aead_ctx *ctx, size_t ct_len)
{
    const struct rec_view *v = &pd->v;
    const uint8_t *ct = op->data + v->hdr_len;
    size_t spill_len = ct_len - op->dst_cap;
    int rc;
    if (ct_len <= ZREC_SEAL_COPY_MAX) {
        uint8_t bounce[ZREC_SEAL_COPY_MAX];
        rc = ctx->provider->open(ctx, pd->nonce, v->aad_at, v->aad_len, ct, bounce, ct_len,
                                 ct + ct_len);
        memcpy(op->dst, bounce, op->dst_cap);
        memcpy(pd->spill, bounce + op->dst_cap, spill_len);
        zrec__wipe(bounce, ct_len);
    } else {
        rc = ctx->provider->open_split(ctx, pd->nonce, v->aad_at, v->aad_len, ct, op->dst,
                                       op->dst_cap, pd->spill, spill_len, ct + ct_len);
    }
    return rc;
}

/* Everything before the AEAD: header (and record number) parse, epoch and
 * replay checks, the nonce.  A scattered record is opened here whole; a
 * contiguous one is left in *aop: returns 1 then, 0 when the op is done, or
 * an errno. */
static inline __attribute__((always_inline)) int open_prepare(struct zrec_op *op, struct open_pend *pd,
                                                             struct zrec_aead_op *aop)
{
    struct zrec_session *s = op->sess;
    if (s == NULL || op->nseg > MAX_IOV || (op->nseg == 0 && op->data == NULL))
        return -EINVAL;
    if (__builtin_expect(s->events & (ZREC_EV_FATAL | ZREC__EV_ASYNC_BUSY), 0))
        return s->events & ZREC__EV_ASYNC_BUSY ? -EBUSY : -EPIPE;
    struct rec_bytes r = {op->seg, op->nseg, op->data, op->len};
    if (op->nseg) {
        r.len = 0;
        for (unsigned i = 0; i < op->nseg; i++)
            r.len += op->seg[i].len;
    }
    uint8_t head_buf[HEAD_MAX];
    size_t head_len = r.len < HEAD_MAX ? r.len : HEAD_MAX;
    const uint8_t *head = op->data;
    if (op->nseg) {
        rec_copy(&r, 0, head_buf, head_len);
        head = head_buf;
    }
    /* DTLS 1.3 during a KeyUpdate: records of the previous epoch still open
     * with its key (RFC 9147 §8). */
    struct zrec_dir_state *d = &s->rx;
    struct zrec_dir_state *prev = s->d13 ? s->d13->rx_prev : NULL;
    if (prev && head_len > 0 && (head[0] & 3) == (prev->epoch & 3) &&
        (head[0] & 3) != (s->rx.epoch & 3))
        d = prev;
    if (d->key_id == 0)
        return -ENOKEY;
    struct zrec_aead_ctx *ctx = zrec__dir_aead(s, d);
    if (ctx == NULL)
        return -errno;
    struct rec_view *v = &pd->v;
    v->hdr_len = r.len; /* where the payload starts, once the header says */
    v->aad_at = v->aad; /* formats whose AAD is the header itself repoint it */
    int rc = s->fmt->open_header(s, d, head, head_len, r.len, v);
    if (rc < 0) {
        /* zrec.h: -EBADMSG leaves no payload byte as received, even when
         * the header alone condemned the record. */
        if (rc == -EBADMSG && v->hdr_len < r.len)
            rec_wipe(&r, v->hdr_len, r.len - v->hdr_len);
        return open_fail(s, rc);
    }
    if (is_dtls(s)) {
        if (v->epoch != d->epoch)
            return -ESTALE;
        rc = replay_check(d, v->seq);
        if (rc < 0)
            return rc;
    }
    size_t ct_len = r.len - v->hdr_len - s->tag_len;
    /* Where the plaintext lands: in place, or the caller's dst.  Built from
     * the op's fields, not copied from r: r was written field by field just
     * before, and a struct copy reads it 16 bytes at a time, which cannot be
     * forwarded from those narrower stores (measured: a fifth of the open's
     * time at 64-byte records). */
    pd->pt = (struct rec_bytes){op->seg, op->nseg, op->data, r.len};
    pd->pt_off = v->hdr_len;
    bool split = false;
    if (op->dst) {
        if (op->nseg)
            return -EINVAL;
        if (ct_len > op->dst_cap) {
            /* Only the inner type and a little padding may miss dst (then
             * opened in two places); else nothing is consumed and the
             * caller opens it in place. */
            if (!s->rx_inner || ct_len - op->dst_cap > ZREC_OPEN_SPILL_MAX ||
                !(s->caps & ZREC_AEAD_CAP_OPEN_SPLIT))
                return -ENOBUFS;
            split = true;
            pd->split[0] = (struct zrec_seg){op->dst, op->dst_cap};
            pd->split[1] = (struct zrec_seg){pd->spill, (uint32_t)(ct_len - op->dst_cap)};
            pd->pt = (struct rec_bytes){pd->split, 2, NULL, ct_len};
        } else {
            pd->pt = (struct rec_bytes){NULL, 0, op->dst, ct_len};
        }
        pd->pt_off = 0;
    }
    pd->op = op;
    pd->d = d;
    pd->ctx = ctx;
    pd->key_id = d->key_id;
    pd->ct_len = ct_len;
    nonce_for(d, v->nonce_seq, pd->nonce);
    if (op->nseg == 0 && __builtin_expect(!split, 1)) {
        uint8_t *ct = op->data + v->hdr_len;
        *aop = (struct zrec_aead_op){
            .nonce = pd->nonce, .aad = v->aad_at, .aad_len = (uint32_t)v->aad_len, .in = ct,
            .out = pd->pt.data + pd->pt_off, .len = (uint32_t)ct_len, .tag = ct + ct_len};
        zrec__aead_open_prepare(s->caps, aop);
        return 1;
    }
    if (split) {
        rc = open_split_now(op, pd, ctx, ct_len);
    } else {
        struct iovec iov[MAX_IOV];
        uint8_t tag_buf[ZREC_MAX_TAG_LEN];
        int n = rec_iov(&r, v->hdr_len, ct_len, iov);
        rec_copy(&r, v->hdr_len + ct_len, tag_buf, s->tag_len);
        rc = zrec__aead_open_v(ctx, s->caps, pd->nonce, v->aad_at, v->aad_len, iov, n, tag_buf);
    }
    /* Opened now, whole (scattered, or into a dst one inner type short). */
    return open_finish(pd, rc);
}

/* After the AEAD: wipe on failure, replay window, the inner content type,
 * alerts and post-handshake messages. */
static inline __attribute__((always_inline)) int open_finish(struct open_pend *pd, int aead_rc)
{
    struct zrec_op *op = pd->op;
    struct zrec_session *s = op->sess;
    struct zrec_dir_state *d = pd->d;
    const struct rec_view *v = &pd->v;
    const struct rec_bytes *pt = &pd->pt;
    size_t pt_off = pd->pt_off, ct_len = pd->ct_len;
    int rc;
    if (aead_rc < 0) {
        /* Never leave unauthenticated plaintext readable. */
        rec_wipe(pt, pt_off, ct_len);
        return open_fail(s, aead_rc == -EBADMSG ? aead_rc : -EBADMSG);
    }
    if (__builtin_expect(pt->nseg != 0, 0) && pt->seg == pd->split) {
        /* Opened into dst and the spill: the content must end in dst, that
         * is the inner type (the last non-zero byte, RFC 8446 §5.4) is the
         * spill's first byte or lies in dst.  If not, the record is left
         * unconsumed for the caller to open in place. */
        size_t j = pd->split[1].len;
        while (j > 0 && pd->spill[j - 1] == 0)
            j--;
        if (j > 1) {
            rec_wipe(pt, pt_off, ct_len);
            return -ENOBUFS;
        }
    }
    if (is_dtls(s)) {
        /* A DTLS record may share its pass with earlier records of its
         * session (zrec_open_burst), which finished first: one may have
         * ended the session, moved this record's key to the previous epoch
         * (a KeyUpdate), or been this very record (a duplicate in the same
         * burst).  Each case ends as it would have, had this record been
         * prepared after them, and what it decrypted is wiped. */
        int late = 0;
        if (s->events & ZREC_EV_FATAL) {
            late = -EPIPE;
        } else if (d->key_id != pd->key_id) {
            struct zrec_dir_state *prev = s->d13 ? s->d13->rx_prev : NULL;
            d = prev && prev->key_id == pd->key_id ? prev : NULL;
            late = d ? replay_check(d, v->seq) : -ESTALE;
        } else {
            late = replay_check(d, v->seq);
        }
        if (late < 0) {
            rec_wipe(pt, pt_off, ct_len);
            return late;
        }
        replay_accept(d, v->seq);
    } else {
        d->seq++;
    }
    struct zrec_dir_state *prev = s->d13 ? s->d13->rx_prev : NULL;
    if (prev && d == &s->rx && s->aq_n <= 1) {
        /* The peer now sends in the new epoch: the old key can go (not
         * while other asynchronous opens are in flight: theirs may be it). */
        zrec__dir_clear(s, prev);
        free(prev);
        s->d13->rx_prev = NULL;
    }

    uint8_t type = v->outer_type;
    size_t plain_len = ct_len;
    if (s->rx_inner) {
        /* RFC 8446 §5.4: the content type is the last non-zero byte. */
        uint8_t b = 0;
        if (pt->nseg == 0) {
            const uint8_t *p = pt->data + pt_off;
            while (plain_len > 0 && (b = p[--plain_len]) == 0) {
            }
        } else {
            while (plain_len > 0) {
                rec_copy(pt, pt_off + plain_len - 1, &b, 1);
                plain_len--;
                if (b != 0)
                    break;
            }
        }
        if (b == 0)
            return open_fail(s, -EPROTO);
        type = b;
    }
    if (plain_len > ZREC_MAX_PLAINTEXT)
        return open_fail(s, -EMSGSIZE);
    switch (type) {
    case ZREC_CT_APPLICATION_DATA:
        break;
    case ZREC_CT_ALERT: {
        uint8_t a[2];
        if (plain_len != 2)
            return open_fail(s, -EPROTO);
        rec_copy(pt, pt_off, a, 2);
        if (a[1] == ZREC_ALERT_CLOSE_NOTIFY) {
            s->events |= ZREC_EV_PEER_CLOSED;
        } else if (a[0] == ZREC_ALERT_FATAL || s->fmt->alerts_fatal) {
            /* RFC 8446 §6: in TLS 1.3 every alert but close_notify and
             * user_canceled ends the connection, whatever its level. */
            if (a[1] != 90 /* user_canceled */) {
                s->events |= ZREC_EV_PEER_ALERT;
                s->peer_alert = a[1];
            }
        }
        break;
    }
    case ZREC_CT_HANDSHAKE:
        rc = zrec__handle_handshake(s, pt, pt_off, plain_len, v->epoch, v->seq);
        if (rc < 0)
            return open_fail(s, rc);
        break;
    case ZREC_CT_ACK:
        if (!s->fmt->acks)
            return open_fail(s, -EPROTO);
        rc = zrec__handle_ack(s, pt, pt_off, plain_len);
        if (rc < 0)
            return open_fail(s, rc);
        break;
    default:
        /* Includes an encrypted change_cipher_spec (RFC 8446 §5). */
        return open_fail(s, -EPROTO);
    }
    op->content_type = type;
    op->rec = pt->nseg != 0 && pt->seg == pd->split ? op->dst : rec_ptr(pt, pt_off);
    if (op->rec == NULL) /* empty plaintext at the very end */
        op->rec = op->dst ? op->dst
                          : (op->nseg ? op->seg[op->nseg - 1].base + op->seg[op->nseg - 1].len
                                      : op->data + v->hdr_len);
    op->rec_len = (uint32_t)plain_len;
    op->rec_off = (uint32_t)v->hdr_len;
    op->seq = v->seq;
    op->epoch = v->epoch;
    return 0;
}

/* Records of different sessions share the AEAD pass.  A second TLS record
 * of a session already in the pass waits for the pass to finish first,
 * since the first may change the key the second is opened with (a TLS 1.3
 * KeyUpdate) and its type is known only once it is decrypted (RFC 8446
 * §5.2).  DTLS names each record's key in its header (the epoch), so a
 * second DTLS record of the current read epoch joins the pass; what the
 * earlier ones turn out to be (a KeyUpdate, a fatal alert, the same record
 * again) is checked when it finishes (open_finish).  The thread's pass
 * counter (zrec__pass, also the key cache's) marks the sessions in a pass;
 * a session used by another thread at worst cuts a pass short. */
static inline bool may_join(const struct zrec_session *s, const struct zrec_op *op)
{
    return s->fmt->in_rx_epoch != NULL && op->nseg == 0 && op->data != NULL &&
           s->fmt->in_rx_epoch(s, op->data, op->len);
}

static unsigned open_pass(struct open_pend *pd, struct zrec_aead_op *aop,
                          struct zrec_aead_ctx *const ctxs[], unsigned m)
{
    unsigned good = 0;
    aead_runs(ctxs, aop, m, zrec__aead_open_ops);
    for (unsigned k = 0; k < m; k++) {
        int rc = open_finish(&pd[k], aop[k].status);
        pd[k].op->status = (int16_t)rc;
        good += rc == 0;
    }
    return good;
}

unsigned zrec_open_burst(struct zrec_op *ops, unsigned n)
{
    unsigned good = 0, m = 0;
    struct open_pend pd[ZREC_AEAD_BURST_MAX];
    struct zrec_aead_op aop[ZREC_AEAD_BURST_MAX];
    struct zrec_aead_ctx *ctxs[ZREC_AEAD_BURST_MAX];
    uint64_t stamp = ++zrec__pass;
    for (unsigned i = 0; i < n; i++) {
        struct zrec_session *s = ops[i].sess;
        if (i % ZREC_AEAD_BURST_MAX == 0)
            touch_sessions(ops + i, n - i < ZREC_AEAD_BURST_MAX ? n - i : ZREC_AEAD_BURST_MAX,
                           false);
        if (m > 0 && (m == ZREC_AEAD_BURST_MAX || ops[i].nseg ||
                      (s != NULL && s->open_stamp == stamp && !may_join(s, &ops[i])))) {
            good += open_pass(pd, aop, ctxs, m);
            m = 0;
            stamp = ++zrec__pass;
        }
        int rc = open_prepare(&ops[i], &pd[m], &aop[m]);
        if (rc == 1 && m == 0 && (i + 1 == n || (ops[i + 1].sess == s && !s->fmt->datagram))) {
            /* Alone in its pass (the last, or the next record is the same
             * TLS session's): straight to the provider's open. */
            struct zrec_aead_ctx *ctx = pd[0].ctx;
            const struct zrec_aead_op *o = &aop[0];
            rc = open_finish(&pd[0], ctx->provider->open(ctx, o->nonce, o->aad, o->aad_len,
                                                         o->in, o->out, o->len, o->tag));
        } else if (rc == 1) {
            s->open_stamp = stamp;
            ctxs[m] = pd[m].ctx;
            m++;
            continue;
        }
        ops[i].status = (int16_t)rc;
        good += rc == 0;
    }
    if (m > 0)
        good += open_pass(pd, aop, ctxs, m);
    return good;
}

long zrec_record_length(const struct zrec_session *s, const uint8_t *buf, size_t avail)
{
    if (s == NULL || buf == NULL)
        return -EINVAL;
    struct zrec_record_info info;
    long rc = zrec__peek(buf, avail, s->fmt->datagram, s->rx_cid_len, &info);
    if (rc <= 0 || avail == 0)
        return rc;
    /* What the session knows beyond the header: only DTLS 1.3 has unified
     * headers, and TLS 1.3 the tighter length limit (RFC 8446 §5.2). */
    if (info.unified && !s->fmt->sn_mask)
        return -EPROTO;
    if (info.length - info.header_len > s->fmt->max_ciphertext)
        return -EMSGSIZE;
    return rc;
}

/* ------------------------------------------------------------------------
 * Asynchronous pipeline (zrec.h, zrec_async_*)
 *
 * An entry per record taken: its op, its place in its session's submission
 * order, and the state between prepare and finish (as a burst's pend, but
 * living until the provider hands the AEAD op back).  Records are prepared
 * at submission (sequence numbers, headers, nonces, replay checks), and
 * finished when released: in submission order per session, so that the
 * engine's state moves exactly as a synchronous burst would have moved it.
 * ---------------------------------------------------------------------- */

struct zrec__aq_entry {
    struct zrec_op *op;
    struct zrec__aq_entry *next; /* the session's next, or the free list */
    bool seal;
    bool done;     /* the AEAD (or the whole op) is done */
    bool finished; /* prepare did it all, or refused: status holds the result */
    int status;
    struct zrec_aead_op aop;
    union {
        struct seal_pend s;
        struct open_pend o;
    } pd;
};

struct zrec_async {
    const struct zrec_aead_provider *p;
    unsigned depth;
    unsigned pending; /* taken, not yet handed back by zrec_async_poll */
    struct zrec__aq_entry *free;
    struct zrec_op **out; /* released, in order: a ring of depth */
    unsigned out_head, out_n;
    struct zrec__aq_entry *entries;
};

struct zrec_async *zrec_async_new(const struct zrec_aead_provider *p, unsigned depth)
{
    if (p == NULL || depth == 0 || depth > 65536) {
        errno = EINVAL;
        return NULL;
    }
    bool async = false;
    for (int id = 0; id < ZREC_AEAD_COUNT && !async; id++)
        async = p->supports((enum zrec_aead_id)id) &&
                (zrec__aead_caps(p, (enum zrec_aead_id)id).flags & ZREC_AEAD_CAP_ASYNC) &&
                p->submit && p->complete;
    if (!async) {
        errno = ENOTSUP;
        return NULL;
    }
    struct zrec_async *q = calloc(1, sizeof *q);
    if (q == NULL)
        return NULL;
    q->entries = aligned_alloc(64, ((sizeof *q->entries * depth) + 63) & ~(size_t)63);
    q->out = calloc(depth, sizeof *q->out);
    if (q->entries == NULL || q->out == NULL) {
        free(q->entries);
        free(q->out);
        free(q);
        errno = ENOMEM;
        return NULL;
    }
    q->p = p;
    q->depth = depth;
    for (unsigned i = 0; i < depth; i++) {
        q->entries[i].next = q->free;
        q->free = &q->entries[i];
    }
    return q;
}

int zrec_async_free(struct zrec_async *q)
{
    if (q == NULL)
        return 0;
    if (q->pending)
        return -EBUSY;
    zrec__wipe(q->entries, sizeof *q->entries * q->depth); /* nonces, AADs */
    free(q->entries);
    free(q->out);
    free(q);
    return 0;
}

unsigned zrec_async_pending(const struct zrec_async *q)
{
    return q ? q->pending : 0;
}

static void aq_out(struct zrec_async *q, struct zrec_op *op)
{
    q->out[(q->out_head + q->out_n++) % q->depth] = op;
}

/* Finish and hand out the session's records that are done, from the
 * oldest: one not yet done holds back those behind it. */
static void aq_release(struct zrec_async *q, struct zrec_session *s)
{
    while (s->aq_head && s->aq_head->done) {
        struct zrec__aq_entry *e = s->aq_head;
        int rc = e->finished ? e->status
                 : e->seal   ? seal_finish(&e->pd.s, &e->aop)
                             : open_finish(&e->pd.o, e->aop.status);
        e->op->status = (int16_t)rc;
        s->aq_head = e->next;
        if (s->aq_head == NULL)
            s->aq_tail = NULL;
        if (--s->aq_n == 0) {
            s->events &= ~ZREC__EV_ASYNC_BUSY;
            zrec__retired_free(s);
        }
        aq_out(q, e->op);
        e->next = q->free;
        q->free = e;
    }
}

static unsigned aq_submit(struct zrec_async *q, struct zrec_op *ops, unsigned n, bool seal)
{
    unsigned taken = 0;
    while (taken < n && q->free) {
        struct zrec__aq_entry *batch[ZREC_AEAD_BURST_MAX];
        struct zrec_aead_op *aops[ZREC_AEAD_BURST_MAX];
        struct zrec_aead_ctx *ctxs[ZREC_AEAD_BURST_MAX];
        unsigned k = 0, round = taken;
        bool stop = false;
        zrec__pass++;
        while (taken < n && k < ZREC_AEAD_BURST_MAX && q->free) {
            struct zrec_op *op = &ops[taken];
            struct zrec_session *s = op->sess;
            /* TLS: one record of a session in flight (zrec.h). */
            if (!seal && s && !s->fmt->datagram && s->aq_n) {
                stop = true;
                break;
            }
            struct zrec__aq_entry *e = q->free;
            q->free = e->next;
            *e = (struct zrec__aq_entry){.op = op, .seal = seal};
            taken++;
            q->pending++;
            int rc;
            if (s == NULL || s->provider != q->p || s->cache) {
                rc = -EINVAL;
            } else {
                /* The pipeline's own prepare is not refused as busy. */
                s->events &= ~ZREC__EV_ASYNC_BUSY;
                rc = seal ? seal_prepare(op, &e->pd.s, &e->aop)
                          : open_prepare(op, &e->pd.o, &e->aop);
            }
            if (s == NULL) {
                op->status = (int16_t)rc;
                aq_out(q, op);
                e->next = q->free;
                q->free = e;
                continue;
            }
            if (s->aq_tail)
                s->aq_tail->next = e;
            else
                s->aq_head = e;
            s->aq_tail = e;
            s->aq_n++;
            s->events |= ZREC__EV_ASYNC_BUSY;
            if (rc == 1) {
                batch[k] = e;
                aops[k] = &e->aop;
                ctxs[k] = seal ? e->pd.s.ctx : e->pd.o.ctx;
                k++;
            } else {
                e->done = e->finished = true;
                e->status = rc;
            }
        }
        unsigned acc = k ? q->p->submit(q->p, ctxs, aops, k, seal) : 0;
        /* Prepared but not taken by the provider: their sequence numbers
         * are spent, so they are done here and now, synchronously. */
        for (unsigned j = acc; j < k; j++) {
            struct zrec_aead_op *a = aops[j];
            a->status = seal ? q->p->seal(ctxs[j], a->nonce, a->aad, a->aad_len, a->in, a->out,
                                          a->len, a->tag)
                             : q->p->open(ctxs[j], a->nonce, a->aad, a->aad_len, a->in, a->out,
                                          a->len, a->tag);
            batch[j]->done = true;
        }
        /* Records refused or done at once may head their session. */
        for (unsigned i = round; i < taken; i++)
            if (ops[i].sess)
                aq_release(q, ops[i].sess);
        if (stop)
            break;
    }
    return taken;
}

unsigned zrec_async_seal(struct zrec_async *q, struct zrec_op *ops, unsigned n)
{
    return q && ops ? aq_submit(q, ops, n, true) : 0;
}

unsigned zrec_async_open(struct zrec_async *q, struct zrec_op *ops, unsigned n)
{
    return q && ops ? aq_submit(q, ops, n, false) : 0;
}

unsigned zrec_async_poll(struct zrec_async *q, struct zrec_op **done, unsigned max)
{
    if (q == NULL || done == NULL)
        return 0;
    /* What the provider finished, in whatever order: each releases what its
     * session has ready. */
    struct zrec_aead_op *c[ZREC_AEAD_BURST_MAX];
    unsigned k;
    do {
        k = q->p->complete(q->p, c, ZREC_AEAD_BURST_MAX);
        for (unsigned i = 0; i < k; i++) {
            struct zrec__aq_entry *e =
                (struct zrec__aq_entry *)((char *)c[i] - offsetof(struct zrec__aq_entry, aop));
            e->done = true;
            aq_release(q, e->op->sess);
        }
    } while (k == ZREC_AEAD_BURST_MAX);
    unsigned got = 0;
    while (got < max && q->out_n) {
        done[got++] = q->out[q->out_head];
        q->out_head = (q->out_head + 1) % q->depth;
        q->out_n--;
        q->pending--;
    }
    return got;
}
