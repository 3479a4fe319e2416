/*
 * wolfSSL's part of interop-zrec: the handshake, and nothing after it.
 *
 * wolfSSL reads and writes through the I/O callbacks below, which are plain
 * recv()/send() on the socket — what wolfSSL's own socket I/O does — plus a
 * poll() timeout.  wolfSSL asks for exactly the bytes of the record it is
 * parsing, so bytes OpenSSL sends right after its handshake stay in the
 * socket for zrec (script phase P0 checks that nothing is lost).
 */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <sys/socket.h>

#include "handoff.h"
#include "zrec/wolfssl.h"

struct io {
    int fd;
    int64_t deadline;
};

static int io_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    (void)ssl;
    struct io *io = ctx;
    for (;;) {
        ssize_t n = recv(io->fd, buf, (size_t)sz, 0);
        if (n > 0)
            return (int)n;
        if (n == 0)
            return WOLFSSL_CBIO_ERR_CONN_CLOSE;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            ix_log("handshake: recv: %s", strerror(errno));
            return errno == ECONNRESET ? WOLFSSL_CBIO_ERR_CONN_RST : WOLFSSL_CBIO_ERR_GENERAL;
        }
        int64_t left = io->deadline - ix_now_ms();
        /* A hard error, not WOLFSSL_CBIO_ERR_TIMEOUT: on a timeout wolfSSL's
         * DTLS would retransmit and wait again, for up to a minute. */
        if (left <= 0 || !ix_wait(io->fd, POLLIN, (int)left)) {
            ix_log("handshake: nothing from OpenSSL for %d ms", IX_IO_TIMEOUT_MS);
            return WOLFSSL_CBIO_ERR_GENERAL;
        }
    }
}

static int io_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    (void)ssl;
    struct io *io = ctx;
    for (;;) {
        ssize_t n = send(io->fd, buf, (size_t)sz, MSG_NOSIGNAL);
        if (n >= 0)
            return (int)n;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            ix_log("handshake: send: %s", strerror(errno));
            return errno == EPIPE ? WOLFSSL_CBIO_ERR_CONN_CLOSE : WOLFSSL_CBIO_ERR_GENERAL;
        }
        int64_t left = io->deadline - ix_now_ms();
        if (left <= 0 || !ix_wait(io->fd, POLLOUT, (int)left)) {
            ix_log("handshake: OpenSSL read nothing for %d ms", IX_IO_TIMEOUT_MS);
            return WOLFSSL_CBIO_ERR_GENERAL;
        }
    }
}

static WOLFSSL_METHOD *method_for(enum ix_proto proto, bool server)
{
    switch (proto) {
    case IX_TLS12:
        return server ? wolfTLSv1_2_server_method() : wolfTLSv1_2_client_method();
    case IX_TLS13:
        return server ? wolfTLSv1_3_server_method() : wolfTLSv1_3_client_method();
    case IX_DTLS12:
        return server ? wolfDTLSv1_2_server_method() : wolfDTLSv1_2_client_method();
    }
    return NULL;
}

struct zrec_session *ix_wolfssl_handshake(enum ix_proto proto, const struct ix_suite *suite,
                                          bool server, const char *certs, int fd,
                                          const struct zrec_aead_provider *provider)
{
    IX_CHECK(wolfSSL_Init() == WOLFSSL_SUCCESS, "wolfSSL_Init");
    WOLFSSL_CTX *ctx = wolfSSL_CTX_new(method_for(proto, server));
    IX_CHECK(ctx != NULL, "wolfSSL_CTX_new");
    IX_CHECK(wolfSSL_CTX_set_cipher_list(ctx, suite->wolfssl) == WOLFSSL_SUCCESS,
             "wolfSSL_CTX_set_cipher_list(%s)", suite->wolfssl);
    struct ix_certs c = ix_certs_for(suite);
    char path[4096];
    if (server) {
        ix_path(path, sizeof path, certs, c.cert);
        IX_CHECK(wolfSSL_CTX_use_certificate_chain_file(ctx, path) == WOLFSSL_SUCCESS,
                 "certificate %s", path);
        ix_path(path, sizeof path, certs, c.key);
        IX_CHECK(wolfSSL_CTX_use_PrivateKey_file(ctx, path, WOLFSSL_FILETYPE_PEM) ==
                     WOLFSSL_SUCCESS,
                 "key %s", path);
    } else {
        ix_path(path, sizeof path, certs, c.ca);
        IX_CHECK(wolfSSL_CTX_load_verify_locations(ctx, path, NULL) == WOLFSSL_SUCCESS, "CA %s",
                 path);
        wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER, NULL);
    }

    WOLFSSL *ssl = wolfSSL_new(ctx);
    IX_CHECK(ssl != NULL, "wolfSSL_new");
    struct io io = {.fd = fd, .deadline = ix_now_ms() + IX_IO_TIMEOUT_MS};
    wolfSSL_SSLSetIORecv(ssl, io_recv);
    wolfSSL_SSLSetIOSend(ssl, io_send);
    wolfSSL_SetIOReadCtx(ssl, &io);
    wolfSSL_SetIOWriteCtx(ssl, &io);
    if (!server)
        IX_CHECK(wolfSSL_check_domain_name(ssl, IX_SERVER_NAME) == WOLFSSL_SUCCESS,
                 "wolfSSL_check_domain_name");

    struct zrec_wolfssl_capture *cap = zrec_wolfssl_prepare(ssl);
    IX_CHECK(cap != NULL, "zrec_wolfssl_prepare: %s", strerror(errno));
    for (;;) {
        int ret = server ? wolfSSL_accept(ssl) : wolfSSL_connect(ssl);
        if (ret == WOLFSSL_SUCCESS)
            break;
        int err = wolfSSL_get_error(ssl, ret);
        if ((err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) &&
            ix_now_ms() < io.deadline)
            continue;
        char msg[WOLFSSL_MAX_ERROR_SZ];
        IX_FAIL("wolfSSL %s failed: %d %s", server ? "accept" : "connect", err,
                wolfSSL_ERR_error_string((unsigned long)err, msg));
    }
    ix_log("wolfSSL %s %s as %s: handshake done", wolfSSL_get_version(ssl),
           wolfSSL_get_cipher_name(ssl), server ? "server" : "client");

    int err = 0;
    struct zrec_session *s = zrec_wolfssl_import(ssl, cap, provider, &err);
    IX_CHECK(s != NULL, "zrec_wolfssl_import: %d (%s)", err, strerror(-err));
    /* From here on only zrec touches records on this side. */
    wolfSSL_free(ssl);
    wolfSSL_CTX_free(ctx);
    return s;
}
