/* RIOT's net/sock/util.h on Linux (zrec-zsock): endpoints as text. */
#ifndef ZREC_RIOT_NET_SOCK_UTIL_H
#define ZREC_RIOT_NET_SOCK_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "net/sock/udp.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The endpoint's address into addr_str (IPV6_ADDR_MAX_STR_LEN bytes at
 *  least; "%netif" after a link-local IPv6 one) and its port into *port
 *  (may be NULL): the string's length, or -ENOTSUP (unknown family). */
int sock_udp_ep_fmt(const sock_udp_ep_t *endpoint, char *addr_str, uint16_t *port);
/** "192.0.2.1:5683", "[2001:db8::1]:5683" or without the port: 0, or -EINVAL. */
int sock_udp_str2ep(sock_udp_ep_t *ep_out, const char *str);
/** Same family, address and port (and interface, for IPv6). */
bool sock_udp_ep_equal(const sock_udp_ep_t *a, const sock_udp_ep_t *b);

#ifdef __cplusplus
}
#endif
#endif
