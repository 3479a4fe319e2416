/*
 * End to end: a real wolfSSL handshake over a socketpair, then the engine
 * owns the records.
 *
 *   e2e_wolfssl zrec   PROTO AEAD CERTDIR   both ends hand off to zrec
 *   e2e_wolfssl client PROTO AEAD CERTDIR   zrec client, wolfSSL server keeps
 *   e2e_wolfssl server PROTO AEAD CERTDIR   its record layer (and vice versa)
 *
 * Checked: data both ways (random sizes, a multi-megabyte transfer), TLS 1.3
 * KeyUpdate both ways (RFC 8446 §4.6.3), the write-key usage limit (rekey in
 * TLS 1.3, clean -EKEYEXPIRED otherwise: RFC 8446 §5.5, RFC 9147 §4.5.3),
 * close_notify (RFC 8446 §6.1), DTLS 1.3 connection IDs (RFC 9147 §9), and
 * the per-session footprint after the handoff.
 *
 *   e2e_wolfssl cryptocb PROTO AEAD CERTDIR  wolfSSL's own AES-GCM (handshake
 *   and its record layer) on zrec providers through a wolfCrypt crypto-callback
 *   device (zrec_wolfssl_crypto_device).
 */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common.h"
#include "zrec/wolfssl.h"

static enum zrec_proto proto;
static enum zrec_aead_id aead;
static const char *certdir;
static uint64_t seed = 0xe2e0;

static bool is_dtls(void)
{
    return proto == ZREC_DTLS12 || proto == ZREC_DTLS13;
}

/* ---- wolfSSL set-up ---------------------------------------------------- */

static const char *suite_name(void)
{
    static const char *const tls13[] = {"TLS13-AES128-GCM-SHA256", "TLS13-AES256-GCM-SHA384",
                                        "TLS13-CHACHA20-POLY1305-SHA256",
                                        "TLS13-AES128-CCM-SHA256", "TLS13-AES128-CCM-8-SHA256"};
    static const char *const tls12[] = {"ECDHE-RSA-AES128-GCM-SHA256",
                                        "ECDHE-RSA-AES256-GCM-SHA384",
                                        "ECDHE-RSA-CHACHA20-POLY1305", "ECDHE-ECDSA-AES128-CCM",
                                        "ECDHE-ECDSA-AES128-CCM-8"};
    return (proto == ZREC_TLS13 || proto == ZREC_DTLS13) ? tls13[aead] : tls12[aead];
}

/* TLS 1.2 CCM suites exist only with ECDSA (RFC 7251). */
static bool ecc_certs(void)
{
    return (proto == ZREC_TLS12 || proto == ZREC_DTLS12) &&
           (aead == ZREC_AES_128_CCM || aead == ZREC_AES_128_CCM_8);
}

static int io_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    (void)ssl;
    ssize_t n = recv(*(int *)ctx, buf, (size_t)sz, 0);
    if (n > 0)
        return (int)n;
    if (n == 0)
        return WOLFSSL_CBIO_ERR_CONN_CLOSE;
    return (errno == EAGAIN || errno == EWOULDBLOCK) ? WOLFSSL_CBIO_ERR_WANT_READ
                                                     : WOLFSSL_CBIO_ERR_GENERAL;
}

static int io_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    (void)ssl;
    ssize_t n = send(*(int *)ctx, buf, (size_t)sz, MSG_NOSIGNAL);
    if (n >= 0)
        return (int)n;
    return (errno == EAGAIN || errno == EWOULDBLOCK) ? WOLFSSL_CBIO_ERR_WANT_WRITE
                                                     : WOLFSSL_CBIO_ERR_GENERAL;
}

static WOLFSSL_CTX *make_ctx(bool server)
{
    WOLFSSL_METHOD *m;
    switch (proto) {
    case ZREC_TLS12: m = server ? wolfTLSv1_2_server_method() : wolfTLSv1_2_client_method(); break;
    case ZREC_TLS13: m = server ? wolfTLSv1_3_server_method() : wolfTLSv1_3_client_method(); break;
    case ZREC_DTLS12:
        m = server ? wolfDTLSv1_2_server_method() : wolfDTLSv1_2_client_method();
        break;
    default: m = server ? wolfDTLSv1_3_server_method() : wolfDTLSv1_3_client_method(); break;
    }
    WOLFSSL_CTX *ctx = wolfSSL_CTX_new(m);
    CHECK(ctx != NULL, "CTX_new");
    char path[512];
    const char *cert = ecc_certs() ? "server-ecc.pem" : "server-cert.pem";
    const char *key = ecc_certs() ? "ecc-key.pem" : "server-key.pem";
    const char *ca = ecc_certs() ? "ca-ecc-cert.pem" : "ca-cert.pem";
    if (server) {
        snprintf(path, sizeof path, "%s/%s", certdir, cert);
        CHECK(wolfSSL_CTX_use_certificate_file(ctx, path, WOLFSSL_FILETYPE_PEM) == 1, "%s", path);
        snprintf(path, sizeof path, "%s/%s", certdir, key);
        CHECK(wolfSSL_CTX_use_PrivateKey_file(ctx, path, WOLFSSL_FILETYPE_PEM) == 1, "%s", path);
    } else {
        /* The client verifies the server: a handshake with a real peer check. */
        snprintf(path, sizeof path, "%s/%s", certdir, ca);
        CHECK(wolfSSL_CTX_load_verify_locations(ctx, path, NULL) == 1, "%s", path);
    }
    CHECK(wolfSSL_CTX_set_cipher_list(ctx, suite_name()) == 1, "cipher %s", suite_name());
    wolfSSL_CTX_SetIORecv(ctx, io_recv);
    wolfSSL_CTX_SetIOSend(ctx, io_send);
    return ctx;
}

