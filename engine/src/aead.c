/* AEAD descriptors, provider registry and the scatter-gather fallback. */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "aead.h"
#include "internal.h"

/* Usage limits.  RFC 8446 §5.5: AES-GCM keys protect at most 2^24.5 full-size
 * records; ChaCha20-Poly1305 is limited only by the sequence number.  CCM:
 * 2^21.5 (RFC 9001 §6.6, the analysis RFC 9147 §4.5.3 refers to).
 * Integrity limits (failed opens, RFC 9147 §4.5.3): GCM and ChaCha20 2^36,
 * CCM 2^23.5, CCM_8 2^7. */
#define LIMIT_2_24_5 23726566ull
#define LIMIT_2_21_5 2965820ull
#define LIMIT_2_23_5 11863283ull

static const struct zrec_aead_alg algs[ZREC_AEAD_COUNT] = {
    [ZREC_AES_128_GCM] = {ZREC_AES_128_GCM, "aes128gcm", 16, 16, 4, 8, LIMIT_2_24_5, 1ull << 36},
    [ZREC_AES_256_GCM] = {ZREC_AES_256_GCM, "aes256gcm", 32, 16, 4, 8, LIMIT_2_24_5, 1ull << 36},
    [ZREC_CHACHA20_POLY1305] = {ZREC_CHACHA20_POLY1305, "chacha20poly1305", 32, 16, 12, 0,
                                UINT64_MAX, 1ull << 36},
    [ZREC_AES_128_CCM] = {ZREC_AES_128_CCM, "aes128ccm", 16, 16, 4, 8, LIMIT_2_21_5,
                          LIMIT_2_23_5},
    [ZREC_AES_128_CCM_8] = {ZREC_AES_128_CCM_8, "aes128ccm8", 16, 8, 4, 8, LIMIT_2_21_5,
                            1ull << 7},
};

const struct zrec_aead_alg *zrec_aead_describe(enum zrec_aead_id id)
{
    if ((unsigned)id >= ZREC_AEAD_COUNT)
        return NULL;
    return &algs[id];
}

const char *zrec_aead_name(enum zrec_aead_id id)
{
    const struct zrec_aead_alg *a = zrec__aead_alg(id);
    return a ? a->name : "unknown";
}

const struct zrec_aead_provider *zrec_provider_wolfcrypt(void)
{
    return &zrec__provider_wolfcrypt;
}

const struct zrec_aead_provider *zrec_provider_ipsecmb(void)
{
#ifdef ZREC_HAVE_IPSECMB
    return &zrec__provider_ipsecmb;
#else
    return NULL;
#endif
}

const struct zrec_aead_provider *zrec_provider_default(void)
{
    const struct zrec_aead_provider *p = zrec_provider_ipsecmb();
    return p ? p : zrec_provider_wolfcrypt();
}

const struct zrec_aead_provider *zrec_provider_by_name(const char *name)
{
    if (name == NULL)
        return NULL;
    if (strcmp(name, "wolfcrypt") == 0)
        return zrec_provider_wolfcrypt();
    if (strcmp(name, "ipsecmb") == 0)
        return zrec_provider_ipsecmb();
    if (strcmp(name, "default") == 0)
        return zrec_provider_default();
    return NULL;
}

const char *zrec_provider_name(const struct zrec_aead_provider *p)
{
    return p ? p->name : "none";
}

void zrec__wipe(void *p, size_t n)
{
    explicit_bzero(p, n); /* a memset the compiler may not drop */
}

static size_t ctx_alloc_size(const struct zrec_aead_provider *p, enum zrec_aead_id id)
{
    return (p->ctx_size(id) + 63) & ~(size_t)63;
}

struct zrec_aead_ctx *zrec__aead_new(const struct zrec_aead_provider *p, enum zrec_aead_id id,
                                     const uint8_t *key)
{
    const struct zrec_aead_alg *alg = zrec__aead_alg(id);
    if (p == NULL || alg == NULL) {
        errno = EINVAL;
        return NULL;
    }
    if (!p->supports(id)) {
        errno = ENOTSUP;
        return NULL;
    }
    size_t size = ctx_alloc_size(p, id);
    struct zrec_aead_ctx *ctx = aligned_alloc(64, size);
    if (ctx == NULL)
        return NULL;
    memset(ctx, 0, size);
    ctx->alg = alg;
    ctx->provider = p;
    int rc = p->init(ctx, key);
    if (rc < 0) {
        zrec__wipe(ctx, size);
        free(ctx);
        errno = -rc;
        return NULL;
    }
    return ctx;
}

void zrec__aead_free(struct zrec_aead_ctx *ctx)
{
    if (ctx == NULL)
        return;
    ctx->provider->dispose(ctx);
    zrec__wipe(ctx, ctx_alloc_size(ctx->provider, ctx->alg->id));
    free(ctx);
}

size_t zrec__aead_footprint(const struct zrec_aead_ctx *ctx)
{
    return ctx ? ctx_alloc_size(ctx->provider, ctx->alg->id) : 0;
}

/* Counts bounce copies: an AEAD with no incremental interface (CCM) over a
 * scattered record.  Exposed through zrec_stats_get(). */
static atomic_ulong sg_bounce_copies;

