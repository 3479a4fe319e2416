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
    s->ops = &zs_plain_ops;
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
    pthread_mutex_lock(&table_lock);
    bool mine = table[s->fd] == s;
    if (mine)
        table[s->fd] = NULL;
    pthread_mutex_unlock(&table_lock);
    return mine;
}

/* The last references: the table's is gone (zs_unregister); calls in
 * progress in other threads are woken (they return EINTR) and waited for,
 * then the layer above lets go (ops->destroy), the kernel socket closes and
 * the object is freed. */
int zs_close_sock(struct zs_sock *s)
{
    atomic_fetch_sub(&s->refs, 1); /* the table's reference */
    if (atomic_load(&s->refs) > 1) {
        atomic_store(&s->closing, true);
        shutdown(s->fd, SHUT_RDWR);
        while (atomic_load(&s->refs) > 1)
            sched_yield();
    }
    if (s->ops->destroy)
        s->ops->destroy(s); /* TLS: close_notify where the connection still allows it */
    int rc = close(s->fd);
    pthread_mutex_destroy(&s->lock);
    free(s);
    return rc;
}
