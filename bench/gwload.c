/*
 * zrec-gwload: a load generator for zrec-gw (client --TLS--> gateway --TCP-->
 * backend), loopback only.  One program, three roles, each on one thread:
 *
 *   backend     plain TCP server (epoll): discards (up) or streams (down)
 *   client      N connections; TLS handshake by wolfSSL, then the records are
 *               sealed/opened by the zrec engine; throughput in one epoll loop
 *   handshakes  handshake rate with non-blocking wolfSSL clients
 *
 * Exactly one JSON line on stdout at the end; human messages on stderr.
 *
 * Build (by hand):
 *   gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Iengine/include \
 *       -I<wolfssl>/include bench/gwload.c -o zrec-gwload \
 *       -Lbuild/engine -lzrec -lpthread -Wl,-rpath,build/engine
 */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <zrec/wolfssl.h>
#include <zrec/zrec.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------------- */
/* Options                                                                 */
/* ---------------------------------------------------------------------- */

enum role { ROLE_BACKEND, ROLE_CLIENT, ROLE_HANDSHAKES };
enum dir { DIR_NONE = -1, DIR_UP = 0, DIR_DOWN = 1 };
enum seal_mode { SEAL_BURST, SEAL_RECORD };

#define R_B (1u << ROLE_BACKEND)
#define R_C (1u << ROLE_CLIENT)
#define R_H (1u << ROLE_HANDSHAKES)

static struct opts {
    enum role role;
    struct sockaddr_in addr;
    bool have_addr;
    enum dir dir;
    size_t size;
    long conns;
    double seconds, warmup;
    bool seconds_set, warmup_set;
    bool plain, proxy, resume, verify_each;
    const char *ca, *sni, *cipher;
    int tls; /* 12 or 13 */
    int cpu; /* -1: not pinned */
    long conc;
    enum seal_mode seal;
    long batch; /* records per write, 0 = auto */
    size_t rxbuf;
    int group; /* key share group (0 = wolfSSL's default) */
    long stat_pid; /* --stat-pid: whose CPU time to report as peer_cpu (0: none) */
} o = {
    .dir = DIR_NONE,
    .size = 16384,
    .conns = 8,
    .seconds = 3.0,
    .warmup = 0.5,
    .tls = 13,
    .cpu = -1,
    .conc = 16,
    .seal = SEAL_RECORD,
    .batch = 0,
    .rxbuf = 0,
};

static const char *prog = "zrec-gwload";

static void usage(FILE *f)
{
    fprintf(f,
        "usage:\n"
        "  %s backend --listen 127.0.0.1:PORT --dir up|down [--size BYTES] [--cpu N]\n"
        "          [--proxy] [--seconds S]\n"
        "  %s client --connect 127.0.0.1:PORT --dir up|down [--conns N] [--size BYTES]\n"
        "          [--seconds S] [--warmup S] [--plain] [--ca FILE] [--sni NAME]\n"
        "          [--tls1.2|--tls1.3] [--cipher WOLFSSL_NAME] [--group x25519|p256]\n"
        "          [--cpu N] [--seal burst|record] [--batch N] [--rxbuf BYTES]\n"
        "  %s handshakes --connect 127.0.0.1:PORT [--seconds S] [--resume] [--ca FILE]\n"
        "          [--sni NAME] [--group x25519|p256] [--cpu N] [--conc N] [--warmup S]\n"
        "          [--verify-each]\n"
        "\n"
        "backend     plain TCP server, every connection served by one epoll thread.\n"
        "            up: read and discard; down: send a --size byte buffer over and\n"
        "            over (default 16384; many copies per sendmsg).  --proxy: skip a\n"
        "            PROXY v2 header first.\n"
        "            Runs until SIGTERM/SIGINT (or --seconds S if given), then prints\n"
        "            {\"role\":\"backend\",\"bytes\":B}.\n"
        "client      --conns connections (default 8).  TLS (default 1.3,\n"
        "            TLS13-AES128-GCM-SHA256) handshake by wolfSSL, then the zrec engine\n"
        "            seals/opens the records.  up: write records of --size payload bytes\n"
        "            (default 16384); down: read and open records.  --plain: raw TCP.\n"
        "            --warmup S (default 0.5) uncounted, then --seconds S (default 3)\n"
        "            counted.  --ca: verify the server against FILE (else no check);\n"
        "            with --sni too, the certificate must match that name.\n"
        "            Tuning: --seal record (zrec_seal_record one record at a time,\n"
        "            the default: measured a little faster) or burst (zrec_seal_burst,\n"
        "            up to 32 records across connections); --batch N: records (with\n"
        "            --plain, --size chunks) per send() (default: about 64 KiB worth,\n"
        "            1 to 32); --rxbuf BYTES: receive buffer per connection (default\n"
        "            128 KiB for down).\n"
        "handshakes  --conc (default 16) TLS 1.3 handshakes in flight, each connection\n"
        "            closed when its handshake is done and replaced at once, for\n"
        "            --seconds (default 3).  --resume: offer a session ticket taken\n"
        "            from a first full handshake; \"resumed\" counts the reused ones.\n"
        "            A first, untimed handshake verifies the certificate (with --ca);\n"
        "            the timed ones skip the chain check and the ECDSA check of the\n"
        "            server's CertificateVerify (client-side costs that would make the\n"
        "            client the bottleneck), unless --verify-each.\n"
        "--group     key share offered (default x25519, the cheapest for both ends).\n"
        "--cpu N     pin the (single) thread to CPU N.\n"
        "--stat-pid P  report P's CPU seconds over the counted interval as peer_cpu\n"
        "            (from /proc/P/stat, all threads): the terminator's cost.\n"
        "\n"
        "Output: one JSON line on stdout; messages on stderr.  Exit 0 on success,\n"
        "1 on a connection/TLS/record failure, 2 on bad arguments.\n",
        prog, prog, prog);
}

static void die_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(try %s --help)\n", prog);
    va_end(ap);
    exit(2);
}

static void fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: error: ", prog);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static void note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

static long parse_long(const char *opt, const char *v, long min, long max)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < min || x > max)
        die_usage("%s: '%s' is not an integer in [%ld, %ld]", opt, v, min, max);
    return x;
}

static double parse_double(const char *opt, const char *v, double min, double max)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !(x >= min && x <= max))
        die_usage("%s: '%s' is not a number in [%g, %g]", opt, v, min, max);
    return x;
}

