/* Tampered, truncated and oversized records.
 *
 * For sample records (payloads of 0, 1, 100 and 1400 bytes) every byte of the
 * record — header, explicit nonce, ciphertext, tag — is flipped in turn, on a
 * fresh copy, and the copy is opened (contiguously, or split into random
 * segments).  The open must fail, with an errno from the set that the region
 * of the flipped byte allows (see allowed_flip()), and the payload region must
 * not then hold any of the plaintext: "an open that fails authentication
 * never leaves unauthenticated plaintext readable" (zrec.h).
 *
 * TLS (RFC 8446 §5.2, RFC 5246 §6.2.3 / §7.2.2): any record error is fatal —
 * each flip gets a fresh receiving session, and the test asserts
 * ZREC_EV_FATAL and then -EPIPE for the genuine record.  DTLS (RFC 6347
 * §4.1.2.7, RFC 9147 §4.5.2): bad records are dropped and the session goes on
 * — every flip is made on a freshly sealed record, and after the failed open
 * the genuine record with the same sequence number must still open (so the
 * forgery did not consume its sequence number either).
 *
 * Then every truncation (0 .. len-1 bytes) of a record, and records whose
 * length field is oversized (RFC 5246 §6.2.3: 2^14 + 2048, RFC 8446 §5.2:
 * 2^14 + 256 -> record_overflow, -EMSGSIZE) or undersized.
 *
 * Usage: tamper PROTO AEAD */
#include "engine_util.h"
#include "test_provider.h"

static enum zrec_proto proto;
static enum zrec_aead_id aead;
static uint8_t cid_len;
static const struct zrec_aead_provider *provs[2];
static struct keymat km;
static uint64_t seed;
static unsigned long nopens;

/* ------------------------------------------------------------------------
 * What a flipped byte may legitimately produce.
 * ---------------------------------------------------------------------- */

static unsigned len_field_errs(const uint8_t *r, size_t pos, uint8_t m)
{
    size_t lo = len_off_of(proto, cid_len);
    uint8_t f[2] = {r[lo], r[lo + 1]};
    f[pos - lo] ^= m;
    size_t v = (size_t)f[0] << 8 | f[1];
    /* The length no longer matches the record: malformed (-EPROTO); if it
     * is also over the limit, -EMSGSIZE is as honest an answer. */
    return v > max_ct_of(proto) ? (E_PROTO | E_MSGSIZE) : E_PROTO;
}

static unsigned allowed_flip(const uint8_t *r, size_t pos, uint8_t m, const char **region)
{
    size_t c = cid_len, H = hdr_len_of(proto, aead, c);
    uint8_t b = r[pos] ^ m;
    switch (proto) {
    case ZREC_TLS12:
        if (pos == 0) {
            /* RFC 5246 §6.2.1: alert/handshake/application_data are all
             * acceptable outer types; the type is authenticated through the
             * AAD (§6.2.3.3), so a change among them fails authentication. */
            *region = "type";
            return (b == 21 || b == 22) ? E_BADMSG : E_PROTO;
        }
        if (pos < 3)
            return *region = "version", E_PROTO;
        if (pos < 5)
            return *region = "length", len_field_errs(r, pos, m);
        if (pos < H)
            return *region = "explicit nonce", E_BADMSG; /* RFC 5288 §3: part of the nonce */
        return *region = "ciphertext/tag", E_BADMSG;
    case ZREC_TLS13:
        if (pos == 0)
            return *region = "opaque type", E_PROTO; /* RFC 8446 §5.2: always 23 */
        if (pos < 3) {
            /* legacy_record_version: ignored by the parser but part of the
             * AAD (RFC 8446 §5.2), so -EBADMSG; rejecting it is also fine. */
            return *region = "legacy version", E_BADMSG | E_PROTO;
        }
        if (pos < 5)
            return *region = "length", len_field_errs(r, pos, m);
        return *region = "ciphertext/tag", E_BADMSG;
    case ZREC_DTLS12:
        if (pos == 0) {
            /* RFC 9146 §4: with a CID negotiated every record is tls12_cid. */
            *region = "type";
            return (!c && (b == 21 || b == 22)) ? E_BADMSG : E_PROTO;
        }
        if (pos < 3)
            return *region = "version", E_PROTO;
        if (pos < 5)
            return *region = "epoch", E_STALE; /* RFC 6347 §4.1: another epoch */
        if (pos < 11) {
            /* The sequence number is in the AAD (RFC 6347 §4.1.2.1); a
             * smaller one may already be marked in the replay window. */
            return *region = "sequence number", E_BADMSG | E_ALREADY;
        }
        if (pos < 11 + c)
            return *region = "CID", E_PROTO; /* not our connection ID */
        if (pos < 13 + c)
            return *region = "length", len_field_errs(r, pos, m);
        if (pos < H)
            return *region = "explicit nonce", E_BADMSG;
        return *region = "ciphertext/tag", E_BADMSG;
    default:
        if (pos == 0) {
            *region = "unified header flags";
            /* RFC 9147 §4: fixed bits 001, then C (must match our CID use),
             * S and L (they move the fields: anything may follow), and the
             * epoch's low two bits (another epoch: -ESTALE). */
            if ((b & 0xe0) != 0x20 || (b & 0x10) != (r[0] & 0x10))
                return E_PROTO;
            if ((b ^ r[0]) & 0x0c)
                return E_PROTO | E_MSGSIZE | E_BADMSG | E_ALREADY | E_STALE;
            return E_STALE;
        }
        if (pos < 1 + c)
            return *region = "CID", E_PROTO;
        if (pos < 3 + c) {
            /* Encrypted sequence number (RFC 9147 §4.2.3): decrypts to some
             * other number, old (replay window) or not (AAD mismatch). */
            return *region = "sequence number", E_BADMSG | E_ALREADY;
        }
        if (pos < 5 + c)
            return *region = "length", len_field_errs(r, pos, m);
        if (pos < H + 16) {
            /* The record number mask is computed from these 16 ciphertext
             * bytes (RFC 9147 §4.2.3): the sequence number changes too. */
            return *region = "ciphertext (sn sample)", E_BADMSG | E_ALREADY;
        }
        return *region = "ciphertext/tag", E_BADMSG;
    }
}

