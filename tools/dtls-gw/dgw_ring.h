/*
 * The data plane between two DPDK ports in one process (dgw_ring.c): a
 * gateway (dgw_flow.c, dgw_dtls.c) on one port, a load generator built on
 * the engine on the other, joined by rte_rings (net_ring: each port's tx
 * ring is the other's rx ring).  The generator is the clients and the
 * backend at once: its clients make real handshakes with the gateway (the
 * facade's handshake driver on the client side, over frames), then send
 * records; its backend answers each plaintext datagram by sending it back;
 * its clients open the gateway's records and compare them with what they
 * sent.  No kernel, no timing of anything but the gateway's rounds.
 *
 * Used by tests/dtls-gw/dgw_ring_test.c (everything comes back intact, many
 * sessions) and by zrec-bench's dtls-gw:* points (records per second per
 * core through rx → open → forward → seal → tx, beside the plain loop).
 * C and C++; EAL must be up (rte_eal_init) before dgw_ring_new().
 */
#ifndef ZREC_DGW_RING_H
#define ZREC_DGW_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct dgw_ring;

struct dgw_ring_opts {
    int dtls;              /* 12 or 13: DTLS 1.2 / 1.3 sessions; 0: the plain loop */
    unsigned clients;      /* sessions (flows), at most 4096 */
    unsigned size;         /* payload bytes per datagram (1..1400); 0: 1..1400 varied */
    const char *cert_dir;  /* server-cert.pem and server-key.pem for the gateway */
    const char *provider;  /* the gateway's AEAD: "ipsecmb" (NULL), "wolfcrypt" */
};

/* A gateway and a generator, the handshakes done.  NULL with the reason
 * in err. */
struct dgw_ring *dgw_ring_new(const struct dgw_ring_opts *o, char *err, size_t errlen);

struct dgw_ring_result {
    unsigned records;   /* through the gateway: opened + sealed (DTLS), forwarded (plain) */
    unsigned answers;   /* datagrams back at the clients, intact */
    unsigned bad;       /* back at the clients but not what they sent (must stay 0) */
    uint64_t gw_cycles; /* TSC cycles spent in the gateway's rounds */
};

/* One exchange: a burst of 32 datagrams from the clients (round robin)
 * through the gateway to the backend, echoed, back through the gateway to
 * the clients, opened and compared.  0, or a negative errno when frames
 * went missing (-ETIMEDOUT). */
int dgw_ring_exchange(struct dgw_ring *r, struct dgw_ring_result *out);

/* The gateway's counters (dgw_print_counters). */
void dgw_ring_print(const struct dgw_ring *r, FILE *out);

void dgw_ring_free(struct dgw_ring *r);

#ifdef __cplusplus
}
#endif

#endif