static void parse_addr(const char *opt, const char *v)
{
    char host[64];
    const char *colon = strrchr(v, ':');
    if (colon == NULL || (size_t)(colon - v) >= sizeof host)
        die_usage("%s: expected 127.0.0.1:PORT, got '%s'", opt, v);
    memcpy(host, v, (size_t)(colon - v));
    host[colon - v] = 0;
    memset(&o.addr, 0, sizeof o.addr);
    o.addr.sin_family = AF_INET;
    if (inet_pton(AF_INET, host, &o.addr.sin_addr) != 1)
        die_usage("%s: '%s' is not an IPv4 address", opt, host);
    if ((ntohl(o.addr.sin_addr.s_addr) >> 24) != 127)
        die_usage("%s: %s is not a loopback address (127.0.0.0/8 only)", opt, host);
    o.addr.sin_port = htons((uint16_t)parse_long(opt, colon + 1, 1, 65535));
    o.have_addr = true;
}

static void parse_args(int argc, char **argv)
{
    if (argc < 2)
        die_usage("a role is needed: backend, client or handshakes");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        exit(0);
    }
    if (!strcmp(argv[1], "backend"))
        o.role = ROLE_BACKEND;
    else if (!strcmp(argv[1], "client"))
        o.role = ROLE_CLIENT;
    else if (!strcmp(argv[1], "handshakes"))
        o.role = ROLE_HANDSHAKES;
    else
        die_usage("unknown role '%s' (backend, client or handshakes)", argv[1]);
    unsigned me = 1u << o.role;

    static const struct {
        const char *name;
        unsigned roles;
        bool arg;
    } tab[] = {
        {"--listen", R_B, true},      {"--connect", R_C | R_H, true},
        {"--dir", R_B | R_C, true},   {"--size", R_B | R_C, true},
        {"--cpu", R_B | R_C | R_H, true},
        {"--proxy", R_B, false},      {"--conns", R_C, true},
        {"--seconds", R_B | R_C | R_H, true},
        {"--warmup", R_C | R_H, true}, {"--plain", R_C, false},
        {"--ca", R_C | R_H, true},    {"--sni", R_C | R_H, true},
        {"--tls1.2", R_C, false},     {"--tls1.3", R_C, false},
        {"--cipher", R_C, true},      {"--resume", R_H, false},
        {"--conc", R_H, true},        {"--seal", R_C, true},
        {"--verify-each", R_H, false},
        {"--batch", R_C, true},       {"--rxbuf", R_C, true},
        {"--group", R_C | R_H, true}, {"--help", R_B | R_C | R_H, false},
        {"--stat-pid", R_C | R_H, true},
        {"-h", R_B | R_C | R_H, false},
    };
    bool tls_set = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        size_t k;
        for (k = 0; k < sizeof tab / sizeof tab[0]; k++)
            if (!strcmp(a, tab[k].name))
                break;
        if (k == sizeof tab / sizeof tab[0])
            die_usage("unknown option '%s'", a);
        if (!(tab[k].roles & me))
            die_usage("option %s does not apply to the %s role", a, argv[1]);
        const char *v = NULL;
        if (tab[k].arg) {
            if (i + 1 >= argc)
                die_usage("%s needs a value", a);
            v = argv[++i];
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--listen") || !strcmp(a, "--connect")) {
            parse_addr(a, v);
        } else if (!strcmp(a, "--dir")) {
            if (!strcmp(v, "up"))
                o.dir = DIR_UP;
            else if (!strcmp(v, "down"))
                o.dir = DIR_DOWN;
            else
                die_usage("--dir: up or down, not '%s'", v);
        } else if (!strcmp(a, "--size")) {
            o.size = (size_t)parse_long(a, v, 1, 1 << 24);
        } else if (!strcmp(a, "--stat-pid")) {
            o.stat_pid = parse_long(a, v, 1, 1L << 30);
        } else if (!strcmp(a, "--cpu")) {
            o.cpu = (int)parse_long(a, v, 0, CPU_SETSIZE - 1);
        } else if (!strcmp(a, "--proxy")) {
            o.proxy = true;
        } else if (!strcmp(a, "--conns")) {
            o.conns = parse_long(a, v, 1, 100000);
        } else if (!strcmp(a, "--seconds")) {
            o.seconds = parse_double(a, v, 0.001, 86400);
            o.seconds_set = true;
        } else if (!strcmp(a, "--warmup")) {
            o.warmup = parse_double(a, v, 0, 3600);
            o.warmup_set = true;
        } else if (!strcmp(a, "--plain")) {
            o.plain = true;
        } else if (!strcmp(a, "--ca")) {
            o.ca = v;
        } else if (!strcmp(a, "--sni")) {
            if (!*v || strlen(v) > 255)
                die_usage("--sni: a name of 1 to 255 bytes");
            o.sni = v;
        } else if (!strcmp(a, "--tls1.2") || !strcmp(a, "--tls1.3")) {
            int t = a[7] == '2' ? 12 : 13;
            if (tls_set && t != o.tls)
                die_usage("--tls1.2 and --tls1.3 exclude each other");
            o.tls = t;
            tls_set = true;
        } else if (!strcmp(a, "--cipher")) {
            o.cipher = v;
        } else if (!strcmp(a, "--verify-each")) {
            o.verify_each = true;
        } else if (!strcmp(a, "--resume")) {
            o.resume = true;
        } else if (!strcmp(a, "--conc")) {
            o.conc = parse_long(a, v, 1, 10000);
        } else if (!strcmp(a, "--seal")) {
            if (!strcmp(v, "burst"))
                o.seal = SEAL_BURST;
            else if (!strcmp(v, "record"))
                o.seal = SEAL_RECORD;
            else
                die_usage("--seal: burst or record, not '%s'", v);
        } else if (!strcmp(a, "--batch")) {
            o.batch = parse_long(a, v, 1, 32);
        } else if (!strcmp(a, "--rxbuf")) {
            o.rxbuf = (size_t)parse_long(a, v, 2 * (16384 + 256 + 5), 64L << 20);
        } else if (!strcmp(a, "--group")) {
            if (!strcmp(v, "x25519"))
                o.group = WOLFSSL_ECC_X25519;
            else if (!strcmp(v, "p256") || !strcmp(v, "secp256r1"))
                o.group = WOLFSSL_ECC_SECP256R1;
            else
                die_usage("--group: x25519 or p256, not '%s'", v);
        }
    }
    if (!o.have_addr)
        die_usage("%s is required", o.role == ROLE_BACKEND ? "--listen" : "--connect");
    if ((o.role == ROLE_BACKEND || o.role == ROLE_CLIENT) && o.dir == DIR_NONE)
        die_usage("--dir up|down is required");
    if (o.role == ROLE_CLIENT && !o.plain && o.size > ZREC_MAX_PLAINTEXT)
        die_usage("--size: at most %u bytes per TLS record", ZREC_MAX_PLAINTEXT);
    if (o.role == ROLE_CLIENT && o.plain &&
        (o.ca || o.sni || o.cipher || tls_set || o.group))
        die_usage("--plain takes no TLS option");
    if (o.role == ROLE_HANDSHAKES && !o.warmup_set)
        o.warmup = 0;
    if (o.role == ROLE_BACKEND && !o.seconds_set)
        o.seconds = 0; /* until a signal */
    if (o.group == 0)
        o.group = WOLFSSL_ECC_X25519;
}

