/*
 * zrec_async_* (zrec.h) against the synchronous engine, for one protocol and
 * AEAD (argv: proto aead [seed]), with a provider that completes ops late
 * and out of order: "shuffle" (ZREC_AEAD_CAP_ASYNC) keeps what it is
 * submitted, takes only part of a long submission (back-pressure), and on
 * each complete() does a random subset in a random order — the AEAD itself
 * runs only then, so nothing can be read early.
 *
 * Checked: every op taken comes back exactly once; the records of a session
 * come back in the order they were submitted; sealed records are
 * byte-identical to those a twin session seals synchronously; the peer's
 * records open asynchronously to the right plaintext (TLS: one in flight
 * per session; DTLS: many), a tampered one fails alone (DTLS) or ends the
 * session (TLS); a session with ops in flight is refused by the
 * synchronous calls (-EBUSY) and by the pipeline free (-EBUSY); a session
 * of another provider is refused (-EINVAL); a provider that is not
 * asynchronous makes no pipeline (ENOTSUP).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common.h"
#include "zrec/provider.h"

static uint64_t seed;

/* ---- the shuffling provider ------------------------------------------ */

struct held {
    struct zrec_aead_ctx *ctx;
    struct zrec_aead_op *op;
    int enc;
};
#define HOLD_MAX 48
static struct held held[HOLD_MAX];
static unsigned nheld;
static unsigned long submitted, completed;

static const struct zrec_aead_provider *base(void)
{
    return zrec_provider_default();
}

static int sh_supports(enum zrec_aead_id id)
{
    return base()->supports(id);
}
static size_t sh_ctx_size(enum zrec_aead_id id)
{
    return base()->ctx_size(id);
}
static int sh_init(struct zrec_aead_ctx *ctx, const uint8_t *key)
{
    return base()->init(ctx, key);
}
static void sh_dispose(struct zrec_aead_ctx *ctx)
{
    if (base()->dispose)
        base()->dispose(ctx);
}
static int sh_seal(struct zrec_aead_ctx *ctx, const uint8_t nonce[ZREC_NONCE_LEN],
                   const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out,
                   size_t len, uint8_t *tag)
{
    return base()->seal(ctx, nonce, aad, aad_len, in, out, len, tag);
}
static int sh_open(struct zrec_aead_ctx *ctx, const uint8_t nonce[ZREC_NONCE_LEN],
                   const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out,
                   size_t len, const uint8_t *tag)
{
    return base()->open(ctx, nonce, aad, aad_len, in, out, len, tag);
}
static void sh_caps(enum zrec_aead_id id, struct zrec_aead_caps *out)
{
    (void)id;
    out->flags = ZREC_AEAD_CAP_ASYNC;
    out->max_aad = 0;
}
/* Takes at most what it can hold, and never more than 5 at a time. */
static unsigned sh_submit(const struct zrec_aead_provider *p, struct zrec_aead_ctx *const ctxs[],
                          struct zrec_aead_op *const ops[], unsigned n, int enc)
{
    (void)p;
    unsigned take = n < 5 ? n : 5;
    if (take > HOLD_MAX - nheld)
        take = HOLD_MAX - nheld;
    for (unsigned i = 0; i < take; i++) {
        ops[i]->status = 12345; /* must be replaced before the engine reads it */
        held[nheld++] = (struct held){ctxs[i], ops[i], enc};
    }
    submitted += take;
    return take;
}
/* A random subset, in random order, the AEAD done now. */
static unsigned sh_complete(const struct zrec_aead_provider *p, struct zrec_aead_op *done[],
                            unsigned max)
{
    (void)p;
    unsigned want = nheld ? (unsigned)(test_rand(&seed) % (nheld + 1)) : 0;
    if (want > max)
        want = max;
    for (unsigned k = 0; k < want; k++) {
        unsigned i = (unsigned)(test_rand(&seed) % nheld);
        struct held h = held[i];
        held[i] = held[--nheld];
        struct zrec_aead_op *o = h.op;
        o->status = h.enc ? sh_seal(h.ctx, o->nonce, o->aad, o->aad_len, o->in, o->out, o->len,
                                    o->tag)
                          : sh_open(h.ctx, o->nonce, o->aad, o->aad_len, o->in, o->out, o->len,
                                    o->tag);
        done[k] = o;
    }
    completed += want;
    return want;
}

static const struct zrec_aead_provider shuffle = {
    .name = "shuffle",
    .abi = ZREC_PROVIDER_ABI,
    .supports = sh_supports,
    .ctx_size = sh_ctx_size,
    .init = sh_init,
    .dispose = sh_dispose,
    .seal = sh_seal,
    .open = sh_open,
    .caps = sh_caps,
    .submit = sh_submit,
    .complete = sh_complete,
};

