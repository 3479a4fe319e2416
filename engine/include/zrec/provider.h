/*
 * zrec/provider.h — the AEAD provider interface (EXPERIMENTAL).
 *
 * What a crypto provider implements so the record engine can seal and open
 * records with it: intel-ipsec-mb and wolfCrypt are built in; offload
 * providers (DPDK cryptodev, NICs) and out-of-tree ones plug in here.  The
 * interface may change between releases until it is declared stable; a
 * provider states the version it was written for in `abi` and the engine
 * refuses any other (zrec_session_new: ENOTSUP).
 *
 * The shape is picotls's: a const descriptor of what an AEAD is
 * (struct zrec_aead_alg, owned by the engine), a const provider descriptor
 * (struct zrec_aead_provider, owned by the provider), and a per-key context
 * the engine allocates with `ctx_size` bytes (64-byte aligned) whose first
 * member is struct zrec_aead_ctx; the provider keeps its expanded key after
 * it.  A provider never sees sessions, records or sequence numbers: it is
 * handed a nonce, AAD, input, output and tag.
 *
 * Mandatory slots: supports, ctx_size, init, dispose, seal, open.  Every
 * other slot is optional (NULL) and the engine's generic code stands in:
 *
 *   caps == NULL          no optional capability, any AAD length
 *   seal_split            without ZREC_AEAD_CAP_SPLIT: the payload is copied
 *                         into the record, then sealed in place (counted in
 *                         zrec_stats.sg_bounce_copies)
 *   open_split            without ZREC_AEAD_CAP_OPEN_SPLIT: a record whose
 *                         inner type does not fit the caller's destination
 *                         is refused there (-ENOBUFS) and opened in place
 *   seal_v / open_v       without ZREC_AEAD_CAP_SG: gathered into a bounce
 *                         buffer, sealed/opened, scattered back (counted)
 *   seal_burst/open_burst NULL: seal/open once per op
 *   sn_size/init/mask     NULL (or sn_size 0): the engine's wolfCrypt AES-ECB /
 *                         ChaCha20 block for DTLS 1.3 record numbers
 *
 * Contexts are read-only during seal and open (the engine may use one
 * context from several threads at once, and a session may move between
 * threads): per-call state lives on the stack or in thread-local storage.
 */
#ifndef ZREC_PROVIDER_H
#define ZREC_PROVIDER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "zrec/zrec.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The interface version this header describes. */
#define ZREC_PROVIDER_ABI 1

/** Nonce length of every AEAD zrec uses (RFC 8446 §5.3, RFC 5288 §3). */
#define ZREC_NONCE_LEN 12

/** What an AEAD is; the same for every provider (zrec_aead_describe()). */
struct zrec_aead_alg {
    enum zrec_aead_id id;
    const char *name;          /**< "aes128gcm", ... */
    uint8_t key_len;
    uint8_t tag_len;
    /** TLS 1.2 implicit IV ("salt") length: 4 for GCM/CCM (RFC 5288 §3,
     *  RFC 6655 §3), 12 for ChaCha20-Poly1305 (RFC 7905 §2). */
    uint8_t tls12_fixed_iv_len;
    /** TLS 1.2 explicit nonce carried in each record: 8 for GCM/CCM, 0 for
     *  ChaCha20-Poly1305. */
    uint8_t tls12_explicit_len;
    /** Records one key may protect (RFC 8446 §5.5, RFC 9001 §6.6). */
    uint64_t confidentiality_limit;
    /** Failed opens one key may see before the connection must end
     *  (RFC 9147 §4.5.3). */
    uint64_t integrity_limit;
};

/** The descriptor of an AEAD; NULL for an unknown id. */
const struct zrec_aead_alg *zrec_aead_describe(enum zrec_aead_id id);

struct zrec_aead_provider;

/** The head of every per-key context; set by the engine before init(). */
struct zrec_aead_ctx {
    const struct zrec_aead_alg *alg;
    const struct zrec_aead_provider *provider;
};

/* Capability flags, per AEAD (caps slot). */
/** seal_v / open_v work for this AEAD (an incremental interface). */
#define ZREC_AEAD_CAP_SG (1u << 0)
/** seal_split works for this AEAD (copy-on-encrypt + inner type in place). */
#define ZREC_AEAD_CAP_SPLIT (1u << 1)
/** Output must be the input (in == out): the engine copies first where a
 *  caller asked for a separate source or destination. */
#define ZREC_AEAD_CAP_IN_PLACE_ONLY (1u << 2)
/** open_split works for this AEAD: a record opened into a caller's buffer
 *  that has room for its content but not for its inner type (TLS 1.3). */
#define ZREC_AEAD_CAP_OPEN_SPLIT (1u << 4)
/** Completes ops later too (an offload device): submit/complete work, for
 *  zrec_async_* (zrec.h).  Its synchronous slots serve zrec_seal_burst() and
 *  zrec_open_burst() as any provider's. */
#define ZREC_AEAD_CAP_ASYNC (1u << 3)

/** Optional capabilities of a provider for one AEAD. */
struct zrec_aead_caps {
    uint32_t flags;   /**< ZREC_AEAD_CAP_* */
    /** The longest AAD taken, 0 for no limit.  A session whose AAD can be
     *  longer (DTLS 1.2 with a long connection ID, RFC 9146 §5) gets the
     *  reference provider (wolfCrypt) instead. */
    uint32_t max_aad;
};

/** One AEAD operation of a burst.  `in` and `out` are the same pointer or
 *  do not overlap; `nonce` points at ZREC_NONCE_LEN bytes that may be read
 *  as 16 (the engine keeps nonces in 16-byte buffers).  Seal with tail > 0:
 *  in[0..len) is sealed into out[0..len), then out[len..len+tail) in place,
 *  as one message (seal_split); open has tail 0.  Seal writes the tag to
 *  `tag`; open compares with it.  The provider sets status: 0, -EBADMSG (open:
 *  the tag did not verify; out then holds bytes the engine wipes), or another
 *  negative errno. */
