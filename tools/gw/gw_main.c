/*
 * zrec-gw: options, workers, signals, the stats endpoint and the access log.
 */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "gw.h"
#include "zrec/wolfssl.h"
#include "zrec/zrec.h"

static const char usage_text[] =
    "NAME\n"
    "    zrec-gw - TLS-terminating gateway on io_uring, records by the zrec engine\n"
    "\n"
    "SYNOPSIS\n"
    "    zrec-gw --listen ADDR:PORT --backend ADDR:PORT --cert FILE --key FILE\n"
    "            [--cert FILE --key FILE ...] [--proto tls1.2|tls1.3|any] [--plain]\n"
    "            [--workers N] [--cpus LIST] [--alpn LIST] [--proxy-protocol]\n"
    "            [--ticket-keys FILE] [--max-conns N] [--handshake-timeout MS]\n"
    "            [--idle-timeout MS] [--drain-timeout MS] [--stats ADDR:PORT]\n"
    "            [--access-log FILE] [--pool-slots N] [--provider NAME]\n"
    "\n"
    "DESCRIPTION\n"
    "    Accepts TLS connections on --listen, completes the handshake with wolfSSL,\n"
    "    then moves the connection's records to the zrec engine: client records are\n"
    "    received into registered io_uring buffers and decrypted in place, and the\n"
    "    plaintext is sent to --backend from the buffer it was decrypted in; backend\n"
    "    bytes are received into a buffer's payload area and encrypted in place.\n"
    "    Each worker thread owns one io_uring and one buffer pool and is pinned to\n"
    "    one CPU; workers share the port with SO_REUSEPORT.\n"
    "\n"
    "OPTIONS\n"
    "    --listen ADDR:PORT      address to accept clients on ([v6addr]:port for IPv6)\n"
    "    --backend ADDR:PORT     where plaintext goes (a TCP server)\n"
    "    --cert FILE, --key FILE a certificate chain and its key, PEM or DER; repeat\n"
    "                            the pair for more names: the ClientHello's SNI picks\n"
    "                            the pair whose certificate matches, else the first\n"
    "    --proto P               tls1.2, tls1.3 or any (TLS 1.2 and 1.3; default)\n"
    "    --plain                 forward without TLS (the same data path, for\n"
    "                            comparison); --cert/--key are then not needed\n"
    "    --workers N             worker threads (default: one per online CPU)\n"
    "    --cpus LIST             pin worker i to the i-th CPU of LIST (e.g. 0,1);\n"
    "                            default: worker i on CPU i modulo the CPU count\n"
    "    --alpn LIST             protocols offered, comma-separated (e.g. h2,http/1.1);\n"
    "                            the one negotiated is logged and sent in PROXY v2\n"
    "    --proxy-protocol        begin each backend connection with a PROXY protocol\n"
    "                            v2 header: client address, ALPN and SNI TLVs\n"
    "    --ticket-keys FILE      TLS session-ticket keys in HAProxy's tls-ticket-keys\n"
    "                            format (base64 keys of 48 or 80 bytes, one per line);\n"
    "                            new tickets use the second-to-last key, all keys\n"
    "                            decrypt; reloaded on SIGHUP.  Without it, wolfSSL's\n"
    "                            own keys, rotated hourly, are used\n"
    "    --max-conns N           connections at once over all workers (default 100000);\n"
    "                            beyond it new connections are closed at once\n"
    "    --handshake-timeout MS  close a connection whose handshake is not done in MS\n"
    "                            milliseconds (default 10000; 0 = never)\n"
    "    --idle-timeout MS       close a connection silent both ways for MS\n"
    "                            milliseconds, with close_notify (default 300000)\n"
    "    --drain-timeout MS      after SIGTERM, how long live connections may go on\n"
    "                            before they get close_notify (default 30000)\n"
    "    --stats ADDR:PORT       serve counters as plain text (one 'name value' per\n"
    "                            line) to any TCP client, e.g. curl or nc\n"
    "    --access-log FILE       one line per connection when it ends: client, SNI,\n"
    "                            ALPN, version, suite, resumed, bytes each way,\n"
    "                            records, duration, why it closed (- = stdout)\n"
    "    --pool-slots N          registered buffers per worker and direction, a power\n"
    "                            of two (default 256; a slot is 20 KiB)\n"
    "    --provider NAME         the records' AEAD: ipsecmb (default where built),\n"
    "                            wolfcrypt, or cryptodev:DEVICE, a DPDK crypto device\n"
    "                            (e.g. cryptodev:crypto_aesni_gcm0, made if virtual):\n"
    "                            wolfSSL's own AES-GCM of the handshakes goes there\n"
    "                            too; records the device does not take are done in\n"
    "                            software, counted in the stats (offload_*).  EAL\n"
    "                            runs without hugepages or PCI unless ZREC_GW_EAL\n"
    "                            holds its arguments\n"
    "    -h, --help              this text\n"
    "\n"
    "SIGNALS\n"
    "    SIGTERM, SIGINT  stop accepting, let live connections finish (up to\n"
    "                     --drain-timeout), then exit 0\n"
    "    SIGHUP           reload certificates and ticket keys, reopen the access\n"
    "                     log; live connections are not touched\n"
    "\n"
    "EXIT STATUS\n"
    "    0 after a stop by signal; 1 when start-up fails (message on stderr);\n"
    "    2 for a usage error.\n"
    "\n"
    "EXAMPLE\n"
    "    zrec-gw --listen 0.0.0.0:443 --backend 127.0.0.1:8080 \\\n"
    "            --cert example.pem --key example.key --alpn h2,http/1.1 \\\n"
    "            --stats 127.0.0.1:9000 --access-log /var/log/zrec-gw.log\n";