/* ---------------------------------------------------------------------- */
/* Common helpers                                                          */
/* ---------------------------------------------------------------------- */

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int ms_until(double t, double cap)
{
    double d = t - now();
    if (d > cap)
        d = cap;
    if (d <= 0)
        return 0;
    return (int)(d * 1000.0) + 1;
}

static void common_setup(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_signal; /* no SA_RESTART: epoll_wait returns EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            note("warning: cannot raise RLIMIT_NOFILE: %s", strerror(errno));
    }
    if (o.cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(o.cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set) != 0)
            fatal("cannot pin to CPU %d: %s", o.cpu, strerror(errno));
    }
}

static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        fatal("fcntl O_NONBLOCK: %s", strerror(errno));
}

static const char *addr_str(void)
{
    static char s[64];
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &o.addr.sin_addr, ip, sizeof ip);
    snprintf(s, sizeof s, "%s:%u", ip, ntohs(o.addr.sin_port));
    return s;
}

static void *xmalloc(size_t n)
{
    /* 64-byte aligned, size rounded up as aligned_alloc wants. */
    size_t r = (n + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, r ? r : 64);
    if (p == NULL)
        fatal("out of memory (%zu bytes)", n);
    return p;
}

struct cpu_mark {
    double t;
    double user, sys;
    double peer; /* --stat-pid's user + system CPU seconds, all its threads */
};

/* utime + stime of a process (fields 14 and 15 of /proc/PID/stat, after
 * the parenthesised command name, which may itself hold spaces). */
static double proc_cpu(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static struct cpu_mark cpu_mark(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    struct cpu_mark m = {
        .t = now(),
        .user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6,
        .sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6,
        .peer = o.stat_pid ? proc_cpu(o.stat_pid) : 0,
    };
    return m;
}

static const char *wolf_err(WOLFSSL *ssl, int rc)
{
    static char buf[WOLFSSL_MAX_ERROR_SZ + 32];
    int err = wolfSSL_get_error(ssl, rc);
    char s[WOLFSSL_MAX_ERROR_SZ];
    wolfSSL_ERR_error_string_n((unsigned long)err, s, sizeof s);
    snprintf(buf, sizeof buf, "%d, %s", err, s);
    return buf;
}

/* ---------------------------------------------------------------------- */
/* Backend                                                                 */
/* ---------------------------------------------------------------------- */

struct bconn {
    int fd;
    bool hdr_done;
    uint8_t hdr_have;
    uint8_t hdr[16];
    size_t skip;  /* PROXY v2 address/TLV bytes still to skip */
    size_t off;   /* down: offset in the static buffer */
};

static const uint8_t proxy_sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                      0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

static int listen_marker;

static void bconn_close(int ep, struct bconn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
}

/* Returns false when the connection is to be closed. */
static bool backend_read(struct bconn *c, uint8_t *buf, size_t cap, uint64_t *bytes)
{
    for (int iter = 0; iter < 16; iter++) {
        size_t want = cap;
        if (!c->hdr_done) {
            if (c->hdr_have < 16)
                want = 16u - c->hdr_have;
            else
                want = c->skip < cap ? c->skip : cap;
        }
        ssize_t n = recv(c->fd, (!c->hdr_done && c->hdr_have < 16) ? c->hdr + c->hdr_have : buf,
                         want, 0);
        if (n == 0)
            return false;
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return true;
            if (errno == EINTR)
                continue;
            return false;
        }
        if (c->hdr_done) {
            if (o.dir == DIR_UP)
                *bytes += (uint64_t)n;
            continue;
        }
        if (c->hdr_have < 16) {
            c->hdr_have = (uint8_t)(c->hdr_have + n);
            if (c->hdr_have == 16) {
                if (memcmp(c->hdr, proxy_sig, 12) != 0 || (c->hdr[12] >> 4) != 2) {
                    note("backend: connection without a PROXY v2 header: closed");
                    return false;
                }
                c->skip = ((size_t)c->hdr[14] << 8) | c->hdr[15];
                c->hdr_done = c->skip == 0;
            }
        } else {
            c->skip -= (size_t)n;
            c->hdr_done = c->skip == 0;
        }
    }
    return true;
}

static bool backend_write(struct bconn *c, const uint8_t *sbuf, uint64_t *bytes)
{
    /* The static buffer over and over; several copies per sendmsg so that
     * the backend is not the bottleneck at small sizes. */
    static struct iovec iov[1024];
    size_t niov = (256u << 10) / o.size;
    if (niov < 2)
        niov = 2;
    if (niov > 1024)
        niov = 1024;
    for (int iter = 0; iter < 8; iter++) {
        iov[0].iov_base = (void *)(sbuf + c->off);
        iov[0].iov_len = o.size - c->off;
        for (size_t i = 1; i < niov; i++) {
            iov[i].iov_base = (void *)sbuf;
            iov[i].iov_len = o.size;
        }
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = niov};
        ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return true;
            if (errno == EINTR)
                continue;
            return false;
        }
        *bytes += (uint64_t)n;
        c->off = (c->off + (size_t)n) % o.size;
    }
    return true;
}

