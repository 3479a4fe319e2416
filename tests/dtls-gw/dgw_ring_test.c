/*
 * The data plane between two net_ring ports (tools/dtls-gw/dgw_ring.h): a
 * load generator built on the engine makes real handshakes with the
 * gateway, then sends bursts of records; everything must come back, byte
 * for byte, through open → backend → seal, for the plain loop, DTLS 1.2
 * and DTLS 1.3 (with connection IDs), on ipsec-mb and on wolfCrypt.
 *
 *   dgw_ring_test CERT_DIR [CLIENTS] [EXCHANGES]
 *
 * Prints the gateway's records per second (its rounds' cycles only): a
 * figure to look at, not a pass condition (zrec-bench's dtls-gw:* points
 * are the measurement).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>

#include <rte_ip.h>

#include "dgw.h"
#include "dgw_ring.h"

static int failures;

#define CHECK(c, ...)                                                                             \
    do {                                                                                          \
        if (!(c)) {                                                                               \
            fprintf(stderr, "FAIL: " __VA_ARGS__);                                                \
            fprintf(stderr, "\n");                                                                \
            failures++;                                                                           \
        }                                                                                         \
    } while (0)

static void run(const char *certs, int dtls, const char *provider, unsigned clients, unsigned size,
                unsigned exchanges)
{
    char err[256];
    struct dgw_ring_opts o = {.dtls = dtls, .clients = clients, .size = size, .cert_dir = certs,
                              .provider = provider};
    struct dgw_ring *r = dgw_ring_new(&o, err, sizeof err);
    CHECK(r != NULL, "dtls %d %s: %s", dtls, provider ? provider : "", err);
    if (r == NULL)
        return;
    unsigned long records = 0, answers = 0, bad = 0;
    uint64_t cycles = 0;
    for (unsigned i = 0; i < exchanges; i++) {
        struct dgw_ring_result res;
        int rc = dgw_ring_exchange(r, &res);
        CHECK(rc == 0, "exchange %u: %d", i, rc);
        if (rc != 0)
            break;
        CHECK(res.answers == 32 && res.bad == 0, "exchange %u: %u answers, %u wrong", i,
              res.answers, res.bad);
        records += res.records;
        answers += res.answers;
        bad += res.bad;
        cycles += res.gw_cycles;
    }
    CHECK(records == 64ul * exchanges, "records through the gateway: %lu", records);
    double secs = (double)cycles / (double)rte_get_tsc_hz();
    char sz[16];
    snprintf(sz, sizeof sz, "%u", size);
    printf("%-6s %-9s clients %u size %-7s: %lu datagrams back intact, %lu wrong; gateway %.2f M "
           "records/s\n",
           dtls ? (dtls == 12 ? "dtls12" : "dtls13") : "plain", provider ? provider : "ipsecmb",
           clients, size ? sz : "1..1400", answers, bad, secs > 0 ? records / secs / 1e6 : 0);
    if (failures)
        dgw_ring_print(r, stderr);
    dgw_ring_free(r);
}

/* dgw_cksum (eight bytes a step) against DPDK's rte_raw_cksum: every
 * length 0..1600 at every start address modulo 8, random bytes, random
 * initial sums; all-zero and all-ones data too. */
static void checksums(void)
{
    static uint8_t buf[1700];
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < sizeof buf; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
    unsigned wrong = 0;
    for (size_t off = 0; off < 8; off++)
        for (size_t len = 0; len <= 1600; len++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            uint32_t init = x & 0xffff;
            uint32_t ref = __rte_raw_cksum(buf + off, len, init);
            if (dgw_cksum(buf + off, len, init) != __rte_raw_cksum_reduce(ref))
                wrong++;
        }
    static const uint8_t zeros[64], ones[64] = {[0 ... 63] = 0xff};
    CHECK(dgw_cksum(zeros, sizeof zeros, 0) == rte_raw_cksum(zeros, sizeof zeros), "zeros");
    CHECK(dgw_cksum(ones, sizeof ones, 0) == rte_raw_cksum(ones, sizeof ones), "ones");
    CHECK(wrong == 0, "dgw_cksum differs from rte_raw_cksum %u times", wrong);
    printf("dgw_cksum: equal to rte_raw_cksum for 8 x 1601 lengths and alignments\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: dgw_ring_test CERT_DIR [CLIENTS] [EXCHANGES]\n");
        return 2;
    }
    unsigned clients = argc > 2 ? (unsigned)atoi(argv[2]) : 256;
    unsigned exchanges = argc > 3 ? (unsigned)atoi(argv[3]) : 500;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "--file-prefix=dgw-ring-%d", (int)getpid());
    char *eal[] = {"dgw_ring_test", "--no-huge", "--no-pci", "-m", "512", "--no-shconf", prefix,
                   "--no-telemetry", "-l", "0", "--log-level=*:error", NULL};
    if (rte_eal_init(11, eal) < 0) {
        fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
        return 1;
    }
    checksums();
    char rundir[512];
    snprintf(rundir, sizeof rundir, "%s", rte_eal_get_runtime_dir());
    run(argv[1], 0, NULL, clients, 0, exchanges);
    run(argv[1], 12, NULL, clients, 0, exchanges);
    run(argv[1], 13, NULL, clients, 0, exchanges);
    run(argv[1], 13, "wolfcrypt", clients / 4 ? clients / 4 : 1, 0, exchanges / 4 + 1);
    run(argv[1], 12, NULL, 1, 64, exchanges); /* one session: 32 records of one burst */
    rte_eal_cleanup();
    rmdir(rundir);
    printf("%s\n", failures ? "FAILED" : "all intact");
    return failures ? 1 : 0;
}
