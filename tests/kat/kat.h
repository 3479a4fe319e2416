/* Helpers shared by the known-answer tests: vectors are kept as hex text laid
 * out as in their source documents (whitespace is ignored), so they can be
 * compared with the published text by eye. */
#ifndef ZREC_TEST_KAT_H
#define ZREC_TEST_KAT_H

#include <ctype.h>

#include "../common.h"

/* Number of bytes in a hex string (whitespace ignored). */
static inline size_t kat_hex_len(const char *hex)
{
    size_t digits = 0;
    for (const char *p = hex; *p; p++) {
        if (isspace((unsigned char)*p))
            continue;
        CHECK(isxdigit((unsigned char)*p), "bad hex character '%c' in vector", *p);
        digits++;
    }
    CHECK(digits % 2 == 0, "odd number of hex digits in vector");
    return digits / 2;
}

static inline int kat_nibble(char c)
{
    return c <= '9' ? c - '0' : (tolower((unsigned char)c) - 'a' + 10);
}

/* Decode into a fresh buffer (at least 1 byte, so a pointer is always valid). */
static inline uint8_t *kat_unhex(const char *hex, size_t *len)
{
    size_t n = kat_hex_len(hex);
    uint8_t *out = calloc(1, n ? n : 1);
    CHECK(out != NULL, "out of memory");
    size_t i = 0;
    int hi = -1;
    for (const char *p = hex; *p; p++) {
        if (isspace((unsigned char)*p))
            continue;
        if (hi < 0) {
            hi = kat_nibble(*p);
        } else {
            out[i++] = (uint8_t)(hi << 4 | kat_nibble(*p));
            hi = -1;
        }
    }
    *len = n;
    return out;
}

static inline void kat_dump(const char *label, const uint8_t *p, size_t n)
{
    fprintf(stderr, "  %s (%zu octets):", label, n);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%s%02x", i % 16 ? " " : "\n    ", p[i]);
    fputc('\n', stderr);
}

/* Fail with both byte strings and the first difference unless they are equal. */
static inline void kat_expect_bytes(const char *what, const uint8_t *got, size_t got_len,
                                    const uint8_t *want, size_t want_len)
{
    if (got_len == want_len && memcmp(got, want, want_len) == 0)
        return;
    size_t i = 0;
    while (i < got_len && i < want_len && got[i] == want[i])
        i++;
    fprintf(stderr, "MISMATCH: %s: %zu octets, expected %zu; first difference at offset %zu\n",
            what, got_len, want_len, i);
    kat_dump("got", got, got_len);
    kat_dump("expected", want, want_len);
    exit(1);
}

#endif
