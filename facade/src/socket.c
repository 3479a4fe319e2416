/*
 * zsock sockets on Linux: the fd side table, plain TCP/UDP calls, poll,
 * socket options; TLS/DTLS sockets hand over to tls.c.
 *
 * Every kernel socket is O_NONBLOCK; zsock-level blocking (with
 * SO_RCVTIMEO / SO_SNDTIMEO and MSG_DONTWAIT) is a poll() loop here.  That
 * gives Zephyr's semantics that Linux lacks: close() from another thread
 * wakes a blocked accept()/recv(), which then fails with EINTR.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <zephyr/net/socket.h>

#include "zs_internal.h"

/* ---- fd side table ------------------------------------------------------ */

#define ZS_MAX_FD 65536

static struct zs_sock *table[ZS_MAX_FD];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

struct zs_sock *zs_get(int fd)
{
    if (fd < 0 || fd >= ZS_MAX_FD) {
        errno = EBADF;
        return NULL;
    }
    pthread_mutex_lock(&table_lock);
    struct zs_sock *s = table[fd];
    if (s)
        atomic_fetch_add(&s->refs, 1);
    pthread_mutex_unlock(&table_lock);
    if (s == NULL)
        errno = EBADF;
    return s;
}

void zs_put(struct zs_sock *s)
{
    atomic_fetch_sub(&s->refs, 1);
}

struct zs_sock *zs_register(int fd, int family, int type, int proto)
{
    if (fd >= ZS_MAX_FD) {
        errno = EMFILE;
        return NULL;
    }
    struct zs_sock *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->fd = fd;
    s->family = family;
    s->type = type;
    s->proto = proto;
    s->rcvtimeo_ms = -1;
    s->sndtimeo_ms = -1;
    atomic_init(&s->refs, 1); /* the table's */
    atomic_init(&s->closing, false);
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_lock(&table_lock);
    table[fd] = s;
    pthread_mutex_unlock(&table_lock);
    return s;
}

int64_t zs_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t zs_deadline(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : zs_now_ms() + timeout_ms;
}

int zs_wait(struct zs_sock *s, short events, int64_t deadline_ms)
{
    for (;;) {
        if (atomic_load(&s->closing))
            return -EINTR;
        int timeout = -1;
        if (deadline_ms >= 0) {
            int64_t left = deadline_ms - zs_now_ms();
            if (left <= 0)
                return -EAGAIN;
            timeout = left > INT32_MAX ? INT32_MAX : (int)left;
        }
        struct pollfd p = {s->fd, events, 0};
        int n = poll(&p, 1, timeout);
        if (atomic_load(&s->closing))
            return -EINTR;
        if (n > 0)
            return 0; /* ready, or an error/hangup the caller's call will report */
        if (n == 0)
            return -EAGAIN;
        if (errno != EINTR)
            return -errno;
    }
}

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
        int rc = zs_tls_create(s);
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
    pthread_mutex_lock(&table_lock);
    bool mine = table[fd] == s;
    if (mine)
        table[fd] = NULL; /* new calls now fail with EBADF */
    pthread_mutex_unlock(&table_lock);
    if (!mine) { /* another close() won the race */
        zs_put(s);
        return zs_fail(-EBADF);
    }
    atomic_fetch_sub(&s->refs, 1); /* the table's reference */
    if (atomic_load(&s->refs) > 1) {
        /* Calls in progress in other threads: wake them (they return
         * EINTR) and wait for them to leave before freeing the socket. */
        atomic_store(&s->closing, true);
        shutdown(fd, SHUT_RDWR);
        while (atomic_load(&s->refs) > 1)
            sched_yield();
    }
    if (s->tls)
        zs_tls_destroy(s); /* close_notify where the connection still allows it */
    int rc = close(fd);
    pthread_mutex_destroy(&s->lock);
    free(s);
    return rc;
}

int zsock_shutdown(int fd, int how)
{
    struct zs_sock *s = zs_get(fd);
    if (s == NULL)
        return -1;
    int rc = s->tls ? zs_tls_shutdown(s, how) : (shutdown(fd, how) < 0 ? -errno : 0);
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
    int rc = s->tls ? zs_tls_listen(s, backlog) : (listen(fd, backlog) < 0 ? -errno : 0);
    zs_put(s);
    return rc < 0 ? zs_fail(rc) : 0;
}

/* A TCP/UDP connect with zsock blocking semantics (shared with tls.c through
 * zs_tls_connect's own use of this path). */
int zs_plain_connect(struct zs_sock *s, const struct sockaddr *addr, socklen_t len)
{
    if (connect(s->fd, addr, len) == 0)
        return 0;
    if (errno != EINPROGRESS)
        return -errno;
    if (s->nonblock)
        return -EINPROGRESS;
    /* Blocking connect: wait for the three-way handshake (Zephyr bounds it
     * by CONFIG_NET_SOCKETS_CONNECT_TIMEOUT, 3 s by default). */
    int rc = zs_wait(s, POLLOUT, zs_deadline(3000));
    if (rc == -EAGAIN)
        return -ETIMEDOUT;
    if (rc < 0)
        return rc;
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
        return -errno;
    return -err;
}

int zsock_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    struct zs_sock *s = zs_get(fd);
    if (s == NULL)
        return -1;
    int rc = s->tls ? zs_tls_connect(s, addr, len) : zs_plain_connect(s, addr, len);
    zs_put(s);
    return rc < 0 ? zs_fail(rc) : 0;
}

