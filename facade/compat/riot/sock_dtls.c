/*
 * RIOT's sock_dtls on Linux (docs/COMPAT.md): DTLS 1.2 (RFC 6347) and
 * DTLS 1.3 (RFC 9147) sessions over an application's sock_udp_t, as
 * net/sock/dtls.h defines them, over the facade's DTLS sockets.
 *
 * A sock_dtls_t is a zsock DTLS socket on a duplicate of the UDP sock's
 * kernel socket (zs_dtls_adopt): the same port, the facade's handshakes
 * (cookie exchange, retransmission, wolfSSL 5.5.4's DTLS 1.3 quirks) and
 * the engine's records.  What RIOT adds is done here:
 *
 * - Credentials come from credman by the sock's tags, chosen per handshake
 *   (ssl_hook(): wolfSSL's per-object PSK callbacks, certificate, key and
 *   verification), so tags added after sock_dtls_create() count, as on
 *   RIOT.  PSK identities follow RIOT's rules (the client callback, else
 *   the credential whose hint is the server's, else the first; the server
 *   finds the key by identity, RFC 4279 §2).
 * - ECDSA credentials are raw secp256r1 keys (RFC 7250 raw public keys on
 *   RIOT).  wolfSSL 5.5.4 has no raw public keys, so each side carries its
 *   key in a minimal self-signed certificate made from the credential and
 *   signed with it, and a peer is trusted only when its key is one of the
 *   credentials' client_keys: the same trust as RIOT's
 *   sock_dtls_verify_public_key, on certificates (RFC 7250 §1 describes
 *   this as the costlier carrier of the same key).
 * - A finished handshake is reported to the application as
 *   -SOCK_DTLS_HANDSHAKE (zs_dtls_report_handshakes), sessions are values
 *   (the peer's endpoint), and timeouts are microseconds.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The facade's internals (a relative path: facade/src is not on any
 * include path of the library's users, nor of its pkg-config files). */
#include "../../src/zs_dtls.h" /* wolfSSL's options.h before the rest of wolfSSL */

#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "riot.h"

#include "net/sock/dtls.h"

#undef sock_dtls_create /* the function of that name, below */

#define PLAIN_MAX ZREC_MAX_PLAINTEXT /* one record's application data (RFC 6347 §4.1.1) */

enum client_state { CL_NONE, CL_HANDSHAKE, CL_OPEN };

static bool live(const sock_dtls_t *sock)
{
    return sock && sock->magic == RIOT_DTLS_MAGIC;
}

/* RIOT's auto_init runs sock_dtls_init() at start-up (AUTO_INIT_PRIO_MOD_SOCK_DTLS);
 * so does loading this library. */
__attribute__((constructor)) static void riot_auto_init(void)
{
    sock_dtls_init();
}

void sock_dtls_init(void)
{
    (void)wolfSSL_Init(); /* counted: every call is matched by nobody's cleanup */
}

/* ---- credentials ---------------------------------------------------------------- */

/* The sock's first credential of a type in tag order, or the one `want`
 * names (a callback's choice) when the sock has it. */
static bool sock_cred(const sock_dtls_t *sock, credman_type_t type, credman_tag_t want,
                      credman_credential_t *c)
{
    for (unsigned i = 0; i < sock->tags_len; i++)
        if ((want == CREDMAN_TAG_EMPTY || sock->tags[i] == want) &&
            credman_get(c, sock->tags[i], type) == CREDMAN_OK)
            return true;
    return false;
}

/* The peer's endpoint as the application numbers families. */
static void peer_ep(const sock_dtls_t *sock, const struct sockaddr *sa, sock_udp_ep_t *ep)
{
    riot_sa_to_ep(sa, sock->udp_sock->riot_af, ep);
}

/* A client's PSK identity for the server's hint (RIOT's rules, above). */
static unsigned int psk_client(WOLFSSL *ssl, const char *hint, char *identity, unsigned int id_max,
                               unsigned char *key, unsigned int key_max)
{
    sock_dtls_t *sock = wolfSSL_get_psk_callback_ctx(ssl);
    if (sock == NULL)
        return 0;
    size_t hint_len = hint ? strlen(hint) : 0;
    credman_credential_t c;
    bool found = false;
    if (sock->client_psk_cb) {
        sock_udp_ep_t ep = sock->peer;
        credman_tag_t tag = sock->client_psk_cb(sock, &ep, sock->tags, sock->tags_len,
                                                hint_len ? hint : NULL, hint_len);
        found = tag != CREDMAN_TAG_EMPTY && credman_get(&c, tag, CREDMAN_TYPE_PSK) == CREDMAN_OK;
    }
    if (!found) {
        credman_credential_t first;
        bool have_first = false;
        for (unsigned i = 0; i < sock->tags_len && !found; i++) {
            if (credman_get(&c, sock->tags[i], CREDMAN_TYPE_PSK) != CREDMAN_OK)
                continue;
            if (!have_first) {
                first = c;
                have_first = true;
            }
            found = hint_len && c.params.psk.hint.len == hint_len &&
                    memcmp(c.params.psk.hint.s, hint, hint_len) == 0;
        }
        if (!found && have_first) {
            c = first;
            found = true;
        }
    }
    const psk_params_t *p = &c.params.psk;
    if (!found || p->id.len + 1 > id_max || p->key.len > key_max)
        return 0; /* no PSK: the handshake fails */
    if (p->id.len)
        memcpy(identity, p->id.s, p->id.len);
    identity[p->id.len] = '\0';
    memcpy(key, p->key.s, p->key.len);
    return (unsigned int)p->key.len;
}

