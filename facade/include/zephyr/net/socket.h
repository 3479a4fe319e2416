/*
 * zrec libzrec-zsock: <zephyr/net/socket.h> on Linux.
 *
 * Zephyr's BSD sockets API (include/zephyr/net/socket.h; documentation:
 * "BSD Sockets" and "Secure Sockets" in Zephyr's networking guide), so that
 * code written for Zephyr compiles and runs unmodified on Linux, with TLS and
 * DTLS sockets whose records are zrec's.
 *
 * Model
 *   A zsock descriptor IS the Linux kernel descriptor of the underlying TCP
 *   or UDP socket; TLS/DTLS state lives beside it in the library.  Addresses
 *   are the host's structures (see <zephyr/net/net_ip.h>), and every
 *   constant that reaches the kernel - MSG_*, POLL*, SHUT_*, SOL_SOCKET /
 *   SO_*, TCP_*, IP_*, IPV6_*, AI_*, NI_* - has the Linux value.  Where
 *   Zephyr's number differs from Linux's (TCP_KEEPIDLE/KEEPINTVL/KEEPCNT are
 *   2/3/4 in Zephyr, 4/5/6 in Linux; AF_INET ...), code that uses the names
 *   works; code that hard-codes Zephyr's numbers would not.  The TLS names
 *   (SOL_TLS, TLS_*, IPPROTO_TLS_*) keep Zephyr's values: only the facade
 *   interprets them.
 *
 * Names
 *   Both generations are defined:
 *   - Zephyr 4.4 ("network namespace"): ZSOCK_SOL_TLS, ZSOCK_TLS_*,
 *     ZSOCK_SOL_SOCKET, ZSOCK_SO_*, ZSOCK_AI_*, ZSOCK_NI_*, NET_AF_*,
 *     struct net_sockaddr_in ... ;
 *   - earlier Zephyr (and 4.4's compatibility mode): SOL_TLS, TLS_*,
 *     AF_INET, struct sockaddr_in, sec_tag_t ... .
 *   The zsock_*() functions and ZSOCK_* constants exist in both.  The POSIX
 *   function names - socket(), close(), send(), poll(), fcntl(), select() ...
 *   - are mapped to zsock_*() only when CONFIG_NET_SOCKETS_POSIX_NAMES is
 *   defined, as in Zephyr.  Without it, socket() etc. are glibc's own and
 *   know nothing about TLS.
 *
 * Thread safety
 *   - One socket per thread: any number of threads may each use their own
 *     sockets freely and concurrently.
 *   - A socket shared between threads: each call is safe, but the order of
 *     data between concurrent send()s, or between concurrent recv()s, on the
 *     same socket is whatever the calls' interleaving gives; serialize with
 *     your own lock if the order matters.  (Zephyr documents its socket API
 *     as not thread safe for one socket without such a lock.)
 *   - zsock_close() from another thread wakes a thread blocked in
 *     zsock_accept() or zsock_recv() / zsock_recvfrom() / zsock_recvmsg() on
 *     that socket; the blocked call fails with EINTR (as Zephyr's sockets
 *     do).
 *   - tls_credential_*() are thread safe.
 *
 * DTLS
 *   A client connects (the handshake runs in connect(), or in the first
 *   send/recv/poll with TLS_DTLS_HANDSHAKE_ON_CONNECT 0).  A server socket
 *   (TLS_DTLS_ROLE_SERVER before bind()) serves many clients at once:
 *   recvfrom() returns a client's data with its address, sendto() answers
 *   that client, send() the sender of the last datagram received.  One
 *   send is one record in one datagram (at most 16384 bytes, else
 *   EMSGSIZE); a record longer than the buffer is cut and flagged MSG_TRUNC.
 *   The environment variable ZREC_DTLS_MAX_PEERS bounds the sessions of a
 *   server socket (default 4096; when full, the session silent the longest
 *   makes room for a new client).  Details: docs/DESIGN-NOTES.md §11.
 *
 * Errors: -1 and errno, as POSIX (getaddrinfo()/getnameinfo() return
 * DNS_EAI_* codes, <zephyr/net/dns_resolve.h>).
 */
#ifndef ZEPHYR_INCLUDE_NET_SOCKET_H_
#define ZEPHYR_INCLUDE_NET_SOCKET_H_

#include <zephyr/net/zsock_host.h>
#include <zephyr/net/net_ip.h>
#include <zephyr/net/dns_resolve.h>
#include <zephyr/net/socket_types.h>
#include <zephyr/net/socket_poll.h>
#include <zephyr/net/socket_select.h>
/* Not included by Zephyr's socket.h, but sec_tag_t is the type of the
 * TLS_SEC_TAG_LIST option value; a superset does no harm. */
