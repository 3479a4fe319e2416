/*
 * fuzz_dgw_net: the DTLS data plane's frame intake (tools/dtls-gw/dgw_net.c)
 * with frames of any content and length, as a network sends them.
 *
 * Input: the frame's bytes (at most 2048, one mbuf segment as a driver
 * delivers it).  No EAL: the mbuf is a header over a buffer of our own.
 *
 * Contracts: dgw_rx() never reads or writes outside the frame; a UDP
 * datagram it accepts is addressed to our IP, its payload lies inside the
 * frame and inside the IP and UDP lengths; an ARP reply it builds is
 * exactly an Ethernet header and an ARP packet, from our MAC and IP, to the
 * asker; a learnt neighbour is never broadcast or multicast; wrapping an
 * accepted payload back (dgw_udp_wrap) yields a frame dgw_rx accepts as
 * the same datagram when it is addressed to us.
 */
#include <stdlib.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "../../tools/dtls-gw/dgw.h"
#include "fuzz.h"

#define FRAME_MAX 2048
#define HEADROOM 128

/* An mbuf header over a buffer of exactly HEADROOM + max(n, room) bytes
 * holding the frame at HEADROOM: a read past the frame is ASan's to catch.
 * Freed with frame_free(). */
static struct rte_mbuf *frame(const uint8_t *data, size_t n, size_t room)
{
    size_t cap = n > room ? n : room;
    struct rte_mbuf *m = calloc(1, sizeof *m);
    uint8_t *buf = malloc(HEADROOM + cap);
    m->buf_addr = buf;
    m->buf_iova = (rte_iova_t)(uintptr_t)buf;
    m->buf_len = (uint16_t)(HEADROOM + cap);
    m->data_off = HEADROOM;
    if (n)
        memcpy(buf + HEADROOM, data, n);
    m->data_len = (uint16_t)n;
    m->pkt_len = (uint32_t)n;
    m->nb_segs = 1;
    rte_mbuf_refcnt_set(m, 1);
    return m;
}

static void frame_free(struct rte_mbuf *m)
{
    free(m->buf_addr);
    free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FRAME_MAX)
        return 0;
    struct dgw_net n;
    memset(&n, 0, sizeof n);
    n.ip = rte_cpu_to_be_32(RTE_IPV4(10, 77, 0, 2));
    const struct rte_ether_addr mac = {{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};
    n.mac = mac;
    struct rte_mbuf *m = frame(data, size, 0);
    struct dgw_udp u;
    bool reply;
    enum dgw_kind k = dgw_rx(&n, m, &u, &reply);
    FUZZ_ASSERT(k == DGW_DROP || k == DGW_ARP_DONE || k == DGW_UDP, "kind %d", (int)k);
    for (unsigned i = 0; i < n.nneigh; i++)
        FUZZ_ASSERT(rte_is_unicast_ether_addr(&n.neigh[i].mac) &&
                        !rte_is_zero_ether_addr(&n.neigh[i].mac),
                    "learnt a non-unicast neighbour");
    if (reply) {
        FUZZ_ASSERT(k == DGW_ARP_DONE, "a reply that is not ARP");
        FUZZ_ASSERT(m->data_len == sizeof(struct rte_ether_hdr) + sizeof(struct rte_arp_hdr),
                    "ARP reply of %u bytes", m->data_len);
        struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
        struct rte_arp_hdr *a = (struct rte_arp_hdr *)(eth + 1);
        FUZZ_ASSERT(rte_is_same_ether_addr(&eth->src_addr, &mac) &&
                        a->arp_data.arp_sip == n.ip &&
                        a->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REPLY),
                    "ARP reply not from us");
    }
    if (k == DGW_UDP) {
        FUZZ_ASSERT(u.dst_ip == n.ip, "a datagram not to us accepted");
        FUZZ_ASSERT(u.payload_off <= size && u.payload_len <= size - u.payload_off,
                    "payload %u+%u outside a %zu-byte frame", u.payload_off, u.payload_len,
                    size);
        /* Wrapped back to ourselves, it is the same datagram. */
        uint8_t payload[FRAME_MAX];
        memcpy(payload, data + u.payload_off, u.payload_len);
        struct rte_mbuf *w = frame(payload, u.payload_len, 0);
        dgw_neigh_learn(&n, n.ip, &mac);
        FUZZ_ASSERT(dgw_udp_wrap(&n, w, u.src_port, n.ip, u.dst_port) == 0, "wrap");
        struct dgw_udp v;
        bool r2;
        FUZZ_ASSERT(dgw_rx(&n, w, &v, &r2) == DGW_UDP && v.payload_len == u.payload_len &&
                        memcmp(rte_pktmbuf_mtod_offset(w, uint8_t *, v.payload_off), payload,
                               u.payload_len) == 0 &&
                        v.src_port == u.src_port && v.dst_port == u.dst_port,
                    "a wrapped datagram did not come back as itself");
        frame_free(w);
    }
    frame_free(m);
    return 0;
}

/* Seeds: an ARP request for us, a UDP datagram to us (checksums right),
 * one with a bad UDP checksum, a fragment, a frame for another MAC. */
void fuzz_seeds(const char *dir)
{
    struct dgw_net n;
    memset(&n, 0, sizeof n);
    n.ip = rte_cpu_to_be_32(RTE_IPV4(10, 77, 0, 1));
    const struct rte_ether_addr peer = {{0x02, 0, 0, 0, 0, 1}}, us = {{0x02, 0, 0, 0, 0, 2}};
    n.mac = peer;
    /* ARP request from the peer for 10.77.0.2. */
    struct rte_mbuf *m = frame(NULL, 0, 64);
    dgw_arp_request(&n, m, rte_cpu_to_be_32(RTE_IPV4(10, 77, 0, 2)));
    fuzz_seed_write(dir, "arp-request", rte_pktmbuf_mtod(m, uint8_t *), m->data_len);
    frame_free(m);
    /* UDP to us: built by the peer's side of the code. */
    const uint8_t payload[] = "hello through the data plane";
    m = frame(payload, sizeof payload, 0);
    dgw_neigh_learn(&n, rte_cpu_to_be_32(RTE_IPV4(10, 77, 0, 2)), &us);
    if (dgw_udp_wrap(&n, m, rte_cpu_to_be_16(40000), rte_cpu_to_be_32(RTE_IPV4(10, 77, 0, 2)),
                     rte_cpu_to_be_16(4433)) == 0) {
        uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
        fuzz_seed_write(dir, "udp", f, m->data_len);
        f[m->data_len - 1] ^= 1; /* the UDP checksum no longer matches */
        fuzz_seed_write(dir, "udp-bad-checksum", f, m->data_len);
        f[m->data_len - 1] ^= 1;
        f[RTE_ETHER_HDR_LEN + 6] |= 0x20; /* MF: a fragment */
        fuzz_seed_write(dir, "udp-fragment", f, m->data_len);
        f[RTE_ETHER_HDR_LEN + 6] &= (uint8_t)~0x20;
        f[0] ^= 0x10; /* another MAC */
        fuzz_seed_write(dir, "udp-other-mac", f, m->data_len);
    }
    frame_free(m);
}
