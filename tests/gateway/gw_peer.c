/*
 * gw_peer — the TLS client side of the zrec-gw tests: a load and check tool.
 *
 *   client (gw_peer) --TLS--> zrec-gw --plain TCP--> gw_echo
 *
 * Every connection sends a deterministic pseudo-random pattern and checks
 * that the same bytes come back, so a single lost, duplicated or corrupted
 * byte anywhere in the gateway shows up as "echo mismatch at offset X".
 *
 * Design: OpenSSL 3 with two memory BIOs per connection (SSL_set_bio) over
 * non-blocking sockets, all driven from ONE poll() loop.  That gives
 *   - many concurrent connections (1000+) without threads;
 *   - the ciphertext in our hands between SSL and the socket, so that
 *     --tamper can flip a byte of a record and --reset-mid can send half a
 *     record before resetting.
 *
 * Output: stdout carries the result lines a test script matches (cn=,
 * alpn=, local_port=, tamper:, reset:, "ok conns=N bytes=B resumed=R",
 * "expected failure: ..."); stderr carries diagnostics, each failure as
 * "gw_peer: conn K: <what> (<reason>)".
 * Exit: 0 success, 1 failure (including the --timeout-ms deadline), 2 bad
 * usage or setup error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* Unechoed bytes allowed in flight per connection: bounded so that a
 * gateway that stops reading cannot make us buffer without limit, large
 * enough to keep several records in every stage of the pipeline. */
#define WINDOW (256 * 1024)
/* Ciphertext queued but not yet accepted by the socket, per connection. */
#define OUTQ_MAX (64 * 1024)
#define SCRATCH (64 * 1024)
/* --tamper: the record to forge is the one after the first 16 KiB. */
#define TAMPER_AFTER 16384
/* --reset-mid: records echoed before the half record. */
#define RESET_RECORDS 3
/* After our close_notify and FIN, how long to wait for the peer's EOF so the
 * close is a clean FIN exchange rather than an RST (not a failure if not). */
#define DRAIN_MS 2000

/* ---- options --------------------------------------------------------------- */

static struct {
    const char *host;
    unsigned port;
    unsigned resume_port; /* 0: same as port */
    const char *ca;
    const char *sni;
    int min_ver, max_ver;
    const char *alpn;
    unsigned conns;
    uint64_t bytes;
    size_t chunk;
    bool resume, print_cn, print_alpn, print_local_port;
    bool tamper, reset_mid, expect_fail;
    bool have_hold;
    uint64_t hold_ms;
    uint64_t timeout_ms;
    uint64_t seed;
} opt = {
    .host = "127.0.0.1",
    .min_ver = TLS1_2_VERSION,
    .max_ver = TLS1_3_VERSION,
    .conns = 1,
    .bytes = 65536,
    .chunk = 16384,
    .timeout_ms = 60000,
    .seed = 1,
};

static void usage(FILE *f)
{
    fputs(
        "usage: gw_peer --port P [--host 127.0.0.1] [--ca FILE] [--sni NAME]\n"
        "               [--tls1.2|--tls1.3] [--alpn LIST] [--conns N] [--bytes N]\n"
        "               [--chunk N] [--resume [--resume-port P]] [--print-cn] [--print-alpn]\n"
        "               [--print-local-port] [--tamper] [--reset-mid] [--expect-fail]\n"
        "               [--hold-ms N] [--timeout-ms N] [--seed N]\n"
        "\n"
        "TLS client for the zrec-gw tests: opens N connections at once, sends a\n"
        "seeded pseudo-random pattern on each and verifies the echo.\n"
        "  --host H            loopback address or name to connect to (127.0.0.1)\n"
        "  --port P            TCP port (required)\n"
        "  --ca FILE           verify the server certificate against FILE (PEM);\n"
        "                      without it the certificate is NOT verified\n"
        "  --sni NAME          send SNI NAME and, with --ca, check the certificate\n"
        "                      matches NAME\n"
        "  --tls1.2, --tls1.3  pin the version (default: 1.2 to 1.3)\n"
        "  --alpn a,b          offer these ALPN protocols\n"
        "  --conns N           concurrent connections (default 1)\n"
        "  --bytes N           bytes to send and verify per connection (65536)\n"
        "  --chunk N           bytes per SSL_write, i.e. per record (16384; above\n"
        "                      16384 one write makes several records)\n"
        "  --hold-ms N         once every handshake is done, hold all connections\n"
        "                      idle for N ms before transferring\n"
        "  --resume            one connection, then a second one resuming its\n"
        "                      session; fails unless the second is resumed\n"
        "  --resume-port P     make the resuming connection to port P instead (e.g.\n"
        "                      a second gateway sharing the ticket keys)\n"
        "  --print-cn          print 'cn=<server certificate subject CN>' (conn 0)\n"
        "  --print-alpn        print 'alpn=<negotiated protocol or ->' (conn 0)\n"
        "  --print-local-port  print 'local_port=<TCP source port>' (conn 0)\n"
        "  --tamper            conn 0: after 16 KiB echoed, corrupt one ciphertext\n"
        "                      byte of the next record; succeed only on a\n"
        "                      bad_record_mac alert (needs --bytes > 16384)\n"
        "  --reset-mid         conn 0: after a few records echoed, send half of the\n"
        "                      next record, then RST\n"
        "  --expect-fail       succeed only if conn 0 fails (others must succeed);\n"
        "                      prints 'expected failure: conn 0: <what>'\n"
        "  --timeout-ms N      overall deadline (default 60000); its expiry is a\n"
        "                      failure even with --expect-fail\n"
        "  --seed N            pattern seed (default 1)\n"
        "stdout on success: 'ok conns=N bytes=B resumed=R' (B: echoed bytes\n"
        "verified, all connections).  Exit 0 ok, 1 failure, 2 usage/setup error.\n",
        f);
}

/* ---- small helpers ----------------------------------------------------------- */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static bool parse_u64(const char *name, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    if (*s == '-' || *s == '\0')
        goto bad;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        goto bad;
    *out = v;
    return true;
bad:
    fprintf(stderr, "gw_peer: %s: '%s' is not a number in %" PRIu64 "..%" PRIu64 "\n", name, s,
            min, max);
    return false;
}

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