struct end {
    WOLFSSL_CTX *ctx;
    WOLFSSL *ssl;
    struct zrec_wolfssl_capture *cap;
    int fd;
    /* Receive side of the raw connection, for zrec: bytes not yet consumed. */
    uint8_t in[1 << 17];
    size_t have, off;
};

static struct end ends[2]; /* [0] client, [1] server */

/* wolfSSL 5.5.4 caps CIDs at DTLS_CID_MAX_SIZE = 2 bytes. */
static const uint8_t cid_client[] = {0xc1, 0x1e}; /* what the client wants to see */
static const uint8_t cid_server[] = {0x5e, 0x7e}; /* what the server wants to see */

/* A handshake over a fresh socketpair.  The contexts live across handshakes
 * (the server's ticket key is per context); `resume` offers a session. */
static void handshake_resume(bool use_cid, WOLFSSL_SESSION *resume)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, is_dtls() ? SOCK_DGRAM : SOCK_STREAM, 0, sv) == 0, "socketpair");
    for (int i = 0; i < 2; i++) {
        struct end *e = &ends[i];
        WOLFSSL_CTX *ctx = e->ctx;
        memset(e, 0, sizeof *e);
        e->fd = sv[i];
        CHECK(fcntl(e->fd, F_SETFL, O_NONBLOCK) == 0, "nonblock");
        e->ctx = ctx ? ctx : make_ctx(i == 1);
        e->ssl = wolfSSL_new(e->ctx);
        CHECK(e->ssl != NULL, "wolfSSL_new");
        wolfSSL_SetIOReadCtx(e->ssl, &e->fd);
        wolfSSL_SetIOWriteCtx(e->ssl, &e->fd);
        if (is_dtls())
            wolfSSL_dtls_set_using_nonblock(e->ssl, 1);
        if (use_cid) {
            CHECK(wolfSSL_dtls_cid_use(e->ssl) == 1, "cid_use");
            const uint8_t *mine = i == 0 ? cid_client : cid_server;
            size_t len = i == 0 ? sizeof cid_client : sizeof cid_server;
            CHECK(wolfSSL_dtls_cid_set(e->ssl, (unsigned char *)mine, (unsigned)len) == 1,
                  "cid_set");
        }
        if (i == 0 && resume)
            CHECK(wolfSSL_set_session(e->ssl, resume) == WOLFSSL_SUCCESS, "set_session");
        e->cap = zrec_wolfssl_prepare(e->ssl);
        CHECK(e->cap != NULL, "prepare");
    }
    /* Both ends in one thread over non-blocking sockets: step whichever is
     * not finished until both are. */
    bool done[2] = {false, false};
    for (int round = 0; round < 2000 && !(done[0] && done[1]); round++) {
        for (int i = 0; i < 2; i++) {
            if (done[i])
                continue;
            int rc = i == 0 ? wolfSSL_connect(ends[i].ssl) : wolfSSL_accept(ends[i].ssl);
            if (rc == WOLFSSL_SUCCESS) {
                done[i] = true;
                continue;
            }
            int err = wolfSSL_get_error(ends[i].ssl, rc);
            CHECK(err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE,
                  "%s handshake error %d (%s)", i ? "server" : "client", err,
                  wolfSSL_ERR_reason_error_string((unsigned long)err));
        }
    }
    CHECK(done[0] && done[1], "handshake did not finish");
}

static void handshake(bool use_cid)
{
    handshake_resume(use_cid, NULL);
}

static struct zrec_session *import(int i)
{
    int err = 0;
    struct zrec_session *s = zrec_wolfssl_import(ends[i].ssl, ends[i].cap, NULL, &err);
    ends[i].cap = NULL;
    CHECK(s != NULL, "import %s: %d", i ? "server" : "client", err);
    CHECK(zrec_session_proto(s) == proto && zrec_session_aead(s) == aead,
          "imported %s/%s", zrec_proto_name(zrec_session_proto(s)),
          zrec_aead_name(zrec_session_aead(s)));
    wolfSSL_free(ends[i].ssl);
    ends[i].ssl = NULL;
    return s;
}

/* Close a connection; the context stays for a later handshake unless
 * `last`. */
static void end_close_conn(int i, bool last)
{
    if (ends[i].ssl)
        wolfSSL_free(ends[i].ssl);
    ends[i].ssl = NULL;
    zrec_wolfssl_capture_free(ends[i].cap);
    ends[i].cap = NULL;
    if (last) {
        wolfSSL_CTX_free(ends[i].ctx);
        ends[i].ctx = NULL;
    }
    close(ends[i].fd);
}

static void end_close(int i)
{
    end_close_conn(i, true);
}

/* ---- zrec over the raw socket ----------------------------------------- */

static void send_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pfd = {fd, POLLOUT, 0};
            CHECK(poll(&pfd, 1, 5000) == 1, "send timed out");
            continue;
        }
        CHECK(w > 0, "send: %s", strerror(errno));
        CHECK(!is_dtls() || (size_t)w == n, "datagram cut");
        p += w;
        n -= (size_t)w;
    }
}

/* Seal `len` bytes of `data` as one record of `type` and send it. */
static int zsend(struct zrec_session *s, int fd, uint8_t type, const uint8_t *data, size_t len)
{
    static uint8_t buf[ZREC_MAX_HEADROOM + ZREC_MAX_PLAINTEXT + 64];
    memcpy(buf + ZREC_MAX_HEADROOM, data, len);
    uint8_t *rec;
    int n = zrec_seal_record(s, type, buf + ZREC_MAX_HEADROOM, len, ZREC_MAX_HEADROOM, 64, &rec);
    if (n < 0)
        return n;
    send_all(fd, rec, (size_t)n);
    return 0;
}

/* The next record from end i's socket, opened by s.  Returns the plaintext
 * length and sets *type; records the engine drops (DTLS: stale epoch,
 * replay) are skipped. */
