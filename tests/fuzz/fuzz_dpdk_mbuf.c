/*
 * fuzz_dpdk_mbuf: records in mbuf chains (zrec/dpdk.h) of any shape.
 *
 * Input: proto, aead, then items until the input ends: a kind (bit 0: the
 * bytes are a payload to seal, then open; else raw bytes opened as a
 * record), a flip position (sealed items: one byte of the record flipped
 * when bit 1 of kind is set), up to 6 segment lengths (bits 2-4 of kind:
 * how many), a 16-bit length, the bytes.  Each segment is an mbuf header
 * over a buffer of exactly its size (plus the headroom the first needs and
 * the tailroom the last may): a read or write past a segment is ASan's.
 * No EAL: the chains are built by hand and never freed to a pool.
 *
 * Contracts: every status is one zrec/dpdk.h documents; a sealed chain
 * holds exactly the record a twin session seals contiguously; it opens
 * back (in the same chain) to the payload, or with a flipped byte fails
 * (-EBADMSG, -EPROTO, -EMSGSIZE); the plaintext offset and length lie
 * inside the packet; a refused seal leaves the chain's lengths as they
 * were.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common.h"
#include "fuzz.h"
#include "zrec/dpdk.h"

#define MAX_SEGS 6
#define HEAD 64
#define TAIL 64

struct chain {
    struct rte_mbuf *m[MAX_SEGS];
    unsigned n;
};

/* A chain of n segments holding data[0..len) cut at cuts[]. */
static void build(struct chain *c, const uint8_t *data, size_t len, const uint16_t *cuts,
                  unsigned n)
{
    size_t off = 0;
    c->n = n;
    for (unsigned i = 0; i < n; i++) {
        size_t take = i + 1 == n ? len - off : (cuts[i] < len - off ? cuts[i] : len - off);
        size_t head = i == 0 ? HEAD : 0, tail = i + 1 == n ? TAIL : 0;
        struct rte_mbuf *m = calloc(1, sizeof *m);
        uint8_t *buf = malloc(head + take + tail + 1);
        m->buf_addr = buf;
        m->buf_iova = (rte_iova_t)(uintptr_t)buf;
        m->buf_len = (uint16_t)(head + take + tail);
        m->data_off = (uint16_t)head;
        memcpy(buf + head, data + off, take);
        m->data_len = (uint16_t)take;
        m->nb_segs = 1;
        rte_mbuf_refcnt_set(m, 1);
        if (i)
            c->m[i - 1]->next = m;
        c->m[i] = m;
        off += take;
    }
    c->m[0]->nb_segs = (uint16_t)n;
    c->m[0]->pkt_len = (uint32_t)len;
}

static void release(struct chain *c)
{
    for (unsigned i = 0; i < c->n; i++) {
        free(c->m[i]->buf_addr);
        free(c->m[i]);
    }
}

static size_t gather(const struct rte_mbuf *m, uint8_t *out)
{
    size_t n = 0;
    for (; m; m = m->next) {
        memcpy(out + n, rte_pktmbuf_mtod(m, const uint8_t *), m->data_len);
        n += m->data_len;
    }
    return n;
}

