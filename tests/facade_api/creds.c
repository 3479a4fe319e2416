/* zsock-api-creds: tls_credential_add/get/delete (Zephyr's registry
 * semantics, include/zephyr/net/tls_credentials.h and Zephyr's
 * subsys/net/lib/tls_credentials/tls_credentials.c) and the internal lookup
 * the TLS sockets use (facade/src/zs_creds.h). */
#include <pthread.h>

#include <zephyr/net/tls_credentials.h>

#include "common.h"
#include "zs_creds.h"

static const unsigned char der_cert[] = {0x30, 0x82, 0x01, 0x22, 0x30, 0x0d, 0x06, 0x09,
                                         0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01};
/* PEM: the NUL is part of the credential (sizeof, not strlen). */
static const char pem_key[] = "-----BEGIN PRIVATE KEY-----\n"
                              "MC4CAQAwBQYDK2VwBCIEIJx1a4mV3n1bRWbcr6U5nm2yZfC+6Y5yTQ4jm9xvW2T6\n"
                              "-----END PRIVATE KEY-----\n";

static void test_roundtrip(void)
{
    unsigned char buf[64];
    size_t len = sizeof(buf);

    CHECK(tls_credential_add(1, TLS_CREDENTIAL_CA_CERTIFICATE, der_cert, sizeof(der_cert)) == 0,
          "add");
    CHECK(tls_credential_get(1, TLS_CREDENTIAL_CA_CERTIFICATE, buf, &len) == 0, "get");
    CHECK(len == sizeof(der_cert) && memcmp(buf, der_cert, len) == 0, "bytes");

    /* Tag+type is the key: same tag, other types; other tag, same type. */
    CHECK(tls_credential_add(1, TLS_CREDENTIAL_CA_CERTIFICATE, der_cert, 3) == -EEXIST,
          "duplicate must be -EEXIST");
    CHECK(tls_credential_add(1, TLS_CREDENTIAL_PUBLIC_CERTIFICATE, der_cert, 4) == 0, "cert");
    CHECK(tls_credential_add(1, TLS_CREDENTIAL_SERVER_CERTIFICATE, der_cert, 4) == -EEXIST,
          "SERVER_CERTIFICATE is PUBLIC_CERTIFICATE");
    CHECK(tls_credential_add(2, TLS_CREDENTIAL_CA_CERTIFICATE, der_cert, 5) == 0, "tag 2");
    len = sizeof(buf);
    CHECK(tls_credential_get(2, TLS_CREDENTIAL_CA_CERTIFICATE, buf, &len) == 0 && len == 5,
          "tag 2 length %zu", len);
    len = sizeof(buf);
    CHECK(tls_credential_get(1, TLS_CREDENTIAL_CA_CERTIFICATE, buf, &len) == 0 &&
              len == sizeof(der_cert),
          "tag 1 unchanged by the failed duplicate: %zu", len);

    /* Delete: gone, others stay, can be added again. */
    CHECK(tls_credential_delete(1, TLS_CREDENTIAL_CA_CERTIFICATE) == 0, "delete");
    len = sizeof(buf);
    CHECK(tls_credential_get(1, TLS_CREDENTIAL_CA_CERTIFICATE, buf, &len) == -ENOENT, "gone");
    CHECK(len == 0, "-ENOENT sets *credlen to 0 (Zephyr), got %zu", len);
    CHECK(tls_credential_delete(1, TLS_CREDENTIAL_CA_CERTIFICATE) == -ENOENT, "delete twice");
    len = sizeof(buf);
    CHECK(tls_credential_get(1, TLS_CREDENTIAL_PUBLIC_CERTIFICATE, buf, &len) == 0 && len == 4,
          "other type kept");
    CHECK(tls_credential_add(1, TLS_CREDENTIAL_CA_CERTIFICATE, der_cert, sizeof(der_cert)) == 0,
          "re-add");
    CHECK(tls_credential_delete(1, TLS_CREDENTIAL_CA_CERTIFICATE) == 0, "cleanup");
    CHECK(tls_credential_delete(1, TLS_CREDENTIAL_PUBLIC_CERTIFICATE) == 0, "cleanup");
    CHECK(tls_credential_delete(2, TLS_CREDENTIAL_CA_CERTIFICATE) == 0, "cleanup");
    CHECK(tls_credential_delete(9, TLS_CREDENTIAL_PSK) == -ENOENT, "never added");
}

