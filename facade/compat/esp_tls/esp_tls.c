/*
 * ESP-TLS over the zsock facade (docs/COMPAT.md): an esp_tls_t is a zsock
 * socket - IPPROTO_TCP with is_plain_tcp, else IPPROTO_TLS_1_2 (ESP-IDF's
 * default mbedTLS build speaks TLS 1.2) or IPPROTO_TLS_1_3 with
 * ESP_TLS_VER_TLS_1_3 - whose credentials are the configuration's,
 * registered under a sec tag of the connection's own.  A server session's
 * socket is a duplicate of the application's accepted descriptor made a
 * zsock TLS socket (zrec_zsock_adopt_tls), so that ending the session
 * leaves the application's descriptor open, as ESP-TLS does.  Errors are kept as
 * ESP-TLS keeps them: the last esp_err_t, the TLS library's code, the
 * certificate verification flags (mbedTLS's bits, which the facade's
 * TLS_CERT_VERIFY_RESULT reports), and, privately, the socket's errno.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zephyr/net/socket.h>
#include <zephyr/net/tls_credentials.h>
#include <zrec/zsock_ext.h>

#include "esp_tls.h"
#include "zrec/wolfssl.h"

#define DEFAULT_TIMEOUT_MS 10000   /* ESP_TLS_DEFAULT_CONN_TIMEOUT */
#define TAG_BASE 0x45540000        /* our sec tags: one per connection */
#define X509_CERT_VERIFY_FAILED 0x2700 /* MBEDTLS_ERR_X509_CERT_VERIFY_FAILED, positive */
/* What a failed server handshake returns, mbedTLS's codes for the same
 * causes (ESP-TLS returns mbedtls_ssl_handshake()'s), positive here. */
#define NET_CONN_RESET 0x0050         /* MBEDTLS_ERR_NET_CONN_RESET: the peer went away */
#define SSL_HANDSHAKE_FAILURE 0x6E00  /* MBEDTLS_ERR_SSL_HANDSHAKE_FAILURE: any other reason */

/* The public last-error record first, then what ESP-TLS keeps privately. */
struct error_storage {
    struct esp_tls_last_error parent;
    int sock_errno;
};

struct esp_tls {
    /* The zsock socket: the connection's (client), or our duplicate of the
     * application's descriptor (server). */
    int sockfd;
    esp_tls_role_t role;
    int app_fd;    /* server: the application's descriptor (esp_tls_get_conn_sockfd) */
    int app_flags; /* server: its file status flags before (O_NONBLOCK given back) */
    esp_tls_conn_state_t state;
    bool is_tls, connected;
    sec_tag_t tag;
    struct error_storage err;
    /* Our copies of what the facade reads at the handshake. */
    char *ca, *cert, *key, *psk, *psk_id;
    size_t key_len, psk_len; /* wiped at the end */
    char *name;
};

/* ---- errors ------------------------------------------------------------------ */

static void capture(struct esp_tls *t, esp_tls_error_type_t type, int code)
{
    switch (type) {
    case ESP_TLS_ERR_TYPE_ESP:
        t->err.parent.last_error = code;
        break;
    case ESP_TLS_ERR_TYPE_MBEDTLS:
        t->err.parent.esp_tls_error_code = code;
        break;
    case ESP_TLS_ERR_TYPE_MBEDTLS_CERT_FLAGS:
        t->err.parent.esp_tls_flags = code;
        break;
    case ESP_TLS_ERR_TYPE_SYSTEM:
        t->err.sock_errno = code;
        break;
    default:
        break;
    }
}

esp_err_t esp_tls_get_and_clear_last_error(esp_tls_error_handle_t h, int *esp_tls_code,
                                           int *esp_tls_flags)
{
    if (h == NULL)
        return ESP_ERR_INVALID_STATE;
    esp_err_t last = h->last_error;
    if (esp_tls_code)
        *esp_tls_code = h->esp_tls_error_code;
    if (esp_tls_flags)
        *esp_tls_flags = h->esp_tls_flags;
    memset(h, 0, sizeof *h);
    return last;
}

esp_err_t esp_tls_get_and_clear_error_type(esp_tls_error_handle_t h,
                                           esp_tls_error_type_t err_type, int *error_code)
{
    if (h == NULL || error_code == NULL)
        return ESP_ERR_INVALID_ARG;
    struct error_storage *s = (struct error_storage *)h;
    int *slot = err_type == ESP_TLS_ERR_TYPE_ESP                  ? &s->parent.last_error
                : err_type == ESP_TLS_ERR_TYPE_MBEDTLS            ? &s->parent.esp_tls_error_code
                : err_type == ESP_TLS_ERR_TYPE_MBEDTLS_CERT_FLAGS ? &s->parent.esp_tls_flags
                : err_type == ESP_TLS_ERR_TYPE_SYSTEM             ? &s->sock_errno
                                                                  : NULL;
    if (slot == NULL)
        return ESP_ERR_INVALID_ARG;
    *error_code = *slot;
    *slot = 0;
    return ESP_OK;
}

esp_err_t esp_tls_get_error_handle(esp_tls_t *tls, esp_tls_error_handle_t *error_handle)
{
    if (tls == NULL || error_handle == NULL)
        return ESP_ERR_INVALID_ARG;
    *error_handle = &tls->err.parent;
    return ESP_OK;
}

/* A copy of n bytes, NUL-terminated (one byte more). */
static char *dup_bytes(const void *p, size_t n)
{
    char *c = malloc(n + 1);
    if (c) {
        memcpy(c, p, n);
        c[n] = '\0';
    }
    return c;
}

/* ---- the global CA store ------------------------------------------------------- */

static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;
static char *store;
static size_t store_len;

/* Nothing to make ahead: the store is the certificates set into it. */
esp_err_t esp_tls_init_global_ca_store(void)
{
    return ESP_OK;
}

