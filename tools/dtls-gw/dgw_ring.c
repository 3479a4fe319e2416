/*
 * A gateway and a load generator on two net_ring ports (dgw_ring.h).
 *
 * Addresses: the generator is 10.99.0.1 (clients from ports 30000 + i, the
 * backend on 5683), the gateway 10.99.0.2:4433.  Each client datagram
 * carries its client's number and its own in its first 8 bytes, and the
 * rest is a pattern of both: what comes back is checked byte for byte.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_eth_ring.h>
#include <rte_ip.h>
#include <rte_ring.h>
#include <rte_udp.h>

#include "dgw.h"
#include "dgw_ring.h"
#include "zs_cookie.h"

#define GEN_IP RTE_BE32(0x0a630001)    /* 10.99.0.1 */
#define GW_IP RTE_BE32(0x0a630002)     /* 10.99.0.2 */
#define GW_PORT RTE_BE16(4433)
#define BACKEND_PORT RTE_BE16(5683)
#define CLIENT_PORT_BASE 30000u
#define MAX_CLIENTS 4096
#define ROUNDS_MAX 64 /* gateway rounds an exchange may take before it is lost */

struct lg_client {
    struct dgw_ring *r;
    uint16_t port; /* network order */
    struct zs_dhs hs;
    struct zrec_session *zs;
    bool open;
    uint32_t seq; /* datagrams sent */
};

struct dgw_ring {
    struct dgw g; /* the gateway */
    struct rte_mempool *mp;
    struct rte_ring *to_gw, *to_gen;
    uint16_t gen_port;
    struct dgw_net gen; /* the generator's address */
    WOLFSSL_CTX *cctx;
    struct zs_dhs_conf cconf;
    struct lg_client *c;
    unsigned n, next, size;
    int dtls;
    int ports[2]; /* the gateway's and the generator's, -1 until made */
    uint32_t rng;
    struct zrec_dpdk_op ops[DGW_BURST];
};

static uint8_t pattern(uint32_t client, uint32_t seq, size_t i)
{
    return (uint8_t)(client * 131u + seq * 7u + (uint32_t)i);
}

/* ---- the generator's frames --------------------------------------------------- */

static void swap_bytes(uint8_t *a, uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t t = a[i];
        a[i] = b[i];
        b[i] = t;
    }
}

static int gen_send(struct dgw_ring *r, struct rte_mbuf **m, unsigned n)
{
    unsigned sent = rte_eth_tx_burst(r->gen_port, 0, m, (uint16_t)n);
    for (unsigned i = sent; i < n; i++)
        rte_pktmbuf_free(m[i]);
    return sent == n ? 0 : -ENOBUFS;
}

/* The client side of a handshake: one datagram to the gateway. */
static ssize_t client_send(void *io, const void *buf, size_t n)
{
    struct lg_client *c = io;
    struct dgw_ring *r = c->r;
    struct rte_mbuf *m = rte_pktmbuf_alloc(r->mp);
    char *p = m && n <= UINT16_MAX ? rte_pktmbuf_append(m, (uint16_t)n) : NULL;
    if (p == NULL) {
        rte_pktmbuf_free(m);
        return -EAGAIN;
    }
    memcpy(p, buf, n);
    if (dgw_udp_wrap(&r->gen, m, c->port, GW_IP, GW_PORT) < 0) {
        rte_pktmbuf_free(m);
        return -EAGAIN;
    }
    return gen_send(r, &m, 1) == 0 ? (ssize_t)n : -EAGAIN;
}

/* The client a frame to the generator is for (its destination port), or
 * NULL when it is for the backend. */
static struct lg_client *client_of(struct dgw_ring *r, const struct dgw_udp *u)
{
    uint32_t port = rte_be_to_cpu_16(u->dst_port);
    if (port < CLIENT_PORT_BASE || port - CLIENT_PORT_BASE >= r->n)
        return NULL;
    return &r->c[port - CLIENT_PORT_BASE];
}