/* A server finds the key by the client's identity (RFC 4279 §2). */
static unsigned int psk_server(WOLFSSL *ssl, const char *identity, unsigned char *key,
                               unsigned int key_max)
{
    sock_dtls_t *sock = wolfSSL_get_psk_callback_ctx(ssl);
    if (sock == NULL || identity == NULL)
        return 0;
    size_t n = strlen(identity);
    credman_credential_t c;
    for (unsigned i = 0; i < sock->tags_len; i++) {
        if (credman_get(&c, sock->tags[i], CREDMAN_TYPE_PSK) != CREDMAN_OK)
            continue;
        const psk_params_t *p = &c.params.psk;
        if (p->id.len == n && (n == 0 || memcmp(p->id.s, identity, n) == 0) &&
            p->key.len <= key_max) {
            memcpy(key, p->key.s, p->key.len);
            return (unsigned int)p->key.len;
        }
    }
    return 0; /* unknown identity: the handshake fails */
}

/* DTLS 1.3 binds a PSK to a hash (RFC 8446 §4.2.11): SHA-256's first suite. */
static unsigned int psk_client13(WOLFSSL *ssl, const char *hint, char *identity,
                                 unsigned int id_max, unsigned char *key, unsigned int key_max,
                                 const char **suite)
{
    *suite = "TLS13-AES128-GCM-SHA256";
    return psk_client(ssl, hint, identity, id_max, key, key_max);
}

static unsigned int psk_server13(WOLFSSL *ssl, const char *identity, unsigned char *key,
                                 unsigned int key_max, const char **suite)
{
    *suite = "TLS13-AES128-GCM-SHA256";
    return psk_server(ssl, identity, key, key_max);
}

/* ---- raw secp256r1 keys in certificates --------------------------------------------- */

/* SubjectPublicKeyInfo of a secp256r1 key (RFC 5480 §2): this prefix, then
 * the uncompressed point's x and y. */
static const uint8_t spki_p256[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                    0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                    0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04};
#define SPKI_LEN (sizeof spki_p256 + 64)

/* DER: tag, length, content; the bytes written. */
static size_t der(uint8_t *out, uint8_t tag, const uint8_t *content, size_t len)
{
    size_t h = 0;
    out[h++] = tag;
    if (len < 0x80) {
        out[h++] = (uint8_t)len;
    } else if (len < 0x100) {
        out[h++] = 0x81;
        out[h++] = (uint8_t)len;
    } else {
        out[h++] = 0x82;
        out[h++] = (uint8_t)(len >> 8);
        out[h++] = (uint8_t)len;
    }
    memmove(out + h, content, len);
    return h + len;
}

/* A self-signed X.509 v3 certificate (RFC 5280 §4.1) that carries the
 * credential's public key, signed with its private key (ecdsa-with-SHA256,
 * RFC 5758 §3.2) by wolfCrypt, and the key as an RFC 5915 ECPrivateKey.
 * Only the key means anything: the names and dates are fixed (a peer
 * trusts the key, not a chain). */
