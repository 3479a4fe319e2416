/*
 * The zsock API on Linux (docs/FACADE.md): each call looks its socket up
 * (fdtable.c) and dispatches through the socket's ops table, chosen at
 * socket(): plain (plain.c), TLS stream or DTLS.  Here too: SOL_SOCKET
 * options, fcntl/ioctl, and poll across socket kinds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <zephyr/net/socket.h>
#include <zrec/zsock_ext.h>

#include "zs_internal.h"

/* ---- socket life cycle -------------------------------------------------- */

static int kernel_proto(int type, int proto, int *tls)
{
    *tls = 0;
    if (zs_is_tls_proto(proto) || zs_is_dtls_proto(proto)) {
        bool dtls = zs_is_dtls_proto(proto);
        if ((type == SOCK_STREAM) == dtls)
            return -EPROTONOSUPPORT; /* TLS needs a stream, DTLS datagrams */
        *tls = 1;
        return dtls ? IPPROTO_UDP : IPPROTO_TCP;
    }
    return proto;
}

int zsock_socket(int family, int type, int proto)
{
    int tls;
    int kproto = kernel_proto(type, proto, &tls);
    if (kproto < 0)
        return zs_fail(kproto);
    int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, kproto);
    if (fd < 0)
        return -1;
    struct zs_sock *s = zs_register(fd, family, type, proto);
    if (s == NULL) {
        int e = errno;
        close(fd);
        return zs_fail(-e);
    }
    if (tls) {
        int rc = zs_is_dtls_proto(proto) ? zs_dtls_create(s) : zs_tls_stream_create(s);
        if (rc < 0) {
            zsock_close(fd);
            return zs_fail(rc);
        }
    }
    return fd;
}

int zsock_socketpair(int family, int type, int proto, int *sv)
{
    if (sv == NULL)
        return zs_fail(-EFAULT);
    if (socketpair(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto, sv) < 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        if (zs_register(sv[i], family, type, proto) == NULL) {
            int e = errno;
            if (i == 1)
                zsock_close(sv[0]);
            else
                close(sv[0]);
            close(sv[1]);
            return zs_fail(-e);
        }
    }
    return 0;
}

int zsock_close(int fd)
{
    struct zs_sock *s = zs_get(fd);
    if (s == NULL) /* not a zsock socket: with POSIX names, close() of a file */
        return close(fd);
    if (!zs_unregister(s)) { /* another close() won the race */
        zs_put(s);
        return zs_fail(-EBADF);
    }
    return zs_close_sock(s); /* holding our reference, it drops the table's */
}

int zsock_shutdown(int fd, int how)
{
    struct zs_sock *s = zs_get(fd);
    if (s == NULL)
        return -1;
    int rc = s->ops->shutdown(s, how);
    zs_put(s);
    return rc < 0 ? zs_fail(rc) : 0;
}

int zsock_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    struct zs_sock *s = zs_get(fd);
    if (s == NULL)
        return -1;
    int rc = bind(fd, addr, len);
    zs_put(s);
    return rc;
}

int zsock_listen(int fd, int backlog)
{
    struct zs_sock *s = zs_get(fd);
    if (s == NULL)
        return -1;
    int rc = s->ops->listen(s, backlog);
    zs_put(s);
    return rc < 0 ? zs_fail(rc) : 0;
}

int zsock_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    struct zs_sock *s = zs_get(fd);
    if (s == NULL)
        return -1;
    int rc = s->ops->connect(s, addr, len);
    zs_put(s);
    return rc < 0 ? zs_fail(rc) : 0;
}

int zsock_accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    struct zs_sock *s = zs_get(fd);
    if (s == NULL)
        return -1;
    int rc = s->ops->accept(s, addr, len);
    zs_put(s);
    return rc < 0 ? zs_fail(rc) : rc;
}

/* ---- data --------------------------------------------------------------- */

ssize_t zsock_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    struct zs_sock *s = zs_get(fd);
    if (s == NULL)
        return -1;
    ssize_t n = s->ops->sendmsg(s, msg, flags);
    zs_put(s);
    return n < 0 ? zs_fail((int)n) : n;
}

ssize_t zsock_sendto(int fd, const void *buf, size_t len, int flags,
                     const struct sockaddr *dest, socklen_t addrlen)
{
    struct iovec iov = {(void *)buf, len};
    struct msghdr msg = {.msg_name = (void *)dest, .msg_namelen = dest ? addrlen : 0,
                         .msg_iov = &iov, .msg_iovlen = 1};
    return zsock_sendmsg(fd, &msg, flags);
}