/* ------------------------------------------------------------------------
 * Opening a hostile record and checking the aftermath.
 * ---------------------------------------------------------------------- */

struct bad_open {
    int status;
    long exposed; /* offset of plaintext found in the payload region, or -1 */
};

/* Open rec[0..len) on s, contiguously or scattered; look for plaintext in
 * the payload region [H, H + L) (or what exists of it) afterwards. */
static struct bad_open open_hostile(struct zrec_session *s, const uint8_t *rec, size_t len,
                                    size_t L, const struct pt_index *ix, bool scattered)
{
    struct bad_open res = {0, -1};
    size_t H = hdr_len_of(proto, aead, cid_len);
    size_t reg = len > H ? (len - H < L ? len - H : L) : 0;
    nopens++;
    if (scattered && len > 0) {
        struct sg g;
        struct zrec_op op = open_scattered(s, rec, len, H, tag_len_of(aead), &g, &seed);
        res.status = op.status;
        if (reg) {
            uint8_t *tmp = xmalloc(reg);
            sg_gather(&g, H, tmp, reg);
            res.exposed = pt_exposed(ix, tmp, reg);
            free(tmp);
        }
        long bad = sg_clobbered(&g, NULL, 0, NULL, 0);
        EXPECT(bad < 0, "failed scattered open wrote outside the segments (offset %ld)", bad);
        sg_free(&g);
    } else {
        uint8_t *copy;
        struct zrec_op op = open_copy(s, rec, len, &copy);
        res.status = op.status;
        if (reg)
            res.exposed = pt_exposed(ix, copy + H, reg);
        free(copy);
    }
    return res;
}

/* The receiving side, read sequence number `seq`, on provider i & 1. */
static struct zrec_session *receiver(uint64_t seq, unsigned i)
{
    return mk_session(proto, aead, provs[i & 1], &km, cid_len, SIDE_B, seq);
}

/* TLS: after a failed open the session is dead: ZREC_EV_FATAL, and even the
 * genuine record is refused with -EPIPE (RFC 8446 §5.2, RFC 5246 §7.2.2). */
static void expect_tls_fatal(struct zrec_session *b, const uint8_t *genuine, size_t glen,
                             const char *what)
{
    EXPECT(zrec_session_events(b) & ZREC_EV_FATAL, "TLS: %s did not make the session fatal",
           what);
    struct zrec_op op = open_copy(b, genuine, glen, NULL);
    EXPECT(op.status == -EPIPE, "TLS: after %s the genuine record gave %s, want -EPIPE", what,
           err_name(op.status));
}