static int rpk_certificate(const ecdsa_params_t *k, uint8_t *cert, size_t *cert_len,
                           uint8_t *key, size_t *key_len)
{
    static const uint8_t version_serial_alg[] = {
        0xa0, 0x03, 0x02, 0x01, 0x02,                                     /* v3 */
        0x02, 0x01, 0x01,                                                 /* serial 1 */
        0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02}; /* ecdsa-with-SHA256 */
    static const uint8_t name[] = {0x30, 0x0e, 0x31, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55,
                                   0x04, 0x03, 0x0c, 0x03, 'r',  'p',  'k'}; /* CN=rpk */
    static const uint8_t validity[] = {0x30, 0x20, 0x17, 0x0d, '0', '0', '0', '1', '0', '1',
                                       '0',  '0',  '0',  '0',  '0', '0', 'Z', 0x18, 0x0f, '9',
                                       '9',  '9',  '9',  '1',  '2', '3', '1', '2',  '3',  '5',
                                       '9',  '5',  '9',  'Z'}; /* 2000 .. 9999 */
    uint8_t tbs_body[256], tbs[260], body[400], sig[80];
    size_t n = 0;
    memcpy(tbs_body + n, version_serial_alg, sizeof version_serial_alg);
    n += sizeof version_serial_alg;
    memcpy(tbs_body + n, name, sizeof name);
    n += sizeof name;
    memcpy(tbs_body + n, validity, sizeof validity);
    n += sizeof validity;
    memcpy(tbs_body + n, name, sizeof name);
    n += sizeof name;
    memcpy(tbs_body + n, spki_p256, sizeof spki_p256);
    memcpy(tbs_body + n + sizeof spki_p256, k->public_key.x, 32);
    memcpy(tbs_body + n + sizeof spki_p256 + 32, k->public_key.y, 32);
    n += SPKI_LEN;
    size_t tbs_len = der(tbs, 0x30, tbs_body, n);

    ecc_key ec;
    WC_RNG rng;
    uint8_t hash[WC_SHA256_DIGEST_SIZE];
    word32 sig_len = sizeof sig - 1; /* after the BIT STRING's first byte */
    if (wc_ecc_init(&ec) != 0)
        return -ENOMEM;
    int rc = -EINVAL;
    if (wc_InitRng(&rng) != 0) {
        wc_ecc_free(&ec);
        return -EIO;
    }
    if (wc_ecc_import_unsigned(&ec, k->public_key.x, k->public_key.y, k->private_key,
                               ECC_SECP256R1) == 0 &&
        wc_ecc_check_key(&ec) == 0 && wc_Sha256Hash(tbs, (word32)tbs_len, hash) == 0 &&
        wc_ecc_sign_hash(hash, sizeof hash, sig + 1, &sig_len, &rng, &ec) == 0)
        rc = 0;
    wc_FreeRng(&rng);
    wc_ecc_free(&ec);
    if (rc < 0 || sig_len > sizeof sig - 1)
        return -EINVAL; /* not a secp256r1 key pair */
    sig[0] = 0x00; /* the BIT STRING's unused bits */
    n = 0;
    memcpy(body, tbs, tbs_len);
    n += tbs_len;
    memcpy(body + n, version_serial_alg + 8, 12); /* signatureAlgorithm */
    n += 12;
    n += der(body + n, 0x03, sig, sig_len + 1);
    *cert_len = der(cert, 0x30, body, n);

    /* ECPrivateKey: version 1, the key, [0] the curve, [1] the public key. */
    uint8_t kb[160];
    size_t m = 0;
    kb[m++] = 0x02, kb[m++] = 0x01, kb[m++] = 0x01;
    kb[m++] = 0x04, kb[m++] = 0x20;
    memcpy(kb + m, k->private_key, 32);
    m += 32;
    static const uint8_t curve[] = {0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                    0xce, 0x3d, 0x03, 0x01, 0x07};
    memcpy(kb + m, curve, sizeof curve);
    m += sizeof curve;
    uint8_t pub[70];
    pub[0] = 0x03, pub[1] = 0x42, pub[2] = 0x00, pub[3] = 0x04;
    memcpy(pub + 4, k->public_key.x, 32);
    memcpy(pub + 36, k->public_key.y, 32);
    m += der(kb + m, 0xa1, pub, 68);
    *key_len = der(key, 0x30, kb, m);
    return 0;
}

/* Is the peer's key (its certificate's SubjectPublicKeyInfo) one the
 * sock's ECDSA credentials trust? */
static bool trusted_key(const sock_dtls_t *sock, const uint8_t *spki, size_t len)
{
    if (len != SPKI_LEN || memcmp(spki, spki_p256, sizeof spki_p256) != 0)
        return false;
    const uint8_t *x = spki + sizeof spki_p256, *y = x + 32;
    credman_credential_t c;
    for (unsigned i = 0; i < sock->tags_len; i++) {
        if (credman_get(&c, sock->tags[i], CREDMAN_TYPE_ECDSA) != CREDMAN_OK)
            continue;
        const ecdsa_params_t *e = &c.params.ecdsa;
        for (size_t j = 0; j < e->client_keys_size; j++)
            if (e->client_keys[j].x && e->client_keys[j].y &&
                memcmp(e->client_keys[j].x, x, 32) == 0 && memcmp(e->client_keys[j].y, y, 32) == 0)
                return true;
    }
    return false;
}

/* The peer's certificate: trusted when its key is (the names, dates and
 * issuer do not matter: there is no chain, RFC 7250 §3).  wolfSSL calls
 * this for every certificate (WOLFSSL_ALWAYS_VERIFY_CB); the peer's own,
 * depth 0, decides. */
