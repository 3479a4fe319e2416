/* Small helpers shared by zrec's test programs (no test framework: each
 * program exits 0 on success, 1 on failure, 77 to skip — meson's protocol). */
#ifndef ZREC_TEST_COMMON_H
#define ZREC_TEST_COMMON_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "zrec/zrec.h"

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond);      \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

/* Deterministic xorshift so failures reproduce (seed printed by tests). */
static inline uint64_t test_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static inline void test_fill(uint8_t *p, size_t n, uint64_t *seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)test_rand(seed);
}

static inline int test_proto_from_name(const char *n, enum zrec_proto *p)
{
    for (int i = 0; i < ZREC_PROTO_COUNT; i++)
        if (strcmp(n, zrec_proto_name((enum zrec_proto)i)) == 0)
            return *p = (enum zrec_proto)i, 0;
    return -1;
}

static inline int test_aead_from_name(const char *n, enum zrec_aead_id *a)
{
    for (int i = 0; i < ZREC_AEAD_COUNT; i++)
        if (strcmp(n, zrec_aead_name((enum zrec_aead_id)i)) == 0)
            return *a = (enum zrec_aead_id)i, 0;
    return -1;
}

/* `prog PROTO AEAD`: exits with 2 and a usage line on bad arguments. */
static inline void parse_args(int argc, char **argv, enum zrec_proto *p, enum zrec_aead_id *a)
{
    if (argc != 3 || test_proto_from_name(argv[1], p) || test_aead_from_name(argv[2], a)) {
        fprintf(stderr, "usage: %s PROTO AEAD\n", argv[0]);
        exit(2);
    }
}

/* `prog PROTO AEAD [SEED]`: parse_args(), and the random seed (given, or
 * the time: printed, so that a failing run can be repeated). */
static inline void test_args(int argc, char **argv, enum zrec_proto *proto,
                             enum zrec_aead_id *aead, uint64_t *seed)
{
    parse_args(argc > 3 ? 3 : argc, argv, proto, aead);
    *seed = argc > 3 ? strtoull(argv[3], NULL, 10) : (uint64_t)time(NULL);
    printf("seed %llu\n", (unsigned long long)*seed);
}

/* A pair of sessions that talk to each other: a's write keys are b's read
 * keys and vice versa.  Keys are random (from seed). */
struct test_pair {
    struct zrec_session *a, *b;
};

static inline struct zrec_session *test_session(enum zrec_proto proto, enum zrec_aead_id aead,
                                                const struct zrec_aead_provider *prov,
                                                const uint8_t *tx_cid, uint8_t tx_cid_len,
                                                const uint8_t *rx_cid, uint8_t rx_cid_len)
{
    struct zrec_session_params p = {
        .proto = proto, .aead = aead,
        .hash = aead == ZREC_AES_256_GCM ? ZREC_SHA384 : ZREC_SHA256,
        .provider = prov,
        .tx_cid = tx_cid, .tx_cid_len = tx_cid_len,
        .rx_cid = rx_cid, .rx_cid_len = rx_cid_len,
    };
    struct zrec_session *s = zrec_session_new(&p);
    CHECK(s != NULL, "zrec_session_new(%s, %s): %s", zrec_proto_name(proto),
          zrec_aead_name(aead), strerror(errno));
    return s;
}

/* Install key material k1 as s's write key and k2 as its read key. */
static inline void test_keys(struct zrec_session *s, const uint8_t *k1, const uint8_t *k2,
                             uint64_t seq, uint16_t epoch)
{
    enum zrec_proto proto = zrec_session_proto(s);
    size_t slen = zrec_session_aead(s) == ZREC_AES_256_GCM ? 48 : 32;
    const uint8_t *mats[2] = {k1, k2};
    for (int d = 0; d < 2; d++) {
        struct zrec_traffic_keys k = {.seq = seq, .epoch = epoch};
        if (proto == ZREC_TLS13 || proto == ZREC_DTLS13) {
            k.secret = mats[d];
            k.secret_len = slen;
        } else {
            k.key = mats[d];
            k.iv = mats[d] + 32;
        }
        int rc = zrec_session_set_keys(s, d == 0 ? ZREC_DIR_WRITE : ZREC_DIR_READ, &k);
        CHECK(rc == 0, "set_keys: %d", rc);
    }
}

static inline struct test_pair test_pair_new(enum zrec_proto proto, enum zrec_aead_id aead,
                                             const struct zrec_aead_provider *pa,
                                             const struct zrec_aead_provider *pb,
                                             uint64_t *seed, uint8_t cid_len)
{
    uint8_t m1[64], m2[64], cid_a[32], cid_b[32];
    test_fill(m1, sizeof m1, seed);
    test_fill(m2, sizeof m2, seed);
    test_fill(cid_a, sizeof cid_a, seed);
    test_fill(cid_b, sizeof cid_b, seed);
    struct test_pair t;
    /* a sends with b's CID, expects its own; b the reverse. */
    t.a = test_session(proto, aead, pa, cid_b, cid_len, cid_a, cid_len);
    t.b = test_session(proto, aead, pb, cid_a, cid_len, cid_b, cid_len);
    uint16_t epoch = proto == ZREC_DTLS12 ? 1 : proto == ZREC_DTLS13 ? 3 : 0;
    test_keys(t.a, m1, m2, 0, epoch);
    test_keys(t.b, m2, m1, 0, epoch);
    return t;
}

static inline void test_pair_free(struct test_pair *t)
{
    zrec_session_free(t->a);
    zrec_session_free(t->b);
}

#endif