static int zrecv(int i, struct zrec_session *s, uint8_t **plain, uint8_t *type)
{
    struct end *e = &ends[i];
    for (;;) {
        if (e->have > e->off) {
            long n = zrec_record_length(s, e->in + e->off, e->have - e->off);
            CHECK(n >= 0, "record_length %ld", n);
            if (n > 0 && (size_t)n <= e->have - e->off) {
                uint8_t *rec = e->in + e->off;
                e->off += (size_t)n;
                int rc = zrec_open_record(s, rec, (size_t)n, plain, type);
                if (is_dtls() &&
                    (rc == -ESTALE || rc == -EALREADY || rc == -EPROTO || rc == -EBADMSG)) {
                    /* Leftovers of the handshake (other epochs, wolfSSL's
                     * post-handshake records): invalid DTLS records are
                     * dropped (RFC 9147 §4.5.2).  Only a handful may exist. */
                    static int dropped;
                    CHECK(++dropped <= 8, "too many dropped records (last %d)", rc);
                    continue;
                }
                return rc;
            }
            CHECK(!is_dtls(), "partial record inside a datagram");
        }
        if (e->off == e->have) {
            e->off = e->have = 0;
        } else if (e->off > 0) {
            memmove(e->in, e->in + e->off, e->have - e->off);
            e->have -= e->off;
            e->off = 0;
        }
        struct pollfd pfd = {e->fd, POLLIN, 0};
        CHECK(poll(&pfd, 1, 5000) == 1, "receive timed out");
        ssize_t r = recv(e->fd, e->in + e->have, sizeof e->in - e->have, 0);
        CHECK(r > 0, "recv: %zd %s", r, strerror(errno));
        e->have += (size_t)r;
    }
}

/* Receive application data, passing over post-handshake control records
 * (TLS 1.3 NewSessionTicket, DTLS 1.3 ACK). */
static int zrecv_data(int i, struct zrec_session *s, uint8_t **plain)
{
    for (;;) {
        uint8_t type;
        int n = zrecv(i, s, plain, &type);
        if (n < 0 || type == ZREC_CT_APPLICATION_DATA || type == ZREC_CT_ALERT)
            return type == ZREC_CT_ALERT ? -EPIPE : n;
    }
}

static size_t rand_len(void)
{
    uint64_t r = test_rand(&seed);
    /* Mostly small and MTU-sized records, some full-size ones. */
    switch (r % 4) {
    case 0: return r % 64;
    case 1: return r % 1400;
    default: return (r >> 8) % (is_dtls() ? 1400 : ZREC_MAX_PLAINTEXT + 1);
    }
}

/* Send n random records from `from` (session sf) and check `to` gets them. */
static void zrec_to_zrec(struct zrec_session *sf, int from, struct zrec_session *st, int to,
                         int n)
{
    static uint8_t msg[ZREC_MAX_PLAINTEXT];
    for (int k = 0; k < n; k++) {
        size_t len = rand_len();
        test_fill(msg, len, &seed);
        CHECK(zsend(sf, ends[from].fd, ZREC_CT_APPLICATION_DATA, msg, len) == 0, "zsend");
        uint8_t *p;
        int got = zrecv_data(to, st, &p);
        CHECK(got == (int)len, "record %d: got %d want %zu", k, got, len);
        CHECK(memcmp(p, msg, len) == 0, "record %d bytes", k);
    }
}

/* Receive until a record of `type` arrives (returns its length). */
static int zrecv_type(int i, struct zrec_session *s, uint8_t want)
{
    for (;;) {
        uint8_t *p, type;
        int n = zrecv(i, s, &p, &type);
        CHECK(n >= 0, "open: %d", n);
        if (type == want)
            return n;
    }
}

/* Send whatever ACK the session owes (DTLS 1.3, RFC 9147 §7). */
static void send_ack(struct zrec_session *s, int i)
{
    uint8_t buf[256];
    CHECK(zrec_session_events(s) & ZREC_EV_ACK_OWED, "an ACK is owed");
    int n = zrec_seal_ack(s, buf, sizeof buf);
    CHECK(n > 0, "seal ack %d", n);
    send_all(ends[i].fd, buf, (size_t)n);
    CHECK(!(zrec_session_events(s) & ZREC_EV_ACK_OWED), "ACK sent");
}

static void keyupdate_tls13(struct zrec_session *c, struct zrec_session *s)
{
    uint8_t buf[256];
    /* RFC 8446 §4.6.3: the client updates and requests an update. */
    int n = zrec_seal_key_update(c, true, buf, sizeof buf);
    CHECK(n > 0, "seal key update %d", n);
    send_all(ends[0].fd, buf, (size_t)n);
    zrecv_type(1, s, ZREC_CT_HANDSHAKE);
    CHECK(zrec_session_events(s) & ZREC_EV_KEY_UPDATE_OWED, "update owed");
    /* "...MUST send a KeyUpdate of its own ... prior to sending its next
     * Application Data record": the engine enforces it. */
    CHECK(zsend(s, ends[1].fd, ZREC_CT_APPLICATION_DATA, buf, 10) == -EAGAIN, "data blocked");
    n = zrec_seal_key_update(s, false, buf, sizeof buf);
    CHECK(n > 0, "answer key update");
    send_all(ends[1].fd, buf, (size_t)n);
    zrecv_type(0, c, ZREC_CT_HANDSHAKE);
    CHECK(!(zrec_session_events(c) & ZREC_EV_KEY_UPDATE_OWED), "no update owed by client");
    CHECK(zrec_session_seq(c, ZREC_DIR_WRITE) == 0 && zrec_session_seq(s, ZREC_DIR_WRITE) == 0,
          "sequence numbers restart with the new keys (RFC 8446 §5.3)");
}

