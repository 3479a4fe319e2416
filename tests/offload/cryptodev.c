/*
 * The cryptodev provider (zrec/offload.h) on one DPDK software device
 * (argv[1]: its driver, e.g. crypto_aesni_gcm), against intel-ipsec-mb:
 *
 *  - differential: for every AEAD the device offers and every protocol, a
 *    session on the device and one on ipsec-mb with the same keys seal the
 *    same payloads (bursts of mixed sizes, in place and copy-on-encrypt)
 *    into byte-identical records, and each opens the other's (in place and
 *    into a destination); a tampered record is -EBADMSG with nothing left;
 *    the device did the work (stats: device ops, no fallback);
 *  - a queue pair shorter than the burst: back-pressure, every record on
 *    the device;
 *  - what the device does not take is done in software, nothing lost:
 *    the device stopped mid-run, a thread with no queue pair left —
 *    records still identical, each case counted;
 *  - two threads on their own queue pairs at once;
 *  - an AEAD the device lacks is refused at zrec_session_new (ENOTSUP);
 *  - wolfSSL's own AES-GCM through the device (zrec_wolfssl_crypto_device).
 * EAL: --no-huge --no-pci, the devices made by the provider (rte_vdev_init).
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cryptodev.h>
#include <rte_eal.h>
#include <rte_errno.h>

#include "../common.h"
#include "zrec/offload.h"
#include "zrec/wolfssl.h"

#define N 40
#define MAXLEN 16384

static uint64_t seed;
static const char *drv;

struct pair {
    struct zrec_session *dev, *ref, *dev_rx, *ref_rx;
    struct zrec_overhead o;
};

static struct pair pair_new(enum zrec_proto proto, enum zrec_aead_id aead,
                            const struct zrec_aead_provider *p)
{
    uint8_t k1[64], k2[64];
    test_fill(k1, sizeof k1, &seed);
    test_fill(k2, sizeof k2, &seed);
    uint16_t epoch = proto == ZREC_DTLS12 ? 1 : proto == ZREC_DTLS13 ? 3 : 0;
    const struct zrec_aead_provider *ref = zrec_provider_ipsecmb();
    struct pair t = {test_session(proto, aead, p, NULL, 0, NULL, 0),
                     test_session(proto, aead, ref, NULL, 0, NULL, 0),
                     test_session(proto, aead, p, NULL, 0, NULL, 0),
                     test_session(proto, aead, ref, NULL, 0, NULL, 0),
                     {0, 0}};
    CHECK(t.dev && t.ref && t.dev_rx && t.ref_rx, "sessions (%s)", zrec_aead_name(aead));
    test_keys(t.dev, k1, k2, 0, epoch);
    test_keys(t.ref, k1, k2, 0, epoch);
    test_keys(t.dev_rx, k2, k1, 0, epoch);
    test_keys(t.ref_rx, k2, k1, 0, epoch);
    CHECK(zrec_session_overhead(t.dev, &t.o) == 0, "overhead");
    return t;
}

static void pair_free(struct pair *t)
{
    zrec_session_free(t->dev);
    zrec_session_free(t->ref);
    zrec_session_free(t->dev_rx);
    zrec_session_free(t->ref_rx);
}

struct bufs {
    uint8_t pt[N][MAXLEN];
    uint8_t a[N][ZREC_MAX_HEADROOM + MAXLEN + ZREC_MAX_TAILROOM + 64];
    uint8_t b[N][ZREC_MAX_HEADROOM + MAXLEN + ZREC_MAX_TAILROOM + 64];
    uint8_t dst[N][MAXLEN + 64];
    size_t len[N];
};

/* One burst of N records each way: device and ipsec-mb seal alike (some
 * copy-on-encrypt), each opens the other's (some into a destination): 2 N
 * records through the device's provider. */