ssize_t zsock_recvmsg(int fd, struct msghdr *msg, int flags)
{
    struct zs_sock *s = zs_get(fd);
    if (s == NULL)
        return -1;
    ssize_t n = s->ops->recvmsg(s, msg, flags);
    zs_put(s);
    return n < 0 ? zs_fail((int)n) : n;
}

ssize_t zsock_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *src,
                       socklen_t *addrlen)
{
    struct iovec iov = {buf, len};
    struct msghdr msg = {.msg_name = src, .msg_namelen = (src && addrlen) ? *addrlen : 0,
                         .msg_iov = &iov, .msg_iovlen = 1};
    ssize_t n = zsock_recvmsg(fd, &msg, flags);
    if (n >= 0 && src && addrlen)
        *addrlen = msg.msg_namelen;
    return n;
}

/* ---- control ------------------------------------------------------------ */

int zsock_fcntl_impl(int fd, int cmd, int flags)
{
    if (cmd != F_GETFL && cmd != F_SETFL)
        return fcntl(fd, cmd, flags); /* F_SETFD & co.: the kernel's business */
    struct zs_sock *s = zs_get(fd);
    if (s == NULL) /* not a zsock socket (POSIX names on a file) */
        return fcntl(fd, cmd, flags);
    int rc;
    if (cmd == F_GETFL) {
        rc = fcntl(fd, F_GETFL);
        if (rc >= 0)
            rc = s->nonblock ? (rc | O_NONBLOCK) : (rc & ~O_NONBLOCK);
    } else {
        /* The kernel socket stays non-blocking: O_NONBLOCK is ours. */
        s->nonblock = (flags & O_NONBLOCK) != 0;
        rc = fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    }
    zs_put(s);
    return rc;
}

/* Zephyr's zsock_ioctl() is variadic and forwards its va_list here. */
int zsock_ioctl_impl(int fd, unsigned long request, va_list ap)
{
    void *arg = va_arg(ap, void *);
    struct zs_sock *s = zs_get(fd);
    if (s == NULL) /* not a zsock socket (POSIX names on a file) */
        return ioctl(fd, request, arg);
    int rc;
    if (request == FIONBIO && arg) {
        s->nonblock = *(int *)arg != 0;
        rc = 0;
    } else if (request == FIONREAD && s->ops->fionread) {
        rc = s->ops->fionread(s, arg);
        if (rc < 0)
            rc = zs_fail(rc);
    } else {
        rc = ioctl(fd, request, arg);
    }
    zs_put(s);
    return rc;
}

static int timeval_ms(const void *val, socklen_t len, int *ms)
{
    if (val == NULL || len < sizeof(struct timeval))
        return -EINVAL;
    const struct timeval *tv = val;
    if (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000)
        return -EDOM;
    int64_t v = (int64_t)tv->tv_sec * 1000 + tv->tv_usec / 1000;
    if (v == 0 && tv->tv_usec > 0)
        v = 1;
    *ms = v == 0 ? -1 : (v > INT32_MAX ? INT32_MAX : (int)v); /* 0: wait forever */
    return 0;
}

int zsock_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
    struct zs_sock *s = zs_get(fd);
    if (s == NULL)
        return -1;
    int rc = 0;
    if (level == SOL_TLS) {
        rc = s->ops->setsockopt ? s->ops->setsockopt(s, name, val, len) : -ENOPROTOOPT;
    } else if (level == SOL_SOCKET && name == SO_RCVTIMEO) {
        rc = timeval_ms(val, len, &s->rcvtimeo_ms);
    } else if (level == SOL_SOCKET && name == SO_SNDTIMEO) {
        rc = timeval_ms(val, len, &s->sndtimeo_ms);
    } else if (setsockopt(fd, level, name, val, len) < 0) {
        rc = -errno;
    }
    zs_put(s);
    return rc < 0 ? zs_fail(rc) : 0;
}

static int put_int(void *val, socklen_t *len, int v)
{
    if (val == NULL || len == NULL || *len < sizeof(int))
        return -EINVAL;
    memcpy(val, &v, sizeof v);
    *len = sizeof v;
    return 0;
}

