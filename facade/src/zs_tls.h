/* libzrec-zsock internals (docs/FACADE.md): the TLS state both kinds share
 * and tls_conf.c's interface, for tls_stream.c (TLS over TCP) and dtls.c
 * (DTLS over UDP). */
#ifndef ZS_TLS_H
#define ZS_TLS_H

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <zephyr/net/socket.h>
#include <zephyr/net/tls_credentials.h>

#include "zrec/wolfssl.h"
#include "zrec/zsock_ext.h"
#include "zrec/zrec.h"
#include "zs_dhs.h"
#include "zs_internal.h"

#define MAX_TAGS 16
#define MAX_CIPHERS 32
#define ALPN_MAX 256
#define REC_MAX (ZREC_MAX_HEADROOM + ZREC_MAX_PLAINTEXT + 256 + ZREC_MAX_TAILROOM)
#define RX_CAP (2 * REC_MAX)

enum tls_state {
    ST_IDLE,      /* configured, no connection yet */
    ST_LISTEN,    /* listening (TLS) */
    ST_HANDSHAKE, /* wolfSSL owns the connection */
    ST_OPEN,      /* the engine owns the records */
    ST_FAILED,    /* fatal error: `error` says which */
};

struct zs_tls {
    /* Configuration (SOL_TLS options). */
    bool server;
    bool dtls;
    uint16_t version; /* 0x0303 / 0x0304 */
    sec_tag_t tags[MAX_TAGS];
    int ntags;
    char *hostname;
    bool hostname_set;
    int peer_verify; /* -1: the role's default */
    int ciphers[MAX_CIPHERS];
    int nciphers;
    char alpn[ALPN_MAX]; /* comma-separated, wolfSSL's format */
    uint32_t hs_timeout_min, hs_timeout_max;
    int accept_hs_timeout_ms;     /* ZREC_TLS_HANDSHAKE_TIMEOUT (listener); 0: none */
    int cert_nocopy;
    int session_cache;
    /* ZREC_TLS_SESSION (TLS stream clients): the session to resume, as set
     * before connect(); after a TLS 1.2 handshake, the handshake's own. */
    WOLFSSL_SESSION *session;
    int handshake_on_connect;
    int cert_verify_result;       /* ZREC_X509_BADCERT_* of the last handshake; -1 none */
    uint32_t verify_flags;        /* accumulating during a handshake */
    struct zsock_tls_cert_verify_cb verify_cb;
    int dtls_cid;                 /* TLS_DTLS_CID */
    uint8_t cid_value[8];         /* TLS_DTLS_CID_VALUE as set (client) */
    int cid_value_len;            /* -1: pick one */
    /* Runtime. */
    enum tls_state state;
    int error; /* errno once ST_FAILED */
    WOLFSSL_CTX *ctx;
    /* The context's cipher suites in its order (IANA numbers), for the
     * DTLS server's stateless cookie exchange (dtls_cookie.c). */
    int ctx_suites[MAX_CIPHERS];
    int ctx_nsuites;
    WOLFSSL *ssl;
    struct zrec_wolfssl_capture *cap;
    short hs_want; /* POLLIN / POLLOUT the handshake waits for */
    int64_t hs_deadline; /* accepted: zs_now_ms() by which the handshake must end; -1 none */
    struct zrec_session *zs;
    int cipher_used;
    bool resumed;
    bool peer_closed;
    bool close_sent;
    char alpn_chosen[ALPN_MAX]; /* the protocol the handshake selected */
    struct zs_dtls *d;          /* DTLS: peers and datagram state (dtls.c) */
    /* DTLS: a compat layer's settings on each new wolfSSL object, after
     * the socket's own, with the peer's address (facade/compat/riot:
     * credman's credentials, chosen per handshake); 0 or a negative errno. */
    int (*ssl_hook)(void *arg, WOLFSSL *ssl, const struct sockaddr *peer, socklen_t len);
    void *ssl_hook_arg;
    /* Received bytes (ciphertext) not yet consumed: rx[rx_off .. rx_off+rx_len). */
    uint8_t *rx;
    size_t rx_off, rx_len;
    /* Decrypted application data not yet delivered (inside rx). */
    uint8_t *pend;
    size_t pend_len;
    /* Sealed bytes not yet written: tx[tx_off .. tx_off+tx_len). */
    uint8_t *tx;
    size_t tx_off, tx_len;
};

/* tls_conf.c (the socket's lock held where it matters). */
struct zs_tls *zs_tls_conf_new(int proto);           /* the options' defaults */
void zs_tls_conf_free(struct zs_tls *t);             /* the context, hostname, session, t */
int zs_tls_conf_set(struct zs_tls *t, int name, const void *val, socklen_t len);
int zs_tls_conf_get(struct zs_tls *t, int name, void *val, socklen_t *len); /* -ENOPROTOOPT: not shared */
/* The same under the socket's lock: ops setsockopt/getsockopt. */
int zs_tls_setsockopt(struct zs_sock *s, int name, const void *val, socklen_t len);
int zs_tls_getsockopt(struct zs_sock *s, int name, void *val, socklen_t *len);
int zs_tls_make_ctx(struct zs_tls *t);               /* t->ctx once, from the options */
int zs_tls_config_ssl(struct zs_sock *s, WOLFSSL *ssl); /* SNI, ALPN, PSK, cache */
void zs_tls_handshake_done(struct zs_sock *s, WOLFSSL *ssl); /* suite, verify, ALPN… */
void zs_tls_verify_done(struct zs_tls *t);           /* TLS_CERT_VERIFY_RESULT, also after a failure */
/* TLS_SESSION_CACHE: keep sess (owned) for the peer of fd. */
void zs_tls_cache_store(int fd, WOLFSSL_SESSION *sess);

/* ---- the record pump (pump.c) ---- */

/* What an opened record was. */
enum zs_rec_kind {
    ZS_REC_REFUSED,      /* the engine refused it: status says why */
    ZS_REC_DATA,         /* application data: data/len (direct: in the caller's buffer) */
    ZS_REC_CLOSE_NOTIFY, /* the peer closed (RFC 8446 §6.1) */
    ZS_REC_FATAL_ALERT,  /* the peer ended the connection with an alert */
    ZS_REC_ACK,          /* DTLS 1.3 ACK (RFC 9147 §7) */
    ZS_REC_CONTROL,      /* anything else the engine consumed: empty data, a
                          * warning alert, post-handshake handshake messages */
};
struct zs_opened {
    enum zs_rec_kind kind;
    int status;   /* the engine's: 0 or -errno */
    uint8_t type; /* the content type */
    uint8_t *data;
    size_t len;
    bool direct;
};
/* Open the record rec[0..len) of zs: into the caller's buffer (into/cap)
 * when it fits, else in place.  Returns o->kind. */
int zs_pump_open(struct zrec_session *zs, uint8_t *rec, size_t len, uint8_t *into, size_t cap,
                 struct zs_opened *o);
/* After a post-handshake handshake record: a NewSessionTicket goes into
 * the session cache (clients with TLS_SESSION_CACHE_ENABLED). */
void zs_pump_ticket(const struct zs_tls *t, struct zrec_session *zs, int fd);
/* Copy up to n bytes of plaintext into the caller's iovecs; how many. */
size_t zs_pump_copy(const uint8_t *src, size_t n, const struct msghdr *msg);

#endif
