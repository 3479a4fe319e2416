/* The parts of Zephyr's socket API that need no descriptor table: address
 * conversion, name resolution (over glibc), the host name, and select()
 * (over zsock_poll(), which is socket.c's).  Behaviour follows Zephyr's
 * include/zephyr/net/socket.h, net_ip.h and socket_select.h; where Zephyr
 * defers to POSIX, glibc is POSIX. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

/* This file calls glibc's own getnameinfo(), poll() ...: the POSIX-name
 * macros must never apply here, whatever the build defines. */
#undef CONFIG_NET_SOCKETS_POSIX_NAMES
#include <zephyr/net/socket.h>

/* ---- Addresses ---- */

int net_addr_pton(net_sa_family_t family, const char *src, void *dst)
{
    if ((family != AF_INET && family != AF_INET6) || src == NULL || dst == NULL)
        return -EINVAL;
    /* Zephyr's convention: 0 on success, -EINVAL on a malformed string. */
    return inet_pton(family, src, dst) == 1 ? 0 : -EINVAL;
}

char *net_addr_ntop(net_sa_family_t family, const void *src, char *dst, size_t size)
{
    if (src == NULL || dst == NULL) {
        errno = EINVAL;
        return NULL;
    }
    /* glibc takes a socklen_t; any size above that is "large enough". */
    socklen_t n = size > UINT32_MAX ? UINT32_MAX : (socklen_t)size;
    return (char *)inet_ntop(family, src, dst, n); /* NULL + EAFNOSUPPORT/ENOSPC */
}

int zsock_inet_pton(sa_family_t family, const char *src, void *dst)
{
    /* Exactly Zephyr's z_impl_zsock_inet_pton(): 1 on success, else 0. */
    return net_addr_pton(family, src, dst) == 0 ? 1 : 0;
}

/* ---- Names ---- */

int zsock_gethostname(char *buf, size_t len)
{
    return gethostname(buf, len);
}

static bool secure_proto(int proto, int *plain)
{
    switch (proto) {
    case IPPROTO_TLS_1_0:
    case IPPROTO_TLS_1_1:
    case IPPROTO_TLS_1_2:
    case IPPROTO_TLS_1_3:
        *plain = IPPROTO_TCP;
        return true;
    case IPPROTO_DTLS_1_0:
    case IPPROTO_DTLS_1_2:
    case IPPROTO_DTLS_1_3:
        *plain = IPPROTO_UDP;
        return true;
    default:
        return false;
    }
}

int zsock_getaddrinfo(const char *host, const char *service,
                      const struct zsock_addrinfo *hints, struct zsock_addrinfo **res)
{
    if (res == NULL) {
        errno = EINVAL;
        return DNS_EAI_SYSTEM;
    }
    *res = NULL;

    struct addrinfo h;
    const struct addrinfo *hp = NULL;
    int secure = 0;
    if (hints != NULL) {
        /* Only the four input members; POSIX wants the others zero, and
         * Zephyr code that filled them (or the Zephyr-only
         * ZSOCK_AI_EXTFLAGS, which glibc rejects as EAI_BADFLAGS) would
         * otherwise fail here but not on Zephyr. */
        h = (struct addrinfo){
            .ai_flags = hints->ai_flags & ~ZSOCK_AI_EXTFLAGS,
            .ai_family = hints->ai_family,
            .ai_socktype = hints->ai_socktype,
            .ai_protocol = hints->ai_protocol,
        };
        /* glibc knows no TLS protocol numbers: resolve for the transport
         * under it and label the results with the secure protocol, so that
         * zsock_socket(ai_family, ai_socktype, ai_protocol) makes the
         * socket the caller asked for. */
        int plain;
        if (secure_proto(h.ai_protocol, &plain)) {
            secure = h.ai_protocol;
            h.ai_protocol = plain;
        }
        hp = &h;
    }

    struct addrinfo *list = NULL;
    int rc = getaddrinfo(host, service, hp, &list);
    if (rc != 0)
        return rc; /* glibc's EAI_* are Zephyr's DNS_EAI_* */
    if (secure != 0)
        for (struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next)
            ai->ai_protocol = secure;
    *res = list;
    return 0;
}

void zsock_freeaddrinfo(struct zsock_addrinfo *ai)
{
    if (ai != NULL)
        freeaddrinfo(ai);
}

