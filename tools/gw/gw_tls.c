/*
 * zrec-gw's wolfSSL side: one WOLFSSL_CTX per certificate pair, chosen by
 * the ClientHello's SNI; the suites offered are those the engine carries;
 * TLS 1.3 session tickets (wolfSSL's rotating keys, or a HAProxy-style key
 * file shared by a fleet).  A set of contexts is reference-counted so that
 * SIGHUP swaps in a new one while handshakes in progress finish on the old.
 */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/coding.h>
#include <wolfssl/wolfcrypt/random.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zrec/wolfssl.h>

#include "gw.h"

struct gw_cert {
    WOLFSSL_CTX *ctx;
    WOLFSSL_X509 *x509; /* for matching SNI against its names */
};

/* HAProxy tls-ticket-keys: each line one base64 key of 48 bytes (16 name,
 * 16 AES-128 key, 16 HMAC key) or 80 bytes (16 name, 32 AES-256, 32 HMAC).
 * HAProxy encrypts with the second-to-last... see ticket_enc_index(). */
#define GW_MAX_TICKET_KEYS 8
struct gw_ticket_key {
    uint8_t name[16];
    uint8_t aes[32];
    uint8_t aes_len;
};

struct gw_tls {
    _Atomic int refs;
    int ncert;
    struct gw_cert cert[GW_MAX_CERTS];
    char alpn[256];
    int nkeys;
    struct gw_ticket_key keys[GW_MAX_TICKET_KEYS];
    WC_RNG rng;
    bool rng_ok;
};

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gw_tls *current;

/* ---------------------------------------------------------------------- */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            char *b = realloc(buf, cap * 2 + 1);
            if (b == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = 0;
        *len = n;
    }
    return buf;
}

/* The key file: one base64 key per line; blank lines and '#' comments
 * skipped. */
static int load_ticket_keys(struct gw_tls *t, const char *path)
{
    size_t len;
    char *text = read_file(path, &len);
    if (text == NULL) {
        fprintf(stderr, "zrec-gw: --ticket-keys %s: %s\n", path, strerror(errno));
        return -1;
    }
    int lineno = 0, rc = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        lineno++;
        while (*line == ' ' || *line == '\t')
            line++;
        size_t l = strcspn(line, "\r \t");
        if (l == 0 || line[0] == '#')
            continue;
        uint8_t raw[128];
        word32 rl = sizeof raw;
        if (Base64_Decode((const byte *)line, (word32)l, raw, &rl) != 0 || (rl != 48 && rl != 80)) {
            fprintf(stderr, "zrec-gw: --ticket-keys %s:%d: not a base64 key of 48 or 80 bytes\n",
                    path, lineno);
            rc = -1;
            break;
        }
        if (t->nkeys == GW_MAX_TICKET_KEYS) {
            /* Keep the newest: drop the oldest (HAProxy keeps a window too). */
            memmove(t->keys, t->keys + 1, sizeof t->keys[0] * (GW_MAX_TICKET_KEYS - 1));
            t->nkeys--;
        }
        struct gw_ticket_key *k = &t->keys[t->nkeys++];
        memcpy(k->name, raw, 16);
        k->aes_len = rl == 48 ? 16 : 32;
        memcpy(k->aes, raw + 16, k->aes_len);
        explicit_bzero(raw, sizeof raw);
    }
    explicit_bzero(text, len);
    free(text);
    if (rc == 0 && t->nkeys == 0) {
        fprintf(stderr, "zrec-gw: --ticket-keys %s: no key\n", path);
        rc = -1;
    }
    return rc;
}

/* HAProxy encrypts new tickets with the second key of its three-key window
 * (previous, current, next): with a file of N keys, keys[N-2]; all keys
 * decrypt.  So a fleet that rolls the file (append one, drop the oldest)
 * never meets a ticket it cannot open. */
static int ticket_enc_index(const struct gw_tls *t)
{
    return t->nkeys >= 2 ? t->nkeys - 2 : 0;
}

/* wolfSSL's ticket callback.  The ticket body is sealed with AES-GCM under
 * the key file's AES key (the 16-byte tag in mac[], key name and IV as
 * AAD), so the HMAC half of each key is not needed. */