#include <zephyr/net/tls_credentials.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* poll(): Zephyr's ZSOCK_POLL* values are Linux's (its header says so). */

#define ZSOCK_POLLIN   POLLIN   /* 0x01: readable */
#define ZSOCK_POLLPRI  POLLPRI  /* 0x02: exceptional condition */
#define ZSOCK_POLLOUT  POLLOUT  /* 0x04: writable */
#define ZSOCK_POLLERR  POLLERR  /* 0x08: error (output only) */
#define ZSOCK_POLLHUP  POLLHUP  /* 0x10: peer closed (output only) */
#define ZSOCK_POLLNVAL POLLNVAL /* 0x20: not an open descriptor (output only) */

/* send()/recv() flags: Zephyr's values are Linux's. */
#define ZSOCK_MSG_PEEK     MSG_PEEK     /* 0x02 */
#define ZSOCK_MSG_CTRUNC   MSG_CTRUNC   /* 0x08 */
#define ZSOCK_MSG_TRUNC    MSG_TRUNC    /* 0x20 */
#define ZSOCK_MSG_DONTWAIT MSG_DONTWAIT /* 0x40 */
#define ZSOCK_MSG_WAITALL  MSG_WAITALL  /* 0x100 */

/* shutdown() */
#define ZSOCK_SHUT_RD   SHUT_RD   /* 0 */
#define ZSOCK_SHUT_WR   SHUT_WR   /* 1 */
#define ZSOCK_SHUT_RDWR SHUT_RDWR /* 2 */

/* ------------------------------------------------------------------ */
/* Secure sockets: option level and options (Zephyr's values; handled by the
 * facade, never passed to the kernel - whose own SOL_TLS (282, kernel TLS)
 * options TLS_TX 1 / TLS_RX 2 share the numbers). */

/** Protocol level for TLS options ("the same socket protocol level for TLS
 *  as in Linux was used", Zephyr). */
#define ZSOCK_SOL_TLS 282

/** sec_tag_t[]: credentials to use (read/write). */
#define ZSOCK_TLS_SEC_TAG_LIST 1
/** char[]: server name to verify and send as SNI (write only; NULL
 *  disables hostname verification).  Enforced by default for clients. */
#define ZSOCK_TLS_HOSTNAME 2
/** int[]: IANA cipher suite ids to allow (read/write). */
#define ZSOCK_TLS_CIPHERSUITE_LIST 3
/** int: IANA id of the suite chosen by the handshake (read only). */
#define ZSOCK_TLS_CIPHERSUITE_USED 4
/** int: ZSOCK_TLS_PEER_VERIFY_NONE/OPTIONAL/REQUIRED (write only); default
 *  none for servers, required for clients. */
#define ZSOCK_TLS_PEER_VERIFY 5
/** int: ZSOCK_TLS_DTLS_ROLE_CLIENT/SERVER (write only; default client). */
#define ZSOCK_TLS_DTLS_ROLE 6
/** const char *[]: NULL-terminated list of ALPN protocol names. */
#define ZSOCK_TLS_ALPN_LIST 7
/** uint32_t ms: initial DTLS handshake retransmission timeout. */
#define ZSOCK_TLS_DTLS_HANDSHAKE_TIMEOUT_MIN 8
/** uint32_t ms: maximum DTLS handshake retransmission timeout. */
#define ZSOCK_TLS_DTLS_HANDSHAKE_TIMEOUT_MAX 9
/** int: ZSOCK_TLS_CERT_NOCOPY_NONE/OPTIONAL. */
#define ZSOCK_TLS_CERT_NOCOPY 10
/** Offloading: run TLS natively over an offloaded socket. */
#define ZSOCK_TLS_NATIVE 11
/** int: ZSOCK_TLS_SESSION_CACHE_DISABLED/ENABLED. */
#define ZSOCK_TLS_SESSION_CACHE 12
/** any: purge the session cache (write only). */
#define ZSOCK_TLS_SESSION_CACHE_PURGE 13
/** int: ZSOCK_TLS_DTLS_CID_DISABLED/SUPPORTED/ENABLED (write only). */
#define ZSOCK_TLS_DTLS_CID 14
/** int: ZSOCK_TLS_DTLS_CID_STATUS_* (read only). */
#define ZSOCK_TLS_DTLS_CID_STATUS 15
/** uint8_t[]: our DTLS connection ID (read/write). */
#define ZSOCK_TLS_DTLS_CID_VALUE 16
/** uint8_t[]: the peer's DTLS connection ID (read only; optlen 0 if none). */
#define ZSOCK_TLS_DTLS_PEER_CID_VALUE 17
/** int: whether DTLS connect() runs the handshake (default: yes). */
#define ZSOCK_TLS_DTLS_HANDSHAKE_ON_CONNECT 18
/** uint32_t: verification flags of the last handshake with
 *  ZSOCK_TLS_PEER_VERIFY_OPTIONAL; 0 = verified (read only). */