/* The pattern is a function of (seed, connection index, offset), so the
 * writer and the checker need no shared state and a mismatch can be located
 * exactly. */
static void pattern(uint64_t key, uint64_t off, uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint64_t o = off + i;
        uint64_t w = splitmix64(key ^ ((o >> 3) * 0xd1b54a32d192ed03u));
        for (unsigned b = (unsigned)(o & 7); b < 8 && i < n; b++, i++)
            p[i] = (uint8_t)(w >> (8 * b));
    }
}

/* ---- connections ----------------------------------------------------------- */

enum phase {
    PH_CONNECT,   /* non-blocking connect in progress */
    PH_HANDSHAKE, /* SSL_do_handshake pumped through the BIOs */
    PH_HOLD,      /* --hold-ms: handshaken, idle, waiting for the others */
    PH_TRANSFER,  /* writing the pattern, verifying the echo */
    PH_RESET,     /* --reset-mid: sending half a record, then RST */
    PH_SHUTDOWN,  /* close_notify queued, flushing it */
    PH_DRAIN,     /* FIN sent, waiting (briefly) for the peer's EOF */
    PH_DONE,
    PH_FAILED,
};
static const char *const phase_name[] = {
    "connect", "handshake", "hold", "transfer", "reset-mid", "shutdown", "drain", "done", "failed",
};

struct conn {
    unsigned idx; /* global index: messages and pattern key */
    int fd;
    SSL *ssl;
    BIO *rbio; /* network -> SSL */
    BIO *wbio; /* SSL -> network */
    enum phase ph;
    uint64_t key;
    uint64_t sent, recvd; /* plaintext offsets */
    uint64_t write_limit; /* sent may not pass this (tamper/reset pre-phase) */

    uint8_t *out; /* ciphertext waiting for the socket */
    size_t out_off, out_len, out_cap;

    bool peer_eof;
    int rd_errno, wr_errno;
    int alert_rcvd, alert_sent; /* info callback value, -1 if none */
    bool got_close_notify;

    bool tamper, tampered;
    bool reset_mid;
    size_t half_end; /* --reset-mid: out[] offset where the half record ends */
    size_t cut_len;  /* --reset-mid: length of the record that is cut */
    bool must_resume;

    uint64_t drain_until;
    uint16_t local_port;
    char *fail_msg;
};

static SSL_CTX *ctx;
static struct sockaddr_storage peer_addr;
static unsigned cur_port; /* the port peer_addr points at, for messages */
static socklen_t peer_len;
static uint8_t *scratch, *expect_buf;
static SSL_SESSION *saved_session; /* --resume: the newest session/ticket */
static uint64_t deadline;
static unsigned n_resumed;

static bool terminal(const struct conn *c)
{
    return c->ph == PH_DONE || c->ph == PH_FAILED;
}

static void conn_release(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    SSL_free(c->ssl); /* frees both BIOs too */
    c->ssl = NULL;
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_off = c->out_cap = 0;
}

static void conn_done(struct conn *c)
{
    conn_release(c);
    c->ph = PH_DONE;
}

/* Records the failure; it is printed at once unless it is the failure
 * --expect-fail is waiting for (then main prints it as the expected one). */
static void conn_fail(struct conn *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->fail_msg = strdup(msg);
    if (!(opt.expect_fail && c->idx == 0))
        fprintf(stderr, "gw_peer: conn %u: %s\n", c->idx, msg);
    /* ERR state is per thread and shared by all connections: never let one
     * connection's leftovers be blamed on the next. */
    ERR_clear_error();
    conn_release(c);
    c->ph = PH_FAILED;
}

/* The "(<reason>)" part of a failure: everything we know about why, from
 * OpenSSL's error queue, alerts seen, the verify result and errno. */
static void describe(struct conn *c, int ssl_err, char *out, size_t cap)
{
    size_t o = 0;
#define ADD(...)                                                                             \
    do {                                                                                     \
        if (o < cap)                                                                         \
            o += (size_t)snprintf(out + o, cap - o, "%s", o ? "; " : "");                    \
        if (o < cap)                                                                         \
            o += (size_t)snprintf(out + o, cap - o, __VA_ARGS__);                            \
    } while (0)
    out[0] = '\0';
    unsigned long e = ERR_peek_error();
    if (e) {
        const char *r = ERR_reason_error_string(e);
        if (r)
            ADD("%s", r);
        else
            ADD("OpenSSL error 0x%lx", e);
    }
    if (c->alert_rcvd >= 0)
        ADD("received %s alert %s (%d)", SSL_alert_type_string_long(c->alert_rcvd),
            SSL_alert_desc_string_long(c->alert_rcvd), c->alert_rcvd & 0xff);
    if (c->alert_sent >= 0)
        ADD("sent %s alert %s (%d)", SSL_alert_type_string_long(c->alert_sent),
            SSL_alert_desc_string_long(c->alert_sent), c->alert_sent & 0xff);
    if (c->ssl && opt.ca) { /* without --ca the result is never enforced */
        long v = SSL_get_verify_result(c->ssl);
        if (v != X509_V_OK)
            ADD("certificate verify: %s", X509_verify_cert_error_string(v));
    }
    if (c->rd_errno)
        ADD("recv: %s", strerror(c->rd_errno));
    if (c->wr_errno)
        ADD("send: %s", strerror(c->wr_errno));
    if (c->peer_eof && !c->rd_errno)
        ADD("peer closed the TCP connection");
    if (ssl_err == SSL_ERROR_SYSCALL && !e && !c->rd_errno && !c->peer_eof)
        ADD("SSL_ERROR_SYSCALL");
    if (o == 0)
        ADD("no further detail");
#undef ADD
}

