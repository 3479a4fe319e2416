/*
 * Shared by the two programs of an OpenSSL interop test.  Plain C: no TLS
 * library header may be included here.
 *
 *   interop-zrec          wolfSSL handshake (zrec_wolfssl_prepare/_import),
 *                         then only zrec seals and opens records;
 *   interop-openssl-peer  OpenSSL 3.0 with its own record layer
 *                         (SSL_read / SSL_write / SSL_key_update / SSL_shutdown).
 *
 * They are separate executables, not just separate .c files: libzrec links
 * wolfSSL statically and, with wolfSSL's OpenSSL compatibility layer, exports
 * a few un-prefixed OpenSSL names (SSL_COMP_get_compression_methods,
 * SSL_SESSION_set1_id, ...).  In one process those would interpose libssl's
 * own definitions, and the "independent implementation" would partly run
 * wolfSSL code.  interop-zrec forks and execs the peer over a socketpair.
 *
 * Both run the same script (below), phase by phase; the byte contents of each
 * direction come from a seeded stream both sides can regenerate, so every
 * reader checks every byte it receives.
 */
#ifndef ZREC_INTEROP_H
#define ZREC_INTEROP_H

#include <errno.h> /* program_invocation_short_name (_GNU_SOURCE, set by meson) */
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- The script ----------------------------------------------------------
 *
 *  P0  peer → zrec   IX_EARLY_BYTES, written by OpenSSL the moment its
 *                    handshake returns (as an HTTP client or server would):
 *                    nothing may be lost in the wolfSSL → zrec handoff.  A
 *                    TLS 1.3 OpenSSL server's IX_TICKETS NewSessionTickets
 *                    come first (RFC 8446 §4.6.1).
 *  P1  zrec → peer   IX_MIXED_BYTES, records of random sizes 0..2^14, sealed
 *                    one by one and in bursts, some scattered.
 *  P2  peer → zrec   IX_MIXED_BYTES, SSL_write()s of random sizes.
 *  P3  zrec → peer   IX_BULK_BYTES in full records, bursts of 16.
 *  P4  peer → zrec   IX_BULK_BYTES in SSL_write()s of 3 * 2^14 (TLS) or 2^14
 *                    (DTLS: one record per write) bytes.
 *  TLS 1.3 only, IX_KU_ROUNDS times (RFC 8446 §4.6.3):
 *  K1  zrec → peer   KeyUpdate(update_requested) + IX_KU_BYTES under the new key
 *  K2  peer → zrec   OpenSSL's KeyUpdate(update_not_requested) + IX_KU_BYTES
 *  K3  peer → zrec   SSL_key_update(REQUESTED) + IX_KU_BYTES: zrec owes a
 *                    KeyUpdate, app data must fail with -EAGAIN until it is sent
 *                    (K2, K3: zrec opens the KeyUpdate and the records after it
 *                    in one burst, so its read key changes mid-burst)
 *  K4  zrec → peer   KeyUpdate(update_not_requested) + IX_KU_BYTES
 *  S1  peer → zrec   IX_SYNC_BYTES   } data flows both ways after the updates
 *  S2  zrec → peer   IX_SYNC_BYTES   }
 *  C1  zrec → peer   close_notify: SSL_read returns 0, SSL_ERROR_ZERO_RETURN
 *  C2  peer → zrec   TLS 1.3 only: IX_HALF_CLOSE_BYTES after zrec's
 *                    close_notify (RFC 8446 §6.1 closes one direction only)
 *  C3  peer → zrec   SSL_shutdown(): close_notify, ZREC_EV_PEER_CLOSED; then
 *                    (stream sockets) end of file.
 * From P2 on, a TLS 1.3 OpenSSL pads its records by random amounts (RFC 8446
 * §5.4), which zrec must strip.  The main script runs once per zrec AEAD
 * provider built (intel-ipsec-mb, wolfCrypt).
 *
 * Two more connections check that each side rejects the other's forgeries:
 *  T1 "tamper-zrec"  zrec seals IX_TAMPER_BYTES and flips one ciphertext bit.
 *                    TLS: OpenSSL must fail with bad_record_mac and send that
 *                    alert (RFC 8446 §5.2, RFC 5246 §7.2.2), which zrec reads
 *                    as ZREC_EV_PEER_ALERT.  DTLS: OpenSSL must drop the
 *                    record silently (RFC 6347 §4.1.2.7) and accept the next
 *                    IX_TAMPER_BYTES; it answers with IX_TAMPER_ACK_BYTES.
 *  T2 "tamper-peer"  OpenSSL writes IX_TAMPER_BYTES, one of its ciphertext
 *                    bits is flipped before zrec opens the record: -EBADMSG,
 *                    no plaintext left behind.  TLS: the session is failed
 *                    (ZREC_EV_FATAL, -EPIPE) and zrec's fatal bad_record_mac
 *                    alert must reach OpenSSL.  DTLS: the record is dropped,
 *                    the session goes on: the next IX_TAMPER_BYTES open, and
 *                    zrec answers with IX_TAMPER_ACK_BYTES.
 */
