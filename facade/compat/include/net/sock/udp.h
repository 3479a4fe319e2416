/* RIOT's net/sock/udp.h on Linux (zrec-zsock, docs/COMPAT.md): UDP socks
 * over the kernel's UDP sockets.  Timeouts are in microseconds
 * (SOCK_NO_TIMEOUT waits forever, 0 does not wait); errors are negative
 * errno values, as RIOT documents them. */
#ifndef ZREC_RIOT_NET_SOCK_UDP_H
#define ZREC_RIOT_NET_SOCK_UDP_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>

#include "net/af.h"
#include "net/ipv4/addr.h"
#include "net/ipv6/addr.h"
#include "net/sock.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _sock_tl_ep sock_udp_ep_t; /**< a UDP endpoint */

/** Auxiliary data of a receive (no optional module: flags only). */
typedef struct {
    sock_aux_flags_t flags;
} sock_udp_aux_rx_t;

/** Auxiliary data of a send (no optional module: flags only). */
typedef struct {
    sock_aux_flags_t flags;
} sock_udp_aux_tx_t;

/** A UDP sock: complete, so applications declare it where they like.  Its
 *  members are the library's. */
typedef struct sock_udp {
    uint32_t magic;         /* a live sock (created, not closed) */
    int fd;                 /* the kernel's UDP socket */
    int family;             /* the kernel's AF_INET / AF_INET6 */
    bool riot_af;           /* the application numbers families as RIOT (AF_INET 3) */
    bool has_remote;
    uint16_t flags;         /* SOCK_FLAGS_* */
    sock_udp_ep_t remote;   /* the default destination (and filter, CONNECT_REMOTE) */
    void *rx_buf;           /* sock_udp_recv_buf(): the datagram lent out */
} sock_udp_t;

int sock_udp_create(sock_udp_t *sock, const sock_udp_ep_t *local, const sock_udp_ep_t *remote,
                    uint16_t flags);
void sock_udp_close(sock_udp_t *sock);
int sock_udp_get_local(sock_udp_t *sock, sock_udp_ep_t *ep);
int sock_udp_get_remote(sock_udp_t *sock, sock_udp_ep_t *ep);

ssize_t sock_udp_recv_aux(sock_udp_t *sock, void *data, size_t max_len, uint32_t timeout,
                          sock_udp_ep_t *remote, sock_udp_aux_rx_t *aux);
static inline ssize_t sock_udp_recv(sock_udp_t *sock, void *data, size_t max_len,
                                    uint32_t timeout, sock_udp_ep_t *remote)
{
    return sock_udp_recv_aux(sock, data, max_len, timeout, remote, NULL);
}

/* Zero-copy receive: a call with *buf_ctx == NULL lends out the next
 * datagram (*data, its length returned); the next call with the same
 * buf_ctx takes it back and returns 0. */
ssize_t sock_udp_recv_buf_aux(sock_udp_t *sock, void **data, void **buf_ctx, uint32_t timeout,
                              sock_udp_ep_t *remote, sock_udp_aux_rx_t *aux);
static inline ssize_t sock_udp_recv_buf(sock_udp_t *sock, void **data, void **buf_ctx,
                                        uint32_t timeout, sock_udp_ep_t *remote)
{
    return sock_udp_recv_buf_aux(sock, data, buf_ctx, timeout, remote, NULL);
}

/* sock NULL: from a port of the moment (an ephemeral socket). */
ssize_t sock_udp_sendv_aux(sock_udp_t *sock, const iolist_t *snips, const sock_udp_ep_t *remote,
                           sock_udp_aux_tx_t *aux);
static inline ssize_t sock_udp_send_aux(sock_udp_t *sock, const void *data, size_t len,
                                        const sock_udp_ep_t *remote, sock_udp_aux_tx_t *aux)
{
    const iolist_t snip = {NULL, (void *)data, len};
    return sock_udp_sendv_aux(sock, &snip, remote, aux);
}
static inline ssize_t sock_udp_send(sock_udp_t *sock, const void *data, size_t len,
                                    const sock_udp_ep_t *remote)
{
    return sock_udp_send_aux(sock, data, len, remote, NULL);
}
static inline ssize_t sock_udp_sendv(sock_udp_t *sock, const iolist_t *snips,
                                     const sock_udp_ep_t *remote)
{
    return sock_udp_sendv_aux(sock, snips, remote, NULL);
}

static inline bool sock_udp_ep_is_v6(const sock_udp_ep_t *ep)
{
    return ep->family == AF_INET6;
}
static inline bool sock_udp_ep_is_multicast(const sock_udp_ep_t *ep)
{
    if (ep->family == AF_INET6)
        return ipv6_addr_is_multicast((const ipv6_addr_t *)ep->addr.ipv6);
    return ipv4_addr_is_multicast((const ipv4_addr_t *)ep->addr.ipv4);
}

#ifdef __cplusplus
}
#endif
#endif
