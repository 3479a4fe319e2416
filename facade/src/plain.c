/*
 * Plain TCP/UDP zsock sockets (docs/FACADE.md): the ops table of a socket
 * that is not TLS, and the connect / accept steps the TLS stream reuses.
 * Blocking is emulated over the non-blocking kernel socket (fdtable.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "zs_internal.h"

/* A TCP/UDP connect with zsock blocking semantics (the TLS stream's too). */
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

/* accept4() with zsock blocking semantics: the new kernel fd (not yet a
 * zsock socket), or -errno. */
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

ssize_t zs_plain_sendmsg(struct zs_sock *s, const struct msghdr *msg, int flags)
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

ssize_t zs_plain_recvmsg(struct zs_sock *s, struct msghdr *msg, int flags)
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

static int plain_listen(struct zs_sock *s, int backlog)
{
    return listen(s->fd, backlog) < 0 ? -errno : 0;
}

static int plain_accept(struct zs_sock *s, struct sockaddr *addr, socklen_t *len)
{
    int fd = zs_plain_accept(s, addr, len);
    if (fd >= 0 && zs_register(fd, s->family, s->type, s->proto) == NULL) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

static int plain_shutdown(struct zs_sock *s, int how)
{
    return shutdown(s->fd, how) < 0 ? -errno : 0;
}

const struct zs_ops zs_plain_ops = {
    .connect = zs_plain_connect,
    .listen = plain_listen,
    .accept = plain_accept,
    .sendmsg = zs_plain_sendmsg,
    .recvmsg = zs_plain_recvmsg,
    .shutdown = plain_shutdown,
};
