/*
 * The record layer: one seal/open skeleton shared by the four record formats,
 * which differ only in a small table of per-format functions (header write /
 * parse, the sequence value in the nonce, the AAD).
 *
 *   seal: checks -> inner type + padding -> header + AAD -> nonce -> AEAD
 *         -> (DTLS 1.3) record number encryption -> sequence bump
 *   open: header parse (+ record number decryption) -> epoch / replay checks
 *         -> nonce -> AEAD (wipe on failure) -> replay window update
 *         -> inner type -> alert / KeyUpdate handling
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "internal.h"

#define MAX_IOV 64

/* Bytes 0..7 of v at p, bytes 8..15 zero: one 16-byte store. */
static inline void store16(uint8_t *p, uint64_t v)
{
#if defined(__SSE2__)
    _mm_storeu_si128((__m128i *)p, _mm_cvtsi64_si128((long long)v));
#else
    memcpy(p, &v, 8);
    memset(p + 8, 0, 8);
#endif
}

/* Header bytes, explicit nonce and the 16-byte DTLS 1.3 sample. */
#define HEAD_MAX (13 + ZREC_MAX_CID + 8 + 16)
/* DTLS 1.2 CID AAD (RFC 9146 §5): 8 + 1 + 1 + 1 + 2 + 2 + 6 + cid + 2. */
#define AAD_MAX (23 + ZREC_MAX_CID)


/* What the header parser learns about an incoming record. */
struct rec_view {
    uint8_t outer_type;
    uint16_t epoch;
    uint64_t seq;       /* full record sequence number */
    uint64_t nonce_seq; /* the value XORed into the IV */
    size_t hdr_len;     /* header + explicit nonce */
    size_t aad_len;
    const uint8_t *aad_at; /* the AAD: aad[], or the received header itself */
    uint8_t aad[AAD_MAX] __attribute__((aligned(16)));
};

struct zrec_format {
    /* Write hdr_len bytes of header (+ explicit nonce) for a record whose
     * AEAD input is `inner_len` bytes; point *aad at the AAD (built in
     * aad_buf, or the header itself where they are the same bytes); return
     * the AAD length. */
    size_t (*seal_header)(const struct zrec_session *s, uint8_t *hdr, uint8_t type,
                          size_t inner_len, uint64_t seq, uint8_t *aad_buf,
                          const uint8_t **aad);
    /* The sequence value XORed into the IV for a record we send. */
    uint64_t (*nonce_seq)(const struct zrec_session *s, uint64_t seq);
    /* Parse the header of a `rec_len`-byte record from its first `head_len`
     * bytes (at least min(rec_len, HEAD_MAX)). */
    int (*open_header)(struct zrec_session *s, struct zrec_dir_state *d, const uint8_t *head,
                       size_t head_len, size_t rec_len, struct rec_view *v);
};

/* ------------------------------------------------------------------------
 * TLS 1.2 (RFC 5246 §6.2.3.3; RFC 5288 §3 GCM, RFC 6655 §3 CCM: explicit
 * nonce = our sequence number; RFC 7905 §2 ChaCha20: no explicit nonce)
 * ---------------------------------------------------------------------- */

static size_t tls12_aad(uint8_t *aad, uint64_t seq, uint8_t type, uint16_t version,
                        size_t plain_len)
{
    /* additional_data = seq_num + type + version + length (13 bytes). */
    zrec__put64(aad, seq);
    aad[8] = type;
    zrec__put16(aad + 9, version);
    zrec__put16(aad + 11, (uint16_t)plain_len);
    return 13;
}

static uint64_t seq_as_is(const struct zrec_session *s, uint64_t seq)
{
    (void)s;
    return seq;
}

static size_t tls12_seal_header(const struct zrec_session *s, uint8_t *hdr, uint8_t type,
                                size_t inner_len, uint64_t seq, uint8_t *aad,
                                const uint8_t **aad_out)
{
    *aad_out = aad;
    hdr[0] = type;
    zrec__put16(hdr + 1, VERSION_TLS12);
    zrec__put16(hdr + 3, (uint16_t)(s->explicit_len + inner_len + s->tag_len));
    if (s->explicit_len)
        zrec__put64(hdr + 5, seq);
    return tls12_aad(aad, seq, type, VERSION_TLS12, inner_len);
}

static int tls12_open_header(struct zrec_session *s, struct zrec_dir_state *d,
                             const uint8_t *h, size_t head_len,
                             size_t rec_len, struct rec_view *v)
{
    if (head_len < 5u + s->explicit_len)
        return -EPROTO;
    v->outer_type = h[0];
    if (h[0] != ZREC_CT_ALERT && h[0] != ZREC_CT_HANDSHAKE && h[0] != ZREC_CT_APPLICATION_DATA)
        return -EPROTO;
    if (zrec__get16(h + 1) != VERSION_TLS12)
        return -EPROTO;
    size_t len = zrec__get16(h + 3);
    if (len > TLS12_MAX_CIPHERTEXT)
        return -EMSGSIZE;
    if (len + 5 != rec_len || len < (size_t)s->explicit_len + s->tag_len)
        return -EPROTO;
    v->seq = d->seq;
    v->epoch = 0;
    /* GCM/CCM: the nonce is salt || explicit nonce, whatever the peer chose. */
    v->nonce_seq = s->explicit_len ? ((uint64_t)zrec__get16(h + 5) << 48 |
                                      zrec__get48(h + 7))
                                   : v->seq;
    v->hdr_len = 5u + s->explicit_len;
    v->aad_len = tls12_aad(v->aad, v->seq, h[0], VERSION_TLS12,
                           len - s->explicit_len - s->tag_len);
    return 0;
}

/* ------------------------------------------------------------------------
 * TLS 1.3 (RFC 8446 §5.2): opaque type application_data, legacy version
 * 0x0303, AAD = the 5-byte header, nonce = IV xor seq.
 * ---------------------------------------------------------------------- */

static size_t tls13_seal_header(const struct zrec_session *s, uint8_t *hdr, uint8_t type,
                                size_t inner_len, uint64_t seq, uint8_t *aad,
                                const uint8_t **aad_out)
{
    (void)type;
    (void)seq;
    /* §5.2: additional_data = the TLSCiphertext header.  Made in a register
     * and stored once, 16 bytes wide, into aad (the AEAD then reads it
     * without a store-forwarding stall, as for the nonce), and the same
     * five bytes into the record. */
    size_t len = inner_len + s->tag_len;
    uint64_t h = (uint64_t)ZREC_CT_APPLICATION_DATA | (uint64_t)(VERSION_TLS12 >> 8) << 8 |
                 (uint64_t)(VERSION_TLS12 & 0xff) << 16 | (uint64_t)(len >> 8) << 24 |
                 (uint64_t)(len & 0xff) << 32;
    h = htole64(h); /* byte i of the header in byte i of memory */
    store16(aad, h);
    memcpy(hdr, &h, 5);
    *aad_out = aad;
    return 5;
}

