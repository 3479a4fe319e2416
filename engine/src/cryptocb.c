/*
 * wolfSSL's own AES-GCM through a zrec provider (zrec/wolfssl.h): a wolfCrypt
 * crypto-callback device.  wolfCrypt calls it for every AES-GCM operation of
 * an Aes object whose devId is ours (wolfSSL_CTX_SetDevId gives its objects
 * that id); with WOLF_CRYPTO_CB an Aes keeps its raw key (devKey), which is
 * what a provider context is keyed with.  Anything the provider cannot do
 * gets CRYPTOCB_UNAVAILABLE, and wolfCrypt does it itself.
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/cryptocb.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/wc_port.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "aead.h"
#include "zrec/wolfssl.h"

#define MAX_DEVICES 16
/* wolfCrypt's device ids are the caller's choice (INVALID_DEVID is -2):
 * ours sit well away from small ids other code may use. */
#define DEV_BASE 0x7a720

struct device {
    const struct zrec_aead_provider *p;
    atomic_uint_fast64_t aead_ops, declined;
};

static struct device devices[MAX_DEVICES];
static _Atomic(const struct zrec_aead_provider *) in_use[MAX_DEVICES];

/* One AES-GCM operation with a context made for it (the key's expansion,
 * then wiped): enc seals in -> out and writes the tag, else opens and
 * checks it. */
static int gcm(struct device *d, bool enc, Aes *aes, byte *out, const byte *in, word32 sz,
               const byte *iv, word32 iv_sz, byte *tag, word32 tag_sz, const byte *aad,
               word32 aad_sz)
{
    enum zrec_aead_id id = aes->keylen == 16 ? ZREC_AES_128_GCM
                         : aes->keylen == 32 ? ZREC_AES_256_GCM
                                             : ZREC_AEAD_COUNT;
    if (id == ZREC_AEAD_COUNT || iv_sz != ZREC_NONCE_LEN || tag_sz != 16 ||
        !d->p->supports(id)) {
        atomic_fetch_add_explicit(&d->declined, 1, memory_order_relaxed);
        return CRYPTOCB_UNAVAILABLE;
    }
    struct zrec_aead_ctx *ctx = zrec__aead_new(d->p, id, (const uint8_t *)aes->devKey);
    if (ctx == NULL) {
        atomic_fetch_add_explicit(&d->declined, 1, memory_order_relaxed);
        return CRYPTOCB_UNAVAILABLE;
    }
    uint8_t nonce[ZREC_NONCE_BUF] = {0}; /* providers may read 16 bytes */
    memcpy(nonce, iv, ZREC_NONCE_LEN);
    int rc = enc ? d->p->seal(ctx, nonce, aad, aad_sz, in, out, sz, tag)
                 : d->p->open(ctx, nonce, aad, aad_sz, in, out, sz, tag);
    zrec__aead_free(ctx);
    atomic_fetch_add_explicit(&d->aead_ops, 1, memory_order_relaxed);
    if (rc == -EBADMSG)
        return AES_GCM_AUTH_E;
    return rc == 0 ? 0 : WC_HW_E;
}

static int callback(int dev_id, wc_CryptoInfo *info, void *arg)
{
    (void)dev_id;
    struct device *d = arg;
    if (info->algo_type != WC_ALGO_TYPE_CIPHER || info->cipher.type != WC_CIPHER_AES_GCM)
        return CRYPTOCB_UNAVAILABLE;
    if (info->cipher.enc) {
        const __typeof__(info->cipher.aesgcm_enc) *e = &info->cipher.aesgcm_enc;
        return gcm(d, true, e->aes, e->out, e->in, e->sz, e->iv, e->ivSz, e->authTag,
                   e->authTagSz, e->authIn, e->authInSz);
    }
    const __typeof__(info->cipher.aesgcm_dec) *e = &info->cipher.aesgcm_dec;
    return gcm(d, false, e->aes, e->out, e->in, e->sz, e->iv, e->ivSz, (byte *)e->authTag,
               e->authTagSz, e->authIn, e->authInSz);
}

int zrec_wolfssl_crypto_device(const struct zrec_aead_provider *p)
{
    if (p == NULL || p->supports == NULL ||
        !(p->supports(ZREC_AES_128_GCM) || p->supports(ZREC_AES_256_GCM)))
        return -ENOTSUP;
    /* The device table is set up by wolfCrypt_Init() (reference counted:
     * a program that has called wolfSSL_Init() is not disturbed). */
    if (wolfCrypt_Init() != 0)
        return -ENOMEM;
    for (int i = 0; i < MAX_DEVICES; i++) {
        const struct zrec_aead_provider *none = NULL;
        if (!atomic_compare_exchange_strong(&in_use[i], &none, p))
            continue;
        devices[i].p = p;
        atomic_store(&devices[i].aead_ops, 0);
        atomic_store(&devices[i].declined, 0);
        if (wc_CryptoCb_RegisterDevice(DEV_BASE + i, callback, &devices[i]) != 0) {
            atomic_store(&in_use[i], NULL);
            return -ENOMEM;
        }
        return DEV_BASE + i;
    }
    return -ENOSPC;
}

static struct device *device_of(int dev_id)
{
    int i = dev_id - DEV_BASE;
    if (i < 0 || i >= MAX_DEVICES || atomic_load(&in_use[i]) == NULL)
        return NULL;
    return &devices[i];
}

int zrec_wolfssl_crypto_device_stats(int dev_id, struct zrec_wolfssl_crypto_stats *out)
{
    struct device *d = device_of(dev_id);
    if (d == NULL || out == NULL)
        return -EINVAL;
    out->aead_ops = atomic_load(&d->aead_ops);
    out->declined = atomic_load(&d->declined);
    return 0;
}

void zrec_wolfssl_crypto_device_remove(int dev_id)
{
    if (device_of(dev_id) == NULL)
        return;
    wc_CryptoCb_UnRegisterDevice(dev_id);
    atomic_store(&in_use[dev_id - DEV_BASE], NULL);
}
