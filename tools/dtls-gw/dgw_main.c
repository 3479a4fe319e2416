/*
 * zrec-dtls-gw: the DTLS data plane on DPDK (docs/DTLS-GW.md).
 *
 * One lcore polls one port: frames in (rte_eth_rx_burst), ARP answered,
 * UDP datagrams to our address matched to flows, forwarded, frames out
 * (rte_eth_tx_burst).  A flow is a client address and port; its datagrams
 * go to the backend from a port of ours that names the flow, so that the
 * backend's replies find their way back (a NAT, by port).
 *
 * This stage forwards plain UDP (--plain): the data path every DTLS record
 * will take, and the physical reference of the crypto-less loop.
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

#define BURST 32
#define FLOW_PORT_BASE 20000u

static const char usage_text[] =
    "NAME\n"
    "    zrec-dtls-gw - the DTLS data plane on DPDK (stage 1: plain UDP forwarding)\n"
    "\n"
    "SYNOPSIS\n"
    "    zrec-dtls-gw [EAL options] -- --ip A.B.C.D --backend A.B.C.D:PORT --plain\n"
    "                 [--port N] [--listen-port N] [--max-flows N] [--seconds S]\n"
    "\n"
    "DESCRIPTION\n"
    "    Owns DPDK port --port (e.g. a net_tap or net_memif virtual device given\n"
    "    to EAL with --vdev), answers ARP for --ip, and forwards the UDP datagrams\n"
    "    clients send to --ip:--listen-port to --backend, each client from a port\n"
    "    of its own so that the backend's replies go back to that client.  With\n"
    "    --plain the payload is forwarded as it is; DTLS sessions (records opened\n"
    "    and sealed by zrec in the mbufs) are the next stage of this tool.\n"
    "\n"
    "OPTIONS\n"
    "    --ip A.B.C.D            our IPv4 address on the port's link\n"
    "    --backend A.B.C.D:PORT  where client payloads go (on the same link)\n"
    "    --plain                 forward UDP payloads unchanged\n"
    "    --port N                DPDK port id (default 0)\n"
    "    --listen-port N         UDP port clients send to (default 4433)\n"
    "    --max-flows N           clients at once (default 4096, at most 40000);\n"
    "                            beyond it new clients are dropped, counted\n"
    "    --seconds S             stop after S seconds (default: until SIGTERM/SIGINT)\n"
    "    -h, --help              this text\n"
    "\n"
    "OUTPUT\n"
    "    'zrec-dtls-gw: listening on A.B.C.D:PORT' on stderr when ready; counters\n"
    "    on stdout (one 'name value' per line) when it stops.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 after a stop; 1 when start-up fails; 2 for a usage error.\n"
    "\n"
    "EXAMPLE\n"
    "    zrec-dtls-gw --no-huge --no-pci --vdev=net_tap0,iface=dgw0 -- \\\n"
    "        --ip 10.77.0.2 --backend 10.77.0.1:5683 --plain\n";

struct flow_key {
    uint32_t ip;
    uint16_t port;
    uint16_t pad;
};

struct flow {
    uint32_t ip;   /* the client, network order */
    uint16_t port;
    uint16_t our;  /* our port toward the backend, network order */
    bool used;
};

static struct {
    uint16_t port_id;
    uint16_t listen_port; /* network order */
    uint32_t backend_ip;
    uint16_t backend_port;
    bool plain;
    unsigned max_flows;
    double seconds;
} cfg = {.listen_port = 0, .max_flows = 4096};

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

static struct {
    uint64_t rx, tx, to_backend, to_client, flows, flows_full, no_flow, arp_pending, tx_dropped;
} cnt;

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

