/*
 * TLS sockets for the zsock facade: wolfSSL runs the handshake on the kernel
 * fd (blocking or non-blocking), then the connection's records belong to
 * the zrec engine.  Data moves with copy-on-crypt: send() seals from the
 * caller's buffer into the socket's record buffer and recv() opens from the
 * record buffer into the caller's buffer, so the AEAD pass is the only pass
 * over the payload (a record larger than the caller's buffer, or MSG_PEEK,
 * is opened in place and then copied: the one case with a copy).
 *
 * Semantics follow Zephyr's subsys/net/lib/sockets/sockets_tls.c (defaults:
 * clients verify the peer, servers do not; close() sends close_notify; poll
 * reports decrypted data as POLLIN, close_notify as POLLHUP, a fatal alert as
 * POLLERR) and go further where Zephyr is weak: connect() on a non-blocking
 * socket returns EINPROGRESS and the handshake then progresses through
 * poll()/recv()/send(), which return EAGAIN meanwhile.
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zrec/zsock_ext.h"
#include "zs_creds.h"
#include "zs_tls.h" /* wolfSSL's options.h first, then the rest of wolfSSL */

#include <wolfssl/error-ssl.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

bool zs_is_tls_proto(int proto)
{
    return proto == IPPROTO_TLS_1_2 || proto == IPPROTO_TLS_1_3;
}

bool zs_is_dtls_proto(int proto)
{
    return proto == IPPROTO_DTLS_1_2 || proto == IPPROTO_DTLS_1_3;
}

static const struct zs_ops tls_ops;

int zs_tls_create(struct zs_sock *s)
{
    if (s->proto == IPPROTO_DTLS_1_0)
        return -EPROTONOSUPPORT; /* DTLS 1.0 has no AEAD suites (RFC 6347 is 1.2) */
    struct zs_tls *t = calloc(1, sizeof *t);
    if (t == NULL)
        return -ENOMEM;
    t->dtls = zs_is_dtls_proto(s->proto);
    t->version = s->proto == IPPROTO_TLS_1_3 || s->proto == IPPROTO_DTLS_1_3 ? 0x0304 : 0x0303;
    t->peer_verify = -1;
    t->handshake_on_connect = 1;
    t->cert_verify_result = -1;
    t->cipher_used = -1;
    t->cid_value_len = -1;
    /* mbedTLS's defaults, which Zephyr's sockets inherit. */
    t->hs_timeout_min = 1000;
    t->hs_timeout_max = 60000;
    static int initialised;
    if (!__atomic_exchange_n(&initialised, 1, __ATOMIC_ACQ_REL))
        wolfSSL_Init();
    s->ops = &tls_ops;
    if (t->dtls) {
        s->tls = t;
        int rc = zs_dtls_create(s);
        if (rc < 0) {
            s->tls = NULL;
            free(t);
        }
        return rc;
    }
    /* Every record (and every handshake flight piece) is written with one
     * send(): Nagle would only hold the last small one back for a delayed
     * ACK (~40 ms per round trip of the handshake). */
    int one = 1;
    (void)setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    s->tls = t;
    return 0;
}

static void free_handshake(struct zs_tls *t)
{
    if (t->ssl)
        wolfSSL_free(t->ssl);
    t->ssl = NULL;
    zrec_wolfssl_capture_free(t->cap);
    t->cap = NULL;
}

/* ---- TLS_SESSION_CACHE ---------------------------------------------------
 *
 * Client sessions kept by peer address, as Zephyr's cache is: TLS 1.2
 * sessions as the handshake leaves them, TLS 1.3 ones from the tickets the
 * engine receives after the handoff (zrec_wolfssl_get1_session). */

#define CACHE_SLOTS 16
static struct {
    struct sockaddr_storage peer;
    socklen_t len;
    WOLFSSL_SESSION *sess;
    uint64_t used;
} cache[CACHE_SLOTS];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t cache_clock;

void zs_tls_cache_store(int fd, WOLFSSL_SESSION *sess)
{
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    if (sess == NULL || getpeername(fd, (struct sockaddr *)&peer, &len) < 0) {
        wolfSSL_SESSION_free(sess);
        return;
    }
    pthread_mutex_lock(&cache_lock);
    int slot = 0;
    for (int i = 0; i < CACHE_SLOTS; i++) {
        if (cache[i].sess && cache[i].len == len && memcmp(&cache[i].peer, &peer, len) == 0) {
            slot = i;
            break;
        }
        if (cache[i].used < cache[slot].used)
            slot = i; /* the least recently used one goes */
    }
    wolfSSL_SESSION_free(cache[slot].sess);
    cache[slot].peer = peer;
    cache[slot].len = len;
    cache[slot].sess = sess;
    cache[slot].used = ++cache_clock;
    pthread_mutex_unlock(&cache_lock);
}

static void cache_apply(int fd, WOLFSSL *ssl)
{
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    if (getpeername(fd, (struct sockaddr *)&peer, &len) < 0)
        return;
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (cache[i].sess && cache[i].len == len && memcmp(&cache[i].peer, &peer, len) == 0) {
            (void)wolfSSL_set_session(ssl, cache[i].sess);
            cache[i].used = ++cache_clock;
            break;
        }
    pthread_mutex_unlock(&cache_lock);
}

static void cache_purge(void)
{
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < CACHE_SLOTS; i++) {
        wolfSSL_SESSION_free(cache[i].sess);
        cache[i].sess = NULL;
        cache[i].used = 0;
    }
    pthread_mutex_unlock(&cache_lock);
}

/* ---- wolfSSL set-up ------------------------------------------------------ */

/* wolfSSL's I/O on the (non-blocking) kernel fd.  It asks for exactly the
 * bytes of the record it is reading, so nothing is read ahead of the
 * handshake: the first record after it is still in the kernel for the
 * engine (zrec/wolfssl.h). */
static int io_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    (void)ssl;
    struct zs_sock *s = ctx;
    ssize_t n = recv(s->fd, buf, (size_t)sz, MSG_DONTWAIT);
    if (n > 0)
        return (int)n;
    if (n == 0)
        return WOLFSSL_CBIO_ERR_CONN_CLOSE;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        s->tls->hs_want = POLLIN;
        return WOLFSSL_CBIO_ERR_WANT_READ;
    }
    if (errno == EINTR)
        return WOLFSSL_CBIO_ERR_ISR;
    return errno == ECONNRESET ? WOLFSSL_CBIO_ERR_CONN_RST : WOLFSSL_CBIO_ERR_GENERAL;
}

static int io_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    (void)ssl;
    struct zs_sock *s = ctx;
    ssize_t n = send(s->fd, buf, (size_t)sz, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0)
        return (int)n;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        s->tls->hs_want = POLLOUT;
        return WOLFSSL_CBIO_ERR_WANT_WRITE;
    }
    if (errno == EINTR)
        return WOLFSSL_CBIO_ERR_ISR;
    return errno == EPIPE || errno == ECONNRESET ? WOLFSSL_CBIO_ERR_CONN_RST
                                                 : WOLFSSL_CBIO_ERR_GENERAL;
}

