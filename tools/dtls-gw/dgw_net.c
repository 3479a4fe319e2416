/*
 * Ethernet / ARP / IPv4 / UDP for the DTLS data plane: what the kernel would
 * do for a host with one address, and no more (no fragments, no options
 * beyond skipping them, no ICMP).  Every field read is checked against the
 * frame's length first: the frames come from the network.
 */
#include <errno.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "dgw.h"

void dgw_neigh_learn(struct dgw_net *n, uint32_t ip, const struct rte_ether_addr *mac)
{
    if (ip == 0 || rte_is_zero_ether_addr(mac) || !rte_is_unicast_ether_addr(mac))
        return;
    for (unsigned i = 0; i < n->nneigh; i++)
        if (n->neigh[i].ip == ip) {
            rte_ether_addr_copy(mac, &n->neigh[i].mac);
            return;
        }
    unsigned slot = n->nneigh < RTE_DIM(n->neigh) ? n->nneigh++ : n->next_slot++ % RTE_DIM(n->neigh);
    n->neigh[slot].ip = ip;
    rte_ether_addr_copy(mac, &n->neigh[slot].mac);
}

const struct rte_ether_addr *dgw_neigh_find(const struct dgw_net *n, uint32_t ip)
{
    for (unsigned i = 0; i < n->nneigh; i++)
        if (n->neigh[i].ip == ip)
            return &n->neigh[i].mac;
    return NULL;
}

/* The Internet checksum's sum (RFC 1071) of len bytes, eight at a step:
 * the value DPDK's __rte_raw_cksum() gives (native 16-bit words, an odd
 * last byte as the low-address half of a word), reduced to 16 bits.
 * DPDK 22.11 adds two bytes at a step; at 1400-byte datagrams that was
 * most of the data plane's time (perf), checked once on the way in and
 * made once on the way out.  A 32-bit word is its two 16-bit halves
 * modulo 0xffff (2^16 = 1), and so is every fold below. */
uint16_t dgw_cksum(const void *buf, size_t len, uint32_t init)
{
    const uint8_t *p = buf;
    uint64_t s = init;
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        s += (w & 0xffffffffu) + (w >> 32);
    }
    for (; len >= 2; p += 2, len -= 2) {
        uint16_t v;
        memcpy(&v, p, 2);
        s += v;
    }
    if (len) {
        uint16_t left = 0;
        memcpy(&left, p, 1);
        s += left;
    }
    s = (s & 0xffffffffu) + (s >> 32);
    s = (s & 0xffffffffu) + (s >> 32);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

/* The UDP checksum's sum over the pseudo-header (RFC 768), the header and
 * the payload, len bytes from l4 in m: contiguous in the first segment (the
 * common case), else DPDK's walk of the chain. */
static uint16_t udp_sum(const struct rte_mbuf *m, const struct rte_ipv4_hdr *ip, uint32_t l4_off,
                        uint32_t len)
{
    if (l4_off + len <= rte_pktmbuf_data_len(m))
        return dgw_cksum(rte_pktmbuf_mtod_offset(m, const uint8_t *, l4_off), len,
                         rte_ipv4_phdr_cksum(ip, 0));
    uint16_t raw = 0;
    if (rte_raw_cksum_mbuf(m, l4_off, len, &raw) < 0)
        return 0;
    uint32_t s = (uint32_t)raw + rte_ipv4_phdr_cksum(ip, 0);
    s = (s & 0xffff) + (s >> 16);
    return (uint16_t)((s & 0xffff) + (s >> 16));
}

/* Frames are read and written through copies of their headers: a frame
 * the gateway builds in front of a record's plaintext starts wherever that
 * plaintext lies (odd addresses included: DTLS headers are 13 bytes), and
 * nothing here may assume more alignment than the wire gives. */