static int verify_key(int preverify, WOLFSSL_X509_STORE_CTX *store)
{
    (void)preverify;
    struct zs_sock *s = store->userCtx;
    const sock_dtls_t *sock = s && s->tls ? s->tls->ssl_hook_arg : NULL;
    if (sock == NULL || store->current_cert == NULL)
        return 0;
    if (store->error_depth > 0)
        return 1;
    uint8_t spki[256];
    int len = sizeof spki;
    if (wolfSSL_X509_get_pubkey_buffer(store->current_cert, spki, &len) != WOLFSSL_SUCCESS)
        return 0;
    return trusted_key(sock, spki, (size_t)len) ? 1 : 0;
}

/* The sock's say on each new wolfSSL object (the facade's ssl_hook): the
 * credentials for a handshake with `peer`, and the suites they allow. */
static int ssl_hook(void *arg, WOLFSSL *ssl, const struct sockaddr *peer, socklen_t len)
{
    (void)len;
    sock_dtls_t *sock = arg;
    bool server = sock->role == SOCK_DTLS_SERVER;
    credman_credential_t c;
    bool psk = sock_cred(sock, CREDMAN_TYPE_PSK, CREDMAN_TAG_EMPTY, &c);
    bool ecdsa = false;
    credman_tag_t want = CREDMAN_TAG_EMPTY;
    if (sock->rpk_cb) {
        sock_udp_ep_t ep;
        peer_ep(sock, peer, &ep);
        want = sock->rpk_cb(sock, &ep, sock->tags, sock->tags_len);
    }
    ecdsa = (want != CREDMAN_TAG_EMPTY && sock_cred(sock, CREDMAN_TYPE_ECDSA, want, &c)) ||
            sock_cred(sock, CREDMAN_TYPE_ECDSA, CREDMAN_TAG_EMPTY, &c);
    if (!psk && !ecdsa)
        return -ENOENT; /* nothing to authenticate with: no handshake */
    (void)wolfSSL_set_psk_callback_ctx(ssl, sock);
    if (psk && server) {
        wolfSSL_set_psk_server_callback(ssl, psk_server);
        wolfSSL_set_psk_server_tls13_callback(ssl, psk_server13);
        if (sock->psk_hint[0] && wolfSSL_use_psk_identity_hint(ssl, sock->psk_hint) !=
                                     WOLFSSL_SUCCESS)
            return -EINVAL;
    } else if (psk) {
        wolfSSL_set_psk_client_callback(ssl, psk_client);
        wolfSSL_set_psk_client_tls13_callback(ssl, psk_client13);
    }
    if (ecdsa) {
        uint8_t cert[512], key[160];
        size_t cert_len, key_len;
        int rc = rpk_certificate(&c.params.ecdsa, cert, &cert_len, key, &key_len);
        if (rc < 0)
            return rc;
        if (wolfSSL_use_certificate_buffer(ssl, cert, (long)cert_len, WOLFSSL_FILETYPE_ASN1) !=
                WOLFSSL_SUCCESS ||
            wolfSSL_use_PrivateKey_buffer(ssl, key, (long)key_len, WOLFSSL_FILETYPE_ASN1) !=
                WOLFSSL_SUCCESS)
            return -EINVAL;
    }
    /* Whatever the credentials, a handshake that is not a PSK one is
     * authenticated by a trusted key: both sides show theirs and check the
     * other's (a server asks for the client's: CertificateRequest).  A sock
     * with PSKs only thus refuses a certificate it has no key to check
     * against (a DTLS 1.3 server that does not know the PSK identity may
     * offer one instead, RFC 8446 §4.2.11). */
    wolfSSL_set_verify(ssl, WOLFSSL_VERIFY_PEER | WOLFSSL_VERIFY_FAIL_EXCEPT_PSK, verify_key);
    /* The PSK callbacks reset the object's suites (wolfSSL InitSuites):
     * set them again.  DTLS 1.3 suites do not depend on the credentials
     * (and the cookie exchange answered with the context's order). */
    char list[1024];
    if (sock->version == SOCK_DTLS_1_3) {
        if (zrec_wolfssl_cipher_list(list, sizeof list) <= 0)
            return -EINVAL;
    } else {
        /* AES-GCM first; AES-CCM-8 too, the suites RIOT's tinydtls speaks
         * (RFC 6655, RFC 7251). */
        snprintf(list, sizeof list, "%s%s%s",
                 psk ? "PSK-AES128-GCM-SHA256:PSK-CHACHA20-POLY1305:PSK-AES128-CCM-8" : "",
                 psk && ecdsa ? ":" : "",
                 ecdsa ? "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:"
                         "ECDHE-ECDSA-AES128-CCM-8"
                       : "");
    }
    return wolfSSL_set_cipher_list(ssl, list) == WOLFSSL_SUCCESS ? 0 : -EINVAL;
}