esp_err_t esp_tls_set_global_ca_store(const unsigned char *cacert_pem_buf,
                                      const unsigned int cacert_pem_bytes)
{
    if (cacert_pem_buf == NULL || cacert_pem_bytes == 0)
        return ESP_ERR_INVALID_ARG;
    char *copy = dup_bytes(cacert_pem_buf, cacert_pem_bytes);
    if (copy == NULL)
        return ESP_ERR_NO_MEM;
    pthread_mutex_lock(&store_lock);
    free(store);
    store = copy;
    store_len = cacert_pem_bytes;
    pthread_mutex_unlock(&store_lock);
    return ESP_OK;
}

void *esp_tls_get_global_ca_store(void)
{
    pthread_mutex_lock(&store_lock);
    void *s = store;
    pthread_mutex_unlock(&store_lock);
    return s;
}

void esp_tls_free_global_ca_store(void)
{
    pthread_mutex_lock(&store_lock);
    free(store);
    store = NULL;
    store_len = 0;
    pthread_mutex_unlock(&store_lock);
}

/* ---- handles ----------------------------------------------------------------------- */

esp_tls_t *esp_tls_init(void)
{
    esp_tls_t *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->sockfd = -1;
    t->app_fd = -1;
    t->app_flags = -1;
    t->role = ESP_TLS_CLIENT;
    t->state = ESP_TLS_INIT;
    return t;
}

static void drop_credentials(esp_tls_t *t)
{
    if (t->tag) {
        static const enum tls_credential_type types[] = {
            TLS_CREDENTIAL_CA_CERTIFICATE, TLS_CREDENTIAL_SERVER_CERTIFICATE,
            TLS_CREDENTIAL_PRIVATE_KEY, TLS_CREDENTIAL_PSK, TLS_CREDENTIAL_PSK_ID};
        for (size_t i = 0; i < sizeof types / sizeof *types; i++)
            (void)tls_credential_delete(t->tag, types[i]);
        t->tag = 0;
    }
    free(t->ca);
    free(t->cert);
    if (t->key)
        explicit_bzero(t->key, t->key_len);
    free(t->key);
    if (t->psk)
        explicit_bzero(t->psk, t->psk_len);
    free(t->psk);
    free(t->psk_id);
    free(t->name);
    t->ca = t->cert = t->key = t->psk = t->psk_id = t->name = NULL;
}

int esp_tls_conn_destroy(esp_tls_t *tls)
{
    if (tls == NULL)
        return -1;
    int rc = 0;
    if (tls->sockfd >= 0)
        rc = zsock_close(tls->sockfd); /* TLS: close_notify */
    if (tls->role == ESP_TLS_SERVER && tls->app_fd >= 0)
        rc = close(tls->app_fd); /* ESP-TLS closes a server handle's descriptor here */
    drop_credentials(tls);
    free(tls);
    return rc == 0 ? 0 : -1;
}

esp_err_t esp_tls_get_conn_sockfd(esp_tls_t *tls, int *sockfd)
{
    if (tls == NULL || sockfd == NULL)
        return ESP_ERR_INVALID_ARG;
    *sockfd = tls->role == ESP_TLS_SERVER ? tls->app_fd : tls->sockfd;
    return ESP_OK;
}

esp_err_t esp_tls_set_conn_sockfd(esp_tls_t *tls, int sockfd)
{
    if (tls == NULL || sockfd < 0)
        return ESP_ERR_INVALID_ARG;
    if (tls->role == ESP_TLS_SERVER)
        tls->app_fd = sockfd;
    else
        tls->sockfd = sockfd;
    return ESP_OK;
}

esp_err_t esp_tls_get_conn_state(esp_tls_t *tls, esp_tls_conn_state_t *conn_state)
{
    if (tls == NULL || conn_state == NULL)
        return ESP_ERR_INVALID_ARG;
    *conn_state = tls->state;
    return ESP_OK;
}

esp_err_t esp_tls_set_conn_state(esp_tls_t *tls, esp_tls_conn_state_t conn_state)
{
    if (tls == NULL || conn_state < ESP_TLS_INIT || conn_state > ESP_TLS_DONE)
        return ESP_ERR_INVALID_ARG;
    tls->state = conn_state;
    return ESP_OK;
}

void *esp_tls_get_ssl_context(esp_tls_t *tls)
{
    (void)tls;
    return NULL;
}

ssize_t esp_tls_get_bytes_avail(esp_tls_t *tls)
{
    if (tls == NULL)
        return ESP_FAIL;
    int avail = 0;
    if (tls->sockfd < 0 || zsock_ioctl(tls->sockfd, ZFD_IOCTL_FIONREAD, &avail) != 0)
        return 0;
    return avail;
}

/* ---- connecting ------------------------------------------------------------------------ */

/* Register a copy of buf under the connection's tag (the facade keeps a
 * pointer; the caller's buffer may go after connect).  PEM with or without
 * its NUL counted, or DER: the facade's credential loader tells them apart. */
static int add_cred(esp_tls_t *t, enum tls_credential_type type, const void *buf, size_t len,
                    char **keep)
{
    *keep = dup_bytes(buf, len);
    if (*keep == NULL)
        return -ENOMEM;
    return tls_credential_add(t->tag, type, *keep, len);
}

/* ESP-TLS's ALPN list (NULL-terminated strings; NULL: none) on the socket. */
static int set_alpn(int fd, const char **protos)
{
    size_t n = 0;
    while (protos && protos[n])
        n++;
    return n ? zsock_setsockopt(fd, SOL_TLS, TLS_ALPN_LIST, protos, (socklen_t)(n * sizeof *protos))
             : 0;
}

/* This side's certificate and key (a client's, or a server's). */
static esp_err_t add_own_pair(esp_tls_t *t, const void *cert, size_t cert_len, const void *key,
                              size_t key_len)
{
    if (add_cred(t, TLS_CREDENTIAL_SERVER_CERTIFICATE, cert, cert_len, &t->cert) != 0)
        return ESP_ERR_MBEDTLS_X509_CRT_PARSE_FAILED;
    t->key_len = key_len;
    if (add_cred(t, TLS_CREDENTIAL_PRIVATE_KEY, key, key_len, &t->key) != 0)
        return ESP_ERR_MBEDTLS_PK_PARSE_KEY_FAILED;
    return ESP_OK;
}