/* ---- the test ---------------------------------------------------------- */

#define S 3     /* sessions */
#define N 120   /* records */
#define MAXLEN 3000

static enum zrec_proto proto;
static enum zrec_aead_id aead;

struct rec {
    uint8_t buf[ZREC_MAX_HEADROOM + MAXLEN + ZREC_MAX_TAILROOM + 32];
    uint8_t pt[MAXLEN];
    size_t len;
    int sess;
};

static bool dgram(void)
{
    return proto == ZREC_DTLS12 || proto == ZREC_DTLS13;
}

/* Submit ops[0..n) in random slices, polling at random between them and
 * until all are back: each comes back once, a session's in the order
 * submitted.  `during` runs once while ops[0]'s session has ops in flight. */
static void run(struct zrec_async *q, struct zrec_op *ops, unsigned n, bool seal,
                struct zrec_session *const *sess, void (*during)(struct zrec_async *))
{
    static int seen[N];
    int last[S];
    memset(seen, 0, sizeof seen);
    for (int s = 0; s < S; s++)
        last[s] = -1;
    unsigned next = 0, back = 0;
    bool ran = during == NULL;
    for (int spin = 0; back < n && spin < 1000000; spin++) {
        if (next < n && test_rand(&seed) % 3) {
            unsigned want = 1 + (unsigned)(test_rand(&seed) % 7);
            if (want > n - next)
                want = n - next;
            unsigned k = seal ? zrec_async_seal(q, ops + next, want)
                              : zrec_async_open(q, ops + next, want);
            CHECK(k <= want, "took %u of %u", k, want);
            next += k;
        }
        if (!ran && zrec_async_pending(q) > 0) {
            during(q);
            ran = true;
        }
        struct zrec_op *done[8];
        unsigned k = zrec_async_poll(q, done, 1 + (unsigned)(test_rand(&seed) % 8));
        for (unsigned j = 0; j < k; j++) {
            int i = (int)(done[j] - ops);
            CHECK(i >= 0 && i < (int)n, "an op that was not submitted came back");
            CHECK(!seen[i], "op %d came back twice", i);
            seen[i] = 1;
            back++;
            int s = 0;
            while (s < S && sess[s] != ops[i].sess)
                s++;
            CHECK(s < S, "op %d: unknown session", i);
            CHECK(i > last[s], "session %d: op %d came back after op %d (submitted later)", s, i,
                  last[s]);
            last[s] = i;
        }
    }
    CHECK(back == n && zrec_async_pending(q) == 0, "%u of %u ops back, %u pending", back, n,
          zrec_async_pending(q));
}

static struct zrec_session *busy_sess;
static void check_busy(struct zrec_async *q)
{
    /* The synchronous calls refuse a session with ops in flight; so does
     * the pipeline's free. */
    uint8_t buf[ZREC_MAX_HEADROOM + 64 + ZREC_MAX_TAILROOM];
    struct zrec_op op = {.sess = busy_sess, .data = buf + ZREC_MAX_HEADROOM, .len = 10,
                         .headroom = ZREC_MAX_HEADROOM, .tailroom = ZREC_MAX_TAILROOM,
                         .content_type = 23};
    CHECK(zrec_seal_burst(&op, 1) == 0 && op.status == -EBUSY, "seal with ops in flight: %d",
          op.status);
    struct zrec_op o2 = {.sess = busy_sess, .data = buf, .len = 40};
    CHECK(zrec_open_burst(&o2, 1) == 0 && o2.status == -EBUSY, "open with ops in flight: %d",
          o2.status);
    CHECK(zrec_async_free(q) == -EBUSY, "free with ops in flight");
}

