/* Shared code of zrec-client / zrec-server (see zrec_tool.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zephyr/net/socket.h>
#include <zephyr/net/tls_credentials.h>

#include "zrec_tool.h"

int tool_proto(const char *name, bool *dtls)
{
    static const struct {
        const char *name;
        int proto;
        bool dtls;
    } map[] = {
        {"tls1.2", IPPROTO_TLS_1_2, false},
        {"tls1.3", IPPROTO_TLS_1_3, false},
        {"dtls1.2", IPPROTO_DTLS_1_2, true},
        {"dtls1.3", IPPROTO_DTLS_1_3, true},
    };
    for (size_t i = 0; name && i < sizeof map / sizeof *map; i++)
        if (strcmp(name, map[i].name) == 0) {
            *dtls = map[i].dtls;
            return map[i].proto;
        }
    return -1;
}

int tool_cipher_id(const char *iana)
{
    static const struct {
        const char *name;
        int id;
    } suites[] = {
        {"TLS_AES_128_GCM_SHA256", 0x1301},
        {"TLS_AES_256_GCM_SHA384", 0x1302},
        {"TLS_CHACHA20_POLY1305_SHA256", 0x1303},
        {"TLS_AES_128_CCM_SHA256", 0x1304},
        {"TLS_AES_128_CCM_8_SHA256", 0x1305},
        {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 0xC02B},
        {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 0xC02C},
        {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0xC02F},
        {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 0xC030},
        {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 0xCCA8},
        {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 0xCCA9},
        {"TLS_ECDHE_ECDSA_WITH_AES_128_CCM", 0xC0AC},
        {"TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8", 0xC0AE},
        {"TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", 0x009E},
        {"TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", 0x009F},
        {"TLS_PSK_WITH_AES_128_GCM_SHA256", 0x00A8},
        {"TLS_PSK_WITH_AES_256_GCM_SHA384", 0x00A9},
        {"TLS_PSK_WITH_CHACHA20_POLY1305_SHA256", 0xCCAB},
        {"TLS_PSK_WITH_AES_128_CCM", 0xC0A4},
        {"TLS_PSK_WITH_AES_128_CCM_8", 0xC0A8},
    };
    for (size_t i = 0; iana && i < sizeof suites / sizeof *suites; i++)
        if (strcmp(iana, suites[i].name) == 0)
            return suites[i].id;
    return -1;
}

/* The whole file; PEM gets a terminating NUL counted in its length, as
 * Zephyr's credentials expect. */
static void *load_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    for (size_t r; buf && (r = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += r;
        if (n == cap) {
            char *b = realloc(buf, (cap *= 2) + 1);
            if (b == NULL) {
                free(buf);
                buf = NULL;
            } else {
                buf = b;
            }
        }
    }
    fclose(f);
    if (buf == NULL) {
        fprintf(stderr, "%s: out of memory\n", path);
        return NULL;
    }
    if (n >= 10 && memcmp(buf, "-----BEGIN", 10) == 0)
        buf[n++] = '\0';
    *len = n;
    return buf;
}

