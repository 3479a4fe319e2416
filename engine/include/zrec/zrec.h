/*
 * zrec — zero-copy, batch TLS/DTLS record engine.
 *
 * wolfSSL performs the handshake; zrec then seals and opens TLS 1.2, TLS 1.3,
 * DTLS 1.2 and DTLS 1.3 records in place, in the caller's buffers, in bursts
 * that may mix many sessions.
 *
 * Conventions
 *  - Functions return 0 (or a count) on success and a negative errno on
 *    failure.  -EBADMSG always means "authentication failed".
 *  - Burst functions return the number of ops that succeeded; every op carries
 *    its own status.  They never stop at the first failure.
 *  - Sealing writes the record header into the bytes *before* the payload
 *    (headroom) and the tag — plus, for TLS 1.3 / DTLS 1.3 / DTLS 1.2 CID, the
 *    inner content type — into the bytes *after* it (tailroom).  Opening leaves
 *    the plaintext where the ciphertext was.  The payload is never copied.
 *  - An open that fails authentication never leaves unauthenticated plaintext
 *    readable: the payload region is wiped.
 *
 * Thread safety: a session may be used by one thread at a time.  Different
 * sessions may be used concurrently from different threads.  Provider state
 * (e.g. the intel-ipsec-mb manager) is per thread.
 */
#ifndef ZREC_ZREC_H
#define ZREC_ZREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Record protocols. */
enum zrec_proto {
    ZREC_TLS12 = 0,  /**< RFC 5246 + RFC 5288 (GCM), RFC 6655 (CCM), RFC 7905 (ChaCha) */
    ZREC_TLS13 = 1,  /**< RFC 8446 §5 */
    ZREC_DTLS12 = 2, /**< RFC 6347 §4.1, with optional RFC 9146 connection ID */
    ZREC_DTLS13 = 3, /**< RFC 9147 §4 (unified header, record number encryption) */
    ZREC_PROTO_COUNT
};

/** AEAD algorithms. */
enum zrec_aead_id {
    ZREC_AES_128_GCM = 0,
    ZREC_AES_256_GCM = 1,
    ZREC_CHACHA20_POLY1305 = 2,
    ZREC_AES_128_CCM = 3,   /**< 16-byte tag */
    ZREC_AES_128_CCM_8 = 4, /**< 8-byte tag (RFC 6655, TLS 1.3 TLS_AES_128_CCM_8_SHA256) */
    ZREC_AEAD_COUNT
};

/** Hash of the cipher suite: drives the TLS 1.3 key schedule. */
enum zrec_hash {
    ZREC_SHA256 = 0,
    ZREC_SHA384 = 1,
};

/** Record content types (RFC 8446 §5.1, RFC 9147 §4, RFC 9146). */
enum zrec_content_type {
    ZREC_CT_INVALID = 0,
    ZREC_CT_CHANGE_CIPHER_SPEC = 20,
    ZREC_CT_ALERT = 21,
    ZREC_CT_HANDSHAKE = 22,
    ZREC_CT_APPLICATION_DATA = 23,
    ZREC_CT_TLS12_CID = 25,
    ZREC_CT_ACK = 26,
};

/** Direction of a key. */
enum zrec_dir {
    ZREC_DIR_WRITE = 0,
    ZREC_DIR_READ = 1,
};

/** Largest plaintext in one record (RFC 8446 §5.1: 2^14). */
#define ZREC_MAX_PLAINTEXT 16384u
/** Largest headroom any format needs: DTLS 1.2 with a 255-byte CID + explicit nonce. */
#define ZREC_MAX_HEADROOM (13u + 255u + 8u)
/** Largest tailroom any format needs: inner content type + 16-byte tag (no padding). */
#define ZREC_MAX_TAILROOM (1u + 16u)
/** Largest connection ID (RFC 9146 §3: 0..255 bytes). */
#define ZREC_MAX_CID 255u

/* --------------------------------------------------------------------------
 * AEAD providers
 * ------------------------------------------------------------------------ */

struct zrec_aead_provider;

/** intel-ipsec-mb (x86_64 only; NULL where not built). */
const struct zrec_aead_provider *zrec_provider_ipsecmb(void);
/** wolfCrypt: portable, the reference for differential tests. */
const struct zrec_aead_provider *zrec_provider_wolfcrypt(void);
/** The default: ipsec-mb where available, else wolfCrypt. */
const struct zrec_aead_provider *zrec_provider_default(void);
/** Provider by name ("ipsecmb", "wolfcrypt"); NULL if unknown or not built. */
const struct zrec_aead_provider *zrec_provider_by_name(const char *name);
/** The provider's name. */
const char *zrec_provider_name(const struct zrec_aead_provider *p);

