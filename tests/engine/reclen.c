/* zrec_record_length() on hostile input, and record boundaries in a stream.
 *
 * zrec.h: "Returns the length, 0 when `avail` bytes are not enough to know
 * it yet, or -EPROTO / -EMSGSIZE for a header that cannot start a valid
 * record of this session."  Checked here:
 *  - every prefix of genuine records: 0 until the length field is complete,
 *    then exactly the record length (also with bytes of a next record after);
 *  - a TLS stream / DTLS datagram of back-to-back records is split at the
 *    right boundaries and every record opens;
 *  - length fields over the protocol's limit give -EMSGSIZE (RFC 5246 §6.2.3
 *    and RFC 6347 §4.1: 2^14 + 2048; RFC 8446 §5.2 and RFC 9147 §4 for the
 *    DTLS 1.3 unified header: 2^14 + 256), the limit itself is a length;
 *  - random bytes (and random bytes behind plausible headers): no crash, only
 *    documented results, never 0 once a whole header is there (a stream
 *    reader would wait forever), a positive result is stable on the prefix it
 *    names, and opening that prefix fails cleanly.
 * Every buffer is an exact-size allocation (ASan sees any over-read).
 *
 * Usage: reclen PROTO AEAD */
#include "engine_util.h"

static enum zrec_proto proto;
static enum zrec_aead_id aead;
static uint8_t cid_len;
static const struct zrec_aead_provider *prov;
static struct keymat km;
static uint64_t seed;

static long reclen_exact(const struct zrec_session *s, const uint8_t *p, size_t n)
{
    uint8_t *c = xdup(p, n);
    long r = zrec_record_length(s, c, n);
    free(c);
    return r;
}

/* Bytes of one of our records needed to know its length. */
static size_t need_of(void)
{
    return len_off_of(proto, cid_len) + 2;
}

static void prefixes(struct zrec_session *a, struct zrec_session *b)
{
    static const size_t sizes[] = {0, 1, 100, 1400, 16384};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        uint8_t *payload = xmalloc(sizes[i]), *rec;
        test_fill(payload, sizes[i], &seed);
        int rlen = seal_contig(a, ZREC_CT_APPLICATION_DATA, payload, sizes[i], &rec, NULL);
        CHECK(rlen > 0, "seal: %s", err_name(rlen));
        for (size_t k = 0; k <= (size_t)rlen; k++) {
            /* The big record: all short prefixes, then a sample. */
            if (k > 64 && k < (size_t)rlen - 2 && test_rand(&seed) % 64)
                continue;
            long r = reclen_exact(b, rec, k);
            long want = k < need_of() ? 0 : rlen;
            EXPECT(r == want, "L %zu: record_length of a %zu-byte prefix of a %d-byte record "
                   "is %ld, want %ld", sizes[i], k, rlen, r, want);
        }
        uint8_t *more = xmalloc((size_t)rlen + 37);
        memcpy(more, rec, (size_t)rlen);
        test_fill(more + rlen, 37, &seed);
        long r = zrec_record_length(b, more, (size_t)rlen + 37);
        EXPECT(r == rlen, "record followed by more bytes: %ld, want %d", r, rlen);
        free(more);
        free(rec);
        free(payload);
    }
}

/* Back-to-back records in one buffer (a TLS byte stream, or a DTLS datagram
 * carrying several records, RFC 6347 §4.1 / RFC 9147 §4). */