static void test_efbig(void)
{
    unsigned char buf[sizeof(der_cert)];
    memset(buf, 0xa5, sizeof(buf));
    CHECK(tls_credential_add(3, TLS_CREDENTIAL_PSK, der_cert, sizeof(der_cert)) == 0, "add");

    size_t len = sizeof(der_cert) - 1;
    CHECK(tls_credential_get(3, TLS_CREDENTIAL_PSK, buf, &len) == -EFBIG, "one byte short");
    CHECK(len == sizeof(der_cert), "needed length reported: %zu", len);
    for (size_t i = 0; i < sizeof(buf); i++)
        CHECK(buf[i] == 0xa5, "nothing copied on -EFBIG (byte %zu)", i);

    /* Size query: no buffer, *credlen 0. */
    len = 0;
    CHECK(tls_credential_get(3, TLS_CREDENTIAL_PSK, NULL, &len) == -EFBIG &&
              len == sizeof(der_cert),
          "size query %zu", len);
    /* Then with exactly the size. */
    CHECK(tls_credential_get(3, TLS_CREDENTIAL_PSK, buf, &len) == 0 && len == sizeof(der_cert) &&
              memcmp(buf, der_cert, len) == 0,
          "exact size");
    CHECK(tls_credential_delete(3, TLS_CREDENTIAL_PSK) == 0, "cleanup");
}

static void test_pem(void)
{
    CHECK(tls_credential_add(4, TLS_CREDENTIAL_PRIVATE_KEY, pem_key, sizeof(pem_key)) == 0,
          "add pem");
    char buf[256];
    size_t len = sizeof(buf);
    CHECK(tls_credential_get(4, TLS_CREDENTIAL_PRIVATE_KEY, buf, &len) == 0, "get pem");
    CHECK(len == strlen(pem_key) + 1, "PEM length counts the NUL: %zu vs %zu", len,
          strlen(pem_key) + 1);
    CHECK(buf[len - 1] == '\0' && strcmp(buf, pem_key) == 0, "PEM text and NUL");

    const void *p;
    size_t plen;
    CHECK(zs_cred_find(4, TLS_CREDENTIAL_PRIVATE_KEY, &p, &plen) == 0, "find");
    CHECK(zs_cred_is_pem(p, plen), "PEM detected");
    CHECK(!zs_cred_is_pem(der_cert, sizeof(der_cert)), "DER is not PEM");
    CHECK(!zs_cred_is_pem("-----BEGI", 9), "truncated marker is not PEM");
    CHECK(!zs_cred_is_pem(NULL, 20), "NULL");
    CHECK(tls_credential_delete(4, TLS_CREDENTIAL_PRIVATE_KEY) == 0, "cleanup");
}

