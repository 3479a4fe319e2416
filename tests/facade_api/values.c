/* zsock-api-values: the numeric values, types and prototypes of the facade's
 * Zephyr headers, checked at compile time where C11 allows it.
 *
 * Two kinds of expectations:
 *  - Zephyr's own numbers, for what only the facade interprets (SOL_TLS,
 *    TLS_* options, IPPROTO_TLS_*, TLS_CREDENTIAL_*): literal values from
 *    Zephyr's include/zephyr/net/socket.h, net_ip.h, tls_credentials.h.
 *  - Linux's numbers, for what the kernel receives (MSG_*, POLL*, SO_* ...):
 *    each ZSOCK_ name must equal the glibc name, and where Zephyr's number is
 *    the same as Linux's the literal is checked too, so a future edit that
 *    breaks either compatibility fails here. */
#include <zephyr/net/socket.h>
#include <zephyr/net/tls_credentials.h>

#include <netdb.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/select.h>

#define SA(cond) _Static_assert(cond, #cond)
#define SAME_TYPE(a, b) _Static_assert(_Generic((a), b: 1, default: 0), #a " is " #b)

/* ---- Secure sockets: Zephyr's values ---- */
SA(ZSOCK_SOL_TLS == 282);
SA(SOL_TLS == 282);
SA(ZSOCK_TLS_SEC_TAG_LIST == 1 && TLS_SEC_TAG_LIST == 1);
SA(ZSOCK_TLS_HOSTNAME == 2 && TLS_HOSTNAME == 2);
SA(ZSOCK_TLS_CIPHERSUITE_LIST == 3 && TLS_CIPHERSUITE_LIST == 3);
SA(ZSOCK_TLS_CIPHERSUITE_USED == 4 && TLS_CIPHERSUITE_USED == 4);
SA(ZSOCK_TLS_PEER_VERIFY == 5 && TLS_PEER_VERIFY == 5);
SA(ZSOCK_TLS_DTLS_ROLE == 6 && TLS_DTLS_ROLE == 6);
SA(ZSOCK_TLS_ALPN_LIST == 7 && TLS_ALPN_LIST == 7);
SA(ZSOCK_TLS_DTLS_HANDSHAKE_TIMEOUT_MIN == 8 && TLS_DTLS_HANDSHAKE_TIMEOUT_MIN == 8);
SA(ZSOCK_TLS_DTLS_HANDSHAKE_TIMEOUT_MAX == 9 && TLS_DTLS_HANDSHAKE_TIMEOUT_MAX == 9);
SA(ZSOCK_TLS_CERT_NOCOPY == 10 && TLS_CERT_NOCOPY == 10);
SA(ZSOCK_TLS_NATIVE == 11 && TLS_NATIVE == 11);
SA(ZSOCK_TLS_SESSION_CACHE == 12 && TLS_SESSION_CACHE == 12);
SA(ZSOCK_TLS_SESSION_CACHE_PURGE == 13 && TLS_SESSION_CACHE_PURGE == 13);
SA(ZSOCK_TLS_DTLS_CID == 14 && TLS_DTLS_CID == 14);
/* Zephyr's order: STATUS 15, VALUE 16, PEER_CID_VALUE 17. */
SA(ZSOCK_TLS_DTLS_CID_STATUS == 15 && TLS_DTLS_CID_STATUS == 15);
SA(ZSOCK_TLS_DTLS_CID_VALUE == 16 && TLS_DTLS_CID_VALUE == 16);
SA(ZSOCK_TLS_DTLS_PEER_CID_VALUE == 17 && TLS_DTLS_PEER_CID_VALUE == 17);
SA(ZSOCK_TLS_DTLS_HANDSHAKE_ON_CONNECT == 18 && TLS_DTLS_HANDSHAKE_ON_CONNECT == 18);
SA(ZSOCK_TLS_CERT_VERIFY_RESULT == 19 && TLS_CERT_VERIFY_RESULT == 19);
SA(ZSOCK_TLS_CERT_VERIFY_CALLBACK == 20 && TLS_CERT_VERIFY_CALLBACK == 20);