static void ssl_fail(struct conn *c, int ssl_err, const char *fmt, ...)
{
    char what[512], why[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    describe(c, ssl_err, why, sizeof why);
    conn_fail(c, "%s (%s)", what, why);
}

static void info_cb(const SSL *ssl, int where, int ret)
{
    if (!(where & SSL_CB_ALERT))
        return;
    struct conn *c = SSL_get_app_data(ssl);
    if (!c)
        return;
    if (where & SSL_CB_READ)
        c->alert_rcvd = ret;
    else
        c->alert_sent = ret;
}

/* --resume: keep the newest session.  For TLS 1.3 the tickets arrive after
 * the handshake (read with the application data), so the callback is the
 * reliable way to get a resumable one; SSL_get1_session is the fallback. */
static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
    (void)ssl;
    if (saved_session)
        SSL_SESSION_free(saved_session);
    saved_session = sess;
    return 1; /* we keep the reference */
}

/* Moves whatever SSL wrote into the write BIO to our queue; returns the
 * byte count, so a caller can find the record just produced. */
static size_t take_output(struct conn *c)
{
    size_t pend = BIO_ctrl_pending(c->wbio);
    if (pend == 0)
        return 0;
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    if (c->out_len + pend > c->out_cap) {
        /* Compact first: the sent prefix is dead weight. */
        if (c->out_off) {
            memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
            c->out_len -= c->out_off;
            if (c->half_end)
                c->half_end -= c->out_off;
            c->out_off = 0;
        }
        if (c->out_len + pend > c->out_cap) {
            size_t cap = c->out_cap ? c->out_cap : 4096;
            while (cap < c->out_len + pend)
                cap *= 2;
            uint8_t *p = realloc(c->out, cap);
            if (!p) {
                fprintf(stderr, "gw_peer: out of memory\n");
                exit(2);
            }
            c->out = p;
            c->out_cap = cap;
        }
    }
    int n = BIO_read(c->wbio, c->out + c->out_len, (int)pend);
    if (n <= 0)
        return 0;
    c->out_len += (size_t)n;
    return (size_t)n;
}

static size_t out_pending(const struct conn *c)
{
    return c->out_len - c->out_off;
}

/* Socket -> read BIO.  Bounded per call so one busy connection cannot
 * starve the others; poll() reports the rest. */
static void net_read(struct conn *c)
{
    for (int i = 0; i < 8 && !c->peer_eof && !c->rd_errno; i++) {
        ssize_t n = recv(c->fd, scratch, SCRATCH, 0);
        if (n > 0) {
            BIO_write(c->rbio, scratch, (int)n);
            continue;
        }
        if (n == 0) {
            c->peer_eof = true;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return;
        } else if (errno == EINTR) {
            continue;
        } else {
            c->rd_errno = errno;
        }
        /* No more input will come: once the BIO is empty SSL must see EOF
         * (return 0) instead of "retry later" (-1 + retry flag). */
        BIO_set_mem_eof_return(c->rbio, 0);
    }
}

/* Queue -> socket, up to `limit` (--reset-mid sends only half a record). */
static void net_flush(struct conn *c, size_t limit)
{
    while (c->out_off < limit && !c->wr_errno) {
        ssize_t n = send(c->fd, c->out + c->out_off, limit - c->out_off, MSG_NOSIGNAL);
        if (n > 0)
            c->out_off += (size_t)n;
        else if (n < 0 && errno == EINTR)
            continue;
        else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        else
            c->wr_errno = n < 0 ? errno : EIO;
    }
}

static void print_conn0_info(struct conn *c)
{
    if (opt.print_cn) {
        char cn[256] = "-";
        X509 *x = SSL_get1_peer_certificate(c->ssl);
        if (x) {
            if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
                                          sizeof cn) < 0)
                strcpy(cn, "-");
            X509_free(x);
        }
        printf("cn=%s\n", cn);
    }
    if (opt.print_alpn) {
        const unsigned char *p;
        unsigned n;
        SSL_get0_alpn_selected(c->ssl, &p, &n);
        if (n)
            printf("alpn=%.*s\n", (int)n, (const char *)p);
        else
            printf("alpn=-\n");
    }
    if (opt.print_local_port)
        printf("local_port=%u\n", c->local_port);
    fflush(stdout);
}

static void start_shutdown(struct conn *c)
{
    ERR_clear_error();
    SSL_shutdown(c->ssl); /* queues close_notify; 0 = peer's not yet seen */
    ERR_clear_error();
    take_output(c);
    c->ph = PH_SHUTDOWN;
}

/* SSL_read until it wants more input; verifies every byte. */
static void read_app(struct conn *c)
{
    for (;;) {
        ERR_clear_error();
        int r = SSL_read(c->ssl, scratch, SCRATCH);
        int e = r > 0 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, r);
        take_output(c); /* e.g. a KeyUpdate answer or an alert */
        if (r > 0) {
            uint64_t n = (uint64_t)r;
            if (c->ph == PH_HOLD) {
                conn_fail(c, "unexpected %d bytes of application data while holding", r);
                return;
            }
            if (c->tampered && c->recvd + n > c->sent) {
                conn_fail(c, "tamper: %" PRIu64 " bytes echoed past the tampered record (the "
                          "forged record was accepted?)",
                          c->recvd + n - c->sent);
                return;
            }
            if (c->recvd + n > c->sent) {
                conn_fail(c, "received %" PRIu64 " bytes more than were sent (%" PRIu64 " sent)",
                          c->recvd + n - c->sent, c->sent);
                return;
            }
            pattern(c->key, c->recvd, expect_buf, (size_t)n);
            if (memcmp(expect_buf, scratch, (size_t)n) != 0) {
                size_t i = 0;
                while (expect_buf[i] == scratch[i])
                    i++;
                conn_fail(c, "echo mismatch at offset %" PRIu64 " (got 0x%02x, expected 0x%02x)",
                          c->recvd + i, scratch[i], expect_buf[i]);
                return;
            }
            c->recvd += n;
            continue;
        }
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return;
        if (e == SSL_ERROR_ZERO_RETURN) {
            c->got_close_notify = true;
            if (c->ph == PH_DRAIN || c->ph == PH_SHUTDOWN)
                return;
            /* The peer may close first once everything is echoed: the data
             * is complete, so that is a clean end, not a failure. */
            if (c->ph == PH_TRANSFER && !c->tamper && !c->reset_mid && c->recvd == opt.bytes)
                return;
            if (c->tamper && c->tampered)
                conn_fail(c, "tamper: got close_notify instead of a bad_record_mac alert");
            else
                conn_fail(c, "peer closed (close_notify)%s after %" PRIu64 " of %" PRIu64
                          " bytes echoed",
                          c->ph == PH_HOLD ? " while holding" : "", c->recvd, opt.bytes);
            return;
        }
        if (c->tamper && c->tampered) {
            int reason = e == SSL_ERROR_SSL ? ERR_GET_REASON(ERR_peek_error()) : 0;
            bool mac = reason == SSL_R_SSLV3_ALERT_BAD_RECORD_MAC ||
                       (c->alert_rcvd >= 0 && (c->alert_rcvd & 0xff) == SSL_AD_BAD_RECORD_MAC);
            if (mac) {
                printf("tamper: got bad_record_mac\n");
                fflush(stdout);
                ERR_clear_error();
                conn_done(c);
                return;
            }
            ssl_fail(c, e, "tamper: expected a bad_record_mac alert, got something else");
            return;
        }
        if (c->ph == PH_HOLD)
            ssl_fail(c, e, "connection failed while holding");
        else if (c->ph == PH_DRAIN || c->ph == PH_SHUTDOWN)
            ssl_fail(c, e, "TLS error after all bytes were echoed");
        else
            ssl_fail(c, e, "transfer failed after %" PRIu64 " of %" PRIu64 " bytes echoed",
                     c->recvd, opt.bytes);
        return;
    }
}

