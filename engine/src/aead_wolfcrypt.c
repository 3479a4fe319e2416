/* wolfCrypt AEAD provider: portable, and the reference the differential tests
 * hold intel-ipsec-mb against. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/chacha20_poly1305.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "aead.h"

struct wc_aead_ctx {
    struct zrec_aead_ctx super;
    union {
        Aes aes;
        uint8_t chacha_key[CHACHA20_POLY1305_AEAD_KEYSIZE];
    } u;
};

static int wc_supports(enum zrec_aead_id id)
{
    return (unsigned)id < ZREC_AEAD_COUNT;
}

static size_t wc_ctx_size(enum zrec_aead_id id)
{
    (void)id;
    return sizeof(struct wc_aead_ctx);
}

static int is_gcm(const struct zrec_aead_ctx *ctx)
{
    return ctx->alg->id == ZREC_AES_128_GCM || ctx->alg->id == ZREC_AES_256_GCM;
}

static int is_ccm(const struct zrec_aead_ctx *ctx)
{
    return ctx->alg->id == ZREC_AES_128_CCM || ctx->alg->id == ZREC_AES_128_CCM_8;
}

static int wc_init(struct zrec_aead_ctx *base, const uint8_t *key)
{
    struct wc_aead_ctx *ctx = (struct wc_aead_ctx *)base;
    int rc;
    if (base->alg->id == ZREC_CHACHA20_POLY1305) {
        memcpy(ctx->u.chacha_key, key, sizeof ctx->u.chacha_key);
        return 0;
    }
    if (wc_AesInit(&ctx->u.aes, NULL, INVALID_DEVID) != 0)
        return -EIO;
    if (is_gcm(base))
        rc = wc_AesGcmSetKey(&ctx->u.aes, key, base->alg->key_len);
    else
        rc = wc_AesCcmSetKey(&ctx->u.aes, key, base->alg->key_len);
    return rc == 0 ? 0 : -EIO;
}

static void wc_dispose(struct zrec_aead_ctx *base)
{
    struct wc_aead_ctx *ctx = (struct wc_aead_ctx *)base;
    if (base->alg->id != ZREC_CHACHA20_POLY1305)
        wc_AesFree(&ctx->u.aes);
    zrec__wipe(&ctx->u, sizeof ctx->u);
}

static int auth_error(int rc)
{
    if (rc == AES_GCM_AUTH_E || rc == AES_CCM_AUTH_E || rc == MAC_CMP_FAILED_E)
        return -EBADMSG;
    return rc == 0 ? 0 : -EIO;
}

static int wc_seal(struct zrec_aead_ctx *base, const uint8_t nonce[ZREC_NONCE_LEN],
                   const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out,
                   size_t len, uint8_t *tag)
{
    struct wc_aead_ctx *ctx = (struct wc_aead_ctx *)base;
    int rc;
    if (base->alg->id == ZREC_CHACHA20_POLY1305)
        rc = wc_ChaCha20Poly1305_Encrypt(ctx->u.chacha_key, nonce, aad, (word32)aad_len, in,
                                         (word32)len, out, tag);
    else if (is_gcm(base))
        rc = wc_AesGcmEncrypt(&ctx->u.aes, out, in, (word32)len, nonce, ZREC_NONCE_LEN, tag,
                              base->alg->tag_len, aad, (word32)aad_len);
    else
        rc = wc_AesCcmEncrypt(&ctx->u.aes, out, in, (word32)len, nonce, ZREC_NONCE_LEN, tag,
                              base->alg->tag_len, aad, (word32)aad_len);
    return rc == 0 ? 0 : -EIO;
}

static int wc_open(struct zrec_aead_ctx *base, const uint8_t nonce[ZREC_NONCE_LEN],
                   const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out,
                   size_t len, const uint8_t *tag)
{
    struct wc_aead_ctx *ctx = (struct wc_aead_ctx *)base;
    int rc;
    if (base->alg->id == ZREC_CHACHA20_POLY1305)
        rc = wc_ChaCha20Poly1305_Decrypt(ctx->u.chacha_key, nonce, aad, (word32)aad_len, in,
                                         (word32)len, tag, out);
    else if (is_gcm(base))
        rc = wc_AesGcmDecrypt(&ctx->u.aes, out, in, (word32)len, nonce, ZREC_NONCE_LEN, tag,
                              base->alg->tag_len, aad, (word32)aad_len);
    else
        rc = wc_AesCcmDecrypt(&ctx->u.aes, out, in, (word32)len, nonce, ZREC_NONCE_LEN, tag,
                              base->alg->tag_len, aad, (word32)aad_len);
    return auth_error(rc);
}

/* One AEAD message over several parts: wolfCrypt's streaming GCM
 * (WOLFSSL_AESGCM_STREAM) and ChaCha20-Poly1305 update interfaces.  CCM has
 * none (its length is part of the first block): -ENOTSUP. */
