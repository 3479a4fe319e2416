/*
 * zrec libzrec-zsock: <zephyr/net/net_ip.h> on Linux.
 *
 * Zephyr's net_ip.h defines its own address families, sockaddr structures
 * and byte-order helpers.  Under zrec a zsock socket *is* a Linux socket, so
 * the facade does not define new structures: every Zephyr name below is
 * mapped onto the host's (glibc's) type or constant, and the kernel gets
 * exactly what the application wrote.  Both naming generations work:
 *
 *   - the older names (Zephyr <= 4.3, and 4.4's CONFIG_NET_NAMESPACE_COMPAT
 *     mode): AF_INET, struct sockaddr_in, htons(), IPPROTO_TLS_1_2 ... -
 *     for the POSIX ones these simply are glibc's;
 *   - the Zephyr 4.4 namespaced names (include/zephyr/net/net_ip.h,
 *     "net: Add namespace to network symbols"): NET_AF_INET,
 *     struct net_sockaddr_in, net_htons(), NET_IPPROTO_TLS_1_2 ...
 *
 * Differences from Zephyr, all because the kernel sees these values:
 *   - AF_* / NET_AF_* are Linux's (AF_INET 2, AF_INET6 10, AF_UNIX 1,
 *     AF_PACKET 17, AF_CAN 29); Zephyr numbers them 1, 2, 6, 3, 4.
 *     NET_AF_NET_MGMT has no Linux counterpart and is not defined.
 *   - struct in_addr is glibc's: it has s_addr only, not Zephyr's
 *     s4_addr[] / s4_addr16[] / s4_addr32[] union members.
 *   - struct sockaddr_in6's sin6_scope_id is glibc's uint32_t (Zephyr:
 *     uint8_t) and struct sockaddr has sa_data (Zephyr: data).
 *   - socklen_t / net_socklen_t is glibc's 32-bit socklen_t, as in Zephyr 4.x
 *     (net_socklen_t is uint32_t there); older Zephyr releases used size_t.
 */
#ifndef ZEPHYR_INCLUDE_NET_NET_IP_H_
#define ZEPHYR_INCLUDE_NET_NET_IP_H_

#include <zephyr/net/zsock_host.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Protocol and address families: Linux values ---- */

#define NET_PF_UNSPEC PF_UNSPEC
#define NET_PF_INET   PF_INET
#define NET_PF_INET6  PF_INET6
#define NET_PF_PACKET PF_PACKET
#define NET_PF_CAN    PF_CAN
#define NET_PF_LOCAL  PF_LOCAL
#define NET_PF_UNIX   PF_UNIX

#define NET_AF_UNSPEC AF_UNSPEC
#define NET_AF_INET   AF_INET
#define NET_AF_INET6  AF_INET6
#define NET_AF_PACKET AF_PACKET
#define NET_AF_CAN    AF_CAN
#define NET_AF_LOCAL  AF_LOCAL
#define NET_AF_UNIX   AF_UNIX

/** Protocol numbers from IANA/BSD (Zephyr's enum net_ip_protocol); the
 *  values are IANA's and so Linux's.  glibc's IPPROTO_* belong to an
 *  anonymous enum that cannot be named, so this is a separate enum with the
 *  same values: `enum net_ip_protocol p = NET_IPPROTO_TCP;` is clean, while
 *  mixing it with glibc's IPPROTO_TCP in one expression draws gcc's
 *  -Wenum-compare / -Wenum-conversion (use int, as the socket calls do). */
enum net_ip_protocol {
	NET_IPPROTO_IP = IPPROTO_IP,
	NET_IPPROTO_ICMP = IPPROTO_ICMP,
	NET_IPPROTO_IGMP = IPPROTO_IGMP,
	NET_IPPROTO_ETH_P_ALL = 3, /* Linux ETH_P_ALL, as Zephyr */
	NET_IPPROTO_IPIP = IPPROTO_IPIP,
	NET_IPPROTO_TCP = IPPROTO_TCP,
	NET_IPPROTO_UDP = IPPROTO_UDP,
	NET_IPPROTO_IPV6 = IPPROTO_IPV6,
	NET_IPPROTO_ICMPV6 = IPPROTO_ICMPV6,
	NET_IPPROTO_SCTP = IPPROTO_SCTP,
	NET_IPPROTO_RAW = IPPROTO_RAW,
};