static void parse(int argc, char **argv, struct dgw_net *net)
{
    static const struct option lo[] = {
        {"ip", required_argument, 0, 'i'},       {"backend", required_argument, 0, 'b'},
        {"plain", no_argument, 0, 'P'},          {"port", required_argument, 0, 'p'},
        {"listen-port", required_argument, 0, 'l'},
        {"max-flows", required_argument, 0, 'm'}, {"seconds", required_argument, 0, 's'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0},
    };
    bool have_ip = false, have_backend = false;
    cfg.listen_port = rte_cpu_to_be_16(4433);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'i':
            if (inet_pton(AF_INET, optarg, &net->ip) != 1)
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
            if (inet_pton(AF_INET, host, &cfg.backend_ip) != 1)
                usage_error("--backend %s: expected A.B.C.D:PORT", optarg);
            cfg.backend_port = rte_cpu_to_be_16((uint16_t)num("--backend", colon + 1, 1, 65535));
            have_backend = true;
            break;
        }
        case 'P':
            cfg.plain = true;
            break;
        case 'p':
            cfg.port_id = (uint16_t)num("--port", optarg, 0, RTE_MAX_ETHPORTS - 1);
            break;
        case 'l':
            cfg.listen_port = rte_cpu_to_be_16((uint16_t)num("--listen-port", optarg, 1, 65535));
            break;
        case 'm':
            cfg.max_flows = (unsigned)num("--max-flows", optarg, 1, 40000);
            break;
        case 's':
            cfg.seconds = (double)num("--seconds", optarg, 1, 86400);
            break;
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
    if (!cfg.plain)
        usage_error("%s: DTLS sessions are the next stage; give --plain", "--plain");
}

static int port_up(struct rte_mempool *mp, struct dgw_net *net)
{
    uint16_t p = cfg.port_id;
    if (!rte_eth_dev_is_valid_port(p)) {
        fprintf(stderr, "zrec-dtls-gw: no DPDK port %u (give EAL a --vdev)\n", p);
        return -1;
    }
    struct rte_eth_conf conf;
    memset(&conf, 0, sizeof conf);
    int rc = rte_eth_dev_configure(p, 1, 1, &conf);
    if (rc == 0)
        rc = rte_eth_rx_queue_setup(p, 0, 1024, rte_eth_dev_socket_id(p), NULL, mp);
    if (rc == 0)
        rc = rte_eth_tx_queue_setup(p, 0, 1024, rte_eth_dev_socket_id(p), NULL);
    if (rc == 0)
        rc = rte_eth_dev_start(p);
    if (rc == 0)
        rc = rte_eth_macaddr_get(p, &net->mac);
    if (rc != 0) {
        fprintf(stderr, "zrec-dtls-gw: port %u: %s\n", p, rte_strerror(-rc));
        return -1;
    }
    return 0;
}

