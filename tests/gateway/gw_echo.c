/*
 * gw_echo — the plain-TCP backend that sits behind zrec-gw in the gateway
 * tests (client --TLS--> gateway --plain TCP--> gw_echo).  No TLS here: this
 * program only sees what the gateway forwards, so every check it makes is a
 * check of the gateway's plaintext side.
 *
 *   gw_echo --port P [--bind 127.0.0.1] [--proxy-log FILE] [--mode echo|sink]
 *           [--close-after-bytes N] [--timeout-ms N]
 *
 * One detached thread per connection with blocking I/O: the backend is not
 * what is under test, so the simplest model that cannot lose bytes wins.
 *
 * --proxy-log: every connection must start with a PROXY protocol v2 header
 * (HAProxy's proxy-protocol.txt §2.2).  It is parsed here strictly and
 * independently of the gateway's own encoder (tools/gw/gw_proxy.c), so that
 * a bug shared by encoder and decoder cannot hide.  One line per connection
 * is appended to FILE:
 *     ok src=IP:PORT dst=IP:PORT alpn=VALUE authority=VALUE
 *     bad <reason>
 * (IPv6 addresses are written [ADDR]:PORT; VALUE is '-' when the TLV is
 * absent; bytes outside printable ASCII, and '\', are written \xHH.)
 *
 * Exit: 0 when the lifetime (--timeout-ms, default 60000, 0 = until killed)
 * ends, 2 on bad usage, 1 on a setup error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IO_BUF (64 * 1024)

/* PROXY v2 constants, proxy-protocol.txt §2.2. */
static const uint8_t pp2_sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                    0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};
#define PP2_VER_CMD_PROXY 0x21 /* version 2, command PROXY */
#define PP2_FAM_TCP4 0x11
#define PP2_FAM_TCP6 0x21
#define PP2_TYPE_ALPN 0x01
#define PP2_TYPE_AUTHORITY 0x02
#define PP2_TYPE_CRC32C 0x03

enum mode { MODE_ECHO, MODE_SINK };

/* Set once in main() before any thread starts; read-only afterwards. */
static struct {
    unsigned port;
    const char *bind;
    const char *proxy_log;
    int log_fd;
    enum mode mode;
    bool have_close_after;
    uint64_t close_after;
    uint64_t timeout_ms;
} opt = {.bind = "127.0.0.1", .log_fd = -1, .timeout_ms = 60000};

static void usage(FILE *f)
{
    fputs("usage: gw_echo --port P [--bind ADDR] [--proxy-log FILE] [--mode echo|sink]\n"
          "               [--close-after-bytes N] [--timeout-ms N]\n"
          "\n"
          "Plain-TCP backend for the zrec-gw tests; one thread per connection.\n"
          "  --port P               TCP port to listen on (0: pick one; the port is\n"
          "                         printed on stderr: 'gw_echo: listening on ADDR:P')\n"
          "  --bind ADDR            loopback address to listen on (default 127.0.0.1)\n"
          "  --mode echo|sink       echo: send every byte back until the client's FIN\n"
          "                         (default); sink: read and discard\n"
          "  --proxy-log FILE       require a PROXY protocol v2 header on every\n"
          "                         connection; append 'ok src=.. dst=.. alpn=..\n"
          "                         authority=..' or 'bad <reason>' to FILE\n"
          "  --close-after-bytes N  after N payload bytes on a connection (echoed\n"
          "                         first in echo mode), reset it (RST)\n"
          "  --timeout-ms N         exit after N ms (default 60000; 0: run until killed)\n",
          f);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static bool parse_u64(const char *name, const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    if (*s == '-' || *s == '\0')
        goto bad;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        goto bad;
    *out = v;
    return true;
bad:
    fprintf(stderr, "gw_echo: %s: '%s' is not a number in 0..%" PRIu64 "\n", name, s, max);
    return false;
}

/* Both for --bind and for the log: only loopback is ever used by the tests,
 * and refusing anything else keeps a mistyped address from exposing a
 * listener on the network. */
static bool is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const void *)ss;
        return (ntohl(s->sin_addr.s_addr) >> 24) == 127;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const void *)ss;
        if (IN6_IS_ADDR_LOOPBACK(&s->sin6_addr))
            return true;
        return IN6_IS_ADDR_V4MAPPED(&s->sin6_addr) && s->sin6_addr.s6_addr[12] == 127;
    }
    return false;
}

