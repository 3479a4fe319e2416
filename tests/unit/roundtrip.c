/* Seal/open round trips for one protocol × AEAD on every provider: sizes
 * 0..2^14, bursts that mix sessions, sequence/epoch bookkeeping, record
 * lengths, and the error paths of the op contract. */
#include <stdbool.h>

#include "../common.h"

static const struct zrec_aead_provider *providers[2];

static size_t tag_len_of(enum zrec_aead_id aead)
{
    return aead == ZREC_AES_128_CCM_8 ? 8 : 16;
}

static void one_size(struct test_pair *t, size_t len, uint64_t *seed)
{
    struct zrec_overhead o;
    CHECK(zrec_session_overhead(t->a, &o) == 0, "overhead");
    uint8_t *buf = malloc(o.headroom + len + o.tailroom);
    uint8_t *ref = malloc(len + 1);
    test_fill(ref, len, seed);
    memcpy(buf + o.headroom, ref, len);
    uint8_t *rec;
    int rlen = zrec_seal_record(t->a, ZREC_CT_APPLICATION_DATA, buf + o.headroom, len,
                                o.headroom, o.tailroom, &rec);
    CHECK(rlen > 0, "seal len %zu: %d", len, rlen);
    CHECK(rec == buf, "record starts at the headroom start (%p vs %p)", (void *)rec, (void *)buf);
    CHECK(zrec_record_length(t->b, rec, (size_t)rlen) == rlen, "record_length");
    CHECK(zrec_record_length(t->b, rec, 2) == 0 || zrec_session_proto(t->b) >= ZREC_DTLS12,
          "record_length needs more bytes");
    if (len >= 16)
        CHECK(memcmp(rec + o.headroom, ref, 16) != 0, "payload is encrypted in place");
    uint8_t *plain, type = 0;
    int plen = zrec_open_record(t->b, rec, (size_t)rlen, &plain, &type);
    CHECK(plen == (int)len, "open len %zu: %d", len, plen);
    CHECK(type == ZREC_CT_APPLICATION_DATA, "type %u", type);
    CHECK(memcmp(plain, ref, len) == 0, "plaintext intact at len %zu", len);
    CHECK(plain == buf + o.headroom, "plaintext left in place");
    free(buf);
    free(ref);
}

static void mixed_burst(enum zrec_proto proto, enum zrec_aead_id aead, uint64_t *seed)
{
    enum { NS = 4, N = 32 };
    struct test_pair t[NS];
    for (int i = 0; i < NS; i++)
        t[i] = test_pair_new(proto, aead, providers[0], providers[i & 1], seed, 0);
    struct zrec_overhead o;
    zrec_session_overhead(t[0].a, &o);
    static uint8_t bufs[N][1400 + 64], refs[N][1400];
    struct zrec_op ops[N];
    size_t lens[N];
    for (int i = 0; i < N; i++) {
        lens[i] = test_rand(seed) % 1400;
        test_fill(refs[i], lens[i], seed);
        memcpy(bufs[i] + o.headroom, refs[i], lens[i]);
        ops[i] = (struct zrec_op){.sess = t[i % NS].a, .data = bufs[i] + o.headroom,
                                  .len = (uint32_t)lens[i], .headroom = o.headroom,
                                  .tailroom = o.tailroom,
                                  .content_type = ZREC_CT_APPLICATION_DATA};
    }
    CHECK(zrec_seal_burst(ops, N) == N, "seal burst");
    for (int i = 0; i < N; i++) {
        CHECK(ops[i].status == 0, "op %d status %d", i, ops[i].status);
        /* Sequence numbers are assigned in burst order per session. */
        CHECK(ops[i].seq == (uint64_t)(i / NS), "op %d seq %llu", i,
              (unsigned long long)ops[i].seq);
        ops[i] = (struct zrec_op){.sess = t[i % NS].b, .data = ops[i].rec, .len = ops[i].rec_len};
    }
    CHECK(zrec_open_burst(ops, N) == N, "open burst");
    for (int i = 0; i < N; i++) {
        CHECK(ops[i].status == 0 && ops[i].rec_len == lens[i], "open op %d", i);
        CHECK(memcmp(ops[i].rec, refs[i], lens[i]) == 0, "op %d plaintext", i);
    }
    /* One bad op in a burst does not stop the others. */
    uint8_t b1[64 + 100], b2[64 + 100];
    ops[0] = (struct zrec_op){.sess = t[0].a, .data = b1 + o.headroom, .len = 10,
                              .headroom = 0, .tailroom = o.tailroom,
                              .content_type = ZREC_CT_APPLICATION_DATA};
    ops[1] = (struct zrec_op){.sess = t[1].a, .data = b2 + o.headroom, .len = 10,
                              .headroom = o.headroom, .tailroom = o.tailroom,
                              .content_type = ZREC_CT_APPLICATION_DATA};
    CHECK(zrec_seal_burst(ops, 2) == 1, "one of two");
    CHECK(ops[0].status == -ENOSPC && ops[1].status == 0, "statuses %d %d", ops[0].status,
          ops[1].status);
    for (int i = 0; i < NS; i++)
        test_pair_free(&t[i]);
}