void zrec_stats_get(struct zrec_stats *out)
{
    if (out)
        out->sg_bounce_copies = atomic_load_explicit(&sg_bounce_copies, memory_order_relaxed);
}

int zrec__aead_parts_init(struct zrec_aead_parts *ps, const struct iovec *iov, int iovcnt)
{
    if (iovcnt < 0)
        return -EINVAL;
    ps->p = ps->local;
    if (iovcnt > ZREC_AEAD_LOCAL_PARTS) {
        ps->p = malloc(sizeof *ps->p * (size_t)iovcnt);
        if (ps->p == NULL)
            return -ENOMEM;
    }
    for (int i = 0; i < iovcnt; i++)
        ps->p[i] = (struct zrec_aead_part){iov[i].iov_base, iov[i].iov_base, iov[i].iov_len};
    ps->n = iovcnt;
    return 0;
}

void zrec__aead_parts_fini(struct zrec_aead_parts *ps)
{
    if (ps->p != ps->local)
        free(ps->p);
}

static size_t iov_total(const struct iovec *iov, int n)
{
    size_t t = 0;
    for (int i = 0; i < n; i++)
        t += iov[i].iov_len;
    return t;
}

static void iov_gather(uint8_t *dst, const struct iovec *iov, int n)
{
    for (int i = 0; i < n; i++) {
        memcpy(dst, iov[i].iov_base, iov[i].iov_len);
        dst += iov[i].iov_len;
    }
}

static void iov_scatter(const struct iovec *iov, int n, const uint8_t *src)
{
    for (int i = 0; i < n; i++) {
        memcpy(iov[i].iov_base, src, iov[i].iov_len);
        src += iov[i].iov_len;
    }
}

/* The fallback for an AEAD with no incremental interface: gather the
 * segments, run the contiguous path, scatter the result back.  On open, only
 * authenticated plaintext goes back into the caller's segments. */
static int bounce_crypt(struct zrec_aead_ctx *ctx, bool seal, const uint8_t nonce[ZREC_NONCE_LEN],
                        const uint8_t *aad, size_t aad_len, const struct iovec *iov, int iovcnt,
                        uint8_t *tag)
{
    size_t len = iov_total(iov, iovcnt);
    uint8_t *bounce = malloc(len ? len : 1);
    if (bounce == NULL)
        return -ENOMEM;
    atomic_fetch_add_explicit(&sg_bounce_copies, 1, memory_order_relaxed);
    iov_gather(bounce, iov, iovcnt);
    int rc = seal ? ctx->provider->seal(ctx, nonce, aad, aad_len, bounce, bounce, len, tag)
                  : ctx->provider->open(ctx, nonce, aad, aad_len, bounce, bounce, len, tag);
    if (rc == 0)
        iov_scatter(iov, iovcnt, bounce);
    zrec__wipe(bounce, len);
    free(bounce);
    return rc;
}

void zrec__aead_count_copy(void)
{
    atomic_fetch_add_explicit(&sg_bounce_copies, 1, memory_order_relaxed);
}

void zrec__aead_seal_ops(struct zrec_aead_ctx *const ctxs[], struct zrec_aead_op *ops,
                         unsigned n)
{
    const struct zrec_aead_provider *p = ctxs[0]->provider;
    if (p->seal_burst) {
        p->seal_burst(ctxs, ops, n);
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        struct zrec_aead_op *o = &ops[i];
        o->status = o->tail ? p->seal_split(ctxs[i], o->nonce, o->aad, o->aad_len, o->in, o->out,
                                            o->len, o->tail, o->tag)
                            : p->seal(ctxs[i], o->nonce, o->aad, o->aad_len, o->in, o->out,
                                      o->len, o->tag);
    }
}

void zrec__aead_open_ops(struct zrec_aead_ctx *const ctxs[], struct zrec_aead_op *ops,
                         unsigned n)
{
    const struct zrec_aead_provider *p = ctxs[0]->provider;
    if (p->open_burst) {
        p->open_burst(ctxs, ops, n);
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        struct zrec_aead_op *o = &ops[i];
        o->status = p->open(ctxs[i], o->nonce, o->aad, o->aad_len, o->in, o->out, o->len, o->tag);
    }
}

int zrec__aead_seal_v(struct zrec_aead_ctx *ctx, uint32_t caps,
                      const uint8_t nonce[ZREC_NONCE_LEN], const uint8_t *aad, size_t aad_len,
                      const struct iovec *iov, int iovcnt, uint8_t *tag)
{
    if (caps & ZREC_AEAD_CAP_SG)
        return ctx->provider->seal_v(ctx, nonce, aad, aad_len, iov, iovcnt, tag);
    return bounce_crypt(ctx, true, nonce, aad, aad_len, iov, iovcnt, tag);
}

int zrec__aead_open_v(struct zrec_aead_ctx *ctx, uint32_t caps,
                      const uint8_t nonce[ZREC_NONCE_LEN], const uint8_t *aad, size_t aad_len,
                      const struct iovec *iov, int iovcnt, const uint8_t *tag)
{
    if (caps & ZREC_AEAD_CAP_SG)
        return ctx->provider->open_v(ctx, nonce, aad, aad_len, iov, iovcnt, tag);
    return bounce_crypt(ctx, false, nonce, aad, aad_len, iov, iovcnt, (uint8_t *)tag);
}