/* ---- connection I/O helpers ---------------------------------------------- */

/* Reads exactly n bytes unless EOF or an error comes first; returns the count
 * read.  Exactness matters for the PROXY header: reading past it would
 * swallow payload that must be echoed. */
static size_t recv_exact(int fd, uint8_t *p, size_t n, int *err)
{
    size_t got = 0;
    *err = 0;
    while (got < n) {
        ssize_t r = recv(fd, p + got, n - got, 0);
        if (r > 0) {
            got += (size_t)r;
        } else if (r == 0) {
            break;
        } else if (errno != EINTR) {
            *err = errno;
            break;
        }
    }
    return got;
}

static bool send_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        /* MSG_NOSIGNAL: a client that resets must cost us one connection,
         * not the process (SIGPIPE is also ignored, belt and braces). */
        ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
        if (r > 0) {
            p += r;
            n -= (size_t)r;
        } else if (r < 0 && errno != EINTR) {
            return false;
        }
    }
    return true;
}

/* SO_LINGER {1,0} makes close() send RST instead of FIN: the backend
 * "dies" mid-stream, as --close-after-bytes promises. */
static void close_rst(int fd)
{
    /* An RST throws away whatever is still in our send queue, so first let
     * the echoed bytes reach the peer (SIOCOUTQ: bytes not yet acked), for
     * at most 2 s: the test must know exactly which bytes left before the
     * reset. */
    for (int i = 0; i < 2000; i++) {
        int q = 0;
        if (ioctl(fd, SIOCOUTQ, &q) < 0 || q == 0)
            break;
        struct timespec ms = {.tv_sec = 0, .tv_nsec = 1000000};
        nanosleep(&ms, NULL);
    }
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

/* ---- PROXY v2 ------------------------------------------------------------ */

/* One write() per line on an O_APPEND descriptor: lines from concurrent
 * connections never interleave. */
static void log_line(const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof buf - 2)
        n = (int)sizeof buf - 2; /* truncated, but still one line */
    buf[n++] = '\n';
    if (write(opt.log_fd, buf, (size_t)n) != n)
        fprintf(stderr, "gw_echo: writing %s: %s\n", opt.proxy_log, strerror(errno));
}

/* TLV values are arbitrary bytes; escape them so a log line stays one line
 * of printable text and a test can compare it with a plain string. */
static void escape(char *out, size_t cap, const uint8_t *v, size_t n, bool present)
{
    if (!present) {
        snprintf(out, cap, "-");
        return;
    }
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 < cap; i++) {
        if (v[i] > 0x20 && v[i] < 0x7f && v[i] != '\\')
            out[o++] = (char)v[i];
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", v[i]);
    }
    out[o] = '\0';
}

/* CRC32C (Castagnoli, reflected 0x82F63B78), §2.2.5: if the gateway sends a
 * PP2_TYPE_CRC32C TLV we hold it to it. Bitwise is plenty for ~100 bytes. */
static uint32_t crc32c(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1u)));
    }
    return ~c;
}

static void fmt_addr(char *out, size_t cap, int fam, const uint8_t *a, const uint8_t *port)
{
    char ip[INET6_ADDRSTRLEN];
    unsigned p = (unsigned)port[0] << 8 | port[1];
    inet_ntop(fam, a, ip, sizeof ip);
    if (fam == AF_INET6)
        snprintf(out, cap, "[%s]:%u", ip, p);
    else
        snprintf(out, cap, "%s:%u", ip, p);
}

/* Reads and checks the header; logs exactly one line; returns false if the
 * connection must be closed. */