static struct gw_opts opts = {
    .proto = "any",
    .max_conns = 100000,
    .handshake_timeout_ms = 10000,
    .idle_timeout_ms = 300000,
    .drain_timeout_ms = 30000,
    .pool_slots = 256,
};

static _Atomic int log_fd = -1;
static _Atomic long admitted;

void gw_access_log(const char *line, size_t len)
{
    int fd = atomic_load(&log_fd);
    if (fd >= 0)
        (void)!write(fd, line, len); /* O_APPEND: each line lands whole */
}

bool gw_admit(void)
{
    if (atomic_fetch_add(&admitted, 1) >= opts.max_conns) {
        atomic_fetch_sub(&admitted, 1);
        return false;
    }
    return true;
}

void gw_release(void)
{
    atomic_fetch_sub(&admitted, 1);
}

static void usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "zrec-gw: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'zrec-gw --help'.\n");
    exit(2);
}

static void parse_addr(const char *opt, const char *s, struct sockaddr_storage *out,
                       socklen_t *len)
{
    char host[256];
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s || (size_t)(colon - s) >= sizeof host || !colon[1])
        usage_error("%s: expected ADDR:PORT", opt);
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    char *h = host;
    if (h[0] == '[' && h[strlen(h) - 1] == ']') {
        h[strlen(h) - 1] = 0;
        h++;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai;
    int rc = getaddrinfo(h, colon + 1, &hints, &ai);
    if (rc != 0) {
        fprintf(stderr, "zrec-gw: %s %s: %s\n", opt, s, gai_strerror(rc));
        exit(2);
    }
    memcpy(out, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
}

static int parse_int(const char *opt, const char *s, int min, int max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < min || v > max)
        usage_error("%s: not a number in range", opt);
    return (int)v;
}