static int run_backend(void)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0)
        fatal("socket: %s", strerror(errno));
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)&o.addr, sizeof o.addr) != 0)
        fatal("bind %s: %s", addr_str(), strerror(errno));
    if (listen(lfd, 4096) != 0)
        fatal("listen: %s", strerror(errno));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        fatal("epoll_create1: %s", strerror(errno));
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &listen_marker};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0)
        fatal("epoll_ctl: %s", strerror(errno));

    size_t rcap = 256u << 10;
    uint8_t *rbuf = xmalloc(rcap);
    uint8_t *sbuf = xmalloc(o.size);
    for (size_t i = 0; i < o.size; i++)
        sbuf[i] = (uint8_t)(i * 131u + 7u);

    note("backend: listening on %s", addr_str());
    double end = o.seconds > 0 ? now() + o.seconds : 0;
    uint64_t bytes = 0;
    unsigned long accepted = 0;
    struct epoll_event evs[256];
    while (!stop_flag && (end == 0 || now() < end)) {
        int n = epoll_wait(ep, evs, 256, end ? ms_until(end, 0.2) : 200);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fatal("epoll_wait: %s", strerror(errno));
        }
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == &listen_marker) {
                for (;;) {
                    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0) {
                        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                            errno != ECONNABORTED)
                            note("backend: accept: %s", strerror(errno));
                        break;
                    }
                    struct bconn *c = calloc(1, sizeof *c);
                    if (c == NULL)
                        fatal("out of memory");
                    c->fd = fd;
                    c->hdr_done = !o.proxy;
                    struct epoll_event cev = {
                        .events = EPOLLIN | (o.dir == DIR_DOWN ? EPOLLOUT : 0u),
                        .data.ptr = c};
                    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev) != 0)
                        fatal("epoll_ctl: %s", strerror(errno));
                    accepted++;
                }
                continue;
            }
            struct bconn *c = evs[i].data.ptr;
            bool ok = true;
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                ok = backend_read(c, rbuf, rcap, &bytes);
            if (ok && (evs[i].events & EPOLLOUT))
                ok = backend_write(c, sbuf, &bytes);
            if (!ok)
                bconn_close(ep, c);
        }
    }
    note("backend: stopping (%lu connections accepted)", accepted);
    printf("{\"role\":\"backend\",\"bytes\":%llu}\n", (unsigned long long)bytes);
    fflush(stdout);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* TLS set-up shared by client and handshakes                              */
/* ---------------------------------------------------------------------- */

static WOLFSSL_CTX *make_ctx(bool tls13_only)
{
    if (wolfSSL_Init() != WOLFSSL_SUCCESS)
        fatal("wolfSSL_Init failed");
    WOLFSSL_METHOD *m =
        (tls13_only || o.tls == 13) ? wolfTLSv1_3_client_method() : wolfTLSv1_2_client_method();
    WOLFSSL_CTX *ctx = wolfSSL_CTX_new(m);
    if (ctx == NULL)
        fatal("wolfSSL_CTX_new failed");
    if (o.ca) {
        if (wolfSSL_CTX_load_verify_locations(ctx, o.ca, NULL) != WOLFSSL_SUCCESS)
            die_usage("--ca: cannot load CA certificates from %s", o.ca);
        wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER, NULL);
    } else {
        wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, NULL);
    }
    const char *cipher = o.cipher;
    if (cipher == NULL)
        cipher = (tls13_only || o.tls == 13)
                     ? "TLS13-AES128-GCM-SHA256"
                     : "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";
    if (wolfSSL_CTX_set_cipher_list(ctx, cipher) != WOLFSSL_SUCCESS)
        die_usage("--cipher: wolfSSL does not accept '%s'", cipher);
    /* Offer the one key share we use (and the groups the server may still
     * choose by HelloRetryRequest). */
    int groups[2] = {o.group, o.group == WOLFSSL_ECC_X25519 ? WOLFSSL_ECC_SECP256R1
                                                            : WOLFSSL_ECC_X25519};
    if (tls13_only || o.tls == 13) {
        if (wolfSSL_CTX_set_groups(ctx, groups, 2) != WOLFSSL_SUCCESS)
            note("warning: wolfSSL_CTX_set_groups failed; wolfSSL's default groups are offered");
    } else {
        for (int i = 0; i < 2; i++)
            if (wolfSSL_CTX_UseSupportedCurve(ctx, (word16)groups[i]) != WOLFSSL_SUCCESS)
                note("warning: wolfSSL_CTX_UseSupportedCurve failed");
    }
    return ctx;
}

static WOLFSSL *new_ssl(WOLFSSL_CTX *ctx, int fd, bool verify)
{
    WOLFSSL *ssl = wolfSSL_new(ctx);
    if (ssl == NULL)
        fatal("wolfSSL_new failed");
    if (o.sni) {
        if (wolfSSL_UseSNI(ssl, WOLFSSL_SNI_HOST_NAME, o.sni, (unsigned short)strlen(o.sni)) !=
            WOLFSSL_SUCCESS)
            fatal("wolfSSL_UseSNI failed");
        if (o.ca && verify && wolfSSL_check_domain_name(ssl, o.sni) != WOLFSSL_SUCCESS)
            fatal("wolfSSL_check_domain_name failed");
    }
    if (o.tls == 13 || o.role == ROLE_HANDSHAKES) {
        if (wolfSSL_UseKeyShare(ssl, (word16)o.group) != WOLFSSL_SUCCESS)
            note("warning: wolfSSL_UseKeyShare failed");
    }
    if (wolfSSL_set_fd(ssl, fd) != WOLFSSL_SUCCESS)
        fatal("wolfSSL_set_fd failed");
    return ssl;
}

/* A blocking TCP connect, bounded by SO_SNDTIMEO/SO_RCVTIMEO. */
static int connect_blocking(double timeout, int idx)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        fatal("socket: %s", strerror(errno));
    struct timeval tv = {.tv_sec = (time_t)timeout,
                         .tv_usec = (suseconds_t)((timeout - (double)(time_t)timeout) * 1e6)};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&o.addr, sizeof o.addr) != 0)
        fatal("connection %d: connect %s: %s", idx, addr_str(),
              errno == EINPROGRESS ? "timed out" : strerror(errno));
    return fd;
}

/* ---------------------------------------------------------------------- */
/* Client                                                                  */
/* ---------------------------------------------------------------------- */

struct cconn {
    int fd;
    int idx;
    struct zrec_session *s;
    /* transmit: k record slots [headroom | payload | tailroom], contiguous */
    uint8_t *tx;
    const uint8_t *out; /* pending bytes */
    size_t out_len;
    uint64_t out_payload; /* counted when `out` is fully written */
    uint8_t ctl[64];      /* a KeyUpdate */
    /* receive */
    uint8_t *rx;
    size_t rx_have;
    bool in_rd, in_wr;
};