SA(TLS_PEER_VERIFY_NONE == 0 && TLS_PEER_VERIFY_OPTIONAL == 1 && TLS_PEER_VERIFY_REQUIRED == 2);
SA(ZSOCK_TLS_PEER_VERIFY_NONE == 0 && ZSOCK_TLS_PEER_VERIFY_OPTIONAL == 1 &&
   ZSOCK_TLS_PEER_VERIFY_REQUIRED == 2);
SA(TLS_DTLS_ROLE_CLIENT == 0 && TLS_DTLS_ROLE_SERVER == 1);
SA(ZSOCK_TLS_DTLS_ROLE_CLIENT == 0 && ZSOCK_TLS_DTLS_ROLE_SERVER == 1);
SA(TLS_CERT_NOCOPY_NONE == 0 && TLS_CERT_NOCOPY_OPTIONAL == 1);
SA(TLS_SESSION_CACHE_DISABLED == 0 && TLS_SESSION_CACHE_ENABLED == 1);
SA(TLS_DTLS_CID_DISABLED == 0 && TLS_DTLS_CID_SUPPORTED == 1 && TLS_DTLS_CID_ENABLED == 2);
SA(TLS_DTLS_CID_STATUS_DISABLED == 0 && TLS_DTLS_CID_STATUS_DOWNLINK == 1 &&
   TLS_DTLS_CID_STATUS_UPLINK == 2 && TLS_DTLS_CID_STATUS_BIDIRECTIONAL == 3);
SA(ZSOCK_TLS_DTLS_CID_STATUS_BIDIRECTIONAL == 3);
SA(sizeof(struct tls_cert_verify_cb) == 2 * sizeof(void *));
SA(offsetof(struct zsock_tls_cert_verify_cb, cb) == 0);
SA(offsetof(struct zsock_tls_cert_verify_cb, ctx) == sizeof(void *));

SA(IPPROTO_TLS_1_0 == 256 && IPPROTO_TLS_1_1 == 257 && IPPROTO_TLS_1_2 == 258 &&
   IPPROTO_TLS_1_3 == 259);
SA(IPPROTO_DTLS_1_0 == 272 && IPPROTO_DTLS_1_2 == 273 && IPPROTO_DTLS_1_3 == 274);
SA(NET_IPPROTO_TLS_1_0 == 256 && NET_IPPROTO_TLS_1_1 == 257 && NET_IPPROTO_TLS_1_2 == 258 &&
   NET_IPPROTO_TLS_1_3 == 259);
SA(NET_IPPROTO_DTLS_1_0 == 272 && NET_IPPROTO_DTLS_1_2 == 273 && NET_IPPROTO_DTLS_1_3 == 274);
#if IPPROTO_TLS_1_2 != 258 /* the older names work in #if too */
#error "IPPROTO_TLS_1_2"
#endif

/* ---- Credentials: Zephyr's values ---- */
SA(TLS_CREDENTIAL_NONE == 0);
SA(TLS_CREDENTIAL_CA_CERTIFICATE == 1);
SA(TLS_CREDENTIAL_PUBLIC_CERTIFICATE == 2);
SA(TLS_CREDENTIAL_SERVER_CERTIFICATE == TLS_CREDENTIAL_PUBLIC_CERTIFICATE);
SA(TLS_CREDENTIAL_PRIVATE_KEY == 3);
SA(TLS_CREDENTIAL_PSK == 4);
SA(TLS_CREDENTIAL_PSK_ID == 5);
SAME_TYPE((sec_tag_t)0, int);
SA(SEC_TAG_TLS_INVALID == -1 && TLS_SEC_TAG_NONE == -1);

