/* libzrec-zsock internals shared by socket.c (fd side table, plain sockets,
 * poll, options) and tls.c (TLS/DTLS). */
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
    atomic_int refs;   /* the table's reference + one per call in progress */
    atomic_bool closing;
    pthread_mutex_t lock; /* protects the TLS state; never held across a wait */
    struct zs_tls *tls;   /* NULL for plain sockets */
};

/* Look a socket up and take a reference (NULL + EBADF if it is not one of
 * ours).  Every zs_get() is paired with zs_put(). */
struct zs_sock *zs_get(int fd);
void zs_put(struct zs_sock *s);
/* Register a new socket for fd (the kernel socket already exists). */
struct zs_sock *zs_register(int fd, int family, int type, int proto);

/* Wait until fd has `events` (POLLIN / POLLOUT) or the deadline passes.
 * Returns 0 when ready, -EAGAIN on timeout, -EINTR when the socket is being
 * closed, -errno on failure.  deadline_ms: absolute (zs_now_ms()), or -1. */
int zs_wait(struct zs_sock *s, short events, int64_t deadline_ms);
int64_t zs_now_ms(void);
int64_t zs_deadline(int timeout_ms); /* -1 stays -1 */

/* errno-style return helper: sets errno from a negative value, returns -1. */
static inline int zs_fail(int neg_errno)
{
    errno = -neg_errno;
    return -1;
}

/* ---- TLS (tls.c) ---- */

bool zs_is_tls_proto(int proto);
bool zs_is_dtls_proto(int proto);
int zs_tls_create(struct zs_sock *s);           /* at socket() */
void zs_tls_destroy(struct zs_sock *s);          /* at close(); sends close_notify */
int zs_tls_setsockopt(struct zs_sock *s, int name, const void *val, socklen_t len);
int zs_tls_getsockopt(struct zs_sock *s, int name, void *val, socklen_t *len);
int zs_tls_connect(struct zs_sock *s, const struct sockaddr *addr, socklen_t len);
int zs_tls_listen(struct zs_sock *s, int backlog);
int zs_tls_accept(struct zs_sock *s, struct sockaddr *addr, socklen_t *len);
ssize_t zs_tls_sendmsg(struct zs_sock *s, const struct msghdr *msg, int flags);
ssize_t zs_tls_recvmsg(struct zs_sock *s, struct msghdr *msg, int flags);
int zs_tls_shutdown(struct zs_sock *s, int how);
/* poll support: events the TLS layer can report without the kernel (data
 * already decrypted, peer closed, fatal error), after a non-blocking pump;
 * and the kernel events to wait for otherwise. */
short zs_tls_poll_ready(struct zs_sock *s, short want, short *kernel_events);
/* A TLS socket whose readiness is the kernel's (listening, or not yet
 * connected): poll treats it like a plain socket. */
bool zs_tls_poll_passthrough(struct zs_sock *s);
int zs_tls_fionread(struct zs_sock *s, int *avail);
/* When the TLS layer needs to run without kernel activity (a DTLS
 * handshake's retransmission timer): absolute zs_now_ms() time, or -1. */
int64_t zs_tls_next_timer(struct zs_sock *s);

#endif