enum ix_scenario { IX_MAIN, IX_TAMPER_ZREC, IX_TAMPER_PEER };
static const char *const ix_scenario_names[] = {"main", "tamper-zrec", "tamper-peer"};

static inline int ix_scenario_from_name(const char *n, enum ix_scenario *sc)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(n, ix_scenario_names[i]) == 0)
            return *sc = (enum ix_scenario)i, 0;
    return -1;
}

#define IX_EARLY_BYTES 3000u
#define IX_MIXED_BYTES (1u << 20)
#define IX_BULK_BYTES (4u << 20)
#define IX_KU_ROUNDS 3
#define IX_KU_BYTES (64u << 10)
#define IX_SYNC_BYTES (16u << 10)
#define IX_HALF_CLOSE_BYTES 4096u
#define IX_TICKETS 2 /* SSL_CTX_set_num_tickets() on an OpenSSL TLS 1.3 server */
#define IX_TAMPER_BYTES 1000u
#define IX_TAMPER_ACK_BYTES 100u

/* Largest DTLS datagram either side sends: one full record, or several
 * smaller ones (RFC 6347 §4.1.1: records never span datagrams, but a
 * datagram may carry several).  OpenSSL reads a datagram into a buffer of
 * 2^14 + 320 + 13 bytes, so nothing larger may be sent to it. */
#define IX_DGRAM_MAX (16384u + 64u)

/* No progress for this long on a socket is a failure, never a hang. */
#define IX_IO_TIMEOUT_MS 10000
/* Backstop for everything else (alarm()). */
#define IX_WATCHDOG_S 90

/* Certificates: the test PKI meson passes (tests/certs, generated at build
 * time with wolfSSL's certs/ file names).  Clients verify the chain at the
 * current time and the server's name, which the PKI's server certificates
 * carry (subjectAltName). */
#define IX_SERVER_NAME "localhost"

/* ---- Failing loudly ----------------------------------------------------- */

/* One line per write(): the two programs share stderr, and lines written
 * whole do not interleave. */
static inline void ix_vlog_at(const char *file, int line, const char *cond, const char *fmt,
                              va_list ap)
{
    char buf[1024];
    size_t n = (size_t)snprintf(buf, sizeof buf, "[%s] ", program_invocation_short_name);
    if (file && n < sizeof buf)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s:%d: ", file, line);
    if (cond && n < sizeof buf)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "CHECK(%s) failed: ", cond);
    if (n < sizeof buf)
        n += (size_t)vsnprintf(buf + n, sizeof buf - n, fmt, ap);
    if (n > sizeof buf - 2)
        n = sizeof buf - 2;
    buf[n++] = '\n';
    ssize_t w = write(2, buf, n);
    (void)w;
}

__attribute__((format(printf, 1, 2))) static inline void ix_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ix_vlog_at(NULL, 0, NULL, fmt, ap);
    va_end(ap);
}

__attribute__((noreturn, format(printf, 4, 5))) static inline void
ix_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ix_vlog_at(file, line, cond, fmt, ap);
    va_end(ap);
    exit(1);
}

#define IX_CHECK(cond, ...)                                                                \
    do {                                                                                   \
        if (!(cond))                                                                       \
            ix_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                               \
    } while (0)
#define IX_FAIL(...) ix_fail(__FILE__, __LINE__, NULL, __VA_ARGS__)

/* ---- Time and waiting --------------------------------------------------- */

static inline int64_t ix_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is ready for `events` or timeout_ms passes.  Returns true
 * when ready (or in error/hang-up state, which the next I/O call reports). */
static inline bool ix_wait(int fd, short events, int timeout_ms)
{
    int64_t end = ix_now_ms() + timeout_ms;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int64_t left = end - ix_now_ms();
        if (left < 0)
            left = 0;
        int n = poll(&p, 1, (int)left);
        if (n > 0)
            return true;
        if (n == 0)
            return false;
        if (errno != EINTR)
            IX_FAIL("poll: %s", strerror(errno));
    }
}

/* ---- Deterministic randomness and the data streams ---------------------- */

