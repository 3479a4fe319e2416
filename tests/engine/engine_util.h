/* Helpers shared by the engine's hostile-input and cross-provider tests
 * (the .c files of tests/engine).  Built on tests/common.h; everything here is static so
 * each program is self-contained.
 *
 * Conventions of these tests:
 *  - EXPECT() is a soft check: it counts and reports the failure (the first
 *    few of them) and the program goes on, so one wrong behaviour does not
 *    hide the others; eu_finish() turns any failure into exit status 1.
 *    CHECK() (common.h) is kept for set-up steps that make going on pointless.
 *  - Every buffer handed to the engine is an exact-size heap allocation, so
 *    AddressSanitizer catches a read or write one byte outside the record.
 */
#ifndef ZREC_TESTS_ENGINE_UTIL_H
#define ZREC_TESTS_ENGINE_UTIL_H

#include <stdbool.h>

#include "../common.h"

static unsigned long eu_failures;
static unsigned long eu_checks;

#define EXPECT(cond, ...)                                                                  \
    do {                                                                                   \
        eu_checks++;                                                                       \
        if (!(cond)) {                                                                     \
            if (eu_failures++ < 30) {                                                      \
                fprintf(stderr, "%s:%d: EXPECT(%s) failed: ", __FILE__, __LINE__, #cond);  \
                fprintf(stderr, __VA_ARGS__);                                              \
                fputc('\n', stderr);                                                       \
            }                                                                              \
        }                                                                                  \
    } while (0)

static inline int eu_finish(const char *kind, const char *proto, const char *aead)
{
    if (eu_failures) {
        fprintf(stderr, "FAIL %s %s %s: %lu of %lu checks failed\n", kind, proto, aead,
                eu_failures, eu_checks);
        return 1;
    }
    printf("ok %s %s %s (%lu checks)\n", kind, proto, aead, eu_checks);
    return 0;
}

static inline void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    CHECK(p != NULL, "out of memory (%zu bytes)", n);
    return p;
}

static inline uint8_t *xdup(const uint8_t *p, size_t n)
{
    uint8_t *q = xmalloc(n);
    if (n)
        memcpy(q, p, n);
    return q;
}

static inline bool is_dtls(enum zrec_proto p)
{
    return p == ZREC_DTLS12 || p == ZREC_DTLS13;
}

/* The epochs test_pair_new() uses: DTLS 1.2 application data is epoch 1
 * (RFC 6347 §4.1), DTLS 1.3 application data epoch 3 (RFC 9147 §6.1). */
static inline uint16_t default_epoch(enum zrec_proto p)
{
    return p == ZREC_DTLS12 ? 1 : p == ZREC_DTLS13 ? 3 : 0;
}

static inline size_t tag_len_of(enum zrec_aead_id a)
{
    return a == ZREC_AES_128_CCM_8 ? 8 : 16;
}

/* TLS 1.2 / DTLS 1.2 explicit nonce: 8 bytes for GCM (RFC 5288 §3) and CCM
 * (RFC 6655 §3), none for ChaCha20-Poly1305 (RFC 7905 §2). */
static inline size_t explicit_len_of(enum zrec_proto p, enum zrec_aead_id a)
{
    return (p == ZREC_TLS12 || p == ZREC_DTLS12) && a != ZREC_CHACHA20_POLY1305 ? 8 : 0;
}

/* Header bytes before the (cipher)text, explicit nonce included, computed
 * from the RFCs rather than asked from the engine. */
static inline size_t hdr_len_of(enum zrec_proto p, enum zrec_aead_id a, size_t cid)
{
    switch (p) {
    case ZREC_TLS12:
        return 5 + explicit_len_of(p, a); /* RFC 5246 §6.2.1 + nonce */
    case ZREC_TLS13:
        return 5; /* RFC 8446 §5.2 */
    case ZREC_DTLS12:
        return 13 + cid + explicit_len_of(p, a); /* RFC 6347 §4.1, RFC 9146 §4 */
    default:
        return 1 + cid + 2 + 2; /* RFC 9147 §4: 001CSLEE, CID, 16-bit seq, length */
    }
}