/** Name of an AEAD ("aes128gcm", ...), as used in test and benchmark names. */
const char *zrec_aead_name(enum zrec_aead_id aead);
/** Name of a protocol ("tls12", "tls13", "dtls12", "dtls13"). */
const char *zrec_proto_name(enum zrec_proto proto);

/* --------------------------------------------------------------------------
 * Sessions
 * ------------------------------------------------------------------------ */

struct zrec_session;

/** Parameters of a new session. */
struct zrec_session_params {
    enum zrec_proto proto;
    enum zrec_aead_id aead;
    enum zrec_hash hash;                      /**< TLS 1.3 / DTLS 1.3 only */
    const struct zrec_aead_provider *provider; /**< NULL: zrec_provider_default() */
    /** DTLS connection IDs (RFC 9146, RFC 9147 §9): the one we put in records
     *  we send (the peer's choice), and the one we expect in records we receive
     *  (our choice).  Length 0 = no CID in that direction. */
    const uint8_t *tx_cid;
    uint8_t tx_cid_len;
    const uint8_t *rx_cid;
    uint8_t rx_cid_len;
    /** Where the session's expanded AEAD key contexts live: NULL = in the
     *  session (fastest with few sessions); a key cache (zrec_key_cache_new)
     *  = expanded on demand into the cache, so an idle session keeps only
     *  its key bytes (for many mostly idle sessions). */
    struct zrec_key_cache *key_cache;
};

/** Create a session without keys.  Returns NULL and sets errno on failure
 *  (EINVAL: bad parameters, ENOTSUP: the provider lacks this AEAD, ENOMEM). */
struct zrec_session *zrec_session_new(const struct zrec_session_params *params);

/** Destroy a session; keys and secrets are wiped first.  NULL is a no-op. */
void zrec_session_free(struct zrec_session *s);

/** Key material for one direction. */
struct zrec_traffic_keys {
    /** TLS 1.2 / DTLS 1.2: the write key and the implicit IV ("salt", 4 bytes
     *  for GCM/CCM, 12 for ChaCha20-Poly1305 — RFC 5288 §3, RFC 7905 §2). */
    const uint8_t *key;
    const uint8_t *iv;
    /** TLS 1.3 / DTLS 1.3: the traffic secret; key, IV (and the DTLS 1.3
     *  record-number key) are derived from it (RFC 8446 §7.3, RFC 9147 §4.2.3),
     *  and it is kept for KeyUpdate (RFC 8446 §7.2). */
    const uint8_t *secret;
    size_t secret_len;
    /** The next sequence number to send (write) or expect (read). */
    uint64_t seq;
    /** DTLS epoch of these keys. */
    uint16_t epoch;
};

/** Install keys for one direction.  Replaces (and wipes) previous keys. */
int zrec_session_set_keys(struct zrec_session *s, enum zrec_dir dir,
                          const struct zrec_traffic_keys *keys);

/** Sizes a caller needs to lay out buffers for this session (both fixed once
 *  keys are installed; they change only with the protocol/AEAD/CID). */
struct zrec_overhead {
    uint16_t headroom; /**< bytes needed before the payload when sealing */
    uint16_t tailroom; /**< bytes needed after the payload when sealing */
};
int zrec_session_overhead(const struct zrec_session *s, struct zrec_overhead *out);

/** Session properties. */
enum zrec_proto zrec_session_proto(const struct zrec_session *s);
enum zrec_aead_id zrec_session_aead(const struct zrec_session *s);
/** Next sequence number in a direction (DTLS: within the current epoch). */
uint64_t zrec_session_seq(const struct zrec_session *s, enum zrec_dir dir);
/** Current epoch of a direction (DTLS). */
uint16_t zrec_session_epoch(const struct zrec_session *s, enum zrec_dir dir);

