/*
 * zrec-dtls-gw: the DTLS data plane on DPDK (docs/DTLS-GW.md).
 *
 * One lcore polls one port: frames in (rte_eth_rx_burst), ARP answered,
 * UDP datagrams to our address matched to flows, frames out
 * (rte_eth_tx_burst).  A flow is a client address and port; its datagrams
 * go to the backend from a port of ours that names the flow, so that the
 * backend's replies find their way back (a NAT, by port).
 *
 * By default a flow is a DTLS session (dgw_dtls.c): records are opened
 * before they go to the backend and replies sealed before they go back.
 * With --plain the payloads go through unchanged: the same loop with the
 * crypto removed, the physical reference of the data plane.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_mbuf.h>

#include "dgw.h"
#include "zrec/offload.h"

static const char usage_text[] =
    "NAME\n"
    "    zrec-dtls-gw - the DTLS data plane on DPDK\n"
    "\n"
    "SYNOPSIS\n"
    "    zrec-dtls-gw [EAL options] -- --ip A.B.C.D --backend A.B.C.D:PORT\n"
    "                 (--cert FILE --key FILE | --plain) [options]\n"
    "\n"
    "DESCRIPTION\n"
    "    Owns DPDK port --port (e.g. a net_tap or net_memif virtual device given\n"
    "    to EAL with --vdev), answers ARP for --ip, and terminates DTLS 1.2 and\n"
    "    DTLS 1.3 for the clients that send to --ip:--listen-port: handshakes by\n"
    "    wolfSSL (stateless cookies first), then records opened and sealed by\n"
    "    zrec in place in the mbufs, in bursts across sessions.  Each client's\n"
    "    plaintext goes to --backend as UDP, from a port of its own (20000 +\n"
    "    the flow's number), so that the backend's replies, sealed, go back to\n"
    "    that client.  DTLS 1.3 clients get a connection ID and keep their\n"
    "    session when their address changes.  With --plain the UDP payloads are\n"
    "    forwarded unchanged (no DTLS): the reference loop without crypto.\n"
    "\n"
    "OPTIONS\n"
    "    --ip A.B.C.D            our IPv4 address on the port's link\n"
    "    --backend A.B.C.D:PORT  where client payloads go (on the same link)\n"
    "    --cert FILE             the server certificate (chain), PEM or DER\n"
    "    --key FILE              its private key, PEM or DER\n"
    "    --dtls VERSIONS         1.2, 1.3 or 1.2,1.3 (default: both; a client\n"
    "                            offering 1.3 gets 1.3)\n"
    "    --no-cid                give DTLS 1.3 clients no connection ID\n"
    "    --provider NAME         the records' AEAD: ipsecmb (default),\n"
    "                            wolfcrypt, or cryptodev:DEVICE, a DPDK crypto\n"
    "                            device given to EAL (--vdev crypto_aesni_gcm0)\n"
    "    --plain                 forward UDP payloads unchanged (no DTLS)\n"
    "    --port N                DPDK port id (default 0)\n"
    "    --listen-port N         UDP port clients send to (default 4433)\n"
    "    --max-flows N           clients at once (default 4096, at most 40000);\n"
    "                            beyond it the session silent longest makes\n"
    "                            room for a client that proved its address\n"
    "                            (--plain: new clients are dropped, counted)\n"
    "    --max-handshakes N      handshakes in progress at once (default 1024);\n"
    "                            each holds a wolfSSL object, tens of KB\n"
    "    --hs-timeout MIN,MAX    handshake retransmission timer in ms: starts\n"
    "                            at MIN, doubles, the handshake fails after MAX\n"
    "                            (default 1000,60000; RFC 6347 4.2.4.1)\n"
    "    --seconds S             stop after S seconds (default: until SIGTERM/SIGINT)\n"
    "    -h, --help              this text\n"
    "\n"
    "OUTPUT\n"
    "    'zrec-dtls-gw: listening on A.B.C.D:PORT' on stderr when ready; counters\n"
    "    on stdout (one 'name value' per line) when it stops: frames, flows,\n"
    "    cookie requests, handshakes (done, failed, timed out), records opened\n"
    "    and sealed, records dropped by reason (auth, replay, stale, record),\n"
    "    connection-ID moves, sessions closed.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 after a stop; 1 when start-up fails; 2 for a usage error.\n"
    "\n"
    "EXAMPLE\n"
    "    zrec-dtls-gw --no-huge --no-pci --vdev=net_tap0,iface=dgw0 -- \\\n"
    "        --ip 10.77.0.2 --backend 10.77.0.1:5683 --cert gw.pem --key gw.key\n";

static struct {
    struct dgw_dtls_opts dtls;
    const char *provider;
    bool plain;
    double seconds;
} cfg = {.dtls = {.dtls12 = true, .dtls13 = true, .cid = true, .max_handshakes = 1024,
                  .hs_timeout_min_ms = 1000, .hs_timeout_max_ms = 60000}};

static struct dgw g = {.max_flows = 4096};

static char rundir[PATH_MAX];

/* EAL leaves its runtime directory behind, empty: removed whichever way
 * the process ends (usage errors included). */
