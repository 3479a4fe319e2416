/*
 * ESP-TLS server sessions (facade/compat, esp_tls.h) in the style of
 * ESP-IDF's own users (esp_https_server): the application listens and
 * accepts with the kernel's sockets on loopback, then serves each accepted
 * descriptor with esp_tls_server_session_create() (or init +
 * continue_async), echoes a line, and ends with
 * esp_tls_server_session_delete(), its descriptor its own to close:
 *
 *   esp_tls_server CERT_DIR
 *
 * Peers: openssl s_client, gnutls-cli, and this library's own ESP-TLS
 * client (a thread).  Covered: ESP-IDF's own unit test (create on fd -1,
 * then delete), argument and configuration errors, PEM (NUL counted) and
 * DER credentials, a blocking create, a non-blocking init + continue_async
 * loop, the descriptor left open and as blocking as it was, client
 * certificates required (none, one from another CA, a good one), ALPN, PSK,
 * a key that does not load,
 * hostile clients (plain text, a ClientHello cut short, a silent one and the
 * handshake timeout), and no descriptor left behind.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <zephyr/net/socket.h>
#include <zrec/zsock_ext.h>

#include "esp_tls.h"
#include "peers.h"

static const char *certs;
static unsigned char cert_pem[8192], key_pem[8192], cert_der[4096], key_der[4096], ca_pem[8192];
static unsigned cert_pem_len, key_pem_len, cert_der_len, key_der_len, ca_pem_len;
static int lfd;        /* the application's listener (kernel) */
static uint16_t port;

static esp_tls_cfg_server_t server_cfg(void)
{
    esp_tls_cfg_server_t c = {.servercert_buf = cert_pem, .servercert_bytes = cert_pem_len,
                              .serverkey_buf = key_pem, .serverkey_bytes = key_pem_len,
                              .tls_handshake_timeout_ms = 5000};
    return c;
}

static char *path(const char *name)
{
    static char buf[8][512];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, 512, "%s/%s", certs, name);
    return p;
}

static char *port_str(void)
{
    static char buf[32];
    snprintf(buf, sizeof buf, "127.0.0.1:%u", port);
    return buf;
}

/* Read one line from the session and write it back; bounded in calls and
 * time (a non-blocking session waits on its descriptor, as an ESP-IDF app
 * does with select()). */