/* Zephyr counts a PEM credential's terminating NUL in its length. */
static int cred_format(const void *buf, size_t *len)
{
    if (zs_cred_is_pem(buf, *len)) {
        if (*len && ((const char *)buf)[*len - 1] == '\0')
            (*len)--;
        return WOLFSSL_FILETYPE_PEM;
    }
    return WOLFSSL_FILETYPE_ASN1;
}

/* PSK (TLS_CREDENTIAL_PSK + TLS_CREDENTIAL_PSK_ID under one tag): wolfSSL
 * asks through callbacks; the socket is its I/O context. */
static int find_psk(struct zs_tls *t, const void **key, size_t *key_len, const void **id,
                    size_t *id_len)
{
    for (int i = 0; i < t->ntags; i++)
        if (zs_cred_find(t->tags[i], TLS_CREDENTIAL_PSK, key, key_len) == 0 &&
            zs_cred_find(t->tags[i], TLS_CREDENTIAL_PSK_ID, id, id_len) == 0)
            return 0;
    return -ENOENT;
}

static unsigned int psk_client(WOLFSSL *ssl, const char *hint, char *identity,
                               unsigned int id_max, unsigned char *key, unsigned int key_max)
{
    (void)hint;
    struct zs_sock *s = wolfSSL_get_psk_callback_ctx(ssl);
    const void *k, *id;
    size_t kl, il;
    if (s == NULL || find_psk(s->tls, &k, &kl, &id, &il) < 0 || il + 1 > id_max || kl > key_max)
        return 0;
    memcpy(identity, id, il);
    identity[il] = '\0';
    memcpy(key, k, kl);
    return (unsigned int)kl;
}

static unsigned int psk_server(WOLFSSL *ssl, const char *identity, unsigned char *key,
                               unsigned int key_max)
{
    struct zs_sock *s = wolfSSL_get_psk_callback_ctx(ssl);
    const void *k, *id;
    size_t kl, il;
    if (s == NULL || identity == NULL || find_psk(s->tls, &k, &kl, &id, &il) < 0 ||
        strlen(identity) != il || memcmp(identity, id, il) != 0 || kl > key_max)
        return 0; /* unknown identity: the handshake fails */
    memcpy(key, k, kl);
    return (unsigned int)kl;
}

/* TLS 1.3 binds a PSK to a hash; wolfSSL's TLS 1.3 PSK callbacks name the
 * suite to use with it: the first TLS 1.3 suite the socket allows, else
 * TLS_AES_128_GCM_SHA256 (RFC 8446 §4.2.11). */
static const char *psk13_suite(struct zs_sock *s)
{
    struct zs_tls *t = s->tls;
    for (int i = 0; i < t->nciphers; i++)
        if ((t->ciphers[i] >> 8) == 0x13)
            return wolfSSL_get_cipher_name_from_suite(0x13, (unsigned char)t->ciphers[i]);
    return "TLS13-AES128-GCM-SHA256";
}

static unsigned int psk_client13(WOLFSSL *ssl, const char *hint, char *identity,
                                 unsigned int id_max, unsigned char *key, unsigned int key_max,
                                 const char **suite)
{
    struct zs_sock *s = wolfSSL_get_psk_callback_ctx(ssl);
    if (s == NULL)
        return 0;
    *suite = psk13_suite(s);
    return psk_client(ssl, hint, identity, id_max, key, key_max);
}

static unsigned int psk_server13(WOLFSSL *ssl, const char *identity, unsigned char *key,
                                 unsigned int key_max, const char **suite)
{
    struct zs_sock *s = wolfSSL_get_psk_callback_ctx(ssl);
    if (s == NULL)
        return 0;
    *suite = psk13_suite(s);
    return psk_server(ssl, identity, key, key_max);
}

static int load_credentials(struct zs_tls *t)
{
    const void *k, *id;
    size_t kl, il;
    if (find_psk(t, &k, &kl, &id, &il) == 0) {
        if (t->server) {
            wolfSSL_CTX_set_psk_server_callback(t->ctx, psk_server);
            wolfSSL_CTX_set_psk_server_tls13_callback(t->ctx, psk_server13);
        } else {
            wolfSSL_CTX_set_psk_client_callback(t->ctx, psk_client);
            wolfSSL_CTX_set_psk_client_tls13_callback(t->ctx, psk_client13);
        }
    }
    int loaded_ca = 0;
    for (int i = 0; i < t->ntags; i++) {
        const void *buf;
        size_t len;
        if (zs_cred_find(t->tags[i], TLS_CREDENTIAL_CA_CERTIFICATE, &buf, &len) == 0) {
            int fmt = cred_format(buf, &len);
            if (wolfSSL_CTX_load_verify_buffer(t->ctx, buf, (long)len, fmt) != WOLFSSL_SUCCESS)
                return -EINVAL;
            loaded_ca++;
        }
        if (zs_cred_find(t->tags[i], TLS_CREDENTIAL_SERVER_CERTIFICATE, &buf, &len) == 0) {
            int fmt = cred_format(buf, &len);
            if (wolfSSL_CTX_use_certificate_buffer(t->ctx, buf, (long)len, fmt) !=
                WOLFSSL_SUCCESS)
                return -EINVAL;
        }
        if (zs_cred_find(t->tags[i], TLS_CREDENTIAL_PRIVATE_KEY, &buf, &len) == 0) {
            int fmt = cred_format(buf, &len);
            if (wolfSSL_CTX_use_PrivateKey_buffer(t->ctx, buf, (long)len, fmt) !=
                WOLFSSL_SUCCESS)
                return -EINVAL;
        }
    }
    return loaded_ca;
}

static int effective_verify(const struct zs_tls *t)
{
    /* Zephyr's defaults: clients verify the peer, servers do not. */
    if (t->peer_verify >= 0)
        return t->peer_verify;
    return t->server ? TLS_PEER_VERIFY_NONE : TLS_PEER_VERIFY_REQUIRED;
}

/* wolfSSL's reason for rejecting a certificate as mbedTLS's flag. */
static uint32_t badcert_flags(int err)
{
    switch (err) {
    case 0:
        return 0;
    case ASN_AFTER_DATE_E:
        return ZREC_X509_BADCERT_EXPIRED;
    case ASN_BEFORE_DATE_E:
        return ZREC_X509_BADCERT_FUTURE;
    case DOMAIN_NAME_MISMATCH:
    case IPADDR_MISMATCH:
        return ZREC_X509_BADCERT_CN_MISMATCH;
    case ASN_NO_SIGNER_E:
    case ASN_SELF_SIGNED_E:
        return ZREC_X509_BADCERT_NOT_TRUSTED;
    default:
        return ZREC_X509_BADCERT_OTHER;
    }
}