/** Session events, as a bit mask (zrec_session_events()). */
enum zrec_event {
    /** The write key is near its usage limit (RFC 8446 §5.5, RFC 9147 §4.5.3):
     *  send a KeyUpdate (TLS 1.3) or close the connection (TLS 1.2 / DTLS 1.2). */
    ZREC_EV_REKEY_DUE = 1u << 0,
    /** The peer asked for a KeyUpdate (RFC 8446 §4.6.3, update_requested):
     *  zrec_seal_key_update() must be called before more application data. */
    ZREC_EV_KEY_UPDATE_OWED = 1u << 1,
    /** The peer sent close_notify. */
    ZREC_EV_PEER_CLOSED = 1u << 2,
    /** The peer sent a fatal alert; zrec_session_peer_alert() tells which. */
    ZREC_EV_PEER_ALERT = 1u << 3,
    /** A fatal error (e.g. a TLS record failed authentication): the
     *  connection must be closed; only alerts may still be sealed. */
    ZREC_EV_FATAL = 1u << 4,
    /** A NewSessionTicket arrived (TLS 1.3 post-handshake). */
    ZREC_EV_NEW_SESSION_TICKET = 1u << 5,
    /** DTLS 1.3: records carrying handshake messages (KeyUpdate,
     *  NewSessionTicket) arrived and must be acknowledged: zrec_seal_ack()
     *  (RFC 9147 §7.1). */
    ZREC_EV_ACK_OWED = 1u << 6,
};
unsigned zrec_session_events(const struct zrec_session *s);
/** The last alert description the peer sent, or -1. */
int zrec_session_peer_alert(const struct zrec_session *s);

/** Allow at most `records` more records under the current write key (tests
 *  and cautious deployments); the engine raises ZREC_EV_REKEY_DUE at 3/4 of the
 *  key's limit and refuses to seal past it (-EKEYEXPIRED).  The limit never
 *  exceeds the AEAD's own (RFC 8446 §5.5); a new key restores that. */
int zrec_session_set_write_limit(struct zrec_session *s, uint64_t records);

/* --------------------------------------------------------------------------
 * Record ops and bursts
 * ------------------------------------------------------------------------ */

/** One segment of a scattered record. */
struct zrec_seg {
    uint8_t *base;
    uint32_t len;
};

/** One record to seal or open.
 *
 * Seal (contiguous): the payload is `data[0..len)`; `headroom` bytes are
 * writable before it and `tailroom` after it.  On success `rec` and
 * `rec_len` give the whole record (header first).
 *
 * Seal (scattered, nseg > 0): the payload is the concatenation of seg[];
 * the header goes into the `headroom` bytes before seg[0].base and the tag
 * (and inner type) into the `tailroom` bytes after the end of seg[nseg-1].
 *
 * Open (contiguous): `data[0..len)` is exactly one record, header included.
 * On success `rec`/`rec_len` give the plaintext (inside the same buffer) and
 * `content_type` its type.
 *
 * Open (scattered): the record is the concatenation of seg[]; the plaintext
 * stays in the segments, `rec_off` bytes into the record (the header of the
 * record as received, explicit nonce included), `rec_len` bytes long; `rec`
 * points at its first byte, in whichever segment holds it. *
 * Copy-on-crypt (contiguous only): with `src` set, sealing reads the payload
 * from src[0..len) and writes the ciphertext to data[0..len) (plus header and
 * tail around it), so the encryption pass is the only pass over the bytes
 * (up to ZREC_SEAL_COPY_MAX bytes the payload is copied into the record
 * first and sealed in place: for short records the copy costs less than
 * an AEAD call in two parts, payload and tail);
 * with `dst` set, opening writes the plaintext to dst and leaves the
 * record's ciphertext untouched.  dst needs room for the record's
 * ciphertext (`dst_cap` ≥ record length − header − tag), except that a TLS
 * 1.3 / DTLS 1.3 record's inner type and up to ZREC_OPEN_SPILL_MAX − 1
 * bytes of its padding may lie beyond dst_cap, where the provider can open
 * one message into two places (ZREC_AEAD_CAP_OPEN_SPLIT; both built-in
 * providers, except for AES-CCM): a caller receiving exactly the content's
 * length gets it without a copy.  Otherwise, and when the content itself
 * turns out longer than dst_cap, -ENOBUFS: nothing consumed (the record
 * may be opened in place), dst wiped.  A failed open wipes dst.
 */
#define ZREC_SEAL_COPY_MAX 2048
#define ZREC_OPEN_SPILL_MAX 16