static bool echo_line(esp_tls_t *t)
{
    char buf[512];
    size_t got = 0;
    long long end = peers_now_ms() + 5000;
    while ((got == 0 || buf[got - 1] != '\n') && got < sizeof buf && peers_now_ms() < end) {
        ssize_t r = esp_tls_conn_read(t, buf + got, sizeof buf - got);
        if (r == ESP_TLS_ERR_SSL_WANT_READ || r == ESP_TLS_ERR_SSL_WANT_WRITE) {
            int fd = -1;
            esp_tls_get_conn_sockfd(t, &fd);
            struct pollfd p = {.fd = fd, .events = POLLIN};
            (void)poll(&p, 1, 50);
            continue;
        }
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    for (size_t off = 0; off < got && peers_now_ms() < end;) {
        ssize_t w = esp_tls_conn_write(t, buf + off, got - off);
        if (w == ESP_TLS_ERR_SSL_WANT_WRITE || w == ESP_TLS_ERR_SSL_WANT_READ)
            continue;
        if (w <= 0)
            return false;
        off += (size_t)w;
    }
    return got > 0 && buf[got - 1] == '\n';
}

/* A client process: spawned, its line written; the server's side is the
 * caller's.  Then (client_done) its echo checked and the process reaped. */
struct client {
    pid_t pid;
    int in, out;
};

static struct client spawn_client(char *const argv[], const char *line)
{
    struct client c;
    c.pid = spawn_piped(argv, &c.in, &c.out);
    if (line)
        (void)!write(c.in, line, strlen(line)); /* the pipe holds it until the peer reads */
    return c;
}

static bool client_done(struct client *c, const char *expect, char *out, size_t cap)
{
    bool ok = expect ? read_until(c->out, out, cap, expect, 5000) : true;
    close(c->in);
    reap(c->pid, 3000);
    close(c->out);
    return ok;
}

static int accept_one(void)
{
    int fd = accept_within(lfd, 5000);
    CHECK(fd >= 0, "accept: %s", strerror(errno));
    return fd;
}

/* ---- ESP-IDF's unit test, arguments, configuration ---------------------------------- */

static void setup_and_errors(void)
{
    /* test_esp_tls.c "esp_tls_server session create delete": fd -1. */
    esp_tls_t *t = esp_tls_init();
    esp_tls_cfg_server_t c = server_cfg();
    CHECK(esp_tls_server_session_create(&c, -1, t) < 0, "create on fd -1");
    esp_tls_server_session_delete(t);
    esp_tls_server_session_delete(NULL);

    t = esp_tls_init();
    CHECK(esp_tls_server_session_init(NULL, 0, t) == ESP_ERR_INVALID_ARG, "init(NULL cfg)");
    CHECK(esp_tls_server_session_init(&c, 0, NULL) == ESP_ERR_INVALID_ARG, "init(NULL tls)");
    CHECK(esp_tls_server_session_continue_async(NULL) < 0, "continue_async(NULL)");
    CHECK(esp_tls_server_session_continue_async(t) < 0, "continue_async before init");
    esp_tls_server_session_delete(t);

    /* No certificate and key, no PSK: ESP_ERR_INVALID_STATE, as upstream. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK(connect(s, (struct sockaddr *)&a, sizeof a) == 0, "connect");
    int fd = accept_one();
    esp_tls_cfg_server_t none = {.tls_handshake_timeout_ms = 0};
    t = esp_tls_init();
    CHECK(esp_tls_server_session_init(&none, fd, t) == ESP_FAIL, "no certificate: ESP_FAIL");
    esp_tls_error_handle_t h;
    esp_tls_get_error_handle(t, &h);
    int code, flags;
    esp_err_t last = esp_tls_get_and_clear_last_error(h, &code, &flags);
    CHECK(last == ESP_ERR_INVALID_STATE, "no certificate: 0x%x", last);
    esp_tls_conn_state_t st;
    CHECK(esp_tls_get_conn_state(t, &st) == ESP_OK && st == ESP_TLS_FAIL, "state FAIL");
    esp_tls_server_session_delete(t);
    /* Hardware keys, encrypted keys: refused. */
    esp_tls_cfg_server_t hw = server_cfg();
    hw.use_secure_element = true;
    t = esp_tls_init();
    CHECK(esp_tls_server_session_init(&hw, fd, t) == ESP_FAIL, "secure element refused");
    esp_tls_server_session_delete(t);
    /* A key that does not load: found at the handshake's first step. */
    static unsigned char junk_key[] = "-----BEGIN PRIVATE KEY-----\nnot a key\n"
                                      "-----END PRIVATE KEY-----\n";
    esp_tls_cfg_server_t bad = server_cfg();
    bad.serverkey_buf = junk_key;
    bad.serverkey_bytes = sizeof junk_key;
    t = esp_tls_init();
    int rc = esp_tls_server_session_create(&bad, fd, t);
    esp_tls_get_error_handle(t, &h);
    CHECK(rc < 0 && h->last_error == ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED,
          "a key that does not load: %d, 0x%x", rc, h->last_error);
    esp_tls_server_session_delete(t);
    CHECK(fcntl(fd, F_GETFD) != -1, "delete leaves the descriptor open");
    close(fd);
    close(s);
    CHECK(esp_tls_cfg_server_session_tickets_init(&c) == ESP_ERR_NOT_SUPPORTED,
          "server tickets: not supported");
    esp_tls_cfg_server_session_tickets_free(&c);
    printf("ok create(-1)+delete, argument errors, no certificate, hardware refused\n");
}

/* ---- blocking create against real clients ------------------------------------------- */

static void openssl_client(void)
{
    char *argv[] = {"openssl", "s_client", "-connect", port_str(), "-CAfile",
                    path("ca-cert.pem"), "-verify_return_error", "-quiet", NULL};
    struct client cl = spawn_client(argv, "hello from openssl\n");
    int fd = accept_one();
    esp_tls_t *t = esp_tls_init();
    esp_tls_cfg_server_t c = server_cfg();
    int rc = esp_tls_server_session_create(&c, fd, t);
    CHECK(rc == 0, "create: %d", rc);
    int got = -1;
    CHECK(esp_tls_get_conn_sockfd(t, &got) == ESP_OK && got == fd, "sockfd is the accepted one");
    CHECK(echo_line(t), "echo");
    CHECK(esp_tls_get_bytes_avail(t) == 0, "nothing left");
    esp_tls_server_session_delete(t); /* close_notify: s_client ends */
    char out[4096];
    CHECK(client_done(&cl, "hello from openssl\n", out, sizeof out), "s_client got: %s", out);
    CHECK(fcntl(fd, F_GETFD) != -1, "the descriptor is still the application's");
    CHECK(!(fcntl(fd, F_GETFL) & O_NONBLOCK), "and blocking, as it was");
    close(fd);
    printf("ok openssl s_client: blocking create, echo, delete leaves the descriptor\n");
}

static void gnutls_client_der(void)
{
    char portarg[32];
    snprintf(portarg, sizeof portarg, "--port=%u", port);
    char cafile[600];
    snprintf(cafile, sizeof cafile, "--x509cafile=%s", path("ca-cert.pem"));
    char *argv[] = {"gnutls-cli", cafile, portarg, "127.0.0.1", NULL};
    struct client cl = spawn_client(argv, "hello from gnutls\n");
    int fd = accept_one();
    esp_tls_t *t = esp_tls_init();
    /* DER certificate and key. */
    esp_tls_cfg_server_t c = {.servercert_buf = cert_der, .servercert_bytes = cert_der_len,
                              .serverkey_buf = key_der, .serverkey_bytes = key_der_len};
    int rc = esp_tls_server_session_create(&c, fd, t);
    CHECK(rc == 0, "create (DER): %d", rc);
    CHECK(echo_line(t), "echo");
    esp_tls_server_session_delete(t);
    char out[8192];
    CHECK(client_done(&cl, "hello from gnutls\n", out, sizeof out), "gnutls-cli got: %s", out);
    close(fd);
    printf("ok gnutls-cli, DER certificate and key\n");
}

/* ---- init + continue_async, non-blocking, against our own client ------------------ */

static const unsigned char psk_key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const psk_hint_key_t psk = {.key = psk_key, .key_size = sizeof psk_key, .hint = "esp-id"};

struct own_client {
    const char **alpn;
    bool with_cert, with_psk;
    int rc;
    bool echoed;
    char alpn_got[32];
};

static unsigned char client_cert[8192], client_key[8192];
static unsigned client_cert_len, client_key_len;

static void *own_client_main(void *arg)
{
    struct own_client *oc = arg;
    esp_tls_cfg_t c = {.cacert_buf = ca_pem, .cacert_bytes = ca_pem_len, .timeout_ms = 5000,
                       .common_name = "localhost", .alpn_protos = oc->alpn};
    if (oc->with_psk) {
        c.cacert_buf = NULL;
        c.cacert_bytes = 0;
        c.psk_hint_key = &psk;
    }
    if (oc->with_cert) {
        c.clientcert_buf = client_cert;
        c.clientcert_bytes = client_cert_len;
        c.clientkey_buf = client_key;
        c.clientkey_bytes = client_key_len;
    }
    esp_tls_t *t = esp_tls_init();
    oc->rc = esp_tls_conn_new_sync("127.0.0.1", 9, port, &c, t);
    if (oc->rc == 1) {
        int fd = -1;
        esp_tls_get_conn_sockfd(t, &fd);
        socklen_t len = sizeof oc->alpn_got;
        if (zsock_getsockopt(fd, SOL_TLS, TLS_ALPN_LIST, oc->alpn_got, &len) != 0)
            oc->alpn_got[0] = '\0';
        const char *msg = "hello from esp-tls\n";
        char buf[64];
        size_t got = 0;
        if (esp_tls_conn_write(t, msg, strlen(msg)) == (ssize_t)strlen(msg)) {
            for (int i = 0; i < 100 && got < strlen(msg); i++) {
                ssize_t r = esp_tls_conn_read(t, buf + got, sizeof buf - got);
                if (r <= 0 && r != ESP_TLS_ERR_SSL_WANT_READ)
                    break;
                if (r > 0)
                    got += (size_t)r;
            }
        }
        oc->echoed = got == strlen(msg) && memcmp(buf, msg, got) == 0;
    }
    esp_tls_conn_destroy(t);
    return NULL;
}

static void async_own_client(void)
{
    static const char *client_alpn[] = {"h2", NULL};
    static const char *server_alpn[] = {"http/1.1", "h2", NULL};
    struct own_client oc = {.alpn = client_alpn};
    pthread_t th;
    pthread_create(&th, NULL, own_client_main, &oc);
    int fd = accept_one();
    /* The application's descriptor is non-blocking, as in an event loop. */
    CHECK(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0, "O_NONBLOCK");
    esp_tls_t *t = esp_tls_init();
    esp_tls_cfg_server_t c = server_cfg();
    c.alpn_protos = server_alpn;
    CHECK(esp_tls_server_session_init(&c, fd, t) == ESP_OK, "init");
    int rc = -1, wants = 0;
    long long end = peers_now_ms() + 5000;
    for (int i = 0; i < 2000 && peers_now_ms() < end; i++) {
        rc = esp_tls_server_session_continue_async(t);
        if (rc != ESP_TLS_ERR_SSL_WANT_READ && rc != ESP_TLS_ERR_SSL_WANT_WRITE)
            break;
        wants++;
        struct pollfd p = {.fd = fd, .events = rc == ESP_TLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT};
        (void)poll(&p, 1, 50);
    }
    CHECK(rc == 0, "continue_async: %d after %d WANT", rc, wants);
    CHECK(wants > 0, "it did go asynchronously");
    CHECK(esp_tls_server_session_continue_async(t) == 0, "done stays done");
    CHECK(echo_line(t), "non-blocking echo");
    pthread_join(th, NULL);
    CHECK(oc.rc == 1 && oc.echoed, "our client: connect %d, echoed %d", oc.rc, oc.echoed);
    CHECK(strcmp(oc.alpn_got, "h2") == 0, "ALPN: \"%s\"", oc.alpn_got);
    esp_tls_server_session_delete(t);
    CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK, "still non-blocking, as the application made it");
    close(fd);
    printf("ok init + continue_async (%d WANT) on a non-blocking descriptor, ALPN h2, "
           "our own client\n", wants);
}