static void parse(int argc, char **argv)
{
    enum {
        O_LISTEN = 256, O_BACKEND, O_CERT, O_KEY, O_PROTO, O_PLAIN, O_WORKERS, O_CPUS, O_ALPN,
        O_PROXY, O_TICKETS, O_MAXCONNS, O_HSTO, O_IDLETO, O_DRAINTO, O_STATS, O_LOG, O_SLOTS,
        O_PROVIDER,
    };
    static const struct option lo[] = {
        {"listen", required_argument, 0, O_LISTEN},
        {"backend", required_argument, 0, O_BACKEND},
        {"cert", required_argument, 0, O_CERT},
        {"key", required_argument, 0, O_KEY},
        {"proto", required_argument, 0, O_PROTO},
        {"plain", no_argument, 0, O_PLAIN},
        {"workers", required_argument, 0, O_WORKERS},
        {"cpus", required_argument, 0, O_CPUS},
        {"alpn", required_argument, 0, O_ALPN},
        {"proxy-protocol", no_argument, 0, O_PROXY},
        {"ticket-keys", required_argument, 0, O_TICKETS},
        {"max-conns", required_argument, 0, O_MAXCONNS},
        {"handshake-timeout", required_argument, 0, O_HSTO},
        {"idle-timeout", required_argument, 0, O_IDLETO},
        {"drain-timeout", required_argument, 0, O_DRAINTO},
        {"stats", required_argument, 0, O_STATS},
        {"access-log", required_argument, 0, O_LOG},
        {"pool-slots", required_argument, 0, O_SLOTS},
        {"provider", required_argument, 0, O_PROVIDER},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    bool have_listen = false, have_backend = false;
    int c;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case O_LISTEN:
            parse_addr("--listen", optarg, &opts.listen, &opts.listen_len);
            have_listen = true;
            break;
        case O_BACKEND:
            parse_addr("--backend", optarg, &opts.backend, &opts.backend_len);
            have_backend = true;
            break;
        case O_CERT:
            if (opts.ncert == GW_MAX_CERTS)
                usage_error("%s: at most 16 certificates", "--cert");
            opts.cert[opts.ncert++] = optarg;
            break;
        case O_KEY:
            if (opts.nkey == GW_MAX_CERTS)
                usage_error("%s: at most 16 keys", "--key");
            opts.key[opts.nkey++] = optarg;
            break;
        case O_PROTO:
            if (strcmp(optarg, "tls1.2") && strcmp(optarg, "tls1.3") && strcmp(optarg, "any"))
                usage_error("--proto %s: expected tls1.2, tls1.3 or any", optarg);
            opts.proto = optarg;
            break;
        case O_PLAIN:
            opts.plain = true;
            break;
        case O_WORKERS:
            opts.workers = parse_int("--workers", optarg, 1, 256);
            break;
        case O_CPUS:
            opts.cpus = optarg;
            break;
        case O_ALPN:
            opts.alpn = optarg;
            break;
        case O_PROXY:
            opts.proxy_protocol = true;
            break;
        case O_TICKETS:
            opts.ticket_keys = optarg;
            break;
        case O_MAXCONNS:
            opts.max_conns = parse_int("--max-conns", optarg, 1, 10000000);
            break;
        case O_HSTO:
            opts.handshake_timeout_ms = parse_int("--handshake-timeout", optarg, 0, 86400000);
            break;
        case O_IDLETO:
            opts.idle_timeout_ms = parse_int("--idle-timeout", optarg, 0, 86400000);
            break;
        case O_DRAINTO:
            opts.drain_timeout_ms = parse_int("--drain-timeout", optarg, 0, 86400000);
            break;
        case O_STATS:
            parse_addr("--stats", optarg, &opts.stats, &opts.stats_len);
            opts.have_stats = true;
            break;
        case O_LOG:
            opts.access_log = optarg;
            break;
        case O_SLOTS: {
            int v = parse_int("--pool-slots", optarg, 1, 16384);
            if (v & (v - 1))
                usage_error("--pool-slots %s: not a power of two", optarg);
            opts.pool_slots = (unsigned)v;
            break;
        }
        case O_PROVIDER:
            if (strncmp(optarg, "cryptodev:", 10) != 0 && zrec_provider_by_name(optarg) == NULL)
                usage_error("--provider %s: expected ipsecmb, wolfcrypt or cryptodev:DEVICE",
                            optarg);
            if (strncmp(optarg, "cryptodev:", 10) == 0 && optarg[10] == 0)
                usage_error("--provider %s: no device named", optarg);
            opts.provider_name = optarg;
            break;
        case 'h':
            fputs(usage_text, stdout);
            exit(0);
        default:
            fprintf(stderr, "Try 'zrec-gw --help'.\n");
            exit(2);
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
    if (!have_listen)
        usage_error("%s is required", "--listen");
    if (!have_backend)
        usage_error("%s is required", "--backend");
    if (!opts.plain && opts.ncert == 0)
        usage_error("%s is required (or --plain)", "--cert/--key");
    if (opts.ncert != opts.nkey)
        usage_error("%s: give one --key per --cert", "--cert/--key");
    if (opts.workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        opts.workers = n > 0 ? (int)n : 1;
    }
}

static int open_log(void)
{
    if (!opts.access_log)
        return 0;
    int fd = strcmp(opts.access_log, "-") == 0
                 ? dup(STDOUT_FILENO)
                 : open(opts.access_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "zrec-gw: --access-log %s: %s\n", opts.access_log, strerror(errno));
        return -1;
    }
    int old = atomic_exchange(&log_fd, fd);
    if (old >= 0)
        close(old);
    return 0;
}

/* ---- workers ---- */

