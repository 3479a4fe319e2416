/*
 * fuzz_open: the engine's open path, every protocol and AEAD, contiguous,
 * scattered and into a destination, one record or a sequence of them on one
 * session.
 *
 * Input: proto, aead, CID length, then items until the input ends:
 *   kind (bit 0: 1 = seal the bytes with the peer first, as `type` below;
 *         bit 1: flip one byte of the sealed record; bits 2-7: where to cut
 *         the record into segments, 0 = contiguous, 63 = opened into a
 *         destination about the content's length), a 16-bit length, the
 *   bytes, and for sealed items a content-type selector and a flip position.
 * Sealed items reach what only authentic records reach: inner types, alerts,
 * KeyUpdate / NewSessionTicket / ACK sequences (posthandshake.c).  Raw items
 * (seeded with records the same keys sealed) reach the header parsers and
 * every failure path.
 *
 * Contracts checked on every record (zrec.h): the status is one zrec_open_burst
 * documents; -EBADMSG leaves no payload byte (ciphertext before the tag) as
 * received; an untampered
 * sealed application-data record opens to exactly what was sealed.
 */
#include <errno.h>

#include "../common.h"
#include "fuzz.h"

#define MAX_REC (ZREC_MAX_HEADROOM + ZREC_MAX_PLAINTEXT + 256 + ZREC_MAX_TAILROOM)

static const uint8_t types[] = {ZREC_CT_APPLICATION_DATA, ZREC_CT_HANDSHAKE, ZREC_CT_ALERT,
                                ZREC_CT_ACK};

static struct test_pair pair_for(enum zrec_proto proto, enum zrec_aead_id aead, uint8_t cid)
{
    uint64_t seed = 0x5eed0000u + (uint64_t)proto * 16 + (uint64_t)aead;
    bool has_cid = proto == ZREC_DTLS12 || proto == ZREC_DTLS13;
    return test_pair_new(proto, aead, NULL, NULL, &seed, has_cid ? cid : 0);
}

static size_t explicit_len(enum zrec_proto proto, enum zrec_aead_id aead)
{
    bool v12 = proto == ZREC_TLS12 || proto == ZREC_DTLS12;
    return v12 && aead != ZREC_CHACHA20_POLY1305 ? 8 : 0;
}

/* Seal payload as `type` from s into a fresh exact-size record. */
static uint8_t *seal(struct zrec_session *s, uint8_t type, const uint8_t *payload, size_t len,
                     size_t *rec_len)
{
    struct zrec_overhead o;
    if (zrec_session_overhead(s, &o) < 0 || len > ZREC_MAX_PLAINTEXT)
        return NULL;
    uint8_t *buf = malloc((size_t)o.headroom + len + o.tailroom + 1);
    if (len)
        memcpy(buf + o.headroom, payload, len);
    struct zrec_op op = {.sess = s, .data = buf + o.headroom, .len = (uint32_t)len,
                         .headroom = o.headroom, .tailroom = o.tailroom, .content_type = type};
    zrec_seal_burst(&op, 1);
    uint8_t *rec = NULL;
    if (op.status == 0) {
        rec = malloc(op.rec_len ? op.rec_len : 1);
        memcpy(rec, op.rec, op.rec_len);
        *rec_len = op.rec_len;
    }
    free(buf);
    return rec;
}

static bool documented(int st)
{
    static const int ok[] = {0,        -EBADMSG, -EPROTO, -EMSGSIZE, -EALREADY,
                             -ESTALE,  -ENOKEY,  -EPIPE,  -EINVAL,   -ENOBUFS};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (st == ok[i])
            return true;
    return false;
}

/* cut == DST_MODE: open into a separate destination a little shorter than
 * the record, so its length falls around the content's (a TLS 1.3 inner
 * type opened beyond it, ZREC_OPEN_SPILL_MAX) as n varies. */
#define DST_MODE 63

/* Open into a destination (zrec.h, copy-on-crypt): the record is left as
 * received unless -EBADMSG came from its header; a success puts the
 * content in dst and no further than dst_cap; -ENOBUFS consumes nothing
 * (then opened in place, as a caller would); -EBADMSG leaves no decrypted
 * byte in dst.  The plaintext is copied into rec for the caller's checks. */