static void exchange(struct pair *t, struct bufs *B, bool tamper)
{
    struct zrec_op da[N], rb[N];
    for (int i = 0; i < N; i++) {
        size_t L = B->len[i] = i == 0 ? 0 : i == 1 ? MAXLEN : test_rand(&seed) % 3000;
        test_fill(B->pt[i], L, &seed);
        bool cow = i % 3 == 1;
        memcpy(B->a[i] + t->o.headroom, B->pt[i], L);
        memcpy(B->b[i] + t->o.headroom, B->pt[i], L);
        da[i] = (struct zrec_op){.sess = t->dev, .data = B->a[i] + t->o.headroom,
                                 .len = (uint32_t)L, .headroom = t->o.headroom,
                                 .tailroom = t->o.tailroom, .content_type = 23,
                                 .src = cow ? B->pt[i] : NULL};
        rb[i] = (struct zrec_op){.sess = t->ref, .data = B->b[i] + t->o.headroom,
                                 .len = (uint32_t)L, .headroom = t->o.headroom,
                                 .tailroom = t->o.tailroom, .content_type = 23};
    }
    CHECK(zrec_seal_burst(da, N) == N, "device seal burst: %d", da[0].status);
    CHECK(zrec_seal_burst(rb, N) == N, "ipsec-mb seal burst");
    for (int i = 0; i < N; i++)
        CHECK(da[i].rec_len == rb[i].rec_len && memcmp(da[i].rec, rb[i].rec, da[i].rec_len) == 0,
              "%s: record %d (%zu bytes) differs from ipsec-mb's", drv, i, B->len[i]);
    /* Each opens the other's: the device opens ipsec-mb's records. */
    int bad = tamper ? 1 + (int)(test_rand(&seed) % (N - 1)) : -1;
    if (bad >= 0)
        rb[bad].rec[rb[bad].rec_len - 1] ^= 1;
    struct zrec_op o1[N], o2[N];
    for (int i = 0; i < N; i++) {
        bool into = i % 4 == 2;
        o1[i] = (struct zrec_op){.sess = t->dev_rx, .data = rb[i].rec, .len = rb[i].rec_len,
                                 .dst = into ? B->dst[i] : NULL,
                                 .dst_cap = into ? MAXLEN + 64 : 0};
        o2[i] = (struct zrec_op){.sess = t->ref_rx, .data = da[i].rec, .len = da[i].rec_len};
    }
    unsigned good = zrec_open_burst(o1, N);
    CHECK(zrec_open_burst(o2, N) == N, "ipsec-mb opens the device's records");
    bool dgram = zrec_session_proto(t->dev) == ZREC_DTLS12 ||
                 zrec_session_proto(t->dev) == ZREC_DTLS13;
    for (int i = 0; i < N; i++) {
        if (bad >= 0 && (i == bad || (!dgram && i > bad))) {
            /* TLS: the first bad record ends the session (RFC 8446 §5.2). */
            CHECK(o1[i].status != 0, "record %d opened after the tampered one", i);
            if (i == bad) {
                CHECK(o1[i].status == -EBADMSG, "tampered: %d", o1[i].status);
                const uint8_t *p = o1[i].dst ? B->dst[i] : rb[i].rec + t->o.headroom;
                for (size_t k = 0; k + 8 <= B->len[i]; k += 8)
                    CHECK(memcmp(p + k, B->pt[i] + k, 8) != 0, "plaintext left at %zu", k);
            }
            continue;
        }
        CHECK(o1[i].status == 0 && o1[i].rec_len == B->len[i] &&
                  memcmp(o1[i].rec, B->pt[i], B->len[i]) == 0,
              "%s opens ipsec-mb's record %d: %d", drv, i, o1[i].status);
        CHECK(o2[i].rec_len == B->len[i] && memcmp(o2[i].rec, B->pt[i], B->len[i]) == 0,
              "ipsec-mb opens the device's record %d", i);
    }
    CHECK(good == (unsigned)N - (bad < 0 ? 0 : dgram ? 1 : (unsigned)(N - bad)), "%u opened",
          good);
}

static const enum zrec_proto protos[] = {ZREC_TLS12, ZREC_TLS13, ZREC_DTLS12, ZREC_DTLS13};

static struct bufs *B;