#define ZSOCK_TLS_CERT_VERIFY_RESULT 19
/** struct zsock_tls_cert_verify_cb: certificate verification callback
 *  (write only). */
#define ZSOCK_TLS_CERT_VERIFY_CALLBACK 20

/* Values of ZSOCK_TLS_PEER_VERIFY (mbedTLS's). */
#define ZSOCK_TLS_PEER_VERIFY_NONE     0
#define ZSOCK_TLS_PEER_VERIFY_OPTIONAL 1
#define ZSOCK_TLS_PEER_VERIFY_REQUIRED 2

/* Values of ZSOCK_TLS_DTLS_ROLE. */
#define ZSOCK_TLS_DTLS_ROLE_CLIENT 0
#define ZSOCK_TLS_DTLS_ROLE_SERVER 1

/* Values of ZSOCK_TLS_CERT_NOCOPY. */
#define ZSOCK_TLS_CERT_NOCOPY_NONE     0
#define ZSOCK_TLS_CERT_NOCOPY_OPTIONAL 1

/* Values of ZSOCK_TLS_SESSION_CACHE. */
#define ZSOCK_TLS_SESSION_CACHE_DISABLED 0
#define ZSOCK_TLS_SESSION_CACHE_ENABLED  1

/* Values of ZSOCK_TLS_DTLS_CID. */
#define ZSOCK_TLS_DTLS_CID_DISABLED  0
#define ZSOCK_TLS_DTLS_CID_SUPPORTED 1
#define ZSOCK_TLS_DTLS_CID_ENABLED   2

/* Values of ZSOCK_TLS_DTLS_CID_STATUS. */
#define ZSOCK_TLS_DTLS_CID_STATUS_DISABLED      0
#define ZSOCK_TLS_DTLS_CID_STATUS_DOWNLINK      1
#define ZSOCK_TLS_DTLS_CID_STATUS_UPLINK        2
#define ZSOCK_TLS_DTLS_CID_STATUS_BIDIRECTIONAL 3

/** Value of ZSOCK_TLS_CERT_VERIFY_CALLBACK (Zephyr's layout).  In Zephyr
 *  cb has mbedTLS's verify callback type (see mbedtls_x509_crt_verify());
 *  ctx is passed to it. */
struct zsock_tls_cert_verify_cb {
	void *cb;
	void *ctx;
};

