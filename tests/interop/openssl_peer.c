/*
 * interop-openssl-peer: the OpenSSL 3.0 end of an interop test.
 *
 *   interop-openssl-peer PROTO AEAD ROLE CERTS FD SEED SCENARIO
 *
 * PROTO tls12|tls13|dtls12, AEAD as in zrec_aead_name(), ROLE this peer's
 * own role (client|server), CERTS the test certificates (wolfSSL's certs/
 * file names), FD a connected socket shared with interop-zrec (SOCK_STREAM
 * for TLS, SOCK_DGRAM for DTLS), SEED the data streams' seed, SCENARIO
 * main|tamper-zrec|tamper-peer.
 *
 * Only OpenSSL headers here: OpenSSL keeps its own record layer throughout
 * and plays its half of the script in interop.h.  Sockets are non-blocking;
 * every wait is a poll() with a timeout, so a peer that stops talking makes
 * this program fail, not hang.
 */
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "interop.h"

struct peer {
    SSL *ssl;
    int fd;
    enum ix_proto proto;
    bool dtls;
    struct ix_stream tx, rx;
    uint64_t rng, pad_rng;
    unsigned dtls_retransmits;
};

__attribute__((noreturn)) static void ssl_fail(const char *what, int err)
{
    ERR_print_errors_fp(stderr);
    IX_FAIL("%s: SSL_get_error %d (errno: %s)", what, err, strerror(errno));
}

/* After an SSL call that did not complete: wait (poll) for what OpenSSL
 * needs, up to `deadline`.  DTLS handshake timers are honoured (RFC 6347
 * §4.2.4): a datagram socketpair loses nothing, but a slow peer may still
 * make OpenSSL retransmit a flight, which zrec must then drop. */
static void peer_wait(struct peer *p, int ret, const char *what, int64_t deadline)
{
    int err = SSL_get_error(p->ssl, ret);
    short ev;
    if (err == SSL_ERROR_WANT_READ)
        ev = POLLIN;
    else if (err == SSL_ERROR_WANT_WRITE)
        ev = POLLOUT;
    else
        ssl_fail(what, err);
    int64_t left = deadline - ix_now_ms();
    if (left <= 0)
        IX_FAIL("%s: no progress for %d ms (waiting to %s)", what, IX_IO_TIMEOUT_MS,
                ev == POLLIN ? "read" : "write");
    bool timer = false;
    struct timeval tv;
    if (p->dtls && DTLSv1_get_timeout(p->ssl, &tv)) {
        int64_t ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
        if (ms < left) {
            left = ms;
            timer = true;
        }
    }
    if (ix_wait(p->fd, ev, (int)left))
        return;
    if (timer) {
        p->dtls_retransmits++;
        if (DTLSv1_handle_timeout(p->ssl) < 0)
            ssl_fail("DTLSv1_handle_timeout", SSL_get_error(p->ssl, -1));
    }
}

static void peer_handshake(struct peer *p)
{
    int64_t deadline = ix_now_ms() + IX_IO_TIMEOUT_MS;
    int r;
    while ((r = SSL_do_handshake(p->ssl)) != 1)
        peer_wait(p, r, "handshake", deadline);
}

/* Read exactly n application bytes and check them against the stream. */
static void peer_read(struct peer *p, size_t n, const char *phase)
{
    static uint8_t buf[64 * 1024];
    size_t got = 0;
    int64_t deadline = ix_now_ms() + IX_IO_TIMEOUT_MS;
    while (got < n) {
        size_t r;
        /* Always offer a full-record buffer: a DTLS record is one read. */
        if (SSL_read_ex(p->ssl, buf, sizeof buf, &r)) {
            IX_CHECK(got + r <= n, "%s: zrec sent %zu bytes, the phase has %zu", phase, got + r,
                     n);
            ix_stream_expect(&p->rx, buf, r, phase);
            got += r;
            deadline = ix_now_ms() + IX_IO_TIMEOUT_MS;
            continue;
        }
        int err = SSL_get_error(p->ssl, 0);
        if (err == SSL_ERROR_ZERO_RETURN)
            IX_FAIL("%s: close_notify after %zu of %zu bytes", phase, got, n);
        peer_wait(p, 0, phase, deadline);
    }
}