static int ticket_cb(WOLFSSL *ssl, unsigned char key_name[WOLFSSL_TICKET_NAME_SZ],
                     unsigned char iv[WOLFSSL_TICKET_IV_SZ],
                     unsigned char mac[WOLFSSL_TICKET_MAC_SZ], int enc, unsigned char *ticket,
                     int in_len, int *out_len, void *arg)
{
    (void)ssl;
    struct gw_tls *t = arg;
    const struct gw_ticket_key *k = NULL;
    if (enc) {
        k = &t->keys[ticket_enc_index(t)];
        memcpy(key_name, k->name, 16);
        if (!t->rng_ok || wc_RNG_GenerateBlock(&t->rng, iv, 12) != 0)
            return WOLFSSL_TICKET_RET_FATAL;
        memset(iv + 12, 0, WOLFSSL_TICKET_IV_SZ - 12);
    } else {
        for (int i = 0; i < t->nkeys && k == NULL; i++)
            if (memcmp(t->keys[i].name, key_name, 16) == 0)
                k = &t->keys[i];
        if (k == NULL)
            return WOLFSSL_TICKET_RET_REJECT; /* unknown key: full handshake */
    }
    uint8_t aad[32];
    memcpy(aad, key_name, 16);
    memcpy(aad + 16, iv, 16);
    Aes aes;
    int rc = wc_AesInit(&aes, NULL, INVALID_DEVID);
    if (rc == 0)
        rc = wc_AesGcmSetKey(&aes, k->aes, k->aes_len);
    if (rc == 0 && enc)
        rc = wc_AesGcmEncrypt(&aes, ticket, ticket, (word32)in_len, iv, 12, mac, 16, aad,
                              sizeof aad);
    else if (rc == 0)
        rc = wc_AesGcmDecrypt(&aes, ticket, ticket, (word32)in_len, iv, 12, mac, 16, aad,
                              sizeof aad);
    wc_AesFree(&aes);
    if (rc != 0)
        return enc ? WOLFSSL_TICKET_RET_FATAL : WOLFSSL_TICKET_RET_REJECT;
    if (enc)
        memset(mac + 16, 0, WOLFSSL_TICKET_MAC_SZ - 16);
    *out_len = in_len;
    /* A ticket under an older key still resumes, and is renewed (RFC 5077 §3.3). */
    return !enc && k != &t->keys[ticket_enc_index(t)] ? WOLFSSL_TICKET_RET_CREATE
                                                      : WOLFSSL_TICKET_RET_OK;
}

static int load_pair(struct gw_tls *t, struct gw_cert *c, const struct gw_opts *o, int i)
{
    WOLFSSL_METHOD *m;
    if (strcmp(o->proto, "tls1.2") == 0)
        m = wolfTLSv1_2_server_method();
    else if (strcmp(o->proto, "tls1.3") == 0)
        m = wolfTLSv1_3_server_method();
    else
        m = wolfSSLv23_server_method();
    c->ctx = wolfSSL_CTX_new(m);
    if (c->ctx == NULL)
        return -1;
    if (strcmp(o->proto, "any") == 0)
        wolfSSL_CTX_SetMinVersion(c->ctx, WOLFSSL_TLSV1_2);
    if (o->crypto_dev >= 0)
        wolfSSL_CTX_SetDevId(c->ctx, o->crypto_dev);
    if (wolfSSL_CTX_use_certificate_chain_file(c->ctx, o->cert[i]) != WOLFSSL_SUCCESS &&
        wolfSSL_CTX_use_certificate_file(c->ctx, o->cert[i], WOLFSSL_FILETYPE_ASN1) !=
            WOLFSSL_SUCCESS) {
        fprintf(stderr, "zrec-gw: --cert %s: not a readable PEM or DER certificate\n", o->cert[i]);
        return -1;
    }
    if (wolfSSL_CTX_use_PrivateKey_file(c->ctx, o->key[i], WOLFSSL_FILETYPE_PEM) !=
            WOLFSSL_SUCCESS &&
        wolfSSL_CTX_use_PrivateKey_file(c->ctx, o->key[i], WOLFSSL_FILETYPE_ASN1) !=
            WOLFSSL_SUCCESS) {
        fprintf(stderr, "zrec-gw: --key %s: not a readable PEM or DER key\n", o->key[i]);
        return -1;
    }
    if (wolfSSL_CTX_check_private_key(c->ctx) != WOLFSSL_SUCCESS) {
        fprintf(stderr, "zrec-gw: --key %s does not match --cert %s\n", o->key[i], o->cert[i]);
        return -1;
    }
    c->x509 = wolfSSL_X509_load_certificate_file(o->cert[i], WOLFSSL_FILETYPE_PEM);
    if (c->x509 == NULL)
        c->x509 = wolfSSL_X509_load_certificate_file(o->cert[i], WOLFSSL_FILETYPE_ASN1);
    char suites[4096];
    if (zrec_wolfssl_cipher_list(suites, sizeof suites) == 0 ||
        wolfSSL_CTX_set_cipher_list(c->ctx, suites) != WOLFSSL_SUCCESS)
        return -1;
    wolfSSL_CTX_set_verify(c->ctx, WOLFSSL_VERIFY_NONE, NULL);
    if (t->nkeys) {
        wolfSSL_CTX_set_TicketEncCb(c->ctx, ticket_cb);
        wolfSSL_CTX_set_TicketEncCtx(c->ctx, t);
    }
    return 0;
}