struct zrec_aead_op {
    const uint8_t *nonce;
    const uint8_t *aad;
    const uint8_t *in;
    uint8_t *out;
    uint8_t *tag;
    uint32_t aad_len;
    uint32_t len;
    uint32_t tail;
    int32_t status;
};

/** A provider: const, usually a static object. */
struct zrec_aead_provider {
    const char *name;
    unsigned abi; /**< ZREC_PROVIDER_ABI */

    /* ---- mandatory ---- */
    /** Non-zero if this provider implements the AEAD. */
    int (*supports)(enum zrec_aead_id id);
    /** Bytes of a context for this AEAD, struct zrec_aead_ctx included. */
    size_t (*ctx_size)(enum zrec_aead_id id);
    /** Expand `key` (alg->key_len bytes) into ctx; 0 or a negative errno. */
    int (*init)(struct zrec_aead_ctx *ctx, const uint8_t *key);
    /** Release what init acquired (the engine wipes and frees the memory). */
    void (*dispose)(struct zrec_aead_ctx *ctx);
    /** Seal in[0..len) into out[0..len) (in == out: in place), tag to `tag`. */
    int (*seal)(struct zrec_aead_ctx *ctx, const uint8_t nonce[ZREC_NONCE_LEN],
                const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out, size_t len,
                uint8_t *tag);
    /** Open in[0..len) into out[0..len); -EBADMSG if the tag does not verify. */
    int (*open)(struct zrec_aead_ctx *ctx, const uint8_t nonce[ZREC_NONCE_LEN],
                const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out, size_t len,
                const uint8_t *tag);

    /* ---- optional (NULL: the engine's generic code, see the top) ---- */
    /** Capabilities for an AEAD this provider supports. */
    void (*caps)(enum zrec_aead_id id, struct zrec_aead_caps *out);
    /** ZREC_AEAD_CAP_SPLIT: seal in[0..len) into out[0..len), then
     *  out[len..len+tail) in place, as one AEAD message. */
    int (*seal_split)(struct zrec_aead_ctx *ctx, const uint8_t nonce[ZREC_NONCE_LEN],
                      const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out,
                      size_t len, size_t tail, uint8_t *tag);
    /** ZREC_AEAD_CAP_SG: in-place seal/open of one message over iovecs. */
    int (*seal_v)(struct zrec_aead_ctx *ctx, const uint8_t nonce[ZREC_NONCE_LEN],
                  const uint8_t *aad, size_t aad_len, const struct iovec *iov, int iovcnt,
                  uint8_t *tag);
    int (*open_v)(struct zrec_aead_ctx *ctx, const uint8_t nonce[ZREC_NONCE_LEN],
                  const uint8_t *aad, size_t aad_len, const struct iovec *iov, int iovcnt,
                  const uint8_t *tag);
    /** n contiguous ops, ops[i] under ctxs[i] (contexts of this provider,
     *  possibly all different, possibly repeated); each op gets its status.
     *  The engine hands over at most ZREC_AEAD_BURST_MAX ops at once. */
    void (*seal_burst)(struct zrec_aead_ctx *const ctxs[], struct zrec_aead_op ops[],
                       unsigned n);
    void (*open_burst)(struct zrec_aead_ctx *const ctxs[], struct zrec_aead_op ops[],
                       unsigned n);
    /** DTLS 1.3 record-number mask (RFC 9147 §4.2.3): bytes of a mask
     *  context for this AEAD and key length (0: not offered), keying it, and
     *  the 2-byte mask for a 16-byte ciphertext sample. */
    size_t (*sn_size)(enum zrec_aead_id id, size_t key_len);
    int (*sn_init)(void *sn_ctx, const uint8_t *key, size_t key_len);
    int (*sn_mask)(const void *sn_ctx, const uint8_t sample[16], uint8_t mask[2]);
    /* At the end: a provider built before this slot existed keeps its
     * layout, and never sets ZREC_AEAD_CAP_OPEN_SPLIT. */
    /** ZREC_AEAD_CAP_OPEN_SPLIT: open in[0..len) into out[0..len) and
     *  in[len..len+spill_len) into spill[0..spill_len), as one AEAD message;
     *  -EBADMSG if the tag does not verify (out and spill then hold bytes
     *  the engine wipes). */
    int (*open_split)(struct zrec_aead_ctx *ctx, const uint8_t nonce[ZREC_NONCE_LEN],
                      const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out,
                      size_t len, uint8_t *spill, size_t spill_len, const uint8_t *tag);
    /** ZREC_AEAD_CAP_ASYNC (read only under the flag): take ops[0..n), each
     *  under ctxs[i], to seal (enc) or open; they stay valid, untouched by
     *  the engine, until complete() hands them back.  Returns how many were
     *  taken: a prefix.  `p` is the provider itself (one implementation may
     *  serve several devices).  Ops of one calling thread only. */
    unsigned (*submit)(const struct zrec_aead_provider *p, struct zrec_aead_ctx *const ctxs[],
                       struct zrec_aead_op *const ops[], unsigned n, int enc);
    /** ZREC_AEAD_CAP_ASYNC: ops the calling thread submitted that are done,
     *  each with its status (as seal/open set it), at most max, in any
     *  order. */
    unsigned (*complete)(const struct zrec_aead_provider *p, struct zrec_aead_op *done[],
                         unsigned max);
};

/** The most ops the engine passes to one seal_burst / open_burst call. */
#define ZREC_AEAD_BURST_MAX 32

#ifdef __cplusplus
}
#endif

#endif