/* Scattered seal/open: through the AEAD's incremental interface, no copy,
 * except CCM which has none (one counted bounce per record). */
static void scattered(enum zrec_proto proto, enum zrec_aead_id aead, uint64_t *seed)
{
    struct test_pair t = test_pair_new(proto, aead, providers[0], providers[0], seed, 0);
    struct zrec_overhead o;
    zrec_session_overhead(t.a, &o);
    enum { L = 3000 };
    static uint8_t buf[ZREC_MAX_HEADROOM + L + 64], ref[L];
    test_fill(ref, L, seed);
    memcpy(buf + o.headroom, ref, L);
    /* Three segments, contiguous in memory so the tailroom follows the last. */
    struct zrec_seg seg[3] = {{buf + o.headroom, 1000}, {buf + o.headroom + 1000, 1},
                              {buf + o.headroom + 1001, L - 1001}};
    struct zrec_stats before, after;
    zrec_stats_get(&before);
    struct zrec_op op = {.sess = t.a, .seg = seg, .nseg = 3, .headroom = o.headroom,
                         .tailroom = o.tailroom, .content_type = ZREC_CT_APPLICATION_DATA};
    CHECK(zrec_seal_burst(&op, 1) == 1, "scattered seal: %d", op.status);
    struct zrec_seg rseg[2] = {{op.rec, 7}, {op.rec + 7, op.rec_len - 7}};
    struct zrec_op ro = {.sess = t.b, .seg = rseg, .nseg = 2};
    CHECK(zrec_open_burst(&ro, 1) == 1, "scattered open: %d", ro.status);
    CHECK(ro.rec_len == L && ro.rec_off == o.headroom && memcmp(ro.rec, ref, L) == 0,
          "scattered plaintext in place");
    zrec_stats_get(&after);
    bool ccm = aead == ZREC_AES_128_CCM || aead == ZREC_AES_128_CCM_8;
    CHECK(after.sg_bounce_copies - before.sg_bounce_copies == (ccm ? 2u : 0u),
          "bounce copies: %lu", after.sg_bounce_copies - before.sg_bounce_copies);
    test_pair_free(&t);
}

/* Copy-on-crypt: seal from a separate source buffer and open into a
 * separate destination, as the socket facade does. */
