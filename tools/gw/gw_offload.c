/*
 * zrec-gw --provider cryptodev:DEVICE: records' AEAD on a DPDK crypto device
 * (zrec/offload.h), wolfSSL's own AES-GCM of the handshakes too (a crypto
 * callback device, zrec/wolfssl.h).  EAL runs without hugepages or PCI
 * devices unless ZREC_GW_EAL gives its arguments; each worker takes a
 * queue pair of its own on its first record (workers beyond the device's
 * queue pairs run in software, counted).
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "gw.h"
#include "zrec/offload.h"

static struct zrec_offload *off;
static char rundir[PATH_MAX];

/* EAL leaves its runtime directory behind, empty (--no-shconf): removed
 * whichever way the process ends. */
static void remove_rundir(void)
{
    if (rundir[0])
        rmdir(rundir);
}

const struct zrec_aead_provider *gw_offload_start(const char *device, char *err, size_t errlen)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "--file-prefix=zrec-gw-%d", (int)getpid());
    char *argv[32] = {"zrec-gw"};
    int argc = 1;
    char *own = getenv("ZREC_GW_EAL") ? strdup(getenv("ZREC_GW_EAL")) : NULL;
    if (own) {
        for (char *t = strtok(own, " "); t && argc < 31; t = strtok(NULL, " "))
            argv[argc++] = t;
    } else {
        static char *dflt[] = {"--no-huge", "--no-pci", "-m", "256", "--no-shconf",
                               "--no-telemetry", "-l", "0", "--log-level=*:error"};
        for (size_t i = 0; i < sizeof dflt / sizeof *dflt; i++)
            argv[argc++] = dflt[i];
        argv[argc++] = prefix;
    }
    argv[argc] = NULL;
    /* EAL pins the calling thread to its main lcore; the main thread only
     * waits for signals, and the workers pin themselves: put it back. */
    cpu_set_t saved;
    bool have = sched_getaffinity(0, sizeof saved, &saved) == 0;
    int rc = rte_eal_init(argc, argv);
    if (have)
        (void)sched_setaffinity(0, sizeof saved, &saved);
    if (rc < 0) {
        snprintf(err, errlen, "rte_eal_init: %s", rte_strerror(rte_errno));
        return NULL;
    }
    snprintf(rundir, sizeof rundir, "%s", rte_eal_get_runtime_dir());
    atexit(remove_rundir);
    off = zrec_offload_cryptodev_new(device, NULL, err, errlen);
    return off ? zrec_offload_provider(off) : NULL;
}

size_t gw_offload_stats(char *buf, size_t cap)
{
    if (off == NULL || cap == 0)
        return 0;
    struct zrec_offload_stats s;
    zrec_offload_stats_get(off, &s);
    int n = snprintf(buf, cap,
                     "offload_device_ops %lu\noffload_auth_failures %lu\n"
                     "offload_fallback_full %lu\noffload_fallback_error %lu\n"
                     "offload_fallback_no_qp %lu\noffload_fallback_aad %lu\n",
                     (unsigned long)s.device_ops, (unsigned long)s.auth_failures,
                     (unsigned long)s.fallback_full, (unsigned long)s.fallback_error,
                     (unsigned long)s.fallback_no_qp, (unsigned long)s.fallback_aad);
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap;
}

void gw_offload_stop(void)
{
    if (off == NULL)
        return;
    zrec_offload_free(off);
    off = NULL;
    rte_eal_cleanup();
}
