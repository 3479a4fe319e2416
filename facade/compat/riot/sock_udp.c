/*
 * RIOT's sock_udp on Linux (docs/COMPAT.md): a sock_udp_t is a kernel UDP
 * socket, non-blocking, waited on with poll() for RIOT's microsecond
 * timeouts.  Errors are RIOT's negative errno values; where RIOT's stacks
 * differ (GNRC, lwIP), GNRC's documented behaviour is the model.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "riot.h"

#include "net/sock/util.h"

#define UDP_MAX 65536 /* a whole datagram: recv_buf's buffer */
#define SNIPS_MAX 64  /* buffers of one sendv() */

/* ---- endpoints and time (riot.h) ---------------------------------------- */

int riot_kernel_family(int family)
{
    if (family == RIOT_AF_INET || family == AF_INET)
        return AF_INET;
    if (family == RIOT_AF_INET6 || family == AF_INET6)
        return AF_INET6;
    return -1;
}

static bool all_zero(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

int riot_ep_to_sa(const sock_udp_ep_t *ep, int dflt, bool need_addr, bool need_port,
                  struct sockaddr_storage *sa, socklen_t *len)
{
    int fam = ep->family == 0 ? dflt : riot_kernel_family(ep->family);
    if (fam < 0)
        return -EAFNOSUPPORT;
    if (need_port && ep->port == 0)
        return -EINVAL;
    memset(sa, 0, sizeof *sa);
    if (fam == AF_INET) {
        if (need_addr && ep->addr.ipv4_u32 == 0)
            return -EINVAL;
        struct sockaddr_in *in = (struct sockaddr_in *)sa;
        in->sin_family = AF_INET;
        in->sin_port = htons(ep->port);
        memcpy(&in->sin_addr, ep->addr.ipv4, 4);
        *len = sizeof *in;
    } else {
        if (need_addr && all_zero(ep->addr.ipv6, 16))
            return -EINVAL;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(ep->port);
        memcpy(&in6->sin6_addr, ep->addr.ipv6, 16);
        /* RIOT's netif is the interface of a link-local address. */
        in6->sin6_scope_id = ep->netif;
        *len = sizeof *in6;
    }
    return 0;
}

void riot_sa_to_ep(const struct sockaddr *sa, bool riot_af, sock_udp_ep_t *ep)
{
    memset(ep, 0, sizeof *ep);
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        ep->family = riot_af ? RIOT_AF_INET : AF_INET;
        memcpy(ep->addr.ipv4, &in->sin_addr, 4);
        ep->port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        ep->family = riot_af ? RIOT_AF_INET6 : AF_INET6;
        memcpy(ep->addr.ipv6, &in6->sin6_addr, 16);
        ep->port = ntohs(in6->sin6_port);
        ep->netif = (uint16_t)in6->sin6_scope_id;
    }
}

bool riot_ep_same(const sock_udp_ep_t *a, const sock_udp_ep_t *b)
{
    int fa = riot_kernel_family(a->family), fb = riot_kernel_family(b->family);
    if (fa < 0 || fa != fb || a->port != b->port)
        return false;
    if (fa == AF_INET)
        return a->addr.ipv4_u32 == b->addr.ipv4_u32;
    return memcmp(a->addr.ipv6, b->addr.ipv6, 16) == 0 &&
           (a->netif == b->netif || !a->netif || !b->netif);
}

int riot_iolist_iov(const iolist_t *snips, struct iovec *iov, size_t max, size_t *total)
{
    size_t n = 0;
    *total = 0;
    for (const iolist_t *s = snips; s; s = s->iol_next) {
        if (n == max || (s->iol_base == NULL && s->iol_len))
            return -EINVAL;
        iov[n].iov_base = s->iol_base;
        iov[n++].iov_len = s->iol_len;
        *total += s->iol_len;
    }
    return (int)n;
}

int riot_lend_begin(void **data, void **buf_ctx, void **buf, size_t cap)
{
    if (*buf_ctx != NULL) {
        *data = NULL;
        *buf_ctx = NULL;
        return 0;
    }
    if (*buf == NULL && (*buf = malloc(cap)) == NULL)
        return -ENOMEM;
    return 1;
}

int64_t riot_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t riot_deadline(uint32_t timeout_us)
{
    return timeout_us == SOCK_NO_TIMEOUT ? -1 : riot_now_us() + timeout_us;
}