/* RFC 9147 §8: the sender keeps its key until the KeyUpdate is ACKed; the
 * receiver accepts both epochs meanwhile. */
static void keyupdate_dtls13(struct zrec_session *c, struct zrec_session *s)
{
    uint8_t buf[256], m[100];
    uint16_t e0 = zrec_session_epoch(c, ZREC_DIR_WRITE);
    int n = zrec_seal_key_update(c, true, buf, sizeof buf);
    CHECK(n > 0, "seal key update %d", n);
    send_all(ends[0].fd, buf, (size_t)n);
    /* A retransmission (same message_seq, new record number). */
    n = zrec_seal_key_update(c, true, buf, sizeof buf);
    CHECK(n > 0, "retransmit key update %d", n);
    send_all(ends[0].fd, buf, (size_t)n);
    CHECK(zrec_session_epoch(c, ZREC_DIR_WRITE) == e0, "no new write key before the ACK");
    zrecv_type(1, s, ZREC_CT_HANDSHAKE);
    zrecv_type(1, s, ZREC_CT_HANDSHAKE);
    CHECK(zrec_session_epoch(s, ZREC_DIR_READ) == e0 + 1, "receiver reads the next epoch once");
    CHECK(zrec_session_events(s) & ZREC_EV_KEY_UPDATE_OWED, "update owed");
    /* The sender has no ACK yet, so its data is still in the old epoch: the
     * receiver must still open it. */
    test_fill(m, sizeof m, &seed);
    CHECK(zsend(c, ends[0].fd, ZREC_CT_APPLICATION_DATA, m, sizeof m) == 0, "old-epoch data");
    uint8_t *p;
    CHECK(zrecv_data(1, s, &p) == (int)sizeof m && memcmp(p, m, sizeof m) == 0,
          "old-epoch record opened after the KeyUpdate");
    send_ack(s, 1);
    zrecv_type(0, c, ZREC_CT_ACK);
    CHECK(zrec_session_epoch(c, ZREC_DIR_WRITE) == e0 + 1, "ACK moves the writer to the next epoch");
    CHECK(zsend(s, ends[1].fd, ZREC_CT_APPLICATION_DATA, m, 10) == -EAGAIN, "data blocked");
    n = zrec_seal_key_update(s, false, buf, sizeof buf);
    CHECK(n > 0, "answer key update");
    send_all(ends[1].fd, buf, (size_t)n);
    zrecv_type(0, c, ZREC_CT_HANDSHAKE);
    send_ack(c, 0);
    zrecv_type(1, s, ZREC_CT_ACK);
    CHECK(zrec_session_epoch(s, ZREC_DIR_WRITE) == e0 + 1 &&
              zrec_session_epoch(c, ZREC_DIR_READ) == e0 + 1,
          "both directions in the next epoch");
}

static void keyupdate_zrec(struct zrec_session *c, struct zrec_session *s)
{
    if (proto == ZREC_TLS13)
        keyupdate_tls13(c, s);
    else
        keyupdate_dtls13(c, s);
    zrec_to_zrec(c, 0, s, 1, 20);
    zrec_to_zrec(s, 1, c, 0, 20);
}

static void write_limit(struct zrec_session *c, struct zrec_session *s)
{
    CHECK(zrec_session_set_write_limit(c, 8) == 0, "set limit");
    uint8_t m[32] = {0};
    int sent = 0;
    for (; sent < 8; sent++) {
        if (sent >= 6)
            CHECK(zrec_session_events(c) & ZREC_EV_REKEY_DUE, "rekey due at 3/4 of the limit");
        CHECK(zsend(c, ends[0].fd, ZREC_CT_APPLICATION_DATA, m, sizeof m) == 0, "under limit");
        uint8_t *p;
        CHECK(zrecv_data(1, s, &p) == (int)sizeof m, "peer reads");
    }
    /* Never past the limit. */
    CHECK(zsend(c, ends[0].fd, ZREC_CT_APPLICATION_DATA, m, sizeof m) == -EKEYEXPIRED,
          "limit enforced");
    if (proto == ZREC_TLS13 || proto == ZREC_DTLS13) {
        /* (D)TLS 1.3 rekeys with a KeyUpdate and goes on. */
        uint8_t buf[256];
        int n = zrec_seal_key_update(c, false, buf, sizeof buf);
        CHECK(n > 0, "rekey %d", n);
        send_all(ends[0].fd, buf, (size_t)n);
        zrecv_type(1, s, ZREC_CT_HANDSHAKE);
        if (proto == ZREC_DTLS13) {
            send_ack(s, 1);
            zrecv_type(0, c, ZREC_CT_ACK);
        }
        CHECK(!(zrec_session_events(c) & ZREC_EV_REKEY_DUE), "rekey clears the event");
        zrec_to_zrec(c, 0, s, 1, 10);
    } else {
        /* No KeyUpdate in TLS 1.2 / DTLS 1.2: the connection must end. */
        CHECK(zrec_seal_key_update(c, false, m, sizeof m) == -EOPNOTSUPP, "no KeyUpdate here");
    }
}

static void send_close_notify(struct zrec_session *from, int f, struct zrec_session *to, int t)
{
    uint8_t buf[128], *p, type;
    int n = zrec_seal_alert(from, ZREC_ALERT_WARNING, ZREC_ALERT_CLOSE_NOTIFY, buf, sizeof buf);
    CHECK(n > 0, "seal close_notify");
    send_all(ends[f].fd, buf, (size_t)n);
    for (;;) {
        int rc = zrecv(t, to, &p, &type);
        CHECK(rc >= 0, "open close_notify: %d", rc);
        if (type == ZREC_CT_ALERT)
            break;
    }
    CHECK(zrec_session_events(to) & ZREC_EV_PEER_CLOSED, "peer closed");
}