static void peer_write_chunk(struct peer *p, const uint8_t *b, size_t len, const char *phase)
{
    int64_t deadline = ix_now_ms() + IX_IO_TIMEOUT_MS;
    size_t w = 0;
    /* A retried SSL_write must repeat the same arguments. */
    while (!SSL_write_ex(p->ssl, b, len, &w))
        peer_wait(p, 0, phase, deadline);
    IX_CHECK(w == len, "%s: SSL_write_ex wrote %zu of %zu", phase, w, len);
}

/* Write `total` bytes of the stream in SSL_write()s of random sizes 1..max
 * (random) or of max bytes (!random).  Over 2^14 a TLS SSL_write() becomes
 * several records, which zrec then finds in the byte stream. */
static void peer_write(struct peer *p, size_t total, size_t max, bool random, const char *phase)
{
    static uint8_t buf[3 * 16384 + 1];
    IX_CHECK(max <= sizeof buf, "chunk");
    while (total) {
        size_t len = random ? ix_rand_record_size(&p->rng, max) : max;
        if (len == 0)
            len = 1; /* SSL_write of 0 bytes is not a record */
        if (len > total)
            len = total;
        ix_stream_fill(&p->tx, buf, len);
        peer_write_chunk(p, buf, len, phase);
        total -= len;
    }
}

/* RFC 8446 §4.6.3: schedule a KeyUpdate asking zrec to update too, and send
 * it now (OpenSSL otherwise sends it with the next SSL_write). */
static void peer_key_update_requested(struct peer *p)
{
    IX_CHECK(SSL_key_update(p->ssl, SSL_KEY_UPDATE_REQUESTED) == 1, "SSL_key_update");
    IX_CHECK(SSL_get_key_update_type(p->ssl) == SSL_KEY_UPDATE_REQUESTED, "pending type");
    int64_t deadline = ix_now_ms() + IX_IO_TIMEOUT_MS;
    int r;
    while ((r = SSL_do_handshake(p->ssl)) != 1)
        peer_wait(p, r, "sending KeyUpdate", deadline);
    IX_CHECK(SSL_get_key_update_type(p->ssl) == SSL_KEY_UPDATE_NONE, "KeyUpdate still pending");
}

/* C1: zrec's close_notify (RFC 8446 §6.1, RFC 5246 §7.2.1) ends our reading. */
static void peer_expect_close_notify(struct peer *p)
{
    static uint8_t buf[64 * 1024];
    int64_t deadline = ix_now_ms() + IX_IO_TIMEOUT_MS;
    for (;;) {
        size_t r;
        int ok = SSL_read_ex(p->ssl, buf, sizeof buf, &r);
        IX_CHECK(!ok, "C1: %zu bytes of application data instead of close_notify", r);
        int err = SSL_get_error(p->ssl, 0);
        if (err == SSL_ERROR_ZERO_RETURN)
            break;
        peer_wait(p, 0, "C1 (waiting for close_notify)", deadline);
    }
    /* The SSL_read() form of the same question: 0 and SSL_ERROR_ZERO_RETURN. */
    uint8_t b;
    int n = SSL_read(p->ssl, &b, 1);
    IX_CHECK(n == 0 && SSL_get_error(p->ssl, n) == SSL_ERROR_ZERO_RETURN,
             "SSL_read after close_notify: %d / %d", n, SSL_get_error(p->ssl, n));
    IX_CHECK(SSL_get_shutdown(p->ssl) & SSL_RECEIVED_SHUTDOWN, "RECEIVED_SHUTDOWN not set");
}

/* C3: our close_notify.  zrec's has arrived, so SSL_shutdown() completes
 * the bidirectional shutdown at once (returns 1). */