static int tls13_open_header(struct zrec_session *s, struct zrec_dir_state *d,
                             const uint8_t *h, size_t head_len,
                             size_t rec_len, struct rec_view *v)
{
    if (head_len < 5)
        return -EPROTO;
    v->outer_type = h[0];
    /* §5.2: outer type is always application_data; legacy_record_version is
     * ignored (but authenticated as part of the AAD). */
    if (h[0] != ZREC_CT_APPLICATION_DATA)
        return -EPROTO;
    size_t len = zrec__get16(h + 3);
    if (len > TLS13_MAX_CIPHERTEXT)
        return -EMSGSIZE;
    if (len + 5 != rec_len || len < (size_t)s->tag_len + 1)
        return -EPROTO;
    v->seq = d->seq;
    v->nonce_seq = v->seq;
    v->epoch = 0;
    v->hdr_len = 5;
    /* The AAD is the header as received: read where it lies, not copied
     * (a copy's narrow stores would stall the AEAD's wide load of it). */
    v->aad_at = h;
    v->aad_len = 5;
    return 0;
}

/* ------------------------------------------------------------------------
 * DTLS 1.2 (RFC 6347 §4.1, §4.1.2.1): epoch + 48-bit sequence in the header,
 * both in the AAD's seq_num; with a connection ID, RFC 9146 §4-§5.
 * ---------------------------------------------------------------------- */

static uint64_t dtls12_nonce_seq(const struct zrec_session *s, uint64_t seq)
{
    return (uint64_t)s->tx.epoch << 48 | seq;
}

static size_t dtls12_seal_header(const struct zrec_session *s, uint8_t *hdr, uint8_t type,
                                 size_t inner_len, uint64_t seq, uint8_t *aad,
                                 const uint8_t **aad_out)
{
    *aad_out = aad;
    uint8_t cid_len = s->tx_cid_len;
    hdr[0] = cid_len ? ZREC_CT_TLS12_CID : type;
    zrec__put16(hdr + 1, VERSION_DTLS12);
    zrec__put16(hdr + 3, s->tx.epoch);
    zrec__put48(hdr + 5, seq);
    memcpy(hdr + 11, zrec__tx_cid(s), cid_len);
    uint16_t length = (uint16_t)(s->explicit_len + inner_len + s->tag_len);
    zrec__put16(hdr + 11 + cid_len, length);
    if (s->explicit_len)
        zrec__put64(hdr + 13 + cid_len, dtls12_nonce_seq(s, seq));
    if (cid_len == 0)
        return tls12_aad(aad, dtls12_nonce_seq(s, seq), type, VERSION_DTLS12, inner_len);
    /* RFC 9146 §5: seq_num_placeholder || tls12_cid || cid_length || tls12_cid
     * || version || epoch || sequence_number || cid || length_of_DTLSInnerPlaintext */
    memset(aad, 0xff, 8);
    aad[8] = ZREC_CT_TLS12_CID;
    aad[9] = cid_len;
    aad[10] = ZREC_CT_TLS12_CID;
    memcpy(aad + 11, hdr + 1, 10); /* version, epoch, sequence_number */
    memcpy(aad + 21, zrec__tx_cid(s), cid_len);
    zrec__put16(aad + 21 + cid_len, (uint16_t)inner_len);
    return 23u + cid_len;
}