/* Called for every certificate of the peer's chain (WOLFSSL_ALWAYS_VERIFY_CB)
 * under TLS_PEER_VERIFY_OPTIONAL / _REQUIRED: collects the flags for
 * TLS_CERT_VERIFY_RESULT, lets TLS_CERT_VERIFY_CALLBACK have its say, and
 * fails the handshake only under _REQUIRED. */
static int verify_cb(int preverify, WOLFSSL_X509_STORE_CTX *store)
{
    struct zs_sock *s = store->userCtx;
    if (s == NULL || s->tls == NULL)
        return preverify;
    struct zs_tls *t = s->tls;
    uint32_t flags = preverify ? 0 : badcert_flags(store->error);
    if (t->verify_cb.cb) {
        int len = 0;
        const unsigned char *der =
            store->current_cert ? wolfSSL_X509_get_der(store->current_cert, &len) : NULL;
        zrec_tls_cert_verify_fn fn = (zrec_tls_cert_verify_fn)t->verify_cb.cb;
        if (fn(t->verify_cb.ctx, der, der ? (size_t)len : 0, store->error_depth, &flags) != 0) {
            t->verify_flags |= flags ? flags : ZREC_X509_BADCERT_OTHER;
            return 0; /* the application said no */
        }
    }
    t->verify_flags |= flags;
    return flags == 0 || effective_verify(t) == TLS_PEER_VERIFY_OPTIONAL;
}

void zs_tls_verify_done(struct zs_tls *t)
{
    t->cert_verify_result = effective_verify(t) == TLS_PEER_VERIFY_NONE
                                ? (int)ZREC_X509_BADCERT_SKIP_VERIFY
                                : (int)t->verify_flags;
}

static int cipher_list(struct zs_tls *t, char *out, size_t cap)
{
    size_t pos = 0;
    out[0] = '\0';
    for (int i = 0; i < t->nciphers; i++) {
        const char *name = wolfSSL_get_cipher_name_from_suite(
            (unsigned char)(t->ciphers[i] >> 8), (unsigned char)t->ciphers[i]);
        if (name == NULL || strcmp(name, "None") == 0)
            continue; /* a suite this build does not have */
        size_t n = strlen(name);
        if (pos + n + 2 > cap)
            return -ENOBUFS;
        if (pos)
            out[pos++] = ':';
        memcpy(out + pos, name, n + 1);
        pos += n;
    }
    return pos ? 0 : -EINVAL;
}

/* With no TLS_CIPHERSUITE_LIST the handshake offers only the suites the
 * engine carries (zrec_wolfssl_cipher_list(), zrec_wolfssl_suite_ids()), so
 * it never settles on one (CBC, NULL, AES-256-CCM) that the handoff would
 * then refuse. */

static WOLFSSL_METHOD *method(const struct zs_tls *t)
{
    if (t->dtls && t->version == 0x0304)
        return t->server ? wolfDTLSv1_3_server_method() : wolfDTLSv1_3_client_method();
    if (t->dtls)
        return t->server ? wolfDTLSv1_2_server_method() : wolfDTLSv1_2_client_method();
    if (t->version == 0x0304)
        return t->server ? wolfTLSv1_3_server_method() : wolfTLSv1_3_client_method();
    return t->server ? wolfTLSv1_2_server_method() : wolfTLSv1_2_client_method();
}

int zs_tls_make_ctx(struct zs_tls *t)
{
    if (t->ctx == NULL) {
        /* The method object is owned (and freed) by the context made of it:
         * make one only for a new context. */
        t->ctx = wolfSSL_CTX_new(method(t));
        if (t->ctx == NULL)
            return -ENOMEM;
        if (!t->dtls) { /* dtls.c brings its own datagram I/O */
            wolfSSL_CTX_SetIORecv(t->ctx, io_recv);
            wolfSSL_CTX_SetIOSend(t->ctx, io_send);
        }
        int rc = load_credentials(t);
        if (rc < 0)
            return rc;
        int verify = effective_verify(t);
        if (verify == TLS_PEER_VERIFY_NONE)
            wolfSSL_CTX_set_verify(t->ctx, WOLFSSL_VERIFY_NONE, NULL);
        else if (verify == TLS_PEER_VERIFY_OPTIONAL)
            wolfSSL_CTX_set_verify(t->ctx, WOLFSSL_VERIFY_PEER, verify_cb);
        else
            wolfSSL_CTX_set_verify(t->ctx,
                                   WOLFSSL_VERIFY_PEER | WOLFSSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                                   verify_cb);
        char list[4096];
        if (t->nciphers)
            rc = cipher_list(t, list, sizeof list);
        else
            rc = zrec_wolfssl_cipher_list(list, sizeof list) > 0 ? 0 : -EINVAL;
        if (rc < 0 || wolfSSL_CTX_set_cipher_list(t->ctx, list) != WOLFSSL_SUCCESS)
            return -EINVAL;
    }
    return 0;
}

int zs_tls_config_ssl(struct zs_sock *s, WOLFSSL *ssl)
{
    struct zs_tls *t = s->tls;
    (void)wolfSSL_set_psk_callback_ctx(ssl, s);
    wolfSSL_SetCertCbCtx(ssl, s);
    t->verify_flags = 0;
    if (!t->server && t->hostname_set && t->hostname) {
        /* SNI and the name check (RFC 6066 §3; RFC 6125). */
        size_t n = strlen(t->hostname);
        if (wolfSSL_UseSNI(ssl, WOLFSSL_SNI_HOST_NAME, t->hostname, (word16)n) !=
                WOLFSSL_SUCCESS ||
            wolfSSL_check_domain_name(ssl, t->hostname) != WOLFSSL_SUCCESS)
            return -EINVAL;
    }
    if (t->alpn[0] && wolfSSL_UseALPN(ssl, t->alpn, (unsigned)strlen(t->alpn),
                                      WOLFSSL_ALPN_CONTINUE_ON_MISMATCH) != WOLFSSL_SUCCESS)
        return -EINVAL;
    if (!t->server && t->session_cache == TLS_SESSION_CACHE_ENABLED)
        cache_apply(s->fd, ssl);
    return 0;
}

/* What the finished handshake leaves for getsockopt(), and the session for
 * the cache (TLS 1.2; TLS 1.3 tickets come after the handoff). */
void zs_tls_handshake_done(struct zs_sock *s, WOLFSSL *ssl)
{
    struct zs_tls *t = s->tls;
    t->cipher_used = wolfSSL_get_current_cipher_suite(ssl) & 0xffff;
    zs_tls_verify_done(t);
    t->resumed = wolfSSL_session_reused(ssl) == 1;
    char *proto = NULL;
    unsigned short plen = 0;
    t->alpn_chosen[0] = '\0';
    if (wolfSSL_ALPN_GetProtocol(ssl, &proto, &plen) == WOLFSSL_SUCCESS && proto &&
        plen < sizeof t->alpn_chosen) {
        memcpy(t->alpn_chosen, proto, plen);
        t->alpn_chosen[plen] = '\0';
    }
    if (!t->server && t->session_cache == TLS_SESSION_CACHE_ENABLED && t->version == 0x0303)
        zs_tls_cache_store(s->fd, wolfSSL_get1_session(ssl));
}