/* DTLS: the session goes on: the genuine record opens, with its plaintext. */
static void expect_dtls_alive(struct zrec_session *b, const uint8_t *genuine, size_t glen,
                              const uint8_t *payload, size_t L, uint64_t seq, const char *what)
{
    EXPECT(!(zrec_session_events(b) & ZREC_EV_FATAL), "DTLS: %s made the session fatal", what);
    uint8_t *copy;
    struct zrec_op op = open_copy(b, genuine, glen, &copy);
    EXPECT(op.status == 0, "DTLS: after %s the genuine record %llu gave %s", what,
           (unsigned long long)seq, err_name(op.status));
    if (op.status == 0) {
        EXPECT(op.seq == seq && op.rec_len == L && memcmp(op.rec, payload, L) == 0,
               "DTLS: after %s the genuine record opened wrong (seq %llu/%llu, len %u/%zu)",
               what, (unsigned long long)op.seq, (unsigned long long)seq, op.rec_len, L);
    }
    free(copy);
}

/* DTLS receivers are replaced before the CCM_8 integrity limit (2^7 failed
 * opens, RFC 9147 §4.5.3; the integrity test covers it) would end them.
 * With the other AEADs (limits of 2^23.5 and more) one receiver takes every
 * failure of a run and must stay usable throughout. */
struct dtls_rx {
    struct zrec_session *s;
    unsigned fails;
    unsigned gen;
};

static void dtls_rx_refresh(struct dtls_rx *rx, struct zrec_session *a)
{
    if (rx->s && (aead != ZREC_AES_128_CCM_8 || rx->fails < 100))
        return;
    zrec_session_free(rx->s);
    rx->s = receiver(zrec_session_seq(a, ZREC_DIR_WRITE), rx->gen++);
    rx->fails = 0;
}

static uint8_t *seal_one(struct zrec_session *a, const uint8_t *payload, size_t L, int *rlen,
                         uint64_t *seq)
{
    uint8_t *rec;
    struct zrec_op op;
    *rlen = seal_contig(a, ZREC_CT_APPLICATION_DATA, payload, L, &rec, &op);
    CHECK(*rlen == (int)rec_len_of(proto, aead, cid_len, L), "seal %zu bytes: %s", L,
          err_name(*rlen));
    *seq = op.seq;
    return rec;
}

static void flips(struct zrec_session *a, struct dtls_rx *rx, const uint8_t *payload, size_t L)
{
    struct pt_index ix;
    pt_index_build(&ix, payload, L);
    /* The detector itself finds plaintext where there is some. */
    EXPECT(L < 8 || pt_exposed(&ix, payload, L) == 0, "plaintext index self-check");
    size_t H = hdr_len_of(proto, aead, cid_len);
    int rlen;
    uint64_t seq;
    /* TLS: one record, fresh receivers.  DTLS: a fresh record per flip. */
    uint8_t *rec = seal_one(a, payload, L, &rlen, &seq);
    unsigned n = 0, by_errno[6] = {0};
    for (size_t pos = 0; pos < (size_t)rlen; pos++) {
        /* Header bytes: every single bit and the whole byte; elsewhere the
         * whole byte and one random bit. */
        uint8_t masks[9];
        unsigned nm = 0;
        if (pos < H) {
            for (int bit = 0; bit < 8; bit++)
                masks[nm++] = (uint8_t)(1u << bit);
            masks[nm++] = 0xff;
        } else {
            masks[nm++] = 0xff;
            masks[nm++] = (uint8_t)(1u << (test_rand(&seed) % 8));
        }
        for (unsigned mi = 0; mi < nm; mi++, n++) {
            struct zrec_session *b;
            if (is_dtls(proto)) {
                free(rec);
                dtls_rx_refresh(rx, a);
                rec = seal_one(a, payload, L, &rlen, &seq);
                b = rx->s;
            } else {
                b = receiver(seq, n);
            }
            const char *region = "?";
            unsigned allowed = allowed_flip(rec, pos, masks[mi], &region);
            uint8_t *t = xdup(rec, (size_t)rlen);
            t[pos] ^= masks[mi];
            struct bad_open r = open_hostile(b, t, (size_t)rlen, L, &ix, n % 3 == 2);
            free(t);
            for (int e = 0; e < 6; e++)
                by_errno[e] += (err_bit(r.status) >> e) & 1;
            EXPECT(r.status < 0, "L %zu: byte %zu (%s) ^ %02x was accepted", L, pos, region,
                   masks[mi]);
            EXPECT(r.status >= 0 || err_in(r.status, allowed),
                   "L %zu: byte %zu (%s) ^ %02x gave %s, not among the acceptable errnos "
                   "(mask %#x)", L, pos, region, masks[mi], err_name(r.status), allowed);
            EXPECT(r.exposed < 0,
                   "L %zu: byte %zu (%s) ^ %02x: %s, but plaintext readable at payload "
                   "offset %ld", L, pos, region, masks[mi], err_name(r.status), r.exposed);
            if (is_dtls(proto)) {
                rx->fails++;
                expect_dtls_alive(b, rec, (size_t)rlen, payload, L, seq, "a flipped byte");
            } else {
                expect_tls_fatal(b, rec, (size_t)rlen, "a flipped byte");
                zrec_session_free(b);
            }
        }
    }
    if (!is_dtls(proto)) {
        /* The same record, untouched, opens: the failures were the flips'. */
        struct zrec_session *b = receiver(seq, 0);
        uint8_t *copy;
        struct zrec_op op = open_copy(b, rec, (size_t)rlen, &copy);
        EXPECT(op.status == 0 && op.rec_len == L && memcmp(op.rec, payload, L) == 0,
               "genuine record after the flips: %s", err_name(op.status));
        free(copy);
        zrec_session_free(b);
    }
    printf("  L %zu: %u flips: EBADMSG %u, EPROTO %u, EMSGSIZE %u, ESTALE %u, EALREADY %u\n",
           L, n, by_errno[0], by_errno[1], by_errno[2], by_errno[3], by_errno[4]);
    free(rec);
    pt_index_free(&ix);
}

