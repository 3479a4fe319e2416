/*
 * The data plane's flows and its loop (docs/DTLS-GW.md): clients by
 * address in an rte_hash, backend replies by our port; one round of rx →
 * classify → forward (plain) or open / seal (dgw_dtls.c) → tx.  Used by
 * zrec-dtls-gw (dgw_main.c) and by the two-port harness of the tests and
 * the bench (dgw_ring.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_hash.h>
#include <rte_jhash.h>

#include "dgw.h"

struct flow_key {
    uint32_t ip;
    uint16_t port;
    uint16_t pad;
};

/* ---- frames out ----------------------------------------------------------- */

/* Send what was collected; what the port does not take is freed, counted. */
void dgw_flush(struct dgw *gw)
{
    uint16_t sent = gw->ntx ? rte_eth_tx_burst(gw->port_id, 0, gw->tx, (uint16_t)gw->ntx) : 0;
    gw->cnt.tx += sent;
    for (unsigned i = sent; i < gw->ntx; i++) {
        rte_pktmbuf_free(gw->tx[i]);
        gw->cnt.tx_dropped++;
    }
    gw->ntx = 0;
}

int dgw_send(struct dgw *g, struct rte_mbuf *m, uint16_t sport, uint32_t ip, uint16_t dport)
{
    int rc = dgw_udp_wrap(&g->net, m, sport, ip, dport);
    if (rc != 0) {
        g->cnt.arp_pending += rc == -EHOSTUNREACH;
        rte_pktmbuf_free(m);
        return rc;
    }
    dgw_tx(g, m);
    return 0;
}

void dgw_tx(struct dgw *gw, struct rte_mbuf *m)
{
    if (gw->ntx == DGW_TX_CAP)
        dgw_flush(gw);
    gw->tx[gw->ntx++] = m;
}

/* ---- flows ------------------------------------------------------------------ */

struct dgw_flow *dgw_flow_find(struct dgw *gw, uint32_t ip, uint16_t port)
{
    struct flow_key key = {.ip = ip, .port = port};
    void *data;
    if (rte_hash_lookup_data(gw->by_addr, &key, &data) < 0)
        return NULL;
    return &gw->flow[(uintptr_t)data];
}

struct dgw_flow *dgw_flow_new(struct dgw *gw, uint32_t ip, uint16_t port)
{
    if (gw->nfree == 0) {
        gw->cnt.flows_full++;
        return NULL;
    }
    uint32_t i = gw->free_idx[--gw->nfree];
    struct dgw_flow *f = &gw->flow[i];
    memset(f, 0, sizeof *f);
    *f = (struct dgw_flow){.ip = ip, .port = port, .used = true, .hs_slot = -1,
                           .our = rte_cpu_to_be_16((uint16_t)(DGW_FLOW_PORT_BASE + i))};
    return f;
}

int dgw_flow_link(struct dgw *gw, struct dgw_flow *f)
{
    struct flow_key key = {.ip = f->ip, .port = f->port};
    int rc = rte_hash_add_key_data(gw->by_addr, &key, (void *)(uintptr_t)(f - gw->flow));
    if (rc == 0)
        gw->cnt.flows++;
    return rc;
}

void dgw_flow_free(struct dgw *gw, struct dgw_flow *f)
{
    struct flow_key key = {.ip = f->ip, .port = f->port};
    void *data;
    if (rte_hash_lookup_data(gw->by_addr, &key, &data) >= 0 && (uintptr_t)data == (uintptr_t)(f - gw->flow))
        rte_hash_del_key(gw->by_addr, &key);
    f->used = false;
    gw->free_idx[gw->nfree++] = (uint32_t)(f - gw->flow);
}

int dgw_flow_move(struct dgw *gw, struct dgw_flow *f, uint32_t ip, uint16_t port)
{
    struct flow_key to = {.ip = ip, .port = port}, from = {.ip = f->ip, .port = f->port};
    if (rte_hash_lookup(gw->by_addr, &to) >= 0)
        return -EEXIST; /* another client's address: the flow stays */
    int rc = rte_hash_add_key_data(gw->by_addr, &to, (void *)(uintptr_t)(f - gw->flow));
    if (rc < 0)
        return rc;
    rte_hash_del_key(gw->by_addr, &from);
    f->ip = ip;
    f->port = port;
    return 0;
}

/* ---- the loop ----------------------------------------------------------------- */

/* A datagram of the backend (m: its payload): our port names the flow. */
static void from_backend(struct dgw *g, struct rte_mbuf *m, uint16_t dst_port)
{
    uint32_t idx = (uint32_t)rte_be_to_cpu_16(dst_port) - DGW_FLOW_PORT_BASE;
    if (rte_be_to_cpu_16(dst_port) < DGW_FLOW_PORT_BASE || idx >= g->max_flows ||
        !g->flow[idx].used) {
        g->cnt.no_flow++;
        rte_pktmbuf_free(m);
        return;
    }
    struct dgw_flow *f = &g->flow[idx];
    if (g->dtls) {
        dgw_dtls_from_backend(g, m, f);
        return;
    }
    if (dgw_send(g, m, g->listen_port, f->ip, f->port) == 0)
        g->cnt.to_client++;
}

/* --plain: a client's datagram goes to the backend as it is. */
static void plain_from_client(struct dgw *g, struct rte_mbuf *m, uint32_t ip, uint16_t port)
{
    struct dgw_flow *f = dgw_flow_find(g, ip, port);
    if (f == NULL) {
        f = dgw_flow_new(g, ip, port);
        if (f == NULL || dgw_flow_link(g, f) < 0) {
            if (f)
                dgw_flow_free(g, f);
            rte_pktmbuf_free(m);
            return;
        }
    }
    if (dgw_send(g, m, f->our, g->backend_ip, g->backend_port) == 0)
        g->cnt.to_backend++;
}

