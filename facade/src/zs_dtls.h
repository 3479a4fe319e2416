/* libzrec-zsock internals (docs/FACADE.md): a DTLS socket's peers, shared
 * by the socket (dtls_socket.c: the table, intake, records) and the
 * handshake driver (dtls_hs.c). */
#ifndef ZS_DTLS_H
#define ZS_DTLS_H

#include "zs_tls.h"

#define DGRAM_CAP (ZREC_MAX_HEADROOM + ZREC_MAX_PLAINTEXT + 256 + ZREC_MAX_TAILROOM)
#define CID_LEN 2              /* wolfSSL 5.5.4's DTLS_CID_MAX_SIZE */

enum peer_state { P_HANDSHAKE, P_OPEN };

struct peer {
    struct zs_sock *sock;
    struct peer *addr_next; /* the bucket chain of zs_dtls.by_addr */
    struct peer *cid_next;  /* the bucket chain of zs_dtls.by_cid (when cid_linked) */
    bool in_table;          /* peer_add()ed, at peers[index] */
    bool cid_linked;
    int index;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    enum peer_state state;
    WOLFSSL *ssl;
    struct zrec_wolfssl_capture *cap;
    struct zrec_session *zs;
    /* Handshake: the datagram offered to wolfSSL and what the step did. */
    const uint8_t *in;
    size_t in_len;
    bool progress;     /* wolfSSL read a datagram with something new (handshake_progress()) */
    bool classified;   /* this step's first datagram out was looked at */
    bool mute;         /* drop what wolfSSL sends in this step */
    int peer_epoch;    /* the highest epoch seen from the peer, -1: none */
    int peer_msg_seq;  /* the highest plaintext message_seq seen, -1: none */
    int sent_msg_seq;  /* the highest plaintext message_seq we sent, -1: none */
    uint64_t next_seq0; /* the next record number of our epoch 0 */
    bool protected_out; /* we sent a record under keys (our epoch moved on) */
    bool alerted;       /* wolfSSL sent an alert in this step */
    int64_t answer_at; /* no answer to a repeated flight before this */
    bool sent;         /* wolfSSL sent something */
    bool server_hello; /* it sent a ServerHello (not just a cookie request) */
    bool refused;      /* the kernel reported ECONNREFUSED (ICMP) */
    bool rtx;          /* wolfSSL is retransmitting: not a new flight */
    bool started;      /* the first step (a client's ClientHello) ran */
    uint8_t held_alert[32]; /* a fatal alert held until the step's outcome */
    size_t held_len;
    uint32_t rtx_ms;   /* current retransmission timeout */
    int64_t rtx_at;    /* when it expires */
    /* Our last flight as sent: [u16 length][datagram]… */
    uint8_t *flight;
    size_t flight_len;
    bool flight_over; /* the peer answered: the next send starts a new flight */
    bool flight_lost; /* too big to keep */
    int64_t replay_at;
    int64_t key_update_at;
    uint64_t active; /* the socket's tick when the peer last sent an authentic record */
    uint8_t my_cid[CID_LEN], peer_cid[CID_LEN];
    uint8_t my_cid_len, peer_cid_len;
};

struct zs_dtls {
    struct peer **peers; /* sessions and handshakes past the cookie exchange */
    int npeers;
    int max_peers; /* MAX_PEERS, or ZREC_DTLS_MAX_PEERS from the environment */
    int handshakes; /* peers of the table still in their handshake (timers) */
    struct peer **by_addr; /* ADDR_BUCKETS chains, made with the first peer */
    struct peer **by_cid;  /* peers by the CID they send us: CID_BUCKETS chains */
    struct peer *last; /* the peer of the last record delivered (send()) */
    uint64_t tick; /* counts authentic records and handoffs: peers' activity order */
    /* The stateless cookie exchange (dtls_cookie.c): the current secret
     * [0] and the one before [1] (when cookie_previous), rotated every
     * cookie_rotate_ms (ZREC_DTLS_COOKIE_ROTATE_MS, default 60 s). */
    uint8_t cookie_secret[2][32];
    bool cookie_previous;
    int64_t cookie_made;
    int64_t cookie_rotate_ms;
    bool closed; /* client: close_notify received */
    /* The datagram being opened: rx[rx_off .. rx_off + rx_len) of rx_peer,
     * which came from rx_from. */
    uint8_t *rx;
    size_t rx_off, rx_len;
    struct peer *rx_peer;
    struct sockaddr_storage rx_from;
    socklen_t rx_fromlen;
    /* Application data opened but not yet delivered (MSG_PEEK, poll). */
    uint8_t *pend;
    size_t pend_len;
    struct peer *pend_peer;
    uint8_t *tx;
};

/* ---- the handshake driver (dtls_hs.c) ---- */

struct peer *zs_dhs_new(struct zs_sock *s, const struct sockaddr_storage *addr,
                        socklen_t addrlen, const uint8_t fresh_cid[CID_LEN],
                        const uint8_t *cookie_secret, int *err);
int zs_dhs_step(struct zs_sock *s, struct peer *p);
int zs_dhs_timeout(struct zs_sock *s, struct peer *p);
void zs_dhs_replay_flight(struct peer *p, bool timer);
void zs_dhs_release_flight(struct peer *p);
void zs_dhs_release(struct peer *p);
bool zs_dhs_is_client_hello(const uint8_t *b, size_t n);
/* One datagram to p (its address on a server socket), best effort. */
ssize_t zs_dtls_send_to(struct peer *p, const void *buf, size_t n);

#endif