/* The length of a sealed record with an L-byte application_data payload. */
static inline size_t rec_len_of(enum zrec_proto p, enum zrec_aead_id a, size_t cid, size_t L)
{
    size_t tag = tag_len_of(a), h = hdr_len_of(p, a, cid);
    switch (p) {
    case ZREC_TLS12:
        return h + L + tag;
    case ZREC_TLS13:
        return h + L + 1 + tag; /* TLSInnerPlaintext: content || type */
    case ZREC_DTLS12:
        return h + L + (cid ? 1 : 0) + tag; /* RFC 9146 §4: DTLSInnerPlaintext */
    default: {
        /* RFC 9147 §4.2.3: the ciphertext must cover the 16-byte sample;
         * short plaintexts are padded. */
        size_t ct = L + 1 + tag;
        return h + (ct < 16 ? 16 : ct);
    }
    }
}

/* Largest legal value of the record length field (ciphertext bytes after
 * the header).  RFC 5246 §6.2.3 / RFC 6347 §4.1: 2^14 + 2048; RFC 8446 §5.2
 * and RFC 9147 §4 (DTLS 1.3 uses TLS 1.3's limit): 2^14 + 256. */
static inline size_t max_ct_of(enum zrec_proto p)
{
    return (p == ZREC_TLS13 || p == ZREC_DTLS13) ? 16384 + 256 : 16384 + 2048;
}

/* Offset of the 2-byte length field in a header we sealed. */
static inline size_t len_off_of(enum zrec_proto p, size_t cid)
{
    switch (p) {
    case ZREC_TLS12:
    case ZREC_TLS13:
        return 3;
    case ZREC_DTLS12:
        return 11 + cid;
    default:
        return 3 + cid;
    }
}

/* ------------------------------------------------------------------------
 * Key material and sessions
 * ---------------------------------------------------------------------- */

/* Everything test_pair_new() draws at random, kept so that several sessions
 * with identical keys (and CIDs) can be built: the deterministic AEAD then
 * makes their records byte-identical. */
struct keymat {
    uint8_t m1[64], m2[64];       /* side A's write (= B's read) material, and reverse */
    uint8_t cid_a[32], cid_b[32]; /* the CID each side expects in records it receives */
};

static inline void keymat_new(struct keymat *k, uint64_t *seed)
{
    test_fill(k->m1, sizeof k->m1, seed);
    test_fill(k->m2, sizeof k->m2, seed);
    test_fill(k->cid_a, sizeof k->cid_a, seed);
    test_fill(k->cid_b, sizeof k->cid_b, seed);
}

static inline void install_dir(struct zrec_session *s, enum zrec_dir dir, const uint8_t *mat,
                               uint64_t seq, uint16_t epoch)
{
    enum zrec_proto proto = zrec_session_proto(s);
    struct zrec_traffic_keys k = {.seq = seq, .epoch = epoch};
    if (proto == ZREC_TLS13 || proto == ZREC_DTLS13) {
        k.secret = mat;
        k.secret_len = zrec_session_aead(s) == ZREC_AES_256_GCM ? 48 : 32;
    } else {
        k.key = mat;
        k.iv = mat + 32;
    }
    int rc = zrec_session_set_keys(s, dir, &k);
    CHECK(rc == 0, "set_keys: %d", rc);
}

enum side { SIDE_A, SIDE_B };

/* A session of one side of the key material with explicit write/read
 * sequence numbers and epochs. */
static inline struct zrec_session *mk_session_at(enum zrec_proto proto, enum zrec_aead_id aead,
                                                 const struct zrec_aead_provider *prov,
                                                 const struct keymat *k, uint8_t cid_len,
                                                 enum side side, uint64_t wseq, uint16_t wepoch,
                                                 uint64_t rseq, uint16_t repoch)
{
    /* A sends with B's CID and expects its own; B the reverse (RFC 9146 §3). */
    const uint8_t *tx_cid = side == SIDE_A ? k->cid_b : k->cid_a;
    const uint8_t *rx_cid = side == SIDE_A ? k->cid_a : k->cid_b;
    struct zrec_session *s = test_session(proto, aead, prov, tx_cid, cid_len, rx_cid, cid_len);
    install_dir(s, ZREC_DIR_WRITE, side == SIDE_A ? k->m1 : k->m2, wseq, wepoch);
    install_dir(s, ZREC_DIR_READ, side == SIDE_A ? k->m2 : k->m1, rseq, repoch);
    return s;
}