static void differential(struct zrec_offload *o)
{
    static const enum zrec_aead_id aeads[] = {ZREC_AES_128_GCM, ZREC_AES_256_GCM,
                                              ZREC_CHACHA20_POLY1305, ZREC_AES_128_CCM,
                                              ZREC_AES_128_CCM_8};
    int offered = 0;
    for (size_t a = 0; a < sizeof aeads / sizeof *aeads; a++) {
        if (!zrec_offload_supports(o, aeads[a])) {
            struct zrec_session_params sp = {.proto = ZREC_TLS13, .aead = aeads[a],
                                             .hash = ZREC_SHA256,
                                             .provider = zrec_offload_provider(o)};
            errno = 0;
            CHECK(zrec_session_new(&sp) == NULL && errno == ENOTSUP,
                  "%s: %s not offered, yet a session was made", drv, zrec_aead_name(aeads[a]));
            printf("%s: %s not offered by the device\n", drv, zrec_aead_name(aeads[a]));
            continue;
        }
        offered++;
        for (size_t p = 0; p < sizeof protos / sizeof *protos; p++) {
            struct zrec_offload_stats s0, s1;
            zrec_offload_stats_get(o, &s0);
            struct pair t = pair_new(protos[p], aeads[a], zrec_offload_provider(o));
            exchange(&t, B, false);
            exchange(&t, B, false);
            pair_free(&t);
            t = pair_new(protos[p], aeads[a], zrec_offload_provider(o));
            exchange(&t, B, true);
            pair_free(&t);
            zrec_offload_stats_get(o, &s1);
            uint64_t fb = (s1.fallback_full - s0.fallback_full) +
                          (s1.fallback_error - s0.fallback_error) +
                          (s1.fallback_no_qp - s0.fallback_no_qp) +
                          (s1.fallback_aad - s0.fallback_aad);
            CHECK(s1.device_ops - s0.device_ops >= 4 * N && fb == 0 &&
                      s1.auth_failures - s0.auth_failures == 1,
                  "%s %s: %lu device ops, %lu in software, %lu auth failures", drv,
                  zrec_proto_name(protos[p]), (unsigned long)(s1.device_ops - s0.device_ops),
                  (unsigned long)fb, (unsigned long)(s1.auth_failures - s0.auth_failures));
            printf("%s: %s %s: %lu records on the device (%s), identical to ipsec-mb's\n", drv,
                   zrec_proto_name(protos[p]), zrec_aead_name(aeads[a]),
                   (unsigned long)(s1.device_ops - s0.device_ops),
                   zrec_offload_cpu_path(o, aeads[a]) ? "its CPU path" : "its queue pair");
        }
    }
    CHECK(offered > 0, "%s offers none of zrec's AEADs", drv);
}

static enum zrec_aead_id first_aead(struct zrec_offload *o);

/* Records the device cannot take: DTLS 1.2 with 50-byte connection IDs has
 * a 73-byte AAD (RFC 9146 §5), beyond what the provider puts on a device.
 * Every such record is sealed and opened in software, counted, and still
 * identical to ipsec-mb's. */
static void aad_refused(struct zrec_offload *o)
{
    enum zrec_aead_id aead = first_aead(o);
    uint8_t cid[50], k1[64], k2[64];
    test_fill(cid, sizeof cid, &seed);
    test_fill(k1, sizeof k1, &seed);
    test_fill(k2, sizeof k2, &seed);
    const struct zrec_aead_provider *p = zrec_offload_provider(o), *ref = zrec_provider_ipsecmb();
    struct pair t = {test_session(ZREC_DTLS12, aead, p, cid, 50, cid, 50),
                     test_session(ZREC_DTLS12, aead, ref, cid, 50, cid, 50),
                     test_session(ZREC_DTLS12, aead, p, cid, 50, cid, 50),
                     test_session(ZREC_DTLS12, aead, ref, cid, 50, cid, 50),
                     {0, 0}};
    test_keys(t.dev, k1, k2, 0, 1);
    test_keys(t.ref, k1, k2, 0, 1);
    test_keys(t.dev_rx, k2, k1, 0, 1);
    test_keys(t.ref_rx, k2, k1, 0, 1);
    CHECK(zrec_session_overhead(t.dev, &t.o) == 0, "overhead");
    struct zrec_offload_stats s0, s1;
    zrec_offload_stats_get(o, &s0);
    exchange(&t, B, false);
    zrec_offload_stats_get(o, &s1);
    CHECK(s1.fallback_aad - s0.fallback_aad == 2 * N && s1.device_ops == s0.device_ops,
          "%s: 73-byte AAD: %lu in software, %lu on the device", drv,
          (unsigned long)(s1.fallback_aad - s0.fallback_aad),
          (unsigned long)(s1.device_ops - s0.device_ops));
    pair_free(&t);
    printf("%s: records with a 73-byte AAD done in software (%d), identical\n", drv, 2 * N);
}