static void test_not_copied(void)
{
    /* Zephyr keeps the caller's pointer: a change to the buffer is a change
     * to the credential. */
    static unsigned char psk[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    CHECK(tls_credential_add(5, TLS_CREDENTIAL_PSK, psk, sizeof(psk)) == 0, "add");
    psk[0] = 0xee;
    psk[7] = 0xff;
    unsigned char out[8];
    size_t len = sizeof(out);
    CHECK(tls_credential_get(5, TLS_CREDENTIAL_PSK, out, &len) == 0, "get");
    CHECK(out[0] == 0xee && out[7] == 0xff && out[3] == 4, "mutated bytes returned");

    const void *p = NULL;
    size_t plen = 0;
    CHECK(zs_cred_find(5, TLS_CREDENTIAL_PSK, &p, &plen) == 0, "find");
    CHECK(p == (const void *)psk && plen == sizeof(psk), "find gives the caller's buffer");
    CHECK(tls_credential_delete(5, TLS_CREDENTIAL_PSK) == 0, "delete");
    CHECK(psk[0] == 0xee && psk[1] == 2, "delete leaves the caller's buffer alone");
    CHECK(zs_cred_find(5, TLS_CREDENTIAL_PSK, &p, &plen) == -ENOENT && p == NULL && plen == 0,
          "find after delete");
}

static void test_einval(void)
{
    size_t len = 4;
    char buf[4];
    CHECK(tls_credential_add(6, TLS_CREDENTIAL_PSK, NULL, 4) == -EINVAL, "NULL cred");
    CHECK(tls_credential_add(6, TLS_CREDENTIAL_PSK, der_cert, 0) == -EINVAL, "empty cred");
    CHECK(tls_credential_add(6, TLS_CREDENTIAL_NONE, der_cert, 4) == -EINVAL, "type NONE");
    CHECK(tls_credential_add(6, (enum tls_credential_type)99, der_cert, 4) == -EINVAL,
          "type 99");
    CHECK(tls_credential_add(-1, TLS_CREDENTIAL_PSK, der_cert, 4) == -EINVAL, "negative tag");
    CHECK(tls_credential_get(6, TLS_CREDENTIAL_PSK, buf, NULL) == -EINVAL, "NULL credlen");
    CHECK(tls_credential_get(6, TLS_CREDENTIAL_PSK, NULL, &len) == -EINVAL,
          "NULL buffer with a size");
    CHECK(tls_credential_delete(6, TLS_CREDENTIAL_NONE) == -EINVAL, "delete NONE");
    const void *p;
    CHECK(zs_cred_find(6, TLS_CREDENTIAL_PSK, &p, NULL) == -EINVAL, "find NULL len");
    /* Nothing was registered by the failures. */
    CHECK(tls_credential_get(6, TLS_CREDENTIAL_PSK, buf, &len) == -ENOENT, "none added");
}

static void test_full(void)
{
    /* The registry holds ZREC_TLS_CREDENTIALS_MAX; one more is -ENOMEM. */
    for (int i = 0; i < ZREC_TLS_CREDENTIALS_MAX; i++)
        CHECK(tls_credential_add(1000 + i, TLS_CREDENTIAL_CA_CERTIFICATE, der_cert, 1) == 0,
              "fill %d", i);
    CHECK(tls_credential_add(999, TLS_CREDENTIAL_CA_CERTIFICATE, der_cert, 1) == -ENOMEM,
          "full must be -ENOMEM");
    CHECK(tls_credential_add(1000, TLS_CREDENTIAL_CA_CERTIFICATE, der_cert, 1) == -EEXIST,
          "duplicate still -EEXIST when full");
    /* A freed slot in the middle is reused. */
    CHECK(tls_credential_delete(1500, TLS_CREDENTIAL_CA_CERTIFICATE) == 0, "free one");
    CHECK(tls_credential_add(999, TLS_CREDENTIAL_CA_CERTIFICATE, der_cert, 1) == 0, "reuse");
    CHECK(tls_credential_delete(999, TLS_CREDENTIAL_CA_CERTIFICATE) == 0, "cleanup");
    for (int i = 0; i < ZREC_TLS_CREDENTIALS_MAX; i++)
        if (i != 500)
            CHECK(tls_credential_delete(1000 + i, TLS_CREDENTIAL_CA_CERTIFICATE) == 0,
                  "empty %d", i);
}

/* ---- Threads ---- */

#define THREADS 8
#define PER_THREAD 64

static pthread_barrier_t barrier;
static int contested_wins[THREADS];

static void *adder(void *arg)
{
    int t = (int)(intptr_t)arg;
    pthread_barrier_wait(&barrier);
    /* Every thread races for the same (tag, type): exactly one may win. */
    int rc = tls_credential_add(77, TLS_CREDENTIAL_PSK_ID, der_cert, 2);
    contested_wins[t] = rc == 0;
    if (rc != 0 && rc != -EEXIST)
        return (void *)"contested add: unexpected code";
    for (int i = 0; i < PER_THREAD; i++) {
        sec_tag_t tag = 10000 + t * PER_THREAD + i;
        if (tls_credential_add(tag, TLS_CREDENTIAL_PSK, &der_cert[t % 8], 1 + (size_t)i % 8) != 0)
            return (void *)"own add failed";
        unsigned char out[16];
        size_t len = sizeof(out);
        if (tls_credential_get(tag, TLS_CREDENTIAL_PSK, out, &len) != 0 ||
            len != 1 + (size_t)i % 8 || out[0] != der_cert[t % 8])
            return (void *)"own get failed";
        if (i % 2 == 0 && tls_credential_delete(tag, TLS_CREDENTIAL_PSK) != 0)
            return (void *)"own delete failed";
    }
    return NULL;
}

static void test_threads(void)
{
    pthread_t th[THREADS];
    CHECK(pthread_barrier_init(&barrier, NULL, THREADS) == 0, "barrier");
    for (int t = 0; t < THREADS; t++)
        CHECK(pthread_create(&th[t], NULL, adder, (void *)(intptr_t)t) == 0, "create");
    for (int t = 0; t < THREADS; t++) {
        void *err;
        CHECK(pthread_join(th[t], &err) == 0, "join");
        CHECK(err == NULL, "thread %d: %s", t, (const char *)err);
    }
    pthread_barrier_destroy(&barrier);

    int wins = 0;
    for (int t = 0; t < THREADS; t++)
        wins += contested_wins[t];
    CHECK(wins == 1, "exactly one thread adds a contested credential, %d did", wins);

    /* Every odd-numbered credential survived, every even one is gone. */
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < PER_THREAD; i++) {
            sec_tag_t tag = 10000 + t * PER_THREAD + i;
            const void *p;
            size_t len;
            int rc = zs_cred_find(tag, TLS_CREDENTIAL_PSK, &p, &len);
            if (i % 2 == 0) {
                CHECK(rc == -ENOENT, "tag %d should be deleted", tag);
            } else {
                CHECK(rc == 0 && p == &der_cert[t % 8] && len == 1 + (size_t)i % 8,
                      "tag %d", tag);
                CHECK(tls_credential_delete(tag, TLS_CREDENTIAL_PSK) == 0, "cleanup");
            }
        }
    CHECK(tls_credential_delete(77, TLS_CREDENTIAL_PSK_ID) == 0, "cleanup contested");
}

int main(void)
{
    test_roundtrip();
    test_efbig();
    test_pem();
    test_not_copied();
    test_einval();
    test_full();
    test_threads();
    /* The registry is empty again: a full refill works. */
    test_full();
    puts("zsock-api-creds: ok");
    return 0;
}
