/* Differential test of the two AEAD providers, through the whole record
 * layer, contiguous and scatter-gather.
 *
 * Four senders share one set of keys (and CIDs): ipsec-mb contiguous,
 * ipsec-mb scattered, wolfCrypt contiguous, wolfCrypt scattered.  Every AEAD
 * zrec supports is deterministic (nonce = IV xor sequence number, RFC 8446
 * §5.3, RFC 5288 §3, RFC 6655 §3, RFC 7905 §2), so for the same sequence
 * number the four records must be byte-identical: that holds ipsec-mb against
 * wolfCrypt (the reference) and scattered sealing against contiguous sealing.
 * The ipsec-mb records are then opened by wolfCrypt sessions and the wolfCrypt
 * records by ipsec-mb sessions, half of them split into random segments
 * (splits inside the header and the tag, 1-byte segments, empty segments).
 *
 * Segments live in one arena separated by canary bytes: sealing may write only
 * the header room before seg[0], the segments and the tail room after the
 * last segment; opening only the segments (zrec.h, struct zrec_op).
 *
 * Usage: differential PROTO AEAD.  Skips (77) without intel-ipsec-mb. */
#include "engine_util.h"
#include "test_provider.h"

static enum zrec_proto proto;
static enum zrec_aead_id aead;
static uint8_t cid_len;
static uint16_t epoch;

static char sender_name[4][64];

/* Every third contiguous record is sealed copy-on-encrypt (op.src: the
 * payload read from the caller's buffer) and opened into a separate
 * destination (op.dst): the same bytes must come out. */
static int seal_contig_cow(struct zrec_session *s, const uint8_t *payload, size_t len,
                           uint8_t **rec, struct zrec_op *out)
{
    struct zrec_overhead o;
    CHECK(zrec_session_overhead(s, &o) == 0, "overhead");
    uint8_t *buf = xmalloc((size_t)o.headroom + len + o.tailroom);
    uint8_t *src = xdup(payload, len);
    memset(buf, 0xa5, (size_t)o.headroom + len + o.tailroom);
    struct zrec_op op = {.sess = s, .data = buf + o.headroom, .len = (uint32_t)len,
                         .headroom = o.headroom, .tailroom = o.tailroom, .src = src,
                         .content_type = ZREC_CT_APPLICATION_DATA};
    zrec_seal_burst(&op, 1);
    EXPECT(len == 0 || memcmp(src, payload, len) == 0, "copy-on-encrypt changed its source");
    int rc = op.status;
    *rec = rc == 0 ? xdup(op.rec, op.rec_len) : NULL;
    if (rc == 0)
        rc = (int)op.rec_len;
    *out = op;
    free(src);
    free(buf);
    return rc;
}

/* Seal payload[0..L) split over random segments.  Returns the record length
 * (the record, gathered, in *rec) or a negative errno. */
static int seal_scattered(struct zrec_session *s, const uint8_t *payload, size_t L,
                          uint8_t **rec, struct zrec_op *out, uint64_t *seed)
{
    struct zrec_overhead o;
    CHECK(zrec_session_overhead(s, &o) == 0, "overhead");
    uint32_t lens[SG_MAX];
    unsigned n;
    if (L == 0) {
        /* An empty payload still needs a segment to anchor header and tail. */
        n = 1 + (unsigned)(test_rand(seed) % 2);
        for (unsigned i = 0; i < n; i++)
            lens[i] = 0;
    } else {
        n = random_cuts(L, lens, NULL, 0, true, seed);
    }
    /* Extra head/tail room the engine may not touch beyond what it needs. */
    size_t xh = test_rand(seed) % 4, xt = test_rand(seed) % 4;
    struct sg g;
    sg_layout(&g, lens, n, o.headroom + xh + test_rand(seed) % 4,
              o.tailroom + xt + test_rand(seed) % 4, seed);
    sg_scatter(&g, payload);
    struct zrec_op op = {.sess = s, .seg = g.seg, .nseg = (uint16_t)n,
                         .headroom = (uint16_t)(o.headroom + xh),
                         .tailroom = (uint16_t)(o.tailroom + xt),
                         .content_type = ZREC_CT_APPLICATION_DATA};
    zrec_seal_burst(&op, 1);
    *out = op;
    *rec = NULL;
    if (op.status != 0) {
        sg_free(&g);
        return op.status;
    }
    size_t H = hdr_len_of(proto, aead, cid_len);
    uint8_t *end = g.seg[n - 1].base + g.seg[n - 1].len;
    EXPECT(op.rec == g.seg[0].base - H, "scattered seal: header right before seg[0] (%ld)",
           (long)(g.seg[0].base - op.rec));
    EXPECT(op.rec_len >= H + L, "scattered seal: rec_len %u", op.rec_len);
    if (op.rec != g.seg[0].base - H || op.rec_len < H + L) {
        sg_free(&g);
        return -1000;
    }
    size_t tail = op.rec_len - H - L;
    long bad = sg_clobbered(&g, op.rec, H, end, tail);
    EXPECT(bad < 0, "scattered seal wrote outside header room/segments/tail room at arena "
           "offset %ld (nseg %u, L %zu)", bad, n, L);
    uint8_t *r = xmalloc(op.rec_len);
    memcpy(r, op.rec, H);
    sg_gather(&g, 0, r + H, L);
    memcpy(r + H + L, end, tail);
    *rec = r;
    sg_free(&g);
    return (int)op.rec_len;
}