/* Does the plaintext at [off, off + len) of m say what client c sent? */
static bool intact(struct dgw_ring *r, const struct lg_client *c, struct rte_mbuf *m, uint32_t off,
                   uint32_t len)
{
    uint8_t buf[1500];
    const uint8_t *p = len <= sizeof buf ? rte_pktmbuf_read(m, off, len, buf) : NULL;
    if (p == NULL || len < 8 || (r->size && len != r->size))
        return false;
    uint32_t client, seq;
    memcpy(&client, p, 4);
    memcpy(&seq, p + 4, 4);
    if (client != (uint32_t)(c - r->c) || seq >= c->seq)
        return false;
    for (uint32_t i = 8; i < len; i++)
        if (p[i] != pattern(client, seq, i))
            return false;
    return true;
}

/* Take what the gateway sent the generator: the backend echoes what it
 * gets (addresses and ports swapped: the checksums stay right), the
 * clients step their handshakes or open and check records.  Returns the
 * frames taken. */
static unsigned gen_poll(struct dgw_ring *r, struct dgw_ring_result *res)
{
    struct rte_mbuf *rx[DGW_BURST], *echo[DGW_BURST];
    unsigned nops = 0, necho = 0;
    struct lg_client *owner[DGW_BURST];
    uint16_t n = rte_eth_rx_burst(r->gen_port, 0, rx, DGW_BURST);
    for (uint16_t i = 0; i < n; i++) {
        struct rte_mbuf *m = rx[i];
        struct dgw_udp u;
        bool reply;
        if (dgw_rx(&r->gen, m, &u, &reply) != DGW_UDP) {
            if (reply)
                echo[necho++] = m; /* an ARP reply of ours */
            else
                rte_pktmbuf_free(m);
            continue;
        }
        struct lg_client *c = client_of(r, &u);
        if (c == NULL && u.dst_port == BACKEND_PORT) {
            /* Swapped in place, byte-wise (a frame may start at any
             * address): MACs, IPv4 addresses, UDP ports. */
            uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
            uint32_t l4 = u.payload_off - 8;
            swap_bytes(f, f + 6, 6);
            swap_bytes(f + RTE_ETHER_HDR_LEN + 12, f + RTE_ETHER_HDR_LEN + 16, 4);
            swap_bytes(f + l4, f + l4 + 2, 2);
            echo[necho++] = m;
            continue;
        }
        if (c == NULL) {
            rte_pktmbuf_free(m);
            continue;
        }
        const uint8_t *b = rte_pktmbuf_mtod_offset(m, const uint8_t *, u.payload_off);
        if (!c->open && r->dtls) {
            struct zrec_session *zs = NULL;
            int rc = zs_dhs_step(&c->hs, b, u.payload_len, &zs);
            if (rc == 0) {
                c->zs = zs;
                c->open = true;
            }
            rte_pktmbuf_free(m);
            continue;
        }
        if (!r->dtls) {
            if (intact(r, c, m, u.payload_off, u.payload_len))
                res->answers++;
            else
                res->bad++;
            rte_pktmbuf_free(m);
            continue;
        }
        r->ops[nops] = (struct zrec_dpdk_op){.sess = c->zs, .m = m, .off = u.payload_off,
                                             .len = u.payload_len};
        owner[nops++] = c;
    }
    if (nops)
        zrec_dpdk_open_burst(r->ops, nops);
    for (unsigned i = 0; i < nops; i++) {
        struct zrec_dpdk_op *op = &r->ops[i];
        /* The gateway's ACKs (DTLS 1.3) are the engine's; a record that
         * does not open is a handshake retransmission the gateway sent
         * before it saw our Finished, dropped as RFC 9147 §4.5.2 says (a
         * record of data that went missing so fails the exchange by its
         * absence). */
        if (op->status == 0 && op->content_type == ZREC_CT_APPLICATION_DATA) {
            if (intact(r, owner[i], op->m, op->pt_off, op->rec_len))
                res->answers++;
            else
                res->bad++;
        }
        rte_pktmbuf_free(op->m);
    }
    if (necho)
        (void)gen_send(r, echo, necho);
    return n;
}