const char *zsock_gai_strerror(int errcode)
{
    return gai_strerror(errcode);
}

int zsock_getnameinfo(const struct sockaddr *addr, socklen_t addrlen, char *host,
                      socklen_t hostlen, char *serv, socklen_t servlen, int flags)
{
    return getnameinfo(addr, addrlen, host, hostlen, serv, servlen, flags);
}

/* ---- select() over zsock_poll() ---- */

/* Linux's select() classes (fs/select.c POLLIN_SET, POLLOUT_SET,
 * POLLEX_SET): a socket with an error or a closed peer is "readable", so a
 * recv() reports the condition instead of the caller sleeping on it. */
#define SEL_IN  (POLLIN | POLLHUP | POLLERR)
#define SEL_OUT (POLLOUT | POLLERR)
#define SEL_EX  (POLLPRI)

/* select()'s timeval to poll()'s milliseconds, rounded up so that the wait
 * is never shorter than asked (POSIX allows rounding up to the clock's
 * granularity, never down); clamped at INT_MAX ms (~24.8 days).  -1 if
 * invalid: Linux (poll_select_set_timeout) rejects negative fields and
 * tv_usec >= 1000000 with EINVAL. */
static int timeval_to_ms(const struct zsock_timeval *tv, int *ms)
{
    if (tv == NULL) {
        *ms = -1; /* wait forever */
        return 0;
    }
    if (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000)
        return -1;
    if (tv->tv_sec >= INT_MAX / 1000) {
        *ms = INT_MAX;
        return 0;
    }
    long long t = (long long)tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000;
    *ms = t > INT_MAX ? INT_MAX : (int)t;
    return 0;
}

int zsock_select(int nfds, zsock_fd_set *readfds, zsock_fd_set *writefds,
                 zsock_fd_set *exceptfds, struct zsock_timeval *timeout)
{
    int ms;
    if (nfds < 0 || nfds > ZSOCK_FD_SETSIZE || timeval_to_ms(timeout, &ms) != 0) {
        errno = EINVAL;
        return -1;
    }

    /* One pollfd per descriptor present in any set.  On the stack: at most
     * FD_SETSIZE (1024) entries of 8 bytes. */
    struct zsock_pollfd pfd[ZSOCK_FD_SETSIZE];
    int n = 0;
    for (int fd = 0; fd < nfds; fd++) {
        short ev = 0;
        if (readfds != NULL && FD_ISSET(fd, readfds))
            ev |= POLLIN;
        if (writefds != NULL && FD_ISSET(fd, writefds))
            ev |= POLLOUT;
        if (exceptfds != NULL && FD_ISSET(fd, exceptfds))
            ev |= POLLPRI;
        if (ev != 0)
            pfd[n++] = (struct zsock_pollfd){.fd = fd, .events = ev};
    }

    int rc;
    if (n == 0) {
        /* Nothing to watch: select() is then a portable sleep.  The kernel
         * does that directly; there is no socket for zsock_poll() to know
         * about. */
        rc = poll(NULL, 0, ms);
    } else {
        rc = zsock_poll(pfd, n, ms);
    }
    if (rc < 0)
        return -1; /* errno from poll; the sets are left as they were */

    /* A descriptor that is not open fails the whole call with EBADF, as
     * POSIX select() does (poll() only flags it with POLLNVAL). */
    for (int i = 0; i < n; i++) {
        if (pfd[i].revents & POLLNVAL) {
            errno = EBADF;
            return -1;
        }
    }

    int count = 0;
    for (int i = 0; i < n; i++) {
        int fd = pfd[i].fd;
        short rev = pfd[i].revents;
        if (readfds != NULL && FD_ISSET(fd, readfds)) {
            if (rev & SEL_IN)
                count++;
            else
                FD_CLR(fd, readfds);
        }
        if (writefds != NULL && FD_ISSET(fd, writefds)) {
            if (rev & SEL_OUT)
                count++;
            else
                FD_CLR(fd, writefds);
        }
        if (exceptfds != NULL && FD_ISSET(fd, exceptfds)) {
            if (rev & SEL_EX)
                count++;
            else
                FD_CLR(fd, exceptfds);
        }
    }
    return count;
}
