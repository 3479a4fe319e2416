/*
 * The bottom of the facade (docs/FACADE.md): zsock socket objects, the fd
 * side table with its references, waiting with deadlines, the clock.
 *
 * Every kernel socket is O_NONBLOCK; zsock-level blocking (with
 * SO_RCVTIMEO / SO_SNDTIMEO and MSG_DONTWAIT) is a poll() loop (zs_wait).
 * That gives Zephyr's semantics that Linux lacks: close() from another
 * thread wakes a blocked accept()/recv(), which then fails with EINTR.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "zs_internal.h"

#define ZS_MAX_FD 65536

/* One slot per fd number, never freed.  A lookup takes the slot's
 * reference before it reads the socket pointer, so it needs no lock: if it
 * sees the socket, close() (which clears the pointer, then waits for the
 * count) sees its reference and waits for it; if it sees NULL, it gives the
 * reference back.  Counting per slot, not per socket object, is what makes
 * this safe: the count outlives the object (sequentially consistent atomics
 * order "count, then read" against "clear, then wait"). */
struct zs_slot {
    _Atomic(struct zs_sock *) sock;
    atomic_int refs; /* the table's (while registered) + one per call in progress */
};
static struct zs_slot slots[ZS_MAX_FD];

struct zs_sock *zs_get(int fd)
{
    if (fd < 0 || fd >= ZS_MAX_FD) {
        errno = EBADF;
        return NULL;
    }
    struct zs_slot *sl = &slots[fd];
    atomic_fetch_add(&sl->refs, 1);
    struct zs_sock *s = atomic_load(&sl->sock);
    if (s == NULL) {
        atomic_fetch_sub(&sl->refs, 1);
        errno = EBADF;
    }
    return s;
}

void zs_put(struct zs_sock *s)
{
    atomic_fetch_sub(&slots[s->fd].refs, 1);
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
    s->ops = &zs_plain_ops;
    atomic_init(&s->closing, false);
    pthread_mutex_init(&s->lock, NULL);
    /* The kernel just gave out fd: no other socket holds the slot. */
    atomic_fetch_add(&slots[fd].refs, 1); /* the table's */
    atomic_store(&slots[fd].sock, s);
    return s;
}

int64_t zs_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A clock for bookkeeping that needs no precision (a peer's last activity):
 * CLOCK_MONOTONIC_COARSE, a few milliseconds, read without the TSC. */
int64_t zs_coarse_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
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

/* Take fd out of the table (new calls fail with EBADF); false when another
 * close() did first.  The caller holds a reference (zs_get). */
bool zs_unregister(struct zs_sock *s)
{
    struct zs_sock *expected = s;
    return atomic_compare_exchange_strong(&slots[s->fd].sock, &expected, NULL);
}

/* The last references: the table's is gone (zs_unregister); calls in
 * progress in other threads are woken (they return EINTR) and waited for,
 * then the layer above lets go (ops->destroy), the kernel socket closes and
 * the object is freed. */
int zs_close_sock(struct zs_sock *s)
{
    struct zs_slot *sl = &slots[s->fd];
    atomic_fetch_sub(&sl->refs, 1); /* the table's reference */
    if (atomic_load(&sl->refs) > 1) {
        atomic_store(&s->closing, true);
        shutdown(s->fd, SHUT_RDWR);
        /* Calls in progress, and lookups that found the slot empty and are
         * giving their reference back. */
        while (atomic_load(&sl->refs) > 1)
            sched_yield();
    }
    if (s->ops->destroy)
        s->ops->destroy(s); /* TLS: close_notify where the connection still allows it */
    /* The caller's reference goes before the kernel fd: once it is closed
     * the number may name a new socket, whose slot count must start clean. */
    atomic_fetch_sub(&sl->refs, 1);
    int rc = close(s->fd);
    pthread_mutex_destroy(&s->lock);
    free(s);
    return rc;
}
