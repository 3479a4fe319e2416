/*
 * zrec/dpdk.h against the contiguous path, for one protocol and AEAD
 * (argv: proto aead): every record sealed in an mbuf, one segment or a
 * chain, is byte-identical to the record a twin session (same keys, same
 * sequence) seals contiguously with zrec_seal_record(), and opens back in
 * place, chained or not, behind a packet header, several to a packet.
 * Edges: headroom one byte short, last segment full (a new tail segment, or
 * -ENOSPC without a pool), a chain too long, a pool that runs dry, tampered
 * and truncated records, ranges outside the packet; every refusal leaves
 * the packet as it was.  Every mbuf goes back to its pool (leaks are
 * counted).  EAL runs with --no-huge --no-pci --no-shconf, no device needed.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>

#include "../common.h"
#include "zrec/dpdk.h"

#define NB_MBUF 2047
#define MAX_PT 16384

static struct rte_mempool *pool, *small_pool;
static enum zrec_proto proto;
static enum zrec_aead_id aead;
static uint64_t seed;

/* The packet's bytes, gathered. */
static size_t gather(const struct rte_mbuf *m, uint8_t *out)
{
    size_t n = 0;
    for (const struct rte_mbuf *s = m; s; s = s->next) {
        memcpy(out + n, rte_pktmbuf_mtod(s, const uint8_t *), s->data_len);
        n += s->data_len;
    }
    CHECK(n == rte_pktmbuf_pkt_len(m), "pkt_len %u, segments hold %zu", rte_pktmbuf_pkt_len(m),
          n);
    return n;
}

/* A packet of `len` bytes from `p`, cut into segments of the given sizes
 * (the last takes the rest), each with `headroom` bytes before its data. */
static struct rte_mbuf *packet(struct rte_mempool *mp, const uint8_t *p, size_t len,
                               const size_t *cuts, unsigned ncuts, uint16_t headroom)
{
    struct rte_mbuf *head = NULL, *last = NULL;
    size_t off = 0;
    for (unsigned i = 0; i <= ncuts; i++) {
        size_t take = i < ncuts ? cuts[i] : len - off;
        struct rte_mbuf *s = rte_pktmbuf_alloc(mp);
        CHECK(s != NULL, "pool empty");
        s->data_off = headroom;
        CHECK(take <= rte_pktmbuf_tailroom(s), "segment of %zu bytes", take);
        memcpy(rte_pktmbuf_append(s, (uint16_t)take), p + off, take);
        off += take;
        if (head == NULL) {
            head = last = s;
        } else {
            last->next = s;
            last = s;
            head->nb_segs++;
            head->pkt_len += s->data_len;
        }
    }
    return head;
}

/* Move the last segment's data to the end of its buffer, so that only
 * `room` bytes of tailroom are left. */
static void leave_tailroom(struct rte_mbuf *m, uint16_t room)
{
    struct rte_mbuf *l = rte_pktmbuf_lastseg(m);
    uint16_t off = (uint16_t)(l->buf_len - l->data_len - room);
    memmove((uint8_t *)l->buf_addr + off, rte_pktmbuf_mtod(l, uint8_t *), l->data_len);
    l->data_off = off;
}

struct twins {
    struct zrec_session *mb, *ref, *rx; /* mb and ref seal alike; rx opens */
    struct zrec_overhead o;
};

static struct twins twins_new(void)
{
    uint8_t k1[64], k2[64];
    test_fill(k1, sizeof k1, &seed);
    test_fill(k2, sizeof k2, &seed);
    uint16_t epoch = proto == ZREC_DTLS12 ? 1 : proto == ZREC_DTLS13 ? 3 : 0;
    struct twins t = {test_session(proto, aead, NULL, NULL, 0, NULL, 0),
                      test_session(proto, aead, NULL, NULL, 0, NULL, 0),
                      test_session(proto, aead, NULL, NULL, 0, NULL, 0), {0, 0}};
    test_keys(t.mb, k1, k2, 0, epoch);
    test_keys(t.ref, k1, k2, 0, epoch);
    test_keys(t.rx, k2, k1, 0, epoch);
    CHECK(zrec_session_overhead(t.mb, &t.o) == 0, "overhead");
    return t;
}

