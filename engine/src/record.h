/*
 * Private to the record layer: the per-format table (formats.c), the byte
 * view over a contiguous or scattered record, and the post-handshake message
 * handlers (posthandshake.c) that the open skeleton (record.c) calls.
 *
 * Files and their dependencies (pointing down only):
 *   control.c        control records, conveniences   -> record.c (public API)
 *   record.c         the seal/open skeleton, bursts  -> posthandshake.c, formats (table)
 *   posthandshake.c  KeyUpdate, tickets, ACKs        -> session.c
 *   formats.c        TLS 1.2, TLS 1.3, DTLS 1.2, DTLS 1.3 headers, AAD, nonce
 */
#ifndef ZREC_RECORD_H
#define ZREC_RECORD_H

#include <stdbool.h>
#include <string.h>
#include <sys/uio.h>
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
    /* The sequence value XORed into the IV for a record we send; NULL: the
     * sequence number itself. */
    uint64_t (*nonce_seq)(const struct zrec_session *s, uint64_t seq);
    /* Parse the header of a `rec_len`-byte record from its first `head_len`
     * bytes (at least min(rec_len, HEAD_MAX)). */
    int (*open_header)(struct zrec_session *s, struct zrec_dir_state *d, const uint8_t *head,
                       size_t head_len, size_t rec_len, struct rec_view *v);

    /* Whether a record (its first len bytes at head) is of the session's
     * current read epoch, so that it may share an open pass with an earlier
     * record of its session (record.c).  NULL: never (TLS, whose next key
     * depends on what the earlier record turns out to be). */
    bool (*in_rx_epoch)(const struct zrec_session *s, const uint8_t *head, size_t len);
    /* What else differs, read by the skeleton instead of a switch on the
     * protocol. */
    bool datagram;        /* DTLS: epochs, replay window, invalid records dropped */
    bool inner_type;      /* TLSInnerPlaintext (RFC 8446 §5.2, RFC 9147 §4) */
    bool inner_type_cid;  /* ... only when a connection ID is used (RFC 9146 §4) */
    bool sn_mask;         /* record number encryption (RFC 9147 §4.2.3) */
    bool acks;            /* ACK records (RFC 9147 §7) */
    bool alerts_fatal;    /* every alert but close_notify ends it (RFC 8446 §6) */
    uint64_t max_seq;     /* the last sequence number used (RFC 8446 §5.3, RFC 6347 §4.1) */
    size_t max_ciphertext; /* RFC 8446 §5.2 / RFC 5246 §6.2.3 */
};

const struct zrec_format *zrec__format(enum zrec_proto p);
bool zrec__format_inner_type(enum zrec_proto p, uint8_t cid_len);

/* A byte view over a contiguous or scattered record. */
struct rec_bytes {
    const struct zrec_seg *seg;
    unsigned nseg;
    uint8_t *data;
    size_t len;
};

static inline void rec_copy(const struct rec_bytes *r, size_t off, uint8_t *dst, size_t n)
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

static inline uint8_t *rec_ptr(const struct rec_bytes *r, size_t off)
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
static inline int rec_iov(const struct rec_bytes *r, size_t off, size_t n, struct iovec *iov)
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

static inline void rec_wipe(const struct rec_bytes *r, size_t off, size_t n)
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

static inline bool is_dtls(const struct zrec_session *s)
{
    return s->fmt->datagram;
}

/* posthandshake.c: a handshake-type record (TLS 1.3 KeyUpdate,
 * NewSessionTicket; DTLS 1.3 the same with message_seq and ACKs owed) and
 * a DTLS 1.3 ACK record, opened at [off, off + len) of r. */
int zrec__handle_handshake(struct zrec_session *s, const struct rec_bytes *r, size_t off,
                           size_t len, uint16_t epoch, uint64_t seq);
int zrec__handle_ack(struct zrec_session *s, const struct rec_bytes *r, size_t off, size_t len);

#endif