/* ---- Kernel-bound constants: Linux's, and Zephyr's where they agree ---- */
SA(ZSOCK_POLLIN == POLLIN && ZSOCK_POLLIN == 1);
SA(ZSOCK_POLLPRI == POLLPRI && ZSOCK_POLLPRI == 2);
SA(ZSOCK_POLLOUT == POLLOUT && ZSOCK_POLLOUT == 4);
SA(ZSOCK_POLLERR == POLLERR && ZSOCK_POLLERR == 8);
SA(ZSOCK_POLLHUP == POLLHUP && ZSOCK_POLLHUP == 0x10);
SA(ZSOCK_POLLNVAL == POLLNVAL && ZSOCK_POLLNVAL == 0x20);
SA(ZSOCK_MSG_PEEK == MSG_PEEK && ZSOCK_MSG_PEEK == 0x02);
SA(ZSOCK_MSG_CTRUNC == MSG_CTRUNC && ZSOCK_MSG_CTRUNC == 0x08);
SA(ZSOCK_MSG_TRUNC == MSG_TRUNC && ZSOCK_MSG_TRUNC == 0x20);
SA(ZSOCK_MSG_DONTWAIT == MSG_DONTWAIT && ZSOCK_MSG_DONTWAIT == 0x40);
SA(ZSOCK_MSG_WAITALL == MSG_WAITALL && ZSOCK_MSG_WAITALL == 0x100);
SA(ZSOCK_SHUT_RD == SHUT_RD && ZSOCK_SHUT_RD == 0);
SA(ZSOCK_SHUT_WR == SHUT_WR && ZSOCK_SHUT_WR == 1);
SA(ZSOCK_SHUT_RDWR == SHUT_RDWR && ZSOCK_SHUT_RDWR == 2);

SA(ZSOCK_AI_PASSIVE == AI_PASSIVE && AI_PASSIVE == 0x1);
SA(ZSOCK_AI_CANONNAME == AI_CANONNAME && AI_CANONNAME == 0x2);
SA(ZSOCK_AI_NUMERICHOST == AI_NUMERICHOST && AI_NUMERICHOST == 0x4);
SA(ZSOCK_AI_V4MAPPED == AI_V4MAPPED && AI_V4MAPPED == 0x8);
SA(ZSOCK_AI_ALL == AI_ALL && AI_ALL == 0x10);
SA(ZSOCK_AI_ADDRCONFIG == AI_ADDRCONFIG && AI_ADDRCONFIG == 0x20);
SA(ZSOCK_AI_NUMERICSERV == AI_NUMERICSERV && AI_NUMERICSERV == 0x400);
SA(ZSOCK_AI_EXTFLAGS == 0x800 && AI_EXTFLAGS == 0x800);
SA(ZSOCK_NI_NUMERICHOST == NI_NUMERICHOST && NI_NUMERICHOST == 1);
SA(ZSOCK_NI_NUMERICSERV == NI_NUMERICSERV && NI_NUMERICSERV == 2);
SA(ZSOCK_NI_NOFQDN == NI_NOFQDN && NI_NOFQDN == 4);
SA(ZSOCK_NI_NAMEREQD == NI_NAMEREQD && NI_NAMEREQD == 8);
SA(ZSOCK_NI_DGRAM == NI_DGRAM && NI_DGRAM == 16);
SA(ZSOCK_NI_MAXHOST >= 64); /* Zephyr's 64 fits in glibc's */