static int wc_crypt_parts(struct zrec_aead_ctx *base, int enc,
                          const uint8_t nonce[ZREC_NONCE_LEN], const uint8_t *aad,
                          size_t aad_len, const struct zrec_aead_part *pt, int n, uint8_t *tag)
{
    struct wc_aead_ctx *ctx = (struct wc_aead_ctx *)base;
    int rc;
    if (is_ccm(base))
        return -ENOTSUP;
    if (base->alg->id == ZREC_CHACHA20_POLY1305) {
        ChaChaPoly_Aead st;
        rc = wc_ChaCha20Poly1305_Init(&st, ctx->u.chacha_key, nonce,
                                      enc ? CHACHA20_POLY1305_AEAD_ENCRYPT
                                          : CHACHA20_POLY1305_AEAD_DECRYPT);
        if (rc == 0 && aad_len)
            rc = wc_ChaCha20Poly1305_UpdateAad(&st, aad, (word32)aad_len);
        for (int i = 0; rc == 0 && i < n; i++)
            if (pt[i].len)
                rc = wc_ChaCha20Poly1305_UpdateData(&st, pt[i].in, pt[i].out, (word32)pt[i].len);
        uint8_t calc[ZREC_MAX_TAG_LEN];
        if (rc == 0)
            rc = wc_ChaCha20Poly1305_Final(&st, enc ? tag : calc);
        if (rc == 0 && !enc && wc_ChaCha20Poly1305_CheckTag(calc, tag) != 0)
            rc = MAC_CMP_FAILED_E;
        zrec__wipe(&st, sizeof st);
        zrec__wipe(calc, sizeof calc);
        return enc ? (rc == 0 ? 0 : -EIO) : auth_error(rc);
    }
    rc = wc_AesGcmInit(&ctx->u.aes, NULL, 0, nonce, ZREC_NONCE_LEN);
    if (rc == 0 && aad_len)
        rc = enc ? wc_AesGcmEncryptUpdate(&ctx->u.aes, NULL, NULL, 0, aad, (word32)aad_len)
                 : wc_AesGcmDecryptUpdate(&ctx->u.aes, NULL, NULL, 0, aad, (word32)aad_len);
    for (int i = 0; rc == 0 && i < n; i++) {
        word32 len = (word32)pt[i].len;
        if (len == 0)
            continue;
        rc = enc ? wc_AesGcmEncryptUpdate(&ctx->u.aes, pt[i].out, pt[i].in, len, NULL, 0)
                 : wc_AesGcmDecryptUpdate(&ctx->u.aes, pt[i].out, pt[i].in, len, NULL, 0);
    }
    if (rc == 0)
        rc = enc ? wc_AesGcmEncryptFinal(&ctx->u.aes, tag, base->alg->tag_len)
                 : wc_AesGcmDecryptFinal(&ctx->u.aes, tag, base->alg->tag_len);
    return enc ? (rc == 0 ? 0 : -EIO) : auth_error(rc);
}

static int wc_seal_v(struct zrec_aead_ctx *ctx, const uint8_t nonce[ZREC_NONCE_LEN],
                     const uint8_t *aad, size_t aad_len, const struct iovec *iov, int iovcnt,
                     uint8_t *tag)
{
    struct zrec_aead_parts ps;
    int rc = zrec__aead_parts_init(&ps, iov, iovcnt);
    if (rc == 0)
        rc = wc_crypt_parts(ctx, 1, nonce, aad, aad_len, ps.p, ps.n, tag);
    zrec__aead_parts_fini(&ps);
    return rc;
}

static int wc_open_v(struct zrec_aead_ctx *ctx, const uint8_t nonce[ZREC_NONCE_LEN],
                     const uint8_t *aad, size_t aad_len, const struct iovec *iov, int iovcnt,
                     const uint8_t *tag)
{
    struct zrec_aead_parts ps;
    int rc = zrec__aead_parts_init(&ps, iov, iovcnt);
    if (rc == 0)
        rc = wc_crypt_parts(ctx, 0, nonce, aad, aad_len, ps.p, ps.n, (uint8_t *)tag);
    zrec__aead_parts_fini(&ps);
    return rc;
}

static int wc_seal_split(struct zrec_aead_ctx *ctx, const uint8_t nonce[ZREC_NONCE_LEN],
                         const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out,
                         size_t len, size_t tail, uint8_t *tag)
{
    const struct zrec_aead_part pt[2] = {{in, out, len}, {out + len, out + len, tail}};
    return wc_crypt_parts(ctx, 1, nonce, aad, aad_len, pt, 2, tag);
}

static int wc_open_split(struct zrec_aead_ctx *ctx, const uint8_t nonce[ZREC_NONCE_LEN],
                         const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out,
                         size_t len, uint8_t *spill, size_t spill_len, const uint8_t *tag)
{
    const struct zrec_aead_part pt[2] = {{in, out, len}, {in + len, spill, spill_len}};
    return wc_crypt_parts(ctx, 0, nonce, aad, aad_len, pt, 2, (uint8_t *)tag);
}

/* GCM (WOLFSSL_AESGCM_STREAM) and ChaCha20-Poly1305 stream; CCM does not. */
static void wc_caps(enum zrec_aead_id id, struct zrec_aead_caps *out)
{
    bool ccm = id == ZREC_AES_128_CCM || id == ZREC_AES_128_CCM_8;
    out->flags = ccm ? 0 : ZREC_AEAD_CAP_SG | ZREC_AEAD_CAP_SPLIT | ZREC_AEAD_CAP_OPEN_SPLIT;
    out->max_aad = 0;
}

const struct zrec_aead_provider zrec__provider_wolfcrypt = {
    .name = "wolfcrypt",
    .abi = ZREC_PROVIDER_ABI,
    .caps = wc_caps,
    .supports = wc_supports,
    .ctx_size = wc_ctx_size,
    .init = wc_init,
    .dispose = wc_dispose,
    .seal = wc_seal,
    .open = wc_open,
    .seal_v = wc_seal_v,
    .open_v = wc_open_v,
    .seal_split = wc_seal_split,
    .open_split = wc_open_split,
};