struct zrec_op {
    struct zrec_session *sess;
    uint8_t *data;
    uint32_t len;
    uint16_t headroom;
    uint16_t tailroom;
    const struct zrec_seg *seg; /**< scattered record, or NULL */
    uint16_t nseg;
    uint8_t content_type;       /**< seal: in; open: out */
    int16_t status;             /**< out: 0 or a negative errno */
    uint8_t *rec;               /**< out: see above */
    uint32_t rec_len;           /**< out */
    uint32_t rec_off;           /**< out, open: plaintext offset within the record */
    const uint8_t *src;         /**< seal: payload source (copy-on-encrypt), or NULL */
    uint8_t *dst;               /**< open: plaintext destination, or NULL (in place) */
    uint32_t dst_cap;           /**< open: bytes available at dst */
    uint64_t seq;               /**< out: the record's sequence number */
    uint16_t epoch;             /**< out: DTLS epoch of the record */
};

/** Seal n records.  Sequence numbers are assigned in burst order per session.
 *  Per-op status: -EINVAL (bad op), -ENOSPC (headroom/tailroom too small),
 *  -EMSGSIZE (payload over 2^14), -ENOKEY (no write key), -EKEYEXPIRED (key
 *  usage limit reached), -EAGAIN (a KeyUpdate is owed first), -EPIPE (the
 *  session failed; only alerts may be sealed).
 *  @return the number of ops with status 0. */
unsigned zrec_seal_burst(struct zrec_op *ops, unsigned n);

/** Open n records.  Per-op status: -EBADMSG (authentication failed: the
 *  payload region is wiped), -EPROTO (malformed record: bad header, length,
 *  version, type, or a TLS 1.3 record with no content type), -EMSGSIZE
 *  (over the RFC's size limit), -EALREADY (DTLS replay / duplicate: dropped,
 *  RFC 6347 §4.1.2.6), -ESTALE (DTLS: a record of another epoch), -ENOKEY,
 *  -EPIPE (the session already failed).  DTLS records of one session and
 *  epoch share the burst's AEAD pass: one refused with -EALREADY, -ESTALE or
 *  -EPIPE only because of an earlier record of the same burst (its
 *  duplicate, a KeyUpdate, a fatal alert) has its payload region wiped;
 *  otherwise these three leave the record as received.
 *  TLS: an authentication failure is fatal for the session (RFC 8446 §5.2);
 *  DTLS: invalid records are dropped and the session goes on (RFC 9147 §4.5.2).
 *  Alerts and KeyUpdate / NewSessionTicket handshake records are acted upon
 *  (see zrec_session_events()) and still returned with their content type;
 *  DTLS 1.3 ACK records too.  DTLS 1.3 post-handshake messages are taken
 *  as they come (a message_seq gap is skipped, an older one is a repeat that
 *  is only ACKed): after the handoff nothing could retransmit a lost one.
 *  @return the number of ops with status 0. */
unsigned zrec_open_burst(struct zrec_op *ops, unsigned n);

/* ---- Asynchronous seal and open (a crypto device: zrec/offload.h) -------
 *
 * With a provider that completes ops later (ZREC_AEAD_CAP_ASYNC), a thread
 * submits records and collects them later, the device working meanwhile:
 *
 *     q = zrec_async_new(provider, 256);
 *     taken = zrec_async_seal(q, ops, n);     (or zrec_async_open)
 *     ... other work ...
 *     k = zrec_async_poll(q, done, 64);       (done[i]: ops, status set)
 *
 * Each op taken comes back from zrec_async_poll() exactly once, with the
 * status zrec_seal_burst() / zrec_open_burst() would have given it, and
 * the records of one session in the order they were submitted (the device
 * may finish them in any order).  An op and its buffers belong to the
 * pipeline until then.  A session with ops in flight is refused by the
 * synchronous calls (-EBUSY), KeyUpdate included; a key that changes while
 * ops are in flight (a DTLS 1.3 KeyUpdate's ACK) is kept until they are
 * done.  Sessions need the pipeline's provider and no key cache (-EINVAL);
 * freeing a session or the pipeline with ops in flight is the caller's
 * error (zrec_async_free says -EBUSY).  One pipeline per thread. */
struct zrec_async;
/** A pipeline of at most `depth` records in flight on provider p; NULL and
 *  errno: ENOTSUP (p does not complete ops later), EINVAL, ENOMEM. */
struct zrec_async *zrec_async_new(const struct zrec_aead_provider *p, unsigned depth);
/** 0, or -EBUSY (nothing freed) while records are in flight. */
int zrec_async_free(struct zrec_async *q);
/** Records submitted and not yet handed back by zrec_async_poll(). */
unsigned zrec_async_pending(const struct zrec_async *q);
/** Submit ops to seal: returns how many were taken, a prefix (the rest:
 *  the pipeline is full; poll, then submit them again). */