static void peer_shutdown(struct peer *p)
{
    int64_t deadline = ix_now_ms() + IX_IO_TIMEOUT_MS;
    int r;
    while ((r = SSL_shutdown(p->ssl)) != 1) {
        IX_CHECK(r < 0, "SSL_shutdown returned %d: zrec's close_notify not seen", r);
        peer_wait(p, r, "SSL_shutdown", deadline);
    }
}

/* RFC 8446 §5.4: TLS 1.3 records may carry zero padding after the content
 * type.  Random amounts, now and then large; OpenSSL caps it to the room
 * left under 2^14. */
static size_t pad_cb(SSL *ssl, int type, size_t len, void *arg)
{
    (void)ssl;
    (void)type;
    (void)len;
    uint64_t *rng = arg;
    uint64_t r = ix_rand(rng);
    switch (r % 8) {
    case 0:
    case 1:
        return 0;
    case 2:
        return (size_t)(r >> 8) % 4096;
    default:
        return (size_t)(r >> 8) % 64;
    }
}

/* An SSL call failed for good: it must be for `reason`. */
static void expect_ssl_error(struct peer *p, const char *what, int reason, const char *reason_name)
{
    int64_t deadline = ix_now_ms() + IX_IO_TIMEOUT_MS;
    static uint8_t buf[64 * 1024];
    for (;;) {
        size_t r;
        ERR_clear_error();
        int ok = SSL_read_ex(p->ssl, buf, sizeof buf, &r);
        IX_CHECK(!ok, "%s: OpenSSL read %zu bytes, expected %s", what, r, reason_name);
        int err = SSL_get_error(p->ssl, 0);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
            peer_wait(p, 0, what, deadline);
            continue;
        }
        IX_CHECK(err == SSL_ERROR_SSL, "%s: SSL_get_error %d, expected SSL_ERROR_SSL (%s)", what,
                 err, reason_name);
        unsigned long e;
        bool found = false;
        while ((e = ERR_get_error()) != 0)
            found |= ERR_GET_REASON(e) == reason;
        IX_CHECK(found, "%s: the error queue lacks %s", what, reason_name);
        return;
    }
}

/* T1: zrec's record with a flipped bit. */
static void run_tamper_zrec(struct peer *p)
{
    if (!p->dtls) {
        /* RFC 8446 §5.2 / RFC 5246 §7.2.2: fail with bad_record_mac (OpenSSL
         * sends the alert as it fails). */
        expect_ssl_error(p, "T1", SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC,
                         "decryption failed or bad record mac");
        return;
    }
    /* RFC 6347 §4.1.2.7: silently dropped; the next record is read. */
    ix_stream_skip(&p->rx, IX_TAMPER_BYTES);
    peer_read(p, IX_TAMPER_BYTES, "T1");
    peer_write(p, IX_TAMPER_ACK_BYTES, IX_TAMPER_ACK_BYTES, false, "T1");
}

/* T2: zrec receives our record with a flipped bit. */
static void run_tamper_peer(struct peer *p)
{
    peer_write(p, IX_TAMPER_BYTES, IX_TAMPER_BYTES, false, "T2");
    if (!p->dtls) {
        /* zrec's fatal alert: "sslv3 alert bad record mac". */
        expect_ssl_error(p, "T2", SSL_R_SSLV3_ALERT_BAD_RECORD_MAC, "alert bad_record_mac");
        return;
    }
    peer_write(p, IX_TAMPER_BYTES, IX_TAMPER_BYTES, false, "T2");
    peer_read(p, IX_TAMPER_ACK_BYTES, "T2");
}