static enum dgw_kind arp(struct dgw_net *n, struct rte_mbuf *m, const struct rte_ether_hdr *eth,
                         bool *reply)
{
    struct rte_arp_hdr a;
    if (rte_pktmbuf_data_len(m) < sizeof *eth + sizeof a) {
        n->dropped_malformed++;
        return DGW_DROP;
    }
    uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
    memcpy(&a, frame + sizeof *eth, sizeof a);
    if (a.arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
        a.arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) || a.arp_hlen != 6 ||
        a.arp_plen != 4) {
        n->dropped_malformed++;
        return DGW_DROP;
    }
    struct rte_arp_ipv4 *d = &a.arp_data;
    /* RFC 826: learn the sender when the request is for us (or a reply). */
    if (d->arp_tip == n->ip)
        dgw_neigh_learn(n, d->arp_sip, &d->arp_sha);
    if (a.arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) || d->arp_tip != n->ip)
        return a.arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REPLY) ? DGW_ARP_DONE : DGW_DROP;
    /* The reply, in place. */
    a.arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
    rte_ether_addr_copy(&d->arp_sha, &d->arp_tha);
    d->arp_tip = d->arp_sip;
    rte_ether_addr_copy(&n->mac, &d->arp_sha);
    d->arp_sip = n->ip;
    struct rte_ether_hdr e = {.dst_addr = eth->src_addr, .src_addr = n->mac,
                              .ether_type = eth->ether_type};
    memcpy(frame, &e, sizeof e);
    memcpy(frame + sizeof e, &a, sizeof a);
    rte_pktmbuf_data_len(m) = sizeof e + sizeof a;
    rte_pktmbuf_pkt_len(m) = sizeof e + sizeof a;
    n->arp_answered++;
    *reply = true;
    return DGW_ARP_DONE;
}

enum dgw_kind dgw_rx(struct dgw_net *n, struct rte_mbuf *m, struct dgw_udp *u, bool *arp_reply)
{
    *arp_reply = false;
    /* Headers must sit in the first segment (a driver's receive segments
     * are far larger than them). */
    uint32_t seg = rte_pktmbuf_data_len(m);
    const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
    struct rte_ether_hdr eth;
    if (seg < sizeof eth) {
        n->dropped_malformed++;
        return DGW_DROP;
    }
    memcpy(&eth, frame, sizeof eth);
    if (eth.ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP))
        return arp(n, m, &eth, arp_reply);
    if (eth.ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
        n->dropped_other++;
        return DGW_DROP;
    }
    if (!rte_is_same_ether_addr(&eth.dst_addr, &n->mac) &&
        !rte_is_broadcast_ether_addr(&eth.dst_addr)) {
        n->dropped_other++;
        return DGW_DROP;
    }
    /* The IPv4 header with its options (at most 60 bytes), aligned. */
    union {
        struct rte_ipv4_hdr h;
        uint8_t b[60];
    } ipu;
    struct rte_ipv4_hdr *ip = &ipu.h;
    if (seg < sizeof eth + sizeof *ip) {
        n->dropped_malformed++;
        return DGW_DROP;
    }
    memcpy(ip, frame + sizeof eth, sizeof *ip);
    uint32_t ihl = (uint32_t)(ip->version_ihl & 0xf) * 4;
    uint32_t tot = rte_be_to_cpu_16(ip->total_length);
    struct rte_udp_hdr udp;
    if ((ip->version_ihl >> 4) != 4 || ihl < 20 || seg < sizeof eth + ihl + sizeof udp ||
        tot < ihl + sizeof udp || tot > rte_pktmbuf_pkt_len(m) - sizeof eth) {
        n->dropped_malformed++;
        return DGW_DROP;
    }
    memcpy(ipu.b, frame + sizeof eth, ihl);
    if (rte_raw_cksum(ip, ihl) != 0xffff) { /* RFC 791: sums to all ones */
        n->dropped_malformed++;
        return DGW_DROP;
    }
    /* Fragments (MF set or an offset) are not taken: DTLS keeps records
     * within a datagram, and a data plane reassembling them would be a
     * memory sink for anyone. */
    if ((rte_be_to_cpu_16(ip->fragment_offset) & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) ||
        ip->next_proto_id != IPPROTO_UDP || ip->dst_addr != n->ip) {
        n->dropped_other++;
        return DGW_DROP;
    }
    memcpy(&udp, frame + sizeof eth + ihl, sizeof udp);
    uint32_t ulen = rte_be_to_cpu_16(udp.dgram_len);
    if (ulen < sizeof udp || ulen > tot - ihl) {
        n->dropped_malformed++;
        return DGW_DROP;
    }
    /* Over the datagram's own length: bytes past it (Ethernet padding)
     * are not the datagram's. */
    if (udp.dgram_cksum != 0 && udp_sum(m, ip, (uint32_t)(sizeof eth + ihl), ulen) != 0xffff) {
        n->dropped_malformed++;
        return DGW_DROP;
    }
    dgw_neigh_learn(n, ip->src_addr, &eth.src_addr);
    *u = (struct dgw_udp){.src_mac = eth.src_addr,
                          .src_ip = ip->src_addr,
                          .dst_ip = ip->dst_addr,
                          .src_port = udp.src_port,
                          .dst_port = udp.dst_port,
                          .payload_off = (uint32_t)(sizeof eth + ihl + sizeof udp),
                          .payload_len = ulen - (uint32_t)sizeof udp};
    return DGW_UDP;
}

