/* Shared by the compat tests (tests/compat): CHECK (counts failures and
 * goes on: a test reports every case), and loopback peers: a plain TCP echo
 * server (a thread per connection, the kernel's sockets) and a TLS echo
 * server on OpenSSL (socat OPENSSL-LISTEN ... PIPE: byte-wise, where
 * gnutls-serv --echo waits for whole lines), with the test PKI. */
#ifndef COMPAT_PEERS_H
#define COMPAT_PEERS_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Each test uses some of these helpers. */
#define PEERS_HELPER __attribute__((unused)) static

static int failures;
#define CHECK(c, ...)                                                                             \
    do {                                                                                          \
        if (!(c)) {                                                                               \
            fprintf(stderr, "FAIL %s:%d: ", __func__, __LINE__);                                  \
            fprintf(stderr, __VA_ARGS__);                                                         \
            fprintf(stderr, "\n");                                                                \
            failures++;                                                                           \
        }                                                                                         \
    } while (0)

/* A file of the test PKI into buf (NUL-terminated); its length without the
 * NUL.  Exits when it cannot. */
PEERS_HELPER size_t load_file(const char *dir, const char *name, void *buf, size_t cap)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        exit(1);
    }
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    ((char *)buf)[n] = '\0';
    return n;
}

/* ---- the plain echo server: a thread per connection -------------------------- */

PEERS_HELPER void *echo_conn(void *arg)
{
    int c = (int)(intptr_t)arg;
    char buf[4096];
    ssize_t n;
    while ((n = recv(c, buf, sizeof buf, 0)) > 0)
        if (send(c, buf, (size_t)n, MSG_NOSIGNAL) != n)
            break;
    close(c);
    return NULL;
}

PEERS_HELPER void *echo_main(void *arg)
{
    int l = (int)(intptr_t)arg;
    for (;;) {
        int c = accept(l, NULL, NULL);
        if (c < 0)
            return NULL;
        pthread_t t;
        if (pthread_create(&t, NULL, echo_conn, (void *)(intptr_t)c) == 0)
            pthread_detach(t);
        else
            close(c);
    }
}

PEERS_HELPER uint16_t listen_any(int *fd)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    if (*fd < 0 || bind(*fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(*fd, 64) != 0 ||
        getsockname(*fd, (struct sockaddr *)&a, &len) != 0) {
        perror("echo server");
        exit(1);
    }
    return ntohs(a.sin_port);
}

/* ---- peer processes (openssl s_client / s_server, gnutls-cli) ---------------- */


/* Not every test uses every helper. */

PEERS_HELPER long long peers_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run argv with its stdin and stdout on pipes (to_child / from_child; NULL:
 * /dev/null), stderr to /dev/null.  The child's pid. */
PEERS_HELPER pid_t spawn_piped(char *const argv[], int *to_child, int *from_child)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1};
    if ((to_child && pipe(in) != 0) || (from_child && pipe(out) != 0)) {
        perror("pipe");
        exit(1);
    }
    pid_t pid = fork();
    if (pid == 0) {
        int dn = open("/dev/null", O_RDWR);
        dup2(to_child ? in[0] : dn, 0);
        dup2(from_child ? out[1] : dn, 1);
        dup2(dn, 2);
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        execvp(argv[0], argv);
        _exit(127);
    }
    if (to_child) {
        close(in[0]);
        *to_child = in[1];
    }
    if (from_child) {
        close(out[1]);
        *from_child = out[0];
    }
    return pid;
}

/* Read fd into buf (NUL-terminated) until it holds `needle`, EOF, or
 * timeout_ms passes; whether the needle came. */
PEERS_HELPER bool read_until(int fd, char *buf, size_t cap, const char *needle, int timeout_ms)
{
    size_t got = 0;
    long long end = peers_now_ms() + timeout_ms;
    buf[0] = '\0';
    while (strstr(buf, needle) == NULL && got + 1 < cap) {
        long long left = end - peers_now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return false;
        ssize_t n = read(fd, buf + got, cap - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        buf[got] = '\0';
    }
    return strstr(buf, needle) != NULL;
}

/* Wait up to timeout_ms for pid to end, then kill it. */
PEERS_HELPER void reap(pid_t pid, int timeout_ms)
{
    if (pid <= 0)
        return;
    long long end = peers_now_ms() + timeout_ms;
    while (peers_now_ms() < end) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        usleep(10 * 1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* accept() on a kernel listener, waiting at most timeout_ms; -1 if none. */
PEERS_HELPER int accept_within(int lfd, int timeout_ms)
{
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) != 1)
        return -1;
    return accept(lfd, NULL, NULL);
}

/* A server process listening on 127.0.0.1:port (argv names it), ready once
 * it accepts a TCP connection; its pid, or -1 when it did not start. */
PEERS_HELPER pid_t start_server_process(char *const argv[], uint16_t port)
{
    pid_t pid = spawn_piped(argv, NULL, NULL);
    for (int i = 0; i < 100; i++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int ok = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
        close(s);
        if (ok)
            return pid;
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return -1;
        usleep(50 * 1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

/* Descriptors this process has open (leak checks). */
/* socat's TLS echo on a free port (found by binding one, then freed);
 * `what`: socat's second address ("PIPE": echo). */
PEERS_HELPER void start_tls_server_with(const char *certs, const char *what, uint16_t *port_out,
                                        pid_t *pid_out)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        int fd;
        uint16_t port = listen_any(&fd);
        close(fd);
        char listen[1400];
        snprintf(listen, sizeof listen,
                 "OPENSSL-LISTEN:%u,bind=127.0.0.1,reuseaddr,fork,cert=%s/server-cert.pem,"
                 "key=%s/server-key.pem,verify=0",
                 port, certs, certs);
        char *argv[] = {"socat", listen, (char *)what, NULL};
        pid_t pid = start_server_process(argv, port);
        if (pid > 0) {
            *port_out = port;
            *pid_out = pid;
            return;
        }
    }
    fprintf(stderr, "socat (the TLS echo server) did not start\n");
    exit(1);
}

PEERS_HELPER uint16_t tls_port;
PEERS_HELPER pid_t tls_pid;
PEERS_HELPER void start_tls_server(const char *certs)
{
    start_tls_server_with(certs, "PIPE", &tls_port, &tls_pid);
}

PEERS_HELPER int open_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 4096; fd++)
        if (fcntl(fd, F_GETFD) != -1)
            n++;
    return n;
}

#endif