/* A burst of client datagrams, round robin over the clients. */
static int gen_burst(struct dgw_ring *r)
{
    struct rte_mbuf *m[DGW_BURST];
    if (rte_pktmbuf_alloc_bulk(r->mp, m, DGW_BURST) != 0)
        return -ENOMEM;
    for (unsigned i = 0; i < DGW_BURST; i++) {
        struct lg_client *c = &r->c[r->next];
        r->next = (r->next + 1) % r->n;
        r->rng = r->rng * 1103515245u + 12345u;
        uint32_t len = r->size ? r->size : 8 + (r->rng >> 8) % 1393;
        uint8_t *p = (uint8_t *)rte_pktmbuf_append(m[i], (uint16_t)len);
        uint32_t client = (uint32_t)(c - r->c), seq = c->seq++;
        memcpy(p, &client, 4);
        memcpy(p + 4, &seq, 4);
        for (uint32_t k = 8; k < len; k++)
            p[k] = pattern(client, seq, k);
        r->ops[i] = (struct zrec_dpdk_op){.sess = c->zs, .m = m[i],
                                          .content_type = ZREC_CT_APPLICATION_DATA};
    }
    if (r->dtls && zrec_dpdk_seal_burst(r->ops, DGW_BURST, r->mp) != DGW_BURST) {
        for (unsigned i = 0; i < DGW_BURST; i++)
            rte_pktmbuf_free(m[i]);
        return -EIO;
    }
    /* Headers: the clients of the round robin above, in order. */
    unsigned first = (r->next + r->n * DGW_BURST - DGW_BURST) % r->n;
    for (unsigned i = 0; i < DGW_BURST; i++) {
        struct lg_client *c = &r->c[(first + i) % r->n];
        if (dgw_udp_wrap(&r->gen, m[i], c->port, GW_IP, GW_PORT) < 0) {
            for (unsigned k = i; k < DGW_BURST; k++)
                rte_pktmbuf_free(m[k]);
            (void)gen_send(r, m, i);
            return -EHOSTUNREACH;
        }
    }
    return gen_send(r, m, DGW_BURST);
}

/* ---- set-up --------------------------------------------------------------------- */

static int port_start(uint16_t port, struct rte_mempool *mp)
{
    struct rte_eth_conf conf;
    memset(&conf, 0, sizeof conf);
    int rc = rte_eth_dev_configure(port, 1, 1, &conf);
    if (rc == 0)
        rc = rte_eth_rx_queue_setup(port, 0, 1024, (unsigned)rte_socket_id(), NULL, mp);
    if (rc == 0)
        rc = rte_eth_tx_queue_setup(port, 0, 1024, (unsigned)rte_socket_id(), NULL);
    if (rc == 0)
        rc = rte_eth_dev_start(port);
    return rc;
}

static int client_ctx(struct dgw_ring *r)
{
    bool v13 = r->dtls == 13;
    r->cctx = wolfSSL_CTX_new(v13 ? wolfDTLSv1_3_client_method() : wolfDTLSv1_2_client_method());
    if (r->cctx == NULL)
        return -ENOMEM;
    /* The load is AES-128-GCM records; the certificate is the test PKI's
     * (the handshakes are not what is measured here). */
    wolfSSL_CTX_set_verify(r->cctx, WOLFSSL_VERIFY_NONE, NULL);
    if (wolfSSL_CTX_set_cipher_list(r->cctx, v13 ? "TLS13-AES128-GCM-SHA256"
                                                 : "ECDHE-RSA-AES128-GCM-SHA256") !=
            WOLFSSL_SUCCESS ||
        (v13 && wolfSSL_CTX_set_groups(r->cctx, (int *)zs_cookie_groups, ZS_COOKIE_NGROUPS) !=
                    WOLFSSL_SUCCESS))
        return -EINVAL;
    r->cconf = (struct zs_dhs_conf){.ctx = r->cctx, .dtls13 = v13, .timeout_min_ms = 200,
                                    .timeout_max_ms = 3200};
    return 0;
}