static void alpn_openssl(void)
{
    static const char *server_alpn[] = {"h2", "http/1.1", NULL};
    char *argv[] = {"openssl", "s_client", "-connect", port_str(), "-CAfile",
                    path("ca-cert.pem"), "-alpn", "http/1.1", NULL};
    struct client cl = spawn_client(argv, "alpn line\n");
    int fd = accept_one();
    esp_tls_t *t = esp_tls_init();
    esp_tls_cfg_server_t c = server_cfg();
    c.alpn_protos = server_alpn;
    CHECK(esp_tls_server_session_create(&c, fd, t) == 0, "create");
    CHECK(echo_line(t), "echo");
    esp_tls_server_session_delete(t);
    char out[16384];
    bool got = read_until(cl.out, out, sizeof out, "alpn line\n", 5000);
    CHECK(got && strstr(out, "ALPN protocol: http/1.1"), "s_client: %s", out);
    client_done(&cl, NULL, NULL, 0);
    close(fd);
    printf("ok ALPN http/1.1 chosen for openssl s_client\n");
}

/* ---- client certificates required (cacert set) -------------------------------------- */

static void client_certificates(void)
{
    esp_tls_cfg_server_t c = server_cfg();
    c.cacert_buf = ca_pem;
    c.cacert_bytes = ca_pem_len;
    esp_tls_error_handle_t h;
    int code = 0, flags = 0;
    char out[4096];

    /* No certificate: the handshake fails. */
    char *nocert[] = {"openssl", "s_client", "-connect", port_str(), "-CAfile",
                      path("ca-cert.pem"), "-quiet", NULL};
    struct client cl = spawn_client(nocert, "x\n");
    int fd = accept_one();
    esp_tls_t *t = esp_tls_init();
    int rc = esp_tls_server_session_create(&c, fd, t);
    CHECK(rc < 0, "no client certificate: %d", rc);
    esp_tls_get_error_handle(t, &h);
    esp_err_t last = esp_tls_get_and_clear_last_error(h, &code, &flags);
    CHECK(last == ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED && code == -rc && flags == 0,
          "no certificate: last 0x%x code 0x%x flags 0x%x", last, code, flags);
    esp_tls_conn_state_t st;
    CHECK(esp_tls_get_conn_state(t, &st) == ESP_OK && st == ESP_TLS_FAIL, "state FAIL");
    CHECK(esp_tls_server_session_continue_async(t) < 0, "failed stays failed");
    esp_tls_server_session_delete(t);
    close(fd);
    client_done(&cl, NULL, NULL, 0);

    /* A certificate from another CA: verification fails, mbedTLS's flags. */
    char *wrong[] = {"openssl", "s_client", "-connect", port_str(), "-CAfile",
                     path("ca-cert.pem"), "-cert", path("client-ecc-cert.pem"), "-key",
                     path("ecc-client-key.pem"), "-quiet", NULL};
    cl = spawn_client(wrong, "x\n");
    fd = accept_one();
    t = esp_tls_init();
    rc = esp_tls_server_session_create(&c, fd, t);
    CHECK(rc == -0x2700, "another CA's client: %d", rc);
    esp_tls_get_error_handle(t, &h);
    last = esp_tls_get_and_clear_last_error(h, &code, &flags);
    CHECK(last == ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED && code == 0x2700 && (flags & 0x08),
          "another CA: last 0x%x code 0x%x flags 0x%x", last, code, flags);
    esp_tls_server_session_delete(t);
    close(fd);
    client_done(&cl, NULL, NULL, 0);

    /* The right certificate: served. */
    char *good[] = {"openssl", "s_client", "-connect", port_str(), "-CAfile",
                    path("ca-cert.pem"), "-cert", path("client-cert.pem"), "-key",
                    path("client-key.pem"), "-quiet", NULL};
    cl = spawn_client(good, "with a certificate\n");
    fd = accept_one();
    t = esp_tls_init();
    rc = esp_tls_server_session_create(&c, fd, t);
    CHECK(rc == 0, "client certificate: %d", rc);
    CHECK(echo_line(t), "echo");
    esp_tls_server_session_delete(t);
    CHECK(client_done(&cl, "with a certificate\n", out, sizeof out), "s_client: %s", out);
    close(fd);

    /* Our own client with its certificate (DER key and certificate). */
    struct own_client oc = {.with_cert = true};
    pthread_t th;
    pthread_create(&th, NULL, own_client_main, &oc);
    fd = accept_one();
    t = esp_tls_init();
    rc = esp_tls_server_session_create(&c, fd, t);
    CHECK(rc == 0, "our client with a certificate: %d", rc);
    CHECK(echo_line(t), "echo");
    pthread_join(th, NULL);
    CHECK(oc.rc == 1 && oc.echoed, "our client: %d %d", oc.rc, oc.echoed);
    /* esp_tls_conn_destroy on a server handle closes the descriptor too,
     * as ESP-TLS's does. */
    CHECK(esp_tls_conn_destroy(t) == 0, "destroy");
    CHECK(fcntl(fd, F_GETFD) == -1, "destroy closed it");
    printf("ok client certificate required: none and another CA's refused, good ones served\n");
}

