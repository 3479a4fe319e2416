/*
 * zrec-server: a TLS/DTLS server in the manner of `openssl s_server`, built
 * on the zsock facade.  Serves clients concurrently until killed, or only the
 * first one with --once.  Without --echo it prints what it receives on
 * stdout; with --echo it sends it back.  Diagnostics on stderr.
 *
 * TLS: a thread per client.  The listener is non-blocking and accept()
 * never runs a handshake: each client's handshake runs in its own thread,
 * bounded by --handshake-timeout, and a client silent for --idle-timeout
 * is closed, so slow or silent peers (slowloris) hold up nobody else.
 * DTLS: one socket (TLS_DTLS_ROLE_SERVER) serves every client, as Zephyr's
 * DTLS server sockets do: recvfrom() returns each client's datagrams with
 * its address (cookies and handshakes happen inside the socket), and --echo
 * sends each one back to its sender with sendto().  A client's close_notify
 * ends its session silently (Zephyr semantics: recvfrom() just goes on
 * serving others), so the end of a session is not observable through the
 * socket API; with --once a DTLS server therefore exits when its first
 * client has sent nothing for --idle-timeout ms (default 1000).
 *
 * SIGTERM / SIGINT stop it cleanly: no new clients, every TLS client's
 * connection shut down and its thread finished (at most 5 s), the DTLS
 * socket closed (close_notify to every session), everything freed, exit
 * status 0 - so a leak checker sees a whole run (tests: load-zrec-server-
 * leaks-*).  The signals are taken through a signalfd in the main loop's
 * poll: no handler runs inside the facade.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <zephyr/net/socket.h>
#include <zrec/zsock_ext.h>

#include "zrec_tool.h"

static struct tool_opts o;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

/* SIGTERM / SIGINT, readable in the main loop's poll. */
static int stop_fd = -1;

/* TLS clients being served: their sockets, so that a stop can shut them
 * down, and how many threads still run. */
#define MAX_CLIENTS 4096
static pthread_mutex_t clients_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t clients_gone = PTHREAD_COND_INITIALIZER;
static int clients[MAX_CLIENTS];
static int nclients;
static bool stopping;

static bool client_add(int sock)
{
    pthread_mutex_lock(&clients_lock);
    bool ok = !stopping && nclients < MAX_CLIENTS;
    if (ok)
        clients[nclients++] = sock;
    pthread_mutex_unlock(&clients_lock);
    return ok;
}

static void client_remove(int sock)
{
    pthread_mutex_lock(&clients_lock);
    for (int i = 0; i < nclients; i++)
        if (clients[i] == sock) {
            clients[i] = clients[--nclients];
            break;
        }
    pthread_cond_broadcast(&clients_gone);
    pthread_mutex_unlock(&clients_lock);
}

/* Stop: shut every client's connection down (its thread's recv returns),
 * then wait for the threads, at most 5 s. */
static void clients_stop(void)
{
    pthread_mutex_lock(&clients_lock);
    stopping = true;
    for (int i = 0; i < nclients; i++)
        (void)zsock_shutdown(clients[i], ZSOCK_SHUT_RDWR);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    while (nclients > 0 &&
           pthread_cond_timedwait(&clients_gone, &clients_lock, &until) == 0)
        ;
    int left = nclients;
    pthread_mutex_unlock(&clients_lock);
    if (left)
        fprintf(stderr, "zrec-server: %d client threads still busy after 5 s\n", left);
}

/* Was a stop signal delivered?  (Reads it off the signalfd.)  From then on
 * further SIGTERM / SIGINT are ignored, not left pending: the stop is under
 * way, and a signal left pending (blocked) at exit stalled LeakSanitizer's
 * exit-time check (its tracer waited forever for the process to stop). */
