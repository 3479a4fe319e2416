/*
 * Hostile input on facade TLS sockets: a proxy between a zsock client and a
 * zsock server tampers with the client's first application-data record.
 * The server must fail that connection with the right errno (and alert the
 * client), never hand tampered bytes to the application, and keep serving
 * other clients.  Also: garbage instead of a ClientHello.
 *
 *   hostile CASE tls1.2|tls1.3 CERTDIR   CASE: flip | oversize | truncate | garbage
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zephyr/net/socket.h>
#include <zephyr/net/tls_credentials.h>

#include "check.h"

static int proto;
static const char *tamper;

static void add_cred(const char *dir, const char *file, sec_tag_t tag, enum tls_credential_type t)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL, "%s", path);
    char *b = malloc(8192);
    size_t n = fread(b, 1, 8191, f);
    fclose(f);
    b[n++] = '\0';
    CHECK(tls_credential_add(tag, t, b, n) == 0, "cred %s", file);
}

/* ---- server: records what each connection's recv() ended with ---------- */

static int listener;
static unsigned short server_port;
static int results[16], nresults;
static char received[16][256];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void *server(void *arg)
{
    (void)arg;
    for (;;) {
        int c = zsock_accept(listener, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR || errno == EBADF)
                return NULL;
            pthread_mutex_lock(&mu);
            results[nresults++] = -errno; /* a failed handshake */
            pthread_mutex_unlock(&mu);
            continue;
        }
        char buf[256];
        ssize_t total = 0, n;
        while ((n = zsock_recv(c, buf, sizeof buf, 0)) > 0) {
            pthread_mutex_lock(&mu);
            memcpy(received[nresults] + total, buf,
                   (size_t)n < sizeof received[0] - (size_t)total ? (size_t)n : 0);
            pthread_mutex_unlock(&mu);
            total += n;
            zsock_send(c, buf, (size_t)n, 0);
        }
        pthread_mutex_lock(&mu);
        results[nresults++] = n == 0 ? 0 : -errno;
        pthread_mutex_unlock(&mu);
        zsock_close(c);
    }
}

/* ---- the proxy: plain kernel sockets, tampers client->server ----------- */

static unsigned short proxy_port;
static int proxy_ls;

static void *proxy(void *arg)
{
    (void)arg;
    int a = accept(proxy_ls, NULL, NULL);
    CHECK(a >= 0, "proxy accept");
    int b = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(server_port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    CHECK(connect(b, (struct sockaddr *)&sa, sizeof sa) == 0, "proxy connect");
    /* Client->server: parse records; tamper with the first application
     * data record (TLS 1.3: the second type-23 record, the first being the
     * client's encrypted Finished). */
    uint8_t buf[1 << 16];
    size_t have = 0;
    int type23 = 0, done = 0;
    for (;;) {
        struct pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
        if (poll(p, 2, 5000) <= 0)
            break;
        if (p[1].revents) {
            uint8_t back[1 << 14];
            ssize_t n = recv(b, back, sizeof back, 0);
            if (n <= 0)
                break;
            send(a, back, (size_t)n, MSG_NOSIGNAL);
        }
        if (!p[0].revents)
            continue;
        ssize_t n = recv(a, buf + have, sizeof buf - have, 0);
        if (n <= 0)
            break;
        have += (size_t)n;
        while (have >= 5) {
            size_t len = 5 + ((size_t)buf[3] << 8 | buf[4]);
            if (have < len)
                break;
            bool target = !done && buf[0] == 23 && type23++ >= (proto == IPPROTO_TLS_1_3 ? 1 : 0);
            if (target) {
                done = 1;
                if (strcmp(tamper, "flip") == 0) {
                    buf[len - 3] ^= 0x40; /* inside the tag */
                } else if (strcmp(tamper, "oversize") == 0) {
                    buf[3] = 0x48; /* 18432 + …: over 2^14 + 2048 for TLS 1.2, 2^14+256 for 1.3 */
                    buf[4] = 0x80;
                } else { /* truncate: half the record, then EOF */
                    send(b, buf, len / 2, MSG_NOSIGNAL);
                    shutdown(b, SHUT_WR);
                    memmove(buf, buf + len, have - len);
                    have -= len;
                    continue;
                }
            }
            send(b, buf, len, MSG_NOSIGNAL);
            memmove(buf, buf + len, have - len);
            have -= len;
        }
    }
    close(a);
    close(b);
    return NULL;
}

static int client_via(unsigned short port)
{
    int s = zsock_socket(AF_INET, SOCK_STREAM, proto);
    sec_tag_t tags[] = {1};
    zsock_setsockopt(s, SOL_TLS, TLS_SEC_TAG_LIST, tags, sizeof tags);
    zsock_setsockopt(s, SOL_TLS, TLS_HOSTNAME, "localhost", 9);
    struct timeval tv = {5, 0};
    zsock_setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    zsock_inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    CHECK(zsock_connect(s, (struct sockaddr *)&sa, sizeof sa) == 0, "connect");
    return s;
}

static unsigned short listen_any(int fd, bool zs)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    socklen_t l = sizeof sa;
    if (zs) {
        CHECK(zsock_bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "bind");
        CHECK(zsock_listen(fd, 4) == 0, "listen");
        CHECK(zsock_getsockname(fd, (struct sockaddr *)&sa, &l) == 0, "name");
    } else {
        CHECK(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "bind");
        CHECK(listen(fd, 4) == 0, "listen");
        CHECK(getsockname(fd, (struct sockaddr *)&sa, &l) == 0, "name");
    }
    return ntohs(sa.sin_port);
}

