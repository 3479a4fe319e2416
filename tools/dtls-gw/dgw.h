/*
 * zrec-dtls-gw: the DTLS data plane on DPDK (docs/DTLS-GW.md).
 *
 *   dgw_net.c   Ethernet / ARP / IPv4 / UDP: parse a received frame, build
 *               one around a payload, answer ARP for our address, resolve
 *               the backend's (an ARP cache of one entry per neighbour)
 *   dgw_main.c  command line, EAL and the port, the poll loop
 *   dgw_flow.c  the flow table (clients by address, backend replies by our
 *               port), one round of the loop, frames out
 *   dgw_dtls.c  DTLS sessions on the flows: the stateless cookie exchange
 *               and the facade's handshake driver (zs_dhs.h) over mbufs,
 *               records opened and sealed in place in bursts
 *               (zrec_dpdk_*_burst), sessions found by connection ID
 *
 * Everything runs on one lcore: one rx queue, one tx queue, no locks.
 */
#ifndef ZREC_DGW_H
#define ZREC_DGW_H

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>

#include <netinet/in.h>

#include <rte_ether.h>
#include <rte_hash.h>
#include <rte_mbuf.h>

#include "zrec/dpdk.h"
#include "zs_dhs.h"

/* Addresses and ports in network byte order, as on the wire. */
struct dgw_udp {
    struct rte_ether_addr src_mac;
    uint32_t src_ip, dst_ip;
    uint16_t src_port, dst_port;
    uint32_t payload_off; /* into the frame */
    uint32_t payload_len;
};

enum dgw_kind {
    DGW_DROP,      /* not for us, or malformed: counted, dropped */
    DGW_ARP_DONE,  /* an ARP request answered in place (send the frame back),
                      or a reply learnt (drop it) */
    DGW_UDP,       /* a UDP datagram to our address: see struct dgw_udp */
};

struct dgw_net {
    struct rte_ether_addr mac;
    uint32_t ip;
    /* Neighbours learnt from ARP (the backend, and clients answered): a
     * small table, replaced round robin. */
    struct {
        uint32_t ip;
        struct rte_ether_addr mac;
    } neigh[64];
    unsigned nneigh, next_slot;
    uint64_t dropped_malformed, dropped_other, arp_answered;
};

/* Classify a received frame; an ARP request for our address becomes its
 * reply in place (*arp_reply set: transmit the same mbuf). */
enum dgw_kind dgw_rx(struct dgw_net *n, struct rte_mbuf *m, struct dgw_udp *u, bool *arp_reply);

/* Prepend Ethernet/IPv4/UDP headers before the mbuf's data (its payload),
 * from our address and `sport` to `dst_ip:dport` (MAC from the neighbour
 * table).  -EHOSTUNREACH: the neighbour is not known yet (call
 * dgw_arp_request); -ENOSPC: headroom too small. */
int dgw_udp_wrap(struct dgw_net *n, struct rte_mbuf *m, uint16_t sport, uint32_t dst_ip,
                 uint16_t dport);

/* Fill m with an ARP request for `ip`. */
void dgw_arp_request(struct dgw_net *n, struct rte_mbuf *m, uint32_t ip);

/* The neighbour table: learn (from any ARP or IPv4 frame), find. */
void dgw_neigh_learn(struct dgw_net *n, uint32_t ip, const struct rte_ether_addr *mac);
const struct rte_ether_addr *dgw_neigh_find(const struct dgw_net *n, uint32_t ip);

#define DGW_HDR_LEN (RTE_ETHER_HDR_LEN + 20 + 8)

/* The Internet checksum's sum (RFC 1071) of buf, plus init, folded to 16
 * bits, not complemented: what DPDK's rte_raw_cksum() gives, faster. */
uint16_t dgw_cksum(const void *buf, size_t len, uint32_t init);

/* ---- the gateway: flows and what they carry (dgw_main.c, dgw_dtls.c) ---- */

#define DGW_BURST 32
#define DGW_TX_CAP (8 * DGW_BURST)
#define DGW_FLOW_PORT_BASE 20000u /* flow i talks to the backend from this + i */

/* A client: its address (network order, as on the wire), our port toward
 * the backend, and, in DTLS mode, its handshake or session. */
struct dgw_flow {
    uint32_t ip;
    uint16_t port;
    uint16_t our;
    bool used;
    bool cid_linked;         /* DTLS: in the by-CID table under hs.my_cid */
    int hs_slot;             /* DTLS: index in the handshake list, -1 when none */
    struct zs_dhs hs;        /* DTLS: the handshake, then its last flight and the CIDs */
    struct zrec_session *zs; /* DTLS: after the handoff (NULL: still the handshake) */
    uint64_t active;         /* DTLS: the gateway's tick at its last authentic record */
    int64_t key_update_at;   /* DTLS 1.3: our KeyUpdate's retransmission timer */
};

