/*
 * The key cache: records byte-identical to the uncached path under constant
 * eviction, keys wiped.
 *
 *   keycache PROTO AEAD
 *
 * 150 session pairs run twice: once owning their contexts (the reference)
 * and once on one shared 64-entry key cache (600 keys for 64 entries: most
 * records miss).  Bursts of 1..40 records name random pairs (repeats
 * included) in both directions; every record sealed through the cache must
 * be byte-identical to the reference's, and open (through the cache) to the
 * same plaintext.  TLS 1.3 and DTLS 1.3 pairs also go through KeyUpdates
 * (DTLS 1.3 with its ACK and the previous epoch's key kept, RFC 9147 §8),
 * which must drop the old key's entry.  At the end: hits, misses and
 * evictions all happened; the cache refuses to go while sessions use it;
 * once they are freed no entry holds a context and every context's memory
 * is zero past its header (white-box: keys wiped on eviction and free).
 */
#include "engine_util.h"
#include "internal.h" /* white-box: the cache's entries */

enum { PAIRS = 150, ROUNDS = 400, MAXB = 40 };

static enum zrec_proto proto;
static enum zrec_aead_id aead;

struct twin {
    struct zrec_session *a, *b; /* A seals to B and back */
};

static struct zrec_session *session(const struct keymat *km, enum side side,
                                    struct zrec_key_cache *cache)
{
    struct zrec_session_params p = {
        .proto = proto, .aead = aead,
        .hash = aead == ZREC_AES_256_GCM ? ZREC_SHA384 : ZREC_SHA256,
        .key_cache = cache,
    };
    struct zrec_session *s = zrec_session_new(&p);
    CHECK(s != NULL, "zrec_session_new: %s", strerror(errno));
    uint16_t e = default_epoch(proto);
    install_dir(s, ZREC_DIR_WRITE, side == SIDE_A ? km->m1 : km->m2, 0, e);
    install_dir(s, ZREC_DIR_READ, side == SIDE_A ? km->m2 : km->m1, 0, e);
    return s;
}

/* Seal the same payloads from ref[] and cached[] senders (one burst each),
 * compare the records, open them at the receivers, compare the plaintext. */
static void burst(struct zrec_session **ref_tx, struct zrec_session **ref_rx,
                  struct zrec_session **c_tx, struct zrec_session **c_rx, unsigned n,
                  const size_t *len, uint8_t type, uint64_t *seed)
{
    struct zrec_overhead o;
    CHECK(zrec_session_overhead(ref_tx[0], &o) == 0, "overhead");
    size_t stride = o.headroom + ZREC_MAX_PLAINTEXT + o.tailroom;
    uint8_t *buf[2], *payload = xmalloc(ZREC_MAX_PLAINTEXT * n + 1);
    struct zrec_op ops[2][MAXB];
    for (int w = 0; w < 2; w++)
        buf[w] = xmalloc(stride * n);
    test_fill(payload, ZREC_MAX_PLAINTEXT * n, seed);
    for (int w = 0; w < 2; w++) {
        for (unsigned i = 0; i < n; i++) {
            uint8_t *d = buf[w] + i * stride + o.headroom;
            memcpy(d, payload + i * ZREC_MAX_PLAINTEXT, len[i]);
            ops[w][i] = (struct zrec_op){.sess = w ? c_tx[i] : ref_tx[i], .data = d,
                                         .len = (uint32_t)len[i], .headroom = o.headroom,
                                         .tailroom = o.tailroom, .content_type = type};
        }
        EXPECT(zrec_seal_burst(ops[w], n) == n, "%s seal burst of %u",
               w ? "cached" : "reference", n);
    }
    for (unsigned i = 0; i < n; i++) {
        EXPECT(ops[1][i].rec_len == ops[0][i].rec_len &&
                   memcmp(ops[1][i].rec, ops[0][i].rec, ops[0][i].rec_len) == 0,
               "record %u of the burst (%zu bytes, seq %llu): cached differs from uncached", i,
               len[i], (unsigned long long)ops[0][i].seq);
    }
    for (int w = 0; w < 2; w++) {
        for (unsigned i = 0; i < n; i++)
            ops[w][i] = (struct zrec_op){.sess = w ? c_rx[i] : ref_rx[i], .data = ops[w][i].rec,
                                         .len = ops[w][i].rec_len};
        EXPECT(zrec_open_burst(ops[w], n) == n, "%s open burst of %u",
               w ? "cached" : "reference", n);
        for (unsigned i = 0; i < n; i++)
            EXPECT(ops[w][i].status == 0 && ops[w][i].rec_len == len[i] &&
                       memcmp(ops[w][i].rec, payload + i * ZREC_MAX_PLAINTEXT, len[i]) == 0,
                   "%s open of record %u: %s", w ? "cached" : "reference", i,
                   err_name(ops[w][i].status));
    }
    free(payload);
    free(buf[0]);
    free(buf[1]);
}

