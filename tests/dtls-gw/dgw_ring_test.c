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