static int hs_setup(struct zs_sock *s)
{
    struct zs_tls *t = s->tls;
    int rc = zs_tls_make_ctx(t);
    if (rc < 0)
        return rc;
    t->ssl = wolfSSL_new(t->ctx);
    if (t->ssl == NULL)
        return -ENOMEM;
    wolfSSL_SetIOReadCtx(t->ssl, s);
    wolfSSL_SetIOWriteCtx(t->ssl, s);
    rc = zs_tls_config_ssl(s, t->ssl);
    if (rc < 0)
        return rc;
    t->cap = zrec_wolfssl_prepare(t->ssl);
    if (t->cap == NULL)
        return -ENOMEM;
    t->state = ST_HANDSHAKE;
    t->hs_want = t->server ? POLLIN : POLLOUT;
    return 0;
}

static int fail(struct zs_tls *t, int err)
{
    t->state = ST_FAILED;
    t->error = err;
    free_handshake(t);
    return -err;
}

/* The handoff: wolfSSL's record state moves into the engine and wolfSSL's
 * connection object goes away. */
static int hs_finish(struct zs_sock *s)
{
    struct zs_tls *t = s->tls;
    zs_tls_handshake_done(s, t->ssl);
    int err = 0;
    t->zs = zrec_wolfssl_import(t->ssl, t->cap, NULL, &err);
    t->cap = NULL;
    free_handshake(t);
    if (t->zs == NULL)
        return fail(t, err == -ENOTSUP ? EPROTONOSUPPORT : ECONNABORTED);
    t->rx = malloc(RX_CAP);
    t->tx = malloc(REC_MAX);
    if (t->rx == NULL || t->tx == NULL)
        return fail(t, ENOMEM);
    t->state = ST_OPEN;
    return 0;
}

/* One non-blocking step of the handshake: 0 done, -EAGAIN (see hs_want),
 * or the connection failed (ECONNABORTED, as Zephyr reports handshake
 * failures; ECONNRESET / EPIPE when the peer went away). */
static int hs_step(struct zs_sock *s)
{
    struct zs_tls *t = s->tls;
    if (t->state == ST_OPEN)
        return 0;
    if (t->state == ST_FAILED)
        return -t->error;
    if (t->state != ST_HANDSHAKE)
        return -ENOTCONN;
    int rc = t->server ? wolfSSL_accept(t->ssl) : wolfSSL_connect(t->ssl);
    if (rc == WOLFSSL_SUCCESS)
        return hs_finish(s);
    int e = wolfSSL_get_error(t->ssl, rc);
    if (e == WOLFSSL_ERROR_WANT_READ) {
        t->hs_want = POLLIN;
        return -EAGAIN;
    }
    if (e == WOLFSSL_ERROR_WANT_WRITE) {
        t->hs_want = POLLOUT;
        return -EAGAIN;
    }
    if (e == SOCKET_PEER_CLOSED_E || e == SOCKET_ERROR_E)
        return fail(t, ECONNRESET);
    zs_tls_verify_done(t);
    return fail(t, ECONNABORTED);
}

/* Drive the handshake to the end (blocking) or one step (non-blocking). */
static int hs_drive(struct zs_sock *s, bool dontwait, int64_t deadline)
{
    for (;;) {
        pthread_mutex_lock(&s->lock);
        int rc = hs_step(s);
        short want = s->tls->hs_want;
        pthread_mutex_unlock(&s->lock);
        if (rc != -EAGAIN || dontwait)
            return rc;
        rc = zs_wait(s, want, deadline);
        if (rc == -EAGAIN)
            return -ETIMEDOUT;
        if (rc < 0)
            return rc;
    }
}

/* ---- connection set-up -------------------------------------------------- */

static int zs_tls_connect(struct zs_sock *s, const struct sockaddr *addr, socklen_t len)
{
    struct zs_tls *t = s->tls;
    if (t->dtls)
        return zs_dtls_connect(s, addr, len);
    if (t->state != ST_IDLE)
        return t->state == ST_FAILED ? -t->error : -EISCONN;
    int rc = zs_plain_connect(s, addr, len);
    if (rc < 0 && rc != -EINPROGRESS)
        return rc;
    pthread_mutex_lock(&s->lock);
    t->server = false;
    int src = hs_setup(s);
    pthread_mutex_unlock(&s->lock);
    if (src < 0)
        return fail(t, -src);
    if (rc == -EINPROGRESS || s->nonblock || !t->handshake_on_connect)
        return s->nonblock ? -EINPROGRESS : 0; /* poll()/recv()/send() drive it on */
    return hs_drive(s, false, zs_deadline(s->sndtimeo_ms));
}

static int zs_tls_listen(struct zs_sock *s, int backlog)
{
    if (s->tls->dtls)
        return -EOPNOTSUPP; /* a DTLS server socket serves clients after bind() */
    if (listen(s->fd, backlog) < 0)
        return -errno;
    s->tls->server = true;
    s->tls->state = ST_LISTEN;
    return 0;
}

/* A new TLS socket for an accepted connection, configured like the
 * listening one (it shares its wolfSSL context: credentials load once). */
static int zs_tls_accept(struct zs_sock *s, struct sockaddr *addr, socklen_t *len)
{
    struct zs_tls *lt = s->tls;
    if (lt->dtls)
        return -EOPNOTSUPP;
    if (lt->state != ST_LISTEN)
        return -EINVAL;
    for (;;) {
        int fd = zs_plain_accept(s, addr, len);
        if (fd < 0)
            return fd;
        struct zs_sock *c = zs_register(fd, s->family, s->type, s->proto);
        if (c == NULL) {
            int e = errno;
            close(fd);
            return -e;
        }
        int rc = zs_tls_create(c);
        if (rc == 0) {
            struct zs_tls *t = c->tls;
            *t = *lt;             /* the options */
            t->hostname = NULL;   /* not the listener's to free */
            t->hostname_set = false;
            t->state = ST_IDLE;
            t->server = true;
            pthread_mutex_lock(&s->lock);
            if (lt->ctx == NULL) {
                /* Build the shared context once, on the listener. */
                t->ctx = NULL;
                rc = hs_setup(c);
                if (rc == 0) {
                    lt->ctx = t->ctx;
                    wolfSSL_CTX_up_ref(lt->ctx);
                }
            } else {
                t->ctx = lt->ctx;
                wolfSSL_CTX_up_ref(t->ctx);
                rc = hs_setup(c);
            }
            pthread_mutex_unlock(&s->lock);
            c->nonblock = s->nonblock;
            c->rcvtimeo_ms = s->rcvtimeo_ms;
            c->sndtimeo_ms = s->sndtimeo_ms;
        }
        if (rc == 0 && !s->nonblock)
            rc = hs_drive(c, false, zs_deadline(s->rcvtimeo_ms));
        if (rc == 0 || (rc == -EAGAIN && s->nonblock))
            return fd; /* non-blocking: the handshake goes on in recv/send/poll */
        zsock_close(fd);
        /* Zephyr: a failed handshake fails accept() with ECONNABORTED. */
        return rc == -EINTR ? rc : -ECONNABORTED;
    }
}

