/* Built by pkgconfig.sh with `cc $(pkg-config --cflags zrec) ... $(pkg-config
 * --libs zrec)` and nothing else: zrec's headers, the headers of the wolfSSL
 * libzrec carries, and libzrec, which also provides wolfSSL's API. */
#include <wolfssl/options.h> /* first, as wolfSSL requires */
#include <wolfssl/ssl.h>
#include <zrec/uring.h> /* and liburing's, through zrec.pc's Requires */
#include <zrec/wolfssl.h>
#include <zrec/zrec.h>

#include <stdio.h>

/* Options of the wolfSSL tools/bootstrap builds: a distro's wolfSSL headers
 * would compile, and then disagree with libzrec's structures. */
#if !defined(WOLFSSL_DTLS13) || !defined(WOLFSSL_DTLS_CID) || !defined(HAVE_SECRET_CALLBACK)
#error "<wolfssl/options.h> is not the one libzrec was built with"
#endif

int main(void)
{
    if (wolfSSL_Init() != WOLFSSL_SUCCESS) {
        fputs("wolfSSL_Init failed\n", stderr);
        return 1;
    }
    WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfTLSv1_3_client_method());
    if (ctx == NULL) {
        fputs("wolfSSL_CTX_new failed\n", stderr);
        return 1;
    }
    struct zrec_session_params params = {
        .proto = ZREC_TLS13, .aead = ZREC_AES_128_GCM, .hash = ZREC_SHA256,
    };
    struct zrec_session *s = zrec_session_new(&params);
    if (s == NULL) {
        perror("zrec_session_new");
        return 1;
    }
    struct zrec_overhead o;
    if (zrec_session_overhead(s, &o) != 0) {
        fputs("zrec_session_overhead failed\n", stderr);
        return 1;
    }
    printf("provider %s, tls13 overhead %u+%u, suite 13,01 %s\n",
           zrec_provider_name(zrec_provider_default()), (unsigned)o.headroom,
           (unsigned)o.tailroom, zrec_wolfssl_suite_supported(0x13, 0x01) ? "carried" : "refused");
    /* A gateway author's first steps: a ring (liburing) and a registered
     * slot pool on it (libzrec). */
    struct io_uring ring;
    int rc = io_uring_queue_init(8, &ring, 0);
    if (rc < 0) {
        fprintf(stderr, "io_uring_queue_init: %d\n", rc);
        return 1;
    }
    struct zrec_uring_pool_params pp = {.record_slots = 4, .payload_slots = 4};
    struct zrec_uring_pool *pool = zrec_uring_pool_new(&ring, &pp, &rc);
    if (pool == NULL) {
        fprintf(stderr, "zrec_uring_pool_new: %d\n", rc);
        return 1;
    }
    printf("uring pool: %u record slots ready\n", zrec_uring_pool_ready(pool, ZREC_URING_RECORDS));
    zrec_uring_pool_free(pool);
    io_uring_queue_exit(&ring);
    zrec_session_free(s);
    wolfSSL_CTX_free(ctx);
    wolfSSL_Cleanup();
    puts("ok");
    return 0;
}