int zs_plain_accept(struct zs_sock *s, struct sockaddr *addr, socklen_t *len)
{
    int64_t deadline = zs_deadline(s->rcvtimeo_ms);
    for (;;) {
        int fd = accept4(s->fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0)
            return fd;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return atomic_load(&s->closing) ? -EINTR : -errno;
        if (s->nonblock)
            return -EAGAIN;
        int rc = zs_wait(s, POLLIN, deadline);
        if (rc < 0)
            return rc;
    }
}

int zsock_accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    struct zs_sock *s = zs_get(fd);
    if (s == NULL)
        return -1;
    int rc;
    if (s->tls) {
        rc = zs_tls_accept(s, addr, len);
    } else {
        rc = zs_plain_accept(s, addr, len);
        if (rc >= 0 && zs_register(rc, s->family, s->type, s->proto) == NULL) {
            int e = errno;
            close(rc);
            rc = -e;
        }
    }
    zs_put(s);
    return rc < 0 ? zs_fail(rc) : rc;
}

/* ---- data --------------------------------------------------------------- */

static ssize_t plain_sendmsg(struct zs_sock *s, const struct msghdr *msg, int flags)
{
    bool dontwait = s->nonblock || (flags & MSG_DONTWAIT);
    int64_t deadline = zs_deadline(s->sndtimeo_ms);
    for (;;) {
        ssize_t n = sendmsg(s->fd, msg, flags | MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n >= 0)
            return n;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return atomic_load(&s->closing) ? -EINTR : -errno;
        if (dontwait)
            return -EAGAIN;
        int rc = zs_wait(s, POLLOUT, deadline);
        if (rc < 0)
            return rc;
    }
}

static ssize_t plain_recvmsg(struct zs_sock *s, struct msghdr *msg, int flags)
{
    bool dontwait = s->nonblock || (flags & MSG_DONTWAIT);
    int64_t deadline = zs_deadline(s->rcvtimeo_ms);
    size_t want = 0, got = 0;
    for (size_t i = 0; i < (size_t)msg->msg_iovlen; i++)
        want += msg->msg_iov[i].iov_len;
    /* MSG_WAITALL on a stream: the kernel cannot wait for us (the fd is
     * non-blocking), so gather here until full, EOF or error. */
    bool waitall = (flags & MSG_WAITALL) && s->type == SOCK_STREAM && !(flags & MSG_PEEK);
    flags &= ~(MSG_WAITALL | MSG_DONTWAIT);
    for (;;) {
        struct msghdr m = *msg;
        struct iovec iov[64];
        if (got > 0) {
            /* Continue after what we already have. */
            size_t skip = got;
            int n = 0;
            for (size_t i = 0; i < (size_t)msg->msg_iovlen && n < 64; i++) {
                struct iovec v = msg->msg_iov[i];
                if (skip >= v.iov_len) {
                    skip -= v.iov_len;
                    continue;
                }
                iov[n++] = (struct iovec){(char *)v.iov_base + skip, v.iov_len - skip};
                skip = 0;
            }
            m.msg_iov = iov;
            m.msg_iovlen = (size_t)n;
        }
        ssize_t n = recvmsg(s->fd, &m, flags | MSG_DONTWAIT);
        if (n > 0) {
            got += (size_t)n;
            if (got > 0 && m.msg_iov == msg->msg_iov)
                msg->msg_flags = m.msg_flags;
            if (!waitall || got >= want)
                return (ssize_t)got;
            continue;
        }
        if (n == 0)
            return (ssize_t)got; /* EOF (or an empty datagram) */
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return got ? (ssize_t)got : (atomic_load(&s->closing) ? -EINTR : -errno);
        if (dontwait)
            return got ? (ssize_t)got : -EAGAIN;
        int rc = zs_wait(s, POLLIN, deadline);
        if (rc < 0)
            return got ? (ssize_t)got : rc;
    }
}

ssize_t zsock_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    struct zs_sock *s = zs_get(fd);
    if (s == NULL)
        return -1;
    ssize_t n = s->tls ? zs_tls_sendmsg(s, msg, flags) : plain_sendmsg(s, msg, flags);
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
    ssize_t n = s->tls ? zs_tls_recvmsg(s, msg, flags) : plain_recvmsg(s, msg, flags);
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
    } else if (request == FIONREAD && s->tls) {
        rc = zs_tls_fionread(s, arg);
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
        rc = s->tls ? zs_tls_setsockopt(s, name, val, len) : -ENOPROTOOPT;
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
        rc = s->tls ? zs_tls_getsockopt(s, name, val, len) : -ENOPROTOOPT;
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
        /* Only connected TLS sockets need the TLS layer's view. */
        if (socks[i] && (!socks[i]->tls || zs_tls_poll_passthrough(socks[i]))) {
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
            if (s && s->tls) {
                short kev = 0;
                short r = zs_tls_poll_ready(s, fds[i].events, &kev);
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
            int64_t at = socks[i] && socks[i]->tls ? zs_tls_next_timer(socks[i]) : -1;
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
            if (socks[i] && socks[i]->tls) {
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
                if (!(s && s->tls && fds[i].revents == 0 && kp[i].revents))
                    continue;
                short kev;
                short r = zs_tls_poll_ready(s, fds[i].events, &kev);
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
