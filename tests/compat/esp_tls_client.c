/*
 * ESP-TLS client connections (facade/compat, esp_tls.h) in the style of
 * ESP-IDF's own tests and examples, against a TLS echo server on OpenSSL
 * (socat) with the test PKI, over loopback:
 *
 *   esp_tls_client CERT_DIR
 *
 * Covered: handles (init/destroy, NULL, reads and writes on an unconnected
 * handle), sync and async connect, an https:// URL, PEM (NUL counted) and
 * DER CAs, the global CA store, a failed verification (wrong CA, wrong
 * name) leaving the right error codes and flags, and clearing them, no
 * verification source, a refused connection (the socket's errno kept),
 * non-blocking reads (WANT_READ), a closed connection reading 0, plain TCP
 * (is_plain_tcp, esp_tls_plain_tcp_connect), the cipher-suite list,
 * esp_err_to_name; session resumption (esp_tls_get_client_session, then
 * client_session) in TLS 1.2 and TLS 1.3 against openssl s_server -www,
 * whose page says whether it resumed (TLS 1.2; see resumption_with()).
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


static unsigned char ca_pem[8192], ca_der[4096], other_ca[8192];
static unsigned ca_pem_len, ca_der_len, other_ca_len;
static uint16_t plain_port, bye_port;
static pid_t bye_pid;

static esp_tls_cfg_t cfg_with_ca(void)
{
    esp_tls_cfg_t c = {.cacert_buf = ca_pem, .cacert_bytes = ca_pem_len, .timeout_ms = 5000};
    return c;
}

/* Write msg, read it back (the echo), on a connected handle. */
static bool echo(esp_tls_t *t, const char *msg)
{
    size_t n = strlen(msg);
    if (esp_tls_conn_write(t, msg, n) != (ssize_t)n)
        return false;
    char buf[256];
    size_t got = 0;
    for (int i = 0; i < 100 && got < n; i++) {
        ssize_t r = esp_tls_conn_read(t, buf + got, sizeof buf - got);
        if (r == ESP_TLS_ERR_SSL_WANT_READ || r == ESP_TLS_ERR_SSL_WANT_WRITE) {
            /* Non-blocking: wait for the socket, as an ESP-IDF app does. */
            int fd = -1;
            esp_tls_get_conn_sockfd(t, &fd);
            struct zsock_pollfd p = {.fd = fd, .events = ZSOCK_POLLIN};
            (void)zsock_poll(&p, 1, 100);
            continue;
        }
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return got == n && memcmp(buf, msg, n) == 0;
}

static void handles(void)
{
    esp_tls_t *t = esp_tls_init();
    CHECK(t != NULL, "esp_tls_init");
    char b[4];
    CHECK(esp_tls_conn_read(t, b, sizeof b) == -1, "read on an unconnected handle");
    CHECK(esp_tls_conn_write(t, "x", 1) == -1, "write on an unconnected handle");
    CHECK(esp_tls_conn_read(NULL, b, sizeof b) == -1 && esp_tls_conn_write(NULL, b, 1) == -1,
          "NULL handle");
    CHECK(esp_tls_get_bytes_avail(NULL) == -1, "bytes_avail(NULL)");
    esp_tls_conn_state_t st;
    CHECK(esp_tls_get_conn_state(t, &st) == ESP_OK && st == ESP_TLS_INIT, "state INIT");
    CHECK(esp_tls_get_conn_state(t, NULL) == ESP_ERR_INVALID_ARG, "state NULL");
    CHECK(esp_tls_set_conn_state(t, (esp_tls_conn_state_t)7) == ESP_ERR_INVALID_ARG, "bad state");
    int fd = 0;
    CHECK(esp_tls_get_conn_sockfd(t, &fd) == ESP_OK && fd == -1, "no socket yet");
    CHECK(esp_tls_set_conn_sockfd(t, -1) == ESP_ERR_INVALID_ARG, "negative sockfd");
    esp_tls_error_handle_t h = NULL;
    CHECK(esp_tls_get_error_handle(t, &h) == ESP_OK && h != NULL, "error handle");
    CHECK(esp_tls_get_error_handle(NULL, &h) == ESP_ERR_INVALID_ARG, "error handle of NULL");
    CHECK(esp_tls_conn_destroy(t) == 0 && esp_tls_conn_destroy(NULL) == -1, "destroy");
    CHECK(strcmp(esp_err_to_name(ESP_ERR_ESP_TLS_FAILED_CONNECT_TO_HOST),
                 "ESP_ERR_ESP_TLS_FAILED_CONNECT_TO_HOST") == 0 &&
              strcmp(esp_err_to_name(ESP_OK), "ESP_OK") == 0 &&
              strcmp(esp_err_to_name(0x7777), "ERROR") == 0,
          "esp_err_to_name");
    const int *suites = esp_tls_get_ciphersuites_list();
    int n = 0, has13 = 0;
    for (; suites[n]; n++)
        has13 |= suites[n] == 0x1301;
    CHECK(n > 0 && has13, "cipher suites: %d, TLS_AES_128_GCM_SHA256 among them", n);
    printf("ok handles, accessors, errors' names, cipher-suite list (%d suites)\n", n);
}

static void connects(void)
{
    /* Sync, PEM CA, the host's name checked ("localhost"). */
    esp_tls_cfg_t c = cfg_with_ca();
    esp_tls_t *t = esp_tls_init();
    int rc = esp_tls_conn_new_sync("localhost", 9, tls_port, &c, t);
    CHECK(rc == 1, "sync connect: %d", rc);
    esp_tls_conn_state_t st;
    CHECK(esp_tls_get_conn_state(t, &st) == ESP_OK && st == ESP_TLS_DONE, "state DONE");
    int fd = -1;
    CHECK(esp_tls_get_conn_sockfd(t, &fd) == ESP_OK && fd >= 0, "sockfd");
    CHECK(echo(t, "hello esp-tls"), "echo");
    CHECK(esp_tls_get_bytes_avail(t) == 0, "nothing left to read");
    esp_tls_conn_destroy(t);
    /* DER CA; a hostname not NUL-terminated (hostlen counts). */
    c.cacert_buf = ca_der;
    c.cacert_bytes = ca_der_len;
    t = esp_tls_init();
    CHECK(esp_tls_conn_new_sync("localhost:junk", 9, tls_port, &c, t) == 1, "DER CA");
    CHECK(echo(t, "der"), "echo");
    esp_tls_conn_destroy(t);
    /* Async, non_block: 0 until done, then reads would block. */
    c = cfg_with_ca();
    c.non_block = true;
    t = esp_tls_init();
    int steps = 0;
    while ((rc = esp_tls_conn_new_async("localhost", 9, tls_port, &c, t)) == 0 && steps < 100000)
        steps++;
    CHECK(rc == 1, "async connect: %d after %d calls", rc, steps);
    char b[8];
    CHECK(esp_tls_conn_read(t, b, sizeof b) == ESP_TLS_ERR_SSL_WANT_READ, "non-blocking read");
    CHECK(echo(t, "async"), "echo");
    esp_tls_conn_destroy(t);
    /* An https URL. */
    char url[128];
    snprintf(url, sizeof url, "https://localhost:%u/index.html?x=1", tls_port);
    c = cfg_with_ca();
    t = esp_tls_init();
    CHECK(esp_tls_conn_http_new_sync(url, &c, t) == 1, "http_new_sync %s", url);
    CHECK(echo(t, "url"), "echo");
    esp_tls_conn_destroy(t);
    t = esp_tls_init();
    CHECK(esp_tls_conn_http_new_sync("ftp://localhost/", &c, t) == -1, "not an http URL");
    esp_tls_conn_destroy(t);
    /* The global CA store. */
    CHECK(esp_tls_init_global_ca_store() == ESP_OK, "init store");
    CHECK(esp_tls_set_global_ca_store(ca_pem, ca_pem_len) == ESP_OK, "set store");
    CHECK(esp_tls_get_global_ca_store() != NULL, "get store");
    esp_tls_cfg_t g = {.use_global_ca_store = true, .timeout_ms = 5000};
    t = esp_tls_init();
    CHECK(esp_tls_conn_new_sync("localhost", 9, tls_port, &g, t) == 1, "with the global store");
    esp_tls_conn_destroy(t);
    esp_tls_free_global_ca_store();
    CHECK(esp_tls_get_global_ca_store() == NULL, "store freed");
    t = esp_tls_init();
    CHECK(esp_tls_conn_new_sync("localhost", 9, tls_port, &g, t) == -1, "an empty global store");
    esp_tls_error_handle_t h;
    esp_tls_get_error_handle(t, &h);
    CHECK(h->last_error == ESP_ERR_MBEDTLS_SSL_SETUP_FAILED, "empty store: 0x%x", h->last_error);
    esp_tls_conn_destroy(t);
    printf("ok sync, DER, async, URL, global CA store\n");
}

static void failures_and_codes(void)
{
    /* A wrong CA: the handshake fails, the flags say untrusted. */
    esp_tls_cfg_t c = {.cacert_buf = other_ca, .cacert_bytes = other_ca_len, .timeout_ms = 5000};
    esp_tls_t *t = esp_tls_init();
    CHECK(esp_tls_conn_new_sync("localhost", 9, tls_port, &c, t) == -1, "wrong CA connects");
    esp_tls_conn_state_t st;
    CHECK(esp_tls_get_conn_state(t, &st) == ESP_OK && st == ESP_TLS_FAIL, "state FAIL");
    esp_tls_error_handle_t h;
    esp_tls_get_error_handle(t, &h);
    int code = 0, flags = 0;
    esp_err_t last = esp_tls_get_and_clear_last_error(h, &code, &flags);
    CHECK(last == ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED && code == 0x2700 && (flags & 0x08),
          "wrong CA: last 0x%x code 0x%x flags 0x%x", last, code, flags);
    last = esp_tls_get_and_clear_last_error(h, &code, &flags);
    CHECK(last == ESP_OK && code == 0 && flags == 0, "cleared: 0x%x 0x%x 0x%x", last, code, flags);
    esp_tls_conn_destroy(t);
    /* The right CA, a wrong name: the flags say so. */
    c = cfg_with_ca();
    c.common_name = "not-localhost.example";
    t = esp_tls_init();
    CHECK(esp_tls_conn_new_sync("127.0.0.1", 9, tls_port, &c, t) == -1, "wrong name connects");
    esp_tls_get_error_handle(t, &h);
    last = esp_tls_get_and_clear_last_error(h, &code, &flags);
    CHECK(last == ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED && (flags & 0x04),
          "wrong name: last 0x%x flags 0x%x", last, flags);
    esp_tls_conn_destroy(t);
    /* By address, no name check (skip_common_name): the chain still is. */
    c = cfg_with_ca();
    c.skip_common_name = true;
    t = esp_tls_init();
    CHECK(esp_tls_conn_new_sync("127.0.0.1", 9, tls_port, &c, t) == 1, "skip_common_name");
    esp_tls_conn_destroy(t);
    /* No verification source at all. */
    esp_tls_cfg_t none = {.timeout_ms = 2000};
    t = esp_tls_init();
    CHECK(esp_tls_conn_new_sync("localhost", 9, tls_port, &none, t) == -1, "nothing to verify");
    esp_tls_get_error_handle(t, &h);
    CHECK(h->last_error == ESP_ERR_MBEDTLS_SSL_SETUP_FAILED, "no source: 0x%x", h->last_error);
    esp_tls_conn_destroy(t);
    /* Refused: FAILED_CONNECT_TO_HOST, the socket's errno kept. */
    int fd;
    uint16_t dead = listen_any(&fd);
    close(fd);
    c = cfg_with_ca();
    t = esp_tls_init();
    CHECK(esp_tls_conn_new_sync("localhost", 9, dead, &c, t) == -1, "refused connects");
    esp_tls_get_error_handle(t, &h);
    int sock_errno = 0;
    CHECK(esp_tls_get_and_clear_error_type(h, ESP_TLS_ERR_TYPE_SYSTEM, &sock_errno) == ESP_OK &&
              sock_errno == ECONNREFUSED,
          "errno %d", sock_errno);
    CHECK(h->last_error == ESP_ERR_ESP_TLS_FAILED_CONNECT_TO_HOST, "refused: 0x%x", h->last_error);
    esp_tls_conn_destroy(t);
    /* An unknown host. */
    t = esp_tls_init();
    CHECK(esp_tls_conn_new_sync("no-such-host.invalid", 20, 443, &c, t) == -1, "unknown host");
    esp_tls_get_error_handle(t, &h);
    CHECK(h->last_error == ESP_ERR_ESP_TLS_CANNOT_RESOLVE_HOSTNAME, "0x%x", h->last_error);
    esp_tls_conn_destroy(t);
    printf("ok wrong CA, wrong name, skip_common_name, no source, refused, unknown host\n");
}

static void closing_and_plain(void)
{
    /* A server that says "bye" and closes (close_notify): 4 bytes, then 0. */
    esp_tls_cfg_t c = cfg_with_ca();
    esp_tls_t *t = esp_tls_init();
    CHECK(esp_tls_conn_new_sync("localhost", 9, bye_port, &c, t) == 1, "connect");
    char b[16];
    size_t got = 0;
    ssize_t r = 0;
    for (int i = 0; i < 100; i++) {
        r = esp_tls_conn_read(t, b + got, sizeof b - got);
        if (r == ESP_TLS_ERR_SSL_WANT_READ)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    CHECK(got == 4 && memcmp(b, "bye\n", 4) == 0 && r == 0, "bye, then 0 (got %zu, r %zd)", got,
          r);
    esp_tls_conn_destroy(t);
    /* Plain TCP through the same calls: the state stays INIT, as upstream. */
    esp_tls_cfg_t p = {.is_plain_tcp = true, .timeout_ms = 2000};
    t = esp_tls_init();
    CHECK(esp_tls_conn_new_sync("127.0.0.1", 9, plain_port, &p, t) == 1, "plain connect");
    esp_tls_conn_state_t st;
    CHECK(esp_tls_get_conn_state(t, &st) == ESP_OK && st == ESP_TLS_INIT, "plain: INIT");
    CHECK(echo(t, "plain"), "plain echo");
    esp_tls_conn_destroy(t);
    /* esp_tls_plain_tcp_connect: a socket of the caller's. */
    struct esp_tls_last_error e = {0};
    int fd = -1;
    CHECK(esp_tls_plain_tcp_connect("127.0.0.1", 9, plain_port, &p, &e, &fd) == ESP_OK && fd >= 0,
          "plain_tcp_connect");
    CHECK(send(fd, "abc", 3, 0) == 3 && recv(fd, b, 3, MSG_WAITALL) == 3 && memcmp(b, "abc", 3) == 0,
          "the socket works");
    close(fd);
    CHECK(esp_tls_plain_tcp_connect("127.0.0.1", 9, plain_port, &p, &e, NULL) ==
              ESP_ERR_INVALID_ARG,
          "NULL sockfd");
    printf("ok a closed connection reads 0, plain TCP, esp_tls_plain_tcp_connect\n");
}

/* ---- session resumption ------------------------------------------------------------ */

static uint16_t www_port;
static pid_t www_pid;

/* s_server -www's status page for this connection: "New, TLSv1.3, ..." or
 * "Reused, ..."; the page ends the connection. */
static bool get_page(esp_tls_t *t, char *page, size_t cap)
{
    const char *get = "GET / HTTP/1.0\r\n\r\n";
    if (esp_tls_conn_write(t, get, strlen(get)) != (ssize_t)strlen(get))
        return false;
    size_t got = 0;
    for (int i = 0; i < 200 && got + 1 < cap; i++) {
        ssize_t r = esp_tls_conn_read(t, page + got, cap - 1 - got);
        if (r == ESP_TLS_ERR_SSL_WANT_READ)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
        page[got] = '\0';
        if (strstr(page, "</HTML>"))
            break;
    }
    page[got] = '\0';
    return strstr(page, "</HTML>") != NULL;
}

static int resumed(esp_tls_t *t)
{
    int fd = -1, v = -1;
    socklen_t len = sizeof v;
    esp_tls_get_conn_sockfd(t, &fd);
    if (zsock_getsockopt(fd, SOL_TLS, ZREC_TLS_SESSION_RESUMED, &v, &len) != 0)
        return -1;
    return v;
}

static void resumption_with(esp_tls_proto_ver_t ver, const char *name,
                            esp_tls_client_session_t **keep)
{
    static char page[16384];
    esp_tls_cfg_t c = cfg_with_ca();
    c.tls_version = ver;
    esp_tls_t *t = esp_tls_init();
    CHECK(esp_tls_conn_new_sync("localhost", 9, www_port, &c, t) == 1, "%s: connect", name);
    if (ver == ESP_TLS_VER_TLS_1_3)
        /* Its tickets come after the handshake: none read yet (ESP-TLS: NULL). */
        CHECK(esp_tls_get_client_session(t) == NULL, "%s: no ticket before a read", name);
    CHECK(get_page(t, page, sizeof page), "%s: page", name);
    CHECK(strstr(page, "New, ") && strstr(page, name), "%s: a new session: %.300s", name, page);
    CHECK(resumed(t) == 0, "%s: not resumed", name);
    esp_tls_client_session_t *sess = esp_tls_get_client_session(t);
    CHECK(sess != NULL, "%s: get_client_session", name);
    esp_tls_conn_destroy(t);

    c.client_session = sess;
    t = esp_tls_init();
    CHECK(esp_tls_conn_new_sync("localhost", 9, www_port, &c, t) == 1, "%s: reconnect", name);
    CHECK(resumed(t) == 1, "%s: ZREC_TLS_SESSION_RESUMED", name);
    /* The server's own word; on TLS 1.3 the read also takes a new ticket
     * on the resumed connection (the engine's on_ticket() once leaked the
     * copied resumption ticket there: ASan's leak check holds it). */
    CHECK(get_page(t, page, sizeof page) && strstr(page, "Reused, ") && strstr(page, name),
          "%s: the server resumed: %.300s", name, page);
    esp_tls_conn_destroy(t);
    *keep = sess;
}

static void resumption(void)
{
    esp_tls_client_session_t *s12 = NULL, *s13 = NULL;
    resumption_with(ESP_TLS_VER_TLS_1_2, "TLSv1.2", &s12);
    resumption_with(ESP_TLS_VER_TLS_1_3, "TLSv1.3", &s13);
    /* A session and no CA: resumed, as ESP-TLS lets it (nothing to verify). */
    esp_tls_cfg_t only = {.client_session = s12, .timeout_ms = 5000, .tls_version =
                          ESP_TLS_VER_TLS_1_2};
    esp_tls_t *t = esp_tls_init();
    CHECK(esp_tls_conn_new_sync("localhost", 9, www_port, &only, t) == 1 && resumed(t) == 1,
          "a session without a CA");
    esp_tls_conn_destroy(t);
    /* A TLS 1.3 session on a TLS 1.2 connection: refused before connecting. */
    esp_tls_cfg_t mixed = cfg_with_ca();
    mixed.client_session = s13;
    t = esp_tls_init();
    CHECK(esp_tls_conn_new_sync("localhost", 9, www_port, &mixed, t) == -1, "mixed versions");
    esp_tls_error_handle_t h;
    esp_tls_get_error_handle(t, &h);
    CHECK(h->last_error == ESP_ERR_MBEDTLS_SSL_SETUP_FAILED, "mixed: 0x%x", h->last_error);
    esp_tls_conn_destroy(t);
    /* Handles without a session to give. */
    CHECK(esp_tls_get_client_session(NULL) == NULL, "NULL handle");
    t = esp_tls_init();
    CHECK(esp_tls_get_client_session(t) == NULL, "unconnected handle");
    esp_tls_conn_destroy(t);
    esp_tls_free_client_session(s12);
    esp_tls_free_client_session(s13);
    esp_tls_free_client_session(NULL);
    printf("ok session resumption: TLS 1.2 (s_server says Reused) and TLS 1.3, no CA, "
           "mixed versions refused\n");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: esp_tls_client CERT_DIR\n");
        return 2;
    }
    /* PEM: the NUL counted, as ESP-TLS wants. */
    ca_pem_len = (unsigned)load_file(argv[1], "ca-cert.pem", ca_pem, sizeof ca_pem) + 1;
    ca_der_len = (unsigned)load_file(argv[1], "ca-cert.der", ca_der, sizeof ca_der);
    other_ca_len = (unsigned)load_file(argv[1], "ca-ecc-cert.pem", other_ca, sizeof other_ca) + 1;
    int l;
    plain_port = listen_any(&l);
    pthread_t th;
    pthread_create(&th, NULL, echo_main, (void *)(intptr_t)l);
    pthread_detach(th);
    start_tls_server(argv[1]);
    start_tls_server_with(argv[1], "SYSTEM:echo bye", &bye_port, &bye_pid);
    /* openssl s_server itself (no fork per connection, as socat's): it
     * keeps its session cache and ticket key across connections. */
    int w;
    www_port = listen_any(&w);
    close(w);
    char accept_at[32], cert[600], key[600];
    snprintf(accept_at, sizeof accept_at, "127.0.0.1:%u", www_port);
    snprintf(cert, sizeof cert, "%s/server-cert.pem", argv[1]);
    snprintf(key, sizeof key, "%s/server-key.pem", argv[1]);
    char *www[] = {"openssl", "s_server", "-accept", accept_at, "-cert", cert, "-key", key,
                   "-www", "-quiet", NULL};
    www_pid = start_server_process(www, www_port);
    if (www_pid < 0) {
        fprintf(stderr, "openssl s_server did not start\n");
        return 1;
    }

    handles();
    connects();
    failures_and_codes();
    closing_and_plain();
    resumption();

    kill(tls_pid, SIGTERM);
    kill(bye_pid, SIGTERM);
    waitpid(tls_pid, NULL, 0);
    waitpid(bye_pid, NULL, 0);
    kill(www_pid, SIGTERM);
    waitpid(www_pid, NULL, 0);
    printf("%s: %d failure(s)\n", failures ? "FAILED" : "passed", failures);
    return failures ? 1 : 0;
}
