/* RIOT's net/sock.h on Linux (zrec-zsock, docs/COMPAT.md): the common
 * endpoint types of RIOT's sock API.  IPv4 and IPv6 are both there
 * (SOCK_HAS_IPV4, SOCK_HAS_IPV6), as a RIOT build with both modules. */
#ifndef ZREC_RIOT_NET_SOCK_H
#define ZREC_RIOT_NET_SOCK_H

#include <stddef.h>
#include <stdint.h>

#include "iolist.h"
#include "net/af.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef SOCK_HAS_IPV4
#define SOCK_HAS_IPV4
#endif
#ifndef SOCK_HAS_IPV6
#define SOCK_HAS_IPV6
#endif

#define SOCK_FLAGS_REUSE_EP       (0x0001) /**< allow to reuse end point on bind */
#define SOCK_FLAGS_CONNECT_REMOTE (0x0002) /**< receive only from the sock's remote */

#define SOCK_ADDR_ANY_NETIF (0) /**< any interface */
#define SOCK_IPV4_EP_ANY { .family = AF_INET, .netif = SOCK_ADDR_ANY_NETIF }
#define SOCK_IPV6_EP_ANY { .family = AF_INET6, .netif = SOCK_ADDR_ANY_NETIF }

/** Wait forever (timeouts are in microseconds; 0: do not wait). */
#define SOCK_NO_TIMEOUT (UINT32_MAX)

/** An IP endpoint (no port). */
typedef struct {
    int family; /**< AF_INET or AF_INET6 */
    union {
        uint8_t ipv6[16];  /**< IPv6 address */
        uint8_t ipv4[4];   /**< IPv4 address */
        uint32_t ipv4_u32; /**< IPv4 address, network byte order */
    } addr;
    uint16_t netif; /**< interface index (link-local IPv6), or SOCK_ADDR_ANY_NETIF */
} sock_ip_ep_t;

/** A transport-layer endpoint: sock_udp_ep_t. */
struct _sock_tl_ep {
    int family; /**< AF_INET or AF_INET6 (AF_UNSPEC: as the sock's) */
    union {
        uint8_t ipv6[16];  /**< IPv6 address */
        uint8_t ipv4[4];   /**< IPv4 address */
        uint32_t ipv4_u32; /**< IPv4 address, network byte order */
    } addr;
    uint16_t netif; /**< interface index (link-local IPv6), or SOCK_ADDR_ANY_NETIF */
    uint16_t port;  /**< port, host byte order */
};

/** Auxiliary data flags: asked for by the caller, cleared by the stack for
 *  what it filled in.  This stack fills none of them. */
enum {
    SOCK_AUX_GET_LOCAL = (1LU << 0),
    SOCK_AUX_GET_TIMESTAMP = (1LU << 1),
    SOCK_AUX_GET_RSSI = (1LU << 2),
    SOCK_AUX_SET_LOCAL = (1LU << 3),
    SOCK_AUX_GET_TTL = (1LU << 4),
};
typedef uint8_t sock_aux_flags_t;

#ifdef __cplusplus
}
#endif
#endif
