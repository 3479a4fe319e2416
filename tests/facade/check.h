/* CHECK() for the facade tests: like tests/common.h's, plus errno (these
 * tests assert on socket calls). */
#ifndef ZREC_FACADE_CHECK_H
#define ZREC_FACADE_CHECK_H
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond);      \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fprintf(stderr, " (errno %d %s)\n", errno, strerror(errno));                   \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

/* Milliseconds on the monotonic clock, for bounds on how long a call took. */
static inline double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
#endif