/* Older names of the above (Zephyr <= 4.3, and 4.4's net_compat.h). */
#ifndef SOL_TLS
#define SOL_TLS ZSOCK_SOL_TLS /* glibc defines it too, also 282 */
#endif
#define TLS_SEC_TAG_LIST                  ZSOCK_TLS_SEC_TAG_LIST
#define TLS_HOSTNAME                      ZSOCK_TLS_HOSTNAME
#define TLS_CIPHERSUITE_LIST              ZSOCK_TLS_CIPHERSUITE_LIST
#define TLS_CIPHERSUITE_USED              ZSOCK_TLS_CIPHERSUITE_USED
#define TLS_PEER_VERIFY                   ZSOCK_TLS_PEER_VERIFY
#define TLS_DTLS_ROLE                     ZSOCK_TLS_DTLS_ROLE
#define TLS_ALPN_LIST                     ZSOCK_TLS_ALPN_LIST
#define TLS_DTLS_HANDSHAKE_TIMEOUT_MIN    ZSOCK_TLS_DTLS_HANDSHAKE_TIMEOUT_MIN
#define TLS_DTLS_HANDSHAKE_TIMEOUT_MAX    ZSOCK_TLS_DTLS_HANDSHAKE_TIMEOUT_MAX
#define TLS_CERT_NOCOPY                   ZSOCK_TLS_CERT_NOCOPY
#define TLS_NATIVE                        ZSOCK_TLS_NATIVE
#define TLS_SESSION_CACHE                 ZSOCK_TLS_SESSION_CACHE
#define TLS_SESSION_CACHE_PURGE           ZSOCK_TLS_SESSION_CACHE_PURGE
#define TLS_DTLS_CID                      ZSOCK_TLS_DTLS_CID
#define TLS_DTLS_CID_STATUS               ZSOCK_TLS_DTLS_CID_STATUS
#define TLS_DTLS_CID_VALUE                ZSOCK_TLS_DTLS_CID_VALUE
#define TLS_DTLS_PEER_CID_VALUE           ZSOCK_TLS_DTLS_PEER_CID_VALUE
#define TLS_DTLS_HANDSHAKE_ON_CONNECT     ZSOCK_TLS_DTLS_HANDSHAKE_ON_CONNECT
#define TLS_CERT_VERIFY_RESULT            ZSOCK_TLS_CERT_VERIFY_RESULT
#define TLS_CERT_VERIFY_CALLBACK          ZSOCK_TLS_CERT_VERIFY_CALLBACK
#define TLS_PEER_VERIFY_NONE              ZSOCK_TLS_PEER_VERIFY_NONE
#define TLS_PEER_VERIFY_OPTIONAL          ZSOCK_TLS_PEER_VERIFY_OPTIONAL
#define TLS_PEER_VERIFY_REQUIRED          ZSOCK_TLS_PEER_VERIFY_REQUIRED
#define TLS_DTLS_ROLE_CLIENT              ZSOCK_TLS_DTLS_ROLE_CLIENT
#define TLS_DTLS_ROLE_SERVER              ZSOCK_TLS_DTLS_ROLE_SERVER
#define TLS_CERT_NOCOPY_NONE              ZSOCK_TLS_CERT_NOCOPY_NONE
#define TLS_CERT_NOCOPY_OPTIONAL          ZSOCK_TLS_CERT_NOCOPY_OPTIONAL
#define TLS_SESSION_CACHE_DISABLED        ZSOCK_TLS_SESSION_CACHE_DISABLED
#define TLS_SESSION_CACHE_ENABLED         ZSOCK_TLS_SESSION_CACHE_ENABLED
#define TLS_DTLS_CID_DISABLED             ZSOCK_TLS_DTLS_CID_DISABLED
#define TLS_DTLS_CID_SUPPORTED            ZSOCK_TLS_DTLS_CID_SUPPORTED
#define TLS_DTLS_CID_ENABLED              ZSOCK_TLS_DTLS_CID_ENABLED
#define TLS_DTLS_CID_STATUS_DISABLED      ZSOCK_TLS_DTLS_CID_STATUS_DISABLED
#define TLS_DTLS_CID_STATUS_DOWNLINK      ZSOCK_TLS_DTLS_CID_STATUS_DOWNLINK
#define TLS_DTLS_CID_STATUS_UPLINK        ZSOCK_TLS_DTLS_CID_STATUS_UPLINK
#define TLS_DTLS_CID_STATUS_BIDIRECTIONAL ZSOCK_TLS_DTLS_CID_STATUS_BIDIRECTIONAL
#define tls_cert_verify_cb                zsock_tls_cert_verify_cb

/* ------------------------------------------------------------------ */
/* getaddrinfo() / getnameinfo(): Zephyr's flag values are glibc's. */

#define ZSOCK_AI_PASSIVE     AI_PASSIVE     /* 0x1 */
#define ZSOCK_AI_CANONNAME   AI_CANONNAME   /* 0x2 */
#define ZSOCK_AI_NUMERICHOST AI_NUMERICHOST /* 0x4 */
#define ZSOCK_AI_V4MAPPED    AI_V4MAPPED    /* 0x8 */
#define ZSOCK_AI_ALL         AI_ALL         /* 0x10 */
#define ZSOCK_AI_ADDRCONFIG  AI_ADDRCONFIG  /* 0x20 */
#define ZSOCK_AI_NUMERICSERV AI_NUMERICSERV /* 0x400 */
/** Zephyr: "extra flags present (RFC 5014)" in ai_eflags.  glibc has no
 *  such flag (0x800 is unused there) and struct addrinfo no ai_eflags;
 *  zsock_getaddrinfo() accepts and ignores the flag. */
#define ZSOCK_AI_EXTFLAGS 0x800
#ifndef AI_EXTFLAGS
#define AI_EXTFLAGS ZSOCK_AI_EXTFLAGS
#endif

#define ZSOCK_NI_NUMERICHOST NI_NUMERICHOST /* 1 */
#define ZSOCK_NI_NUMERICSERV NI_NUMERICSERV /* 2 */
#define ZSOCK_NI_NOFQDN      NI_NOFQDN      /* 4 */
#define ZSOCK_NI_NAMEREQD    NI_NAMEREQD    /* 8 */
#define ZSOCK_NI_DGRAM       NI_DGRAM       /* 16 */
/** Host name buffer size for getnameinfo(): glibc's 1025 (Zephyr: 64), so
 *  that buffers sized with it always fit what glibc returns. */
#define ZSOCK_NI_MAXHOST     NI_MAXHOST