static void stream(void)
{
    enum { NR = 24 };
    /* Fresh sessions: TLS sequence numbers are implicit. */
    struct zrec_session *a = mk_session(proto, aead, prov, &km, cid_len, SIDE_A, 0);
    struct zrec_session *b = mk_session(proto, aead, prov, &km, cid_len, SIDE_B, 0);
    uint8_t *payload[NR];
    size_t plen[NR], total = 0;
    uint8_t *recs[NR];
    int rlen[NR];
    for (int i = 0; i < NR; i++) {
        plen[i] = test_rand(&seed) % 3 == 0 ? test_rand(&seed) % 16 : test_rand(&seed) % 2000;
        payload[i] = xmalloc(plen[i]);
        test_fill(payload[i], plen[i], &seed);
        rlen[i] = seal_contig(a, ZREC_CT_APPLICATION_DATA, payload[i], plen[i], &recs[i], NULL);
        CHECK(rlen[i] > 0, "seal");
        total += (size_t)rlen[i];
    }
    uint8_t *buf = xmalloc(total);
    size_t off = 0;
    for (int i = 0; i < NR; i++) {
        memcpy(buf + off, recs[i], (size_t)rlen[i]);
        off += (size_t)rlen[i];
    }
    off = 0;
    for (int i = 0; i < NR; i++) {
        long r = zrec_record_length(b, buf + off, total - off);
        EXPECT(r == rlen[i], "stream record %d at offset %zu: length %ld, want %d", i, off, r,
               rlen[i]);
        if (r != rlen[i])
            break;
        uint8_t *plain, type;
        int n = zrec_open_record(b, buf + off, (size_t)r, &plain, &type);
        EXPECT(n == (int)plen[i] && memcmp(plain, payload[i], plen[i]) == 0,
               "stream record %d: open gave %s", i, err_name(n));
        off += (size_t)r;
    }
    EXPECT(off == total, "stream walked %zu of %zu bytes", off, total);
    zrec_session_free(a);
    zrec_session_free(b);
    free(buf);
    for (int i = 0; i < NR; i++) {
        free(recs[i]);
        free(payload[i]);
    }
}

static void lengths(struct zrec_session *a, struct zrec_session *b)
{
    uint8_t payload[32], *rec;
    test_fill(payload, sizeof payload, &seed);
    int rlen = seal_contig(a, ZREC_CT_APPLICATION_DATA, payload, sizeof payload, &rec, NULL);
    CHECK(rlen > 0, "seal");
    size_t lo = len_off_of(proto, cid_len), hdr = lo + 2, max = max_ct_of(proto);
    static const size_t over[] = {1, 2, 255, 256, 2048, 0x7fff, 0x8000, 0xffff};
    for (size_t i = 0; i < sizeof over / sizeof *over; i++) {
        size_t v = over[i] < 0x1000 ? max + over[i] : over[i];
        if (v > 0xffff || v <= max)
            continue;
        uint8_t *h = xdup(rec, hdr);
        h[lo] = (uint8_t)(v >> 8);
        h[lo + 1] = (uint8_t)v;
        long r = zrec_record_length(b, h, hdr);
        EXPECT(r == -EMSGSIZE, "length field %zu (limit %zu): record_length %ld, want -EMSGSIZE",
               v, max, r);
        free(h);
    }
    uint8_t *h = xdup(rec, hdr);
    h[lo] = (uint8_t)(max >> 8);
    h[lo + 1] = (uint8_t)max;
    long r = zrec_record_length(b, h, hdr);
    EXPECT(r == (long)(hdr + max), "length field at the limit %zu: %ld", max, r);
    h[lo] = h[lo + 1] = 0;
    r = zrec_record_length(b, h, hdr);
    /* A header with nothing behind it cannot hold a tag: -EPROTO, or the
     * length (the open will refuse it). */
    EXPECT(r == (long)hdr || r == -EPROTO, "zero length field: %ld", r);
    free(h);
    if (proto == ZREC_DTLS13) {
        /* RFC 9147 §4: without the L bit the record runs to the end of the
         * datagram; its length is then the bytes there, under the same
         * 2^14 + 256 limit. */
        size_t nolen = hdr - 2;
        for (size_t extra = max - 1; extra <= max + 1; extra++) {
            uint8_t *d = xmalloc(nolen + extra);
            memcpy(d, rec, nolen);
            d[0] &= (uint8_t)~0x04;
            test_fill(d + nolen, extra, &seed);
            r = zrec_record_length(b, d, nolen + extra);
            long want = extra > max ? -EMSGSIZE : (long)(nolen + extra);
            EXPECT(r == want, "unified header without length, %zu bytes of ciphertext (limit "
                   "%zu): record_length %ld, want %s", extra, max, r,
                   want < 0 ? err_name((int)want) : "the datagram's length");
            free(d);
        }
    }
    free(rec);
}