/* SSL_write pattern pieces while the window and the queue allow. */
static void write_app(struct conn *c)
{
    while (c->sent < c->write_limit && c->sent - c->recvd < WINDOW &&
           out_pending(c) < OUTQ_MAX) {
        uint64_t left = c->write_limit - c->sent;
        size_t n = left < opt.chunk ? (size_t)left : opt.chunk;
        pattern(c->key, c->sent, scratch, n);
        ERR_clear_error();
        int r = SSL_write(c->ssl, scratch, (int)n);
        if (r <= 0) {
            int e = SSL_get_error(c->ssl, r);
            take_output(c);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                return; /* retried with the same bytes next time */
            ssl_fail(c, e, "SSL_write failed after %" PRIu64 " bytes sent", c->sent);
            return;
        }
        take_output(c);
        c->sent += (uint64_t)r;
    }
}

/* --tamper: one more record, with a ciphertext byte flipped, then silence. */
static void write_tampered(struct conn *c)
{
    uint64_t left = opt.bytes - c->sent;
    size_t n = left < opt.chunk ? (size_t)left : opt.chunk;
    pattern(c->key, c->sent, scratch, n);
    ERR_clear_error();
    int r = SSL_write(c->ssl, scratch, (int)n);
    if (r <= 0) {
        ssl_fail(c, SSL_get_error(c->ssl, r), "SSL_write of the record to tamper failed");
        return;
    }
    size_t len = take_output(c);
    size_t start = c->out_len - len; /* take_output may have compacted the queue */
    /* Byte 5+20: past the 5-byte record header and 20 bytes into the
     * encrypted payload (past TLS 1.2's 8-byte explicit nonce too), so the
     * AEAD tag check, not the header parser, must catch it. */
    size_t at = len > 25 ? 25 : len - 1;
    uint8_t *rec = c->out + start;
    size_t rlen = len >= 5 ? 5 + ((size_t)rec[3] << 8 | rec[4]) : 0;
    if (len < 5 || rec[0] != 23 || rlen != len)
        fprintf(stderr, "gw_peer: conn %u: note: SSL_write produced %zu bytes that are not one "
                "application_data record (type %u, record length %zu); flipping byte %zu anyway\n",
                c->idx, len, len ? rec[0] : 0u, rlen, at);
    rec[at] ^= 0x01;
    c->tampered = true;
    /* c->sent deliberately excludes this record: nothing past it may be
     * echoed, and read_app holds the gateway to that. */
    fprintf(stderr, "gw_peer: conn %u: tamper: flipped byte %zu of a %zu-byte record after %" PRIu64
            " bytes echoed\n",
            c->idx, at, len, c->recvd);
}

/* --reset-mid: one more record, of which only the first half goes out. */
static void write_half(struct conn *c)
{
    uint64_t left = opt.bytes - c->sent;
    size_t n = left < opt.chunk ? (size_t)left : opt.chunk;
    pattern(c->key, c->sent, scratch, n);
    ERR_clear_error();
    int r = SSL_write(c->ssl, scratch, (int)n);
    if (r <= 0) {
        ssl_fail(c, SSL_get_error(c->ssl, r), "SSL_write of the record to cut failed");
        return;
    }
    size_t len = take_output(c);
    size_t start = c->out_len - len;
    c->half_end = start + (len / 2 ? len / 2 : 1);
    c->cut_len = len;
    c->ph = PH_RESET;
}

static void handshake_done(struct conn *c)
{
    if (c->must_resume) {
        if (!SSL_session_reused(c->ssl)) {
            conn_fail(c, "session was not resumed (full handshake instead)");
            return;
        }
        n_resumed++;
    }
    if (c->idx == 0 && (opt.print_cn || opt.print_alpn || opt.print_local_port))
        print_conn0_info(c);
    c->write_limit = opt.bytes;
    if (c->tamper)
        c->write_limit = TAMPER_AFTER;
    if (c->reset_mid) {
        /* "A few records" before the cut, but always leave at least one
         * byte for the record that is cut. */
        uint64_t pre = (uint64_t)RESET_RECORDS * opt.chunk;
        if (pre > (opt.bytes - 1) / opt.chunk * opt.chunk)
            pre = (opt.bytes - 1) / opt.chunk * opt.chunk;
        c->write_limit = pre;
    }
    c->ph = opt.have_hold ? PH_HOLD : PH_TRANSFER;
}