/** getaddrinfo() result: glibc's struct addrinfo, so results come straight
 *  from glibc.  Same member names as Zephyr's struct zsock_addrinfo except
 *  Zephyr 4.x's ai_eflags, which glibc lacks. */
#define zsock_addrinfo addrinfo

/* ------------------------------------------------------------------ */
/* Socket options: Linux values (the kernel gets them). */

#define ZSOCK_SOL_SOCKET       SOL_SOCKET
#define ZSOCK_SO_DEBUG         SO_DEBUG
#define ZSOCK_SO_REUSEADDR     SO_REUSEADDR
#define ZSOCK_SO_TYPE          SO_TYPE
#define ZSOCK_SO_ERROR         SO_ERROR
#define ZSOCK_SO_DONTROUTE     SO_DONTROUTE
#define ZSOCK_SO_BROADCAST     SO_BROADCAST
#define ZSOCK_SO_SNDBUF        SO_SNDBUF
#define ZSOCK_SO_RCVBUF        SO_RCVBUF
#define ZSOCK_SO_KEEPALIVE     SO_KEEPALIVE
#define ZSOCK_SO_OOBINLINE     SO_OOBINLINE
#define ZSOCK_SO_PRIORITY      SO_PRIORITY
#define ZSOCK_SO_LINGER        SO_LINGER
#define ZSOCK_SO_REUSEPORT     SO_REUSEPORT
#define ZSOCK_SO_RCVLOWAT      SO_RCVLOWAT
#define ZSOCK_SO_SNDLOWAT      SO_SNDLOWAT
#define ZSOCK_SO_RCVTIMEO      SO_RCVTIMEO
#define ZSOCK_SO_SNDTIMEO      SO_SNDTIMEO
#define ZSOCK_SO_BINDTODEVICE  SO_BINDTODEVICE
#define ZSOCK_SO_ACCEPTCONN    SO_ACCEPTCONN
#define ZSOCK_SO_TIMESTAMPING  SO_TIMESTAMPING
#define ZSOCK_SO_PROTOCOL      SO_PROTOCOL
#define ZSOCK_SO_DOMAIN        SO_DOMAIN
#define ZSOCK_SO_TXTIME        SO_TXTIME
#define ZSOCK_SCM_TXTIME       SCM_TXTIME

#define ZSOCK_TCP_NODELAY   TCP_NODELAY
#define ZSOCK_TCP_KEEPIDLE  TCP_KEEPIDLE  /* Linux 4 (Zephyr 2) */
#define ZSOCK_TCP_KEEPINTVL TCP_KEEPINTVL /* Linux 5 (Zephyr 3) */
#define ZSOCK_TCP_KEEPCNT   TCP_KEEPCNT   /* Linux 6 (Zephyr 4) */

#define ZSOCK_IP_TOS              IP_TOS
#define ZSOCK_IP_TTL              IP_TTL
#define ZSOCK_IP_PKTINFO          IP_PKTINFO
#define ZSOCK_IP_RECVTTL          IP_RECVTTL
#define ZSOCK_IP_MTU              IP_MTU
#define ZSOCK_IP_MULTICAST_IF     IP_MULTICAST_IF
#define ZSOCK_IP_MULTICAST_TTL    IP_MULTICAST_TTL
#define ZSOCK_IP_MULTICAST_LOOP   IP_MULTICAST_LOOP
#define ZSOCK_IP_ADD_MEMBERSHIP   IP_ADD_MEMBERSHIP
#define ZSOCK_IP_DROP_MEMBERSHIP  IP_DROP_MEMBERSHIP
/* Linux 6.3's value (glibc 2.36 does not name it yet). */
#ifdef IP_LOCAL_PORT_RANGE
#define ZSOCK_IP_LOCAL_PORT_RANGE IP_LOCAL_PORT_RANGE
#else
#define ZSOCK_IP_LOCAL_PORT_RANGE 51
#endif