/* Every client's handshake, both ends stepping in turn. */
static int handshakes(struct dgw_ring *r, char *err, size_t errlen)
{
    for (unsigned i = 0; i < r->n; i++) {
        struct lg_client *c = &r->c[i];
        int rc = zs_dhs_init(&c->hs, &r->cconf, client_send, c, NULL, 0, NULL, 0, NULL, 0);
        struct zrec_session *zs = NULL;
        if (rc == 0)
            rc = zs_dhs_step(&c->hs, NULL, 0, &zs);
        if (rc != -EAGAIN) {
            snprintf(err, errlen, "client %u: the handshake did not start (%s)", i,
                     strerror(-rc));
            return -1;
        }
    }
    uint64_t hz = rte_get_timer_hz(), end = rte_get_timer_cycles() + 60 * hz;
    struct dgw_ring_result ignore = {0};
    for (;;) {
        unsigned open = 0;
        for (unsigned i = 0; i < r->n; i++)
            open += r->c[i].open;
        if (open == r->n)
            break;
        if (rte_get_timer_cycles() > end) {
            snprintf(err, errlen, "%u of %u handshakes done after 60 s", open, r->n);
            return -1;
        }
        dgw_round(&r->g);
        gen_poll(r, &ignore);
        int64_t now = zs_dhs_now_ms();
        for (unsigned i = 0; i < r->n; i++) {
            struct lg_client *c = &r->c[i];
            if (!c->open && c->hs.rtx_at <= now && zs_dhs_timeout(&c->hs) < 0) {
                snprintf(err, errlen, "client %u: the handshake failed", i);
                return -1;
            }
        }
    }
    /* The last records of the handshakes (DTLS 1.3 ACKs) settle. */
    for (int i = 0; i < 8; i++) {
        dgw_round(&r->g);
        gen_poll(r, &ignore);
    }
    if (ignore.answers || ignore.bad) {
        snprintf(err, errlen, "data before any was sent");
        return -1;
    }
    return 0;
}