static void mode_zrec(bool cid)
{
    handshake(cid);
    struct zrec_session *c = import(0), *s = import(1);
    printf("footprint after handoff (%s/%s, %s): %zu bytes per session\n",
           zrec_proto_name(proto), zrec_aead_name(aead), zrec_provider_name(zrec_provider_default()),
           zrec_session_footprint(c));
    zrec_to_zrec(c, 0, s, 1, 200);
    zrec_to_zrec(s, 1, c, 0, 200);
    /* A multi-megabyte transfer each way, interleaved. */
    for (int k = 0; k < 2; k++)
        is_dtls() ? zrec_to_zrec(c, 0, s, 1, 3000) : zrec_to_zrec(c, 0, s, 1, 300);
    if (cid) {
        /* RFC 9147 §9: records now carry the CID the receiver chose. */
        uint8_t m[20] = {0}, buf[128];
        uint8_t *rec;
        memcpy(buf + 64, m, sizeof m);
        int n = zrec_seal_record(c, ZREC_CT_APPLICATION_DATA, buf + 64, sizeof m, 64, 64, &rec);
        CHECK(n > 0 && (rec[0] & 0x10) && memcmp(rec + 1, cid_server, sizeof cid_server) == 0,
              "client records carry the server's CID");
        uint8_t *p;
        uint8_t t;
        CHECK(zrec_open_record(s, rec, (size_t)n, &p, &t) == (int)sizeof m, "server opens it");
    }
    if (proto == ZREC_TLS13 || proto == ZREC_DTLS13)
        keyupdate_zrec(c, s);
    write_limit(c, s);
    send_close_notify(s, 1, c, 0);
    WOLFSSL_SESSION *ticket = NULL;
    /* wolfSSL 5.5.4 sends DTLS 1.3 ChaCha20 records whose record numbers
     * nobody can decrypt (docs/DESIGN-NOTES.md §8): its NewSessionTicket,
     * sent before the handoff, never reaches the engine. */
    bool ticket_readable = proto == ZREC_TLS13 ||
                           (proto == ZREC_DTLS13 && aead != ZREC_CHACHA20_POLY1305);
    if (ticket_readable) {
        /* The server's NewSessionTicket reached the client's engine after
         * the handoff (RFC 8446 §4.6.1, RFC 9147 §5.2); it must still
         * resume. */
        CHECK(zrec_session_events(c) & ZREC_EV_NEW_SESSION_TICKET, "ticket seen by the engine");
        ticket = zrec_wolfssl_get1_session(c);
        CHECK(ticket != NULL, "resumable session from the ticket: %s", strerror(errno));
    } else {
        CHECK(zrec_wolfssl_get1_session(c) == NULL, "tickets only for (D)TLS 1.3 clients");
    }
    zrec_session_free(c);
    zrec_session_free(s);
    end_close_conn(0, false);
    end_close_conn(1, false);
    if (ticket) {
        handshake_resume(cid, ticket);
        CHECK(wolfSSL_session_reused(ends[0].ssl) == 1, "client resumed with the ticket");
        CHECK(wolfSSL_session_reused(ends[1].ssl) == 1, "server accepted the ticket");
        c = import(0);
        s = import(1);
        zrec_to_zrec(c, 0, s, 1, 20);
        zrec_to_zrec(s, 1, c, 0, 20);
        zrec_session_free(c);
        zrec_session_free(s);
        wolfSSL_SESSION_free(ticket);
        end_close_conn(0, false);
        end_close_conn(1, false);
    }
    end_close(0);
    end_close(1);
}

/* ---- zrec against wolfSSL's own record layer --------------------------- */

static int wolf_read_exact(WOLFSSL *ssl, uint8_t *out, size_t len)
{
    size_t got = 0;
    int spins = 0;
    while (got < len || len == 0) {
        int n = wolfSSL_read(ssl, out + got, (int)(len - got > 0 ? len - got : 1));
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        int err = wolfSSL_get_error(ssl, n);
        if (err == WOLFSSL_ERROR_ZERO_RETURN)
            return -EPIPE;
        CHECK(err == WOLFSSL_ERROR_WANT_READ, "wolfSSL_read error %d (%s)", err,
              wolfSSL_ERR_reason_error_string((unsigned long)err));
        if (len == 0 && spins > 0)
            return 0;
        struct pollfd pfd = {wolfSSL_get_fd(ssl), POLLIN, 0};
        if (poll(&pfd, 1, len == 0 ? 200 : 5000) == 0) {
            CHECK(len == 0, "wolfSSL_read timed out");
            return 0;
        }
        spins++;
    }
    return (int)got;
}