/* ---- records out -------------------------------------------------------- */

/* Write queued ciphertext; -EAGAIN if some is still queued. */
static int flush_tx(struct zs_sock *s)
{
    struct zs_tls *t = s->tls;
    while (t->tx_len) {
        ssize_t n = send(s->fd, t->tx + t->tx_off, t->tx_len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return -EAGAIN;
            if (errno == EINTR)
                continue;
            return -errno;
        }
        t->tx_off += (size_t)n;
        t->tx_len -= (size_t)n;
    }
    t->tx_off = 0;
    return 0;
}

/* Seal one record into the (empty) tx buffer. */
static int seal_to_tx(struct zs_tls *t, uint8_t type, const uint8_t *src, size_t len)
{
    struct zrec_op op = {.sess = t->zs, .data = t->tx + ZREC_MAX_HEADROOM, .len = (uint32_t)len,
                         .headroom = ZREC_MAX_HEADROOM,
                         .tailroom = (uint16_t)(REC_MAX - ZREC_MAX_HEADROOM - len),
                         .content_type = type, .src = src};
    if (zrec_seal_burst(&op, 1) != 1)
        return op.status;
    t->tx_off = (size_t)(op.rec - t->tx);
    t->tx_len = op.rec_len;
    return 0;
}

/* Key maintenance owed before more data: answer a KeyUpdate request, or
 * rekey before the key's usage limit (RFC 8446 §4.6.3, §5.5). */
static int key_maintenance(struct zs_sock *s)
{
    struct zs_tls *t = s->tls;
    unsigned ev = zrec_session_events(t->zs);
    if (!(ev & (ZREC_EV_KEY_UPDATE_OWED | ZREC_EV_REKEY_DUE)) ||
        zrec_session_proto(t->zs) != ZREC_TLS13)
        return 0;
    int rc = flush_tx(s);
    if (rc < 0)
        return rc;
    int n = zrec_seal_key_update(t->zs, false, t->tx, REC_MAX);
    if (n < 0)
        return n;
    t->tx_off = 0;
    t->tx_len = (size_t)n;
    rc = flush_tx(s);
    return rc == -EAGAIN ? 0 : rc; /* still queued: goes out before any data */
}

/* hs_step() (through hs_drive()) tells open, failed and not connected. */
static int ensure_open(struct zs_sock *s, bool dontwait, int64_t deadline)
{
    return s->tls->state == ST_OPEN ? 0 : hs_drive(s, dontwait, deadline);
}

static ssize_t zs_tls_sendmsg(struct zs_sock *s, const struct msghdr *msg, int flags)
{
    struct zs_tls *t = s->tls;
    if (t->dtls)
        return zs_dtls_sendmsg(s, msg, flags);
    bool dontwait = s->nonblock || (flags & MSG_DONTWAIT);
    int64_t deadline = zs_deadline(s->sndtimeo_ms);
    int rc = ensure_open(s, dontwait, deadline);
    if (rc < 0)
        return rc;
    size_t sent = 0;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < (size_t)msg->msg_iovlen; i++) {
        const uint8_t *p = msg->msg_iov[i].iov_base;
        size_t left = msg->msg_iov[i].iov_len;
        while (left > 0) {
            /* Queued ciphertext goes first; only then is new data accepted. */
            while ((rc = flush_tx(s)) == -EAGAIN) {
                if (dontwait || sent) {
                    pthread_mutex_unlock(&s->lock);
                    return sent ? (ssize_t)sent : -EAGAIN;
                }
                pthread_mutex_unlock(&s->lock);
                rc = zs_wait(s, POLLOUT, deadline);
                pthread_mutex_lock(&s->lock);
                if (rc < 0) {
                    pthread_mutex_unlock(&s->lock);
                    return rc;
                }
            }
            if (rc == 0)
                rc = key_maintenance(s);
            if (rc < 0)
                break;
            if (t->tx_len) /* the KeyUpdate is still queued */
                continue;
            size_t chunk = left > ZREC_MAX_PLAINTEXT ? ZREC_MAX_PLAINTEXT : left;
            rc = seal_to_tx(t, ZREC_CT_APPLICATION_DATA, p, chunk);
            if (rc < 0)
                break;
            /* Sealed bytes are committed: they count as sent even if the
             * kernel takes them later. */
            p += chunk;
            left -= chunk;
            sent += chunk;
            rc = flush_tx(s);
            if (rc < 0 && rc != -EAGAIN)
                break;
            rc = 0;
        }
        if (rc < 0)
            break;
    }
    pthread_mutex_unlock(&s->lock);
    if (rc < 0 && sent == 0)
        return rc == -EKEYEXPIRED ? -ECONNABORTED : rc;
    return (ssize_t)sent;
}

/* ---- records in --------------------------------------------------------- */

/* Read what the kernel has (non-blocking): >0 bytes, 0 at EOF, -EAGAIN. */
static ssize_t fill_rx(struct zs_sock *s)
{
    struct zs_tls *t = s->tls;
    if (t->rx_off + t->rx_len == RX_CAP) {
        /* Make room: keep the unconsumed bytes (and any pending plaintext,
         * which lies inside them) at the front. */
        size_t shift = t->rx_off;
        if (t->pend && (size_t)(t->pend - t->rx) < shift)
            shift = (size_t)(t->pend - t->rx);
        memmove(t->rx, t->rx + shift, t->rx_off + t->rx_len - shift);
        if (t->pend)
            t->pend -= shift;
        t->rx_off -= shift;
    }
    size_t room = RX_CAP - t->rx_off - t->rx_len;
    if (room == 0)
        return -ENOBUFS;
    ssize_t n = recv(s->fd, t->rx + t->rx_off + t->rx_len, room, MSG_DONTWAIT);
    if (n > 0)
        t->rx_len += (size_t)n;
    if (n < 0)
        return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? -EAGAIN : -errno;
    return n;
}