/* ---- the sock ------------------------------------------------------------------ */

/* The zsock DTLS socket on the UDP sock's port: a duplicate of its kernel
 * socket (the sock stays the application's).  0 or a negative errno. */
static int open_dtls(sock_dtls_t *sock)
{
    sock_udp_t *udp = sock->udp_sock;
    if (udp->magic != RIOT_UDP_MAGIC || udp->fd < 0)
        return -EADDRNOTAVAIL;
    int kfd = fcntl(udp->fd, F_DUPFD_CLOEXEC, 0);
    if (kfd < 0)
        return -ENOMEM;
    int fd = zs_dtls_adopt(kfd, udp->family,
                           sock->version == SOCK_DTLS_1_3 ? IPPROTO_DTLS_1_3 : IPPROTO_DTLS_1_2);
    if (fd < 0)
        return fd;
    int role = sock->role == SOCK_DTLS_SERVER ? ZSOCK_TLS_DTLS_ROLE_SERVER
                                              : ZSOCK_TLS_DTLS_ROLE_CLIENT;
    int none = ZSOCK_TLS_PEER_VERIFY_NONE; /* ssl_hook() decides, per handshake */
    if (zsock_setsockopt(fd, ZSOCK_SOL_TLS, ZSOCK_TLS_DTLS_ROLE, &role, sizeof role) < 0 ||
        zsock_setsockopt(fd, ZSOCK_SOL_TLS, ZSOCK_TLS_PEER_VERIFY, &none, sizeof none) < 0 ||
        zsock_fcntl(fd, ZVFS_F_SETFL, O_NONBLOCK) < 0) {
        zsock_close(fd);
        return -ENOMEM;
    }
    struct zs_sock *s = zs_get(fd);
    if (s == NULL)
        return -EBADF;
    pthread_mutex_lock(&s->lock);
    s->tls->ssl_hook = ssl_hook;
    s->tls->ssl_hook_arg = sock;
    /* wolfSSL makes no server object of a context with neither a key nor
     * PSK; the keys come per handshake (ssl_hook), so the context says
     * PSK (a callback that knows no identity until the hook sets its
     * context). */
    int rc = zs_tls_make_ctx(s->tls);
    if (rc == 0 && sock->role == SOCK_DTLS_SERVER)
        wolfSSL_CTX_set_psk_server_callback(s->tls->ctx, psk_server);
    pthread_mutex_unlock(&s->lock);
    zs_put(s);
    if (rc < 0) {
        zsock_close(fd);
        return rc;
    }
    zs_dtls_report_handshakes(fd, true);
    sock->fd = fd;
    return 0;
}

int zrec_sock_dtls_create(sock_dtls_t *sock, sock_udp_t *udp_sock, credman_tag_t tag,
                          unsigned version, unsigned role, unsigned tags_max, unsigned hint_max)
{
    /* DTLS 1.0 is gone (RFC 8996); wolfSSL here speaks 1.2 and 1.3. */
    if (sock == NULL || udp_sock == NULL || udp_sock->magic != RIOT_UDP_MAGIC ||
        (version != SOCK_DTLS_1_2 && version != SOCK_DTLS_1_3) ||
        (role != SOCK_DTLS_CLIENT && role != SOCK_DTLS_SERVER))
        return -1;
    memset(sock, 0, sizeof *sock);
    sock->udp_sock = udp_sock;
    sock->fd = -1;
    sock->version = version;
    sock->role = role;
    sock->tags_max = tags_max < 1 ? 1 : tags_max > 16 ? 16 : tags_max;
    sock->hint_max = hint_max > 128 ? 128 : hint_max;
    if (tag != CREDMAN_TAG_EMPTY)
        sock->tags[sock->tags_len++] = tag;
    /* A server answers from its port at once; a bound port is needed (a
     * sock without one gets -EADDRNOTAVAIL from recv, as on RIOT). */
    if (role == SOCK_DTLS_SERVER && udp_sock->fd >= 0 && open_dtls(sock) < 0)
        return -1;
    sock->magic = RIOT_DTLS_MAGIC;
    return 0;
}

int(sock_dtls_create)(sock_dtls_t *sock, sock_udp_t *udp_sock, credman_tag_t tag,
                      unsigned version, unsigned role)
{
    return zrec_sock_dtls_create(sock, udp_sock, tag, version, role, 4, 32); /* RIOT's defaults */
}

sock_udp_t *sock_dtls_get_udp_sock(sock_dtls_t *sock)
{
    return live(sock) ? sock->udp_sock : NULL;
}