static void tls_free(struct gw_tls *t)
{
    for (int i = 0; i < t->ncert; i++) {
        wolfSSL_CTX_free(t->cert[i].ctx);
        wolfSSL_X509_free(t->cert[i].x509);
    }
    if (t->rng_ok)
        wc_FreeRng(&t->rng);
    explicit_bzero(t->keys, sizeof t->keys);
    free(t);
}

struct gw_tls *gw_tls_load(const struct gw_opts *o)
{
    struct gw_tls *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->refs = 1;
    t->rng_ok = wc_InitRng(&t->rng) == 0;
    if (o->ticket_keys && load_ticket_keys(t, o->ticket_keys) < 0)
        goto fail;
    if (o->alpn) {
        if (strlen(o->alpn) >= sizeof t->alpn) {
            fprintf(stderr, "zrec-gw: --alpn list too long\n");
            goto fail;
        }
        strcpy(t->alpn, o->alpn);
    }
    for (int i = 0; i < o->ncert; i++) {
        t->ncert = i + 1;
        if (load_pair(t, &t->cert[i], o, i) < 0)
            goto fail;
    }
    return t;
fail:
    tls_free(t);
    return NULL;
}

void gw_tls_ref(struct gw_tls *t)
{
    atomic_fetch_add(&t->refs, 1);
}

void gw_tls_unref(struct gw_tls *t)
{
    if (t && atomic_fetch_sub(&t->refs, 1) == 1)
        tls_free(t);
}

struct gw_tls *gw_tls_current(void)
{
    pthread_mutex_lock(&current_lock);
    struct gw_tls *t = current;
    gw_tls_ref(t);
    pthread_mutex_unlock(&current_lock);
    return t;
}

int gw_tls_reload(const struct gw_opts *o)
{
    struct gw_tls *t = gw_tls_load(o);
    if (t == NULL)
        return -1;
    pthread_mutex_lock(&current_lock);
    struct gw_tls *old = current;
    current = t;
    pthread_mutex_unlock(&current_lock);
    gw_tls_unref(old);
    return 0;
}

WOLFSSL *gw_tls_new_ssl(struct gw_tls *t, const char *sni)
{
    struct gw_cert *c = &t->cert[0];
    if (sni && *sni) {
        for (int i = 0; i < t->ncert; i++) {
            if (t->cert[i].x509 &&
                wolfSSL_X509_check_host(t->cert[i].x509, sni, strlen(sni), 0, NULL) ==
                    WOLFSSL_SUCCESS) {
                c = &t->cert[i];
                break;
            }
        }
    }
    WOLFSSL *ssl = wolfSSL_new(c->ctx);
    if (ssl && t->alpn[0]) {
        char list[sizeof t->alpn];
        strcpy(list, t->alpn);
        (void)wolfSSL_UseALPN(ssl, list, (unsigned)strlen(list), WOLFSSL_ALPN_CONTINUE_ON_MISMATCH);
    }
    return ssl;
}

void gw_tls_sni_of(const uint8_t *rec, size_t len, char *out, size_t cap)
{
    unsigned char name[256];
    unsigned int sz = sizeof name - 1;
    out[0] = 0;
    if (cap == 0 ||
        wolfSSL_SNI_GetFromBuffer(rec, (unsigned)len, WOLFSSL_SNI_HOST_NAME, name, &sz) !=
            WOLFSSL_SUCCESS)
        return;
    if (sz >= cap)
        sz = (unsigned)cap - 1;
    /* A host name is printable ASCII (RFC 6066 §3); keep the log clean. */
    for (unsigned i = 0; i < sz; i++)
        out[i] = name[i] > 0x20 && name[i] < 0x7f ? (char)name[i] : '?';
    out[sz] = 0;
}