/* Where the length field of the header at buf is and the largest value it
 * may hold, or 0 when there is none in the available bytes. */
static size_t length_limit(const uint8_t *buf, size_t avail, size_t *lo)
{
    if (avail == 0)
        return 0;
    if (proto == ZREC_TLS12 || proto == ZREC_TLS13) {
        *lo = 3;
    } else if (proto == ZREC_DTLS13 && (buf[0] & 0xe0) == 0x20) {
        if (!(buf[0] & 0x04))
            return 0; /* no length field: the record runs to the datagram's end */
        *lo = 1 + ((buf[0] & 0x10) ? cid_len : 0) + ((buf[0] & 0x08) ? 2 : 1);
        if (avail < *lo + 2)
            return 0;
        return 16384 + 256; /* RFC 9147 §4 / RFC 8446 §5.2 */
    } else {
        *lo = 11 + (buf[0] == 25 ? cid_len : 0);
    }
    if (avail < *lo + 2)
        return 0;
    /* DTLS 1.3 sessions also see DTLSPlaintext headers (handshake, alerts,
     * ACKs): held to the DTLS 1.2 bound only. */
    return proto == ZREC_TLS13 ? 16384 + 256 : 16384 + 2048;
}

static struct zrec_session *fresh_receiver(unsigned i)
{
    (void)i;
    return mk_session(proto, aead, prov, &km, cid_len, SIDE_B, 0);
}

