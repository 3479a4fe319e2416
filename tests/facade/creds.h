/* The credentials the facade tests register (the PKI tools/gen-certs makes
 * at build time), under Zephyr's tls_credential_add(). */
#ifndef ZREC_FACADE_CREDS_H
#define ZREC_FACADE_CREDS_H
#include <stdio.h>
#include <string.h>

#include <zephyr/net/tls_credentials.h>

#include "check.h"

enum { TAG_CA = 10, TAG_SERVER = 11, TAG_WRONG_CA = 12, TAG_PSK = 13, TAG_WRONG_PSK = 14,
       TAG_CLIENT = 15 };

static const char *certdir;

/* A file of certdir.  Zephyr keeps credentials where the application has
 * them (they are not copied), so each one gets a buffer of its own. */
static void *load(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", certdir, name);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL, "%s", path);
    static char bufs[16][8192];
    static int used;
    CHECK(used < 16, "too many credential files");
    char *b = bufs[used++];
    size_t n = fread(b, 1, sizeof bufs[0] - 1, f);
    fclose(f);
    if (memcmp(b, "-----BEGIN", 10) == 0)
        b[n++] = '\0'; /* Zephyr: the NUL of a PEM credential is counted */
    *len = n;
    return b;
}

static void credentials(void)
{
    size_t n;
    void *b = load("ca-cert.pem", &n);
    CHECK(tls_credential_add(TAG_CA, TLS_CREDENTIAL_CA_CERTIFICATE, b, n) == 0, "ca");
    b = load("server-cert.der", &n); /* DER works too */
    CHECK(tls_credential_add(TAG_SERVER, TLS_CREDENTIAL_SERVER_CERTIFICATE, b, n) == 0, "cert");
    b = load("server-key.pem", &n);
    CHECK(tls_credential_add(TAG_SERVER, TLS_CREDENTIAL_PRIVATE_KEY, b, n) == 0, "key");
    b = load("ca-ecc-cert.pem", &n); /* a CA that did not sign the server */
    CHECK(tls_credential_add(TAG_WRONG_CA, TLS_CREDENTIAL_CA_CERTIFICATE, b, n) == 0, "ca2");
    b = load("client-cert.pem", &n);
    CHECK(tls_credential_add(TAG_CLIENT, TLS_CREDENTIAL_SERVER_CERTIFICATE, b, n) == 0, "ccert");
    b = load("client-key.pem", &n);
    CHECK(tls_credential_add(TAG_CLIENT, TLS_CREDENTIAL_PRIVATE_KEY, b, n) == 0, "ckey");
    static const unsigned char psk[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    static const unsigned char bad[16] = {0};
    CHECK(tls_credential_add(TAG_PSK, TLS_CREDENTIAL_PSK, psk, sizeof psk) == 0, "psk");
    CHECK(tls_credential_add(TAG_PSK, TLS_CREDENTIAL_PSK_ID, "zrec-client", 11) == 0, "psk id");
    CHECK(tls_credential_add(TAG_WRONG_PSK, TLS_CREDENTIAL_PSK, bad, sizeof bad) == 0, "psk2");
    CHECK(tls_credential_add(TAG_WRONG_PSK, TLS_CREDENTIAL_PSK_ID, "zrec-client", 11) == 0,
          "psk2 id");
}
#endif