static int put_timeval(void *val, socklen_t *len, int ms)
{
    if (val == NULL || len == NULL || *len < sizeof(struct timeval))
        return -EINVAL;
    struct timeval tv = {0, 0};
    if (ms > 0) {
        tv.tv_sec = ms / 1000;
        tv.tv_usec = (ms % 1000) * 1000;
    }
    memcpy(val, &tv, sizeof tv);
    *len = sizeof tv;
    return 0;
}

int zsock_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
    struct zs_sock *s = zs_get(fd);
    if (s == NULL)
        return -1;
    int rc = 0;
    if (level == SOL_TLS)
        rc = s->ops->getsockopt ? s->ops->getsockopt(s, name, val, len) : -ENOPROTOOPT;
    else if (level == SOL_SOCKET && name == SO_PROTOCOL)
        rc = put_int(val, len, s->proto); /* IPPROTO_TLS_1_2 … for TLS sockets */
    else if (level == SOL_SOCKET && name == SO_TYPE)
        rc = put_int(val, len, s->type);
    else if (level == SOL_SOCKET && name == SO_RCVTIMEO)
        rc = put_timeval(val, len, s->rcvtimeo_ms);
    else if (level == SOL_SOCKET && name == SO_SNDTIMEO)
        rc = put_timeval(val, len, s->sndtimeo_ms);
    else if (getsockopt(fd, level, name, val, len) < 0)
        rc = -errno;
    zs_put(s);
    return rc < 0 ? zs_fail(rc) : 0;
}

int zsock_getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
    struct zs_sock *s = zs_get(fd);
    if (s == NULL)
        return -1;
    int rc = getsockname(fd, addr, len);
    zs_put(s);
    return rc;
}

int zsock_getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
    struct zs_sock *s = zs_get(fd);
    if (s == NULL)
        return -1;
    int rc = getpeername(fd, addr, len);
    zs_put(s);
    return rc;
}

/* ---- descriptors from elsewhere (zrec/zsock_ext.h) -------------------------- */

/* A kernel socket timeout as zsock keeps it (ms; -1 none). */
static int kernel_timeout_ms(int fd, int name)
{
    struct timeval tv;
    socklen_t len = sizeof tv;
    int ms;
    if (getsockopt(fd, SOL_SOCKET, name, &tv, &len) < 0 || timeval_ms(&tv, len, &ms) < 0)
        return -1;
    return ms;
}