/* Runs the SSL side as far as the input allows. */
static void drive(struct conn *c)
{
    if (c->ph == PH_HANDSHAKE) {
        ERR_clear_error();
        int r = SSL_do_handshake(c->ssl);
        int e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, r);
        take_output(c);
        if (r == 1) {
            handshake_done(c);
            if (terminal(c))
                return;
        } else {
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                return;
            ssl_fail(c, e, "handshake failed");
            return;
        }
    }
    if (c->ph == PH_HOLD || c->ph == PH_SHUTDOWN || c->ph == PH_DRAIN) {
        /* Still read: tickets, alerts and EOF must be noticed, and data
         * is an error. */
        if (!c->got_close_notify)
            read_app(c);
        return;
    }
    if (c->ph != PH_TRANSFER)
        return;
    read_app(c);
    if (terminal(c))
        return;
    if (c->tamper && c->tampered)
        return; /* nothing more may be sent: wait for the alert */
    if (c->recvd == opt.bytes) {
        start_shutdown(c);
        return;
    }
    write_app(c);
    if (terminal(c))
        return;
    bool pre_done = c->sent == c->write_limit && c->recvd == c->sent && out_pending(c) == 0;
    if (c->tamper && pre_done)
        write_tampered(c);
    else if (c->reset_mid && pre_done)
        write_half(c);
}

static void rst_close(struct conn *c)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    conn_done(c); /* close() now sends RST */
}

/* One step of one connection, after poll() (rev may be 0: timers). */
static void pump(struct conn *c, short rev)
{
    if (c->ph == PH_CONNECT) {
        if (!(rev & (POLLOUT | POLLERR | POLLHUP)))
            return;
        int err = 0;
        socklen_t l = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
            err = errno;
        if (err) {
            conn_fail(c, "connect to %s port %u failed (%s)", opt.host, cur_port, strerror(err));
            return;
        }
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        if (getsockname(c->fd, (struct sockaddr *)&ss, &sl) == 0)
            c->local_port = ntohs(ss.ss_family == AF_INET6
                                      ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                      : ((struct sockaddr_in *)&ss)->sin_port);
        c->ph = PH_HANDSHAKE;
        rev = 0;
    }
    if (rev & (POLLIN | POLLHUP | POLLERR))
        net_read(c);

    if (c->ph == PH_RESET) {
        /* The peer must not see anything of ours after the half record:
         * input is ignored, the half record flushed, then RST. */
        net_flush(c, c->half_end);
        if (c->wr_errno) {
            conn_fail(c, "reset-mid: send failed before the reset (%s)", strerror(c->wr_errno));
            return;
        }
        if (c->out_off < c->half_end)
            return;
        /* RST discards whatever is still in our send queue: wait until the
         * half record has really left (acknowledged by the peer's kernel). */
        int q = 0;
        if (ioctl(c->fd, SIOCOUTQ, &q) == 0 && q > 0)
            return;
        printf("reset: sent half a record and RST\n");
        fflush(stdout);
        fprintf(stderr, "gw_peer: conn %u: reset-mid: sent %zu of %zu record bytes after %" PRIu64
                " bytes echoed, then RST\n",
                c->idx, c->half_end - (c->out_len - c->cut_len), c->cut_len, c->recvd);
        rst_close(c);
        return;
    }

    drive(c);
    if (terminal(c))
        return;
    size_t before = c->out_off;
    net_flush(c, c->out_len);
    if (!c->wr_errno && c->ph == PH_TRANSFER && c->out_off != before) {
        /* Room freed in the queue (or, for --tamper/--reset-mid, the
         * queue emptied): that can unblock writing, and no further event
         * is guaranteed to come and say so. */
        drive(c);
        if (terminal(c))
            return;
        net_flush(c, c->out_len);
    }
    if (c->wr_errno) {
        /* The peer may have said why (an alert) before the connection
         * broke: read what is left and let SSL report it first. */
        net_read(c);
        if (c->ph == PH_DRAIN || c->ph == PH_SHUTDOWN) {
            conn_done(c); /* all bytes were verified; the close is best effort */
            return;
        }
        drive(c);
        if (!terminal(c))
            ssl_fail(c, SSL_ERROR_SYSCALL, "send failed in phase %s after %" PRIu64
                     " of %" PRIu64 " bytes echoed",
                     phase_name[c->ph], c->recvd, opt.bytes);
        return;
    }
    if (c->ph == PH_SHUTDOWN && out_pending(c) == 0) {
        /* close_notify is out; our FIN follows.  Waiting for the peer's
         * EOF makes the close a FIN exchange, not an RST on unread data. */
        shutdown(c->fd, SHUT_WR);
        c->ph = PH_DRAIN;
        c->drain_until = now_ms() + DRAIN_MS;
    }
    if (c->ph == PH_DRAIN && (c->peer_eof || c->rd_errno || now_ms() >= c->drain_until)) {
        conn_done(c);
        return;
    }
    if (c->peer_eof || c->rd_errno) {
        /* SSL has consumed everything that arrived (drive above) and did
         * not fail, yet the stream is over. */
        if (c->ph == PH_SHUTDOWN) {
            conn_done(c);
            return;
        }
        if (c->ph == PH_HANDSHAKE)
            ssl_fail(c, SSL_ERROR_SYSCALL, "handshake failed: connection closed");
        else if (c->tamper && c->tampered)
            ssl_fail(c, SSL_ERROR_SYSCALL,
                     "tamper: connection closed without a bad_record_mac alert");
        else
            ssl_fail(c, SSL_ERROR_SYSCALL,
                     "connection closed in phase %s after %" PRIu64 " of %" PRIu64
                     " bytes echoed",
                     phase_name[c->ph], c->recvd, opt.bytes);
    }
}

