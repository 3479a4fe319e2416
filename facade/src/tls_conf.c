/*
 * The SOL_TLS side both TLS socket kinds share (docs/FACADE.md): the
 * options and their defaults, and turning them into wolfSSL — context,
 * credentials (PEM with Zephyr's counted NUL, DER, PSK), verification and
 * TLS_CERT_VERIFY_CALLBACK, cipher list, SNI, ALPN — the client session
 * cache, and what a finished handshake reports to getsockopt().  The TLS
 * stream (tls_stream.c) and the DTLS socket (dtls.c) sit on it; it calls
 * neither.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "zrec/zsock_ext.h"
#include "zs_cookie.h"
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

/* A TLS socket's state with the options' defaults (those of Zephyr's
 * sockets_tls.c, and mbedTLS's DTLS timers). */
struct zs_tls *zs_tls_conf_new(int proto)
{
    struct zs_tls *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->dtls = zs_is_dtls_proto(proto);
    t->version = proto == IPPROTO_TLS_1_3 || proto == IPPROTO_DTLS_1_3 ? 0x0304 : 0x0303;
    t->peer_verify = -1;
    t->handshake_on_connect = 1;
    t->cert_verify_result = -1;
    t->cipher_used = -1;
    t->cid_value_len = -1;
    t->hs_timeout_min = 1000;
    t->hs_timeout_max = 60000;
    t->accept_hs_timeout_ms = ZREC_TLS_HANDSHAKE_TIMEOUT_DEFAULT_MS;
    t->hs_deadline = -1;
    static int initialised;
    if (!__atomic_exchange_n(&initialised, 1, __ATOMIC_ACQ_REL))
        wolfSSL_Init();
    return t;
}

/* What the options hold (the context, the hostname), and t itself. */
void zs_tls_conf_free(struct zs_tls *t)
{
    if (t == NULL)
        return;
    if (t->ctx)
        wolfSSL_CTX_free(t->ctx);
    wolfSSL_SESSION_free(t->session);
    free(t->hostname);
    free(t);
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
    /* Zephyr keeps TLS_SEC_TAG_LIST as given and fails the handshake with
     * ENOENT when it finds a tag with no credentials under it. */
    for (int i = 0; i < t->ntags; i++)
        if (!zs_cred_tag_known(t->tags[i]))
            return -ENOENT;
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

static int build_ctx(struct zs_tls *t)
{
    /* The method object is owned (and freed) by the context made of it:
     * make one only for a new context. */
    t->ctx = wolfSSL_CTX_new(method(t));
    if (t->ctx == NULL)
        return -ENOMEM;
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
    /* wolfSSL keeps the list's order (SetCipherList): the server's
     * preference, which the cookie exchange must know. */
    t->ctx_nsuites = 0;
    if (t->nciphers) {
        for (int i = 0; i < t->nciphers; i++)
            t->ctx_suites[t->ctx_nsuites++] = t->ciphers[i];
    } else {
        uint16_t ids[MAX_CIPHERS];
        int n = zrec_wolfssl_suite_ids(ids, MAX_CIPHERS);
        for (int i = 0; i < n; i++)
            t->ctx_suites[t->ctx_nsuites++] = ids[i];
    }
    if (t->dtls && t->server && t->version == 0x0304 &&
        wolfSSL_CTX_set_groups(t->ctx, (int *)zs_cookie_groups, ZS_COOKIE_NGROUPS) !=
            WOLFSSL_SUCCESS)
        return -EINVAL;
    return 0;
}

int zs_tls_make_ctx(struct zs_tls *t)
{
    if (t->ctx != NULL)
        return 0;
    int rc = build_ctx(t);
    if (rc < 0) {
        /* Half made (a tag without credentials, say): the next attempt
         * starts over rather than find a context without them. */
        wolfSSL_CTX_free(t->ctx);
        t->ctx = NULL;
    }
    return rc;
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
    /* A session the application asked for (ZREC_TLS_SESSION) wins over the
     * cache's.  One the server no longer knows, or an expired one, costs a
     * full handshake, not a failure (RFC 5246 §7.4.1.2, RFC 8446 §4.2.11). */
    if (!t->server && t->session)
        (void)wolfSSL_set_session(ssl, t->session);
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
    if (!t->server && !t->dtls && t->version == 0x0303) {
        /* ZREC_TLS_SESSION: a TLS 1.2 session is the handshake's (new or
         * resumed); the WOLFSSL object goes at the handoff, it stays. */
        wolfSSL_SESSION_free(t->session);
        t->session = wolfSSL_get1_session(ssl);
    }
}

/* ---- ZREC_TLS_SESSION ------------------------------------------------------
 *
 * A client's session, serialized for the application to keep: the TLS
 * version it belongs to (two bytes, RFC 8446 §4.1.2's ProtocolVersion),
 * then wolfSSL's own encoding of the session (wolfSSL_i2d_SSL_SESSION: the
 * master secret or, in TLS 1.3, the resumption secret with the ticket, its
 * nonce, age_add and lifetime, RFC 8446 §4.6.1).  The prefix lets a socket
 * refuse a session of the other version, which wolfSSL would take and then
 * offer in a handshake of the wrong version. */

#define SESSION_PREFIX 2

static int set_session(struct zs_tls *t, const void *val, socklen_t len)
{
    if (val == NULL || len == 0) {
        wolfSSL_SESSION_free(t->session);
        t->session = NULL;
        return 0;
    }
    const uint8_t *b = val;
    if (len <= SESSION_PREFIX || b[0] != (t->version >> 8) || b[1] != (t->version & 0xff))
        return -EINVAL;
    const unsigned char *p = b + SESSION_PREFIX;
    WOLFSSL_SESSION *sess = wolfSSL_d2i_SSL_SESSION(NULL, &p, (long)(len - SESSION_PREFIX));
    if (sess == NULL)
        return -EINVAL;
    wolfSSL_SESSION_free(t->session);
    t->session = sess;
    return 0;
}

static int get_session(struct zs_tls *t, void *val, socklen_t *len)
{
    if (t->server)
        return -EOPNOTSUPP; /* a server resumes its clients' sessions, it has none */
    if (t->state != ST_OPEN)
        return -ENOTCONN;
    if (len == NULL)
        return -EINVAL;
    /* TLS 1.3: the newest ticket the engine has opened (none before the
     * server sends one, RFC 8446 §4.6.1); TLS 1.2: the handshake's. */
    WOLFSSL_SESSION *sess = zrec_session_proto(t->zs) == ZREC_TLS13
                                ? zrec_wolfssl_get1_session(t->zs)
                                : t->session;
    if (sess == NULL)
        return -ENOENT;
    int rc = 0;
    int n = wolfSSL_i2d_SSL_SESSION(sess, NULL);
    size_t need = n > 0 ? (size_t)n + SESSION_PREFIX : 0;
    if (need == 0) {
        rc = -ENOENT;
    } else if (val == NULL || *len < need) {
        *len = (socklen_t)need; /* the size to ask with */
        rc = -EINVAL;
    } else {
        uint8_t *b = val;
        b[0] = (uint8_t)(t->version >> 8);
        b[1] = (uint8_t)t->version;
        unsigned char *p = b + SESSION_PREFIX;
        if (wolfSSL_i2d_SSL_SESSION(sess, &p) != n)
            rc = -EIO;
        else
            *len = (socklen_t)need;
    }
    if (sess != t->session)
        wolfSSL_SESSION_free(sess);
    return rc;
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
        if (len) /* memcpy from NULL is undefined even for 0 bytes (fuzz_sockopt) */
            memcpy(t->cid_value, val, len);
        t->cid_value_len = (int)len;
        return 0;
    }
    return -ENOPROTOOPT;
}

