/* DTLS replay protection, reordering, epochs and DTLS 1.3 sequence number
 * reconstruction.
 *
 *  - Duplicates are dropped with -EALREADY and their plaintext is not
 *    delivered a second time (RFC 6347 §4.1.2.6, RFC 9147 §4.5.1).
 *  - Records reordered within the 64-record window are accepted exactly once;
 *    records left of the window are dropped (-EALREADY), including right at
 *    its edge, and after a jump of more than 64 the whole window is fresh.
 *  - A record of another epoch is refused with -ESTALE (RFC 6347 §4.1,
 *    RFC 9147 §4.2.1) and the session goes on.
 *  - Only authenticated records move the window (RFC 6347 §4.1.2.6: "the
 *    receive window is updated only if the MAC verification succeeds"): a
 *    forgery carrying a fresh or far-ahead sequence number must leave the
 *    genuine records with those numbers acceptable.
 *  - DTLS 1.3 sends the low 16 bits of the sequence number (RFC 9147 §4);
 *    the receiver reconstructs the full number as the one closest to one plus
 *    the highest deprotected so far (§4.2.2).  More than 2^16 records are
 *    sealed and opened, with loss, a long gap, duplicates and reordering,
 *    across the 2^16 and 2^32 boundaries, and every op.seq is checked.
 *
 * Usage: replay PROTO AEAD (dtls12 or dtls13) */
#include "engine_util.h"

static enum zrec_proto proto;
static enum zrec_aead_id aead;
static uint8_t cid_len;
static uint16_t epoch;
static const struct zrec_aead_provider *provs[2];
static struct keymat km;
static uint64_t seed;

struct stored {
    uint8_t *rec;
    int len;
    uint8_t payload[128];
    size_t L;
    uint64_t seq;
};

static void seal_stored(struct zrec_session *a, struct stored *st)
{
    st->L = 16 + test_rand(&seed) % 100;
    test_fill(st->payload, st->L, &seed);
    struct zrec_op op;
    st->len = seal_contig(a, ZREC_CT_APPLICATION_DATA, st->payload, st->L, &st->rec, &op);
    CHECK(st->len > 0, "seal: %s", err_name(st->len));
    st->seq = op.seq;
}

/* Open a copy of a stored record and check the outcome against `want`
 * (0 or a negative errno).  A refused record must not show its plaintext. */
static int deliver(struct zrec_session *b, const struct stored *st, int want, const char *what)
{
    uint8_t *copy;
    struct zrec_op op = open_copy(b, st->rec, (size_t)st->len, &copy);
    EXPECT(op.status == want, "%s: record %llu gave %s, want %s", what,
           (unsigned long long)st->seq, err_name(op.status), err_name(want));
    if (op.status == 0) {
        EXPECT(op.seq == st->seq, "%s: opened seq %llu, want %llu", what,
               (unsigned long long)op.seq, (unsigned long long)st->seq);
        EXPECT(op.epoch == epoch, "%s: opened epoch %u", what, op.epoch);
        EXPECT(op.rec_len == st->L && memcmp(op.rec, st->payload, st->L) == 0,
               "%s: record %llu plaintext wrong", what, (unsigned long long)st->seq);
    } else {
        struct pt_index ix;
        pt_index_build(&ix, st->payload, st->L);
        long at = pt_exposed(&ix, copy, (size_t)st->len);
        EXPECT(at < 0, "%s: refused record %llu (%s) shows its plaintext at %ld", what,
               (unsigned long long)st->seq, err_name(op.status), at);
        pt_index_free(&ix);
    }
    free(copy);
    return op.status;
}

static void forge(struct stored *dst, const struct stored *src, size_t pos)
{
    *dst = *src;
    dst->rec = xdup(src->rec, (size_t)src->len);
    dst->rec[pos] ^= 0x40;
}

/* ------------------------------------------------------------------------
 * The window.
 * ---------------------------------------------------------------------- */

enum { N = 480 };