static int dtls12_open_header(struct zrec_session *s, struct zrec_dir_state *d,
                             const uint8_t *h, size_t head_len,
                              size_t rec_len, struct rec_view *v)
{
    (void)d; /* epoch and sequence number travel in the header */
    uint8_t cid_len = s->rx_cid_len;
    if (head_len < 13u + cid_len + s->explicit_len)
        return -EPROTO;
    v->outer_type = h[0];
    /* RFC 9146 §4: once a CID is negotiated for records we receive, they all
     * carry the tls12_cid type and the CID; anything else is not ours. */
    if (cid_len ? h[0] != ZREC_CT_TLS12_CID
                : (h[0] != ZREC_CT_ALERT && h[0] != ZREC_CT_HANDSHAKE &&
                   h[0] != ZREC_CT_APPLICATION_DATA))
        return -EPROTO;
    if (zrec__get16(h + 1) != VERSION_DTLS12)
        return -EPROTO;
    if (cid_len && memcmp(h + 11, zrec__rx_cid(s), cid_len) != 0)
        return -EPROTO;
    size_t len = zrec__get16(h + 11 + cid_len);
    if (len > TLS12_MAX_CIPHERTEXT)
        return -EMSGSIZE;
    if (len + 13 + cid_len != rec_len || len < (size_t)s->explicit_len + s->tag_len)
        return -EPROTO;
    v->epoch = zrec__get16(h + 3);
    v->seq = zrec__get48(h + 5);
    uint64_t seq_num = (uint64_t)v->epoch << 48 | v->seq;
    v->nonce_seq = s->explicit_len ? ((uint64_t)zrec__get16(h + 13 + cid_len) << 48 |
                                      zrec__get48(h + 15 + cid_len))
                                   : seq_num;
    v->hdr_len = 13u + cid_len + s->explicit_len;
    size_t inner_len = len - s->explicit_len - s->tag_len;
    if (cid_len == 0) {
        v->aad_len = tls12_aad(v->aad, seq_num, h[0], VERSION_DTLS12, inner_len);
    } else {
        memset(v->aad, 0xff, 8);
        v->aad[8] = ZREC_CT_TLS12_CID;
        v->aad[9] = cid_len;
        v->aad[10] = ZREC_CT_TLS12_CID;
        memcpy(v->aad + 11, h + 1, 10);
        memcpy(v->aad + 21, h + 11, cid_len);
        zrec__put16(v->aad + 21 + cid_len, (uint16_t)inner_len);
        v->aad_len = 23u + cid_len;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * DTLS 1.3 (RFC 9147 §4): unified header 001CSLEE, always sent with a 16-bit
 * sequence number and a length (so records can share a datagram); the AAD is
 * the header with the plaintext sequence number (§4.2.3 note), which is then
 * encrypted with a mask taken from the ciphertext.
 * ---------------------------------------------------------------------- */


static size_t dtls13_seal_header(const struct zrec_session *s, uint8_t *hdr, uint8_t type,
                                 size_t inner_len, uint64_t seq, uint8_t *aad,
                                 const uint8_t **aad_out)
{
    (void)type;
    (void)aad;
    uint8_t cid_len = s->tx_cid_len;
    hdr[0] = DTLS13_FIXED | (cid_len ? DTLS13_C : 0) | DTLS13_S | DTLS13_L | (s->tx.epoch & 3);
    memcpy(hdr + 1, zrec__tx_cid(s), cid_len);
    zrec__put16(hdr + 1 + cid_len, (uint16_t)seq);
    zrec__put16(hdr + 3 + cid_len, (uint16_t)(inner_len + s->tag_len));
    /* The AAD is the header with the plaintext sequence number: the header
     * itself until record number encryption runs after the AEAD. */
    *aad_out = hdr;
    return 5u + cid_len;
}

/* RFC 9147 §4.2.2: the full sequence number is the one closest to one plus
 * the highest successfully deprotected sequence number. */
static uint64_t dtls13_reconstruct(uint64_t expected, uint64_t bits, unsigned nbits)
{
    uint64_t span = 1ull << nbits, mask = span - 1;
    uint64_t cand = (expected & ~mask) | bits;
    if (cand > expected && cand - expected > span / 2 && cand >= span)
        cand -= span;
    else if (cand < expected && expected - cand > span / 2 && cand + span > cand)
        cand += span;
    return cand;
}

static int dtls13_open_header(struct zrec_session *s, struct zrec_dir_state *d,
                             const uint8_t *h, size_t head_len,
                              size_t rec_len, struct rec_view *v)
{
    if (head_len < 1 || (h[0] & 0xe0) != DTLS13_FIXED)
        return -EPROTO;
    v->outer_type = h[0];
    uint8_t cid_len = s->rx_cid_len;
    if (!!(h[0] & DTLS13_C) != (cid_len != 0))
        return -EPROTO;
    size_t seq_len = (h[0] & DTLS13_S) ? 2 : 1;
    size_t hdr = 1 + cid_len + seq_len + ((h[0] & DTLS13_L) ? 2 : 0);
    if (head_len < hdr)
        return -EPROTO;
    if (cid_len && memcmp(h + 1, zrec__rx_cid(s), cid_len) != 0)
        return -EPROTO;
    size_t len;
    if (h[0] & DTLS13_L) {
        len = zrec__get16(h + 1 + cid_len + seq_len);
        if (hdr + len != rec_len)
            return -EPROTO;
    } else {
        len = rec_len - hdr; /* the record runs to the end of the datagram */
    }
    if (len > TLS13_MAX_CIPHERTEXT)
        return -EMSGSIZE;
    /* §4.2.3: ciphertext shorter than the 16-byte sample cannot be
     * deprotected; reject as if it had failed authentication (and, as
     * -EBADMSG promises, the caller wipes what follows the header). */
    if (len < 16 || head_len < hdr + 16) {
        v->hdr_len = hdr;
        return -EBADMSG;
    }
    /* §4.2.1: only the low two bits of the epoch travel. */
    if ((h[0] & 3) != (d->epoch & 3))
        return -ESTALE;
    uint8_t mask[2];
    int rc = zrec__sn_mask(d->sn, h + hdr, mask);
    if (rc < 0)
        return rc;
    memcpy(v->aad, h, hdr);
    uint8_t *sn = v->aad + 1 + cid_len;
    uint64_t bits;
    if (seq_len == 2) {
        sn[0] ^= mask[0];
        sn[1] ^= mask[1];
        bits = zrec__get16(sn);
    } else {
        sn[0] ^= mask[0];
        bits = sn[0];
    }
    v->seq = dtls13_reconstruct(d->seq, bits, (unsigned)seq_len * 8);
    v->nonce_seq = v->seq;
    v->epoch = d->epoch;
    v->hdr_len = hdr;
    v->aad_len = hdr;
    return 0;
}

static const struct zrec_format formats[ZREC_PROTO_COUNT] = {
    [ZREC_TLS12] = {tls12_seal_header, seq_as_is, tls12_open_header},
    [ZREC_TLS13] = {tls13_seal_header, seq_as_is, tls13_open_header},
    [ZREC_DTLS12] = {dtls12_seal_header, dtls12_nonce_seq, dtls12_open_header},
    [ZREC_DTLS13] = {dtls13_seal_header, seq_as_is, dtls13_open_header},
};

const struct zrec_format *zrec__format(enum zrec_proto p)
{
    return &formats[p];
}

/* The one place a per-record nonce is made: IV xor the 64-bit sequence value
 * in its last 8 bytes (RFC 8446 §5.3; RFC 7905 §2; for GCM/CCM in TLS 1.2 the
 * IV is salt || 0^8, so this yields salt || explicit_nonce, RFC 5288 §3). */
/* RFC 8446 §5.3 / RFC 5288 §3: nonce = IV xor the 64-bit sequence number,
 * left-padded; the one place it is built.  intel-ipsec-mb reads the 12-byte
 * nonce with one (masked) 16-byte load just after it is written; a load
 * that spans several narrower stores cannot be forwarded from them and
 * waits until they reach the cache, which measured as the largest cost of a
 * 64-byte record.  So the nonce is made in a register and stored once, 16
 * bytes wide, into a 16-byte buffer. */
static inline void nonce_for(const struct zrec_dir_state *d, uint64_t seq,
                             uint8_t nonce[ZREC_NONCE_BUF])
{
#if defined(__SSE2__)
    __m128i iv = _mm_load_si128((const __m128i *)d->iv);
    __m128i sq = _mm_slli_si128(_mm_cvtsi64_si128((long long)htobe64(seq)), 4);
    _mm_storeu_si128((__m128i *)nonce, _mm_xor_si128(iv, sq));
#else
    uint64_t tail;
    memcpy(&tail, d->iv + 4, 8);
    tail ^= htobe64(seq);
    memcpy(nonce, d->iv, 4);
    memcpy(nonce + 4, &tail, 8);
    memset(nonce + 12, 0, 4);
#endif
}

/* Whether records in this direction carry the true content type inside. */
static inline bool has_inner_type(const struct zrec_session *s, uint8_t cid_len)
{
    return s->proto == ZREC_TLS13 || s->proto == ZREC_DTLS13 ||
           (s->proto == ZREC_DTLS12 && cid_len > 0);
}

/* Zero padding needed so the DTLS 1.3 ciphertext covers the 16-byte record
 * number sample (§4.2.3: senders pad short plaintexts). */
static inline size_t pad_for(const struct zrec_session *s, size_t inner_len)
{
    size_t ct = inner_len + s->tag_len;
    return ct < s->min_ct ? s->min_ct - ct : 0;
}

/* ------------------------------------------------------------------------
 * Seal
 * ---------------------------------------------------------------------- */

static int seal_check(struct zrec_session *s, uint8_t type, size_t len)
{
    if (s->tx.aead == NULL)
        return -ENOKEY;
    if ((s->events & ZREC_EV_FATAL) && type != ZREC_CT_ALERT)
        return -EPIPE;
    if ((s->events & ZREC_EV_KEY_UPDATE_OWED) && type == ZREC_CT_APPLICATION_DATA)
        return -EAGAIN;
    if (len > ZREC_MAX_PLAINTEXT)
        return -EMSGSIZE;
    if (type != ZREC_CT_APPLICATION_DATA && type != ZREC_CT_ALERT &&
        type != ZREC_CT_HANDSHAKE && !(type == ZREC_CT_ACK && s->proto == ZREC_DTLS13))
        return -EINVAL;
    if (s->tx.used >= s->tx.limit)
        return -EKEYEXPIRED;
    /* Sequence numbers never wrap (RFC 8446 §5.3, RFC 6347 §4.1). */
    if ((s->proto == ZREC_DTLS12 || s->proto == ZREC_DTLS13) ? s->tx.seq > ZREC_DTLS12_MAX_SEQ
                                                              : s->tx.seq == UINT64_MAX)
        return -EKEYEXPIRED;
    return 0;
}

static void seal_done(struct zrec_session *s, struct zrec_op *op)
{
    op->seq = s->tx.seq;
    op->epoch = s->tx.epoch;
    s->tx.seq++;
    s->tx.used++;
    if (s->tx.used >= s->tx.warn_at)
        s->events |= ZREC_EV_REKEY_DUE;
}

static int dtls13_mask_seq(struct zrec_session *s, uint8_t *hdr, const uint8_t sample[16])
{
    uint8_t mask[2];
    int rc = zrec__sn_mask(s->tx.sn, sample, mask);
    if (rc == 0) {
        uint8_t *sn = hdr + 1 + s->tx_cid_len;
        sn[0] ^= mask[0];
        sn[1] ^= mask[1];
    }
    return rc;
}

static int seal_one(struct zrec_op *op)
{
    struct zrec_session *s = op->sess;
    /* The header goes before data (or seg[0].base): a buffer is needed even
     * for an empty payload. */
    if (s == NULL || (op->nseg == 0 && op->data == NULL) || op->nseg > MAX_IOV ||
        (op->src && op->nseg))
        return -EINVAL;
    size_t len = op->len;
    if (op->nseg) {
        len = 0;
        for (unsigned i = 0; i < op->nseg; i++)
            len += op->seg[i].len;
    }
    int rc = seal_check(s, op->content_type, len);
    if (rc < 0)
        return rc;
    bool inner = has_inner_type(s, s->tx_cid_len);
    size_t pad = inner ? pad_for(s, len + 1) : 0;
    size_t tail = (inner ? 1 + pad : 0) + s->tag_len;
    if (op->headroom < s->hdr_len || op->tailroom < tail)
        return -ENOSPC;

    uint8_t *first = op->nseg ? op->seg[0].base : op->data;
    uint8_t *end = op->nseg ? op->seg[op->nseg - 1].base + op->seg[op->nseg - 1].len
                            : op->data + len;
    uint8_t *hdr = first - s->hdr_len;
    size_t inner_len = len;
    if (inner) {
        /* RFC 8446 §5.2 TLSInnerPlaintext: content || type || zeros. */
        end[0] = op->content_type;
        memset(end + 1, 0, pad);
        inner_len += 1 + pad;
    }
    uint8_t aad_buf[AAD_MAX] __attribute__((aligned(16)));
    uint8_t nonce[ZREC_NONCE_BUF] __attribute__((aligned(16)));
    const uint8_t *aad;
    size_t aad_len =
        s->fmt->seal_header(s, hdr, op->content_type, inner_len, s->tx.seq, aad_buf, &aad);
    nonce_for(&s->tx, s->fmt->nonce_seq(s, s->tx.seq), nonce);
    uint8_t *tag = first + inner_len;
    if (op->nseg == 0 && op->src && op->src != first) {
        /* Copy-on-encrypt: the AEAD reads the caller's payload and writes the
         * ciphertext into the record, then covers the inner type in place. */
        rc = zrec__aead_seal_split(s->tx.aead, nonce, aad, aad_len, op->src, first, len,
                                   inner_len - len, tag);
    } else if (op->nseg == 0) {
        rc = s->tx.aead->provider->seal(s->tx.aead, nonce, aad, aad_len, first, first, inner_len,
                                        tag);
    } else {
        struct iovec iov[MAX_IOV + 1];
        int n = 0;
        for (unsigned i = 0; i < op->nseg; i++)
            iov[n++] = (struct iovec){op->seg[i].base, op->seg[i].len};
        if (inner)
            iov[n++] = (struct iovec){end, 1 + pad};
        tag = end + (inner ? 1 + pad : 0);
        rc = zrec__aead_seal_v(s->tx.aead, nonce, aad, aad_len, iov, n, tag);
    }
    if (rc < 0)
        return rc;
    if (s->proto == ZREC_DTLS13) {
        /* The sample is the first 16 ciphertext bytes (tag included). */
        uint8_t sample[16];
        if (op->nseg == 0) {
            memcpy(sample, first, 16);
        } else {
            size_t got = 0;
            for (unsigned i = 0; i < op->nseg && got < 16; i++) {
                size_t take = op->seg[i].len < 16 - got ? op->seg[i].len : 16 - got;
                memcpy(sample + got, op->seg[i].base, take);
                got += take;
            }
            if (got < 16)
                memcpy(sample + got, end, 16 - got);
        }
        rc = dtls13_mask_seq(s, hdr, sample);
        if (rc < 0)
            return rc;
    }
    op->rec = hdr;
    op->rec_len = (uint32_t)(s->hdr_len + inner_len + s->tag_len);
    seal_done(s, op);
    return 0;
}

/* DPDK-style burst: every op gets its own status, the count of good ones is
 * returned, a failed op never stops the others. */
static inline unsigned run_burst(struct zrec_op *ops, unsigned n, int (*one)(struct zrec_op *))
{
    unsigned good = 0;
    for (unsigned i = 0; i < n; i++) {
        int rc = one(&ops[i]);
        ops[i].status = (int16_t)rc;
        good += rc == 0;
    }
    return good;
}

unsigned zrec_seal_burst(struct zrec_op *ops, unsigned n)
{
    return run_burst(ops, n, seal_one);
}

/* ------------------------------------------------------------------------
 * Open
 * ---------------------------------------------------------------------- */

/* A byte view over a contiguous or scattered record. */
struct rec_bytes {
    const struct zrec_seg *seg;
    unsigned nseg;
    uint8_t *data;
    size_t len;
};

static void rec_copy(const struct rec_bytes *r, size_t off, uint8_t *dst, size_t n)
{
    if (r->nseg == 0) {
        memcpy(dst, r->data + off, n);
        return;
    }
    for (unsigned i = 0; i < r->nseg && n; i++) {
        size_t sl = r->seg[i].len;
        if (off >= sl) {
            off -= sl;
            continue;
        }
        size_t take = sl - off < n ? sl - off : n;
        memcpy(dst, r->seg[i].base + off, take);
        dst += take;
        n -= take;
        off = 0;
    }
}

static uint8_t *rec_ptr(const struct rec_bytes *r, size_t off)
{
    if (r->nseg == 0)
        return r->data + off;
    for (unsigned i = 0; i < r->nseg; i++) {
        if (off < r->seg[i].len)
            return r->seg[i].base + off;
        off -= r->seg[i].len;
    }
    return NULL;
}

/* The iovecs covering [off, off + n) of a scattered record. */
static int rec_iov(const struct rec_bytes *r, size_t off, size_t n, struct iovec *iov)
{
    int cnt = 0;
    for (unsigned i = 0; i < r->nseg && n; i++) {
        size_t sl = r->seg[i].len;
        if (off >= sl) {
            off -= sl;
            continue;
        }
        size_t take = sl - off < n ? sl - off : n;
        iov[cnt++] = (struct iovec){r->seg[i].base + off, take};
        n -= take;
        off = 0;
    }
    return cnt;
}

static void rec_wipe(const struct rec_bytes *r, size_t off, size_t n)
{
    if (r->nseg == 0) {
        zrec__wipe(r->data + off, n);
        return;
    }
    struct iovec iov[MAX_IOV];
    int cnt = rec_iov(r, off, n, iov);
    for (int i = 0; i < cnt; i++)
        zrec__wipe(iov[i].iov_base, iov[i].iov_len);
}

/* RFC 6347 §4.1.2.6 / RFC 9147 §4.5.1 sliding window, 64 records wide. */
static int replay_check(const struct zrec_dir_state *d, uint64_t seq)
{
    if (seq >= d->seq)
        return 0;
    uint64_t behind = d->seq - 1 - seq;
    if (behind >= 64 || (d->window >> behind) & 1)
        return -EALREADY;
    return 0;
}

static void replay_accept(struct zrec_dir_state *d, uint64_t seq)
{
    if (seq >= d->seq) {
        uint64_t shift = seq - d->seq + 1;
        d->window = shift >= 64 ? 0 : d->window << shift;
        d->window |= 1;
        d->seq = seq + 1;
    } else {
        d->window |= 1ull << (d->seq - 1 - seq);
    }
}

static bool is_dtls(const struct zrec_session *s)
{
    return s->proto == ZREC_DTLS12 || s->proto == ZREC_DTLS13;
}

/* TLS: any record error is fatal for the connection (RFC 8446 §5.2, §6.2).
 * DTLS: invalid records are silently dropped (RFC 6347 §4.1.2.7, RFC 9147
 * §4.5.2) unless the integrity limit is exceeded (RFC 9147 §4.5.3). */
static int open_fail(struct zrec_session *s, int rc)
{
    if (!is_dtls(s)) {
        if (rc != -ENOKEY && rc != -EINVAL)
            s->events |= ZREC_EV_FATAL;
    } else if (rc == -EBADMSG && ++s->rx.used >= s->rx.limit) {
        s->events |= ZREC_EV_FATAL;
    }
    return rc;
}

static int deliver_ticket(struct zrec_session *s, const struct rec_bytes *r, size_t off,
                          size_t len)
{
    s->events |= ZREC_EV_NEW_SESSION_TICKET;
    if (s->ticket_cb == NULL)
        return 0;
    /* The message may be scattered: hand over a contiguous copy (a control
     * message, not payload). */
    uint8_t msg[ZREC_MAX_PLAINTEXT];
    rec_copy(r, off, msg, len);
    int rc = s->ticket_cb(s->ticket_arg, msg, len);
    zrec__wipe(msg, len);
    return rc;
}

/* KeyUpdate received (RFC 8446 §4.6.3; RFC 9147 §8): switch the read key to
 * the next generation.  DTLS 1.3 keeps the old epoch's key until a record of
 * the new epoch arrives, since the peer goes on sending in the old epoch
 * until our ACK reaches it. */
static int peer_key_update(struct zrec_session *s, uint8_t request)
{
    if (request > 1)
        return -EPROTO;
    if (s->proto == ZREC_DTLS13) {
        struct zrec_dir_state *prev = s->d13->rx_prev;
        if (prev == NULL && (prev = malloc(sizeof *prev)) == NULL)
            return -ENOMEM;
        if (s->d13->rx_prev)
            zrec__dir_clear(prev);
        *prev = s->rx; /* takes over the old key contexts */
        s->rx.aead = NULL;
        s->rx.sn = NULL;
        s->d13->rx_prev = prev;
    }
    int rc = zrec__key_update(s, &s->rx);
    if (rc < 0)
        return rc;
    if (request == 1)
        s->events |= ZREC_EV_KEY_UPDATE_OWED;
    return 0;
}

static void ack_owe(struct zrec_session *s, uint16_t epoch, uint64_t seq)
{
    struct zrec_dtls13 *t = s->d13;
    for (unsigned i = 0; i < t->nack; i++)
        if (t->ack[i].epoch == epoch && t->ack[i].seq == seq)
            return;
    if (t->nack < ZREC_DTLS13_MAX_ACKS)
        t->ack[t->nack++] = (struct zrec_record_number){epoch, seq};
    s->events |= ZREC_EV_ACK_OWED;
}

/* Post-handshake messages the engine itself acts upon: TLS 1.3 (RFC 8446
 * §4.6) with 4-byte handshake headers, DTLS 1.3 (RFC 9147 §5.2) with 12-byte
 * ones, message_seq de-duplication and ACKs (§7). */
static int handle_handshake(struct zrec_session *s, const struct rec_bytes *r, size_t off,
                            size_t len, uint16_t epoch, uint64_t seq)
{
    if (s->proto != ZREC_TLS13 && s->proto != ZREC_DTLS13)
        return 0; /* TLS/DTLS 1.2 renegotiation is not supported: passed through */
    bool dtls = s->proto == ZREC_DTLS13;
    size_t hlen = dtls ? 12 : 4;
    size_t pos = 0;
    if (dtls)
        ack_owe(s, epoch, seq); /* §7.1: records with handshake data are ACKed */
    while (pos < len) {
        uint8_t h[12];
        if (len - pos < hlen)
            return -EPROTO;
        rec_copy(r, off + pos, h, hlen);
        size_t body = (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
        if (body > len - pos - hlen)
            return -EPROTO; /* fragmented post-handshake messages: not supported */
        size_t boff = off + pos + hlen;
        if (dtls) {
            /* Only unfragmented messages: offset 0, fragment = whole. */
            size_t frag_off = (size_t)h[6] << 16 | (size_t)h[7] << 8 | h[8];
            size_t frag_len = (size_t)h[9] << 16 | (size_t)h[10] << 8 | h[11];
            if (frag_off != 0 || frag_len != body)
                return -EPROTO;
            /* RFC 9147 §5.2 processes message_seq strictly in order.  After
             * the handoff nobody can retransmit a post-handshake message the
             * handshake library sent (e.g. a lost NewSessionTicket), so a gap
             * would stall every later KeyUpdate forever.  Post-handshake
             * messages are self-contained: take any newer one and skip the
             * gap; an older or repeated one is a retransmission (ACK only). */
            uint16_t mseq = zrec__get16(h + 4);
            if ((uint16_t)(mseq - s->d13->hs_rx_seq) >= 0x8000) {
                pos += hlen + body;
                continue;
            }
            s->d13->hs_rx_seq = (uint16_t)(mseq + 1);
        }
        if (h[0] == 24) { /* key_update */
            uint8_t req = 0;
            if (body != 1)
                return -EPROTO;
            rec_copy(r, boff, &req, 1);
            /* RFC 8446 §5.1: a KeyUpdate must end its record. */
            if (pos + hlen + 1 != len)
                return -EPROTO;
            int rc = peer_key_update(s, req);
            if (rc < 0)
                return rc;
        } else if (h[0] == 4) { /* new_session_ticket (RFC 8446 §4.6.1) */
            int rc = deliver_ticket(s, r, boff, body);
            if (rc < 0)
                return rc;
        }
        pos += hlen + body;
    }
    return 0;
}

/* ACK record (RFC 9147 §7): RecordNumber record_numbers<2..2^16-2>.  An ACK
 * of our KeyUpdate moves the write side to the next epoch (§8). */
static int handle_ack(struct zrec_session *s, const struct rec_bytes *r, size_t off, size_t len)
{
    uint8_t l[2];
    if (len < 2)
        return -EPROTO;
    rec_copy(r, off, l, 2);
    size_t n = zrec__get16(l);
    if (n + 2 != len || n % 16 != 0)
        return -EPROTO;
    struct zrec_dtls13 *t = s->d13;
    for (size_t i = 0; i < n && t->ku_pending; i += 16) {
        uint8_t rn[16];
        rec_copy(r, off + 2 + i, rn, 16);
        uint64_t e = 0, q = 0;
        for (int k = 0; k < 8; k++) {
            e = e << 8 | rn[k];
            q = q << 8 | rn[8 + k];
        }
        bool ours = t->ku_sent && t->ku_first.epoch == e && t->ku_first.seq == q;
        unsigned held = t->ku_sent < ZREC_DTLS13_KU_TX ? t->ku_sent : ZREC_DTLS13_KU_TX;
        for (unsigned k = 0; k < held && !ours; k++)
            ours = t->ku_tx[k].epoch == e && t->ku_tx[k].seq == q;
        if (ours) {
            int rc = zrec__key_update(s, &s->tx);
            if (rc < 0)
                return rc;
            t->ku_pending = false;
            t->ku_sent = 0;
            s->events &= ~(unsigned)ZREC_EV_REKEY_DUE;
        }
    }
    return 0;
}

static int open_one(struct zrec_op *op)
{
    struct zrec_session *s = op->sess;
    if (s == NULL || op->nseg > MAX_IOV || (op->nseg == 0 && op->data == NULL))
        return -EINVAL;
    if (s->events & ZREC_EV_FATAL)
        return -EPIPE;
    struct rec_bytes r = {op->seg, op->nseg, op->data, op->len};
    if (op->nseg) {
        r.len = 0;
        for (unsigned i = 0; i < op->nseg; i++)
            r.len += op->seg[i].len;
    }
    uint8_t head_buf[HEAD_MAX];
    size_t head_len = r.len < HEAD_MAX ? r.len : HEAD_MAX;
    const uint8_t *head = op->data;
    if (op->nseg) {
        rec_copy(&r, 0, head_buf, head_len);
        head = head_buf;
    }
    /* DTLS 1.3 during a KeyUpdate: records of the previous epoch still open
     * with its key (RFC 9147 §8). */
    struct zrec_dir_state *d = &s->rx;
    struct zrec_dir_state *prev = s->d13 ? s->d13->rx_prev : NULL;
    if (prev && head_len > 0 && (head[0] & 3) == (prev->epoch & 3) &&
        (head[0] & 3) != (s->rx.epoch & 3))
        d = prev;
    if (d->aead == NULL)
        return -ENOKEY;
    struct rec_view v;
    v.hdr_len = r.len; /* where the payload starts, once the header says */
    v.aad_at = v.aad;  /* formats whose AAD is the header itself repoint it */
    int rc = s->fmt->open_header(s, d, head, head_len, r.len, &v);
    if (rc < 0) {
        /* zrec.h: -EBADMSG leaves no payload byte as received, even when
         * the header alone condemned the record. */
        if (rc == -EBADMSG && v.hdr_len < r.len)
            rec_wipe(&r, v.hdr_len, r.len - v.hdr_len);
        return open_fail(s, rc);
    }
    if (is_dtls(s)) {
        if (v.epoch != d->epoch)
            return -ESTALE;
        rc = replay_check(d, v.seq);
        if (rc < 0)
            return rc;
    }
    size_t ct_len = r.len - v.hdr_len - s->tag_len;
    /* Where the plaintext lands: in place, or the caller's dst. */
    /* Built from the op's fields, not copied from r: r was written field by
     * field just before, and a struct copy reads it 16 bytes at a time, which
     * cannot be forwarded from those narrower stores (measured: a fifth of
     * open_one's time at 64-byte records). */
    struct rec_bytes pt = {op->seg, op->nseg, op->data, r.len};
    size_t pt_off = v.hdr_len;
    if (op->dst) {
        if (op->nseg)
            return -EINVAL;
        if (ct_len > op->dst_cap)
            return -ENOBUFS; /* nothing consumed: open it in place instead */
        pt = (struct rec_bytes){NULL, 0, op->dst, ct_len};
        pt_off = 0;
    }
    uint8_t nonce[ZREC_NONCE_BUF] __attribute__((aligned(16))), tag_buf[ZREC_MAX_TAG_LEN];
    nonce_for(d, v.nonce_seq, nonce);
    struct zrec_aead_ctx *ctx = d->aead;
    if (op->nseg == 0) {
        uint8_t *ct = op->data + v.hdr_len;
        rc = ctx->provider->open(ctx, nonce, v.aad_at, v.aad_len, ct, pt.data + pt_off, ct_len,
                                 ct + ct_len);
    } else {
        struct iovec iov[MAX_IOV];
        int n = rec_iov(&r, v.hdr_len, ct_len, iov);
        rec_copy(&r, v.hdr_len + ct_len, tag_buf, s->tag_len);
        rc = zrec__aead_open_v(ctx, nonce, v.aad_at, v.aad_len, iov, n, tag_buf);
    }
    if (rc < 0) {
        /* Never leave unauthenticated plaintext readable. */
        rec_wipe(&pt, pt_off, ct_len);
        return open_fail(s, rc == -EBADMSG ? rc : -EBADMSG);
    }
    if (is_dtls(s))
        replay_accept(d, v.seq);
    else
        d->seq++;
    if (prev && d == &s->rx) {
        /* The peer now sends in the new epoch: the old key can go. */
        zrec__dir_clear(prev);
        free(prev);
        s->d13->rx_prev = NULL;
    }

    uint8_t type = v.outer_type;
    size_t plain_len = ct_len;
    if (has_inner_type(s, s->rx_cid_len)) {
        /* RFC 8446 §5.4: the content type is the last non-zero byte. */
        uint8_t b = 0;
        if (pt.nseg == 0) {
            const uint8_t *p = pt.data + pt_off;
            while (plain_len > 0 && (b = p[--plain_len]) == 0) {
            }
        } else {
            while (plain_len > 0) {
                rec_copy(&pt, pt_off + plain_len - 1, &b, 1);
                plain_len--;
                if (b != 0)
                    break;
            }
        }
        if (b == 0)
            return open_fail(s, -EPROTO);
        type = b;
    }
    if (plain_len > ZREC_MAX_PLAINTEXT)
        return open_fail(s, -EMSGSIZE);
    switch (type) {
    case ZREC_CT_APPLICATION_DATA:
        break;
    case ZREC_CT_ALERT: {
        uint8_t a[2];
        if (plain_len != 2)
            return open_fail(s, -EPROTO);
        rec_copy(&pt, pt_off, a, 2);
        if (a[1] == ZREC_ALERT_CLOSE_NOTIFY) {
            s->events |= ZREC_EV_PEER_CLOSED;
        } else if (a[0] == ZREC_ALERT_FATAL || s->proto == ZREC_TLS13 ||
                   s->proto == ZREC_DTLS13) {
            /* RFC 8446 §6: in TLS 1.3 every alert but close_notify and
             * user_canceled ends the connection, whatever its level. */
            if (a[1] != 90 /* user_canceled */) {
                s->events |= ZREC_EV_PEER_ALERT;
                s->peer_alert = a[1];
            }
        }
        break;
    }
    case ZREC_CT_HANDSHAKE:
        rc = handle_handshake(s, &pt, pt_off, plain_len, v.epoch, v.seq);
        if (rc < 0)
            return open_fail(s, rc);
        break;
    case ZREC_CT_ACK:
        if (s->proto != ZREC_DTLS13)
            return open_fail(s, -EPROTO);
        rc = handle_ack(s, &pt, pt_off, plain_len);
        if (rc < 0)
            return open_fail(s, rc);
        break;
    default:
        /* Includes an encrypted change_cipher_spec (RFC 8446 §5). */
        return open_fail(s, -EPROTO);
    }
    op->content_type = type;
    op->rec = rec_ptr(&pt, pt_off);
    if (op->rec == NULL) /* empty plaintext at the very end */
        op->rec = op->dst ? op->dst
                          : (op->nseg ? op->seg[op->nseg - 1].base + op->seg[op->nseg - 1].len
                                      : op->data + v.hdr_len);
    op->rec_len = (uint32_t)plain_len;
    op->rec_off = (uint32_t)v.hdr_len;
    op->seq = v.seq;
    op->epoch = v.epoch;
    return 0;
}

unsigned zrec_open_burst(struct zrec_op *ops, unsigned n)
{
    return run_burst(ops, n, open_one);
}

/* ------------------------------------------------------------------------
 * Conveniences and control records
 * ---------------------------------------------------------------------- */

int zrec_seal_record(struct zrec_session *s, uint8_t content_type, uint8_t *payload, size_t len,
                     size_t headroom, size_t tailroom, uint8_t **rec_out)
{
    if (len > UINT32_MAX)
        return -EMSGSIZE;
    struct zrec_op op = {
        .sess = s,
        .data = payload,
        .len = (uint32_t)len,
        .headroom = (uint16_t)(headroom > UINT16_MAX ? UINT16_MAX : headroom),
        .tailroom = (uint16_t)(tailroom > UINT16_MAX ? UINT16_MAX : tailroom),
        .content_type = content_type,
    };
    zrec_seal_burst(&op, 1);
    if (op.status < 0)
        return op.status;
    if (rec_out)
        *rec_out = op.rec;
    return (int)op.rec_len;
}

int zrec_open_record(struct zrec_session *s, uint8_t *rec, size_t len, uint8_t **plain_out,
                     uint8_t *content_type)
{
    if (len > UINT32_MAX)
        return -EMSGSIZE;
    struct zrec_op op = {.sess = s, .data = rec, .len = (uint32_t)len};
    zrec_open_burst(&op, 1);
    if (op.status < 0)
        return op.status;
    if (plain_out)
        *plain_out = op.rec;
    if (content_type)
        *content_type = op.content_type;
    return (int)op.rec_len;
}

/* Seal a small control message built in `buf` after the headroom. */
static int seal_control(struct zrec_session *s, uint8_t type, const uint8_t *msg, size_t len,
                        uint8_t *buf, size_t cap)
{
    struct zrec_overhead o;
    int rc = zrec_session_overhead(s, &o);
    if (rc < 0)
        return rc;
    if (cap < (size_t)o.headroom + len + o.tailroom)
        return -ENOSPC;
    uint8_t *payload = buf + o.headroom;
    memcpy(payload, msg, len);
    uint8_t *rec;
    rc = zrec_seal_record(s, type, payload, len, o.headroom, cap - o.headroom - len, &rec);
    if (rc < 0)
        return rc;
    if (rec != buf)
        memmove(buf, rec, (size_t)rc);
    return rc;
}

int zrec_seal_alert(struct zrec_session *s, uint8_t level, uint8_t description, uint8_t *buf,
                    size_t cap)
{
    if (s == NULL || buf == NULL || (level != ZREC_ALERT_WARNING && level != ZREC_ALERT_FATAL))
        return -EINVAL;
    const uint8_t msg[2] = {level, description};
    int rc = seal_control(s, ZREC_CT_ALERT, msg, 2, buf, cap);
    if (rc >= 0 && level == ZREC_ALERT_FATAL)
        s->events |= ZREC_EV_FATAL;
    return rc;
}

/* Seal a control message even at the write key's usage limit: a KeyUpdate
 * (and a DTLS 1.3 ACK) is how a connection gets past it. */
static int seal_control_at_limit(struct zrec_session *s, uint8_t type, const uint8_t *msg,
                                 size_t len, uint8_t *buf, size_t cap, struct zrec_op *out)
{
    uint64_t limit = s->tx.limit;
    if (s->tx.used >= s->tx.limit)
        s->tx.limit = s->tx.used + 1;
    uint64_t seq = s->tx.seq;
    uint16_t epoch = s->tx.epoch;
    int rc = seal_control(s, type, msg, len, buf, cap);
    s->tx.limit = limit;
    if (rc >= 0 && out) {
        out->seq = seq;
        out->epoch = epoch;
    }
    return rc;
}

int zrec_seal_key_update(struct zrec_session *s, bool request_update, uint8_t *buf, size_t cap)
{
    if (s == NULL || buf == NULL)
        return -EINVAL;
    if (s->proto == ZREC_DTLS13) {
        /* RFC 9147 §8: the KeyUpdate goes out under the current key and the
         * write key changes only once it is ACKed (handle_ack).  Calling
         * again before that retransmits the same message. */
        struct zrec_dtls13 *t = s->d13;
        if (!t->ku_pending) {
            t->ku_pending = true;
            t->ku_request = request_update ? 1 : 0;
            t->ku_msg_seq = t->hs_tx_seq++;
            t->ku_sent = 0;
        }
        /* §5.2 handshake header: type, length, message_seq, fragment_offset,
         * fragment_length; then KeyUpdateRequest. */
        const uint8_t msg[13] = {24, 0, 0, 1, (uint8_t)(t->ku_msg_seq >> 8),
                                 (uint8_t)t->ku_msg_seq, 0, 0, 0, 0, 0, 1, t->ku_request};
        struct zrec_op rn;
        int rc = seal_control_at_limit(s, ZREC_CT_HANDSHAKE, msg, sizeof msg, buf, cap, &rn);
        if (rc < 0)
            return rc;
        struct zrec_record_number sent = {rn.epoch, rn.seq};
        if (t->ku_sent == 0)
            t->ku_first = sent;
        t->ku_tx[t->ku_sent % ZREC_DTLS13_KU_TX] = sent;
        t->ku_sent++;
        /* Our KeyUpdate is on its way: application data may follow it. */
        s->events &= ~(unsigned)ZREC_EV_KEY_UPDATE_OWED;
        return rc;
    }
    if (s->proto != ZREC_TLS13)
        return -EOPNOTSUPP;
    /* RFC 8446 §4.6.3: KeyUpdate { KeyUpdateRequest request_update; } */
    const uint8_t msg[5] = {24, 0, 0, 1, request_update ? 1 : 0};
    int rc = seal_control_at_limit(s, ZREC_CT_HANDSHAKE, msg, sizeof msg, buf, cap, NULL);
    if (rc < 0)
        return rc;
    /* The new key comes with the AEAD's full limits (zrec__install). */
    int urc = zrec__key_update(s, &s->tx);
    if (urc < 0) {
        s->events |= ZREC_EV_FATAL;
        return urc;
    }
    s->events &= ~(unsigned)(ZREC_EV_KEY_UPDATE_OWED | ZREC_EV_REKEY_DUE);
    return rc;
}

int zrec_seal_ack(struct zrec_session *s, uint8_t *buf, size_t cap)
{
    if (s == NULL || buf == NULL)
        return -EINVAL;
    if (s->proto != ZREC_DTLS13)
        return -EOPNOTSUPP;
    struct zrec_dtls13 *t = s->d13;
    if (t->nack == 0)
        return -ENODATA;
    /* RFC 9147 §7: struct { RecordNumber record_numbers<2..2^16-2>; } ACK;
     * RecordNumber = { uint64 epoch; uint64 sequence_number; }. */
    uint8_t msg[2 + 16 * ZREC_DTLS13_MAX_ACKS];
    zrec__put16(msg, (uint16_t)(16 * t->nack));
    for (unsigned i = 0; i < t->nack; i++) {
        zrec__put64(msg + 2 + 16 * i, t->ack[i].epoch);
        zrec__put64(msg + 10 + 16 * i, t->ack[i].seq);
    }
    int rc = seal_control_at_limit(s, ZREC_CT_ACK, msg, 2 + 16u * t->nack, buf, cap, NULL);
    if (rc >= 0) {
        t->nack = 0;
        s->events &= ~(unsigned)ZREC_EV_ACK_OWED;
    }
    return rc;
}

int zrec_session_set_dtls13_message_seq(struct zrec_session *s, uint16_t next_send,
                                        uint16_t next_receive)
{
    if (s == NULL || s->proto != ZREC_DTLS13)
        return -EINVAL;
    s->d13->hs_tx_seq = next_send;
    s->d13->hs_rx_seq = next_receive;
    return 0;
}

long zrec_record_length(const struct zrec_session *s, const uint8_t *buf, size_t avail)
{
    if (s == NULL || buf == NULL)
        return -EINVAL;
    bool dtls = s->proto == ZREC_DTLS12 || s->proto == ZREC_DTLS13;
    struct zrec_record_info info;
    long rc = zrec_record_peek(buf, avail, dtls ? ZREC_PEEK_DTLS : 0, s->rx_cid_len, &info);
    if (rc <= 0 || avail == 0)
        return rc;
    /* What the session knows beyond the header: only DTLS 1.3 has unified
     * headers, and TLS 1.3 the tighter length limit (RFC 8446 §5.2). */
    if (info.unified && s->proto != ZREC_DTLS13)
        return -EPROTO;
    if (s->proto == ZREC_TLS13 && info.length - info.header_len > TLS13_MAX_CIPHERTEXT)
        return -EMSGSIZE;
    return rc;
}