unsigned zrec_async_seal(struct zrec_async *q, struct zrec_op *ops, unsigned n);
/** Submit ops to open, likewise.  A TLS record is taken only when no record
 *  of its session is in flight: its key depends on what the one before it
 *  was (a KeyUpdate, RFC 8446 §5.2); DTLS records go in flight together. */
unsigned zrec_async_open(struct zrec_async *q, struct zrec_op *ops, unsigned n);
/** Up to max finished ops into done[]; 0 when none is ready yet. */
unsigned zrec_async_poll(struct zrec_async *q, struct zrec_op **done, unsigned max);

/** Seal one contiguous record: a convenience over zrec_seal_burst().
 *  `buf` holds the payload at `buf + headroom`; the record starts at
 *  `*rec_out`.  Returns the record length or a negative errno. */
int zrec_seal_record(struct zrec_session *s, uint8_t content_type, uint8_t *payload,
                     size_t len, size_t headroom, size_t tailroom, uint8_t **rec_out);

/** Open one contiguous record in place.  Returns the plaintext length (the
 *  plaintext starts at *plain_out) or a negative errno. */
int zrec_open_record(struct zrec_session *s, uint8_t *rec, size_t len, uint8_t **plain_out,
                     uint8_t *content_type);

/** The length of the record that starts at `buf` (header included), from its
 *  header: for finding record boundaries in a TLS byte stream or in a DTLS
 *  datagram that carries several records.  Returns the length, 0 when
 *  `avail` bytes are not enough to know it yet, or -EPROTO / -EMSGSIZE for a
 *  header that cannot start a valid record of this session. */
long zrec_record_length(const struct zrec_session *s, const uint8_t *buf, size_t avail);

/** What a record header says (zrec_record_peek()). */
struct zrec_record_info {
    uint32_t length;      /**< the whole record, header included */
    uint16_t header_len;  /**< the header (DTLS 1.3 unified: with CID, sequence, length) */
    uint8_t content_type; /**< the outer type (20..26); 0 in a DTLS 1.3 unified header,
                               whose type is encrypted */
    bool unified;         /**< a DTLS 1.3 unified header (RFC 9147 §4) */
    uint16_t version;     /**< legacy_record_version; 0 in a unified header */
    uint16_t epoch;       /**< DTLS 1.2: the epoch; unified header: its low two bits */
    uint64_t seq;         /**< DTLS 1.2: the 48-bit sequence number; unified header: the
                               8 or 16 low bits as sent (record-number encrypted) */
    const uint8_t *cid;   /**< the connection ID in the header, or NULL */
    uint8_t cid_len;
};

/** Datagram records: DTLS 1.2 headers and DTLS 1.3 unified headers (else TLS). */
#define ZREC_PEEK_DTLS 1u

/** Read the header of the record at `buf` without a session: for sending a
 *  datagram to its session (by connection ID or address and epoch) and for
 *  finding record boundaries in a TLS stream.  `cid_len` is the length of
 *  the connection IDs this endpoint issued: the wire does not carry it
 *  (RFC 9146 §4, RFC 9147 §4).  A unified header without a length field
 *  runs to the end of the datagram (`avail`).  The length limit is TLS 1.2's
 *  2^14 + 2048 (TLS 1.3's is tighter; zrec_record_length() knows which
 *  applies).  Returns the record length (also info->length) once the header
 *  is complete, 0 when more bytes are needed, -EPROTO for bytes that cannot
 *  start a record (content type, major version), -EMSGSIZE for a length over
 *  the limit, -EINVAL for bad arguments. */
long zrec_record_peek(const uint8_t *buf, size_t avail, unsigned flags, uint8_t cid_len,
                      struct zrec_record_info *info);

/* --------------------------------------------------------------------------
 * Control records
 * ------------------------------------------------------------------------ */

/** Alert levels and the descriptions the engine raises (RFC 8446 §6). */
#define ZREC_ALERT_WARNING 1
#define ZREC_ALERT_FATAL 2
#define ZREC_ALERT_CLOSE_NOTIFY 0
#define ZREC_ALERT_UNEXPECTED_MESSAGE 10
#define ZREC_ALERT_BAD_RECORD_MAC 20
#define ZREC_ALERT_RECORD_OVERFLOW 22
#define ZREC_ALERT_DECODE_ERROR 50
#define ZREC_ALERT_INTERNAL_ERROR 80