static void truncations(struct zrec_session *a, struct dtls_rx *rx, const uint8_t *payload,
                        size_t L)
{
    struct pt_index ix;
    pt_index_build(&ix, payload, L);
    int rlen;
    uint64_t seq;
    if (is_dtls(proto))
        dtls_rx_refresh(rx, a);
    uint8_t *rec = seal_one(a, payload, L, &rlen, &seq);
    for (size_t t = 0; t < (size_t)rlen; t++) {
        struct zrec_session *b = is_dtls(proto) ? rx->s : receiver(seq, (unsigned)t);
        /* The truncated copy is an exact-size allocation: reading past it
         * is an ASan error. */
        struct bad_open r = open_hostile(b, rec, t, L, &ix, t % 4 == 3);
        /* The length field no longer matches: malformed (RFC 8446 §5.2,
         * RFC 6347 §4.1, RFC 9147 §4). */
        EXPECT(r.status == -EPROTO, "L %zu truncated to %zu of %d bytes: %s, want -EPROTO", L,
               t, rlen, err_name(r.status));
        EXPECT(r.exposed < 0, "truncated record exposed plaintext");
        if (is_dtls(proto)) {
            rx->fails++;
            EXPECT(!(zrec_session_events(b) & ZREC_EV_FATAL), "DTLS: truncation was fatal");
        } else {
            expect_tls_fatal(b, rec, (size_t)rlen, "a truncated record");
            zrec_session_free(b);
        }
    }
    if (is_dtls(proto))
        expect_dtls_alive(rx->s, rec, (size_t)rlen, payload, L, seq, "truncations");
    free(rec);
    pt_index_free(&ix);
}

/* Records whose length field says v, followed by exactly v bytes (the
 * genuine ciphertext, then random bytes). */
static void odd_length(struct zrec_session *a, struct dtls_rx *rx, size_t v, unsigned allowed,
                       const char *what)
{
    uint8_t payload[100];
    test_fill(payload, sizeof payload, &seed);
    struct pt_index ix;
    pt_index_build(&ix, payload, 0);
    int rlen;
    uint64_t seq;
    if (is_dtls(proto))
        dtls_rx_refresh(rx, a);
    uint8_t *rec = seal_one(a, payload, sizeof payload, &rlen, &seq);
    size_t lo = len_off_of(proto, cid_len);
    size_t blen = lo + 2 + v;
    uint8_t *buf = xmalloc(blen);
    test_fill(buf, blen, &seed);
    memcpy(buf, rec, blen < (size_t)rlen ? blen : (size_t)rlen);
    buf[lo] = (uint8_t)(v >> 8);
    buf[lo + 1] = (uint8_t)v;
    struct zrec_session *b = is_dtls(proto) ? rx->s : receiver(seq, 1);
    struct bad_open r = open_hostile(b, buf, blen, 0, &ix, false);
    EXPECT(err_in(r.status, allowed), "%s (length field %zu, %zu-byte record): %s (mask %#x)",
           what, v, blen, err_name(r.status), allowed);
    if (is_dtls(proto)) {
        rx->fails++;
        expect_dtls_alive(b, rec, (size_t)rlen, payload, sizeof payload, seq, what);
    } else {
        expect_tls_fatal(b, rec, (size_t)rlen, what);
        zrec_session_free(b);
    }
    /* And the length field lying about a genuine record's size. */
    if (is_dtls(proto)) {
        free(rec);
        dtls_rx_refresh(rx, a);
        rec = seal_one(a, payload, sizeof payload, &rlen, &seq);
        b = rx->s;
    } else {
        b = receiver(seq, 0);
    }
    uint8_t *t = xdup(rec, (size_t)rlen);
    t[lo] = (uint8_t)(v >> 8);
    t[lo + 1] = (uint8_t)v;
    pt_index_free(&ix);
    pt_index_build(&ix, payload, sizeof payload);
    r = open_hostile(b, t, (size_t)rlen, sizeof payload, &ix, false);
    unsigned lie = (lo + 2 + v == (size_t)rlen) ? 0 : (E_PROTO | E_MSGSIZE);
    if (lie) {
        EXPECT(err_in(r.status, lie), "%s: length field %zu on a %d-byte record: %s", what, v,
               rlen, err_name(r.status));
        EXPECT(r.exposed < 0, "length lie exposed plaintext");
        if (is_dtls(proto)) {
            rx->fails++;
            expect_dtls_alive(b, rec, (size_t)rlen, payload, sizeof payload, seq, what);
        } else {
            expect_tls_fatal(b, rec, (size_t)rlen, what);
        }
    }
    if (!is_dtls(proto))
        zrec_session_free(b);
    free(t);
    free(buf);
    free(rec);
    pt_index_free(&ix);
}

