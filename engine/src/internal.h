/* Engine internals shared by the engine's .c files (not installed). */
#ifndef ZREC_INTERNAL_H
#define ZREC_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "aead.h"
#include "zrec/zrec.h"

#define ZREC_MAX_SECRET 48 /* SHA-384 */

/* Wire constants shared by the record formats (record.c) and the header
 * reader (peek.c). */
/* RFC 8446 §5.2: TLSCiphertext.length MUST NOT exceed 2^14 + 256. */
#define TLS13_MAX_CIPHERTEXT (ZREC_MAX_PLAINTEXT + 256)
/* RFC 5246 §6.2.3: TLSCiphertext.length MUST NOT exceed 2^14 + 2048. */
#define TLS12_MAX_CIPHERTEXT (ZREC_MAX_PLAINTEXT + 2048)
#define VERSION_TLS12 0x0303
#define VERSION_DTLS12 0xfefd
/* RFC 9147 §4: the unified header's first byte, 001CSLEE. */
#define DTLS13_FIXED 0x20
#define DTLS13_C 0x10
#define DTLS13_S 0x08
#define DTLS13_L 0x04
#define ZREC_DTLS12_MAX_SEQ ((1ull << 48) - 1) /* RFC 6347 §4.1: 48-bit sequence numbers */

/* DTLS 1.3 record number encryption (RFC 9147 §4.2.3): an opaque wolfCrypt
 * cipher keyed with sn_key. */
struct zrec_sn_cipher;
struct zrec_sn_cipher *zrec__sn_new(const struct zrec_aead_provider *p, enum zrec_aead_id aead,
                                    const uint8_t *key, size_t key_len);
void zrec__sn_free(struct zrec_sn_cipher *sn);
size_t zrec__sn_footprint(const struct zrec_sn_cipher *sn);
/* mask[0..1] from the first 16 ciphertext bytes. */
int zrec__sn_mask(struct zrec_sn_cipher *sn, const uint8_t sample[16], uint8_t mask[2]);

/* One direction's record protection state.  Everything the hot path reads
 * is computed when the key is installed (Linux's tls_prot_info idea). */
struct zrec_dir_state {
    /* The expanded key: owned here, or NULL when the session has a key
     * cache (zrec__dir_aead() then finds or expands it there). */
    struct zrec_aead_ctx *aead;
    struct zrec_sn_cipher *sn;       /* DTLS 1.3 only */
    uint64_t key_id;   /* this key's installation, unique per process; 0: no key */
    uint32_t slot;     /* key cache: the entry that last held this key */
    uint64_t seq;      /* write: next to send; read TLS: next expected;
                          read DTLS: one above the highest accepted */
    uint64_t window;   /* DTLS read: bit i set = (seq - 1 - i) was accepted */
    uint64_t used;     /* write: records sealed; read: failed opens (this key) */
    uint64_t limit;    /* write: confidentiality limit; read: integrity limit */
    uint64_t warn_at;  /* write: raise ZREC_EV_REKEY_DUE from here on */
    /* The IV (TLS 1.2 GCM/CCM: salt || 0^8), 12 bytes and 4 zero bytes, so
     * that nonce_for() builds a nonce from one 16-byte load. */
    uint8_t iv[ZREC_NONCE_BUF] __attribute__((aligned(16)));
    uint8_t secret[ZREC_MAX_SECRET];
    uint8_t secret_len;
    uint16_t epoch;
    /* Key cache only: the key bytes the context is expanded from. */
    uint8_t key[ZREC_MAX_KEY_LEN];
};

struct zrec_format;