static struct {
    struct cconn *c;
    long n;
    size_t hr, tr, slot; /* per record slot */
    unsigned k;           /* records per write */
    size_t rxcap;
    uint8_t *plainbuf; /* --plain up */
    uint64_t bytes;    /* total counted (all time) */
    struct cconn **rd, **wr;
    long nrd, nwr;
} cl;

static void cl_want_read(struct cconn *c)
{
    if (!c->in_rd) {
        c->in_rd = true;
        cl.rd[cl.nrd++] = c;
    }
}

static void cl_want_write(struct cconn *c)
{
    if (!c->in_wr) {
        c->in_wr = true;
        cl.wr[cl.nwr++] = c;
    }
}

/* Open the complete records in c->rx.  Fatal on any record error. */
static void cl_open_records(struct cconn *c)
{
    size_t off = 0;
    while (off < c->rx_have) {
        long n = zrec_record_length(c->s, c->rx + off, c->rx_have - off);
        if (n < 0)
            fatal("connection %d: bad record header from the gateway (%s)", c->idx,
                  strerror((int)-n));
        if (n == 0 || (size_t)n > c->rx_have - off)
            break;
        uint8_t *plain, type = 0;
        int rc = zrec_open_record(c->s, c->rx + off, (size_t)n, &plain, &type);
        if (rc < 0) {
            if (rc == -EBADMSG)
                fatal("connection %d: record authentication failed (bad_record_mac)", c->idx);
            fatal("connection %d: cannot open record: %s", c->idx, strerror(-rc));
        }
        off += (size_t)n;
        if (type == ZREC_CT_APPLICATION_DATA) {
            if (o.dir == DIR_DOWN)
                cl.bytes += (uint64_t)rc;
        } else if (type == ZREC_CT_ALERT) {
            unsigned ev = zrec_session_events(c->s);
            if (ev & ZREC_EV_PEER_CLOSED)
                fatal("connection %d: the gateway closed the connection (close_notify)",
                      c->idx);
            fatal("connection %d: the gateway sent alert %d", c->idx,
                  zrec_session_peer_alert(c->s));
        }
        /* Handshake records (NewSessionTicket, KeyUpdate): acted on by the
         * engine; a KeyUpdate we owe is sent before the next data. */
    }
    if (off > 0) {
        if (off < c->rx_have)
            memmove(c->rx, c->rx + off, c->rx_have - off);
        c->rx_have -= off;
    }
}

/* Read what is there (bounded per pass).  Returns true while readable. */
static bool cl_read(struct cconn *c)
{
    for (int iter = 0; iter < 8; iter++) {
        size_t room = cl.rxcap - c->rx_have;
        ssize_t n = recv(c->fd, c->rx + c->rx_have, room, 0);
        if (n == 0)
            fatal("connection %d: EOF from the gateway", c->idx);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return false;
            if (errno == EINTR)
                continue;
            fatal("connection %d: recv: %s", c->idx, strerror(errno));
        }
        if (o.plain) {
            if (o.dir == DIR_DOWN)
                cl.bytes += (uint64_t)n;
            continue;
        }
        c->rx_have += (size_t)n;
        cl_open_records(c);
        if (c->rx_have == cl.rxcap)
            fatal("connection %d: receive buffer full without a complete record", c->idx);
    }
    return true;
}

/* Write c's pending bytes.  1: all written, 0: would block, fatal else. */
static int cl_flush(struct cconn *c)
{
    while (c->out_len) {
        ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            if (errno == EINTR)
                continue;
            fatal("connection %d: send: %s", c->idx, strerror(errno));
        }
        if (o.plain)
            cl.bytes += (uint64_t)n;
        c->out += n;
        c->out_len -= (size_t)n;
    }
    cl.bytes += c->out_payload;
    c->out_payload = 0;
    return 1;
}

/* Before sealing data: send a KeyUpdate if one is owed or due.  Returns
 * true if data may be sealed now (nothing pending). */
static bool cl_control(struct cconn *c)
{
    unsigned ev = zrec_session_events(c->s);
    if (ev & ZREC_EV_FATAL)
        fatal("connection %d: the session failed", c->idx);
    /* TLS 1.2 has no KeyUpdate: sealing goes on until the key's usage
     * limit, then fails (-EKEYEXPIRED, reported). */
    if (zrec_session_proto(c->s) != ZREC_TLS13)
        ev &= ~(unsigned)ZREC_EV_REKEY_DUE;
    if (!(ev & (ZREC_EV_KEY_UPDATE_OWED | ZREC_EV_REKEY_DUE)))
        return true;
    int n = zrec_seal_key_update(c->s, false, c->ctl, sizeof c->ctl);
    if (n < 0)
        fatal("connection %d: cannot seal a KeyUpdate: %s", c->idx, strerror(-n));
    c->out = c->ctl;
    c->out_len = (size_t)n;
    c->out_payload = 0;
    return cl_flush(c) == 1;
}

/* The sealed k records of c are contiguous from c->tx: queue them. */
static void cl_set_out(struct cconn *c, const struct zrec_op *ops, unsigned k)
{
    for (unsigned i = 0; i < k; i++) {
        if (ops[i].status != 0)
            fatal("connection %d: seal failed: %s", c->idx, strerror(-ops[i].status));
        if (ops[i].rec != c->tx + (size_t)i * cl.slot || ops[i].rec_len != cl.slot)
            fatal("connection %d: sealed records are not contiguous (use --batch 1)",
                  c->idx);
    }
    c->out = c->tx;
    c->out_len = (size_t)k * cl.slot;
    c->out_payload = (uint64_t)k * o.size;
}

static void cl_fill_ops(struct cconn *c, struct zrec_op *ops, unsigned k)
{
    for (unsigned i = 0; i < k; i++) {
        memset(&ops[i], 0, sizeof ops[i]);
        ops[i].sess = c->s;
        ops[i].data = c->tx + (size_t)i * cl.slot + cl.hr;
        ops[i].len = (uint32_t)o.size;
        ops[i].headroom = (uint16_t)cl.hr;
        ops[i].tailroom = (uint16_t)cl.tr;
        ops[i].content_type = ZREC_CT_APPLICATION_DATA;
    }
}

/* One pass over the writable connections: every one with nothing pending
 * gets k new records.  Connections that would block leave the list. */