static void run_main(struct peer *p)
{
    const size_t max_write = p->dtls ? 16384 : 3 * 16384;
    /* P0: right away, before reading anything. */
    peer_write(p, IX_EARLY_BYTES, IX_EARLY_BYTES / 2, false, "P0");
    peer_read(p, IX_MIXED_BYTES, "P1");
    if (p->proto == IX_TLS13)
        IX_CHECK(SSL_set_record_padding_callback(p->ssl, pad_cb) == 1, "padding callback");
    peer_write(p, IX_MIXED_BYTES, max_write, true, "P2");
    peer_read(p, IX_BULK_BYTES, "P3");
    peer_write(p, IX_BULK_BYTES, max_write, false, "P4");
    if (p->proto == IX_TLS13) {
        for (int round = 0; round < IX_KU_ROUNDS; round++) {
            /* K1: reading processes zrec's KeyUpdate(update_requested) and
             * makes OpenSSL answer with its own (§4.6.3). */
            peer_read(p, IX_KU_BYTES, "K1");
            peer_write(p, IX_KU_BYTES, 16384, true, "K2");
            peer_key_update_requested(p);
            peer_write(p, IX_KU_BYTES, 16384, true, "K3");
            peer_read(p, IX_KU_BYTES, "K4");
        }
        peer_write(p, IX_SYNC_BYTES, 16384, true, "S1");
        peer_read(p, IX_SYNC_BYTES, "S2");
    }
    peer_expect_close_notify(p);
    if (p->proto == IX_TLS13)
        peer_write(p, IX_HALF_CLOSE_BYTES, 1000, true, "C2");
    peer_shutdown(p);
}