static void copy_on_crypt(enum zrec_proto proto, enum zrec_aead_id aead, uint64_t *seed)
{
    uint8_t m1[64], m2[64];
    test_fill(m1, sizeof m1, seed);
    test_fill(m2, sizeof m2, seed);
    uint16_t epoch = proto == ZREC_DTLS12 ? 1 : proto == ZREC_DTLS13 ? 3 : 0;
    /* Two senders with the same keys: one in place, one copy-on-encrypt. */
    struct zrec_session *inplace = test_session(proto, aead, providers[0], NULL, 0, NULL, 0);
    struct zrec_session *cow = test_session(proto, aead, providers[0], NULL, 0, NULL, 0);
    struct zrec_session *rx = test_session(proto, aead, providers[1], NULL, 0, NULL, 0);
    test_keys(inplace, m1, m2, 0, epoch);
    test_keys(cow, m1, m2, 0, epoch);
    test_keys(rx, m2, m1, 0, epoch);
    struct zrec_overhead o;
    zrec_session_overhead(cow, &o);
    static const size_t lens[] = {0, 1, 15, 64, 1400, 16384};
    static uint8_t a[ZREC_MAX_HEADROOM + ZREC_MAX_PLAINTEXT + 64];
    static uint8_t b[ZREC_MAX_HEADROOM + ZREC_MAX_PLAINTEXT + 64];
    static uint8_t src[ZREC_MAX_PLAINTEXT], dst[ZREC_MAX_PLAINTEXT + 64];
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        size_t len = lens[i];
        test_fill(src, len, seed);
        memcpy(a + o.headroom, src, len);
        struct zrec_stats before, after;
        zrec_stats_get(&before);
        struct zrec_op op[2] = {
            {.sess = inplace, .data = a + o.headroom, .len = (uint32_t)len,
             .headroom = o.headroom, .tailroom = o.tailroom,
             .content_type = ZREC_CT_APPLICATION_DATA},
            {.sess = cow, .data = b + o.headroom, .len = (uint32_t)len, .src = src,
             .headroom = o.headroom, .tailroom = o.tailroom,
             .content_type = ZREC_CT_APPLICATION_DATA},
        };
        CHECK(zrec_seal_burst(&op[0], 1) == 1 && zrec_seal_burst(&op[1], 1) == 1, "seal");
        zrec_stats_get(&after);
        CHECK(op[0].rec_len == op[1].rec_len && memcmp(op[0].rec, op[1].rec, op[0].rec_len) == 0,
              "copy-on-encrypt gives the in-place record (len %zu)", len);
        bool ccm = aead == ZREC_AES_128_CCM || aead == ZREC_AES_128_CCM_8;
        bool inner = proto == ZREC_TLS13 || proto == ZREC_DTLS13;
        CHECK(after.sg_bounce_copies - before.sg_bounce_copies == (ccm && inner ? 1u : 0u),
              "copies %lu", after.sg_bounce_copies - before.sg_bounce_copies);
        /* A destination too small is refused with nothing consumed and no
         * plaintext left in it: with room for less than the content, or
         * (without a provider that opens into two places, or past
         * ZREC_OPEN_SPILL_MAX) for less than the ciphertext. */
        size_t ct = op[1].rec_len - o.headroom - tag_len_of(aead);
        bool split = inner && !ccm; /* the inner type may miss dst */
        size_t too_small[3] = {len ? len - 1 : 0, ct > ZREC_OPEN_SPILL_MAX ? ct - ZREC_OPEN_SPILL_MAX - 1 : 0,
                               split ? 0 : (ct ? ct - 1 : 0)};
        uint8_t saved[64];
        memcpy(saved, op[1].rec, op[1].rec_len < 64 ? op[1].rec_len : 64);
        for (int k = 0; k < 3; k++) {
            if (ct == 0 || too_small[k] == 0 || (k == 0 && len == 0))
                continue;
            memset(dst, 0xee, sizeof dst);
            struct zrec_op ro = {.sess = rx, .data = op[1].rec, .len = op[1].rec_len,
                                 .dst = dst, .dst_cap = (uint32_t)too_small[k]};
            CHECK(zrec_open_burst(&ro, 1) == 0 && ro.status == -ENOBUFS,
                  "len %zu, dst %zu of %zu: %d", len, too_small[k], ct, ro.status);
            CHECK(zrec_session_seq(rx, ZREC_DIR_READ) == i, "nothing consumed");
            for (size_t b = 0; b + 4 <= len && b + 4 <= too_small[k]; b += 4)
                CHECK(memcmp(dst + b, src + b, 4) != 0, "no plaintext left in dst at %zu", b);
        }
        /* Room for the content only (TLS 1.3 / DTLS 1.3: not for the inner
         * type) where the provider opens into two places, else for the
         * ciphertext: opened into dst. */
        memset(dst, 0xee, sizeof dst);
        struct zrec_op ro = {.sess = rx, .data = op[1].rec, .len = op[1].rec_len, .dst = dst,
                             .dst_cap = (uint32_t)(split ? len : ct)};
        CHECK(zrec_open_burst(&ro, 1) == 1, "open into dst: %d", ro.status);
        CHECK(ro.rec == dst && ro.rec_len == len && memcmp(dst, src, len) == 0 &&
                  ro.content_type == ZREC_CT_APPLICATION_DATA,
              "plaintext in dst (len %zu)", len);
        CHECK(!split || dst[len] == 0xee, "nothing written past dst_cap");
        CHECK(memcmp(saved, op[1].rec, op[1].rec_len < 64 ? op[1].rec_len : 64) == 0,
              "the record's ciphertext is left alone");
        CHECK(zrec_session_seq(rx, ZREC_DIR_READ) == i + 1, "consumed");
    }
    /* A forged record opened into dst: dst holds no plaintext afterwards. */
    memcpy(a + o.headroom, src, 1400);
    uint8_t *rec;
    int n = zrec_seal_record(inplace, ZREC_CT_APPLICATION_DATA, a + o.headroom, 1400, o.headroom,
                             o.tailroom, &rec);
    CHECK(n > 0, "seal");
    rec[n - 1] ^= 1;
    memset(dst, 0xee, sizeof dst);
    struct zrec_op bad = {.sess = rx, .data = rec, .len = (uint32_t)n, .dst = dst,
                          .dst_cap = sizeof dst};
    CHECK(zrec_open_burst(&bad, 1) == 0 && bad.status == -EBADMSG, "forged: %d", bad.status);
    for (size_t k = 0; k + 8 <= 1400; k += 8)
        CHECK(memcmp(dst + k, src + k, 8) != 0, "no plaintext left in dst at %zu", k);
    zrec_session_free(inplace);
    zrec_session_free(cow);
    zrec_session_free(rx);
}

