/* zsock-api-select: zsock_select() (facade/src/zsock_util.c, built on
 * zsock_poll()) on plain kernel sockets - a UNIX socketpair and a TCP
 * loopback pair made with glibc's calls, so only select() is under test.
 * Semantics expected: POSIX select() as Linux implements it. */
#include <pthread.h>
#include <time.h>

#include <zephyr/net/socket.h>

#include "common.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int count_set(const zsock_fd_set *s)
{
    int n = 0;
    for (int fd = 0; fd < ZSOCK_FD_SETSIZE; fd++)
        n += FD_ISSET(fd, s) ? 1 : 0;
    return n;
}

static void test_timeout(int a)
{
    zsock_fd_set r;
    ZSOCK_FD_ZERO(&r);
    ZSOCK_FD_SET(a, &r);
    struct zsock_timeval tv = {.tv_sec = 0, .tv_usec = 60000};
    int64_t t0 = now_ms();
    int rc = zsock_select(a + 1, &r, NULL, NULL, &tv);
    int64_t dt = now_ms() - t0;
    CHECK(rc == 0, "idle socket: select %d errno %d", rc, errno);
    CHECK(!ZSOCK_FD_ISSET(a, &r), "timeout clears the set");
    CHECK(dt >= 59 && dt < 2000, "waited %lld ms for a 60 ms timeout", (long long)dt);
    CHECK(tv.tv_sec == 0 && tv.tv_usec == 60000, "timeout not modified");

    /* Sub-millisecond timeouts round up, never to a busy "return now". */
    tv = (struct zsock_timeval){.tv_sec = 0, .tv_usec = 1};
    ZSOCK_FD_SET(a, &r);
    CHECK(zsock_select(a + 1, &r, NULL, NULL, &tv) == 0, "1 us timeout");

    /* Zero timeout polls. */
    tv = (struct zsock_timeval){0};
    ZSOCK_FD_SET(a, &r);
    t0 = now_ms();
    CHECK(zsock_select(a + 1, &r, NULL, NULL, &tv) == 0 && now_ms() - t0 < 50, "zero timeout");
}

static void test_ready(int a, int b)
{
    zsock_fd_set r, w;
    struct zsock_timeval tv = {.tv_sec = 5};

    /* Both ends writable, nothing readable. */
    ZSOCK_FD_ZERO(&r);
    ZSOCK_FD_ZERO(&w);
    ZSOCK_FD_SET(a, &r);
    ZSOCK_FD_SET(b, &r);
    ZSOCK_FD_SET(a, &w);
    ZSOCK_FD_SET(b, &w);
    int nfds = (a > b ? a : b) + 1;
    int rc = zsock_select(nfds, &r, &w, NULL, &tv);
    CHECK(rc == 2, "two writable, got %d", rc);
    CHECK(count_set(&r) == 0 && ZSOCK_FD_ISSET(a, &w) && ZSOCK_FD_ISSET(b, &w), "sets");

    /* b writes: a readable.  The count is over all sets: a in r, a and b in w. */
    CHECK(write(b, "z", 1) == 1, "write");
    ZSOCK_FD_ZERO(&r);
    ZSOCK_FD_ZERO(&w);
    ZSOCK_FD_SET(a, &r);
    ZSOCK_FD_SET(b, &r);
    ZSOCK_FD_SET(a, &w);
    ZSOCK_FD_SET(b, &w);
    rc = zsock_select(nfds, &r, &w, NULL, &tv);
    CHECK(rc == 3, "a readable + 2 writable = 3, got %d", rc);
    CHECK(ZSOCK_FD_ISSET(a, &r) && !ZSOCK_FD_ISSET(b, &r), "only a readable");
    CHECK(count_set(&r) == 1 && count_set(&w) == 2, "no other bits");

    /* NULL timeout: returns at once when ready. */
    ZSOCK_FD_ZERO(&r);
    ZSOCK_FD_SET(a, &r);
    CHECK(zsock_select(a + 1, &r, NULL, NULL, NULL) == 1 && ZSOCK_FD_ISSET(a, &r), "NULL tv");
    char c;
    CHECK(read(a, &c, 1) == 1 && c == 'z', "drain");

    /* Descriptors at or above nfds are not examined. */
    ZSOCK_FD_ZERO(&w);
    ZSOCK_FD_SET(b, &w);
    tv = (struct zsock_timeval){0};
    CHECK(zsock_select(b, NULL, &w, NULL, &tv) == 0, "fd == nfds ignored");
}

static void test_peer_closed(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
    close(sv[1]);
    /* A closed peer makes the socket readable (recv() then returns 0). */
    zsock_fd_set r;
    ZSOCK_FD_ZERO(&r);
    ZSOCK_FD_SET(sv[0], &r);
    struct zsock_timeval tv = {.tv_sec = 5};
    CHECK(zsock_select(sv[0] + 1, &r, NULL, NULL, &tv) == 1 && ZSOCK_FD_ISSET(sv[0], &r),
          "hang-up is readable");
    close(sv[0]);
}