static void conn_start(struct conn *c, SSL_SESSION *sess)
{
    c->fd = -1;
    c->alert_rcvd = c->alert_sent = -1;
    c->key = splitmix64(opt.seed) ^ splitmix64(0x5eed0000u + c->idx);
    c->ph = PH_CONNECT;

    c->ssl = SSL_new(ctx);
    c->rbio = BIO_new(BIO_s_mem());
    c->wbio = BIO_new(BIO_s_mem());
    if (!c->ssl || !c->rbio || !c->wbio) {
        fprintf(stderr, "gw_peer: conn %u: SSL_new/BIO_new failed (out of memory)\n", c->idx);
        exit(2);
    }
    SSL_set_bio(c->ssl, c->rbio, c->wbio);
    SSL_set_app_data(c->ssl, c);
    SSL_set_connect_state(c->ssl);
    if (opt.sni) {
        SSL_set_tlsext_host_name(c->ssl, opt.sni);
        if (opt.ca)
            SSL_set1_host(c->ssl, opt.sni);
    }
    if (sess) {
        SSL_set_session(c->ssl, sess);
        c->must_resume = true;
    }

    c->fd = socket(peer_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        conn_fail(c, "socket failed (%s)", strerror(errno));
        return;
    }
    int one = 1;
    /* Records are written whole: no reason to let Nagle delay the last one. */
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&peer_addr, peer_len) < 0 && errno != EINPROGRESS) {
        conn_fail(c, "connect to %s port %u failed (%s)", opt.host, cur_port, strerror(errno));
        return;
    }
    /* Connected or in progress: poll() reports POLLOUT either way. */
}

static void report_stuck(struct conn *cs, unsigned n)
{
    unsigned per[PH_FAILED + 1] = {0}, stuck = 0;
    for (unsigned i = 0; i < n; i++)
        if (!terminal(&cs[i])) {
            per[cs[i].ph]++;
            stuck++;
        }
    fprintf(stderr, "gw_peer: deadline of %" PRIu64 " ms (--timeout-ms) expired with %u of %u "
            "connections unfinished:",
            opt.timeout_ms, stuck, n);
    for (int p = 0; p < PH_DONE; p++)
        if (per[p])
            fprintf(stderr, " %u in %s", per[p], phase_name[p]);
    fputc('\n', stderr);
    unsigned shown = 0;
    for (unsigned i = 0; i < n && shown < 20; i++) {
        struct conn *c = &cs[i];
        if (terminal(c))
            continue;
        shown++;
        fprintf(stderr, "gw_peer: conn %u: timeout: stuck in phase %s (sent %" PRIu64
                ", echoed %" PRIu64 " of %" PRIu64 " bytes, %zu ciphertext bytes unsent)\n",
                c->idx, phase_name[c->ph], c->sent, c->recvd, opt.bytes, out_pending(c));
    }
    if (stuck > shown)
        fprintf(stderr, "gw_peer: ... and %u more\n", stuck - shown);
}

/* Runs connections [first, first+n) to completion.  Returns false only on
 * the global deadline (per-connection failures are recorded in the conns). */
static bool run_round(struct conn *cs, unsigned n, SSL_SESSION *sess)
{
    struct pollfd *pfd = calloc(n, sizeof *pfd);
    unsigned *map = calloc(n, sizeof *map);
    if (!pfd || !map) {
        fprintf(stderr, "gw_peer: out of memory\n");
        exit(2);
    }
    for (unsigned i = 0; i < n; i++)
        conn_start(&cs[i], sess);

    uint64_t hold_end = 0;
    bool holding = false, held = false;
    for (;;) {
        uint64_t t = now_ms();
        unsigned live = 0, unhandshaken = 0;
        bool timers = false;
        for (unsigned i = 0; i < n; i++) {
            if (terminal(&cs[i]))
                continue;
            live++;
            if (cs[i].ph <= PH_HANDSHAKE)
                unhandshaken++;
            if (cs[i].ph == PH_DRAIN || cs[i].ph == PH_RESET)
                timers = true;
        }
        if (live == 0)
            break;
        if (t >= deadline) {
            report_stuck(cs, n);
            free(pfd);
            free(map);
            return false;
        }
        /* --hold-ms: a barrier, so that all connections are open at once. */
        if (opt.have_hold && !holding && !held && unhandshaken == 0) {
            holding = true;
            hold_end = t + opt.hold_ms;
            fprintf(stderr, "gw_peer: %u connections established, holding them for %" PRIu64
                    " ms\n",
                    live, opt.hold_ms);
        }
        if (holding && t >= hold_end) {
            holding = false;
            held = true;
            for (unsigned i = 0; i < n; i++)
                if (cs[i].ph == PH_HOLD) {
                    cs[i].ph = PH_TRANSFER;
                    pump(&cs[i], 0);
                }
            continue;
        }
        /* Connections in RESET/DRAIN wait on time, not only on events. */
        if (timers)
            for (unsigned i = 0; i < n; i++)
                if (cs[i].ph == PH_DRAIN || cs[i].ph == PH_RESET)
                    pump(&cs[i], 0);

        unsigned np = 0;
        for (unsigned i = 0; i < n; i++) {
            struct conn *c = &cs[i];
            if (terminal(c))
                continue;
            short ev = POLLIN;
            if (c->ph == PH_CONNECT)
                ev = POLLOUT;
            else if (c->ph == PH_RESET)
                ev = c->out_off < c->half_end ? POLLOUT : 0;
            else if (out_pending(c))
                ev |= POLLOUT;
            pfd[np] = (struct pollfd){.fd = c->fd, .events = ev};
            map[np++] = i;
        }
        uint64_t wait = deadline - t;
        if (holding && hold_end - t < wait)
            wait = hold_end - t;
        if (timers && wait > 20)
            wait = 20;
        if (wait > 1000)
            wait = 1000;
        int pr = poll(pfd, np, (int)wait);
        if (pr < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "gw_peer: poll: %s\n", strerror(errno));
            exit(2);
        }
        for (unsigned k = 0; k < np && pr > 0; k++)
            if (pfd[k].revents) {
                pump(&cs[map[k]], pfd[k].revents);
            }
    }
    free(pfd);
    free(map);
    return true;
}

/* ---- setup ----------------------------------------------------------------- */

static bool alpn_wire(const char *list, unsigned char **out, unsigned *out_len)
{
    size_t n = strlen(list);
    unsigned char *w = malloc(n + 1);
    size_t o = 0;
    const char *p = list;
    if (!w)
        return false;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == 0 || l > 255) {
            fprintf(stderr, "gw_peer: --alpn: empty or >255-byte protocol name in '%s'\n", list);
            free(w);
            return false;
        }
        w[o++] = (unsigned char)l;
        memcpy(w + o, p, l);
        o += l;
        if (!e)
            break;
        p = e + 1;
    }
    *out = w;
    *out_len = (unsigned)o;
    return true;
}