#define ZSOCK_IPV6_UNICAST_HOPS     IPV6_UNICAST_HOPS
#define ZSOCK_IPV6_MULTICAST_IF     IPV6_MULTICAST_IF
#define ZSOCK_IPV6_MULTICAST_HOPS   IPV6_MULTICAST_HOPS
#define ZSOCK_IPV6_MULTICAST_LOOP   IPV6_MULTICAST_LOOP
#define ZSOCK_IPV6_ADD_MEMBERSHIP   IPV6_ADD_MEMBERSHIP
#define ZSOCK_IPV6_DROP_MEMBERSHIP  IPV6_DROP_MEMBERSHIP
#define ZSOCK_IPV6_JOIN_GROUP       IPV6_JOIN_GROUP
#define ZSOCK_IPV6_LEAVE_GROUP      IPV6_LEAVE_GROUP
#define ZSOCK_IPV6_MTU              IPV6_MTU
#define ZSOCK_IPV6_V6ONLY           IPV6_V6ONLY
#define ZSOCK_IPV6_RECVPKTINFO      IPV6_RECVPKTINFO
#define ZSOCK_IPV6_PKTINFO          IPV6_PKTINFO
#define ZSOCK_IPV6_RECVHOPLIMIT     IPV6_RECVHOPLIMIT
#define ZSOCK_IPV6_HOPLIMIT         IPV6_HOPLIMIT
#define ZSOCK_IPV6_ADDR_PREFERENCES IPV6_ADDR_PREFERENCES
#define ZSOCK_IPV6_TCLASS           IPV6_TCLASS
/* RFC 5014 source preferences: Zephyr's values are Linux's <linux/in6.h>
 * ones, which glibc does not export. */
#define ZSOCK_IPV6_PREFER_SRC_TMP            0x0001
#define ZSOCK_IPV6_PREFER_SRC_PUBLIC         0x0002
#define ZSOCK_IPV6_PREFER_SRC_COA            0x0004
#define ZSOCK_IPV6_PREFER_SRC_CGA            0x0008
#define ZSOCK_IPV6_PREFER_SRC_PUBTMP_DEFAULT 0x0100
#define ZSOCK_IPV6_PREFER_SRC_HOME           0x0400
#define ZSOCK_IPV6_PREFER_SRC_NONCGA         0x0800
#ifndef IPV6_PREFER_SRC_TMP
#define IPV6_PREFER_SRC_TMP            ZSOCK_IPV6_PREFER_SRC_TMP
#define IPV6_PREFER_SRC_PUBLIC         ZSOCK_IPV6_PREFER_SRC_PUBLIC
#define IPV6_PREFER_SRC_COA            ZSOCK_IPV6_PREFER_SRC_COA
#define IPV6_PREFER_SRC_CGA            ZSOCK_IPV6_PREFER_SRC_CGA
#define IPV6_PREFER_SRC_PUBTMP_DEFAULT ZSOCK_IPV6_PREFER_SRC_PUBTMP_DEFAULT
#define IPV6_PREFER_SRC_HOME           ZSOCK_IPV6_PREFER_SRC_HOME
#define IPV6_PREFER_SRC_NONCGA         ZSOCK_IPV6_PREFER_SRC_NONCGA
#endif

/** listen() backlog maximum: Linux's (4096; Zephyr 128). */
#define ZSOCK_SOMAXCONN SOMAXCONN

#define ZSOCK_IN6_IS_ADDR_UNSPECIFIED(addr)  IN6_IS_ADDR_UNSPECIFIED(addr)
#define ZSOCK_IN6_IS_ADDR_LOOPBACK(addr)     IN6_IS_ADDR_LOOPBACK(addr)
#define ZSOCK_IN6_IS_ADDR_MULTICAST(addr)    IN6_IS_ADDR_MULTICAST(addr)
#define ZSOCK_IN6_IS_ADDR_LINKLOCAL(addr)    IN6_IS_ADDR_LINKLOCAL(addr)
#define ZSOCK_IN6_IS_ADDR_SITELOCAL(addr)    IN6_IS_ADDR_SITELOCAL(addr)
#define ZSOCK_IN6_IS_ADDR_V4MAPPED(addr)     IN6_IS_ADDR_V4MAPPED(addr)
#define ZSOCK_IN6_IS_ADDR_MC_GLOBAL(addr)    IN6_IS_ADDR_MC_GLOBAL(addr)
#define ZSOCK_IN6_IS_ADDR_MC_NODELOCAL(addr) IN6_IS_ADDR_MC_NODELOCAL(addr)
#define ZSOCK_IN6_IS_ADDR_MC_LINKLOCAL(addr) IN6_IS_ADDR_MC_LINKLOCAL(addr)
#define ZSOCK_IN6_IS_ADDR_MC_SITELOCAL(addr) IN6_IS_ADDR_MC_SITELOCAL(addr)
#define ZSOCK_IN6_IS_ADDR_MC_ORGLOCAL(addr)  IN6_IS_ADDR_MC_ORGLOCAL(addr)

/* fcntl()/ioctl() names of Zephyr's <zephyr/sys/fdtable.h>, which Zephyr's
 * socket.h includes: Linux values. */
#define ZVFS_F_GETFL       F_GETFL
#define ZVFS_F_SETFL       F_SETFL
#define ZVFS_O_NONBLOCK    O_NONBLOCK
#define ZFD_IOCTL_FIONREAD FIONREAD
#define ZFD_IOCTL_FIONBIO  FIONBIO

