/* Built by pkgconfig.sh with `cc $(pkg-config --cflags zrec) ... $(pkg-config
 * --libs zrec)` and nothing else: zrec's headers, the headers of the wolfSSL
 * libzrec carries, and libzrec, which also provides wolfSSL's API. */
#include <wolfssl/options.h> /* first, as wolfSSL requires */
#include <wolfssl/ssl.h>
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
    zrec_session_free(s);
    wolfSSL_CTX_free(ctx);
    wolfSSL_Cleanup();
    puts("ok");
    return 0;
}