struct worker_slot {
    struct gw_worker *w;
    struct gw_counters cnt;
    pthread_t thread;
    int cpu;
};
static struct worker_slot *workers;

static void *worker_main(void *arg)
{
    struct worker_slot *ws = arg;
    if (ws->cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(ws->cpu, &set);
        if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0)
            fprintf(stderr, "zrec-gw: cannot pin a worker to CPU %d\n", ws->cpu);
    }
    gw_worker_run(ws->w);
    return NULL;
}

static int cpu_for(int i)
{
    if (opts.cpus) {
        const char *p = opts.cpus;
        for (int k = 0;; k++) {
            char *end;
            long v = strtol(p, &end, 10);
            if (end == p)
                return -1;
            if (k == i)
                return (int)v;
            if (*end != ',')
                return (int)v; /* fewer CPUs than workers: the last one */
            p = end + 1;
        }
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)(i % n) : -1;
}

/* ---- stats endpoint ---- */

static int stats_fd = -1;
static _Atomic bool stopping;

static size_t format_stats(char *buf, size_t cap)
{
    static const char *const names[] = {
        "conns_total", "conns_active", "handshakes_full", "handshakes_resumed",
        "handshakes_failed", "handshakes_timed_out", "records_in", "records_out",
        "bytes_up", "bytes_down", "copies", "records_scattered", "records_contiguous",
        "errors_bad_record_mac", "errors_protocol", "errors_backend_connect",
        "errors_backend_reset", "errors_client_reset", "errors_idle_timeout",
        "errors_conn_limit", "errors_alert_received", "pool_empty", "reserve_receives",
    };
    enum { N = sizeof names / sizeof names[0] };
    unsigned long sum[N] = {0};
    for (int i = 0; i < opts.workers; i++) {
        struct gw_counters *c = &workers[i].cnt;
        _Atomic unsigned long *f[N] = {
            &c->conns_total, &c->conns_active, &c->hs_full, &c->hs_resumed, &c->hs_failed,
            &c->hs_timeout, &c->records_in, &c->records_out, &c->bytes_up, &c->bytes_down,
            &c->copies_runt, &c->records_scattered, &c->records_contiguous,
            &c->err_bad_record, &c->err_protocol, &c->err_backend_connect,
            &c->err_backend_reset, &c->err_client_reset, &c->err_idle_timeout, &c->err_limit,
            &c->err_alert_received, &c->enobufs, &c->reserve_recvs,
        };
        for (int k = 0; k < N; k++)
            sum[k] += atomic_load_explicit(f[k], memory_order_relaxed);
    }
    size_t pos = 0;
    pos += (size_t)snprintf(buf + pos, cap - pos, "workers %d\nprovider %s\n", opts.workers,
                            zrec_provider_name(opts.provider ? opts.provider
                                                             : zrec_provider_default()));
    for (int k = 0; k < N && pos < cap; k++)
        pos += (size_t)snprintf(buf + pos, cap - pos, "%s %lu\n", names[k], sum[k]);
    if (opts.crypto_dev >= 0 && pos < cap) {
        struct zrec_wolfssl_crypto_stats ws;
        if (zrec_wolfssl_crypto_device_stats(opts.crypto_dev, &ws) == 0)
            pos += (size_t)snprintf(buf + pos, cap - pos,
                                    "handshake_aead_ops %lu\nhandshake_aead_declined %lu\n",
                                    (unsigned long)ws.aead_ops, (unsigned long)ws.declined);
    }
#ifdef ZREC_GW_OFFLOAD
    if (pos < cap)
        pos += gw_offload_stats(buf + pos, cap - pos);
#endif
    return pos < cap ? pos : cap;
}

static void *stats_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&stopping)) {
        struct pollfd p = {.fd = stats_fd, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0)
            continue;
        int fd = accept4(stats_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        char buf[4096];
        size_t n = format_stats(buf, sizeof buf);
        struct timeval tv = {.tv_sec = 1};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        (void)!write(fd, buf, n);
        close(fd);
    }
    return NULL;
}