static void mode_mixed(int zi)
{
    int wi = 1 - zi; /* the end that keeps wolfSSL */
    handshake(false);
    struct zrec_session *z = import(zi);
    WOLFSSL *w = ends[wi].ssl;
    wolfSSL_set_fd(w, ends[wi].fd); /* for wolfSSL_get_fd in wolf_read_exact */
    wolfSSL_SetIOReadCtx(w, &ends[wi].fd);
    wolfSSL_SetIOWriteCtx(w, &ends[wi].fd);
    static uint8_t msg[ZREC_MAX_PLAINTEXT], got[ZREC_MAX_PLAINTEXT];
    /* wolfSSL refuses DTLS writes over its MTU-derived maximum. */
    int wmax = wolfSSL_GetMaxOutputSize(w);
    CHECK(wmax > 0, "wolfSSL_GetMaxOutputSize %d", wmax);
    size_t wolf_max = (size_t)wmax;
    for (int k = 0; k < 300; k++) {
        size_t len = rand_len();
        if (len == 0)
            len = 1; /* wolfSSL_read cannot report an empty record */
        if (len > wolf_max)
            len = wolf_max;
        test_fill(msg, len, &seed);
        /* zrec seals, wolfSSL opens. */
        CHECK(zsend(z, ends[zi].fd, ZREC_CT_APPLICATION_DATA, msg, len) == 0, "zsend");
        CHECK(wolf_read_exact(w, got, len) == (int)len && memcmp(got, msg, len) == 0,
              "wolfSSL reads zrec's record %d (%zu bytes)", k, len);
        /* wolfSSL seals, zrec opens.  wolfSSL 5.5.4 does not pad short DTLS
         * 1.3 CCM_8 records up to the 16-byte record-number sample (RFC 9147
         * §4.2.3 says senders must) and refuses to send them; zrec does pad,
         * and wolfSSL has just read such records from zrec above. */
        if (proto == ZREC_DTLS13 && aead == ZREC_AES_128_CCM_8 && len < 7)
            len = 7;
        test_fill(msg, len, &seed);
        int wr = wolfSSL_write(w, msg, (int)len);
        CHECK(wr == (int)len, "wolfSSL_write(%zu bytes) = %d: error %d", len, wr, wolfSSL_get_error(w, wr));
        uint8_t *p;
        CHECK(zrecv_data(zi, z, &p) == (int)len && memcmp(p, msg, len) == 0,
              "zrec opens wolfSSL's record %d", k);
    }
    if (proto == ZREC_TLS13) {
        /* wolfSSL asks for a KeyUpdate (update_requested). */
        CHECK(wolfSSL_update_keys(w) == WOLFSSL_SUCCESS, "wolfSSL_update_keys");
        uint8_t *p, type;
        CHECK(zrecv(zi, z, &p, &type) >= 0 && type == ZREC_CT_HANDSHAKE, "zrec gets KeyUpdate");
        CHECK(zrec_session_events(z) & ZREC_EV_KEY_UPDATE_OWED, "owed");
        uint8_t buf[256];
        int n = zrec_seal_key_update(z, true, buf, sizeof buf);
        CHECK(n > 0, "zrec answers (and requests one back)");
        send_all(ends[zi].fd, buf, (size_t)n);
        CHECK(wolf_read_exact(w, got, 0) == 0, "wolfSSL processes zrec's KeyUpdate");
        /* Both directions are now on new keys: data must flow both ways. */
        for (int k = 0; k < 20; k++) {
            size_t len = 1 + test_rand(&seed) % 1000;
            test_fill(msg, len, &seed);
            CHECK(zsend(z, ends[zi].fd, ZREC_CT_APPLICATION_DATA, msg, len) == 0, "zsend");
            CHECK(wolf_read_exact(w, got, len) == (int)len && memcmp(got, msg, len) == 0,
                  "after KeyUpdate: wolfSSL reads");
            CHECK(wolfSSL_write(w, msg, (int)len) == (int)len, "wolfSSL_write");
            CHECK(zrecv_data(zi, z, &p) == (int)len && memcmp(p, msg, len) == 0,
                  "after KeyUpdate: zrec reads");
        }
    }
    if (proto == ZREC_DTLS13) {
        /* RFC 9147 §8 against wolfSSL: it updates (requesting one back) and
         * waits for our ACK; we answer with our own KeyUpdate, which it must
         * ACK before our write key moves. */
        uint16_t e0 = zrec_session_epoch(z, ZREC_DIR_WRITE);
        CHECK(wolfSSL_update_keys(w) == WOLFSSL_SUCCESS, "wolfSSL_update_keys");
        zrecv_type(zi, z, ZREC_CT_HANDSHAKE);
        CHECK(zrec_session_events(z) & ZREC_EV_KEY_UPDATE_OWED, "owed");
        send_ack(z, zi);
        CHECK(wolf_read_exact(w, got, 0) == 0, "wolfSSL takes the ACK");
        uint8_t buf[256];
        int n = zrec_seal_key_update(z, false, buf, sizeof buf);
        CHECK(n > 0, "zrec answers");
        send_all(ends[zi].fd, buf, (size_t)n);
        CHECK(wolf_read_exact(w, got, 0) == 0, "wolfSSL processes zrec's KeyUpdate");
        zrecv_type(zi, z, ZREC_CT_ACK);
        CHECK(zrec_session_epoch(z, ZREC_DIR_WRITE) == e0 + 1, "wolfSSL's ACK moved our epoch");
        for (int k = 0; k < 20; k++) {
            size_t len = 7 + test_rand(&seed) % 1000;
            test_fill(msg, len, &seed);
            CHECK(zsend(z, ends[zi].fd, ZREC_CT_APPLICATION_DATA, msg, len) == 0, "zsend");
            CHECK(wolf_read_exact(w, got, len) == (int)len && memcmp(got, msg, len) == 0,
                  "after KeyUpdate: wolfSSL reads");
            CHECK(wolfSSL_write(w, msg, (int)len) == (int)len, "wolfSSL_write");
            uint8_t *p;
            CHECK(zrecv_data(zi, z, &p) == (int)len && memcmp(p, msg, len) == 0,
                  "after KeyUpdate: zrec reads");
        }
        CHECK(zrec_session_epoch(z, ZREC_DIR_READ) == e0 + 1, "reading wolfSSL's new epoch");
    }
    /* zrec closes: wolfSSL sees close_notify. */
    uint8_t buf[128];
    int n = zrec_seal_alert(z, ZREC_ALERT_WARNING, ZREC_ALERT_CLOSE_NOTIFY, buf, sizeof buf);
    CHECK(n > 0, "close_notify");
    send_all(ends[zi].fd, buf, (size_t)n);
    CHECK(wolf_read_exact(w, got, 1) == -EPIPE, "wolfSSL sees close_notify");
    zrec_session_free(z);
    end_close(0);
    end_close(1);
}