static void window(void)
{
    struct zrec_session *a = mk_session(proto, aead, provs[0], &km, cid_len, SIDE_A, 0);
    struct zrec_session *b = mk_session(proto, aead, provs[cid_len ? 1 : 0], &km, cid_len,
                                        SIDE_B, 0);
    static struct stored st[N];
    static unsigned accepted[N];
    static bool must_accept[N];
    memset(accepted, 0, sizeof accepted);
    for (int i = 0; i < N; i++) {
        seal_stored(a, &st[i]);
        must_accept[i] = true;
    }
    uint64_t hi = 0; /* highest accepted + 1 */
#define ACCEPT(i, what)                                                                    \
    do {                                                                                   \
        if (deliver(b, &st[i], 0, what) == 0)                                              \
            accepted[i]++;                                                                 \
        if ((uint64_t)(i) + 1 > hi)                                                        \
            hi = (uint64_t)(i) + 1;                                                        \
    } while (0)
#define REFUSE(i, what)                                                                    \
    do {                                                                                   \
        if (deliver(b, &st[i], -EALREADY, what) == 0)                                      \
            accepted[i]++;                                                                 \
    } while (0)

    /* 1. In order; every record replayed at once, and now and then an
     *    earlier one (inside the window, or left of it). */
    for (int i = 0; i < 50; i++) {
        ACCEPT(i, "in order");
        REFUSE(i, "immediate duplicate");
        if (test_rand(&seed) % 3 == 0)
            REFUSE((int)(test_rand(&seed) % (uint64_t)(i + 1)), "earlier duplicate");
    }
    /* 2. Blocks of 48 delivered in random order: all within the window. */
    for (int base = 50; base < 242; base += 48) {
        int order[48];
        for (int k = 0; k < 48; k++)
            order[k] = base + k;
        for (int k = 47; k > 0; k--) {
            int j = (int)(test_rand(&seed) % (uint64_t)(k + 1)), t = order[k];
            order[k] = order[j];
            order[j] = t;
        }
        for (int k = 0; k < 48; k++) {
            ACCEPT(order[k], "reordered within the window");
            if (test_rand(&seed) % 4 == 0) {
                int d = order[test_rand(&seed) % (uint64_t)(k + 1)];
                REFUSE(d, "duplicate of a reordered record");
            }
        }
    }
    /* 3. The left edge: hold 250 and 251 back until the highest accepted is
     *    314.  Then 250 is 64 behind (left of a 64-record window) and 251 is
     *    63 behind (its oldest slot). */
    for (int i = 242; i < 250; i++)
        ACCEPT(i, "in order");
    for (int i = 252; i <= 314; i++)
        ACCEPT(i, "in order past a gap");
    REFUSE(250, "64 behind the highest: left of the window");
    must_accept[250] = false;
    ACCEPT(251, "63 behind the highest: last slot of the window");
    REFUSE(251, "duplicate in the last slot");
    REFUSE(200, "long gone");
    /* 4. One burst carrying each of 315..330 twice: the first copy opens,
     *    the second is a duplicate, also within one burst. */
    {
        struct zrec_op ops[32];
        uint8_t *copies[32];
        int idx[32];
        for (int k = 0; k < 32; k++)
            idx[k] = 315 + k / 2;
        for (int k = 31; k > 0; k--) {
            int j = (int)(test_rand(&seed) % (uint64_t)(k + 1)), t = idx[k];
            idx[k] = idx[j];
            idx[j] = t;
        }
        for (int k = 0; k < 32; k++) {
            copies[k] = xdup(st[idx[k]].rec, (size_t)st[idx[k]].len);
            ops[k] = (struct zrec_op){.sess = b, .data = copies[k],
                                      .len = (uint32_t)st[idx[k]].len};
        }
        unsigned good = zrec_open_burst(ops, 32);
        EXPECT(good == 16, "burst with every record twice: %u opened, want 16", good);
        bool seen[16] = {false};
        for (int k = 0; k < 32; k++) {
            int r = idx[k] - 315;
            if (!seen[r]) {
                seen[r] = true;
                EXPECT(ops[k].status == 0 && ops[k].seq == st[idx[k]].seq,
                       "burst: first copy of %d gave %s", idx[k], err_name(ops[k].status));
                if (ops[k].status == 0)
                    accepted[idx[k]]++;
            } else {
                EXPECT(ops[k].status == -EALREADY, "burst: second copy of %d gave %s", idx[k],
                       err_name(ops[k].status));
                if (ops[k].status == 0)
                    accepted[idx[k]]++;
            }
            free(copies[k]);
        }
        hi = 331;
    }
    /* 5. A jump of more than the window: 331, then 399.  336..398 are within
     *    63 of 399 and were never seen: accepted; 332..335 are left of it. */
    ACCEPT(331, "in order");
    ACCEPT(399, "jump ahead by 68");
    for (int i = 398; i >= 332; i--) {
        if (i >= 336) {
            ACCEPT(i, "behind a jump, inside the window");
        } else {
            REFUSE(i, "behind a jump, left of the window");
            must_accept[i] = false;
        }
    }
    /* 6. The window's full width in reverse: 463 first, then 462 .. 400,
     *    which sit 1 .. 63 behind it; then 464 .. 479 in order. */
    for (int i = 463; i >= 400; i--)
        ACCEPT(i, "reverse order across the full window");
    for (int i = 464; i < N; i++)
        ACCEPT(i, "in order");
    for (int i = 0; i < N; i++)
        EXPECT(accepted[i] == (must_accept[i] ? 1u : 0u), "record %d accepted %u times", i,
               accepted[i]);
    EXPECT(zrec_session_seq(b, ZREC_DIR_READ) == hi, "read seq %llu, want %llu",
           (unsigned long long)zrec_session_seq(b, ZREC_DIR_READ), (unsigned long long)hi);

    /* 6. Forgeries do not move the window. */
    static struct stored f[100];
    for (int i = 0; i < 100; i++)
        seal_stored(a, &f[i]); /* seq N .. N + 99 */
    struct stored bad;
    forge(&bad, &f[0], (size_t)f[0].len - 1); /* tag */
    deliver(b, &bad, -EBADMSG, "forgery with the next sequence number");
    free(bad.rec);
    deliver(b, &f[0], 0, "genuine record after its forgery");
    forge(&bad, &f[99], (size_t)f[99].len - 1);
    deliver(b, &bad, -EBADMSG, "forgery 99 ahead");
    free(bad.rec);
    for (int i = 1; i < 99; i++)
        deliver(b, &f[i], 0, "genuine records below a forged far-ahead one");
    if (proto == ZREC_DTLS12) {
        /* A forged header sequence number (it is in the AAD, RFC 6347
         * §4.1.2.1) far in the future. */
        forge(&bad, &f[99], 5);
        bad.rec[5] = 0x01; /* seq 2^40 + ... */
        deliver(b, &bad, -EBADMSG, "forged sequence number 2^40");
        free(bad.rec);
    }
    deliver(b, &f[99], 0, "genuine record 99 ahead");
    /* A record from far ahead (30000, less than half the DTLS 1.3 16-bit
     * space) — forged first, then genuine. */
    uint64_t next = zrec_session_seq(a, ZREC_DIR_WRITE);
    struct zrec_session *far = mk_session_at(proto, aead, provs[0], &km, cid_len, SIDE_A,
                                             next + 30000, epoch, 0, epoch);
    struct stored fr;
    seal_stored(far, &fr);
    EXPECT(fr.seq == next + 30000, "far sender seq");
    forge(&bad, &fr, (size_t)fr.len - 1);
    deliver(b, &bad, -EBADMSG, "forgery 30000 ahead");
    free(bad.rec);
    struct stored g;
    seal_stored(a, &g);
    deliver(b, &g, 0, "genuine record after a forgery 30000 ahead");
    free(g.rec);
    seal_stored(a, &g);
    deliver(b, &fr, 0, "genuine record 30000 ahead");
    deliver(b, &g, -EALREADY, "record left behind by a genuine jump of 30000");
    free(g.rec);
    free(fr.rec);
    zrec_session_free(far);

    /* 7. Other epochs (sender keyed with the same keys, another epoch). */
    uint64_t base = zrec_session_seq(b, ZREC_DIR_READ);
    uint16_t others[3] = {(uint16_t)(epoch + 1), (uint16_t)(epoch + 2), (uint16_t)(epoch - 1)};
    for (int k = 0; k < 3; k++) {
        struct zrec_session *e = mk_session_at(proto, aead, provs[0], &km, cid_len, SIDE_A,
                                               base, others[k], 0, epoch);
        struct stored es;
        seal_stored(e, &es);
        char what[64];
        snprintf(what, sizeof what, "record of epoch %u (ours %u)", others[k], epoch);
        deliver(b, &es, -ESTALE, what);
        free(es.rec);
        zrec_session_free(e);
    }
    EXPECT(!(zrec_session_events(b) & ZREC_EV_FATAL), "other epochs made the session fatal");
    zrec_session_free(a);
    a = mk_session(proto, aead, provs[0], &km, cid_len, SIDE_A, base);
    seal_stored(a, &g);
    deliver(b, &g, 0, "genuine record after other epochs' records (same sequence number)");
    free(g.rec);

    for (int i = 0; i < N; i++)
        free(st[i].rec);
    for (int i = 0; i < 100; i++)
        free(f[i].rec);
    zrec_session_free(a);
    zrec_session_free(b);
#undef ACCEPT
#undef REFUSE
}

