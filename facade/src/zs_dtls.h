/* libzrec-zsock internals (docs/FACADE.md): a DTLS socket's peers, shared
 * by the socket's files (dtls_socket.c: the table, intake, records; the
 * handshake driver, dtls_hs.c, knows none of it: zs_dhs.h). */
#ifndef ZS_DTLS_H
#define ZS_DTLS_H

#include "zs_cookie.h"
#include "zs_dhs.h"
#include "zs_tls.h"

#define DGRAM_CAP (ZREC_MAX_HEADROOM + ZREC_MAX_PLAINTEXT + 256 + ZREC_MAX_TAILROOM)
#define CID_LEN ZS_DHS_CID_LEN

enum peer_state { P_HANDSHAKE, P_OPEN };

#define ZS_DTLS_HS_EVENTS 64 /* finished handshakes held for reporting; more: the oldest goes */

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
    struct zs_dhs hs;       /* the handshake, then the last flight and the CIDs (dtls_hs.c) */
    struct zrec_session *zs;
    int64_t key_update_at;
    uint64_t active; /* the socket's tick when the peer last sent an authentic record */
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
    /* The stateless cookie exchange's secret (dtls_cookie.c), rotated every
     * ZREC_DTLS_COOKIE_ROTATE_MS (default 60 s). */
    struct zs_cookie_secrets cookie;
    struct zs_dhs_conf hs_conf; /* what the socket's handshakes share (new_peer()) */
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
    struct peer *creating; /* the peer whose wolfSSL object is being made (ssl_hook) */
    /* zs_dtls_report_handshakes(): finished handshakes not yet reported,
     * oldest first. */
    bool report_handshakes;
    struct sockaddr_storage hs_done[ZS_DTLS_HS_EVENTS];
    socklen_t hs_done_len[ZS_DTLS_HS_EVENTS];
    int hs_done_first, hs_done_count;
};

/* One datagram to p (its address on a server socket), best effort; the
 * handshake driver's send callback (dtls_socket.c). */
ssize_t zs_dtls_send_to(void *peer, const void *buf, size_t n);

/* For the compat layers (facade/compat/riot: RIOT's sock_dtls).  A DTLS
 * socket on a kernel UDP socket of the caller's (it takes kernel_fd and
 * closes it with the socket): its zsock descriptor (kernel_fd), or a
 * negative errno. */
int zs_dtls_adopt(int kernel_fd, int family, int proto);
/* With `on`, recvmsg() reports each finished handshake (server: every
 * peer's; client: its own) before that peer's data: it returns 0 with
 * ZS_MSG_HANDSHAKE in msg_flags and the peer's address in msg_name, and
 * poll() says POLLIN for it. */
#define ZS_MSG_HANDSHAKE 0x40000000
void zs_dtls_report_handshakes(int fd, bool on);
/* End the session (close_notify when open) or the handshake of the peer
 * at addr (a client: its peer; close() then frees it).  0, or -ENOTCONN
 * (no such peer). */
int zs_dtls_close_peer(int fd, const struct sockaddr *addr, socklen_t len);

#endif