static void random_bytes(void)
{
    /* Enough bytes for any header this session can be sent. */
    size_t full = is_dtls(proto) ? 13u + cid_len : 5u;
    struct zrec_session *b = fresh_receiver(0);
    unsigned long n = 0, by[8] = {0}, opens = 0, open_errs[8] = {0};
    for (unsigned it = 0; it < 40000; it++) {
        size_t avail;
        switch (test_rand(&seed) % 4) {
        case 0:
            avail = test_rand(&seed) % 8;
            break;
        case 1:
            avail = test_rand(&seed) % 40;
            break;
        default:
            avail = test_rand(&seed) % 400;
            break;
        }
        uint8_t *buf = xmalloc(avail);
        test_fill(buf, avail, &seed);
        bool plausible = false;
        if (avail) {
            switch (test_rand(&seed) % 4) {
            case 0:
                break; /* all random */
            case 1:
                buf[0] = (uint8_t)(20 + test_rand(&seed) % 7);
                break;
            default:
                if (proto == ZREC_DTLS13)
                    buf[0] = (uint8_t)(0x20 | (test_rand(&seed) & 0x1f));
                else if (proto == ZREC_DTLS12)
                    buf[0] = cid_len ? 25 : 23;
                else
                    buf[0] = 23;
                plausible = true;
                break;
            }
        }
        /* Plausible headers: fixed fields right and a length that matches
         * the bytes, so that the open gets as far as the AEAD. */
        size_t lo = len_off_of(proto, cid_len);
        if (plausible && avail >= lo + 2) {
            if (proto == ZREC_TLS12 || proto == ZREC_TLS13) {
                buf[1] = buf[2] = 3;
            } else if (proto == ZREC_DTLS12) {
                buf[1] = 0xfe;
                buf[2] = 0xfd;
                buf[3] = 0;
                buf[4] = default_epoch(proto);
                memcpy(buf + 11, km.cid_b, cid_len);
            } else {
                buf[0] = (uint8_t)(0x2c | (cid_len ? 0x10 : 0) | (test_rand(&seed) % 4 ? 3 : 0));
                memcpy(buf + 1, km.cid_b, cid_len);
            }
            if (test_rand(&seed) % 4) {
                size_t v = avail - lo - 2;
                buf[lo] = (uint8_t)(v >> 8);
                buf[lo + 1] = (uint8_t)v;
            }
        }
        long r = zrec_record_length(b, buf, avail);
        n++;
        EXPECT(r >= 0 || r == -EPROTO || r == -EMSGSIZE, "record_length gave %ld", r);
        by[r > 0 ? 0 : r == 0 ? 1 : r == -EPROTO ? 2 : r == -EMSGSIZE ? 3 : 4]++;
        /* 0 means "need more bytes": never once a whole header is there. */
        EXPECT(r != 0 || avail < full, "record_length 0 with %zu bytes (header %02x)", avail,
               avail ? buf[0] : 0);
        if (r > 0 && (size_t)r <= avail) {
            long r2 = zrec_record_length(b, buf, (size_t)r);
            EXPECT(r2 == r, "record_length %ld on %zu bytes but %ld on its own %ld", r, avail,
                   r2, r);
        }
        /* A length over the protocol limit is never reported as a record. */
        size_t vlo, limit = length_limit(buf, avail, &vlo);
        if (r > 0 && limit) {
            size_t v = (size_t)buf[vlo] << 8 | buf[vlo + 1];
            EXPECT(v <= limit,
                   "header %02x with length field %zu over the limit %zu: record_length %ld, "
                   "want -EMSGSIZE", buf[0], v, limit, r);
        }
        /* Whatever it names, opening it fails cleanly. */
        if (r > 0 && (size_t)r <= avail && (plausible || test_rand(&seed) % 8 == 0)) {
            if (!is_dtls(proto)) {
                zrec_session_free(b);
                b = fresh_receiver(it);
            } else if (zrec_session_events(b) & ZREC_EV_FATAL) {
                /* The CCM_8 integrity limit (RFC 9147 §4.5.3) was reached. */
                zrec_session_free(b);
                b = fresh_receiver(it);
            }
            uint8_t *c = xdup(buf, (size_t)r);
            struct zrec_op op = {.sess = b, .data = c, .len = (uint32_t)r};
            zrec_open_burst(&op, 1);
            opens++;
            EXPECT(err_in(op.status, E_BADMSG | E_PROTO | E_MSGSIZE | E_ALREADY | E_STALE),
                   "open of %ld random bytes behind header %02x: %s", r, buf[0],
                   err_name(op.status));
            unsigned e = err_bit(op.status);
            for (int k = 0; k < 6; k++)
                open_errs[k] += (e >> k) & 1;
            free(c);
        }
        free(buf);
    }
    zrec_session_free(b);
    printf("  %lu random headers: %lu lengths, %lu need-more, %lu EPROTO, %lu EMSGSIZE, %lu "
           "other; %lu opens: EBADMSG %lu EPROTO %lu EMSGSIZE %lu ESTALE %lu EALREADY %lu\n",
           n, by[0], by[1], by[2], by[3], by[4], opens, open_errs[0], open_errs[1],
           open_errs[2], open_errs[3], open_errs[4]);
}

static void run(void)
{
    keymat_new(&km, &seed);
    struct zrec_session *a = mk_session(proto, aead, prov, &km, cid_len, SIDE_A, 0);
    struct zrec_session *b = mk_session(proto, aead, prov, &km, cid_len, SIDE_B, 0);
    prefixes(a, b);
    stream();
    lengths(a, b);
    EXPECT(zrec_record_length(b, (const uint8_t *)"", 0) == 0, "no bytes: 0");
    zrec_session_free(a);
    zrec_session_free(b);
    random_bytes();
}

int main(int argc, char **argv)
{
    parse_args(argc, argv, &proto, &aead);
    prov = zrec_provider_default();
    seed = 0x7ec10000u + (uint64_t)proto * 16 + aead;
    printf("seed %llu\n", (unsigned long long)seed);
    cid_len = 0;
    run();
    if (is_dtls(proto)) {
        cid_len = 8;
        printf("with an 8-byte connection ID:\n");
        run();
    }
    return eu_finish("reclen", argv[1], argv[2]);
}