/* SSLKEYLOGFILE (NSS key log format): the logged secrets must be the real
 * ones.  TLS 1.3 / DTLS 1.3: a record the client seals opens in a session
 * keyed only from the logged CLIENT_TRAFFIC_SECRET_0.  TLS 1.2 / DTLS 1.2:
 * one CLIENT_RANDOM line with a 48-byte master secret. */
static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (h[0] && h[1] && hexval(h[0]) >= 0 && hexval(h[1]) >= 0 && n < cap) {
        out[n++] = (uint8_t)(hexval(h[0]) << 4 | hexval(h[1]));
        h += 2;
    }
    return n;
}

static void mode_keylog(void)
{
    char path[] = "/tmp/zrec-keylog-XXXXXX";
    int kfd = mkstemp(path);
    CHECK(kfd >= 0, "mkstemp");
    close(kfd);
    setenv("SSLKEYLOGFILE", path, 1);
    handshake(false);
    struct zrec_session *c = import(0), *s = import(1);
    unsetenv("SSLKEYLOGFILE");
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "keylog file");
    char line[512], label[64], cr[80], secret_hex[200];
    uint8_t secret[64];
    size_t secret_len = 0;
    int lines = 0, client_random = 0;
    while (fgets(line, sizeof line, f)) {
        CHECK(sscanf(line, "%63s %79s %199s", label, cr, secret_hex) == 3, "line: %s", line);
        CHECK(strlen(cr) == 64, "client_random is 32 bytes: %s", line);
        lines++;
        if (strcmp(label, "CLIENT_RANDOM") == 0) {
            client_random++;
            CHECK(strlen(secret_hex) == 96, "master secret is 48 bytes");
        }
        if (strcmp(label, "CLIENT_TRAFFIC_SECRET_0") == 0)
            secret_len = unhex(secret_hex, secret, sizeof secret);
    }
    fclose(f);
    unlink(path);
    if (proto == ZREC_TLS12 || proto == ZREC_DTLS12) {
        /* Both ends log the same connection. */
        CHECK(client_random == 2 && lines == 2, "CLIENT_RANDOM lines: %d of %d", client_random,
              lines);
    } else {
        /* Five secrets per side (handshake and application traffic, exporter). */
        CHECK(lines >= 8, "TLS 1.3 secrets logged: %d", lines);
        CHECK(secret_len == (aead == ZREC_AES_256_GCM ? 48u : 32u), "secret length %zu",
              secret_len);
        struct zrec_session *spy = test_session(proto, aead, NULL, NULL, 0, NULL, 0);
        struct zrec_traffic_keys k = {.secret = secret, .secret_len = secret_len,
                                      .seq = zrec_session_seq(c, ZREC_DIR_WRITE),
                                      .epoch = zrec_session_epoch(c, ZREC_DIR_WRITE)};
        CHECK(zrec_session_set_keys(spy, ZREC_DIR_READ, &k) == 0, "spy keys");
        uint8_t buf[256], *rec, *p, type;
        memcpy(buf + 64, "logged secrets decrypt", 22);
        int n = zrec_seal_record(c, ZREC_CT_APPLICATION_DATA, buf + 64, 22, 64, 64, &rec);
        CHECK(n > 0, "seal");
        CHECK(zrec_open_record(spy, rec, (size_t)n, &p, &type) == 22 &&
                  memcmp(p, "logged secrets decrypt", 22) == 0,
              "a record opens with the logged CLIENT_TRAFFIC_SECRET_0");
        zrec_session_free(spy);
    }
    zrec_session_free(c);
    zrec_session_free(s);
    end_close(0);
    end_close(1);
}

/* ---- wolfSSL's own AES-GCM through zrec providers (zrec/wolfssl.h) ---- */

/* wolfCrypt's AES-GCM on an Aes of the device against the same on a plain
 * one: the same ciphertext and tag; a wrong tag is AES_GCM_AUTH_E; a
 * 16-byte IV is left to wolfCrypt (declined) and still right. */
static void cryptocb_direct(int dev)
{
    uint8_t key[16], iv[16], aad[13], pt[300], ct[2][300], tag[2][16], back[300];
    test_fill(key, sizeof key, &seed);
    test_fill(iv, sizeof iv, &seed);
    test_fill(aad, sizeof aad, &seed);
    test_fill(pt, sizeof pt, &seed);
    for (int ivlen = 12; ivlen <= 16; ivlen += 4) {
        struct zrec_wolfssl_crypto_stats s0, s1;
        CHECK(zrec_wolfssl_crypto_device_stats(dev, &s0) == 0, "stats");
        Aes a[2];
        for (int i = 0; i < 2; i++) {
            CHECK(wc_AesInit(&a[i], NULL, i ? dev : INVALID_DEVID) == 0, "AesInit");
            CHECK(wc_AesGcmSetKey(&a[i], key, sizeof key) == 0, "SetKey");
            CHECK(wc_AesGcmEncrypt(&a[i], ct[i], pt, sizeof pt, iv, (word32)ivlen, tag[i], 16, aad,
                                   sizeof aad) == 0,
                  "encrypt");
        }
        CHECK(memcmp(ct[0], ct[1], sizeof pt) == 0 && memcmp(tag[0], tag[1], 16) == 0,
              "the device's AES-GCM differs from wolfCrypt's (IV %d)", ivlen);
        CHECK(wc_AesGcmDecrypt(&a[1], back, ct[1], sizeof pt, iv, (word32)ivlen, tag[1], 16, aad,
                               sizeof aad) == 0 &&
                  memcmp(back, pt, sizeof pt) == 0,
              "decrypt");
        tag[1][3] ^= 1;
        CHECK(wc_AesGcmDecrypt(&a[1], back, ct[1], sizeof pt, iv, (word32)ivlen, tag[1], 16, aad,
                               sizeof aad) == AES_GCM_AUTH_E,
              "a wrong tag through the device: not AES_GCM_AUTH_E");
        CHECK(zrec_wolfssl_crypto_device_stats(dev, &s1) == 0, "stats");
        if (ivlen == 12)
            CHECK(s1.aead_ops - s0.aead_ops == 3 && s1.declined == s0.declined,
                  "12-byte IV: %lu ops on the provider", (unsigned long)(s1.aead_ops - s0.aead_ops));
        else
            CHECK(s1.aead_ops == s0.aead_ops && s1.declined - s0.declined == 3,
                  "16-byte IV: %lu declined", (unsigned long)(s1.declined - s0.declined));
        wc_AesFree(&a[0]);
        wc_AesFree(&a[1]);
    }
}