/* Zephyr's DNS_EAI_* are glibc's EAI_* (written as literals in the header). */
SA(DNS_EAI_BADFLAGS == EAI_BADFLAGS && DNS_EAI_NONAME == EAI_NONAME);
SA(DNS_EAI_AGAIN == EAI_AGAIN && DNS_EAI_FAIL == EAI_FAIL && DNS_EAI_NODATA == EAI_NODATA);
SA(DNS_EAI_FAMILY == EAI_FAMILY && DNS_EAI_SOCKTYPE == EAI_SOCKTYPE);
SA(DNS_EAI_SERVICE == EAI_SERVICE && DNS_EAI_ADDRFAMILY == EAI_ADDRFAMILY);
SA(DNS_EAI_MEMORY == EAI_MEMORY && DNS_EAI_SYSTEM == EAI_SYSTEM);
SA(DNS_EAI_OVERFLOW == EAI_OVERFLOW && DNS_EAI_INPROGRESS == EAI_INPROGRESS);
SA(DNS_EAI_CANCELED == EAI_CANCELED && DNS_EAI_NOTCANCELED == EAI_NOTCANCELED);
SA(DNS_EAI_ALLDONE == EAI_ALLDONE && DNS_EAI_IDN_ENCODE == EAI_IDN_ENCODE);

SA(ZSOCK_SOL_SOCKET == SOL_SOCKET && SOL_SOCKET == 1);
SA(ZSOCK_SO_DEBUG == SO_DEBUG && SO_DEBUG == 1);
SA(ZSOCK_SO_REUSEADDR == SO_REUSEADDR && SO_REUSEADDR == 2);
SA(ZSOCK_SO_TYPE == SO_TYPE && SO_TYPE == 3);
SA(ZSOCK_SO_ERROR == SO_ERROR && SO_ERROR == 4);
SA(ZSOCK_SO_DONTROUTE == SO_DONTROUTE && SO_DONTROUTE == 5);
SA(ZSOCK_SO_BROADCAST == SO_BROADCAST && SO_BROADCAST == 6);
SA(ZSOCK_SO_SNDBUF == SO_SNDBUF && SO_SNDBUF == 7);
SA(ZSOCK_SO_RCVBUF == SO_RCVBUF && SO_RCVBUF == 8);
SA(ZSOCK_SO_KEEPALIVE == SO_KEEPALIVE && SO_KEEPALIVE == 9);
SA(ZSOCK_SO_OOBINLINE == SO_OOBINLINE && SO_OOBINLINE == 10);
SA(ZSOCK_SO_PRIORITY == SO_PRIORITY && SO_PRIORITY == 12);
SA(ZSOCK_SO_LINGER == SO_LINGER && SO_LINGER == 13);
SA(ZSOCK_SO_REUSEPORT == SO_REUSEPORT && SO_REUSEPORT == 15);
SA(ZSOCK_SO_RCVLOWAT == SO_RCVLOWAT && SO_RCVLOWAT == 18);
SA(ZSOCK_SO_SNDLOWAT == SO_SNDLOWAT && SO_SNDLOWAT == 19);
SA(ZSOCK_SO_RCVTIMEO == SO_RCVTIMEO && SO_RCVTIMEO == 20);
SA(ZSOCK_SO_SNDTIMEO == SO_SNDTIMEO && SO_SNDTIMEO == 21);
SA(ZSOCK_SO_BINDTODEVICE == SO_BINDTODEVICE && SO_BINDTODEVICE == 25);
SA(ZSOCK_SO_ACCEPTCONN == SO_ACCEPTCONN && SO_ACCEPTCONN == 30);
SA(ZSOCK_SO_PROTOCOL == SO_PROTOCOL && SO_PROTOCOL == 38);
SA(ZSOCK_SO_DOMAIN == SO_DOMAIN && SO_DOMAIN == 39);
SA(ZSOCK_SO_TXTIME == SO_TXTIME && SO_TXTIME == 61);
SA(ZSOCK_TCP_NODELAY == TCP_NODELAY && TCP_NODELAY == 1);
/* Deliberately Linux's: Zephyr numbers these 2, 3, 4. */
SA(ZSOCK_TCP_KEEPIDLE == TCP_KEEPIDLE && ZSOCK_TCP_KEEPINTVL == TCP_KEEPINTVL &&
   ZSOCK_TCP_KEEPCNT == TCP_KEEPCNT);