/* Send what was collected; what the port does not take is freed, counted. */
static void flush(struct rte_mbuf **tx, unsigned *n)
{
    uint16_t sent = *n ? rte_eth_tx_burst(cfg.port_id, 0, tx, (uint16_t)*n) : 0;
    cnt.tx += sent;
    for (unsigned i = sent; i < *n; i++) {
        rte_pktmbuf_free(tx[i]);
        cnt.tx_dropped++;
    }
    *n = 0;
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
    struct dgw_net net;
    memset(&net, 0, sizeof net);
    parse(argc - eal, argv + eal, &net);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);

    struct rte_mempool *mp = rte_pktmbuf_pool_create("dgw_mbufs", 8191, 256, 0,
                                                     RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
    if (mp == NULL || port_up(mp, &net) < 0)
        return 1;
    struct rte_hash_parameters hp = {.name = "dgw_flows",
                                     .entries = cfg.max_flows * 2,
                                     .key_len = sizeof(struct flow_key),
                                     .hash_func = rte_jhash,
                                     .socket_id = (int)rte_socket_id()};
    struct rte_hash *flows = rte_hash_create(&hp);
    struct flow *flow = calloc(cfg.max_flows, sizeof *flow);
    if (flows == NULL || flow == NULL) {
        fprintf(stderr, "zrec-dtls-gw: flow table: %s\n", rte_strerror(rte_errno));
        return 1;
    }
    char ipbuf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &net.ip, ipbuf, sizeof ipbuf);
    fprintf(stderr, "zrec-dtls-gw: listening on %s:%u (port %u, plain)\n", ipbuf,
            rte_be_to_cpu_16(cfg.listen_port), cfg.port_id);

    uint64_t hz = rte_get_timer_hz(), start = rte_get_timer_cycles(), last_arp = 0;
    uint64_t end = cfg.seconds > 0 ? start + (uint64_t)(cfg.seconds * (double)hz) : UINT64_MAX;
    while (!stop && rte_get_timer_cycles() < end) {
        struct rte_mbuf *rx[BURST], *tx[2 * BURST];
        unsigned ntx = 0;
        /* The backend's address, asked for until known (once a second). */
        if (dgw_neigh_find(&net, cfg.backend_ip) == NULL &&
            rte_get_timer_cycles() - last_arp > hz) {
            struct rte_mbuf *a = rte_pktmbuf_alloc(mp);
            if (a) {
                dgw_arp_request(&net, a, cfg.backend_ip);
                tx[ntx++] = a;
            }
            last_arp = rte_get_timer_cycles();
        }
        uint16_t n = rte_eth_rx_burst(cfg.port_id, 0, rx, BURST);
        cnt.rx += n;
        for (uint16_t i = 0; i < n; i++) {
            struct rte_mbuf *m = rx[i];
            struct dgw_udp u;
            bool reply;
            enum dgw_kind k = dgw_rx(&net, m, &u, &reply);
            if (k == DGW_ARP_DONE && reply) {
                tx[ntx++] = m;
                continue;
            }
            if (k != DGW_UDP) {
                rte_pktmbuf_free(m);
                continue;
            }
            /* The datagram's payload alone, then new headers around it. */
            rte_pktmbuf_adj(m, (uint16_t)u.payload_off);
            rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - u.payload_len));
            int rc;
            if (u.src_ip == cfg.backend_ip && u.src_port == cfg.backend_port) {
                /* A reply: our port names the flow. */
                uint32_t idx = rte_be_to_cpu_16(u.dst_port) - FLOW_PORT_BASE;
                if (rte_be_to_cpu_16(u.dst_port) < FLOW_PORT_BASE || idx >= cfg.max_flows ||
                    !flow[idx].used) {
                    cnt.no_flow++;
                    rte_pktmbuf_free(m);
                    continue;
                }
                rc = dgw_udp_wrap(&net, m, cfg.listen_port, flow[idx].ip, flow[idx].port);
                cnt.to_client += rc == 0;
            } else if (u.dst_port == cfg.listen_port) {
                struct flow_key key = {.ip = u.src_ip, .port = u.src_port};
                int32_t idx = rte_hash_lookup(flows, &key);
                if (idx < 0) {
                    idx = rte_hash_add_key(flows, &key);
                    if (idx < 0 || (uint32_t)idx >= cfg.max_flows) {
                        if (idx >= 0)
                            rte_hash_del_key(flows, &key);
                        cnt.flows_full++;
                        rte_pktmbuf_free(m);
                        continue;
                    }
                    flow[idx] = (struct flow){.ip = u.src_ip, .port = u.src_port,
                                              .our = rte_cpu_to_be_16((uint16_t)(FLOW_PORT_BASE + idx)),
                                              .used = true};
                    cnt.flows++;
                }
                rc = dgw_udp_wrap(&net, m, flow[idx].our, cfg.backend_ip, cfg.backend_port);
                cnt.to_backend += rc == 0;
            } else {
                rte_pktmbuf_free(m);
                continue;
            }
            if (rc != 0) {
                cnt.arp_pending += rc == -EHOSTUNREACH;
                rte_pktmbuf_free(m);
                continue;
            }
            tx[ntx++] = m;
        }
        flush(tx, &ntx);
    }
    printf("rx %lu\ntx %lu\nto_backend %lu\nto_client %lu\nflows %lu\nflows_full %lu\n"
           "no_flow %lu\nneighbour_unknown %lu\ntx_dropped %lu\narp_answered %lu\n"
           "dropped_malformed %lu\ndropped_other %lu\n",
           (unsigned long)cnt.rx, (unsigned long)cnt.tx, (unsigned long)cnt.to_backend,
           (unsigned long)cnt.to_client, (unsigned long)cnt.flows,
           (unsigned long)cnt.flows_full, (unsigned long)cnt.no_flow,
           (unsigned long)cnt.arp_pending, (unsigned long)cnt.tx_dropped,
           (unsigned long)net.arp_answered, (unsigned long)net.dropped_malformed,
           (unsigned long)net.dropped_other);
    fflush(stdout);
    rte_eth_dev_stop(cfg.port_id);
    rte_eth_dev_close(cfg.port_id);
    rte_hash_free(flows);
    free(flow);
    rte_mempool_free(mp);
    rte_eal_cleanup();
    return 0;
}