static void set_port(unsigned port)
{
    cur_port = port;
    if (peer_addr.ss_family == AF_INET)
        ((struct sockaddr_in *)&peer_addr)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)&peer_addr)->sin6_port = htons((uint16_t)port);
}

static bool resolve(void)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
    int e = getaddrinfo(opt.host, NULL, &hints, &ai);
    if (e) {
        fprintf(stderr, "gw_peer: --host %s: %s\n", opt.host, gai_strerror(e));
        return false;
    }
    memcpy(&peer_addr, ai->ai_addr, ai->ai_addrlen);
    peer_len = ai->ai_addrlen;
    freeaddrinfo(ai);
    bool loop;
    if (peer_addr.ss_family == AF_INET) {
        struct sockaddr_in *s = (void *)&peer_addr;
        loop = (ntohl(s->sin_addr.s_addr) >> 24) == 127;
    } else {
        struct sockaddr_in6 *s = (void *)&peer_addr;
        loop = IN6_IS_ADDR_LOOPBACK(&s->sin6_addr);
    }
    set_port(opt.port);
    if (!loop) {
        fprintf(stderr, "gw_peer: --host %s is not a loopback address; the tests stay on "
                "loopback\n",
                opt.host);
        return false;
    }
    return true;
}

static void print_ssl_errors(void)
{
    unsigned long e;
    char buf[256];
    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, buf, sizeof buf);
        fprintf(stderr, "gw_peer:   %s\n", buf);
    }
}

static bool setup_ctx(void)
{
    ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        fprintf(stderr, "gw_peer: SSL_CTX_new failed\n");
        print_ssl_errors();
        return false;
    }
    SSL_CTX_set_min_proto_version(ctx, opt.min_ver);
    SSL_CTX_set_max_proto_version(ctx, opt.max_ver);
    /* The write retry reuses one scratch buffer; RELEASE_BUFFERS keeps
     * 1000 idle connections small. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    if (opt.ca) {
        if (SSL_CTX_load_verify_locations(ctx, opt.ca, NULL) != 1) {
            fprintf(stderr, "gw_peer: --ca %s: cannot load CA certificates\n", opt.ca);
            print_ssl_errors();
            return false;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    if (opt.alpn) {
        unsigned char *w;
        unsigned wl;
        if (!alpn_wire(opt.alpn, &w, &wl))
            return false;
        if (SSL_CTX_set_alpn_protos(ctx, w, wl) != 0) { /* 0 is success here */
            fprintf(stderr, "gw_peer: --alpn %s: SSL_CTX_set_alpn_protos failed\n", opt.alpn);
            free(w);
            return false;
        }
        free(w);
    }
    SSL_CTX_set_info_callback(ctx, info_cb);
    if (opt.resume) {
        /* NO_INTERNAL_STORE: the callback is the only owner, so nothing
         * can mark the session non-resumable behind our back. */
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
                                                SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
    }
    return true;
}