static void twins_free(struct twins *t)
{
    zrec_session_free(t->mb);
    zrec_session_free(t->ref);
    zrec_session_free(t->rx);
}

/* The record the twin seals from the same payload: the mbuf's must match. */
static void expect_same_record(struct twins *t, struct rte_mbuf *m, const uint8_t *pt,
                               size_t len, const char *what)
{
    static uint8_t ref[ZREC_MAX_HEADROOM + MAX_PT + ZREC_MAX_TAILROOM + 64];
    static uint8_t got[ZREC_MAX_HEADROOM + MAX_PT + ZREC_MAX_TAILROOM + 64];
    memcpy(ref + t->o.headroom, pt, len);
    uint8_t *rec;
    int n = zrec_seal_record(t->ref, ZREC_CT_APPLICATION_DATA, ref + t->o.headroom, len,
                             t->o.headroom, t->o.tailroom, &rec);
    CHECK(n > 0, "%s: reference seal: %d", what, n);
    size_t g = gather(m, got);
    CHECK(g == (size_t)n && memcmp(got, rec, g) == 0,
          "%s: the mbuf's record (%zu bytes) differs from the contiguous one (%d)", what, g, n);
}

/* Open the record that is the whole packet (chained as it came) and check
 * the plaintext. */
static void expect_opens(struct twins *t, struct rte_mbuf *m, const uint8_t *pt, size_t len,
                         const char *what)
{
    static uint8_t got[ZREC_MAX_HEADROOM + MAX_PT + ZREC_MAX_TAILROOM + 64];
    struct zrec_dpdk_op op = {.sess = t->rx, .m = m};
    CHECK(zrec_dpdk_open_burst(&op, 1) == 1, "%s: open: %d", what, op.status);
    CHECK(op.content_type == ZREC_CT_APPLICATION_DATA && op.rec_len == len,
          "%s: opened type %u, %u bytes (want %zu)", what, op.content_type, op.rec_len, len);
    gather(m, got);
    CHECK(memcmp(got + op.pt_off, pt, len) == 0, "%s: plaintext", what);
}

/* Single segments and chains of every shape, sealed in one burst, each the
 * twin's record, each opening back. */
static void seal_shapes(void)
{
    struct twins t = twins_new();
    static uint8_t pt[MAX_PT];
    static const size_t lens[] = {0, 1, 16, 64, 1400, 2000, 4096, 9000, 16384};
    for (size_t li = 0; li < sizeof lens / sizeof *lens; li++) {
        size_t len = lens[li];
        test_fill(pt, len, &seed);
        /* One segment (when it fits one), then chains of 2..5 segments. */
        for (unsigned nc = 0; nc <= 4; nc++) {
            size_t cuts[4];
            size_t left = len;
            unsigned k = 0;
            for (; k < nc && left > 0; k++) {
                size_t c = 1 + test_rand(&seed) % (left < 2000 ? left : 2000);
                if (c == left)
                    c = left - 1 ? left - 1 : 1;
                cuts[k] = c;
                left -= c;
            }
            if (nc == 0 && len > 2000)
                continue; /* one segment holds 2048 bytes, the tag included */
            if (left > 2000)
                continue; /* this cut leaves a last segment too long */
            struct rte_mbuf *m = packet(pool, pt, len, cuts, k, RTE_PKTMBUF_HEADROOM);
            uint16_t segs = m->nb_segs;
            struct zrec_dpdk_op op = {.sess = t.mb, .m = m,
                                      .content_type = ZREC_CT_APPLICATION_DATA};
            CHECK(zrec_dpdk_seal_burst(&op, 1, NULL) == 1, "seal %zu bytes in %u segments: %d",
                  len, segs, op.status);
            CHECK(m->nb_segs == segs && op.rec_len == rte_pktmbuf_pkt_len(m) && op.pt_off == 0,
                  "sealed packet: %u segments, %u bytes, record %u", m->nb_segs,
                  rte_pktmbuf_pkt_len(m), op.rec_len);
            char what[64];
            snprintf(what, sizeof what, "%zu bytes in %u segments", len, segs);
            expect_same_record(&t, m, pt, len, what);
            expect_opens(&t, m, pt, len, what);
            rte_pktmbuf_free(m);
        }
    }
    twins_free(&t);
}