void dgw_print_counters(const struct dgw *g, FILE *out)
{
    const struct dgw_counters *c = &g->cnt;
    fprintf(out, "rx %lu\ntx %lu\nto_backend %lu\nto_client %lu\nflows %lu\nflows_full %lu\n"
           "no_flow %lu\nneighbour_unknown %lu\ntx_dropped %lu\narp_answered %lu\n"
           "dropped_malformed %lu\ndropped_other %lu\n",
           (unsigned long)c->rx, (unsigned long)c->tx, (unsigned long)c->to_backend,
           (unsigned long)c->to_client, (unsigned long)c->flows, (unsigned long)c->flows_full,
           (unsigned long)c->no_flow, (unsigned long)c->arp_pending,
           (unsigned long)c->tx_dropped, (unsigned long)g->net.arp_answered,
           (unsigned long)g->net.dropped_malformed, (unsigned long)g->net.dropped_other);
    if (g->dtls)
        fprintf(out, "cookie_requests %lu\nhandshakes %lu\nhandshakes_done %lu\n"
               "handshakes_failed %lu\nhandshakes_timed_out %lu\nhandshakes_full %lu\n"
               "evicted %lu\nrecords_opened %lu\nrecords_sealed %lu\ndropped_auth %lu\n"
               "dropped_replay %lu\ndropped_stale %lu\ndropped_record %lu\nseal_failed %lu\n"
               "control_records %lu\nclosed %lu\ncid_moves %lu\nnot_dtls %lu\n"
               "backend_early %lu\n",
               (unsigned long)c->cookie_requests, (unsigned long)c->handshakes,
               (unsigned long)c->handshakes_done, (unsigned long)c->handshakes_failed,
               (unsigned long)c->handshakes_timed_out, (unsigned long)c->handshakes_full,
               (unsigned long)c->evicted, (unsigned long)c->records_opened,
               (unsigned long)c->records_sealed, (unsigned long)c->dropped_auth,
               (unsigned long)c->dropped_replay, (unsigned long)c->dropped_stale,
               (unsigned long)c->dropped_record, (unsigned long)c->seal_failed,
               (unsigned long)c->control_records, (unsigned long)c->closed,
               (unsigned long)c->cid_moves, (unsigned long)c->not_dtls,
               (unsigned long)c->backend_early);
    fflush(out);
}

/* One round of the loop: a burst of frames in, each classified and sent
 * on its way, the DTLS bursts run, the handshake timers looked at, the
 * frames out.  Returns the number of frames received. */
unsigned dgw_round(struct dgw *g)
{
    struct rte_mbuf *rx[DGW_BURST];
    uint16_t n = rte_eth_rx_burst(g->port_id, 0, rx, DGW_BURST);
    g->cnt.rx += n;
    for (uint16_t i = 0; i < n; i++) {
        struct rte_mbuf *m = rx[i];
        struct dgw_udp u;
        bool reply;
        enum dgw_kind k = dgw_rx(&g->net, m, &u, &reply);
        if (k == DGW_ARP_DONE && reply) {
            dgw_tx(g, m);
            continue;
        }
        bool from_backend_addr = u.src_ip == g->backend_ip && u.src_port == g->backend_port;
        if (k != DGW_UDP || (!from_backend_addr && u.dst_port != g->listen_port)) {
            rte_pktmbuf_free(m);
            continue;
        }
        /* The datagram's payload alone: records open and seal where they
         * lie, new headers go around what is forwarded. */
        rte_pktmbuf_adj(m, (uint16_t)u.payload_off);
        rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - u.payload_len));
        if (from_backend_addr)
            from_backend(g, m, u.dst_port);
        else if (g->dtls)
            dgw_dtls_from_client(g, m, u.src_ip, u.src_port);
        else
            plain_from_client(g, m, u.src_ip, u.src_port);
    }
    if (g->dtls) {
        dgw_dtls_bursts(g);
        dgw_dtls_timers(g);
    }
    dgw_flush(g);
    return n;
}

int dgw_setup(struct dgw *g)
{
    static unsigned instance;
    char name[32];
    snprintf(name, sizeof name, "dgw_flows_%u", instance++);
    struct rte_hash_parameters hp = {.name = name,
                                     .entries = g->max_flows * 2 > 64 ? g->max_flows * 2 : 64,
                                     .key_len = sizeof(struct flow_key),
                                     .hash_func = rte_jhash,
                                     .socket_id = (int)rte_socket_id()};
    g->by_addr = rte_hash_create(&hp);
    g->flow = calloc(g->max_flows, sizeof *g->flow);
    g->free_idx = calloc(g->max_flows, sizeof *g->free_idx);
    if (g->by_addr == NULL || g->flow == NULL || g->free_idx == NULL) {
        dgw_teardown(g);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < g->max_flows; i++)
        g->free_idx[g->nfree++] = g->max_flows - 1 - i; /* flow 0 first */
    return 0;
}

void dgw_teardown(struct dgw *g)
{
    dgw_dtls_free(g);
    dgw_flush(g);
    rte_hash_free(g->by_addr);
    free(g->flow);
    free(g->free_idx);
    g->by_addr = NULL;
    g->flow = NULL;
    g->free_idx = NULL;
}
