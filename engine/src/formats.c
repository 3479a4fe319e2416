/*
 * The four record formats: what differs between TLS 1.2, TLS 1.3, DTLS 1.2
 * and DTLS 1.3 is here, in one table of header / AAD / nonce functions; the
 * seal/open skeleton (record.c) is shared.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "record.h"

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

/* RFC 9146 §5, a DTLS 1.2 record with a connection ID: seq_num_placeholder
 * || tls12_cid || cid_length || tls12_cid || version || epoch ||
 * sequence_number || cid || length_of_DTLSInnerPlaintext.  ves: the
 * header's version, epoch and sequence number (10 bytes as on the wire). */
static size_t dtls12_cid_aad(uint8_t *aad, const uint8_t ves[10], const uint8_t *cid,
                             uint8_t cid_len, size_t inner_len)
{
    memset(aad, 0xff, 8);
    aad[8] = ZREC_CT_TLS12_CID;
    aad[9] = cid_len;
    aad[10] = ZREC_CT_TLS12_CID;
    memcpy(aad + 11, ves, 10);
    memcpy(aad + 21, cid, cid_len);
    zrec__put16(aad + 21 + cid_len, (uint16_t)inner_len);
    return 23u + cid_len;
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
    return dtls12_cid_aad(aad, hdr + 1, zrec__tx_cid(s), cid_len, inner_len);
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
    v->aad_len = cid_len ? dtls12_cid_aad(v->aad, h + 1, h + 11, cid_len, inner_len)
                         : tls12_aad(v->aad, seq_num, h[0], VERSION_DTLS12, inner_len);
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

/* DTLS names the key of each record in its header (RFC 6347 §4.1: the
 * epoch; RFC 9147 §4: its low two bits in the unified header). */
static bool dtls12_in_rx_epoch(const struct zrec_session *s, const uint8_t *h, size_t len)
{
    return len >= 13 && zrec__get16(h + 3) == s->rx.epoch;
}

static bool dtls13_in_rx_epoch(const struct zrec_session *s, const uint8_t *h, size_t len)
{
    return len >= 1 && (h[0] & 0xe0) == DTLS13_FIXED && (h[0] & 3) == (s->rx.epoch & 3);
}

static const struct zrec_format formats[ZREC_PROTO_COUNT] = {
    /* TLS: 2^64 - 1 is never used, so that the count never wraps (RFC 8446
     * §5.3, RFC 5246 §6.1). */
    [ZREC_TLS12] = {.seal_header = tls12_seal_header, .open_header = tls12_open_header,
                    .max_seq = UINT64_MAX - 1, .max_ciphertext = TLS12_MAX_CIPHERTEXT},
    [ZREC_TLS13] = {.seal_header = tls13_seal_header,
                    .open_header = tls13_open_header, .inner_type = true, .alerts_fatal = true,
                    .max_seq = UINT64_MAX - 1, .max_ciphertext = TLS13_MAX_CIPHERTEXT},
    [ZREC_DTLS12] = {.seal_header = dtls12_seal_header, .nonce_seq = dtls12_nonce_seq,
                     .open_header = dtls12_open_header, .in_rx_epoch = dtls12_in_rx_epoch,
                     .datagram = true, .inner_type_cid = true,
                     .max_seq = ZREC_DTLS12_MAX_SEQ, .max_ciphertext = TLS12_MAX_CIPHERTEXT},
    [ZREC_DTLS13] = {.seal_header = dtls13_seal_header,
                     .open_header = dtls13_open_header, .in_rx_epoch = dtls13_in_rx_epoch,
                     .datagram = true, .inner_type = true,
                     .sn_mask = true, .acks = true, .alerts_fatal = true,
                     /* RFC 9147 §4: sequence numbers stay within 48 bits. */
                     .max_seq = ZREC_DTLS12_MAX_SEQ, .max_ciphertext = TLS13_MAX_CIPHERTEXT},
};

const struct zrec_format *zrec__format(enum zrec_proto p)
{
    return &formats[p];
}

/* Whether records with a connection ID of cid_len bytes carry the true
 * content type inside (the session keeps it per direction). */
bool zrec__format_inner_type(enum zrec_proto p, uint8_t cid_len)
{
    return formats[p].inner_type || (formats[p].inner_type_cid && cid_len > 0);
}