static void remove_rundir(void)
{
    if (rundir[0])
        rmdir(rundir);
}

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "zrec-dtls-gw: ");
    fprintf(stderr, msg, arg);
    fprintf(stderr, "\nTry 'zrec-dtls-gw --help'.\n");
    exit(2);
}

static long num(const char *opt, const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        usage_error("%s: not a number in range", opt);
    return v;
}

static void parse(int argc, char **argv)
{
    static const struct option lo[] = {
        {"ip", required_argument, 0, 'i'},       {"backend", required_argument, 0, 'b'},
        {"plain", no_argument, 0, 'P'},          {"port", required_argument, 0, 'p'},
        {"listen-port", required_argument, 0, 'l'},
        {"max-flows", required_argument, 0, 'm'}, {"seconds", required_argument, 0, 's'},
        {"cert", required_argument, 0, 'c'},     {"key", required_argument, 0, 'k'},
        {"dtls", required_argument, 0, 'd'},     {"no-cid", no_argument, 0, 'N'},
        {"provider", required_argument, 0, 'r'}, {"max-handshakes", required_argument, 0, 'H'},
        {"hs-timeout", required_argument, 0, 'T'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0},
    };
    bool have_ip = false, have_backend = false;
    g.listen_port = rte_cpu_to_be_16(4433);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'i':
            if (inet_pton(AF_INET, optarg, &g.net.ip) != 1)
                usage_error("--ip %s: not an IPv4 address", optarg);
            have_ip = true;
            break;
        case 'b': {
            char host[64];
            const char *colon = strrchr(optarg, ':');
            if (colon == NULL || (size_t)(colon - optarg) >= sizeof host)
                usage_error("--backend %s: expected A.B.C.D:PORT", optarg);
            memcpy(host, optarg, (size_t)(colon - optarg));
            host[colon - optarg] = 0;
            if (inet_pton(AF_INET, host, &g.backend_ip) != 1)
                usage_error("--backend %s: expected A.B.C.D:PORT", optarg);
            g.backend_port = rte_cpu_to_be_16((uint16_t)num("--backend", colon + 1, 1, 65535));
            have_backend = true;
            break;
        }
        case 'P':
            cfg.plain = true;
            break;
        case 'p':
            g.port_id = (uint16_t)num("--port", optarg, 0, RTE_MAX_ETHPORTS - 1);
            break;
        case 'l':
            g.listen_port = rte_cpu_to_be_16((uint16_t)num("--listen-port", optarg, 1, 65535));
            break;
        case 'm':
            g.max_flows = (unsigned)num("--max-flows", optarg, 1, 40000);
            break;
        case 's':
            cfg.seconds = (double)num("--seconds", optarg, 1, 86400);
            break;
        case 'c':
            cfg.dtls.cert = optarg;
            break;
        case 'k':
            cfg.dtls.key = optarg;
            break;
        case 'd':
            cfg.dtls.dtls12 = strcmp(optarg, "1.2") == 0 || strcmp(optarg, "1.2,1.3") == 0 ||
                              strcmp(optarg, "1.3,1.2") == 0;
            cfg.dtls.dtls13 = strcmp(optarg, "1.3") == 0 || strcmp(optarg, "1.2,1.3") == 0 ||
                              strcmp(optarg, "1.3,1.2") == 0;
            if (!cfg.dtls.dtls12 && !cfg.dtls.dtls13)
                usage_error("--dtls %s: expected 1.2, 1.3 or 1.2,1.3", optarg);
            break;
        case 'N':
            cfg.dtls.cid = false;
            break;
        case 'r':
            if (strncmp(optarg, "cryptodev:", 10) != 0 && zrec_provider_by_name(optarg) == NULL)
                usage_error("--provider %s: expected ipsecmb, wolfcrypt or cryptodev:DEVICE",
                            optarg);
            if (strcmp(optarg, "cryptodev:") == 0)
                usage_error("--provider %s: name the device (cryptodev:crypto_aesni_gcm0)",
                            optarg);
            cfg.provider = optarg;
            break;
        case 'H':
            cfg.dtls.max_handshakes = (unsigned)num("--max-handshakes", optarg, 1, 40000);
            break;
        case 'T': {
            char *comma = strchr(optarg, ',');
            if (comma == NULL)
                usage_error("--hs-timeout %s: expected MIN,MAX in milliseconds", optarg);
            *comma = 0;
            cfg.dtls.hs_timeout_min_ms = (uint32_t)num("--hs-timeout", optarg, 10, 600000);
            cfg.dtls.hs_timeout_max_ms = (uint32_t)num("--hs-timeout", comma + 1, 10, 600000);
            if (cfg.dtls.hs_timeout_max_ms < cfg.dtls.hs_timeout_min_ms)
                usage_error("--hs-timeout: MAX below MIN%s", "");
            break;
        }
        case 'h':
            fputs(usage_text, stdout);
            exit(0);
        default:
            fprintf(stderr, "Try 'zrec-dtls-gw --help'.\n");
            exit(2);
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
    if (!have_ip)
        usage_error("%s is required", "--ip");
    if (!have_backend)
        usage_error("%s is required", "--backend");
    if (!cfg.plain && (cfg.dtls.cert == NULL || cfg.dtls.key == NULL))
        usage_error("%s: give --cert and --key (DTLS), or --plain", "no credentials");
    if (cfg.plain && (cfg.dtls.cert || cfg.dtls.key || cfg.provider))
        usage_error("%s forwards without DTLS: no --cert, --key or --provider", "--plain");
}