int riot_poll_ms(int64_t deadline_us)
{
    if (deadline_us < 0)
        return -1;
    int64_t left = deadline_us - riot_now_us();
    if (left <= 0)
        return 0;
    int64_t ms = (left + 999) / 1000;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* ---- the sock ------------------------------------------------------------- */

static bool live(const sock_udp_t *sock)
{
    return sock && sock->magic == RIOT_UDP_MAGIC;
}

/* The kernel socket of the sock's family (made when the family is first
 * known: at create, or at the first send of a sock created without
 * endpoints). */
static int open_fd(sock_udp_t *sock, int family)
{
    int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    /* RIOT's IPv6 socks speak IPv6 only (no v4-mapped addresses). */
    if (family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (sock->flags & SOCK_FLAGS_REUSE_EP)
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sock->fd = fd;
    sock->family = family;
    return 0;
}

int sock_udp_create(sock_udp_t *sock, const sock_udp_ep_t *local, const sock_udp_ep_t *remote,
                    uint16_t flags)
{
    if (sock == NULL)
        return -EINVAL;
    memset(sock, 0, sizeof *sock);
    sock->fd = -1;
    sock->flags = flags;
    sock->riot_af = true;
    struct sockaddr_storage la, ra;
    socklen_t llen = 0, rlen = 0;
    int family = -1;
    if (remote) {
        int rc = riot_ep_to_sa(remote, AF_INET6, true, true, &ra, &rlen);
        if (rc < 0)
            return rc;
        family = ra.ss_family;
        sock->riot_af = remote->family != AF_INET && remote->family != AF_INET6;
    }
    if (local) {
        int rc = riot_ep_to_sa(local, family < 0 ? AF_INET6 : family, false, false, &la, &llen);
        if (rc < 0)
            return rc;
        if (family >= 0 && la.ss_family != family)
            return -EINVAL;
        if (remote && local->netif && remote->netif && local->netif != remote->netif)
            return -EINVAL;
        family = la.ss_family;
        if (local->family)
            sock->riot_af = local->family != AF_INET && local->family != AF_INET6;
    }
    if (family >= 0) {
        int rc = open_fd(sock, family);
        if (rc < 0)
            return rc == -EAFNOSUPPORT ? rc : -ENOMEM;
        if (local && bind(sock->fd, (struct sockaddr *)&la, llen) < 0) {
            rc = errno == EACCES ? -EADDRINUSE : -errno;
            close(sock->fd);
            return rc;
        }
    }
    if (remote) {
        sock->remote = *remote;
        sock->has_remote = true;
    }
    sock->magic = RIOT_UDP_MAGIC;
    return 0;
}

void sock_udp_close(sock_udp_t *sock)
{
    if (!live(sock))
        return;
    if (sock->fd >= 0)
        close(sock->fd);
    free(sock->rx_buf);
    memset(sock, 0, sizeof *sock);
    sock->fd = -1;
}

/* The port the sock is bound to, 0 when none (not yet sent from). */
static int bound_port(sock_udp_t *sock, struct sockaddr_storage *sa)
{
    socklen_t len = sizeof *sa;
    if (sock->fd < 0 || getsockname(sock->fd, (struct sockaddr *)sa, &len) < 0)
        return 0;
    return sa->ss_family == AF_INET ? ntohs(((struct sockaddr_in *)sa)->sin_port)
                                    : ntohs(((struct sockaddr_in6 *)sa)->sin6_port);
}

int sock_udp_get_local(sock_udp_t *sock, sock_udp_ep_t *ep)
{
    struct sockaddr_storage sa;
    if (!live(sock) || ep == NULL)
        return -EINVAL;
    if (bound_port(sock, &sa) == 0)
        return -EADDRNOTAVAIL;
    riot_sa_to_ep((struct sockaddr *)&sa, sock->riot_af, ep);
    return 0;
}

int sock_udp_get_remote(sock_udp_t *sock, sock_udp_ep_t *ep)
{
    if (!live(sock) || ep == NULL)
        return -EINVAL;
    if (!sock->has_remote)
        return -ENOTCONN;
    *ep = sock->remote;
    return 0;
}

/* One datagram into buf (cap bytes): its length (-ENOBUFS: longer, and
 * dropped), -EAGAIN after timeout 0, -ETIMEDOUT. */
static ssize_t recv_one(sock_udp_t *sock, void *buf, size_t cap, uint32_t timeout,
                        sock_udp_ep_t *remote)
{
    struct sockaddr_storage sa;
    if (bound_port(sock, &sa) == 0)
        return -EADDRNOTAVAIL; /* nothing can reach a sock without a port */
    int64_t deadline = riot_deadline(timeout);
    for (;;) {
        socklen_t len = sizeof sa;
        ssize_t n = recvfrom(sock->fd, buf, cap, MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&sa,
                             &len);
        if (n >= 0) {
            sock_udp_ep_t from;
            riot_sa_to_ep((struct sockaddr *)&sa, sock->riot_af, &from);
            /* SOCK_FLAGS_CONNECT_REMOTE: only the sock's remote may answer
             * (GNRC: -EPROTO for anyone else's datagram, which is dropped). */
            if ((sock->flags & SOCK_FLAGS_CONNECT_REMOTE) && sock->has_remote &&
                !riot_ep_same(&from, &sock->remote))
                return -EPROTO;
            if ((size_t)n > cap)
                return -ENOBUFS; /* GNRC drops what does not fit */
            if (remote)
                *remote = from;
            return n;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return errno == ECONNREFUSED ? -ECONNREFUSED : -errno;
        if (timeout == 0)
            return -EAGAIN;
        int ms = riot_poll_ms(deadline);
        if (ms == 0)
            return -ETIMEDOUT;
        struct pollfd p = {.fd = sock->fd, .events = POLLIN};
        if (poll(&p, 1, ms) < 0 && errno != EINTR)
            return -errno;
    }
}

ssize_t sock_udp_recv_aux(sock_udp_t *sock, void *data, size_t max_len, uint32_t timeout,
                          sock_udp_ep_t *remote, sock_udp_aux_rx_t *aux)
{
    (void)aux; /* no auxiliary data: its flags stay set (not filled in) */
    if (!live(sock) || (data == NULL && max_len))
        return -EINVAL;
    return recv_one(sock, data, max_len, timeout, remote);
}

ssize_t sock_udp_recv_buf_aux(sock_udp_t *sock, void **data, void **buf_ctx, uint32_t timeout,
                              sock_udp_ep_t *remote, sock_udp_aux_rx_t *aux)
{
    (void)aux;
    if (!live(sock) || data == NULL || buf_ctx == NULL)
        return -EINVAL;
    int rc = riot_lend_begin(data, buf_ctx, &sock->rx_buf, UDP_MAX);
    if (rc <= 0)
        return rc;
    ssize_t n = recv_one(sock, sock->rx_buf, UDP_MAX, timeout, remote);
    if (n >= 0)
        riot_lend(data, buf_ctx, sock->rx_buf);
    return n;
}

ssize_t sock_udp_sendv_aux(sock_udp_t *sock, const iolist_t *snips, const sock_udp_ep_t *remote,
                           sock_udp_aux_tx_t *aux)
{
    (void)aux;
    if (sock != NULL && !live(sock))
        return -EINVAL;
    if (remote == NULL) {
        if (sock == NULL || !sock->has_remote)
            return -ENOTCONN;
        remote = &sock->remote;
    }
    int dflt = sock && sock->fd >= 0 ? sock->family : AF_INET6;
    struct sockaddr_storage to;
    socklen_t tolen;
    int rc = riot_ep_to_sa(remote, dflt, true, true, &to, &tolen);
    if (rc < 0)
        return rc;
    struct iovec iov[SNIPS_MAX];
    size_t total;
    int n = riot_iolist_iov(snips, iov, SNIPS_MAX, &total);
    if (n < 0)
        return n;
    sock_udp_t tmp;
    sock_udp_t *via = sock;
    if (via == NULL) {
        /* No sock: a port of the moment. */
        memset(&tmp, 0, sizeof tmp);
        tmp.fd = -1;
        via = &tmp;
    }
    if (via->fd < 0 && (rc = open_fd(via, to.ss_family)) < 0)
        return rc;
    if (via->family != to.ss_family) {
        rc = -EAFNOSUPPORT;
    } else {
        struct msghdr msg = {.msg_name = &to, .msg_namelen = tolen, .msg_iov = iov,
                             .msg_iovlen = (size_t)n};
        for (;;) {
            ssize_t sent = sendmsg(via->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (sent >= 0) {
                rc = (int)sent;
                break;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                /* The kernel's queue is full: as a blocking send, wait. */
                struct pollfd p = {.fd = via->fd, .events = POLLOUT};
                (void)poll(&p, 1, 1000);
                continue;
            }
            rc = errno == ENETUNREACH ? -EHOSTUNREACH : errno == EMSGSIZE ? -ENOMEM : -errno;
            break;
        }
    }
    if (via == &tmp)
        close(tmp.fd);
    return rc;
}

/* ---- endpoints as text (net/sock/util.h, net/ipv4/addr.h, net/ipv6/addr.h) ----------------- */

ipv6_addr_t *ipv6_addr_from_str(ipv6_addr_t *result, const char *addr)
{
    return result && addr && inet_pton(AF_INET6, addr, result) == 1 ? result : NULL;
}

char *ipv6_addr_to_str(char *result, const ipv6_addr_t *addr, uint8_t result_len)
{
    return result && addr && inet_ntop(AF_INET6, addr, result, result_len) ? result : NULL;
}

ipv4_addr_t *ipv4_addr_from_str(ipv4_addr_t *result, const char *addr)
{
    return result && addr && inet_pton(AF_INET, addr, result) == 1 ? result : NULL;
}

char *ipv4_addr_to_str(char *result, const ipv4_addr_t *addr, uint8_t result_len)
{
    return result && addr && inet_ntop(AF_INET, addr, result, result_len) ? result : NULL;
}

int sock_udp_ep_fmt(const sock_udp_ep_t *endpoint, char *addr_str, uint16_t *port)
{
    int fam = endpoint ? riot_kernel_family(endpoint->family) : -1;
    if (fam < 0 || addr_str == NULL)
        return -ENOTSUP;
    if (inet_ntop(fam, fam == AF_INET ? (const void *)endpoint->addr.ipv4
                                      : (const void *)endpoint->addr.ipv6,
                  addr_str, IPV6_ADDR_MAX_STR_LEN) == NULL)
        return -ENOTSUP;
    size_t n = strlen(addr_str);
    if (fam == AF_INET6 && endpoint->netif)
        n += (size_t)snprintf(addr_str + n, IPV6_ADDR_MAX_STR_LEN - n, "%%%u",
                              (unsigned)endpoint->netif);
    if (port)
        *port = endpoint->port;
    return (int)n;
}

int sock_udp_str2ep(sock_udp_ep_t *ep_out, const char *str)
{
    if (ep_out == NULL || str == NULL)
        return -EINVAL;
    char host[IPV6_ADDR_MAX_STR_LEN + 8];
    const char *port = NULL;
    memset(ep_out, 0, sizeof *ep_out);
    if (str[0] == '[') {
        const char *end = strchr(str, ']');
        if (end == NULL || (size_t)(end - str - 1) >= sizeof host)
            return -EINVAL;
        memcpy(host, str + 1, (size_t)(end - str - 1));
        host[end - str - 1] = '\0';
        if (end[1] == ':')
            port = end + 2;
        else if (end[1] != '\0')
            return -EINVAL;
    } else {
        size_t n = strlen(str);
        const char *colon = strchr(str, ':');
        if (colon && strchr(colon + 1, ':') == NULL) { /* IPv4 with a port */
            n = (size_t)(colon - str);
            port = colon + 1;
        }
        if (n >= sizeof host)
            return -EINVAL;
        memcpy(host, str, n);
        host[n] = '\0';
    }
    char *pct = strchr(host, '%');
    if (pct) {
        char *e;
        unsigned long netif = strtoul(pct + 1, &e, 10);
        if (*e || netif > UINT16_MAX)
            return -EINVAL;
        ep_out->netif = (uint16_t)netif;
        *pct = '\0';
    }
    if (inet_pton(AF_INET6, host, ep_out->addr.ipv6) == 1)
        ep_out->family = RIOT_AF_INET6;
    else if (inet_pton(AF_INET, host, ep_out->addr.ipv4) == 1)
        ep_out->family = RIOT_AF_INET;
    else
        return -EINVAL;
    if (port) {
        char *e;
        unsigned long p = strtoul(port, &e, 10);
        if (*port == '\0' || *e || p > UINT16_MAX)
            return -EINVAL;
        ep_out->port = (uint16_t)p;
    }
    return 0;
}

bool sock_udp_ep_equal(const sock_udp_ep_t *a, const sock_udp_ep_t *b)
{
    return riot_ep_same(a, b);
}