static struct zrec_op open_dst(struct zrec_session *b, uint8_t *rec, size_t n, bool *in_dst)
{
    size_t cap = n > 40 ? n - 20 - n % 21 : n / 2;
    uint8_t *dst = malloc(cap ? cap : 1), *orig = malloc(n ? n : 1);
    memset(dst, 0xa5, cap);
    if (n)
        memcpy(orig, rec, n);
    uint64_t seq = zrec_session_seq(b, ZREC_DIR_READ);
    struct zrec_op op = {.sess = b, .data = rec, .len = (uint32_t)n, .dst = dst,
                         .dst_cap = (uint32_t)cap};
    zrec_open_burst(&op, 1);
    *in_dst = true;
    if (op.status != -EBADMSG)
        FUZZ_ASSERT(n == 0 || memcmp(rec, orig, n) == 0, "open into dst: the record changed (%d)",
                    op.status);
    if (op.status == -EBADMSG)
        for (size_t i = 0; i < cap; i++)
            FUZZ_ASSERT(dst[i] == 0 || dst[i] == 0xa5, "-EBADMSG left dst byte %zu as %02x", i,
                        dst[i]);
    if (op.status == 0) {
        FUZZ_ASSERT(op.rec == dst && op.rec_len <= cap, "opened into a %zu-byte dst: %u bytes",
                    cap, op.rec_len);
        memcpy(rec, dst, op.rec_len);
        op.rec = rec;
    }
    if (op.status == -ENOBUFS) {
        FUZZ_ASSERT(zrec_session_seq(b, ZREC_DIR_READ) == seq, "-ENOBUFS consumed the record");
        op = (struct zrec_op){.sess = b, .data = rec, .len = (uint32_t)n};
        zrec_open_burst(&op, 1);
        *in_dst = false;
    }
    free(dst);
    free(orig);
    return op;
}

/* Open rec[0..n) on b, contiguous or in up to four exact-size segments
 * (cut picks the cut points) or into a destination (DST_MODE); what the
 * engine left is copied back into rec.  Returns the op (rec/rec_len pointing
 * into `rec` when it opened); *in_dst tells whether the plaintext (or a
 * failure's wipe) went to a destination. */
static struct zrec_op open_rec(struct zrec_session *b, uint8_t *rec, size_t n, unsigned cut,
                               bool *in_dst)
{
    struct zrec_op op = {.sess = b, .data = rec, .len = (uint32_t)n};
    *in_dst = false;
    if (cut == DST_MODE)
        return open_dst(b, rec, n, in_dst);
    if (cut == 0 || n < 2) {
        zrec_open_burst(&op, 1);
        return op;
    }
    struct zrec_seg seg[4];
    size_t at[5] = {0}, nseg = 0;
    for (size_t i = 1; i < 4; i++) {
        size_t c = (cut * 7919u * i) % n;
        if (c > at[nseg])
            at[++nseg] = c;
    }
    at[++nseg] = n;
    for (size_t i = 0; i < nseg; i++) {
        seg[i].len = at[i + 1] - at[i];
        seg[i].base = malloc(seg[i].len);
        memcpy(seg[i].base, rec + at[i], seg[i].len);
    }
    op.data = NULL;
    op.seg = seg;
    op.nseg = (uint8_t)nseg;
    zrec_open_burst(&op, 1);
    size_t rec_off = (size_t)-1;
    for (size_t i = 0; i < nseg; i++) {
        if (op.status == 0 && op.rec >= seg[i].base && op.rec < seg[i].base + seg[i].len)
            rec_off = at[i] + (size_t)(op.rec - seg[i].base);
        memcpy(rec + at[i], seg[i].base, seg[i].len);
        free(seg[i].base);
    }
    /* A scattered record's plaintext may span segments: compare from the
     * gathered copy. */
    if (op.status == 0)
        op.rec = rec_off != (size_t)-1 ? rec + rec_off : rec + n;
    return op;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    enum zrec_proto proto = (enum zrec_proto)(fuzz_u8(&in) % ZREC_PROTO_COUNT);
    enum zrec_aead_id aead = (enum zrec_aead_id)(fuzz_u8(&in) % ZREC_AEAD_COUNT);
    uint8_t cid = fuzz_u8(&in) % 5;
    struct test_pair t = pair_for(proto, aead, cid);
    for (int items = 0; in.n > 0 && items < 64; items++) {
        uint8_t kind = fuzz_u8(&in);
        size_t len, got;
        len = fuzz_u16(&in) % (MAX_REC + 1);
        const uint8_t *bytes = fuzz_bytes(&in, len, &got);
        uint8_t *rec;
        size_t n;
        uint8_t type = 0;
        bool sealed = kind & 1, tampered = false;
        if (sealed) {
            type = types[fuzz_u8(&in) % sizeof types];
            size_t flip = fuzz_u16(&in);
            rec = seal(t.a, type, bytes, got, &n);
            if (rec == NULL)
                continue; /* the sender refused (limits, fatal): nothing to open */
            if ((kind & 2) && n) {
                rec[flip % n] ^= 0x5a;
                tampered = true;
            }
        } else {
            n = got;
            rec = malloc(n ? n : 1);
            if (n)
                memcpy(rec, bytes, n);
        }
        uint8_t *orig = malloc(n ? n : 1);
        if (n)
            memcpy(orig, rec, n);
        bool in_dst;
        struct zrec_op op = open_rec(t.b, rec, n, kind >> 2, &in_dst);
        FUZZ_ASSERT(documented(op.status), "status %d", op.status);
        if (op.status == -EBADMSG && !in_dst) {
            /* zrec.h: -EBADMSG wipes the payload region. */
            struct zrec_record_info info;
            bool dtls = proto == ZREC_DTLS12 || proto == ZREC_DTLS13;
            long rl = zrec_record_peek(orig, n, dtls ? ZREC_PEEK_DTLS : 0,
                                       (uint8_t)(dtls ? cid : 0), &info);
            size_t tag = aead == ZREC_AES_128_CCM_8 ? 8 : 16;
            if (rl > 0 && (size_t)rl == n) {
                /* The ciphertext (the tag is not payload). */
                size_t from = info.header_len + (info.unified ? 0 : explicit_len(proto, aead));
                for (size_t i = from; i + tag < n; i++)
                    FUZZ_ASSERT(rec[i] == 0, "-EBADMSG left byte %zu of %zu as %02x", i, n,
                                rec[i]);
            }
        }
        if (op.status == 0) {
            FUZZ_ASSERT(op.rec_len <= ZREC_MAX_PLAINTEXT, "plaintext of %u", op.rec_len);
            FUZZ_ASSERT(op.rec >= rec && op.rec + op.rec_len <= rec + n,
                        "plaintext outside the record");
            if (sealed && !tampered && type == ZREC_CT_APPLICATION_DATA &&
                op.content_type == ZREC_CT_APPLICATION_DATA)
                FUZZ_ASSERT(op.rec_len == got && memcmp(op.rec, bytes, got) == 0,
                            "authentic record opened to other bytes");
        }
        (void)zrec_session_events(t.b);
        free(orig);
        free(rec);
    }
    test_pair_free(&t);
    return 0;
}