int main(int argc, char **argv)
{
    enum {
        O_PORT = 1, O_HOST, O_CA, O_SNI, O_TLS12, O_TLS13, O_ALPN, O_CONNS, O_BYTES, O_CHUNK,
        O_RESUME, O_PCN, O_PALPN, O_PPORT, O_TAMPER, O_RESET, O_EXPFAIL, O_HOLD, O_TIMEOUT,
        O_SEED, O_HELP, O_RPORT,
    };
    static const struct option lo[] = {
        {"port", required_argument, 0, O_PORT},
        {"host", required_argument, 0, O_HOST},
        {"ca", required_argument, 0, O_CA},
        {"sni", required_argument, 0, O_SNI},
        {"tls1.2", no_argument, 0, O_TLS12},
        {"tls1.3", no_argument, 0, O_TLS13},
        {"alpn", required_argument, 0, O_ALPN},
        {"conns", required_argument, 0, O_CONNS},
        {"bytes", required_argument, 0, O_BYTES},
        {"chunk", required_argument, 0, O_CHUNK},
        {"resume", no_argument, 0, O_RESUME},
        {"resume-port", required_argument, 0, O_RPORT},
        {"print-cn", no_argument, 0, O_PCN},
        {"print-alpn", no_argument, 0, O_PALPN},
        {"print-local-port", no_argument, 0, O_PPORT},
        {"tamper", no_argument, 0, O_TAMPER},
        {"reset-mid", no_argument, 0, O_RESET},
        {"expect-fail", no_argument, 0, O_EXPFAIL},
        {"hold-ms", required_argument, 0, O_HOLD},
        {"timeout-ms", required_argument, 0, O_TIMEOUT},
        {"seed", required_argument, 0, O_SEED},
        {"help", no_argument, 0, O_HELP},
        {0, 0, 0, 0},
    };
    bool have_port = false, v12 = false, v13 = false;
    uint64_t v;
    int o;
    while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (o) {
        case O_PORT:
            if (!parse_u64("--port", optarg, 1, 65535, &v))
                return 2;
            opt.port = (unsigned)v;
            have_port = true;
            break;
        case O_HOST: opt.host = optarg; break;
        case O_CA: opt.ca = optarg; break;
        case O_SNI: opt.sni = optarg; break;
        case O_TLS12: v12 = true; break;
        case O_TLS13: v13 = true; break;
        case O_ALPN: opt.alpn = optarg; break;
        case O_CONNS:
            if (!parse_u64("--conns", optarg, 1, 1000000, &v))
                return 2;
            opt.conns = (unsigned)v;
            break;
        case O_BYTES:
            if (!parse_u64("--bytes", optarg, 0, UINT64_MAX / 4, &opt.bytes))
                return 2;
            break;
        case O_CHUNK:
            if (!parse_u64("--chunk", optarg, 1, 1 << 20, &v))
                return 2;
            opt.chunk = (size_t)v;
            break;
        case O_RESUME: opt.resume = true; break;
        case O_RPORT:
            if (!parse_u64("--resume-port", optarg, 1, 65535, &v))
                return 2;
            opt.resume_port = (unsigned)v;
            break;
        case O_PCN: opt.print_cn = true; break;
        case O_PALPN: opt.print_alpn = true; break;
        case O_PPORT: opt.print_local_port = true; break;
        case O_TAMPER: opt.tamper = true; break;
        case O_RESET: opt.reset_mid = true; break;
        case O_EXPFAIL: opt.expect_fail = true; break;
        case O_HOLD:
            if (!parse_u64("--hold-ms", optarg, 0, UINT64_MAX / 4, &opt.hold_ms))
                return 2;
            opt.have_hold = true;
            break;
        case O_TIMEOUT:
            if (!parse_u64("--timeout-ms", optarg, 1, UINT64_MAX / 4, &opt.timeout_ms))
                return 2;
            break;
        case O_SEED:
            if (!parse_u64("--seed", optarg, 0, UINT64_MAX, &opt.seed))
                return 2;
            break;
        case O_HELP: usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "gw_peer: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (!have_port) {
        fprintf(stderr, "gw_peer: --port is required\n");
        usage(stderr);
        return 2;
    }
    if (v12 && v13) {
        fprintf(stderr, "gw_peer: --tls1.2 and --tls1.3 exclude each other\n");
        return 2;
    }
    if (v12)
        opt.min_ver = opt.max_ver = TLS1_2_VERSION;
    if (v13)
        opt.min_ver = opt.max_ver = TLS1_3_VERSION;
    if (opt.tamper && opt.reset_mid) {
        fprintf(stderr, "gw_peer: --tamper and --reset-mid both use conn 0; pick one\n");
        return 2;
    }
    if (opt.tamper && opt.bytes <= TAMPER_AFTER) {
        fprintf(stderr, "gw_peer: --tamper needs --bytes > %d (a record after the first 16 KiB)\n",
                TAMPER_AFTER);
        return 2;
    }
    if (opt.reset_mid && opt.bytes == 0) {
        fprintf(stderr, "gw_peer: --reset-mid needs --bytes >= 1\n");
        return 2;
    }
    if (opt.resume_port && !opt.resume) {
        fprintf(stderr, "gw_peer: --resume-port only makes sense with --resume\n");
        return 2;
    }
    if (opt.resume && (opt.conns != 1 || opt.tamper || opt.reset_mid)) {
        fprintf(stderr, "gw_peer: --resume runs exactly one connection, then one resumed one: "
                "it excludes --conns > 1, --tamper and --reset-mid\n");
        return 2;
    }

    signal(SIGPIPE, SIG_IGN); /* MSG_NOSIGNAL too; this covers anything else */

    /* 1000 connections need 1000 descriptors: take the whole hard limit. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        if (rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
            getrlimit(RLIMIT_NOFILE, &rl);
        }
        if (rl.rlim_cur != RLIM_INFINITY && (uint64_t)opt.conns + 16 > rl.rlim_cur) {
            fprintf(stderr, "gw_peer: --conns %u needs more file descriptors than the limit "
                    "(%llu); raise 'ulimit -Hn'\n",
                    opt.conns, (unsigned long long)rl.rlim_cur);
            return 2;
        }
    }

    if (!resolve() || !setup_ctx())
        return 2;
    scratch = malloc(SCRATCH > opt.chunk ? SCRATCH : opt.chunk);
    expect_buf = malloc(SCRATCH);
    unsigned total = opt.resume ? 2 : opt.conns;
    struct conn *cs = calloc(total, sizeof *cs);
    if (!scratch || !expect_buf || !cs) {
        fprintf(stderr, "gw_peer: out of memory\n");
        return 2;
    }
    for (unsigned i = 0; i < total; i++)
        cs[i].idx = i;
    cs[0].tamper = opt.tamper;
    cs[0].reset_mid = opt.reset_mid;

    deadline = now_ms() + opt.timeout_ms;
    bool in_time;
    if (!opt.resume) {
        in_time = run_round(cs, total, NULL);
    } else {
        in_time = run_round(&cs[0], 1, NULL);
        if (in_time && cs[0].ph == PH_DONE) {
            if (!saved_session) {
                fprintf(stderr, "gw_peer: conn 0: no session to resume: the server sent no "
                        "session ticket / session id\n");
                return 1;
            }
            if (!SSL_SESSION_is_resumable(saved_session)) {
                fprintf(stderr, "gw_peer: conn 0: the captured session is not resumable\n");
                return 1;
            }
            if (opt.resume_port)
                set_port(opt.resume_port);
            in_time = run_round(&cs[1], 1, saved_session);
        } else {
            total = 1; /* the second connection never started */
        }
    }
    if (!in_time)
        return 1;

    int rc = 0;
    unsigned failed = 0;
    uint64_t bytes = 0;
    for (unsigned i = 0; i < total; i++) {
        bytes += cs[i].recvd;
        if (cs[i].ph == PH_FAILED)
            failed++;
    }
    if (opt.expect_fail) {
        if (cs[0].ph != PH_FAILED) {
            fprintf(stderr, "gw_peer: conn 0: succeeded, but --expect-fail expected it to fail\n");
            rc = 1;
        } else if (failed > 1) {
            fprintf(stderr, "gw_peer: %u other connection(s) failed too; only conn 0 may\n",
                    failed - 1);
            rc = 1;
        } else {
            printf("expected failure: conn 0: %s\n", cs[0].fail_msg);
        }
    } else if (failed) {
        fprintf(stderr, "gw_peer: %u of %u connection(s) failed\n", failed, total);
        rc = 1;
    } else {
        printf("ok conns=%u bytes=%" PRIu64 " resumed=%u\n", total, bytes, n_resumed);
    }
    /* Tidy up so that leak checkers (ASan) see a clean exit. */
    for (unsigned i = 0; i < total; i++)
        free(cs[i].fail_msg);
    free(cs);
    free(scratch);
    free(expect_buf);
    SSL_SESSION_free(saved_session);
    SSL_CTX_free(ctx);
    return rc;
}