/* The client's session ends: close_notify if it was open, and the socket
 * goes; its UDP sock is no longer connected to the server. */
static void client_end(sock_dtls_t *sock)
{
    if (sock->fd < 0)
        return;
    struct sockaddr_storage sa;
    socklen_t len;
    if (riot_ep_to_sa(&sock->peer, sock->udp_sock->family, false, false, &sa, &len) == 0)
        (void)zs_dtls_close_peer(sock->fd, (struct sockaddr *)&sa, len);
    zsock_close(sock->fd);
    sock->fd = -1;
    sock->client_state = CL_NONE;
    sock_udp_t *udp = sock->udp_sock;
    if (udp->magic == RIOT_UDP_MAGIC && udp->fd >= 0) {
        /* The client's socket connected the kernel socket they share;
         * undone, it takes datagrams from anyone again.  Linux forgets an
         * ephemeral port on that (udp_disconnect): the sock keeps its own. */
        struct sockaddr_storage local, now;
        socklen_t ll = sizeof local, nl = sizeof now;
        struct sockaddr unspec = {.sa_family = AF_UNSPEC};
        if (getsockname(udp->fd, (struct sockaddr *)&local, &ll) == 0 &&
            connect(udp->fd, &unspec, sizeof unspec) == 0 &&
            getsockname(udp->fd, (struct sockaddr *)&now, &nl) == 0 &&
            memcmp(&local, &now, ll) != 0) {
            /* The address it had before the connect: the port, any address. */
            if (local.ss_family == AF_INET)
                ((struct sockaddr_in *)&local)->sin_addr.s_addr = 0;
            else
                memset(&((struct sockaddr_in6 *)&local)->sin6_addr, 0, 16);
            (void)bind(udp->fd, (struct sockaddr *)&local, ll);
        }
    }
}

void sock_dtls_close(sock_dtls_t *sock)
{
    if (!live(sock))
        return;
    if (sock->role == SOCK_DTLS_CLIENT)
        client_end(sock);
    else if (sock->fd >= 0)
        zsock_close(sock->fd); /* close_notify to every session */
    free(sock->rx_buf);
    memset(sock, 0, sizeof *sock);
    sock->fd = -1;
}

int sock_dtls_session_init(sock_dtls_t *sock, const sock_udp_ep_t *ep,
                           sock_dtls_session_t *remote)
{
    if (!live(sock) || ep == NULL || remote == NULL)
        return -EINVAL;
    sock_udp_t *udp = sock->udp_sock;
    struct sockaddr_storage sa, local;
    socklen_t len, llen = sizeof local;
    int rc = riot_ep_to_sa(ep, udp->fd >= 0 ? udp->family : AF_INET6, true, true, &sa, &len);
    if (rc < 0)
        return -EINVAL;
    if (udp->magic != RIOT_UDP_MAGIC || udp->fd < 0 ||
        getsockname(udp->fd, (struct sockaddr *)&local, &llen) < 0 ||
        (local.ss_family == AF_INET ? ((struct sockaddr_in *)&local)->sin_port
                                    : ((struct sockaddr_in6 *)&local)->sin6_port) == 0)
        return -EADDRNOTAVAIL;
    if (sa.ss_family != udp->family || sock->role != SOCK_DTLS_CLIENT)
        return -EINVAL; /* the server role answers; it does not call */
    if (sock->client_state != CL_NONE) {
        if (riot_ep_same(ep, &sock->peer)) {
            remote->ep = sock->peer;
            return 0; /* that session is there (or on its way) */
        }
        return -ENOMEM; /* one peer per client sock (RIOT's CONFIG_DTLS_PEER_MAX) */
    }
    if ((rc = open_dtls(sock)) < 0)
        return rc == -EADDRNOTAVAIL ? rc : -ENOMEM;
    sock->peer = *ep;
    /* Non-blocking: the ClientHello goes now; recv() drives the rest. */
    if (zsock_connect(sock->fd, (struct sockaddr *)&sa, len) < 0 && errno != EINPROGRESS) {
        zsock_close(sock->fd);
        sock->fd = -1;
        return -ENOMEM;
    }
    sock->client_state = CL_HANDSHAKE;
    remote->ep = *ep;
    return 1;
}

void sock_dtls_session_destroy(sock_dtls_t *sock, sock_dtls_session_t *remote)
{
    if (!live(sock) || remote == NULL || sock->fd < 0)
        return;
    if (sock->role == SOCK_DTLS_CLIENT) {
        if (riot_ep_same(&remote->ep, &sock->peer))
            client_end(sock);
        return;
    }
    struct sockaddr_storage sa;
    socklen_t len;
    if (riot_ep_to_sa(&remote->ep, sock->udp_sock->family, true, true, &sa, &len) == 0)
        (void)zs_dtls_close_peer(sock->fd, (struct sockaddr *)&sa, len);
}