static enum zrec_aead_id first_aead(struct zrec_offload *o)
{
    return zrec_offload_supports(o, ZREC_AES_128_GCM) ? ZREC_AES_128_GCM
                                                      : ZREC_CHACHA20_POLY1305;
}

/* A queue pair of 4 descriptors and bursts of 40: back-pressure, not
 * loss — the provider keeps no more in flight than the queue holds, and
 * the device does every record. */
static void queue_full(struct zrec_offload *small)
{
    struct zrec_offload_stats s0, s1;
    zrec_offload_stats_get(small, &s0);
    struct pair t = pair_new(ZREC_TLS13, first_aead(small), zrec_offload_provider(small));
    exchange(&t, B, false);
    exchange(&t, B, false);
    pair_free(&t);
    zrec_offload_stats_get(small, &s1);
    CHECK(s1.device_ops - s0.device_ops == 4 * N && s1.fallback_full == s0.fallback_full,
          "%s: queue of 4: %lu on the device, %lu queue-full fallbacks", drv,
          (unsigned long)(s1.device_ops - s0.device_ops),
          (unsigned long)(s1.fallback_full - s0.fallback_full));
    printf("%s: queue of 4, bursts of %d: all %d records on the device, identical\n", drv, N,
           4 * N);
}

/* Stopped under its sessions: every record in software, nothing lost;
 * started again, the device takes them again. */
static void stopped(struct zrec_offload *o, uint8_t dev)
{
    struct pair t = pair_new(ZREC_DTLS13, first_aead(o), zrec_offload_provider(o));
    exchange(&t, B, false);
    rte_cryptodev_stop(dev);
    struct zrec_offload_stats s0, s1;
    zrec_offload_stats_get(o, &s0);
    exchange(&t, B, false);
    zrec_offload_stats_get(o, &s1);
    CHECK(s1.device_ops == s0.device_ops && s1.fallback_full - s0.fallback_full == 2 * N,
          "%s stopped: %lu device ops, %lu fallbacks", drv,
          (unsigned long)(s1.device_ops - s0.device_ops),
          (unsigned long)(s1.fallback_full - s0.fallback_full));
    CHECK(rte_cryptodev_start(dev) == 0, "restart");
    exchange(&t, B, false);
    zrec_offload_stats_get(o, &s0);
    CHECK(s0.device_ops > s1.device_ops, "%s: the device takes records again", drv);
    pair_free(&t);
    printf("%s: stopped mid-run: %d records in software, identical; restarted: on the device\n",
           drv, 2 * N);
}

struct thr {
    struct zrec_offload *o;
    struct bufs *b;
};

static void *thread_main(void *arg)
{
    struct thr *th = arg;
    struct pair t = pair_new(ZREC_TLS12, first_aead(th->o), zrec_offload_provider(th->o));
    for (int r = 0; r < 3; r++)
        exchange(&t, th->b, false);
    pair_free(&t);
    return NULL;
}

/* Two threads on a device with two queue pairs: each its own, both on the
 * device.  Then a third thread: no queue pair left, in software. */