int zrec_zsock_adopt_tls(int kernel_fd, int proto)
{
    if (!zs_is_tls_proto(proto))
        return zs_fail(-EPROTONOSUPPORT);
    struct zs_sock *known = zs_get(kernel_fd);
    if (known) { /* already one of ours: it has its own state */
        zs_put(known);
        return zs_fail(-EEXIST);
    }
    int type, family;
    socklen_t len = sizeof type;
    if (getsockopt(kernel_fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
        return -1; /* EBADF, ENOTSOCK */
    if (type != SOCK_STREAM)
        return zs_fail(-EPROTOTYPE); /* TLS needs a byte stream */
    len = sizeof family;
    if (getsockopt(kernel_fd, SOL_SOCKET, SO_DOMAIN, &family, &len) < 0)
        return -1;
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    if (getpeername(kernel_fd, (struct sockaddr *)&peer, &plen) < 0)
        return -1; /* ENOTCONN: accept() or connect() it first */
    int flags = fcntl(kernel_fd, F_GETFL);
    if (flags < 0)
        return -1;
    /* The application's blocking mode and timeouts become the socket's;
     * the kernel socket itself is non-blocking under every zsock socket. */
    int rcvtimeo = kernel_timeout_ms(kernel_fd, SO_RCVTIMEO);
    int sndtimeo = kernel_timeout_ms(kernel_fd, SO_SNDTIMEO);
    if (!(flags & O_NONBLOCK) && fcntl(kernel_fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return -1;
    struct zs_sock *s = zs_tls_stream_adopt(kernel_fd, family, proto);
    if (s == NULL) {
        int e = errno;
        (void)fcntl(kernel_fd, F_SETFL, flags);
        return zs_fail(-e);
    }
    s->nonblock = (flags & O_NONBLOCK) != 0;
    s->rcvtimeo_ms = rcvtimeo;
    s->sndtimeo_ms = sndtimeo;
    return 0;
}

int zrec_zsock_tls_handshake(int fd, int role)
{
    if (role != TLS_DTLS_ROLE_CLIENT && role != TLS_DTLS_ROLE_SERVER)
        return zs_fail(-EINVAL);
    struct zs_sock *s = zs_get(fd);
    if (s == NULL)
        return -1;
    int rc = zs_tls_stream_handshake(s, role == TLS_DTLS_ROLE_SERVER);
    zs_put(s);
    return rc < 0 ? zs_fail(rc) : 0;
}

/* ---- poll --------------------------------------------------------------- */

/* TLS sockets may have data ready that the kernel no longer shows (already
 * read and decrypted), or kernel readability that is only part of a record.
 * Each round asks the TLS layer first, then waits on the kernel for what it
 * says it needs, and asks again when the kernel wakes us. */
int zsock_poll(struct zsock_pollfd *fds, int nfds, int timeout)
{
    if (nfds < 0 || (nfds > 0 && fds == NULL))
        return zs_fail(-EINVAL);
    struct pollfd local[64];
    struct pollfd *kp = nfds <= 64 ? local : calloc((size_t)nfds, sizeof *kp);
    struct zs_sock **socks = calloc((size_t)(nfds ? nfds : 1), sizeof *socks);
    if (kp == NULL || socks == NULL) {
        if (kp != local)
            free(kp);
        free(socks);
        return zs_fail(-ENOMEM);
    }
    int64_t deadline = zs_deadline(timeout);
    for (int i = 0; i < nfds; i++) {
        socks[i] = fds[i].fd >= 0 ? zs_get(fds[i].fd) : NULL;
        /* Only sockets whose layer knows more than the kernel (connected
         * TLS and DTLS sockets) need their poll_ready. */
        if (socks[i] && (!socks[i]->ops->poll_ready ||
                         (socks[i]->ops->poll_passthrough &&
                          socks[i]->ops->poll_passthrough(socks[i])))) {
            zs_put(socks[i]);
            socks[i] = NULL;
        }
    }
    int ready;
    for (;;) {
        ready = 0;
        for (int i = 0; i < nfds; i++) {
            fds[i].revents = 0;
            kp[i] = (struct pollfd){fds[i].fd, fds[i].events, 0};
            struct zs_sock *s = socks[i];
            if (s) {
                short kev = 0;
                short r = s->ops->poll_ready(s, fds[i].events, &kev);
                if (r) {
                    fds[i].revents = r;
                    ready++;
                }
                kp[i].events = kev;
                if (kev == 0)
                    kp[i].fd = -1;
            }
        }
        int64_t until = deadline;
        for (int i = 0; i < nfds && !ready; i++) {
            /* Wake for a DTLS handshake's retransmission timer too. */
            int64_t at = socks[i] && socks[i]->ops->next_timer
                             ? socks[i]->ops->next_timer(socks[i])
                             : -1;
            if (at >= 0 && (until < 0 || at < until))
                until = at;
        }
        int wait = ready ? 0 : until < 0 ? -1 : (int)(until - zs_now_ms());
        if (wait < -1)
            wait = 0;
        if (!ready && until >= 0 && wait <= 0)
            wait = 0;
        int n = poll(kp, (nfds_t)nfds, wait);
        if (n < 0 && errno != EINTR) {
            ready = -1;
            break;
        }
        bool tls_woke = false;
        for (int i = 0; n > 0 && i < nfds; i++) {
            if (kp[i].fd < 0 || kp[i].revents == 0)
                continue;
            if (socks[i]) {
                /* Kernel activity on a TLS socket: re-ask the TLS layer. */
                if (fds[i].revents == 0)
                    tls_woke = true;
                if (kp[i].revents & (POLLNVAL))
                    fds[i].revents |= POLLNVAL;
                continue;
            }
            if (fds[i].revents == 0)
                ready++;
            fds[i].revents |= kp[i].revents;
        }
        if (tls_woke) {
            for (int i = 0; i < nfds; i++) {
                struct zs_sock *s = socks[i];
                if (!(s && fds[i].revents == 0 && kp[i].revents))
                    continue;
                short kev;
                short r = s->ops->poll_ready(s, fds[i].events, &kev);
                if (r) {
                    fds[i].revents = r;
                    ready++;
                }
            }
        }
        if (ready || (timeout >= 0 && zs_now_ms() >= deadline))
            break;
    }
    for (int i = 0; i < nfds; i++)
        if (socks[i])
            zs_put(socks[i]);
    if (kp != local)
        free(kp);
    free(socks);
    return ready;
}