static int open_stats(void)
{
    stats_fd = socket(opts.stats.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (stats_fd < 0 || setsockopt(stats_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(stats_fd, (struct sockaddr *)&opts.stats, opts.stats_len) < 0 ||
        listen(stats_fd, 64) < 0) {
        fprintf(stderr, "zrec-gw: --stats: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

static void raise_limit(int resource)
{
    struct rlimit r;
    if (getrlimit(resource, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        (void)setrlimit(resource, &r);
    }
}

int main(int argc, char **argv)
{
    parse(argc, argv);
    /* Many connections, and pinned registered buffers. */
    raise_limit(RLIMIT_NOFILE);
    raise_limit(RLIMIT_MEMLOCK);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* inherited by every thread */

    wolfSSL_Init();
    opts.crypto_dev = -1;
    if (opts.provider_name && strncmp(opts.provider_name, "cryptodev:", 10) == 0) {
#ifdef ZREC_GW_OFFLOAD
        char err[256];
        opts.provider = gw_offload_start(opts.provider_name + 10, err, sizeof err);
        if (opts.provider == NULL) {
            fprintf(stderr, "zrec-gw: --provider %s: %s\n", opts.provider_name, err);
            return 1;
        }
#else
        fprintf(stderr, "zrec-gw: --provider %s: built without DPDK\n", opts.provider_name);
        return 1;
#endif
    } else if (opts.provider_name) {
        opts.provider = zrec_provider_by_name(opts.provider_name);
    }
    if (opts.provider) {
        /* wolfSSL's own AES-GCM (the handshakes' encrypted records) on the
         * same provider. */
        opts.crypto_dev = zrec_wolfssl_crypto_device(opts.provider);
        if (opts.crypto_dev < 0 && opts.crypto_dev != -ENOTSUP) {
            fprintf(stderr, "zrec-gw: wolfSSL crypto device: %s\n", strerror(-opts.crypto_dev));
            return 1;
        }
    }
    if (!opts.plain && gw_tls_reload(&opts) < 0)
        return 1;
    if (open_log() < 0 || (opts.have_stats && open_stats() < 0))
        return 1;

    workers = calloc((size_t)opts.workers, sizeof *workers);
    if (workers == NULL)
        return 1;
    for (int i = 0; i < opts.workers; i++) {
        workers[i].cpu = cpu_for(i);
        workers[i].w = gw_worker_new(&opts, i, &workers[i].cnt);
        if (workers[i].w == NULL)
            return 1;
    }
    for (int i = 0; i < opts.workers; i++)
        pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);
    pthread_t st;
    if (opts.have_stats)
        pthread_create(&st, NULL, stats_main, NULL);

    char host[INET6_ADDRSTRLEN + 2] = "?";
    int port = 0;
    if (opts.listen.ss_family == AF_INET) {
        struct sockaddr_in *a = (void *)&opts.listen;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        port = ntohs(a->sin_port);
    } else {
        struct sockaddr_in6 *a = (void *)&opts.listen;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        port = ntohs(a->sin6_port);
    }
    fprintf(stderr, "zrec-gw: listening on %s:%d, %d worker%s, %s\n", host, port, opts.workers,
            opts.workers == 1 ? "" : "s", opts.plain ? "plain forwarding" : "TLS");

    for (;;) {
        int sig = sigwaitinfo(&set, NULL);
        if (sig == SIGHUP) {
            if (!opts.plain)
                fprintf(stderr, "zrec-gw: SIGHUP: %s\n",
                        gw_tls_reload(&opts) == 0 ? "certificates and ticket keys reloaded"
                                                  : "reload failed, keeping the old set");
            open_log();
        } else if (sig == SIGTERM || sig == SIGINT) {
            fprintf(stderr, "zrec-gw: stopping: no new connections, draining\n");
            break;
        }
    }
    for (int i = 0; i < opts.workers; i++)
        gw_worker_stop(workers[i].w);
    for (int i = 0; i < opts.workers; i++)
        pthread_join(workers[i].thread, NULL);
    atomic_store(&stopping, true);
    if (opts.have_stats)
        pthread_join(st, NULL);
    for (int i = 0; i < opts.workers; i++)
        gw_worker_free(workers[i].w);
    free(workers);
    struct gw_tls *t = opts.plain ? NULL : gw_tls_current();
    if (t) {
        gw_tls_unref(t);
        gw_tls_unref(t); /* the current set's own reference */
    }
    int fd = atomic_exchange(&log_fd, -1);
    if (fd >= 0)
        close(fd);
    if (opts.crypto_dev >= 0)
        zrec_wolfssl_crypto_device_remove(opts.crypto_dev);
#ifdef ZREC_GW_OFFLOAD
    gw_offload_stop();
#endif
    wolfSSL_Cleanup();
    fprintf(stderr, "zrec-gw: stopped\n");
    return 0;
}