/* The record header, checked field by field against the RFCs. */
static void check_header(const uint8_t *r, size_t rlen, const uint8_t *tx_cid, uint64_t seq)
{
    size_t lo = len_off_of(proto, cid_len);
    size_t lenfield = (size_t)r[lo] << 8 | r[lo + 1];
    switch (proto) {
    case ZREC_TLS12:
    case ZREC_TLS13:
        /* RFC 5246 §6.2.1 / RFC 8446 §5.2: application_data, 0x0303. */
        EXPECT(r[0] == 23 && r[1] == 3 && r[2] == 3, "TLS header %02x %02x %02x", r[0], r[1],
               r[2]);
        EXPECT(lenfield == rlen - 5, "length field %zu of a %zu-byte record", lenfield, rlen);
        break;
    case ZREC_DTLS12: {
        /* RFC 6347 §4.1: type, {254, 253}, epoch, 48-bit sequence number;
         * RFC 9146 §4: type tls12_cid (25) and the CID when one is used. */
        EXPECT(r[0] == (cid_len ? 25 : 23) && r[1] == 0xfe && r[2] == 0xfd,
               "DTLS 1.2 header %02x %02x %02x", r[0], r[1], r[2]);
        EXPECT(((unsigned)r[3] << 8 | r[4]) == epoch, "epoch field");
        uint64_t sq = 0;
        for (int i = 5; i < 11; i++)
            sq = sq << 8 | r[i];
        EXPECT(sq == seq, "sequence field %llu, want %llu", (unsigned long long)sq,
               (unsigned long long)seq);
        EXPECT(memcmp(r + 11, tx_cid, cid_len) == 0, "CID field");
        EXPECT(lenfield == rlen - 13 - cid_len, "length field %zu of a %zu-byte record",
               lenfield, rlen);
        break;
    }
    default:
        /* RFC 9147 §4: 001CSLEE with S=1 (16-bit sequence number), L=1, and
         * the low two bits of the epoch. */
        EXPECT(r[0] == (0x2c | (cid_len ? 0x10 : 0) | (epoch & 3)), "DTLS 1.3 header %02x",
               r[0]);
        EXPECT(memcmp(r + 1, tx_cid, cid_len) == 0, "CID field");
        EXPECT(lenfield == rlen - 5 - cid_len, "length field %zu of a %zu-byte record", lenfield,
               rlen);
        break;
    }
}

/* Check an opened record: status, length, type, sequence number, epoch. */
static bool check_opened(const struct zrec_op *op, int k, size_t L, uint64_t seq)
{
    bool ok = op->status == 0;
    EXPECT(op->status == 0, "%s record %llu (L %zu) opened by the other provider (%s): %s",
           sender_name[k], (unsigned long long)seq, L, k & 1 ? "scattered" : "contiguous",
           err_name(op->status));
    if (!ok)
        return false;
    EXPECT(op->rec_len == L, "%s: opened rec_len %u, want %zu", sender_name[k], op->rec_len, L);
    EXPECT(op->content_type == ZREC_CT_APPLICATION_DATA, "content type %u", op->content_type);
    EXPECT(op->seq == seq, "opened seq %llu, want %llu", (unsigned long long)op->seq,
           (unsigned long long)seq);
    if (is_dtls(proto))
        EXPECT(op->epoch == epoch, "opened epoch %u, want %u", op->epoch, epoch);
    return op->rec_len == L;
}