static inline uint64_t ix_rand(uint64_t *x)
{
    /* splitmix64 */
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline size_t ix_rand_below(uint64_t *x, size_t n)
{
    return n ? (size_t)(ix_rand(x) % n) : 0;
}

/* A record size for "random sizes 0..2^14": the edges often, else uniform. */
static inline size_t ix_rand_record_size(uint64_t *x, size_t max)
{
    switch (ix_rand(x) % 16) {
    case 0:
        return 0;
    case 1:
        return 1;
    case 2:
        return max;
    case 3:
        return max - 1;
    default:
        return ix_rand_below(x, max + 1);
    }
}

enum ix_dir { IX_ZREC_TO_PEER = 0, IX_PEER_TO_ZREC = 1 };

/* The byte stream of one direction: byte i is a function of (seed, dir, i). */
struct ix_stream {
    uint64_t state;
    uint64_t word;
    unsigned left;
    uint64_t pos;
};

static inline void ix_stream_init(struct ix_stream *s, uint64_t seed, enum ix_dir d)
{
    s->state = seed * 0x100000001b3ull + (d == IX_ZREC_TO_PEER ? 0x7a726563u : 0x6f73736cu);
    s->left = 0;
    s->pos = 0;
}

static inline uint8_t ix_stream_byte(struct ix_stream *s)
{
    if (s->left == 0) {
        s->word = ix_rand(&s->state);
        s->left = 8;
    }
    uint8_t b = (uint8_t)s->word;
    s->word >>= 8;
    s->left--;
    s->pos++;
    return b;
}

static inline void ix_stream_fill(struct ix_stream *s, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = ix_stream_byte(s);
}

static inline void ix_stream_skip(struct ix_stream *s, size_t n)
{
    while (n--)
        (void)ix_stream_byte(s);
}

/* Compare p[0..n) with the next n stream bytes; fail naming the stream
 * offset of the first difference. */
static inline void ix_stream_expect(struct ix_stream *s, const uint8_t *p, size_t n,
                                    const char *what)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t at = s->pos;
        uint8_t want = ix_stream_byte(s);
        if (p[i] != want)
            IX_FAIL("%s: byte %llu of the stream is 0x%02x, expected 0x%02x", what,
                    (unsigned long long)at, p[i], want);
    }
}

/* ---- The matrix --------------------------------------------------------- */

struct ix_suite {
    const char *aead;    /* zrec_aead_name() */
    bool tls13;
    const char *openssl; /* SSL_CTX_set_ciphersuites / _set_cipher_list name */
    const char *wolfssl; /* wolfSSL_CTX_set_cipher_list name */
    bool ecdsa;          /* needs the ECDSA certificate */
};

static const struct ix_suite ix_suites[] = {
    /* TLS 1.3 (RFC 8446 §B.4) */
    {"aes128gcm", true, "TLS_AES_128_GCM_SHA256", "TLS13-AES128-GCM-SHA256", false},
    {"aes256gcm", true, "TLS_AES_256_GCM_SHA384", "TLS13-AES256-GCM-SHA384", false},
    {"chacha20poly1305", true, "TLS_CHACHA20_POLY1305_SHA256",
     "TLS13-CHACHA20-POLY1305-SHA256", false},
    {"aes128ccm", true, "TLS_AES_128_CCM_SHA256", "TLS13-AES128-CCM-SHA256", false},
    {"aes128ccm8", true, "TLS_AES_128_CCM_8_SHA256", "TLS13-AES128-CCM-8-SHA256", false},
    /* TLS 1.2 and DTLS 1.2: RFC 5289 (GCM), RFC 7905 (ChaCha20), RFC 7251 (CCM) */
    {"aes128gcm", false, "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", false},
    {"aes256gcm", false, "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384", false},
    {"chacha20poly1305", false, "ECDHE-RSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
     false},
    {"aes128ccm", false, "ECDHE-ECDSA-AES128-CCM", "ECDHE-ECDSA-AES128-CCM", true},
    {"aes128ccm8", false, "ECDHE-ECDSA-AES128-CCM8", "ECDHE-ECDSA-AES128-CCM-8", true},
};

enum ix_proto { IX_TLS12, IX_TLS13, IX_DTLS12 };

static inline int ix_proto_from_name(const char *n, enum ix_proto *p)
{
    if (strcmp(n, "tls12") == 0)
        *p = IX_TLS12;
    else if (strcmp(n, "tls13") == 0)
        *p = IX_TLS13;
    else if (strcmp(n, "dtls12") == 0)
        *p = IX_DTLS12;
    else
        return -1; /* dtls13: OpenSSL 3.0 has no DTLS 1.3 */
    return 0;
}

static inline const struct ix_suite *ix_suite_find(enum ix_proto p, const char *aead)
{
    for (size_t i = 0; i < sizeof ix_suites / sizeof *ix_suites; i++)
        if (ix_suites[i].tls13 == (p == IX_TLS13) && strcmp(ix_suites[i].aead, aead) == 0)
            return &ix_suites[i];
    return NULL;
}

/* Certificate files, relative to the certificate directory. */
struct ix_certs {
    const char *cert, *key, *ca;
};

static inline struct ix_certs ix_certs_for(const struct ix_suite *s)
{
    if (s->ecdsa)
        return (struct ix_certs){"server-ecc.pem", "ecc-key.pem", "ca-ecc-cert.pem"};
    return (struct ix_certs){"server-cert.pem", "server-key.pem", "ca-cert.pem"};
}

static inline void ix_path(char *out, size_t cap, const char *dir, const char *file)
{
    int n = snprintf(out, cap, "%s/%s", dir, file);
    IX_CHECK(n > 0 && (size_t)n < cap, "path too long: %s/%s", dir, file);
}

#endif