/* ------------------------------------------------------------------ */
/* Functions.  The descriptor functions are implemented in socket.c/tls.c,
 * the rest in zsock_util.c. */

/** Create a socket (POSIX socket()).  proto may be a secure protocol
 *  (IPPROTO_TLS_1_2 ..., IPPROTO_DTLS_1_2 ...) for a TLS/DTLS socket. */
int zsock_socket(int family, int type, int proto);
/** Create a pair of connected sockets (POSIX socketpair()). */
int zsock_socketpair(int family, int type, int proto, int *sv);
/** Close a socket (sends TLS close_notify first on a TLS socket). */
int zsock_close(int sock);
/** Shut down send and/or receive (POSIX shutdown()). */
int zsock_shutdown(int sock, int how);
int zsock_bind(int sock, const struct sockaddr *addr, socklen_t addrlen);
/** Connect; on a TLS socket (and DTLS unless TLS_DTLS_HANDSHAKE_ON_CONNECT
 *  is 0) this also runs the handshake. */
int zsock_connect(int sock, const struct sockaddr *addr, socklen_t addrlen);
int zsock_listen(int sock, int backlog);
/** Accept; on a TLS listener the handshake of the new socket is run. */
int zsock_accept(int sock, struct sockaddr *addr, socklen_t *addrlen);
ssize_t zsock_sendto(int sock, const void *buf, size_t len, int flags,
		     const struct sockaddr *dest_addr, socklen_t addrlen);
ssize_t zsock_sendmsg(int sock, const struct msghdr *msg, int flags);
ssize_t zsock_recvfrom(int sock, void *buf, size_t max_len, int flags,
		       struct sockaddr *src_addr, socklen_t *addrlen);
ssize_t zsock_recvmsg(int sock, struct msghdr *msg, int flags);

/** Send to the connected peer (Zephyr: static inline over zsock_sendto()). */
static inline ssize_t zsock_send(int sock, const void *buf, size_t len, int flags)
{
	return zsock_sendto(sock, buf, len, flags, NULL, 0);
}

/** Receive from the connected peer (Zephyr: inline over zsock_recvfrom()). */
static inline ssize_t zsock_recv(int sock, void *buf, size_t max_len, int flags)
{
	return zsock_recvfrom(sock, buf, max_len, flags, NULL, NULL);
}

/**
 * fcntl() for sockets: F_GETFL, and F_SETFL with O_NONBLOCK (Zephyr's
 * documented use).  Zephyr's current header makes zsock_fcntl() a variadic
 * macro over zsock_fcntl_impl(sock, cmd, flags) (older releases had
 * `int zsock_fcntl(int sock, int cmd, int flags)`); both call forms -
 * zsock_fcntl(s, F_GETFL) and zsock_fcntl(s, F_SETFL, O_NONBLOCK) - work.
 */
int zsock_fcntl_impl(int sock, int cmd, int flags);

static inline int zsock_fcntl_wrapper(int sock, int cmd, ...)
{
	int flags = 0;

	/* Read the third argument only for commands that take one: reading
	 * an argument that was not passed is undefined behaviour. */
	if (cmd != F_GETFL && cmd != F_GETFD
#ifdef F_GETOWN
	    && cmd != F_GETOWN
#endif
	) {
		va_list ap;

		va_start(ap, cmd);
		flags = va_arg(ap, int);
		va_end(ap);
	}
	return zsock_fcntl_impl(sock, cmd, flags);
}
#define zsock_fcntl zsock_fcntl_wrapper

/**
 * ioctl() for sockets: FIONREAD (int *: bytes readable - decrypted bytes on
 * a TLS socket) and FIONBIO (int *: non-blocking on/off), as Zephyr's
 * ZFD_IOCTL_FIONREAD / ZFD_IOCTL_FIONBIO.  Zephyr's signature: the
 * variadic zsock_ioctl() forwards its va_list to zsock_ioctl_impl().
 */
int zsock_ioctl_impl(int sock, unsigned long request, va_list ap);

static inline int zsock_ioctl_wrapper(int sock, unsigned long request, ...)
{
	int ret;
	va_list ap;

	va_start(ap, request);
	ret = zsock_ioctl_impl(sock, request, ap);
	va_end(ap);
	return ret;
}
#define zsock_ioctl zsock_ioctl_wrapper

/** Wait for events on sockets (POSIX poll()); ZSOCK_POLL* are POLL*.  A
 *  TLS socket with decrypted data not yet read reports ZSOCK_POLLIN. */
int zsock_poll(struct zsock_pollfd *fds, int nfds, int timeout);