/* setsockopt(SOL_TLS, …) on either kind (the socket's lock held). */
int zs_tls_conf_set(struct zs_tls *t, int name, const void *val, socklen_t len)
{
    int rc = 0;
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
    case ZREC_TLS_HANDSHAKE_TIMEOUT: {
        int v;
        if (get_int_opt(val, len, &v) < 0 || v < 0)
            rc = -EINVAL;
        else
            t->accept_hs_timeout_ms = v;
        break;
    }
    case TLS_SESSION_CACHE_PURGE:
        cache_purge();
        break;
    case ZREC_TLS_SESSION:
        /* Before connect() (it shapes the ClientHello), TLS streams only: a
         * DTLS socket's peers each have their own. */
        if (t->dtls)
            rc = -ENOPROTOOPT;
        else if (t->state != ST_IDLE)
            rc = -EISCONN;
        else
            rc = set_session(t, val, len);
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

/* getsockopt(SOL_TLS, …) of what both kinds have (the socket's lock held);
 * -ENOPROTOOPT for the rest. */
int zs_tls_conf_get(struct zs_tls *t, int name, void *val, socklen_t *len)
{
    int rc;
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
    case ZREC_TLS_HANDSHAKE_TIMEOUT:
        rc = put_int_opt(val, len, t->accept_hs_timeout_ms);
        break;
    case ZREC_TLS_SESSION_RESUMED:
        rc = t->state == ST_OPEN ? put_int_opt(val, len, t->resumed) : -ENOTCONN;
        break;
    case ZREC_TLS_SESSION:
        rc = t->dtls ? -ENOPROTOOPT : get_session(t, val, len);
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
        rc = -ENOPROTOOPT;
        break;
    }
    return rc;
}

/* The ops entries for SOL_TLS (both kinds; the DTLS socket adds its CID
 * options to getsockopt). */
int zs_tls_setsockopt(struct zs_sock *s, int name, const void *val, socklen_t len)
{
    pthread_mutex_lock(&s->lock);
    int rc = zs_tls_conf_set(s->tls, name, val, len);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int zs_tls_getsockopt(struct zs_sock *s, int name, void *val, socklen_t *len)
{
    pthread_mutex_lock(&s->lock);
    int rc = zs_tls_conf_get(s->tls, name, val, len);
    pthread_mutex_unlock(&s->lock);
    return rc;
}