SA(ZSOCK_IP_TOS == IP_TOS && IP_TOS == 1);
SA(ZSOCK_IP_TTL == IP_TTL && IP_TTL == 2);
SA(ZSOCK_IP_PKTINFO == IP_PKTINFO && IP_PKTINFO == 8);
SA(ZSOCK_IP_MULTICAST_TTL == IP_MULTICAST_TTL && IP_MULTICAST_TTL == 33);
SA(ZSOCK_IP_ADD_MEMBERSHIP == IP_ADD_MEMBERSHIP && IP_ADD_MEMBERSHIP == 35);
SA(ZSOCK_IP_DROP_MEMBERSHIP == IP_DROP_MEMBERSHIP && IP_DROP_MEMBERSHIP == 36);
SA(ZSOCK_IPV6_UNICAST_HOPS == IPV6_UNICAST_HOPS && IPV6_UNICAST_HOPS == 16);
SA(ZSOCK_IPV6_MULTICAST_HOPS == IPV6_MULTICAST_HOPS && IPV6_MULTICAST_HOPS == 18);
SA(ZSOCK_IPV6_ADD_MEMBERSHIP == IPV6_ADD_MEMBERSHIP && IPV6_ADD_MEMBERSHIP == 20);
SA(ZSOCK_IPV6_DROP_MEMBERSHIP == IPV6_DROP_MEMBERSHIP && IPV6_DROP_MEMBERSHIP == 21);
SA(ZSOCK_IPV6_V6ONLY == IPV6_V6ONLY && IPV6_V6ONLY == 26);
SA(ZSOCK_IPV6_RECVPKTINFO == IPV6_RECVPKTINFO && IPV6_RECVPKTINFO == 49);
SA(ZSOCK_IPV6_TCLASS == IPV6_TCLASS && IPV6_TCLASS == 67);
SA(ZVFS_F_SETFL == F_SETFL && ZVFS_O_NONBLOCK == O_NONBLOCK && ZFD_IOCTL_FIONREAD == FIONREAD);

/* Families are Linux's (Zephyr: INET 1, INET6 2 - the kernel needs these). */
SA(NET_AF_INET == AF_INET && AF_INET == 2);
SA(NET_AF_INET6 == AF_INET6 && AF_INET6 == 10);
SA(NET_AF_UNSPEC == AF_UNSPEC && AF_UNSPEC == 0);
SA(NET_PF_INET == PF_INET && NET_AF_UNIX == AF_UNIX);
SA(NET_SOCK_STREAM == SOCK_STREAM && NET_SOCK_STREAM == 1);
SA(NET_SOCK_DGRAM == SOCK_DGRAM && NET_SOCK_DGRAM == 2);
SA(NET_SOCK_RAW == SOCK_RAW && NET_SOCK_RAW == 3);
SA(NET_SOCK_SEQPACKET == 5);
SAME_TYPE((enum net_sock_type)0, enum __socket_type);
/* (int): the two enums are distinct types with equal values. */
SA((int)NET_IPPROTO_TCP == IPPROTO_TCP && NET_IPPROTO_TCP == 6);
SA((int)NET_IPPROTO_UDP == IPPROTO_UDP && NET_IPPROTO_UDP == 17);
SA(NET_IPPROTO_IP == 0 && NET_IPPROTO_IPV6 == 41 && NET_IPPROTO_ICMPV6 == 58 &&
   NET_IPPROTO_RAW == 255);
SA(NET_INET_ADDRSTRLEN == 16 && NET_INET6_ADDRSTRLEN == 46);
SA(NET_IPV4_ADDR_SIZE == sizeof(struct in_addr) && NET_IPV6_ADDR_SIZE == sizeof(struct in6_addr));

/* ---- Types ---- */
SAME_TYPE((struct zsock_pollfd *)0, struct pollfd *);
SA(sizeof(struct zsock_pollfd) == sizeof(struct pollfd) && sizeof(struct zsock_pollfd) == 8);
SA(offsetof(struct zsock_pollfd, fd) == offsetof(struct pollfd, fd) &&
   offsetof(struct zsock_pollfd, fd) == 0);