static void cl_write_pass(void)
{
    static struct zrec_op ops[32];
    static struct cconn *batch[32];
    unsigned nops = 0, nb = 0;
    long keep = 0;
    long nwr = cl.nwr;

    /* Writes the batch's records after sealing them all. */
#define FLUSH_BATCH()                                                                        \
    do {                                                                                     \
        if (nb) {                                                                            \
            zrec_seal_burst(ops, nops);                                                      \
            for (unsigned b = 0; b < nb; b++) {                                              \
                cl_set_out(batch[b], ops + (size_t)b * cl.k, cl.k);                          \
                if (cl_flush(batch[b]) == 0)                                                 \
                    batch[b]->in_wr = false;                                                 \
            }                                                                                \
            nops = nb = 0;                                                                   \
        }                                                                                    \
    } while (0)

    for (long i = 0; i < nwr; i++) {
        struct cconn *c = cl.wr[i];
        if (c->out_len && cl_flush(c) == 0) {
            c->in_wr = false;
            continue;
        }
        if (o.plain) {
            c->out = cl.plainbuf;
            c->out_len = (size_t)cl.k * o.size;
            if (cl_flush(c) == 0)
                c->in_wr = false;
            continue;
        }
        if (!cl_control(c)) {
            c->in_wr = false;
            continue;
        }
        if (o.seal == SEAL_RECORD) {
            struct zrec_op one[32];
            for (unsigned r = 0; r < cl.k; r++) {
                uint8_t *rec = NULL;
                int len = zrec_seal_record(c->s, ZREC_CT_APPLICATION_DATA,
                                           c->tx + (size_t)r * cl.slot + cl.hr, o.size, cl.hr,
                                           cl.tr, &rec);
                one[r].status = (int16_t)(len < 0 ? len : 0);
                one[r].rec = rec;
                one[r].rec_len = len < 0 ? 0 : (uint32_t)len;
            }
            cl_set_out(c, one, cl.k);
            if (cl_flush(c) == 0)
                c->in_wr = false;
            continue;
        }
        if (nops + cl.k > 32)
            FLUSH_BATCH();
        cl_fill_ops(c, ops + nops, cl.k);
        nops += cl.k;
        batch[nb++] = c;
    }
    FLUSH_BATCH();
#undef FLUSH_BATCH
    for (long i = 0; i < nwr; i++)
        if (cl.wr[i]->in_wr)
            cl.wr[keep++] = cl.wr[i];
    /* Entries added during the pass (none today) follow. */
    for (long i = nwr; i < cl.nwr; i++)
        cl.wr[keep++] = cl.wr[i];
    cl.nwr = keep;
}

static void cl_read_pass(void)
{
    long keep = 0;
    for (long i = 0; i < cl.nrd; i++) {
        struct cconn *c = cl.rd[i];
        if (cl_read(c))
            cl.rd[keep++] = c;
        else
            c->in_rd = false;
    }
    cl.nrd = keep;
}

/* Records (or --plain chunks) of `unit` bytes per write: about 64 KiB worth,
 * 1 to 32, unless --batch says. */
static unsigned batch_for(size_t unit)
{
    if (o.batch)
        return (unsigned)o.batch;
    size_t k = (64u << 10) / unit;
    return k < 1 ? 1 : k > 32 ? 32 : (unsigned)k;
}

