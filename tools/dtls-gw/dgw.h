/*
 * zrec-dtls-gw: the DTLS data plane on DPDK (docs/DTLS-GW.md).
 *
 *   dgw_net.c   Ethernet / ARP / IPv4 / UDP: parse a received frame, build
 *               one around a payload, answer ARP for our address, resolve
 *               the backend's (an ARP cache of one entry per neighbour)
 *   dgw_main.c  command line, EAL and the port, the poll loop, the flow
 *               table (clients by address, backend replies by our port)
 *
 * Everything runs on one lcore: one rx queue, one tx queue, no locks.
 */
#ifndef ZREC_DGW_H
#define ZREC_DGW_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

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

#endif