static void run(void)
{
    keymat_new(&km, &seed);
    struct zrec_session *a = mk_session(proto, aead, provs[0], &km, cid_len, SIDE_A, 0);
    struct dtls_rx rx = {NULL, 0, 0};
    static const size_t sizes[] = {0, 1, 100, 1400};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        uint8_t *payload = xmalloc(sizes[i]);
        test_fill(payload, sizes[i], &seed);
        flips(a, &rx, payload, sizes[i]);
        truncations(a, &rx, payload, sizes[i]);
        free(payload);
    }
    size_t max = max_ct_of(proto), tag = tag_len_of(aead);
    size_t min_ct = proto == ZREC_TLS13 ? tag + 1
                    : proto == ZREC_DTLS13 ? 16
                                           : explicit_len_of(proto, aead) + tag;
    /* Over the limit: record_overflow (RFC 5246 §6.2.3, RFC 8446 §5.2). */
    odd_length(a, &rx, max + 1, E_MSGSIZE, "oversized record (limit + 1)");
    odd_length(a, &rx, 0xffff, E_MSGSIZE, "oversized record (0xffff)");
    /* At the limit the size is legal: only authentication can fail; DTLS 1.3
     * may also read a stale sequence number from the random sample. */
    odd_length(a, &rx, max, proto == ZREC_DTLS13 ? (E_BADMSG | E_ALREADY) : E_BADMSG,
               "record at the size limit");
    /* Too short to hold a tag (and nonce / content type / sn sample). */
    for (size_t v = 0; v < min_ct; v += (min_ct > 4 ? min_ct / 4 : 1))
        odd_length(a, &rx, v, E_PROTO | E_BADMSG, "undersized record");
    odd_length(a, &rx, min_ct - 1, E_PROTO | E_BADMSG, "undersized record");
    zrec_session_free(a);
    zrec_session_free(rx.s);
}

int main(int argc, char **argv)
{
    /* An optional third argument: the provider that alternates with
     * wolfCrypt (default: the default provider; testprov / testprov-inplace:
     * test_provider.c). */
    parse_args(argc == 4 ? 3 : argc, argv, &proto, &aead);
    provs[0] = argc == 4 ? test_provider_by_name(argv[3]) : zrec_provider_default();
    if (provs[0] == NULL) {
        fprintf(stderr, "unknown provider %s\n", argv[3]);
        return 2;
    }
    unsigned long calls0 = test_provider_calls();
    provs[1] = zrec_provider_wolfcrypt();
    seed = 0x7a3e0000u + (uint64_t)proto * 16 + aead;
    printf("seed %llu (receivers alternate %s / %s)\n", (unsigned long long)seed,
           zrec_provider_name(provs[0]), zrec_provider_name(provs[1]));
    cid_len = 0;
    run();
    if (is_dtls(proto)) {
        cid_len = 8;
        printf("with an 8-byte connection ID:\n");
        run();
    }
    printf("%lu hostile opens\n", nopens);
    if (argc == 4)
        EXPECT(test_provider_calls() - calls0 >= nopens / 4, "%s saw only %lu calls", argv[3],
               test_provider_calls() - calls0);
    return eu_finish("tamper", argv[1], argv[2]);
}