/** Seal an alert into buf (capacity cap).  Returns the record length. */
int zrec_seal_alert(struct zrec_session *s, uint8_t level, uint8_t description, uint8_t *buf,
                    size_t cap);

/** Seal a KeyUpdate (RFC 8446 §4.6.3) into buf.  Returns the record length.
 *  TLS 1.3: the write key moves to the next generation at once (§7.2).
 *  DTLS 1.3 (RFC 9147 §8): the write key moves to the next epoch when the
 *  peer ACKs the KeyUpdate; until then data goes on under the current key,
 *  and calling this again retransmits the same KeyUpdate (the caller owns
 *  the retransmission timer, RFC 9147 §5.8).  Sealing at the usage limit is
 *  allowed for this record.  -EOPNOTSUPP for TLS 1.2 / DTLS 1.2. */
int zrec_seal_key_update(struct zrec_session *s, bool request_update, uint8_t *buf, size_t cap);

/** DTLS 1.3: seal an ACK (RFC 9147 §7) of the records that carried handshake
 *  messages since the last ACK (ZREC_EV_ACK_OWED).  Returns the record
 *  length, -ENODATA if nothing is owed. */
int zrec_seal_ack(struct zrec_session *s, uint8_t *buf, size_t cap);

/** DTLS 1.3: the handshake message_seq numbers to continue from after the
 *  handshake (RFC 9147 §5.2): the next one to send, the next one expected.
 *  zrec_wolfssl_import() sets them. */
int zrec_session_set_dtls13_message_seq(struct zrec_session *s, uint16_t next_send,
                                        uint16_t next_receive);

/* --------------------------------------------------------------------------
 * Footprint and key logging
 * ------------------------------------------------------------------------ */

/** Process-wide counters. */
struct zrec_stats {
    /** Scattered or copy-on-encrypt records that went through a bounce
     *  copy because the AEAD has no incremental interface (CCM): with short
     *  copy-on-encrypt (ZREC_SEAL_COPY_MAX), the only payload copies zrec
     *  makes. */
    unsigned long sg_bounce_copies;
};
void zrec_stats_get(struct zrec_stats *out);

/** Bytes of memory the session holds (struct + the provider key contexts
 *  it owns; with a key cache the contexts are the cache's). */
size_t zrec_session_footprint(const struct zrec_session *s);

/* --------------------------------------------------------------------------
 * Key cache: expanded AEAD contexts for many sessions, on demand
 * ------------------------------------------------------------------------ */

/** A cache of expanded AEAD key contexts (ipsec-mb's AES-GCM key and GHASH
 *  tables are ~0.7 KB per direction) shared by the sessions created with it.
 *  A context is expanded from the session's key bytes when a record needs it
 *  and no entry holds it; the entry it replaces (CLOCK, second chance) is
 *  wiped first.  Entries are wiped when their session is freed or rekeyed.
 *
 *  One cache belongs to one thread at a time, like the sessions that use it
 *  (one per worker thread: a per-thread cache); it is not locked. */
struct zrec_key_cache;

/** A cache of `entries` contexts (at least 2 x the largest burst, 64; more
 *  are rounded up to a power of two).  NULL + errno (EINVAL, ENOMEM). */
struct zrec_key_cache *zrec_key_cache_new(unsigned entries);

/** Wipe and free the cache.  -EBUSY (and nothing freed) while a session
 *  created with it still exists; NULL is a no-op. */
int zrec_key_cache_free(struct zrec_key_cache *c);

struct zrec_key_cache_stats {
    uint64_t hits;
    uint64_t misses;      /**< contexts expanded */
    uint64_t evictions;   /**< misses that replaced (and wiped) another key's context */
    unsigned entries;
    unsigned used;        /**< entries holding a context */
    size_t bytes;         /**< memory held: table + contexts */
};
void zrec_key_cache_stats(const struct zrec_key_cache *c, struct zrec_key_cache_stats *out);

/** Append one NSS key log line ("LABEL <client_random hex> <secret hex>") to
 *  the file named by SSLKEYLOGFILE, if that variable is set.  Returns 0 when
 *  written or not configured, a negative errno when the file cannot be
 *  written. */
int zrec_keylog_write(const char *label, const uint8_t *client_random, size_t random_len,
                      const uint8_t *secret, size_t secret_len);

#ifdef __cplusplus
}
#endif

#endif /* ZREC_ZREC_H */
