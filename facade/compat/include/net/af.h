/* RIOT's net/af.h on Linux (zrec-zsock, docs/COMPAT.md).
 *
 * RIOT numbers its address families itself: AF_INET is 3 and AF_INET6 4
 * (Linux: 2 and 10).  A RIOT application that includes no host socket
 * header gets RIOT's numbering, as on RIOT.  One that included the host's
 * <sys/socket.h> first keeps the host's values (its own socket() calls need
 * them); libzrec-zsock takes either numbering in an endpoint and answers in
 * the one the sock was created with. */
#ifndef ZREC_RIOT_NET_AF_H
#define ZREC_RIOT_NET_AF_H

#ifdef __cplusplus
extern "C" {
#endif

#ifndef AF_INET
typedef enum {
    AF_UNSPEC = 0, /**< unspecified address family */
#define AF_UNSPEC AF_UNSPEC
    AF_UNIX,       /**< local to host (pipes, portals) */
#define AF_UNIX AF_UNIX
    AF_PACKET,     /**< packet family */
#define AF_PACKET AF_PACKET
    AF_INET,       /**< internetwork address family: UDP, TCP, etc. */
#define AF_INET AF_INET
    AF_INET6,      /**< internetwork address family with IPv6: UDP, TCP, etc. */
#define AF_INET6 AF_INET6
    AF_NUMOF,      /**< maximum number of address families on this system */
#define AF_NUMOF AF_NUMOF
} unix_af_t;
#else
/* The host's <sys/socket.h> came first: its values stand. */
typedef int unix_af_t;
#ifndef AF_NUMOF
#define AF_NUMOF 5
#endif
#endif
#ifndef AF_MAX
#define AF_MAX AF_NUMOF
#endif

#ifdef __cplusplus
}
#endif
#endif