static inline struct zrec_session *mk_session(enum zrec_proto proto, enum zrec_aead_id aead,
                                              const struct zrec_aead_provider *prov,
                                              const struct keymat *k, uint8_t cid_len,
                                              enum side side, uint64_t seq)
{
    uint16_t e = default_epoch(proto);
    return mk_session_at(proto, aead, prov, k, cid_len, side, seq, e, seq, e);
}

/* ------------------------------------------------------------------------
 * Sealing and opening contiguous records
 * ---------------------------------------------------------------------- */

/* Seal `payload` as one contiguous record from s; on success *rec is an
 * exact-size heap copy of the record and the op is returned through *out. */
static inline int seal_contig(struct zrec_session *s, uint8_t type, const uint8_t *payload,
                              size_t len, uint8_t **rec, struct zrec_op *out)
{
    struct zrec_overhead o;
    CHECK(zrec_session_overhead(s, &o) == 0, "overhead");
    uint8_t *buf = xmalloc((size_t)o.headroom + len + o.tailroom);
    if (len)
        memcpy(buf + o.headroom, payload, len);
    struct zrec_op op = {.sess = s, .data = buf + o.headroom, .len = (uint32_t)len,
                         .headroom = o.headroom, .tailroom = o.tailroom, .content_type = type};
    zrec_seal_burst(&op, 1);
    int rc = op.status;
    if (rc == 0) {
        *rec = xdup(op.rec, op.rec_len);
        rc = (int)op.rec_len;
    } else {
        *rec = NULL;
    }
    if (out)
        *out = op;
    free(buf);
    return rc;
}

/* Open an exact-size heap copy of rec[0..len) contiguously; the copy (with
 * whatever the engine left in it) is returned through *copy (caller frees). */
static inline struct zrec_op open_copy(struct zrec_session *s, const uint8_t *rec, size_t len,
                                       uint8_t **copy)
{
    uint8_t *c = xdup(rec, len);
    struct zrec_op op = {.sess = s, .data = c, .len = (uint32_t)len};
    zrec_open_burst(&op, 1);
    if (copy)
        *copy = c;
    else
        free(c);
    return op;
}

/* ------------------------------------------------------------------------
 * Scatter-gather: segments carved out of one arena, separated by gaps
 * filled with a canary, so that writes outside the segments (and the
 * header/tail rooms) are seen, and pointer differences between segments
 * are well defined.
 * ---------------------------------------------------------------------- */

#define SG_MAX 64 /* the engine's per-op iovec limit (record.c MAX_IOV) */
#define CANARY 0xa5

struct sg {
    uint8_t *arena;
    size_t arena_len;
    struct zrec_seg seg[SG_MAX];
    unsigned nseg;
    size_t total;
};

/* Lay out n segments of the given lengths with `pre` bytes before the first
 * and `post` after the last, and random canary gaps (0..15 bytes, often 0)
 * between them. */
static inline void sg_layout(struct sg *g, const uint32_t *lens, unsigned n, size_t pre,
                             size_t post, uint64_t *seed)
{
    CHECK(n >= 1 && n <= SG_MAX, "nseg %u", n);
    size_t gaps[SG_MAX];
    size_t total = 0, size = pre + post;
    for (unsigned i = 0; i < n; i++) {
        gaps[i] = (i == 0 || test_rand(seed) % 4 == 0) ? 0 : 1 + test_rand(seed) % 15;
        size += gaps[i] + lens[i];
        total += lens[i];
    }
    g->arena = xmalloc(size);
    g->arena_len = size;
    memset(g->arena, CANARY, size);
    size_t off = pre;
    for (unsigned i = 0; i < n; i++) {
        off += gaps[i];
        g->seg[i].base = g->arena + off;
        g->seg[i].len = lens[i];
        off += lens[i];
    }
    g->nseg = n;
    g->total = total;
}

static inline void sg_free(struct sg *g)
{
    free(g->arena);
    g->arena = NULL;
}