/* ------------------------------------------------------------------------
 * Long runs: loss, a long gap, duplicates, reordering; checked op.seq.
 * ---------------------------------------------------------------------- */

enum { BURST = 40, MAXL = 24 };

static void long_run(uint64_t start, uint64_t total, uint64_t gap_at, uint64_t gap_len)
{
    struct zrec_session *a = mk_session(proto, aead, provs[0], &km, cid_len, SIDE_A, start);
    struct zrec_session *b = mk_session(proto, aead, provs[1], &km, cid_len, SIDE_B, start);
    struct zrec_overhead o;
    zrec_session_overhead(a, &o);
    size_t cap = (size_t)o.headroom + MAXL + o.tailroom;
    static uint8_t bufs[BURST][ZREC_MAX_HEADROOM + MAXL + ZREC_MAX_TAILROOM];
    static uint8_t pay[BURST][MAXL];
    static uint8_t dcopy[2 * BURST][ZREC_MAX_HEADROOM + MAXL + ZREC_MAX_TAILROOM];
    unsigned long opened = 0, dropped = 0, dups = 0, wrong = 0;
    uint64_t hi = start; /* highest accepted + 1 */
    for (uint64_t base = start; base < start + total; base += BURST) {
        unsigned n = (unsigned)(start + total - base < BURST ? start + total - base : BURST);
        struct zrec_op ops[BURST];
        size_t lens[BURST];
        for (unsigned k = 0; k < n; k++) {
            lens[k] = test_rand(&seed) % (MAXL + 1);
            test_fill(pay[k], lens[k], &seed);
            memcpy(bufs[k] + o.headroom, pay[k], lens[k]);
            ops[k] = (struct zrec_op){.sess = a, .data = bufs[k] + o.headroom,
                                      .len = (uint32_t)lens[k], .headroom = o.headroom,
                                      .tailroom = (uint16_t)(cap - o.headroom - lens[k]),
                                      .content_type = ZREC_CT_APPLICATION_DATA};
        }
        CHECK(zrec_seal_burst(ops, n) == n, "seal burst at %llu", (unsigned long long)base);
        for (unsigned k = 0; k < n; k++)
            EXPECT(ops[k].seq == base + k, "sealed seq %llu, want %llu",
                   (unsigned long long)ops[k].seq, (unsigned long long)(base + k));
        if (base + n > gap_at && base < gap_at + gap_len) {
            dropped += n; /* the long gap: nothing of this burst arrives */
            continue;
        }
        /* Delivery order: shuffled half of the time; ~1/64 lost; ~1/64
         * duplicated (the copy goes after the original). */
        int order[2 * BURST], nd = 0;
        bool dup[2 * BURST];
        for (unsigned k = 0; k < n; k++) {
            if (test_rand(&seed) % 64 == 0) {
                dropped++;
                continue;
            }
            dup[nd] = false;
            order[nd++] = (int)k;
        }
        if (test_rand(&seed) % 2)
            for (int k = nd - 1; k > 0; k--) {
                int j = (int)(test_rand(&seed) % (uint64_t)(k + 1)), t = order[k];
                order[k] = order[j];
                order[j] = t;
            }
        int nreal = nd;
        for (int k = 0; k < nreal; k++)
            if (test_rand(&seed) % 64 == 0) {
                dup[nd] = true;
                order[nd++] = order[k];
            }
        struct zrec_op dops[2 * BURST];
        for (int k = 0; k < nd; k++) {
            const struct zrec_op *s = &ops[order[k]];
            memcpy(dcopy[k], s->rec, s->rec_len);
            dops[k] = (struct zrec_op){.sess = b, .data = dcopy[k], .len = s->rec_len};
        }
        zrec_open_burst(dops, (unsigned)nd);
        for (int k = 0; k < nd; k++) {
            int i = order[k];
            uint64_t want = base + (uint64_t)i;
            if (dup[k]) {
                dups++;
                EXPECT(dops[k].status == -EALREADY, "duplicate of %llu: %s",
                       (unsigned long long)want, err_name(dops[k].status));
                continue;
            }
            bool ok = dops[k].status == 0 && dops[k].seq == want && dops[k].epoch == epoch &&
                      dops[k].rec_len == lens[i] &&
                      memcmp(dops[k].rec, pay[i], lens[i]) == 0;
            wrong += !ok;
            EXPECT(ok, "record %llu: status %s, reconstructed seq %llu (epoch %u, len %u/%zu)",
                   (unsigned long long)want, err_name(dops[k].status),
                   (unsigned long long)dops[k].seq, dops[k].epoch, dops[k].rec_len, lens[i]);
            if (dops[k].status == 0) {
                opened++;
                if (want + 1 > hi)
                    hi = want + 1;
            }
        }
    }
    EXPECT(zrec_session_seq(b, ZREC_DIR_READ) == hi, "read seq %llu, want %llu",
           (unsigned long long)zrec_session_seq(b, ZREC_DIR_READ), (unsigned long long)hi);
    printf("  run from %llu: %llu sealed, %lu opened, %lu lost (gap of %llu at %llu), %lu "
           "duplicates, %lu wrong\n",
           (unsigned long long)start, (unsigned long long)total, opened, dropped,
           (unsigned long long)gap_len, (unsigned long long)gap_at, dups, wrong);
    zrec_session_free(a);
    zrec_session_free(b);
}