/* The last segment has less tailroom than the tag needs: a new segment
 * from the pool, or -ENOSPC without one (and with an empty pool -ENOMEM),
 * the packet untouched. */
static void tail_edges(void)
{
    struct twins t = twins_new();
    uint8_t pt[1500];
    test_fill(pt, sizeof pt, &seed);
    for (int chained = 0; chained < 2; chained++) {
        size_t cut = 700;
        struct rte_mbuf *m = packet(pool, pt, sizeof pt, &cut, chained ? 1 : 0,
                                    RTE_PKTMBUF_HEADROOM);
        /* A 1500-byte payload is not padded: the tail is the inner type
         * (TLS 1.3, DTLS 1.3) and the tag. */
        bool inner = proto == ZREC_TLS13 || proto == ZREC_DTLS13;
        size_t tail = (inner ? 1u : 0u) + (aead == ZREC_AES_128_CCM_8 ? 8u : 16u);
        leave_tailroom(m, (uint16_t)(tail - 1));
        uint16_t segs = m->nb_segs;
        struct zrec_dpdk_op op = {.sess = t.mb, .m = m, .content_type = 23};
        CHECK(zrec_dpdk_seal_burst(&op, 1, NULL) == 0 && op.status == -ENOSPC,
              "full last segment, no pool: %d", op.status);
        uint8_t back[1600];
        CHECK(m->nb_segs == segs && gather(m, back) == sizeof pt &&
                  memcmp(back, pt, sizeof pt) == 0,
              "refused: the packet as it was");
        /* An empty pool: -ENOMEM, untouched. */
        struct rte_mbuf *hold[8];
        unsigned held = 0;
        while (held < 8 && (hold[held] = rte_pktmbuf_alloc(small_pool)) != NULL)
            held++;
        CHECK(rte_pktmbuf_alloc(small_pool) == NULL, "small pool drained");
        CHECK(zrec_dpdk_seal_burst(&op, 1, small_pool) == 0 && op.status == -ENOMEM,
              "pool empty: %d", op.status);
        CHECK(m->nb_segs == segs && gather(m, back) == sizeof pt &&
                  memcmp(back, pt, sizeof pt) == 0,
              "refused: the packet as it was");
        for (unsigned i = 0; i < held; i++)
            rte_pktmbuf_free(hold[i]);
        /* With a pool: a new last segment holds the tail. */
        CHECK(zrec_dpdk_seal_burst(&op, 1, small_pool) == 1, "tail segment: %d", op.status);
        CHECK(m->nb_segs == segs + 1, "%u segments, want %u", m->nb_segs, segs + 1);
        expect_same_record(&t, m, pt, sizeof pt, "tail in a new segment");
        expect_opens(&t, m, pt, sizeof pt, "tail in a new segment");
        rte_pktmbuf_free(m);
    }
    twins_free(&t);
}

/* Headroom one byte short, and a chain longer than the engine takes:
 * refused, untouched; the sequence number not used. */