static void new_tag(esp_tls_t *t)
{
    static atomic_uint next_tag;
    t->tag = (sec_tag_t)(TAG_BASE + (atomic_fetch_add(&next_tag, 1) & 0xffff));
}

/* The serialized session of the facade's ZREC_TLS_SESSION. */
struct esp_tls_client_session {
    socklen_t len;
    unsigned char bytes[];
};

static esp_err_t tls_options(esp_tls_t *t, const char *host, size_t hostlen,
                             const esp_tls_cfg_t *cfg)
{
    new_tag(t);
    bool verify_source = false;
    if (cfg->cacert_buf && cfg->cacert_bytes) {
        if (add_cred(t, TLS_CREDENTIAL_CA_CERTIFICATE, cfg->cacert_buf, cfg->cacert_bytes,
                     &t->ca) != 0)
            return ESP_ERR_MBEDTLS_X509_CRT_PARSE_FAILED;
        verify_source = true;
    } else if (cfg->use_global_ca_store) {
        pthread_mutex_lock(&store_lock);
        int rc = store ? add_cred(t, TLS_CREDENTIAL_CA_CERTIFICATE, store, store_len, &t->ca)
                       : -ENOENT;
        pthread_mutex_unlock(&store_lock);
        if (rc != 0)
            return ESP_ERR_MBEDTLS_SSL_SETUP_FAILED; /* the store is empty */
        verify_source = true;
    }
    if (cfg->psk_hint_key && cfg->psk_hint_key->key && cfg->psk_hint_key->hint) {
        const psk_hint_key_t *p = cfg->psk_hint_key;
        t->psk_len = p->key_size;
        if (add_cred(t, TLS_CREDENTIAL_PSK, p->key, p->key_size, &t->psk) != 0 ||
            add_cred(t, TLS_CREDENTIAL_PSK_ID, p->hint, strlen(p->hint) + 1, &t->psk_id) != 0)
            return ESP_ERR_MBEDTLS_SSL_CONF_PSK_FAILED;
        verify_source = true;
    }
    /* ESP-TLS takes a session to resume as enough: a resumed handshake
     * verifies nothing (RFC 8446 §2.2); a full one, should the server not
     * resume, fails for want of a CA. */
    if (cfg->client_session)
        verify_source = true;
    /* ESP-TLS refuses a connection it has no way to verify. */
    if (!verify_source || cfg->crt_bundle_attach || cfg->use_secure_element || cfg->ds_data ||
        cfg->use_ecdsa_peripheral || cfg->clientkey_password)
        return ESP_ERR_MBEDTLS_SSL_SETUP_FAILED;
    if (cfg->clientcert_buf && cfg->clientkey_buf) {
        esp_err_t e = add_own_pair(t, cfg->clientcert_buf, cfg->clientcert_bytes,
                                   cfg->clientkey_buf, cfg->clientkey_bytes);
        if (e != ESP_OK)
            return e;
    } else if (cfg->clientcert_buf || cfg->clientkey_buf) {
        return ESP_ERR_MBEDTLS_SSL_CONF_OWN_CERT_FAILED;
    }
    int fd = t->sockfd, verify = TLS_PEER_VERIFY_REQUIRED;
    sec_tag_t tag = t->tag;
    /* A tag with nothing under it fails the handshake (Zephyr's rule): a
     * connection with only a session to resume has none. */
    bool any_cred = t->ca || t->cert || t->psk;
    if ((any_cred && zsock_setsockopt(fd, SOL_TLS, TLS_SEC_TAG_LIST, &tag, sizeof tag) != 0) ||
        zsock_setsockopt(fd, SOL_TLS, TLS_PEER_VERIFY, &verify, sizeof verify) != 0)
        return ESP_ERR_MBEDTLS_SSL_SETUP_FAILED;
    /* A session of another TLS version than the connection's is refused
     * (ESP-TLS fails there too: mbedtls_ssl_set_session()). */
    if (cfg->client_session &&
        zsock_setsockopt(fd, SOL_TLS, ZREC_TLS_SESSION, cfg->client_session->bytes,
                         cfg->client_session->len) != 0)
        return ESP_ERR_MBEDTLS_SSL_SETUP_FAILED;
    /* The name checked against the certificate and sent as SNI: common_name,
     * else the host; none with skip_common_name. */
    if (!cfg->skip_common_name) {
        t->name = cfg->common_name ? strdup(cfg->common_name) : dup_bytes(host, hostlen);
        if (t->name == NULL ||
            zsock_setsockopt(fd, SOL_TLS, TLS_HOSTNAME, t->name, strlen(t->name)) != 0)
            return ESP_ERR_MBEDTLS_SSL_SET_HOSTNAME_FAILED;
    }
    if (set_alpn(fd, cfg->alpn_protos) != 0)
        return ESP_ERR_MBEDTLS_SSL_CONF_ALPN_PROTOCOLS_FAILED;
    if (cfg->ciphersuites_list && cfg->ciphersuites_list[0]) {
        size_t n = 0;
        while (cfg->ciphersuites_list[n])
            n++;
        if (zsock_setsockopt(fd, SOL_TLS, TLS_CIPHERSUITE_LIST, cfg->ciphersuites_list,
                             (socklen_t)(n * sizeof(int))) != 0)
            return ESP_ERR_MBEDTLS_SSL_SETUP_FAILED;
    }
    return ESP_OK;
}