static void contract(enum zrec_proto proto, enum zrec_aead_id aead, uint64_t *seed)
{
    struct test_pair t = test_pair_new(proto, aead, providers[0], providers[0], seed, 0);
    struct zrec_overhead o;
    zrec_session_overhead(t.a, &o);
    static uint8_t big[ZREC_MAX_PLAINTEXT + 512];
    uint8_t *rec;
    CHECK(zrec_seal_record(t.a, ZREC_CT_APPLICATION_DATA, big + o.headroom,
                           ZREC_MAX_PLAINTEXT + 1, o.headroom, o.tailroom, &rec) == -EMSGSIZE,
          "over 2^14");
    /* An empty payload needs the full advertised tailroom in every format
     * (DTLS 1.3 with CCM_8 pads it to the 16-byte sample). */
    CHECK(zrec_seal_record(t.a, ZREC_CT_APPLICATION_DATA, big + o.headroom, 0, o.headroom,
                           o.tailroom - 1, &rec) == -ENOSPC, "tailroom");
    CHECK(zrec_seal_record(t.a, ZREC_CT_APPLICATION_DATA, big + o.headroom, 10, o.headroom - 1,
                           o.tailroom, &rec) == -ENOSPC, "headroom");
    CHECK(zrec_seal_record(t.a, 99, big + o.headroom, 10, o.headroom, o.tailroom, &rec) ==
              -EINVAL, "bad content type");
    /* A session without keys. */
    struct zrec_session *nk = test_session(proto, aead, providers[0], NULL, 0, NULL, 0);
    CHECK(zrec_seal_record(nk, ZREC_CT_APPLICATION_DATA, big + o.headroom, 10, o.headroom,
                           o.tailroom, &rec) == -ENOKEY, "no key");
    zrec_session_free(nk);
    /* Alerts: close_notify reaches the peer as an event. */
    uint8_t abuf[128];
    int n = zrec_seal_alert(t.a, ZREC_ALERT_WARNING, ZREC_ALERT_CLOSE_NOTIFY, abuf, sizeof abuf);
    CHECK(n > 0, "seal alert %d", n);
    uint8_t *p, type;
    CHECK(zrec_open_record(t.b, abuf, (size_t)n, &p, &type) == 2 && type == ZREC_CT_ALERT,
          "open alert");
    CHECK(zrec_session_events(t.b) & ZREC_EV_PEER_CLOSED, "close_notify event");
    n = zrec_seal_alert(t.b, ZREC_ALERT_FATAL, 40, abuf, sizeof abuf);
    CHECK(n > 0 && zrec_open_record(t.a, abuf, (size_t)n, &p, &type) == 2, "fatal alert");
    CHECK((zrec_session_events(t.a) & ZREC_EV_PEER_ALERT) && zrec_session_peer_alert(t.a) == 40,
          "peer alert recorded");
    /* After sending a fatal alert only alerts may be sealed. */
    CHECK(zrec_seal_record(t.b, ZREC_CT_APPLICATION_DATA, big + o.headroom, 10, o.headroom,
                           o.tailroom, &rec) == -EPIPE, "sealing after fatal alert");
    printf("footprint %s/%s: %zu bytes\n", zrec_proto_name(proto), zrec_aead_name(aead),
           zrec_session_footprint(t.a));
    test_pair_free(&t);
}