static void refusals(void)
{
    struct twins t = twins_new();
    uint8_t pt[200];
    test_fill(pt, sizeof pt, &seed);
    struct rte_mbuf *m = packet(pool, pt, sizeof pt, NULL, 0, (uint16_t)(t.o.headroom - 1));
    struct zrec_dpdk_op op = {.sess = t.mb, .m = m, .content_type = 23};
    CHECK(zrec_dpdk_seal_burst(&op, 1, pool) == 0 && op.status == -ENOSPC, "headroom: %d",
          op.status);
    uint8_t back[4096];
    CHECK(m->data_off == t.o.headroom - 1 && gather(m, back) == sizeof pt &&
              memcmp(back, pt, sizeof pt) == 0,
          "refused: untouched");
    CHECK(zrec_session_seq(t.mb, ZREC_DIR_WRITE) == 0, "no sequence number used");
    rte_pktmbuf_free(m);

    size_t cuts[ZREC_DPDK_MAX_SEGS];
    for (unsigned i = 0; i < ZREC_DPDK_MAX_SEGS; i++)
        cuts[i] = 3;
    static uint8_t big[4096];
    test_fill(big, sizeof big, &seed);
    m = packet(pool, big, 3 * ZREC_DPDK_MAX_SEGS + 10, cuts, ZREC_DPDK_MAX_SEGS,
               RTE_PKTMBUF_HEADROOM);
    op = (struct zrec_dpdk_op){.sess = t.mb, .m = m, .content_type = 23};
    CHECK(zrec_dpdk_seal_burst(&op, 1, pool) == 0 && op.status == -E2BIG, "%u segments: %d",
          m->nb_segs, op.status);
    CHECK(m->nb_segs == ZREC_DPDK_MAX_SEGS + 1, "untouched");
    rte_pktmbuf_free(m);
    /* The longest chain taken. */
    m = packet(pool, big, 3 * ZREC_DPDK_MAX_SEGS, cuts, ZREC_DPDK_MAX_SEGS - 1,
               RTE_PKTMBUF_HEADROOM);
    op = (struct zrec_dpdk_op){.sess = t.mb, .m = m, .content_type = 23};
    CHECK(zrec_dpdk_seal_burst(&op, 1, pool) == 1, "%u segments: %d", ZREC_DPDK_MAX_SEGS,
          op.status);
    expect_same_record(&t, m, big, 3 * ZREC_DPDK_MAX_SEGS, "longest chain");
    expect_opens(&t, m, big, 3 * ZREC_DPDK_MAX_SEGS, "longest chain");
    rte_pktmbuf_free(m);
    struct zrec_dpdk_op none = {.sess = t.mb, .m = NULL};
    CHECK(zrec_dpdk_seal_burst(&none, 1, pool) == 0 && none.status == -EINVAL, "no mbuf");
    CHECK(zrec_dpdk_open_burst(&none, 1) == 0 && none.status == -EINVAL, "no mbuf");
    twins_free(&t);
}

/* Datagrams as a data plane receives them: a 42-byte Ethernet/IPv4/UDP
 * header, then records back to back, cut into segments anywhere (headers
 * too); opened by range, then trimmed to one record's plaintext.  A
 * tampered record fails alone (-EBADMSG), a range past the packet is
 * -EINVAL. */