static void test_except(void)
{
    /* Out-of-band TCP data raises POLLPRI: the exception set. */
    int l = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(l >= 0, "socket");
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    CHECK(bind(l, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(l, 1) == 0 &&
              getsockname(l, (struct sockaddr *)&sa, &sl) == 0,
          "listen");
    int c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(c, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect");
    int s = accept(l, NULL, NULL);
    CHECK(s >= 0, "accept");

    zsock_fd_set e;
    struct zsock_timeval tv = {.tv_sec = 0, .tv_usec = 20000};
    ZSOCK_FD_ZERO(&e);
    ZSOCK_FD_SET(s, &e);
    CHECK(zsock_select(s + 1, NULL, NULL, &e, &tv) == 0, "no OOB yet");

    CHECK(send(c, "!", 1, MSG_OOB) == 1, "send OOB");
    ZSOCK_FD_ZERO(&e);
    ZSOCK_FD_SET(s, &e);
    tv = (struct zsock_timeval){.tv_sec = 5};
    CHECK(zsock_select(s + 1, NULL, NULL, &e, &tv) == 1 && ZSOCK_FD_ISSET(s, &e),
          "OOB data is exceptional");
    close(s);
    close(c);
    close(l);
}

static void test_errors(int a)
{
    zsock_fd_set r;
    ZSOCK_FD_ZERO(&r);
    ZSOCK_FD_SET(a, &r);
    zsock_fd_set saved = r;
    struct zsock_timeval tv = {.tv_sec = 0};

    errno = 0;
    CHECK(zsock_select(ZSOCK_FD_SETSIZE + 1, &r, NULL, NULL, &tv) == -1 && errno == EINVAL,
          "nfds > ZSOCK_FD_SETSIZE: errno %d", errno);
    errno = 0;
    CHECK(zsock_select(-1, &r, NULL, NULL, &tv) == -1 && errno == EINVAL, "nfds < 0");
    tv.tv_usec = -1;
    errno = 0;
    CHECK(zsock_select(a + 1, &r, NULL, NULL, &tv) == -1 && errno == EINVAL, "tv_usec < 0");
    tv = (struct zsock_timeval){.tv_sec = 0, .tv_usec = 1000000};
    errno = 0;
    CHECK(zsock_select(a + 1, &r, NULL, NULL, &tv) == -1 && errno == EINVAL,
          "tv_usec >= 1000000");
    tv = (struct zsock_timeval){.tv_sec = -1};
    errno = 0;
    CHECK(zsock_select(a + 1, &r, NULL, NULL, &tv) == -1 && errno == EINVAL, "tv_sec < 0");
    CHECK(memcmp(&r, &saved, sizeof(r)) == 0, "sets untouched on error");

    /* A closed descriptor: EBADF, as POSIX select(). */
    int fd = dup(a);
    CHECK(fd >= 0, "dup");
    close(fd);
    ZSOCK_FD_ZERO(&r);
    ZSOCK_FD_SET(fd, &r);
    tv = (struct zsock_timeval){.tv_sec = 1};
    errno = 0;
    CHECK(zsock_select(fd + 1, &r, NULL, NULL, &tv) == -1 && errno == EBADF,
          "closed fd: errno %d", errno);

    /* ZSOCK_FD_SETSIZE itself is allowed. */
    ZSOCK_FD_ZERO(&r);
    tv = (struct zsock_timeval){0};
    CHECK(zsock_select(ZSOCK_FD_SETSIZE, &r, NULL, NULL, &tv) == 0, "nfds == FD_SETSIZE");
}

static void test_no_fds(void)
{
    /* select() with no descriptors is a sleep. */
    struct zsock_timeval tv = {.tv_sec = 0, .tv_usec = 30000};
    int64_t t0 = now_ms();
    CHECK(zsock_select(0, NULL, NULL, NULL, &tv) == 0, "sleep");
    int64_t dt = now_ms() - t0;
    CHECK(dt >= 29 && dt < 2000, "slept %lld ms", (long long)dt);
}

struct writer {
    int fd;
    int delay_ms;
};

static void *late_writer(void *arg)
{
    struct writer *w = arg;
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)w->delay_ms * 1000000};
    nanosleep(&ts, NULL);
    return write(w->fd, "L", 1) == 1 ? NULL : (void *)"write";
}

static void test_wakeup(int a, int b)
{
    /* Data arriving while select() waits wakes it well before the timeout. */
    struct writer w = {.fd = b, .delay_ms = 50};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, late_writer, &w) == 0, "thread");
    zsock_fd_set r;
    ZSOCK_FD_ZERO(&r);
    ZSOCK_FD_SET(a, &r);
    struct zsock_timeval tv = {.tv_sec = 10};
    int64_t t0 = now_ms();
    int rc = zsock_select(a + 1, &r, NULL, NULL, &tv);
    int64_t dt = now_ms() - t0;
    void *err;
    pthread_join(th, &err);
    CHECK(err == NULL, "writer");
    CHECK(rc == 1 && ZSOCK_FD_ISSET(a, &r), "woken: rc %d", rc);
    CHECK(dt >= 40 && dt < 5000, "woke after %lld ms", (long long)dt);
    char c;
    CHECK(read(a, &c, 1) == 1, "drain");
}

int main(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
    test_timeout(sv[0]);
    test_ready(sv[0], sv[1]);
    test_wakeup(sv[0], sv[1]);
    test_peer_closed();
    test_except();
    test_errors(sv[0]);
    test_no_fds();
    close(sv[0]);
    close(sv[1]);
    puts("zsock-api-select: ok");
    return 0;
}