static int run_client(void)
{
    WOLFSSL_CTX *ctx = NULL;
    if (!o.plain) {
        ctx = make_ctx(false);
        note("client: zrec provider %s", zrec_provider_name(zrec_provider_default()));
    }
    cl.n = o.conns;
    cl.c = calloc((size_t)cl.n, sizeof *cl.c);
    cl.rd = calloc((size_t)cl.n, sizeof *cl.rd);
    cl.wr = calloc((size_t)cl.n, sizeof *cl.wr);
    if (!cl.c || !cl.rd || !cl.wr)
        fatal("out of memory");
    cl.rxcap = o.rxbuf ? o.rxbuf
                       : (o.dir == DIR_DOWN ? (size_t)128 << 10 : 2 * (16384 + 256 + 5));

    /* All connections and handshakes within 10 s + 10 ms each. */
    double t_hs = now();
    double setup_deadline = t_hs + 10.0 + 0.01 * (double)cl.n;
    for (long i = 0; i < cl.n; i++) {
        struct cconn *c = &cl.c[i];
        c->idx = (int)i;
        double left = setup_deadline - now();
        if (left <= 0.001)
            fatal("connection %d: set-up took more than %.1f s", c->idx,
                  setup_deadline - t_hs);
        c->fd = connect_blocking(left, c->idx);
        if (!o.plain) {
            WOLFSSL *ssl = new_ssl(ctx, c->fd, true);
            struct zrec_wolfssl_capture *cap = zrec_wolfssl_prepare(ssl);
            if (cap == NULL)
                fatal("zrec_wolfssl_prepare: %s", strerror(errno));
            int rc = wolfSSL_connect(ssl);
            if (rc != WOLFSSL_SUCCESS) {
                int err = wolfSSL_get_error(ssl, rc);
                if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE)
                    fatal("connection %d: TLS handshake timed out", c->idx);
                fatal("connection %d: TLS handshake failed: %s", c->idx, wolf_err(ssl, rc));
            }
            if (i == 0)
                note("client: %s %s", wolfSSL_get_version(ssl),
                     wolfSSL_get_cipher_name(ssl));
            int err = 0;
            c->s = zrec_wolfssl_import(ssl, cap, NULL, &err);
            if (c->s == NULL)
                fatal("connection %d: zrec_wolfssl_import: %s", c->idx, strerror(-err));
            wolfSSL_free(ssl);
            struct zrec_overhead ov;
            if (zrec_session_overhead(c->s, &ov) != 0)
                fatal("zrec_session_overhead failed");
            if (i == 0) {
                cl.hr = ov.headroom;
                cl.tr = ov.tailroom;
                cl.slot = cl.hr + o.size + cl.tr;
                cl.k = batch_for(cl.slot);
            } else if (ov.headroom != cl.hr || ov.tailroom != cl.tr) {
                fatal("connection %d: different record overhead", c->idx);
            }
            if (o.dir == DIR_UP) {
                c->tx = xmalloc((size_t)cl.k * cl.slot);
                for (size_t j = 0; j < (size_t)cl.k * cl.slot; j++)
                    c->tx[j] = (uint8_t)j;
            }
        }
        if (!o.plain || o.dir == DIR_DOWN)
            c->rx = xmalloc(cl.rxcap);
        struct timeval tv0 = {0, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv0, sizeof tv0);
        setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv0, sizeof tv0);
        if (stop_flag)
            fatal("interrupted");
    }
    if (o.plain && o.dir == DIR_UP) {
        cl.k = batch_for(o.size);
        cl.plainbuf = xmalloc((size_t)cl.k * o.size);
        for (size_t j = 0; j < (size_t)cl.k * o.size; j++)
            cl.plainbuf[j] = (uint8_t)(j * 7u);
    }
    if (o.plain && o.dir == DIR_UP)
        cl.rxcap = 64u << 10; /* discarded */
    for (long i = 0; i < cl.n; i++)
        if (cl.c[i].rx == NULL)
            cl.c[i].rx = xmalloc(cl.rxcap);
    if (ctx)
        wolfSSL_CTX_free(ctx);
    note("client: %ld connection(s) to %s ready in %.3f s (%s, %s, %zu bytes%s)", cl.n,
         addr_str(), now() - t_hs, o.plain ? "plain" : "TLS", o.dir == DIR_UP ? "up" : "down",
         o.size,
         (o.plain || o.dir == DIR_DOWN) ? ""
                                        : (o.seal == SEAL_BURST ? ", burst seal" : ", per-record seal"));
    if (o.dir == DIR_UP)
        note("client: %u %s of %zu bytes per write", cl.k, o.plain ? "chunk(s)" : "record(s)",
             o.plain ? o.size : cl.slot);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        fatal("epoll_create1: %s", strerror(errno));
    for (long i = 0; i < cl.n; i++) {
        struct cconn *c = &cl.c[i];
        set_nonblock(c->fd);
        struct epoll_event ev = {.events = EPOLLIN | EPOLLET | (o.dir == DIR_UP ? EPOLLOUT : 0u),
                                 .data.ptr = c};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
            fatal("epoll_ctl: %s", strerror(errno));
        cl_want_read(c);
        if (o.dir == DIR_UP)
            cl_want_write(c);
    }

    double t0 = now();
    double t_count = t0 + o.warmup, t_end = t_count + o.seconds;
    bool counting = false;
    uint64_t bytes0 = 0;
    struct cpu_mark m0 = {0}, m1;
    struct epoll_event evs[256];
    for (;;) {
        double t = now();
        if (!counting && t >= t_count) {
            counting = true;
            bytes0 = cl.bytes;
            m0 = cpu_mark();
        }
        if (t >= t_end || stop_flag)
            break;
        bool busy = cl.nrd || cl.nwr;
        int n = epoll_wait(ep, evs, 256,
                           busy ? 0 : ms_until(counting ? t_end : t_count, 0.05));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fatal("epoll_wait: %s", strerror(errno));
        }
        for (int i = 0; i < n; i++) {
            struct cconn *c = evs[i].data.ptr;
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
                cl_want_read(c);
            if (evs[i].events & EPOLLOUT)
                cl_want_write(c);
        }
        if (cl.nrd)
            cl_read_pass();
        double t_next = counting ? t_end : t_count;
        for (int round = 0; round < 16 && cl.nwr && (round == 0 || now() < t_next); round++)
            cl_write_pass();
    }
    m1 = cpu_mark();
    if (!counting)
        fatal("interrupted during the warm-up");
    uint64_t bytes = cl.bytes - bytes0;
    double secs = m1.t - m0.t;
    if (stop_flag)
        note("client: interrupted, reporting %.3f s", secs);
    printf("{\"role\":\"client\",\"dir\":\"%s\",\"conns\":%ld,\"size\":%zu,\"seconds\":%.3f,"
           "\"bytes\":%llu,\"gbps\":%.3f,\"cpu_user\":%.3f,\"cpu_sys\":%.3f,\"peer_cpu\":%.3f}\n",
           o.dir == DIR_UP ? "up" : "down", cl.n, o.size, secs, (unsigned long long)bytes,
           secs > 0 ? (double)bytes / secs / 1e9 : 0.0, m1.user - m0.user, m1.sys - m0.sys,
           m1.peer - m0.peer);
    fflush(stdout);
    for (long i = 0; i < cl.n; i++) {
        close(cl.c[i].fd);
        zrec_session_free(cl.c[i].s);
        free(cl.c[i].tx);
        free(cl.c[i].rx);
    }
    close(ep);
    wolfSSL_Cleanup();
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Handshakes                                                              */
/* ---------------------------------------------------------------------- */

struct hconn {
    int fd;
    WOLFSSL *ssl;
    bool connecting;
    uint32_t events;
};

static struct {
    WOLFSSL_CTX *ctx;       /* the timed handshakes */
    WOLFSSL_CTX *probe_ctx; /* the first one: verifies everything (--ca) */
    WOLFSSL_SESSION *sess;
    int ep;
    uint64_t started, done, resumed, done0, resumed0;
    bool counting;
} hs;