static void open_in_packets(void)
{
    struct twins t = twins_new();
    static uint8_t wire[3 * (MAX_PT / 4 + 64) + 42], pts[3][MAX_PT / 4];
    for (int round = 0; round < 40; round++) {
        size_t off = 42, rec_at[3], rec_len[3], pt_len[3];
        test_fill(wire, 42, &seed);
        int nrec = 1 + (int)(test_rand(&seed) % 3);
        bool dgram = proto == ZREC_DTLS12 || proto == ZREC_DTLS13;
        for (int r = 0; r < nrec; r++) {
            pt_len[r] = test_rand(&seed) % (sizeof pts[r] + 1);
            test_fill(pts[r], pt_len[r], &seed);
            uint8_t *rec;
            memcpy(wire + off + t.o.headroom, pts[r], pt_len[r]);
            int n = zrec_seal_record(t.ref, ZREC_CT_APPLICATION_DATA, wire + off + t.o.headroom,
                                     pt_len[r], t.o.headroom, t.o.tailroom, &rec);
            CHECK(n > 0 && rec == wire + off, "seal: %d", n);
            rec_at[r] = off;
            rec_len[r] = (size_t)n;
            off += (size_t)n;
        }
        int bad = round % 5 == 4 ? (int)(test_rand(&seed) % nrec) : -1;
        if (bad >= 0)
            wire[rec_at[bad] + rec_len[bad] - 1] ^= 0x40; /* the tag */
        size_t cuts[16]; /* up to 5 random, or 1500-byte pieces of at most 12.5 KB */
        unsigned nc = (unsigned)(test_rand(&seed) % 6);
        size_t left = off;
        unsigned k = 0;
        for (; k < nc && left > 1; k++) {
            cuts[k] = 1 + test_rand(&seed) % (left - 1 < 2000 ? left - 1 : 2000);
            left -= cuts[k];
        }
        if (left > 2000) {
            k = 0;
            for (left = off; left > 2000; left -= 1500)
                cuts[k++] = 1500;
        }
        struct rte_mbuf *m = packet(pool, wire, off, cuts, k, RTE_PKTMBUF_HEADROOM);
        struct zrec_dpdk_op ops[3];
        for (int r = 0; r < nrec; r++)
            ops[r] = (struct zrec_dpdk_op){.sess = t.rx, .m = m, .off = (uint32_t)rec_at[r],
                                           .len = (uint32_t)(r + 1 == nrec && !dgram
                                                                 ? 0
                                                                 : rec_len[r])};
        unsigned good = zrec_dpdk_open_burst(ops, (unsigned)nrec);
        /* TLS: a bad record ends the session (RFC 8446 §5.2): what follows
         * it in the burst is refused too.  DTLS drops it alone. */
        for (int r = 0; r < nrec; r++) {
            bool fails = bad == r || (!dgram && bad >= 0 && r > bad);
            if (fails) {
                CHECK(ops[r].status != 0, "round %d: record %d opened", round, r);
                if (bad == r)
                    CHECK(ops[r].status == -EBADMSG, "tampered: %d", ops[r].status);
                continue;
            }
            CHECK(ops[r].status == 0, "round %d: record %d of %d (%u segments): %d", round, r,
                  nrec, m->nb_segs, ops[r].status);
            CHECK(ops[r].rec_len == pt_len[r], "length %u, want %zu", ops[r].rec_len, pt_len[r]);
            uint8_t got[MAX_PT / 4];
            CHECK(rte_pktmbuf_read(m, ops[r].pt_off, ops[r].rec_len, got) != NULL &&
                      memcmp(rte_pktmbuf_read(m, ops[r].pt_off, ops[r].rec_len, got), pts[r],
                             pt_len[r]) == 0,
                  "round %d: record %d plaintext", round, r);
        }
        CHECK(good == (unsigned)nrec - (bad < 0 ? 0 : dgram ? 1 : (unsigned)(nrec - bad)),
              "round %d: %u opened", round, good);
        if (!dgram && bad >= 0) {
            /* The session failed: a fresh pair for the next round. */
            twins_free(&t);
            t = twins_new();
        }
        /* Trim the packet down to the last good record's plaintext. */
        int keep = -1;
        for (int r = 0; r < nrec; r++)
            if (ops[r].status == 0)
                keep = r;
        if (keep >= 0 && round % 2 == 0) {
            m = zrec_dpdk_trim(m, ops[keep].pt_off, ops[keep].rec_len);
            CHECK(m != NULL && rte_pktmbuf_pkt_len(m) == pt_len[keep], "trimmed");
            uint8_t got[MAX_PT / 4];
            gather(m, got);
            CHECK(memcmp(got, pts[keep], pt_len[keep]) == 0, "trimmed plaintext");
        }
        struct zrec_dpdk_op past = {.sess = t.rx, .m = m, .off = rte_pktmbuf_pkt_len(m) + 1};
        CHECK(zrec_dpdk_open_burst(&past, 1) == 0 && past.status == -EINVAL, "past the end");
        past.off = 0;
        past.len = rte_pktmbuf_pkt_len(m) + 1;
        CHECK(zrec_dpdk_open_burst(&past, 1) == 0 && past.status == -EINVAL, "too long");
        CHECK(zrec_dpdk_trim(m, 1, rte_pktmbuf_pkt_len(m)) == NULL, "trim past the end");
        rte_pktmbuf_free(m);
    }
    twins_free(&t);
}

