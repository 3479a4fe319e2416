/*
 * AEAD provider interface (picotls-style two levels).
 *
 * A const algorithm descriptor says what an AEAD is (sizes, TLS 1.2 IV split,
 * usage limits); a provider implements it for a key in a per-key context that
 * embeds `struct zrec_aead_ctx` as its first member.  The engine allocates
 * `ctx_size` bytes and never sees the provider's own types.
 *
 * Optional capabilities are advertised, not stubbed: a provider without
 * scatter-gather for an AEAD returns -ENOTSUP from seal_v/open_v and the engine
 * falls back to a counted bounce copy.
 */
#ifndef ZREC_AEAD_H
#define ZREC_AEAD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "zrec/zrec.h"

#define ZREC_NONCE_LEN 12
/* Nonces are kept in 16-byte buffers (the last 4 bytes zero): written with
 * one 16-byte store, they forward to the AEAD's load of them (record.c,
 * nonce_for()). */
#define ZREC_NONCE_BUF 16
#define ZREC_MAX_KEY_LEN 32
#define ZREC_MAX_TAG_LEN 16

struct zrec_aead_alg {
    enum zrec_aead_id id;
    const char *name;     /* "aes128gcm", ... */
    uint8_t key_len;
    uint8_t tag_len;
    /* TLS 1.2 implicit IV ("salt") length: 4 for GCM/CCM (RFC 5288 §3,
     * RFC 6655 §3), 12 for ChaCha20-Poly1305 (RFC 7905 §2). */
    uint8_t tls12_fixed_iv_len;
    /* TLS 1.2 explicit nonce carried in each record: 8 for GCM/CCM, 0 for
     * ChaCha20-Poly1305. */
    uint8_t tls12_explicit_len;
    /* Records one key may protect (RFC 8446 §5.5, RFC 9001 §6.6). */
    uint64_t confidentiality_limit;
    /* Failed opens one key may see before the connection must end
     * (RFC 9147 §4.5.3). */
    uint64_t integrity_limit;
};

const struct zrec_aead_alg *zrec__aead_alg(enum zrec_aead_id id);

struct zrec_aead_provider;

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

struct zrec_aead_ctx {
    const struct zrec_aead_alg *alg;
    const struct zrec_aead_provider *provider;
};

struct zrec_aead_provider {
    const char *name;
    /* Whether this provider implements the AEAD at all. */
    int (*supports)(enum zrec_aead_id id);
    /* Bytes to allocate for a context of this AEAD (64-byte aligned). */
    size_t (*ctx_size)(enum zrec_aead_id id);
    /* Expand `key` into ctx (ctx->alg and ctx->provider are set by the caller). */
    int (*init)(struct zrec_aead_ctx *ctx, const uint8_t *key);
    /* Wipe key material (the engine frees the memory). */
    void (*dispose)(struct zrec_aead_ctx *ctx);
    /* Seal in[0..len) into out[0..len) (in == out: in place), tag written
     * to `tag`. */
    int (*seal)(struct zrec_aead_ctx *ctx, const uint8_t nonce[ZREC_NONCE_LEN],
                const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out, size_t len,
                uint8_t *tag);
    /* Open in[0..len) into out[0..len) (in == out: in place); -EBADMSG if
     * the tag does not verify (out then holds garbage the engine wipes). */
    int (*open)(struct zrec_aead_ctx *ctx, const uint8_t nonce[ZREC_NONCE_LEN],
                const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out, size_t len,
                const uint8_t *tag);
    /* Seal in[0..len) into out[0..len) and then out[len..len+tail) in place,
     * as one AEAD message: copy-on-encrypt with an inner content type that
     * the caller placed after the copied payload.  -ENOTSUP when the AEAD has
     * no incremental interface. */
    int (*seal_split)(struct zrec_aead_ctx *ctx, const uint8_t nonce[ZREC_NONCE_LEN],
                      const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out,
                      size_t len, size_t tail, uint8_t *tag);
    /* Scatter-gather variants through the AEAD's incremental interface;
     * -ENOTSUP when the AEAD has none here. */
    int (*seal_v)(struct zrec_aead_ctx *ctx, const uint8_t nonce[ZREC_NONCE_LEN],
                  const uint8_t *aad, size_t aad_len, const struct iovec *iov, int iovcnt,
                  uint8_t *tag);
    int (*open_v)(struct zrec_aead_ctx *ctx, const uint8_t nonce[ZREC_NONCE_LEN],
                  const uint8_t *aad, size_t aad_len, const struct iovec *iov, int iovcnt,
                  const uint8_t *tag);

    /* Capabilities: optional slots, NULL when not offered.  The engine
     * decides on them, never on which provider it holds. */

    /* The largest AAD seal/open take for this AEAD, 0 for no limit (a
     * session whose AAD can be longer gets the reference provider). */
    size_t (*max_aad)(enum zrec_aead_id id);
    /* DTLS 1.3 record-number mask (RFC 9147 §4.2.3): bytes of a mask context
     * for this AEAD and key length (0: not offered here, the engine's
     * wolfCrypt code does it), keying it, and one mask from a 16-byte
     * ciphertext sample. */
    size_t (*sn_size)(enum zrec_aead_id id, size_t key_len);
    int (*sn_init)(void *sn_ctx, const uint8_t *key, size_t key_len);
    int (*sn_mask)(const void *sn_ctx, const uint8_t sample[16], uint8_t mask[2]);
};

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

/* Copy-on-encrypt seal (see seal_split); the counted copy fallback for AEADs
 * without an incremental interface. */
int zrec__aead_seal_split(struct zrec_aead_ctx *ctx, const uint8_t nonce[ZREC_NONCE_LEN],
                          const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out,
                          size_t len, size_t tail, uint8_t *tag);

/* Scattered seal/open with the fallback: the provider's incremental
 * interface, or (counted) a bounce copy through its contiguous path. */
int zrec__aead_seal_v(struct zrec_aead_ctx *ctx, const uint8_t nonce[ZREC_NONCE_LEN],
                      const uint8_t *aad, size_t aad_len, const struct iovec *iov, int iovcnt,
                      uint8_t *tag);
int zrec__aead_open_v(struct zrec_aead_ctx *ctx, const uint8_t nonce[ZREC_NONCE_LEN],
                      const uint8_t *aad, size_t aad_len, const struct iovec *iov, int iovcnt,
                      const uint8_t *tag);

/* Constant-time wipe the compiler may not elide. */
void zrec__wipe(void *p, size_t n);

#endif