int zsock_getsockopt(int sock, int level, int optname, void *optval, socklen_t *optlen);
int zsock_setsockopt(int sock, int level, int optname, const void *optval,
		     socklen_t optlen);
int zsock_getpeername(int sock, struct sockaddr *addr, socklen_t *addrlen);
int zsock_getsockname(int sock, struct sockaddr *addr, socklen_t *addrlen);

/** The host's name (POSIX gethostname()). */
int zsock_gethostname(char *buf, size_t len);

/** Text to binary address.  Returns 1 on success and 0 otherwise - also for
 *  an unsupported family, where POSIX would return -1: Zephyr's
 *  zsock_inet_pton() is `net_addr_pton() == 0 ? 1 : 0`. */
int zsock_inet_pton(sa_family_t family, const char *src, void *dst);

/** Binary to text address (Zephyr: static inline over net_addr_ntop()). */
static inline char *zsock_inet_ntop(sa_family_t family, const void *src, char *dst,
				    size_t size)
{
	return net_addr_ntop(family, src, dst, size);
}

/**
 * Resolve host and service (POSIX getaddrinfo(), by glibc).  Returns 0 or a
 * DNS_EAI_* code.  hints->ai_protocol may be a secure protocol
 * (IPPROTO_TLS_1_2 ...): the lookup is done for TCP (TLS) or UDP (DTLS)
 * and the results carry the secure protocol, ready for zsock_socket().
 * Free the list with zsock_freeaddrinfo().
 */
int zsock_getaddrinfo(const char *host, const char *service,
		      const struct zsock_addrinfo *hints, struct zsock_addrinfo **res);
void zsock_freeaddrinfo(struct zsock_addrinfo *ai);
/** Text for a zsock_getaddrinfo()/zsock_getnameinfo() code. */
const char *zsock_gai_strerror(int errcode);
/** Address to host and service names (POSIX getnameinfo(), by glibc). */
int zsock_getnameinfo(const struct sockaddr *addr, socklen_t addrlen, char *host,
		      socklen_t hostlen, char *serv, socklen_t servlen, int flags);

/* ------------------------------------------------------------------ */
#ifdef CONFIG_NET_SOCKETS_POSIX_NAMES
/*
 * POSIX names, as Zephyr gives them with CONFIG_NET_SOCKETS_POSIX_NAMES.
 *
 * Zephyr defines `static inline int socket(...)` and so on.  On Linux that
 * is impossible: glibc already declares socket() etc. as external
 * functions, and a static definition of the same name does not compile.
 * Object-like macros are used instead; they are defined after all the glibc
 * headers that declare these names were included (zsock_host.h), so
 * including those headers again later is harmless.  Because the macros
 * rename the identifier everywhere in the translation unit (also a struct
 * member or variable named `close`), renaming stays consistent; only code
 * that needs glibc's own close()/poll() ... on non-socket descriptors in
 * the same file is affected - and the zsock_*() versions accept any
 * descriptor and pass non-sockets through to the kernel.
 *
 * The types and constants need no mapping: struct pollfd, struct addrinfo,
 * fd_set, struct timeval, POLL*, MSG_*, SHUT_*, EAI_*, FD_SET() ... already
 * are the zsock ones.
 */
#define socket       zsock_socket
#define socketpair   zsock_socketpair
#define close        zsock_close
#define shutdown     zsock_shutdown
#define bind         zsock_bind
#define connect      zsock_connect
#define listen       zsock_listen
#define accept       zsock_accept
#define send         zsock_send
#define recv         zsock_recv
#define sendto       zsock_sendto
#define recvfrom     zsock_recvfrom
#define sendmsg      zsock_sendmsg
#define recvmsg      zsock_recvmsg
#define poll         zsock_poll
#define getsockopt   zsock_getsockopt
#define setsockopt   zsock_setsockopt
#define getpeername  zsock_getpeername
#define getsockname  zsock_getsockname
#define getaddrinfo  zsock_getaddrinfo
#define freeaddrinfo zsock_freeaddrinfo
#define gai_strerror zsock_gai_strerror
#define getnameinfo  zsock_getnameinfo
#define gethostname  zsock_gethostname
#define inet_pton    zsock_inet_pton
#define inet_ntop    zsock_inet_ntop
#define fcntl        zsock_fcntl
#define ioctl        zsock_ioctl
/* select: in <zephyr/net/socket_select.h>, as in Zephyr. */
#endif /* CONFIG_NET_SOCKETS_POSIX_NAMES */

#ifdef __cplusplus
}
#endif

#endif /* ZEPHYR_INCLUDE_NET_SOCKET_H_ */