static int port_up(void)
{
    uint16_t p = g.port_id;
    if (!rte_eth_dev_is_valid_port(p)) {
        fprintf(stderr, "zrec-dtls-gw: no DPDK port %u (give EAL a --vdev)\n", p);
        return -1;
    }
    struct rte_eth_conf conf;
    memset(&conf, 0, sizeof conf);
    int rc = rte_eth_dev_configure(p, 1, 1, &conf);
    if (rc == 0)
        rc = rte_eth_rx_queue_setup(p, 0, 1024, rte_eth_dev_socket_id(p), NULL, g.mp);
    if (rc == 0)
        rc = rte_eth_tx_queue_setup(p, 0, 1024, rte_eth_dev_socket_id(p), NULL);
    if (rc == 0)
        rc = rte_eth_dev_start(p);
    if (rc == 0)
        rc = rte_eth_macaddr_get(p, &g.net.mac);
    if (rc != 0) {
        fprintf(stderr, "zrec-dtls-gw: port %u: %s\n", p, rte_strerror(-rc));
        return -1;
    }
    return 0;
}

static struct zrec_offload *offload;

/* --provider: a name of the engine's, or a crypto device EAL made. */
static const struct zrec_aead_provider *provider(void)
{
    if (cfg.provider == NULL)
        return NULL;
    if (strncmp(cfg.provider, "cryptodev:", 10) != 0)
        return zrec_provider_by_name(cfg.provider);
    char err[256];
    offload = zrec_offload_cryptodev_new(cfg.provider + 10, NULL, err, sizeof err);
    if (offload == NULL) {
        fprintf(stderr, "zrec-dtls-gw: --provider %s: %s\n", cfg.provider, err);
        exit(1);
    }
    return zrec_offload_provider(offload);
}