int dgw_udp_wrap(struct dgw_net *n, struct rte_mbuf *m, uint16_t sport, uint32_t dst_ip,
                 uint16_t dport)
{
    const struct rte_ether_addr *dmac = dgw_neigh_find(n, dst_ip);
    if (dmac == NULL)
        return -EHOSTUNREACH;
    if (rte_pktmbuf_headroom(m) < DGW_HDR_LEN)
        return -ENOSPC;
    uint32_t plen = rte_pktmbuf_pkt_len(m);
    if (plen > UINT16_MAX - 28)
        return -EMSGSIZE;
    struct {
        struct rte_ether_hdr eth;
        struct rte_ipv4_hdr ip;
        struct rte_udp_hdr udp;
    } h = {
        .eth = {.dst_addr = *dmac, .src_addr = n->mac,
                .ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)},
        .ip = {.version_ihl = RTE_IPV4_VHL_DEF,
               .total_length = rte_cpu_to_be_16((uint16_t)(plen + 28)),
               .fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG),
               .time_to_live = 64,
               .next_proto_id = IPPROTO_UDP,
               .src_addr = n->ip,
               .dst_addr = dst_ip},
        .udp = {.src_port = sport, .dst_port = dport,
                .dgram_len = rte_cpu_to_be_16((uint16_t)(plen + 8))},
    };
    RTE_BUILD_BUG_ON(sizeof h != DGW_HDR_LEN);
    struct rte_ipv4_hdr ip = h.ip; /* aligned, for the checksum helpers */
    h.ip.hdr_checksum = rte_ipv4_cksum(&ip);
    uint8_t *frame = (uint8_t *)rte_pktmbuf_prepend(m, DGW_HDR_LEN);
    memcpy(frame, &h, sizeof h);
    /* The UDP checksum over the pseudo-header, the header (checksum 0) and
     * the payload, as it lies in the mbuf. */
    uint16_t ck = (uint16_t)~udp_sum(m, &ip, RTE_ETHER_HDR_LEN + 20, plen + 8);
    if (ck == 0)
        ck = 0xffff; /* RFC 768: a computed zero goes out as all ones */
    memcpy(frame + RTE_ETHER_HDR_LEN + 20 + offsetof(struct rte_udp_hdr, dgram_cksum), &ck,
           sizeof ck);
    m->l2_len = RTE_ETHER_HDR_LEN;
    m->l3_len = 20;
    return 0;
}

void dgw_arp_request(struct dgw_net *n, struct rte_mbuf *m, uint32_t ip)
{
    struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
    struct rte_arp_hdr *a = (struct rte_arp_hdr *)(eth + 1);
    memset(&eth->dst_addr, 0xff, sizeof eth->dst_addr);
    rte_ether_addr_copy(&n->mac, &eth->src_addr);
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
    *a = (struct rte_arp_hdr){.arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER),
                              .arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4),
                              .arp_hlen = 6,
                              .arp_plen = 4,
                              .arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST)};
    rte_ether_addr_copy(&n->mac, &a->arp_data.arp_sha);
    a->arp_data.arp_sip = n->ip;
    a->arp_data.arp_tip = ip;
    rte_pktmbuf_data_len(m) = sizeof *eth + sizeof *a;
    rte_pktmbuf_pkt_len(m) = sizeof *eth + sizeof *a;
}