/* PSK instead of a certificate: the hint is the identity (our own client). */
static void psk_session(void)
{
    struct own_client oc = {.with_psk = true};
    pthread_t th;
    pthread_create(&th, NULL, own_client_main, &oc);
    int fd = accept_one();
    esp_tls_t *t = esp_tls_init();
    esp_tls_cfg_server_t c = {.psk_hint_key = &psk, .tls_handshake_timeout_ms = 5000};
    int rc = esp_tls_server_session_create(&c, fd, t);
    CHECK(rc == 0, "PSK: %d", rc);
    CHECK(rc != 0 || echo_line(t), "echo");
    pthread_join(th, NULL);
    CHECK(oc.rc == 1 && oc.echoed, "our PSK client: %d %d", oc.rc, oc.echoed);
    esp_tls_server_session_delete(t);
    close(fd);
    printf("ok PSK server session\n");
}

/* ---- hostile clients ------------------------------------------------------------------ */

static int raw_client(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK(connect(s, (struct sockaddr *)&a, sizeof a) == 0, "connect");
    return s;
}

static void hostile(void)
{
    esp_tls_error_handle_t h;
    int code, flags, sys;

    /* Plain text where a ClientHello belongs. */
    int s = raw_client();
    const char *http = "GET / HTTP/1.0\r\n\r\n";
    CHECK(send(s, http, strlen(http), 0) == (ssize_t)strlen(http), "send");
    int fd = accept_one();
    esp_tls_t *t = esp_tls_init();
    esp_tls_cfg_server_t c = server_cfg();
    int rc = esp_tls_server_session_create(&c, fd, t);
    CHECK(rc < 0, "plain text: %d", rc);
    esp_tls_get_error_handle(t, &h);
    CHECK(h->last_error == ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED, "plain text: 0x%x",
          h->last_error);
    char b[8];
    CHECK(esp_tls_conn_read(t, b, sizeof b) < 0, "no reads after a failed handshake");
    esp_tls_server_session_delete(t);
    close(fd);
    close(s);

    /* A ClientHello cut short, then the peer goes. */
    s = raw_client();
    static const unsigned char part[] = {0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4,
                                         0x03, 0x03, 0x11, 0x22};
    CHECK(send(s, part, sizeof part, 0) == (ssize_t)sizeof part, "send");
    fd = accept_one();
    usleep(20 * 1000);
    close(s);
    t = esp_tls_init();
    rc = esp_tls_server_session_create(&c, fd, t);
    esp_tls_get_error_handle(t, &h);
    CHECK(esp_tls_get_and_clear_error_type(h, ESP_TLS_ERR_TYPE_SYSTEM, &sys) == ESP_OK, "errno");
    CHECK(rc == -0x0050 && sys == ECONNRESET &&
              h->last_error == ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED,
          "cut short: %d errno %d last 0x%x", rc, sys, h->last_error);
    esp_tls_server_session_delete(t);
    close(fd);

    /* A silent client: tls_handshake_timeout_ms, blocking and non-blocking. */
    s = raw_client();
    fd = accept_one();
    c.tls_handshake_timeout_ms = 300;
    t = esp_tls_init();
    long long t0 = peers_now_ms();
    rc = esp_tls_server_session_create(&c, fd, t);
    long long took = peers_now_ms() - t0;
    CHECK(rc == ESP_ERR_ESP_TLS_SERVER_HANDSHAKE_TIMEOUT && took >= 250 && took < 2000,
          "silent: %d after %lld ms", rc, took);
    esp_tls_get_error_handle(t, &h);
    CHECK(esp_tls_get_and_clear_last_error(h, &code, &flags) ==
              ESP_ERR_ESP_TLS_SERVER_HANDSHAKE_TIMEOUT,
          "timeout recorded");
    esp_tls_server_session_delete(t);
    CHECK(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0, "O_NONBLOCK");
    t = esp_tls_init();
    t0 = peers_now_ms();
    rc = esp_tls_server_session_create(&c, fd, t);
    took = peers_now_ms() - t0;
    CHECK(rc == ESP_ERR_ESP_TLS_SERVER_HANDSHAKE_TIMEOUT && took >= 250 && took < 2000,
          "silent, non-blocking: %d after %lld ms", rc, took);
    esp_tls_server_session_delete(t);
    close(fd);
    close(s);

    /* A peer that closes before a byte: continue_async fails, no crash. */
    s = raw_client();
    fd = accept_one();
    close(s);
    t = esp_tls_init();
    CHECK(esp_tls_server_session_init(&c, fd, t) == ESP_OK, "init");
    rc = 0;
    for (int i = 0; i < 100; i++) {
        rc = esp_tls_server_session_continue_async(t);
        if (rc != ESP_TLS_ERR_SSL_WANT_READ && rc != ESP_TLS_ERR_SSL_WANT_WRITE)
            break;
        usleep(10 * 1000);
    }
    CHECK(rc < 0 && rc != ESP_TLS_ERR_SSL_WANT_READ && rc != ESP_TLS_ERR_SSL_WANT_WRITE,
          "closed at once: %d", rc);
    esp_tls_server_session_delete(t);
    close(fd);
    printf("ok plain text, a ClientHello cut short, silent (timeout), closed at once\n");
}