int main(int argc, char **argv)
{
    enum zrec_proto proto;
    enum zrec_aead_id aead;
    if (argc != 3 || test_proto_from_name(argv[1], &proto) || test_aead_from_name(argv[2], &aead)) {
        fprintf(stderr, "usage: %s PROTO AEAD\n", argv[0]);
        return 2;
    }
    providers[0] = zrec_provider_default();
    providers[1] = zrec_provider_wolfcrypt();
    uint64_t seed = 0x5eed0000u + (uint64_t)proto * 16 + aead;
    printf("seed %llu\n", (unsigned long long)seed);
    static const size_t sizes[] = {0, 1, 7, 15, 16, 17, 64, 255, 1400, 4095, 16383, 16384};
    for (int pa = 0; pa < 2; pa++)
        for (int pb = 0; pb < 2; pb++)
            for (uint8_t cid = 0; cid <= ((proto == ZREC_DTLS12 || proto == ZREC_DTLS13) ? 8 : 0);
                 cid += 8) {
                struct test_pair t =
                    test_pair_new(proto, aead, providers[pa], providers[pb], &seed, cid);
                for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
                    one_size(&t, sizes[i], &seed);
                for (int i = 0; i < 50; i++)
                    one_size(&t, test_rand(&seed) % (ZREC_MAX_PLAINTEXT + 1), &seed);
                CHECK(zrec_session_seq(t.a, ZREC_DIR_WRITE) == 62, "tx seq counts records");
                test_pair_free(&t);
            }
    mixed_burst(proto, aead, &seed);
    scattered(proto, aead, &seed);
    copy_on_crypt(proto, aead, &seed);
    contract(proto, aead, &seed);
    printf("ok %s %s\n", zrec_proto_name(proto), zrec_aead_name(aead));
    return 0;
}