void sock_dtls_session_get_udp_ep(const sock_dtls_session_t *session, sock_udp_ep_t *ep)
{
    if (session && ep)
        *ep = session->ep;
}

void sock_dtls_session_set_udp_ep(sock_dtls_session_t *session, const sock_udp_ep_t *ep)
{
    if (session && ep)
        session->ep = *ep;
}

/* ---- records ------------------------------------------------------------------- */

/* Wait for the socket until the deadline: 0, or -ETIMEDOUT. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    int ms = riot_poll_ms(deadline);
    if (ms == 0)
        return -ETIMEDOUT;
    struct zsock_pollfd p = {.fd = fd, .events = events};
    if (zsock_poll(&p, 1, ms) < 0 && errno != EINTR)
        return -errno;
    return 0;
}

ssize_t sock_dtls_recv_aux(sock_dtls_t *sock, sock_dtls_session_t *remote, void *data,
                           size_t maxlen, uint32_t timeout, sock_dtls_aux_rx_t *aux)
{
    (void)aux; /* no auxiliary data: its flags stay set */
    if (!live(sock) || remote == NULL || (data == NULL && maxlen))
        return -EINVAL;
    if (sock->fd < 0) {
        if (sock->role == SOCK_DTLS_CLIENT)
            return -ENOTCONN; /* no session_init(), nothing to receive */
        int rc = open_dtls(sock);
        if (rc < 0)
            return rc;
    }
    int64_t deadline = riot_deadline(timeout);
    for (;;) {
        struct sockaddr_storage from;
        struct iovec iov = {.iov_base = data, .iov_len = maxlen};
        struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
                             .msg_iovlen = 1};
        ssize_t n = zsock_recvmsg(sock->fd, &msg, ZSOCK_MSG_DONTWAIT);
        if (n >= 0 && (msg.msg_flags & ZS_MSG_HANDSHAKE)) {
            peer_ep(sock, (struct sockaddr *)&from, &remote->ep);
            if (sock->role == SOCK_DTLS_CLIENT)
                sock->client_state = CL_OPEN;
            return -SOCK_DTLS_HANDSHAKE;
        }
        if (n > 0 || (n == 0 && sock->role == SOCK_DTLS_SERVER)) {
            if (msg.msg_flags & MSG_TRUNC)
                return -ENOBUFS; /* the record is dropped, as RIOT's tinydtls does */
            peer_ep(sock, (struct sockaddr *)&from, &remote->ep);
            if (sock->role == SOCK_DTLS_CLIENT)
                remote->ep = sock->peer;
            return n;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
            /* A client's session ended: the server's close_notify (0), a
             * failed handshake (ECONNABORTED), nobody there (ECONNREFUSED),
             * the handshake's time is up (ETIMEDOUT). */
            int e = n == 0 ? ENOTCONN : errno;
            if (sock->role == SOCK_DTLS_CLIENT)
                client_end(sock);
            return -e;
        }
        if (timeout == 0)
            return -EAGAIN;
        int rc = wait_fd(sock->fd, ZSOCK_POLLIN, deadline);
        if (rc < 0)
            return rc;
    }
}

ssize_t sock_dtls_recv_buf_aux(sock_dtls_t *sock, sock_dtls_session_t *remote, void **data,
                               void **buf_ctx, uint32_t timeout, sock_dtls_aux_rx_t *aux)
{
    if (!live(sock) || data == NULL || buf_ctx == NULL)
        return -EINVAL;
    int rc = riot_lend_begin(data, buf_ctx, &sock->rx_buf, PLAIN_MAX);
    if (rc <= 0)
        return rc;
    ssize_t n = sock_dtls_recv_aux(sock, remote, sock->rx_buf, PLAIN_MAX, timeout, aux);
    if (n > 0) /* a record (not -SOCK_DTLS_HANDSHAKE or an error) */
        riot_lend(data, buf_ctx, sock->rx_buf);
    return n;
}

/* A client's session with ep, made within the deadline (the handshake is
 * driven here: poll() runs it).  0, -ENOTCONN (timeout 0), -ETIMEDOUT, or
 * the handshake's failure. */
