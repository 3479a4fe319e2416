/*
 * Engine-side helpers around the provider interface (zrec/provider.h): the
 * AEAD descriptors, the built-in providers, and the generic code that stands
 * in for a provider's optional slots (bounce copies for scatter-gather and
 * copy-on-encrypt, per-op bursts).  Capabilities decide, never which
 * provider a context belongs to.
 */
#ifndef ZREC_AEAD_H
#define ZREC_AEAD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include "zrec/provider.h"
#include "zrec/zrec.h"

/* Nonces are kept in 16-byte buffers (the last 4 bytes zero): written with
 * one 16-byte store, they forward to the AEAD's load of them (record.c,
 * nonce_for()). */
#define ZREC_NONCE_BUF 16
#define ZREC_MAX_KEY_LEN 32
#define ZREC_MAX_TAG_LEN 16

static inline const struct zrec_aead_alg *zrec__aead_alg(enum zrec_aead_id id)
{
    return zrec_aead_describe(id);
}

/* The provider's capabilities for an AEAD (all zero when it has no caps
 * slot). */
static inline struct zrec_aead_caps zrec__aead_caps(const struct zrec_aead_provider *p,
                                                    enum zrec_aead_id id)
{
    struct zrec_aead_caps c = {0, 0};
    if (p->caps)
        p->caps(id, &c);
    return c;
}

/* One piece of an incremental AEAD pass: `len` bytes from in to out
 * (in == out: in place). */
struct zrec_aead_part {
    const uint8_t *in;
    uint8_t *out;
    size_t len;
};

/* In-place parts for a list of iovecs: on the stack up to the engine's own
 * op limit (64 segments + inner type), on the heap beyond. */
#define ZREC_AEAD_LOCAL_PARTS 66
struct zrec_aead_parts {
    struct zrec_aead_part *p;
    int n;
    struct zrec_aead_part local[ZREC_AEAD_LOCAL_PARTS];
};
int zrec__aead_parts_init(struct zrec_aead_parts *ps, const struct iovec *iov, int iovcnt);
void zrec__aead_parts_fini(struct zrec_aead_parts *ps);

extern const struct zrec_aead_provider zrec__provider_wolfcrypt;
#ifdef ZREC_HAVE_IPSECMB
extern const struct zrec_aead_provider zrec__provider_ipsecmb;
#endif

/* Allocate and key a context; NULL + errno on failure. */
struct zrec_aead_ctx *zrec__aead_new(const struct zrec_aead_provider *p, enum zrec_aead_id id,
                                     const uint8_t *key);
/* Wipe and free. */
void zrec__aead_free(struct zrec_aead_ctx *ctx);
size_t zrec__aead_footprint(const struct zrec_aead_ctx *ctx);

/* The generic code behind the optional slots; `caps` is the session's
 * zrec__aead_caps(provider, aead).flags, read once when the session is made.
 *
 * Normalise a seal op for the provider: a tail sealed in place behind an
 * in-place payload is one message (tail folded into len); a copy-on-encrypt
 * op for a provider without ZREC_AEAD_CAP_SPLIT (or in-place only) becomes a
 * counted copy and an in-place seal, and so does (uncounted) a short one
 * with a tail (ZREC_SEAL_COPY_MAX).  After it, tail > 0 reaches only providers
 * that have seal_split. */
void zrec__aead_count_copy(void);
static inline void zrec__aead_seal_prepare(uint32_t caps, struct zrec_aead_op *op)
{
    if (__builtin_expect(op->in == op->out, 1)) {
        op->len += op->tail;
        op->tail = 0;
        return;
    }
    bool split = (caps & (ZREC_AEAD_CAP_SPLIT | ZREC_AEAD_CAP_IN_PLACE_ONLY)) ==
                 ZREC_AEAD_CAP_SPLIT;
    if (op->tail == 0 ? !(caps & ZREC_AEAD_CAP_IN_PLACE_ONLY)
                      : split && op->len > ZREC_SEAL_COPY_MAX)
        return;
    /* Copy, then seal payload and tail in place as one message.  Up to
     * ZREC_SEAL_COPY_MAX (zrec.h) this is the faster way even where the
     * provider has seal_split: its two-part call costs more than the copy
     * (ipsec-mb AVX512, TLS 1.3 AES-128-GCM: 64 B 63 -> 50 ns, 1400 B 109
     * -> 100 ns).  Counted when the provider's capabilities force it. */
    if (op->tail == 0 || !split)
        zrec__aead_count_copy();
    memmove(op->out, op->in, op->len);
    op->in = op->out;
    op->len += op->tail;
    op->tail = 0;
}
/* Open into a separate destination: for an in-place-only provider the
 * ciphertext is copied there first (counted) and opened in place. */
static inline void zrec__aead_open_prepare(uint32_t caps, struct zrec_aead_op *op)
{
    if (__builtin_expect(op->in == op->out || !(caps & ZREC_AEAD_CAP_IN_PLACE_ONLY), 1))
        return;
    zrec__aead_count_copy();
    memcpy(op->out, op->in, op->len);
    op->in = op->out;
}
/* Run prepared ops under ctxs[i]: the provider's burst slot, or its
 * seal/seal_split/open once per op.  Every op gets its status. */
void zrec__aead_seal_ops(struct zrec_aead_ctx *const ctxs[], struct zrec_aead_op *ops,
                         unsigned n);
void zrec__aead_open_ops(struct zrec_aead_ctx *const ctxs[], struct zrec_aead_op *ops,
                         unsigned n);

/* Scattered seal/open in place: the provider's seal_v/open_v where it has
 * ZREC_AEAD_CAP_SG, else (counted) a bounce copy through its contiguous
 * path. */
int zrec__aead_seal_v(struct zrec_aead_ctx *ctx, uint32_t caps,
                      const uint8_t nonce[ZREC_NONCE_LEN], const uint8_t *aad, size_t aad_len,
                      const struct iovec *iov, int iovcnt, uint8_t *tag);
int zrec__aead_open_v(struct zrec_aead_ctx *ctx, uint32_t caps,
                      const uint8_t nonce[ZREC_NONCE_LEN], const uint8_t *aad, size_t aad_len,
                      const struct iovec *iov, int iovcnt, const uint8_t *tag);

/* Constant-time wipe the compiler may not elide. */
void zrec__wipe(void *p, size_t n);

#endif