static size_t pick_len(unsigned i, uint64_t *seed)
{
    static const size_t edges[] = {0, 1, 15, 16, 17, 16383, 16384};
    if (i < sizeof edges / sizeof *edges)
        return edges[i];
    switch (test_rand(seed) % 3) {
    case 0:
        return test_rand(seed) % (ZREC_MAX_PLAINTEXT + 1);
    case 1:
        return test_rand(seed) % 1501;
    default:
        return test_rand(seed) % 65;
    }
}

static void run(const struct zrec_aead_provider *mb, const struct zrec_aead_provider *wc,
                unsigned nrec, uint64_t *seed)
{
    struct keymat km;
    keymat_new(&km, seed);
    const struct zrec_aead_provider *sp[4] = {mb, mb, wc, wc};
    struct zrec_session *snd[4], *rcv[4];
    for (int k = 0; k < 4; k++) {
        snd[k] = mk_session(proto, aead, sp[k], &km, cid_len, SIDE_A, 0);
        /* The other provider opens. */
        rcv[k] = mk_session(proto, aead, sp[k] == mb ? wc : mb, &km, cid_len, SIDE_B, 0);
    }
    size_t H = hdr_len_of(proto, aead, cid_len);
    unsigned identical = 0;
    for (unsigned i = 0; i < nrec; i++) {
        size_t L = pick_len(i, seed);
        uint8_t *payload = xmalloc(L);
        test_fill(payload, L, seed);
        uint8_t *rec[4];
        int rlen[4];
        size_t want = rec_len_of(proto, aead, cid_len, L);
        for (int k = 0; k < 4; k++) {
            struct zrec_op op;
            rlen[k] = (k & 1)      ? seal_scattered(snd[k], payload, L, &rec[k], &op, seed)
                      : i % 3 == 2 ? seal_contig_cow(snd[k], payload, L, &rec[k], &op)
                                   : seal_contig(snd[k], ZREC_CT_APPLICATION_DATA, payload, L,
                                                 &rec[k], &op);
            EXPECT(rlen[k] == (int)want, "%s seal of %zu bytes: %s (want a %zu-byte record)",
                   sender_name[k], L, err_name(rlen[k]), want);
            if (rlen[k] > 0) {
                EXPECT(op.seq == i, "%s: sealed seq %llu, want %u", sender_name[k],
                       (unsigned long long)op.seq, i);
                if (is_dtls(proto))
                    EXPECT(op.epoch == epoch, "sealed epoch %u", op.epoch);
            }
        }
        if (rlen[0] > 0) {
            check_header(rec[0], (size_t)rlen[0], km.cid_b, i);
            bool same = true;
            for (int k = 1; k < 4; k++) {
                if (rlen[k] <= 0)
                    continue;
                bool eq = rlen[k] == rlen[0] && memcmp(rec[k], rec[0], (size_t)rlen[0]) == 0;
                EXPECT(eq, "record %u (L %zu): %s differs from %s", i, L, sender_name[k],
                       sender_name[0]);
                same = same && eq;
            }
            identical += same;
        }
        for (int k = 0; k < 4; k++) {
            if (rlen[k] <= 0)
                continue;
            if (k & 1) {
                struct sg g;
                struct zrec_op op = open_scattered(rcv[k], rec[k], (size_t)rlen[k], H,
                                                   tag_len_of(aead), &g, seed);
                if (check_opened(&op, k, L, i)) {
                    uint8_t *got = xmalloc(L);
                    sg_gather(&g, H, got, L);
                    EXPECT(memcmp(got, payload, L) == 0,
                           "%s record %u: plaintext in the segments is wrong (nseg %u)",
                           sender_name[k], i, g.nseg);
                    /* zrec.h: the plaintext is rec_off (= the received
                     * header length) bytes into the record, and rec points at
                     * that byte in whichever segment holds it. */
                    EXPECT(op.rec_off == H, "scattered open: rec_off %u, header length %zu",
                           op.rec_off, H);
                    const uint8_t *first = NULL;
                    size_t at = H;
                    for (unsigned q = 0; q < g.nseg && first == NULL; q++) {
                        if (at < g.seg[q].len)
                            first = g.seg[q].base + at;
                        else
                            at -= g.seg[q].len;
                    }
                    EXPECT(L == 0 || op.rec == first,
                           "scattered open: rec is not the first plaintext byte "
                           "(nseg %u, seg[0].len %u)", g.nseg, g.seg[0].len);
                    free(got);
                }
                long bad = sg_clobbered(&g, NULL, 0, NULL, 0);
                EXPECT(bad < 0, "scattered open wrote outside the segments (arena offset %ld)",
                       bad);
                sg_free(&g);
            } else if (i % 3 == 1) {
                /* Into a separate destination; the record is not written. */
                uint8_t *copy = xdup(rec[k], (size_t)rlen[k]);
                uint8_t *dst = xmalloc(L + 32);
                struct zrec_op op = {.sess = rcv[k], .data = copy, .len = (uint32_t)rlen[k],
                                     .dst = dst, .dst_cap = (uint32_t)(L + 32)};
                zrec_open_burst(&op, 1);
                if (check_opened(&op, k, L, i)) {
                    EXPECT(op.rec == dst, "plaintext not at dst");
                    EXPECT(memcmp(dst, payload, L) == 0, "%s record %u: plaintext at dst wrong",
                           sender_name[k], i);
                    EXPECT(memcmp(copy, rec[k], (size_t)rlen[k]) == 0,
                           "%s record %u: open to dst wrote into the record", sender_name[k], i);
                }
                free(dst);
                free(copy);
            } else {
                uint8_t *copy;
                struct zrec_op op = open_copy(rcv[k], rec[k], (size_t)rlen[k], &copy);
                if (check_opened(&op, k, L, i)) {
                    EXPECT(op.rec == copy + H, "plaintext left in place");
                    EXPECT(memcmp(copy + H, payload, L) == 0, "%s record %u: plaintext wrong",
                           sender_name[k], i);
                }
                free(copy);
            }
            free(rec[k]);
        }
        free(payload);
    }
    for (int k = 0; k < 4; k++) {
        EXPECT(zrec_session_seq(snd[k], ZREC_DIR_WRITE) == nrec, "tx seq");
        zrec_session_free(snd[k]);
        zrec_session_free(rcv[k]);
    }
    printf("  cid %u: %u records, %u byte-identical across the four senders\n", cid_len, nrec,
           identical);
}