static int client_session(sock_dtls_t *sock, const sock_udp_ep_t *ep, uint32_t timeout)
{
    if (sock->client_state == CL_OPEN && riot_ep_same(ep, &sock->peer))
        return 0;
    if (timeout == 0)
        return -ENOTCONN; /* no session, and no time to make one */
    sock_dtls_session_t s;
    int rc = sock_dtls_session_init(sock, ep, &s);
    if (rc < 0)
        return rc;
    int64_t deadline = riot_deadline(timeout);
    for (;;) {
        struct zsock_pollfd p = {.fd = sock->fd, .events = ZSOCK_POLLOUT};
        int ms = riot_poll_ms(deadline);
        int n = zsock_poll(&p, 1, ms);
        if (n > 0 && (p.revents & ZSOCK_POLLOUT))
            return 0; /* open: the next recv() reports -SOCK_DTLS_HANDSHAKE */
        if (n > 0 && (p.revents & (ZSOCK_POLLERR | ZSOCK_POLLHUP))) {
            int err = ECONNABORTED;
            socklen_t el = sizeof err;
            (void)zsock_getsockopt(sock->fd, ZSOCK_SOL_SOCKET, ZSOCK_SO_ERROR, &err, &el);
            client_end(sock);
            return -(err ? err : ECONNABORTED);
        }
        if (ms == 0 || (n == 0 && riot_poll_ms(deadline) == 0)) {
            client_end(sock); /* RIOT resets the peer whose handshake timed out */
            return -ETIMEDOUT;
        }
    }
}

ssize_t sock_dtls_sendv_aux(sock_dtls_t *sock, sock_dtls_session_t *remote,
                            const iolist_t *snips, uint32_t timeout, sock_dtls_aux_tx_t *aux)
{
    (void)aux;
    if (!live(sock) || remote == NULL)
        return -EINVAL;
    struct sockaddr_storage sa;
    socklen_t len;
    int dflt = sock->udp_sock->fd >= 0 ? sock->udp_sock->family : AF_INET6;
    int rc = riot_ep_to_sa(&remote->ep, dflt, true, true, &sa, &len);
    if (rc < 0)
        return rc;
    struct iovec iov[64];
    size_t total;
    int n = riot_iolist_iov(snips, iov, 64, &total);
    if (n < 0)
        return n;
    if (total > PLAIN_MAX)
        return -ENOMEM; /* more than one record holds (RFC 6347 §4.1.1) */
    if (sock->role == SOCK_DTLS_CLIENT) {
        if ((rc = client_session(sock, &remote->ep, timeout)) < 0)
            return rc;
    } else if (sock->fd < 0) {
        return -EADDRINUSE; /* the UDP sock has no port */
    }
    struct msghdr msg = {.msg_name = sock->role == SOCK_DTLS_SERVER ? &sa : NULL,
                         .msg_namelen = sock->role == SOCK_DTLS_SERVER ? len : 0,
                         .msg_iov = iov,
                         .msg_iovlen = (size_t)n};
    int64_t deadline = riot_deadline(timeout == 0 ? 1000000 : timeout);
    for (;;) {
        ssize_t sent = zsock_sendmsg(sock->fd, &msg, ZSOCK_MSG_DONTWAIT);
        if (sent >= 0)
            return sent;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno; /* ENOTCONN: no session with that peer */
        if ((rc = wait_fd(sock->fd, ZSOCK_POLLOUT, deadline)) < 0)
            return rc;
    }
}

/* ---- credentials of the sock (net/sock/dtls/creds.h) ----------------------------- */

int sock_dtls_set_server_psk_id_hint(sock_dtls_t *sock, const char *hint)
{
    if (!live(sock) || hint == NULL)
        return -1;
    size_t n = strlen(hint);
    if (n > sock->hint_max) /* RIOT: CONFIG_DTLS_PSK_ID_HINT_MAX_SIZE */
        return -1;
    memcpy(sock->psk_hint, hint, n + 1);
    return 0;
}

int sock_dtls_add_credential(sock_dtls_t *sock, credman_tag_t tag)
{
    if (!live(sock) || sock->tags_len >= sock->tags_max)
        return -1;
    sock->tags[sock->tags_len++] = tag;
    return 0;
}

int sock_dtls_remove_credential(sock_dtls_t *sock, credman_tag_t tag)
{
    if (!live(sock))
        return -1;
    for (unsigned i = 0; i < sock->tags_len; i++)
        if (sock->tags[i] == tag) {
            memmove(&sock->tags[i], &sock->tags[i + 1],
                    (sock->tags_len - i - 1) * sizeof sock->tags[0]);
            sock->tags_len--;
            return 0;
        }
    return -1;
}

size_t sock_dtls_get_credentials(sock_dtls_t *sock, const credman_tag_t **out)
{
    if (!live(sock) || out == NULL)
        return 0;
    *out = sock->tags;
    return sock->tags_len;
}

void sock_dtls_set_client_psk_cb(sock_dtls_t *sock, sock_dtls_client_psk_cb_t cb)
{
    if (live(sock))
        sock->client_psk_cb = cb;
}

void sock_dtls_set_rpk_cb(sock_dtls_t *sock, sock_dtls_rpk_cb_t cb)
{
    if (live(sock))
        sock->rpk_cb = cb;
}