int main(int argc, char **argv)
{
    parse_args(argc, argv, &proto, &aead);
    if (!is_dtls(proto)) {
        printf("SKIP: replay protection is DTLS only\n");
        return 77;
    }
    provs[0] = zrec_provider_default();
    provs[1] = zrec_provider_wolfcrypt();
    seed = 0x4e9a0000u + (uint64_t)proto * 16 + aead;
    printf("seed %llu\n", (unsigned long long)seed);
    epoch = default_epoch(proto);
    for (cid_len = 0; cid_len <= 8; cid_len += 8) {
        keymat_new(&km, &seed);
        printf("cid %u: window\n", cid_len);
        window();
    }
    cid_len = 0;
    keymat_new(&km, &seed);
    if (proto == ZREC_DTLS13) {
        /* 82000 records from 0: crosses 2^16 (65536) with a gap of 12000
         * lost records (< 2^15, still reconstructible, §4.2.2) before it. */
        long_run(0, 82000, 50000, 12000);
        /* Across 2^32 with a CID. */
        cid_len = 8;
        long_run((1ull << 32) - 3000, 6000, (1ull << 32) - 2500, 1200);
    } else {
        /* DTLS 1.2 carries all 48 bits; a shorter run for reordering/loss. */
        long_run(0, 6000, 3000, 500);
        cid_len = 8;
        long_run((1ull << 32) - 3000, 6000, (1ull << 32) - 2500, 1200);
    }
    return eu_finish("replay", argv[1], argv[2]);
}