/* DTLS 1.3 post-handshake state (RFC 9147 §7 ACKs, §8 KeyUpdate). */
#define ZREC_DTLS13_MAX_ACKS 8
#define ZREC_DTLS13_KU_TX 8
struct zrec_record_number {
    uint64_t epoch;
    uint64_t seq;
};
struct zrec_dtls13 {
    /* The previous read epoch, kept while the peer may still send in it
     * (between its KeyUpdate and its first record in the new epoch). */
    struct zrec_dir_state *rx_prev;
    uint16_t hs_tx_seq;  /* next message_seq we send */
    uint16_t hs_rx_seq;  /* next message_seq we expect */
    /* Our KeyUpdate in flight: its message_seq and the record numbers of its
     * transmissions; the write key changes when one of them is ACKed.  The
     * first transmission and the last ZREC_DTLS13_KU_TX are remembered (a
     * ring indexed by the count sent): on a lossy link the ACK may be of the
     * first one or of any recent one. */
    bool ku_pending;
    uint8_t ku_request;
    uint16_t ku_msg_seq;
    uint32_t ku_sent;
    struct zrec_record_number ku_first;
    struct zrec_record_number ku_tx[ZREC_DTLS13_KU_TX];
    /* Records we must acknowledge. */
    uint8_t nack;
    struct zrec_record_number ack[ZREC_DTLS13_MAX_ACKS];
};

struct zrec_session {
    const struct zrec_format *fmt;
    const struct zrec_aead_provider *provider;
    uint32_t caps;          /* the provider's ZREC_AEAD_CAP_* for this AEAD */
    enum zrec_proto proto;
    enum zrec_aead_id aead;
    enum zrec_hash hash;
    /* Sizes fixed per session (protocol, AEAD, CID). */
    uint8_t tag_len;
    uint8_t explicit_len;   /* TLS/DTLS 1.2 explicit nonce in each record */
    uint8_t hdr_len;        /* header written before the payload, explicit nonce included */
    /* The true content type travels encrypted (RFC 8446 §5.2 TLS 1.3, RFC
     * 9147 DTLS 1.3, RFC 9146 §4 DTLS 1.2 with a connection ID), per
     * direction since the CIDs may differ. */
    bool tx_inner;
    bool rx_inner;
    uint8_t min_ct;         /* DTLS 1.3: ciphertext must be ≥ 16 bytes (§4.2.3) */
    uint8_t tx_cid_len;
    uint8_t rx_cid_len;
    unsigned events;
    int peer_alert;
    uint64_t open_stamp;    /* record.c: the open pass this session is in */
    struct zrec_key_cache *cache; /* NULL: the directions own their contexts */
    struct zrec_dir_state tx;
    struct zrec_dir_state rx;
    /* Post-handshake NewSessionTicket consumer (the handshake glue), so that
     * session resumption keeps working after the handoff. */
    int (*ticket_cb)(void *arg, const uint8_t *body, size_t len);
    void (*ticket_free)(void *arg);
    void *ticket_arg;
    struct zrec_dtls13 *d13; /* DTLS 1.3 only */
    /* Asynchronous ops in flight (record.c, zrec_async_*): the session's
     * entries in submission order, their number, and key contexts replaced
     * meanwhile, kept until the last one is done (a device may still be
     * using them). */
    struct zrec__aq_entry *aq_head, *aq_tail;
    unsigned aq_n;
    struct zrec__retired *aq_retired;
    uint8_t cids[];         /* tx_cid then rx_cid */
};

/* In zrec_session.events, never shown to the caller (zrec_session_events):
 * the session has asynchronous ops in flight, so the synchronous calls
 * refuse it (-EBUSY).  A bit beside ZREC_EV_FATAL costs their hot paths no
 * test of their own. */
#define ZREC__EV_ASYNC_BUSY (1u << 31)

/* A key context (and DTLS 1.3 record-number cipher) replaced while
 * asynchronous ops were in flight: freed when they are all done. */
struct zrec__retired {
    struct zrec_aead_ctx *aead;
    struct zrec_sn_cipher *sn;
    struct zrec__retired *next;
};
/* Free (now, or when the session's asynchronous ops are done) a replaced
 * key context and record-number cipher. */
void zrec__retire(struct zrec_session *s, struct zrec_aead_ctx *aead, struct zrec_sn_cipher *sn);
void zrec__retired_free(struct zrec_session *s);

static inline const uint8_t *zrec__tx_cid(const struct zrec_session *s)
{
    return s->cids;
}

static inline const uint8_t *zrec__rx_cid(const struct zrec_session *s)
{
    return s->cids + s->tx_cid_len;
}