static void threads(struct zrec_offload *o2)
{
    struct zrec_offload_stats s0, s1;
    zrec_offload_stats_get(o2, &s0);
    pthread_t th[2];
    struct thr arg[2];
    for (int i = 0; i < 2; i++) {
        arg[i] = (struct thr){o2, malloc(sizeof(struct bufs))};
        CHECK(arg[i].b != NULL, "malloc");
        CHECK(pthread_create(&th[i], NULL, thread_main, &arg[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    zrec_offload_stats_get(o2, &s1);
    CHECK(s1.device_ops - s0.device_ops == 2 * 3 * 2 * N && s1.fallback_no_qp == s0.fallback_no_qp,
          "%s: two threads: %lu on the device", drv,
          (unsigned long)(s1.device_ops - s0.device_ops));
    pthread_create(&th[0], NULL, thread_main, &arg[0]);
    pthread_join(th[0], NULL);
    zrec_offload_stats_get(o2, &s0);
    CHECK(s0.fallback_no_qp - s1.fallback_no_qp == 3 * 2 * N && s0.device_ops == s1.device_ops,
          "%s: third thread: %lu in software", drv,
          (unsigned long)(s0.fallback_no_qp - s1.fallback_no_qp));
    free(arg[0].b);
    free(arg[1].b);
    printf("%s: two threads on two queue pairs; a third in software, identical\n", drv);
}

/* wolfSSL's own AES-GCM on the device (zrec_wolfssl_crypto_device): what
 * wolfCrypt computes on a plain Aes, and a wrong tag refused. */
static void wolfssl_device(struct zrec_offload *o)
{
    int dev = zrec_wolfssl_crypto_device(zrec_offload_provider(o));
    if (!zrec_offload_supports(o, ZREC_AES_128_GCM)) {
        CHECK(dev == -ENOTSUP, "%s: a wolfSSL device without AES-GCM: %d", drv, dev);
        printf("%s: no AES-GCM, no wolfSSL crypto device (-ENOTSUP)\n", drv);
        return;
    }
    CHECK(dev >= 0, "zrec_wolfssl_crypto_device: %d", dev);
    struct zrec_offload_stats s0, s1;
    zrec_offload_stats_get(o, &s0);
    uint8_t key[16], iv[12], aad[13], pt[1000], ct[2][1000], tag[2][16], back[1000];
    test_fill(key, sizeof key, &seed);
    test_fill(iv, sizeof iv, &seed);
    test_fill(aad, sizeof aad, &seed);
    test_fill(pt, sizeof pt, &seed);
    Aes a[2];
    for (int i = 0; i < 2; i++) {
        CHECK(wc_AesInit(&a[i], NULL, i ? dev : INVALID_DEVID) == 0, "AesInit");
        CHECK(wc_AesGcmSetKey(&a[i], key, sizeof key) == 0, "SetKey");
        CHECK(wc_AesGcmEncrypt(&a[i], ct[i], pt, sizeof pt, iv, sizeof iv, tag[i], 16, aad,
                               sizeof aad) == 0,
              "encrypt");
    }
    CHECK(memcmp(ct[0], ct[1], sizeof pt) == 0 && memcmp(tag[0], tag[1], 16) == 0,
          "%s: wolfSSL's AES-GCM through the device differs from wolfCrypt's", drv);
    CHECK(wc_AesGcmDecrypt(&a[1], back, ct[1], sizeof pt, iv, sizeof iv, tag[1], 16, aad,
                           sizeof aad) == 0 &&
              memcmp(back, pt, sizeof pt) == 0,
          "decrypt through the device");
    tag[1][0] ^= 1;
    CHECK(wc_AesGcmDecrypt(&a[1], back, ct[1], sizeof pt, iv, sizeof iv, tag[1], 16, aad,
                           sizeof aad) == AES_GCM_AUTH_E,
          "a wrong tag through the device");
    zrec_offload_stats_get(o, &s1);
    CHECK(s1.device_ops - s0.device_ops == 3, "%s: %lu of wolfSSL's operations on the device",
          drv, (unsigned long)(s1.device_ops - s0.device_ops));
    wc_AesFree(&a[0]);
    wc_AesFree(&a[1]);
    zrec_wolfssl_crypto_device_remove(dev);
    printf("%s: wolfSSL's own AES-GCM on the device (crypto callback), identical\n", drv);
}

/* The asynchronous pipeline (zrec_async_*) on the device: records
 * submitted in slices and collected later come back in order, are
 * byte-identical to ipsec-mb's and open back (asynchronously too); a
 * synchronous burst on the same thread and queue pair meanwhile (its
 * dequeues meet the pipeline's ops: they must not be lost); the device
 * stopped with ops in flight — all still come back, right. */
static unsigned async_all(struct zrec_async *q, struct zrec_op *ops, unsigned n, bool seal,
                          void (*during)(void *), void (*later)(void *), void *arg)
{
    struct zrec_op *done[64];
    unsigned next = 0, back = 0;
    bool ran = during == NULL;
    int ran_at = -1;
    for (int spin = 0; back < n && spin < 1000000; spin++) {
        if (later && ran_at >= 0 && spin == ran_at + 1000)
            later(arg); /* a while after `during` */
        if (next < n) {
            unsigned want = RTE_MIN(7u, n - next);
            next += seal ? zrec_async_seal(q, ops + next, want) : zrec_async_open(q, ops + next, want);
        }
        if (!ran && next > n / 2) {
            during(arg);
            ran = true;
            ran_at = spin;
        }
        unsigned k = zrec_async_poll(q, done, 64);
        for (unsigned j = 0; j < k; j++) {
            CHECK(done[j] == &ops[back], "async op %u came back where %u was due",
                  (unsigned)(done[j] - ops), back);
            back++;
        }
    }
    return back;
}

static void sync_meanwhile(void *arg)
{
    struct zrec_offload *o = arg;
    struct pair u = pair_new(ZREC_TLS12, first_aead(o), zrec_offload_provider(o));
    exchange(&u, B, false);
    pair_free(&u);
}

static uint8_t stop_dev;
static void stop_meanwhile(void *arg)
{
    (void)arg;
    rte_cryptodev_stop(stop_dev); /* ops in flight stay in its queue */
}
static void start_again(void *arg)
{
    (void)arg;
    CHECK(rte_cryptodev_start(stop_dev) == 0, "restart");
}

static void async_pipeline(struct zrec_offload *o, uint8_t dev)
{
    enum { AN = N }; /* struct bufs holds N records */
    struct bufs *A = malloc(sizeof *A);
    CHECK(A != NULL, "malloc");
    struct zrec_async *q = zrec_async_new(zrec_offload_provider(o), 32);
    CHECK(q != NULL, "zrec_async_new: %s", strerror(errno));
    stop_dev = dev;
    for (int round = 0; round < 2; round++) {
        struct pair t = pair_new(round ? ZREC_DTLS13 : ZREC_TLS13, first_aead(o),
                                 zrec_offload_provider(o));
        struct zrec_op ops[AN], opens[AN];
        for (int i = 0; i < AN; i++) {
            size_t L = A->len[i] = test_rand(&seed) % 3000;
            test_fill(A->pt[i], L, &seed);
            memcpy(A->a[i] + t.o.headroom, A->pt[i], L);
            ops[i] = (struct zrec_op){.sess = t.dev, .data = A->a[i] + t.o.headroom,
                                      .len = (uint32_t)L, .headroom = t.o.headroom,
                                      .tailroom = t.o.tailroom, .content_type = 23};
        }
        struct zrec_offload_stats s0, s1;
        zrec_offload_stats_get(o, &s0);
        /* Round 0: a synchronous exchange meanwhile.  Round 1: the device
         * stopped with ops in flight (what comes meanwhile is done in
         * software; nothing behind the stuck ones is handed out before
         * them), then started again. */
        unsigned back = round == 0 ? async_all(q, ops, AN, true, sync_meanwhile, NULL, o)
                                   : async_all(q, ops, AN, true, stop_meanwhile, start_again, NULL);
        CHECK(back == AN, "%u of %d async seals back", back, AN);
        for (int i = 0; i < AN; i++) {
            CHECK(ops[i].status == 0, "async seal %d: %d", i, ops[i].status);
            memcpy(A->b[i] + t.o.headroom, A->pt[i], A->len[i]);
            uint8_t *rec;
            int n = zrec_seal_record(t.ref, 23, A->b[i] + t.o.headroom, A->len[i], t.o.headroom,
                                     t.o.tailroom, &rec);
            CHECK(n > 0 && (uint32_t)n == ops[i].rec_len && memcmp(rec, ops[i].rec, (size_t)n) == 0,
                  "%s: async record %d differs from ipsec-mb's", drv, i);
        }
        for (int i = 0; i < AN; i++)
            opens[i] = (struct zrec_op){.sess = t.dev_rx, .data = ops[i].rec, .len = ops[i].rec_len};
        back = async_all(q, opens, AN, false, NULL, NULL, NULL);
        CHECK(back == AN, "%u of %d async opens back", back, AN);
        for (int i = 0; i < AN; i++)
            CHECK(opens[i].status == 0 && opens[i].rec_len == A->len[i] &&
                      memcmp(opens[i].rec, A->pt[i], A->len[i]) == 0,
                  "%s: async open %d: %d", drv, i, opens[i].status);
        zrec_offload_stats_get(o, &s1);
        CHECK(s1.device_ops - s0.device_ops >= (round ? AN : 2 * AN),
              "%s: %lu async records on the device", drv,
              (unsigned long)(s1.device_ops - s0.device_ops));
        pair_free(&t);
    }
    CHECK(zrec_async_free(q) == 0, "free");
    free(A);
    printf("%s: asynchronous pipeline: records identical and in order, with a synchronous burst "
           "and a stopped device meanwhile\n", drv);
}

/* Forced device failures (zrec_offload_params.fault_every): every third
 * record meant for the device is handled as its error status would be.
 * Synchronous bursts (CPU path and queue pair) and the asynchronous
 * pipeline give records byte-identical to ipsec-mb's, in order, nothing
 * lost, and the failures are counted. */
static void faults(struct zrec_offload *f, const char *path)
{
    struct zrec_offload_stats s0, s1;
    zrec_offload_stats_get(f, &s0);
    for (size_t p = 0; p < sizeof protos / sizeof *protos; p++) {
        struct pair t = pair_new(protos[p], first_aead(f), zrec_offload_provider(f));
        exchange(&t, B, false);
        exchange(&t, B, false);
        pair_free(&t);
    }
    zrec_offload_stats_get(f, &s1);
    /* 4 protocols x 2 exchanges x 2 N records through the device's provider. */
    uint64_t dev = s1.device_ops - s0.device_ops, err = s1.fallback_error - s0.fallback_error;
    CHECK(dev + err == 16 * N && err >= 16 * N / 3 - 1 && err <= 16 * N / 3 + 1,
          "%s (%s): %lu on the device, %lu failed over to software (want a third of %d)", drv,
          path, (unsigned long)dev, (unsigned long)err, 16 * N);
    /* The pipeline: failed records are done at once, behind records still
     * on the device; they are released in order all the same. */
    struct zrec_async *q = zrec_async_new(zrec_offload_provider(f), 32);
    CHECK(q != NULL, "zrec_async_new: %s", strerror(errno));
    struct pair t = pair_new(ZREC_DTLS13, first_aead(f), zrec_offload_provider(f));
    struct zrec_op ops[N];
    for (int i = 0; i < N; i++) {
        size_t L = B->len[i] = test_rand(&seed) % 3000;
        test_fill(B->pt[i], L, &seed);
        memcpy(B->a[i] + t.o.headroom, B->pt[i], L);
        ops[i] = (struct zrec_op){.sess = t.dev, .data = B->a[i] + t.o.headroom,
                                  .len = (uint32_t)L, .headroom = t.o.headroom,
                                  .tailroom = t.o.tailroom, .content_type = 23};
    }
    zrec_offload_stats_get(f, &s0);
    CHECK(async_all(q, ops, N, true, NULL, NULL, NULL) == N, "async seals back");
    for (int i = 0; i < N; i++) {
        memcpy(B->b[i] + t.o.headroom, B->pt[i], B->len[i]);
        uint8_t *rec;
        int n = zrec_seal_record(t.ref, 23, B->b[i] + t.o.headroom, B->len[i], t.o.headroom,
                                 t.o.tailroom, &rec);
        CHECK(ops[i].status == 0 && n > 0 && (uint32_t)n == ops[i].rec_len &&
                  memcmp(rec, ops[i].rec, (size_t)n) == 0,
              "%s: async record %d with failures differs from ipsec-mb's", drv, i);
    }
    zrec_offload_stats_get(f, &s1);
    err = s1.fallback_error - s0.fallback_error;
    CHECK(err >= N / 3 - 1 && s1.device_ops > s0.device_ops,
          "%s: async: %lu failed over, %lu on the device", drv, (unsigned long)err,
          (unsigned long)(s1.device_ops - s0.device_ops));
    pair_free(&t);
    CHECK(zrec_async_free(q) == 0, "free");
    printf("%s (%s): a third of the records failed on purpose: all redone in software, "
           "identical to ipsec-mb's, in order (%lu async failovers)\n", drv, path,
           (unsigned long)err);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DRIVER [SEED]\n", argv[0]);
        return 2;
    }
    drv = argv[1];
    seed = argc > 2 ? strtoull(argv[2], NULL, 10) : (uint64_t)time(NULL);
    printf("seed %llu, device driver %s\n", (unsigned long long)seed, drv);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "--file-prefix=zrec-offload-%d", (int)getpid());
    char *eal[] = {argv[0], "--no-huge", "--no-pci", "-m", "512", "--no-shconf", prefix,
                   "--no-telemetry", "-l", "0", "--log-level=lib.eal:warning", NULL};
    CHECK(rte_eal_init(11, eal) >= 0, "rte_eal_init: %s", rte_strerror(rte_errno));
    B = malloc(sizeof *B);
    CHECK(B != NULL, "malloc");
    char name[64], err[256];
    snprintf(name, sizeof name, "%s0", drv);
    struct zrec_offload *o = zrec_offload_cryptodev_new(name, NULL, err, sizeof err);
    CHECK(o != NULL, "%s: %s", name, err);
    CHECK(strcmp(zrec_offload_driver(o), drv) == 0, "driver %s", zrec_offload_driver(o));
    printf("device %s (driver %s), provider %s\n", name, zrec_offload_driver(o),
           zrec_provider_name(zrec_offload_provider(o)));
    differential(o);
    wolfssl_device(o);
    async_pipeline(o, (uint8_t)rte_cryptodev_get_dev_id(name));
    /* The same through the queue pair where the device has a CPU path too
     * (then the default for synchronous bursts); the device stopped under
     * it; the queue's back-pressure; queue pairs per thread. */
    snprintf(name, sizeof name, "%s3", drv);
    struct zrec_offload_params queue = {.no_cpu_crypto = true};
    struct zrec_offload *oq = zrec_offload_cryptodev_new(name, &queue, err, sizeof err);
    CHECK(oq != NULL, "%s: %s", name, err);
    printf("%s: synchronous bursts through the queue pair:\n", drv);
    differential(oq);
    aad_refused(o);
    aad_refused(oq);
    stopped(oq, (uint8_t)rte_cryptodev_get_dev_id(name));
    snprintf(name, sizeof name, "%s1", drv);
    struct zrec_offload_params small = {.queue_pairs = 1, .queue_depth = 4,
                                        .no_cpu_crypto = true};
    struct zrec_offload *q = zrec_offload_cryptodev_new(name, &small, err, sizeof err);
    CHECK(q != NULL, "%s: %s", name, err);
    queue_full(q);
    snprintf(name, sizeof name, "%s2", drv);
    struct zrec_offload_params two = {.queue_pairs = 2, .no_cpu_crypto = true};
    struct zrec_offload *t2 = zrec_offload_cryptodev_new(name, &two, err, sizeof err);
    CHECK(t2 != NULL, "%s: %s", name, err);
    threads(t2);
    snprintf(name, sizeof name, "%s4", drv);
    struct zrec_offload_params fq = {.no_cpu_crypto = true, .fault_every = 3};
    struct zrec_offload *fo = zrec_offload_cryptodev_new(name, &fq, err, sizeof err);
    CHECK(fo != NULL, "%s: %s", name, err);
    faults(fo, "queue pair");
    struct zrec_offload *fc = NULL;
    if (zrec_offload_cpu_path(o, first_aead(o))) {
        snprintf(name, sizeof name, "%s5", drv);
        struct zrec_offload_params fcp = {.fault_every = 3};
        fc = zrec_offload_cryptodev_new(name, &fcp, err, sizeof err);
        CHECK(fc != NULL, "%s: %s", name, err);
        faults(fc, "CPU path");
    }
    /* Freed together at the end: crypto_openssl keeps a freed device's
     * queue rings, and a device made after it would take its id and clash. */
    if (fc)
        zrec_offload_free(fc);
    zrec_offload_free(fo);
    zrec_offload_free(t2);
    zrec_offload_free(q);
    zrec_offload_free(oq);
    zrec_offload_free(o);
    free(B);
    char rundir[PATH_MAX];
    snprintf(rundir, sizeof rundir, "%s", rte_eal_get_runtime_dir());
    rte_eal_cleanup();
    rmdir(rundir);
    printf("ok %s\n", drv);
    return 0;
}
