/* The test provider (test_provider.h): wolfCrypt's one-shot AEAD calls
 * behind the mandatory slots of zrec/provider.h, and no engine internals. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/chacha20_poly1305.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_provider.h"

struct tp_ctx {
    struct zrec_aead_ctx super;
    Aes aes;
    uint8_t key[32];
};

static atomic_ulong calls;

unsigned long test_provider_calls(void)
{
    return atomic_load(&calls);
}

static int tp_supports(enum zrec_aead_id id)
{
    return zrec_aead_describe(id) != NULL;
}

static size_t tp_ctx_size(enum zrec_aead_id id)
{
    (void)id;
    return sizeof(struct tp_ctx);
}

static bool is_gcm(enum zrec_aead_id id)
{
    return id == ZREC_AES_128_GCM || id == ZREC_AES_256_GCM;
}

static int tp_init(struct zrec_aead_ctx *base, const uint8_t *key)
{
    struct tp_ctx *c = (struct tp_ctx *)base;
    const struct zrec_aead_alg *alg = base->alg;
    memcpy(c->key, key, alg->key_len);
    if (alg->id == ZREC_CHACHA20_POLY1305)
        return 0;
    if (wc_AesInit(&c->aes, NULL, INVALID_DEVID) != 0)
        return -EIO;
    int rc = is_gcm(alg->id) ? wc_AesGcmSetKey(&c->aes, key, alg->key_len)
                             : wc_AesCcmSetKey(&c->aes, key, alg->key_len);
    return rc == 0 ? 0 : -EIO;
}

static void tp_dispose(struct zrec_aead_ctx *base)
{
    struct tp_ctx *c = (struct tp_ctx *)base;
    if (base->alg->id != ZREC_CHACHA20_POLY1305)
        wc_AesFree(&c->aes);
    memset(c->key, 0, sizeof c->key);
}

static int tp_crypt(struct zrec_aead_ctx *base, bool enc, const uint8_t *nonce,
                    const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out,
                    size_t len, uint8_t *tag)
{
    struct tp_ctx *c = (struct tp_ctx *)base;
    const struct zrec_aead_alg *alg = base->alg;
    word32 n = (word32)len, an = (word32)aad_len;
    int rc;
    atomic_fetch_add(&calls, 1);
    switch (alg->id) {
    case ZREC_CHACHA20_POLY1305:
        rc = enc ? wc_ChaCha20Poly1305_Encrypt(c->key, nonce, aad, an, in, n, out, tag)
                 : wc_ChaCha20Poly1305_Decrypt(c->key, nonce, aad, an, in, n, tag, out);
        break;
    case ZREC_AES_128_GCM:
    case ZREC_AES_256_GCM:
        rc = enc ? wc_AesGcmEncrypt(&c->aes, out, in, n, nonce, ZREC_NONCE_LEN, tag,
                                    alg->tag_len, aad, an)
                 : wc_AesGcmDecrypt(&c->aes, out, in, n, nonce, ZREC_NONCE_LEN, tag,
                                    alg->tag_len, aad, an);
        break;
    default:
        rc = enc ? wc_AesCcmEncrypt(&c->aes, out, in, n, nonce, ZREC_NONCE_LEN, tag,
                                    alg->tag_len, aad, an)
                 : wc_AesCcmDecrypt(&c->aes, out, in, n, nonce, ZREC_NONCE_LEN, tag,
                                    alg->tag_len, aad, an);
        break;
    }
    if (rc == 0)
        return 0;
    return !enc && (rc == AES_GCM_AUTH_E || rc == AES_CCM_AUTH_E || rc == MAC_CMP_FAILED_E)
               ? -EBADMSG
               : -EIO;
}

static int tp_seal(struct zrec_aead_ctx *ctx, const uint8_t nonce[ZREC_NONCE_LEN],
                   const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out,
                   size_t len, uint8_t *tag)
{
    return tp_crypt(ctx, true, nonce, aad, aad_len, in, out, len, tag);
}

static int tp_open(struct zrec_aead_ctx *ctx, const uint8_t nonce[ZREC_NONCE_LEN],
                   const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out,
                   size_t len, const uint8_t *tag)
{
    return tp_crypt(ctx, false, nonce, aad, aad_len, in, out, len, (uint8_t *)tag);
}

/* The in-place-only variant holds the engine to its capability. */
static void must_be_in_place(const uint8_t *in, const uint8_t *out, const char *what)
{
    if (in != out) {
        fprintf(stderr, "FAIL: testprov-inplace %s handed in %p != out %p\n", what,
                (const void *)in, (const void *)out);
        abort();
    }
}

static int tpi_seal(struct zrec_aead_ctx *ctx, const uint8_t nonce[ZREC_NONCE_LEN],
                    const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out,
                    size_t len, uint8_t *tag)
{
    must_be_in_place(in, out, "seal");
    return tp_seal(ctx, nonce, aad, aad_len, in, out, len, tag);
}

static int tpi_open(struct zrec_aead_ctx *ctx, const uint8_t nonce[ZREC_NONCE_LEN],
                    const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out,
                    size_t len, const uint8_t *tag)
{
    must_be_in_place(in, out, "open");
    return tp_open(ctx, nonce, aad, aad_len, in, out, len, tag);
}

static void tpi_caps(enum zrec_aead_id id, struct zrec_aead_caps *out)
{
    (void)id;
    out->flags = ZREC_AEAD_CAP_IN_PLACE_ONLY;
    out->max_aad = 0;
}

const struct zrec_aead_provider test_provider_minimal = {
    .name = "testprov",
    .abi = ZREC_PROVIDER_ABI,
    .supports = tp_supports,
    .ctx_size = tp_ctx_size,
    .init = tp_init,
    .dispose = tp_dispose,
    .seal = tp_seal,
    .open = tp_open,
};

const struct zrec_aead_provider test_provider_inplace = {
    .name = "testprov-inplace",
    .abi = ZREC_PROVIDER_ABI,
    .supports = tp_supports,
    .ctx_size = tp_ctx_size,
    .init = tp_init,
    .dispose = tp_dispose,
    .seal = tpi_seal,
    .open = tpi_open,
    .caps = tpi_caps,
};

const struct zrec_aead_provider *test_provider_by_name(const char *name)
{
    if (strcmp(name, "testprov") == 0)
        return &test_provider_minimal;
    if (strcmp(name, "testprov-inplace") == 0)
        return &test_provider_inplace;
    return NULL;
}