/* ---- Key cache (keycache.c) ----
 *
 * An entry holds one expanded context and the key_id it was expanded for;
 * a direction finds its context at cache->e[d->slot] when the ids match
 * (one load and compare per record), else the cache expands it into a
 * victim entry.  Entries used by the current pass of a burst (pass stamp)
 * are never victims, so contexts handed to a burst's AEAD pass stay valid
 * until it ends. */
struct zrec_kc_entry {
    uint64_t key_id;            /* 0: empty */
    uint64_t pass;              /* the burst pass that last used it */
    struct zrec_aead_ctx *ctx;  /* kept (wiped) across keys of one kind */
    uint8_t ref;                /* CLOCK: used since the hand last passed */
};
struct zrec_key_cache {
    unsigned mask;              /* entries - 1 (a power of two) */
    unsigned hand;
    unsigned long sessions;     /* sessions created with it */
    struct zrec_key_cache_stats st;
    struct zrec_kc_entry *e;
};
/* The pass counter of this thread (record.c bumps it per burst pass). */
extern __thread uint64_t zrec__pass __attribute__((tls_model("initial-exec")));
struct zrec_aead_ctx *zrec__kc_miss(struct zrec_key_cache *c, const struct zrec_session *s,
                                    struct zrec_dir_state *d);
/* Wipe the entry holding d's key, if any (key change, session free). */
void zrec__kc_drop(struct zrec_key_cache *c, const struct zrec_dir_state *d);
uint64_t zrec__next_key_id(void);

/* The direction's expanded key for this record: its own, or the cache's
 * (expanded on a miss; NULL + errno on failure). */
static inline struct zrec_aead_ctx *zrec__dir_aead(const struct zrec_session *s,
                                                   struct zrec_dir_state *d)
{
    if (d->aead != NULL || s->cache == NULL)
        return d->aead;
    struct zrec_key_cache *c = s->cache;
    struct zrec_kc_entry *e = &c->e[d->slot & c->mask];
    if (__builtin_expect(e->key_id == d->key_id, 1)) {
        e->ref = 1;
        e->pass = zrec__pass;
        c->st.hits++;
        return e->ctx;
    }
    return zrec__kc_miss(c, s, d);
}

/* TLS 1.3 / DTLS 1.3 key schedule pieces (RFC 8446 §7.2-7.3, RFC 9147 §5.9),
 * through wolfCrypt's HKDF-Expand-Label. */
int zrec__derive_traffic(const struct zrec_session *s, const uint8_t *secret, size_t secret_len,
                         uint8_t *key, uint8_t *iv, uint8_t *sn_key);
int zrec__next_secret(const struct zrec_session *s, const uint8_t *secret, size_t secret_len,
                      uint8_t *next);
size_t zrec__hash_len(enum zrec_hash h);

/* session.c, on the key schedule above (dependencies point from session.c
 * to keys.c only).  Install a derived key into one direction (used by
 * set_keys and KeyUpdate). */
int zrec__install(struct zrec_session *s, struct zrec_dir_state *d, const uint8_t *key,
                  const uint8_t *iv, const uint8_t *sn_key);
void zrec__dir_clear(struct zrec_session *s, struct zrec_dir_state *d);

/* TLS 1.3: move a direction to the next traffic secret (RFC 8446 §7.2). */
int zrec__key_update(struct zrec_session *s, struct zrec_dir_state *d);

/* Install the NewSessionTicket consumer; `free_fn(arg)` runs when the session
 * is freed or the hook replaced. */
void zrec__session_set_ticket_hook(struct zrec_session *s,
                                   int (*cb)(void *arg, const uint8_t *body, size_t len),
                                   void (*free_fn)(void *arg), void *arg);

static inline void zrec__put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline uint16_t zrec__get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static inline void zrec__put48(uint8_t *p, uint64_t v)
{
    for (int i = 5; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static inline uint64_t zrec__get48(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 6; i++)
        v = (v << 8) | p[i];
    return v;
}

static inline void zrec__put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

#endif