int main(int argc, char **argv)
{
    test_args(argc, argv, &proto, &aead, &seed);
    errno = 0;
    CHECK(zrec_async_new(zrec_provider_wolfcrypt(), 16) == NULL && errno == ENOTSUP,
          "a synchronous provider made a pipeline");
    struct zrec_async *q = zrec_async_new(&shuffle, 40);
    CHECK(q != NULL, "zrec_async_new");
    uint16_t epoch = dgram() ? (proto == ZREC_DTLS13 ? 3 : 1) : 0;
    struct zrec_session *a[S], *ref[S], *rx[S];
    for (int s = 0; s < S; s++) {
        uint8_t k1[64], k2[64];
        test_fill(k1, sizeof k1, &seed);
        test_fill(k2, sizeof k2, &seed);
        a[s] = test_session(proto, aead, &shuffle, NULL, 0, NULL, 0);
        ref[s] = test_session(proto, aead, NULL, NULL, 0, NULL, 0);
        rx[s] = test_session(proto, aead, &shuffle, NULL, 0, NULL, 0);
        CHECK(a[s] && ref[s] && rx[s], "sessions");
        test_keys(a[s], k1, k2, 0, epoch);
        test_keys(ref[s], k1, k2, 0, epoch);
        test_keys(rx[s], k2, k1, 0, epoch);
    }
    struct zrec_overhead o;
    CHECK(zrec_session_overhead(a[0], &o) == 0, "overhead");
    static struct rec recs[N];
    static struct zrec_op ops[N], opens[N];
    for (int i = 0; i < N; i++) {
        struct rec *r = &recs[i];
        r->sess = (int)(test_rand(&seed) % S);
        r->len = i % 10 == 0 ? 0 : test_rand(&seed) % MAXLEN;
        test_fill(r->pt, r->len, &seed);
        memcpy(r->buf + o.headroom, r->pt, r->len);
        ops[i] = (struct zrec_op){.sess = a[r->sess], .data = r->buf + o.headroom,
                                  .len = (uint32_t)r->len, .headroom = o.headroom,
                                  .tailroom = o.tailroom, .content_type = 23,
                                  .src = i % 4 == 1 ? r->pt : NULL};
    }
    busy_sess = a[recs[0].sess];
    run(q, ops, N, true, a, check_busy);
    /* Byte-identical to the twin's synchronous records, in the same order. */
    for (int i = 0; i < N; i++) {
        CHECK(ops[i].status == 0, "async seal %d: %d", i, ops[i].status);
        static uint8_t buf[ZREC_MAX_HEADROOM + MAXLEN + ZREC_MAX_TAILROOM + 32];
        memcpy(buf + o.headroom, recs[i].pt, recs[i].len);
        uint8_t *rec;
        int n = zrec_seal_record(ref[recs[i].sess], 23, buf + o.headroom, recs[i].len,
                                 o.headroom, o.tailroom, &rec);
        CHECK(n > 0 && (uint32_t)n == ops[i].rec_len && memcmp(rec, ops[i].rec, (size_t)n) == 0,
              "async record %d (%zu bytes, session %d) differs from the synchronous one", i,
              recs[i].len, recs[i].sess);
    }
    /* Open them asynchronously, one tampered. */
    int bad = 1 + (int)(test_rand(&seed) % (N - 1));
    ops[bad].rec[ops[bad].rec_len - 1] ^= 1;
    for (int i = 0; i < N; i++)
        opens[i] = (struct zrec_op){.sess = rx[recs[i].sess], .data = ops[i].rec,
                                    .len = ops[i].rec_len};
    busy_sess = rx[recs[0].sess];
    run(q, opens, N, false, rx, NULL);
    for (int i = 0; i < N; i++) {
        bool after_bad = !dgram() && recs[i].sess == recs[bad].sess && i > bad;
        if (i == bad) {
            CHECK(opens[i].status == -EBADMSG, "tampered: %d", opens[i].status);
        } else if (after_bad) {
            /* TLS: the session failed at the bad record (RFC 8446 §5.2). */
            CHECK(opens[i].status == -EPIPE, "after the bad record: %d", opens[i].status);
        } else {
            CHECK(opens[i].status == 0 && opens[i].rec_len == recs[i].len &&
                      opens[i].content_type == 23 &&
                      memcmp(opens[i].rec, recs[i].pt, recs[i].len) == 0,
                  "async open %d: %d", i, opens[i].status);
        }
    }
    /* A session of another provider (or a key cache) is refused. */
    struct zrec_op other = {.sess = ref[0], .data = recs[0].buf + o.headroom, .len = 1,
                            .headroom = o.headroom, .tailroom = o.tailroom, .content_type = 23};
    CHECK(zrec_async_seal(q, &other, 1) == 1, "taken");
    struct zrec_op *d[1];
    CHECK(zrec_async_poll(q, d, 1) == 1 && d[0] == &other && other.status == -EINVAL,
          "another provider's session: %d", other.status);
    CHECK(submitted == completed, "the provider has %lu ops left", submitted - completed);
    CHECK(zrec_async_free(q) == 0, "free");
    printf("ok %s %s: %d records sealed and opened through a provider that completes out of "
           "order (%lu taken by it)\n",
           argv[1], argv[2], N, submitted);
    for (int s = 0; s < S; s++) {
        zrec_session_free(a[s]);
        zrec_session_free(ref[s]);
        zrec_session_free(rx[s]);
    }
    return 0;
}