/* A burst longer than the engine's (ZREC_AEAD_BURST_MAX), many sessions,
 * one segment and chains mixed: every record the twin's. */
static void long_burst(void)
{
    enum { N = 77, S = 5 };
    struct twins t[S];
    for (int i = 0; i < S; i++)
        t[i] = twins_new();
    static uint8_t pt[N][3000];
    size_t len[N];
    struct rte_mbuf *m[N];
    struct zrec_dpdk_op ops[N];
    for (int i = 0; i < N; i++) {
        len[i] = test_rand(&seed) % 3000;
        test_fill(pt[i], len[i], &seed);
        size_t cut = len[i] / 2;
        m[i] = packet(pool, pt[i], len[i], &cut, len[i] > 1000 ? 1 : 0, RTE_PKTMBUF_HEADROOM);
        ops[i] = (struct zrec_dpdk_op){.sess = t[i % S].mb, .m = m[i], .content_type = 23};
    }
    CHECK(zrec_dpdk_seal_burst(ops, N, pool) == N, "burst of %d", N);
    for (int i = 0; i < N; i++) {
        CHECK(ops[i].status == 0, "op %d: %d", i, ops[i].status);
        expect_same_record(&t[i % S], m[i], pt[i], len[i], "long burst");
    }
    for (int i = 0; i < N; i++)
        ops[i] = (struct zrec_dpdk_op){.sess = t[i % S].rx, .m = m[i]};
    CHECK(zrec_dpdk_open_burst(ops, N) == N, "open burst of %d", N);
    for (int i = 0; i < N; i++) {
        uint8_t got[3000];
        CHECK(ops[i].rec_len == len[i] &&
                  memcmp(rte_pktmbuf_read(m[i], ops[i].pt_off, len[i], got), pt[i], len[i]) == 0,
              "op %d plaintext", i);
        rte_pktmbuf_free(m[i]);
    }
    for (int i = 0; i < S; i++)
        twins_free(&t[i]);
}

int main(int argc, char **argv)
{
    test_args(argc, argv, &proto, &aead, &seed);
    /* No hugepages, no PCI, no shared configuration, a runtime directory
     * of its own: tests run side by side. */
    char prefix[64];
    snprintf(prefix, sizeof prefix, "--file-prefix=zrec-test-%d", (int)getpid());
    char *eal[] = {argv[0], "--no-huge", "--no-pci", "-m", "128", "--no-shconf", prefix,
                   "--no-telemetry", "-l", "0", "--log-level=lib.eal:warning", NULL};
    CHECK(rte_eal_init(11, eal) >= 0, "rte_eal_init: %s", rte_strerror(rte_errno));
    pool = rte_pktmbuf_pool_create("mbufs", NB_MBUF, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                   SOCKET_ID_ANY);
    small_pool = rte_pktmbuf_pool_create("tails", 7, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                         SOCKET_ID_ANY);
    CHECK(pool != NULL && small_pool != NULL, "pools: %s", rte_strerror(rte_errno));
    seal_shapes();
    tail_edges();
    refusals();
    open_in_packets();
    long_burst();
    CHECK(rte_mempool_avail_count(pool) == NB_MBUF &&
              rte_mempool_avail_count(small_pool) == 7,
          "mbufs not given back: %u and %u", NB_MBUF - rte_mempool_avail_count(pool),
          7 - rte_mempool_avail_count(small_pool));
    rte_mempool_free(pool);
    rte_mempool_free(small_pool);
    char rundir[PATH_MAX];
    snprintf(rundir, sizeof rundir, "%s", rte_eal_get_runtime_dir());
    rte_eal_cleanup();
    rmdir(rundir); /* EAL leaves it, empty */
    printf("ok %s %s\n", argv[1], argv[2]);
    return 0;
}