/* Usage: differential PROTO AEAD [PROVIDER]: PROVIDER (default ipsecmb; or
 * testprov / testprov-inplace, the mandatory-slots-only provider of
 * test_provider.c) is held against wolfCrypt. */
int main(int argc, char **argv)
{
    const char *name = argc == 4 ? argv[3] : "ipsecmb";
    parse_args(argc == 4 ? 3 : argc, argv, &proto, &aead);
    const struct zrec_aead_provider *mb = test_provider_by_name(name);
    if (mb == NULL)
        mb = zrec_provider_by_name(name);
    const struct zrec_aead_provider *wc = zrec_provider_wolfcrypt();
    if (mb == NULL) {
        printf("SKIP: provider %s not built\n", name);
        return 77;
    }
    for (int k = 0; k < 4; k++)
        snprintf(sender_name[k], sizeof sender_name[k], "%s/%s",
                 zrec_provider_name(k < 2 ? mb : wc), k & 1 ? "scattered" : "contiguous");
    unsigned long calls0 = test_provider_calls();
    struct zrec_stats st0, st1;
    zrec_stats_get(&st0);
    uint64_t seed = 0xd1ff0000u + (uint64_t)proto * 16 + aead;
    printf("seed %llu, %s against %s\n", (unsigned long long)seed, zrec_provider_name(mb),
           zrec_provider_name(wc));
    epoch = default_epoch(proto);
    if (is_dtls(proto)) {
        /* With and without a connection ID (RFC 9146, RFC 9147 §9). */
        cid_len = 0;
        run(mb, wc, 150, &seed);
        cid_len = 8;
        run(mb, wc, 150, &seed);
    } else {
        cid_len = 0;
        run(mb, wc, 300, &seed);
    }
    zrec_stats_get(&st1);
    if (test_provider_by_name(name) != NULL) {
        /* The records really went through it, and its missing slots through
         * the engine's generic code (bounce copies for scattered records). */
        unsigned long calls = test_provider_calls() - calls0;
        printf("%s: %lu seal/open calls; %llu bounce copies\n", name, calls,
               (unsigned long long)(st1.sg_bounce_copies - st0.sg_bounce_copies));
        EXPECT(calls >= 1200, "%s saw only %lu calls", name, calls);
        EXPECT(st1.sg_bounce_copies - st0.sg_bounce_copies >= 300,
               "scattered records through %s without the bounce path?", name);
    }
    return eu_finish("differential", argv[1], argv[2]);
}