static bool proxy_header(int fd)
{
    uint8_t *h = malloc(16 + 65535);
    bool ok = false;
    int err;
    if (!h) {
        log_line("bad out of memory");
        return false;
    }
    size_t got = recv_exact(fd, h, 16, &err);
    if (got < 16) {
        if (err)
            log_line("bad recv error after %zu of 16 fixed header bytes: %s", got, strerror(err));
        else
            log_line("bad EOF after %zu of 16 fixed header bytes", got);
        goto out;
    }
    if (memcmp(h, pp2_sig, 12) != 0) {
        log_line("bad signature (first bytes %02x %02x %02x %02x, want 0d 0a 0d 0a)", h[0],
                 h[1], h[2], h[3]);
        goto out;
    }
    if (h[12] != PP2_VER_CMD_PROXY) {
        log_line("bad ver_cmd 0x%02x (want 0x21: version 2, PROXY)", h[12]);
        goto out;
    }
    size_t alen;
    int af;
    if (h[13] == PP2_FAM_TCP4) {
        alen = 12;
        af = AF_INET;
    } else if (h[13] == PP2_FAM_TCP6) {
        alen = 36;
        af = AF_INET6;
    } else {
        log_line("bad family 0x%02x (want 0x11 TCP/IPv4 or 0x21 TCP/IPv6)", h[13]);
        goto out;
    }
    size_t len = (size_t)h[14] << 8 | h[15];
    if (len < alen) {
        log_line("bad length %zu shorter than the %zu address bytes of family 0x%02x", len,
                 alen, h[13]);
        goto out;
    }
    got = recv_exact(fd, h + 16, len, &err);
    if (got < len) {
        if (err)
            log_line("bad recv error after %zu of %zu address/TLV bytes: %s", got, len,
                     strerror(err));
        else
            log_line("bad EOF after %zu of %zu address/TLV bytes", got, len);
        goto out;
    }

    const uint8_t *a = h + 16;
    size_t al = af == AF_INET ? 4 : 16;
    char src[64], dst[64];
    fmt_addr(src, sizeof src, af, a, a + 2 * al);
    fmt_addr(dst, sizeof dst, af, a + al, a + 2 * al + 2);

    /* TLVs must tile the rest of the header exactly: a trailing partial TLV
     * means the gateway mis-computed a length. */
    const uint8_t *alpn = NULL, *auth = NULL;
    size_t alpn_len = 0, auth_len = 0;
    size_t off = 16 + alen, end = 16 + len;
    while (off < end) {
        if (end - off < 3) {
            log_line("bad TLV at header offset %zu: %zu bytes left, a TLV header needs 3", off,
                     end - off);
            goto out;
        }
        uint8_t type = h[off];
        size_t vlen = (size_t)h[off + 1] << 8 | h[off + 2];
        if (vlen > end - off - 3) {
            log_line("bad TLV type 0x%02x at header offset %zu: length %zu overruns the header "
                     "by %zu bytes",
                     type, off, vlen, vlen - (end - off - 3));
            goto out;
        }
        const uint8_t *v = h + off + 3;
        if (type == PP2_TYPE_ALPN || type == PP2_TYPE_AUTHORITY) {
            const char *name = type == PP2_TYPE_ALPN ? "ALPN" : "AUTHORITY";
            if ((type == PP2_TYPE_ALPN ? alpn : auth) != NULL) {
                log_line("bad duplicate %s TLV", name);
                goto out;
            }
            if (vlen == 0) {
                /* A zero-length value is indistinguishable from "absent" for
                 * the backend; a gateway should omit the TLV instead. */
                log_line("bad empty %s TLV", name);
                goto out;
            }
            if (type == PP2_TYPE_ALPN) {
                alpn = v;
                alpn_len = vlen;
            } else {
                auth = v;
                auth_len = vlen;
            }
        } else if (type == PP2_TYPE_CRC32C) {
            if (vlen != 4) {
                log_line("bad CRC32C TLV length %zu (want 4)", vlen);
                goto out;
            }
            uint32_t want = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3];
            uint8_t saved[4];
            memcpy(saved, h + off + 3, 4);
            memset(h + off + 3, 0, 4);
            uint32_t have = crc32c(h, 16 + len);
            memcpy(h + off + 3, saved, 4);
            if (have != want) {
                log_line("bad CRC32C 0x%08x, computed 0x%08x", want, have);
                goto out;
            }
        }
        /* Other types (NOOP, UNIQUE_ID, SSL, NETNS, ...) are legal and not
         * reported. */
        off += 3 + vlen;
    }

    char ealpn[1024], eauth[1024];
    escape(ealpn, sizeof ealpn, alpn, alpn_len, alpn != NULL);
    escape(eauth, sizeof eauth, auth, auth_len, auth != NULL);
    log_line("ok src=%s dst=%s alpn=%s authority=%s", src, dst, ealpn, eauth);
    ok = true;