/* The socket, its options, the connect (blocking, or started: non_block). */
static int start(esp_tls_t *t, const char *host, int hostlen, int port, const esp_tls_cfg_t *cfg)
{
    char name[256], service[8];
    if (host == NULL || hostlen <= 0 || (size_t)hostlen >= sizeof name || port <= 0 ||
        port > 65535) {
        capture(t, ESP_TLS_ERR_TYPE_ESP, ESP_ERR_ESP_TLS_CANNOT_RESOLVE_HOSTNAME);
        return -1;
    }
    memcpy(name, host, (size_t)hostlen);
    name[hostlen] = '\0';
    snprintf(service, sizeof service, "%d", port);
    struct zsock_addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    hints.ai_family = cfg->addr_family == ESP_TLS_AF_INET    ? AF_INET
                      : cfg->addr_family == ESP_TLS_AF_INET6 ? AF_INET6
                                                             : AF_UNSPEC;
    if (zsock_getaddrinfo(name, service, &hints, &res) != 0 || res == NULL) {
        capture(t, ESP_TLS_ERR_TYPE_SYSTEM, errno);
        capture(t, ESP_TLS_ERR_TYPE_ESP, ESP_ERR_ESP_TLS_CANNOT_RESOLVE_HOSTNAME);
        return -1;
    }
    t->is_tls = !cfg->is_plain_tcp;
    int proto = !t->is_tls                               ? IPPROTO_TCP
                : cfg->tls_version == ESP_TLS_VER_TLS_1_3 ? IPPROTO_TLS_1_3
                                                          : IPPROTO_TLS_1_2;
    t->sockfd = zsock_socket(res->ai_family, SOCK_STREAM, proto);
    if (t->sockfd < 0) {
        zsock_freeaddrinfo(res);
        capture(t, ESP_TLS_ERR_TYPE_SYSTEM, errno);
        capture(t, ESP_TLS_ERR_TYPE_ESP, ESP_ERR_ESP_TLS_CANNOT_CREATE_SOCKET);
        return -1;
    }
    int ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
    struct zsock_timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    esp_err_t e = ESP_OK;
    if (zsock_setsockopt(t->sockfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        zsock_setsockopt(t->sockfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
        e = ESP_ERR_ESP_TLS_SOCKET_SETOPT_FAILED;
    const tls_keep_alive_cfg_t *ka = cfg->keep_alive_cfg;
    if (e == ESP_OK && ka && ka->keep_alive_enable) {
        int on = 1;
        if (zsock_setsockopt(t->sockfd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) != 0 ||
            zsock_setsockopt(t->sockfd, IPPROTO_TCP, TCP_KEEPIDLE, &ka->keep_alive_idle,
                             sizeof(int)) != 0 ||
            zsock_setsockopt(t->sockfd, IPPROTO_TCP, TCP_KEEPINTVL, &ka->keep_alive_interval,
                             sizeof(int)) != 0 ||
            zsock_setsockopt(t->sockfd, IPPROTO_TCP, TCP_KEEPCNT, &ka->keep_alive_count,
                             sizeof(int)) != 0)
            e = ESP_ERR_ESP_TLS_SOCKET_SETOPT_FAILED;
    }
    if (e == ESP_OK && t->is_tls)
        e = tls_options(t, host, (size_t)hostlen, cfg);
    if (e == ESP_OK && cfg->non_block && zsock_fcntl(t->sockfd, F_SETFL, O_NONBLOCK) != 0)
        e = ESP_ERR_ESP_TLS_SOCKET_SETOPT_FAILED;
    if (e != ESP_OK) {
        zsock_freeaddrinfo(res);
        capture(t, ESP_TLS_ERR_TYPE_ESP, e);
        zsock_close(t->sockfd); /* set up failed: nothing was connected */
        t->sockfd = -1;
        return -1;
    }
    int rc = zsock_connect(t->sockfd, res->ai_addr, res->ai_addrlen);
    int err = errno;
    zsock_freeaddrinfo(res);
    if (rc == 0)
        return 1;
    if (err == EINPROGRESS || err == EAGAIN)
        return 0;
    errno = err;
    return -1;
}

/* A failed connect or handshake, recorded as ESP-TLS records it. */
static int failed(esp_tls_t *t, int err)
{
    capture(t, ESP_TLS_ERR_TYPE_SYSTEM, err);
    int flags = 0;
    socklen_t len = sizeof flags;
    if (t->is_tls && t->sockfd >= 0 &&
        zsock_getsockopt(t->sockfd, SOL_TLS, TLS_CERT_VERIFY_RESULT, &flags, &len) == 0 && flags &&
        flags != (int)ZREC_X509_BADCERT_SKIP_VERIFY) {
        capture(t, ESP_TLS_ERR_TYPE_MBEDTLS_CERT_FLAGS, flags);
        capture(t, ESP_TLS_ERR_TYPE_MBEDTLS, X509_CERT_VERIFY_FAILED);
        capture(t, ESP_TLS_ERR_TYPE_ESP, ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED);
    } else if (err == ETIMEDOUT) {
        capture(t, ESP_TLS_ERR_TYPE_ESP, ESP_ERR_ESP_TLS_CONNECTION_TIMEOUT);
    } else if (t->is_tls && (err == ECONNABORTED || err == EPROTONOSUPPORT || err == EACCES)) {
        capture(t, ESP_TLS_ERR_TYPE_ESP, ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED);
    } else {
        capture(t, ESP_TLS_ERR_TYPE_ESP, ESP_ERR_ESP_TLS_FAILED_CONNECT_TO_HOST);
    }
    t->state = ESP_TLS_FAIL;
    return -1;
}

/* One step: 1 connected, 0 not yet, -1 failed. */
static int step(const char *host, int hostlen, int port, const esp_tls_cfg_t *cfg, esp_tls_t *t,
                int wait_ms)
{
    if (t == NULL || cfg == NULL)
        return -1;
    switch (t->state) {
    case ESP_TLS_INIT: {
        if (t->connected)
            return 1; /* a plain TCP connection stays in ESP_TLS_INIT, as upstream */
        int rc = start(t, host, hostlen, port, cfg);
        if (rc < 0)
            return t->sockfd >= 0 ? failed(t, errno) : (t->state = ESP_TLS_FAIL, -1);
        if (rc == 1) {
            t->connected = true;
            t->state = t->is_tls ? ESP_TLS_DONE : ESP_TLS_INIT;
            return 1;
        }
        t->state = ESP_TLS_CONNECTING;
    }
        /* fall through */
    case ESP_TLS_CONNECTING:
    case ESP_TLS_HANDSHAKE: {
        /* Non-blocking: poll() drives the handshake; writable once open. */
        struct zsock_pollfd p = {.fd = t->sockfd, .events = ZSOCK_POLLOUT};
        int n = zsock_poll(&p, 1, wait_ms);
        if (n == 0) {
            t->state = t->is_tls ? ESP_TLS_HANDSHAKE : ESP_TLS_CONNECTING;
            return 0;
        }
        int err = 0;
        socklen_t len = sizeof err;
        if (n < 0 || (p.revents & (ZSOCK_POLLERR | ZSOCK_POLLHUP | ZSOCK_POLLNVAL))) {
            if (zsock_getsockopt(t->sockfd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err == 0)
                err = n < 0 ? errno : ECONNABORTED;
            return failed(t, err);
        }
        t->connected = true;
        t->state = t->is_tls ? ESP_TLS_DONE : ESP_TLS_INIT;
        return 1;
    }
    case ESP_TLS_DONE:
        return 1;
    case ESP_TLS_FAIL:
    default:
        return -1;
    }
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int esp_tls_conn_new_sync(const char *hostname, int hostlen, int port, const esp_tls_cfg_t *cfg,
                          esp_tls_t *tls)
{
    if (tls == NULL || cfg == NULL)
        return -1;
    int64_t deadline = now_ms() + (cfg->timeout_ms > 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS);
    for (;;) {
        int64_t left = deadline - now_ms();
        int rc = step(hostname, hostlen, port, cfg, tls, left > 0 ? (int)left : 0);
        if (rc != 0)
            return rc;
        if (now_ms() >= deadline) {
            /* ESP-TLS's own convention: 0, the timeout recorded. */
            capture(tls, ESP_TLS_ERR_TYPE_ESP, ESP_ERR_ESP_TLS_CONNECTION_TIMEOUT);
            return 0;
        }
    }
}

int esp_tls_conn_new_async(const char *hostname, int hostlen, int port, const esp_tls_cfg_t *cfg,
                           esp_tls_t *tls)
{
    if (cfg && !cfg->non_block) {
        /* ESP-TLS drives a blocking configuration to its end here too. */
        return esp_tls_conn_new_sync(hostname, hostlen, port, cfg, tls);
    }
    return step(hostname, hostlen, port, cfg, tls, 0);
}

/* The host and port of an http(s) URL: scheme://[user@]host[:port][/...]. */
static bool parse_url(const char *url, const char **host, int *hostlen, int *port)
{
    if (url == NULL)
        return false;
    const char *p = strstr(url, "://");
    if (p == NULL)
        return false;
    bool https = (size_t)(p - url) == 5 && strncasecmp(url, "https", 5) == 0;
    bool http = (size_t)(p - url) == 4 && strncasecmp(url, "http", 4) == 0;
    if (!https && !http)
        return false;
    p += 3;
    const char *end = p + strcspn(p, "/?#");
    const char *at = memchr(p, '@', (size_t)(end - p));
    if (at)
        p = at + 1;
    const char *h = p, *he;
    if (*p == '[') { /* an IPv6 literal */
        h = p + 1;
        he = memchr(h, ']', (size_t)(end - h));
        if (he == NULL)
            return false;
        p = he + 1;
    } else {
        he = memchr(p, ':', (size_t)(end - p));
        if (he == NULL)
            he = end;
        p = he;
    }
    *port = https ? 443 : 80;
    if (p < end && *p == ':') {
        char *e;
        long v = strtol(p + 1, &e, 10);
        if (e != end || v <= 0 || v > 65535)
            return false;
        *port = (int)v;
    }
    *host = h;
    *hostlen = (int)(he - h);
    return *hostlen > 0;
}

int esp_tls_conn_http_new_sync(const char *url, const esp_tls_cfg_t *cfg, esp_tls_t *tls)
{
    const char *host;
    int hostlen, port;
    if (tls == NULL || !parse_url(url, &host, &hostlen, &port))
        return -1;
    return esp_tls_conn_new_sync(host, hostlen, port, cfg, tls);
}

int esp_tls_conn_http_new_async(const char *url, const esp_tls_cfg_t *cfg, esp_tls_t *tls)
{
    const char *host;
    int hostlen, port;
    if (tls == NULL || !parse_url(url, &host, &hostlen, &port))
        return -1;
    return esp_tls_conn_new_async(host, hostlen, port, cfg, tls);
}

/* ---- data ------------------------------------------------------------------------------ */

ssize_t esp_tls_conn_write(esp_tls_t *tls, const void *data, size_t datalen)
{
    if (tls == NULL || !tls->connected || tls->sockfd < 0 || (data == NULL && datalen))
        return -1;
    ssize_t n = zsock_send(tls->sockfd, data, datalen, 0);
    if (n >= 0)
        return n;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return ESP_TLS_ERR_SSL_WANT_WRITE;
    capture(tls, ESP_TLS_ERR_TYPE_SYSTEM, errno);
    capture(tls, ESP_TLS_ERR_TYPE_ESP, ESP_ERR_MBEDTLS_SSL_WRITE_FAILED);
    return -1;
}

ssize_t esp_tls_conn_read(esp_tls_t *tls, void *data, size_t datalen)
{
    if (tls == NULL || !tls->connected || tls->sockfd < 0 || (data == NULL && datalen))
        return -1;
    ssize_t n = zsock_recv(tls->sockfd, data, datalen, 0);
    if (n >= 0)
        return n; /* 0: the peer closed (close_notify, or TCP for plain) */
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return ESP_TLS_ERR_SSL_WANT_READ;
    capture(tls, ESP_TLS_ERR_TYPE_SYSTEM, errno);
    return -1;
}

/* ---- the rest ------------------------------------------------------------------------------ */

static int suites[64];

static void fill_suites(void)
{
    uint16_t ids[63];
    int n = zrec_wolfssl_suite_ids(ids, 63);
    for (int i = 0; i < n; i++)
        suites[i] = ids[i];
}

const int *esp_tls_get_ciphersuites_list(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, fill_suites);
    return suites;
}

/* The kernel's socket, as ESP-IDF's lwIP one: the caller uses and closes
 * it with the socket calls it has. */
esp_err_t esp_tls_plain_tcp_connect(const char *host, int hostlen, int port,
                                    const esp_tls_cfg_t *cfg, esp_tls_error_handle_t error_handle,
                                    int *sockfd)
{
    if (sockfd == NULL || error_handle == NULL)
        return ESP_ERR_INVALID_ARG;
    struct error_storage *s = (struct error_storage *)error_handle;
    char name[256], service[8];
    if (host == NULL || hostlen <= 0 || (size_t)hostlen >= sizeof name || port <= 0 ||
        port > 65535)
        return s->parent.last_error = ESP_ERR_ESP_TLS_CANNOT_RESOLVE_HOSTNAME;
    memcpy(name, host, (size_t)hostlen);
    name[hostlen] = '\0';
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    hints.ai_family = cfg && cfg->addr_family == ESP_TLS_AF_INET    ? AF_INET
                      : cfg && cfg->addr_family == ESP_TLS_AF_INET6 ? AF_INET6
                                                                    : AF_UNSPEC;
    if (getaddrinfo(name, service, &hints, &res) != 0 || res == NULL) {
        s->sock_errno = errno;
        return s->parent.last_error = ESP_ERR_ESP_TLS_CANNOT_RESOLVE_HOSTNAME;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) {
        s->sock_errno = errno;
        freeaddrinfo(res);
        return s->parent.last_error = ESP_ERR_ESP_TLS_CANNOT_CREATE_SOCKET;
    }
    int ms = cfg && cfg->timeout_ms > 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv); /* bounds connect() */
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int rc = connect(fd, res->ai_addr, res->ai_addrlen);
    int err = errno;
    freeaddrinfo(res);
    if (rc != 0) {
        close(fd);
        s->sock_errno = err;
        return s->parent.last_error = err == EINPROGRESS || err == EAGAIN
                                          ? ESP_ERR_ESP_TLS_CONNECTION_TIMEOUT
                                          : ESP_ERR_ESP_TLS_FAILED_CONNECT_TO_HOST;
    }
    *sockfd = fd;
    return ESP_OK;
}

/* ---- esp_err.h ------------------------------------------------------------------------------ */

#define NAME(e) {e, #e}
static const struct {
    esp_err_t code;
    const char *name;
} names[] = {
    NAME(ESP_OK), NAME(ESP_FAIL), NAME(ESP_ERR_NO_MEM), NAME(ESP_ERR_INVALID_ARG),
    NAME(ESP_ERR_INVALID_STATE), NAME(ESP_ERR_INVALID_SIZE), NAME(ESP_ERR_NOT_FOUND),
    NAME(ESP_ERR_NOT_SUPPORTED), NAME(ESP_ERR_TIMEOUT), NAME(ESP_ERR_INVALID_RESPONSE),
    NAME(ESP_ERR_INVALID_CRC), NAME(ESP_ERR_INVALID_VERSION), NAME(ESP_ERR_INVALID_MAC),
    NAME(ESP_ERR_NOT_FINISHED), NAME(ESP_ERR_NOT_ALLOWED),
    NAME(ESP_ERR_ESP_TLS_CANNOT_RESOLVE_HOSTNAME), NAME(ESP_ERR_ESP_TLS_CANNOT_CREATE_SOCKET),
    NAME(ESP_ERR_ESP_TLS_UNSUPPORTED_PROTOCOL_FAMILY), NAME(ESP_ERR_ESP_TLS_FAILED_CONNECT_TO_HOST),
    NAME(ESP_ERR_ESP_TLS_SOCKET_SETOPT_FAILED), NAME(ESP_ERR_ESP_TLS_CONNECTION_TIMEOUT),
    NAME(ESP_ERR_ESP_TLS_SE_FAILED), NAME(ESP_ERR_ESP_TLS_TCP_CLOSED_FIN),
    NAME(ESP_ERR_ESP_TLS_SERVER_HANDSHAKE_TIMEOUT), NAME(ESP_ERR_MBEDTLS_CERT_PARTLY_OK),
    NAME(ESP_ERR_MBEDTLS_CTR_DRBG_SEED_FAILED), NAME(ESP_ERR_MBEDTLS_SSL_SET_HOSTNAME_FAILED),
    NAME(ESP_ERR_MBEDTLS_SSL_CONFIG_DEFAULTS_FAILED),
    NAME(ESP_ERR_MBEDTLS_SSL_CONF_ALPN_PROTOCOLS_FAILED),
    NAME(ESP_ERR_MBEDTLS_X509_CRT_PARSE_FAILED), NAME(ESP_ERR_MBEDTLS_SSL_CONF_OWN_CERT_FAILED),
    NAME(ESP_ERR_MBEDTLS_SSL_SETUP_FAILED), NAME(ESP_ERR_MBEDTLS_SSL_WRITE_FAILED),
    NAME(ESP_ERR_MBEDTLS_PK_PARSE_KEY_FAILED), NAME(ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED),
    NAME(ESP_ERR_MBEDTLS_SSL_CONF_PSK_FAILED), NAME(ESP_ERR_MBEDTLS_SSL_TICKET_SETUP_FAILED),
};

const char *esp_err_to_name(esp_err_t code)
{
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (names[i].code == code)
            return names[i].name;
    return "ERROR";
}

const char *esp_err_to_name_r(esp_err_t code, char *buf, size_t buflen)
{
    const char *n = esp_err_to_name(code);
    if (buf == NULL || buflen == 0)
        return n;
    if (strcmp(n, "ERROR") != 0)
        snprintf(buf, buflen, "%s", n);
    else
        snprintf(buf, buflen, "UNKNOWN ERROR 0x%x(%d)", (unsigned)code, code);
    return buf;
}

/* ---- client sessions ------------------------------------------------------------------ */

esp_tls_client_session_t *esp_tls_get_client_session(esp_tls_t *tls)
{
    if (tls == NULL || tls->role != ESP_TLS_CLIENT || !tls->is_tls || !tls->connected ||
        tls->sockfd < 0)
        return NULL;
    /* Sessions are a few hundred bytes; a longer ticket is asked for again
     * with the size the facade reports. */
    socklen_t len = 1024;
    for (int attempt = 0; attempt < 2; attempt++) {
        esp_tls_client_session_t *cs = malloc(sizeof *cs + len);
        if (cs == NULL)
            return NULL;
        cs->len = len;
        if (zsock_getsockopt(tls->sockfd, SOL_TLS, ZREC_TLS_SESSION, cs->bytes, &cs->len) == 0)
            return cs;
        int err = errno;
        bool larger = err == EINVAL && cs->len > len;
        len = cs->len;
        free(cs); /* nothing was written into it */
        if (!larger)
            return NULL; /* TLS 1.3 before a ticket: ENOENT, NULL as ESP-TLS */
    }
    return NULL;
}

void esp_tls_free_client_session(esp_tls_client_session_t *client_session)
{
    if (client_session == NULL)
        return;
    explicit_bzero(client_session->bytes, client_session->len); /* the session's secret */
    free(client_session);
}

/* ---- server sessions ---------------------------------------------------------------- */

/* set_server_config's order: the clients' CA (then a client certificate is
 * required), the certificate and key, else PSK. */
static esp_err_t server_options(esp_tls_t *t, const esp_tls_cfg_server_t *cfg)
{
    if (cfg->use_secure_element || cfg->use_ecdsa_peripheral || cfg->serverkey_password ||
        cfg->cert_select_cb)
        return ESP_ERR_MBEDTLS_SSL_SETUP_FAILED; /* ESP32 hardware, encrypted keys, mbedTLS hooks */
    new_tag(t);
    int verify = TLS_PEER_VERIFY_NONE; /* ESP-TLS's server default */
    if (cfg->cacert_buf && cfg->cacert_bytes) {
        if (add_cred(t, TLS_CREDENTIAL_CA_CERTIFICATE, cfg->cacert_buf, cfg->cacert_bytes,
                     &t->ca) != 0)
            return ESP_ERR_MBEDTLS_X509_CRT_PARSE_FAILED;
        verify = TLS_PEER_VERIFY_REQUIRED;
    }
    if (cfg->servercert_buf && cfg->serverkey_buf) {
        esp_err_t e = add_own_pair(t, cfg->servercert_buf, cfg->servercert_bytes,
                                   cfg->serverkey_buf, cfg->serverkey_bytes);
        if (e != ESP_OK)
            return e;
    } else if (cfg->psk_hint_key && cfg->psk_hint_key->key && cfg->psk_hint_key->hint) {
        /* mbedtls_ssl_conf_psk() on a server: the identity it accepts, its
         * bytes without the NUL (the facade compares them to the client's). */
        const psk_hint_key_t *p = cfg->psk_hint_key;
        t->psk_len = p->key_size;
        if (add_cred(t, TLS_CREDENTIAL_PSK, p->key, p->key_size, &t->psk) != 0 ||
            add_cred(t, TLS_CREDENTIAL_PSK_ID, p->hint, strlen(p->hint), &t->psk_id) != 0)
            return ESP_ERR_MBEDTLS_SSL_CONF_PSK_FAILED;
    } else {
        return ESP_ERR_INVALID_STATE; /* "Missing server certificate and/or key" */
    }
    int fd = t->sockfd;
    sec_tag_t tag = t->tag;
    if (zsock_setsockopt(fd, SOL_TLS, TLS_SEC_TAG_LIST, &tag, sizeof tag) != 0 ||
        zsock_setsockopt(fd, SOL_TLS, TLS_PEER_VERIFY, &verify, sizeof verify) != 0)
        return ESP_ERR_MBEDTLS_SSL_SETUP_FAILED;
    if (set_alpn(fd, cfg->alpn_protos) != 0)
        return ESP_ERR_MBEDTLS_SSL_CONF_ALPN_PROTOCOLS_FAILED;
    if (!t->cert) {
        /* PSK alone: TLS 1.2 needs a PSK suite (RFC 4279 §2, RFC 5487),
         * which a certificate-less server must pick; the ones carried. */
        static const int psk_suites[] = {0x00A8, 0x00A9, 0xCCAB, 0xC0A4, 0xC0A8};
        int list[sizeof psk_suites / sizeof *psk_suites], n = 0;
        const int *have = esp_tls_get_ciphersuites_list();
        for (size_t i = 0; i < sizeof psk_suites / sizeof *psk_suites; i++)
            for (int j = 0; have[j]; j++)
                if (have[j] == psk_suites[i])
                    list[n++] = psk_suites[i];
        if (n == 0 || zsock_setsockopt(fd, SOL_TLS, TLS_CIPHERSUITE_LIST, list,
                                       (socklen_t)(n * sizeof(int))) != 0)
            return ESP_ERR_MBEDTLS_SSL_CONF_PSK_FAILED;
    }
    /* tls_handshake_timeout_ms bounds the handshake, counted from its
     * first step: a client that stays silent cannot hold a blocking
     * continue_async() (or create()) forever. */
    uint32_t ms = cfg->tls_handshake_timeout_ms ? cfg->tls_handshake_timeout_ms
                                                : DEFAULT_TIMEOUT_MS;
    int limit = ms > INT32_MAX ? INT32_MAX : (int)ms;
    if (zsock_setsockopt(fd, SOL_TLS, ZREC_TLS_HANDSHAKE_TIMEOUT, &limit, sizeof limit) != 0)
        return ESP_ERR_MBEDTLS_SSL_SETUP_FAILED;
    return ESP_OK;
}

esp_err_t esp_tls_server_session_init(esp_tls_cfg_server_t *cfg, int sockfd, esp_tls_t *tls)
{
    if (tls == NULL || cfg == NULL)
        return ESP_ERR_INVALID_ARG;
    tls->role = ESP_TLS_SERVER;
    tls->app_fd = sockfd;
    tls->is_tls = true;
    /* Our own descriptor for the same socket: the session's end closes it
     * (after close_notify) and leaves sockfd to the application. */
    int flags = sockfd >= 0 ? fcntl(sockfd, F_GETFL) : -1;
    int fd = flags >= 0 ? fcntl(sockfd, F_DUPFD_CLOEXEC, 0) : -1;
    if (fd < 0 || zrec_zsock_adopt_tls(fd, IPPROTO_TLS_1_2) != 0) {
        capture(tls, ESP_TLS_ERR_TYPE_SYSTEM, sockfd < 0 ? EBADF : errno);
        if (fd >= 0)
            close(fd);
        capture(tls, ESP_TLS_ERR_TYPE_ESP, ESP_ERR_ESP_TLS_CANNOT_CREATE_SOCKET);
        tls->state = ESP_TLS_FAIL;
        return ESP_FAIL;
    }
    tls->sockfd = fd;
    tls->app_flags = flags;
    esp_err_t e = server_options(tls, cfg);
    if (e != ESP_OK) {
        capture(tls, ESP_TLS_ERR_TYPE_ESP, e);
        tls->state = ESP_TLS_FAIL;
        return ESP_FAIL;
    }
    tls->connected = true; /* reads and writes drive the handshake too, as mbedTLS's */
    return ESP_OK;
}

/* A failed server handshake, recorded as ESP-TLS records it; what
 * continue_async returns (negative). */
static int server_failed(esp_tls_t *t, int err)
{
    capture(t, ESP_TLS_ERR_TYPE_SYSTEM, err);
    int flags = 0, code;
    socklen_t len = sizeof flags;
    if (zsock_getsockopt(t->sockfd, SOL_TLS, TLS_CERT_VERIFY_RESULT, &flags, &len) == 0 &&
        flags && flags != (int)ZREC_X509_BADCERT_SKIP_VERIFY) {
        capture(t, ESP_TLS_ERR_TYPE_MBEDTLS_CERT_FLAGS, flags); /* the client's certificate */
        code = X509_CERT_VERIFY_FAILED;
    } else if (err == ETIMEDOUT) {
        code = -ESP_TLS_ERR_SSL_TIMEOUT;
    } else if (err == ECONNRESET || err == EPIPE) {
        code = NET_CONN_RESET;
    } else {
        code = SSL_HANDSHAKE_FAILURE;
    }
    capture(t, ESP_TLS_ERR_TYPE_MBEDTLS, code);
    capture(t, ESP_TLS_ERR_TYPE_ESP, err == ETIMEDOUT ? ESP_ERR_ESP_TLS_SERVER_HANDSHAKE_TIMEOUT
                                                      : ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED);
    t->state = ESP_TLS_FAIL;
    return -code;
}

int esp_tls_server_session_continue_async(esp_tls_t *tls)
{
    if (tls == NULL || tls->role != ESP_TLS_SERVER || tls->sockfd < 0 ||
        tls->state == ESP_TLS_FAIL)
        return ESP_FAIL;
    if (zrec_zsock_tls_handshake(tls->sockfd, TLS_DTLS_ROLE_SERVER) == 0)
        return 0;
    if (errno != EAGAIN)
        return server_failed(tls, errno);
    /* In progress: it waits to write only when the kernel's send buffer is
     * full; otherwise for the client's next flight. */
    struct pollfd p = {.fd = tls->sockfd, .events = POLLOUT};
    return poll(&p, 1, 0) == 1 ? ESP_TLS_ERR_SSL_WANT_READ : ESP_TLS_ERR_SSL_WANT_WRITE;
}

int esp_tls_server_session_create(esp_tls_cfg_server_t *cfg, int sockfd, esp_tls_t *tls)
{
    esp_err_t e = esp_tls_server_session_init(cfg, sockfd, tls);
    if (e != ESP_OK)
        return e;
    uint32_t ms = cfg->tls_handshake_timeout_ms ? cfg->tls_handshake_timeout_ms
                                                : DEFAULT_TIMEOUT_MS;
    int64_t deadline = now_ms() + ms;
    for (;;) {
        int rc = esp_tls_server_session_continue_async(tls);
        if (rc == 0)
            return 0;
        if (rc == ESP_TLS_ERR_SSL_TIMEOUT)
            return ESP_ERR_ESP_TLS_SERVER_HANDSHAKE_TIMEOUT; /* the peer's time ran out */
        if (rc != ESP_TLS_ERR_SSL_WANT_READ && rc != ESP_TLS_ERR_SSL_WANT_WRITE)
            return rc;
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            capture(tls, ESP_TLS_ERR_TYPE_ESP, ESP_ERR_ESP_TLS_SERVER_HANDSHAKE_TIMEOUT);
            tls->state = ESP_TLS_FAIL;
            return ESP_ERR_ESP_TLS_SERVER_HANDSHAKE_TIMEOUT;
        }
        /* zsock_poll() steps the handshake as the client's bytes come; a
         * TLS socket is writable once open. */
        struct zsock_pollfd p = {.fd = tls->sockfd, .events = ZSOCK_POLLOUT};
        (void)zsock_poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
    }
}

void esp_tls_server_session_delete(esp_tls_t *tls)
{
    if (tls == NULL)
        return;
    if (tls->sockfd >= 0)
        (void)zsock_close(tls->sockfd); /* close_notify when open; our duplicate only */
    /* The application's descriptor as it was: blocking, if it was. */
    if (tls->role == ESP_TLS_SERVER && tls->app_fd >= 0 && tls->app_flags >= 0)
        (void)fcntl(tls->app_fd, F_SETFL, tls->app_flags);
    drop_credentials(tls);
    free(tls);
}

esp_err_t esp_tls_cfg_server_session_tickets_init(esp_tls_cfg_server_t *cfg)
{
    (void)cfg;
    return ESP_ERR_NOT_SUPPORTED;
}

void esp_tls_cfg_server_session_tickets_free(esp_tls_cfg_server_t *cfg)
{
    (void)cfg;
}