static void hs_set_events(struct hconn *c, uint32_t events)
{
    if (c->events == events)
        return;
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(hs.ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
        fatal("epoll_ctl: %s", strerror(errno));
    c->events = events;
}

static void hs_start(struct hconn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        fatal("socket: %s", strerror(errno));
    c->ssl = NULL;
    c->connecting = true;
    hs.started++;
    if (connect(c->fd, (struct sockaddr *)&o.addr, sizeof o.addr) != 0 && errno != EINPROGRESS)
        fatal("connect %s: %s", addr_str(), strerror(errno));
    c->events = EPOLLOUT;
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(hs.ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
        fatal("epoll_ctl: %s", strerror(errno));
}

static void hs_finish(struct hconn *c)
{
    if (c->ssl)
        wolfSSL_free(c->ssl);
    c->ssl = NULL;
    epoll_ctl(hs.ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
}

/* Progress one connection; returns true when its handshake is done. */
static bool hs_step(struct hconn *c)
{
    if (c->connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err)
            fatal("connect %s: %s", addr_str(), strerror(err));
        c->connecting = false;
        c->ssl = new_ssl(hs.ctx, c->fd, o.verify_each);
        if (hs.sess && wolfSSL_set_session(c->ssl, hs.sess) != WOLFSSL_SUCCESS)
            fatal("wolfSSL_set_session failed");
    }
    int rc = wolfSSL_connect(c->ssl);
    if (rc == WOLFSSL_SUCCESS)
        return true;
    int err = wolfSSL_get_error(c->ssl, rc);
    if (err == WOLFSSL_ERROR_WANT_READ)
        hs_set_events(c, EPOLLIN);
    else if (err == WOLFSSL_ERROR_WANT_WRITE)
        hs_set_events(c, EPOLLOUT);
    else
        fatal("TLS handshake failed: %s", wolf_err(c->ssl, rc));
    return false;
}

/* A first full handshake (the certificate verified if --ca), then, for
 * --resume, wait for a NewSessionTicket. */
static void hs_probe(void)
{
    int fd = connect_blocking(5.0, 0);
    set_nonblock(fd);
    WOLFSSL *ssl = new_ssl(hs.probe_ctx, fd, true);
    double deadline = now() + 5.0;
    for (;;) {
        int rc = wolfSSL_connect(ssl);
        if (rc == WOLFSSL_SUCCESS)
            break;
        int err = wolfSSL_get_error(ssl, rc);
        if (err != WOLFSSL_ERROR_WANT_READ && err != WOLFSSL_ERROR_WANT_WRITE)
            fatal("TLS handshake failed: %s", wolf_err(ssl, rc));
        struct pollfd p = {fd, err == WOLFSSL_ERROR_WANT_READ ? POLLIN : POLLOUT, 0};
        if (now() > deadline || stop_flag)
            fatal("TLS handshake timed out");
        poll(&p, 1, 100);
    }
    note("handshakes: %s %s, certificate %s", wolfSSL_get_version(ssl),
         wolfSSL_get_cipher_name(ssl), o.ca ? "verified" : "not verified (no --ca)");
    if (!o.resume) {
        wolfSSL_free(ssl);
        close(fd);
        return;
    }
    /* TLS 1.3: the ticket follows the handshake. */
    deadline = now() + 2.0;
    while (now() < deadline && !stop_flag) {
        struct pollfd p = {fd, POLLIN, 0};
        poll(&p, 1, 50);
        char buf[256];
        int rc = wolfSSL_read(ssl, buf, sizeof buf);
        if (rc <= 0) {
            int err = wolfSSL_get_error(ssl, rc);
            if (err != WOLFSSL_ERROR_WANT_READ && err != WOLFSSL_ERROR_WANT_WRITE)
                fatal("waiting for a session ticket: %s", wolf_err(ssl, rc));
        }
        WOLFSSL_SESSION *s = wolfSSL_get1_session(ssl);
        if (s && wolfSSL_SESSION_has_ticket(s) && wolfSSL_SESSION_is_resumable(s)) {
            hs.sess = s;
            break;
        }
        if (s)
            wolfSSL_SESSION_free(s);
    }
    wolfSSL_free(ssl);
    close(fd);
    if (hs.sess == NULL)
        fatal("no resumable session ticket from the server within 2 s");
    note("handshakes: got a session ticket");
}

/* The timed handshakes do not authenticate the server (the first handshake
 * did, with --ca): the ECDSA check of its CertificateVerify, which costs the
 * client more than the signature costs the server with this wolfSSL build,
 * is skipped (PK callback), as is the chain check, unless --verify-each. */
static int skip_ecc_verify(WOLFSSL *ssl, const unsigned char *sig, unsigned int sigSz,
                           const unsigned char *hash, unsigned int hashSz,
                           const unsigned char *keyDer, unsigned int keySz, int *result,
                           void *ctx)
{
    (void)ssl, (void)sig, (void)sigSz, (void)hash, (void)hashSz, (void)keyDer, (void)keySz;
    (void)ctx;
    *result = 1;
    return 0;
}

static int run_handshakes(void)
{
    hs.probe_ctx = make_ctx(true);
    hs.ctx = make_ctx(true);
    if (!o.verify_each) {
        wolfSSL_CTX_set_verify(hs.ctx, WOLFSSL_VERIFY_NONE, NULL);
        wolfSSL_CTX_SetEccVerifyCb(hs.ctx, skip_ecc_verify);
    }
    hs.ep = epoll_create1(EPOLL_CLOEXEC);
    if (hs.ep < 0)
        fatal("epoll_create1: %s", strerror(errno));
    hs_probe();

    struct hconn *cs = calloc((size_t)o.conc, sizeof *cs);
    if (cs == NULL)
        fatal("out of memory");
    double t0 = now(), t_count = t0 + o.warmup, t_end = t_count + o.seconds;
    struct cpu_mark m0 = {0}, m1;
    for (long i = 0; i < o.conc; i++)
        hs_start(&cs[i]);
    struct epoll_event evs[256];
    for (;;) {
        double t = now();
        if (!hs.counting && t >= t_count) {
            hs.counting = true;
            hs.done0 = hs.done;
            hs.resumed0 = hs.resumed;
            m0 = cpu_mark();
        }
        if (t >= t_end || stop_flag)
            break;
        int n = epoll_wait(hs.ep, evs, 256, ms_until(hs.counting ? t_end : t_count, 0.05));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fatal("epoll_wait: %s", strerror(errno));
        }
        for (int i = 0; i < n; i++) {
            struct hconn *c = evs[i].data.ptr;
            if (!hs_step(c))
                continue;
            hs.done++;
            if (wolfSSL_session_reused(c->ssl))
                hs.resumed++;
            hs_finish(c);
            hs_start(c);
        }
    }
    m1 = cpu_mark();
    if (!hs.counting)
        fatal("interrupted during the warm-up");
    for (long i = 0; i < o.conc; i++)
        if (cs[i].fd >= 0)
            hs_finish(&cs[i]);
    double secs = m1.t - m0.t;
    uint64_t done = hs.done - hs.done0, resumed = hs.resumed - hs.resumed0;
    note("handshakes: %llu connections started, %llu handshakes done (%llu counted)",
         (unsigned long long)hs.started, (unsigned long long)hs.done,
         (unsigned long long)done);
    if (o.resume && done && resumed == 0)
        note("handshakes: warning: the server resumed no session");
    printf("{\"role\":\"handshakes\",\"seconds\":%.3f,\"handshakes\":%llu,\"per_second\":%.1f,"
           "\"resumed\":%llu,\"cpu_user\":%.3f,\"cpu_sys\":%.3f,\"peer_cpu\":%.3f}\n",
           secs, (unsigned long long)done, secs > 0 ? (double)done / secs : 0.0,
           (unsigned long long)resumed, m1.user - m0.user, m1.sys - m0.sys, m1.peer - m0.peer);
    fflush(stdout);
    if (hs.sess)
        wolfSSL_SESSION_free(hs.sess);
    wolfSSL_CTX_free(hs.ctx);
    wolfSSL_CTX_free(hs.probe_ctx);
    wolfSSL_Cleanup();
    free(cs);
    return 0;
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    common_setup();
    switch (o.role) {
    case ROLE_BACKEND: return run_backend();
    case ROLE_CLIENT: return run_client();
    default: return run_handshakes();
    }
}