/** Secure protocols for zsock_socket()'s proto argument (Zephyr's enum
 *  net_ip_protocol_secure, same values).  Linux has no such protocols: the
 *  facade creates the TCP (TLS) or UDP (DTLS) kernel socket and runs the
 *  record protocol itself.  NET_IPPROTO_DTLS_1_3 is a zrec extension
 *  (Zephyr has no DTLS 1.3); 274 is the next free number after DTLS 1.2. */
enum net_ip_protocol_secure {
	NET_IPPROTO_TLS_1_0 = 256,
	NET_IPPROTO_TLS_1_1 = 257,
	NET_IPPROTO_TLS_1_2 = 258,
	NET_IPPROTO_TLS_1_3 = 259,
	NET_IPPROTO_DTLS_1_0 = 272,
	NET_IPPROTO_DTLS_1_2 = 273,
	NET_IPPROTO_DTLS_1_3 = 274, /* zrec extension */
};

/* Older names (Zephyr <= 4.3): plain integer constants, usable in #if. */
#define IPPROTO_TLS_1_0  256
#define IPPROTO_TLS_1_1  257
#define IPPROTO_TLS_1_2  258
#define IPPROTO_TLS_1_3  259
#define IPPROTO_DTLS_1_0 272
#define IPPROTO_DTLS_1_2 273
#define IPPROTO_DTLS_1_3 274 /* zrec extension */

/* Socket types: Zephyr's enum net_sock_type has Linux's values (STREAM 1,
 * DGRAM 2, RAW 3, SEQPACKET 5), so the enum simply is glibc's socket type
 * enum.  One enum (not a second one with equal values) keeps gcc's
 * -Wenum-conversion quiet for both `enum net_sock_type t = SOCK_STREAM;`
 * (older code) and `= NET_SOCK_STREAM` (4.4 code). */
#define net_sock_type      __socket_type
#define NET_SOCK_STREAM    SOCK_STREAM
#define NET_SOCK_DGRAM     SOCK_DGRAM
#define NET_SOCK_RAW       SOCK_RAW
#define NET_SOCK_SEQPACKET SOCK_SEQPACKET

/* ---- Byte order ---- */

#define net_ntohs(x)  ntohs(x)
#define net_ntohl(x)  ntohl(x)
#define net_ntohll(x) be64toh(x)
#define net_htons(x)  htons(x)
#define net_htonl(x)  htonl(x)
#define net_htonll(x) htobe64(x)

/* Zephyr's net_ip.h also gives the 64-bit ones under their plain names. */
#ifndef ntohll
#define ntohll(x) be64toh(x)
#endif
#ifndef htonll
#define htonll(x) htobe64(x)
#endif

/* ---- Types: Zephyr 4.4's net_* names are the host's types ---- */

/* Struct tags cannot be typedef'd, so the struct names are macros: then
 * `struct net_sockaddr_in` *is* `struct sockaddr_in` and pointers to either
 * pass to zsock_connect() etc. without casts or warnings. */
#define net_in_addr          in_addr
#define net_in6_addr         in6_addr
#define net_sockaddr         sockaddr
#define net_sockaddr_in      sockaddr_in
#define net_sockaddr_in6     sockaddr_in6
#define net_sockaddr_storage sockaddr_storage
#define net_sockaddr_un      sockaddr_un
#define net_iovec            iovec
#define net_msghdr           msghdr
#define net_cmsghdr          cmsghdr
#define net_in_pktinfo       in_pktinfo
#define net_in6_pktinfo      in6_pktinfo
#define net_ip_mreqn         ip_mreqn
#define net_ip_mreq          ip_mreq
#define net_ipv6_mreq        ipv6_mreq
#define net_ifreq            ifreq

typedef sa_family_t net_sa_family_t;
typedef socklen_t net_socklen_t;

#define NET_CMSG_FIRSTHDR(msghdr)     CMSG_FIRSTHDR(msghdr)
#define NET_CMSG_NXTHDR(msghdr, cmsg) CMSG_NXTHDR(msghdr, cmsg)
#define NET_CMSG_DATA(cmsg)           CMSG_DATA(cmsg)
#define NET_CMSG_SPACE(length)        CMSG_SPACE(length)
#define NET_CMSG_LEN(length)          CMSG_LEN(length)