SA(offsetof(struct zsock_pollfd, events) == offsetof(struct pollfd, events) &&
   offsetof(struct zsock_pollfd, events) == 4);
SA(offsetof(struct zsock_pollfd, revents) == offsetof(struct pollfd, revents) &&
   offsetof(struct zsock_pollfd, revents) == 6);
SAME_TYPE((struct zsock_addrinfo *)0, struct addrinfo *);
SA(offsetof(struct zsock_addrinfo, ai_next) == offsetof(struct addrinfo, ai_next));
SA(offsetof(struct zsock_addrinfo, ai_addr) == offsetof(struct addrinfo, ai_addr));
SAME_TYPE((struct zsock_timeval *)0, struct timeval *);
SAME_TYPE((zsock_fd_set *)0, fd_set *);
SA(ZSOCK_FD_SETSIZE == FD_SETSIZE);
SAME_TYPE((net_socklen_t)0, socklen_t);
SAME_TYPE((net_socklen_t)0, uint32_t); /* Zephyr 4.x: uint32_t */
SAME_TYPE((net_sa_family_t)0, sa_family_t);
SAME_TYPE((net_sa_family_t)0, unsigned short);
SAME_TYPE((struct net_sockaddr *)0, struct sockaddr *);
SAME_TYPE((struct net_sockaddr_in *)0, struct sockaddr_in *);
SAME_TYPE((struct net_sockaddr_in6 *)0, struct sockaddr_in6 *);
SAME_TYPE((struct net_sockaddr_storage *)0, struct sockaddr_storage *);
SAME_TYPE((struct net_in_addr *)0, struct in_addr *);
SAME_TYPE((struct net_in6_addr *)0, struct in6_addr *);
SAME_TYPE((struct net_msghdr *)0, struct msghdr *);

/* ---- Prototypes: Zephyr's signatures (not evaluated: no symbol use) ---- */
SAME_TYPE(&zsock_socket, int (*)(int, int, int));
SAME_TYPE(&zsock_socketpair, int (*)(int, int, int, int *));
SAME_TYPE(&zsock_close, int (*)(int));
SAME_TYPE(&zsock_shutdown, int (*)(int, int));
SAME_TYPE(&zsock_bind, int (*)(int, const struct sockaddr *, socklen_t));
SAME_TYPE(&zsock_connect, int (*)(int, const struct sockaddr *, socklen_t));
SAME_TYPE(&zsock_listen, int (*)(int, int));
SAME_TYPE(&zsock_accept, int (*)(int, struct sockaddr *, socklen_t *));
SAME_TYPE(&zsock_sendto,
          ssize_t (*)(int, const void *, size_t, int, const struct sockaddr *, socklen_t));
SAME_TYPE(&zsock_send, ssize_t (*)(int, const void *, size_t, int));
SAME_TYPE(&zsock_sendmsg, ssize_t (*)(int, const struct msghdr *, int));
SAME_TYPE(&zsock_recvfrom,
          ssize_t (*)(int, void *, size_t, int, struct sockaddr *, socklen_t *));
SAME_TYPE(&zsock_recv, ssize_t (*)(int, void *, size_t, int));
SAME_TYPE(&zsock_recvmsg, ssize_t (*)(int, struct msghdr *, int));
SAME_TYPE(&zsock_fcntl_impl, int (*)(int, int, int));
SAME_TYPE(&zsock_fcntl, int (*)(int, int, ...));
SAME_TYPE(&zsock_ioctl_impl, int (*)(int, unsigned long, va_list));
SAME_TYPE(&zsock_ioctl, int (*)(int, unsigned long, ...));
SAME_TYPE(&zsock_poll, int (*)(struct zsock_pollfd *, int, int));
SAME_TYPE(&zsock_select, int (*)(int, zsock_fd_set *, zsock_fd_set *, zsock_fd_set *,
                                 struct zsock_timeval *));