struct dgw_ring *dgw_ring_new(const struct dgw_ring_opts *o, char *err, size_t errlen)
{
    static unsigned instance;
    unsigned id = instance++;
    char name[64];
    if (o->clients == 0 || o->clients > MAX_CLIENTS || o->size > 1400 ||
        (o->dtls != 0 && o->dtls != 12 && o->dtls != 13)) {
        snprintf(err, errlen, "bad options");
        return NULL;
    }
    struct dgw_ring *r = calloc(1, sizeof *r);
    if (r == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->n = o->clients;
    r->size = o->size;
    r->dtls = o->dtls;
    r->rng = 12345;
    r->ports[0] = r->ports[1] = -1;
    r->c = calloc(r->n, sizeof *r->c);
    snprintf(name, sizeof name, "dgw_ring_mp%u", id);
    r->mp = rte_pktmbuf_pool_create(name, 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    (int)rte_socket_id());
    snprintf(name, sizeof name, "dgw_to_gw%u", id);
    r->to_gw = rte_ring_create(name, 1024, (int)rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
    snprintf(name, sizeof name, "dgw_to_gen%u", id);
    r->to_gen = rte_ring_create(name, 1024, (int)rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (r->c == NULL || r->mp == NULL || r->to_gw == NULL || r->to_gen == NULL) {
        snprintf(err, errlen, "mbufs or rings: %s", rte_strerror(rte_errno));
        goto fail;
    }
    snprintf(name, sizeof name, "net_ring_dgw_gw%u", id);
    int gw_port = rte_eth_from_rings(name, &r->to_gw, 1, &r->to_gen, 1, rte_socket_id());
    snprintf(name, sizeof name, "net_ring_dgw_gen%u", id);
    int gen_port = rte_eth_from_rings(name, &r->to_gen, 1, &r->to_gw, 1, rte_socket_id());
    r->ports[0] = gw_port;
    r->ports[1] = gen_port;
    if (gw_port < 0 || gen_port < 0 || port_start((uint16_t)gw_port, r->mp) != 0 ||
        port_start((uint16_t)gen_port, r->mp) != 0) {
        snprintf(err, errlen, "net_ring ports: %s", rte_strerror(rte_errno));
        goto fail;
    }
    r->gen_port = (uint16_t)gen_port;
    struct dgw *g = &r->g;
    g->port_id = (uint16_t)gw_port;
    g->mp = r->mp;
    g->max_flows = r->n;
    g->listen_port = GW_PORT;
    g->backend_ip = GEN_IP;
    g->backend_port = BACKEND_PORT;
    g->net.ip = GW_IP;
    r->gen.ip = GEN_IP;
    /* Locally administered addresses of our own (a net_ring port may have
     * none worth learning). */
    g->net.mac = (struct rte_ether_addr){{0x02, 0, 0, 0x63, 0, 2}};
    r->gen.mac = (struct rte_ether_addr){{0x02, 0, 0, 0x63, 0, 1}};
    rte_eth_dev_default_mac_addr_set(g->port_id, &g->net.mac);
    rte_eth_dev_default_mac_addr_set(r->gen_port, &r->gen.mac);
    dgw_neigh_learn(&r->gen, GW_IP, &g->net.mac);
    dgw_neigh_learn(&g->net, GEN_IP, &r->gen.mac);
    if (dgw_setup(g) < 0) {
        snprintf(err, errlen, "flow table: out of memory");
        goto fail;
    }
    for (unsigned i = 0; i < r->n; i++)
        r->c[i] = (struct lg_client){.r = r,
                                     .port = rte_cpu_to_be_16((uint16_t)(CLIENT_PORT_BASE + i))};
    if (r->dtls) {
        char cert[512], key[512];
        snprintf(cert, sizeof cert, "%s/server-cert.pem", o->cert_dir);
        snprintf(key, sizeof key, "%s/server-key.pem", o->cert_dir);
        struct dgw_dtls_opts d = {.cert = cert, .key = key, .dtls12 = r->dtls == 12,
                                  .dtls13 = r->dtls == 13, .cid = true,
                                  .provider = o->provider ? zrec_provider_by_name(o->provider)
                                                          : NULL,
                                  .max_handshakes = r->n, .hs_timeout_min_ms = 200,
                                  .hs_timeout_max_ms = 3200};
        if (o->provider && d.provider == NULL) {
            snprintf(err, errlen, "no provider %s", o->provider);
            goto fail;
        }
        if (dgw_dtls_init(g, &d) < 0 || client_ctx(r) < 0) {
            snprintf(err, errlen, "DTLS set-up failed (see stderr)");
            goto fail;
        }
        if (handshakes(r, err, errlen) < 0)
            goto fail;
    } else {
        for (unsigned i = 0; i < r->n; i++)
            r->c[i].open = true;
    }
    return r;
fail:
    dgw_ring_free(r);
    return NULL;
}

int dgw_ring_exchange(struct dgw_ring *r, struct dgw_ring_result *out)
{
    *out = (struct dgw_ring_result){0};
    int rc = gen_burst(r);
    if (rc < 0)
        return rc;
    uint64_t before = r->g.cnt.to_backend + r->g.cnt.to_client;
    /* Through the gateway to the backend, echoed, back through the gateway:
     * the gateway's rounds timed, the generator's not. */
    for (int round = 0; out->answers + out->bad < DGW_BURST; round++) {
        if (round == ROUNDS_MAX)
            return -ETIMEDOUT;
        uint64_t t0 = rte_rdtsc();
        dgw_round(&r->g);
        out->gw_cycles += rte_rdtsc() - t0;
        gen_poll(r, out);
    }
    /* Forwarded both ways: DTLS records opened on the way to the backend,
     * sealed on the way back. */
    out->records = (unsigned)(r->g.cnt.to_backend + r->g.cnt.to_client - before);
    return 0;
}

void dgw_ring_print(const struct dgw_ring *r, FILE *out)
{
    dgw_print_counters(&r->g, out);
}

void dgw_ring_free(struct dgw_ring *r)
{
    if (r == NULL)
        return;
    if (r->g.flow)
        dgw_teardown(&r->g);
    for (unsigned i = 0; r->c && i < r->n; i++) {
        zs_dhs_release(&r->c[i].hs);
        zrec_session_free(r->c[i].zs);
    }
    wolfSSL_CTX_free(r->cctx);
    for (int i = 0; i < 2; i++)
        if (r->ports[i] >= 0) {
            rte_eth_dev_stop((uint16_t)r->ports[i]);
            rte_eth_dev_close((uint16_t)r->ports[i]);
        }
    rte_ring_free(r->to_gw);
    rte_ring_free(r->to_gen);
    rte_mempool_free(r->mp);
    free(r->c);
    free(r);
}
