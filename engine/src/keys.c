/* Key schedule glue: TLS 1.3 / DTLS 1.3 traffic key derivation (the next
 * generation of a secret for KeyUpdate included) through wolfCrypt's HKDF
 * (no home-made KDF), and the DTLS 1.3 record number cipher.  It depends on
 * no other engine file but aead.c: session.c builds on it (installing keys,
 * KeyUpdate), never the reverse. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/chacha.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/kdf.h>

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

size_t zrec__hash_len(enum zrec_hash h)
{
    return h == ZREC_SHA384 ? 48 : 32;
}

/* RFC 8446 §7.1 labels carry the prefix "tls13 "; RFC 9147 §5.9 replaces it
 * with "dtls13" for DTLS 1.3. */
static int expand_label(const struct zrec_session *s, uint8_t *out, size_t out_len,
                        const uint8_t *secret, size_t secret_len, const char *label)
{
    static const uint8_t tls13[] = "tls13 ";
    static const uint8_t dtls13[] = "dtls13";
    const uint8_t *proto = s->proto == ZREC_DTLS13 ? dtls13 : tls13;
    int digest = s->hash == ZREC_SHA384 ? WC_SHA384 : WC_SHA256;
    int rc = wc_Tls13_HKDF_Expand_Label(out, (word32)out_len, secret, (word32)secret_len,
                                        proto, 6, (const uint8_t *)label,
                                        (word32)strlen(label), NULL, 0, digest);
    return rc == 0 ? 0 : -EIO;
}

int zrec__derive_traffic(const struct zrec_session *s, const uint8_t *secret, size_t secret_len,
                         uint8_t *key, uint8_t *iv, uint8_t *sn_key)
{
    const struct zrec_aead_alg *alg = zrec__aead_alg(s->aead);
    /* RFC 8446 §7.3: [sender]_write_key / _iv from the traffic secret. */
    int rc = expand_label(s, key, alg->key_len, secret, secret_len, "key");
    if (rc == 0)
        rc = expand_label(s, iv, ZREC_NONCE_LEN, secret, secret_len, "iv");
    /* RFC 9147 §4.2.3: sn_key = HKDF-Expand-Label(secret, "sn", "", key_length). */
    if (rc == 0 && sn_key != NULL)
        rc = expand_label(s, sn_key, alg->key_len, secret, secret_len, "sn");
    return rc;
}

int zrec__next_secret(const struct zrec_session *s, const uint8_t *secret, size_t secret_len,
                      uint8_t *next)
{
    /* RFC 8446 §7.2: application_traffic_secret_N+1 =
     *   HKDF-Expand-Label(application_traffic_secret_N, "traffic upd", "", Hash.length) */
    return expand_label(s, next, secret_len, secret, secret_len, "traffic upd");
}

/* ---- DTLS 1.3 record number encryption (RFC 9147 §4.2.3) ----
 *
 * The mask cipher is AES-ECB (one block) or the ChaCha20 block function,
 * keyed with sn_key.  With the ipsec-mb provider and AES-128 an expanded key
 * (240 B) and ipsec-mb do the block; otherwise wolfCrypt.  Only the variant
 * in use is allocated. */

enum sn_kind { SN_WC_AES, SN_WC_CHACHA, SN_PROVIDER };

struct zrec_sn_cipher {
    uint8_t kind;
    uint8_t key_len;
    size_t size;
    const struct zrec_aead_provider *provider; /* SN_PROVIDER */
    union {
        Aes aes;
        ChaCha chacha;
        uint8_t provider_ctx[1] __attribute__((aligned(64))); /* sn_size bytes */
    } u;
};

/* The mask cipher of RFC 9147 §4.2.3: the provider's, where it offers one
 * (its sn_size capability), else wolfCrypt's AES-ECB or ChaCha20 block. */
struct zrec_sn_cipher *zrec__sn_new(const struct zrec_aead_provider *p, enum zrec_aead_id aead,
                                    const uint8_t *key, size_t key_len)
{
    enum sn_kind kind = aead == ZREC_CHACHA20_POLY1305 ? SN_WC_CHACHA : SN_WC_AES;
    size_t var = kind == SN_WC_CHACHA ? sizeof(ChaCha) : sizeof(Aes);
    size_t provided = p && p->sn_size && p->sn_init && p->sn_mask ? p->sn_size(aead, key_len) : 0;
    if (provided) {
        kind = SN_PROVIDER;
        var = provided;
    }
    size_t size = offsetof(struct zrec_sn_cipher, u) + var;
    struct zrec_sn_cipher *sn = aligned_alloc(64, (size + 63) & ~(size_t)63);
    if (sn == NULL)
        return NULL;
    memset(sn, 0, size);
    sn->kind = (uint8_t)kind;
    sn->key_len = (uint8_t)key_len;
    sn->size = size;
    sn->provider = p;
    int rc;
    switch (kind) {
    case SN_WC_CHACHA:
        rc = wc_Chacha_SetKey(&sn->u.chacha, key, (word32)key_len);
        break;
    case SN_PROVIDER:
        rc = p->sn_init(sn->u.provider_ctx, key, key_len);
        break;
    default:
        rc = wc_AesInit(&sn->u.aes, NULL, INVALID_DEVID);
        if (rc == 0)
            rc = wc_AesSetKeyDirect(&sn->u.aes, key, (word32)key_len, NULL, AES_ENCRYPTION);
        break;
    }
    if (rc != 0) {
        zrec__sn_free(sn);
        errno = EIO;
        return NULL;
    }
    return sn;
}

void zrec__sn_free(struct zrec_sn_cipher *sn)
{
    if (sn == NULL)
        return;
    if (sn->kind == SN_WC_AES)
        wc_AesFree(&sn->u.aes);
    zrec__wipe(sn, sn->size);
    free(sn);
}

size_t zrec__sn_footprint(const struct zrec_sn_cipher *sn)
{
    return sn ? (sn->size + 63) & ~(size_t)63 : 0;
}

int zrec__sn_mask(struct zrec_sn_cipher *sn, const uint8_t sample[16], uint8_t mask[2])
{
    uint8_t block[16];
    int rc;
    switch (sn->kind) {
    case SN_WC_CHACHA: {
        /* Mask = ChaCha20(sn_key, counter = ciphertext[0..3] (little-endian,
         * as RFC 8439 §2.3 reads the counter), nonce = ciphertext[4..15]). */
        uint32_t counter = (uint32_t)sample[0] | (uint32_t)sample[1] << 8 |
                           (uint32_t)sample[2] << 16 | (uint32_t)sample[3] << 24;
        memset(block, 0, sizeof block);
        rc = wc_Chacha_SetIV(&sn->u.chacha, sample + 4, counter);
        if (rc == 0)
            rc = wc_Chacha_Process(&sn->u.chacha, block, block, sizeof block);
        break;
    }
    case SN_PROVIDER:
        return sn->provider->sn_mask(sn->u.provider_ctx, sample, mask);
    default:
        rc = wc_AesEncryptDirect(&sn->u.aes, block, sample);
        break;
    }
    mask[0] = block[0];
    mask[1] = block[1];
    return rc == 0 ? 0 : -EIO;
}