static int add(sec_tag_t tag, enum tls_credential_type type, const char *path)
{
    size_t len;
    void *buf = load_file(path, &len);
    if (buf == NULL)
        return -1;
    /* Zephyr keeps the caller's buffer: it stays allocated for the process. */
    int rc = tls_credential_add(tag, type, buf, len);
    if (rc < 0) {
        fprintf(stderr, "%s: tls_credential_add: %s\n", path, strerror(-rc));
        return -1;
    }
    return 0;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int tool_credentials(const struct tool_opts *o)
{
    if (o->ca && add(TAG_CA, TLS_CREDENTIAL_CA_CERTIFICATE, o->ca) < 0)
        return -1;
    if (o->cert && add(TAG_OWN, TLS_CREDENTIAL_SERVER_CERTIFICATE, o->cert) < 0)
        return -1;
    if (o->key && add(TAG_OWN, TLS_CREDENTIAL_PRIVATE_KEY, o->key) < 0)
        return -1;
    if (o->psk_hex) {
        size_t n = strlen(o->psk_hex);
        uint8_t *key = malloc(n / 2 + 1);
        if (key == NULL || n % 2 || n == 0) {
            fprintf(stderr, "--psk: expected an even number of hex digits\n");
            return -1;
        }
        for (size_t i = 0; i < n / 2; i++) {
            int hi = hexval(o->psk_hex[2 * i]), lo = hexval(o->psk_hex[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                fprintf(stderr, "--psk: not hex: %s\n", o->psk_hex);
                return -1;
            }
            key[i] = (uint8_t)(hi << 4 | lo);
        }
        if (tls_credential_add(TAG_PSK, TLS_CREDENTIAL_PSK, key, n / 2) < 0 ||
            tls_credential_add(TAG_PSK, TLS_CREDENTIAL_PSK_ID, o->psk_id ? o->psk_id : "",
                               o->psk_id ? strlen(o->psk_id) : 0) < 0) {
            fprintf(stderr, "PSK credentials rejected\n");
            return -1;
        }
    }
    return 0;
}

int tool_configure(int sock, const struct tool_opts *o, bool server)
{
    sec_tag_t tags[3];
    int n = 0;
    if (o->ca)
        tags[n++] = TAG_CA;
    if (o->cert || o->key)
        tags[n++] = TAG_OWN;
    if (o->psk_hex)
        tags[n++] = TAG_PSK;
    if (zsock_setsockopt(sock, SOL_TLS, TLS_SEC_TAG_LIST, tags, (socklen_t)(n * sizeof *tags)) < 0) {
        tool_error("TLS_SEC_TAG_LIST", errno);
        return -1;
    }
    if (o->cipher) {
        int id = tool_cipher_id(o->cipher);
        if (id < 0) {
            fprintf(stderr, "--cipher: unknown IANA name %s\n", o->cipher);
            return -1;
        }
        if (zsock_setsockopt(sock, SOL_TLS, TLS_CIPHERSUITE_LIST, &id, sizeof id) < 0) {
            tool_error("TLS_CIPHERSUITE_LIST", errno);
            return -1;
        }
    }
    if (o->alpn) {
        static char copy[256];
        static const char *list[16];
        int k = 0;
        snprintf(copy, sizeof copy, "%s", o->alpn);
        for (char *save, *p = strtok_r(copy, ",", &save); p && k < 15;
             p = strtok_r(NULL, ",", &save))
            list[k++] = p;
        list[k] = NULL;
        if (zsock_setsockopt(sock, SOL_TLS, TLS_ALPN_LIST, list,
                             (socklen_t)(k * sizeof *list)) < 0) {
            tool_error("TLS_ALPN_LIST", errno);
            return -1;
        }
    }
    int verify = -1;
    if (!server && o->insecure)
        verify = TLS_PEER_VERIFY_NONE;
    if (server && o->ca)
        verify = TLS_PEER_VERIFY_REQUIRED; /* --ca on the server: client certificates */
    if (verify >= 0 &&
        zsock_setsockopt(sock, SOL_TLS, TLS_PEER_VERIFY, &verify, sizeof verify) < 0) {
        tool_error("TLS_PEER_VERIFY", errno);
        return -1;
    }
    if (!server) {
        const char *name = o->sni ? o->sni : o->host;
        if (name && zsock_setsockopt(sock, SOL_TLS, TLS_HOSTNAME, name, strlen(name)) < 0) {
            tool_error("TLS_HOSTNAME", errno);
            return -1;
        }
    }
    return 0;
}

void tool_error(const char *what, int err)
{
    const char *name = err == ECONNABORTED ? "ECONNABORTED (TLS handshake failed)"
                       : err == ECONNRESET ? "ECONNRESET (fatal alert or reset from the peer)"
                       : err == EBADMSG    ? "EBADMSG (record failed authentication: bad_record_mac sent)"
                       : err == EPROTO     ? "EPROTO (malformed record: decode_error sent)"
                       : err == EMSGSIZE   ? "EMSGSIZE (oversized record: record_overflow sent)"
                       : err == ETIMEDOUT  ? "ETIMEDOUT"
                       : err == ECONNREFUSED ? "ECONNREFUSED"
                                           : NULL;
    if (name)
        fprintf(stderr, "%s: %s\n", what, name);
    else
        fprintf(stderr, "%s: %s\n", what, strerror(err));
}