/* Seeds: per protocol and AEAD, a few records sealed with the very keys the
 * target uses (raw items: they open), and the same as sealed items, with
 * KeyUpdate, NewSessionTicket, alert and ACK bodies. */
void fuzz_seeds(const char *dir)
{
    static const uint8_t ku13[] = {24, 0, 0, 1, 1};
    static const uint8_t ku_d13[] = {24, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 1};
    static const uint8_t alert[] = {1, 0};
    static const uint8_t hello[] = "hello, fuzzer";
    for (int p = 0; p < ZREC_PROTO_COUNT; p++)
        for (int a = 0; a < ZREC_AEAD_COUNT; a++) {
            uint8_t buf[4096];
            size_t pos = 0;
            buf[pos++] = (uint8_t)p;
            buf[pos++] = (uint8_t)a;
            buf[pos++] = 2;
            struct test_pair t = pair_for((enum zrec_proto)p, (enum zrec_aead_id)a, 2);
            for (int i = 0; i < 3; i++) {
                size_t n;
                uint8_t *rec = seal(t.a, ZREC_CT_APPLICATION_DATA, hello, sizeof hello, &n);
                if (rec == NULL)
                    break;
                /* raw; the second into a destination, the last scattered */
                buf[pos++] = (uint8_t)(i == 2 ? 4 << 2 : i == 1 ? DST_MODE << 2 : 0);
                buf[pos++] = (uint8_t)(n >> 8);
                buf[pos++] = (uint8_t)n;
                memcpy(buf + pos, rec, n);
                pos += n;
                free(rec);
            }
            test_pair_free(&t);
            bool d13 = p == ZREC_DTLS13;
            const struct {
                uint8_t type_sel;
                const uint8_t *b;
                size_t n;
            } sealed[] = {{0, hello, sizeof hello},
                          {1, d13 ? ku_d13 : ku13, d13 ? sizeof ku_d13 : sizeof ku13},
                          {2, alert, sizeof alert},
                          {0, hello, sizeof hello}};
            for (size_t i = 0; i < sizeof sealed / sizeof *sealed; i++) {
                buf[pos++] = 1;
                buf[pos++] = 0;
                buf[pos++] = (uint8_t)sealed[i].n;
                memcpy(buf + pos, sealed[i].b, sealed[i].n);
                pos += sealed[i].n;
                buf[pos++] = sealed[i].type_sel;
                buf[pos++] = 0;
                buf[pos++] = 0;
            }
            char name[64];
            snprintf(name, sizeof name, "%s-%s", zrec_proto_name((enum zrec_proto)p),
                     zrec_aead_name((enum zrec_aead_id)a));
            fuzz_seed_write(dir, name, buf, pos);
        }
}