/* Send a fatal alert (best effort) and fail the connection. */
static int fatal(struct zs_sock *s, uint8_t alert, int err)
{
    struct zs_tls *t = s->tls;
    uint8_t buf[64];
    int n = zrec_seal_alert(t->zs, ZREC_ALERT_FATAL, alert, buf, sizeof buf);
    if (n > 0)
        (void)send(s->fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
    t->state = ST_FAILED;
    t->error = err;
    return -err;
}

/* Open the next complete record.  into/cap: where application data may go
 * directly (copy-on-decrypt), or NULL.  Returns the number of bytes of
 * application data delivered into `into`, or 0 with the data left pending
 * (or a control record consumed), -EAGAIN when no complete record is
 * buffered, or a fatal error. */
static ssize_t open_next(struct zs_sock *s, uint8_t *into, size_t cap, bool *got_data)
{
    struct zs_tls *t = s->tls;
    *got_data = false;
    if (t->rx_len == 0)
        return -EAGAIN;
    uint8_t *rec = t->rx + t->rx_off;
    long need = zrec_record_length(t->zs, rec, t->rx_len);
    if (need < 0)
        return fatal(s, need == -EMSGSIZE ? ZREC_ALERT_RECORD_OVERFLOW
                                          : ZREC_ALERT_DECODE_ERROR,
                     need == -EMSGSIZE ? EMSGSIZE : EPROTO);
    if (need == 0 || (size_t)need > t->rx_len)
        return -EAGAIN;
    struct zrec_op op = {.sess = t->zs, .data = rec, .len = (uint32_t)need};
    if (into) {
        op.dst = into;
        op.dst_cap = (uint32_t)cap;
    }
    zrec_open_burst(&op, 1);
    if (op.status == -ENOBUFS) { /* does not fit the caller's buffer: in place */
        op.dst = NULL;
        zrec_open_burst(&op, 1);
    }
    if (op.status < 0) {
        if (op.status == -EBADMSG)
            return fatal(s, ZREC_ALERT_BAD_RECORD_MAC, EBADMSG);
        if (op.status == -EMSGSIZE)
            return fatal(s, ZREC_ALERT_RECORD_OVERFLOW, EMSGSIZE);
        return fatal(s, ZREC_ALERT_UNEXPECTED_MESSAGE, op.status == -EPIPE ? EPIPE : EPROTO);
    }
    t->rx_off += (size_t)need;
    t->rx_len -= (size_t)need;
    unsigned ev = zrec_session_events(t->zs);
    switch (op.content_type) {
    case ZREC_CT_APPLICATION_DATA:
        if (op.rec_len == 0)
            return 0; /* RFC 8446 §5.4: empty records may carry padding only */
        *got_data = true;
        if (op.dst)
            return op.rec_len;
        t->pend = op.rec;
        t->pend_len = op.rec_len;
        return 0;
    case ZREC_CT_ALERT:
        if (ev & ZREC_EV_PEER_CLOSED) {
            t->peer_closed = true;
            return 0;
        }
        if (ev & ZREC_EV_PEER_ALERT) {
            t->state = ST_FAILED;
            t->error = ECONNRESET; /* the peer ended the connection */
            return -ECONNRESET;
        }
        return 0; /* a warning alert */
    default:
        /* Post-handshake handshake messages (tickets, KeyUpdate): the engine
         * acted on them; an owed KeyUpdate goes out before our next data. */
        if (ev & ZREC_EV_KEY_UPDATE_OWED)
            (void)key_maintenance(s);
        if ((ev & ZREC_EV_NEW_SESSION_TICKET) && !t->server &&
            t->session_cache == TLS_SESSION_CACHE_ENABLED)
            zs_tls_cache_store(s->fd, zrec_wolfssl_get1_session(t->zs));
        return 0;
    }
}

static size_t copy_pending(struct zs_tls *t, const struct msghdr *msg, bool peek)
{
    size_t done = 0;
    for (size_t i = 0; i < (size_t)msg->msg_iovlen && done < t->pend_len; i++) {
        size_t n = msg->msg_iov[i].iov_len;
        if (n > t->pend_len - done)
            n = t->pend_len - done;
        memcpy(msg->msg_iov[i].iov_base, t->pend + done, n);
        done += n;
    }
    if (!peek) {
        t->pend += done;
        t->pend_len -= done;
        if (t->pend_len == 0)
            t->pend = NULL;
    }
    return done;
}

static ssize_t zs_tls_recvmsg(struct zs_sock *s, struct msghdr *msg, int flags)
{
    struct zs_tls *t = s->tls;
    if (t->dtls)
        return zs_dtls_recvmsg(s, msg, flags);
    bool dontwait = s->nonblock || (flags & MSG_DONTWAIT);
    bool peek = flags & MSG_PEEK;
    int64_t deadline = zs_deadline(s->rcvtimeo_ms);
    int rc = ensure_open(s, dontwait, deadline);
    if (rc < 0)
        return rc;
    size_t want = 0;
    for (size_t i = 0; i < (size_t)msg->msg_iovlen; i++)
        want += msg->msg_iov[i].iov_len;
    bool waitall = (flags & MSG_WAITALL) && !peek;
    size_t got = 0;
    msg->msg_flags = 0;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        if (t->pend_len) {
            struct msghdr rest = *msg;
            struct iovec one;
            if (got) { /* MSG_WAITALL continuing: one contiguous buffer only */
                one = (struct iovec){(uint8_t *)msg->msg_iov[0].iov_base + got, want - got};
                rest.msg_iov = &one;
                rest.msg_iovlen = 1;
            }
            got += copy_pending(t, &rest, peek);
            if (!waitall || got >= want)
                break;
            continue;
        }
        if (t->peer_closed || t->state == ST_FAILED)
            break;
        /* Decrypt straight into the caller's buffer when it is one piece. */
        uint8_t *into = NULL;
        size_t cap = 0;
        if (!peek && msg->msg_iovlen == 1) {
            into = (uint8_t *)msg->msg_iov[0].iov_base + got;
            cap = want - got;
        }
        bool data;
        ssize_t n = open_next(s, into, cap, &data);
        if (n > 0) {
            got += (size_t)n;
            if (!waitall || got >= want)
                break;
            continue;
        }
        if (n == 0)
            continue; /* control record, or data now pending */
        if (n != -EAGAIN) {
            rc = (int)n;
            break;
        }
        ssize_t r = fill_rx(s);
        if (r > 0)
            continue;
        if (r == 0 && t->rx_len) {
            /* EOF in the middle of a record: truncated, not closed (RFC 8446
             * §6.1 warns of truncation): an error, never a clean end. */
            t->state = ST_FAILED;
            t->error = ECONNRESET;
            rc = -ECONNRESET;
            break;
        }
        if (r == 0) { /* TCP EOF at a record boundary without close_notify */
            t->peer_closed = true;
            break;
        }
        if (r != -EAGAIN) {
            rc = (int)r;
            break;
        }
        if (dontwait)
            break;
        pthread_mutex_unlock(&s->lock);
        rc = zs_wait(s, POLLIN, deadline);
        pthread_mutex_lock(&s->lock);
        if (rc < 0)
            break;
    }
    pthread_mutex_unlock(&s->lock);
    if (got)
        return (ssize_t)got;
    if (rc < 0)
        return rc;
    if (t->state == ST_FAILED)
        return -t->error;
    if (t->peer_closed)
        return 0;
    return -EAGAIN;
}

/* ---- control ------------------------------------------------------------ */