SAME_TYPE(&zsock_getsockopt, int (*)(int, int, int, void *, socklen_t *));
SAME_TYPE(&zsock_setsockopt, int (*)(int, int, int, const void *, socklen_t));
SAME_TYPE(&zsock_getpeername, int (*)(int, struct sockaddr *, socklen_t *));
SAME_TYPE(&zsock_getsockname, int (*)(int, struct sockaddr *, socklen_t *));
SAME_TYPE(&zsock_gethostname, int (*)(char *, size_t));
SAME_TYPE(&zsock_inet_pton, int (*)(sa_family_t, const char *, void *));
SAME_TYPE(&zsock_inet_ntop, char *(*)(sa_family_t, const void *, char *, size_t));
SAME_TYPE(&zsock_getaddrinfo, int (*)(const char *, const char *, const struct zsock_addrinfo *,
                                      struct zsock_addrinfo **));
SAME_TYPE(&zsock_freeaddrinfo, void (*)(struct zsock_addrinfo *));
SAME_TYPE(&zsock_gai_strerror, const char *(*)(int));
SAME_TYPE(&zsock_getnameinfo, int (*)(const struct sockaddr *, socklen_t, char *, socklen_t,
                                      char *, socklen_t, int));
SAME_TYPE(&net_addr_pton, int (*)(net_sa_family_t, const char *, void *));
SAME_TYPE(&net_addr_ntop, char *(*)(net_sa_family_t, const void *, char *, size_t));
SAME_TYPE(&tls_credential_add,
          int (*)(sec_tag_t, enum tls_credential_type, const void *, size_t));
SAME_TYPE(&tls_credential_get, int (*)(sec_tag_t, enum tls_credential_type, void *, size_t *));
SAME_TYPE(&tls_credential_delete, int (*)(sec_tag_t, enum tls_credential_type));

int main(void)
{
    /* The fd_set helpers (inline in the header) at run time. */
    zsock_fd_set s;
    ZSOCK_FD_ZERO(&s);
    for (int fd = 0; fd < ZSOCK_FD_SETSIZE; fd++)
        if (ZSOCK_FD_ISSET(fd, &s)) {
            fprintf(stderr, "ZSOCK_FD_ZERO left %d set\n", fd);
            return 1;
        }
    ZSOCK_FD_SET(5, &s);
    ZSOCK_FD_SET(ZSOCK_FD_SETSIZE - 1, &s);
    if (ZSOCK_FD_ISSET(5, &s) != 1 || ZSOCK_FD_ISSET(4, &s) != 0 ||
        ZSOCK_FD_ISSET(ZSOCK_FD_SETSIZE - 1, &s) != 1 || !FD_ISSET(5, &s)) {
        fprintf(stderr, "ZSOCK_FD_SET/ISSET\n");
        return 1;
    }
    ZSOCK_FD_CLR(5, &s);
    if (ZSOCK_FD_ISSET(5, &s) != 0 || ZSOCK_FD_ISSET(ZSOCK_FD_SETSIZE - 1, &s) != 1) {
        fprintf(stderr, "ZSOCK_FD_CLR\n");
        return 1;
    }
    /* Constant initializers of glibc's in_addr (byte order at compile time). */
    static const struct in_addr lo = INADDR_LOOPBACK_INIT, any = INADDR_ANY_INIT;
    static const struct in6_addr lo6 = NET_IN6ADDR_LOOPBACK_INIT;
    if (ntohl(lo.s_addr) != 0x7f000001 || any.s_addr != 0 || !IN6_IS_ADDR_LOOPBACK(&lo6) ||
        net_htonll(0x0102030405060708ULL) != htobe64(0x0102030405060708ULL) ||
        net_ntohs(net_htons(0x1234)) != 0x1234) {
        fprintf(stderr, "address initializers / byte order\n");
        return 1;
    }
    puts("zsock-api-values: ok");
    return 0;
}
