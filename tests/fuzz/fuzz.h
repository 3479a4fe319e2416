/* Shared by zrec's libFuzzer targets (tests/fuzz/, docs in meson.build).
 *
 * Each target defines fuzz_seeds(dir), which writes its seed corpus: real
 * records and messages made with the engine and the facade, as the tests
 * make them.  run_fuzz.py runs a target once with ZREC_FUZZ_WRITE_SEEDS=dir
 * to get them, then fuzzes from there.  A broken contract is reported with
 * FUZZ_ASSERT, which aborts: libFuzzer keeps the input as a crash. */
#ifndef ZREC_FUZZ_H
#define ZREC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ASSERT(cond, ...)                                                              \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "%s:%d: contract broken: %s: ", __FILE__, __LINE__, #cond);    \
            fprintf(stderr, __VA_ARGS__);                                                   \
            fputc('\n', stderr);                                                            \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

void fuzz_seeds(const char *dir);

static inline void fuzz_seed_write(const char *dir, const char *name, const uint8_t *b, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(b, 1, n, f) != n) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *dir = getenv("ZREC_FUZZ_WRITE_SEEDS");
    if (dir != NULL) {
        fuzz_seeds(dir);
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads bounded pieces of the input. */
struct fuzz_in {
    const uint8_t *p;
    size_t n;
};

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

static inline size_t fuzz_u16(struct fuzz_in *in)
{
    size_t v = (size_t)fuzz_u8(in) << 8;
    return v | fuzz_u8(in);
}

/* Up to `want` bytes (fewer at the end of the input). */
static inline const uint8_t *fuzz_bytes(struct fuzz_in *in, size_t want, size_t *got)
{
    *got = want < in->n ? want : in->n;
    const uint8_t *b = in->p;
    in->p += *got;
    in->n -= *got;
    return b;
}

#endif
