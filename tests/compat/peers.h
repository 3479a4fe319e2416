/* Shared by the compat tests (tests/compat): CHECK (counts failures and
 * goes on: a test reports every case), and loopback peers: a plain TCP echo
 * server (a thread per connection, the kernel's sockets) and a TLS echo
 * server on OpenSSL (socat OPENSSL-LISTEN ... PIPE: byte-wise, where
 * gnutls-serv --echo waits for whole lines), with the test PKI. */
#ifndef COMPAT_PEERS_H
#define COMPAT_PEERS_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

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
static size_t load_file(const char *dir, const char *name, void *buf, size_t cap)
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

static void *echo_conn(void *arg)
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

static void *echo_main(void *arg)
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

static uint16_t listen_any(int *fd)
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

/* socat's TLS echo on a free port (found by binding one, then freed);
 * `what`: socat's second address ("PIPE": echo). */
static void start_tls_server_with(const char *certs, const char *what, uint16_t *port_out, pid_t *pid_out)
{
    uint16_t port = 0;
    pid_t pid = -1;
    for (int attempt = 0; attempt < 5; attempt++) {
        int fd;
        port = listen_any(&fd);
        close(fd);
        char listen[1400];
        snprintf(listen, sizeof listen,
                 "OPENSSL-LISTEN:%u,bind=127.0.0.1,reuseaddr,fork,cert=%s/server-cert.pem,"
                 "key=%s/server-key.pem,verify=0",
                 port, certs, certs);
        pid = fork();
        if (pid == 0) {
            int dn = open("/dev/null", O_WRONLY);
            dup2(dn, 1);
            dup2(dn, 2);
            execlp("socat", "socat", listen, what, (char *)NULL);
            _exit(127);
        }
        /* Ready when it accepts a TCP connection. */
        for (int i = 0; i < 100; i++) {
            int s = socket(AF_INET, SOCK_STREAM, 0);
            struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                                    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
            int ok = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
            close(s);
            if (ok) {
                *port_out = port;
                *pid_out = pid;
                return;
            }
            if (waitpid(pid, NULL, WNOHANG) == pid)
                break;
            usleep(50 * 1000);
        }
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    fprintf(stderr, "socat (the TLS echo server) did not start\n");
    exit(1);
}


/* The TLS echo server. */
static uint16_t tls_port;
static pid_t tls_pid;
static void start_tls_server(const char *certs)
{
    start_tls_server_with(certs, "PIPE", &tls_port, &tls_pid);
}

#endif