static SSL_CTX *make_ctx(enum ix_proto proto, const struct ix_suite *suite, bool server,
                         const char *certs)
{
    const SSL_METHOD *m;
    if (proto == IX_DTLS12)
        m = server ? DTLS_server_method() : DTLS_client_method();
    else
        m = server ? TLS_server_method() : TLS_client_method();
    SSL_CTX *ctx = SSL_CTX_new(m);
    IX_CHECK(ctx != NULL, "SSL_CTX_new");
    int v = proto == IX_TLS13 ? TLS1_3_VERSION : proto == IX_TLS12 ? TLS1_2_VERSION
                                                                    : DTLS1_2_VERSION;
    IX_CHECK(SSL_CTX_set_min_proto_version(ctx, v) && SSL_CTX_set_max_proto_version(ctx, v),
             "protocol version");
    if (proto == IX_TLS13) {
        /* TLS_AES_128_CCM(_8)_SHA256 are not in OpenSSL's default list. */
        if (!SSL_CTX_set_ciphersuites(ctx, suite->openssl)) {
            ERR_print_errors_fp(stderr);
            IX_FAIL("SSL_CTX_set_ciphersuites(%s)", suite->openssl);
        }
    } else if (!SSL_CTX_set_cipher_list(ctx, suite->openssl)) {
        ERR_print_errors_fp(stderr);
        IX_FAIL("SSL_CTX_set_cipher_list(%s)", suite->openssl);
    }
    struct ix_certs c = ix_certs_for(suite);
    char path[4096];
    if (server) {
        ix_path(path, sizeof path, certs, c.cert);
        IX_CHECK(SSL_CTX_use_certificate_chain_file(ctx, path) == 1, "certificate %s", path);
        ix_path(path, sizeof path, certs, c.key);
        IX_CHECK(SSL_CTX_use_PrivateKey_file(ctx, path, SSL_FILETYPE_PEM) == 1, "key %s", path);
        IX_CHECK(SSL_CTX_check_private_key(ctx) == 1, "key does not match the certificate");
        if (proto == IX_TLS13)
            IX_CHECK(SSL_CTX_set_num_tickets(ctx, IX_TICKETS) == 1, "num_tickets");
    } else {
        ix_path(path, sizeof path, certs, c.ca);
        IX_CHECK(SSL_CTX_load_verify_locations(ctx, path, NULL) == 1, "CA %s", path);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    return ctx;
}

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: %s PROTO AEAD ROLE CERTS FD SEED SCENARIO\n", argv[0]);
        return 2;
    }
    struct peer p = {0};
    const struct ix_suite *suite = NULL;
    if (ix_proto_from_name(argv[1], &p.proto) == 0)
        suite = ix_suite_find(p.proto, argv[2]);
    IX_CHECK(suite != NULL, "unknown protocol/AEAD %s/%s", argv[1], argv[2]);
    bool server = strcmp(argv[3], "server") == 0;
    IX_CHECK(server || strcmp(argv[3], "client") == 0, "role %s", argv[3]);
    const char *certs = argv[4];
    p.fd = atoi(argv[5]);
    uint64_t seed = strtoull(argv[6], NULL, 0);
    enum ix_scenario sc;
    IX_CHECK(ix_scenario_from_name(argv[7], &sc) == 0, "scenario %s", argv[7]);
    p.dtls = p.proto == IX_DTLS12;
    p.rng = seed ^ 0x6f70656e73736cull;
    p.pad_rng = seed ^ 0x706164ull;
    ix_stream_init(&p.tx, seed, IX_PEER_TO_ZREC);
    ix_stream_init(&p.rx, seed, IX_ZREC_TO_PEER);

    signal(SIGPIPE, SIG_IGN);
    alarm(IX_WATCHDOG_S);
    int fl = fcntl(p.fd, F_GETFL);
    IX_CHECK(fl >= 0 && fcntl(p.fd, F_SETFL, fl | O_NONBLOCK) == 0, "fd %d: %s", p.fd,
             strerror(errno));

    SSL_CTX *ctx = make_ctx(p.proto, suite, server, certs);
    p.ssl = SSL_new(ctx);
    IX_CHECK(p.ssl != NULL, "SSL_new");
    if (p.dtls) {
        /* A connected AF_UNIX datagram socket: tell the BIO so it uses
         * send() rather than sendto() to an address it learnt. */
        BIO *bio = BIO_new_dgram(p.fd, BIO_NOCLOSE);
        BIO_ADDR *peer_addr = BIO_ADDR_new();
        IX_CHECK(bio && peer_addr && BIO_ADDR_rawmake(peer_addr, AF_UNIX, "", 0, 0),
                 "dgram BIO");
        BIO_ctrl_set_connected(bio, peer_addr);
        BIO_ADDR_free(peer_addr);
        SSL_set_bio(p.ssl, bio, bio);
        /* No path MTU to discover on a socketpair: a 1500-byte link. */
        SSL_set_options(p.ssl, SSL_OP_NO_QUERY_MTU);
        IX_CHECK(DTLS_set_link_mtu(p.ssl, 1500), "DTLS_set_link_mtu");
    } else {
        IX_CHECK(SSL_set_fd(p.ssl, p.fd) == 1, "SSL_set_fd");
    }
    if (server) {
        SSL_set_accept_state(p.ssl);
    } else {
        SSL_set_connect_state(p.ssl);
        IX_CHECK(SSL_set1_host(p.ssl, IX_SERVER_NAME) == 1, "SSL_set1_host");
    }
    SSL_set_record_padding_callback_arg(p.ssl, &p.pad_rng);

    peer_handshake(&p);
    int want_version = p.proto == IX_TLS13   ? TLS1_3_VERSION
                       : p.proto == IX_TLS12 ? TLS1_2_VERSION
                                             : DTLS1_2_VERSION;
    IX_CHECK(SSL_version(p.ssl) == want_version, "negotiated %s", SSL_get_version(p.ssl));
    const char *cipher = SSL_get_cipher_name(p.ssl);
    IX_CHECK(strcmp(cipher, suite->openssl) == 0, "negotiated %s, wanted %s", cipher,
             suite->openssl);
    if (!server)
        IX_CHECK(SSL_get_verify_result(p.ssl) == X509_V_OK, "certificate verification: %s",
                 X509_verify_cert_error_string(SSL_get_verify_result(p.ssl)));
    ix_log("%s: OpenSSL %s %s as %s: handshake done", argv[7], SSL_get_version(p.ssl), cipher,
           argv[3]);

    if (sc == IX_MAIN)
        run_main(&p);
    else if (sc == IX_TAMPER_ZREC)
        run_tamper_zrec(&p);
    else
        run_tamper_peer(&p);
    if (p.dtls_retransmits)
        ix_log("DTLS handshake timer fired %u times", p.dtls_retransmits);
    SSL_free(p.ssl);
    SSL_CTX_free(ctx);
    close(p.fd);
    ix_log("OpenSSL side: %s passed", argv[7]);
    return 0;
}