/* ---- the facade's calls underneath (zrec/zsock_ext.h): their refusals ------------- */

static void adopt_errors(void)
{
    int u = socket(AF_INET, SOCK_STREAM, 0); /* not connected */
    CHECK(zrec_zsock_adopt_tls(u, IPPROTO_TCP) == -1 && errno == EPROTONOSUPPORT, "proto");
    CHECK(zrec_zsock_adopt_tls(u, IPPROTO_TLS_1_2) == -1 && errno == ENOTCONN, "not connected");
    CHECK(!(fcntl(u, F_GETFL) & O_NONBLOCK), "a refused descriptor is left as it was");
    close(u);
    int d = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(zrec_zsock_adopt_tls(d, IPPROTO_TLS_1_2) == -1 && errno == EPROTOTYPE, "datagrams");
    close(d);
    CHECK(zrec_zsock_adopt_tls(-1, IPPROTO_TLS_1_2) == -1 && errno == EBADF, "fd -1");
    int z = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TLS_1_2);
    CHECK(zrec_zsock_adopt_tls(z, IPPROTO_TLS_1_2) == -1 && errno == EEXIST, "already zsock");
    CHECK(zrec_zsock_tls_handshake(z, 7) == -1 && errno == EINVAL, "role");
    CHECK(zrec_zsock_tls_handshake(z, TLS_DTLS_ROLE_SERVER) == -1 && errno == ENOTCONN,
          "handshake before a connection");
    zsock_close(z);
    int p = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    CHECK(zrec_zsock_tls_handshake(p, TLS_DTLS_ROLE_SERVER) == -1 && errno == EOPNOTSUPP,
          "plain socket");
    zsock_close(p);
    /* An adopted server socket: the session option is a client's. */
    int s = raw_client();
    int fd = accept_one();
    CHECK(zrec_zsock_adopt_tls(fd, IPPROTO_TLS_1_2) == 0, "adopt");
    int v = 0;
    socklen_t len = sizeof v;
    CHECK(zsock_getsockopt(fd, SOL_TLS, ZREC_TLS_SESSION, &v, &len) == -1 && errno == ENOTCONN,
          "no session before a handshake");
    unsigned char junk[8] = {3, 3, 1, 2, 3, 4, 5, 6};
    CHECK(zsock_setsockopt(fd, SOL_TLS, ZREC_TLS_SESSION, junk, sizeof junk) == -1 &&
              errno == EINVAL,
          "junk session");
    CHECK(zsock_close(fd) == 0, "zsock_close");
    close(s);
    printf("ok zrec_zsock_adopt_tls / zrec_zsock_tls_handshake refusals\n");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: esp_tls_server CERT_DIR\n");
        return 2;
    }
    (void)echo_main; /* peers.h's, not needed here: this test's peers are clients */
    (void)start_tls_server;
    signal(SIGPIPE, SIG_IGN);
    certs = argv[1];
    /* PEM: the NUL counted, as ESP-TLS wants. */
    cert_pem_len = (unsigned)load_file(certs, "server-cert.pem", cert_pem, sizeof cert_pem) + 1;
    key_pem_len = (unsigned)load_file(certs, "server-key.pem", key_pem, sizeof key_pem) + 1;
    cert_der_len = (unsigned)load_file(certs, "server-cert.der", cert_der, sizeof cert_der);
    key_der_len = (unsigned)load_file(certs, "server-key.der", key_der, sizeof key_der);
    ca_pem_len = (unsigned)load_file(certs, "ca-cert.pem", ca_pem, sizeof ca_pem) + 1;
    client_cert_len =
        (unsigned)load_file(certs, "client-cert.der", client_cert, sizeof client_cert);
    client_key_len = (unsigned)load_file(certs, "client-key.der", client_key, sizeof client_key);
    port = listen_any(&lfd);
    int fds_before = open_fds();

    setup_and_errors();
    openssl_client();
    gnutls_client_der();
    async_own_client();
    alpn_openssl();
    client_certificates();
    psk_session();
    hostile();
    adopt_errors();

    int fds_after = open_fds();
    CHECK(fds_after == fds_before, "descriptors: %d before, %d after", fds_before, fds_after);
    close(lfd);
    printf("%s: %d failure(s)\n", failures ? "FAILED" : "passed", failures);
    return failures ? 1 : 0;
}