/* Move application data through wolfSSL's own record layer, n messages
 * from end `from` to the other. */
static void wolf_data(int from, int n)
{
    uint8_t msg[1500], got[1500];
    for (int k = 0; k < n; k++) {
        /* DTLS: one record per write, within wolfSSL's MTU. */
        size_t len = 1 + test_rand(&seed) % (is_dtls() ? 1000 : sizeof msg);
        test_fill(msg, len, &seed);
        CHECK(wolfSSL_write(ends[from].ssl, msg, (int)len) == (int)len, "wolfSSL_write");
        size_t have = 0;
        for (int spin = 0; have < len && spin < 1000; spin++) {
            int r = wolfSSL_read(ends[!from].ssl, got + have, (int)(len - have));
            if (r > 0) {
                have += (size_t)r;
                continue;
            }
            int err = wolfSSL_get_error(ends[!from].ssl, r);
            CHECK(err == WOLFSSL_ERROR_WANT_READ, "wolfSSL_read error %d", err);
            struct pollfd pfd = {ends[!from].fd, POLLIN, 0};
            poll(&pfd, 1, 100);
        }
        CHECK(have == len && memcmp(got, msg, len) == 0, "message %d through wolfSSL", k);
    }
}

/* Both ends' wolfSSL on crypto devices (the client's on ipsec-mb, the
 * server's on zrec's wolfCrypt provider): the handshake's encrypted records
 * and wolfSSL's own data records run on them; suites without AES-GCM leave
 * them unused. */
static void mode_cryptocb(void)
{
    int dev[2] = {zrec_wolfssl_crypto_device(zrec_provider_default()),
                  zrec_wolfssl_crypto_device(zrec_provider_wolfcrypt())};
    CHECK(dev[0] >= 0 && dev[1] >= 0, "devices: %d %d", dev[0], dev[1]);
    if (aead == ZREC_AES_128_GCM)
        cryptocb_direct(dev[0]);
    struct zrec_wolfssl_crypto_stats s[2], t[2];
    for (int i = 0; i < 2; i++) {
        ends[i].ctx = make_ctx(i == 1);
        CHECK(wolfSSL_CTX_SetDevId(ends[i].ctx, dev[i]) == WOLFSSL_SUCCESS, "SetDevId");
        zrec_wolfssl_crypto_device_stats(dev[i], &s[i]);
    }
    handshake(false);
    for (int i = 0; i < 2; i++)
        zrec_wolfssl_crypto_device_stats(dev[i], &t[i]);
    bool gcm = aead == ZREC_AES_128_GCM || aead == ZREC_AES_256_GCM;
    for (int i = 0; i < 2; i++) {
        uint64_t n = t[i].aead_ops - s[i].aead_ops;
        /* TLS 1.3: the server seals EncryptedExtensions .. Finished, the
         * client opens them and seals its Finished; TLS 1.2: each seals and
         * opens one Finished. */
        CHECK(gcm ? n >= 2 : n == 0, "%s: %lu AES-GCM operations on the device in the handshake",
              i ? "server" : "client", (unsigned long)n);
        printf("%s handshake: %lu AES-GCM operations on zrec's %s provider\n",
               i ? "server" : "client", (unsigned long)n, i ? "wolfcrypt" : "default");
    }
    wolf_data(0, 20);
    wolf_data(1, 20);
    for (int i = 0; i < 2; i++) {
        zrec_wolfssl_crypto_device_stats(dev[i], &s[i]);
        uint64_t n = s[i].aead_ops - t[i].aead_ops;
        CHECK(gcm ? n >= 40 : n == 0, "%s: %lu data records on the device", i ? "server" : "client",
              (unsigned long)n);
    }
    end_close(0);
    end_close(1);
    zrec_wolfssl_crypto_device_remove(dev[0]);
    zrec_wolfssl_crypto_device_remove(dev[1]);
    CHECK(zrec_wolfssl_crypto_device_stats(dev[0], &s[0]) == -EINVAL, "removed");
}

int main(int argc, char **argv)
{
    if (argc != 5 || test_proto_from_name(argv[2], &proto) ||
        test_aead_from_name(argv[3], &aead)) {
        fprintf(stderr, "usage: %s zrec|zrec-cid|client|server|keylog|cryptocb PROTO AEAD CERTDIR\n",
                argv[0]);
        return 2;
    }
    certdir = argv[4];
    CHECK(wolfSSL_Init() == WOLFSSL_SUCCESS, "wolfSSL_Init");
    if (strcmp(argv[1], "zrec") == 0)
        mode_zrec(false);
    else if (strcmp(argv[1], "zrec-cid") == 0)
        mode_zrec(true);
    else if (strcmp(argv[1], "keylog") == 0)
        mode_keylog();
    else if (strcmp(argv[1], "cryptocb") == 0)
        mode_cryptocb();
    else if (strcmp(argv[1], "client") == 0)
        mode_mixed(0);
    else if (strcmp(argv[1], "server") == 0)
        mode_mixed(1);
    else
        return 2;
    wolfSSL_Cleanup();
    printf("ok %s %s %s\n", argv[1], argv[2], argv[3]);
    return 0;
}