/* Copy src[0..total) into the segments. */
static inline void sg_scatter(struct sg *g, const uint8_t *src)
{
    for (unsigned i = 0; i < g->nseg; i++) {
        if (g->seg[i].len)
            memcpy(g->seg[i].base, src, g->seg[i].len);
        src += g->seg[i].len;
    }
}

/* Copy bytes [off, off + n) of the segments' concatenation into dst. */
static inline void sg_gather(const struct sg *g, size_t off, uint8_t *dst, size_t n)
{
    for (unsigned i = 0; i < g->nseg && n; i++) {
        size_t sl = g->seg[i].len;
        if (off >= sl) {
            off -= sl;
            continue;
        }
        size_t take = sl - off < n ? sl - off : n;
        memcpy(dst, g->seg[i].base + off, take);
        dst += take;
        n -= take;
        off = 0;
    }
}

/* The first arena byte outside the segments and outside [lo1, lo1 + n1) and
 * [lo2, lo2 + n2) whose canary was overwritten, as an offset; -1 if none. */
static inline long sg_clobbered(const struct sg *g, const uint8_t *lo1, size_t n1,
                                const uint8_t *lo2, size_t n2)
{
    bool *ok = calloc(g->arena_len ? g->arena_len : 1, 1);
    CHECK(ok != NULL, "oom");
    for (unsigned i = 0; i < g->nseg; i++)
        for (size_t j = 0; j < g->seg[i].len; j++)
            ok[g->seg[i].base - g->arena + (long)j] = true;
    for (size_t j = 0; lo1 && j < n1; j++)
        ok[lo1 - g->arena + (long)j] = true;
    for (size_t j = 0; lo2 && j < n2; j++)
        ok[lo2 - g->arena + (long)j] = true;
    long bad = -1;
    for (size_t j = 0; j < g->arena_len && bad < 0; j++)
        if (!ok[j] && g->arena[j] != CANARY)
            bad = (long)j;
    free(ok);
    return bad;
}

/* Random cut of `total` bytes into at most SG_MAX segment lengths.  Cuts are
 * forced inside [must_lo, must_hi) ranges when given (header, tag), a run of
 * 1-byte segments is added now and then, and zero-length segments may
 * appear between others when allow_empty. */
struct cut_hint {
    size_t lo, hi; /* cut somewhere strictly inside (lo, hi) when hi > lo + 1 */
};

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

static inline unsigned random_cuts(size_t total, uint32_t *lens, const struct cut_hint *hints,
                                   unsigned nhints, bool allow_empty, uint64_t *seed)
{
    size_t cuts[SG_MAX + 8];
    unsigned nc = 0;
    /* Number of extra random cuts: often few, sometimes many. */
    unsigned want;
    switch (test_rand(seed) % 4) {
    case 0:
        want = 0;
        break;
    case 1:
        want = 1 + test_rand(seed) % 3;
        break;
    default:
        want = (unsigned)(test_rand(seed) % 40);
        break;
    }
    for (unsigned h = 0; h < nhints; h++)
        if (hints[h].hi > hints[h].lo + 1 && test_rand(seed) % 4 != 0)
            cuts[nc++] = hints[h].lo + 1 + test_rand(seed) % (hints[h].hi - hints[h].lo - 1);
    if (total > 1 && test_rand(seed) % 3 == 0) {
        /* A run of 1-byte segments. */
        size_t start = 1 + test_rand(seed) % (total - 1);
        unsigned run = 1 + (unsigned)(test_rand(seed) % 12);
        for (unsigned r = 0; r < run && start + r < total && nc < SG_MAX - 1; r++)
            cuts[nc++] = start + r;
    }
    while (nc < want && nc < SG_MAX - 1 && total > 1)
        cuts[nc++] = 1 + test_rand(seed) % (total - 1);
    if (allow_empty && total > 1 && nc < SG_MAX - 1 && test_rand(seed) % 5 == 0)
        cuts[nc++] = 1 + test_rand(seed) % (total - 1); /* may duplicate: an empty segment */
    qsort(cuts, nc, sizeof *cuts, cmp_size);
    unsigned n = 0;
    size_t prev = 0;
    for (unsigned i = 0; i < nc && n < SG_MAX - 1; i++) {
        if (cuts[i] == prev && !allow_empty)
            continue;
        if (cuts[i] == 0 || cuts[i] >= total)
            continue;
        lens[n++] = (uint32_t)(cuts[i] - prev);
        prev = cuts[i];
    }
    lens[n++] = (uint32_t)(total - prev);
    return n;
}