static int wait_results(int n)
{
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&mu);
        int have = nresults;
        pthread_mutex_unlock(&mu);
        if (have >= n)
            return have;
        usleep(10000);
    }
    return nresults;
}

int main(int argc, char **argv)
{
    CHECK(argc == 4, "usage: hostile CASE tls1.2|tls1.3 CERTDIR");
    tamper = argv[1];
    proto = strcmp(argv[2], "tls1.3") == 0 ? IPPROTO_TLS_1_3 : IPPROTO_TLS_1_2;
    add_cred(argv[3], "ca-cert.pem", 1, TLS_CREDENTIAL_CA_CERTIFICATE);
    add_cred(argv[3], "server-cert.pem", 2, TLS_CREDENTIAL_SERVER_CERTIFICATE);
    add_cred(argv[3], "server-key.pem", 2, TLS_CREDENTIAL_PRIVATE_KEY);

    listener = zsock_socket(AF_INET, SOCK_STREAM, proto);
    sec_tag_t st[] = {2};
    zsock_setsockopt(listener, SOL_TLS, TLS_SEC_TAG_LIST, st, sizeof st);
    server_port = listen_any(listener, true);
    pthread_t sth;
    pthread_create(&sth, NULL, server, NULL);

    const char *secret = "TAMPERED-PAYLOAD";
    if (strcmp(tamper, "garbage") == 0) {
        /* Not TLS at all: the server's accept fails, the connection ends. */
        int g = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(server_port)};
        inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
        CHECK(connect(g, (struct sockaddr *)&sa, sizeof sa) == 0, "raw connect");
        const char req[] = "GET / HTTP/1.0\r\nHost: x\r\n\r\n";
        send(g, req, sizeof req - 1, 0);
        char b[64];
        struct timeval tv = {5, 0};
        setsockopt(g, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        while (recv(g, b, sizeof b, 0) > 0)
            ; /* an alert, then the server closes */
        close(g);
        CHECK(wait_results(1) >= 1 && results[0] == -ECONNABORTED,
              "garbage handshake: accept fails with ECONNABORTED (%d)", results[0]);
    } else {
        proxy_ls = socket(AF_INET, SOCK_STREAM, 0);
        proxy_port = listen_any(proxy_ls, false);
        pthread_t pth;
        pthread_create(&pth, NULL, proxy, NULL);
        int c = client_via(proxy_port);
        CHECK(zsock_send(c, secret, strlen(secret), 0) == (ssize_t)strlen(secret), "send");
        char b[64];
        ssize_t r = zsock_recv(c, b, sizeof b, 0);
        int cerr = errno;
        CHECK(wait_results(1) >= 1, "server finished the connection");
        int want = strcmp(tamper, "flip") == 0 ? -EBADMSG
                   : strcmp(tamper, "oversize") == 0 ? -EMSGSIZE : -ECONNRESET;
        CHECK(results[0] == want, "server recv ended with %d, expected %d", results[0], want);
        CHECK(strstr(received[0], "TAMPERED") == NULL, "no tampered bytes reached the app");
        if (want != -ECONNRESET) {
            /* The server's fatal alert reaches the client (RFC 8446 §6.2). */
            CHECK(r == -1 && cerr == ECONNRESET, "client sees the alert: %zd errno %d", r, cerr);
        }
        zsock_close(c);
        shutdown(proxy_ls, SHUT_RDWR);
        pthread_join(pth, NULL);
        close(proxy_ls);
    }
    /* The server keeps serving other clients. */
    int ok = client_via(server_port);
    CHECK(zsock_send(ok, "fine", 4, 0) == 4, "send");
    char b[8];
    CHECK(zsock_recv(ok, b, sizeof b, 0) == 4 && memcmp(b, "fine", 4) == 0, "still serving");
    zsock_close(ok);
    zsock_close(listener);
    pthread_join(sth, NULL);
    printf("ok %s %s\n", argv[1], argv[2]);
    return 0;
}