struct dgw_counters {
    uint64_t rx, tx, to_backend, to_client, flows, flows_full, no_flow, arp_pending,
        tx_dropped;
    /* DTLS */
    uint64_t cookie_requests, handshakes, handshakes_done, handshakes_failed,
        handshakes_timed_out, handshakes_full, evicted, records_opened, records_sealed,
        dropped_auth, dropped_replay, dropped_stale, dropped_record, seal_failed,
        control_records, closed, cid_moves, not_dtls, backend_early;
};

struct dgw_dtls;

struct dgw {
    struct dgw_net net;
    struct rte_mempool *mp;
    uint16_t port_id;
    uint16_t listen_port; /* network order */
    uint32_t backend_ip;  /* network order */
    uint16_t backend_port;
    unsigned max_flows;
    struct rte_hash *by_addr; /* flow_key → flow index (data) */
    struct dgw_flow *flow;
    uint32_t *free_idx; /* free flow indices, a stack */
    unsigned nfree;
    struct rte_mbuf *tx[DGW_TX_CAP];
    unsigned ntx;
    struct dgw_dtls *dtls; /* NULL: --plain */
    struct dgw_counters cnt;
};

/* dgw_flow.c: the flow table, the loop, frames out. */
/* The flow table for g->max_flows (g->mp, port_id, addresses set by the
 * caller); 0 or -ENOMEM.  dgw_teardown: DTLS sessions closed (close_notify
 * sent), tables freed. */
int dgw_setup(struct dgw *g);
void dgw_teardown(struct dgw *g);
/* One round: a burst in, through, out; the number of frames received. */
unsigned dgw_round(struct dgw *g);
void dgw_print_counters(const struct dgw *g, FILE *out);
struct dgw_flow *dgw_flow_find(struct dgw *g, uint32_t ip, uint16_t port);
/* A new flow for ip:port (not yet findable: dgw_flow_link), or NULL when
 * the table is full (counted). */
struct dgw_flow *dgw_flow_new(struct dgw *g, uint32_t ip, uint16_t port);
int dgw_flow_link(struct dgw *g, struct dgw_flow *f);
void dgw_flow_free(struct dgw *g, struct dgw_flow *f);
/* The client moved (a DTLS 1.3 connection ID, RFC 9147 §9): re-key the flow. */
int dgw_flow_move(struct dgw *g, struct dgw_flow *f, uint32_t ip, uint16_t port);
/* m (a datagram's payload) framed from our sport to ip:dport and queued
 * for the port; 0, or what dgw_udp_wrap said (m freed, an unknown
 * neighbour counted). */
int dgw_send(struct dgw *g, struct rte_mbuf *m, uint16_t sport, uint32_t ip, uint16_t dport);
/* Queue a frame for rte_eth_tx_burst (flushed when full and each round). */
void dgw_tx(struct dgw *g, struct rte_mbuf *m);
void dgw_flush(struct dgw *g);

/* dgw_dtls.c */
struct dgw_dtls_opts {
    const char *cert, *key;   /* PEM or DER files */
    bool dtls12, dtls13;      /* the versions served (both by default) */
    bool cid;                 /* DTLS 1.3: give each client a connection ID */
    const struct zrec_aead_provider *provider; /* NULL: the default */
    unsigned max_handshakes;
    uint32_t hs_timeout_min_ms, hs_timeout_max_ms;
};
/* 0, or -1 with the reason on stderr. */
int dgw_dtls_init(struct dgw *g, const struct dgw_dtls_opts *o);
void dgw_dtls_free(struct dgw *g);
/* A datagram from a client (m: its payload alone): a ClientHello, a
 * handshake step, or a record queued for the next open burst. */
void dgw_dtls_from_client(struct dgw *g, struct rte_mbuf *m, uint32_t ip, uint16_t port);
/* A backend reply (m: its payload alone) for flow f: queued for sealing. */
void dgw_dtls_from_backend(struct dgw *g, struct rte_mbuf *m, struct dgw_flow *f);
/* Run the queued open and seal bursts; forward what they give. */
void dgw_dtls_bursts(struct dgw *g);
/* Retransmission timers of the handshakes (called each round; cheap). */
void dgw_dtls_timers(struct dgw *g);
/* A flow's DTLS state goes (before dgw_flow_free). */
void dgw_dtls_flow_end(struct dgw *g, struct dgw_flow *f);

#endif