static bool documented(int st)
{
    static const int ok[] = {0,      -EBADMSG, -EPROTO, -EMSGSIZE, -EALREADY, -ESTALE,
                             -ENOKEY, -EPIPE,   -EINVAL, -ENOSPC,   -E2BIG,    -ENOMEM};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (st == ok[i])
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    enum zrec_proto proto = (enum zrec_proto)(fuzz_u8(&in) % ZREC_PROTO_COUNT);
    enum zrec_aead_id aead = (enum zrec_aead_id)(fuzz_u8(&in) % ZREC_AEAD_COUNT);
    uint64_t seed = 0xd9d90000u + (uint64_t)proto * 16 + (uint64_t)aead;
    /* mb seals, twin seals the same contiguously, rx opens. */
    struct test_pair t = test_pair_new(proto, aead, NULL, NULL, &seed, 0);
    seed = 0xd9d90000u + (uint64_t)proto * 16 + (uint64_t)aead;
    struct test_pair twin = test_pair_new(proto, aead, NULL, NULL, &seed, 0);
    struct zrec_overhead o;
    zrec_session_overhead(t.a, &o);
    static uint8_t rec[HEAD + ZREC_MAX_PLAINTEXT + 2 * TAIL], got[HEAD + ZREC_MAX_PLAINTEXT + 2 * TAIL];
    for (int items = 0; in.n > 0 && items < 16; items++) {
        uint8_t kind = fuzz_u8(&in);
        uint16_t flip = fuzz_u16(&in);
        unsigned nseg = 1 + ((kind >> 2) & 7) % MAX_SEGS;
        uint16_t cuts[MAX_SEGS];
        for (unsigned i = 0; i < nseg; i++)
            cuts[i] = fuzz_u16(&in) % 4096;
        size_t len = fuzz_u16(&in) % (ZREC_MAX_PLAINTEXT + 64), n;
        const uint8_t *bytes = fuzz_bytes(&in, len, &n);
        struct chain c;
        if (kind & 1) {
            if (n > ZREC_MAX_PLAINTEXT)
                n = ZREC_MAX_PLAINTEXT;
            build(&c, bytes, n, cuts, nseg);
            uint32_t pkt_before = c.m[0]->pkt_len;
            struct zrec_dpdk_op op = {.sess = t.a, .m = c.m[0], .content_type = 23};
            zrec_dpdk_seal_burst(&op, 1, NULL);
            FUZZ_ASSERT(documented(op.status), "seal status %d", op.status);
            if (op.status != 0) {
                FUZZ_ASSERT(c.m[0]->pkt_len == pkt_before, "a refused seal changed the packet");
                release(&c);
                continue;
            }
            memcpy(rec + o.headroom, bytes, n);
            uint8_t *r;
            int rl = zrec_seal_record(twin.a, 23, rec + o.headroom, n, o.headroom, o.tailroom, &r);
            size_t g = gather(c.m[0], got);
            FUZZ_ASSERT(rl > 0 && (size_t)rl == g && memcmp(r, got, g) == 0 &&
                            op.rec_len == g && c.m[0]->pkt_len == g,
                        "the chain's record differs from the contiguous one");
            bool flipped = (kind & 2) && g > 0;
            if (flipped) {
                size_t at = flip % g;
                for (struct rte_mbuf *m = c.m[0]; m; m = m->next) {
                    if (at < m->data_len) {
                        rte_pktmbuf_mtod(m, uint8_t *)[at] ^= 0x20;
                        break;
                    }
                    at -= m->data_len;
                }
            }
            /* The receiver is healthy unless an earlier item failed it (TLS:
             * any bad record is fatal, RFC 8446 §5.2). */
            bool rx_ok = !(zrec_session_events(t.b) & ZREC_EV_FATAL);
            struct zrec_dpdk_op op2 = {.sess = t.b, .m = c.m[0]};
            zrec_dpdk_open_burst(&op2, 1);
            FUZZ_ASSERT(documented(op2.status), "open status %d", op2.status);
            if (!flipped && rx_ok) {
                FUZZ_ASSERT(op2.status == 0 && op2.rec_len == n && op2.pt_off + n <= g,
                            "an authentic record did not open: %d", op2.status);
                gather(c.m[0], got);
                FUZZ_ASSERT(memcmp(got + op2.pt_off, bytes, n) == 0, "plaintext differs");
            }
            release(&c);
            continue;
        }
        build(&c, bytes, n, cuts, nseg);
        struct zrec_dpdk_op op = {.sess = t.b, .m = c.m[0], .off = flip % (n + 1),
                                  .len = (uint32_t)(kind >> 5)};
        zrec_dpdk_open_burst(&op, 1);
        FUZZ_ASSERT(documented(op.status), "open status %d", op.status);
        if (op.status == 0)
            FUZZ_ASSERT(op.pt_off + op.rec_len <= n, "plaintext %u+%u past a %zu-byte packet",
                        op.pt_off, op.rec_len, n);
        release(&c);
    }
    test_pair_free(&t);
    test_pair_free(&twin);
    return 0;
}

/* Seeds: per protocol and AEAD, payloads to seal in 1, 2 and 6 segments. */
void fuzz_seeds(const char *dir)
{
    for (int p = 0; p < ZREC_PROTO_COUNT; p++)
        for (int a = 0; a < ZREC_AEAD_COUNT; a++) {
            uint8_t buf[2048];
            size_t pos = 0;
            buf[pos++] = (uint8_t)p;
            buf[pos++] = (uint8_t)a;
            for (unsigned segs = 1; segs <= 6; segs += 5) {
                buf[pos++] = (uint8_t)(1 | (segs - 1) << 2); /* seal */
                buf[pos++] = 0;
                buf[pos++] = 0;
                for (unsigned i = 0; i < segs; i++) {
                    buf[pos++] = 0;
                    buf[pos++] = (uint8_t)(7 + 13 * i);
                }
                buf[pos++] = 0;
                buf[pos++] = 200;
                for (int i = 0; i < 200; i++)
                    buf[pos++] = (uint8_t)(i * 7);
            }
            char name[64];
            snprintf(name, sizeof name, "%s-%s", zrec_proto_name((enum zrec_proto)p),
                     zrec_aead_name((enum zrec_aead_id)a));
            fuzz_seed_write(dir, name, buf, pos);
        }
}