int main(int argc, char **argv)
{
    /* --help before EAL, which has its own. */
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage_text, stdout);
            return 0;
        }
    int eal = rte_eal_init(argc, argv);
    if (eal < 0) {
        fprintf(stderr, "zrec-dtls-gw: rte_eal_init: %s\n", rte_strerror(rte_errno));
        return 1;
    }
    snprintf(rundir, sizeof rundir, "%s", rte_eal_get_runtime_dir());
    atexit(remove_rundir);
    parse(argc - eal, argv + eal);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);

    g.mp = rte_pktmbuf_pool_create("dgw_mbufs", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                   rte_socket_id());
    if (g.mp == NULL || port_up() < 0)
        return 1;
    if (!cfg.plain)
        cfg.dtls.provider = provider(); /* exits when the device cannot be had */
    if (dgw_setup(&g) < 0) {
        fprintf(stderr, "zrec-dtls-gw: flow table: out of memory\n");
        return 1;
    }
    if (!cfg.plain && dgw_dtls_init(&g, &cfg.dtls) < 0) {
        dgw_teardown(&g); /* what was made before the failure */
        zrec_offload_free(offload);
        return 1;
    }
    char ipbuf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &g.net.ip, ipbuf, sizeof ipbuf);
    fprintf(stderr, "zrec-dtls-gw: listening on %s:%u (port %u, %s)\n", ipbuf,
            rte_be_to_cpu_16(g.listen_port), g.port_id,
            cfg.plain            ? "plain"
            : !cfg.dtls.dtls13   ? "DTLS 1.2"
            : !cfg.dtls.dtls12   ? "DTLS 1.3"
                                 : "DTLS 1.2 and 1.3");

    uint64_t hz = rte_get_timer_hz(), start = rte_get_timer_cycles(), last_arp = 0;
    uint64_t end = cfg.seconds > 0 ? start + (uint64_t)(cfg.seconds * (double)hz) : UINT64_MAX;
    while (!stop && rte_get_timer_cycles() < end) {
        /* The backend's address, asked for until known (once a second). */
        if (dgw_neigh_find(&g.net, g.backend_ip) == NULL &&
            rte_get_timer_cycles() - last_arp > hz) {
            struct rte_mbuf *a = rte_pktmbuf_alloc(g.mp);
            if (a) {
                dgw_arp_request(&g.net, a, g.backend_ip);
                dgw_tx(&g, a);
            }
            last_arp = rte_get_timer_cycles();
        }
        dgw_round(&g);
    }
    dgw_print_counters(&g, stdout);
    if (offload) {
        struct zrec_offload_stats st;
        zrec_offload_stats_get(offload, &st);
        printf("offload_device_ops %lu\noffload_fallback_full %lu\noffload_fallback_error %lu\n",
               (unsigned long)st.device_ops, (unsigned long)st.fallback_full,
               (unsigned long)st.fallback_error);
        fflush(stdout);
    }
    dgw_teardown(&g); /* close_notify to every session */
    zrec_offload_free(offload);
    rte_eth_dev_stop(g.port_id);
    rte_eth_dev_close(g.port_id);
    rte_mempool_free(g.mp);
    rte_eal_cleanup();
    return 0;
}