out:
    free(h);
    return ok;
}

/* ---- per connection ------------------------------------------------------ */

static void *conn_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    uint8_t *buf = malloc(IO_BUF);
    if (!buf) {
        fprintf(stderr, "gw_echo: out of memory for a connection buffer\n");
        close(fd);
        return NULL;
    }
    if (opt.log_fd >= 0 && !proxy_header(fd)) {
        close(fd);
        free(buf);
        return NULL;
    }
    uint64_t total = 0;
    for (;;) {
        if (opt.have_close_after && total >= opt.close_after) {
            close_rst(fd);
            fd = -1;
            break;
        }
        size_t want = IO_BUF;
        /* Never read past N: exactly N bytes are echoed before the RST. */
        if (opt.have_close_after && opt.close_after - total < want)
            want = (size_t)(opt.close_after - total);
        ssize_t n = recv(fd, buf, want, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break; /* reset by the client: nothing to report, just close */
        }
        if (n == 0) {
            /* The client's FIN: everything has been echoed, so half-close
             * our side, which the gateway must pass on as the end of the
             * stream. */
            shutdown(fd, SHUT_WR);
            break;
        }
        if (opt.mode == MODE_ECHO && !send_all(fd, buf, (size_t)n))
            break;
        total += (uint64_t)n;
    }
    if (fd >= 0)
        close(fd);
    free(buf);
    return NULL;
}