/* A KeyUpdate from tx to rx, on both twins, byte-compared (TLS 1.3: the keys
 * move at once; DTLS 1.3: rx keeps the old epoch's key until a record of the
 * new one, tx moves when rx's ACK arrives). */
static void key_update(struct twin *ref, struct twin *cached, bool from_a)
{
    uint8_t rec[2][256], ack[2][256];
    int len[2], alen[2];
    struct twin *t[2] = {ref, cached};
    for (int w = 0; w < 2; w++) {
        struct zrec_session *tx = from_a ? t[w]->a : t[w]->b;
        struct zrec_session *rx = from_a ? t[w]->b : t[w]->a;
        len[w] = zrec_seal_key_update(tx, false, rec[w], sizeof rec[w]);
        CHECK(len[w] > 0, "seal KeyUpdate: %d", len[w]);
        struct zrec_op op = {.sess = rx, .data = rec[w], .len = (uint32_t)len[w]};
        zrec_open_burst(&op, 1);
        EXPECT(op.status == 0 && op.content_type == ZREC_CT_HANDSHAKE, "open KeyUpdate: %s",
               err_name(op.status));
        if (proto == ZREC_DTLS13) {
            alen[w] = zrec_seal_ack(rx, ack[w], sizeof ack[w]);
            CHECK(alen[w] > 0, "seal ACK: %d", alen[w]);
            struct zrec_op aop = {.sess = tx, .data = ack[w], .len = (uint32_t)alen[w]};
            zrec_open_burst(&aop, 1);
            EXPECT(aop.status == 0, "open ACK: %s", err_name(aop.status));
        }
    }
    EXPECT(len[0] == len[1] && memcmp(rec[0], rec[1], (size_t)len[0]) == 0,
           "KeyUpdate records differ");
    if (proto == ZREC_DTLS13)
        EXPECT(alen[0] == alen[1] && memcmp(ack[0], ack[1], (size_t)alen[0]) == 0,
               "ACK records differ");
}