static void send_close_notify(struct zs_sock *s)
{
    struct zs_tls *t = s->tls;
    if (t->state != ST_OPEN || t->close_sent)
        return;
    t->close_sent = true;
    /* Queued data first (bounded wait), then close_notify (RFC 8446 §6.1). */
    int64_t deadline = zs_deadline(1000);
    while (flush_tx(s) == -EAGAIN && zs_wait(s, POLLOUT, deadline) == 0)
        ;
    if (t->tx_len)
        return;
    uint8_t buf[64];
    int n = zrec_seal_alert(t->zs, ZREC_ALERT_WARNING, ZREC_ALERT_CLOSE_NOTIFY, buf, sizeof buf);
    if (n > 0)
        (void)send(s->fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static int zs_tls_shutdown(struct zs_sock *s, int how)
{
    if (s->tls->dtls)
        return zs_dtls_shutdown(s, how);
    pthread_mutex_lock(&s->lock);
    if (how == SHUT_WR || how == SHUT_RDWR)
        send_close_notify(s);
    pthread_mutex_unlock(&s->lock);
    return shutdown(s->fd, how) < 0 ? -errno : 0;
}

static void zs_tls_destroy(struct zs_sock *s)
{
    struct zs_tls *t = s->tls;
    if (t == NULL)
        return;
    if (t->dtls)
        zs_dtls_destroy(s);
    else if (!atomic_load(&s->closing))
        send_close_notify(s);
    free_handshake(t);
    zrec_session_free(t->zs);
    if (t->ctx)
        wolfSSL_CTX_free(t->ctx);
    free(t->hostname);
    free(t->rx);
    free(t->tx);
    free(t);
    s->tls = NULL;
}

static int zs_tls_fionread(struct zs_sock *s, int *avail)
{
    if (avail == NULL)
        return -EINVAL;
    if (s->tls->dtls)
        return zs_dtls_fionread(s, avail);
    pthread_mutex_lock(&s->lock);
    *avail = (int)s->tls->pend_len;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

static int64_t zs_tls_next_timer(struct zs_sock *s)
{
    return s->tls->dtls ? zs_dtls_next_timer(s) : -1;
}

static bool zs_tls_poll_passthrough(struct zs_sock *s)
{
    if (s->tls->dtls)
        return zs_dtls_poll_passthrough(s);
    pthread_mutex_lock(&s->lock);
    bool pass = s->tls->state == ST_LISTEN || s->tls->state == ST_IDLE;
    pthread_mutex_unlock(&s->lock);
    return pass;
}

static short zs_tls_poll_ready(struct zs_sock *s, short want, short *kev)
{
    struct zs_tls *t = s->tls;
    if (t->dtls)
        return zs_dtls_poll_ready(s, want, kev);
    short ready = 0;
    *kev = 0;
    pthread_mutex_lock(&s->lock);
    if (t->state == ST_LISTEN || t->state == ST_IDLE) {
        /* Listening, or not connected yet: the kernel says it all. */
        *kev = want;
        pthread_mutex_unlock(&s->lock);
        return 0;
    }
    if (t->state == ST_HANDSHAKE) {
        int rc = hs_step(s);
        if (rc == -EAGAIN) {
            *kev = t->hs_want;
            pthread_mutex_unlock(&s->lock);
            return 0;
        }
    }
    if (t->state == ST_FAILED) {
        pthread_mutex_unlock(&s->lock);
        return POLLERR;
    }
    if (want & POLLIN) {
        /* Pump: read and open until application data is pending. */
        while (!t->pend_len && !t->peer_closed && t->state == ST_OPEN) {
            bool data;
            ssize_t n = open_next(s, NULL, 0, &data);
            if (n == 0)
                continue;
            if (n != -EAGAIN)
                break;
            ssize_t r = fill_rx(s);
            if (r == 0)
                t->peer_closed = true;
            if (r < 0)
                break;
        }
        if (t->state == ST_FAILED)
            ready |= POLLERR;
        else if (t->pend_len)
            ready |= POLLIN;
        if (t->peer_closed)
            ready |= POLLHUP | (want & POLLIN);
        if (!(ready & (POLLIN | POLLHUP | POLLERR)))
            *kev |= POLLIN;
    }
    if (want & POLLOUT) {
        if (t->state == ST_OPEN && flush_tx(s) == 0)
            ready |= POLLOUT;
        else if (t->state == ST_OPEN)
            *kev |= POLLOUT;
    }
    pthread_mutex_unlock(&s->lock);
    return ready;
}

/* ---- options ------------------------------------------------------------ */

/* An array-of-int option (sec tags, IANA cipher-suite ids). */
static int set_int_list(int *dst, int *n, int max, const void *val, socklen_t len)
{
    if ((val == NULL && len) || len % sizeof(int) || len / sizeof(int) > (size_t)max)
        return -EINVAL;
    *n = (int)(len / sizeof(int));
    if (len)
        memcpy(dst, val, len);
    return 0;
}

static int get_int_opt(const void *val, socklen_t len, int *v)
{
    if (val == NULL || len != sizeof *v)
        return -EINVAL;
    memcpy(v, val, sizeof *v);
    return 0;
}

/* The DTLS options; they shape the next handshake (set them before
 * connect()/bind(), as in Zephyr). */
static int set_dtls_option(struct zs_tls *t, int name, const void *val, socklen_t len)
{
    int v;
    uint32_t ms;
    switch (name) {
    case TLS_DTLS_ROLE:
        if (get_int_opt(val, len, &v) < 0 ||
            (v != TLS_DTLS_ROLE_CLIENT && v != TLS_DTLS_ROLE_SERVER))
            return -EINVAL;
        if (t->state != ST_IDLE)
            return -EISCONN;
        t->server = v == TLS_DTLS_ROLE_SERVER;
        return 0;
    case TLS_DTLS_HANDSHAKE_TIMEOUT_MIN:
    case TLS_DTLS_HANDSHAKE_TIMEOUT_MAX:
        if (val == NULL || len != sizeof ms)
            return -EINVAL;
        memcpy(&ms, val, sizeof ms);
        if (ms == 0)
            return -EINVAL;
        if (name == TLS_DTLS_HANDSHAKE_TIMEOUT_MIN)
            t->hs_timeout_min = ms;
        else
            t->hs_timeout_max = ms;
        return 0;
    case TLS_DTLS_CID:
        if (get_int_opt(val, len, &v) < 0 || v < TLS_DTLS_CID_DISABLED ||
            v > TLS_DTLS_CID_ENABLED)
            return -EINVAL;
        /* wolfSSL 5.5.4 negotiates connection IDs for DTLS 1.3 only (RFC 9147
         * §9); the engine has DTLS 1.2's (RFC 9146) but no handshake can
         * agree on one (docs/DESIGN-NOTES.md §8). */
        if (v != TLS_DTLS_CID_DISABLED && t->version != 0x0304)
            return -EOPNOTSUPP;
        t->dtls_cid = v;
        return 0;
    case TLS_DTLS_CID_VALUE:
        /* wolfSSL caps connection IDs at 2 bytes (DTLS_CID_MAX_SIZE). */
        if ((val == NULL && len) || len > 2)
            return -EINVAL;
        memcpy(t->cid_value, val, len);
        t->cid_value_len = (int)len;
        return 0;
    }
    return -ENOPROTOOPT;
}

static int zs_tls_setsockopt(struct zs_sock *s, int name, const void *val, socklen_t len)
{
    struct zs_tls *t = s->tls;
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    switch (name) {
    case TLS_SEC_TAG_LIST: /* sec_tag_t is an int */
        rc = set_int_list(t->tags, &t->ntags, MAX_TAGS, val, len);
        break;
    case TLS_HOSTNAME:
        free(t->hostname);
        t->hostname = NULL;
        t->hostname_set = true;
        if (val && len) {
            t->hostname = strndup(val, len);
            if (t->hostname == NULL)
                rc = -ENOMEM;
        }
        break;
    case TLS_CIPHERSUITE_LIST:
        rc = set_int_list(t->ciphers, &t->nciphers, MAX_CIPHERS, val, len);
        break;
    case TLS_PEER_VERIFY: {
        int v;
        if (val == NULL || len != sizeof v)
            rc = -EINVAL;
        else if (memcpy(&v, val, sizeof v), v < TLS_PEER_VERIFY_NONE || v > TLS_PEER_VERIFY_REQUIRED)
            rc = -EINVAL;
        else
            t->peer_verify = v;
        break;
    }
    case TLS_ALPN_LIST: {
        /* Zephyr passes an array of NUL-terminated strings (a NULL-ended
         * array of pointers); wolfSSL wants "a,b,c". */
        const char *const *list = val;
        size_t pos = 0, n = len / sizeof(char *);
        t->alpn[0] = '\0';
        for (size_t i = 0; i < n && list && list[i]; i++) {
            size_t l = strlen(list[i]);
            if (pos + l + 2 > ALPN_MAX) {
                rc = -EINVAL;
                break;
            }
            if (pos)
                t->alpn[pos++] = ',';
            memcpy(t->alpn + pos, list[i], l + 1);
            pos += l;
        }
        break;
    }
    case TLS_SESSION_CACHE:
    case TLS_CERT_NOCOPY:
    case TLS_DTLS_HANDSHAKE_ON_CONNECT: {
        int v;
        if (val == NULL || len != sizeof v) {
            rc = -EINVAL;
            break;
        }
        memcpy(&v, val, sizeof v);
        if (name == TLS_SESSION_CACHE)
            t->session_cache = v;
        else if (name == TLS_CERT_NOCOPY)
            t->cert_nocopy = v;
        else
            t->handshake_on_connect = v;
        break;
    }
    case TLS_SESSION_CACHE_PURGE:
        cache_purge();
        break;
    case TLS_CERT_VERIFY_CALLBACK:
        /* struct zsock_tls_cert_verify_cb; cb is a zrec_tls_cert_verify_fn
         * (zrec/zsock_ext.h), NULL removes it. */
        if (val == NULL || len != sizeof t->verify_cb)
            rc = -EINVAL;
        else
            memcpy(&t->verify_cb, val, sizeof t->verify_cb);
        break;
    case TLS_DTLS_ROLE:
    case TLS_DTLS_HANDSHAKE_TIMEOUT_MIN:
    case TLS_DTLS_HANDSHAKE_TIMEOUT_MAX:
    case TLS_DTLS_CID:
    case TLS_DTLS_CID_VALUE:
        rc = t->dtls ? set_dtls_option(t, name, val, len) : -ENOPROTOOPT;
        break;
    default:
        rc = -ENOPROTOOPT;
        break;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int put_int_opt(void *val, socklen_t *len, int v)
{
    if (val == NULL || len == NULL || *len < sizeof v)
        return -EINVAL;
    memcpy(val, &v, sizeof v);
    *len = sizeof v;
    return 0;
}

static int zs_tls_getsockopt(struct zs_sock *s, int name, void *val, socklen_t *len)
{
    struct zs_tls *t = s->tls;
    int rc;
    pthread_mutex_lock(&s->lock);
    switch (name) {
    case TLS_SEC_TAG_LIST: {
        size_t need = (size_t)t->ntags * sizeof(sec_tag_t);
        if (val == NULL || len == NULL || *len < need)
            rc = -EINVAL;
        else {
            memcpy(val, t->tags, need);
            *len = (socklen_t)need;
            rc = 0;
        }
        break;
    }
    case TLS_CIPHERSUITE_LIST: {
        /* The list set, or the suites offered without one (Zephyr: all
         * that mbedTLS has). */
        int ids[128];
        const int *src = t->ciphers;
        int n = t->nciphers;
        if (n == 0) {
            uint16_t carried[128];
            n = zrec_wolfssl_suite_ids(carried, 128);
            for (int i = 0; i < n; i++)
                ids[i] = carried[i];
            src = ids;
        }
        size_t need = (size_t)n * sizeof(int);
        if (val == NULL || len == NULL || *len < need)
            rc = -EINVAL;
        else {
            memcpy(val, src, need);
            *len = (socklen_t)need;
            rc = 0;
        }
        break;
    }
    case TLS_CIPHERSUITE_USED:
        rc = t->state == ST_OPEN ? put_int_opt(val, len, t->cipher_used) : -ENOTCONN;
        break;
    case TLS_CERT_VERIFY_RESULT:
        rc = t->cert_verify_result >= 0 ? put_int_opt(val, len, t->cert_verify_result)
                                        : -ENOTCONN;
        break;
    case TLS_SESSION_CACHE:
        rc = put_int_opt(val, len, t->session_cache);
        break;
    case ZREC_TLS_SESSION_RESUMED:
        rc = t->state == ST_OPEN ? put_int_opt(val, len, t->resumed) : -ENOTCONN;
        break;
    case TLS_ALPN_LIST: {
        /* Zephyr's getsockopt(TLS_ALPN_LIST) returns the protocol the
         * handshake selected (mbedtls_ssl_get_alpn_protocol()). */
        size_t n = strlen(t->alpn_chosen);
        if (t->state != ST_OPEN)
            rc = -ENOTCONN;
        else if (val == NULL || len == NULL || *len < n + 1)
            rc = -EINVAL;
        else {
            memcpy(val, t->alpn_chosen, n + 1);
            *len = (socklen_t)n;
            rc = 0;
        }
        break;
    }
    default:
        rc = t->dtls ? zs_dtls_getsockopt(s, name, val, len) : -ENOPROTOOPT;
        break;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static const struct zs_ops tls_ops = {
    .connect = zs_tls_connect,
    .listen = zs_tls_listen,
    .accept = zs_tls_accept,
    .sendmsg = zs_tls_sendmsg,
    .recvmsg = zs_tls_recvmsg,
    .shutdown = zs_tls_shutdown,
    .destroy = zs_tls_destroy,
    .setsockopt = zs_tls_setsockopt,
    .getsockopt = zs_tls_getsockopt,
    .poll_ready = zs_tls_poll_ready,
    .poll_passthrough = zs_tls_poll_passthrough,
    .fionread = zs_tls_fionread,
    .next_timer = zs_tls_next_timer,
};