int main(int argc, char **argv)
{
    enum { O_PORT = 1, O_BIND, O_LOG, O_MODE, O_CLOSE, O_TIMEOUT, O_HELP };
    static const struct option lo[] = {
        {"port", required_argument, 0, O_PORT},
        {"bind", required_argument, 0, O_BIND},
        {"proxy-log", required_argument, 0, O_LOG},
        {"mode", required_argument, 0, O_MODE},
        {"close-after-bytes", required_argument, 0, O_CLOSE},
        {"timeout-ms", required_argument, 0, O_TIMEOUT},
        {"help", no_argument, 0, O_HELP},
        {0, 0, 0, 0},
    };
    bool have_port = false;
    uint64_t v;
    int o;
    while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (o) {
        case O_PORT:
            if (!parse_u64("--port", optarg, 65535, &v))
                return 2;
            opt.port = (unsigned)v;
            have_port = true;
            break;
        case O_BIND:
            opt.bind = optarg;
            break;
        case O_LOG:
            opt.proxy_log = optarg;
            break;
        case O_MODE:
            if (strcmp(optarg, "echo") == 0)
                opt.mode = MODE_ECHO;
            else if (strcmp(optarg, "sink") == 0)
                opt.mode = MODE_SINK;
            else {
                fprintf(stderr, "gw_echo: --mode: '%s' is neither 'echo' nor 'sink'\n", optarg);
                return 2;
            }
            break;
        case O_CLOSE:
            if (!parse_u64("--close-after-bytes", optarg, UINT64_MAX, &opt.close_after))
                return 2;
            opt.have_close_after = true;
            break;
        case O_TIMEOUT:
            if (!parse_u64("--timeout-ms", optarg, UINT64_MAX / 2, &opt.timeout_ms))
                return 2;
            break;
        case O_HELP:
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "gw_echo: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (!have_port) {
        fprintf(stderr, "gw_echo: --port is required\n");
        usage(stderr);
        return 2;
    }

    signal(SIGPIPE, SIG_IGN);

    /* Tests hold ~1000 gateway connections, each with a backend connection
     * here: the default soft limit (often 1024) is too small. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    if (opt.proxy_log) {
        opt.log_fd = open(opt.proxy_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (opt.log_fd < 0) {
            fprintf(stderr, "gw_echo: cannot open --proxy-log %s: %s\n", opt.proxy_log,
                    strerror(errno));
            return 1;
        }
    }

    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    struct sockaddr_in *s4 = (void *)&ss;
    struct sockaddr_in6 *s6 = (void *)&ss;
    if (inet_pton(AF_INET, opt.bind, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)opt.port);
        sl = sizeof *s4;
    } else if (inet_pton(AF_INET6, opt.bind, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)opt.port);
        sl = sizeof *s6;
    } else {
        fprintf(stderr, "gw_echo: --bind: '%s' is not a numeric IPv4/IPv6 address\n", opt.bind);
        return 2;
    }
    if (!is_loopback(&ss)) {
        fprintf(stderr, "gw_echo: --bind %s is not a loopback address; the tests stay on loopback\n",
                opt.bind);
        return 2;
    }

    int lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0) {
        fprintf(stderr, "gw_echo: socket: %s\n", strerror(errno));
        return 1;
    }
    int one = 1;
    /* SO_REUSEADDR: tests restart the backend on the same port while old
     * connections sit in TIME_WAIT. */
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)&ss, sl) < 0) {
        fprintf(stderr, "gw_echo: bind %s port %u: %s\n", opt.bind, opt.port, strerror(errno));
        return 1;
    }
    if (listen(lfd, 4096) < 0) {
        fprintf(stderr, "gw_echo: listen: %s\n", strerror(errno));
        return 1;
    }
    sl = sizeof ss;
    getsockname(lfd, (struct sockaddr *)&ss, &sl);
    unsigned port = ntohs(ss.ss_family == AF_INET ? s4->sin_port : s6->sin6_port);
    fprintf(stderr, "gw_echo: listening on %s:%u\n", opt.bind, port);
    fflush(stderr);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* Buffers are on the heap; a small stack keeps 1000+ threads cheap. */
    pthread_attr_setstacksize(&attr, 128 * 1024);

    uint64_t deadline = opt.timeout_ms ? now_ms() + opt.timeout_ms : 0;
    bool warned_emfile = false;
    for (;;) {
        int wait = -1;
        if (deadline) {
            uint64_t t = now_ms();
            if (t >= deadline) {
                fprintf(stderr, "gw_echo: lifetime of %" PRIu64 " ms (--timeout-ms) is over, exiting\n",
                        opt.timeout_ms);
                return 0;
            }
            wait = deadline - t > 1000 ? 1000 : (int)(deadline - t);
        }
        struct pollfd pfd = {.fd = lfd, .events = POLLIN};
        int pr = poll(&pfd, 1, wait);
        if (pr < 0 && errno != EINTR) {
            fprintf(stderr, "gw_echo: poll: %s\n", strerror(errno));
            return 1;
        }
        if (pr <= 0)
            continue;
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) {
                /* Out of descriptors: back off briefly instead of spinning;
                 * the pending connection stays in the backlog. */
                if (!warned_emfile)
                    fprintf(stderr, "gw_echo: accept: %s (raise the fd limit?)\n",
                            strerror(errno));
                warned_emfile = true;
                usleep(10000);
            }
            continue; /* ECONNABORTED, EINTR, ...: the next one may be fine */
        }
        pthread_t th;
        int e = pthread_create(&th, &attr, conn_main, (void *)(intptr_t)fd);
        if (e) {
            fprintf(stderr, "gw_echo: pthread_create: %s; dropping the connection\n", strerror(e));
            close_rst(fd);
        }
    }
}