/* ---- Addresses ---- */

#define NET_IPV6_ADDR_SIZE 16 /* binary size of an IPv6 address */
#define NET_IPV4_ADDR_SIZE 4  /* binary size of an IPv4 address */
/* Zephyr's text buffer sizes (4.x values: room for a v4-mapped IPv6). */
#define NET_IPV6_ADDR_LEN sizeof("xxxx:xxxx:xxxx:xxxx:xxxx:xxxx:xxx.xxx.xxx.xxx")
#define NET_IPV4_ADDR_LEN sizeof("xxx.xxx.xxx.xxx")

#define NET_INET_ADDRSTRLEN  INET_ADDRSTRLEN
#define NET_INET6_ADDRSTRLEN INET6_ADDRSTRLEN

#define NET_INADDR_ANY       0
#define NET_INADDR_BROADCAST 0xffffffff

/* Initializers for glibc's struct in_addr {in_addr_t s_addr;} (network
 * order).  Zephyr's braces { { { 127, 0, 0, 1 } } } fill its byte union,
 * which glibc's struct does not have; the byte order is chosen at compile
 * time so the initializers stay constant expressions. */
#if __BYTE_ORDER == __LITTLE_ENDIAN
#define ZREC_INADDR_LOOPBACK_BE 0x0100007fU
#else
#define ZREC_INADDR_LOOPBACK_BE 0x7f000001U
#endif
#define NET_INADDR_ANY_INIT       { 0 }
#define NET_INADDR_LOOPBACK_INIT  { ZREC_INADDR_LOOPBACK_BE }
#ifndef INADDR_ANY_INIT
#define INADDR_ANY_INIT NET_INADDR_ANY_INIT
#endif
#ifndef INADDR_LOOPBACK_INIT
#define INADDR_LOOPBACK_INIT NET_INADDR_LOOPBACK_INIT
#endif

#define NET_IN6ADDR_ANY_INIT      IN6ADDR_ANY_INIT
#define NET_IN6ADDR_LOOPBACK_INIT IN6ADDR_LOOPBACK_INIT
#define net_in6addr_any           in6addr_any
#define net_in6addr_loopback      in6addr_loopback

#define NET_IFNAMSIZ IFNAMSIZ

/**
 * Convert a numeric address string to binary (Zephyr's net_addr_pton()).
 * family: NET_AF_INET (dst: struct in_addr) or NET_AF_INET6 (struct
 * in6_addr).  Returns 0 on success, -EINVAL on a bad string or family -
 * Zephyr's convention, unlike inet_pton()'s 1/0/-1.
 */
int net_addr_pton(net_sa_family_t family, const char *src, void *dst);

/**
 * Convert a binary address to text (Zephyr's net_addr_ntop()).  Returns dst,
 * or NULL (errno EAFNOSUPPORT or ENOSPC) on a bad family or short buffer.
 */
char *net_addr_ntop(net_sa_family_t family, const void *src, char *dst, size_t size);

/* Zephyr's casting helpers (same signatures: const in, non-const out).
 * Through uintptr_t so that code built with -Wcast-qual / -Wcast-align
 * does not warn about the header; the pointers come from sockaddr storage
 * that is suitably aligned by construction. */
static inline struct sockaddr *net_sad(const struct sockaddr_storage *addr)
{
	return (struct sockaddr *)(uintptr_t)addr;
}

static inline struct sockaddr_storage *net_sas(const struct sockaddr *addr)
{
	return (struct sockaddr_storage *)(uintptr_t)addr;
}

static inline struct sockaddr_in *net_sin(const struct sockaddr *addr)
{
	return (struct sockaddr_in *)(uintptr_t)addr;
}

static inline struct sockaddr_in6 *net_sin6(const struct sockaddr *addr)
{
	return (struct sockaddr_in6 *)(uintptr_t)addr;
}

#ifdef __cplusplus
}
#endif

#endif /* ZEPHYR_INCLUDE_NET_NET_IP_H_ */