/* Open rec[0..len) split into random segments (header and tag splits
 * included).  The arena is left in *g for the caller to inspect. */
static inline struct zrec_op open_scattered(struct zrec_session *s, const uint8_t *rec,
                                            size_t len, size_t hdr, size_t tag, struct sg *g,
                                            uint64_t *seed)
{
    uint32_t lens[SG_MAX];
    struct cut_hint hints[2] = {{0, hdr}, {len > tag ? len - tag - 1 : 0, len}};
    unsigned n = random_cuts(len, lens, hints, 2, true, seed);
    sg_layout(g, lens, n, test_rand(seed) % 8, test_rand(seed) % 8, seed);
    sg_scatter(g, rec);
    struct zrec_op op = {.sess = s, .seg = g->seg, .nseg = (uint16_t)g->nseg};
    zrec_open_burst(&op, 1);
    return op;
}

/* ------------------------------------------------------------------------
 * "Is any of the plaintext readable here?"  All 8-byte windows of the
 * plaintext, sorted, then looked up for every 8-byte window of a region.
 * ---------------------------------------------------------------------- */

struct pt_index {
    uint64_t *w;
    size_t n;
};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static inline void pt_index_build(struct pt_index *ix, const uint8_t *p, size_t len)
{
    ix->n = len >= 8 ? len - 7 : 0;
    ix->w = xmalloc(ix->n * sizeof *ix->w);
    for (size_t i = 0; i < ix->n; i++)
        memcpy(&ix->w[i], p + i, 8);
    qsort(ix->w, ix->n, sizeof *ix->w, cmp_u64);
}

static inline void pt_index_free(struct pt_index *ix)
{
    free(ix->w);
    ix->w = NULL;
}

/* Offset of the first 8-byte window of buf that is also one of the
 * plaintext's, or -1. */
static inline long pt_exposed(const struct pt_index *ix, const uint8_t *buf, size_t len)
{
    if (ix->n == 0)
        return -1;
    for (size_t i = 0; i + 8 <= len; i++) {
        uint64_t v;
        memcpy(&v, buf + i, 8);
        if (bsearch(&v, ix->w, ix->n, sizeof v, cmp_u64))
            return (long)i;
    }
    return -1;
}

/* ------------------------------------------------------------------------
 * Sets of acceptable errnos
 * ---------------------------------------------------------------------- */

enum {
    E_BADMSG = 1 << 0,
    E_PROTO = 1 << 1,
    E_MSGSIZE = 1 << 2,
    E_STALE = 1 << 3,
    E_ALREADY = 1 << 4,
    E_PIPE = 1 << 5,
};

static inline unsigned err_bit(int rc)
{
    switch (rc) {
    case -EBADMSG:
        return E_BADMSG;
    case -EPROTO:
        return E_PROTO;
    case -EMSGSIZE:
        return E_MSGSIZE;
    case -ESTALE:
        return E_STALE;
    case -EALREADY:
        return E_ALREADY;
    case -EPIPE:
        return E_PIPE;
    default:
        return 0;
    }
}

static inline const char *err_name(int rc)
{
    static char buf[32];
    switch (rc) {
    case 0:
        return "0";
    case -EBADMSG:
        return "-EBADMSG";
    case -EPROTO:
        return "-EPROTO";
    case -EMSGSIZE:
        return "-EMSGSIZE";
    case -ESTALE:
        return "-ESTALE";
    case -EALREADY:
        return "-EALREADY";
    case -EPIPE:
        return "-EPIPE";
    case -EINVAL:
        return "-EINVAL";
    case -ENOKEY:
        return "-ENOKEY";
    default:
        snprintf(buf, sizeof buf, "%d", rc);
        return buf;
    }
}

static inline bool err_in(int rc, unsigned set)
{
    return rc < 0 && (err_bit(rc) & set) != 0;
}

#endif
