/* A DPDK data plane's view of zrec (pkg-config zrec-dpdk): EAL without
 * hugepages or devices, one mbuf, one TLS 1.3 record sealed in it and
 * opened back. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <zrec/dpdk.h>

int main(int argc, char **argv)
{
    (void)argc;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "--file-prefix=zrec-pc-%d", (int)getpid());
    char *eal[] = {argv[0], "--no-huge", "--no-pci", "-m", "64", "--no-shconf", prefix,
                   "--no-telemetry", "-l", "0", "--log-level=lib.eal:error", NULL};
    if (rte_eal_init(11, eal) < 0)
        return 1;
    struct rte_mempool *mp = rte_pktmbuf_pool_create("p", 63, 0, 0,
                                                     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    struct zrec_session_params sp = {.proto = ZREC_TLS13, .aead = ZREC_AES_128_GCM,
                                     .hash = ZREC_SHA256};
    struct zrec_session *a = zrec_session_new(&sp), *b = zrec_session_new(&sp);
    uint8_t secret[32] = {1};
    struct zrec_traffic_keys k = {.secret = secret, .secret_len = sizeof secret};
    if (mp == NULL || a == NULL || b == NULL || zrec_session_set_keys(a, ZREC_DIR_WRITE, &k) ||
        zrec_session_set_keys(b, ZREC_DIR_READ, &k))
        return 1;
    struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
    memcpy(rte_pktmbuf_append(m, 5), "hello", 5);
    struct zrec_dpdk_op op = {.sess = a, .m = m, .content_type = 23};
    if (zrec_dpdk_seal_burst(&op, 1, NULL) != 1)
        return 1;
    printf("sealed: %u-byte record in the mbuf\n", rte_pktmbuf_pkt_len(m));
    op = (struct zrec_dpdk_op){.sess = b, .m = m};
    if (zrec_dpdk_open_burst(&op, 1) != 1 || op.rec_len != 5 ||
        memcmp(rte_pktmbuf_mtod_offset(m, char *, op.pt_off), "hello", 5) != 0)
        return 1;
    rte_pktmbuf_free(m);
    zrec_session_free(a);
    zrec_session_free(b);
    rte_mempool_free(mp);
    char rundir[4096];
    snprintf(rundir, sizeof rundir, "%s", rte_eal_get_runtime_dir());
    rte_eal_cleanup();
    rmdir(rundir);
    printf("ok\n");
    return 0;
}