static bool stop_requested(void)
{
    struct signalfd_siginfo si;
    if (read(stop_fd, &si, sizeof si) != (ssize_t)sizeof si)
        return false;
    fprintf(stderr, "zrec-server: %s, stopping\n", strsignal((int)si.ssi_signo));
    struct sigaction ign = {.sa_handler = SIG_IGN};
    sigaction(SIGTERM, &ign, NULL); /* discards pending ones too (POSIX) */
    sigaction(SIGINT, &ign, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    return true;
}

/* --help: the text on stdout, status 0; a usage error: on stderr, 2. */
static void usage(int status)
{
    fprintf(status ? stderr : stdout,
            "usage: zrec-server --proto tls1.2|tls1.3|dtls1.2|dtls1.3 --port N [--bind ADDR]\n"
            "         --cert F --key F [--ca F] [--psk-id ID --psk HEX] [--cipher IANA_NAME]\n"
            "         [--alpn LIST] [--echo] [--once] [--handshake-timeout MS]\n"
            "         [--idle-timeout MS]\n"
            "\n"
            "  A TLS/DTLS server on the zsock facade, used like `openssl s_server`: prints\n"
            "  what clients send on stdout, or sends it back with --echo.\n"
            "\n"
            "  --proto P              protocol and version (required)\n"
            "  --port N, --bind ADDR  where to listen (default: every address)\n"
            "  --cert F --key F       certificate and key, PEM or DER\n"
            "  --ca F                 verify client certificates against this CA\n"
            "  --psk-id ID --psk HEX  a pre-shared key instead of (or besides) a certificate\n"
            "  --cipher NAME          allow only this IANA suite\n"
            "  --alpn LIST            comma-separated ALPN protocols\n"
            "  --echo                 send each message back to its sender\n"
            "  --once                 serve one client, then exit\n"
            "  --handshake-timeout MS TLS: a client must finish its handshake within MS of\n"
            "                         being accepted, else it is closed (default 10000; 0: no\n"
            "                         limit)\n"
            "  --idle-timeout MS      TLS: a client that sends nothing for MS (a partial\n"
            "                         record counts as nothing) is closed (default 60000; 0: no\n"
            "                         limit).  DTLS --once: exit when the first client has\n"
            "                         sent nothing for MS (default 1000)\n"
            "  --help                 this text\n"
            "\n"
            "  DTLS: one socket serves every client.  A ClientHello from an address that\n"
            "  has not answered a cookie request costs the server no state and no\n"
            "  public-key operation (a stateless HelloVerifyRequest / HelloRetryRequest).\n"
            "  Runs until SIGTERM or SIGINT - a clean stop: no new clients, open\n"
            "  connections shut down (TLS) or sent close_notify (DTLS), exit 0 - or with\n"
            "  --once until its client is done (exit 0).\n"
            "  Exit status 1: a set-up or --once client error (named on stderr); 2: a\n"
            "  usage error.\n");
    exit(status);
}

static int tls_idle_ms = 60000;

static void *serve(void *arg)
{
    int sock = (int)(intptr_t)arg;
    char buf[16384];
    /* Accepted from a non-blocking listener: this thread blocks, for at most
     * the idle timeout per recv (the handshake runs in the first recv, under
     * the listener's handshake timeout). */
    (void)zsock_fcntl(sock, F_SETFL, 0);
    if (tls_idle_ms > 0) {
        struct timeval tv = {tls_idle_ms / 1000, (tls_idle_ms % 1000) * 1000};
        (void)zsock_setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    for (;;) {
        ssize_t n = zsock_recv(sock, buf, sizeof buf, 0);
        if (n == 0)
            break;
        if (n < 0) {
            tool_error(errno == EAGAIN ? "recv (idle timeout)" : "recv", errno);
            break;
        }
        if (o.echo) {
            for (ssize_t off = 0; off < n;) {
                ssize_t w = zsock_send(sock, buf + off, (size_t)(n - off), 0);
                if (w < 0) {
                    tool_error("send", errno);
                    goto done;
                }
                off += w;
            }
        } else {
            pthread_mutex_lock(&out_lock);
            fwrite(buf, 1, (size_t)n, stdout);
            fflush(stdout);
            pthread_mutex_unlock(&out_lock);
        }
    }
done:
    client_remove(sock);
    zsock_close(sock);
    return NULL;
}

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return x->sin6_port == y->sin6_port &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}

/* Errors that end one client's session, not the server's socket. */
static bool per_client(int err)
{
    return err == EINTR || err == EAGAIN || err == ECONNRESET || err == ECONNABORTED ||
           err == ECONNREFUSED || err == EBADMSG || err == EPROTO || err == EMSGSIZE ||
           err == ETIMEDOUT || err == ENOTCONN || err == EHOSTUNREACH;
}

/* DTLS: one socket, every client; see the top of the file. */
static int serve_dtls(int sock)
{
    static char buf[16384];
    struct sockaddr_storage first;
    bool have_first = false;
    int64_t first_seen = 0;
    for (;;) {
        int wait = -1;
        if (o.once && have_first) {
            int64_t left = first_seen + o.idle_timeout_ms - now_ms();
            if (left <= 0)
                return 0; /* the first client's session is over */
            wait = (int)left;
        }
        /* The socket does its handshakes and retransmissions inside poll()
         * and recvfrom(); the signalfd stops the loop. */
        struct zsock_pollfd p[2] = {{sock, ZSOCK_POLLIN, 0}, {stop_fd, ZSOCK_POLLIN, 0}};
        int ready = zsock_poll(p, 2, wait);
        if (ready < 0 && errno != EINTR) {
            tool_error("poll", errno);
            return 1;
        }
        if (ready > 0 && (p[1].revents & ZSOCK_POLLIN) && stop_requested())
            return 0;
        if (ready <= 0 || !(p[0].revents & (ZSOCK_POLLIN | ZSOCK_POLLERR)))
            continue;
        struct sockaddr_storage from;
        socklen_t alen = sizeof from;
        ssize_t n = zsock_recvfrom(sock, buf, sizeof buf, ZSOCK_MSG_DONTWAIT,
                                   (struct sockaddr *)&from, &alen);
        if (n < 0) {
            int err = errno;
            if (err == EAGAIN || err == EINTR)
                continue;
            tool_error("recvfrom", err);
            if (per_client(err))
                continue;
            return 1;
        }
        if (!have_first) {
            first = from;
            have_first = true;
        }
        if (same_addr(&from, &first))
            first_seen = now_ms();
        if (n == 0)
            continue; /* an empty record: nothing to print or echo */
        if (o.echo) {
            if (zsock_sendto(sock, buf, (size_t)n, 0, (struct sockaddr *)&from, alen) < 0) {
                int err = errno;
                tool_error("sendto", err);
                if (!per_client(err))
                    return 1;
            }
        } else {
            fwrite(buf, 1, (size_t)n, stdout);
            fflush(stdout);
        }
    }
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"proto", 1, 0, 'p'}, {"port", 1, 0, 'P'}, {"bind", 1, 0, 'b'}, {"ca", 1, 0, 'a'},
        {"cert", 1, 0, 'c'}, {"key", 1, 0, 'k'}, {"psk-id", 1, 0, 'i'}, {"psk", 1, 0, 's'},
        {"cipher", 1, 0, 'C'}, {"alpn", 1, 0, 'A'}, {"echo", 0, 0, 'e'}, {"once", 0, 0, 'o'},
        {"idle-timeout", 1, 0, 't'}, {"handshake-timeout", 1, 0, 'H'}, {"help", 0, 0, 'h'},
        {0, 0, 0, 0}};
    o.idle_timeout_ms = -1;
    int hs_timeout_ms = ZREC_TLS_HANDSHAKE_TIMEOUT_DEFAULT_MS;
    for (int c; (c = getopt_long(argc, argv, "", lo, NULL)) != -1;) {
        switch (c) {
        case 'p': o.proto = optarg; break;
        case 'P': o.port = optarg; break;
        case 'b': o.bind = optarg; break;
        case 'a': o.ca = optarg; break;
        case 'c': o.cert = optarg; break;
        case 'k': o.key = optarg; break;
        case 'i': o.psk_id = optarg; break;
        case 's': o.psk_hex = optarg; break;
        case 'C': o.cipher = optarg; break;
        case 'A': o.alpn = optarg; break;
        case 'e': o.echo = true; break;
        case 'o': o.once = true; break;
        case 't': o.idle_timeout_ms = atoi(optarg); break;
        case 'H': hs_timeout_ms = atoi(optarg); break;
        case 'h': usage(0); break;
        default: usage(2);
        }
    }
    bool dtls;
    int proto = tool_proto(o.proto, &dtls);
    if (proto < 0 || o.port == NULL || ((o.cert == NULL || o.key == NULL) && o.psk_hex == NULL))
        usage(2);
    if (o.idle_timeout_ms < -1 || hs_timeout_ms < 0)
        usage(2);
    if (dtls && o.idle_timeout_ms < 0)
        o.idle_timeout_ms = 1000;
    if (!dtls && o.idle_timeout_ms >= 0)
        tls_idle_ms = o.idle_timeout_ms;
    if (tool_credentials(&o) < 0)
        return 1;
    /* Before any thread: every thread inherits the mask, so the signals
     * stay pending for the signalfd. */
    sigset_t stop_set;
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGINT);
    if (pthread_sigmask(SIG_BLOCK, &stop_set, NULL) != 0 ||
        (stop_fd = signalfd(-1, &stop_set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
        tool_error("signalfd", errno);
        return 1;
    }
    struct zsock_addrinfo hints = {.ai_flags = AI_PASSIVE,
                                   .ai_socktype = dtls ? SOCK_DGRAM : SOCK_STREAM},
                          *res;
    int gai = zsock_getaddrinfo(o.bind, o.port, &hints, &res);
    if (gai != 0) {
        fprintf(stderr, "%s:%s: %s\n", o.bind ? o.bind : "*", o.port, zsock_gai_strerror(gai));
        return 1;
    }
    int ls = zsock_socket(res->ai_family, dtls ? SOCK_DGRAM : SOCK_STREAM, proto);
    if (ls < 0) {
        tool_error("socket", errno);
        return 1;
    }
    int one = 1;
    zsock_setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (dtls) {
        int role = TLS_DTLS_ROLE_SERVER;
        if (zsock_setsockopt(ls, SOL_TLS, TLS_DTLS_ROLE, &role, sizeof role) < 0) {
            tool_error("TLS_DTLS_ROLE", errno);
            return 1;
        }
    }
    if (tool_configure(ls, &o, true) < 0)
        return 1;
    if (zsock_bind(ls, res->ai_addr, res->ai_addrlen) < 0) {
        tool_error("bind", errno);
        return 1;
    }
    zsock_freeaddrinfo(res);
    if (dtls) {
        fprintf(stderr, "zrec-server: serving on UDP port %s (%s)\n", o.port, o.proto);
        int rc = serve_dtls(ls);
        zsock_close(ls); /* close_notify to every session */
        close(stop_fd);
        return rc;
    }
    if (zsock_setsockopt(ls, SOL_TLS, ZREC_TLS_HANDSHAKE_TIMEOUT, &hs_timeout_ms,
                         sizeof hs_timeout_ms) < 0) {
        tool_error("ZREC_TLS_HANDSHAKE_TIMEOUT", errno);
        return 1;
    }
    /* Non-blocking: accept() hands over each connection at once and its
     * handshake runs in the client's thread. */
    int nb = 1;
    if (zsock_ioctl(ls, ZFD_IOCTL_FIONBIO, &nb) < 0 || zsock_listen(ls, 128) < 0) {
        tool_error("listen", errno);
        return 1;
    }
    fprintf(stderr, "zrec-server: listening on port %s (%s)\n", o.port, o.proto);
    for (;;) {
        struct zsock_pollfd p[2] = {{ls, ZSOCK_POLLIN, 0}, {stop_fd, ZSOCK_POLLIN, 0}};
        if (zsock_poll(p, 2, -1) < 0 && errno != EINTR) {
            tool_error("poll", errno);
            return 1;
        }
        if ((p[1].revents & ZSOCK_POLLIN) && stop_requested())
            break;
        if (!(p[0].revents & ZSOCK_POLLIN))
            continue;
        int c = zsock_accept(ls, NULL, NULL);
        if (c < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                continue;
            /* A failed connection costs that client only. */
            tool_error("accept", errno);
            if (errno == ECONNABORTED || errno == ECONNRESET || errno == EMFILE ||
                errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                continue;
            return 1;
        }
        if (!client_add(c)) {
            zsock_close(c); /* full (MAX_CLIENTS) */
            continue;
        }
        if (o.once) {
            serve((void *)(intptr_t)c);
            break;
        }
        pthread_t th;
        if (pthread_create(&th, NULL, serve, (void *)(intptr_t)c) != 0) {
            client_remove(c);
            zsock_close(c);
            continue;
        }
        pthread_detach(th);
    }
    clients_stop();
    zsock_close(ls);
    close(stop_fd);
    return 0;
}
