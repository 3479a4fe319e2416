/* libzrec-zsock internals (docs/FACADE.md): the socket object and its ops
 * table, the fd side table and waiting (fdtable.c), plain sockets
 * (plain.c), and what the API layer (socket.c) calls in the TLS layers. */
#ifndef ZS_INTERNAL_H
#define ZS_INTERNAL_H

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct zs_tls;
struct zs_sock;

/* What a kind of socket does (plain, TLS stream, DTLS), chosen at socket()
 * like Zephyr's fd vtables.  Negative errno returns.  NULL members: the
 * option level is not the kind's (setsockopt/getsockopt: ENOPROTOOPT), the
 * kernel's readiness and FIONREAD are the socket's (poll_ready, fionread),
 * nothing to let go at close() (destroy), no timers (next_timer). */
struct zs_ops {
    int (*connect)(struct zs_sock *s, const struct sockaddr *addr, socklen_t len);
    int (*listen)(struct zs_sock *s, int backlog);
    int (*accept)(struct zs_sock *s, struct sockaddr *addr, socklen_t *len);
    ssize_t (*sendmsg)(struct zs_sock *s, const struct msghdr *msg, int flags);
    ssize_t (*recvmsg)(struct zs_sock *s, struct msghdr *msg, int flags);
    int (*shutdown)(struct zs_sock *s, int how);
    void (*destroy)(struct zs_sock *s);
    int (*setsockopt)(struct zs_sock *s, int name, const void *val, socklen_t len); /* SOL_TLS */
    int (*getsockopt)(struct zs_sock *s, int name, void *val, socklen_t *len);       /* SOL_TLS */
    /* poll: events the layer can report without the kernel (data already
     * decrypted, peer closed, fatal error) after a non-blocking pump, and
     * the kernel events to wait for otherwise. */
    short (*poll_ready)(struct zs_sock *s, short want, short *kernel_events);
    /* Whether, right now, the kernel's readiness is the socket's
     * (listening, or not yet connected): poll skips poll_ready then. */
    bool (*poll_passthrough)(struct zs_sock *s);
    int (*fionread)(struct zs_sock *s, int *avail);
    /* When the layer needs to run without kernel activity (a DTLS
     * handshake's retransmission timer): absolute zs_now_ms() time, or -1. */
    int64_t (*next_timer)(struct zs_sock *s);
};

/* One zsock socket.  The zsock fd *is* the kernel fd; the kernel socket is
 * always O_NONBLOCK underneath, and blocking behaviour (with SO_RCVTIMEO /
 * SO_SNDTIMEO) is emulated with poll(), so that close() from another thread
 * can wake a blocked call (shutdown() wakes the poll; the call sees
 * `closing` and fails with EINTR, as Zephyr's sockets do). */
struct zs_sock {
    int fd;
    int family;
    int type;          /* SOCK_STREAM / SOCK_DGRAM */
    int proto;         /* as given to socket(): IPPROTO_TLS_1_2 …, or the plain one */
    bool nonblock;     /* the zsock-level O_NONBLOCK */
    int rcvtimeo_ms;   /* -1: none */
    int sndtimeo_ms;
    atomic_bool closing;
    pthread_mutex_t lock; /* protects the TLS state; never held across a wait */
    const struct zs_ops *ops;
    struct zs_tls *tls;   /* NULL for plain sockets */
};

/* Look a socket up and take a reference (NULL + EBADF if it is not one of
 * ours).  Every zs_get() is paired with zs_put(). */
struct zs_sock *zs_get(int fd);
void zs_put(struct zs_sock *s);
/* Register a new socket for fd (the kernel socket already exists), with
 * the plain ops; a TLS layer replaces them. */
struct zs_sock *zs_register(int fd, int family, int type, int proto);
/* close(): take the socket out of the table (false: another close() did),
 * then, holding the caller's reference, let it go for good (wakes and
 * waits for calls in progress, ops->destroy, close(2), free). */
bool zs_unregister(struct zs_sock *s);
int zs_close_sock(struct zs_sock *s);

/* Wait until fd has `events` (POLLIN / POLLOUT) or the deadline passes.
 * Returns 0 when ready, -EAGAIN on timeout, -EINTR when the socket is being
 * closed, -errno on failure.  deadline_ms: absolute (zs_now_ms()), or -1. */
int zs_wait(struct zs_sock *s, short events, int64_t deadline_ms);
int64_t zs_now_ms(void);
int64_t zs_coarse_ms(void); /* a few ms of resolution, cheaper: bookkeeping only */
int64_t zs_deadline(int timeout_ms); /* -1 stays -1 */

/* A call's timeout, read off the clock only when first needed: a call that
 * finds its data (or room) at once costs no clock read. */
struct zs_timeout {
    int ms;     /* SO_RCVTIMEO / SO_SNDTIMEO; -1: none */
    bool set;
    int64_t at; /* once set: the absolute deadline, or -1 */
};
static inline int64_t zs_timeout_at(struct zs_timeout *t)
{
    if (!t->set) {
        t->at = zs_deadline(t->ms);
        t->set = true;
    }
    return t->at;
}

/* The bytes a msghdr's iovecs hold. */
static inline size_t zs_iov_len(const struct msghdr *msg)
{
    size_t n = 0;
    for (size_t i = 0; i < (size_t)msg->msg_iovlen; i++)
        n += msg->msg_iov[i].iov_len;
    return n;
}

/* errno-style return helper: sets errno from a negative value, returns -1. */
static inline int zs_fail(int neg_errno)
{
    errno = -neg_errno;
    return -1;
}

/* ---- plain sockets (plain.c) ---- */

extern const struct zs_ops zs_plain_ops;
/* Steps the TLS stream reuses: connect with zsock blocking semantics (Zephyr
 * bounds a blocking one by 3 s), and accept4() to a bare kernel fd. */
int zs_plain_connect(struct zs_sock *s, const struct sockaddr *addr, socklen_t len);
int zs_plain_accept(struct zs_sock *s, struct sockaddr *addr, socklen_t *len);
ssize_t zs_plain_sendmsg(struct zs_sock *s, const struct msghdr *msg, int flags);
ssize_t zs_plain_recvmsg(struct zs_sock *s, struct msghdr *msg, int flags);

/* ---- TLS and DTLS sockets ---- */

bool zs_is_tls_proto(int proto);  /* tls_conf.c */
bool zs_is_dtls_proto(int proto);
/* At socket(): TLS state and the kind's ops. */
int zs_tls_stream_create(struct zs_sock *s); /* tls_stream.c */
int zs_dtls_create(struct zs_sock *s);       /* dtls.c */
/* zrec_zsock_adopt_tls(): register the connected kernel stream socket fd
 * as a TLS stream socket (NULL + errno; fd untouched then). */
struct zs_sock *zs_tls_stream_adopt(int fd, int family, int proto);
/* zrec_zsock_tls_handshake(): start or continue the handshake as server or
 * client; 0 done, -EAGAIN in progress, -errno failed (-EOPNOTSUPP: not a
 * TLS stream socket). */
int zs_tls_stream_handshake(struct zs_sock *s, bool server);

#endif