int main(int argc, char **argv)
{
    parse_args(argc, argv, &proto, &aead);
    uint64_t seed = 0xcace0000u + (uint64_t)proto * 16 + aead;
    struct zrec_key_cache *cache = zrec_key_cache_new(64);
    CHECK(cache != NULL, "zrec_key_cache_new");
    errno = 0;
    EXPECT(zrec_key_cache_new(0) == NULL && errno == EINVAL, "a cache of 0 entries");
    struct twin ref[PAIRS], cached[PAIRS];
    for (unsigned i = 0; i < PAIRS; i++) {
        struct keymat km;
        keymat_new(&km, &seed);
        ref[i] = (struct twin){session(&km, SIDE_A, NULL), session(&km, SIDE_B, NULL)};
        cached[i] = (struct twin){session(&km, SIDE_A, cache), session(&km, SIDE_B, cache)};
        EXPECT(zrec_session_footprint(cached[i].a) < zrec_session_footprint(ref[i].a),
               "a cached session holds no contexts (%zu vs %zu bytes)",
               zrec_session_footprint(cached[i].a), zrec_session_footprint(ref[i].a));
    }
    bool rekeys = proto == ZREC_TLS13 || proto == ZREC_DTLS13;
    unsigned updates = 0;
    for (unsigned r = 0; r < ROUNDS; r++) {
        unsigned n = 1 + (unsigned)(test_rand(&seed) % MAXB);
        struct zrec_session *rt[MAXB], *rr[MAXB], *ct[MAXB], *cr[MAXB];
        size_t len[MAXB];
        bool a_to_b = r & 1;
        for (unsigned i = 0; i < n; i++) {
            /* Skewed: a few pairs often, the rest now and then. */
            unsigned k = test_rand(&seed) % 4 == 0 ? (unsigned)(test_rand(&seed) % 4)
                                                   : (unsigned)(test_rand(&seed) % PAIRS);
            rt[i] = a_to_b ? ref[k].a : ref[k].b;
            rr[i] = a_to_b ? ref[k].b : ref[k].a;
            ct[i] = a_to_b ? cached[k].a : cached[k].b;
            cr[i] = a_to_b ? cached[k].b : cached[k].a;
            uint64_t x = test_rand(&seed) % 16;
            len[i] = x == 0 ? ZREC_MAX_PLAINTEXT : (size_t)(test_rand(&seed) % 300);
        }
        burst(rt, rr, ct, cr, n, len, ZREC_CT_APPLICATION_DATA, &seed);
        if (rekeys && r % 10 == 9) {
            unsigned k = (unsigned)(test_rand(&seed) % PAIRS);
            key_update(&ref[k], &cached[k], test_rand(&seed) & 1);
            updates++;
        }
    }
    /* White-box, the pass guard: every entry just used (second chance
     * set), the hand on pair 0's write key, which a burst then uses first;
     * the next record of the burst misses.  The sweep clears every entry's
     * chance and comes back to pair 0's entry: it must pass over it (in use
     * by this burst) instead of re-keying it under the first record. */
    for (unsigned t = 1; t < PAIRS; t++) {
        struct zrec_session *s0 = cached[0].a, *s1 = cached[t].a;
        if (s1->tx.key_id == cache->e[s1->tx.slot & cache->mask].key_id)
            continue; /* resident: not a miss */
        size_t len[2] = {100, 100};
        struct zrec_session *rt[2] = {ref[0].a, ref[0].a}, *rr[2] = {ref[0].b, ref[0].b};
        struct zrec_session *ct[2] = {s0, s0}, *cr[2] = {cached[0].b, cached[0].b};
        burst(rt, rr, ct, cr, 1, len, ZREC_CT_APPLICATION_DATA, &seed); /* pair 0 resident */
        for (unsigned i = 0; i <= cache->mask; i++)
            cache->e[i].ref = 1;
        cache->hand = s0->tx.slot & cache->mask;
        rt[1] = ref[t].a;
        rr[1] = ref[t].b;
        ct[1] = s1;
        cr[1] = cached[t].b;
        burst(rt, rr, ct, cr, 2, len, ZREC_CT_APPLICATION_DATA, &seed);
        break;
    }

    struct zrec_key_cache_stats st;
    zrec_key_cache_stats(cache, &st);
    printf("%u pairs, %u rounds, %u KeyUpdates: %llu hits, %llu misses, %llu evictions, "
           "%u/%u entries used, %zu bytes\n",
           PAIRS, ROUNDS, updates, (unsigned long long)st.hits, (unsigned long long)st.misses,
           (unsigned long long)st.evictions, st.used, st.entries, st.bytes);
    EXPECT(st.entries == 64 && st.hits > 0 && st.misses > 1000 && st.evictions > 1000,
           "the cache was exercised");
    EXPECT(zrec_key_cache_free(cache) == -EBUSY, "freeing a cache in use");
    for (unsigned i = 0; i < PAIRS; i++) {
        zrec_session_free(ref[i].a);
        zrec_session_free(ref[i].b);
        zrec_session_free(cached[i].a);
        zrec_session_free(cached[i].b);
    }
    zrec_key_cache_stats(cache, &st);
    EXPECT(st.used == 0, "%u entries still hold a context after every session was freed",
           st.used);
    unsigned wiped = 0;
    for (unsigned i = 0; i <= cache->mask; i++) {
        const struct zrec_kc_entry *e = &cache->e[i];
        if (e->ctx == NULL)
            continue;
        const uint8_t *p = (const uint8_t *)e->ctx;
        size_t size = zrec__aead_footprint(e->ctx);
        bool zero = true;
        for (size_t b = sizeof(struct zrec_aead_ctx); b < size; b++)
            zero = zero && p[b] == 0;
        EXPECT(zero && e->key_id == 0, "entry %u: context memory not wiped", i);
        wiped += zero;
    }
    EXPECT(wiped > 0, "no context memory left to check");
    EXPECT(zrec_key_cache_free(cache) == 0, "freeing the idle cache");
    return eu_finish("keycache", argv[1], argv[2]);
}
